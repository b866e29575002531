/* SPDX-License-Identifier: MIT
 * codecs/cdc_te.c: RFC 4733 telephone-event payloads (DTMF events 0-15)
 * and the sender state machine that turns one event into its packet
 * sequence. Pure functions on caller memory: nothing allocates, locks or
 * logs.
 *
 * Payload layout (network byte order):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     event     |E|R| volume    |          duration             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#include <errno.h>

#include "cdc.h"

#define TE_E_BIT 0x80u
#define TE_R_BIT 0x40u
#define TE_VOLUME_MASK 0x3fu
#define TE_DTMF_EVENTS 16u
#define TE_MAX_DURATION 0xffffu
#define TE_END_PACKETS 3u

static const char dtmf_digits[TE_DTMF_EVENTS] = {
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
};

/* Parse the first 4 bytes of a telephone-event payload into *out. The R
 * bit is ignored (RFC 4733: receivers ignore it). Returns 0; -EINVAL for a
 * NULL argument or fewer than 4 bytes; -ENOTSUP for an event outside 0-15.
 * *out is written only on success. */
int cdc_te_parse(const uint8_t *p, size_t len, struct cdc_te *out)
{
	if (!p || !out || len < 4)
		return -EINVAL;
	if (p[0] >= TE_DTMF_EVENTS)
		return -ENOTSUP;
	out->event = p[0];
	out->end = (p[1] & TE_E_BIT) != 0;
	out->volume = p[1] & TE_VOLUME_MASK;
	out->duration = (uint16_t)((unsigned)p[2] << 8 | p[3]);
	return 0;
}

/* Write te as 4 bytes in network byte order, R bit clear. A volume above
 * 63 is written as 63 (the lowest level the field can carry). */
void cdc_te_write(const struct cdc_te *te, uint8_t out[4])
{
	unsigned vol = te->volume > TE_VOLUME_MASK ? TE_VOLUME_MASK : te->volume;

	out[0] = te->event;
	out[1] = (uint8_t)((te->end ? TE_E_BIT : 0u) | vol);
	out[2] = (uint8_t)(te->duration >> 8);
	out[3] = (uint8_t)(te->duration & 0xffu);
}

/* The keypad character of a DTMF event: '0'-'9', '*', '#', 'A'-'D' for
 * 0-15; 0 for any other event. */
char cdc_dtmf_digit(uint8_t event)
{
	return event < TE_DTMF_EVENTS ? dtmf_digits[event] : 0;
}

/* The event number of a keypad character ('a'-'d' accepted too). Returns
 * 0-15, or -EINVAL for any other character. */
int cdc_dtmf_event(char digit)
{
	if (digit >= '0' && digit <= '9')
		return digit - '0';
	if (digit == '*')
		return 10;
	if (digit == '#')
		return 11;
	if (digit >= 'A' && digit <= 'D')
		return 12 + (digit - 'A');
	if (digit >= 'a' && digit <= 'd')
		return 12 + (digit - 'a');
	return -EINVAL;
}

/* Prepare s for one event of duration_ts RTP clock units, a continuation
 * every step_ts units, at volume (-dBm0; above 63 is sent as 63).
 * Decisions:
 *  - a duration above 0xffff is cut to 0xffff (RFC 4733 2.5.1.3 would
 *    split it into segments; nothing in medius sends events that long);
 *  - step_ts 0 means "no continuations": the first packet already carries
 *    the whole duration;
 *  - a zero-duration event still yields its first packet (duration 0,
 *    marker) and three end packets with duration 0.
 * The event number is sent as given (0-255). */
void cdc_te_sender_start(struct cdc_te_sender *s, uint8_t event, uint32_t duration_ts,
			 uint32_t step_ts, uint8_t volume)
{
	s->event = event;
	s->volume = volume > TE_VOLUME_MASK ? TE_VOLUME_MASK : volume;
	s->total = duration_ts > TE_MAX_DURATION ? TE_MAX_DURATION : duration_ts;
	s->step = step_ts ? step_ts : TE_MAX_DURATION;
	s->sent = 0;
	s->ends_left = TE_END_PACKETS;
	s->started = false;
}

/* The next packet of the event: returns 1 with *te and *marker written,
 * or 0 (nothing written) once the three end packets have been produced.
 * Sequence: first packet (marker, duration min(step, total)), then one
 * packet per call with the duration growing by step until it reaches the
 * total (the last of these carries exactly the total, without E), then
 * the total three times with E. Call it once per step for the first and
 * continuation packets; the end packets may be sent back to back or
 * spaced, at the caller's choice. */
int cdc_te_sender_next(struct cdc_te_sender *s, struct cdc_te *te, bool *marker)
{
	bool first = false, end = false;

	if (!s->started) {
		s->started = true;
		s->sent = s->step < s->total ? s->step : s->total;
		first = true;
	} else if (s->sent < s->total) {
		s->sent = s->total - s->sent <= s->step ? s->total : s->sent + s->step;
	} else if (s->ends_left > 0) {
		s->ends_left--;
		end = true;
	} else {
		return 0;
	}
	te->event = s->event;
	te->end = end;
	te->volume = s->volume;
	te->duration = (uint16_t)s->sent;
	*marker = first;
	return 1;
}
