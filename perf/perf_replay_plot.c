/* SPDX-License-Identifier: MIT
 * perf_replay_plot.c: `--plots DIR`: the report's latency histogram,
 * throughput and loss over time, drawn by gnuplot (Debian gnuplot-nox) as
 * SVG and PNG. The data (*.dat) and the script (plots.gp) stay in DIR, so
 * a plot can be redrawn or restyled with `gnuplot DIR/plots.gp`.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "perf_replay.h"

extern char **environ;

static FILE *open_in(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	return fopen(path, "w");
}

int perf_report_plots(const struct perf_report *r, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;
	pid_t pid;
	int st;
	char *argv[] = {"gnuplot", path, NULL};
	double bin_s = (r->bin_ms ? r->bin_ms : 100) / 1000.0;

	if (strchr(dir, '\'') || strchr(dir, '\n')) {
		snprintf(err, errlen, "--plots %s: a quote or newline in the name", dir);
		return -1;
	}
	if (mkdir(dir, 0777) && errno != EEXIST) {
		snprintf(err, errlen, "--plots %s: %s", dir, strerror(errno));
		return -1;
	}
	/* latency: bin centre (us), packets */
	if (!(f = open_in(dir, "latency.dat", path, sizeof(path))))
		goto wr;
	fprintf(f, "# added latency (us, bin centre)  packets; %llu above the last bin\n",
		(unsigned long long)r->lat_over);
	for (uint32_t i = 0; i < r->nlat_bins && r->lat_hist; i++)
		fprintf(f, "%.3f %llu\n", (i + 0.5) * r->lat_bin_us, (unsigned long long)r->lat_hist[i]);
	if (fclose(f))
		goto wr;
	/* timeline: time (s), pps sent, pps received, RTP loss (%) */
	if (!(f = open_in(dir, "timeline.dat", path, sizeof(path))))
		goto wr;
	fprintf(f, "# time (s)  packets/s sent  packets/s received  RTP loss (%%) of the RTP sent in the bin\n");
	for (uint32_t i = 0; i < r->nbins && r->bin_sent && r->bin_received; i++) {
		uint64_t rs = r->bin_rtp_sent ? r->bin_rtp_sent[i] : 0, lo = r->bin_lost ? r->bin_lost[i] : 0;

		fprintf(f, "%.3f %.1f %.1f %.4f\n", i * bin_s, r->bin_sent[i] / bin_s, r->bin_received[i] / bin_s,
			rs ? 100.0 * (double)lo / (double)rs : 0.0);
	}
	if (fclose(f))
		goto wr;
	if (!(f = open_in(dir, "plots.gp", path, sizeof(path))))
		goto wr;
	fprintf(f,
		"# medius-replay --plots: redraw with `gnuplot %s/plots.gp`\n"
		"d = '%s'\n"
		"set grid\n"
		"set key top right\n"
		"do for [fmt in 'svg png'] {\n"
		"  if (fmt eq 'svg') { set terminal svg size 900,500 dynamic font 'sans,11' } else { set terminal png size 900,500 }\n"
		"  set output d.'/latency.'.fmt\n"
		"  set title sprintf('Latency medius adds (%llu packets): p50 %%.0f us, p99 %%.0f us, max %%.0f us', %.3f, %.3f, %.3f)\n"
		"  set xlabel 'added latency (us)'\n"
		"  set ylabel 'packets'\n"
		"  set style fill solid 0.6\n"
		"  set boxwidth %.3f\n"
		"  set xrange [0:*]\n"
		"  plot d.'/latency.dat' using 1:2 with boxes title 'packets'\n"
		"  set xrange [*:*]\n"
		"  set yrange [0:*]\n"
		"  set offsets 0, 0, graph 0.1, 0\n"
		"  set output d.'/throughput.'.fmt\n"
		"  set title 'Throughput'\n"
		"  set xlabel 'time (s)'\n"
		"  set ylabel 'packets per second'\n"
		"  plot d.'/timeline.dat' using 1:2 with steps title 'sent', '' using 1:3 with steps title 'received'\n"
		"  set offsets 0, 0, 0, 0\n"
		"  set output d.'/loss.'.fmt\n"
		"  set title sprintf('RTP loss over time (%%.3f%%%% overall)', %.6f)\n"
		"  set ylabel 'loss (%% of the RTP sent in the bin)'\n"
		"  set yrange [0:%s]\n"
		"  plot d.'/timeline.dat' using 1:4 with steps title 'loss'\n"
		"  set yrange [*:*]\n"
		"  set output\n"
		"}\n",
		dir, dir, (unsigned long long)r->lat.n, r->lat.p50_us, r->lat.p99_us, r->lat.max_us,
		r->lat_bin_us * 0.9, r->rtp_sent ? 100.0 * (double)r->lost / (double)r->rtp_sent : 0.0,
		r->lost ? "*" : "1");
	if (fclose(f))
		goto wr;
	if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ)) {
		snprintf(err, errlen, "--plots: cannot run gnuplot (Debian package gnuplot-nox); the data and %s are written",
			 path);
		return -1;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(err, errlen, "--plots: gnuplot %s failed (Debian package gnuplot-nox installed?)", path);
		return -1;
	}
	return 0;
wr:
	snprintf(err, errlen, "--plots: cannot write %s: %s", path, strerror(errno));
	return -1;
}
