/* SPDX-License-Identifier: MIT
 * cdc_sink: the encode half of a transcode chain, what a media endpoint
 * says (see cdc.h).
 *
 * The half keeps an output timeline (out_ts: the timestamp of the next
 * packet it will emit). PCM comes in at the rate the half was made for,
 * is resampled to the encoder's where they differ, gathered in an
 * accumulator and cut into out_ptime frames. Events from a decode half
 * (cdc_sink_event) are placed on that timeline: an event `ahead` of the
 * PCM received so far falls at out_ts + what the accumulator holds + its
 * own offset.
 *
 * Injected DTMF (cdc_sink_play_dtmf) crosses threads through a single-slot
 * mailbox: the requesting thread writes the request's fields, then bumps
 * mb.req with a release store; the encoding thread acquire-loads mb.req in
 * cdc_sink_take_requests, copies a new request out and, once the event's
 * last frame is out, release-stores its number into mb.done. The requester
 * only writes the fields again after it has seen mb.done catch up with
 * mb.req (acquire), so the two never touch them at the same time.
 */
#include "cdc_impl.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN_MS 120          /* most PCM one cdc_sink_write resamples in one go */
#define ACC_MS 600             /* accumulator: a frame plus the most one write adds */

struct cdc_sink {
	struct cdc_sink_conf c;
	struct cdc_enc *enc;
	struct cdc_resampler *rs;  /* in_rate -> enc_rate, NULL when equal */
	uint32_t enc_rate;
	unsigned ech;               /* PCM channels encoded */
	uint32_t frame;             /* samples per channel per outgoing frame */

	uint32_t out_ts;            /* out clock */
	bool marker;                /* set on the next audio packet */

	bool te_out_active;         /* a detected tone is being sent */
	uint8_t te_out_event;
	uint32_t te_out_start;      /* out clock */

	struct {                    /* cdc_sink_play_dtmf's mailbox (see above) */
		uint8_t event, volume;  /* written by the requester before req */
		uint32_t duration_ms;
		_Atomic uint32_t req;   /* requests made (requester, release) */
		_Atomic uint32_t done;  /* requests complete (encoder, release) */
		uint32_t taken;         /* requests taken over (encoder only) */
	} mb;
	enum { INJ_IDLE, INJ_PENDING, INJ_ACTIVE } inj; /* the injected event, encoder only */
	uint8_t inj_event, inj_volume;
	uint32_t inj_ms;
	uint32_t inj_frames;        /* frames it still covers */
	uint32_t inj_ts;            /* out clock, where it started */
	struct cdc_te_sender inj_te; /* with an out telephone-event PT */
	struct cdc_dtmf_gen *inj_gen; /* without: tones at enc_rate */

	int16_t *conv_buf, *rs_buf, *acc;
	size_t rs_cap, acc_cap, acc_len; /* in samples per channel */

	struct cdc_pkt *out;        /* where this write's packets go */
	int nout;                   /* packets in out so far */
	uint64_t out_packets, dtmf_played;
};

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

struct cdc_sink *cdc_sink_create(const struct cdc_sink_conf *c)
{
	struct cdc_format ef;
	struct cdc_sink *k;

	if (!c || !cdc_ptime_valid(c->out_ptime) || c->in_channels < 1 || c->in_channels > 2 ||
	    !c->in_rate || (c->dtmf_from_inband && c->out_te_pt < 0)) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0; /* a failure below with errno ENOMEM was memory */
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->c = *c;
	ef = c->out;
	/* Let Opus encode at the rate it is given where it can. */
	if (ef.codec == CDC_OPUS && cdc_opus_rate(c->in_rate))
		ef.sample_rate = c->in_rate;
	k->enc_rate = ef.sample_rate;
	k->ech = ef.pcm_channels;
	k->frame = cdc_frame_samples(&ef, c->out_ptime);
	k->rs_cap = (size_t)k->enc_rate / 1000u * MAX_IN_MS + 64;
	k->acc_cap = (size_t)k->enc_rate / 1000u * ACC_MS;
	k->marker = true;
	atomic_init(&k->mb.req, 0);
	atomic_init(&k->mb.done, 0);
	k->enc = cdc_enc_create(&ef, &c->enc);
	k->acc = malloc(k->acc_cap * 2 * sizeof(int16_t));
	if (!k->enc || !k->acc || enc_frame_bytes_max(&ef, k->frame, k->ech) > CDC_PKT_MAX)
		goto fail;
	if (c->in_rate != k->enc_rate || c->in_channels != k->ech) {
		k->rs = cdc_resampler_create(c->in_rate, k->enc_rate, k->ech, c->resample_quality);
		k->conv_buf = malloc((size_t)c->in_rate / 1000u * MAX_IN_MS * 2 * sizeof(int16_t));
		k->rs_buf = malloc(k->rs_cap * 2 * sizeof(int16_t));
		if (!k->rs || !k->conv_buf || !k->rs_buf)
			goto fail;
	}
	if (c->out_te_pt < 0) { /* injected events become tones (every enc_rate is a gen rate) */
		k->inj_gen = cdc_dtmf_gen_create(k->enc_rate);
		if (!k->inj_gen)
			goto fail;
	}
	return k;
fail:
	cdc_sink_destroy(k);
	if (errno != ENOMEM)
		errno = EINVAL;
	return NULL;
}

void cdc_sink_destroy(struct cdc_sink *k)
{
	if (!k)
		return;
	cdc_enc_destroy(k->enc);
	cdc_resampler_destroy(k->rs);
	cdc_dtmf_gen_destroy(k->inj_gen);
	free(k->conv_buf);
	free(k->rs_buf);
	free(k->acc);
	free(k);
}

void cdc_sink_get_stats(const struct cdc_sink *k, struct cdc_chain_stats *st)
{
	st->out_packets = k->out_packets;
	st->dtmf_played = k->dtmf_played;
}

void cdc_sink_get_info(const struct cdc_sink *k, struct cdc_chain_info *out)
{
	out->enc_rate = k->enc_rate;
	out->opus_bandwidth_hz = cdc_enc_opus_bandwidth_hz(k->enc);
	out->resamplers += k->rs && k->c.in_rate != k->enc_rate;
}

unsigned cdc_sink_prime_frames(const struct cdc_sink *k)
{
	/* G.722's ADPCM state follows the audio: an encoder that missed some
	 * must hear the last 40 ms again (measured: the worst 20 ms after a
	 * switch from silence-adapted state went from -5.6 dB to 10.8 dB SNR
	 * against the continuous stream; 20 ms gave 4.7 dB). G.711 and L16
	 * have no state. Opus: by SNR against the continuous stream priming
	 * helps the first frame only (7.8 dB unprimed, then 25 dB; primed,
	 * 11.6 dB and 12-20 dB for 80 ms), but an encoder that never ran, or
	 * ran long ago, starts with its look-ahead empty or stale: a room
	 * talker's first switch to its own encoder clicked (integration test
	 * room_switch: the worst 5 ms of high-passed audio -10 dB against the
	 * background tone unprimed, -16 dB primed with 40 ms, as at any later
	 * switch and no worse than the stream's worst moments elsewhere). */
	return k->c.out.codec == CDC_G722 || k->c.out.codec == CDC_OPUS ? 2 : 0;
}

uint32_t cdc_sink_frame_samples(const struct cdc_sink *k)
{
	return (uint32_t)((uint64_t)k->frame * k->c.in_rate / k->enc_rate);
}

static struct cdc_pkt *emit(struct cdc_sink *k, uint8_t pt, uint32_t ts, bool marker)
{
	struct cdc_pkt *p;

	if (k->nout >= CDC_CHAIN_MAX_OUT)
		return NULL;
	p = &k->out[k->nout++];
	p->pt = pt;
	p->ts = ts;
	p->marker = marker;
	p->len = 0;
	k->out_packets++;
	return p;
}

static void put_te(struct cdc_sink *k, const struct cdc_te *te, uint32_t ts, bool marker)
{
	struct cdc_pkt *p = emit(k, (uint8_t)k->c.out_te_pt, ts, marker);

	if (p) {
		cdc_te_write(te, p->payload);
		p->len = 4;
	}
}

static void emit_te(struct cdc_sink *k, bool marker, bool end, uint32_t duration)
{
	struct cdc_te te = { .event = k->te_out_event, .end = end, .volume = 10,
			     .duration = (uint16_t)(duration > 0xffff ? 0xffff : duration) };

	put_te(k, &te, k->te_out_start, marker);
}

/* A detected tone's event ends now: three end packets. */
static void te_out_end(struct cdc_sink *k, uint32_t duration)
{
	if (!k->te_out_active)
		return;
	k->te_out_active = false;
	for (int i = 0; i < 3; i++)
		emit_te(k, false, true, duration);
}

/* ---- injected DTMF (cdc_sink_play_dtmf) ---- */

int cdc_sink_play_dtmf(struct cdc_sink *k, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	uint32_t req;

	if (!k || event > 15 || duration_ms < 10 || duration_ms > 5000)
		return -EINVAL;
	req = atomic_load_explicit(&k->mb.req, memory_order_relaxed); /* only this thread stores it */
	if (atomic_load_explicit(&k->mb.done, memory_order_acquire) != req)
		return -EBUSY; /* the encoder may still read the fields */
	k->mb.event = event;
	k->mb.duration_ms = duration_ms;
	k->mb.volume = volume > 63 ? 63 : volume;
	atomic_store_explicit(&k->mb.req, req + 1, memory_order_release);
	return 0;
}

bool cdc_sink_playing(const struct cdc_sink *k)
{
	return atomic_load_explicit(&k->mb.done, memory_order_acquire) !=
	       atomic_load_explicit(&k->mb.req, memory_order_relaxed);
}

bool cdc_sink_busy(const struct cdc_sink *k)
{
	return k->inj != INJ_IDLE;
}

void cdc_sink_take_requests(struct cdc_sink *k)
{
	uint32_t req = atomic_load_explicit(&k->mb.req, memory_order_acquire);

	if (req == k->mb.taken)
		return;
	k->mb.taken = req;
	k->inj_event = k->mb.event;
	k->inj_ms = k->mb.duration_ms;
	k->inj_volume = k->mb.volume;
	k->inj = INJ_PENDING;
}

/* The injected event over the frame at pcm (which is about to go out at
 * out_ts): RFC 4733 packets in its place (returns false: no audio), or the
 * tone over its audio (returns true: encode it). */
static bool inj_frame(struct cdc_sink *k, int16_t *pcm)
{
	uint32_t step = cdc_frame_ts(&k->c.out, k->c.out_ptime);
	bool te_out = k->c.out_te_pt >= 0;
	struct cdc_te te;
	bool m;

	if (k->inj == INJ_PENDING) {
		k->inj = INJ_ACTIVE;
		k->inj_ts = k->out_ts;
		if (te_out) {
			te_out_end(k, k->out_ts - k->te_out_start); /* a detected tone's event ends where ours begins */
			cdc_te_sender_start(&k->inj_te, k->inj_event,
					    (uint32_t)((uint64_t)k->inj_ms * k->c.out.clock_rate / 1000u), step,
					    k->inj_volume);
			k->inj_frames = (k->inj_te.total + step - 1) / step;
		} else {
			uint64_t samples = (uint64_t)k->inj_ms * k->enc_rate / 1000u;

			cdc_dtmf_gen_start(k->inj_gen, k->inj_event, k->inj_ms, -(int)k->inj_volume);
			k->inj_frames = (uint32_t)((samples + k->frame - 1) / k->frame);
		}
	}
	k->inj_frames--;
	if (te_out) {
		if (cdc_te_sender_next(&k->inj_te, &te, &m))
			put_te(k, &te, k->inj_ts, m);
		if (k->inj_frames == 0)
			while (cdc_te_sender_next(&k->inj_te, &te, &m)) /* the three end packets */
				put_te(k, &te, k->inj_ts, m);
		return false;
	}
	memset(pcm, 0, (size_t)k->frame * k->ech * sizeof(*pcm));
	cdc_dtmf_gen_fill(k->inj_gen, pcm, k->frame);
	if (k->ech == 2)
		for (size_t i = k->frame; i-- > 0;)
			pcm[2 * i] = pcm[2 * i + 1] = pcm[i];
	return true;
}

/* The event's last frame is out; the requester may ask again. */
static void inj_finish(struct cdc_sink *k)
{
	k->inj = INJ_IDLE;
	k->dtmf_played++;
	atomic_store_explicit(&k->mb.done, k->mb.taken, memory_order_release);
}

/* Encode every whole frame in the accumulator. */
static void drain(struct cdc_sink *k)
{
	size_t done = 0;

	while (k->acc_len - done >= k->frame && k->nout < CDC_CHAIN_MAX_OUT) {
		int16_t *pcm = k->acc + done * k->ech;

		if (k->inj == INJ_IDLE || inj_frame(k, pcm)) {
			/* NULL only when injected packets took the last room: the frame is lost */
			struct cdc_pkt *p = emit(k, k->c.out_pt, k->out_ts, k->marker);
			int n = p ? cdc_encode(k->enc, pcm, k->frame, p->payload, CDC_PKT_MAX) : 0;

			if (p && n < 0) { /* cannot happen with a validated frame size; do not emit junk */
				k->nout--;
				k->out_packets--;
			} else if (p) {
				p->len = (uint16_t)n;
				k->marker = false;
			}
		}
		done += k->frame;
		k->out_ts += cdc_frame_ts(&k->c.out, k->c.out_ptime);
		if (k->inj == INJ_ACTIVE && k->inj_frames == 0)
			inj_finish(k);
		if (k->te_out_active)
			emit_te(k, false, false, k->out_ts - k->te_out_start);
	}
	memmove(k->acc, k->acc + done * k->ech, (k->acc_len - done) * k->ech * sizeof(int16_t));
	k->acc_len -= done;
}

/* n samples at enc_rate with ech channels into the accumulator. */
static void acc_add(struct cdc_sink *k, const int16_t *pcm, size_t n)
{
	if (k->acc_len + n > k->acc_cap) /* cannot happen: sized for the worst write */
		n = k->acc_cap - k->acc_len;
	memcpy(k->acc + k->acc_len * k->ech, pcm, n * k->ech * sizeof(int16_t));
	k->acc_len += n;
	drain(k);
}

int cdc_sink_write(struct cdc_sink *k, const int16_t *pcm, size_t n, struct cdc_pkt *out, int nout)
{
	k->out = out;
	k->nout = nout;
	if (!k->rs) {
		while (n) { /* in pieces the accumulator has room for */
			size_t m = n < k->acc_cap / 2 ? n : k->acc_cap / 2;

			acc_add(k, pcm, m);
			pcm += m * k->ech;
			n -= m;
		}
		return k->nout;
	}
	while (n) {
		size_t m = n, max = (size_t)k->c.in_rate / 1000u * MAX_IN_MS;
		const int16_t *src = pcm;
		int r;

		if (m > max)
			m = max;
		if (k->c.in_channels == 2 && k->ech == 1) {
			for (size_t i = 0; i < m; i++)
				k->conv_buf[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
			src = k->conv_buf;
		} else if (k->c.in_channels == 1 && k->ech == 2) {
			for (size_t i = 0; i < m; i++)
				k->conv_buf[2 * i] = k->conv_buf[2 * i + 1] = pcm[i];
			src = k->conv_buf;
		}
		r = cdc_resample(k->rs, src, m, k->rs_buf, k->rs_cap);
		if (r > 0)
			acc_add(k, k->rs_buf, (size_t)r);
		pcm += m * k->c.in_channels;
		n -= m;
	}
	return k->nout;
}

/* Where an event `ahead` of the PCM received so far falls, in the out clock. */
static uint32_t map_ev(const struct cdc_sink *k, const struct cdc_ev *ev)
{
	uint64_t pending = (uint64_t)k->acc_len * k->c.out.clock_rate / k->enc_rate;
	uint64_t held = ev->dec_rate ? (uint64_t)ev->held * k->c.out.clock_rate / ev->dec_rate : 0;

	return k->out_ts + (uint32_t)pending + (uint32_t)held +
	       (uint32_t)((int64_t)ev->ahead * (int64_t)k->c.out.clock_rate / (int64_t)ev->clock);
}

int cdc_sink_event(struct cdc_sink *k, const struct cdc_ev *ev, struct cdc_pkt *out, int nout)
{
	k->out = out;
	k->nout = nout;
	switch (ev->kind) {
	case CDC_EV_TE: {
		struct cdc_te te = ev->te;
		uint32_t d = (uint32_t)((uint64_t)te.duration * k->c.out.clock_rate / ev->clock);
		struct cdc_pkt *p;

		if (k->c.out_te_pt < 0)
			break;
		p = emit(k, (uint8_t)k->c.out_te_pt, map_ev(k, ev), ev->marker);
		if (p) {
			te.duration = (uint16_t)(d > 0xffff ? 0xffff : d);
			cdc_te_write(&te, p->payload);
			p->len = 4;
		}
		break;
	}
	case CDC_EV_TONE_BEGIN:
		if (k->c.out_te_pt < 0 || k->te_out_active || k->inj != INJ_IDLE)
			break;
		k->te_out_active = true;
		k->te_out_event = ev->te.event;
		k->te_out_start = map_ev(k, ev);
		emit_te(k, true, false, 0);
		break;
	case CDC_EV_TONE_END:
		te_out_end(k, (uint32_t)((uint64_t)ev->dur_8k * k->c.out.clock_rate / 8000));
		break;
	case CDC_EV_MASK_ON:
		te_out_end(k, k->out_ts - k->te_out_start);
		break;
	case CDC_EV_CN:
		if (k->c.out_cn_pt >= 0) {
			struct cdc_pkt *p = emit(k, (uint8_t)k->c.out_cn_pt, map_ev(k, ev), false);

			if (p) {
				p->payload[0] = ev->level;
				p->len = 1;
			}
		}
		break;
	case CDC_EV_RESYNC: /* jump the timeline, drop the partial frame */
		k->out_ts += (uint32_t)((uint64_t)ev->gap * k->c.out.clock_rate / ev->clock);
		k->out_ts += (uint32_t)((uint64_t)k->acc_len * k->c.out.clock_rate / k->enc_rate);
		k->acc_len = 0;
		k->marker = true;
		break;
	}
	return k->nout;
}
