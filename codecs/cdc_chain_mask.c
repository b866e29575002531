/* SPDX-License-Identifier: MIT
 * cdc_chain_mask: a chain's in-band DTMF mask (see cdc_chain_mask.h and
 * cdc_chain_set_dtmf_mask in cdc.h).
 *
 * Timing, measured feeding one sample at a time, over every onset phase of
 * SpanDSP's 102-sample block, 16 digits, -3 to -26 dBm0 per tone, on
 * silence and under speech, at 8 kHz and at 16 and 48 kHz through the
 * detector's 8 kHz resampler: the detector reports a begin 24-37 ms after
 * the digit's first sample (38.4 under speech), and the start it reports
 * (cdc_dtmf_hit.at_sample) falls between 6 ms before and 8.4 ms after the
 * true one; it is always 30 ms before the report. An end is reported at
 * most 29 ms after the digit's last sample, its stamp within 8 ms of it.
 * The resampler runs at speexdsp quality 1 whatever the chain's quality:
 * its latency (under 1 ms) adds to all of these, and at quality 3 it is
 * 3 ms, at 10 it is 16 ms, which would eat the margins below. So:
 *
 *   LEAD 15 ms   the replacement starts this long before the reported
 *                start: covers the 8.4 ms, then the 2 ms ramp;
 *   DELAY 50 ms  a sample may leave the line only once every report that
 *                could put it under a mask is in: 30 + 1 + LEAD = 46 ms
 *                (a report can come with the last sample written);
 *   HANG 20 ms   the replacement ends this long after the reported end.
 *
 * tests/unit/test_chain.c (mask/covers_each_digit_whole_at_any_phase)
 * checks the result sample by sample: every digit sample replaced, at
 * every phase, ptime and rate, the replacement starting 5-18 ms before
 * the digit and ending 10-26 ms after it.
 *
 * The mailbox is one atomic word, mode | freq << 2: the whole request, so
 * the control thread may overwrite it at any time (the latest wins) and the
 * pusher never sees half of one; it compares it with the word in force at
 * the start of every push, which is all masking costs while off.
 */
#include "cdc_chain_mask.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEAD_MS 15
#define HANG_MS 20
#define RAMP_MS 2
#define CHUNK_MS 20     /* the line takes at most this much per write */
#define RS_QUALITY 1    /* the detector's resampler: see above */
#define OPEN UINT64_MAX /* an interval whose end is not known yet */
#define DBM0_PEAK 22767.0 /* a 0 dBm0 sine, as cdc_dtmf.c */

int cdc_mask_init(struct cdc_mask *m, uint32_t rate, unsigned channels)
{
	size_t chunk = (size_t)rate / 1000u * CHUNK_MS;

	memset(m, 0, sizeof(*m));
	atomic_init(&m->req, 0);
	m->rate = rate;
	m->ch = channels;
	m->delay = rate / 1000u * CDC_DTMF_MASK_DELAY_MS;
	m->lead = rate / 1000u * LEAD_MS;
	m->hang = rate / 1000u * HANG_MS;
	m->ramp = rate / 1000u * RAMP_MS;
	m->cap = m->delay + chunk;
	m->det_cap = chunk * 8000u / rate + 64;
	m->line = malloc(m->cap * channels * sizeof(int16_t));
	m->mono = malloc(chunk * sizeof(int16_t));
	m->det_buf = malloc(m->det_cap * sizeof(int16_t));
	m->rs = cdc_resampler_create(rate, 8000, 1, RS_QUALITY);
	m->det = cdc_dtmf_det_create();
	if (!m->line || !m->mono || !m->det_buf || !m->rs || !m->det)
		return -ENOMEM;
	return 0;
}

void cdc_mask_fini(struct cdc_mask *m)
{
	free(m->line);
	free(m->mono);
	free(m->det_buf);
	cdc_resampler_destroy(m->rs);
	cdc_dtmf_det_destroy(m->det);
}

void cdc_mask_request(struct cdc_mask *m, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	uint32_t w = (uint32_t)mode | (mode == CDC_DTMF_MASK_TONE ? (uint32_t)freq_hz << 2 : 0);

	atomic_store_explicit(&m->req, w, memory_order_release);
}

/* ---- the detector, running ahead of the line's output ---- */

/* A detector hit, placed on the line. */
static void hit(struct cdc_mask *m, const struct cdc_dtmf_hit *h)
{
	uint64_t s = h->at_sample > m->det_origin ? h->at_sample - m->det_origin : 0;
	uint64_t at = s * m->rate / 8000u;

	if (!h->end) {
		uint64_t from = at > m->lead ? at - m->lead : 0;

		m->digits++;
		if (from < m->pos)
			from = m->pos; /* out already: cannot happen with DELAY as measured */
		if (m->niv && (m->iv[m->niv - 1].to == OPEN || m->iv[m->niv - 1].to + 2 * m->ramp >= from)) {
			m->iv[m->niv - 1].to = OPEN; /* back to back: one interval */
		} else if (m->niv == CDC_MASK_IVALS) {
			m->iv[m->niv - 1].to = OPEN; /* no room: mask on from the last one */
		} else {
			m->iv[m->niv].from = from;
			m->iv[m->niv].to = OPEN;
			m->niv++;
		}
	} else if (m->niv && m->iv[m->niv - 1].to == OPEN) {
		uint64_t to = at + m->hang;

		if (to < m->pos) /* never: an end is reported < DELAY after at */
			to = m->pos;
		if (to < m->iv[m->niv - 1].from + 2 * m->ramp)
			to = m->iv[m->niv - 1].from + 2 * m->ramp;
		m->iv[m->niv - 1].to = to;
	}
	/* an end with no open interval: one that began before masking went on */
}

/* Feed n samples per channel (interleaved, m->ch) to the detector. */
static void detect(struct cdc_mask *m, const int16_t *pcm, size_t n)
{
	struct cdc_dtmf_hit hits[8];
	const int16_t *mono = pcm;
	int k, h;

	if (m->ch == 2) {
		for (size_t i = 0; i < n; i++)
			m->mono[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
		mono = m->mono;
	}
	k = cdc_resample(m->rs, mono, n, m->det_buf, m->det_cap);
	if (k <= 0)
		return;
	m->det_fed += (uint64_t)k;
	h = cdc_dtmf_detect(m->det, m->det_buf, (size_t)k, hits, 8);
	while (h > 0) {
		for (int i = 0; i < h; i++)
			hit(m, &hits[i]);
		h = cdc_dtmf_detect(m->det, NULL, 0, hits, 8); /* the rest of the queue */
	}
}

/* ---- the line ---- */

int cdc_mask_take(struct cdc_mask *m)
{
	uint32_t w = atomic_load_explicit(&m->req, memory_order_acquire);
	enum cdc_dtmf_mask mode = (enum cdc_dtmf_mask)(w & 3u);
	bool was_on = cdc_mask_on(m);

	if (w == m->cur)
		return 0;
	m->cur = w;
	m->mode = mode;
	if (mode == CDC_DTMF_MASK_OFF)
		return was_on ? -1 : 0; /* keep amp and the oscillator for the flush */
	if (mode == CDC_DTMF_MASK_TONE) {
		double wstep = 2.0 * M_PI * (double)(w >> 2) / m->rate;

		m->amp = DBM0_PEAK * pow(10.0, CDC_DTMF_MASK_TONE_DBM0 / 20.0);
		m->ocw = cos(wstep);
		m->osw = sin(wstep);
		m->oc = 1.0;
		m->os = 0.0;
	} else {
		m->amp = 0.0;
	}
	if (was_on)
		return 0;
	/* On: the line starts as DELAY of silence, fed to the detector like any
	 * audio. That also flushes whatever state it kept from an earlier time
	 * (50 ms of silence ends a digit in SpanDSP), and the stale end it may
	 * report finds no open interval. */
	m->len = m->delay;
	m->pos = 0;
	m->niv = 0;
	memset(m->line, 0, (size_t)m->len * m->ch * sizeof(int16_t));
	m->det_origin = m->det_fed;
	for (size_t done = 0; done < m->len;) {
		size_t k = m->len - done < m->cap - m->delay ? m->len - done : m->cap - m->delay;

		detect(m, m->line + done * m->ch, k);
		done += k;
	}
	return 1;
}

/* Replace the masked parts of line[0, n). */
static void apply(struct cdc_mask *m, size_t n)
{
	for (unsigned v = 0; v < m->niv; v++) {
		uint64_t from = m->iv[v].from, to = m->iv[v].to;
		uint64_t a = from > m->pos ? from : m->pos, b = m->pos + n;

		if (to < b)
			b = to;
		if (a >= b)
			continue;
		m->masked += b - a;
		for (uint64_t i = a; i < b; i++) {
			uint64_t e = i - from;
			int16_t *s = m->line + (size_t)(i - m->pos) * m->ch;
			double g, tone = m->amp * m->os, c, sn, r;

			if (to != OPEN && to - 1 - i < e)
				e = to - 1 - i;
			g = e >= m->ramp ? 1.0 : ((double)e + 0.5) / m->ramp;
			for (unsigned k = 0; k < m->ch; k++)
				s[k] = (int16_t)lrint(s[k] * (1.0 - g) + tone * g);
			/* next phase; renormalised so rounding never builds up */
			c = m->oc * m->ocw - m->os * m->osw;
			sn = m->os * m->ocw + m->oc * m->osw;
			r = 1.5 - 0.5 * (c * c + sn * sn);
			m->oc = c * r;
			m->os = sn * r;
		}
	}
}

size_t cdc_mask_write(struct cdc_mask *m, const int16_t *pcm, size_t n)
{
	size_t due;

	memcpy(m->line + m->len * m->ch, pcm, n * m->ch * sizeof(int16_t));
	detect(m, pcm, n);
	m->len += n;
	due = m->len > m->delay ? m->len - m->delay : 0;
	apply(m, due);
	return due;
}

size_t cdc_mask_flush(struct cdc_mask *m)
{
	apply(m, m->len);
	return m->len;
}

void cdc_mask_consume(struct cdc_mask *m, size_t n)
{
	unsigned keep = 0;

	memmove(m->line, m->line + n * m->ch, (m->len - n) * m->ch * sizeof(int16_t));
	m->len -= n;
	m->pos += n;
	for (unsigned v = 0; v < m->niv; v++)
		if (m->iv[v].to > m->pos)
			m->iv[keep++] = m->iv[v];
	m->niv = keep;
}
