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
	int sig, err, relatch_ms = -1, transcode_workers = 0;
	bool nat_learning = false;
	int n_tickers = 0, clock_ms = 20, ticker_us = 0, slice_us = -1;
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
	dp_workers_synchronize(); /* the peers start on READY: the worker has the legs' settings by then */
	printf("READY a_rtp=%u a_rtcp=%u b_rtp=%u b_rtcp=%u\n", loc[0].rtp_port, loc[0].rtcp_port,
	       loc[1].rtp_port, loc[1].rtcp_port);
	fflush(stdout);
	while (sigwait(&mask, &sig) == 0 && sig == SIGUSR1) {
		unsigned from = dp_call_lcore(call);

		err = dp_call_to_transcode_worker(call);
		printf("MOVED from=%u to=%u rc=%d\n", from, dp_call_lcore(call), err);
		fflush(stdout);
	}
	for (int i = 0; i < n_tickers; i++)
		dp_ticker_remove(tickers[i].t); /* no tick runs after this */
	printf("{");
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
