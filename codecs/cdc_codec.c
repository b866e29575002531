/* SPDX-License-Identifier: MIT
 * cdc_codec: decoder/encoder creation and dispatch, plus the two codecs
 * that need no library state: G.711 (through the SIMD-dispatched kernels,
 * with SpanDSP's PLC) and L16 (big-endian linear PCM). */
#include "cdc_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp/telephony.h>
#include <spandsp/plc.h>

struct cdc_dec *cdc_dec_create(const struct cdc_format *f)
{
	struct cdc_dec *d;
	int rc;

	if (!f)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->f = *f;
	switch (f->codec) {
	case CDC_PCMU:
	case CDC_PCMA: rc = cdc_g711_dec_init(d); break;
	case CDC_L16: rc = cdc_l16_dec_init(d); break;
	case CDC_G722: rc = cdc_g722_dec_init(d); break;
	case CDC_OPUS: rc = cdc_opus_dec_init(d); break;
	default: rc = -ENOTSUP; break;
	}
	if (rc) {
		cdc_dec_destroy(d);
		errno = -rc;
		return NULL;
	}
	return d;
}

void cdc_dec_destroy(struct cdc_dec *d)
{
	if (!d)
		return;
	if (d->fini)
		d->fini(d);
	if (d->plc)
		plc_free(d->plc);
	free(d);
}

int cdc_decode(struct cdc_dec *d, const uint8_t *payload, size_t len, int16_t *pcm,
	       size_t max_samples)
{
	if (!payload && len)
		return -EINVAL;
	return d->decode(d, payload, len, pcm, max_samples);
}

int cdc_dec_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples)
{
	return d->conceal(d, pcm, samples);
}

int cdc_dec_recover(struct cdc_dec *d, const uint8_t *next, size_t len, int16_t *pcm,
		    size_t samples)
{
	if (d->recover && next && len)
		return d->recover(d, next, len, pcm, samples);
	return d->conceal(d, pcm, samples);
}

struct cdc_enc *cdc_enc_create(const struct cdc_format *f, const struct cdc_enc_opts *o)
{
	struct cdc_enc *e;
	int rc;

	if (!f)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->f = *f;
	if (o)
		e->o = *o;
	switch (f->codec) {
	case CDC_PCMU:
	case CDC_PCMA: rc = cdc_g711_enc_init(e); break;
	case CDC_L16: rc = cdc_l16_enc_init(e); break;
	case CDC_G722: rc = cdc_g722_enc_init(e); break;
	case CDC_OPUS: rc = cdc_opus_enc_init(e); break;
	default: rc = -ENOTSUP; break;
	}
	if (rc) {
		cdc_enc_destroy(e);
		errno = -rc;
		return NULL;
	}
	return e;
}

void cdc_enc_destroy(struct cdc_enc *e)
{
	if (!e)
		return;
	if (e->fini)
		e->fini(e);
	free(e);
}

int cdc_encode(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out, size_t max_len)
{
	return e->encode(e, pcm, samples, out, max_len);
}

/* ---- SpanDSP PLC (G.711, G.722) ---- */

/* SpanDSP 0.0.6's plc_fillin starts a loss by "normalising" its history
 * ring with a memcpy whose source and destination overlap whenever the ring
 * pointer is in the first half (undefined behaviour, caught by ASan and the
 * fuzzers). We rotate the ring ourselves first, through a copy; SpanDSP then
 * finds buf_ptr == 0 and leaves it alone. Same samples, same order. */
static void plc_normalise(plc_state_t *s)
{
	int16_t tmp[PLC_HISTORY_LEN];
	size_t head = (size_t)s->buf_ptr;

	if (s->missing_samples != 0 || head == 0 || head >= PLC_HISTORY_LEN)
		return;
	memcpy(tmp, s->history + head, sizeof(int16_t) * (PLC_HISTORY_LEN - head));
	memcpy(tmp + (PLC_HISTORY_LEN - head), s->history, sizeof(int16_t) * head);
	memcpy(s->history, tmp, sizeof(tmp));
	s->buf_ptr = 0;
}

int cdc_plc_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples)
{
	plc_normalise(d->plc);
	plc_fillin(d->plc, pcm, (int)samples);
	return (int)samples;
}

/* ---- G.711 ---- */

static int g711_decode(struct cdc_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max)
{
	if (len > max)
		return -ENOSPC;
	if (len == 0)
		return -EINVAL;
	if (d->f.codec == CDC_PCMU)
		cdc_ulaw_decode(in, pcm, len);
	else
		cdc_alaw_decode(in, pcm, len);
	plc_rx(d->plc, pcm, (int)len);
	return (int)len;
}

int cdc_g711_dec_init(struct cdc_dec *d)
{
	d->plc = plc_init(NULL);
	if (!d->plc)
		return -ENOMEM;
	d->decode = g711_decode;
	d->conceal = cdc_plc_conceal;
	return 0;
}

static int g711_encode(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
		       size_t max)
{
	if (samples == 0)
		return -EINVAL;
	if (samples > max)
		return -ENOSPC;
	if (e->f.codec == CDC_PCMU)
		cdc_ulaw_encode(pcm, out, samples);
	else
		cdc_alaw_encode(pcm, out, samples);
	return (int)samples;
}

int cdc_g711_enc_init(struct cdc_enc *e)
{
	e->encode = g711_encode;
	return 0;
}

/* ---- L16: network byte order linear PCM ---- */

static int l16_decode(struct cdc_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max)
{
	size_t frame = 2u * d->f.pcm_channels, n = len / frame;

	if (len == 0 || len % frame)
		return -EINVAL;
	if (n > max)
		return -ENOSPC;
	for (size_t i = 0; i < n * d->f.pcm_channels; i++)
		pcm[i] = (int16_t)(((uint16_t)in[2 * i] << 8) | in[2 * i + 1]);
	return (int)n;
}

static int l16_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples)
{
	memset(pcm, 0, samples * d->f.pcm_channels * sizeof(*pcm));
	return (int)samples;
}

int cdc_l16_dec_init(struct cdc_dec *d)
{
	d->decode = l16_decode;
	d->conceal = l16_conceal;
	return 0;
}

static int l16_encode(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
		      size_t max)
{
	size_t n = samples * e->f.pcm_channels;

	if (samples == 0)
		return -EINVAL;
	if (2 * n > max)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)((uint16_t)pcm[i] >> 8);
		out[2 * i + 1] = (uint8_t)pcm[i];
	}
	return (int)(2 * n);
}

int cdc_l16_enc_init(struct cdc_enc *e)
{
	e->encode = l16_encode;
	return 0;
}
