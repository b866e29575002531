/* SPDX-License-Identifier: MIT
 * rec_export: what mediusctl does with sealed recordings: export one (to
 * a playable file, all or nothing), find a recording's files by its id,
 * and re-wrap every file's key under a new KEK (rotation).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "rec_audit.h"
#include "rec_seal.h"

void rec_export_audit(const char *sealed, const char *out_path, const char *key_id, int rc, const char *err)
{
	char detail[1024];

	if (!rec_audit_path()) /* no audit log open (mediusctl found none): nothing to add */
		return;
	snprintf(detail, sizeof(detail), "%s to %s by uid %u under key %s%s%s", rc ? "failed" : "exported",
		 out_path ? out_path : "-", (unsigned)getuid(), key_id && key_id[0] ? key_id : "-",
		 rc ? ": " : "", rc && err ? err : "");
	rec_audit_append("export", "-", sealed, detail);
}

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

struct exp {
	int fd;
	uint64_t n;
	uint8_t head[64];   /* the first bytes, to tell a WAV */
};

static int exp_out(void *ctx, const void *p, size_t n)
{
	struct exp *e = ctx;
	const uint8_t *b = p;

	for (size_t i = 0; i < n && e->n + i < sizeof(e->head); i++)
		e->head[e->n + i] = b[i];
	e->n += n;
	while (n) {
		ssize_t w = write(e->fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A sealed WAV says 0xffffffff for its sizes (they cannot be patched in
 * place under a stream cipher): set them from what was decrypted. The
 * sealed WAV sink writes the canonical 44-byte header (fmt, then data). */
static int fix_wav(struct exp *e)
{
	uint8_t v[4];
	uint64_t data, align;

	if (e->n < 44 || memcmp(e->head, "RIFF", 4) || memcmp(e->head + 8, "WAVE", 4) ||
	    memcmp(e->head + 12, "fmt ", 4) || le32(e->head + 16) != 16 || memcmp(e->head + 36, "data", 4))
		return 0; /* not one of ours: leave it */
	align = e->head[32] | e->head[33] << 8;
	if (!align)
		return -EINVAL;
	data = (e->n - 44) / align * align;
	if (data > 0xffffffffu - 36)
		data = (0xffffffffu - 36) / align * align;
	if (ftruncate(e->fd, (off_t)(44 + data)))
		return -errno;
	put_le32(v, (uint32_t)data);
	if (pwrite(e->fd, v, 4, 40) != 4)
		return -EIO;
	put_le32(v, (uint32_t)(36 + data));
	if (pwrite(e->fd, v, 4, 4) != 4)
		return -EIO;
	return 0;
}

/* What a crash may leave at the end of a recovered file, inside its last
 * chunk: part of an Ogg page or of a pcap record (the writer's 64 KiB
 * chunks do not follow their framing). Cut after the last whole one, as
 * rec_ogg_fix and rec_pcap_fix do for plain files. */
static int cut_framed(struct exp *e)
{
	off_t off, size = (off_t)e->n;
	uint8_t h[27 + 255];

	if (e->n >= 27 && !memcmp(e->head, "OggS", 4)) {
		for (off = 0;;) {
			off_t body;
			unsigned len = 0;

			if (off + 27 > size || pread(e->fd, h, 27, off) != 27 || memcmp(h, "OggS", 4))
				break;
			if (off + 27 + h[26] > size || pread(e->fd, h + 27, h[26], off + 27) != (ssize_t)h[26])
				break;
			for (unsigned i = 0; i < h[26]; i++)
				len += h[27 + i];
			body = off + 27 + h[26];
			if (body + len > size)
				break;
			off = body + len;
		}
	} else if (e->n >= 24 && le32(e->head) == 0xa1b2c3d4u) {
		for (off = 24; off + 16 <= size && pread(e->fd, h, 16, off) == 16 && le32(h + 8) <= 65535 &&
			       off + 16 + (off_t)le32(h + 8) <= size;)
			off += 16 + (off_t)le32(h + 8);
	} else {
		return 0;
	}
	if (off < size && ftruncate(e->fd, off))
		return -errno;
	return 0;
}

int rec_export(const char *sealed, const char *out_path, const struct rec_kek *k, char *err, size_t errlen)
{
	char tmp[4096], dir[4096];
	const char *d;
	struct exp e = { 0 };
	bool unnamed;
	int rc;

	snprintf(dir, sizeof(dir), "%s", out_path);
	d = dirname(dir); /* dir itself, or a static "." */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", d, "medius-export") >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: name too long", out_path);
		rc = -ENAMETOOLONG;
		goto out;
	}
	if (access(out_path, F_OK) == 0) {
		snprintf(err, errlen, "%s exists: remove it or name another output (-o)", out_path);
		rc = -EEXIST;
		goto out;
	}
	/* an unnamed file (O_TMPFILE): an export that fails or is killed leaves
	 * nothing, not even a temporary name; mkostemp where the file system
	 * has none. Mode 0600: the plaintext is patient data. */
	e.fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	unnamed = e.fd >= 0;
	if (!unnamed)
		e.fd = mkostemp(tmp, O_CLOEXEC);
	if (e.fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot make a file there: %s", out_path, strerror(errno));
		goto out;
	}
	rc = rec_seal_read(sealed, k, exp_out, &e, err, errlen);
	if (!rc && ((rc = fix_wav(&e)) || (rc = cut_framed(&e))))
		snprintf(err, errlen, "%s: cannot make it playable: %s", out_path, strerror(-rc));
	if (!rc && fsync(e.fd)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
	}
	if (!rc && unnamed) { /* named only now, whole; never replaces out_path */
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", e.fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, out_path, AT_SYMLINK_FOLLOW)) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
		}
	}
	close(e.fd);
	if (!unnamed) {
		if (!rc && link(tmp, out_path)) { /* never replaces out_path */
			rc = -errno;
			snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
		}
		unlink(tmp); /* a failed export leaves nothing behind */
	}
out:
	rec_export_audit(sealed, out_path, k ? k->id : "", rc, rc ? err : "");
	return rc;
}

/* ---- finding a recording by its id ---- */

static struct {
	const char *id;
	const struct rec_kek *k;
	char found[4096];
	int n;
} g_find;

static int visit_meta(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char *text = NULL, want[64], err[512];
	size_t len;

	(void)st;
	(void)f;
	if (type != FTW_F || (!ends(path, ".json.enc") && !ends(path, ".json")))
		return 0;
	if (ends(path, ".json.enc")) {
		if (rec_seal_read_file(path, g_find.k, &text, &len, err, sizeof(err)))
			return 0;
	} else {
		FILE *fp = fopen(path, "re");

		if (!fp)
			return 0;
		text = calloc(1, 1 << 20);
		if (text)
			len = fread(text, 1, (1 << 20) - 1, fp);
		fclose(fp);
		if (!text)
			return 0;
	}
	snprintf(want, sizeof(want), "\"id\": \"%s\"", g_find.id);
	if (strstr(text, want)) {
		snprintf(g_find.found, sizeof(g_find.found), "%s", path);
		g_find.n++;
	}
	sodium_memzero(text, len);
	free(text);
	return 0;
}

int rec_export_find(const char *root, const char *id, const char *part, const struct rec_kek *k, char *path,
		    size_t pathlen, char *err, size_t errlen)
{
	static const char *const parts[][2] = { { "caller", "-caller.wav" }, { "callee", "-callee.wav" },
						{ "pcap", ".pcap" }, { "meta", ".json" } };
	char base[4096];
	size_t n;

	/* a precondition, and it tells GCC 12 path is not NULL: with
	 * -fsanitize=undefined it otherwise warns "null destination pointer"
	 * (-Wformat-truncation) at the snprintf()s below, failing build-asan */
	if (!path || !pathlen) {
		snprintf(err, errlen, "no room for the path");
		return -EINVAL;
	}
	if (strlen(id) > 40 || strchr(id, '"') || strchr(id, '\\')) {
		snprintf(err, errlen, "'%s' is not a recording id", id);
		return -EINVAL;
	}
	g_find.id = id;
	g_find.k = k;
	g_find.n = 0;
	if (nftw(root, visit_meta, 32, FTW_PHYS)) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -errno;
	}
	if (!g_find.n) {
		snprintf(err, errlen, "no recording with id %s under %s (or its sidecar does not open with key %s)", id,
			 root, k ? k->id : "(none)");
		return -ENOENT;
	}
	n = strlen(g_find.found) - (ends(g_find.found, ".enc") ? strlen(".json.enc") : strlen(".json"));
	snprintf(base, sizeof(base), "%.*s", (int)n, g_find.found);
	if (!part || !strcmp(part, "main")) {
		static const char *const mains[] = { ".wav", ".opus" };

		for (unsigned i = 0; i < 2; i++) {
			snprintf(path, pathlen, "%s%s%s", base, mains[i], REC_SEAL_EXT);
			if (access(path, F_OK) == 0)
				return 0;
		}
		snprintf(err, errlen, "recording %s: no sealed main file beside %s (still recording, or not sealed)", id,
			 g_find.found);
		return -ENOENT;
	}
	for (unsigned i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!strcmp(part, parts[i][0])) {
			snprintf(path, pathlen, "%s%s%s", base, parts[i][1], REC_SEAL_EXT);
			if (access(path, F_OK) == 0)
				return 0;
			snprintf(err, errlen, "recording %s has no sealed %s file (%s)", id, part, path);
			return -ENOENT;
		}
	snprintf(err, errlen, "'%s' is not a part of a recording (main, caller, callee, pcap, meta)", part);
	return -EINVAL;
}

/* ---- rotation ---- */

static struct {
	const struct rec_kek *old, *new_k;
	unsigned done, already, failed;
	void (*report)(const char *line);
} g_rk;

static int visit_rekey(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char err[1024];
	int rc;

	(void)st;
	(void)f;
	if (type != FTW_F || (!ends(path, REC_SEAL_EXT) && !ends(path, REC_SEAL_EXT ".part")))
		return 0;
	rc = rec_seal_rewrap(path, g_rk.old, g_rk.new_k, err, sizeof(err));
	if (rc == 0)
		g_rk.done++;
	else if (rc == 1)
		g_rk.already++;
	else {
		g_rk.failed++;
		if (g_rk.report)
			g_rk.report(err);
	}
	return 0;
}

int rec_rekey_tree(const char *root, const struct rec_kek *old, const struct rec_kek *new_k, unsigned *done,
		   unsigned *already, unsigned *failed, void (*report)(const char *line))
{
	g_rk.old = old;
	g_rk.new_k = new_k;
	g_rk.done = g_rk.already = g_rk.failed = 0;
	g_rk.report = report;
	if (access(root, R_OK | X_OK) || nftw(root, visit_rekey, 32, FTW_PHYS))
		return -errno;
	*done = g_rk.done;
	*already = g_rk.already;
	*failed = g_rk.failed;
	return 0;
}
