/* SPDX-License-Identifier: MIT
 * rec: compliance recording (issue 13), the folder's public door.
 *
 * A recording (struct rec) is one call's files: a main audio file (stereo
 * WAV with the caller left and the callee right, mixed mono WAV, or stereo
 * Ogg Opus), optionally one mono WAV per leg and a pcap of the decrypted
 * RTP, and a sidecar JSON file with its metadata and events (gaps, pauses,
 * write errors). Each recording has one thread off the workers that drains
 * its sources, decodes, aligns both channels on one timeline, and writes.
 *
 * Sources are rings (mixer/ taps, struct mx_tap) filled on a worker:
 *  - REC_SRC_RTP: the RTP packets a relayed leg accepted (decrypted),
 *    copied by the dataplane (dp_leg_set_rec with rec_src_rtp_fn); the
 *    recorder decodes them with codecs/ decoders, by payload type.
 *  - REC_SRC_PCM: the decoded audio a terminated leg's graph hears (a
 *    mixer/ MX_TAP_PCM_IN tap: mx_xcode_set_tap), DTMF masking applied.
 * Frames lost because a ring was full (overruns), packets lost on the
 * network, pauses and write errors become silence in the audio and are
 * marked as events in the sidecar; nothing is lost silently.
 *
 * Files are written as NAME.EXT.part and renamed to NAME.EXT when the
 * recording is finalised; rec_recover() finalises what a crash left.
 *
 * Threads: every function here runs on the control lcore (or any one
 * thread that owns the recording), except rec_src_rtp_fn, which the
 * dataplane calls on the worker. Later parts (encryption at rest,
 * retention, the audit log, HTTP notification) hook in at the places
 * named in rec_int.h.
 */
#ifndef REC_H
#define REC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cdc.h"
#include "mx.h"
#include "rec_audit.h" /* the audit log and retention */

#define REC_PATH_MAX 1024
#define REC_ID_LEN 16        /* hex characters of a recording id */
#define REC_META_MAX 4096    /* bytes of ng metadata kept */
#define REC_MAX_CODECS 16    /* payload types one RTP source decodes */

enum rec_format {
	REC_FMT_WAV,      /* stereo WAV: channel 0 (caller) left, 1 (callee) right */
	REC_FMT_WAV_MONO, /* one channel: both mixed */
	REC_FMT_OPUS,     /* stereo Ogg Opus (libopusenc) */
};

/* Parse "wav", "mono" / "wav-mono", "opus" / "ogg". -EINVAL for others. */
int rec_format_parse(const char *s, enum rec_format *out);
const char *rec_format_name(enum rec_format f);

struct rec_params {
	char base[REC_PATH_MAX];    /* path without extension: files are base.wav, base.json, ... */
	char id[REC_ID_LEN + 1];    /* rec_new_id(); "": one is made */
	char call_id[256], from_tag[256], to_tag[256];
	char metadata[REC_META_MAX];
	enum rec_format format;
	bool per_leg;               /* also base-caller.wav and base-callee.wav (mono) */
	bool pcap;                  /* also base.pcap: the decrypted RTP */
	uint32_t rate;              /* the files' sample rate: 8000, 16000 or 48000 */
	unsigned fsync_ms;          /* written data is fsync'ed at least this often (50..1000) */
};

/* The events marked in the sidecar (docs/recording.md). */
enum rec_event_type {
	REC_EV_LOSS,        /* packets lost on the network (an RTP sequence gap) */
	REC_EV_OVERRUN,     /* frames dropped because the recorder's ring was full */
	REC_EV_PAUSE,       /* pause recording ... start recording */
	REC_EV_WRITE_ERROR, /* a file could not be written (disk full, I/O error) */
	REC_EV_LATE,        /* media that came after its place was written (dropped) */
	REC_EV__COUNT
};
const char *rec_event_name(enum rec_event_type t);

struct rec_stats {
	uint64_t frames[2];          /* frames or packets taken from each channel's sources */
	uint64_t overruns[2];        /* frames the rings dropped (counted by the taps) */
	uint64_t lost[2];            /* RTP packets missing in sequence */
	uint64_t events[REC_EV__COUNT];
	uint64_t samples_written;    /* per channel, in the main file */
	uint64_t write_errors;       /* failed writes (the alarm) */
	int error;                   /* the first write error (-errno), 0 none */
	bool paused;
	uint64_t duration_ms;        /* the timeline so far */
};

struct rec;

/* Start a recording: make the files (base.*.part, mode 0640, parent
 * directories made) and the sidecar, then the thread. The timeline starts
 * now. NULL with *err = -EEXIST (a file of that name exists), -EINVAL (bad
 * params), or what open/pthread_create said. */
struct rec *rec_create(const struct rec_params *p, int *err);
/* The recording's id (hex, REC_ID_LEN) and its main file's final path. */
const char *rec_id(const struct rec *r);
const char *rec_path(const struct rec *r);
/* The final path of file i (0: main, then per-leg, pcap), NULL past the last. */
const char *rec_file(const struct rec *r, unsigned i);
/* Pause (true) or resume: while paused the sources' media is discarded and
 * the timeline runs on in silence, marked as a pause event. */
void rec_set_paused(struct rec *r, bool paused);
/* Replace the metadata string (written to the sidecar). */
void rec_set_metadata(struct rec *r, const char *metadata);
/* Name channel ch's party in the sidecar (its SIP tag). */
void rec_set_party(struct rec *r, unsigned ch, const char *tag);
void rec_get_stats(const struct rec *r, struct rec_stats *out);
/* Stop: the thread writes what its sources still hold, finalises the files
 * (headers with their real sizes, .part renamed away, sidecar "complete")
 * and frees the recording; this returns at once. Remove every source
 * first. Accepts NULL. */
void rec_stop(struct rec *r);
/* At exit: wait up to timeout_ms for stopped recordings to finish. Returns
 * how many are still running. */
unsigned rec_wait_all(unsigned timeout_ms);

/* Sources */
enum rec_src_kind { REC_SRC_RTP, REC_SRC_PCM };

struct rec_src_conf {
	enum rec_src_kind kind;
	unsigned channel;           /* 0 caller (left), 1 callee (right) */
	unsigned ring_frames;       /* slots in the ring (a power of 2; 0: 256, about 5 s of 20 ms) */
	/* REC_SRC_RTP: how to decode, by payload type */
	struct { uint8_t pt; struct cdc_format f; } codecs[REC_MAX_CODECS];
	unsigned n_codecs;
	/* REC_SRC_RTP with a pcap: the addresses its packets are shown with */
	struct sockaddr_storage pcap_src, pcap_dst;
	/* REC_SRC_PCM: the largest frame, in bytes (rate / 50 * channels * 2) */
	uint32_t max_frame_bytes;
};

struct rec_src;

/* Add a source to r. Its ring is made here, and the source holds one
 * reference to it: rec_src_tap() gives it, for mx_xcode_set_tap
 * (REC_SRC_PCM: take a reference for the graph first, mx_tap_ref) or for
 * dp_leg_set_rec (REC_SRC_RTP: give rec_src_rtp_fn and the source). NULL
 * with *err. */
struct rec_src *rec_src_add(struct rec *r, const struct rec_src_conf *c, int *err);
struct mx_tap *rec_src_tap(struct rec_src *s);
/* New codecs and pcap addresses for an RTP source (a re-answer, a latch). */
void rec_src_update(struct rec_src *s, const struct rec_src_conf *c);
/* Remove a source once its producer stopped or is stopping
 * (dp_leg_set_rec(NULL) returned, or mx_xcode_set_tap(NULL) was called):
 * returns at once; the thread takes what the ring still holds, marks
 * frames the ring dropped after its last one, and drops its reference to
 * the ring. The source must not be used after this. */
void rec_src_remove(struct rec *r, struct rec_src *s);
/* The dataplane's copy function for REC_SRC_RTP (dp_rec_fn): worker. */
void rec_src_rtp_fn(void *ctx, const uint8_t *pkt, uint16_t len, uint64_t arrival_tsc);

/* The "finalised" hook (the HTTP notification, issue 13): after a
 * recording's files are renamed into place and its sidecar says
 * "complete", fn(ctx, f) runs on that recording's thread. Everything in f
 * lives only for the call. Set it once, before the first recording (NULL:
 * none); control/ registers it (ctl_rec_notify.c), recording/ knows
 * nothing of HTTP. */
struct rec_final {
	const char *id, *call_id, *from_tag, *to_tag, *metadata;
	const char *path;          /* the main file */
	const char *sidecar;       /* base.json */
	const char *files[4];      /* every file, [0] = path */
	const char *formats[4];    /* "wav", "opus", "pcap" */
	unsigned n_files;
	bool ok;                   /* no write error */
	uint64_t started_wall_ms, ended_wall_ms, duration_ms;
};
typedef void (*rec_final_fn)(void *ctx, const struct rec_final *f);
void rec_set_final_hook(rec_final_fn fn, void *ctx);

/* Recovery, at start-up before any recording: under root (recursively),
 * every NAME.part file is finalised (WAV header sizes from the file's
 * length, Ogg cut after its last whole page, pcap after its last whole
 * record) and renamed to NAME, and every sidecar still saying "recording"
 * or "paused" says "incomplete" with the time it was recovered. Returns
 * the number of files finalised, or -errno for an unreadable root. */
int rec_recover(const char *root);

/* Paths. Expand an output pattern into out (REC_PATH_MAX): %% %c (call-id)
 * %r (random id) %t (from-tag) %T (to-tag) %Y %m %d %H %M %S %u (time of
 * start) %{key} (from metadata "key:value|...") %N (the next N characters
 * of the call-id, cumulative). Call-id, tags and metadata values have every
 * character outside [A-Za-z0-9._@+=-] replaced by '_'. Returns 0, -EINVAL
 * (unknown sequence, empty result, a ".." or "." component, a leading
 * '/'), -ENAMETOOLONG. */
int rec_pattern_expand(const char *pattern, const struct rec_params *p, const char *id, char *out);
/* Resolve dir (absolute, or relative to root) and require it to exist and
 * to lie inside root (realpath, as play media's play_dir check): the
 * resolved path into out (REC_PATH_MAX). 0, -ENOENT, -EACCES (outside). */
int rec_dir_resolve(const char *root, const char *dir, char *out);
/* A fresh random id (REC_ID_LEN hex characters and a NUL). */
void rec_new_id(char id[REC_ID_LEN + 1]);

#endif
