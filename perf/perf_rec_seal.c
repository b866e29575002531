/* SPDX-License-Identifier: MIT
 * perf_rec_seal: what encryption at rest costs a recorder thread. The same
 * audio (16 kHz stereo, 20 ms writes, a sync every 500 ms as fsync_ms's
 * default) through the plain WAV sink (libsndfile) and the sealed one
 * (rec_seal_sink.c), side by side in one run, in CPU time per hour of
 * audio; the files go to /dev/shm (tmpfs), so the disk is not measured.
 * Also the secretstream's raw rate in MB/s.
 *
 *   build/perf/perf_rec_seal [SECONDS]     (default 600 s of audio per run)
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rec_int.h"
#include "rec_seal.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds to write secs of audio through one sink; the files are removed. */
static double run(const char *dir, const char *name, unsigned secs, const int16_t *pcm)
{
	char path[512], part[REC_PATH_MAX + 16];
	struct rec_sink *s;
	double t0;
	int e = 0;

	snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
	t0 = cpu_s();
	s = rec_wav_open(path, 16000, 2, &e);
	if (!s) {
		fprintf(stderr, "open %s: %s\n", path, strerror(-e));
		exit(1);
	}
	for (unsigned i = 0; i < secs * 50; i++) {
		if (s->ops->pcm(s, pcm, 320)) {
			fprintf(stderr, "write failed\n");
			exit(1);
		}
		if (i % 25 == 24 && s->ops->sync(s)) {
			fprintf(stderr, "sync failed\n");
			exit(1);
		}
	}
	snprintf(part, sizeof(part), "%s.part", s->path);
	s->ops->close(s);
	t0 = cpu_s() - t0;
	unlink(part);
	return t0;
}

int main(int argc, char **argv)
{
	unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 600;
	char dir[] = "/dev/shm/medius-perf-seal-XXXXXX", kf[128], err[512];
	static int16_t pcm[640];
	double plain[3], sealed[3];
	FILE *f;

	if (!secs || !mkdtemp(dir)) {
		fprintf(stderr, "usage: perf_rec_seal [SECONDS]; /dev/shm must be writable\n");
		return 2;
	}
	for (unsigned i = 0; i < 320; i++)
		pcm[2 * i] = pcm[2 * i + 1] = (int16_t)(8000 * sin(2 * M_PI * 440 * i / 16000.0));
	snprintf(kf, sizeof(kf), "%s/k.key", dir);
	f = fopen(kf, "w");
	fprintf(f, "%064d\n", 7);
	fclose(f);
	chmod(kf, 0600);
	for (int r = 0; r < 3; r++) { /* interleaved, three rounds: the best of each */
		rec_seal_configure(NULL, NULL, err, sizeof(err));
		plain[r] = run(dir, "plain", secs, pcm);
		if (rec_seal_configure(kf, NULL, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		sealed[r] = run(dir, "sealed", secs, pcm);
	}
	for (int r = 1; r < 3; r++) {
		plain[0] = plain[r] < plain[0] ? plain[r] : plain[0];
		sealed[0] = sealed[r] < sealed[0] ? sealed[r] : sealed[0];
	}
	printf("%u s of 16 kHz stereo (%.1f MB), 20 ms writes, a sync every 500 ms, on tmpfs; best of 3:\n", secs,
	       secs * 64000.0 / 1e6);
	printf("  plain WAV:  %.3f s CPU (%.2f s per hour of audio)\n", plain[0], plain[0] * 3600 / secs);
	printf("  sealed WAV: %.3f s CPU (%.2f s per hour of audio)\n", sealed[0], sealed[0] * 3600 / secs);
	printf("  sealed / plain: x%.2f\n", sealed[0] / plain[0]);
	{ /* the cipher alone */
		const struct rec_kek *k = rec_seal_kek();
		static uint8_t buf[1 << 20];
		char p[600];
		double t0;
		int e = 0, fd;
		struct rec_seal *s;

		snprintf(p, sizeof(p), "%s/raw", dir);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		s = rec_seal_open(fd, k, &e);
		t0 = cpu_s();
		for (int i = 0; i < 256; i++)
			rec_seal_write(s, buf, sizeof(buf));
		rec_seal_close(s);
		t0 = cpu_s() - t0;
		close(fd);
		unlink(p);
		printf("  secretstream, 64 KiB chunks to tmpfs: %.0f MB/s\n", 256 * 1.048576 / t0);
	}
	unlink(kf);
	rmdir(dir);
	return 0;
}
