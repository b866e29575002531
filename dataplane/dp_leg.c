/* SPDX-License-Identifier: MIT
 * dp_leg: the control-plane side of calls and legs (see dp_media.h):
 * interfaces, media port allocation, and commands to the legs' workers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dp_eth.h"
#include "dp_internal.h"

uint32_t dp_relatch_ms = 3000;
uint32_t dp_rtcp_interval_ms = 5000;
extern uint32_t dp_clock_ms, dp_clock_slice_us; /* dp_clock.c */
uint32_t dp_media_mbufs = 8191;
int dp_kernel_io = DP_KIO_AUTO;            /* dp_worker.c */
uint32_t dp_busy_poll_us = DP_BUSY_POLL_US; /* dp_worker.c */
uint32_t dp_kernel_endpoints;              /* kernel-UDP endpoints of all interfaces (dp_worker.c) */

int dp_kernel_io_parse(const char *s, int *out)
{
	static const char *names[] = { [DP_KIO_AUTO] = "auto", [DP_KIO_URING] = "uring", [DP_KIO_EPOLL] = "epoll" };

	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

void dp_workers_release(void); /* dp_worker.c */

struct iface {
	struct dp_iface_conf conf;
	struct sockaddr_storage addr;
	uint32_t npairs, next;  /* pairs in the range; where the next search starts */
	uint8_t *used;          /* one byte per pair */
};

static struct {
	bool started;
	struct iface ifaces[DP_MAX_IFACES];
	unsigned n_ifaces;
} g;

bool dp_media_started(void) { return g.started; }

void dp_media_conf_defaults(struct dp_media_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->ifaces[0].name, "default");
	strcpy(c->ifaces[0].address, "127.0.0.1");
	c->ifaces[0].port_min = 30000;
	c->ifaces[0].port_max = 39999;
	c->n_ifaces = 1;
	c->relatch_ms = 3000;
	c->mbufs = 8191;
	c->rtcp_interval_ms = 5000;
	c->clock_ms = 20;
	c->tick_slice_us = DP_CLOCK_SLICE_US;
	strcpy(c->srtp_engine, "auto");
	strcpy(c->kernel_io, "auto");
	c->busy_poll_us = DP_BUSY_POLL_US;
}

static int parse_ip(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int dp_media_start(const struct dp_media_conf *c)
{
	uint32_t endpoints = 0, kernel_endpoints = 0;
	int rc;

	if (g.started)
		return -EALREADY;
	if (c->n_ifaces == 0 || c->n_ifaces > DP_MAX_IFACES)
		return -EINVAL;
	{
		enum dp_srtp_engine e = DP_SRTP_ENGINE_AUTO;

		if (c->srtp_engine[0] && dp_srtp_engine_parse(c->srtp_engine, &e)) {
			dp_log(DP_LOG_ERR, "dp", "media.srtp_engine: unknown engine '%s'", c->srtp_engine);
			return -EINVAL;
		}
		rc = dp_srtp_set_default_engine(e);
		if (rc) {
			dp_log(DP_LOG_ERR, "dp", "media.srtp_engine: %s does not run here", c->srtp_engine);
			return rc;
		}
		dp_log(DP_LOG_INFO, "dp", "SRTP engine: %s",
		       dp_srtp_engine_name(dp_srtp_get_default_engine()));
	}
	{
		const char *env = getenv("MEDIUS_KERNEL_IO"), *kio = env && env[0] ? env : c->kernel_io;

		if (kio[0] && dp_kernel_io_parse(kio, &dp_kernel_io)) {
			dp_log(DP_LOG_ERR, "dp", "%s: unknown kernel_io '%s' (auto, uring, epoll)",
			       kio == env ? "MEDIUS_KERNEL_IO" : "media.kernel_io", kio);
			return -EINVAL;
		}
		if (!kio[0])
			dp_kernel_io = DP_KIO_AUTO;
		dp_busy_poll_us = c->busy_poll_us;
	}
	rc = dp_mbuf_fields_init(); /* the compact source address in every mbuf */
	if (rc)
		return rc;
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		struct iface *f = &g.ifaces[i];
		const struct dp_iface_conf *ic = &c->ifaces[i];

		if (parse_ip(ic->address, &f->addr) || ic->port_min < 1024 || ic->port_max <= ic->port_min) {
			dp_log(DP_LOG_ERR, "dp", "interface %s: bad address '%s' or port range %u-%u", ic->name,
			       ic->address, ic->port_min, ic->port_max);
			return -EINVAL;
		}
		f->conf = *ic;
		if (!f->conf.advertise[0])
			strcpy(f->conf.advertise, ic->address);
		f->npairs = (uint32_t)(ic->port_max - (ic->port_min + (ic->port_min & 1u)) + 1) / 2;
		f->used = calloc(f->npairs ? f->npairs : 1, 1);
		if (!f->used)
			return -ENOMEM;
		dp_log(DP_LOG_INFO, "dp", "interface %s: %s (announced as %s), media ports %u-%u (%u pairs)",
		       ic->name, ic->address, f->conf.advertise, ic->port_min, ic->port_max, f->npairs);
		if (ic->type == DP_IFACE_ETHDEV) {
			rc = dp_eth_iface_add(i, ic);
			if (rc) {
				dp_eth_stop();
				return rc;
			}
			endpoints += 2 * f->npairs;
		} else {
			kernel_endpoints += 2 * f->npairs;
		}
	}
	rc = dp_eth_media_start(endpoints);
	if (rc) {
		dp_eth_stop();
		return rc;
	}
	g.n_ifaces = c->n_ifaces;
	dp_relatch_ms = c->relatch_ms;
	dp_rtcp_interval_ms = c->rtcp_interval_ms;
	dp_clock_ms = c->clock_ms == 10 ? 10 : 20;
	dp_clock_slice_us = c->tick_slice_us;
	dp_place_start(c->transcode_workers);
	dp_media_mbufs = c->mbufs;
	dp_kernel_endpoints = kernel_endpoints;
	g.started = true;
	return 0;
}

void dp_media_stop(void)
{
	dp_calls_destroy_all();
	dp_workers_synchronize(); /* nothing left to wait for after dp_workers_stop */
	dp_workers_reclaim();     /* the legs' ports go back before the allocators go */
	for (unsigned i = 0; i < g.n_ifaces; i++) {
		free(g.ifaces[i].used);
		g.ifaces[i].used = NULL;
	}
	g.n_ifaces = 0;
	g.started = false;
	dp_eth_stop();
	dp_workers_release();
}

/* Put the leg's kernel sockets into its worker's epoll set. Done here, on
 * the control lcore (the kernel orders epoll_ctl against the worker's
 * epoll_wait, and the worker then sees the leg as written before), so an
 * error reaches the caller without waiting for the worker. They come out
 * again in the worker's DETACH (dp_relay_apply). An io_uring worker is its
 * ring's only submitter: it gets a DP_CMD_ATTACH instead (posted, applied
 * before any later command of the leg). */
int dp_leg_attach(struct dp_leg *l)
{
	struct dp_sock *s[2] = { &l->rtp, &l->rtcp };

	if (l->w->ur && (l->rtp.fd >= 0 || l->rtcp.fd >= 0)) {
		/* an io_uring worker arms the sockets' receive itself (one submitter) */
		struct dp_cmd cmd = { .op = DP_CMD_ATTACH, .leg = l };

		dp_worker_post(l->w, &cmd);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s[i] };

		if (s[i]->fd >= 0 && epoll_ctl(l->w->epfd, EPOLL_CTL_ADD, s[i]->fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

static uint32_t pair_index(const struct iface *f, uint16_t rtp_port);

/* DETACH's retire: the worker let go of the leg and every worker passed a
 * quiescent state (no stale flow-table lookup holds it): close its sockets,
 * free its keys, its port pair and the leg. */
static void leg_free(struct dp_cmd *c)
{
	struct dp_leg *l = c->leg;
	struct iface *f = &g.ifaces[l->iface];

	if (f->used && l->rtp_port)
		f->used[pair_index(f, l->rtp_port)] = 0;
	if (l->rtp.fd >= 0)
		close(l->rtp.fd);
	if (l->rtcp.fd >= 0)
		close(l->rtcp.fd);
	dp_srtp_destroy(l->srtp_rx);
	dp_srtp_destroy(l->srtp_tx);
	dp_srtp_destroy(l->srtcp_rx);
	dp_srtp_destroy(l->srtcp_tx);
	free(l);
}

/* Take l off its worker for good and free it once nobody can use it:
 * ethdev lookups stop finding it now, its worker lets go at its next
 * quiescent point, leg_free runs after the grace period. wait: block until
 * the worker let go (its media hook then runs no more). */
static void leg_release(struct dp_leg *l, bool wait)
{
	struct dp_cmd cmd = { .op = DP_CMD_DETACH, .leg = l, .retire = leg_free };

	dp_eth_endpoint_close(&l->rtp);
	dp_eth_endpoint_close(&l->rtcp);
	if (wait)
		dp_worker_exec(l->w, &cmd);
	else
		dp_worker_post(l->w, &cmd);
}

/* A command for l's worker that cannot fail there: posted, not waited for. */
static int post(struct dp_leg *l, struct dp_cmd *cmd)
{
	cmd->leg = l;
	dp_worker_post(l->w, cmd);
	return 0;
}

/* A command whose answer the caller needs: wait for the worker. */
static int exec(struct dp_leg *l, struct dp_cmd *cmd)
{
	cmd->leg = l;
	return dp_worker_exec(l->w, cmd);
}

static int bind_udp(const struct sockaddr_storage *base, uint16_t port, struct dp_sock *s)
{
	struct sockaddr_storage a = *base;
	socklen_t len = a.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, tos = 0xb8; /* DSCP EF for media */

	if (a.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&a)->sin_port = htons(port);
	fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, len) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (a.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	s->fd = fd;
	s->local = a;
	return 0;
}

/* A local endpoint: a kernel socket, or a flow entry on an ethdev interface. */
static int open_ep(const struct iface *f, unsigned fi, uint16_t port, struct dp_sock *s)
{
	return dp_eth_iface_is_eth(fi) ? dp_eth_endpoint_open(fi, port, s) : bind_udp(&f->addr, port, s);
}

/* Undo open_ep while looking for free ports. An ethdev endpoint's flow
 * entry goes (a worker that found it meanwhile may still hold s: the leg
 * is freed only after a grace period, see dp_leg_create). */
static void close_ep(struct dp_sock *s)
{
	if (s->eth)
		dp_eth_endpoint_close(s);
	else if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static uint16_t first_port(const struct iface *f)
{
	return (uint16_t)(f->conf.port_min + (f->conf.port_min & 1u)); /* RTP on even ports */
}

static uint32_t pair_index(const struct iface *f, uint16_t rtp_port)
{
	return (uint32_t)(rtp_port - first_port(f)) / 2;
}

/* Take the next free pair whose ports the kernel also lets us bind. */
static int alloc_ports(struct iface *f, bool mux, struct dp_leg *l)
{
	uint16_t base = first_port(f);

	for (uint32_t tries = 0; tries < f->npairs; tries++) {
		uint32_t i = (f->next + tries) % f->npairs;
		uint16_t port = (uint16_t)(base + 2 * i);

		if (f->used[i])
			continue;
		if (open_ep(f, l->iface, port, &l->rtp))
			continue; /* taken by someone else on the host */
		if (!mux && open_ep(f, l->iface, (uint16_t)(port + 1), &l->rtcp)) {
			close_ep(&l->rtp);
			continue;
		}
		f->used[i] = 1;
		f->next = (i + 1) % f->npairs;
		l->rtp_port = port;
		l->rtcp_port = mux ? port : (uint16_t)(port + 1);
		return 0;
	}
	return -EADDRINUSE;
}

struct dp_leg *dp_leg_create(struct dp_call *c, const char *iface, unsigned flags, int *err)
{
	unsigned fi = 0;
	struct dp_leg *l;
	int rc;

	*err = 0;
	if (!c || !g.started) {
		*err = -EINVAL;
		return NULL;
	}
	if (iface) {
		for (fi = 0; fi < g.n_ifaces && strcmp(g.ifaces[fi].conf.name, iface); fi++)
			;
		if (fi == g.n_ifaces) {
			*err = -ENOENT;
			return NULL;
		}
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	l->call = c;
	l->w = c->w;
	l->iface = fi;
	l->flags = flags;
	l->nat_learning = g.ifaces[fi].conf.nat_learning;
	l->rtp.fd = l->rtcp.fd = -1;
	l->rtp.uslot = l->rtcp.uslot = -1;
	l->rtp.leg = l->rtcp.leg = l;
	l->rtcp.rtcp = true;
	l->stats.rtt_ms = -1;
	l->block_pt = -1;
	l->block_replace = DP_DTMF_DROP;
	l->gen_ssrc = (uint32_t)random() ^ ((uint32_t)random() << 16);
	l->gen_ts_base = (uint32_t)random() ^ ((uint32_t)random() << 16);
	l->gen_seq = (uint16_t)random();
	rc = alloc_ports(&g.ifaces[fi], flags & DP_LEG_RTCP_MUX, l);
	if (rc == -EADDRINUSE) {
		/* the ports of legs deleted a moment ago come back after their
		 * grace period, on the control tick (dp_workers_reclaim): wait
		 * for that once rather than refuse a call while they are pending
		 * (found by test_netem.py: a full range right after deletes) */
		dp_workers_synchronize();
		dp_workers_reclaim();
		rc = alloc_ports(&g.ifaces[fi], flags & DP_LEG_RTCP_MUX, l);
	}
	if (!rc)
		rc = dp_leg_attach(l);
	if (rc) {
		if (l->rtp_port || dp_eth_iface_is_eth(fi))
			leg_release(l, false); /* a worker may have seen it: its ports and memory go later */
		else
			free(l);
		*err = rc;
		if (rc == -EADDRINUSE)
			DP_LOG_RL(DP_LOG_WARNING, "dp", "interface %s: media ports exhausted",
				  g.ifaces[fi].conf.name);
		return NULL;
	}
	l->next_in_call = c->legs;
	c->legs = l;
	return l;
}

void dp_leg_destroy(struct dp_leg *l)
{
	struct dp_leg **pp;

	if (!l)
		return;
	for (pp = &l->call->legs; *pp && *pp != l; pp = &(*pp)->next_in_call)
		;
	if (*pp)
		*pp = l->next_in_call;
	/* a hooked leg's caller frees the hook's ctx once this returns
	 * (dp_media.h): wait for the worker then. A hook cleared with
	 * dp_leg_set_hook_deferred needs no wait: its release comes later. */
	leg_release(l, l->hooked);
}

void dp_leg_local(const struct dp_leg *l, struct dp_leg_local *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->address, sizeof(out->address), "%s", g.ifaces[l->iface].conf.advertise);
	out->rtp_port = l->rtp_port;
	out->rtcp_port = l->rtcp_port;
	out->rtp = l->rtp.local;
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)a)->sin_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
					      : ((const struct sockaddr_in *)a)->sin_port);
}

int dp_leg_set_remote(struct dp_leg *l, const struct sockaddr *rtp, const struct sockaddr *rtcp)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_REMOTE };
	size_t n;

	if (!rtp || (rtp->sa_family != AF_INET && rtp->sa_family != AF_INET6))
		return -EINVAL;
	n = rtp->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(&cmd.rtp, rtp, n);
	if (rtcp) {
		if (rtcp->sa_family != rtp->sa_family)
			return -EINVAL;
		memcpy(&cmd.rtcp, rtcp, n);
	} else {
		cmd.rtcp = cmd.rtp;
		if (!(l->flags & DP_LEG_RTCP_MUX))
			set_port(&cmd.rtcp, (uint16_t)(get_port(&cmd.rtp) + 1));
	}
	return post(l, &cmd);
}

int dp_leg_set_sip_source(struct dp_leg *l, const struct sockaddr *ip)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_SIP_SRC };

	if (ip) {
		if (ip->sa_family != AF_INET && ip->sa_family != AF_INET6)
			return -EINVAL;
		memcpy(&cmd.rtp, ip, ip->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		set_port(&cmd.rtp, 0);
	}
	return post(l, &cmd);
}

static const char *addr_str(const struct sockaddr_storage *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, get_port(a));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, get_port(a));
	}
	return buf;
}

void dp_media_log_refusals(void)
{
	static struct dp_log_rl rl;
	char from[80];

	for (struct dp_call *c = dp_calls_first(); c; c = c->next)
		for (struct dp_leg *l = c->legs; l; l = l->next_in_call) {
			if (l->refused_logged || !atomic_load_explicit(&l->refused_seen, memory_order_acquire))
				continue;
			l->refused_logged = true;
			dp_log_rl(&rl, DP_LOG_WARNING, "dp",
				  "call %.64s%s, leg on %s port %u: refused media from %s (%s); further refusals "
				  "on this leg are only counted",
				  c->id, strlen(c->id) > 64 ? "..." : "", g.ifaces[l->iface].conf.name, l->rtp_port,
				  addr_str(&l->refused_src, from, sizeof(from)), dp_drop_name(l->refused_why));
		}
}

unsigned dp_iface_count(void) { return g.n_ifaces; }

int dp_iface_advertise(const char *name, char *out, size_t len)
{
	unsigned i = 0;

	if (name && *name)
		for (i = 0; i < g.n_ifaces && strcmp(g.ifaces[i].conf.name, name); i++)
			;
	if (i >= g.n_ifaces)
		return -ENOENT;
	snprintf(out, len, "%s", g.ifaces[i].conf.advertise);
	return 0;
}

int dp_iface_advertise_at(unsigned i, char *out, size_t len)
{
	if (i >= g.n_ifaces)
		return -ENOENT;
	snprintf(out, len, "%s", g.ifaces[i].conf.advertise);
	return 0;
}

int dp_iface_get_stats(unsigned i, struct dp_iface_stats *out)
{
	if (i >= g.n_ifaces)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", g.ifaces[i].conf.name);
	for (unsigned k = 0; k < dp_worker_count(); k++) {
		const struct dp_worker *w = dp_worker_get(k);

		for (int d = 0; d < DP_DROP__COUNT; d++)
			out->drops[d] += w->iface_drops[i][d];
	}
	if (dp_eth_iface_is_eth(i))
		dp_eth_iface_stats(i, out);
	return 0;
}

/* SET_SRTP's retire: the contexts the worker handed back. */
static void srtp_free(struct dp_cmd *c)
{
	for (int i = 0; i < 4; i++)
		dp_srtp_destroy(c->srtp[i]);
}

/* One direction of keys k (with its MKI). */
static struct dp_srtp *srtp_from_sdes(const struct dp_sdes *k, enum dp_srtp_dir dir)
{
	struct dp_srtp_params p = { .engine = DP_SRTP_ENGINE_AUTO, .suite = k->suite, .key_salt = k->key_salt,
				    .key_salt_len = k->key_salt_len, .dir = dir, .mki_len = k->mki_len };

	memcpy(p.mki, k->mki, sizeof(p.mki));
	return dp_srtp_create_ex(&p);
}

int dp_leg_set_srtp(struct dp_leg *l, const struct dp_sdes *rx, const struct dp_sdes *tx)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_SRTP, .retire = srtp_free };

	errno = 0; /* dp_srtp_create_ex says ENOMEM when it is memory */
	if (rx) {
		cmd.srtp[0] = srtp_from_sdes(rx, DP_SRTP_UNPROTECT);
		cmd.srtp[2] = srtp_from_sdes(rx, DP_SRTP_UNPROTECT);
	}
	if (tx) {
		cmd.srtp[1] = srtp_from_sdes(tx, DP_SRTP_PROTECT);
		cmd.srtp[3] = srtp_from_sdes(tx, DP_SRTP_PROTECT);
	}
	if ((rx && (!cmd.srtp[0] || !cmd.srtp[2])) || (tx && (!cmd.srtp[1] || !cmd.srtp[3]))) {
		bool nomem = errno == ENOMEM;
		bool supported = (!rx || dp_srtp_suite_supported(rx->suite)) &&
				 (!tx || dp_srtp_suite_supported(tx->suite));

		for (int i = 0; i < 4; i++)
			dp_srtp_destroy(cmd.srtp[i]);
		return nomem ? -ENOMEM : supported ? -EINVAL : -ENOTSUP;
	}
	/* validated here, so the worker cannot refuse it: the old contexts it
	 * hands back are destroyed after a grace period (srtp_free) */
	return post(l, &cmd);
}

int dp_leg_set_flags(struct dp_leg *l, unsigned flags)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_FLAGS, .flags = flags };

	return post(l, &cmd);
}

int dp_leg_set_clock(struct dp_leg *l, uint32_t clock_rate)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_CLOCK, .clock_rate = clock_rate };

	return post(l, &cmd);
}

int dp_leg_set_block_pt(struct dp_leg *l, int pt) { return dp_leg_set_dtmf_block(l, pt, DP_DTMF_DROP); }

int dp_leg_set_dtmf_block(struct dp_leg *l, int pt, int replace)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_BLOCK, .block_pt = pt < 0 || pt > 127 ? -1 : pt,
			      .block_replace = replace };

	if (replace < DP_DTMF_DROP || replace > DP_DTMF_RANDOM)
		return -EINVAL;
	return post(l, &cmd);
}

int dp_leg_play_event(struct dp_leg *l, uint8_t pt, uint8_t event, uint32_t duration_ts, uint8_t volume)
{
	struct dp_cmd cmd = { .op = DP_CMD_PLAY_EVENT, .ev_pt = pt, .ev_event = event,
			      .ev_duration = duration_ts, .ev_volume = volume };

	if (pt > 127 || event > 15 || volume > 63 || duration_ts == 0 || duration_ts > 0xffff)
		return -EINVAL;
	return exec(l, &cmd); /* only the worker knows whether an event still plays (-EBUSY) */
}

/* A terminated leg's jitter buffer needs when each packet reached the
 * socket (dp_relay_socket): the kernel stamps its RTP socket's packets
 * while it has a hook. Relayed legs' sockets stay without. ethdev legs
 * have no socket: their packets carry the TSC of their rx burst. */
static void rx_timestamps(struct dp_leg *l, bool on)
{
	int v = on;

	if (l->rtp.fd >= 0 && on != l->hooked &&
	    setsockopt(l->rtp.fd, SOL_SOCKET, SO_TIMESTAMPNS, &v, sizeof(v)) < 0)
		DP_LOG_RL(DP_LOG_WARNING, "dp", "SO_TIMESTAMPNS on a media socket: %s", strerror(errno));
	l->hooked = on;
}

int dp_leg_set_hook(struct dp_leg *l, dp_media_hook_fn fn, void *ctx)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_HOOK, .hook = fn, .hook_ctx = ctx };

	rx_timestamps(l, fn != NULL);
	return exec(l, &cmd); /* waits: the caller may free the previous ctx next */
}

/* SET_HOOK's retire (deferred): the worker applied it and a grace period
 * passed, so nothing calls the hook it replaced any more. */
static void hook_release(struct dp_cmd *c)
{
	if (c->hook && c->release)
		c->release(c->hook_ctx);
}

int dp_leg_set_hook_deferred(struct dp_leg *l, dp_media_hook_fn fn, void *ctx, void (*release)(void *ctx))
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_HOOK, .hook = fn, .hook_ctx = ctx, .release = release };

	if (release)
		cmd.retire = hook_release;
	rx_timestamps(l, fn != NULL);
	return post(l, &cmd);
}

int dp_leg_connect(struct dp_leg *a, struct dp_leg *b)
{
	struct dp_cmd cmd = { .op = DP_CMD_CONNECT, .other = b };

	if (!a && !b)
		return -EINVAL;
	if (a && b && a->w != b->w)
		return -EXDEV; /* legs of one relay share a worker: put them in one call */
	if (!a) { /* disconnect b */
		cmd.other = NULL;
		return post(b, &cmd);
	}
	return post(a, &cmd);
}

int dp_leg_get_stats(const struct dp_leg *l, struct dp_leg_stats *out)
{
	*out = l->stats;
	return 0;
}
