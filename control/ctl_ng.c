/* SPDX-License-Identifier: MIT
 * ctl_ng: ng request framing, decoding, dispatch and replies (see ctl_ng.h). */
#include "ctl_ng.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_bencode.h"
#include "ctl_cookie.h"
#include "ctl_json.h"
#include "ctl_val.h"

#define NG_REPLY_MAX (4u << 20)

struct ctl_ng {
	struct ctl_ng_conf conf;
	struct ctl_arena arena;
	struct ctl_cookie_cache *cache;
	struct ctl_buf out;
	struct ctl_ng_stats stats;
	uint64_t (*per_cmd)[2];  /* requests, errors: builtin, then conf.cmds, then "" (no command) */
	char reason[160];
	char warning[512];
	const struct sockaddr *peer;
};

/* One request being executed. A handler adds its fields to reply, or sets
 * error (a static or ng->reason string) and returns -1. */
struct ctl_ng_req {
	struct ctl_ng *ng;
	struct ctl_arena *a;
	const struct ctl_val *args;
	struct ctl_val *reply;
	const char *result;
	const char *error;
	uint64_t now_ms;
	size_t cmd;              /* its per_cmd slot */
};

const struct ctl_val *ctl_ng_args(const struct ctl_ng_req *r) { return r->args; }
struct ctl_arena *ctl_ng_arena(struct ctl_ng_req *r) { return r->a; }
struct ctl_val *ctl_ng_reply(struct ctl_ng_req *r) { return r->reply; }
uint64_t ctl_ng_now_ms(const struct ctl_ng_req *r) { return r->now_ms; }
void ctl_ng_set_result(struct ctl_ng_req *r, const char *result) { r->result = result; }

int ctl_ng_error(struct ctl_ng_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->ng->reason, sizeof(r->ng->reason), fmt, ap);
	va_end(ap);
	r->error = r->ng->reason;
	return -1;
}

int ctl_ng_error_rc(struct ctl_ng_req *r, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc != -ENOMEM)
		return ctl_ng_error(r, "%s", what);
	r->ng->stats.nomem++;
	return ctl_ng_error(r, "Out of memory: %s", what);
}

void ctl_ng_req_stats(const struct ctl_ng_req *r, struct ctl_ng_stats *out) { *out = r->ng->stats; }

void ctl_ng_warning(struct ctl_ng_req *r, const char *fmt, ...)
{
	char *w = r->ng->warning;
	size_t used = strlen(w);
	va_list ap;

	if (used && used + 2 < sizeof(r->ng->warning)) {
		strcat(w, "; ");
		used += 2;
	}
	if (used + 1 >= sizeof(r->ng->warning))
		return;
	va_start(ap, fmt);
	vsnprintf(w + used, sizeof(r->ng->warning) - used, fmt, ap);
	va_end(ap);
}

static int cmd_ping(struct ctl_ng_req *r, void *ctx)
{
	(void)ctx;
	r->result = "pong";
	return 0;
}

static const struct ctl_ng_cmd builtin[] = {
	{ "ping", cmd_ping },
};

size_t ctl_ng_cmd_count(const struct ctl_ng *ng)
{
	return sizeof(builtin) / sizeof(builtin[0]) + ng->conf.n_cmds + 1;
}

const char *ctl_ng_cmd_stats(const struct ctl_ng *ng, size_t i, uint64_t *requests, uint64_t *errors)
{
	size_t nb = sizeof(builtin) / sizeof(builtin[0]);

	*requests = ng->per_cmd[i][0];
	*errors = ng->per_cmd[i][1];
	if (i < nb)
		return builtin[i].name;
	return i - nb < ng->conf.n_cmds ? ng->conf.cmds[i - nb].name : "";
}

struct ctl_ng *ctl_ng_create(const struct ctl_ng_conf *conf)
{
	struct ctl_ng *ng;

	if (!conf || conf->arena_bytes < 4096 || conf->cache_size == 0)
		return NULL;
	ng = calloc(1, sizeof(*ng));
	if (!ng)
		return NULL;
	ng->conf = *conf;
	ng->out.max = NG_REPLY_MAX;
	ng->per_cmd = calloc(ctl_ng_cmd_count(ng), sizeof(*ng->per_cmd));
	ng->cache = ctl_cookie_cache_create(conf->cache_size, conf->cache_ms);
	if (!ng->cache || !ng->per_cmd || ctl_arena_init(&ng->arena, conf->arena_bytes)) {
		ctl_ng_destroy(ng);
		return NULL;
	}
	return ng;
}

void ctl_ng_destroy(struct ctl_ng *ng)
{
	if (!ng)
		return;
	ctl_cookie_cache_destroy(ng->cache);
	ctl_arena_fini(&ng->arena);
	ctl_buf_free(&ng->out);
	free(ng->per_cmd);
	free(ng);
}

int ctl_ng_reset(struct ctl_ng *ng, void *ctx)
{
	ctl_cookie_cache_destroy(ng->cache);
	ng->cache = ctl_cookie_cache_create(ng->conf.cache_size, ng->conf.cache_ms);
	ng->conf.ctx = ctx;
	ng->stats = (struct ctl_ng_stats){ 0 };
	memset(ng->per_cmd, 0, ctl_ng_cmd_count(ng) * sizeof(*ng->per_cmd));
	ng->reason[0] = ng->warning[0] = '\0';
	ng->peer = NULL;
	ctl_arena_reset(&ng->arena);
	return ng->cache ? 0 : -ENOMEM;
}

void ctl_ng_get_stats(const struct ctl_ng *ng, struct ctl_ng_stats *out) { *out = ng->stats; }
void ctl_ng_set_peer(struct ctl_ng *ng, const struct sockaddr *peer) { ng->peer = peer; }
const struct sockaddr *ctl_ng_peer(const struct ctl_ng_req *r) { return r->ng->peer; }

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Length of the cookie at the start of req: 0 when there is none usable. */
static size_t cookie_len(const char *req, size_t len, bool *incomplete)
{
	size_t max = len < CTL_COOKIE_MAX + 1 ? len : CTL_COOKIE_MAX + 1;

	*incomplete = false;
	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)req[i];

		if (c == ' ')
			return i;
		if (c < 0x21 || c > 0x7e)
			return 0; /* cookies are printable ASCII */
	}
	*incomplete = len <= CTL_COOKIE_MAX;
	return 0;
}

static int decode_body(struct ctl_ng *ng, const char *body, size_t len, bool *json,
		       struct ctl_val **out, size_t *consumed, size_t *errpos)
{
	size_t skip = 0;
	int rc;

	while (skip < len && is_space(body[skip]))
		skip++;
	*json = skip < len && body[skip] == '{';
	if (*json)
		rc = ctl_json_decode(&ng->arena, body + skip, len - skip, out, consumed, errpos);
	else
		rc = ctl_bencode_decode(&ng->arena, body + skip, len - skip, out, consumed, errpos);
	if (rc == 0)
		*consumed += skip;
	else
		*errpos += skip;
	return rc;
}

int ctl_ng_frame(struct ctl_ng *ng, const char *buf, size_t len, size_t *msg_len)
{
	bool incomplete, json;
	size_t lead = 0, clen, consumed, errpos = 0;
	struct ctl_val *v;
	int rc;

	while (lead < len && is_space(buf[lead]))
		lead++;
	clen = cookie_len(buf + lead, len - lead, &incomplete);
	if (clen == 0)
		return incomplete ? -EAGAIN : -EBADMSG;
	ctl_arena_reset(&ng->arena);
	rc = decode_body(ng, buf + lead + clen + 1, len - lead - clen - 1, &json, &v, &consumed,
			 &errpos);
	if (rc == 0) {
		size_t end = lead + clen + 1 + consumed;

		while (end < len && is_space(buf[end]))
			end++;
		*msg_len = end;
		return 0;
	}
	/* A decoder that stopped at the end of what we have wants more bytes. */
	return errpos >= len - lead - clen - 1 && rc == -EINVAL ? -EAGAIN : -EBADMSG;
}

static const char *decode_error(struct ctl_ng *ng, int rc, size_t errpos)
{
	const char *what = rc == -ERANGE  ? "integer out of range"
			   : rc == -ELOOP ? "nesting too deep"
			   : rc == -ENOMEM ? "request too large or complex"
			   : rc == -EILSEQ ? "invalid UTF-8 or unpaired surrogate"
					   : "syntax error";

	snprintf(ng->reason, sizeof(ng->reason), "Could not decode dictionary: %s at byte %zu", what,
		 errpos);
	return ng->reason;
}

/* Put key: s in front of dict's members ("result" leads, as rtpengine has it). */
static int dict_prepend_cstr(struct ctl_arena *a, struct ctl_val *dict, const char *key,
			     const char *s)
{
	struct ctl_val *v = ctl_val_cstr(a, s);

	if (!v)
		return -ENOMEM;
	v->key = key;
	v->key_len = strlen(key);
	v->next = dict->u.c.head;
	dict->u.c.head = v;
	if (!dict->u.c.tail)
		dict->u.c.tail = v;
	dict->u.c.n++;
	return 0;
}

static const struct ctl_ng_cmd *find_cmd(const struct ctl_ng *ng, const struct ctl_val *cmd)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (ctl_val_str_eq(cmd, builtin[i].name))
			return &builtin[i];
	for (size_t i = 0; i < ng->conf.n_cmds; i++)
		if (ctl_val_str_eq(cmd, ng->conf.cmds[i].name))
			return &ng->conf.cmds[i];
	return NULL;
}

/* rtpengine spells its keys with spaces or dashes ("transport protocol",
 * "transport-protocol"; rtpengine-ng-client sends the first): the request's
 * top-level keys are rewritten with dashes, so commands look up one form.
 * Returns 0 or -ENOMEM. */
static int hyphenate_keys(struct ctl_arena *a, struct ctl_val *args)
{
	for (struct ctl_val *v = args->u.c.head; v; v = v->next) {
		char *k;

		if (!memchr(v->key, ' ', v->key_len))
			continue;
		k = ctl_arena_alloc(a, v->key_len);
		if (!k)
			return -ENOMEM;
		for (size_t i = 0; i < v->key_len; i++)
			k[i] = v->key[i] == ' ' ? '-' : v->key[i];
		v->key = k;
	}
	return 0;
}

/* The identifiers a request may carry, and their bounds: the call model
 * keeps them in fixed fields, so a longer one is refused, never cut. They
 * must be printable UTF-8 (no control bytes), so that a call listed in
 * either wire format addresses the same call again. Returns 0, or -1 after
 * the error reply. */
static int check_ids(struct ctl_ng_req *r)
{
	static const struct { const char *key; size_t max; } ids[] = {
		{ "call-id", CTL_NG_MAX_CALL_ID }, { "from-tag", CTL_NG_MAX_TAG },
		{ "to-tag", CTL_NG_MAX_TAG },      { "via-branch", CTL_NG_MAX_TAG },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct ctl_val *v = ctl_dict_get(r->args, ids[i].key);

		if (!v)
			continue;
		if (v->type != CTL_V_STR)
			return ctl_ng_error(r, "%s is not a string", ids[i].key);
		if (v->u.s.len > ids[i].max)
			return ctl_ng_error(r, "%s is %zu bytes long; at most %zu are accepted", ids[i].key,
					    v->u.s.len, ids[i].max);
		for (size_t k = 0; k < v->u.s.len; k++) {
			unsigned char ch = (unsigned char)v->u.s.p[k];

			if (ch < 0x20 || ch == 0x7f)
				return ctl_ng_error(r, "%s contains a control character (byte 0x%02x at %zu)",
						    ids[i].key, ch, k);
		}
		if (!ctl_utf8_valid(v->u.s.p, v->u.s.len))
			return ctl_ng_error(r, "%s is not valid UTF-8", ids[i].key);
	}
	return 0;
}

/* Run the request in args (already decoded) and fill r. */
static void execute(struct ctl_ng_req *r)
{
	const struct ctl_ng_cmd *c;
	const struct ctl_val *cmd = ctl_dict_get(r->args, "command");

	if (!cmd) {
		r->error = "Dictionary contains no key \"command\"";
		return;
	}
	if (cmd->type != CTL_V_STR) {
		r->error = "Value of key \"command\" is not a string";
		return;
	}
	c = find_cmd(r->ng, cmd);
	if (!c) {
		r->error = "Unrecognized command";
		return;
	}
	r->ng->stats.commands++;
	r->cmd = c >= builtin && c < builtin + sizeof(builtin) / sizeof(builtin[0])
			 ? (size_t)(c - builtin)
			 : sizeof(builtin) / sizeof(builtin[0]) + (size_t)(c - r->ng->conf.cmds);
	if (check_ids(r))
		return;
	if (c->fn(r, r->ng->conf.ctx) && !r->error)
		r->error = "Internal error";
}

/* Encode "cookie " + reply into ng->out; on failure encode a short error. */
static void encode_reply(struct ctl_ng *ng, const char *cookie, size_t clen, bool json,
			 const struct ctl_val *reply)
{
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		ctl_buf_clear(&ng->out);
		ctl_buf_put(&ng->out, cookie, clen);
		ctl_buf_putc(&ng->out, ' ');
		rc = json ? ctl_json_encode(reply, &ng->out, false) : ctl_bencode_encode(reply, &ng->out);
		if (rc == 0)
			return;
		/* Fall back to a reply that always fits. */
		ctl_arena_reset(&ng->arena);
		struct ctl_val *d = ctl_val_dict(&ng->arena);

		ctl_dict_add_cstr(&ng->arena, d, "result", "error");
		ctl_dict_add_cstr(&ng->arena, d, "error-reason", "Reply too large to encode");
		reply = d;
	}
}

int ctl_ng_handle(struct ctl_ng *ng, const char *req, size_t len, uint64_t now_ms,
		  const char **reply, size_t *reply_len)
{
	struct ctl_ng_req r = { .ng = ng, .a = &ng->arena, .result = "ok", .now_ms = now_ms,
				 .cmd = ctl_ng_cmd_count(ng) - 1 };
	size_t clen, consumed, errpos = 0;
	const char *cached, *body;
	bool incomplete, json;
	struct ctl_val *args = NULL;
	size_t blen, cached_len;
	int rc;

	clen = cookie_len(req, len, &incomplete);
	if (clen == 0) {
		ng->stats.dropped++;
		return -EBADMSG;
	}
	if (ctl_cookie_cache_get(ng->cache, req, clen, now_ms, &cached, &cached_len) == 0) {
		ng->stats.retransmits++;
		*reply = cached;
		*reply_len = cached_len;
		return 0;
	}
	ng->stats.requests++;
	ng->warning[0] = '\0';
	ctl_arena_reset(&ng->arena);
	body = req + clen + 1;
	blen = len - clen - 1;
	rc = decode_body(ng, body, blen, &json, &args, &consumed, &errpos);
	if (rc) {
		r.error = decode_error(ng, rc, errpos);
	} else {
		while (consumed < blen && is_space(body[consumed]))
			consumed++;
		if (consumed < blen)
			r.error = decode_error(ng, -EINVAL, consumed); /* trailing bytes */
		else if (args->type != CTL_V_DICT)
			r.error = "Could not decode dictionary: the message is not a dictionary";
	}
	r.reply = ctl_val_dict(&ng->arena);
	if (!r.reply)
		r.error = decode_error(ng, -ENOMEM, 0);
	if (!r.error && hyphenate_keys(&ng->arena, args))
		r.error = decode_error(ng, -ENOMEM, 0);
	if (!r.error) {
		r.args = args;
		execute(&r);
	}
	ng->per_cmd[r.cmd][0]++;
	if (r.error) {
		ng->stats.errors++;
		ng->per_cmd[r.cmd][1]++;
		/* The reply holds only the error: start the arena afresh for it
		 * (r.error is static or in ng->reason, not in the arena). */
		ctl_arena_reset(&ng->arena);
		r.reply = ctl_val_dict(&ng->arena);
		ctl_dict_add_cstr(&ng->arena, r.reply, "result", "error");
		ctl_dict_add_cstr(&ng->arena, r.reply, "error-reason", r.error);
	} else if ((ng->warning[0] && ctl_dict_add_cstr(&ng->arena, r.reply, "warning", ng->warning)) ||
		   dict_prepend_cstr(&ng->arena, r.reply, "result", r.result)) {
		ctl_arena_reset(&ng->arena);
		r.reply = ctl_val_dict(&ng->arena);
		ctl_dict_add_cstr(&ng->arena, r.reply, "result", "error");
		ctl_dict_add_cstr(&ng->arena, r.reply, "error-reason", "Reply too large to build");
	}
	encode_reply(ng, req, clen, json, r.reply);
	if (ng->out.err)
		return -ENOMEM;
	ctl_cookie_cache_put(ng->cache, req, clen, ng->out.p, ng->out.len, now_ms);
	*reply = ng->out.p;
	*reply_len = ng->out.len;
	return 0;
}

int ctl_ng_is_retransmit(struct ctl_ng *ng, const char *req, size_t len, uint64_t now_ms)
{
	const char *cached;
	size_t clen, cached_len;
	bool incomplete;

	clen = cookie_len(req, len, &incomplete);
	return clen && ctl_cookie_cache_get(ng->cache, req, clen, now_ms, &cached, &cached_len) == 0;
}

int ctl_ng_refuse(struct ctl_ng *ng, const char *req, size_t len, const char *reason, const char **reply,
		  size_t *reply_len)
{
	bool incomplete, json;
	size_t clen = cookie_len(req, len, &incomplete), skip;
	struct ctl_val *d;

	if (clen == 0) {
		ng->stats.dropped++;
		return -EBADMSG;
	}
	ng->stats.requests++;
	ng->stats.errors++;
	for (skip = clen + 1; skip < len && is_space(req[skip]); skip++)
		;
	json = skip < len && req[skip] == '{';
	ctl_arena_reset(&ng->arena);
	d = ctl_val_dict(&ng->arena);
	ctl_dict_add_cstr(&ng->arena, d, "result", "error");
	ctl_dict_add_cstr(&ng->arena, d, "error-reason", reason);
	encode_reply(ng, req, clen, json, d);
	if (ng->out.err)
		return -ENOMEM;
	*reply = ng->out.p;
	*reply_len = ng->out.len;
	return 0;
}
