/* SPDX-License-Identifier: MIT
 * ctl_ng_args: reading an ng request's arguments (see ctl_ng_args.h).
 */
#include "ctl_ng_args.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "ctl_val.h"

/* A string value as a NUL-terminated copy in the request arena. */
static char *arena_str(struct ctl_ng_req *r, const struct ctl_val *v)
{
	char *s;

	if (!v || v->type != CTL_V_STR || !(s = ctl_arena_alloc(ctl_ng_arena(r), v->u.s.len + 1)))
		return NULL;
	memcpy(s, v->u.s.p, v->u.s.len);
	s[v->u.s.len] = '\0';
	return s;
}

const char *ctl_arg_str(struct ctl_ng_req *r, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(ctl_ng_args(r), key);
	const char *s = arena_str(r, v);

	return s && strlen(s) == v->u.s.len ? s : NULL; /* no NUL inside */
}

const char *ctl_arg_list_str(struct ctl_ng_req *r, const char *key, unsigned i)
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), key), *v;

	if (!l || l->type != CTL_V_LIST)
		return NULL;
	for (v = l->u.c.head; v && i; v = v->next, i--)
		;
	return arena_str(r, v);
}

/* Does the flag a (alen bytes) read as b? rtpengine spells flags with
 * spaces, dashes or underscores, in any case. */
static bool norm_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++) {
		char x = a[i] == '-' || a[i] == '_' ? ' ' : (char)tolower((unsigned char)a[i]);
		char y = b[i] == '-' || b[i] == '_' ? ' ' : (char)tolower((unsigned char)b[i]);

		if (x != y)
			return false;
	}
	return i == alen && !b[i];
}

bool ctl_has_flag(struct ctl_ng_req *r, const char *key, const char *flag)
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), key);

	if (!l || l->type != CTL_V_LIST)
		return false;
	for (const struct ctl_val *v = l->u.c.head; v; v = v->next)
		if (v->type == CTL_V_STR && norm_eq(v->u.s.p, v->u.s.len, flag))
			return true;
	return false;
}

/* The codec options that may come as "codec-<op>-<codec>" flags. */
static const char *const codec_ops[] = { "strip", "offer", "transcode", "mask", "set", "consume", "accept",
					 "except" };
#define N_CODEC_OPS (sizeof(codec_ops) / sizeof(codec_ops[0]))

/* Which codec option flag v is ("codec-<op>-<codec>"); N_CODEC_OPS: none. */
static unsigned codec_flag_op(const struct ctl_val *v)
{
	unsigned o;

	if (v->type != CTL_V_STR || v->u.s.len < 7 || strncasecmp(v->u.s.p, "codec-", 6))
		return N_CODEC_OPS;
	for (o = 0; o < N_CODEC_OPS; o++) {
		size_t ol = strlen(codec_ops[o]);

		if (v->u.s.len > 7 + ol && !strncasecmp(v->u.s.p + 6, codec_ops[o], ol) && v->u.s.p[6 + ol] == '-')
			break;
	}
	return o;
}

int ctl_fold_codec_flags(struct ctl_ng_req *r)
{
	struct ctl_val *args = (struct ctl_val *)ctl_ng_args(r), *codec;
	const struct ctl_val *flags = ctl_dict_get(args, "flags");
	struct ctl_arena *a = ctl_ng_arena(r);

	for (const struct ctl_val *v = flags && flags->type == CTL_V_LIST ? flags->u.c.head : NULL; v; v = v->next) {
		unsigned o = codec_flag_op(v);
		const char *op = o < N_CODEC_OPS ? codec_ops[o] : NULL;
		size_t ol = op ? strlen(op) : 0;
		struct ctl_val *list, *item;

		if (!op)
			continue; /* not a codec option: warned about as unknown */
		codec = (struct ctl_val *)ctl_dict_get(args, "codec");
		if (!codec) {
			codec = ctl_val_dict(a);
			if (!codec || ctl_dict_add(args, "codec", 5, codec))
				return ctl_ng_error(r, "Request too large");
		}
		if (codec->type != CTL_V_DICT)
			return ctl_ng_error(r, "'codec' is not a dictionary");
		list = (struct ctl_val *)ctl_dict_get(codec, op);
		if (!list) {
			list = ctl_val_list(a);
			if (!list || ctl_dict_add(codec, op, ol, list))
				return ctl_ng_error(r, "Request too large");
		}
		item = ctl_val_strdup(a, v->u.s.p + 7 + ol, v->u.s.len - 7 - ol);
		if (list->type != CTL_V_LIST || !item || ctl_list_append(list, item))
			return ctl_ng_error(r, "Bad codec-%s flag", op);
	}
	return 0;
}

void ctl_warn_unknown_flags(struct ctl_ng_req *r, const char *const known[])
{
	const struct ctl_val *l = ctl_dict_get(ctl_ng_args(r), "flags");

	if (!l || l->type != CTL_V_LIST)
		return;
	for (const struct ctl_val *v = l->u.c.head; v; v = v->next) {
		bool ok = false;

		if (v->type != CTL_V_STR)
			continue;
		ok = codec_flag_op(v) < N_CODEC_OPS; /* folded by ctl_fold_codec_flags */
		for (unsigned i = 0; known[i] && !ok; i++)
			ok = norm_eq(v->u.s.p, v->u.s.len, known[i]);
		if (!ok)
			ctl_ng_warning(r, "Unknown flag encountered: '%.*s'", (int)v->u.s.len, v->u.s.p);
	}
}
