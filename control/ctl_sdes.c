/* SPDX-License-Identifier: MIT
 * control/ctl_sdes: SDES a=crypto values (RFC 4568) parsed and formatted,
 * and strict base64 (RFC 4648). Moved here from dataplane/dp_srtp.c: the
 * dataplane takes keys as struct dp_sdes and never reads SDP text.
 */
#include "ctl_sdes.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* --- base64 ------------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 symbol, or -1. */
static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int ctl_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_len)
{
	size_t need = (n + 2) / 3 * 4, o = 0;

	if (!out || (n && !in) || need >= out_len || need > INT_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

int ctl_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap, size_t *out_n)
{
	size_t pad = 0, n, o = 0;

	if (!in || !out_n || len % 4 != 0 || (len && !out))
		return -EINVAL;
	if (len >= 1 && in[len - 1] == '=')
		pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (n > out_cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + j];
			int d;

			if (c == '=' && last && j >= 4 - pad) {
				d = 0;
			} else {
				d = b64_val(c);
				if (d < 0)
					goto bad;
			}
			v = v << 6 | (uint32_t)d;
		}
		/* canonical: bits under the padding must be zero */
		if ((last && pad == 1 && (v & 0xff)) || (last && pad == 2 && (v & 0xffff)))
			goto bad;
		out[o++] = (uint8_t)(v >> 16);
		if (!last || pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (!last || pad < 1)
			out[o++] = (uint8_t)v;
	}
	*out_n = n;
	return 0;
bad:
	explicit_bzero(out, out_cap);
	return -EINVAL;
}

/* --- SDES --------------------------------------------------------------- */

#define SDES_LIFETIME_MAX (1ull << 48)

/* Parse 1..max_digits decimal digits at *p; advances *p. */
static int parse_digits(const char **p, unsigned max_digits, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	unsigned k = 0;

	while (*s >= '0' && *s <= '9') {
		if (++k > max_digits)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s++ - '0');
	}
	if (k == 0)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

/* Lifetime "2^N" or decimal, ending at end. */
static int parse_lifetime(const char *s, const char *end, uint64_t *out)
{
	uint64_t v;

	if (end - s >= 2 && s[0] == '2' && s[1] == '^') {
		s += 2;
		if (parse_digits(&s, 2, &v) || s != end || v < 1 || v > 48)
			return -EINVAL;
		*out = 1ull << v;
		return 0;
	}
	if (parse_digits(&s, 15, &v) || s != end || v < 1 || v > SDES_LIFETIME_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* MKI field "value:length" (RFC 4568: 1*DIGIT ":" 1*3DIGIT, length 1..128
 * bytes), between s and end: 0 and the MKI as length big-endian bytes in
 * mki; -ENOTSUP for a well-formed one longer than DP_SRTP_MAX_MKI bytes;
 * -EINVAL for a malformed one or a value that does not fit its length. */
static int parse_mki(const char *s, const char *end, uint8_t mki[DP_SRTP_MAX_MKI], uint8_t *mki_len)
{
	const char *val = s;
	uint64_t v = 0, len;
	unsigned digits;

	while (s < end && *s >= '0' && *s <= '9')
		s++;
	digits = (unsigned)(s - val);
	if (digits == 0 || digits > 20 || s == end || *s != ':')
		return -EINVAL;
	s++;
	if (parse_digits(&s, 3, &len) || s != end || len < 1 || len > 128)
		return -EINVAL;
	if (len > DP_SRTP_MAX_MKI)
		return -ENOTSUP;
	if (digits > 10) /* more than 2^32 - 1 cannot fit 4 bytes (leading zeros aside) */
		while (digits > 10 && *val == '0')
			val++, digits--;
	if (digits > 10)
		return -EINVAL;
	for (const char *c = val; *c != ':'; c++)
		v = v * 10 + (uint64_t)(*c - '0');
	if (len < 8 && v >> (8 * len))
		return -EINVAL; /* the value does not fit its length */
	for (unsigned i = 0; i < len; i++)
		mki[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	*mki_len = (uint8_t)len;
	return 0;
}

/* Suite name chars per RFC 4568: 1*(ALPHA / DIGIT / "_"). */
static bool suite_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int ctl_sdes_parse(const char *v, struct dp_sdes *out)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT + 3];
	char name[64];
	enum dp_srtp_suite suite;
	const char *p = v, *b64;
	uint64_t tag, lifetime = 0;
	size_t nlen = 0, klen;
	uint8_t mki[DP_SRTP_MAX_MKI] = {0}, mki_len = 0;
	bool has_mki = false;
	int rc, mrc = 0;

	if (!v || !out)
		return -EINVAL;
	/* tag */
	if (parse_digits(&p, 9, &tag) || *p != ' ')
		return -EINVAL;
	p++;
	/* crypto-suite */
	while (suite_char(*p)) {
		if (nlen + 1 >= sizeof(name))
			return -EINVAL;
		name[nlen++] = *p++;
	}
	name[nlen] = '\0';
	if (nlen == 0 || *p != ' ')
		return -EINVAL;
	p++;
	rc = dp_srtp_suite_parse(name, &suite);
	if (rc)
		return rc; /* -ENOENT */
	/* key-params: only one, method inline */
	if (strncmp(p, "inline:", 7) != 0) {
		const char *c = p;

		while (*c && *c != ':' && *c != ' ')
			c++;
		return *c == ':' && c > p ? -ENOTSUP : -EINVAL;
	}
	p += 7;
	b64 = p;
	while (*p && *p != '|' && *p != ';' && *p != ' ')
		p++;
	rc = ctl_base64_decode(b64, (size_t)(p - b64), key, sizeof(key), &klen);
	if (rc || klen != dp_srtp_key_len(suite) + dp_srtp_salt_len(suite)) {
		explicit_bzero(key, sizeof(key));
		return -EINVAL;
	}
	rc = 0;
	/* ["|" lifetime] ["|" MKI ":" length]: syntax first, then support */
	for (unsigned field = 0; !rc && *p == '|' && field < 2; field++) {
		const char *f = ++p;

		while (*p && *p != '|' && *p != ';' && *p != ' ')
			p++;
		if (memchr(f, ':', (size_t)(p - f))) {
			if (has_mki)
				rc = -EINVAL;
			else if ((mrc = parse_mki(f, p, mki, &mki_len)) == -EINVAL)
				rc = -EINVAL;
			has_mki = true;
		} else if (field == 1 || parse_lifetime(f, p, &lifetime)) {
			rc = -EINVAL; /* bad lifetime, or lifetime not first */
		}
	}
	if (!rc && *p == '|')
		rc = -EINVAL;
	if (!rc && *p == ';')
		rc = -ENOTSUP; /* several master keys: need MKI */
	if (!rc && *p == ' ')
		rc = p[1] ? -ENOTSUP : -EINVAL; /* session parameters */
	if (!rc && *p != '\0')
		rc = -EINVAL;
	if (!rc && mrc)
		rc = mrc; /* an MKI longer than dp_srtp takes */
	if (rc) {
		explicit_bzero(key, sizeof(key));
		return rc;
	}
	out->tag = (uint32_t)tag;
	out->suite = suite;
	out->key_salt_len = (uint8_t)klen;
	memset(out->key_salt, 0, sizeof(out->key_salt));
	memcpy(out->key_salt, key, klen);
	out->lifetime = lifetime;
	out->mki_len = mki_len;
	memcpy(out->mki, mki, sizeof(out->mki));
	explicit_bzero(key, sizeof(key));
	return 0;
}

int ctl_sdes_format(const struct dp_sdes *s, char *buf, size_t len)
{
	char b64[((DP_SRTP_MAX_KEY_SALT + 2) / 3) * 4 + 1];
	char life[32] = "", mki[32] = "";
	const char *name = s ? dp_srtp_suite_name(s->suite) : NULL; /* NULL: no such suite */
	size_t need;
	int n;

	if (!s || !buf || !name || s->tag > DP_SDES_TAG_MAX ||
	    s->key_salt_len != dp_srtp_key_len(s->suite) + dp_srtp_salt_len(s->suite) ||
	    s->lifetime > SDES_LIFETIME_MAX || s->mki_len > DP_SRTP_MAX_MKI)
		return -EINVAL;
	if (s->mki_len) {
		uint32_t v = 0;

		for (unsigned i = 0; i < s->mki_len; i++)
			v = v << 8 | s->mki[i];
		snprintf(mki, sizeof(mki), "|%u:%u", v, s->mki_len);
	}
	if (s->lifetime) {
		uint64_t l = s->lifetime;

		if ((l & (l - 1)) == 0 && l > 1)
			snprintf(life, sizeof(life), "|2^%d", __builtin_ctzll(l));
		else
			snprintf(life, sizeof(life), "|%llu", (unsigned long long)l);
	}
	ctl_base64_encode(s->key_salt, s->key_salt_len, b64, sizeof(b64));
	n = snprintf(NULL, 0, "%u %s inline:%s%s%s", s->tag, name, b64, life, mki);
	need = (size_t)n;
	if (n < 0 || need >= len) {
		explicit_bzero(b64, sizeof(b64));
		return -ENOSPC;
	}
	snprintf(buf, len, "%u %s inline:%s%s%s", s->tag, name, b64, life, mki);
	explicit_bzero(b64, sizeof(b64));
	return n;
}

void ctl_sdes_answer_mki(struct dp_sdes *ours, const struct dp_sdes *theirs)
{
	memset(ours->mki, 0, sizeof(ours->mki));
	ours->mki_len = theirs->mki_len <= DP_SRTP_MAX_MKI ? theirs->mki_len : 0;
	if (ours->mki_len)
		ours->mki[ours->mki_len - 1] = 1;
}
