/* SPDX-License-Identifier: MIT
 * perf_replay_sdp.c: the little of SDP that replay needs: per media
 * section its address (c=, m=), RTCP port (a=rtcp, a=rtcp-mux), payload
 * types (a=rtpmap) and SDES keys (a=crypto); and a rewrite that points an
 * SDP at the replayer's own sockets. Not the call model's SDP
 * (control/ctl_sdp): replay reads what real peers wrote, and only needs
 * to find the media in it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "perf_replay.h"

static const struct {
	uint8_t pt;
	const char *name;
	uint32_t clock;
} static_pts[] = {
	{0, "PCMU", 8000},  {3, "GSM", 8000},  {4, "G723", 8000},  {5, "DVI4", 8000},
	{6, "DVI4", 16000}, {7, "LPC", 8000},  {8, "PCMA", 8000},  {9, "G722", 8000},
	{10, "L16", 44100}, {11, "L16", 44100}, {12, "QCELP", 8000}, {13, "CN", 8000},
	{14, "MPA", 90000}, {15, "G728", 8000}, {18, "G729", 8000}, {26, "JPEG", 90000},
	{31, "H261", 90000}, {34, "H263", 90000},
};

static const struct perf_sdp_pt *find_pt(const struct perf_sdp_media *m, uint8_t pt)
{
	for (int i = 0; i < m->npt; i++)
		if (m->pts[i].pt == pt)
			return &m->pts[i];
	return NULL;
}

const char *perf_sdp_pt_name(const struct perf_sdp_media *m, uint8_t pt)
{
	const struct perf_sdp_pt *p = m ? find_pt(m, pt) : NULL;

	if (p && p->name[0])
		return p->name;
	for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++)
		if (static_pts[i].pt == pt)
			return static_pts[i].name;
	return "";
}

uint32_t perf_sdp_clock(const struct perf_sdp_media *m, uint8_t pt)
{
	const struct perf_sdp_pt *p = m ? find_pt(m, pt) : NULL;

	if (p && p->clock)
		return p->clock;
	for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++)
		if (static_pts[i].pt == pt)
			return static_pts[i].clock;
	return 8000;
}

/* one line: [p, p+n) without the line end; returns the next line's start */
static const char *next_line(const char *p, const char *end, size_t *n)
{
	const char *e = memchr(p, '\n', (size_t)(end - p));
	const char *nx = e ? e + 1 : end;

	if (!e)
		e = end;
	if (e > p && e[-1] == '\r')
		e--;
	*n = (size_t)(e - p);
	return nx;
}

/* "IN IP4 addr" / "IN IP6 addr" → a (port left alone) */
static int parse_conn(const char *v, size_t n, struct perf_addr *a, char *err, size_t errlen)
{
	char buf[80], nettype[8], atype[8], addr[64];
	char *slash;

	if (n >= sizeof(buf)) {
		snprintf(err, errlen, "c= line too long");
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = 0;
	if (sscanf(buf, "%7s %7s %63s", nettype, atype, addr) != 3 || strcmp(nettype, "IN")) {
		snprintf(err, errlen, "c= line not understood: \"%s\"", buf);
		return -1;
	}
	slash = strchr(addr, '/'); /* multicast TTL/count */
	if (slash)
		*slash = 0;
	if (!strcmp(atype, "IP4") && inet_pton(AF_INET, addr, a->ip) == 1) {
		a->family = 4;
		return 0;
	}
	if (!strcmp(atype, "IP6") && inet_pton(AF_INET6, addr, a->ip) == 1) {
		a->family = 6;
		return 0;
	}
	snprintf(err, errlen, "c= address not understood: \"%s\" (numeric IP4 or IP6 only)", buf);
	return -1;
}

static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static bool is_rtp(const struct perf_sdp_media *m)
{
	return strstr(m->proto, "RTP/") != NULL;
}

int perf_sdp_parse(const char *p, size_t len, struct perf_sdp *s, char *err, size_t errlen)
{
	const char *end = p + len;
	struct perf_addr session = {0};
	struct perf_sdp_media *cur = NULL;
	bool conn[PERF_SDP_MAX_MEDIA] = {false}, rtcp_set[PERF_SDP_MAX_MEDIA] = {false};
	int lineno = 0;

	memset(s, 0, sizeof(*s));
	if (len < 3 || memcmp(p, "v=0", 3)) {
		snprintf(err, errlen, "SDP does not start with v=0");
		return -1;
	}
	while (p < end) {
		size_t n;
		const char *l = p;

		p = next_line(p, end, &n);
		lineno++;
		if (n == 0)
			continue;
		if (n < 2 || l[1] != '=') {
			snprintf(err, errlen, "SDP line %d is not type=value", lineno);
			return -1;
		}
		if (l[0] == 'm') {
			/* a copy of the line's own length: no limit the rewritten
			 * line (longer by its new port) could cross */
			char *buf, *tok, *save = NULL;
			unsigned long port;

			if (s->nmedia == PERF_SDP_MAX_MEDIA) {
				snprintf(err, errlen, "SDP has more than %d media sections", PERF_SDP_MAX_MEDIA);
				return -1;
			}
			cur = &s->m[s->nmedia++];
			if (!(buf = malloc(n - 1))) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(buf, l + 2, n - 2);
			buf[n - 2] = 0;
			tok = strtok_r(buf, " ", &save);
			if (!tok || strlen(tok) >= sizeof(cur->type))
				goto bad_m;
			strcpy(cur->type, tok);
			tok = strtok_r(NULL, " ", &save);
			if (tok && strchr(tok, '/'))
				*strchr(tok, '/') = 0; /* port/count */
			if (!tok || parse_uint(tok, strlen(tok), 65535, &port))
				goto bad_m;
			cur->addr.port = (uint16_t)port;
			tok = strtok_r(NULL, " ", &save);
			if (!tok || strlen(tok) >= sizeof(cur->proto))
				goto bad_m;
			strcpy(cur->proto, tok);
			while ((tok = strtok_r(NULL, " ", &save))) {
				unsigned long pt;

				if (!is_rtp(cur))
					break;
				if (parse_uint(tok, strlen(tok), 127, &pt))
					goto bad_m;
				if (cur->npt < PERF_SDP_MAX_PT && !find_pt(cur, (uint8_t)pt))
					cur->pts[cur->npt++].pt = (uint8_t)pt;
			}
			free(buf);
			continue;
bad_m:
			free(buf);
			snprintf(err, errlen, "SDP line %d: m= line not understood", lineno);
			return -1;
		}
		if (l[0] == 'c') {
			struct perf_addr a = {0};

			if (parse_conn(l + 2, n - 2, &a, err, errlen))
				return -1;
			if (cur) {
				a.port = cur->addr.port;
				cur->addr = a;
				conn[cur - s->m] = true;
			} else {
				session = a;
			}
			continue;
		}
		if (l[0] != 'a' || !cur)
			continue;
		if (n > 7 && !memcmp(l, "a=rtcp:", 7)) {
			char buf[128];
			unsigned long port;
			char *sp;

			if (n - 7 >= sizeof(buf))
				continue;
			memcpy(buf, l + 7, n - 7);
			buf[n - 7] = 0;
			sp = strchr(buf, ' ');
			if (parse_uint(buf, sp ? (size_t)(sp - buf) : strlen(buf), 65535, &port)) {
				snprintf(err, errlen, "SDP line %d: a=rtcp port not understood", lineno);
				return -1;
			}
			cur->rtcp.port = (uint16_t)port;
			if (sp) {
				struct perf_addr a = {0};

				if (parse_conn(sp + 1, strlen(sp + 1), &a, err, errlen))
					return -1;
				a.port = cur->rtcp.port;
				cur->rtcp = a;
			}
			rtcp_set[cur - s->m] = true;
		} else if (n == 10 && !memcmp(l, "a=rtcp-mux", 10)) {
			cur->rtcp_mux = true;
		} else if (n > 9 && !memcmp(l, "a=rtpmap:", 9)) {
			char buf[96], name[24];
			unsigned long pt;
			unsigned clock = 0;
			char *sp;
			struct perf_sdp_pt *e;

			if (n - 9 >= sizeof(buf))
				continue;
			memcpy(buf, l + 9, n - 9);
			buf[n - 9] = 0;
			sp = strchr(buf, ' ');
			if (!sp || parse_uint(buf, (size_t)(sp - buf), 127, &pt) ||
			    sscanf(sp + 1, "%23[^/]/%u", name, &clock) != 2 || clock == 0) {
				snprintf(err, errlen, "SDP line %d: a=rtpmap not understood", lineno);
				return -1;
			}
			e = (struct perf_sdp_pt *)find_pt(cur, (uint8_t)pt);
			if (e) {
				snprintf(e->name, sizeof(e->name), "%s", name);
				e->clock = clock;
			}
		} else if (n > 9 && !memcmp(l, "a=crypto:", 9)) {
			if (cur->ncrypto < PERF_SDP_MAX_CRYPTO && n - 9 < sizeof(cur->crypto[0])) {
				memcpy(cur->crypto[cur->ncrypto], l + 9, n - 9);
				cur->crypto[cur->ncrypto][n - 9] = 0;
				cur->ncrypto++;
			}
		}
	}
	if (s->nmedia == 0) {
		snprintf(err, errlen, "SDP has no m= line");
		return -1;
	}
	for (int i = 0; i < s->nmedia; i++) {
		struct perf_sdp_media *m = &s->m[i];

		if (!conn[i]) {
			uint16_t port = m->addr.port;

			if (!session.family && port && is_rtp(m)) {
				snprintf(err, errlen, "SDP media section %d has no c= line (nor the session)", i + 1);
				return -1;
			}
			m->addr = session;
			m->addr.port = port;
		}
		for (int j = 0; j < m->npt; j++) {
			struct perf_sdp_pt *e = &m->pts[j];

			if (!e->name[0]) {
				snprintf(e->name, sizeof(e->name), "%s", perf_sdp_pt_name(NULL, e->pt));
				e->clock = perf_sdp_clock(NULL, e->pt);
			}
		}
		if (!rtcp_set[i]) {
			m->rtcp = m->addr;
			m->rtcp.port = m->rtcp_mux ? m->addr.port : (uint16_t)(m->addr.port + 1);
		} else if (!m->rtcp.family) {
			uint16_t port = m->rtcp.port;

			m->rtcp = m->addr;
			m->rtcp.port = port;
		}
	}
	return 0;
}

static int put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	if (*o + n + 1 > outlen)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = 0;
	return 0;
}

static bool drop_attr(const char *l, size_t n)
{
	static const char *const drop[] = {"a=rtcp:", "a=candidate", "a=ice-", "a=end-of-candidates",
					    "a=remote-candidates"};

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (n >= strlen(drop[i]) && !memcmp(l, drop[i], strlen(drop[i])))
			return true;
	return false;
}

int perf_sdp_rewrite(const char *p, size_t len, const char *ip, const uint16_t *ports, int nports,
		     char *out, size_t outlen)
{
	const char *end = p + len;
	size_t o = 0;
	int media = -1;
	char line[512];

	if (outlen)
		out[0] = 0;
	while (p < end) {
		size_t n;
		const char *l = p;
		int w;

		p = next_line(p, end, &n);
		if (n == 0)
			continue;
		if (n > 2 && l[0] == 'c' && l[1] == '=') {
			w = snprintf(line, sizeof(line), "c=IN IP4 %s\r\n", ip);
		} else if (n > 2 && l[0] == 'o' && l[1] == '=') {
			/* o=user sess-id version IN IP4 addr: keep the first three */
			const char *q = l + 2, *e = l + n;
			int sp = 0;

			while (q < e && sp < 3)
				if (*q++ == ' ')
					sp++;
			if (put(out, outlen, &o, l, (size_t)(q - l)))
				return -1;
			w = snprintf(line, sizeof(line), "IN IP4 %s\r\n", ip);
		} else if (n > 2 && l[0] == 'm' && l[1] == '=') {
			/* the tokens as the parser splits them (strtok: runs of
			 * spaces): type, port, then the rest */
			const char *e = l + n, *t = l + 2, *ps, *pe, *d;

			media++;
			while (t < e && *t == ' ')
				t++;
			while (t < e && *t != ' ')
				t++;
			while (t < e && *t == ' ')
				t++;
			ps = t;
			while (t < e && *t != ' ')
				t++;
			pe = t;
			if (ps == e || pe == e)
				return -1;
			/* a rejected section (port 0, however many zeros the
			 * parser read as 0, and a /count after them) stays rejected */
			d = ps;
			while (d < pe && *d == '0')
				d++;
			if (media < nports && !(d > ps && (d == pe || *d == '/'))) {
				w = snprintf(line, sizeof(line), "%u", ports[media]);
				if (put(out, outlen, &o, l, (size_t)(ps - l)) || put(out, outlen, &o, line, (size_t)w) ||
				    put(out, outlen, &o, pe, (size_t)(e - pe)) || put(out, outlen, &o, "\r\n", 2))
					return -1;
			} else if (put(out, outlen, &o, l, n) || put(out, outlen, &o, "\r\n", 2)) {
				return -1;
			}
			continue;
		} else if (drop_attr(l, n)) {
			continue;
		} else {
			if (put(out, outlen, &o, l, n) || put(out, outlen, &o, "\r\n", 2))
				return -1;
			continue;
		}
		if (w < 0 || (size_t)w >= sizeof(line) || put(out, outlen, &o, line, (size_t)w))
			return -1;
	}
	return (int)o;
}
