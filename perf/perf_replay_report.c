/* SPDX-License-Identifier: MIT
 * perf_replay_report.c: what medius-replay reports: the summary table, the
 * JSON file, and the MOS estimate of the ITU-T G.107 E-model
 * (docs/replay.md says which constants come from where).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "perf_replay.h"

/* ---- the E-model ----
 * R = Ro - Is - Id - Ie,eff + A (G.107). With every other parameter at its
 * G.107 default, Ro - Is - (Idte + Idle at T = 0) gives R = 93.2 for a
 * perfect connection; A = 0 (advantage factor, wired). Id is taken as Idd,
 * the pure-delay term, from the one-way delay Ta. Ie,eff = Ie + (95 - Ie)
 * * Ppl / (Ppl / BurstR + Bpl). Ie and Bpl: ITU-T G.113 Appendix I. */

static const struct {
	const char *name;
	double ie, bpl;
} g113[] = {
	{"PCMU", 0, 25.1}, /* G.711 with packet loss concealment (G.711 Appendix I) */
	{"PCMA", 0, 25.1},
	{"G729", 11, 19.0}, /* G.729A + VAD */
	{"G723", 15, 16.1}, /* G.723.1 at 6.3 kbit/s + VAD */
};

struct perf_emodel perf_emodel_codec(const char *codec)
{
	for (size_t i = 0; i < sizeof(g113) / sizeof(g113[0]); i++)
		if (!strcasecmp(codec, g113[i].name))
			return (struct perf_emodel){g113[i].ie, g113[i].bpl, false};
	/* no narrowband G.113 entry (G.722, Opus, L16, ...): the G.711 values,
	 * marked as assumed */
	return (struct perf_emodel){0, 25.1, true};
}

double perf_emodel_r(const struct perf_emodel *c, double ppl, double burst_r, double delay_ms)
{
	double ie_eff, idd = 0;

	if (burst_r < 1)
		burst_r = 1;
	if (ppl < 0)
		ppl = 0;
	ie_eff = c->ie + (95 - c->ie) * ppl / (ppl / burst_r + c->bpl);
	if (delay_ms > 100) {
		double x = log10(delay_ms / 100) / log10(2);

		idd = 25 * (pow(1 + pow(x, 6), 1.0 / 6) - 3 * pow(1 + pow(x / 3, 6), 1.0 / 6) + 2);
	}
	return 93.2 - idd - ie_eff;
}

double perf_emodel_mos(double r)
{
	if (r <= 0)
		return 1;
	if (r >= 100)
		return 4.5;
	return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

/* ---- output ---- */

void perf_report_free(struct perf_report *r)
{
	free(r->streams);
	free(r->bin_sent);
	free(r->bin_received);
	free(r->bin_rtp_sent);
	free(r->bin_lost);
	free(r->lat_hist);
	memset(r, 0, sizeof(*r));
}

static const char *party_name(uint8_t p)
{
	return p ? "answerer" : "offerer";
}

void perf_report_print(const struct perf_report *r, FILE *f)
{
	char speed[32];

	if (r->speed > 0)
		snprintf(speed, sizeof(speed), "x%g", r->speed);
	else
		snprintf(speed, sizeof(speed), "max");
	fprintf(f, "\nmedius-replay: %s (calls from %s), speed %s, %u cop%s of each call\n", r->capture,
		r->source, speed, r->multiply, r->multiply == 1 ? "y" : "ies");
	fprintf(f, "\n%-28s %-8s %-10s %-6s %8s %8s %6s %5s %5s %9s %9s %9s %7s %5s\n", "call", "from",
		"ssrc", "codec", "sent", "recv", "lost", "dup", "reord", "p50 us", "p99 us", "max us",
		"jit ms", "MOS");
	for (uint32_t i = 0; i < r->nstreams; i++) {
		const struct perf_stream_report *s = &r->streams[i];
		char mos[16];

		if (s->mos_valid)
			snprintf(mos, sizeof(mos), "%.2f%s", s->mos, s->ie_assumed ? "*" : "");
		else
			snprintf(mos, sizeof(mos), "-");
		if (i == 40 && r->nstreams > 50) {
			fprintf(f, "... %u more streams (all in --json)\n", r->nstreams - 40);
			break;
		}
		fprintf(f, "%-28.28s %-8s 0x%08x %-6.6s %8llu %8llu %6llu %5llu %5llu %9.1f %9.1f %9.1f %7.2f %5s\n",
			s->call_id, party_name(s->party), s->ssrc, s->codec[0] ? s->codec : "?",
			(unsigned long long)s->sent, (unsigned long long)s->received,
			(unsigned long long)s->lost, (unsigned long long)s->duplicates,
			(unsigned long long)s->reordered, s->lat.p50_us, s->lat.p99_us, s->lat.max_us,
			s->jitter_ms, mos);
	}
	fprintf(f, "\ncalls %llu (set up %llu, deleted %llu), ng requests %llu (%llu refused)\n",
		(unsigned long long)r->calls, (unsigned long long)r->calls_set_up,
		(unsigned long long)r->calls_deleted, (unsigned long long)r->ng_requests,
		(unsigned long long)r->ng_errors);
	fprintf(f, "packets sent %llu (RTP %llu, RTCP %llu, other %llu), received %llu (RTP %llu, RTCP %llu, other %llu)\n",
		(unsigned long long)r->sent, (unsigned long long)r->rtp_sent,
		(unsigned long long)r->rtcp_sent, (unsigned long long)r->other_sent,
		(unsigned long long)r->received, (unsigned long long)r->rtp_received,
		(unsigned long long)r->rtcp_received, (unsigned long long)r->other_received);
	fprintf(f, "RTP lost %llu (%.3f%%), duplicates %llu, reordered %llu, unmatched %llu%s",
		(unsigned long long)r->lost,
		r->rtp_sent ? 100.0 * (double)r->lost / (double)r->rtp_sent : 0.0,
		(unsigned long long)r->duplicates, (unsigned long long)r->reordered,
		(unsigned long long)r->unmatched, r->verify ? "" : "\n");
	if (r->verify)
		fprintf(f, ", payloads differing %llu\n", (unsigned long long)r->mismatched);
	fprintf(f, "latency medius adds: p50 %.1f us, p95 %.1f us, p99 %.1f us, max %.1f us (%llu packets)\n",
		r->lat.p50_us, r->lat.p95_us, r->lat.p99_us, r->lat.max_us, (unsigned long long)r->lat.n);
	fprintf(f, "%.2f s, %.0f pps out, %.0f pps in; MOS min %.2f, mean %.2f%s\n", r->duration_s,
		r->send_pps, r->recv_pps, r->mos_min, r->mos_mean,
		r->skipped ? "" : "");
	if (r->srtp_cap_errors || r->srtp_rx_errors || r->srtp_tx_errors)
		fprintf(f, "SRTP: %llu captured packets did not decrypt, %llu received did not, %llu copies not encrypted\n",
			(unsigned long long)r->srtp_cap_errors, (unsigned long long)r->srtp_rx_errors,
			(unsigned long long)r->srtp_tx_errors);
	if (r->shifts)
		fprintf(f, "schedule shifted %.1f ms later in %llu step(s) (largest %.1f ms): media waited for slow ng replies\n",
			r->shift_ms, (unsigned long long)r->shifts, r->shift_max_ms);
	if (r->skipped)
		fprintf(f, "not sent: %llu packets of calls not set up (or already deleted) at their time\n",
			(unsigned long long)r->skipped);
	if (r->cap.cut || r->unassigned || r->cap.fragments)
		fprintf(f, "capture: %llu records cut by the snaplen skipped, %llu IP fragments skipped, %llu datagrams of no call\n",
			(unsigned long long)r->cap.cut, (unsigned long long)r->cap.fragments,
			(unsigned long long)r->unassigned);
	for (uint32_t i = 0; i < r->nstreams; i++)
		if (r->streams[i].ie_assumed) {
			fprintf(f, "* no G.113 Appendix I values for this codec: the G.711 ones are assumed\n");
			break;
		}
}

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void jlat(FILE *f, const struct perf_lat *l)
{
	fprintf(f, "{\"n\": %llu, \"p50_us\": %.3f, \"p95_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f, \"mean_us\": %.3f}",
		(unsigned long long)l->n, l->p50_us, l->p95_us, l->p99_us, l->max_us, l->mean_us);
}

int perf_report_json(const struct perf_report *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

#define U(x) (unsigned long long)(x)
	if (!f) {
		snprintf(err, errlen, "--json %s: cannot write", path);
		return -1;
	}
	fprintf(f, "{\n  \"capture\": ");
	jstr(f, r->capture);
	fprintf(f, ",\n  \"calls_from\": ");
	jstr(f, r->source);
	if (r->speed > 0)
		fprintf(f, ",\n  \"speed\": %g", r->speed);
	else
		fprintf(f, ",\n  \"speed\": \"max\"");
	fprintf(f, ", \"multiply\": %u, \"verify\": %s,\n", r->multiply, r->verify ? "true" : "false");
	fprintf(f, "  \"totals\": {\"calls\": %llu, \"calls_set_up\": %llu, \"calls_deleted\": %llu, "
		   "\"ng_requests\": %llu, \"ng_errors\": %llu,\n"
		   "    \"sent\": %llu, \"received\": %llu, \"rtp_sent\": %llu, \"rtp_received\": %llu, "
		   "\"rtcp_sent\": %llu, \"rtcp_received\": %llu, \"other_sent\": %llu, \"other_received\": %llu,\n"
		   "    \"lost\": %llu, \"duplicates\": %llu, \"reordered\": %llu, \"mismatched\": %llu, "
		   "\"unmatched\": %llu, \"send_errors\": %llu, \"not_sent\": %llu,\n"
		   "    \"srtp_capture_errors\": %llu, \"srtp_receive_errors\": %llu, \"srtp_send_errors\": %llu,\n"
		   "    \"schedule_shift_ms\": %.3f, \"schedule_shift_max_ms\": %.3f, \"schedule_shifts\": %llu,\n"
		   "    \"duration_s\": %.3f, \"send_pps\": %.1f, \"recv_pps\": %.1f, \"mos_min\": %.3f, \"mos_mean\": %.3f,\n"
		   "    \"latency\": ",
		U(r->calls), U(r->calls_set_up), U(r->calls_deleted), U(r->ng_requests), U(r->ng_errors),
		U(r->sent), U(r->received), U(r->rtp_sent), U(r->rtp_received), U(r->rtcp_sent),
		U(r->rtcp_received), U(r->other_sent), U(r->other_received), U(r->lost), U(r->duplicates),
		U(r->reordered), U(r->mismatched), U(r->unmatched), U(r->send_errors), U(r->skipped),
		U(r->srtp_cap_errors), U(r->srtp_rx_errors), U(r->srtp_tx_errors),
		r->shift_ms, r->shift_max_ms, U(r->shifts), r->duration_s, r->send_pps, r->recv_pps, r->mos_min, r->mos_mean);
	jlat(f, &r->lat);
	fprintf(f, "},\n  \"capture_stats\": {\"records\": %llu, \"udp\": %llu, \"cut\": %llu, \"fragments\": %llu, "
		   "\"not_udp\": %llu, \"malformed\": %llu, \"unassigned\": %llu},\n  \"streams\": [",
		U(r->cap.records), U(r->cap.udp), U(r->cap.cut), U(r->cap.fragments), U(r->cap.not_udp),
		U(r->cap.malformed), U(r->unassigned));
	for (uint32_t i = 0; i < r->nstreams; i++) {
		const struct perf_stream_report *s = &r->streams[i];
		bool first = true;

		fprintf(f, "%s\n    {\"call_id\": ", i ? "," : "");
		jstr(f, s->call_id);
		fprintf(f, ", \"copy\": %u, \"from\": \"%s\", \"media\": %u, \"ssrc\": %u, \"codec\": ", s->copy,
			party_name(s->party), s->media, s->ssrc);
		jstr(f, s->codec);
		fprintf(f, ", \"clock\": %u,\n     \"sent\": %llu, \"received\": %llu, \"lost\": %llu, "
			   "\"duplicates\": %llu, \"reordered\": %llu, \"mismatched\": %llu, "
			   "\"rtcp_sent\": %llu, \"rtcp_received\": %llu, \"rtcp_mismatched\": %llu,\n"
			   "     \"added_jitter_ms\": %.4f, \"burst_r\": %.3f, ",
			s->clock, U(s->sent), U(s->received), U(s->lost), U(s->duplicates), U(s->reordered),
			U(s->mismatched), U(s->rtcp_sent), U(s->rtcp_received), U(s->rtcp_mismatched),
			s->added_jitter_ms, s->burst_r);
		if (s->jitter_ms >= 0)
			fprintf(f, "\"jitter_ms\": %.4f, ", s->jitter_ms);
		else
			fprintf(f, "\"jitter_ms\": null, ");
		if (s->srtp)
			fprintf(f, "\"srtp_key_id\": %u, ", s->srtp_key_id);
		if (s->ssrc_out)
			fprintf(f, "\"ssrc_out\": %u, \"seq_offset\": %u, ", s->ssrc_out, s->seq_off);
		if (s->mos_valid)
			fprintf(f, "\"r\": %.2f, \"mos\": %.3f, \"ie_assumed\": %s,", s->r, s->mos,
				s->ie_assumed ? "true" : "false");
		else
			fprintf(f, "\"r\": null, \"mos\": null,");
		fprintf(f, "\n     \"latency\": ");
		jlat(f, &s->lat);
		fprintf(f, ",\n     \"pt_received\": {");
		for (int pt = 0; pt < 128; pt++)
			if (s->pt_received[pt]) {
				fprintf(f, "%s\"%d\": %llu", first ? "" : ", ", pt, U(s->pt_received[pt]));
				first = false;
			}
		fprintf(f, "}}");
	}
	fprintf(f, "\n  ],\n  \"timeline\": {\"bin_ms\": %u, \"sent\": [", r->bin_ms);
	for (uint32_t i = 0; i < r->nbins && r->bin_sent; i++)
		fprintf(f, "%s%llu", i ? ", " : "", U(r->bin_sent[i]));
	fprintf(f, "], \"received\": [");
	for (uint32_t i = 0; i < r->nbins && r->bin_received; i++)
		fprintf(f, "%s%llu", i ? ", " : "", U(r->bin_received[i]));
	fprintf(f, "], \"rtp_sent\": [");
	for (uint32_t i = 0; i < r->nbins && r->bin_rtp_sent; i++)
		fprintf(f, "%s%llu", i ? ", " : "", U(r->bin_rtp_sent[i]));
	fprintf(f, "], \"lost\": [");
	for (uint32_t i = 0; i < r->nbins && r->bin_lost; i++)
		fprintf(f, "%s%llu", i ? ", " : "", U(r->bin_lost[i]));
	fprintf(f, "]},\n  \"latency_histogram\": {\"bin_us\": %.3f, \"over\": %llu, \"counts\": [", r->lat_bin_us,
		U(r->lat_over));
	for (uint32_t i = 0; i < r->nlat_bins && r->lat_hist; i++)
		fprintf(f, "%s%llu", i ? ", " : "", U(r->lat_hist[i]));
	fprintf(f, "]}\n}\n");
#undef U
	if (fclose(f)) {
		snprintf(err, errlen, "--json %s: write error", path);
		return -1;
	}
	return 0;
}
