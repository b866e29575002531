/* SPDX-License-Identifier: MIT
 * ctl_json: strict JSON (RFC 8259) codec for the ctl_val tree.
 *
 * Only the subset ng messages carry is accepted: objects, arrays, strings
 * and integers that fit int64. true/false decode to the integers 1/0; null
 * and numbers with a fraction or exponent are rejected. Decoding never calls
 * malloc: nodes and unescaped strings come from the arena, strings without
 * escapes point into the input buffer (which must outlive the tree).
 */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl_val.h"

/* Decode one JSON value from buf[0..len). Leading whitespace (space, tab,
 * CR, LF) is skipped, and so is the whitespace following the value; any
 * further bytes are left to the caller. On success *out is the tree
 * (allocated in arena a), *consumed the number of bytes used (consumed may
 * be NULL), return 0.
 * Errors: -EINVAL malformed, truncated or unsupported input (also for a NULL
 * a/out, or a NULL buf with len > 0), -EILSEQ a string that is not UTF-8
 * (RFC 3629: an overlong form, a surrogate encoded in UTF-8, a code point
 * above U+10FFFF, a stray continuation byte, a sequence cut short before
 * the next character) or a \u escape that is an unpaired surrogate (a high
 * one not followed by a \u low one, or a lone low one; refused rather than
 * replaced by U+FFFD, so a string never changes silently), -ERANGE integer out of int64 range,
 * -ENOMEM arena exhausted, -ELOOP nesting deeper than CTL_MAX_DEPTH (a
 * top-level scalar is depth 0, each array/object level adds 1). On error
 * *out and *consumed are untouched and the arena is rolled back to where it was
 * on entry. If errpos is non-NULL it receives the byte offset of the error
 * (only on error; len for truncated input, which includes a UTF-8 sequence
 * or a surrogate pair cut short by the end of buf: -EINVAL, more may come). */
int ctl_json_decode(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
		    size_t *consumed, size_t *errpos);

/* As ctl_json_decode, for documents rather than ng messages (mediusd's
 * /status.json, read by mediusctl top): also accepts null, which decodes to
 * the empty string, and numbers with a fraction or exponent (RFC 8259
 * grammar), which decode to a string holding the number's text (the
 * caller converts it, e.g. with strtod). Integers stay CTL_V_INT. */
int ctl_json_decode_doc(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
			size_t *consumed, size_t *errpos);

/* Append v as JSON to b. pretty=false: compact, no spaces
 * ({"a":1,"b":[1,2]}); pretty=true: 2-space indentation, one member per line,
 * '"key": value', like python json.dumps(indent=2), no trailing newline.
 * Empty containers are [] and {} in both modes. Strings and keys escape
 * '"', '\\', \b \f \n \r \t, other bytes < 0x20 and 0x7f as \u00XX; valid
 * UTF-8 sequences are copied, any byte not part of one is emitted as \u00XX
 * (Latin-1), so the output is always valid UTF-8.
 * Returns 0 or b->err (-ENOMEM/-E2BIG); -EINVAL for a NULL value, a node of
 * unknown type or depth > CTL_MAX_DEPTH. On error b->len is restored to its
 * value on entry (b->err stays set when it was the cause). */
int ctl_json_encode(const struct ctl_val *v, struct ctl_buf *b, bool pretty);

/* True when s[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF, no sequence cut short). */
bool ctl_utf8_valid(const char *s, size_t n);

#endif
