/* SPDX-License-Identifier: MIT
 * codecs/x86/cdc_g711_avx512.c: G.711 with AVX-512 (F + BW + VL), 64
 * samples a step, tails with masked loads and stores. Built with
 * -mavx512f -mavx512bw -mavx512vl; cdc_g711.c hands it out only when
 * CPUID has all three. Bit-exact with the scalar reference in cdc_g711.c
 * (see there for the formulas); tests/unit/test_g711.c checks every input.
 *
 * Encode. The segment is 1 + the index of the top bit of the 8 high bits
 * of the (biased) magnitude, from two nibble lookups (vpshufb) and a max;
 * the mantissa is a 16-bit variable shift (vpsrlvw) by seg + 3 (A-law:
 * max(seg, 1) + 3). μ-law clamps the biased magnitude to 0x7fff, which
 * encodes exactly as SpanDSP's "seg >= 8" case.
 *
 * Decode. Codes widened to 16 bits (vpmovzxbw); the biased mantissa is
 * shifted left by the segment (vpsllvw) and masked negation applies the
 * sign.
 */
#include <immintrin.h>

#include "cdc.h"
#include "cdc_g711_isa.h"

/* bit length of the low / (4 + bit length of the) high nibble of hi8 */
static const uint8_t t_bitlen_lo[16] = {0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4};
static const uint8_t t_bitlen_hi[16] = {0, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8};

static inline __m512i tbl(const uint8_t t[16])
{
	return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)t));
}

static inline __mmask32 mask32(size_t n)
{
	return n >= 32 ? (__mmask32)~0u : (__mmask32)((1u << n) - 1u);
}

/* Segment 0..7 of a 15-bit magnitude. */
static inline __m512i segment(__m512i lin)
{
	__m512i lo = _mm512_and_si512(_mm512_srli_epi16(lin, 8), _mm512_set1_epi16(0x0f));
	__m512i hi = _mm512_srli_epi16(lin, 12);

	return _mm512_max_epu8(_mm512_shuffle_epi8(tbl(t_bitlen_lo), lo),
			       _mm512_shuffle_epi8(tbl(t_bitlen_hi), hi));
}

/* (seg << 4) | ((lin >> shift) & 15), in one vpternlog: A | (B & C) */
static inline __m512i seg_mant(__m512i seg, __m512i lin, __m512i shift)
{
	return _mm512_ternarylogic_epi32(_mm512_slli_epi16(seg, 4), _mm512_srlv_epi16(lin, shift),
					 _mm512_set1_epi16(0x0f), 0xf8);
}

static inline __m512i ulaw_enc32(__m512i x)
{
	__m512i lin = _mm512_add_epi16(_mm512_abs_epi16(x), _mm512_set1_epi16(0x84));

	lin = _mm512_min_epu16(lin, _mm512_set1_epi16(0x7fff));
	__m512i seg = segment(lin);
	__m512i code = seg_mant(seg, lin, _mm512_add_epi16(seg, _mm512_set1_epi16(3)));
	/* x >= 0: ^ 0xff; x < 0: ^ 0x7f: code ^ (x >> 15 & 0x80) ^ 0xff */
	__m512i sgn = _mm512_and_si512(_mm512_srai_epi16(x, 15), _mm512_set1_epi16(0x80));
	return _mm512_ternarylogic_epi32(code, sgn, _mm512_set1_epi16(0xff), 0x96);
}

static inline __m512i alaw_enc32(__m512i x)
{
	__m512i neg = _mm512_srai_epi16(x, 15);
	__m512i lin = _mm512_xor_si512(x, neg); /* x < 0: -x - 1 */
	__m512i seg = segment(lin);
	__m512i shift = _mm512_add_epi16(_mm512_max_epu16(seg, _mm512_set1_epi16(1)),
					 _mm512_set1_epi16(3));
	__m512i code = seg_mant(seg, lin, shift);
	/* x >= 0: ^ 0xd5; x < 0: ^ 0x55 */
	__m512i sgn = _mm512_and_si512(neg, _mm512_set1_epi16(0x80));
	return _mm512_ternarylogic_epi32(code, sgn, _mm512_set1_epi16(0xd5), 0x96);
}

static inline __m512i ulaw_dec32(__m256i codes)
{
	__m512i c = _mm512_cvtepu8_epi16(codes);
	/* u = ~c: base = ((u & 15) << 3) + 0x84 = (~(c << 3) & 0x78) | 0x84 */
	__m512i base = _mm512_ternarylogic_epi32(_mm512_slli_epi16(c, 3), _mm512_set1_epi16(0x78),
						 _mm512_set1_epi16(0x84), 0xae);
	__m512i seg = _mm512_andnot_si512(_mm512_srli_epi16(c, 4), _mm512_set1_epi16(7));
	__m512i mag = _mm512_sub_epi16(_mm512_sllv_epi16(base, seg), _mm512_set1_epi16(0x84));
	__mmask32 neg = _mm512_testn_epi16_mask(c, _mm512_set1_epi16(0x80));

	return _mm512_mask_sub_epi16(mag, neg, _mm512_setzero_si512(), mag);
}

static inline __m512i alaw_dec32(__m256i codes)
{
	/* ^ 0x55 undoes the AMI bits, ^ 0x80 makes bit 7 mean "negative" */
	__m512i a = _mm512_xor_si512(_mm512_cvtepu8_epi16(codes), _mm512_set1_epi16(0xd5));
	/* ((a & 15) << 4) | 8 */
	__m512i base = _mm512_ternarylogic_epi32(_mm512_slli_epi16(a, 4), _mm512_set1_epi16(0xf0),
						 _mm512_set1_epi16(0x08), 0xea);
	__m512i seg = _mm512_and_si512(_mm512_srli_epi16(a, 4), _mm512_set1_epi16(7));
	/* seg > 0: (base + 0x100) << (seg - 1); seg 0: base */
	base = _mm512_mask_add_epi16(base, _mm512_test_epi16_mask(seg, seg), base,
				     _mm512_set1_epi16(0x100));
	__m512i mag = _mm512_sllv_epi16(base, _mm512_subs_epu16(seg, _mm512_set1_epi16(1)));
	__mmask32 neg = _mm512_test_epi16_mask(a, _mm512_set1_epi16(0x80));

	return _mm512_mask_sub_epi16(mag, neg, _mm512_setzero_si512(), mag);
}

/* Bytes of two 32-word vectors (codes in the low bytes), in order. */
static inline __m512i pack64(__m512i a, __m512i b)
{
	return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7),
					_mm512_packus_epi16(a, b));
}

#define ENC_LOOP(name, enc32)                                                             \
	static void name(const int16_t *in, uint8_t *out, size_t n)                       \
	{                                                                                 \
		size_t i = 0;                                                             \
		for (; i + 64 <= n; i += 64) {                                            \
			__m512i a = enc32(_mm512_loadu_si512(in + i));                    \
			__m512i b = enc32(_mm512_loadu_si512(in + i + 32));               \
			_mm512_storeu_si512(out + i, pack64(a, b));                       \
		}                                                                         \
		for (; i < n; i += 32) {                                                  \
			__mmask32 k = mask32(n - i);                                      \
			__m512i a = enc32(_mm512_maskz_loadu_epi16(k, in + i));           \
			_mm512_mask_cvtepi16_storeu_epi8(out + i, k, a);                  \
		}                                                                         \
	}

#define DEC_LOOP(name, dec32)                                                             \
	static void name(const uint8_t *in, int16_t *out, size_t n)                       \
	{                                                                                 \
		size_t i = 0;                                                             \
		for (; i + 64 <= n; i += 64) {                                            \
			__m512i a = dec32(_mm256_loadu_si256((const void *)(in + i)));    \
			__m512i b = dec32(_mm256_loadu_si256((const void *)(in + i + 32))); \
			_mm512_storeu_si512(out + i, a);                                  \
			_mm512_storeu_si512(out + i + 32, b);                             \
		}                                                                         \
		for (; i < n; i += 32) {                                                  \
			__mmask32 k = mask32(n - i);                                      \
			__m512i a = dec32(_mm256_maskz_loadu_epi8(k, in + i));            \
			_mm512_mask_storeu_epi16(out + i, k, a);                          \
		}                                                                         \
	}

ENC_LOOP(avx512_ulaw_encode, ulaw_enc32)
ENC_LOOP(avx512_alaw_encode, alaw_enc32)
DEC_LOOP(avx512_ulaw_decode, ulaw_dec32)
DEC_LOOP(avx512_alaw_decode, alaw_dec32)

const struct cdc_g711_ops cdc_g711_avx512_ops = {
	.ulaw_encode = avx512_ulaw_encode,
	.ulaw_decode = avx512_ulaw_decode,
	.alaw_encode = avx512_alaw_encode,
	.alaw_decode = avx512_alaw_decode,
};
