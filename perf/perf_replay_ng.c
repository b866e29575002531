/* SPDX-License-Identifier: MIT
 * perf_replay_ng.c: medius-replay's ng client: one request at a time,
 * bencoded over UDP with a cookie, retransmitted on silence with the same
 * cookie (mediusd's cookie cache answers a retransmission once).
 *
 * The cookie is "r<64 random bits>_<sequence>". mediusd (like rtpengine)
 * caches replies by cookie alone, for cookie_cache_seconds (30 s): a
 * cookie another replay used within that time gets that replay's reply
 * back, not an execution. The random part is what keeps consecutive runs
 * apart (it was getpid() ^ time(), which two runs a second and a pid apart,
 * or in fresh PID namespaces, share: the second run then got the first
 * one's offer replies, ports of a deleted call, and nothing came back).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_bencode.h"
#include "ctl_json.h"
#include "perf_replay.h"

struct perf_ng {
	int fd;
	struct sockaddr_storage dst;
	socklen_t dlen;
	char name[80];
	struct ctl_arena a;
	struct ctl_buf b;
	uint64_t seq;
	uint64_t salt;
	char rbuf[65536];
};

int perf_ng_open(struct perf_ng **out, const char *hostport, char *err, size_t errlen)
{
	struct perf_ng *ng = calloc(1, sizeof(*ng));

	if (!ng || ctl_arena_init(&ng->a, 1 << 20)) {
		free(ng);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ctl_addr_parse(hostport, "127.0.0.1", &ng->dst, &ng->dlen)) {
		snprintf(err, errlen, "--ng %s: not HOST:PORT (numeric)", hostport);
		goto fail;
	}
	ng->fd = socket(ng->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ng->fd < 0 || connect(ng->fd, (struct sockaddr *)&ng->dst, ng->dlen)) {
		snprintf(err, errlen, "--ng %s: %s", hostport, strerror(errno));
		if (ng->fd >= 0)
			close(ng->fd);
		goto fail;
	}
	snprintf(ng->name, sizeof(ng->name), "%s", hostport);
	if (getrandom(&ng->salt, sizeof(ng->salt), 0) != (ssize_t)sizeof(ng->salt)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ng->salt = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) * 0x9e3779b97f4a7c15ull ^
			   (uint64_t)getpid() << 32;
	}
	ng->b.max = 1 << 20;
	*out = ng;
	return 0;
fail:
	ctl_arena_fini(&ng->a);
	free(ng);
	return -1;
}

void perf_ng_close(struct perf_ng *ng)
{
	if (!ng)
		return;
	close(ng->fd);
	ctl_arena_fini(&ng->a);
	ctl_buf_free(&ng->b);
	free(ng);
}

struct ctl_val *perf_ng_request(struct perf_ng *ng, const char *command)
{
	struct ctl_val *d;

	ctl_arena_reset(&ng->a);
	d = ctl_val_dict(&ng->a);
	if (d && ctl_dict_add_cstr(&ng->a, d, "command", command))
		return NULL;
	return d;
}

int perf_ng_add_str(struct perf_ng *ng, struct ctl_val *d, const char *key, const char *v, size_t n)
{
	struct ctl_val *s = ctl_val_str(&ng->a, v, n);

	return s ? ctl_dict_add(d, key, strlen(key), s) : -1;
}

int perf_ng_merge_json(struct perf_ng *ng, struct ctl_val *d, const char *json, char *err, size_t errlen)
{
	struct ctl_val *v, *m, *next;
	size_t used = 0, pos = 0;

	if (ctl_json_decode(&ng->a, json, strlen(json), &v, &used, &pos) || v->type != CTL_V_DICT) {
		snprintf(err, errlen, "not a JSON object (at byte %zu): %.60s", pos, json);
		return -1;
	}
	for (m = v->u.c.head; m; m = next) {
		next = m->next;
		if (ctl_dict_add(d, m->key, m->key_len, m)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

const char *perf_ng_str(struct perf_ng *ng, const struct ctl_val *d, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(d, key);
	char *s;

	if (!v || v->type != CTL_V_STR)
		return NULL;
	s = ctl_arena_alloc(&ng->a, v->u.s.len + 1);
	if (!s)
		return NULL;
	memcpy(s, v->u.s.p, v->u.s.len);
	s[v->u.s.len] = 0;
	return s;
}

int perf_ng_call(struct perf_ng *ng, struct ctl_val *req, const struct ctl_val **reply, char *err,
		 size_t errlen)
{
	char cookie[48];
	int cl = snprintf(cookie, sizeof(cookie), "r%016llx_%llu ", (unsigned long long)ng->salt,
			  (unsigned long long)++ng->seq);

	ctl_buf_clear(&ng->b);
	if (ctl_buf_put(&ng->b, cookie, (size_t)cl) || ctl_bencode_encode(req, &ng->b)) {
		snprintf(err, errlen, "ng: cannot encode the request");
		return -1;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		struct timespec t0, now;

		if (send(ng->fd, ng->b.p, ng->b.len, 0) < 0) {
			snprintf(err, errlen, "ng %s: send: %s", ng->name, strerror(errno));
			if (errno != ECONNREFUSED)
				return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct pollfd pfd = {ng->fd, POLLIN, 0};
			long waited;
			ssize_t n;
			struct ctl_val *v;
			size_t used;
			const struct ctl_val *res;

			clock_gettime(CLOCK_MONOTONIC, &now);
			waited = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (waited >= 1000 || poll(&pfd, 1, (int)(1000 - waited)) <= 0)
				break;
			n = recv(ng->fd, ng->rbuf, sizeof(ng->rbuf), 0);
			if (n < 0) {
				if (errno == ECONNREFUSED || errno == EAGAIN || errno == EINTR)
					continue;
				snprintf(err, errlen, "ng %s: recv: %s", ng->name, strerror(errno));
				return -1;
			}
			if ((size_t)n < (size_t)cl || memcmp(ng->rbuf, cookie, (size_t)cl))
				continue; /* a late reply to an earlier request */
			if (ctl_bencode_decode(&ng->a, ng->rbuf + cl, (size_t)n - (size_t)cl, &v, &used, NULL) ||
			    v->type != CTL_V_DICT) {
				snprintf(err, errlen, "ng %s: reply not a bencoded dictionary", ng->name);
				return -1;
			}
			*reply = v;
			res = ctl_dict_get(v, "result");
			if (ctl_val_str_eq(res, "ok") || ctl_val_str_eq(res, "pong"))
				return 0;
			{
				const char *why = perf_ng_str(ng, v, "error-reason");

				snprintf(err, errlen, "%s", why ? why : "result not ok");
			}
			return 1;
		}
	}
	snprintf(err, errlen, "ng %s: no reply (3 tries, 1 s apart): is mediusd listening there?", ng->name);
	return -1;
}
