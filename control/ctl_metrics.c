/* SPDX-License-Identifier: MIT
 * ctl_metrics: collect once a second, render /metrics and /status.json
 * (see ctl_metrics.h; the metric list is in docs/operations.md). Control
 * lcore only; nothing here runs per packet.
 */
#include "ctl_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdc.h"
#include "ctl_call.h"
#include "ctl_call_int.h"
#include "ctl_guard.h"
#include "ctl_http.h"
#include "ctl_ng.h"
#include "ctl_val.h"
#include "dp.h"

#ifndef MEDIUS_VERSION
#define MEDIUS_VERSION "unknown"
#endif

#define MAX_SITES 64          /* sites beyond these are counted as "other" */
#define RING 60               /* per-minute samples kept per site: an hour */
#define MAX_WORKERS 64
#define MAX_LCORE 128         /* lcore ids probed for workers */
#define STATUS_CALLS 200      /* calls listed in status.json (all are counted) */
#define DP_MAX_IFACES_M 32    /* interfaces counted (more: under the last) */

/* histogram bucket upper bounds (le); +Inf is implicit */
static const double mos_le[] = { 1, 2, 2.5, 3, 3.5, 3.6, 3.8, 4, 4.2, 4.4 };
static const double jit_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2 };
static const double rtt_le[] = { 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1 };
static const double loss_le[] = { 0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2 };
static const double late_le[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025 };
#define NB(a) (sizeof(a) / sizeof(a[0]))
#define PUTS(b, lit) ctl_buf_put((b), lit, sizeof(lit) - 1) /* a string literal */

struct hist {
	uint64_t b[12]; /* per bucket, not cumulative; b[n] is +Inf */
	uint64_t count;
	double sum;
};

struct sample {
	int64_t t;                /* the minute's start, unix seconds */
	float mos, loss_pct, jitter_ms, rtt_ms; /* < 0: no value */
	uint16_t streams, calls;
};

struct site {
	char name[32];
	/* counters, over the daemon's life */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, expected, lost;
	struct hist mos, jit, rtt, loss;
	/* gauges of this collection */
	unsigned calls, streams, active, transcoded, recordings, conferences, participants, talkers;
	double mos_sum, jit_sum, rtt_sum, loss_sum;
	unsigned rtt_n;
	/* this minute so far */
	int64_t minute;
	double m_mos, m_jit, m_rtt;
	unsigned m_mos_n, m_rtt_n, m_streams, m_calls;
	uint64_t m_expected0, m_lost0;
	struct sample ring[RING];
	unsigned ring_n, ring_next;
};

struct ifc {                  /* RTP through the legs of one interface */
	char name[32];
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct worker {
	int lcore;
	int tid;                  /* its thread ("lcore-worker-N"), 0 unknown */
	uint64_t cpu_ticks, last_cpu_ticks, last_poll_ns, last_busy_ns;
	double load;              /* 0..1 over the last collection */
	struct dp_lcore_stats ls; /* its counters at this collection: what both documents render */
};

struct ctl_metrics {
	struct ctl_http *http;
	struct site site[MAX_SITES];
	unsigned n_sites;
	struct ifc ifc[DP_MAX_IFACES_M];
	unsigned n_ifc;
	struct worker w[MAX_WORKERS];
	unsigned n_w;
	uint64_t last_ms;
	double collect_s;         /* how long the last collection and rendering took */
	time_t started;
	long clk_tck;
	struct ctl_buf out, calls_json, rooms_json;
	unsigned calls_listed, calls_total, rooms_total;
	void (*alerts)(void *ctx, struct ctl_buf *out);
	void *alerts_ctx;
	const struct ctl_guard *guard; /* the call registry's, set by each collection */
	/* a room's sites while it is visited */
	uint64_t room_sites;
	bool room_first_part;
};

/* ------------------------------------------------------------------ */
/* text helpers                                                         */

void ctl_metrics_json_str(struct ctl_buf *b, const char *s)
{
	ctl_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			ctl_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			ctl_buf_printf(b, "\\u%04x", *p);
		else if (*p == '<') /* never "</script>" in a page that inlines it */
			PUTS(b, "\\u003c");
		else
			ctl_buf_putc(b, (char)*p);
	}
	ctl_buf_putc(b, '"');
}

void ctl_metrics_label_str(struct ctl_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ctl_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			PUTS(b, "\\n");
		else
			ctl_buf_putc(b, *s);
	}
}

/* a number for JSON: null for "no value" (< 0) */
static void json_num(struct ctl_buf *b, double v, int decimals)
{
	if (v < 0)
		PUTS(b, "null");
	else
		ctl_buf_printf(b, "%.*f", decimals, v);
}

static void hist_add(struct hist *h, const double *le, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > le[i])
		i++;
	h->b[i]++;
	h->count++;
	h->sum += v;
}

/* ------------------------------------------------------------------ */
/* collection                                                           */

static struct site *site_get(struct ctl_metrics *m, const char *name)
{
	for (unsigned i = 0; i < m->n_sites; i++)
		if (!strcmp(m->site[i].name, name))
			return &m->site[i];
	if (m->n_sites == MAX_SITES - 1 && strcmp(name, "other"))
		return site_get(m, "other");
	if (m->n_sites == MAX_SITES)
		return &m->site[MAX_SITES - 1];
	struct site *s = &m->site[m->n_sites++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

static struct ifc *ifc_get(struct ctl_metrics *m, const char *name)
{
	for (unsigned i = 0; i < m->n_ifc; i++)
		if (!strcmp(m->ifc[i].name, name))
			return &m->ifc[i];
	if (m->n_ifc == DP_MAX_IFACES_M)
		return &m->ifc[DP_MAX_IFACES_M - 1];
	snprintf(m->ifc[m->n_ifc].name, sizeof(m->ifc[0].name), "%s", name);
	return &m->ifc[m->n_ifc++];
}

static unsigned site_index(struct ctl_metrics *m, const struct site *s) { return (unsigned)(s - m->site); }

static void room_cb(void *ctx, const char *name, time_t created, unsigned n_parts)
{
	struct ctl_metrics *m = ctx;

	if (m->rooms_total)
		PUTS(&m->rooms_json, "]},");
	m->rooms_total++;
	PUTS(&m->rooms_json, "{\"name\":");
	ctl_metrics_json_str(&m->rooms_json, name);
	ctl_buf_printf(&m->rooms_json, ",\"created\":%lld,\"n_participants\":%u,\"participants\":[", (long long)created,
		       n_parts);
	m->room_sites = 0;
	m->room_first_part = true;
}

static void part_cb(void *ctx, const struct call *k, const struct stream *st, int side, const char *tag,
		    bool talking, int level, bool muted)
{
	struct ctl_metrics *m = ctx;
	const struct branch *b = k->n_br ? k->br[0] : NULL;
	struct site *s;
	unsigned si;

	for (unsigned i = 0; i < k->n_br; i++)
		for (unsigned j = 0; j < CTL_SDP_MAX_MEDIA; j++)
			if (&k->br[i]->st[j] == st)
				b = k->br[i];
	s = site_get(m, ctl_site_of_leg(k, b, side));
	si = site_index(m, s);
	s->participants++;
	s->talkers += talking;
	if (!(m->room_sites & (1ull << si)))
		s->conferences++;
	m->room_sites |= 1ull << si;
	if (!m->room_first_part)
		ctl_buf_putc(&m->rooms_json, ',');
	m->room_first_part = false;
	PUTS(&m->rooms_json, "{\"call_id\":");
	ctl_metrics_json_str(&m->rooms_json, k->id);
	PUTS(&m->rooms_json, ",\"tag\":");
	ctl_metrics_json_str(&m->rooms_json, tag);
	PUTS(&m->rooms_json, ",\"site\":");
	ctl_metrics_json_str(&m->rooms_json, s->name);
	ctl_buf_printf(&m->rooms_json, ",\"talking\":%s,\"level\":%d,\"muted\":%s}", talking ? "true" : "false", level,
		       muted ? "true" : "false");
}

static void leg_collect(struct ctl_metrics *m, struct call *k, struct branch *b, struct stream *st, int side,
			bool list, bool *first)
{
	struct site *s = site_get(m, ctl_site_of_leg(k, b, side));
	struct ifc *ifp;
	struct dp_leg_stats ls;
	uint64_t dp, dexp = 0, dlost = 0;
	double mos = -1, loss = -1;
	bool active;

	if (dp_leg_get_stats(st->leg[side], &ls))
		return;
	if (ls.rtp_packets < st->mseen[side].packets || ls.out_packets < st->mseen[side].out_packets) {
		memset(&st->mseen[side], 0, sizeof(st->mseen[side])); /* a new leg in the same place */
	}
	dp = ls.rtp_packets - st->mseen[side].packets;
	s->rx_packets += dp;
	s->rx_bytes += ls.rtp_bytes - st->mseen[side].bytes;
	s->tx_packets += ls.out_packets - st->mseen[side].out_packets;
	s->tx_bytes += ls.out_bytes - st->mseen[side].out_bytes;
	ifp = ifc_get(m, ctl_iface_of(b, side));
	ifp->rx_packets += dp;
	ifp->rx_bytes += ls.rtp_bytes - st->mseen[side].bytes;
	ifp->tx_packets += ls.out_packets - st->mseen[side].out_packets;
	ifp->tx_bytes += ls.out_bytes - st->mseen[side].out_bytes;
	st->mseen[side].out_packets = ls.out_packets;
	st->mseen[side].out_bytes = ls.out_bytes;
	if (ls.ssrc != st->mseen[side].ssrc || ls.expected < st->mseen[side].expected) { /* a new source */
		st->mseen[side].expected = 0;
		st->mseen[side].lost = 0;
	}
	dexp = ls.expected - st->mseen[side].expected;
	if (ls.lost_final > st->mseen[side].lost) /* lost for good: reordering does not count */
		dlost = ls.lost_final - st->mseen[side].lost;
	s->expected += dexp;
	s->lost += dlost;
	st->mseen[side].packets = ls.rtp_packets;
	st->mseen[side].bytes = ls.rtp_bytes;
	st->mseen[side].ssrc = ls.ssrc;
	st->mseen[side].expected = ls.expected;
	if (dlost)
		st->mseen[side].lost = ls.lost_final;
	s->streams++;
	active = dp > 0;
	if (active) {
		s->active++;
		mos = ctl_leg_mos(st, side, &ls);
		loss = ls.expected ? (double)ls.lost / ls.expected : 0;
		if (loss < 0)
			loss = 0;
		hist_add(&s->mos, mos_le, NB(mos_le), mos);
		hist_add(&s->jit, jit_le, NB(jit_le), ls.jitter_ms / 1000.0);
		hist_add(&s->loss, loss_le, NB(loss_le), loss);
		s->mos_sum += mos;
		s->jit_sum += ls.jitter_ms;
		s->loss_sum += loss;
		if (ls.rtt_ms >= 0) {
			hist_add(&s->rtt, rtt_le, NB(rtt_le), ls.rtt_ms / 1000.0);
			s->rtt_sum += ls.rtt_ms;
			s->rtt_n++;
		}
	}
	if (!list)
		return;
	if (!*first)
		ctl_buf_putc(&m->calls_json, ',');
	*first = false;
	PUTS(&m->calls_json, "{\"tag\":");
	ctl_metrics_json_str(&m->calls_json, side ? (b->to_tag[0] ? b->to_tag : b->via) : k->from_tag);
	ctl_buf_printf(&m->calls_json, ",\"side\":%d,\"site\":", side);
	ctl_metrics_json_str(&m->calls_json, s->name);
	PUTS(&m->calls_json, ",\"codec\":");
	ctl_metrics_json_str(&m->calls_json, st->xcoded ? cdc_codec_name(st->xfmt[side].codec)
				: st->fmt_known ? cdc_codec_name(st->fmt.codec) : "");
	ctl_buf_printf(&m->calls_json, ",\"packets\":%llu,\"sending\":%s,\"mos\":", (unsigned long long)ls.rtp_packets,
		       active ? "true" : "false");
	json_num(&m->calls_json, mos, 2);
	PUTS(&m->calls_json, ",\"loss_pct\":");
	json_num(&m->calls_json, ls.expected ? 100.0 * ls.lost / ls.expected : 0, 2);
	PUTS(&m->calls_json, ",\"jitter_ms\":");
	json_num(&m->calls_json, ls.jitter_ms, 2);
	PUTS(&m->calls_json, ",\"rtt_ms\":");
	json_num(&m->calls_json, ls.rtt_ms, 0);
	ctl_buf_putc(&m->calls_json, '}');
}

static void call_cb(struct call *k, void *ctx)
{
	struct ctl_metrics *m = ctx;
	struct site *cs = site_get(m, ctl_site_of_leg(k, k->n_br ? k->br[0] : NULL, 0));
	bool list = m->calls_listed < STATUS_CALLS, first = true, xcoded = false;

	m->calls_total++;
	cs->calls++;
	if (k->rec)
		cs->recordings++;
	if (list) {
		if (m->calls_listed++)
			ctl_buf_putc(&m->calls_json, ',');
		PUTS(&m->calls_json, "{\"id\":");
		ctl_metrics_json_str(&m->calls_json, k->id);
		PUTS(&m->calls_json, ",\"site\":");
		ctl_metrics_json_str(&m->calls_json, cs->name);
		ctl_buf_printf(&m->calls_json, ",\"created\":%lld,\"branches\":%u,\"conference\":%s,\"recording\":%s,\"parties\":[",
			       (long long)k->created, k->n_br, k->conference ? "true" : "false", k->rec ? "true" : "false");
	}
	for (unsigned bi = 0; bi < k->n_br; bi++) {
		struct branch *b = k->br[bi];

		for (unsigned i = 0; i < b->n; i++) {
			struct stream *st = &b->st[i];

			if (!st->active)
				continue;
			if (st->xcoded) {
				site_get(m, ctl_site_of_leg(k, b, 0))->transcoded++;
				xcoded = true;
			}
			for (int side = 0; side < 2; side++)
				if (st->leg[side])
					leg_collect(m, k, b, st, side, list, &first);
		}
	}
	if (list)
		ctl_buf_printf(&m->calls_json, "],\"transcoded\":%s}", xcoded ? "true" : "false");
}

/* The worker lcores and their threads (EAL names them "rte-worker-N" in
 * DPDK 22.11, "lcore-worker-N" in later releases). */
static void workers_collect(struct ctl_metrics *m, double dt_s)
{
	DIR *d;
	struct dirent *e;

	if (!m->n_w) {
		struct dp_lcore_stats ls;

		for (int l = 0; l < MAX_LCORE && m->n_w < MAX_WORKERS; l++)
			if (dp_lcore_get_stats(l, &ls) == 0)
				m->w[m->n_w++].lcore = l;
		d = opendir("/proc/self/task");
		while (d && (e = readdir(d))) {
			char path[300], comm[32] = "";
			FILE *f;
			int lc;

			snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    (sscanf(comm, "rte-worker-%d", &lc) == 1 || sscanf(comm, "lcore-worker-%d", &lc) == 1))
				for (unsigned i = 0; i < m->n_w; i++)
					if (m->w[i].lcore == lc)
						m->w[i].tid = atoi(e->d_name);
			fclose(f);
		}
		if (d)
			closedir(d);
	}
	for (unsigned i = 0; i < m->n_w; i++) {
		struct worker *w = &m->w[i];
		struct dp_lcore_stats ls;
		char path[64], buf[512], *p;
		unsigned long ut = 0, st = 0;
		FILE *f;

		if (w->tid) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", w->tid);
			f = fopen(path, "r");
			if (f) {
				if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
				    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
					w->cpu_ticks = ut + st;
				fclose(f);
			}
		}
		if (dp_lcore_get_stats(w->lcore, &w->ls))
			memset(&w->ls, 0, sizeof(w->ls));
		ls = w->ls;
		if (ls.poll_ns > w->last_poll_ns) /* a busy-polling worker: its busy share */
			w->load = (double)(ls.poll_busy_ns - w->last_busy_ns) / (double)(ls.poll_ns - w->last_poll_ns);
		else if (dt_s > 0 && m->clk_tck > 0)
			w->load = (double)(w->cpu_ticks - w->last_cpu_ticks) / (double)m->clk_tck / dt_s;
		w->last_poll_ns = ls.poll_ns;
		w->last_busy_ns = ls.poll_busy_ns;
		w->last_cpu_ticks = w->cpu_ticks;
	}
}

/* The minute ring: close the minute when a new one starts, add this second. */
static void ring_collect(struct site *s, int64_t now)
{
	int64_t minute = now - now % 60;

	if (s->minute && s->minute != minute) {
		struct sample *x = &s->ring[s->ring_next];
		uint64_t de = s->expected - s->m_expected0, dl = s->lost - s->m_lost0;

		x->t = s->minute;
		x->mos = s->m_mos_n ? (float)(s->m_mos / s->m_mos_n) : -1;
		x->jitter_ms = s->m_mos_n ? (float)(s->m_jit / s->m_mos_n) : -1;
		x->rtt_ms = s->m_rtt_n ? (float)(s->m_rtt / s->m_rtt_n) : -1;
		x->loss_pct = de ? (float)(100.0 * dl / de) : -1;
		x->streams = (uint16_t)s->m_streams;
		x->calls = (uint16_t)s->m_calls;
		s->ring_next = (s->ring_next + 1) % RING;
		if (s->ring_n < RING)
			s->ring_n++;
	}
	if (s->minute != minute) {
		s->minute = minute;
		s->m_mos = s->m_jit = s->m_rtt = 0;
		s->m_mos_n = s->m_rtt_n = s->m_streams = s->m_calls = 0;
		s->m_expected0 = s->expected;
		s->m_lost0 = s->lost;
	}
	if (s->active) {
		s->m_mos += s->mos_sum / s->active;
		s->m_jit += s->jit_sum / s->active;
		s->m_mos_n++;
	}
	if (s->rtt_n) {
		s->m_rtt += s->rtt_sum / s->rtt_n;
		s->m_rtt_n++;
	}
	if (s->active > s->m_streams)
		s->m_streams = s->active;
	if (s->calls > s->m_calls)
		s->m_calls = s->calls;
}

/* ------------------------------------------------------------------ */
/* rendering: Prometheus                                                */

static void help(struct ctl_buf *b, const char *name, const char *type, const char *text)
{
	ctl_buf_printf(b, "# HELP medius_%s %s\n# TYPE medius_%s %s\n", name, text, name, type);
}

static void site_line(struct ctl_buf *b, const char *name, const struct site *s, const char *extra, double v)
{
	ctl_buf_printf(b, "medius_%s{site=\"", name);
	ctl_metrics_label_str(b, s->name);
	ctl_buf_printf(b, "\"%s} %.17g\n", extra ? extra : "", v);
}

static void hist_render(struct ctl_buf *b, const char *name, const char *label, const char *value,
			const struct hist *h, const double *le, size_t n)
{
	uint64_t cum = 0;

	for (size_t i = 0; i <= n; i++) {
		cum += h->b[i];
		ctl_buf_printf(b, "medius_%s_bucket{%s=\"", name, label);
		ctl_metrics_label_str(b, value);
		if (i < n)
			ctl_buf_printf(b, "\",le=\"%g\"} %llu\n", le[i], (unsigned long long)cum);
		else
			ctl_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	ctl_buf_printf(b, "medius_%s_sum{%s=\"", name, label);
	ctl_metrics_label_str(b, value);
	ctl_buf_printf(b, "\"} %.17g\nmedius_%s_count{%s=\"", h->sum, name, label);
	ctl_metrics_label_str(b, value);
	ctl_buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

#define SITE_GAUGE(field, name, type, text)                                   \
	do {                                                                  \
		help(b, name, type, text);                                    \
		for (unsigned i = 0; i < m->n_sites; i++)                     \
			site_line(b, name, &m->site[i], NULL, (double)m->site[i].field); \
	} while (0)

static void render_metrics(struct ctl_metrics *m, const struct ctl_ng *ng, uint64_t tot[3])
{
	struct ctl_buf *b = &m->out;
	struct ctl_http_stats hs;

	ctl_buf_clear(b);
	help(b, "build_info", "gauge", "medius's version");
	ctl_buf_printf(b, "medius_build_info{version=\"%s\"} 1\n", MEDIUS_VERSION);
	help(b, "start_time_seconds", "gauge", "when mediusd started (unix time)");
	ctl_buf_printf(b, "medius_start_time_seconds %lld\n", (long long)m->started);
	help(b, "metrics_collect_seconds", "gauge", "control lcore time the last collection and rendering of these documents took");
	ctl_buf_printf(b, "medius_metrics_collect_seconds %.6f\n", m->collect_s);

	SITE_GAUGE(calls, "sessions", "gauge", "calls now, by the site of the offerer");
	SITE_GAUGE(streams, "mediastreams", "gauge", "media legs now (one per party and media section)");
	SITE_GAUGE(active, "mediastreams_active", "gauge", "media legs that received RTP in the last second");
	SITE_GAUGE(transcoded, "transcoded_media", "gauge", "transcoded media streams now");
	SITE_GAUGE(conferences, "conferences", "gauge", "conference rooms with a participant from the site");
	SITE_GAUGE(participants, "participants", "gauge", "conference participants now");
	SITE_GAUGE(talkers, "talkers", "gauge", "conference participants talking now");
	SITE_GAUGE(recordings, "recordings", "gauge", "calls being recorded now");
	help(b, "managed_sessions_total", "counter", "calls created since start");
	ctl_buf_printf(b, "medius_managed_sessions_total %llu\n", (unsigned long long)tot[0]);
	help(b, "timeout_sessions_total", "counter", "calls ended for lack of media");
	ctl_buf_printf(b, "medius_timeout_sessions_total %llu\n", (unsigned long long)tot[1]);
	help(b, "deleted_sessions_total", "counter", "calls deleted by ng delete");
	ctl_buf_printf(b, "medius_deleted_sessions_total %llu\n", (unsigned long long)tot[2]);

	help(b, "packets_total", "counter", "RTP packets, by site and direction (rx: accepted from the party, tx: sent to it)");
	for (unsigned i = 0; i < m->n_sites; i++) {
		site_line(b, "packets_total", &m->site[i], ",direction=\"rx\"", (double)m->site[i].rx_packets);
		site_line(b, "packets_total", &m->site[i], ",direction=\"tx\"", (double)m->site[i].tx_packets);
	}
	help(b, "bytes_total", "counter", "RTP bytes, by site and direction");
	for (unsigned i = 0; i < m->n_sites; i++) {
		site_line(b, "bytes_total", &m->site[i], ",direction=\"rx\"", (double)m->site[i].rx_bytes);
		site_line(b, "bytes_total", &m->site[i], ",direction=\"tx\"", (double)m->site[i].tx_bytes);
	}
	SITE_GAUGE(expected, "packets_expected_total", "counter", "RTP packets the parties' sequence numbers say were sent (RFC 3550)");
	SITE_GAUGE(lost, "packets_lost_total", "counter", "RTP packets lost on the way to medius (RFC 3550)");

	help(b, "mos", "histogram", "estimated MOS of each receiving leg, sampled once a second");
	for (unsigned i = 0; i < m->n_sites; i++)
		hist_render(b, "mos", "site", m->site[i].name, &m->site[i].mos, mos_le, NB(mos_le));
	help(b, "jitter_seconds", "histogram", "interarrival jitter (RFC 3550) of each receiving leg, sampled once a second");
	for (unsigned i = 0; i < m->n_sites; i++)
		hist_render(b, "jitter_seconds", "site", m->site[i].name, &m->site[i].jit, jit_le, NB(jit_le));
	help(b, "rtt_seconds", "histogram", "round-trip time from RTCP of each receiving leg that has one, sampled once a second");
	for (unsigned i = 0; i < m->n_sites; i++)
		hist_render(b, "rtt_seconds", "site", m->site[i].name, &m->site[i].rtt, rtt_le, NB(rtt_le));
	help(b, "packet_loss_ratio", "histogram", "fraction of packets lost of each receiving leg, sampled once a second");
	for (unsigned i = 0; i < m->n_sites; i++)
		hist_render(b, "packet_loss_ratio", "site", m->site[i].name, &m->site[i].loss, loss_le, NB(loss_le));

	help(b, "site_mos", "gauge", "mean estimated MOS of the site's receiving legs now");
	for (unsigned i = 0; i < m->n_sites; i++)
		if (m->site[i].active)
			site_line(b, "site_mos", &m->site[i], NULL, m->site[i].mos_sum / m->site[i].active);
	help(b, "site_jitter_seconds", "gauge", "mean jitter of the site's receiving legs now");
	for (unsigned i = 0; i < m->n_sites; i++)
		if (m->site[i].active)
			site_line(b, "site_jitter_seconds", &m->site[i], NULL, m->site[i].jit_sum / m->site[i].active / 1000.0);
	help(b, "site_rtt_seconds", "gauge", "mean RTCP round-trip time of the site's legs that have one");
	for (unsigned i = 0; i < m->n_sites; i++)
		if (m->site[i].rtt_n)
			site_line(b, "site_rtt_seconds", &m->site[i], NULL, m->site[i].rtt_sum / m->site[i].rtt_n / 1000.0);
	help(b, "site_packet_loss_ratio", "gauge", "mean fraction lost of the site's receiving legs (each over its call so far)");
	for (unsigned i = 0; i < m->n_sites; i++)
		if (m->site[i].active)
			site_line(b, "site_packet_loss_ratio", &m->site[i], NULL, m->site[i].loss_sum / m->site[i].active);

	help(b, "interface_packets_total", "counter", "RTP packets through the legs of an interface (its site), by direction");
	for (unsigned i = 0; i < m->n_ifc; i++)
		for (int dir = 0; dir < 2; dir++) {
			PUTS(b, "medius_interface_packets_total{site=\"");
			ctl_metrics_label_str(b, m->ifc[i].name);
			PUTS(b, "\",interface=\"");
			ctl_metrics_label_str(b, m->ifc[i].name);
			ctl_buf_printf(b, "\",direction=\"%s\"} %llu\n", dir ? "tx" : "rx",
				       (unsigned long long)(dir ? m->ifc[i].tx_packets : m->ifc[i].rx_packets));
		}
	help(b, "interface_bytes_total", "counter", "RTP bytes through the legs of an interface (its site), by direction");
	for (unsigned i = 0; i < m->n_ifc; i++)
		for (int dir = 0; dir < 2; dir++) {
			PUTS(b, "medius_interface_bytes_total{site=\"");
			ctl_metrics_label_str(b, m->ifc[i].name);
			PUTS(b, "\",interface=\"");
			ctl_metrics_label_str(b, m->ifc[i].name);
			ctl_buf_printf(b, "\",direction=\"%s\"} %llu\n", dir ? "tx" : "rx",
				       (unsigned long long)(dir ? m->ifc[i].tx_bytes : m->ifc[i].rx_bytes));
		}
	help(b, "port_packets_total", "counter", "frames an ethdev interface's DPDK port moved (ARP and ICMP included), by direction");
	for (unsigned i = 0; i < dp_iface_count(); i++) {
		struct dp_iface_stats is;

		if (dp_iface_get_stats(i, &is) || !is.ethdev)
			continue;
		for (int dir = 0; dir < 2; dir++) {
			PUTS(b, "medius_port_packets_total{site=\"");
			ctl_metrics_label_str(b, is.name);
			PUTS(b, "\",interface=\"");
			ctl_metrics_label_str(b, is.name);
			ctl_buf_printf(b, "\",direction=\"%s\"} %llu\n", dir ? "tx" : "rx",
				       (unsigned long long)(dir ? is.port_tx_packets : is.port_rx_packets));
		}
	}
	help(b, "port_rx_missed_total", "counter", "frames an ethdev port dropped before medius saw them (rx ring full, no mbuf, errors)");
	for (unsigned i = 0; i < dp_iface_count(); i++) {
		struct dp_iface_stats is;

		if (dp_iface_get_stats(i, &is) || !is.ethdev)
			continue;
		PUTS(b, "medius_port_rx_missed_total{site=\"");
		ctl_metrics_label_str(b, is.name);
		PUTS(b, "\",interface=\"");
		ctl_metrics_label_str(b, is.name);
		ctl_buf_printf(b, "\"} %llu\n", (unsigned long long)(is.port_rx_missed + is.port_rx_nombuf + is.port_rx_errors));
	}
	help(b, "drops_total", "counter", "packets dropped at a leg, by interface (its site) and reason");
	for (unsigned i = 0; i < dp_iface_count(); i++) {
		struct dp_iface_stats is;

		if (dp_iface_get_stats(i, &is))
			continue;
		for (int r = 1; r < DP_DROP__COUNT; r++) {
			PUTS(b, "medius_drops_total{site=\"");
			ctl_metrics_label_str(b, is.name);
			PUTS(b, "\",interface=\"");
			ctl_metrics_label_str(b, is.name);
			ctl_buf_printf(b, "\",reason=\"%s\"} %llu\n", dp_drop_name((enum dp_drop)r),
				       (unsigned long long)is.drops[r]);
		}
	}

	help(b, "worker_packets_total", "counter", "packets a worker lcore received (rx) and sent (tx)");
	for (unsigned i = 0; i < m->n_w; i++) {
		const struct dp_lcore_stats *ls = &m->w[i].ls;

		ctl_buf_printf(b, "medius_worker_packets_total{worker=\"%d\",direction=\"rx\"} %llu\n", m->w[i].lcore,
			       (unsigned long long)ls->rx_packets);
		ctl_buf_printf(b, "medius_worker_packets_total{worker=\"%d\",direction=\"tx\"} %llu\n", m->w[i].lcore,
			       (unsigned long long)ls->tx_packets);
	}
	help(b, "worker_bytes_total", "counter", "bytes a worker lcore received (rx) and sent (tx)");
	for (unsigned i = 0; i < m->n_w; i++) {
		const struct dp_lcore_stats *ls = &m->w[i].ls;

		ctl_buf_printf(b, "medius_worker_bytes_total{worker=\"%d\",direction=\"rx\"} %llu\n", m->w[i].lcore,
			       (unsigned long long)ls->rx_bytes);
		ctl_buf_printf(b, "medius_worker_bytes_total{worker=\"%d\",direction=\"tx\"} %llu\n", m->w[i].lcore,
			       (unsigned long long)ls->tx_bytes);
	}
	help(b, "worker_drops_total", "counter", "packets a worker lcore dropped, by reason");
	for (unsigned i = 0; i < m->n_w; i++) {
		const struct dp_lcore_stats *ls = &m->w[i].ls;

		for (int r = 1; r < DP_DROP__COUNT; r++)
			ctl_buf_printf(b, "medius_worker_drops_total{worker=\"%d\",reason=\"%s\"} %llu\n", m->w[i].lcore,
				       dp_drop_name((enum dp_drop)r), (unsigned long long)ls->drops[r]);
	}
	help(b, "worker_cpu_seconds_total", "counter", "CPU time of a worker lcore's thread");
	for (unsigned i = 0; i < m->n_w; i++)
		ctl_buf_printf(b, "medius_worker_cpu_seconds_total{worker=\"%d\"} %.3f\n", m->w[i].lcore,
			       m->clk_tck > 0 ? (double)m->w[i].cpu_ticks / (double)m->clk_tck : 0.0);
	help(b, "worker_load", "gauge", "a worker's load over the last second: busy share of its poll loop (ethdev), else CPU time / wall time");
	for (unsigned i = 0; i < m->n_w; i++)
		ctl_buf_printf(b, "medius_worker_load{worker=\"%d\"} %.4f\n", m->w[i].lcore, m->w[i].load);
	help(b, "clock_lateness_seconds", "histogram", "how late a worker's media clock ticks ran");
	for (unsigned i = 0; i < m->n_w; i++) {
		struct dp_clock_stats cs;
		struct hist h = { .count = 0 };
		char lc[16];

		if (dp_clock_get_stats(m->w[i].lcore, &cs))
			continue;
		for (unsigned k = 0; k < DP_CLOCK_HIST_BUCKETS; k++) {
			double hi = (double)dp_clock_bucket_max_us(k) / 1e6;
			size_t j = 0;

			while (j < NB(late_le) && hi > late_le[j] * 1.0000001)
				j++;
			h.b[j] += cs.hist[k];
			h.count += cs.hist[k];
			h.sum += cs.hist[k] * hi; /* bucket bounds: an upper estimate */
		}
		snprintf(lc, sizeof(lc), "%d", m->w[i].lcore);
		hist_render(b, "clock_lateness_seconds", "worker", lc, &h, late_le, NB(late_le));
	}
	help(b, "clock_missed_ticks_total", "counter", "media clock ticks a worker skipped after falling behind");
	for (unsigned i = 0; i < m->n_w; i++) {
		struct dp_clock_stats cs;

		if (!dp_clock_get_stats(m->w[i].lcore, &cs))
			ctl_buf_printf(b, "medius_clock_missed_ticks_total{worker=\"%d\"} %llu\n", m->w[i].lcore,
				       (unsigned long long)cs.missed);
	}

	if (ng) {
		size_t n = ctl_ng_cmd_count(ng);
		uint64_t rq, er;

		help(b, "ng_requests_total", "counter", "ng requests by command (\"\": none known)");
		for (size_t i = 0; i < n; i++) {
			const char *name = ctl_ng_cmd_stats(ng, i, &rq, &er);

			PUTS(b, "medius_ng_requests_total{command=\"");
			ctl_metrics_label_str(b, name);
			ctl_buf_printf(b, "\"} %llu\n", (unsigned long long)rq);
		}
		help(b, "ng_errors_total", "counter", "ng requests answered with result error, by command");
		for (size_t i = 0; i < n; i++) {
			const char *name = ctl_ng_cmd_stats(ng, i, &rq, &er);

			PUTS(b, "medius_ng_errors_total{command=\"");
			ctl_metrics_label_str(b, name);
			ctl_buf_printf(b, "\"} %llu\n", (unsigned long long)er);
		}
		{
			struct ctl_ng_stats ns;

			ctl_ng_get_stats(ng, &ns);
			help(b, "ng_out_of_memory_total", "counter",
			     "ng requests that failed for want of memory (error-reason \"Out of memory: ...\")");
			ctl_buf_printf(b, "medius_ng_out_of_memory_total %llu\n", (unsigned long long)ns.nomem);
		}
	}
	if (m->guard) {
		struct ctl_limit_stats ls;

		help(b, "ng_refused_total", "counter",
		     "ng requests refused before their command ran, by reason (allow-list, rate limits, authentication)");
		for (int r = 1; r < CTL_REFUSE__COUNT; r++) {
			PUTS(b, "medius_ng_refused_total{reason=\"");
			ctl_metrics_label_str(b, ctl_refusal_name((enum ctl_refusal)r));
			ctl_buf_printf(b, "\"} %llu\n", (unsigned long long)ctl_guard_refused(m->guard, (enum ctl_refusal)r));
		}
		ctl_guard_limit_stats(m->guard, &ls);
		help(b, "limit_refused_total", "counter",
		     "requests refused by a resource limit, by limit (max_memory: new calls; max_memory_other: "
		     "recordings, playback, taps, rooms, connects)");
		ctl_buf_printf(b, "medius_limit_refused_total{limit=\"max_calls\"} %llu\n",
			       (unsigned long long)ls.calls_refused);
		ctl_buf_printf(b, "medius_limit_refused_total{limit=\"max_calls_per_source\"} %llu\n",
			       (unsigned long long)ls.calls_refused_source);
		ctl_buf_printf(b, "medius_limit_refused_total{limit=\"max_memory\"} %llu\n",
			       (unsigned long long)ls.calls_refused_memory);
		ctl_buf_printf(b, "medius_limit_refused_total{limit=\"max_memory_other\"} %llu\n",
			       (unsigned long long)ls.requests_refused_memory);
		help(b, "memory_resident_bytes", "gauge", "mediusd's resident memory, as the memory budget reads it");
		ctl_buf_printf(b, "medius_memory_resident_bytes %llu\n",
			       (unsigned long long)ctl_guard_rss_kb(m->guard) * 1024u);
	}
	{
		struct ctl_rec_totals rt;

		ctl_rec_totals(&rt);
		help(b, "recordings_started_total", "counter", "recordings started");
		ctl_buf_printf(b, "medius_recordings_started_total %llu\n", (unsigned long long)rt.started);
		help(b, "recordings_finished_total", "counter", "recordings finalised");
		ctl_buf_printf(b, "medius_recordings_finished_total %llu\n", (unsigned long long)rt.finished);
		help(b, "recording_write_errors_total", "counter",
		     "recording files that could not be written (disk full, I/O error, unwritable directory)");
		ctl_buf_printf(b, "medius_recording_write_errors_total %llu\n", (unsigned long long)rt.write_errors);
		help(b, "recording_alarm", "gauge", "recordings running with a file that could not be written (the disk alarm)");
		ctl_buf_printf(b, "medius_recording_alarm %llu\n", (unsigned long long)rt.failing);
		help(b, "recording_overruns", "gauge", "frames the running recordings' rings dropped (marked gaps)");
		ctl_buf_printf(b, "medius_recording_overruns %llu\n", (unsigned long long)rt.overruns);
	}
	ctl_http_get_stats(m->http, &hs);
	help(b, "http_requests_total", "counter", "HTTP requests answered");
	ctl_buf_printf(b, "medius_http_requests_total %llu\n", (unsigned long long)hs.requests);
	help(b, "http_errors_total", "counter", "HTTP requests answered with 4xx or 5xx");
	ctl_buf_printf(b, "medius_http_errors_total %llu\n", (unsigned long long)hs.errors);
	help(b, "http_connections_total", "counter", "HTTP connections accepted");
	ctl_buf_printf(b, "medius_http_connections_total %llu\n", (unsigned long long)hs.connections);
	help(b, "http_connections", "gauge", "HTTP connections open");
	ctl_buf_printf(b, "medius_http_connections %u\n", hs.open);
	help(b, "http_refused_total", "counter", "HTTP connections refused at accept: source not in control.allow");
	ctl_buf_printf(b, "medius_http_refused_total %llu\n", (unsigned long long)hs.refused);
}

/* ------------------------------------------------------------------ */
/* rendering: status.json                                               */

static void render_status(struct ctl_metrics *m, time_t now, const struct ctl_ng *ng)
{
	struct ctl_buf *b = &m->out;

	ctl_buf_clear(b);
	ctl_buf_printf(b, "{\"version\":\"%s\",\"time\":%lld,\"started\":%lld,\"calls_total\":%u,\"calls\":[", MEDIUS_VERSION,
		       (long long)now, (long long)m->started, m->calls_total);
	if (m->calls_json.len)
		ctl_buf_put(b, m->calls_json.p, m->calls_json.len);
	ctl_buf_printf(b, "],\"conferences\":[");
	if (m->rooms_json.len)
		ctl_buf_put(b, m->rooms_json.p, m->rooms_json.len);
	if (m->rooms_total)
		PUTS(b, "]}");
	PUTS(b, "],\"sites\":[");
	for (unsigned i = 0; i < m->n_sites; i++) {
		const struct site *s = &m->site[i];

		if (i)
			ctl_buf_putc(b, ',');
		PUTS(b, "{\"name\":");
		ctl_metrics_json_str(b, s->name);
		ctl_buf_printf(b, ",\"calls\":%u,\"streams\":%u,\"active\":%u,\"conferences\":%u,\"participants\":%u,"
			       "\"talkers\":%u,\"recordings\":%u,\"mos\":",
			       s->calls, s->streams, s->active, s->conferences, s->participants, s->talkers, s->recordings);
		json_num(b, s->active ? s->mos_sum / s->active : -1, 2);
		PUTS(b, ",\"loss_pct\":");
		json_num(b, s->active ? 100.0 * s->loss_sum / s->active : -1, 2);
		PUTS(b, ",\"jitter_ms\":");
		json_num(b, s->active ? s->jit_sum / s->active : -1, 2);
		PUTS(b, ",\"rtt_ms\":");
		json_num(b, s->rtt_n ? s->rtt_sum / s->rtt_n : -1, 1);
		ctl_buf_printf(b, ",\"packets_lost\":%llu,\"packets_expected\":%llu,\"history\":[",
			       (unsigned long long)s->lost, (unsigned long long)s->expected);
		for (unsigned j = 0; j <= s->ring_n; j++) {
			struct sample cur;
			const struct sample *x;

			if (j < s->ring_n) {
				x = &s->ring[(s->ring_next + RING - s->ring_n + j) % RING];
			} else { /* the minute so far */
				uint64_t de = s->expected - s->m_expected0;

				cur.t = s->minute;
				cur.mos = s->m_mos_n ? (float)(s->m_mos / s->m_mos_n) : -1;
				cur.jitter_ms = s->m_mos_n ? (float)(s->m_jit / s->m_mos_n) : -1;
				cur.rtt_ms = s->m_rtt_n ? (float)(s->m_rtt / s->m_rtt_n) : -1;
				cur.loss_pct = de ? (float)(100.0 * (s->lost - s->m_lost0) / de) : -1;
				cur.streams = (uint16_t)s->m_streams;
				cur.calls = (uint16_t)s->m_calls;
				x = &cur;
			}
			if (j)
				ctl_buf_putc(b, ',');
			ctl_buf_printf(b, "{\"t\":%lld,\"partial\":%s,\"mos\":", (long long)x->t, j == s->ring_n ? "true" : "false");
			json_num(b, x->mos, 2);
			PUTS(b, ",\"loss_pct\":");
			json_num(b, x->loss_pct, 2);
			PUTS(b, ",\"jitter_ms\":");
			json_num(b, x->jitter_ms, 2);
			PUTS(b, ",\"rtt_ms\":");
			json_num(b, x->rtt_ms, 1);
			ctl_buf_printf(b, ",\"streams\":%u,\"calls\":%u}", x->streams, x->calls);
		}
		PUTS(b, "]}");
	}
	PUTS(b, "],\"workers\":[");
	for (unsigned i = 0; i < m->n_w; i++) {
		const struct dp_lcore_stats *ls = &m->w[i].ls;
		struct dp_clock_stats cs;
		uint64_t drops = 0;

		for (int r = 1; r < DP_DROP__COUNT; r++)
			drops += ls->drops[r];
		if (dp_clock_get_stats(m->w[i].lcore, &cs))
			memset(&cs, 0, sizeof(cs));
		ctl_buf_printf(b, "%s{\"lcore\":%d,\"load\":%.4f,\"rx_packets\":%llu,\"tx_packets\":%llu,\"drops\":%llu,"
			       "\"tickers\":%u,\"late_p99_us\":%u,\"late_max_us\":%u,\"missed_ticks\":%llu}",
			       i ? "," : "", m->w[i].lcore, m->w[i].load, (unsigned long long)ls->rx_packets,
			       (unsigned long long)ls->tx_packets, (unsigned long long)drops, cs.tickers, cs.late_p99_us,
			       cs.late_max_us, (unsigned long long)cs.missed);
	}
	PUTS(b, "],\"interfaces\":[");
	for (unsigned i = 0; i < dp_iface_count(); i++) {
		struct dp_iface_stats is;
		bool first = true;

		if (dp_iface_get_stats(i, &is))
			continue;
		ctl_buf_put(b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
		ctl_metrics_json_str(b, is.name);
		PUTS(b, ",\"drops\":{");
		for (int r = 1; r < DP_DROP__COUNT; r++)
			if (is.drops[r]) {
				ctl_buf_printf(b, "%s\"%s\":%llu", first ? "" : ",", dp_drop_name((enum dp_drop)r),
					       (unsigned long long)is.drops[r]);
				first = false;
			}
		PUTS(b, "}}");
	}
	PUTS(b, "],\"ng\":");
	if (ng) {
		struct ctl_ng_stats ns;

		ctl_ng_get_stats(ng, &ns);
		ctl_buf_printf(b, "{\"requests\":%llu,\"errors\":%llu}", (unsigned long long)ns.requests,
			       (unsigned long long)ns.errors);
	} else {
		PUTS(b, "null");
	}
	PUTS(b, ",\"alerts\":");
	if (m->alerts)
		m->alerts(m->alerts_ctx, b);
	else
		PUTS(b, "[]");
	PUTS(b, "}\n");
}

/* ------------------------------------------------------------------ */

struct ctl_metrics *ctl_metrics_create(struct ctl_http *h)
{
	struct ctl_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->http = h;
	m->started = time(NULL);
	m->clk_tck = sysconf(_SC_CLK_TCK);
	return m;
}

void ctl_metrics_destroy(struct ctl_metrics *m)
{
	if (!m)
		return;
	ctl_buf_free(&m->out);
	ctl_buf_free(&m->calls_json);
	ctl_buf_free(&m->rooms_json);
	free(m);
}

void ctl_metrics_set_alerts(struct ctl_metrics *m, void (*fn)(void *ctx, struct ctl_buf *out), void *ctx)
{
	m->alerts = fn;
	m->alerts_ctx = ctx;
}

void ctl_metrics_collect(struct ctl_metrics *m, struct ctl_calls *calls, const struct ctl_ng *ng, uint64_t now_ms)
{
	time_t now = time(NULL);
	struct timespec t0, t1;
	double dt = m->last_ms && now_ms > m->last_ms ? (double)(now_ms - m->last_ms) / 1000.0 : 0;
	uint64_t tot[3];
	const struct ctl_room_visit v = { .ctx = m, .room = room_cb, .part = part_cb };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	m->last_ms = now_ms;
	for (unsigned i = 0; i < m->n_sites; i++) {
		struct site *s = &m->site[i];

		s->calls = s->streams = s->active = s->transcoded = s->recordings = 0;
		s->conferences = s->participants = s->talkers = s->rtt_n = 0;
		s->mos_sum = s->jit_sum = s->rtt_sum = s->loss_sum = 0;
	}
	ctl_buf_clear(&m->calls_json);
	ctl_buf_clear(&m->rooms_json);
	m->calls_listed = m->calls_total = m->rooms_total = 0;
	ctl_rooms_visit(ctl_calls_rooms(calls), &v);
	ctl_calls_foreach(calls, call_cb, m);
	workers_collect(m, dt);
	for (unsigned i = 0; i < m->n_sites; i++)
		ring_collect(&m->site[i], (int64_t)now);
	ctl_calls_totals(calls, &tot[0], &tot[1], &tot[2]);
	m->guard = ctl_calls_guard(calls);
	if (!m->http)
		return;
	render_metrics(m, ng, tot);
	if (!m->out.err)
		ctl_http_publish(m->http, CTL_HTTP_METRICS, m->out.p, m->out.len);
	render_status(m, now, ng);
	if (!m->out.err)
		ctl_http_publish(m->http, CTL_HTTP_STATUS, m->out.p, m->out.len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	m->collect_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}
