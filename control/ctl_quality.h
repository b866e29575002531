/* SPDX-License-Identifier: MIT
 * ctl_quality: an estimated MOS for a stream from what the dataplane
 * measures (loss, jitter, RTT), with the ITU-T G.107 E-model simplified as
 * G.107 Annex / common VoIP practice does (Cole & Rosenbluth 2001).
 */
#ifndef CTL_QUALITY_H
#define CTL_QUALITY_H

#include "cdc.h"

/* Estimated MOS (1.0-4.5) for codec c with loss_pct (0-100) of packets
 * lost, one-way delay_ms (RTT/2 plus jitter-buffer delay) and burstiness
 * ignored (random loss). Codec impairments (Ie, Bpl) per G.113 Appendix I:
 * G.711 0/25.1 (with PLC), G.722 13/... , Opus at VoIP rates ~ 11/20. */
double ctl_mos_estimate(enum cdc_codec c, double loss_pct, double delay_ms);

#endif
