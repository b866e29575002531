/* SPDX-License-Identifier: MIT
 * rec_int: what recording/'s files share; private to recording/.
 *
 * A sink is one output file. The recorder thread gives it audio (PCM,
 * interleaved, at the recording's rate) or packets, asks it to make what
 * it has durable (sync), and closes it when the recording ends. Sinks
 * write NAME.part; rec_rec.c renames. Encryption at rest (a later part)
 * slots in as a sink that wraps another one's bytes, or as a finalise
 * step between close and rename (rec_finalise_hook below).
 */
#ifndef REC_INT_H
#define REC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rec.h"

struct rec_pkt {
	const uint8_t *data;
	uint16_t len;
	uint64_t wall_ns;                 /* CLOCK_REALTIME when it arrived */
	const struct sockaddr_storage *src, *dst;
};

struct rec_sink;

struct rec_sink_ops {
	/* frames interleaved frames of the sink's channels. 0 or -errno. */
	int (*pcm)(struct rec_sink *s, const int16_t *pcm, size_t frames);
	/* one packet (pcap). 0 or -errno. */
	int (*packet)(struct rec_sink *s, const struct rec_pkt *p);
	/* headers up to date and data on disk (fsync). 0 or -errno. */
	int (*sync)(struct rec_sink *s);
	/* finalise (trailers, real sizes), sync and close; frees s. 0 or -errno. */
	int (*close)(struct rec_sink *s);
};

struct rec_sink {
	const struct rec_sink_ops *ops;
	char path[REC_PATH_MAX];    /* the final path (the file is path + ".part" until renamed) */
	const char *format;         /* "wav", "opus", "pcap" */
	unsigned channels;
	int error;                  /* the first failure (-errno): the sink is given nothing more */
	uint64_t failed_at_ms;      /* where on the timeline it failed */
};

/* Each opens path.part (O_EXCL) and fills the struct's common part. NULL
 * with *err. */
struct rec_sink *rec_wav_open(const char *path, uint32_t rate, unsigned channels, int *err);
struct rec_sink *rec_ogg_open(const char *path, uint32_t rate, unsigned channels, const char *title, int *err);
struct rec_sink *rec_pcap_open(const char *path, int *err);

/* Recovery of one NAME.part file (rec_recover): make it valid in place.
 * 0 or -errno. */
int rec_wav_fix(const char *part);
int rec_ogg_fix(const char *part);
int rec_pcap_fix(const char *part);

/* The sidecar (rec_meta.c): what it says, written whole to base.json via
 * base.json.tmp, fsync and rename, so a reader never sees half of one. */
struct rec_event {
	enum rec_event_type type;
	int channel;                /* -1: the recording as a whole */
	uint64_t at_ms, dur_ms;     /* on the timeline */
	uint64_t wall_ms;           /* CLOCK_REALTIME when it began */
	uint64_t count;             /* packets or frames, where it applies */
	int error;                  /* REC_EV_WRITE_ERROR: -errno */
	int file;                   /* REC_EV_WRITE_ERROR: which file */
};
#define REC_EVENTS_MAX 1000     /* kept in the sidecar; beyond, only counted */

struct rec_meta {
	const char *id, *call_id, *from_tag, *to_tag, *metadata, *state;
	const char *party[2];
	const char *files[4], *formats[4];
	unsigned n_files;
	uint32_t rate;
	unsigned channels;
	uint64_t started_wall_ms, ended_wall_ms, duration_ms;
	const struct rec_event *ev;
	unsigned n_ev;
	const uint64_t *ev_counts;  /* REC_EV__COUNT */
	uint64_t overruns[2], lost[2];
};
int rec_meta_write(const char *base, const struct rec_meta *m);
/* Recovery: a sidecar saying "recording" or "paused" says "incomplete". */
int rec_meta_mark_incomplete(const char *json_path); /* 1 marked, 0 nothing to do, -errno */

/* Where later parts hook in: every state change of a recording
 * ("started", "paused", "resumed", "stopped", "finalised", "recovered")
 * goes through rec_emit (rec_rec.c), on the thread it happens on; today it
 * only logs. The audit log (hash-chained) and the HTTP notification will
 * subscribe here. */
void rec_emit(const char *what, const char *id, const char *path, const char *detail);

uint64_t rec_wall_ms(void);

#endif
