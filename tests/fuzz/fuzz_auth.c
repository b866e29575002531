/* libFuzzer target: the request guard's parsers. The input is an ng
 * request ("cookie SP body"), checked by ctl_auth_verify in each mode (a
 * known client, so a well-formed auth member reaches the HMAC); the signed
 * region it finds must lie inside the body. The input is also parsed as an
 * allow-list (first line), which must parse or fail cleanly and, when it
 * parses, hold at most CTL_ACL_MAX entries with valid prefixes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_acl.h"
#include "ctl_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_auth *a[3];
	struct ctl_auth_sig sig;
	struct ctl_acl acl;
	char text[512], err[256];
	const char *sp;
	size_t n;

	if (!a[0]) {
		for (int m = 0; m < 3; m++) {
			a[m] = ctl_auth_create((enum ctl_auth_mode)m, 30, 1024);
			if (!a[m] || ctl_auth_add_key(a[m], "sip1", (const uint8_t *)"0123456789abcdef", 16))
				abort();
		}
	}
	for (int m = 0; m < 3; m++) {
		enum ctl_refusal r = ctl_auth_verify(a[m], (const char *)data, size, 1767225600, &sig);

		if (r >= CTL_REFUSE__COUNT || (m == CTL_AUTH_OFF && r != CTL_REFUSE_NONE))
			__builtin_trap();
		if (r == CTL_REFUSE_NONE && sig.present && sig.client < 0)
			__builtin_trap(); /* a signed request passed without a known client */
		if (r == CTL_REFUSE_NONE && sig.present)
			ctl_auth_remember(a[m], &sig, 1767225600);
	}
	sp = memchr(data, ' ', size);
	if (sp) {
		size_t off = (size_t)(sp - (const char *)data) + 1, start, end, val, vlen;

		if (ctl_auth_locate(sp + 1, size - off, &start, &end, &val, &vlen) == 0 &&
		    (start > end || end > size - off || val + vlen > start))
			__builtin_trap();
	}
	n = strnlen((const char *)data, size < sizeof(text) - 1 ? size : sizeof(text) - 1);
	memcpy(text, data, n);
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0'; /* the first line */
	if (ctl_acl_parse(&acl, text, err, sizeof(err)) == 0) {
		if (acl.n > CTL_ACL_MAX)
			__builtin_trap();
		for (unsigned i = 0; i < acl.n; i++)
			if (acl.e[i].prefix > (acl.e[i].family == 2 ? 32 : 128))
				__builtin_trap();
	} else if (acl.n) {
		__builtin_trap();
	}
	return 0;
}
