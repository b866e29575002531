/* SPDX-License-Identifier: MIT
 * mediusd: the media server daemon. Reads the configuration, starts EAL
 * (main lcore: control; the others: workers), serves the ng control socket
 * and stops cleanly on SIGTERM or SIGINT.
 *
 * Exit codes (sysexits.h): 0 clean stop, 64 bad command line, 78 bad
 * configuration, 71 a control socket could not be opened, 69 EAL would not
 * start, 70 internal failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl_alert.h"
#include "ctl_call.h"
#include "ctl_config.h"
#include "rec_seal.h"
#include "ctl_acl.h"
#include "ctl_http.h"
#include "ctl_metrics.h"
#include "ctl_rec_notify.h"
#include "ctl_notify.h"
#include "ctl_ops.h"
#include "ctl_guard.h"
#include "ctl_server.h"
#include "ctl_val.h"
#include "mx.h"
#include "rec.h"
#include "dp.h"

#ifndef MEDIUS_VERSION
#define MEDIUS_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mediusd [OPTION]...\n"
		"The medius media server: relays, transcodes, mixes and records RTP/SRTP,\n"
		"driven over the ng control protocol (rtpengine-compatible).\n"
		"\n"
		"  -c, --config FILE          read the INI configuration FILE\n"
		"  -o, --set SECTION.KEY=VAL  override one configuration key (repeatable)\n"
		"  -L, --log-level LEVEL      error, warning, notice, info or debug\n"
		"      --log-target TARGET    stderr or syslog\n"
		"  -l, --listen-ng ADDR:PORT  ng control socket, UDP (default 127.0.0.1:2223)\n"
		"  -t, --listen-ng-tcp ADDR:PORT  ng control socket, TCP (default: off)\n"
		"      --lcores LIST          EAL lcore list, e.g. 0-1 (first: control)\n"
		"      --check-config [FILE]  check the configuration (FILE, or --config's, and\n"
		"                             the command line), print OK or every error with\n"
		"                             its line, exit 0 or 1; starts nothing\n"
		"      --dump-config          print the effective configuration and exit\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n"
		"\n"
		"Command-line settings win over the file, whatever their order.\n"
		"Exit status: 0 stopped cleanly, 64 bad usage, 78 bad configuration,\n"
		"71 control socket unavailable, 69 EAL failed to start, 70 internal error.\n"
		"Documentation: docs/config.md, docs/architecture.md.\n");
}

enum { OPT_LOG_TARGET = 256, OPT_LCORES, OPT_CHECK, OPT_DUMP };

static struct ctl_ops *g_ops;

/* [http]: the listener and what it serves, collected on this lcore's tick */
static struct ctl_metrics *g_metrics;
static struct ctl_server *g_srv;

static void calls_tick(void *ctx, uint64_t now_ms)
{
	ctl_calls_tick(ctx, now_ms);
	if (g_metrics)
		ctl_metrics_collect(g_metrics, ctx, g_srv ? ctl_server_ng(g_srv) : NULL, now_ms);
	ctl_alerts_tick(ctx, now_ms); /* per-site alerts (ctl_alert_run.c) */
	ctl_ops_tick(g_ops, now_ms);
	dp_media_log_refusals();
	dp_workers_reclaim();
}

/* status.json's "alerts" (ctl_metrics_set_alerts): each active per-site
 * alert as one line of text, e.g. "north: loss 5.10 % (over 2 % since
 * 06:41:03Z)". */
static void status_alerts(void *ctx, struct ctl_buf *out)
{
	struct ctl_alerts *a = ctl_alerts_get();
	struct timespec ts;
	uint64_t now;
	unsigned n = 0;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock the control tick uses */
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	ctl_buf_putc(out, '[');
	for (unsigned i = 0; a && i < ctl_alerts_n_sites(a); i++) {
		struct ctl_alert_site_view v;

		if (ctl_alerts_site(a, i, now, &v))
			continue;
		for (int m = 0; m < CTL_ALERT__N; m++) {
			char line[192], when[32] = "?";
			time_t t = (time_t)(v.raised_wall_ms[m] / 1000);
			struct tm tm;

			if (!v.active[m])
				continue;
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
			snprintf(line, sizeof(line), "%s: %s %s%.2f %s (raised %s)", v.name,
				 ctl_alert_metric_name((enum ctl_alert_metric)m), v.have[m] ? "" : "no data, was ",
				 v.have[m] ? v.value[m] : v.worst[m], ctl_alert_metric_unit((enum ctl_alert_metric)m), when);
			if (n++)
				ctl_buf_putc(out, ',');
			ctl_metrics_json_str(out, line);
		}
	}
	ctl_buf_putc(out, ']');
}

static void audit_log_fn(const char *msg) { dp_log(DP_LOG_ERR, "rec", "%s", msg); }
static void retain_log_fn(const char *msg) { dp_log(DP_LOG_NOTICE, "rec", "%s", msg); }

static void free_overrides(char **o, int n)
{
	for (int i = 0; i < n; i++)
		free(o[i]);
}

/* --check-config [FILE]: every error with its line, then the checks
 * across keys; "OK" and 0, or 1. Starts nothing. */
static int check_config(struct ctl_config *cfg, const char *path, char **overrides, int n)
{
	int errors = path ? ctl_config_check_file(cfg, path, stderr) : 0;
	char err[512];

	for (int i = 0; i < n; i++)
		if (ctl_config_override(cfg, overrides[i], err, sizeof(err))) {
			fprintf(stderr, "command line: %s\n", err);
			errors++;
		}
	if (!errors && ctl_config_check(cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", path ? path : "configuration", err);
		errors++;
	}
	free_overrides(overrides, n);
	if (errors) {
		fprintf(stderr, "%s: %d error(s)\n", path ? path : "configuration", errors);
		return 1;
	}
	printf("%s: OK\n", path ? path : "built-in defaults");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 'o' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "log-target", required_argument, NULL, OPT_LOG_TARGET },
		{ "listen-ng", required_argument, NULL, 'l' },
		{ "listen-ng-tcp", required_argument, NULL, 't' },
		{ "lcores", required_argument, NULL, OPT_LCORES },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *overrides[64];
	int noverrides = 0, opt, rc, sig, workers, sigfd = -1;
	const char *config_path = NULL;
	bool check_only = false, dump_only = false;
	struct ctl_config cfg;
	struct ctl_server *srv = NULL;
	struct ctl_server_handlers handlers;
	struct ctl_calls_conf calls_conf;
	struct ctl_calls *calls = NULL;
	struct ctl_http *http = NULL;
	struct ctl_guard *guard = NULL;
	bool eal_up = false;
	char err[512];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:o:L:l:t:hV", opts, NULL)) != -1) {
		const char *key = NULL;
		char *assign;

		switch (opt) {
		case 'c': config_path = optarg; continue;
		case 'h': usage(stdout); free_overrides(overrides, noverrides); return 0;
		case 'V': printf("mediusd %s\n", MEDIUS_VERSION); free_overrides(overrides, noverrides); return 0;
		case OPT_CHECK: check_only = true; continue;
		case OPT_DUMP: dump_only = true; continue;
		case 'o': key = ""; break;
		case 'L': key = "general.log_level="; break;
		case OPT_LOG_TARGET: key = "general.log_target="; break;
		case 'l': key = "control.listen_ng="; break;
		case 't': key = "control.listen_ng_tcp="; break;
		case OPT_LCORES: key = "eal.lcores="; break;
		default: usage(stderr); free_overrides(overrides, noverrides); return EX_USAGE;
		}
		if (noverrides == (int)(sizeof(overrides) / sizeof(overrides[0]))) {
			fprintf(stderr, "mediusd: too many overrides\n");
			free_overrides(overrides, noverrides);
			return EX_USAGE;
		}
		if (asprintf(&assign, "%s%s", key, optarg) < 0) {
			free_overrides(overrides, noverrides);
			return EX_OSERR;
		}
		overrides[noverrides++] = assign;
	}
	if (check_only && optind + 1 == argc) /* --check-config FILE */
		config_path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "mediusd: unexpected argument '%s' (see --help)\n", argv[optind]);
		free_overrides(overrides, noverrides);
		return EX_USAGE;
	}

	ctl_config_defaults(&cfg);
	if (check_only)
		return check_config(&cfg, config_path, overrides, noverrides);
	if (config_path && ctl_config_load(&cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "mediusd: %s\n", err);
		free_overrides(overrides, noverrides);
		return EX_CONFIG;
	}
	for (int i = 0; i < noverrides; i++) { /* kept: every reload applies them again */
		rc = ctl_config_override(&cfg, overrides[i], err, sizeof(err));
		if (rc) {
			fprintf(stderr, "mediusd: command line: %s\n", err);
			free_overrides(overrides, noverrides);
			return EX_CONFIG;
		}
	}
	if (ctl_config_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "mediusd: %s\n", err);
		free_overrides(overrides, noverrides);
		return EX_CONFIG;
	}
	if (dump_only) {
		ctl_config_dump(&cfg, stdout);
		free_overrides(overrides, noverrides);
		return 0;
	}
	ctl_notify_status("starting");
	if (dp_log_setup(cfg.log_level, cfg.log_target, "mediusd", cfg.log_facility, cfg.log_burst,
			 cfg.log_interval_ms)) {
		fprintf(stderr, "mediusd: general.log_facility: unknown facility '%s'\n",
			cfg.log_facility);
		free_overrides(overrides, noverrides);
		return EX_CONFIG;
	}

	/* Signals are taken from a signalfd on the control lcore. Block them
	 * before EAL creates its threads, which inherit the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		dp_log(DP_LOG_ERR, "main", "sigprocmask: %s", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	sigdelset(&mask, SIGPIPE);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		dp_log(DP_LOG_ERR, "main", "signalfd: %s", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}

	ctl_ops_calls_conf(&cfg, &calls_conf);
	if (cfg.rec.key_file[0]) { /* encryption at rest: before recovery (it opens sealed files) */
		if (rec_seal_configure(cfg.rec.key_file, cfg.rec.key_id, err, sizeof(err))) {
			dp_log(DP_LOG_ERR, "rec", "recording.key_file: %s", err);
			rc = EX_CONFIG;
			goto out;
		}
		dp_log(DP_LOG_INFO, "rec", "recordings are sealed under key id %s", rec_seal_kek()->id);
	}
	if (cfg.rec.dir[0]) { /* the audit log first: the recovery below is audited */
		char path[512];
		int e;

		snprintf(path, sizeof(path), "%s", cfg.rec.audit_log[0] ? cfg.rec.audit_log : cfg.rec.dir);
		if (!cfg.rec.audit_log[0])
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/audit.log");
		if ((e = rec_audit_open(path, audit_log_fn))) {
			dp_log(DP_LOG_ERR, "rec", "audit log %s: %s (recording needs it)", path, strerror(-e));
			rc = EX_CANTCREAT;
			goto out;
		}
	}
	if (cfg.rec.dir[0]) { /* what a crash left: finalised before any new recording */
		int n = rec_recover(cfg.rec.dir);

		if (n < 0)
			dp_log(DP_LOG_ERR, "rec", "recording.dir %s: %s", cfg.rec.dir, strerror(-n));
		else if (n > 0)
			dp_log(DP_LOG_WARNING, "rec", "%d recording file(s) left by a crash finalised (marked incomplete)", n);
	}
	if (cfg.rec.dir[0] && cfg.retention.sweep_interval_s) /* the periodic sweep, on its own thread */
		rec_retain_start(cfg.rec.dir, &calls_conf.retention, cfg.retention.sweep_interval_s, retain_log_fn);
	mx_conf_set(&(struct mx_conf){ .jb_min_ms = cfg.jb_min_ms, .jb_max_ms = cfg.jb_max_ms }); /* checked above */
	cdc_opus_set_default_complexity((int)cfg.opus_complexity); /* 0..10, checked by the config */
	/* allow-list, limits, signatures: the secrets file is read here */
	guard = ctl_guard_create(&cfg, err, sizeof(err));
	if (!guard) {
		dp_log(DP_LOG_ERR, "main", "%s", err);
		rc = EX_CONFIG;
		goto out;
	}
	calls_conf.guard = guard;
	calls = ctl_calls_create(&calls_conf);
	if (!calls) {
		rc = EX_OSERR;
		goto out;
	}
	{ /* per-site alerts (the interfaces are sites) and the recording notification */
		const char *ifn[DP_MAX_IFACES];

		for (unsigned i = 0; i < cfg.media.n_ifaces; i++)
			ifn[i] = cfg.media.ifaces[i].name;
		if (ctl_alerts_start(&cfg.alerts, ifn, cfg.media.n_ifaces) ||
		    ctl_rec_notify_start(cfg.rec.notify_url, cfg.rec.notify_attempts, cfg.rec.notify_timeout_ms)) {
			rc = EX_CONFIG;
			goto out;
		}
	}
	g_ops = ctl_ops_create(&cfg, config_path, overrides, noverrides, calls);
	if (!g_ops) {
		rc = EX_OSERR;
		goto out;
	}
	memset(&handlers, 0, sizeof(handlers));
	handlers.reload = ctl_ops_reload;
	handlers.reload_ctx = g_ops;
	handlers.guard = guard;
	handlers.cmds = ctl_calls_commands(&handlers.n_cmds);
	handlers.ctx = calls;
	handlers.tick = calls_tick;
	/* Every kernel-UDP leg is one or two sockets: take every descriptor the
	 * host allows (the soft limit is often 1024, i.e. ~500 legs). */
	{
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nofile) == 0)
				dp_log(DP_LOG_INFO, "main", "open files limit raised to %llu",
				       (unsigned long long)nofile.rlim_cur);
		}
	}
	/* Bind the control sockets first: a busy port fails fast and clearly. */
	srv = ctl_server_create(&cfg, &handlers, err, sizeof(err));
	if (!srv) {
		dp_log(DP_LOG_ERR, "main", "%s", err);
		rc = EX_OSERR;
		goto out;
	}
	ctl_ops_set_server(g_ops, srv);
	ctl_notify_status("starting EAL and the workers");
	dp_log_capture_rte();
	if (dp_eal_start(&cfg.eal, "mediusd")) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	eal_up = true;
	if (dp_media_start(&cfg.media)) {
		rc = EX_CONFIG;
		goto out;
	}
	workers = dp_workers_start();
	if (workers < 0) {
		dp_log(DP_LOG_ERR, "main", "cannot start workers: %s", strerror(-workers));
		rc = EX_SOFTWARE;
		goto out;
	}
	if (workers == 0)
		dp_log(DP_LOG_WARNING, "main", "no worker lcore: media cannot flow (give EAL at least 2 lcores)");
	/* After EAL: the listener's threads take the control lcore's affinity. */
	if (cfg.http.listen[0]) {
		/* the same allow-list as the ng listeners (checked by the config) */
		if (ctl_acl_parse(&cfg.http.acl, cfg.allow, err, sizeof(err)))
			dp_log(DP_LOG_ERR, "main", "control.allow: %s", err); /* not reached: validated */
		http = ctl_http_start(&cfg.http, err, sizeof(err));
		g_metrics = http ? ctl_metrics_create(http) : NULL;
		if (g_metrics)
			ctl_metrics_set_alerts(g_metrics, status_alerts, NULL);
		if (!g_metrics) {
			dp_log(DP_LOG_ERR, "main", "%s", http ? "http: out of memory" : err);
			rc = EX_OSERR;
			goto out;
		}
		g_srv = srv;
		ctl_metrics_collect(g_metrics, calls, ctl_server_ng(srv), 0); /* something to serve at once */
	}
	dp_log(DP_LOG_NOTICE, "main", "mediusd %s ready (%d worker lcore(s))", MEDIUS_VERSION, workers);
	{ /* the ng sockets are bound, EAL, the ports and the workers are up */
		char st[256];

		snprintf(st, sizeof(st), "running: ng on %s/udp%s%s, %d worker lcore(s)", cfg.listen_ng,
			 cfg.listen_ng_tcp[0] ? " and tcp " : "", cfg.listen_ng_tcp, workers);
		ctl_notify_ready(st);
	}

	sig = ctl_server_run(srv, sigfd);
	if (sig > 0)
		dp_log(DP_LOG_NOTICE, "main", "%s received, shutting down", strsignal(sig));
	else
		dp_log(DP_LOG_ERR, "main", "control loop failed: %s", strerror(-sig));
	ctl_notify_stopping();
	rc = sig > 0 ? 0 : EX_SOFTWARE;
out: /* a start-up failure after the guard comes here too: everything is undone (LeakSanitizer checks) */
	ctl_http_stop(http); /* its threads first: nothing reads what goes next */
	ctl_metrics_destroy(g_metrics);
	g_metrics = NULL;
	g_srv = NULL;
	ctl_server_destroy(srv);
	ctl_calls_destroy(calls); /* before the workers stop: legs detach through them */
	ctl_guard_destroy(guard); /* after the calls, which hold its call counts */
	if (rec_wait_all(10000))
		dp_log(DP_LOG_ERR, "rec", "recordings still being finalised at exit");
	rec_retain_stop();
	rec_audit_close(); /* what the recordings' ends queued is written first */
	ctl_rec_notify_stop(cfg.rec.notify_timeout_ms); /* after the recordings' last notifications */
	ctl_alerts_stop();
	if (eal_up)
		dp_eal_stop();
	ctl_ops_destroy(g_ops);
	g_ops = NULL;
	free_overrides(overrides, noverrides);
	if (sigfd >= 0)
		close(sigfd);
	if (!rc)
		dp_log(DP_LOG_NOTICE, "main", "stopped");
	dp_log_close();
	return rc;
}
