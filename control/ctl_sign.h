/* SPDX-License-Identifier: MIT
 * ctl_sign: the client side of signed ng requests (the scheme:
 * docs/protocol.md, Authentication; the server side: ctl_auth.h). Used by
 * mediusctl, and by the tests as the C counterpart of
 * tests/tools/ng_sign.py. No sockets, no EAL; needs libcrypto.
 */
#ifndef CTL_SIGN_H
#define CTL_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ctl_val.h"

/* HMAC-SHA256 (RFC 2104) of the concatenated parts. */
void ctl_hmac_sha256(const uint8_t *key, size_t klen, const struct iovec *parts, int n, uint8_t out[32]);

/* Append "cookie SP body" signed by client with key at Unix time ts to
 * out; body is a bencoded or JSON dictionary (JSON: with at least one
 * member). 0, -EINVAL (not a dictionary), or out's error. */
int ctl_sign_request(struct ctl_buf *out, const char *cookie, const char *client, const uint8_t *key,
		     size_t klen, int64_t ts, const char *body, size_t blen);

/* Read a client's secret from a secrets file (the server's format:
 * "client-name base64secret" lines, '#' comments): the line for `client`,
 * or the first one when client is NULL; its name into name (65 bytes).
 * Refuses a file others may read or write. 0 or -errno, err set. */
int ctl_sign_key_file(const char *path, const char *client, char *name, uint8_t *key, size_t keycap,
		      size_t *klen, char *err, size_t errlen);

#endif
