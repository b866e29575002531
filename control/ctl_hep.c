/* SPDX-License-Identifier: MIT
 * ctl_hep: HEPv3 encoding and a non-blocking sender (see ctl_hep.h). */
#include "ctl_hep.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "dp.h"

enum {
	HEP_IP_FAMILY = 1, HEP_IP_PROTO = 2, HEP_SRC_IP4 = 3, HEP_DST_IP4 = 4, HEP_SRC_IP6 = 5,
	HEP_DST_IP6 = 6, HEP_SRC_PORT = 7, HEP_DST_PORT = 8, HEP_TIME_S = 9, HEP_TIME_US = 10,
	HEP_PROTO_TYPE = 11, HEP_CAPTURE_ID = 12, HEP_PAYLOAD = 15, HEP_CORRELATION = 17,
};

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool over;
};

static void chunk(struct wbuf *w, uint16_t type, const void *v, size_t len)
{
	size_t total = 6 + len;

	if (w->over || total > 65535 || w->n + total > w->cap) {
		w->over = true;
		return;
	}
	w->p[w->n] = 0; /* vendor 0: generic */
	w->p[w->n + 1] = 0;
	w->p[w->n + 2] = (uint8_t)(type >> 8);
	w->p[w->n + 3] = (uint8_t)type;
	w->p[w->n + 4] = (uint8_t)(total >> 8);
	w->p[w->n + 5] = (uint8_t)total;
	memcpy(w->p + w->n + 6, v, len);
	w->n += total;
}

static void chunk8(struct wbuf *w, uint16_t type, uint8_t v) { chunk(w, type, &v, 1); }

static void chunk16(struct wbuf *w, uint16_t type, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	chunk(w, type, b, 2);
}

static void chunk32(struct wbuf *w, uint16_t type, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	chunk(w, type, b, 4);
}

ssize_t ctl_hep_encode(const struct ctl_hep_msg *m, uint8_t *buf, size_t cap)
{
	struct wbuf w = { .p = buf, .n = 6, .cap = cap };
	int fam = m->src->sa_family;

	if (cap < 6)
		return -EMSGSIZE;
	if (fam != m->dst->sa_family || (fam != AF_INET && fam != AF_INET6))
		return -EINVAL;
	memcpy(buf, "HEP3", 4);
	chunk8(&w, HEP_IP_FAMILY, fam == AF_INET ? 2 : 10);
	chunk8(&w, HEP_IP_PROTO, 17); /* UDP */
	if (fam == AF_INET) {
		const struct sockaddr_in *s = (const void *)m->src, *d = (const void *)m->dst;

		chunk(&w, HEP_SRC_IP4, &s->sin_addr, 4);
		chunk(&w, HEP_DST_IP4, &d->sin_addr, 4);
		chunk16(&w, HEP_SRC_PORT, ntohs(s->sin_port));
		chunk16(&w, HEP_DST_PORT, ntohs(d->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const void *)m->src, *d = (const void *)m->dst;

		chunk(&w, HEP_SRC_IP6, &s->sin6_addr, 16);
		chunk(&w, HEP_DST_IP6, &d->sin6_addr, 16);
		chunk16(&w, HEP_SRC_PORT, ntohs(s->sin6_port));
		chunk16(&w, HEP_DST_PORT, ntohs(d->sin6_port));
	}
	chunk32(&w, HEP_TIME_S, (uint32_t)(m->time_us / 1000000u));
	chunk32(&w, HEP_TIME_US, (uint32_t)(m->time_us % 1000000u));
	chunk8(&w, HEP_PROTO_TYPE, m->proto_type);
	chunk32(&w, HEP_CAPTURE_ID, m->capture_id);
	if (m->correlation)
		chunk(&w, HEP_CORRELATION, m->correlation, strlen(m->correlation));
	chunk(&w, HEP_PAYLOAD, m->payload, m->len);
	if (w.over || w.n > 65535)
		return -EMSGSIZE;
	buf[4] = (uint8_t)(w.n >> 8);
	buf[5] = (uint8_t)w.n;
	return (ssize_t)w.n;
}

struct ctl_hep {
	struct sockaddr_storage to;
	socklen_t to_len;
	bool tcp;
	int fd;
	bool connected;          /* TCP: the connect finished */
	uint64_t retry_ms;       /* TCP: no new connect before this */
	uint32_t capture_id;
	struct ctl_hep_stats st;
	uint8_t buf[65536];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int open_fd(struct ctl_hep *h)
{
	h->fd = socket(h->to.ss_family, (h->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	h->connected = false;
	if (connect(h->fd, (struct sockaddr *)&h->to, h->to_len) == 0)
		h->connected = true;
	else if (errno != EINPROGRESS) {
		int e = -errno;

		close(h->fd);
		h->fd = -1;
		return e;
	}
	return 0;
}

struct ctl_hep *ctl_hep_create(const char *address, const char *protocol, uint32_t capture_id, char *err,
			       size_t errlen)
{
	struct ctl_hep *h = calloc(1, sizeof(*h));
	int rc;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fd = -1;
	h->capture_id = capture_id;
	h->tcp = protocol && !strcmp(protocol, "tcp");
	if (ctl_addr_parse(address, "127.0.0.1", &h->to, &h->to_len)) {
		snprintf(err, errlen, "homer.address '%s' is not an address:port", address);
		free(h);
		return NULL;
	}
	rc = open_fd(h);
	if (rc && !h->tcp) {
		snprintf(err, errlen, "homer.address %s: %s", address, strerror(-rc));
		free(h);
		return NULL;
	}
	if (rc)
		h->retry_ms = mono_ms() + 5000;
	return h;
}

void ctl_hep_destroy(struct ctl_hep *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

uint32_t ctl_hep_capture_id(const struct ctl_hep *h) { return h->capture_id; }

void ctl_hep_get_stats(const struct ctl_hep *h, struct ctl_hep_stats *out) { *out = h->st; }

static void tcp_fail(struct ctl_hep *h, int e)
{
	DP_LOG_RL(DP_LOG_WARNING, "hep", "homer collector (tcp): %s; reconnecting in 5 s", strerror(e));
	close(h->fd);
	h->fd = -1;
	h->retry_ms = mono_ms() + 5000;
}

int ctl_hep_send(struct ctl_hep *h, struct ctl_hep_msg *m)
{
	ssize_t n, r;

	m->capture_id = h->capture_id;
	n = ctl_hep_encode(m, h->buf, sizeof(h->buf));
	if (n < 0) {
		h->st.dropped++;
		return (int)n;
	}
	if (h->fd < 0) {
		if (mono_ms() < h->retry_ms || open_fd(h)) {
			if (h->fd < 0)
				h->retry_ms = mono_ms() + 5000;
			h->st.dropped++;
			return -ENOTCONN;
		}
	}
	/* TCP: a message goes whole or not at all (a short write would break
	 * the stream's framing, so the connection is dropped then) */
	r = send(h->fd, h->buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == n) {
		h->connected = true;
		h->st.sent++;
		return 0;
	}
	h->st.dropped++;
	if (r >= 0) { /* a part of it: the TCP stream's framing is broken */
		tcp_fail(h, EPROTO);
		return -EPROTO;
	}
	r = -errno;
	if (h->tcp && r != -EAGAIN)
		tcp_fail(h, -(int)r);
	else if (!h->tcp)
		DP_LOG_RL(DP_LOG_WARNING, "hep", "homer collector (udp): %s", strerror(-(int)r));
	return (int)r;
}
