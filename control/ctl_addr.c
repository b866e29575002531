/* SPDX-License-Identifier: MIT
 * ctl_addr: address parsing (see ctl_addr.h). */
#include "ctl_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, in_port_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = htons((in_port_t)v);
	return 0;
}

int ctl_addr_parse(const char *s, const char *default_host, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	char host[64];
	const char *port_s;
	in_port_t port;
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon) {
			if (!default_host || strlen(default_host) >= sizeof(host))
				return -EINVAL;
			strcpy(host, default_host);
			port_s = s;
		} else {
			if (strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof(host))
				return -EINVAL; /* a bare IPv6 address needs brackets */
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			port_s = colon + 1;
		}
	}
	if (parse_port(port_s, &port))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
		v4.sin_port = port;
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, &v4, sizeof(v4));
		*len = sizeof(v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
		v6.sin6_port = port;
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, &v6, sizeof(v6));
		*len = sizeof(v6);
		return 0;
	}
	return -EINVAL;
}

char *ctl_addr_str(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, buflen, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, buflen, "(family %d)", sa->sa_family);
	}
	return buf;
}
