/* Unit tests: bencode decoder and encoder (control/ctl_bencode.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_bencode.h"

static struct ctl_arena arena;
static struct ctl_buf out;

static void setup(void) { cr_assert_eq(ctl_arena_init(&arena, 1 << 20), 0); }
static void teardown(void)
{
	ctl_arena_fini(&arena);
	ctl_buf_free(&out);
}

TestSuite(bencode, .init = setup, .fini = teardown);

static int dec(const char *s, struct ctl_val **v, size_t *used)
{
	return ctl_bencode_decode(&arena, s, strlen(s), v, used, NULL);
}

/* decode s, re-encode, and require the identical bytes */
static void round_trip(const char *s)
{
	struct ctl_val *v;
	size_t used;

	cr_assert_eq(dec(s, &v, &used), 0, "decode %s", s);
	cr_assert_eq(used, strlen(s));
	ctl_buf_clear(&out);
	cr_assert_eq(ctl_bencode_encode(v, &out), 0);
	cr_assert_eq(out.len, strlen(s), "re-encoded %.*s", (int)out.len, out.p);
	cr_assert(memcmp(out.p, s, out.len) == 0, "re-encoded %.*s", (int)out.len, out.p);
}

Test(bencode, round_trips)
{
	round_trip("i0e");
	round_trip("i-1e");
	round_trip("i9223372036854775807e");
	round_trip("i-9223372036854775808e");
	round_trip("0:");
	round_trip("4:spam");
	round_trip("le");
	round_trip("de");
	round_trip("l4:spami42ee");
	round_trip("d7:command4:ping4:listli1ei2eld1:ai3eeeee");
	/* unsorted keys, as real ng peers send them, keep their order */
	round_trip("d7:command5:offer7:call-id3:abc3:sdp3:v=0e");
}

Test(bencode, binary_strings)
{
	const char in[] = "5:a\0b\xff\n";
	struct ctl_val *v;
	size_t used;

	cr_assert_eq(ctl_bencode_decode(&arena, in, sizeof(in) - 1, &v, &used, NULL), 0);
	cr_assert_eq(v->type, CTL_V_STR);
	cr_assert_eq(v->u.s.len, 5);
	cr_assert(memcmp(v->u.s.p, "a\0b\xff\n", 5) == 0);
}

Test(bencode, dict_lookup_and_types)
{
	struct ctl_val *v;
	size_t used;
	const struct ctl_val *m;

	cr_assert_eq(dec("d7:command4:ping1:ni-7e1:ll1:xee", &v, &used), 0);
	cr_assert_eq(v->type, CTL_V_DICT);
	cr_assert_eq(v->u.c.n, 3);
	cr_assert(ctl_val_str_eq(ctl_dict_get(v, "command"), "ping"));
	m = ctl_dict_get(v, "n");
	cr_assert(m && m->type == CTL_V_INT && m->u.i == -7);
	m = ctl_dict_get(v, "l");
	cr_assert(m && m->type == CTL_V_LIST && m->u.c.n == 1);
	cr_assert_null(ctl_dict_get(v, "missing"));
	cr_assert_null(ctl_dict_get(m, "x"), "a list has no keys");
}

Test(bencode, duplicate_keys_first_wins)
{
	struct ctl_val *v;
	size_t used;

	cr_assert_eq(dec("d1:ai1e1:ai2ee", &v, &used), 0);
	cr_assert_eq(ctl_dict_get(v, "a")->u.i, 1);
	cr_assert_eq(v->u.c.n, 2);
}

Test(bencode, trailing_data_left_to_caller)
{
	struct ctl_val *v;
	size_t used;

	cr_assert_eq(dec("i5eXYZ", &v, &used), 0);
	cr_assert_eq(used, 3);
	cr_assert_eq(dec("4:spamtrailing", &v, &used), 0);
	cr_assert_eq(used, 6);
}

static void expect_err(const char *s, int want)
{
	struct ctl_val *v = (struct ctl_val *)0x1;
	size_t used = 12345, errpos = 99999;
	size_t mark = arena.used;
	int rc = ctl_bencode_decode(&arena, s, strlen(s), &v, &used, &errpos);

	cr_assert_eq(rc, want, "'%s': got %d, want %d", s, rc, want);
	cr_assert_eq(v, (struct ctl_val *)0x1, "out written on error");
	cr_assert_eq(used, 12345, "consumed written on error");
	cr_assert_leq(errpos, strlen(s), "errpos %zu past input", errpos);
	cr_assert_eq(arena.used, mark, "failed decode kept arena memory");
}

Test(bencode, truncated)
{
	const char *full = "d7:command4:ping4:listli1ei-22eld1:ai3eeee";
	char buf[64];

	/* every proper prefix is incomplete, and the error is at its end */
	for (size_t n = 0; n < strlen(full); n++) {
		struct ctl_val *v;
		size_t used, errpos = 0;

		memcpy(buf, full, n);
		cr_assert_eq(ctl_bencode_decode(&arena, buf, n, &v, &used, &errpos), -EINVAL,
			     "prefix %zu", n);
		cr_assert_eq(errpos, n, "prefix %zu: error at %zu, not at the end", n, errpos);
	}
}

Test(bencode, wrong_lengths)
{
	expect_err("5:abc", -EINVAL);	     /* declared length past the end */
	expect_err("99999999999999999999999:x", -EINVAL);
	expect_err("18446744073709551616:x", -EINVAL);
	expect_err("03:abc", -EINVAL);	     /* leading zero */
	expect_err("-1:a", -EINVAL);
	expect_err("3abc", -EINVAL);	     /* missing colon */
	expect_err("d3:key5:vale", -EINVAL); /* value length runs over the 'e' */
}

Test(bencode, bad_integers)
{
	expect_err("ie", -EINVAL);
	expect_err("i-e", -EINVAL);
	expect_err("i-0e", -EINVAL);
	expect_err("i03e", -EINVAL);
	expect_err("i1.5e", -EINVAL);
	expect_err("i+5e", -EINVAL);
	expect_err("i 5e", -EINVAL);
	expect_err("i5", -EINVAL);
}

Test(bencode, huge_integers)
{
	expect_err("i9223372036854775808e", -ERANGE);
	expect_err("i-9223372036854775809e", -ERANGE);
	expect_err("i99999999999999999999999999999999e", -ERANGE);
	expect_err("d1:ai100000000000000000000ee", -ERANGE);
}

Test(bencode, structure_errors)
{
	expect_err("", -EINVAL);
	expect_err("x", -EINVAL);
	expect_err("e", -EINVAL);
	expect_err("di1ei2ee", -EINVAL); /* integer key */
	expect_err("dli1eei2ee", -EINVAL); /* list key */
	expect_err("d1:ae", -EINVAL);	  /* key without value */
	expect_err("l", -EINVAL);
	expect_err("d", -EINVAL);
}

static void nest(char *buf, int depth, char open)
{
	memset(buf, open, (size_t)depth);
	memset(buf + depth, 'e', (size_t)depth);
	buf[2 * depth] = '\0';
}

Test(bencode, deep_nesting)
{
	char buf[4096];
	struct ctl_val *v;
	size_t used;

	nest(buf, CTL_MAX_DEPTH, 'l');
	cr_assert_eq(dec(buf, &v, &used), 0, "depth %d must be accepted", CTL_MAX_DEPTH);
	nest(buf, CTL_MAX_DEPTH + 1, 'l');
	expect_err(buf, -ELOOP);
	nest(buf, 2000, 'l');
	expect_err(buf, -ELOOP);
	/* dictionaries nest through values */
	buf[0] = '\0';
	for (int i = 0; i < CTL_MAX_DEPTH + 1; i++)
		strcat(buf, "d1:a");
	strcat(buf, "i1e");
	for (int i = 0; i < CTL_MAX_DEPTH + 1; i++)
		strcat(buf, "e");
	expect_err(buf, -ELOOP);
}

Test(bencode, arena_exhaustion)
{
	struct ctl_arena small;
	struct ctl_val *v;
	size_t used;
	const char *s = "li1ei2ei3ei4ei5ei6ei7ei8ei9ei10ee";

	cr_assert_eq(ctl_arena_init(&small, 200), 0);
	cr_assert_eq(ctl_bencode_decode(&small, s, strlen(s), &v, &used, NULL), -ENOMEM);
	cr_assert_eq(small.used, 0, "failed decode must give the arena back");
	ctl_arena_fini(&small);
}

Test(bencode, encoder_errors)
{
	struct ctl_val *v = ctl_val_list(&arena);
	struct ctl_val *inner = v;

	cr_assert_eq(ctl_bencode_encode(NULL, &out), -EINVAL);
	for (int i = 0; i < CTL_MAX_DEPTH + 2; i++) {
		struct ctl_val *l = ctl_val_list(&arena);

		ctl_list_append(inner, l);
		inner = l;
	}
	ctl_buf_clear(&out);
	cr_assert_eq(ctl_bencode_encode(v, &out), -EINVAL);
	/* an output cap is honoured */
	out.max = 8;
	ctl_buf_clear(&out);
	cr_assert_eq(ctl_bencode_encode(ctl_val_cstr(&arena, "0123456789"), &out), -E2BIG);
}

Test(bencode, built_tree_encodes)
{
	struct ctl_val *d = ctl_val_dict(&arena);

	cr_assert_eq(ctl_dict_add_cstr(&arena, d, "result", "pong"), 0);
	cr_assert_eq(ctl_dict_add_int(&arena, d, "n", -3), 0);
	cr_assert_eq(ctl_bencode_encode(d, &out), 0);
	cr_assert_eq(out.len, strlen("d6:result4:pong1:ni-3ee"));
	cr_assert(memcmp(out.p, "d6:result4:pong1:ni-3ee", out.len) == 0);
}
