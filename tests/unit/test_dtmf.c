/* Unit tests: RFC 4733 telephone-events (codecs/cdc_te.c) and in-band DTMF
 * detection and generation (codecs/cdc_dtmf.c), against real RFC 2833
 * captures from sipp (Debian package sip-tester; SIPP_PCAP_DIR overrides
 * /usr/share/sip-tester). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spandsp.h>

#include "cdc.h"
#include "pcap_read.h"

#define DIGITS "0123456789*#ABCD"
#define DBM0_PEAK 22767.0 /* peak of a 0 dBm0 sine in 16-bit linear */

/* ------------------------------------------------------------------ */
/* RFC 4733 payloads                                                    */

Test(te, write_known_bytes)
{
	/* the last packet of sipp's dtmf_2833_pound.pcap: '#', E, -10 dBm0, 280 ms */
	struct cdc_te te = {.event = 11, .end = true, .volume = 10, .duration = 2240};
	static const uint8_t want[4] = {0x0b, 0x8a, 0x08, 0xc0};
	uint8_t out[4];
	struct cdc_te back;

	cdc_te_write(&te, out);
	cr_assert(memcmp(out, want, 4) == 0, "%02x %02x %02x %02x", out[0], out[1], out[2], out[3]);
	cr_assert_eq(cdc_te_parse(want, 4, &back), 0);
	cr_assert_eq(back.event, 11);
	cr_assert(back.end);
	cr_assert_eq(back.volume, 10);
	cr_assert_eq(back.duration, 2240);

	te = (struct cdc_te){.event = 5, .end = false, .volume = 63, .duration = 0x1234};
	cdc_te_write(&te, out);
	cr_assert(out[0] == 0x05 && out[1] == 0x3f && out[2] == 0x12 && out[3] == 0x34);
	/* a volume beyond the 6-bit field is sent as 63, never spills into E/R */
	te.volume = 200;
	cdc_te_write(&te, out);
	cr_assert_eq(out[1], 0x3f);
}

Test(te, round_trip)
{
	static const uint16_t durs[] = {0, 1, 160, 255, 256, 0x8000, 0xfffe, 0xffff};
	uint8_t in[4], out[4];
	struct cdc_te te, back;

	/* struct -> bytes -> struct */
	for (unsigned ev = 0; ev < 16; ev++)
		for (unsigned e = 0; e < 2; e++)
			for (unsigned vol = 0; vol < 64; vol++)
				for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
					te = (struct cdc_te){(uint8_t)ev, e, (uint8_t)vol, durs[i]};
					cdc_te_write(&te, out);
					cr_assert_eq(cdc_te_parse(out, 4, &back), 0);
					cr_assert(back.event == te.event && back.end == te.end &&
						  back.volume == te.volume &&
						  back.duration == te.duration);
				}
	/* bytes -> struct -> bytes, every flags byte: equal but for the R bit */
	for (unsigned ev = 0; ev < 16; ev++)
		for (unsigned f = 0; f < 256; f++) {
			in[0] = (uint8_t)ev;
			in[1] = (uint8_t)f;
			in[2] = (uint8_t)(f * 7);
			in[3] = (uint8_t)(255 - f);
			cr_assert_eq(cdc_te_parse(in, 4, &te), 0);
			cr_assert_eq(te.end, (f & 0x80) != 0);
			cr_assert_eq(te.volume, f & 0x3f);
			cr_assert_eq(te.duration, in[2] << 8 | in[3]);
			cdc_te_write(&te, out);
			cr_assert(out[0] == in[0] && out[1] == (in[1] & ~0x40) && out[2] == in[2] &&
				  out[3] == in[3]);
		}
}

/* field by field: struct copies need not carry the padding byte */
static bool te_eq(const struct cdc_te *a, const struct cdc_te *b)
{
	return a->event == b->event && a->end == b->end && a->volume == b->volume &&
	       a->duration == b->duration;
}

Test(te, parse_errors)
{
	static const uint8_t ok[8] = {0x01, 0x0a, 0x01, 0x40, 0x0b, 0x8a, 0x00, 0xa0};
	const struct cdc_te sentinel = {.event = 0xee, .end = true, .volume = 0x77, .duration = 0xbeef};
	struct cdc_te te;
	uint8_t p[4];

	for (size_t len = 0; len < 4; len++) {
		te = sentinel;
		cr_assert_eq(cdc_te_parse(ok, len, &te), -EINVAL, "len %zu", len);
		cr_assert(te_eq(&te, &sentinel), "written on error");
	}
	cr_assert_eq(cdc_te_parse(NULL, 4, &te), -EINVAL);
	cr_assert_eq(cdc_te_parse(ok, 4, NULL), -EINVAL);
	for (unsigned ev = 16; ev < 256; ev++) {
		p[0] = (uint8_t)ev;
		p[1] = 0x0a;
		p[2] = 0;
		p[3] = 160;
		te = sentinel;
		cr_assert_eq(cdc_te_parse(p, 4, &te), -ENOTSUP, "event %u", ev);
		cr_assert(te_eq(&te, &sentinel), "written on error");
	}
	/* redundant events after the first 4 bytes are ignored */
	cr_assert_eq(cdc_te_parse(ok, 8, &te), 0);
	cr_assert(te.event == 1 && !te.end && te.volume == 10 && te.duration == 320);
}

Test(te, digits_and_events)
{
	for (int ev = 0; ev < 16; ev++) {
		cr_assert_eq(cdc_dtmf_digit((uint8_t)ev), DIGITS[ev], "event %d", ev);
		cr_assert_eq(cdc_dtmf_event(DIGITS[ev]), ev, "digit %c", DIGITS[ev]);
	}
	cr_assert_eq(cdc_dtmf_event('a'), 12);
	cr_assert_eq(cdc_dtmf_event('b'), 13);
	cr_assert_eq(cdc_dtmf_event('c'), 14);
	cr_assert_eq(cdc_dtmf_event('d'), 15);
	for (unsigned ev = 16; ev < 256; ev++)
		cr_assert_eq(cdc_dtmf_digit((uint8_t)ev), 0, "event %u", ev);
	for (int c = -128; c < 128; c++) {
		if (strchr(DIGITS "abcd", c) && c)
			continue;
		cr_assert_eq(cdc_dtmf_event((char)c), -EINVAL, "char %d", c);
	}
}

/* ------------------------------------------------------------------ */
/* RFC 4733 sender                                                      */

struct te_pkt {
	uint16_t duration;
	bool end, marker;
};

/* Run a sender to completion (at most max packets); check that every
 * packet carries the event and volume, and that it stays finished. */
static size_t run_sender(uint8_t event, uint32_t dur, uint32_t step, uint8_t vol,
			 struct te_pkt *out, size_t max)
{
	struct cdc_te_sender s;
	struct cdc_te te;
	bool marker;
	size_t n = 0;

	cdc_te_sender_start(&s, event, dur, step, vol);
	while (n < max && cdc_te_sender_next(&s, &te, &marker) == 1) {
		cr_assert_eq(te.event, event);
		cr_assert_eq(te.volume, vol > 63 ? 63 : vol);
		out[n++] = (struct te_pkt){te.duration, te.end, marker};
	}
	cr_assert_lt(n, max, "sender did not finish");
	te = (struct cdc_te){.event = 0xee, .duration = 0xbeef};
	marker = true;
	cr_assert_eq(cdc_te_sender_next(&s, &te, &marker), 0);
	cr_assert(te.event == 0xee && te.duration == 0xbeef && marker, "written after the end");
	return n;
}

static void assert_seq(const struct te_pkt *got, size_t n, const struct te_pkt *want, size_t wn)
{
	cr_assert_eq(n, wn, "packets: got %zu want %zu", n, wn);
	for (size_t i = 0; i < n; i++)
		cr_assert(got[i].duration == want[i].duration && got[i].end == want[i].end &&
				  got[i].marker == want[i].marker,
			  "packet %zu: dur %u end %d marker %d, want %u %d %d", i, got[i].duration,
			  got[i].end, got[i].marker, want[i].duration, want[i].end, want[i].marker);
}

Test(te_sender, duration_800_step_160)
{
	static const struct te_pkt want[] = {
		{160, false, true}, {320, false, false}, {480, false, false}, {640, false, false},
		{800, false, false}, {800, true, false}, {800, true, false}, {800, true, false},
	};
	struct te_pkt got[64];
	size_t n = run_sender(5, 800, 160, 10, got, 64);

	assert_seq(got, n, want, sizeof(want) / sizeof(want[0]));
}

Test(te_sender, not_a_multiple_of_step)
{
	static const struct te_pkt want[] = {
		{160, false, true}, {320, false, false}, {480, false, false}, {640, false, false},
		{800, false, false}, {850, false, false}, {850, true, false}, {850, true, false},
		{850, true, false},
	};
	struct te_pkt got[64];
	size_t n = run_sender(11, 850, 160, 0, got, 64);

	assert_seq(got, n, want, sizeof(want) / sizeof(want[0]));
}

Test(te_sender, capped_at_0xffff)
{
	struct te_pkt got[64];
	size_t n = run_sender(0, 100000, 8000, 63, got, 64);

	/* 8000 .. 64000, then 65535, then 65535 x3 with E */
	cr_assert_eq(n, 8 + 1 + 3);
	for (size_t i = 0; i < 8; i++)
		cr_assert(got[i].duration == 8000 * (i + 1) && !got[i].end && got[i].marker == (i == 0));
	cr_assert(got[8].duration == 0xffff && !got[8].end && !got[8].marker);
	for (size_t i = 9; i < 12; i++)
		cr_assert(got[i].duration == 0xffff && got[i].end && !got[i].marker);
	/* a step larger than the cap: one packet with the cap, then the ends */
	n = run_sender(0, 0xffffffffu, 0xffffffffu, 0, got, 64);
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert(got[i].duration == 0xffff && got[i].end == (i > 0));
}

Test(te_sender, shorter_than_step_and_zero)
{
	static const struct te_pkt short_ev[] = {
		{100, false, true}, {100, true, false}, {100, true, false}, {100, true, false},
	};
	static const struct te_pkt zero_ev[] = {
		{0, false, true}, {0, true, false}, {0, true, false}, {0, true, false},
	};
	static const struct te_pkt no_step[] = {
		{400, false, true}, {400, true, false}, {400, true, false}, {400, true, false},
	};
	struct te_pkt got[64];
	size_t n;

	n = run_sender(1, 100, 160, 10, got, 64);
	assert_seq(got, n, short_ev, 4);
	n = run_sender(1, 160, 160, 10, got, 64); /* exactly one step */
	cr_assert(n == 4 && got[0].duration == 160 && got[0].marker && got[1].end);
	n = run_sender(1, 0, 160, 10, got, 64);
	assert_seq(got, n, zero_ev, 4);
	n = run_sender(1, 400, 0, 200, got, 64); /* step 0: no continuations */
	assert_seq(got, n, no_step, 4);
}

/* ------------------------------------------------------------------ */
/* Signal helpers                                                       */

/* Amplitude of the component at hz in x (Hann-windowed correlation,
 * corrected for the window's gain). */
static double tone_amp(const int16_t *x, size_t n, double hz, double rate)
{
	double re = 0, im = 0, wsum = 0, w = 2 * M_PI * hz / rate;
	double c = 1, s = 0, cw = cos(w), sw = sin(w), t;

	for (size_t i = 0; i < n; i++) {
		double win = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / n);

		re += win * x[i] * c;
		im -= win * x[i] * s;
		wsum += win;
		t = c * cw - s * sw;
		s = s * cw + c * sw;
		c = t;
	}
	return 2 * sqrt(re * re + im * im) / wsum;
}

static double amp_dbm0(double amp) { return 20 * log10(amp / DBM0_PEAK); }

/* The frequency with the largest amplitude within +-span of hz. */
static double peak_hz(const int16_t *x, size_t n, double hz, double span, double rate)
{
	double best = hz, best_a = -1;

	for (double f = hz - span; f <= hz + span + 1e-9; f += 0.25) {
		double a = tone_amp(x, n, f, rate);

		if (a > best_a) {
			best_a = a;
			best = f;
		}
	}
	return best;
}

static double rms_dbm0(const int16_t *x, size_t n)
{
	double e = 0;

	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return 10 * log10(e / (n ? n : 1) + 1e-9) - 20 * log10(DBM0_PEAK / sqrt(2));
}

static const double row_hz[4] = {697, 770, 852, 941};
static const double col_hz[4] = {1209, 1336, 1477, 1633};
static const char keypad[4][5] = {"123A", "456B", "789C", "*0#D"};

static void digit_freqs(int ev, double *lo, double *hi)
{
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			if (keypad[r][c] == DIGITS[ev]) {
				*lo = row_hz[r];
				*hi = col_hz[c];
			}
}

/* ------------------------------------------------------------------ */
/* In-band generation                                                   */

Test(dtmf_gen, frequencies_and_level_every_rate)
{
	static const uint32_t rates[] = {8000, 16000, 24000, 32000, 48000};

	for (size_t ri = 0; ri < 5; ri++) {
		uint32_t rate = rates[ri];
		struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(rate);
		size_t n = rate / 10, skip = rate / 500; /* 100 ms, skip 2 ms ramps */
		int16_t *buf = malloc((n + 64) * sizeof(*buf));

		cr_assert(g && buf);
		for (int ev = 0; ev < 16; ev++) {
			double lo = 0, hi = 0;

			for (size_t i = 0; i < n + 64; i++)
				buf[i] = 1234;
			cr_assert_eq(cdc_dtmf_gen_start(g, (uint8_t)ev, 100, -10), 0);
			cr_assert(cdc_dtmf_gen_active(g));
			cr_assert_eq(cdc_dtmf_gen_fill(g, buf, n + 64), n, "rate %u", rate);
			cr_assert(!cdc_dtmf_gen_active(g));
			cr_assert_eq(cdc_dtmf_gen_fill(g, buf, n + 64), 0);
			for (size_t i = n; i < n + 64; i++)
				cr_assert_eq(buf[i], 1234, "sample past the tone overwritten");

			digit_freqs(ev, &lo, &hi);
			const int16_t *x = buf + skip;
			size_t m = n - 2 * skip;
			double alo = amp_dbm0(tone_amp(x, m, lo, rate));
			double ahi = amp_dbm0(tone_amp(x, m, hi, rate));

			cr_assert(fabs(alo + 10) < 1.0, "%u Hz '%c' %g Hz at %.2f dBm0", rate,
				  DIGITS[ev], lo, alo);
			cr_assert(fabs(ahi + 10) < 1.0, "%u Hz '%c' %g Hz at %.2f dBm0", rate,
				  DIGITS[ev], hi, ahi);
			for (int k = 0; k < 4; k++) {
				if (row_hz[k] != lo)
					cr_assert_lt(amp_dbm0(tone_amp(x, m, row_hz[k], rate)), -50,
						     "'%c' leaks %g Hz", DIGITS[ev], row_hz[k]);
				if (col_hz[k] != hi)
					cr_assert_lt(amp_dbm0(tone_amp(x, m, col_hz[k], rate)), -50,
						     "'%c' leaks %g Hz", DIGITS[ev], col_hz[k]);
			}
			if (rate == 16000 || rate == 48000) {
				double plo = peak_hz(x, m, lo, 6, rate), phi = peak_hz(x, m, hi, 6, rate);

				cr_assert(fabs(plo - lo) <= 0.5, "'%c' low tone peaks at %g Hz", DIGITS[ev], plo);
				cr_assert(fabs(phi - hi) <= 0.5, "'%c' high tone peaks at %g Hz", DIGITS[ev], phi);
			}
		}
		free(buf);
		cdc_dtmf_gen_destroy(g);
	}
}

Test(dtmf_gen, level_clamps_and_no_clipping)
{
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(48000);
	static int16_t buf[4800];
	int peak;

	cr_assert(g);
	/* -3 dBm0 per tone still fits: exact level */
	cr_assert_eq(cdc_dtmf_gen_start(g, 15, 100, -3), 0);
	cdc_dtmf_gen_fill(g, buf, 4800);
	cr_assert(fabs(amp_dbm0(tone_amp(buf + 96, 4608, 941, 48000)) + 3) < 0.1);
	/* 0 dBm0 (and anything above, clamped to 0) is capped so the sum never
	 * clips: about -2.86 dBm0 per tone, peaks just under full scale */
	for (int lvl = 0; lvl <= 6; lvl += 6) {
		cr_assert_eq(cdc_dtmf_gen_start(g, 15, 100, lvl), 0);
		cdc_dtmf_gen_fill(g, buf, 4800);
		peak = 0;
		for (size_t i = 0; i < 4800; i++)
			peak = abs(buf[i]) > peak ? abs(buf[i]) : peak;
		cr_assert(peak < 32767 && peak > 30000, "peak %d", peak);
		cr_assert(fabs(amp_dbm0(tone_amp(buf + 96, 4608, 941, 48000)) + 2.86) < 0.1);
		cr_assert(fabs(amp_dbm0(tone_amp(buf + 96, 4608, 1633, 48000)) + 2.86) < 0.1);
	}
	/* below -63 is clamped to -63 */
	cr_assert_eq(cdc_dtmf_gen_start(g, 1, 100, -90), 0);
	cdc_dtmf_gen_fill(g, buf, 4800);
	cr_assert(fabs(amp_dbm0(tone_amp(buf + 96, 4608, 697, 48000)) + 63) < 1.0);
	cdc_dtmf_gen_destroy(g);
}

Test(dtmf_gen, ramps_chunking_and_restart)
{
	struct cdc_dtmf_gen *a = cdc_dtmf_gen_create(8000), *b = cdc_dtmf_gen_create(8000);
	static int16_t one[800], chunked[800];
	size_t done = 0, k;

	cr_assert(a && b);
	cr_assert_eq(cdc_dtmf_gen_start(a, 0, 100, -10), 0);
	cr_assert_eq(cdc_dtmf_gen_start(b, 0, 100, -10), 0);
	cr_assert_eq(cdc_dtmf_gen_fill(a, one, 800), 800);
	while ((k = cdc_dtmf_gen_fill(b, chunked + done, 37)) > 0)
		done += k;
	cr_assert_eq(done, 800);
	cr_assert(memcmp(one, chunked, sizeof(one)) == 0, "output depends on the chunking");
	/* 1 ms raised-cosine ramps: the first and last 4 samples (0.5 ms)
	 * stay under a quarter of the tone's peak */
	int peak = 0, edge = 0;
	for (size_t i = 0; i < 800; i++) {
		peak = abs(one[i]) > peak ? abs(one[i]) : peak;
		if (i < 4 || i >= 796)
			edge = abs(one[i]) > edge ? abs(one[i]) : edge;
	}
	cr_assert(peak > 10000 && edge < peak / 4, "edge %d, peak %d", edge, peak);
	/* a new start replaces the tone in progress */
	cr_assert_eq(cdc_dtmf_gen_start(a, 3, 100, -10), 0);
	cr_assert_eq(cdc_dtmf_gen_fill(a, one, 400), 400);
	cr_assert_eq(cdc_dtmf_gen_start(a, 9, 50, -10), 0);
	cr_assert_eq(cdc_dtmf_gen_fill(a, one, 800), 400);
	cr_assert(fabs(amp_dbm0(tone_amp(one + 16, 368, 852, 8000)) + 10) < 1.0); /* '9' row */
	/* zero duration: nothing to play */
	cr_assert_eq(cdc_dtmf_gen_start(a, 9, 0, -10), 0);
	cr_assert(!cdc_dtmf_gen_active(a));
	cr_assert_eq(cdc_dtmf_gen_fill(a, one, 800), 0);
	cdc_dtmf_gen_destroy(a);
	cdc_dtmf_gen_destroy(b);
}

Test(dtmf_gen, bad_parameters)
{
	static const uint32_t bad[] = {0, 11025, 22050, 44100, 96000, 8001};
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(16000);
	int16_t x[4] = {7, 7, 7, 7};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(cdc_dtmf_gen_create(bad[i]), "rate %u", bad[i]);
	cr_assert(g);
	cr_assert_eq(cdc_dtmf_gen_start(g, 16, 100, -10), -EINVAL);
	cr_assert_eq(cdc_dtmf_gen_start(g, 255, 100, -10), -EINVAL);
	cr_assert(!cdc_dtmf_gen_active(g), "a rejected start began a tone");
	cr_assert_eq(cdc_dtmf_gen_start(NULL, 1, 100, -10), -EINVAL);
	cr_assert_eq(cdc_dtmf_gen_fill(NULL, x, 4), 0);
	cr_assert_eq(cdc_dtmf_gen_fill(g, x, 4), 0);
	cr_assert(x[0] == 7 && x[3] == 7);
	cr_assert(!cdc_dtmf_gen_active(NULL));
	cdc_dtmf_gen_destroy(g);
	cdc_dtmf_gen_destroy(NULL);
}

/* ------------------------------------------------------------------ */
/* In-band detection                                                    */

#define MAX_HITS 256

/* Feed x to a fresh detector in 20 ms chunks; collect every hit. */
static size_t detect_all(const int16_t *x, size_t n, struct cdc_dtmf_hit *hits, size_t max)
{
	struct cdc_dtmf_det *d = cdc_dtmf_det_create();
	size_t got = 0;

	cr_assert(d);
	for (size_t i = 0; i < n; i += 160) {
		size_t k = n - i < 160 ? n - i : 160;
		struct cdc_dtmf_hit h[8];
		int r = cdc_dtmf_detect(d, x + i, k, h, 8);

		cr_assert(r >= 0 && r <= 8);
		for (int j = 0; j < r; j++) {
			cr_assert_lt(got, max, "too many hits");
			hits[got++] = h[j];
		}
	}
	cdc_dtmf_det_destroy(d);
	return got;
}

Test(dtmf_det, all_digits_8k, .timeout = 60)
{
	/* 100 ms silence, then per digit 100 ms tone at -10 dBm0 + 100 ms silence */
	const size_t tone = 800, gap = 800, lead = 800, n = lead + 16 * (tone + gap);
	int16_t *x = calloc(n, sizeof(*x));
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(8000);
	struct cdc_dtmf_hit hits[MAX_HITS];
	long worst_at = 0, worst_dur = 0;
	size_t got;

	cr_assert(x && g);
	for (int ev = 0; ev < 16; ev++) {
		cr_assert_eq(cdc_dtmf_gen_start(g, (uint8_t)ev, 100, -10), 0);
		cr_assert_eq(cdc_dtmf_gen_fill(g, x + lead + ev * (tone + gap), tone), tone);
	}
	got = detect_all(x, n, hits, MAX_HITS);
	cr_assert_eq(got, 32, "hits: %zu", got);
	for (int ev = 0; ev < 16; ev++) {
		const struct cdc_dtmf_hit *b = &hits[2 * ev], *e = &hits[2 * ev + 1];
		long on = (long)(lead + ev * (tone + gap)), off = on + (long)tone;
		long eb = (long)b->at_sample - on, ee = (long)e->at_sample - off;
		long ed = (long)e->duration_samples - (long)tone;

		cr_assert(b->event == ev && !b->end, "hit %d: event %u end %d", 2 * ev, b->event, b->end);
		cr_assert(e->event == ev && e->end, "hit %d: event %u end %d", 2 * ev + 1, e->event, e->end);
		cr_assert(labs(eb) <= 160, "'%c' begin off by %ld samples", DIGITS[ev], eb);
		cr_assert(labs(ee) <= 160, "'%c' end off by %ld samples", DIGITS[ev], ee);
		cr_assert(labs(ed) <= 160, "'%c' duration off by %ld samples", DIGITS[ev], ed);
		cr_assert_eq(e->duration_samples, e->at_sample - b->at_sample);
		worst_at = labs(eb) > worst_at ? labs(eb) : worst_at;
		worst_at = labs(ee) > worst_at ? labs(ee) : worst_at;
		worst_dur = labs(ed) > worst_dur ? labs(ed) : worst_dur;
	}
	cr_log_info("16 digits: edges within %ld samples, durations within %ld samples", worst_at,
		    worst_dur);
	free(x);
	cdc_dtmf_gen_destroy(g);
}

/* The detector works in 102-sample blocks: sweep the tone's onset over
 * every phase of a block and over several durations and levels. */
Test(dtmf_det, timing_every_block_phase, .timeout = 120)
{
	static const int levels[] = {-3, -10, -20};
	static const unsigned durs_ms[] = {50, 100, 250};
	const size_t n = 8000;
	int16_t *x = malloc(n * sizeof(*x));
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(8000);
	struct cdc_dtmf_hit hits[8];
	long lo_at = 0, hi_at = 0, lo_dur = 0, hi_dur = 0;

	cr_assert(x && g);
	for (size_t li = 0; li < 3; li++)
		for (size_t di = 0; di < 3; di++)
			for (size_t phase = 0; phase < 102; phase += 3) {
				size_t on = 1000 + phase, len = durs_ms[di] * 8;
				long e[3];

				memset(x, 0, n * sizeof(*x));
				cdc_dtmf_gen_start(g, 8, durs_ms[di], levels[li]);
				cdc_dtmf_gen_fill(g, x + on, n - on);
				cr_assert_eq(detect_all(x, n, hits, 8), 2, "phase %zu len %zu", phase, len);
				cr_assert(hits[0].event == 8 && !hits[0].end && hits[1].event == 8 && hits[1].end);
				e[0] = (long)hits[0].at_sample - (long)on;
				e[1] = (long)hits[1].at_sample - (long)(on + len);
				e[2] = (long)hits[1].duration_samples - (long)len;
				for (int k = 0; k < 2; k++) {
					lo_at = e[k] < lo_at ? e[k] : lo_at;
					hi_at = e[k] > hi_at ? e[k] : hi_at;
				}
				lo_dur = e[2] < lo_dur ? e[2] : lo_dur;
				hi_dur = e[2] > hi_dur ? e[2] : hi_dur;
			}
	cr_log_info("begin/end error %ld..%ld samples, duration error %ld..%ld samples", lo_at, hi_at,
		    lo_dur, hi_dur);
	cr_assert(lo_at >= -160 && hi_at <= 160, "edges %ld..%ld", lo_at, hi_at);
	cr_assert(lo_dur >= -160 && hi_dur <= 160, "durations %ld..%ld", lo_dur, hi_dur);
	free(x);
	cdc_dtmf_gen_destroy(g);
}

Test(dtmf_det, back_to_back_digits_and_queue)
{
	const size_t n = 8000;
	int16_t *x = calloc(n, sizeof(*x));
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(8000);
	struct cdc_dtmf_det *d = cdc_dtmf_det_create();
	struct cdc_dtmf_hit hits[8], h;
	size_t got;

	cr_assert(x && g && d);
	/* '1' then '9' with no gap at all: '1' ends where '9' begins */
	cdc_dtmf_gen_start(g, 1, 100, -10);
	cdc_dtmf_gen_fill(g, x + 800, 800);
	cdc_dtmf_gen_start(g, 9, 100, -10);
	cdc_dtmf_gen_fill(g, x + 1600, 800);
	got = detect_all(x, n, hits, 8);
	cr_assert_eq(got, 4);
	cr_assert(hits[0].event == 1 && !hits[0].end && hits[1].event == 1 && hits[1].end);
	cr_assert(hits[2].event == 9 && !hits[2].end && hits[3].event == 9 && hits[3].end);
	cr_assert(labs((long)hits[1].at_sample - 1600) <= 160 &&
		  labs((long)hits[2].at_sample - 1600) <= 160);
	cr_assert_leq(hits[1].at_sample, hits[2].at_sample, "hits out of order");

	/* one big feed with room for one hit: the rest wait in the queue */
	cr_assert_eq(cdc_dtmf_detect(d, x, n, &h, 1), 1);
	cr_assert(h.event == 1 && !h.end);
	for (int i = 1; i < 4; i++) {
		cr_assert_eq(cdc_dtmf_detect(d, NULL, 0, &h, 1), 1);
		cr_assert(h.event == hits[i].event && h.end == hits[i].end &&
			  h.at_sample == hits[i].at_sample);
	}
	cr_assert_eq(cdc_dtmf_detect(d, NULL, 0, &h, 1), 0);
	free(x);
	cdc_dtmf_gen_destroy(g);
	cdc_dtmf_det_destroy(d);
}

Test(dtmf_det, bad_parameters)
{
	struct cdc_dtmf_det *d = cdc_dtmf_det_create();
	int16_t x[160] = {0};
	struct cdc_dtmf_hit h;

	cr_assert(d);
	cr_assert_eq(cdc_dtmf_detect(NULL, x, 160, &h, 1), -EINVAL);
	cr_assert_eq(cdc_dtmf_detect(d, NULL, 160, &h, 1), -EINVAL);
	cr_assert_eq(cdc_dtmf_detect(d, x, 160, NULL, 1), -EINVAL);
	cr_assert_eq(cdc_dtmf_detect(d, x, 160, NULL, 0), 0);
	cr_assert_eq(cdc_dtmf_detect(d, NULL, 0, &h, 1), 0);
	cdc_dtmf_det_destroy(d);
	cdc_dtmf_det_destroy(NULL);
}

/* ------------------------------------------------------------------ */
/* Talk-off: speech must not trigger the detector                       */

struct rng {
	uint64_t s;
};
static uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}
static double rng_unit(struct rng *r) { return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static double rng_range(struct rng *r, double a, double b) { return a + (b - a) * rng_unit(r); }
static double rng_gauss(struct rng *r)
{
	double u = rng_unit(r) + 1e-12, v = rng_unit(r);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Klatt-style two-pole resonator (unity gain at DC). */
struct reson {
	double a, b, c, y1, y2;
};
static void reson_set(struct reson *r, double f, double bw, double rate)
{
	double R = exp(-M_PI * bw / rate);

	r->b = 2 * R * cos(2 * M_PI * f / rate);
	r->c = -R * R;
	r->a = 1 - r->b - r->c;
}
static double reson_run(struct reson *r, double x)
{
	double y = r->a * x + r->b * r->y1 + r->c * r->y2;

	r->y2 = r->y1;
	r->y1 = y;
	return y;
}

/* F1-F3 of a few vowels (Peterson & Barney, male averages). */
static const double vowels[][3] = {
	{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480},
	{570, 840, 2410},  {660, 1720, 2410}, {490, 1350, 1690}, {440, 1020, 2240},
};

/* Formant-synthesised speech-like signal: a glottal pulse train with
 * jitter and a pitch that wanders over 100-250 Hz (random walk plus a
 * falling contour in each syllable), through three formant resonators
 * gliding between vowels; syllables of 100-350 ms with raised-cosine
 * envelopes, some with a fricative noise onset, pauses between words and
 * phrases, and background noise. Scaled to -20 dBm0 during speech. Fills
 * x and returns the fraction of time that is speech. */
static double speech_like(int16_t *x, size_t n, uint64_t seed)
{
	const double rate = 8000;
	struct rng r = {seed};
	struct reson f[3] = {{0}}, fric = {0};
	double *y = malloc(n * sizeof(*y));
	double cur[3] = {500, 1500, 2500}, tgt[3] = {500, 1500, 2500};
	double f0_base = 150, phase = 0, lp1 = 0, prev = 0, gain, e_sp = 0, scale;
	size_t i = 0, voiced = 0, syll_in_word = 0;

	cr_assert(y);
	while (i < n) {
		/* one syllable */
		size_t len = (size_t)(rng_range(&r, 0.10, 0.35) * rate), fr = 0;
		double amp = rng_range(&r, 0.4, 1.0), glide = rng_range(&r, 0.05, 0.25);
		const double *v = vowels[rng_next(&r) % 8];

		if (rng_unit(&r) < 0.4)
			fr = (size_t)(rng_range(&r, 0.04, 0.12) * rate);
		reson_set(&fric, rng_range(&r, 2200, 3400), 900, rate);
		for (int k = 0; k < 3; k++)
			tgt[k] = v[k] * rng_range(&r, 0.9, 1.1);
		for (size_t j = 0; j < len + fr && i < n; j++, i++) {
			double s = 0, e;

			if (i % 80 == 0) { /* pitch random walk, every 10 ms */
				f0_base += rng_gauss(&r) * 4;
				f0_base = f0_base < 105 ? 210 - f0_base : f0_base;
				f0_base = f0_base > 235 ? 470 - f0_base : f0_base;
			}
			if (j < fr) { /* fricative onset */
				s = reson_run(&fric, rng_gauss(&r)) * 0.1 * sin(M_PI * j / fr);
			} else {
				size_t t = j - fr;
				double f0 = f0_base * (1 + glide * (0.5 - (double)t / len));

				f0 = f0 < 100 ? 100 : f0 > 250 ? 250 : f0;
				phase += f0 * (1 + 0.01 * rng_gauss(&r)) / rate;
				double pulse = 0;
				if (phase >= 1) {
					phase -= 1;
					pulse = 1 + 0.05 * rng_gauss(&r);
				}
				/* glottal tilt (-6 dB/oct here; the formant cascade
				 * adds the rest) and lip radiation (+6 dB/oct) */
				lp1 = 0.97 * lp1 + pulse;
				double src = lp1 - prev + 0.02 * rng_gauss(&r);
				prev = lp1;
				for (int k = 0; k < 3; k++) {
					cur[k] += (tgt[k] - cur[k]) * 0.004;
					reson_set(&f[k], cur[k], 60 + 30 * k, rate);
					src = reson_run(&f[k], src);
				}
				e = t < 200 ? 0.5 - 0.5 * cos(M_PI * t / 200)
				    : len - t < 400 ? 0.5 - 0.5 * cos(M_PI * (len - t) / 400) : 1;
				s = src * e * amp;
				voiced++;
			}
			y[i] = s;
			e_sp += s * s;
		}
		/* pause: short between syllables, longer between words and phrases */
		size_t pause = (size_t)(rng_range(&r, 0.02, 0.08) * rate);
		if (++syll_in_word >= 2 + rng_next(&r) % 3) {
			syll_in_word = 0;
			pause = (size_t)(rng_range(&r, rng_unit(&r) < 0.2 ? 0.4 : 0.1, 0.8) * rate);
		}
		for (size_t j = 0; j < pause && i < n; j++, i++)
			y[i] = 0;
	}
	/* -20 dBm0 RMS while talking, plus noise at -60 dBm0 */
	scale = DBM0_PEAK / sqrt(2) * pow(10, -20 / 20.0) / sqrt(e_sp / (voiced ? voiced : 1));
	gain = DBM0_PEAK / sqrt(2) * pow(10, -60 / 20.0);
	for (i = 0; i < n; i++) {
		double v = y[i] * scale + gain * rng_gauss(&r);

		x[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
	}
	free(y);
	return (double)voiced / n;
}

Test(dtmf_det, no_talk_off_60s_speech_like, .timeout = 120)
{
	const size_t n = 60 * 8000;
	int16_t *x = malloc(n * sizeof(*x));
	struct cdc_dtmf_hit hits[MAX_HITS];
	size_t got, loud = 0;
	double talk;

	cr_assert(x);
	talk = speech_like(x, n, 0x5eed5eedull);
	/* it is speech-like, not silence: talking 40-90% of the time, and
	 * most 20 ms frames of talk well above the noise floor */
	cr_assert(talk > 0.4 && talk < 0.9, "talk fraction %.2f", talk);
	for (size_t i = 0; i + 160 <= n; i += 160)
		loud += rms_dbm0(x + i, 160) > -35;
	cr_assert_gt(loud, n / 160 * 3 / 10, "loud frames %zu of %zu", loud, n / 160);
	cr_assert(rms_dbm0(x, n) > -26, "overall %.1f dBm0", rms_dbm0(x, n));
	cr_log_info("speech-like: talking %.0f%% of the time, %zu of %zu frames above -35 dBm0, "
		    "%.1f dBm0 overall", talk * 100, loud, n / 160, rms_dbm0(x, n));

	got = detect_all(x, n, hits, MAX_HITS);
	cr_assert_eq(got, 0, "%zu false hits, first '%c' at %.3f s", got,
		     got ? cdc_dtmf_digit(hits[0].event) : '-',
		     got ? hits[0].at_sample / 8000.0 : 0.0);

	/* the same speech with a digit mixed in is still heard: the detector
	 * is not simply deaf */
	struct cdc_dtmf_gen *g = cdc_dtmf_gen_create(8000);
	int16_t tone[1600] = {0};
	size_t at = 0;

	cr_assert(g);
	for (size_t i = 0; i + 1600 <= n && !at; i += 160) /* a pause of >= 250 ms */
		if (rms_dbm0(x + i, 1600) < -50)
			at = i + 200;
	cr_assert(at, "no pause in the speech");
	cdc_dtmf_gen_start(g, 7, 100, -10);
	cdc_dtmf_gen_fill(g, tone, 1600);
	for (size_t i = 0; i < 1600; i++)
		x[at + i] = (int16_t)(x[at + i] + tone[i]);
	got = detect_all(x, n, hits, MAX_HITS);
	cr_assert_eq(got, 2);
	cr_assert(hits[0].event == 7 && labs((long)hits[0].at_sample - (long)at) <= 160);
	cdc_dtmf_gen_destroy(g);
	free(x);
}

/* ------------------------------------------------------------------ */
/* Real captures (sipp)                                                  */

static const char *sipp_dir(void)
{
	const char *d = getenv("SIPP_PCAP_DIR");

	return d && *d ? d : "/usr/share/sip-tester";
}

static void open_capture(struct pcap_file *pf, const char *name)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", sipp_dir(), name);
	rc = pcap_open(pf, path);
	cr_assert_eq(rc, 0, "%s: %s (install the sip-tester package)", path, strerror(-rc));
}

#define SIPP_TE_PT 101 /* every dtmf_2833_*.pcap uses dynamic PT 101 */

struct te_stats {
	char digits[32];
	unsigned packets, markers, ends, other;
	uint16_t last_duration;
	uint8_t volume;
};

/* The digits carried by a capture's telephone-events: an event starts at
 * a marker or a new RTP timestamp and counts once, at its first E packet.
 * Every payload must parse and re-encode to its own bytes. */
static void te_digits(const char *name, struct te_stats *st)
{
	struct pcap_file pf;
	struct pcap_pkt pkt;
	struct pcap_udp u;
	struct pcap_rtp r;
	struct cdc_te te;
	uint8_t back[4];
	uint32_t cur_ts = 0;
	bool in_event = false, ended = false;
	size_t nd = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	open_capture(&pf, name);
	cr_assert_eq(pf.linktype, PCAP_LINKTYPE_ETHERNET, "%s: link type %u", name, pf.linktype);
	while ((rc = pcap_next(&pf, &pkt)) == 1) {
		if (pcap_udp(&pf, &pkt, &u) || pcap_rtp(u.payload, u.len, &r) || r.pt != SIPP_TE_PT) {
			st->other++;
			continue;
		}
		cr_assert_eq(cdc_te_parse(r.payload, r.len, &te), 0, "%s: payload", name);
		cdc_te_write(&te, back);
		cr_assert(memcmp(back, r.payload, 4) == 0, "%s: re-encoded differs", name);
		st->packets++;
		st->markers += r.marker;
		st->volume = te.volume;
		if (r.marker || !in_event || r.ts != cur_ts) {
			in_event = true;
			ended = false;
			cur_ts = r.ts;
		} else {
			cr_assert_geq(te.duration, st->last_duration, "%s: duration went back", name);
		}
		st->last_duration = te.duration;
		if (te.end) {
			st->ends++;
			if (!ended && nd + 1 < sizeof(st->digits))
				st->digits[nd++] = cdc_dtmf_digit(te.event);
			ended = true;
		}
	}
	cr_assert_eq(rc, 0, "%s: truncated record", name);
	pcap_close(&pf);
}

Test(sipp, rfc2833_captures)
{
	static const struct {
		const char *file, *digits;
	} caps[] = {
		{"dtmf_2833_0.pcap", "0"}, {"dtmf_2833_1.pcap", "1"}, {"dtmf_2833_2.pcap", "2"},
		{"dtmf_2833_3.pcap", "3"}, {"dtmf_2833_4.pcap", "4"}, {"dtmf_2833_5.pcap", "5"},
		{"dtmf_2833_6.pcap", "6"}, {"dtmf_2833_7.pcap", "7"}, {"dtmf_2833_8.pcap", "8"},
		{"dtmf_2833_9.pcap", "9"}, {"dtmf_2833_pound.pcap", "#"},
		{"dtmf_2833_star.pcap", "*"},
	};
	char all[32] = "";
	struct te_stats st;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		te_digits(caps[i].file, &st);
		cr_assert_str_eq(st.digits, caps[i].digits, "%s", caps[i].file);
		/* sipp's shape: 7 packets 40 ms apart (durations 0..1920, first
		 * with the marker), then the 280 ms end three times, at -10 dBm0 */
		cr_assert_eq(st.packets, 10, "%s", caps[i].file);
		cr_assert_eq(st.markers, 1, "%s", caps[i].file);
		cr_assert_eq(st.ends, 3, "%s", caps[i].file);
		cr_assert_eq(st.last_duration, 2240, "%s", caps[i].file);
		cr_assert_eq(st.volume, 10, "%s", caps[i].file);
		cr_assert_eq(st.other, 0, "%s", caps[i].file);
		strcat(all, st.digits);
	}
	cr_assert_str_eq(all, "0123456789#*");
}

/* sipp's g711a.pcap is a real A-law voice recording (PT 8): no digits. */
Test(sipp, no_talk_off_real_speech)
{
	struct pcap_file pf;
	struct pcap_pkt pkt;
	struct pcap_udp u;
	struct pcap_rtp r;
	struct cdc_dtmf_det *d = cdc_dtmf_det_create();
	struct cdc_dtmf_hit h[8];
	int16_t pcm[512];
	size_t samples = 0, hits = 0, loud = 0;

	cr_assert(d);
	open_capture(&pf, "g711a.pcap");
	while (pcap_next(&pf, &pkt) == 1) {
		if (pcap_udp(&pf, &pkt, &u) || pcap_rtp(u.payload, u.len, &r) || r.pt != 8)
			continue;
		cr_assert_leq(r.len, sizeof(pcm) / sizeof(pcm[0]));
		for (size_t i = 0; i < r.len; i++)
			pcm[i] = alaw_to_linear(r.payload[i]);
		loud += rms_dbm0(pcm, r.len) > -30;
		int n = cdc_dtmf_detect(d, pcm, r.len, h, 8);
		cr_assert_geq(n, 0);
		hits += (size_t)n;
		samples += r.len;
	}
	pcap_close(&pf);
	cr_assert_gt(samples, 5 * 8000, "only %zu samples", samples);
	cr_assert_gt(loud, 100, "the capture is nearly silent (%zu loud frames)", loud);
	cr_assert_eq(hits, 0, "%zu false hits in real speech", hits);
	cdc_dtmf_det_destroy(d);
}

/* The pcap reader refuses what it cannot read instead of misparsing it. */
Test(sipp, pcap_reader_errors)
{
	char src[512], tmp[] = "/tmp/test_dtmf_XXXXXX";
	struct pcap_file pf, good;
	struct pcap_pkt pkt;
	int fd;

	cr_assert_eq(pcap_open(&pf, "/nonexistent/x.pcap"), -ENOENT);
	snprintf(src, sizeof(src), "%s/dtmf_2833_1.pcap", sipp_dir());
	cr_assert_eq(pcap_open(&good, src), 0, "%s", src);
	fd = mkstemp(tmp);
	cr_assert_geq(fd, 0);
	/* the global header and half of the first record */
	cr_assert_eq(write(fd, good.data, 24 + 30), 24 + 30);
	cr_assert_eq(pcap_open(&pf, tmp), 0);
	cr_assert_eq(pcap_next(&pf, &pkt), -EINVAL);
	pcap_close(&pf);
	/* a pcapng section header block */
	cr_assert_eq(pwrite(fd, "\x0a\x0d\x0d\x0a", 4, 0), 4);
	cr_assert_eq(pcap_open(&pf, tmp), -ENOTSUP);
	close(fd);
	unlink(tmp);
	pcap_close(&good);
}
