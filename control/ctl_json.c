/* SPDX-License-Identifier: MIT
 * ctl_json: strict JSON codec for the ctl_val tree (see ctl_json.h). */
#include "ctl_json.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- decode */

struct jparser {
	struct ctl_arena *a;
	const char *buf;
	size_t len, pos;
	size_t errpos;
	bool doc;           /* ctl_json_decode_doc: null and any number accepted */
};

static int jfail(struct jparser *p, size_t at, int err)
{
	p->errpos = at;
	return err;
}

static void skip_ws(struct jparser *p)
{
	while (p->pos < p->len) {
		char c = p->buf[p->pos];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		p->pos++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read the 4 hex digits at s[i..i+4) of a \u escape; -1 when truncated or not hex. */
static long hex4(const char *s, size_t n, size_t i)
{
	long v = 0;

	if (i > n || n - i < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = hexval(s[i + k]);

		if (h < 0)
			return -1;
		v = (v << 4) | h;
	}
	return v;
}

static size_t utf8_put(char *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The length of the well-formed UTF-8 sequence at s[i..n) (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF): 1-4; 0 when it is
 * invalid; -1 when it is a valid start cut short by the end of the input. */
static int utf8_len(const char *s, size_t n, size_t i)
{
	unsigned char c = (unsigned char)s[i], lo = 0x80, hi = 0xbf;
	int k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0; /* a continuation byte, C0/C1 (overlong) or F5-FF */
	if (c == 0xe0)
		lo = 0xa0; /* overlong below U+0800 */
	else if (c == 0xed)
		hi = 0x9f; /* U+D800-U+DFFF */
	else if (c == 0xf0)
		lo = 0x90; /* overlong below U+10000 */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	for (int j = 1; j < k; j++) {
		unsigned char b;

		if (i + (size_t)j >= n)
			return -1;
		b = (unsigned char)s[i + (size_t)j];
		if (j == 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf)
			return 0;
	}
	return k;
}

bool ctl_utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		int k = utf8_len(s, n, i);

		if (k <= 0)
			return false;
		i += (size_t)k;
	}
	return true;
}

/*
 * Scan the string body starting at p->pos (just past the opening quote).
 * With dst == NULL only validate: on success *end is the offset of the
 * closing quote, *outlen the unescaped length and *escaped whether any
 * escape occurred. With dst != NULL (a second pass over an already validated
 * body) write the unescaped bytes to dst.
 */
static int str_scan(struct jparser *p, char *dst, size_t *end, size_t *outlen, bool *escaped)
{
	const char *s = p->buf;
	size_t n = p->len, i = p->pos, o = 0;
	bool esc = false;

	for (;;) {
		unsigned char c;
		char tmp[4];
		size_t k;

		if (i >= n)
			return jfail(p, n, -EINVAL);
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return jfail(p, i, -EINVAL);
		if (c >= 0x80) {
			int u = utf8_len(s, n, i);

			if (u < 0)
				return jfail(p, n, -EINVAL); /* cut short: more may come */
			if (u == 0)
				return jfail(p, i, -EILSEQ);
			if (dst)
				memcpy(dst + o, s + i, (size_t)u);
			o += (size_t)u;
			i += (size_t)u;
			continue;
		}
		if (c != '\\') {
			if (dst)
				dst[o] = (char)c;
			o++;
			i++;
			continue;
		}
		esc = true;
		if (i + 1 >= n)
			return jfail(p, n, -EINVAL);
		switch (s[i + 1]) {
		case '"': tmp[0] = '"'; k = 1; break;
		case '\\': tmp[0] = '\\'; k = 1; break;
		case '/': tmp[0] = '/'; k = 1; break;
		case 'b': tmp[0] = '\b'; k = 1; break;
		case 'f': tmp[0] = '\f'; k = 1; break;
		case 'n': tmp[0] = '\n'; k = 1; break;
		case 'r': tmp[0] = '\r'; k = 1; break;
		case 't': tmp[0] = '\t'; k = 1; break;
		case 'u': {
			long hi = hex4(s, n, i + 2), lo;
			uint32_t cp;

			if (hi < 0)
				return jfail(p, n - i < 6 ? n : i, -EINVAL);
			if (hi >= 0xdc00 && hi <= 0xdfff)
				return jfail(p, i, -EILSEQ); /* lone low surrogate */
			if (hi >= 0xd800 && hi <= 0xdbff) {
				/* a high surrogate must be followed by a \u low one */
				if ((n - i > 6 && s[i + 6] != '\\') || (n - i > 7 && s[i + 7] != 'u'))
					return jfail(p, i, -EILSEQ);
				if (n - i < 12)
					return jfail(p, n, -EINVAL); /* truncated */
				lo = hex4(s, n, i + 8);
				if (lo < 0)
					return jfail(p, i + 6, -EINVAL);
				if (lo < 0xdc00 || lo > 0xdfff)
					return jfail(p, i, -EILSEQ);
				cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
				i += 6;
			} else {
				cp = (uint32_t)hi;
			}
			k = utf8_put(tmp, cp);
			i += 4; /* the XXXX; the "\u" is skipped below */
			break;
		}
		default:
			return jfail(p, i, -EINVAL);
		}
		if (dst)
			memcpy(dst + o, tmp, k);
		o += k;
		i += 2;
	}
	*end = i;
	*outlen = o;
	*escaped = esc;
	return 0;
}

/* Parse a string at p->pos (the opening quote); *sp and *sl get its bytes. */
static int parse_str(struct jparser *p, const char **sp, size_t *sl)
{
	size_t start = p->pos, end, outlen;
	bool escaped;
	char *dst;
	int rc;

	p->pos++;
	rc = str_scan(p, NULL, &end, &outlen, &escaped);
	if (rc)
		return rc;
	if (!escaped) {
		*sp = p->buf + p->pos;
		*sl = outlen;
	} else {
		dst = ctl_arena_alloc(p->a, outlen ? outlen : 1);
		if (!dst)
			return jfail(p, start, -ENOMEM);
		str_scan(p, dst, &end, &outlen, &escaped);
		*sp = dst;
		*sl = outlen;
	}
	p->pos = end + 1;
	return 0;
}

static int parse_int(struct jparser *p, struct ctl_val **out)
{
	const char *s = p->buf;
	size_t n = p->len, i = p->pos, start = p->pos;
	bool neg = false;
	uint64_t mag = 0, limit;
	struct ctl_val *v;

	if (s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= n)
		return jfail(p, n, -EINVAL);
	if (s[i] < '0' || s[i] > '9')
		return jfail(p, i, -EINVAL);
	limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	if (s[i] == '0') {
		i++;
		if (i < n && s[i] >= '0' && s[i] <= '9')
			return jfail(p, i - 1, -EINVAL); /* leading zero */
	} else {
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			unsigned d = (unsigned)(s[i] - '0');

			if (mag > (limit - d) / 10)
				return jfail(p, start, -ERANGE);
			mag = mag * 10 + d;
			i++;
		}
	}
	if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
		if (!p->doc)
			return jfail(p, i, -EINVAL); /* fraction or exponent */
		if (s[i] == '.') { /* RFC 8259: frac = "." 1*DIGIT */
			if (++i >= n || s[i] < '0' || s[i] > '9')
				return jfail(p, i < n ? i : n, -EINVAL);
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		if (i < n && (s[i] == 'e' || s[i] == 'E')) { /* exp = e [ - / + ] 1*DIGIT */
			if (++i < n && (s[i] == '-' || s[i] == '+'))
				i++;
			if (i >= n || s[i] < '0' || s[i] > '9')
				return jfail(p, i < n ? i : n, -EINVAL);
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		v = ctl_val_str(p->a, s + start, i - start); /* its text: the caller converts */
		if (!v)
			return jfail(p, start, -ENOMEM);
		p->pos = i;
		*out = v;
		return 0;
	}
	v = ctl_val_int(p->a, neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag);
	if (!v)
		return jfail(p, start, -ENOMEM);
	p->pos = i;
	*out = v;
	return 0;
}

static int parse_value(struct jparser *p, unsigned depth, struct ctl_val **out);

static int parse_list(struct jparser *p, unsigned depth, struct ctl_val **out)
{
	struct ctl_val *list = ctl_val_list(p->a), *m;
	int rc;

	if (!list)
		return jfail(p, p->pos, -ENOMEM);
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == ']') {
		p->pos++;
		*out = list;
		return 0;
	}
	for (;;) {
		rc = parse_value(p, depth, &m);
		if (rc)
			return rc;
		ctl_list_append(list, m);
		skip_ws(p);
		if (p->pos >= p->len)
			return jfail(p, p->len, -EINVAL);
		if (p->buf[p->pos] == ']')
			break;
		if (p->buf[p->pos] != ',')
			return jfail(p, p->pos, -EINVAL);
		p->pos++;
		skip_ws(p);
	}
	p->pos++;
	*out = list;
	return 0;
}

static int parse_dict(struct jparser *p, unsigned depth, struct ctl_val **out)
{
	struct ctl_val *dict = ctl_val_dict(p->a), *m;
	const char *key;
	size_t key_len;
	int rc;

	if (!dict)
		return jfail(p, p->pos, -ENOMEM);
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == '}') {
		p->pos++;
		*out = dict;
		return 0;
	}
	for (;;) {
		if (p->pos >= p->len)
			return jfail(p, p->len, -EINVAL);
		if (p->buf[p->pos] != '"')
			return jfail(p, p->pos, -EINVAL);
		rc = parse_str(p, &key, &key_len);
		if (rc)
			return rc;
		skip_ws(p);
		if (p->pos >= p->len)
			return jfail(p, p->len, -EINVAL);
		if (p->buf[p->pos] != ':')
			return jfail(p, p->pos, -EINVAL);
		p->pos++;
		skip_ws(p);
		rc = parse_value(p, depth, &m);
		if (rc)
			return rc;
		ctl_dict_add(dict, key, key_len, m);
		skip_ws(p);
		if (p->pos >= p->len)
			return jfail(p, p->len, -EINVAL);
		if (p->buf[p->pos] == '}')
			break;
		if (p->buf[p->pos] != ',')
			return jfail(p, p->pos, -EINVAL);
		p->pos++;
		skip_ws(p);
	}
	p->pos++;
	*out = dict;
	return 0;
}

/* Match the literal word at p->pos; -EINVAL when it differs or is cut short. */
static int parse_word(struct jparser *p, const char *word, size_t wl)
{
	size_t avail = p->len - p->pos;

	for (size_t k = 0; k < wl; k++) {
		if (k >= avail)
			return jfail(p, p->len, -EINVAL);
		if (p->buf[p->pos + k] != word[k])
			return jfail(p, p->pos + k, -EINVAL);
	}
	p->pos += wl;
	return 0;
}

/* Parse the value at p->pos (whitespace already skipped); depth is that of
 * the enclosing container (0 at top level). */
static int parse_value(struct jparser *p, unsigned depth, struct ctl_val **out)
{
	struct ctl_val *v;
	const char *sp;
	size_t sl, start = p->pos;
	int rc;

	if (p->pos >= p->len)
		return jfail(p, p->len, -EINVAL);
	switch (p->buf[p->pos]) {
	case '[':
	case '{':
		if (depth + 1 > CTL_MAX_DEPTH)
			return jfail(p, p->pos, -ELOOP);
		if (p->buf[p->pos] == '[')
			return parse_list(p, depth + 1, out);
		return parse_dict(p, depth + 1, out);
	case '"':
		rc = parse_str(p, &sp, &sl);
		if (rc)
			return rc;
		v = ctl_val_str(p->a, sp, sl);
		if (!v)
			return jfail(p, start, -ENOMEM);
		*out = v;
		return 0;
	case 't':
	case 'f': {
		bool t = p->buf[p->pos] == 't';

		rc = t ? parse_word(p, "true", 4) : parse_word(p, "false", 5);
		if (rc)
			return rc;
		v = ctl_val_int(p->a, t ? 1 : 0);
		if (!v)
			return jfail(p, start, -ENOMEM);
		*out = v;
		return 0;
	}
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_int(p, out);
	case 'n':
		if (!p->doc) /* ng has no use for null */
			return jfail(p, p->pos, -EINVAL);
		rc = parse_word(p, "null", 4);
		if (rc)
			return rc;
		v = ctl_val_str(p->a, "", 0);
		if (!v)
			return jfail(p, start, -ENOMEM);
		*out = v;
		return 0;
	default:
		return jfail(p, p->pos, -EINVAL);
	}
}

static int decode(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out, size_t *consumed,
		  size_t *errpos, bool doc)
{
	struct jparser p = { .a = a, .buf = buf, .len = len, .doc = doc };
	struct ctl_val *v = NULL;
	size_t mark;
	int rc;

	if (!a || !out || (!buf && len)) {
		if (errpos)
			*errpos = 0;
		return -EINVAL;
	}
	mark = a->used;
	skip_ws(&p);
	rc = parse_value(&p, 0, &v);
	if (rc) {
		a->used = mark;
		if (errpos)
			*errpos = p.errpos;
		return rc;
	}
	skip_ws(&p);
	*out = v;
	if (consumed)
		*consumed = p.pos;
	return 0;
}

int ctl_json_decode(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
		    size_t *consumed, size_t *errpos)
{
	return decode(a, buf, len, out, consumed, errpos, false);
}

int ctl_json_decode_doc(struct ctl_arena *a, const char *buf, size_t len, struct ctl_val **out,
			size_t *consumed, size_t *errpos)
{
	return decode(a, buf, len, out, consumed, errpos, true);
}

/* ---------------------------------------------------------------- encode */

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence (2..4 bytes) starting at s[0], whose
 * first byte is >= 0x80; 0 when it is not the start of one (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return need;
}

static void enc_str(struct ctl_buf *b, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, run;

	ctl_buf_putc(b, '"');
	while (i < len) {
		unsigned char c = s[i];
		char e[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t k;

		/* copy the longest run of plain printable ASCII in one go */
		for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x7f &&
			      s[run] != '"' && s[run] != '\\'; run++)
			;
		if (run > i) {
			ctl_buf_put(b, s + i, run - i);
			i = run;
			continue;
		}
		switch (c) {
		case '"': ctl_buf_put(b, "\\\"", 2); i++; continue;
		case '\\': ctl_buf_put(b, "\\\\", 2); i++; continue;
		case '\b': ctl_buf_put(b, "\\b", 2); i++; continue;
		case '\f': ctl_buf_put(b, "\\f", 2); i++; continue;
		case '\n': ctl_buf_put(b, "\\n", 2); i++; continue;
		case '\r': ctl_buf_put(b, "\\r", 2); i++; continue;
		case '\t': ctl_buf_put(b, "\\t", 2); i++; continue;
		default:
			break;
		}
		if (c >= 0x80 && (k = utf8_valid_len(s + i, len - i)) != 0) {
			ctl_buf_put(b, s + i, k);
			i += k;
			continue;
		}
		/* other control bytes, DEL and stray high bytes (as Latin-1) */
		e[4] = hexdig[c >> 4];
		e[5] = hexdig[c & 0xf];
		ctl_buf_put(b, e, sizeof(e));
		i++;
	}
	ctl_buf_putc(b, '"');
}

static void enc_int(struct ctl_buf *b, int64_t i)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	uint64_t mag = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;

	do {
		tmp[--n] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (i < 0)
		tmp[--n] = '-';
	ctl_buf_put(b, tmp + n, sizeof(tmp) - n);
}

static void enc_newline(struct ctl_buf *b, unsigned level)
{
	static const char spaces[] = "                                ";

	ctl_buf_putc(b, '\n');
	for (size_t left = (size_t)level * 2; left && !b->err;) {
		size_t k = left < sizeof(spaces) - 1 ? left : sizeof(spaces) - 1;

		ctl_buf_put(b, spaces, k);
		left -= k;
	}
}

/* Encode v, which sits inside `depth` containers. */
static int enc_val(const struct ctl_val *v, struct ctl_buf *b, bool pretty, unsigned depth)
{
	bool dict;
	int rc;

	if (!v)
		return -EINVAL;
	switch (v->type) {
	case CTL_V_INT:
		enc_int(b, v->u.i);
		return b->err;
	case CTL_V_STR:
		enc_str(b, v->u.s.p, v->u.s.len);
		return b->err;
	case CTL_V_LIST:
	case CTL_V_DICT:
		break;
	default:
		return -EINVAL;
	}
	if (depth + 1 > CTL_MAX_DEPTH)
		return -EINVAL;
	dict = v->type == CTL_V_DICT;
	ctl_buf_putc(b, dict ? '{' : '[');
	for (const struct ctl_val *m = v->u.c.head; m; m = m->next) {
		if (m != v->u.c.head)
			ctl_buf_putc(b, ',');
		if (pretty)
			enc_newline(b, depth + 1);
		if (dict) {
			enc_str(b, m->key, m->key_len);
			if (pretty)
				ctl_buf_put(b, ": ", 2);
			else
				ctl_buf_putc(b, ':');
		}
		rc = enc_val(m, b, pretty, depth + 1);
		if (rc)
			return rc;
	}
	if (pretty && v->u.c.head)
		enc_newline(b, depth);
	ctl_buf_putc(b, dict ? '}' : ']');
	return b->err;
}

int ctl_json_encode(const struct ctl_val *v, struct ctl_buf *b, bool pretty)
{
	size_t mark;
	int rc;

	if (!b)
		return -EINVAL;
	mark = b->len;
	rc = enc_val(v, b, pretty, 0);
	if (rc && b->len > mark)
		b->len = mark;
	return rc;
}
