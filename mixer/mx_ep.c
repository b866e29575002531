/* SPDX-License-Identifier: MIT
 * mx_ep: media endpoints, a terminated leg's way in and way out (see mx.h).
 *
 * Way in, on the worker: the leg's hook (sink) puts each packet into the
 * jitter buffer with its arrival time in the input clock. On every tick
 * the buffer plays what is due into the decode half (cdc_src), which hands
 * PCM and events to the endpoint's consumer; then, where the endpoint
 * asks for it, the clock conceals what should have played and did not
 * come (whole frames, as the buffer would give them up: once the packet
 * after them is due), and tells the buffer, so that a packet coming after
 * its audio was made up is late, not played twice.
 *
 * Way out: PCM and events go into the encode half (cdc_sink); its packets
 * leave through dp_leg_send with the endpoint's own SSRC, sequence and a
 * random timestamp base.
 */
#include "mx_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_random.h>

/* ---- the way in ---- */

struct mx_ep_in {
	struct dp_leg *leg;
	struct cdc_src *src;
	struct mx_jb *jb;
	uint32_t in_rate, pcm_rate;
	unsigned pcm_ch;
	int te_pt;
	uint64_t tsc_hz, tsc0;
	bool conceal_on_clock;
	uint64_t jb_resets;     /* the buffer's restarts seen so far */
	void (*unhooked)(void *ctx); /* mx_ep_in_unhook_deferred's callback */
	void *unhooked_ctx;
	struct mx_tap_slot tap; /* MX_TAP_PCM_IN */
	uint64_t clock_fills;
	uint8_t level_id;       /* RFC 6464 extmap id; 0: levels are not looked at */
	int quiet;              /* mx_ep_in_set_quiet's */
	bool due_valid;         /* the buffer's due timestamp at the last tick */
	uint32_t due;
	struct cdc_src_out o;   /* the consumer, behind the gate's discard (levels only) */
	struct mx_level_gate gate;
	uint64_t level_packets, level_malformed;
	_Alignas(8) uint8_t jb_mem[]; /* then the gate's warm-up packets (levels only) */
};

/* The input clock at TSC t (wrapping at 32 bits). */
static uint32_t clk(const struct mx_ep_in *e, uint64_t t)
{
	return (uint32_t)((unsigned __int128)(t - e->tsc0) * e->in_rate / e->tsc_hz);
}

/* Play what is due at now; conceal what the clock says is missing. */
static void play(struct mx_ep_in *e, uint32_t now)
{
	struct dp_rtp_frame p;
	uint32_t due, next;

	int level;

	mx_tap_slot_load(&e->tap);
	while (mx_jb_pop_level(e->jb, now, &p, &level)) {
		uint64_t resets = mx_jb_resets(e->jb);

		if (resets != e->jb_resets) { /* a new stream: a new timeline */
			e->jb_resets = resets;
			cdc_src_restart(e->src);
		}
		if (e->level_id)
			mx_level_gate_push(&e->gate, &p, level, e->quiet);
		else
			cdc_src_push(e->src, p.pt, p.ts, p.marker, p.payload, p.len);
	}
	e->due_valid = mx_jb_due_ts(e->jb, now, &due);
	e->due = due;
	if (e->conceal_on_clock && e->due_valid && !e->gate.skipping && cdc_src_fill_to(e->src, due)) {
		e->clock_fills++;
		cdc_src_started(e->src, &next);
		mx_jb_set_floor(e->jb, next);
	}
}

static void sink(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc)
{
	struct mx_ep_in *e = ctx;
	uint32_t now = clk(e, arrival_tsc);
	int level = -1;

	if (e->level_id) {
		bool bad;

		level = mx_level_parse(p, e->level_id, &bad);
		e->level_malformed += bad;
		e->level_packets += level >= 0;
	}
	if (mx_jb_put_level(e->jb, p, now, (int)p->pt != e->te_pt, level) == -ENOBUFS) {
		/* the worker fell behind its ticks: what is due goes out now */
		play(e, now);
		mx_jb_put_level(e->jb, p, now, (int)p->pt != e->te_pt, level);
	}
}

/* With levels, the decode half's output passes here: warm-up PCM stops. */
static void gate_pcm(void *ctx, const int16_t *pcm, size_t samples)
{
	struct mx_ep_in *e = ctx;

	if (!e->gate.discard)
		e->o.pcm(e->o.ctx, pcm, samples);
}
static void gate_event(void *ctx, const struct cdc_ev *ev)
{
	struct mx_ep_in *e = ctx;

	e->o.event(e->o.ctx, ev);
}
static bool gate_busy(void *ctx)
{
	struct mx_ep_in *e = ctx;

	return e->o.busy(e->o.ctx);
}

/* The decoded audio, into the PCM tap in frames of at most 20 ms. */
static void on_pcm(void *ctx, const int16_t *pcm, size_t samples, enum cdc_pcm_kind kind)
{
	struct mx_ep_in *e = ctx;
	struct mx_tap *t = e->tap.cur;
	size_t step = e->pcm_rate / 50u;
	uint64_t now;

	if (!t || e->gate.discard)
		return;
	now = rte_rdtsc();
	while (samples) {
		size_t n = samples < step ? samples : step;
		struct mx_tap_frame f = {
			.kind = MX_TAP_PCM_IN, .rate = e->pcm_rate, .channels = (uint8_t)e->pcm_ch,
			.pcm_kind = (uint8_t)kind, .tsc = now, .len = (uint32_t)(n * e->pcm_ch * sizeof(int16_t)),
		};

		mx_tap_put(t, &f, pcm);
		pcm += n * e->pcm_ch;
		samples -= n;
	}
}

/* Largest payload the buffer keeps per packet: 120 ms of G.711/G.722, an
 * MTU for the rest. */
static uint16_t max_payload(const struct cdc_format *f)
{
	return f->codec == CDC_PCMU || f->codec == CDC_PCMA || f->codec == CDC_G722 ? 960 : 1500;
}

struct mx_ep_in *mx_ep_in_create(struct dp_leg *leg, const struct mx_ep_in_conf *c,
				 const struct cdc_src_out *o, int *err)
{
	struct mx_conf g;
	bool dflt = !c->jb_min_ms && !c->jb_max_ms;
	struct mx_jb_conf jc;
	struct mx_ep_in *e;
	size_t jsz;
	unsigned warm_ms;
	int rc = -EINVAL;

	mx_conf_get(&g);
	jc = (struct mx_jb_conf){
		.clock_rate = c->src.in.clock_rate,
		.min_ms = dflt ? g.jb_min_ms : c->jb_min_ms,
		.max_ms = dflt ? g.jb_max_ms : c->jb_max_ms,
		.start_ms = MX_JB_START_MS_DEFAULT,
		.slots = MX_JB_SLOTS_DEFAULT,
		.max_payload = max_payload(&c->src.in),
	};
	jsz = mx_jb_memsize(&jc);
	if (!leg || !jsz || !o)
		goto fail;
	rc = -ENOMEM;
	warm_ms = c->level_ext_id ? mx_level_warm_ms(&c->src.in) : 0;
	if (!(e = calloc(1, sizeof(*e) + jsz + mx_level_warm_memsize(warm_ms, jc.max_payload))))
		goto fail;
	e->leg = leg;
	e->jb = mx_jb_init(e->jb_mem, &jc);
	e->level_id = c->level_ext_id;
	e->quiet = -1;
	e->o = *o;
	if (e->level_id) /* the consumer behind the gate's discard */
		e->src = cdc_src_create(&c->src, &(struct cdc_src_out){ gate_pcm, gate_event,
									 o->busy ? gate_busy : NULL, e });
	else
		e->src = cdc_src_create(&c->src, o);
	if (!e->src) {
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL; /* cdc_src_create says which */
		free(e);
		goto fail;
	}
	mx_level_gate_init(&e->gate, e->src, c->src.in_pt, c->src.in.clock_rate, warm_ms,
			   warm_ms ? e->jb_mem + jsz : NULL, jc.max_payload);
	e->in_rate = c->src.in.clock_rate;
	e->pcm_rate = cdc_src_pcm_rate(e->src, &e->pcm_ch);
	e->te_pt = c->src.in_te_pt;
	e->conceal_on_clock = c->conceal_on_clock;
	e->tsc_hz = rte_get_tsc_hz();
	e->tsc0 = rte_rdtsc();
	cdc_src_set_pcm_tap(e->src, on_pcm, e);
	rc = dp_leg_set_hook_deferred(leg, sink, e, NULL); /* no hook before: nothing to release */
	if (rc) {
		cdc_src_destroy(e->src);
		free(e);
		goto fail;
	}
	return e;
fail:
	if (err)
		*err = rc;
	return NULL;
}

void mx_ep_in_unhook(struct mx_ep_in *e)
{
	if (e)
		dp_leg_set_hook(e->leg, NULL, NULL); /* waits: no packet reaches e after this */
}

static void unhooked(void *ctx)
{
	struct mx_ep_in *e = ctx;

	if (e->unhooked)
		e->unhooked(e->unhooked_ctx);
}

int mx_ep_in_unhook_deferred(struct mx_ep_in *e, void (*fn)(void *ctx), void *ctx)
{
	e->unhooked = fn;
	e->unhooked_ctx = ctx;
	return dp_leg_set_hook_deferred(e->leg, NULL, NULL, fn ? unhooked : NULL);
}

void mx_ep_in_destroy(struct mx_ep_in *e)
{
	mx_ep_in_unhook(e);
	mx_ep_in_free(e);
}

void mx_ep_in_free(struct mx_ep_in *e)
{
	if (!e)
		return;
	cdc_src_destroy(e->src);
	mx_tap_slot_fini(&e->tap);
	free(e);
}

void mx_ep_in_tick(struct mx_ep_in *e, uint64_t now_tsc)
{
	play(e, clk(e, now_tsc));
}

void mx_ep_in_get_stats(const struct mx_ep_in *e, struct mx_ep_in_stats *out)
{
	memset(out, 0, sizeof(*out));
	mx_jb_get_stats(e->jb, &out->jb);
	cdc_src_get_stats(e->src, &out->src);
	out->clock_fills = e->clock_fills;
	out->level_packets = e->level_packets;
	out->level_malformed = e->level_malformed;
	out->level_skipped = e->gate.skipped;
	out->level_resumes = e->gate.resumes;
	out->level_warm_decoded = e->gate.warm_decoded;
}

void mx_ep_in_set_quiet(struct mx_ep_in *e, int quiet)
{
	e->quiet = quiet;
}

int mx_ep_in_level(const struct mx_ep_in *e, bool *skipped)
{
	*skipped = false;
	if (!e->level_id || !e->due_valid)
		return -1;
	return mx_level_gate_level(&e->gate, e->due, skipped);
}

int mx_ep_in_set_tap(struct mx_ep_in *e, struct mx_tap *t)
{
	return e ? mx_tap_slot_set(&e->tap, t) : -EINVAL;
}

uint32_t mx_ep_in_pcm_rate(const struct mx_ep_in *e, unsigned *channels)
{
	if (channels)
		*channels = e->pcm_ch;
	return e->pcm_rate;
}

int mx_ep_in_set_dtmf_mask(struct mx_ep_in *e, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	return e ? cdc_src_set_dtmf_mask(e->src, mode, freq_hz) : -EINVAL;
}

/* ---- the way out ---- */

struct mx_ep_out {
	struct dp_leg *leg;
	struct cdc_sink *sink;
	uint32_t out_rate;
	uint32_t ssrc, ts_base;
	uint16_t seq;
	uint32_t cursor, step;  /* clocked sending: the next frame's timestamp, a frame's length */
	bool gap;               /* clocked: frames were skipped, the next packet has the marker */
	struct mx_tap_slot tap; /* MX_TAP_RTP_OUT */
	uint64_t sent;
};

/* Scratch for the encode half's packets: one per worker thread, used
 * within one write. */
static _Thread_local struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];

struct mx_ep_out *mx_ep_out_create(struct dp_leg *leg, const struct cdc_sink_conf *c, int *err)
{
	struct mx_ep_out *o;

	if (!leg || !(o = calloc(1, sizeof(*o)))) {
		if (err)
			*err = leg ? -ENOMEM : -EINVAL;
		return NULL;
	}
	o->leg = leg;
	o->sink = cdc_sink_create(c);
	if (!o->sink) {
		if (err)
			*err = errno == ENOMEM ? -ENOMEM : -EINVAL; /* cdc_sink_create says which */
		free(o);
		return NULL;
	}
	o->out_rate = c->out.clock_rate;
	o->step = cdc_frame_ts(&c->out, c->out_ptime);
	o->gap = true;
	o->ssrc = (uint32_t)rte_rand();
	o->ts_base = (uint32_t)rte_rand();
	o->seq = (uint16_t)rte_rand();
	return o;
}

void mx_ep_out_destroy(struct mx_ep_out *o)
{
	if (!o)
		return;
	cdc_sink_destroy(o->sink);
	mx_tap_slot_fini(&o->tap);
	free(o);
}

/* Send n packets; with clocked, the timestamps are the endpoint's own
 * cursor (one frame of its ptime a packet) instead of the encoder's. */
static void send_out(struct mx_ep_out *o, const struct cdc_pkt *pk, int n, bool clocked)
{
	struct dp_rtp_frame f[CDC_CHAIN_MAX_OUT];
	struct mx_tap *t = o->tap.cur;

	for (int i = 0; i < n; i++) {
		f[i] = (struct dp_rtp_frame){
			.pt = pk[i].pt, .marker = pk[i].marker || (clocked && o->gap), .seq = o->seq++,
			.ts = (clocked ? o->cursor : pk[i].ts) + o->ts_base,
			.ssrc = o->ssrc, .payload = pk[i].payload, .len = pk[i].len,
		};
		if (clocked) {
			o->cursor += o->step;
			o->gap = false;
		}
		if (t) {
			uint8_t h[12];
			struct mx_tap_frame tf = { .kind = MX_TAP_RTP_OUT, .rate = o->out_rate, .tsc = rte_rdtsc(),
						   .len = (uint32_t)(sizeof(h) + f[i].len) };

			dp_rtp_frame_header(&f[i], h);
			mx_tap_putv(t, &tf, h, sizeof(h), f[i].payload);
		}
	}
	if (n > 0)
		o->sent += dp_leg_send(o->leg, f, (unsigned)n);
}

static void send_pkts(struct mx_ep_out *o, int n)
{
	send_out(o, pk, n, false);
}

int mx_ep_out_encode(struct mx_ep_out *o, const int16_t *pcm, size_t samples, struct cdc_pkt *out)
{
	return cdc_sink_write(o->sink, pcm, samples, out, 0);
}

unsigned mx_ep_out_prime_frames(const struct mx_ep_out *o)
{
	return cdc_sink_prime_frames(o->sink);
}

void mx_ep_out_send_frames(struct mx_ep_out *o, const struct cdc_pkt *p, int n)
{
	send_out(o, p, n, true);
}

void mx_ep_out_skip_frame(struct mx_ep_out *o)
{
	o->cursor += o->step;
	o->gap = true;
}

void mx_ep_out_begin(struct mx_ep_out *o)
{
	mx_tap_slot_load(&o->tap);
	cdc_sink_take_requests(o->sink);
}

void mx_ep_out_write(struct mx_ep_out *o, const int16_t *pcm, size_t samples)
{
	send_pkts(o, cdc_sink_write(o->sink, pcm, samples, pk, 0));
}

void mx_ep_out_event(struct mx_ep_out *o, const struct cdc_ev *ev)
{
	send_pkts(o, cdc_sink_event(o->sink, ev, pk, 0));
}

static void feed_pcm(void *ctx, const int16_t *pcm, size_t samples) { mx_ep_out_write(ctx, pcm, samples); }
static void feed_event(void *ctx, const struct cdc_ev *ev) { mx_ep_out_event(ctx, ev); }
static bool feed_busy(void *ctx) { return cdc_sink_busy(((struct mx_ep_out *)ctx)->sink); }

struct cdc_src_out mx_ep_out_feed(struct mx_ep_out *o)
{
	return (struct cdc_src_out){ feed_pcm, feed_event, feed_busy, o };
}

int mx_ep_out_play_dtmf(struct mx_ep_out *o, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	return o ? cdc_sink_play_dtmf(o->sink, event, duration_ms, volume) : -EINVAL;
}

void mx_ep_out_get_stats(const struct mx_ep_out *o, struct mx_ep_out_stats *out)
{
	memset(out, 0, sizeof(*out));
	cdc_sink_get_stats(o->sink, &out->sink);
	out->sent = o->sent;
}

int mx_ep_out_set_tap(struct mx_ep_out *o, struct mx_tap *t)
{
	return o ? mx_tap_slot_set(&o->tap, t) : -EINVAL;
}
