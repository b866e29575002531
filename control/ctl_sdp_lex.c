/* SPDX-License-Identifier: MIT
 * ctl_sdp_lex: the small lexical helpers behind ctl_sdp.h: splitting a value
 * on blanks, decimal numbers, RFC 8866 tokens and protos, text and address
 * checks. */
#include "ctl_sdp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ctl_sdp_int.h"

/* ------------------------------------------------------------------ */
/* Small lexical helpers                                                */

/* Split v on runs of spaces/tabs; fills up to max tokens and returns the
 * number found (max + 1 means "more than max"). */
unsigned ctl_sdp_tokenize(const char *v, struct ctl_sdp_tok *t, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			return n;
		if (n == max)
			return max + 1;
		t[n].p = v;
		while (*v && *v != ' ' && *v != '\t')
			v++;
		t[n].n = (size_t)(v - t[n].p);
		n++;
	}
}

bool ctl_sdp_tok_is(const struct ctl_sdp_tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

/* Decimal digits only, 1..19 of them, value <= max. */
bool ctl_sdp_parse_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Decimal digits only (at most 12), value 1..max. */
bool ctl_sdp_num_val(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

/* RFC 8866 token-char: visible ASCII except "(),/:;<=>?@[\]{} and '"'... the
 * SDP grammar's token excludes only a few; we use its exact set. */
static bool token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
	       c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
	       (c >= 0x5e && c <= 0x7e);
}

bool ctl_sdp_is_token(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!token_char((unsigned char)p[i]))
			return false;
	return true;
}

/* proto = token *("/" token) */
bool ctl_sdp_is_proto(const char *p)
{
	size_t n;

	for (;;) {
		n = strcspn(p, "/");
		if (!ctl_sdp_is_token(p, n))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/* No control characters but tab. */
bool ctl_sdp_text_ok(const char *v)
{
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return false;
	return true;
}

/* Check a c=/a=rtcp address against its type. NULL when fine, else a reason
 * written to why (which has room for 160 bytes). */
const char *ctl_sdp_addr_check(const char *addrtype, const char *addr, char why[160])
{
	unsigned char buf[16];
	bool letters = false, hostchars = true;

	if (strcmp(addrtype, "IP4") && strcmp(addrtype, "IP6")) {
		snprintf(why, 160, "unsupported address type '%.32s'", addrtype);
		return why;
	}
	if (inet_pton(strcmp(addrtype, "IP4") ? AF_INET6 : AF_INET, addr, buf) == 1)
		return NULL;
	if (inet_pton(strcmp(addrtype, "IP4") ? AF_INET : AF_INET6, addr, buf) == 1) {
		snprintf(why, 160, "address '%.64s' does not match address type %s", addr, addrtype);
		return why;
	}
	for (const char *p = addr; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			letters = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != '-')
			hostchars = false;
	}
	if (letters && hostchars)
		snprintf(why, 160, "unsupported: host name '%.64s' (numeric addresses only)", addr);
	else
		snprintf(why, 160, "bad %s address '%.64s'", addrtype, addr);
	return why;
}
