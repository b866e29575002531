/* SPDX-License-Identifier: MIT
 * cdc_resample: sample-rate conversion with libspeexdsp, or a copy when the
 * rates match (see cdc.h). */
#include "cdc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

struct cdc_resampler {
	SpeexResamplerState *st; /* NULL: pass-through */
	uint32_t in_rate, out_rate;
	unsigned channels;
};

static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 16000 || r == 24000 || r == 32000 || r == 48000;
}

struct cdc_resampler *cdc_resampler_create(uint32_t in_rate, uint32_t out_rate,
					   unsigned channels, int quality)
{
	struct cdc_resampler *r;
	int err = 0;

	if (!rate_ok(in_rate) || !rate_ok(out_rate) || channels < 1 || channels > 2 || quality > 10)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	r->channels = channels;
	if (in_rate != out_rate) {
		r->st = speex_resampler_init(channels, in_rate, out_rate,
					     quality < 0 ? CDC_RESAMPLE_DEFAULT_QUALITY : quality, &err);
		if (!r->st) {
			free(r);
			return NULL;
		}
	}
	return r;
}

void cdc_resampler_destroy(struct cdc_resampler *r)
{
	if (!r)
		return;
	if (r->st)
		speex_resampler_destroy(r->st);
	free(r);
}

int cdc_resample(struct cdc_resampler *r, const int16_t *in, size_t in_samples, int16_t *out,
		 size_t max_out)
{
	spx_uint32_t in_len = (spx_uint32_t)in_samples, out_len;
	size_t need = (in_samples * r->out_rate + r->in_rate - 1) / r->in_rate;

	if (need > max_out)
		return -ENOSPC;
	if (!r->st) {
		memcpy(out, in, in_samples * r->channels * sizeof(*in));
		return (int)in_samples;
	}
	out_len = (spx_uint32_t)max_out;
	if (r->channels == 1)
		speex_resampler_process_int(r->st, 0, in, &in_len, out, &out_len);
	else
		speex_resampler_process_interleaved_int(r->st, in, &in_len, out, &out_len);
	return (int)out_len;
}

long cdc_resample_buffer(const int16_t *in, size_t n, uint32_t in_rate, int16_t *out, size_t max_out,
			 uint32_t out_rate, int quality)
{
	static const int16_t zeros[256];
	SpeexResamplerState *st;
	size_t want, got = 0, fed = 0;
	int err = 0;

	if (in_rate < 1000 || in_rate > 384000 || out_rate < 1000 || out_rate > 384000 || quality > 10)
		return -EINVAL;
	want = (size_t)(((unsigned __int128)n * out_rate + in_rate / 2) / in_rate);
	if (want > max_out)
		return -ENOSPC;
	if (in_rate == out_rate) {
		memcpy(out, in, n * sizeof(*in));
		return (long)n;
	}
	st = speex_resampler_init(1, in_rate, out_rate, quality < 0 ? CDC_RESAMPLE_DEFAULT_QUALITY : quality, &err);
	if (!st)
		return -ENOMEM;
	speex_resampler_skip_zeros(st); /* out[0] is in[0]: no leading delay */
	/* the input, then zeros until the filter has given out all of it */
	while (got < want) {
		const int16_t *src = fed < n ? in + fed : zeros;
		size_t avail = fed < n ? n - fed : sizeof(zeros) / sizeof(zeros[0]);
		spx_uint32_t in_len = (spx_uint32_t)(avail > 65536 ? 65536 : avail);
		spx_uint32_t out_len = (spx_uint32_t)(want - got > 65536 ? 65536 : want - got);

		speex_resampler_process_int(st, 0, src, &in_len, out + got, &out_len);
		if (fed < n)
			fed += in_len;
		got += out_len;
		if (!in_len && !out_len)
			break; /* cannot happen with speexdsp; no endless loop either way */
	}
	speex_resampler_destroy(st);
	while (got < want)
		out[got++] = 0;
	return (long)want;
}
