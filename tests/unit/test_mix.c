/* SPDX-License-Identifier: MIT
 * The mix kernels (mixer/mx_mix*.c): every SIMD variant this CPU has
 * gives the scalar reference's result bit for bit, on fixed-seed inputs
 * with the saturation edges; N-1 takes a talker's own voice out before
 * anything saturates; saturation and the limiter never wrap. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

#define N 963 /* not a multiple of 16: the tails run too */

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
	seed = seed * 1664525u + 1013904223u;
	return seed >> 8;
}

/* Samples biased to the edges: full-scale values, near-zero, random. */
static void fill_pcm(int16_t *p, size_t n)
{
	static const int16_t edge[] = { 32767, -32768, 32766, -32767, 0, 1, -1, 16384, -16384 };

	for (size_t i = 0; i < n; i++) {
		uint32_t r = rnd();

		p[i] = r % 4 == 0 ? edge[(r >> 4) % 9] : (int16_t)(rnd() & 0xffff);
	}
}

static void fill_acc(int32_t *a, size_t n)
{
	static const int32_t edge[] = { MX_MIX_CLAMP, -MX_MIX_CLAMP, MX_MIX_CLAMP + 1, -MX_MIX_CLAMP - 1,
					32767, 32768, -32768, -32769, 0, INT32_MAX / 2, -(INT32_MAX / 2) };

	for (size_t i = 0; i < n; i++) {
		uint32_t r = rnd();

		a[i] = r % 3 == 0 ? edge[(r >> 4) % 11] : (int32_t)(rnd() % 1000001) - 500000;
	}
}

static const struct mx_mix_ops *variant(enum cdc_isa isa) { return mx_mix_ops(isa); }

Test(mix, every_variant_is_bit_exact_with_scalar)
{
	const struct mx_mix_ops *ref = variant(CDC_ISA_SCALAR);
	static const int32_t gains[] = { 0, 1, MX_GAIN_UNITY / 2, MX_GAIN_UNITY, MX_GAIN_UNITY + 123, MX_GAIN_MAX };
	int tested = 0;

	cr_assert_not_null(ref);
	for (int isa = CDC_ISA_AVX2; isa <= CDC_ISA_AVX512; isa++) {
		const struct mx_mix_ops *v = variant((enum cdc_isa)isa);

		if (!v) {
			cr_log_warn("%s: not on this CPU, not tested", cdc_isa_name((enum cdc_isa)isa));
			continue;
		}
		tested++;
		for (int round = 0; round < 50; round++) {
			int16_t pcm[N], o1[N], o2[N];
			int32_t a1[N], a2[N], c1[N], c2[N];
			size_t n = round == 0 ? N : 1 + rnd() % N;
			int32_t g = gains[round % 6];

			fill_pcm(pcm, n);
			fill_acc(a1, n);
			memcpy(a2, a1, sizeof(a1));
			ref->add(a1, c1, pcm, g, n);
			v->add(a2, c2, pcm, g, n);
			cr_assert_arr_eq(a1, a2, n * sizeof(int32_t), "%s add acc, gain %d", cdc_isa_name(isa), g);
			cr_assert_arr_eq(c1, c2, n * sizeof(int32_t), "%s add c", cdc_isa_name(isa));
			ref->add(a1, NULL, pcm, g, n);
			v->add(a2, NULL, pcm, g, n);
			cr_assert_arr_eq(a1, a2, n * sizeof(int32_t), "%s add without c", cdc_isa_name(isa));

			fill_acc(a1, n);
			fill_acc(c1, n);
			for (int withc = 0; withc < 2; withc++) {
				const int32_t *c = withc ? c1 : NULL;

				ref->out_sat(o1, a1, c, n);
				v->out_sat(o2, a1, c, n);
				cr_assert_arr_eq(o1, o2, n * sizeof(int16_t), "%s out_sat", cdc_isa_name(isa));
				cr_assert_eq(ref->peak(a1, c, n), v->peak(a1, c, n), "%s peak", cdc_isa_name(isa));
				for (int32_t gg = 0; gg <= MX_GAIN_UNITY; gg += 1023) {
					ref->out_gain(o1, a1, c, gg, n);
					v->out_gain(o2, a1, c, gg, n);
					cr_assert_arr_eq(o1, o2, n * sizeof(int16_t), "%s out_gain %d", cdc_isa_name(isa), gg);
				}
			}
		}
	}
	cr_log_info("SIMD variants compared with scalar: %d", tested);
}

Test(mix, saturation_is_exact_at_the_edges)
{
	int32_t acc[6] = { 32767, 32768, -32768, -32769, INT32_MAX / 2, -(INT32_MAX / 2) };
	int16_t out[6];

	for (int isa = CDC_ISA_SCALAR; isa <= CDC_ISA_AVX512; isa++) {
		const struct mx_mix_ops *v = variant((enum cdc_isa)isa);

		if (!v)
			continue;
		v->out_sat(out, acc, NULL, 6);
		cr_assert_eq(out[0], 32767);
		cr_assert_eq(out[1], 32767);
		cr_assert_eq(out[2], -32768);
		cr_assert_eq(out[3], -32768);
		cr_assert_eq(out[4], 32767);
		cr_assert_eq(out[5], -32768);
	}
}

/* Three talkers at near full scale, in phase: the sum is 3x full scale. */
static void loud_room(int16_t t[3][320], int32_t acc[320], int32_t c[3][320], const struct mx_mix_ops *o)
{
	memset(acc, 0, 320 * sizeof(int32_t));
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 320; i++)
			t[k][i] = (int16_t)lrint(30000 * sin(2 * M_PI * (300 + 200 * k) * i / 16000.0));
		o->add(acc, c[k], t[k], MX_GAIN_UNITY, 320);
	}
}

Test(mix, n_minus_1_removes_the_talkers_own_voice_before_saturating)
{
	const struct mx_mix_ops *o = mx_mix_active();
	int16_t t[3][320], out[320];
	int32_t acc[320], c[3][320];

	loud_room(t, acc, c, o);
	for (int k = 0; k < 3; k++) {
		o->out_sat(out, acc, c[k], 320);
		for (int i = 0; i < 320; i++) {
			int32_t want = 0;

			for (int j = 0; j < 3; j++)
				if (j != k)
					want += t[j][i];
			want = want > 32767 ? 32767 : want < -32768 ? -32768 : want;
			cr_assert_eq(out[i], want, "talker %d sample %d: %d, want %d", k, i, out[i], want);
		}
	}
}

Test(mix, saturated_or_limited_output_never_wraps)
{
	const struct mx_mix_ops *o = mx_mix_active();
	int16_t t[3][320], sat[320], lim[320];
	int32_t acc[320], c[3][320];
	struct mx_limiter l;
	int clipped = 0;

	loud_room(t, acc, c, o);
	mx_limiter_init(&l, 20);
	mx_mix_out(o, NULL, sat, acc, NULL, 320);
	mx_mix_out(o, &l, lim, acc, NULL, 320);
	cr_assert_lt(l.gain, MX_GAIN_UNITY, "the limiter engaged");
	for (int i = 0; i < 320; i++) {
		/* the sign of the true sum is kept: wrapping would flip it */
		if (acc[i] > 0) {
			cr_assert_geq(sat[i], 0, "sample %d wrapped: sum %d, out %d", i, acc[i], sat[i]);
			cr_assert_geq(lim[i], 0);
		} else if (acc[i] < 0) {
			cr_assert_leq(sat[i], 0, "sample %d wrapped: sum %d, out %d", i, acc[i], sat[i]);
			cr_assert_leq(lim[i], 0);
		}
		clipped += sat[i] == 32767 || sat[i] == -32768;
		cr_assert_leq(abs(lim[i]), MX_LIMIT_THRESHOLD, "limited sample %d: %d", i, lim[i]);
		/* limited = scaled, not clipped: proportional to the sum within rounding */
		cr_assert_leq(fabs(lim[i] - (double)acc[i] * l.gain / MX_GAIN_UNITY), 1.0, "sample %d", i);
	}
	cr_assert_gt(clipped, 0, "saturation did clip the 3x full-scale sum");
	/* the gain comes back slowly once the room is quiet */
	{
		int32_t quiet[320] = { 0 };
		int32_t g0 = l.gain;

		mx_mix_out(o, &l, lim, quiet, NULL, 320);
		cr_assert_gt(l.gain, g0);
		cr_assert_leq(l.gain - g0, MX_GAIN_UNITY * 20 / MX_LIMIT_RELEASE_MS);
		for (int k = 0; k < 40; k++)
			mx_mix_out(o, &l, lim, quiet, NULL, 320);
		cr_assert_eq(l.gain, MX_GAIN_UNITY, "back to unity after %d ms", MX_LIMIT_RELEASE_MS);
	}
}
