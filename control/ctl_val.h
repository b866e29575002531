/* SPDX-License-Identifier: MIT
 * ctl_val: the value tree that ng messages decode into and replies are built
 * from, whatever their wire format (bencode or JSON).
 *
 * Nodes live in a ctl_arena (a bump allocator sized at set-up and reset per
 * request), so decoding a request never calls malloc. Strings are byte
 * ranges, not NUL-terminated; decoders point them into the input buffer where
 * they can, so the input must outlive the tree.
 */
#ifndef CTL_VAL_H
#define CTL_VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting any decoder accepts. ng messages nest 3 or 4 levels. */
#define CTL_MAX_DEPTH 32

enum ctl_vtype { CTL_V_INT, CTL_V_STR, CTL_V_LIST, CTL_V_DICT };

struct ctl_val {
	enum ctl_vtype type;
	struct ctl_val *next; /* next member of the parent list or dict */
	const char *key;      /* key, when this is a dict member */
	size_t key_len;
	union {
		int64_t i;
		struct {
			const char *p;
			size_t len;
		} s;
		struct {
			struct ctl_val *head, *tail;
			size_t n;
		} c;
	} u;
};

struct ctl_arena {
	uint8_t *base;
	size_t size, used;
};

/* Allocate an arena of `size` bytes. Returns 0 or -ENOMEM. */
int ctl_arena_init(struct ctl_arena *a, size_t size);
/* Free the arena's memory; safe on a zeroed or already finalised arena. */
void ctl_arena_fini(struct ctl_arena *a);
/* Forget every allocation (all trees built in it become invalid). */
static inline void ctl_arena_reset(struct ctl_arena *a) { a->used = 0; }
/* n bytes, 8-byte aligned, uninitialised; NULL when the arena is exhausted. */
void *ctl_arena_alloc(struct ctl_arena *a, size_t n);

/* Constructors: NULL when the arena is exhausted. ctl_val_str does not copy;
 * ctl_val_strdup copies the bytes into the arena. */
struct ctl_val *ctl_val_int(struct ctl_arena *a, int64_t i);
struct ctl_val *ctl_val_str(struct ctl_arena *a, const char *p, size_t len);
struct ctl_val *ctl_val_cstr(struct ctl_arena *a, const char *s);
struct ctl_val *ctl_val_strdup(struct ctl_arena *a, const char *p, size_t len);
struct ctl_val *ctl_val_list(struct ctl_arena *a);
struct ctl_val *ctl_val_dict(struct ctl_arena *a);

/* Append v to list. Returns 0, or -EINVAL when list is not a list or v is NULL. */
int ctl_list_append(struct ctl_val *list, struct ctl_val *v);
/* Append v under key (not copied) to dict. Duplicate keys are kept; lookups
 * return the first. Returns 0, or -EINVAL on a non-dict or NULL v. */
int ctl_dict_add(struct ctl_val *dict, const char *key, size_t key_len, struct ctl_val *v);
/* Shorthands for building replies: add a C-string key with an int, a
 * C string (not copied) or any value. Return 0 or -ENOMEM/-EINVAL. */
int ctl_dict_add_int(struct ctl_arena *a, struct ctl_val *dict, const char *key, int64_t i);
int ctl_dict_add_cstr(struct ctl_arena *a, struct ctl_val *dict, const char *key, const char *s);

/* First member of dict whose key equals the C string key; NULL when absent
 * or when dict is not a dictionary. */
const struct ctl_val *ctl_dict_get(const struct ctl_val *dict, const char *key);
/* True when v is a string equal to the C string s. */
bool ctl_val_str_eq(const struct ctl_val *v, const char *s);
/* Structural equality (dict members compared in order). */
bool ctl_val_equal(const struct ctl_val *a, const struct ctl_val *b);

/* A growable output buffer for encoders (control plane only). */
struct ctl_buf {
	char *p;
	size_t len, cap;
	size_t max; /* hard cap; 0 means 16 MiB */
	int err;    /* first error (-ENOMEM or -E2BIG); appends after it are no-ops */
};

/* Append bytes. Returns 0 or the buffer's error. */
int ctl_buf_put(struct ctl_buf *b, const void *p, size_t n);
int ctl_buf_putc(struct ctl_buf *b, char c);
int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory and clearing the error. */
static inline void ctl_buf_clear(struct ctl_buf *b) { b->len = 0; b->err = 0; }
/* Release the buffer's memory; safe on a zeroed buffer. */
void ctl_buf_free(struct ctl_buf *b);

#endif
