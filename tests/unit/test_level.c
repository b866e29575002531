/* SPDX-License-Identifier: MIT
 * RFC 6464 audio levels on a way in (mixer/mx_level.c): the level read
 * from a packet's header extension, and the gate that does not decode
 * quiet audio and resumes decoding with a warm-up, measured against a
 * decoder that decoded everything. Also the mixer's side: a frame given
 * as a level without audio, and the quiet threshold the room uses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_int.h"
#include "audio_util.h"

/* ---- the level in a packet ---- */

static int parse(uint16_t prof, const uint8_t *b, size_t len, uint8_t id, bool *bad)
{
	struct dp_rtp_frame f = { .ext = b, .ext_len = (uint16_t)len, .ext_profile = prof };

	return mx_level_parse(&f, id, bad);
}

Test(level, parse_one_byte_two_byte_and_bad_blocks)
{
	static const uint8_t one[] = { 0x22, 0x01, 0x02, 0x03, 0x30, 0xc5, 0x00, 0x00 }; /* id 2 (3 bytes), id 3: V, 69 */
	static const uint8_t two[] = { 0x00, 0x07, 0x01, 0x30, 0x09, 0x02, 0xaa, 0xbb }; /* pad, id 7: 48, id 9 */
	static const uint8_t empty2[] = { 0x07, 0x00, 0x00, 0x00 };                      /* id 7 with no data */
	static const uint8_t cut[] = { 0x30, 0x45, 0x2f, 0x00 };                         /* id 3: 69, id 2 past the end */
	struct dp_rtp_frame none = { .len = 0 };
	bool bad;

	cr_assert_eq(parse(0xbede, one, sizeof(one), 3, &bad), 69);
	cr_assert(!bad);
	cr_assert_eq(parse(0xbede, one, sizeof(one), 4, &bad), -1);
	cr_assert(!bad);
	cr_assert_eq(parse(0xbede, one, sizeof(one), 0, &bad), -1); /* no extmap id: not looked at */
	cr_assert_eq(parse(0x1000, two, sizeof(two), 7, &bad), 48);
	cr_assert(!bad);
	cr_assert_eq(parse(0x1000, empty2, sizeof(empty2), 7, &bad), -1);
	cr_assert(bad);
	cr_assert_eq(parse(0xbede, cut, sizeof(cut), 3, &bad), -1);
	cr_assert(bad);
	cr_assert_eq(parse(0x0005, one, sizeof(one), 3, &bad), -1); /* not RFC 8285: no level, not malformed */
	cr_assert(!bad);
	cr_assert_eq(mx_level_parse(&none, 3, &bad), -1);
	cr_assert(!bad);
}

/* ---- the gate ---- */

#define RATE 16000u
#define FR 320u           /* 20 ms at the room's 16 kHz */
#define NPKT 150          /* 3 s */
#define RESUME 100        /* the packet where speech comes back (2.0 s) */

struct cap {
	int16_t pcm[NPKT + 8][FR];
	size_t got;           /* samples handed on so far */
	struct mx_level_gate *g;
	unsigned warm_seen;   /* PCM that came while the gate said discard */
};

static void cap_pcm(void *ctx, const int16_t *pcm, size_t n)
{
	struct cap *c = ctx;

	if (c->g && c->g->discard) { /* what the way in's gate_pcm drops */
		c->warm_seen += (unsigned)n;
		return;
	}
	for (size_t i = 0; i < n && c->got < (size_t)(NPKT + 8) * FR; i++, c->got++)
		c->pcm[c->got / FR][c->got % FR] = pcm[i];
}

static void cap_ev(void *ctx, const struct cdc_ev *ev) { (void)ctx; (void)ev; }

struct stream {
	struct cdc_format f;
	uint8_t pt;
	uint8_t pay[NPKT][1500];
	uint16_t len[NPKT];
	uint32_t ts[NPKT];
	int level[NPKT];
};

/* 0-1 s speech, 1-2 s low noise (about -66 dBov), 2-3 s speech again:
 * encoded by codecs/' encoder, each packet's level measured as a sender
 * does (RMS, -dBov). */
static void make_stream(struct stream *s, const char *rtpmap, uint8_t pt)
{
	struct cdc_sink_conf kc = { .out_pt = pt, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = RATE, .in_channels = 1 };
	static int16_t sig[NPKT * FR];
	struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	struct cdc_sink *k;
	uint32_t seed = 99;

	cr_assert_eq(cdc_format_parse(rtpmap, NULL, &s->f), 0);
	kc.out = s->f;
	s->pt = pt;
	k = cdc_sink_create(&kc);
	cr_assert_not_null(k);
	au_speech(sig, NPKT * FR, RATE, 7);
	for (size_t i = 50 * FR; i < 100 * FR; i++) {
		seed = seed * 1664525u + 1013904223u;
		sig[i] = (int16_t)((int32_t)(seed >> 16) % 31 - 15);
	}
	for (unsigned i = 0; i < NPKT; i++) {
		double r = au_rms(sig + i * FR, FR);
		int n = cdc_sink_write(k, sig + i * FR, FR, out, 0);

		cr_assert_eq(n, 1);
		memcpy(s->pay[i], out[0].payload, out[0].len);
		s->len[i] = out[0].len;
		s->ts[i] = out[0].ts;
		s->level[i] = r < 1 ? 127 : (int)lrint(-20 * log10(r / 32768.0));
		if (s->level[i] > 127)
			s->level[i] = 127;
	}
	cdc_sink_destroy(k);
	cr_assert_gt(s->level[75], 55, "the quiet part is quiet: %d", s->level[75]);
	cr_assert_lt(s->level[RESUME + 2], 40, "speech is loud: %d", s->level[RESUME + 2]);
}

/* Play s through a decode half at the room's rate, behind a gate with
 * warm-up warm_ms (gate NULL: everything decoded, the reference). */
static void play(const struct stream *s, struct cap *c, bool gated, unsigned warm_ms, struct mx_level_gate *g,
		 uint8_t *warm_mem)
{
	struct cdc_src_conf sc = { .in = s->f, .in_pt = s->pt, .in_te_pt = -1, .in_cn_pt = -1,
				   .dtmf = CDC_DTMF_DROP, .out_rate = RATE, .out_channels = 1 };
	struct cdc_src *src;

	memset(c, 0, sizeof(*c));
	c->g = gated ? g : NULL;
	src = cdc_src_create(&sc, &(struct cdc_src_out){ cap_pcm, cap_ev, NULL, c });
	cr_assert_not_null(src);
	if (gated)
		mx_level_gate_init(g, src, s->pt, s->f.clock_rate, warm_ms, warm_mem, 1500);
	for (unsigned i = 0; i < NPKT; i++) {
		struct dp_rtp_frame p = { .pt = s->pt, .seq = (uint16_t)i, .ts = s->ts[i], .ssrc = 1,
					  .payload = s->pay[i], .len = s->len[i] };

		if (!gated) {
			cdc_src_push(src, p.pt, p.ts, p.marker, p.payload, p.len);
			continue;
		}
		{
			bool decoded = mx_level_gate_push(g, &p, s->level[i], MX_MIXER_VAD_FLOOR);
			bool skipped;

			cr_assert_eq(decoded, s->level[i] <= MX_MIXER_VAD_FLOOR, "packet %u", i);
			cr_assert_eq(mx_level_gate_level(g, s->ts[i], &skipped), s->level[i]);
			cr_assert_eq(skipped, !decoded);
			if (!decoded) /* the clock tries to conceal: nothing, there is no timeline */
				cr_assert_eq(cdc_src_fill_to(src, s->ts[i] + s->ts[1] - s->ts[0]), 0);
		}
	}
	cdc_src_destroy(src);
}

/* SNR (dB) of x against the reference over n samples. */
static double snr(const int16_t *ref, const int16_t *x, size_t n)
{
	double e = 0, d = 0;

	for (size_t i = 0; i < n; i++) {
		e += (double)ref[i] * ref[i];
		d += ((double)ref[i] - x[i]) * ((double)ref[i] - x[i]);
	}
	return d == 0 ? 99 : 10 * log10(e / d);
}

/* Largest sample-to-sample step (a click) in the first n samples. */
static int max_step(const int16_t *x, size_t n)
{
	int m = 0;

	for (size_t i = 1; i < n; i++)
		if (abs(x[i] - x[i - 1]) > m)
			m = abs(x[i] - x[i - 1]);
	return m;
}

static struct stream S;
static struct cap REF, WARM, COLD;
static struct mx_level_gate G;
static uint8_t WMEM[MX_LEVEL_WARM_PKTS * 1500];

static void resume_case(const char *rtpmap, uint8_t pt, double min_warm_snr)
{
	unsigned quiet = 0;
	double sw[2], sc[2];

	make_stream(&S, rtpmap, pt);
	for (unsigned i = 0; i < NPKT; i++)
		quiet += S.level[i] > MX_MIXER_VAD_FLOOR;
	play(&S, &REF, false, 0, NULL, NULL);
	play(&S, &COLD, true, 0, &G, NULL);
	cr_assert_eq(G.skipped, quiet);
	cr_assert_eq(G.warm_decoded, 0);
	play(&S, &WARM, true, mx_level_warm_ms(&S.f), &G, WMEM);
	cr_assert_eq(G.skipped, quiet);
	cr_assert_geq(G.resumes, 1);
	cr_assert_eq(G.warm_decoded, mx_level_warm_ms(&S.f) / 20 * G.resumes, "20 ms packets per resume: %llu",
		     (unsigned long long)G.warm_decoded);
	/* skipped audio is not handed on, nor is the warm-up's */
	cr_assert_eq(REF.got, (size_t)NPKT * FR);
	cr_assert_eq(WARM.got, (size_t)(NPKT - quiet) * FR);
	cr_assert_eq(COLD.got, WARM.got);
	cr_assert_eq(WARM.warm_seen, mx_level_warm_ms(&S.f) / 20 * G.resumes * FR);
	/* before the quiet part, every frame is the reference's */
	for (unsigned i = 0; i < 50 && S.level[i] <= MX_MIXER_VAD_FLOOR; i++)
		cr_assert_eq(memcmp(WARM.pcm[i], REF.pcm[i], sizeof(REF.pcm[i])), 0, "frame %u", i);
	/* the first 20 and 40 ms after the resume, against the reference's */
	{
		unsigned k = (unsigned)(WARM.got / FR) - (NPKT - RESUME); /* where packet RESUME's audio went */
		int16_t ref[2 * FR], w[2 * FR], c[2 * FR];

		memcpy(ref, REF.pcm[RESUME], sizeof(ref));
		memcpy(w, WARM.pcm[k], sizeof(w));
		memcpy(c, COLD.pcm[k], sizeof(c));
		sw[0] = snr(ref, w, FR);
		sw[1] = snr(ref, w, 2 * FR);
		sc[0] = snr(ref, c, FR);
		sc[1] = snr(ref, c, 2 * FR);
		printf("level gate %s: resume SNR vs. a decoder that never skipped: warm-up %.1f dB (20 ms) "
		       "%.1f dB (40 ms), cold %.1f dB / %.1f dB; largest step ref %d warm %d cold %d\n",
		       rtpmap, sw[0], sw[1], sc[0], sc[1], max_step(ref, FR), max_step(w, FR), max_step(c, FR));
		cr_assert_geq(sw[0], min_warm_snr, "warm-up: %.1f dB", sw[0]);
		cr_assert_gt(sw[0], sc[0] + 10, "the warm-up is worth it: %.1f vs %.1f dB", sw[0], sc[0]);
		/* no click: no step larger than the reference's own by more than a quarter */
		cr_assert_leq(max_step(w, FR), max_step(ref, FR) * 5 / 4, "warm step %d vs %d", max_step(w, FR),
			      max_step(ref, FR));
		/* later frames: all back to the reference */
		cr_assert_geq(snr(REF.pcm[RESUME + 10], WARM.pcm[k + 10], FR), 25);
	}
}

Test(level, g722_resume_after_skipped_quiet_packets)
{
	resume_case("G722/8000", 9, 25);
}

Test(level, opus_resume_after_skipped_quiet_packets)
{
	resume_case("opus/48000/2", 111, 30);
}

/* ---- the mixer's side ---- */

Test(level, mixer_takes_a_level_without_audio)
{
	struct mx_mixer_conf mc = { .rate = RATE, .frame_ms = 20, .max_talkers = 3, .max_parts = 4 };
	struct mx_mixer *m = mx_mixer_create(&mc, NULL);
	int a = mx_mixer_join(m), b = mx_mixer_join(m);
	int16_t *in;

	cr_assert_eq(mx_mixer_quiet_level(m, 3), -1);
	/* a steady background at -40 dBov, given as levels without audio: the
	 * noise floor creeps up to it (3 dB/s from -55), then -40 is no longer
	 * speech and the threshold is 9 dB louder; b gives nothing: 127 */
	cr_assert_eq(mx_mixer_quiet_level(m, a), MX_MIXER_VAD_FLOOR - MX_MIXER_VAD_ABOVE_NOISE);
	for (int t = 0; t < 400; t++) {
		mx_mixer_input_done(m, a, false, 40);
		mx_mixer_input_done(m, b, false, -1);
		mx_mixer_run(m);
		cr_assert_eq(mx_mixer_level(m, a), 40);
		cr_assert_eq(mx_mixer_level(m, b), 127);
	}
	cr_assert(!mx_mixer_is_talker(m, a));
	cr_assert(mx_mixer_quiet_level(m, a) == 30 || mx_mixer_quiet_level(m, a) == 31, "%d",
		  mx_mixer_quiet_level(m, a));
	cr_assert_eq(mx_mixer_quiet_level(m, b), MX_MIXER_VAD_FLOOR); /* silence: the absolute floor */
	/* a's speech at -20 dBov, its level given with its audio: a talker at once */
	in = mx_mixer_input(m, a);
	au_tone(in, mx_mixer_frame(m), 440, 3000, RATE);
	mx_mixer_input_done(m, a, true, 20);
	mx_mixer_input_done(m, b, false, -1);
	mx_mixer_run(m);
	cr_assert(mx_mixer_is_talker(m, a));
	cr_assert_eq(mx_mixer_level(m, a), 20);
	/* then quiet levels without audio: talker for the hangover, not after */
	for (unsigned t = 0; t < MX_MIXER_HANGOVER_MS / 20 + 2; t++) {
		mx_mixer_input_done(m, a, false, 90);
		mx_mixer_input_done(m, b, false, -1);
		mx_mixer_run(m);
		cr_assert_eq(mx_mixer_is_talker(m, a), t + 1 < MX_MIXER_HANGOVER_MS / 20, "tick %u", t);
		/* what it says meanwhile is silence */
		cr_assert_eq(au_rms(mx_mixer_output(m, b, NULL), mx_mixer_frame(m)), 0);
	}
	mx_mixer_destroy(m);
}
