/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp_ossl: the OpenSSL libcrypto engine under dp_srtp, the
 * portable one.
 *
 * Per session, at init: one EVP_CIPHER_CTX per session key (SRTP, SRTCP)
 * keyed once (AES-CTR or AES-GCM), and for HMAC-SHA1 the SHA-1 states after
 * the key's ipad and opad blocks. Per packet only the IV is set on the
 * existing context (EVP_CipherInit_ex with no cipher and no key) and the two
 * SHA-1 states are copied by value: no allocation. The SHA-1 state is the
 * low-level SHA_CTX (deprecated in OpenSSL 3 but the only allocation-free
 * way to resume a hash from a saved state; libcrypto runs it on SHA-NI where
 * the CPU has it).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "dp_srtp_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

struct ossl {
	EVP_CIPHER_CTX *c[2];
	SHA_CTX ipad[2], opad[2];
};

static bool ossl_available(void)
{
	return true;
}

static size_t ossl_state_size(bool gcm, unsigned key_len)
{
	(void)gcm, (void)key_len;
	return sizeof(struct ossl);
}

static void ossl_fini(void *st)
{
	struct ossl *o = st;

	for (int d = 0; d < 2; d++)
		EVP_CIPHER_CTX_free(o->c[d]); /* cleans the key schedule */
}

static int ossl_init(void *st, enum dp_srtp_suite suite, const struct dp_srtp_keys *k)
{
	struct ossl *o = st;
	const EVP_CIPHER *ci;

	(void)suite;
	if (k->gcm)
		ci = k->enc_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
	else
		ci = k->enc_len == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
	for (int d = 0; d < 2; d++) {
		uint8_t blk[64];

		o->c[d] = EVP_CIPHER_CTX_new();
		if (!o->c[d] || !EVP_CipherInit_ex(o->c[d], ci, NULL, k->enc[d], NULL, 1)) {
			ossl_fini(o);
			o->c[0] = o->c[1] = NULL;
			return -EIO;
		}
		if (k->gcm)
			continue;
		memset(blk, 0x36, sizeof(blk));
		for (int i = 0; i < 20; i++)
			blk[i] ^= k->auth[d][i];
		SHA1_Init(&o->ipad[d]);
		SHA1_Update(&o->ipad[d], blk, 64);
		for (int i = 0; i < 64; i++)
			blk[i] ^= 0x36 ^ 0x5c;
		SHA1_Init(&o->opad[d]);
		SHA1_Update(&o->opad[d], blk, 64);
		explicit_bzero(blk, sizeof(blk));
	}
	return 0;
}

static void hmac(const struct ossl *o, int d, const uint8_t *p, size_t n, uint8_t out[20])
{
	SHA_CTX c = o->ipad[d];
	uint8_t inner[20];

	SHA1_Update(&c, p, n);
	SHA1_Final(inner, &c);
	c = o->opad[d];
	SHA1_Update(&c, inner, 20);
	SHA1_Final(out, &c);
}

static void ctr_hmac(struct dp_srtp_op *x, bool protect)
{
	struct ossl *o = x->st;
	EVP_CIPHER_CTX *c = o->c[x->rtcp];
	uint8_t *t = x->pkt + x->enc_off;
	int l;

	if (!protect)
		hmac(o, x->rtcp, x->pkt, x->auth_len, x->digest);
	if (!EVP_EncryptInit_ex(c, NULL, NULL, NULL, x->iv) ||
	    !EVP_EncryptUpdate(c, t, &l, t, (int)x->enc_len)) {
		x->fail = true;
		return;
	}
	if (protect)
		hmac(o, x->rtcp, x->pkt, x->auth_len, x->digest);
}

static void gcm(struct dp_srtp_op *x, bool protect)
{
	struct ossl *o = x->st;
	EVP_CIPHER_CTX *c = o->c[x->rtcp];
	uint8_t *t = x->pkt + x->enc_off, fin[16];
	int l;

	x->auth_ok = false;
	if (!EVP_CipherInit_ex(c, NULL, NULL, NULL, x->iv, protect) ||
	    !EVP_CipherUpdate(c, NULL, &l, x->aad, (int)x->aad_len) ||
	    !EVP_CipherUpdate(c, t, &l, t, (int)x->enc_len)) {
		x->fail = true;
		return;
	}
	if (protect) {
		x->fail = !EVP_CipherFinal_ex(c, fin, &l) ||
			  !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, x->digest);
	} else {
		x->auth_ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, x->rtag) &&
			     EVP_CipherFinal_ex(c, fin, &l) > 0;
	}
}

/* One op after the other: libcrypto has no multi-buffer API. */
static void ossl_run(struct dp_srtp_op *const ops[], uint16_t n, bool protect)
{
	for (uint16_t i = 0; i < n; i++)
		(ops[i]->gcm ? gcm : ctr_hmac)(ops[i], protect);
}

static void ossl_prefetch(const void *st, bool gcm_, bool rtcp)
{
	const struct ossl *o = st;

	(void)gcm_;
	__builtin_prefetch(o);
	__builtin_prefetch(&o->ipad[rtcp]);
	__builtin_prefetch(&o->opad[rtcp]);
	__builtin_prefetch(o->c[rtcp]);
}

const struct dp_srtp_crypto dp_srtp_crypto_openssl = {
	.name = "openssl",
	.available = ossl_available,
	.state_size = ossl_state_size,
	.init = ossl_init,
	.fini = ossl_fini,
	.prefetch = ossl_prefetch,
	.run = ossl_run,
};
