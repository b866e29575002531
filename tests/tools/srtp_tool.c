/* srtp_tool: SRTP for test scripts. `srtp_tool protect|unprotect SUITE:BASE64`
 * (the key as a=crypto writes it after "inline:", so "|2^20|1:4" adds an MKI)
 * reads one packet per line (hex) on stdin and writes each result as hex on
 * stdout, or "ERR <errno name>" for a packet that failed, with one stream
 * context for the whole run (so sequence numbers, ROC and replay behave as
 * on the wire; up to 1024 SSRCs). Built on dataplane/dp_srtp.h, keys read by
 * control/ctl_sdes.h. Its engine is libsrtp2 (SRTP_TOOL_ENGINE names
 * another), so a test's peer runs other crypto code than mediusd's default
 * engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_sdes.h"
#include "dp_srtp.h"

int main(int argc, char **argv)
{
	char line[8192], crypto[256];
	struct dp_sdes k;
	struct dp_srtp *s;
	bool protect;

	if (argc != 3 || (strcmp(argv[1], "protect") && strcmp(argv[1], "unprotect")) || !strchr(argv[2], ':')) {
		fprintf(stderr, "usage: srtp_tool protect|unprotect SUITE:BASE64 < hex lines\n");
		return 2;
	}
	protect = !strcmp(argv[1], "protect");
	snprintf(crypto, sizeof(crypto), "1 %.*s inline:%s", (int)(strchr(argv[2], ':') - argv[2]), argv[2],
		 strchr(argv[2], ':') + 1);
	if (ctl_sdes_parse(crypto, &k)) {
		fprintf(stderr, "srtp_tool: bad key '%s'\n", argv[2]);
		return 2;
	}
	{
		struct dp_srtp_params prm = { .engine = DP_SRTP_ENGINE_LIBSRTP, .suite = k.suite, .key_salt = k.key_salt,
					      .key_salt_len = k.key_salt_len,
					      .dir = protect ? DP_SRTP_PROTECT : DP_SRTP_UNPROTECT, .max_ssrcs = 1024,
					      .mki_len = k.mki_len };
		const char *e = getenv("SRTP_TOOL_ENGINE");

		memcpy(prm.mki, k.mki, sizeof(prm.mki));

		if (e && dp_srtp_engine_parse(e, &prm.engine)) {
			fprintf(stderr, "srtp_tool: unknown engine '%s'\n", e);
			return 2;
		}
		s = dp_srtp_create_ex(&prm);
	}
	if (!s) {
		fprintf(stderr, "srtp_tool: cannot create the stream\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		uint8_t buf[4200];
		uint8_t *pk[1] = { buf };
		uint16_t len = 0;
		int16_t rc;

		for (char *p = line; p[0] && p[1] && p[0] != '\n' && len < 4096; p += 2) {
			unsigned v;

			if (sscanf(p, "%2x", &v) != 1)
				break;
			buf[len++] = (uint8_t)v;
		}
		if ((protect ? dp_srtp_protect_burst : dp_srtp_unprotect_burst)(s, pk, &len, sizeof(buf), &rc, 1) != 1) {
			printf("ERR %d\n", rc);
		} else {
			for (uint16_t i = 0; i < len; i++)
				printf("%02x", buf[i]);
			printf("\n");
		}
		fflush(stdout);
	}
	dp_srtp_destroy(s);
	return 0;
}
