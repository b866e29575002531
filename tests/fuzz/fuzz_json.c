/* SPDX-License-Identifier: MIT
 * libFuzzer target for control/ctl_json: decode, and for every accepted
 * input check that encode -> decode reproduces the tree.
 *
 * The decoder passes invalid UTF-8 in string bytes through, while the
 * encoder turns such bytes into \u00XX (Latin-1), which decode back as
 * two-byte UTF-8. So the exact round trip is required only when every string
 * and key of the first tree is valid UTF-8; otherwise the re-decoded tree
 * must be valid UTF-8 and a fixed point of encode -> decode.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl_json.h"
#include "ctl_val.h"

#define ARENA_SIZE (64u << 10)

static struct ctl_arena arena;
static struct ctl_buf out1, out2;

/* Independent strict UTF-8 check (RFC 3629). */
static bool utf8_ok(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 2;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 3;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 4;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (n - i < k)
			return false;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k;
	}
	return true;
}

static bool tree_utf8_ok(const struct ctl_val *v)
{
	if (v->key && !utf8_ok(v->key, v->key_len))
		return false;
	switch (v->type) {
	case CTL_V_STR:
		return utf8_ok(v->u.s.p, v->u.s.len);
	case CTL_V_LIST:
	case CTL_V_DICT:
		for (const struct ctl_val *m = v->u.c.head; m; m = m->next)
			if (!tree_utf8_ok(m))
				return false;
		return true;
	default:
		return true;
	}
}

/* Encode v into b and decode that again; NULL only when the arena ran out. */
static struct ctl_val *roundtrip(const struct ctl_val *v, struct ctl_buf *b, bool pretty)
{
	struct ctl_val *w = NULL;
	size_t consumed = 0;
	int rc;

	ctl_buf_clear(b);
	if (ctl_json_encode(v, b, pretty) != 0)
		__builtin_trap();
	if (!utf8_ok(b->p, b->len))
		__builtin_trap();
	rc = ctl_json_decode(&arena, b->p, b->len, &w, &consumed, NULL);
	if (rc == -ENOMEM)
		return NULL;
	if (rc != 0 || consumed != b->len)
		__builtin_trap();
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_val *t1 = NULL, *t2, *t3;
	size_t consumed = 0, errpos = 0;
	int rc;

	if (!arena.base && ctl_arena_init(&arena, ARENA_SIZE) != 0)
		abort();
	ctl_arena_reset(&arena);

	rc = ctl_json_decode(&arena, (const char *)data, size, &t1, &consumed, &errpos);
	if (rc) {
		if (rc != -EINVAL && rc != -EILSEQ && rc != -ERANGE && rc != -ENOMEM && rc != -ELOOP)
			__builtin_trap();
		if (errpos > size || t1 || arena.used != 0)
			__builtin_trap();
		return 0;
	}
	if (!t1 || consumed == 0 || consumed > size)
		__builtin_trap();

	t2 = roundtrip(t1, &out1, false);
	if (!t2)
		return 0;
	if (!tree_utf8_ok(t2))
		__builtin_trap();
	if (tree_utf8_ok(t1) && !ctl_val_equal(t1, t2))
		__builtin_trap();
	/* t2 (valid UTF-8 throughout) is a fixed point of the round trip */
	t3 = roundtrip(t2, &out2, false);
	if (!t3)
		return 0;
	if (!ctl_val_equal(t2, t3))
		__builtin_trap();
	/* the pretty form decodes to the same tree */
	t3 = roundtrip(t2, &out2, true);
	if (t3 && !ctl_val_equal(t2, t3))
		__builtin_trap();
	return 0;
}
