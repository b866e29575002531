/* SPDX-License-Identifier: MIT
 * mediusctl top: a live terminal view of what the status page shows, read
 * from mediusd's /status.json ([http] listen): calls, conferences and who
 * talks, per-site quality with a sparkline of the last hour, workers and
 * drops. Redrawn every 2 s (plain ANSI escapes) until q or Ctrl-C;
 * --once prints one frame without escapes and exits.
 *
 * HTTP with libcurl (already mediusd's dependency): it also speaks HTTPS,
 * for a listener with [http] tls_cert (--cacert names the CA to trust).
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "ctl_mediusctl_top.h"
#include "ctl_val.h"

#define MAX_DOC (16u << 20)

struct fetch {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *data, size_t sz, size_t n, void *ctx)
{
	struct fetch *f = ctx;
	size_t add = sz * n;
	char *q;

	if (f->len + add > MAX_DOC) {
		f->too_big = true;
		return 0;
	}
	q = realloc(f->p, f->len + add + 1);
	if (!q)
		return 0;
	f->p = q;
	memcpy(f->p + f->len, data, add);
	f->len += add;
	f->p[f->len] = '\0';
	return add;
}

/* GET url into f (body only). 0, or -1 with the reason in err. */
static int get(CURL *c, const char *url, const char *cacert, struct fetch *f, char *err, size_t errlen)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	f->len = 0;
	f->too_big = false;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, f->too_big ? "document too large" : ebuf[0] ? ebuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "%s: HTTP %ld%s", url, status, status == 503 ? " (nothing collected yet)" : "");
		return -1;
	}
	return 0;
}

/* ---- reading the tree ---- */

static const struct ctl_val *list(const struct ctl_val *d, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(d, key);

	return v && v->type == CTL_V_LIST ? v->u.c.head : NULL;
}

/* A number: an integer, or a fraction (a string, ctl_json_decode_doc);
 * null or absent: NAN. */
static double fnum(const struct ctl_val *d, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(d, key);
	char b[48];

	if (!v)
		return NAN;
	if (v->type == CTL_V_INT)
		return (double)v->u.i;
	if (v->type != CTL_V_STR || !v->u.s.len || v->u.s.len >= sizeof(b))
		return NAN;
	memcpy(b, v->u.s.p, v->u.s.len);
	b[v->u.s.len] = '\0';
	return strtod(b, NULL);
}

/* A string member, printable only (control bytes and escapes shown as '?'),
 * cut to width w. */
static const char *text(const struct ctl_val *d, const char *key, char *buf, size_t len)
{
	const struct ctl_val *v = ctl_dict_get(d, key);
	size_t n = 0;

	if (!v || v->type != CTL_V_STR || !v->u.s.len) {
		snprintf(buf, len, "-");
		return buf;
	}
	for (size_t i = 0; i < v->u.s.len && n + 1 < len; i++) {
		unsigned char ch = (unsigned char)v->u.s.p[i];

		buf[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	buf[n] = '\0';
	return buf;
}

static bool flag(const struct ctl_val *d, const char *key)
{
	const struct ctl_val *v = ctl_dict_get(d, key);

	return v && v->type == CTL_V_INT && v->u.i;
}

static const char *numtxt(double x, const char *fmt, char *buf, size_t len)
{
	if (isnan(x))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, x);
	return buf;
}

/* The last hour of MOS from a site's minute ring, one character a minute:
 * ' ' no sample, then 1.0..4.5 over eight block heights. */
static void sparkline(FILE *out, const struct ctl_val *site)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	const struct ctl_val *h = list(site, "history");
	unsigned n = 0, skip;

	for (const struct ctl_val *x = h; x; x = x->next)
		n++;
	skip = n > 60 ? n - 60 : 0;
	for (const struct ctl_val *x = h; x; x = x->next) {
		double m;
		int i;

		if (skip) {
			skip--;
			continue;
		}
		m = fnum(x, "mos");
		if (isnan(m)) {
			fputc(' ', out);
			continue;
		}
		i = (int)lround((m - 1.0) / 3.5 * 7.0);
		fputs(bars[i < 0 ? 0 : i > 7 ? 7 : i], out);
	}
}

static void duration(char *b, size_t n, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		snprintf(b, n, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(b, n, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(b, n, "%llds", s);
}

/* One frame of doc onto out; eol is what ends a line ("\033[K\n" live:
 * clear what the last frame left). */
static void frame(FILE *out, const struct ctl_val *doc, const char *src, const char *eol)
{
	long long now = (long long)fnum(doc, "time"), up = now - (long long)fnum(doc, "started");
	char a[256], b[64], c[64], d[64], e[64];
	unsigned n;

	duration(b, sizeof(b), up);
	fprintf(out, "mediusd %s  up %s  calls %lld  (%s)%s", text(doc, "version", a, sizeof(a)), b,
		(long long)fnum(doc, "calls_total"), src, eol);

	fprintf(out, "%s%-28s %7s %-10s %-8s %9s %5s %6s %8s%s", eol, "CALL", "age", "site", "codec", "packets",
		"MOS", "loss%", "jitter", eol);
	n = 0;
	for (const struct ctl_val *k = list(doc, "calls"); k; k = k->next, n++) {
		char flags[32];

		duration(b, sizeof(b), now - (long long)fnum(k, "created"));
		snprintf(flags, sizeof(flags), "%s%s%s", flag(k, "conference") ? " [conf]" : "",
			 flag(k, "recording") ? " [rec]" : "", flag(k, "transcoded") ? " [xcode]" : "");
		fprintf(out, "%-28s %7s %-10s%s%s", text(k, "id", a, sizeof(a)), b, text(k, "site", c, sizeof(c)), flags,
			eol);
		for (const struct ctl_val *p = list(k, "parties"); p; p = p->next) {
			char tag[64], site[64], codec[32];

			fprintf(out, "  %c %-24s %7s %-10s %-8s %9.0f %5s %6s %8s%s", flag(p, "sending") ? '>' : ' ',
				text(p, "tag", tag, sizeof(tag)), "", text(p, "site", site, sizeof(site)),
				text(p, "codec", codec, sizeof(codec)), fnum(p, "packets"),
				numtxt(fnum(p, "mos"), "%.2f", c, sizeof(c)), numtxt(fnum(p, "loss_pct"), "%.1f", d, sizeof(d)),
				numtxt(fnum(p, "jitter_ms"), "%.1fms", e, sizeof(e)), eol);
		}
	}
	if (!n)
		fprintf(out, "  (no calls)%s", eol);

	fprintf(out, "%sCONFERENCE (* talking)%s", eol, eol);
	n = 0;
	for (const struct ctl_val *r = list(doc, "conferences"); r; r = r->next, n++) {
		fprintf(out, "%-20s %lld participant(s):", text(r, "name", a, sizeof(a)), (long long)fnum(r, "n_participants"));
		for (const struct ctl_val *p = list(r, "participants"); p; p = p->next) {
			char id[128], site[64];

			fprintf(out, " %s%s(%s)%s", flag(p, "talking") ? "*" : "", text(p, "call_id", id, sizeof(id)),
				text(p, "site", site, sizeof(site)), flag(p, "muted") ? "[muted]" : "");
		}
		fputs(eol, out);
	}
	if (!n)
		fprintf(out, "  (no conferences)%s", eol);

	fprintf(out, "%s%-16s %5s %7s %8s %5s %6s %8s  %s%s", eol, "SITE", "calls", "streams", "talkers", "MOS", "loss%",
		"jitter", "MOS, last hour (a minute a bar)", eol);
	for (const struct ctl_val *s = list(doc, "sites"); s; s = s->next) {
		char m[16];

		fprintf(out, "%-16s %5lld %7lld %8lld %5s %6s %8s  ", text(s, "name", a, sizeof(a)),
			(long long)fnum(s, "calls"), (long long)fnum(s, "streams"), (long long)fnum(s, "talkers"),
			numtxt(fnum(s, "mos"), "%.2f", m, sizeof(m)), numtxt(fnum(s, "loss_pct"), "%.1f", d, sizeof(d)),
			numtxt(fnum(s, "jitter_ms"), "%.1fms", e, sizeof(e)));
		sparkline(out, s);
		fputs(eol, out);
	}

	fprintf(out, "%s%-8s %6s %12s %12s %8s %7s %9s %7s%s", eol, "WORKER", "load", "rx packets", "tx packets", "drops",
		"tickers", "late p99", "missed", eol);
	for (const struct ctl_val *w = list(doc, "workers"); w; w = w->next)
		fprintf(out, "lcore %-2lld %5.1f%% %12.0f %12.0f %8.0f %7.0f %7.0fus %7.0f%s", (long long)fnum(w, "lcore"),
			100.0 * fnum(w, "load"), fnum(w, "rx_packets"), fnum(w, "tx_packets"), fnum(w, "drops"),
			fnum(w, "tickers"), fnum(w, "late_p99_us"), fnum(w, "missed_ticks"), eol);

	n = 0;
	for (const struct ctl_val *i = list(doc, "interfaces"); i; i = i->next) {
		const struct ctl_val *dr = ctl_dict_get(i, "drops");
		unsigned k = 0;

		for (const struct ctl_val *x = dr && dr->type == CTL_V_DICT ? dr->u.c.head : NULL; x; x = x->next) {
			if (x->type != CTL_V_INT || !x->u.i)
				continue;
			if (!n++)
				fprintf(out, "%sDROPS%s", eol, eol);
			if (!k++)
				fprintf(out, "%s: ", text(i, "name", a, sizeof(a)));
			else
				fputs(", ", out);
			fprintf(out, "%.*s %lld", (int)x->key_len, x->key, (long long)x->u.i);
		}
		if (k)
			fputs(eol, out);
	}
	if (!n)
		fprintf(out, "%sDROPS none%s", eol, eol);
}

/* ---- the terminal ---- */

static struct termios saved;
static bool raw_on;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void restore(void)
{
	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fputs("\033[?25h\n", stdout); /* the cursor back */
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mediusctl top [--once] [--http ADDR:PORT|URL] [--cacert FILE]\n"
		"A live view of mediusd's status page in the terminal, redrawn every 2 s;\n"
		"q or Ctrl-C quits. Reads /status.json from the HTTP listener ([http] listen).\n"
		"  --http ADDR:PORT  the listener (default $MEDIUS_HTTP or 127.0.0.1:9180);\n"
		"                    a URL (https://host:port) for one with [http] tls_cert\n"
		"  --cacert FILE     the CA (or self-signed certificate) to trust for https\n"
		"  --interval SEC    seconds between frames (default 2)\n"
		"  --once            print one frame (no escapes) and exit\n"
		"Exit status: 0 ok, 2 bad usage, 3 no answer or not a status document.\n");
}

int ctl_mediusctl_top(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "once", no_argument, NULL, 'o' },	       { "http", required_argument, NULL, 'H' },
		{ "cacert", required_argument, NULL, 'C' },    { "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },	       { NULL, 0, NULL, 0 },
	};
	const char *http = getenv("MEDIUS_HTTP"), *cacert = NULL;
	char url[512], err[CURL_ERROR_SIZE + 600];
	struct fetch f = { 0 };
	bool once = false;
	int opt, rc = 0, interval_ms = 2000;
	CURL *c;

	if (!http || !*http)
		http = "127.0.0.1:9180";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o': once = true; break;
		case 'H': http = optarg; break;
		case 'C': cacert = optarg; break;
		case 'i':
			interval_ms = (int)(atof(optarg) * 1000);
			if (interval_ms < 100 || interval_ms > 3600000) {
				fprintf(stderr, "mediusctl top: --interval takes 0.1 to 3600 seconds\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	{ /* ADDR:PORT, or a URL to which /status.json is appended */
		size_t hl = strlen(http);

		snprintf(url, sizeof(url), "%s%.*s/status.json", strstr(http, "://") ? "" : "http://",
			 (int)(hl && http[hl - 1] == '/' ? hl - 1 : hl), http);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(c = curl_easy_init())) {
		fprintf(stderr, "mediusctl top: cannot start libcurl\n");
		return 3;
	}
	if (!once && isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
		struct termios t = saved;

		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		raw_on = !tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	if (!once) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		fputs("\033[?25l\033[2J", stdout); /* no cursor, a clear screen */
	}
	while (!stop) {
		struct ctl_arena a;
		struct ctl_val *doc = NULL;
		size_t used = 0, errpos = 0;
		int r = get(c, url, cacert, &f, err, sizeof(err));

		if (!r && ctl_arena_init(&a, (f.len * 4 + 4096) < (1u << 20) ? 1u << 20 : f.len * 4 + 4096) == 0) {
			r = ctl_json_decode_doc(&a, f.p, f.len, &doc, &used, &errpos);
			if (r || doc->type != CTL_V_DICT || !ctl_dict_get(doc, "calls")) {
				snprintf(err, sizeof(err), "%s: not a status document (%s at byte %zu)", url,
					 r ? strerror(-r) : "no calls", r ? errpos : used);
				r = -1;
			} else if (once) {
				frame(stdout, doc, http, "\n");
			} else {
				fputs("\033[H", stdout);
				frame(stdout, doc, http, "\033[K\n");
				fputs("\033[J(q quits)", stdout);
			}
			ctl_arena_fini(&a);
		} else if (!r) {
			snprintf(err, sizeof(err), "out of memory");
			r = -1;
		}
		if (r) {
			if (once) {
				fprintf(stderr, "mediusctl top: %s\n", err);
				rc = 3;
				break;
			}
			fprintf(stdout, "\033[H\033[2Jmediusctl top: %s (retrying)\033[K", err);
		}
		fflush(stdout);
		if (once)
			break;
		{ /* wait for the next frame, or q */
			struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (;;) {
				int left;
				char ch;

				clock_gettime(CLOCK_MONOTONIC, &t1);
				left = interval_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
				if (stop || left <= 0)
					break;
				if (poll(&p, raw_on ? 1 : 0, left) > 0) {
					if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
						stop = 1;
					else if (!raw_on || (p.revents & (POLLHUP | POLLERR)))
						p.fd = -1; /* stdin closed: only the timer */
				}
			}
		}
	}
	if (!once)
		restore();
	free(f.p);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc;
}
