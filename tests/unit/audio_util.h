/* Test helpers for audio: signal generators and measurements (SNR with
 * delay search, segmental SNR, Goertzel tone power, log-spectral distance
 * through a small FFT). Header-only; au_lsd uses static buffers (one
 * thread at a time). */
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

/* In-place radix-2 FFT of n (a power of 2, at most 4096) complex values. */
static inline void au_fft(double *re, double *im, size_t n)
{
	for (size_t i = 1, j = 0; i < n; i++) { /* bit reversal */
		size_t bit = n >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j |= bit;
		if (i < j) {
			double t = re[i];
			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (size_t len = 2; len <= n; len <<= 1) {
		double a = -2 * M_PI / (double)len;

		for (size_t i = 0; i < n; i += len)
			for (size_t k = 0; k < len / 2; k++) {
				double wr = cos(a * (double)k), wi = sin(a * (double)k);
				double *ur = &re[i + k], *ui = &im[i + k], *vr = &re[i + k + len / 2], *vi = &im[i + k + len / 2];
				double xr = *vr * wr - *vi * wi, xi = *vr * wi + *vi * wr;

				*vr = *ur - xr;
				*vi = *ui - xi;
				*ur += xr;
				*ui += xi;
			}
	}
}

/* Log-spectral distance in dB between x and y (y delayed by lag): over
 * frames of `frame` samples (at most 2048; Hann window, zero-padded to a
 * power of 2), the RMS over the bins from DC (excluded) to Nyquist of
 * 10 log10 of the power ratio, averaged over the frames whose energy is
 * within 40 dB of the loudest frame's (speech, not pauses). Each bin's
 * power has a floor 40 dB under the frame's mean bin power so that empty
 * bins do not dominate. Lower is closer; 0 is identical spectra. */
static inline double au_lsd(const int16_t *x, const int16_t *y, size_t n, size_t lag, size_t frame,
			    size_t skip)
{
	static double xr[4096], xi[4096], yr[4096], yi[4096];
	size_t fft = 1, frames = 0;
	double emax = 0, sum = 0;

	while (fft < frame)
		fft <<= 1;
	for (size_t s0 = skip; s0 + frame + lag <= n; s0 += frame) {
		double e = 0;

		for (size_t i = s0; i < s0 + frame; i++)
			e += (double)x[i] * x[i];
		if (e > emax)
			emax = e;
	}
	for (size_t s0 = skip; s0 + frame + lag <= n; s0 += frame) {
		double e = 0, px_mean = 0, d2 = 0;

		for (size_t i = s0; i < s0 + frame; i++)
			e += (double)x[i] * x[i];
		if (e <= 0 || e < emax * 1e-4)
			continue;
		for (size_t i = 0; i < fft; i++) {
			double w = i < frame ? 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)frame) : 0;

			xr[i] = i < frame ? w * x[s0 + i] : 0;
			yr[i] = i < frame ? w * y[s0 + i + lag] : 0;
			xi[i] = yi[i] = 0;
		}
		au_fft(xr, xi, fft);
		au_fft(yr, yi, fft);
		for (size_t k = 1; k <= fft / 2; k++)
			px_mean += xr[k] * xr[k] + xi[k] * xi[k];
		px_mean /= (double)(fft / 2);
		for (size_t k = 1; k <= fft / 2; k++) {
			double floor = px_mean * 1e-4;
			double px = xr[k] * xr[k] + xi[k] * xi[k] + floor, py = yr[k] * yr[k] + yi[k] * yi[k] + floor;
			double d = 10 * log10(px / py);

			d2 += d * d;
		}
		sum += sqrt(d2 / (double)(fft / 2));
		frames++;
	}
	return frames ? sum / (double)frames : -1;
}

#endif
