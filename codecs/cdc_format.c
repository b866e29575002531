/* SPDX-License-Identifier: MIT
 * cdc_format: the codec registry, from SDP rtpmap/fmtp to cdc_format and
 * back (see cdc.h). */
#include "cdc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct codec_info {
	const char *name;
	int16_t static_pt;
	uint8_t default_channels;
};

static const struct codec_info codecs[CDC_CODEC_COUNT] = {
	[CDC_PCMU] = { "PCMU", 0, 1 },
	[CDC_PCMA] = { "PCMA", 8, 1 },
	[CDC_G722] = { "G722", 9, 1 },
	[CDC_OPUS] = { "opus", -1, 2 },
	[CDC_L16] = { "L16", -1, 1 },
	[CDC_TELEPHONE_EVENT] = { "telephone-event", -1, 1 },
	[CDC_CN] = { "CN", 13, 1 },
};

const char *cdc_codec_name(enum cdc_codec c)
{
	return (unsigned)c < CDC_CODEC_COUNT ? codecs[c].name : "?";
}

static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 16000 || r == 24000 || r == 32000 || r == 48000;
}

/* Parse "a=b; c=d" pairs of an opus fmtp into o. Unknown keys are ignored;
 * malformed numbers make the whole fmtp invalid. */
static int parse_opus_fmtp(const char *fmtp, struct cdc_opus_fmtp *o)
{
	char buf[512], *save = NULL;

	if (strlen(fmtp) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, fmtp);
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq, *end, *key = kv + strspn(kv, " \t");
		unsigned long v;

		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq)
			continue;
		*eq = '\0';
		for (char *t = eq - 1; t >= key && (*t == ' ' || *t == '\t'); t--)
			*t = '\0';
		eq++;
		eq += strspn(eq, " \t");
		if (strcasecmp(key, "maxplaybackrate") && strcasecmp(key, "maxaveragebitrate") &&
		    strcasecmp(key, "stereo") && strcasecmp(key, "sprop-stereo") &&
		    strcasecmp(key, "useinbandfec") && strcasecmp(key, "usedtx") && strcasecmp(key, "cbr"))
			continue; /* not ours: ignored whatever its value */
		v = strtoul(eq, &end, 10);
		if (end == eq)
			return -EINVAL;
		if (!strcasecmp(key, "maxplaybackrate"))
			o->maxplaybackrate = v < 8000 ? 8000 : v > 48000 ? 48000 : (uint32_t)v;
		else if (!strcasecmp(key, "maxaveragebitrate"))
			o->maxaveragebitrate = v < 6000 ? 6000 : v > 510000 ? 510000 : (uint32_t)v;
		else if (!strcasecmp(key, "stereo"))
			o->stereo = v != 0;
		else if (!strcasecmp(key, "sprop-stereo"))
			o->sprop_stereo = v != 0;
		else if (!strcasecmp(key, "useinbandfec"))
			o->useinbandfec = v != 0;
		else if (!strcasecmp(key, "usedtx"))
			o->usedtx = v != 0;
		else if (!strcasecmp(key, "cbr"))
			o->cbr = v != 0;
	}
	return 0;
}

int cdc_format_parse(const char *rtpmap, const char *fmtp, struct cdc_format *out)
{
	char name[32];
	const char *slash = strchr(rtpmap, '/');
	unsigned long clock, ch = 0;
	char *end;
	struct cdc_format f = { .static_pt = -1 };
	int c;

	if (!slash || (size_t)(slash - rtpmap) >= sizeof(name) || slash == rtpmap)
		return -EINVAL;
	memcpy(name, rtpmap, (size_t)(slash - rtpmap));
	name[slash - rtpmap] = '\0';
	clock = strtoul(slash + 1, &end, 10);
	if (end == slash + 1)
		return -EINVAL;
	if (*end == '/') {
		const char *chs = end + 1;

		ch = strtoul(chs, &end, 10);
		if (end == chs || ch == 0)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	for (c = 0; c < CDC_CODEC_COUNT; c++)
		if (!strcasecmp(name, codecs[c].name))
			break;
	if (c == CDC_CODEC_COUNT)
		return -ENOENT;
	f.codec = (enum cdc_codec)c;
	f.static_pt = codecs[c].static_pt;
	f.channels = ch ? (uint8_t)(ch > 255 ? 255 : ch) : codecs[c].default_channels;
	f.clock_rate = (uint32_t)clock;
	f.sample_rate = (uint32_t)clock;
	f.pcm_channels = 1;
	switch (f.codec) {
	case CDC_PCMU:
	case CDC_PCMA:
		if (clock != 8000 || f.channels != 1)
			return -EINVAL;
		break;
	case CDC_G722:
		/* RFC 3551: the RTP clock is 8000 although the audio is 16 kHz */
		if (clock != 8000 || f.channels != 1)
			return -EINVAL;
		f.sample_rate = 16000;
		break;
	case CDC_OPUS:
		/* RFC 7587: always opus/48000/2; a bare opus/48000 is taken as that */
		if (clock != 48000 || f.channels != 2)
			return -EINVAL;
		f.opus.maxplaybackrate = 48000;
		if (fmtp && parse_opus_fmtp(fmtp, &f.opus))
			return -EINVAL;
		f.pcm_channels = f.opus.stereo ? 2 : 1;
		break;
	case CDC_L16:
		if ((clock != 8000 && clock != 16000 && clock != 48000) || f.channels > 2)
			return -EINVAL;
		f.pcm_channels = f.channels;
		break;
	case CDC_TELEPHONE_EVENT:
	case CDC_CN:
		if (!rate_ok((uint32_t)clock) || f.channels != 1)
			return -EINVAL;
		break;
	case CDC_CODEC_COUNT:
		return -ENOENT;
	}
	if (f.static_pt >= 0 && f.clock_rate != 8000)
		f.static_pt = -1; /* CN/16000 has no static type */
	*out = f;
	return 0;
}

int cdc_format_from_static_pt(unsigned pt, struct cdc_format *out)
{
	static const char *const maps[] = { [0] = "PCMU/8000", [8] = "PCMA/8000", [9] = "G722/8000",
					    [13] = "CN/8000" };

	if (pt >= sizeof(maps) / sizeof(maps[0]) || !maps[pt])
		return -ENOENT;
	return cdc_format_parse(maps[pt], NULL, out);
}

int cdc_format_rtpmap(const struct cdc_format *f, char *buf, size_t len)
{
	int n;

	if (f->codec == CDC_OPUS || (f->codec == CDC_L16 && f->channels > 1))
		n = snprintf(buf, len, "%s/%u/%u", cdc_codec_name(f->codec), f->clock_rate, f->channels);
	else
		n = snprintf(buf, len, "%s/%u", cdc_codec_name(f->codec), f->clock_rate);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int cdc_format_fmtp(const struct cdc_format *f, char *buf, size_t len)
{
	int n = 0;

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (f->codec == CDC_TELEPHONE_EVENT) {
		n = snprintf(buf, len, "0-15");
	} else if (f->codec == CDC_OPUS) {
		const struct cdc_opus_fmtp *o = &f->opus;
		char tmp[160] = "";
		int k = 0;

#define ADD(...) k += snprintf(tmp + k, sizeof(tmp) - (size_t)k, __VA_ARGS__)
		if (o->maxplaybackrate && o->maxplaybackrate != 48000)
			ADD("%smaxplaybackrate=%u", k ? "; " : "", o->maxplaybackrate);
		if (o->maxaveragebitrate)
			ADD("%smaxaveragebitrate=%u", k ? "; " : "", o->maxaveragebitrate);
		if (o->stereo)
			ADD("%sstereo=1", k ? "; " : "");
		if (o->sprop_stereo)
			ADD("%ssprop-stereo=1", k ? "; " : "");
		if (o->useinbandfec)
			ADD("%suseinbandfec=1", k ? "; " : "");
		if (o->usedtx)
			ADD("%susedtx=1", k ? "; " : "");
		if (o->cbr)
			ADD("%scbr=1", k ? "; " : "");
#undef ADD
		n = snprintf(buf, len, "%s", tmp);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

bool cdc_format_compatible(const struct cdc_format *a, const struct cdc_format *b)
{
	if (a->codec != b->codec || a->clock_rate != b->clock_rate || a->channels != b->channels)
		return false;
	/* Opus decodes whatever the sender chose; mono/stereo PCM is local. */
	return true;
}
