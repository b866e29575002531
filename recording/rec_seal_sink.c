/* SPDX-License-Identifier: MIT
 * rec_seal_sink: the sinks' files through the seal (rec_seal_int.h), the
 * sealed WAV sink, and the sealed sidecar.
 *
 * The sealed WAV. A WAV's header holds the data's size, which libsndfile
 * patches in place at every sync and at close; a sealed file cannot be
 * patched in place (the header lies inside the first authenticated
 * chunk). So the sealed WAV's plaintext is a canonical 44-byte header
 * whose RIFF and data sizes say 0xffffffff (the streaming convention),
 * then the PCM; nothing in it depends on its length, and export sets the
 * sizes from the length it decrypted (rec_export.c). Chunks are written
 * at every sync (fsync_ms) and when 64 KiB are held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_seal_int.h"

static int put_all(int fd, const uint8_t *p, size_t n) { return rec_write_all(fd, p, n); }

int rec_out_open(struct rec_out *o, const char *path, char *final)
{
	const struct rec_kek *k = rec_seal_kek();
	char part[REC_PATH_MAX + 16];
	int rc;

	o->z = NULL;
	if (snprintf(final, REC_PATH_MAX, "%s%s", path, k ? REC_SEAL_EXT : "") >= REC_PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(part, sizeof(part), "%s.part", final);
	o->fd = open(part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (o->fd < 0)
		return -errno;
	if (k && !(o->z = rec_seal_open(o->fd, k, &rc))) {
		close(o->fd);
		unlink(part);
		return rc;
	}
	return 0;
}

int rec_out_write(struct rec_out *o, const void *p, size_t n)
{
	return o->z ? rec_seal_write(o->z, p, n) : put_all(o->fd, p, n);
}

int rec_out_sync(struct rec_out *o)
{
	int rc = o->z ? rec_seal_flush(o->z) : 0;

	return rc ? rc : fdatasync(o->fd) ? -errno : 0;
}

int rec_out_close(struct rec_out *o)
{
	int rc = 0;

	if (o->z)
		rc = rec_seal_close(o->z);
	o->z = NULL;
	if (fsync(o->fd) && !rc)
		rc = -errno;
	close(o->fd);
	return rc;
}

void rec_out_discard(struct rec_out *o, const char *final)
{
	char part[REC_PATH_MAX + 16];

	rec_seal_abandon(o->z);
	o->z = NULL;
	close(o->fd);
	snprintf(part, sizeof(part), "%s.part", final);
	unlink(part);
}

/* ---- the sealed WAV ---- */

struct swav {
	struct rec_sink s;
	struct rec_out out;
};

static int swav_pcm(struct rec_sink *s, const int16_t *pcm, size_t frames)
{
	struct swav *w = (struct swav *)s;

	return rec_out_write(&w->out, pcm, frames * s->channels * sizeof(int16_t)); /* little-endian hosts */
}

static int swav_sync(struct rec_sink *s)
{
	return rec_out_sync(&((struct swav *)s)->out);
}

static int swav_close(struct rec_sink *s)
{
	struct swav *w = (struct swav *)s;
	int rc = rec_out_close(&w->out);

	free(w);
	return rc;
}

static const struct rec_sink_ops swav_ops = { .pcm = swav_pcm, .sync = swav_sync, .close = swav_close };

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

struct rec_sink *rec_wav_sealed_open(const char *path, uint32_t rate, unsigned channels, int *err)
{
	struct swav *w = calloc(1, sizeof(*w));
	uint8_t h[44];
	int rc;

	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((rc = rec_out_open(&w->out, path, w->s.path))) {
		*err = rc;
		free(w);
		return NULL;
	}
	memcpy(h, "RIFF", 4);
	le32(h + 4, 0xffffffffu); /* sizes unknown: export sets them */
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 16);
	le16(h + 20, 1); /* PCM */
	le16(h + 22, (uint16_t)channels);
	le32(h + 24, rate);
	le32(h + 28, rate * channels * 2);
	le16(h + 32, (uint16_t)(channels * 2));
	le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	le32(h + 40, 0xffffffffu);
	if ((rc = rec_out_write(&w->out, h, sizeof(h))) || (rc = rec_out_sync(&w->out))) {
		rec_out_discard(&w->out, w->s.path);
		free(w);
		*err = rc;
		return NULL;
	}
	w->s.ops = &swav_ops;
	w->s.format = "wav";
	w->s.channels = channels;
	return &w->s;
}

/* ---- the sealed sidecar ---- */

int rec_meta_seal_write(const char *base, const char *text, size_t n)
{
	char tmp[REC_PATH_MAX + 32], final[REC_PATH_MAX + 32];
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.json%s.tmp", base, REC_SEAL_EXT);
	snprintf(final, sizeof(final), "%s.json%s", base, REC_SEAL_EXT);
	rc = rec_seal_write_file(tmp, rec_seal_kek(), text, n, 0640);
	if (!rc && rename(tmp, final))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int rec_meta_read(const char *path, char **text, size_t *len)
{
	size_t n = strlen(path), k = strlen(REC_SEAL_EXT);
	char err[512];
	FILE *f;
	long sz;

	*text = NULL;
	if (n > k && !strcmp(path + n - k, REC_SEAL_EXT)) {
		int rc = rec_seal_read_file(path, rec_seal_kek(), text, len, err, sizeof(err));

		if (rc)
			rec_emit("error", "-", path, err);
		return rc;
	}
	if (!(f = fopen(path, "re")))
		return -errno;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && sz < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 &&
	    (*text = malloc((size_t)sz + 1)))
		*len = fread(*text, 1, (size_t)sz, f);
	fclose(f);
	if (!*text)
		return -EIO;
	(*text)[*len] = 0;
	return 0;
}
