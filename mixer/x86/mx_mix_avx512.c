/* SPDX-License-Identifier: MIT
 * The mix kernels in AVX-512 (see mx.h), 16 samples a step; bit-exact
 * with mx_mix_scalar.c, which does the tails.
 */
#include <immintrin.h>

#include "mx_mix_isa.h"

static void add(int32_t *acc, int32_t *c, const int16_t *pcm, int32_t gain, size_t n)
{
	__m512i g = _mm512_set1_epi32(gain);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512i p = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(pcm + i)));
		__m512i v = _mm512_srai_epi32(_mm512_mullo_epi32(p, g), MX_GAIN_SHIFT);
		__m512i a = _mm512_loadu_si512(acc + i);

		if (c)
			_mm512_storeu_si512(c + i, v);
		_mm512_storeu_si512(acc + i, _mm512_add_epi32(a, v));
	}
	mx_mix_scalar_add(acc + i, c ? c + i : NULL, pcm + i, gain, n - i);
}

static inline __m512i diff16(const int32_t *acc, const int32_t *c, size_t i)
{
	__m512i a = _mm512_loadu_si512(acc + i);

	return c ? _mm512_sub_epi32(a, _mm512_loadu_si512(c + i)) : a;
}

static void out_sat(int16_t *out, const int32_t *acc, const int32_t *c, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(out + i), _mm512_cvtsepi32_epi16(diff16(acc, c, i)));
	mx_mix_scalar_out_sat(out + i, acc + i, c ? c + i : NULL, n - i);
}

static uint32_t peak(const int32_t *acc, const int32_t *c, size_t n)
{
	__m512i m = _mm512_setzero_si512();
	uint32_t r, v;
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		m = _mm512_max_epu32(m, _mm512_abs_epi32(diff16(acc, c, i)));
	v = _mm512_reduce_max_epu32(m);
	r = mx_mix_scalar_peak(acc + i, c ? c + i : NULL, n - i);
	return v > r ? v : r;
}

static void out_gain(int16_t *out, const int32_t *acc, const int32_t *c, int32_t gain, size_t n)
{
	__m512i g = _mm512_set1_epi32(gain), hi = _mm512_set1_epi32(MX_MIX_CLAMP),
		lo = _mm512_set1_epi32(-MX_MIX_CLAMP);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512i v = _mm512_min_epi32(_mm512_max_epi32(diff16(acc, c, i), lo), hi);

		_mm256_storeu_si256((__m256i *)(out + i),
				    _mm512_cvtsepi32_epi16(_mm512_srai_epi32(_mm512_mullo_epi32(v, g), MX_GAIN_SHIFT)));
	}
	mx_mix_scalar_out_gain(out + i, acc + i, c ? c + i : NULL, gain, n - i);
}

const struct mx_mix_ops mx_mix_avx512_ops = { .add = add, .out_sat = out_sat, .peak = peak, .out_gain = out_gain };
