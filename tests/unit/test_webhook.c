/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_webhook against a small HTTP server on
 * loopback (a thread here): retries with backoff, bounded attempts, no
 * retry on a refusal, a full queue dropping its oldest, and a post that
 * returns at once while the receiver hangs. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_val.h"
#include "ctl_webhook.h"

#define HANG (-1)
#define MAXREQ 32

static struct srv {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	int script[MAXREQ];      /* status per request in order; 0 past the end: 200 */
	unsigned n_script;
	char body[MAXREQ][128];
	unsigned attempt_hdr[MAXREQ];
	double at[MAXREQ];
	unsigned n;
	volatile int stop;
} S;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read one request from fd into buf; returns its length or -1. */
static int read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		char *end;
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (len && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);

			if (len >= want)
				return (int)want;
		}
		if (poll(&p, 1, 100) == 0) {
			if (S.stop)
				return -1;
			continue;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
	}
}

static void *serve(void *arg)
{
	(void)arg;
	while (!S.stop) {
		struct pollfd p = { S.lfd, POLLIN, 0 };
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(S.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		for (;;) {
			char buf[4096];
			int n = read_request(fd, buf, sizeof(buf)), status;
			const char *body, *att;
			unsigned i;
			char reply[128];

			if (n < 0)
				break;
			pthread_mutex_lock(&S.mu);
			i = S.n < MAXREQ ? S.n++ : MAXREQ - 1;
			body = strstr(buf, "\r\n\r\n") + 4;
			snprintf(S.body[i], sizeof(S.body[i]), "%.*s", (int)(buf + n - body), body);
			att = strcasestr(buf, "X-Medius-Attempt:");
			S.attempt_hdr[i] = att ? (unsigned)atoi(att + 17) : 0;
			S.at[i] = now_s();
			status = i < S.n_script ? S.script[i] : 200;
			pthread_mutex_unlock(&S.mu);
			if (status == HANG) { /* longer than the client's timeout, then close */
				for (int t = 0; t < 200 && !S.stop; t++)
					usleep(10000);
				break;
			}
			snprintf(reply, sizeof(reply), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status);
			if (write(fd, reply, strlen(reply)) < 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void start(const int *script, unsigned n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(&S, 0, sizeof(S));
	pthread_mutex_init(&S.mu, NULL);
	memcpy(S.script, script, n * sizeof(int));
	S.n_script = n;
	S.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(S.lfd, 0);
	cr_assert_eq(bind(S.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(S.lfd, 8), 0);
	getsockname(S.lfd, (struct sockaddr *)&a, &al);
	S.port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&S.th, NULL, serve, NULL), 0);
}

static void stop_srv(void)
{
	S.stop = 1;
	pthread_join(S.th, NULL);
	close(S.lfd);
}

static struct ctl_webhook *hook(uint32_t attempts, uint32_t backoff_ms, uint32_t timeout_ms, uint32_t queue)
{
	char url[64], err[256];
	struct ctl_webhook_conf c = { .name = "test", .url = url, .timeout_ms = timeout_ms, .attempts = attempts,
				      .backoff_ms = backoff_ms, .backoff_max_ms = 10000, .queue_max = queue };
	struct ctl_webhook *w;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/secret-token", S.port);
	w = ctl_webhook_create(&c, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	return w;
}

/* Wait until the webhook has nothing queued and made `attempts` attempts. */
static void settle(struct ctl_webhook *w, uint64_t attempts, struct ctl_webhook_stats *st)
{
	for (int i = 0; i < 500; i++) {
		ctl_webhook_get_stats(w, st);
		if (!st->queued && st->attempts >= attempts)
			return;
		usleep(10000);
	}
	cr_assert_fail("webhook did not settle: %llu attempts, %u queued", (unsigned long long)st->attempts,
		       st->queued);
}

Test(webhook, retries_5xx_with_doubling_backoff_then_delivers_once)
{
	static const int script[] = { 500, 503 };
	struct ctl_webhook_stats st;
	struct ctl_webhook *w;

	start(script, 2);
	w = hook(5, 100, 2000, 8);
	cr_assert_eq(ctl_webhook_post(w, "{\"a\":1}", 7), 0);
	settle(w, 3, &st);
	cr_assert_eq(st.delivered, 1);
	cr_assert_eq(st.attempts, 3);
	cr_assert_eq(st.retries, 2);
	cr_assert_eq(st.failed, 0);
	cr_assert_eq(st.last_status, 200);
	cr_assert_eq(S.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_str_eq(S.body[i], "{\"a\":1}");
		cr_assert_eq(S.attempt_hdr[i], i + 1);
	}
	/* 100 ms, then 200 ms (lower bounds: a loaded machine only adds) */
	cr_assert_geq(S.at[1] - S.at[0], 0.095);
	cr_assert_lt(S.at[1] - S.at[0], 1.0);
	cr_assert_geq(S.at[2] - S.at[1], 0.195);
	ctl_webhook_destroy(w, 0);
	stop_srv();
}

Test(webhook, attempts_are_bounded)
{
	static const int script[] = { 500, 500, 500, 500, 500 };
	struct ctl_webhook_stats st;
	struct ctl_webhook *w;

	start(script, 5);
	w = hook(3, 10, 2000, 8);
	ctl_webhook_post(w, "{}", 2);
	settle(w, 3, &st);
	usleep(100000);
	ctl_webhook_get_stats(w, &st);
	cr_assert_eq(st.attempts, 3);
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.delivered, 0);
	cr_assert_str_eq(st.last_error, "HTTP status 500");
	ctl_webhook_destroy(w, 0);
	stop_srv();
}

Test(webhook, a_4xx_refusal_is_not_retried)
{
	static const int script[] = { 400 };
	struct ctl_webhook_stats st;
	struct ctl_webhook *w;

	start(script, 1);
	w = hook(5, 10, 2000, 8);
	ctl_webhook_post(w, "{}", 2);
	ctl_webhook_post(w, "{\"next\":1}", 10);
	settle(w, 2, &st);
	cr_assert_eq(st.attempts, 2, "one attempt each");
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.delivered, 1, "the next body goes on");
	ctl_webhook_destroy(w, 0);
	stop_srv();
}

Test(webhook, a_hanging_receiver_never_blocks_post_and_a_full_queue_drops_the_oldest)
{
	static const int script[] = { HANG };
	struct ctl_webhook_stats st;
	struct ctl_webhook *w;
	double t0, worst = 0;
	char body[16];

	start(script, 1);
	w = hook(2, 10, 1500, 2);
	ctl_webhook_post(w, "{\"n\":0}", 7);
	usleep(200000); /* the first is in flight, waiting for the hung receiver */
	for (int i = 1; i <= 4; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		t0 = now_s();
		cr_assert_eq(ctl_webhook_post(w, body, strlen(body)), 0);
		if (now_s() - t0 > worst)
			worst = now_s() - t0;
	}
	/* far below the 1.5 s the receiver holds the request: no post waits on
	 * the network (50 ms leaves room for a busy machine's scheduling) */
	cr_assert_lt(worst, 0.05, "a post took %.3f s", worst);
	ctl_webhook_get_stats(w, &st);
	cr_assert_eq(st.dropped, 2, "queue of 2: bodies 1 and 2 pushed out");
	cr_assert_eq(st.queued, 3, "2 waiting and the one in flight");
	/* body 0 times out (1.5 s), is retried on a new connection (200): then 3 and 4 */
	settle(w, 4, &st);
	cr_assert_eq(st.delivered, 3);
	cr_assert_str_eq(S.body[1], "{\"n\":0}");
	cr_assert_str_eq(S.body[2], "{\"n\":3}", "the oldest were dropped, the newest kept");
	cr_assert_str_eq(S.body[3], "{\"n\":4}");
	cr_assert(strstr(st.last_error, "imeout") || strstr(st.last_error, "timed out"), "%s", st.last_error);
	ctl_webhook_destroy(w, 0);
	stop_srv();
}

Test(webhook, json_helpers)
{
	struct ctl_buf b = { 0 };

	ctl_json_put_str(&b, "a\"b\\c\n");
	ctl_buf_putc(&b, ' ');
	ctl_json_put_time(&b, 1765000000123ull);
	ctl_buf_putc(&b, '\0');
	cr_assert_str_eq(b.p, "\"a\\\"b\\\\c\\n\" \"2025-12-06T05:46:40.123Z\"");
	ctl_buf_free(&b);
}

Test(webhook, retire_returns_at_once_and_the_thread_finishes_alone)
{
	static const int script[] = { HANG };
	struct ctl_webhook *w;
	double t0;

	start(script, 1);
	w = hook(3, 10, 500, 8);
	ctl_webhook_post(w, "{\"n\":0}", 7);
	ctl_webhook_post(w, "{\"n\":1}", 7);
	usleep(100000); /* the first is in flight */
	t0 = now_s();
	ctl_webhook_retire(w, 2000);
	cr_assert_lt(now_s() - t0, 0.05, "retire waited %.3f s", now_s() - t0);
	/* the in-flight one times out (0.5 s, no retry while stopping); the
	 * waiting one gets its one attempt within the drain time */
	for (int i = 0; i < 300 && S.n < 2; i++)
		usleep(10000);
	cr_assert_eq(S.n, 2);
	cr_assert_str_eq(S.body[1], "{\"n\":1}");
	stop_srv();
}
