/* Test helpers for audio: signal generators and measurements (SNR with
 * delay search, segmental SNR, Goertzel tone power). Header-only. */
#ifndef AUDIO_UTIL_H
#define AUDIO_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* A sine of freq Hz at amplitude amp (peak), n samples at rate. */
static inline void au_tone(int16_t *out, size_t n, double freq, double amp, uint32_t rate)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)lrint(amp * sin(2 * M_PI * freq * (double)i / rate));
}

/* Speech-like: a voiced source whose pitch wanders between 100 and 250 Hz
 * with a few harmonics shaped by two formant-ish peaks, a syllable envelope
 * (~4 Hz) and a little noise. Deterministic for a seed. */
static inline void au_speech(int16_t *out, size_t n, uint32_t rate, uint32_t seed)
{
	double phase = 0;
	uint32_t s = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double f0 = 175 + 75 * sin(2 * M_PI * 0.7 * t + (seed % 7));
		double env = 0.55 + 0.45 * sin(2 * M_PI * 3.9 * t + (seed % 5));
		double v = 0;

		phase += 2 * M_PI * f0 / rate;
		for (int h = 1; h <= 12; h++) {
			double f = f0 * h;
			double g = 1.0 / h + 0.8 * exp(-pow((f - 700) / 250, 2)) + 0.5 * exp(-pow((f - 1800) / 400, 2));

			if (f < rate / 2.0)
				v += g * sin(h * phase);
		}
		s = s * 1664525u + 1013904223u;
		v += 0.05 * ((double)(int32_t)s / 2147483648.0);
		out[i] = (int16_t)lrint(5000 * env * env * v);
	}
}

/* SNR of y against x in dB, with y delayed by the best lag in 0..max_lag,
 * ignoring `skip` samples at the start (codec warm-up). */
static inline double au_snr(const int16_t *x, const int16_t *y, size_t n, size_t max_lag, size_t skip,
			    size_t *lag_out)
{
	double best = -1e9;
	size_t best_lag = 0;

	for (size_t lag = 0; lag <= max_lag && lag + skip < n; lag++) {
		double sig = 0, err = 0;

		for (size_t i = skip; i + lag < n; i++) {
			double a = x[i], b = y[i + lag];

			sig += a * a;
			err += (a - b) * (a - b);
		}
		double snr = err > 0 ? 10 * log10(sig / err) : 200;
		if (snr > best) {
			best = snr;
			best_lag = lag;
		}
	}
	if (lag_out)
		*lag_out = best_lag;
	return best;
}

/* Mean of per-segment SNRs (segments of seg samples; each clamped to
 * [-10, 60] dB; silent segments skipped), y delayed by lag. */
static inline double au_segsnr(const int16_t *x, const int16_t *y, size_t n, size_t lag, size_t seg,
			       size_t skip)
{
	double sum = 0;
	int count = 0;

	for (size_t s0 = skip; s0 + seg + lag <= n; s0 += seg) {
		double sig = 0, err = 0;

		for (size_t i = s0; i < s0 + seg; i++) {
			double a = x[i], b = y[i + lag];

			sig += a * a;
			err += (a - b) * (a - b);
		}
		if (sig < 1e3 * seg)
			continue;
		double snr = err > 0 ? 10 * log10(sig / err) : 60;
		sum += snr < -10 ? -10 : snr > 60 ? 60 : snr;
		count++;
	}
	return count ? sum / count : -100;
}

/* Power at freq (Goertzel) as a fraction of the window's total power:
 * ~1 for a pure tone at freq, ~0 for a tone elsewhere. */
static inline double au_tone_ratio(const int16_t *x, size_t n, double freq, uint32_t rate)
{
	double w = 2 * M_PI * freq / rate, coeff = 2 * cos(w), s1 = 0, s2 = 0, total = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
		total += (double)x[i] * x[i];
	}
	double p = s1 * s1 + s2 * s2 - coeff * s1 * s2; /* |X(f)|^2 */
	return total > 0 ? 2 * p / (n * total) : 0;
}

/* RMS of n samples. */
static inline double au_rms(const int16_t *x, size_t n)
{
	double e = 0;

	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return n ? sqrt(e / n) : 0;
}

#endif
