/* SPDX-License-Identifier: MIT
 * dp_eal: EAL bootstrap with or without hugepages (see dp.h). */
#include "dp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

static uint64_t meminfo_field(const char *meminfo, const char *name)
{
	const char *p = meminfo;
	size_t n = strlen(name);

	while (p && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strtoull(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

uint64_t dp_hugepages_free_mb(const char *meminfo)
{
	uint64_t pages = meminfo_field(meminfo, "HugePages_Free");
	uint64_t size_kb = meminfo_field(meminfo, "Hugepagesize");

	return pages * size_kb / 1024;
}

struct argv_builder {
	char **argv;
	int argc;
	char *store;
	size_t left;
	bool overflow;
};

static void add_arg(struct argv_builder *b, const char *s)
{
	size_t n = strlen(s) + 1;

	if (b->argc >= DP_EAL_MAX_ARGS - 1 || n > b->left) {
		b->overflow = true;
		return;
	}
	memcpy(b->store, s, n);
	b->argv[b->argc++] = b->store;
	b->store += n;
	b->left -= n;
}

int dp_eal_build_args(const struct dp_eal_conf *conf, uint64_t huge_free_mb, const char *prog,
		      char **argv, char *store, size_t store_len)
{
	struct argv_builder b = { .argv = argv, .store = store, .left = store_len };
	bool huge = conf->hugepages == DP_HUGE_YES ||
		    (conf->hugepages == DP_HUGE_AUTO && huge_free_mb >= conf->memory_mb);
	char num[32], extra[sizeof(conf->pci_devices)];
	char *save = NULL;
	int pci = 0;

	if (conf->hugepages == DP_HUGE_YES && huge_free_mb < conf->memory_mb)
		return -EINVAL;
	add_arg(&b, prog);
	if (conf->lcores[0]) {
		/* "0-1" is a core list (-l); "0@0,(1-2)@1" maps lcores onto cores
		 * (--lcores), which also runs more lcores than there are cores */
		add_arg(&b, strpbrk(conf->lcores, "@(") ? "--lcores" : "-l");
		add_arg(&b, conf->lcores);
	}
	snprintf(num, sizeof(num), "%" PRIu32, conf->memory_mb);
	add_arg(&b, "-m");
	add_arg(&b, num);
	if (huge) {
		add_arg(&b, "--in-memory");
	} else {
		add_arg(&b, "--no-huge");
		add_arg(&b, "--no-shconf");
	}
	add_arg(&b, "--no-telemetry");
	snprintf(extra, sizeof(extra), "%s", conf->pci_devices);
	for (char *t = strtok_r(extra, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		add_arg(&b, "-a");
		add_arg(&b, t);
		pci++;
	}
	if (pci == 0)
		add_arg(&b, "--no-pci"); /* never probe a device nobody named */
	snprintf(extra, sizeof(extra), "%s", conf->extra_args);
	for (char *t = strtok_r(extra, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		add_arg(&b, t);
	if (b.overflow)
		return -EINVAL;
	argv[b.argc] = NULL;
	return b.argc;
}

static char *read_meminfo(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

int dp_eal_start(const struct dp_eal_conf *conf, const char *prog)
{
	char *argv[DP_EAL_MAX_ARGS], store[1024], line[512] = "";
	char *meminfo = read_meminfo();
	uint64_t huge_mb = meminfo ? dp_hugepages_free_mb(meminfo) : 0;
	int argc, rc;

	free(meminfo);
	argc = dp_eal_build_args(conf, huge_mb, prog, argv, store, sizeof(store));
	if (argc < 0) {
		if (conf->hugepages == DP_HUGE_YES && huge_mb < conf->memory_mb)
			dp_log(DP_LOG_ERR, "eal",
			       "hugepages = yes, but only %" PRIu64 " MiB of the %" PRIu32
			       " MiB asked for are free",
			       huge_mb, conf->memory_mb);
		else
			dp_log(DP_LOG_ERR, "eal", "too many EAL arguments");
		return -EINVAL;
	}
	for (int i = 1; i < argc; i++) {
		strncat(line, " ", sizeof(line) - strlen(line) - 1);
		strncat(line, argv[i], sizeof(line) - strlen(line) - 1);
	}
	dp_log(DP_LOG_INFO, "eal", "starting EAL (%s, %" PRIu64 " MiB hugepages free):%s",
	       strstr(line, "--no-huge") ? "no hugepages" : "hugepages", huge_mb, line);
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		rc = rte_errno ? rte_errno : EINVAL;
		dp_log(DP_LOG_ERR, "eal", "rte_eal_init failed: %s", rte_strerror(rc));
		return -rc;
	}
	dp_log(DP_LOG_INFO, "eal", "main lcore %u runs control; %u worker lcore(s)",
	       rte_get_main_lcore(), rte_lcore_count() - 1);
	return 0;
}

void dp_eal_stop(void)
{
	dp_workers_stop();
	dp_media_stop();
	rte_eal_cleanup();
}
