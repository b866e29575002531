/* libFuzzer target: the opus/48000/2 decoder (see fuzz_codec.h). */
#include <errno.h>

#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder("opus/48000/2", NULL, data, size);
}
