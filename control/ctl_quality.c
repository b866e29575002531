/* SPDX-License-Identifier: MIT
 * ctl_quality: E-model MOS estimate (see ctl_quality.h). */
#include "ctl_quality.h"

double ctl_mos_estimate(enum cdc_codec c, double loss_pct, double delay_ms)
{
	/* equipment impairment Ie and packet-loss robustness Bpl (G.113 I) */
	double ie, bpl, id, ie_eff, r, mos;

	switch (c) {
	case CDC_PCMU:
	case CDC_PCMA: ie = 0; bpl = 25.1; break;
	case CDC_G722: ie = 13; bpl = 20; break; /* wideband codecs on the narrowband scale: conservative */
	case CDC_OPUS: ie = 11; bpl = 20; break;
	default: ie = 0; bpl = 25.1; break;
	}
	if (loss_pct < 0)
		loss_pct = 0;
	if (loss_pct > 100)
		loss_pct = 100;
	if (delay_ms < 0)
		delay_ms = 0;
	/* delay impairment (Cole & Rosenbluth): 0.024 d + 0.11 (d - 177.3) H(d - 177.3) */
	id = 0.024 * delay_ms + (delay_ms > 177.3 ? 0.11 * (delay_ms - 177.3) : 0);
	ie_eff = ie + (95 - ie) * loss_pct / (loss_pct + bpl);
	r = 93.2 - id - ie_eff;
	if (r <= 0)
		return 1.0;
	if (r >= 100)
		return 4.5;
	mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
	return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}
