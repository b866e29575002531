/* SPDX-License-Identifier: MIT
 * perf_replay_side.c: the side file, for captures without SIP (JSON,
 * docs/replay.md):
 *
 *   {"calls": [{"call-id": "c1", "start-ms": 0, "end-ms": 7500,
 *               "offerer":  {"address": "10.1.3.143:5000", "codecs": ["8 PCMA/8000"]},
 *               "answerer": {"sdp": "v=0\r\n..."}}]}
 *
 * A party is either a whole SDP ("sdp") or an address with codecs
 * ("PT" for a static type, "PT NAME/CLOCK[/CH]" otherwise), optional
 * "crypto" (a=crypto values: SDES keys) and "rtcp-mux". "start" and "end"
 * are seconds after the capture's first datagram: the offer/answer and
 * the delete (default: before the first datagram, and at the end).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_json.h"
#include "perf_replay.h"

static int str_of(const struct ctl_val *v, char *out, size_t outlen)
{
	if (!v || v->type != CTL_V_STR || v->u.s.len >= outlen)
		return -1;
	memcpy(out, v->u.s.p, v->u.s.len);
	out[v->u.s.len] = 0;
	return 0;
}

static int num_of(const struct ctl_val *v, double *out)
{
	char buf[64], *end;

	if (!v)
		return 1;
	if (v->type == CTL_V_INT) {
		*out = (double)v->u.i;
		return 0;
	}
	/* a string such as "1500" too */
	if (str_of(v, buf, sizeof(buf)))
		return -1;
	*out = strtod(buf, &end);
	return *end ? -1 : 0;
}

/* the party's SDP into out */
static int party_sdp(const struct ctl_val *p, const char *role, int call, char *out, size_t outlen,
		     char *err, size_t errlen)
{
	const struct ctl_val *sdp = ctl_dict_get(p, "sdp"), *v;
	char addr[80], ip[80];
	struct perf_addr a;
	size_t o;

	if (!p || p->type != CTL_V_DICT) {
		snprintf(err, errlen, "call %d: \"%s\" missing or not an object", call, role);
		return -1;
	}
	if (sdp) {
		if (str_of(sdp, out, outlen)) {
			snprintf(err, errlen, "call %d: %s's \"sdp\" is not a string (or too long)", call, role);
			return -1;
		}
		return 0;
	}
	if (str_of(ctl_dict_get(p, "address"), addr, sizeof(addr)) || perf_addr_parse(addr, &a)) {
		snprintf(err, errlen, "call %d: %s needs \"sdp\" or \"address\": \"IP:PORT\"", call, role);
		return -1;
	}
	snprintf(ip, sizeof(ip), "%s", addr[0] == '[' ? addr + 1 : addr);
	*strrchr(ip, a.family == 6 ? ']' : ':') = 0;
	o = (size_t)snprintf(out, outlen, "v=0\r\no=- 1 1 IN IP%c %s\r\ns=replay\r\nc=IN IP%c %s\r\nt=0 0\r\nm=audio %u RTP/%s",
			     a.family == 6 ? '6' : '4', ip, a.family == 6 ? '6' : '4', ip, a.port,
			     ctl_dict_get(p, "crypto") ? "SAVP" : "AVP");
	v = ctl_dict_get(p, "codecs");
	if (!v || v->type != CTL_V_LIST || !v->u.c.n) {
		snprintf(err, errlen, "call %d: %s needs \"codecs\": a list such as [\"8 PCMA/8000\"]", call, role);
		return -1;
	}
	for (const struct ctl_val *c = v->u.c.head; c && o < outlen; c = c->next) {
		char cs[64];
		unsigned pt;

		if (str_of(c, cs, sizeof(cs)) || sscanf(cs, "%u", &pt) != 1 || pt > 127) {
			snprintf(err, errlen, "call %d: %s: codec entry not \"PT\" or \"PT NAME/CLOCK\"", call, role);
			return -1;
		}
		o += (size_t)snprintf(out + o, outlen - o, " %u", pt);
	}
	if (o < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "\r\n");
	for (const struct ctl_val *c = v->u.c.head; c && o < outlen; c = c->next) {
		char cs[64], *sp;

		str_of(c, cs, sizeof(cs));
		sp = strchr(cs, ' ');
		if (sp)
			o += (size_t)snprintf(out + o, outlen - o, "a=rtpmap:%.*s %s\r\n", (int)(sp - cs), cs, sp + 1);
	}
	if ((v = ctl_dict_get(p, "crypto"))) {
		if (v->type != CTL_V_LIST) {
			snprintf(err, errlen, "call %d: %s: \"crypto\" is not a list", call, role);
			return -1;
		}
		for (const struct ctl_val *c = v->u.c.head; c && o < outlen; c = c->next) {
			char cs[200];

			if (str_of(c, cs, sizeof(cs))) {
				snprintf(err, errlen, "call %d: %s: a crypto entry is not a string", call, role);
				return -1;
			}
			o += (size_t)snprintf(out + o, outlen - o, "a=crypto:%s\r\n", cs);
		}
	}
	if ((v = ctl_dict_get(p, "rtcp-mux")) && v->type == CTL_V_INT && v->u.i && o < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "a=rtcp-mux\r\n");
	if (o >= outlen) {
		snprintf(err, errlen, "call %d: %s's SDP too long", call, role);
		return -1;
	}
	return 0;
}

int perf_side_parse(struct perf_model *m, const char *text, size_t len, uint64_t t0, char *err,
		    size_t errlen)
{
	struct ctl_arena a;
	struct ctl_val *root;
	const struct ctl_val *calls;
	size_t used, errpos = 0;
	char *sdp_a = malloc(65536), *sdp_b = malloc(65536);
	int rc = -1, n = 0;

	if (!sdp_a || !sdp_b || ctl_arena_init(&a, len * 8 + 65536)) {
		free(sdp_a);
		free(sdp_b);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ctl_json_decode(&a, text, len, &root, &used, &errpos)) {
		snprintf(err, errlen, "not valid JSON (at byte %zu)", errpos);
		goto out;
	}
	calls = ctl_dict_get(root, "calls");
	if (!calls || calls->type != CTL_V_LIST || !calls->u.c.n) {
		snprintf(err, errlen, "no \"calls\" list");
		goto out;
	}
	for (const struct ctl_val *c = calls->u.c.head; c; c = c->next) {
		char id[PERF_CALL_ID_MAX];
		double start = 0, end = -1;
		uint64_t t_start, t_end = 0;
		const struct ctl_val *v;
		int ci;

		n++;
		if (c->type != CTL_V_DICT) {
			snprintf(err, errlen, "call %d is not an object", n);
			goto out;
		}
		if ((v = ctl_dict_get(c, "call-id"))) {
			if (str_of(v, id, sizeof(id)) || !id[0]) {
				snprintf(err, errlen, "call %d: \"call-id\" is not a string of 1-%d bytes", n,
					 PERF_CALL_ID_MAX - 1);
				goto out;
			}
		} else {
			snprintf(id, sizeof(id), "side-%d", n);
		}
		if (num_of(ctl_dict_get(c, "start-ms"), &start) < 0 || start < 0 ||
		    num_of(ctl_dict_get(c, "end-ms"), &end) < 0) {
			snprintf(err, errlen, "call %d: \"start-ms\"/\"end-ms\" must be integers >= 0", n);
			goto out;
		}
		t_start = t0 + (uint64_t)(start * 1e6);
		if (end >= 0)
			t_end = t0 + (uint64_t)(end * 1e6);
		if (party_sdp(ctl_dict_get(c, "offerer"), "offerer", n, sdp_a, 65536, err, errlen) ||
		    party_sdp(ctl_dict_get(c, "answerer"), "answerer", n, sdp_b, 65536, err, errlen))
			goto out;
		ci = perf_model_add_call(m, id, "replay-a", "replay-b");
		if (ci < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (perf_call_add_op(m, (uint32_t)ci, PERF_OP_OFFER, 0, t_start, 0, sdp_a, strlen(sdp_a), err, errlen) ||
		    perf_call_add_op(m, (uint32_t)ci, PERF_OP_ANSWER, 1, t_start, 0, sdp_b, strlen(sdp_b), err, errlen))
			goto out;
		if (t_end && perf_call_add_op(m, (uint32_t)ci, PERF_OP_DELETE, 0, t_end, 0, NULL, 0, err, errlen))
			goto out;
	}
	rc = 0;
out:
	ctl_arena_fini(&a);
	free(sdp_a);
	free(sdp_b);
	return rc;
}

int perf_side_load(struct perf_model *m, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf, why[400];
	long n;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || n > (64l << 20)) {
		fclose(f);
		snprintf(err, errlen, "%s: not a side file (size)", path);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	fclose(f);
	rc = perf_side_parse(m, buf, (size_t)n, m->t_first, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}
