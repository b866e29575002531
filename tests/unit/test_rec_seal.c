/* SPDX-License-Identifier: MIT
 * Encryption at rest (recording/rec_seal*.c, rec_key.c, rec_export.c):
 * the sealed container round trip across chunks, tampering and
 * truncation found and located, recovery of a sealed .part, re-wrapping
 * under a new KEK, key files, the sealed sinks and sidecar, and export
 * (all or nothing, a playable WAV). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opusfile.h>
#include <sndfile.h>

#include "rec_int.h"
#include "rec_seal.h"

static char dir[256];

static void mkroot(void)
{
	snprintf(dir, sizeof(dir), "/tmp/medius-test-seal-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rmroot(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(seal, .init = mkroot, .fini = rmroot);

/* A key file of 64 hex digits made from seed, mode 0600. */
static void key_file(const char *name, unsigned seed, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (unsigned i = 0; i < 32; i++)
		fprintf(f, "%02x", (seed * 37 + i * 11) & 0xff);
	fprintf(f, "\n");
	fclose(f);
	cr_assert_eq(chmod(path, 0600), 0);
}

static void kek(unsigned seed, const char *id, struct rec_kek *k)
{
	char path[PATH_MAX], err[512], name[32];

	snprintf(name, sizeof(name), "k%u.key", seed);
	key_file(name, seed, path, sizeof(path));
	cr_assert_eq(rec_kek_load(path, id, k, err, sizeof(err)), 0, "%s", err);
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 9));
	return p;
}

/* Seal n bytes of p to path in writes of step bytes, flushing every flush_every writes. */
static void seal_to(const char *path, const struct rec_kek *k, const uint8_t *p, size_t n, size_t step,
		    unsigned flush_every, bool final)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), e = 0;
	struct rec_seal *s;
	unsigned w = 0;

	cr_assert_geq(fd, 0);
	s = rec_seal_open(fd, k, &e);
	cr_assert_not_null(s, "%d", e);
	for (size_t at = 0; at < n; at += step) {
		cr_assert_eq(rec_seal_write(s, p + at, n - at < step ? n - at : step), 0);
		if (flush_every && ++w % flush_every == 0)
			cr_assert_eq(rec_seal_flush(s), 0);
	}
	if (final)
		cr_assert_eq(rec_seal_close(s), 0);
	else {
		cr_assert_eq(rec_seal_flush(s), 0);
		rec_seal_abandon(s);
	}
	close(fd);
}

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static int collect(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static off_t size_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_size;
}

static void flip(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, at), 1);
	b ^= 0x01;
	cr_assert_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

static void copy(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0);
}

Test(seal, round_trip_across_chunks_and_no_plaintext_on_disk)
{
	struct rec_kek k;
	char path[PATH_MAX], err[1024];
	size_t n = 3 * REC_SEAL_CHUNK + 12345;
	uint8_t *p = pattern(n), *disk;
	struct buf b = { 0 };
	FILE *f;
	off_t sz;

	kek(1, NULL, &k);
	snprintf(path, sizeof(path), "%s/a.enc", dir);
	seal_to(path, &k, p, n, 1000, 7, true);
	cr_assert_eq(rec_seal_read(path, &k, collect, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.n, n);
	cr_assert_eq(memcmp(b.p, p, n), 0);
	/* the pattern's bytes are nowhere in the file */
	sz = size_of(path);
	disk = malloc((size_t)sz);
	f = fopen(path, "r");
	cr_assert_eq(fread(disk, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	cr_assert_null(memmem(disk, (size_t)sz, p + 5000, 64));
	free(disk);
	free(b.p);
	free(p);
}

Test(seal, a_flipped_byte_anywhere_is_found_and_located)
{
	struct rec_kek k;
	char path[PATH_MAX], bad[PATH_MAX + 8], err[1024], want[128];
	size_t n = 2 * REC_SEAL_CHUNK + 500;
	uint8_t *p = pattern(n);
	/* a byte of the key id, the wrapped key, the stream header; chunk 2's
	 * length, its ciphertext; the last chunk's tag */
	off_t second = REC_SEAL_HDR + 4 + REC_SEAL_CHUNK + 17;
	struct { off_t at; int rc; const char *says; } cases[] = {
		{ 20, -EKEYREJECTED, "does not open" },
		{ 90, -EKEYREJECTED, "does not open" },
		{ 130, -EKEYREJECTED, "does not open" },
		{ second + 1, -EBADMSG, "chunk 2" },
		{ second + 4 + 1000, -EBADMSG, "fails authentication" },
		{ 0, 0, NULL }, /* the last byte: filled below */
	};

	kek(2, NULL, &k);
	snprintf(path, sizeof(path), "%s/b.enc", dir);
	seal_to(path, &k, p, n, REC_SEAL_CHUNK, 0, true);
	cases[5].at = size_of(path) - 1;
	cases[5].rc = -EBADMSG;
	cases[5].says = "chunk 3";
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = { 0 };
		int rc;

		snprintf(bad, sizeof(bad), "%s.%u", path, i);
		copy(path, bad);
		flip(bad, cases[i].at);
		rc = rec_seal_read(bad, &k, collect, &b, err, sizeof(err));
		cr_assert_eq(rc, cases[i].rc, "byte %lld: %d (%s)", (long long)cases[i].at, rc, err);
		cr_assert_not_null(strstr(err, bad), "names the file: %s", err);
		cr_assert_not_null(strstr(err, cases[i].says), "byte %lld: %s", (long long)cases[i].at, err);
		free(b.p);
	}
	snprintf(want, sizeof(want), "offset %lld", (long long)second);
	snprintf(bad, sizeof(bad), "%s.4", path);
	rec_seal_read(bad, &k, NULL, NULL, err, sizeof(err));
	cr_assert_not_null(strstr(err, want), "the chunk's offset: %s", err);
	free(p);
}

Test(seal, truncation_is_found_and_recovery_finalises_a_torn_part)
{
	struct rec_kek k;
	char path[PATH_MAX], part[PATH_MAX + 8], err[1024];
	size_t n = 100000;
	uint8_t *p = pattern(n);
	struct buf b = { 0 };
	off_t whole;
	int fd;

	kek(3, NULL, &k);
	snprintf(path, sizeof(path), "%s/c.enc", dir);
	snprintf(part, sizeof(part), "%s.part", path);
	/* 10 chunks of 10,000 bytes (a flush every 10 writes of 1,000), no FINAL: a crash */
	seal_to(part, &k, p, n, 1000, 10, false);
	cr_assert_eq(rec_seal_read(part, &k, NULL, NULL, err, sizeof(err)), -EPROTO);
	cr_assert_not_null(strstr(err, "without its final chunk"), "%s", err);
	whole = size_of(part);
	cr_assert_eq(whole, REC_SEAL_HDR + 10 * (4 + 10000 + 17));
	fd = open(part, O_WRONLY | O_APPEND); /* a torn eleventh chunk */
	cr_assert_eq(write(fd, "\x30\x00\x00\x00garbage", 11), 11);
	close(fd);
	cr_assert_eq(rec_seal_read(part, &k, NULL, NULL, err, sizeof(err)), -EPROTO);
	cr_assert_not_null(strstr(err, "chunk 11"), "%s", err);
	cr_assert_eq(rec_seal_fix(part, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(size_of(part), whole + 4 + 17, "cut after chunk 10, an empty FINAL chunk appended");
	cr_assert_eq(rec_seal_read(part, &k, collect, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.n, n);
	cr_assert_eq(memcmp(b.p, p, n), 0);
	cr_assert_eq(rec_seal_fix(part, &k, err, sizeof(err)), 0, "fixing a whole file changes nothing");
	cr_assert_eq(size_of(part), whole + 4 + 17);
	free(b.p);
	free(p);
}

Test(seal, recovery_refuses_a_file_altered_before_its_end)
{
	struct rec_kek k;
	char part[PATH_MAX], err[1024];
	size_t n = 50000;
	uint8_t *p = pattern(n);
	off_t before;

	kek(4, NULL, &k);
	snprintf(part, sizeof(part), "%s/d.enc.part", dir);
	seal_to(part, &k, p, n, 1000, 10, false);
	before = size_of(part);
	flip(part, REC_SEAL_HDR + 4 + 100); /* chunk 1 of 5 */
	cr_assert_eq(rec_seal_fix(part, &k, err, sizeof(err)), -EBADMSG);
	cr_assert_not_null(strstr(err, "chunk 1 at offset 144"), "%s", err);
	cr_assert_eq(size_of(part), before, "left as it was");
	free(p);
}

Test(seal, rewrap_changes_the_key_not_the_audio)
{
	struct rec_kek a, b2, c;
	char path[PATH_MAX], copyp[PATH_MAX + 8], err[1024], id[REC_KEY_ID_MAX];
	size_t n = 70000;
	uint8_t *p = pattern(n);
	struct buf r = { 0 };
	FILE *f1, *f2;

	kek(5, "2026-q4", &a);
	kek(6, "2027-q1", &b2);
	kek(7, NULL, &c);
	snprintf(path, sizeof(path), "%s/e.enc", dir);
	seal_to(path, &a, p, n, 4096, 5, true);
	snprintf(copyp, sizeof(copyp), "%s.orig", path);
	copy(path, copyp);
	cr_assert_eq(rec_seal_key_id(path, id), 0);
	cr_assert_str_eq(id, "2026-q4");
	cr_assert_eq(rec_seal_rewrap(path, &c, &b2, err, sizeof(err)), -EKEYREJECTED, "a third key opens nothing");
	cr_assert_eq(rec_seal_rewrap(path, &a, &b2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rec_seal_key_id(path, id), 0);
	cr_assert_str_eq(id, "2027-q1");
	cr_assert_eq(rec_seal_rewrap(path, &a, &b2, err, sizeof(err)), 1, "under the new key already");
	cr_assert_eq(rec_seal_read(path, &a, NULL, NULL, err, sizeof(err)), -EKEYREJECTED);
	cr_assert_not_null(strstr(err, "2026-q4") && strstr(err, "2027-q1") ? err : NULL, "%s", err);
	cr_assert_eq(rec_seal_read(path, &b2, collect, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.n, n);
	cr_assert_eq(memcmp(r.p, p, n), 0);
	/* only bytes 16-119 changed: the stream header and every chunk are the same bytes */
	f1 = fopen(path, "r");
	f2 = fopen(copyp, "r");
	{
		int x, y;
		long i = 0, diff_out = 0, diff_in = 0;

		while ((x = fgetc(f1)) != EOF && (y = fgetc(f2)) != EOF) {
			if (x != y)
				(*(i >= 16 && i < 120 ? &diff_in : &diff_out))++;
			i++;
		}
		cr_assert_eq(i, size_of(copyp));
		cr_assert_eq(diff_out, 0);
		cr_assert_gt(diff_in, 40);
	}
	fclose(f1);
	fclose(f2);
	free(r.p);
	free(p);
}

Test(seal, key_files)
{
	struct rec_kek k, k2;
	char path[PATH_MAX], err[512];
	FILE *f;

	key_file("h.key", 9, path, sizeof(path));
	cr_assert_eq(rec_kek_load(path, NULL, &k, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(k.id), 17);
	cr_assert_eq(k.id[0], 'k');
	cr_assert_eq(k.key[0], (9 * 37) & 0xff);
	cr_assert_eq(rec_kek_load(path, "rotation-7", &k2, err, sizeof(err)), 0);
	cr_assert_str_eq(k2.id, "rotation-7");
	cr_assert_eq(memcmp(k.key, k2.key, 32), 0);
	key_file("h2.key", 10, path, sizeof(path));
	cr_assert_eq(rec_kek_load(path, NULL, &k2, err, sizeof(err)), 0);
	cr_assert_str_neq(k.id, k2.id, "another key, another id");
	/* raw 32 bytes */
	snprintf(path, sizeof(path), "%s/raw.key", dir);
	f = fopen(path, "w");
	fwrite(k.key, 1, 32, f);
	fclose(f);
	chmod(path, 0600);
	cr_assert_eq(rec_kek_load(path, NULL, &k2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(k.key, k2.key, 32), 0);
	cr_assert_str_eq(k.id, k2.id);
	/* readable by others: refused */
	chmod(path, 0644);
	cr_assert_eq(rec_kek_load(path, NULL, &k2, err, sizeof(err)), -EACCES);
	cr_assert_not_null(strstr(err, "chmod 600"), "%s", err);
	/* not a key */
	snprintf(path, sizeof(path), "%s/bad.key", dir);
	f = fopen(path, "w");
	fprintf(f, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeZ\n");
	fclose(f);
	chmod(path, 0600);
	cr_assert_eq(rec_kek_load(path, NULL, &k2, err, sizeof(err)), -EINVAL);
	cr_assert_eq(rec_kek_load("/nonexistent.key", NULL, &k2, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent.key"));
	cr_assert_eq(rec_kek_load(path, "an id far longer than thirty-one characters", &k2, err, sizeof(err)), -EINVAL);
}

static void tone(int16_t *pcm, size_t frames, unsigned ch, unsigned rate)
{
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++)
			pcm[i * ch + c] = (int16_t)(8000 * sin(2 * M_PI * (440 + 660 * c) * (double)i / rate));
}

static unsigned count_dir(const char *d)
{
	DIR *dd = opendir(d);
	unsigned n = 0;

	cr_assert_not_null(dd);
	for (struct dirent *e; (e = readdir(dd));)
		n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, ".."));
	closedir(dd);
	return n;
}

Test(seal, sealed_wav_sink_exports_a_playable_wav_and_survives_a_crash)
{
	char kf[PATH_MAX], err[1024], path[PATH_MAX], final[PATH_MAX], part[PATH_MAX + 16], out[PATH_MAX + 16];
	char sub[PATH_MAX + 8], crash[PATH_MAX + 32];
	static int16_t pcm[2 * 48000], back[2 * 48000];
	const struct rec_kek *k;
	struct rec_sink *s;
	SF_INFO info = { 0 };
	SNDFILE *sf;
	int e = 0;

	key_file("d.key", 11, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, NULL, err, sizeof(err)), 0, "%s", err);
	k = rec_seal_kek();
	cr_assert_not_null(k);
	snprintf(path, sizeof(path), "%s/w.wav", dir);
	s = rec_wav_open(path, 16000, 2, &e);
	cr_assert_not_null(s, "%d", e);
	snprintf(final, sizeof(final), "%s", s->path);
	snprintf(part, sizeof(part), "%s.part", final);
	cr_assert_str_eq(final + strlen(final) - 9, "w.wav.enc", "the sink's final name: %s", final);
	tone(pcm, 48000, 2, 16000);
	for (int i = 0; i < 50; i++) /* one second in 20 ms writes, then a sync */
		cr_assert_eq(s->ops->pcm(s, pcm + i * 640, 320), 0);
	cr_assert_eq(s->ops->sync(s), 0);
	cr_assert_eq(s->ops->pcm(s, pcm + 50 * 640, 320), 0); /* after the sync: held, not on disk */
	/* what a kill -9 now leaves: the .part as it is on disk */
	snprintf(sub, sizeof(sub), "%s/crash", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(crash, sizeof(crash), "%s/c.wav.enc.part", sub);
	copy(part, crash);
	for (int i = 51; i < 150; i++)
		cr_assert_eq(s->ops->pcm(s, pcm + i * 640, 320), 0);
	cr_assert_eq(s->ops->close(s), 0);
	cr_assert_eq(rename(part, final), 0);

	/* export: a WAV with real sizes, the samples as written */
	snprintf(out, sizeof(out), "%s/w-out.wav", dir);
	cr_assert_eq(rec_export(final, out, k, err, sizeof(err)), 0, "%s", err);
	sf = sf_open(out, SFM_READ, &info);
	cr_assert_not_null(sf, "%s", sf_strerror(NULL));
	cr_assert_eq(info.channels, 2);
	cr_assert_eq(info.samplerate, 16000);
	cr_assert_eq(info.frames, 48000, "frames %lld", (long long)info.frames);
	cr_assert_eq(sf_readf_short(sf, back, 48000), 48000);
	cr_assert_eq(memcmp(back, pcm, sizeof(pcm)), 0);
	sf_close(sf);
	{ /* the sizes export set in place of 0xffffffff */
		uint8_t h[44];
		FILE *f = fopen(out, "r");

		cr_assert_eq(fread(h, 1, 44, f), 44);
		fclose(f);
		cr_assert_eq(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24, 36 + 48000 * 4);
		cr_assert_eq(h[40] | h[41] << 8 | h[42] << 16 | (uint32_t)h[43] << 24, 48000 * 4);
		cr_assert_eq(size_of(out), 44 + 48000 * 4);
	}
	cr_assert_eq(rec_export(final, out, k, err, sizeof(err)), -EEXIST, "an existing output is never replaced");

	/* the crash copy: recovery keeps the synced second, finalises and renames */
	cr_assert_eq(rec_recover(sub), 1);
	snprintf(crash, sizeof(crash), "%s/c.wav.enc", sub);
	snprintf(out, sizeof(out), "%s/c-out.wav", dir);
	cr_assert_eq(rec_export(crash, out, k, err, sizeof(err)), 0, "%s", err);
	sf = sf_open(out, SFM_READ, &info);
	cr_assert_not_null(sf);
	cr_assert_eq(info.frames, 16000, "the synced second: %lld frames", (long long)info.frames);
	cr_assert_eq(sf_readf_short(sf, back, 16000), 16000);
	cr_assert_eq(memcmp(back, pcm, 16000 * 4), 0);
	sf_close(sf);

	/* one flipped byte: export fails, names the file, leaves nothing */
	flip(final, size_of(final) / 2);
	snprintf(out, sizeof(out), "%s/bad/x.wav", dir);
	snprintf(sub, sizeof(sub), "%s/bad", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(rec_export(final, out, k, err, sizeof(err)), -EBADMSG);
	cr_assert_not_null(strstr(err, final), "%s", err);
	cr_assert_not_null(strstr(err, "fails authentication"), "%s", err);
	cr_assert_eq(count_dir(sub), 0, "no output, no temporary file");
}

Test(seal, sealed_ogg_and_pcap_sinks)
{
	char kf[PATH_MAX], err[1024], path[PATH_MAX], final[PATH_MAX], out[PATH_MAX + 16], part[PATH_MAX + 16];
	static int16_t pcm[2 * 48000];
	struct sockaddr_storage a = { .ss_family = AF_INET }, b = { .ss_family = AF_INET };
	uint8_t rtp[172] = { 0x80, 0 };
	struct rec_sink *s;
	OggOpusFile *of;
	int e = 0;

	key_file("o.key", 12, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/o.opus", dir);
	s = rec_ogg_open(path, 48000, 2, "title", &e);
	cr_assert_not_null(s, "%d", e);
	snprintf(final, sizeof(final), "%s", s->path);
	cr_assert_str_eq(final + strlen(final) - 10, "o.opus.enc");
	tone(pcm, 48000, 2, 48000);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(s->ops->pcm(s, pcm + i * 1920, 960), 0);
	cr_assert_eq(s->ops->close(s), 0);
	snprintf(part, sizeof(part), "%s.part", final);
	cr_assert_eq(rename(part, final), 0);
	snprintf(out, sizeof(out), "%s/o.opus", dir);
	cr_assert_eq(rec_export(final, out, rec_seal_kek(), err, sizeof(err)), 0, "%s", err);
	of = op_open_file(out, &e);
	cr_assert_not_null(of, "opusfile: %d", e);
	cr_assert_eq(op_channel_count(of, -1), 2);
	cr_assert_gt(op_pcm_total(of, -1), 40000, "%lld samples", (long long)op_pcm_total(of, -1));
	op_free(of);

	snprintf(path, sizeof(path), "%s/p.pcap", dir);
	s = rec_pcap_open(path, &e);
	cr_assert_not_null(s, "%d", e);
	snprintf(final, sizeof(final), "%s", s->path);
	for (int i = 0; i < 100; i++) {
		struct rec_pkt pk = { .data = rtp, .len = sizeof(rtp), .wall_ns = 1000000000ull * 1700000000 + i, .src = &a, .dst = &b };

		rtp[3] = (uint8_t)i;
		cr_assert_eq(s->ops->packet(s, &pk), 0);
	}
	cr_assert_eq(s->ops->close(s), 0);
	snprintf(part, sizeof(part), "%s.part", final);
	cr_assert_eq(rename(part, final), 0);
	snprintf(out, sizeof(out), "%s/p.pcap", dir);
	cr_assert_eq(rec_export(final, out, rec_seal_kek(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(size_of(out), 24 + 100 * (16 + 20 + 8 + 172), "the pcap's header and 100 records");
}

Test(seal, a_recording_seals_every_file_and_its_sidecar)
{
	char kf[PATH_MAX], err[1024], path[PATH_MAX], found[PATH_MAX], *text;
	struct rec_params p;
	struct rec *r;
	size_t len;
	int e = 0;

	key_file("r.key", 13, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, "rk-1", err, sizeof(err)), 0, "%s", err);
	memset(&p, 0, sizeof(p));
	snprintf(p.base, sizeof(p.base), "%s/sub/call-1", dir);
	snprintf(p.call_id, sizeof(p.call_id), "call-1");
	snprintf(p.metadata, sizeof(p.metadata), "patient:Jane Doe");
	p.format = REC_FMT_WAV;
	p.per_leg = true;
	p.pcap = true;
	p.rate = 8000;
	p.fsync_ms = 100;
	r = rec_create(&p, &e);
	cr_assert_not_null(r, "%d", e);
	cr_assert_str_eq(rec_path(r) + strlen(rec_path(r)) - 14, "call-1.wav.enc");
	for (unsigned i = 0; rec_file(r, i); i++)
		cr_assert(strstr(rec_file(r, i), ".enc"), "%s", rec_file(r, i));
	snprintf(found, sizeof(found), "%s", rec_id(r));
	usleep(300000);
	rec_stop(r);
	cr_assert_eq(rec_wait_all(5000), 0);
	snprintf(path, sizeof(path), "%s/sub/call-1.json", dir);
	cr_assert_neq(access(path, F_OK), 0, "no plain sidecar");
	snprintf(path, sizeof(path), "%s/sub/call-1.json.enc", dir);
	cr_assert_eq(rec_seal_read_file(path, rec_seal_kek(), &text, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(strstr(text, "\"state\": \"complete\""), "%s", text);
	cr_assert_not_null(strstr(text, "Jane Doe"));
	cr_assert_not_null(strstr(text, "call-1-caller.wav.enc"));
	free(text);
	{
		char id[REC_KEY_ID_MAX];

		cr_assert_eq(rec_seal_key_id(path, id), 0);
		cr_assert_str_eq(id, "rk-1");
	}
	/* found by its id, each part */
	{
		char where[PATH_MAX];
		const char *rid = found;

		cr_assert_eq(rec_export_find(dir, rid, NULL, rec_seal_kek(), where, sizeof(where), err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_str_eq(where + strlen(where) - 14, "call-1.wav.enc");
		cr_assert_eq(rec_export_find(dir, rid, "callee", rec_seal_kek(), where, sizeof(where), err, sizeof(err)), 0);
		cr_assert_str_eq(where + strlen(where) - 21, "call-1-callee.wav.enc");
		cr_assert_eq(rec_export_find(dir, rid, "pcap", rec_seal_kek(), where, sizeof(where), err, sizeof(err)), 0);
		cr_assert_eq(rec_export_find(dir, "0000000000000000", NULL, rec_seal_kek(), where, sizeof(where), err,
					     sizeof(err)), -ENOENT);
		cr_assert_eq(rec_export_find(dir, rid, "video", rec_seal_kek(), where, sizeof(where), err, sizeof(err)),
			     -EINVAL);
	}
}

Test(seal, recovery_marks_a_sealed_sidecar_incomplete)
{
	char kf[PATH_MAX], err[1024], base[PATH_MAX], path[PATH_MAX + 16], *text;
	static const uint64_t counts[REC_EV__COUNT];
	struct rec_meta m = { .id = "0123456789abcdef", .call_id = "c", .from_tag = "a", .to_tag = "b", .metadata = "",
			      .state = "recording", .party = { "a", "b" }, .rate = 8000, .channels = 2,
			      .ev_counts = counts };
	size_t len;

	key_file("m.key", 14, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(base, sizeof(base), "%s/side", dir);
	cr_assert_eq(rec_meta_write(base, &m), 0);
	snprintf(path, sizeof(path), "%s.json.tmp", base);
	cr_assert_neq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s.json.enc", base);
	cr_assert_eq(rec_recover(dir), 0);
	cr_assert_eq(rec_seal_read_file(path, rec_seal_kek(), &text, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(strstr(text, "\"state\": \"incomplete\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"recovered\": "));
	free(text);
}

Test(seal, a_full_disk_leaves_a_sealed_file_valid_up_to_the_error)
{
	char kf[PATH_MAX], err[1024], path[PATH_MAX], final[PATH_MAX], part[PATH_MAX + 16], out[PATH_MAX + 16];
	static int16_t pcm[2 * 16000 * 10], back[2 * 16000 * 10];
	struct rlimit was, lim;
	struct rec_sink *s;
	SF_INFO info = { 0 };
	SNDFILE *sf;
	int e = 0, first = 0;

	key_file("f.key", 15, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/full.wav", dir);
	s = rec_wav_open(path, 16000, 2, &e);
	cr_assert_not_null(s, "%d", e);
	snprintf(final, sizeof(final), "%s", s->path);
	snprintf(part, sizeof(part), "%s.part", final);
	tone(pcm, 16000 * 10, 2, 16000);
	/* a file may not grow past 200,000 bytes: writes fail with EFBIG, as on a full disk */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	lim = was;
	lim.rlim_cur = 200000;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 500 && !first; i++) { /* 20 ms writes, a sync every 200 ms */
		first = s->ops->pcm(s, pcm + i * 640, 320);
		if (!first && i % 10 == 9)
			first = s->ops->sync(s);
	}
	cr_assert_eq(first, -EFBIG, "the write failed: %d", first);
	cr_assert_eq(s->ops->close(s), -EFBIG, "close says so");
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
	cr_assert_leq(size_of(part), 200000);
	cr_assert_eq(rename(part, final), 0);
	snprintf(out, sizeof(out), "%s/full-out.wav", dir);
	cr_assert_eq(rec_export(final, out, rec_seal_kek(), err, sizeof(err)), 0, "what was written exports: %s", err);
	sf = sf_open(out, SFM_READ, &info);
	cr_assert_not_null(sf);
	cr_assert_gt(info.frames, 40000, "%lld frames (2.5 s) of the ~3.1 s that fit", (long long)info.frames);
	cr_assert_leq(info.frames, 50000);
	cr_assert_eq(info.frames % 3200, 0, "whole syncs of 200 ms: %lld", (long long)info.frames);
	cr_log_info("a full disk: %lld frames exported of a file limited to 200,000 bytes", (long long)info.frames);
	cr_assert_eq(sf_readf_short(sf, back, info.frames), info.frames);
	cr_assert_eq(memcmp(back, pcm, (size_t)info.frames * 4), 0);
	sf_close(sf);
}

Test(seal, a_recovered_ogg_cut_inside_a_page_exports_whole_pages)
{
	char kf[PATH_MAX], err[1024], path[PATH_MAX], part[PATH_MAX + 16], crash[PATH_MAX + 32], out[PATH_MAX + 16];
	static int16_t pcm[2 * 48000];
	struct rec_sink *s;
	OggOpusFile *of;
	uint8_t h[27 + 255];
	off_t off = 0, size;
	FILE *f;
	int e = 0;

	key_file("g.key", 16, kf, sizeof(kf));
	cr_assert_eq(rec_seal_configure(kf, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/g.opus", dir);
	s = rec_ogg_open(path, 48000, 2, "", &e);
	cr_assert_not_null(s, "%d", e);
	snprintf(part, sizeof(part), "%s.part", s->path);
	tone(pcm, 48000, 2, 48000);
	/* no sync: the writer's first 64 KiB chunk goes out on its own, in the middle of a page */
	for (int i = 0; i < 15 * 50 && size_of(part) < REC_SEAL_HDR + 4 + REC_SEAL_CHUNK + 17; i++)
		cr_assert_eq(s->ops->pcm(s, pcm + (i % 50) * 1920, 960), 0);
	cr_assert_eq(size_of(part), REC_SEAL_HDR + 4 + REC_SEAL_CHUNK + 17, "one whole chunk on disk");
	snprintf(crash, sizeof(crash), "%s/crash", dir);
	cr_assert_eq(mkdir(crash, 0700), 0);
	snprintf(crash, sizeof(crash), "%s/crash/g.opus.enc.part", dir);
	copy(part, crash);
	cr_assert_eq(s->ops->close(s), 0);
	snprintf(crash, sizeof(crash), "%s/crash", dir);
	cr_assert_eq(rec_recover(crash), 1);
	snprintf(crash, sizeof(crash), "%s/crash/g.opus.enc", dir);
	snprintf(out, sizeof(out), "%s/g-out.opus", dir);
	cr_assert_eq(rec_export(crash, out, rec_seal_kek(), err, sizeof(err)), 0, "%s", err);
	/* whole pages, to the last byte */
	size = size_of(out);
	cr_assert_lt(size, REC_SEAL_CHUNK, "the torn page was cut: %lld bytes", (long long)size);
	f = fopen(out, "r");
	while (off < size) {
		unsigned len = 0;

		cr_assert_eq(fseeko(f, off, SEEK_SET), 0);
		cr_assert_eq(fread(h, 1, 27, f), 27);
		cr_assert_eq(memcmp(h, "OggS", 4), 0, "a page at %lld", (long long)off);
		cr_assert_eq(fread(h + 27, 1, h[26], f), h[26]);
		for (unsigned i = 0; i < h[26]; i++)
			len += h[27 + i];
		off += 27 + h[26] + len;
	}
	fclose(f);
	cr_assert_eq(off, size);
	of = op_open_file(out, &e);
	cr_assert_not_null(of, "opusfile: %d", e);
	cr_assert_gt(op_pcm_total(of, -1), 48000 * 5, "%lld samples", (long long)op_pcm_total(of, -1));
	op_free(of);
}

Test(seal, recovery_without_the_key_leaves_a_sealed_part_alone)
{
	struct rec_kek k;
	char part[PATH_MAX], err[1024];
	uint8_t *p = pattern(5000);
	off_t before;

	kek(17, NULL, &k);
	snprintf(part, sizeof(part), "%s/n.wav.enc.part", dir);
	seal_to(part, &k, p, 5000, 1000, 2, false);
	before = size_of(part);
	cr_assert_null(rec_seal_kek());
	cr_assert_eq(rec_recover(dir), 0, "nothing finalised without the key");
	cr_assert_eq(size_of(part), before, "and the file untouched");
	cr_assert_eq(rec_seal_configure(NULL, NULL, err, sizeof(err)), 0);
	free(p);
}
