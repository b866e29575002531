/* SPDX-License-Identifier: MIT
 * mixer/: the media engine's public door (prefix mx_).
 *
 * Where medius terminates media: a leg whose packets go to the engine
 * instead of being relayed (dp_leg_set_hook) is an endpoint. Its packets
 * enter a jitter buffer on arrival; the worker's media clock (dp_clock.h)
 * plays them out in order, paced by their timestamps, into a graph that
 * decodes, converts and encodes them, and sends the result out of any leg
 * of the call with the engine's own SSRC, sequence and timestamps
 * (dp_leg_send). Taps copy what an endpoint hears and says into rings that
 * a thread off the worker reads.
 *
 * Built so far: the jitter buffer (mx_jb), taps (mx_tap), endpoints
 * (mx_ep_in, mx_ep_out), the 1:1 transcoding graph (mx_xcode), rooms
 * (mx_mixer, mx_room) and playback (mx_player, mx_play_leg). Threads: "worker" functions run on the
 * lcore that serves the call, from its hook or its ticker, and never lock,
 * allocate, log or make a syscall; "control" functions run on the control
 * lcore; "consumer" functions on the thread that drains a tap.
 */
#ifndef MX_H
#define MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdc.h"
#include "dp.h"

/* ------------------------------------------------------------------ */
/* Engine settings                                                      */

struct mx_conf {
	uint32_t jb_min_ms, jb_max_ms; /* the jitter buffers' delay bounds */
};
/* Control, before any graph is made (later graphs take the new values).
 * Returns 0, or -EINVAL unless 0 <= min <= max <= 1000. */
int mx_conf_set(const struct mx_conf *c);
void mx_conf_get(struct mx_conf *out);

/* ------------------------------------------------------------------ */
/* Jitter buffer                                                        */

/* Play-out delay bounds (ms) and what the buffer holds. */
struct mx_jb_conf {
	uint32_t clock_rate;   /* the stream's RTP clock */
	uint32_t min_ms;       /* the delay never adapts below this */
	uint32_t max_ms;       /* nor above this */
	uint32_t start_ms;     /* the delay a new stream starts with (within min..max) before
				* it has measured any spread; 0: min_ms */
	uint16_t slots;        /* packets held at most: a power of 2, 8..1024 */
	uint16_t max_payload;  /* bytes per packet at most */
};
#define MX_JB_MIN_MS_DEFAULT 10
#define MX_JB_MAX_MS_DEFAULT 300
/* A new stream starts with this delay, and shrinks towards what it
 * measures (at most 50 ms per second): the first packets, whose spread is
 * not known yet, are not given up as lost. */
#define MX_JB_START_MS_DEFAULT 60
#define MX_JB_SLOTS_DEFAULT 64
/* How long the delay estimate remembers a delay spike: two windows of this. */
#define MX_JB_WINDOW_MS 2000

struct mx_jb_stats {
	uint64_t received;    /* packets put */
	uint64_t played;      /* released in sequence order */
	uint64_t lost;        /* skipped: never there when a later packet was due (or
			       * still held when the buffer restarted) */
	uint64_t late;        /* arrived after their turn: dropped (and counted in lost) */
	uint64_t duplicates;  /* a sequence number held or played already: dropped */
	uint64_t reordered;   /* arrived after a higher sequence number, in time */
	uint64_t early;       /* too far ahead to hold (or renumbered): dropped; a second
			       * one in sequence right after restarts the buffer there */
	uint64_t oversized;   /* payload larger than max_payload: dropped */
	uint64_t resets;      /* restarts: a new SSRC, or a sequence or timestamp jump */
	uint32_t held;        /* packets held now */
	uint32_t delay_ms;    /* the play-out delay now (target, above the fastest packet) */
	uint32_t delay_max_ms;/* the largest it has been */
};

struct mx_jb;

/* Bytes of caller memory a buffer for c needs; 0 for a bad c. */
size_t mx_jb_memsize(const struct mx_jb_conf *c);
/* Set up a buffer in mem (mx_jb_memsize bytes, 8-byte aligned). Returns it,
 * or NULL for a bad c. Nothing to free but mem. */
struct mx_jb *mx_jb_init(void *mem, const struct mx_jb_conf *c);

/* Worker: take packet p, which arrived at now (in the stream's clock units,
 * from any origin, wrapping at 32 bits; the same origin for every call).
 * The payload is copied. timing: p's timestamp is its capture time, so its
 * arrival tells the network's jitter (false for RFC 4733 continuation
 * packets, which carry their event's start). Returns 0 (taken, or dropped
 * and counted), or -ENOBUFS when p is a slot count or more ahead of
 * packets still held (the worker fell behind its ticks): nothing was
 * counted; pop what is due (mx_jb_pop at now) and put p again. */
int mx_jb_put(struct mx_jb *jb, const struct dp_rtp_frame *p, uint32_t now, bool timing);
/* Worker: the next packet to play at now, in sequence order, once its
 * time (timestamp + the fastest transit seen + the adaptive delay) has
 * come; missing packets are skipped (lost) when a later one is due. Returns
 * 1 with *out filled (its payload valid until the next mx_jb_pop or
 * mx_jb_put), or 0 when nothing is due. */
int mx_jb_pop(struct mx_jb *jb, uint32_t now, struct dp_rtp_frame *out);
/* The same, with the packet's RFC 6464 audio level (0..127 -dBov; -1:
 * none), kept with it and given back by mx_jb_pop_level (-1 for a packet
 * put without one). */
int mx_jb_put_level(struct mx_jb *jb, const struct dp_rtp_frame *p, uint32_t now, bool timing, int level);
int mx_jb_pop_level(struct mx_jb *jb, uint32_t now, struct dp_rtp_frame *out, int *level);
/* Worker: the latest timestamp due at now (every packet at or before it
 * may play). False before the buffer has timing. */
bool mx_jb_due_ts(const struct mx_jb *jb, uint32_t now, uint32_t *ts);
/* Worker: the audio before ts was concealed (the clock did not wait for
 * it): a packet before ts that comes now is late, and its missing sequence
 * number is given up as lost with the hole it leaves. A new stream (SSRC)
 * forgets it. */
void mx_jb_set_floor(struct mx_jb *jb, uint32_t ts);
/* Counters (a copy; safe from the control lcore, figures may be a packet apart). */
void mx_jb_get_stats(const struct mx_jb *jb, struct mx_jb_stats *out);
/* Worker: restarts so far (mx_jb_stats.resets): a change tells a new stream. */
uint64_t mx_jb_resets(const struct mx_jb *jb);

/* ------------------------------------------------------------------ */
/* Taps: single-producer single-consumer rings of media frames          */

enum mx_tap_kind {
	MX_TAP_PCM_IN,  /* decoded audio an endpoint received (s16, the graph's decode rate) */
	MX_TAP_RTP_OUT, /* a whole RTP packet the engine sent (header and payload, before SRTP) */
	MX_TAP_RTP_IN,  /* a whole RTP packet a leg received, decrypted (recording/'s copy, dp_leg_set_rec) */
};

struct mx_tap_frame {
	enum mx_tap_kind kind;
	uint32_t rate;          /* PCM: sample rate; RTP: the stream's clock rate */
	uint8_t channels;       /* PCM */
	uint8_t pcm_kind;       /* PCM: enum cdc_pcm_kind (decoded, concealed, ...) */
	uint32_t seq;           /* frames offered to the tap before this one: a jump marks overruns */
	uint64_t tsc;           /* rte_rdtsc() on the worker when it was put */
	uint32_t len;           /* bytes of data */
};

struct mx_tap;

/* A ring of `frames` slots (a power of 2, 2..65536) of up to max_bytes of
 * data each. Control. NULL for bad sizes or no memory. */
struct mx_tap *mx_tap_create(unsigned frames, uint32_t max_bytes);
/* Free (or drop one reference: mx_tap_ref); accepts NULL. The last
 * reference goes only once the producer can no longer put (its graph
 * destroyed, or mx_xcode_set_tap replaced it) and the consumer stopped. */
void mx_tap_destroy(struct mx_tap *t);
/* One more owner: the ring is freed by the last mx_tap_destroy (so a graph
 * and a consumer thread can each let go of it when they are done, in
 * either order). Any thread. */
void mx_tap_ref(struct mx_tap *t);
/* Worker (the one producer): copy a frame in. Never blocks: when the ring
 * is full, or data is larger than a slot, the frame is dropped and counted
 * as an overrun. Returns true when it was queued. */
bool mx_tap_put(struct mx_tap *t, const struct mx_tap_frame *f, const void *data);
/* The same with the data in two pieces: a_len bytes at a, then
 * f->len - a_len bytes at b. */
bool mx_tap_putv(struct mx_tap *t, const struct mx_tap_frame *f, const void *a, uint32_t a_len, const void *b);
/* Consumer (one thread): the next frame, into *f and buf (room for max
 * bytes; a larger frame is cut). Returns 1, or 0 when the ring is empty. */
int mx_tap_get(struct mx_tap *t, struct mx_tap_frame *f, void *buf, uint32_t max);
struct mx_tap_stats {
	uint64_t put, got, overruns;
};
void mx_tap_get_stats(const struct mx_tap *t, struct mx_tap_stats *out);

/* ------------------------------------------------------------------ */
/* Endpoints: a terminated leg's way in and way out                     */

/* The way in: the leg's packets enter a jitter buffer on arrival (its
 * media hook); on every tick (mx_ep_in_tick) what is due is decoded by a
 * codecs/ decode half (cdc_src: PLC, Opus FEC, CN, RFC 4733 and in-band
 * DTMF) into PCM at the rate its conf asks for, handed with the events
 * to the consumer given at create: another endpoint's way out in a 1:1
 * graph (mx_ep_out_feed), a mix in a conference.
 *
 * A gap is concealed when the packet after it plays (up to
 * CDC_CHAIN_MAX_FILL_MS; a longer one resyncs). With conceal_on_clock, for
 * a consumer that needs audio on every tick (a mix), the clock conceals
 * instead, a frame at a time, once the frame after the missing one is due
 * (when the buffer would give it up), also when nothing comes after it:
 * for up to CDC_CHAIN_MAX_FILL_MS, then the endpoint falls silent until
 * the next packet. A packet that comes after its audio was made up is
 * counted late (and its sequence number lost). A 1:1 graph does not: a
 * stream that stops is not followed by 200 ms of made-up packets, and the
 * far end conceals a gap itself. */
struct mx_ep_in;

struct mx_ep_in_conf {
	struct cdc_src_conf src;
	uint32_t jb_min_ms, jb_max_ms; /* both 0: mx_conf_get's */
	bool conceal_on_clock;
	uint8_t level_ext_id; /* RFC 6464 ssrc-audio-level extmap id (1..14 one-byte, up to
			       * 255 two-byte); 0: none (levels are not looked at) */
};

/* Control: make the way in of leg (hooking it without waiting: its
 * packets stop being relayed from the worker's next turn) feeding o. NULL with *err = -EINVAL (bad conf), -ENOMEM, or
 * what dp_leg_set_hook refused. */
struct mx_ep_in *mx_ep_in_create(struct dp_leg *leg, const struct mx_ep_in_conf *c,
				 const struct cdc_src_out *o, int *err);
/* Control: unhook the leg (waiting for its worker) and free. Only when no
 * ticker can still call mx_ep_in_tick on it; otherwise unhook, stop the
 * ticker, then free. NULL is fine for all three. */
void mx_ep_in_destroy(struct mx_ep_in *e);
void mx_ep_in_unhook(struct mx_ep_in *e);
void mx_ep_in_free(struct mx_ep_in *e);
/* Control: clear the leg's hook without waiting (dp_leg_set_hook_deferred);
 * fn(ctx), when fn is not NULL, runs on the control lcore once no packet
 * can reach e any more. Without fn, a later deferred command's release on
 * the same worker (dp_ticker_remove_deferred) covers it. Returns 0 or -errno. */
int mx_ep_in_unhook_deferred(struct mx_ep_in *e, void (*fn)(void *ctx), void *ctx);
/* Worker, once per media-clock tick of the call: play what is due at
 * now_tsc (rte_rdtsc), then conceal what is missing. */
void mx_ep_in_tick(struct mx_ep_in *e, uint64_t now_tsc);

/* RFC 6464 audio levels (level_ext_id set): each packet's level is read
 * on arrival and travels with it through the jitter buffer. Worker: from
 * mx_ep_in_set_quiet on, an audio packet whose level is larger (quieter)
 * than quiet is not decoded (quiet -1, the default: every packet is). The
 * decode half's timeline ends at the first such packet (the clock
 * conceals nothing while none is decoded); when a packet is decoded again,
 * the last skipped packets (Opus 40 ms, G.722 160 ms) are decoded first
 * and their audio thrown away, so the decoder's state has followed the
 * sender's and the restart does not click (mx_int.h, mx_level.c). */
void mx_ep_in_set_quiet(struct mx_ep_in *e, int quiet);
/* Worker, after mx_ep_in_tick: the level (0..127 -dBov) the latest audio
 * packet played carried, while its audio is due (-1: it had none, its
 * audio is over, or no levels); *skipped: that packet was not decoded. */
int mx_ep_in_level(const struct mx_ep_in *e, bool *skipped);

struct mx_ep_in_stats {
	struct mx_jb_stats jb;
	struct cdc_chain_stats src; /* the decode side's counters */
	uint64_t clock_fills;       /* ticks that concealed a missing frame */
	uint64_t level_packets;     /* packets that carried an audio level */
	uint64_t level_malformed;   /* header extension blocks that could not be walked: no level */
	uint64_t level_skipped;     /* audio packets not decoded: their level said quiet */
	uint64_t level_resumes;     /* times decoding resumed after skipped packets */
	uint64_t level_warm_decoded;/* skipped packets decoded again (audio thrown away) to warm up */
};
void mx_ep_in_get_stats(const struct mx_ep_in *e, struct mx_ep_in_stats *out);
/* Control: the MX_TAP_PCM_IN tap (as mx_xcode_set_tap). */
int mx_ep_in_set_tap(struct mx_ep_in *e, struct mx_tap *t);
/* The decoded PCM's rate and channels (what the tap carries). */
uint32_t mx_ep_in_pcm_rate(const struct mx_ep_in *e, unsigned *channels);
int mx_ep_in_set_dtmf_mask(struct mx_ep_in *e, enum cdc_dtmf_mask mode, unsigned freq_hz);

/* The way out: PCM (at the conf's in_rate) and events are encoded by a
 * codecs/ encode half (cdc_sink) and sent out of the leg (dp_leg_send)
 * with the endpoint's own SSRC, sequence and timestamps. */
struct mx_ep_out;

/* Control. NULL with *err = -EINVAL or -ENOMEM. */
struct mx_ep_out *mx_ep_out_create(struct dp_leg *leg, const struct cdc_sink_conf *c, int *err);
/* Control, once no worker can use it (its ticker and any way in that
 * feeds it are gone). NULL is fine. */
void mx_ep_out_destroy(struct mx_ep_out *o);
/* Worker, once per tick before anything is written: adopt a new tap and
 * a pending play DTMF. */
void mx_ep_out_begin(struct mx_ep_out *o);
/* Worker: encode and send. */
void mx_ep_out_write(struct mx_ep_out *o, const int16_t *pcm, size_t samples);
void mx_ep_out_event(struct mx_ep_out *o, const struct cdc_ev *ev);
/* Worker, for a graph that chooses per tick between an endpoint's own
 * encoder and a shared one (a room): encode with o's own encoder without
 * sending (packets into out, room for CDC_CHAIN_MAX_OUT; returns how
 * many); send packets from any encoder as consecutive frames of o's
 * ptime, stamped from o's own frame cursor (so the stream stays
 * continuous whichever encoder made them); or let one frame's time pass
 * with nothing sent (the next packet gets the marker). */
int mx_ep_out_encode(struct mx_ep_out *o, const int16_t *pcm, size_t samples, struct cdc_pkt *out);
void mx_ep_out_send_frames(struct mx_ep_out *o, const struct cdc_pkt *p, int n);
void mx_ep_out_skip_frame(struct mx_ep_out *o);
/* Frames of missed audio o's encoder wants before it takes over a stream
 * (cdc_sink_prime_frames). */
unsigned mx_ep_out_prime_frames(const struct mx_ep_out *o);
/* The consumer that feeds a way in's output straight into o. */
struct cdc_src_out mx_ep_out_feed(struct mx_ep_out *o);
/* Control: ng "play DTMF" (cdc_sink_play_dtmf). */
int mx_ep_out_play_dtmf(struct mx_ep_out *o, uint8_t event, uint32_t duration_ms, uint8_t volume);
struct mx_ep_out_stats {
	struct cdc_chain_stats sink; /* out_packets and dtmf_played */
	uint64_t sent;               /* packets dp_leg_send queued */
};
void mx_ep_out_get_stats(const struct mx_ep_out *o, struct mx_ep_out_stats *out);
/* Control: the MX_TAP_RTP_OUT tap (as mx_xcode_set_tap). */
int mx_ep_out_set_tap(struct mx_ep_out *o, struct mx_tap *t);

/* ------------------------------------------------------------------ */
/* Mix kernels: N-1 mixing in 32 bits (scalar, AVX2, AVX-512)            */

/* Gains are Q12: MX_GAIN_UNITY is 0 dB; mx_mix_ops.add takes 0 to
 * 4 * unity (+12 dB). */
#define MX_GAIN_SHIFT 12
#define MX_GAIN_UNITY (1 << MX_GAIN_SHIFT)
#define MX_GAIN_MAX (4 * MX_GAIN_UNITY)
/* out_gain clamps its input to this (8x full scale, +18 dB) first, so the
 * product stays in 32 bits; the limiter's gain covers up to that. */
#define MX_MIX_CLAMP 262143

/* One set of kernels; every variant gives the scalar one's result bit for
 * bit. A room sums its talkers into acc once (add, keeping each talker's
 * scaled contribution c); each listener's frame is then acc minus its own
 * contribution (c, or NULL for a listener who is not a talker), taken out
 * before anything saturates. */
struct mx_mix_ops {
	/* c[i] = (pcm[i] * gain) >> 12 (arithmetic shift); acc[i] += c[i].
	 * c may be NULL (the contribution is not kept). */
	void (*add)(int32_t *acc, int32_t *c, const int16_t *pcm, int32_t gain, size_t n);
	/* out[i] = saturate16(acc[i] - c[i]); c may be NULL (0). */
	void (*out_sat)(int16_t *out, const int32_t *acc, const int32_t *c, size_t n);
	/* max |acc[i] - c[i]| (c may be NULL). */
	uint32_t (*peak)(const int32_t *acc, const int32_t *c, size_t n);
	/* out[i] = saturate16((clamp(acc[i] - c[i], +-MX_MIX_CLAMP) * gain) >> 12),
	 * gain 0..MX_GAIN_UNITY. */
	void (*out_gain)(int16_t *out, const int32_t *acc, const int32_t *c, int32_t gain, size_t n);
};

/* The kernels of one variant; NULL when this CPU lacks it. */
const struct mx_mix_ops *mx_mix_ops(enum cdc_isa isa);
/* The variant codecs/' dispatch chose (cdc_isa_active). */
const struct mx_mix_ops *mx_mix_active(void);

/* A soft limiter for one output: per frame, the gain that brings the
 * frame's peak to MX_LIMIT_THRESHOLD applies at once when it is lower than
 * the gain in force (nothing clips), and is approached from below by at
 * most unity per MX_LIMIT_RELEASE_MS (no pumping). */
#define MX_LIMIT_THRESHOLD 29204 /* -1 dBFS */
#define MX_LIMIT_RELEASE_MS 500
struct mx_limiter {
	int32_t gain, release; /* Q12; release: the most the gain rises per frame */
};
void mx_limiter_init(struct mx_limiter *l, unsigned frame_ms);
/* One listener's frame: acc - c, saturated (l NULL) or limited (l). */
void mx_mix_out(const struct mx_mix_ops *ops, struct mx_limiter *l, int16_t *out, const int32_t *acc,
		const int32_t *c, size_t n);

/* ------------------------------------------------------------------ */
/* Playback: a media file's audio, decoded before it plays               */

/* A player holds a file's whole audio, decoded, down-mixed to mono and
 * (mx_player_set_rate) resampled, in memory: opening does all the file
 * I/O and decoding on the control lcore, so a worker's tick only copies
 * samples. WAV (and whatever else libsndfile reads: any rate, channels and
 * sample format) and Ogg Opus (libopusfile, 48 kHz), from a file or from
 * memory. At most MX_PLAY_MAX_S seconds. Then graphs play it: a room
 * (mx_room_play) or one party of a relayed call (mx_play_leg). */
#define MX_PLAY_MAX_S 600
/* A media file is read whole before it is decoded: at most this many
 * bytes (600 s of 48 kHz stereo float WAV is 230 MB). */
#define MX_PLAY_MAX_FILE (256u << 20)
struct mx_player;

/* Control: open and decode. NULL with *err = -ENOENT, -EACCES, -EISDIR
 * (the path), -EINVAL (not a format medius reads, or corrupt), -ENODATA
 * (no audio, or an empty file), -EFBIG (longer than MX_PLAY_MAX_S, or a
 * file larger than MX_PLAY_MAX_FILE), -EIO, -ENOMEM; and, when msg
 * is not NULL, a sentence for an ng error reply in msg (msglen bytes). */
struct mx_player *mx_player_open_file(const char *path, int *err, char *msg, size_t msglen);
struct mx_player *mx_player_open_blob(const void *data, size_t len, int *err, char *msg, size_t msglen);
/* Control: free (NULL is fine). Only a player no graph holds. */
void mx_player_destroy(struct mx_player *p);
/* Control, before the player is handed to a graph: play it `times` times
 * in a row (1: once, the default; at least 1). */
int mx_player_set_repeat(struct mx_player *p, unsigned times);
/* Control, before it is handed to a graph: resample its audio to rate
 * (1-384 kHz; the graphs call it). 0, -EINVAL or -ENOMEM (it keeps its
 * audio then). */
int mx_player_set_rate(struct mx_player *p, uint32_t rate);
uint32_t mx_player_rate(const struct mx_player *p);
/* One play's length in ms (what ng's `duration` reports). */
uint64_t mx_player_duration_ms(const struct mx_player *p);
/* Worker: the next n samples (mono, at its rate) into out, looping as
 * its repeat count says; past the end out is filled with silence.
 * Returns how many samples of audio it gave (n until the end, then less,
 * then 0). */
size_t mx_player_read(struct mx_player *p, int16_t *out, size_t n);
/* Any thread: it has given all its audio; and how much it gave (ms, all
 * repeats). */
bool mx_player_done(const struct mx_player *p);
uint64_t mx_player_played_ms(const struct mx_player *p);

/* Playback to one party of a relayed call: what the other party sends
 * (leg `hold` receives it) is held back, not relayed, while the file's
 * audio goes out of leg `out` (towards the party) through a way out
 * (mx_ep_out) in the codec that party takes (c: its out format, payload
 * type and ptime; in_rate is set here), under its own SSRC, sequence and
 * timestamps, the first packet with the marker. When the file ended (its
 * last frame sent, padded with silence), the hook forwards hold's packets
 * out of `out` as they are until control stops the graph
 * (mx_play_leg_stop), which gives the legs back to plain relaying. */
struct mx_play_leg;
/* Control: start; it owns p from then on. hold must have no media hook
 * (the caller knows: a transcoder or a room would be displaced). NULL
 * with *err = -EINVAL (codec), -ENOMEM or what the dataplane refused; the
 * caller keeps p then. */
struct mx_play_leg *mx_play_leg_start(struct dp_leg *hold, struct dp_leg *out, const struct cdc_sink_conf *c,
				      struct mx_player *p, int *err);
/* Control: the file was played to its end (all repeats) and sent. */
bool mx_play_leg_done(const struct mx_play_leg *pl);
/* Control: audio sent so far, ms (all repeats). */
uint64_t mx_play_leg_played_ms(const struct mx_play_leg *pl);
/* Control: stop without waiting: hold's hook is cleared and the ticker
 * removed; pl and its player are freed once the worker let go. NULL is
 * fine. */
void mx_play_leg_stop(struct mx_play_leg *pl);

/* ------------------------------------------------------------------ */
/* A conference room's mixing core                                      */

/* What a room does every tick with its participants' frames, apart from
 * packets and codecs: talker detection, choosing the talkers, N-1 mixing
 * with relations. One thread (the room's worker) calls everything. */
#define MX_MIXER_MAX_TALKERS 8
#define MX_MIXER_MAX_PARTS 1024
#define MX_MIXER_MAX_FRAME 960 /* 20 ms at 48 kHz */
#define MX_MIXER_EVENTS 64

struct mx_mixer_conf {
	uint32_t rate;        /* 8000, 16000 or 48000 */
	unsigned frame_ms;    /* 10 or 20 */
	unsigned max_talkers; /* the loudest this many speakers are mixed (1..8; 3 is usual) */
	unsigned max_parts;   /* participants at most (1..1024) */
	bool limit;           /* soft-limit the outputs (mx_limiter); false: saturate */
};
int mx_mixer_conf_check(const struct mx_mixer_conf *c);

struct mx_mixer;
/* ops NULL: mx_mix_active(). NULL for a bad conf or no memory. */
struct mx_mixer *mx_mixer_create(const struct mx_mixer_conf *c, const struct mx_mix_ops *ops);
void mx_mixer_destroy(struct mx_mixer *m);
/* Samples in one frame (rate x frame_ms). */
unsigned mx_mixer_frame(const struct mx_mixer *m);
/* A new participant: its id (>= 0), or -ENOSPC. */
int mx_mixer_join(struct mx_mixer *m);
int mx_mixer_leave(struct mx_mixer *m, int id);

struct mx_mixer_part_opts {
	bool muted;   /* nobody hears it */
	bool deaf;    /* it hears nothing (mx_mixer_output gives NULL) */
	int32_t gain; /* Q12 on what it says, 0..MX_GAIN_MAX */
};
/* Returns 0, -ENOENT (no such participant) or -EINVAL. */
int mx_mixer_set(struct mx_mixer *m, int id, const struct mx_mixer_part_opts *o);
/* A participant that is always mixed, on top of the talkers, whenever it
 * has a frame (a played file: prompts must be heard): never measured for
 * talker selection, never a talker (no events), heard by everyone (its
 * gain and mute apply; an audience does not). Returns 0 or -ENOENT. */
int mx_mixer_set_always(struct mx_mixer *m, int id, bool always);
/* Whisper/coach: only the n listeners named hear speaker (n < 0: everyone
 * again). Returns 0, -ENOENT, or -EINVAL for an unknown listener or the
 * speaker itself (nothing changes then). */
int mx_mixer_set_audience(struct mx_mixer *m, int speaker, const int *listeners, int n);

/* Each tick: write each participant's frame (mx_mixer_frame samples, mono,
 * the room's rate) into mx_mixer_input, then mx_mixer_input_done with
 * present = false when it has none this tick, and its level in -dBov
 * (0 loudest, 127 silence; RFC 6464's audio level) when the packet told
 * it, or -1 to have it measured; then mx_mixer_run, then read the outputs.
 * A frame not present is silence (its input is zeroed) at level 127, or
 * at the level given (0..127): audio the packets said is quiet and that
 * was not decoded, which the VAD and the noise floor still follow. */
int16_t *mx_mixer_input(struct mx_mixer *m, int id);
void mx_mixer_input_done(struct mx_mixer *m, int id, bool present, int level);
/* The VAD: a frame is speech when its level is at most MX_MIXER_VAD_FLOOR
 * -dBov and MX_MIXER_VAD_ABOVE_NOISE dB above the participant's noise
 * floor; speech goes on for MX_MIXER_HANGOVER_MS after the last such frame. */
#define MX_MIXER_VAD_FLOOR 55
#define MX_MIXER_VAD_ABOVE_NOISE 9
#define MX_MIXER_HANGOVER_MS 300
/* The largest level (-dBov, 0..55) that id's next frame would need to be
 * speech (min(MX_MIXER_VAD_FLOOR, noise floor - 9)): a quieter frame (a
 * larger level) would not start or prolong its speech. -1: no such id. */
int mx_mixer_quiet_level(const struct mx_mixer *m, int id);
void mx_mixer_run(struct mx_mixer *m);
/* What participant id hears this tick (frame samples): NULL when deaf.
 * *shared (may be NULL) is true when it is the room's common mix, the
 * same buffer for every such listener (one encoding per codec setting). */
const int16_t *mx_mixer_output(const struct mx_mixer *m, int id, bool *shared);
/* The room's common mix this tick (what shared listeners hear). */
const int16_t *mx_mixer_shared(const struct mx_mixer *m);
bool mx_mixer_is_talker(const struct mx_mixer *m, int id);
/* The level mx_mixer_input_done took or measured, -dBov; -1: no such id. */
int mx_mixer_level(const struct mx_mixer *m, int id);

/* Talkers starting and stopping, oldest first (the oldest are dropped
 * past MX_MIXER_EVENTS). Returns 1 with *out, or 0. */
struct mx_mixer_event {
	int id;
	bool start;
	uint64_t frame; /* the tick's number since the room began */
};
int mx_mixer_next_event(struct mx_mixer *m, struct mx_mixer_event *out);

/* ------------------------------------------------------------------ */
/* A conference room on the media engine                                */

/* A room mixes its participants on the worker of its home call, on that
 * call's media clock: each participant is a terminated leg of a call in
 * the same shard (dp_call_create_in with the room's key, or
 * dp_call_colocate), with a way in concealing on the clock and a way out.
 * Participants with alike encoders and a ptime of one room frame share
 * one encoding of the common mix, each under its own SSRC, sequence and
 * timestamps; a talker (N-1) or a whisper's listener encodes its own. An
 * encoder that sat out a tick is primed with the last common mix frames
 * (cdc_sink_prime_frames: 40 ms for G.722) before it is used again, so
 * its state fits the receiver's decoder and switching does not click.
 * A participant joined with level_ext_id sends RFC 6464 audio levels:
 * unless it is a talker, its audio whose level is quieter than the
 * mixer's VAD would call speech (mx_mixer_quiet_level) is not decoded, the
 * mixer gets the level alone; a level loud enough is given to the mixer
 * with the decoded audio (mx_ep_in_set_quiet, mx_ep_in_level).
 * Control functions never wait for the worker; requests reach it at its
 * next tick. */
struct mx_room;

struct mx_room_conf {
	struct mx_mixer_conf mix;
};

struct mx_room_part_conf {
	struct cdc_src_conf in;   /* what it sends; out_rate/out_channels are the room's */
	struct cdc_sink_conf out; /* what it receives; in_rate/in_channels are the room's */
	uint32_t jb_min_ms, jb_max_ms; /* both 0: mx_conf_get's */
	uint8_t level_ext_id; /* RFC 6464 extmap id (1..14 one-byte, up to 255 two-byte); 0: none */
};

/* Control. NULL with *err = -EINVAL (bad conf) or what the dataplane refused. */
struct mx_room *mx_room_create(struct dp_call *home, const struct mx_room_conf *c, int *err);
/* Control: unhook every participant and stop the ticker without waiting;
 * the room is freed once the worker let go (a deferred release). */
void mx_room_destroy(struct mx_room *r);
/* Control: leg joins (it is hooked: its media stops being relayed).
 * Returns the participant's id (>= 0), or -EXDEV when the leg's call is
 * not on the room's worker, -ENOSPC, -EINVAL (codecs), -ENOMEM, -EBUSY
 * (too many requests in flight). */
int mx_room_join(struct mx_room *r, struct dp_leg *leg, const struct mx_room_part_conf *pc, int *err);
/* Control: unhook and leave, without waiting (the participant is freed
 * once its hook is gone and the worker applied the request). 0, -ENOENT
 * or -EBUSY. */
int mx_room_leave(struct mx_room *r, int pid);
/* Control: mute, deaf, gain; whisper (as mx_mixer_set_audience; at most
 * 16 listeners). 0, -ENOENT, -EINVAL or -EBUSY. */
int mx_room_set(struct mx_room *r, int pid, const struct mx_mixer_part_opts *o);
int mx_room_set_audience(struct mx_room *r, int speaker, const int *listeners, int n);

struct mx_room_part_stats {
	struct mx_ep_in_stats in;
	struct mx_ep_out_stats out;
	uint64_t frames_in;       /* ticks it had a frame for the mix */
	uint64_t frames_absent;   /* ticks it had none (silent, paused or not yet started) */
	uint64_t dropped_samples; /* decoded audio dropped: too much waiting */
	uint64_t frames_shared;   /* frames it got from its group's shared encoder */
	uint64_t primes;          /* encoders primed before it used them again */
	uint64_t frames_level;    /* frames mixed with the level its packets gave (not measured) */
	uint64_t frames_quiet;    /* ticks its packets' levels said quiet and were not decoded
				   * (the mixer got the level and no audio; not in frames_absent);
				   * in.level_skipped counts the packets, in.level_malformed the
				   * extension blocks that could not be read */
	bool grouped;             /* it has a shared encoder (ptime of one room frame) */
	bool talker;
	int level;                /* -dBov, the last tick's */
};
int mx_room_get_stats(struct mx_room *r, int pid, struct mx_room_part_stats *out);
uint64_t mx_room_ticks(const struct mx_room *r);
/* Control: tap t (NULL: none) gets the room's common mix every tick (mono,
 * the room's rate, MX_TAP_PCM_IN frames of one room frame; talkers and
 * playbacks, what a listener who is not talking hears): a recording of the
 * room. The room takes one reference (mx_tap_ref first); a tap replaced
 * stays the room's until it is destroyed. 0 or -EBUSY (too many taps
 * replaced). */
int mx_room_set_tap(struct mx_room *r, struct mx_tap *t);
/* Control: talker start/stop (ids are participant ids). 1 with *out, or 0. */
int mx_room_next_event(struct mx_room *r, struct mx_mixer_event *out);

/* Playback into a room: a player (mx_player, below) is mixed like a
 * participant without a leg that never listens: always mixed, on top of
 * the talkers (mx_mixer_set_always), so a prompt is heard whoever speaks;
 * it takes one of the mixer's participant slots while it plays. At most
 * MX_ROOM_PLAYERS play at once. Control: the room takes p (resampled to
 * the room's rate here) and owns it from then on, also on the worker's
 * side: it frees it once the worker let go. Returns the playback's id
 * (>= 0), or -ENOSPC (players or participant slots full), -ENOMEM,
 * -EBUSY (too many requests in flight); on error the caller keeps p. */
#define MX_ROOM_PLAYERS 4
int mx_room_play(struct mx_room *r, struct mx_player *p);
/* Control: stop playback id (without waiting): an event with stopped set
 * follows. 0, or -ENOENT (no such playback, or it ended already), -EBUSY. */
int mx_room_stop_play(struct mx_room *r, int id);
/* A playback that ended: played to the end (every repeat), or stopped
 * (mx_room_stop_play). A room destroyed while it plays reports nothing. */
struct mx_room_play_event {
	int id;
	bool stopped;
	uint64_t played_ms; /* audio it gave the mix, all repeats */
	uint64_t frame;     /* the room's tick when it ended */
};
/* Control: the next playback that ended, oldest first. 1 with *out, or 0. */
int mx_room_next_play_event(struct mx_room *r, struct mx_room_play_event *out);

/* ------------------------------------------------------------------ */
/* The 1:1 transcoding graph                                            */

/* One direction of a transcoded (or DTMF-masked) leg pair: leg `in`'s way
 * in (mx_ep_in) feeds leg `out`'s way out (mx_ep_out) on every media-clock
 * tick of the call, the two halves of a codecs/ chain (cdc_chain_split:
 * DTMF conversion and masking included) apart. A transcoded call is two
 * endpoints joined 1:1; the other direction is another mx_xcode, or plain
 * relaying. */
struct mx_xcode;

struct mx_xcode_conf {
	struct cdc_chain_conf chain;
	uint32_t jb_min_ms, jb_max_ms; /* both 0: mx_conf_get's */
};

/* Control: build the graph for legs in and out (of one call) and start
 * it: its ticker runs on the call's worker and leg in's hook feeds it.
 * NULL with *err = -EINVAL (the chain cannot be built), -ENOMEM, or what
 * the dataplane refused. */
struct mx_xcode *mx_xcode_create(struct dp_leg *in, struct dp_leg *out, const struct mx_xcode_conf *c,
				 int *err);
/* Control: stop it (leg in is unhooked, the ticker removed) without
 * waiting for the worker; it is freed, with any taps it still holds, once
 * the worker let go (a deferred release: dp_workers_reclaim). Leg in may
 * be destroyed at once after this. Accepts NULL. */
void mx_xcode_destroy(struct mx_xcode *x);
/* Control: hand the chain ng "play DTMF" / the DTMF mask (cdc.h). */
int mx_xcode_play_dtmf(struct mx_xcode *x, uint8_t event, uint32_t duration_ms, uint8_t volume);
int mx_xcode_set_dtmf_mask(struct mx_xcode *x, enum cdc_dtmf_mask mode, unsigned freq_hz);

struct mx_xcode_stats {
	struct cdc_chain_stats chain;
	struct mx_jb_stats jb;
	uint64_t clock_fills;  /* ticks that concealed a missing frame */
	uint64_t ticks;        /* clock ticks run */
	uint64_t sent;         /* packets dp_leg_send queued */
};
void mx_xcode_get_stats(const struct mx_xcode *x, struct mx_xcode_stats *out);
/* Control: attach tap t (NULL: detach) to what leg in hears (kind
 * MX_TAP_PCM_IN: the decoded audio, concealment included) or what the
 * graph sends out of leg out (MX_TAP_RTP_OUT). The worker sees the change
 * at its next tick. A tap replaced or detached stays the graph's until
 * mx_xcode_destroy frees it: the caller must not destroy it itself. */
int mx_xcode_set_tap(struct mx_xcode *x, enum mx_tap_kind kind, struct mx_tap *t);
/* The rate and channels of the PCM the PCM_IN tap carries. */
uint32_t mx_xcode_pcm_rate(const struct mx_xcode *x, unsigned *channels);

#endif
