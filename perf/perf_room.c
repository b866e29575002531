/* SPDX-License-Identifier: MIT
 * perf_room: what a conference room's media work costs per participant,
 * in process, without packets: per 20 ms tick every participant's packet
 * is decoded (codecs/ cdc_src, at the room's 16 kHz), the mixing core
 * (mixer/ mx_mixer: talker detection, N-1) runs, and each participant's
 * output is encoded (codecs/ cdc_sink) and its payload copied out, as
 * mx_room does. Three participants talk (tones), the rest are silent.
 *
 * Rounds alternate between:
 *   shared   listeners of one codec share one encoding of the common mix
 *            (mx_room's groups), talkers encode their own N-1;
 *   own      every participant has its own encoder (what Janus and
 *            FreeSWITCH do);
 *   levels   as shared, and every participant's packets carry an RFC 6464
 *            audio level which mx_room's path reads (mx_level_parse on the
 *            packet's extension block) and which goes through the same gate
 *            (mx_level_gate_push, with mx_mixer_quiet_level's threshold for
 *            non-talkers): the silent ones are not decoded at all, the
 *            mixer gets their level without audio; the talkers are decoded
 *            and their level given (what the 2,000 Opus
 *            participants need).
 * It prints TSC cycles per participant and tick split into decode, mix
 * and encode+copy, and participants per core (a core's 20 ms divided by
 * the cost per participant), for PCMU and Opus rooms of 10, 50 and 200.
 *
 *   perf_room [--rounds R] [--ticks T]
 *   perf_room --one CODEC N MODE [--ticks T]   one room only (CODEC PCMU or
 *            Opus, MODE shared, own or levels), for callgrind: a silent
 *            participant's input work per tick is in_silent_decoded
 *            (shared, own) or in_silent_levels (levels):
 *     valgrind --tool=callgrind --toggle-collect=in_silent_decoded \
 *       --toggle-collect=in_silent_levels perf_room --one Opus 10 levels
 * Packet I/O is not included: ./medius bench relay measures it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "mx_int.h"

#define RATE 16000
#define FRAME 320
#define TALKERS 3

enum mode { SHARED, OWN, LEVELS, MODES };
static const char *const mode_name[MODES] = { "shared", "own", "levels" };

struct participant {
	struct cdc_src *src;
	struct mx_level_gate gate;
	int level[50];         /* its packets' levels, as a sender measures them */
	struct cdc_sink *own;
	struct mx_mixer *m;
	int id;
	int16_t *in;
	size_t got;
	uint8_t pkt[50][1500]; /* a second of its own packets, replayed */
	uint16_t len[50];
	uint8_t sent[1500];    /* what the packetiser would send it */
};

static void on_pcm(void *ctx, const int16_t *pcm, size_t n)
{
	struct participant *p = ctx;

	if (p->gate.discard) /* a warm-up's: mx_ep's gate_pcm drops it */
		return;
	if (p->got + n <= FRAME)
		memcpy(p->in + p->got, pcm, n * sizeof(int16_t));
	p->got += n;
}

static void on_ev(void *ctx, const struct cdc_ev *ev) { (void)ctx; (void)ev; }

static volatile uint32_t sink_bytes;

/* A silent participant's input work in a tick, decoded (no levels). */
__attribute__((noinline)) void in_silent_decoded(struct participant *p, int pt, uint32_t ts, bool first,
						 unsigned k)
{
	cdc_src_push(p->src, (uint8_t)pt, ts, first, p->pkt[k], p->len[k]);
	mx_mixer_input_done(p->m, p->id, p->got >= FRAME, -1);
}

/* A participant's input work with levels, as mx_room does it: the level
 * read from the packet's header extension (one-byte form, id 1), then the
 * gate with the mixer's quiet threshold unless it is a talker; the mixer
 * gets the level, with the audio when it was decoded. */
static void in_levels(struct participant *p, int pt, uint32_t ts, bool first, unsigned k)
{
	uint8_t ext[4] = { 0x10, (uint8_t)(0x80 | p->level[k]), 0, 0 };
	struct dp_rtp_frame f = { .pt = (uint8_t)pt, .marker = first, .ts = ts, .payload = p->pkt[k],
				  .len = p->len[k], .ext = ext, .ext_len = 4, .ext_profile = 0xbede };
	bool bad;
	int level = mx_level_parse(&f, 1, &bad);
	int quiet = mx_mixer_is_talker(p->m, p->id) ? -1 : mx_mixer_quiet_level(p->m, p->id);

	if (mx_level_gate_push(&p->gate, &f, level, quiet))
		mx_mixer_input_done(p->m, p->id, p->got >= FRAME, level);
	else
		mx_mixer_input_done(p->m, p->id, false, level);
}

__attribute__((noinline)) void in_silent_levels(struct participant *p, int pt, uint32_t ts, bool first,
						unsigned k)
{
	in_levels(p, pt, ts, first, k);
}

struct cost { double decode, mix, encode; };

static struct cost run(const char *rtpmap, int pt, unsigned n, enum mode mode, unsigned ticks)
{
	struct mx_mixer_conf mc = { .rate = RATE, .frame_ms = 20, .max_talkers = TALKERS, .max_parts = n };
	struct cdc_src_conf sc = { .in_pt = (uint8_t)pt, .in_te_pt = -1, .in_cn_pt = -1, .dtmf = CDC_DTMF_DROP,
				   .out_rate = RATE, .out_channels = 1 };
	struct cdc_sink_conf kc = { .out_pt = (uint8_t)pt, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = RATE, .in_channels = 1 };
	static struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	struct participant *ps = calloc(n, sizeof(*ps));
	struct mx_mixer *m = mx_mixer_create(&mc, NULL);
	struct cdc_sink *shared = NULL, *gen;
	uint64_t t_dec = 0, t_mix = 0, t_enc = 0;
	int16_t tone[FRAME];
	struct cost c;

	cdc_format_parse(rtpmap, NULL, &sc.in);
	kc.out = sc.in;
	gen = cdc_sink_create(&kc);
	shared = cdc_sink_create(&kc);
	if (!ps || !m || !gen || !shared) {
		fprintf(stderr, "perf_room: set-up failed\n");
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		struct participant *p = &ps[i];

		p->m = m;
		p->id = mx_mixer_join(m);
		p->in = mx_mixer_input(m, p->id);
		p->src = cdc_src_create(&sc, &(struct cdc_src_out){ on_pcm, on_ev, NULL, p });
		mx_level_gate_init(&p->gate, p->src, (uint8_t)pt, sc.in.clock_rate, 0, NULL, 0);
		if (mode == OWN || i < TALKERS)
			p->own = cdc_sink_create(&kc);
		for (unsigned k = 0; k < 50; k++) { /* its packets: a tone for talkers, silence for the rest */
			for (int j = 0; j < FRAME; j++)
				tone[j] = i < TALKERS ? (int16_t)(6000 * sin(2 * M_PI * (300 + 200 * i) * (k * FRAME + j) / RATE)) : 0;
			cdc_sink_write(gen, tone, FRAME, out, 0);
			p->level[k] = i < TALKERS ? 18 : 127; /* RMS of the 6000 peak tone: -17.7 dBov */
			memcpy(p->pkt[k], out[0].payload, out[0].len);
			p->len[k] = out[0].len;
		}
	}
	for (unsigned t = 0; t < ticks; t++) {
		uint64_t t0 = __rdtsc(), t1, t2;
		int ns = -1;

		for (unsigned i = 0; i < n; i++) {
			struct participant *p = &ps[i];
			bool silent = i >= TALKERS;

			p->got = 0;
			if (mode == LEVELS) {
				if (silent)
					in_silent_levels(p, pt, t * (sc.in.clock_rate / 50u), t == 0, t % 50);
				else
					in_levels(p, pt, t * (sc.in.clock_rate / 50u), t == 0, t % 50);
				continue;
			}
			if (silent) {
				in_silent_decoded(p, pt, t * (sc.in.clock_rate / 50u), t == 0, t % 50);
				continue;
			}
			cdc_src_push(p->src, (uint8_t)pt, t * (sc.in.clock_rate / 50u), t == 0, p->pkt[t % 50],
				     p->len[t % 50]);
			mx_mixer_input_done(m, p->id, p->got >= FRAME, -1);
		}
		t1 = __rdtsc();
		mx_mixer_run(m);
		t2 = __rdtsc();
		for (unsigned i = 0; i < n; i++) {
			bool is_shared;
			const int16_t *o = mx_mixer_output(m, ps[i].id, &is_shared);
			int k;

			if (!o)
				continue;
			if (mode != OWN && is_shared) {
				if (ns < 0)
					ns = cdc_sink_write(shared, o, FRAME, out, 0);
				k = ns;
			} else if (ps[i].own) {
				k = cdc_sink_write(ps[i].own, o, FRAME, out, 0);
			} else { /* cannot happen: only the talkers hear their own mix */
				fprintf(stderr, "perf_room: participant %u is not a talker but hears its own mix\n", i);
				exit(1);
			}
			if (k > 0) { /* the packetiser's copy into the packet */
				memcpy(ps[i].sent, out[0].payload, out[0].len);
				sink_bytes += out[0].len;
			}
		}
		t_dec += t1 - t0;
		t_mix += t2 - t1;
		t_enc += __rdtsc() - t2;
	}
	c.decode = (double)t_dec / ticks / n;
	c.mix = (double)t_mix / ticks / n;
	c.encode = (double)t_enc / ticks / n;
	for (unsigned i = 0; i < n; i++) {
		cdc_src_destroy(ps[i].src);
		cdc_sink_destroy(ps[i].own);
	}
	cdc_sink_destroy(gen);
	cdc_sink_destroy(shared);
	mx_mixer_destroy(m);
	free(ps);
	return c;
}

static double tsc_hz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec) < 2e8);
	t1 = __rdtsc();
	return (double)(t1 - t0) / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
}

int main(int argc, char **argv)
{
	static const struct { const char *name, *rtpmap; int pt; } codecs[] = {
		{ "PCMU", "PCMU/8000", 0 }, { "Opus", "opus/48000/2", 96 } };
	static const unsigned sizes[] = { 10, 50, 200 };
	unsigned rounds = 3, ticks = 250;
	double hz = tsc_hz();

	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--ticks"))
			ticks = (unsigned)atoi(argv[i + 1]);
	if (argc >= 5 && !strcmp(argv[1], "--one")) {
		int c = !strcmp(argv[2], "Opus");
		int md = !strcmp(argv[4], "own") ? OWN : !strcmp(argv[4], "levels") ? LEVELS : SHARED;
		struct cost x = run(codecs[c].rtpmap, codecs[c].pt, (unsigned)atoi(argv[3]), (enum mode)md, ticks);

		printf("%s %s %s: decode %.0f mix %.0f encode %.0f TSC cycles per participant and tick\n",
		       codecs[c].name, argv[3], mode_name[md], x.decode, x.mix, x.encode);
		return 0;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ticks"))
			ticks = (unsigned)atoi(argv[i + 1]);
	}
	printf("conference media work per participant and 20 ms tick, 16 kHz room, %d talkers (TSC %.2f GHz, "
	       "best of %u alternating rounds of %u ticks; no packet I/O)\n", TALKERS, hz / 1e9, rounds, ticks);
	printf("%-5s %5s %-7s %9s %9s %9s %9s %12s\n", "codec", "room", "mode", "decode", "mix", "encode", "total",
	       "part./core");
	for (unsigned c = 0; c < 2; c++)
		for (unsigned s = 0; s < 3; s++) {
			struct cost best[MODES];
			double tot[MODES];

			for (int md = 0; md < MODES; md++)
				best[md] = (struct cost){ 1e12, 1e12, 1e12 };
			for (unsigned r = 0; r < rounds; r++)
				for (int md = 0; md < MODES; md++) {
					struct cost x = run(codecs[c].rtpmap, codecs[c].pt, sizes[s], (enum mode)md, ticks);

					if (x.decode + x.mix + x.encode < best[md].decode + best[md].mix + best[md].encode)
						best[md] = x;
				}
			for (int md = 0; md < MODES; md++) {
				tot[md] = best[md].decode + best[md].mix + best[md].encode;
				printf("%-5s %5u %-7s %9.0f %9.0f %9.0f %9.0f %12.0f\n", codecs[c].name, sizes[s], mode_name[md],
				       best[md].decode, best[md].mix, best[md].encode, tot[md], hz * 0.020 / tot[md]);
			}
			printf("%-5s %5u shared is x%.1f own's participants per core; levels x%.1f\n", codecs[c].name,
			       sizes[s], tot[OWN] / tot[SHARED], tot[OWN] / tot[LEVELS]);
		}
	return 0;
}
