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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl_call.h"
#include "ctl_config.h"
#include "ctl_guard.h"
#include "ctl_server.h"
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
		"      --check-config         print the effective configuration and exit\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n"
		"\n"
		"Command-line settings win over the file, whatever their order.\n"
		"Exit status: 0 stopped cleanly, 64 bad usage, 78 bad configuration,\n"
		"71 control socket unavailable, 69 EAL failed to start, 70 internal error.\n"
		"Documentation: docs/config.md, docs/architecture.md.\n");
}

enum { OPT_LOG_TARGET = 256, OPT_LCORES, OPT_CHECK };

static void calls_tick(void *ctx, uint64_t now_ms)
{
	ctl_calls_tick(ctx, now_ms);
	dp_media_log_refusals();
	dp_workers_reclaim();
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *overrides[64];
	int noverrides = 0, opt, rc, sig, workers, sigfd;
	const char *config_path = NULL;
	bool check_only = false;
	struct ctl_config cfg;
	struct ctl_server *srv;
	struct ctl_server_handlers handlers;
	struct ctl_calls_conf calls_conf;
	struct ctl_calls *calls;
	struct ctl_guard *guard;
	char err[512];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:o:L:l:t:hV", opts, NULL)) != -1) {
		const char *key = NULL;
		char *assign;

		switch (opt) {
		case 'c': config_path = optarg; continue;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mediusd %s\n", MEDIUS_VERSION); return 0;
		case OPT_CHECK: check_only = true; continue;
		case 'o': key = ""; break;
		case 'L': key = "general.log_level="; break;
		case OPT_LOG_TARGET: key = "general.log_target="; break;
		case 'l': key = "control.listen_ng="; break;
		case 't': key = "control.listen_ng_tcp="; break;
		case OPT_LCORES: key = "eal.lcores="; break;
		default: usage(stderr); return EX_USAGE;
		}
		if (noverrides == (int)(sizeof(overrides) / sizeof(overrides[0]))) {
			fprintf(stderr, "mediusd: too many overrides\n");
			return EX_USAGE;
		}
		if (asprintf(&assign, "%s%s", key, optarg) < 0)
			return EX_OSERR;
		overrides[noverrides++] = assign;
	}
	if (optind < argc) {
		fprintf(stderr, "mediusd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return EX_USAGE;
	}

	ctl_config_defaults(&cfg);
	if (config_path && ctl_config_load(&cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "mediusd: %s\n", err);
		return EX_CONFIG;
	}
	for (int i = 0; i < noverrides; i++) {
		rc = ctl_config_override(&cfg, overrides[i], err, sizeof(err));
		free(overrides[i]);
		if (rc) {
			fprintf(stderr, "mediusd: command line: %s\n", err);
			for (int j = i + 1; j < noverrides; j++)
				free(overrides[j]);
			return EX_CONFIG;
		}
	}
	if (ctl_config_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "mediusd: %s\n", err);
		return EX_CONFIG;
	}
	if (check_only) {
		ctl_config_dump(&cfg, stdout);
		return 0;
	}
	if (dp_log_setup(cfg.log_level, cfg.log_target, "mediusd", cfg.log_facility, cfg.log_burst,
			 cfg.log_interval_ms)) {
		fprintf(stderr, "mediusd: general.log_facility: unknown facility '%s'\n",
			cfg.log_facility);
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
		return EX_OSERR;
	}
	sigdelset(&mask, SIGPIPE);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		dp_log(DP_LOG_ERR, "main", "signalfd: %s", strerror(errno));
		return EX_OSERR;
	}

	calls_conf.idle_timeout_s = cfg.call_idle_timeout_s;
	snprintf(calls_conf.tap_dir, sizeof(calls_conf.tap_dir), "%s", cfg.tap_dir);
	snprintf(calls_conf.play_dir, sizeof(calls_conf.play_dir), "%s", cfg.play_dir);
	snprintf(calls_conf.rec_dir, sizeof(calls_conf.rec_dir), "%s", cfg.rec.dir);
	snprintf(calls_conf.rec_format, sizeof(calls_conf.rec_format), "%s", cfg.rec.format);
	snprintf(calls_conf.rec_pattern, sizeof(calls_conf.rec_pattern), "%s", cfg.rec.pattern);
	calls_conf.rec_rate = cfg.rec.rate;
	calls_conf.rec_fsync_ms = cfg.rec.fsync_ms;
	calls_conf.rec_pcap = cfg.rec.pcap != 0;
	if (cfg.rec.dir[0]) { /* what a crash left: finalised before any new recording */
		int n = rec_recover(cfg.rec.dir);

		if (n < 0)
			dp_log(DP_LOG_ERR, "rec", "recording.dir %s: %s", cfg.rec.dir, strerror(-n));
		else if (n > 0)
			dp_log(DP_LOG_WARNING, "rec", "%d recording file(s) left by a crash finalised (marked incomplete)", n);
	}
	mx_conf_set(&(struct mx_conf){ .jb_min_ms = cfg.jb_min_ms, .jb_max_ms = cfg.jb_max_ms }); /* checked above */
	cdc_opus_set_default_complexity((int)cfg.opus_complexity); /* 0..10, checked by the config */
	/* allow-list, limits, signatures: the secrets file is read here */
	guard = ctl_guard_create(&cfg, err, sizeof(err));
	if (!guard) {
		dp_log(DP_LOG_ERR, "main", "%s", err);
		return EX_CONFIG;
	}
	calls_conf.guard = guard;
	calls = ctl_calls_create(&calls_conf);
	if (!calls)
		return EX_OSERR;
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
		ctl_calls_destroy(calls);
		return EX_OSERR;
	}
	dp_log_capture_rte();
	if (dp_eal_start(&cfg.eal, "mediusd")) {
		ctl_server_destroy(srv);
		ctl_calls_destroy(calls);
		return EX_UNAVAILABLE;
	}
	if (dp_media_start(&cfg.media)) {
		ctl_server_destroy(srv);
		ctl_calls_destroy(calls);
		dp_eal_stop();
		return EX_CONFIG;
	}
	workers = dp_workers_start();
	if (workers < 0) {
		dp_log(DP_LOG_ERR, "main", "cannot start workers: %s", strerror(-workers));
		ctl_server_destroy(srv);
		ctl_calls_destroy(calls);
		dp_eal_stop();
		return EX_SOFTWARE;
	}
	if (workers == 0)
		dp_log(DP_LOG_WARNING, "main", "no worker lcore: media cannot flow (give EAL at least 2 lcores)");
	dp_log(DP_LOG_NOTICE, "main", "mediusd %s ready (%d worker lcore(s))", MEDIUS_VERSION, workers);

	sig = ctl_server_run(srv, sigfd);
	if (sig > 0)
		dp_log(DP_LOG_NOTICE, "main", "%s received, shutting down", strsignal(sig));
	else
		dp_log(DP_LOG_ERR, "main", "control loop failed: %s", strerror(-sig));
	ctl_server_destroy(srv);
	ctl_calls_destroy(calls); /* before the workers stop: legs detach through them */
	ctl_guard_destroy(guard); /* after the calls, which hold its call counts */
	if (rec_wait_all(10000))
		dp_log(DP_LOG_ERR, "rec", "recordings still being finalised at exit");
	dp_eal_stop();
	close(sigfd);
	dp_log(DP_LOG_NOTICE, "main", "stopped");
	dp_log_close();
	return sig > 0 ? 0 : EX_SOFTWARE;
}
