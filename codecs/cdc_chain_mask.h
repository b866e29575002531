/* SPDX-License-Identifier: MIT
 * Internal to codecs/: a chain's in-band DTMF mask (cdc_chain_set_dtmf_mask),
 * kept apart from cdc_chain.c. Not for other folders.
 *
 * The mask is a look-ahead delay line on the chain's decoded audio (at the
 * decoder's rate and channel count). Every sample written into it is fed at
 * once to a SpanDSP DTMF detector (through an 8 kHz resampler); a sample
 * leaves the line CDC_DTMF_MASK_DELAY_MS later, by which time the detector
 * has reported any digit it belongs to, so the intervals the detector found
 * can be replaced (by silence or a sine) from their first sample as they
 * leave. The pusher owns everything but `req`, the control thread's word.
 */
#ifndef CDC_CHAIN_MASK_H
#define CDC_CHAIN_MASK_H

#include <stdatomic.h>

#include "cdc.h"

#define CDC_MASK_IVALS 8 /* masked intervals still (partly) in the line */

struct cdc_mask {
	_Atomic uint32_t req; /* the requested setting, packed (control thread, release) */
	uint32_t cur;         /* the packed setting in force (pusher) */
	enum cdc_dtmf_mask mode;

	uint32_t rate;        /* the line's sample rate (the chain's decoder rate) */
	unsigned ch;          /* its channels */
	uint32_t delay;       /* CDC_DTMF_MASK_DELAY_MS in samples per channel */
	uint32_t lead, hang, ramp; /* see cdc_chain_mask.c, in samples */
	int16_t *line;        /* the delay line, interleaved; line[0] is sample `pos` */
	size_t cap, len;      /* in samples per channel */
	uint64_t pos;         /* index of line[0] since masking was last turned on */

	struct cdc_resampler *rs; /* rate -> 8 kHz mono, for the detector */
	struct cdc_dtmf_det *det;
	int16_t *mono, *det_buf;
	size_t det_cap;
	uint64_t det_fed;     /* 8 kHz samples fed to det since create */
	uint64_t det_origin;  /* det_fed when line sample 0 was fed */

	struct { uint64_t from, to; } iv[CDC_MASK_IVALS]; /* [from, to) in line samples; to may be open */
	unsigned niv;

	double amp;           /* the replacement's peak: 0 for silence */
	double oc, os, ocw, osw; /* its oscillator (cos, sin of the phase; the step) */

	uint64_t masked;      /* samples per channel replaced, ever */
	uint64_t digits;      /* digits the detector found while masking */
};

/* Size everything for a chain decoding at rate with channels (1 or 2).
 * Returns 0 or -ENOMEM (then cdc_mask_fini cleans up). */
int cdc_mask_init(struct cdc_mask *m, uint32_t rate, unsigned channels);
/* Free what _init took; accepts a zeroed or half-initialised mask. */
void cdc_mask_fini(struct cdc_mask *m);
/* Control thread: request a setting (validated by the caller). */
void cdc_mask_request(struct cdc_mask *m, enum cdc_dtmf_mask mode, unsigned freq_hz);

/* Pusher, at the start of a push: adopt the latest request. Returns +1 when
 * masking just went on (the line now holds CDC_DTMF_MASK_DELAY_MS of
 * silence), -1 when it just went off (the caller flushes the line with
 * cdc_mask_flush, then empties it with cdc_mask_consume), 0 otherwise (a
 * change between silence and tone, or of frequency, takes effect here). */
int cdc_mask_take(struct cdc_mask *m);
static inline bool cdc_mask_on(const struct cdc_mask *m) { return m->mode != CDC_DTMF_MASK_OFF; }
/* How many samples per channel cdc_mask_write takes at most right now. */
static inline size_t cdc_mask_room(const struct cdc_mask *m) { return m->cap - m->len; }
/* Append n (<= room) samples per channel, run the detector over them, and
 * replace what is masked among the samples now due out. Returns how many
 * are due: they are at m->line, to be taken and then consumed. */
size_t cdc_mask_write(struct cdc_mask *m, const int16_t *pcm, size_t n);
/* Replace what is masked in the whole line and return its length: the
 * line's content is all due (masking went off). */
size_t cdc_mask_flush(struct cdc_mask *m);
/* Drop the first n samples per channel of the line (they were taken). */
void cdc_mask_consume(struct cdc_mask *m, size_t n);

#endif
