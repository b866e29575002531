/* SPDX-License-Identifier: MIT
 * rec_path: file names. An output pattern (rtpengine-recording's
 * --output-pattern sequences, a subset) expanded to a path below the
 * recording directory; the recording directory checked against the
 * configured root with realpath, as play media checks play_dir.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rec_int.h"

void rec_new_id(char id[REC_ID_LEN + 1])
{
	uint8_t b[REC_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) { /* never short for 8 bytes; a fallback anyway */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		for (unsigned i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i * 3) ^ (uint64_t)ts.tv_sec >> i);
	}
	for (unsigned i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
}

static bool safe_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._@+=-", c);
}

/* Append s (n bytes; n < 0: all), unsafe characters as '_'. */
static int add(char *out, size_t *k, const char *s, long n, bool raw)
{
	for (long i = 0; s[i] && (n < 0 || i < n); i++) {
		if (*k + 1 >= REC_PATH_MAX)
			return -ENAMETOOLONG;
		out[(*k)++] = raw || safe_char(s[i]) ? s[i] : '_';
	}
	out[*k] = 0;
	return 0;
}

/* The value of key in "k1:v1|k2:v2" into v (at most vlen); "" when absent. */
static void meta_value(const char *meta, const char *key, size_t klen, char *v, size_t vlen)
{
	const char *p = meta;

	*v = 0;
	while (p && *p) {
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

int rec_pattern_expand(const char *pattern, const struct rec_params *p, const char *id, char *out)
{
	time_t now = time(NULL);
	struct timespec ts;
	struct tm tm;
	size_t k = 0, cid_used = 0, cid_len = strlen(p->call_id);
	char tmp[REC_META_MAX];
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	localtime_r(&now, &tm);
	*out = 0;
	for (const char *c = pattern; *c && !rc; c++) {
		if (*c != '%') {
			char one[2] = { *c, 0 };

			rc = add(out, &k, one, 1, *c == '/');
			continue;
		}
		switch (*++c) {
		case '%': rc = add(out, &k, "%", 1, true); break;
		case 'c': rc = add(out, &k, p->call_id, -1, false); break;
		case 'r': rc = add(out, &k, id, -1, false); break;
		case 't': rc = add(out, &k, p->from_tag, -1, false); break;
		case 'T': rc = add(out, &k, p->to_tag, -1, false); break;
		case 'Y': case 'm': case 'd': case 'H': case 'M': case 'S': {
			char f[3] = { '%', *c, 0 };

			strftime(tmp, sizeof(tmp), f, &tm);
			rc = add(out, &k, tmp, -1, false);
			break;
		}
		case 'u':
			snprintf(tmp, sizeof(tmp), "%06ld", ts.tv_nsec / 1000);
			rc = add(out, &k, tmp, -1, false);
			break;
		case '{': {
			const char *end = strchr(c + 1, '}');

			if (!end)
				return -EINVAL;
			meta_value(p->metadata, c + 1, (size_t)(end - c - 1), tmp, sizeof(tmp));
			rc = add(out, &k, tmp, -1, false);
			c = end;
			break;
		}
		default:
			if (*c >= '1' && *c <= '9') {
				long n = strtol(c, (char **)&c, 10);

				c--;
				if (cid_used < cid_len)
					rc = add(out, &k, p->call_id + cid_used, n, false);
				cid_used += (size_t)n;
				break;
			}
			return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (!k || out[0] == '/' || out[k - 1] == '/')
		return -EINVAL;
	for (const char *s = out; *s;) { /* no "." or ".." component, no empty one */
		size_t n = strcspn(s, "/");

		if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return -EINVAL;
		s += n + (s[n] == '/');
	}
	return 0;
}

int rec_dir_resolve(const char *root, const char *dir, char *out)
{
	char r[PATH_MAX], d[PATH_MAX], joined[PATH_MAX * 2];
	size_t n;

	if (!realpath(root, r))
		return -errno;
	if (!dir || !*dir)
		dir = r;
	if (dir[0] != '/') {
		snprintf(joined, sizeof(joined), "%s/%s", r, dir);
		dir = joined;
	}
	if (!realpath(dir, d))
		return -errno;
	n = strlen(r);
	if (strncmp(d, r, n) || (d[n] && d[n] != '/' && !(n == 1 && r[0] == '/')))
		return -EACCES;
	if (strlen(d) >= REC_PATH_MAX - 256)
		return -ENAMETOOLONG;
	snprintf(out, REC_PATH_MAX, "%s", d);
	return 0;
}
