/* libFuzzer target: the jitter buffer (mixer/mx_jb.c) driven by a random
 * packet sequence. The first 6 bytes pick the buffer (slots 8..1024, clock
 * 8/16/48 kHz, min/max/start delay, largest payload); then every 6-byte
 * record is one step: put a packet (sequence number, timestamp and arrival
 * moved by the record: forwards, backwards, jumps; SSRC changes; timing or
 * not; with an audio level or not), play out what is due, or set the
 * concealment floor. The arrival clock only moves forward, as a worker's.
 *
 * Checked: put returns 0 or -ENOBUFS (then after playing out what is due,
 * it is put again); a packet played is due (its timestamp is at or before
 * mx_jb_due_ts), comes in sequence order (strictly increasing until the
 * buffer restarts), once, with the payload, length, payload type, marker,
 * SSRC and level its sequence number was put with; the buffer never holds
 * more than its slots; the counters add up with what the driver saw
 * (received, played). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

#define CHECK(c)                            \
	do {                                \
		if (!(c))                   \
			__builtin_trap();   \
	} while (0)

static const uint32_t SSRCS[3] = { 0x11111111u, 0x22222222u, 0x33333333u };
static const uint32_t CLOCKS[3] = { 8000, 16000, 48000 };

/* What a (ssrc, seq) packet carries: every field a function of the two, so
 * a played packet can be checked against its number. */
static uint32_t mix(uint32_t ssrc, uint16_t seq)
{
	uint32_t h = ssrc ^ (seq * 0x9e3779b1u);

	h ^= h >> 15;
	h *= 0x85ebca77u;
	h ^= h >> 13;
	return h;
}

struct drv {
	struct mx_jb *jb;
	struct mx_jb_conf c;
	uint64_t received, played;
	uint64_t resets_seen; /* resets when the last packet was played */
	bool have_last;
	uint16_t last_seq;
	uint32_t last_ssrc;
	uint8_t pay[260];
};

static uint16_t pay_len(const struct drv *d, uint32_t ssrc, uint16_t seq)
{
	/* now and then one larger than max_payload (dropped as oversized) */
	return (uint16_t)(mix(ssrc, seq) % (d->c.max_payload + 2u));
}

static void fill(struct drv *d, uint32_t ssrc, uint16_t seq, uint16_t len)
{
	uint32_t h = mix(ssrc, seq);

	for (uint16_t i = 0; i < len; i++)
		d->pay[i] = (uint8_t)(h >> (8 * (i & 3))) ^ (uint8_t)i;
}

static int level_of(uint32_t ssrc, uint16_t seq)
{
	return (int)(mix(ssrc, seq) >> 8) % 130 - 1; /* -1..128: 128 is out of range, kept as -1 */
}

static void pop_all(struct drv *d, uint32_t now)
{
	struct dp_rtp_frame f;
	int level, guard = 0;

	while (mx_jb_pop_level(d->jb, now, &f, &level) == 1) {
		uint32_t due, h = mix(f.ssrc, f.seq);
		uint64_t resets = mx_jb_resets(d->jb);
		int want_level;

		CHECK(++guard <= d->c.slots);
		d->played++;
		CHECK(mx_jb_due_ts(d->jb, now, &due) && (int32_t)(due - f.ts) >= 0);
		if (d->have_last && resets == d->resets_seen && f.ssrc == d->last_ssrc)
			CHECK((int16_t)(uint16_t)(f.seq - d->last_seq) > 0);
		d->have_last = true;
		d->last_seq = f.seq;
		d->last_ssrc = f.ssrc;
		d->resets_seen = resets;
		CHECK(f.ssrc == SSRCS[0] || f.ssrc == SSRCS[1] || f.ssrc == SSRCS[2]);
		CHECK(f.len == pay_len(d, f.ssrc, f.seq) && f.len <= d->c.max_payload);
		CHECK(f.pt == (h & 0x7f) && f.marker == ((h >> 7) & 1));
		fill(d, f.ssrc, f.seq, f.len);
		CHECK(!f.len || !memcmp(f.payload, d->pay, f.len));
		/* the level goes with the packet when it was put with one (odd h) */
		want_level = (h >> 16) & 1 ? level_of(f.ssrc, f.seq) : -1;
		if (want_level > 127)
			want_level = -1;
		CHECK(level == want_level);
	}
}

static int put(struct drv *d, uint32_t ssrc, uint16_t seq, uint32_t ts, uint32_t now, bool timing)
{
	uint32_t h = mix(ssrc, seq);
	struct dp_rtp_frame f = {
		.pt = h & 0x7f, .marker = (h >> 7) & 1, .seq = seq, .ts = ts, .ssrc = ssrc,
		.len = pay_len(d, ssrc, seq), .payload = d->pay,
	};

	fill(d, ssrc, seq, f.len);
	return (h >> 16) & 1 ? mx_jb_put_level(d->jb, &f, now, timing, level_of(ssrc, seq))
			     : mx_jb_put(d->jb, &f, now, timing);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t mem[(1024 * (24 + 2 + 256)) / 8 + 256];
	static struct drv d;
	struct mx_jb_stats st;
	uint32_t now, ts, step, ssrc_i = 0;
	uint16_t seq;

	if (size < 6 || size > 6 + 6 * 1024)
		return 0;
	memset(&d, 0, sizeof(d));
	d.c.slots = (uint16_t)(8u << (data[0] % 8));
	d.c.clock_rate = CLOCKS[data[1] % 3];
	d.c.min_ms = data[2] % 101;
	d.c.max_ms = d.c.min_ms + data[3] * 4u;
	d.c.start_ms = data[4] * 2u;
	d.c.max_payload = (uint16_t)(1 + data[5]);
	CHECK(mx_jb_memsize(&d.c) && mx_jb_memsize(&d.c) <= sizeof(mem));
	d.jb = mx_jb_init(mem, &d.c);
	CHECK(d.jb);
	step = d.c.clock_rate / 1000; /* a ms of clock */
	now = 0x7fff0000u ^ ((uint32_t)data[0] << 24); /* wraps early on some inputs */
	ts = now - 12345;
	seq = (uint16_t)(0xfff0 + data[1]);
	data += 6;
	size -= 6;
	for (; size >= 6; data += 6, size -= 6) {
		uint8_t op = data[0], flags = data[5];
		int16_t tsd = (int16_t)(data[2] | data[3] << 8);

		now += (uint32_t)data[4] * step;
		switch (op & 3) {
		case 0:
		case 1: {
			int rc;

			if (flags & 2)
				ssrc_i = (ssrc_i + 1 + (op >> 7)) % 3;
			seq = (uint16_t)(seq + (flags & 8 ? (int8_t)data[1] * 256 : (int8_t)data[1]));
			ts += (uint32_t)(int32_t)tsd * (flags & 16 ? 64u : 1u);
			rc = put(&d, SSRCS[ssrc_i], seq, ts, now, flags & 1);
			CHECK(rc == 0 || rc == -ENOBUFS);
			if (rc == -ENOBUFS) {
				pop_all(&d, now);
				rc = put(&d, SSRCS[ssrc_i], seq, ts, now, flags & 1);
				CHECK(rc == 0 || rc == -ENOBUFS);
			}
			if (rc == 0)
				d.received++;
			break;
		}
		case 2:
			pop_all(&d, now);
			break;
		case 3:
			mx_jb_set_floor(d.jb, ts + (uint32_t)(int32_t)tsd);
			break;
		}
		mx_jb_get_stats(d.jb, &st);
		CHECK(st.held <= d.c.slots);
		CHECK(st.received == d.received && st.played == d.played);
		CHECK(st.late + st.duplicates + st.early + st.oversized + st.held + st.played <= st.received);
	}
	pop_all(&d, now + 10u * 1000u * step); /* everything held is due 10 s later */
	mx_jb_get_stats(d.jb, &st);
	CHECK(st.played == d.played);
	return 0;
}
