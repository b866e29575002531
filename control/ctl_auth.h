/* SPDX-License-Identifier: MIT
 * ctl_auth: signed ng requests. Each client shares a secret with medius
 * ("[control] auth_keys", lines "client-name base64secret") and signs every
 * request with HMAC-SHA256 over the cookie, its name, a Unix timestamp and
 * the request's exact bytes. The signature rides in the request dictionary
 * as its first member, "auth" = {client, ts, hmac}, so ng framing is
 * unchanged for anything in between. The scheme, its reasons and a worked
 * example are in docs/protocol.md (Authentication).
 *
 * Verification: the signature must be good, the timestamp within
 * window_s of medius's clock, and (client, cookie, timestamp) not seen
 * before (a replay cache that keeps each entry while its timestamp is in
 * the window). A retransmission (same cookie, answered from the ng reply
 * cache) is not a replay: ctl_auth_remember is called only for requests
 * that would be executed.
 *
 * Control lcore only; allocates at creation and when loading keys only.
 */
#ifndef CTL_AUTH_H
#define CTL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CTL_AUTH_MAX_CLIENTS 256
#define CTL_AUTH_CLIENT_MAX 64    /* bytes of a client name: [A-Za-z0-9._-] */
#define CTL_AUTH_KEY_MIN 16       /* bytes of a secret (decoded) */
#define CTL_AUTH_KEY_MAX 64

enum ctl_auth_mode { CTL_AUTH_OFF, CTL_AUTH_OPTIONAL, CTL_AUTH_REQUIRED };

/* Why a request was refused. Counted per reason (ng statistics), each
 * with its ng error-reason (ctl_refusal_reason). */
enum ctl_refusal {
	CTL_REFUSE_NONE = 0,
	CTL_REFUSE_NOT_ALLOWED,   /* source not in [control] allow (no reply over UDP) */
	CTL_REFUSE_RATE,          /* max_ng_rps */
	CTL_REFUSE_RATE_SOURCE,   /* max_ng_rps_per_source */
	CTL_REFUSE_UNSIGNED,      /* auth = required, no auth member */
	CTL_REFUSE_MALFORMED,     /* an auth member that is not {client, ts, hmac} */
	CTL_REFUSE_UNKNOWN_CLIENT,
	CTL_REFUSE_STALE,         /* timestamp outside the window */
	CTL_REFUSE_BAD_SIGNATURE,
	CTL_REFUSE_REPLAY,
	CTL_REFUSE__COUNT
};

/* The counter's name in statistics ("bad signature", ...). */
const char *ctl_refusal_name(enum ctl_refusal r);
/* The ng error-reason sent back. */
const char *ctl_refusal_reason(enum ctl_refusal r);
/* Parse "off", "optional", "required". 0 or -EINVAL. */
int ctl_auth_mode_parse(const char *s, enum ctl_auth_mode *out);
const char *ctl_auth_mode_name(enum ctl_auth_mode m);

struct ctl_auth;

/* A verifier: window_s seconds either side of now; a replay cache of
 * replay_slots entries (rounded up to a power of two). NULL on no memory. */
struct ctl_auth *ctl_auth_create(enum ctl_auth_mode mode, uint32_t window_s, uint32_t replay_slots);
void ctl_auth_destroy(struct ctl_auth *a);
enum ctl_auth_mode ctl_auth_mode(const struct ctl_auth *a);
/* Add one client. 0, -EINVAL (bad name or key length), -EEXIST, -ENOSPC. */
int ctl_auth_add_key(struct ctl_auth *a, const char *client, const uint8_t *key, size_t n);
/* Load a secrets file: "client-name base64secret" per line, '#' comments,
 * blank lines. Refused (nothing loaded) when the file is readable or
 * writable by others than its owner and group, or any line is bad; err
 * says which. 0 or -errno. */
int ctl_auth_load_keys(struct ctl_auth *a, const char *path, char *err, size_t errlen);
unsigned ctl_auth_clients(const struct ctl_auth *a);

/* What verification found; valid while req is. */
struct ctl_auth_sig {
	bool present;      /* the request has an auth member */
	int client;        /* index of the client, -1 unknown */
	int64_t ts;
	const char *cookie;
	size_t cookie_len;
	char name[CTL_AUTH_CLIENT_MAX + 1];
};

/* Check req ("cookie SP body", the whole request) at Unix time now_s.
 * CTL_REFUSE_NONE when the request may proceed: it is signed correctly, or
 * it is unsigned and the mode allows that (sig->present tells). With mode
 * off nothing is checked. */
enum ctl_refusal ctl_auth_verify(struct ctl_auth *a, const char *req, size_t len, int64_t now_s,
				 struct ctl_auth_sig *sig);
/* A verified, signed request is about to be executed: CTL_REFUSE_REPLAY if
 * its (client, cookie, ts) was seen within the window, else it is recorded. */
enum ctl_refusal ctl_auth_remember(struct ctl_auth *a, const struct ctl_auth_sig *sig, int64_t now_s);
/* Replay-cache entries evicted while still live (the cache was too small). */
uint64_t ctl_auth_evictions(const struct ctl_auth *a);

/* (HMAC-SHA256 itself, and signing: ctl_sign.h) */
/* The signed region of body (the bytes after the cookie's space): where it
 * starts and ends, and the auth member's value; 0, -ENOENT when there is
 * no auth member, -EINVAL when it is malformed. For the tests and tools. */
int ctl_auth_locate(const char *body, size_t len, size_t *start, size_t *end, size_t *val, size_t *val_len);

#endif
