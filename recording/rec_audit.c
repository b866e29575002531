/* SPDX-License-Identifier: MIT
 * rec_audit: the hash-chained audit log (rec_audit.h).
 *
 * Callers queue entries (rec_audit_append: a malloc under a mutex, no
 * I/O); one writer thread takes everything queued at once and, under
 * flock(LOCK_EX) on the file: reads the file's last line for its seq and
 * hash, writes each new line with one write(2) (O_APPEND), then one
 * fdatasync for the batch. The order of the queue is the order of the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rec_audit.h"
#include "rec_seal.h"

#define PATH_MAX_A 1024
#define TAIL 65536
#define LINE_MAX_A 16384

struct item {
	struct item *next;
	uint64_t ms;
	char event[24], id[64], path[PATH_MAX_A], detail[512];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static struct item *head, **tailp = &head;
static uint64_t queued, written; /* entries queued / handled, ever */
static bool running, quit;
static int fd = -1, werr;
static char log_path[PATH_MAX_A];
static pthread_t th;
static void (*log_fn)(const char *);

/* ---- text ---- */

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static void sha256_hex(const char *p, size_t n, char out[REC_AUDIT_HASH_HEX + 1])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	hex(md, 32, out);
}

/* Append s as a JSON string body (escaped) to b at *k (cap). */
static void esc(char *b, size_t *k, size_t cap, const char *s)
{
	for (; s && *s && *k + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			b[(*k)++] = '\\';
			b[(*k)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*k += (size_t)snprintf(b + *k, cap - *k, "\\u%04x", c);
		} else {
			b[(*k)++] = (char)c;
		}
	}
	b[*k] = 0;
}

static void iso(uint64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03uZ", b, (unsigned)(ms % 1000u));
}

static bool is_hex64(const char *p)
{
	for (int i = 0; i < REC_AUDIT_HASH_HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

struct parsed {
	uint64_t seq;
	char prev[REC_AUDIT_HASH_HEX + 1], hash[REC_AUDIT_HASH_HEX + 1];
	size_t hashed; /* bytes the hash covers */
};

/* Parse one line (n bytes, no newline). 0 or -EINVAL. */
static int parse_line(const char *l, size_t n, struct parsed *p)
{
	static const char hk[] = ",\"hash\":\"", pk[] = ",\"prev\":\"";
	const char *h = NULL, *pv = NULL;
	char *end;

	if (n < 12 || memcmp(l, "{\"seq\":", 7) || l[7] < '1' || l[7] > '9')
		return -EINVAL;
	p->seq = strtoull(l + 7, &end, 10);
	if (end >= l + n || *end != ',')
		return -EINVAL;
	/* the last ,"hash":" and the ,"prev":" just before it */
	for (const char *s = l; (s = memmem(s, (size_t)(l + n - s), hk, sizeof(hk) - 1)); s++)
		h = s;
	if (!h || h + sizeof(hk) - 1 + REC_AUDIT_HASH_HEX + 2 != l + n || memcmp(l + n - 2, "\"}", 2))
		return -EINVAL;
	if (h - l < (long)(sizeof(pk) - 1 + REC_AUDIT_HASH_HEX + 1))
		return -EINVAL;
	pv = h - REC_AUDIT_HASH_HEX - 1 - (sizeof(pk) - 1);
	if (memcmp(pv, pk, sizeof(pk) - 1) || h[-1] != '"')
		return -EINVAL;
	pv += sizeof(pk) - 1;
	h += sizeof(hk) - 1;
	if (!is_hex64(pv) || !is_hex64(h))
		return -EINVAL;
	memcpy(p->prev, pv, REC_AUDIT_HASH_HEX);
	p->prev[REC_AUDIT_HASH_HEX] = 0;
	memcpy(p->hash, h, REC_AUDIT_HASH_HEX);
	p->hash[REC_AUDIT_HASH_HEX] = 0;
	p->hashed = (size_t)(h - (sizeof(hk) - 1) - l);
	return 0;
}

/* ---- writing (the writer thread) ---- */

/* The file's last entry: seq and hash (0 and zeros for an empty file).
 * *torn: the file does not end in a newline. */
static int last_entry(int f, uint64_t *seq, char hash[REC_AUDIT_HASH_HEX + 1], bool *torn)
{
	struct stat st;
	char *buf;
	off_t at;
	ssize_t n;
	size_t len;

	*seq = 0;
	memset(hash, '0', REC_AUDIT_HASH_HEX);
	hash[REC_AUDIT_HASH_HEX] = 0;
	*torn = false;
	if (fstat(f, &st))
		return -errno;
	if (!st.st_size)
		return 0;
	at = st.st_size > TAIL ? st.st_size - TAIL : 0;
	buf = malloc(TAIL + 1);
	if (!buf)
		return -ENOMEM;
	n = pread(f, buf, (size_t)(st.st_size - at), at);
	if (n <= 0) {
		free(buf);
		return n < 0 ? -errno : -EIO;
	}
	len = (size_t)n;
	*torn = buf[len - 1] != '\n';
	/* the last complete line that parses */
	while (len && buf[len - 1] != '\n')
		len--; /* a torn tail */
	while (len) {
		size_t e = len - 1, s = e; /* e: at the newline */
		struct parsed p;

		while (s && buf[s - 1] != '\n')
			s--;
		if (!s && at > 0)
			break; /* a line cut by the window */
		if (!parse_line(buf + s, e - s, &p)) {
			*seq = p.seq;
			memcpy(hash, p.hash, REC_AUDIT_HASH_HEX + 1);
			break;
		}
		len = s; /* an unparseable line: the chain resumes after the last good one */
	}
	free(buf);
	return 0;
}

/* One entry's line (with its newline) into line (LINE_MAX_A): its length.
 * prev becomes its hash. */
static size_t compose(const struct item *it, uint64_t seq, char prev[REC_AUDIT_HASH_HEX + 1], char *line)
{
	char t[40];
	size_t k = 0;

	iso(it->ms, t, sizeof(t));
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, "{\"seq\":%llu,\"time\":\"%s\",\"event\":\"",
			      (unsigned long long)seq, t);
	esc(line, &k, LINE_MAX_A - 400, it->event);
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, "\",\"id\":\"");
	esc(line, &k, LINE_MAX_A - 400, it->id);
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, "\",\"path\":\"");
	esc(line, &k, LINE_MAX_A - 400, it->path);
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, "\",\"detail\":\"");
	esc(line, &k, LINE_MAX_A - 400, it->detail);
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, "\",\"prev\":\"%s\"", prev);
	sha256_hex(line, k, prev);
	k += (size_t)snprintf(line + k, LINE_MAX_A - k, ",\"hash\":\"%s\"}\n", prev);
	return k;
}

static int write_all(const char *p, size_t n) { return rec_write_all(fd, p, n); }

/* Append the entries of list (in order) under one lock, then one
 * fdatasync: a burst costs one sync. Returns 0 or the first error. */
static int write_batch(const struct item *list)
{
	char prev[REC_AUDIT_HASH_HEX + 1];
	char *line = malloc(LINE_MAX_A);
	uint64_t seq;
	bool torn;
	int e;

	if (!line)
		return -ENOMEM;
	if (flock(fd, LOCK_EX)) {
		free(line);
		return -errno;
	}
	e = last_entry(fd, &seq, prev, &torn);
	if (!e && torn)
		e = write_all("\n", 1); /* a torn line (power loss) stays; verify names it */
	for (const struct item *it = list; it && !e; it = it->next) {
		size_t n = compose(it, ++seq, prev, line);

		e = write_all(line, n);
	}
	if (fdatasync(fd) && !e)
		e = -errno;
	flock(fd, LOCK_UN);
	free(line);
	return e;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		struct item *batch;
		uint64_t n = 0;
		int e;

		while (!head && !quit)
			pthread_cond_wait(&cv, &mu);
		if (!head)
			break;
		batch = head; /* everything queued so far */
		head = NULL;
		tailp = &head;
		pthread_mutex_unlock(&mu);
		e = write_batch(batch);
		if (e && log_fn) {
			char m[PATH_MAX_A + 512];

			snprintf(m, sizeof(m), "audit log %s: cannot write the %s entry of %s (and what followed it): %s",
				 log_path, batch->event, batch->id, strerror(-e));
			log_fn(m);
		}
		while (batch) {
			struct item *it = batch;

			batch = it->next;
			free(it);
			n++;
		}
		pthread_mutex_lock(&mu);
		if (e && !werr)
			werr = e;
		written += n;
		pthread_cond_broadcast(&done_cv);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int rec_audit_open(const char *path, void (*log)(const char *msg))
{
	int f, e;

	rec_audit_close();
	f = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (f >= 0) { /* made now: its directory entry made durable too */
		char dir[PATH_MAX_A];
		const char *slash = strrchr(path, '/');
		int d;

		snprintf(dir, sizeof(dir), "%.*s", slash && slash != path ? (int)(slash - path) : 1,
			 slash ? path : ".");
		if ((d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(d);
			close(d);
		}
	} else if (errno == EEXIST) {
		f = open(path, O_RDWR | O_APPEND | O_CLOEXEC); /* O_APPEND writes, pread reads */
	}
	if (f < 0)
		return -errno;
	pthread_mutex_lock(&mu);
	fd = f;
	quit = false;
	werr = 0;
	log_fn = log;
	snprintf(log_path, sizeof(log_path), "%s", path);
	pthread_mutex_unlock(&mu);
	if ((e = pthread_create(&th, NULL, writer, NULL))) {
		close(f);
		fd = -1;
		return -e;
	}
	pthread_setname_np(th, "medius-audit");
	pthread_mutex_lock(&mu);
	running = true;
	pthread_mutex_unlock(&mu);
	return 0;
}

void rec_audit_close(void)
{
	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		return;
	}
	pthread_mutex_unlock(&mu);
	rec_audit_sync(5000);
	pthread_mutex_lock(&mu);
	quit = true;
	running = false;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	pthread_mutex_lock(&mu);
	while (head) { /* not written in time */
		struct item *it = head;

		head = it->next;
		free(it);
		written++;
	}
	tailp = &head;
	close(fd);
	fd = -1;
	log_path[0] = 0;
	pthread_mutex_unlock(&mu);
}

const char *rec_audit_path(void)
{
	return fd >= 0 && log_path[0] ? log_path : NULL;
}

int rec_audit_append(const char *event, const char *id, const char *path, const char *detail)
{
	struct item *it;
	struct timespec ts;

	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		return -ENOENT;
	}
	pthread_mutex_unlock(&mu);
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &ts);
	it->ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	snprintf(it->event, sizeof(it->event), "%s", event ? event : "");
	snprintf(it->id, sizeof(it->id), "%s", id ? id : "");
	snprintf(it->path, sizeof(it->path), "%s", path ? path : "");
	snprintf(it->detail, sizeof(it->detail), "%s", detail ? detail : "");
	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		free(it);
		return -ENOENT;
	}
	*tailp = it;
	tailp = &it->next;
	queued++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

int rec_audit_sync(unsigned timeout_ms)
{
	struct timespec ts;
	uint64_t want;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000u;
	ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	want = queued;
	while (running && written < want && rc == 0)
		rc = pthread_cond_timedwait(&done_cv, &mu, &ts);
	if (written < want)
		rc = -ETIMEDOUT;
	else
		rc = werr;
	werr = 0;
	pthread_mutex_unlock(&mu);
	return rc;
}

/* ---- verification ---- */

struct ent {
	struct parsed p;
	bool ok, hash_ok;
};

int rec_audit_verify(const char *path, struct rec_audit_verdict *v)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, calc[REC_AUDIT_HASH_HEX + 1];
	size_t cap = 0, n_ent = 0, ent_cap = 0;
	struct ent *e = NULL;
	ssize_t n;
	char last[REC_AUDIT_HASH_HEX + 1];
	uint64_t expect = 1;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct ent *x;

		if (n_ent == ent_cap) {
			struct ent *ne = realloc(e, (ent_cap = ent_cap ? ent_cap * 2 : 256) * sizeof(*e));

			if (!ne) {
				rc = -ENOMEM;
				goto out;
			}
			e = ne;
		}
		x = &e[n_ent++];
		memset(x, 0, sizeof(*x));
		if (n && line[n - 1] == '\n')
			n--;
		x->ok = !parse_line(line, (size_t)n, &x->p);
		if (x->ok) {
			sha256_hex(line, x->p.hashed, calc);
			x->hash_ok = !strcmp(calc, x->p.hash);
		}
	}
	v->entries = n_ent;
	memset(last, '0', REC_AUDIT_HASH_HEX);
	last[REC_AUDIT_HASH_HEX] = 0;
	for (size_t i = 0; i < n_ent; i++) {
		struct ent *x = &e[i];
		uint64_t ln = i + 1;

		v->line = ln;
		if (!x->ok) {
			v->fault = REC_AUDIT_MALFORMED;
			v->seq = expect;
			snprintf(v->msg, sizeof(v->msg), "line %llu is not an audit entry (altered or torn); "
				 "entry seq %llu was expected there", (unsigned long long)ln, (unsigned long long)expect);
			rc = 1;
			goto out;
		}
		if (!x->hash_ok) {
			v->fault = REC_AUDIT_ALTERED;
			v->seq = x->p.seq;
			snprintf(v->msg, sizeof(v->msg), "entry seq %llu (line %llu) was altered: its hash does not match "
				 "its text", (unsigned long long)x->p.seq, (unsigned long long)ln);
			rc = 1;
			goto out;
		}
		if (x->p.seq != expect) {
			bool later = false;

			for (size_t j = i + 1; j < n_ent && !later; j++)
				later = e[j].ok && e[j].p.seq == expect;
			if (x->p.seq > expect && !later) {
				v->fault = REC_AUDIT_REMOVED;
				v->seq = expect;
				if (x->p.seq == expect + 1)
					snprintf(v->msg, sizeof(v->msg), "entry seq %llu was removed (line %llu holds seq %llu)",
						 (unsigned long long)expect, (unsigned long long)ln,
						 (unsigned long long)x->p.seq);
				else
					snprintf(v->msg, sizeof(v->msg), "entries seq %llu to %llu were removed (line %llu "
						 "holds seq %llu)", (unsigned long long)expect,
						 (unsigned long long)x->p.seq - 1, (unsigned long long)ln,
						 (unsigned long long)x->p.seq);
			} else {
				v->fault = REC_AUDIT_REORDERED;
				v->seq = x->p.seq;
				snprintf(v->msg, sizeof(v->msg), "entry seq %llu is out of order at line %llu (seq %llu "
					 "belongs there): entries reordered%s", (unsigned long long)x->p.seq,
					 (unsigned long long)ln, (unsigned long long)expect,
					 x->p.seq < expect ? " or duplicated" : "");
			}
			rc = 1;
			goto out;
		}
		if (strcmp(x->p.prev, last)) {
			v->fault = REC_AUDIT_BROKEN;
			v->seq = x->p.seq;
			snprintf(v->msg, sizeof(v->msg), "entry seq %llu (line %llu) does not follow the entry before it "
				 "(its prev is not that entry's hash): replaced", (unsigned long long)x->p.seq,
				 (unsigned long long)ln);
			rc = 1;
			goto out;
		}
		memcpy(last, x->p.hash, sizeof(last));
		v->last_seq = x->p.seq;
		expect = x->p.seq + 1;
	}
	v->line = 0;
	memcpy(v->last_hash, last, sizeof(last));
	snprintf(v->msg, sizeof(v->msg), "%llu entries, the chain holds; last seq %llu hash %s",
		 (unsigned long long)n_ent, (unsigned long long)v->last_seq, last);
out:
	free(line);
	free(e);
	fclose(f);
	return rc;
}
