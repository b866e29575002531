/* SPDX-License-Identifier: MIT
 * cdc_g722: G.722 at 64 kbit/s through SpanDSP; 16 kHz PCM, one byte per
 * two samples, SpanDSP's PLC for lost frames. */
#include "cdc_impl.h"

#include <errno.h>

#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>

static int g722_dec(struct cdc_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max)
{
	if (len == 0)
		return -EINVAL;
	if (2 * len > max)
		return -ENOSPC;
	int n = g722_decode(d->g722, pcm, in, (int)len);

	plc_rx(d->plc, pcm, n);
	return n;
}

static void g722_dec_fini(struct cdc_dec *d)
{
	if (d->g722)
		g722_decode_free(d->g722);
}

int cdc_g722_dec_init(struct cdc_dec *d)
{
	d->fini = g722_dec_fini;
	d->g722 = g722_decode_init(NULL, 64000, 0);
	d->plc = plc_init(NULL);
	if (!d->g722 || !d->plc)
		return -ENOMEM;
	d->decode = g722_dec;
	d->conceal = cdc_plc_conceal;
	return 0;
}

static int g722_encode_frame(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
			     size_t max)
{
	if (samples == 0 || samples % 2)
		return -EINVAL;
	if (samples / 2 > max)
		return -ENOSPC;
	return g722_encode(e->g722, out, pcm, (int)samples);
}

static void g722_enc_fini(struct cdc_enc *e)
{
	if (e->g722)
		g722_encode_free(e->g722);
}

int cdc_g722_enc_init(struct cdc_enc *e)
{
	e->fini = g722_enc_fini;
	e->g722 = g722_encode_init(NULL, 64000, 0);
	if (!e->g722)
		return -ENOMEM;
	e->encode = g722_encode_frame;
	return 0;
}
