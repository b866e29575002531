/* SPDX-License-Identifier: MIT
 * codecs/cdc_dtmf.c: in-band DTMF. Detection wraps SpanDSP's dtmf_rx (8 kHz
 * only) and turns its realtime begin/end reports into sample-stamped hits;
 * generation is our own two-tone oscillator at 8/16/24/32/48 kHz (SpanDSP's
 * dtmf_tx is 8 kHz only). Memory is taken in _create only; detect, start
 * and fill allocate, lock and log nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <spandsp.h>

#include "cdc.h"

/* ------------------------------------------------------------------ */
/* Detection                                                            */

/* SpanDSP's dtmf_rx runs its Goertzel filters over fixed blocks of 102
 * samples and reports a change only after two blocks agree, at the end of
 * the second. We feed it up to block boundaries, so a report always
 * belongs to the block that ends at block_end. The report lags the real
 * edge by 1-2 blocks depending on where in a block the edge falls; the
 * constants below are the mean lag measured with tones starting at every
 * phase of the block (tests/unit/test_dtmf.c measures the residual error:
 * within about +-7 ms for begins and ends, +-13 ms for durations). */
#define DET_BLOCK 102u
#define DET_BEGIN_LAG 240u /* samples from a tone's onset to its report */
#define DET_END_LAG 170u   /* samples from a tone's end to its report */
#define DET_QUEUE 32u      /* >= 2 hits per block: room for ~1.6 s of feed */
#define DET_NONE 0xffu

struct cdc_dtmf_det {
	dtmf_rx_state_t *rx;
	uint64_t pos;       /* samples fed since create */
	uint64_t block_end; /* index just past the sub-block being fed */
	uint32_t in_block;  /* samples into SpanDSP's current block */
	uint8_t digit;      /* event in progress, or DET_NONE */
	uint64_t began;     /* its begin's at_sample */
	uint64_t last_at;   /* at_sample of the last hit, to keep them ordered */
	struct cdc_dtmf_hit q[DET_QUEUE];
	unsigned head, count;
	uint64_t lost; /* hits dropped on a full queue (fed too much at once) */
};

static void det_push(struct cdc_dtmf_det *d, uint8_t event, bool end, uint64_t at,
		     uint32_t duration)
{
	struct cdc_dtmf_hit *h;

	if (d->count == DET_QUEUE) {
		d->lost++;
		return;
	}
	h = &d->q[(d->head + d->count) % DET_QUEUE];
	h->event = event;
	h->end = end;
	h->at_sample = at;
	h->duration_samples = duration;
	d->count++;
}

/* A stamp lag samples before the end of the current block, never before
 * the previous hit (nor before sample 0). */
static uint64_t det_stamp(struct cdc_dtmf_det *d, uint32_t lag)
{
	uint64_t at = d->block_end > lag ? d->block_end - lag : 0;

	if (at < d->last_at)
		at = d->last_at;
	d->last_at = at;
	return at;
}

/* SpanDSP realtime report: code is the digit's ASCII now being received,
 * or 0 when none is. A direct change from one digit to another ends the
 * first and begins the second. */
static void det_report(void *user, int code, int level, int delay)
{
	struct cdc_dtmf_det *d = user;
	int ev = code ? cdc_dtmf_event((char)code) : -EINVAL;
	uint64_t at;

	(void)level;
	(void)delay;
	if (d->digit != DET_NONE && ev != d->digit) {
		at = det_stamp(d, DET_END_LAG);
		det_push(d, d->digit, true, at,
			 at - d->began > UINT32_MAX ? UINT32_MAX : (uint32_t)(at - d->began));
		d->digit = DET_NONE;
	}
	if (ev >= 0 && ev != d->digit) {
		at = det_stamp(d, DET_BEGIN_LAG);
		det_push(d, (uint8_t)ev, false, at, 0);
		d->digit = (uint8_t)ev;
		d->began = at;
	}
}

/* SpanDSP's digit-string callback; the realtime one carries everything. */
static void det_digits(void *user, const char *digits, int len)
{
	(void)user;
	(void)digits;
	(void)len;
}

/* A detector for 8 kHz linear PCM with SpanDSP's default thresholds and
 * twist limits. NULL when out of memory. */
struct cdc_dtmf_det *cdc_dtmf_det_create(void)
{
	struct cdc_dtmf_det *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->rx = dtmf_rx_init(NULL, det_digits, d);
	if (!d->rx) {
		free(d);
		return NULL;
	}
	dtmf_rx_set_realtime_callback(d->rx, det_report, d);
	d->digit = DET_NONE;
	return d;
}

/* Free the detector; accepts NULL. */
void cdc_dtmf_det_destroy(struct cdc_dtmf_det *d)
{
	if (!d)
		return;
	dtmf_rx_free(d->rx);
	free(d);
}

/* Feed n samples (8 kHz) and take up to max hits, oldest first, into hits.
 * Hits not taken stay queued for the next call (up to 32; beyond that the
 * newest are dropped, so feed ~20 ms at a time). Positions count samples
 * since create and are compensated for the detector's lag. Returns the
 * number of hits written, or -EINVAL for a NULL d, a NULL pcm with n > 0,
 * or a NULL hits with max > 0. */
int cdc_dtmf_detect(struct cdc_dtmf_det *d, const int16_t *pcm, size_t n,
		    struct cdc_dtmf_hit *hits, size_t max)
{
	size_t k, out = 0;

	if (!d || (!pcm && n) || (!hits && max))
		return -EINVAL;
	while (n) {
		k = DET_BLOCK - d->in_block;
		if (k > n)
			k = n;
		d->block_end = d->pos + k;
		dtmf_rx(d->rx, pcm, (int)k);
		d->pos += k;
		d->in_block = (uint32_t)((d->in_block + k) % DET_BLOCK);
		pcm += k;
		n -= k;
	}
	while (out < max && d->count) {
		hits[out++] = d->q[d->head];
		d->head = (d->head + 1) % DET_QUEUE;
		d->count--;
	}
	return (int)out;
}

/* ------------------------------------------------------------------ */
/* Generation                                                           */

/* ITU-T G.711 puts 0 dBm0 3.17 dB below a full-scale sine: a 0 dBm0 sine
 * peaks at about 22767 in 16-bit linear PCM. Two tones at 0 dBm0 would sum
 * to 45534 and clip, so each tone's peak is capped at half of full scale:
 * levels above about -2.86 dBm0 per tone all give that level. */
#define GEN_0DBM0_PEAK 22767.0
#define GEN_MAX_TONE_PEAK 16383.0
#define GEN_LEVEL_MIN (-63)
#define GEN_LEVEL_MAX 0

static const double dtmf_row_hz[4] = {697.0, 770.0, 852.0, 941.0};
static const double dtmf_col_hz[4] = {1209.0, 1336.0, 1477.0, 1633.0};
/* Keypad position (4 * row + column) of each event: '1' is row 0 column 0,
 * '0' row 3 column 1, 'A'-'D' the fourth column. */
static const uint8_t dtmf_key[16] = {
	13, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 14, 3, 7, 11, 15,
};

struct osc {
	double c, s;   /* cos, sin of the current phase */
	double cw, sw; /* the rotation per sample */
};

struct cdc_dtmf_gen {
	uint32_t rate;
	uint32_t ramp;     /* samples in a 1 ms ramp at this rate */
	uint64_t total;    /* samples in the tone in progress; 0: none */
	uint64_t pos;      /* samples of it written */
	uint32_t ramp_len; /* this tone's ramp: min(ramp, total / 2) */
	double amp;        /* per-tone peak */
	struct osc lo, hi;
};

static void osc_start(struct osc *o, double hz, uint32_t rate)
{
	double w = 2.0 * M_PI * hz / rate;

	o->c = 1.0;
	o->s = 0.0;
	o->cw = cos(w);
	o->sw = sin(w);
}

/* sin of the current phase, then advance; the magnitude is pulled back
 * to 1 every sample so rounding never accumulates. */
static inline __attribute__((always_inline)) double osc_step(struct osc *o)
{
	double v = o->s, c = o->c * o->cw - o->s * o->sw, s = o->s * o->cw + o->c * o->sw;
	double g = 1.5 - 0.5 * (c * c + s * s);

	o->c = c * g;
	o->s = s * g;
	return v;
}

/* A generator at 8000, 16000, 24000, 32000 or 48000 Hz; NULL for any other
 * rate or when out of memory. */
struct cdc_dtmf_gen *cdc_dtmf_gen_create(uint32_t sample_rate)
{
	struct cdc_dtmf_gen *g;

	if (sample_rate != 8000 && sample_rate != 16000 && sample_rate != 24000 &&
	    sample_rate != 32000 && sample_rate != 48000)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->rate = sample_rate;
	g->ramp = sample_rate / 1000u;
	return g;
}

/* Free the generator; accepts NULL. */
void cdc_dtmf_gen_destroy(struct cdc_dtmf_gen *g)
{
	free(g);
}

/* Start event (0-15) for duration_ms at level_dbm0 per tone (clamped to
 * -63..0, and to the no-clip cap above), replacing any tone in progress.
 * The tone rises and falls with 1 ms raised-cosine ramps (shorter for
 * tones under 2 ms). A zero duration stops any tone and starts none.
 * Returns 0, or -EINVAL for a NULL g or an event above 15. */
int cdc_dtmf_gen_start(struct cdc_dtmf_gen *g, uint8_t event, uint32_t duration_ms,
		       int level_dbm0)
{
	double amp;

	if (!g || event > 15)
		return -EINVAL;
	if (level_dbm0 < GEN_LEVEL_MIN)
		level_dbm0 = GEN_LEVEL_MIN;
	if (level_dbm0 > GEN_LEVEL_MAX)
		level_dbm0 = GEN_LEVEL_MAX;
	amp = GEN_0DBM0_PEAK * pow(10.0, level_dbm0 / 20.0);
	g->amp = amp > GEN_MAX_TONE_PEAK ? GEN_MAX_TONE_PEAK : amp;
	g->total = (uint64_t)duration_ms * g->rate / 1000u;
	g->pos = 0;
	g->ramp_len = g->total / 2 < g->ramp ? (uint32_t)(g->total / 2) : g->ramp;
	osc_start(&g->lo, dtmf_row_hz[dtmf_key[event] >> 2], g->rate);
	osc_start(&g->hi, dtmf_col_hz[dtmf_key[event] & 3], g->rate);
	return 0;
}

static inline double gen_env(const struct cdc_dtmf_gen *g)
{
	uint64_t i = g->pos, rest = g->total - 1 - g->pos;
	uint64_t e = i < rest ? i : rest;

	if (e >= g->ramp_len)
		return 1.0;
	return 0.5 - 0.5 * cos(M_PI * ((double)e + 0.5) / g->ramp_len);
}

/* A sample, saturated to 16 bits. */
static inline int16_t gen_sample(double v)
{
	if (v > 32767.0)
		v = 32767.0;
	else if (v < -32768.0)
		v = -32768.0;
	return (int16_t)lrint(v);
}

/* Overwrite up to n samples of pcm with the tone's next samples; samples
 * past the tone's end are left untouched. Returns the number written (0
 * when idle or for a NULL argument). */
size_t cdc_dtmf_gen_fill(struct cdc_dtmf_gen *g, int16_t *pcm, size_t n)
{
	size_t i = 0, k;

	if (!g || !pcm || g->pos >= g->total)
		return 0;
	k = g->total - g->pos < n ? (size_t)(g->total - g->pos) : n;
	while (i < k) { /* a run at a time: the rise, the flat top, the fall */
		uint64_t fall = g->total - g->ramp_len;
		bool flat = g->pos >= g->ramp_len && g->pos < fall;
		uint64_t run = g->pos < g->ramp_len ? g->ramp_len - g->pos : flat ? fall - g->pos : g->total - g->pos;
		size_t m = run < k - i ? (size_t)run : k - i;

		if (flat) { /* gen_env is 1.0 here: the same samples without it, the state in locals */
			struct osc lo = g->lo, hi = g->hi;
			double amp = g->amp;

			for (size_t j = 0; j < m; j++)
				pcm[i + j] = gen_sample(amp * (osc_step(&lo) + osc_step(&hi)));
			g->lo = lo;
			g->hi = hi;
			g->pos += m;
		} else {
			for (size_t j = 0; j < m; j++, g->pos++)
				pcm[i + j] = gen_sample(g->amp * gen_env(g) * (osc_step(&g->lo) + osc_step(&g->hi)));
		}
		i += m;
	}
	return k;
}

/* True while a tone has samples left to write. */
bool cdc_dtmf_gen_active(const struct cdc_dtmf_gen *g)
{
	return g && g->pos < g->total;
}
