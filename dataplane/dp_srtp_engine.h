/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp_engine: the crypto engines under dp_srtp (private to
 * dp_srtp*.c; nothing outside dataplane/dp_srtp* includes this).
 *
 * dp_srtp.c is the protocol layer (RFC 3711, RFC 7714): per-SSRC state,
 * ROC estimation, replay windows, the SRTCP index and E flag, MKI, IV and AAD
 * formation, tag placement and the constant-time tag check. It hands an
 * engine a burst of prepared operations, all protect or all unprotect, of
 * any sessions of that engine (each op names its session state, its kind
 * and its session keys: a relay's burst holds the packets of many legs):
 *
 *  - AES-CM + HMAC-SHA1 (ctr_hmac): for each op, AES-CTR over
 *    pkt[enc_off, enc_off + enc_len) in place with the 16-byte counter block
 *    iv, and HMAC-SHA1 over pkt[0, auth_len) into digest (at least the first
 *    12 bytes; the protocol layer keeps 10 or 4). Protect encrypts, then
 *    hashes the ciphertext; unprotect hashes, then decrypts. The protocol
 *    layer has already put what the tag covers after the packet (the ROC for
 *    SRTP, E||index for SRTCP) so the hashed region is contiguous.
 *  - AES-GCM (gcm): for each op, AAD aad[0, aad_len), the text
 *    pkt[enc_off, enc_off + enc_len) in place, 12-byte IV iv. Seal writes
 *    the 16-byte tag into digest; open checks it against rtag (constant
 *    time) and sets auth_ok.
 *
 * op->rtcp selects the SRTCP session keys instead of the SRTP ones, op->gcm
 * the kind (the session's suite). Engines allocate (if at all) only in init (on the control thread at create);
 * run never allocates, locks, logs or makes a syscall. libsrtp is not an
 * engine of this kind: it runs the whole protocol itself (dp_srtp_libsrtp.c).
 */
#ifndef DP_SRTP_ENGINE_H
#define DP_SRTP_ENGINE_H

#include "dp_srtp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Session keys derived once at create (RFC 3711 4.3, kdr 0): [0] SRTP,
 * [1] SRTCP. */
struct dp_srtp_keys {
	uint8_t enc[2][32];
	uint8_t auth[2][20];
	uint8_t salt[2][14];
	uint8_t enc_len;  /* 16 or 32 */
	uint8_t salt_len; /* 14 (AES-CM) or 12 (GCM) */
	bool gcm;
};

struct dp_srtp_op {
	void *st;             /* the session's engine state (init made it) */
	bool gcm, rtcp;       /* AES-GCM (else AES-CM + HMAC-SHA1); the SRTCP keys */
	uint8_t *pkt;
	const uint8_t *aad;   /* GCM */
	uint32_t aad_len;
	uint32_t auth_len;    /* AES-CM: bytes of pkt hashed */
	uint32_t enc_off, enc_len;
	uint8_t iv[16];       /* AES-CM counter block; GCM: the first 12 bytes */
	uint8_t digest[20];   /* out: HMAC-SHA1 / GCM tag (seal) */
	uint8_t rtag[16];     /* GCM open: the received tag */
	uint8_t aad_buf[12];  /* SRTCP GCM AAD: header (8) || E||index (4) */
	bool auth_ok;         /* GCM open: out */
	bool fail;            /* out: the engine could not run it (-EIO) */
};

struct dp_srtp_crypto {
	const char *name;
	/* Library present and usable on this CPU (called once per thread
	 * that uses the engine: it also makes the thread's state). */
	bool (*available)(void);
	/* Bytes of state one session needs (dp_srtp allocates them with the
	 * stream, 64-byte aligned and zeroed). */
	size_t (*state_size)(bool gcm, unsigned key_len);
	/* Make the state for one session in st: 0 or -errno. */
	int (*init)(void *st, enum dp_srtp_suite suite, const struct dp_srtp_keys *k);
	/* Release what init took outside st (dp_srtp wipes st itself). */
	void (*fini)(void *st);
	/* Prefetch what an op of this session, kind and direction reads first
	 * (dp_srtp calls it when it prepares a packet, ahead of run). */
	void (*prefetch)(const void *st, bool gcm, bool rtcp);
	/* Run n ops (of any sessions of this engine, either kind): protect
	 * (encrypt; AES-CM: then hash; GCM: seal) or unprotect (AES-CM: hash,
	 * then decrypt; GCM: open). */
	void (*run)(struct dp_srtp_op *const ops[], uint16_t n, bool protect);
};

extern const struct dp_srtp_crypto dp_srtp_crypto_openssl;
extern const struct dp_srtp_crypto dp_srtp_crypto_ipsec_mb;

/* Equal in time independent of the contents. */
static inline bool dp_srtp_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return ((unsigned)d - 1u) >> 8 & 1u;
}

/* --- libsrtp: the whole protocol (dp_srtp_libsrtp.c) --------------------- */

struct dp_srtp_lib;

bool dp_srtp_lib_init(void);              /* srtp_init once; false if it fails */
bool dp_srtp_lib_suite_ok(enum dp_srtp_suite suite); /* its self-test passed */
/* A session for one direction; mki may be NULL (mki_len 0). -errno. */
int dp_srtp_lib_new(enum dp_srtp_suite suite, const uint8_t *key, size_t len, enum dp_srtp_dir dir,
		    uint32_t window, const uint8_t *mki, unsigned mki_len, struct dp_srtp_lib **out);
void dp_srtp_lib_free(struct dp_srtp_lib *l);
/* One packet; op 0..3 = RTP protect, RTP unprotect, RTCP protect, RTCP
 * unprotect. Returns 0 (and *len) or -errno as the burst API. */
int16_t dp_srtp_lib_run(struct dp_srtp_lib *l, int op, uint8_t *pkt, int *len);

#endif
