/* SPDX-License-Identifier: MIT
 * perf/perf_srtp.c: ns per packet of dp_srtp protect and unprotect on each
 * engine (intel-ipsec-mb, OpenSSL, libsrtp2; on Debian 12 libsrtp2 is built
 * on NSS) against an OpenSSL-only implementation of the same operation,
 * measured side by side in one run.
 *
 * Work: 184-byte RTP packets (12-byte header + 172-byte payload, 20 ms of
 * G.711 plus a little), one SSRC, sequence numbers counting up, handed over
 * in bursts of 32 as a worker would. Each round uses fresh streams (replay
 * protection forbids reusing indices) and ROUND_PKTS packets; only the burst
 * calls are timed (packets are copied into the work buffers between calls).
 * The table gives the median over rounds; rounds alternate the order of the
 * two implementations so machine noise hits both alike.
 *
 * The OpenSSL reference does per packet what an SRTP receiver must: parse
 * the header, estimate the ROC (RFC 3711 §3.3.1), check a 128-packet replay
 * window, verify the tag (HMAC-SHA1 through EVP_MAC, constant-time compare;
 * or AES-GCM), decrypt (EVP AES-CTR / AES-GCM with key schedules made once),
 * and update the window; protect encrypts and tags. Its output is checked
 * byte for byte against dp_srtp before timing, so both do the same work.
 *
 * Usage: perf_srtp [rounds]   (default 15)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dp_srtp.h"

#define PAYLOAD 172
#define HDR 12
#define PKT (HDR + PAYLOAD)
#define ROOM 256
#define BURST 32
#define ROUND_PKTS 4096
#define MAX_ROUNDS 101

static uint8_t plain[ROUND_PKTS][PKT];
static uint8_t sealed[ROUND_PKTS][ROOM];
static uint16_t sealed_len[ROUND_PKTS];
static uint8_t work[BURST][ROOM];
static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "perf_srtp: %s\n", what);
	exit(1);
}

/* --- OpenSSL reference ------------------------------------------------- */

struct ref {
	bool gcm;
	size_t tag;
	EVP_CIPHER_CTX *enc, *dec;
	EVP_MAC_CTX *mac;
	uint8_t salt[14];
	/* receiver state: one SSRC */
	bool init;
	uint16_t s_l;
	uint32_t roc;
	uint64_t top;     /* highest accepted index */
	uint64_t win[2];  /* bit i: index top - i seen */
	/* sender state */
	uint32_t tx_roc;
	bool tx_init;
	uint16_t tx_last;
};

static void kdf(const uint8_t *mk, size_t mkl, const uint8_t *ms, size_t msl, uint8_t label,
		uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0}, zero[64] = {0};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l;

	memcpy(iv, ms, msl);
	iv[7] ^= label;
	if (!c || !EVP_EncryptInit_ex(c, mkl == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL, mk,
				      iv) ||
	    !EVP_EncryptUpdate(c, out, &l, zero, (int)n))
		die("kdf");
	EVP_CIPHER_CTX_free(c);
}

static void ref_init(struct ref *r, enum dp_srtp_suite suite, const uint8_t *master)
{
	size_t kl = dp_srtp_key_len(suite), sl = dp_srtp_salt_len(suite);
	const EVP_CIPHER *cip;
	uint8_t k[32], a[20];

	memset(r, 0, sizeof(*r));
	r->gcm = suite == DP_SRTP_AEAD_AES_128_GCM || suite == DP_SRTP_AEAD_AES_256_GCM;
	r->tag = dp_srtp_rtp_trailer_len(suite);
	kdf(master, kl, master + kl, sl, 0, k, kl);
	kdf(master, kl, master + kl, sl, 1, a, 20);
	kdf(master, kl, master + kl, sl, 2, r->salt, sl);
	if (r->gcm)
		cip = kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
	else
		cip = kl == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
	r->enc = EVP_CIPHER_CTX_new();
	r->dec = EVP_CIPHER_CTX_new();
	if (!r->enc || !r->dec || !EVP_EncryptInit_ex(r->enc, cip, NULL, k, NULL) ||
	    !EVP_DecryptInit_ex(r->dec, cip, NULL, k, NULL))
		die("cipher init");
	if (!r->gcm) {
		EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
				  OSSL_PARAM_construct_end()};

		r->mac = m ? EVP_MAC_CTX_new(m) : NULL;
		if (!r->mac || !EVP_MAC_init(r->mac, a, 20, p))
			die("hmac init");
		EVP_MAC_free(m);
	}
}

static void ref_free(struct ref *r)
{
	EVP_CIPHER_CTX_free(r->enc);
	EVP_CIPHER_CTX_free(r->dec);
	EVP_MAC_CTX_free(r->mac);
}

static void ref_reset(struct ref *r)
{
	r->init = r->tx_init = false;
	r->roc = r->tx_roc = 0;
	r->top = 0;
	r->win[0] = r->win[1] = 0;
}

static size_t hdr_len(const uint8_t *p, size_t len)
{
	size_t h;

	if (len < 12 || (p[0] >> 6) != 2)
		return 0;
	h = 12 + 4u * (p[0] & 15);
	if (p[0] & 0x10) {
		if (h + 4 > len)
			return 0;
		h += 4 + 4u * ((size_t)p[h + 2] << 8 | p[h + 3]);
	}
	return h <= len ? h : 0;
}

static void cm_iv(const struct ref *r, const uint8_t *p, uint64_t idx, uint8_t iv[16])
{
	memcpy(iv, r->salt, 14);
	iv[14] = iv[15] = 0;
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(idx >> (40 - 8 * i));
}

static void gcm_iv(const struct ref *r, const uint8_t *p, uint32_t roc, uint8_t iv[12])
{
	iv[0] = iv[1] = 0;
	memcpy(iv + 2, p + 8, 4);
	iv[6] = (uint8_t)(roc >> 24), iv[7] = (uint8_t)(roc >> 16);
	iv[8] = (uint8_t)(roc >> 8), iv[9] = (uint8_t)roc;
	iv[10] = p[2], iv[11] = p[3];
	for (int i = 0; i < 12; i++)
		iv[i] ^= r->salt[i];
}

static bool hmac_tag(struct ref *r, const uint8_t *p, size_t len, uint32_t roc, uint8_t out[20])
{
	uint8_t rb[4] = {(uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8),
			 (uint8_t)roc};
	size_t ol;

	return EVP_MAC_init(r->mac, NULL, 0, NULL) && EVP_MAC_update(r->mac, p, len) &&
	       EVP_MAC_update(r->mac, rb, 4) && EVP_MAC_final(r->mac, out, &ol, 20);
}

/* Protect in place; returns the new length or 0. */
static size_t ref_protect(struct ref *r, uint8_t *p, size_t len)
{
	size_t h = hdr_len(p, len);
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	int l;

	if (!h)
		return 0;
	if (r->tx_init && seq < r->tx_last && r->tx_last - seq > 32768)
		r->tx_roc++;
	r->tx_init = true;
	r->tx_last = seq;
	if (r->gcm) {
		uint8_t iv[12];

		gcm_iv(r, p, r->tx_roc, iv);
		if (!EVP_EncryptInit_ex(r->enc, NULL, NULL, NULL, iv) ||
		    !EVP_EncryptUpdate(r->enc, NULL, &l, p, (int)h) ||
		    !EVP_EncryptUpdate(r->enc, p + h, &l, p + h, (int)(len - h)) ||
		    !EVP_EncryptFinal_ex(r->enc, p + len, &l) ||
		    !EVP_CIPHER_CTX_ctrl(r->enc, EVP_CTRL_GCM_GET_TAG, 16, p + len))
			return 0;
		return len + 16;
	}
	uint8_t iv[16], mac[20];

	cm_iv(r, p, (uint64_t)r->tx_roc << 16 | seq, iv);
	if (!EVP_EncryptInit_ex(r->enc, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(r->enc, p + h, &l, p + h, (int)(len - h)) ||
	    !hmac_tag(r, p, len, r->tx_roc, mac))
		return 0;
	memcpy(p + len, mac, r->tag);
	return len + r->tag;
}

/* Unprotect in place; returns the new length or 0. */
static size_t ref_unprotect(struct ref *r, uint8_t *p, size_t len)
{
	size_t h = hdr_len(p, len);
	uint16_t seq;
	uint32_t v;
	uint64_t idx;
	int l;

	if (!h || h + r->tag > len)
		return 0;
	seq = (uint16_t)(p[2] << 8 | p[3]);
	/* RFC 3711 §3.3.1 index estimate */
	if (!r->init)
		v = r->roc;
	else if (r->s_l < 32768)
		v = (seq > r->s_l && seq - r->s_l > 32768) ? r->roc - 1 : r->roc;
	else
		v = (r->s_l - 32768 > seq) ? r->roc + 1 : r->roc;
	idx = (uint64_t)v << 16 | seq;
	/* replay */
	if (r->init && idx <= r->top) {
		uint64_t d = r->top - idx;

		if (d >= 128 || (r->win[d / 64] >> (d % 64) & 1))
			return 0;
	}
	len -= r->tag;
	if (r->gcm) {
		uint8_t iv[12];

		gcm_iv(r, p, v, iv);
		if (!EVP_DecryptInit_ex(r->dec, NULL, NULL, NULL, iv) ||
		    !EVP_DecryptUpdate(r->dec, NULL, &l, p, (int)h) ||
		    !EVP_DecryptUpdate(r->dec, p + h, &l, p + h, (int)(len - h)) ||
		    !EVP_CIPHER_CTX_ctrl(r->dec, EVP_CTRL_GCM_SET_TAG, 16, p + len) ||
		    EVP_DecryptFinal_ex(r->dec, p + len, &l) <= 0)
			return 0;
	} else {
		uint8_t iv[16], mac[20];

		if (!hmac_tag(r, p, len, v, mac) || CRYPTO_memcmp(mac, p + len, r->tag) != 0)
			return 0;
		cm_iv(r, p, idx, iv);
		if (!EVP_DecryptInit_ex(r->dec, NULL, NULL, NULL, iv) ||
		    !EVP_DecryptUpdate(r->dec, p + h, &l, p + h, (int)(len - h)))
			return 0;
	}
	/* accept: update window and ROC state */
	if (!r->init || idx > r->top) {
		uint64_t s = r->init ? idx - r->top : 128;

		if (s >= 128) {
			r->win[0] = r->win[1] = 0;
		} else if (s >= 64) {
			r->win[1] = r->win[0] << (s - 64);
			r->win[0] = 0;
		} else if (s > 0) {
			r->win[1] = r->win[1] << s | r->win[0] >> (64 - s);
			r->win[0] <<= s;
		}
		r->win[0] |= 1;
		r->top = idx;
		r->roc = v;
		r->s_l = seq;
		r->init = true;
	} else {
		uint64_t d = r->top - idx;

		r->win[d / 64] |= 1ull << (d % 64);
	}
	return len;
}

/* --- benchmark ------------------------------------------------------------ */

static void make_plain(void)
{
	for (int i = 0; i < ROUND_PKTS; i++) {
		uint8_t *p = plain[i];
		uint32_t ts = 160u * (uint32_t)i;

		p[0] = 0x80, p[1] = 0;
		p[2] = (uint8_t)(i >> 8), p[3] = (uint8_t)i;
		p[4] = (uint8_t)(ts >> 24), p[5] = (uint8_t)(ts >> 16);
		p[6] = (uint8_t)(ts >> 8), p[7] = (uint8_t)ts;
		p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78;
		for (int j = 0; j < PAYLOAD; j++)
			p[HDR + j] = (uint8_t)(0xd5 ^ (i * 31 + j));
	}
}

/* One round of one implementation and direction; returns ns per packet. */
static double run(enum dp_srtp_suite suite, const uint8_t *key, size_t klen, bool ref,
		  bool protect, struct ref *r)
{
	struct dp_srtp *s = NULL;
	uint8_t *pk[BURST];
	uint16_t lens[BURST];
	int16_t rc[BURST];
	double total = 0;

	if (ref)
		ref_reset(r);
	else if (!(s = dp_srtp_create(suite, key, klen, protect ? DP_SRTP_PROTECT : DP_SRTP_UNPROTECT,
				      0)))
		die("dp_srtp_create");
	for (int b = 0; b < ROUND_PKTS; b += BURST) {
		double t0;
		unsigned ok = 0;

		for (int i = 0; i < BURST; i++) {
			pk[i] = work[i];
			if (protect) {
				memcpy(work[i], plain[b + i], PKT);
				lens[i] = PKT;
			} else {
				memcpy(work[i], sealed[b + i], sealed_len[b + i]);
				lens[i] = sealed_len[b + i];
			}
		}
		t0 = now_ns();
		if (ref) {
			for (int i = 0; i < BURST; i++) {
				size_t l = protect ? ref_protect(r, pk[i], lens[i])
						   : ref_unprotect(r, pk[i], lens[i]);
				ok += l != 0;
				lens[i] = (uint16_t)l;
			}
		} else {
			ok = protect ? dp_srtp_protect_burst(s, pk, lens, ROOM, rc, BURST)
				     : dp_srtp_unprotect_burst(s, pk, lens, ROOM, rc, BURST);
		}
		total += now_ns() - t0;
		if (ok != BURST)
			die("a packet failed during timing");
		sink += work[b % BURST][HDR] + lens[0];
	}
	dp_srtp_destroy(s);
	return total / ROUND_PKTS;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seal the round's packets with dp_srtp, check the reference makes the same
 * bytes and opens them. */
static void prepare(enum dp_srtp_suite suite, const uint8_t *key, size_t klen, struct ref *r)
{
	struct dp_srtp *tx = dp_srtp_create(suite, key, klen, DP_SRTP_PROTECT, 0);
	uint8_t b[ROOM];

	if (!tx)
		die("dp_srtp_create");
	ref_reset(r);
	for (int i = 0; i < ROUND_PKTS; i++) {
		uint8_t *pk[1] = {sealed[i]};
		uint16_t l[1] = {PKT};
		int16_t rc[1];
		size_t rl;

		memcpy(sealed[i], plain[i], PKT);
		if (dp_srtp_protect_burst(tx, pk, l, ROOM, rc, 1) != 1)
			die("protect");
		sealed_len[i] = l[0];
		memcpy(b, plain[i], PKT);
		rl = ref_protect(r, b, PKT);
		if (rl != l[0] || memcmp(b, sealed[i], rl) != 0)
			die("reference protect differs from dp_srtp");
	}
	ref_reset(r);
	for (int i = 0; i < ROUND_PKTS; i++) {
		memcpy(b, sealed[i], sealed_len[i]);
		if (ref_unprotect(r, b, sealed_len[i]) != PKT || memcmp(b, plain[i], PKT) != 0)
			die("reference unprotect failed on dp_srtp output");
	}
	dp_srtp_destroy(tx);
}

int main(int argc, char **argv)
{
	static double t[4][MAX_ROUNDS];
	int rounds = argc > 1 ? atoi(argv[1]) : 15;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		die("rounds must be 1..101");
	make_plain();
	printf("perf_srtp: %d-byte RTP packets (%d-byte payload), bursts of %d, %d packets x %d "
	       "rounds, median ns per packet\n",
	       PKT, PAYLOAD, BURST, ROUND_PKTS, rounds);
	printf("dp_srtp engines: each that runs here (libsrtp2 as linked: Debian 12 builds it on NSS); "
	       "reference: %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("%-9s %-24s %10s %10s %7s   %10s %10s %7s\n", "engine", "suite", "protect", "openssl",
	       "ratio", "unprotect", "openssl", "ratio");
	for (int e = DP_SRTP_ENGINE_IPSEC_MB; e < DP_SRTP_ENGINE_COUNT; e++)
	for (int si = 0; si < DP_SRTP_SUITE_COUNT; si++) {
		enum dp_srtp_suite suite = (enum dp_srtp_suite)si;
		uint8_t key[DP_SRTP_MAX_KEY_SALT];
		size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
		struct ref r;
		double m[4];

		if (dp_srtp_set_default_engine((enum dp_srtp_engine)e) || !dp_srtp_suite_supported(suite)) {
			printf("%-9s %-24s not supported here\n", dp_srtp_engine_name((enum dp_srtp_engine)e),
			       dp_srtp_suite_name(suite));
			continue;
		}
		for (size_t i = 0; i < klen; i++)
			key[i] = (uint8_t)(i * 37 + si);
		ref_init(&r, suite, key);
		prepare(suite, key, klen, &r);
		for (int k = 0; k < rounds; k++) {
			bool ref_first = k % 2;

			for (int dir = 0; dir < 2; dir++) {
				bool protect = dir == 0;

				if (ref_first) {
					t[dir * 2 + 1][k] = run(suite, key, klen, true, protect, &r);
					t[dir * 2][k] = run(suite, key, klen, false, protect, &r);
				} else {
					t[dir * 2][k] = run(suite, key, klen, false, protect, &r);
					t[dir * 2 + 1][k] = run(suite, key, klen, true, protect, &r);
				}
			}
		}
		for (int i = 0; i < 4; i++)
			m[i] = median(t[i], rounds);
		printf("%-9s %-24s %10.0f %10.0f %6.2fx   %10.0f %10.0f %6.2fx\n",
		       dp_srtp_engine_name((enum dp_srtp_engine)e), dp_srtp_suite_name(suite), m[0], m[1], m[0] / m[1], m[2], m[3], m[2] / m[3]);
		ref_free(&r);
	}
	printf("ratio = dp_srtp / OpenSSL reference (docs/architecture.md: NSS libsrtp2 ~1750 ns vs "
	       "OpenSSL libsrtp2 ~340 ns per unprotect)\n");
	return sink == 42 ? 1 : 0;
}
