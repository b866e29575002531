/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp_ipsecmb: the intel-ipsec-mb engine under dp_srtp (the
 * library under DPDK's aesni_mb PMD), through its multi-buffer job API.
 *
 * A burst becomes one job per packet, all submitted before one flush, so the
 * library runs several packets per AVX2/AVX-512/VAES lane set. AES-CM +
 * HMAC-SHA1 is one chained job (IMB_CIPHER_CNTR with the full 16-byte
 * counter block; IMB_AUTH_HMAC_SHA_1 on the contiguous region the protocol
 * layer prepared). The library refuses a 10-byte HMAC-SHA1 tag, so it is
 * asked for 12 and dp_srtp keeps 10 (or 4). AES-GCM is IMB_CIPHER_GCM with
 * IMB_AUTH_AES_GMAC; the tag of an open is compared here in constant time.
 *
 * Keys are expanded at init (AES key schedules, GCM hash keys, the SHA-1
 * states after the HMAC ipad and opad blocks). An IMB_MGR holds a job
 * queue, so each thread has its own (two: see tl_mgr), made the first time
 * the thread uses the engine (the worker's first burst, or the control
 * thread's first create) and freed when the thread exits; every burst ends
 * with a flush, so no job outlives the call.
 */
#include "dp_srtp_engine.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

/* Session state: per direction (SRTP, SRTCP) everything a job reads, on
 * cache lines of its own (AES-CM: the HMAC states, the key schedule and the
 * key length in five lines), so a packet of a cold session misses on its
 * own key material only (dp_srtp prefetches it at prepare: imb_prefetch). */
struct imb_cm_dir {
	DECLARE_ALIGNED(uint8_t ipad[32], 64); /* SHA-1 state after the HMAC ipad block */
	uint8_t opad[32];                      /* ... after the opad block */
	DECLARE_ALIGNED(uint8_t enc[16 * 15], 64); /* AES key schedule (CTR: encryption only) */
	uint64_t key_len;
};

struct imb_gcm_dir {
	DECLARE_ALIGNED(struct gcm_key_data gk, 64); /* the VAES code stores it aligned */
	uint64_t key_len;
};

union imb {
	struct imb_cm_dir cm[2];
	struct imb_gcm_dir g[2];
};

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t mgr_key;
/* [0]: the best the CPU has (init_mb_mgr_auto: AVX-512/VAES here), for
 * AES-GCM, and for AES-CM + HMAC-SHA1 in chunks of SHANI_BELOW or more;
 * [1]: for smaller AES-CM chunks, the SSE manager when the CPU has SHA-NI
 * (its two-lane SHA-NI HMAC beats the 16-lane AVX-512 SHA-1 below about a
 * dozen packets, by 2.5x for one packet; above, the 16 lanes win by up to
 * 1.4x), else [0]. Both take the same AES key schedules and HMAC states. */
#define SHANI_BELOW 12
static __thread IMB_MGR *tl_mgr[2] __attribute__((tls_model("initial-exec")));

static void mgr_free(void *m)
{
	IMB_MGR **v = m;

	if (v[1] && v[1] != v[0])
		free_mb_mgr(v[1]);
	free_mb_mgr(v[0]);
	v[0] = v[1] = NULL;
}

static void key_init(void)
{
	pthread_key_create(&mgr_key, mgr_free);
}

static IMB_MGR *mgr(bool cm)
{
	IMB_ARCH arch;

	if (tl_mgr[0])
		return tl_mgr[cm];
	pthread_once(&key_once, key_init);
	tl_mgr[0] = alloc_mb_mgr(0);
	if (!tl_mgr[0])
		return NULL;
	init_mb_mgr_auto(tl_mgr[0], &arch);
	if (imb_get_errno(tl_mgr[0]) != 0 || arch < IMB_ARCH_SSE) {
		free_mb_mgr(tl_mgr[0]);
		tl_mgr[0] = NULL;
		return NULL;
	}
	tl_mgr[1] = tl_mgr[0];
	if ((tl_mgr[0]->features & IMB_FEATURE_SHANI) && arch != IMB_ARCH_SSE) {
		IMB_MGR *m = alloc_mb_mgr(0);

		if (m) {
			init_mb_mgr_sse(m);
			if (imb_get_errno(m) == 0)
				tl_mgr[1] = m;
			else
				free_mb_mgr(m);
		}
	}
	pthread_setspecific(mgr_key, tl_mgr);
	return tl_mgr[cm];
}

static bool imb_available(void)
{
	IMB_MGR *m = mgr(false);

	return m && (m->features & IMB_FEATURE_AESNI);
}

static size_t imb_state_size(bool gcm, unsigned key_len)
{
	(void)key_len;
	return gcm ? sizeof(struct imb_gcm_dir[2]) : sizeof(struct imb_cm_dir[2]);
}

/* The lines a job of this session and direction reads first: the AES-CM
 * direction whole (5 lines); of GCM's 1 KB the key schedule and the first
 * hash keys (what a packet of a few hundred bytes uses). */
static void imb_prefetch(const void *st, bool gcm, bool rtcp)
{
	const union imb *e = st;
	const uint8_t *p = gcm ? (const uint8_t *)&e->g[rtcp] : (const uint8_t *)&e->cm[rtcp];
	unsigned lines = gcm ? 16 : 5;

	for (unsigned i = 0; i < lines; i++)
		__builtin_prefetch(p + 64 * i);
}

static void imb_fini(void *st)
{
	(void)st; /* nothing outside st */
}

static int imb_init(void *st, enum dp_srtp_suite suite, const struct dp_srtp_keys *k)
{
	IMB_MGR *m = mgr(!k->gcm); /* GCM key tables are in the format of the manager that runs them */
	union imb *e = st;

	(void)suite;
	if (!m)
		return -EIO;
	for (int d = 0; d < 2; d++) {
		DECLARE_ALIGNED(uint8_t blk[64], 16);
		DECLARE_ALIGNED(uint8_t dec[16 * 15], 16);

		if (k->gcm) {
			e->g[d].key_len = k->enc_len;
			if (k->enc_len == 32)
				IMB_AES256_GCM_PRE(m, k->enc[d], &e->g[d].gk);
			else
				IMB_AES128_GCM_PRE(m, k->enc[d], &e->g[d].gk);
			continue;
		}
		e->cm[d].key_len = k->enc_len;
		if (k->enc_len == 32)
			IMB_AES_KEYEXP_256(m, k->enc[d], e->cm[d].enc, dec);
		else
			IMB_AES_KEYEXP_128(m, k->enc[d], e->cm[d].enc, dec);
		explicit_bzero(dec, sizeof(dec));
		memset(blk, 0x36, sizeof(blk));
		for (int i = 0; i < 20; i++)
			blk[i] ^= k->auth[d][i];
		IMB_SHA1_ONE_BLOCK(m, blk, e->cm[d].ipad);
		for (int i = 0; i < 64; i++)
			blk[i] ^= 0x36 ^ 0x5c;
		IMB_SHA1_ONE_BLOCK(m, blk, e->cm[d].opad);
		explicit_bzero(blk, sizeof(blk));
	}
	return 0;
}

static void done(IMB_JOB *j, bool protect)
{
	struct dp_srtp_op *x = j->user_data;

	if (j->status != IMB_STATUS_COMPLETED) {
		x->fail = true;
		return;
	}
	if (x->gcm && !protect)
		x->auth_ok = dp_srtp_ct_eq(x->digest, x->rtag, 16);
}

/* Submit the ops of ops[0..n) whose kind is gcm (either: both) on m, then
 * flush: every job is done on return. */
static void run_on(IMB_MGR *m, struct dp_srtp_op *const ops[], uint16_t n, bool protect, int kind)
{
	IMB_JOB *j;

	for (uint16_t i = 0; i < n; i++) {
		struct dp_srtp_op *x = ops[i];

		if (kind >= 0 && x->gcm != (bool)kind)
			continue;
		j = IMB_GET_NEXT_JOB(m);
		j->src = x->pkt;
		j->dst = x->pkt + x->enc_off;
		j->cipher_start_src_offset_in_bytes = x->enc_off;
		j->msg_len_to_cipher_in_bytes = x->enc_len;
		j->iv = x->iv;
		j->cipher_direction = protect ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
		j->chain_order = protect ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
		j->auth_tag_output = x->digest;
		j->user_data = x;
		x->auth_ok = false;
		if (x->gcm) {
			const struct imb_gcm_dir *g = &((const union imb *)x->st)->g[x->rtcp];

			j->key_len_in_bytes = g->key_len;
			j->cipher_mode = IMB_CIPHER_GCM;
			j->hash_alg = IMB_AUTH_AES_GMAC;
			j->enc_keys = j->dec_keys = &g->gk;
			j->iv_len_in_bytes = 12;
			j->hash_start_src_offset_in_bytes = x->enc_off;
			j->msg_len_to_hash_in_bytes = x->enc_len;
			j->u.GCM.aad = x->aad;
			j->u.GCM.aad_len_in_bytes = x->aad_len;
			j->auth_tag_output_len_in_bytes = 16;
		} else {
			const struct imb_cm_dir *c = &((const union imb *)x->st)->cm[x->rtcp];

			j->key_len_in_bytes = c->key_len;
			/* a zero-length cipher region: hash only */
			j->cipher_mode = x->enc_len ? IMB_CIPHER_CNTR : IMB_CIPHER_NULL;
			j->hash_alg = IMB_AUTH_HMAC_SHA_1;
			j->enc_keys = c->enc;
			j->dec_keys = c->enc; /* CTR decrypts with the encryption schedule */
			j->iv_len_in_bytes = 16;
			j->hash_start_src_offset_in_bytes = 0;
			j->msg_len_to_hash_in_bytes = x->auth_len;
			j->u.HMAC._hashed_auth_key_xor_ipad = c->ipad;
			j->u.HMAC._hashed_auth_key_xor_opad = c->opad;
			j->auth_tag_output_len_in_bytes = 12; /* 10 is refused: keep 10 of 12 */
		}
		j = IMB_SUBMIT_JOB(m);
		while (j) {
			done(j, protect);
			j = IMB_GET_COMPLETED_JOB(m);
		}
	}
	while ((j = IMB_FLUSH_JOB(m)) != NULL)
		done(j, protect);
}

/* Ops of several sessions and both kinds: AES-CM on the SHA-NI manager
 * when they are few, GCM on the best one; one submission when both are the
 * same manager. */
static void imb_run(struct dp_srtp_op *const ops[], uint16_t n, bool protect)
{
	uint16_t ncm = 0;
	IMB_MGR *mg, *mc;

	for (uint16_t i = 0; i < n; i++)
		ncm = (uint16_t)(ncm + !ops[i]->gcm);
	mg = mgr(false);
	mc = mgr(ncm < SHANI_BELOW);
	if (!mg || !mc) {
		for (uint16_t i = 0; i < n; i++)
			ops[i]->fail = true;
		return;
	}
	if (mc == mg || ncm == n || ncm == 0) {
		run_on(ncm ? mc : mg, ops, n, protect, -1);
		return;
	}
	run_on(mc, ops, n, protect, 0);
	run_on(mg, ops, n, protect, 1);
}

const struct dp_srtp_crypto dp_srtp_crypto_ipsec_mb = {
	.name = "ipsec-mb",
	.available = imb_available,
	.state_size = imb_state_size,
	.init = imb_init,
	.fini = imb_fini,
	.prefetch = imb_prefetch,
	.run = imb_run,
};
