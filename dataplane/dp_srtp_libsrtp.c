/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp_libsrtp: libsrtp2 as a dp_srtp engine, and the oracle
 * the tests hold medius's own SRTP against.
 *
 * Unlike the other engines it runs the whole protocol: each struct
 * dp_srtp_lib is one libsrtp session with a single wildcard-SSRC policy
 * (ssrc_any_outbound for protect, ssrc_any_inbound for unprotect). libsrtp
 * keeps ROC, replay window and SRTCP index per SSRC, cloning the template
 * stream the first time an SSRC protects or authenticates on unprotect: that
 * is an allocation on the worker, which dp_srtp.c bounds with its own SSRC
 * table (a new SSRC past the bound never reaches libsrtp).
 *
 * dp_srtp.c checks each packet (version, header and trailer lengths, room)
 * before it comes here, so libsrtp only sees packets whose header lies
 * inside the buffer and whose trailer fits.
 */
#include "dp_srtp_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

struct dp_srtp_lib {
	srtp_t ctx;
	bool mki;
};

static void suite_policy(enum dp_srtp_suite suite, srtp_policy_t *p)
{
	switch (suite) {
	case DP_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case DP_SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 6.2.2 / RFC 3711 5.2: SRTCP keeps the 80-bit tag */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case DP_SRTP_AES_256_CM_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
		break;
	case DP_SRTP_AES_256_CM_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
		break;
	case DP_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	case DP_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		break;
	default:
		break;
	}
}

/* libsrtp status -> -errno: the one place. */
static int16_t srtp_errno(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
	case srtp_err_status_cant_check: /* SRTCP E flag does not match policy */
		return -EBADMSG;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return -EALREADY;
	case srtp_err_status_bad_mki:
		return -ENOKEY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
		return -EINVAL;
	case srtp_err_status_key_expired:
		return -EKEYEXPIRED;
	case srtp_err_status_alloc_fail:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int dp_srtp_lib_new(enum dp_srtp_suite suite, const uint8_t *key, size_t len, enum dp_srtp_dir dir,
		    uint32_t window, const uint8_t *mki, unsigned mki_len, struct dp_srtp_lib **out)
{
	uint8_t k[DP_SRTP_MAX_KEY_SALT], id[DP_SRTP_MAX_MKI];
	srtp_master_key_t mk, *mks[1] = {&mk};
	srtp_policy_t p;
	srtp_err_status_t st;
	struct dp_srtp_lib *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	suite_policy(suite, &p);
	memcpy(k, key, len);
	p.ssrc.type = dir == DP_SRTP_PROTECT ? ssrc_any_outbound : ssrc_any_inbound;
	if (mki_len) {
		memcpy(id, mki, mki_len);
		mk.key = k;
		mk.mki_id = id;
		mk.mki_size = mki_len;
		p.keys = mks;
		p.num_master_keys = 1;
		l->mki = true;
	} else {
		p.key = k;
	}
	p.window_size = window;
	p.allow_repeat_tx = 0;
	st = srtp_create(&l->ctx, &p);
	explicit_bzero(k, sizeof(k));
	if (st != srtp_err_status_ok) {
		free(l);
		return srtp_errno(st) == -ENOMEM ? -ENOMEM : -EIO;
	}
	*out = l;
	return 0;
}

void dp_srtp_lib_free(struct dp_srtp_lib *l)
{
	if (!l)
		return;
	srtp_dealloc(l->ctx); /* frees the engine's keys (the NSS backend wipes them) */
	free(l);
}

int16_t dp_srtp_lib_run(struct dp_srtp_lib *l, int op, uint8_t *pkt, int *len)
{
	srtp_err_status_t st;
	unsigned m = l->mki;

	switch (op) {
	case 0:
		st = srtp_protect_mki(l->ctx, pkt, len, m, 0);
		break;
	case 1:
		st = srtp_unprotect_mki(l->ctx, pkt, len, m);
		break;
	case 2:
		st = srtp_protect_rtcp_mki(l->ctx, pkt, len, m, 0);
		break;
	default:
		st = srtp_unprotect_rtcp_mki(l->ctx, pkt, len, m);
		break;
	}
	return srtp_errno(st);
}

/* --- initialisation and self-test ---------------------------------------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool lib_ok;
static bool suite_works[DP_SRTP_SUITE_COUNT];

/* Round trip of one RTP and one RTCP packet: tells whether libsrtp can run
 * the suite here (Debian builds libsrtp on NSS; GCM support depends on how
 * it was built). */
static bool self_test(enum dp_srtp_suite suite)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], pkt[64], ref[64];
	size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	struct dp_srtp_lib *tx = NULL, *rx = NULL;
	bool ok = false;
	int len;

	for (size_t i = 0; i < klen; i++)
		key[i] = (uint8_t)(0x5a + 7 * i);
	if (dp_srtp_lib_new(suite, key, klen, DP_SRTP_PROTECT, 128, NULL, 0, &tx) ||
	    dp_srtp_lib_new(suite, key, klen, DP_SRTP_UNPROTECT, 128, NULL, 0, &rx))
		goto out;
	memset(ref, 0, sizeof(ref));
	ref[0] = 0x80, ref[1] = 0x00, ref[3] = 1, ref[8] = 0x12, ref[11] = 0x34;
	memset(ref + 12, 0xd5, 20);
	memcpy(pkt, ref, sizeof(pkt));
	len = 32;
	if (dp_srtp_lib_run(tx, 0, pkt, &len) || len != 32 + (int)dp_srtp_rtp_trailer_len(suite) ||
	    memcmp(pkt + 12, ref + 12, 20) == 0 || dp_srtp_lib_run(rx, 1, pkt, &len) || len != 32 ||
	    memcmp(pkt, ref, 32) != 0)
		goto out;
	ref[0] = 0x81, ref[1] = 200, ref[2] = 0, ref[3] = 6; /* SR-shaped */
	memcpy(pkt, ref, sizeof(pkt));
	len = 28;
	if (dp_srtp_lib_run(tx, 2, pkt, &len) || len != 28 + (int)dp_srtp_rtcp_trailer_len(suite) ||
	    dp_srtp_lib_run(rx, 3, pkt, &len) || len != 28 || memcmp(pkt, ref, 28) != 0)
		goto out;
	ok = true;
out:
	dp_srtp_lib_free(tx);
	dp_srtp_lib_free(rx);
	return ok;
}

static void init_once(void)
{
	if (srtp_init() != srtp_err_status_ok)
		return;
	/* events (SSRC collision, key soft limit) would otherwise be printed
	 * from the packet path; errors surface through rc[] instead */
	srtp_install_event_handler(NULL);
	srtp_install_log_handler(NULL, NULL);
	for (unsigned i = 0; i < DP_SRTP_SUITE_COUNT; i++)
		suite_works[i] = self_test((enum dp_srtp_suite)i);
	lib_ok = true;
}

bool dp_srtp_lib_init(void)
{
	pthread_once(&once, init_once);
	return lib_ok;
}

bool dp_srtp_lib_suite_ok(enum dp_srtp_suite suite)
{
	return dp_srtp_lib_init() && (unsigned)suite < DP_SRTP_SUITE_COUNT && suite_works[suite];
}
