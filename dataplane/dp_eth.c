/* SPDX-License-Identifier: MIT
 * dp_eth: ethdev ports for ethdev interfaces, their life cycle, and the
 * legs' local endpoints on them (see dp_eth.h). Control lcore only.
 *
 * Life cycle: dp_media_start registers each ethdev interface
 * (dp_eth_iface_add: the device is found by name or probed from its vdev
 * arguments; interfaces naming one device share its port) and creates the
 * flow table (dp_eth_media_start). dp_workers_start, once every worker has
 * its mbuf pool, configures and starts the ports with one rx/tx queue pair
 * per worker (dp_eth_start). dp_media_stop undoes it all (dp_eth_stop).
 *
 * Endpoints and the flow table: a leg on an ethdev interface has no socket;
 * each of its ports is a flow entry (address, port) -> its struct dp_sock.
 * Workers look entries up without locks. Deleting one is safe because:
 *  1. dp_eth_endpoint_close deletes the key before the leg's DETACH
 *     command is posted, so lookups started after that miss;
 *  2. a worker only dereferences a dp_sock it got from a lookup within the
 *     same rx burst (dp_eth_input): it keeps no dp_sock between bursts, and
 *     frames it hands to another worker are looked up again there;
 *  3. every worker reports an RCU quiescent state between bursts, once per
 *     loop turn (dp_worker.c). The table is registered with the workers'
 *     RCU variable (rte_hash_rcu_qsbr_add, dp_flow.c), so the key's slot is
 *     reused only after every worker passed one; the leg (and with it the
 *     dp_sock) is freed after a grace period too (dp_leg.c's leg_free).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include "dp_eth.h"

#define RX_DESC 1024
#define TX_DESC 1024

static struct {
	struct dp_eth_port ports[DP_MAX_IFACES];
	unsigned n_ports;
	struct dp_eth_addr addrs[DP_MAX_IFACES]; /* by interface index */
	bool is_eth[DP_MAX_IFACES];
	struct dp_flow *flow;
	struct dp_worker *workers[RTE_MAX_LCORE];
	unsigned n_workers;
} g;

bool dp_eth_iface_is_eth(unsigned iface)
{
	return iface < DP_MAX_IFACES && g.is_eth[iface];
}

const struct dp_eth_addr *dp_eth_iface_addr(unsigned iface)
{
	return dp_eth_iface_is_eth(iface) ? &g.addrs[iface] : NULL;
}

struct dp_eth_port *dp_eth_iface_port(unsigned iface)
{
	return dp_eth_iface_is_eth(iface) ? g.addrs[iface].port : NULL;
}

struct dp_flow *dp_eth_flow_table(void)
{
	return g.flow;
}

static int parse_ip(const char *s, int *family, uint8_t ip[16])
{
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, s, ip) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* The port of `device`: an existing ethdev of that name, or one probed now
 * from the device string (vdev arguments, or a bus device). */
static int find_or_probe(const char *device, uint16_t *port_id, bool *hotplugged)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(device, ",");
	int rc;

	if (n == 0 || n >= sizeof(name))
		return -EINVAL;
	memcpy(name, device, n);
	name[n] = '\0';
	*hotplugged = false;
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	rc = rte_dev_probe(device);
	if (rc < 0) {
		/* a driver that refuses the device returns -1, not an errno */
		dp_log(DP_LOG_ERR, "eth", "cannot probe device '%s': %s", device,
		       rc == -1 ? "its driver refused it (see the dpdk lines above)" : rte_strerror(-rc));
		return rc == -1 ? -ENODEV : rc;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		dp_log(DP_LOG_ERR, "eth", "device '%s' was probed but has no ethdev port named '%s'",
		       device, name);
		return -ENODEV;
	}
	*hotplugged = true;
	return 0;
}

static struct dp_eth_port *port_for(const char *device, int *err)
{
	uint16_t pid;
	bool hot;
	struct dp_eth_port *p;
	struct rte_ether_addr mac;
	int rc = find_or_probe(device, &pid, &hot);

	if (rc) {
		*err = rc;
		return NULL;
	}
	for (unsigned i = 0; i < g.n_ports; i++)
		if (g.ports[i].port_id == pid)
			return &g.ports[i];
	p = &g.ports[g.n_ports];
	memset(p, 0, sizeof(*p));
	p->idx = g.n_ports;
	p->port_id = pid;
	p->hotplugged = hot;
	rte_eth_dev_get_name_by_port(pid, p->name);
	rc = rte_eth_macaddr_get(pid, &mac);
	if (rc) {
		dp_log(DP_LOG_ERR, "eth", "%s: cannot read the MAC address: %s", p->name, rte_strerror(-rc));
		*err = rc;
		return NULL;
	}
	memcpy(p->mac, mac.addr_bytes, 6);
	{
		struct rte_eth_dev_info di;

		if (rte_eth_dev_info_get(pid, &di) == 0 && di.driver_name)
			snprintf(p->driver, sizeof(p->driver), "%s", di.driver_name);
	}
	g.n_ports++;
	return p;
}

int dp_eth_iface_add(unsigned iface, const struct dp_iface_conf *conf)
{
	struct dp_eth_addr *a = &g.addrs[iface];
	struct dp_eth_port *p;
	int err = 0;

	if (iface >= DP_MAX_IFACES || conf->type != DP_IFACE_ETHDEV)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->iface = iface;
	if (parse_ip(conf->address, &a->family, a->ip)) {
		dp_log(DP_LOG_ERR, "eth", "interface %s: bad address '%s'", conf->name, conf->address);
		return -EINVAL;
	}
	if (a->family == AF_INET6 && (a->ip[0] == 0xff || a->ip[0] == 0)) {
		dp_log(DP_LOG_ERR, "eth", "interface %s: %s is not a unicast address", conf->name, conf->address);
		return -EINVAL;
	}
	if ((a->family == AF_INET && conf->prefix_len > 32) || conf->prefix_len > 128) {
		dp_log(DP_LOG_ERR, "eth", "interface %s: prefix length %u", conf->name, conf->prefix_len);
		return -EINVAL;
	}
	a->prefix_len = conf->prefix_len;
	if (conf->gateway[0]) {
		int fam;

		if (parse_ip(conf->gateway, &fam, a->gw) || fam != a->family) {
			dp_log(DP_LOG_ERR, "eth", "interface %s: gateway '%s' is not an address of the same family as %s",
			       conf->name, conf->gateway, conf->address);
			return -EINVAL;
		}
		a->has_gw = true;
	}
	if (a->family == AF_INET6) {
		a->sn_mac[0] = 0x33;
		a->sn_mac[1] = 0x33;
		a->sn_mac[2] = 0xff;
		memcpy(a->sn_mac + 3, a->ip + 13, 3);
	}
	if (!conf->device[0]) {
		dp_log(DP_LOG_ERR, "eth", "interface %s: type ethdev needs a device", conf->name);
		return -EINVAL;
	}
	p = port_for(conf->device, &err);
	if (!p)
		return err ? err : -ENODEV;
	for (unsigned i = 0; i < p->n_addrs; i++)
		if (p->addrs[i]->family == a->family && !memcmp(p->addrs[i]->ip, a->ip, 16)) {
			dp_log(DP_LOG_ERR, "eth", "interface %s: %s is already on %s", conf->name,
			       conf->address, p->name);
			return -EEXIST;
		}
	a->port = p;
	p->addrs[p->n_addrs++] = a;
	g.is_eth[iface] = true;
	dp_log(DP_LOG_INFO, "eth", "interface %s: %s/%u on port %u (%s, driver %s, %02x:%02x:%02x:%02x:%02x:%02x)%s%s",
	       conf->name, conf->address, conf->prefix_len, p->port_id, p->name, p->driver, p->mac[0], p->mac[1],
	       p->mac[2], p->mac[3], p->mac[4], p->mac[5], a->has_gw ? " via " : "",
	       a->has_gw ? conf->gateway : "");
	return 0;
}

int dp_eth_media_start(uint32_t endpoints)
{
	if (!g.n_ports)
		return 0;
	/* deleted entries keep their slot for a grace period: room for
	 * DP_ETH_FLOW_SPARE of them beyond every endpoint in use */
	g.flow = dp_flow_create("dp_flow", endpoints + DP_ETH_FLOW_SPARE, SOCKET_ID_ANY);
	if (g.flow && dp_flow_rcu_attach(g.flow, dp_worker_qsbr())) {
		dp_flow_destroy(g.flow);
		g.flow = NULL;
	}
	return g.flow ? 0 : -ENOMEM;
}

/* Discard what the port's rx queues hold before any worker polls them (the
 * control lcore, at start): net_af_packet opens its socket for every
 * protocol and sets its ring up before it binds the socket to its
 * interface, so the ring can hold frames of any interface of the host
 * (loopback traffic, other veths) from that moment; medius would count
 * them as ip_not_local. A NIC's queues are empty here. Returns how many. */
static unsigned drain_rx(const struct dp_eth_port *p, unsigned n)
{
	struct rte_mbuf *m[32];
	unsigned total = 0;

	for (unsigned q = 0; q < n; q++) {
		uint16_t k;

		while ((k = rte_eth_rx_burst(p->port_id, (uint16_t)q, m, 32)) > 0 && total < 1u << 20) {
			rte_pktmbuf_free_bulk(m, k);
			total += k;
		}
	}
	return total;
}

bool dp_eth_has_af_xdp(void)
{
	for (unsigned i = 0; i < g.n_ports; i++)
		if (!strcmp(g.ports[i].driver, "net_af_xdp"))
			return true;
	return false;
}

struct rte_mempool *dp_mbuf_pool_create(const char *name, unsigned n, int socket, bool af_xdp)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE };
	struct rte_mempool *mp;

	/* with hugepages and IOVA as PA a physical NIC's DMA needs objects
	 * inside one page; the few lost at page ends are logged at start */
	if (!af_xdp || (rte_eal_has_hugepages() && rte_eal_iova_mode() == RTE_IOVA_PA))
		return rte_pktmbuf_pool_create(name, n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	mp = rte_mempool_create_empty(name, n, (unsigned)sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, 256,
				      sizeof(priv), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (!mp)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL)) {
		rte_mempool_free(mp);
		rte_errno = EINVAL;
		return NULL;
	}
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0) {
		rte_mempool_free(mp);
		rte_errno = ENOMEM;
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

struct umem_span {
	uintptr_t base, end; /* what the PMD registers */
	size_t hdr, frame;
	unsigned outside;
};

static void umem_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct umem_span *u = arg;
	uintptr_t a = (uintptr_t)obj - u->hdr; /* the fill-ring address: the object's header */

	(void)mp;
	(void)idx;
	if (a < u->base || a + u->frame > u->end)
		u->outside++;
}

/* DPDK 22.11 net_af_xdp (xdp_umem_configure, zero-copy mempool mode): base
 * is the pool's first memory chunk rounded down to a page, the size
 * populated_size x rte_mempool_calc_obj_size() plus that rounding; a
 * fill-ring address is an mbuf's object header minus base, and the kernel
 * takes it only if a whole frame from there lies inside the umem. */
unsigned dp_mbuf_pool_umem_outside(struct rte_mempool *pool)
{
	struct rte_mempool_memhdr *first = STAILQ_FIRST(&pool->mem_list);
	uintptr_t addr, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct umem_span u = { 0 };

	if (!first)
		return pool->populated_size;
	addr = (uintptr_t)first->addr;
	u.base = addr & ~(page - 1);
	u.hdr = pool->header_size;
	u.frame = rte_mempool_calc_obj_size(pool->elt_size, pool->flags, NULL);
	u.end = u.base + (uintptr_t)pool->populated_size * u.frame + (addr - u.base);
	rte_mempool_obj_iter(pool, umem_obj, &u);
	return u.outside;
}

/* What net_af_xdp needs that medius cannot see (logged when its port would
 * not start). DPDK 22.11's PMD registers each rx queue's whole mbuf pool as
 * the AF_XDP umem (pinned memory, counted against RLIMIT_MEMLOCK unless the
 * process has CAP_IPC_LOCK) and puts 2048 of the pool's mbufs in the
 * queue's fill ring at once. Measured with libxdp 1.3: creating the umem
 * needs CAP_NET_RAW, attaching the XDP program CAP_NET_ADMIN, and setting
 * up the socket CAP_SYS_ADMIN (CAP_BPF alone is not enough). */
static void af_xdp_hint(const struct dp_eth_port *p, const struct rte_mempool *pool)
{
	struct rlimit rl = { 0, 0 };
	uint64_t umem = (uint64_t)pool->populated_size * rte_mempool_calc_obj_size(pool->elt_size, pool->flags, NULL);
	char lim[32] = "unlimited";

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
	dp_log(DP_LOG_ERR, "eth",
	       "%s: af_xdp needs the capabilities NET_RAW, NET_ADMIN and SYS_ADMIN, locked "
	       "memory for its umem (the worker's %u-mbuf pool, %llu KiB; RLIMIT_MEMLOCK is %s: raise it or "
	       "grant IPC_LOCK), more than 2048 mbufs per worker (media.mbufs_per_worker) and XDP on the "
	       "interface (see the dpdk and libxdp lines above)",
	       p->name, pool->populated_size, (unsigned long long)(umem / 1024), lim);
}

static int port_start(struct dp_eth_port *p, struct dp_worker *const *workers, unsigned n)
{
	unsigned stale;
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	uint16_t nb_rxd = RX_DESC, nb_txd = TX_DESC;
	bool v6 = false;
	int rc;

	rc = rte_eth_dev_info_get(p->port_id, &di);
	if (rc)
		goto fail;
	if (di.max_rx_queues < n || di.max_tx_queues < n) {
		dp_log(DP_LOG_ERR, "eth",
		       "%s (%s) has %u rx / %u tx queues, but each of the %u workers needs a pair "
		       "(af_packet: add qpairs=%u to the device; af_xdp: queue_count=%u, on an interface "
		       "with that many combined channels, ethtool -L; a veth has one)", p->name, p->driver,
		       di.max_rx_queues, di.max_tx_queues, n, n, n);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	p->tx_offloads = di.tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
	p->rx_offloads = di.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	conf.txmode.offloads = p->tx_offloads;
	conf.rxmode.offloads = p->rx_offloads;
	if (n > 1 && di.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = di.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	}
	rc = rte_eth_dev_configure(p->port_id, (uint16_t)n, (uint16_t)n, &conf);
	if (rc)
		goto fail;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	if (rc)
		goto fail;
	for (unsigned q = 0; q < n; q++) {
		int socket = (int)rte_lcore_to_socket_id(workers[q]->lcore);

		rc = rte_eth_rx_queue_setup(p->port_id, (uint16_t)q, nb_rxd, (unsigned)socket, NULL,
					    workers[q]->pool);
		if (!rc)
			rc = rte_eth_tx_queue_setup(p->port_id, (uint16_t)q, nb_txd, (unsigned)socket, NULL);
		if (rc)
			goto fail;
	}
	rc = rte_eth_dev_start(p->port_id);
	if (rc)
		goto fail;
	p->started = true;
	if (!strcmp(p->driver, "net_af_xdp"))
		for (unsigned q = 0; q < n; q++) {
			unsigned out = dp_mbuf_pool_umem_outside(workers[q]->pool);

			if (!out)
				dp_log(DP_LOG_INFO, "eth", "%s: the af_xdp umem holds all %u mbufs of worker %u's pool",
				       p->name, workers[q]->pool->populated_size, workers[q]->lcore);
			else
				dp_log(DP_LOG_WARNING, "eth",
				       "%s: %u of the %u mbufs of worker %u's pool lie outside the umem net_af_xdp "
				       "registers; the kernel drops each one it takes from the fill ring (leaked, "
				       "and the ring one shorter: rx stops if the ring empties), see docs/operations.md",
				       p->name, out, workers[q]->pool->populated_size, workers[q]->lcore);
		}
	p->nb_queues = (uint16_t)n;
	for (unsigned i = 0; i < p->n_addrs; i++)
		v6 |= p->addrs[i]->family == AF_INET6;
	if (v6) /* solicited-node groups; a NIC that filters multicast needs this */
		rte_eth_allmulticast_enable(p->port_id);
	stale = drain_rx(p, n);
	if (stale)
		dp_log(DP_LOG_INFO, "eth", "%s: discarded %u frame(s) queued before it started", p->name, stale);
	dp_log(DP_LOG_INFO, "eth", "%s (driver %s) started: %u queue pair(s), tx checksum offload %s, rx %s",
	       p->name, p->driver, n,
	       (p->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? "UDP" : "none (software)",
	       (p->rx_offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) ? "UDP" : "none (software)");
	return 0;
fail:
	dp_log(DP_LOG_ERR, "eth", "%s: cannot start the port: %s", p->name, rte_strerror(rc < 0 ? -rc : rc));
	if (!strcmp(p->driver, "net_af_xdp"))
		af_xdp_hint(p, workers[0]->pool);
	return rc < 0 ? rc : -rc;
}

int dp_eth_start(struct dp_worker *const *workers, unsigned n)
{
	int rc = 0;

	if (!g.n_ports || n == 0)
		return 0;
	for (unsigned i = 0; i < g.n_ports && !rc; i++)
		rc = port_start(&g.ports[i], workers, n);
	for (unsigned q = 0; q < n && !rc; q++) {
		struct dp_eth_port *list[DP_MAX_IFACES];

		for (unsigned i = 0; i < g.n_ports; i++)
			list[i] = &g.ports[i];
		rc = dp_eth_worker_init(workers[q], list, g.n_ports, (uint16_t)q);
		g.workers[q] = workers[q];
		g.n_workers = q + 1;
	}
	if (rc)
		dp_eth_stop();
	return rc;
}

void dp_eth_stop(void)
{
	for (unsigned q = 0; q < g.n_workers; q++)
		dp_eth_worker_free(g.workers[q]);
	g.n_workers = 0;
	for (unsigned i = 0; i < g.n_ports; i++) {
		struct dp_eth_port *p = &g.ports[i];
		struct rte_eth_dev_info di;

		if (p->started)
			rte_eth_dev_stop(p->port_id);
		p->started = false;
		if (p->hotplugged && rte_eth_dev_info_get(p->port_id, &di) == 0 && di.device) {
			rte_eth_dev_close(p->port_id);
			rte_dev_remove(di.device);
		}
	}
	dp_flow_destroy(g.flow);
	memset(&g, 0, sizeof(g));
}

int dp_eth_iface_stats(unsigned iface, struct dp_iface_stats *out)
{
	const struct dp_eth_port *p = dp_eth_iface_port(iface);
	struct rte_eth_stats st;

	if (!p)
		return -ENODEV;
	out->ethdev = true;
	snprintf(out->device, sizeof(out->device), "%s", p->name);
	snprintf(out->driver, sizeof(out->driver), "%s", p->driver);
	if (!p->started || rte_eth_stats_get(p->port_id, &st) != 0)
		return 0;
	out->port_rx_packets = st.ipackets;
	out->port_tx_packets = st.opackets;
	out->port_rx_bytes = st.ibytes;
	out->port_tx_bytes = st.obytes;
	out->port_rx_missed = st.imissed;
	out->port_rx_errors = st.ierrors;
	out->port_tx_errors = st.oerrors;
	out->port_rx_nombuf = st.rx_nombuf;
	return 0;
}

int dp_eth_endpoint_open(unsigned iface, uint16_t port, struct dp_sock *s)
{
	const struct dp_eth_addr *a = dp_eth_iface_addr(iface);
	struct sockaddr_storage ss;
	struct dp_flow_key k;
	int32_t rc;

	if (!a || !g.flow)
		return -ENODEV;
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		memcpy(&v4->sin_addr, a->ip, 4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		memcpy(&v6->sin6_addr, a->ip, 16);
	}
	/* fields the worker reads once the entry is visible: set them first */
	s->fd = -1;
	s->eth = a->port;
	s->local = ss;
	s->flow_pos = -1;
	dp_flow_key_from_sa(&k, &ss);
	rc = dp_flow_add(g.flow, &k, s);
	if (rc < 0) {
		s->eth = NULL;
		return rc == -EEXIST ? -EADDRINUSE : rc;
	}
	return 0;
}

void dp_eth_endpoint_close(struct dp_sock *s)
{
	struct dp_flow_key k;

	if (!s->eth || !g.flow || dp_flow_key_from_sa(&k, &s->local))
		return;
	dp_flow_del(g.flow, &k); /* its slot is reused after a grace period */
	s->flow_pos = -1;
}
