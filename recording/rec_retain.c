/* SPDX-License-Identifier: MIT
 * rec_retain: retention by tag, the sweeper and legal hold (rec_audit.h).
 *
 * A recording is known by its sidecar (BASE.json, rec_meta.c's format):
 * its id, state, metadata, times and files are read from it with a small
 * scanner (the sidecar's layout is ours: one member per line, files as
 * {"path": ...} objects). Legal hold is a file BASE.hold. The sweep first
 * lists the sidecars (nftw), then deletes, so the walk never sees a
 * directory change under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rec_audit.h"
#include "rec_seal.h"

#define RPATH 1024
#define MAX_FILES 16

/* ---- policy and time ---- */

uint32_t rec_retain_days(const struct rec_retain_policy *p, const char *tag)
{
	if (tag && *tag)
		for (unsigned i = 0; i < p->n_tags; i++)
			if (!strcmp(p->tag[i].tag, tag))
				return p->tag[i].days;
	return p->default_days;
}

int rec_retain_parse_tags(const char *s, struct rec_retain_policy *p)
{
	struct rec_retain_policy q = *p;

	q.n_tags = 0;
	while (s && *s) {
		const char *end = s + strcspn(s, ","), *eq = memchr(s, '=', (size_t)(end - s));
		char *e;
		unsigned long d;
		size_t n;
		unsigned i;

		while (*s == ' ')
			s++;
		if (!eq || eq == s)
			return -EINVAL;
		n = (size_t)(eq - s);
		while (n && s[n - 1] == ' ')
			n--;
		if (!n || n >= sizeof(q.tag[0].tag))
			return -EINVAL;
		d = strtoul(eq + 1, &e, 10);
		while (*e == ' ')
			e++;
		if (e != end || eq + 1 == end || d > 365000)
			return -EINVAL;
		for (i = 0; i < q.n_tags && (strlen(q.tag[i].tag) != n || strncmp(q.tag[i].tag, s, n)); i++)
			;
		if (i == q.n_tags) {
			if (q.n_tags == REC_RETAIN_TAGS)
				return -EINVAL;
			q.n_tags++;
		}
		snprintf(q.tag[i].tag, sizeof(q.tag[i].tag), "%.*s", (int)n, s);
		q.tag[i].days = (uint32_t)d;
		s = *end ? end + 1 : end;
	}
	*p = q;
	return 0;
}

int rec_retain_parse_time(const char *s, uint64_t *ms)
{
	struct tm tm;
	char *end;
	unsigned msec = 0;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '@')
		s++;
	if (strspn(s, "0123456789") == strlen(s)) {
		*ms = strtoull(s, NULL, 10) * 1000u;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return -EINVAL;
	if (*end == 'T' || *end == ' ') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (!end)
			return -EINVAL;
		if (*end == '.') {
			msec = (unsigned)strtoul(end + 1, &end, 10) % 1000u;
		}
	}
	if (*end == 'Z')
		end++;
	if (*end)
		return -EINVAL;
	*ms = (uint64_t)timegm(&tm) * 1000u + msec;
	return 0;
}

uint64_t rec_retain_now_ms(void)
{
	const char *env = getenv("MEDIUS_RETENTION_NOW");
	struct timespec ts;
	uint64_t ms;

	if (env && !rec_retain_parse_time(env, &ms))
		return ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the sidecar ---- */

struct side {
	char id[64], state[24], tag[64], main_path[RPATH];
	char files[MAX_FILES][RPATH];
	unsigned n_files;
	uint64_t end_ms; /* ended, recovered or started */
};

/* The JSON string at p (just after its opening quote) into out; returns
 * the byte after the closing quote, or NULL. */
static const char *json_str(const char *p, char *out, size_t n)
{
	size_t k = 0;

	for (; *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			p++;
			if (!*p)
				return NULL;
			c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
			if (*p == 'u' && strlen(p) >= 5) { /* rec_meta writes \u00XX for controls only */
				c = (char)strtol((char[]){ p[3], p[4], 0 }, NULL, 16);
				p += 4;
			}
		}
		if (k + 1 < n)
			out[k++] = c;
	}
	out[k] = 0;
	return *p == '"' ? p + 1 : NULL;
}

/* The string member "key" (first one at or after from). */
static bool member(const char *text, const char *key, char *out, size_t n)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": \"", key);
	p = strstr(text, k);
	*out = 0;
	return p && json_str(p + strlen(k), out, n);
}

/* The value of key in "k1:v1|k2:v2". */
static void meta_value(const char *meta, const char *key, char *v, size_t vlen)
{
	size_t klen = strlen(key);

	*v = 0;
	for (const char *p = meta; p && *p;) {
		const char *end = strchr(p, '|'), *colon = strchr(p, ':');

		if (!end)
			end = p + strlen(p);
		if (colon && colon < end && (size_t)(colon - p) == klen && !strncmp(p, key, klen)) {
			snprintf(v, vlen, "%.*s", (int)(end - colon - 1), colon + 1);
			return;
		}
		p = *end ? end + 1 : NULL;
	}
}

static bool ends(const char *s, const char *x)
{
	size_t n = strlen(s), m = strlen(x);

	return n >= m && !strcmp(s + n - m, x);
}

static char *slurp(const char *path)
{
	FILE *f;
	char *t = NULL;
	long n;

	if (ends(path, ".json" REC_SEAL_EXT)) { /* a sealed sidecar (rec_seal.h): the daemon's key */
		char err[512];
		size_t len;

		if (!rec_seal_kek()) {
			errno = ENOKEY;
			return NULL;
		}
		if (rec_seal_read_file(path, rec_seal_kek(), &t, &len, err, sizeof(err))) {
			errno = EBADMSG;
			return NULL;
		}
		return t;
	}
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && n < (1L << 24) && !fseek(f, 0, SEEK_SET) &&
	    (t = malloc((size_t)n + 1)))
		t[fread(t, 1, (size_t)n, f)] = 0;
	fclose(f);
	return t;
}

static int read_side(const char *json, struct side *s)
{
	char *t = slurp(json), *meta, when[64];
	const char *p, *stop;
	uint64_t ms;

	memset(s, 0, sizeof(*s));
	if (!t)
		return -errno ? -errno : -EIO;
	meta = malloc(8192);
	if (!meta || !member(t, "id", s->id, sizeof(s->id)) || !member(t, "state", s->state, sizeof(s->state))) {
		free(meta);
		free(t);
		return -EINVAL;
	}
	member(t, "metadata", meta, 8192);
	meta_value(meta, "retention", s->tag, sizeof(s->tag));
	free(meta);
	if ((member(t, "ended", when, sizeof(when)) || member(t, "recovered", when, sizeof(when)) ||
	     member(t, "started", when, sizeof(when))) && !rec_retain_parse_time(when, &ms))
		s->end_ms = ms;
	p = strstr(t, "\"files\": [");
	stop = p ? strstr(p, "\n") : NULL;
	while (p && stop && s->n_files < MAX_FILES && (p = strstr(p, "{\"path\": \"")) && p < stop) {
		p = json_str(p + 10, s->files[s->n_files], RPATH);
		if (!p)
			break;
		s->n_files++;
	}
	if (s->n_files)
		snprintf(s->main_path, sizeof(s->main_path), "%s", s->files[0]);
	free(t);
	return 0;
}

int rec_retain_sidecar(const char *json, char *id, char *main_path)
{
	struct side *s = malloc(sizeof(*s));
	int e;

	if (!s)
		return -ENOMEM;
	if (!(e = read_side(json, s))) {
		snprintf(id, 64, "%s", s->id);
		snprintf(main_path, RPATH, "%s", s->main_path);
	}
	free(s);
	return e;
}

static void hold_path(const char *json, char *out, size_t n)
{
	size_t k = strlen(json);

	size_t x = ends(json, ".json" REC_SEAL_EXT) ? 5 + strlen(REC_SEAL_EXT) : 5;

	snprintf(out, n, "%.*s.hold", (int)(k > x ? k - x : k), json);
}

bool rec_retain_is_held(const char *json)
{
	char h[RPATH + 8];

	hold_path(json, h, sizeof(h));
	return access(h, F_OK) == 0;
}

/* ---- the walk ---- */

static pthread_mutex_t walk_mu = PTHREAD_MUTEX_INITIALIZER; /* nftw's callback has no context */
static char (*w_list)[RPATH];
static size_t w_n, w_cap;

static int visit(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type != FTW_F || !(ends(path, ".json") || ends(path, ".json" REC_SEAL_EXT)) || strlen(path) >= RPATH)
		return 0;
	if (w_n == w_cap) {
		void *n = realloc(w_list, (w_cap = w_cap ? w_cap * 2 : 64) * RPATH);

		if (!n)
			return -1;
		w_list = n;
	}
	snprintf(w_list[w_n++], RPATH, "%s", path);
	return 0;
}

/* Every sidecar under root: a malloc'ed array (*n of them), or NULL with *err. */
static char (*list_sidecars(const char *root, size_t *n, int *err))[RPATH]
{
	char (*l)[RPATH];

	pthread_mutex_lock(&walk_mu);
	w_list = NULL;
	w_n = w_cap = 0;
	*err = 0;
	if (access(root, R_OK | X_OK))
		*err = -errno;
	else if (nftw(root, visit, 32, FTW_PHYS))
		*err = -EIO;
	l = w_list;
	*n = w_n;
	w_list = NULL;
	pthread_mutex_unlock(&walk_mu);
	if (*err) {
		free(l);
		return NULL;
	}
	return l;
}

/* ---- sweep ---- */

static int unlink_some(const char *p)
{
	return unlink(p) && errno != ENOENT ? -errno : 0;
}

/* Does path (a file that may be gone) lie inside root (its directory
 * resolved, symbolic links followed)? A sidecar is trusted only that far:
 * one planted in the directory cannot have the sweep delete other files. */
static bool inside(const char *root, const char *path)
{
	char d[RPATH], rr[PATH_MAX], rd[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(d) || !realpath(root, rr))
		return false;
	snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	if (!realpath(d, rd))
		return false;
	n = strlen(rr);
	return !strncmp(rd, rr, n) && (rd[n] == '/' || rd[n] == 0) && strcmp(slash + 1, "..") && strcmp(slash + 1, ".");
}

static int delete_recording(const char *root, const char *json, const struct side *s)
{
	char part[RPATH + 8];
	int e = 0, x;

	for (unsigned i = 0; i < s->n_files; i++) {
		if (!inside(root, s->files[i])) {
			if (!e)
				e = -EACCES; /* named outside the recording directory: left alone */
			continue;
		}
		if ((x = unlink_some(s->files[i])) && !e)
			e = x;
		snprintf(part, sizeof(part), "%s.part", s->files[i]);
		if ((x = unlink_some(part)) && !e)
			e = x;
		/* sealed (rec_seal.h): the sidecar names the plain file, the disk holds NAME.enc */
		snprintf(part, sizeof(part), "%s" REC_SEAL_EXT, s->files[i]);
		if ((x = unlink_some(part)) && !e)
			e = x;
		snprintf(part, sizeof(part), "%s" REC_SEAL_EXT ".part", s->files[i]);
		if ((x = unlink_some(part)) && !e)
			e = x;
	}
	if (!e && (x = unlink_some(json))) /* the sidecar last: a failed delete is found again */
		e = x;
	return e;
}

/* One sweep or hold at a time (the sweeper thread and the control
 * thread): a recording is deleted once, and never between a hold's check
 * and its file. */
static pthread_mutex_t op_mu = PTHREAD_MUTEX_INITIALIZER;

static int sweep(const char *root, const struct rec_retain_policy *p, uint64_t now_ms, struct rec_sweep_result *out);
static int hold_op(const char *root, const char *id, bool hold, const char *reason, char *json);

int rec_retain_sweep(const char *root, const struct rec_retain_policy *p, uint64_t now_ms,
		     struct rec_sweep_result *out)
{
	int e;

	pthread_mutex_lock(&op_mu);
	e = sweep(root, p, now_ms, out);
	pthread_mutex_unlock(&op_mu);
	return e;
}

int rec_retain_hold(const char *root, const char *id, bool hold, const char *reason, char *json)
{
	int e;

	pthread_mutex_lock(&op_mu);
	e = hold_op(root, id, hold, reason, json);
	pthread_mutex_unlock(&op_mu);
	return e;
}

static int sweep(const char *root, const struct rec_retain_policy *p, uint64_t now_ms, struct rec_sweep_result *out)
{
	size_t n = 0;
	int err;
	char (*l)[RPATH] = list_sidecars(root, &n, &err);
	struct side *s = malloc(sizeof(*s));

	memset(out, 0, sizeof(*out));
	if (!l || !s) {
		free(l);
		free(s);
		return l ? -ENOMEM : err;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t days;
		char d[400];
		int e;

		if (read_side(l[i], s))
			continue; /* not a sidecar of ours */
		out->scanned++;
		if (!strcmp(s->state, "recording") || !strcmp(s->state, "paused")) {
			out->running++;
			continue;
		}
		days = rec_retain_days(p, s->tag);
		if (!days || !s->end_ms || now_ms < s->end_ms + (uint64_t)days * 86400000u)
			continue;
		out->expired++;
		if (rec_retain_is_held(l[i])) {
			out->held++;
			continue;
		}
		e = delete_recording(root, l[i], s);
		snprintf(d, sizeof(d), "retention %s%s: %u days%s%s", s->tag[0] ? "tag " : "default", s->tag, days, e ? "; incomplete: " : "", e ? strerror(-e) : "");
		rec_audit_append(e ? "delete-failed" : "delete", s->id, s->main_path[0] ? s->main_path : l[i], d);
		if (e)
			out->errors++;
		else
			out->deleted++;
	}
	free(s);
	free(l);
	return 0;
}

/* ---- legal hold ---- */

static int hold_op(const char *root, const char *id, bool hold, const char *reason, char *json)
{
	size_t n = 0;
	int err, rc = -ENOENT;
	char (*l)[RPATH] = list_sidecars(root, &n, &err);
	struct side *s = malloc(sizeof(*s));

	if (!l || !s) {
		free(l);
		free(s);
		return l ? -ENOMEM : err;
	}
	for (size_t i = 0; i < n && rc == -ENOENT; i++) {
		char h[RPATH + 8];

		if (read_side(l[i], s) || strcmp(s->id, id))
			continue;
		if (json)
			snprintf(json, RPATH, "%s", l[i]);
		hold_path(l[i], h, sizeof(h));
		if (hold == rec_retain_is_held(l[i])) {
			rc = 1;
			break;
		}
		if (hold) {
			int fd = open(h, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
			char b[1200];
			int k;

			if (fd < 0) {
				rc = -errno;
				break;
			}
			k = snprintf(b, sizeof(b), "{\"id\": \"%s\", \"held_ms\": %llu}\n", s->id,
				     (unsigned long long)rec_retain_now_ms());
			rc = write(fd, b, (size_t)k) == k && !fsync(fd) ? 0 : -EIO;
			close(fd);
			if (rc)
				unlink(h);
		} else {
			rc = unlink(h) ? -errno : 0;
		}
		if (!rc)
			rec_audit_append(hold ? "hold" : "unhold", s->id, s->main_path[0] ? s->main_path : l[i],
					 reason ? reason : "");
	}
	free(s);
	free(l);
	return rc;
}

/* ---- the periodic sweep ---- */

static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cv = PTHREAD_COND_INITIALIZER;
static pthread_t t_th;
static bool t_run, t_quit;
static char t_root[RPATH];
static struct rec_retain_policy t_pol;
static unsigned t_interval;
static void (*t_log)(const char *);

static void *sweeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&t_mu);
	while (!t_quit) {
		struct timespec ts;
		struct rec_sweep_result r;
		int e;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += t_interval;
		while (!t_quit && pthread_cond_timedwait(&t_cv, &t_mu, &ts) != ETIMEDOUT)
			;
		if (t_quit)
			break;
		pthread_mutex_unlock(&t_mu);
		e = rec_retain_sweep(t_root, &t_pol, rec_retain_now_ms(), &r);
		if (t_log && (e || r.expired)) {
			char m[RPATH + 200];

			if (e)
				snprintf(m, sizeof(m), "retention sweep of %s: %s", t_root, strerror(-e));
			else
				snprintf(m, sizeof(m), "retention sweep: %u expired, %u deleted, %u on legal hold, %u "
					 "not deleted (errors)", r.expired, r.deleted, r.held, r.errors);
			t_log(m);
		}
		pthread_mutex_lock(&t_mu);
	}
	pthread_mutex_unlock(&t_mu);
	return NULL;
}

int rec_retain_start(const char *root, const struct rec_retain_policy *p, unsigned interval_s,
		     void (*log)(const char *msg))
{
	int e;

	rec_retain_stop();
	if (!interval_s)
		return -EINVAL;
	snprintf(t_root, sizeof(t_root), "%s", root);
	t_pol = *p;
	t_interval = interval_s;
	t_log = log;
	t_quit = false;
	if ((e = pthread_create(&t_th, NULL, sweeper, NULL)))
		return -e;
	pthread_setname_np(t_th, "medius-retain");
	t_run = true;
	return 0;
}

void rec_retain_stop(void)
{
	if (!t_run)
		return;
	pthread_mutex_lock(&t_mu);
	t_quit = true;
	pthread_cond_broadcast(&t_cv);
	pthread_mutex_unlock(&t_mu);
	pthread_join(t_th, NULL);
	t_run = false;
}
