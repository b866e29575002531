/* SPDX-License-Identifier: MIT
 * mediusctl: command-line client for mediusd's ng control socket.
 *
 *   mediusctl ping                 -> "pong"
 *   mediusctl ng '{"command":"ping"}'  -> the reply, as JSON
 *
 * Over UDP a request is retried with the same cookie, so a lost datagram is
 * answered from the daemon's cookie cache rather than executed twice.
 * Exit codes: 0 ok, 1 the daemon replied with an error, 2 bad usage,
 * 3 no (valid) answer.
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
#include "ctl_val.h"

#define EXIT_REPLY_ERROR 1
#define EXIT_USAGE 2
#define EXIT_NO_ANSWER 3
#define MAX_REPLY (4u << 20)

struct opts {
	const char *server;
	bool tcp, wire_json, raw;
	int timeout_ms, retries;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mediusctl [OPTION]... COMMAND [ARG]\n"
		"Talk to mediusd over its ng control socket.\n"
		"\n"
		"Commands:\n"
		"  ping            ask the daemon for a pong\n"
		"  ng JSON         send JSON (a dictionary with a \"command\" key) as an\n"
		"                  ng request and print the reply as JSON\n"
		"\n"
		"Options:\n"
		"  -s, --server ADDR:PORT  daemon's ng address (default $MEDIUS_NG or\n"
		"                          127.0.0.1:2223)\n"
		"      --tcp               use the TCP ng socket instead of UDP\n"
		"      --wire json|bencode encoding on the wire (default bencode)\n"
		"      --raw               print the reply exactly as received\n"
		"  -T, --timeout MS        wait per attempt (default 1000)\n"
		"  -r, --retries N         UDP attempts (default 3, same cookie)\n"
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

/* Decode the reply body, print it, and map "result" to an exit code. */
static int show_reply(const struct opts *o, const struct ctl_buf *rep, size_t clen, bool ping)
{
	const char *body = rep->p + clen + 1;
	size_t blen = rep->len - clen - 1, used;
	struct ctl_buf out = { 0 };
	struct ctl_arena a;
	struct ctl_val *v;
	const struct ctl_val *result, *reason;
	int rc;

	if (o->raw) {
		fwrite(rep->p, 1, rep->len, stdout);
		putchar('\n');
	}
	if (ctl_arena_init(&a, blen * 32 + 4096))
		return EXIT_NO_ANSWER;
	rc = (body[0] == '{') ? ctl_json_decode(&a, body, blen, &v, &used, NULL)
			      : ctl_bencode_decode(&a, body, blen, &v, &used, NULL);
	if (rc || v->type != CTL_V_DICT) {
		fprintf(stderr, "mediusctl: the reply is not a valid ng dictionary\n");
		ctl_arena_fini(&a);
		return EXIT_NO_ANSWER;
	}
	result = ctl_dict_get(v, "result");
	reason = ctl_dict_get(v, "error-reason");
	if (ctl_val_str_eq(result, "error")) {
		fprintf(stderr, "mediusctl: error: %.*s\n",
			reason && reason->type == CTL_V_STR ? (int)reason->u.s.len : 7,
			reason && reason->type == CTL_V_STR ? reason->u.s.p : "unknown");
		rc = EXIT_REPLY_ERROR;
	} else if (ping) {
		rc = ctl_val_str_eq(result, "pong") ? 0 : EXIT_NO_ANSWER;
		if (!o->raw)
			puts(rc ? "unexpected reply (no pong)" : "pong");
	}
	if (!ping && !o->raw) {
		ctl_json_encode(v, &out, true);
		fwrite(out.p, 1, out.len, stdout);
		putchar('\n');
	}
	ctl_buf_free(&out);
	ctl_arena_fini(&a);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "server", required_argument, NULL, 's' }, { "tcp", no_argument, NULL, 't' },
		{ "wire", required_argument, NULL, 'w' },   { "raw", no_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' }, { "retries", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	struct opts o = { .timeout_ms = 1000, .retries = 3 };
	struct ctl_buf req = { 0 }, rep = { 0 };
	struct ctl_arena a;
	struct ctl_val *cmd;
	char cookie[48];
	size_t used;
	bool ping;
	int opt, rc;

	o.server = getenv("MEDIUS_NG") ? getenv("MEDIUS_NG") : "127.0.0.1:2223";
	while ((opt = getopt_long(argc, argv, "s:T:r:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.server = optarg; break;
		case 't': o.tcp = true; break;
		case 'R': o.raw = true; break;
		case 'w':
			if (strcmp(optarg, "json") && strcmp(optarg, "bencode")) {
				fprintf(stderr, "mediusctl: --wire takes json or bencode\n");
				return EXIT_USAGE;
			}
			o.wire_json = !strcmp(optarg, "json");
			break;
		case 'T': o.timeout_ms = atoi(optarg); break;
		case 'r': o.retries = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
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
	ping = !strcmp(argv[optind], "ping");
	if (!ping && (strcmp(argv[optind], "ng") || optind + 2 != argc)) {
		fprintf(stderr, "mediusctl: unknown command or missing argument (see --help)\n");
		return EXIT_USAGE;
	}
	if (ctl_arena_init(&a, 1u << 20))
		return EXIT_NO_ANSWER;
	if (ping) {
		cmd = ctl_val_dict(&a);
		ctl_dict_add_cstr(&a, cmd, "command", "ping");
	} else {
		const char *json = argv[optind + 1];
		size_t errpos = 0;

		rc = ctl_json_decode(&a, json, strlen(json), &cmd, &used, &errpos);
		if (rc || used != strlen(json) || cmd->type != CTL_V_DICT) {
			fprintf(stderr, "mediusctl: the argument is not a JSON dictionary (%s at byte %zu)\n",
				rc ? strerror(-rc) : "trailing data or not an object", rc ? errpos : used);
			ctl_arena_fini(&a);
			return EXIT_USAGE;
		}
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(cookie, sizeof(cookie), "%d_%08x", (int)getpid(), (unsigned)rand());
	ctl_buf_printf(&req, "%s ", cookie);
	rc = o.wire_json ? ctl_json_encode(cmd, &req, false) : ctl_bencode_encode(cmd, &req);
	ctl_arena_fini(&a);
	if (rc) {
		fprintf(stderr, "mediusctl: cannot encode the request: %s\n", strerror(-rc));
		return EXIT_USAGE;
	}
	rc = exchange(&o, &req, cookie, &rep);
	if (rc == 0)
		rc = show_reply(&o, &rep, strlen(cookie), ping);
	ctl_buf_free(&req);
	ctl_buf_free(&rep);
	return rc;
}
