/* SPDX-License-Identifier: MIT
 * perf_udpload: the load generator of perf/bench_udp.py. It plays N calls'
 * two RTP endpoints over kernel UDP, the same way against any relay (medius
 * or rtpengine): each endpoint is one socket with its own port, which it
 * sends from and receives on (both servers latch to the source).
 *
 *   perf_udpload --calls N [--bind ADDR] [--server ADDR]
 *                [--a-rtpmap RTPMAP --a-pt PT] [--b-rtpmap RTPMAP --b-pt PT]
 *                [--b-srtp] [--srtp-engine E] [--warm S] [--window S] [--slots K]
 *
 * A is the offerer's endpoint, B the answerer's. Defaults: both PCMU/8000
 * (pt 0: 172-byte RTP), ADDR and the server 127.0.0.1.
 *
 * 1. Binds 2N sockets on ADDR, prints "PORTS a0 b0 a1 b1 ...", then reads
 *    one line per call from stdin, "CALL i PA PB [BTX BRX]": the server's
 *    ports A and B send to, and with --b-srtp B's SRTP master keys in hex
 *    (30 bytes, AES_CM_128_HMAC_SHA1_80): BTX the one B protects with (the
 *    key of its answer's a=crypto), BRX the one the server protects what
 *    B receives with (the offer's). Then a line "GO".
 * 2. Every 20 ms each endpoint sends one packet: a second of a tone
 *    pre-encoded with codecs/ (cdc_sink) replayed with its own SSRC,
 *    sequence and timestamps; with --b-srtp B's go out SRTP-protected
 *    through dataplane/'s dp_srtp on engine E (default openssl: OpenSSL's
 *    AES and SHA-1 under medius's protocol code, where mediusd runs
 *    intel-ipsec-mb; libsrtp is one too, but Debian's, on NSS, costs
 *    ~100 us a packet at 1,000 streams and cannot keep up). rtpengine
 *    checks this generator: its SRTP must pass the same unprotect. The 20 ms are cut
 *    into K slots (default 10) on an absolute timerfd; slot k sends calls
 *    i % K == k, A and B. A slot the generator wakes up for 2 ms late or
 *    more is skipped and counted (overruns), not sent in a burst.
 * 3. Everything the server sends is received (epoll, recvmmsg) and counted
 *    per endpoint; RTCP (payload type 200-204 with rtcp-mux) apart. With
 *    --b-srtp each packet B receives is unprotected with BRX: authenticated
 *    and replay-checked, counted as srtp_ok or srtp_fail. The server's
 *    transit of each packet that comes back with the sequence number its
 *    sender sent last: from just before the sendto to the kernel's receive
 *    stamp (SO_TIMESTAMPNS), both CLOCK_REALTIME: p50, p99 and max.
 * After --warm seconds it prints "WINDOW START", after --window more
 * "WINDOW END", then "RESULT {json}": packets each direction sent and
 * received in the window (a_rx: what A got, i.e. B -> A relayed), the
 * least any endpoint got, payload sizes, SRTP checks, and the generator's
 * steadiness (slot lateness, overruns, its CPU).
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
#include "dp_srtp.h"

#define RATE 16000
#define FRAME 320
#define SECOND 50
#define MAX_CALLS 5000
#define MAX_LAT 1000000
#define KEY_LEN 30
#define ROOM (12 + CDC_PKT_MAX + DP_SRTP_MAX_RTP_TRAILER)

struct ep {
	int fd;
	uint16_t port;
	struct sockaddr_in peer;
	uint32_t ssrc, ts0;
	uint16_t seq0;
	struct dp_srtp *tx, *rx; /* B with --b-srtp */
	uint64_t rx_pkts, rx_bytes, rtcp;
	uint64_t tx_ns; /* CLOCK_REALTIME just before its last packet's sendto */
	uint16_t tx_seq; /* that packet's sequence number */
};

struct side {
	const char *rtpmap;
	int pt;
	uint32_t ts_step;
	uint8_t pkt[SECOND][CDC_PKT_MAX];
	uint16_t len[SECOND];
};

static struct ep eps[2 * MAX_CALLS]; /* call i: A at 2i, B at 2i + 1 */
static struct side sides[2];
static uint32_t lat_ns[MAX_LAT];
static uint32_t transit_ns[MAX_LAT]; /* the server's transit: A's sendto to B's socket, kernel stamps */
static size_t ntransit;
static uint64_t srtp_ok, srtp_fail;

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

/* one second of a tone (freq Hz, -18 dBov RMS) in the side's codec */
static void encode(struct side *s, double freq)
{
	struct cdc_sink_conf kc = { .out_pt = (uint8_t)s->pt, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = RATE, .in_channels = 1 };
	static struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	struct cdc_sink *k;
	int16_t pcm[FRAME];

	if (cdc_format_parse(s->rtpmap, NULL, &kc.out) || !(k = cdc_sink_create(&kc))) {
		fprintf(stderr, "perf_udpload: no encoder for %s\n", s->rtpmap);
		exit(2);
	}
	s->ts_step = kc.out.clock_rate / SECOND;
	for (int f = 0; f < SECOND; f++) {
		for (int j = 0; j < FRAME; j++)
			pcm[j] = (int16_t)(5800 * sin(2 * M_PI * freq * (f * FRAME + j) / RATE));
		if (cdc_sink_write(k, pcm, FRAME, out, 0) != 1) {
			fprintf(stderr, "perf_udpload: the encoder did not give one packet a frame\n");
			exit(2);
		}
		memcpy(s->pkt[f], out[0].payload, out[0].len);
		s->len[f] = out[0].len;
	}
	cdc_sink_destroy(k);
}

static int hexkey(const char *h, uint8_t *k)
{
	if (!h || strlen(h) != 2 * KEY_LEN)
		return -1;
	for (int i = 0; i < KEY_LEN; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		k[i] = (uint8_t)v;
	}
	return 0;
}

static enum dp_srtp_engine srtp_engine = DP_SRTP_ENGINE_OPENSSL;

static int srtp_session(struct dp_srtp **s, const char *hex, int outbound)
{
	uint8_t key[KEY_LEN];
	struct dp_srtp_params p = { .engine = srtp_engine, .suite = DP_SRTP_AES_CM_128_HMAC_SHA1_80,
				    .key_salt = key, .key_salt_len = KEY_LEN,
				    .dir = outbound ? DP_SRTP_PROTECT : DP_SRTP_UNPROTECT, .replay_window = 1024 };

	if (hexkey(hex, key))
		return -1;
	*s = dp_srtp_create_ex(&p);
	return *s ? 0 : -1;
}

static void send_one(struct ep *e, const struct side *s, uint64_t tick, bool srtp, uint64_t *sent)
{
	uint8_t pkt[ROOM] __attribute__((aligned(4)));
	unsigned f = (unsigned)(tick % SECOND);
	uint16_t seq = (uint16_t)(e->seq0 + tick);
	uint32_t ts = e->ts0 + (uint32_t)tick * s->ts_step;
	int len = 12 + s->len[f];

	pkt[0] = 0x80;
	pkt[1] = (uint8_t)(s->pt | (tick == 0 ? 0x80 : 0));
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	pkt[4] = (uint8_t)(ts >> 24);
	pkt[5] = (uint8_t)(ts >> 16);
	pkt[6] = (uint8_t)(ts >> 8);
	pkt[7] = (uint8_t)ts;
	pkt[8] = (uint8_t)(e->ssrc >> 24);
	pkt[9] = (uint8_t)(e->ssrc >> 16);
	pkt[10] = (uint8_t)(e->ssrc >> 8);
	pkt[11] = (uint8_t)e->ssrc;
	memcpy(pkt + 12, s->pkt[f], s->len[f]);
	if (srtp) {
		uint8_t *const pp[1] = { pkt };
		uint16_t l = (uint16_t)len;
		int16_t rc;

		if (dp_srtp_protect_burst(e->tx, pp, &l, ROOM, &rc, 1) != 1)
			return;
		len = l;
	}
	{
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t); /* the clock of SO_TIMESTAMPNS */
		e->tx_ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		e->tx_seq = seq;
	}
	if (sendto(e->fd, pkt, (size_t)len, 0, (struct sockaddr *)&e->peer, sizeof(e->peer)) > 0)
		(*sent)++;
}

int main(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1", *server = "127.0.0.1";
	int n = 0, slots = 10, ep, tfd, b_srtp = 0;
	double warm = 3, window = 10;
	static char line[512];
	struct itimerspec its = { 0 };
	struct in_addr bind_in, server_in;
	struct rlimit rl;
	uint64_t t0, slot_ns, nslot = 0, overruns = 0, sent[2] = { 0 }, sent_win[2] = { 0 };
	size_t nlat = 0;
	double cpu0 = 0, cpu1 = 0;
	int phase = 0; /* 0 warm-up, 1 window, 2 done */
	uint64_t win_start, win_end;

	sides[0] = (struct side){ .rtpmap = "PCMU/8000", .pt = 0 };
	sides[1] = (struct side){ .rtpmap = "PCMU/8000", .pt = 0 };
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--b-srtp")) {
			b_srtp = 1;
			continue;
		}
		if (!v)
			break;
		i++;
		if (!strcmp(argv[i - 1], "--calls"))
			n = atoi(v);
		else if (!strcmp(argv[i - 1], "--srtp-engine")) {
			if (dp_srtp_engine_parse(v, &srtp_engine) || srtp_engine == DP_SRTP_ENGINE_AUTO ||
			    !dp_srtp_engine_available(srtp_engine)) {
				fprintf(stderr, "perf_udpload: SRTP engine '%s' unknown or not available here\n", v);
				return 2;
			}
		}
		else if (!strcmp(argv[i - 1], "--bind"))
			bind_addr = v;
		else if (!strcmp(argv[i - 1], "--server"))
			server = v;
		else if (!strcmp(argv[i - 1], "--a-rtpmap"))
			sides[0].rtpmap = v;
		else if (!strcmp(argv[i - 1], "--a-pt"))
			sides[0].pt = atoi(v);
		else if (!strcmp(argv[i - 1], "--b-rtpmap"))
			sides[1].rtpmap = v;
		else if (!strcmp(argv[i - 1], "--b-pt"))
			sides[1].pt = atoi(v);
		else if (!strcmp(argv[i - 1], "--warm"))
			warm = atof(v);
		else if (!strcmp(argv[i - 1], "--window"))
			window = atof(v);
		else if (!strcmp(argv[i - 1], "--slots"))
			slots = atoi(v);
		else
			n = -1;
	}
	if (n < 1 || n > MAX_CALLS || slots < 1 || slots > 20 || !inet_aton(bind_addr, &bind_in) ||
	    !inet_aton(server, &server_in)) {
		fprintf(stderr, "usage: perf_udpload --calls N<=%d [--bind ADDR] [--server ADDR] [--a-rtpmap R --a-pt PT] "
				"[--b-rtpmap R --b-pt PT] [--b-srtp] [--srtp-engine ipsec-mb|openssl|libsrtp] [--warm S] [--window S] [--slots K<=20]\n",
			MAX_CALLS);
		return 2;
	}
	/* 2N sockets: as many files as the hard limit allows */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (b_srtp)
		dp_srtp_thread_prepare();
	encode(&sides[0], 500);
	encode(&sides[1], 700);

	if ((ep = epoll_create1(0)) < 0)
		return perror("epoll_create1"), 1;
	printf("PORTS");
	for (int i = 0; i < 2 * n; i++) {
		struct ep *e = &eps[i];
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = bind_in };
		socklen_t al = sizeof(a);
		int buf = 1 << 18;

		if ((e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
		    bind(e->fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(e->fd, (struct sockaddr *)&a, &al))
			return perror("socket"), 1;
		setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(e->fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int));
		e->port = ntohs(a.sin_port);
		e->ssrc = 0x55440000u + (uint32_t)i;
		e->seq0 = (uint16_t)(i * 7919);
		e->ts0 = (uint32_t)i * 104729u;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)i }))
			return perror("epoll_ctl"), 1;
		printf(" %u", e->port);
	}
	printf("\n");
	fflush(stdout);
	for (int got = 0;;) {
		char *save = NULL, *w[6];
		int nw = 0, i;

		if (!fgets(line, sizeof(line), stdin)) {
			fprintf(stderr, "perf_udpload: stdin ended before GO\n");
			return 2;
		}
		if (!strncmp(line, "GO", 2)) {
			if (got != n)
				return fprintf(stderr, "perf_udpload: %d of %d calls given\n", got, n), 2;
			break;
		}
		for (char *t = strtok_r(line, " \n", &save); t && nw < 6; t = strtok_r(NULL, " \n", &save))
			w[nw++] = t;
		if (nw < 4 || strcmp(w[0], "CALL") || (i = atoi(w[1])) < 0 || i >= n || (b_srtp && nw < 6)) {
			fprintf(stderr, "perf_udpload: bad line %s\n", line);
			return 2;
		}
		for (int s = 0; s < 2; s++)
			eps[2 * i + s].peer = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = server_in,
								    .sin_port = htons((uint16_t)atoi(w[2 + s])) };
		if (b_srtp && (srtp_session(&eps[2 * i + 1].tx, w[4], 1) || srtp_session(&eps[2 * i + 1].rx, w[5], 0))) {
			fprintf(stderr, "perf_udpload: bad SRTP keys for call %d\n", i);
			return 2;
		}
		got++;
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
		struct epoll_event ev[128];
		int ne = epoll_wait(ep, ev, 128, -1);

		for (int e = 0; e < ne; e++) {
			uint32_t id = ev[e].data.u32;

			if (id == UINT32_MAX) {
				uint64_t exp = 0, now = now_ns(), sched, tick;

				if (read(tfd, &exp, sizeof(exp)) != sizeof(exp) || !exp)
					continue;
				/* slots merged by a late wake-up are skipped, not sent in a
				 * burst: their packets are lost for the server (counted) */
				overruns += exp - 1;
				nslot += exp - 1;
				sched = t0 + nslot * slot_ns;
				tick = nslot / (uint64_t)slots;
				for (int i = (int)(nslot % (uint64_t)slots); i < n; i += slots)
					for (int s = 0; s < 2; s++) {
						uint64_t before = sent[s];

						send_one(&eps[2 * i + s], &sides[s], tick, s == 1 && b_srtp, &sent[s]);
						if (phase == 1)
							sent_win[s] += sent[s] - before;
					}
				if (phase == 1 && nlat < MAX_LAT)
					lat_ns[nlat++] = (uint32_t)(now > sched ? now - sched : 0);
				nslot++;
				if (phase == 0 && sched >= win_start) {
					phase = 1;
					cpu0 = cpu_s();
					for (int i = 0; i < 2 * n; i++)
						eps[i].rx_pkts = eps[i].rx_bytes = eps[i].rtcp = 0;
					srtp_ok = srtp_fail = 0;
					printf("WINDOW START\n");
					fflush(stdout);
				} else if (phase == 1 && sched >= win_end) {
					phase = 2;
					cpu1 = cpu_s();
					printf("WINDOW END\n");
					fflush(stdout);
				}
			} else {
				struct ep *p = &eps[id];
				const struct ep *from = &eps[id ^ 1u]; /* the call's other end sent it */
				struct mmsghdr mm[16];
				struct iovec iov[16];
				static uint8_t buf[16][1500] __attribute__((aligned(4)));
				static uint64_t cbuf[16][8];
				int r;

				for (int k = 0; k < 16; k++) {
					iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
					mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1,
									      .msg_control = cbuf[k],
									      .msg_controllen = sizeof(cbuf[k]) } };
				}
				while ((r = recvmmsg(p->fd, mm, 16, MSG_DONTWAIT, NULL)) > 0) {
					for (int k = 0; k < r; k++) {
						int len = (int)mm[k].msg_len;

						if (len >= 2 && buf[k][1] >= 200 && buf[k][1] <= 204) {
							p->rtcp++;
							continue;
						}
						if (len < 12)
							continue;
						p->rx_pkts++;
						/* transit: the packet the other end sent last, come back
						 * (both servers keep the sequence number on a relay) */
						if (phase == 1 && ntransit < MAX_LAT &&
						    (uint16_t)(buf[k][2] << 8 | buf[k][3]) == from->tx_seq) {
							for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm[k].msg_hdr); c;
							     c = CMSG_NXTHDR(&mm[k].msg_hdr, c)) {
								struct timespec ts;
								uint64_t at;

								if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
									continue;
								memcpy(&ts, CMSG_DATA(c), sizeof(ts));
								at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
								if (at >= from->tx_ns && at - from->tx_ns < UINT32_MAX)
									transit_ns[ntransit++] = (uint32_t)(at - from->tx_ns);
							}
						}
						if (p->rx) {
							uint8_t *const pp[1] = { buf[k] };
							uint16_t l = (uint16_t)len;
							int16_t rc;

							if (dp_srtp_unprotect_burst(p->rx, pp, &l, sizeof(buf[k]), &rc, 1) == 1)
								srtp_ok++, len = l;
							else
								srtp_fail++;
						}
						p->rx_bytes += (uint64_t)len - 12;
					}
					if (r < 16)
						break;
				}
			}
		}
	}

	{
		static uint64_t rx[2][MAX_CALLS];
		uint64_t tot[2] = { 0 }, bytes[2] = { 0 }, rtcp = 0, zero = 0;
		double secs = (double)(win_end - win_start) / 1e9;

		for (int i = 0; i < 2 * n; i++) {
			rx[i & 1][i / 2] = eps[i].rx_pkts;
			tot[i & 1] += eps[i].rx_pkts;
			bytes[i & 1] += eps[i].rx_bytes;
			rtcp += eps[i].rtcp;
			zero += eps[i].rx_pkts == 0;
		}
		qsort(rx[0], (size_t)n, sizeof(rx[0][0]), cmp_u64);
		qsort(rx[1], (size_t)n, sizeof(rx[1][0]), cmp_u64);
		qsort(lat_ns, nlat, sizeof(lat_ns[0]), cmp_u32);
		qsort(transit_ns, ntransit, sizeof(transit_ns[0]), cmp_u32);
		printf("RESULT {\"calls\": %d, \"window_s\": %.3f, \"expected_per_ep\": %.0f, "
		       "\"a_sent\": %llu, \"b_sent\": %llu, \"a_rx\": %llu, \"b_rx\": %llu, "
		       "\"a_rx_min\": %llu, \"b_rx_min\": %llu, \"a_rx_median\": %llu, \"b_rx_median\": %llu, "
		       "\"rx_none\": %llu, \"rtcp\": %llu, \"a_rx_payload\": %.1f, \"b_rx_payload\": %.1f, "
		       "\"a_tx_payload\": %u, \"b_tx_payload\": %u, \"srtp_ok\": %llu, \"srtp_fail\": %llu, "
		       "\"slot_late_p50_us\": %.1f, \"slot_late_p99_us\": %.1f, \"slot_late_max_us\": %.1f, "
		       "\"overruns\": %llu, \"gen_cpu_cores\": %.4f, \"transit_n\": %zu, \"transit_p50_us\": %.1f, "
		       "\"transit_p99_us\": %.1f, \"transit_max_us\": %.1f}\n",
		       n, secs, secs * SECOND, (unsigned long long)sent_win[0], (unsigned long long)sent_win[1],
		       (unsigned long long)tot[0], (unsigned long long)tot[1], (unsigned long long)rx[0][0],
		       (unsigned long long)rx[1][0], (unsigned long long)rx[0][n / 2], (unsigned long long)rx[1][n / 2],
		       (unsigned long long)zero, (unsigned long long)rtcp, tot[0] ? (double)bytes[0] / (double)tot[0] : 0.0,
		       tot[1] ? (double)bytes[1] / (double)tot[1] : 0.0, sides[0].len[10], sides[1].len[10],
		       (unsigned long long)srtp_ok, (unsigned long long)srtp_fail, nlat ? lat_ns[nlat / 2] / 1e3 : 0,
		       nlat ? lat_ns[nlat * 99 / 100] / 1e3 : 0, nlat ? lat_ns[nlat - 1] / 1e3 : 0,
		       (unsigned long long)overruns, (cpu1 - cpu0) / secs, ntransit,
		       ntransit ? transit_ns[ntransit / 2] / 1e3 : 0, ntransit ? transit_ns[ntransit * 99 / 100] / 1e3 : 0,
		       ntransit ? transit_ns[ntransit - 1] / 1e3 : 0);
		fflush(stdout);
	}
	for (int i = 0; i < 2 * n; i++) {
		dp_srtp_destroy(eps[i].tx);
		dp_srtp_destroy(eps[i].rx);
		close(eps[i].fd);
	}
	return 0;
}
