/* SPDX-License-Identifier: MIT
 * perf/perf_g711.c: ns per sample of each G.711 variant this CPU has
 * (scalar, avx2, avx512) and of SpanDSP's own per-sample inline functions
 * (the "library" reference), in all four directions, side by side in one
 * run.
 *
 * Work: ~1 MiB of speech-like int16 (three drifting sines under a syllable
 * envelope plus noise, fixed seed) cut into 160-sample frames (20 ms at
 * 8 kHz), each frame one call, as the media path calls it. Every variant
 * goes through the same function-pointer call per frame.
 *
 * Rounds are interleaved (variant order alternating A B C D / D C B A, one
 * timed block per variant per direction per round) so that machine noise
 * hits every variant alike; the table gives the median over rounds.
 * Outputs are checked bit-exact against SpanDSP first and folded into a
 * checksum after every block, so no work can be optimised away.
 *
 * Usage: perf_g711 [rounds]   (default 51; ~2.5 s on a 2-vCPU EPYC)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

#include "cdc.h"

#define FRAME 160
#define FRAMES 3276 /* 3276 * 160 * 2 bytes = 1,048,320 bytes */
#define NS ((size_t)FRAME * FRAMES)
#define PASSES 3     /* buffer passes per timed block */
#define MAX_ROUNDS 1001

enum { DIR_ULAW_ENC, DIR_ULAW_DEC, DIR_ALAW_ENC, DIR_ALAW_DEC, N_DIR };
static const char *dir_name[N_DIR] = {"ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode"};

/* SpanDSP, one sample at a time, behind the same signature. */
static void sd_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = linear_to_ulaw(in[i]);
}
static void sd_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_to_linear(in[i]);
}
static void sd_alaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = linear_to_alaw(in[i]);
}
static void sd_alaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alaw_to_linear(in[i]);
}
static const struct cdc_g711_ops spandsp_ops = {
	.ulaw_encode = sd_ulaw_encode,
	.ulaw_decode = sd_ulaw_decode,
	.alaw_encode = sd_alaw_encode,
	.alaw_decode = sd_alaw_decode,
};

#define MAX_VAR 4 /* spandsp, scalar, avx2, avx512 */
struct variant {
	const char *name;
	const struct cdc_g711_ops *ops;
};

static int16_t pcm[NS], pcm_out[NS];
static uint8_t ulaw_codes[NS], alaw_codes[NS], codes_out[NS];
static double samples[N_DIR][MAX_VAR][MAX_ROUNDS];
static volatile uint64_t sink;

static uint64_t rng_state = 0x0711feedbeef5eedull;
static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void make_speech(void)
{
	const double pi = 3.14159265358979323846;
	double ph[3] = {0, 0, 0};

	for (size_t i = 0; i < NS; i++) {
		double t = (double)i / 8000.0;
		/* pitch and formant-ish tones that drift, syllables at ~4 Hz */
		double f[3] = {140 + 30 * sin(2 * pi * 0.7 * t), 700 + 200 * sin(2 * pi * 0.3 * t),
			       2300 + 300 * sin(2 * pi * 0.2 * t)};
		double env = 0.15 + 0.85 * fabs(sin(2 * pi * 2.1 * t)) * (0.5 + 0.5 * sin(2 * pi * 0.13 * t));
		double v = 0;

		for (int k = 0; k < 3; k++) {
			ph[k] += 2 * pi * f[k] / 8000.0;
			v += sin(ph[k]) / (double)(1 << k);
		}
		v = env * 14000.0 * v + ((double)(rng() & 0xffff) - 32768.0) / 32768.0 * 300.0;
		if (v > 32767)
			v = 32767;
		if (v < -32768)
			v = -32768;
		pcm[i] = (int16_t)lrint(v);
	}
	/* a few full-scale clips, as real captures have */
	for (size_t i = 0; i < NS; i += 4099)
		pcm[i] = (i & 1) ? 32767 : -32768;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t fold(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i += 61) /* a sample of it: cheap, not elidable */
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* One pass over the buffer, a call per frame. */
static void run(const struct cdc_g711_ops *ops, int dir)
{
	switch (dir) {
	case DIR_ULAW_ENC:
		for (size_t f = 0; f < NS; f += FRAME)
			ops->ulaw_encode(pcm + f, codes_out + f, FRAME);
		break;
	case DIR_ALAW_ENC:
		for (size_t f = 0; f < NS; f += FRAME)
			ops->alaw_encode(pcm + f, codes_out + f, FRAME);
		break;
	case DIR_ULAW_DEC:
		for (size_t f = 0; f < NS; f += FRAME)
			ops->ulaw_decode(ulaw_codes + f, pcm_out + f, FRAME);
		break;
	case DIR_ALAW_DEC:
		for (size_t f = 0; f < NS; f += FRAME)
			ops->alaw_decode(alaw_codes + f, pcm_out + f, FRAME);
		break;
	}
	__asm__ __volatile__("" ::: "memory");
}

static int verify(const struct variant *v)
{
	static int16_t ref16[NS];
	static uint8_t ref8[NS];

	for (int dir = 0; dir < N_DIR; dir++) {
		bool enc = dir == DIR_ULAW_ENC || dir == DIR_ALAW_ENC;

		run(&spandsp_ops, dir);
		if (enc)
			memcpy(ref8, codes_out, NS);
		else
			memcpy(ref16, pcm_out, sizeof(pcm_out));
		memset(codes_out, 0, NS);
		memset(pcm_out, 0, sizeof(pcm_out));
		run(v->ops, dir);
		if (enc ? memcmp(ref8, codes_out, NS) : memcmp(ref16, pcm_out, sizeof(pcm_out))) {
			fprintf(stderr, "%s %s differs from SpanDSP\n", v->name, dir_name[dir]);
			return -1;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 51;
	struct variant var[MAX_VAR];
	int nv = 0, scalar_i = 1;

	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [rounds 1..%d]\n", argv[0], MAX_ROUNDS);
		return 2;
	}
	var[nv++] = (struct variant){"spandsp", &spandsp_ops};
	for (int isa = CDC_ISA_SCALAR; isa <= CDC_ISA_AVX512; isa++) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops)
			var[nv++] = (struct variant){cdc_isa_name((enum cdc_isa)isa), ops};
	}

	make_speech();
	sd_ulaw_encode(pcm, ulaw_codes, NS);
	sd_alaw_encode(pcm, alaw_codes, NS);
	for (int v = 1; v < nv; v++)
		if (verify(&var[v]))
			return 1;

	printf("G.711, %zu samples (%zu B) in %d-sample frames, %d passes a block, %d rounds "
	       "interleaved, median\n",
	       NS, NS * sizeof(int16_t), FRAME, PASSES, rounds);
	printf("variant in force: %s; all variants checked bit-exact against SpanDSP on this data\n\n",
	       cdc_isa_name(cdc_isa_active()));

	for (int v = 0; v < nv; v++) /* warm-up: caches, page faults, clocks */
		for (int dir = 0; dir < N_DIR; dir++)
			run(var[v].ops, dir);

	uint64_t h = 0;
	for (int r = 0; r < rounds; r++) {
		for (int dir = 0; dir < N_DIR; dir++) {
			for (int k = 0; k < nv; k++) {
				int v = (r & 1) ? nv - 1 - k : k; /* ABCD, DCBA, ... */
				double t0 = now_ns();

				for (int p = 0; p < PASSES; p++)
					run(var[v].ops, dir);
				double t1 = now_ns();

				samples[dir][v][r] = (t1 - t0) / ((double)NS * PASSES);
				h ^= (dir == DIR_ULAW_ENC || dir == DIR_ALAW_ENC)
					     ? fold(codes_out, NS)
					     : fold(pcm_out, sizeof(pcm_out));
			}
		}
	}
	sink = h;

	printf("%-12s %-8s %10s %10s %11s %10s %10s\n", "direction", "variant", "ns/sample",
	       "ns/frame", "Msamples/s", "vs scalar", "vs SpanDSP");
	for (int dir = 0; dir < N_DIR; dir++) {
		double med[MAX_VAR], best = 0;
		int best_v = scalar_i;

		for (int v = 0; v < nv; v++)
			med[v] = median(samples[dir][v], rounds);
		for (int v = 0; v < nv; v++) {
			printf("%-12s %-8s %10.3f %10.1f %11.1f %9.2fx %9.2fx\n", dir_name[dir],
			       var[v].name, med[v], med[v] * FRAME, 1e3 / med[v], med[scalar_i] / med[v],
			       med[0] / med[v]);
			if (v > scalar_i && med[scalar_i] / med[v] > best) {
				best = med[scalar_i] / med[v];
				best_v = v;
			}
		}
		if (best_v == scalar_i)
			printf("%-12s goal (>= 4x over scalar): NOT met (no SIMD variant on this CPU)\n\n",
			       dir_name[dir]);
		else
			printf("%-12s goal (>= 4x over scalar): %s (best %s, %.2fx)\n\n", dir_name[dir],
			       best >= 4.0 ? "met" : "NOT met", var[best_v].name, best);
	}
	return 0;
}
