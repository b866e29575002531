/* SPDX-License-Identifier: MIT
 * mx_room: a conference room on the media engine (see mx.h).
 *
 * Each participant is a terminated leg: its way in (mx_ep_in, concealing
 * on the clock) decodes into a small FIFO at the room's rate; on every
 * tick of the room's ticker the room takes one frame from each FIFO into
 * its mixing core (mx_mixer), runs it, and writes each participant's
 * output into its way out (mx_ep_out).
 *
 * Shared encoding: participants whose encoders would be set up alike
 * (same codec, payload types, options, and a ptime of one room frame)
 * form a group with one encoder of its own. Every tick the group encodes
 * the room's common mix once, and each member that hears the common mix
 * sends those packets under its own SSRC, sequence and timestamps
 * (mx_ep_out_send_frames). A member that hears something else (a talker's
 * N-1, a whisper) encodes with its own encoder. An encoder that sat out a
 * tick is first given the common mix it missed, as much as its codec
 * wants (cdc_sink_prime_frames; encoded, not sent), so its state is close
 * to the one the receiver's decoder followed, and the switch does not
 * click.
 *
 * The control lcore never touches what the worker runs. It prepares a
 * participant (endpoints, FIFO), then hands the room requests through a
 * single-producer single-consumer queue of fixed slots (`ops`): the
 * worker applies them at the start of a tick and publishes how far it got
 * (`done`, release, at the end of the tick). A participant that leaves
 * has its LEAVE queued and its hook cleared without waiting; the control
 * lcore frees it once the hook's release ran (no packet reaches it) and
 * `done` shows the worker applied the LEAVE (no tick touches it).
 */
#include "mx_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#define OPS 64                /* requests in flight at most */
#define FIFO_FRAMES 8         /* a participant's decoded audio waiting for the mix */
#define KEEP_FRAMES 3         /* more than this waiting: the oldest are dropped (latency) */
#define GROUPS 32             /* shared encoders per room */

struct group {
	struct cdc_sink_conf key;
	struct cdc_sink *sink;
	unsigned refs;            /* control: members, leaving ones included until freed */
	bool used_now, fresh;     /* worker: encoded this tick; encoded the tick before */
	int n;
	struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];
};

enum op_kind { OP_JOIN, OP_LEAVE, OP_SET, OP_AUDIENCE, OP_PLAY, OP_STOP_PLAY };

struct op {
	enum op_kind kind;
	int pid;                  /* OP_PLAY, OP_STOP_PLAY: the player's slot */
	struct mx_mixer_part_opts opts;
	int n;                    /* OP_AUDIENCE: listeners, -1 for everyone */
	int listeners[16];
};

struct part {
	struct mx_room *r;
	int pid;                  /* its slot in r->p */
	struct mx_ep_in *in;
	struct mx_ep_out *out;
	int mid;                  /* mixer id (worker) */
	bool active;              /* joined and not left (worker) */
	uint64_t leave_op;        /* control: the LEAVE request's number, once queued */
	bool leaving;
	bool unhooked;            /* control: no packet can reach its way in any more */
	struct group *g;          /* its shared encoder, or NULL */
	bool own_fresh;           /* worker: its own encoder encoded the tick before */
	bool levels;              /* it sends RFC 6464 audio levels (an extmap id) */
	int16_t *fifo;            /* worker */
	size_t fifo_len, fifo_cap;
	_Atomic uint64_t dropped; /* samples dropped: FIFO full or too much waiting */
	_Atomic uint64_t frames_in, frames_absent, frames_shared, primes, frames_level, frames_quiet;
	_Atomic bool talker;
	_Atomic int level;
};

/* A playback: a player mixed like a deaf participant without a leg. */
struct play {
	struct mx_player *p;
	int id;                   /* what mx_room_play returned */
	int mid;                  /* mixer id (worker) */
	bool active;              /* worker: joined and playing */
	bool stop_posted;         /* control: a STOP_PLAY is queued, number stop_op */
	uint64_t stop_op;
	_Atomic bool ended;       /* worker, last: it no longer touches this slot */
};

#define PLAY_EVENTS 16

struct mx_room {
	struct mx_room_conf c;
	struct mx_mixer *mix;
	struct dp_ticker *ticker;
	struct dp_call *home;     /* its ticker's call: the room's worker is this call's */
	unsigned frame;
	struct part *p[MX_MIXER_MAX_PARTS]; /* control's; the worker reads an entry only to apply a request */
	struct part *act[MX_MIXER_MAX_PARTS]; /* the worker's: who is mixed */
	unsigned n_act;
	int pid_of[MX_MIXER_MAX_PARTS];       /* the worker's: mixer id -> participant id */
	struct group *groups[GROUPS];         /* control's */
	int16_t hist[2][MX_MIXER_MAX_FRAME];  /* worker: the last two ticks' common mix, oldest first */
	unsigned hist_n;                      /* how many of them are valid */
	struct op ops[OPS];
	_Atomic uint64_t head;    /* requests queued (control, release) */
	_Atomic uint64_t done;    /* requests applied (worker, release) */
	_Atomic uint64_t ticks;
	struct {                  /* talker events, worker -> control */
		struct mx_mixer_event ev[MX_MIXER_EVENTS];
		_Atomic uint64_t head, tail;
	} evq;
	struct mx_tap_slot tap;             /* the common mix, each tick (a room recording; MX_TAP_PCM_IN) */
	struct play *pl[MX_ROOM_PLAYERS];   /* control's; the worker reads an entry only to apply a request */
	struct play *pact[MX_ROOM_PLAYERS]; /* the worker's: who plays */
	unsigned n_pact;
	int next_play_id;                   /* control */
	struct {                  /* playbacks that ended, worker -> control */
		struct mx_room_play_event ev[PLAY_EVENTS];
		_Atomic uint64_t head, tail;
	} pq;
};

/* ---- the worker side ---- */

/* Scratch for a participant's own encoder: one per worker thread. */
static _Thread_local struct cdc_pkt scratch[CDC_CHAIN_MAX_OUT];

static void fifo_pcm(void *ctx, const int16_t *pcm, size_t n)
{
	struct part *p = ctx;
	size_t room = p->fifo_cap - p->fifo_len, k = n < room ? n : room;

	memcpy(p->fifo + p->fifo_len, pcm, k * sizeof(int16_t));
	p->fifo_len += k;
	if (k < n)
		atomic_fetch_add_explicit(&p->dropped, n - k, memory_order_relaxed);
}

static void fifo_event(void *ctx, const struct cdc_ev *ev)
{
	(void)ctx; /* DTMF and CN from a participant are not mixed */
	(void)ev;
}

static void publish_events(struct mx_room *r)
{
	struct mx_mixer_event e;

	while (mx_mixer_next_event(r->mix, &e)) {
		uint64_t h = atomic_load_explicit(&r->evq.head, memory_order_relaxed);

		if (h - atomic_load_explicit(&r->evq.tail, memory_order_acquire) == MX_MIXER_EVENTS)
			continue; /* nobody reads them: the newest are dropped */
		e.id = r->pid_of[e.id];
		r->evq.ev[h % MX_MIXER_EVENTS] = e;
		atomic_store_explicit(&r->evq.head, h + 1, memory_order_release);
	}
}

/* The playback ends (worker): out of the mix, an event, and the slot is
 * control's again. */
static void play_end(struct mx_room *r, struct play *pl, bool stopped)
{
	uint64_t h = atomic_load_explicit(&r->pq.head, memory_order_relaxed);

	if (pl->active) {
		mx_mixer_leave(r->mix, pl->mid);
		for (unsigned k = 0; k < r->n_pact; k++)
			if (r->pact[k] == pl)
				r->pact[k] = r->pact[--r->n_pact];
	}
	pl->active = false;
	if (h - atomic_load_explicit(&r->pq.tail, memory_order_acquire) < PLAY_EVENTS) {
		r->pq.ev[h % PLAY_EVENTS] = (struct mx_room_play_event){
			.id = pl->id, .stopped = stopped, .played_ms = mx_player_played_ms(pl->p),
			.frame = atomic_load_explicit(&r->ticks, memory_order_relaxed),
		};
		atomic_store_explicit(&r->pq.head, h + 1, memory_order_release);
	}
	atomic_store_explicit(&pl->ended, true, memory_order_release);
}

static void apply_play(struct mx_room *r, const struct op *o)
{
	struct play *pl = r->pl[o->pid];

	if (o->kind == OP_STOP_PLAY) {
		if (!atomic_load_explicit(&pl->ended, memory_order_relaxed))
			play_end(r, pl, true);
		return;
	}
	pl->mid = mx_mixer_join(r->mix);
	if (pl->mid < 0) {
		play_end(r, pl, true); /* no slot in the mixer after all */
		return;
	}
	mx_mixer_set(r->mix, pl->mid, &(struct mx_mixer_part_opts){ .deaf = true, .gain = MX_GAIN_UNITY });
	mx_mixer_set_always(r->mix, pl->mid, true);
	pl->active = true;
	r->pact[r->n_pact++] = pl;
}

static void apply(struct mx_room *r, const struct op *o)
{
	struct part *p;

	if (o->kind == OP_PLAY || o->kind == OP_STOP_PLAY) {
		apply_play(r, o);
		return;
	}
	p = r->p[o->pid];

	switch (o->kind) {
	case OP_JOIN:
		p->mid = mx_mixer_join(r->mix);
		p->active = p->mid >= 0;
		if (p->active) {
			r->act[r->n_act++] = p;
			r->pid_of[p->mid] = p->pid;
		}
		break;
	case OP_LEAVE:
		if (p->active) {
			mx_mixer_leave(r->mix, p->mid);
			publish_events(r); /* its stop event, before a join reuses its mixer id */
			for (unsigned k = 0; k < r->n_act; k++)
				if (r->act[k] == p)
					r->act[k] = r->act[--r->n_act];
		}
		p->active = false;
		break;
	case OP_SET:
		if (p->active)
			mx_mixer_set(r->mix, p->mid, &o->opts);
		break;
	case OP_AUDIENCE:
		if (p->active) {
			int mids[16];

			for (int k = 0; k < o->n; k++)
				mids[k] = r->p[o->listeners[k]]->mid;
			mx_mixer_set_audience(r->mix, p->mid, mids, o->n);
		}
		break;
	case OP_PLAY:
	case OP_STOP_PLAY:
		break; /* apply_play's */
	}
}

/* Give an encoder (a group's sink, or a participant's own) the common mix
 * it missed, as much as its codec wants; the packets are thrown away.
 * Returns true when it primed. */
static bool prime(struct mx_room *r, struct cdc_sink *gs, struct mx_ep_out *own)
{
	unsigned want = gs ? cdc_sink_prime_frames(gs) : mx_ep_out_prime_frames(own);

	if (want > r->hist_n)
		want = r->hist_n;
	for (unsigned k = 2 - want; k < 2; k++) {
		if (gs)
			cdc_sink_write(gs, r->hist[k], r->frame, scratch, 0);
		else
			mx_ep_out_encode(own, r->hist[k], r->frame, scratch);
	}
	return want > 0;
}

static void tick(void *ctx, uint64_t n_tick, uint64_t deadline_ns)
{
	struct mx_room *r = ctx;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t d = atomic_load_explicit(&r->done, memory_order_relaxed), now = rte_rdtsc();

	(void)n_tick;
	(void)deadline_ns;
	for (; d < head; d++)
		apply(r, &r->ops[d % OPS]);
	for (unsigned i = 0; i < r->n_act; i++) {
		struct part *p = r->act[i];

		bool quiet = false;
		int level = -1;

		mx_ep_out_begin(p->out);
		if (p->levels) /* audio its levels say is not speech, nor needed by a talker, is not decoded */
			mx_ep_in_set_quiet(p->in, mx_mixer_is_talker(r->mix, p->mid) ? -1
							: mx_mixer_quiet_level(r->mix, p->mid));
		mx_ep_in_tick(p->in, now);
		if (p->levels)
			level = mx_ep_in_level(p->in, &quiet);
		if (p->fifo_len > (size_t)KEEP_FRAMES * r->frame) { /* catch up: the oldest go */
			size_t drop = p->fifo_len - (size_t)KEEP_FRAMES * r->frame;

			memmove(p->fifo, p->fifo + drop, (p->fifo_len - drop) * sizeof(int16_t));
			p->fifo_len -= drop;
			atomic_fetch_add_explicit(&p->dropped, drop, memory_order_relaxed);
		}
		if (p->fifo_len >= r->frame) {
			memcpy(mx_mixer_input(r->mix, p->mid), p->fifo, r->frame * sizeof(int16_t));
			p->fifo_len -= r->frame;
			memmove(p->fifo, p->fifo + r->frame, p->fifo_len * sizeof(int16_t));
			mx_mixer_input_done(r->mix, p->mid, true, level);
			atomic_fetch_add_explicit(&p->frames_in, 1, memory_order_relaxed);
			if (level >= 0)
				atomic_fetch_add_explicit(&p->frames_level, 1, memory_order_relaxed);
		} else if (level >= 0 && quiet) { /* not decoded: its level, no audio */
			mx_mixer_input_done(r->mix, p->mid, false, level);
			atomic_fetch_add_explicit(&p->frames_quiet, 1, memory_order_relaxed);
		} else {
			mx_mixer_input_done(r->mix, p->mid, false, -1);
			atomic_fetch_add_explicit(&p->frames_absent, 1, memory_order_relaxed);
		}
	}
	for (unsigned i = 0; i < r->n_pact; i++) { /* playback: a frame of the file each */
		struct play *pl = r->pact[i];
		size_t got = mx_player_read(pl->p, mx_mixer_input(r->mix, pl->mid), r->frame);

		if (!got && mx_player_done(pl->p)) {
			play_end(r, pl, false); /* played to the end */
			i--;
			continue;
		}
		mx_mixer_input_done(r->mix, pl->mid, got > 0, -1);
	}
	mx_mixer_run(r->mix);
	{
		struct mx_tap *t = mx_tap_slot_load(&r->tap);

		if (t) /* a copy of the common mix (a recording): a memcpy into the ring, never waits */
			mx_tap_put(t, &(struct mx_tap_frame){ .kind = MX_TAP_PCM_IN, .rate = r->c.mix.rate, .channels = 1,
							      .tsc = now, .len = r->frame * (uint32_t)sizeof(int16_t) },
				   mx_mixer_shared(r->mix));
	}
	for (unsigned i = 0; i < r->n_act; i++)
		if (r->act[i]->g)
			r->act[i]->g->used_now = false;
	for (unsigned i = 0; i < r->n_act; i++) {
		struct part *p = r->act[i];
		const int16_t *o;
		bool shared;

		atomic_store_explicit(&p->talker, mx_mixer_is_talker(r->mix, p->mid), memory_order_relaxed);
		atomic_store_explicit(&p->level, mx_mixer_level(r->mix, p->mid), memory_order_relaxed);
		o = mx_mixer_output(r->mix, p->mid, &shared);
		if (!p->g) { /* not in a group: its own encoder, its own framing */
			if (o)
				mx_ep_out_write(p->out, o, r->frame);
			continue;
		}
		if (!o) { /* deaf: time passes, nothing is sent */
			mx_ep_out_skip_frame(p->out);
			p->own_fresh = false;
			continue;
		}
		if (shared) {
			struct group *g = p->g;

			if (!g->used_now) {
				if (!g->fresh && prime(r, g->sink, NULL))
					atomic_fetch_add_explicit(&p->primes, 1, memory_order_relaxed);
				g->n = cdc_sink_write(g->sink, o, r->frame, g->pk, 0);
				g->used_now = true;
			}
			mx_ep_out_send_frames(p->out, g->pk, g->n);
			p->own_fresh = false;
			atomic_fetch_add_explicit(&p->frames_shared, 1, memory_order_relaxed);
		} else {
			int n;

			if (!p->own_fresh && prime(r, NULL, p->out))
				atomic_fetch_add_explicit(&p->primes, 1, memory_order_relaxed);
			n = mx_ep_out_encode(p->out, o, r->frame, scratch);
			mx_ep_out_send_frames(p->out, scratch, n);
			p->own_fresh = true;
		}
	}
	for (unsigned i = 0; i < r->n_act; i++)
		if (r->act[i]->g)
			r->act[i]->g->fresh = r->act[i]->g->used_now;
	memcpy(r->hist[0], r->hist[1], r->frame * sizeof(int16_t));
	memcpy(r->hist[1], mx_mixer_shared(r->mix), r->frame * sizeof(int16_t));
	if (r->hist_n < 2)
		r->hist_n++;
	publish_events(r);
	atomic_fetch_add_explicit(&r->ticks, 1, memory_order_relaxed);
	/* last: once control sees a LEAVE done, this tick no longer touches it */
	atomic_store_explicit(&r->done, d, memory_order_release);
}

/* ---- the control side ---- */

static bool same_format(const struct cdc_format *a, const struct cdc_format *b)
{
	return a->codec == b->codec && a->clock_rate == b->clock_rate && a->sample_rate == b->sample_rate &&
	       a->channels == b->channels && a->pcm_channels == b->pcm_channels &&
	       a->opus.maxplaybackrate == b->opus.maxplaybackrate &&
	       a->opus.maxaveragebitrate == b->opus.maxaveragebitrate && a->opus.stereo == b->opus.stereo &&
	       a->opus.useinbandfec == b->opus.useinbandfec && a->opus.usedtx == b->opus.usedtx &&
	       a->opus.cbr == b->opus.cbr;
}

/* Would encoders made from a and b produce the same packets from the same PCM? */
static bool same_sink(const struct cdc_sink_conf *a, const struct cdc_sink_conf *b)
{
	return same_format(&a->out, &b->out) && a->out_pt == b->out_pt && a->out_ptime == b->out_ptime &&
	       a->out_te_pt == b->out_te_pt && a->out_cn_pt == b->out_cn_pt &&
	       a->enc.complexity == b->enc.complexity && a->enc.bitrate == b->enc.bitrate &&
	       a->enc.fec == b->enc.fec && a->enc.dtx == b->enc.dtx &&
	       a->enc.packet_loss_pct == b->enc.packet_loss_pct && a->enc.app == b->enc.app &&
	       a->in_rate == b->in_rate && a->in_channels == b->in_channels &&
	       a->dtmf_from_inband == b->dtmf_from_inband && a->resample_quality == b->resample_quality;
}

/* The group for encoders like kc (made if need be), or NULL: a ptime
 * other than the room's frame is framed by the participant's own encoder. */
static struct group *group_get(struct mx_room *r, const struct cdc_sink_conf *kc)
{
	struct group *g;
	int free_slot = -1;

	if (kc->out_ptime != r->c.mix.frame_ms)
		return NULL;
	for (int i = 0; i < GROUPS; i++) {
		if (r->groups[i] && same_sink(&r->groups[i]->key, kc)) {
			r->groups[i]->refs++;
			return r->groups[i];
		}
		if (!r->groups[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0 || !(g = calloc(1, sizeof(*g))))
		return NULL; /* no room for another group: its own encoder will do */
	g->key = *kc;
	if (!(g->sink = cdc_sink_create(kc))) {
		free(g);
		return NULL;
	}
	g->refs = 1;
	r->groups[free_slot] = g;
	return g;
}

static void group_put(struct mx_room *r, struct group *g)
{
	if (!g || --g->refs)
		return;
	for (int i = 0; i < GROUPS; i++)
		if (r->groups[i] == g)
			r->groups[i] = NULL;
	cdc_sink_destroy(g->sink);
	free(g);
}

static void part_free(struct mx_room *r, struct part *p)
{
	if (!p)
		return;
	group_put(r, p->g);
	mx_ep_in_free(p->in);
	mx_ep_out_destroy(p->out);
	free(p->fifo);
	free(p);
}

/* Free the participants that left: their hook is gone and the worker
 * applied their LEAVE; and the playbacks that ended. */
static void reap(struct mx_room *r)
{
	uint64_t done = atomic_load_explicit(&r->done, memory_order_acquire);

	for (unsigned i = 0; i < MX_ROOM_PLAYERS; i++)
		if (r->pl[i] && atomic_load_explicit(&r->pl[i]->ended, memory_order_acquire) &&
		    (!r->pl[i]->stop_posted || r->pl[i]->stop_op < done)) { /* no request names it any more */
			mx_player_destroy(r->pl[i]->p);
			free(r->pl[i]);
			r->pl[i] = NULL;
		}
	for (unsigned i = 0; i < r->c.mix.max_parts; i++)
		if (r->p[i] && r->p[i]->leaving && r->p[i]->unhooked && r->p[i]->leave_op < done) {
			part_free(r, r->p[i]);
			r->p[i] = NULL;
		}
}

static int post(struct mx_room *r, const struct op *o, uint64_t *num)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	reap(r);
	if (h - atomic_load_explicit(&r->done, memory_order_acquire) >= OPS)
		return -EBUSY;
	r->ops[h % OPS] = *o;
	if (num)
		*num = h;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

struct mx_room *mx_room_create(struct dp_call *home, const struct mx_room_conf *c, int *err)
{
	struct mx_room *r;
	int e = -EINVAL;

	if (!home || mx_mixer_conf_check(&c->mix))
		goto fail;
	e = -ENOMEM;
	if (!(r = calloc(1, sizeof(*r))))
		goto fail;
	r->c = *c;
	r->mix = mx_mixer_create(&c->mix, NULL);
	if (!r->mix) {
		free(r);
		goto fail;
	}
	r->frame = mx_mixer_frame(r->mix);
	r->home = home;
	r->ticker = dp_ticker_add(home, tick, r, &e);
	if (!r->ticker) {
		mx_mixer_destroy(r->mix);
		free(r);
		goto fail;
	}
	return r;
fail:
	if (err)
		*err = e;
	return NULL;
}

/* Once no hook and no tick can run: every participant's hook was
 * cleared before the ticker's removal was posted, on the same worker. */
static void room_release(void *ctx)
{
	struct mx_room *r = ctx;

	for (unsigned i = 0; i < r->c.mix.max_parts; i++)
		part_free(r, r->p[i]);
	for (unsigned i = 0; i < MX_ROOM_PLAYERS; i++)
		if (r->pl[i]) {
			mx_player_destroy(r->pl[i]->p);
			free(r->pl[i]);
		}
	mx_mixer_destroy(r->mix);
	mx_tap_slot_fini(&r->tap);
	free(r);
}

int mx_room_set_tap(struct mx_room *r, struct mx_tap *t)
{
	return mx_tap_slot_set(&r->tap, t);
}

void mx_room_destroy(struct mx_room *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->c.mix.max_parts; i++)
		if (r->p[i] && !r->p[i]->leaving)
			mx_ep_in_unhook_deferred(r->p[i]->in, NULL, NULL);
	dp_ticker_remove_deferred(r->ticker, room_release);
}

int mx_room_join(struct mx_room *r, struct dp_leg *leg, const struct mx_room_part_conf *pc, int *err)
{
	struct mx_ep_in_conf ic = { .src = pc->in, .jb_min_ms = pc->jb_min_ms, .jb_max_ms = pc->jb_max_ms,
				    .conceal_on_clock = true, .level_ext_id = pc->level_ext_id };
	struct cdc_sink_conf kc = pc->out;
	struct cdc_src_out feed;
	struct part *p = NULL;
	unsigned slot;
	int e = -EINVAL;

	reap(r);
	if (!leg)
		goto fail;
	if (dp_call_lcore(dp_leg_call(leg)) != dp_call_lcore(r->home)) {
		e = -EXDEV; /* the caller places the leg's call with the room first */
		goto fail;
	}
	for (slot = 0; slot < r->c.mix.max_parts && r->p[slot]; slot++)
		;
	e = -ENOSPC;
	if (slot == r->c.mix.max_parts)
		goto fail;
	e = -ENOMEM;
	if (!(p = calloc(1, sizeof(*p))))
		goto fail;
	p->r = r;
	p->pid = (int)slot;
	p->levels = pc->level_ext_id != 0;
	p->fifo_cap = (size_t)r->frame * FIFO_FRAMES;
	if (!(p->fifo = calloc(p->fifo_cap, sizeof(int16_t))))
		goto fail;
	ic.src.out_rate = r->c.mix.rate;
	ic.src.out_channels = 1;
	kc.in_rate = r->c.mix.rate;
	kc.in_channels = 1;
	if (!(p->out = mx_ep_out_create(leg, &kc, &e)))
		goto fail;
	p->g = group_get(r, &kc);
	feed = (struct cdc_src_out){ fifo_pcm, fifo_event, NULL, p };
	r->p[slot] = p; /* before the hook: the worker may write the FIFO from now on */
	if (!(p->in = mx_ep_in_create(leg, &ic, &feed, &e))) {
		r->p[slot] = NULL;
		goto fail;
	}
	if ((e = post(r, &(struct op){ .kind = OP_JOIN, .pid = (int)slot }, NULL))) {
		mx_ep_in_unhook(p->in); /* waits: a rare path (too many requests in flight) */
		r->p[slot] = NULL;
		goto fail;
	}
	return (int)slot;
fail:
	part_free(r, p);
	if (err)
		*err = e;
	return e;
}

static struct part *part(struct mx_room *r, int pid)
{
	if (pid < 0 || pid >= MX_MIXER_MAX_PARTS || !r->p[pid] || r->p[pid]->leaving)
		return NULL;
	return r->p[pid];
}

static void part_unhooked(void *ctx)
{
	struct part *p = ctx;

	p->unhooked = true;
	reap(p->r);
}

int mx_room_leave(struct mx_room *r, int pid)
{
	struct part *p = part(r, pid);
	uint64_t num;
	int e;

	if (!p)
		return -ENOENT;
	e = post(r, &(struct op){ .kind = OP_LEAVE, .pid = pid }, &num);
	if (e)
		return e; /* -EBUSY: nothing changed, leave again later */
	p->leave_op = num;
	p->leaving = true;
	return mx_ep_in_unhook_deferred(p->in, part_unhooked, p);
}

int mx_room_set(struct mx_room *r, int pid, const struct mx_mixer_part_opts *o)
{
	if (!part(r, pid))
		return -ENOENT;
	if (o->gain < 0 || o->gain > MX_GAIN_MAX)
		return -EINVAL;
	return post(r, &(struct op){ .kind = OP_SET, .pid = pid, .opts = *o }, NULL);
}

int mx_room_set_audience(struct mx_room *r, int speaker, const int *listeners, int n)
{
	struct op o = { .kind = OP_AUDIENCE, .pid = speaker, .n = n < 0 ? -1 : n };

	if (!part(r, speaker))
		return -ENOENT;
	if (n > 16)
		return -EINVAL;
	for (int k = 0; k < n; k++) {
		if (!part(r, listeners[k]) || listeners[k] == speaker)
			return -EINVAL;
		o.listeners[k] = listeners[k];
	}
	return post(r, &o, NULL);
}

int mx_room_get_stats(struct mx_room *r, int pid, struct mx_room_part_stats *out)
{
	struct part *p = part(r, pid);

	if (!p)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	mx_ep_in_get_stats(p->in, &out->in);
	mx_ep_out_get_stats(p->out, &out->out);
	out->frames_in = atomic_load_explicit(&p->frames_in, memory_order_relaxed);
	out->frames_absent = atomic_load_explicit(&p->frames_absent, memory_order_relaxed);
	out->dropped_samples = atomic_load_explicit(&p->dropped, memory_order_relaxed);
	out->frames_shared = atomic_load_explicit(&p->frames_shared, memory_order_relaxed);
	out->primes = atomic_load_explicit(&p->primes, memory_order_relaxed);
	out->frames_level = atomic_load_explicit(&p->frames_level, memory_order_relaxed);
	out->frames_quiet = atomic_load_explicit(&p->frames_quiet, memory_order_relaxed);
	out->grouped = p->g != NULL;
	out->talker = atomic_load_explicit(&p->talker, memory_order_relaxed);
	out->level = atomic_load_explicit(&p->level, memory_order_relaxed);
	return 0;
}

uint64_t mx_room_ticks(const struct mx_room *r)
{
	return atomic_load_explicit(&r->ticks, memory_order_relaxed);
}

int mx_room_next_event(struct mx_room *r, struct mx_mixer_event *out)
{
	uint64_t t = atomic_load_explicit(&r->evq.tail, memory_order_relaxed);

	if (t == atomic_load_explicit(&r->evq.head, memory_order_acquire))
		return 0;
	*out = r->evq.ev[t % MX_MIXER_EVENTS];
	atomic_store_explicit(&r->evq.tail, t + 1, memory_order_release);
	return 1;
}

/* ---- playback ---- */

int mx_room_play(struct mx_room *r, struct mx_player *p)
{
	unsigned used = 0, slot = MX_ROOM_PLAYERS;
	struct play *pl;
	int e;

	reap(r);
	if (!p)
		return -EINVAL;
	for (unsigned i = 0; i < r->c.mix.max_parts; i++)
		used += r->p[i] != NULL;
	for (unsigned i = 0; i < MX_ROOM_PLAYERS; i++) {
		used += r->pl[i] != NULL;
		if (!r->pl[i] && slot == MX_ROOM_PLAYERS)
			slot = i;
	}
	if (slot == MX_ROOM_PLAYERS || used >= r->c.mix.max_parts)
		return -ENOSPC; /* a player takes a mixer slot as a participant does */
	if ((e = mx_player_set_rate(p, r->c.mix.rate)))
		return e;
	if (!(pl = calloc(1, sizeof(*pl))))
		return -ENOMEM;
	pl->p = p;
	pl->id = r->next_play_id++;
	if (r->next_play_id < 0)
		r->next_play_id = 0;
	r->pl[slot] = pl;
	if ((e = post(r, &(struct op){ .kind = OP_PLAY, .pid = (int)slot }, NULL))) {
		r->pl[slot] = NULL;
		free(pl);
		return e;
	}
	return pl->id;
}

int mx_room_stop_play(struct mx_room *r, int id)
{
	reap(r);
	for (unsigned i = 0; i < MX_ROOM_PLAYERS; i++) {
		struct play *pl = r->pl[i];

		if (!pl || pl->id != id)
			continue;
		if (pl->stop_posted || atomic_load_explicit(&pl->ended, memory_order_acquire))
			return -ENOENT;
		int e = post(r, &(struct op){ .kind = OP_STOP_PLAY, .pid = (int)i }, &pl->stop_op);

		if (!e)
			pl->stop_posted = true;
		return e;
	}
	return -ENOENT;
}

int mx_room_next_play_event(struct mx_room *r, struct mx_room_play_event *out)
{
	uint64_t t = atomic_load_explicit(&r->pq.tail, memory_order_relaxed);

	reap(r);
	if (t == atomic_load_explicit(&r->pq.head, memory_order_acquire))
		return 0;
	*out = r->pq.ev[t % PLAY_EVENTS];
	atomic_store_explicit(&r->pq.tail, t + 1, memory_order_release);
	return 1;
}
