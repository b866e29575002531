/* SPDX-License-Identifier: MIT
 * mixer/mx_mix_isa.h: internal to mixer/. The per-ISA mix kernel tables
 * mx_mix.c chooses from. Each lives in its own file built with its own
 * c_args (mx_mix_scalar.c: -fno-tree-vectorize, so it stays the honest
 * reference; x86/mx_mix_avx2.c: -mavx2; x86/mx_mix_avx512.c: -mavx512f
 * -mavx512bw -mavx512vl); only use one once cdc_isa_supported said yes.
 */
#ifndef MX_MIX_ISA_H
#define MX_MIX_ISA_H

#include "mx.h"

extern const struct mx_mix_ops mx_mix_scalar_ops;
extern const struct mx_mix_ops mx_mix_avx2_ops;
extern const struct mx_mix_ops mx_mix_avx512_ops;

/* The scalar kernels, for the SIMD files' tails. */
void mx_mix_scalar_add(int32_t *acc, int32_t *c, const int16_t *pcm, int32_t gain, size_t n);
void mx_mix_scalar_out_sat(int16_t *out, const int32_t *acc, const int32_t *c, size_t n);
uint32_t mx_mix_scalar_peak(const int32_t *acc, const int32_t *c, size_t n);
void mx_mix_scalar_out_gain(int16_t *out, const int32_t *acc, const int32_t *c, int32_t gain, size_t n);

#endif
