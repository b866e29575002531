/* SPDX-License-Identifier: MIT
 * perf/perf_relay.c: packets per second of one worker lcore relaying RTP
 * (plain, and SRTP->SRTP re-encryption with AES_CM_128_HMAC_SHA1_80 and
 * AEAD_AES_128_GCM on each SRTP engine: intel-ipsec-mb, OpenSSL, libsrtp2)
 * on an ethdev interface, at 10, 1k, 10k and 100k concurrent streams, the
 * latency the relay adds, and in the same run the I/O-only ceiling
 * (net_null rx_burst -> tx_burst, no processing), each SRTP row's crypto
 * floor (the engine alone over the same packets, crypto_floor) and the
 * kernel-UDP path over loopback.
 *
 * Set-up (pure CPU, nothing leaves the process):
 *  - A stream is one RTP flow into a leg A, relayed out of its peer leg B
 *    (one call per stream, legs with rtcp-mux and asymmetric, B's remote
 *    off-link behind a gateway whose MAC the worker learns from an ARP
 *    request the bench injects). Legs are made with the dp_media.h API on
 *    ethdev interfaces: up to 32256 legs per interface address (ports
 *    1024-65535), so 100k streams take 4 addresses per side.
 *  - Rx: A legs sit on a net_ring port built with rte_eth_from_rings; the
 *    main lcore pre-fills its rx ring with frames addressed to the legs
 *    (streams interleaved: round k holds packet k of every stream) and the
 *    worker drains it through the real worker loop. The timed frames go in
 *    chunks of CHUNK (8 MB of mbufs, so they sit in L3 as a NIC's recycled
 *    rx buffers would, not in a cold 100 MB backlog): the main lcore builds
 *    a chunk while the worker idles, enqueues it whole, and sleeps until the
 *    worker has sent it all; only the worker's busy time counts. (With the
 *    main lcore busy at the same time the worker measured up to 2x slower
 *    on this VM, and two threads in Debian's NSS-based libsrtp2 at once
 *    slow each other down badly.)
 *  - Tx, two variants: "ring" (B legs on the same ring port: frames go to
 *    its tx ring, which the main lcore drains) and "null" (B legs on a
 *    net_null port with no-rx=1, whose tx frees the mbufs on the worker).
 *  - Round 0 warms up (per-SSRC SRTP state, caches); the timed rounds follow
 *    in one go. Throughput = timed frames / (TSC at the last frame's tx_burst
 *    - TSC at the first frame's rx_burst), from rx/tx callbacks on the
 *    worker (one rdtsc per burst).
 *  - Latency added per packet: the rx callback stamps each mbuf (dynamic
 *    field) with the burst's rx TSC, the tx callback takes now - stamp for
 *    each frame handed to tx_burst: rx -> parse -> flow lookup -> relay
 *    (SRTP) -> headers -> tx buffer -> flush. With a pre-filled ring the
 *    worker is saturated, so this is the per-burst service time, not
 *    queueing before rx. Then LIGHT frames go one at a time (the next once
 *    the last has left): the latency of a lone packet on an idle worker.
 *  - 10 streams is a reference row: everything stays in cache.
 *  - SRTP rows run on net_null tx, one per engine and suite. Limits found:
 *    SRTP contexts from Debian's libsrtp2 (on NSS) cost ~29 KB each, their
 *    creation time grows with the number alive (~110 us each at 4k, ~250 us
 *    at 10k) and so does the per-packet cost. A stream needs 4 (SRTP +
 *    SRTCP, rx on A and tx on B), so libsrtp runs at 10 and 1k streams by
 *    default (--srtp-max 10000 adds 10k); medius's own engines run at every
 *    scale.
 *
 * Usage: perf_relay [--quick] [--srtp-max N] [--engine E] [--suite S] [--only STREAMS [rtp|srtp]]
 *                   [--only-kernel STREAMS SECS [lone]] [--kernel-io STREAMS PPS SECS ROUNDS]
 *   --engine/--suite: only that engine's / suite's SRTP rows (and --only's
 *   engine and suite; default the auto engine, AES_CM_128_HMAC_SHA1_80);
 *   PERF_RELAY_FLOOR=N in the environment: only the AES-CM crypto floors of
 *   each engine at N streams;
 *   --quick: up to 10k streams, plain RTP only; --only: that one run on
 *   the ring variant, five times (for profiling); --only-kernel: one
 *   kernel-UDP run (for callgrind: --toggle-collect=dp_relay_socket);
 *   lone: one packet at a time, each sent once the last came back, so
 *   every burst holds one packet and callgrind's count per packet does not
 *   depend on how the two threads were scheduled (MEDIUS_KERNEL_IO=epoll
 *   or uring picks the backend);
 *   --kernel-io: the kernel-UDP relay on epoll and on io_uring
 *   (media.kernel_io), alternating, ROUNDS runs each: what it relayed and
 *   the worker thread's CPU time per packet (/proc schedstat); PPS 0: as
 *   fast as the sender goes, else paced at PPS in all (1000 streams x 50);
 *   PERF_KIO_ONLY=epoll|uring in the environment: that backend alone;
 *   PERF_BUSY_POLL_US=N: media.busy_poll_us (default 20).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_pkt.h"
#include "dp_srtp.h"
#include "perf_eth.h"

#define PAIRS_PER_IF 32256u /* RTP/RTCP pairs in ports 1024-65535 */
#define RTP_LEN 172          /* 12-byte header + 160 bytes of G.711 */
#define FRAME_ROOM 256
#define RX_RING (1u << 15)
#define DEPTH 4096u          /* warm-up: frames kept queued ahead of the worker */
#define CHUNK 16384u         /* timed frames pre-filled at once */
#define POOL_FRAMES 65535u
#define PLAIN_TIMED (8 * CHUNK)
#define SRTP_TIMED 20000u
#define LIGHT 2000u           /* frames sent one at a time for the light-load latency */

static struct rte_mempool *fpool, *iopool;
static struct perf_ring_port rp; /* "net_ring_bench" */
#define r_rx rp.rx
#define r_tx rp.tx
#define p_ring rp.port
static uint16_t p_null, p_io;
static int ts_off = -1;
static uint64_t hz;
static const uint8_t gw_ip[4] = { 10, 1, 255, 254 };

static void die(const char *what)
{
	fprintf(stderr, "perf_relay: %s\n", what);
	exit(1);
}

/* ---- measurement: rx/tx callbacks on the worker ---- */

#define HBUCKETS (64 * 8)

static struct {
	volatile bool armed;
	volatile uint64_t tx_frames; /* relayed frames seen at tx_burst (armed or not) */
	uint16_t frame_len;
	uint64_t first_rx, last_tx;
	uint64_t hist[HBUCKETS];
	uint64_t samples;
} M;

static inline uint64_t *stamp(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, ts_off, uint64_t *);
}

static uint16_t rx_cb(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n, uint16_t max, void *u)
{
	uint64_t now;

	(void)port, (void)q, (void)max, (void)u;
	if (!n)
		return 0;
	now = rte_rdtsc();
	if (M.armed && !M.first_rx)
		M.first_rx = now;
	for (uint16_t i = 0; i < n; i++)
		*stamp(pkts[i]) = now;
	return n;
}

static unsigned bucket(uint64_t v)
{
	unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;

	if (msb < 3)
		return (unsigned)v;
	return msb * 8 + (unsigned)((v >> (msb - 3)) & 7);
}

static double bucket_value(unsigned b)
{
	unsigned msb = b / 8, sub = b % 8;

	if (msb < 3)
		return b;
	return (double)((8u + sub) * (1ull << (msb - 3))) + (double)(1ull << (msb - 3)) / 2;
}

static uint16_t tx_cb(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n, void *u)
{
	uint64_t now = rte_rdtsc(), relayed = 0;

	(void)port, (void)q, (void)u;
	for (uint16_t i = 0; i < n; i++) {
		if (rte_pktmbuf_pkt_len(pkts[i]) != M.frame_len)
			continue; /* ARP, gratuitous ARP */
		relayed++;
		if (M.armed) {
			M.hist[bucket(now - *stamp(pkts[i]))]++;
			M.samples++;
		}
	}
	if (relayed && M.armed)
		M.last_tx = now;
	M.tx_frames += relayed;
	return n;
}

/* One frame injected into net_null's rx (it has none of its own). */
static struct rte_mbuf *volatile inject;

static uint16_t inject_cb(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n, uint16_t max, void *u)
{
	struct rte_mbuf *m = inject;

	(void)port, (void)q, (void)u;
	if (m && n < max) {
		inject = NULL;
		pkts[n++] = m;
	}
	return n;
}

static double percentile(double p)
{
	uint64_t want = (uint64_t)(p * (double)M.samples), seen = 0;

	for (unsigned b = 0; b < HBUCKETS; b++) {
		seen += M.hist[b];
		if (seen > want)
			return bucket_value(b) * 1e6 / (double)hz; /* us */
	}
	return 0;
}

/* ---- frames ---- */

static struct rte_mbuf *build_udp(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
				  const uint8_t *payload, uint16_t plen)
{
	struct rte_mbuf *m = perf_udp_frame(fpool, rp.mac, src, dst, sport, dport, payload, plen);

	if (!m)
		die("frame pool exhausted");
	return m;
}

static struct rte_mbuf *arp_from_gateway(const uint8_t target[4])
{
	return perf_arp_from_gateway(fpool, gw_ip, target);
}

/* ---- the runs ---- */

struct result {
	const char *variant;
	unsigned streams;
	bool srtp;
	enum dp_srtp_engine engine;
	enum dp_srtp_suite suite;
	double floor1, floor32, floorx; /* crypto alone, pps: one packet a call; 32 of one stream a
					 * call; one packet of each of 32 streams a call (the relay's) */
	bool ok;
	double pps, p50, p99, l50, l99, setup_s;
	uint64_t frames, drops;
	char drop_note[160];
};

/* Frame generator: frame g is packet g / streams + 1 of stream g % streams. */
struct gen {
	unsigned streams;
	uint64_t next;
	const uint16_t *a_port;
	const uint8_t (*a_ip)[4];
	struct dp_srtp **enc; /* one per stream (a stream's SSRC table holds its one SSRC) */
};

static struct rte_mbuf *gen_one(struct gen *g)
{
	unsigned i = (unsigned)(g->next % g->streams);
	uint32_t k = (uint32_t)(g->next / g->streams) + 1;
	uint8_t p[FRAME_ROOM], *pp = p, src[4] = { 192, 168, (uint8_t)(i >> 8), (uint8_t)i };
	uint16_t len = RTP_LEN;
	int16_t rc;

	g->next++;
	memset(p, 0xd5, RTP_LEN);
	p[0] = 0x80;
	p[1] = 0;
	dp_rtp_set_seq(p, (uint16_t)k);
	dp_rtp_set_ts(p, k * 160u);
	dp_rtp_set_ssrc(p, 0x10000u + i);
	if (g->enc && dp_srtp_protect_burst(g->enc[i], &pp, &len, sizeof(p), &rc, 1) != 1)
		die("SRTP protect");
	return build_udp(src, g->a_ip[i], 5000, g->a_port[i], p, len);
}

static void drain_tx(void)
{
	struct rte_mbuf *m[256];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(r_tx, (void **)m, 256, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

/* Frames a failed run left behind (no worker polls the ring now). */
static void drain_rx(void)
{
	struct rte_mbuf *m[256];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(r_rx, (void **)m, 256, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

static bool wait_tx(uint64_t want, double timeout_s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)hz);

	while (M.tx_frames < want && rte_rdtsc() < end)
		drain_tx();
	drain_tx();
	return M.tx_frames >= want;
}

static void enqueue_all(struct rte_mbuf **m, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		done += rte_ring_sp_enqueue_burst(r_rx, (void **)(m + done), n - done, NULL);
		drain_tx();
	}
}

/* Feed frames [g->next, end) to the worker, DEPTH ahead of it. */
static void feed(struct gen *g, uint64_t end)
{
	struct rte_mbuf *m[64];

	while (g->next < end) {
		unsigned n = 0;

		if (rte_ring_count(r_rx) >= DEPTH) {
			drain_tx();
			continue;
		}
		while (n < 64 && g->next < end)
			m[n++] = gen_one(g);
		enqueue_all(m, n);
	}
}

#define now_s perf_now_s

static void ip_of(uint8_t out[4], uint8_t net, unsigned idx)
{
	out[0] = 10;
	out[1] = net;
	out[2] = (uint8_t)idx;
	out[3] = 1;
}

/* The crypto floor: the same SRTP work as the relay (per packet, unprotect
 * on the stream's rx context and protect on its tx context) with nothing
 * else, on the engine under test. Packets as gen_one makes them; `per`
 * packets of one stream per call: 1 is the relay's call pattern at >= 32
 * streams (a burst's packets belong to different streams), 32 is the
 * engine's best case; 0 is the relay's pattern since dp_relay_multi: one
 * packet of each of 32 streams a call (dp_srtp_unprotect_multi, then
 * dp_srtp_protect_multi). Only the burst calls are timed. Returns packets
 * per second. */
static double crypto_floor(enum dp_srtp_engine eng, enum dp_srtp_suite suite, unsigned streams, unsigned per)
{
	bool cross = per == 0;
	enum { FB = 32 };
	static uint8_t buf[CHUNK][FRAME_ROOM];
	static uint16_t blen[CHUNK];
	uint8_t key[DP_SRTP_MAX_KEY_SALT];
	size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	struct dp_srtp_params prm = { .engine = eng, .suite = suite, .key_salt = key, .key_salt_len = klen };
	struct dp_srtp **rx = calloc(streams, sizeof(*rx)), **tx = calloc(streams, sizeof(*tx)),
		       **gen = calloc(streams, sizeof(*gen));
	uint32_t *seq = calloc(streams, sizeof(*seq));
	uint64_t cycles = 0, done = 0, want = eng == DP_SRTP_ENGINE_LIBSRTP ? SRTP_TIMED : PLAIN_TIMED;
	unsigned cur = 0;
	bool warm = false;

	if (!rx || !tx || !gen || !seq)
		die("no memory");
	if (cross)
		per = 1;
	for (size_t i = 0; i < klen; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (unsigned i = 0; i < streams; i++) {
		prm.dir = DP_SRTP_UNPROTECT;
		rx[i] = dp_srtp_create_ex(&prm);
		prm.dir = DP_SRTP_PROTECT;
		tx[i] = dp_srtp_create_ex(&prm);
		gen[i] = dp_srtp_create_ex(&prm);
		if (!rx[i] || !tx[i] || !gen[i])
			die("crypto floor: SRTP contexts");
	}
	while (done < want) {
		unsigned n = 0;
		uint64_t t0, t1;

		/* a chunk: `per` consecutive packets of each stream in turn; the
		 * first chunks (untimed) go once round every stream */
		bool wrapped = false;

		while (n + per <= CHUNK && !(wrapped && !warm)) {
			unsigned i = cur;

			cur = (cur + 1) % streams;
			wrapped = cur == 0;
			for (unsigned k = 0; k < per; k++, n++) {
				uint8_t *p = buf[n];
				int16_t rc;

				memset(p, 0xd5, RTP_LEN);
				p[0] = 0x80;
				p[1] = 0;
				dp_rtp_set_seq(p, (uint16_t)++seq[i]);
				dp_rtp_set_ts(p, seq[i] * 160u);
				dp_rtp_set_ssrc(p, 0x10000u + i);
				blen[n] = RTP_LEN;
				if (dp_srtp_protect_burst(gen[i], &p, &blen[n], FRAME_ROOM, &rc, 1) != 1)
					die("crypto floor: generator");
			}
		}
		t0 = rte_rdtsc();
		for (unsigned j = 0; cross && j < n; j += FB) {
			struct dp_srtp_pkt q[FB];
			unsigned m = n - j < FB ? n - j : FB;

			for (unsigned k = 0; k < m; k++) {
				q[k].s = rx[dp_get_be32(buf[j + k] + 8) - 0x10000u];
				q[k].p = buf[j + k];
				q[k].len = blen[j + k];
				q[k].room = FRAME_ROOM;
				q[k].rtcp = false;
			}
			if (dp_srtp_unprotect_multi(q, (uint16_t)m) != m)
				die("crypto floor: a packet failed");
			for (unsigned k = 0; k < m; k++)
				q[k].s = tx[dp_get_be32(buf[j + k] + 8) - 0x10000u];
			if (dp_srtp_protect_multi(q, (uint16_t)m) != m)
				die("crypto floor: a packet failed");
			for (unsigned k = 0; k < m; k++)
				blen[j + k] = q[k].len;
		}
		for (unsigned j = 0; !cross && j < n; j += per) {
			unsigned i = (unsigned)(dp_get_be32(buf[j] + 8) - 0x10000u);
			uint8_t *pk[FB];
			int16_t rc[FB];

			for (unsigned k = 0; k < per; k++)
				pk[k] = buf[j + k];
			if (dp_srtp_unprotect_burst(rx[i], pk, &blen[j], FRAME_ROOM, rc, (uint16_t)per) != per ||
			    dp_srtp_protect_burst(tx[i], pk, &blen[j], FRAME_ROOM, rc, (uint16_t)per) != per)
				die("crypto floor: a packet failed");
		}
		t1 = rte_rdtsc();
		if (warm) { /* the first pass puts every SSRC in its tables */
			cycles += t1 - t0;
			done += n;
		}
		warm = warm || wrapped;
	}
	for (unsigned i = 0; i < streams; i++) {
		dp_srtp_destroy(rx[i]);
		dp_srtp_destroy(tx[i]);
		dp_srtp_destroy(gen[i]);
	}
	free(rx);
	free(tx);
	free(gen);
	free(seq);
	return cycles ? (double)done * (double)hz / (double)cycles : 0;
}

static struct result run_relay(const char *variant, unsigned streams, bool srtp, enum dp_srtp_engine eng,
			       enum dp_srtp_suite suite)
{
	struct result r = { .variant = variant, .streams = streams, .srtp = srtp, .engine = eng, .suite = suite };
	unsigned nif = (streams + PAIRS_PER_IF - 1) / PAIRS_PER_IF;
	unsigned timed = srtp && eng == DP_SRTP_ENGINE_LIBSRTP ? SRTP_TIMED : PLAIN_TIMED;
	uint8_t klen = (uint8_t)(dp_srtp_key_len(suite) + dp_srtp_salt_len(suite));
	unsigned rounds = 1 + (timed + streams - 1) / streams;
	bool null_tx = !strcmp(variant, "null");
	uint16_t b_port = null_tx ? p_null : p_ring;
	struct dp_media_conf mc;
	struct dp_call **calls;
	uint16_t *a_port;
	uint8_t (*a_ip)[4];
	struct gen g = { .streams = streams };
	const struct rte_eth_rxtx_callback *cb_rx, *cb_tx, *cb_inj = NULL;
	struct dp_sdes k_in = { .suite = suite, .key_salt_len = klen }, k_out = k_in;
	struct dp_srtp **enc = NULL;
	struct dp_lcore_stats ls;
	double t0 = now_s();
	uint64_t total, busy = 0;

	if (rounds < 2)
		rounds = 2;
	total = (uint64_t)streams * rounds;
	for (int i = 0; i < klen; i++) {
		k_in.key_salt[i] = (uint8_t)(i * 7 + 1);
		k_out.key_salt[i] = (uint8_t)(i * 11 + 3);
	}
	/* interfaces: A0.. on the ring port, B0.. on the ring or null port */
	dp_media_conf_defaults(&mc);
	mc.n_ifaces = 2 * nif;
	mc.mbufs = 16383;
	snprintf(mc.srtp_engine, sizeof(mc.srtp_engine), "%s", dp_srtp_engine_name(eng));
	for (unsigned i = 0; i < 2 * nif; i++) {
		struct dp_iface_conf *f = &mc.ifaces[i];
		bool b = i >= nif;
		unsigned k = b ? i - nif : i;

		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%c%u", b ? 'B' : 'A', k);
		snprintf(f->address, sizeof(f->address), "10.%u.%u.1", b ? 1 : 0, k);
		f->type = DP_IFACE_ETHDEV;
		snprintf(f->device, sizeof(f->device), "%s", b && null_tx ? "net_null1" : "net_ring_bench");
		f->port_min = 1024;
		f->port_max = 65535;
		if (b) {
			f->prefix_len = 16;
			snprintf(f->gateway, sizeof(f->gateway), "10.1.255.254");
		}
	}
	if (dp_media_start(&mc) || dp_workers_start() != 1)
		die("media layer / worker start");
	memset((void *)&M, 0, sizeof(M));
	M.frame_len = (uint16_t)(42 + RTP_LEN + (srtp ? dp_srtp_rtp_trailer_len(suite) : 0));
	cb_rx = rte_eth_add_rx_callback(p_ring, 0, rx_cb, NULL);
	cb_tx = rte_eth_add_tx_callback(b_port, 0, tx_cb, NULL);
	if (!cb_rx || !cb_tx)
		die("rx/tx callbacks");
	/* the gateway introduces itself (an ARP request for B0's address) */
	{
		uint8_t b0[4];

		ip_of(b0, 1, 0);
		if (null_tx) {
			cb_inj = rte_eth_add_rx_callback(p_null, 0, inject_cb, NULL);
			inject = arp_from_gateway(b0);
			while (inject)
				rte_pause();
		} else {
			struct rte_mbuf *m = arp_from_gateway(b0);

			enqueue_all(&m, 1);
		}
		rte_delay_ms(20);
		drain_tx();
	}

	/* legs */
	calls = calloc(streams, sizeof(*calls));
	a_port = calloc(streams, sizeof(*a_port));
	a_ip = calloc(streams, sizeof(*a_ip));
	if (!calls || !a_port || !a_ip)
		die("no memory");
	for (unsigned i = 0; i < streams; i++) {
		char id[32], ia[8], ib[8];
		struct dp_leg *a, *b;
		struct dp_leg_local loc;
		struct sockaddr_in rem = { .sin_family = AF_INET, .sin_port = htons(5000) };
		int err;

		snprintf(id, sizeof(id), "bench-%u", i);
		snprintf(ia, sizeof(ia), "A%u", i / PAIRS_PER_IF);
		snprintf(ib, sizeof(ib), "B%u", i / PAIRS_PER_IF);
		calls[i] = dp_call_create(id);
		a = calls[i] ? dp_leg_create(calls[i], ia, DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX, &err) : NULL;
		b = a ? dp_leg_create(calls[i], ib, DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX, &err) : NULL;
		if (!b)
			die("leg creation");
		rem.sin_addr.s_addr = htonl(0xc0a80000u | (i & 0xffff)); /* 192.168.x.y: off-link */
		dp_leg_set_remote(a, (struct sockaddr *)&rem, NULL); /* gen_one's source: signalled */
		dp_leg_set_remote(b, (struct sockaddr *)&rem, NULL);
		if (srtp && (dp_leg_set_srtp(a, &k_in, NULL) || dp_leg_set_srtp(b, NULL, &k_out)))
			die("SRTP keys");
		dp_leg_connect(a, b);
		dp_leg_local(a, &loc);
		a_port[i] = loc.rtp_port;
		inet_pton(AF_INET, loc.address, a_ip[i]);
	}
	if (srtp) {
		enc = calloc(streams, sizeof(*enc));
		for (unsigned i = 0; enc && i < streams; i++)
			if (!(enc[i] = dp_srtp_create(suite, k_in.key_salt, klen, DP_SRTP_PROTECT, 0)))
				die("SRTP generator");
	}
	g.a_port = a_port;
	g.a_ip = (const uint8_t(*)[4])a_ip;
	g.enc = enc;
	dp_workers_synchronize(); /* every leg's settings are on the worker before the first frame */
	r.setup_s = now_s() - t0;

	/* warm-up round (per-SSRC state, caches), then the timed rounds */
	feed(&g, streams);
	r.ok = wait_tx(streams, 30);
	M.samples = 0;
	memset(M.hist, 0, sizeof(M.hist));
	while (r.ok && g.next < total) {
		struct rte_mbuf *m[CHUNK];
		unsigned n = 0;
		uint64_t end = rte_rdtsc() + 60 * hz;

		while (n < CHUNK && g.next < total)
			m[n++] = gen_one(&g);
		M.first_rx = M.last_tx = 0;
		rte_smp_wmb();
		M.armed = true;
		enqueue_all(m, n);
		while (M.tx_frames < g.next && rte_rdtsc() < end)
			usleep(100);
		M.armed = false;
		rte_smp_rmb();
		r.ok = M.tx_frames >= g.next;
		busy += M.last_tx - M.first_rx;
		drain_tx();
	}
	r.p50 = percentile(0.50);
	r.p99 = percentile(0.99);
	/* light load: one frame at a time */
	M.samples = 0;
	memset(M.hist, 0, sizeof(M.hist));
	M.armed = true;
	for (unsigned j = 0; j < LIGHT && r.ok; j++) {
		struct rte_mbuf *m = gen_one(&g);
		uint64_t end = rte_rdtsc() + hz;

		enqueue_all(&m, 1);
		while (M.tx_frames < g.next && rte_rdtsc() < end)
			rte_pause();
		r.ok = M.tx_frames >= g.next;
	}
	M.armed = false;
	r.l50 = percentile(0.50);
	r.l99 = percentile(0.99);
	for (unsigned i = 0; enc && i < streams; i++)
		dp_srtp_destroy(enc[i]);
	free(enc);
	r.frames = total - streams;
	r.pps = busy ? (double)r.frames * (double)hz / (double)busy : 0;
	dp_lcore_get_stats(-1, &ls);
	for (int d = 1; d < DP_DROP__COUNT; d++) {
		size_t used = strlen(r.drop_note);

		r.drops += ls.drops[d];
		if (ls.drops[d])
			snprintf(r.drop_note + used, sizeof(r.drop_note) - used, " %s=%" PRIu64,
				 dp_drop_name((enum dp_drop)d), ls.drops[d]);
	}

	for (unsigned i = streams; i-- > 0;) /* newest first: the call list is LIFO */
		dp_call_destroy(calls[i]);
	dp_workers_stop();
	rte_eth_remove_rx_callback(p_ring, 0, cb_rx);
	rte_eth_remove_tx_callback(b_port, 0, cb_tx);
	if (cb_inj)
		rte_eth_remove_rx_callback(p_null, 0, cb_inj);
	dp_media_stop();
	drain_tx();
	drain_rx();
	free(calls);
	free(a_port);
	free(a_ip);
	return r;
}

/* ---- I/O ceiling: net_null rx_burst -> tx_burst ---- */

static volatile uint64_t io_pkts, io_tsc;

static int io_loop(void *arg)
{
	struct rte_mbuf *m[32];
	uint64_t end, n = 0, t0 = rte_rdtsc();

	(void)arg;
	end = t0 + hz;
	while (rte_rdtsc() < end) {
		uint16_t k = rte_eth_rx_burst(p_io, 0, m, 32);
		uint16_t s = rte_eth_tx_burst(p_io, 0, m, k);

		if (s < k)
			rte_pktmbuf_free_bulk(m + s, k - s);
		n += k;
	}
	io_pkts = n;
	io_tsc = rte_rdtsc() - t0;
	return 0;
}

static double io_ceiling(void)
{
	struct rte_eth_conf conf = { 0 };
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);

	if (rte_eth_dev_configure(p_io, 1, 1, &conf) || rte_eth_rx_queue_setup(p_io, 0, 1024, 0, NULL, iopool) ||
	    rte_eth_tx_queue_setup(p_io, 0, 1024, 0, NULL) || rte_eth_dev_start(p_io))
		die("net_null port for the I/O ceiling");
	rte_eal_remote_launch(io_loop, NULL, lcore);
	rte_eal_wait_lcore(lcore);
	rte_eth_dev_stop(p_io);
	return (double)io_pkts * (double)hz / (double)io_tsc;
}

/* ---- kernel UDP over loopback ---- */

static int udp_sock(uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("loopback socket");
	return fd;
}

struct kres {
	unsigned streams;
	double sent_pps, recv_pps;
	uint64_t worker_rx; /* packets the worker read */
	double cpu_ns, user_s, sys_s; /* the worker thread's CPU time over the timed part */
	double secs;
	double syscalls, switches;    /* the worker thread's system calls and context switches (perf events; -1: none) */
};

/* A counter of the worker thread: a software event, or the
 * raw_syscalls:sys_enter tracepoint (tracepoint true). -1 when the kernel
 * does not let us. */
static int thread_counter(pid_t tid, bool tracepoint)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.disabled = 0;
	if (tracepoint) {
		FILE *f = fopen("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id", "r");
		unsigned long long id;

		if (!f)
			f = fopen("/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id", "r");
		if (!f)
			return -1;
		if (fscanf(f, "%llu", &id) != 1) {
			fclose(f);
			return -1;
		}
		fclose(f);
		a.type = PERF_TYPE_TRACEPOINT;
		a.config = id;
	} else {
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	}
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, 0);
}

static double counter_read(int fd)
{
	uint64_t v;

	return fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? (double)v : -1;
}

/* The worker lcore's thread (its kernel task id), for its CPU times. */
static pid_t worker_tid;

static int note_tid(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	return 0;
}

/* The worker thread's CPU time: ns on a CPU (schedstat), and user and
 * system seconds (stat, clock ticks). */
static void worker_cpu(double *ns, double *user_s, double *sys_s)
{
	char path[64], buf[1024];
	FILE *f;

	*ns = *user_s = *sys_s = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)worker_tid);
	if ((f = fopen(path, "r"))) {
		unsigned long long v;

		if (fscanf(f, "%llu", &v) == 1)
			*ns = (double)v;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)worker_tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			unsigned long long ut = 0, st = 0;

			/* after ") ": state(3) ... utime is field 14, stime 15 */
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
				*user_s = (double)ut / (double)sysconf(_SC_CLK_TCK);
				*sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
			}
		}
		fclose(f);
	}
}

/* The main lcore sends (sendmmsg bursts of 32, round robin over the legs)
 * and receives what the worker relays, for `secs`: both ends share one
 * core, so this is a lower bound of what the worker could do. kio: the
 * worker's media.kernel_io. pps: 0 for as fast as the sender goes, else
 * this many packets a second in all, each when it is due (the main lcore
 * spins), so they arrive spread out as independent calls' packets do
 * (streams x 50 pps is a call's rate). */
static struct kres run_kernel_io(unsigned streams, double secs, bool lone, const char *kio, double pps)
{
	struct kres r = { .streams = streams };
	struct dp_media_conf mc;
	struct dp_call **calls = calloc(streams, sizeof(*calls));
	uint16_t *ports = calloc(streams, sizeof(*ports));
	int tx = udp_sock(0, 4 << 20), rx = udp_sock(0, 8 << 20);
	struct sockaddr_in rxa, txa;
	socklen_t sl = sizeof(rxa), tl = sizeof(txa);
	uint8_t pkt[32][RTP_LEN], rbuf[32][256];
	struct sockaddr_in dst[32];
	struct mmsghdr msg[32], rmsg[32];
	struct iovec iov[32], riov[32];
	uint64_t sent = 0, got = 0, seq = 0, rx0;
	double t0, t1, c0, u0, s0, c1, u1, s1;
	int fd_sys, fd_cs;

	getsockname(rx, (struct sockaddr *)&rxa, &sl);
	getsockname(tx, (struct sockaddr *)&txa, &tl);
	dp_media_conf_defaults(&mc);
	mc.ifaces[0].port_min = 10000;
	mc.ifaces[0].port_max = 59999; /* 25000 pairs: 12500 streams of two legs */
	if (kio)
		snprintf(mc.kernel_io, sizeof(mc.kernel_io), "%s", kio);
	if (getenv("PERF_BUSY_POLL_US")) /* media.busy_poll_us for these runs */
		mc.busy_poll_us = (uint32_t)atoi(getenv("PERF_BUSY_POLL_US"));
	if (dp_media_start(&mc))
		die("media layer (kernel UDP)");
	rte_eal_remote_launch(note_tid, NULL, rte_get_next_lcore(-1, 1, 0));
	rte_eal_mp_wait_lcore();
	if (dp_workers_start() != 1)
		die("media layer (kernel UDP)");
	for (unsigned i = 0; i < streams; i++) {
		char id[32];
		struct dp_leg *a, *b;
		struct dp_leg_local loc;
		int err;

		snprintf(id, sizeof(id), "k-%u", i);
		calls[i] = dp_call_create(id);
		a = dp_leg_create(calls[i], NULL, DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX, &err);
		b = a ? dp_leg_create(calls[i], NULL, DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX, &err) : NULL;
		if (!b)
			die("kernel legs");
		dp_leg_set_remote(a, (struct sockaddr *)&txa, NULL); /* the sender: the signalled address */
		dp_leg_set_remote(b, (struct sockaddr *)&rxa, NULL);
		dp_leg_connect(a, b);
		dp_leg_local(a, &loc);
		ports[i] = loc.rtp_port;
	}
	dp_workers_synchronize(); /* the worker has every leg's settings before the first packet */
	for (int i = 0; i < 32; i++) {
		memset(pkt[i], 0xd5, RTP_LEN);
		pkt[i][0] = 0x80;
		pkt[i][1] = 0;
		iov[i] = (struct iovec){ pkt[i], RTP_LEN };
		riov[i] = (struct iovec){ rbuf[i], sizeof(rbuf[i]) };
		memset(&msg[i], 0, sizeof(msg[i]));
		memset(&rmsg[i], 0, sizeof(rmsg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &dst[i];
		msg[i].msg_hdr.msg_namelen = sizeof(dst[i]);
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
		dst[i] = (struct sockaddr_in){ .sin_family = AF_INET };
		dst[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	{
		struct dp_lcore_stats ls;

		dp_lcore_get_stats(-1, &ls);
		rx0 = ls.rx_packets;
	}
	worker_cpu(&c0, &u0, &s0);
	fd_sys = thread_counter(worker_tid, true);
	fd_cs = thread_counter(worker_tid, false);
	t0 = now_s();
	t1 = t0;
	while (t1 - t0 < secs) {
		int n, burst = 32;

		if (pps > 0) { /* paced: what is due by now, in bursts of at most 32 */
			double due = (t1 - t0) * pps - (double)sent;

			if (due < 1) { /* spin: packets leave one by one, spread as independent calls' are */
				while ((n = recvmmsg(rx, rmsg, 32, MSG_DONTWAIT, NULL)) > 0)
					got += (uint64_t)n;
				t1 = now_s();
				continue;
			}
			burst = due < 32 ? (int)due : 32;
		}
		for (int i = 0; i < burst; i++, seq++) {
			unsigned s = (unsigned)(seq % streams);

			dst[i].sin_port = htons(ports[s]);
			dp_rtp_set_seq(pkt[i], (uint16_t)(seq / streams));
			dp_rtp_set_ssrc(pkt[i], 0x20000u + s);
		}
		if (lone) { /* one packet, then wait for it: every burst the worker reads holds one */
			struct pollfd pf = { .fd = rx, .events = POLLIN };

			seq -= 31;
			sent += sendmmsg(tx, msg, 1, 0) == 1;
			if (poll(&pf, 1, 100) == 1 && recvmmsg(rx, rmsg, 32, MSG_DONTWAIT, NULL) > 0)
				got++;
			t1 = now_s();
			continue;
		}
		n = sendmmsg(tx, msg, (unsigned)burst, 0);
		sent += n > 0 ? (uint64_t)n : 0;
		while ((n = recvmmsg(rx, rmsg, 32, MSG_DONTWAIT, NULL)) > 0)
			got += (uint64_t)n;
		t1 = now_s();
	}
	rte_delay_ms(50);
	{
		int n;

		while ((n = recvmmsg(rx, rmsg, 32, MSG_DONTWAIT, NULL)) > 0)
			got += (uint64_t)n;
	}
	worker_cpu(&c1, &u1, &s1);
	r.syscalls = counter_read(fd_sys);
	r.switches = counter_read(fd_cs);
	if (fd_sys >= 0)
		close(fd_sys);
	if (fd_cs >= 0)
		close(fd_cs);
	r.secs = t1 - t0;
	r.cpu_ns = c1 - c0;
	r.user_s = u1 - u0;
	r.sys_s = s1 - s0;
	r.sent_pps = (double)sent / (t1 - t0);
	r.recv_pps = (double)got / (t1 - t0);
	{
		struct dp_lcore_stats ls;

		dp_lcore_get_stats(-1, &ls);
		r.worker_rx = ls.rx_packets - rx0;
	}
	for (unsigned i = streams; i-- > 0;)
		dp_call_destroy(calls[i]);
	dp_workers_stop();
	dp_media_stop();
	close(tx);
	close(rx);
	free(calls);
	free(ports);
	return r;
}

static struct kres run_kernel(unsigned streams, double secs, bool lone)
{
	return run_kernel_io(streams, secs, lone, NULL, 0);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* --kernel-io: epoll and io_uring side by side, alternating, `rounds`
 * each; the worker's CPU per packet it relayed, and what it relayed. */
static void compare_kernel_io(unsigned streams, double pps, double secs, unsigned rounds)
{
	static const char *kio[2] = { "epoll", "uring" };
	double per[2][64], got[2][64], sys[2][64], sw[2][64];

	unsetenv("MEDIUS_KERNEL_IO"); /* each run names its backend */
	if (rounds > 64)
		rounds = 64;
	printf("kernel UDP over loopback, %u streams, %s, %.1f s a run, epoll and io_uring alternating:\n", streams,
	       pps > 0 ? "paced" : "as fast as the sender goes", secs);
	if (pps > 0)
		printf("  offered %.0f pps in all (%.1f pps a stream)\n", pps, pps / streams);
	printf("  %-6s %5s %10s %10s %10s %10s %10s %10s %10s\n", "kio", "round", "relayed/s", "worker CPU", "us/pkt",
	       "user s", "sys s", "calls/pkt", "cswch/pkt");
	for (unsigned r = 0; r < rounds; r++)
		for (int k0 = 0; k0 < 2; k0++) {
			int k = (int)((k0 + r) % 2); /* A B, then B A */
			const char *only = getenv("PERF_KIO_ONLY"); /* one backend (for perf stat --per-thread) */
			struct kres x;

			if (only && strcmp(only, kio[k])) {
				per[k][r] = got[k][r] = sys[k][r] = sw[k][r] = 0;
				continue;
			}
			x = run_kernel_io(streams, secs, false, kio[k], pps);

			per[k][r] = x.worker_rx ? x.cpu_ns / 1000.0 / (double)x.worker_rx : 0;
			got[k][r] = x.recv_pps;
			sys[k][r] = x.worker_rx && x.syscalls >= 0 ? x.syscalls / (double)x.worker_rx : -1;
			sw[k][r] = x.worker_rx && x.switches >= 0 ? x.switches / (double)x.worker_rx : -1;
			printf("  %-6s %5u %10.0f %9.1f%% %10.3f %10.2f %10.2f %10.3f %10.3f\n", kio[k], r, x.recv_pps,
			       100.0 * x.cpu_ns / 1e9 / x.secs, per[k][r], x.user_s, x.sys_s, sys[k][r], sw[k][r]);
		}
	qsort(per[0], rounds, sizeof(double), cmp_dbl);
	qsort(per[1], rounds, sizeof(double), cmp_dbl);
	qsort(got[0], rounds, sizeof(double), cmp_dbl);
	qsort(got[1], rounds, sizeof(double), cmp_dbl);
	for (int k = 0; k < 2; k++) {
		qsort(sys[k], rounds, sizeof(double), cmp_dbl);
		qsort(sw[k], rounds, sizeof(double), cmp_dbl);
	}
	printf("  median system calls per packet: epoll %.3f, io_uring %.3f; context switches per packet: epoll %.3f, "
	       "io_uring %.3f\n", sys[0][rounds / 2], sys[1][rounds / 2], sw[0][rounds / 2], sw[1][rounds / 2]);
	printf("  median: epoll %.3f us/pkt, %.0f relayed/s; io_uring %.3f us/pkt, %.0f relayed/s; "
	       "io_uring/epoll CPU per packet %.3f, relayed %.3f\n",
	       per[0][rounds / 2], got[0][rounds / 2], per[1][rounds / 2], got[1][rounds / 2],
	       per[0][rounds / 2] > 0 ? per[1][rounds / 2] / per[0][rounds / 2] : 0,
	       got[0][rounds / 2] > 0 ? got[1][rounds / 2] / got[0][rounds / 2] : 0);
}

int main(int argc, char **argv)
{
	struct rlimit nofile;

	/* every kernel-UDP leg is a socket: allow as many as the host does */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	static const struct rte_mbuf_dynfield ts_desc = { .name = "medius_bench_rx_tsc", .size = sizeof(uint64_t),
							  .align = __alignof__(uint64_t) };
	char *eal[] = { "perf_relay", "-l", "0-1", "--no-huge", "-m", "1536", "--no-shconf", "--no-pci",
			"--no-telemetry", "--log-level=3", "--vdev=net_null1,no-rx=1", "--vdev=net_null2,size=214",
			NULL };
	unsigned scales[] = { 10, 1000, 10000, 100000 }, n_scales = 4, srtp_max = 1000;
	struct result res[64];
	struct kres kr[3];
	unsigned nres = 0;
	bool quick = false, only_srtp = false;
	int only_engine = -1, only_suite = -1;
	unsigned only = 0, only_kernel = 0, cmp_streams = 0, cmp_rounds = 3;
	double cmp_pps = 0, cmp_secs = 2;
	double only_kernel_s = 1.0;
	bool only_kernel_lone = false;
	double io, ref1k = 0, t_start = now_s();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--srtp-max") && i + 1 < argc)
			srtp_max = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--kernel-io") && i + 4 < argc) {
			cmp_streams = (unsigned)atoi(argv[++i]);
			cmp_pps = atof(argv[++i]);
			cmp_secs = atof(argv[++i]);
			cmp_rounds = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--only-kernel") && i + 2 < argc) {
			only_kernel = (unsigned)atoi(argv[++i]);
			only_kernel_s = atof(argv[++i]);
			if (i + 1 < argc && !strcmp(argv[i + 1], "lone"))
				only_kernel_lone = ++i > 0;
		} else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
			enum dp_srtp_engine e;

			if (dp_srtp_engine_parse(argv[++i], &e))
				die("--engine: auto, ipsec-mb, openssl or libsrtp");
			only_engine = (int)dp_srtp_engine_resolve(e);
		} else if (!strcmp(argv[i], "--suite") && i + 1 < argc) {
			enum dp_srtp_suite su;

			if (dp_srtp_suite_parse(argv[++i], &su))
				die("--suite: an SDP suite name");
			only_suite = (int)su;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = (unsigned)atoi(argv[++i]);
			if (i + 1 < argc && !strcmp(argv[i + 1], "srtp"))
				only_srtp = ++i > 0;
			else if (i + 1 < argc && !strcmp(argv[i + 1], "rtp"))
				i++;
		}
		else
			die("usage: perf_relay [--quick] [--srtp-max N] [--engine E] [--suite S] [--only STREAMS [rtp|srtp]] "
			    "[--only-kernel STREAMS SECS [lone]] [--kernel-io STREAMS PPS SECS ROUNDS]");
	}
	if (quick)
		n_scales = 3;
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "perf_relay", "daemon", 10, 5000);
	dp_log_capture_rte();
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("EAL (needs 2 lcores)");
	hz = rte_get_tsc_hz();
	ts_off = rte_mbuf_dynfield_register(&ts_desc);
	fpool = rte_pktmbuf_pool_create("bench_frames", POOL_FRAMES, 512, 0, RTE_PKTMBUF_HEADROOM + FRAME_ROOM,
					SOCKET_ID_ANY);
	iopool = rte_pktmbuf_pool_create("bench_io", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (ts_off < 0 || !fpool || !iopool)
		die("pools, dynamic field");
	/* the ethdev of rte_eth_from_rings("bench") is named "net_ring_bench" */
	if (perf_ring_port_make(&rp, "bench", RX_RING) || rte_eth_dev_get_port_by_name("net_null1", &p_null) ||
	    rte_eth_dev_get_port_by_name("net_null2", &p_io))
		die("ports");

	if (cmp_streams) {
		compare_kernel_io(cmp_streams, cmp_pps, cmp_secs, cmp_rounds ? cmp_rounds : 1);
		rte_eal_cleanup();
		return 0;
	}
	if (only_kernel) {
		struct kres k = run_kernel(only_kernel, only_kernel_s, only_kernel_lone);

		printf("kernel UDP, %u streams, %.1f s: sent %.0f pps, relayed %.0f pps; the worker received %llu\n",
		       only_kernel, only_kernel_s, k.sent_pps, k.recv_pps, (unsigned long long)k.worker_rx);
		rte_eal_cleanup();
		return 0;
	}
	if (getenv("PERF_RELAY_FLOOR")) { /* crypto floors alone: PERF_RELAY_FLOOR=streams */
		unsigned n = (unsigned)atoi(getenv("PERF_RELAY_FLOOR"));

		for (int e = DP_SRTP_ENGINE_IPSEC_MB; e < DP_SRTP_ENGINE_COUNT; e++)
			printf("%s %u streams: floorX %.3f Mpps, floor1 %.3f Mpps, floor32 %.3f Mpps\n",
			       dp_srtp_engine_name((enum dp_srtp_engine)e), n,
			       crypto_floor((enum dp_srtp_engine)e, DP_SRTP_AES_CM_128_HMAC_SHA1_80, n, 0) / 1e6,
			       crypto_floor((enum dp_srtp_engine)e, DP_SRTP_AES_CM_128_HMAC_SHA1_80, n, 1) / 1e6,
			       crypto_floor((enum dp_srtp_engine)e, DP_SRTP_AES_CM_128_HMAC_SHA1_80, n, 32) / 1e6);
		rte_eal_cleanup();
		return 0;
	}
	io = io_ceiling();
	if (only) {
		for (int k = 0; k < 5; k++) {
			struct result r = run_relay("ring", only, only_srtp,
						    only_engine >= 0 ? (enum dp_srtp_engine)only_engine
								     : dp_srtp_engine_resolve(DP_SRTP_ENGINE_AUTO),
						    only_suite >= 0 ? (enum dp_srtp_suite)only_suite
								    : DP_SRTP_AES_CM_128_HMAC_SHA1_80);

			printf("%u streams %s: %.3f Mpps, %.0f ns/pkt, p50 %.1f us, p99 %.1f us, lone packet p50 %.2f us "
			       "p99 %.2f us, %s\n",
			       only, only_srtp ? "SRTP" : "RTP", r.pps / 1e6, 1e9 / r.pps, r.p50, r.p99, r.l50, r.l99,
			       r.ok && !r.drops ? "ok" : "FAIL");
			if (r.drops)
				printf("      drops:%s\n", r.drop_note);
		}
		rte_eal_cleanup();
		return 0;
	}
	for (unsigned s = 0; s < n_scales; s++) {
		static const enum dp_srtp_suite srtp_suites[] = { DP_SRTP_AES_CM_128_HMAC_SHA1_80,
								  DP_SRTP_AEAD_AES_128_GCM };

		for (int v = 0; v < 2; v++)
			res[nres++] = run_relay(v ? "ring" : "null", scales[s], false, DP_SRTP_ENGINE_AUTO,
						DP_SRTP_AES_CM_128_HMAC_SHA1_80);
		/* SRTP->SRTP on net_null, each engine and suite, next to its crypto floor */
		for (int e = DP_SRTP_ENGINE_IPSEC_MB; !quick && e < DP_SRTP_ENGINE_COUNT; e++)
			for (unsigned su = 0; su < 2; su++) {
				struct result *r;

				if ((only_engine >= 0 && e != only_engine) ||
				    (only_suite >= 0 && (int)srtp_suites[su] != only_suite) ||
				    !dp_srtp_engine_supports((enum dp_srtp_engine)e, srtp_suites[su]) ||
				    (e == DP_SRTP_ENGINE_LIBSRTP && scales[s] > srtp_max) || nres >= 62)
					continue;
				r = &res[nres++];
				*r = run_relay("null", scales[s], true, (enum dp_srtp_engine)e, srtp_suites[su]);
				r->floor1 = crypto_floor((enum dp_srtp_engine)e, srtp_suites[su], scales[s], 1);
				r->floor32 = crypto_floor((enum dp_srtp_engine)e, srtp_suites[su], scales[s], 32);
				r->floorx = crypto_floor((enum dp_srtp_engine)e, srtp_suites[su], scales[s], 0);
			}
	}
	kr[0] = run_kernel(1, 1.0, false);
	kr[1] = run_kernel(1000, 1.0, false);
	kr[2] = run_kernel(5000, 1.0, false); /* 10k sockets: 10k streams would pass this host's 20000-fd hard limit */

	printf("\nperf_relay: one worker lcore, %.2f GHz TSC; RTP %u bytes (SRTP +10 or +16), frames %u bytes (+10, +16)\n",
	       (double)hz / 1e9, RTP_LEN, 42 + RTP_LEN);
	printf("I/O ceiling (net_null rx_burst -> tx_burst, no processing, %u-byte frames): %.2f Mpps\n\n", 214,
	       io / 1e6);
	printf("%-5s %-5s %7s %8s %8s %7s %7s %8s %8s %8s %8s %7s %s\n", "tx", "relay", "streams", "Mpps", "ns/pkt",
	       "x I/O", "vs RTP", "sat p50", "sat p99", "1pk p50", "1pk p99", "setup", "check");
	printf("%-5s %-5s %7s %8s %8s %7s %7s %8s %8s %8s %8s %7s\n", "", "", "", "", "", "", "", "us", "us", "us",
	       "us", "s");
	for (unsigned i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		double plain = 0;

		if (r->srtp)
			continue;
		for (unsigned j = 0; j < nres; j++)
			if (!res[j].srtp && res[j].streams == r->streams && !strcmp(res[j].variant, r->variant))
				plain = res[j].pps;
		printf("%-5s %-5s %7u %8.3f %8.0f %7.3f %7.3f %8.1f %8.1f %8.2f %8.2f %7.1f %s\n", r->variant,
		       r->srtp ? "SRTP" : "RTP", r->streams, r->pps / 1e6, r->pps > 0 ? 1e9 / r->pps : 0, r->pps / io,
		       plain > 0 ? r->pps / plain : 0, r->p50, r->p99, r->l50, r->l99, r->setup_s,
		       r->ok && !r->drops ? "ok" : r->drops ? "DROPS" : "INCOMPLETE");
		if (r->drops)
			printf("      drops:%s\n", r->drop_note);
	}
	printf("\nSRTP->SRTP on net_null (unprotect on A, protect on B), each engine, next to the crypto floor\n"
	       "measured in the same run (the engine alone over the same packets, Mpps: floorX = one packet of each\n"
	       "of 32 streams a call, the relay's pattern; floor1 = one packet a call; floor32 = 32 packets of one\n"
	       "stream a call):\n");
	printf("%-9s %-24s %7s %8s %8s %7s %8s %8s %8s %7s %8s %8s %s\n", "engine", "suite", "streams", "Mpps",
	       "ns/pkt", "vs RTP", "floorX", "floor1", "floor32", "x flX", "sat p99", "1pk p50", "check");
	for (unsigned i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		double plain = 0;

		if (!r->srtp)
			continue;
		for (unsigned j = 0; j < nres; j++)
			if (!res[j].srtp && res[j].streams == r->streams && !strcmp(res[j].variant, r->variant))
				plain = res[j].pps;
		printf("%-9s %-24s %7u %8.3f %8.0f %7.3f %8.3f %8.3f %8.3f %7.3f %8.1f %8.2f %s\n",
		       dp_srtp_engine_name(r->engine), dp_srtp_suite_name(r->suite), r->streams, r->pps / 1e6,
		       r->pps > 0 ? 1e9 / r->pps : 0, plain > 0 ? r->pps / plain : 0, r->floorx / 1e6, r->floor1 / 1e6,
		       r->floor32 / 1e6, r->floorx > 0 ? r->pps / r->floorx : 0, r->p99, r->l50,
		       r->ok && !r->drops ? "ok" : r->drops ? "DROPS" : "INCOMPLETE");
		if (r->drops)
			printf("      drops:%s\n", r->drop_note);
	}
	for (unsigned i = 0; i < nres; i++)
		if (!res[i].srtp && res[i].streams == 1000 && !strcmp(res[i].variant, "ring"))
			ref1k = res[i].pps;
	printf("\nkernel UDP over loopback (recvmmsg/sendmmsg in the worker; sender and receiver share the main lcore):\n");
	for (int i = 0; i < 3; i++)
		printf("  %5u stream(s): offered %.3f Mpps, relayed and received %.3f Mpps (%.3f x the ethdev RTP relay at 1k, ring)\n",
		       kr[i].streams, kr[i].sent_pps / 1e6, kr[i].recv_pps / 1e6,
		       ref1k > 0 ? kr[i].recv_pps / ref1k : 0);
	printf("\ntotal run time %.0f s\n", now_s() - t_start);
	rte_eal_cleanup();
	return 0;
}
