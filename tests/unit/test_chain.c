/* Unit tests: transcode chains (codecs/cdc_chain.c). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
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

/* One event packet claiming 8 s (duration 65535 at 8 kHz) makes at most
 * CDC_CHAIN_MAX_FILL_MS of tone at once; the updates that follow go on
 * from there, 200 ms each, and the end packet stops the tone. */
Test(dtmf, one_event_packet_plays_at_most_the_fill_bound)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch;
	struct cdc_dec *dec = cdc_dec_create(&c.out);
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	struct cdc_te ev = { .event = 5, .volume = 10, .duration = 65535 };
	uint8_t silence[160], te[4];
	int n, bound = CDC_CHAIN_MAX_FILL_MS / 20;

	memset(silence, 0xff, sizeof(silence));
	c.in_te_pt = 101;
	c.dtmf = CDC_DTMF_TO_INBAND;
	ch = cdc_chain_create(&c);
	cr_assert_not_null(ch);
	collect(&c, dec, outbuf, cdc_chain_push(ch, c.in_pt, 0, true, silence, 160, outbuf), &r);
	cdc_te_write(&ev, te);
	n = cdc_chain_push(ch, 101, 160, true, te, 4, outbuf);
	cr_assert(n >= bound - 1 && n <= bound + 1, "the first packet: %d frames of tone (at most ~%d)", n, bound);
	collect(&c, dec, outbuf, n, &r);
	n = cdc_chain_push(ch, 101, 160, false, te, 4, outbuf);
	cr_assert(n >= bound - 1 && n <= bound + 1, "an update: %d frames more", n);
	collect(&c, dec, outbuf, n, &r);
	ev.end = true;
	cdc_te_write(&ev, te);
	n = cdc_chain_push(ch, 101, 160, false, te, 4, outbuf);
	cr_assert(n <= bound + 1, "the end packet: %d frames", n);
	collect(&c, dec, outbuf, n, &r);
	for (int i = 1; i < r.npkt; i++)
		cr_assert_eq(r.ts[i] - r.ts[i - 1], 160, "output timeline stays continuous");
	cdc_chain_destroy(ch);
	cdc_dec_destroy(dec);
	run_free(&r);
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

/* ---- DTMF masking (cdc_chain_set_dtmf_mask, ng block DTMF + DTMF-security) ---- */

#define MASK_D (CDC_DTMF_MASK_DELAY_MS * 8) /* the look-ahead, in 8 kHz samples */
#define MS8(ms) ((size_t)(ms) * 8u)
#define MASK_IN_MS 1400

/* The digits of mask_input: where they start, how long they last (ms). */
static const struct { char d; unsigned at, ms; } mask_digits[] = {
	{ '4', 400, 100 }, { '1', 700, 120 }, { '#', 1000, 80 },
};
#define MASK_NDIGITS 3

/* 8 kHz input: a 1 kHz tone (peak 6000) or speech, and optionally
 * mask_digits at -10 dBm0 per tone in its place. */
static void mask_input(int16_t *sig, size_t n, bool speech, bool digits)
{
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(8000);

	if (speech)
		au_speech(sig, n, 8000, 5);
	else
		au_tone(sig, n, 1000, 6000, 8000);
	for (int i = 0; digits && i < MASK_NDIGITS; i++) {
		size_t s = MS8(mask_digits[i].at), len = MS8(mask_digits[i].ms);

		memset(sig + s, 0, len * sizeof(int16_t));
		cdc_dtmf_gen_start(g, (uint8_t)cdc_dtmf_event(mask_digits[i].d), mask_digits[i].ms, -10);
		cdc_dtmf_gen_fill(g, sig + s, len);
	}
	cdc_dtmf_gen_destroy(g);
}

struct mask_out {
	int16_t *pcm8; /* the decoded output, brought to 8 kHz */
	size_t n8;
	int16_t *pcm; /* as decoded, at the out rate (mono) */
	size_t n;
	uint64_t hash; /* FNV-1a over every packet out: pt, marker, ts, payload */
	int npkt;
	bool ts_continuous; /* one frame's step between all packets */
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ ((const uint8_t *)p)[i]) * 1099511628211ull;
}

static size_t mask_in_frame = 160; /* samples per packet in */

/* Send sig (at the in format's rate) through ch in packets of
 * mask_in_frame samples, calling hook(ch, k) before packet k; decode what
 * comes out. */
static void mask_through(struct cdc_chain *ch, const struct cdc_chain_conf *c, const int16_t *sig, size_t n,
			 void (*hook)(struct cdc_chain *, int), struct mask_out *o)
{
	struct cdc_enc *enc = cdc_enc_create(&c->in, NULL);
	struct cdc_dec *dec = cdc_dec_create(&c->out);
	uint32_t rate = c->out.sample_rate, step = cdc_frame_ts(&c->out, c->out_ptime), last = 0;
	int16_t *pcm = calloc(48000 * 4, sizeof(int16_t));
	size_t np = 0, f = mask_in_frame;
	static uint8_t pkt[12000];

	cr_assert(enc && dec && pcm);
	memset(o, 0, sizeof(*o));
	o->hash = 14695981039346656037ull;
	o->ts_continuous = true;
	o->pcm8 = calloc(8000 * 4, sizeof(int16_t));
	for (size_t i = 0, k = 0; i + f <= n; i += f, k++) {
		uint32_t ts = 1000 + (uint32_t)((uint64_t)i * c->in.clock_rate / c->in.sample_rate);
		int len, m;

		if (hook)
			hook(ch, (int)k);
		len = cdc_encode(enc, sig + i, f, pkt, sizeof(pkt));
		cr_assert_gt(len, 0);
		m = cdc_chain_push(ch, c->in_pt, ts, k == 0, pkt, (size_t)len, outbuf);
		cr_assert(m >= 0 && m <= CDC_CHAIN_MAX_OUT);
		for (int j = 0; j < m; j++) {
			const struct cdc_pkt *p = &outbuf[j];

			fnv(&o->hash, &p->pt, 1);
			fnv(&o->hash, &p->marker, 1);
			fnv(&o->hash, &p->ts, 4);
			fnv(&o->hash, p->payload, p->len);
			if (o->npkt && p->ts - last != step)
				o->ts_continuous = false;
			last = p->ts;
			o->npkt++;
			if (p->pt == c->out_pt) {
				int got = cdc_decode(dec, p->payload, p->len, pcm + np, 48000 * 4 - np);

				cr_assert_gt(got, 0);
				np += (size_t)got;
			}
		}
	}
	if (rate == 8000) {
		memcpy(o->pcm8, pcm, np * sizeof(int16_t));
		o->n8 = np;
	} else { /* quality 3: ~3 ms of filter delay */
		struct cdc_resampler *rs = cdc_resampler_create(rate, 8000, 1, 3);

		o->n8 = (size_t)cdc_resample(rs, pcm, np, o->pcm8, 8000 * 4);
		cdc_resampler_destroy(rs);
	}
	o->pcm = pcm;
	o->n = np;
	cdc_enc_destroy(enc);
	cdc_dec_destroy(dec);
}

/* A chain, masked (or not) from the start, run over mask_input. */
static struct cdc_chain *mask_run(const char *in, const char *out, enum cdc_dtmf_mask mode, unsigned freq, bool speech,
				  void (*hook)(struct cdc_chain *, int), int16_t *sig, struct mask_out *o)
{
	struct cdc_chain_conf c = conf_of(in, out, 20);
	struct cdc_chain *ch = cdc_chain_create(&c);

	cr_assert_not_null(ch);
	mask_input(sig, MS8(MASK_IN_MS), speech, true);
	if (mode != CDC_DTMF_MASK_OFF)
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, mode, freq), 0);
	mask_through(ch, &c, sig, MS8(MASK_IN_MS), hook, o);
	cr_assert(o->ts_continuous, "%s -> %s: the output timeline stays continuous", in, out);
	return ch;
}

/* What a masked chain's output must show around and in each digit's place:
 * lat is the codecs' own delay (8 kHz samples) on top of the mask's. */
static void check_masked(const char *what, const struct mask_out *o, const struct cdc_chain *ch, bool tone, size_t lat)
{
	struct cdc_chain_stats st;
	char got[16];

	detect_digits(o->pcm8, o->n8, got);
	cr_assert_str_eq(got, "", "%s: no digit gets through, but '%s' did", what, got);
	cr_assert_geq(o->n8, MS8(MASK_IN_MS) - MS8(30), "%s: %zu samples out", what, o->n8);
	for (int i = 0; i < MASK_NDIGITS; i++) {
		size_t s = MS8(mask_digits[i].at) + MASK_D + lat, e = s + MS8(mask_digits[i].ms);
		const int16_t *x = o->pcm8;
		/* the digit's place, from its first sample to its last */
		double rms = au_rms(x + s, e - s);
		/* the audio around it: outside the lead (15 ms + the detector's
		 * 7 ms) and the hang-over (20 ms + 10 ms), a 1 kHz tone at 6000 */
		double pre = au_tone_ratio(x + s - MS8(60), MS8(35), 1000, 8000);
		double post = au_tone_ratio(x + e + MS8(40), MS8(40), 1000, 8000);

		if (tone) {
			double r400 = au_tone_ratio(x + s, e - s, 400, 8000);
			double want = 22767.0 * pow(10, CDC_DTMF_MASK_TONE_DBM0 / 20.0) / sqrt(2);

			cr_assert_gt(r400, 0.9, "%s: digit %d's place is the 400 Hz tone (%.3f)", what, i, r400);
			cr_assert(rms > want * 0.79 && rms < want * 1.26, "%s: at -20 dBm0 (rms %.0f, want %.0f)", what, rms, want);
		} else {
			cr_assert_lt(rms, 30, "%s: digit %d's place is silent (rms %.1f)", what, i, rms);
		}
		cr_assert_gt(pre, 0.9, "%s: the 1 kHz before digit %d is there (%.3f)", what, i, pre);
		cr_assert_gt(post, 0.9, "%s: the 1 kHz after digit %d is there (%.3f)", what, i, post);
		cr_assert_gt(au_rms(x + e + MS8(40), MS8(40)), 3000, "%s: at its level", what);
	}
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_masked_digits, MASK_NDIGITS, "%s: %llu digits", what, (unsigned long long)st.dtmf_masked_digits);
	/* 300 ms of digits, each with 15 + 20 ms of margins and the detector's error */
	cr_assert(st.dtmf_masked_ms >= 300 + 3 * 25 && st.dtmf_masked_ms <= 300 + 3 * 55, "%s: masked %llu ms", what,
		  (unsigned long long)st.dtmf_masked_ms);
	cr_assert_eq(st.dtmf_mask_starts, 1);
}

Test(mask, silence_pcmu_to_pcmu)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMU/8000", "PCMU/8000", CDC_DTMF_MASK_SILENCE, 0, false, NULL, sig, &o);

	check_masked("PCMU silence", &o, ch, false, 0);
	/* same codec: every sample outside the digits and their margins is the
	 * input's own, exactly CDC_DTMF_MASK_DELAY_MS late; before it, silence */
	for (size_t i = 0; i < MASK_D; i++)
		cr_assert_eq(o.pcm8[i], 0, "the look-ahead starts as silence");
	for (size_t i = 0; i + MASK_D < o.n8; i++) {
		bool near = false;
		uint8_t code;
		int16_t in;

		for (int d = 0; d < MASK_NDIGITS; d++)
			near |= i + MS8(25) >= MS8(mask_digits[d].at) &&
				i < MS8(mask_digits[d].at + mask_digits[d].ms) + MS8(35);
		if (near)
			continue;
		cdc_ulaw_encode(sig + i, &code, 1);
		cdc_ulaw_decode(&code, &in, 1);
		cr_assert_eq(o.pcm8[i + MASK_D], in, "sample %zu is the input's, delayed by the look-ahead", i);
	}
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, silence_pcmu_to_pcmu_under_speech)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMU/8000", "PCMU/8000", CDC_DTMF_MASK_SILENCE, 0, true, NULL, sig, &o);
	struct cdc_chain_stats st;
	char got[16];

	detect_digits(o.pcm8, o.n8, got);
	cr_assert_str_eq(got, "", "no digit gets through speech either: '%s'", got);
	for (int i = 0; i < MASK_NDIGITS; i++) {
		size_t s = MS8(mask_digits[i].at) + MASK_D, e = s + MS8(mask_digits[i].ms);

		cr_assert_lt(au_rms(o.pcm8 + s, e - s), 30, "digit %d's place is silent", i);
		/* the speech around it is the input's, delayed */
		double before = au_rms(o.pcm8 + s - MS8(60), MS8(35)), want = au_rms(sig + s - MASK_D - MS8(60), MS8(35));

		cr_assert(before > want * 0.9 && before < want * 1.1, "speech before digit %d: %.0f, want %.0f", i, before, want);
		double after = au_rms(o.pcm8 + e + MS8(40), MS8(40)), want2 = au_rms(sig + e - MASK_D + MS8(40), MS8(40));

		cr_assert(after > want2 * 0.9 && after < want2 * 1.1, "speech after digit %d: %.0f, want %.0f", i, after, want2);
	}
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_masked_digits, MASK_NDIGITS, "speech makes no false digits");
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, silence_pcma_to_opus)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMA/8000", "opus/48000/2", CDC_DTMF_MASK_SILENCE, 0, false, NULL, sig, &o);

	/* Opus and the test's own resampling back to 8 kHz add under 10 ms */
	check_masked("PCMA -> Opus silence", &o, ch, false, MS8(10));
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, tone_pcmu_to_pcmu)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMU/8000", "PCMU/8000", CDC_DTMF_MASK_TONE, 0, false, NULL, sig, &o);

	check_masked("PCMU tone", &o, ch, true, 0);
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

/* Every digit, at every phase of SpanDSP's 102-sample block, strong and
 * weak, on its own or over speech, arriving in 10, 20 or 60 ms packets, at
 * 8 kHz (PCMU) and at 48 kHz (L16, lossless: the detector then works
 * through the 8 kHz resampler): the replacement covers it from its first
 * sample to its last. */
Test(mask, covers_each_digit_whole_at_any_phase)
{
	static const char *fmts[] = { "PCMU/8000", "L16/48000" };
	static const unsigned ptimes[] = { 10, 20, 60 };
	static int16_t sig[48 * 700], d[48 * 200];
	long min_lead = 1 << 30, min_hang = 1 << 30, max_lead = 0, max_hang = 0;
	int cases = 0;

	for (unsigned f = 0; f < 2; f++)
		for (unsigned t = 0; t < 3; t++)
			for (int speech = 0; speech < 2; speech++)
				for (int level = -10; level >= -26; level -= 16)
					for (unsigned ph = 0; ph < 102 && !(speech && level < -20); ph += 7, cases++) {
						/* (weak digits under speech: SpanDSP misses some) */
						struct cdc_chain_conf c = conf_of(fmts[f], fmts[f], 20);
						uint32_t rate = c.in.sample_rate, k = rate / 8000; /* samples per 8 kHz one */
						struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(rate);
						struct cdc_chain *ch = cdc_chain_create(&c);
						uint8_t ev = (uint8_t)(cases % 16);
						size_t n = rate / 1000 * 700, len = rate / 1000 * (90 + ph % 40);
						size_t s = rate / 1000 * 300 + ph * k, e = s + len, D = MASK_D * k, a, b;
						struct mask_out o;

						if (speech) { /* the digit on top of speech at a quarter of its level */
							au_speech(sig, n, rate, ph + 1);
							for (size_t i = 0; i < n; i++)
								sig[i] /= 4;
						} else {
							au_tone(sig, n, 1000, 6000, rate);
							memset(sig + s, 0, len * sizeof(int16_t));
						}
						memset(d, 0, sizeof(d));
						cdc_dtmf_gen_start(g, ev, (uint32_t)(len * 1000 / rate), level);
						cdc_dtmf_gen_fill(g, d, len);
						for (size_t i = 0; i < len; i++)
							sig[s + i] = (int16_t)(sig[s + i] + d[i]);
						cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_SILENCE, 0), 0);
						mask_in_frame = rate / 1000 * ptimes[t];
						mask_through(ch, &c, sig, n, NULL, &o);
						mask_in_frame = 160;
						cr_assert_geq(o.n, e + D + rate / 1000 * 60);
						for (size_t i = s + D; i < e + D; i++)
							cr_assert_eq(o.pcm[i], 0, "%s: '%c' %d dBm0%s at +%u in %u ms packets: sample %zd leaks",
								     fmts[f], cdc_dtmf_digit(ev), level, speech ? " over speech" : "", ph,
								     ptimes[t], (ssize_t)(i - s - D));
						for (a = s + D; a > 0 && o.pcm[a - 1] == 0; a--)
							;
						for (b = e + D; b < o.n && o.pcm[b] == 0; b++)
							;
						if (!speech) { /* (speech has zeros of its own) */
							long lead = (long)((s + D - a) / k), hang = (long)((b - e - D) / k);

							min_lead = lead < min_lead ? lead : min_lead;
							max_lead = lead > max_lead ? lead : max_lead;
							min_hang = hang < min_hang ? hang : min_hang;
							max_hang = hang > max_hang ? hang : max_hang;
						}
						cdc_chain_destroy(ch);
						cdc_dtmf_gen_destroy(g);
						free(o.pcm8);
						free(o.pcm);
					}
	cr_log_info("masking began %.1f-%.1f ms before the digits and ended %.1f-%.1f ms after them\n", min_lead / 8.0,
		    max_lead / 8.0, min_hang / 8.0, max_hang / 8.0);
	cr_assert_geq(min_lead, 4 * 8, "a little ahead of every digit");
	cr_assert_leq(max_lead, 20 * 8);
	cr_assert_geq(min_hang, 5 * 8);
	cr_assert_leq(max_hang, 30 * 8);
}

/* silence first, the tone from packet 10 on (before any digit): one delay */
static void to_tone(struct cdc_chain *ch, int k)
{
	if (k == 10)
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 400), 0);
}

Test(mask, tone_pcma_to_opus)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMA/8000", "opus/48000/2", CDC_DTMF_MASK_SILENCE, 0, false, to_tone, sig, &o);

	check_masked("PCMA -> Opus tone", &o, ch, true, MS8(10));
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, tone_at_another_frequency)
{
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain *ch = mask_run("PCMU/8000", "PCMA/8000", CDC_DTMF_MASK_TONE, 2500, false, NULL, sig, &o);

	for (int i = 0; i < MASK_NDIGITS; i++) {
		size_t s = MS8(mask_digits[i].at) + MASK_D;
		double r = au_tone_ratio(o.pcm8 + s, MS8(mask_digits[i].ms), 2500, 8000);

		cr_assert_gt(r, 0.9, "digit %d's place is 2500 Hz (%.3f)", i, r);
	}
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

/* set OFF (already off) before and during the run: nothing changes */
static void off_again(struct cdc_chain *ch, int k)
{
	if (k % 5 == 0)
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_OFF, 12345), 0);
}

Test(mask, off_is_bit_identical_and_lets_digits_through)
{
	static const char *pairs[][2] = { { "PCMU/8000", "PCMU/8000" }, { "PCMA/8000", "opus/48000/2" } };

	for (int t = 0; t < 2; t++) {
		static int16_t sig[MS8(MASK_IN_MS)];
		struct mask_out a, b;
		struct cdc_chain *never = mask_run(pairs[t][0], pairs[t][1], CDC_DTMF_MASK_OFF, 0, false, NULL, sig, &a);
		struct cdc_chain *off = mask_run(pairs[t][0], pairs[t][1], CDC_DTMF_MASK_OFF, 0, false, off_again, sig, &b);
		struct cdc_chain_stats st;
		char got[16];

		cr_assert_eq(a.npkt, b.npkt);
		cr_assert_eq(a.hash, b.hash, "%s -> %s: every packet is the same", pairs[t][0], pairs[t][1]);
		detect_digits(a.pcm8, a.n8, got);
		cr_assert_str_eq(got, "41#", "%s -> %s: unmasked, the digits get through ('%s')", pairs[t][0], pairs[t][1], got);
		cdc_chain_get_stats(off, &st);
		cr_assert_eq(st.dtmf_masked_ms + st.dtmf_masked_digits + st.dtmf_mask_starts, 0);
		cdc_chain_destroy(never);
		cdc_chain_destroy(off);
		free(a.pcm8);
		free(b.pcm8);
		free(a.pcm);
		free(b.pcm);
	}
}

/* on at packet 10, off at packet 40 */
static void on_then_off(struct cdc_chain *ch, int k)
{
	if (k == 10)
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_SILENCE, 0), 0);
	if (k == 40)
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_OFF, 0), 0);
}

Test(mask, on_inserts_the_delay_off_releases_it)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMU/8000", 20);
	struct cdc_chain *ch = cdc_chain_create(&c);
	static int16_t sig[MS8(MASK_IN_MS)], want[MS8(MASK_IN_MS) + MASK_D];
	struct mask_out o;
	uint8_t code;

	/* a tone with no digits: the output is the input with the look-ahead's
	 * silence where masking went on, nothing lost or repeated when it went
	 * off, and the timeline unbroken */
	mask_input(sig, MS8(MASK_IN_MS), false, false);
	mask_through(ch, &c, sig, MS8(MASK_IN_MS), on_then_off, &o);
	cr_assert(o.ts_continuous);
	for (size_t i = 0; i < MS8(MASK_IN_MS); i++) {
		cdc_ulaw_encode(sig + i, &code, 1);
		cdc_ulaw_decode(&code, &want[i < MS8(200) ? i : i + MASK_D], 1);
	}
	cr_assert_eq(o.n8, MS8(MASK_IN_MS) + MASK_D - MS8(10), "in + the look-ahead, less the half frame still waiting");
	cr_assert(memcmp(o.pcm8, want, o.n8 * sizeof(int16_t)) == 0, "the input with 50 ms of silence at 200 ms");
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, from_inband_sends_no_events_while_masking)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch;
	static int16_t sig[MS8(MASK_IN_MS)];
	struct mask_out o;
	struct cdc_chain_stats st;

	c.out_te_pt = 101;
	c.dtmf = CDC_DTMF_FROM_INBAND;
	ch = cdc_chain_create(&c);
	cr_assert_not_null(ch);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_SILENCE, 0), 0);
	mask_input(sig, MS8(MASK_IN_MS), false, true);
	mask_through(ch, &c, sig, MS8(MASK_IN_MS), NULL, &o);
	cr_assert(o.ts_continuous, "only audio went out");
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_events, 0, "no event sent");
	cr_assert_eq(st.dtmf_masked_digits, MASK_NDIGITS);
	cdc_chain_destroy(ch);
	free(o.pcm8);
	free(o.pcm);
}

Test(mask, rfc4733_events_are_dropped_and_counted)
{
	/* PASS: nothing forwarded */
	struct cdc_chain_conf c = conf_of("PCMU/8000", "opus/48000/2", 20);
	struct cdc_dec *dec = cdc_dec_create(&c.out);
	struct run r = { .pcm = calloc(48000 * 4, 2) };
	struct cdc_chain_stats st;
	struct cdc_chain *ch;
	char got[16];
	int fwd = 0;

	c.in_te_pt = 101;
	c.out_te_pt = 110;
	c.dtmf = CDC_DTMF_PASS;
	ch = cdc_chain_create(&c);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 0), 0);
	send_events(ch, &c, "19#", dec, &r, false);
	for (int i = 0; i < r.npkt; i++)
		fwd += r.pt[i] == 110;
	cr_assert_eq(fwd, 0, "no event is forwarded while masking");
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_masked_events, 3);
	cr_assert_eq(st.dtmf_events, 0);
	/* unmasked, they pass again */
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_OFF, 0), 0);
	send_events(ch, &c, "5", dec, &r, false);
	for (int i = 0; i < r.npkt; i++)
		fwd += r.pt[i] == 110;
	cr_assert_gt(fwd, 0);
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_masked_events, 3);
	cr_assert_gt(st.dtmf_events, 0); /* (PASS counts each repeated end packet too) */
	cdc_chain_destroy(ch);
	cdc_dec_destroy(dec);
	run_free(&r);

	/* TO_INBAND: no tone is played from them, with or without audio alongside */
	for (int audio = 0; audio < 2; audio++) {
		c = conf_of("PCMU/8000", "PCMA/8000", 20);
		c.in_te_pt = 101;
		c.dtmf = CDC_DTMF_TO_INBAND;
		dec = cdc_dec_create(&c.out);
		memset(&r, 0, sizeof(r));
		r.pcm = calloc(48000 * 4, 2);
		ch = cdc_chain_create(&c);
		cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_SILENCE, 0), 0);
		send_events(ch, &c, "5A*0", dec, &r, audio);
		detect_digits(r.pcm, r.n, got);
		cr_assert_str_eq(got, "", "no in-band tone from masked events ('%s')", got);
		cr_assert_lt(au_rms(r.pcm, r.n), 20, "only silence went out (A-law has no zero: +-8)");
		cdc_chain_get_stats(ch, &st);
		cr_assert_eq(st.dtmf_masked_events, 4);
		cr_assert_eq(st.dtmf_events, 0);
		cdc_chain_destroy(ch);
		cdc_dec_destroy(dec);
		run_free(&r);
	}
}

Test(mask, refuses_bad_arguments)
{
	struct cdc_chain_conf c = conf_of("PCMU/8000", "PCMA/8000", 20);
	struct cdc_chain *ch = cdc_chain_create(&c);
	struct cdc_chain_stats st;
	uint8_t pkt[160];

	cr_assert_eq(cdc_chain_set_dtmf_mask(NULL, CDC_DTMF_MASK_SILENCE, 0), -EINVAL);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, (enum cdc_dtmf_mask)3, 0), -EINVAL);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, (enum cdc_dtmf_mask)-1, 0), -EINVAL);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 99), -EINVAL);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 4001), -EINVAL);
	memset(pkt, 0xff, sizeof(pkt));
	cdc_chain_push(ch, 96, 0, true, pkt, 160, outbuf);
	cdc_chain_get_stats(ch, &st);
	cr_assert_eq(st.dtmf_mask_starts, 0, "refused requests change nothing");
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 100), 0);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 4000), 0);
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_TONE, 0), 0, "0: the default 400 Hz");
	cr_assert_eq(cdc_chain_set_dtmf_mask(ch, CDC_DTMF_MASK_SILENCE, 99999), 0, "the frequency is for TONE only");
	cdc_chain_destroy(ch);
}

/* The control thread flips masking while a worker pushes: the output stays
 * whole. The input never touches zero (a tone on a DC offset), so taking
 * every zero out of the output must give back the input exactly: the
 * inserted look-ahead silences are all it adds, nothing is lost or
 * repeated, however the flips fall. */
#define MASK_PUSHES 10000 /* 200 s of audio */

struct mask_race {
	struct cdc_chain *ch;
	atomic_bool stop;
	atomic_uint pushes;
	int16_t *in, *out; /* decoded input / output, as pushed and received */
	size_t nin, nout, cap;
	bool ts_ok;
	int bad;
};

static void *mask_race_pusher(void *arg)
{
	struct mask_race *x = arg;
	static struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];
	uint32_t last = 0;
	bool any = false;
	int16_t tone[160 * 8];
	uint8_t pkt[160];

	for (int i = 0; i < 160 * 8; i++) /* 8 packets of a 1 kHz tone in [1000, 9000], phase-continuous */
		tone[i] = (int16_t)lrint(5000 + 4000 * sin(2 * M_PI * 1000 * i / 8000.0 + 0.3));
	for (uint32_t k = 0;; k++) {
		bool last_push = atomic_load(&x->stop);
		int n;

		if (x->nin + 160 > x->cap || x->nout + 160 * CDC_CHAIN_MAX_OUT > x->cap) {
			/* out of room: wait for the final OFF */
			while (!atomic_load(&x->stop))
				sched_yield();
			last_push = true;
		}
		cdc_ulaw_encode(tone + 160 * (k % 8), pkt, 160);
		cdc_ulaw_decode(pkt, x->in + x->nin, 160);
		x->nin += 160;
		n = cdc_chain_push(x->ch, 96, 160 * k, k == 0, pkt, 160, pk);
		atomic_fetch_add(&x->pushes, 1);
		if (k % 2)
			sched_yield(); /* let the flipper in, even on one CPU */
		for (int i = 0; i < n; i++) {
			if (pk[i].pt != 97 || pk[i].len != 160)
				x->bad++;
			if (any && pk[i].ts - last != 160)
				x->ts_ok = false;
			any = true;
			last = pk[i].ts;
			cdc_ulaw_decode(pk[i].payload, x->out + x->nout, 160);
			x->nout += 160;
		}
		if (last_push) /* the one after stop: it takes the final OFF */
			break;
	}
	return NULL;
}

Test(mask, flips_cross_threads_whole)
{
	struct cdc_chain_conf c;
	struct mask_race x = { .cap = 8000 * 800, .ts_ok = true }; /* 200 s + 10000 looks-ahead */
	struct cdc_chain_stats st;
	pthread_t th;
	size_t j = 0;

	c = conf_of("PCMU/8000", "PCMU/8000", 20);
	x.ch = cdc_chain_create(&c);
	x.in = calloc(x.cap, sizeof(int16_t));
	x.out = calloc(x.cap, sizeof(int16_t));
	cr_assert(x.ch && x.in && x.out);
	atomic_init(&x.stop, false);
	atomic_init(&x.pushes, 0);
	cr_assert_eq(pthread_create(&th, NULL, mask_race_pusher, &x), 0);
	/* flips at random moments: between pushes, several per push, or none for a while */
	for (uint32_t i = 0, seed = 7; (atomic_load(&x.pushes) < MASK_PUSHES || i < MASK_PUSHES) && !atomic_load(&x.stop);
	     i++) {
		enum cdc_dtmf_mask m = (enum cdc_dtmf_mask)(i % 3);

		cr_assert_eq(cdc_chain_set_dtmf_mask(x.ch, m, 100 + (i * 37) % 3900), 0);
		seed = seed * 1664525u + 1013904223u;
		for (uint32_t spin = seed >> 22; spin; spin--)
			if (spin % 256 == 0)
				sched_yield();
	}
	cr_assert_eq(cdc_chain_set_dtmf_mask(x.ch, CDC_DTMF_MASK_OFF, 0), 0);
	atomic_store(&x.stop, true);
	pthread_join(th, NULL);
	cdc_chain_get_stats(x.ch, &st);
	cr_assert_eq(x.bad, 0);
	cr_assert(x.ts_ok, "the timeline stays continuous");
	cr_assert_gt(st.dtmf_mask_starts, 10, "masking went on %llu times", (unsigned long long)st.dtmf_mask_starts);
	cr_assert_eq(st.dtmf_masked_digits, 0);
	cr_log_info("mask flips: %u pushes, masking went on %llu times\n", atomic_load(&x.pushes),
		    (unsigned long long)st.dtmf_mask_starts);
	/* every start added the look-ahead; the final OFF released all of it */
	cr_assert_eq(x.nout, (x.nin + st.dtmf_mask_starts * MASK_D) / 160 * 160, "%zu in, %llu starts, %zu out", x.nin,
		     (unsigned long long)st.dtmf_mask_starts, x.nout);
	for (size_t i = 0; i < x.nout; i++) {
		if (x.out[i] == 0)
			continue;
		cr_assert_eq(x.out[i], x.in[j], "output sample %zu is input sample %zu", i, j);
		j++;
	}
	cr_assert_eq(j + (x.nin + st.dtmf_mask_starts * MASK_D) % 160, x.nin, "all the input came out but the last partial frame");
	cdc_chain_destroy(x.ch);
	free(x.in);
	free(x.out);
}

/* ---- the halves apart: cdc_src and cdc_sink ---- */

struct capture {
	size_t samples, concealed;
	struct cdc_ev ev[16];
	unsigned nev;
};

static void cap_pcm(void *ctx, const int16_t *pcm, size_t n)
{
	(void)pcm;
	((struct capture *)ctx)->samples += n;
}

static void cap_ev(void *ctx, const struct cdc_ev *ev)
{
	struct capture *c = ctx;

	if (c->nev < 16)
		c->ev[c->nev++] = *ev;
}

static void cap_tap(void *ctx, const int16_t *pcm, size_t n, enum cdc_pcm_kind kind)
{
	(void)pcm;
	if (kind == CDC_PCM_CONCEALED)
		((struct capture *)ctx)->concealed += n;
}

Test(halves, the_clock_conceals_whole_frames_then_pauses_and_a_packet_resyncs)
{
	struct capture cap = { 0 };
	struct cdc_src_conf sc = { .in_pt = 0, .in_te_pt = -1, .in_cn_pt = -1, .dtmf = CDC_DTMF_DROP,
				   .out_rate = 8000, .out_channels = 1 };
	struct cdc_chain_stats st = { 0 };
	struct cdc_src *s;
	int16_t pcm[160];
	uint8_t pay[160];
	uint32_t next;

	cr_assert_eq(cdc_format_parse("PCMU/8000", NULL, &sc.in), 0);
	s = cdc_src_create(&sc, &(struct cdc_src_out){ cap_pcm, cap_ev, NULL, &cap });
	cr_assert_not_null(s);
	cdc_src_set_pcm_tap(s, cap_tap, &cap);
	au_tone(pcm, 160, 1000, 8000, 8000);
	cdc_ulaw_encode(pcm, pay, 160);

	cr_assert_eq(cdc_src_fill_to(s, 1000), 0, "nothing before the first packet");
	cdc_src_push(s, 0, 0, true, pay, 160);
	cr_assert_eq(cap.samples, 160);
	cr_assert_eq(cdc_src_fill_to(s, 319), 0, "less than a frame missing: wait");
	cr_assert_eq(cdc_src_fill_to(s, 479), 1);
	cr_assert_eq(cap.samples, 320);
	cr_assert_eq(cap.concealed, 160, "one whole frame concealed");
	cr_assert(cdc_src_started(s, &next));
	cr_assert_eq(next, 320);
	cdc_src_push(s, 0, 160, false, pay, 160); /* its audio was made up already */
	cr_assert_eq(cap.samples, 320);
	cdc_src_push(s, 0, 320, false, pay, 160);
	cr_assert_eq(cap.samples, 480);
	cr_assert_eq(cap.concealed, 160);
	/* the sender stops: 200 ms are concealed, then nothing */
	cr_assert_eq(cdc_src_fill_to(s, 480 + 8000), 1);
	cr_assert_eq(cap.concealed, 160 + 1600);
	cr_assert_not(cdc_src_started(s, NULL), "paused");
	cr_assert_eq(cdc_src_fill_to(s, 20000), 0);
	cr_assert_eq(cap.samples, 480 + 1600);
	cr_assert_eq(cap.nev, 0);
	cdc_src_push(s, 0, 4000, true, pay, 160);
	cr_assert_eq(cap.nev, 1);
	cr_assert_eq(cap.ev[0].kind, CDC_EV_RESYNC);
	cr_assert_eq(cap.ev[0].gap, 4000 - 2080, "gap %u", cap.ev[0].gap);
	cr_assert_eq(cap.samples, 480 + 1600 + 160);
	cr_assert(cdc_src_started(s, &next));
	cr_assert_eq(next, 4160);
	cdc_src_get_stats(s, &st);
	cr_assert_eq(st.late, 1);
	cr_assert_eq(st.resyncs, 1);
	cr_assert_eq(st.concealed_ms, 220);
	cdc_src_destroy(s);
}

Test(halves, a_sink_resamples_and_downmixes_what_it_is_given)
{
	struct cdc_sink_conf kc = { .out_pt = 0, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1,
				    .in_rate = 16000, .in_channels = 2 };
	static int16_t in[16000 * 2], mono[16000], dec[8000];
	struct cdc_chain_stats st = { 0 };
	struct cdc_sink *k;
	size_t got = 0;
	uint32_t ts = 0;

	cr_assert_eq(cdc_format_parse("PCMU/8000", NULL, &kc.out), 0);
	k = cdc_sink_create(&kc);
	cr_assert_not_null(k);
	cr_assert_eq(cdc_sink_frame_samples(k), 320, "a 20 ms frame is 320 samples at 16 kHz");
	au_tone(mono, 16000, 1000, 8000, 16000);
	for (size_t i = 0; i < 16000; i++)
		in[2 * i] = in[2 * i + 1] = mono[i];
	for (size_t off = 0; off < 16000; off += 320) {
		int n = cdc_sink_write(k, in + 2 * off, 320, outbuf, 0);

		for (int j = 0; j < n; j++) {
			cr_assert_eq(outbuf[j].pt, 0);
			cr_assert_eq(outbuf[j].len, 160);
			cr_assert_eq(outbuf[j].ts, ts);
			cr_assert_eq(outbuf[j].marker, ts == 0);
			ts += 160;
			cdc_ulaw_decode(outbuf[j].payload, dec + got, 160);
			got += 160;
		}
	}
	cr_assert_geq(got, 8000 - 160, "1 s in, 1 s out (give or take the resampler's delay): %zu", got);
	cr_assert_gt(au_tone_ratio(dec + 800, got - 800, 1000, 8000), 0.9, "the tone survives");
	cdc_sink_get_stats(k, &st);
	cr_assert_eq(st.out_packets, got / 160);
	cdc_sink_destroy(k);
}

Test(halves, a_restart_takes_a_new_stream_whose_timestamps_go_back)
{
	struct capture cap = { 0 };
	struct cdc_src_conf sc = { .in_pt = 0, .in_te_pt = -1, .in_cn_pt = -1, .dtmf = CDC_DTMF_DROP,
				   .out_rate = 8000, .out_channels = 1 };
	struct cdc_chain_stats st = { 0 };
	struct cdc_src *s;
	uint8_t pay[160];

	memset(pay, 0xff, sizeof(pay));
	cr_assert_eq(cdc_format_parse("PCMU/8000", NULL, &sc.in), 0);
	s = cdc_src_create(&sc, &(struct cdc_src_out){ cap_pcm, cap_ev, NULL, &cap });
	cr_assert_not_null(s);
	cdc_src_push(s, 0, 50000, true, pay, 160);
	cdc_src_push(s, 0, 1000, true, pay, 160); /* a new sender, timestamps far behind */
	cr_assert_eq(cap.samples, 160, "without a restart it is late");
	cdc_src_restart(s);
	cr_assert_eq(cap.nev, 1);
	cr_assert_eq(cap.ev[0].kind, CDC_EV_RESYNC);
	cr_assert_eq(cap.ev[0].gap, 0);
	cdc_src_push(s, 0, 1000, true, pay, 160);
	cdc_src_push(s, 0, 1160, false, pay, 160);
	cr_assert_eq(cap.samples, 480);
	cdc_src_get_stats(s, &st);
	cr_assert_eq(st.late, 1);
	cdc_src_destroy(s);
}

/* Switching a receiver from one encoder's stream to another's (a room's
 * shared encoding and a talker's own): the worst SNR, against the
 * continuous stream, of the 4 frames after the switch, with the second
 * encoder given `prime` frames of the audio it missed first. */
static double switch_snr(const char *rtpmap, unsigned prime)
{
	enum { R = 16000, FR = 320, K = 60, SW = 30 };
	struct cdc_format f, df;
	struct cdc_sink_conf kc = { .out_pt = 96, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1, .in_rate = R,
				    .in_channels = 1 };
	static struct cdc_pkt pa[CDC_CHAIN_MAX_OUT], pb[CDC_CHAIN_MAX_OUT];
	static int16_t pcm[K][FR], o1[4 * FR], o2[4 * FR];
	struct cdc_sink *a, *b;
	struct cdc_dec *d1, *d2;
	double worst = 1e9;

	cr_assert_eq(cdc_format_parse(rtpmap, NULL, &f), 0);
	kc.out = f;
	df = f;
	if (f.codec == CDC_OPUS)
		df.sample_rate = R;
	a = cdc_sink_create(&kc);
	b = cdc_sink_create(&kc);
	d1 = cdc_dec_create(&df);
	d2 = cdc_dec_create(&df);
	cr_assert(a && b && d1 && d2);
	for (int k = 0; k < K; k++) /* silence, then two tones with a slow swell */
		for (int i = 0; i < FR; i++) {
			double t = (k * FR + i) / (double)R;

			pcm[k][i] = k < 12 ? 0 : (int16_t)(8000 * sin(2 * M_PI * 440 * t) +
							   5000 * sin(2 * M_PI * 1250 * t) * (1 + 0.5 * sin(2 * M_PI * 3 * t)));
		}
	for (int k = 0; k < K; k++) {
		bool use_b = k >= SW && k < SW + 20;
		int n1, n2;

		cr_assert_eq(cdc_sink_write(a, pcm[k], FR, pa, 0), 1);
		if (k < 10) /* b encoded the start (silence), then sat out */
			cdc_sink_write(b, pcm[k], FR, pb, 0);
		if (k == SW)
			for (unsigned q = prime; q > 0; q--)
				cdc_sink_write(b, pcm[k - q], FR, pb, 0);
		if (use_b)
			cr_assert_eq(cdc_sink_write(b, pcm[k], FR, pb, 0), 1);
		n1 = cdc_decode(d1, pa[0].payload, pa[0].len, o1, 4 * FR);
		n2 = use_b ? cdc_decode(d2, pb[0].payload, pb[0].len, o2, 4 * FR)
			   : cdc_decode(d2, pa[0].payload, pa[0].len, o2, 4 * FR);
		if (k >= SW && k < SW + 4) {
			double s = 0, e = 0;

			for (int i = 0; i < (n1 < n2 ? n1 : n2); i++) {
				s += (double)o1[i] * o1[i];
				e += (double)(o1[i] - o2[i]) * (o1[i] - o2[i]);
			}
			if (10 * log10(s / (e + 1e-9)) < worst)
				worst = 10 * log10(s / (e + 1e-9));
		}
	}
	cdc_sink_destroy(a);
	cdc_sink_destroy(b);
	cdc_dec_destroy(d1);
	cdc_dec_destroy(d2);
	return worst;
}

Test(halves, a_primed_g722_encoder_takes_over_a_stream_without_a_click)
{
	struct cdc_sink_conf kc = { .out_pt = 9, .out_ptime = 20, .out_te_pt = -1, .out_cn_pt = -1, .in_rate = 16000,
				    .in_channels = 1 };
	struct cdc_sink *k;
	unsigned want;
	double cold, primed;

	cr_assert_eq(cdc_format_parse("G722/8000", NULL, &kc.out), 0);
	k = cdc_sink_create(&kc);
	want = cdc_sink_prime_frames(k);
	cdc_sink_destroy(k);
	cr_assert_eq(want, 2);
	cold = switch_snr("G722/8000", 0);
	primed = switch_snr("G722/8000", want);
	cr_log_info("G.722 switch: worst SNR %.1f dB cold, %.1f dB primed with %u frames", cold, primed, want);
	cr_assert_lt(cold, 0.0, "a cold G.722 encoder clicks (%.1f dB)", cold);
	cr_assert_gt(primed, 8.0, "primed, it does not (%.1f dB)", primed);
	/* Opus: priming is not asked for; its decoder resyncs within a frame */
	cr_assert_gt(switch_snr("opus/48000/2", 0), 5.0);
}
