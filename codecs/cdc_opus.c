/* SPDX-License-Identifier: MIT
 * cdc_opus: Opus through libopus. The decoder and encoder run at the
 * format's sample_rate (8, 12, 16, 24 or 48 kHz): libopus resamples
 * internally, so a chain to an 8 kHz codec needs no resampler of its own.
 * The encoder's bandwidth is capped by both its input rate (8 kHz audio
 * is coded narrowband, 16 kHz wideband: there is nothing above the input's
 * Nyquist frequency to spend bits on) and the receiver's maxplaybackrate.
 * 30 ms frames, which Opus cannot code as one frame, are three 10 ms frames
 * joined into one packet by the repacketizer. */
#include "cdc_impl.h"

#include <errno.h>
#include <stdatomic.h>

#define OPUS_MAX_MS 120

static int map_err(int rc)
{
	return rc == OPUS_BUFFER_TOO_SMALL ? -ENOSPC : -EINVAL;
}

static int opus_dec(struct cdc_dec *d, const uint8_t *in, size_t len, int16_t *pcm, size_t max)
{
	size_t cap = d->f.sample_rate / 1000u * OPUS_MAX_MS;
	int n;

	if (len == 0 || len > INT32_MAX)
		return -EINVAL;
	n = opus_decode(d->opus, in, (opus_int32)len, pcm, (int)(max < cap ? max : cap), 0);
	return n < 0 ? map_err(n) : n;
}

static int opus_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples)
{
	int n = opus_decode(d->opus, NULL, 0, pcm, (int)samples, 0);

	return n < 0 ? map_err(n) : n;
}

static int opus_recover(struct cdc_dec *d, const uint8_t *next, size_t len, int16_t *pcm,
			size_t samples)
{
	int n = opus_decode(d->opus, next, (opus_int32)len, pcm, (int)samples, 1);

	/* A broken next packet still leaves the gap to fill: conceal it. */
	return n < 0 ? opus_conceal(d, pcm, samples) : n;
}

static void opus_dec_fini(struct cdc_dec *d)
{
	if (d->opus)
		opus_decoder_destroy(d->opus);
}

int cdc_opus_dec_init(struct cdc_dec *d)
{
	int err;

	if (!cdc_opus_rate(d->f.sample_rate) || d->f.pcm_channels < 1 || d->f.pcm_channels > 2)
		return -EINVAL;
	d->opus = opus_decoder_create((opus_int32)d->f.sample_rate, d->f.pcm_channels, &err);
	if (!d->opus)
		return -ENOMEM;
	d->decode = opus_dec;
	d->conceal = opus_conceal;
	d->recover = opus_recover;
	d->fini = opus_dec_fini;
	return 0;
}

static int opus_enc(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out, size_t max)
{
	uint32_t per_ms = e->f.sample_rate / 1000u;
	size_t ten = 10u * per_ms;
	unsigned char part[3][400];
	opus_int32 n;
	int rc;

	if (samples == 3 * ten) { /* 30 ms: three 10 ms frames in one packet */
		opus_repacketizer_init(e->rp);
		for (int i = 0; i < 3; i++) {
			n = opus_encode(e->opus, pcm + (size_t)i * ten * e->f.pcm_channels, (int)ten,
					part[i], sizeof(part[i]));
			if (n < 0)
				return map_err(n);
			rc = opus_repacketizer_cat(e->rp, part[i], n);
			if (rc != OPUS_OK)
				return -EINVAL;
		}
		n = opus_repacketizer_out(e->rp, out, (opus_int32)(max > INT32_MAX ? INT32_MAX : max));
		return n < 0 ? map_err(n) : (int)n;
	}
	if (samples != ten && samples != 2 * ten && samples != 4 * ten && samples != 6 * ten)
		return -EINVAL;
	n = opus_encode(e->opus, pcm, (int)samples, out, (opus_int32)(max > INT32_MAX ? INT32_MAX : max));
	return n < 0 ? map_err(n) : (int)n;
}

static void opus_enc_fini(struct cdc_enc *e)
{
	if (e->opus)
		opus_encoder_destroy(e->opus);
	if (e->rp)
		opus_repacketizer_destroy(e->rp);
}

/* The widest Opus bandwidth audio at `rate` Hz fills (NB 4 kHz audio
 * bandwidth for 8 kHz, WB for 16 kHz, ...). */
static int bandwidth_of(uint32_t rate)
{
	return rate <= 8000    ? OPUS_BANDWIDTH_NARROWBAND
	       : rate <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND
	       : rate <= 16000 ? OPUS_BANDWIDTH_WIDEBAND
	       : rate <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND
			       : OPUS_BANDWIDTH_FULLBAND;
}

/* The encoder's cap: what its input holds, and no more than the receiver
 * plays (the OPUS_BANDWIDTH_* constants are in increasing order). */
static int max_bandwidth(uint32_t sample_rate, uint32_t maxplaybackrate)
{
	int in = bandwidth_of(sample_rate), play = bandwidth_of(maxplaybackrate ? maxplaybackrate : 48000);

	return in < play ? in : play;
}

static _Atomic int default_complexity = CDC_OPUS_DEFAULT_COMPLEXITY;

int cdc_opus_set_default_complexity(int complexity)
{
	if (complexity < 0 || complexity > 10)
		return -EINVAL;
	atomic_store_explicit(&default_complexity, complexity, memory_order_relaxed);
	return 0;
}

int cdc_opus_default_complexity(void)
{
	return atomic_load_explicit(&default_complexity, memory_order_relaxed);
}

int cdc_enc_opus_bandwidth_hz(const struct cdc_enc *e)
{
	opus_int32 bw = 0;

	if (!e || e->f.codec != CDC_OPUS || !e->opus)
		return 0;
	opus_encoder_ctl(e->opus, OPUS_GET_MAX_BANDWIDTH(&bw));
	switch (bw) {
	case OPUS_BANDWIDTH_NARROWBAND: return 4000;
	case OPUS_BANDWIDTH_MEDIUMBAND: return 6000;
	case OPUS_BANDWIDTH_WIDEBAND: return 8000;
	case OPUS_BANDWIDTH_SUPERWIDEBAND: return 12000;
	default: return 20000;
	}
}

int cdc_opus_enc_init(struct cdc_enc *e)
{
	static const int apps[] = { [CDC_OPUS_VOIP] = OPUS_APPLICATION_VOIP,
				    [CDC_OPUS_AUDIO] = OPUS_APPLICATION_AUDIO,
				    [CDC_OPUS_LOWDELAY] = OPUS_APPLICATION_RESTRICTED_LOWDELAY };
	const struct cdc_enc_opts *o = &e->o;
	int complexity = o->complexity == 0 ? cdc_opus_default_complexity() : o->complexity < 0 ? 0 : o->complexity;
	bool fec = o->fec ? o->fec > 0 : e->f.opus.useinbandfec;
	bool dtx = o->dtx ? o->dtx > 0 : e->f.opus.usedtx;
	uint32_t bitrate = o->bitrate ? o->bitrate : e->f.opus.maxaveragebitrate;
	int err;

	if (!cdc_opus_rate(e->f.sample_rate) || e->f.pcm_channels < 1 || e->f.pcm_channels > 2 ||
	    complexity > 10 || (unsigned)o->app > CDC_OPUS_LOWDELAY || o->packet_loss_pct > 100 ||
	    (bitrate && (bitrate < 6000 || bitrate > 510000)))
		return -EINVAL;
	e->fini = opus_enc_fini;
	e->opus = opus_encoder_create((opus_int32)e->f.sample_rate, e->f.pcm_channels, apps[o->app], &err);
	e->rp = opus_repacketizer_create();
	if (!e->opus || !e->rp)
		return -ENOMEM;
	opus_encoder_ctl(e->opus, OPUS_SET_COMPLEXITY(complexity));
	opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(bitrate ? (opus_int32)bitrate : OPUS_AUTO));
	opus_encoder_ctl(e->opus, OPUS_SET_INBAND_FEC(fec));
	opus_encoder_ctl(e->opus, OPUS_SET_DTX(dtx));
	opus_encoder_ctl(e->opus, OPUS_SET_PACKET_LOSS_PERC(o->packet_loss_pct ? o->packet_loss_pct : (fec ? 10 : 0)));
	opus_encoder_ctl(e->opus, OPUS_SET_VBR(!e->f.opus.cbr));
	opus_encoder_ctl(e->opus, OPUS_SET_MAX_BANDWIDTH(max_bandwidth(e->f.sample_rate, e->f.opus.maxplaybackrate)));
	opus_encoder_ctl(e->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	e->encode = opus_enc;
	return 0;
}
