/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp: SRTP and SRTCP (RFC 3711, RFC 7714) with SDES keys
 * (RFC 4568, struct dp_sdes), behind a burst API. Part of the door through
 * dp_media.h.
 *
 * A struct dp_srtp is one direction (protect or unprotect) of one master
 * key, valid for any SSRC: every SSRC seen gets its own ROC, replay window
 * and SRTCP index, derived from the same master key. The crypto engine under
 * it is private to dp_srtp.c (today libsrtp2; later a batched multi-buffer
 * engine), so nothing here names an engine type.
 *
 * Threads: the library is initialised once on first use (thread-safe). A
 * struct dp_srtp belongs to one lcore at a time; different streams may be
 * used concurrently on different lcores.
 *
 * Buffers: packets are processed in place. A packet should start on a
 * 4-byte boundary (mbuf data does). Protect appends a trailer (tag, and for
 * SRTCP the E flag + index); the caller says how much room each buffer has.
 */
#ifndef DP_SRTP_H
#define DP_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dp_srtp_suite {
	DP_SRTP_AES_CM_128_HMAC_SHA1_80, /* RFC 4568 */
	DP_SRTP_AES_CM_128_HMAC_SHA1_32, /* RFC 4568; SRTCP keeps an 80-bit tag */
	DP_SRTP_AEAD_AES_128_GCM,        /* RFC 7714, 16-byte tag */
	DP_SRTP_AEAD_AES_256_GCM,        /* RFC 7714, 16-byte tag */
	DP_SRTP_SUITE_COUNT
};

enum dp_srtp_dir { DP_SRTP_PROTECT, DP_SRTP_UNPROTECT };

/* Longest master key || master salt of any suite (AES-256: 32 + 12). */
#define DP_SRTP_MAX_KEY_SALT 44
/* Most bytes protect adds to an RTP packet (GCM tag). */
#define DP_SRTP_MAX_RTP_TRAILER 16
/* Most bytes protect adds to an RTCP packet (E flag + index, GCM tag). */
#define DP_SRTP_MAX_RTCP_TRAILER 20
/* Replay window used when dp_srtp_create is given 0. */
#define DP_SRTP_DEFAULT_WINDOW 128

/* Suite from its SDP name ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM",
 * ...; exact, case-sensitive as RFC 4568/7714 write them). Returns 0 and
 * sets *out, or -ENOENT for an unknown name (-EINVAL for NULL). */
int dp_srtp_suite_parse(const char *name, enum dp_srtp_suite *out);

/* SDP name of a suite, or NULL for a value outside the enum. */
const char *dp_srtp_suite_name(enum dp_srtp_suite suite);

/* Master key / master salt length in bytes (16/14, 16/14, 16/12, 32/12);
 * 0 for a value outside the enum. */
size_t dp_srtp_key_len(enum dp_srtp_suite suite);
size_t dp_srtp_salt_len(enum dp_srtp_suite suite);

/* Bytes protect appends to an RTP / RTCP packet with this suite (RTP: 10, 4,
 * 16, 16; RTCP: 14, 14, 20, 20); 0 for a value outside the enum. */
size_t dp_srtp_rtp_trailer_len(enum dp_srtp_suite suite);
size_t dp_srtp_rtcp_trailer_len(enum dp_srtp_suite suite);

/* Whether this build can run the suite (the engine's self-test passed for
 * it at initialisation). Offer only supported suites in SDP. */
bool dp_srtp_suite_supported(enum dp_srtp_suite suite);

/* --- streams ------------------------------------------------------------ */

struct dp_srtp;

/* Create one direction of an SRTP/SRTCP session for any SSRC.
 * master_key_and_salt holds key || salt, len must be exactly
 * dp_srtp_key_len + dp_srtp_salt_len of the suite. replay_window is the SRTP
 * replay window in packets: 0 gives DP_SRTP_DEFAULT_WINDOW, otherwise
 * 64..32767 (the SRTCP window is fixed at 128). The key is copied and the
 * copy wiped; the caller wipes its own.
 * Returns NULL with errno set: EINVAL (bad suite, direction, key length or
 * window), ENOTSUP (suite not available in this build: see
 * dp_srtp_suite_supported), ENOMEM, EIO (engine failure).
 * All memory for the stream is allocated here, except that the current
 * engine (libsrtp) allocates a small per-SSRC state the first time an SSRC
 * is protected, or first authenticates on unprotect. */
struct dp_srtp *dp_srtp_create(enum dp_srtp_suite suite, const uint8_t *master_key_and_salt,
			       size_t len, enum dp_srtp_dir dir, uint32_t replay_window);

/* Free a stream and wipe its keys. NULL is fine. */
void dp_srtp_destroy(struct dp_srtp *s);

/* Suite / direction a stream was created with (s not NULL). */
enum dp_srtp_suite dp_srtp_get_suite(const struct dp_srtp *s);
enum dp_srtp_dir dp_srtp_get_dir(const struct dp_srtp *s);

/* --- burst API (hot path: no allocation but the per-SSRC note above, no
 * lock, no syscall, no log) ------------------------------------------------
 *
 * Each call handles n packets in place: pkts[i] points to a buffer with
 * `room` bytes of capacity holding lens[i] bytes. On success rc[i] = 0 and
 * lens[i] is the new length; on failure rc[i] < 0, lens[i] is unchanged and
 * the buffer content is unspecified (drop it). Returns the number of packets
 * with rc[i] == 0. A packet's failure never affects the others.
 *
 * rc values:
 *   -EINVAL    malformed: NULL buffer, not RTP/RTCP version 2, header (CSRCs,
 *              extension) longer than the packet, too short to carry the
 *              trailer (unprotect), lens[i] > room
 *   -ENOSPC    protect: lens[i] + trailer > room
 *   -EBADMSG   unprotect: authentication failed (bad tag, wrong key, tampered)
 *   -EALREADY  replayed, or older than the replay window (unprotect). Protect
 *              keeps a window too: it refuses an RTP index it already used
 *              (same sequence number and ROC: keystream reuse) or one older
 *              than the window, so a relay forwarding packets reordered by
 *              more than the window drops them here
 *   -EBADF     stream created for the other direction
 *   -EKEYEXPIRED  key usage limit reached (2^48 SRTP / 2^31 SRTCP packets)
 *   -ENOMEM    per-SSRC state could not be allocated
 *   -EIO       other engine failure
 * With s == NULL every rc[i] is -EINVAL and 0 is returned.
 */

/* Protect RTP packets; appends dp_srtp_rtp_trailer_len bytes to each. */
uint16_t dp_srtp_protect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
			       uint16_t room, int16_t rc[], uint16_t n);

/* Verify and decrypt SRTP packets; removes the tag. The ROC is tracked per
 * SSRC (sequence wrap 65535 -> 0 advances it). */
uint16_t dp_srtp_unprotect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				 uint16_t room, int16_t rc[], uint16_t n);

/* Protect (compound) RTCP packets: encrypts after the first 8 bytes, appends
 * E flag + 31-bit SRTCP index and the tag (dp_srtp_rtcp_trailer_len). */
uint16_t dp_srtcp_protect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				uint16_t room, int16_t rc[], uint16_t n);

/* Verify and decrypt SRTCP packets; removes index and tag. The E flag must
 * say "encrypted" (every suite here encrypts SRTCP): a packet with it clear
 * is -EBADMSG. */
uint16_t dp_srtcp_unprotect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				  uint16_t room, int16_t rc[], uint16_t n);

/* --- SDES keys (RFC 4568) ------------------------------------------------
 * The keys a leg takes (dp_leg_set_srtp). Reading and writing them as SDP
 * a=crypto values is the control plane's (control/ctl_sdes.h). */

#define DP_SDES_TAG_MAX 999999999u /* the largest a=crypto tag (9 digits) */

struct dp_sdes {
	uint32_t tag;                    /* 0..DP_SDES_TAG_MAX */
	enum dp_srtp_suite suite;
	uint8_t key_salt_len;            /* dp_srtp_key_len + dp_srtp_salt_len */
	uint8_t key_salt[DP_SRTP_MAX_KEY_SALT]; /* master key || master salt */
	uint64_t lifetime;               /* packets, from "|2^N" or "|N"; 0: not given.
					  * Recorded, not enforced: rekeying is the
					  * control plane's job. */
};

/* Fresh SDES keys for suite from getrandom(); lifetime 0 (not given).
 * Returns 0, -EINVAL (bad suite or tag > DP_SDES_TAG_MAX), or -errno of
 * getrandom. Any thread. */
int dp_sdes_generate(enum dp_srtp_suite suite, unsigned tag, struct dp_sdes *out);

#endif
