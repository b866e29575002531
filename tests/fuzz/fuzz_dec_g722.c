/* libFuzzer target: the G722/8000 decoder (see fuzz_codec.h). */
#include <errno.h>

#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder("G722/8000", NULL, data, size);
}
