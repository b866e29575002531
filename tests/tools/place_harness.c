/* place_harness: calls placed and moved between worker lcores through the
 * real dataplane (dp_media.h, "Calls and their placement"), driven line by
 * line from stdin, for tests.
 *
 *   place_harness [--lcores LIST] [--eal ARGS] [--transcode-workers N]
 *
 * Each call has two legs on 127.0.0.1 (kernel UDP), a and b, relayed to
 * each other, with an RTP clock of 8000 Hz. Commands, one per line; each
 * gets one line of JSON on stdout (rc is 0 or -errno):
 *   workers                   {"workers": [{"lcore": L, "transcodes": bool}, ...]}
 *   call NAME [SHARD]         create call NAME in shard SHARD (default: its id):
 *                             {"rc", "lcore", "a": port, "b": port, "shard_size"}
 *   remote NAME a|b PORT      where leg a's (b's) peer receives: 127.0.0.1:PORT
 *   hook NAME                 terminate leg a: its media hook sends each packet
 *                             on out of leg b at once (dp_leg_send, the same
 *                             header fields), and a ticker runs on the call
 *   move NAME LCORE           dp_call_move:               {"rc", "from", "lcore"}
 *   xcode NAME                dp_call_to_transcode_worker: {"rc", "from", "lcore"}
 *   colocate B A              dp_call_colocate(B, A):     {"rc", "a", "b", "shard_size"}
 *   stats NAME                the call's lcore, both legs' counters, and for a
 *                             hooked call: per lcore how often its hook and
 *                             ticker ran there, the largest step between two
 *                             deadlines its ticker saw, how often a deadline
 *                             did not follow the last one, the workers'
 *                             skipped ticks
 *   lcores                    per worker lcore: rx_packets
 *   destroy NAME              dp_call_destroy
 *   quit                      stop (also at end of input), exit 0
 * Prints "READY" first, once the workers run (harness_main.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>

#include "dp.h"
#include "harness_main.h"

#define MAX_CALLS 64
#define MAX_LC 128

/* What a hooked call's hook and ticker saw, written on the worker that runs
 * them, read by the control thread (whole 64-bit counters). */
struct seen {
	uint64_t hook[MAX_LC], tick[MAX_LC];
	uint64_t hook_sent, hook_refused;
	uint64_t last_deadline, tick_backwards, tick_gap_max_ns;
};

static struct pcall {
	char name[32];
	struct dp_call *c;
	struct dp_leg *a, *b;
	struct dp_ticker *t;
	struct seen *seen;
} calls[MAX_CALLS];

static struct pcall *find(const char *name)
{
	for (int i = 0; i < MAX_CALLS; i++)
		if (calls[i].c && !strcmp(calls[i].name, name))
			return &calls[i];
	return NULL;
}

static void on_hook(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc)
{
	struct pcall *pc = ctx;
	unsigned lc = rte_lcore_id();

	pc->seen->hook[lc < MAX_LC ? lc : 0]++;
	if (dp_leg_send(pc->b, p, 1) == 1)
		pc->seen->hook_sent++;
	else
		pc->seen->hook_refused++;
	(void)arrival_tsc;
}

static void on_tick(void *ctx, uint64_t tick, uint64_t deadline_ns)
{
	struct seen *s = ctx;
	unsigned lc = rte_lcore_id();

	s->tick[lc < MAX_LC ? lc : 0]++;
	if (s->last_deadline) {
		if (deadline_ns <= s->last_deadline)
			s->tick_backwards++;
		else if (deadline_ns - s->last_deadline > s->tick_gap_max_ns)
			s->tick_gap_max_ns = deadline_ns - s->last_deadline;
	}
	s->last_deadline = deadline_ns;
	(void)tick;
}

static void print_leg(const char *name, struct dp_leg *l)
{
	struct dp_leg_stats st;
	uint64_t drops = 0;

	dp_leg_get_stats(l, &st);
	for (int d = 1; d < DP_DROP__COUNT; d++)
		drops += st.drops[d];
	printf("\"%s\": {\"rtp_packets\": %llu, \"out_packets\": %llu, \"hook_in\": %llu, \"hook_out\": %llu, "
	       "\"drops\": %llu}",
	       name, (unsigned long long)st.rtp_packets, (unsigned long long)st.out_packets,
	       (unsigned long long)st.hook_in, (unsigned long long)st.hook_out, (unsigned long long)drops);
}

static void print_per_lcore(const char *name, const uint64_t *v)
{
	printf("\"%s\": {", name);
	for (int lc = 0, first = 1; lc < MAX_LC; lc++)
		if (v[lc]) {
			printf("%s\"%d\": %llu", first ? "" : ", ", lc, (unsigned long long)v[lc]);
			first = 0;
		}
	printf("}");
}

static int new_call(const char *name, const char *shard)
{
	struct pcall *pc = NULL;
	struct dp_leg_local loc[2];
	int err = 0;

	for (int i = 0; i < MAX_CALLS && !pc; i++)
		if (!calls[i].c)
			pc = &calls[i];
	if (!pc || find(name))
		return -EEXIST;
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->name, sizeof(pc->name), "%s", name);
	if (!(pc->c = dp_call_create_in(name, shard)))
		return -ENOMEM;
	if (!(pc->a = dp_leg_create(pc->c, NULL, 0, &err)) || !(pc->b = dp_leg_create(pc->c, NULL, 0, &err))) {
		dp_call_destroy(pc->c);
		pc->c = NULL;
		return err;
	}
	dp_leg_set_clock(pc->a, 8000);
	dp_leg_set_clock(pc->b, 8000);
	dp_leg_connect(pc->a, pc->b);
	dp_leg_local(pc->a, &loc[0]);
	dp_leg_local(pc->b, &loc[1]);
	printf("{\"rc\": 0, \"lcore\": %u, \"a\": %u, \"b\": %u, \"shard_size\": %u}\n", dp_call_lcore(pc->c),
	       loc[0].rtp_port, loc[1].rtp_port, dp_call_shard_size(pc->c));
	return 0;
}

static void destroy(struct pcall *pc)
{
	dp_call_destroy(pc->c); /* removes the ticker (waiting) before it frees the legs */
	free(pc->seen);
	pc->c = NULL;
	pc->seen = NULL;
}

static int command(char *line)
{
	char *argv[4] = { 0 }, *save = NULL;
	int argc = 0;
	struct pcall *pc = NULL, *pa;
	unsigned from;
	int rc;

	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 4; tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return 0;
	if (argc >= 2 && strcmp(argv[0], "call"))
		pc = find(argv[1]);
	if (!strcmp(argv[0], "quit"))
		return 1;
	if (!strcmp(argv[0], "workers")) {
		unsigned lc;
		bool xc;

		printf("{\"workers\": [");
		for (unsigned i = 0; dp_media_worker(i, &lc, &xc) == 0; i++)
			printf("%s{\"lcore\": %u, \"transcodes\": %s}", i ? ", " : "", lc, xc ? "true" : "false");
		printf("]}\n");
	} else if (!strcmp(argv[0], "lcores")) {
		struct dp_lcore_stats ls;

		printf("{");
		for (int lc = 0, first = 1; lc < MAX_LC; lc++)
			if (dp_lcore_get_stats(lc, &ls) == 0) {
				printf("%s\"%d\": %llu", first ? "" : ", ", lc, (unsigned long long)ls.rx_packets);
				first = 0;
			}
		printf("}\n");
	} else if (!strcmp(argv[0], "call") && argc >= 2) {
		rc = new_call(argv[1], argv[2]);
		if (rc)
			printf("{\"rc\": %d}\n", rc);
	} else if (!pc) {
		printf("{\"rc\": %d}\n", -ENOENT);
	} else if (!strcmp(argv[0], "remote") && argc == 4) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };

		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		rc = dp_leg_set_remote(argv[2][0] == 'a' ? pc->a : pc->b, (struct sockaddr *)&sa, NULL);
		printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "hook")) {
		int err = 0;

		rc = pc->seen ? -EALREADY : (pc->seen = calloc(1, sizeof(*pc->seen))) ? 0 : -ENOMEM;
		if (!rc && !(pc->t = dp_ticker_add(pc->c, on_tick, pc->seen, &err)))
			rc = err;
		if (!rc)
			rc = dp_leg_set_hook(pc->a, on_hook, pc);
		printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "move") && argc == 3) {
		from = dp_call_lcore(pc->c);
		rc = dp_call_move(pc->c, (unsigned)atoi(argv[2]));
		printf("{\"rc\": %d, \"from\": %u, \"lcore\": %u}\n", rc, from, dp_call_lcore(pc->c));
	} else if (!strcmp(argv[0], "xcode")) {
		from = dp_call_lcore(pc->c);
		rc = dp_call_to_transcode_worker(pc->c);
		printf("{\"rc\": %d, \"from\": %u, \"lcore\": %u}\n", rc, from, dp_call_lcore(pc->c));
	} else if (!strcmp(argv[0], "colocate") && argc == 3) {
		if (!(pa = find(argv[2]))) {
			printf("{\"rc\": %d}\n", -ENOENT);
		} else {
			rc = dp_call_colocate(pc->c, pa->c);
			printf("{\"rc\": %d, \"a\": %u, \"b\": %u, \"shard_size\": %u}\n", rc, dp_call_lcore(pa->c),
			       dp_call_lcore(pc->c), dp_call_shard_size(pc->c));
		}
	} else if (!strcmp(argv[0], "stats")) {
		printf("{\"lcore\": %u, \"shard_size\": %u, ", dp_call_lcore(pc->c), dp_call_shard_size(pc->c));
		print_leg("a", pc->a);
		printf(", ");
		print_leg("b", pc->b);
		if (pc->seen) {
			struct dp_clock_stats cs;

			dp_clock_get_stats(-1, &cs);
			printf(", \"clock_missed\": %llu, \"period_us\": %u, ", (unsigned long long)cs.missed, cs.period_us);
			print_per_lcore("hook", pc->seen->hook);
			printf(", ");
			print_per_lcore("tick", pc->seen->tick);
			printf(", \"hook_sent\": %llu, \"hook_refused\": %llu, \"tick_backwards\": %llu, "
			       "\"tick_gap_max_us\": %llu",
			       (unsigned long long)pc->seen->hook_sent, (unsigned long long)pc->seen->hook_refused,
			       (unsigned long long)pc->seen->tick_backwards,
			       (unsigned long long)pc->seen->tick_gap_max_ns / 1000);
		}
		printf("}\n");
	} else if (!strcmp(argv[0], "destroy")) {
		destroy(pc);
		printf("{\"rc\": 0}\n");
	} else {
		printf("{\"rc\": %d}\n", -EINVAL);
	}
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < MAX_CALLS; i++)
		if (calls[i].c)
			destroy(&calls[i]);
}

int main(int argc, char **argv)
{
	return harness_main(argc, argv, "place_harness", true, command, cleanup);
}
