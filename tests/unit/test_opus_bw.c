/* Unit tests: Opus at the source's rate and bandwidth (codecs/cdc_opus.c,
 * cdc_src.c, cdc_sink.c). A chain from an 8 kHz codec runs its Opus encoder
 * at 8 kHz, capped at narrowband; from G.722 at 16 kHz, wideband; the other
 * way Opus decodes at the output's rate; no resampler is made where the
 * rates match; the RTP clock stays at 48 kHz (RFC 7587); and the audio
 * survives the round trip. The packets' bandwidth is read from their TOC
 * byte by hand (RFC 6716 section 3.1), not through libopus. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audio_util.h"
#include "cdc.h"

static struct cdc_pkt outbuf[CDC_CHAIN_MAX_OUT];

static struct cdc_chain_conf conf_of(const char *in, const char *in_fmtp, const char *out, const char *out_fmtp)
{
	struct cdc_chain_conf c = { .in_pt = 96, .out_pt = 97, .out_ptime = 20, .in_te_pt = -1,
				    .out_te_pt = -1, .in_cn_pt = -1, .out_cn_pt = -1, .dtmf = CDC_DTMF_DROP,
				    .resample_quality = -1 };

	cr_assert_eq(cdc_format_parse(in, in_fmtp, &c.in), 0);
	cr_assert_eq(cdc_format_parse(out, out_fmtp, &c.out), 0);
	return c;
}

/* RFC 6716 3.1: the audio bandwidth in Hz that a packet's TOC config says
 * (SILK 0-11, hybrid 12-15, CELT 16-31). */
static int toc_bandwidth_hz(uint8_t toc)
{
	static const int silk[] = { 4000, 6000, 8000 }, hybrid[] = { 12000, 20000 },
			 celt[] = { 4000, 8000, 12000, 20000 };
	unsigned config = toc >> 3;

	if (config < 12)
		return silk[config / 4];
	if (config < 16)
		return hybrid[(config - 12) / 2];
	return celt[(config - 16) / 4];
}

struct trip {
	int16_t *src;          /* what the chain's decoder gives (the source as the encoder hears it) */
	size_t n;
	int bw_count[5];       /* Opus packets by bandwidth: NB, MB, WB, SWB, FB */
	int opus_pkts;
	size_t opus_bytes;
	uint32_t ts_step_bad;  /* packets whose timestamp step is not 960 */
	struct cdc_chain_info info;
};

static int bw_index(int hz)
{
	return hz == 4000 ? 0 : hz == 6000 ? 1 : hz == 8000 ? 2 : hz == 12000 ? 3 : 4;
}

/* Send `ms` of speech-like audio in the in format through the chain c (to
 * Opus), 20 ms packets; t->src gets the in format's decoded audio (what
 * the chain's decoder produces), and the Opus packets are counted by
 * bandwidth. If back is not NULL, the Opus packets go on through it (Opus
 * -> in format) and *out gets the decoded result (n samples). */
static void run_trip(const struct cdc_chain_conf *c, const struct cdc_chain_conf *back, unsigned ms,
		     struct trip *t, int16_t **out, size_t *out_n)
{
	struct cdc_chain *ch = cdc_chain_create(c), *bk = back ? cdc_chain_create(back) : NULL;
	struct cdc_enc *enc = cdc_enc_create(&c->in, NULL);
	struct cdc_dec *dec = cdc_dec_create(&c->in), *bdec = back ? cdc_dec_create(&back->out) : NULL;
	uint32_t rate = c->in.sample_rate, frame = cdc_frame_samples(&c->in, 20);
	size_t total = (size_t)rate * ms / 1000;
	int16_t *sig = calloc(total + frame, sizeof(int16_t)), tmp[2000];
	static struct cdc_pkt back_out[CDC_CHAIN_MAX_OUT];
	uint8_t pkt[4000];
	uint32_t ts = 1000, last_ts = 0;
	bool have_last = false;

	cr_assert(ch && enc && dec && (!back || (bk && bdec)));
	memset(t, 0, sizeof(*t));
	t->src = calloc(total + frame, sizeof(int16_t));
	if (out) {
		*out = calloc(total * 2 + 48000, sizeof(int16_t));
		*out_n = 0;
	}
	au_speech(sig, total, rate, 7);
	cdc_chain_get_info(ch, &t->info);
	for (size_t i = 0, k = 0; i + frame <= total; i += frame, k++) {
		int len = cdc_encode(enc, sig + i, frame, pkt, sizeof(pkt)), n, got;

		cr_assert_gt(len, 0);
		got = cdc_decode(dec, pkt, (size_t)len, t->src + t->n, frame);
		cr_assert_eq(got, (int)frame);
		t->n += (size_t)got;
		n = cdc_chain_push(ch, c->in_pt, ts, k == 0, pkt, (size_t)len, outbuf);
		for (int j = 0; j < n; j++) {
			if (outbuf[j].pt != c->out_pt)
				continue;
			cr_assert_gt(outbuf[j].len, 0);
			t->bw_count[bw_index(toc_bandwidth_hz(outbuf[j].payload[0]))]++;
			t->opus_pkts++;
			t->opus_bytes += outbuf[j].len;
			if (have_last && outbuf[j].ts - last_ts != 960)
				t->ts_step_bad++;
			last_ts = outbuf[j].ts;
			have_last = true;
			if (!bk)
				continue;
			int m = cdc_chain_push(bk, back->in_pt, outbuf[j].ts, outbuf[j].marker, outbuf[j].payload,
					       outbuf[j].len, back_out);
			for (int q = 0; q < m; q++) {
				int d = cdc_decode(bdec, back_out[q].payload, back_out[q].len, tmp, 2000);

				cr_assert_gt(d, 0);
				memcpy(*out + *out_n, tmp, (size_t)d * sizeof(int16_t));
				*out_n += (size_t)d;
			}
		}
		ts += cdc_frame_ts(&c->in, 20);
	}
	free(sig);
	cdc_enc_destroy(enc);
	cdc_dec_destroy(dec);
	cdc_dec_destroy(bdec);
	cdc_chain_destroy(ch);
	cdc_chain_destroy(bk);
}

static void expect_to_opus(const char *in, const char *out_fmtp, uint32_t enc_rate, int bw_hz)
{
	struct cdc_chain_conf c = conf_of(in, NULL, "opus/48000/2", out_fmtp);
	struct trip t;

	run_trip(&c, NULL, 2000, &t, NULL, NULL);
	cr_assert_eq(t.info.enc_rate, enc_rate, "%s -> Opus: encoder at %u Hz, want %u", in, t.info.enc_rate,
		     enc_rate);
	cr_assert_eq(t.info.dec_rate, c.in.sample_rate);
	cr_assert_eq(t.info.resamplers, 0u, "%s -> Opus: %u resamplers", in, t.info.resamplers);
	cr_assert_eq(t.info.opus_bandwidth_hz, bw_hz, "%s -> Opus: cap %d Hz, want %d", in,
		     t.info.opus_bandwidth_hz, bw_hz);
	cr_assert_geq(t.opus_pkts, 95, "%d Opus packets for 2 s", t.opus_pkts);
	/* every packet at the cap: with speech at the default bitrate the
	 * encoder has no reason to go narrower */
	cr_assert_eq(t.bw_count[bw_index(bw_hz)], t.opus_pkts,
		     "%s -> Opus: packets by bandwidth NB %d MB %d WB %d SWB %d FB %d, want all at %d Hz", in,
		     t.bw_count[0], t.bw_count[1], t.bw_count[2], t.bw_count[3], t.bw_count[4], bw_hz);
	cr_assert_eq(t.ts_step_bad, 0u, "the RTP clock stays at 48 kHz: 960 a 20 ms packet");
	free(t.src);
}

Test(opus_bw, pcmu_to_opus_encodes_narrowband_at_8k) { expect_to_opus("PCMU/8000", NULL, 8000, 4000); }
Test(opus_bw, pcma_to_opus_encodes_narrowband_at_8k) { expect_to_opus("PCMA/8000", NULL, 8000, 4000); }
Test(opus_bw, g722_to_opus_encodes_wideband_at_16k) { expect_to_opus("G722/8000", NULL, 16000, 8000); }
Test(opus_bw, l16_8k_to_opus_encodes_narrowband) { expect_to_opus("L16/8000", NULL, 8000, 4000); }
Test(opus_bw, l16_16k_to_opus_encodes_wideband) { expect_to_opus("L16/16000", NULL, 16000, 8000); }

/* The receiver's maxplaybackrate caps below what the input holds. */
Test(opus_bw, maxplaybackrate_caps_below_the_input)
{
	expect_to_opus("G722/8000", "maxplaybackrate=8000", 16000, 4000);
}

/* 48 kHz input: fullband allowed, as before. */
Test(opus_bw, l16_48k_to_opus_may_use_fullband)
{
	struct cdc_chain_conf c = conf_of("L16/48000", NULL, "opus/48000/2", NULL);
	struct trip t;

	run_trip(&c, NULL, 1000, &t, NULL, NULL);
	cr_assert_eq(t.info.enc_rate, 48000u);
	cr_assert_eq(t.info.resamplers, 0u);
	cr_assert_eq(t.info.opus_bandwidth_hz, 20000);
	free(t.src);
}

/* The other way: Opus decodes at the output's rate itself. */
static void expect_from_opus(const char *out, uint32_t rate)
{
	struct cdc_chain_conf c = conf_of("opus/48000/2", NULL, out, NULL);
	struct cdc_chain *ch = cdc_chain_create(&c);
	struct cdc_chain_info info;

	cr_assert(ch);
	cdc_chain_get_info(ch, &info);
	cr_assert_eq(info.dec_rate, rate, "Opus -> %s decodes at %u Hz, want %u", out, info.dec_rate, rate);
	cr_assert_eq(info.enc_rate, rate);
	cr_assert_eq(info.resamplers, 0u, "Opus -> %s: %u resamplers", out, info.resamplers);
	cr_assert_eq(info.opus_bandwidth_hz, 0);
	cdc_chain_destroy(ch);
}

Test(opus_bw, opus_to_pcmu_decodes_at_8k_without_a_resampler) { expect_from_opus("PCMU/8000", 8000); }
Test(opus_bw, opus_to_pcma_decodes_at_8k_without_a_resampler) { expect_from_opus("PCMA/8000", 8000); }
Test(opus_bw, opus_to_g722_decodes_at_16k_without_a_resampler) { expect_from_opus("G722/8000", 16000); }

/* Where the rates differ a resampler is counted (the introspection can
 * fail): G.722 (16 kHz) to PCMU (8 kHz). */
Test(opus_bw, a_rate_change_is_seen_as_a_resampler)
{
	struct cdc_chain_conf c = conf_of("G722/8000", NULL, "PCMU/8000", NULL);
	struct cdc_chain *ch = cdc_chain_create(&c);
	struct cdc_chain_info info;

	cr_assert(ch);
	cdc_chain_get_info(ch, &info);
	cr_assert_eq(info.dec_rate, 16000u);
	cr_assert_eq(info.enc_rate, 8000u);
	cr_assert_eq(info.resamplers, 1u);
	cdc_chain_destroy(ch);
}

/* PCMU -> Opus -> PCMU (and G.722 -> Opus -> G.722): the audio that comes
 * back is close to what went in, by waveform SNR and by log-spectral
 * distance. Thresholds: 4 s of the speech-like signal at the default
 * complexity measured 7.6 dB SNR / 4.6 dB LSD (PCMU, 9.6 kbit/s) and
 * 8.5 / 4.4 (G.722, 16.4 kbit/s); Opus is not a waveform coder, so the SNR
 * is modest. The thresholds leave 1.6 dB SNR and 0.9 dB LSD of margin. */
static void round_trip(const char *codec, double min_snr, double max_lsd)
{
	struct cdc_chain_conf c = conf_of(codec, NULL, "opus/48000/2", NULL);
	struct cdc_chain_conf b = conf_of("opus/48000/2", NULL, codec, NULL);
	struct trip t;
	int16_t *out;
	size_t n, lag;
	uint32_t rate = c.in.sample_rate;

	b.in_pt = c.out_pt;
	b.out_pt = c.in_pt;
	run_trip(&c, &b, 4000, &t, &out, &n);
	cr_assert_geq(n + rate / 10, t.n, "only %zu of %zu samples came back", n, t.n);
	double snr = au_snr(t.src, out, n < t.n ? n : t.n, rate / 20, rate / 2, &lag);
	double lsd = au_lsd(t.src, out, n < t.n ? n : t.n, lag, rate / 50, rate / 2);

	cr_log_info("%s -> Opus -> %s: SNR %.2f dB, LSD %.2f dB, lag %zu, %.1f kbit/s", codec, codec, snr, lsd,
		    lag, (double)t.opus_bytes * 8 / (t.opus_pkts * 0.02) / 1000);
	cr_assert_gt(snr, min_snr, "%s round trip: SNR %.2f dB", codec, snr);
	cr_assert_lt(lsd, max_lsd, "%s round trip: log-spectral distance %.2f dB", codec, lsd);
	free(t.src);
	free(out);
}

Test(opus_bw, pcmu_round_trip_keeps_the_audio) { round_trip("PCMU/8000", 6.0, 5.5); }
Test(opus_bw, g722_round_trip_keeps_the_audio) { round_trip("G722/8000", 6.0, 5.5); }

Test(opus_bw, default_complexity_is_settable_and_checked)
{
	int was = cdc_opus_default_complexity();

	cr_assert_eq(was, CDC_OPUS_DEFAULT_COMPLEXITY);
	cr_assert_eq(cdc_opus_set_default_complexity(11), -EINVAL);
	cr_assert_eq(cdc_opus_set_default_complexity(-1), -EINVAL);
	cr_assert_eq(cdc_opus_set_default_complexity(0), 0);
	cr_assert_eq(cdc_opus_default_complexity(), 0);
	cr_assert_eq(cdc_opus_set_default_complexity(was), 0);
	cr_assert_eq(cdc_opus_default_complexity(), was);
}

/* Encode 1 s of speech-like audio at 8 kHz with opts o; returns the bytes
 * of all packets and fills sig (a checksum of the packets). */
static size_t encode_with(const struct cdc_enc_opts *o, uint32_t *sig)
{
	struct cdc_format f;
	int16_t pcm[8000];
	uint8_t pkt[1500];
	size_t total = 0;
	struct cdc_enc *e;

	cr_assert_eq(cdc_format_parse("opus/48000/2", NULL, &f), 0);
	f.sample_rate = 8000;
	e = cdc_enc_create(&f, o);
	cr_assert(e);
	au_speech(pcm, 8000, 8000, 3);
	*sig = 2166136261u;
	for (int i = 0; i < 50; i++) {
		int n = cdc_encode(e, pcm + i * 160, 160, pkt, sizeof(pkt));

		cr_assert_gt(n, 0);
		for (int k = 0; k < n; k++)
			*sig = (*sig ^ pkt[k]) * 16777619u;
		total += (size_t)n;
	}
	cdc_enc_destroy(e);
	return total;
}

/* The default (media.opus_complexity) reaches encoders that ask for none,
 * and not those that ask for one. */
Test(opus_bw, the_default_complexity_reaches_encoders_that_ask_for_none)
{
	int was = cdc_opus_default_complexity();
	uint32_t s0, s10, s_def0, s_def10, s_fixed0, s_fixed10;

	cr_assert_eq(cdc_opus_set_default_complexity(0), 0);
	encode_with(&(struct cdc_enc_opts){ 0 }, &s_def0);
	encode_with(&(struct cdc_enc_opts){ .complexity = 10 }, &s_fixed0);
	cr_assert_eq(cdc_opus_set_default_complexity(10), 0);
	encode_with(&(struct cdc_enc_opts){ 0 }, &s_def10);
	encode_with(&(struct cdc_enc_opts){ .complexity = 10 }, &s_fixed10);
	cr_assert_eq(cdc_opus_set_default_complexity(was), 0);
	encode_with(&(struct cdc_enc_opts){ .complexity = -1 }, &s0);
	encode_with(&(struct cdc_enc_opts){ .complexity = 10 }, &s10);
	cr_assert_neq(s0, s10, "complexity 0 and 10 code differently");
	cr_assert_eq(s_def0, s0, "default 0: encoders asking for none code as complexity 0");
	cr_assert_eq(s_def10, s10, "default 10: encoders asking for none code as complexity 10");
	cr_assert_eq(s_fixed0, s10, "an encoder asking for 10 gets 10 whatever the default");
	cr_assert_eq(s_fixed10, s10);
}
