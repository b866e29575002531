/* SPDX-License-Identifier: MIT
 * perf_opus: the Opus encoder's quality/cost trade-off by complexity, to
 * choose medius's default (CDC_OPUS_DEFAULT_COMPLEXITY). For complexity
 * 0..10, 8 s of speech-like audio at 48 kHz, 20 ms frames, VOIP, 24 kbit/s
 * (a typical wideband voice rate) and at the encoder's own rate choice, is
 * encoded and decoded; we report the encoder's cost per frame (median of
 * interleaved rounds) and the decoded audio's segmental SNR against the
 * input (delay-aligned), a simple objective proxy for quality.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_util.h"
#include "cdc.h"

#define RATE 48000
#define FRAME 960
#define FRAMES 400
#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


static double segsnr(const int16_t *x, const int16_t *y, size_t n)
{
	size_t best_lag = 0;
	double best = -1e9, sum = 0;
	int count = 0;

	for (size_t lag = 0; lag < 1000; lag += 1) { /* find the codec delay */
		double sig = 0, err = 0;

		for (size_t i = RATE; i < RATE * 2; i++) {
			sig += (double)x[i] * x[i];
			err += pow(x[i] - y[i + lag], 2);
		}
		if (10 * log10(sig / err) > best) {
			best = 10 * log10(sig / err);
			best_lag = lag;
		}
	}
	for (size_t s0 = RATE / 2; s0 + FRAME + best_lag <= n; s0 += FRAME) {
		double sig = 0, err = 0;

		for (size_t i = s0; i < s0 + FRAME; i++) {
			sig += (double)x[i] * x[i];
			err += pow(x[i] - y[i + best_lag], 2);
		}
		if (sig < 1e3 * FRAME)
			continue;
		double v = 10 * log10(sig / err);
		sum += v < -10 ? -10 : v > 60 ? 60 : v;
		count++;
	}
	return sum / count;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	static int16_t in[FRAME * FRAMES], out[FRAME * FRAMES + 2000];
	static uint8_t pkt[FRAMES][1500];
	static int len[FRAMES];
	static const uint32_t rates[] = { 24000, 0 };
	struct cdc_format f;

	au_speech(in, FRAME * FRAMES, RATE, 5);
	cdc_format_parse("opus/48000/2", NULL, &f);
	printf("Opus encoder by complexity: 48 kHz mono speech-like audio, 20 ms frames, VOIP\n"
	       "cost = median encode time per frame over %d interleaved rounds; quality = segmental SNR of the\n"
	       "decoded audio (delay-aligned). Default in medius: %d.\n\n",
	       ROUNDS, CDC_OPUS_DEFAULT_COMPLEXITY);
	for (size_t b = 0; b < 2; b++) {
		double t[11][ROUNDS], q[11];
		double bytes[11];

		printf("bitrate: %s\n", rates[b] ? "24 kbit/s" : "encoder's choice (OPUS_AUTO)");
		printf("%-11s %12s %12s %14s %12s\n", "complexity", "us/frame", "kbit/s", "segSNR dB", "vs c=10");
		for (int r = 0; r < ROUNDS; r++)
			for (int c = 0; c <= 10; c++) {
				struct cdc_enc_opts o = { .complexity = c ? c : -1, .bitrate = rates[b] };
				struct cdc_enc *e = cdc_enc_create(&f, &o);
				double t0 = now_s(), total = 0;

				for (int i = 0; i < FRAMES; i++) {
					len[i] = cdc_encode(e, in + i * FRAME, FRAME, pkt[i], sizeof(pkt[i]));
					total += len[i];
				}
				t[c][r] = (now_s() - t0) / FRAMES * 1e6;
				bytes[c] = total;
				cdc_enc_destroy(e);
				if (r == 0) {
					struct cdc_dec *d = cdc_dec_create(&f);

					for (int i = 0; i < FRAMES; i++)
						cdc_decode(d, pkt[i], (size_t)len[i], out + i * FRAME, FRAME);
					q[c] = segsnr(in, out, FRAME * FRAMES);
					cdc_dec_destroy(d);
				}
			}
		for (int c = 0; c <= 10; c++) {
			qsort(t[c], ROUNDS, sizeof(double), cmp);
			printf("%-11d %12.1f %12.1f %14.2f %11.2fx\n", c, t[c][ROUNDS / 2],
			       bytes[c] * 8 / (FRAMES * 0.02) / 1000, q[c], t[c][ROUNDS / 2] / t[10][ROUNDS / 2]);
		}
		printf("\n");
	}
	return 0;
}
