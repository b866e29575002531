/* SPDX-License-Identifier: MIT
 * ctl_xcode: transcode chains behind the dataplane's media hook. */
#include "ctl_xcode.h"

#include <errno.h>
#include <stdlib.h>

struct ctl_xcode {
	struct cdc_chain *ch;
	struct cdc_pkt pk[CDC_CHAIN_MAX_OUT];
};

struct ctl_xcode *ctl_xcode_create(const struct cdc_chain_conf *conf)
{
	struct ctl_xcode *x = calloc(1, sizeof(*x));

	if (x && !(x->ch = cdc_chain_create(conf))) {
		free(x);
		return NULL;
	}
	return x;
}

void ctl_xcode_destroy(struct ctl_xcode *x)
{
	if (!x)
		return;
	cdc_chain_destroy(x->ch);
	free(x);
}

int ctl_xcode_hook(void *ctx, uint8_t pt, uint32_t ts, bool marker, const uint8_t *payload, uint16_t len,
		   struct dp_pkt_out *out, int max)
{
	struct ctl_xcode *x = ctx;
	int n = cdc_chain_push(x->ch, pt, ts, marker, payload, len, x->pk);

	if (n > max)
		n = max;
	for (int i = 0; i < n; i++) {
		out[i].pt = x->pk[i].pt;
		out[i].marker = x->pk[i].marker;
		out[i].ts = x->pk[i].ts;
		out[i].len = x->pk[i].len;
		out[i].payload = x->pk[i].payload;
	}
	return n;
}

void ctl_xcode_stats(const struct ctl_xcode *x, struct cdc_chain_stats *st) { cdc_chain_get_stats(x->ch, st); }

int ctl_xcode_play_dtmf(struct ctl_xcode *x, uint8_t event, uint32_t duration_ms, uint8_t volume)
{
	return x ? cdc_chain_play_dtmf(x->ch, event, duration_ms, volume) : -EINVAL;
}

int ctl_xcode_set_dtmf_mask(struct ctl_xcode *x, enum cdc_dtmf_mask mode, unsigned freq_hz)
{
	return cdc_chain_set_dtmf_mask(x->ch, mode, freq_hz);
}
