/* SPDX-License-Identifier: MIT
 * mx_mix: the mix kernels' dispatch and the limiter (see mx.h).
 *
 * The kernels follow codecs/' ISA choice (cdc_isa_active: the widest the
 * CPU has, capped by MEDIUS_ISA), so one switch rules every SIMD kernel.
 *
 * The limiter works on whole frames: the frame's peak (after the
 * listener's own voice is taken out) sets the gain that brings it to
 * MX_LIMIT_THRESHOLD; a lower gain applies at once, to the whole frame,
 * so no sample is clipped; a higher one is reached slowly (the release:
 * from silence-level gain back to unity in MX_LIMIT_RELEASE_MS), so the
 * level does not pump. The audio keeps its waveform: it is scaled, never
 * clipped or folded.
 */
#include "mx_mix_isa.h"

#include <stddef.h>

const struct mx_mix_ops *mx_mix_ops(enum cdc_isa isa)
{
	if (!cdc_isa_supported(isa))
		return NULL;
	switch (isa) {
	case CDC_ISA_SCALAR: return &mx_mix_scalar_ops;
	case CDC_ISA_AVX2: return &mx_mix_avx2_ops;
	case CDC_ISA_AVX512: return &mx_mix_avx512_ops;
	}
	return NULL;
}

const struct mx_mix_ops *mx_mix_active(void)
{
	const struct mx_mix_ops *o = mx_mix_ops(cdc_isa_active());

	return o ? o : &mx_mix_scalar_ops;
}

void mx_limiter_init(struct mx_limiter *l, unsigned frame_ms)
{
	l->gain = MX_GAIN_UNITY;
	l->release = (int32_t)(MX_GAIN_UNITY * frame_ms / MX_LIMIT_RELEASE_MS);
	if (l->release < 1)
		l->release = 1;
}

void mx_mix_out(const struct mx_mix_ops *ops, struct mx_limiter *l, int16_t *out, const int32_t *acc,
		const int32_t *c, size_t n)
{
	uint32_t peak;
	int32_t target;

	if (!l) {
		ops->out_sat(out, acc, c, n);
		return;
	}
	peak = ops->peak(acc, c, n);
	if (peak > MX_MIX_CLAMP)
		peak = MX_MIX_CLAMP;
	target = peak > MX_LIMIT_THRESHOLD ? (int32_t)(((int64_t)MX_LIMIT_THRESHOLD << MX_GAIN_SHIFT) / peak)
					   : MX_GAIN_UNITY;
	if (target < l->gain)
		l->gain = target; /* attack: at once */
	else if (l->gain < target)
		l->gain = l->gain + l->release < target ? l->gain + l->release : target;
	if (l->gain >= MX_GAIN_UNITY)
		ops->out_sat(out, acc, c, n); /* the peak is under the threshold */
	else
		ops->out_gain(out, acc, c, l->gain, n);
}
