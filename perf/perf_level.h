/* SPDX-License-Identifier: MIT
 * perf_level.h: RFC 6464 audio levels for the load generators that send
 * them (perf_room_dp, perf_roomload): a frame's level and the RFC 8285
 * one-byte header extension that carries it. */
#ifndef PERF_LEVEL_H
#define PERF_LEVEL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The level of n samples: their RMS in -dBov, 0 (loudest) to 127 (silence). */
static inline uint8_t perf_level(const int16_t *pcm, size_t n)
{
	double e = 0;

	for (size_t j = 0; j < n; j++)
		e += (double)pcm[j] * pcm[j];
	e = sqrt(e / (double)n) / 32768.0;
	return e > 0 ? (uint8_t)fmin(127, lrint(-20 * log10(e))) : 127;
}

/* Set the X bit of the 12-byte RTP header at b and write after it one
 * extension block with one element: id's level (V: voice). Returns the
 * header's new length, 20. */
static inline unsigned perf_put_level_ext(uint8_t *b, unsigned id, uint8_t level, bool voice)
{
	b[0] |= 0x10;
	b[12] = 0xbe;
	b[13] = 0xde;
	b[14] = 0;
	b[15] = 1;                   /* one 32-bit word follows */
	b[16] = (uint8_t)(id << 4);  /* 1 byte (length 0) */
	b[17] = (uint8_t)((voice ? 0x80 : 0) | level);
	b[18] = b[19] = 0;
	return 20;
}

#endif
