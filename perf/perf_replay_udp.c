/* SPDX-License-Identifier: MIT
 * perf_replay_udp.c: medius-replay's kernel UDP transport: one socket per
 * endpoint on the loopback address, epoll, recvmmsg with the kernel's
 * receive timestamps (SO_TIMESTAMPNS). perf_replay_dpdk.c implements the
 * same struct perf_tp_ops on a DPDK port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "perf_replay.h"

#define BURST 32

struct udp_tp {
	int ep;
	struct in_addr ip;
	uint8_t bufs[BURST][2048];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	char ctl[BURST][64];
};

static void *udp_create(const char *ip, uint32_t max_eps, const void *conf, char *err, size_t errlen)
{
	struct udp_tp *t = calloc(1, sizeof(*t));
	struct rlimit rl;

	(void)conf;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (inet_pton(AF_INET, ip, &t->ip) != 1) {
		snprintf(err, errlen, "--bind %s: not an IPv4 address", ip);
		free(t);
		return NULL;
	}
	/* one descriptor per endpoint: take what the hard limit allows */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    (uint64_t)max_eps + 64 > rl.rlim_cur) {
		snprintf(err, errlen, "%u endpoints need more open files than the limit (%llu)", max_eps,
			 (unsigned long long)rl.rlim_cur);
		free(t);
		return NULL;
	}
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		free(t);
		return NULL;
	}
	for (int i = 0; i < BURST; i++) {
		t->iov[i].iov_base = t->bufs[i];
		t->iov[i].iov_len = sizeof(t->bufs[i]);
		t->msgs[i].msg_hdr.msg_iov = &t->iov[i];
		t->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return t;
}

static int bind_sock(struct udp_tp *t, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = t->ip, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1,
	    rcv = 1 << 20;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	return fd;
}

static int udp_open_pair(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp, uint16_t *port,
			 char *err, size_t errlen)
{
	struct udp_tp *t = tp;

	for (int tries = 0; tries < 500; tries++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int a = bind_sock(t, 0), b;
		uint16_t p;

		if (a < 0)
			break;
		getsockname(a, (struct sockaddr *)&sa, &sl);
		p = ntohs(sa.sin_port);
		if (p % 2 || p >= 65535) {
			close(a);
			continue;
		}
		b = bind_sock(t, (uint16_t)(p + 1));
		if (b < 0) {
			close(a);
			continue;
		}
		rtp->fd = a;
		rtcp->fd = b;
		{
			struct epoll_event e1 = {.events = EPOLLIN, .data.ptr = rtp};
			struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = rtcp};

			if (epoll_ctl(t->ep, EPOLL_CTL_ADD, a, &e1) || epoll_ctl(t->ep, EPOLL_CTL_ADD, b, &e2)) {
				snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
				return -1;
			}
		}
		*port = p;
		return 0;
	}
	snprintf(err, errlen, "no free RTP/RTCP port pair on the loopback: %s", strerror(errno));
	return -1;
}

static int udp_send(void *tp, struct perf_ep *ep, const struct perf_addr *dst, const void *p,
		    uint32_t len, uint64_t *t_ns)
{
	struct timespec ts;
	struct sockaddr_storage ss;
	socklen_t sl;

	(void)tp;
	memset(&ss, 0, sizeof(ss));
	if (dst->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, dst->ip, 16);
		s6->sin6_port = htons(dst->port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, dst->ip, 4);
		s4->sin_port = htons(dst->port);
		sl = sizeof(*s4);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	*t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return sendto(ep->fd, p, len, 0, (struct sockaddr *)&ss, sl) == (ssize_t)len ? 0 : -1;
}

static int udp_poll(void *tp, int timeout_ms, void (*cb)(void *arg, const struct perf_rx *rx), void *arg)
{
	struct udp_tp *t = tp;
	struct epoll_event ev[64];
	int n = epoll_wait(t->ep, ev, 64, timeout_ms), total = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		struct perf_ep *ep = ev[i].data.ptr;

		for (;;) {
			int got;

			for (int k = 0; k < BURST; k++) {
				t->msgs[k].msg_hdr.msg_control = t->ctl[k];
				t->msgs[k].msg_hdr.msg_controllen = sizeof(t->ctl[k]);
				t->msgs[k].msg_hdr.msg_name = NULL;
				t->msgs[k].msg_hdr.msg_namelen = 0;
			}
			got = recvmmsg(ep->fd, t->msgs, BURST, MSG_DONTWAIT, NULL);
			if (got <= 0)
				break;
			for (int k = 0; k < got; k++) {
				struct perf_rx rx = {ep, t->bufs[k], t->msgs[k].msg_len, 0};
				struct cmsghdr *c;

				for (c = CMSG_FIRSTHDR(&t->msgs[k].msg_hdr); c; c = CMSG_NXTHDR(&t->msgs[k].msg_hdr, c))
					if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
						struct timespec ts;

						memcpy(&ts, CMSG_DATA(c), sizeof(ts));
						rx.t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
					}
				if (!rx.t_ns) {
					struct timespec ts;

					clock_gettime(CLOCK_REALTIME, &ts);
					rx.t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
				}
				cb(arg, &rx);
			}
			total += got;
			if (got < BURST)
				break;
		}
	}
	return total;
}

static void udp_close_pair(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp)
{
	struct udp_tp *t = tp;

	epoll_ctl(t->ep, EPOLL_CTL_DEL, rtp->fd, NULL);
	epoll_ctl(t->ep, EPOLL_CTL_DEL, rtcp->fd, NULL);
	close(rtp->fd);
	close(rtcp->fd);
	rtp->fd = rtcp->fd = -1;
}

static void udp_destroy(void *tp)
{
	struct udp_tp *t = tp;

	if (!t)
		return;
	close(t->ep);
	free(t);
}

const struct perf_tp_ops perf_tp_udp = {
	.name = "udp",
	.create = udp_create,
	.open_pair = udp_open_pair,
	.send = udp_send,
	.poll = udp_poll,
	.close_pair = udp_close_pair,
	.destroy = udp_destroy,
};
