/* SPDX-License-Identifier: MIT
 * Playback's player (mixer/mx_play.c): WAV files at 8, 16, 44.1 and
 * 48 kHz, mono and stereo (16-bit, 24-bit and float), and Ogg Opus, all
 * written here with libsndfile (an independent writer), read from a file
 * and from memory; the tone's frequency (Goertzel), length and level
 * after resampling; stereo down-mixed; repeats; the errors before
 * anything plays. Also codecs/' whole-buffer resampler: exact length and
 * no delay. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio_util.h"
#include "cdc.h"
#include "mx.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/medius_play_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(play, .init = setup, .fini = teardown);

/* Write a file of `secs` seconds: channel 0 a sine of freq, channel 1 (if
 * any) `right` times it. Returns the path. */
static const char *write_tone(const char *name, int format, uint32_t rate, int ch, double secs, double freq,
			      double right)
{
	static char path[128];
	SF_INFO info = { .samplerate = (int)rate, .channels = ch, .format = format };
	sf_count_t n = (sf_count_t)lrint(secs * rate);
	double *buf = calloc((size_t)n * (size_t)ch, sizeof(double));
	SNDFILE *sf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(buf);
	for (sf_count_t i = 0; i < n; i++) {
		double v = 0.5 * sin(2 * M_PI * freq * (double)i / rate);

		buf[i * ch] = v;
		if (ch > 1)
			buf[i * ch + 1] = right * v;
	}
	sf = sf_open(path, SFM_WRITE, &info);
	cr_assert_not_null(sf, "%s: %s", name, sf_strerror(NULL));
	cr_assert_eq(sf_writef_double(sf, buf, n), n);
	sf_close(sf);
	free(buf);
	return path;
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *d;
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc((size_t)n);
	cr_assert_eq(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

/* Read everything the player gives, in 20 ms frames; returns the samples
 * of audio and the buffer (all of it). */
static int16_t *drain(struct mx_player *p, uint32_t rate, size_t *n_out)
{
	size_t frame = rate / 50, cap = 0, n = 0, got;
	int16_t *all = NULL;

	do {
		if (n + frame > cap) {
			cap = cap ? cap * 2 : frame * 64;
			all = realloc(all, cap * sizeof(int16_t));
		}
		got = mx_player_read(p, all + n, frame);
		for (size_t i = got; i < frame; i++) /* past the end: silence */
			cr_assert_eq(all[n + i], 0);
		n += got;
	} while (got == frame);
	cr_assert(mx_player_done(p));
	{
		int16_t after[960];

		cr_assert_eq(mx_player_read(p, after, frame), 0, "nothing after the end");
	}
	*n_out = n;
	return all;
}

/* The player holds `secs` of a tone of freq at `rate` (its set rate). */
static void check_tone(struct mx_player *p, uint32_t rate, double secs, double freq, double amp, double len_tol_ms)
{
	size_t n;
	int16_t *pcm = drain(p, rate, &n);
	double ms = n * 1000.0 / rate, mid_ratio, rms;
	size_t w = rate / 5; /* 200 ms in the middle */

	cr_assert(fabs(ms - secs * 1000) <= len_tol_ms, "length %.1f ms, want %.0f", ms, secs * 1000);
	cr_assert(labs((long)mx_player_duration_ms(p) - (long)lrint(secs * 1000)) <= len_tol_ms);
	cr_assert_geq(n, w * 2);
	mid_ratio = au_tone_ratio(pcm + n / 2 - w / 2, w, freq, rate);
	rms = au_rms(pcm + n / 2 - w / 2, w);
	cr_assert_gt(mid_ratio, 0.9, "tone share %.3f at %.0f Hz (%u Hz, %zu samples, rms %.0f)", mid_ratio, freq, rate, n, rms);
	/* a sine of peak amp * 32767 has rms amp * 32767 / sqrt 2 */
	cr_assert(fabs(rms - amp * 32767 / sqrt(2)) < amp * 32767 * 0.1, "rms %.0f", rms);
	cr_assert(mx_player_played_ms(p) >= (uint64_t)(secs * 1000) - 1);
	free(pcm);
}

Test(play, wav_rates_and_channels)
{
	static const uint32_t rates[] = { 8000, 16000, 44100, 48000 };
	static const int fmts[] = { SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_PCM_24,
				    SF_FORMAT_WAV | SF_FORMAT_FLOAT };

	for (unsigned r = 0; r < 4; r++)
		for (int ch = 1; ch <= 2; ch++)
			for (unsigned f = 0; f < 3; f++) {
				static const uint32_t outs[] = { 8000, 16000, 48000 };
				char name[64];
				const char *path;
				uint32_t out = outs[(r + f + (unsigned)ch) % 3];
				struct mx_player *p;
				int e = 0;
				char msg[160];

				snprintf(name, sizeof(name), "t%u_%d_%u.wav", rates[r], ch, f);
				path = write_tone(name, fmts[f], rates[r], ch, 1.0, 800, 1.0);
				p = mx_player_open_file(path, &e, msg, sizeof(msg));
				cr_assert_not_null(p, "%s: %d %s", name, e, msg);
				cr_assert_eq(mx_player_rate(p), rates[r]);
				cr_assert_eq(mx_player_duration_ms(p), 1000);
				cr_assert_eq(mx_player_set_rate(p, out), 0);
				cr_assert_eq(mx_player_rate(p), out);
				check_tone(p, out, 1.0, 800, 0.5, 1);
				mx_player_destroy(p);
			}
}

Test(play, stereo_is_averaged)
{
	/* right = -left: the mono mix cancels; right = 0: half the level */
	const char *path = write_tone("anti.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 0.5, 600, -1.0);
	struct mx_player *p = mx_player_open_file(path, NULL, NULL, 0);
	size_t n;
	int16_t *pcm;

	cr_assert_not_null(p);
	pcm = drain(p, 16000, &n);
	cr_assert_eq(n, 8000);
	cr_assert_lt(au_rms(pcm, n), 2);
	free(pcm);
	mx_player_destroy(p);
	path = write_tone("half.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 0.5, 600, 0.0);
	p = mx_player_open_file(path, NULL, NULL, 0);
	cr_assert_not_null(p);
	check_tone(p, 16000, 0.5, 600, 0.25, 1);
	mx_player_destroy(p);
}

Test(play, ogg_opus_file_and_blob)
{
	const char *path = write_tone("tone.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, 2.0, 1000, 1.0);
	char copy[128];
	struct mx_player *p;
	void *blob;
	size_t len;
	int e = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	p = mx_player_open_file(copy, &e, NULL, 0);
	cr_assert_not_null(p, "%d", e);
	cr_assert_eq(mx_player_rate(p), 48000);
	cr_assert_eq(mx_player_set_rate(p, 8000), 0);
	check_tone(p, 8000, 2.0, 1000, 0.5, 25); /* opus frames: within one 20 ms frame */
	mx_player_destroy(p);
	blob = slurp(copy, &len);
	p = mx_player_open_blob(blob, len, &e, NULL, 0);
	cr_assert_not_null(p, "%d", e);
	check_tone(p, 48000, 2.0, 1000, 0.5, 25);
	mx_player_destroy(p);
	/* a stereo Opus file down-mixed */
	path = write_tone("st.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, 1.0, 700, 1.0);
	p = mx_player_open_file(path, &e, NULL, 0);
	cr_assert_not_null(p, "%d", e);
	cr_assert_eq(mx_player_set_rate(p, 16000), 0);
	check_tone(p, 16000, 1.0, 700, 0.5, 25);
	mx_player_destroy(p);
	free(blob);
}

Test(play, wav_blob_matches_file)
{
	const char *path = write_tone("b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, 0.7, 440, 0.5);
	char copy[128];
	struct mx_player *a, *b;
	int16_t *pa, *pb;
	size_t na, nb, len;
	void *blob;

	snprintf(copy, sizeof(copy), "%s", path);
	blob = slurp(copy, &len);
	a = mx_player_open_file(copy, NULL, NULL, 0);
	b = mx_player_open_blob(blob, len, NULL, NULL, 0);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	pa = drain(a, 8000, &na);
	pb = drain(b, 8000, &nb);
	cr_assert_eq(na, 5600);
	cr_assert_eq(na, nb);
	cr_assert_eq(memcmp(pa, pb, na * sizeof(int16_t)), 0);
	free(pa);
	free(pb);
	free(blob);
	mx_player_destroy(a);
	mx_player_destroy(b);
}

Test(play, repeats)
{
	const char *path = write_tone("r.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.33, 500, 1.0);
	struct mx_player *p = mx_player_open_file(path, NULL, NULL, 0);
	int16_t *pcm;
	size_t n, one = 2640;

	cr_assert_not_null(p);
	cr_assert_eq(mx_player_set_repeat(p, 0), -EINVAL);
	cr_assert_eq(mx_player_set_repeat(p, 3), 0);
	cr_assert_eq(mx_player_duration_ms(p), 330);
	pcm = drain(p, 8000, &n);
	cr_assert_eq(n, 3 * one, "%zu samples", n);
	cr_assert_eq(memcmp(pcm, pcm + one, one * sizeof(int16_t)), 0);
	cr_assert_eq(memcmp(pcm, pcm + 2 * one, one * sizeof(int16_t)), 0);
	cr_assert_eq(mx_player_played_ms(p), 990);
	free(pcm);
	mx_player_destroy(p);
}

/* found by fuzz_play: a file shorter than half a sample at the graph's rate
 * (two samples at 48 kHz played at 8 kHz) resamples to one sample, not to an
 * error */
Test(play, tiny_file_resamples_to_one_sample)
{
	const char *path = write_tone("tiny.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 2.0 / 48000, 1000, 0.5);
	struct mx_player *p = mx_player_open_file(path, NULL, NULL, 0);
	int16_t s[4];

	cr_assert_not_null(p);
	cr_assert_eq(mx_player_set_rate(p, 8000), 0);
	cr_assert_eq(mx_player_rate(p), 8000);
	cr_assert_eq(mx_player_read(p, s, 4), 1);
	cr_assert(mx_player_done(p));
	mx_player_destroy(p);
}

static int e;

static void expect_err(struct mx_player *p, int want, const char *msg)
{
	cr_assert_null(p);
	cr_assert_eq(e, want, "error %d, want %d (%s)", e, want, msg);
	cr_assert_gt(strlen(msg), 5, "a message for the reply");
}

Test(play, errors)
{
	char path[160], msg[160] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.wav", dir);
	expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -ENOENT, msg);
	expect_err(mx_player_open_file(dir, &e, msg, sizeof(msg)), -EISDIR, msg);
	/* not audio */
	snprintf(path, sizeof(path), "%s/junk.wav", dir);
	f = fopen(path, "w");
	fputs("this is not a RIFF file, nor anything else libsndfile reads at all", f);
	fclose(f);
	expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -EINVAL, msg);
	/* Ogg, but broken */
	f = fopen(path, "w");
	fputs("OggS and then garbage that is no Opus header", f);
	fclose(f);
	expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -EINVAL, msg);
	expect_err(mx_player_open_blob("OggS....garbage", 15, &e, msg, sizeof(msg)), -EINVAL, msg);
	expect_err(mx_player_open_blob("RIFF", 4, &e, msg, sizeof(msg)), -EINVAL, msg);
	expect_err(mx_player_open_blob(NULL, 0, &e, msg, sizeof(msg)), -ENODATA, msg);
	/* an empty file */
	f = fopen(path, "w");
	fclose(f);
	expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -ENODATA, msg);
	cr_expect(strstr(msg, "empty"), "%s", msg);
	/* a file larger than a player reads (sparse: nothing is written) */
	cr_assert_eq(truncate(path, (off_t)MX_PLAY_MAX_FILE + 1), 0);
	expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -EFBIG, msg);
	cr_expect(strstr(msg, "larger than"), "%s", msg);
	cr_assert_eq(truncate(path, 0), 0);
	/* a WAV without samples */
	{
		SF_INFO info = { .samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
		SNDFILE *sf;

		snprintf(path, sizeof(path), "%s/empty.wav", dir);
		sf = sf_open(path, SFM_WRITE, &info);
		cr_assert_not_null(sf);
		sf_close(sf);
		expect_err(mx_player_open_file(path, &e, msg, sizeof(msg)), -ENODATA, msg);
	}
	/* longer than MX_PLAY_MAX_S (at a low rate, so the file stays small) */
	{
		const char *p = write_tone("long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1000, 1, MX_PLAY_MAX_S + 1, 100, 1);

		expect_err(mx_player_open_file(p, &e, msg, sizeof(msg)), -EFBIG, msg);
		struct mx_player *ok = mx_player_open_file(write_tone("ok.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1000, 1,
								       MX_PLAY_MAX_S - 1, 100, 1), &e, NULL, 0);

		cr_assert_not_null(ok, "a file just under the limit opens");
		mx_player_destroy(ok);
	}
	/* unreadable (not as root: root reads everything) */
	if (geteuid() != 0) {
		const char *p = write_tone("secret.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.1, 100, 1);

		chmod(p, 0);
		expect_err(mx_player_open_file(p, &e, msg, sizeof(msg)), -EACCES, msg);
	}
}

/* The blob opens and plays exactly want's n samples at 8 kHz, as a blob
 * and written to a file (ng `play media` with `blob` and with `file`). */
static void expect_plays(const void *blob, size_t len, const int16_t *want, size_t n)
{
	char msg[160] = "", path[160];
	struct mx_player *p;
	int16_t *got;
	size_t ng;
	FILE *f;

	snprintf(path, sizeof(path), "%s/blob.wav", dir);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(blob, 1, len, f), len);
	fclose(f);
	for (int k = 0; k < 2; k++) {
		p = k ? mx_player_open_file(path, NULL, msg, sizeof(msg)) : mx_player_open_blob(blob, len, NULL, msg, sizeof(msg));
		cr_assert_not_null(p, "%s: %s", k ? "file" : "blob", msg);
		got = drain(p, 8000, &ng);
		cr_assert_eq(ng, n, "%s: %zu samples, want %zu", k ? "file" : "blob", ng, n);
		cr_assert_eq(memcmp(got, want, n * sizeof(int16_t)), 0);
		mx_player_destroy(p);
		free(got);
	}
}

/* A WAV blob's chunks other than fmt/fact/data never reach libsndfile
 * (mx_play.c's wav_rebuild): libsndfile 1.2.0 looped without end on a
 * LIST/INFO sub-chunk whose size reads as negative (fuzz_play; its input
 * is in the corpus as regress_wav_list_negative_size). */
Test(play, wav_blob_chunks_checked_first)
{
	const char *path = write_tone("meta.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.5, 440, 1);
	SF_INFO info = { 0 };
	SNDFILE *sf;
	struct mx_player *a;
	int16_t *pa;
	size_t na, len;
	uint8_t *blob, *isft, *data;
	char copy[128], msg[160] = "";

	snprintf(copy, sizeof(copy), "%s", path);
	/* give it a LIST/INFO chunk: a software string */
	sf = sf_open(copy, SFM_RDWR, &info);
	cr_assert_not_null(sf);
	cr_assert_eq(sf_set_string(sf, SF_STR_SOFTWARE, "medius test"), 0);
	sf_close(sf);
	blob = slurp(copy, &len);
	isft = memmem(blob, len, "ISFT", 4);
	cr_assert_not_null(isft, "libsndfile wrote a LIST/INFO ISFT sub-chunk");
	a = mx_player_open_file(copy, NULL, NULL, 0);
	cr_assert_not_null(a);
	pa = drain(a, 8000, &na);
	cr_assert_eq(na, 4000);
	/* its size made negative: the blob still plays, the same samples */
	isft[4] = 0xf4, isft[5] = isft[6] = isft[7] = 0xff;
	expect_plays(blob, len, pa, na);
	/* the same sub-chunk before the data, where libsndfile would parse
	 * it: RIFF, fmt, LIST/INFO/ISFT of size -12, data */
	{
		uint8_t *fmt = memmem(blob, len, "fmt ", 4), *w;
		size_t fmt_n, data_n, n;
		static const uint8_t list[] = { 'L', 'I', 'S', 'T', 16, 0, 0, 0, 'I', 'N', 'F', 'O',
						'I', 'S', 'F', 'T', 0xf4, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd' };

		data = memmem(blob, len, "data", 4);
		cr_assert(fmt && data);
		fmt_n = 8 + (size_t)(fmt[4] | fmt[5] << 8);
		data_n = 8 + (size_t)(data[4] | data[5] << 8 | data[6] << 16);
		n = 12 + fmt_n + sizeof(list) + data_n;
		w = malloc(n);
		cr_assert_not_null(w);
		memcpy(w, blob, 12);
		memcpy(w + 12, fmt, fmt_n);
		memcpy(w + 12 + fmt_n, list, sizeof(list));
		memcpy(w + 12 + fmt_n + sizeof(list), data, data_n);
		expect_plays(w, n, pa, na);
		/* a data chunk that claims more than there is (a streaming
		 * writer's 0xffffffff) plays what there is */
		memset(w + 12 + fmt_n + sizeof(list) + 4, 0xff, 4);
		expect_plays(w, n, pa, na);
		free(w);
	}
	/* no fmt chunk: refused, saying so */
	memcpy(memmem(blob, len, "fmt ", 4), "junk", 4);
	expect_err(mx_player_open_blob(blob, len, &e, msg, sizeof(msg)), -EINVAL, msg);
	cr_expect(strstr(msg, "fmt chunk"), "%s", msg);
	/* no data chunk */
	memcpy(memmem(blob, len, "junk", 4), "fmt ", 4);
	memcpy(data, "dat!", 4);
	expect_err(mx_player_open_blob(blob, len, &e, msg, sizeof(msg)), -EINVAL, msg);
	cr_expect(strstr(msg, "data chunk"), "%s", msg);
	mx_player_destroy(a);
	free(pa);
	free(blob);
}

Test(play, resample_buffer_exact)
{
	/* 8 kHz -> 48 kHz and 44.1 kHz -> 8 kHz: exact length, no delay, the
	 * same sine as one made at the new rate */
	static const uint32_t pairs[][2] = { { 8000, 48000 }, { 44100, 8000 }, { 48000, 16000 }, { 16000, 44100 } };

	for (unsigned k = 0; k < 4; k++) {
		uint32_t in_rate = pairs[k][0], out_rate = pairs[k][1];
		size_t n = in_rate, want = out_rate;
		int16_t *in = malloc(n * sizeof(int16_t)), *out = malloc(want * sizeof(int16_t));
		int16_t *ref = malloc(want * sizeof(int16_t));
		long got;
		double snr;

		au_tone(in, n, 700, 10000, in_rate);
		au_tone(ref, want, 700, 10000, out_rate);
		cr_assert_eq(cdc_resample_buffer(in, n, in_rate, out, want - 1, out_rate, -1), -ENOSPC);
		got = cdc_resample_buffer(in, n, in_rate, out, want, out_rate, 8);
		cr_assert_eq(got, (long)want);
		/* in the middle (the ends see the file's edges): aligned, lag 0 */
		snr = au_snr(ref, out, want - want / 10, 0, want / 10, NULL);
		cr_assert_gt(snr, 30, "%u -> %u: SNR %.1f dB at lag 0", in_rate, out_rate, snr);
		free(in);
		free(out);
		free(ref);
	}
	cr_assert_eq(cdc_resample_buffer(NULL, 0, 500, NULL, 0, 8000, -1), -EINVAL);
}
