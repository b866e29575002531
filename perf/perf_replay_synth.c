/* SPDX-License-Identifier: MIT
 * perf_replay_synth.c: `medius-replay synth` writes realistic captures for
 * the replay (docs/replay.md#synth): N calls, each an INVITE / 100 / 180 /
 * 200 OK / ACK / BYE / 200 dialog through a proxy with SDP offer and answer,
 * and both directions of RTP carrying speech-like audio encoded by medius's
 * codecs (codecs/cdc.h: PCMU, PCMA, G.722, Opus), with RTCP sender reports,
 * optional SDES SRTP (libsrtp2) and a network profile (Gilbert-Elliott
 * loss, correlated jitter). A summary JSON says what the capture holds, so
 * a replay's counters can be checked against it; with SRTP a plaintext twin
 * of the capture gives the reference the payloads are verified against.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <srtp2/srtp.h>

#include "audio_util.h"
#include "cdc.h"
#include "perf_replay.h"

#define MAX_PKT 1500

struct rec {
	uint64_t t_ns;
	uint32_t off, len;   /* into recs_data: the Ethernet frame */
	uint32_t plain_off;  /* the plaintext twin's frame (same length but the SRTP tag) */
	uint32_t plain_len;
};

struct synth {
	struct rec *recs;
	size_t nrecs;
	uint64_t cap;
	uint8_t *data;
	size_t dlen;
	uint64_t dcap;
	uint64_t rng;
	/* what the capture holds */
	uint64_t rtp, rtcp, sip, lost, calls;
	uint64_t per_codec[4];
};

struct codec_def {
	const char *name, *rtpmap;
	uint8_t pt;
};

static const struct codec_def codecs[4] = {
	{"pcmu", "PCMU/8000", 0},
	{"pcma", "PCMA/8000", 8},
	{"g722", "G722/8000", 9},
	{"opus", "opus/48000/2", 96}, /* the first dynamic type, as rtpengine and most offerers number it */
};

static uint64_t rnd(struct synth *s)
{
	/* splitmix64: deterministic for --seed */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rnd01(struct synth *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static double rexp(struct synth *s, double mean)
{
	return -mean * log(1 - rnd01(s));
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + UDP around payload, into data; returns the offset or -1 */
static int64_t put_frame(struct synth *s, const uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			 const uint8_t *pl, uint32_t len)
{
	uint32_t flen = 14 + 20 + 8 + len;
	uint8_t *f;
	size_t off = s->dlen;

	if (perf_grow((void **)&s->data, &s->dcap, s->dlen + flen, 1))
		return -1;
	f = s->data + off;
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	f[14] = 0x45;
	f[15] = 0;
	f[16] = (uint8_t)((20 + 8 + len) >> 8);
	f[17] = (uint8_t)(20 + 8 + len);
	f[18] = f[19] = 0;
	f[20] = 0x40; /* DF */
	f[21] = 0;
	f[22] = 64;
	f[23] = 17;
	f[24] = f[25] = 0;
	for (int i = 0; i < 4; i++) {
		f[26 + i] = (uint8_t)(src >> (24 - 8 * i));
		f[30 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	{
		uint16_t c = csum(f + 14, 20);

		f[24] = (uint8_t)(c >> 8);
		f[25] = (uint8_t)c;
	}
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[38] = (uint8_t)((8 + len) >> 8);
	f[39] = (uint8_t)(8 + len);
	f[40] = f[41] = 0; /* no UDP checksum (allowed over IPv4) */
	memcpy(f + 42, pl, len);
	s->dlen += flen;
	return (int64_t)off;
}

static int add_rec(struct synth *s, uint64_t t_ns, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		   const uint8_t *pl, uint32_t len, const uint8_t *plain, uint32_t plain_len)
{
	int64_t off = put_frame(s, src, sport, dst, dport, pl, len), poff = off;
	struct rec *r;

	if (off < 0)
		return -1;
	if (plain) {
		poff = put_frame(s, src, sport, dst, dport, plain, plain_len);
		if (poff < 0)
			return -1;
	}
	if (perf_grow((void **)&s->recs, &s->cap, s->nrecs + 1, sizeof(*s->recs)))
		return -1;
	r = &s->recs[s->nrecs++];
	r->t_ns = t_ns;
	r->off = (uint32_t)off;
	r->len = 14 + 20 + 8 + len;
	r->plain_off = (uint32_t)poff;
	r->plain_len = 14 + 20 + 8 + (plain ? plain_len : len);
	return 0;
}

static char *ipstr(uint32_t a, char *b)
{
	sprintf(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return b;
}

static void b64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

static int sdp_body(char *out, size_t len, uint32_t ip, uint16_t port, const struct codec_def *c, bool srtp,
		    const uint8_t key[30], uint64_t sess)
{
	char a[20], k[48], crypto[128] = "";

	if (srtp) {
		b64(key, 30, k);
		snprintf(crypto, sizeof(crypto), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n", k);
	}
	ipstr(ip, a);
	return snprintf(out, len,
			"v=0\r\no=- %llu 1 IN IP4 %s\r\ns=synth\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			"m=audio %u RTP/%sAVP %u 101\r\na=rtpmap:%u %s\r\n%s"
			"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n%sa=sendrecv\r\n",
			(unsigned long long)sess, a, a, port, srtp ? "S" : "", c->pt, c->pt, c->rtpmap,
			c->pt == 96 ? "a=fmtp:96 useinbandfec=1\r\n" : "", crypto);
}

static int sip_msg(struct synth *s, uint64_t t, uint32_t src, uint32_t dst, const char *first, const char *cid,
		   const char *from_user, const char *ftag, const char *to_user, const char *ttag, int cseq,
		   const char *method, const char *body, uint32_t branch)
{
	char msg[4096];
	char sa[20];
	int n;

	ipstr(src, sa);
	n = snprintf(msg, sizeof(msg),
		     "%s\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK%08x\r\nMax-Forwards: 70\r\n"
		     "From: <sip:%s@synth.example>;tag=%s\r\nTo: <sip:%s@synth.example>%s%s\r\n"
		     "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:%s@%s:5060>\r\nUser-Agent: medius-replay synth\r\n"
		     "%sContent-Length: %zu\r\n\r\n%s",
		     first, sa, branch, from_user, ftag, to_user, ttag ? ";tag=" : "", ttag ? ttag : "", cid, cseq,
		     method, from_user, sa, body ? "Content-Type: application/sdp\r\n" : "", body ? strlen(body) : 0,
		     body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	s->sip++;
	return add_rec(s, t, src, 5060, dst, 5060, (const uint8_t *)msg, (uint32_t)n, NULL, 0);
}

/* a network profile: Gilbert-Elliott loss, correlated jitter */
struct net {
	double loss;       /* mean loss, 0..1 */
	double burst;      /* mean burst length in packets (>= 1) */
	double jitter_ms;  /* mean of the exponential delay component */
	bool bad;          /* GE state */
	double d_prev;     /* last delay, ms */
};

static bool ge_lost(struct synth *s, struct net *n)
{
	/* two states: Good never loses, Bad always does (Gilbert's model).
	 * r = P(Bad -> Good) = 1 / burst; p = P(Good -> Bad) chosen so the
	 * stationary P(Bad) = p / (p + r) equals the mean loss. */
	double r, p;

	if (n->loss <= 0)
		return false;
	r = 1.0 / (n->burst < 1 ? 1 : n->burst);
	p = n->loss * r / (1 - n->loss);
	if (p > 1)
		p = 1;
	n->bad = n->bad ? rnd01(s) >= r : rnd01(s) < p;
	return n->bad;
}

static double net_delay(struct synth *s, struct net *n)
{
	/* AR(1)-smoothed exponential: d = a * d_prev + (1 - a) * Exp(2 J), a = 0.5:
	 * mean J, neighbouring packets' delays correlated as on a queue */
	double d;

	if (n->jitter_ms <= 0)
		return 0;
	d = 0.5 * n->d_prev + 0.5 * rexp(s, n->jitter_ms);
	n->d_prev = d;
	return d;
}

struct party {
	uint32_t ip;
	uint16_t port;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint8_t key[30];
	srtp_t srtp;
	struct cdc_enc *enc;
	struct net net;
	uint32_t pkts, octets;
	double talk_until, silent_until; /* talk spurts (P.59 on/off) */
	uint32_t seed;
};

static const struct option synth_opts[] = {
	{"calls", required_argument, NULL, 'n'},   {"duration", required_argument, NULL, 'd'},
	{"interval-ms", required_argument, NULL, 'i'}, {"codecs", required_argument, NULL, 'c'},
	{"srtp", required_argument, NULL, 's'},    {"loss", required_argument, NULL, 'l'},
	{"burst", required_argument, NULL, 'b'},   {"jitter-ms", required_argument, NULL, 'j'},
	{"seed", required_argument, NULL, 'S'},    {"summary", required_argument, NULL, 'J'},
	{"plaintext", required_argument, NULL, 'P'}, {"no-rtcp", no_argument, NULL, 'R'},
	{"answer-codec", required_argument, NULL, 'a'},
	{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
};

static void synth_usage(FILE *f)
{
	fprintf(f,
		"Usage: medius-replay synth [OPTIONS] OUT.pcap\n"
		"Write a capture of N SIP calls with RTP (speech-like audio encoded by medius's codecs).\n"
		"\n"
		"  --calls N          calls (default 10)\n"
		"  --duration S       seconds of media per call (default 5)\n"
		"  --interval-ms MS   a call starts every MS ms (default 100)\n"
		"  --codecs LIST      comma-separated, cycled over the calls: pcmu,pcma,g722,opus\n"
		"                     (default all four)\n"
		"  --srtp none|caller|both  SDES SRTP (AES_CM_128_HMAC_SHA1_80): the caller's leg\n"
		"                     only (medius bridges to plain RTP) or both legs (default none)\n"
		"  --loss PCT         mean packet loss before the capture point, per direction\n"
		"  --burst N          mean loss burst length in packets (Gilbert-Elliott; default 1)\n"
		"  --jitter-ms MS     mean network delay variation (correlated exponential; default 0)\n"
		"  --seed N           the random seed (default 1): the same seed, the same capture\n"
		"  --summary FILE     what the capture holds, as JSON (calls, packets per kind)\n"
		"  --plaintext FILE   a twin capture with every SRTP packet in clear (the reference\n"
		"                     for `medius-replay --verify --reference FILE`)\n"
		"  --no-rtcp          no RTCP sender reports\n"
		"  --answer-codec C   the callee answers and sends codec C (pcmu, pcma, g722, opus):\n"
		"                     a capture taken on both sides of a transcoding relay; replay\n"
		"                     it with --offer-json '{\"codec\": {\"transcode\": [\"C\"]}}'\n");
}

int perf_synth_main(int argc, char **argv)
{
	struct synth S = {0};
	struct synth *s = &S;
	unsigned ncalls = 10, interval_ms = 100, srtp_mode = 0;
	double duration = 5, loss = 0, burst = 1, jitter = 0;
	bool use[4] = {true, true, true, true}, rtcp = true;
	const char *summary = NULL, *plain_path = NULL, *out;
	int cset[4], nc = 0, c, rc = 1, answer_codec = -1;
	uint64_t seed = 1;
	pcap_t *pd = NULL;
	pcap_dumper_t *dump = NULL, *pdump = NULL;
	static int16_t speech[48000];

	optind = 1;
	while ((c = getopt_long(argc, argv, "", synth_opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 'n': ncalls = (unsigned)strtoul(optarg, &end, 10); break;
		case 'd': duration = strtod(optarg, &end); break;
		case 'i': interval_ms = (unsigned)strtoul(optarg, &end, 10); break;
		case 'l': loss = strtod(optarg, &end) / 100; break;
		case 'b': burst = strtod(optarg, &end); break;
		case 'j': jitter = strtod(optarg, &end); break;
		case 'S': seed = strtoull(optarg, &end, 10); break;
		case 'J': summary = optarg; break;
		case 'P': plain_path = optarg; break;
		case 'R': rtcp = false; break;
		case 'a':
			for (answer_codec = 0; answer_codec < 4 && strcasecmp(optarg, codecs[answer_codec].name); answer_codec++)
				;
			if (answer_codec == 4)
				goto usage;
			break;
		case 's':
			if (!strcmp(optarg, "none"))
				srtp_mode = 0;
			else if (!strcmp(optarg, "caller"))
				srtp_mode = 1;
			else if (!strcmp(optarg, "both"))
				srtp_mode = 2;
			else
				goto usage;
			break;
		case 'c': {
			char buf[128], *tok, *sv = NULL;

			memset(use, 0, sizeof(use));
			snprintf(buf, sizeof(buf), "%s", optarg);
			for (tok = strtok_r(buf, ",", &sv); tok; tok = strtok_r(NULL, ",", &sv)) {
				int k;

				for (k = 0; k < 4 && strcasecmp(tok, codecs[k].name); k++)
					;
				if (k == 4) {
					fprintf(stderr, "medius-replay synth: unknown codec %s (pcmu, pcma, g722, opus)\n", tok);
					return 64;
				}
				use[k] = true;
			}
			break;
		}
		case 'h': synth_usage(stdout); return 0;
		default: goto usage;
		}
		if (end && *end)
			goto usage;
	}
	if (optind != argc - 1 || !ncalls || ncalls > 60000 || !(duration > 0) || duration > 3600 || loss < 0 ||
	    loss >= 1 || burst < 1 || jitter < 0)
		goto usage;
	out = argv[optind];
	for (int k = 0; k < 4; k++)
		if (use[k])
			cset[nc++] = k;
	s->rng = seed;
	if (srtp_mode && srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "medius-replay synth: srtp_init failed\n");
		return 70;
	}
	for (unsigned ci = 0; ci < ncalls; ci++) {
		const struct codec_def *cdp[2];
		struct cdc_format fmtp[2];
		struct cdc_enc_opts eo = {0};
		struct party P[2];
		uint32_t proxy_a = 0x0a000001, proxy_b = 0x0a000002; /* 10.0.0.1, 10.0.0.2 */
		uint64_t t0 = (uint64_t)ci * interval_ms * 1000000ull + 1700000000ull * 1000000000ull;
		uint64_t t_media, t_end;
		char cid[64], ftag[24], ttag[24], sdp_a[1024], sdp_b[1024], first[128];
		uint32_t nframes;
		int16_t pcm[960 * 2];

		snprintf(cid, sizeof(cid), "synth-%u-%08llx@synth.example", ci, (unsigned long long)(rnd(s) & 0xffffffff));
		snprintf(ftag, sizeof(ftag), "a%08llx", (unsigned long long)(rnd(s) & 0xffffffff));
		snprintf(ttag, sizeof(ttag), "b%08llx", (unsigned long long)(rnd(s) & 0xffffffff));
		cdp[0] = &codecs[cset[ci % (unsigned)nc]];
		cdp[1] = answer_codec >= 0 ? &codecs[answer_codec] : cdp[0];
		for (int p = 0; p < 2; p++)
			if (cdc_format_parse(cdp[p]->rtpmap, cdp[p]->pt == 96 ? "useinbandfec=1" : NULL, &fmtp[p])) {
				fprintf(stderr, "medius-replay synth: codec %s not available\n", cdp[p]->rtpmap);
				goto out;
			}
		nframes = (uint32_t)(duration * 50);
		for (int p = 0; p < 2; p++) {
			struct party *x = &P[p];

			memset(x, 0, sizeof(*x));
			x->ip = (p ? 0x0a020000u : 0x0a010000u) + 0x100 * (ci / 250) + (ci % 250) + 1;
			x->port = (uint16_t)(16384 + 2 * (ci % 8000));
			x->ssrc = (uint32_t)rnd(s);
			x->seq = (uint16_t)rnd(s);
			x->ts = (uint32_t)rnd(s);
			x->seed = (uint32_t)rnd(s);
			for (int i = 0; i < 30; i++)
				x->key[i] = (uint8_t)rnd(s);
			x->net = (struct net){.loss = loss, .burst = burst, .jitter_ms = jitter};
			x->enc = cdc_enc_create(&fmtp[p], &eo);
			if (!x->enc) {
				fprintf(stderr, "medius-replay synth: cannot create a %s encoder\n", cdp[p]->rtpmap);
				goto out;
			}
			if (srtp_mode == 2 || (srtp_mode == 1 && p == 0)) {
				srtp_policy_t pol;

				memset(&pol, 0, sizeof(pol));
				srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
				srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
				pol.ssrc.type = ssrc_any_outbound;
				pol.key = x->key;
				pol.window_size = 1024;
				if (srtp_create(&x->srtp, &pol) != srtp_err_status_ok) {
					fprintf(stderr, "medius-replay synth: srtp_create failed\n");
					goto out;
				}
			}
		}
		sdp_body(sdp_a, sizeof(sdp_a), P[0].ip, P[0].port, cdp[0], P[0].srtp, P[0].key, rnd(s) >> 20);
		sdp_body(sdp_b, sizeof(sdp_b), P[1].ip, P[1].port, cdp[1], P[1].srtp, P[1].key, rnd(s) >> 20);
		/* the dialog: A -> proxy INVITE, the proxy's 100, 180, 200 OK, A's ACK */
		snprintf(first, sizeof(first), "INVITE sip:bob%u@synth.example SIP/2.0", ci);
		if (sip_msg(s, t0, P[0].ip, proxy_a, first, cid, "alice", ftag, "bob", NULL, 1, "INVITE", sdp_a, (uint32_t)rnd(s)) ||
		    sip_msg(s, t0 + 4000000, proxy_a, P[0].ip, "SIP/2.0 100 Trying", cid, "alice", ftag, "bob", NULL, 1, "INVITE", NULL, 0) ||
		    sip_msg(s, t0 + 60000000, proxy_a, P[0].ip, "SIP/2.0 180 Ringing", cid, "alice", ftag, "bob", ttag, 1, "INVITE", NULL, 0) ||
		    sip_msg(s, t0 + 300000000, proxy_a, P[0].ip, "SIP/2.0 200 OK", cid, "alice", ftag, "bob", ttag, 1, "INVITE", sdp_b, 0))
			goto oom;
		snprintf(first, sizeof(first), "ACK sip:bob%u@synth.example SIP/2.0", ci);
		if (sip_msg(s, t0 + 310000000, P[0].ip, proxy_a, first, cid, "alice", ftag, "bob", ttag, 1, "ACK", NULL, (uint32_t)rnd(s)))
			goto oom;
		(void)proxy_b;
		t_media = t0 + 320000000;
		/* media: both parties, 20 ms frames */
		for (int p = 0; p < 2; p++) {
			struct party *x = &P[p], *y = &P[1 - p];
			const struct codec_def *cd = cdp[p];
			const struct cdc_format *fm = &fmtp[p];
			uint32_t frame_samples = cdc_frame_samples(fm, 20), frame_ts = cdc_frame_ts(fm, 20);
			bool talking = false;
			double t_state = 0;
			uint32_t sr_every = 250; /* RTCP SR every 5 s */
			int64_t held = -1;

			/* one starts talking, the other listens: P.59 talk spurts 1.004 s,
			 * pauses 1.587 s (exponential) */
			t_state = p ? rexp(s, 1.587) : 0;
			for (uint32_t f = 0; f < nframes; f++) {
				double tf = f * 0.02;
				uint8_t pkt[MAX_PKT], plain[MAX_PKT];
				int n, len;
				bool marker = false;
				uint64_t t_cap;

				while (tf >= t_state) {
					talking = !talking;
					t_state += rexp(s, talking ? 1.004 : 1.587);
					marker = talking;
				}
				if (talking) {
					/* speech-like audio (tests/unit/audio_util.h), one second
					 * generated at a time, sliced into frames */
					uint32_t sec = f / 50;

					if (held != (int64_t)sec) {
						au_speech(speech, fm->sample_rate, fm->sample_rate, x->seed + sec);
						held = sec;
					}
					memcpy(pcm, speech + (f % 50) * frame_samples, frame_samples * sizeof(int16_t));
				} else {
					for (uint32_t i = 0; i < frame_samples; i++)
						pcm[i] = (int16_t)((int)(rnd(s) % 9) - 4); /* room noise, about -70 dBov */
				}
				n = cdc_encode(x->enc, pcm, frame_samples, pkt + 12, sizeof(pkt) - 12 - SRTP_MAX_TRAILER_LEN);
				if (n < 0) {
					fprintf(stderr, "medius-replay synth: %s encode failed (%d)\n", cd->rtpmap, n);
					goto out;
				}
				pkt[0] = 0x80;
				pkt[1] = (uint8_t)((marker ? 0x80 : 0) | cd->pt);
				pkt[2] = (uint8_t)(x->seq >> 8);
				pkt[3] = (uint8_t)x->seq;
				for (int i = 0; i < 4; i++) {
					pkt[4 + i] = (uint8_t)(x->ts >> (24 - 8 * i));
					pkt[8 + i] = (uint8_t)(x->ssrc >> (24 - 8 * i));
				}
				len = 12 + n;
				x->seq++;
				x->ts += frame_ts;
				x->pkts++;
				x->octets += (uint32_t)n;
				memcpy(plain, pkt, (size_t)len);
				if (x->srtp) {
					/* every packet is protected (the sender does not know what
					 * the network loses), then the network acts */
					if (srtp_protect(x->srtp, pkt, &len) != srtp_err_status_ok) {
						fprintf(stderr, "medius-replay synth: srtp_protect failed\n");
						goto out;
					}
				}
				if (ge_lost(s, &x->net)) {
					s->lost++;
					continue;
				}
				t_cap = t_media + (uint64_t)(tf * 1e9) + (uint64_t)(net_delay(s, &x->net) * 1e6);
				if (add_rec(s, t_cap, x->ip, x->port, y->ip, y->port, pkt, (uint32_t)len,
					    x->srtp ? plain : NULL, (uint32_t)(12 + n)))
					goto oom;
				s->rtp++;
				s->per_codec[cd - codecs]++;
				if (rtcp && f && f % sr_every == 0) {
					/* an SR (no report blocks) and an SDES CNAME; SRTCP
					 * (RFC 3711 3.4: E flag and index, 80-bit tag) on an SRTP
					 * leg, the plaintext kept for the twin */
					uint8_t r[64 + SRTP_MAX_TRAILER_LEN], rplain[64];
					int rlen = 44;
					static const char cname[] = "synth";

					memset(r, 0, sizeof(r));
					r[0] = 0x80;
					r[1] = 200;
					r[3] = 6;
					for (int i = 0; i < 4; i++) {
						r[4 + i] = (uint8_t)(x->ssrc >> (24 - 8 * i));
						r[16 + i] = (uint8_t)(x->ts >> (24 - 8 * i));
						r[20 + i] = (uint8_t)(x->pkts >> (24 - 8 * i));
						r[24 + i] = (uint8_t)(x->octets >> (24 - 8 * i));
					}
					r[8] = (uint8_t)(t_cap / 1000000000ull >> 24); /* NTP seconds, roughly */
					r[28] = 0x81;
					r[29] = 202;
					r[31] = 3;
					for (int i = 0; i < 4; i++)
						r[32 + i] = (uint8_t)(x->ssrc >> (24 - 8 * i));
					r[36] = 1;
					r[37] = sizeof(cname) - 1;
					memcpy(r + 38, cname, sizeof(cname) - 1);
					memcpy(rplain, r, 44);
					if (x->srtp && srtp_protect_rtcp(x->srtp, r, &rlen) != srtp_err_status_ok) {
						fprintf(stderr, "medius-replay synth: srtp_protect_rtcp failed\n");
						goto out;
					}
					if (add_rec(s, t_cap + 1000, x->ip, (uint16_t)(x->port + 1), y->ip, (uint16_t)(y->port + 1), r,
						    (uint32_t)rlen, x->srtp ? rplain : NULL, 44))
						goto oom;
					s->rtcp++;
				}
			}
		}
		t_end = t_media + (uint64_t)(duration * 1e9) + 50000000;
		/* the caller (even calls) or the callee (odd) hangs up */
		if (ci % 2 == 0) {
			snprintf(first, sizeof(first), "BYE sip:bob%u@synth.example SIP/2.0", ci);
			if (sip_msg(s, t_end, P[0].ip, proxy_a, first, cid, "alice", ftag, "bob", ttag, 2, "BYE", NULL, (uint32_t)rnd(s)) ||
			    sip_msg(s, t_end + 8000000, proxy_a, P[0].ip, "SIP/2.0 200 OK", cid, "alice", ftag, "bob", ttag, 2, "BYE", NULL, 0))
				goto oom;
		} else {
			snprintf(first, sizeof(first), "BYE sip:alice@%u.synth.example SIP/2.0", ci);
			if (sip_msg(s, t_end, proxy_a, P[0].ip, first, cid, "bob", ttag, "alice", ftag, 1, "BYE", NULL, (uint32_t)rnd(s)) ||
			    sip_msg(s, t_end + 8000000, P[0].ip, proxy_a, "SIP/2.0 200 OK", cid, "bob", ttag, "alice", ftag, 1, "BYE", NULL, 0))
				goto oom;
		}
		s->calls++;
		for (int p = 0; p < 2; p++) {
			cdc_enc_destroy(P[p].enc);
			if (P[p].srtp)
				srtp_dealloc(P[p].srtp);
		}
	}
	/* in capture order (stable: equal times keep their writing order) */
	{
		struct rec *v = s->recs;
		size_t n = s->nrecs;

		/* insertion into runs is slow for 10^6 records: merge sort by time */
		struct rec *tmp = malloc(n * sizeof(*tmp) + 1);

		if (!tmp)
			goto oom;
		for (size_t w = 1; w < n; w *= 2) {
			for (size_t lo = 0; lo < n; lo += 2 * w) {
				size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
				size_t i = lo, j = mid, k = lo;

				while (i < mid && j < hi)
					tmp[k++] = v[j].t_ns < v[i].t_ns ? v[j++] : v[i++];
				while (i < mid)
					tmp[k++] = v[i++];
				while (j < hi)
					tmp[k++] = v[j++];
			}
			memcpy(v, tmp, n * sizeof(*v));
		}
		free(tmp);
	}
	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	dump = pd ? pcap_dump_open(pd, out) : NULL;
	if (!dump) {
		fprintf(stderr, "medius-replay synth: %s: %s\n", out, pd ? pcap_geterr(pd) : "pcap_open_dead failed");
		goto out;
	}
	if (plain_path) {
		pdump = pcap_dump_open(pd, plain_path);
		if (!pdump) {
			fprintf(stderr, "medius-replay synth: %s: %s\n", plain_path, pcap_geterr(pd));
			goto out;
		}
	}
	for (size_t i = 0; i < s->nrecs; i++) {
		struct pcap_pkthdr h;
		const struct rec *r = &s->recs[i];

		h.ts.tv_sec = (time_t)(r->t_ns / 1000000000ull);
		h.ts.tv_usec = (suseconds_t)(r->t_ns % 1000000000ull); /* ns: the precision is nano */
		h.caplen = h.len = r->len;
		pcap_dump((u_char *)dump, &h, s->data + r->off);
		if (pdump) {
			h.caplen = h.len = r->plain_len;
			pcap_dump((u_char *)pdump, &h, s->data + r->plain_off);
		}
	}
	if (pcap_dump_flush(dump) || (pdump && pcap_dump_flush(pdump))) {
		fprintf(stderr, "medius-replay synth: write error\n");
		goto out;
	}
	if (summary) {
		FILE *f = fopen(summary, "w");

		if (!f) {
			fprintf(stderr, "medius-replay synth: --summary %s: cannot write\n", summary);
			goto out;
		}
		fprintf(f, "{\"calls\": %llu, \"records\": %zu, \"sip\": %llu, \"rtp\": %llu, \"rtcp\": %llu, \"lost_before_capture\": %llu,\n"
			   " \"rtp_per_codec\": {\"PCMU\": %llu, \"PCMA\": %llu, \"G722\": %llu, \"opus\": %llu},\n"
			   " \"srtp\": \"%s\", \"loss_pct\": %g, \"burst\": %g, \"jitter_ms\": %g, \"seed\": %llu}\n",
			(unsigned long long)s->calls, s->nrecs, (unsigned long long)s->sip, (unsigned long long)s->rtp,
			(unsigned long long)s->rtcp, (unsigned long long)s->lost, (unsigned long long)s->per_codec[0],
			(unsigned long long)s->per_codec[1], (unsigned long long)s->per_codec[2],
			(unsigned long long)s->per_codec[3], srtp_mode == 2 ? "both" : srtp_mode ? "caller" : "none", loss * 100,
			burst, jitter, (unsigned long long)seed);
		if (fclose(f)) {
			fprintf(stderr, "medius-replay synth: --summary %s: write error\n", summary);
			goto out;
		}
	}
	printf("%s: %llu calls, %zu records (%llu SIP, %llu RTP, %llu RTCP; %llu lost before the capture)\n", out,
	       (unsigned long long)s->calls, s->nrecs, (unsigned long long)s->sip, (unsigned long long)s->rtp,
	       (unsigned long long)s->rtcp, (unsigned long long)s->lost);
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "medius-replay synth: out of memory\n");
	rc = 70;
out:
	if (dump)
		pcap_dump_close(dump);
	if (pdump)
		pcap_dump_close(pdump);
	if (pd)
		pcap_close(pd);
	free(s->recs);
	free(s->data);
	return rc;
usage:
	synth_usage(stderr);
	return 64;
}
