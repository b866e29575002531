/* SPDX-License-Identifier: MIT
 * ctl_webhook: JSON POSTs on a thread of their own (see ctl_webhook.h). */
#include "ctl_webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_json.h"
#include "ctl_val.h"
#include "dp.h"

#ifndef MEDIUS_VERSION
#define MEDIUS_VERSION "unknown"
#endif

struct item {
	struct item *next;
	uint64_t id;
	size_t len;
	char body[];
};

struct ctl_webhook {
	struct ctl_webhook_conf c;
	char url[1024], name[32];
	char where[128];            /* for log lines: scheme://host:port, no path or user (secrets) */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct item *head, *tail;
	uint32_t n;
	bool stop, busy, detached;
	uint64_t drain_until_ms, next_id;
	struct ctl_webhook_stats st;
	struct dp_log_rl rl_full;   /* posters' log lines (under mu) */
	/* the thread's */
	CURL *curl;
	struct dp_log_rl rl_retry, rl_fail;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return size * n;
}

/* One attempt: 1 delivered, 0 retry, -1 refused (no retry). */
static int attempt(struct ctl_webhook *w, const struct item *it, unsigned n, long *status, char *why, size_t whylen)
{
	struct curl_slist *h = NULL;
	char line[64];
	CURLcode rc;

	*status = 0;
	why[0] = '\0';
	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Medius-Delivery: %llu", (unsigned long long)it->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Medius-Attempt: %u", n);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, (const char *)&it->body[0]);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	rc = curl_easy_perform(w->curl);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300)
		return 1;
	snprintf(why, whylen, "HTTP status %ld", *status);
	return *status == 408 || *status == 429 || *status >= 500 ? 0 : -1;
}

/* Wait ms unless stopping; true when stopping. mu held. */
static bool wait_ms(struct ctl_webhook *w, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	return w->stop;
}

static void *run(void *arg)
{
	struct ctl_webhook *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct item *it;
		uint64_t backoff = w->c.backoff_ms;
		int ok = 0;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break;
		if (w->stop && mono_ms() >= w->drain_until_ms)
			break;
		it = w->head; /* taken out: a full queue drops from what is still waiting */
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		w->n--;
		w->busy = true;
		for (unsigned n = 1;; n++) {
			long status;
			char why[128];

			pthread_mutex_unlock(&w->mu);
			ok = attempt(w, it, n, &status, why, sizeof(why));
			pthread_mutex_lock(&w->mu);
			w->st.attempts++;
			if (n > 1)
				w->st.retries++;
			w->st.last_status = status;
			if (ok <= 0)
				snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", why);
			if (ok)
				break;
			if (n >= w->c.attempts || w->stop)
				break;
			dp_log_rl(&w->rl_retry, DP_LOG_WARNING, "webhook", "%s: %s: %s; attempt %u of %u in %llu ms", w->name, w->where, why,
				  n + 1, w->c.attempts, (unsigned long long)backoff);
			if (wait_ms(w, backoff))
				break;
			backoff = backoff * 2 > w->c.backoff_max_ms ? w->c.backoff_max_ms : backoff * 2;
		}
		if (ok > 0) {
			w->st.delivered++;
		} else if (w->stop && ok == 0) {
			w->st.dropped++;
		} else {
			w->st.failed++;
			dp_log_rl(&w->rl_fail, DP_LOG_ERR, "webhook", "%s: %s: delivery %llu given up: %s", w->name, w->where,
				  (unsigned long long)it->id, w->st.last_error);
		}
		w->busy = false;
		free(it);
	}
	/* stopping: what is left is dropped */
	while (w->head) {
		struct item *it = w->head;

		w->head = it->next;
		w->st.dropped++;
		free(it);
	}
	w->tail = NULL;
	w->n = 0;
	if (w->detached) { /* retired: nobody joins, the thread frees */
		pthread_mutex_unlock(&w->mu);
		curl_easy_cleanup(w->curl);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct ctl_webhook *ctl_webhook_create(const struct ctl_webhook_conf *c, char *err, size_t errlen)
{
	struct ctl_webhook *w;
	pthread_condattr_t ca;

	if (!c->url || (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8)) ||
	    strlen(c->url) >= sizeof(w->url)) {
		snprintf(err, errlen, "webhook: '%s' is not an http:// or https:// URL", c->url ? c->url : "");
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "webhook: libcurl: %s", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "webhook: no memory");
		return NULL;
	}
	w->c = *c;
	snprintf(w->url, sizeof(w->url), "%s", c->url);
	snprintf(w->name, sizeof(w->name), "%s", c->name ? c->name : "webhook");
	w->c.url = w->url;
	{ /* the URL's scheme and host only: its path or user part may hold a token */
		const char *h = strstr(w->url, "://") + 3, *end = h + strcspn(h, "/?#"), *at;

		at = memchr(h, '@', (size_t)(end - h));
		if (at)
			h = at + 1;
		snprintf(w->where, sizeof(w->where), "%.*s%.*s", (int)(strstr(w->url, "://") + 3 - w->url), w->url,
			 (int)(end - h), h);
	}
	w->c.name = w->name;
	if (!w->c.attempts)
		w->c.attempts = 1;
	if (!w->c.queue_max)
		w->c.queue_max = 1;
	if (w->c.backoff_max_ms < w->c.backoff_ms)
		w->c.backoff_max_ms = w->c.backoff_ms;
	w->curl = curl_easy_init();
	if (!w->curl) {
		snprintf(err, errlen, "webhook: libcurl: cannot make a handle");
		free(w);
		return NULL;
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)w->c.timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)w->c.timeout_ms);
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "mediusd/" MEDIUS_VERSION);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_POST, 1L);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->th, NULL, run, w)) {
		snprintf(err, errlen, "webhook: cannot start its thread");
		curl_easy_cleanup(w->curl);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	{
		char tn[16];

		snprintf(tn, sizeof(tn), "hook-%.10s", w->name);
		pthread_setname_np(w->th, tn);
	}
	return w;
}

int ctl_webhook_post(struct ctl_webhook *w, const char *body, size_t len)
{
	struct item *it = malloc(sizeof(*it) + len + 1);

	pthread_mutex_lock(&w->mu);
	w->st.posted++;
	if (!it || w->stop) {
		w->st.dropped++;
		pthread_mutex_unlock(&w->mu);
		free(it);
		return -ENOMEM;
	}
	it->next = NULL;
	it->id = ++w->next_id;
	it->len = len;
	memcpy(it->body, body, len);
	it->body[len] = '\0';
	if (w->n >= w->c.queue_max) { /* full: the oldest waiting goes */
		struct item *old = w->head;

		w->head = old->next;
		if (!w->head)
			w->tail = NULL;
		w->n--;
		w->st.dropped++;
		free(old);
		dp_log_rl(&w->rl_full, DP_LOG_WARNING, "webhook", "%s: queue full (%u): the oldest body dropped", w->name,
			  w->c.queue_max);
	}
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->n++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void ctl_webhook_get_stats(struct ctl_webhook *w, struct ctl_webhook_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	out->queued = w->n + (w->busy ? 1 : 0);
	pthread_mutex_unlock(&w->mu);
}

void ctl_webhook_destroy(struct ctl_webhook *w, unsigned drain_ms)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	w->drain_until_ms = mono_ms() + drain_ms;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	curl_easy_cleanup(w->curl);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void ctl_webhook_retire(struct ctl_webhook *w, unsigned drain_ms)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	w->detached = true;
	w->drain_until_ms = mono_ms() + drain_ms;
	pthread_cond_broadcast(&w->cv);
	pthread_detach(w->th);
	pthread_mutex_unlock(&w->mu); /* w may be gone from here on */
}

void ctl_json_put_str(struct ctl_buf *b, const char *s)
{
	struct ctl_val v = { .type = CTL_V_STR };

	v.u.s.p = s ? s : "";
	v.u.s.len = strlen(v.u.s.p);
	ctl_json_encode(&v, b, false);
}

void ctl_json_put_time(struct ctl_buf *b, uint64_t wall_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	ctl_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		       tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
}
