/* SPDX-License-Identifier: MIT
 * ctl_tap: a thread that drains one media-engine tap into a file (see
 * ctl_tap.h). The file is non-blocking: a write that cannot go on waits in
 * poll() in steps of 50 ms, looking at the stop flag between them, so a
 * stuck reader never holds the control plane for long.
 */
#include "ctl_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATH_MAX_LEN 255
#define IDLE_NS 5000000L   /* the ring is looked at every 5 ms when empty */
#define STOP_GRACE_MS 100  /* after stop, how long a full file is waited for */

struct ctl_tap {
	struct mx_tap *t;
	pthread_t th;
	atomic_bool stop;
	_Atomic uint64_t frames, bytes;
	atomic_int error;
	char path[PATH_MAX_LEN + 1];
	uint8_t buf[2 + 4096 + 64];
};

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

/* Write all of p, waiting for room in 50 ms polls; after stop, only for
 * STOP_GRACE_MS more. Returns 0 or -errno. */
static int write_all(struct ctl_tap *c, int fd, const uint8_t *p, size_t n)
{
	int waited_after_stop = 0;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		if (atomic_load(&c->stop) && (waited_after_stop += 50) > STOP_GRACE_MS)
			return -EAGAIN;
		poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 50);
	}
	return 0;
}

static void *run(void *arg)
{
	struct ctl_tap *c = arg;
	struct mx_tap_frame f;
	int fd, rc = 0;

	for (;;) { /* a FIFO has no reader yet: ENXIO until it has */
		fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != ENXIO) {
			atomic_store(&c->error, -errno);
			return NULL;
		}
		if (atomic_load(&c->stop))
			return NULL;
		nap(10000000L);
	}
	for (;;) {
		uint8_t *data = c->buf + 2;

		if (!mx_tap_get(c->t, &f, data, sizeof(c->buf) - 2)) {
			if (atomic_load(&c->stop))
				break;
			nap(IDLE_NS);
			continue;
		}
		if (f.kind == MX_TAP_RTP_OUT) { /* a record: length, then the packet */
			c->buf[0] = (uint8_t)(f.len >> 8);
			c->buf[1] = (uint8_t)f.len;
			rc = write_all(c, fd, c->buf, f.len + 2u);
		} else {
			rc = write_all(c, fd, data, f.len);
		}
		if (rc) {
			atomic_store(&c->error, rc);
			break;
		}
		atomic_fetch_add_explicit(&c->frames, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->bytes, f.len, memory_order_relaxed);
	}
	close(fd);
	return NULL;
}

struct ctl_tap *ctl_tap_start(struct mx_tap *t, const char *path, int *err)
{
	struct ctl_tap *c;
	int e;

	if (!t || !path || !*path || strlen(path) > PATH_MAX_LEN) {
		*err = -EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	c->t = t;
	strcpy(c->path, path);
	e = pthread_create(&c->th, NULL, run, c);
	if (e) {
		free(c);
		*err = -e;
		return NULL;
	}
	return c;
}

void ctl_tap_get_stats(const struct ctl_tap *c, struct ctl_tap_stats *out)
{
	struct mx_tap_stats ts;

	mx_tap_get_stats(c->t, &ts);
	out->frames = atomic_load_explicit(&c->frames, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
	out->overruns = ts.overruns;
	out->error = atomic_load(&c->error);
}

void ctl_tap_stop(struct ctl_tap *c, struct ctl_tap_stats *out)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->th, NULL);
	if (out)
		ctl_tap_get_stats(c, out);
	free(c);
}

const char *ctl_tap_path(const struct ctl_tap *c) { return c->path; }
