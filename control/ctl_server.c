/* SPDX-License-Identifier: MIT
 * ctl_server: epoll loop for the ng sockets (see ctl_server.h). */
#include "ctl_server.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_guard.h"
#include "ctl_ng.h"
#include "ctl_val.h"
#include "dp.h"

#define UDP_MAX 65535
#define UDP_BATCH 64 /* datagrams per wake-up before other sockets get a turn */

enum { TAG_SIGNAL = 1, TAG_UDP, TAG_TCP_LISTEN, TAG_TCP_CLIENT, TAG_TIMER };

/* A TCP ng connection. Requests are read into `in` and answered in order
 * into `out`; `in` holds at most one partial request of max_request bytes
 * (plus one read), `out` is bounded by tcp_max_pending (plus one reply):
 * past that, reading pauses until the client takes its replies. */
struct tcp_client {
	int fd;
	struct ctl_buf in, out;
	struct sockaddr_storage addr; /* the source, for the per-source limit */
	char peer[64];
	bool closing;     /* close once out is flushed */
	bool eof;         /* the client has shut its side: answer what came, then close */
	bool in_partial;  /* `in` holds no whole request (last framing wanted more) */
	uint64_t active_ms;   /* last byte received or sent (idle timeout) */
	uint64_t req_ms;      /* when the partial request in `in` began (request timeout) */
	uint64_t out_ms;      /* last progress on `out`, or when it became non-empty */
	struct tcp_client *next;
};

struct ctl_server {
	int epfd, udp_fd, tcp_fd, timer_fd;
	struct ctl_server_handlers h;
	struct ctl_ng *ng;
	struct tcp_client *clients;
	uint32_t nclients, max_clients, max_per_source, max_request;
	uint64_t idle_ms, request_ms, send_ms; /* TCP timeouts; idle_ms 0: none */
	size_t max_pending;
	uint64_t next_sweep_ms; /* next check of the TCP timeouts */
	char *dgram;            /* a UDP datagram, or one TCP read */
	uint64_t udp_send_errors;
};

/* epoll data: tag in the low bits of a pointer-sized value. */
struct ev_ref {
	int tag;
	struct tcp_client *c;
};

static struct ev_ref ref_signal = { TAG_SIGNAL, NULL };
static struct ev_ref ref_udp = { TAG_UDP, NULL };
static struct ev_ref ref_listen = { TAG_TCP_LISTEN, NULL };
static struct ev_ref ref_timer = { TAG_TIMER, NULL };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int open_socket(struct ctl_guard *g, const char *spec, int type, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd;

	if (ctl_addr_parse(spec, "127.0.0.1", &ss, &sl)) {
		snprintf(err, errlen, "bad listen address '%s'", spec);
		return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", spec, strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		snprintf(err, errlen, "cannot listen on %s/%s: %s", spec,
			 type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
		close(fd);
		return -1;
	}
	if (g) /* a non-loopback listener without authentication: a loud warning */
		ctl_guard_listener(g, (struct sockaddr *)&ss, type == SOCK_STREAM ? "ng/tcp" : "ng/udp");
	return fd;
}

static int ep_add(struct ctl_server *s, int fd, uint32_t events, struct ev_ref *ref)
{
	struct epoll_event ev = { .events = events, .data.ptr = ref };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct ctl_server *ctl_server_create(const struct ctl_config *cfg, const struct ctl_server_handlers *h,
				     char *err, size_t errlen)
{
	struct ctl_ng_conf ngc = {
		.cache_size = cfg->cookie_cache_size,
		.cache_ms = cfg->cookie_cache_s * 1000u,
		/* every decoded node costs ~64 bytes and takes at least 2 input bytes */
		.arena_bytes = (size_t)cfg->max_request * 32 + 65536,
		.cmds = h ? h->cmds : NULL,
		.n_cmds = h ? h->n_cmds : 0,
		.ctx = h ? h->ctx : NULL,
	};
	struct ctl_server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (h)
		s->h = *h;
	s->udp_fd = s->tcp_fd = s->timer_fd = -1;
	s->max_clients = cfg->tcp_max_clients;
	s->max_per_source = cfg->tcp_max_per_source;
	s->max_request = cfg->max_request;
	s->idle_ms = (uint64_t)cfg->tcp_idle_timeout_s * 1000u;
	s->request_ms = (uint64_t)cfg->tcp_request_timeout_s * 1000u;
	s->send_ms = (uint64_t)cfg->tcp_send_timeout_s * 1000u;
	s->max_pending = cfg->tcp_max_pending;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->dgram = malloc(UDP_MAX + 1);
	s->ng = ctl_ng_create(&ngc);
	if (s->epfd < 0 || !s->dgram || !s->ng) {
		snprintf(err, errlen, "cannot set up the control loop: out of memory");
		goto fail;
	}
	s->udp_fd = open_socket(s->h.guard, cfg->listen_ng, SOCK_DGRAM, err, errlen);
	if (s->udp_fd < 0 || ep_add(s, s->udp_fd, EPOLLIN, &ref_udp))
		goto fail;
	if (cfg->listen_ng_tcp[0]) {
		s->tcp_fd = open_socket(s->h.guard, cfg->listen_ng_tcp, SOCK_STREAM, err, errlen);
		if (s->tcp_fd < 0 || ep_add(s, s->tcp_fd, EPOLLIN, &ref_listen))
			goto fail;
	}
	if (s->h.tick) { /* one wake-up a second for the call timers */
		struct itimerspec one = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

		s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &one, NULL) ||
		    ep_add(s, s->timer_fd, EPOLLIN, &ref_timer)) {
			snprintf(err, errlen, "timerfd: %s", strerror(errno));
			goto fail;
		}
	}
	dp_log(DP_LOG_NOTICE, "ctl", "ng control listening on %s/udp%s%s%s", cfg->listen_ng,
	       s->tcp_fd >= 0 ? " and " : "", cfg->listen_ng_tcp, s->tcp_fd >= 0 ? "/tcp" : "");
	return s;
fail:
	ctl_server_destroy(s);
	return NULL;
}

static void client_free(struct ctl_server *s, struct tcp_client *c)
{
	struct tcp_client **pp = &s->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	close(c->fd);
	ctl_buf_free(&c->in);
	ctl_buf_free(&c->out);
	free(c);
	s->nclients--;
}

void ctl_server_destroy(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s, s->clients);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	ctl_ng_destroy(s->ng);
	free(s->dgram);
	free(s);
}

static void serve_udp(struct ctl_server *s)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		const char *reply;
		size_t rlen;
		int rc;
		ssize_t n = recvfrom(s->udp_fd, s->dgram, UDP_MAX, 0, (struct sockaddr *)&peer, &pl);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng recv: %s", strerror(errno));
			return;
		}
		rc = ctl_guard_handle(s->h.guard, s->ng, (struct sockaddr *)&peer, s->dgram, (size_t)n, now_ms(),
				      &reply, &rlen);
		if (rc == -EACCES)
			continue; /* a source outside the allow-list: no reply (counted, logged) */
		if (rc) {
			char a[64];

			DP_LOG_RL(DP_LOG_INFO, "ctl", "dropped a %zd-byte ng datagram from %s: no cookie",
				  n, ctl_addr_str((struct sockaddr *)&peer, a, sizeof(a)));
			continue;
		}
		if (sendto(s->udp_fd, reply, rlen, 0, (struct sockaddr *)&peer, pl) < 0) {
			s->udp_send_errors++;
			DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng reply of %zu bytes not sent: %s", rlen,
				  strerror(errno));
		}
	}
}

static struct ev_ref *client_ref(struct tcp_client *c) { return (struct ev_ref *)(c + 1); }

#define TCP_READS 16      /* reads of up to 64 KiB per wake-up before others get a turn */
#define TCP_SERVES 8      /* rounds of answering buffered requests per wake-up */
#define SWEEP_MS 250u     /* how often the TCP timeouts are checked while clients exist */

static bool paused(const struct ctl_server *s, const struct tcp_client *c)
{
	return c->out.len >= s->max_pending;
}

/* Queue a reply. A reply that does not fit (the cap is max_pending plus the
 * largest reply) closes the connection with a log line: nothing is dropped
 * silently. Returns 0 or -1 (the client is now closing). */
static int client_reply(struct tcp_client *c, const char *p, size_t n, uint64_t now)
{
	if (!c->out.len)
		c->out_ms = now;
	if (ctl_buf_put(&c->out, p, n) == 0)
		return 0;
	DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng/tcp client %s: a %zu-byte reply does not fit behind the %zu "
		  "bytes it has not read; closing", c->peer, n, c->out.len);
	c->out.err = 0;
	c->closing = true;
	return -1;
}

/* Queue a final error for a request we cannot frame (so its cookie is
 * unknown: "?"), and close once it is sent. */
static void client_error(struct tcp_client *c, const char *reason, uint64_t now)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "? d6:result5:error12:error-reason%zu:%se", strlen(reason), reason);

	client_reply(c, msg, (size_t)n, now);
	c->closing = true;
}

/* Answer the whole requests buffered in c->in, in order, while fewer than
 * max_pending reply bytes wait. A partial request left over larger than
 * max_request ends the connection ("Request too large"). */
static void client_serve(struct ctl_server *s, struct tcp_client *c, uint64_t now)
{
	size_t off = 0;
	int rc = 0;

	while (off < c->in.len && !c->closing && !paused(s, c)) {
		const char *reply;
		size_t mlen, rlen;

		rc = ctl_ng_frame(s->ng, c->in.p + off, c->in.len - off, &mlen);
		if (rc == -EAGAIN)
			break;
		if (rc == 0 && mlen > s->max_request) {
			rc = -E2BIG;
			break;
		}
		if (rc == 0 && ctl_guard_handle(s->h.guard, s->ng, (struct sockaddr *)&c->addr, c->in.p + off, mlen,
						 now, &reply, &rlen) == 0) {
			off += mlen;
			client_reply(c, reply, rlen, now);
			continue;
		}
		/* Unframeable bytes: the stream cannot be resynchronised. */
		DP_LOG_RL(DP_LOG_INFO, "ctl", "ng/tcp client %s sent an unparsable request; closing",
			  c->peer);
		client_error(c, "Malformed request", now);
	}
	if (off) { /* in.p is NULL before the first byte: memmove(NULL, ...) is undefined even for 0 bytes */
		memmove(c->in.p, c->in.p + off, c->in.len - off);
		c->in.len -= off;
	}
	c->in_partial = rc == -EAGAIN;
	if ((rc == -EAGAIN && c->in.len > s->max_request) || rc == -E2BIG) {
		DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng/tcp client %s: request over %u bytes; closing", c->peer,
			  s->max_request);
		client_error(c, "Request too large", now);
	}
	if (!c->in.len)
		c->req_ms = 0;
	else if (off || !c->req_ms)
		c->req_ms = now; /* a new request has begun */
	if (c->eof && (!c->in.len || c->in_partial))
		c->closing = true; /* everything that came whole is answered */
}

/* Read what the client sent (a bounded amount) and answer it. */
static void client_read(struct ctl_server *s, struct tcp_client *c, uint64_t now)
{
	for (int i = 0; i < TCP_READS && !c->closing && !c->eof && !paused(s, c); i++) {
		ssize_t n = recv(c->fd, s->dgram, UDP_MAX, 0);

		if (n > 0) {
			c->active_ms = now;
			if (ctl_buf_put(&c->in, s->dgram, (size_t)n)) {
				c->in.err = 0; /* cannot happen: in is drained below max_request each read */
				client_error(c, "Request too large", now);
				break;
			}
			c->in_partial = false;
			client_serve(s, c, now);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			c->eof = true; /* peer closed: answer what came, then close */
		break;
	}
	if (c->eof && !c->closing)
		client_serve(s, c, now);
}

/* Write what is pending, answer requests that waited for room, and watch
 * for EPOLLIN only while reading is allowed, EPOLLOUT while replies wait.
 * Returns -1 when the client is gone (freed). */
static int client_pump(struct ctl_server *s, struct tcp_client *c, uint64_t now)
{
	struct epoll_event ev = { .data.ptr = client_ref(c) };

	for (int round = 0; round < TCP_SERVES; round++) {
		size_t done = 0;

		while (done < c->out.len) {
			ssize_t n = send(c->fd, c->out.p + done, c->out.len - done, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EAGAIN)
					break;
				if (errno == EINTR)
					continue;
				client_free(s, c);
				return -1;
			}
			done += (size_t)n;
		}
		if (done) {
			memmove(c->out.p, c->out.p + done, c->out.len - done);
			c->out.len -= done;
			c->active_ms = c->out_ms = now;
		}
		/* room again: answer what was read while the client lagged */
		if (c->closing || paused(s, c) || !c->in.len || c->in_partial)
			break;
		client_serve(s, c, now);
	}
	if (!c->out.len && c->closing) {
		client_free(s, c);
		return -1;
	}
	ev.events = (c->closing || c->eof || paused(s, c) ? 0 : EPOLLIN | EPOLLRDHUP) |
		    (c->out.len ? EPOLLOUT : 0);
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static void client_event(struct ctl_server *s, struct tcp_client *c, uint32_t events)
{
	uint64_t now = now_ms();

	if (events & (EPOLLIN | EPOLLRDHUP))
		client_read(s, c, now);
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
		client_free(s, c);
		return;
	}
	client_pump(s, c, now);
}

/* The TCP timeouts, checked every SWEEP_MS: a client that takes none of its
 * pending replies for send_ms (it fell behind: a log line, then closed), a
 * request begun request_ms ago and still not whole (an error, then closed),
 * a connection with nothing under way for idle_ms (closed). */
static void sweep_clients(struct ctl_server *s, uint64_t now)
{
	struct tcp_client *c = s->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->out.len && now - c->out_ms >= s->send_ms) {
			DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng/tcp client %s is not reading its replies (%zu bytes "
				  "pending, none taken for %" PRIu64 " s); disconnecting it", c->peer, c->out.len,
				  (now - c->out_ms) / 1000u);
			client_free(s, c);
			continue;
		}
		if (paused(s, c) || c->closing) {
			c->req_ms = c->req_ms ? now : 0; /* not the client's delay */
			continue;
		}
		if (c->in.len && c->in_partial && c->req_ms && now - c->req_ms >= s->request_ms) {
			DP_LOG_RL(DP_LOG_INFO, "ctl", "ng/tcp client %s: a request still incomplete after %" PRIu64
				  " s (%zu bytes); closing", c->peer, (now - c->req_ms) / 1000u, c->in.len);
			client_error(c, "Request timeout", now);
			client_pump(s, c, now);
			continue;
		}
		if (s->idle_ms && !c->in.len && !c->out.len && now - c->active_ms >= s->idle_ms) {
			DP_LOG_RL(DP_LOG_INFO, "ctl", "ng/tcp client %s idle for %" PRIu64 " s; closing",
				  c->peer, (now - c->active_ms) / 1000u);
			client_free(s, c);
		}
	}
}

static void accept_clients(struct ctl_server *s)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(s->tcp_fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_client *c;
		struct ev_ref *ref;
		uint32_t same = 0;
		char a[64];

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng accept: %s", strerror(errno));
			return;
		}
		if (!ctl_guard_allows(s->h.guard, (struct sockaddr *)&peer)) {
			close(fd); /* outside the allow-list (counted, logged) */
			continue;
		}
		if (s->nclients >= s->max_clients) {
			DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng/tcp: %u clients already, refusing %s", s->nclients,
				  ctl_addr_str((struct sockaddr *)&peer, a, sizeof(a)));
			close(fd);
			continue;
		}
		for (c = s->clients; c; c = c->next)
			same += dp_ip_equal(&c->addr, &peer);
		if (same >= s->max_per_source) {
			DP_LOG_RL(DP_LOG_WARNING, "ctl", "ng/tcp: %u clients from the address of %s already, "
				  "refusing another", same, ctl_addr_str((struct sockaddr *)&peer, a, sizeof(a)));
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c) + sizeof(*ref));
		if (!c) {
			close(fd);
			continue;
		}
		ref = (struct ev_ref *)(c + 1);
		ref->tag = TAG_TCP_CLIENT;
		ref->c = c;
		c->fd = fd;
		c->addr = peer;
		c->in.max = (size_t)s->max_request + UDP_MAX; /* one partial request and one read */
		c->out.max = s->max_pending + (16u << 20);    /* and one reply (ng replies stay below 16 MiB) */
		c->active_ms = now_ms();
		ctl_addr_str((struct sockaddr *)&peer, c->peer, sizeof(c->peer));
		if (ep_add(s, fd, EPOLLIN | EPOLLRDHUP, ref)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->clients;
		s->clients = c;
		s->nclients++;
		dp_log(DP_LOG_DEBUG, "ctl", "ng/tcp client %s connected", c->peer);
	}
}

void ctl_server_reconf(struct ctl_server *s, const struct ctl_config *cfg)
{
	s->max_clients = cfg->tcp_max_clients;
	s->max_per_source = cfg->tcp_max_per_source;
	s->idle_ms = (uint64_t)cfg->tcp_idle_timeout_s * 1000u;
	s->request_ms = (uint64_t)cfg->tcp_request_timeout_s * 1000u;
	s->send_ms = (uint64_t)cfg->tcp_send_timeout_s * 1000u;
	s->max_pending = cfg->tcp_max_pending;
}

static int handle_signal(struct ctl_server *s, int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		if (s->h.reload)
			s->h.reload(s->h.reload_ctx);
		else
			dp_log(DP_LOG_NOTICE, "ctl", "SIGHUP: configuration reload is not supported; "
						     "restart mediusd to apply changes");
		return 0;
	}
	return (int)si.ssi_signo;
}

int ctl_server_run(struct ctl_server *s, int sigfd)
{
	struct epoll_event ev[32];
	struct ctl_ng_stats st;
	int sig = 0;

	if (ep_add(s, sigfd, EPOLLIN, &ref_signal))
		return -errno;
	while (!sig) {
		int timeout = -1, n;
		uint64_t now;

		if (s->clients) { /* the TCP timeouts need a look now and then; idle sleeps */
			now = now_ms();
			if (now >= s->next_sweep_ms) {
				sweep_clients(s, now);
				s->next_sweep_ms = now + SWEEP_MS;
			}
			timeout = (int)(s->next_sweep_ms - now);
		}
		n = epoll_wait(s->epfd, ev, 32, s->clients ? timeout : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !sig; i++) {
			struct ev_ref *ref = ev[i].data.ptr;

			switch (ref->tag) {
			case TAG_SIGNAL: sig = handle_signal(s, sigfd); break;
			case TAG_UDP: serve_udp(s); break;
			case TAG_TCP_LISTEN: accept_clients(s); break;
			case TAG_TCP_CLIENT: client_event(s, ref->c, ev[i].events); break;
			case TAG_TIMER: {
				uint64_t n;

				if (read(s->timer_fd, &n, sizeof(n)) == sizeof(n))
					s->h.tick(s->h.ctx, now_ms());
				break;
			}
			}
		}
	}
	ctl_ng_get_stats(s->ng, &st);
	dp_log(DP_LOG_INFO, "ctl",
	       "ng: %" PRIu64 " requests, %" PRIu64 " errors, %" PRIu64 " retransmissions, %" PRIu64
	       " dropped",
	       st.requests, st.errors, st.retransmits, st.dropped);
	return sig;
}

const struct ctl_ng *ctl_server_ng(const struct ctl_server *s) { return s->ng; }
