/* SPDX-License-Identifier: MIT
 * A conference room's mixing core (mixer/mx_mixer.c): N-1 judged by
 * Goertzel energy on each participant's own tone, talker detection and
 * its events, mute, deaf, gain, whisper, the shared mix, bad input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_util.h"
#include "mx.h"

#define RATE 16000
#define FRAME 320
#define P 5

static const double freq[P] = { 300, 500, 700, 1100, 1300 };
static struct mx_mixer *M;
static int id[P];
static uint64_t phase;

static struct mx_mixer *room(unsigned talkers, bool limit)
{
	struct mx_mixer_conf c = { .rate = RATE, .frame_ms = 20, .max_talkers = talkers, .max_parts = 8, .limit = limit };
	struct mx_mixer *m = mx_mixer_create(&c, NULL);

	cr_assert_not_null(m);
	cr_assert_eq(mx_mixer_frame(m), FRAME);
	return m;
}

/* One tick: participant k sends its tone at amp[k] (0: nothing). */
static void tick(const double amp[P])
{
	for (int k = 0; k < P; k++) {
		int16_t *in = mx_mixer_input(M, id[k]);

		for (int i = 0; i < FRAME; i++)
			in[i] = (int16_t)lrint(amp[k] * sin(2 * M_PI * freq[k] * (double)(phase + i) / RATE));
		mx_mixer_input_done(M, id[k], amp[k] > 0, -1);
	}
	phase += FRAME;
	mx_mixer_run(M);
}

/* Share of participant listener's output power at speaker's tone. */
static double heard(int listener, int speaker)
{
	const int16_t *o = mx_mixer_output(M, id[listener], NULL);

	cr_assert_not_null(o);
	return au_tone_ratio(o, FRAME, freq[speaker], RATE);
}

static void setup(unsigned talkers)
{
	M = room(talkers, false);
	phase = 0;
	for (int k = 0; k < P; k++)
		id[k] = mx_mixer_join(M);
}

static const double all[P] = { 6000, 6000, 6000, 6000, 6000 };

Test(mixer, each_hears_every_other_tone_and_not_its_own)
{
	setup(5);
	for (int t = 0; t < 10; t++)
		tick(all);
	for (int l = 0; l < P; l++) {
		cr_assert(mx_mixer_is_talker(M, id[l]));
		for (int s = 0; s < P; s++) {
			double r = heard(l, s);

			if (s == l)
				cr_assert_lt(r, 0.01, "%d hears itself: %.3f", l, r);
			else
				cr_assert_gt(r, 0.15, "%d hears %d only %.3f", l, s, r);
		}
	}
	mx_mixer_destroy(M);
}

Test(mixer, only_the_loudest_talkers_are_mixed_and_listeners_share_one_mix)
{
	const double amp[P] = { 9000, 7000, 5000, 1500, 1200 };
	const int16_t *a, *b;
	bool sa, sb;

	setup(3);
	for (int t = 0; t < 10; t++)
		tick(amp);
	for (int k = 0; k < P; k++)
		cr_assert_eq(mx_mixer_is_talker(M, id[k]), k < 3, "participant %d", k);
	a = mx_mixer_output(M, id[3], &sa);
	b = mx_mixer_output(M, id[4], &sb);
	cr_assert(sa && sb && a == b, "the two listeners share one buffer");
	cr_assert_lt(heard(3, 4), 0.01, "a non-talker is not mixed");
	cr_assert_gt(heard(3, 0), 0.3);
	mx_mixer_output(M, id[0], &sa);
	cr_assert_not(sa, "a talker gets its own N-1");
	mx_mixer_destroy(M);
}

Test(mixer, mute_deaf_and_gain)
{
	struct mx_mixer_part_opts mute = { .muted = true, .gain = MX_GAIN_UNITY },
				  deaf = { .deaf = true, .gain = MX_GAIN_UNITY },
				  half = { .gain = MX_GAIN_UNITY / 2 };
	double e1, e2;

	setup(5);
	cr_assert_eq(mx_mixer_set(M, id[0], &mute), 0);
	cr_assert_eq(mx_mixer_set(M, id[1], &deaf), 0);
	for (int t = 0; t < 5; t++)
		tick(all);
	cr_assert_null(mx_mixer_output(M, id[1], NULL), "deaf hears nothing");
	cr_assert_lt(heard(2, 0), 0.01, "muted is not heard");
	cr_assert_gt(heard(0, 2), 0.15, "muted still hears");
	cr_assert_gt(heard(2, 1), 0.15, "deaf is still heard");
	/* gain: participant 3 at half */
	e1 = heard(4, 3);
	cr_assert_eq(mx_mixer_set(M, id[3], &half), 0);
	tick(all);
	e2 = heard(4, 3);
	cr_assert_lt(e2, e1 * 0.5, "half the amplitude is a quarter of the power share: %.3f -> %.3f", e1, e2);
	cr_assert_gt(e2, e1 * 0.15);
	mx_mixer_destroy(M);
}

Test(mixer, whisper_is_heard_by_its_audience_only)
{
	int agent;

	setup(5);
	agent = id[1];
	/* participant 0 (the supervisor) whispers to participant 1 (the agent) */
	cr_assert_eq(mx_mixer_set_audience(M, id[0], &agent, 1), 0);
	for (int t = 0; t < 5; t++)
		tick(all);
	cr_assert_gt(heard(1, 0), 0.15, "the agent hears the coach");
	for (int l = 2; l < P; l++)
		cr_assert_lt(heard(l, 0), 0.01, "participant %d does not hear the coach", l);
	cr_assert_gt(heard(0, 1), 0.15, "the coach hears the agent");
	cr_assert_gt(heard(0, 3), 0.15, "and the others");
	cr_assert_lt(heard(1, 1), 0.01, "the agent does not hear itself");
	/* back to everyone */
	cr_assert_eq(mx_mixer_set_audience(M, id[0], NULL, -1), 0);
	tick(all);
	cr_assert_gt(heard(3, 0), 0.15);
	mx_mixer_destroy(M);
}

Test(mixer, talkers_start_and_stop_with_a_hangover_and_events)
{
	const double quiet[P] = { 0, 0, 0, 0, 0 };
	double one[P] = { 8000, 0, 0, 0, 0 };
	struct mx_mixer_event e;
	int stop_tick = -1;

	setup(3);
	tick(quiet);
	cr_assert_eq(mx_mixer_next_event(M, &e), 0);
	tick(one);
	cr_assert(mx_mixer_is_talker(M, id[0]));
	cr_assert_eq(mx_mixer_next_event(M, &e), 1);
	cr_assert(e.start && e.id == id[0]);
	for (int t = 0; t < 40 && stop_tick < 0; t++) {
		tick(quiet);
		if (mx_mixer_next_event(M, &e)) {
			cr_assert(!e.start && e.id == id[0]);
			stop_tick = t;
		}
	}
	/* a missing frame is silence: the hangover bridges a gap in the
	 * packets, and ends after 300 ms = 15 frames */
	cr_assert(stop_tick >= 14 && stop_tick <= 15, "stops after its hangover when it sends nothing: %d", stop_tick);
	one[0] = 8000;
	tick(one);
	cr_assert_eq(mx_mixer_next_event(M, &e), 1);
	{
		double hush[P] = { 3, 0, 0, 0, 0 }; /* present, near silence */
		int t;

		for (t = 0; t < 40; t++) {
			tick(hush);
			if (!mx_mixer_is_talker(M, id[0]))
				break;
		}
		cr_assert(t >= 14 && t <= 15, "hangover of 300 ms = 15 frames: stopped after %d", t);
	}
	mx_mixer_destroy(M);
}

Test(mixer, steady_background_noise_is_not_speech)
{
	int16_t *in;
	int k;

	M = room(3, false);
	k = mx_mixer_join(M);
	srand(1);
	for (int t = 0; t < 200; t++) { /* 4 s of noise at about -40 dBov */
		in = mx_mixer_input(M, k);
		for (int i = 0; i < FRAME; i++)
			in[i] = (int16_t)(rand() % 600 - 300);
		mx_mixer_input_done(M, k, true, -1);
		mx_mixer_run(M);
	}
	cr_assert_not(mx_mixer_is_talker(M, k), "noise became the floor");
	/* speech well above it */
	in = mx_mixer_input(M, k);
	au_tone(in, FRAME, 400, 10000, RATE);
	mx_mixer_input_done(M, k, true, -1);
	mx_mixer_run(M);
	cr_assert(mx_mixer_is_talker(M, k));
	mx_mixer_destroy(M);
}

Test(mixer, a_signalled_level_is_used_instead_of_measuring)
{
	int16_t *in;
	int k;

	M = room(3, false);
	k = mx_mixer_join(M);
	in = mx_mixer_input(M, k);
	au_tone(in, FRAME, 400, 10000, RATE);
	mx_mixer_input_done(M, k, true, 127); /* RFC 6464 says silence */
	mx_mixer_run(M);
	cr_assert_not(mx_mixer_is_talker(M, k));
	cr_assert_eq(mx_mixer_level(M, k), 127);
	mx_mixer_input_done(M, k, true, 20);
	mx_mixer_run(M);
	cr_assert(mx_mixer_is_talker(M, k));
	mx_mixer_destroy(M);
}

Test(mixer, loud_in_phase_participants_saturate_or_limit_never_wrap)
{
	for (int limit = 0; limit < 2; limit++) {
		int ids[4];
		const int16_t *o;

		M = room(3, limit);
		for (int k = 0; k < 4; k++)
			ids[k] = mx_mixer_join(M);
		for (int t = 0; t < 3; t++) {
			for (int k = 0; k < 3; k++) {
				int16_t *in = mx_mixer_input(M, ids[k]);

				au_tone(in, FRAME, 500, 30000, RATE); /* all in phase */
				mx_mixer_input_done(M, ids[k], true, -1);
			}
			mx_mixer_input_done(M, ids[3], false, -1);
			mx_mixer_run(M);
		}
		o = mx_mixer_output(M, ids[3], NULL);
		{
			int16_t ref[FRAME];

			au_tone(ref, FRAME, 500, 30000, RATE);
			for (int i = 0; i < FRAME; i++) {
				if (ref[i] > 0)
					cr_assert_geq(o[i], 0, "sample %d wrapped (limit %d)", i, limit);
				if (ref[i] < 0)
					cr_assert_leq(o[i], 0, "sample %d wrapped (limit %d)", i, limit);
				if (limit)
					cr_assert_leq(abs(o[i]), MX_LIMIT_THRESHOLD);
			}
		}
		mx_mixer_destroy(M);
	}
}

Test(mixer, bad_input_changes_nothing)
{
	struct mx_mixer_conf bad = { .rate = 11025, .frame_ms = 20, .max_talkers = 3, .max_parts = 4 };
	struct mx_mixer_part_opts o = { .gain = MX_GAIN_MAX + 1 };
	int ghost = 7, self;

	cr_assert_null(mx_mixer_create(&bad, NULL));
	bad.rate = 16000;
	bad.frame_ms = 30;
	cr_assert_null(mx_mixer_create(&bad, NULL));
	setup(3);
	self = id[0];
	cr_assert_eq(mx_mixer_set(M, 7, &o), -ENOENT);
	cr_assert_eq(mx_mixer_set(M, id[0], &o), -EINVAL);
	cr_assert_eq(mx_mixer_set_audience(M, id[0], &ghost, 1), -EINVAL);
	cr_assert_eq(mx_mixer_set_audience(M, id[0], &self, 1), -EINVAL);
	cr_assert_eq(mx_mixer_leave(M, 7), -ENOENT);
	for (int t = 0; t < 5; t++)
		tick(all);
	cr_assert_gt(heard(1, 0), 0.1, "participant 0 is still heard by all");
	cr_assert_eq(mx_mixer_leave(M, id[4]), 0);
	cr_assert_eq(mx_mixer_leave(M, id[4]), -ENOENT);
	for (int k = 0; k < 3; k++)
		cr_assert_geq(mx_mixer_join(M), 0);
	cr_assert_geq(mx_mixer_join(M), 0);
	cr_assert_eq(mx_mixer_join(M), -ENOSPC, "8 participants at most");
	mx_mixer_destroy(M);
}
