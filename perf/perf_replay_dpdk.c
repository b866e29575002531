/* SPDX-License-Identifier: MIT
 * medius-replay's DPDK transport (--transport dpdk; docs/replay.md): the
 * replayer's endpoints live on one DPDK ethdev port (net_af_packet or
 * net_af_xdp on an interface, or any vdev: net_pcap, net_ring, ...)
 * instead of kernel sockets. It starts its own EAL (no hugepages,
 * --no-shconf, a --file-prefix of its own, so it runs beside mediusd),
 * builds Ethernet/IPv4/UDP frames itself (dataplane/dp_pkt.h), sends them
 * in bursts with rte_eth_tx_burst, answers ARP for its address and
 * resolves medius's MAC by ARP (or takes it from --dpdk-peer-mac).
 *
 * Threads: the run's sender (the main thread, EAL's main lcore) sends; its
 * receiver thread polls. Both may transmit (the receiver answers ARP), so
 * the one tx queue is taken under a spinlock: the receiver needs it only
 * for ARP, so it is all but never contended. The ARP table is written by
 * the receiver only and read by the sender (entries are published with a
 * release store of their count and never change after).
 *
 * Endpoints: ports are handed out in pairs (RTP even, RTCP + 1) from
 * --dpdk-ports; perf_ep.fd holds the port number, and a 64 Ki table maps
 * a destination port back to its endpoint.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "dp.h"
#include "dp_pkt.h"
#include "perf_replay.h"

#define BURST 32
#define NB_MBUF 16383
#define NB_DESC 1024
#define ARP_MAX 64
#define ARP_WAIT_MS 3000
#define TX_STALL_MS 1000

struct arp_ent {
	uint8_t ip[4], mac[6];
};

struct dpdk_tp {
	uint16_t port;
	struct rte_mempool *pool;
	uint8_t ip[4], mac[6];
	uint16_t port_min, port_max, next_port;
	struct perf_ep **by_port; /* 65536: the endpoint bound to each UDP port */
	/* the sender's pending burst */
	struct rte_mbuf *txq[BURST];
	unsigned ntx;
	rte_spinlock_t tx_lock;
	/* ARP: written by the receiver thread, read by the sender */
	struct arp_ent arp[ARP_MAX];
	uint32_t narp;     /* published with release */
	uint8_t failed[ARP_MAX][4]; /* the sender's: addresses that did not resolve */
	uint32_t nfailed;
	uint16_t ip_id;
	bool verbose;
	/* counters (docs/replay.md: printed at the end when not all zero) */
	uint64_t tx_frames, tx_bursts, tx_dropped, tx_no_mbuf;
	uint64_t rx_frames, rx_not_us, rx_bad, rx_no_ep, arp_replies, arp_requests;
};

static struct dpdk_tp *g_tp; /* EAL lives once per process */
static bool g_eal_up;

static uint64_t rt_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

int perf_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

/* "af_packet:IFACE", "af_xdp:IFACE" or a whole vdev ("net_...") */
int perf_dpdk_vdev(const char *dev, char *out, size_t len)
{
	int n;

	if (!strncmp(dev, "af_packet:", 10) && dev[10])
		n = snprintf(out, len, "net_af_packet_replay0,iface=%s,framecnt=4096", dev + 10);
	else if (!strncmp(dev, "af_xdp:", 7) && dev[7])
		n = snprintf(out, len, "net_af_xdp_replay0,iface=%s,start_queue=0,queue_count=1", dev + 7);
	else if (!strncmp(dev, "net_", 4) && !strchr(dev, ' '))
		n = snprintf(out, len, "%s", dev);
	else
		return -1;
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* ---- transmit ---- */

/* hand the pending burst to the port, retrying while its ring is full
 * (for up to TX_STALL_MS: what it still refuses then is dropped). */
static void tx_flush_locked(struct dpdk_tp *t, struct rte_mbuf **m, unsigned n)
{
	unsigned done = 0;
	uint64_t stall = 0;

	while (done < n) {
		uint16_t k = rte_eth_tx_burst(t->port, 0, m + done, (uint16_t)(n - done));

		if (k) {
			done += k;
			t->tx_bursts++;
			stall = 0;
			continue;
		}
		if (!stall)
			stall = mono_ms() + TX_STALL_MS;
		else if (mono_ms() > stall)
			break;
		rte_pause();
	}
	t->tx_frames += done;
	if (done < n) {
		rte_pktmbuf_free_bulk(m + done, n - done);
		t->tx_dropped += n - done;
	}
}

static void dpdk_flush(void *tp)
{
	struct dpdk_tp *t = tp;

	if (!t->ntx)
		return;
	rte_spinlock_lock(&t->tx_lock);
	tx_flush_locked(t, t->txq, t->ntx);
	rte_spinlock_unlock(&t->tx_lock);
	t->ntx = 0;
}

static void tx_one_now(struct dpdk_tp *t, struct rte_mbuf *m)
{
	rte_spinlock_lock(&t->tx_lock);
	tx_flush_locked(t, &m, 1);
	rte_spinlock_unlock(&t->tx_lock);
}

static void send_arp_request(struct dpdk_tp *t, const uint8_t target[4])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t->pool);
	int len;

	if (!m)
		return;
	len = dp_arp_build_request(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), DP_VLAN_NONE,
				   t->mac, t->ip, target);
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	t->arp_requests++;
	tx_one_now(t, m);
}

static const uint8_t *arp_find(struct dpdk_tp *t, const uint8_t ip[4])
{
	uint32_t n = __atomic_load_n(&t->narp, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++)
		if (!memcmp(t->arp[i].ip, ip, 4))
			return t->arp[i].mac;
	return NULL;
}

/* the sender: medius's MAC for ip, asking by ARP (the receiver thread
 * learns the answer); NULL when nobody answered within ARP_WAIT_MS */
static const uint8_t *resolve(struct dpdk_tp *t, const uint8_t ip[4])
{
	const uint8_t *mac = arp_find(t, ip);
	uint64_t end, next = 0;

	if (mac)
		return mac;
	for (uint32_t i = 0; i < t->nfailed; i++)
		if (!memcmp(t->failed[i], ip, 4))
			return NULL;
	dpdk_flush(t);
	end = mono_ms() + ARP_WAIT_MS;
	while (mono_ms() < end) {
		struct timespec ms = {0, 1000000};

		if (mono_ms() >= next) {
			send_arp_request(t, ip);
			next = mono_ms() + 250;
		}
		nanosleep(&ms, NULL);
		if ((mac = arp_find(t, ip)))
			return mac;
	}
	if (t->nfailed < ARP_MAX) {
		memcpy(t->failed[t->nfailed++], ip, 4);
		{
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, ip, a, sizeof(a));
			fprintf(stderr, "medius-replay: dpdk: no ARP reply from %s in %d ms: not sent there\n", a,
				ARP_WAIT_MS);
		}
	}
	return NULL;
}

static int dpdk_send(void *tp, struct perf_ep *ep, const struct perf_addr *dst, const void *p, uint32_t len,
		     uint64_t *t_ns)
{
	struct dpdk_tp *t = tp;
	struct dp_udp_tx tx = {.vlan = DP_VLAN_NONE};
	const uint8_t *mac;
	struct rte_mbuf *m;
	uint8_t *f;

	*t_ns = rt_ns();
	if (dst->family != 4 || len > 1472) /* IPv4 only; one frame of a 1500 byte MTU */
		return -1;
	mac = resolve(t, dst->ip);
	if (!mac)
		return -1;
	m = rte_pktmbuf_alloc(t->pool);
	if (!m) {
		dpdk_flush(t); /* the port frees what it sent */
		m = rte_pktmbuf_alloc(t->pool);
		if (!m) {
			t->tx_no_mbuf++;
			return -1;
		}
	}
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(42 + len));
	if (!f) {
		rte_pktmbuf_free(m);
		return -1;
	}
	memcpy(f + 42, p, len);
	memcpy(tx.eth_dst, mac, 6);
	memcpy(tx.eth_src, t->mac, 6);
	memcpy(tx.src, t->ip, 4);
	memcpy(tx.dst, dst->ip, 4);
	tx.src_port = (uint16_t)ep->fd;
	tx.dst_port = dst->port;
	tx.ip_id = t->ip_id++;
	if (dp_udp4_build(f, 42, &tx, f + 42, len) != 42) {
		rte_pktmbuf_free(m);
		return -1;
	}
	t->txq[t->ntx++] = m;
	if (t->ntx == BURST)
		dpdk_flush(t);
	return 0;
}

/* ---- receive ---- */

static void learn(struct dpdk_tp *t, const uint8_t ip[4], const uint8_t mac[6])
{
	uint32_t n = t->narp;

	for (uint32_t i = 0; i < n; i++)
		if (!memcmp(t->arp[i].ip, ip, 4))
			return; /* medius's MAC does not change within a run */
	if (n == ARP_MAX)
		return;
	memcpy(t->arp[n].ip, ip, 4);
	memcpy(t->arp[n].mac, mac, 6);
	__atomic_store_n(&t->narp, n + 1, __ATOMIC_RELEASE);
}

/* a frame that is not UDP for us: ARP is answered and learnt from, the
 * rest counted and dropped. Returns true when m was used (sent). */
static bool rx_arp(struct dpdk_tp *t, struct rte_mbuf *m, const struct dp_eth *e, uint8_t *f, size_t len)
{
	struct dp_arp a;
	size_t out;

	if (dp_arp_parse(f + e->l3_off, len - e->l3_off, &a) != DP_DROP_NONE)
		return false;
	if (memcmp(a.tpa, t->ip, 4))
		return false; /* for someone else */
	learn(t, a.spa, a.sha);
	if (a.op != DP_ARP_OP_REQUEST || dp_arp_reply(f, len, t->mac, t->ip, &out) != DP_DROP_NONE)
		return false;
	rte_pktmbuf_trim(m, (uint16_t)(len - out));
	t->arp_replies++;
	tx_one_now(t, m);
	return true;
}

static int dpdk_poll(void *tp, int timeout_ms, void (*cb)(void *arg, const struct perf_rx *rx), void *arg)
{
	struct dpdk_tp *t = tp;
	struct rte_mbuf *m[BURST];
	uint64_t end = timeout_ms > 0 ? mono_ms() + (uint64_t)timeout_ms : 0;
	int total = 0;

	for (;;) {
		uint16_t n = rte_eth_rx_burst(t->port, 0, m, BURST);
		uint64_t now;

		if (!n) {
			if (total || !end || mono_ms() >= end)
				return total;
			sched_yield(); /* busy polling, but the sender and medius come first */
			continue;
		}
		if (!total && end && mono_ms() >= end)
			end = 0; /* a stream of frames none of which is ours: back after this burst */
		now = rt_ns();
		t->rx_frames += n;
		for (uint16_t i = 0; i < n; i++) {
			uint8_t *f = rte_pktmbuf_mtod(m[i], uint8_t *);
			size_t len = rte_pktmbuf_data_len(m[i]);
			struct dp_eth e;
			struct dp_ipv4 ip;
			struct dp_udp u;
			struct perf_ep *ep;

			if (dp_eth_parse(f, len, &e) != DP_DROP_NONE) {
				t->rx_not_us++;
			} else if (e.ethertype == DP_ETHERTYPE_ARP) {
				if (rx_arp(t, m[i], &e, f, len))
					continue;
				t->rx_not_us++;
			} else if (e.ethertype != DP_ETHERTYPE_IPV4 ||
				   dp_ipv4_parse(f + e.l3_off, len - e.l3_off, &ip) != DP_DROP_NONE ||
				   memcmp(ip.dst, t->ip, 4) || ip.proto != DP_IPPROTO_UDP) {
				t->rx_not_us++;
			} else if (dp_udp4_parse(&ip, f + e.l3_off + ip.payload_off, ip.payload_len, 0, &u) !=
				   DP_DROP_NONE) {
				t->rx_bad++;
			} else if (!(ep = __atomic_load_n(&t->by_port[u.dst_port], __ATOMIC_ACQUIRE))) {
				t->rx_no_ep++;
			} else {
				struct perf_rx rx = {ep, f + e.l3_off + ip.payload_off + u.payload_off, u.payload_len, now};

				cb(arg, &rx);
				total++;
			}
			rte_pktmbuf_free(m[i]);
		}
		if (total || !end)
			return total;
	}
}

/* ---- endpoints ---- */

static int dpdk_open_pair(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp, uint16_t *port, char *err,
			  size_t errlen)
{
	struct dpdk_tp *t = tp;
	uint32_t span = (uint32_t)(t->port_max - t->port_min + 1) / 2;

	for (uint32_t tries = 0; tries < span; tries++) {
		uint16_t p = t->next_port;

		t->next_port = (uint16_t)(p + 2 > t->port_max - 1 ? t->port_min : p + 2);
		if (t->by_port[p] || t->by_port[p + 1])
			continue;
		rtp->fd = p;
		rtcp->fd = p + 1;
		__atomic_store_n(&t->by_port[p], rtp, __ATOMIC_RELEASE);
		__atomic_store_n(&t->by_port[p + 1], rtcp, __ATOMIC_RELEASE);
		*port = p;
		return 0;
	}
	snprintf(err, errlen, "dpdk: no free RTP/RTCP port pair in %u-%u", t->port_min, t->port_max);
	return -1;
}

static void dpdk_close_pair(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp)
{
	struct dpdk_tp *t = tp;

	if (rtp->fd >= 0 && rtp->fd < 65536)
		__atomic_store_n(&t->by_port[rtp->fd], NULL, __ATOMIC_RELEASE);
	if (rtcp->fd >= 0 && rtcp->fd < 65536)
		__atomic_store_n(&t->by_port[rtcp->fd], NULL, __ATOMIC_RELEASE);
	rtp->fd = rtcp->fd = -1;
}

/* ---- EAL and the port ---- */

static int eal_start(const struct perf_dpdk_conf *c, char *err, size_t errlen)
{
	struct dp_eal_conf ec = {.memory_mb = c->memory_mb ? c->memory_mb : 256, .hugepages = DP_HUGE_NO};
	char *argv[DP_EAL_MAX_ARGS], store[1024], vdev[256];
	cpu_set_t cpus;
	int argc, first = 0;

	if (perf_dpdk_vdev(c->device, vdev, sizeof(vdev))) {
		snprintf(err, errlen, "--dpdk-port %s: af_packet:IFACE, af_xdp:IFACE or a vdev (net_...)", c->device);
		return -1;
	}
	/* EAL pins the main lcore to one CPU: run on the first one we may, and
	 * give the threads back all of them afterwards */
	if (sched_getaffinity(0, sizeof(cpus), &cpus)) {
		snprintf(err, errlen, "sched_getaffinity: %s", strerror(errno));
		return -1;
	}
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &cpus))
		first++;
	snprintf(ec.lcores, sizeof(ec.lcores), "%d", first);
	if (snprintf(ec.extra_args, sizeof(ec.extra_args), "--file-prefix=medius-replay-%d --log-level=%s %s",
		     (int)getpid(), c->verbose ? "info" : "error", c->eal_args ? c->eal_args : "") >=
	    (int)sizeof(ec.extra_args)) {
		snprintf(err, errlen, "--dpdk-eal: too long");
		return -1;
	}
	argc = dp_eal_build_args(&ec, 0, "medius-replay", argv, store, sizeof(store));
	if (argc < 0 || argc + 2 >= DP_EAL_MAX_ARGS) {
		snprintf(err, errlen, "dpdk: too many EAL arguments");
		return -1;
	}
	argv[argc++] = "--vdev";
	argv[argc++] = vdev;
	argv[argc] = NULL;
	if (c->verbose) {
		fprintf(stderr, "medius-replay: dpdk: EAL");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
	}
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "dpdk: rte_eal_init failed: %s (needs root: NET_RAW, NET_ADMIN%s)",
			 rte_strerror(rte_errno), strstr(vdev, "af_xdp") ? ", SYS_ADMIN, locked memory" : "");
		return -1;
	}
	g_eal_up = true;
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	return 0;
}

static void *dpdk_create(const char *ipstr, uint32_t max_eps, const void *conf, char *err, size_t errlen)
{
	const struct perf_dpdk_conf *c = conf;
	struct rte_eth_conf ec;
	struct rte_eth_dev_info di;
	struct rte_ether_addr a;
	uint16_t nb_rxd = NB_DESC, nb_txd = NB_DESC, pid, nports = 0;
	struct dpdk_tp *t;
	int rc;

	if (!c || !c->device) {
		snprintf(err, errlen, "--transport dpdk needs --dpdk-port");
		return NULL;
	}
	if (g_tp || g_eal_up) {
		snprintf(err, errlen, "dpdk: one run per process");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->by_port = calloc(65536, sizeof(*t->by_port)))) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rte_spinlock_init(&t->tx_lock);
	if (inet_pton(AF_INET, ipstr, t->ip) != 1) {
		snprintf(err, errlen, "--bind %s: not an IPv4 address", ipstr);
		goto fail;
	}
	t->port_min = c->port_min ? c->port_min : 10000;
	t->port_max = c->port_max ? c->port_max : 65535;
	t->port_min += t->port_min % 2;
	t->next_port = t->port_min;
	if (t->port_max <= t->port_min || (uint32_t)(t->port_max - t->port_min + 1) / 2 < max_eps / 2) {
		snprintf(err, errlen, "dpdk: %u endpoints do not fit ports %u-%u", max_eps, t->port_min, t->port_max);
		goto fail;
	}
	if (eal_start(c, err, errlen))
		goto fail;
	RTE_ETH_FOREACH_DEV(pid) {
		if (!nports++)
			t->port = pid;
	}
	if (nports != 1) {
		snprintf(err, errlen, "dpdk: %u ethdev ports after EAL started (the one --dpdk-port names expected)",
			 nports);
		goto fail;
	}
	memset(&ec, 0, sizeof(ec));
	rc = rte_eth_dev_info_get(t->port, &di);
	/* af_xdp: every mbuf inside the umem the PMD registers (dp.h) */
	t->pool = dp_mbuf_pool_create("replay_pool", NB_MBUF, (int)rte_socket_id(),
				      !rc && di.driver_name && !strcmp(di.driver_name, "net_af_xdp"));
	if (!t->pool) {
		snprintf(err, errlen, "dpdk: no mbuf pool: %s (raise --dpdk-mem)", rte_strerror(rte_errno));
		goto fail;
	}
	if (!rc && di.driver_name && !strcmp(di.driver_name, "net_af_xdp") && dp_mbuf_pool_umem_outside(t->pool))
		fprintf(stderr, "dpdk: warning: %u of %u mbufs lie outside the af_xdp umem; rx may stall\n",
			dp_mbuf_pool_umem_outside(t->pool), t->pool->populated_size);
	if (!rc)
		rc = rte_eth_dev_configure(t->port, 1, 1, &ec);
	if (!rc)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(t->port, &nb_rxd, &nb_txd);
	if (!rc)
		rc = rte_eth_rx_queue_setup(t->port, 0, nb_rxd, (unsigned)rte_socket_id(), NULL, t->pool);
	if (!rc)
		rc = rte_eth_tx_queue_setup(t->port, 0, nb_txd, (unsigned)rte_socket_id(), NULL);
	if (!rc)
		rc = rte_eth_dev_start(t->port);
	if (rc) {
		snprintf(err, errlen, "dpdk: cannot start the port (%s): %s", di.driver_name ? di.driver_name : "?",
			 rte_strerror(rc < 0 ? -rc : rc));
		goto fail;
	}
	rte_eth_promiscuous_enable(t->port); /* frames to our own MAC when it is not the port's */
	if (c->have_mac) {
		memcpy(t->mac, c->mac, 6);
	} else if (!rte_eth_macaddr_get(t->port, &a)) {
		memcpy(t->mac, a.addr_bytes, 6);
	}
	if (c->have_peer_mac) {
		memcpy(t->arp[0].ip, c->peer_ip, 4);
		memcpy(t->arp[0].mac, c->peer_mac, 6);
		t->narp = 1;
	}
	if (c->verbose)
		fprintf(stderr, "medius-replay: dpdk: port %u (driver %s) %s at %02x:%02x:%02x:%02x:%02x:%02x\n", t->port,
			di.driver_name, ipstr, t->mac[0], t->mac[1], t->mac[2], t->mac[3], t->mac[4], t->mac[5]);
	t->verbose = c->verbose;
	g_tp = t;
	return t;
fail:
	free(t->by_port);
	free(t);
	return NULL;
}

static void dpdk_destroy(void *tp)
{
	struct dpdk_tp *t = tp;
	struct rte_eth_stats st;

	if (!t)
		return;
	dpdk_flush(t);
	if (!rte_eth_stats_get(t->port, &st) && (st.imissed || st.ierrors || st.rx_nombuf || st.oerrors || t->verbose))
		fprintf(stderr, "medius-replay: dpdk: port rx %llu missed %llu errors %llu no-mbuf %llu, tx %llu errors %llu\n",
			(unsigned long long)st.ipackets, (unsigned long long)st.imissed, (unsigned long long)st.ierrors,
			(unsigned long long)st.rx_nombuf, (unsigned long long)st.opackets, (unsigned long long)st.oerrors);
	if (t->tx_dropped || t->tx_no_mbuf || t->rx_bad || t->rx_no_ep || t->verbose)
		fprintf(stderr,
			"medius-replay: dpdk: tx %llu frames in %llu bursts, %llu dropped (ring full %d ms), %llu without mbuf; "
			"rx %llu frames, %llu not for us, %llu bad UDP, %llu to no endpoint; ARP %llu requests, %llu replies\n",
			(unsigned long long)t->tx_frames, (unsigned long long)t->tx_bursts,
			(unsigned long long)t->tx_dropped, TX_STALL_MS, (unsigned long long)t->tx_no_mbuf,
			(unsigned long long)t->rx_frames, (unsigned long long)t->rx_not_us, (unsigned long long)t->rx_bad,
			(unsigned long long)t->rx_no_ep, (unsigned long long)t->arp_requests,
			(unsigned long long)t->arp_replies);
	rte_eth_dev_stop(t->port);
	rte_eth_dev_close(t->port);
	rte_mempool_free(t->pool);
	free(t->by_port);
	free(t);
	g_tp = NULL;
	rte_eal_cleanup();
}

const struct perf_tp_ops perf_tp_dpdk = {
	.name = "dpdk",
	.create = dpdk_create,
	.open_pair = dpdk_open_pair,
	.send = dpdk_send,
	.flush = dpdk_flush,
	.poll = dpdk_poll,
	.close_pair = dpdk_close_pair,
	.destroy = dpdk_destroy,
};
