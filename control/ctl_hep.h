/* SPDX-License-Identifier: MIT
 * ctl_hep: HEPv3 (Homer Encapsulation Protocol) export, as rtpengine's
 * --homer does. A message is the "HEP3" header (the magic and the total
 * length, big-endian) and chunks of (vendor 0, type, length incl. the
 * 6-byte chunk header, value): IP family, IP protocol (UDP), source and
 * destination address and port, time (s, us), protocol type, capture
 * agent id, correlation id (the call-id) and the payload. medius sends
 * JSON payloads: RTCP reports (protocol type 5, the RTCP JSON Homer
 * shows) and its own per-stream quality (type 34, a JSON quality
 * report). Everything here runs on the control lcore; it never blocks (a
 * send that would block is dropped and counted).
 */
#ifndef CTL_HEP_H
#define CTL_HEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CTL_HEP_PROTO_RTCP_JSON 5
#define CTL_HEP_PROTO_QOS_JSON 34

struct ctl_hep_msg {
	const struct sockaddr *src, *dst; /* both AF_INET or both AF_INET6 */
	uint64_t time_us;                 /* wall clock, microseconds since 1970 */
	uint8_t proto_type;               /* CTL_HEP_PROTO_* */
	uint32_t capture_id;
	const char *correlation;          /* the call-id; NULL: none */
	const void *payload;
	size_t len;
};

/* Encode m into buf[cap]. Returns the message's length, or -EINVAL
 * (address families), -EMSGSIZE (does not fit, or over 65535 bytes). */
ssize_t ctl_hep_encode(const struct ctl_hep_msg *m, uint8_t *buf, size_t cap);

struct ctl_hep;
/* A sender to address ("host:port", "[v6]:port") over protocol "udp" or
 * "tcp" (non-blocking; TCP connects in the background and reconnects
 * after a failure, at most every 5 s). NULL with err set on a bad address
 * or no socket. */
struct ctl_hep *ctl_hep_create(const char *address, const char *protocol, uint32_t capture_id, char *err,
			       size_t errlen);
void ctl_hep_destroy(struct ctl_hep *h);
uint32_t ctl_hep_capture_id(const struct ctl_hep *h);
/* Encode and send m (its capture_id is the sender's). Returns 0, or
 * -errno when the message was dropped (counted). */
int ctl_hep_send(struct ctl_hep *h, struct ctl_hep_msg *m);
struct ctl_hep_stats {
	uint64_t sent, dropped;
};
void ctl_hep_get_stats(const struct ctl_hep *h, struct ctl_hep_stats *out);

/* The export of calls' RTCP and quality (ctl_call_hep.c): each stream
 * leg whose peer sent a new RTCP SR/RR since the last tick gets a
 * type-5 message with that report, and every quality_s (0: never) each
 * stream leg with media gets a type-34 message with what medius measured
 * (packets, loss, jitter, RTT, MOS). Both carry the call-id as the
 * correlation id. From the 1 s timer; reads the workers' statistics
 * snapshots (dp_leg_get_stats), never touches the packet path. */
struct ctl_calls;
void ctl_calls_hep_tick(struct ctl_calls *c, struct ctl_hep *h, uint32_t quality_s, uint64_t now_ms);

#endif
