/* SPDX-License-Identifier: MIT
 * ctl_ng: the ng control protocol, independent of sockets.
 *
 * A request is a cookie, one space, and a dictionary, bencoded or (when it
 * starts with '{') JSON. The reply is the same cookie, a space, and a
 * dictionary in the request's encoding holding "result" ("ok", "pong" or
 * "error", with "error-reason"). Requests without a usable cookie are
 * dropped, since no reply could be matched to them. Replies are cached by
 * cookie so that a retransmission is answered, not executed twice.
 */
#ifndef CTL_NG_H
#define CTL_NG_H

#include <stddef.h>
#include <stdint.h>

struct ctl_ng;
struct ctl_ng_req;
struct ctl_val;
struct ctl_arena;

/* A command handler: reads the request's arguments, adds fields to the
 * reply, and returns 0, or -1 after ctl_ng_error(). `ctx` is the conf's. */
struct ctl_ng_cmd {
	const char *name; /* as on the wire: "offer", "start recording", ... */
	int (*fn)(struct ctl_ng_req *r, void *ctx);
};

/* Bounds of the identifiers in a request (bytes). A request with a longer
 * call-id, from-tag, to-tag or via-branch, or one holding a control byte or
 * invalid UTF-8, gets an error reply before any command runs. */
#define CTL_NG_MAX_CALL_ID 255
#define CTL_NG_MAX_TAG 127
/* The largest SDP an offer or answer may return: with the reply's other
 * fields (a warning is at most 511 bytes) it still fits one UDP datagram
 * (65,507 bytes). A larger one is an error, and the request changes nothing. */
#define CTL_NG_MAX_SDP_REPLY 64000

struct ctl_ng_conf {
	uint32_t cache_size;  /* replies kept for retransmissions */
	uint32_t cache_ms;    /* how long each is kept */
	size_t arena_bytes;   /* decode/build arena; bounds request complexity */
	const struct ctl_ng_cmd *cmds; /* commands beyond the built-in ping */
	size_t n_cmds;
	void *ctx;
};

/* For handlers: the request's dictionary, the arena replies are built in
 * (reset per request), the reply dictionary ("result" is added last, first
 * in order), and the time of the request (ms, monotonic). */
const struct ctl_val *ctl_ng_args(const struct ctl_ng_req *r);
struct ctl_arena *ctl_ng_arena(struct ctl_ng_req *r);
struct ctl_val *ctl_ng_reply(struct ctl_ng_req *r);
uint64_t ctl_ng_now_ms(const struct ctl_ng_req *r);
/* Set "result" (default "ok"; the string must outlive the request). */
void ctl_ng_set_result(struct ctl_ng_req *r, const char *result);
/* Fail the request: the reply becomes result "error" with this reason.
 * Returns -1, for `return ctl_ng_error(r, ...)`. */
int ctl_ng_error(struct ctl_ng_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As ctl_ng_error for a failure with errno value rc: when rc is -ENOMEM
 * the reason is "Out of memory: <what>" (e.g. "Out of memory: cannot
 * create the transcoder"), and it is counted (ctl_ng_stats.nomem);
 * otherwise just <what>. Returns -1. */
int ctl_ng_error_rc(struct ctl_ng_req *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add a warning to the reply's "warning" string (rtpengine's field), e.g.
 * for an unknown flag; several are joined with "; ". */
void ctl_ng_warning(struct ctl_ng_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct ctl_ng_stats {
	uint64_t requests;      /* requests with a cookie */
	uint64_t errors;        /* replies with result "error" */
	uint64_t retransmits;   /* answered from the cookie cache */
	uint64_t dropped;       /* no usable cookie: no reply */
	uint64_t commands;      /* commands executed */
	uint64_t nomem;         /* errors for want of memory (ctl_ng_error_rc with -ENOMEM) */
};

/* A protocol engine; NULL on bad configuration or no memory. */
struct ctl_ng *ctl_ng_create(const struct ctl_ng_conf *conf);
/* Free it; accepts NULL. */
void ctl_ng_destroy(struct ctl_ng *ng);
/* Make it as ctl_ng_create made it, its commands now run on ctx: every
 * cached reply, counter and peer forgotten, the arena and reply buffer
 * kept. For harnesses that run many independent request sequences (the
 * fuzz targets: a fresh engine is a 256 KB arena each time). 0, or -ENOMEM
 * (the cache could not be made again; only ctl_ng_destroy then). */
int ctl_ng_reset(struct ctl_ng *ng, void *ctx);

/* Handle one whole request (a UDP datagram). Returns 0 with *reply and *len set
 * to the bytes to send back (valid until the next call), or -EBADMSG when
 * the request is dropped. now_ms is a monotonic clock for the cache. */
int ctl_ng_handle(struct ctl_ng *ng, const char *req, size_t len, uint64_t now_ms,
		  const char **reply, size_t *reply_len);

/* For stream transports (TCP): find where the first request in buf ends.
 * Returns 0 with *msg_len set when a whole request is there; -EAGAIN when
 * more bytes are needed; -EBADMSG when buf cannot start a valid request (the
 * connection should then get an error and be closed). */
int ctl_ng_frame(struct ctl_ng *ng, const char *buf, size_t len, size_t *msg_len);

void ctl_ng_get_stats(const struct ctl_ng *ng, struct ctl_ng_stats *out);
/* The same, from a handler. */
void ctl_ng_req_stats(const struct ctl_ng_req *r, struct ctl_ng_stats *out);
/* Requests (with a cookie, retransmissions not counted) and error replies
 * per command, for metrics: slot i in 0..ctl_ng_cmd_count()-1 names its
 * command (ping, then the conf's commands); the last slot is "" and counts
 * requests that named no known command (undecodable, no "command", an
 * unknown one). */
size_t ctl_ng_cmd_count(const struct ctl_ng *ng);
const char *ctl_ng_cmd_stats(const struct ctl_ng *ng, size_t i, uint64_t *requests, uint64_t *errors);

/* --- hooks for the request guard (ctl_guard) --- */
struct sockaddr;
/* The source of the requests handled next (NULL: unknown); handlers read
 * it with ctl_ng_peer. The pointer must stay valid while they run. */
void ctl_ng_set_peer(struct ctl_ng *ng, const struct sockaddr *peer);
const struct sockaddr *ctl_ng_peer(const struct ctl_ng_req *r);
/* Would ctl_ng_handle answer req from the reply cache (a retransmission)? */
int ctl_ng_is_retransmit(struct ctl_ng *ng, const char *req, size_t len, uint64_t now_ms);
/* Refuse req without running it: an error reply with `reason`, in the
 * request's encoding, counted as an error and not cached (the cookie stays
 * free for a good request). 0 with *reply set as ctl_ng_handle does, or
 * -EBADMSG when req has no usable cookie (dropped, counted). */
int ctl_ng_refuse(struct ctl_ng *ng, const char *req, size_t len, const char *reason, const char **reply,
		  size_t *reply_len);

#endif
