/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_json. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_json.h"
#include "ctl_val.h"

static struct ctl_arena ar;
static struct ctl_buf ob;

static void setup(void)
{
	cr_assert_eq(ctl_arena_init(&ar, 1 << 20), 0);
	memset(&ob, 0, sizeof(ob));
}

static void teardown(void)
{
	ctl_arena_fini(&ar);
	ctl_buf_free(&ob);
}

TestSuite(json, .init = setup, .fini = teardown);

/* Decode a C string that must decode completely; returns the tree. */
static struct ctl_val *dec_ok(const char *s)
{
	struct ctl_val *v = NULL;
	size_t consumed = 0;
	int rc = ctl_json_decode(&ar, s, strlen(s), &v, &consumed, NULL);

	cr_assert_eq(rc, 0, "decode of '%s' failed: %d", s, rc);
	cr_assert_eq(consumed, strlen(s), "'%s': consumed %zu", s, consumed);
	cr_assert_not_null(v);
	return v;
}

static void expect_err(const char *s, size_t len, int err)
{
	struct ctl_val *v = (struct ctl_val *)0x1;
	size_t consumed = 4242;
	int rc = ctl_json_decode(&ar, s, len, &v, &consumed, NULL);

	cr_assert_eq(rc, err, "'%.*s' (len %zu): got %d want %d", (int)len, s, len, rc, err);
	cr_assert_eq(v, (struct ctl_val *)0x1, "'%.*s': *out written on error", (int)len, s);
	cr_assert_eq(consumed, 4242, "'%.*s': *consumed written on error", (int)len, s);
}

static void expect_err_s(const char *s, int err) { expect_err(s, strlen(s), err); }

/* Encode v and compare with the exact expected text. */
static void expect_enc(const struct ctl_val *v, bool pretty, const char *want)
{
	ctl_buf_clear(&ob);
	cr_assert_eq(ctl_json_encode(v, &ob, pretty), 0);
	cr_assert_eq(ob.len, strlen(want), "got '%.*s' want '%s'", (int)ob.len, ob.p, want);
	cr_assert_eq(memcmp(ob.p, want, ob.len), 0, "got '%.*s' want '%s'", (int)ob.len, ob.p, want);
}

static void expect_str(const struct ctl_val *v, const char *bytes, size_t n)
{
	cr_assert_eq(v->type, CTL_V_STR);
	cr_assert_eq(v->u.s.len, n, "len %zu want %zu", v->u.s.len, n);
	cr_assert_eq(memcmp(v->u.s.p, bytes, n), 0);
}

static bool in_arena(const void *p)
{
	const uint8_t *q = p;

	return q >= ar.base && q < ar.base + ar.size;
}

Test(json, roundtrip_nested)
{
	static const char *docs[] = {
		"{\"a\":[1,\"x\\n\",{\"b\":-5}]}",
		"[[[[]]],{},{\"\":\"\"},[{\"k\":[1,2,3]}],\"\\u00e9\\ud83d\\ude00\"]",
		" { \"call-id\" : \"abc@host\", \"sdp\": \"v=0\\r\\no=- 1 2 IN IP4 1.2.3.4\\r\\n\","
		" \"flags\": [\"trust-address\", \"symmetric\"], \"replace\": [\"origin\"],"
		" \"ICE\": \"remove\", \"n\": -9223372036854775808, \"m\": 9223372036854775807,"
		" \"t\": true, \"f\": false, \"dup\": 1, \"dup\": 2, \"e\\u0000sc\": \"\\\"\\\\\\/\\b\\f\\t\" } ",
		"\"\\u0000\\u001f\\u007f\"",
		"0",
		"-1",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		for (int pretty = 0; pretty < 2; pretty++) {
			struct ctl_val *a = dec_ok(docs[i]), *b = NULL;
			size_t consumed = 0;

			ctl_buf_clear(&ob);
			cr_assert_eq(ctl_json_encode(a, &ob, pretty), 0);
			cr_assert_eq(ctl_json_decode(&ar, ob.p, ob.len, &b, &consumed, NULL), 0,
				     "re-decode of '%.*s'", (int)ob.len, ob.p);
			cr_assert_eq(consumed, ob.len);
			cr_assert(ctl_val_equal(a, b), "doc %zu pretty %d: '%.*s'", i, pretty,
				  (int)ob.len, ob.p);
		}
	}
}

Test(json, decoded_tree_shape)
{
	struct ctl_val *v = dec_ok("{\"a\":[1,\"x\\n\",{\"b\":-5}],\"t\":true,\"f\":false,\"a\":7}");
	const struct ctl_val *l, *m;

	cr_assert_eq(v->type, CTL_V_DICT);
	cr_assert_eq(v->u.c.n, 4);
	l = ctl_dict_get(v, "a");
	cr_assert_not_null(l);
	cr_assert_eq(l->type, CTL_V_LIST);
	cr_assert_eq(l->u.c.n, 3);
	m = l->u.c.head;
	cr_assert_eq(m->type, CTL_V_INT);
	cr_assert_eq(m->u.i, 1);
	expect_str(m->next, "x\n", 2);
	m = ctl_dict_get(m->next->next, "b");
	cr_assert_not_null(m);
	cr_assert_eq(m->u.i, -5);
	cr_assert_eq(ctl_dict_get(v, "t")->type, CTL_V_INT);
	cr_assert_eq(ctl_dict_get(v, "t")->u.i, 1);
	cr_assert_eq(ctl_dict_get(v, "f")->u.i, 0);
	/* duplicate keys kept in order, lookup returns the first */
	cr_assert_eq(v->u.c.tail->u.i, 7);
	cr_assert_eq(ctl_dict_get(v, "a"), v->u.c.head);
}

Test(json, compact_exact)
{
	struct ctl_val *d = ctl_val_dict(&ar), *l = ctl_val_list(&ar), *e = ctl_val_dict(&ar);

	cr_assert_eq(ctl_dict_add_int(&ar, d, "a", 1), 0);
	cr_assert_eq(ctl_list_append(l, ctl_val_int(&ar, 1)), 0);
	cr_assert_eq(ctl_list_append(l, ctl_val_int(&ar, -2)), 0);
	cr_assert_eq(ctl_list_append(l, ctl_val_cstr(&ar, "x y")), 0);
	cr_assert_eq(ctl_dict_add(d, "b", 1, l), 0);
	cr_assert_eq(ctl_dict_add(d, "c", 1, e), 0);
	cr_assert_eq(ctl_dict_add(d, "d", 1, ctl_val_list(&ar)), 0);
	cr_assert_eq(ctl_dict_add_cstr(&ar, e, "k", "v"), 0);
	expect_enc(d, false, "{\"a\":1,\"b\":[1,-2,\"x y\"],\"c\":{\"k\":\"v\"},\"d\":[]}");
}

Test(json, pretty_exact)
{
	struct ctl_val *v = dec_ok("{\"a\":1,\"b\":[1,2],\"c\":{},\"d\":[],\"e\":{\"k\":\"v\"}}");

	expect_enc(v, true,
		   "{\n"
		   "  \"a\": 1,\n"
		   "  \"b\": [\n"
		   "    1,\n"
		   "    2\n"
		   "  ],\n"
		   "  \"c\": {},\n"
		   "  \"d\": [],\n"
		   "  \"e\": {\n"
		   "    \"k\": \"v\"\n"
		   "  }\n"
		   "}");
	expect_enc(dec_ok("[]"), true, "[]");
	expect_enc(dec_ok("{}"), true, "{}");
	expect_enc(dec_ok("5"), true, "5");
	expect_enc(dec_ok("[[]]"), true, "[\n  []\n]");
}

Test(json, encode_ints)
{
	expect_enc(ctl_val_int(&ar, 0), false, "0");
	expect_enc(ctl_val_int(&ar, -1), false, "-1");
	expect_enc(ctl_val_int(&ar, 1234567890), false, "1234567890");
	expect_enc(ctl_val_int(&ar, INT64_MAX), false, "9223372036854775807");
	expect_enc(ctl_val_int(&ar, INT64_MIN), false, "-9223372036854775808");
}

Test(json, decode_escapes)
{
	expect_str(dec_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), "\"\\/\b\f\n\r\t", 8);
	expect_str(dec_ok("\"\\u0041\\u00e9\\u20AC\""), "A\xc3\xa9\xe2\x82\xac", 6);
	expect_str(dec_ok("\"\\ud83d\\ude00\""), "\xf0\x9f\x98\x80", 4);
	expect_str(dec_ok("\"\\uD83D\\uDE00x\""), "\xf0\x9f\x98\x80x", 5);
	expect_str(dec_ok("\"\\udbff\\udfff\""), "\xf4\x8f\xbf\xbf", 4);
	expect_str(dec_ok("\"a\\u0000b\""), "a\0b", 3);
	expect_str(dec_ok("\"\\u07ff\\u0800\\uffff\""), "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8);
	/* raw UTF-8 passes through unchanged (invalid UTF-8: see utf8_invalid) */
	expect_str(dec_ok("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
	expect_str(dec_ok("\"\x7f\""), "\x7f", 1);
}

Test(json, strings_point_into_buf_or_arena)
{
	const char *s = "{\"plain\":\"abc\",\"k\\n\":\"a\\tb\"}";
	struct ctl_val *v = dec_ok(s);
	const struct ctl_val *m = v->u.c.head;

	cr_assert_eq(m->key, s + 2);
	cr_assert_eq(m->key_len, 5);
	cr_assert_eq(m->u.s.p, s + 10);
	cr_assert_eq(m->u.s.len, 3);
	m = m->next;
	cr_assert(in_arena(m->key));
	cr_assert_eq(m->key_len, 2);
	cr_assert_eq(memcmp(m->key, "k\n", 2), 0);
	cr_assert(in_arena(m->u.s.p));
	expect_str(m, "a\tb", 3);
}

Test(json, encode_escapes)
{
	struct ctl_val *v = ctl_val_str(&ar, "\"\\/\b\f\n\r\t\x01\x1f\x7f" "a\0", 13);

	expect_enc(v, false, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007fa\\u0000\"");
	/* keys are escaped the same way */
	v = ctl_val_dict(&ar);
	cr_assert_eq(ctl_dict_add(v, "k\"\n\x02", 4, ctl_val_int(&ar, 1)), 0);
	expect_enc(v, false, "{\"k\\\"\\n\\u0002\":1}");
	expect_enc(v, true, "{\n  \"k\\\"\\n\\u0002\": 1\n}");
}

Test(json, encode_utf8)
{
	/* valid sequences of every length are copied as is */
	expect_enc(ctl_val_cstr(&ar, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xc2\x80"), false,
		   "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xc2\x80\"");
	/* stray bytes become \u00XX (Latin-1) */
	expect_enc(ctl_val_cstr(&ar, "\xff"), false, "\"\\u00ff\"");
	expect_enc(ctl_val_cstr(&ar, "a\x80z"), false, "\"a\\u0080z\"");
	expect_enc(ctl_val_cstr(&ar, "\xc3"), false, "\"\\u00c3\"");             /* truncated */
	expect_enc(ctl_val_cstr(&ar, "\xc3(a"), false, "\"\\u00c3(a\"");         /* bad continuation */
	expect_enc(ctl_val_cstr(&ar, "\xc0\xaf"), false, "\"\\u00c0\\u00af\"");   /* overlong */
	expect_enc(ctl_val_cstr(&ar, "\xe0\x80\xaf"), false, "\"\\u00e0\\u0080\\u00af\"");
	expect_enc(ctl_val_cstr(&ar, "\xed\xa0\x80"), false, "\"\\u00ed\\u00a0\\u0080\""); /* surrogate */
	expect_enc(ctl_val_cstr(&ar, "\xf4\x90\x80\x80"), false,
		   "\"\\u00f4\\u0090\\u0080\\u0080\"");                          /* > U+10FFFF */
	expect_enc(ctl_val_cstr(&ar, "\xf0\x9f\x98"), false, "\"\\u00f0\\u009f\\u0098\"");
	expect_enc(ctl_val_cstr(&ar, "\xe2\x82\xac\xfe\xc3\xa9"), false, "\"\xe2\x82\xac\\u00fe\xc3\xa9\"");
	/* a key with a stray byte */
	{
		struct ctl_val *d = ctl_val_dict(&ar);

		cr_assert_eq(ctl_dict_add(d, "\xe9t\xe9", 3, ctl_val_int(&ar, 2)), 0);
		expect_enc(d, false, "{\"\\u00e9t\\u00e9\":2}");
	}
}

Test(json, truncated_prefixes)
{
	const char *doc = "{\"a\":[1,\"x\\n\",{\"b\":-5}]}";
	size_t n = strlen(doc);

	for (size_t i = 0; i < n; i++)
		expect_err(doc, i, -EINVAL);
	dec_ok(doc);

	/* prefixes of other literal kinds */
	expect_err_s("tru", -EINVAL);
	expect_err_s("f", -EINVAL);
	expect_err_s("-", -EINVAL);
	expect_err_s("\"abc", -EINVAL);
	expect_err_s("\"\\", -EINVAL);
	expect_err_s("\"\\u12", -EINVAL);
	expect_err_s("\"\\ud83d", -EINVAL);
	expect_err_s("\"\\ud83d\\", -EINVAL);
	expect_err_s("\"\\ud83d\\ude0", -EINVAL);
	expect_err_s("\"\\ud83d\\ude00", -EINVAL);
	expect_err_s("[1,", -EINVAL);
	expect_err_s("{\"a\":1", -EINVAL);
	/* a complete prefix is a complete document */
	cr_assert_eq(dec_ok("1")->u.i, 1);
	cr_assert_eq(dec_ok("12")->u.i, 12);
}

Test(json, empty_input)
{
	expect_err("", 0, -EINVAL);
	expect_err(NULL, 0, -EINVAL);
	expect_err_s("   ", -EINVAL);
	expect_err_s(" \t\r\n", -EINVAL);
	expect_err_s("\v1", -EINVAL); /* not JSON whitespace */
	expect_err_s("\f1", -EINVAL);
}

Test(json, leading_zeros)
{
	expect_err_s("01", -EINVAL);
	expect_err_s("00", -EINVAL);
	expect_err_s("-01", -EINVAL);
	expect_err_s("[007]", -EINVAL);
	expect_err_s("{\"a\":01}", -EINVAL);
	expect_err_s("+1", -EINVAL);
	expect_err_s("-", -EINVAL);
	expect_err_s("-a", -EINVAL);
	expect_err_s("- 1", -EINVAL);
	cr_assert_eq(dec_ok("0")->u.i, 0);
	cr_assert_eq(dec_ok("-0")->u.i, 0);
	cr_assert_eq(dec_ok("[0,10,-10]")->u.c.tail->u.i, -10);
}

Test(json, floats_rejected)
{
	expect_err_s("1.5", -EINVAL);
	expect_err_s("0.0", -EINVAL);
	expect_err_s("-0.1", -EINVAL);
	expect_err_s("1e5", -EINVAL);
	expect_err_s("1E5", -EINVAL);
	expect_err_s("0e0", -EINVAL);
	expect_err_s("1.", -EINVAL);
	expect_err_s("[1.0]", -EINVAL);
	expect_err_s("{\"a\":2e-3}", -EINVAL);
	expect_err_s(".5", -EINVAL);
}

Test(json, null_and_bad_literals)
{
	expect_err_s("null", -EINVAL);
	expect_err_s("[null]", -EINVAL);
	expect_err_s("{\"a\":null}", -EINVAL);
	expect_err_s("True", -EINVAL);
	expect_err_s("trux", -EINVAL);
	expect_err_s("fals", -EINVAL);
	expect_err_s("NaN", -EINVAL);
	expect_err_s("'a'", -EINVAL);
}

Test(json, structural_errors)
{
	static const char *bad[] = {
		"[1,]", "[,1]", "[1 2]", "[1,,2]", "]", "}", ",", ":", "{\"a\"}", "{\"a\":}",
		"{a:1}", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "{\"a\":1 \"b\":2}", "[}", "{]",
		"{\"a\"::1}", "{,}", "[\"a\":1]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err_s(bad[i], -EINVAL);
}

Test(json, raw_control_chars)
{
	expect_err_s("\"a\x01" "b\"", -EINVAL);
	expect_err_s("\"a\nb\"", -EINVAL);
	expect_err_s("\"\t\"", -EINVAL);
	expect_err_s("\"\x1f\"", -EINVAL);
	expect_err("\"a\0b\"", 5, -EINVAL);
	expect_err_s("{\"k\x0a\":1}", -EINVAL);
}

/* Unpaired surrogates in \u escapes are refused as not Unicode (-EILSEQ);
 * a bad hex digit is a syntax error (-EINVAL). */
Test(json, bad_surrogates)
{
	expect_err_s("\"\\ud800\"", -EILSEQ);
	expect_err_s("\"\\udc00\"", -EILSEQ);
	expect_err_s("\"\\udfff\\ud800\"", -EILSEQ);
	expect_err_s("\"\\ud800x\"", -EILSEQ);
	expect_err_s("\"\\ud800\\n\"", -EILSEQ);
	expect_err_s("\"\\ud800\\u0041\"", -EILSEQ);
	expect_err_s("\"\\ud800\\ud800\"", -EILSEQ);
	expect_err_s("\"\\ud800\\ue000\"", -EILSEQ);
	expect_err_s("\"\\ud83d\\ude0g\"", -EINVAL);
	expect_err_s("{\"\\udc00\":1}", -EILSEQ);
}

static void expect_errpos(const char *s, size_t len, int err, size_t pos)
{
	struct ctl_val *v = NULL;
	size_t errpos = 4242;
	int rc = ctl_json_decode(&ar, s, len, &v, NULL, &errpos);

	cr_assert_eq(rc, err, "'%.*s': got %d want %d", (int)len, s, rc, err);
	cr_assert_eq(errpos, pos, "'%.*s': errpos %zu want %zu", (int)len, s, errpos, pos);
}

/* RFC 8259 section 8.1 and RFC 3629: text is UTF-8. Each bad sequence is
 * refused with -EILSEQ at the byte where it starts, in values and in keys. */
Test(json, utf8_invalid)
{
	static const struct { const char *s; size_t at; } bad[] = {
		{ "\"\x80\"", 1 },			/* a stray continuation byte */
		{ "\"ab\xbf\"", 3 },
		{ "\"\xc0\xaf\"", 1 },		/* overlong '/' */
		{ "\"\xc1\xbf\"", 1 },		/* overlong U+007F */
		{ "\"\xe0\x80\xaf\"", 1 },		/* overlong, 3 bytes */
		{ "\"\xe0\x9f\xbf\"", 1 },		/* overlong U+07FF */
		{ "\"\xf0\x80\x80\xaf\"", 1 },	/* overlong, 4 bytes */
		{ "\"\xf0\x8f\xbf\xbf\"", 1 },	/* overlong U+FFFF */
		{ "\"\xed\xa0\x80\"", 1 },		/* U+D800 encoded */
		{ "\"x\xed\xbf\xbf\"", 2 },		/* U+DFFF encoded */
		{ "\"\xed\xa0\xbd\xed\xb8\x80\"", 1 }, /* a CESU-8 pair */
		{ "\"\xf4\x90\x80\x80\"", 1 },	/* U+110000 */
		{ "\"\xf5\x80\x80\x80\"", 1 },
		{ "\"\xff\"", 1 },
		{ "\"\xfe\xff\"", 1 },
		{ "\"\xc3\"", 1 },			/* cut short by the quote */
		{ "\"\xe2\x82\"", 1 },
		{ "\"\xf0\x9f\x98x\"", 1 },		/* cut short by a letter */
		{ "\"\xc3\xc3\xa9\"", 1 },		/* a lead where a continuation must be */
		{ "{\"k\xff\":1}", 3 },		/* in a key */
		{ "{\"command\":\"ping\",\"x\":[\"\xc0\x80\"]}", 24 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_err_s(bad[i].s, -EILSEQ);
		expect_errpos(bad[i].s, strlen(bad[i].s), -EILSEQ, bad[i].at);
	}
	/* the edges that are valid */
	expect_str(dec_ok("\"\xc2\x80\xdf\xbf\""), "\xc2\x80\xdf\xbf", 4);
	expect_str(dec_ok("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""),
		   "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 12);
	expect_str(dec_ok("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""), "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8);
	/* a sequence cut by the end of the input is truncated input: more may
	 * come (a stream transport waits for it) */
	expect_errpos("\"\xe2\x82", 3, -EINVAL, 3);
	expect_errpos("\"\xf0", 2, -EINVAL, 2);
	expect_errpos("\"\\ud83d\\ud", 11, -EINVAL, 11);
	/* ...but not when what is there is already wrong */
	expect_errpos("\"\xe0\x80", 3, -EILSEQ, 1);
	expect_errpos("\"\\ud83dx", 8, -EILSEQ, 1);
}

Test(json, bad_escapes)
{
	static const char *bad[] = {
		"\"\\x\"", "\"\\a\"", "\"\\'\"", "\"\\U0041\"", "\"\\u12\"", "\"\\u12g4\"",
		"\"\\u-123\"", "\"\\ \"", "\"\\0\"", "\"\\u 123\"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err_s(bad[i], -EINVAL);
}

/* Build n nested arrays (or {"a": ...} objects) around 1. */
static char *nest(char *buf, size_t cap, unsigned n, bool obj)
{
	size_t o = 0;

	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s", obj ? "{\"a\":" : "[");
	o += (size_t)snprintf(buf + o, cap - o, "1");
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s", obj ? "}" : "]");
	return buf;
}

Test(json, depth_limit)
{
	char buf[1024];
	struct ctl_val *v;

	cr_assert_eq(CTL_MAX_DEPTH, 32);
	for (int obj = 0; obj < 2; obj++) {
		v = dec_ok(nest(buf, sizeof(buf), 32, obj));
		for (int i = 0; i < 32; i++)
			v = v->u.c.head;
		cr_assert_eq(v->type, CTL_V_INT);
		expect_err_s(nest(buf, sizeof(buf), 33, obj), -ELOOP);
		expect_err_s(nest(buf, sizeof(buf), 100, obj), -ELOOP);
	}
	/* empty innermost container counts as a level too */
	memset(buf, 0, sizeof(buf));
	memset(buf, '[', 33);
	memset(buf + 33, ']', 33);
	expect_err_s(buf, -ELOOP);
	buf[32] = ']';
	buf[64] = 0;
	cr_assert_eq(dec_ok(buf)->type, CTL_V_LIST);
}

Test(json, encode_depth_limit)
{
	struct ctl_val *v = ctl_val_int(&ar, 1), *l;

	for (int i = 0; i < 32; i++) {
		l = ctl_val_list(&ar);
		cr_assert_eq(ctl_list_append(l, v), 0);
		v = l;
	}
	ctl_buf_clear(&ob);
	cr_assert_eq(ctl_json_encode(v, &ob, false), 0);
	cr_assert_eq(ob.len, 65);
	l = ctl_val_dict(&ar);
	cr_assert_eq(ctl_dict_add(l, "a", 1, v), 0);
	ctl_buf_clear(&ob);
	cr_assert_eq(ctl_buf_put(&ob, "x", 1), 0);
	cr_assert_eq(ctl_json_encode(l, &ob, true), -EINVAL);
	cr_assert_eq(ob.len, 1, "partial output not rolled back");
	cr_assert_eq(ctl_json_encode(NULL, &ob, false), -EINVAL);
	cr_assert_eq(ob.len, 1);
}

Test(json, encode_buffer_limit)
{
	struct ctl_val *v = dec_ok("[\"0123456789\",\"abcdefghij\"]");

	ob.max = 8;
	cr_assert_eq(ctl_json_encode(v, &ob, false), -E2BIG);
	cr_assert_eq(ob.err, -E2BIG);
	ob.max = 64;
	ctl_buf_clear(&ob);
	cr_assert_eq(ctl_json_encode(v, &ob, false), 0);
}

Test(json, int_range)
{
	cr_assert_eq(dec_ok("1234567890123456789")->u.i, 1234567890123456789LL);
	cr_assert_eq(dec_ok("-1234567890123456789")->u.i, -1234567890123456789LL);
	cr_assert_eq(dec_ok("9223372036854775807")->u.i, INT64_MAX);
	cr_assert_eq(dec_ok("-9223372036854775808")->u.i, INT64_MIN);
	cr_assert_eq(dec_ok("-9223372036854775807")->u.i, INT64_MIN + 1);
	expect_err_s("9223372036854775808", -ERANGE);
	expect_err_s("-9223372036854775809", -ERANGE);
	expect_err_s("10000000000000000000", -ERANGE);
	expect_err_s("99999999999999999999999999", -ERANGE);
	expect_err_s("[1,9223372036854775808]", -ERANGE);
	expect_err_s("{\"a\":-9223372036854775809}", -ERANGE);
}

Test(json, arena_exhaustion)
{
	struct ctl_arena tiny;
	struct ctl_val *v = (struct ctl_val *)0x1;
	size_t consumed = 99, errpos = 0, used;
	const char *doc = "{\"a\":[1,\"x\\n\",{\"b\":-5}]}";
	int rc, ok = 0;

	/* room for one node: fine for a plain string, not for one needing a copy */
	cr_assert_eq(ctl_arena_init(&tiny, sizeof(struct ctl_val)), 0);
	cr_assert_eq(ctl_json_decode(&tiny, "\"a\\n\"", 5, &v, &consumed, &errpos), -ENOMEM);
	cr_assert_eq(v, (struct ctl_val *)0x1);
	cr_assert_eq(consumed, 99);
	cr_assert_eq(errpos, 0);
	cr_assert_eq(tiny.used, 0, "arena not rolled back");
	cr_assert_eq(ctl_json_decode(&tiny, "\"abc\"", 5, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 5);
	ctl_arena_reset(&tiny);
	cr_assert_eq(ctl_json_decode(&tiny, "[1]", 3, &v, &consumed, NULL), -ENOMEM);
	ctl_arena_fini(&tiny);

	/* growing arena: -ENOMEM until it fits, then success */
	cr_assert_eq(ctl_arena_init(&tiny, 4096), 0);
	for (size_t sz = 0; sz <= 4096; sz += 8) {
		tiny.size = sz;
		ctl_arena_reset(&tiny);
		rc = ctl_json_decode(&tiny, doc, strlen(doc), &v, &consumed, NULL);
		if (ok)
			cr_assert_eq(rc, 0, "size %zu", sz);
		else
			cr_assert(rc == 0 || rc == -ENOMEM, "size %zu rc %d", sz, rc);
		if (rc == -ENOMEM)
			cr_assert_eq(tiny.used, 0);
		if (rc == 0)
			ok = 1;
		if (sz == 0)
			cr_assert_eq(rc, -ENOMEM);
	}
	cr_assert(ok);
	ctl_arena_fini(&tiny);

	/* rollback keeps earlier allocations */
	used = ar.used;
	expect_err_s("[1,2,3,", -EINVAL);
	cr_assert_eq(ar.used, used);
}

Test(json, consumed_and_trailing)
{
	const char *two = "{\"a\":1}\n{\"b\":2}\n";
	struct ctl_val *v;
	size_t consumed;

	cr_assert_eq(ctl_json_decode(&ar, "  1  x", 6, &v, &consumed, NULL), 0);
	cr_assert_eq(v->u.i, 1);
	cr_assert_eq(consumed, 5);
	cr_assert_eq(ctl_json_decode(&ar, "[1] [2]", 7, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 4);
	cr_assert_eq(v->u.c.n, 1);
	cr_assert_eq(ctl_json_decode(&ar, "{}\r\n\t ", 6, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 6);
	cr_assert_eq(ctl_json_decode(&ar, "\"a\"\"b\"", 6, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 3);
	expect_str(v, "a", 1);
	cr_assert_eq(ctl_json_decode(&ar, "truex", 5, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 4);
	cr_assert_eq(ctl_json_decode(&ar, "-12,", 4, &v, &consumed, NULL), 0);
	cr_assert_eq(v->u.i, -12);
	cr_assert_eq(consumed, 3);
	/* two documents back to back */
	cr_assert_eq(ctl_json_decode(&ar, two, 16, &v, &consumed, NULL), 0);
	cr_assert_eq(consumed, 8);
	cr_assert_eq(ctl_json_decode(&ar, &two[consumed], 8, &v, &consumed, NULL), 0);
	cr_assert_not_null(ctl_dict_get(v, "b"));
	cr_assert_eq(consumed, 8);
	/* the length bounds the input even without a terminator */
	cr_assert_eq(ctl_json_decode(&ar, "1234", 2, &v, &consumed, NULL), 0);
	cr_assert_eq(v->u.i, 12);
	cr_assert_eq(consumed, 2);
	cr_assert_eq(ctl_json_decode(&ar, "[1]]", 3, &v, &consumed, NULL), 0);
	expect_err("[1]", 2, -EINVAL);
}

Test(json, out_params_and_errpos)
{
	struct ctl_val *v = (struct ctl_val *)0x1;
	size_t consumed = 77, errpos = 555;

	/* errpos untouched on success */
	cr_assert_eq(ctl_json_decode(&ar, "[1]", 3, &v, &consumed, &errpos), 0);
	cr_assert_eq(errpos, 555);
	cr_assert_neq(v, (struct ctl_val *)0x1);

	v = (struct ctl_val *)0x1;
	consumed = 77;
	cr_assert_eq(ctl_json_decode(&ar, "[1,x]", 5, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(v, (struct ctl_val *)0x1);
	cr_assert_eq(consumed, 77);
	cr_assert_eq(errpos, 3);
	cr_assert_eq(ctl_json_decode(&ar, "[1,", 3, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 3);
	cr_assert_eq(ctl_json_decode(&ar, " 01", 3, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 1);
	cr_assert_eq(ctl_json_decode(&ar, "\"ab\x01\"", 5, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 3);
	cr_assert_eq(ctl_json_decode(&ar, "[1.5]", 5, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 2);
	cr_assert_eq(ctl_json_decode(&ar, "\"a\\q\"", 5, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 2);
	cr_assert_eq(ctl_json_decode(&ar, "[[[", 3, &v, &consumed, &errpos), -EINVAL);
	cr_assert_eq(errpos, 3);
	cr_assert_eq(ctl_json_decode(&ar, "[9223372036854775808]", 21, &v, &consumed, &errpos),
		     -ERANGE);
	cr_assert_eq(errpos, 1);
	cr_assert_eq(v, (struct ctl_val *)0x1);
	cr_assert_eq(consumed, 77);
	/* errpos may be NULL */
	cr_assert_eq(ctl_json_decode(&ar, "x", 1, &v, &consumed, NULL), -EINVAL);
	cr_assert_eq(ctl_json_decode(NULL, "1", 1, &v, &consumed, NULL), -EINVAL);
	cr_assert_eq(ctl_json_decode(&ar, "1", 1, NULL, &consumed, NULL), -EINVAL);
	cr_assert_eq(v, (struct ctl_val *)0x1);
	cr_assert_eq(consumed, 77);
}

/* ctl_json_decode_doc (status.json for mediusctl top): null and fractions
 * are accepted there, and only there. */
Test(json, doc_mode_takes_null_and_fractions)
{
	static const char in[] = "{\"mos\":4.41,\"loss\":null,\"e\":-1.5e-3,\"n\":7}";
	struct ctl_val *v = NULL;
	const struct ctl_val *m;
	size_t errpos = 0;

	cr_assert_eq(ctl_json_decode(&ar, in, strlen(in), &v, NULL, &errpos), -EINVAL, "ng mode refuses fractions");
	cr_assert_eq(ctl_json_decode_doc(&ar, in, strlen(in), &v, NULL, &errpos), 0, "at %zu", errpos);
	m = ctl_dict_get(v, "mos");
	cr_assert(m && m->type == CTL_V_STR && m->u.s.len == 4 && !memcmp(m->u.s.p, "4.41", 4));
	m = ctl_dict_get(v, "loss");
	cr_assert(m && m->type == CTL_V_STR && m->u.s.len == 0, "null: the empty string");
	m = ctl_dict_get(v, "e");
	cr_assert(m && m->type == CTL_V_STR && m->u.s.len == 7 && !memcmp(m->u.s.p, "-1.5e-3", 7));
	m = ctl_dict_get(v, "n");
	cr_assert(m && m->type == CTL_V_INT && m->u.i == 7);
	cr_assert_eq(ctl_json_decode(&ar, "null", 4, &v, NULL, NULL), -EINVAL);
	cr_assert_eq(ctl_json_decode_doc(&ar, "1.", 2, &v, NULL, &errpos), -EINVAL);
	cr_assert_eq(ctl_json_decode_doc(&ar, "1e+", 3, &v, NULL, &errpos), -EINVAL);
	cr_assert_eq(ctl_json_decode_doc(&ar, "nul", 3, &v, NULL, &errpos), -EINVAL);
}
