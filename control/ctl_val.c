/* SPDX-License-Identifier: MIT
 * ctl_val: value tree, arena and output buffer (see ctl_val.h). */
#include "ctl_val.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_BUF_DEFAULT_MAX (16u << 20)

int ctl_arena_init(struct ctl_arena *a, size_t size)
{
	a->base = malloc(size);
	a->size = a->base ? size : 0;
	a->used = 0;
	return a->base ? 0 : -ENOMEM;
}

void ctl_arena_fini(struct ctl_arena *a)
{
	free(a->base);
	a->base = NULL;
	a->size = a->used = 0;
}

void *ctl_arena_alloc(struct ctl_arena *a, size_t n)
{
	size_t off = (a->used + 7u) & ~(size_t)7u;

	if (off > a->size || n > a->size - off)
		return NULL;
	a->used = off + n;
	return a->base + off;
}

static struct ctl_val *val_new(struct ctl_arena *a, enum ctl_vtype t)
{
	struct ctl_val *v = ctl_arena_alloc(a, sizeof(*v));

	if (v) {
		memset(v, 0, sizeof(*v));
		v->type = t;
	}
	return v;
}

struct ctl_val *ctl_val_int(struct ctl_arena *a, int64_t i)
{
	struct ctl_val *v = val_new(a, CTL_V_INT);

	if (v)
		v->u.i = i;
	return v;
}

struct ctl_val *ctl_val_str(struct ctl_arena *a, const char *p, size_t len)
{
	struct ctl_val *v = val_new(a, CTL_V_STR);

	if (v) {
		v->u.s.p = p;
		v->u.s.len = len;
	}
	return v;
}

struct ctl_val *ctl_val_cstr(struct ctl_arena *a, const char *s)
{
	return ctl_val_str(a, s, strlen(s));
}

struct ctl_val *ctl_val_strdup(struct ctl_arena *a, const char *p, size_t len)
{
	char *copy = ctl_arena_alloc(a, len ? len : 1);

	if (!copy)
		return NULL;
	memcpy(copy, p, len);
	return ctl_val_str(a, copy, len);
}

struct ctl_val *ctl_val_list(struct ctl_arena *a) { return val_new(a, CTL_V_LIST); }
struct ctl_val *ctl_val_dict(struct ctl_arena *a) { return val_new(a, CTL_V_DICT); }

static void container_push(struct ctl_val *c, struct ctl_val *v)
{
	v->next = NULL;
	if (c->u.c.tail)
		c->u.c.tail->next = v;
	else
		c->u.c.head = v;
	c->u.c.tail = v;
	c->u.c.n++;
}

int ctl_list_append(struct ctl_val *list, struct ctl_val *v)
{
	if (!list || !v || list->type != CTL_V_LIST)
		return -EINVAL;
	v->key = NULL;
	v->key_len = 0;
	container_push(list, v);
	return 0;
}

int ctl_dict_add(struct ctl_val *dict, const char *key, size_t key_len, struct ctl_val *v)
{
	if (!dict || !v || dict->type != CTL_V_DICT)
		return -EINVAL;
	v->key = key;
	v->key_len = key_len;
	container_push(dict, v);
	return 0;
}

int ctl_dict_add_int(struct ctl_arena *a, struct ctl_val *dict, const char *key, int64_t i)
{
	struct ctl_val *v = ctl_val_int(a, i);

	return v ? ctl_dict_add(dict, key, strlen(key), v) : -ENOMEM;
}

int ctl_dict_add_cstr(struct ctl_arena *a, struct ctl_val *dict, const char *key, const char *s)
{
	struct ctl_val *v = ctl_val_cstr(a, s);

	return v ? ctl_dict_add(dict, key, strlen(key), v) : -ENOMEM;
}

const struct ctl_val *ctl_dict_get(const struct ctl_val *dict, const char *key)
{
	size_t klen = strlen(key);

	if (!dict || dict->type != CTL_V_DICT)
		return NULL;
	for (const struct ctl_val *m = dict->u.c.head; m; m = m->next)
		if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
			return m;
	return NULL;
}

bool ctl_val_str_eq(const struct ctl_val *v, const char *s)
{
	size_t n = strlen(s);

	return v && v->type == CTL_V_STR && v->u.s.len == n && memcmp(v->u.s.p, s, n) == 0;
}

bool ctl_val_equal(const struct ctl_val *a, const struct ctl_val *b)
{
	const struct ctl_val *x, *y;

	if (!a || !b || a->type != b->type)
		return a == b;
	switch (a->type) {
	case CTL_V_INT:
		return a->u.i == b->u.i;
	case CTL_V_STR:
		return a->u.s.len == b->u.s.len && memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	case CTL_V_LIST:
	case CTL_V_DICT:
		if (a->u.c.n != b->u.c.n)
			return false;
		for (x = a->u.c.head, y = b->u.c.head; x && y; x = x->next, y = y->next) {
			if (a->type == CTL_V_DICT &&
			    (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0))
				return false;
			if (!ctl_val_equal(x, y))
				return false;
		}
		return true;
	}
	return false;
}

static int buf_reserve(struct ctl_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : CTL_BUF_DEFAULT_MAX;
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (extra > max || b->len > max - extra)
		return b->err = -E2BIG;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int ctl_buf_put(struct ctl_buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int ctl_buf_putc(struct ctl_buf *b, char c) { return ctl_buf_put(b, &c, 1); }

int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return b->err ? b->err : (b->err = -EINVAL);
	if ((size_t)n < sizeof(small))
		return ctl_buf_put(b, small, (size_t)n);
	if (buf_reserve(b, (size_t)n + 1))
		return b->err;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
