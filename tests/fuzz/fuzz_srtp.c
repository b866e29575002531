/* SPDX-License-Identifier: MIT
 * libFuzzer target for dataplane/dp_srtp, and control/ctl_sdes (which parses
 * and formats the dataplane's SDES keys).
 *
 * Byte 0 picks the target (byte0 % 6). For the packet targets byte 1 picks
 * the set-up: the suite (b % 6: all six), the engine ((b / 6) % 3:
 * ipsec-mb, openssl, libsrtp; one the build lacks for the suite is
 * skipped), the MKI ((b / 18) % 3: none, 1 byte, 4 bytes) and, for
 * b >= 54, the cross-stream API (dp_srtp_*_multi) with the packets dealt
 * to two streams of different keys, the second on the next engine, so one
 * call mixes streams and engines. The rest is a list of packets, each a
 * 2-byte big-endian length then that many bytes (cut short at the end of
 * the input), at most MAX_PKTS of them, handed over as one burst:
 *   0  SRTP unprotect     (fixed key)
 *   1  SRTCP unprotect    (fixed key)
 *   2  RTP protect -> unprotect: every packet protect accepts must come back
 *      identical
 *   3  RTCP protect -> unprotect: the same
 *   4  ctl_sdes_parse of the rest (as a string); accepted values must survive
 *      format -> parse unchanged
 *   5  ctl_base64_decode of the rest; accepted input must re-encode to itself
 * Fresh streams for every input keep runs deterministic. Any result outside
 * the documented rc set traps.
 *
 * One more libsrtp stream lives as long as the process (made with the
 * first packet input, so that the engines' one-time self-test still counts
 * as that input's coverage, as before; never used): libsrtp is built on NSS here, and each
 * of its cipher and auth contexts holds an NSS init context; when the last
 * one closes NSS shuts down and unloads its softoken (dlclose), and the
 * next input's stream loads it again (dlopen, symbol relocation): that was
 * most of an input's time (800-1,800 inputs/s). The kept stream keeps NSS
 * up; the streams each input runs are still its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_sdes.h"
#include "dp_srtp.h"

#define MAX_PKTS 8
#define ROOM 2048

static uint8_t bufs[MAX_PKTS][ROOM], orig[MAX_PKTS][ROOM];

/* The fixed master key || salt of the fuzz streams (the corpus was made
 * with it): byte i is 0x11 * (i % 16) ^ i. */
static void fuzz_key(uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k[i] = (uint8_t)((0x11 * (i % 16)) ^ i);
}

static uint16_t split(const uint8_t *d, size_t n, uint8_t *pk[], uint16_t lens[])
{
	uint16_t k = 0;

	while (n >= 2 && k < MAX_PKTS) {
		size_t l = (size_t)d[0] << 8 | d[1];

		d += 2, n -= 2;
		if (l > n)
			l = n;
		if (l > ROOM - DP_SRTP_MAX_RTCP_TRAILER)
			l = ROOM - DP_SRTP_MAX_RTCP_TRAILER;
		memcpy(bufs[k], d, l);
		memcpy(orig[k], d, l);
		pk[k] = bufs[k];
		lens[k] = (uint16_t)l;
		k++;
		d += l, n -= l;
	}
	return k;
}

static void check_burst(uint16_t done, const int16_t rc[], const uint16_t lens[],
			const uint16_t before[], uint16_t n, bool protect)
{
	uint16_t ok = 0;

	for (uint16_t i = 0; i < n; i++) {
		switch (rc[i]) {
		case 0:
			ok++;
			if (protect ? lens[i] <= before[i] : lens[i] >= before[i])
				__builtin_trap();
			break;
		case -EINVAL:
		case -EALREADY:
		case -ENOBUFS: /* more SSRCs than the stream keeps */
			break;
		case -ENOKEY: /* not the stream's MKI */
			if (protect)
				__builtin_trap();
			break;
		case -ENOSPC:
			if (!protect)
				__builtin_trap();
			break;
		case -EBADMSG:
			if (protect)
				__builtin_trap();
			break;
		default:
			__builtin_trap();
		}
		if (rc[i] && lens[i] != before[i])
			__builtin_trap();
	}
	if (ok != done)
		__builtin_trap();
}

static const enum dp_srtp_engine engines[3] = {DP_SRTP_ENGINE_IPSEC_MB, DP_SRTP_ENGINE_OPENSSL,
						DP_SRTP_ENGINE_LIBSRTP};

/* A stream of the fuzz key (stream k: the key's bytes + k), or NULL when
 * the engine does not run the suite here. */
static struct dp_srtp *stream(enum dp_srtp_suite suite, enum dp_srtp_engine e, unsigned mki_len, unsigned k,
			      enum dp_srtp_dir dir)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT];
	size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	struct dp_srtp_params p = {.engine = e, .suite = suite, .key_salt = key, .key_salt_len = klen,
				   .dir = dir, .mki_len = (uint8_t)mki_len};
	struct dp_srtp *s;

	if (!dp_srtp_engine_supports(e, suite))
		return NULL;
	fuzz_key(key, klen);
	for (size_t i = 0; i < klen; i++)
		key[i] = (uint8_t)(key[i] + k);
	for (unsigned i = 0; i < mki_len; i++)
		p.mki[i] = (uint8_t)(0xa0 + i + k);
	s = dp_srtp_create_ex(&p);
	if (!s)
		abort();
	return s;
}

/* One burst through the one-stream API (multi false: s[0]) or the
 * cross-stream one (packet i on s[i % 2]). */
static uint16_t run(bool protect, bool rtcp, bool multi, struct dp_srtp *const s[2], uint8_t *pk[],
		    uint16_t lens[], int16_t rc[], uint16_t n)
{
	struct dp_srtp_pkt q[MAX_PKTS];
	uint16_t done;

	if (!multi)
		return protect ? (rtcp ? dp_srtcp_protect_burst : dp_srtp_protect_burst)(s[0], pk, lens, ROOM, rc, n)
			       : (rtcp ? dp_srtcp_unprotect_burst : dp_srtp_unprotect_burst)(s[0], pk, lens, ROOM,
											     rc, n);
	for (uint16_t i = 0; i < n; i++)
		q[i] = (struct dp_srtp_pkt){.s = s[i % 2], .p = pk[i], .len = lens[i], .room = ROOM, .rtcp = rtcp};
	done = protect ? dp_srtp_protect_multi(q, n) : dp_srtp_unprotect_multi(q, n);
	for (uint16_t i = 0; i < n; i++) {
		lens[i] = q[i].len;
		rc[i] = q[i].rc;
	}
	return done;
}

static void packets(uint8_t cfg, int mode, const uint8_t *d, size_t n)
{
	enum dp_srtp_suite suite = (enum dp_srtp_suite)(cfg % 6);
	unsigned e = (cfg / 6) % 3, mki = (cfg / 18) % 3 == 0 ? 0 : (cfg / 18) % 3 == 1 ? 1 : 4;
	bool multi = cfg >= 54, rtcp = mode == 1 || mode == 3;
	uint8_t *pk[MAX_PKTS];
	uint16_t lens[MAX_PKTS], before[MAX_PKTS], in[MAX_PKTS], k, done;
	int16_t rc[MAX_PKTS];
	struct dp_srtp *tx[2] = {NULL, NULL}, *rx[2] = {NULL, NULL};

	for (unsigned j = 0; j < (multi ? 2u : 1u); j++) {
		enum dp_srtp_engine eng = engines[(e + j) % 3];

		/* libsrtp 2.5 cannot unprotect SRTCP with an MKI under the _32
		 * suites, not even its own (tests/unit/test_srtp_engines.c) */
		if (eng == DP_SRTP_ENGINE_LIBSRTP && mode == 3 && mki &&
		    (suite == DP_SRTP_AES_CM_128_HMAC_SHA1_32 || suite == DP_SRTP_AES_256_CM_HMAC_SHA1_32))
			goto out;

		rx[j] = stream(suite, eng, mki, j, DP_SRTP_UNPROTECT);
		if (mode >= 2)
			tx[j] = stream(suite, eng, mki, j, DP_SRTP_PROTECT);
		if (!rx[j] || (mode >= 2 && !tx[j]))
			goto out;
	}
	k = split(d, n, pk, lens);
	if (mode >= 2) {
		memcpy(before, lens, sizeof(before));
		done = run(true, rtcp, multi, tx, pk, lens, rc, k);
		check_burst(done, rc, lens, before, k, true);
		/* keep what was protected, in order, each on its stream's side */
		for (uint16_t i = 0; i < k; i++) {
			if (!rc[i])
				continue;
			lens[i] = 0; /* refused: an empty packet, refused again below */
			before[i] = 0;
		}
	}
	memcpy(in, lens, sizeof(in));
	done = run(false, rtcp, multi, rx, pk, lens, rc, k);
	check_burst(done, rc, lens, in, k, false);
	if (mode >= 2) {
		for (uint16_t i = 0; i < k; i++) {
			if (!before[i]) {
				if (!rc[i])
					__builtin_trap(); /* an empty packet is never valid */
				continue;
			}
			if (rc[i] || lens[i] != before[i] || memcmp(pk[i], orig[i], lens[i]))
				__builtin_trap();
		}
	}
out:
	for (unsigned j = 0; j < 2; j++) {
		dp_srtp_destroy(tx[j]);
		dp_srtp_destroy(rx[j]);
	}
}

static void sdes(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1), out[256];
	struct dp_sdes a, b;
	int rc, len;

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	rc = ctl_sdes_parse(s, &a);
	free(s);
	if (rc == -EINVAL || rc == -ENOENT || rc == -ENOTSUP)
		return;
	if (rc != 0)
		__builtin_trap();
	len = ctl_sdes_format(&a, out, sizeof(out));
	if (len <= 0 || (size_t)len != strlen(out))
		__builtin_trap();
	if (ctl_sdes_parse(out, &b) != 0 || a.tag != b.tag || a.suite != b.suite ||
	    a.key_salt_len != b.key_salt_len || a.lifetime != b.lifetime || a.mki_len != b.mki_len ||
	    memcmp(a.mki, b.mki, a.mki_len) != 0 ||
	    memcmp(a.key_salt, b.key_salt, a.key_salt_len) != 0)
		__builtin_trap();
}

static void base64(const uint8_t *d, size_t n)
{
	static uint8_t dec[4096];
	static char enc[6000];
	size_t m = 0;
	int rc;

	if (n > 4096)
		n = 4096;
	rc = ctl_base64_decode((const char *)d, n, dec, sizeof(dec), &m);
	if (rc == -EINVAL)
		return;
	if (rc != 0 || m > n)
		__builtin_trap();
	if (ctl_base64_encode(dec, m, enc, sizeof(enc)) != (int)n || memcmp(enc, d, n) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_srtp *keep;
	int mode;
	if (size < 1)
		return 0;
	mode = data[0] % 6;
	data++, size--;
	switch (mode) {
	case 4:
		sdes(data, size);
		break;
	case 5:
		base64(data, size);
		break;
	default:
		if (size < 1)
			return 0;
		if (!keep)
			keep = stream(DP_SRTP_AES_CM_128_HMAC_SHA1_80, DP_SRTP_ENGINE_LIBSRTP, 0, 7,
				      DP_SRTP_UNPROTECT);
		packets(data[0], mode, data + 1, size - 1);
		break;
	}
	return 0;
}
