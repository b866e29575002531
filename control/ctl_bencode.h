/* SPDX-License-Identifier: MIT
 * ctl_bencode: bencode (BEP 3) decoder and encoder over the ctl_val tree.
 *
 * The decoder is strict about syntax (no leading zeros, no "-0", lengths
 * within the buffer, integers within int64, nesting within CTL_MAX_DEPTH)
 * and lenient only where real ng peers need it: dictionary keys may arrive
 * unsorted, and duplicate keys are kept (lookups see the first).
 */
#ifndef CTL_BENCODE_H
#define CTL_BENCODE_H

#include "ctl_val.h"

/* Decode one bencoded value from buf[0..len). On success *out is the tree
 * (nodes in arena a; strings point into buf), *consumed the bytes used, and 0
 * is returned; bytes after the value are left for the caller. Errors:
 * -EINVAL malformed or truncated, -ERANGE integer outside int64, -ELOOP
 * nesting deeper than CTL_MAX_DEPTH, -ENOMEM arena exhausted. On error the
 * out-parameters are untouched, except errpos (if not NULL) which receives
 * the offset where decoding failed. */
int ctl_bencode_decode(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
		       size_t *consumed, size_t *errpos);

/* Append v bencoded to b, dictionary members in tree order. Returns 0, the
 * buffer's error (-ENOMEM, -E2BIG), or -EINVAL for a NULL value or nesting
 * deeper than CTL_MAX_DEPTH. */
int ctl_bencode_encode(const struct ctl_val *v, struct ctl_buf *b);

#endif
