/* SPDX-License-Identifier: MIT
 * cdc_chain: one direction of a transcoded leg pair (see cdc.h): a decode
 * half (cdc_src) whose PCM and events go straight into an encode half
 * (cdc_sink), within one push. The halves are what media endpoints use
 * apart (mixer/); the chain keeps the 1:1 case in one object.
 *
 * Rates: audio is decoded at a rate the encoder can take where the codec
 * allows it (Opus decodes and encodes at 8-48 kHz itself), otherwise the
 * decode half resamples to the encoder's rate, so the encode half never
 * resamples.
 */
#include "cdc_impl.h"

#include <errno.h>
#include <stdlib.h>

struct cdc_chain {
	struct cdc_src *src;
	struct cdc_sink *sink;
	struct cdc_pkt *out; /* the push under way */
	int nout;
};

static bool conf_ok(const struct cdc_chain_conf *c)
{
	bool in_te = c->in_te_pt >= 0, out_te = c->out_te_pt >= 0;

	if (!cdc_ptime_valid(c->out_ptime))
		return false;
	switch (c->dtmf) {
	case CDC_DTMF_PASS: return in_te && out_te;
	case CDC_DTMF_TO_INBAND: return in_te;
	case CDC_DTMF_FROM_INBAND: return out_te && !in_te;
	case CDC_DTMF_DROP: return true;
	}
	return false;
}

static void on_pcm(void *ctx, const int16_t *pcm, size_t n)
{
	struct cdc_chain *ch = ctx;

	ch->nout = cdc_sink_write(ch->sink, pcm, n, ch->out, ch->nout);
}

static void on_event(void *ctx, const struct cdc_ev *ev)
{
	struct cdc_chain *ch = ctx;

	ch->nout = cdc_sink_event(ch->sink, ev, ch->out, ch->nout);
}

static bool on_busy(void *ctx)
{
	return cdc_sink_busy(((struct cdc_chain *)ctx)->sink);
}

uint32_t cdc_chain_enc_rate(const struct cdc_chain_conf *c)
{
	if (c->out.codec == CDC_OPUS && c->in.codec != CDC_OPUS && cdc_opus_rate(c->in.sample_rate))
		return c->in.sample_rate;
	return c->out.sample_rate;
}

int cdc_chain_split(const struct cdc_chain_conf *c, struct cdc_src_conf *sc, struct cdc_sink_conf *kc)
{
	uint32_t rate = cdc_chain_enc_rate(c);

	if (!conf_ok(c))
		return -EINVAL;
	*sc = (struct cdc_src_conf){
		.in = c->in, .in_pt = c->in_pt, .in_te_pt = c->in_te_pt, .in_cn_pt = c->in_cn_pt,
		.dtmf = c->dtmf, .out_rate = rate, .out_channels = c->out.pcm_channels,
		.resample_quality = c->resample_quality,
	};
	*kc = (struct cdc_sink_conf){
		.out = c->out, .out_pt = c->out_pt, .out_ptime = c->out_ptime, .out_te_pt = c->out_te_pt,
		.out_cn_pt = c->out_cn_pt, .enc = c->enc, .in_rate = rate, .in_channels = c->out.pcm_channels,
		.dtmf_from_inband = c->dtmf == CDC_DTMF_FROM_INBAND, .resample_quality = c->resample_quality,
	};
	return 0;
}

struct cdc_chain *cdc_chain_create(const struct cdc_chain_conf *c)
{
	struct cdc_src_conf sc;
	struct cdc_sink_conf kc;
	struct cdc_chain *ch;

	if (!c || cdc_chain_split(c, &sc, &kc))
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->sink = cdc_sink_create(&kc);
	ch->src = cdc_src_create(&sc, &(struct cdc_src_out){ on_pcm, on_event, on_busy, ch });
	if (!ch->sink || !ch->src) {
		cdc_chain_destroy(ch);
		return NULL;
	}
	return ch;
}

void cdc_chain_destroy(struct cdc_chain *ch)
{
	if (!ch)
		return;
	cdc_src_destroy(ch->src);
	cdc_sink_destroy(ch->sink);
	free(ch);
}

int cdc_chain_push(struct cdc_chain *ch, uint8_t pt, uint32_t ts, bool marker,
		   const uint8_t *payload, size_t len, struct cdc_pkt *out)
{
	ch->out = out;
	ch->nout = 0;
	cdc_sink_take_requests(ch->sink);
	cdc_src_push(ch->src, pt, ts, marker, payload, len);
	return ch->nout;
}

void cdc_chain_get_stats(const struct cdc_chain *ch, struct cdc_chain_stats *st)
{
	cdc_src_get_stats(ch->src, st);
	cdc_sink_get_stats(ch->sink, st);
}

void cdc_chain_set_pcm_tap(struct cdc_chain *ch, cdc_pcm_tap_fn fn, void *ctx)
{
	cdc_src_set_pcm_tap(ch->src, fn, ctx);
}

uint32_t cdc_chain_pcm_rate(const struct cdc_chain *ch, unsigned *channels)
{
	return cdc_src_pcm_rate(ch->src, channels);
}

int cdc_chain_play_dtmf(struct cdc_chain *ch, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	return ch ? cdc_sink_play_dtmf(ch->sink, event, duration_ms, volume) : -EINVAL;
}

bool cdc_chain_playing(const struct cdc_chain *ch)
{
	return cdc_sink_playing(ch->sink);
}

int cdc_chain_set_dtmf_mask(struct cdc_chain *ch, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	return ch ? cdc_src_set_dtmf_mask(ch->src, mode, freq_hz) : -EINVAL;
}

void cdc_chain_get_info(const struct cdc_chain *ch, struct cdc_chain_info *out)
{
	*out = (struct cdc_chain_info){ 0 };
	cdc_src_get_info(ch->src, out);
	cdc_sink_get_info(ch->sink, out);
}
