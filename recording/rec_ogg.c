/* SPDX-License-Identifier: MIT
 * rec_ogg: the Ogg Opus sink (libopusenc) and the recovery of an Ogg file
 * a crash cut short. libopusenc hands us finished Ogg pages through a
 * write callback; its decision and muxing delays are set to 200 ms each,
 * so at most about 400 ms of audio waits in memory. An Ogg stream cut after a whole page
 * plays; rec_ogg_fix cuts a file after its last whole page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opusenc.h>

#include "rec_seal_int.h"

struct ogg {
	struct rec_sink s;
	OggOpusEnc *enc;
	struct rec_out out; /* plain or sealed (rec_seal_int.h) */
	int werr; /* the first write error of the callback */
};

static int cb_write(void *user, const unsigned char *p, opus_int32 len)
{
	struct ogg *o = user;
	int e = rec_out_write(&o->out, p, (size_t)len);

	if (e) {
		o->werr = e;
		return 1;
	}
	return 0;
}

static int cb_close(void *user)
{
	(void)user;
	return 0;
}

static const OpusEncCallbacks cbs = { cb_write, cb_close };

static int ogg_pcm(struct rec_sink *s, const int16_t *pcm, size_t frames)
{
	struct ogg *o = (struct ogg *)s;
	int e = ope_encoder_write(o->enc, pcm, (int)frames);

	if (o->werr)
		return o->werr;
	return e == OPE_OK ? 0 : -EIO;
}

static int ogg_sync(struct rec_sink *s)
{
	struct ogg *o = (struct ogg *)s;

	if (o->werr)
		return o->werr;
	return rec_out_sync(&o->out);
}

static int ogg_close(struct rec_sink *s)
{
	struct ogg *o = (struct ogg *)s;
	int rc = 0, e;

	if (!o->werr && ope_encoder_drain(o->enc) != OPE_OK)
		rc = -EIO;
	if (o->werr)
		rc = o->werr;
	ope_encoder_destroy(o->enc);
	e = rec_out_close(&o->out);
	if (e && !rc)
		rc = e;
	free(o);
	return rc;
}

static const struct rec_sink_ops ogg_ops = { .pcm = ogg_pcm, .sync = ogg_sync, .close = ogg_close };

struct rec_sink *rec_ogg_open(const char *path, uint32_t rate, unsigned channels, const char *title, int *err)
{
	struct ogg *o = calloc(1, sizeof(*o));
	OggOpusComments *c;
	int e = 0;

	if (!o || !(c = ope_comments_create())) {
		free(o);
		*err = -ENOMEM;
		return NULL;
	}
	ope_comments_add(c, "ENCODER", "medius");
	if (title && *title)
		ope_comments_add(c, "TITLE", title);
	if ((e = rec_out_open(&o->out, path, o->s.path))) {
		*err = e;
		ope_comments_destroy(c);
		free(o);
		return NULL;
	}
	o->enc = ope_encoder_create_callbacks(&cbs, o, c, (opus_int32)rate, (int)channels, 0, &e);
	ope_comments_destroy(c);
	if (!o->enc) {
		*err = -EINVAL;
		rec_out_discard(&o->out, o->s.path);
		free(o);
		return NULL;
	}
	/* libopusenc holds up to its decision delay of audio before encoding
	 * (2 s by default) and its muxing delay of packets before a page: 200
	 * ms each (in 48 kHz samples), so a crash loses little */
	ope_encoder_ctl(o->enc, OPE_SET_DECISION_DELAY(9600));
	ope_encoder_ctl(o->enc, OPE_SET_MUXING_DELAY(9600));
	ope_encoder_ctl(o->enc, OPUS_SET_BITRATE(channels > 1 ? 48000 : 32000));
	ope_encoder_flush_header(o->enc);
	o->s.ops = &ogg_ops;
	o->s.format = "opus";
	o->s.channels = channels;
	return &o->s;
}

int rec_ogg_fix(const char *part)
{
	int fd = open(part, O_RDWR | O_CLOEXEC), rc = 0;
	uint8_t h[27 + 255];
	off_t off = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	for (;;) { /* walk whole pages: "OggS", the header, the lacing table, the body */
		off_t body;
		unsigned nseg, len = 0;

		if (off + 27 > st.st_size || pread(fd, h, 27, off) != 27 || memcmp(h, "OggS", 4))
			break;
		nseg = h[26];
		if (off + 27 + nseg > st.st_size || pread(fd, h + 27, nseg, off + 27) != (ssize_t)nseg)
			break;
		for (unsigned i = 0; i < nseg; i++)
			len += h[27 + i];
		body = off + 27 + nseg;
		if (body + len > st.st_size)
			break;
		off = body + len;
	}
	if (off < 27)
		rc = -EINVAL; /* not even the first page */
	else if (off < st.st_size && ftruncate(fd, off))
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}
