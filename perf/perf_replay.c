/* SPDX-License-Identifier: MIT
 * medius-replay: replay captured SIP and RTP/RTCP through mediusd and
 * report what came back (docs/replay.md).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf_replay.h"

/* exit codes (sysexits.h, as mediusd) */
#define EX_OK 0
#define EX_INCOMPLETE 1 /* ng refused a call, or sends failed */
#define EX_USAGE 64
#define EX_DATAERR 65   /* the capture, its SDP or the side file */
#define EX_UNAVAILABLE 69 /* no answer from mediusd */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: medius-replay [OPTIONS] CAPTURE\n"
		"       medius-replay synth [OPTIONS] OUT.pcap   (write a capture: synth --help)\n"
		"Replay the calls of a pcap/pcapng capture through mediusd over ng and report\n"
		"loss, duplicates, reordering, the latency medius adds, jitter and a MOS estimate.\n"
		"\n"
		"  --ng HOST:PORT     mediusd's ng UDP socket (default 127.0.0.1:2223)\n"
		"  --speed N|max      the capture's timing N times faster (default 1), or as\n"
		"                     fast as possible\n"
		"  --multiply K       K concurrent copies of each call (own call-ids, tags,\n"
		"                     ports and SSRCs)\n"
		"  --spread-ms MS     copies start spread over MS ms (default 20)\n"
		"  --calls FILE       the calls of a capture without SIP (JSON side file)\n"
		"  --auto             without SIP: one call per pair of opposite flows\n"
		"  --verify           compare every received payload with the one sent (SRTP:\n"
		"                     decrypted, against the capture's plaintext)\n"
		"  --reference FILE   the plaintext twin of an SRTP capture (synth --plaintext):\n"
		"                     what --verify compares against instead of decrypting\n"
		"  --json FILE        write the report as JSON\n"
		"  --offer-json JSON  members added to every ng offer, e.g.\n"
		"                     '{\"codec\": {\"transcode\": [\"opus\"]}}' (--answer-json: answers)\n"
		"  --plots DIR        latency histogram, throughput and loss over time, SVG and\n"
		"                     PNG (gnuplot)\n"
		"  --drain-ms MS      wait for late packets after the last send (default 500)\n"
		"  --grace-ms MS      a BYE's delete waits this long (default 100)\n"
		"  --ng-settle-ms MS  after each offer/answer reply send nothing for MS ms\n"
		"                     (a signalling path's delay; default 0)\n"
		"  --skip-cut         skip records cut by the snaplen (else an error)\n"
		"  --bind IP          the replayer's address (default 127.0.0.1; with dpdk\n"
		"                     required: its address on the port's link)\n"
		"  --transport udp|dpdk  kernel UDP sockets (default), or a DPDK ethdev port\n"
		"                     (root; see docs/replay.md):\n"
		"  --dpdk-port DEV    af_packet:IFACE, af_xdp:IFACE or a whole vdev\n"
		"                     (net_pcap0,rx_pcap=...,tx_pcap=...)\n"
		"  --dpdk-mac MAC     our MAC (default: the port's)\n"
		"  --dpdk-peer IP=MAC medius's MAC for IP, instead of asking by ARP\n"
		"  --dpdk-ports MIN-MAX  the endpoints' UDP ports (default 10000-65535)\n"
		"  --dpdk-mem MB      EAL memory, no hugepages (default 256)\n"
		"  --dpdk-eal ARGS    more EAL arguments, space separated\n"
		"  --dpdk-verbose     EAL's log and the port's counters on stderr\n"
		"  --dry-run          read the capture and print the calls; send nothing\n"
		"  --quiet            no progress line, no table\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 replayed; 1 replayed, but ng refused a call or a send\n"
		"failed; 64 usage; 65 a capture, SDP or side file that cannot be read;\n"
		"69 mediusd did not answer.\n");
}

/* an error may quote capture bytes: print them safely */
static const char *printable(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return s;
}

static void dry_run(const struct perf_model *m)
{
	printf("calls from %s: %u; media datagrams %llu (%llu of no call); RTP streams %u\n", m->source,
	       m->ncalls, (unsigned long long)m->npkts, (unsigned long long)m->unassigned, m->nstreams);
	for (uint32_t i = 0; i < m->ncalls; i++) {
		const struct perf_call *c = &m->calls[i];

		printf("call %s tags %s / %s, %d media section(s):", c->call_id, c->tag[0],
		       c->tag[1][0] ? c->tag[1] : "-", c->nmedia);
		for (int o = 0; o < c->nops; o++)
			printf(" %s(%s)",
			       c->ops[o].kind == PERF_OP_OFFER ? "offer" : c->ops[o].kind == PERF_OP_ANSWER ? "answer" : "delete",
			       c->ops[o].party ? "B" : "A");
		printf("\n");
	}
	for (uint32_t i = 0; i < m->nstreams; i++) {
		const struct perf_stream *s = &m->streams[i];

		printf("stream call %s from %s media %u ssrc 0x%08x codec %s/%u packets %u\n",
		       m->calls[s->call].call_id, s->party ? "B" : "A", s->media, s->ssrc,
		       s->codec[0] ? s->codec : "?", s->clock, s->npkts);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ng", required_argument, NULL, 'n'},      {"speed", required_argument, NULL, 's'},
		{"multiply", required_argument, NULL, 'k'}, {"spread-ms", required_argument, NULL, 'S'},
		{"calls", required_argument, NULL, 'c'},   {"auto", no_argument, NULL, 'a'},
		{"verify", no_argument, NULL, 'v'},        {"json", required_argument, NULL, 'j'},
		{"drain-ms", required_argument, NULL, 'd'}, {"grace-ms", required_argument, NULL, 'g'},
		{"skip-cut", no_argument, NULL, 'C'},      {"bind", required_argument, NULL, 'b'},
		{"dry-run", no_argument, NULL, 'D'},       {"quiet", no_argument, NULL, 'q'},
		{"reference", required_argument, NULL, 'r'}, {"plots", required_argument, NULL, 'p'},
		{"offer-json", required_argument, NULL, 'O'}, {"answer-json", required_argument, NULL, 'A'},
		{"ng-settle-ms", required_argument, NULL, 'G'},
		{"transport", required_argument, NULL, 'T'}, {"dpdk-port", required_argument, NULL, 'P'},
		{"dpdk-mac", required_argument, NULL, 'M'}, {"dpdk-peer", required_argument, NULL, 'R'},
		{"dpdk-ports", required_argument, NULL, 'Q'}, {"dpdk-mem", required_argument, NULL, 'E'},
		{"dpdk-eal", required_argument, NULL, 'L'}, {"dpdk-verbose", no_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct perf_run_opts ro = {
		.ng = "127.0.0.1:2223", .speed = 1, .multiply = 1, .spread_us = 20000, .drain_ms = 500,
		.delete_grace_ms = 100, .ip = "127.0.0.1", .tp = &perf_tp_udp,
	};
	struct perf_dpdk_conf dc = {0};
	bool bind_given = false;
	struct perf_model_opts mo = {0};
	struct perf_model m;
	struct perf_report rep;
	const char *json = NULL, *reference = NULL, *plots = NULL;
	struct perf_model refm;
	bool dry = false, quiet = false;
	char err[1024];
	int c, rc;

	if (argc > 1 && !strcmp(argv[1], "synth"))
		return perf_synth_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		unsigned long v = 0;

		if (strchr("kSdgEG", c)) {
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v > 10000000) {
				fprintf(stderr, "medius-replay: bad number for an option: %s\n", optarg);
				return EX_USAGE;
			}
		}
		switch (c) {
		case 'n': ro.ng = optarg; break;
		case 'r': reference = optarg; break;
		case 'p': plots = optarg; break;
		case 'O': ro.offer_json = optarg; break;
		case 'A': ro.answer_json = optarg; break;
		case 's':
			if (!strcmp(optarg, "max")) {
				ro.speed = 0;
			} else {
				ro.speed = strtod(optarg, &end);
				if (*end || !(ro.speed > 0) || ro.speed > 1e6) {
					fprintf(stderr, "medius-replay: --speed takes a number > 0 or max\n");
					return EX_USAGE;
				}
			}
			break;
		case 'k':
			if (v < 1 || v > 100000) {
				fprintf(stderr, "medius-replay: --multiply takes 1 to 100000\n");
				return EX_USAGE;
			}
			ro.multiply = (uint32_t)v;
			break;
		case 'S': ro.spread_us = (uint32_t)v * 1000; break;
		case 'c': mo.side_file = optarg; break;
		case 'a': mo.auto_calls = true; break;
		case 'v': ro.verify = true; break;
		case 'j': json = optarg; break;
		case 'd': ro.drain_ms = (uint32_t)v; break;
		case 'g': ro.delete_grace_ms = (uint32_t)v; break;
		case 'G':
			if (v > 10000) {
				fprintf(stderr, "medius-replay: --ng-settle-ms takes 0 to 10000\n");
				return EX_USAGE;
			}
			ro.ng_settle_us = (uint32_t)v * 1000;
			break;
		case 'C': mo.skip_cut = true; break;
		case 'b': ro.ip = optarg; bind_given = true; break;
		case 'T':
			if (!strcmp(optarg, "udp")) {
				ro.tp = &perf_tp_udp;
			} else if (!strcmp(optarg, "dpdk")) {
				ro.tp = &perf_tp_dpdk;
			} else {
				fprintf(stderr, "medius-replay: --transport takes udp or dpdk\n");
				return EX_USAGE;
			}
			break;
		case 'P': {
			char vdev[256];

			if (perf_dpdk_vdev(optarg, vdev, sizeof(vdev))) {
				fprintf(stderr, "medius-replay: --dpdk-port takes af_packet:IFACE, af_xdp:IFACE or a vdev (net_...)\n");
				return EX_USAGE;
			}
			dc.device = optarg;
			break;
		}
		case 'M':
			if (perf_mac_parse(optarg, dc.mac)) {
				fprintf(stderr, "medius-replay: --dpdk-mac: not a MAC address: %s\n", optarg);
				return EX_USAGE;
			}
			dc.have_mac = true;
			break;
		case 'R': {
			char ipb[64];
			const char *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof(ipb) ||
			    (memcpy(ipb, optarg, (size_t)(eq - optarg)), ipb[eq - optarg] = 0,
			     inet_pton(AF_INET, ipb, dc.peer_ip) != 1) || perf_mac_parse(eq + 1, dc.peer_mac)) {
				fprintf(stderr, "medius-replay: --dpdk-peer takes IPv4=MAC\n");
				return EX_USAGE;
			}
			dc.have_peer_mac = true;
			break;
		}
		case 'Q': {
			unsigned lo, hi;
			char end2;

			if (sscanf(optarg, "%u-%u%c", &lo, &hi, &end2) != 2 || lo < 1024 || hi > 65535 || hi < lo + 3) {
				fprintf(stderr, "medius-replay: --dpdk-ports takes MIN-MAX within 1024-65535\n");
				return EX_USAGE;
			}
			dc.port_min = (uint16_t)lo;
			dc.port_max = (uint16_t)hi;
			break;
		}
		case 'E':
			if (v < 64 || v > 65536) {
				fprintf(stderr, "medius-replay: --dpdk-mem takes 64 to 65536 (MiB)\n");
				return EX_USAGE;
			}
			dc.memory_mb = (uint32_t)v;
			break;
		case 'L': dc.eal_args = optarg; break;
		case 'W': dc.verbose = true; break;
		case 'D': dry = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("medius-replay %s\n", MEDIUS_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EX_USAGE;
	}
	if (ro.tp == &perf_tp_dpdk && (!dc.device || !bind_given)) {
		fprintf(stderr, "medius-replay: --transport dpdk needs --dpdk-port and --bind (the replayer's address on that link)\n");
		return EX_USAGE;
	}
	if (ro.tp != &perf_tp_dpdk && (dc.device || dc.have_mac || dc.have_peer_mac || dc.port_min || dc.memory_mb ||
				       dc.eal_args || dc.verbose)) {
		fprintf(stderr, "medius-replay: --dpdk-* options need --transport dpdk\n");
		return EX_USAGE;
	}
	ro.tp_conf = &dc;
	if (mo.side_file && mo.auto_calls) {
		fprintf(stderr, "medius-replay: --calls and --auto exclude each other\n");
		return EX_USAGE;
	}
	if (perf_model_load(&m, argv[optind], &mo, err, sizeof(err))) {
		fprintf(stderr, "medius-replay: %s\n", printable(err));
		perf_model_free(&m);
		return EX_DATAERR;
	}
	if (m.cap.cut)
		fprintf(stderr, "medius-replay: %s: %llu record(s) cut by the snaplen skipped (the first is record %llu)\n",
			argv[optind], (unsigned long long)m.cap.cut, (unsigned long long)m.cap.first_cut);
	if (m.cap.fragments)
		fprintf(stderr, "medius-replay: %s: %llu IP fragment(s) skipped (not reassembled)\n", argv[optind],
			(unsigned long long)m.cap.fragments);
	if (m.cap.malformed)
		fprintf(stderr, "medius-replay: %s: %llu malformed packet(s) skipped (the first is record %llu)\n",
			argv[optind], (unsigned long long)m.cap.malformed, (unsigned long long)m.cap.first_malformed);
	if (m.unassigned)
		fprintf(stderr, "medius-replay: %s: %llu datagram(s) in %llu flow(s) belong to no call: not sent\n",
			argv[optind], (unsigned long long)m.unassigned, (unsigned long long)m.unassigned_flows);
	if (dry) {
		dry_run(&m);
		perf_model_free(&m);
		return EX_OK;
	}
	if (reference) {
		if (perf_model_load(&refm, reference, &mo, err, sizeof(err))) {
			fprintf(stderr, "medius-replay: --reference: %s\n", printable(err));
			perf_model_free(&refm);
			perf_model_free(&m);
			return EX_DATAERR;
		}
		ro.reference = &refm;
	}
	ro.progress = !quiet && isatty(STDERR_FILENO);
	memset(&rep, 0, sizeof(rep));
	rc = perf_run(&m, &ro, &rep, err, sizeof(err));
	if (reference)
		perf_model_free(&refm);
	if (rc) {
		fprintf(stderr, "medius-replay: %s\n", printable(err));
		perf_model_free(&m);
		perf_report_free(&rep);
		return strstr(err, "no reply") ? EX_UNAVAILABLE : EX_INCOMPLETE;
	}
	snprintf(rep.capture, sizeof(rep.capture), "%s", argv[optind]);
	if (!quiet)
		perf_report_print(&rep, stdout);
	rc = EX_OK;
	if (json && perf_report_json(&rep, json, err, sizeof(err))) {
		fprintf(stderr, "medius-replay: %s\n", printable(err));
		rc = EX_INCOMPLETE;
	}
	if (plots && perf_report_plots(&rep, plots, err, sizeof(err))) {
		fprintf(stderr, "medius-replay: %s\n", printable(err));
		rc = EX_INCOMPLETE;
	}
	if (rep.ng_errors || rep.send_errors)
		rc = EX_INCOMPLETE;
	perf_model_free(&m);
	perf_report_free(&rep);
	return rc;
}
