/* SPDX-License-Identifier: MIT
 * rec_core: a recording's insides, shared by rec_rec.c (the recording,
 * its timeline, its thread) and rec_src.c (its sources: rings, decoding,
 * placing on the timeline). Private to those two files.
 */
#ifndef REC_CORE_H
#define REC_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>

#include "rec_int.h"

#define PERIOD_MS 20
#define LAG_MS 200         /* audio is written this long after it is due */
#define BUF_S 4            /* seconds of each channel held ahead of what was written */
#define CHUNK 960          /* frames per write */
#define RTP_SLOT 1024      /* bytes of an RTP source's ring slot */
#define MAX_DEC 5760       /* samples per channel one packet decodes to (120 ms at 48 kHz) */

struct codec_slot {
	uint8_t pt;
	struct cdc_format f;
	struct cdc_dec *dec;
	struct cdc_resampler *rs;
	bool tried;
};

struct rec_src {
	struct rec *r;
	struct rec_src_conf c;
	struct mx_tap *tap;     /* one reference is the source's */
	/* shared (r->mu) */
	bool removing, conf_changed;
	uint64_t drained_ov_pub;  /* drained_ov as of the last publish */
	struct rec_src_conf new_conf;
	struct rec_src *next_new;
	/* the thread's */
	struct rec_src *next;
	struct codec_slot slot[REC_MAX_CODECS];
	bool anchored, have_seq, tap_seq_valid;
	uint32_t ssrc, anchor_ts, next_ts, tap_seq_next, clock;
	uint16_t last_seq;
	int64_t anchor_pos, next_pos;
	uint64_t pending_overrun;
	uint64_t drained_ov;      /* overruns the frame numbers showed so far */
	struct cdc_resampler *pcm_rs;
	uint32_t pcm_rate;
};

struct rec {
	struct rec_params p;
	char id[REC_ID_LEN + 1];
	struct rec_sink *sink[4];
	unsigned n_sink;
	int leg_sink[2], pcap_sink, err_ev[4];
	unsigned main_ch;
	uint32_t rate;
	uint64_t t0_tsc, hz, t0_wall_ns, started_ms;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	/* shared (mu) */
	bool stopping, paused, meta_changed, kick;
	char metadata[REC_META_MAX], party[2][256];
	struct rec_src *news;
	struct rec_stats st;
	/* the thread's */
	struct rec_src *srcs;
	bool was_paused;
	int pause_ev;
	int64_t flushed;
	int16_t *chb[2];
	size_t nb;
	struct rec_event *ev;
	unsigned n_ev;
	bool dirty;
	uint64_t last_sync_ms, last_meta_ms;
	struct rec_stats my;  /* the thread's counters, copied to st under mu */
	int16_t dec[MAX_DEC * 2], mono[MAX_DEC], res[MAX_DEC * 2], out[CHUNK * 2], leg[CHUNK];
	uint8_t fbuf[65536];
};

static inline int64_t ms_to_samples(const struct rec *r, uint64_t ms) { return (int64_t)(ms * r->rate / 1000u); }
static inline uint64_t samples_to_ms(const struct rec *r, int64_t n) { return n > 0 ? (uint64_t)n * 1000u / r->rate : 0; }

static inline int64_t pos_of(const struct rec *r, uint64_t tsc)
{
	uint64_t d;

	if (tsc <= r->t0_tsc)
		return 0;
	d = tsc - r->t0_tsc;
	return (int64_t)(d / r->hz * r->rate + d % r->hz * r->rate / r->hz);
}

static inline int64_t now_pos(const struct rec *r) { return pos_of(r, rte_rdtsc()); }

static inline uint64_t wall_ns_of(const struct rec *r, uint64_t tsc)
{
	uint64_t d = tsc > r->t0_tsc ? tsc - r->t0_tsc : 0;

	return r->t0_wall_ns + d / r->hz * 1000000000u + d % r->hz * 1000000000u / r->hz;
}

/* rec_rec.c, on the recording's thread */
void rec_add_event(struct rec *r, enum rec_event_type t, int ch, int64_t at, int64_t dur, uint64_t count,
		   int error, int file);
/* Put n samples of channel ch at position pos (writing out the past first
 * when pos lies beyond the 4 s held). */
void rec_place(struct rec *r, unsigned ch, int64_t pos, const int16_t *pcm, size_t n);
/* Sink i failed with err: an event, the alarm, a log line. */
void rec_sink_failed(struct rec *r, unsigned i, int err);
/* Wake the thread (r->mu held). */
void rec_kick(struct rec *r);
/* rec_notify.c: the finalised hook (rec_set_final_hook), from finalise(),
 * on the recording's thread; the sinks hold the final paths. */
void rec_final_notify(struct rec *r, bool ok);
/* rec_src.c, on the recording's thread */
/* Take what source s's ring holds (paused: count it, keep nothing). */
void rec_drain(struct rec *r, struct rec_src *s, bool paused);
void rec_src_free(struct rec_src *s);
/* Take the configuration rec_src_update left (r->mu held). */
void rec_src_take_conf(struct rec_src *s);

#endif
