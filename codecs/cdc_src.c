/* SPDX-License-Identifier: MIT
 * cdc_src: the decode half of a transcode chain, what a media endpoint
 * hears (see cdc.h).
 *
 * The half keeps an input timeline (next_ts: the in-clock timestamp just
 * past the last audio it consumed). Audio is decoded at a rate the consumer
 * can take where the codec allows it (Opus decodes at 8-48 kHz itself),
 * otherwise resampled, and handed on as it is made through the consumer's
 * pcm() callback. Gaps are filled (FEC, comfort noise, PLC) up to
 * CDC_CHAIN_MAX_FILL_MS, whether a later packet shows them
 * (cdc_src_push) or the media clock does (cdc_src_fill_to); longer ones
 * move the timeline on and tell the consumer (CDC_EV_RESYNC). What is not
 * audio (RFC 4733 events to forward, detected tones, CN) goes out as
 * events, placed on the PCM stream (struct cdc_ev).
 *
 * The DTMF mask (cdc_src_set_dtmf_mask) lives in cdc_chain_mask.c: while
 * it is on, everything decoded goes through its delay line (feed()) on the
 * way to the resampler; while it is off, feed() is take_pcm().
 */
#include "cdc_impl.h"
#include "cdc_chain_mask.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKT_MS 120         /* longest payload decoded in one go */

struct cdc_src {
	struct cdc_src_conf c;
	struct cdc_src_out o;
	struct cdc_dec *dec;
	struct cdc_resampler *rs;  /* dec_rate -> out_rate; NULL when equal */
	struct cdc_resampler *det_rs; /* dec_rate -> 8 kHz for DTMF detection */
	struct cdc_dtmf_det *det;
	struct cdc_dtmf_gen *gen;
	uint32_t dec_rate;
	unsigned dch, och;          /* PCM channels decoded / handed on */
	uint32_t last_in_samples;   /* duration of the last decoded packet */

	bool started;
	bool paused;                /* the clock filled CDC_CHAIN_MAX_FILL_MS: wait for a packet */
	uint32_t next_ts;           /* in clock */
	uint32_t filled;            /* in-clock ticks filled since the last packet */

	bool cn_active;             /* a CN packet started a silence */
	uint8_t cn_level;
	uint32_t noise_seed;

	bool te_in_active;          /* TO_INBAND: an event is being played; PASS: being forwarded */
	uint32_t te_in_ts;
	bool tone_active;           /* FROM_INBAND: a detected tone is being reported */

	cdc_pcm_tap_fn tap;         /* sees what feed() takes (cdc_src_set_pcm_tap) */
	void *tap_ctx;
	enum cdc_pcm_kind kind;     /* of the PCM the next feed() takes */

	int16_t *dec_buf, *conv_buf, *rs_buf, *det_buf;
	size_t dec_cap, rs_cap;     /* in samples per channel */
	struct cdc_chain_stats st;

	struct cdc_mask mask;       /* the DTMF mask; its req word is the control thread's */
	bool mask_te_seen;          /* an RFC 4733 event was dropped since masking went on */
	uint32_t mask_te_ts;        /* its timestamp */
};

static bool conf_ok(const struct cdc_src_conf *c)
{
	bool in_te = c->in_te_pt >= 0;

	if (c->out_channels < 1 || c->out_channels > 2)
		return false;
	switch (c->dtmf) {
	case CDC_DTMF_PASS: return in_te;
	case CDC_DTMF_TO_INBAND: return in_te;
	case CDC_DTMF_FROM_INBAND: return !in_te;
	case CDC_DTMF_DROP: return true;
	}
	return false;
}

struct cdc_src *cdc_src_create(const struct cdc_src_conf *c, const struct cdc_src_out *o)
{
	struct cdc_format df;
	struct cdc_src *s;

	if (!c || !o || !o->pcm || !o->event || !conf_ok(c)) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0; /* a failure below with errno ENOMEM was memory (malloc's, or a codec's init) */
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	s->o = *o;
	df = c->in;
	/* Let Opus do the rate change itself where the consumer's rate allows. */
	if (df.codec == CDC_OPUS && cdc_opus_rate(c->out_rate))
		df.sample_rate = c->out_rate;
	s->dec_rate = df.sample_rate;
	s->dch = df.pcm_channels;
	s->och = c->out_channels;
	s->last_in_samples = df.sample_rate / 50u; /* 20 ms until we know better */
	s->dec_cap = (size_t)s->dec_rate / 1000u * MAX_PKT_MS;
	s->rs_cap = (size_t)c->out_rate / 1000u * MAX_PKT_MS + 64;
	s->noise_seed = 0x1234567u;
	if (cdc_mask_init(&s->mask, s->dec_rate, s->dch))
		goto fail;
	s->dec = cdc_dec_create(&df);
	if (s->dec_rate != c->out_rate) { /* equal rates: decoded PCM goes on as it is */
		s->rs = cdc_resampler_create(s->dec_rate, c->out_rate, s->och, c->resample_quality);
		s->rs_buf = malloc(s->rs_cap * 2 * sizeof(int16_t));
		if (!s->rs || !s->rs_buf)
			goto fail;
	}
	s->dec_buf = malloc(s->dec_cap * 2 * sizeof(int16_t));
	s->conv_buf = malloc(s->dec_cap * 2 * sizeof(int16_t));
	if (!s->dec || !s->dec_buf || !s->conv_buf)
		goto fail;
	if (c->dtmf == CDC_DTMF_FROM_INBAND) {
		s->det = cdc_dtmf_det_create();
		s->det_rs = cdc_resampler_create(s->dec_rate, 8000, 1, c->resample_quality);
		s->det_buf = malloc((s->dec_cap + 64) * sizeof(int16_t));
		if (!s->det || !s->det_rs || !s->det_buf)
			goto fail;
	}
	if (c->dtmf == CDC_DTMF_TO_INBAND) {
		s->gen = cdc_dtmf_gen_create(s->dec_rate);
		if (!s->gen)
			goto fail;
	}
	return s;
fail:
	cdc_src_destroy(s);
	if (errno != ENOMEM)
		errno = EINVAL;
	return NULL;
}

void cdc_src_destroy(struct cdc_src *s)
{
	if (!s)
		return;
	cdc_dec_destroy(s->dec);
	cdc_resampler_destroy(s->rs);
	cdc_resampler_destroy(s->det_rs);
	cdc_dtmf_det_destroy(s->det);
	cdc_dtmf_gen_destroy(s->gen);
	free(s->dec_buf);
	free(s->conv_buf);
	free(s->rs_buf);
	free(s->det_buf);
	cdc_mask_fini(&s->mask);
	free(s);
}

void cdc_src_set_pcm_tap(struct cdc_src *s, cdc_pcm_tap_fn fn, void *ctx)
{
	s->tap = fn;
	s->tap_ctx = ctx;
}

void cdc_src_get_info(const struct cdc_src *s, struct cdc_chain_info *out)
{
	out->dec_rate = s->dec_rate;
	out->resamplers += s->rs != NULL;
}

uint32_t cdc_src_pcm_rate(const struct cdc_src *s, unsigned *channels)
{
	if (channels)
		*channels = s->dch;
	return s->dec_rate;
}

void cdc_src_get_stats(const struct cdc_src *s, struct cdc_chain_stats *st)
{
	uint64_t out = st->out_packets, played = st->dtmf_played;

	*st = s->st;
	st->out_packets = out;
	st->dtmf_played = played;
	st->dtmf_masked_ms = s->mask.masked * 1000u / s->dec_rate;
	st->dtmf_masked_digits = s->mask.digits;
}

/* in-clock ticks for n decoded samples, and back */
static uint32_t in_ticks(const struct cdc_src *s, uint64_t n)
{
	return (uint32_t)(n * s->c.in.clock_rate / s->dec_rate);
}
static uint64_t dec_samples(const struct cdc_src *s, uint32_t ticks)
{
	return (uint64_t)ticks * s->dec_rate / s->c.in.clock_rate;
}

static bool busy(const struct cdc_src *s)
{
	return s->o.busy && s->o.busy(s->o.ctx);
}

/* Tell the consumer something that falls at in-clock ts (or, ts_valid
 * false, right after the PCM handed on so far). */
static void event(struct cdc_src *s, struct cdc_ev *ev, uint32_t ts)
{
	ev->ahead = (int32_t)(ts - s->next_ts);
	ev->held = (uint32_t)s->mask.len; /* 0 unless masking */
	ev->clock = s->c.in.clock_rate;
	ev->dec_rate = s->dec_rate;
	s->o.event(s->o.ctx, ev);
}

/* Hand n decoded samples (dec rate, dch channels) on, converted. */
static void take_pcm(struct cdc_src *s, const int16_t *pcm, size_t n)
{
	const int16_t *src = pcm;
	int r;

	if (s->dch == 2 && s->och == 1) {
		for (size_t i = 0; i < n; i++)
			s->conv_buf[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
		src = s->conv_buf;
	} else if (s->dch == 1 && s->och == 2) {
		for (size_t i = 0; i < n; i++)
			s->conv_buf[2 * i] = s->conv_buf[2 * i + 1] = pcm[i];
		src = s->conv_buf;
	}
	if (!s->rs) {
		if (n)
			s->o.pcm(s->o.ctx, src, n);
		return;
	}
	r = cdc_resample(s->rs, src, n, s->rs_buf, s->rs_cap);
	if (r > 0)
		s->o.pcm(s->o.ctx, s->rs_buf, (size_t)r);
}

/* Take n decoded samples on their way out: straight on while masking is
 * off, through the mask's delay line while it is on. */
static void feed(struct cdc_src *s, const int16_t *pcm, size_t n)
{
	if (s->tap)
		s->tap(s->tap_ctx, pcm, n, s->kind);
	if (!cdc_mask_on(&s->mask)) {
		take_pcm(s, pcm, n);
		return;
	}
	while (n) {
		size_t k = cdc_mask_room(&s->mask), due;

		if (k > n)
			k = n;
		due = cdc_mask_write(&s->mask, pcm, k);
		if (due) {
			take_pcm(s, s->mask.line, due);
			cdc_mask_consume(&s->mask, due);
		}
		pcm += k * s->dch;
		n -= k;
	}
}

/* ---- the DTMF mask (cdc_chain_mask.c does the audio) ---- */

int cdc_src_set_dtmf_mask(struct cdc_src *s, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	if (!s || (unsigned)mode > CDC_DTMF_MASK_TONE)
		return -EINVAL;
	if (mode == CDC_DTMF_MASK_TONE) {
		if (freq_hz == 0)
			freq_hz = CDC_DTMF_MASK_FREQ_DEFAULT;
		if (freq_hz < 100 || freq_hz > 4000)
			return -EINVAL;
	}
	cdc_mask_request(&s->mask, mode, freq_hz);
	return 0;
}

/* At the start of every push: adopt the latest mask setting. Going on
 * cuts off DTMF in progress (an event played as tones here; a detected
 * tone the consumer sends as an event: CDC_EV_MASK_ON); going off releases
 * the held audio. */
static void mask_take(struct cdc_src *s)
{
	int t = cdc_mask_take(&s->mask);

	if (t > 0) {
		struct cdc_ev ev = { .kind = CDC_EV_MASK_ON };

		s->st.dtmf_mask_starts++;
		s->mask_te_seen = false;
		if (s->te_in_active && s->c.dtmf == CDC_DTMF_TO_INBAND) {
			s->te_in_active = false;
			cdc_dtmf_gen_start(s->gen, 0, 0, -10); /* stop */
		}
		s->tone_active = false;
		event(s, &ev, s->next_ts);
	} else if (t < 0) {
		size_t n = cdc_mask_flush(&s->mask);

		if (s->started && n) /* before any audio the line holds only its silence */
			take_pcm(s, s->mask.line, n);
		cdc_mask_consume(&s->mask, n);
	}
}

static void comfort_noise(struct cdc_src *s, int16_t *pcm, size_t n)
{
	double rms = 32767.0 * pow(10.0, -(double)s->cn_level / 20.0);
	int32_t amp = (int32_t)(rms * 1.7320508); /* uniform noise: peak = rms * sqrt(3) */

	for (size_t i = 0; i < n * s->dch; i++) {
		s->noise_seed = s->noise_seed * 1664525u + 1013904223u;
		pcm[i] = (int16_t)(((int64_t)(int32_t)s->noise_seed * amp) >> 31);
	}
}

/* In-band DTMF detection on freshly decoded audio; mutes detected tones. */
static void detect(struct cdc_src *s, int16_t *pcm, size_t n)
{
	struct cdc_dtmf_hit hits[8];
	const int16_t *mono = pcm;
	int m, h;

	if (s->dch == 2) {
		for (size_t i = 0; i < n; i++)
			s->conv_buf[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
		mono = s->conv_buf;
	}
	m = cdc_resample(s->det_rs, mono, n, s->det_buf, s->dec_cap + 64);
	h = m > 0 ? cdc_dtmf_detect(s->det, s->det_buf, (size_t)m, hits, 8) : 0;
	for (int i = 0; i < h; i++) {
		if (!hits[i].end && !s->tone_active && !busy(s) && !cdc_mask_on(&s->mask)) {
			struct cdc_ev ev = { .kind = CDC_EV_TONE_BEGIN, .marker = true, .te.event = hits[i].event };

			s->tone_active = true;
			s->st.dtmf_events++;
			event(s, &ev, s->next_ts);
		} else if (hits[i].end && s->tone_active) {
			struct cdc_ev ev = { .kind = CDC_EV_TONE_END, .dur_8k = hits[i].duration_samples };

			s->tone_active = false;
			event(s, &ev, s->next_ts);
		}
	}
	if (s->tone_active)
		memset(pcm, 0, n * s->dch * sizeof(*pcm));
}

/* Fill `ticks` of missing input (in clock): FEC from the packet that ended
 * the gap for its last frame (next, when there is one), comfort noise
 * after CN, PLC otherwise. */
static void fill_gap(struct cdc_src *s, uint32_t ticks, const uint8_t *next, size_t next_len)
{
	uint64_t left = dec_samples(s, ticks);
	uint64_t fec = 0;
	size_t step = s->dec_rate / 50u; /* 20 ms: a multiple of Opus's 2.5 ms */

	s->st.concealed_ms += (uint64_t)ticks * 1000u / s->c.in.clock_rate;
	if (!s->cn_active && s->c.in.codec == CDC_OPUS && next) {
		int ns = opus_packet_get_nb_samples(next, (opus_int32)next_len, (opus_int32)s->dec_rate);

		if (ns > 0 && (uint64_t)ns <= left && (size_t)ns <= s->dec_cap)
			fec = (uint64_t)ns;
	}
	left -= fec;
	while (left) {
		size_t n = left < step ? (size_t)left : step;
		int got;

		if (s->cn_active) {
			comfort_noise(s, s->dec_buf, n);
			s->kind = CDC_PCM_COMFORT_NOISE;
			got = (int)n;
		} else {
			s->kind = CDC_PCM_CONCEALED;
			if (s->c.in.codec == CDC_OPUS)
				n -= n % (s->dec_rate / 400u); /* whole 2.5 ms */
			if (n == 0)
				break;
			got = cdc_dec_conceal(s->dec, s->dec_buf, n);
		}
		if (got <= 0)
			break;
		feed(s, s->dec_buf, (size_t)got);
		left -= (uint64_t)got < left ? (uint64_t)got : left;
	}
	if (fec) {
		int got = cdc_dec_recover(s->dec, next, next_len, s->dec_buf, (size_t)fec);

		s->kind = CDC_PCM_RECOVERED;
		if (got > 0)
			feed(s, s->dec_buf, (size_t)got);
	}
	s->next_ts += ticks;
}

/* Too long a gap to fill: jump the timeline to ts. */
static void resync(struct cdc_src *s, uint32_t ts)
{
	struct cdc_ev ev = { .kind = CDC_EV_RESYNC, .gap = ts - s->next_ts };

	s->st.resyncs++;
	event(s, &ev, s->next_ts);
	s->next_ts = ts;
	s->cn_active = false;
}

/* Decide what to do with audio starting at ts: 1 go on, 0 drop. */
static int place(struct cdc_src *s, uint32_t ts, const uint8_t *payload, size_t len)
{
	int32_t diff;

	if (!s->started) {
		s->started = true;
		s->next_ts = ts;
		return 1;
	}
	diff = (int32_t)(ts - s->next_ts);
	if (diff < 0) {
		s->st.late++;
		return 0;
	}
	if (diff > 0) {
		if (s->paused || (uint64_t)diff * 1000u / s->c.in.clock_rate > CDC_CHAIN_MAX_FILL_MS)
			resync(s, ts); /* the partial frame is dropped */
		else
			fill_gap(s, (uint32_t)diff, payload, len);
	}
	s->paused = false;
	s->filled = 0;
	return 1;
}

static void push_audio(struct cdc_src *s, uint32_t ts, const uint8_t *payload, size_t len)
{
	int n;

	if (!place(s, ts, payload, len))
		return;
	n = cdc_decode(s->dec, payload, len, s->dec_buf, s->dec_cap);
	s->kind = CDC_PCM_DECODED;
	if (n < 0) {
		s->st.decode_errors++;
		s->kind = CDC_PCM_CONCEALED;
		n = cdc_dec_conceal(s->dec, s->dec_buf, s->last_in_samples);
		if (n <= 0)
			return;
	} else {
		s->last_in_samples = (uint32_t)n;
	}
	s->cn_active = false;
	if (s->det)
		detect(s, s->dec_buf, (size_t)n);
	feed(s, s->dec_buf, (size_t)n);
	s->next_ts += in_ticks(s, (uint64_t)n);
}

static void push_te(struct cdc_src *s, uint32_t ts, bool marker, const uint8_t *payload, size_t len)
{
	struct cdc_te te;

	if (cdc_te_parse(payload, len, &te)) {
		s->st.decode_errors++;
		return;
	}
	if (cdc_mask_on(&s->mask)) { /* masking: no DTMF reaches the other side */
		if (marker || !s->mask_te_seen || ts != s->mask_te_ts)
			s->st.dtmf_masked_events++;
		s->mask_te_seen = true;
		s->mask_te_ts = ts;
		return;
	}
	if (s->c.dtmf == CDC_DTMF_PASS) {
		struct cdc_ev ev = { .kind = CDC_EV_TE, .marker = marker, .te = te };

		if (!s->started || busy(s))
			return; /* no timeline yet to place it on; or an injected event plays */
		if (marker || !s->te_in_active || ts != s->te_in_ts)
			s->st.dtmf_events++;
		s->te_in_active = !te.end;
		s->te_in_ts = ts;
		event(s, &ev, ts);
		return;
	}
	if (s->c.dtmf != CDC_DTMF_TO_INBAND)
		return; /* DROP */
	if (!s->started) {
		s->started = true;
		s->next_ts = ts;
	}
	if (!s->te_in_active || ts != s->te_in_ts) {
		if ((int32_t)(ts - s->te_in_ts) < 0 && s->te_in_active)
			return; /* a straggler from an earlier event */
		s->te_in_active = true;
		s->te_in_ts = ts;
		s->st.dtmf_events++;
		cdc_dtmf_gen_start(s->gen, te.event, 60000, -(int)te.volume);
		if ((int32_t)(ts - s->next_ts) > 0)
			place(s, ts, NULL, 0); /* fill up to the event */
	}
	/* play the tone up to this packet's duration, at most
	 * CDC_CHAIN_MAX_FILL_MS past what was played (as a gap is filled): a
	 * sender updates an event every 50 ms or so, and one packet claiming
	 * 8 s must not make the worker generate 8 s of tone at once; a long
	 * press whose updates were lost catches up over the next packets */
	{
		uint32_t end = ts + te.duration, most = (uint32_t)((uint64_t)CDC_CHAIN_MAX_FILL_MS *
								   s->c.in.clock_rate / 1000u);
		int32_t ahead;

		if ((int32_t)(end - s->next_ts) > (int32_t)most)
			end = s->next_ts + most;
		ahead = (int32_t)(end - s->next_ts);

		while (ahead > 0) {
			uint32_t ticks = (uint32_t)ahead;
			size_t n = (size_t)dec_samples(s, ticks);

			if (n > s->dec_cap)
				n = s->dec_cap;
			if (n == 0)
				break;
			memset(s->dec_buf, 0, n * sizeof(int16_t));
			cdc_dtmf_gen_fill(s->gen, s->dec_buf, n);
			if (s->dch == 2)
				for (size_t i = n; i-- > 0;)
					s->dec_buf[2 * i] = s->dec_buf[2 * i + 1] = s->dec_buf[i];
			s->kind = CDC_PCM_TONE;
			feed(s, s->dec_buf, n);
			s->next_ts += in_ticks(s, n);
			ahead = (int32_t)(end - s->next_ts);
		}
	}
	if (te.end) {
		s->te_in_active = false;
		cdc_dtmf_gen_start(s->gen, te.event, 0, -10); /* stop */
	}
}

static void push_cn(struct cdc_src *s, uint32_t ts, const uint8_t *payload, size_t len)
{
	if (len < 1) {
		s->st.decode_errors++;
		return;
	}
	s->cn_active = true;
	s->cn_level = payload[0] & 0x7f;
	if (s->started) {
		struct cdc_ev ev = { .kind = CDC_EV_CN, .level = s->cn_level };

		event(s, &ev, ts);
	}
}

void cdc_src_push(struct cdc_src *s, uint8_t pt, uint32_t ts, bool marker, const uint8_t *payload,
		  size_t len)
{
	s->st.in_packets++;
	mask_take(s);
	if (pt == s->c.in_pt)
		push_audio(s, ts, payload, len);
	else if (s->c.in_te_pt >= 0 && pt == s->c.in_te_pt)
		push_te(s, ts, marker, payload, len);
	else if (s->c.in_cn_pt >= 0 && pt == s->c.in_cn_pt)
		push_cn(s, ts, payload, len);
	else
		s->st.unknown_pt++;
}

int cdc_src_fill_to(struct cdc_src *s, uint32_t ts)
{
	uint32_t max = (uint32_t)((uint64_t)CDC_CHAIN_MAX_FILL_MS * s->c.in.clock_rate / 1000u);
	uint32_t frame = in_ticks(s, s->last_in_samples), n;
	int32_t diff;

	mask_take(s);
	if (!s->started || s->paused || s->te_in_active || !frame)
		return 0;
	diff = (int32_t)(ts - s->next_ts);
	if (diff < (int32_t)frame)
		return 0;
	n = (uint32_t)diff / frame * frame; /* whole frames, as the packets they stand for */
	if (s->filled + n > max) {
		n = s->filled < max ? (max - s->filled) / frame * frame : 0;
		s->paused = true;
		if (!n)
			return 0;
	}
	s->filled += n;
	fill_gap(s, n, NULL, 0);
	return 1;
}

void cdc_src_restart(struct cdc_src *s)
{
	if (s->started) {
		struct cdc_ev ev = { .kind = CDC_EV_RESYNC, .gap = 0 };

		event(s, &ev, s->next_ts); /* the partial frame goes, the next packet has the marker */
	}
	s->started = s->paused = false;
	s->filled = 0;
	s->cn_active = false;
	if (s->te_in_active && s->c.dtmf == CDC_DTMF_TO_INBAND)
		cdc_dtmf_gen_start(s->gen, 0, 0, -10); /* stop */
	s->te_in_active = false;
}

bool cdc_src_started(const struct cdc_src *s, uint32_t *next_ts)
{
	if (next_ts)
		*next_ts = s->next_ts;
	return s->started && !s->paused;
}
