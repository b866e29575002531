/* libFuzzer target: RFC 4733 telephone-event payloads (codecs/cdc_te.c).
 * Any input must parse or fail with the documented error, and whatever
 * parses must write back to the same 4 bytes but for the R bit (which
 * receivers ignore and cdc_te_write always clears). The first bytes also
 * drive a sender, whose sequence must keep RFC 4733's shape. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cdc.h"

static void check_parse(const uint8_t *data, size_t size)
{
	const struct cdc_te sentinel = {.event = 0xee, .end = true, .volume = 0x77,
					.duration = 0xbeef};
	struct cdc_te te = sentinel, again;
	uint8_t out[4];
	int rc = cdc_te_parse(data, size, &te);

	if (rc == -EINVAL || rc == -ENOTSUP) {
		if ((rc == -EINVAL) != (size < 4) || (rc == -ENOTSUP && data[0] < 16))
			__builtin_trap();
		if (te.event != sentinel.event || te.end != sentinel.end ||
		    te.volume != sentinel.volume || te.duration != sentinel.duration)
			__builtin_trap(); /* written on failure */
		return;
	}
	if (rc != 0 || size < 4 || data[0] >= 16 || te.volume > 63)
		__builtin_trap();
	cdc_te_write(&te, out);
	if (out[0] != data[0] || out[1] != (data[1] & 0xbf) || out[2] != data[2] ||
	    out[3] != data[3])
		__builtin_trap();
	if (cdc_te_parse(out, 4, &again) || again.event != te.event || again.end != te.end ||
	    again.volume != te.volume || again.duration != te.duration)
		__builtin_trap();
	if (cdc_dtmf_event(cdc_dtmf_digit(te.event)) != te.event)
		__builtin_trap();
}

/* bytes 0-3 duration, 4-7 step (bounded so one input stays cheap), 8 event,
 * 9 volume */
static void check_sender(const uint8_t *data, size_t size)
{
	struct cdc_te_sender s;
	struct cdc_te te;
	uint32_t dur, step, total, prev = 0;
	unsigned n = 0, ends = 0;
	bool marker;

	if (size < 10)
		return;
	dur = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	step = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
	total = dur > 0xffff ? 0xffff : dur;
	if (step && step < total / 512 + 1)
		step = total / 512 + 1;
	cdc_te_sender_start(&s, data[8], dur, step, data[9]);
	while (cdc_te_sender_next(&s, &te, &marker) == 1) {
		if (++n > 600 || marker != (n == 1) || te.event != data[8] ||
		    te.volume != (data[9] > 63 ? 63 : data[9]) || te.duration > total ||
		    te.duration < prev)
			__builtin_trap();
		if (te.end) {
			if (te.duration != total)
				__builtin_trap();
			ends++;
		} else if (ends) {
			__builtin_trap(); /* a continuation after an end */
		} else if (n > 1 && step && te.duration - prev != step && te.duration != total) {
			__builtin_trap();
		}
		if (n == 1 && te.duration != (step && step < total ? step : total))
			__builtin_trap();
		prev = te.duration;
	}
	if (ends != 3)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_sender(data, size);
	return 0;
}
