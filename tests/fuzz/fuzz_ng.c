/* libFuzzer target: ng framing and request handling, as a UDP datagram and
 * as a TCP stream. Every input must get a reply or a clean drop; a reply
 * must echo the cookie and carry a dictionary with "result". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_bencode.h"
#include "ctl_json.h"
#include "ctl_ng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ctl_ng_conf conf = { .cache_size = 32, .cache_ms = 10,
						 .arena_bytes = 256 * 1024 };
	static struct ctl_ng *ng;
	static struct ctl_arena a;
	static uint64_t now;
	const char *req = (const char *)data, *rep, *sp;
	size_t rlen, off = 0, m, used;
	struct ctl_val *v;
	int rc;

	if (!ng && (!(ng = ctl_ng_create(&conf)) || ctl_arena_init(&a, 1 << 20)))
		abort();
	now += 7; /* let the cache expire entries now and then */
	if (ctl_ng_handle(ng, req, size, now, &rep, &rlen) == 0) {
		sp = memchr(rep, ' ', rlen);
		if (!sp || memcmp(rep, req, (size_t)(sp - rep) + 1) != 0)
			__builtin_trap(); /* the reply must start with the request's cookie */
		ctl_arena_reset(&a);
		rc = sp[1] == '{' ? ctl_json_decode(&a, sp + 1, rlen - (size_t)(sp - rep) - 1, &v, &used, NULL)
				  : ctl_bencode_decode(&a, sp + 1, rlen - (size_t)(sp - rep) - 1, &v, &used, NULL);
		if (rc || v->type != CTL_V_DICT || !ctl_dict_get(v, "result"))
			__builtin_trap();
	}
	/* the same bytes as a stream: frame until stuck */
	while (off < size) {
		rc = ctl_ng_frame(ng, req + off, size - off, &m);
		if (rc)
			break;
		if (m == 0 || m > size - off)
			__builtin_trap();
		ctl_ng_handle(ng, req + off, m, now, &rep, &rlen);
		off += m;
	}
	return 0;
}
