/* SPDX-License-Identifier: MIT
 * codecs/cdc_g711.c: ITU-T G.711 μ-law and A-law, the scalar reference,
 * and the run-time choice between it and the per-ISA variants
 * (x86/cdc_g711_avx2.c, x86/cdc_g711_avx512.c).
 *
 * The reference follows SpanDSP's <spandsp/g711.h> step by step (same
 * bias, segment search and rounding), so every int16 input and every code
 * gives SpanDSP's answer; tests/unit/test_g711.c checks all of them.
 *
 * The variant in force is a pointer to a const ops table. It starts as the
 * scalar one (so a call made before any constructor is still right), a
 * constructor replaces it with the best variant the CPU has (capped by
 * MEDIUS_ISA=scalar|avx2|avx512), and cdc_isa_select() may change it later.
 * The pointer is atomic, so any thread may call at any time.
 */
#include <stdatomic.h>
#include <strings.h>
#include <stdlib.h>

#include "cdc.h"
#include "cdc_g711_isa.h"

/* ------------------------------------------------------------------ */
/* Scalar reference                                                     */

#define ULAW_BIAS 0x84     /* SpanDSP G711_ULAW_BIAS */
#define ALAW_AMI_MASK 0x55 /* SpanDSP G711_ALAW_AMI_MASK */

/* Index of the highest set bit; v != 0. */
static inline int top_bit(unsigned v)
{
	return 31 - __builtin_clz(v);
}

static inline uint8_t ulaw_enc1(int linear)
{
	int mask, seg;

	if (linear >= 0) {
		linear = ULAW_BIAS + linear;
		mask = 0xFF;
	} else {
		linear = ULAW_BIAS - linear;
		mask = 0x7F;
	}
	seg = top_bit((unsigned)linear | 0xFF) - 7;
	if (seg >= 8) /* past the top of segment 7: the largest code */
		return (uint8_t)(0x7F ^ mask);
	return (uint8_t)(((seg << 4) | ((linear >> (seg + 3)) & 0x0F)) ^ mask);
}

static inline int16_t ulaw_dec1(uint8_t code)
{
	unsigned u = (uint8_t)~code;
	int t = (int)(((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);

	return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

static inline uint8_t alaw_enc1(int linear)
{
	int mask, seg;

	if (linear >= 0) {
		mask = ALAW_AMI_MASK | 0x80;
	} else {
		mask = ALAW_AMI_MASK;
		linear = -linear - 1;
	}
	seg = top_bit((unsigned)linear | 0xFF) - 7;
	if (seg >= 8) /* not reachable from int16, kept as SpanDSP has it */
		return (uint8_t)(0x7F ^ mask);
	return (uint8_t)(((seg << 4) | ((linear >> (seg ? seg + 3 : 4)) & 0x0F)) ^ mask);
}

static inline int16_t alaw_dec1(uint8_t code)
{
	unsigned a = code ^ ALAW_AMI_MASK;
	int i = (int)((a & 0x0F) << 4);
	int seg = (int)((a & 0x70) >> 4);

	if (seg)
		i = (i + 0x108) << (seg - 1);
	else
		i += 8;
	return (int16_t)((a & 0x80) ? i : -i);
}

static void scalar_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_enc1(in[i]);
}

static void scalar_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_dec1(in[i]);
}

static void scalar_alaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alaw_enc1(in[i]);
}

static void scalar_alaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alaw_dec1(in[i]);
}

const struct cdc_g711_ops cdc_g711_scalar_ops = {
	.ulaw_encode = scalar_ulaw_encode,
	.ulaw_decode = scalar_ulaw_decode,
	.alaw_encode = scalar_alaw_encode,
	.alaw_decode = scalar_alaw_decode,
};

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */

static _Atomic(const struct cdc_g711_ops *) g_ops = &cdc_g711_scalar_ops;

/* Does this CPU (and OS: libgcc checks XCR0) have the variant? */
bool cdc_isa_supported(enum cdc_isa isa)
{
	__builtin_cpu_init(); /* needed before libgcc's own constructor ran */
	switch (isa) {
	case CDC_ISA_SCALAR:
		return true;
	case CDC_ISA_AVX2:
		return __builtin_cpu_supports("avx2");
	case CDC_ISA_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl");
	}
	return false;
}

/* A given variant's table, or NULL when the CPU lacks it or isa is bad. */
const struct cdc_g711_ops *cdc_g711_ops(enum cdc_isa isa)
{
	if (!cdc_isa_supported(isa))
		return NULL;
	switch (isa) {
	case CDC_ISA_SCALAR:
		return &cdc_g711_scalar_ops;
	case CDC_ISA_AVX2:
		return &cdc_g711_avx2_ops;
	case CDC_ISA_AVX512:
		return &cdc_g711_avx512_ops;
	}
	return NULL;
}

/* Install the best variant <= max; values above AVX512 mean AVX512. */
enum cdc_isa cdc_isa_select(enum cdc_isa max)
{
	unsigned m = (unsigned)max;

	if (m > CDC_ISA_AVX512)
		m = CDC_ISA_AVX512;
	for (int isa = (int)m; isa >= CDC_ISA_SCALAR; isa--) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops) {
			atomic_store_explicit(&g_ops, ops, memory_order_release);
			return (enum cdc_isa)isa;
		}
	}
	return CDC_ISA_SCALAR; /* not reached: scalar always exists */
}

enum cdc_isa cdc_isa_active(void)
{
	const struct cdc_g711_ops *ops = atomic_load_explicit(&g_ops, memory_order_acquire);

	if (ops == &cdc_g711_avx512_ops)
		return CDC_ISA_AVX512;
	if (ops == &cdc_g711_avx2_ops)
		return CDC_ISA_AVX2;
	return CDC_ISA_SCALAR;
}

const char *cdc_isa_name(enum cdc_isa isa)
{
	switch (isa) {
	case CDC_ISA_SCALAR:
		return "scalar";
	case CDC_ISA_AVX2:
		return "avx2";
	case CDC_ISA_AVX512:
		return "avx512";
	}
	return "unknown";
}

/* The cap from MEDIUS_ISA; unset or unknown values cap nothing. */
static enum cdc_isa env_cap(void)
{
	const char *s = getenv("MEDIUS_ISA");

	if (s) {
		for (int isa = CDC_ISA_SCALAR; isa <= CDC_ISA_AVX512; isa++)
			if (strcasecmp(s, cdc_isa_name((enum cdc_isa)isa)) == 0)
				return (enum cdc_isa)isa;
	}
	return CDC_ISA_AVX512;
}

__attribute__((constructor)) static void g711_init(void)
{
	cdc_isa_select(env_cap());
}

static inline const struct cdc_g711_ops *ops_now(void)
{
	/* relaxed would do on x86; acquire pairs with the release above */
	return atomic_load_explicit(&g_ops, memory_order_acquire);
}

void cdc_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	ops_now()->ulaw_encode(in, out, n);
}

void cdc_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	ops_now()->ulaw_decode(in, out, n);
}

void cdc_alaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	ops_now()->alaw_encode(in, out, n);
}

void cdc_alaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	ops_now()->alaw_decode(in, out, n);
}
