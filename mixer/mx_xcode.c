/* SPDX-License-Identifier: MIT
 * mx_xcode: the 1:1 transcoding graph, one direction (see mx.h).
 *
 * On the worker: leg in's hook (sink) puts each packet into the jitter
 * buffer with its arrival time in the input clock; the ticker, on every
 * media-clock tick, pops what is due, pushes it through the codecs/ chain
 * and sends the chain's packets out of leg out with this graph's SSRC,
 * sequence and timestamp base. Taps are read once per tick (an acquire
 * load), so a tap swapped by the control lcore takes effect at a tick
 * boundary; replaced taps are kept until the graph is destroyed, after
 * the ticker stopped, so the worker never touches freed memory.
 */
#include "mx.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_random.h>

#define MAX_RETIRED 8

struct mx_xcode {
	struct dp_leg *in, *out;
	struct dp_ticker *ticker;
	struct cdc_chain *ch;
	struct mx_jb *jb;
	uint32_t in_rate, out_rate, pcm_rate;
	unsigned pcm_ch;
	int te_pt;
	uint64_t tsc_hz, tsc0;

	/* the stream this graph sends (worker) */
	uint32_t ssrc, ts_base;
	uint16_t seq;

	_Atomic(struct mx_tap *) tap[2]; /* by enum mx_tap_kind (control stores) */
	struct mx_tap *cur[2];           /* this tick's (worker) */
	struct mx_tap *retired[MAX_RETIRED];
	unsigned n_retired;

	uint64_t ticks, sent;
	_Alignas(8) uint8_t jb_mem[];
};

/* Scratch for a chain's output: one per worker thread, used within a tick. */
static _Thread_local struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];

/* The input clock at TSC t (wrapping at 32 bits). */
static uint32_t clk(const struct mx_xcode *x, uint64_t t)
{
	return (uint32_t)((unsigned __int128)(t - x->tsc0) * x->in_rate / x->tsc_hz);
}

static void play_due(struct mx_xcode *x, uint32_t now);

static void sink(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc)
{
	struct mx_xcode *x = ctx;
	uint32_t now = clk(x, arrival_tsc);

	if (mx_jb_put(x->jb, p, now, (int)p->pt != x->te_pt) == -ENOBUFS) {
		/* the worker fell behind its ticks: what is due goes out now */
		play_due(x, now);
		mx_jb_put(x->jb, p, now, (int)p->pt != x->te_pt);
	}
}

/* The chain's decoded audio, into the PCM tap in frames of at most 20 ms. */
static void on_pcm(void *ctx, const int16_t *pcm, size_t samples, enum cdc_pcm_kind kind)
{
	struct mx_xcode *x = ctx;
	struct mx_tap *t = x->cur[MX_TAP_PCM_IN];
	size_t step = x->pcm_rate / 50u;
	uint64_t now;

	if (!t)
		return;
	now = rte_rdtsc();
	while (samples) {
		size_t n = samples < step ? samples : step;
		struct mx_tap_frame f = {
			.kind = MX_TAP_PCM_IN, .rate = x->pcm_rate, .channels = (uint8_t)x->pcm_ch,
			.pcm_kind = (uint8_t)kind, .tsc = now, .len = (uint32_t)(n * x->pcm_ch * sizeof(int16_t)),
		};

		mx_tap_put(t, &f, pcm);
		pcm += n * x->pcm_ch;
		samples -= n;
	}
}

static void send_pkts(struct mx_xcode *x, int n)
{
	struct dp_rtp_frame o[CDC_CHAIN_MAX_OUT];
	struct mx_tap *t = x->cur[MX_TAP_RTP_OUT];

	for (int i = 0; i < n; i++) {
		o[i] = (struct dp_rtp_frame){
			.pt = pk[i].pt, .marker = pk[i].marker, .seq = x->seq++, .ts = pk[i].ts + x->ts_base,
			.ssrc = x->ssrc, .payload = pk[i].payload, .len = pk[i].len,
		};
		if (t) {
			uint8_t h[12];
			struct mx_tap_frame f = { .kind = MX_TAP_RTP_OUT, .rate = x->out_rate, .tsc = rte_rdtsc(),
						  .len = (uint32_t)(sizeof(h) + o[i].len) };

			dp_rtp_frame_header(&o[i], h);

			mx_tap_putv(t, &f, h, sizeof(h), o[i].payload);
		}
	}
	x->sent += dp_leg_send(x->out, o, (unsigned)n);
}

/* Decode, convert and send what the jitter buffer says is due at now. */
static void play_due(struct mx_xcode *x, uint32_t now)
{
	struct dp_rtp_frame p;

	x->cur[0] = atomic_load_explicit(&x->tap[0], memory_order_acquire);
	x->cur[1] = atomic_load_explicit(&x->tap[1], memory_order_acquire);
	while (mx_jb_pop(x->jb, now, &p)) {
		int n = cdc_chain_push(x->ch, p.pt, p.ts, p.marker, p.payload, p.len, pk);

		if (n > 0)
			send_pkts(x, n);
	}
}

static void tick(void *ctx, uint64_t n_tick, uint64_t deadline_ns)
{
	struct mx_xcode *x = ctx;

	(void)n_tick;
	(void)deadline_ns;
	x->ticks++;
	play_due(x, clk(x, rte_rdtsc()));
}

/* Largest payload the buffer keeps per packet: 120 ms of G.711/G.722, an
 * MTU for the rest. */
static uint16_t max_payload(const struct cdc_format *f)
{
	return f->codec == CDC_PCMU || f->codec == CDC_PCMA || f->codec == CDC_G722 ? 960 : 1500;
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
	bool dflt = !c->jb_min_ms && !c->jb_max_ms;
	struct mx_jb_conf jc = {
		.clock_rate = c->chain.in.clock_rate,
		.min_ms = dflt ? conf.jb_min_ms : c->jb_min_ms,
		.max_ms = dflt ? conf.jb_max_ms : c->jb_max_ms,
		.start_ms = MX_JB_START_MS_DEFAULT,
		.slots = MX_JB_SLOTS_DEFAULT,
		.max_payload = max_payload(&c->chain.in),
	};
	size_t jsz = mx_jb_memsize(&jc);
	struct mx_xcode *x;
	int e = -EINVAL;

	if (!in || !out || !jsz)
		goto fail;
	e = -ENOMEM;
	if (!(x = calloc(1, sizeof(*x) + jsz)))
		goto fail;
	x->in = in;
	x->out = out;
	x->jb = mx_jb_init(x->jb_mem, &jc);
	x->ch = cdc_chain_create(&c->chain);
	if (!x->ch) {
		free(x);
		e = -EINVAL;
		goto fail;
	}
	x->in_rate = c->chain.in.clock_rate;
	x->out_rate = c->chain.out.clock_rate;
	x->pcm_rate = cdc_chain_pcm_rate(x->ch, &x->pcm_ch);
	x->te_pt = c->chain.in_te_pt;
	x->tsc_hz = rte_get_tsc_hz();
	x->tsc0 = rte_rdtsc();
	x->ssrc = (uint32_t)rte_rand();
	x->ts_base = (uint32_t)rte_rand();
	x->seq = (uint16_t)rte_rand();
	cdc_chain_set_pcm_tap(x->ch, on_pcm, x);
	x->ticker = dp_ticker_add(dp_leg_call(in), tick, x, &e);
	if (!x->ticker)
		goto fail_x;
	e = dp_leg_set_hook(in, sink, x);
	if (e)
		goto fail_x;
	return x;
fail_x:
	dp_ticker_remove(x->ticker);
	cdc_chain_destroy(x->ch);
	free(x);
fail:
	if (err)
		*err = e;
	return NULL;
}

void mx_xcode_destroy(struct mx_xcode *x)
{
	if (!x)
		return;
	dp_leg_set_hook(x->in, NULL, NULL); /* no more packets into the buffer */
	dp_ticker_remove(x->ticker);        /* no tick runs after this */
	cdc_chain_destroy(x->ch);
	for (int k = 0; k < 2; k++)
		mx_tap_destroy(atomic_load_explicit(&x->tap[k], memory_order_relaxed));
	for (unsigned i = 0; i < x->n_retired; i++)
		mx_tap_destroy(x->retired[i]);
	free(x);
}

int mx_xcode_play_dtmf(struct mx_xcode *x, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	return x ? cdc_chain_play_dtmf(x->ch, event, duration_ms, volume) : -EINVAL;
}

int mx_xcode_set_dtmf_mask(struct mx_xcode *x, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	return x ? cdc_chain_set_dtmf_mask(x->ch, mode, freq_hz) : -EINVAL;
}

void mx_xcode_get_stats(const struct mx_xcode *x, struct mx_xcode_stats *out)
{
	cdc_chain_get_stats(x->ch, &out->chain);
	mx_jb_get_stats(x->jb, &out->jb);
	out->ticks = x->ticks;
	out->sent = x->sent;
}

int mx_xcode_set_tap(struct mx_xcode *x, enum mx_tap_kind kind, struct mx_tap *t)
{
	struct mx_tap *old;

	if (!x || (kind != MX_TAP_PCM_IN && kind != MX_TAP_RTP_OUT))
		return -EINVAL;
	old = atomic_load_explicit(&x->tap[kind], memory_order_relaxed);
	if (old == t)
		return 0;
	if (old && x->n_retired == MAX_RETIRED)
		return -EBUSY;
	atomic_store_explicit(&x->tap[kind], t, memory_order_release);
	if (old)
		x->retired[x->n_retired++] = old;
	return 0;
}

uint32_t mx_xcode_pcm_rate(const struct mx_xcode *x, unsigned *channels)
{
	if (channels)
		*channels = x->pcm_ch;
	return x->pcm_rate;
}
