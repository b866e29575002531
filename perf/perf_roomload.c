/* SPDX-License-Identifier: MIT
 * perf_roomload: the load generator of perf/bench_janus.py. It plays N
 * plain-RTP conference participants over kernel UDP on 127.0.0.1, the same
 * way against any server: each participant is one socket with its own
 * port, which it sends from and receives on (Janus's plain-RTP sockets are
 * connected to it, so the source port matters).
 *
 *   perf_roomload --rtpmap RTPMAP --pt PT --parts N [--talkers T] [--room-size S]
 *                 [--levels ID]
 *                 [--warm S] [--window S] [--slots K]
 *
 * 1. Binds N sockets, prints "PORTS p1 ... pN" and reads one line
 *    "PEERS s1 ... sN" from stdin: the server's port for each participant.
 * 2. Every 20 ms each participant sends one packet: a second of audio
 *    pre-encoded with codecs/ (cdc_sink, 16 kHz mono PCM in) replayed
 *    with its own SSRC, sequence and timestamps. The first T participants
 *    of each room (participants S*k .. S*k+S-1 are room k; S defaults to
 *    N, one room) send tones (300, 500, 700 Hz..., -18 dBov RMS), the others low noise
 *    (uniform, RMS about -63 dBov: encoded near-silence, packets never absent).
 *    With --levels each packet carries its RFC 6464 audio level in an
 *    RFC 8285 one-byte header extension of that id, as WebRTC clients send
 *    it: each frame's level from the PCM encoded, V set on the tones.
 *    The 20 ms are cut into K slots (default 10, 2 ms each) on an absolute
 *    timerfd; slot k sends the participants i with i % K == k, so the
 *    packets are spread as independent phones' would be. A slot the
 *    generator wakes up too late for (by 2 ms or more) is skipped and
 *    counted (overruns): its packets are lost, not sent in a burst.
 * 3. Everything the server sends back is received (epoll, recvmmsg) and
 *    counted per participant.
 * After --warm seconds it prints "WINDOW START", after --window more
 * "WINDOW END" and then "RESULT {json}": packets received per participant
 * in the window (min, median, max; expected 50 a second), payload bytes,
 * packets sent, and the generator's own steadiness: each slot's lateness
 * (timer expiry to first send), how long its sends took, overruns, and
 * its CPU time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cdc.h"
#include "perf_level.h"

#define RATE 16000
#define FRAME 320
#define SECOND 50
#define MAX_PARTS 2000
#define MAX_LAT 1000000

struct part {
	int fd;
	uint16_t port;
	struct sockaddr_in peer;
	uint32_t ssrc, ts0;
	uint16_t seq0;
	const uint8_t (*pkt)[CDC_PKT_MAX];
	const uint16_t *len;
	const uint8_t *level;
	uint64_t rx, rx_bytes;
};

static struct part parts[MAX_PARTS];
static uint8_t enc_pkt[8][SECOND][CDC_PKT_MAX]; /* [0] noise, [1..] tones */
static uint16_t enc_len[8][SECOND];
static uint8_t enc_level[8][SECOND]; /* RFC 6464: -dBov of each frame, 0..127 */
static uint32_t lat_ns[MAX_LAT], dur_ns[MAX_LAT];

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void encode(const char *rtpmap, int pt, int talkers)
{
	struct cdc_sink_conf kc = { .out_pt = (uint8_t)pt, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = RATE, .in_channels = 1 };
	static struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	int16_t pcm[FRAME];
	uint32_t rnd = 12345;

	if (cdc_format_parse(rtpmap, NULL, &kc.out)) {
		fprintf(stderr, "perf_roomload: bad rtpmap %s\n", rtpmap);
		exit(2);
	}
	for (int s = 0; s <= talkers && s < 8; s++) {
		struct cdc_sink *k = cdc_sink_create(&kc);

		if (!k) {
			fprintf(stderr, "perf_roomload: no encoder for %s\n", rtpmap);
			exit(2);
		}
		for (int f = 0; f < SECOND; f++) {
			int n;

			for (int j = 0; j < FRAME; j++) {
				if (s == 0) { /* uniform noise, +-40: RMS 23, about -63 dBov */
					rnd = rnd * 1103515245u + 12345u;
					pcm[j] = (int16_t)((int)((rnd >> 16) % 81) - 40);
				} else {
					pcm[j] = (int16_t)(5800 * sin(2 * M_PI * (100 + 200 * s) * (f * FRAME + j) / RATE));
				}
			}
			enc_level[s][f] = perf_level(pcm, FRAME);
			n = cdc_sink_write(k, pcm, FRAME, out, 0);
			if (n != 1) {
				fprintf(stderr, "perf_roomload: encoder gave %d packets for a frame\n", n);
				exit(2);
			}
			memcpy(enc_pkt[s][f], out[0].payload, out[0].len);
			enc_len[s][f] = out[0].len;
		}
		cdc_sink_destroy(k);
	}
}

int main(int argc, char **argv)
{
	const char *rtpmap = "PCMU/8000";
	int pt = 0, n = 0, talkers = 3, slots = 10, room = 0, level_id = 0, ep, tfd;
	double warm = 3, window = 10;
	struct cdc_format fmt;
	uint32_t ts_step;
	static char line[MAX_PARTS * 8 + 64];
	struct itimerspec its = { 0 };
	uint64_t t0, slot_ns, nslot = 0, sent = 0, sent_window = 0, overruns = 0;
	size_t nlat = 0;
	double cpu0 = 0, cpu1 = 0;
	int phase = 0; /* 0 warm-up, 1 window, 2 done */
	uint64_t win_start = 0, win_end = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rtpmap"))
			rtpmap = argv[i + 1];
		else if (!strcmp(argv[i], "--pt"))
			pt = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--parts"))
			n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--talkers"))
			talkers = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--room-size"))
			room = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--levels"))
			level_id = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--warm"))
			warm = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--window"))
			window = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--slots"))
			slots = atoi(argv[i + 1]);
	}
	if (!room)
		room = n;
	if (n < 1 || n > MAX_PARTS || talkers < 0 || talkers > 7 || slots < 1 || slots > 20 || room < 1 ||
	    level_id < 0 || level_id > 14) {
		fprintf(stderr, "usage: perf_roomload --rtpmap RTPMAP --pt PT --parts N [--talkers T<=7] [--room-size S] [--levels ID<=14] [--warm S] "
				"[--window S] [--slots K<=20]\n");
		return 2;
	}
	cdc_format_parse(rtpmap, NULL, &fmt);
	ts_step = fmt.clock_rate / SECOND;
	encode(rtpmap, pt, talkers);

	if ((ep = epoll_create1(0)) < 0)
		return perror("epoll_create1"), 1;
	printf("PORTS");
	for (int i = 0; i < n; i++) {
		struct part *p = &parts[i];
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t al = sizeof(a);
		int buf = 1 << 20;

		if ((p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
		    bind(p->fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(p->fd, (struct sockaddr *)&a, &al))
			return perror("socket"), 1;
		setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		p->port = ntohs(a.sin_port);
		p->ssrc = 0x4d450000u + (uint32_t)i;
		p->seq0 = (uint16_t)(i * 7919);
		p->ts0 = (uint32_t)i * 104729u;
		p->pkt = enc_pkt[i % room < talkers ? i % room + 1 : 0];
		p->len = enc_len[i % room < talkers ? i % room + 1 : 0];
		p->level = enc_level[i % room < talkers ? i % room + 1 : 0];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd,
			      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)i }))
			return perror("epoll_ctl"), 1;
		printf(" %u", p->port);
	}
	printf("\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || strncmp(line, "PEERS", 5)) {
		fprintf(stderr, "perf_roomload: expected a PEERS line\n");
		return 2;
	}
	{
		char *save = NULL, *tok = strtok_r(line + 5, " \n", &save);

		for (int i = 0; i < n; i++, tok = strtok_r(NULL, " \n", &save)) {
			if (!tok) {
				fprintf(stderr, "perf_roomload: %d peers for %d participants\n", i, n);
				return 2;
			}
			parts[i].peer = (struct sockaddr_in){ .sin_family = AF_INET,
							      .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
							      .sin_port = htons((uint16_t)atoi(tok)) };
		}
	}

	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) < 0)
		return perror("timerfd_create"), 1;
	slot_ns = 20000000ull / (uint64_t)slots;
	t0 = (now_ns() / 20000000ull + 2) * 20000000ull; /* on the 20 ms grid */
	its.it_value.tv_sec = (time_t)(t0 / 1000000000ull);
	its.it_value.tv_nsec = (long)(t0 % 1000000000ull);
	its.it_interval.tv_nsec = (long)slot_ns;
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = UINT32_MAX }))
		return perror("timerfd"), 1;
	win_start = t0 + (uint64_t)(warm * 1e9);
	win_end = win_start + (uint64_t)(window * 1e9);

	while (phase < 2) {
		struct epoll_event ev[64];
		int ne = epoll_wait(ep, ev, 64, -1);

		for (int e = 0; e < ne; e++) {
			uint32_t id = ev[e].data.u32;

			if (id == UINT32_MAX) {
				uint64_t exp = 0, t, now = now_ns(), sched;

				if (read(tfd, &exp, sizeof(exp)) != sizeof(exp) || !exp)
					continue;
				/* slots merged by a late wake-up are skipped, not sent in a
				 * burst: their packets are lost for the server (counted) */
				overruns += exp - 1;
				nslot += exp - 1;
				sched = t0 + nslot * slot_ns;
				{
					uint64_t s = nslot, tick = s / (uint64_t)slots;

					for (int i = (int)(s % (uint64_t)slots); i < n; i += slots) {
						struct part *p = &parts[i];
						uint8_t pkt[20 + CDC_PKT_MAX];
						unsigned h = 12;
						unsigned f = (unsigned)(tick % SECOND);
						uint16_t seq = (uint16_t)(p->seq0 + tick);
						uint32_t ts = p->ts0 + (uint32_t)tick * ts_step;

						pkt[0] = 0x80;
						pkt[1] = (uint8_t)(pt | (tick == 0 ? 0x80 : 0));
						pkt[2] = (uint8_t)(seq >> 8);
						pkt[3] = (uint8_t)seq;
						pkt[4] = (uint8_t)(ts >> 24);
						pkt[5] = (uint8_t)(ts >> 16);
						pkt[6] = (uint8_t)(ts >> 8);
						pkt[7] = (uint8_t)ts;
						pkt[8] = (uint8_t)(p->ssrc >> 24);
						pkt[9] = (uint8_t)(p->ssrc >> 16);
						pkt[10] = (uint8_t)(p->ssrc >> 8);
						pkt[11] = (uint8_t)p->ssrc;
						if (level_id) /* V on the tones */
							h = perf_put_level_ext(pkt, (unsigned)level_id, p->level[f],
									       p->pkt != enc_pkt[0]);
						memcpy(pkt + h, p->pkt[f], p->len[f]);
						if (sendto(p->fd, pkt, h + p->len[f], 0, (struct sockaddr *)&p->peer,
							   sizeof(p->peer)) > 0) {
							sent++;
							if (phase == 1)
								sent_window++;
						}
					}
				}
				t = now_ns();
				if (phase == 1 && nlat < MAX_LAT) {
					lat_ns[nlat] = (uint32_t)(now > sched ? now - sched : 0);
					dur_ns[nlat++] = (uint32_t)(t - now);
				}
				nslot++;
				if (phase == 0 && sched >= win_start) {
					phase = 1;
					cpu0 = cpu_s();
					for (int i = 0; i < n; i++)
						parts[i].rx = parts[i].rx_bytes = 0;
					printf("WINDOW START\n");
					fflush(stdout);
				} else if (phase == 1 && sched >= win_end) {
					phase = 2;
					cpu1 = cpu_s();
					printf("WINDOW END\n");
					fflush(stdout);
				}
			} else {
				struct part *p = &parts[id];
				struct mmsghdr mm[16];
				struct iovec iov[16];
				static uint8_t buf[16][1500];
				int r;

				for (int k = 0; k < 16; k++) {
					iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
					mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
				}
				while ((r = recvmmsg(p->fd, mm, 16, MSG_DONTWAIT, NULL)) > 0) {
					p->rx += (uint64_t)r;
					for (int k = 0; k < r; k++)
						p->rx_bytes += mm[k].msg_len > 12 ? mm[k].msg_len - 12 : 0;
					if (r < 16)
						break;
				}
			}
		}
	}

	{
		static uint64_t rx[MAX_PARTS];
		uint64_t tot = 0, bytes = 0, zero = 0;
		double secs = (double)(win_end - win_start) / 1e9;

		for (int i = 0; i < n; i++) {
			rx[i] = parts[i].rx;
			tot += rx[i];
			bytes += parts[i].rx_bytes;
			zero += rx[i] == 0;
		}
		qsort(rx, (size_t)n, sizeof(rx[0]), cmp_u64);
		qsort(lat_ns, nlat, sizeof(lat_ns[0]), cmp_u32);
		qsort(dur_ns, nlat, sizeof(dur_ns[0]), cmp_u32);
		printf("RESULT {\"parts\": %d, \"window_s\": %.3f, \"expected_per_part\": %.0f, "
		       "\"rx_min\": %llu, \"rx_median\": %llu, \"rx_max\": %llu, \"rx_total\": %llu, \"rx_none\": %llu, "
		       "\"rx_payload_mean\": %.1f, \"sent_window\": %llu, \"sent_total\": %llu, "
		       "\"slot_late_p50_us\": %.1f, \"slot_late_p99_us\": %.1f, \"slot_late_max_us\": %.1f, "
		       "\"slot_send_p50_us\": %.1f, \"slot_send_max_us\": %.1f, \"overruns\": %llu, "
		       "\"gen_cpu_cores\": %.4f, \"tx_payload_talker\": %u, \"tx_payload_silent\": %u}\n",
		       n, secs, secs * SECOND, (unsigned long long)rx[0], (unsigned long long)rx[n / 2],
		       (unsigned long long)rx[n - 1], (unsigned long long)tot, (unsigned long long)zero,
		       tot ? (double)bytes / (double)tot : 0.0, (unsigned long long)sent_window,
		       (unsigned long long)sent, nlat ? lat_ns[nlat / 2] / 1e3 : 0, nlat ? lat_ns[nlat * 99 / 100] / 1e3 : 0,
		       nlat ? lat_ns[nlat - 1] / 1e3 : 0, nlat ? dur_ns[nlat / 2] / 1e3 : 0,
		       nlat ? dur_ns[nlat - 1] / 1e3 : 0, (unsigned long long)overruns, (cpu1 - cpu0) / secs,
		       talkers ? enc_len[1][10] : 0, enc_len[0][10]);
		fflush(stdout);
	}
	return 0;
}
