/* SPDX-License-Identifier: MIT
 * ctl_addr: "host:port" parsing and printing for listen and peer addresses.
 */
#ifndef CTL_ADDR_H
#define CTL_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Parse "a.b.c.d:port", "[v6addr]:port" or a bare "port" (meaning
 * default_host) into ss/len. Numeric addresses only: no DNS lookup.
 * Port 0 is accepted (the kernel picks one). Returns 0, or -EINVAL with the
 * out-parameters untouched. */
int ctl_addr_parse(const char *s, const char *default_host, struct sockaddr_storage *ss,
		   socklen_t *len);
/* Print sa as "a.b.c.d:port" or "[v6]:port" into buf. Returns buf. */
char *ctl_addr_str(const struct sockaddr *sa, char *buf, size_t buflen);

#endif
