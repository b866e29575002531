/* Shared body of the per-codec decoder fuzz targets: the input is split
 * into packets (each prefixed by a length byte) and fed to one long-lived
 * decoder, with concealment after every error and FEC recovery from each
 * packet, as a media worker would do. Output must stay within bounds. */
#ifndef FUZZ_CODEC_H
#define FUZZ_CODEC_H

#include <stdint.h>
#include <stdlib.h>

#include "cdc.h"

static inline int fuzz_decoder(const char *rtpmap, const char *fmtp, const uint8_t *data, size_t size)
{
	static struct cdc_dec *d;
	static struct cdc_format f;
	static int16_t pcm[48 * 120 * 2 + 64];
	size_t off = 0;

	if (!d) {
		if (cdc_format_parse(rtpmap, fmtp, &f) || !(d = cdc_dec_create(&f)))
			abort();
	}
	while (off < size) {
		size_t len = data[off++];
		size_t frame = f.sample_rate / 50;
		int n;

		if (len > size - off)
			len = size - off;
		n = cdc_decode(d, data + off, len, pcm, 48 * 120);
		if (n > 48 * 120 || (n < 0 && n != -EINVAL && n != -ENOSPC))
			__builtin_trap();
		if (n < 0 && cdc_dec_conceal(d, pcm, frame) != (int)frame)
			__builtin_trap();
		if (len && cdc_dec_recover(d, data + off, len, pcm, frame) < 0)
			__builtin_trap();
		off += len;
	}
	return 0;
}

#endif
