/* Unit tests: the pieces of the HTTP listener that need no daemon:
 * the site of a party (control/ctl_site.c: the ng metadata's "site"
 * entry, else the interface), JSON and Prometheus label escaping
 * (ctl_metrics.c), per-command ng counters (ctl_ng.c), and the listener
 * itself (ctl_http.c) serving published documents over a real loopback
 * socket, with its refusals, the allow-list and TLS start-up errors. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_call_int.h"
#include "ctl_http.h"
#include "ctl_metrics.h"
#include "ctl_ng.h"
#include "ctl_val.h"

/* ---- sites from the metadata ---- */

static struct call g_call;
static struct branch g_branch;
static int g_side;

static int cmd_sig(struct ctl_ng_req *r, void *ctx)
{
	(void)ctx;
	ctl_site_signalling(r, &g_call, &g_branch, g_side);
	return 0;
}

static int cmd_fail(struct ctl_ng_req *r, void *ctx)
{
	(void)ctx;
	return ctl_ng_error(r, "no");
}

static const struct ctl_ng_cmd cmds[] = { { "offer", cmd_sig }, { "answer", cmd_sig }, { "query", cmd_fail } };
static const struct ctl_ng_conf conf = {
	.cache_size = 64, .cache_ms = 1, .arena_bytes = 1 << 16, .cmds = cmds, .n_cmds = 3,
};

static void run(struct ctl_ng *ng, const char *cookie, const char *cmd, const char *meta)
{
	char req[512];
	const char *rep;
	size_t rlen;
	int n = meta ? snprintf(req, sizeof(req), "%s d7:command%zu:%s8:metadata%zu:%se", cookie, strlen(cmd), cmd,
				strlen(meta), meta)
		     : snprintf(req, sizeof(req), "%s d7:command%zu:%se", cookie, strlen(cmd), cmd);

	cr_assert_eq(ctl_ng_handle(ng, req, (size_t)n, 1000, &rep, &rlen), 0);
}

Test(metrics, site_from_metadata_else_interface)
{
	struct ctl_ng *ng = ctl_ng_create(&conf);

	cr_assert_not_null(ng);
	memset(&g_call, 0, sizeof(g_call));
	memset(&g_branch, 0, sizeof(g_branch));
	snprintf(g_branch.iface[0], sizeof(g_branch.iface[0]), "inside");
	snprintf(g_branch.iface[1], sizeof(g_branch.iface[1]), "outside");
	/* no metadata: each party is at its interface */
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 0), "inside");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 1), "outside");
	/* metadata without a site changes nothing */
	g_side = 0;
	run(ng, "c1", "offer", "case:42|ward:3");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 0), "inside");
	/* the offer's site: the offerer's, and the answerer's too until its own */
	run(ng, "c2", "offer", "case:42| site:clinic-north|x:y");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 0), "clinic-north");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 1), "clinic-north");
	g_side = 1;
	run(ng, "c3", "answer", "site:lab_2");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 0), "clinic-north");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 1), "lab_2");
	/* a site that is not 1-31 characters of [A-Za-z0-9._-] is refused (a
	 * warning in the reply), the old one stays; "sites:" is another key */
	g_side = 0;
	run(ng, "c4", "offer", "sites:nope|site:a\\\"b<c> d.e-f");
	cr_assert_str_eq(g_call.site, "clinic-north");
	run(ng, "c5", "offer", "site:0123456789012345678901234567890123456789");
	cr_assert_str_eq(g_call.site, "clinic-north");
	run(ng, "c6", "offer", "site:0123456789012345678901234567890");
	cr_assert_str_eq(g_call.site, "0123456789012345678901234567890", "31 characters is a site");
	/* no branch interface: the first interface ("default" without EAL) */
	memset(&g_call, 0, sizeof(g_call));
	memset(&g_branch, 0, sizeof(g_branch));
	cr_assert_str_eq(ctl_site_of_leg(&g_call, &g_branch, 1), "default");
	cr_assert_str_eq(ctl_site_of_leg(&g_call, NULL, 0), "default");
	ctl_ng_destroy(ng);
}

Test(metrics, per_command_counters)
{
	struct ctl_ng *ng = ctl_ng_create(&conf);
	uint64_t rq, er;
	const char *rep;
	size_t rlen;

	cr_assert_not_null(ng);
	cr_assert_eq(ctl_ng_cmd_count(ng), 5); /* ping, offer, answer, query, "" */
	run(ng, "a1", "offer", NULL);
	run(ng, "a2", "offer", NULL);
	run(ng, "a2", "offer", NULL); /* a retransmission: answered from the cache, not counted */
	run(ng, "a3", "query", NULL);
	run(ng, "a4", "nosuch", NULL);
	cr_assert_eq(ctl_ng_handle(ng, "a5 d3:fooi1ee", 13, 1000, &rep, &rlen), 0); /* no command */
	cr_assert_eq(ctl_ng_handle(ng, "a6 garbage", 10, 1000, &rep, &rlen), 0);
	cr_assert_str_eq(ctl_ng_cmd_stats(ng, 0, &rq, &er), "ping");
	cr_assert(rq == 0 && er == 0);
	cr_assert_str_eq(ctl_ng_cmd_stats(ng, 1, &rq, &er), "offer");
	cr_assert(rq == 2 && er == 0, "offer: %llu requests, %llu errors", (unsigned long long)rq, (unsigned long long)er);
	cr_assert_str_eq(ctl_ng_cmd_stats(ng, 3, &rq, &er), "query");
	cr_assert(rq == 1 && er == 1);
	cr_assert_str_eq(ctl_ng_cmd_stats(ng, 4, &rq, &er), "");
	cr_assert(rq == 3 && er == 3, "none known: %llu requests, %llu errors", (unsigned long long)rq,
		  (unsigned long long)er);
	ctl_ng_destroy(ng);
}

/* ---- escaping ---- */

Test(metrics, escaping)
{
	struct ctl_buf b = { 0 };

	ctl_metrics_json_str(&b, "a\"b\\c</script>\x01\x7f");
	ctl_buf_putc(&b, '\0');
	cr_assert_str_eq(b.p, "\"a\\\"b\\\\c\\u003c/script>\\u0001\\u007f\"");
	ctl_buf_clear(&b);
	ctl_metrics_label_str(&b, "x\"y\\z\nw");
	ctl_buf_putc(&b, '\0');
	cr_assert_str_eq(b.p, "x\\\"y\\\\z\\nw");
	ctl_buf_free(&b);
}

/* ---- the listener ---- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* Send req on a new connection; the whole answer (NUL-terminated, static). */
static const char *http(int port, const char *req)
{
	static char buf[1 << 16];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	cr_assert_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(s, req, strlen(req)), (ssize_t)strlen(req));
	while (got + 1 < sizeof(buf) && (n = read(s, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(s);
	return buf;
}

Test(metrics, listener_serves_what_was_published)
{
	struct ctl_http_conf c = { .max_connections = 8, .max_per_ip = 4, .timeout_s = 2, .max_request = 4096, .threads = 1 };
	struct ctl_http_stats st;
	struct ctl_http *h;
	char err[256];
	const char *r;
	int port = free_port();

	snprintf(c.listen, sizeof(c.listen), "127.0.0.1:%d", port);
	h = ctl_http_start(&c, err, sizeof(err));
	cr_assert_not_null(h, "%s", err);
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 503 "), "nothing published yet: 503 (%s)", r);
	cr_assert_eq(ctl_http_publish(h, CTL_HTTP_METRICS, "medius_x 1\n", 11), 0);
	cr_assert_eq(ctl_http_publish(h, CTL_HTTP_METRICS, "medius_x 2\n", 11), 0); /* the newest wins */
	r = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	cr_assert(strstr(r, "HTTP/1.1 200") && strstr(r, "text/plain; version=0.0.4") && strstr(r, "\r\n\r\nmedius_x 2\n"),
		  "%s", r);
	cr_assert_eq(ctl_http_publish(h, CTL_HTTP_STATUS, "{\"a\":1}", 7), 0);
	r = http(port, "GET /status.json HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 200 ") && strstr(r, "application/json") && strstr(r, "{\"a\":1}"), "%s", r);
	r = http(port, "GET / HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 200 ") && strstr(r, "text/html") && strstr(r, "status.json") && strstr(r, "</html>"), "%s", r);
	cr_assert_eq(strlen(ctl_status_html), ctl_status_html_len);
	r = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 200 ") && !strstr(r, "medius_x"), "%s", r);
	r = http(port, "GET /nothing HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 404 "), "%s", r);
	r = http(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 405 "), "%s", r);
	r = http(port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
	cr_assert(strstr(r, " 400 "), "HTTP/1.1 without Host: %s", r);
	ctl_http_get_stats(h, &st);
	cr_assert_eq(st.requests, 8, "requests %llu errors %llu connections %llu", (unsigned long long)st.requests, (unsigned long long)st.errors, (unsigned long long)st.connections);
	cr_assert_eq(st.errors, 4);
	cr_assert_eq(st.connections, 8);
	ctl_http_stop(h);
	/* a port in use: NULL and a reason */
	{
		struct ctl_http *h1, *h2;

		h1 = ctl_http_start(&c, err, sizeof(err));
		cr_assert_not_null(h1);
		h2 = ctl_http_start(&c, err, sizeof(err));
		cr_assert_null(h2);
		cr_assert(strstr(err, "cannot listen"), "%s", err);
		ctl_http_stop(h1);
	}
	snprintf(c.listen, sizeof(c.listen), "not-an-address");
	cr_assert_null(ctl_http_start(&c, err, sizeof(err)));
}

/* [control] allow applies to the listener: a source outside the list is
 * closed at accept, before a byte is read, and counted. */
Test(metrics, listener_takes_the_allow_list)
{
	struct ctl_http_conf c = { .max_connections = 8, .max_per_ip = 4, .timeout_s = 2, .max_request = 4096, .threads = 1 };
	struct ctl_http_stats st;
	struct ctl_http *h;
	char err[256];
	const char *r;
	int port = free_port();

	snprintf(c.listen, sizeof(c.listen), "127.0.0.1:%d", port);
	cr_assert_eq(ctl_acl_parse(&c.acl, "10.0.0.0/8", err, sizeof(err)), 0, "%s", err);
	h = ctl_http_start(&c, err, sizeof(err));
	cr_assert_not_null(h, "%s", err);
	r = http(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_assert_str_empty(r, "a loopback client outside 10.0.0.0/8 got an answer: %s", r);
	ctl_http_get_stats(h, &st);
	cr_assert_eq(st.refused, 1);
	cr_assert_eq(st.requests, 0);
	cr_assert_eq(st.connections, 0, "a refused connection never starts");
	ctl_http_stop(h);

	port = free_port();
	snprintf(c.listen, sizeof(c.listen), "127.0.0.1:%d", port);
	cr_assert_eq(ctl_acl_parse(&c.acl, "10.0.0.0/8, 127.0.0.1", err, sizeof(err)), 0, "%s", err);
	h = ctl_http_start(&c, err, sizeof(err));
	cr_assert_not_null(h, "%s", err);
	r = http(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 200 ") && strstr(r, "\r\n\r\nok\n"), "%s", r);
	ctl_http_get_stats(h, &st);
	cr_assert_eq(st.refused, 0);
	cr_assert_eq(st.requests, 1);
	ctl_http_stop(h);
}

/* TLS: both files or neither; a file that is missing, or is not PEM, stops
 * the start with the reason. (Serving HTTPS: tests/integration/test_http_tls.py.) */
Test(metrics, listener_tls_start_errors)
{
	struct ctl_http_conf c = { .max_connections = 8, .max_per_ip = 4, .timeout_s = 2, .max_request = 4096, .threads = 1 };
	char err[256], path[] = "/tmp/medius-tls-XXXXXX";
	int fd;

	snprintf(c.listen, sizeof(c.listen), "127.0.0.1:%d", free_port());
	snprintf(c.tls_cert, sizeof(c.tls_cert), "/nonexistent/cert.pem");
	cr_assert_null(ctl_http_start(&c, err, sizeof(err)));
	cr_assert(strstr(err, "tls_key"), "only one of the two: %s", err);
	snprintf(c.tls_key, sizeof(c.tls_key), "/nonexistent/key.pem");
	cr_assert_null(ctl_http_start(&c, err, sizeof(err)));
	cr_assert(strstr(err, "tls_cert") && strstr(err, "/nonexistent/cert.pem") && strstr(err, "No such file"), "%s",
		  err);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	snprintf(c.tls_cert, sizeof(c.tls_cert), "%s", path);
	cr_assert_null(ctl_http_start(&c, err, sizeof(err)));
	cr_assert(strstr(err, "not a PEM file"), "%s", err);
	unlink(path);
}
