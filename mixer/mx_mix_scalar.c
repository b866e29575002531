/* SPDX-License-Identifier: MIT
 * mx_mix_scalar: the mix kernels' portable reference (see mx.h). Built
 * with -fno-tree-vectorize: the SIMD variants are measured against plain
 * scalar code, and must match it bit for bit.
 */
#include "mx_mix_isa.h"

static inline int16_t sat16(int32_t v)
{
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

void mx_mix_scalar_add(int32_t *acc, int32_t *c, const int16_t *pcm, int32_t gain, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v = (pcm[i] * gain) >> MX_GAIN_SHIFT;

		if (c)
			c[i] = v;
		acc[i] += v;
	}
}

void mx_mix_scalar_out_sat(int16_t *out, const int32_t *acc, const int32_t *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sat16(acc[i] - (c ? c[i] : 0));
}

uint32_t mx_mix_scalar_peak(const int32_t *acc, const int32_t *c, size_t n)
{
	uint32_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int32_t v = acc[i] - (c ? c[i] : 0);
		uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

		if (a > m)
			m = a;
	}
	return m;
}

void mx_mix_scalar_out_gain(int16_t *out, const int32_t *acc, const int32_t *c, int32_t gain, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v = acc[i] - (c ? c[i] : 0);

		v = v > MX_MIX_CLAMP ? MX_MIX_CLAMP : v < -MX_MIX_CLAMP ? -MX_MIX_CLAMP : v;
		out[i] = sat16((v * gain) >> MX_GAIN_SHIFT);
	}
}

const struct mx_mix_ops mx_mix_scalar_ops = {
	.add = mx_mix_scalar_add,
	.out_sat = mx_mix_scalar_out_sat,
	.peak = mx_mix_scalar_peak,
	.out_gain = mx_mix_scalar_out_gain,
};
