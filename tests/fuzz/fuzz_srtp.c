/* SPDX-License-Identifier: MIT
 * libFuzzer target for dataplane/dp_srtp, and control/ctl_sdes (which parses
 * and formats the dataplane's SDES keys).
 *
 * Byte 0 picks the target (byte0 % 6) and the suite ((byte0 >> 3) & 3);
 * for the packet targets the rest is a list of packets, each a 2-byte
 * big-endian length then that many bytes (cut short at the end of the
 * input), at most MAX_PKTS of them, handed over as one burst:
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

static void packets(enum dp_srtp_suite suite, int mode, const uint8_t *d, size_t n)
{
	uint8_t key[DP_SRTP_MAX_KEY_SALT], *pk[MAX_PKTS];
	uint16_t lens[MAX_PKTS], before[MAX_PKTS], k, done;
	int16_t rc[MAX_PKTS];
	size_t klen = dp_srtp_key_len(suite) + dp_srtp_salt_len(suite);
	struct dp_srtp *tx = NULL, *rx;
	bool rtcp = mode == 1 || mode == 3;

	if (!dp_srtp_suite_supported(suite))
		return;
	fuzz_key(key, klen);
	rx = dp_srtp_create(suite, key, klen, DP_SRTP_UNPROTECT, 0);
	if (!rx)
		abort();
	k = split(d, n, pk, lens);
	if (mode >= 2) {
		tx = dp_srtp_create(suite, key, klen, DP_SRTP_PROTECT, 0);
		if (!tx)
			abort();
		memcpy(before, lens, sizeof(before));
		done = rtcp ? dp_srtcp_protect_burst(tx, pk, lens, ROOM, rc, k)
			    : dp_srtp_protect_burst(tx, pk, lens, ROOM, rc, k);
		check_burst(done, rc, lens, before, k, true);
		/* keep what was protected, in order */
		uint16_t m = 0;
		for (uint16_t i = 0; i < k; i++) {
			if (rc[i])
				continue;
			pk[m] = pk[i];
			lens[m] = lens[i];
			before[m] = before[i];
			memmove(orig[m], orig[i], before[i]);
			m++;
		}
		k = m;
	}
	uint16_t in[MAX_PKTS];
	memcpy(in, lens, sizeof(in));
	done = rtcp ? dp_srtcp_unprotect_burst(rx, pk, lens, ROOM, rc, k)
		    : dp_srtp_unprotect_burst(rx, pk, lens, ROOM, rc, k);
	check_burst(done, rc, lens, in, k, false);
	if (mode >= 2) {
		for (uint16_t i = 0; i < k; i++)
			if (rc[i] || lens[i] != before[i] || memcmp(pk[i], orig[i], lens[i]))
				__builtin_trap();
	}
	dp_srtp_destroy(tx);
	dp_srtp_destroy(rx);
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
	    a.key_salt_len != b.key_salt_len || a.lifetime != b.lifetime ||
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
	int mode;
	enum dp_srtp_suite suite;

	if (size < 1)
		return 0;
	mode = data[0] % 6;
	suite = (enum dp_srtp_suite)((data[0] >> 3) & 3);
	data++, size--;
	switch (mode) {
	case 4:
		sdes(data, size);
		break;
	case 5:
		base64(data, size);
		break;
	default:
		packets(suite, mode, data, size);
		break;
	}
	return 0;
}
