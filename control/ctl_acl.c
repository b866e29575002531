/* SPDX-License-Identifier: MIT
 * ctl_acl: source allow-lists (see ctl_acl.h). */
#include "ctl_acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Are the bits of a past `prefix` all zero? */
static bool host_bits_zero(const uint8_t *a, unsigned bytes, unsigned prefix)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;
		uint8_t mask;

		if (lo + 8 <= prefix)
			continue;
		mask = lo >= prefix ? 0xff : (uint8_t)(0xffu >> (prefix - lo));
		if (a[i] & mask)
			return false;
	}
	return true;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static int parse_entry(const char *tok, struct ctl_acl_entry *e)
{
	char addr[64];
	const char *slash = strchr(tok, '/');
	size_t alen = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned max;

	if (!alen || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, tok, alen);
	addr[alen] = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, addr, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	e->prefix = (uint8_t)max;
	if (slash) {
		const char *p = slash + 1;
		unsigned long n;
		char *end;

		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 3)
			return -EINVAL;
		n = strtoul(p, &end, 10);
		if (n > max)
			return -EINVAL;
		e->prefix = (uint8_t)n;
		if (!host_bits_zero(e->addr, max / 8, e->prefix))
			return -EINVAL;
	}
	return 0;
}

int ctl_acl_parse(struct ctl_acl *acl, const char *text, char *err, size_t errlen)
{
	const char *p = text ? text : "";

	memset(acl, 0, sizeof(*acl));
	while (*p) {
		size_t n;
		char tok[80];

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "allow-list entry '%.*s...' is too long", 20, p);
			goto bad;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		if (acl->n == CTL_ACL_MAX) {
			snprintf(err, errlen, "more than %d allow-list entries", CTL_ACL_MAX);
			goto bad;
		}
		if (parse_entry(tok, &acl->e[acl->n])) {
			snprintf(err, errlen, "allow-list entry '%s' is not an IPv4 or IPv6 address or "
				 "prefix with a zero host part (e.g. 10.0.0.0/8, ::1)", tok);
			goto bad;
		}
		acl->n++;
	}
	return 0;
bad:
	memset(acl, 0, sizeof(*acl));
	return -EINVAL;
}

/* sa as (family, 4 or 16 address bytes); a v4-mapped IPv6 address as IPv4. */
static int source_of(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (!memcmp(a, v4mapped, sizeof(v4mapped))) {
			memcpy(out, a + 12, 4);
			return AF_INET;
		}
		memcpy(out, a, 16);
		return AF_INET6;
	}
	return -1;
}

bool ctl_acl_allows(const struct ctl_acl *acl, const struct sockaddr *sa)
{
	uint8_t a[16];
	int fam;

	if (!acl->n)
		return true;
	if (!sa)
		return false;
	fam = source_of(sa, a);
	for (unsigned i = 0; i < acl->n; i++)
		if (acl->e[i].family == fam && prefix_match(a, acl->e[i].addr, acl->e[i].prefix))
			return true;
	return false;
}

bool ctl_addr_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	uint8_t a[16];
	int fam = source_of(sa, a);

	return (fam == AF_INET && a[0] == 127) || (fam == AF_INET6 && !memcmp(a, v6lo, 16));
}
