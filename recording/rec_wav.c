/* SPDX-License-Identifier: MIT
 * rec_wav: the WAV sink (libsndfile, 16-bit PCM), and the recovery of a
 * WAV a crash left open. libsndfile writes the header when the file is
 * opened and rewrites it on every sync (SFC_UPDATE_HEADER_NOW), so the
 * sizes on disk trail the data by at most one sync interval; sf_close
 * writes the real ones. rec_wav_fix sets them from the file's length.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "rec_seal_int.h"

struct wav {
	struct rec_sink s;
	SNDFILE *sf;
	int fd;
};

static int wav_pcm(struct rec_sink *s, const int16_t *pcm, size_t frames)
{
	struct wav *w = (struct wav *)s;
	sf_count_t n = sf_writef_short(w->sf, pcm, (sf_count_t)frames);

	if (n != (sf_count_t)frames)
		return errno ? -errno : -EIO;
	return 0;
}

static int wav_sync(struct rec_sink *s)
{
	struct wav *w = (struct wav *)s;

	sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	return fdatasync(w->fd) ? -errno : 0;
}

static int wav_close(struct rec_sink *s)
{
	struct wav *w = (struct wav *)s;
	int rc = 0;

	sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	if (fsync(w->fd))
		rc = -errno;
	if (sf_close(w->sf)) /* closes fd */
		rc = rc ? rc : -EIO;
	free(w);
	return rc;
}

static const struct rec_sink_ops wav_ops = { .pcm = wav_pcm, .sync = wav_sync, .close = wav_close };

struct rec_sink *rec_wav_open(const char *path, uint32_t rate, unsigned channels, int *err)
{
	SF_INFO info = { .samplerate = (int)rate, .channels = (int)channels,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	char part[REC_PATH_MAX + 8];
	struct wav *w;

	if (rec_seal_kek()) /* encryption at rest: rec_seal_sink.c */
		return rec_wav_sealed_open(path, rate, channels, err);
	w = calloc(1, sizeof(*w));
	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(part, sizeof(part), "%s.part", path);
	w->fd = open(part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (w->fd < 0) {
		*err = -errno;
		free(w);
		return NULL;
	}
	w->sf = sf_open_fd(w->fd, SFM_WRITE, &info, 1);
	if (!w->sf) {
		*err = -EIO;
		close(w->fd);
		unlink(part);
		free(w);
		return NULL;
	}
	sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
	w->s.ops = &wav_ops;
	snprintf(w->s.path, sizeof(w->s.path), "%s", path);
	w->s.format = "wav";
	w->s.channels = channels;
	return &w->s;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int rec_wav_fix(const char *part)
{
	uint8_t h[4096];
	struct stat st;
	ssize_t n;
	size_t off = 12, data_off = 0;
	unsigned align = 0;
	int fd = open(part, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || (n = pread(fd, h, sizeof(h), 0)) < 12) {
		close(fd);
		return -EINVAL;
	}
	if (memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
		close(fd);
		return -EINVAL;
	}
	while (off + 8 <= (size_t)n) { /* the chunks before the data */
		uint32_t sz = le32(h + off + 4);

		if (!memcmp(h + off, "fmt ", 4) && off + 8 + 14 <= (size_t)n)
			align = h[off + 8 + 12] | h[off + 8 + 13] << 8;
		if (!memcmp(h + off, "data", 4)) {
			data_off = off + 8;
			break;
		}
		off += 8 + sz + (sz & 1);
	}
	if (!data_off || !align || (off_t)data_off > st.st_size) {
		close(fd);
		return -EINVAL;
	}
	{
		uint64_t data = ((uint64_t)st.st_size - data_off) / align * align;
		uint8_t v[4];

		if (data > 0xffffffffu - data_off)
			data = (0xffffffffu - data_off) / align * align;
		if (ftruncate(fd, (off_t)(data_off + data)))
			rc = -errno;
		put_le32(v, (uint32_t)data);
		if (!rc && pwrite(fd, v, 4, (off_t)data_off - 4) != 4)
			rc = -EIO;
		put_le32(v, (uint32_t)(data_off + data - 8));
		if (!rc && pwrite(fd, v, 4, 4) != 4)
			rc = -EIO;
	}
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}
