/* SPDX-License-Identifier: MIT
 * perf_replay_srtp.c: SDES SRTP for medius-replay (libsrtp2): parse the
 * a=crypto keys of an SDP, derive a key per multiplied copy, rewrite the
 * keys of an SDP in place, and make libsrtp sessions. The run decrypts a
 * capture's SRTP with the capture's keys (the plaintext is the reference
 * for --verify and the source of each copy's re-encryption), encrypts
 * copies with their own keys and decrypts what medius sends back with the
 * key medius put in its reply.
 */
#include <string.h>

#include <srtp2/srtp.h>

#include "perf_replay.h"

static const char b64t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
	const char *p = c ? strchr(b64t, c) : NULL;

	return p ? (int)(p - b64t) : -1;
}

int perf_srtp_parse(const char *attr, struct perf_srtp_key *k)
{
	const char *p = attr, *in;
	uint32_t acc = 0;
	int bits = 0, n = 0;

	memset(k, 0, sizeof(*k));
	k->tag = 0;
	while (*p >= '0' && *p <= '9')
		k->tag = k->tag * 10 + (unsigned)(*p++ - '0');
	while (*p == ' ')
		p++;
	if (!strncmp(p, "AES_CM_128_HMAC_SHA1_80 ", 24))
		k->tag_bits = 80;
	else if (!strncmp(p, "AES_CM_128_HMAC_SHA1_32 ", 24))
		k->tag_bits = 32;
	else
		return -1;
	in = strstr(p, "inline:");
	if (!in)
		return -1;
	in += 7;
	k->b64_off = (uint32_t)(in - attr);
	for (; *in && *in != '|' && *in != ' ' && *in != '\r' && *in != '\n'; in++) {
		int v;

		if (*in == '=')
			break;
		v = b64val(*in);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= 30)
				return -1;
			k->key[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n == 30 ? 0 : -1;
}

void perf_srtp_b64(const uint8_t key[30], char out[41])
{
	int o = 0;

	for (int i = 0; i < 30; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16 | (uint32_t)key[i + 1] << 8 | key[i + 2];

		out[o++] = b64t[v >> 18];
		out[o++] = b64t[(v >> 12) & 63];
		out[o++] = b64t[(v >> 6) & 63];
		out[o++] = b64t[v & 63];
	}
	out[40] = 0;
}

void perf_srtp_derive(const struct perf_srtp_key *in, uint32_t copy, struct perf_srtp_key *out)
{
	uint64_t z = 0x9e3779b97f4a7c15ull * (copy + 1);

	*out = *in;
	if (!copy)
		return;
	for (int i = 0; i < 30; i++) {
		/* splitmix64 stream per copy, xor'ed over the capture's key */
		z += 0x9e3779b97f4a7c15ull;
		uint64_t x = z;

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		out->key[i] ^= (uint8_t)(x ^ (x >> 31));
	}
}

uint32_t perf_srtp_key_id(const struct perf_srtp_key *k)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 30; i++)
		h = (h ^ k->key[i]) * 16777619u;
	return h;
}

int perf_sdp_rekey(char *sdp, size_t len, uint32_t copy)
{
	char *p = sdp, *end = sdp + len;
	int n = 0;

	while (p < end && (p = strstr(p, "a=crypto:")) != NULL) {
		char line[160];
		char *eol = p;
		struct perf_srtp_key k, d;
		char b[41];
		size_t l;

		while (eol < end && *eol != '\r' && *eol != '\n')
			eol++;
		l = (size_t)(eol - (p + 9));
		if (l >= sizeof(line)) {
			p = eol;
			continue;
		}
		memcpy(line, p + 9, l);
		line[l] = 0;
		if (!perf_srtp_parse(line, &k)) {
			perf_srtp_derive(&k, copy, &d);
			perf_srtp_b64(d.key, b);
			memcpy(p + 9 + k.b64_off, b, 40); /* same length: in place */
			n++;
		}
		p = eol;
	}
	return n;
}

int perf_srtp_init(void)
{
	static int done;

	if (!done && srtp_init() != srtp_err_status_ok)
		return -1;
	done = 1;
	return 0;
}

void *perf_srtp_session(const struct perf_srtp_key *k, bool outbound)
{
	srtp_policy_t pol;
	srtp_t s = NULL;
	uint8_t key[30];

	memcpy(key, k->key, 30);
	memset(&pol, 0, sizeof(pol));
	if (k->tag_bits == 32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
	else
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp); /* RFC 4568: SRTCP keeps the 80-bit tag */
	pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = key;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 1; /* a capture's own repeated packets */
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		return NULL;
	return s;
}

void perf_srtp_free(void *s)
{
	if (s)
		srtp_dealloc(s);
}

int perf_srtp_protect(void *s, uint8_t *p, int *len, bool rtcp)
{
	return (rtcp ? srtp_protect_rtcp(s, p, len) : srtp_protect(s, p, len)) == srtp_err_status_ok ? 0 : -1;
}

int perf_srtp_unprotect(void *s, uint8_t *p, int *len, bool rtcp)
{
	return (rtcp ? srtp_unprotect_rtcp(s, p, len) : srtp_unprotect(s, p, len)) == srtp_err_status_ok ? 0 : -1;
}
