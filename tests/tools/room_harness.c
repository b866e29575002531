/* room_harness: conference rooms on the media engine (mixer/mx.h,
 * mx_room) over the real dataplane, without the control plane, driven line
 * by line from stdin, for tests.
 *
 *   room_harness [--lcores LIST] [--eal ARGS]
 *
 * Each participant is a call of its own in the room's shard with one leg
 * on 127.0.0.1 (kernel UDP, asymmetric: it sends to the peer port named
 * and takes media from any port of 127.0.0.1). Commands, one per line;
 * each gets one line of JSON on stdout (rc is 0 or -errno):
 *   room NAME RATE TALKERS LIMIT     a room (RATE 8000|16000|48000, 20 ms
 *                                    frames, LIMIT 0 saturate | 1 limit):
 *                                    {"rc", "lcore"}
 *   join ROOM P RTPMAP PT PTIME PEER [LEVEL_ID]
 *                                    participant P joins with codec RTPMAP
 *                                    ("PCMU/8000", "opus/48000/2"...) on
 *                                    payload type PT both ways, sending
 *                                    PTIME ms packets to 127.0.0.1:PEER;
 *                                    LEVEL_ID: the extmap id of the RFC
 *                                    6464 audio levels it sends (0 or
 *                                    absent: none):
 *                                    {"rc", "pid", "port", "lcore"}
 *   set P MUTED DEAF GAIN_DB         mx_room_set: {"rc"}
 *   whisper P [LISTENER...]          only the listeners hear P; none named:
 *                                    everyone again: {"rc"}
 *   stats P                          the participant's counters
 *   events ROOM                      talker events so far: {"events": [[P, start], ...]}
 *   leave P                          {"rc"}
 *   quit                             stop (also at end of input), exit 0
 * Prints "READY" first, once the workers run (harness_main.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"
#include "harness_main.h"

#define MAX_ROOMS 4
#define MAX_PARTS 32

static struct hroom {
	char name[32];
	struct dp_call *home;
	struct mx_room *r;
} rooms[MAX_ROOMS];

static struct hpart {
	char name[32];
	struct hroom *room;
	struct dp_call *c;
	struct dp_leg *leg;
	int pid;
} parts[MAX_PARTS];

static struct hroom *find_room(const char *n)
{
	for (int i = 0; i < MAX_ROOMS; i++)
		if (rooms[i].r && !strcmp(rooms[i].name, n))
			return &rooms[i];
	return NULL;
}

static struct hpart *find_part(const char *n)
{
	for (int i = 0; i < MAX_PARTS; i++)
		if (parts[i].c && !strcmp(parts[i].name, n))
			return &parts[i];
	return NULL;
}

static int new_room(const char *name, int rate, int talkers, int limit)
{
	struct mx_room_conf rc = { .mix = { .rate = (uint32_t)rate, .frame_ms = 20, .max_talkers = (unsigned)talkers,
					    .max_parts = MAX_PARTS, .limit = limit != 0 } };
	struct hroom *h = NULL;
	char id[48];
	int err = 0;

	for (int i = 0; i < MAX_ROOMS && !h; i++)
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
		return err;
	}
	printf("{\"rc\": 0, \"lcore\": %u}\n", dp_call_lcore(h->home));
	return 0;
}

static int join(struct hroom *h, const char *name, const char *rtpmap, int pt, int ptime, int peer, int level_id)
{
	struct mx_room_part_conf pc = { .in = { .in_pt = (uint8_t)pt, .in_te_pt = -1, .in_cn_pt = -1,
						.dtmf = CDC_DTMF_DROP },
					.out = { .out_pt = (uint8_t)pt, .out_ptime = (unsigned)ptime, .out_te_pt = -1,
						 .out_cn_pt = -1 },
					.level_ext_id = (uint8_t)level_id };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)peer) };
	struct dp_leg_local loc;
	struct hpart *p = NULL;
	int err = 0;

	for (int i = 0; i < MAX_PARTS && !p; i++)
		if (!parts[i].c)
			p = &parts[i];
	if (!p || find_part(name))
		return -EEXIST;
	if (level_id < 0 || level_id > 255)
		return -EINVAL;
	if (cdc_format_parse(rtpmap, NULL, &pc.in.in) || cdc_format_parse(rtpmap, NULL, &pc.out.out))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (!(p->c = dp_call_create_in(name, h->name)))
		return -ENOMEM;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (!(p->leg = dp_leg_create(p->c, NULL, DP_LEG_ASYMMETRIC, &err)) ||
	    (err = dp_leg_set_remote(p->leg, (struct sockaddr *)&sa, NULL)) ||
	    (err = dp_leg_set_clock(p->leg, pc.in.in.clock_rate)) ||
	    (p->pid = mx_room_join(h->r, p->leg, &pc, &err)) < 0) {
		dp_call_destroy(p->c);
		p->c = NULL;
		return err ? err : -EINVAL;
	}
	p->room = h;
	dp_leg_local(p->leg, &loc);
	printf("{\"rc\": 0, \"pid\": %d, \"port\": %u, \"lcore\": %u}\n", p->pid, loc.rtp_port, dp_call_lcore(p->c));
	return 0;
}

static void stats(struct hpart *p)
{
	struct mx_room_part_stats s;
	int rc = mx_room_get_stats(p->room->r, p->pid, &s);

	if (rc) {
		printf("{\"rc\": %d}\n", rc);
		return;
	}
	printf("{\"rc\": 0, \"received\": %llu, \"played\": %llu, \"lost\": %llu, \"late\": %llu, "
	       "\"concealed_ms\": %llu, \"clock_fills\": %llu, \"frames_in\": %llu, \"frames_absent\": %llu, "
	       "\"dropped_samples\": %llu, \"sent\": %llu, \"talker\": %s, \"level\": %d, \"ticks\": %llu, "
	       "\"grouped\": %s, \"frames_shared\": %llu, \"primes\": %llu, \"frames_level\": %llu, "
	       "\"frames_quiet\": %llu, \"level_packets\": %llu, \"level_malformed\": %llu, "
	       "\"level_skipped\": %llu, \"level_resumes\": %llu, \"level_warm_decoded\": %llu, "
	       "\"in_packets\": %llu}\n",
	       (unsigned long long)s.in.jb.received, (unsigned long long)s.in.jb.played,
	       (unsigned long long)s.in.jb.lost, (unsigned long long)s.in.jb.late,
	       (unsigned long long)s.in.src.concealed_ms, (unsigned long long)s.in.clock_fills,
	       (unsigned long long)s.frames_in, (unsigned long long)s.frames_absent,
	       (unsigned long long)s.dropped_samples, (unsigned long long)s.out.sent, s.talker ? "true" : "false",
	       s.level, (unsigned long long)mx_room_ticks(p->room->r), s.grouped ? "true" : "false",
	       (unsigned long long)s.frames_shared, (unsigned long long)s.primes,
	       (unsigned long long)s.frames_level, (unsigned long long)s.frames_quiet,
	       (unsigned long long)s.in.level_packets, (unsigned long long)s.in.level_malformed,
	       (unsigned long long)s.in.level_skipped, (unsigned long long)s.in.level_resumes,
	       (unsigned long long)s.in.level_warm_decoded, (unsigned long long)s.in.src.in_packets);
}

static const char *part_name(struct hroom *h, int pid)
{
	for (int i = 0; i < MAX_PARTS; i++) /* those that left too: their last events come after */
		if (parts[i].room == h && parts[i].pid == pid)
			return parts[i].name;
	return "?";
}

static int command(char *line)
{
	char *argv[40] = { 0 }, *save = NULL;
	int argc = 0, rc;
	struct hroom *h;
	struct hpart *p;

	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 40; tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return 0;
	if (!strcmp(argv[0], "quit"))
		return 1;
	if (!strcmp(argv[0], "room") && argc == 5) {
		if ((rc = new_room(argv[1], atoi(argv[2]), atoi(argv[3]), atoi(argv[4]))))
			printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "join") && (argc == 7 || argc == 8)) {
		if (!(h = find_room(argv[1])))
			printf("{\"rc\": %d}\n", -ENOENT);
		else if ((rc = join(h, argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
				    argc == 8 ? atoi(argv[7]) : 0)))
			printf("{\"rc\": %d}\n", rc);
	} else if (!strcmp(argv[0], "events") && argc == 2) {
		struct mx_mixer_event e;

		if (!(h = find_room(argv[1]))) {
			printf("{\"rc\": %d}\n", -ENOENT);
			return 0;
		}
		printf("{\"rc\": 0, \"events\": [");
		for (int n = 0; mx_room_next_event(h->r, &e); n++)
			printf("%s[\"%s\", %s]", n ? ", " : "", part_name(h, e.id), e.start ? "true" : "false");
		printf("]}\n");
	} else if (argc < 2 || !(p = find_part(argv[1]))) {
		printf("{\"rc\": %d}\n", -ENOENT);
	} else if (!strcmp(argv[0], "set") && argc == 5) {
		struct mx_mixer_part_opts o = { .muted = atoi(argv[2]) != 0, .deaf = atoi(argv[3]) != 0,
						.gain = (int32_t)lrint(MX_GAIN_UNITY * pow(10.0, atof(argv[4]) / 20.0)) };

		printf("{\"rc\": %d}\n", mx_room_set(p->room->r, p->pid, &o));
	} else if (!strcmp(argv[0], "whisper")) {
		int l[38], n = 0;

		for (int i = 2; i < argc; i++) {
			struct hpart *q = find_part(argv[i]);

			l[n++] = q ? q->pid : 9999;
		}
		printf("{\"rc\": %d}\n", mx_room_set_audience(p->room->r, p->pid, l, n ? n : -1));
	} else if (!strcmp(argv[0], "stats")) {
		stats(p);
	} else if (!strcmp(argv[0], "leave")) {
		rc = mx_room_leave(p->room->r, p->pid);
		if (!rc) {
			dp_call_destroy(p->c);
			p->c = NULL;
		}
		printf("{\"rc\": %d}\n", rc);
	} else {
		printf("{\"rc\": %d}\n", -EINVAL);
	}
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < MAX_ROOMS; i++)
		if (rooms[i].r)
			mx_room_destroy(rooms[i].r); /* unhooks every leg, stops the ticker */
	for (int i = 0; i < MAX_PARTS; i++)
		if (parts[i].c)
			dp_call_destroy(parts[i].c);
	for (int i = 0; i < MAX_ROOMS; i++)
		if (rooms[i].home)
			dp_call_destroy(rooms[i].home);
}

int main(int argc, char **argv)
{
	return harness_main(argc, argv, "room_harness", false, command, cleanup);
}
