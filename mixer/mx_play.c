/* SPDX-License-Identifier: MIT
 * mx_play: playback (see mx.h).
 *
 * A player is a media file's audio, decoded at open on the control lcore:
 * libsndfile reads WAV (and its other formats: any rate, channel count and
 * sample format, read as floats and rounded to 16 bits), libopusfile reads Ogg Opus (48 kHz), both
 * from memory (libsndfile's virtual I/O, op_open_memory): a file is read
 * whole first (at most MX_PLAY_MAX_FILE bytes), so files and blobs take one
 * path, and a WAV is rebuilt from its fmt, fact and data chunks before
 * libsndfile sees it (wav_rebuild).
 * Channels are averaged to mono. mx_player_set_rate resamples the whole
 * buffer once (codecs/' speexdsp wrapper, cdc_resample_buffer). On the
 * worker, mx_player_read only copies: no I/O, allocation or lock.
 *
 * mx_play_leg plays a player to one party of a relayed call: a media hook
 * on the leg that receives the other party's media holds it back, and a
 * ticker on the call encodes the file's audio through a way out
 * (mx_ep_out) towards the party. Samples are written by the clock's
 * deadlines (rate x elapsed time), so a late or skipped tick is caught up
 * and the stream keeps real time.
 */
#include "mx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opus/opusfile.h>
#include <sndfile.h>

#define CHUNK 4096 /* frames decoded at a time */

struct mx_player {
	int16_t *pcm;             /* one play's audio, mono */
	size_t n;
	uint32_t rate;
	unsigned repeat;          /* plays in all */
	/* worker */
	size_t pos;
	unsigned plays;           /* plays completed */
	_Atomic uint64_t given;   /* samples of audio given out */
	_Atomic bool done;
};

__attribute__((format(printf, 3, 4))) static void say(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* ---- decoding ---- */

/* Append k mono samples; grows the buffer. */
static int append(struct mx_player *p, size_t *cap, const int16_t *s, size_t k)
{
	if (p->n + k > *cap) {
		size_t c = *cap ? *cap * 2 : 8192; /* 1 s at 8 kHz; doubling */
		int16_t *np;

		while (c < p->n + k)
			c *= 2;
		if (!(np = realloc(p->pcm, c * sizeof(int16_t))))
			return -ENOMEM;
		p->pcm = np;
		*cap = c;
	}
	memcpy(p->pcm + p->n, s, k * sizeof(int16_t));
	p->n += k;
	return 0;
}

/* One frame of ch float channels (libsndfile's -1..1 for every sample
 * format) as one 16-bit sample: their mean, clipped. */
static int16_t mono(const float *f, unsigned ch)
{
	float sum = 0;

	for (unsigned c = 0; c < ch; c++)
		sum += f[c];
	sum = sum / (float)ch * 32768.0f;
	if (sum > 32767.0f)
		return 32767;
	if (sum < -32768.0f)
		return -32768;
	return (int16_t)lrintf(sum);
}

static int decode_sndfile(struct mx_player *p, SNDFILE *sf, const SF_INFO *info, char *msg, size_t len)
{
	float *buf = NULL;
	int16_t out[CHUNK];
	uint64_t max = (uint64_t)info->samplerate * MX_PLAY_MAX_S;
	size_t cap = 0;
	sf_count_t got;
	int e = 0;

	if (info->channels < 1 || info->channels > 64 || info->samplerate < 1000 || info->samplerate > 384000) {
		say(msg, len, "unsupported audio: %d channels at %d Hz", info->channels, info->samplerate);
		return -EINVAL;
	}
	if (info->frames > 0 && (uint64_t)info->frames > max) {
		say(msg, len, "the media is longer than %d s", MX_PLAY_MAX_S);
		return -EFBIG;
	}
	if (!(buf = malloc((size_t)CHUNK * (size_t)info->channels * sizeof(float))))
		return -ENOMEM;
	p->rate = (uint32_t)info->samplerate;
	/* floats: libsndfile scales every integer format to -1..1, and reads
	 * float files as they are (reading them as shorts would not scale) */
	while ((got = sf_readf_float(sf, buf, CHUNK)) > 0) {
		for (sf_count_t i = 0; i < got; i++)
			out[i] = mono(buf + i * info->channels, (unsigned)info->channels);
		if (p->n + (size_t)got > max) {
			say(msg, len, "the media is longer than %d s", MX_PLAY_MAX_S);
			e = -EFBIG;
			break;
		}
		if ((e = append(p, &cap, out, (size_t)got)))
			break;
	}
	if (!e && sf_error(sf)) {
		say(msg, len, "cannot decode the media: %s", sf_strerror(sf));
		e = -EINVAL;
	}
	free(buf);
	return e;
}

static int decode_opus(struct mx_player *p, OggOpusFile *of, char *msg, size_t len)
{
	opus_int16 st[CHUNK * 2];
	int16_t out[CHUNK];
	size_t cap = 0, max = (size_t)48000 * MX_PLAY_MAX_S;
	ogg_int64_t total = op_pcm_total(of, -1);
	int got, e = 0, holes = 0;

	p->rate = 48000;
	if (total > 0 && (uint64_t)total > max) {
		say(msg, len, "the media is longer than %d s", MX_PLAY_MAX_S);
		return -EFBIG;
	}
	for (;;) {
		got = op_read_stereo(of, st, CHUNK * 2);
		if (got == OP_HOLE && ++holes < 100)
			continue; /* a gap in the stream: go on after it */
		if (got < 0) {
			say(msg, len, "cannot decode the Ogg Opus stream (error %d)", got);
			return -EINVAL;
		}
		if (!got)
			break;
		for (int i = 0; i < got; i++)
			out[i] = (int16_t)(((int32_t)st[2 * i] + st[2 * i + 1]) / 2);
		if (p->n + (size_t)got > max) {
			say(msg, len, "the media is longer than %d s", MX_PLAY_MAX_S);
			return -EFBIG;
		}
		if ((e = append(p, &cap, out, (size_t)got)))
			return e;
	}
	return 0;
}

/* libsndfile's virtual I/O over a blob */
struct mem {
	const uint8_t *d;
	sf_count_t len, pos;
};

static sf_count_t mem_len(void *u) { return ((struct mem *)u)->len; }
static sf_count_t mem_tell(void *u) { return ((struct mem *)u)->pos; }

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
	struct mem *m = u;
	sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->len + off;

	if (to < 0 || to > m->len)
		return -1;
	return m->pos = to;
}

static sf_count_t mem_read(void *ptr, sf_count_t n, void *u)
{
	struct mem *m = u;

	if (n > m->len - m->pos)
		n = m->len - m->pos;
	memcpy(ptr, m->d + m->pos, (size_t)n);
	m->pos += n;
	return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t n, void *u)
{
	(void)ptr;
	(void)n;
	(void)u;
	return 0;
}

static bool is_ogg(const uint8_t *h, size_t n) { return n >= 4 && !memcmp(h, "OggS", 4); }

static uint32_t le32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static uint8_t *put_chunk(uint8_t *o, const char *id, const uint8_t *body, uint32_t n)
{
	memcpy(o, id, 4);
	put_le32(o + 4, n);
	memcpy(o + 8, body, n);
	o += 8 + n;
	if (n & 1)
		*o++ = 0; /* chunks are word-aligned */
	return o;
}

/* A RIFF/WAVE blob rebuilt from its "fmt ", "fact" and "data" chunks only,
 * walked here first (every size checked against what is there) so that
 * libsndfile never parses its other chunks: libsndfile 1.2.0 loops
 * without end on a LIST/INFO sub-chunk whose size reads as negative
 * (found by fuzz_play), and "play media" runs on the control lcore. A
 * data chunk claiming more than the blob holds (or 0, as streaming
 * writers leave it) is taken to the blob's end. Returns 0 with *out NULL
 * for anything that is not RIFF/WAVE (left to libsndfile as it is), 0
 * with *out the new blob (the caller frees it), or -EINVAL / -ENOMEM with
 * msg set. */
static int wav_rebuild(const uint8_t *d, size_t len, uint8_t **out, size_t *out_len, char *msg, size_t msglen)
{
	const uint8_t *fmt = NULL, *fact = NULL, *data = NULL;
	uint32_t fmt_n = 0, fact_n = 0, data_n = 0;
	size_t off = 12, total;
	uint8_t *o;

	*out = NULL;
	if (len < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WAVE", 4))
		return 0;
	while (!data && len - off >= 8) {
		const uint8_t *id = d + off;
		size_t n = le32(id + 4), avail = len - off - 8;

		if (!memcmp(id, "data", 4)) {
			data = id + 8;
			data_n = (uint32_t)(n == 0 || n > avail ? avail : n);
			break;
		}
		if (n > avail)
			break; /* a chunk cut short before any data: nothing more to find */
		if (!memcmp(id, "fmt ", 4) && !fmt) {
			fmt = id + 8;
			fmt_n = (uint32_t)n;
		} else if (!memcmp(id, "fact", 4) && !fact) {
			fact = id + 8;
			fact_n = (uint32_t)n;
		}
		off += 8 + n + (n & 1);
		if (off > len)
			break;
	}
	if (!fmt || fmt_n < 16) {
		say(msg, msglen, "a WAV file without a valid fmt chunk");
		return -EINVAL;
	}
	if (!data) {
		say(msg, msglen, "a WAV file without a data chunk");
		return -EINVAL;
	}
	total = 12 + 8 + fmt_n + (fmt_n & 1) + (fact ? 8 + fact_n + (fact_n & 1) : 0) + 8 + data_n + (data_n & 1);
	if (!(o = malloc(total)))
		return -ENOMEM;
	*out = o;
	*out_len = total;
	memcpy(o, "RIFF", 4);
	put_le32(o + 4, (uint32_t)(total - 8));
	memcpy(o + 8, "WAVE", 4);
	o = put_chunk(o + 12, "fmt ", fmt, fmt_n);
	if (fact)
		o = put_chunk(o, "fact", fact, fact_n);
	put_chunk(o, "data", data, data_n);
	return 0;
}

/* What went wrong, with the player's audio checked: no audio is an error. */
static struct mx_player *finish(struct mx_player *p, int e, int *err, char *msg, size_t len)
{
	if (!e && !p->n) {
		say(msg, len, "the media holds no audio");
		e = -ENODATA;
	}
	if (e) {
		if (e == -ENOMEM)
			say(msg, len, "no memory for the media");
		mx_player_destroy(p);
		if (err)
			*err = e;
		return NULL;
	}
	/* trim the buffer to what it holds */
	{
		int16_t *t = realloc(p->pcm, p->n * sizeof(int16_t));

		if (t)
			p->pcm = t;
	}
	p->repeat = 1;
	return p;
}

static struct mx_player *fail(int e, int *err, char *msg, size_t len, const char *what, const char *a)
{
	say(msg, len, "%s%s", what, a);
	if (err)
		*err = e;
	return NULL;
}

static int op_err(int rc, char *msg, size_t len)
{
	if (rc == OP_ENOTFORMAT) {
		say(msg, len, "not an Ogg Opus stream");
		return -EINVAL;
	}
	say(msg, len, "cannot read the Ogg Opus stream (%s)",
	    rc == OP_EBADHEADER ? "bad header" : rc == OP_EVERSION ? "unknown version" : rc == OP_EREAD ? "read error" : "corrupt");
	return -EINVAL;
}

/* Decode a media file held in memory: Ogg Opus through libopusfile, the
 * rest through libsndfile's virtual I/O, a WAV rebuilt first (wav_rebuild).
 * Files and blobs both come here, so what the fuzzer checks is what plays. */
static struct mx_player *open_mem(const uint8_t *data, size_t len, int *err, char *msg, size_t msglen)
{
	SF_VIRTUAL_IO vio = { mem_len, mem_seek, mem_read, mem_write, mem_tell };
	struct mx_player *p;
	uint8_t *wav;
	size_t wav_len = 0;
	struct mem m;
	SF_INFO info = { 0 };
	SNDFILE *sf;
	int e;

	if (!(p = calloc(1, sizeof(*p))))
		return fail(-ENOMEM, err, msg, msglen, "no memory for the media", "");
	if (is_ogg(data, len)) {
		int rc = 0;
		OggOpusFile *of = op_open_memory(data, len, &rc);

		if (!of)
			return finish(p, op_err(rc, msg, msglen), err, msg, msglen);
		e = decode_opus(p, of, msg, msglen);
		op_free(of);
		return finish(p, e, err, msg, msglen);
	}
	if ((e = wav_rebuild(data, len, &wav, &wav_len, msg, msglen)))
		return finish(p, e, err, msg, msglen);
	m = (struct mem){ wav ? wav : data, (sf_count_t)(wav ? wav_len : len), 0 };
	sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
	if (!sf) {
		say(msg, msglen, "unsupported or unreadable media: %s", sf_strerror(NULL));
		free(wav);
		return finish(p, -EINVAL, err, NULL, 0);
	}
	e = decode_sndfile(p, sf, &info, msg, msglen);
	sf_close(sf);
	free(wav);
	return finish(p, e, err, msg, msglen);
}

struct mx_player *mx_player_open_file(const char *path, int *err, char *msg, size_t msglen)
{
	struct mx_player *p;
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	int fd, e;

	if (!path || !*path)
		return fail(-EINVAL, err, msg, msglen, "no media file named", "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		return fail(e, err, msg, msglen, "cannot open the media file: ", strerror(-e));
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(-EISDIR, err, msg, msglen, "the media file is not a regular file", "");
	}
	if ((uint64_t)sb.st_size > MX_PLAY_MAX_FILE) {
		close(fd);
		say(msg, msglen, "the media file is larger than %u MiB", MX_PLAY_MAX_FILE >> 20);
		if (err)
			*err = -EFBIG;
		return NULL;
	}
	if (!sb.st_size) {
		close(fd);
		return fail(-ENODATA, err, msg, msglen, "the media file is empty", "");
	}
	if (!(buf = malloc((size_t)sb.st_size))) {
		close(fd);
		return fail(-ENOMEM, err, msg, msglen, "no memory for the media", "");
	}
	/* the size at fstat: a file that grows meanwhile is read to that size */
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? -errno : -EIO;
			close(fd);
			free(buf);
			return fail(e, err, msg, msglen, "cannot read the media file: ", strerror(-e));
		}
		got += (size_t)r;
	}
	close(fd);
	p = open_mem(buf, got, err, msg, msglen);
	free(buf);
	return p;
}

struct mx_player *mx_player_open_blob(const void *data, size_t len, int *err, char *msg, size_t msglen)
{
	if (!data || !len)
		return fail(-ENODATA, err, msg, msglen, "the media blob is empty", "");
	return open_mem(data, len, err, msg, msglen);
}

void mx_player_destroy(struct mx_player *p)
{
	if (!p)
		return;
	free(p->pcm);
	free(p);
}

int mx_player_set_repeat(struct mx_player *p, unsigned times)
{
	if (!p || !times)
		return -EINVAL;
	p->repeat = times;
	return 0;
}

int mx_player_set_rate(struct mx_player *p, uint32_t rate)
{
	size_t want;
	int16_t *out;
	long got;

	if (!p || rate < 1000 || rate > 384000)
		return -EINVAL;
	if (rate == p->rate)
		return 0;
	want = (size_t)(((unsigned __int128)p->n * rate + p->rate / 2) / p->rate);
	if (!want)
		want = 1;
	if (!(out = calloc(want, sizeof(int16_t))))
		return -ENOMEM;
	got = cdc_resample_buffer(p->pcm, p->n, p->rate, out, want, rate, 8);
	if (got == 0 && want == 1) {
		/* shorter than half a sample at rate (a few samples resampled
		 * down): the resampler gives none; keep one, the first */
		out[0] = p->pcm[0];
		got = 1;
	}
	if (got <= 0) {
		free(out);
		return got == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	free(p->pcm);
	p->pcm = out;
	p->n = (size_t)got;
	p->rate = rate;
	return 0;
}

uint32_t mx_player_rate(const struct mx_player *p) { return p->rate; }

uint64_t mx_player_duration_ms(const struct mx_player *p)
{
	return ((uint64_t)p->n * 1000 + p->rate / 2) / p->rate;
}

size_t mx_player_read(struct mx_player *p, int16_t *out, size_t n)
{
	size_t k = 0;

	while (k < n && p->plays < p->repeat) {
		size_t m = p->n - p->pos;

		if (m > n - k)
			m = n - k;
		memcpy(out + k, p->pcm + p->pos, m * sizeof(int16_t));
		p->pos += m;
		k += m;
		if (p->pos == p->n) {
			p->pos = 0;
			p->plays++;
		}
	}
	if (k < n)
		memset(out + k, 0, (n - k) * sizeof(int16_t));
	if (k)
		atomic_store_explicit(&p->given, atomic_load_explicit(&p->given, memory_order_relaxed) + k,
				      memory_order_relaxed);
	if (p->plays >= p->repeat && !atomic_load_explicit(&p->done, memory_order_relaxed))
		atomic_store_explicit(&p->done, true, memory_order_release);
	return k;
}

bool mx_player_done(const struct mx_player *p) { return atomic_load_explicit(&p->done, memory_order_acquire); }

uint64_t mx_player_played_ms(const struct mx_player *p)
{
	return atomic_load_explicit(&p->given, memory_order_relaxed) * 1000 / p->rate;
}

/* ---- playback to one party of a relayed call ---- */

struct mx_play_leg {
	struct dp_leg *hold, *out_leg;
	struct mx_player *p;
	struct mx_ep_out *out;
	struct dp_ticker *ticker;
	uint32_t frame;           /* samples in one outgoing packet */
	uint64_t t0_ns;           /* the first tick's deadline */
	uint64_t written;         /* samples written to the way out */
	bool started;
	_Atomic bool sent;        /* the last frame went out: hold's packets are forwarded */
	_Atomic uint64_t held;    /* packets held back */
};

/* hold's hook: the other party's packets are held back while the file
 * plays, then forwarded as they are until control gives the leg back. */
static void hold_hook(void *ctx, const struct dp_rtp_frame *f, uint64_t arrival_tsc)
{
	struct mx_play_leg *pl = ctx;

	(void)arrival_tsc;
	if (atomic_load_explicit(&pl->sent, memory_order_relaxed))
		dp_leg_send(pl->out_leg, f, 1);
	else
		atomic_store_explicit(&pl->held, atomic_load_explicit(&pl->held, memory_order_relaxed) + 1,
				      memory_order_relaxed);
}

static void play_tick(void *ctx, uint64_t n_tick, uint64_t deadline_ns)
{
	static _Thread_local int16_t buf[MX_MIXER_MAX_FRAME];
	struct mx_play_leg *pl = ctx;
	uint64_t due;

	(void)n_tick;
	if (atomic_load_explicit(&pl->sent, memory_order_relaxed))
		return;
	if (!pl->started) { /* the timeline starts here; audio from the next tick on */
		pl->started = true;
		pl->t0_ns = deadline_ns;
		return;
	}
	mx_ep_out_begin(pl->out);
	due = (uint64_t)((unsigned __int128)(deadline_ns - pl->t0_ns) * pl->p->rate / 1000000000u);
	if (due - pl->written > (uint64_t)pl->p->rate) /* a second behind (cannot be, unless stalled) */
		pl->written = due - pl->p->rate;
	while (pl->written < due) {
		size_t n = due - pl->written > MX_MIXER_MAX_FRAME ? MX_MIXER_MAX_FRAME : (size_t)(due - pl->written);
		uint32_t part = (uint32_t)(pl->written % pl->frame);

		if (!mx_player_done(pl->p)) {
			mx_player_read(pl->p, buf, n);
		} else if (part) { /* pad the last frame with silence, so it goes out */
			if (n > pl->frame - part)
				n = pl->frame - part;
			memset(buf, 0, n * sizeof(int16_t));
		} else {
			break;
		}
		mx_ep_out_write(pl->out, buf, n);
		pl->written += n;
	}
	if (mx_player_done(pl->p) && !(pl->written % pl->frame))
		atomic_store_explicit(&pl->sent, true, memory_order_release);
}

static void play_leg_free(void *ctx)
{
	struct mx_play_leg *pl = ctx;

	mx_ep_out_destroy(pl->out);
	mx_player_destroy(pl->p);
	free(pl);
}

struct mx_play_leg *mx_play_leg_start(struct dp_leg *hold, struct dp_leg *out, const struct cdc_sink_conf *c,
				      struct mx_player *p, int *err)
{
	struct cdc_sink_conf kc = *c;
	struct mx_play_leg *pl;
	uint32_t rate = c->out.sample_rate;
	int e = -EINVAL;

	if (!hold || !out || !p)
		goto fail;
	if (rate != 8000 && rate != 16000 && rate != 24000 && rate != 32000 && rate != 48000)
		rate = 48000;
	if ((e = mx_player_set_rate(p, rate)))
		goto fail;
	kc.in_rate = rate;
	kc.in_channels = 1;
	e = -ENOMEM;
	if (!(pl = calloc(1, sizeof(*pl))))
		goto fail;
	pl->hold = hold;
	pl->out_leg = out;
	pl->p = p;
	if (!(pl->out = mx_ep_out_create(out, &kc, &e))) {
		free(pl);
		goto fail;
	}
	pl->frame = (uint32_t)((uint64_t)rate * (cdc_ptime_valid(kc.out_ptime) ? kc.out_ptime : 20) / 1000);
	if (!pl->frame)
		pl->frame = 1;
	/* the ticker first: a hook without it would only hold media back */
	if (!(pl->ticker = dp_ticker_add(dp_leg_call(out), play_tick, pl, &e))) {
		mx_ep_out_destroy(pl->out);
		free(pl);
		goto fail;
	}
	if ((e = dp_leg_set_hook_deferred(hold, hold_hook, pl, NULL))) {
		pl->p = NULL; /* the caller keeps p */
		dp_ticker_remove_deferred(pl->ticker, play_leg_free);
		goto fail;
	}
	return pl;
fail:
	if (err)
		*err = e;
	return NULL;
}

bool mx_play_leg_done(const struct mx_play_leg *pl)
{
	return atomic_load_explicit(&pl->sent, memory_order_acquire);
}

uint64_t mx_play_leg_played_ms(const struct mx_play_leg *pl) { return mx_player_played_ms(pl->p); }

void mx_play_leg_stop(struct mx_play_leg *pl)
{
	if (!pl)
		return;
	/* the hook's clear first, the ticker's removal last: its release covers both */
	dp_leg_set_hook_deferred(pl->hold, NULL, NULL, NULL);
	dp_ticker_remove_deferred(pl->ticker, play_leg_free);
}
