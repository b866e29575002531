/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp: SRTP and SRTCP (RFC 3711, RFC 6188, RFC 7714) with SDES keys
 * (RFC 4568, struct dp_sdes), behind a burst API. Part of the door through
 * dp_media.h.
 *
 * A struct dp_srtp is one direction (protect or unprotect) of one master
 * key, valid for any SSRC: every SSRC seen gets its own ROC, replay window
 * and SRTCP index, derived from the same master key, in a table of fixed
 * size allocated at create (DP_SRTP_DEFAULT_SSRCS entries unless
 * dp_srtp_create_ex says otherwise): a packet of one SSRC more is refused
 * (-ENOBUFS), so a peer rotating SSRCs costs no memory.
 *
 * Engines: medius runs the protocol itself (session keys derived once at
 * create, IVs, ROC, replay, MKI, the tag check) over a batched crypto engine
 * (intel-ipsec-mb's multi-buffer job API, or OpenSSL libcrypto), or hands
 * whole packets to libsrtp2 (kept as an engine and as the tests' oracle).
 * The engine is chosen per stream; dp_srtp_create takes the process default
 * (dp_srtp_set_default_engine, from media.srtp_engine). No engine type is
 * named here.
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
	DP_SRTP_AES_256_CM_HMAC_SHA1_80, /* RFC 6188 */
	DP_SRTP_AES_256_CM_HMAC_SHA1_32, /* RFC 6188; SRTCP keeps an 80-bit tag */
	DP_SRTP_SUITE_COUNT
};

enum dp_srtp_dir { DP_SRTP_PROTECT, DP_SRTP_UNPROTECT };

/* Longest master key || master salt of any suite (AES_256_CM: 32 + 14). */
#define DP_SRTP_MAX_KEY_SALT 46
/* Most bytes protect adds to an RTP packet (GCM tag), without an MKI. */
#define DP_SRTP_MAX_RTP_TRAILER 16
/* Most bytes protect adds to an RTCP packet (E flag + index, GCM tag),
 * without an MKI. */
#define DP_SRTP_MAX_RTCP_TRAILER 20
/* Longest MKI dp_srtp takes (bytes). */
#define DP_SRTP_MAX_MKI 4
/* Replay window used when dp_srtp_create is given 0. */
#define DP_SRTP_DEFAULT_WINDOW 128
/* SSRCs one stream keeps state for when created with 0. */
#define DP_SRTP_DEFAULT_SSRCS 16

/* Suite from its SDP name ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM",
 * "AES_256_CM_HMAC_SHA1_80", ...; exact, case-sensitive as RFC 4568/6188/7714
 * write them). Returns 0 and
 * sets *out, or -ENOENT for an unknown name (-EINVAL for NULL). */
int dp_srtp_suite_parse(const char *name, enum dp_srtp_suite *out);

/* SDP name of a suite, or NULL for a value outside the enum. */
const char *dp_srtp_suite_name(enum dp_srtp_suite suite);

/* Master key / master salt length in bytes (16/14, 16/14, 16/12, 32/12,
 * 32/14, 32/14); 0 for a value outside the enum. */
size_t dp_srtp_key_len(enum dp_srtp_suite suite);
size_t dp_srtp_salt_len(enum dp_srtp_suite suite);

/* Bytes protect appends to an RTP / RTCP packet with this suite, without an
 * MKI (RTP: 10, 4, 16, 16, 10, 4; RTCP: 14, 14, 20, 20, 14, 14); 0 for a
 * value outside the enum. */
size_t dp_srtp_rtp_trailer_len(enum dp_srtp_suite suite);
size_t dp_srtp_rtcp_trailer_len(enum dp_srtp_suite suite);

/* Whether the default engine can run the suite (its self-test passed for
 * it at initialisation). Offer only supported suites in SDP. */
bool dp_srtp_suite_supported(enum dp_srtp_suite suite);

/* --- engines ------------------------------------------------------------ */

enum dp_srtp_engine {
	DP_SRTP_ENGINE_AUTO,     /* ipsec-mb where the library runs on this CPU, else openssl */
	DP_SRTP_ENGINE_IPSEC_MB, /* intel-ipsec-mb, multi-buffer job API */
	DP_SRTP_ENGINE_OPENSSL,  /* OpenSSL libcrypto (EVP AES, SHA-1) */
	DP_SRTP_ENGINE_LIBSRTP,  /* libsrtp2, the whole protocol */
	DP_SRTP_ENGINE_COUNT
};

/* Engine from its name ("auto", "ipsec-mb", "openssl", "libsrtp"): 0, or
 * -ENOENT / -EINVAL (NULL). Its name, or NULL outside the enum. */
int dp_srtp_engine_parse(const char *name, enum dp_srtp_engine *out);
const char *dp_srtp_engine_name(enum dp_srtp_engine e);
/* Whether the engine runs here (library present, CPU able, self-test passed
 * for at least AES_CM_128_HMAC_SHA1_80); AUTO always. */
bool dp_srtp_engine_available(enum dp_srtp_engine e);
/* Whether the engine runs the suite (AUTO: the engine it stands for). */
bool dp_srtp_engine_supports(enum dp_srtp_engine e, enum dp_srtp_suite suite);
/* What AUTO stands for here. */
enum dp_srtp_engine dp_srtp_engine_resolve(enum dp_srtp_engine e);
/* Set the engine dp_srtp_create uses (AUTO is resolved). 0, -EINVAL, or
 * -ENOTSUP when it does not run here. Call before streams are created (at
 * start-up, from one thread). */
int dp_srtp_set_default_engine(enum dp_srtp_engine e);
enum dp_srtp_engine dp_srtp_get_default_engine(void);
/* Make the calling thread's engine state (intel-ipsec-mb's job managers)
 * now, so a worker's first packet allocates nothing. Any thread; once is
 * enough, more is harmless. */
void dp_srtp_thread_prepare(void);

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
 * All memory for the stream is allocated here (the libsrtp engine excepted:
 * it allocates a small per-SSRC state the first time an SSRC is protected,
 * or first authenticates on unprotect; at most max_ssrcs of them). */
struct dp_srtp *dp_srtp_create(enum dp_srtp_suite suite, const uint8_t *master_key_and_salt,
			       size_t len, enum dp_srtp_dir dir, uint32_t replay_window);

struct dp_srtp_params {
	enum dp_srtp_engine engine;     /* AUTO: the default engine */
	enum dp_srtp_suite suite;
	const uint8_t *key_salt;        /* master key || master salt */
	size_t key_salt_len;
	enum dp_srtp_dir dir;
	uint32_t replay_window;         /* as dp_srtp_create */
	uint8_t mki[DP_SRTP_MAX_MKI];   /* the MKI sent / expected (RFC 3711 3.1) */
	uint8_t mki_len;                /* 0 (none) .. DP_SRTP_MAX_MKI */
	uint16_t max_ssrcs;             /* 0: DP_SRTP_DEFAULT_SSRCS; at most 1024 */
};

/* dp_srtp_create with an engine, an MKI and an SSRC bound. With an MKI,
 * protect writes it in each packet and unprotect refuses a packet whose MKI
 * is not it (-ENOKEY). Errors as dp_srtp_create (EINVAL also for mki_len or
 * max_ssrcs out of range; ENOTSUP for an engine that does not run here). */
struct dp_srtp *dp_srtp_create_ex(const struct dp_srtp_params *p);

/* Free a stream and wipe its keys. NULL is fine. */
void dp_srtp_destroy(struct dp_srtp *s);

/* Suite / direction a stream was created with (s not NULL). */
enum dp_srtp_suite dp_srtp_get_suite(const struct dp_srtp *s);
enum dp_srtp_dir dp_srtp_get_dir(const struct dp_srtp *s);
/* The engine it runs on (never AUTO). */
enum dp_srtp_engine dp_srtp_get_engine(const struct dp_srtp *s);
/* Bytes protect appends to an RTP / RTCP packet: the suite's trailer plus
 * the MKI. */
size_t dp_srtp_overhead(const struct dp_srtp *s, bool rtcp);

/* --- burst API (hot path: no allocation (libsrtp: but the per-SSRC note
 * above), no lock, no syscall, no log) ------------------------------------
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
 *              trailer (unprotect: truncated), lens[i] > room
 *   -ENOSPC    protect: lens[i] + trailer > room
 *   -ENOKEY    unprotect: the packet's MKI is not the stream's
 *   -ENOBUFS   a new SSRC while the stream already keeps max_ssrcs SSRCs
 *   -EBADMSG   unprotect: authentication failed (bad tag, wrong key, tampered)
 *   -EALREADY  replayed, or older than the replay window (unprotect). Protect
 *              keeps a window too: it refuses an RTP index it already used
 *              (same sequence number and ROC: keystream reuse) or one older
 *              than the window, so a relay forwarding packets reordered by
 *              more than the window drops them here
 *   -EBADF     stream created for the other direction
 *   -EKEYEXPIRED  key usage limit reached (2^48 SRTP / 2^31 SRTCP packets)
 *   -ENOMEM    per-SSRC state could not be allocated (libsrtp engine)
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

/* --- bursts across streams ----------------------------------------------
 * One call for the packets of many streams (a relay's rx burst holds one
 * packet of each of many legs): the crypto engine then runs them together
 * (intel-ipsec-mb fills its lanes with the packets of different keys).
 * Each packet names its stream, its room and whether it is RTCP; results
 * as the burst API (in rc and len). Every stream of one call must have the
 * call's direction (else -EBADF for its packets). Packets of one stream are
 * handled in their order in pk[], exactly as a one-stream burst of them
 * would be. Streams on different engines may mix. */
struct dp_srtp_pkt {
	struct dp_srtp *s;   /* its stream (NULL: -EINVAL) */
	uint8_t *p;          /* the packet, in place */
	uint16_t len;        /* in: its length; out: the new one (rc 0), else unchanged */
	uint16_t room;       /* bytes of buffer at p */
	bool rtcp;           /* SRTCP (else SRTP) */
	int16_t rc;          /* out: 0 or the -errno of the burst API */
};

/* Protect / unprotect n packets of any streams; returns how many have rc 0. */
uint16_t dp_srtp_protect_multi(struct dp_srtp_pkt pk[], uint16_t n);
uint16_t dp_srtp_unprotect_multi(struct dp_srtp_pkt pk[], uint16_t n);

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
	uint8_t mki_len;                 /* 0: no MKI; 1..DP_SRTP_MAX_MKI */
	uint8_t mki[DP_SRTP_MAX_MKI];    /* the MKI every packet carries (RFC 3711 3.1),
					  * big-endian: "|1:2" is 00 01 */
};

/* Fresh SDES keys for suite from getrandom(); lifetime 0 (not given), no
 * MKI.
 * Returns 0, -EINVAL (bad suite or tag > DP_SDES_TAG_MAX), or -errno of
 * getrandom. Any thread. */
int dp_sdes_generate(enum dp_srtp_suite suite, unsigned tag, struct dp_sdes *out);

#endif
