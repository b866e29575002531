/* SPDX-License-Identifier: MIT
 * ctl_sdp_int: the helpers shared by the files behind ctl_sdp.h. Not a
 * public header: nothing but control/ctl_sdp*.c includes it.
 *
 *   ctl_sdp.c        the model's memory (a chain of blocks) and the parser
 *   ctl_sdp_lex.c    lexical helpers: blanks, numbers, tokens, addresses
 *   ctl_sdp_attr.c   attributes: parsed forms; insert, replace, remove
 *   ctl_sdp_query.c  queries: payload types, codecs, c=, direction, lookup
 *   ctl_sdp_write.c  the writer and structural equality
 *   ctl_sdp_edit.c   edits: o=, c=, a=rtcp, rtcp-mux, ICE, direction, ptime
 *   ctl_sdp_srtp.c   edits: transport protocol and SDES (a=crypto)
 *   ctl_sdp_codec.c  edits: codec lists (remove, keep, add, reorder)
 */
#ifndef CTL_SDP_INT_H
#define CTL_SDP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_sdp.h"

/* ------------------------------------------------------------------ */
/* Memory (ctl_sdp.c)                                                   */

/* n bytes (rounded up to 16) from s's chain of blocks, living until
 * ctl_sdp_free; NULL on ENOMEM. */
void *ctl_sdp_mem_alloc(struct ctl_sdp *s, size_t n);
/* A NUL-terminated copy of p[0..n) in s's memory; NULL on ENOMEM. */
char *ctl_sdp_mem_strndup(struct ctl_sdp *s, const char *p, size_t n);
/* Make room for element n of the array *v (*cap allocated, at most limit
 * elements of elem bytes), moving it to a larger allocation when full.
 * Returns 0, -E2BIG (n >= limit), -ENOMEM. */
int ctl_sdp_grow(struct ctl_sdp *s, void **v, unsigned *cap, unsigned n, unsigned limit,
		 size_t elem);

/* ------------------------------------------------------------------ */
/* Lexical helpers (ctl_sdp_lex.c)                                      */

struct ctl_sdp_tok {
	const char *p;
	size_t n;
};

/* Split v on runs of spaces/tabs into t[0..max); returns how many tokens
 * there are, max + 1 meaning "more than max". */
unsigned ctl_sdp_tokenize(const char *v, struct ctl_sdp_tok *t, unsigned max);
/* True when token t is exactly the string s. */
bool ctl_sdp_tok_is(const struct ctl_sdp_tok *t, const char *s);
/* p[0..n) is 1..19 decimal digits with a value <= max: true and *out set. */
bool ctl_sdp_parse_num(const char *p, size_t n, uint64_t max, uint64_t *out);
/* p[0..n) is 1..12 decimal digits with a value in 1..max: true and *out set. */
bool ctl_sdp_num_val(const char *p, size_t n, uint64_t max, uint64_t *out);
/* True for an m= proto: token *("/" token). */
bool ctl_sdp_is_proto(const char *p);
/* True when v has no control characters but tab. */
bool ctl_sdp_text_ok(const char *v);
/* NULL when addr is a numeric address of addrtype ("IP4", "IP6"); else the
 * reason, written to why. */
const char *ctl_sdp_addr_check(const char *addrtype, const char *addr, char why[160]);

/* ------------------------------------------------------------------ */
/* Attributes (ctl_sdp_attr.c)                                          */

/* Build *a from name and value (value NULL: a property), copying both into
 * s's memory when copy is set. A malformed known attribute is an error in
 * RTP media and plain text elsewhere. Returns 0, -EINVAL (why set),
 * -ENOMEM. */
int ctl_sdp_attr_make(struct ctl_sdp *s, const struct ctl_sdp_media *m, const char *name,
		      const char *value, bool copy, struct ctl_sdp_attr *a, char why[160]);
/* m's attribute list, or the session's when m is NULL. */
struct ctl_sdp_attrs *ctl_sdp_attrs_of(struct ctl_sdp *s, struct ctl_sdp_media *m);

/* ------------------------------------------------------------------ */
/* What the writer accepts (ctl_sdp_write.c)                            */

/* A field of o=, c=, m=: non-empty, no blanks or control characters. */
bool ctl_sdp_field_ok(const char *v);
/* A free-text value: not NULL, no CR, LF or other control characters but
 * tab. */
bool ctl_sdp_value_ok(const char *v);

/* ------------------------------------------------------------------ */
/* Edits (ctl_sdp_edit.c)                                               */

/* printf into s's memory (at most 511 bytes); NULL when longer or on
 * ENOMEM. */
__attribute__((format(printf, 2, 3))) const char *ctl_sdp_printf(struct ctl_sdp *s,
								  const char *fmt, ...);

#endif
