/* libFuzzer target: transcode chains. The first bytes pick the two codecs,
 * the ptime and the DTMF mode; the rest is a sequence of packets:
 * [kind][ts step hi][ts step lo][len][payload...], kind choosing audio,
 * telephone-event, CN or a stray payload type. A kind with bits 0x3c all
 * set first changes the DTMF mask: mode from the step's bits 12-13 (3 is
 * invalid and must be refused), TONE's frequency from its low 12 bits. The
 * chain must never crash, emit more than CDC_CHAIN_MAX_OUT packets or an
 * oversized payload.
 *
 * Opus encodes at complexity 0 here (the default complexity, set once in
 * LLVMFuzzerInitialize; the chain takes the same path as with any default):
 * libopus is not instrumented, so its effort adds no coverage, and at the
 * production default (5) encoding was 85% of an input's instructions. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cdc.h"

static const char *const maps[] = { "PCMU/8000", "PCMA/8000", "G722/8000", "opus/48000/2", "L16/8000" };
static const unsigned ptimes[] = { 10, 20, 30, 40, 60 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (cdc_opus_set_default_complexity(0))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cdc_pkt out[CDC_CHAIN_MAX_OUT];
	struct cdc_chain_conf c = { .in_pt = 96, .out_pt = 97, .in_te_pt = 101, .out_te_pt = -1,
				    .in_cn_pt = 13, .out_cn_pt = 13, .resample_quality = 0 };
	struct cdc_chain *ch;
	uint32_t ts = 1000;
	size_t off = 3;

	if (size < 3)
		return 0;
	cdc_format_parse(maps[data[0] % 5], NULL, &c.in);
	cdc_format_parse(maps[(data[0] / 5) % 5], NULL, &c.out);
	c.out_ptime = ptimes[data[1] % 5];
	switch (data[2] % 3) {
	case 0: c.dtmf = CDC_DTMF_TO_INBAND; break;
	case 1: c.dtmf = CDC_DTMF_PASS; c.out_te_pt = 100; break;
	default: c.dtmf = CDC_DTMF_FROM_INBAND; c.in_te_pt = -1; c.out_te_pt = 100; break;
	}
	ch = cdc_chain_create(&c);
	if (!ch)
		return 0; /* e.g. L16 payloads too large for the ptime */
	while (off + 4 <= size) {
		uint8_t kind = data[off];
		uint32_t step = (uint32_t)data[off + 1] << 8 | data[off + 2];
		size_t len = data[off + 3];
		uint8_t pt = kind % 4 == 0 ? 101 : kind % 4 == 1 ? 13 : kind % 4 == 2 ? 55 : 96;
		int n;

		off += 4;
		if ((kind & 0x3c) == 0x3c) {
			unsigned mode = (step >> 12) & 3, freq = step & 0xfff;
			int rc = cdc_chain_set_dtmf_mask(ch, (enum cdc_dtmf_mask)mode, freq);
			bool bad = mode == 3 || (mode == CDC_DTMF_MASK_TONE && freq && (freq < 100 || freq > 4000));

			if (rc != (bad ? -EINVAL : 0))
				__builtin_trap();
		}
		if (len > size - off)
			len = size - off;
		ts += (kind & 0x80) ? (uint32_t)-(int32_t)step : step;
		n = cdc_chain_push(ch, pt, ts, kind & 0x40, data + off, len, out);
		if (n < 0 || n > CDC_CHAIN_MAX_OUT)
			__builtin_trap();
		for (int i = 0; i < n; i++)
			if (out[i].len > CDC_PKT_MAX)
				__builtin_trap();
		off += len;
	}
	cdc_chain_destroy(ch);
	return 0;
}
