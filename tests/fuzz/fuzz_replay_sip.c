/* SPDX-License-Identifier: MIT
 * libFuzzer target for medius-replay's SIP/SDP extraction
 * (perf/perf_replay_sip.c, perf_replay_sdp.c, perf_replay_side.c). The
 * input is UDP payloads separated by "\n%%\n" lines, fed to the SIP reader
 * as one capture; every SDP the calls kept must rewrite for the replayer
 * and parse back with the same sections, each on 127.0.0.1 (but one that had
 * no address: a rejected or non-RTP section without any c= line). The whole
 * input is also tried as an SDP and as a side file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf_replay.h"

static void check_rewrite(const char *sdp, size_t len)
{
	static const uint16_t ports[PERF_SDP_MAX_MEDIA] = {4000, 4002, 4004, 4006, 4008, 4010, 4012, 4014};
	struct perf_sdp a, b;
	char err[200];
	size_t cap = len * 2 + 1024;
	char *out;
	int n;

	if (perf_sdp_parse(sdp, len, &a, err, sizeof(err)))
		return;
	out = malloc(cap);
	if (!out)
		return;
	n = perf_sdp_rewrite(sdp, len, "127.0.0.1", ports, a.nmedia, out, cap);
	if (n < 0 || perf_sdp_parse(out, (size_t)n, &b, err, sizeof(err)) || b.nmedia != a.nmedia)
		__builtin_trap();
	for (int i = 0; i < b.nmedia; i++) {
		/* a section without an address (no c= line of its own nor at
		 * the session level: the parser allows it for a rejected section,
		 * port 0, and for one that is not RTP) has none after: only c=
		 * lines are rewritten, none is added */
		if (!a.m[i].addr.family && !b.m[i].addr.family)
			continue;
		if (b.m[i].addr.family != 4 || memcmp(b.m[i].addr.ip, "\x7f\0\0\x01", 4))
			__builtin_trap();
		if (a.m[i].addr.port && b.m[i].addr.port != ports[i] && strchr(out, '/') == NULL)
			__builtin_trap();
	}
	free(out);
}

/* perf_sip_feed keeps its Call-ID index in file-static state that only
 * perf_model_from_cap resets (medius-replay builds one model per process):
 * reset it before each input by building a model from an empty capture (a
 * pcap header, Ethernet, no packets), or the index would point into the
 * previous input's freed model. */
static void reset_sip_state(void)
{
	static const uint8_t empty_pcap[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
						0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	struct perf_model_opts o = { 0 };
	struct perf_model m0;
	struct perf_cap *c;
	char err[200];

	if (perf_cap_open_mem(&c, empty_pcap, sizeof(empty_pcap), err, sizeof(err)))
		abort();
	(void)perf_model_from_cap(&m0, c, &o, err, sizeof(err));
	perf_model_free(&m0);
	perf_cap_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_model m;
	const char *p = (const char *)data, *end = p + size;
	uint64_t rec = 0;
	char err[512];
	struct perf_sdp s;

	reset_sip_state();
	memset(&m, 0, sizeof(m));
	while (p <= end) {
		const char *sep = memmem(p, (size_t)(end - p), "\n%%\n", 4);
		const char *e = sep ? sep : end;
		struct perf_cap_pkt pk;

		rec++;
		pk = (struct perf_cap_pkt){.ts_ns = rec * 1000000, .record = rec, .data = (const uint8_t *)p,
					   .len = (uint32_t)(e - p)};

		pk.src.family = pk.dst.family = 4;
		if (perf_sip_feed(&m, &pk, err, sizeof(err)) < 0 && !err[0])
			__builtin_trap();
		if (!sep)
			break;
		p = sep + 4;
	}
	for (uint32_t i = 0; i < m.ncalls; i++)
		for (int o = 0; o < m.calls[i].nops; o++)
			if (m.calls[i].ops[o].sdp)
				check_rewrite(m.calls[i].ops[o].sdp, m.calls[i].ops[o].sdp_len);
	perf_model_free(&m);
	check_rewrite((const char *)data, size);
	(void)perf_sdp_parse((const char *)data, size, &s, err, sizeof(err));
	memset(&m, 0, sizeof(m));
	(void)perf_side_parse(&m, (const char *)data, size, 0, err, sizeof(err));
	for (uint32_t i = 0; i < m.ncalls; i++)
		for (int o = 0; o < m.calls[i].nops; o++)
			if (m.calls[i].ops[o].sdp)
				check_rewrite(m.calls[i].ops[o].sdp, m.calls[i].ops[o].sdp_len);
	perf_model_free(&m);
	return 0;
}
