/* SPDX-License-Identifier: MIT
 * perf_mix: the mix kernels (mixer/mx_mix*.c), each SIMD variant this CPU
 * has against the scalar reference (built with -fno-tree-vectorize, so
 * it is plain scalar code), in alternating rounds. Reports TSC cycles per
 * sample for each kernel and for a room's frame: 3 talkers summed (add)
 * and 10 listeners' outputs (3 talkers' N-1, 7 others), saturated and
 * limited, at 16 kHz, 20 ms (320 samples).
 *
 *   perf_mix [--rounds R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "mx.h"

#define FRAME 320
#define TALKERS 3
#define LISTENERS 10
#define REPS 20000

static int16_t pcm[TALKERS][FRAME], out[FRAME];
static int32_t acc[FRAME], c[TALKERS][FRAME];
static volatile uint32_t sink;

enum { K_ADD, K_OUT_SAT, K_OUT_GAIN, K_PEAK, K_ROOM_SAT, K_ROOM_LIM, K__N };
static const char *const kname[K__N] = { "add (per talker)", "out_sat (N-1)", "out_gain (N-1)", "peak",
					 "room frame, saturate", "room frame, limit" };

static double run(const struct mx_mix_ops *o, int k)
{
	struct mx_limiter lim[LISTENERS];
	uint64_t t0, t;

	for (int l = 0; l < LISTENERS; l++)
		mx_limiter_init(&lim[l], 20);
	t0 = __rdtsc();
	for (int r = 0; r < REPS; r++) {
		switch (k) {
		case K_ADD: o->add(acc, c[r % TALKERS], pcm[r % TALKERS], MX_GAIN_UNITY, FRAME); break;
		case K_OUT_SAT: o->out_sat(out, acc, c[r % TALKERS], FRAME); break;
		case K_OUT_GAIN: o->out_gain(out, acc, c[r % TALKERS], 3000, FRAME); break;
		case K_PEAK: sink += o->peak(acc, c[r % TALKERS], FRAME); break;
		case K_ROOM_SAT:
		case K_ROOM_LIM:
			memset(acc, 0, sizeof(acc));
			for (int i = 0; i < TALKERS; i++)
				o->add(acc, c[i], pcm[i], MX_GAIN_UNITY, FRAME);
			for (int l = 0; l < LISTENERS; l++)
				mx_mix_out(o, k == K_ROOM_LIM ? &lim[l] : NULL, out, acc, l < TALKERS ? c[l] : NULL, FRAME);
			break;
		}
		sink += (uint32_t)out[r % FRAME];
	}
	t = __rdtsc() - t0;
	return (double)t / REPS / FRAME;
}

int main(int argc, char **argv)
{
	int rounds = 5;
	const struct mx_mix_ops *ops[3];
	double best[3][K__N];

	if (argc == 3 && !strcmp(argv[1], "--rounds"))
		rounds = atoi(argv[2]);
	for (int t = 0; t < TALKERS; t++)
		for (int i = 0; i < FRAME; i++)
			pcm[t][i] = (int16_t)((i * (t + 3) * 977) % 60000 - 30000);
	for (int v = 0; v < 3; v++) {
		ops[v] = mx_mix_ops((enum cdc_isa)v);
		for (int k = 0; k < K__N; k++)
			best[v][k] = 1e9;
	}
	printf("mix kernels, TSC cycles per sample (best of %d alternating rounds; %d samples a frame)\n", rounds, FRAME);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < K__N; k++)
			for (int v = 0; v < 3; v++) {
				double x;

				if (!ops[v])
					continue;
				x = run(ops[v], k);
				if (x < best[v][k])
					best[v][k] = x;
			}
	printf("%-24s %10s %10s %10s %8s %8s\n", "kernel", "scalar", "avx2", "avx512", "x avx2", "x avx512");
	for (int k = 0; k < K__N; k++) {
		printf("%-24s %10.3f", kname[k], best[0][k]);
		for (int v = 1; v < 3; v++)
			if (ops[v])
				printf(" %10.3f", best[v][k]);
			else
				printf(" %10s", "-");
		for (int v = 1; v < 3; v++)
			if (ops[v])
				printf(" %8.1f", best[0][k] / best[v][k]);
			else
				printf(" %8s", "-");
		printf("\n");
	}
	printf("a room frame is %d adds and %d outputs; per listener and frame (active variant %s): %.0f cycles saturating\n",
	       TALKERS, LISTENERS, cdc_isa_name(cdc_isa_active()),
	       best[cdc_isa_active()][K_ROOM_SAT] * FRAME / LISTENERS);
	return 0;
}
