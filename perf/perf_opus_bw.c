/* SPDX-License-Identifier: MIT
 * perf_opus_bw: Opus at the source's rate and bandwidth, by complexity,
 * against the old 48 kHz path (docs/codecs.md, docs/performance.md).
 *
 * Sources: speech (espeak-ng, or --wav FILE; the synthetic speech-like
 * signal of tests/unit/audio_util.h without either) at 8 kHz through
 * PCMU, and at 16 kHz through G.722: the decoded audio is what a chain's
 * Opus encoder hears, and what the Opus output is compared against.
 *
 * Paths, for each complexity:
 *   new: what medius's chains do: the Opus encoder at the source's rate,
 *        capped at NB (8 kHz) or WB (16 kHz); the decoder at that rate.
 *   old: a 48 kHz encoder (fullband allowed) fed through the speexdsp
 *        resampler (quality 3, the chains' default), and on the way back
 *        a 48 kHz decoder and the resampler down again.
 * Cost: TSC cycles per 20 ms frame (encode side and decode side, median
 * of interleaved rounds) and, side by side, callgrind's instruction counts
 * (the program runs itself under valgrind once per row: stable where the
 * TSC figures are noisy). Quality against the source, delay-aligned:
 * waveform SNR and log-spectral distance (tests/unit/audio_util.h au_lsd),
 * decoded twice: by libopus (medius's decoder) and by an independent one,
 * FFmpeg's native Opus decoder (`ffmpeg -c:a opus`, not libopus), from an
 * Ogg Opus file this program writes (the RTP payloads, one per page).
 * FFmpeg's output (always 48 kHz) is brought to the source rate with
 * speexdsp at quality 10, delay-compensated.
 *
 * Without the ffmpeg command, the same decoder runs through GStreamer's
 * avdec_opus (gstreamer1.0-libav).
 *
 *   perf_opus_bw [--quick] [--no-callgrind] [--no-ffmpeg] [--bitrate BPS]
 *                [--wav FILE] [--seconds S] [--keep DIR] [--decoder ffmpeg|gst]
 * --quick: complexities 0,1,2,3,5,8,10 only. --bitrate: a fixed bitrate
 * for both paths (default: the encoder's choice, as medius's chains).
 * --keep: leave the Ogg files and the decoded audio in DIR. --decoder: the
 * way to FFmpeg's decoder (default: ffmpeg if installed, else gst).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <x86intrin.h>

#include "audio_util.h"
#include "cdc.h"

#define MAX_SECONDS 30
#define ROUNDS 5
#define CG_SECONDS 4 /* audio encoded and decoded under callgrind */
/* The default-complexity rule: the lowest complexity whose quality on the
 * new path (by the independent decoder when there is one) is within these
 * of the best row's, for every source rate; one default serves all. */
#define RULE_LSD_DB 0.30
#define RULE_SNR_DB 0.50

enum path { NEW, OLD };
static const char *path_name[] = { "new", "old" };

/* FFmpeg's native decoder: through the ffmpeg command, or through
 * GStreamer's avdec_opus (gstreamer1.0-libav, which the interop tests
 * already need). */
static enum indep { INDEP_NONE, INDEP_FFMPEG, INDEP_GST } indep;

/* ---- the source ---- */

static int16_t *read_wav(FILE *f, size_t *n, uint32_t *rate)
{
	uint8_t h[12], ch[8];
	int16_t *pcm = NULL;
	uint16_t channels = 0, bits = 0;

	if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
		return NULL;
	while (fread(ch, 1, 8, f) == 8) {
		uint32_t len = ch[4] | ch[5] << 8 | ch[6] << 16 | (uint32_t)ch[7] << 24;

		if (!memcmp(ch, "fmt ", 4)) {
			uint8_t fmt[64] = { 0 };

			if (len > sizeof(fmt) || fread(fmt, 1, len, f) != len)
				return NULL;
			channels = (uint16_t)(fmt[2] | fmt[3] << 8);
			*rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | (uint32_t)fmt[7] << 24;
			bits = (uint16_t)(fmt[14] | fmt[15] << 8);
		} else if (!memcmp(ch, "data", 4)) {
			size_t cap = 1 << 20, got = 0, k;
			int16_t buf[4096];

			if (channels < 1 || bits != 16)
				return NULL;
			pcm = malloc(cap * sizeof(int16_t));
			/* espeak-ng writes a data length of its own guess when piped: read to EOF */
			while ((k = fread(buf, sizeof(int16_t) * channels, 4096 / channels, f)) > 0) {
				for (size_t i = 0; i < k; i++) {
					if (got == cap)
						pcm = realloc(pcm, (cap *= 2) * sizeof(int16_t));
					pcm[got++] = buf[i * channels];
				}
			}
			*n = got;
			return pcm;
		} else {
			for (uint32_t i = 0; i < len + (len & 1); i++)
				if (fgetc(f) == EOF)
					return NULL;
		}
	}
	return NULL;
}

static const char *speech_text =
	"The quick brown fox jumps over the lazy dog. A media server carries speech from one "
	"network to another, and every codec on the way costs a little quality and a little time. "
	"Please call Stella and ask her to bring these things with her from the store: six spoons of "
	"fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.";

/* Speech at `rate`, `seconds` long (repeated as needed); *what says where it came from. */
static int16_t *make_speech(const char *wav, uint32_t rate, size_t n, const char **what)
{
	int16_t *raw = NULL, *out = calloc(n, sizeof(int16_t));
	size_t rn = 0;
	uint32_t rrate = 0;
	FILE *f;

	if (wav) {
		f = fopen(wav, "rb");
		raw = f ? read_wav(f, &rn, &rrate) : NULL;
		if (f)
			fclose(f);
		if (!raw) {
			fprintf(stderr, "cannot read %s (16-bit WAV)\n", wav);
			exit(1);
		}
		*what = wav;
	} else {
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "espeak-ng -v en-us -s 150 --stdout \"%s\" 2>/dev/null", speech_text);
		f = popen(cmd, "r");
		raw = f ? read_wav(f, &rn, &rrate) : NULL;
		if (f)
			pclose(f);
		*what = "espeak-ng (en-us, 150 words/min)";
	}
	if (!raw || rn < rrate) {
		free(raw);
		*what = "synthetic speech-like signal (au_speech; espeak-ng not found)";
		au_speech(out, n, rate, 5);
		return out;
	}
	size_t cap = (size_t)((double)rn * rate / rrate) + 16;
	int16_t *rs = malloc(cap * sizeof(int16_t));
	long m = cdc_resample_buffer(raw, rn, rrate, rs, cap, rate, 10);
	double peak = 1;

	if (m <= 0) {
		fprintf(stderr, "resampling the speech failed\n");
		exit(1);
	}
	for (long i = 0; i < m; i++)
		peak = fabs((double)rs[i]) > peak ? fabs((double)rs[i]) : peak;
	for (size_t i = 0; i < n; i++) /* peak at -6 dBFS, repeated to length */
		out[i] = (int16_t)lrint(rs[i % (size_t)m] * 16384.0 / peak);
	free(raw);
	free(rs);
	return out;
}

/* The speech through the source codec (PCMU at 8 kHz, G.722 at 16): what a
 * chain's decoder hands its Opus encoder. */
static void through_codec(const char *rtpmap, int16_t *pcm, size_t n)
{
	struct cdc_format f;
	struct cdc_enc *e;
	struct cdc_dec *d;
	uint8_t pkt[1000];

	cdc_format_parse(rtpmap, NULL, &f);
	e = cdc_enc_create(&f, NULL);
	d = cdc_dec_create(&f);
	size_t fr = cdc_frame_samples(&f, 20);
	for (size_t i = 0; i + fr <= n; i += fr) {
		int len = cdc_encode(e, pcm + i, fr, pkt, sizeof(pkt));

		cdc_decode(d, pkt, (size_t)len, pcm + i, fr);
	}
	cdc_enc_destroy(e);
	cdc_dec_destroy(d);
}

/* ---- one run of a path ---- */

struct run {
	uint32_t rate, frame;   /* source rate, samples a frame */
	size_t frames;
	enum path path;
	int complexity;
	uint32_t bitrate;
	uint8_t (*pkt)[1500];
	int *len;
	int16_t *dec;           /* decoded by libopus, at the source rate */
	size_t dec_n;
	uint64_t enc_cyc, dec_cyc; /* this round's */
	int bw_count[5];
};

static struct cdc_format opus_fmt(uint32_t rate)
{
	struct cdc_format f;

	cdc_format_parse("opus/48000/2", NULL, &f);
	f.sample_rate = rate; /* as cdc_sink does: Opus encodes at the rate it is given */
	return f;
}

static int toc_bw(uint8_t toc)
{
	unsigned c = toc >> 3;

	if (c < 12)
		return (int)c / 4; /* NB MB WB */
	if (c < 16)
		return 3 + (int)(c - 12) / 2; /* SWB FB */
	return (int[]){ 0, 2, 3, 4 }[(c - 16) / 4];
}

__attribute__((noinline)) void bw_encode_all(struct run *r, const int16_t *src)
{
	struct cdc_format f = opus_fmt(r->path == NEW ? r->rate : 48000);
	struct cdc_enc_opts o = { .complexity = r->complexity ? r->complexity : -1, .bitrate = r->bitrate };
	struct cdc_enc *e = cdc_enc_create(&f, &o);
	struct cdc_resampler *up = r->path == OLD ? cdc_resampler_create(r->rate, 48000, 1, -1) : NULL;
	int16_t up_buf[960 + 64];
	uint64_t t0 = __rdtsc();

	for (size_t i = 0; i < r->frames; i++) {
		const int16_t *pcm = src + i * r->frame;
		size_t n = r->frame;

		if (up) { /* the old path: resampled to 48 kHz first */
			int m = cdc_resample(up, pcm, r->frame, up_buf, sizeof(up_buf) / sizeof(up_buf[0]));

			n = 960;
			if (m < 960) /* the filter's phase: a frame may come out a sample short */
				memset(up_buf + (m > 0 ? m : 0), 0, (size_t)(960 - (m > 0 ? m : 0)) * sizeof(int16_t));
			pcm = up_buf;
		}
		r->len[i] = cdc_encode(e, pcm, n, r->pkt[i], sizeof(r->pkt[i]));
	}
	r->enc_cyc = __rdtsc() - t0;
	cdc_enc_destroy(e);
	cdc_resampler_destroy(up);
}

__attribute__((noinline)) void bw_decode_all(struct run *r)
{
	struct cdc_format f = opus_fmt(r->path == NEW ? r->rate : 48000);
	struct cdc_dec *d = cdc_dec_create(&f);
	struct cdc_resampler *down = r->path == OLD ? cdc_resampler_create(48000, r->rate, 1, -1) : NULL;
	int16_t buf[960 + 64];
	uint64_t t0 = __rdtsc();

	r->dec_n = 0;
	for (size_t i = 0; i < r->frames; i++) {
		int n = r->len[i] > 0 ? cdc_decode(d, r->pkt[i], (size_t)r->len[i], buf, 960) : 0;

		if (n <= 0)
			continue;
		if (down)
			n = cdc_resample(down, buf, (size_t)n, r->dec + r->dec_n, r->frame + 64);
		else
			memcpy(r->dec + r->dec_n, buf, (size_t)n * sizeof(int16_t));
		r->dec_n += n > 0 ? (size_t)n : 0;
	}
	r->dec_cyc = __rdtsc() - t0;
	cdc_dec_destroy(d);
	cdc_resampler_destroy(down);
}

static void run_init(struct run *r, uint32_t rate, size_t frames, enum path p, int c, uint32_t bitrate)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->frame = rate / 50;
	r->frames = frames;
	r->path = p;
	r->complexity = c;
	r->bitrate = bitrate;
	r->pkt = calloc(frames, sizeof(*r->pkt));
	r->len = calloc(frames, sizeof(int));
	r->dec = calloc((size_t)frames * r->frame + 256, sizeof(int16_t));
}

static void run_free(struct run *r)
{
	free(r->pkt);
	free(r->len);
	free(r->dec);
}

/* ---- quality ---- */

/* SNR with y delayed by the best lag in [lo, hi]. */
static double snr_at(const int16_t *x, const int16_t *y, size_t n, size_t lo, size_t hi, size_t skip, size_t *lag)
{
	double best = -1e9;

	for (size_t l = lo; l <= hi && l + skip < n; l++) {
		double sig = 0, err = 0;

		for (size_t i = skip; i + l < n; i++) {
			double a = x[i], b = y[i + l];

			sig += a * a;
			err += (a - b) * (a - b);
		}
		double s = err > 0 ? 10 * log10(sig / err) : 200;
		if (s > best) {
			best = s;
			*lag = l;
		}
	}
	return best;
}

struct quality {
	double snr, lsd;
	size_t lag;
	bool ok;
};

static struct quality measure(const int16_t *src, size_t n_src, const int16_t *y, size_t n_y, uint32_t rate)
{
	struct quality q = { 0 };
	size_t n = n_src < n_y ? n_src : n_y;

	if (n < rate)
		return q;
	q.snr = snr_at(src, y, n, 0, rate / 10, rate / 2, &q.lag);
	q.lsd = au_lsd(src, y, n, q.lag, rate / 50, rate / 2);
	q.ok = true;
	return q;
}

/* ---- Ogg Opus (RFC 7845) for the independent decoder ---- */

static uint32_t ogg_crc_table[256];

static void ogg_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t r = i << 24;

		for (int k = 0; k < 8; k++)
			r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
		ogg_crc_table[i] = r;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ogg_page(FILE *f, uint8_t type, uint64_t granule, uint32_t seq, const uint8_t *data, size_t len)
{
	uint8_t h[27 + 255];
	size_t segs = len / 255 + 1;
	uint32_t crc = 0;

	memcpy(h, "OggS", 4);
	h[4] = 0;
	h[5] = type;
	for (int i = 0; i < 8; i++)
		h[6 + i] = (uint8_t)(granule >> (8 * i));
	put32(h + 14, 0x6d656469u); /* serial */
	put32(h + 18, seq);
	put32(h + 22, 0);
	h[26] = (uint8_t)segs;
	for (size_t i = 0; i < segs; i++)
		h[27 + i] = i + 1 < segs ? 255 : (uint8_t)(len % 255);
	for (size_t i = 0; i < 27 + segs; i++)
		crc = (crc << 8) ^ ogg_crc_table[((crc >> 24) ^ h[i]) & 0xff];
	for (size_t i = 0; i < len; i++)
		crc = (crc << 8) ^ ogg_crc_table[((crc >> 24) ^ data[i]) & 0xff];
	put32(h + 22, crc);
	fwrite(h, 1, 27 + segs, f);
	fwrite(data, 1, len, f);
}

static int write_ogg(const char *path, const struct run *r)
{
	FILE *f = fopen(path, "wb");
	uint8_t head[19] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1, 0, 0 };
	uint8_t tags[8 + 4 + 6 + 4] = { 'O', 'p', 'u', 's', 'T', 'a', 'g', 's' };
	uint64_t granule = 0;
	uint32_t seq = 0;

	if (!f)
		return -errno;
	put32(head + 12, r->rate); /* input sample rate, informational; pre-skip 0: we align ourselves */
	ogg_page(f, 0x02, 0, seq++, head, sizeof(head));
	put32(tags + 8, 6);
	memcpy(tags + 12, "medius", 6);
	put32(tags + 18, 0);
	ogg_page(f, 0, 0, seq++, tags, sizeof(tags));
	for (size_t i = 0; i < r->frames; i++) {
		if (r->len[i] <= 0)
			continue;
		granule += 960; /* 20 ms in Opus's 48 kHz granule clock */
		ogg_page(f, i + 1 == r->frames ? 0x04 : 0, granule, seq++, r->pkt[i], (size_t)r->len[i]);
	}
	return fclose(f) ? -errno : 0;
}

/* Decode an Ogg Opus file with FFmpeg's native decoder; the result at the
 * source rate in *out. Returns samples, or -1. */
static long ffmpeg_decode(const char *ogg, const char *raw, uint32_t rate, int16_t **out)
{
	char cmd[2048];
	FILE *f;
	long n48 = 0, cap = 1 << 20, m;
	int16_t *pcm48 = malloc((size_t)cap * sizeof(int16_t));

	if (indep == INDEP_FFMPEG)
		snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y -c:a opus -i '%s' -f s16le -ac 1 -ar 48000 '%s'", ogg, raw);
	else /* the same FFmpeg decoder through GStreamer's libav plugin */
		snprintf(cmd, sizeof(cmd),
			 "gst-launch-1.0 -q filesrc location='%s' ! oggdemux ! opusparse ! avdec_opus ! audioconvert dithering=none ! "
			 "audioresample ! audio/x-raw,format=S16LE,channels=1,rate=48000 ! filesink location='%s' "
			 ">/dev/null 2>&1",
			 ogg, raw);
	unlink(raw);
	/* gst-launch may report an error on the last page after writing everything: judge by the output */
	if ((system(cmd) != 0 && indep == INDEP_FFMPEG) || !(f = fopen(raw, "rb"))) {
		free(pcm48);
		return -1;
	}
	while ((m = (long)fread(pcm48 + n48, sizeof(int16_t), (size_t)(cap - n48), f)) > 0) {
		n48 += m;
		if (n48 == cap)
			pcm48 = realloc(pcm48, (size_t)(cap *= 2) * sizeof(int16_t));
	}
	fclose(f);
	size_t on = (size_t)n48 * rate / 48000 + 16;
	*out = malloc(on * sizeof(int16_t));
	m = cdc_resample_buffer(pcm48, (size_t)n48, 48000, *out, on, rate, 10);
	free(pcm48);
	return m;
}

static enum indep find_independent(const char *want)
{
	if ((!want || !strcmp(want, "ffmpeg")) &&
	    system("ffmpeg -hide_banner -decoders 2>/dev/null | grep -q ' opus '") == 0)
		return INDEP_FFMPEG;
	if ((!want || !strcmp(want, "gst")) && system("gst-inspect-1.0 avdec_opus >/dev/null 2>&1") == 0)
		return INDEP_GST;
	return INDEP_NONE;
}

static bool have_valgrind(void)
{
	return system("valgrind --version >/dev/null 2>&1") == 0;
}

/* ---- callgrind: this program, one row, under valgrind ---- */

static const char *self_exe;
static const char *src_dir;

/* Instructions in bw_encode_all and in bw_decode_all, per frame. */
static bool callgrind_row(uint32_t rate, enum path p, int c, uint32_t bitrate, double *enc_ir, double *dec_ir)
{
	char cmd[3072], out[1024], line[512];
	double ir[2] = { 0, 0 };
	int got = 0;

	for (int part = 0; part < 2; part++) {
		FILE *f;

		snprintf(out, sizeof(out), "%s/cg.%u.%d.%d.%d", src_dir, rate, p, c, part);
		snprintf(cmd, sizeof(cmd),
			 "valgrind --tool=callgrind --callgrind-out-file=%s --collect-atstart=no "
			 "--toggle-collect=%s '%s' --one %u %d %d %u '%s' >/dev/null 2>&1",
			 out, part ? "bw_decode_all" : "bw_encode_all", self_exe, rate, (int)p, c, bitrate, src_dir);
		if (system(cmd) != 0 || !(f = fopen(out, "r")))
			return false;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8)) {
				ir[part] = strtod(strchr(line, ':') + 1, NULL);
				got++;
				break;
			}
		fclose(f);
		unlink(out);
	}
	*enc_ir = ir[0] / (CG_SECONDS * 50.0);
	*dec_ir = ir[1] / (CG_SECONDS * 50.0);
	return got == 2;
}

/* The child under callgrind: encode then decode CG_SECONDS of the source. */
static int one(int argc, char **argv)
{
	uint32_t rate, bitrate;
	int p, c;
	char path[512];
	struct run r;
	FILE *f;

	if (argc < 7)
		return 2;
	rate = (uint32_t)atoi(argv[2]);
	p = atoi(argv[3]);
	c = atoi(argv[4]);
	bitrate = (uint32_t)atoi(argv[5]);
	snprintf(path, sizeof(path), "%s/src.%u.raw", argv[6], rate);
	size_t n = (size_t)rate * CG_SECONDS;
	int16_t *src = calloc(n, sizeof(int16_t));
	if (!(f = fopen(path, "rb")) || fread(src, sizeof(int16_t), n, f) != n)
		return 1;
	fclose(f);
	run_init(&r, rate, CG_SECONDS * 50, (enum path)p, c, bitrate);
	bw_encode_all(&r, src);
	bw_decode_all(&r);
	run_free(&r);
	free(src);
	return 0;
}

/* ---- main ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct row {
	int complexity;
	enum path path;
	double enc_cyc, dec_cyc; /* per frame, median */
	double enc_ir, dec_ir;   /* per frame, callgrind; 0: not measured */
	double kbps;
	int bw_count[5];
	struct quality own, ff;
};

static void print_rows(const struct row *rows, int nrows, bool cg, bool ff)
{
	printf("%-4s %3s %10s %10s %10s %9s %9s %9s %7s %14s %7s %7s %7s %7s\n", "path", "c", "enc cyc", "dec cyc",
	       "cyc/frame", "enc Ir", "dec Ir", "Ir/frame", "kbit/s", "bandwidth", "SNR", "LSD", "ffSNR", "ffLSD");
	for (int i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		char bw[32] = "";
		static const char *names[] = { "NB", "MB", "WB", "SWB", "FB" };
		int total = 0;

		for (int k = 0; k < 5; k++)
			total += w->bw_count[k];
		for (int k = 0, first = 1; k < 5; k++)
			if (w->bw_count[k]) {
				size_t l = strlen(bw);

				snprintf(bw + l, sizeof(bw) - l, "%s%s%.0f", first ? "" : "/", names[k],
					 100.0 * w->bw_count[k] / total);
				first = 0;
			}
		printf("%-4s %3d %10.0f %10.0f %10.0f ", path_name[w->path], w->complexity, w->enc_cyc, w->dec_cyc,
		       w->enc_cyc + w->dec_cyc);
		if (cg)
			printf("%9.0f %9.0f %9.0f ", w->enc_ir, w->dec_ir, w->enc_ir + w->dec_ir);
		else
			printf("%9s %9s %9s ", "-", "-", "-");
		printf("%7.1f %14s %7.2f %7.2f ", w->kbps, bw, w->own.snr, w->own.lsd);
		if (ff && w->ff.ok)
			printf("%7.2f %7.2f\n", w->ff.snr, w->ff.lsd);
		else
			printf("%7s %7s\n", "-", "-");
	}
}

int main(int argc, char **argv)
{
	static const int quick[] = { 0, 1, 2, 3, 5, 8, 10 };
	static const struct {
		uint32_t rate;
		const char *codec, *name;
	} sources[] = { { 8000, "PCMU/8000", "PCMU (8 kHz)" }, { 16000, "G722/8000", "G.722 (16 kHz)" } };
	bool use_cg = true, use_ff = true, quick_only = false;
	const char *wav = NULL, *keep = NULL, *what = NULL, *want_dec = NULL;
	uint32_t bitrate = 0;
	int seconds = 12;
	char tmpl[] = "/tmp/perf_opus_bw.XXXXXX";
	int cs[11], ncs = 0, rule_pick = 0;

	if (argc > 1 && !strcmp(argv[1], "--one"))
		return one(argc, argv);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick_only = true;
		else if (!strcmp(argv[i], "--no-callgrind"))
			use_cg = false;
		else if (!strcmp(argv[i], "--no-ffmpeg"))
			use_ff = false;
		else if (!strcmp(argv[i], "--bitrate") && i + 1 < argc)
			bitrate = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--wav") && i + 1 < argc)
			wav = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--decoder") && i + 1 < argc)
			want_dec = argv[++i];
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--quick] [--no-callgrind] [--no-ffmpeg] [--bitrate BPS] "
					"[--wav FILE] [--seconds S] [--keep DIR] [--decoder ffmpeg|gst]\n", argv[0]);
			return 2;
		}
	}
	if (seconds < CG_SECONDS || seconds > MAX_SECONDS) {
		fprintf(stderr, "--seconds: %d to %d\n", CG_SECONDS, MAX_SECONDS);
		return 2;
	}
	if (quick_only)
		for (size_t i = 0; i < sizeof(quick) / sizeof(quick[0]); i++)
			cs[ncs++] = quick[i];
	else
		for (int c = 0; c <= 10; c++)
			cs[ncs++] = c;
	self_exe = realpath("/proc/self/exe", NULL);
	src_dir = keep ? keep : mkdtemp(tmpl);
	if (!src_dir || !self_exe) {
		perror("perf_opus_bw: work directory");
		return 1;
	}
	if (use_cg && !have_valgrind()) {
		printf("valgrind not found: no instruction counts\n");
		use_cg = false;
	}
	if (use_ff && (indep = find_independent(want_dec)) == INDEP_NONE) {
		printf("neither ffmpeg nor GStreamer's avdec_opus found: no independent decoding\n");
		use_ff = false;
	}
	if (use_ff)
		printf("independent decoder: FFmpeg's native Opus decoder, through %s\n\n",
		       indep == INDEP_FFMPEG ? "ffmpeg -c:a opus" : "gst-launch-1.0 ... avdec_opus");
	ogg_crc_init();

	for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
		uint32_t rate = sources[s].rate;
		size_t frames = (size_t)seconds * 50, n = frames * (rate / 50);
		int16_t *src = make_speech(wav, rate, n, &what);
		struct row rows[22];
		int nrows = 0;
		char path[600];
		FILE *f;

		through_codec(sources[s].codec, src, n);
		snprintf(path, sizeof(path), "%s/src.%u.raw", src_dir, rate);
		if ((f = fopen(path, "wb"))) {
			fwrite(src, sizeof(int16_t), n, f);
			fclose(f);
		}
		printf("== source: %s, %s through %s, %d s, 20 ms frames, Opus VOIP, bitrate %s\n", what,
		       sources[s].name, sources[s].codec, seconds, bitrate ? "fixed" : "the encoder's choice");
		if (bitrate)
			printf("   bitrate: %u bit/s for both paths\n", bitrate);
		printf("   new: encoder at %u Hz capped %s, decoder at %u Hz; old: speexdsp q3 to 48 kHz, encoder at 48 kHz\n"
		       "   (fullband allowed), decoder at 48 kHz, speexdsp q3 back to %u Hz\n",
		       rate, rate == 8000 ? "NB" : "WB", rate, rate);
		printf("   cycles: TSC per frame, median of %d interleaved rounds; Ir: callgrind instructions per frame over\n"
		       "   the first %d s; SNR/LSD dB against the source, decoded by libopus; ffSNR/ffLSD: decoded by FFmpeg's\n"
		       "   native decoder from an Ogg file (independent of libopus)\n\n",
		       ROUNDS, CG_SECONDS);
		for (int ci = 0; ci < ncs; ci++)
			for (int p = 0; p < 2; p++)
				rows[nrows++] = (struct row){ .complexity = cs[ci], .path = (enum path)p };
		/* cost: interleaved rounds; quality from the first */
		uint64_t (*ec)[ROUNDS] = calloc((size_t)nrows, sizeof(*ec)), (*dc)[ROUNDS] = calloc((size_t)nrows, sizeof(*dc));
		for (int round = 0; round < ROUNDS; round++)
			for (int i = 0; i < nrows; i++) {
				struct row *w = &rows[i];
				struct run r;

				run_init(&r, rate, frames, w->path, w->complexity, bitrate);
				bw_encode_all(&r, src);
				bw_decode_all(&r);
				ec[i][round] = r.enc_cyc;
				dc[i][round] = r.dec_cyc;
				if (round == 0) {
					size_t bytes = 0;

					for (size_t k = 0; k < frames; k++)
						if (r.len[k] > 0) {
							bytes += (size_t)r.len[k];
							w->bw_count[toc_bw(r.pkt[k][0])]++;
						}
					w->kbps = (double)bytes * 8 / seconds / 1000;
					w->own = measure(src, n, r.dec, r.dec_n, rate);
					if (use_ff) {
						char ogg[700], raw[700];
						int16_t *y = NULL;
						long m;

						snprintf(ogg, sizeof(ogg), "%s/%s.%u.c%d.opus", src_dir, path_name[w->path], rate,
							 w->complexity);
						snprintf(raw, sizeof(raw), "%s/%s.%u.c%d.ff48k.raw", src_dir,
							 path_name[w->path], rate, w->complexity);
						if (!write_ogg(ogg, &r) && (m = ffmpeg_decode(ogg, raw, rate, &y)) > 0)
							w->ff = measure(src, n, y, (size_t)m, rate);
						free(y);
						if (!keep) {
							unlink(ogg);
							unlink(raw);
						}
					}
				}
				run_free(&r);
			}
		for (int i = 0; i < nrows; i++) {
			qsort(ec[i], ROUNDS, sizeof(uint64_t), cmp_u64);
			qsort(dc[i], ROUNDS, sizeof(uint64_t), cmp_u64);
			rows[i].enc_cyc = (double)ec[i][ROUNDS / 2] / frames;
			rows[i].dec_cyc = (double)dc[i][ROUNDS / 2] / frames;
			if (use_cg && !callgrind_row(rate, rows[i].path, rows[i].complexity, bitrate, &rows[i].enc_ir,
						     &rows[i].dec_ir)) {
				printf("callgrind failed; no instruction counts\n");
				use_cg = false;
			}
		}
		free(ec);
		free(dc);
		print_rows(rows, nrows, use_cg, use_ff);

		/* the side-by-side summary: new against old at each complexity */
		printf("\nnew vs old, same complexity: cost ratio (callgrind Ir, TSC cycles), bitrate, quality difference\n");
		printf("%3s %9s %9s %12s %10s %10s\n", "c", "Ir new/old", "cyc new/old", "kbit/s n/o", "dLSD(ff)", "dSNR(ff)");
		for (int i = 0; i + 1 < nrows; i += 2) {
			const struct row *nw = &rows[i], *od = &rows[i + 1];
			const struct quality *qn = use_ff ? &nw->ff : &nw->own, *qo = use_ff ? &od->ff : &od->own;

			char ir[16] = "        -";

			if (use_cg)
				snprintf(ir, sizeof(ir), "%9.3f", (nw->enc_ir + nw->dec_ir) / (od->enc_ir + od->dec_ir));
			printf("%3d %s %9.3f %5.1f/%5.1f %+10.2f %+10.2f\n", nw->complexity, ir,
			       (nw->enc_cyc + nw->dec_cyc) / (od->enc_cyc + od->dec_cyc), nw->kbps, od->kbps,
			       qn->lsd - qo->lsd, qn->snr - qo->snr);
		}
		/* the default-complexity rule, on the new path */
		double best_lsd = 1e9, best_snr = -1e9;
		for (int i = 0; i < nrows; i += 2) {
			const struct quality *q = use_ff ? &rows[i].ff : &rows[i].own;

			best_lsd = q->lsd < best_lsd ? q->lsd : best_lsd;
			best_snr = q->snr > best_snr ? q->snr : best_snr;
		}
		for (int i = 0; i < nrows; i += 2) {
			const struct quality *q = use_ff ? &rows[i].ff : &rows[i].own;

			if (q->lsd <= best_lsd + RULE_LSD_DB && q->snr >= best_snr - RULE_SNR_DB) {
				printf("\nrule (new path, %s decoder): the lowest complexity within %.2f dB LSD and %.2f dB SNR "
				       "of the best row: %d\n",
				       use_ff ? "FFmpeg" : "libopus", RULE_LSD_DB, RULE_SNR_DB, rows[i].complexity);
				if (rows[i].complexity > rule_pick)
					rule_pick = rows[i].complexity;
				break;
			}
		}
		printf("\n");
		if (!keep) {
			unlink(path);
		}
		free(src);
	}
	printf("== the rule over both sources: complexity %d; medius's default (media.opus_complexity): %d\n", rule_pick,
	       cdc_opus_default_complexity());
	if (!keep)
		rmdir(src_dir);
	return 0;
}
