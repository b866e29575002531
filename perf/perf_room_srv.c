/* SPDX-License-Identifier: MIT
 * perf_room_srv: medius's side of perf/bench_janus.py. Conference rooms on
 * the media engine (mixer/ mx_room) over the real dataplane, kernel UDP on
 * 127.0.0.1, without the control plane, driven line by line from stdin as
 * tests/tools/room_harness does, but sized for the benchmark's rooms of
 * up to 1,000 participants (room_harness stops at 32).
 *
 *   perf_room_srv [--lcores LIST] [--eal ARGS]
 *
 * Commands, one per line, each answered by one line of JSON:
 *   room NAME RATE TALKERS PARTS     a room (20 ms frames, saturating mix)
 *                                    for at most PARTS participants: {"rc"}
 *   join ROOM P RTPMAP PT PEER [LV]  participant P (codec RTPMAP, payload
 *                                    type PT both ways, 20 ms packets to
 *                                    127.0.0.1:PEER; takes media from any
 *                                    port; with LV, its RFC 6464 audio
 *                                    levels come in extension id LV):
 *                                    {"rc", "port", "lcore"}
 *   stats P                          {"rc", "received", "sent", "grouped",
 *                                    "level_packets", "level_skipped"}
 *   quit
 * Prints "READY" first, once the workers run (tests/tools/harness_main.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"
#include "harness_main.h"

#define SRV_ROOMS 64
#define SRV_PARTS 1024

static struct srv_room {
	char name[32];
	struct dp_call *home;
	struct mx_room *r;
} rooms[SRV_ROOMS];

static struct srv_part {
	char name[32];
	struct srv_room *room;
	struct dp_call *c;
	int pid;
} parts[SRV_PARTS];
static int nparts;

static struct srv_room *find_room(const char *n)
{
	for (int i = 0; i < SRV_ROOMS; i++)
		if (rooms[i].r && !strcmp(rooms[i].name, n))
			return &rooms[i];
	return NULL;
}

static struct srv_part *find_part(const char *n)
{
	for (int i = 0; i < nparts; i++)
		if (!strcmp(parts[i].name, n))
			return &parts[i];
	return NULL;
}

static int new_room(const char *name, int rate, int talkers, int max_parts)
{
	struct mx_room_conf rc = { .mix = { .rate = (uint32_t)rate, .frame_ms = 20, .max_talkers = (unsigned)talkers,
					    .max_parts = (unsigned)max_parts } };
	struct srv_room *h = NULL;
	char id[48];
	int err = 0;

	for (int i = 0; i < SRV_ROOMS && !h; i++)
		if (!rooms[i].r)
			h = &rooms[i];
	if (!h || find_room(name))
		return -EEXIST;
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(id, sizeof(id), "room:%s", name);
	if (!(h->home = dp_call_create_in(id, name)))
		return -ENOMEM;
	if (!(h->r = mx_room_create(h->home, &rc, &err))) {
		dp_call_destroy(h->home);
		h->home = NULL;
		return err ? err : -EINVAL;
	}
	printf("{\"rc\": 0, \"lcore\": %u}\n", dp_call_lcore(h->home));
	return 0;
}

static int join(struct srv_room *h, const char *name, const char *rtpmap, int pt, int peer, int level_id)
{
	struct mx_room_part_conf pc = { .in = { .in_pt = (uint8_t)pt, .in_te_pt = -1, .in_cn_pt = -1,
						.dtmf = CDC_DTMF_DROP },
					.out = { .out_pt = (uint8_t)pt, .out_ptime = 20, .out_te_pt = -1,
						 .out_cn_pt = -1 } };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)peer) };
	struct dp_leg_local loc;
	struct dp_leg *leg;
	struct srv_part *p;
	int err = 0;

	if (nparts == SRV_PARTS || find_part(name))
		return -EEXIST;
	if (level_id < 0 || level_id > 14)
		return -EINVAL;
	pc.level_ext_id = (uint8_t)level_id;
	if (cdc_format_parse(rtpmap, NULL, &pc.in.in) || cdc_format_parse(rtpmap, NULL, &pc.out.out))
		return -EINVAL;
	p = &parts[nparts];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (!(p->c = dp_call_create_in(name, h->name)))
		return -ENOMEM;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (!(leg = dp_leg_create(p->c, NULL, DP_LEG_ASYMMETRIC, &err)) ||
	    (err = dp_leg_set_remote(leg, (struct sockaddr *)&sa, NULL)) ||
	    (err = dp_leg_set_clock(leg, pc.in.in.clock_rate)) || (p->pid = mx_room_join(h->r, leg, &pc, &err)) < 0) {
		dp_call_destroy(p->c);
		p->c = NULL;
		return err ? err : -EINVAL;
	}
	p->room = h;
	nparts++;
	dp_leg_local(leg, &loc);
	printf("{\"rc\": 0, \"port\": %u, \"lcore\": %u}\n", loc.rtp_port, dp_call_lcore(p->c));
	return 0;
}

static int command(char *line)
{
	char *argv[8] = { 0 }, *save = NULL;
	int argc = 0, rc;
	struct srv_room *h;
	struct srv_part *p;

	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8; tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return 0;
	if (!strcmp(argv[0], "quit"))
		return 1;
	if (!strcmp(argv[0], "room") && argc == 5) {
		if ((rc = new_room(argv[1], atoi(argv[2]), atoi(argv[3]), atoi(argv[4]))))
			printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "join") && (argc == 6 || argc == 7)) {
		if (!(h = find_room(argv[1])))
			printf("{\"rc\": %d}\n", -ENOENT);
		else if ((rc = join(h, argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argc == 7 ? atoi(argv[6]) : 0)))
			printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "stats") && argc == 2 && (p = find_part(argv[1]))) {
		struct mx_room_part_stats s;

		if ((rc = mx_room_get_stats(p->room->r, p->pid, &s)))
			printf("{\"rc\": %d}\n", rc);
		else
			printf("{\"rc\": 0, \"received\": %llu, \"sent\": %llu, \"grouped\": %s, "
			       "\"level_packets\": %llu, \"level_skipped\": %llu}\n",
			       (unsigned long long)s.in.jb.received, (unsigned long long)s.out.sent,
			       s.grouped ? "true" : "false", (unsigned long long)s.in.level_packets,
			       (unsigned long long)s.in.level_skipped);
	} else {
		printf("{\"rc\": %d}\n", -EINVAL);
	}
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < SRV_ROOMS; i++)
		if (rooms[i].r)
			mx_room_destroy(rooms[i].r); /* unhooks every leg, stops the ticker */
	for (int i = 0; i < nparts; i++)
		if (parts[i].c)
			dp_call_destroy(parts[i].c);
	for (int i = 0; i < SRV_ROOMS; i++)
		if (rooms[i].home)
			dp_call_destroy(rooms[i].home);
}

int main(int argc, char **argv)
{
	return harness_main(argc, argv, "perf_room_srv", false, command, cleanup);
}
