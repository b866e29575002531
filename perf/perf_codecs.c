/* SPDX-License-Identifier: MIT
 * perf_codecs: what a medius transcode chain costs next to the raw library
 * calls doing the same work, measured side by side in one run.
 *
 * For each pair, 10 s of speech-like audio is encoded once into 20 ms
 * payloads. Then, in alternating rounds (chain, raw, chain, raw, ...):
 *   chain: cdc_chain_push for every payload (decode, resample if needed,
 *          re-frame, encode, bookkeeping);
 *   raw:   the same library calls with nothing around them: libopus /
 *          SpanDSP G.722 / SpanDSP G.711 decode, speexdsp resample when the
 *          rates differ, and the encoder of the other side.
 * The median round of each is reported, and the median of the per-round
 * ratios (each chain round against the raw round right after it, so that
 * machine noise mostly cancels): the chain's overhead. Goal: at most 1.10. Channels per core = 20 ms / cost per frame
 * (one direction of one call on one core).
 */
#include <math.h>
#include <opus/opus.h>
#include <spandsp.h>
#include <speex/speex_resampler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_util.h"
#include "cdc.h"

#define SECONDS 4
#define FRAMES (SECONDS * 50)
#define ROUNDS 15

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- the raw path: library calls only ---- */

struct raw {
	struct cdc_format in, out;
	uint32_t dec_rate, enc_rate;
	OpusDecoder *od;
	OpusEncoder *oe;
	g722_decode_state_t *gd;
	g722_encode_state_t *ge;
	SpeexResamplerState *rs;
	int16_t pcm[5760], pcm2[5760], acc[5760];
	size_t acc_len;
	uint8_t out_buf[4000];
};

static bool opus_rate(uint32_t r) { return r == 8000 || r == 16000 || r == 24000 || r == 48000; }

static void raw_init(struct raw *r, const struct cdc_format *in, const struct cdc_format *out)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->in = *in;
	r->out = *out;
	/* the same rates the chain picks: Opus runs at the other side's rate */
	r->dec_rate = in->sample_rate;
	r->enc_rate = out->sample_rate;
	if (in->codec == CDC_OPUS && out->codec != CDC_OPUS && opus_rate(out->sample_rate))
		r->dec_rate = out->sample_rate;
	if (out->codec == CDC_OPUS && in->codec != CDC_OPUS && opus_rate(in->sample_rate))
		r->enc_rate = in->sample_rate;
	if (in->codec == CDC_OPUS)
		r->od = opus_decoder_create((opus_int32)r->dec_rate, 1, &err);
	if (in->codec == CDC_G722)
		r->gd = g722_decode_init(NULL, 64000, 0);
	if (out->codec == CDC_OPUS) {
		r->oe = opus_encoder_create((opus_int32)r->enc_rate, 1, OPUS_APPLICATION_VOIP, &err);
		opus_encoder_ctl(r->oe, OPUS_SET_COMPLEXITY(CDC_OPUS_DEFAULT_COMPLEXITY));
		opus_encoder_ctl(r->oe, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	}
	if (out->codec == CDC_G722)
		r->ge = g722_encode_init(NULL, 64000, 0);
	if (r->dec_rate != r->enc_rate)
		r->rs = speex_resampler_init(1, r->dec_rate, r->enc_rate, CDC_RESAMPLE_DEFAULT_QUALITY, &err);
}

static void raw_fini(struct raw *r)
{
	if (r->od)
		opus_decoder_destroy(r->od);
	if (r->oe)
		opus_encoder_destroy(r->oe);
	if (r->gd)
		g722_decode_free(r->gd);
	if (r->ge)
		g722_encode_free(r->ge);
	if (r->rs)
		speex_resampler_destroy(r->rs);
}

static size_t raw_frame(struct raw *r, const uint8_t *p, size_t len)
{
	int n = 0;
	size_t total = 0, frame = r->enc_rate / 50;
	const int16_t *src = r->pcm;

	switch (r->in.codec) {
	case CDC_OPUS: n = opus_decode(r->od, p, (opus_int32)len, r->pcm, 5760, 0); break;
	case CDC_G722: n = g722_decode(r->gd, r->pcm, p, (int)len); break;
	case CDC_PCMU: for (size_t i = 0; i < len; i++) r->pcm[i] = ulaw_to_linear(p[i]); n = (int)len; break;
	case CDC_PCMA: for (size_t i = 0; i < len; i++) r->pcm[i] = alaw_to_linear(p[i]); n = (int)len; break;
	default: break;
	}
	if (r->rs) {
		spx_uint32_t in_len = (spx_uint32_t)n, out_len = 5760;

		speex_resampler_process_int(r->rs, 0, r->pcm, &in_len, r->pcm2, &out_len);
		n = (int)out_len;
		src = r->pcm2;
	}
	memcpy(r->acc + r->acc_len, src, (size_t)n * sizeof(int16_t));
	r->acc_len += (size_t)n;
	while (r->acc_len >= frame) {
		switch (r->out.codec) {
		case CDC_OPUS: total += (size_t)opus_encode(r->oe, r->acc, (int)frame, r->out_buf, 4000); break;
		case CDC_G722: total += (size_t)g722_encode(r->ge, r->out_buf, r->acc, (int)frame); break;
		case CDC_PCMU: for (size_t i = 0; i < frame; i++) r->out_buf[i] = linear_to_ulaw(r->acc[i]); total += frame; break;
		case CDC_PCMA: for (size_t i = 0; i < frame; i++) r->out_buf[i] = linear_to_alaw(r->acc[i]); total += frame; break;
		default: break;
		}
		memmove(r->acc, r->acc + frame, (r->acc_len - frame) * sizeof(int16_t));
		r->acc_len -= frame;
	}
	return total;
}

/* ---- one pair ---- */

struct pair {
	const char *name, *in, *out;
};

static volatile size_t sink;

static void bench_pair(const struct pair *pr, double *chain_us, double *raw_us, double *ratio)
{
	struct cdc_format in, out;
	struct cdc_enc *enc;
	static uint8_t payload[FRAMES][1500];
	static size_t plen[FRAMES];
	static struct cdc_pkt outp[CDC_CHAIN_MAX_OUT];
	double tc[ROUNDS], tr[ROUNDS], q[ROUNDS];
	int16_t *sig;
	uint32_t frame;

	cdc_format_parse(pr->in, NULL, &in);
	cdc_format_parse(pr->out, NULL, &out);
	frame = cdc_frame_samples(&in, 20);
	sig = malloc(sizeof(int16_t) * frame * FRAMES);
	au_speech(sig, (size_t)frame * FRAMES, in.sample_rate, 7);
	enc = cdc_enc_create(&in, NULL);
	for (int i = 0; i < FRAMES; i++)
		plen[i] = (size_t)cdc_encode(enc, sig + (size_t)i * frame, frame, payload[i], sizeof(payload[i]));
	cdc_enc_destroy(enc);
	free(sig);

	for (int round = 0; round < ROUNDS; round++) {
		struct cdc_chain_conf c = { .in = in, .out = out, .in_pt = 96, .out_pt = 97, .out_ptime = 20,
					    .in_te_pt = -1, .out_te_pt = -1, .in_cn_pt = -1, .out_cn_pt = -1,
					    .dtmf = CDC_DTMF_DROP, .resample_quality = -1 };
		struct cdc_chain *ch = cdc_chain_create(&c);
		struct raw r;
		uint32_t ts = 0, step = cdc_frame_ts(&in, 20);
		double t0;
		size_t bytes = 0;

		raw_init(&r, &in, &out);
		t0 = now_s();
		for (int i = 0; i < FRAMES; i++, ts += step) {
			int n = cdc_chain_push(ch, 96, ts, i == 0, payload[i], plen[i], outp);
			for (int k = 0; k < n; k++)
				bytes += outp[k].len;
		}
		tc[round] = (now_s() - t0) / FRAMES * 1e6;
		t0 = now_s();
		for (int i = 0; i < FRAMES; i++)
			bytes += raw_frame(&r, payload[i], plen[i]);
		tr[round] = (now_s() - t0) / FRAMES * 1e6;
		q[round] = tc[round] / tr[round]; /* paired: the two ran back to back */
		sink += bytes;
		cdc_chain_destroy(ch);
		raw_fini(&r);
	}
	qsort(tc, ROUNDS, sizeof(double), cmp_double);
	qsort(tr, ROUNDS, sizeof(double), cmp_double);
	qsort(q, ROUNDS, sizeof(double), cmp_double);
	*chain_us = tc[ROUNDS / 2];
	*raw_us = tr[ROUNDS / 2];
	*ratio = q[ROUNDS / 2];
}

int main(void)
{
	static const struct pair pairs[] = {
		{ "opus48k -> pcmu", "opus/48000/2", "PCMU/8000" },
		{ "pcmu -> opus48k", "PCMU/8000", "opus/48000/2" },
		{ "opus48k -> g722", "opus/48000/2", "G722/8000" },
		{ "g722 -> opus48k", "G722/8000", "opus/48000/2" },
		{ "g722 -> pcmu", "G722/8000", "PCMU/8000" },
		{ "pcmu -> g722", "PCMU/8000", "G722/8000" },
		{ "pcmu -> pcma", "PCMU/8000", "PCMA/8000" },
		{ "pcma -> pcmu", "PCMA/8000", "PCMU/8000" },
	};
	int met = 0;

	printf("medius transcode chains vs the raw libraries, same run, 20 ms frames,\n"
	       "%d s of speech-like audio per round, medians of %d alternating rounds; G.711 kernels: %s\n"
	       "ratio = median of per-round chain/raw\n\n",
	       SECONDS, ROUNDS, cdc_isa_name(cdc_isa_active()));
	printf("%-18s %12s %12s %8s %16s %8s\n", "pair", "chain us/fr", "raw us/fr", "ratio",
	       "channels/core", "<=1.10");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		double c, r, q;

		bench_pair(&pairs[i], &c, &r, &q);
		printf("%-18s %12.2f %12.2f %8.3f %16.0f %8s\n", pairs[i].name, c, r, q, 20000.0 / c,
		       q <= 1.10 ? "yes" : "NO");
		fflush(stdout);
		met += q <= 1.10;
	}
	printf("\nchain overhead goal (<= 1.10x the raw libraries): met for %d of %zu pairs\n", met,
	       sizeof(pairs) / sizeof(pairs[0]));
	return 0;
}
