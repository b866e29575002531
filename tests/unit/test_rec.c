/* SPDX-License-Identifier: MIT
 * recording/ pieces that need no daemon: output patterns, the recording
 * directory check, the recovery of files a crash left (WAV sizes, Ogg cut
 * after its last whole page, pcap after its last whole record) and the
 * sidecar's "incomplete" mark. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opusfile.h>
#include <sndfile.h>

#include <rte_cycles.h>

#include "rec_int.h"

static char dir[256];

static void mkroot(void)
{
	snprintf(dir, sizeof(dir), "/tmp/medius-test-rec-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rmroot(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(rec, .init = mkroot, .fini = rmroot);

static struct rec_params params(void)
{
	struct rec_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.call_id, sizeof(p.call_id), "abc/def x");
	snprintf(p.from_tag, sizeof(p.from_tag), "A");
	snprintf(p.to_tag, sizeof(p.to_tag), "B");
	snprintf(p.metadata, sizeof(p.metadata), "case:42|tag:x y|empty:");
	return p;
}

Test(rec, pattern_expands_and_sanitises)
{
	struct rec_params p = params();
	char out[REC_PATH_MAX];

	cr_assert_eq(rec_pattern_expand("%c-%t-%T-%r-%{case}-%{tag}-%{none}-%%", &p, "0123abcd", out), 0);
	cr_assert_str_eq(out, "abc_def_x-A-B-0123abcd-42-x_y--%");
	cr_assert_eq(rec_pattern_expand("%3/%2/%c", &p, "id", out), 0); /* cumulative call-id prefixes as directories */
	cr_assert_str_eq(out, "abc/_d/abc_def_x");
	cr_assert_eq(rec_pattern_expand("%Y%m%d-%c", &p, "id", out), 0);
	cr_assert_eq(strlen(out), 8 + 1 + strlen("abc_def_x"));
}

Test(rec, pattern_refuses_escapes)
{
	struct rec_params p = params();
	char out[REC_PATH_MAX];

	cr_assert_eq(rec_pattern_expand("../%c", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("a/../%c", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("/abs/%c", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("./%c", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("%c//x", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("%c/", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("%q", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("%{open", &p, "id", out), -EINVAL);
	cr_assert_eq(rec_pattern_expand("", &p, "id", out), -EINVAL);
	snprintf(p.call_id, sizeof(p.call_id), "..");
	cr_assert_eq(rec_pattern_expand("%c", &p, "id", out), -EINVAL); /* a call-id of ".." names no file */
}

Test(rec, dir_must_resolve_inside_the_root)
{
	char root[PATH_MAX], sub[PATH_MAX + 8], out[REC_PATH_MAX], link[PATH_MAX + 8], sibling[PATH_MAX + 8];

	snprintf(root, sizeof(root), "%s/root", dir);
	cr_assert_eq(mkdir(root, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/sub", root);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(sibling, sizeof(sibling), "%s/rootx", dir); /* shares the root's prefix */
	cr_assert_eq(mkdir(sibling, 0700), 0);
	snprintf(link, sizeof(link), "%s/out", root);
	cr_assert_eq(symlink(dir, link), 0);

	cr_assert_eq(rec_dir_resolve(root, NULL, out), 0);
	cr_assert_eq(rec_dir_resolve(root, "sub", out), 0);
	cr_assert_str_eq(out, sub);
	cr_assert_eq(rec_dir_resolve(root, sub, out), 0);
	cr_assert_eq(rec_dir_resolve(root, "sub/..", out), 0); /* still the root */
	cr_assert_eq(rec_dir_resolve(root, "..", out), -EACCES);
	cr_assert_eq(rec_dir_resolve(root, "/etc", out), -EACCES);
	cr_assert_eq(rec_dir_resolve(root, sibling, out), -EACCES);
	cr_assert_eq(rec_dir_resolve(root, "out", out), -EACCES); /* a symlink out of the root */
	cr_assert_eq(rec_dir_resolve(root, "missing", out), -ENOENT);
}

static void tone(int16_t *pcm, size_t frames, unsigned ch, uint32_t rate)
{
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++)
			pcm[i * ch + c] = (int16_t)(8000 * sin(2 * M_PI * (440.0 + 660.0 * c) * (double)i / rate));
}

Test(rec, wav_left_open_is_fixed_from_its_length)
{
	char path[PATH_MAX + 16], part[PATH_MAX + 24];
	static int16_t pcm[2 * 3000], back[2 * 3000];
	struct rec_sink *s;
	SF_INFO info = { 0 };
	SNDFILE *sf;
	int e = 0, fd;

	snprintf(path, sizeof(path), "%s/a.wav", dir);
	snprintf(part, sizeof(part), "%s.part", path);
	s = rec_wav_open(path, 16000, 2, &e);
	cr_assert_not_null(s, "open: %d", e);
	tone(pcm, 3000, 2, 16000);
	cr_assert_eq(s->ops->pcm(s, pcm, 1000), 0);
	cr_assert_eq(s->ops->sync(s), 0);
	cr_assert_eq(s->ops->pcm(s, pcm + 2000, 2000), 0); /* after the last header update: a crash now */
	fd = open(part, O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "\1\2\3", 3), 3); /* and a torn frame at the end */
	close(fd);
	cr_assert_eq(rec_wav_fix(part), 0);
	sf = sf_open(part, SFM_READ, &info);
	cr_assert_not_null(sf);
	cr_assert_eq(info.channels, 2);
	cr_assert_eq(info.samplerate, 16000);
	cr_assert_eq(info.frames, 3000, "frames %lld", (long long)info.frames);
	cr_assert_eq(sf_readf_short(sf, back, 3000), 3000);
	cr_assert_eq(memcmp(back, pcm, sizeof(pcm)), 0);
	sf_close(sf);
	s->ops->close(s); /* the "crashed" sink, checked above, goes now (LeakSanitizer) */
	cr_assert_eq(rec_wav_fix("/nonexistent.wav.part"), -ENOENT);
}

Test(rec, ogg_is_cut_after_its_last_whole_page)
{
	char path[PATH_MAX + 16], part[PATH_MAX + 24];
	static int16_t pcm[2 * 48000];
	struct rec_sink *s;
	struct stat st;
	OggOpusFile *of;
	int e = 0, fd;
	off_t whole;
	long total = 0, n;
	opus_int16 buf[5760 * 2];

	snprintf(path, sizeof(path), "%s/a.opus", dir);
	snprintf(part, sizeof(part), "%s.part", path);
	s = rec_ogg_open(path, 16000, 2, "test", &e);
	cr_assert_not_null(s, "open: %d", e);
	tone(pcm, 16000, 2, 16000);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(s->ops->pcm(s, pcm, 16000), 0);
	cr_assert_eq(s->ops->sync(s), 0);
	cr_assert_eq(stat(part, &st), 0);
	whole = st.st_size;
	cr_assert_gt(whole, 1000);
	fd = open(part, O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "OggS\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\3\xff\xff", 29), 29); /* a torn page */
	close(fd);
	cr_assert_eq(rec_ogg_fix(part), 0);
	cr_assert_eq(stat(part, &st), 0);
	cr_assert_eq(st.st_size, whole);
	of = op_open_file(part, &e);
	cr_assert_not_null(of, "opusfile: %d", e);
	while ((n = op_read_stereo(of, buf, (int)(sizeof(buf) / sizeof(buf[0])))) > 0)
		total += n;
	cr_assert_eq(n, 0);
	cr_assert_gt(total, 48000 * 5 / 2, "decoded %ld samples", total); /* all but the last 0.5 s of the 3 s written */
	op_free(of);
	s->ops->close(s); /* the "crashed" sink, checked above, goes now */
}

Test(rec, pcap_is_cut_after_its_last_whole_record)
{
	char path[PATH_MAX + 16], part[PATH_MAX + 24];
	struct sockaddr_storage a = { 0 }, b = { 0 };
	uint8_t rtp[172] = { 0x80, 0 };
	struct rec_sink *s;
	struct stat st;
	int e = 0, fd;

	a.ss_family = b.ss_family = AF_INET;
	snprintf(path, sizeof(path), "%s/a.pcap", dir);
	snprintf(part, sizeof(part), "%s.part", path);
	s = rec_pcap_open(path, &e);
	cr_assert_not_null(s);
	for (int i = 0; i < 10; i++) {
		struct rec_pkt p = { .data = rtp, .len = sizeof(rtp), .wall_ns = 1000000000ull * i, .src = &a, .dst = &b };

		cr_assert_eq(s->ops->packet(s, &p), 0);
	}
	cr_assert_eq(s->ops->sync(s), 0);
	fd = open(part, O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "0123456789abcdefghij", 20), 20);
	close(fd);
	cr_assert_eq(rec_pcap_fix(part), 0);
	cr_assert_eq(stat(part, &st), 0);
	cr_assert_eq(st.st_size, 24 + 10 * (16 + 20 + 8 + (off_t)sizeof(rtp)));
	cr_assert_eq(s->ops->close(s), 0);
}

Test(rec, sidecar_is_marked_incomplete_once)
{
	char base[PATH_MAX + 8], json[PATH_MAX + 16], text[8192];
	uint64_t counts[REC_EV__COUNT] = { 0 };
	struct rec_event ev = { .type = REC_EV_OVERRUN, .channel = 1, .at_ms = 1000, .dur_ms = 60, .count = 3 };
	struct rec_meta m = { .id = "0011", .call_id = "c\"1", .from_tag = "A", .to_tag = "B", .metadata = "x",
			      .state = "recording", .party = { "A", "B" }, .rate = 16000, .channels = 2,
			      .ev = &ev, .n_ev = 1, .ev_counts = counts };
	FILE *f;
	size_t n;

	snprintf(base, sizeof(base), "%s/s", dir);
	snprintf(json, sizeof(json), "%s.json", base);
	cr_assert_eq(rec_meta_write(base, &m), 0);
	cr_assert_eq(rec_meta_mark_incomplete(json), 1); /* marked */
	cr_assert_eq(rec_meta_mark_incomplete(json), 0); /* a second pass changes nothing */
	f = fopen(json, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	cr_assert_not_null(strstr(text, "\"state\": \"incomplete\""), "%s", text);
	cr_assert_null(strstr(text, "\"state\": \"recording\""));
	cr_assert_not_null(strstr(text, "\"recovered\": \""));
	cr_assert_eq(strstr(strstr(text, "\"recovered\"") + 1, "\"recovered\""), NULL);
	cr_assert_not_null(strstr(text, "\"call-id\": \"c\\\"1\""));
	cr_assert_not_null(strstr(text, "\"type\": \"overrun\", \"channel\": 1, \"at_ms\": 1000, \"duration_ms\": 60"));
}

static uint64_t measure_hz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rte_rdtsc();
	usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = rte_rdtsc();
	ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
	return (t1 - t0) * 1000000000u / (uint64_t)ns;
}

/* A recorder whose ring overflows: the frames it dropped are a marked gap
 * (an overrun event with its count and length) and silence in the audio,
 * while what came before and after is there. */
Test(rec, overruns_are_marked_gaps)
{
	struct rec_params p = params();
	struct rec_src_conf c = { .kind = REC_SRC_RTP, .channel = 0, .ring_frames = 8, .n_codecs = 1 };
	struct rec_stats st;
	struct rec_src *s;
	struct rec *r;
	uint8_t pkt[12 + 160];
	int16_t pcm[160], wav[8000];
	uint64_t t, hz;
	int e = 0;
	char json[PATH_MAX + 16], text[8192], *ev;
	SF_INFO info = { 0 };
	SNDFILE *sf;
	FILE *f;
	size_t n;

	snprintf(p.base, sizeof(p.base), "%s/ov", dir);
	p.format = REC_FMT_WAV;
	p.rate = 8000;
	p.fsync_ms = 100;
	cr_assert_eq(cdc_format_from_static_pt(0, &c.codecs[0].f), 0);
	c.codecs[0].pt = 0;
	r = rec_create(&p, &e);
	cr_assert_not_null(r, "rec_create: %d", e);
	s = rec_src_add(r, &c, &e);
	cr_assert_not_null(s);
	usleep(50000); /* the thread takes the source */
	hz = measure_hz();
	t = rte_rdtsc();
	for (int i = 0; i < 160; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 400 * i / 8000.0));
	for (int i = 0; i < 20; i++) {
		pkt[0] = 0x80;
		pkt[1] = 0;
		pkt[2] = 0;
		pkt[3] = (uint8_t)i;
		pkt[4] = pkt[5] = 0;
		pkt[6] = (uint8_t)((i * 160) >> 8);
		pkt[7] = (uint8_t)(i * 160);
		memset(pkt + 8, 0x42, 4);
		cdc_ulaw_encode(pcm, pkt + 12, 160);
		if (i == 12)
			usleep(60000); /* 0-7 were queued, 8-11 found the ring full; the thread drains it now */
		rec_src_rtp_fn(s, pkt, sizeof(pkt), t + (uint64_t)i * hz / 50); /* arrivals 20 ms apart */
	}
	usleep(400000);
	rec_get_stats(r, &st);
	cr_assert_eq(st.overruns[0], 4, "overruns %llu", (unsigned long long)st.overruns[0]);
	cr_assert_eq(st.frames[0], 16);
	rec_src_remove(r, s);
	rec_stop(r);
	cr_assert_eq(rec_wait_all(5000), 0);

	snprintf(json, sizeof(json), "%s/ov.json", dir);
	f = fopen(json, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	ev = strstr(text, "\"type\": \"overrun\"");
	cr_assert_not_null(ev, "%s", text);
	cr_assert_not_null(strstr(text, "\"state\": \"complete\""));
	{
		unsigned long long at, dur, count;
		const char *k = strstr(ev, "\"at_ms\": "), *d = strstr(ev, "\"duration_ms\": "), *cn = strstr(ev, "\"count\": ");

		cr_assert(k && d && cn);
		at = strtoull(k + 9, NULL, 10);
		dur = strtoull(d + 15, NULL, 10);
		count = strtoull(cn + 9, NULL, 10);
		cr_assert_eq(count, 4);
		cr_assert(dur >= 75 && dur <= 85, "the gap: %llu ms", dur); /* 4 packets of 20 ms */
		{
			char wavp[PATH_MAX + 16];
			int64_t gap0 = (int64_t)at * 8, base;

			snprintf(wavp, sizeof(wavp), "%s/ov.wav", dir);
			sf = sf_open(wavp, SFM_READ, &info);
			cr_assert_not_null(sf);
			cr_assert_eq(info.channels, 2);
			{
				int16_t fr[2 * 4000];
				sf_count_t got = sf_readf_short(sf, fr, 4000);

				for (sf_count_t i = 0; i < got && i < 8000; i++)
					wav[i] = fr[2 * i];
				cr_assert_gt(got, gap0 + 640 + 400);
			}
			sf_close(sf);
			base = gap0 - 8 * 8 * 20; /* the first packet: 8 packets before the gap */
			cr_assert(base >= 0);
			for (int64_t i = gap0 + 16; i < gap0 + 640 - 16; i++) /* the gap is silence */
				cr_assert_eq(wav[i], 0, "sample %lld in the gap: %d", (long long)i, wav[i]);
			{
				int loud_before = 0, loud_after = 0;

				for (int64_t i = base + 100; i < gap0 - 16; i++)
					loud_before += abs(wav[i]) > 2000;
				for (int64_t i = gap0 + 640 + 16; i < gap0 + 640 + 400; i++)
					loud_after += abs(wav[i]) > 2000;
				cr_assert_gt(loud_before, 300);
				cr_assert_gt(loud_after, 100);
			}
		}
	}
}
