/* SPDX-License-Identifier: MIT
 * libFuzzer target for medius-replay's capture reader
 * (perf/perf_replay_pcap.c) and the model built from it: any bytes are a
 * capture that libpcap and the link/IP/UDP layers either read or refuse
 * with a message; what reads goes through the SIP reader and --auto.
 * Nothing may crash, and every datagram handed out lies within the record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_cap *c;
	struct perf_cap_pkt p;
	struct perf_model m;
	struct perf_model_opts o = {.auto_calls = true, .skip_cut = size & 1};
	char err[512];
	int rc;

	if (perf_cap_open_mem(&c, data, size, err, sizeof(err)) == 0) {
		while ((rc = perf_cap_next(c, &p, err, sizeof(err))) == 1)
			if (p.len > 65535 || (p.src.family != 4 && p.src.family != 6))
				__builtin_trap();
		if (rc < 0 && !err[0])
			__builtin_trap(); /* an error always says why */
		perf_cap_close(c);
	} else if (!err[0]) {
		__builtin_trap();
	}
	if (perf_cap_open_mem(&c, data, size, err, sizeof(err)) == 0) {
		if (perf_model_from_cap(&m, c, &o, err, sizeof(err)) && !err[0])
			__builtin_trap();
		perf_model_free(&m);
		perf_cap_close(c);
	}
	return 0;
}
