/* SPDX-License-Identifier: MIT
 * ctl_http: mediusd's read-only HTTP listener ([http] listen), on
 * libmicrohttpd's own thread(s), never on a worker lcore. It serves what
 * the control lcore published last, and nothing else:
 *   GET /metrics       Prometheus text exposition (ctl_metrics)
 *   GET /status.json   the status page's data (ctl_metrics)
 *   GET /              the status page (HTML + JS, embedded at build time)
 *   GET /healthz       "ok"
 * The control lcore renders the documents about once a second
 * (ctl_metrics_collect, from the 1 Hz tick) and hands them over with
 * ctl_http_publish: an HTTP thread never reads the call model or the
 * dataplane, and the control lcore never waits on a client. A document is
 * an immutable, reference-counted buffer: publishing swaps a pointer under
 * a mutex held for that swap only; a response holds its own reference.
 *
 * Limits (docs/config.md [http]): connections in all, per IP address, an
 * idle timeout for each connection (a slowloris client is cut off when it
 * stalls, and holds at most max_per_ip slots while it trickles), the bytes
 * a request's header may take (larger: 431), GET and HEAD only (405), no
 * request body (413).
 *
 * Sources: the [control] allow list (ctl_acl) applies here too. A
 * connection from elsewhere is closed at accept (libmicrohttpd's accept
 * policy callback), before a byte is read, and counted (refused).
 *
 * TLS: with tls_cert and tls_key set, the listener speaks HTTPS only
 * (libmicrohttpd with GnuTLS); both files are read at start, and a missing
 * or unreadable file, or a libmicrohttpd built without TLS, stops start-up
 * with the reason.
 */
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_acl.h"

struct ctl_http_conf {
	char listen[80];          /* "addr:port"; "" (the default): no listener */
	uint32_t max_connections; /* open connections in all */
	uint32_t max_per_ip;      /* from one client address */
	uint32_t timeout_s;       /* a connection idle this long is closed */
	uint32_t max_request;     /* bytes a request (line and headers) may take */
	uint32_t threads;         /* listener threads (libmicrohttpd's pool) */
	char tls_cert[256];       /* PEM certificate (chain) file; "" with tls_key "": plain HTTP */
	char tls_key[256];        /* PEM private key file */
	struct ctl_acl acl;       /* sources served ([control] allow; empty: any) */
};

enum ctl_http_doc { CTL_HTTP_METRICS, CTL_HTTP_STATUS, CTL_HTTP__DOCS };

struct ctl_http;

/* Bind and start the listener thread(s). NULL with the reason in err.
 * Start it after EAL: its threads take the control lcore's CPU affinity. */
struct ctl_http *ctl_http_start(const struct ctl_http_conf *conf, char *err, size_t errlen);
/* Stop the threads (open connections are closed) and free; accepts NULL. */
void ctl_http_stop(struct ctl_http *h);
/* Replace document `doc` with a copy of text[0..len). Control lcore; never
 * waits for a client (the mutex guards a pointer swap). Returns 0 or
 * -ENOMEM (the old document stays). */
int ctl_http_publish(struct ctl_http *h, enum ctl_http_doc doc, const char *text, size_t len);

struct ctl_http_stats {
	uint64_t requests;        /* answered, any status */
	uint64_t errors;          /* answered with 4xx/5xx */
	uint64_t connections;     /* accepted */
	uint32_t open;            /* open now */
	uint64_t refused;         /* connections closed at accept: source not allowed */
};
void ctl_http_get_stats(struct ctl_http *h, struct ctl_http_stats *out);

/* The status page (control/ctl_status.html, embedded by the build). */
extern const char ctl_status_html[];
extern const size_t ctl_status_html_len;

#endif
