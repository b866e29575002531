/* SPDX-License-Identifier: MIT
 * codecs/x86/cdc_g711_avx2.c: G.711 with AVX2, 32 samples a step. Built
 * with -mavx2 only; cdc_g711.c hands it out only when CPUID has avx2.
 * Bit-exact with the scalar reference in cdc_g711.c (see there for the
 * formulas); tests/unit/test_g711.c checks every input.
 *
 * Encode. The segment is 1 + the index of the top bit of the 8 high bits
 * of the (biased) magnitude, found with two nibble lookups (vpshufb) and a
 * max. AVX2 has no 16-bit variable shift, so the four mantissa bits are
 * brought to bits 10..13 by a multiply by 1 << (7 - seg) (a third lookup)
 * and one fixed shift. Saturation: μ-law clamps the biased magnitude to
 * 0x7fff, which encodes exactly as SpanDSP's "seg >= 8" case.
 *
 * Decode. Per code byte, lookups give the biased mantissa and 1 << seg
 * (A-law: the high byte 1 when seg > 0 adds SpanDSP's 0x100), widened to
 * 16 bits and multiplied; vpsignw applies the sign.
 *
 * Tails (n % 32) go through a 32-sample bounce buffer on the stack.
 */
#include <immintrin.h>
#include <string.h>

#include "cdc.h"
#include "cdc_g711_isa.h"

#define STEP 32

/* Nibble tables (vpshufb), all 16 bytes wide, broadcast to both lanes. */
/* bit length of n: top_bit(n) + 1, 0 for 0 */
static const uint8_t t_bitlen_lo[16] = {0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4};
/* 4 + bit length of n for the high nibble, 0 for 0 */
static const uint8_t t_bitlen_hi[16] = {0, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8};
/* at 8 + seg: 1 << (7 - seg); entries 0..7 are 0 so a zero high byte of
 * the index yields a zero high byte */
static const uint8_t t_mul_ulaw[16] = {0, 0, 0, 0, 0, 0, 0, 0, 128, 64, 32, 16, 8, 4, 2, 1};
/* A-law shifts seg 0 like seg 1: 1 << (7 - max(seg, 1)) */
static const uint8_t t_mul_alaw[16] = {0, 0, 0, 0, 0, 0, 0, 0, 64, 64, 32, 16, 8, 4, 2, 1};
/* μ-law decode: (mant << 3) + 0x84, and 1 << seg */
static const uint8_t t_ubase[16] = {132, 140, 148, 156, 164, 172, 180, 188,
				    196, 204, 212, 220, 228, 236, 244, 252};
static const uint8_t t_pow[16] = {1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0};
/* A-law decode: the low byte (mant << 4) + 8, the high byte (seg != 0),
 * and 1 << max(seg - 1, 0) */
static const uint8_t t_abase[16] = {8,   24,  40,  56,  72,  88,  104, 120,
				    136, 152, 168, 184, 200, 216, 232, 248};
static const uint8_t t_aseg_hi[16] = {0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t t_apow[16] = {1, 1, 2, 4, 8, 16, 32, 64, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i tbl(const uint8_t t[16])
{
	return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)t));
}

/* Segment 0..7 (low byte of each word) of a 15-bit magnitude. */
static inline __m256i segment(__m256i lin)
{
	__m256i lo = _mm256_and_si256(_mm256_srli_epi16(lin, 8), _mm256_set1_epi16(0x0f));
	__m256i hi = _mm256_srli_epi16(lin, 12);

	return _mm256_max_epu8(_mm256_shuffle_epi8(tbl(t_bitlen_lo), lo),
			       _mm256_shuffle_epi8(tbl(t_bitlen_hi), hi));
}

/* (seg << 4) | ((lin << (7 - s)) >> 10 & 15), mul_t giving 1 << (7 - s). */
static inline __m256i seg_mant(__m256i lin, __m256i seg, const uint8_t mul_t[16])
{
	__m256i mul = _mm256_shuffle_epi8(tbl(mul_t), _mm256_or_si256(seg, _mm256_set1_epi16(8)));
	__m256i mant = _mm256_and_si256(_mm256_srli_epi16(_mm256_mullo_epi16(lin, mul), 10),
					_mm256_set1_epi16(0x0f));

	return _mm256_or_si256(_mm256_slli_epi16(seg, 4), mant);
}

static inline __m256i ulaw_enc16(__m256i x)
{
	__m256i lin = _mm256_add_epi16(_mm256_abs_epi16(x), _mm256_set1_epi16(0x84));
	__m256i sgn = _mm256_and_si256(_mm256_srai_epi16(x, 15), _mm256_set1_epi16(0x80));

	lin = _mm256_min_epu16(lin, _mm256_set1_epi16(0x7fff));
	__m256i code = seg_mant(lin, segment(lin), t_mul_ulaw);
	/* x >= 0: ^ 0xff; x < 0: ^ 0x7f */
	return _mm256_xor_si256(code, _mm256_xor_si256(sgn, _mm256_set1_epi16(0xff)));
}

static inline __m256i alaw_enc16(__m256i x)
{
	__m256i neg = _mm256_srai_epi16(x, 15);
	__m256i lin = _mm256_xor_si256(x, neg); /* x < 0: -x - 1 */
	__m256i code = seg_mant(lin, segment(lin), t_mul_alaw);
	/* x >= 0: ^ 0xd5; x < 0: ^ 0x55 */
	return _mm256_xor_si256(code, _mm256_xor_si256(_mm256_and_si256(neg, _mm256_set1_epi16(0x80)),
						       _mm256_set1_epi16(0xd5)));
}

/* Words (codes in the low bytes) of in[0..15] and in[16..31] -> 32 bytes. */
static inline __m256i pack32(__m256i a, __m256i b)
{
	return _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xd8);
}

static inline void ulaw_enc32(const int16_t *in, uint8_t *out)
{
	__m256i a = ulaw_enc16(_mm256_loadu_si256((const __m256i *)(const void *)in));
	__m256i b = ulaw_enc16(_mm256_loadu_si256((const __m256i *)(const void *)(in + 16)));

	_mm256_storeu_si256((__m256i *)(void *)out, pack32(a, b));
}

static inline void alaw_enc32(const int16_t *in, uint8_t *out)
{
	__m256i a = alaw_enc16(_mm256_loadu_si256((const __m256i *)(const void *)in));
	__m256i b = alaw_enc16(_mm256_loadu_si256((const __m256i *)(const void *)(in + 16)));

	_mm256_storeu_si256((__m256i *)(void *)out, pack32(a, b));
}

/* 32 code bytes, qwords reordered so that unpack lo/hi give 0..15/16..31. */
static inline __m256i load_codes(const uint8_t *in)
{
	return _mm256_permute4x64_epi64(_mm256_loadu_si256((const __m256i *)(const void *)in), 0xd8);
}

static inline void store_pcm(int16_t *out, __m256i lo, __m256i hi)
{
	_mm256_storeu_si256((__m256i *)(void *)out, lo);
	_mm256_storeu_si256((__m256i *)(void *)(out + 16), hi);
}

static inline void ulaw_dec32(const uint8_t *in, int16_t *out)
{
	const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi8(1);
	const __m256i bias = _mm256_set1_epi16(0x84);
	__m256i u = _mm256_xor_si256(load_codes(in), _mm256_set1_epi8((char)0xff));
	__m256i mant = _mm256_and_si256(u, _mm256_set1_epi8(0x0f));
	__m256i seg = _mm256_and_si256(_mm256_srli_epi16(u, 4), _mm256_set1_epi8(0x07));
	__m256i base = _mm256_shuffle_epi8(tbl(t_ubase), mant);
	__m256i pow = _mm256_shuffle_epi8(tbl(t_pow), seg);

	__m256i lo = _mm256_mullo_epi16(_mm256_unpacklo_epi8(base, zero), _mm256_unpacklo_epi8(pow, zero));
	__m256i hi = _mm256_mullo_epi16(_mm256_unpackhi_epi8(base, zero), _mm256_unpackhi_epi8(pow, zero));
	/* the sign word (u << 8) | 1 is negative when u has bit 7, never 0 */
	lo = _mm256_sign_epi16(_mm256_sub_epi16(lo, bias), _mm256_unpacklo_epi8(one, u));
	hi = _mm256_sign_epi16(_mm256_sub_epi16(hi, bias), _mm256_unpackhi_epi8(one, u));
	store_pcm(out, lo, hi);
}

static inline void alaw_dec32(const uint8_t *in, int16_t *out)
{
	const __m256i one = _mm256_set1_epi8(1), zero = _mm256_setzero_si256();
	/* ^ 0x55 undoes the AMI bits, ^ 0x80 makes bit 7 mean "negative" */
	__m256i a = _mm256_xor_si256(load_codes(in), _mm256_set1_epi8((char)0xd5));
	__m256i mant = _mm256_and_si256(a, _mm256_set1_epi8(0x0f));
	__m256i seg = _mm256_and_si256(_mm256_srli_epi16(a, 4), _mm256_set1_epi8(0x07));
	__m256i base_lo = _mm256_shuffle_epi8(tbl(t_abase), mant);
	__m256i base_hi = _mm256_shuffle_epi8(tbl(t_aseg_hi), seg);
	__m256i pow = _mm256_shuffle_epi8(tbl(t_apow), seg);

	__m256i lo = _mm256_mullo_epi16(_mm256_unpacklo_epi8(base_lo, base_hi),
					_mm256_unpacklo_epi8(pow, zero));
	__m256i hi = _mm256_mullo_epi16(_mm256_unpackhi_epi8(base_lo, base_hi),
					_mm256_unpackhi_epi8(pow, zero));
	lo = _mm256_sign_epi16(lo, _mm256_unpacklo_epi8(one, a));
	hi = _mm256_sign_epi16(hi, _mm256_unpackhi_epi8(one, a));
	store_pcm(out, lo, hi);
}

/* The loops: whole steps, then the tail through a bounce buffer. */
#define ENC_LOOP(name, step32)                                                   \
	static void name(const int16_t *in, uint8_t *out, size_t n)              \
	{                                                                        \
		size_t i = 0;                                                    \
		for (; i + STEP <= n; i += STEP)                                 \
			step32(in + i, out + i);                                 \
		if (i < n) {                                                     \
			_Alignas(32) int16_t tin[STEP] = {0};                    \
			_Alignas(32) uint8_t tout[STEP];                         \
			memcpy(tin, in + i, (n - i) * sizeof(*in));              \
			step32(tin, tout);                                       \
			memcpy(out + i, tout, n - i);                            \
		}                                                                \
	}

#define DEC_LOOP(name, step32)                                                   \
	static void name(const uint8_t *in, int16_t *out, size_t n)              \
	{                                                                        \
		size_t i = 0;                                                    \
		for (; i + STEP <= n; i += STEP)                                 \
			step32(in + i, out + i);                                 \
		if (i < n) {                                                     \
			_Alignas(32) uint8_t tin[STEP] = {0};                    \
			_Alignas(32) int16_t tout[STEP];                         \
			memcpy(tin, in + i, n - i);                              \
			step32(tin, tout);                                       \
			memcpy(out + i, tout, (n - i) * sizeof(*out));           \
		}                                                                \
	}

ENC_LOOP(avx2_ulaw_encode, ulaw_enc32)
ENC_LOOP(avx2_alaw_encode, alaw_enc32)
DEC_LOOP(avx2_ulaw_decode, ulaw_dec32)
DEC_LOOP(avx2_alaw_decode, alaw_dec32)

const struct cdc_g711_ops cdc_g711_avx2_ops = {
	.ulaw_encode = avx2_ulaw_encode,
	.ulaw_decode = avx2_ulaw_decode,
	.alaw_encode = avx2_alaw_encode,
	.alaw_decode = avx2_alaw_decode,
};
