/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_auth: HMAC-SHA256 vectors (RFC 4231 and the
 * worked example of docs/protocol.md), signed request verification in
 * bencode and JSON, every refusal, the replay cache, the secrets file. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_auth.h"
#include "ctl_sign.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* RFC 4231 test cases 2 (a short key) and 6 (a key longer than a block) */
Test(auth, hmac_rfc4231)
{
	uint8_t mac[32];
	char h[65];
	uint8_t long_key[131];
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";

	ctl_hmac_sha256((const uint8_t *)"Jefe", 4,
			(struct iovec[]){ { "what do ya ", 11 }, { "want for nothing?", 17 } }, 2, mac);
	hex(mac, 32, h);
	cr_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(long_key, 0xaa, sizeof(long_key));
	ctl_hmac_sha256(long_key, sizeof(long_key), (struct iovec[]){ { (void *)m6, strlen(m6) } }, 1, mac);
	hex(mac, 32, h);
	cr_assert_str_eq(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* The worked example of docs/protocol.md, checked here and against the
 * document itself, so the two cannot drift apart. */
#define EX_KEY "medius-example-secret-0123456789"
#define EX_TS 1767225600
#define EX_MAC "6d2037becaba516ea890d96f0ecec11f8549929c3b9249eafb1b14e5e59bf0ff"
#define EX_REQ "5851_1 d4:authd6:client9:kamailio14:hmac64:" EX_MAC "2:tsi1767225600ee7:command4:pinge"
#define EX_JSON_MAC "707bceb3ba7128059c3770ed84a6623cee75f1b5e007dd1a5fdc254c3abad038"
#define EX_JSON "5851_2 {\"auth\":{\"client\":\"kamailio1\",\"ts\":1767225600,\"hmac\":\"" EX_JSON_MAC \
		"\"},\"command\":\"ping\"}"

static struct ctl_auth *example(enum ctl_auth_mode mode)
{
	struct ctl_auth *a = ctl_auth_create(mode, 30, 1024);

	cr_assert_not_null(a);
	cr_assert_eq(ctl_auth_add_key(a, "kamailio1", (const uint8_t *)EX_KEY, 32), 0);
	return a;
}

Test(auth, worked_example_hmac)
{
	const char *in = "5851_1 kamailio1 1767225600 7:command4:pinge";
	uint8_t mac[32];
	char h[65];

	ctl_hmac_sha256((const uint8_t *)EX_KEY, 32, (struct iovec[]){ { (void *)in, strlen(in) } }, 1, mac);
	hex(mac, 32, h);
	cr_assert_str_eq(h, EX_MAC);
}

Test(auth, worked_example_is_in_the_docs)
{
	const char *src = getenv("MEDIUS_SOURCE");
	char path[4096], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/docs/protocol.md", src ? src : ".");
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	cr_assert(strstr(text, EX_KEY), "the example's secret is not in protocol.md");
	cr_assert(strstr(text, "5851_1 kamailio1 1767225600 7:command4:pinge"), "the HMAC input is not in protocol.md");
	cr_assert(strstr(text, EX_MAC), "the example's HMAC is not in protocol.md");
	cr_assert(strstr(text, EX_REQ), "the signed request is not in protocol.md");
	cr_assert(strstr(text, EX_JSON), "the JSON example is not in protocol.md");
	free(text);
}

static enum ctl_refusal verify(struct ctl_auth *a, const char *req, int64_t now, struct ctl_auth_sig *sig)
{
	return ctl_auth_verify(a, req, strlen(req), now, sig);
}

Test(auth, example_verifies_in_both_encodings)
{
	struct ctl_auth *a = example(CTL_AUTH_REQUIRED);
	struct ctl_auth_sig sig;

	cr_assert_eq(verify(a, EX_REQ, EX_TS, &sig), CTL_REFUSE_NONE);
	cr_assert(sig.present);
	cr_assert_str_eq(sig.name, "kamailio1");
	cr_assert_eq(sig.ts, EX_TS);
	cr_assert_eq(verify(a, EX_JSON, EX_TS + 5, &sig), CTL_REFUSE_NONE);
	/* trailing blanks after the dictionary are not signed (TCP framing keeps them) */
	cr_assert_eq(verify(a, EX_REQ "\r\n", EX_TS, &sig), CTL_REFUSE_NONE);
	ctl_auth_destroy(a);
}

Test(auth, refusals)
{
	struct ctl_auth *a = example(CTL_AUTH_REQUIRED);
	struct ctl_auth_sig sig;
	char req[512];

	cr_assert_eq(verify(a, "c1 d7:command4:pinge", EX_TS, &sig), CTL_REFUSE_UNSIGNED);
	cr_assert_not(sig.present);
	cr_assert_eq(verify(a, "c1 {\"command\":\"ping\"}", EX_TS, &sig), CTL_REFUSE_UNSIGNED);
	/* auth must be the first member */
	cr_assert_eq(verify(a, "c1 d7:command4:ping4:authd6:client9:kamailio1ee", EX_TS, &sig), CTL_REFUSE_UNSIGNED);
	/* stale: either side of the window; the window's edges are in */
	cr_assert_eq(verify(a, EX_REQ, EX_TS + 31, &sig), CTL_REFUSE_STALE);
	cr_assert_eq(verify(a, EX_REQ, EX_TS - 31, &sig), CTL_REFUSE_STALE);
	cr_assert_eq(verify(a, EX_REQ, EX_TS + 30, &sig), CTL_REFUSE_NONE);
	cr_assert_eq(verify(a, EX_REQ, EX_TS - 30, &sig), CTL_REFUSE_NONE);
	/* one byte of the body changed: bad signature */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	*strstr(req, "ping") = 'q';
	cr_assert_eq(verify(a, req, EX_TS, &sig), CTL_REFUSE_BAD_SIGNATURE);
	/* another cookie */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	req[5] = '2';
	cr_assert_eq(verify(a, req, EX_TS, &sig), CTL_REFUSE_BAD_SIGNATURE);
	/* another timestamp (same length) */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	*strstr(req, "1767225600") = '2';
	cr_assert_eq(verify(a, req, 2767225600, &sig), CTL_REFUSE_BAD_SIGNATURE);
	/* one hex digit of the HMAC */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	*strstr(req, EX_MAC) = '7';
	cr_assert_eq(verify(a, req, EX_TS, &sig), CTL_REFUSE_BAD_SIGNATURE);
	/* the same in upper case is the same HMAC */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	for (char *mac = strstr(req, EX_MAC), *p = mac; p < mac + 64; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	cr_assert_null(strstr(req, EX_MAC), "nothing was upper-cased");
	cr_assert_eq(verify(a, req, EX_TS, &sig), CTL_REFUSE_NONE);
	/* unknown client (same length, so the rest still parses) */
	snprintf(req, sizeof(req), "%s", EX_REQ);
	memcpy(strstr(req, "kamailio1"), "opensips1", 9);
	cr_assert_eq(verify(a, req, EX_TS, &sig), CTL_REFUSE_UNKNOWN_CLIENT);
	cr_assert_str_eq(sig.name, "opensips1");
	ctl_auth_destroy(a);
}

Test(auth, malformed_auth_members)
{
	static const char *bad[] = {
		"c d4:authi1e7:command4:pinge",                                    /* not a dict */
		"c d4:authd2:tsi1ee7:command4:pinge",                              /* no client, no hmac */
		"c d4:authd6:client1:a4:hmac3:abc2:tsi1ee7:command4:pinge",          /* short hmac */
		"c d4:authd6:client1:a4:hmac64:zz00000000000000000000000000000000000000000000000000000000000000"
		"2:tsi1ee7:command4:pinge",                                         /* not hex */
		"c d4:authd6:client1:a4:hmac64:0000000000000000000000000000000000000000000000000000000000000000"
		"2:ts1:1e7:command4:pinge",                                         /* ts a string */
		"c d4:authd6:client3:a b4:hmac64:0000000000000000000000000000000000000000000000000000000000000000"
		"2:tsi1ee7:command4:pinge",                                         /* a blank in the name */
		"c d4:authd6:client1:a4:hmac64:0000000000000000000000000000000000000000000000000000000000000000"
		"2:tsi-1ee7:command4:pinge",                                        /* negative ts */
		"c d4:auth",                                                        /* cut short */
		"c {\"auth\":{\"client\":\"a\"}}",                                   /* JSON: no comma, no members */
		"c {\"auth\" 1,\"command\":\"ping\"}",                                /* JSON: no colon */
		"c {\"auth\":\n\n\n\n",      /* JSON: only blanks after the key (read past the end, found by fuzz_auth) */
		"c d4:auth  \r\n",              /* bencode: the same */
	};
	struct ctl_auth *a = example(CTL_AUTH_OPTIONAL);
	struct ctl_auth_sig sig;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(verify(a, bad[i], EX_TS, &sig), CTL_REFUSE_MALFORMED, "%s", bad[i]);
		cr_assert(sig.present);
	}
	/* optional: unsigned passes, signed is checked */
	cr_assert_eq(verify(a, "c1 d7:command4:pinge", EX_TS, &sig), CTL_REFUSE_NONE);
	cr_assert_not(sig.present);
	cr_assert_eq(verify(a, EX_REQ, EX_TS + 100, &sig), CTL_REFUSE_STALE);
	ctl_auth_destroy(a);
}

Test(auth, off_checks_nothing)
{
	struct ctl_auth *a = example(CTL_AUTH_OFF);
	struct ctl_auth_sig sig;

	cr_assert_eq(verify(a, "c d4:authi1e7:command4:pinge", EX_TS, &sig), CTL_REFUSE_NONE);
	cr_assert_eq(verify(a, EX_REQ, EX_TS + 1000, &sig), CTL_REFUSE_NONE);
	ctl_auth_destroy(a);
}

Test(auth, replay_cache)
{
	struct ctl_auth *a = example(CTL_AUTH_REQUIRED);
	struct ctl_auth_sig sig, sig2;

	cr_assert_eq(verify(a, EX_REQ, EX_TS, &sig), CTL_REFUSE_NONE);
	cr_assert_eq(ctl_auth_remember(a, &sig, EX_TS), CTL_REFUSE_NONE);
	cr_assert_eq(verify(a, EX_REQ, EX_TS + 10, &sig), CTL_REFUSE_NONE);
	cr_assert_eq(ctl_auth_remember(a, &sig, EX_TS + 10), CTL_REFUSE_REPLAY);
	/* another cookie, same client and second: not a replay */
	cr_assert_eq(verify(a, EX_JSON, EX_TS, &sig2), CTL_REFUSE_NONE);
	cr_assert_eq(ctl_auth_remember(a, &sig2, EX_TS), CTL_REFUSE_NONE);
	cr_assert_eq(ctl_auth_remember(a, &sig2, EX_TS + 30), CTL_REFUSE_REPLAY);
	ctl_auth_destroy(a);
}

/* Many live entries: every one is still refused as a replay (nothing is
 * evicted while the cache has room), and entries whose timestamp left the
 * window make room for new ones. */
Test(auth, replay_cache_fills_and_expires)
{
	struct ctl_auth *a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 4096);
	char cookies[3000][16];
	struct ctl_auth_sig s;

	cr_assert_not_null(a);
	for (int i = 0; i < 3000; i++) {
		memset(&s, 0, sizeof(s));
		snprintf(cookies[i], sizeof(cookies[i]), "k%d", i);
		s.present = true;
		s.client = 0;
		s.ts = 1000 + i % 20;
		s.cookie = cookies[i];
		s.cookie_len = strlen(cookies[i]);
		cr_assert_eq(ctl_auth_remember(a, &s, 1010), CTL_REFUSE_NONE, "entry %d", i);
	}
	cr_assert_eq(ctl_auth_evictions(a), 0);
	for (int i = 0; i < 3000; i++) {
		s.ts = 1000 + i % 20;
		s.cookie = cookies[i];
		s.cookie_len = strlen(cookies[i]);
		cr_assert_eq(ctl_auth_remember(a, &s, 1015), CTL_REFUSE_REPLAY, "entry %d", i);
	}
	/* 100 s later every entry is out of the window: 3000 new ones fit */
	for (int i = 0; i < 3000; i++) {
		s.ts = 1100;
		s.cookie = cookies[i];
		s.cookie_len = strlen(cookies[i]);
		cr_assert_eq(ctl_auth_remember(a, &s, 1100), CTL_REFUSE_NONE, "entry %d", i);
	}
	cr_assert_eq(ctl_auth_evictions(a), 0);
	ctl_auth_destroy(a);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(auth, secrets_file)
{
	char dir[] = "/tmp/medius-auth-XXXXXX", path[128], err[300];
	struct ctl_auth *a;
	struct ctl_auth_sig sig;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	/* the example's secret, base64 */
	write_file(path, "# ng clients\n\nkamailio1 bWVkaXVzLWV4YW1wbGUtc2VjcmV0LTAxMjM0NTY3ODk=\n"
			 "  other\tAAAAAAAAAAAAAAAAAAAAAA==  \n", 0600);
	a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 1024);
	cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ctl_auth_clients(a), 2);
	cr_assert_eq(verify(a, EX_REQ, EX_TS, &sig), CTL_REFUSE_NONE);
	ctl_auth_destroy(a);

	/* world-readable: refused, whatever it holds */
	chmod(path, 0644);
	a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 1024);
	cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, "0644"), "%s", err);
	cr_assert_eq(ctl_auth_clients(a), 0);
	chmod(path, 0602);
	cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), -EPERM);
	chmod(path, 0640); /* group-readable is fine (a group of its own) */
	cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), 0, "%s", err);
	ctl_auth_destroy(a);

	static const char *bad[] = {
		"kamailio1\n",                                /* no secret */
		"kamailio1 c2hvcnQ=\n",                       /* 5 bytes: too short */
		"kamailio1 not*base64\n",
		"kam ailio1 AAAAAAAAAAAAAAAAAAAAAA==\n",      /* three fields */
		"k@m AAAAAAAAAAAAAAAAAAAAAA==\n",             /* a bad name */
		"a AAAAAAAAAAAAAAAAAAAAAA==\na AAAAAAAAAAAAAAAAAAAAAA==\n", /* twice */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 1024);
		err[0] = '\0';
		cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, ":1:") || strstr(err, ":2:"), "no line number: %s", err);
		cr_assert_eq(ctl_auth_clients(a), 0, "%s: a half-loaded file", bad[i]);
		ctl_auth_destroy(a);
	}
	a = ctl_auth_create(CTL_AUTH_REQUIRED, 30, 1024);
	snprintf(path, sizeof(path), "%s/missing", dir);
	cr_assert_eq(ctl_auth_load_keys(a, path, err, sizeof(err)), -ENOENT);
	ctl_auth_destroy(a);
	snprintf(path, sizeof(path), "%s/keys", dir);
	unlink(path);
	rmdir(dir);
}

/* The C signer (mediusctl's) writes the example byte for byte, in both
 * encodings, and what it signs verifies. */
Test(auth, c_signer_matches_the_example)
{
	struct ctl_buf b = { 0 };
	struct ctl_auth *a = example(CTL_AUTH_REQUIRED);
	struct ctl_auth_sig sig;

	cr_assert_eq(ctl_sign_request(&b, "5851_1", "kamailio1", (const uint8_t *)EX_KEY, 32, EX_TS,
				      "d7:command4:pinge", 17), 0);
	cr_assert_eq(b.len, strlen(EX_REQ));
	cr_assert(!memcmp(b.p, EX_REQ, b.len), "%.*s", (int)b.len, b.p);
	ctl_buf_clear(&b);
	cr_assert_eq(ctl_sign_request(&b, "5851_2", "kamailio1", (const uint8_t *)EX_KEY, 32, EX_TS,
				      "{\"command\":\"ping\"}\n", 19), 0);
	cr_assert_eq(b.len, strlen(EX_JSON));
	cr_assert(!memcmp(b.p, EX_JSON, b.len), "%.*s", (int)b.len, b.p);
	ctl_buf_clear(&b);
	cr_assert_eq(ctl_sign_request(&b, "c9", "kamailio1", (const uint8_t *)EX_KEY, 32, 1800000000,
				      "{ \"command\": \"offer\", \"sdp\": \"v=0\\r\\n\" }", 39), 0);
	cr_assert_eq(ctl_auth_verify(a, b.p, b.len, 1800000010, &sig), CTL_REFUSE_NONE, "%.*s", (int)b.len, b.p);
	ctl_buf_clear(&b);
	cr_assert_eq(ctl_sign_request(&b, "c9", "kamailio1", (const uint8_t *)EX_KEY, 32, EX_TS, "l1:ae", 5),
		     -EINVAL);
	ctl_buf_free(&b);
	ctl_auth_destroy(a);
}
