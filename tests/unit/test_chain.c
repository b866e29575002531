/* Unit tests: transcode chains (codecs/cdc_chain.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_util.h"
#include "cdc.h"

static struct cdc_pkt outbuf[CDC_CHAIN_MAX_OUT];

/* Everything a test needs from one run: the decoded output and packets. */
struct run {
	int16_t *pcm; /* decoded output, at the out format's rate */
	size_t n;
	uint32_t ts[4096];
	bool marker[4096];
	uint8_t pt[4096];
	uint8_t payload[4096][4];
	int npkt;
};

static void run_free(struct run *r) { free(r->pcm); }

struct cdc_chain_conf conf_of(const char *in, const char *out, unsigned out_ptime)
{
	struct cdc_chain_conf c = { .in_pt = 96, .out_pt = 97, .out_ptime = out_ptime, .in_te_pt = -1,
				    .out_te_pt = -1, .in_cn_pt = -1, .out_cn_pt = -1, .dtmf = CDC_DTMF_DROP,
				    .resample_quality = -1 };

	cr_assert_eq(cdc_format_parse(in, NULL, &c.in), 0);
	cr_assert_eq(cdc_format_parse(out, NULL, &c.out), 0);
	return c;
}

/* Decode every audio packet out of the chain into r (in order). */
static void collect(const struct cdc_chain_conf *c, struct cdc_dec *dec, struct cdc_pkt *p, int n,
		    struct run *r)
{
	for (int i = 0; i < n; i++) {
		if (r->npkt < 4096) {
			r->ts[r->npkt] = p[i].ts;
			r->marker[r->npkt] = p[i].marker;
			r->pt[r->npkt] = p[i].pt;
			memcpy(r->payload[r->npkt], p[i].payload, p[i].len < 4 ? p[i].len : 4);
			r->npkt++;
		}
		if (p[i].pt != c->out_pt)
			continue;
		int got = cdc_decode(dec, p[i].payload, p[i].len, r->pcm + r->n, 48000 * 4 - r->n);
		cr_assert_gt(got, 0, "chain output does not decode: %d (len %u)", got, p[i].len);
		r->n += (size_t)got;
	}
}

/* Encode `ms` of signal in the in format (in_ptime packets), send it
 * through a chain, and decode what comes out. drop(i) says whether packet i
 * is lost on the way in. */
static struct cdc_chain *transcode(const struct cdc_chain_conf *c, unsigned in_ptime, unsigned ms,
				   bool speech, bool (*drop)(int), struct run *r)
{
	struct cdc_chain *ch = cdc_chain_create(c);
	struct cdc_enc *enc = cdc_enc_create(&c->in, NULL);
	struct cdc_dec *dec = cdc_dec_create(&c->out);
	uint32_t rate = c->in.sample_rate, frame = cdc_frame_samples(&c->in, in_ptime);
	size_t total = (size_t)rate * ms / 1000;
	int16_t *sig = calloc(total + frame, sizeof(int16_t));
	uint8_t pkt[4000];
	uint32_t ts = 12345;

	cr_assert(ch && enc && dec, "chain %s -> %s", cdc_codec_name(c->in.codec), cdc_codec_name(c->out.codec));
	memset(r, 0, sizeof(*r));
	r->pcm = calloc(48000 * 4, sizeof(int16_t));
	if (speech)
		au_speech(sig, total, rate, 11);
	else
		au_tone(sig, total, 1000, 9000, rate);
	for (size_t i = 0, k = 0; i + frame <= total; i += frame, k++) {
		int len = cdc_encode(enc, sig + i, frame, pkt, sizeof(pkt));

		cr_assert_gt(len, 0);
		if (!(drop && drop((int)k))) {
			int n = cdc_chain_push(ch, c->in_pt, ts, k == 0, pkt, (size_t)len, outbuf);

			cr_assert_geq(n, 0);
			collect(c, dec, outbuf, n, r);
		}
		ts += cdc_frame_ts(&c->in, in_ptime);
	}
	free(sig);
	cdc_enc_destroy(enc);
	cdc_dec_destroy(dec);
	return ch;
}

/* The output is a continuous 1 kHz tone with consecutive timestamps. */
static void check_tone(const struct cdc_chain_conf *c, const struct run *r, unsigned ms, double min_ratio)
{
	uint32_t rate = c->out.sample_rate;
	uint32_t step = cdc_frame_ts(&c->out, c->out_ptime);
	size_t want = (size_t)rate * ms / 1000;

	cr_assert_geq(r->n + rate / 10, want, "only %zu of %zu samples came out", r->n, want);
	/* mean over 20 ms windows: concealment may shift the phase, which a
	 * single long Goertzel window would count as lost tone */
	double ratio = 0;
	int windows = 0;

	for (size_t i = rate / 5; i + rate / 50 <= r->n; i += rate / 50, windows++)
		ratio += au_tone_ratio(r->pcm + i, rate / 50, 1000, rate);
	ratio /= windows;

	cr_assert_gt(ratio, min_ratio, "the 1 kHz tone did not survive %s -> %s %u ms: %.3f",
		     cdc_codec_name(c->in.codec), cdc_codec_name(c->out.codec), c->out_ptime, ratio);
	cr_assert(r->marker[0], "the first packet carries the marker");
	for (int i = 1; i < r->npkt; i++) {
		cr_assert_eq(r->ts[i] - r->ts[i - 1], step, "packet %d: ts step %u, want %u", i,
			     r->ts[i] - r->ts[i - 1], step);
		cr_assert_not(r->marker[i], "marker on packet %d", i);
	}
}

static void tone_through(const char *in, unsigned in_ptime, const char *out, unsigned out_ptime)
{
	struct cdc_chain_conf c = conf_of(in, out, out_ptime);
	struct run r;
	struct cdc_chain *ch = transcode(&c, in_ptime, 1000, false, NULL, &r);
	struct cdc_chain_stats st;

	check_tone(&c, &r, 1000, 0.97);
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.decode_errors + st.late + st.resyncs + st.unknown_pt, 0);
	cr_assert_eq(st.out_packets, (uint64_t)r.npkt);
	cdc_chain_destroy(ch);
	run_free(&r);
}

Test(chain, opus_to_pcmu) { tone_through("opus/48000/2", 20, "PCMU/8000", 20); }
Test(chain, pcmu_to_opus) { tone_through("PCMU/8000", 20, "opus/48000/2", 20); }
Test(chain, opus_to_g722) { tone_through("opus/48000/2", 20, "G722/8000", 20); }
Test(chain, g722_to_opus) { tone_through("G722/8000", 20, "opus/48000/2", 20); }
Test(chain, g722_to_pcmu) { tone_through("G722/8000", 20, "PCMU/8000", 20); }
Test(chain, pcmu_to_g722) { tone_through("PCMU/8000", 20, "G722/8000", 20); }
Test(chain, pcmu_to_pcma) { tone_through("PCMU/8000", 20, "PCMA/8000", 20); }
Test(chain, pcma_to_pcmu) { tone_through("PCMA/8000", 20, "PCMU/8000", 20); }
Test(chain, l16_48k_to_pcmu) { tone_through("L16/48000", 20, "PCMU/8000", 20); }
Test(chain, g722_to_l16_16k) { tone_through("G722/8000", 20, "L16/16000", 20); }

Test(chain, repacketises_between_ptimes)
{
	tone_through("PCMU/8000", 20, "PCMA/8000", 30);
	tone_through("PCMA/8000", 30, "PCMU/8000", 20);
	tone_through("PCMU/8000", 60, "PCMU/8000", 10);
	tone_through("opus/48000/2", 20, "PCMU/8000", 40);
	tone_through("PCMU/8000", 20, "opus/48000/2", 30);
	tone_through("PCMU/8000", 10, "opus/48000/2", 60);
}

static bool every_7th(int k) { return k % 7 == 3; }

Test(chain, gaps_are_concealed_with_the_tone)
{
	static const char *ins[] = { "PCMU/8000", "G722/8000", "opus/48000/2" };

	for (int i = 0; i < 3; i++) {
		struct cdc_chain_conf c = conf_of(ins[i], "PCMA/8000", 20);
		struct run r;
		struct cdc_chain *ch = transcode(&c, 20, 1000, false, every_7th, &r);
		struct cdc_chain_stats st;

		check_tone(&c, &r, 1000, 0.85); /* concealment keeps the timeline and the tone */
		/* and no window falls silent, as it would if gaps were left empty */
		uint32_t w = c.out.sample_rate / 50;
		for (size_t k = c.out.sample_rate / 5; k + w <= r.n; k += w)
			cr_assert_gt(au_rms(r.pcm + k, w), 1000, "%s: a silent 20 ms at %zu", ins[i], k);
		cdc_chain_get_stats(ch, &st);
		cr_assert_eq(st.concealed_ms, 7 * 20, "%s: concealed %llu ms", ins[i], (unsigned long long)st.concealed_ms);
		cdc_chain_destroy(ch);
		run_free(&r);
	}
}

static bool long_gap(int k) { return k >= 10 && k < 30; } /* 400 ms */

Test(chain, long_gap_resyncs_with_marker)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct run r;
	struct cdc_chain *ch = transcode(&c, 20, 1000, false, long_gap, &r);
	struct cdc_chain_stats st;
	int jumps = 0;

	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.resyncs, 1);
	for (int i = 1; i < r.npkt; i++) {
		if (r.ts[i] - r.ts[i - 1] != 160) {
			jumps++;
			cr_assert_eq(r.ts[i] - r.ts[i - 1], 160 + 400 * 8, "the ts jump covers the gap");
			cr_assert(r.marker[i], "the packet after a resync carries the marker");
		}
	}
	cr_assert_eq(jumps, 1);
	cdc_chain_destroy(ch);
	run_free(&r);
}

Test(chain, late_and_unknown_packets_are_dropped_and_counted)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch = cdc_chain_create(&c);
	uint8_t pkt[160];
	struct cdc_chain_stats st;

	memset(pkt, 0xff, sizeof(pkt));
	cr_assert_eq(cdc_chain_push(ch, 96, 1000, true, pkt, 160, outbuf), 1);
	cr_assert_eq(cdc_chain_push(ch, 96, 1160, false, pkt, 160, outbuf), 1);
	cr_assert_eq(cdc_chain_push(ch, 96, 1000, false, pkt, 160, outbuf), 0, "a duplicate is late");
	cr_assert_eq(cdc_chain_push(ch, 55, 1320, false, pkt, 160, outbuf), 0);
	cr_assert_eq(cdc_chain_push(ch, 96, 1320, false, pkt, 0, outbuf), 1, "an empty payload is concealed");
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.late, 1);
	cr_assert_eq(st.unknown_pt, 1);
	cr_assert_eq(st.decode_errors, 1);
	cr_assert_eq(st.in_packets, 5);
	cdc_chain_destroy(ch);
}

Test(chain, refuses_bad_configurations)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 25);

	cr_assert_null(cdc_chain_create(&c), "25 ms is no ptime");
	c = conf_of("PCMU/8000", "L16/48000", 30);
	cr_assert_null(cdc_chain_create(&c), "2880-byte payloads do not fit");
	c = conf_of("PCMU/8000", "PCMA/8000", 20);
	c.dtmf = CDC_DTMF_PASS;
	cr_assert_null(cdc_chain_create(&c), "PASS needs telephone-event both sides");
	c.dtmf = CDC_DTMF_FROM_INBAND;
	cr_assert_null(cdc_chain_create(&c), "FROM_INBAND needs an out event PT");
	c.dtmf = CDC_DTMF_TO_INBAND;
	cr_assert_null(cdc_chain_create(&c), "TO_INBAND needs an in event PT");
	cr_assert_null(cdc_chain_create(NULL));
	cdc_chain_destroy(NULL);
}

/* ---- DTMF ---- */

/* Send `digits` as RFC 4733 events (100 ms each, 100 ms apart) among PCMU
 * audio packets of silence. */
static void send_events(struct cdc_chain *ch, const struct cdc_chain_conf *c, const char *digits,
			struct cdc_dec *dec, struct run *r, bool audio_during_event)
{
	uint8_t silence[160], te[4];
	uint32_t ts = 5000;

	memset(silence, 0xff, sizeof(silence)); /* μ-law zero */
	for (int k = 0; k < 5; k++, ts += 160)
		collect(c, dec, outbuf, cdc_chain_push(ch, c->in_pt, ts, k == 0, silence, 160, outbuf), r);
	for (const char *d = digits; *d; d++) {
		struct cdc_te_sender s;
		struct cdc_te ev;
		bool marker;
		uint32_t start = ts;

		cdc_te_sender_start(&s, (uint8_t)cdc_dtmf_event(*d), 800, 160, 10);
		while (cdc_te_sender_next(&s, &ev, &marker)) {
			cdc_te_write(&ev, te);
			collect(c, dec, outbuf, cdc_chain_push(ch, (uint8_t)c->in_te_pt, start, marker, te, 4, outbuf), r);
			if (audio_during_event && !ev.end && ts < start + 800) {
				collect(c, dec, outbuf, cdc_chain_push(ch, c->in_pt, ts, false, silence, 160, outbuf), r);
				ts += 160;
			}
		}
		if (ts < start + 800)
			ts = start + 800;
		for (int k = 0; k < 5; k++, ts += 160)
			collect(c, dec, outbuf, cdc_chain_push(ch, c->in_pt, ts, false, silence, 160, outbuf), r);
	}
}

Test(dtmf, events_pass_through_with_pt_and_clock_mapped)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "opus/48000/2", 20);
	struct cdc_chain *ch;
	struct cdc_dec *dec = cdc_dec_create(&c.out);
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	char got[8] = "";
	int ends = 0;

	c.in_te_pt = 101;
	c.out_te_pt = 110;
	c.dtmf = CDC_DTMF_PASS;
	ch = cdc_chain_create(&c);
	send_events(ch, &c, "19#", dec, &r, false);
	for (int i = 0; i < r.npkt; i++) {
		struct cdc_te te;

		if (r.pt[i] != 110)
			continue;
		cr_assert_eq(cdc_te_parse(r.payload[i], 4, &te), 0);
		if (r.marker[i])
			got[strlen(got)] = cdc_dtmf_digit(te.event);
		if (te.end) {
			ends++;
			cr_assert_eq(te.duration, 800 * 6, "duration scaled to the 48 kHz clock");
		}
	}
	cr_assert_str_eq(got, "19#");
	cr_assert_eq(ends, 9);
	cdc_chain_destroy(ch);
	cdc_dec_destroy(dec);
	run_free(&r);
}

/* Detect in-band digits in decoded audio (8 kHz). */
static void detect_digits(const int16_t *pcm, size_t n, char *out)
{
	struct cdc_dtmf_det *det = cdc_dtmf_det_create();
	struct cdc_dtmf_hit hits[8];
	size_t k = 0;

	for (size_t i = 0; i + 160 <= n; i += 160) {
		int h = cdc_dtmf_detect(det, pcm + i, 160, hits, 8);

		for (int j = 0; j < h; j++)
			if (!hits[j].end)
				out[k++] = cdc_dtmf_digit(hits[j].event);
	}
	out[k] = '\0';
	cdc_dtmf_det_destroy(det);
}

Test(dtmf, events_become_tones)
{
	for (int audio = 0; audio < 2; audio++) {
		struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
		struct cdc_chain *ch;
		struct cdc_dec *dec = cdc_dec_create(&c.out);
		struct run r = { .pcm = calloc(48000 * 4, 2) };
		char got[16];

		c.in_te_pt = 101;
		c.dtmf = CDC_DTMF_TO_INBAND;
		ch = cdc_chain_create(&c);
		cr_assert_not_null(ch);
		send_events(ch, &c, "5A*0", dec, &r, audio);
		detect_digits(r.pcm, r.n, got);
		cr_assert_str_eq(got, "5A*0", "with%s audio during events: detected '%s'", audio ? "" : "out", got);
		for (int i = 1; i < r.npkt; i++)
			cr_assert_eq(r.ts[i] - r.ts[i - 1], 160, "output timeline stays continuous");
		cdc_chain_destroy(ch);
		cdc_dec_destroy(dec);
		run_free(&r);
	}
}

Test(dtmf, tones_become_events)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "G722/8000", 20);
	struct cdc_chain *ch;
	struct cdc_dtmf_gen *gen = cdc_dtmf_gen_create(8000);
	struct cdc_enc *enc = cdc_enc_create(&c.in, NULL);
	struct cdc_dec *dec = cdc_dec_create(&c.out);
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	const char *digits = "73D";
	int16_t pcm[160];
	uint8_t pkt[160];
	uint32_t ts = 0;
	char got[8] = "";
	int ends = 0;
	struct cdc_chain_stats st;

	c.out_te_pt = 101;
	c.dtmf = CDC_DTMF_FROM_INBAND;
	ch = cdc_chain_create(&c);
	cr_assert_not_null(ch);
	for (const char *d = digits; *d; d++) {
		cdc_dtmf_gen_start(gen, (uint8_t)cdc_dtmf_event(*d), 120, -10);
		for (int k = 0; k < 15; k++, ts += 160) {
			memset(pcm, 0, sizeof(pcm));
			cdc_dtmf_gen_fill(gen, pcm, 160);
			cdc_encode(enc, pcm, 160, pkt, sizeof(pkt));
			collect(&c, dec, outbuf, cdc_chain_push(ch, 96, ts, ts == 0, pkt, 160, outbuf), &r);
		}
	}
	for (int i = 0; i < r.npkt; i++) {
		struct cdc_te te;

		if (r.pt[i] != 101)
			continue;
		cr_assert_eq(cdc_te_parse(r.payload[i], 4, &te), 0);
		if (r.marker[i])
			got[strlen(got)] = cdc_dtmf_digit(te.event);
		if (te.end) {
			ends++;
			cr_assert(te.duration > 80 * 8 && te.duration < 160 * 8, "duration %u", te.duration);
		}
	}
	cr_assert_str_eq(got, digits);
	cr_assert_eq(ends, 9, "three end packets per digit");
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_events, 3);
	cdc_chain_destroy(ch);
	cdc_dtmf_gen_destroy(gen);
	cdc_enc_destroy(enc);
	cdc_dec_destroy(dec);
	run_free(&r);
}

/* ---- comfort noise ---- */

Test(cn, silence_after_cn_is_filled_with_noise_at_its_level)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch;
	struct cdc_dec *dec = cdc_dec_create(&c.out);
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	uint8_t silence[160], cn = 40; /* -40 dBov */
	int fwd = 0;

	c.in_cn_pt = 13;
	c.out_cn_pt = -1;
	ch = cdc_chain_create(&c);
	memset(silence, 0xff, sizeof(silence));
	collect(&c, dec, outbuf, cdc_chain_push(ch, 96, 0, true, silence, 160, outbuf), &r);
	collect(&c, dec, outbuf, cdc_chain_push(ch, 13, 160, false, &cn, 1, outbuf), &r);
	collect(&c, dec, outbuf, cdc_chain_push(ch, 96, 160 + 8 * 100, false, silence, 160, outbuf), &r);
	/* 100 ms of comfort noise between the two silent packets */
	double rms = au_rms(r.pcm + 160, 800), want = 32767.0 * pow(10, -40 / 20.0);
	cr_assert(rms > want * 0.7 && rms < want * 1.4, "noise rms %.0f, want ~%.0f", rms, want);
	cdc_chain_destroy(ch);
	/* with CN on the out side too, the CN packet is forwarded */
	c.out_cn_pt = 19;
	ch = cdc_chain_create(&c);
	run_free(&r);
	memset(&r, 0, sizeof(r));
	r.pcm = calloc(48000 * 4, 2);
	collect(&c, dec, outbuf, cdc_chain_push(ch, 96, 0, true, silence, 160, outbuf), &r);
	collect(&c, dec, outbuf, cdc_chain_push(ch, 13, 160, false, &cn, 1, outbuf), &r);
	for (int i = 0; i < r.npkt; i++)
		if (r.pt[i] == 19) {
			fwd++;
			cr_assert_eq(r.payload[i][0], 40);
			cr_assert_eq(r.ts[i], 160);
		}
	cr_assert_eq(fwd, 1);
	cdc_chain_destroy(ch);
	cdc_dec_destroy(dec);
	run_free(&r);
}

/* ---- injected DTMF (cdc_chain_play_dtmf, ng play DTMF) ---- */

/* 1 kHz PCMU packets k0..k1-1 (20 ms each, one continuous tone) into ch. */
static void push_tone(struct cdc_chain *ch, const struct cdc_chain_conf *c, struct cdc_dec *dec, struct run *r,
		      int k0, int k1)
{
	static int16_t sig[160 * 200];
	uint8_t pkt[160];

	au_tone(sig, 160 * 200, 1000, 9000, 8000);
	for (int k = k0; k < k1; k++) {
		cdc_ulaw_encode(sig + 160 * k, pkt, 160);
		collect(c, dec, outbuf, cdc_chain_push(ch, c->in_pt, 7000 + 160u * (uint32_t)k, k == 0, pkt, 160, outbuf),
			r);
	}
}

Test(inject, with_telephone_event_it_goes_out_as_rfc4733_packets)
{
	static const struct { const char *out; unsigned ptime, ms; } cases[] = {
		{ "PCMA/8000", 20, 100 },    /* 5 frames of 160 */
		{ "PCMA/8000", 30, 100 },    /* 800 in steps of 240: the last one short */
		{ "opus/48000/2", 20, 250 }, /* a 48 kHz clock */
	};

	for (unsigned t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		struct cdc_chain_conf c = conf_of("PCMU/8000", cases[t].out, cases[t].ptime);
		struct cdc_dec *dec = cdc_dec_create(&c.out);
		struct run r = { .pcm = calloc(48000 * 4, 2) };
		uint32_t step = cdc_frame_ts(&c.out, c.out_ptime), total = cases[t].ms * c.out.clock_rate / 1000;
		uint32_t frames = (total + step - 1) / step, start;
		struct cdc_chain_stats st;
		struct cdc_chain *ch;
		int first, k, cont = 0, ends = 0;

		c.out_te_pt = 101;
		ch = cdc_chain_create(&c);
		cr_assert_not_null(ch);
		push_tone(ch, &c, dec, &r, 0, 5);
		cr_assert_gt(r.npkt, 0);
		cr_assert_not(cdc_chain_playing(ch));
		cr_assert_eq(cdc_chain_play_dtmf(ch, 5, cases[t].ms, 10), 0);
		cr_assert(cdc_chain_playing(ch));
		cr_assert_eq(cdc_chain_play_dtmf(ch, 6, 100, 10), -EBUSY, "a second event waits for the first");
		first = r.npkt;
		start = r.ts[first - 1] + step; /* the next frame out */
		push_tone(ch, &c, dec, &r, 5, 40);
		cr_assert_not(cdc_chain_playing(ch), "%s/%u: the event is over", cases[t].out, cases[t].ptime);
		/* right after the last audio: the event's packets, back to back */
		for (k = first; k < r.npkt && r.pt[k] == 101; k++) {
			struct cdc_te te;

			cr_assert_eq(cdc_te_parse(r.payload[k], 4, &te), 0);
			cr_assert_eq(te.event, 5);
			cr_assert_eq(te.volume, 10);
			cr_assert_eq(r.ts[k], start, "every event packet has the start's timestamp");
			cr_assert_eq(r.marker[k], k == first, "the marker on the first packet only");
			if (!te.end) {
				cr_assert_eq(ends, 0, "no continuation after an end packet");
				cont++;
				cr_assert_eq(te.duration, cont * step < total ? cont * step : total,
					     "%s/%u: continuation %d has duration %u", cases[t].out, cases[t].ptime, cont,
					     te.duration);
			} else {
				ends++;
				cr_assert_eq(te.duration, total, "end packets carry the whole duration");
			}
		}
		cr_assert_eq((uint32_t)cont, frames, "one packet per frame the event covers: %d", cont);
		cr_assert_eq(ends, 3, "three end packets");
		/* the audio of the frames the event covers is suppressed, then resumes in line */
		for (int i = 0; i < r.npkt; i++)
			if (r.pt[i] == c.out_pt)
				cr_assert((int32_t)(r.ts[i] - start) < 0 || r.ts[i] - start >= frames * step,
					  "audio at ts %u while the event plays", r.ts[i]);
		cr_assert(k < r.npkt && r.pt[k] == c.out_pt && r.ts[k] == start + frames * step,
			  "audio resumes with the frame after the event");
		cdc_chain_get_stats(ch, &st);
		cr_assert_eq(st.dtmf_played, 1);
		cr_assert_eq(cdc_chain_play_dtmf(ch, 6, 100, 10), 0, "the next event may go now");
		cdc_chain_destroy(ch);
		cdc_dec_destroy(dec);
		run_free(&r);
	}
}

Test(inject, without_telephone_event_the_audio_becomes_the_tone)
{
	static const char *outs[] = { "PCMA/8000", "G722/8000", "opus/48000/2" };

	for (unsigned t = 0; t < 3; t++) {
		struct cdc_chain_conf c = conf_of("PCMU/8000", outs[t], 20);
		struct cdc_dec *dec = cdc_dec_create(&c.out);
		struct run r = { .pcm = calloc(48000 * 4, 2) };
		uint32_t rate = c.out.sample_rate;
		struct cdc_resampler *rs = cdc_resampler_create(rate, 8000, 1, 8);
		int16_t *pcm8 = calloc(48000 * 4, 2);
		struct cdc_chain *ch = cdc_chain_create(&c);
		struct cdc_chain_stats st;
		size_t n8;
		char got[16];

		cr_assert(ch && rs && pcm8);
		push_tone(ch, &c, dec, &r, 0, 10);                 /* 200 ms of 1 kHz */
		cr_assert_eq(cdc_chain_play_dtmf(ch, 7, 200, 8), 0); /* '7': 852 + 1209 Hz */
		push_tone(ch, &c, dec, &r, 10, 30);
		cr_assert_not(cdc_chain_playing(ch));
		for (int i = 1; i < r.npkt; i++) {
			cr_assert_eq(r.pt[i], c.out_pt, "only audio packets");
			cr_assert_eq(r.ts[i] - r.ts[i - 1], cdc_frame_ts(&c.out, 20), "the timeline stays continuous");
		}
		n8 = (size_t)cdc_resample(rs, r.pcm, r.n, pcm8, 48000 * 4);
		cr_assert_geq(n8, 8000 * 580 / 1000, "%s: %zu samples", outs[t], n8);
		detect_digits(pcm8, n8, got);
		cr_assert_str_eq(got, "7", "%s: the detector finds '%s'", outs[t], got);
		/* frames 10-19 (1600-3200 at 8 kHz) carry the tone and none of the 1 kHz
		 * that came in; 20 ms margins for codec and resampler delays */
		double in_ev = au_tone_ratio(pcm8 + 1760, 1280, 1000, 8000);
		double dtmf = au_tone_ratio(pcm8 + 1760, 1280, 852, 8000) + au_tone_ratio(pcm8 + 1760, 1280, 1209, 8000);
		double after = au_tone_ratio(pcm8 + 3360, 1280, 1000, 8000);

		cr_assert_lt(in_ev, 0.01, "%s: the incoming 1 kHz is suppressed during the event (%.3f)", outs[t], in_ev);
		cr_assert_gt(dtmf, 0.8, "%s: the event's two tones fill it (%.3f)", outs[t], dtmf);
		cr_assert_gt(after, 0.8, "%s: the 1 kHz is back after the event (%.3f)", outs[t], after);
		cdc_chain_get_stats(ch, &st);
		cr_assert_eq(st.dtmf_played, 1);
		cdc_chain_destroy(ch);
		cdc_resampler_destroy(rs);
		cdc_dec_destroy(dec);
		free(pcm8);
		run_free(&r);
	}
}

Test(inject, refuses_bad_events_and_durations)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch;
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	struct cdc_dec *dec = cdc_dec_create(&c.out);

	c.out_te_pt = 101;
	ch = cdc_chain_create(&c);
	cr_assert_eq(cdc_chain_play_dtmf(ch, 16, 100, 10), -EINVAL, "events are 0-15");
	cr_assert_eq(cdc_chain_play_dtmf(ch, 1, 9, 10), -EINVAL, "at least 10 ms");
	cr_assert_eq(cdc_chain_play_dtmf(ch, 1, 5001, 10), -EINVAL, "at most 5000 ms");
	cr_assert_eq(cdc_chain_play_dtmf(NULL, 1, 100, 10), -EINVAL);
	cr_assert_not(cdc_chain_playing(ch), "refused requests leave nothing pending");
	/* 10 ms: one frame, the first packet already carrying it all, then three ends */
	cr_assert_eq(cdc_chain_play_dtmf(ch, 15, 10, 99), 0, "a volume above 63 is sent as 63");
	cr_assert_eq(cdc_chain_play_dtmf(ch, 15, 10, 10), -EBUSY, "pending until media carries it");
	push_tone(ch, &c, dec, &r, 0, 1);
	cr_assert_eq(r.npkt, 4);
	for (int i = 0; i < 4; i++) {
		struct cdc_te te;

		cr_assert_eq(cdc_te_parse(r.payload[i], 4, &te), 0);
		cr_assert(te.event == 15 && te.duration == 80 && te.end == (i > 0) && te.volume == 63);
	}
	cr_assert_not(cdc_chain_playing(ch));
	cr_assert_eq(cdc_chain_play_dtmf(ch, 0, 5000, 10), 0, "5000 ms is allowed");
	push_tone(ch, &c, dec, &r, 1, 100);
	cr_assert(cdc_chain_playing(ch), "still playing after 1.98 s of 5");
	cr_assert_eq(cdc_chain_play_dtmf(ch, 1, 100, 10), -EBUSY);
	cdc_chain_destroy(ch);
	cdc_dec_destroy(dec);
	run_free(&r);
}

/* The control thread asks while a worker pushes: every request it gets
 * accepted comes out once, whole and with its own fields, in order. */
#define RACE_ASKS 500

struct race {
	struct cdc_chain *ch;
	atomic_bool stop;
	int started, ends, bad;
	uint8_t events[RACE_ASKS];
	uint16_t durations[RACE_ASKS];
};

static void *race_pusher(void *arg)
{
	struct race *x = arg;
	static struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];
	uint8_t pkt[160];

	memset(pkt, 0xff, sizeof(pkt));
	for (uint32_t k = 0; !atomic_load(&x->stop); k++) {
		int n = cdc_chain_push(x->ch, 96, 160 * k, k == 0, pkt, 160, pk);

		for (int i = 0; i < n; i++) {
			struct cdc_te te;

			if (pk[i].pt != 101)
				continue;
			if (cdc_te_parse(pk[i].payload, 4, &te))
				x->bad++;
			else if (pk[i].marker && x->started < RACE_ASKS)
				x->events[x->started++] = te.event;
			else if (te.end && x->ends++ % 3 == 0 && x->started > 0)
				x->durations[x->started - 1] = te.duration;
		}
	}
	return NULL;
}

Test(inject, requests_cross_threads_whole)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct race x = { 0 };
	pthread_t th;
	int asked = 0;
	struct cdc_chain_stats st;

	c.out_te_pt = 101;
	x.ch = cdc_chain_create(&c);
	cr_assert_not_null(x.ch);
	atomic_init(&x.stop, false);
	cr_assert_eq(pthread_create(&th, NULL, race_pusher, &x), 0);
	for (long spins = 0; spins < 100000000L && asked < RACE_ASKS; spins++) {
		int rc = cdc_chain_play_dtmf(x.ch, (uint8_t)(asked % 16), 10 + 10 * (uint32_t)(asked % 3), 10);

		cr_assert(rc == 0 || rc == -EBUSY, "rc %d", rc);
		if (rc == 0)
			asked++;
		else
			sched_yield();
	}
	atomic_store(&x.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(x.bad, 0);
	cr_assert_eq(asked, RACE_ASKS, "only %d requests got through", asked);
	/* the last request may still wait for media */
	cr_assert(x.started == asked || (x.started == asked - 1 && cdc_chain_playing(x.ch)),
		  "%d asked, %d started", asked, x.started);
	cr_assert_geq(x.ends / 3, x.started - 1, "every event but the last one ended");
	for (int i = 0; i < x.started; i++) {
		cr_assert_eq(x.events[i], i % 16, "event %d is %u", i, x.events[i]);
		if (i < x.ends / 3)
			cr_assert_eq(x.durations[i], 80 * (1 + i % 3), "event %d lasted %u", i, x.durations[i]);
	}
	cdc_chain_get_stats(x.ch, &st);
	cr_assert_eq(st.dtmf_played, (uint64_t)(x.ends / 3));
	cdc_chain_destroy(x.ch);
}
