/* libFuzzer target: the bencode decoder. Any input must decode or fail
 * cleanly; whatever decodes must re-encode and decode to an equal tree. */
#include <stdint.h>
#include <stdlib.h>

#include "ctl_bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_arena a, b;
	static struct ctl_buf out;
	struct ctl_val *v, *w;
	size_t used, used2, errpos;

	if (!a.base && (ctl_arena_init(&a, 1 << 20) || ctl_arena_init(&b, 1 << 20)))
		abort();
	ctl_arena_reset(&a);
	if (ctl_bencode_decode(&a, (const char *)data, size, &v, &used, &errpos)) {
		if (errpos > size)
			__builtin_trap();
		return 0;
	}
	if (used > size)
		__builtin_trap();
	ctl_buf_clear(&out);
	if (ctl_bencode_encode(v, &out))
		__builtin_trap();
	ctl_arena_reset(&b);
	if (ctl_bencode_decode(&b, out.p, out.len, &w, &used2, NULL) || used2 != out.len ||
	    !ctl_val_equal(v, w))
		__builtin_trap();
	return 0;
}
