/* SPDX-License-Identifier: MIT
 * ctl_acl: a source allow-list for the control listeners ("[control]
 * allow"): IPv4 and IPv6 addresses and prefixes. Used by the ng server on
 * every UDP request and TCP connection; small and socket-agnostic, so any
 * other listener (an HTTP one) can apply the same list.
 *
 * Syntax: entries separated by commas and/or blanks, each an address
 * ("10.1.2.3", "::1") or a prefix ("10.0.0.0/8", "fd00::/8"). The host part
 * of a prefix must be zero ("10.1.0.0/8" is refused: it is almost always a
 * typo). An IPv4-mapped IPv6 source (::ffff:a.b.c.d, what a dual-stack
 * socket reports) matches the IPv4 entries. An empty list allows every
 * source.
 */
#ifndef CTL_ACL_H
#define CTL_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CTL_ACL_MAX 32 /* entries in one list */

struct ctl_acl_entry {
	uint8_t family;  /* AF_INET or AF_INET6 */
	uint8_t prefix;  /* 0-32 or 0-128 */
	uint8_t addr[16];
};

struct ctl_acl {
	unsigned n;      /* 0: every source is allowed */
	struct ctl_acl_entry e[CTL_ACL_MAX];
};

/* Parse text into acl (replaced whole). Returns 0, or -EINVAL with the
 * offending entry in err (acl is then empty). */
int ctl_acl_parse(struct ctl_acl *acl, const char *text, char *err, size_t errlen);
/* Is sa (AF_INET or AF_INET6; anything else: no) in the list? An empty
 * list allows everything. */
bool ctl_acl_allows(const struct ctl_acl *acl, const struct sockaddr *sa);
/* Is sa a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)? */
bool ctl_addr_is_loopback(const struct sockaddr *sa);

#endif
