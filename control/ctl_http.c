/* SPDX-License-Identifier: MIT
 * ctl_http: the HTTP listener (see ctl_http.h). libmicrohttpd runs it on
 * its own thread(s) with epoll; the handlers only take a reference to a
 * published document and hand it to a response.
 */
#include "ctl_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "ctl_acl.h"
#include "ctl_addr.h"
#include "dp.h"

struct doc {
	atomic_uint refs;
	size_t len;
	char text[];
};

struct ctl_http {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;       /* guards docs[] (the pointers only) */
	struct doc *docs[CTL_HTTP__DOCS];
	atomic_uint_fast64_t requests, errors, connections, refused;
	atomic_uint open;
	struct ctl_acl acl;         /* immutable once started */
	char *cert, *key;           /* PEM text, kept while the daemon runs */
};

static void doc_put(void *p)
{
	struct doc *d = p;

	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		free(d);
}

static struct doc *doc_get(struct ctl_http *h, enum ctl_http_doc which)
{
	struct doc *d;

	pthread_mutex_lock(&h->lock);
	d = h->docs[which];
	if (d)
		atomic_fetch_add(&d->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return d;
}

int ctl_http_publish(struct ctl_http *h, enum ctl_http_doc which, const char *text, size_t len)
{
	struct doc *d, *old;

	if (!h || which >= CTL_HTTP__DOCS)
		return 0;
	d = malloc(sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	atomic_init(&d->refs, 1);
	d->len = len;
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	pthread_mutex_lock(&h->lock);
	old = h->docs[which];
	h->docs[which] = d;
	pthread_mutex_unlock(&h->lock);
	doc_put(old);
	return 0;
}

void ctl_http_get_stats(struct ctl_http *h, struct ctl_http_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	out->requests = atomic_load(&h->requests);
	out->errors = atomic_load(&h->errors);
	out->connections = atomic_load(&h->connections);
	out->open = atomic_load(&h->open);
	out->refused = atomic_load(&h->refused);
}

/* MHD's accept policy: called on the listener thread for each accepted
 * socket, before anything is read from it. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct ctl_http *h = cls;
	uint64_t n;
	char a[64];

	(void)salen;
	if (ctl_acl_allows(&h->acl, sa))
		return MHD_YES;
	n = atomic_fetch_add(&h->refused, 1) + 1;
	if ((n & (n - 1)) == 0) { /* the 1st, 2nd, 4th, 8th...: a flood does not flood the log */
		ctl_addr_str(sa, a, sizeof(a));
		dp_log(DP_LOG_WARNING, "http", "connection from %s refused: not in control.allow (%llu so far)", a,
		       (unsigned long long)n);
	}
	return MHD_NO;
}

/* The whole of a PEM file, NUL-terminated (what MHD takes), or NULL with
 * the reason in err. */
static char *read_pem(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf = NULL;
	size_t got;

	if (!f) {
		snprintf(err, errlen, "http.%s: cannot read '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1 << 20)) {
		snprintf(err, errlen, "http.%s: '%s' is not a regular file of 1 byte to 1 MiB", what, path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "http.%s: out of memory", what);
		goto out;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	buf[got] = '\0';
	if (got != (size_t)st.st_size || !strstr(buf, "-----BEGIN ")) {
		snprintf(err, errlen, "http.%s: '%s' is not a PEM file", what, path);
		explicit_bzero(buf, got);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

static void free_pem(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void http_free(struct ctl_http *h)
{
	free_pem(h->cert);
	free_pem(h->key);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static enum MHD_Result reply(struct ctl_http *h, struct MHD_Connection *c, unsigned status,
			     struct MHD_Response *r, const char *type)
{
	enum MHD_Result rc;

	if (!r)
		return MHD_NO; /* no memory: the connection is closed */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	atomic_fetch_add(&h->requests, 1);
	if (status >= 400)
		atomic_fetch_add(&h->errors, 1);
	return rc;
}

static enum MHD_Result text_reply(struct ctl_http *h, struct MHD_Connection *c, unsigned status, const char *msg)
{
	return reply(h, c, status,
		     MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT),
		     "text/plain; charset=utf-8");
}

static enum MHD_Result doc_reply(struct ctl_http *h, struct MHD_Connection *c, enum ctl_http_doc which,
				 const char *type)
{
	struct doc *d = doc_get(h, which);
	struct MHD_Response *r;

	if (!d)
		return text_reply(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "not collected yet, try again in a second\n");
	r = MHD_create_response_from_buffer_with_free_callback_cls(d->len, d->text, doc_put, d);
	if (!r)
		doc_put(d);
	return reply(h, c, MHD_HTTP_OK, r, type);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct ctl_http *h = cls;

	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text_reply(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (*upload_size) /* a GET with a body: refused, never read */
		return text_reply(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "no request body expected\n");
	if (!*state) { /* first call: headers only; answer on the next */
		*state = h;
		return MHD_YES;
	}
	if (!strcmp(version, MHD_HTTP_VERSION_1_1) && !MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"))
		return text_reply(h, c, MHD_HTTP_BAD_REQUEST, "HTTP/1.1 needs a Host header\n"); /* RFC 9112 3.2 */
	if (!strcmp(url, "/metrics"))
		return doc_reply(h, c, CTL_HTTP_METRICS, "text/plain; version=0.0.4; charset=utf-8");
	if (!strcmp(url, "/status.json"))
		return doc_reply(h, c, CTL_HTTP_STATUS, "application/json");
	if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
		return reply(h, c, MHD_HTTP_OK,
			     MHD_create_response_from_buffer(ctl_status_html_len, (void *)ctl_status_html,
							     MHD_RESPMEM_PERSISTENT),
			     "text/html; charset=utf-8");
	if (!strcmp(url, "/healthz"))
		return text_reply(h, c, MHD_HTTP_OK, "ok\n");
	return text_reply(h, c, MHD_HTTP_NOT_FOUND, "not found: try /, /metrics or /status.json\n");
}

static void notify(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode code)
{
	struct ctl_http *h = cls;

	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&h->connections, 1);
		atomic_fetch_add(&h->open, 1);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&h->open, 1);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	dp_log(DP_LOG_INFO, "http", "%s", msg);
}

struct ctl_http *ctl_http_start(const struct ctl_http_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct ctl_http *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (ctl_addr_parse(conf->listen, "127.0.0.1", &ss, &sl)) {
		snprintf(err, errlen, "http.listen: '%s' is not ADDR:PORT", conf->listen);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->acl = conf->acl;
	if (conf->tls_cert[0] || conf->tls_key[0]) {
		if (!conf->tls_cert[0] || !conf->tls_key[0]) {
			snprintf(err, errlen, "http: TLS needs both tls_cert and tls_key");
			http_free(h);
			return NULL;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "http: TLS asked for (tls_cert), but libmicrohttpd %s is built without it",
				 MHD_get_version());
			http_free(h);
			return NULL;
		}
		h->cert = read_pem("tls_cert", conf->tls_cert, err, errlen);
		h->key = h->cert ? read_pem("tls_key", conf->tls_key, err, errlen) : NULL;
		if (!h->key) {
			http_free(h);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	{
		struct MHD_OptionItem ops[16];
		unsigned n = 0;

		/* the logger first: MHD says so */
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, h };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, conf->max_connections, NULL };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->max_per_ip, NULL };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, conf->timeout_s, NULL };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, conf->max_request, NULL };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 128, NULL };
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify, h };
		if (conf->threads > 1)
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, conf->threads, NULL };
		if (h->cert) {
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert };
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key };
		}
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
		h->d = MHD_start_daemon(flags, 0, accept_policy, h, handle, h, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	}
	if (!h->d) {
		if (h->cert)
			snprintf(err, errlen,
				 "http.listen %s: cannot start (address in use, not local, or tls_cert/tls_key not a matching certificate and key)",
				 conf->listen);
		else
			snprintf(err, errlen, "http.listen %s: cannot listen (address in use, or not local?)", conf->listen);
		http_free(h);
		return NULL;
	}
	dp_log(DP_LOG_NOTICE, "http", "%s listening on %s (/, /metrics, /status.json)%s", h->cert ? "HTTPS" : "HTTP",
	       conf->listen, h->acl.n ? ", control.allow applies" : "");
	return h;
}

void ctl_http_stop(struct ctl_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	for (int i = 0; i < CTL_HTTP__DOCS; i++)
		doc_put(h->docs[i]);
	http_free(h);
}
