/* SPDX-License-Identifier: MIT
 * cdc_rtp: medius's codecs (cdc.h only) on real RTP, for interop tests
 * against other implementations (tests/integration/test_codec_interop.py).
 *
 *   cdc_rtp [--fast] [--from PORT] send RTPMAP PT PTIME_MS HOST:PORT [FMTP]
 *       raw s16le PCM (pcm_channels interleaved; mono unless an opus fmtp
 *       says stereo=1) at the format's sample rate on stdin -> one RTP
 *       packet per PTIME_MS frame to HOST:PORT, paced in real time (--fast:
 *       as fast as the socket takes them). A short last frame is padded
 *       with silence. Exits at EOF. --from binds the sending socket to
 *       127.0.0.1:PORT (symmetric RTP: send from the port the SDP names).
 *   cdc_rtp recv RTPMAP PT PORT SECONDS [FMTP]
 *       binds 127.0.0.1:PORT, decodes RTP payloads of type PT for SECONDS
 *       at most (or until 1 s without a packet once one came), concealing
 *       sequence gaps, and writes raw s16le PCM to stdout. One summary line
 *       on stderr (for Opus a second: the packets by the bandwidth their
 *       TOC byte says, "opus_bandwidth NB=.. MB=.. WB=.. SWB=.. FB=..").
 *
 * Exit codes: 0 done; 1 run-time error (socket, codec, I/O); 2 bad
 * arguments; 3 (recv) no packet of type PT arrived.
 */
#include "cdc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_NOTHING 3

#define MAX_FRAME 5760      /* samples per channel: 120 ms at 48 kHz */
#define MAX_CONCEAL_PKTS 50 /* longer gaps are not filled */
#define IDLE_MS 1000        /* recv ends this long after the last packet */

static const char *prog = "cdc_rtp";

static void usage(FILE *to)
{
	fprintf(to,
		"usage: %s [--fast] [--from PORT] send RTPMAP PT PTIME_MS HOST:PORT [FMTP] < pcm.s16le\n"
		"       %s recv RTPMAP PT PORT SECONDS [FMTP] > pcm.s16le\n"
		"  RTPMAP: PCMU/8000, PCMA/8000, G722/8000, opus/48000/2, L16/16000/1, ...\n"
		"  PT: RTP payload type 0..127; PTIME_MS: 10, 20, 30, 40 or 60\n"
		"  PCM is signed 16-bit little-endian at the format's sample rate\n"
		"  (G722: 16000; opus: 48000, stereo only with fmtp stereo=1)\n",
		prog, prog);
}

static int bad(const char *fmt, const char *what)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	usage(stderr);
	return EXIT_USAGE;
}

/* A whole decimal number in [lo, hi]; -1 otherwise. */
static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	return v;
}

static int parse_format(const char *rtpmap, const char *fmtp, struct cdc_format *f)
{
	int rc = cdc_format_parse(rtpmap, fmtp, f);

	if (rc == -ENOENT) {
		fprintf(stderr, "%s: codec of '%s' is not supported by medius\n", prog, rtpmap);
		return EXIT_USAGE;
	}
	if (rc) {
		fprintf(stderr, "%s: bad rtpmap '%s' or fmtp '%s' (%s)\n", prog, rtpmap,
			fmtp ? fmtp : "", strerror(-rc));
		return EXIT_USAGE;
	}
	if (f->codec == CDC_TELEPHONE_EVENT || f->codec == CDC_CN) {
		fprintf(stderr, "%s: '%s' is not an audio codec\n", prog, rtpmap);
		return EXIT_USAGE;
	}
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Read exactly len bytes unless EOF comes first; returns bytes read or -1. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;

	while (put < len) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

/* PCM on the pipes is little-endian whatever the host is. */
static void le_to_host(int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = (const uint8_t *)&pcm[i];

		pcm[i] = (int16_t)(uint16_t)(b[0] | (b[1] << 8));
	}
}

static void host_to_le(int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t v = (uint16_t)pcm[i];
		uint8_t *b = (uint8_t *)&pcm[i];

		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
	}
}

static int parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = parse_num(colon + 1, 1, 65535);
	if (port < 0)
		return -1;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static long g_from_port; /* --from: the port send binds to; 0: any */

static int cmd_send(int argc, char **argv, bool fast)
{
	struct cdc_format f;
	struct sockaddr_in dst;
	struct cdc_enc *enc;
	static int16_t pcm[MAX_FRAME * 2];
	uint8_t pkt[12 + CDC_PKT_MAX];
	uint32_t ssrc, ts, rnd[3];
	uint16_t seq;
	uint64_t packets = 0, bytes = 0;
	long pt, ptime;
	size_t samples, frame_bytes;
	int64_t start, period;
	int rc, fd, ret = 0;

	if (argc < 4 || argc > 5)
		return bad("send takes 4 or 5 arguments, not %s", argc < 4 ? "fewer" : "more");
	rc = parse_format(argv[0], argc > 4 ? argv[4] : NULL, &f);
	if (rc)
		return rc;
	pt = parse_num(argv[1], 0, 127);
	if (pt < 0)
		return bad("bad payload type '%s' (0..127)", argv[1]);
	ptime = parse_num(argv[2], 1, 1000);
	if (ptime < 0 || !cdc_ptime_valid((unsigned)ptime))
		return bad("bad ptime '%s' (10, 20, 30, 40 or 60)", argv[2]);
	if (parse_hostport(argv[3], &dst))
		return bad("bad destination '%s' (want IPv4:PORT)", argv[3]);

	samples = cdc_frame_samples(&f, (unsigned)ptime);
	frame_bytes = samples * f.pcm_channels * sizeof(int16_t);
	enc = cdc_enc_create(&f, NULL);
	if (!enc) {
		fprintf(stderr, "%s: cannot create a %s encoder\n", prog, argv[0]);
		return EXIT_RUNTIME;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0 && g_from_port) {
		struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_from_port),
					    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) {
			fprintf(stderr, "%s: bind 127.0.0.1:%ld: %s\n", prog, g_from_port, strerror(errno));
			close(fd);
			fd = -1;
			errno = EADDRINUSE;
		}
	}
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		cdc_enc_destroy(enc);
		return EXIT_RUNTIME;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* getrandom on a tiny buffer does not fail in practice; still. */
		rnd[0] = (uint32_t)getpid() * 2654435761u;
		rnd[1] = (uint32_t)now_ns();
		rnd[2] = rnd[0] ^ rnd[1];
	}
	ssrc = rnd[0];
	seq = (uint16_t)rnd[1];
	ts = rnd[2];
	period = ptime * 1000000LL;
	start = now_ns();

	for (;;) {
		ssize_t got = read_full(STDIN_FILENO, pcm, frame_bytes);
		int len;

		if (got < 0) {
			fprintf(stderr, "%s: reading stdin: %s\n", prog, strerror(errno));
			ret = EXIT_RUNTIME;
			break;
		}
		if (got == 0)
			break;
		if ((size_t)got < frame_bytes)
			memset((char *)pcm + got, 0, frame_bytes - (size_t)got);
		le_to_host(pcm, samples * f.pcm_channels);
		len = cdc_encode(enc, pcm, samples, pkt + 12, CDC_PKT_MAX);
		if (len < 0) {
			fprintf(stderr, "%s: encode failed: %s\n", prog, strerror(-len));
			ret = EXIT_RUNTIME;
			break;
		}
		pkt[0] = 0x80;
		pkt[1] = (uint8_t)((packets == 0 ? 0x80 : 0) | pt);
		pkt[2] = (uint8_t)(seq >> 8);
		pkt[3] = (uint8_t)seq;
		pkt[4] = (uint8_t)(ts >> 24);
		pkt[5] = (uint8_t)(ts >> 16);
		pkt[6] = (uint8_t)(ts >> 8);
		pkt[7] = (uint8_t)ts;
		pkt[8] = (uint8_t)(ssrc >> 24);
		pkt[9] = (uint8_t)(ssrc >> 16);
		pkt[10] = (uint8_t)(ssrc >> 8);
		pkt[11] = (uint8_t)ssrc;
		if (!fast) {
			int64_t due = start + (int64_t)packets * period;
			struct timespec t = { .tv_sec = due / 1000000000, .tv_nsec = due % 1000000000 };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
				;
		}
		if (sendto(fd, pkt, 12 + (size_t)len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			/* ECONNREFUSED: an ICMP from an earlier packet; the next may land. */
			if (errno != ECONNREFUSED) {
				fprintf(stderr, "%s: sendto: %s\n", prog, strerror(errno));
				ret = EXIT_RUNTIME;
				break;
			}
		}
		packets++;
		bytes += (uint64_t)len;
		seq++;
		ts += cdc_frame_ts(&f, (unsigned)ptime);
		if ((size_t)got < frame_bytes)
			break;
	}
	fprintf(stderr, "%s send: packets=%" PRIu64 " bytes=%" PRIu64 " ssrc=%08x\n", prog, packets,
		bytes, ssrc);
	close(fd);
	cdc_enc_destroy(enc);
	return ret;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_recv(int argc, char **argv)
{
	struct cdc_format f;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct cdc_dec *dec;
	static int16_t pcm[MAX_FRAME * 2];
	uint8_t buf[65536];
	uint64_t opus_bw[5] = { 0 }; /* Opus packets by TOC bandwidth: NB MB WB SWB FB */
	uint64_t packets = 0, bytes = 0, lost = 0, late = 0, other_pt = 0, bad_rtp = 0,
		 dec_errors = 0, samples_out = 0;
	uint16_t last_seq = 0;
	size_t last_frame = 0;
	int64_t deadline, last_rx = 0;
	long pt, port, seconds;
	int rc, fd, ret = 0;

	if (argc < 4 || argc > 5)
		return bad("recv takes 4 or 5 arguments, not %s", argc < 4 ? "fewer" : "more");
	rc = parse_format(argv[0], argc > 4 ? argv[4] : NULL, &f);
	if (rc)
		return rc;
	pt = parse_num(argv[1], 0, 127);
	if (pt < 0)
		return bad("bad payload type '%s' (0..127)", argv[1]);
	port = parse_num(argv[2], 1, 65535);
	if (port < 0)
		return bad("bad port '%s' (1..65535)", argv[2]);
	seconds = parse_num(argv[3], 1, 86400);
	if (seconds < 0)
		return bad("bad duration '%s' (whole seconds, 1..86400)", argv[3]);

	dec = cdc_dec_create(&f);
	if (!dec) {
		fprintf(stderr, "%s: cannot create a %s decoder\n", prog, argv[0]);
		return EXIT_RUNTIME;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: bind 127.0.0.1:%ld: %s\n", prog, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		cdc_dec_destroy(dec);
		return EXIT_RUNTIME;
	}
	{
		int sz = 1 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	deadline = now_ns() + seconds * 1000000000LL;

	while (!stop) {
		int64_t now = now_ns(), until = deadline;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t hdr, plen;
		ssize_t n;
		uint16_t seq;
		int got;

		if (last_rx && last_rx + IDLE_MS * 1000000LL < until)
			until = last_rx + IDLE_MS * 1000000LL;
		if (now >= until)
			break;
		rc = poll(&p, 1, (int)((until - now + 999999) / 1000000));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
			ret = EXIT_RUNTIME;
			break;
		}
		if (rc == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "%s: recv: %s\n", prog, strerror(errno));
			ret = EXIT_RUNTIME;
			break;
		}
		/* RTP header: version 2, CSRCs, extension, padding (RFC 3550 5.1). */
		if (n < 12 || (buf[0] >> 6) != 2) {
			bad_rtp++;
			continue;
		}
		hdr = 12 + 4u * (buf[0] & 0x0f);
		if ((buf[0] & 0x10) && (size_t)n >= hdr + 4)
			hdr += 4 + 4u * ((size_t)buf[hdr + 2] << 8 | buf[hdr + 3]);
		plen = (size_t)n;
		if ((buf[0] & 0x20) && plen > hdr)
			plen -= buf[plen - 1];
		if (hdr >= plen || plen > (size_t)n) {
			bad_rtp++;
			continue;
		}
		if ((buf[1] & 0x7f) != pt) {
			other_pt++;
			continue;
		}
		seq = (uint16_t)(buf[2] << 8 | buf[3]);
		last_rx = now_ns();
		if (packets) {
			int16_t delta = (int16_t)(uint16_t)(seq - last_seq);

			if (delta <= 0) { /* duplicate or reordered: already played past it */
				late++;
				continue;
			}
			if (delta > 1) {
				uint64_t gap = (uint64_t)delta - 1;

				lost += gap;
				for (uint64_t i = 0; i < gap && i < MAX_CONCEAL_PKTS && last_frame; i++) {
					got = cdc_dec_conceal(dec, pcm, last_frame);
					if (got < 0)
						break;
					host_to_le(pcm, (size_t)got * f.pcm_channels);
					if (write_full(STDOUT_FILENO, pcm, (size_t)got * f.pcm_channels * 2)) {
						fprintf(stderr, "%s: writing stdout: %s\n", prog, strerror(errno));
						ret = EXIT_RUNTIME;
						goto out;
					}
					samples_out += (uint64_t)got;
				}
			}
		}
		last_seq = seq;
		packets++;
		bytes += plen - hdr;
		if (f.codec == CDC_OPUS) { /* the bandwidth the TOC byte says (RFC 6716 3.1) */
			unsigned config = buf[hdr] >> 3;

			opus_bw[config < 12 ? config / 4 : config < 16 ? 3 + (config - 12) / 2
								   : (unsigned[]){ 0, 2, 3, 4 }[(config - 16) / 4]]++;
		}
		got = cdc_decode(dec, buf + hdr, plen - hdr, pcm, MAX_FRAME);
		if (got < 0) {
			dec_errors++;
			if (!last_frame)
				continue;
			got = cdc_dec_conceal(dec, pcm, last_frame);
			if (got < 0)
				continue;
		} else {
			last_frame = (size_t)got;
		}
		host_to_le(pcm, (size_t)got * f.pcm_channels);
		if (write_full(STDOUT_FILENO, pcm, (size_t)got * f.pcm_channels * 2)) {
			fprintf(stderr, "%s: writing stdout: %s\n", prog, strerror(errno));
			ret = EXIT_RUNTIME;
			break;
		}
		samples_out += (uint64_t)got;
	}
out:
	fprintf(stderr,
		"%s recv: packets=%" PRIu64 " bytes=%" PRIu64 " lost=%" PRIu64 " late=%" PRIu64
		" other_pt=%" PRIu64 " bad_rtp=%" PRIu64 " decode_errors=%" PRIu64
		" samples=%" PRIu64 " rate=%u channels=%u\n",
		prog, packets, bytes, lost, late, other_pt, bad_rtp, dec_errors, samples_out,
		f.sample_rate, f.pcm_channels);
	if (f.codec == CDC_OPUS)
		fprintf(stderr, "%s recv: opus_bandwidth NB=%" PRIu64 " MB=%" PRIu64 " WB=%" PRIu64 " SWB=%" PRIu64
			" FB=%" PRIu64 "\n", prog, opus_bw[0], opus_bw[1], opus_bw[2], opus_bw[3], opus_bw[4]);
	close(fd);
	cdc_dec_destroy(dec);
	if (!ret && !packets) {
		fprintf(stderr, "%s: no RTP packet of payload type %ld arrived\n", prog, pt);
		ret = EXIT_NOTHING;
	}
	return ret;
}

int main(int argc, char **argv)
{
	bool fast = false;
	int i = 1;

	if (argc > 0 && argv[0] && *argv[0]) {
		const char *s = strrchr(argv[0], '/');

		prog = s ? s + 1 : argv[0];
	}
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--fast")) {
			fast = true;
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			g_from_port = parse_num(argv[++i], 1, 65535);
			if (g_from_port < 0)
				return bad("bad --from port '%s' (1..65535)", argv[i]);
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			return bad("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		return bad("%s", "missing mode (send or recv)");
	if (!strcmp(argv[i], "send"))
		return cmd_send(argc - i - 1, argv + i + 1, fast);
	if (!strcmp(argv[i], "recv")) {
		if (fast)
			return bad("%s", "--fast applies to send only");
		return cmd_recv(argc - i - 1, argv + i + 1);
	}
	return bad("unknown mode '%s' (send or recv)", argv[i]);
}
