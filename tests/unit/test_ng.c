/* Unit tests: ng framing, dispatch, errors and the cookie cache as seen
 * through ctl_ng (control/ctl_ng.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_bencode.h"
#include "ctl_json.h"
#include "ctl_ng.h"

static struct ctl_ng *ng;
static const struct ctl_ng_conf conf = { .cache_size = 64, .cache_ms = 30000, .arena_bytes = 1 << 20 };

static void setup(void) { cr_assert_not_null(ng = ctl_ng_create(&conf)); }
static void teardown(void) { ctl_ng_destroy(ng); }

TestSuite(ng, .init = setup, .fini = teardown);

/* Send req at time t; return the reply as a NUL-terminated copy (static). */
static const char *ask_at(const char *req, size_t len, uint64_t t)
{
	static char copy[1 << 16];
	const char *rep;
	size_t rlen;

	cr_assert_eq(ctl_ng_handle(ng, req, len, t, &rep, &rlen), 0, "no reply to '%.*s'", (int)len, req);
	cr_assert_lt(rlen, sizeof(copy));
	memcpy(copy, rep, rlen);
	copy[rlen] = '\0';
	return copy;
}

static const char *ask(const char *req) { return ask_at(req, strlen(req), 1000); }

Test(ng, ping_bencode)
{
	cr_assert_str_eq(ask("abc123 d7:command4:pinge"), "abc123 d6:result4:ponge");
}

Test(ng, ping_json_gets_json)
{
	cr_assert_str_eq(ask("0.5 {\"command\":\"ping\"}"), "0.5 {\"result\":\"pong\"}");
	cr_assert_str_eq(ask("0.6  { \"command\" : \"ping\" }\n"), "0.6 {\"result\":\"pong\"}");
}

Test(ng, unknown_command)
{
	cr_assert_str_eq(ask("c1 d7:command4:frobe"),
			 "c1 d6:result5:error12:error-reason20:Unrecognized commande");
}

Test(ng, missing_and_bad_command)
{
	cr_assert_str_eq(ask("c2 d4:call2:ide"),
			 "c2 d6:result5:error12:error-reason36:Dictionary contains no key \"command\"e");
	cr_assert(strstr(ask("c3 d7:commandi5ee"), "is not a string") != NULL);
}

/* the reply to req must be an error whose reason contains `want` */
static void expect_error(const char *req, size_t len, const char *want)
{
	const char *rep = ask_at(req, len, 1000);

	/* bencode or JSON, as the request was */
	cr_assert(strstr(rep, "6:result5:error12:error-reason") != NULL ||
		      strstr(rep, "{\"result\":\"error\",\"error-reason\":") != NULL,
		  "'%.*s' -> %s", (int)len, req, rep);
	cr_assert(strstr(rep, want) != NULL, "'%.*s' -> %s (want '%s')", (int)len, req, rep, want);
}

Test(ng, malformed_bodies_get_error_replies)
{
	expect_error("k1 ", 3, "Could not decode");		       /* empty body */
	expect_error("k2 d7:command4:ping", 19, "syntax error");      /* truncated */
	expect_error("k3 d7:command4:pingeXX", 22, "syntax error at byte 17"); /* trailing */
	expect_error("k4 i42e", 7, "not a dictionary");
	expect_error("k5 l4:pinge", 11, "not a dictionary");
	expect_error("k6 4:ping", 9, "not a dictionary");
	expect_error("k7 d1:ai99999999999999999999ee", 30, "integer out of range");
	expect_error("k8 {\"command\":", 14, "Could not decode");
	expect_error("k9 [1,2]", 8, "Could not decode"); /* JSON is recognised by its { */
}

Test(ng, deep_nesting_is_an_error)
{
	char buf[4096] = "deep d1:a";
	size_t n = strlen(buf);

	for (int i = 0; i < 1000; i++)
		buf[n++] = 'l';
	for (int i = 0; i < 1000; i++)
		buf[n++] = 'e';
	buf[n++] = 'e';
	expect_error(buf, n, "nesting too deep");
}

Test(ng, no_cookie_is_dropped)
{
	const char *rep;
	size_t rlen;
	struct ctl_ng_stats st;
	char longc[300];

	cr_assert_eq(ctl_ng_handle(ng, "", 0, 1, &rep, &rlen), -EBADMSG);
	cr_assert_eq(ctl_ng_handle(ng, "nospace", 7, 1, &rep, &rlen), -EBADMSG);
	cr_assert_eq(ctl_ng_handle(ng, " d7:command4:pinge", 18, 1, &rep, &rlen), -EBADMSG);
	cr_assert_eq(ctl_ng_handle(ng, "a\x01 d7:command4:pinge", 20, 1, &rep, &rlen), -EBADMSG);
	memset(longc, 'x', sizeof(longc));
	longc[200] = ' ';
	cr_assert_eq(ctl_ng_handle(ng, longc, sizeof(longc), 1, &rep, &rlen), -EBADMSG);
	ctl_ng_get_stats(ng, &st);
	cr_assert_eq(st.dropped, 5);
	cr_assert_eq(st.requests, 0);
}

Test(ng, retransmission_gets_cached_reply)
{
	struct ctl_ng_stats st;
	char first[256];

	snprintf(first, sizeof(first), "%s", ask("same d7:command4:pinge"));
	/* the same cookie with another body still gets the first reply */
	cr_assert_str_eq(ask_at("same d7:command5:boguse", 23, 2000), first);
	ctl_ng_get_stats(ng, &st);
	cr_assert_eq(st.retransmits, 1);
	cr_assert_eq(st.requests, 1);
	cr_assert_eq(st.commands, 1);
	/* after the cache time it is a new request */
	cr_assert(strstr(ask_at("same d7:command5:boguse", 23, 1000 + 30000), "Unrecognized") != NULL);
}

Test(ng, error_replies_are_cached_too)
{
	struct ctl_ng_stats st;

	ask("e1 i1e");
	ask("e1 i1e");
	ctl_ng_get_stats(ng, &st);
	cr_assert_eq(st.errors, 1);
	cr_assert_eq(st.retransmits, 1);
}

Test(ng, reply_is_valid_bencode_with_result_first)
{
	const char *rep = ask("q d7:command4:ping5:extrali1eee");
	struct ctl_arena a;
	struct ctl_val *v;
	size_t used;

	cr_assert_eq(ctl_arena_init(&a, 4096), 0);
	cr_assert_eq(ctl_bencode_decode(&a, rep + 2, strlen(rep) - 2, &v, &used, NULL), 0);
	cr_assert_eq(v->type, CTL_V_DICT);
	cr_assert_eq(v->u.c.head->key_len, 6);
	cr_assert(memcmp(v->u.c.head->key, "result", 6) == 0);
	ctl_arena_fini(&a);
}

Test(ng, arena_too_small_is_an_error_not_a_crash)
{
	struct ctl_ng_conf small = { .cache_size = 4, .cache_ms = 1000, .arena_bytes = 4096 };
	struct ctl_ng *tiny = ctl_ng_create(&small);
	char req[8192] = "big l";
	size_t n = strlen(req);
	const char *rep;
	size_t rlen;

	cr_assert_not_null(tiny);
	for (int i = 0; i < 2000; i++) {
		memcpy(req + n, "i1e", 3);
		n += 3;
	}
	req[n++] = 'e';
	cr_assert_eq(ctl_ng_handle(tiny, req, n, 1, &rep, &rlen), 0);
	cr_assert(memmem(rep, rlen, "too large or complex", 20) != NULL, "%.*s", (int)rlen, rep);
	ctl_ng_destroy(tiny);
}

Test(ng, create_rejects_bad_conf)
{
	struct ctl_ng_conf bad = conf;

	cr_assert_null(ctl_ng_create(NULL));
	bad.arena_bytes = 10;
	cr_assert_null(ctl_ng_create(&bad));
	bad = conf;
	bad.cache_size = 0;
	cr_assert_null(ctl_ng_create(&bad));
	ctl_ng_destroy(NULL);
}

Test(ng, frame_finds_message_boundaries)
{
	const char *two = "a d7:command4:pinge\nb {\"command\":\"ping\"} c d7:com";
	size_t len = strlen(two), off = 0, m;

	cr_assert_eq(ctl_ng_frame(ng, two, len, &m), 0);
	cr_assert_eq(m, strlen("a d7:command4:pinge\n"));
	off += m;
	cr_assert_eq(ctl_ng_frame(ng, two + off, len - off, &m), 0);
	cr_assert_eq(m, strlen("b {\"command\":\"ping\"} "));
	off += m;
	cr_assert_eq(ctl_ng_frame(ng, two + off, len - off, &m), -EAGAIN);
	/* every prefix of a message needs more bytes */
	for (size_t n = 0; n < strlen("xyz d7:command4:pinge"); n++)
		cr_assert_eq(ctl_ng_frame(ng, "xyz d7:command4:pinge", n, &m), -EAGAIN, "prefix %zu", n);
}

Test(ng, frame_rejects_garbage)
{
	size_t m;
	char longc[200];

	cr_assert_eq(ctl_ng_frame(ng, "a\x01 d7:command4:pinge", 20, &m), -EBADMSG);
	cr_assert_eq(ctl_ng_frame(ng, "a x", 3, &m), -EBADMSG);
	cr_assert_eq(ctl_ng_frame(ng, "a i03e", 6, &m), -EBADMSG);
	memset(longc, 'x', sizeof(longc));
	cr_assert_eq(ctl_ng_frame(ng, longc, sizeof(longc), &m), -EBADMSG);
}

/* ---- commands plugged in by other modules ---- */

static int cmd_echo(struct ctl_ng_req *r, void *ctx)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), "value");
	int *calls = ctx;

	(*calls)++;
	if (!v)
		return ctl_ng_error(r, "No '%s' given", "value");
	if (ctl_dict_get(ctl_ng_args(r), "odd"))
		ctl_ng_warning(r, "Unknown flag '%s'", "odd");
	if (ctl_dict_get(ctl_ng_args(r), "odder"))
		ctl_ng_warning(r, "Unknown flag '%s'", "odder");
	ctl_dict_add(ctl_ng_reply(r), "value", 5, (struct ctl_val *)v);
	ctl_ng_set_result(r, "echoed");
	return 0;
}

static const char *ask_into(struct ctl_ng *e, const char *req, char *buf, size_t cap)
{
	const char *rep;
	size_t len;

	cr_assert_eq(ctl_ng_handle(e, req, strlen(req), 1, &rep, &len), 0);
	snprintf(buf, cap, "%.*s", (int)len, rep);
	return buf;
}

Test(ng_cmds, external_table_dispatch_errors_and_warnings)
{
	static const struct ctl_ng_cmd cmds[] = { { "echo back", cmd_echo } };
	int calls = 0;
	struct ctl_ng_conf c = { .cache_size = 8, .cache_ms = 1000, .arena_bytes = 65536, .cmds = cmds,
				 .n_cmds = 1, .ctx = &calls };
	struct ctl_ng *e = ctl_ng_create(&c);
	const char *rep;
	size_t len;
	char buf[512];

#define ASK(req) ask_into(e, req, buf, sizeof(buf))
	cr_assert_str_eq(ASK("a d7:command9:echo back5:valuei7ee"), "a d6:result6:echoed5:valuei7ee");
	cr_assert_str_eq(ASK("b d7:command9:echo backe"),
			 "b d6:result5:error12:error-reason16:No 'value' givene");
	cr_assert_str_eq(ASK("c d7:command9:echo back5:valuei1e3:oddi1e5:odderi1ee"),
			 "c d6:result6:echoed5:valuei1e7:warning40:Unknown flag 'odd'; Unknown flag 'odder'e");
	cr_assert_str_eq(ASK("d d7:command4:pinge"), "d d6:result4:ponge", "ping stays built in");
	cr_assert_str_eq(ASK("e d7:command5:offere"),
			 "e d6:result5:error12:error-reason20:Unrecognized commande");
	cr_assert_eq(calls, 3);
	/* the warning does not leak into the next request */
	cr_assert_str_eq(ASK("f d7:command9:echo back5:valuei2ee"), "f d6:result6:echoed5:valuei2ee");
#undef ASK
	(void)rep;
	(void)len;
	ctl_ng_destroy(e);
}

/* rtpengine's clients spell keys with spaces ("transport protocol",
 * "delete delay"): commands see them with dashes, in bencode and JSON. */
static int cmd_key(struct ctl_ng_req *r, void *ctx)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), "transport-protocol");

	(void)ctx;
	if (!v || v->type != CTL_V_STR)
		return ctl_ng_error(r, "no transport-protocol");
	ctl_dict_add(ctl_ng_reply(r), "got", 3, (struct ctl_val *)v);
	return 0;
}

Test(ng_cmds, keys_with_spaces_read_as_dashes)
{
	static const struct ctl_ng_cmd cmds[] = { { "key", cmd_key } };
	struct ctl_ng_conf c = { .cache_size = 8, .cache_ms = 1000, .arena_bytes = 65536, .cmds = cmds, .n_cmds = 1 };
	struct ctl_ng *e = ctl_ng_create(&c);
	char buf[512];

	cr_assert_str_eq(ask_into(e, "a d7:command3:key18:transport protocol8:RTP/SAVPe", buf, sizeof(buf)),
			 "a d6:result2:ok3:got8:RTP/SAVPe");
	cr_assert_str_eq(ask_into(e, "b d7:command3:key18:transport-protocol7:RTP/AVPe", buf, sizeof(buf)),
			 "b d6:result2:ok3:got7:RTP/AVPe");
	cr_assert_str_eq(ask_into(e, "c {\"command\": \"key\", \"transport protocol\": \"RTP/AVPF\"}", buf, sizeof(buf)),
			 "c {\"result\":\"ok\",\"got\":\"RTP/AVPF\"}");
	cr_assert_str_eq(ask_into(e, "d d7:command3:key18:transport_protocol3:RTPe", buf, sizeof(buf)),
			 "d d6:result5:error12:error-reason21:no transport-protocole", "only spaces, as rtpengine");
	ctl_ng_destroy(e);
}

/* ctl_ng_reset: the engine forgets its cached replies and counters, and
 * its commands run on the new context (the fuzz targets reuse one engine) */
Test(ng_cmds, reset_forgets_cache_and_counters_and_takes_the_new_ctx)
{
	static const struct ctl_ng_cmd cmds[] = { { "echo back", cmd_echo } };
	int calls_a = 0, calls_b = 0;
	struct ctl_ng_conf c = { .cache_size = 8, .cache_ms = 1000, .arena_bytes = 65536, .cmds = cmds,
				 .n_cmds = 1, .ctx = &calls_a };
	struct ctl_ng *e = ctl_ng_create(&c);
	struct ctl_ng_stats st;
	uint64_t req, err;
	char buf[512];

	cr_assert_not_null(e);
	cr_assert_str_eq(ask_into(e, "a d7:command9:echo back5:valuei7ee", buf, sizeof(buf)),
			 "a d6:result6:echoed5:valuei7ee");
	/* cached: the same cookie gets the first reply, the command does not run */
	cr_assert_str_eq(ask_into(e, "a d7:command9:echo back5:valuei8ee", buf, sizeof(buf)),
			 "a d6:result6:echoed5:valuei7ee");
	cr_assert_eq(calls_a, 1);
	cr_assert_eq(ctl_ng_reset(e, &calls_b), 0);
	ctl_ng_get_stats(e, &st);
	cr_assert_eq(st.requests + st.retransmits + st.commands + st.errors + st.dropped, 0);
	for (size_t i = 0; i < ctl_ng_cmd_count(e); i++) {
		ctl_ng_cmd_stats(e, i, &req, &err);
		cr_assert_eq(req + err, 0, "command %zu still counted", i);
	}
	/* not cached any more: the command runs, on the new context */
	cr_assert_str_eq(ask_into(e, "a d7:command9:echo back5:valuei8ee", buf, sizeof(buf)),
			 "a d6:result6:echoed5:valuei8ee");
	cr_assert_eq(calls_a, 1);
	cr_assert_eq(calls_b, 1);
	ctl_ng_get_stats(e, &st);
	cr_assert_eq(st.requests, 1);
	cr_assert_eq(st.retransmits, 0);
	ctl_ng_destroy(e);
}
