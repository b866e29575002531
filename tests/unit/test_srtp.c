/* SPDX-License-Identifier: MIT
 * Unit tests for dataplane/dp_srtp: known answers, an independent OpenSSL
 * reference of SRTP/SRTCP (RFC 3711 AES-CM + HMAC-SHA1, RFC 7714 AES-GCM)
 * compared byte for byte, round trips, replay and ROC, malformed input.
 * SDES a=crypto parsing and base64 are control's: test_sdes.c.
 *
 * The reference below (ref_*) uses OpenSSL's EVP AES-CTR, AES-GCM and HMAC
 * only, written from the RFCs: key derivation (RFC 3711 §4.3, RFC 7714 §11),
 * AES-CM IV = (salt << 16) ^ (SSRC << 64) ^ (index << 16), HMAC over
 * header || ciphertext || ROC, SRTCP E||index, GCM IV/AAD per RFC 7714 §8-9.
 * It is itself checked against RFC 3711 B.2/B.3 and RFC 7714 §16/§17.
 */
#include "dp_srtp.h"
#ifdef SRTP_SRTP_H
#error "dp_srtp.h must not expose libsrtp"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

/* Hex string (spaces ignored) to bytes; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\n')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			cr_assert_fail("bad hex char %c", *s);
		if (hi < 0) {
			hi = v;
		} else {
			cr_assert(n < cap, "hex too long");
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	cr_assert(hi < 0, "odd hex length");
	return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void fill_key(enum dp_srtp_suite suite, uint8_t *k, size_t *len)
{
	*len = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	for (size_t i = 0; i < *len; i++)
		k[i] = (uint8_t)rnd();
}

/* A heap buffer of exactly `room` bytes, so ASan sees any overrun. */
static uint8_t *buf_new(const uint8_t *data, size_t len, size_t room)
{
	uint8_t *b = malloc(room);

	cr_assert(b && len <= room);
	memcpy(b, data, len);
	return b;
}

/* RTP packet: cc CSRCs, an optional one-word extension, payload bytes. */
static size_t make_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, unsigned cc, bool ext,
		       size_t payload)
{
	size_t h = 12;

	p[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | cc);
	p[1] = 0x60; /* PT 96 */
	p[2] = (uint8_t)(seq >> 8), p[3] = (uint8_t)seq;
	p[4] = 0x11, p[5] = 0x22, p[6] = (uint8_t)(seq >> 3), p[7] = 0x44;
	p[8] = (uint8_t)(ssrc >> 24), p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8), p[11] = (uint8_t)ssrc;
	for (unsigned i = 0; i < cc; i++, h += 4)
		memset(p + h, 0xc0 + (int)i, 4);
	if (ext) {
		p[h] = 0xbe, p[h + 1] = 0xde, p[h + 2] = 0, p[h + 3] = 1;
		p[h + 4] = 0x10, p[h + 5] = 0xaa, p[h + 6] = 0, p[h + 7] = 0;
		h += 8;
	}
	for (size_t i = 0; i < payload; i++)
		p[h + i] = (uint8_t)(i * 7 + seq);
	return h + payload;
}

/* RTCP SR-shaped packet of 8 + body bytes. */
static size_t make_rtcp(uint8_t *p, uint32_t ssrc, size_t body, uint8_t fill)
{
	p[0] = 0x80, p[1] = 200;
	p[2] = (uint8_t)(((8 + body) / 4 - 1) >> 8), p[3] = (uint8_t)((8 + body) / 4 - 1);
	p[4] = (uint8_t)(ssrc >> 24), p[5] = (uint8_t)(ssrc >> 16);
	p[6] = (uint8_t)(ssrc >> 8), p[7] = (uint8_t)ssrc;
	for (size_t i = 0; i < body; i++)
		p[8 + i] = (uint8_t)(fill + i);
	return 8 + body;
}

/* One packet through a burst function; returns rc, updates *len. */
typedef uint16_t (*burst_fn)(struct dp_srtp *, uint8_t *const[], uint16_t[], uint16_t, int16_t[],
			     uint16_t);
static int one(burst_fn fn, struct dp_srtp *s, uint8_t *p, size_t *len, size_t room)
{
	uint8_t *pk[1] = {p};
	uint16_t l[1] = {(uint16_t)*len};
	int16_t rc[1] = {12345};
	uint16_t done = fn(s, pk, l, (uint16_t)room, rc, 1);

	cr_assert_eq(done, rc[0] == 0 ? 1 : 0);
	if (rc[0] == 0)
		*len = l[0];
	else
		cr_assert_eq(l[0], *len, "length changed on failure");
	return rc[0];
}

/* The engine under test: SRTP_ENGINE in the environment (meson runs this
 * file once per engine), else the default. */
static enum dp_srtp_engine engine(void)
{
	const char *e = getenv("SRTP_ENGINE");
	enum dp_srtp_engine v = DP_SRTP_ENGINE_AUTO;

	if (e && *e)
		cr_assert_eq(dp_srtp_engine_parse(e, &v), 0, "SRTP_ENGINE=%s", e);
	if (!dp_srtp_engine_available(v))
		cr_skip_test("engine %s does not run here", e);
	return v;
}

static struct dp_srtp *mk(enum dp_srtp_suite suite, const uint8_t *k, size_t klen,
			  enum dp_srtp_dir dir, uint32_t window)
{
	struct dp_srtp_params p = {.engine = engine(), .suite = suite, .key_salt = k,
				   .key_salt_len = klen, .dir = dir, .replay_window = window};
	struct dp_srtp *s = dp_srtp_create_ex(&p);

	cr_assert_not_null(s, "create %s: %s", dp_srtp_suite_name(suite), strerror(errno));
	return s;
}

static bool is_gcm(enum dp_srtp_suite s)
{
	return s == DP_SRTP_AEAD_AES_128_GCM || s == DP_SRTP_AEAD_AES_256_GCM;
}

static void need_suite(enum dp_srtp_suite s)
{
	if (!dp_srtp_engine_supports(engine(), s))
		cr_skip_test("%s is not supported by this libsrtp2 build (self-test failed), "
			     "dp_srtp_create returns ENOTSUP for it",
			     dp_srtp_suite_name(s));
}

/* ------------------------------------------------------------------------ */
/* OpenSSL reference                                                        */

static void aes_ctr(const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in,
		    uint8_t *out, size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;

	cr_assert(c);
	cr_assert(EVP_EncryptInit_ex(c, klen == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL,
				     key, iv));
	if (n)
		cr_assert(EVP_EncryptUpdate(c, out, &l, in, (int)n));
	EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 §4.3 AES-CM PRF with kdr = 0: IV = (master_salt ^ label<<48)<<16.
 * A 12-byte (GCM) master salt is padded with zeros to 14 (RFC 7714 §11). */
static void ref_kdf(const uint8_t *mk, size_t mklen, const uint8_t *msalt, size_t mslen,
		    uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0}, zero[128] = {0};

	memcpy(iv, msalt, mslen);
	iv[7] ^= label;
	aes_ctr(mk, mklen, iv, zero, out, n);
}

struct ref {
	enum dp_srtp_suite suite;
	size_t klen, slen, rtp_tag, rtcp_tag;
	uint8_t k[2][32], a[2][20], s[2][14]; /* [0] SRTP, [1] SRTCP */
};

static void ref_init(struct ref *r, enum dp_srtp_suite suite, const uint8_t *master)
{
	memset(r, 0, sizeof(*r));
	r->suite = suite;
	r->klen = dp_srtp_key_len(suite);
	r->slen = dp_srtp_salt_len(suite);
	r->rtp_tag = dp_srtp_rtp_trailer_len(suite);
	r->rtcp_tag = dp_srtp_rtcp_trailer_len(suite) - 4;
	for (int d = 0; d < 2; d++) {
		ref_kdf(master, r->klen, master + r->klen, r->slen, (uint8_t)(3 * d + 0), r->k[d],
			r->klen);
		ref_kdf(master, r->klen, master + r->klen, r->slen, (uint8_t)(3 * d + 1), r->a[d],
			20);
		ref_kdf(master, r->klen, master + r->klen, r->slen, (uint8_t)(3 * d + 2), r->s[d],
			r->slen);
	}
}

static void hmac_sha1(const uint8_t *key, const uint8_t *a, size_t an, const uint8_t *b,
		      size_t bn, uint8_t out[20])
{
	uint8_t *m = malloc(an + bn + 1);
	unsigned ol = 0;

	memcpy(m, a, an);
	if (bn)
		memcpy(m + an, b, bn);
	cr_assert(HMAC(EVP_sha1(), key, 20, m, an + bn, out, &ol));
	cr_assert_eq(ol, 20);
	free(m);
}

/* AES-GCM seal with 12-byte IV; out gets ciphertext then the 16-byte tag. */
static void gcm_seal(const uint8_t *key, size_t klen, const uint8_t iv[12], const uint8_t *aad,
		     size_t aadn, const uint8_t *in, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;

	cr_assert(EVP_EncryptInit_ex(c, klen == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL,
				     key, iv));
	cr_assert(EVP_EncryptUpdate(c, NULL, &l, aad, (int)aadn));
	if (n)
		cr_assert(EVP_EncryptUpdate(c, out, &l, in, (int)n));
	cr_assert(EVP_EncryptFinal_ex(c, out + n, &l));
	cr_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n));
	EVP_CIPHER_CTX_free(c);
}

static size_t rtp_hlen(const uint8_t *p)
{
	size_t h = 12 + 4u * (p[0] & 15);

	if (p[0] & 0x10)
		h += 4 + 4u * ((size_t)p[h + 2] << 8 | p[h + 3]);
	return h;
}

/* SRTP packet for RTP packet p with rollover counter roc, from session
 * keys key/auth/salt. Returns the output length. */
static size_t ref_srtp_sess(enum dp_srtp_suite suite, const uint8_t *key, size_t klen,
			    const uint8_t *auth, const uint8_t *salt, size_t tag, const uint8_t *p,
			    size_t len, uint32_t roc, uint8_t *out)
{
	size_t h = rtp_hlen(p);
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);

	memcpy(out, p, h);
	if (is_gcm(suite)) {
		uint8_t iv[12] = {0};

		memcpy(iv + 2, p + 8, 4);
		iv[6] = (uint8_t)(roc >> 24), iv[7] = (uint8_t)(roc >> 16);
		iv[8] = (uint8_t)(roc >> 8), iv[9] = (uint8_t)roc;
		iv[10] = (uint8_t)(seq >> 8), iv[11] = (uint8_t)seq;
		for (int i = 0; i < 12; i++)
			iv[i] ^= salt[i];
		gcm_seal(key, klen, iv, p, h, p + h, len - h, out + h);
		return len + 16;
	}
	uint8_t iv[16] = {0}, rocb[4], mac[20];
	uint64_t idx = (uint64_t)roc << 16 | seq;

	memcpy(iv, salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(idx >> (40 - 8 * i));
	aes_ctr(key, klen, iv, p + h, out + h, len - h);
	rocb[0] = (uint8_t)(roc >> 24), rocb[1] = (uint8_t)(roc >> 16);
	rocb[2] = (uint8_t)(roc >> 8), rocb[3] = (uint8_t)roc;
	hmac_sha1(auth, out, len, rocb, 4, mac);
	memcpy(out + len, mac, tag);
	return len + tag;
}

static size_t ref_srtp(const struct ref *r, const uint8_t *p, size_t len, uint32_t roc,
		       uint8_t *out)
{
	return ref_srtp_sess(r->suite, r->k[0], r->klen, r->a[0], r->s[0], r->rtp_tag, p, len, roc,
			     out);
}

/* SRTCP packet (E = 1) with SRTCP index idx, from session keys. */
static size_t ref_srtcp_sess(enum dp_srtp_suite suite, const uint8_t *key, size_t klen,
			     const uint8_t *auth, const uint8_t *salt, size_t tag, const uint8_t *p,
			     size_t len, uint32_t idx, uint8_t *out)
{
	uint8_t e[4] = {(uint8_t)(0x80 | idx >> 24), (uint8_t)(idx >> 16), (uint8_t)(idx >> 8),
			(uint8_t)idx};

	memcpy(out, p, 8);
	if (is_gcm(suite)) {
		uint8_t iv[12] = {0}, aad[12];

		memcpy(iv + 2, p + 4, 4);
		memcpy(iv + 8, e, 4);
		iv[8] &= 0x7f;
		for (int i = 0; i < 12; i++)
			iv[i] ^= salt[i];
		memcpy(aad, p, 8);
		memcpy(aad + 8, e, 4);
		gcm_seal(key, klen, iv, aad, 12, p + 8, len - 8, out + 8);
		memcpy(out + len + 16, e, 4);
		return len + 16 + 4;
	}
	uint8_t iv[16] = {0}, mac[20];

	memcpy(iv, salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[4 + i];
	iv[10] ^= (uint8_t)(idx >> 24), iv[11] ^= (uint8_t)(idx >> 16);
	iv[12] ^= (uint8_t)(idx >> 8), iv[13] ^= (uint8_t)idx;
	aes_ctr(key, klen, iv, p + 8, out + 8, len - 8);
	memcpy(out + len, e, 4);
	hmac_sha1(auth, out, len + 4, NULL, 0, mac);
	memcpy(out + len + 4, mac, tag);
	return len + 4 + tag;
}

static size_t ref_srtcp(const struct ref *r, const uint8_t *p, size_t len, uint32_t idx,
			uint8_t *out)
{
	return ref_srtcp_sess(r->suite, r->k[1], r->klen, r->a[1], r->s[1], r->rtcp_tag, p, len,
			      idx, out);
}

/* ------------------------------------------------------------------------ */
/* suites, lengths                                                          */

Test(srtp, suite_names_and_lengths)
{
	static const struct {
		const char *name;
		size_t k, s, rtp, rtcp;
	} want[DP_SRTP_SUITE_COUNT] = {
		{"AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 14},
		{"AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 14},
		{"AEAD_AES_128_GCM", 16, 12, 16, 20},
		{"AEAD_AES_256_GCM", 32, 12, 16, 20},
		{"AES_256_CM_HMAC_SHA1_80", 32, 14, 10, 14},
		{"AES_256_CM_HMAC_SHA1_32", 32, 14, 4, 14},
	};
	enum dp_srtp_suite s = DP_SRTP_SUITE_COUNT;

	for (int i = 0; i < DP_SRTP_SUITE_COUNT; i++) {
		cr_assert_str_eq(dp_srtp_suite_name((enum dp_srtp_suite)i), want[i].name);
		cr_assert_eq(dp_srtp_suite_parse(want[i].name, &s), 0);
		cr_assert_eq(s, (enum dp_srtp_suite)i);
		cr_assert_eq(dp_srtp_key_len(s), want[i].k);
		cr_assert_eq(dp_srtp_salt_len(s), want[i].s);
		cr_assert_eq(dp_srtp_rtp_trailer_len(s), want[i].rtp);
		cr_assert_eq(dp_srtp_rtcp_trailer_len(s), want[i].rtcp);
		cr_log_info("%s: %s", want[i].name,
			    dp_srtp_suite_supported(s) ? "supported" : "NOT supported");
	}
	s = DP_SRTP_AEAD_AES_256_GCM;
	cr_assert_eq(dp_srtp_suite_parse("aes_cm_128_hmac_sha1_80", &s), -ENOENT);
	cr_assert_eq(dp_srtp_suite_parse("AES_192_CM_HMAC_SHA1_80", &s), -ENOENT);
	cr_assert_eq(dp_srtp_suite_parse("F8_128_HMAC_SHA1_80", &s), -ENOENT);
	cr_assert_eq(dp_srtp_suite_parse("", &s), -ENOENT);
	cr_assert_eq(dp_srtp_suite_parse(NULL, &s), -EINVAL);
	cr_assert_eq(s, DP_SRTP_AEAD_AES_256_GCM, "out written on failure");
	cr_assert_null(dp_srtp_suite_name(DP_SRTP_SUITE_COUNT));
	cr_assert_eq(dp_srtp_key_len(DP_SRTP_SUITE_COUNT), 0);
	cr_assert_eq(dp_srtp_salt_len((enum dp_srtp_suite)-1), 0);
	cr_assert(!dp_srtp_suite_supported(DP_SRTP_SUITE_COUNT));
}

/* The AES-CM suites must always work; GCM availability is reported. */
Test(srtp, engine_availability)
{
	uint8_t k[44] = {1};

	cr_assert(dp_srtp_suite_supported(DP_SRTP_AES_CM_128_HMAC_SHA1_80));
	cr_assert(dp_srtp_suite_supported(DP_SRTP_AES_CM_128_HMAC_SHA1_32));
	for (int i = DP_SRTP_AEAD_AES_128_GCM; i <= DP_SRTP_AEAD_AES_256_GCM; i++) {
		enum dp_srtp_suite s = (enum dp_srtp_suite)i;
		struct dp_srtp *st = dp_srtp_create(s, k, 16 + 12 + (i == DP_SRTP_AEAD_AES_256_GCM ? 16 : 0),
						    DP_SRTP_PROTECT, 0);

		if (dp_srtp_suite_supported(s)) {
			cr_log_info("%s: available in this libsrtp2 build", dp_srtp_suite_name(s));
			cr_assert_not_null(st);
		} else {
			cr_log_warn("%s: NOT available in this libsrtp2 build",
				    dp_srtp_suite_name(s));
			cr_assert_null(st);
			cr_assert_eq(errno, ENOTSUP);
		}
		dp_srtp_destroy(st);
	}
}

Test(srtp, create_errors)
{
	uint8_t k[64] = {0};
	struct dp_srtp *s;

	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 29, DP_SRTP_PROTECT, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 31, DP_SRTP_PROTECT, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, NULL, 30, DP_SRTP_PROTECT, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_SUITE_COUNT, k, 30, DP_SRTP_PROTECT, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 30, (enum dp_srtp_dir)7, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 30, DP_SRTP_UNPROTECT, 63));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(dp_srtp_create(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 30, DP_SRTP_UNPROTECT, 32768));
	cr_assert_eq(errno, EINVAL);
	s = mk(DP_SRTP_AES_CM_128_HMAC_SHA1_80, k, 30, DP_SRTP_UNPROTECT, 64);
	cr_assert_eq(dp_srtp_get_suite(s), DP_SRTP_AES_CM_128_HMAC_SHA1_80);
	cr_assert_eq(dp_srtp_get_dir(s), DP_SRTP_UNPROTECT);
	dp_srtp_destroy(s);
	dp_srtp_destroy(mk(DP_SRTP_AES_CM_128_HMAC_SHA1_32, k, 30, DP_SRTP_UNPROTECT, 32767));
	dp_srtp_destroy(NULL);
}

/* ------------------------------------------------------------------------ */
/* the reference against the RFCs                                           */

/* RFC 3711 B.3: key derivation with kdr = 0. */
Test(srtp, rfc3711_b3_key_derivation)
{
	uint8_t mk[16], ms[14], want[94], got[94];

	unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mk, sizeof(mk));
	unhex("0EC675AD498AFEEBB6960B3AABE6", ms, sizeof(ms));
	ref_kdf(mk, 16, ms, 14, 0x00, got, 16);
	unhex("C61E7A93744F39EE10734AFE3FF7A087", want, sizeof(want));
	cr_assert_arr_eq(got, want, 16, "cipher key");
	ref_kdf(mk, 16, ms, 14, 0x02, got, 14);
	unhex("30CBBC08863D8C85D49DB34A9AE1", want, sizeof(want));
	cr_assert_arr_eq(got, want, 14, "cipher salt");
	ref_kdf(mk, 16, ms, 14, 0x01, got, 94);
	unhex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE"
	      "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
	      "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2",
	      want, sizeof(want));
	cr_assert_arr_eq(got, want, 94, "auth key (the 20 first bytes are HMAC-SHA1's)");
}

/* RFC 3711 B.2: AES-CM keystream, session key/salt given, SSRC 0, index 0. */
Test(srtp, rfc3711_b2_aes_cm_keystream)
{
	static const struct {
		unsigned block;
		const char *hex;
	} want[] = {
		{0x0000, "E03EAD0935C95E80E166B16DD92B4EB4"},
		{0x0001, "D23513162B02D0F72A43A2FE4A5F97AB"},
		{0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0"},
		{0xfeff, "EC8CDF7398607CB0F2D21675EA9EA1E4"},
		{0xff00, "362B7C3C6773516318A077D7FC5073AE"},
		{0xff01, "6A2CC3787889374FBEB4C81B17BA6C44"},
	};
	size_t n = 0xff02 * 16;
	uint8_t key[16], salt[14], iv[16] = {0}, w[16];
	uint8_t *zero = calloc(1, n), *ks = malloc(n);

	unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof(key));
	unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt, sizeof(salt));
	memcpy(iv, salt, 14); /* SSRC 0, index 0: IV = salt << 16 */
	aes_ctr(key, 16, iv, zero, ks, n);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unhex(want[i].hex, w, sizeof(w));
		cr_assert_arr_eq(ks + want[i].block * 16, w, 16, "block %04x", want[i].block);
	}
	free(zero);
	free(ks);
}

/* RFC 7714 §16-17 give session keys (no KDF). dp_srtp takes master keys
 * only, so these vectors check the reference; dp_srtp is tied to the
 * reference by gcm_matches_reference and to libsrtp's GCM known answer. */
static const char rfc7714_rtp[] = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f"
				  "6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
static const char rfc7714_rtcp[] = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a"
				   "0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";

Test(srtp, rfc7714_vectors_reference)
{
	uint8_t k[32], salt[12], p[128], want[160], got[160];
	size_t klen, plen, wlen, glen;

	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k, sizeof(k));
	unhex("517569642070726f2071756f", salt, sizeof(salt));

	/* §16.1.1 AEAD_AES_128_GCM, SRTP, ROC 0 */
	plen = unhex(rfc7714_rtp, p, sizeof(p));
	klen = 16;
	wlen = unhex("8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
		     "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
		     want, sizeof(want));
	glen = ref_srtp_sess(DP_SRTP_AEAD_AES_128_GCM, k, klen, NULL, salt, 16, p, plen, 0, got);
	cr_assert_eq(glen, wlen);
	cr_assert_arr_eq(got, want, wlen, "RFC 7714 16.1.1");

	/* §16.2.1 AEAD_AES_256_GCM, SRTP */
	wlen = unhex("8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238"
		     "9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
		     want, sizeof(want));
	glen = ref_srtp_sess(DP_SRTP_AEAD_AES_256_GCM, k, 32, NULL, salt, 16, p, plen, 0, got);
	cr_assert_eq(glen, wlen);
	cr_assert_arr_eq(got, want, wlen, "RFC 7714 16.2.1");

	/* §17.1 AEAD_AES_128_GCM, SRTCP, index 0x5d4, E = 1 */
	plen = unhex(rfc7714_rtcp, p, sizeof(p));
	wlen = unhex("81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
		     "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872"
		     "45d9eade 800005d4",
		     want, sizeof(want));
	glen = ref_srtcp_sess(DP_SRTP_AEAD_AES_128_GCM, k, 16, NULL, salt, 16, p, plen, 0x5d4, got);
	cr_assert_eq(glen, wlen);
	cr_assert_arr_eq(got, want, wlen, "RFC 7714 17.1");

	/* §17.2 AEAD_AES_256_GCM, SRTCP */
	wlen = unhex("81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50"
		     "a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c"
		     "b26ac3be 800005d4",
		     want, sizeof(want));
	glen = ref_srtcp_sess(DP_SRTP_AEAD_AES_256_GCM, k, 32, NULL, salt, 16, p, plen, 0x5d4, got);
	cr_assert_eq(glen, wlen);
	cr_assert_arr_eq(got, want, wlen, "RFC 7714 17.2");
}

/* ------------------------------------------------------------------------ */
/* dp_srtp known answers (libsrtp's own validation packets)                 */

/* libsrtp test/srtp_driver.c srtp_validate(): the RFC 3711 B.3 master
 * key/salt, AES_CM_128_HMAC_SHA1_80, SSRC 0xcafebabe. */
static const char kat_key_cm[] = "e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6";
static const char kat_rtp_plain[] = "800f1234decafbadcafebabe abababababababababababababababab";
static const char kat_rtcp_plain[] = "81c8000bcafebabe abababababababababababababababab";

static void kat(enum dp_srtp_suite suite, const char *keyhex, const char *srtp_hex,
		const char *srtcp_hex)
{
	uint8_t key[64], p[64], want[64], b[64];
	size_t klen = unhex(keyhex, key, sizeof(key)), plen, wlen, len;
	struct dp_srtp *tx, *rx;
	struct ref r;

	need_suite(suite);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	ref_init(&r, suite, key);

	plen = unhex(kat_rtp_plain, p, sizeof(p));
	wlen = unhex(srtp_hex, want, sizeof(want));
	memcpy(b, p, plen);
	len = plen;
	cr_assert_eq(one(dp_srtp_protect_burst, tx, b, &len, sizeof(b)), 0);
	cr_assert_eq(len, wlen);
	cr_assert_arr_eq(b, want, wlen, "SRTP known answer");
	cr_assert_eq(ref_srtp(&r, p, plen, 0, b), wlen);
	cr_assert_arr_eq(b, want, wlen, "reference agrees with the known answer");
	memcpy(b, want, wlen);
	cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &len, sizeof(b)), 0);
	cr_assert_eq(len, plen);
	cr_assert_arr_eq(b, p, plen);

	plen = unhex(kat_rtcp_plain, p, sizeof(p));
	wlen = unhex(srtcp_hex, want, sizeof(want));
	memcpy(b, p, plen);
	len = plen;
	cr_assert_eq(one(dp_srtcp_protect_burst, tx, b, &len, sizeof(b)), 0);
	cr_assert_eq(len, wlen);
	cr_assert_arr_eq(b, want, wlen, "SRTCP known answer (index 1)");
	cr_assert_eq(ref_srtcp(&r, p, plen, 1, b), wlen);
	cr_assert_arr_eq(b, want, wlen, "reference agrees with the SRTCP known answer");
	memcpy(b, want, wlen);
	cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &len, sizeof(b)), 0);
	cr_assert_eq(len, plen);
	cr_assert_arr_eq(b, p, plen);
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

Test(srtp, known_answer_aes_cm_128_hmac_sha1_80)
{
	kat(DP_SRTP_AES_CM_128_HMAC_SHA1_80, kat_key_cm,
	    "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb",
	    "81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");
}

/* libsrtp test/srtp_driver.c srtp_validate_gcm(). */
Test(srtp, known_answer_aead_aes_128_gcm)
{
	kat(DP_SRTP_AEAD_AES_128_GCM, "000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaab",
	    "800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392",
	    "81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025 c52c6fbea2b3b446ea31123ba88ce61e 80000001");
}

/* ------------------------------------------------------------------------ */
/* dp_srtp against the reference, per suite                                 */

#define PER_SUITE(name)                                                                            \
	static void name(enum dp_srtp_suite suite);                                                \
	Test(srtp, name##_cm80)                                                                    \
	{                                                                                          \
		name(DP_SRTP_AES_CM_128_HMAC_SHA1_80);                                             \
	}                                                                                          \
	Test(srtp, name##_cm32)                                                                    \
	{                                                                                          \
		name(DP_SRTP_AES_CM_128_HMAC_SHA1_32);                                             \
	}                                                                                          \
	Test(srtp, name##_gcm128)                                                                  \
	{                                                                                          \
		need_suite(DP_SRTP_AEAD_AES_128_GCM);                                              \
		name(DP_SRTP_AEAD_AES_128_GCM);                                                    \
	}                                                                                          \
	Test(srtp, name##_gcm256)                                                                  \
	{                                                                                          \
		need_suite(DP_SRTP_AEAD_AES_256_GCM);                                              \
		name(DP_SRTP_AEAD_AES_256_GCM);                                                    \
	}                                                                                          \
	Test(srtp, name##_cm256_80)                                                                \
	{                                                                                          \
		need_suite(DP_SRTP_AES_256_CM_HMAC_SHA1_80);                                       \
		name(DP_SRTP_AES_256_CM_HMAC_SHA1_80);                                             \
	}                                                                                          \
	Test(srtp, name##_cm256_32)                                                                \
	{                                                                                          \
		need_suite(DP_SRTP_AES_256_CM_HMAC_SHA1_32);                                       \
		name(DP_SRTP_AES_256_CM_HMAC_SHA1_32);                                             \
	}

/* Protect across a sequence wrap (ROC 0 -> 1) with CSRCs, extensions and
 * payloads of 0..1200 bytes: dp_srtp == reference, byte for byte; and the
 * reference's packets unprotect in dp_srtp. The same for SRTCP. */
PER_SUITE(matches_reference)
static void matches_reference(enum dp_srtp_suite suite)
{
	static const size_t payloads[] = {0, 1, 15, 16, 17, 160, 172, 1200};
	uint8_t key[DP_SRTP_MAX_KEY_SALT], p[1400], want[1500];
	size_t klen;
	struct dp_srtp *tx, *rx;
	struct ref r;

	fill_key(suite, key, &klen);
	ref_init(&r, suite, key);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	for (unsigned i = 0; i < 24; i++) {
		uint16_t seq = (uint16_t)(65524 + i); /* wraps after i = 11 */
		uint32_t roc = i < 12 ? 0 : 1;
		size_t len = make_rtp(p, seq, 0x5501a0b2, i % 3, i % 4 == 1, payloads[i % 8]);
		size_t wlen = ref_srtp(&r, p, len, roc, want), glen = len;
		size_t room = len + dp_srtp_rtp_trailer_len(suite);
		uint8_t *b = buf_new(p, len, room);

		cr_assert_eq(one(dp_srtp_protect_burst, tx, b, &glen, room), 0);
		cr_assert_eq(glen, wlen, "seq %u", seq);
		cr_assert_arr_eq(b, want, wlen, "%s seq %u roc %u", dp_srtp_suite_name(suite), seq,
				 roc);
		if (roc == 1) { /* the ROC really is part of the result */
			uint8_t other[1500];

			ref_srtp(&r, p, len, 0, other);
			cr_assert_arr_neq(other, want, wlen);
		}
		memcpy(b, want, wlen); /* reference -> dp_srtp */
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &glen, room), 0, "seq %u", seq);
		cr_assert_eq(glen, len);
		cr_assert_arr_eq(b, p, len);
		free(b);
	}
	for (uint32_t idx = 1; idx <= 6; idx++) {
		size_t len = make_rtcp(p, 0x4d617273, 4 * idx * idx, (uint8_t)idx), glen = len;
		size_t wlen = ref_srtcp(&r, p, len, idx, want);
		size_t room = len + dp_srtp_rtcp_trailer_len(suite);
		uint8_t *b = buf_new(p, len, room);

		cr_assert_eq(one(dp_srtcp_protect_burst, tx, b, &glen, room), 0);
		cr_assert_eq(glen, wlen);
		cr_assert_arr_eq(b, want, wlen, "SRTCP index %u", idx);
		cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &glen, room), 0);
		cr_assert_eq(glen, len);
		cr_assert_arr_eq(b, p, len);
		free(b);
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

/* Bursts of 32 from two SSRCs: protect -> unprotect gives the originals. */
PER_SUITE(round_trip_bursts)
static void round_trip_bursts(enum dp_srtp_suite suite)
{
	enum { N = 32 };
	uint8_t key[DP_SRTP_MAX_KEY_SALT], orig[N][300], *pk[N];
	uint16_t lens[N], room = 300;
	int16_t rc[N];
	size_t olen[N], klen;
	struct dp_srtp *tx, *rx;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			olen[i] = make_rtp(orig[i], (uint16_t)(round * N / 2 + i / 2),
					   i % 2 ? 0x1234 : 0xfeed, 0, false, 172);
			pk[i] = buf_new(orig[i], olen[i], room);
			lens[i] = (uint16_t)olen[i];
		}
		cr_assert_eq(dp_srtp_protect_burst(tx, pk, lens, room, rc, N), N);
		for (int i = 0; i < N; i++) {
			cr_assert_eq(rc[i], 0);
			cr_assert_eq(lens[i], olen[i] + dp_srtp_rtp_trailer_len(suite));
			cr_assert_arr_neq(pk[i] + 12, orig[i] + 12, 172, "payload not encrypted");
		}
		cr_assert_eq(dp_srtp_unprotect_burst(rx, pk, lens, room, rc, N), N);
		for (int i = 0; i < N; i++) {
			cr_assert_eq(rc[i], 0);
			cr_assert_eq(lens[i], olen[i]);
			cr_assert_arr_eq(pk[i], orig[i], olen[i]);
			free(pk[i]);
		}
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

/* Flipping any bit after byte 0 (header, payload or tag) fails
 * authentication; a fresh receiver each time, so no replay state helps. */
PER_SUITE(tamper_every_byte)
static void tamper_every_byte(enum dp_srtp_suite suite)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], p[100], good[128], b[128];
	size_t klen, len, glen;
	struct dp_srtp *tx;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	len = make_rtp(p, 7, 0xabcdef01, 1, true, 40);
	glen = len;
	memcpy(good, p, len);
	cr_assert_eq(one(dp_srtp_protect_burst, tx, good, &glen, sizeof(good)), 0);
	for (size_t i = 1; i < glen; i++) {
		struct dp_srtp *rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
		size_t l = glen;

		memcpy(b, good, glen);
		b[i] ^= (uint8_t)(1u << (i % 8));
		int rc = one(dp_srtp_unprotect_burst, rx, b, &l, sizeof(b));

		if (i == 18 || i == 19) /* extension length: header may overrun the packet */
			cr_assert(rc == -EBADMSG || rc == -EINVAL, "byte %zu: %d", i, rc);
		else
			cr_assert_eq(rc, -EBADMSG, "byte %zu", i);
		memcpy(b, good, glen);
		l = glen;
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &l, sizeof(b)), 0);
		dp_srtp_destroy(rx);
	}
	/* a wrong key is an authentication failure too */
	key[3] ^= 1;
	{
		struct dp_srtp *rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
		size_t l = glen;

		memcpy(b, good, glen);
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &l, sizeof(b)), -EBADMSG);
		dp_srtp_destroy(rx);
	}
	dp_srtp_destroy(tx);
}

/* Replay, too old, within the window, and a larger window. */
PER_SUITE(replay_window)
static void replay_window(enum dp_srtp_suite suite)
{
	static const uint16_t seqs[] = {800, 872, 873, 900, 1000, 1001}; /* protect: ascending */
	uint8_t key[DP_SRTP_MAX_KEY_SALT], pk[6][128], p[100];
	size_t klen, len[6];
	struct dp_srtp *tx, *rx, *rx512;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);      /* 128 */
	rx512 = mk(suite, key, klen, DP_SRTP_UNPROTECT, 512); /* 512 */
	for (int i = 0; i < 6; i++) {
		len[i] = make_rtp(p, seqs[i], 42, 0, false, 20);
		memcpy(pk[i], p, len[i]);
		cr_assert_eq(one(dp_srtp_protect_burst, tx, pk[i], &len[i], 128), 0);
	}
	/* protect refuses an index it already used (keystream reuse) */
	{
		size_t l = make_rtp(p, 900, 42, 0, false, 20);

		cr_assert_eq(one(dp_srtp_protect_burst, tx, p, &l, sizeof(p)), -EALREADY);
	}
	for (int w = 0; w < 2; w++) {
		struct dp_srtp *r = w ? rx512 : rx;
		uint8_t b[128];
		size_t l;

#define UNP(i)                                                                                     \
	(memcpy(b, pk[i], len[i]), l = len[i], one(dp_srtp_unprotect_burst, r, b, &l, sizeof(b)))
		cr_assert_eq(UNP(4), 0);                        /* 1000 */
		cr_assert_eq(UNP(4), -EALREADY, "replayed");    /* 1000 again */
		cr_assert_eq(UNP(0), w ? 0 : -EALREADY, "800"); /* 200 behind */
		cr_assert_eq(UNP(3), 0, "900, in window");      /* 100 behind */
		cr_assert_eq(UNP(3), -EALREADY, "900 replayed");
		cr_assert_eq(UNP(5), 0);                         /* 1001 */
		cr_assert_eq(UNP(4), -EALREADY, "1000 after 1001");
		cr_assert_eq(UNP(1), w ? 0 : -EALREADY, "872");  /* 129 behind */
#undef UNP
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
	dp_srtp_destroy(rx512);
}

/* Sequence wrap on the receiver, in order and reordered across the wrap,
 * then a replay of a pre-wrap packet. */
PER_SUITE(roc_wrap)
static void roc_wrap(enum dp_srtp_suite suite)
{
	enum { N = 40 };
	static const int order[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				    19, 21, 20, 23, 22, 24, 26, 25, 27, 28, 29, 31, 30, 32, 33, 34,
				    35, 36, 37, 38, 39};
	uint8_t key[DP_SRTP_MAX_KEY_SALT], pk[N][64], p[64];
	size_t klen, len[N];
	struct dp_srtp *tx, *rx;
	struct ref r;

	fill_key(suite, key, &klen);
	ref_init(&r, suite, key);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	for (int i = 0; i < N; i++) { /* 65515 .. 65535, 0 .. 18 */
		uint8_t want[64];
		uint16_t seq = (uint16_t)(65515 + i);

		len[i] = make_rtp(p, seq, 7, 0, false, 8);
		ref_srtp(&r, p, len[i], i > 20 ? 1 : 0, want);
		memcpy(pk[i], p, len[i]);
		cr_assert_eq(one(dp_srtp_protect_burst, tx, pk[i], &len[i], 64), 0);
		cr_assert_arr_eq(pk[i], want, len[i], "seq %u", seq);
	}
	for (int j = 0; j < N; j++) {
		int i = order[j];
		uint8_t b[64];
		size_t l = len[i];

		memcpy(b, pk[i], l);
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &l, sizeof(b)), 0, "packet %d", i);
		make_rtp(p, (uint16_t)(65515 + i), 7, 0, false, 8);
		cr_assert_arr_eq(b, p, l);
	}
	{
		uint8_t b[64];
		size_t l = len[20]; /* seq 65535 after the wrap */

		memcpy(b, pk[20], l);
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, b, &l, sizeof(b)), -EALREADY);
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

/* SRTCP: round trip, tamper, replay, E flag cleared, too short. */
PER_SUITE(srtcp)
static void srtcp(enum dp_srtp_suite suite)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], p[128], good[160], b[160];
	size_t klen, len, glen, l;
	struct dp_srtp *tx, *rx;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	len = make_rtcp(p, 0x10203040, 44, 3);
	glen = len;
	memcpy(good, p, len);
	cr_assert_eq(one(dp_srtcp_protect_burst, tx, good, &glen, sizeof(good)), 0);
	cr_assert_eq(glen, len + dp_srtp_rtcp_trailer_len(suite));
	cr_assert_arr_neq(good + 8, p + 8, 44, "RTCP body not encrypted");
	for (size_t i = 1; i < glen; i++) {
		l = glen;
		memcpy(b, good, glen);
		b[i] ^= 0x10;
		cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &l, sizeof(b)), -EBADMSG,
			     "byte %zu", i);
	}
	/* E flag cleared: never accepted as "authenticated only" */
	{
		size_t e = is_gcm(suite) ? glen - 4 : len;

		l = glen;
		memcpy(b, good, glen);
		b[e] &= 0x7f;
		cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &l, sizeof(b)), -EBADMSG);
	}
	l = glen;
	memcpy(b, good, glen);
	cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &l, sizeof(b)), 0);
	cr_assert_eq(l, len);
	cr_assert_arr_eq(b, p, len);
	l = glen;
	memcpy(b, good, glen);
	cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &l, sizeof(b)), -EALREADY, "replay");
	l = 8 + dp_srtp_rtcp_trailer_len(suite) - 1;
	cr_assert_eq(one(dp_srtcp_unprotect_burst, rx, b, &l, sizeof(b)), -EINVAL);
	l = 7;
	memcpy(b, p, len);
	cr_assert_eq(one(dp_srtcp_protect_burst, tx, b, &l, sizeof(b)), -EINVAL);
	l = len;
	b[0] = 0x40; /* version 1 */
	cr_assert_eq(one(dp_srtcp_protect_burst, tx, b, &l, sizeof(b)), -EINVAL);
	l = len;
	memcpy(b, p, len);
	cr_assert_eq(one(dp_srtcp_protect_burst, tx, b, &l, len + dp_srtp_rtcp_trailer_len(suite) - 1),
		     -ENOSPC);
	cr_assert_arr_eq(b, p, len, "untouched on -ENOSPC");
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

/* ------------------------------------------------------------------------ */
/* bursts with bad packets, malformed input, misuse                         */

Test(srtp, mixed_unprotect_burst)
{
	enum dp_srtp_suite suite = DP_SRTP_AES_CM_128_HMAC_SHA1_80;
	uint8_t key[DP_SRTP_MAX_KEY_SALT], a[64], bb[64], c[64], d[64], e[64], f[64], g[64], p[64];
	uint8_t *pk[8] = {a, bb, c, d, e, f, NULL, g};
	uint16_t lens[8];
	int16_t rc[8];
	size_t klen, l0, l1;
	struct dp_srtp *tx, *rx;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	l0 = make_rtp(a, 10, 99, 0, false, 30);
	cr_assert_eq(one(dp_srtp_protect_burst, tx, a, &l0, 64), 0);
	l1 = make_rtp(f, 11, 99, 0, false, 30);
	cr_assert_eq(one(dp_srtp_protect_burst, tx, f, &l1, 64), 0);
	memcpy(bb, f, l1);
	bb[20] ^= 1;         /* tampered copy of f (seq 11, not yet seen) */
	memcpy(c, a, 15);    /* too short for header + tag */
	memcpy(d, a, l0);    /* replay of a within the burst */
	memcpy(e, a, l0);
	e[0] = 0x40;         /* version 1 */
	memcpy(g, a, l0);    /* lens > room */
	uint16_t init[8] = {(uint16_t)l0, (uint16_t)l1, 15, (uint16_t)l0, (uint16_t)l0,
			    (uint16_t)l1, 40, 65};
	memcpy(lens, init, sizeof(lens));
	cr_assert_eq(dp_srtp_unprotect_burst(rx, pk, lens, 64, rc, 8), 2);
	int16_t want[8] = {0, -EBADMSG, -EINVAL, -EALREADY, -EINVAL, 0, -EINVAL, -EINVAL};
	for (int i = 0; i < 8; i++)
		cr_assert_eq(rc[i], want[i], "packet %d: rc %d want %d", i, rc[i], want[i]);
	cr_assert_eq(lens[0], l0 - 10);
	cr_assert_eq(lens[5], l1 - 10);
	for (int i = 1; i < 5; i++)
		cr_assert_eq(lens[i], init[i], "length of failed packet %d changed", i);
	make_rtp(p, 10, 99, 0, false, 30);
	cr_assert_arr_eq(a, p, lens[0]);
	cr_assert_eq(dp_srtp_unprotect_burst(rx, pk, lens, 64, rc, 0), 0);
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

Test(srtp, mixed_protect_burst_and_malformed)
{
	enum dp_srtp_suite suite = DP_SRTP_AES_CM_128_HMAC_SHA1_32;
	uint8_t key[DP_SRTP_MAX_KEY_SALT], pk[8][64], p[64];
	uint8_t *pp[8];
	uint16_t lens[8];
	int16_t rc[8];
	size_t klen, l;
	struct dp_srtp *tx;

	fill_key(suite, key, &klen);
	tx = mk(suite, key, klen, DP_SRTP_PROTECT, 0);
	for (int i = 0; i < 8; i++) {
		l = make_rtp(pk[i], (uint16_t)(100 + i), 5, 0, false, 20); /* 32 bytes */
		lens[i] = (uint16_t)l;
		pp[i] = pk[i];
	}
	lens[1] = 11;                        /* shorter than the fixed header */
	lens[2] = 61;                        /* 61 + 4 > room 64 */
	pk[3][0] = 0xc0;                     /* version 3 */
	pk[4][0] = 0x8f;                     /* 15 CSRCs: 72 bytes of header */
	pk[5][0] = 0x90;                     /* extension ... */
	pk[5][14] = 0xff, pk[5][15] = 0xff;  /* ... of 65535 words */
	pk[6][0] = 0x90;                     /* extension header cut off */
	lens[6] = 14;
	cr_assert_eq(dp_srtp_protect_burst(tx, pp, lens, 64, rc, 8), 2);
	int16_t want[8] = {0, -EINVAL, -ENOSPC, -EINVAL, -EINVAL, -EINVAL, -EINVAL, 0};
	for (int i = 0; i < 8; i++)
		cr_assert_eq(rc[i], want[i], "packet %d: rc %d want %d", i, rc[i], want[i]);
	cr_assert_eq(lens[0], 36);
	cr_assert_eq(lens[7], 36);
	cr_assert_eq(lens[2], 61);
	/* exactly enough room */
	l = make_rtp(p, 200, 5, 0, false, 20);
	{
		uint8_t *b = buf_new(p, l, l + 4);

		cr_assert_eq(one(dp_srtp_protect_burst, tx, b, &l, l + 4), 0);
		cr_assert_eq(l, 36);
		free(b);
	}
	/* unprotect: header + tag must fit */
	{
		struct dp_srtp *rx = mk(suite, key, klen, DP_SRTP_UNPROTECT, 0);

		l = 15;
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, pk[0], &l, 64), -EINVAL);
		l = 11;
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, pk[0], &l, 64), -EINVAL);
		l = 0;
		cr_assert_eq(one(dp_srtp_unprotect_burst, rx, pk[0], &l, 64), -EINVAL);
		dp_srtp_destroy(rx);
	}
	dp_srtp_destroy(tx);
}

Test(srtp, wrong_direction_and_null)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], p[64];
	size_t klen, l;
	struct dp_srtp *tx, *rx;

	fill_key(DP_SRTP_AES_CM_128_HMAC_SHA1_80, key, &klen);
	tx = mk(DP_SRTP_AES_CM_128_HMAC_SHA1_80, key, klen, DP_SRTP_PROTECT, 0);
	rx = mk(DP_SRTP_AES_CM_128_HMAC_SHA1_80, key, klen, DP_SRTP_UNPROTECT, 0);
	l = make_rtp(p, 1, 1, 0, false, 10);
	cr_assert_eq(one(dp_srtp_unprotect_burst, tx, p, &l, 64), -EBADF);
	cr_assert_eq(one(dp_srtcp_unprotect_burst, tx, p, &l, 64), -EBADF);
	cr_assert_eq(one(dp_srtp_protect_burst, rx, p, &l, 64), -EBADF);
	cr_assert_eq(one(dp_srtcp_protect_burst, rx, p, &l, 64), -EBADF);
	cr_assert_eq(one(dp_srtp_protect_burst, NULL, p, &l, 64), -EINVAL);
	cr_assert_eq(one(dp_srtcp_unprotect_burst, NULL, p, &l, 64), -EINVAL);
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
}

/* Streams created and used on several threads at once: the library
 * initialises once. */
static void *thread_main(void *arg)
{
	enum dp_srtp_suite suite = (enum dp_srtp_suite)(uintptr_t)arg;
	uint8_t key[DP_SRTP_MAX_KEY_SALT] = {7}, p[64], b[64];
	size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	int bad = 0;

	if (!dp_srtp_suite_supported(suite))
		return NULL;
	for (int n = 0; n < 50; n++) {
		struct dp_srtp *tx = dp_srtp_create(suite, key, klen, DP_SRTP_PROTECT, 0);
		struct dp_srtp *rx = dp_srtp_create(suite, key, klen, DP_SRTP_UNPROTECT, 0);
		size_t l = make_rtp(p, (uint16_t)n, 3, 0, false, 30);

		memcpy(b, p, l);
		if (!tx || !rx || one(dp_srtp_protect_burst, tx, b, &l, 64) ||
		    one(dp_srtp_unprotect_burst, rx, b, &l, 64) || memcmp(b, p, l))
			bad++;
		dp_srtp_destroy(tx);
		dp_srtp_destroy(rx);
	}
	return (void *)(intptr_t)bad;
}

Test(srtp, concurrent_first_use)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)i), 0);
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(t[i], &r);
		cr_assert_null(r, "thread %d failed", i);
	}
}
