/* SPDX-License-Identifier: MIT
 * ctl_bencode: bencode decoder and encoder (see ctl_bencode.h). */
#include "ctl_bencode.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

struct dec {
	struct ctl_arena *a;
	const char *p;
	size_t len, pos;
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse an unsigned decimal run at d->pos into *v (no sign, no leading
 * zero unless the number is 0). -ERANGE above limit. */
static int dec_uint(struct dec *d, uint64_t limit, uint64_t *v)
{
	size_t start = d->pos;
	uint64_t n = 0;

	while (d->pos < d->len && is_digit(d->p[d->pos])) {
		unsigned digit = (unsigned)(d->p[d->pos] - '0');

		if (n > (limit - digit) / 10)
			return -ERANGE;
		n = n * 10 + digit;
		d->pos++;
	}
	if (d->pos == start)
		return -EINVAL;
	if (d->p[start] == '0' && d->pos - start > 1)
		return -EINVAL;
	*v = n;
	return 0;
}

static int dec_value(struct dec *d, unsigned depth, struct ctl_val **out);

static int dec_int(struct dec *d, struct ctl_val **out)
{
	bool neg = false;
	uint64_t mag;
	int64_t i;
	int rc;

	d->pos++; /* 'i' */
	if (d->pos < d->len && d->p[d->pos] == '-') {
		neg = true;
		d->pos++;
	}
	rc = dec_uint(d, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
	if (rc)
		return rc;
	if (neg && mag == 0)
		return -EINVAL; /* "-0" */
	if (d->pos >= d->len || d->p[d->pos] != 'e')
		return -EINVAL;
	d->pos++;
	i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	*out = ctl_val_int(d->a, i);
	return *out ? 0 : -ENOMEM;
}

/* A string "len:bytes"; returns the byte range. */
static int dec_strrange(struct dec *d, const char **p, size_t *n)
{
	uint64_t slen;
	int rc = dec_uint(d, SIZE_MAX, &slen);

	if (rc)
		return rc == -ERANGE ? -EINVAL : rc;
	if (d->pos >= d->len || d->p[d->pos] != ':')
		return -EINVAL;
	d->pos++;
	if (slen > d->len - d->pos) {
		d->pos = d->len; /* runs past the buffer: reported as truncation */
		return -EINVAL;
	}
	*p = d->p + d->pos;
	*n = (size_t)slen;
	d->pos += (size_t)slen;
	return 0;
}

static int dec_container(struct dec *d, unsigned depth, bool dict, struct ctl_val **out)
{
	struct ctl_val *c = dict ? ctl_val_dict(d->a) : ctl_val_list(d->a);
	int rc;

	if (!c)
		return -ENOMEM;
	if (depth >= CTL_MAX_DEPTH)
		return -ELOOP;
	d->pos++; /* 'l' or 'd' */
	for (;;) {
		const char *key = NULL;
		size_t klen = 0;
		struct ctl_val *v;

		if (d->pos >= d->len)
			return -EINVAL;
		if (d->p[d->pos] == 'e') {
			d->pos++;
			break;
		}
		if (dict) {
			if (!is_digit(d->p[d->pos]))
				return -EINVAL; /* keys must be strings */
			rc = dec_strrange(d, &key, &klen);
			if (rc)
				return rc;
		}
		rc = dec_value(d, depth + 1, &v);
		if (rc)
			return rc;
		if (dict)
			ctl_dict_add(c, key, klen, v);
		else
			ctl_list_append(c, v);
	}
	*out = c;
	return 0;
}

static int dec_value(struct dec *d, unsigned depth, struct ctl_val **out)
{
	const char *p;
	size_t n;
	int rc;

	if (d->pos >= d->len)
		return -EINVAL;
	switch (d->p[d->pos]) {
	case 'i':
		return dec_int(d, out);
	case 'l':
		return dec_container(d, depth, false, out);
	case 'd':
		return dec_container(d, depth, true, out);
	default:
		if (!is_digit(d->p[d->pos]))
			return -EINVAL;
		rc = dec_strrange(d, &p, &n);
		if (rc)
			return rc;
		*out = ctl_val_str(d->a, p, n);
		return *out ? 0 : -ENOMEM;
	}
}

int ctl_bencode_decode(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
		       size_t *consumed, size_t *errpos)
{
	struct dec d = { .a = a, .p = buf, .len = len, .pos = 0 };
	size_t mark = a->used;
	struct ctl_val *v;
	int rc = dec_value(&d, 0, &v);

	if (rc) {
		a->used = mark; /* give back what the failed decode took */
		if (errpos)
			*errpos = d.pos;
		return rc;
	}
	*out = v;
	*consumed = d.pos;
	return 0;
}

static int enc_str(struct ctl_buf *b, const char *p, size_t n)
{
	ctl_buf_printf(b, "%zu:", n);
	return ctl_buf_put(b, p, n);
}

static int enc_value(const struct ctl_val *v, struct ctl_buf *b, unsigned depth)
{
	if (!v || depth > CTL_MAX_DEPTH)
		return -EINVAL;
	switch (v->type) {
	case CTL_V_INT:
		return ctl_buf_printf(b, "i%" PRId64 "e", v->u.i);
	case CTL_V_STR:
		return enc_str(b, v->u.s.p, v->u.s.len);
	case CTL_V_LIST:
	case CTL_V_DICT:
		ctl_buf_putc(b, v->type == CTL_V_LIST ? 'l' : 'd');
		for (const struct ctl_val *m = v->u.c.head; m; m = m->next) {
			int rc;

			if (v->type == CTL_V_DICT)
				enc_str(b, m->key, m->key_len);
			rc = enc_value(m, b, depth + 1);
			if (rc)
				return rc;
		}
		return ctl_buf_putc(b, 'e');
	}
	return -EINVAL;
}

int ctl_bencode_encode(const struct ctl_val *v, struct ctl_buf *b)
{
	int rc = enc_value(v, b, 0);

	return rc ? rc : b->err;
}
