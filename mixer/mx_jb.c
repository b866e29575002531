/* SPDX-License-Identifier: MIT
 * mx_jb: the adaptive jitter buffer of a terminated leg (see mx.h).
 *
 * Packets sit in a ring of slots indexed by sequence number. Each one is
 * due at  ts + base + delay  (all in the stream's clock units, wrapping):
 *  - transit = arrival - ts; base is the smallest transit over the last
 *    one to two windows of MX_JB_WINDOW_MS (the fastest a packet came
 *    through; the windows let it follow clock drift and route changes);
 *  - delay is the largest transit above the smallest over the same
 *    windows (the spread the network added), within [min_ms, max_ms].
 *    It grows at once when a packet comes later than the delay allows,
 *    and shrinks by at most SHRINK_MS_PER_S per second of media, so the
 *    output is never squeezed hard.
 * A packet that came in time, even out of order, is therefore played with
 * its own audio. Play-out goes in sequence order: a missing packet is
 * given up (lost) only when a later one is due; one that comes after its
 * turn is late. A 64-bit map of what was played tells a duplicate of a
 * played packet from a late one.
 */
#include "mx.h"

#include <errno.h>

#include <string.h>

#define SHRINK_MS_PER_S 50u     /* the delay shrinks at most this fast */
#define JUMP_SEQ 1000           /* further back than this is not late but renumbered */
#define JUMP_MS 10000           /* so does a transit jump this big */

struct slot {
	bool used;
	bool marker;
	int8_t level;       /* what mx_jb_put_level was given: -1 none */
	uint8_t pt;
	uint16_t seq;
	uint16_t len;
	uint16_t buf;       /* its payload's buffer (while used) */
	uint32_t ts;
};

struct win {
	bool valid;
	uint32_t min, max; /* transit extremes (compared as signed differences) */
};

struct mx_jb {
	struct mx_jb_conf c;
	uint16_t mask;
	uint32_t min_delay, max_delay, start_delay, window, jump_transit;

	bool started, played_any;
	uint32_t ssrc;
	uint16_t next_seq;  /* the next to play */
	uint16_t high_seq;  /* the highest held or played */
	uint64_t played_map;/* bit i: seq next_seq - 1 - i was played */
	uint16_t first_seq; /* the first packet played since the (re)start */
	bool probe_valid;   /* a packet too far off came: probe_seq */
	uint16_t probe_seq;

	struct win w[2];    /* w[0] the current window, w[1] the one before */
	uint32_t w_start;
	uint32_t base, delay;
	bool base_valid;
	uint32_t last_ts;   /* of the last timing packet */
	bool floor_valid;   /* audio before floor was concealed already (mx_jb_set_floor) */
	uint32_t floor;

	struct mx_jb_stats st;
	struct slot *slots;
	uint8_t *payload;
	/* Payload buffers are not tied to sequence numbers: a free one is
	 * taken last in, first out, so a stream that plays as it comes keeps
	 * reusing the same one or two buffers, warm in cache, instead of
	 * walking slots x max_payload bytes (61 KB for G.711) a packet at a
	 * time: thousands of participants' buffers fit no cache. */
	uint16_t *free_buf;
	uint16_t n_free;
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

size_t mx_jb_memsize(const struct mx_jb_conf *c)
{
	if (!c || c->slots < 8 || c->slots > 1024 || (c->slots & (c->slots - 1)) || !c->max_payload ||
	    !c->clock_rate || c->clock_rate > 192000 || c->min_ms > c->max_ms || c->max_ms > 5000)
		return 0;
	return align8(sizeof(struct mx_jb)) + align8(sizeof(struct slot) * c->slots) +
	       align8(sizeof(uint16_t) * c->slots) + (size_t)c->slots * c->max_payload;
}

static uint32_t ms_to_clk(const struct mx_jb *jb, uint32_t ms) { return (uint32_t)((uint64_t)ms * jb->c.clock_rate / 1000u); }

static int32_t sdiff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

struct mx_jb *mx_jb_init(void *mem, const struct mx_jb_conf *c)
{
	size_t sz = mx_jb_memsize(c);
	struct mx_jb *jb = mem;

	if (!sz || !mem)
		return NULL;
	memset(mem, 0, sz);
	jb->c = *c;
	jb->mask = (uint16_t)(c->slots - 1);
	jb->slots = (struct slot *)((uint8_t *)mem + align8(sizeof(*jb)));
	jb->free_buf = (uint16_t *)((uint8_t *)jb->slots + align8(sizeof(struct slot) * c->slots));
	jb->payload = (uint8_t *)jb->free_buf + align8(sizeof(uint16_t) * c->slots);
	for (unsigned i = 0; i < c->slots; i++) /* buffer 0 on top */
		jb->free_buf[i] = (uint16_t)(c->slots - 1 - i);
	jb->n_free = c->slots;
	jb->min_delay = ms_to_clk(jb, c->min_ms);
	jb->max_delay = ms_to_clk(jb, c->max_ms);
	jb->window = ms_to_clk(jb, MX_JB_WINDOW_MS);
	jb->jump_transit = ms_to_clk(jb, JUMP_MS);
	jb->start_delay = c->start_ms ? ms_to_clk(jb, c->start_ms) : jb->min_delay;
	if (jb->start_delay < jb->min_delay)
		jb->start_delay = jb->min_delay;
	if (jb->start_delay > jb->max_delay)
		jb->start_delay = jb->max_delay;
	jb->delay = jb->start_delay;
	return jb;
}

/* Forget the stream: held packets are dropped, timing starts afresh. */
static void restart(struct mx_jb *jb, const struct dp_rtp_frame *p)
{
	for (unsigned i = 0; i < jb->c.slots; i++)
		if (jb->slots[i].used) {
			jb->slots[i].used = false;
			jb->free_buf[jb->n_free++] = jb->slots[i].buf;
		}
	jb->st.lost += jb->st.held; /* what the old stream still had in the buffer */
	jb->st.held = 0;
	jb->ssrc = p->ssrc;
	jb->next_seq = jb->high_seq = p->seq;
	jb->played_any = false;
	jb->played_map = 0;
	jb->w[0].valid = jb->w[1].valid = false;
	jb->base_valid = false;
	jb->floor_valid = false;
	jb->delay = jb->start_delay;
	jb->started = true;
}

static uint32_t delay_ms(const struct mx_jb *jb, uint32_t d) { return (uint32_t)((uint64_t)d * 1000u / jb->c.clock_rate); }

/* Account the transit of a packet that arrived at now: base and delay. */
static void timing(struct mx_jb *jb, uint32_t ts, uint32_t now)
{
	uint32_t transit = now - ts, lo, hi, want;
	int32_t gap = jb->base_valid ? sdiff(ts, jb->last_ts) : 0; /* media since the last one */

	if (jb->base_valid && (sdiff(transit, jb->base) > (int32_t)jb->jump_transit ||
			       sdiff(jb->base, transit) > (int32_t)jb->jump_transit)) {
		/* the sender's timestamps jumped: learn the timing afresh */
		jb->st.resets++;
		jb->w[0].valid = jb->w[1].valid = false;
		jb->base_valid = false;
	}
	if (!jb->w[0].valid || sdiff(now, jb->w_start) >= (int32_t)jb->window) {
		if (jb->w[0].valid)
			jb->w[1] = jb->w[0];
		jb->w[0].valid = true;
		jb->w[0].min = jb->w[0].max = transit;
		jb->w_start = now;
	} else {
		if (sdiff(transit, jb->w[0].min) < 0)
			jb->w[0].min = transit;
		if (sdiff(transit, jb->w[0].max) > 0)
			jb->w[0].max = transit;
	}
	lo = jb->w[0].min;
	hi = jb->w[0].max;
	if (jb->w[1].valid) {
		if (sdiff(jb->w[1].min, lo) < 0)
			lo = jb->w[1].min;
		if (sdiff(jb->w[1].max, hi) > 0)
			hi = jb->w[1].max;
	}
	jb->base = lo;
	jb->base_valid = true;
	jb->last_ts = ts;
	want = hi - lo;
	if (want < jb->min_delay)
		want = jb->min_delay;
	if (want > jb->max_delay)
		want = jb->max_delay;
	if (want >= jb->delay) {
		jb->delay = want;
	} else { /* shrink gently: at most SHRINK_MS_PER_S of delay per second of media */
		uint32_t step = gap > 0 && gap < (int32_t)jb->c.clock_rate
					? (uint32_t)((uint64_t)gap * SHRINK_MS_PER_S / 1000u) : 0;

		jb->delay = jb->delay - want > step ? jb->delay - step : want;
	}
	if (delay_ms(jb, jb->delay) > jb->st.delay_max_ms)
		jb->st.delay_max_ms = delay_ms(jb, jb->delay);
	jb->st.delay_ms = delay_ms(jb, jb->delay);
}

static bool due(const struct mx_jb *jb, uint32_t ts, uint32_t now)
{
	return sdiff(now, ts + jb->base + jb->delay) >= 0;
}

/* A packet came `slots` or more ahead of next_seq. When nothing is held
 * below new_next, the missing packets there will never be played before
 * it anyway: give them up (lost) and move the play-out point up to
 * new_next. Returns false when held packets are in the way (an overflow). */
static bool slide(struct mx_jb *jb, uint16_t new_next)
{
	uint16_t gap = (uint16_t)(new_next - jb->next_seq);

	for (unsigned i = 0; i < jb->c.slots; i++) {
		const struct slot *s = &jb->slots[i];

		if (s->used && (int16_t)(uint16_t)(s->seq - new_next) < 0)
			return false;
	}
	jb->st.lost += gap;
	jb->played_map = gap >= 64 ? 0 : jb->played_map << gap;
	if (!jb->played_any)
		jb->first_seq = jb->next_seq; /* the gap is counted lost already */
	jb->next_seq = new_next;
	jb->played_any = true;
	return true;
}

int mx_jb_put(struct mx_jb *jb, const struct dp_rtp_frame *p, uint32_t now, bool timing_ref)
{
	return mx_jb_put_level(jb, p, now, timing_ref, -1);
}

int mx_jb_put_level(struct mx_jb *jb, const struct dp_rtp_frame *p, uint32_t now, bool timing_ref, int level)
{
	int32_t d;
	struct slot *s;

	if (jb->started && p->ssrc == jb->ssrc && p->len <= jb->c.max_payload) {
		d = (int16_t)(uint16_t)(p->seq - jb->next_seq);
		if (d >= (int32_t)jb->c.slots && d <= JUMP_SEQ && jb->st.held &&
		    !slide(jb, (uint16_t)(p->seq - jb->c.slots + 1)) && jb->base_valid) {
			/* held packets are in the way: when the oldest is due, the
			 * caller plays out first (the worker fell behind its ticks) */
			const struct slot *o = &jb->slots[jb->next_seq & jb->mask];

			if (!o->used || o->seq != jb->next_seq || due(jb, o->ts, now))
				return -ENOBUFS;
		}
	}
	jb->st.received++;
	if (p->len > jb->c.max_payload) {
		jb->st.oversized++;
		return 0;
	}
	if (!jb->started || p->ssrc != jb->ssrc) {
		if (jb->started)
			jb->st.resets++;
		restart(jb, p);
	}
	d = (int16_t)(uint16_t)(p->seq - jb->next_seq);
	if (d >= (int32_t)jb->c.slots && d <= JUMP_SEQ && slide(jb, (uint16_t)(p->seq - jb->c.slots + 1)))
		d = (int16_t)(uint16_t)(p->seq - jb->next_seq); /* the hole before it was given up */
	if (d < -JUMP_SEQ || (d >= 0 && (uint16_t)d >= jb->c.slots)) {
		/* further off than the ring holds: a lone packet is dropped; a
		 * second one right after it means the stream moved (RFC 3550
		 * A.1's probation): start over there */
		if (!jb->probe_valid || p->seq != (uint16_t)(jb->probe_seq + 1)) {
			jb->probe_valid = true;
			jb->probe_seq = p->seq;
			jb->st.early++;
			return 0;
		}
		jb->st.resets++;
		restart(jb, p);
		jb->played_any = true; /* what was before it is gone, not awaited */
		jb->first_seq = p->seq;
		d = 0;
	}
	jb->probe_valid = false;
	if (jb->floor_valid && d >= 0 && sdiff(p->ts, jb->floor) < 0 && sdiff(jb->floor, p->ts) < (int32_t)jb->jump_transit) {
		jb->st.late++; /* its time was concealed already: the hole before it counts it lost */
		return 0;
	}
	if (d < 0) {
		unsigned back = (unsigned)-d;

		if (!jb->played_any && (uint16_t)(jb->high_seq - p->seq) < jb->c.slots) {
			jb->next_seq = p->seq; /* an earlier packet before play-out began */
		} else {
			if (back <= 64 && (jb->played_map >> (back - 1)) & 1) {
				jb->st.duplicates++;
			} else {
				jb->st.late++;
				if ((int16_t)(uint16_t)(p->seq - jb->first_seq) < 0)
					jb->st.lost++; /* before the stream's first packet played: never awaited */
			}
			return 0;
		}
	}
	s = &jb->slots[p->seq & jb->mask];
	if (s->used && s->seq == p->seq) {
		jb->st.duplicates++;
		return 0;
	}
	if (!s->used) {
		jb->st.held++;
		s->buf = jb->free_buf[--jb->n_free]; /* a slot per buffer: never empty here */
	}
	if ((int16_t)(uint16_t)(p->seq - jb->high_seq) < 0)
		jb->st.reordered++;
	else
		jb->high_seq = p->seq;
	s->used = true;
	s->seq = p->seq;
	s->ts = p->ts;
	s->pt = p->pt;
	s->marker = p->marker;
	s->level = (int8_t)(level < 0 || level > 127 ? -1 : level);
	s->len = p->len;
	memcpy(jb->payload + (size_t)s->buf * jb->c.max_payload, p->payload, p->len);
	if (timing_ref || !jb->base_valid)
		timing(jb, p->ts, now);
	return 0;
}


static void release(struct mx_jb *jb, struct slot *s, struct dp_rtp_frame *out, int *level)
{
	s->used = false;
	jb->free_buf[jb->n_free++] = s->buf; /* its payload stays as it is until the next put */
	jb->st.held--;
	jb->st.played++;
	if (!jb->played_any)
		jb->first_seq = s->seq;
	jb->played_any = true;
	jb->played_map = jb->played_map << 1 | 1;
	jb->next_seq++;
	out->seq = s->seq;
	out->ts = s->ts;
	out->ssrc = jb->ssrc;
	out->pt = s->pt;
	out->marker = s->marker;
	out->len = s->len;
	out->payload = jb->payload + (size_t)s->buf * jb->c.max_payload;
	out->ext = NULL;
	out->ext_len = out->ext_profile = 0;
	if (level)
		*level = s->level;
}

int mx_jb_pop(struct mx_jb *jb, uint32_t now, struct dp_rtp_frame *out)
{
	return mx_jb_pop_level(jb, now, out, NULL);
}

int mx_jb_pop_level(struct mx_jb *jb, uint32_t now, struct dp_rtp_frame *out, int *level)
{
	while (jb->started && jb->st.held) {
		struct slot *s = &jb->slots[jb->next_seq & jb->mask];
		uint16_t k;

		if (s->used && s->seq == jb->next_seq) {
			if (!jb->base_valid || !due(jb, s->ts, now))
				return 0;
			release(jb, s, out, level);
			return 1;
		}
		/* a hole: skip it once the next packet held is due */
		for (k = 1; k < jb->c.slots; k++) {
			uint16_t q = (uint16_t)(jb->next_seq + k);

			s = &jb->slots[q & jb->mask];
			if (s->used && s->seq == q)
				break;
		}
		if (k == jb->c.slots || !jb->base_valid || !due(jb, s->ts, now))
			return 0;
		jb->st.lost += k;
		jb->played_map = k >= 64 ? 0 : jb->played_map << k;
		jb->next_seq = (uint16_t)(jb->next_seq + k);
	}
	return 0;
}

bool mx_jb_due_ts(const struct mx_jb *jb, uint32_t now, uint32_t *ts)
{
	if (!jb->started || !jb->base_valid)
		return false;
	*ts = now - jb->base - jb->delay;
	return true;
}

void mx_jb_set_floor(struct mx_jb *jb, uint32_t ts)
{
	jb->floor_valid = true;
	jb->floor = ts;
}

void mx_jb_get_stats(const struct mx_jb *jb, struct mx_jb_stats *out) { *out = jb->st; }

uint64_t mx_jb_resets(const struct mx_jb *jb) { return jb->st.resets; }
