/* libFuzzer target: media playback's file loader (mixer/mx_play.c): the
 * input is a media file (WAV and whatever else libsndfile reads, or Ogg
 * Opus through libopusfile) opened from memory (mx_player_open_blob, what
 * ng `play media` does with a `blob`, and with a `file` once it is read
 * whole), then resampled to a rate picked from
 * the input's length (unless that would make it over 2^16 samples) and
 * read to its end. Checked: a failure says why
 * (a negative errno and a message); a player has audio, a sane rate and
 * duration, and gives exactly its samples (the same count each repeat,
 * matching the duration) before it is done, then only silence. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"

#define CHECK(c)                            \
	do {                                \
		if (!(c))                   \
			__builtin_trap();   \
	} while (0)

static const uint32_t RATES[] = { 0, 8000, 16000, 48000, 11025 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int16_t buf[4096];
	struct mx_player *p;
	char msg[256] = "";
	int err = 0;
	uint32_t rate;
	uint64_t got = 0, ms;

	if (size > 1 << 20)
		return 0;
	p = mx_player_open_blob(data, size, &err, msg, sizeof(msg));
	if (!p) {
		CHECK(err < 0 && msg[0] && memchr(msg, '\0', sizeof(msg)));
		return 0;
	}
	rate = RATES[size % (sizeof(RATES) / sizeof(RATES[0]))];
	/* Media that would resample to over 2^16 samples is read at its own
	 * rate: such an input (e.g. 11 s of G.721 at 1,001 Hz made 48 kHz)
	 * costs 0.2-1 s a run and covers no more than a short one. */
	if (rate && mx_player_duration_ms(p) * rate / 1000 > (1u << 16))
		rate = 0;
	if (rate)
		CHECK(mx_player_set_rate(p, rate) == 0 && mx_player_rate(p) == rate);
	rate = mx_player_rate(p);
	CHECK(rate >= 1000 && rate <= 384000);
	ms = mx_player_duration_ms(p);
	CHECK(ms <= (uint64_t)MX_PLAY_MAX_S * 1000);
	CHECK(mx_player_set_repeat(p, 1 + (unsigned)(size & 1)) == 0);
	for (;;) {
		size_t n = 1 + (size * 7 + got) % (sizeof(buf) / sizeof(buf[0])), k;

		k = mx_player_read(p, buf, n);
		CHECK(k <= n);
		for (size_t i = k; i < n; i++)
			CHECK(buf[i] == 0);
		got += k;
		if (k < n)
			break;
		CHECK(got <= (uint64_t)rate * (MX_PLAY_MAX_S + 1) * 2);
	}
	CHECK(mx_player_done(p));
	CHECK(mx_player_read(p, buf, 16) == 0);
	/* each repeat gives the player's samples: n, with duration = n / rate rounded */
	{
		uint64_t reps = 1 + (size & 1), n = got / reps;

		CHECK(got % reps == 0 && n > 0);
		CHECK((n * 1000 + rate / 2) / rate == ms);
	}
	mx_player_destroy(p);
	return 0;
}
