/* SPDX-License-Identifier: MIT
 * mediusctl: command-line client for mediusd's ng control socket.
 *
 *   mediusctl ping                 -> "pong"
 *   mediusctl ng '{"command":"ping"}'  -> the reply, as JSON
 *   mediusctl recording export ID  -> a sealed recording decrypted (ctl_mediusctl_rec.c)
 *   mediusctl top                  -> the status page live, over HTTP (ctl_mediusctl_top.c)
 *
 * Over UDP a request is retried with the same cookie, so a lost datagram is
 * answered from the daemon's cookie cache rather than executed twice.
 * Exit codes: 0 ok, 1 the daemon replied with an error (audit verify: the
 * chain is broken), 2 bad usage, 3 no (valid) answer (audit verify: the
 * file cannot be read).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_bencode.h"
#include "ctl_json.h"
#include "ctl_mediusctl_rec.h"
#include "ctl_mediusctl_top.h"
#include "ctl_sign.h"
#include "ctl_val.h"
#include "rec_audit.h"

#define EXIT_REPLY_ERROR 1
#define EXIT_USAGE 2
#define EXIT_NO_ANSWER 3
#define MAX_REPLY (4u << 20)

struct opts {
	const char *server;
	bool tcp, wire_json, raw;
	int timeout_ms, retries;
	char auth_client[65];   /* signing (--auth-file): the client's name; "" none */
	uint8_t auth_key[64];
	size_t auth_klen;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mediusctl [OPTION]... COMMAND [ARG]\n"
		"Talk to mediusd over its ng control socket.\n"
		"\n"
		"Commands:\n"
		"  ping            ask the daemon for a pong\n"
		"  list            the calls, one row each (age, streams, packets, worst MOS)\n"
		"  show CALL-ID    a call's streams: peers, packets, loss, jitter, RTT, MOS\n"
		"  stats           the daemon's counters\n"
		"  delete CALL-ID  end a call and show its final statistics\n"
		"  alerts [SITE]   per-site quality: active alerts, sites, recent events\n"
		"  ng JSON         send JSON (a dictionary with a \"command\" key) as an\n"
		"                  ng request and print the reply as JSON\n"
		"  recording ...   export or re-key sealed recordings, offline (first on the\n"
		"                  line: mediusctl recording --help)\n"
		"  recording hold ID [REASON]    put recording ID on legal hold (audited)\n"
		"  recording unhold ID [REASON]  take it off hold\n"
		"  recording sweep [--now TIME]  delete the recordings past their retention\n"
		"                  now (TIME: Unix seconds or YYYY-MM-DD[THH:MM:SSZ]; the\n"
		"                  daemon takes it only with [retention] allow_now = 1)\n"
		"  top [--once] [--http ADDR:PORT]  a live view of the status page (calls,\n"
		"                  conferences and talkers, per-site quality, workers, drops)\n"
		"                  from the HTTP listener ($MEDIUS_HTTP); first on the line:\n"
		"                  mediusctl top --help\n"
		"  audit verify [FILE]  check the audit log's hash chain (FILE, else\n"
		"                  $MEDIUS_AUDIT_LOG) locally; exit 1 names the first\n"
		"                  altered, removed or reordered entry\n"
		"\n"
		"Options:\n"
		"  -s, --server ADDR:PORT  daemon's ng address (default $MEDIUS_NG or\n"
		"                          127.0.0.1:2223)\n"
		"      --tcp               use the TCP ng socket instead of UDP\n"
		"      --wire json|bencode encoding on the wire (default bencode)\n"
		"      --raw               print the reply exactly as received\n"
		"  -j, --json              print replies as JSON instead of tables\n"
		"  -T, --timeout MS        wait per attempt (default 1000)\n"
		"  -r, --retries N         UDP attempts (default 3, same cookie)\n"
		"      --auth-file FILE    sign requests (mediusd's control.auth) with a secret\n"
		"                          from FILE, in the daemon's auth_keys format (default\n"
		"                          $MEDIUS_NG_AUTH_FILE); the first client in it, or\n"
		"      --auth-client NAME  the one named\n"
		"  -h, --help              show this help\n"
		"\n"
		"Exit status: 0 ok, 1 error reply, 2 bad usage, 3 no answer.\n");
}

static int connect_to(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	if (ctl_addr_parse(o->server, "127.0.0.1", &ss, &sl)) {
		fprintf(stderr, "mediusctl: bad server address '%s'\n", o->server);
		return -EXIT_USAGE;
	}
	fd = socket(ss.ss_family, (o->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "mediusctl: cannot reach %s/%s: %s\n", o->server, o->tcp ? "tcp" : "udp",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EXIT_NO_ANSWER;
	}
	return fd;
}

/* Send req and collect a reply starting with cookie + ' ' into *rep.
 * Returns 0 or an exit code. */
static int exchange(const struct opts *o, const struct ctl_buf *req, const char *cookie,
		    struct ctl_buf *rep)
{
	size_t clen = strlen(cookie);
	char *buf = malloc(MAX_REPLY);
	int fd = connect_to(o), rc = EXIT_NO_ANSWER;

	if (fd < 0 || !buf) {
		free(buf);
		return fd < 0 ? -fd : EXIT_NO_ANSWER;
	}
	for (int attempt = 0; attempt < (o->tcp ? 1 : o->retries) && rc; attempt++) {
		size_t got = 0;

		if (send(fd, req->p, req->len, MSG_NOSIGNAL) != (ssize_t)req->len) {
			fprintf(stderr, "mediusctl: send to %s: %s\n", o->server, strerror(errno));
			break;
		}
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (poll(&p, 1, o->timeout_ms) <= 0)
				break;
			n = recv(fd, buf + got, MAX_REPLY - got, 0);
			if (n <= 0) {
				if (n < 0)
					fprintf(stderr, "mediusctl: %s: %s\n", o->server, strerror(errno));
				attempt = o->retries; /* connection refused or closed: stop */
				break;
			}
			if (!o->tcp) {
				if ((size_t)n > clen && memcmp(buf, cookie, clen) == 0 && buf[clen] == ' ') {
					ctl_buf_put(rep, buf, (size_t)n);
					rc = 0;
					break;
				}
				continue; /* a stray datagram: keep waiting */
			}
			got += (size_t)n;
			/* TCP: a reply is complete once its dictionary decodes. */
			if (got > clen + 1 && memcmp(buf, cookie, clen) == 0) {
				struct ctl_arena a;
				struct ctl_val *v;
				size_t used;
				const char *body = buf + clen + 1;
				int drc;

				if (ctl_arena_init(&a, got * 32 + 4096))
					break;
				drc = o->wire_json
					      ? ctl_json_decode(&a, body, got - clen - 1, &v, &used, NULL)
					      : ctl_bencode_decode(&a, body, got - clen - 1, &v, &used, NULL);
				ctl_arena_fini(&a);
				if (drc == 0) {
					ctl_buf_put(rep, buf, got);
					rc = 0;
					break;
				}
			}
			if (got == MAX_REPLY)
				break;
		}
	}
	if (rc)
		fprintf(stderr, "mediusctl: no answer from %s/%s\n", o->server, o->tcp ? "tcp" : "udp");
	free(buf);
	close(fd);
	return rc;
}

/* One ng exchange: the reply decoded into tree (in reply->arena; strings
 * point into reply->buf). Returns 0, or an exit code after saying why. */
struct reply {
	struct ctl_buf buf;
	struct ctl_arena arena;
	struct ctl_val *v;
};

static int request(const struct opts *o, const struct ctl_val *cmd, struct reply *rp)
{
	struct ctl_buf req = { 0 };
	char cookie[48];
	size_t clen, used;
	int rc;

	memset(rp, 0, sizeof(*rp));
	snprintf(cookie, sizeof(cookie), "%d_%08x", (int)getpid(), (unsigned)rand());
	ctl_buf_printf(&req, "%s ", cookie);
	rc = o->wire_json ? ctl_json_encode(cmd, &req, false) : ctl_bencode_encode(cmd, &req);
	if (!rc && o->auth_client[0]) { /* the same request, signed (docs/protocol.md, Authentication) */
		struct ctl_buf signed_req = { 0 };
		size_t skip = strlen(cookie) + 1;

		rc = ctl_sign_request(&signed_req, cookie, o->auth_client, o->auth_key, o->auth_klen,
				      (int64_t)time(NULL), req.p + skip, req.len - skip);
		ctl_buf_free(&req);
		req = signed_req;
	}
	if (rc) {
		fprintf(stderr, "mediusctl: cannot encode the request: %s\n", strerror(-rc));
		ctl_buf_free(&req);
		return EXIT_USAGE;
	}
	rc = exchange(o, &req, cookie, &rp->buf);
	ctl_buf_free(&req);
	if (rc)
		return rc;
	if (o->raw) {
		fwrite(rp->buf.p, 1, rp->buf.len, stdout);
		putchar('\n');
	}
	clen = strlen(cookie) + 1;
	if (ctl_arena_init(&rp->arena, rp->buf.len * 32 + 4096))
		return EXIT_NO_ANSWER;
	rc = rp->buf.p[clen] == '{'
		     ? ctl_json_decode(&rp->arena, rp->buf.p + clen, rp->buf.len - clen, &rp->v, &used, NULL)
		     : ctl_bencode_decode(&rp->arena, rp->buf.p + clen, rp->buf.len - clen, &rp->v, &used, NULL);
	if (rc || rp->v->type != CTL_V_DICT) {
		fprintf(stderr, "mediusctl: the reply is not a valid ng dictionary\n");
		return EXIT_NO_ANSWER;
	}
	if (ctl_val_str_eq(ctl_dict_get(rp->v, "result"), "error")) {
		const struct ctl_val *why = ctl_dict_get(rp->v, "error-reason");

		fprintf(stderr, "mediusctl: error: %.*s\n", why && why->type == CTL_V_STR ? (int)why->u.s.len : 7,
			why && why->type == CTL_V_STR ? why->u.s.p : "unknown");
		return EXIT_REPLY_ERROR;
	}
	return 0;
}

static void reply_free(struct reply *rp)
{
	ctl_buf_free(&rp->buf);
	ctl_arena_fini(&rp->arena);
}

static void print_json(const struct ctl_val *v)
{
	struct ctl_buf out = { 0 };

	ctl_json_encode(v, &out, true);
	fwrite(out.p, 1, out.len, stdout);
	putchar('\n');
	ctl_buf_free(&out);
}

static int64_t num(const struct ctl_val *d, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(d, key);

	return v && v->type == CTL_V_INT ? v->u.i : 0;
}

static const char *str(const struct ctl_val *d, const char *key, char *buf, size_t len)
{
	const struct ctl_val *v = ctl_dict_get(d, key);

	snprintf(buf, len, "%.*s", v && v->type == CTL_V_STR ? (int)v->u.s.len : 1,
		 v && v->type == CTL_V_STR ? v->u.s.p : "-");
	return buf;
}

/* A drops dictionary (reason -> count) as "name N, name N"; the non-zero
 * ones only. Returns how many were printed. */
static unsigned print_drops(const char *lead, const struct ctl_val *drops)
{
	unsigned n = 0;

	for (const struct ctl_val *k = drops && drops->type == CTL_V_DICT ? drops->u.c.head : NULL; k; k = k->next)
		if (k->type == CTL_V_INT && k->u.i)
			printf("%s%.*s %lld", n++ ? ", " : lead, (int)k->key_len, k->key, (long long)k->u.i);
	if (n)
		putchar('\n');
	return n;
}

/* statistics' interfaces: one line each; an ethdev one names its DPDK
 * device and driver and shows the port's counters, then its drops. */
static void print_interfaces(const struct ctl_val *ifs)
{
	for (const struct ctl_val *i = ifs->u.c.head; i; i = i->next) {
		char name[64], type[16], dev[80], drv[48];
		const struct ctl_val *port = ctl_dict_get(i, "port");

		printf("interface %s: %s", str(i, "name", name, sizeof(name)), str(i, "type", type, sizeof(type)));
		if (ctl_dict_get(i, "device"))
			printf(" %s (driver %s)", str(i, "device", dev, sizeof(dev)), str(i, "driver", drv, sizeof(drv)));
		if (port)
			printf(", port rx %lld tx %lld missed %lld errors %lld/%lld no-mbuf %lld",
			       (long long)num(port, "rx packets"), (long long)num(port, "tx packets"),
			       (long long)num(port, "rx missed"), (long long)num(port, "rx errors"),
			       (long long)num(port, "tx errors"), (long long)num(port, "rx no mbuf"));
		putchar('\n');
		print_drops("  drops: ", ctl_dict_get(i, "drops"));
	}
}

/* A leg's peer: the source it latched; while it has latched none (always
 * on an asymmetric leg, which never latches) the address its SDP
 * signalled, marked "(sdp)", which is where medius sends; "-" when
 * neither is known. */
static void peer_text(const struct ctl_val *s, char *out, size_t len)
{
	const struct ctl_val *ep = ctl_dict_get(s, "endpoint"), *adv = ctl_dict_get(s, "advertised endpoint");
	const struct ctl_val *a = ctl_dict_get(ep, "address");

	if (a && a->type == CTL_V_STR) {
		snprintf(out, len, "%.*s", (int)a->u.s.len, a->u.s.p);
		return;
	}
	a = ctl_dict_get(adv, "address");
	if (a && a->type == CTL_V_STR)
		snprintf(out, len, "%.*s (sdp)", (int)a->u.s.len, a->u.s.p);
	else
		snprintf(out, len, "-");
}

/* RTT from the peer's RTCP: "-" until one arrived (the daemon says -1). */
static void rtt_text(const struct ctl_val *s, char *out, size_t len)
{
	const struct ctl_val *v = ctl_dict_get(s, "RTT ms");

	if (v && v->type == CTL_V_INT && v->u.i >= 0)
		snprintf(out, len, "%lld", (long long)v->u.i);
	else
		snprintf(out, len, "-");
}

/* A call's streams as a table: one row per leg, and under a leg that
 * dropped packets a line with the reasons. */
static void print_call(const char *id, const struct ctl_val *q)
{
	const struct ctl_val *tags = ctl_dict_get(q, "tags");
	time_t created = (time_t)num(q, "created");

	printf("call %s, up %lds\n", id, created ? (long)(time(NULL) - created) : 0L);
	printf("  %-14s %-5s %-9s %-10s %-28s %9s %7s %9s %7s %5s\n", "tag", "media", "protocol", "local port",
	       "peer", "packets", "lost", "jitter ms", "RTT ms", "MOS");
	for (const struct ctl_val *t = tags && tags->type == CTL_V_DICT ? tags->u.c.head : NULL; t; t = t->next) {
		const struct ctl_val *medias = ctl_dict_get(t, "medias");

		for (const struct ctl_val *m = medias && medias->type == CTL_V_LIST ? medias->u.c.head : NULL; m;
		     m = m->next) {
			const struct ctl_val *streams = ctl_dict_get(m, "streams");

			for (const struct ctl_val *s = streams && streams->type == CTL_V_LIST ? streams->u.c.head : NULL;
			     s; s = s->next) {
				char a[64], b[32], peer[80], rtt[24], e[16];

				peer_text(s, peer, sizeof(peer));
				rtt_text(s, rtt, sizeof(rtt));
				printf("  %-14.*s %-5lld %-9s %-10lld %-28s %9lld %7lld %9.2f %7s %5s\n",
				       (int)(t->key_len > 14 ? 14 : t->key_len), t->key, (long long)num(m, "index"),
				       str(m, "protocol", b, sizeof(b)), (long long)num(s, "local port"), peer,
				       (long long)num(ctl_dict_get(s, "stats"), "packets"), (long long)num(s, "lost"),
				       (double)num(s, "jitter ms x1000") / 1000.0, rtt, str(s, "MOS", e, sizeof(e)));
				print_drops("  drops: ", ctl_dict_get(ctl_dict_get(s, "stats"), "drops"));
				(void)a;
			}
		}
	}
}

/* mediusctl audit verify [FILE] */
static int audit(int nargs, char **args)
{
	struct rec_audit_verdict v;
	const char *path = nargs >= 2 ? args[1] : getenv("MEDIUS_AUDIT_LOG");
	int rc;

	if (nargs < 1 || nargs > 2 || strcmp(args[0], "verify") || !path || !*path) {
		fprintf(stderr, "mediusctl: audit verify FILE (or $MEDIUS_AUDIT_LOG)\n");
		return EXIT_USAGE;
	}
	rc = rec_audit_verify(path, &v);
	if (rc < 0) {
		fprintf(stderr, "mediusctl: %s: %s\n", path, strerror(-rc));
		return EXIT_NO_ANSWER;
	}
	if (rc) {
		printf("%s: BROKEN at line %llu: %s\n", path, (unsigned long long)v.line, v.msg);
		return EXIT_REPLY_ERROR;
	}
	printf("%s: ok: %s\n", path, v.msg);
	return 0;
}

/* ng "alerts" as tables: the active alerts, every site's window, the
 * recent raise/clear events (newest last). */
static void print_alerts(const struct ctl_val *q)
{
	const struct ctl_val *active = ctl_dict_get(q, "active"), *sites = ctl_dict_get(q, "sites"),
			     *events = ctl_dict_get(q, "events"), *wh = ctl_dict_get(q, "webhook");
	char b[8][64];
	unsigned n = 0;

	if (!num(q, "enabled")) {
		puts("alerts are off ([alerts] enabled = 0)");
		return;
	}
	for (const struct ctl_val *x = active && active->type == CTL_V_LIST ? active->u.c.head : NULL; x; x = x->next) {
		if (!n++)
			printf("ACTIVE ALERTS\n  %-6s %-20s %-7s %9s %9s  %s\n", "id", "site", "metric", "value", "worst",
			       "raised at");
		printf("  %-6lld %-20s %-7s %9s %9s  %s\n", (long long)num(x, "alert id"), str(x, "site", b[0], 64),
		       str(x, "metric", b[1], 64), str(x, "value", b[2], 64), str(x, "worst", b[3], 64),
		       str(x, "raised at", b[4], 64));
	}
	if (!n)
		puts("no active alerts");
	printf("SITES\n  %-20s %-9s %7s %10s %7s %9s %5s  %s\n", "site", "interface", "streams", "expected", "loss %",
	       "jitter ms", "MOS", "pending");
	for (const struct ctl_val *x = sites && sites->type == CTL_V_LIST ? sites->u.c.head : NULL; x; x = x->next) {
		const struct ctl_val *p = ctl_dict_get(x, "pending");
		char pend[64] = "";

		for (const struct ctl_val *m = p && p->type == CTL_V_LIST ? p->u.c.head : NULL; m; m = m->next)
			if (m->type == CTL_V_STR)
				snprintf(pend + strlen(pend), sizeof(pend) - strlen(pend), "%s%.*s", pend[0] ? "," : "",
					 (int)m->u.s.len, m->u.s.p);
		printf("  %-20s %-9s %7lld %10lld %7s %9s %5s  %s\n", str(x, "name", b[0], 64),
		       num(x, "interface") ? "yes" : "no", (long long)num(x, "streams"), (long long)num(x, "expected"),
		       *str(x, "loss pct", b[1], 64) ? b[1] : "-", *str(x, "jitter ms", b[2], 64) ? b[2] : "-",
		       *str(x, "MOS", b[3], 64) ? b[3] : "-", pend);
	}
	n = 0;
	for (const struct ctl_val *x = events && events->type == CTL_V_LIST ? events->u.c.head : NULL; x; x = x->next) {
		if (!n++)
			printf("EVENTS\n  %-24s %-6s %-7s %-20s %-7s %9s %9s %5s\n", "at", "id", "event", "site", "metric",
			       "value", "threshold", "for s");
		printf("  %-24s %-6lld %-7s %-20s %-7s %9s %9s %5lld\n", str(x, "at", b[0], 64),
		       (long long)num(x, "alert id"), str(x, "event", b[1], 64), str(x, "site", b[2], 64),
		       str(x, "metric", b[3], 64), *str(x, "value", b[4], 64) ? b[4] : "no data",
		       str(x, "threshold", b[5], 64), (long long)num(x, "for s"));
	}
	if (wh)
		printf("webhook: %lld posted, %lld delivered, %lld failed, %lld dropped, %lld retries, %lld queued\n",
		       (long long)num(wh, "posted"), (long long)num(wh, "delivered"), (long long)num(wh, "failed"),
		       (long long)num(wh, "dropped"), (long long)num(wh, "retries"), (long long)num(wh, "queued"));
}

static struct ctl_val *command(struct ctl_arena *a, const char *name, const char *call_id)
{
	struct ctl_val *d = ctl_val_dict(a);

	ctl_dict_add_cstr(a, d, "command", name);
	if (call_id)
		ctl_dict_add_cstr(a, d, "call-id", call_id);
	return d;
}

/* "recording export/rekey" read the files themselves; hold, unhold and sweep
 * (and "recording CALL-ID") ask the daemon. */
static bool recording_offline(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "export") || !strcmp(argv[i], "rekey") ||
		    !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "server", required_argument, NULL, 's' }, { "tcp", no_argument, NULL, 't' },
		{ "wire", required_argument, NULL, 'w' },   { "raw", no_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' }, { "retries", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },	    { "help", no_argument, NULL, 'h' },
		{ "now", required_argument, NULL, 'N' },
		{ "auth-file", required_argument, NULL, 'A' }, { "auth-client", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .timeout_ms = 1000, .retries = 3 };
	struct reply rp;
	struct ctl_arena a;
	struct ctl_val *cmd = NULL;
	const char *verb, *arg, *now = NULL;
	size_t used;
	bool json = false;
	int opt, rc, nargs;
	const char *auth_file = getenv("MEDIUS_NG_AUTH_FILE"), *auth_client = NULL;

	if (argc > 1 && !strcmp(argv[1], "top"))
		return ctl_mediusctl_top(argc - 1, argv + 1); /* HTTP, not ng */
	if (argc > 1 && !strcmp(argv[1], "recording") && recording_offline(argc, argv))
		return ctl_mediusctl_recording(argc - 1, argv + 1); /* the files, not the daemon */
	o.server = getenv("MEDIUS_NG") ? getenv("MEDIUS_NG") : "127.0.0.1:2223";
	while ((opt = getopt_long(argc, argv, "s:T:r:hj", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.server = optarg; break;
		case 't': o.tcp = true; break;
		case 'R': o.raw = true; break;
		case 'j': json = true; break;
		case 'w':
			if (strcmp(optarg, "json") && strcmp(optarg, "bencode")) {
				fprintf(stderr, "mediusctl: --wire takes json or bencode\n");
				return EXIT_USAGE;
			}
			o.wire_json = !strcmp(optarg, "json");
			break;
		case 'A': auth_file = optarg; break;
		case 'C': auth_client = optarg; break;
		case 'T': o.timeout_ms = atoi(optarg); break;
		case 'r': o.retries = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		case 'N': now = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (auth_file && *auth_file) {
		char why[300];

		if (ctl_sign_key_file(auth_file, auth_client, o.auth_client, o.auth_key, sizeof(o.auth_key), &o.auth_klen,
				      why, sizeof(why))) {
			fprintf(stderr, "mediusctl: --auth-file %s\n", why);
			return EXIT_USAGE;
		}
	}
	if (o.timeout_ms <= 0 || o.retries <= 0) {
		fprintf(stderr, "mediusctl: --timeout and --retries must be positive\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	nargs = argc - optind - 1;
	if (!strcmp(verb, "audit")) /* local: no daemon */
		return audit(nargs, argv + optind + 1);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (ctl_arena_init(&a, 1u << 20))
		return EXIT_NO_ANSWER;
	if (!strcmp(verb, "ping") && nargs == 0) {
		cmd = command(&a, "ping", NULL);
	} else if (!strcmp(verb, "ng") && nargs == 1) {
		size_t errpos = 0;

		rc = ctl_json_decode(&a, arg, strlen(arg), &cmd, &used, &errpos);
		if (rc || used != strlen(arg) || cmd->type != CTL_V_DICT) {
			fprintf(stderr, "mediusctl: the argument is not a JSON dictionary (%s at byte %zu)\n",
				rc ? strerror(-rc) : "trailing data or not an object", rc ? errpos : used);
			ctl_arena_fini(&a);
			return EXIT_USAGE;
		}
	} else if ((!strcmp(verb, "list") || !strcmp(verb, "stats")) && nargs == 0) {
		cmd = command(&a, !strcmp(verb, "list") ? "list" : "statistics", NULL);
		if (!strcmp(verb, "list"))
			ctl_dict_add_int(&a, cmd, "limit", 100000);
	} else if (!strcmp(verb, "recording") && nargs >= 1 && !strcmp(arg, "sweep") && nargs == 1) {
		cmd = command(&a, "recording sweep", NULL);
		if (now)
			ctl_dict_add_cstr(&a, cmd, "now", now);
	} else if (!strcmp(verb, "recording") && nargs >= 2 && nargs <= 3 &&
		   (!strcmp(arg, "hold") || !strcmp(arg, "unhold"))) {
		cmd = command(&a, !strcmp(arg, "hold") ? "recording hold" : "recording unhold", NULL);
		ctl_dict_add_cstr(&a, cmd, "recording-id", argv[optind + 2]);
		if (nargs == 3)
			ctl_dict_add_cstr(&a, cmd, "reason", argv[optind + 3]);
	} else if (!strcmp(verb, "alerts") && nargs <= 1) {
		cmd = command(&a, "alerts", NULL);
		if (arg)
			ctl_dict_add_cstr(&a, cmd, "site", arg);
	} else if ((!strcmp(verb, "show") || !strcmp(verb, "delete")) && nargs == 1) {
		cmd = command(&a, !strcmp(verb, "show") ? "query" : "delete", arg);
	} else {
		fprintf(stderr, "mediusctl: unknown command '%s' or wrong arguments (see --help)\n", verb);
		ctl_arena_fini(&a);
		return EXIT_USAGE;
	}
	rc = request(&o, cmd, &rp);
	if (rc || o.raw) {
		reply_free(&rp);
		ctl_arena_fini(&a);
		return rc;
	}
	if (!strcmp(verb, "ping")) {
		rc = ctl_val_str_eq(ctl_dict_get(rp.v, "result"), "pong") ? 0 : EXIT_NO_ANSWER;
		puts(rc ? "unexpected reply (no pong)" : "pong");
	} else if (!strcmp(verb, "recording") && !json) {
		if (!strcmp(arg, "sweep"))
			printf("swept: %lld scanned, %lld running, %lld expired, %lld deleted, %lld on hold, %lld errors\n",
			       (long long)num(rp.v, "scanned"), (long long)num(rp.v, "running"),
			       (long long)num(rp.v, "expired"), (long long)num(rp.v, "deleted"),
			       (long long)num(rp.v, "held"), (long long)num(rp.v, "errors"));
		else {
			char w[64];

			bool warn = ctl_dict_get(rp.v, "warning") != NULL;

			printf("recording %s %s%s%s\n", argv[optind + 2], !strcmp(arg, "hold") ? "on hold" : "off hold",
			       warn ? ": " : "", warn ? str(rp.v, "warning", w, sizeof(w)) : "");
		}
	} else if (json || !strcmp(verb, "ng")) {
		print_json(rp.v);
	} else if (!strcmp(verb, "show") || !strcmp(verb, "delete")) {
		print_call(arg, rp.v);
		if (!strcmp(verb, "delete"))
			printf("call %s deleted\n", arg);
	} else if (!strcmp(verb, "alerts")) {
		print_alerts(rp.v);
	} else if (!strcmp(verb, "stats")) {
		const struct ctl_val *st = ctl_dict_get(rp.v, "statistics");

		for (const struct ctl_val *g = st && st->type == CTL_V_DICT ? st->u.c.head : NULL; g; g = g->next)
			for (const struct ctl_val *k = g->type == CTL_V_DICT ? g->u.c.head : NULL; k; k = k->next) {
				if (k->type == CTL_V_LIST && k->key_len == 10 && !memcmp(k->key, "interfaces", 10))
					print_interfaces(k);
				if (k->type == CTL_V_INT)
					printf("%-20.*s %lld\n", (int)k->key_len, k->key, (long long)k->u.i);
				if (k->type != CTL_V_DICT || k->key_len != 5 || memcmp(k->key, "drops", 5))
					continue;
				/* the errors by reason, non-zero ones */
				for (const struct ctl_val *r = k->u.c.head; r; r = r->next)
					if (r->type == CTL_V_INT && r->u.i)
						printf("  %-18.*s %lld\n", (int)r->key_len, r->key, (long long)r->u.i);
			}
	} else { /* list: one row per call, from a query each */
		const struct ctl_val *calls = ctl_dict_get(rp.v, "calls");
		unsigned n = 0;

		printf("%-32s %8s %8s %10s %6s\n", "call-id", "age s", "streams", "packets", "MOS");
		for (const struct ctl_val *c = calls && calls->type == CTL_V_LIST ? calls->u.c.head : NULL; c;
		     c = c->next, n++) {
			char id[256], mos[16] = "-";
			struct reply q;
			double worst = 9;
			unsigned streams = 0;
			int64_t packets = 0;

			snprintf(id, sizeof(id), "%.*s", (int)c->u.s.len, c->u.s.p);
			if (request(&o, command(&a, "query", id), &q) == 0) {
				const struct ctl_val *tags = ctl_dict_get(q.v, "tags");

				for (const struct ctl_val *t = tags ? tags->u.c.head : NULL; t; t = t->next) {
					const struct ctl_val *ms = ctl_dict_get(t, "medias");

					for (const struct ctl_val *m = ms ? ms->u.c.head : NULL; m; m = m->next) {
						const struct ctl_val *ss = ctl_dict_get(m, "streams");

						for (const struct ctl_val *s = ss ? ss->u.c.head : NULL; s; s = s->next) {
							char b[16];

							streams++;
							packets += num(ctl_dict_get(s, "stats"), "packets");
							if (atof(str(s, "MOS", b, sizeof(b))) < worst)
								worst = atof(b);
						}
					}
				}
				if (worst < 9)
					snprintf(mos, sizeof(mos), "%.2f", worst);
				printf("%-32s %8lld %8u %10lld %6s\n", id, (long long)(time(NULL) - num(q.v, "created")),
				       streams, (long long)packets, mos);
			}
			reply_free(&q);
		}
		printf("%u call(s)\n", n);
	}
	reply_free(&rp);
	ctl_arena_fini(&a);
	return rc;
}
