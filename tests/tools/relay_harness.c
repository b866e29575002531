/* relay_harness: a two-leg relay through the real dataplane (EAL, workers,
 * kernel-UDP ports, SRTP), configured from the command line, for tests that
 * drive media through medius before the ng call model exists.
 *
 *   relay_harness [--lcores LIST] [--relatch MS] [--eal ARGS] [--transcode-workers N] [--nat-learning]
 *                 [--iface-eth DEVICE,ADDRESS[/LEN]] --a OPTS --b OPTS
 *   --iface-eth: both legs on an ethdev interface instead of kernel UDP on
 *     127.0.0.1: DEVICE is an EAL device name or vdev argument string (it
 *     may contain commas: ADDRESS is what follows the last one), e.g.
 *     net_af_packet0,iface=vethM,10.99.1.1/24
 *   --eal: further EAL arguments, space separated ("--lcores=0@0,1@1,2@1")
 *   --tickers N: register N tickers on the call's media clock (dp_clock.h);
 *     each counts its ticks and checks they come in order; the JSON then has
 *     "clock" (ticks, missed, lateness) per worker and the tickers' counts
 *   --clock-ms MS: media.clock_ms (20 or 10)
 *   --ticker-us US: each ticker busy-waits US microseconds per tick (a
 *     transcoding graph's work, for the media clock's slices)
 *   --tick-slice-us US: media.tick_slice_us (0: a tick runs in one piece)
 *   --transcode-workers: media.transcode_workers; then SIGUSR1 moves the call
 *     to a transcoding worker (dp_call_to_transcode_worker) and prints
 *     "MOVED from=LCORE to=LCORE rc=N"
 *   --hook record: leg a is terminated (dp_leg_set_hook): the hook records
 *     each packet's arrival_tsc and the TSC it ran at (up to 256); with
 *     --stall-ms MS it spins MS ms on the first packet (a stalled worker).
 *     The JSON then has "hook": both, in us from the first packet's arrival.
 *   --hook churn: leg a's hook and a ticker on the call are set up and torn
 *     down again after ~1 ms (every 4th once it ticked) until SIGTERM, never waiting
 *     (dp_leg_set_hook_deferred, dp_ticker_remove_deferred; the release on
 *     the one posted last, alternating which), each generation with its own
 *     ctx; release marks a ctx dead. The hook spins --spin-us US (default
 *     200) per packet so the worker is busy when the teardown is posted.
 *     The JSON's "churn" counts generations, releases, hook and tick calls,
 *     and calls that found their ctx released ("violations": must be 0).
 *   OPTS: comma-separated key=value:
 *     remote=IP:PORT   where the leg's peer receives (without it: no source is
 *                      accepted unless sip= or --nat-learning allows it)
 *     sip=IP           the peer's SIP source address (ng received-from)
 *     flags=F|F        mux, strict, asymmetric, rewrite
 *     rx=SUITE:B64     SRTP keys the peer encrypts with (decrypt on rx)
 *     tx=SUITE:B64     SRTP keys for what we send the peer
 *     clock=HZ         RTP clock rate (jitter in ms)
 *
 * Prints "READY a_rtp=P a_rtcp=P b_rtp=P b_rtcp=P" once both legs listen,
 * relays until SIGTERM/SIGINT, then prints one JSON object with both legs'
 * statistics and the workers' counters, and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <stdatomic.h>
#include <time.h>

#include "ctl_addr.h"
#include "ctl_sdes.h"
#include "dp.h"

struct leg_opts {
	struct sockaddr_storage remote, sip;
	bool has_remote, has_sip;
	unsigned flags;
	struct dp_sdes rx, tx;
	bool has_rx, has_tx;
	uint32_t clock;
};

static int parse_sdes(const char *v, struct dp_sdes *out)
{
	char buf[256];
	const char *colon = strchr(v, ':');

	if (!colon)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "1 %.*s inline:%s", (int)(colon - v), v, colon + 1);
	return ctl_sdes_parse(buf, out);
}

static int parse_leg(char *s, struct leg_opts *o)
{
	char *save = NULL;

	for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		socklen_t sl;

		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		if (!strcmp(kv, "remote")) {
			if (ctl_addr_parse(eq, NULL, &o->remote, &sl))
				return -EINVAL;
			o->has_remote = true;
		} else if (!strcmp(kv, "sip")) {
			char probe[80];

			snprintf(probe, sizeof(probe), strchr(eq, ':') ? "[%s]:0" : "%s:0", eq);
			if (ctl_addr_parse(probe, NULL, &o->sip, &sl))
				return -EINVAL;
			o->has_sip = true;
		} else if (!strcmp(kv, "flags")) {
			char *s2 = NULL;

			for (char *f = strtok_r(eq, "|", &s2); f; f = strtok_r(NULL, "|", &s2))
				o->flags |= !strcmp(f, "mux")		? DP_LEG_RTCP_MUX
					    : !strcmp(f, "strict")	? DP_LEG_STRICT_SOURCE
					    : !strcmp(f, "asymmetric") ? DP_LEG_ASYMMETRIC
					    : !strcmp(f, "rewrite")	? DP_LEG_REWRITE
										: 0;
		} else if (!strcmp(kv, "rx")) {
			if (parse_sdes(eq, &o->rx))
				return -EINVAL;
			o->has_rx = true;
		} else if (!strcmp(kv, "tx")) {
			if (parse_sdes(eq, &o->tx))
				return -EINVAL;
			o->has_tx = true;
		} else if (!strcmp(kv, "clock")) {
			o->clock = (uint32_t)atoi(eq);
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

#define MAX_TICKERS 4096

/* A ticker: counts its ticks, the ones that did not follow the last one on
 * the same worker (tick numbers are per worker), and worker changes. */
static struct tick_count {
	struct dp_ticker *t;
	uint64_t n, last, out_of_order, lcore_changes;
	unsigned lcore;
} tickers[MAX_TICKERS];
static uint64_t ticker_tsc; /* --ticker-us in TSC cycles */

static void on_tick(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	struct tick_count *c = ctx;

	if (c->n && tick != c->last + 1 && c->lcore == rte_lcore_id())
		c->out_of_order++;
	if (c->n && c->lcore != rte_lcore_id())
		c->lcore_changes++;
	c->lcore = rte_lcore_id();
	c->last = tick;
	c->n++;
	(void)deadline_ns;
	if (ticker_tsc) {
		uint64_t t0 = rte_rdtsc();

		while (rte_rdtsc() - t0 < ticker_tsc) /* no rte_pause: in a VM, PAUSE loops may give the vCPU away */
			;
	}
}

static void print_clock(int n_tickers)
{
	struct dp_clock_stats cs;
	uint64_t min = UINT64_MAX, max = 0, ooo = 0, moves = 0;

	for (int i = 0; i < n_tickers; i++) {
		min = tickers[i].n < min ? tickers[i].n : min;
		max = tickers[i].n > max ? tickers[i].n : max;
		ooo += tickers[i].out_of_order;
		moves += tickers[i].lcore_changes;
	}
	printf("\"tickers\": {\"count\": %d, \"min_ticks\": %llu, \"max_ticks\": %llu, \"out_of_order\": %llu, "
	       "\"lcore_changes\": %llu}, \"clock\": [",
	       n_tickers, (unsigned long long)(n_tickers ? min : 0), (unsigned long long)max,
	       (unsigned long long)ooo, (unsigned long long)moves);
	for (int lc = 0, first = 1; lc < 128; lc++)
		if (dp_clock_get_stats(lc, &cs) == 0) {
			printf("%s{\"lcore\": %d, \"period_us\": %u, \"tickers\": %u, \"ticks\": %llu, \"missed\": %llu, "
			       "\"late_p50_us\": %u, \"late_p99_us\": %u, \"late_max_us\": %u, \"slices\": %llu, "
			       "\"span_max_us\": %u}",
			       first ? "" : ", ", lc, cs.period_us, cs.tickers, (unsigned long long)cs.ticks,
			       (unsigned long long)cs.missed, cs.late_p50_us, cs.late_p99_us, cs.late_max_us,
			       (unsigned long long)cs.slices, cs.span_max_us);
			first = 0;
		}
	printf("], ");
}

/* --hook record */
#define MAX_REC 256
static struct {
	uint64_t stall_tsc;
	unsigned n;
	uint64_t arrival[MAX_REC], ran[MAX_REC];
} rec;

static void spin_tsc(uint64_t cycles)
{
	uint64_t t0 = rte_rdtsc();

	while (rte_rdtsc() - t0 < cycles)
		rte_pause();
}

static void rec_hook(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc)
{
	(void)ctx;
	(void)p;
	if (rec.n < MAX_REC) {
		rec.arrival[rec.n] = arrival_tsc;
		rec.ran[rec.n] = rte_rdtsc();
	}
	if (rec.n++ == 0 && rec.stall_tsc)
		spin_tsc(rec.stall_tsc); /* the worker is stalled: what comes meanwhile waits in the socket */
}

static void print_rec(void)
{
	double us = 1e6 / (double)rte_get_tsc_hz();
	unsigned n = rec.n < MAX_REC ? rec.n : MAX_REC;

	printf("\"hook\": {\"packets\": %u, \"arrival_us\": [", rec.n);
	for (unsigned i = 0; i < n; i++)
		printf("%s%.1f", i ? ", " : "", (double)(int64_t)(rec.arrival[i] - rec.arrival[0]) * us);
	printf("], \"ran_us\": [");
	for (unsigned i = 0; i < n; i++)
		printf("%s%.1f", i ? ", " : "", (double)(int64_t)(rec.ran[i] - rec.arrival[0]) * us);
	printf("]}, ");
}

/* --hook churn */
#define CHURN_LIVE 0x4c495645u
#define CHURN_DEAD 0xdeadu
struct churn_gen {
	_Atomic uint32_t magic;
	_Atomic uint64_t ticks;
	struct dp_ticker *t;
	struct churn_gen *next_dead;
};
static struct {
	uint64_t spin_tsc;
	_Atomic uint64_t hook_calls, tick_calls, violations; /* the worker writes, control reads at the end */
	uint64_t gens, released;
	struct churn_gen *dead;
} churn;

static void churn_hook(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc)
{
	struct churn_gen *g = ctx;

	(void)p;
	(void)arrival_tsc;
	if (atomic_load_explicit(&g->magic, memory_order_acquire) != CHURN_LIVE) {
		atomic_fetch_add_explicit(&churn.violations, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&churn.hook_calls, 1, memory_order_relaxed);
	spin_tsc(churn.spin_tsc);
	if (atomic_load_explicit(&g->magic, memory_order_acquire) != CHURN_LIVE) /* released while it ran */
		atomic_fetch_add_explicit(&churn.violations, 1, memory_order_relaxed);
}

static void churn_tick(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	struct churn_gen *g = ctx;

	(void)tick;
	(void)deadline_ns;
	if (atomic_load_explicit(&g->magic, memory_order_acquire) != CHURN_LIVE)
		atomic_fetch_add_explicit(&churn.violations, 1, memory_order_relaxed);
	else {
		atomic_fetch_add_explicit(&churn.tick_calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&g->ticks, 1, memory_order_relaxed);
	}
}

/* Control lcore, once nothing can call the generation's hook or ticker:
 * mark it dead (kept, so a late call reads the mark, not freed memory). */
static void churn_release(void *ctx)
{
	struct churn_gen *g = ctx;

	atomic_store_explicit(&g->magic, CHURN_DEAD, memory_order_release);
	g->next_dead = churn.dead;
	churn.dead = g;
	churn.released++;
}

static struct churn_gen *churn_start(struct dp_call *call, struct dp_leg *a)
{
	struct churn_gen *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return NULL;
	atomic_store(&g->magic, CHURN_LIVE);
	g->t = dp_ticker_add(call, churn_tick, g, &err);
	if (!g->t) {
		free(g);
		return NULL;
	}
	dp_leg_set_hook_deferred(a, churn_hook, g, NULL); /* the leg had no hook: nothing to release */
	churn.gens++;
	return g;
}

/* Tear generation g down without waiting; the release goes on the command
 * posted last (dp_media.h), alternating which that is. */
static void churn_stop(struct churn_gen *g, struct dp_leg *a)
{
	if (churn.gens & 1) {
		dp_leg_set_hook_deferred(a, NULL, NULL, NULL);
		dp_ticker_remove_deferred(g->t, churn_release);
	} else {
		dp_ticker_remove_deferred(g->t, NULL);
		dp_leg_set_hook_deferred(a, NULL, NULL, churn_release);
	}
}

static void print_leg(const char *name, struct dp_leg *l)
{
	struct dp_leg_stats st;
	char addr[80] = "";
	bool first = true;

	dp_leg_get_stats(l, &st);
	if (st.latched)
		ctl_addr_str((struct sockaddr *)&st.source, addr, sizeof(addr));
	printf("\"%s\": {\"rtp_packets\": %llu, \"rtp_bytes\": %llu, \"rtcp_packets\": %llu, "
	       "\"out_packets\": %llu, \"out_bytes\": %llu, \"ssrc\": %u, \"expected\": %u, \"lost\": %u, "
	       "\"jitter_ts\": %u, \"jitter_ms\": %.3f, \"have_rr\": %s, \"rr_fraction_lost\": %u, "
	       "\"rr_cum_lost\": %d, \"rtt_ms\": %d, \"latched\": %s, \"source\": \"%s\", \"drops\": {",
	       name, (unsigned long long)st.rtp_packets, (unsigned long long)st.rtp_bytes,
	       (unsigned long long)st.rtcp_packets, (unsigned long long)st.out_packets,
	       (unsigned long long)st.out_bytes, st.ssrc, st.expected, st.lost, st.jitter_ts, st.jitter_ms,
	       st.have_rr ? "true" : "false", st.rr_fraction_lost, st.rr_cum_lost, st.rtt_ms,
	       st.latched ? "true" : "false", addr);
	for (int d = 1; d < DP_DROP__COUNT; d++)
		if (st.drops[d]) {
			printf("%s\"%s\": %llu", first ? "" : ", ", dp_drop_name((enum dp_drop)d),
			       (unsigned long long)st.drops[d]);
			first = false;
		}
	printf("}}");
}

int main(int argc, char **argv)
{
	struct leg_opts o[2] = { 0 };
	struct dp_eal_conf eal = { .memory_mb = 256, .hugepages = DP_HUGE_AUTO };
	struct dp_media_conf mc;
	struct dp_leg *leg[2];
	struct dp_call *call;
	struct dp_leg_local loc[2];
	struct dp_lcore_stats ls;
	sigset_t mask;
	int sig = 0, err, relatch_ms = -1, transcode_workers = 0;
	bool nat_learning = false;
	int n_tickers = 0, clock_ms = 20, ticker_us = 0, slice_us = -1;
	const char *hook = NULL;
	double stall_ms = 0, spin_us = 200;
	char eth_dev[128] = "", eth_addr[64] = "";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--relatch") && i + 1 < argc) {
			relatch_ms = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--tickers") && i + 1 < argc) {
			n_tickers = atoi(argv[++i]);
			if (n_tickers < 0 || n_tickers > MAX_TICKERS)
				return 2;
		} else if (!strcmp(argv[i], "--clock-ms") && i + 1 < argc) {
			clock_ms = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--hook") && i + 1 < argc) {
			hook = argv[++i];
			if (strcmp(hook, "record") && strcmp(hook, "churn"))
				return 2;
		} else if (!strcmp(argv[i], "--stall-ms") && i + 1 < argc) {
			stall_ms = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--spin-us") && i + 1 < argc) {
			spin_us = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--ticker-us") && i + 1 < argc) {
			ticker_us = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--tick-slice-us") && i + 1 < argc) {
			slice_us = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--nat-learning")) {
			nat_learning = true;
		} else if (!strcmp(argv[i], "--transcode-workers") && i + 1 < argc) {
			transcode_workers = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--lcores") && i + 1 < argc) {
			snprintf(eal.lcores, sizeof(eal.lcores), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--eal") && i + 1 < argc) {
			snprintf(eal.extra_args, sizeof(eal.extra_args), "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--iface-eth") && i + 1 < argc) {
			const char *v = argv[++i], *comma = strrchr(v, ',');

			if (!comma || comma == v || (size_t)(comma - v) >= sizeof(eth_dev) ||
			    strlen(comma + 1) >= sizeof(eth_addr)) {
				fprintf(stderr, "relay_harness: --iface-eth DEVICE,ADDRESS[/LEN]\n");
				return 2;
			}
			snprintf(eth_dev, sizeof(eth_dev), "%.*s", (int)(comma - v), v);
			snprintf(eth_addr, sizeof(eth_addr), "%s", comma + 1);
		} else if ((!strcmp(argv[i], "--a") || !strcmp(argv[i], "--b")) && i + 1 < argc) {
			if (parse_leg(argv[i + 1], &o[argv[i][2] == 'b'])) {
				fprintf(stderr, "relay_harness: bad leg options '%s'\n", argv[i + 1]);
				return 2;
			}
			i++;
		} else {
			fprintf(stderr, "usage: relay_harness [--lcores LIST] [--relatch MS] [--eal ARGS] [--nat-learning] "
					"[--iface-eth DEVICE,ADDRESS[/LEN]] --a OPTS --b OPTS\n");
			return 2;
		}
	}
	dp_log_setup(DP_LOG_WARNING, DP_LOG_STDERR, "relay_harness", "daemon", 10, 5000);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	dp_log_capture_rte();
	if (dp_eal_start(&eal, "relay_harness"))
		return 69;
	dp_media_conf_defaults(&mc);
	if (getenv("SRTP_ENGINE")) /* the SRTP engine the test runs on (media.srtp_engine) */
		snprintf(mc.srtp_engine, sizeof(mc.srtp_engine), "%s", getenv("SRTP_ENGINE"));
	if (relatch_ms >= 0)
		mc.relatch_ms = (uint32_t)relatch_ms;
	mc.transcode_workers = (uint32_t)transcode_workers;
	mc.ifaces[0].nat_learning = nat_learning;
	mc.clock_ms = (uint32_t)clock_ms;
	if (slice_us >= 0)
		mc.tick_slice_us = (uint32_t)slice_us;
	ticker_tsc = (uint64_t)(ticker_us > 0 ? ticker_us : 0) * rte_get_tsc_hz() / 1000000u;
	if (eth_dev[0]) {
		struct dp_iface_conf *f = &mc.ifaces[0];
		char *slash = strchr(eth_addr, '/');

		snprintf(f->name, sizeof(f->name), "eth");
		f->type = DP_IFACE_ETHDEV;
		snprintf(f->device, sizeof(f->device), "%s", eth_dev);
		if (slash) {
			*slash = '\0';
			f->prefix_len = (uint8_t)atoi(slash + 1);
		}
		snprintf(f->address, sizeof(f->address), "%s", eth_addr);
	}
	if (dp_media_start(&mc) || dp_workers_start() <= 0) {
		fprintf(stderr, "relay_harness: no worker lcore (need at least 2 lcores)\n");
		return 70;
	}
	call = dp_call_create("harness");
	for (int i = 0; i < 2; i++) {
		leg[i] = dp_leg_create(call, NULL, o[i].flags, &err);
		if (!leg[i]) {
			fprintf(stderr, "relay_harness: leg: %s\n", strerror(-err));
			return 71;
		}
		if (o[i].has_sip)
			dp_leg_set_sip_source(leg[i], (struct sockaddr *)&o[i].sip);
		if (o[i].has_remote)
			dp_leg_set_remote(leg[i], (struct sockaddr *)&o[i].remote, NULL);
		if ((o[i].has_rx || o[i].has_tx) &&
		    (err = dp_leg_set_srtp(leg[i], o[i].has_rx ? &o[i].rx : NULL, o[i].has_tx ? &o[i].tx : NULL))) {
			fprintf(stderr, "relay_harness: srtp: %s\n", strerror(-err));
			return 71;
		}
		if (o[i].clock)
			dp_leg_set_clock(leg[i], o[i].clock);
		dp_leg_local(leg[i], &loc[i]);
	}
	dp_leg_connect(leg[0], leg[1]);
	for (int i = 0; i < n_tickers; i++)
		if (!(tickers[i].t = dp_ticker_add(call, on_tick, &tickers[i], &err))) {
			fprintf(stderr, "relay_harness: ticker: %s\n", strerror(-err));
			return 71;
		}
	rec.stall_tsc = (uint64_t)(stall_ms * 1e-3 * (double)rte_get_tsc_hz());
	churn.spin_tsc = (uint64_t)(spin_us * 1e-6 * (double)rte_get_tsc_hz());
	if (hook && !strcmp(hook, "record"))
		dp_leg_set_hook(leg[0], rec_hook, NULL);
	dp_workers_synchronize(); /* the peers start on READY: the worker has the legs' settings by then */
	printf("READY a_rtp=%u a_rtcp=%u b_rtp=%u b_rtcp=%u\n", loc[0].rtp_port, loc[0].rtcp_port,
	       loc[1].rtp_port, loc[1].rtcp_port);
	fflush(stdout);
	if (hook && !strcmp(hook, "churn")) {
		struct timespec ms = { 0, 1000000 };
		struct churn_gen *g = churn_start(call, leg[0]);
		int waited = 0;

		/* every 4th generation lives until it ticked (at most 200 ms) */
		while (g && sigtimedwait(&mask, NULL, &ms) < 0) {
			if (churn.gens % 4 == 0 && !atomic_load(&g->ticks) && ++waited < 200)
				continue;
			waited = 0;
			churn_stop(g, leg[0]);
			g = churn_start(call, leg[0]);
		}
		if (g)
			churn_stop(g, leg[0]);
		dp_workers_synchronize(); /* every teardown applied, and a grace period */
		dp_workers_reclaim();
		sig = SIGTERM;
	}
	while (sig != SIGTERM && sig != SIGINT && sigwait(&mask, &sig) == 0 && sig == SIGUSR1) {
		unsigned from = dp_call_lcore(call);

		err = dp_call_to_transcode_worker(call);
		printf("MOVED from=%u to=%u rc=%d\n", from, dp_call_lcore(call), err);
		fflush(stdout);
	}
	for (int i = 0; i < n_tickers; i++)
		dp_ticker_remove(tickers[i].t); /* no tick runs after this */
	if (hook && !strcmp(hook, "record"))
		dp_leg_set_hook(leg[0], NULL, NULL);
	printf("{");
	if (hook && !strcmp(hook, "record"))
		print_rec();
	if (hook && !strcmp(hook, "churn"))
		printf("\"churn\": {\"generations\": %llu, \"released\": %llu, \"hook_calls\": %llu, "
		       "\"tick_calls\": %llu, \"violations\": %llu}, ",
		       (unsigned long long)churn.gens, (unsigned long long)churn.released,
		       (unsigned long long)atomic_load(&churn.hook_calls), (unsigned long long)atomic_load(&churn.tick_calls),
		       (unsigned long long)atomic_load(&churn.violations));
	print_clock(n_tickers);
	print_leg("a", leg[0]);
	printf(", ");
	print_leg("b", leg[1]);
	dp_lcore_get_stats(-1, &ls);
	printf(", \"lcores\": {\"rx_packets\": %llu, \"tx_packets\": %llu, \"drops\": {",
	       (unsigned long long)ls.rx_packets, (unsigned long long)ls.tx_packets);
	for (int d = 1, first = 1; d < DP_DROP__COUNT; d++)
		if (ls.drops[d]) {
			printf("%s\"%s\": %llu", first ? "" : ", ", dp_drop_name((enum dp_drop)d),
			       (unsigned long long)ls.drops[d]);
			first = 0;
		}
	printf("}}, \"workers\": [");
	for (int lc = 0, first = 1; lc < 128; lc++) /* per worker lcore: who received what */
		if (dp_lcore_get_stats(lc, &ls) == 0) {
			printf("%s{\"lcore\": %d, \"rx_packets\": %llu, \"tx_packets\": %llu}", first ? "" : ", ", lc,
			       (unsigned long long)ls.rx_packets, (unsigned long long)ls.tx_packets);
			first = 0;
		}
	printf("]}\n");
	fflush(stdout);
	dp_eal_stop();
	return 0;
}
