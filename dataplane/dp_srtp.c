/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp: the SRTP/SRTCP protocol layer (RFC 3711, RFC 6188,
 * RFC 7714) over batched crypto engines (dp_srtp_engine.h), engine choice,
 * fresh SDES keys.
 *
 * Per stream, allocated at create: session keys (derived once with the
 * AES-CM PRF), the engine's state, and a fixed table of max_ssrcs SSRC
 * entries (ROC and highest index, an SRTP replay bitmap of the stream's
 * window, the SRTCP index and its 128-packet replay bitmap). A burst is
 * processed in chunks of CHUNK packets: prepare each (checks, SSRC, index,
 * replay pre-check, IV, AAD, tag placement), one engine call for the chunk,
 * then finish each in order (tag check, replay commit, trailer). Nothing is
 * allocated after create. The libsrtp engine (dp_srtp_libsrtp.c) takes whole
 * packets instead; the SSRC table still bounds what it may allocate.
 *
 * Layouts (what protect writes and unprotect expects), as libsrtp does them:
 *   SRTP AES-CM:   header | enc payload | MKI | tag(10/4)
 *                  tag = HMAC-SHA1(header | enc payload | ROC)
 *   SRTP GCM:      header | enc payload | tag(16) | MKI;  AAD = header
 *   SRTCP AES-CM:  hdr(8) | enc | E|index | MKI | tag(10)
 *                  tag = HMAC-SHA1(hdr(8) | enc | E|index)
 *   SRTCP GCM:     hdr(8) | enc | tag(16) | E|index | MKI;
 *                  AAD = hdr(8) | E|index
 * ROC estimation follows libsrtp's (a stream's first 2^15 indexes take ROC
 * 0, then RFC 3711 Appendix A), so a receiver agrees with libsrtp peers.
 */
#include "dp_srtp.h"
#include "dp_srtp_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#define CHUNK 32
#define MAX_SSRCS 1024

/* One SSRC's state; its SRTP replay bitmap (words 64-bit words) follows. */
struct ssrc_ent {
	uint64_t rtp_hi;       /* highest SRTP index (ROC << 16 | seq) */
	uint32_t rtcp_hi;      /* unprotect: highest SRTCP index; protect: last used */
	uint32_t pad;
	uint64_t rtcp_bits[2]; /* SRTCP replay window, bit k = rtcp_hi - k */
	uint64_t rtp_bits[];   /* SRTP replay window, bit k = rtp_hi - k */
};

struct dp_srtp {
	enum dp_srtp_suite suite;
	enum dp_srtp_dir dir;
	enum dp_srtp_engine engine;
	const struct dp_srtp_crypto *eng;
	void *est;
	struct dp_srtp_lib *lib;
	bool gcm, est_live;
	size_t alloc_len;
	uint8_t rtp_tag, rtcp_tag, mki_len;
	uint8_t mki[DP_SRTP_MAX_MKI];
	uint8_t salt_len;
	uint8_t salt[2][14];
	uint32_t window;       /* SRTP replay window, packets */
	uint16_t words;        /* 64-bit words per SRTP bitmap */
	uint16_t max_ssrcs, n_ssrcs, last;
	uint32_t stride;       /* bytes per SSRC entry (with its bitmap) */
	uint32_t *ssrcs;       /* [max_ssrcs] */
	uint8_t *recs;         /* [max_ssrcs] entries of stride bytes */
};

/* Everything of a stream is one allocation (fewer cache and TLB misses at
 * 100k streams): the struct, the SSRC keys, the entries, the engine's state,
 * each part on a cache line of its own. */
#define LINE 64
#define ALIGN_UP(x) (((x) + LINE - 1) & ~(size_t)(LINE - 1))

static inline struct ssrc_ent *ent(const struct dp_srtp *s, int i)
{
	return (struct ssrc_ent *)(s->recs + (size_t)i * s->stride);
}

/* --- suites ------------------------------------------------------------- */

struct suite_info {
	const char *name;
	uint8_t key_len, salt_len, rtp_tag, rtcp_tag;
	bool gcm;
};

static const struct suite_info suites[DP_SRTP_SUITE_COUNT] = {
	[DP_SRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10, false},
	[DP_SRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10, false},
	[DP_SRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 16, 12, 16, 16, true},
	[DP_SRTP_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 32, 12, 16, 16, true},
	[DP_SRTP_AES_256_CM_HMAC_SHA1_80] = {"AES_256_CM_HMAC_SHA1_80", 32, 14, 10, 10, false},
	[DP_SRTP_AES_256_CM_HMAC_SHA1_32] = {"AES_256_CM_HMAC_SHA1_32", 32, 14, 4, 10, false},
};

static bool suite_ok(enum dp_srtp_suite suite)
{
	return (unsigned)suite < DP_SRTP_SUITE_COUNT;
}

int dp_srtp_suite_parse(const char *name, enum dp_srtp_suite *out)
{
	if (!name || !out)
		return -EINVAL;
	for (unsigned i = 0; i < DP_SRTP_SUITE_COUNT; i++) {
		if (strcmp(name, suites[i].name) == 0) {
			*out = (enum dp_srtp_suite)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *dp_srtp_suite_name(enum dp_srtp_suite suite)
{
	return suite_ok(suite) ? suites[suite].name : NULL;
}

size_t dp_srtp_key_len(enum dp_srtp_suite suite)
{
	return suite_ok(suite) ? suites[suite].key_len : 0;
}

size_t dp_srtp_salt_len(enum dp_srtp_suite suite)
{
	return suite_ok(suite) ? suites[suite].salt_len : 0;
}

size_t dp_srtp_rtp_trailer_len(enum dp_srtp_suite suite)
{
	return suite_ok(suite) ? suites[suite].rtp_tag : 0;
}

size_t dp_srtp_rtcp_trailer_len(enum dp_srtp_suite suite)
{
	return suite_ok(suite) ? 4u + suites[suite].rtcp_tag : 0;
}

/* --- key derivation (RFC 3711 4.3.1-4.3.3, kdr 0; RFC 6188, RFC 7714 11) -- */

/* The AES-CM PRF: out = AES-CTR(master key, IV = (salt ^ label << 48) << 16)
 * over zeros. A 12-byte (GCM) master salt is zero-padded to 14. */
static int kdf(const uint8_t *mkey, size_t klen, const uint8_t *msalt, size_t slen, uint8_t label,
	       uint8_t *out, int n)
{
	static const uint8_t zero[32];
	uint8_t iv[16] = {0};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, ok;

	if (!c)
		return -ENOMEM;
	memcpy(iv, msalt, slen);
	iv[7] ^= label;
	ok = EVP_EncryptInit_ex(c, klen == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), NULL, mkey,
				iv) &&
	     EVP_EncryptUpdate(c, out, &l, zero, n) && l == n;
	EVP_CIPHER_CTX_free(c);
	explicit_bzero(iv, sizeof(iv));
	return ok ? 0 : -EIO;
}

static int derive(enum dp_srtp_suite suite, const uint8_t *ks, struct dp_srtp_keys *k)
{
	const struct suite_info *si = &suites[suite];
	const uint8_t *ms = ks + si->key_len;

	memset(k, 0, sizeof(*k));
	k->enc_len = si->key_len;
	k->salt_len = si->salt_len;
	k->gcm = si->gcm;
	for (int d = 0; d < 2; d++) {
		uint8_t l = (uint8_t)(3 * d);

		if (kdf(ks, si->key_len, ms, si->salt_len, l, k->enc[d], si->key_len) ||
		    kdf(ks, si->key_len, ms, si->salt_len, (uint8_t)(l + 1), k->auth[d], 20) ||
		    kdf(ks, si->key_len, ms, si->salt_len, (uint8_t)(l + 2), k->salt[d],
			si->salt_len))
			return -EIO;
	}
	return 0;
}

/* --- engines ------------------------------------------------------------- */

static const char *const engine_names[DP_SRTP_ENGINE_COUNT] = {
	[DP_SRTP_ENGINE_AUTO] = "auto",
	[DP_SRTP_ENGINE_IPSEC_MB] = "ipsec-mb",
	[DP_SRTP_ENGINE_OPENSSL] = "openssl",
	[DP_SRTP_ENGINE_LIBSRTP] = "libsrtp",
};

static const struct dp_srtp_crypto *own_engine(enum dp_srtp_engine e)
{
	return e == DP_SRTP_ENGINE_IPSEC_MB  ? &dp_srtp_crypto_ipsec_mb
	       : e == DP_SRTP_ENGINE_OPENSSL ? &dp_srtp_crypto_openssl
					     : NULL;
}

static pthread_once_t eng_once = PTHREAD_ONCE_INIT;
static bool eng_suite[DP_SRTP_ENGINE_COUNT][DP_SRTP_SUITE_COUNT];
static enum dp_srtp_engine default_engine = DP_SRTP_ENGINE_AUTO;

int dp_srtp_engine_parse(const char *name, enum dp_srtp_engine *out)
{
	if (!name || !out)
		return -EINVAL;
	for (unsigned i = 0; i < DP_SRTP_ENGINE_COUNT; i++) {
		if (strcmp(name, engine_names[i]) == 0) {
			*out = (enum dp_srtp_engine)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *dp_srtp_engine_name(enum dp_srtp_engine e)
{
	return (unsigned)e < DP_SRTP_ENGINE_COUNT ? engine_names[e] : NULL;
}

static struct dp_srtp *create(const struct dp_srtp_params *p, bool checked);

/* Protect one RTP and one RTCP packet with engine e into out (and check
 * that they unprotect back); 0, or -EIO. */
static int sample(enum dp_srtp_engine e, enum dp_srtp_suite suite, uint8_t out[2][96],
		  uint16_t olen[2])
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], ref[2][96], tmp[96], *pk;
	size_t klen = (size_t)suites[suite].key_len + suites[suite].salt_len;
	struct dp_srtp_params prm = {.engine = e, .suite = suite, .key_salt = key,
				     .key_salt_len = klen, .dir = DP_SRTP_PROTECT};
	struct dp_srtp *tx, *rx;
	int16_t rc;
	bool bad = false;

	for (size_t i = 0; i < klen; i++)
		key[i] = (uint8_t)(0x3c + 11 * i);
	tx = create(&prm, true);
	prm.dir = DP_SRTP_UNPROTECT;
	rx = create(&prm, true);
	memset(ref, 0, sizeof(ref));
	ref[0][0] = 0x80, ref[0][3] = 7, ref[0][8] = 0xde, ref[0][11] = 0x42;
	ref[1][0] = 0x81, ref[1][1] = 200, ref[1][3] = 6, ref[1][4] = 0xde, ref[1][7] = 0x42;
	for (int i = 12; i < 53; i++)
		ref[0][i] = ref[1][i - 4] = (uint8_t)(i * 13);
	memcpy(out, ref, sizeof(ref));
	olen[0] = 53, olen[1] = 28;
	bad = !tx || !rx;
	for (int k = 0; k < 2 && !bad; k++) {
		uint16_t l = olen[k];

		pk = out[k];
		bad = (k ? dp_srtcp_protect_burst : dp_srtp_protect_burst)(tx, &pk, &olen[k], 96, &rc,
									 1) != 1;
		if (bad)
			break;
		memcpy(tmp, out[k], olen[k]);
		pk = tmp;
		l = olen[k];
		bad = (k ? dp_srtcp_unprotect_burst : dp_srtp_unprotect_burst)(rx, &pk, &l, 96, &rc,
									     1) != 1 ||
		      l != (k ? 28 : 53) || memcmp(tmp, ref[k], l) != 0 ||
		      memcmp(out[k] + 12, ref[k] + 12, 8) == 0;
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
	explicit_bzero(key, sizeof(key));
	return bad ? -EIO : 0;
}

/* Which engine runs which suite: libsrtp by its own self-test; each own
 * engine must round-trip and produce libsrtp's bytes (or, for a suite this
 * libsrtp lacks, the OpenSSL engine's). */
static void engines_init(void)
{
	dp_srtp_lib_init();
	for (unsigned s = 0; s < DP_SRTP_SUITE_COUNT; s++)
		eng_suite[DP_SRTP_ENGINE_LIBSRTP][s] = dp_srtp_lib_suite_ok((enum dp_srtp_suite)s);
	for (unsigned e = DP_SRTP_ENGINE_IPSEC_MB; e <= DP_SRTP_ENGINE_OPENSSL; e++) {
		if (!own_engine((enum dp_srtp_engine)e)->available())
			continue;
		for (unsigned s = 0; s < DP_SRTP_SUITE_COUNT; s++) {
			uint8_t a[2][96], b[2][96];
			uint16_t al[2], bl[2];
			enum dp_srtp_engine ref = eng_suite[DP_SRTP_ENGINE_LIBSRTP][s]
							  ? DP_SRTP_ENGINE_LIBSRTP
							  : DP_SRTP_ENGINE_OPENSSL;

			if (sample((enum dp_srtp_engine)e, (enum dp_srtp_suite)s, a, al))
				continue;
			if (ref == e || (sample(ref, (enum dp_srtp_suite)s, b, bl) == 0 &&
					 al[0] == bl[0] && al[1] == bl[1] &&
					 memcmp(a[0], b[0], al[0]) == 0 &&
					 memcmp(a[1], b[1], al[1]) == 0))
				eng_suite[e][s] = true;
		}
	}
}

static void engines_ready(void)
{
	pthread_once(&eng_once, engines_init);
}

enum dp_srtp_engine dp_srtp_engine_resolve(enum dp_srtp_engine e)
{
	if (e != DP_SRTP_ENGINE_AUTO)
		return e;
	engines_ready();
	if (eng_suite[DP_SRTP_ENGINE_IPSEC_MB][DP_SRTP_AES_CM_128_HMAC_SHA1_80])
		return DP_SRTP_ENGINE_IPSEC_MB;
	if (eng_suite[DP_SRTP_ENGINE_OPENSSL][DP_SRTP_AES_CM_128_HMAC_SHA1_80])
		return DP_SRTP_ENGINE_OPENSSL;
	return DP_SRTP_ENGINE_LIBSRTP;
}

bool dp_srtp_engine_supports(enum dp_srtp_engine e, enum dp_srtp_suite suite)
{
	if ((unsigned)e >= DP_SRTP_ENGINE_COUNT || !suite_ok(suite))
		return false;
	engines_ready();
	return eng_suite[dp_srtp_engine_resolve(e)][suite];
}

bool dp_srtp_engine_available(enum dp_srtp_engine e)
{
	return e == DP_SRTP_ENGINE_AUTO || dp_srtp_engine_supports(e, DP_SRTP_AES_CM_128_HMAC_SHA1_80);
}

int dp_srtp_set_default_engine(enum dp_srtp_engine e)
{
	if ((unsigned)e >= DP_SRTP_ENGINE_COUNT)
		return -EINVAL;
	if (!dp_srtp_engine_available(e))
		return -ENOTSUP;
	default_engine = dp_srtp_engine_resolve(e);
	return 0;
}

enum dp_srtp_engine dp_srtp_get_default_engine(void)
{
	return dp_srtp_engine_resolve(default_engine);
}

void dp_srtp_thread_prepare(void)
{
	engines_ready();
	if (eng_suite[DP_SRTP_ENGINE_IPSEC_MB][DP_SRTP_AES_CM_128_HMAC_SHA1_80] ||
	    eng_suite[DP_SRTP_ENGINE_IPSEC_MB][DP_SRTP_AEAD_AES_128_GCM])
		dp_srtp_crypto_ipsec_mb.available();
}

bool dp_srtp_suite_supported(enum dp_srtp_suite suite)
{
	return dp_srtp_engine_supports(dp_srtp_get_default_engine(), suite);
}

/* --- streams ------------------------------------------------------------ */

static struct dp_srtp *create(const struct dp_srtp_params *p, bool checked)
{
	struct dp_srtp *s;
	enum dp_srtp_engine e;
	struct dp_srtp_keys k;
	uint32_t window;
	unsigned max;
	size_t words;
	int rc;

	if (!p || !suite_ok(p->suite) || !p->key_salt ||
	    p->key_salt_len != (size_t)suites[p->suite].key_len + suites[p->suite].salt_len ||
	    (p->dir != DP_SRTP_PROTECT && p->dir != DP_SRTP_UNPROTECT) ||
	    (p->replay_window != 0 && (p->replay_window < 64 || p->replay_window > 32767)) ||
	    p->mki_len > DP_SRTP_MAX_MKI || p->max_ssrcs > MAX_SSRCS ||
	    (unsigned)p->engine >= DP_SRTP_ENGINE_COUNT) {
		errno = EINVAL;
		return NULL;
	}
	e = p->engine == DP_SRTP_ENGINE_AUTO ? dp_srtp_get_default_engine() : p->engine;
	if (!checked && !dp_srtp_engine_supports(e, p->suite)) {
		errno = ENOTSUP;
		return NULL;
	}
	if (e == DP_SRTP_ENGINE_LIBSRTP && !dp_srtp_lib_init()) {
		errno = EIO;
		return NULL;
	}
	window = p->replay_window ? p->replay_window : DP_SRTP_DEFAULT_WINDOW;
	max = p->max_ssrcs ? p->max_ssrcs : DP_SRTP_DEFAULT_SSRCS;
	words = (window + 63) / 64;
	{
		const struct dp_srtp_crypto *eng = own_engine(e);
		size_t stride = (sizeof(struct ssrc_ent) + words * sizeof(uint64_t) + 15) & ~(size_t)15;
		size_t o_ssrc = ALIGN_UP(sizeof(*s)), o_rec = o_ssrc + ALIGN_UP(max * sizeof(uint32_t));
		size_t o_eng = o_rec + ALIGN_UP(max * stride), total = o_eng;

		if (e == DP_SRTP_ENGINE_LIBSRTP)
			stride = sizeof(struct ssrc_ent), o_eng = total = o_rec + ALIGN_UP(max * stride);
		else
			total += ALIGN_UP(eng->state_size(suites[p->suite].gcm, suites[p->suite].key_len));
		s = aligned_alloc(LINE, total);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		memset(s, 0, total);
		s->ssrcs = (uint32_t *)((uint8_t *)s + o_ssrc);
		s->recs = (uint8_t *)s + o_rec;
		s->stride = (uint32_t)stride;
		s->est = e == DP_SRTP_ENGINE_LIBSRTP ? NULL : (uint8_t *)s + o_eng;
		s->alloc_len = total;
	}
	s->suite = p->suite;
	s->dir = p->dir;
	s->engine = e;
	s->gcm = suites[p->suite].gcm;
	s->rtp_tag = suites[p->suite].rtp_tag;
	s->rtcp_tag = suites[p->suite].rtcp_tag;
	s->mki_len = p->mki_len;
	memcpy(s->mki, p->mki, p->mki_len);
	s->window = window;
	s->words = (uint16_t)words;
	s->max_ssrcs = (uint16_t)max;
	if (e == DP_SRTP_ENGINE_LIBSRTP) {
		rc = dp_srtp_lib_new(p->suite, p->key_salt, p->key_salt_len, p->dir, window,
				     p->mki_len ? p->mki : NULL, p->mki_len, &s->lib);
		if (rc) {
			dp_srtp_destroy(s);
			errno = -rc;
			return NULL;
		}
		return s;
	}
	s->eng = own_engine(e);
	rc = derive(p->suite, p->key_salt, &k);
	if (!rc) {
		s->salt_len = k.salt_len;
		memcpy(s->salt, k.salt, sizeof(s->salt));
		rc = s->eng->init(s->est, p->suite, &k);
		s->est_live = rc == 0;
	}
	explicit_bzero(&k, sizeof(k));
	if (rc) {
		dp_srtp_destroy(s);
		errno = rc == -ENOMEM ? ENOMEM : EIO;
		return NULL;
	}
	return s;
}

struct dp_srtp *dp_srtp_create_ex(const struct dp_srtp_params *p)
{
	return create(p, false);
}

struct dp_srtp *dp_srtp_create(enum dp_srtp_suite suite, const uint8_t *master_key_and_salt,
			       size_t len, enum dp_srtp_dir dir, uint32_t replay_window)
{
	struct dp_srtp_params p = {.engine = DP_SRTP_ENGINE_AUTO, .suite = suite,
				   .key_salt = master_key_and_salt, .key_salt_len = len, .dir = dir,
				   .replay_window = replay_window};

	return create(&p, false);
}

void dp_srtp_destroy(struct dp_srtp *s)
{
	if (!s)
		return;
	dp_srtp_lib_free(s->lib);
	if (s->est_live)
		s->eng->fini(s->est);
	explicit_bzero(s, s->alloc_len); /* keys, engine state, SSRCs */
	free(s);
}

enum dp_srtp_suite dp_srtp_get_suite(const struct dp_srtp *s)
{
	return s->suite;
}

enum dp_srtp_dir dp_srtp_get_dir(const struct dp_srtp *s)
{
	return s->dir;
}

enum dp_srtp_engine dp_srtp_get_engine(const struct dp_srtp *s)
{
	return s->engine;
}

size_t dp_srtp_overhead(const struct dp_srtp *s, bool rtcp)
{
	return (size_t)s->mki_len + (rtcp ? 4u + s->rtcp_tag : s->rtp_tag);
}

/* --- SSRC table ------------------------------------------------------------ */

/* Entry of ssrc, or -1. */
static int ssrc_find(struct dp_srtp *s, uint32_t ssrc)
{
	if (s->n_ssrcs && s->ssrcs[s->last] == ssrc)
		return s->last;
	for (unsigned i = 0; i < s->n_ssrcs; i++) {
		if (s->ssrcs[i] == ssrc) {
			s->last = (uint16_t)i;
			return (int)i;
		}
	}
	return -1;
}

/* A fresh entry for ssrc, or -1 when the table is full. */
static int ssrc_add(struct dp_srtp *s, uint32_t ssrc)
{
	unsigned i = s->n_ssrcs;

	if (i == s->max_ssrcs)
		return -1;
	s->ssrcs[i] = ssrc;
	memset(ent(s, (int)i), 0, s->stride);
	s->n_ssrcs++;
	s->last = (uint16_t)i;
	return (int)i;
}

/* --- replay windows (bit k of the bitmap = highest - k) ------------------ */

static bool win_test(const uint64_t *bits, uint32_t window, uint64_t hi, uint64_t idx)
{
	uint64_t back;

	if (idx > hi)
		return true;
	back = hi - idx;
	if (back >= window)
		return false;
	return !(bits[back / 64] >> (back % 64) & 1);
}

static void win_add(uint64_t *bits, unsigned words, uint32_t window, uint64_t *hi, uint64_t idx)
{
	if (idx > *hi) {
		uint64_t d = idx - *hi;

		if (d >= window) {
			memset(bits, 0, words * sizeof(uint64_t));
		} else {
			unsigned ws = (unsigned)(d / 64), bs = (unsigned)(d % 64);

			for (int w = (int)words - 1; w >= 0; w--) {
				uint64_t v = w >= (int)ws ? bits[w - ws] << bs : 0;

				if (bs && w > (int)ws)
					v |= bits[w - ws - 1] >> (64 - bs);
				bits[w] = v;
			}
		}
		*hi = idx;
		bits[0] |= 1;
	} else {
		uint64_t back = *hi - idx;

		bits[back / 64] |= 1ull << (back % 64);
	}
}

/* The SRTP index of seq given the highest so far (libsrtp's estimate). */
static uint64_t estimate(uint64_t hi, uint16_t seq)
{
	uint32_t roc, lseq;

	if (hi <= 32768)
		return seq;
	roc = (uint32_t)(hi >> 16);
	lseq = (uint32_t)(hi & 0xffff);
	if (lseq < 32768) {
		if (seq > lseq + 32768u)
			roc--;
	} else if (lseq - 32768u > seq) {
		roc++;
	}
	return (uint64_t)roc << 16 | seq;
}

/* --- the burst ------------------------------------------------------------ */

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Length of the RTP header (fixed part, CSRCs, extension) or -1 when the
 * packet is not version 2 or the header runs past len. */
static int rtp_header_len(const uint8_t *p, uint16_t len)
{
	size_t h;

	if (len < 12 || (p[0] >> 6) != 2)
		return -1;
	h = 12 + 4u * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (h + 4 > len)
			return -1;
		h += 4 + 4u * (((size_t)p[h + 2] << 8) | p[h + 3]);
	}
	return h <= len ? (int)h : -1;
}

enum op { OP_RTP_PROTECT, OP_RTP_UNPROTECT, OP_RTCP_PROTECT, OP_RTCP_UNPROTECT };

/* Check one packet for op; 0 or the rc to report. */
static int16_t precheck(const struct dp_srtp *s, enum op op, const uint8_t *p, uint16_t len,
			uint16_t room)
{
	uint32_t t = (uint32_t)dp_srtp_overhead(s, op >= OP_RTCP_PROTECT);
	int h;

	if (!p || len > room)
		return -EINVAL;
	switch (op) {
	case OP_RTP_PROTECT:
		if (rtp_header_len(p, len) < 0)
			return -EINVAL;
		return (uint32_t)len + t > room ? -ENOSPC : 0;
	case OP_RTP_UNPROTECT:
		h = rtp_header_len(p, len);
		return h < 0 || (uint32_t)h + t > len ? -EINVAL : 0;
	case OP_RTCP_PROTECT:
		if (len < 8 || (p[0] >> 6) != 2)
			return -EINVAL;
		return (uint32_t)len + t > room ? -ENOSPC : 0;
	case OP_RTCP_UNPROTECT:
		return len < 8u + t || (p[0] >> 6) != 2 ? -EINVAL : 0;
	}
	return -EINVAL;
}

struct pend {
	struct dp_srtp_op op;
	struct dp_srtp *s;
	uint64_t idx;
	uint32_t ssrc;
	uint16_t len, plen; /* original length; payload end (unprotect) */
	int16_t rc;
	uint8_t kind;       /* enum op */
	bool lib;           /* run whole by libsrtp: rc is final */
};

static void iv_rtp(const struct dp_srtp *s, uint8_t iv[16], uint32_t ssrc, uint64_t idx)
{
	const uint8_t *salt = s->salt[0];

	if (s->gcm) { /* RFC 7714 8.1: 00 00 | SSRC | ROC | SEQ, ^ salt */
		iv[0] = salt[0], iv[1] = salt[1];
		put32(iv + 2, ssrc ^ be32(salt + 2));
		put32(iv + 6, (uint32_t)(idx >> 16) ^ be32(salt + 6));
		iv[10] = (uint8_t)(idx >> 8) ^ salt[10];
		iv[11] = (uint8_t)idx ^ salt[11];
		return;
	}
	/* RFC 3711 4.1.1: salt << 16 ^ SSRC << 64 ^ index << 16 */
	memcpy(iv, salt, 14);
	iv[14] = iv[15] = 0;
	put32(iv + 4, be32(iv + 4) ^ ssrc);
	iv[8] ^= (uint8_t)(idx >> 40);
	iv[9] ^= (uint8_t)(idx >> 32);
	put32(iv + 10, be32(iv + 10) ^ (uint32_t)idx);
}

static void iv_rtcp(const struct dp_srtp *s, uint8_t iv[16], uint32_t ssrc, uint32_t idx)
{
	const uint8_t *salt = s->salt[1];

	if (s->gcm) { /* RFC 7714 9.1: 00 00 | SSRC | 00 00 | 0 | index, ^ salt */
		iv[0] = salt[0], iv[1] = salt[1];
		put32(iv + 2, ssrc ^ be32(salt + 2));
		iv[6] = salt[6], iv[7] = salt[7];
		put32(iv + 8, idx ^ be32(salt + 8));
		return;
	}
	memcpy(iv, salt, 14);
	iv[14] = iv[15] = 0;
	put32(iv + 4, be32(iv + 4) ^ ssrc);
	put32(iv + 10, be32(iv + 10) ^ idx);
}

/* Prepare packet p (precheck passed) for the engine; 0 or the rc. */
static int16_t prepare(struct dp_srtp *s, enum op op, uint8_t *p, uint16_t len, struct pend *x)
{
	struct dp_srtp_op *o = &x->op;
	unsigned mk = s->mki_len;
	int e;

	x->len = len;
	o->pkt = p;
	o->fail = false;
	o->st = s->est;
	o->gcm = s->gcm;
	o->rtcp = op >= OP_RTCP_PROTECT;
	s->eng->prefetch(s->est, s->gcm, o->rtcp);
	switch (op) {
	case OP_RTP_PROTECT: {
		unsigned h = (unsigned)rtp_header_len(p, len);
		struct ssrc_ent *en;
		uint64_t *bits;

		x->ssrc = be32(p + 8);
		e = ssrc_find(s, x->ssrc);
		if (e < 0 && (e = ssrc_add(s, x->ssrc)) < 0)
			return -ENOBUFS;
		en = ent(s, e);
		bits = en->rtp_bits;
		x->idx = estimate(en->rtp_hi, be16(p + 2));
		if (!win_test(bits, s->window, en->rtp_hi, x->idx))
			return -EALREADY; /* keystream reuse */
		win_add(bits, s->words, s->window, &en->rtp_hi, x->idx);
		iv_rtp(s, o->iv, x->ssrc, x->idx);
		o->enc_off = h;
		o->enc_len = len - h;
		if (s->gcm) {
			o->aad = p;
			o->aad_len = h;
		} else {
			put32(p + len, (uint32_t)(x->idx >> 16)); /* ROC after the payload */
			o->auth_len = len + 4u;
		}
		return 0;
	}
	case OP_RTP_UNPROTECT: {
		unsigned h = (unsigned)rtp_header_len(p, len);
		unsigned plen = len - s->rtp_tag - mk;
		const uint8_t *m = s->gcm ? p + len - mk : p + plen;

		if (mk && memcmp(m, s->mki, mk) != 0)
			return -ENOKEY;
		x->ssrc = be32(p + 8);
		e = ssrc_find(s, x->ssrc);
		if (e < 0 && s->n_ssrcs == s->max_ssrcs)
			return -ENOBUFS;
		x->idx = estimate(e < 0 ? 0 : ent(s, e)->rtp_hi, be16(p + 2));
		if (e >= 0 && !win_test(ent(s, e)->rtp_bits, s->window, ent(s, e)->rtp_hi, x->idx))
			return -EALREADY;
		x->plen = (uint16_t)plen;
		iv_rtp(s, o->iv, x->ssrc, x->idx);
		o->enc_off = h;
		o->enc_len = plen - h;
		if (s->gcm) {
			o->aad = p;
			o->aad_len = h;
			memcpy(o->rtag, p + plen, 16);
		} else {
			memcpy(o->rtag, p + plen + mk, s->rtp_tag);
			put32(p + plen, (uint32_t)(x->idx >> 16));
			o->auth_len = plen + 4u;
		}
		return 0;
	}
	case OP_RTCP_PROTECT: {
		uint32_t ei;

		x->ssrc = be32(p + 4);
		e = ssrc_find(s, x->ssrc);
		if (e < 0 && (e = ssrc_add(s, x->ssrc)) < 0)
			return -ENOBUFS;
		if (ent(s, e)->rtcp_hi >= 0x7fffffffu)
			return -EKEYEXPIRED;
		x->idx = ++ent(s, e)->rtcp_hi;
		ei = 0x80000000u | (uint32_t)x->idx;
		iv_rtcp(s, o->iv, x->ssrc, (uint32_t)x->idx);
		o->enc_off = 8;
		o->enc_len = len - 8u;
		if (s->gcm) {
			memcpy(o->aad_buf, p, 8);
			put32(o->aad_buf + 8, ei);
			o->aad = o->aad_buf;
			o->aad_len = 12;
		} else {
			put32(p + len, ei);
			o->auth_len = len + 4u;
		}
		return 0;
	}
	case OP_RTCP_UNPROTECT: {
		unsigned plen = len - 4u - s->rtcp_tag - mk;
		const uint8_t *ep = s->gcm ? p + plen + 16 : p + plen;
		uint32_t ei = be32(ep);
		struct ssrc_ent *en;

		if (mk && memcmp(ep + 4, s->mki, mk) != 0)
			return -ENOKEY;
		if (!(ei & 0x80000000u))
			return -EBADMSG; /* every suite here encrypts SRTCP */
		x->ssrc = be32(p + 4);
		x->idx = ei & 0x7fffffffu;
		e = ssrc_find(s, x->ssrc);
		if (e < 0 && s->n_ssrcs == s->max_ssrcs)
			return -ENOBUFS;
		if (e >= 0) {
			uint64_t hi;

			en = ent(s, e);
			hi = en->rtcp_hi;
			if (!win_test(en->rtcp_bits, 128, hi, x->idx))
				return -EALREADY;
		}
		x->plen = (uint16_t)plen;
		iv_rtcp(s, o->iv, x->ssrc, (uint32_t)x->idx);
		o->enc_off = 8;
		o->enc_len = plen - 8u;
		if (s->gcm) {
			memcpy(o->aad_buf, p, 8);
			put32(o->aad_buf + 8, ei);
			o->aad = o->aad_buf;
			o->aad_len = 12;
			memcpy(o->rtag, p + plen, 16);
		} else {
			memcpy(o->rtag, p + plen + 4 + mk, s->rtcp_tag);
			o->auth_len = plen + 4u;
		}
		return 0;
	}
	}
	return -EINVAL;
}

static bool auth_ok(const struct dp_srtp *s, const struct dp_srtp_op *o, bool rtcp)
{
	return s->gcm ? o->auth_ok
		      : dp_srtp_ct_eq(o->digest, o->rtag, rtcp ? s->rtcp_tag : s->rtp_tag);
}

/* An SRTP packet that failed authentication when its index was estimated
 * against the state before the burst: if the packets of the burst already
 * committed move the estimate (a burst spanning more than half the sequence
 * space), undo the decryption (the same keystream again) and try the new
 * index. True when it then authenticates. */
static bool redo(struct dp_srtp *s, struct pend *x)
{
	struct dp_srtp_op *o = &x->op, *one[1] = {o};
	int e = ssrc_find(s, x->ssrc);
	uint64_t idx = estimate(e < 0 ? 0 : ent(s, e)->rtp_hi, be16(o->pkt + 2));

	if (idx == x->idx)
		return false;
	s->eng->run(one, 1, false); /* restore */
	x->idx = idx;
	iv_rtp(s, o->iv, x->ssrc, idx);
	if (!s->gcm)
		put32(o->pkt + x->plen, (uint32_t)(idx >> 16));
	o->fail = false;
	s->eng->run(one, 1, false);
	return !o->fail && auth_ok(s, o, false);
}

/* After the engine: tag out (protect) or tag check and replay commit
 * (unprotect). 0 and *len, or the rc. */
static int16_t finish(struct dp_srtp *s, enum op op, struct pend *x, uint16_t *len)
{
	struct dp_srtp_op *o = &x->op;
	uint8_t *p = o->pkt;
	unsigned mk = s->mki_len;
	int e;

	if (o->fail)
		return -EIO;
	switch (op) {
	case OP_RTP_PROTECT:
		if (s->gcm) {
			memcpy(p + x->len, o->digest, 16);
			memcpy(p + x->len + 16, s->mki, mk);
		} else {
			memcpy(p + x->len, s->mki, mk);
			memcpy(p + x->len + mk, o->digest, s->rtp_tag);
		}
		*len = (uint16_t)(x->len + s->rtp_tag + mk);
		return 0;
	case OP_RTCP_PROTECT:
		if (s->gcm) {
			memmove(p + x->len + 16, o->aad_buf + 8, 4);
			memcpy(p + x->len, o->digest, 16);
			memcpy(p + x->len + 20, s->mki, mk);
		} else {
			memcpy(p + x->len + 4, s->mki, mk);
			memcpy(p + x->len + 4 + mk, o->digest, s->rtcp_tag);
		}
		*len = (uint16_t)(x->len + 4 + s->rtcp_tag + mk);
		return 0;
	case OP_RTP_UNPROTECT:
	case OP_RTCP_UNPROTECT: {
		bool rtcp = op == OP_RTCP_UNPROTECT;

		if (!auth_ok(s, o, rtcp) && (rtcp || !redo(s, x)))
			return -EBADMSG;
		e = ssrc_find(s, x->ssrc);
		if (e < 0 && (e = ssrc_add(s, x->ssrc)) < 0)
			return -ENOBUFS;
		if (rtcp) {
			struct ssrc_ent *en = ent(s, e);
			uint64_t hi = en->rtcp_hi;

			if (!win_test(en->rtcp_bits, 128, hi, x->idx))
				return -EALREADY;
			win_add(en->rtcp_bits, 2, 128, &hi, x->idx);
			en->rtcp_hi = (uint32_t)hi;
		} else {
			struct ssrc_ent *en = ent(s, e);
			uint64_t *bits = en->rtp_bits;

			/* a packet of the same burst may have moved the
			 * window: re-estimate is not needed (the index was
			 * authenticated), only the replay check */
			if (!win_test(bits, s->window, en->rtp_hi, x->idx))
				return -EALREADY;
			win_add(bits, s->words, s->window, &en->rtp_hi, x->idx);
		}
		*len = x->plen;
		return 0;
	}
	}
	return -EINVAL;
}

/* The libsrtp engine: one whole packet, the SSRC table as a bound only. */
static int16_t run_lib(struct dp_srtp *s, enum op op, uint8_t *p, uint16_t *lens, uint16_t room)
{
	int len = *lens, e;
	uint32_t ssrc;
	int16_t r = precheck(s, op, p, *lens, room);

	if (r)
		return r;
	ssrc = be32(p + (op >= OP_RTCP_PROTECT ? 4 : 8));
	e = ssrc_find(s, ssrc);
	if (e < 0 && s->n_ssrcs == s->max_ssrcs)
		return -ENOBUFS;
	r = dp_srtp_lib_run(s->lib, (int)op, p, &len);
	if (!r && e < 0)
		ssrc_add(s, ssrc);
	if (!r)
		*lens = (uint16_t)len;
	return r;
}

/* Where a stream's first lines are, for a prefetch one packet ahead: the
 * struct and its SSRC keys (the entries follow at a size-dependent
 * offset). */
static inline void prefetch_stream(const struct dp_srtp *s)
{
	if (s) {
		__builtin_prefetch(s);
		__builtin_prefetch((const uint8_t *)s + ALIGN_UP(sizeof(*s)));
	}
}

/* Packets of any streams (each q[i].s), all protect or all unprotect, in
 * chunks of CHUNK: prepare each in order (its stream's checks, SSRC state,
 * IV), one engine call per engine for the chunk, finish each in order.
 * Packets of one stream keep their order, so a burst of one stream and a
 * burst mixing many behave alike for each stream. */
static uint16_t run_multi(struct dp_srtp_pkt *q, uint16_t n, bool protect)
{
	enum dp_srtp_dir want = protect ? DP_SRTP_PROTECT : DP_SRTP_UNPROTECT;
	struct pend x[CHUNK];
	struct dp_srtp_op *ops[2][CHUNK]; /* [0] ipsec-mb, [1] openssl */
	uint16_t done = 0;

	for (uint16_t base = 0; base < n; base += CHUNK) {
		uint16_t m = (uint16_t)(n - base < CHUNK ? n - base : CHUNK), k[2] = {0, 0};

		prefetch_stream(q[base].s);
		for (uint16_t i = 0; i < m; i++) {
			struct dp_srtp_pkt *y = &q[base + i];
			struct dp_srtp *s = y->s;
			enum op op = protect ? (y->rtcp ? OP_RTCP_PROTECT : OP_RTP_PROTECT)
					     : (y->rtcp ? OP_RTCP_UNPROTECT : OP_RTP_UNPROTECT);
			int16_t r;

			if (i + 1 < m)
				prefetch_stream(y[1].s);
			x[i].s = s;
			x[i].kind = (uint8_t)op;
			x[i].lib = false;
			if (!s) {
				r = -EINVAL;
			} else if (s->dir != want) {
				r = -EBADF;
			} else if (s->lib) {
				x[i].lib = true;
				r = run_lib(s, op, y->p, &y->len, y->room);
			} else {
				r = precheck(s, op, y->p, y->len, y->room);
				if (!r)
					r = prepare(s, op, y->p, y->len, &x[i]);
				if (!r) {
					unsigned e = s->eng != &dp_srtp_crypto_ipsec_mb;

					ops[e][k[e]++] = &x[i].op;
				}
			}
			x[i].rc = r;
		}
		if (k[0])
			dp_srtp_crypto_ipsec_mb.run(ops[0], k[0], protect);
		if (k[1])
			dp_srtp_crypto_openssl.run(ops[1], k[1], protect);
		for (uint16_t i = 0; i < m; i++) {
			struct dp_srtp_pkt *y = &q[base + i];

			if (!x[i].rc && !x[i].lib)
				x[i].rc = finish(x[i].s, (enum op)x[i].kind, &x[i], &y->len);
			y->rc = x[i].rc;
			done += !x[i].rc;
		}
	}
	return done; /* x holds IVs and tags only, nothing secret: not wiped */
}

uint16_t dp_srtp_protect_multi(struct dp_srtp_pkt pk[], uint16_t n)
{
	return run_multi(pk, n, true);
}

uint16_t dp_srtp_unprotect_multi(struct dp_srtp_pkt pk[], uint16_t n)
{
	return run_multi(pk, n, false);
}

/* The one-stream burst API over run_multi, a chunk at a time. */
static uint16_t run_burst(struct dp_srtp *s, enum op op, uint8_t *const pkts[], uint16_t lens[],
			  uint16_t room, int16_t rc[], uint16_t n)
{
	struct dp_srtp_pkt q[CHUNK];
	bool rtcp = op >= OP_RTCP_PROTECT, protect = op == OP_RTP_PROTECT || op == OP_RTCP_PROTECT;
	uint16_t done = 0;

	for (uint16_t base = 0; base < n; base += CHUNK) {
		uint16_t m = (uint16_t)(n - base < CHUNK ? n - base : CHUNK);

		for (uint16_t i = 0; i < m; i++) {
			q[i].s = s;
			q[i].p = pkts[base + i];
			q[i].len = lens[base + i];
			q[i].room = room;
			q[i].rtcp = rtcp;
		}
		done = (uint16_t)(done + run_multi(q, m, protect));
		for (uint16_t i = 0; i < m; i++) {
			lens[base + i] = q[i].len;
			rc[base + i] = q[i].rc;
		}
	}
	return done;
}

uint16_t dp_srtp_protect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
			       uint16_t room, int16_t rc[], uint16_t n)
{
	return run_burst(s, OP_RTP_PROTECT, pkts, lens, room, rc, n);
}

uint16_t dp_srtp_unprotect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				 uint16_t room, int16_t rc[], uint16_t n)
{
	return run_burst(s, OP_RTP_UNPROTECT, pkts, lens, room, rc, n);
}

uint16_t dp_srtcp_protect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				uint16_t room, int16_t rc[], uint16_t n)
{
	return run_burst(s, OP_RTCP_PROTECT, pkts, lens, room, rc, n);
}

uint16_t dp_srtcp_unprotect_burst(struct dp_srtp *s, uint8_t *const pkts[], uint16_t lens[],
				  uint16_t room, int16_t rc[], uint16_t n)
{
	return run_burst(s, OP_RTCP_UNPROTECT, pkts, lens, room, rc, n);
}

/* --- SDES keys (parsing and formatting a=crypto is control/ctl_sdes.c) --- */

int dp_sdes_generate(enum dp_srtp_suite suite, unsigned tag, struct dp_sdes *out)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT];
	size_t klen, got = 0;

	if (!out || !suite_ok(suite) || tag > DP_SDES_TAG_MAX)
		return -EINVAL;
	klen = (size_t)suites[suite].key_len + suites[suite].salt_len;
	while (got < klen) {
		ssize_t r = getrandom(key + got, klen - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(key, sizeof(key));
			return -errno;
		}
		got += (size_t)r;
	}
	out->tag = tag;
	out->suite = suite;
	out->key_salt_len = (uint8_t)klen;
	memset(out->key_salt, 0, sizeof(out->key_salt));
	memcpy(out->key_salt, key, klen);
	out->lifetime = 0;
	out->mki_len = 0;
	memset(out->mki, 0, sizeof(out->mki));
	explicit_bzero(key, sizeof(key));
	return 0;
}
