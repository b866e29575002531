/* SPDX-License-Identifier: MIT
 * The mix kernels in AVX2 (see mx.h), 8 samples a step; bit-exact with
 * mx_mix_scalar.c, which does the tails.
 */
#include <immintrin.h>

#include "mx_mix_isa.h"

static void add(int32_t *acc, int32_t *c, const int16_t *pcm, int32_t gain, size_t n)
{
	__m256i g = _mm256_set1_epi32(gain);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i p = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(pcm + i)));
		__m256i v = _mm256_srai_epi32(_mm256_mullo_epi32(p, g), MX_GAIN_SHIFT);
		__m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));

		if (c)
			_mm256_storeu_si256((__m256i *)(c + i), v);
		_mm256_storeu_si256((__m256i *)(acc + i), _mm256_add_epi32(a, v));
	}
	mx_mix_scalar_add(acc + i, c ? c + i : NULL, pcm + i, gain, n - i);
}

/* acc - c for 8 samples */
static inline __m256i diff8(const int32_t *acc, const int32_t *c, size_t i)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));

	return c ? _mm256_sub_epi32(a, _mm256_loadu_si256((const __m256i *)(c + i))) : a;
}

/* Saturate 8 int32 to int16 and store (packs works per 128-bit lane). */
static inline void store_sat(int16_t *out, __m256i v)
{
	__m256i p = _mm256_packs_epi32(v, v); /* lane0: v0-3 v0-3, lane1: v4-7 v4-7 */

	p = _mm256_permute4x64_epi64(p, 0x08); /* 64-bit pieces 0 and 2 to the bottom */
	_mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(p));
}

static void out_sat(int16_t *out, const int32_t *acc, const int32_t *c, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		store_sat(out + i, diff8(acc, c, i));
	mx_mix_scalar_out_sat(out + i, acc + i, c ? c + i : NULL, n - i);
}

static uint32_t peak(const int32_t *acc, const int32_t *c, size_t n)
{
	__m256i m = _mm256_setzero_si256();
	uint32_t lanes[8], r;
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		m = _mm256_max_epu32(m, _mm256_abs_epi32(diff8(acc, c, i))); /* |INT32_MIN| is 2^31 unsigned */
	_mm256_storeu_si256((__m256i *)lanes, m);
	r = mx_mix_scalar_peak(acc + i, c ? c + i : NULL, n - i);
	for (int k = 0; k < 8; k++)
		if (lanes[k] > r)
			r = lanes[k];
	return r;
}

static void out_gain(int16_t *out, const int32_t *acc, const int32_t *c, int32_t gain, size_t n)
{
	__m256i g = _mm256_set1_epi32(gain), hi = _mm256_set1_epi32(MX_MIX_CLAMP),
		lo = _mm256_set1_epi32(-MX_MIX_CLAMP);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i v = _mm256_min_epi32(_mm256_max_epi32(diff8(acc, c, i), lo), hi);

		store_sat(out + i, _mm256_srai_epi32(_mm256_mullo_epi32(v, g), MX_GAIN_SHIFT));
	}
	mx_mix_scalar_out_gain(out + i, acc + i, c ? c + i : NULL, gain, n - i);
}

const struct mx_mix_ops mx_mix_avx2_ops = { .add = add, .out_sat = out_sat, .peak = peak, .out_gain = out_gain };
