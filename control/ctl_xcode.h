/* SPDX-License-Identifier: MIT
 * ctl_xcode: a codecs/ transcode chain as a dataplane media hook. The
 * control plane builds one per direction of a transcoded stream and hangs it
 * on the receiving leg; the leg's worker then runs it for every packet. This
 * is the small case of the media workers (docs/architecture.md): on a
 * 2-core machine the one worker lcore does both roles.
 */
#ifndef CTL_XCODE_H
#define CTL_XCODE_H

#include "cdc.h"
#include "dp.h"

struct ctl_xcode;

/* A chain for conf; NULL when codecs/ cannot build it. */
struct ctl_xcode *ctl_xcode_create(const struct cdc_chain_conf *conf);
/* Free; accepts NULL. Detach it from its leg first (dp_leg_set_hook). */
void ctl_xcode_destroy(struct ctl_xcode *x);
/* The dp_media_hook_fn: ctx is a struct ctl_xcode. */
int ctl_xcode_hook(void *ctx, uint8_t pt, uint32_t ts, bool marker, const uint8_t *payload, uint16_t len,
		   struct dp_pkt_out *out, int max);
/* DTMF-security silence/tone on the chain (cdc_chain_set_dtmf_mask). */
int ctl_xcode_set_dtmf_mask(struct ctl_xcode *x, enum cdc_dtmf_mask mode, unsigned freq_hz);
/* The chain's counters. */
void ctl_xcode_stats(const struct ctl_xcode *x, struct cdc_chain_stats *st);
/* ng play DTMF on a transcoded stream: the chain's output towards the
 * receiving party carries event (0-15) for duration_ms (10-5000) at volume
 * (-dBm0), as RFC 4733 packets when that side has telephone-event, as
 * in-band tones otherwise (cdc_chain_play_dtmf). Control thread only, safe
 * while the worker runs the hook. Returns 0, -EBUSY while an earlier event
 * is still playing, or -EINVAL. */
int ctl_xcode_play_dtmf(struct ctl_xcode *x, uint8_t event, uint32_t duration_ms, uint8_t volume);

#endif
