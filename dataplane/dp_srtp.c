/* SPDX-License-Identifier: MIT
 * dataplane/dp_srtp: SRTP/SRTCP through libsrtp2, fresh SDES keys.
 *
 * libsrtp is the engine and stays private to this file: the header names no
 * libsrtp type, so a batched engine (intel-ipsec-mb) can replace it with the
 * same tests as its oracle. Each struct dp_srtp is one libsrtp session with a
 * single wildcard-SSRC policy (ssrc_any_outbound for protect, ssrc_any_inbound
 * for unprotect). libsrtp keeps ROC, replay window and SRTCP index per SSRC,
 * cloning the template stream the first time an SSRC protects, or the first
 * time an SSRC authenticates on unprotect (so forged packets allocate
 * nothing).
 *
 * Before each libsrtp call the packet is checked here (version, header and
 * trailer lengths, room), so libsrtp only ever sees packets whose header lies
 * inside the buffer and whose trailer fits.
 */
#include "dp_srtp.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <srtp2/srtp.h>

struct dp_srtp {
	srtp_t ctx;
	enum dp_srtp_suite suite;
	enum dp_srtp_dir dir;
	uint16_t rtp_tag;      /* RTP auth tag bytes */
	uint16_t rtcp_trailer; /* RTCP: 4 (E + index) + tag bytes */
};

/* --- suites ------------------------------------------------------------- */

struct suite_info {
	const char *name;
	uint8_t key_len, salt_len, rtp_tag, rtcp_tag;
};

static const struct suite_info suites[DP_SRTP_SUITE_COUNT] = {
	[DP_SRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10},
	[DP_SRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10},
	[DP_SRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 16, 12, 16, 16},
	[DP_SRTP_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 32, 12, 16, 16},
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

/* libsrtp crypto policies of a suite. */
static void suite_policy(enum dp_srtp_suite suite, srtp_policy_t *p)
{
	switch (suite) {
	case DP_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case DP_SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 §6.2.2 / RFC 3711 §5.2: SRTCP keeps the 80-bit tag */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
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

/* --- libsrtp status -> -errno: the one place ---------------------------- */

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
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_bad_mki:
		return -EINVAL;
	case srtp_err_status_key_expired:
		return -EKEYEXPIRED;
	case srtp_err_status_alloc_fail:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* --- library initialisation and self-test ------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool lib_ok;
static bool suite_works[DP_SRTP_SUITE_COUNT];

static int session_new(enum dp_srtp_suite suite, const uint8_t *key, size_t len,
		       enum dp_srtp_dir dir, uint32_t window, srtp_t *out)
{
	uint8_t k[DP_SRTP_MAX_KEY_SALT];
	srtp_policy_t p;
	srtp_err_status_t st;

	memset(&p, 0, sizeof(p));
	suite_policy(suite, &p);
	memcpy(k, key, len);
	p.ssrc.type = dir == DP_SRTP_PROTECT ? ssrc_any_outbound : ssrc_any_inbound;
	p.key = k;
	p.window_size = window;
	p.allow_repeat_tx = 0;
	st = srtp_create(out, &p);
	explicit_bzero(k, sizeof(k));
	return st == srtp_err_status_ok ? 0 : srtp_errno(st);
}

/* Round trip of one RTP and one RTCP packet: tells whether the engine can
 * run the suite here (Debian builds libsrtp on NSS; GCM support depends on
 * how it was built). */
static bool suite_self_test(enum dp_srtp_suite suite)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], pkt[64], ref[64];
	size_t klen = (size_t)suites[suite].key_len + suites[suite].salt_len;
	srtp_t tx = NULL, rx = NULL;
	bool ok = false;
	int len;

	for (size_t i = 0; i < klen; i++)
		key[i] = (uint8_t)(0x5a + 7 * i);
	if (session_new(suite, key, klen, DP_SRTP_PROTECT, 0, &tx) ||
	    session_new(suite, key, klen, DP_SRTP_UNPROTECT, 0, &rx))
		goto out;
	memset(ref, 0, sizeof(ref));
	ref[0] = 0x80, ref[1] = 0x00, ref[3] = 1, ref[8] = 0x12, ref[11] = 0x34;
	memset(ref + 12, 0xd5, 20);
	memcpy(pkt, ref, sizeof(pkt));
	len = 32;
	if (srtp_protect(tx, pkt, &len) || len != 32 + suites[suite].rtp_tag ||
	    memcmp(pkt + 12, ref + 12, 20) == 0 || srtp_unprotect(rx, pkt, &len) || len != 32 ||
	    memcmp(pkt, ref, 32) != 0)
		goto out;
	ref[0] = 0x81, ref[1] = 200, ref[2] = 0, ref[3] = 6; /* SR-shaped */
	memcpy(pkt, ref, sizeof(pkt));
	len = 28;
	if (srtp_protect_rtcp(tx, pkt, &len) || len != 28 + 4 + suites[suite].rtcp_tag ||
	    srtp_unprotect_rtcp(rx, pkt, &len) || len != 28 || memcmp(pkt, ref, 28) != 0)
		goto out;
	ok = true;
out:
	if (tx)
		srtp_dealloc(tx);
	if (rx)
		srtp_dealloc(rx);
	return ok;
}

static void lib_init(void)
{
	if (srtp_init() != srtp_err_status_ok)
		return;
	/* events (SSRC collision, key soft limit) would otherwise be printed
	 * from the packet path; errors surface through rc[] instead */
	srtp_install_event_handler(NULL);
	srtp_install_log_handler(NULL, NULL);
	for (unsigned i = 0; i < DP_SRTP_SUITE_COUNT; i++)
		suite_works[i] = suite_self_test((enum dp_srtp_suite)i);
	lib_ok = true;
}

static bool lib_ready(void)
{
	pthread_once(&lib_once, lib_init);
	return lib_ok;
}

bool dp_srtp_suite_supported(enum dp_srtp_suite suite)
{
	return suite_ok(suite) && lib_ready() && suite_works[suite];
}

/* --- streams ------------------------------------------------------------ */

struct dp_srtp *dp_srtp_create(enum dp_srtp_suite suite, const uint8_t *master_key_and_salt,
			       size_t len, enum dp_srtp_dir dir, uint32_t replay_window)
{
	struct dp_srtp *s;
	int rc;

	if (!suite_ok(suite) || !master_key_and_salt ||
	    len != (size_t)suites[suite].key_len + suites[suite].salt_len ||
	    (dir != DP_SRTP_PROTECT && dir != DP_SRTP_UNPROTECT) ||
	    (replay_window != 0 && (replay_window < 64 || replay_window > 32767))) {
		errno = EINVAL;
		return NULL;
	}
	if (!lib_ready()) {
		errno = EIO;
		return NULL;
	}
	if (!suite_works[suite]) {
		errno = ENOTSUP;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	rc = session_new(suite, master_key_and_salt, len, dir,
			 replay_window ? replay_window : DP_SRTP_DEFAULT_WINDOW, &s->ctx);
	if (rc) {
		free(s);
		errno = rc == -ENOMEM ? ENOMEM : EIO;
		return NULL;
	}
	s->suite = suite;
	s->dir = dir;
	s->rtp_tag = suites[suite].rtp_tag;
	s->rtcp_trailer = (uint16_t)(4u + suites[suite].rtcp_tag);
	return s;
}

void dp_srtp_destroy(struct dp_srtp *s)
{
	if (!s)
		return;
	srtp_dealloc(s->ctx); /* frees the engine's keys (the NSS backend wipes them) */
	explicit_bzero(s, sizeof(*s));
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

/* --- burst API ---------------------------------------------------------- */

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
	int h;

	if (!p || len > room)
		return -EINVAL;
	switch (op) {
	case OP_RTP_PROTECT:
		if (rtp_header_len(p, len) < 0)
			return -EINVAL;
		return (uint32_t)len + s->rtp_tag > room ? -ENOSPC : 0;
	case OP_RTP_UNPROTECT:
		h = rtp_header_len(p, len);
		return h < 0 || (uint32_t)h + s->rtp_tag > len ? -EINVAL : 0;
	case OP_RTCP_PROTECT:
		if (len < 8 || (p[0] >> 6) != 2)
			return -EINVAL;
		return (uint32_t)len + s->rtcp_trailer > room ? -ENOSPC : 0;
	case OP_RTCP_UNPROTECT:
		return len < 8u + s->rtcp_trailer || (p[0] >> 6) != 2 ? -EINVAL : 0;
	}
	return -EINVAL;
}

static uint16_t run_burst(struct dp_srtp *s, enum op op, uint8_t *const pkts[], uint16_t lens[],
			  uint16_t room, int16_t rc[], uint16_t n)
{
	enum dp_srtp_dir want = (op == OP_RTP_PROTECT || op == OP_RTCP_PROTECT)
					? DP_SRTP_PROTECT
					: DP_SRTP_UNPROTECT;
	uint16_t done = 0;

	if (!s || s->dir != want) {
		for (uint16_t i = 0; i < n; i++)
			rc[i] = s ? -EBADF : -EINVAL;
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		srtp_err_status_t st;
		int len = lens[i];
		int16_t r;

		if (i + 1 < n && pkts[i + 1])
			__builtin_prefetch(pkts[i + 1]);
		r = precheck(s, op, pkts[i], lens[i], room);
		if (r) {
			rc[i] = r;
			continue;
		}
		switch (op) {
		case OP_RTP_PROTECT:
			st = srtp_protect(s->ctx, pkts[i], &len);
			break;
		case OP_RTP_UNPROTECT:
			st = srtp_unprotect(s->ctx, pkts[i], &len);
			break;
		case OP_RTCP_PROTECT:
			st = srtp_protect_rtcp(s->ctx, pkts[i], &len);
			break;
		default:
			st = srtp_unprotect_rtcp(s->ctx, pkts[i], &len);
			break;
		}
		rc[i] = srtp_errno(st);
		if (st == srtp_err_status_ok) {
			lens[i] = (uint16_t)len;
			done++;
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
	explicit_bzero(key, sizeof(key));
	return 0;
}
