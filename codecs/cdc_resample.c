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
