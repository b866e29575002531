/* SPDX-License-Identifier: MIT
 * codecs/cdc_g711_isa.h: internal to codecs/. The per-ISA G.711 tables
 * that cdc_g711.c chooses from. Each lives in its own file built with its
 * own c_args (x86/cdc_g711_avx2.c: -mavx2; x86/cdc_g711_avx512.c:
 * -mavx512f -mavx512bw -mavx512vl); only call one after the dispatcher has
 * checked the CPU (cdc_g711_ops() returns it only then).
 */
#ifndef CDC_G711_ISA_H
#define CDC_G711_ISA_H

#include "cdc.h"

/* The portable reference (cdc_g711.c): bit-exact with SpanDSP's g711.h. */
extern const struct cdc_g711_ops cdc_g711_scalar_ops;
/* AVX2 (needs CPUID avx2). */
extern const struct cdc_g711_ops cdc_g711_avx2_ops;
/* AVX-512 (needs CPUID avx512f, avx512bw and avx512vl). */
extern const struct cdc_g711_ops cdc_g711_avx512_ops;

#endif
