/* SPDX-License-Identifier: MIT
 * Internal to mixer/: the tap slot endpoints share. Not for other folders.
 *
 * A slot holds the tap a worker feeds. The control lcore swaps it with a
 * release store; the worker reads it once per tick (an acquire load), so a
 * swap takes effect at a tick boundary. A tap swapped out is kept until
 * the slot's owner is destroyed (after its worker let go of it), so the
 * worker never touches freed memory.
 */
#ifndef MX_INT_H
#define MX_INT_H

#include <stdatomic.h>

#include "mx.h"

#define MX_TAP_RETIRED_MAX 8

struct mx_tap_slot {
	_Atomic(struct mx_tap *) tap; /* control stores */
	struct mx_tap *cur;           /* this tick's (worker) */
	struct mx_tap *retired[MX_TAP_RETIRED_MAX];
	unsigned n_retired;
};

/* Control: put t (NULL: none) in the slot. Returns 0, or -EBUSY when too
 * many taps were swapped out already. */
int mx_tap_slot_set(struct mx_tap_slot *s, struct mx_tap *t);
/* Worker, once per tick: the tap in force for this tick. */
static inline struct mx_tap *mx_tap_slot_load(struct mx_tap_slot *s)
{
	return s->cur = atomic_load_explicit(&s->tap, memory_order_acquire);
}
/* Control, once no worker can use the slot: free every tap it holds. */
void mx_tap_slot_fini(struct mx_tap_slot *s);

/* ---- RFC 6464 audio levels on a way in (mx_level.c) ---- */

/* The level (0..127 -dBov, the V bit dropped) of packet p's ssrc-audio-level
 * element, extmap id `id` (0: none looked for); -1 without one. A block
 * that is malformed (dp_rtp_ext_find), or an element with no data, gives
 * -1 and sets *malformed. */
int mx_level_parse(const struct dp_rtp_frame *p, uint8_t id, bool *malformed);

/* The gate between a way in's jitter buffer and its decode half: an audio
 * packet whose level says it is quieter than the consumer needs (level >
 * quiet) is not decoded. The half's timeline is ended then
 * (cdc_src_restart, so the clock conceals nothing either); the audio
 * packets skipped last are kept (copied, at most MX_LEVEL_WARM_PKTS), and
 * when decoding resumes, those within warm_ms before the packet that
 * resumes it are decoded first with their PCM thrown away (`discard` is
 * true meanwhile: the consumer's pcm() must drop what it gets), so the
 * decoder's state (Opus's, G.722's ADPCM) has followed the sender's
 * encoder into the new audio; then the timeline restarts there. */
#define MX_LEVEL_WARM_PKTS 16 /* kept at most: 160 ms of 10 ms packets */
/* How much skipped audio a decoder of f is warmed up with (unit test
 * `level`): Opus 40 ms, G.722 160 ms (its ADPCM step size and predictor
 * take that long to forget loud speech), none for stateless G.711 and
 * L16. */
unsigned mx_level_warm_ms(const struct cdc_format *f);
/* Bytes of warm-up memory a gate for warm_ms and max_payload needs. */
size_t mx_level_warm_memsize(unsigned warm_ms, uint16_t max_payload);
struct mx_level_gate {
	struct cdc_src *src;
	uint8_t audio_pt;
	uint32_t clock_rate, warm_ticks;
	uint16_t max_payload;
	uint8_t *warm_mem;          /* warm_slots x max_payload, the caller's */
	struct {
		uint32_t ts;
		uint16_t len;
		bool marker;
	} warm[MX_LEVEL_WARM_PKTS];
	unsigned warm_slots;        /* packets it keeps (warm_ms / 10 ms) */
	unsigned warm_n, warm_next; /* kept packets; the slot for the next */
	bool skipping;              /* decoding stopped at a quiet packet */
	bool discard;               /* the PCM made now is warm-up */
	int level;                  /* the latest audio packet's level (-1: none) */
	bool level_skipped;         /* it was not decoded */
	uint32_t level_ts, dur;     /* its timestamp; the audio packets' spacing */
	uint64_t skipped, resumes, warm_decoded;
};
/* warm_mem: mx_level_warm_memsize(warm_ms, max_payload) bytes (NULL: no
 * warm-up). */
void mx_level_gate_init(struct mx_level_gate *g, struct cdc_src *src, uint8_t audio_pt, uint32_t clock_rate,
			unsigned warm_ms, uint8_t *warm_mem, uint16_t max_payload);
/* A packet the jitter buffer played, with its level (-1: none): into the
 * decode half, unless it is audio with level > quiet (quiet -1: every
 * packet is decoded). Returns true when it was decoded. */
bool mx_level_gate_push(struct mx_level_gate *g, const struct dp_rtp_frame *p, int level, int quiet);
/* The level of the audio due at input timestamp `due`, as the latest audio
 * packet played told it: -1 when it had none or its audio is over (more
 * than two packet spacings before due); *skipped: it was not decoded. */
int mx_level_gate_level(const struct mx_level_gate *g, uint32_t due, bool *skipped);

#endif
