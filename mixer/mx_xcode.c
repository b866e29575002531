/* SPDX-License-Identifier: MIT
 * mx_xcode: the 1:1 transcoding graph, one direction (see mx.h): leg in's
 * way in (mx_ep_in) feeds leg out's way out (mx_ep_out) directly, PCM and
 * events, on every tick of the call's media clock.
 */
#include "mx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

struct mx_xcode {
	struct mx_ep_in *in;
	struct mx_ep_out *out;
	struct dp_ticker *ticker;
	uint64_t ticks;
};

static void tick(void *ctx, uint64_t n_tick, uint64_t deadline_ns)
{
	struct mx_xcode *x = ctx;

	(void)n_tick;
	(void)deadline_ns;
	x->ticks++;
	mx_ep_out_begin(x->out);
	mx_ep_in_tick(x->in, rte_rdtsc());
}

static struct mx_conf conf = { MX_JB_MIN_MS_DEFAULT, MX_JB_MAX_MS_DEFAULT };

int mx_conf_set(const struct mx_conf *c)
{
	if (c->jb_min_ms > c->jb_max_ms || c->jb_max_ms > 1000)
		return -EINVAL;
	conf = *c;
	return 0;
}

void mx_conf_get(struct mx_conf *out) { *out = conf; }

struct mx_xcode *mx_xcode_create(struct dp_leg *in, struct dp_leg *out, const struct mx_xcode_conf *c, int *err)
{
	struct mx_ep_in_conf ic = { .jb_min_ms = c->jb_min_ms, .jb_max_ms = c->jb_max_ms };
	struct cdc_sink_conf kc;
	struct cdc_src_out feed;
	struct mx_xcode *x;
	int e = -EINVAL;

	if (!in || !out || cdc_chain_split(&c->chain, &ic.src, &kc))
		goto fail;
	e = -ENOMEM;
	if (!(x = calloc(1, sizeof(*x))))
		goto fail;
	if (!(x->out = mx_ep_out_create(out, &kc, &e)))
		goto fail_x;
	feed = mx_ep_out_feed(x->out);
	if (!(x->in = mx_ep_in_create(in, &ic, &feed, &e)))
		goto fail_x;
	x->ticker = dp_ticker_add(dp_leg_call(in), tick, x, &e);
	if (!x->ticker)
		goto fail_x;
	return x;
fail_x:
	mx_ep_in_destroy(x->in);
	mx_ep_out_destroy(x->out);
	free(x);
fail:
	if (err)
		*err = e;
	return NULL;
}

/* Once neither the hook nor the ticker can run (the ticker's removal is
 * posted after the hook's, so its release covers both). */
static void release(void *ctx)
{
	struct mx_xcode *x = ctx;

	mx_ep_in_free(x->in);
	mx_ep_out_destroy(x->out);
	free(x);
}

void mx_xcode_destroy(struct mx_xcode *x)
{
	if (!x)
		return;
	mx_ep_in_unhook_deferred(x->in, NULL, NULL);
	dp_ticker_remove_deferred(x->ticker, release);
}

int mx_xcode_play_dtmf(struct mx_xcode *x, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	return x ? mx_ep_out_play_dtmf(x->out, event, duration_ms, volume) : -EINVAL;
}

int mx_xcode_set_dtmf_mask(struct mx_xcode *x, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	return x ? mx_ep_in_set_dtmf_mask(x->in, mode, freq_hz) : -EINVAL;
}

void mx_xcode_get_stats(const struct mx_xcode *x, struct mx_xcode_stats *out)
{
	struct mx_ep_in_stats is;
	struct mx_ep_out_stats os;

	mx_ep_in_get_stats(x->in, &is);
	mx_ep_out_get_stats(x->out, &os);
	out->chain = is.src;
	out->chain.out_packets = os.sink.out_packets;
	out->chain.dtmf_played = os.sink.dtmf_played;
	out->jb = is.jb;
	out->clock_fills = is.clock_fills;
	out->ticks = x->ticks;
	out->sent = os.sent;
}

int mx_xcode_set_tap(struct mx_xcode *x, enum mx_tap_kind kind, struct mx_tap *t)
{
	if (!x)
		return -EINVAL;
	switch (kind) {
	case MX_TAP_PCM_IN: return mx_ep_in_set_tap(x->in, t);
	case MX_TAP_RTP_OUT: return mx_ep_out_set_tap(x->out, t);
	case MX_TAP_RTP_IN: break; /* fed by the dataplane (dp_leg_set_rec), not a graph */
	}
	return -EINVAL;
}

uint32_t mx_xcode_pcm_rate(const struct mx_xcode *x, unsigned *channels)
{
	return mx_ep_in_pcm_rate(x->in, channels);
}
