/* Unit tests: the codec registry and the codecs behind cdc.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "audio_util.h"
#include "cdc.h"

/* ---- formats ---- */

Test(format, parses_what_sdp_says)
{
	struct cdc_format f;
	char buf[128];

	cr_assert_eq(cdc_format_parse("PCMU/8000", NULL, &f), 0);
	cr_assert(f.codec == CDC_PCMU && f.clock_rate == 8000 && f.sample_rate == 8000 && f.static_pt == 0);
	cr_assert_eq(cdc_format_parse("pcma/8000", "", &f), 0);
	cr_assert(f.codec == CDC_PCMA && f.static_pt == 8);
	cr_assert_eq(cdc_format_parse("G722/8000", NULL, &f), 0);
	cr_assert(f.codec == CDC_G722 && f.clock_rate == 8000 && f.sample_rate == 16000,
		  "RFC 3551: G.722's RTP clock is 8000, its audio 16 kHz");
	cr_assert_eq(cdc_format_parse("opus/48000/2", NULL, &f), 0);
	cr_assert(f.codec == CDC_OPUS && f.channels == 2 && f.pcm_channels == 1, "opus is mono by default");
	cr_assert_eq(f.opus.maxplaybackrate, 48000);
	cr_assert_eq(cdc_format_parse("opus/48000", NULL, &f), 0, "a bare opus/48000 is read as /2");
	cr_assert_eq(f.channels, 2);
	cr_assert_eq(cdc_format_parse("opus/48000/2", "maxplaybackrate=16000; stereo=1;useinbandfec=1; usedtx=1;maxaveragebitrate=24000; cbr=1; foo=bar", &f), 0);
	cr_assert(f.opus.maxplaybackrate == 16000 && f.opus.stereo && f.opus.useinbandfec && f.opus.usedtx &&
		  f.opus.maxaveragebitrate == 24000 && f.opus.cbr && f.pcm_channels == 2);
	cr_assert_gt(cdc_format_fmtp(&f, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "maxplaybackrate=16000; maxaveragebitrate=24000; stereo=1; useinbandfec=1; usedtx=1; cbr=1");
	cr_assert_eq(cdc_format_rtpmap(&f, buf, sizeof(buf)), 12);
	cr_assert_str_eq(buf, "opus/48000/2");
	for (unsigned r = 8000; r <= 48000; r *= 2) {
		snprintf(buf, sizeof(buf), "L16/%u", r == 32000 ? 48000 : r);
		cr_assert_eq(cdc_format_parse(buf, NULL, &f), 0, "%s", buf);
		cr_assert_eq(f.sample_rate, f.clock_rate);
	}
	cr_assert_eq(cdc_format_parse("telephone-event/8000", "0-16", &f), 0);
	cr_assert_eq(f.codec, CDC_TELEPHONE_EVENT);
	cr_assert_eq(cdc_format_fmtp(&f, buf, sizeof(buf)), 4);
	cr_assert_eq(cdc_format_parse("telephone-event/48000", NULL, &f), 0);
	cr_assert_eq(cdc_format_parse("CN/8000", NULL, &f), 0);
	cr_assert(f.codec == CDC_CN && f.static_pt == 13);
}

Test(format, refuses_what_it_cannot_do)
{
	struct cdc_format f = { .codec = CDC_L16, .clock_rate = 1234 }, keep = f;

	cr_assert_eq(cdc_format_parse("GSM/8000", NULL, &f), -ENOENT);
	cr_assert_eq(cdc_format_parse("PCMU/16000", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("PCMU/8000/2", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("opus/48000/1", NULL, &f), -EINVAL, "RFC 7587 says opus/48000/2");
	cr_assert_eq(cdc_format_parse("opus/16000/2", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("opus/48000/2", "stereo=x", &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("L16/44100", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("PCMU", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("PCMU/", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("/8000", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("PCMU/8000x", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("PCMU/8000/0", NULL, &f), -EINVAL);
	cr_assert_eq(cdc_format_parse("telephone-event/11025", NULL, &f), -EINVAL);
	cr_assert(memcmp(&f, &keep, sizeof(f)) == 0, "out written on error");
}

Test(format, static_payload_types)
{
	struct cdc_format f;

	cr_assert_eq(cdc_format_from_static_pt(0, &f), 0);
	cr_assert_eq(f.codec, CDC_PCMU);
	cr_assert_eq(cdc_format_from_static_pt(8, &f), 0);
	cr_assert_eq(f.codec, CDC_PCMA);
	cr_assert_eq(cdc_format_from_static_pt(9, &f), 0);
	cr_assert_eq(f.sample_rate, 16000);
	cr_assert_eq(cdc_format_from_static_pt(13, &f), 0);
	cr_assert_eq(cdc_format_from_static_pt(3, &f), -ENOENT); /* GSM */
	cr_assert_eq(cdc_format_from_static_pt(96, &f), -ENOENT);
	cr_assert_eq(cdc_format_from_static_pt(1000, &f), -ENOENT);
}

Test(format, compatibility)
{
	struct cdc_format a, b;

	cdc_format_parse("opus/48000/2", "stereo=1", &a);
	cdc_format_parse("opus/48000/2", NULL, &b);
	cr_assert(cdc_format_compatible(&a, &b));
	cdc_format_parse("PCMU/8000", NULL, &b);
	cr_assert_not(cdc_format_compatible(&a, &b));
	cdc_format_parse("L16/8000", NULL, &a);
	cdc_format_parse("L16/16000", NULL, &b);
	cr_assert_not(cdc_format_compatible(&a, &b));
}

/* ---- round trips ---- */

struct rt {
	const char *rtpmap, *fmtp;
	unsigned ptime;
	double tone_snr_min, speech_segsnr_min, tone_ratio_min;
	size_t max_lag;
};

/* Encode `secs` of signal frame by frame, decode, return decoded length. */
static size_t round_trip(const struct rt *t, const int16_t *in, size_t n, int16_t *out)
{
	struct cdc_format f;
	struct cdc_enc *e;
	struct cdc_dec *d;
	uint8_t pkt[4000];
	size_t frame, got = 0;

	cr_assert_eq(cdc_format_parse(t->rtpmap, t->fmtp, &f), 0);
	frame = cdc_frame_samples(&f, t->ptime);
	e = cdc_enc_create(&f, NULL);
	d = cdc_dec_create(&f);
	cr_assert(e && d, "%s", t->rtpmap);
	for (size_t i = 0; i + frame <= n; i += frame) {
		int len = cdc_encode(e, in + i, frame, pkt, sizeof(pkt));
		int m;

		cr_assert_gt(len, 0, "%s encode at %zu: %d", t->rtpmap, i, len);
		m = cdc_decode(d, pkt, (size_t)len, out + got, n - got);
		cr_assert_eq((size_t)m, frame, "%s decode gave %d, want %zu", t->rtpmap, m, frame);
		got += (size_t)m;
	}
	cdc_enc_destroy(e);
	cdc_dec_destroy(d);
	return got;
}

static void check_codec(const struct rt *t)
{
	struct cdc_format f;
	uint32_t rate;
	size_t n, got, lag;
	int16_t *in, *out;
	double snr, seg, ratio;

	cdc_format_parse(t->rtpmap, t->fmtp, &f);
	rate = f.sample_rate;
	n = rate * 2; /* 2 s */
	in = calloc(n, sizeof(*in));
	out = calloc(n, sizeof(*out));
	au_tone(in, n, 1000, 10000, rate);
	got = round_trip(t, in, n, out);
	snr = au_snr(in, out, got, t->max_lag, rate / 10, &lag);
	ratio = au_tone_ratio(out + rate / 2, rate, 1000, rate);
	cr_assert_geq(snr, t->tone_snr_min, "%s tone SNR %.1f dB < %.1f", t->rtpmap, snr, t->tone_snr_min);
	cr_assert_geq(ratio, t->tone_ratio_min, "%s: 1 kHz holds only %.3f of the power", t->rtpmap, ratio);
	au_speech(in, n, rate, 7);
	memset(out, 0, n * sizeof(*out));
	got = round_trip(t, in, n, out);
	au_snr(in, out, got, t->max_lag, rate / 10, &lag);
	seg = au_segsnr(in, out, got, lag, rate / 50, rate / 10);
	cr_assert_geq(seg, t->speech_segsnr_min, "%s speech segSNR %.1f dB < %.1f (lag %zu)", t->rtpmap, seg,
		      t->speech_segsnr_min, lag);
	cr_log_info("%s: tone SNR %.1f dB, tone ratio %.3f, speech segSNR %.1f dB (lag %zu)", t->rtpmap, snr,
		    ratio, seg, lag);
	free(in);
	free(out);
}

Test(codec, pcmu_round_trip) { check_codec(&(struct rt){ "PCMU/8000", NULL, 20, 34, 32, 0.99, 0 }); }
Test(codec, pcma_round_trip) { check_codec(&(struct rt){ "PCMA/8000", NULL, 20, 45, 32, 0.99, 0 }); }
Test(codec, l16_round_trip_is_exact)
{
	check_codec(&(struct rt){ "L16/16000", NULL, 20, 150, 59, 0.999, 0 });
}
Test(codec, g722_round_trip) { check_codec(&(struct rt){ "G722/8000", NULL, 20, 42, 30, 0.99, 64 }); }
Test(codec, opus_round_trip)
{
	check_codec(&(struct rt){ "opus/48000/2", "maxaveragebitrate=64000", 20, 22, 8, 0.99, 480 });
}

Test(codec, every_ptime_for_every_codec)
{
	static const char *maps[] = { "PCMU/8000", "PCMA/8000", "G722/8000", "opus/48000/2", "L16/8000" };
	static const unsigned ptimes[] = { 10, 20, 30, 40, 60 };
	int16_t pcm[48 * 60], dec[48 * 120];
	uint8_t pkt[4000];

	for (size_t m = 0; m < 5; m++)
		for (size_t p = 0; p < 5; p++) {
			struct cdc_format f;
			struct cdc_enc *e;
			struct cdc_dec *d;
			uint32_t n;
			int len, got;

			cdc_format_parse(maps[m], NULL, &f);
			n = cdc_frame_samples(&f, ptimes[p]);
			au_tone(pcm, n, 440, 8000, f.sample_rate);
			e = cdc_enc_create(&f, NULL);
			d = cdc_dec_create(&f);
			len = cdc_encode(e, pcm, n, pkt, sizeof(pkt));
			cr_assert_gt(len, 0, "%s %u ms: encode %d", maps[m], ptimes[p], len);
			got = cdc_decode(d, pkt, (size_t)len, dec, sizeof(dec) / sizeof(dec[0]));
			cr_assert_eq(got, (int)n, "%s %u ms: decoded %d of %u", maps[m], ptimes[p], got, n);
			cdc_enc_destroy(e);
			cdc_dec_destroy(d);
		}
}

Test(codec, bad_frame_sizes_and_small_buffers)
{
	struct cdc_format f;
	struct cdc_enc *e;
	struct cdc_dec *d;
	int16_t pcm[960] = { 0 };
	uint8_t pkt[1000];

	cdc_format_parse("opus/48000/2", NULL, &f);
	e = cdc_enc_create(&f, NULL);
	cr_assert_eq(cdc_encode(e, pcm, 100, pkt, sizeof(pkt)), -EINVAL);
	cdc_enc_destroy(e);
	cdc_format_parse("G722/8000", NULL, &f);
	e = cdc_enc_create(&f, NULL);
	cr_assert_eq(cdc_encode(e, pcm, 319, pkt, sizeof(pkt)), -EINVAL, "G.722 needs sample pairs");
	cr_assert_eq(cdc_encode(e, pcm, 320, pkt, 10), -ENOSPC);
	cdc_enc_destroy(e);
	cdc_format_parse("PCMU/8000", NULL, &f);
	d = cdc_dec_create(&f);
	cr_assert_eq(cdc_decode(d, pkt, 160, pcm, 100), -ENOSPC);
	cr_assert_eq(cdc_decode(d, pkt, 0, pcm, 100), -EINVAL);
	cdc_dec_destroy(d);
	cdc_format_parse("L16/8000", NULL, &f);
	d = cdc_dec_create(&f);
	cr_assert_eq(cdc_decode(d, pkt, 7, pcm, 100), -EINVAL, "odd L16 payload");
	cdc_dec_destroy(d);
	cdc_format_parse("telephone-event/8000", NULL, &f);
	cr_assert_null(cdc_dec_create(&f));
	cr_assert_null(cdc_enc_create(&f, NULL));
	cr_assert_null(cdc_dec_create(NULL));
	cdc_dec_destroy(NULL);
	cdc_enc_destroy(NULL);
}

Test(codec, opus_options_validated)
{
	struct cdc_format f;
	struct cdc_enc_opts o = { .complexity = 11 };

	cdc_format_parse("opus/48000/2", NULL, &f);
	cr_assert_null(cdc_enc_create(&f, &o));
	o = (struct cdc_enc_opts){ .bitrate = 1000 };
	cr_assert_null(cdc_enc_create(&f, &o));
	o = (struct cdc_enc_opts){ .complexity = -1, .bitrate = 12000, .fec = 1, .dtx = 1, .app = CDC_OPUS_AUDIO };
	struct cdc_enc *e = cdc_enc_create(&f, &o);
	cr_assert_not_null(e);
	cdc_enc_destroy(e);
	f.sample_rate = 11025;
	cr_assert_null(cdc_enc_create(&f, NULL));
	cr_assert_null(cdc_dec_create(&f));
}

/* ---- loss: concealment and FEC ---- */

/* Decode a 1 kHz tone with every 5th 20 ms frame lost; the concealed frames
 * must carry the tone (energy and frequency), not silence or noise. */
static void check_conceal(const char *map, const char *fmtp)
{
	struct cdc_format f;
	struct cdc_enc *e;
	struct cdc_dec *d;
	uint8_t pkt[2000];
	int16_t in[960], out[960];
	size_t frame;
	double rms_in;

	cdc_format_parse(map, fmtp, &f);
	frame = cdc_frame_samples(&f, 20);
	e = cdc_enc_create(&f, NULL);
	d = cdc_dec_create(&f);
	for (int i = 0; i < 25; i++) {
		au_tone(in, frame, 1000, 8000, f.sample_rate);
		int len = cdc_encode(e, in, frame, pkt, sizeof(pkt));
		if (i % 5 == 4 && i > 5) {
			int got = cdc_dec_conceal(d, out, frame);

			cr_assert_eq((size_t)got, frame, "%s conceal gave %d", map, got);
			rms_in = au_rms(in, frame);
			cr_assert_gt(au_rms(out, frame), 0.3 * rms_in, "%s: concealed frame %d is near silence", map, i);
			cr_assert_gt(au_tone_ratio(out, frame, 1000, f.sample_rate), 0.5, "%s: concealed frame lost the tone", map);
		} else {
			cr_assert_eq((size_t)cdc_decode(d, pkt, (size_t)len, out, frame), frame);
		}
	}
	cdc_enc_destroy(e);
	cdc_dec_destroy(d);
}

Test(loss, pcmu_plc) { check_conceal("PCMU/8000", NULL); }
Test(loss, pcma_plc) { check_conceal("PCMA/8000", NULL); }
Test(loss, g722_plc) { check_conceal("G722/8000", NULL); }
Test(loss, opus_plc) { check_conceal("opus/48000/2", NULL); }

Test(loss, opus_fec_beats_plc)
{
	struct cdc_format f;
	struct cdc_enc_opts o = { .fec = 1, .packet_loss_pct = 20, .bitrate = 32000 };
	struct cdc_enc *e;
	struct cdc_dec *fec_dec, *plc_dec;
	uint8_t pkt[40][1500];
	int len[40];
	int16_t in[40 * 960], a[40 * 960], b[40 * 960];
	double snr_fec, snr_plc;

	cdc_format_parse("opus/48000/2", "useinbandfec=1", &f);
	e = cdc_enc_create(&f, &o);
	fec_dec = cdc_dec_create(&f);
	plc_dec = cdc_dec_create(&f);
	au_speech(in, 40 * 960, 48000, 3);
	for (int i = 0; i < 40; i++)
		len[i] = cdc_encode(e, in + i * 960, 960, pkt[i], sizeof(pkt[i]));
	for (int i = 0; i < 40; i++) {
		if (i % 4 == 2) { /* lost: recover from the next packet, or conceal */
			cr_assert_eq(cdc_dec_recover(fec_dec, pkt[i + 1], (size_t)len[i + 1], a + i * 960, 960), 960);
			cr_assert_eq(cdc_dec_conceal(plc_dec, b + i * 960, 960), 960);
		} else {
			cdc_decode(fec_dec, pkt[i], (size_t)len[i], a + i * 960, 960);
			cdc_decode(plc_dec, pkt[i], (size_t)len[i], b + i * 960, 960);
		}
	}
	/* compare only the lost frames, at the codec's delay */
	size_t lag;
	au_snr(in, a, 40 * 960, 480, 4800, &lag);
	double ea = 0, eb = 0, sig = 0;
	for (int i = 6; i < 38; i += 4)
		for (int k = 0; k < 960; k++) {
			double x = in[i * 960 + k];
			sig += x * x;
			ea += pow(x - a[i * 960 + k + (int)lag], 2);
			eb += pow(x - b[i * 960 + k + (int)lag], 2);
		}
	snr_fec = 10 * log10(sig / ea);
	snr_plc = 10 * log10(sig / eb);
	cr_log_info("lost frames: FEC %.1f dB, PLC %.1f dB (lag %zu)", snr_fec, snr_plc, lag);
	cr_assert_gt(snr_fec, snr_plc + 3, "FEC %.1f dB is not better than PLC %.1f dB", snr_fec, snr_plc);
	cdc_enc_destroy(e);
	cdc_dec_destroy(fec_dec);
	cdc_dec_destroy(plc_dec);
}

/* SpanDSP's PLC overlapped a memcpy when a loss followed a short frame
 * (found by fuzz_dec_pcmu); the sanitizer build catches a regression. The
 * concealment must also be what SpanDSP alone computes after a long frame
 * (buf_ptr 0: nothing to rotate), so our rotation changes no samples. */
Test(loss, plc_after_short_frame_is_safe_and_unchanged)
{
	struct cdc_format f;
	struct cdc_dec *d;
	plc_state_t *ref = plc_init(NULL);
	uint8_t mu[400];
	int16_t lin[400], a[160], b[160];

	cdc_format_parse("PCMU/8000", NULL, &f);
	d = cdc_dec_create(&f);
	for (int i = 0; i < 400; i++) {
		lin[i] = (int16_t)(8000 * sin(2 * M_PI * 300 * i / 8000.0));
		mu[i] = linear_to_ulaw(lin[i]);
	}
	/* a short frame, then a loss: the case that overlapped */
	cr_assert_eq(cdc_decode(d, mu, 1, a, 160), 1);
	cr_assert_eq(cdc_dec_conceal(d, a, 160), 160);
	cdc_dec_destroy(d);
	/* after a frame longer than the history, both paths start from buf_ptr 0 */
	d = cdc_dec_create(&f);
	cr_assert_eq(cdc_decode(d, mu, 400, lin, 400), 400);
	plc_rx(ref, lin, 400);
	cr_assert_eq(cdc_dec_conceal(d, a, 160), 160);
	plc_fillin(ref, b, 160);
	cr_assert(memcmp(a, b, sizeof(a)) == 0, "rotation changed the concealment");
	/* and with a ring that needs rotating, the output still carries the tone */
	cdc_dec_destroy(d);
	d = cdc_dec_create(&f);
	for (int k = 0; k < 5; k++)
		cdc_decode(d, mu + k * 80, 80, lin, 80);
	cr_assert_eq(cdc_dec_conceal(d, a, 160), 160);
	cr_assert_gt(au_tone_ratio(a, 160, 300, 8000), 0.5);
	cdc_dec_destroy(d);
	plc_free(ref);
}

/* ---- corrupt input ---- */

Test(corrupt, garbage_never_crashes)
{
	static const char *maps[] = { "PCMU/8000", "PCMA/8000", "G722/8000", "opus/48000/2", "L16/16000" };
	uint32_t s = 99;
	uint8_t junk[1500];
	int16_t out[48 * 120 * 2];

	for (size_t m = 0; m < 5; m++) {
		struct cdc_format f;
		struct cdc_dec *d;

		cdc_format_parse(maps[m], NULL, &f);
		d = cdc_dec_create(&f);
		for (int i = 0; i < 2000; i++) {
			size_t len = (size_t)(i % 400) + (i % 7 == 0 ? 1000 : 0);
			int r;

			for (size_t k = 0; k < len; k++) {
				s = s * 1664525u + 1013904223u;
				junk[k] = (uint8_t)(s >> 24);
			}
			r = cdc_decode(d, junk, len, out, sizeof(out) / sizeof(out[0]) / 2);
			cr_assert(r == -EINVAL || r == -ENOSPC || (r >= 0 && r <= 48 * 120), "%s: %d", maps[m], r);
			if (r < 0)
				cr_assert_eq(cdc_dec_conceal(d, out, f.sample_rate / 50), (int)(f.sample_rate / 50));
		}
		cdc_dec_destroy(d);
	}
}

Test(corrupt, truncated_opus)
{
	struct cdc_format f;
	struct cdc_enc *e;
	struct cdc_dec *d;
	uint8_t pkt[1500];
	int16_t pcm[960], out[5760];
	int len;

	cdc_format_parse("opus/48000/2", NULL, &f);
	e = cdc_enc_create(&f, NULL);
	d = cdc_dec_create(&f);
	au_speech(pcm, 960, 48000, 1);
	len = cdc_encode(e, pcm, 960, pkt, sizeof(pkt));
	for (int cut = 0; cut < len; cut++) {
		int r = cdc_decode(d, pkt, (size_t)cut, out, 5760);
		cr_assert(r == -EINVAL || r >= 0, "cut %d -> %d", cut, r);
	}
	cdc_enc_destroy(e);
	cdc_dec_destroy(d);
}

/* ---- resampling ---- */

Test(resample, rates_and_tone_preserved)
{
	static const uint32_t rates[] = { 8000, 16000, 24000, 32000, 48000 };

	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++) {
			struct cdc_resampler *r = cdc_resampler_create(rates[i], rates[j], 1, -1);
			int16_t in[4800], out[4800 * 6 + 64];
			size_t total = 0;

			cr_assert_not_null(r);
			for (int k = 0; k < 10; k++) { /* 10 x 20 ms */
				size_t n = rates[i] / 50;
				au_tone(in, n, 1000, 8000, rates[i]);
				/* keep the tone's phase continuous across chunks */
				for (size_t s = 0; s < n; s++)
					in[s] = (int16_t)lrint(8000 * sin(2 * M_PI * 1000 * (double)(k * n + s) / rates[i]));
				int m = cdc_resample(r, in, n, out + total, sizeof(out) / 2 - total);
				cr_assert_geq(m, 0);
				total += (size_t)m;
			}
			size_t want = rates[j] / 5;
			cr_assert(total + rates[j] / 100 >= want && total <= want, "%u->%u: %zu of %zu", rates[i], rates[j], total, want);
			cr_assert_gt(au_tone_ratio(out + total / 2, total / 2, 1000, rates[j]), 0.97, "%u->%u", rates[i], rates[j]);
			cdc_resampler_destroy(r);
		}
}

Test(resample, passthrough_copies_and_errors)
{
	struct cdc_resampler *r = cdc_resampler_create(16000, 16000, 2, 5);
	int16_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];

	cr_assert_eq(cdc_resample(r, in, 4, out, 4), 4);
	cr_assert(memcmp(in, out, sizeof(in)) == 0);
	cr_assert_eq(cdc_resample(r, in, 4, out, 3), -ENOSPC);
	cdc_resampler_destroy(r);
	cr_assert_null(cdc_resampler_create(11025, 8000, 1, 3));
	cr_assert_null(cdc_resampler_create(8000, 8000, 3, 3));
	cr_assert_null(cdc_resampler_create(8000, 16000, 1, 11));
	cdc_resampler_destroy(NULL);
}
