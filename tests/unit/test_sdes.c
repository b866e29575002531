/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_sdes: SDES a=crypto values (RFC 4568) parsed
 * and formatted, round trips through the dataplane's dp_sdes_generate, and
 * strict base64 (RFC 4648). Moved here from test_srtp.c with the code.
 */
#include "ctl_sdes.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

/* A stream for the suite, asserted to exist (as test_srtp.c's mk). */
static struct dp_srtp *mk(enum dp_srtp_suite suite, const uint8_t *k, size_t klen,
			  enum dp_srtp_dir dir, uint32_t window)
{
	struct dp_srtp *s = dp_srtp_create(suite, k, klen, dir, window);

	cr_assert_not_null(s, "create %s: %s", dp_srtp_suite_name(suite), strerror(errno));
	return s;
}

/* ------------------------------------------------------------------------ */
/* SDES                                                                     */

Test(sdes, parse_rfc4568_example)
{
	struct dp_sdes s;
	char out[128];

	cr_assert_eq(ctl_sdes_parse("1 AES_CM_128_HMAC_SHA1_80 "
				   "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20",
				   &s),
		     0);
	cr_assert_eq(s.tag, 1);
	cr_assert_eq(s.suite, DP_SRTP_AES_CM_128_HMAC_SHA1_80);
	cr_assert_eq(s.key_salt_len, 30);
	cr_assert_arr_eq(s.key_salt, "YS___semctl () {\t220;}\n}\nunles", 30);
	cr_assert_eq(s.lifetime, 1u << 20);
	cr_assert_eq(ctl_sdes_format(&s, out, sizeof(out)), 78);
	cr_assert_str_eq(out, "1 AES_CM_128_HMAC_SHA1_80 "
			      "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20");
	/* the RFC's own example carries a 32-byte MKI: longer than dp_srtp takes */
	s.tag = 77;
	cr_assert_eq(ctl_sdes_parse("1 AES_CM_128_HMAC_SHA1_80 "
				   "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32",
				   &s),
		     -ENOTSUP);
	cr_assert_eq(s.tag, 77, "out written on failure");
}

#define K30 "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz" /* 30 bytes */

/* RFC 4568 6.1: "|MKI:LEN" is the MKI value in LEN bytes, what every
 * packet carries (RFC 3711 3.1), big-endian; it survives format -> parse. */
Test(sdes, mki_parsed_and_formatted)
{
	static const struct {
		const char *tail;
		uint8_t len, mki[4];
		uint64_t lifetime;
		const char *formatted; /* NULL: the input's tail */
	} ok[] = {
		{"|1:1", 1, {1}, 0, NULL},
		{"|255:1", 1, {0xff}, 0, NULL},
		{"|2^20|1:4", 4, {0, 0, 0, 1}, 1u << 20, NULL},
		{"|2^31|258:2", 2, {1, 2}, 1u << 31, NULL},
		{"|16909060:4", 4, {1, 2, 3, 4}, 0, NULL},
		{"|4294967295:4", 4, {0xff, 0xff, 0xff, 0xff}, 0, NULL},
		{"|1000|65535:3", 3, {0, 0xff, 0xff}, 1000, NULL},
		{"|0:2", 2, {0, 0}, 0, NULL},
		{"|007:1", 1, {7}, 0, "|7:1"},
		{"|00000000000000000001:4", 4, {0, 0, 0, 1}, 0, "|1:4"},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char in[160], out[160], want[160];
		struct dp_sdes s, t;

		snprintf(in, sizeof(in), "3 AES_CM_128_HMAC_SHA1_80 inline:" K30 "%s", ok[i].tail);
		memset(&s, 0x5c, sizeof(s));
		cr_assert_eq(ctl_sdes_parse(in, &s), 0, "%s", in);
		cr_assert_eq(s.mki_len, ok[i].len, "%s", in);
		cr_assert_arr_eq(s.mki, ok[i].mki, ok[i].len, "%s", in);
		cr_assert_eq(s.lifetime, ok[i].lifetime, "%s", in);
		cr_assert_gt(ctl_sdes_format(&s, out, sizeof(out)), 0);
		snprintf(want, sizeof(want), "3 AES_CM_128_HMAC_SHA1_80 inline:" K30 "%s",
			 ok[i].formatted ? ok[i].formatted : ok[i].tail);
		cr_assert_str_eq(out, want);
		cr_assert_eq(ctl_sdes_parse(out, &t), 0);
		cr_assert_eq(t.mki_len, s.mki_len);
		cr_assert_arr_eq(t.mki, s.mki, s.mki_len);
	}
}

/* The answering key mirrors the offer's MKI length (value 1), or has none. */
Test(sdes, answer_mki)
{
	struct dp_sdes theirs, ours;

	cr_assert_eq(ctl_sdes_parse("1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==|7:3",
				    &theirs), 0);
	cr_assert_eq(dp_sdes_generate(theirs.suite, theirs.tag, &ours), 0);
	cr_assert_eq(ours.mki_len, 0);
	ctl_sdes_answer_mki(&ours, &theirs);
	cr_assert_eq(ours.mki_len, 3);
	cr_assert_arr_eq(ours.mki, "\0\0\1", 3);
	theirs.mki_len = 0;
	ctl_sdes_answer_mki(&ours, &theirs);
	cr_assert_eq(ours.mki_len, 0);
}

Test(sdes, generate_format_parse_all_suites)
{
	for (int i = 0; i < DP_SRTP_SUITE_COUNT; i++) {
		enum dp_srtp_suite suite = (enum dp_srtp_suite)i;
		struct dp_sdes a, b, c;
		char buf[160];
		int n;

		cr_assert_eq(dp_sdes_generate(suite, 999999999u, &a), 0);
		cr_assert_eq(dp_sdes_generate(suite, 999999999u, &c), 0);
		cr_assert_arr_neq(a.key_salt, c.key_salt, a.key_salt_len, "same random key twice");
		cr_assert_eq(a.key_salt_len, dp_srtp_key_len(suite) + dp_srtp_salt_len(suite));
		cr_assert_eq(a.lifetime, 0);
		n = ctl_sdes_format(&a, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		cr_assert_eq((size_t)n, strlen(buf));
		cr_assert_eq(ctl_sdes_parse(buf, &b), 0, "%s", buf);
		cr_assert_eq(b.tag, a.tag);
		cr_assert_eq(b.suite, suite);
		cr_assert_eq(b.key_salt_len, a.key_salt_len);
		cr_assert_arr_eq(b.key_salt, a.key_salt, a.key_salt_len);
		cr_assert_eq(b.lifetime, 0);
		/* exact fit, one byte short */
		cr_assert_eq(ctl_sdes_format(&a, buf, (size_t)n + 1), n);
		cr_assert_eq(ctl_sdes_format(&a, buf, (size_t)n), -ENOSPC);
		/* lifetimes */
		a.lifetime = 1ull << 31;
		cr_assert_gt(ctl_sdes_format(&a, buf, sizeof(buf)), 0);
		cr_assert(strstr(buf, "|2^31"));
		cr_assert_eq(ctl_sdes_parse(buf, &b), 0);
		cr_assert_eq(b.lifetime, 1ull << 31);
		a.lifetime = 3000;
		cr_assert_gt(ctl_sdes_format(&a, buf, sizeof(buf)), 0);
		cr_assert(strstr(buf, "|3000"));
		cr_assert_eq(ctl_sdes_parse(buf, &b), 0);
		cr_assert_eq(b.lifetime, 3000);
		/* usable as a stream key */
		if (dp_srtp_suite_supported(suite))
			dp_srtp_destroy(mk(suite, b.key_salt, b.key_salt_len, DP_SRTP_PROTECT, 0));
	}
	{
		struct dp_sdes a;

		cr_assert_eq(dp_sdes_generate(DP_SRTP_SUITE_COUNT, 1, &a), -EINVAL);
		cr_assert_eq(dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_80, 1000000000u, &a),
			     -EINVAL);
		cr_assert_eq(dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_80, 0, NULL), -EINVAL);
		cr_assert_eq(dp_sdes_generate(DP_SRTP_AES_CM_128_HMAC_SHA1_80, 0, &a), 0);
		a.key_salt_len = 29;
		cr_assert_eq(ctl_sdes_format(&a, (char[200]){0}, 200), -EINVAL);
		a.key_salt_len = 30;
		a.lifetime = (1ull << 48) + 1;
		cr_assert_eq(ctl_sdes_format(&a, (char[200]){0}, 200), -EINVAL);
	}
}

#define K28 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="  /* 28 bytes */
#define K44 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=" /* 44 */

Test(sdes, parse_accepts)
{
	static const struct {
		const char *in;
		uint32_t tag;
		enum dp_srtp_suite suite;
		uint64_t life;
	} ok[] = {
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30, 1, DP_SRTP_AES_CM_128_HMAC_SHA1_80, 0},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "|2^31", 2,
		 DP_SRTP_AES_CM_128_HMAC_SHA1_32, 1ull << 31},
		{"0 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^48", 0,
		 DP_SRTP_AES_CM_128_HMAC_SHA1_80, 1ull << 48},
		{"999999999 AEAD_AES_128_GCM inline:" K28, 999999999, DP_SRTP_AEAD_AES_128_GCM, 0},
		{"3 AEAD_AES_256_GCM inline:" K44 "|1000", 3, DP_SRTP_AEAD_AES_256_GCM, 1000},
		{"01 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1", 1, DP_SRTP_AES_CM_128_HMAC_SHA1_80,
		 1},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct dp_sdes s;

		cr_assert_eq(ctl_sdes_parse(ok[i].in, &s), 0, "%s", ok[i].in);
		cr_assert_eq(s.tag, ok[i].tag);
		cr_assert_eq(s.suite, ok[i].suite);
		cr_assert_eq(s.lifetime, ok[i].life);
		cr_assert_eq(s.key_salt_len, dp_srtp_key_len(s.suite) + dp_srtp_salt_len(s.suite));
	}
}

Test(sdes, parse_errors)
{
	static const struct {
		const char *in;
		int rc;
	} bad[] = {
		/* unknown suites */
		{"1 AES_CM_256_HMAC_SHA1_80 inline:" K30, -ENOENT},
		{"1 F8_128_HMAC_SHA1_80 inline:" K30, -ENOENT},
		{"1 aes_cm_128_hmac_sha1_80 inline:" K30, -ENOENT},
		{"1 AEAD_AES_192_GCM inline:" K28, -ENOENT},
		/* unsupported features */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:32", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:5", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|99999999999999999999:128", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:32;inline:" K30 "|2^20|2:32",
		 -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 ";inline:" K30, -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTP", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTCP", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNAUTHENTICATED_SRTP", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " KDR=10", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20 WSH=256", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:https://example.invalid/k", -ENOTSUP},
		/* wrong key lengths */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K28, -EINVAL},
		{"1 AEAD_AES_128_GCM inline:" K30, -EINVAL},
		{"1 AEAD_AES_256_GCM inline:" K30, -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K44, -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:", -EINVAL},
		/* base64 */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubG-z", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVub=Vz", -EINVAL},
		{"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw", -EINVAL},
		{"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx==", -EINVAL},
		/* lifetimes */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^49", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|281474976710657", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|x", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|2^20", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:32|x", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:1000", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|a:4", -EINVAL},
		/* MKI values that do not fit their length; malformed MKIs */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|256:1", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|65536:2", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|4294967296:4", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|123456789012345678901:4", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|:4", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4|2^20", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4|1:4", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:2:3", -EINVAL},
		/* syntax */
		{"", -EINVAL},
		{"1", -EINVAL},
		{"1 ", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 ", -EINVAL},
		{"AES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{"-1 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{" 1 AES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{"1  AES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{"1\tAES_CM_128_HMAC_SHA1_80 inline:" K30, -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80  inline:" K30, -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " ", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 INLINE:" K30, -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline" K30, -EINVAL},
		{"1 AES-CM-128 inline:" K30, -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80_AES_CM_128_HMAC_SHA1_80_AES_CM_128_HMAC_SHA1_80 inline:" K30,
		 -EINVAL},
	};
	struct dp_sdes s;

	memset(&s, 0x5c, sizeof(s));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dp_sdes before = s;
		int rc = ctl_sdes_parse(bad[i].in, &s);

		cr_assert_eq(rc, bad[i].rc, "\"%s\": got %d want %d", bad[i].in, rc, bad[i].rc);
		cr_assert_arr_eq(&s, &before, sizeof(s), "out written on failure");
	}
	cr_assert_eq(ctl_sdes_parse(NULL, &s), -EINVAL);
	cr_assert_eq(ctl_sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" K30, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* base64                                                                   */

Test(base64, rfc4648_vectors)
{
	static const char *const v[][2] = {
		{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < 7; i++) {
		char enc[16];
		uint8_t dec[16];
		size_t n = 99;

		cr_assert_eq(ctl_base64_encode((const uint8_t *)v[i][0], strlen(v[i][0]), enc,
					      sizeof(enc)),
			     (int)strlen(v[i][1]));
		cr_assert_str_eq(enc, v[i][1]);
		cr_assert_eq(ctl_base64_decode(v[i][1], strlen(v[i][1]), dec, sizeof(dec), &n), 0);
		cr_assert_eq(n, strlen(v[i][0]));
		cr_assert_arr_eq(dec, v[i][0], n);
	}
}

Test(base64, all_bytes_and_lengths_round_trip)
{
	uint8_t in[256], dec[256];
	char enc[400];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (size_t n = 0; n <= 256; n++) {
		size_t m = 0;
		int el = ctl_base64_encode(in + (256 - n), n, enc, sizeof(enc));

		cr_assert_eq(el, (int)((n + 2) / 3 * 4));
		cr_assert_eq(ctl_base64_decode(enc, (size_t)el, dec, n, &m), 0);
		cr_assert_eq(m, n);
		cr_assert_arr_eq(dec, in + (256 - n), n);
	}
	cr_assert_eq(ctl_base64_encode((const uint8_t *)"+/", 2, enc, sizeof(enc)), 4);
	cr_assert_str_eq(enc, "Ky8=");
	cr_assert_eq(ctl_base64_encode((const uint8_t *)"\xfb\xff\xbf", 3, enc, sizeof(enc)), 4);
	cr_assert_str_eq(enc, "+/+/");
}

Test(base64, strict_rejects)
{
	static const char *const bad[] = {
		"Zg",    "Zg=",   "Zm9",   "Z",     "Zg==Zg==", "Zh==",  "Zm9=",  "====",
		"A===",  "Z===",  "=Zg=",  "Zg=a",  "Z g=",     "Zg==\n", "Zm\0v", "Zm-v",
		"Zm_v",  "Zm9v=", "Zm\x80v", "Zm9v====",
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 1234, len = strlen(bad[i]);

		if (i == 14) /* embedded NUL */
			len = 4;
		memset(out, 0xee, sizeof(out));
		cr_assert_eq(ctl_base64_decode(bad[i], len, out, sizeof(out), &n), -EINVAL, "\"%s\"",
			     bad[i]);
		cr_assert_eq(n, 1234, "out_n written on failure");
		for (size_t j = 0; j < sizeof(out); j++)
			cr_assert(out[j] == 0 || out[j] == 0xee);
	}
}

Test(base64, space_limits)
{
	uint8_t out[8];
	char enc[9];
	size_t n = 0;

	cr_assert_eq(ctl_base64_decode("Zm9vYmFy", 8, out, 5, &n), -ENOSPC);
	cr_assert_eq(ctl_base64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	cr_assert_eq(n, 6);
	cr_assert_eq(ctl_base64_decode("Zm9vYg==", 8, out, 4, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(ctl_base64_decode("", 0, NULL, 0, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(ctl_base64_encode((const uint8_t *)"foobar", 6, enc, 8), -ENOSPC);
	cr_assert_eq(ctl_base64_encode((const uint8_t *)"foobar", 6, enc, 9), 8);
	cr_assert_eq(ctl_base64_decode(NULL, 4, out, 8, &n), -EINVAL);
	cr_assert_eq(ctl_base64_decode("Zm9v", 4, out, 8, NULL), -EINVAL);
}
