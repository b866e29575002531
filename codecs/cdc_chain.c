/* SPDX-License-Identifier: MIT
 * cdc_chain: one direction of a transcoded leg pair (see cdc.h).
 *
 * The chain keeps an input timeline (next_ts: the in-clock timestamp just
 * past the last audio it consumed) and an output one (out_ts: the timestamp
 * of the next packet it will emit). Audio is decoded at a rate the encoder
 * can take where the codec allows it (Opus decodes and encodes at 8-48 kHz
 * itself), otherwise resampled, then cut into out_ptime frames. Gaps are
 * filled (FEC, comfort noise, PLC) up to CDC_CHAIN_MAX_FILL_MS; longer ones
 * move both timelines on and set the marker bit.
 *
 * Injected DTMF (cdc_chain_play_dtmf) crosses threads through a single-slot
 * mailbox: the requesting thread writes the request's fields, then bumps
 * mb.req with a release store; the pushing thread acquire-loads mb.req at
 * the start of every push, copies a new request out and, once the event's
 * last frame is out, release-stores its number into mb.done. The requester
 * only writes the fields again after it has seen mb.done catch up with
 * mb.req (acquire), so the two never touch them at the same time.
 *
 * The DTMF mask (cdc_chain_set_dtmf_mask) lives in cdc_chain_mask.c: while
 * it is on, everything decoded goes through its delay line (feed()) on the
 * way to the resampler; while it is off, feed() is take_pcm().
 */
#include "cdc_impl.h"
#include "cdc_chain_mask.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKT_MS 120         /* longest payload decoded in one go */
#define ACC_MS 600             /* accumulator: a frame plus the most one push can add */

struct cdc_chain {
	struct cdc_chain_conf c;
	struct cdc_dec *dec;
	struct cdc_enc *enc;
	struct cdc_resampler *rs;  /* dec_rate -> enc_rate (copy when equal) */
	struct cdc_resampler *det_rs; /* dec_rate -> 8 kHz for DTMF detection */
	struct cdc_dtmf_det *det;
	struct cdc_dtmf_gen *gen;
	uint32_t dec_rate, enc_rate;
	unsigned dch, ech;          /* PCM channels decoded / encoded */
	uint32_t frame;             /* samples per channel per outgoing frame */
	uint32_t last_in_samples;   /* duration of the last decoded packet */

	bool started;
	uint32_t next_ts;           /* in clock */
	uint32_t out_ts;            /* out clock */
	bool marker;                /* set on the next audio packet */

	bool cn_active;             /* a CN packet started a silence */
	uint8_t cn_level;
	uint32_t noise_seed;

	bool te_in_active;          /* TO_INBAND: an event is being played */
	uint32_t te_in_ts;
	bool te_out_active;         /* FROM_INBAND: a detected tone is being sent */
	uint8_t te_out_event;
	uint32_t te_out_start;      /* out clock */

	struct {                    /* cdc_chain_play_dtmf's mailbox (see above) */
		uint8_t event, volume;  /* written by the requester before req */
		uint32_t duration_ms;
		_Atomic uint32_t req;   /* requests made (requester, release) */
		_Atomic uint32_t done;  /* requests complete (pusher, release) */
		uint32_t taken;         /* requests taken over (pusher only) */
	} mb;
	enum { INJ_IDLE, INJ_PENDING, INJ_ACTIVE } inj; /* the injected event, pusher only */
	uint8_t inj_event, inj_volume;
	uint32_t inj_ms;
	uint32_t inj_frames;        /* frames it still covers */
	uint32_t inj_ts;            /* out clock, where it started */
	struct cdc_te_sender inj_te; /* with an out telephone-event PT */
	struct cdc_dtmf_gen *inj_gen; /* without: tones at enc_rate */

	cdc_pcm_tap_fn tap;         /* sees what feed() takes (cdc_chain_set_pcm_tap) */
	void *tap_ctx;
	enum cdc_pcm_kind kind;     /* of the PCM the next feed() takes */

	int16_t *dec_buf, *conv_buf, *rs_buf, *acc, *det_buf;
	size_t dec_cap, rs_cap, acc_cap, acc_len; /* in samples per channel */
	struct cdc_chain_stats st;

	struct cdc_mask mask;       /* the DTMF mask; its req word is the control thread's */
	bool mask_te_seen;          /* an RFC 4733 event was dropped since masking went on */
	uint32_t mask_te_ts;        /* its timestamp */
};

static bool opus_rate(uint32_t r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

static size_t enc_frame_bytes_max(const struct cdc_format *f, uint32_t frame, unsigned ch)
{
	switch (f->codec) {
	case CDC_PCMU:
	case CDC_PCMA: return frame;
	case CDC_G722: return frame / 2;
	case CDC_L16: return (size_t)frame * 2u * ch;
	default: return 0; /* Opus fits whatever room it is given */
	}
}

static bool conf_ok(const struct cdc_chain_conf *c)
{
	bool in_te = c->in_te_pt >= 0, out_te = c->out_te_pt >= 0;

	if (!cdc_ptime_valid(c->out_ptime))
		return false;
	switch (c->dtmf) {
	case CDC_DTMF_PASS: return in_te && out_te;
	case CDC_DTMF_TO_INBAND: return in_te;
	case CDC_DTMF_FROM_INBAND: return out_te && !in_te;
	case CDC_DTMF_DROP: return true;
	}
	return false;
}

struct cdc_chain *cdc_chain_create(const struct cdc_chain_conf *c)
{
	struct cdc_format df, ef;
	struct cdc_chain *ch;

	if (!c || !conf_ok(c))
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->c = *c;
	df = c->in;
	ef = c->out;
	/* Let Opus do the rate change itself where the other side's rate allows. */
	if (df.codec == CDC_OPUS && ef.codec != CDC_OPUS && opus_rate(ef.sample_rate))
		df.sample_rate = ef.sample_rate;
	if (ef.codec == CDC_OPUS && df.codec != CDC_OPUS && opus_rate(df.sample_rate))
		ef.sample_rate = df.sample_rate;
	ch->dec_rate = df.sample_rate;
	ch->enc_rate = ef.sample_rate;
	ch->dch = df.pcm_channels;
	ch->ech = ef.pcm_channels;
	ch->frame = cdc_frame_samples(&ef, c->out_ptime);
	ch->last_in_samples = df.sample_rate / 50u; /* 20 ms until we know better */
	ch->dec_cap = (size_t)ch->dec_rate / 1000u * MAX_PKT_MS;
	ch->rs_cap = (size_t)ch->enc_rate / 1000u * MAX_PKT_MS + 64;
	ch->acc_cap = (size_t)ch->enc_rate / 1000u * ACC_MS;
	ch->noise_seed = 0x1234567u;
	atomic_init(&ch->mb.req, 0);
	atomic_init(&ch->mb.done, 0);
	if (cdc_mask_init(&ch->mask, ch->dec_rate, ch->dch))
		goto fail;
	ch->dec = cdc_dec_create(&df);
	ch->enc = cdc_enc_create(&ef, &c->enc);
	ch->rs = cdc_resampler_create(ch->dec_rate, ch->enc_rate, ch->ech, c->resample_quality);
	ch->dec_buf = malloc(ch->dec_cap * 2 * sizeof(int16_t));
	ch->conv_buf = malloc(ch->dec_cap * 2 * sizeof(int16_t));
	ch->rs_buf = malloc(ch->rs_cap * 2 * sizeof(int16_t));
	ch->acc = malloc(ch->acc_cap * 2 * sizeof(int16_t));
	if (!ch->dec || !ch->enc || !ch->rs || !ch->dec_buf || !ch->conv_buf || !ch->rs_buf ||
	    !ch->acc || enc_frame_bytes_max(&ef, ch->frame, ch->ech) > CDC_PKT_MAX)
		goto fail;
	if (c->dtmf == CDC_DTMF_FROM_INBAND) {
		ch->det = cdc_dtmf_det_create();
		ch->det_rs = cdc_resampler_create(ch->dec_rate, 8000, 1, c->resample_quality);
		ch->det_buf = malloc((ch->dec_cap + 64) * sizeof(int16_t));
		if (!ch->det || !ch->det_rs || !ch->det_buf)
			goto fail;
	}
	if (c->dtmf == CDC_DTMF_TO_INBAND) {
		ch->gen = cdc_dtmf_gen_create(ch->dec_rate);
		if (!ch->gen)
			goto fail;
	}
	if (c->out_te_pt < 0) { /* injected events become tones (every enc_rate is a gen rate) */
		ch->inj_gen = cdc_dtmf_gen_create(ch->enc_rate);
		if (!ch->inj_gen)
			goto fail;
	}
	return ch;
fail:
	cdc_chain_destroy(ch);
	return NULL;
}

void cdc_chain_destroy(struct cdc_chain *ch)
{
	if (!ch)
		return;
	cdc_dec_destroy(ch->dec);
	cdc_enc_destroy(ch->enc);
	cdc_resampler_destroy(ch->rs);
	cdc_resampler_destroy(ch->det_rs);
	cdc_dtmf_det_destroy(ch->det);
	cdc_dtmf_gen_destroy(ch->gen);
	cdc_dtmf_gen_destroy(ch->inj_gen);
	free(ch->dec_buf);
	free(ch->conv_buf);
	free(ch->rs_buf);
	free(ch->acc);
	free(ch->det_buf);
	cdc_mask_fini(&ch->mask);
	free(ch);
}

void cdc_chain_set_pcm_tap(struct cdc_chain *ch, cdc_pcm_tap_fn fn, void *ctx)
{
	ch->tap = fn;
	ch->tap_ctx = ctx;
}

uint32_t cdc_chain_pcm_rate(const struct cdc_chain *ch, unsigned *channels)
{
	if (channels)
		*channels = ch->dch;
	return ch->dec_rate;
}

void cdc_chain_get_stats(const struct cdc_chain *ch, struct cdc_chain_stats *st)
{
	*st = ch->st;
	st->dtmf_masked_ms = ch->mask.masked * 1000u / ch->dec_rate;
	st->dtmf_masked_digits = ch->mask.digits;
}

/* in-clock ticks for n decoded samples, and back */
static uint32_t in_ticks(const struct cdc_chain *ch, uint64_t n)
{
	return (uint32_t)(n * ch->c.in.clock_rate / ch->dec_rate);
}
static uint64_t dec_samples(const struct cdc_chain *ch, uint32_t ticks)
{
	return (uint64_t)ticks * ch->dec_rate / ch->c.in.clock_rate;
}

/* Where the in-clock timestamp ts falls on the output timeline. */
static uint32_t map_ts(const struct cdc_chain *ch, uint32_t ts)
{
	int64_t ahead = (int32_t)(ts - ch->next_ts);
	uint64_t pending = (uint64_t)ch->acc_len * ch->c.out.clock_rate / ch->enc_rate;
	uint64_t held = (uint64_t)ch->mask.len * ch->c.out.clock_rate / ch->dec_rate; /* 0 unless masking */

	return ch->out_ts + (uint32_t)pending + (uint32_t)held +
	       (uint32_t)(ahead * (int64_t)ch->c.out.clock_rate / (int64_t)ch->c.in.clock_rate);
}

static struct cdc_pkt *emit(struct cdc_chain *ch, struct cdc_pkt *out, int *nout, uint8_t pt,
			    uint32_t ts, bool marker)
{
	struct cdc_pkt *p;

	if (*nout >= CDC_CHAIN_MAX_OUT)
		return NULL;
	p = &out[(*nout)++];
	p->pt = pt;
	p->ts = ts;
	p->marker = marker;
	p->len = 0;
	ch->st.out_packets++;
	return p;
}

static void put_te(struct cdc_chain *ch, struct cdc_pkt *out, int *nout, const struct cdc_te *te,
		   uint32_t ts, bool marker)
{
	struct cdc_pkt *p = emit(ch, out, nout, (uint8_t)ch->c.out_te_pt, ts, marker);

	if (p) {
		cdc_te_write(te, p->payload);
		p->len = 4;
	}
}

static void emit_te(struct cdc_chain *ch, struct cdc_pkt *out, int *nout, bool marker, bool end,
		    uint32_t duration)
{
	struct cdc_te te = { .event = ch->te_out_event, .end = end, .volume = 10,
			     .duration = (uint16_t)(duration > 0xffff ? 0xffff : duration) };

	put_te(ch, out, nout, &te, ch->te_out_start, marker);
}

/* ---- injected DTMF (cdc_chain_play_dtmf) ---- */

int cdc_chain_play_dtmf(struct cdc_chain *ch, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	uint32_t req;

	if (!ch || event > 15 || duration_ms < 10 || duration_ms > 5000)
		return -EINVAL;
	req = atomic_load_explicit(&ch->mb.req, memory_order_relaxed); /* only this thread stores it */
	if (atomic_load_explicit(&ch->mb.done, memory_order_acquire) != req)
		return -EBUSY; /* the pusher may still read the fields */
	ch->mb.event = event;
	ch->mb.duration_ms = duration_ms;
	ch->mb.volume = volume > 63 ? 63 : volume;
	atomic_store_explicit(&ch->mb.req, req + 1, memory_order_release);
	return 0;
}

bool cdc_chain_playing(const struct cdc_chain *ch)
{
	return atomic_load_explicit(&ch->mb.done, memory_order_acquire) !=
	       atomic_load_explicit(&ch->mb.req, memory_order_relaxed);
}

/* Pusher: take a new request over; it starts with the next frame out. */
static void inj_take(struct cdc_chain *ch)
{
	uint32_t req = atomic_load_explicit(&ch->mb.req, memory_order_acquire);

	if (req == ch->mb.taken)
		return;
	ch->mb.taken = req;
	ch->inj_event = ch->mb.event;
	ch->inj_ms = ch->mb.duration_ms;
	ch->inj_volume = ch->mb.volume;
	ch->inj = INJ_PENDING;
}

/* The injected event over the frame at pcm (which is about to go out at
 * out_ts): RFC 4733 packets in its place (returns false: no audio), or the
 * tone over its audio (returns true: encode it). */
static bool inj_frame(struct cdc_chain *ch, int16_t *pcm, struct cdc_pkt *out, int *nout)
{
	uint32_t step = cdc_frame_ts(&ch->c.out, ch->c.out_ptime);
	bool te_out = ch->c.out_te_pt >= 0;
	struct cdc_te te;
	bool m;

	if (ch->inj == INJ_PENDING) {
		ch->inj = INJ_ACTIVE;
		ch->inj_ts = ch->out_ts;
		if (te_out) {
			if (ch->te_out_active) { /* a detected tone's event ends where ours begins */
				ch->te_out_active = false;
				for (int k = 0; k < 3; k++)
					emit_te(ch, out, nout, false, true, ch->out_ts - ch->te_out_start);
			}
			cdc_te_sender_start(&ch->inj_te, ch->inj_event,
					    (uint32_t)((uint64_t)ch->inj_ms * ch->c.out.clock_rate / 1000u), step,
					    ch->inj_volume);
			ch->inj_frames = (ch->inj_te.total + step - 1) / step;
		} else {
			uint64_t samples = (uint64_t)ch->inj_ms * ch->enc_rate / 1000u;

			cdc_dtmf_gen_start(ch->inj_gen, ch->inj_event, ch->inj_ms, -(int)ch->inj_volume);
			ch->inj_frames = (uint32_t)((samples + ch->frame - 1) / ch->frame);
		}
	}
	ch->inj_frames--;
	if (te_out) {
		if (cdc_te_sender_next(&ch->inj_te, &te, &m))
			put_te(ch, out, nout, &te, ch->inj_ts, m);
		if (ch->inj_frames == 0)
			while (cdc_te_sender_next(&ch->inj_te, &te, &m)) /* the three end packets */
				put_te(ch, out, nout, &te, ch->inj_ts, m);
		return false;
	}
	memset(pcm, 0, (size_t)ch->frame * ch->ech * sizeof(*pcm));
	cdc_dtmf_gen_fill(ch->inj_gen, pcm, ch->frame);
	if (ch->ech == 2)
		for (size_t i = ch->frame; i-- > 0;)
			pcm[2 * i] = pcm[2 * i + 1] = pcm[i];
	return true;
}

/* Pusher: the event's last frame is out; the requester may ask again. */
static void inj_finish(struct cdc_chain *ch)
{
	ch->inj = INJ_IDLE;
	ch->st.dtmf_played++;
	atomic_store_explicit(&ch->mb.done, ch->mb.taken, memory_order_release);
}

/* Encode every whole frame in the accumulator. */
static void drain(struct cdc_chain *ch, struct cdc_pkt *out, int *nout)
{
	size_t done = 0;

	while (ch->acc_len - done >= ch->frame && *nout < CDC_CHAIN_MAX_OUT) {
		int16_t *pcm = ch->acc + done * ch->ech;

		if (ch->inj == INJ_IDLE || inj_frame(ch, pcm, out, nout)) {
			/* NULL only when injected packets took the last room: the frame is lost */
			struct cdc_pkt *p = emit(ch, out, nout, ch->c.out_pt, ch->out_ts, ch->marker);
			int n = p ? cdc_encode(ch->enc, pcm, ch->frame, p->payload, CDC_PKT_MAX) : 0;

			if (p && n < 0) { /* cannot happen with a validated frame size; do not emit junk */
				(*nout)--;
				ch->st.out_packets--;
			} else if (p) {
				p->len = (uint16_t)n;
				ch->marker = false;
			}
		}
		done += ch->frame;
		ch->out_ts += cdc_frame_ts(&ch->c.out, ch->c.out_ptime);
		if (ch->inj == INJ_ACTIVE && ch->inj_frames == 0)
			inj_finish(ch);
		if (ch->te_out_active && ch->c.dtmf == CDC_DTMF_FROM_INBAND)
			emit_te(ch, out, nout, false, false, ch->out_ts - ch->te_out_start);
	}
	memmove(ch->acc, ch->acc + done * ch->ech, (ch->acc_len - done) * ch->ech * sizeof(int16_t));
	ch->acc_len -= done;
}

/* Take n decoded samples (dec rate, dch channels) into the accumulator. */
static void take_pcm(struct cdc_chain *ch, const int16_t *pcm, size_t n, struct cdc_pkt *out,
		     int *nout)
{
	const int16_t *src = pcm;
	int r;

	if (ch->dch == 2 && ch->ech == 1) {
		for (size_t i = 0; i < n; i++)
			ch->conv_buf[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
		src = ch->conv_buf;
	} else if (ch->dch == 1 && ch->ech == 2) {
		for (size_t i = 0; i < n; i++)
			ch->conv_buf[2 * i] = ch->conv_buf[2 * i + 1] = pcm[i];
		src = ch->conv_buf;
	}
	r = cdc_resample(ch->rs, src, n, ch->rs_buf, ch->rs_cap);
	if (r <= 0)
		return;
	if (ch->acc_len + (size_t)r > ch->acc_cap) /* cannot happen: sized for the worst push */
		r = (int)(ch->acc_cap - ch->acc_len);
	memcpy(ch->acc + ch->acc_len * ch->ech, ch->rs_buf, (size_t)r * ch->ech * sizeof(int16_t));
	ch->acc_len += (size_t)r;
	drain(ch, out, nout);
}

/* Take n decoded samples on their way to the encoder: straight in while
 * masking is off, through the mask's delay line while it is on. */
static void feed(struct cdc_chain *ch, const int16_t *pcm, size_t n, struct cdc_pkt *out, int *nout)
{
	if (ch->tap)
		ch->tap(ch->tap_ctx, pcm, n, ch->kind);
	if (!cdc_mask_on(&ch->mask)) {
		take_pcm(ch, pcm, n, out, nout);
		return;
	}
	while (n) {
		size_t k = cdc_mask_room(&ch->mask), due;

		if (k > n)
			k = n;
		due = cdc_mask_write(&ch->mask, pcm, k);
		if (due) {
			take_pcm(ch, ch->mask.line, due, out, nout);
			cdc_mask_consume(&ch->mask, due);
		}
		pcm += k * ch->dch;
		n -= k;
	}
}

/* ---- the DTMF mask (cdc_chain_mask.c does the audio) ---- */

int cdc_chain_set_dtmf_mask(struct cdc_chain *ch, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	if (!ch || (unsigned)mode > CDC_DTMF_MASK_TONE)
		return -EINVAL;
	if (mode == CDC_DTMF_MASK_TONE) {
		if (freq_hz == 0)
			freq_hz = CDC_DTMF_MASK_FREQ_DEFAULT;
		if (freq_hz < 100 || freq_hz > 4000)
			return -EINVAL;
	}
	cdc_mask_request(&ch->mask, mode, freq_hz);
	return 0;
}

/* Pusher, at the start of every push: adopt the latest mask setting. Going
 * on cuts off DTMF in progress (an event played as tones; a detected tone
 * sent as an event, which gets its end packets now); going off releases
 * the held audio. */
static void mask_take(struct cdc_chain *ch, struct cdc_pkt *out, int *nout)
{
	int t = cdc_mask_take(&ch->mask);

	if (t > 0) {
		ch->st.dtmf_mask_starts++;
		ch->mask_te_seen = false;
		if (ch->te_in_active && ch->c.dtmf == CDC_DTMF_TO_INBAND) {
			ch->te_in_active = false;
			cdc_dtmf_gen_start(ch->gen, 0, 0, -10); /* stop */
		}
		if (ch->te_out_active) {
			ch->te_out_active = false;
			for (int k = 0; k < 3; k++)
				emit_te(ch, out, nout, false, true, ch->out_ts - ch->te_out_start);
		}
	} else if (t < 0) {
		size_t n = cdc_mask_flush(&ch->mask);

		if (ch->started && n) /* before any audio the line holds only its silence */
			take_pcm(ch, ch->mask.line, n, out, nout);
		cdc_mask_consume(&ch->mask, n);
	}
}

static void comfort_noise(struct cdc_chain *ch, int16_t *pcm, size_t n)
{
	double rms = 32767.0 * pow(10.0, -(double)ch->cn_level / 20.0);
	int32_t amp = (int32_t)(rms * 1.7320508); /* uniform noise: peak = rms * sqrt(3) */

	for (size_t i = 0; i < n * ch->dch; i++) {
		ch->noise_seed = ch->noise_seed * 1664525u + 1013904223u;
		pcm[i] = (int16_t)(((int64_t)(int32_t)ch->noise_seed * amp) >> 31);
	}
}

/* In-band DTMF detection on freshly decoded audio; mutes detected tones. */
static void detect(struct cdc_chain *ch, int16_t *pcm, size_t n, struct cdc_pkt *out, int *nout)
{
	struct cdc_dtmf_hit hits[8];
	const int16_t *mono = pcm;
	int m, h;

	if (ch->dch == 2) {
		for (size_t i = 0; i < n; i++)
			ch->conv_buf[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
		mono = ch->conv_buf;
	}
	m = cdc_resample(ch->det_rs, mono, n, ch->det_buf, ch->dec_cap + 64);
	h = m > 0 ? cdc_dtmf_detect(ch->det, ch->det_buf, (size_t)m, hits, 8) : 0;
	for (int i = 0; i < h; i++) {
		if (!hits[i].end && !ch->te_out_active && ch->inj == INJ_IDLE && !cdc_mask_on(&ch->mask)) {
			ch->te_out_active = true;
			ch->te_out_event = hits[i].event;
			ch->te_out_start = map_ts(ch, ch->next_ts);
			ch->st.dtmf_events++;
			emit_te(ch, out, nout, true, false, 0);
		} else if (hits[i].end && ch->te_out_active) {
			uint32_t d = (uint32_t)((uint64_t)hits[i].duration_samples * ch->c.out.clock_rate / 8000);

			ch->te_out_active = false;
			for (int k = 0; k < 3; k++)
				emit_te(ch, out, nout, false, true, d);
		}
	}
	if (ch->te_out_active)
		memset(pcm, 0, n * ch->dch * sizeof(*pcm));
}

/* Fill `ticks` of missing input (in clock): FEC from the packet that ended
 * the gap for its last frame, comfort noise after CN, PLC otherwise. */
static void fill_gap(struct cdc_chain *ch, uint32_t ticks, const uint8_t *next, size_t next_len,
		     struct cdc_pkt *out, int *nout)
{
	uint64_t left = dec_samples(ch, ticks);
	uint64_t fec = 0;
	size_t step = ch->dec_rate / 50u; /* 20 ms: a multiple of Opus's 2.5 ms */

	ch->st.concealed_ms += (uint64_t)ticks * 1000u / ch->c.in.clock_rate;
	if (!ch->cn_active && ch->c.in.codec == CDC_OPUS && next) {
		int ns = opus_packet_get_nb_samples(next, (opus_int32)next_len, (opus_int32)ch->dec_rate);

		if (ns > 0 && (uint64_t)ns <= left && (size_t)ns <= ch->dec_cap)
			fec = (uint64_t)ns;
	}
	left -= fec;
	while (left) {
		size_t n = left < step ? (size_t)left : step;
		int got;

		if (ch->cn_active) {
			comfort_noise(ch, ch->dec_buf, n);
			ch->kind = CDC_PCM_COMFORT_NOISE;
			got = (int)n;
		} else {
			ch->kind = CDC_PCM_CONCEALED;
			if (ch->c.in.codec == CDC_OPUS)
				n -= n % (ch->dec_rate / 400u); /* whole 2.5 ms */
			if (n == 0)
				break;
			got = cdc_dec_conceal(ch->dec, ch->dec_buf, n);
		}
		if (got <= 0)
			break;
		feed(ch, ch->dec_buf, (size_t)got, out, nout);
		left -= (uint64_t)got < left ? (uint64_t)got : left;
	}
	if (fec) {
		int got = cdc_dec_recover(ch->dec, next, next_len, ch->dec_buf, (size_t)fec);

		ch->kind = CDC_PCM_RECOVERED;
		if (got > 0)
			feed(ch, ch->dec_buf, (size_t)got, out, nout);
	}
	ch->next_ts += ticks;
}

/* Decide what to do with audio starting at ts: 1 go on, 0 drop. */
static int place(struct cdc_chain *ch, uint32_t ts, const uint8_t *payload, size_t len,
		 struct cdc_pkt *out, int *nout)
{
	int32_t diff;

	if (!ch->started) {
		ch->started = true;
		ch->next_ts = ts;
		ch->marker = true;
		return 1;
	}
	diff = (int32_t)(ts - ch->next_ts);
	if (diff < 0) {
		ch->st.late++;
		return 0;
	}
	if (diff > 0) {
		if ((uint64_t)diff * 1000u / ch->c.in.clock_rate > CDC_CHAIN_MAX_FILL_MS) {
			/* too long to fill: jump both timelines, drop the partial frame */
			ch->st.resyncs++;
			ch->out_ts += (uint32_t)((uint64_t)diff * ch->c.out.clock_rate / ch->c.in.clock_rate);
			ch->out_ts += (uint32_t)((uint64_t)ch->acc_len * ch->c.out.clock_rate / ch->enc_rate);
			ch->acc_len = 0;
			ch->next_ts = ts;
			ch->marker = true;
			ch->cn_active = false;
		} else {
			fill_gap(ch, (uint32_t)diff, payload, len, out, nout);
		}
	}
	return 1;
}

static int push_audio(struct cdc_chain *ch, uint32_t ts, const uint8_t *payload, size_t len,
		      struct cdc_pkt *out, int nout)
{
	int n;

	if (!place(ch, ts, payload, len, out, &nout))
		return nout;
	n = cdc_decode(ch->dec, payload, len, ch->dec_buf, ch->dec_cap);
	ch->kind = CDC_PCM_DECODED;
	if (n < 0) {
		ch->st.decode_errors++;
		ch->kind = CDC_PCM_CONCEALED;
		n = cdc_dec_conceal(ch->dec, ch->dec_buf, ch->last_in_samples);
		if (n <= 0)
			return nout;
	} else {
		ch->last_in_samples = (uint32_t)n;
	}
	ch->cn_active = false;
	if (ch->det)
		detect(ch, ch->dec_buf, (size_t)n, out, &nout);
	feed(ch, ch->dec_buf, (size_t)n, out, &nout);
	ch->next_ts += in_ticks(ch, (uint64_t)n);
	return nout;
}

static int push_te(struct cdc_chain *ch, uint32_t ts, bool marker, const uint8_t *payload,
		   size_t len, struct cdc_pkt *out, int nout)
{
	struct cdc_te te;

	if (cdc_te_parse(payload, len, &te)) {
		ch->st.decode_errors++;
		return nout;
	}
	if (cdc_mask_on(&ch->mask)) { /* masking: no DTMF reaches the other side */
		if (marker || !ch->mask_te_seen || ts != ch->mask_te_ts)
			ch->st.dtmf_masked_events++;
		ch->mask_te_seen = true;
		ch->mask_te_ts = ts;
		return nout;
	}
	if (ch->c.dtmf == CDC_DTMF_PASS) {
		struct cdc_pkt *p;
		uint32_t d = (uint32_t)((uint64_t)te.duration * ch->c.out.clock_rate / ch->c.in.clock_rate);

		if (!ch->started || ch->inj != INJ_IDLE)
			return nout; /* no timeline yet to place it on; or an injected event plays */
		if (marker || !ch->te_in_active || ts != ch->te_in_ts)
			ch->st.dtmf_events++;
		ch->te_in_active = !te.end;
		ch->te_in_ts = ts;
		p = emit(ch, out, &nout, (uint8_t)ch->c.out_te_pt, map_ts(ch, ts), marker);
		if (p) {
			te.duration = (uint16_t)(d > 0xffff ? 0xffff : d);
			cdc_te_write(&te, p->payload);
			p->len = 4;
		}
		return nout;
	}
	if (ch->c.dtmf != CDC_DTMF_TO_INBAND)
		return nout; /* DROP */
	if (!ch->started) {
		ch->started = true;
		ch->next_ts = ts;
		ch->marker = true;
	}
	if (!ch->te_in_active || ts != ch->te_in_ts) {
		if ((int32_t)(ts - ch->te_in_ts) < 0 && ch->te_in_active)
			return nout; /* a straggler from an earlier event */
		ch->te_in_active = true;
		ch->te_in_ts = ts;
		ch->st.dtmf_events++;
		cdc_dtmf_gen_start(ch->gen, te.event, 60000, -(int)te.volume);
		if ((int32_t)(ts - ch->next_ts) > 0)
			place(ch, ts, NULL, 0, out, &nout); /* fill up to the event */
	}
	/* play the tone up to this packet's duration */
	{
		int32_t ahead = (int32_t)(ts + te.duration - ch->next_ts);

		while (ahead > 0) {
			uint32_t ticks = (uint32_t)ahead;
			size_t n = (size_t)dec_samples(ch, ticks);

			if (n > ch->dec_cap)
				n = ch->dec_cap;
			if (n == 0)
				break;
			memset(ch->dec_buf, 0, n * sizeof(int16_t));
			cdc_dtmf_gen_fill(ch->gen, ch->dec_buf, n);
			if (ch->dch == 2)
				for (size_t i = n; i-- > 0;)
					ch->dec_buf[2 * i] = ch->dec_buf[2 * i + 1] = ch->dec_buf[i];
			ch->kind = CDC_PCM_TONE;
			feed(ch, ch->dec_buf, n, out, &nout);
			ch->next_ts += in_ticks(ch, n);
			ahead = (int32_t)(ts + te.duration - ch->next_ts);
		}
	}
	if (te.end) {
		ch->te_in_active = false;
		cdc_dtmf_gen_start(ch->gen, te.event, 0, -10); /* stop */
	}
	return nout;
}

static int push_cn(struct cdc_chain *ch, uint32_t ts, const uint8_t *payload, size_t len,
		   struct cdc_pkt *out, int nout)
{
	if (len < 1) {
		ch->st.decode_errors++;
		return nout;
	}
	ch->cn_active = true;
	ch->cn_level = payload[0] & 0x7f;
	if (ch->c.out_cn_pt >= 0 && ch->started) {
		struct cdc_pkt *p = emit(ch, out, &nout, (uint8_t)ch->c.out_cn_pt, map_ts(ch, ts), false);

		if (p) {
			p->payload[0] = (uint8_t)ch->cn_level;
			p->len = 1;
		}
	}
	return nout;
}

int cdc_chain_push(struct cdc_chain *ch, uint8_t pt, uint32_t ts, bool marker,
		   const uint8_t *payload, size_t len, struct cdc_pkt *out)
{
	int nout = 0;

	ch->st.in_packets++;
	inj_take(ch);
	mask_take(ch, out, &nout);
	if (pt == ch->c.in_pt)
		return push_audio(ch, ts, payload, len, out, nout);
	if (ch->c.in_te_pt >= 0 && pt == ch->c.in_te_pt)
		return push_te(ch, ts, marker, payload, len, out, nout);
	if (ch->c.in_cn_pt >= 0 && pt == ch->c.in_cn_pt)
		return push_cn(ch, ts, payload, len, out, nout);
	ch->st.unknown_pt++;
	return nout;
}
