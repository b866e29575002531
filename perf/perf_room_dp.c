/* SPDX-License-Identifier: MIT
 * perf/perf_room_dp.c: conference participants per core, medius alone on
 * DPDK ports with the traffic generated in process.
 *
 * Set-up (nothing leaves the process):
 *  - One worker lcore serves every room: rooms of R participants (50 and
 *    200 by default), 3 talkers each (tones), the rest sending silence. Each
 *    participant is a call of its own in its room's shard
 *    (dp_call_create_in(id, room)) with one leg on an ethdev interface,
 *    joined with mx_room_join; the room's 16 kHz mix ticks every 20 ms on
 *    the worker's media clock, as mediusd runs them.
 *  - The legs' interface sits on a net_ring port (rte_eth_from_rings). The
 *    main lcore writes each participant's 20 ms RTP packets at real-time
 *    rate (50 a second each, spread evenly over the period) into the rx
 *    ring: pre-encoded payloads (a second of a tone for talkers, of silence
 *    for the rest, made with codecs/' encoder), sequence and timestamp
 *    rewritten per packet, with an RFC 6464 audio level (one-byte header
 *    extension, id 1) when the row has levels, in Ethernet/IPv4/UDP frames
 *    from the participant's address (off-link, behind a gateway whose MAC
 *    the worker learns from an ARP request) to its leg. What the worker
 *    sends lands in the tx ring; the main lcore drains and frees it.
 *  - Real time, the criterion for a load N to pass, over the measured
 *    window (after a warm-up): the media clock missed no tick, its
 *    lateness p99 stays below 5 ms (a quarter period), the rx ring never
 *    overflowed, the worker dropped nothing, and every participant was sent
 *    at least 99% of the window's frames (its mix). Participants per core:
 *    the largest N that passes, found with coarse steps (x2) and then
 *    bisection to one room (or 5%); a load that fails is run once more
 *    and fails only if that run fails too (the VM takes the vCPU away
 *    for milliseconds now and then).
 *  - A second reading, for machines where the worker does not get a core
 *    to itself: the load. An rx callback on the ring port sees every loop
 *    turn of the worker (one rx_burst each); a turn that found no packet
 *    costs what the short ones of them cost (epoll_wait with no timeout,
 *    the empty rx_burst: about 1.2 us here), the rest is work. Load = (the
 *    worker thread's CPU time over the window, from the scheduler's
 *    /proc/self/task/TID/schedstat, less that idle polling) / the window;
 *    "by load" = N / load, from the largest N that kept up (no missed tick,
 *    no overflow or drop, every mix sent): a core's worth of that work.
 *    "busy" is the wall-clock reading of the same (turns that found nothing
 *    and ended within 5 us are idle, the rest busy, time off the CPU
 *    included). The dataplane keeps no busy-cycle counter; these are the
 *    bench's own. On a loaded machine the load reads high at small N: a
 *    loop turn after the thread was switched back in runs on cold caches
 *    and counts as work.
 *  - The split (--split perf_room_split.py, or --only N --profile FILE):
 *    a run at the N found under `perf record -g` (cpu-clock, DWARF call
 *    chains with 64 KB of stack: libopus's frames are that deep) of the
 *    worker thread for 5 s; perf_room_split.py sums the samples into
 *    packet I/O, decode, mix, encode and send by call chain.
 *
 * Usage: perf_room_dp [--seconds S] [--warm S] [--room R[,R...]] [--rows LIST]
 *                     [--only N [--profile FILE]] [--late-us US] [--split SCRIPT]
 *   rows: pcmu-levels,opus-levels,opus (the default), pcmu; --only N: that
 *   one load per row and room size, no search.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mx.h"
#include "perf_eth.h"
#include "perf_level.h"

#define PROG "perf_room_dp"
#define RATE 16000
#define TALKERS 3
#define PAY_MAX 400          /* bytes of payload at most */
#define FRAME_ROOM 512
#define RING (1u << 16)
#define POOL_FRAMES (RING + 8191)
#define LEVEL_EXT_ID 1
#define MAX_PARTS 32256u     /* rtcp-mux legs in ports 1024-65535 of one address */
#define SEQS 4               /* payload sequences: 3 tones, silence */
#define SEQ_FRAMES 50

static const uint8_t leg_ip[4] = { 10, 0, 0, 1 };
static const uint8_t gw_ip[4] = { 10, 0, 255, 254 };

static struct rte_mempool *fpool;
static struct perf_ring_port rp;
static uint64_t hz;
static double late_bound_us = 5000;
static const char *profile_file;

static void die(const char *what)
{
	perf_die(PROG, what);
}

/* ---- rows ---- */

struct row {
	const char *key, *name, *rtpmap;
	int pt;
	uint32_t ts_step; /* RTP clock units per 20 ms */
	bool levels;
	unsigned start;   /* the search's first N */
	unsigned goal;    /* the participants per core (0: none) */
};

static const struct row rows_all[] = {
	{ "pcmu-levels", "PCMU, levels", "PCMU/8000", 0, 160, true, 2000, 10000 },
	{ "opus-levels", "Opus, levels", "opus/48000/2", 96, 960, true, 500, 2000 },
	{ "opus", "Opus, no levels", "opus/48000/2", 96, 960, false, 500, 0 },
	{ "pcmu", "PCMU, no levels", "PCMU/8000", 0, 160, false, 2000, 0 },
};

/* The payloads: SEQS sequences of a second of 20 ms frames, and each
 * frame's RFC 6464 level (-dBov, from its PCM). */
static struct {
	uint8_t pay[SEQS][SEQ_FRAMES][PAY_MAX];
	uint16_t len[SEQS][SEQ_FRAMES];
	uint8_t level[SEQS][SEQ_FRAMES];
} media;

static void make_media(const struct row *rw)
{
	struct cdc_sink_conf kc = { .out_pt = (uint8_t)rw->pt, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = RATE, .in_channels = 1 };
	static struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	int16_t pcm[RATE / 50];

	if (cdc_format_parse(rw->rtpmap, NULL, &kc.out))
		die("codec");
	for (int s = 0; s < SEQS; s++) {
		struct cdc_sink *k = cdc_sink_create(&kc);

		if (!k)
			die("encoder");
		for (int f = 0; f < SEQ_FRAMES; f++) {
			int n;

			for (int j = 0; j < RATE / 50; j++)
				pcm[j] = s < TALKERS ? (int16_t)(6000 * sin(2 * M_PI * (300 + 200 * s) *
									    (f * (RATE / 50) + j) / RATE))
						     : 0;
			n = cdc_sink_write(k, pcm, RATE / 50, out, 0);
			if (n != 1 || out[0].len > PAY_MAX)
				die("encoding the payloads");
			memcpy(media.pay[s][f], out[0].payload, out[0].len);
			media.len[s][f] = out[0].len;
			media.level[s][f] = perf_level(pcm, RATE / 50);
		}
		cdc_sink_destroy(k);
	}
}

/* ---- the worker's loop turns, seen from an rx callback ---- */

#define HB (64 * 8) /* log histogram of cycles: 8 buckets an octave */

static unsigned hbucket(uint64_t v)
{
	unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;

	return msb < 3 ? (unsigned)v : msb * 8 + (unsigned)((v >> (msb - 3)) & 7);
}

static double hvalue(unsigned b)
{
	unsigned msb = b / 8, sub = b % 8;

	return msb < 3 ? b : (double)((8u + sub) * (1ull << (msb - 3))) + (double)(1ull << (msb - 3)) / 2;
}

/* The mean of what a histogram holds, its largest `trim` share left out
 * (the samples a preemption or an interrupt stretched). */
static double trimmed_mean(const uint64_t *h, unsigned nb, double trim)
{
	uint64_t n = 0, keep, seen = 0;
	double sum = 0;

	for (unsigned b = 0; b < nb; b++)
		n += h[b];
	keep = (uint64_t)((1.0 - trim) * (double)n);
	for (unsigned b = 0; b < nb && seen < keep; b++) {
		uint64_t k = h[b] < keep - seen ? h[b] : keep - seen;

		sum += hvalue(b) * (double)k;
		seen += k;
	}
	return seen ? sum / (double)seen : 0;
}

static struct {
	volatile uint64_t idle, total;  /* TSC: turns that found nothing and ended within idle_max; all turns */
	volatile uint64_t n_idle, n_empty; /* how many such short empty turns; empty turns of any length */
	uint64_t last, idle_max;
	uint16_t last_n;
	volatile int tid;
	uint64_t turns;                 /* loop turns so far */
	uint64_t first_marker;          /* TSC of the first marker ticker of this turn, 0: none ran */
	volatile bool armed;            /* the window: collect the costs below */
	uint64_t rx_hist[HB];           /* cycles a received packet cost, one count per packet */
} B;

/* Marker tickers, registered before each room and after the last, so
 * that room k's tick runs right after marker k: it ends at marker k + 1
 * when that runs in the same loop turn, else (the tick's slice ended after
 * room k) when the turn ends, seen at the next turn's rx_burst less what an
 * idle turn costs. */
static struct {
	unsigned n;                     /* rooms */
	uint64_t *tsc;                  /* [n + 1]: when marker k last ran */
	int open;                       /* the room running since its marker, or -1 */
	uint64_t (*hist)[HB];           /* [n]: room k's tick cycles */
	struct dp_ticker **t;
} K = { .open = -1 };

static void marker(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	unsigned k = (unsigned)(uintptr_t)ctx;
	uint64_t now = rte_rdtsc();

	(void)tick, (void)deadline_ns;
	if (!B.first_marker)
		B.first_marker = now;
	if (B.armed && k > 0 && K.open == (int)k - 1)
		K.hist[k - 1][hbucket(now - K.tsc[k - 1])]++;
	K.tsc[k] = now;
	K.open = k < K.n ? (int)k : -1;
}

static uint16_t turn_cb(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n, uint16_t max, void *u)
{
	uint64_t now = rte_rdtsc();

	(void)port, (void)q, (void)pkts, (void)max, (void)u;
	if (B.last) {
		uint64_t d = now - B.last;

		B.total += d;
		if (!B.last_n) {
			B.n_empty++;
			if (d < B.idle_max) {
				B.idle += d;
				B.n_idle++;
			}
		} else if (B.armed && B.n_idle) {
			/* the last turn's packets: up to its tick slice if one ran, else the turn less
			 * what an idle one costs (epoll_wait, empty polls) */
			uint64_t idle = B.idle / B.n_idle, rx;

			rx = B.first_marker ? B.first_marker - B.last : d > idle ? d - idle : 0;
			B.rx_hist[hbucket(rx / B.last_n)] += B.last_n;
		}
	}
	if (K.open >= 0) { /* the slice ended after room K.open */
		uint64_t idle = B.n_idle ? B.idle / B.n_idle : 0, d = now - K.tsc[K.open];

		if (B.armed)
			K.hist[K.open][hbucket(d > idle ? d - idle : 0)]++;
		K.open = -1;
	}
	B.last = now;
	B.last_n = n;
	B.turns++;
	B.first_marker = 0;
	if (!B.tid)
		B.tid = gettid();
	return n;
}

/* ---- participants and rooms ---- */

struct part {
	struct dp_call *c;
	struct dp_leg *leg;
	unsigned room;
	int pid;
	uint8_t seq;      /* its payload sequence: 0..2 a talker's tone, 3 silence */
	uint16_t port;
	uint8_t src[4];
	uint64_t sent0, lost0, late0, quiet0, malformed0;
};

struct room {
	struct dp_call *home;
	struct mx_room *r;
};

/* ---- the generator (main lcore) ---- */

struct gen {
	const struct row *rw;
	struct part *p;
	unsigned n;
	uint64_t next;    /* packets generated: packet next / n of participant next % n */
	double t0;
	uint64_t overflow, no_mbuf, tx_frames;
	double lag_max_ms;
};

static struct rte_mbuf *gen_one(struct gen *g)
{
	unsigned i = (unsigned)(g->next % g->n);
	uint32_t k = (uint32_t)(g->next / g->n);
	const struct part *p = &g->p[i];
	unsigned f = k % SEQ_FRAMES, h = 12;
	uint8_t b[12 + 8 + PAY_MAX];

	g->next++;
	b[0] = 0x80;
	b[1] = (uint8_t)((k == 0 ? 0x80 : 0) | g->rw->pt);
	dp_rtp_set_seq(b, (uint16_t)k);
	dp_rtp_set_ts(b, k * g->rw->ts_step);
	dp_rtp_set_ssrc(b, 0x10000u + i);
	if (g->rw->levels) { /* RFC 6464 ssrc-audio-level, V on anything but silence */
		uint8_t lv = media.level[p->seq][f];

		h = perf_put_level_ext(b, LEVEL_EXT_ID, lv, lv < 127);
	}
	memcpy(b + h, media.pay[p->seq][f], media.len[p->seq][f]);
	return perf_udp_frame(fpool, rp.mac, p->src, leg_ip, 5000, p->port, b, (uint16_t)(h + media.len[p->seq][f]));
}

static void drain_tx(struct gen *g)
{
	struct rte_mbuf *m[256];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(rp.tx, (void **)m, 256, NULL)) > 0) {
		rte_pktmbuf_free_bulk(m, n);
		if (g)
			g->tx_frames += n;
	}
}

/* Generate what is due at now; returns how many frames went into the ring. */
static unsigned gen_step(struct gen *g, double now)
{
	uint64_t due = (uint64_t)((now - g->t0) * 50.0 * g->n);
	struct rte_mbuf *m[64];
	unsigned total = 0;

	if (due > g->next) {
		double lag = (double)(due - g->next) / (50.0 * g->n) * 1e3;

		if (lag > g->lag_max_ms)
			g->lag_max_ms = lag;
	}
	while (g->next < due) {
		unsigned n = 0, q;

		while (n < 64 && g->next < due) {
			struct rte_mbuf *x = gen_one(g);

			if (!x) {
				g->no_mbuf++;
				drain_tx(g);
				continue;
			}
			m[n++] = x;
		}
		q = rte_ring_sp_enqueue_burst(rp.rx, (void **)m, n, NULL);
		if (q < n) {
			g->overflow += n - q;
			rte_pktmbuf_free_bulk(m + q, n - q);
		}
		total += q;
		drain_tx(g);
	}
	drain_tx(g);
	return total;
}

/* ---- one load ---- */

struct result {
	unsigned n;
	bool kept_up;     /* every tick ran and every packet was taken: the load is the whole work's */
	bool pass;        /* kept up, and in real time (tick lateness) */
	char why[200];
	uint64_t ticks, missed, drops, overflow, short_parts, lost, late;
	uint64_t quiet, malformed; /* silent participants' frames not decoded (levels); level blocks unreadable */
	double quiet_share;        /* quiet / (silent participants x window frames) */
	uint32_t late_p50, late_p99, late_max, span_max;
	double busy, lag_max_ms, setup_s, sent_min_ratio;
	double cpu_got;   /* the worker's time on a CPU / the window */
	double load;      /* (its CPU time - idle polling) / the window: the core it needs */
	double idle_turn_ns; /* what a loop turn that found nothing costs */
	double tick_us;   /* the rooms' ticks, per 20 ms (each room's trimmed mean, summed) */
	double rx_ns;     /* a received packet (trimmed mean) */
	double by_cost;   /* N x 20 ms / (tick_us + N x rx_ns) */
};

/* The worker thread's time on a CPU and waiting for one (ns, the
 * scheduler's own accounting), so that a load measured on a shared machine
 * counts only the CPU the worker got. */
static void sched_of(int tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64];
	unsigned long long r = 0, w = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%llu %llu", &r, &w) != 2)
			r = w = 0;
		fclose(f);
	}
	*run_ns = r;
	*wait_ns = w;
}

static void snap_clock(struct dp_clock_stats *c)
{
	if (dp_clock_get_stats(-1, c))
		memset(c, 0, sizeof(*c));
}

static uint64_t drops_total(void)
{
	struct dp_lcore_stats ls;
	uint64_t d = 0;

	dp_lcore_get_stats(-1, &ls);
	for (int i = 1; i < DP_DROP__COUNT; i++)
		d += ls.drops[i];
	return d;
}

static void drops_note(char *out, size_t len)
{
	struct dp_lcore_stats ls;

	dp_lcore_get_stats(-1, &ls);
	for (int i = 1; i < DP_DROP__COUNT; i++)
		if (ls.drops[i]) {
			size_t u = strlen(out);

			snprintf(out + u, len - u, " %s=%" PRIu64, dp_drop_name((enum dp_drop)i), ls.drops[i]);
		}
}

static pid_t start_profile(int tid, double secs)
{
	char t[32], s[32];
	pid_t pid;

	snprintf(t, sizeof(t), "%d", tid);
	snprintf(s, sizeof(s), "%.1f", secs);
	pid = fork();
	if (pid == 0) {
		execlp("perf", "perf", "record", "-q", "-e", "cpu-clock:u", "-F", "499", "--call-graph", "dwarf,65528",
		       "-t", t, "-o", profile_file, "--", "sleep", s, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static struct result run(const struct row *rw, unsigned n, unsigned room_size, double warm_s, double secs)
{
	struct result res = { .n = n };
	unsigned nrooms = (n + room_size - 1) / room_size;
	struct part *P = calloc(n, sizeof(*P));
	struct room *R = calloc(nrooms, sizeof(*R));
	struct dp_media_conf mc;
	struct dp_iface_conf *f;
	const struct rte_eth_rxtx_callback *cb;
	struct gen g = { .rw = rw, .p = P, .n = n };
	struct dp_clock_stats c0, c1;
	uint64_t d0, idle0, total0, ov0, run0 = 0, run1, wait0 = 0, wait1, ni0 = 0, ne0 = 0;
	double t0 = perf_now_s(), t_meas, t_end, now;
	pid_t prof = -1;
	bool measuring = false;

	if (!P || !R)
		die("no memory");
	dp_media_conf_defaults(&mc);
	mc.n_ifaces = 1;
	mc.mbufs = 65535;
	f = &mc.ifaces[0];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "A0");
	snprintf(f->address, sizeof(f->address), "10.0.0.1");
	f->type = DP_IFACE_ETHDEV;
	snprintf(f->device, sizeof(f->device), "net_ring_room");
	f->port_min = 1024;
	f->port_max = 65535;
	f->prefix_len = 16;
	snprintf(f->gateway, sizeof(f->gateway), "10.0.255.254");
	if (dp_media_start(&mc) || dp_workers_start() != 1)
		die("media layer / worker start");
	memset((void *)&B, 0, sizeof(B));
	B.idle_max = hz * 5 / 1000000;
	K.n = nrooms;
	K.open = -1;
	K.tsc = calloc(nrooms + 1, sizeof(*K.tsc));
	K.hist = calloc(nrooms, sizeof(*K.hist));
	K.t = calloc(nrooms + 1, sizeof(*K.t));
	if (!K.tsc || !K.hist || !K.t)
		die("no memory");
	if (!(cb = rte_eth_add_rx_callback(rp.port, 0, turn_cb, NULL)))
		die("rx callback");
	{ /* the gateway introduces itself */
		struct rte_mbuf *m = perf_arp_from_gateway(fpool, gw_ip, leg_ip);

		while (rte_ring_sp_enqueue(rp.rx, m))
			rte_pause();
		rte_delay_ms(20);
		drain_tx(NULL);
	}
	for (unsigned r = 0; r < nrooms; r++) {
		struct mx_room_conf rc = { .mix = { .rate = RATE, .frame_ms = 20, .max_talkers = TALKERS,
						    .max_parts = room_size } };
		char id[32], key[32];
		int err = 0;

		snprintf(id, sizeof(id), "room:%u", r);
		snprintf(key, sizeof(key), "r%u", r);
		if (!(R[r].home = dp_call_create_in(id, key)) ||
		    !(K.t[r] = dp_ticker_add(R[r].home, marker, (void *)(uintptr_t)r, &err)) ||
		    !(R[r].r = mx_room_create(R[r].home, &rc, &err)) ||
		    (r == nrooms - 1 && !(K.t[nrooms] = dp_ticker_add(R[r].home, marker, (void *)(uintptr_t)nrooms, &err))))
			die("room");
	}
	for (unsigned i = 0; i < n; i++) {
		struct mx_room_part_conf pc = { .in = { .in_pt = (uint8_t)rw->pt, .in_te_pt = -1, .in_cn_pt = -1,
							.dtmf = CDC_DTMF_DROP },
						.out = { .out_pt = (uint8_t)rw->pt, .out_ptime = 20, .out_te_pt = -1,
							 .out_cn_pt = -1 } };
		struct sockaddr_in rem = { .sin_family = AF_INET, .sin_port = htons(5000) };
		struct part *p = &P[i];
		struct dp_leg_local loc;
		char id[32], key[32];
		int err = 0;

		if (rw->levels)
			pc.level_ext_id = LEVEL_EXT_ID;
		cdc_format_parse(rw->rtpmap, NULL, &pc.in.in);
		cdc_format_parse(rw->rtpmap, NULL, &pc.out.out);
		p->room = i / room_size;
		p->seq = (uint8_t)(i % room_size < TALKERS ? i % room_size : TALKERS);
		p->src[0] = 192;
		p->src[1] = 168;
		p->src[2] = (uint8_t)(i >> 8);
		p->src[3] = (uint8_t)i;
		snprintf(id, sizeof(id), "p%u", i);
		snprintf(key, sizeof(key), "r%u", p->room);
		memcpy(&rem.sin_addr, p->src, 4);
		if (!(p->c = dp_call_create_in(id, key)) ||
		    !(p->leg = dp_leg_create(p->c, "A0", DP_LEG_ASYMMETRIC | DP_LEG_RTCP_MUX, &err)) ||
		    dp_leg_set_remote(p->leg, (struct sockaddr *)&rem, NULL) || dp_leg_set_clock(p->leg, pc.in.in.clock_rate))
			die("leg");
		while ((p->pid = mx_room_join(R[p->room].r, p->leg, &pc, &err)) == -EBUSY)
			usleep(2000); /* the room takes 64 requests a tick */
		if (p->pid < 0)
			die("join");
		dp_leg_local(p->leg, &loc);
		p->port = loc.rtp_port;
	}
	dp_workers_synchronize();
	res.setup_s = perf_now_s() - t0;

	/* traffic: warm-up, then the measured window */
	g.t0 = perf_now_s();
	t_meas = g.t0 + warm_s;
	t_end = t_meas + secs;
	snap_clock(&c0);
	d0 = drops_total();
	idle0 = total0 = ov0 = 0;
	while ((now = perf_now_s()) < t_end) {
		if (!measuring && now >= t_meas) {
			measuring = true;
			snap_clock(&c0);
			d0 = drops_total();
			idle0 = B.idle;
			total0 = B.total;
			ni0 = B.n_idle;
			ne0 = B.n_empty;
			ov0 = g.overflow + g.no_mbuf;
			sched_of(B.tid, &run0, &wait0);
			g.lag_max_ms = 0;
			for (unsigned i = 0; i < n; i++) {
				struct mx_room_part_stats s;

				mx_room_get_stats(R[P[i].room].r, P[i].pid, &s);
				P[i].sent0 = s.out.sent;
				P[i].lost0 = s.in.jb.lost;
				P[i].late0 = s.in.jb.late;
				P[i].quiet0 = s.frames_quiet;
				P[i].malformed0 = s.in.level_malformed;
			}
			B.armed = true;
			if (profile_file && B.tid)
				prof = start_profile(B.tid, secs < 5 ? secs : 5); /* 5 s: ~160 MB of stacks */
		}
		if (!gen_step(&g, now))
			usleep(50);
	}
	B.armed = false;
	snap_clock(&c1);
	sched_of(B.tid, &run1, &wait1);
	{ /* the costs: each room's tick and each packet's rx, trimmed of the slowest 10% */
		double tick_cy = 0, rx_cy = trimmed_mean(B.rx_hist, HB, 0.10);

		for (unsigned r = 0; r < nrooms; r++)
			tick_cy += trimmed_mean(K.hist[r], HB, 0.10);
		res.tick_us = tick_cy * 1e6 / (double)hz;
		res.rx_ns = rx_cy * 1e9 / (double)hz;
		res.by_cost = tick_cy + rx_cy * n > 0 ? n * (0.020 * (double)hz) / (tick_cy + rx_cy * n) : 0;
	}
	res.cpu_got = (double)(run1 - run0) / (secs * 1e9);
	{ /* idle polling: every empty turn costs what a short one does (the rest of a long one is work,
	   * e.g. a tick slice; time off the CPU is not in run_ns) */
		double per = B.n_idle - ni0 ? (double)(B.idle - idle0) / (double)(B.n_idle - ni0) : 0;
		double idle_ns = per * (double)(B.n_empty - ne0) * 1e9 / (double)hz;

		res.load = ((double)(run1 - run0) - idle_ns) / (secs * 1e9);
		res.idle_turn_ns = per * 1e9 / (double)hz;
	}
	res.drops = drops_total() - d0;
	res.overflow = g.overflow + g.no_mbuf - ov0;
	res.busy = B.total - total0 ? 1.0 - (double)(B.idle - idle0) / (double)(B.total - total0) : 0;
	res.lag_max_ms = g.lag_max_ms;
	res.ticks = c1.ticks - c0.ticks;
	res.missed = c1.missed - c0.missed;
	{
		uint64_t h[DP_CLOCK_HIST_BUCKETS];

		for (unsigned b = 0; b < DP_CLOCK_HIST_BUCKETS; b++)
			h[b] = c1.hist[b] - c0.hist[b];
		res.late_p50 = dp_clock_percentile(h, 50);
		res.late_p99 = dp_clock_percentile(h, 99);
		res.late_max = dp_clock_percentile(h, 100);
	}
	res.span_max = c1.span_max_us;
	res.sent_min_ratio = 1e9;
	unsigned n_silent = 0;
	for (unsigned i = 0; i < n; i++) {
		struct mx_room_part_stats s;
		double want = secs * 50.0, got;

		mx_room_get_stats(R[P[i].room].r, P[i].pid, &s);
		got = (double)(s.out.sent - P[i].sent0);
		if (got < 0.99 * want)
			res.short_parts++;
		if (got / want < res.sent_min_ratio)
			res.sent_min_ratio = got / want;
		res.lost += s.in.jb.lost - P[i].lost0;
		res.late += s.in.jb.late - P[i].late0;
		res.quiet += s.frames_quiet - P[i].quiet0;
		res.malformed += s.in.level_malformed - P[i].malformed0;
		if (P[i].seq == TALKERS)
			n_silent++;
	}
	res.quiet_share = n_silent ? (double)res.quiet / (n_silent * secs * 50.0) : 0;
	if (prof > 0) {
		int st;

		waitpid(prof, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fprintf(stderr, PROG ": perf record failed (status %d)\n", st);
	}
	res.kept_up = res.missed == 0 && res.overflow == 0 && res.drops == 0 && res.short_parts == 0;
	res.pass = res.kept_up && res.late_p99 <= late_bound_us;
	if (res.missed)
		snprintf(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why), " missed=%" PRIu64, res.missed);
	if (res.late_p99 > late_bound_us)
		snprintf(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why), " late-p99=%uus", res.late_p99);
	if (res.overflow)
		snprintf(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why), " rx-overflow=%" PRIu64,
			 res.overflow);
	if (res.short_parts)
		snprintf(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why), " short=%" PRIu64 "(min %.2f)",
			 res.short_parts, res.sent_min_ratio);
	if (res.malformed)
		snprintf(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why), " level-malformed=%" PRIu64,
			 res.malformed);
	if (res.drops)
		drops_note(res.why + strlen(res.why), sizeof(res.why) - strlen(res.why));

	/* tear down */
	for (unsigned r = 0; r < nrooms; r++)
		mx_room_destroy(R[r].r); /* unhooks every leg, stops the ticker */
	for (unsigned i = n; i-- > 0;)
		dp_call_destroy(P[i].c);
	for (unsigned r = nrooms; r-- > 0;)
		dp_call_destroy(R[r].home);
	dp_workers_stop();
	rte_eth_remove_rx_callback(rp.port, 0, cb);
	dp_media_stop();
	drain_tx(NULL);
	perf_ring_free_all(rp.rx);
	free(P);
	free(R);
	free(K.tsc);
	free(K.hist);
	free(K.t);
	memset(&K, 0, sizeof(K));
	K.open = -1;
	return res;
}

static const char *us_str(uint32_t us, char *b)
{
	if (us > 65536)
		snprintf(b, 16, ">65536");
	else
		snprintf(b, 16, "%u", us);
	return b;
}

static void print_trial(const struct row *rw, const struct result *r)
{
	char a[16], b[16], c[16];

	printf("  %-16s N=%5u %-4s busy %5.1f%%, on CPU %5.1f%%, load %5.1f%% (%6.0f/core); ticks %4" PRIu64
	       "; by cost: ticks %.0f us/20 ms + rx %.0f ns/pkt (%.0f/core); late p50/p99/max %s/%s/%s us; jb lost %" PRIu64 " late %" PRIu64 "; silent undecoded %.0f%%; gen lag %.1f ms; idle turn %.0f ns; "
	       "set-up %.1f s%s\n",
	       rw->name, r->n, r->pass ? "pass" : r->kept_up ? "LATE" : "FAIL", r->busy * 100, r->cpu_got * 100,
	       r->load * 100, r->load > 0 ? r->n / r->load : 0, r->ticks, r->tick_us, r->rx_ns, r->by_cost, us_str(r->late_p50, a), us_str(r->late_p99, b),
	       us_str(r->late_max, c), r->lost, r->late, r->quiet_share * 100, r->lag_max_ms, r->idle_turn_ns, r->setup_s, r->why);
	fflush(stdout);
}

struct found {
	const struct row *rw;
	unsigned max_pass, min_fail;
	struct result best; /* the run at max_pass */
	struct result kept; /* the largest run that kept up (its load is the whole work's) */
	double cost[32];    /* by_cost of every run that kept up */
	unsigned n_cost;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the runs' by-cost figures, and their range. */
static double cost_median(const struct found *fd, double *lo, double *hi)
{
	double v[32];

	if (!fd->n_cost)
		return *lo = *hi = 0;
	memcpy(v, fd->cost, fd->n_cost * sizeof(double));
	qsort(v, fd->n_cost, sizeof(double), cmp_double);
	*lo = v[0];
	*hi = v[fd->n_cost - 1];
	return fd->n_cost % 2 ? v[fd->n_cost / 2] : (v[fd->n_cost / 2 - 1] + v[fd->n_cost / 2]) / 2;
}

static void note(struct found *fd, const struct result *r)
{
	print_trial(fd->rw, r);
	if (r->kept_up && r->n >= fd->kept.n)
		fd->kept = *r;
	if (r->kept_up && fd->n_cost < 32)
		fd->cost[fd->n_cost++] = r->by_cost;
}

/* One load, run again once when it fails: on this VM a run now and then
 * loses its vCPU for milliseconds (a run at 25% load failed on tick
 * lateness and passed when run again), so a load fails only when both
 * runs did. Both are printed. */
static struct result trial(struct found *fd, const struct row *rw, unsigned n, unsigned room, double warm, double secs)
{
	struct result r = run(rw, n, room, warm, secs);

	note(fd, &r);
	if (!r.pass) {
		printf("  (failed: run again once)\n");
		r = run(rw, n, room, warm, secs);
		note(fd, &r);
	}
	return r;
}

static struct found search(const struct row *rw, unsigned room, double warm, double secs)
{
	struct found fd = { .rw = rw, .min_fail = MAX_PARTS + room };
	unsigned n = (rw->start + room - 1) / room * room;

	make_media(rw);
	/* coarse: double while it passes (down by half while it fails) */
	for (;;) {
		struct result r = trial(&fd, rw, n, room, warm, secs);

		if (r.pass) {
			fd.max_pass = n;
			fd.best = r;
			if (fd.min_fail <= MAX_PARTS || 2 * n > MAX_PARTS)
				break;
			n *= 2;
		} else {
			fd.min_fail = n;
			if (fd.max_pass || n <= room || n * 8 < rw->start)
				break;
			n = (n / 2 + room - 1) / room * room;
		}
	}
	/* bisection to one room or 5% */
	while (fd.max_pass && fd.min_fail <= MAX_PARTS) {
		unsigned step = fd.max_pass / 20 > room ? fd.max_pass / 20 : room;
		struct result r;

		if (fd.min_fail - fd.max_pass <= step)
			break;
		n = (fd.max_pass + fd.min_fail) / 2 / room * room;
		if (n <= fd.max_pass)
			break;
		r = trial(&fd, rw, n, room, warm, secs);
		if (r.pass) {
			fd.max_pass = n;
			fd.best = r;
		} else {
			fd.min_fail = n;
		}
	}
	return fd;
}

int main(int argc, char **argv)
{
	char *eal[] = { PROG, "-l", "0-1", "--no-huge", "-m", "2048", "--no-shconf", "--no-pci", "--no-telemetry",
			"--log-level=3", NULL };
	double secs = 10, warm = 2, t_start = perf_now_s();
	unsigned rooms[4], nrooms = 0, only = 0, nrows = 0, nfd = 0;
	const char *rows_arg = "pcmu-levels,opus-levels,opus", *rooms_arg = "50,200", *split = NULL;
	const struct row *rows[8];
	struct found fd[32];
	unsigned fd_room[32];
	char *list, *tok, *save = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--warm") && i + 1 < argc)
			warm = atof(argv[++i]);
		else if (!strcmp(argv[i], "--room") && i + 1 < argc)
			rooms_arg = argv[++i];
		else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
			rows_arg = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			profile_file = argv[++i];
		else if (!strcmp(argv[i], "--split") && i + 1 < argc)
			split = argv[++i];
		else if (!strcmp(argv[i], "--late-us") && i + 1 < argc)
			late_bound_us = atof(argv[++i]);
		else
			die("usage: perf_room_dp [--seconds S] [--warm S] [--room R[,R...]] [--rows LIST] "
			    "[--only N [--profile FILE]] [--late-us US] [--split perf_room_split.py]");
	}
	list = strdup(rooms_arg);
	for (tok = strtok_r(list, ",", &save); tok && nrooms < 4; tok = strtok_r(NULL, ",", &save)) {
		rooms[nrooms] = (unsigned)atoi(tok);
		if (rooms[nrooms] < TALKERS + 1 || rooms[nrooms] > MX_MIXER_MAX_PARTS)
			die("bad --room");
		nrooms++;
	}
	if (!nrooms || secs <= 0)
		die("bad --room or --seconds");
	list = strdup(rows_arg);
	save = NULL;
	for (tok = strtok_r(list, ",", &save); tok && nrows < 8; tok = strtok_r(NULL, ",", &save)) {
		unsigned k;

		for (k = 0; k < sizeof(rows_all) / sizeof(rows_all[0]) && strcmp(rows_all[k].key, tok); k++)
			;
		if (k == sizeof(rows_all) / sizeof(rows_all[0]))
			die("unknown row (pcmu-levels, opus-levels, opus, pcmu)");
		rows[nrows++] = &rows_all[k];
	}
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, PROG, "daemon", 10, 5000);
	dp_log_capture_rte();
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("EAL (needs 2 lcores)");
	hz = rte_get_tsc_hz();
	fpool = rte_pktmbuf_pool_create("room_frames", POOL_FRAMES, 512, 0, RTE_PKTMBUF_HEADROOM + FRAME_ROOM,
					SOCKET_ID_ANY);
	if (!fpool || perf_ring_port_make(&rp, "room", RING))
		die("frame pool, ring port");
	printf("perf_room_dp: conference rooms on one worker lcore (DPDK net_ring port, traffic from the main "
	       "lcore at real time), %d talkers a room, 16 kHz mix, %.0f s windows after %.0f s warm-up; TSC %.2f GHz\n"
	       "pass: no missed tick, tick lateness p99 <= %.0f us, no rx overflow or drop, every participant sent >= 99%% "
	       "of its frames (LATE: all but the lateness)\n",
	       TALKERS, secs, warm, (double)hz / 1e9, late_bound_us);
	fflush(stdout);
	if (only) {
		for (unsigned q = 0; q < nrooms; q++)
			for (unsigned k = 0; k < nrows; k++) {
				struct result r;

				make_media(rows[k]);
				r = run(rows[k], only, rooms[q], warm, secs);
				printf("  rooms of %u:", rooms[q]);
				print_trial(rows[k], &r);
			}
		rte_eal_cleanup();
		return 0;
	}
	for (unsigned q = 0; q < nrooms; q++)
		for (unsigned k = 0; k < nrows; k++) {
			printf("rooms of %u:\n", rooms[q]);
			fd_room[nfd] = rooms[q];
			fd[nfd++] = search(rows[k], rooms[q], warm, secs);
		}
	for (unsigned k = 0; split && k < nfd; k++) { /* where the worker's time goes, at the load found */
		const struct row *rw = fd[k].rw;
		/* half the load found: the shares of the work are the same, and a run there still keeps up
		 * when the machine takes the worker's CPU away for a while */
		unsigned n = fd[k].max_pass ? fd[k].max_pass : fd[k].kept.n ? fd[k].kept.n : rw->start;

		n = (n / 2 + fd_room[k] - 1) / fd_room[k] * fd_room[k];
		char file[96], cmd[512];
		struct result r;

		snprintf(file, sizeof(file), "/tmp/perf_room_dp.%d.%s.%u.data", (int)getpid(), rw->key, fd_room[k]);
		profile_file = file;
		make_media(rw);
		printf("\n%s, rooms of %u, N=%u under perf record -g (the worker thread, %.0f s):\n", rw->name,
		       fd_room[k], n, secs < 5 ? secs : 5);
		r = run(rw, n, fd_room[k], warm, secs);
		print_trial(rw, &r);
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", split, file);
		if (system(cmd))
			printf("  (no split: perf record or perf script failed; package linux-perf)\n");
		unlink(file);
		profile_file = NULL;
	}
	printf("\nparticipants per core (one worker lcore, packet I/O included):\n"
	       "  real time: the largest N that passed (failed at: the smallest that did not);\n"
	       "  by load: N / load of the largest run that kept up (every tick, every packet): the worker's CPU time\n"
	       "  less idle polling over the window, so a core's worth of that work whatever share the machine gave\n");
	printf("  by cost: N x 20 ms / (the rooms' ticks + N packets' rx), each trimmed of its slowest 10%%: the median\n"
	       "  (and range) over the search's runs that kept up\n");
	printf("  %-16s %5s %9s %9s %7s %8s %8s %13s %6s %6s %6s %6s\n", "row", "room", "real time", "failed at",
	       "load at", "by load", "by cost", "(range)", "goal", "rt", "load", "cost");
	for (unsigned k = 0; k < nfd; k++) {
		const struct found *x = &fd[k];
		char failed[16] = "-";
		double per = x->kept.load > 0 ? x->kept.n / x->kept.load : 0;

		if (x->min_fail <= MAX_PARTS)
			snprintf(failed, sizeof(failed), "%u", x->min_fail);
		double lo, hi, med = cost_median(x, &lo, &hi);
		char range[32];

		snprintf(range, sizeof(range), "%.0f-%.0f", lo, hi);
		printf("  %-16s %5u %9u %9s %7u %8.0f %8.0f %13s %6u %6s %6s %6s\n", x->rw->name, fd_room[k], x->max_pass,
		       failed, x->kept.n, per, med, range, x->rw->goal,
		       !x->rw->goal ? "" : x->max_pass >= x->rw->goal ? "met" : "MISSED",
		       !x->rw->goal ? "" : per >= x->rw->goal ? "met" : "MISSED",
		       !x->rw->goal ? "" : med >= x->rw->goal ? "met" : "MISSED");
	}
	for (unsigned k = 0; k < nfd; k++)
		for (unsigned j = 0; j < nfd; j++)
			if (fd_room[j] == fd_room[k] && fd[k].rw->pt == fd[j].rw->pt && fd[k].rw->levels &&
			    !fd[j].rw->levels && fd[j].kept.load > 0 && fd[k].kept.load > 0)
			{
				double l, h, ck = cost_median(&fd[k], &l, &h), cj = cost_median(&fd[j], &l, &h);
				char rt[16] = "-";

				if (fd[j].max_pass)
					snprintf(rt, sizeof(rt), "x%.2f", (double)fd[k].max_pass / fd[j].max_pass);
				printf("  rooms of %u, %s / %s: %s real time, x%.2f by load, x%.2f by cost\n", fd_room[k],
				       fd[k].rw->name, fd[j].rw->name, rt,
				       (fd[k].kept.n / fd[k].kept.load) / (fd[j].kept.n / fd[j].kept.load), cj > 0 ? ck / cj : 0);
			}
	printf("total run time %.0f s\n", perf_now_s() - t_start);
	rte_eal_cleanup();
	return 0;
}
