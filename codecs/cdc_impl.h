/* SPDX-License-Identifier: MIT
 * Internal to codecs/: the decoder and encoder objects behind cdc.h and
 * the per-codec constructors that fill them in. Not for other folders.
 */
#ifndef CDC_IMPL_H
#define CDC_IMPL_H

#include <opus/opus.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>

#include "cdc.h"

struct cdc_dec {
	struct cdc_format f;
	int (*decode)(struct cdc_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max);
	int (*conceal)(struct cdc_dec *d, int16_t *pcm, size_t samples);
	int (*recover)(struct cdc_dec *d, const uint8_t *next, size_t len, int16_t *pcm,
		       size_t samples);
	void (*fini)(struct cdc_dec *d);
	plc_state_t *plc; /* G.711, G.722 */
	g722_decode_state_t *g722;
	OpusDecoder *opus;
};

struct cdc_enc {
	struct cdc_format f;
	struct cdc_enc_opts o;
	int (*encode)(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
		      size_t max);
	void (*fini)(struct cdc_enc *e);
	g722_encode_state_t *g722;
	OpusEncoder *opus;
	OpusRepacketizer *rp;
};

/* The rates libopus runs at (and so resamples to and from itself). */
static inline bool cdc_opus_rate(uint32_t r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

/* Per-codec set-up: fill the function pointers and state. Return 0 or -errno. */
int cdc_g711_dec_init(struct cdc_dec *d);
int cdc_g711_enc_init(struct cdc_enc *e);
int cdc_l16_dec_init(struct cdc_dec *d);
int cdc_l16_enc_init(struct cdc_enc *e);
int cdc_g722_dec_init(struct cdc_dec *d);
int cdc_g722_enc_init(struct cdc_enc *e);
int cdc_opus_dec_init(struct cdc_dec *d);
int cdc_opus_enc_init(struct cdc_enc *e);

/* SpanDSP PLC shared by G.711 and G.722: feed decoded audio, fill gaps. */
int cdc_plc_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples);

#endif
