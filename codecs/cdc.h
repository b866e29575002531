/* SPDX-License-Identifier: MIT
 * codecs/: the codec and DSP library's public door (prefix cdc_).
 *
 * Formats (what SDP names), stateful decoders and encoders behind one
 * interface, G.711 with SIMD variants, resampling, DTMF (in-band and
 * RFC 4733) and transcode chains. PCM is signed 16-bit, interleaved when
 * stereo. Nothing here allocates after _create, locks or logs: every call
 * below _create may run on a media lcore.
 */
#ifndef CDC_H
#define CDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Formats                                                              */

enum cdc_codec {
	CDC_PCMU,
	CDC_PCMA,
	CDC_G722,
	CDC_OPUS,
	CDC_L16,
	CDC_TELEPHONE_EVENT, /* RFC 4733 */
	CDC_CN,              /* RFC 3389 comfort noise */
	CDC_CODEC_COUNT
};

/* Opus fmtp parameters (RFC 7587) we honour. */
struct cdc_opus_fmtp {
	uint32_t maxplaybackrate;   /* Hz; default 48000 */
	uint32_t maxaveragebitrate; /* bit/s; 0: encoder's choice */
	bool stereo;                /* receiver wants stereo; default mono */
	bool sprop_stereo;          /* sender may send stereo */
	bool useinbandfec;
	bool usedtx;
	bool cbr;
};

struct cdc_format {
	enum cdc_codec codec;
	uint32_t clock_rate;  /* RTP timestamp rate, as in the rtpmap (G.722: 8000) */
	uint32_t sample_rate; /* PCM rate decoders produce and encoders take (G.722: 16000) */
	uint8_t channels;     /* channels in the rtpmap (opus: always 2) */
	uint8_t pcm_channels; /* channels of the PCM (opus: 2 only when stereo=1) */
	int16_t static_pt;    /* RFC 3551 static payload type, or -1 */
	struct cdc_opus_fmtp opus;
};

/* Fill out from an rtpmap encoding ("PCMU/8000", "opus/48000/2",
 * "G722/8000", "L16/16000/1", "telephone-event/8000", "CN/8000"; names are
 * case-insensitive) and an optional fmtp string ("useinbandfec=1; stereo=0";
 * NULL or "" for none). Unknown fmtp parameters are ignored. Returns 0;
 * -ENOENT for a codec medius does not support; -EINVAL for a malformed
 * string or an unsupported rate or channel count. */
int cdc_format_parse(const char *rtpmap, const char *fmtp, struct cdc_format *out);
/* The format of a static payload type (0 PCMU, 8 PCMA, 9 G722, 13 CN, and
 * 10/11 L16 44.1 kHz are not supported). Returns 0 or -ENOENT. */
int cdc_format_from_static_pt(unsigned pt, struct cdc_format *out);
/* Write the rtpmap encoding ("opus/48000/2") / the fmtp line ("" when none)
 * into buf. Return the length, or -ENOSPC. */
int cdc_format_rtpmap(const struct cdc_format *f, char *buf, size_t len);
int cdc_format_fmtp(const struct cdc_format *f, char *buf, size_t len);
/* SDP encoding name of a codec ("PCMU", "opus", ...). */
const char *cdc_codec_name(enum cdc_codec c);
/* True when two formats can be relayed without transcoding. */
bool cdc_format_compatible(const struct cdc_format *a, const struct cdc_format *b);

/* Samples per channel in one frame of ptime_ms at the PCM rate, and the
 * RTP timestamp increment for it. */
static inline uint32_t cdc_frame_samples(const struct cdc_format *f, unsigned ptime_ms)
{
	return f->sample_rate / 1000u * ptime_ms;
}
static inline uint32_t cdc_frame_ts(const struct cdc_format *f, unsigned ptime_ms)
{
	return f->clock_rate / 1000u * ptime_ms;
}

/* Frame durations medius accepts on any audio codec. */
static inline bool cdc_ptime_valid(unsigned ptime_ms)
{
	return ptime_ms == 10 || ptime_ms == 20 || ptime_ms == 30 || ptime_ms == 40 || ptime_ms == 60;
}

/* ------------------------------------------------------------------ */
/* Decoders and encoders                                                */

struct cdc_dec;
struct cdc_enc;

/* A decoder for an audio format (not telephone-event or CN). NULL for an
 * unsupported format (errno EINVAL or ENOTSUP) or no memory (errno
 * ENOMEM). */
struct cdc_dec *cdc_dec_create(const struct cdc_format *f);
/* Free; accepts NULL. */
void cdc_dec_destroy(struct cdc_dec *d);
/* Decode one payload into pcm (room for max_samples per channel). Returns
 * the samples per channel written; -EINVAL for a corrupt payload (nothing
 * written; the caller conceals); -ENOSPC when max_samples is too small. */
int cdc_decode(struct cdc_dec *d, const uint8_t *payload, size_t len, int16_t *pcm,
	       size_t max_samples);
/* Conceal `samples` lost samples per channel (Opus PLC; SpanDSP PLC for
 * G.711 and G.722; silence for L16). Returns samples written or -ENOSPC. */
int cdc_dec_conceal(struct cdc_dec *d, int16_t *pcm, size_t samples);
/* Recover a lost frame of `samples` from the packet that followed it (Opus
 * in-band FEC); falls back to concealment when the packet carries none or
 * the codec has no FEC. Returns samples written. */
int cdc_dec_recover(struct cdc_dec *d, const uint8_t *next, size_t len, int16_t *pcm,
		    size_t samples);

enum cdc_opus_app { CDC_OPUS_VOIP, CDC_OPUS_AUDIO, CDC_OPUS_LOWDELAY };

/* Encoder settings; zero-initialised means "defaults". */
struct cdc_enc_opts {
	int complexity;  /* Opus 0..10; 0 here means the default (CDC_OPUS_DEFAULT_COMPLEXITY); use -1 for 0 */
	uint32_t bitrate; /* Opus bit/s; 0: maxaveragebitrate or the encoder default */
	int fec;         /* Opus in-band FEC: 1 on, -1 off, 0 from fmtp */
	int dtx;         /* Opus DTX: 1 on, -1 off, 0 from fmtp */
	uint8_t packet_loss_pct; /* expected loss, tunes Opus FEC */
	enum cdc_opus_app app;   /* default VOIP */
};

/* The Opus complexity used when none is asked for; docs/codecs.md has the
 * measurement behind it. */
#define CDC_OPUS_DEFAULT_COMPLEXITY 5
/* Set (0..10, at start-up, before encoders are made: [media]
 * opus_complexity) or read the complexity that encoders asked for none
 * get. Returns 0 or -EINVAL. */
int cdc_opus_set_default_complexity(int complexity);
int cdc_opus_default_complexity(void);

/* An encoder for an audio format. NULL for an unsupported format, bad
 * options or no memory. */
struct cdc_enc *cdc_enc_create(const struct cdc_format *f, const struct cdc_enc_opts *o);
void cdc_enc_destroy(struct cdc_enc *e);
/* Encode one frame of `samples` per channel (a valid ptime's worth) into
 * out. Returns the payload length (Opus DTX may return 1-2 bytes); -EINVAL
 * for a frame size the codec cannot take; -ENOSPC when out is too small. */
int cdc_encode(struct cdc_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
	       size_t max_len);
/* An Opus encoder's bandwidth cap as audio bandwidth in Hz (4000 NB, 6000
 * MB, 8000 WB, 12000 SWB, 20000 FB): the narrower of what its input rate
 * holds and the receiver's maxplaybackrate. 0 for other codecs. */
int cdc_enc_opus_bandwidth_hz(const struct cdc_enc *e);

/* ------------------------------------------------------------------ */
/* G.711 with run-time selected SIMD (scalar reference, AVX2, AVX-512)    */

enum cdc_isa { CDC_ISA_SCALAR, CDC_ISA_AVX2, CDC_ISA_AVX512 };

struct cdc_g711_ops {
	void (*ulaw_encode)(const int16_t *in, uint8_t *out, size_t n);
	void (*ulaw_decode)(const uint8_t *in, int16_t *out, size_t n);
	void (*alaw_encode)(const int16_t *in, uint8_t *out, size_t n);
	void (*alaw_decode)(const uint8_t *in, int16_t *out, size_t n);
};

/* The best variant this CPU has, capped at `max` (for tests and to rule
 * out a variant in production: MEDIUS_ISA=scalar|avx2|avx512 in the
 * environment caps the initial choice). Returns the variant now in force. */
enum cdc_isa cdc_isa_select(enum cdc_isa max);
enum cdc_isa cdc_isa_active(void);
/* Does this CPU (and the OS, for the wide registers) have the variant?
 * Other folders' SIMD kernels (mixer/'s mix) use the same dispatch. */
bool cdc_isa_supported(enum cdc_isa isa);
const char *cdc_isa_name(enum cdc_isa isa);
/* A given variant's functions; NULL when this CPU lacks it. */
const struct cdc_g711_ops *cdc_g711_ops(enum cdc_isa isa);
/* The variant in force. Bit-exact with SpanDSP's G.711 for every input. */
void cdc_ulaw_encode(const int16_t *in, uint8_t *out, size_t n);
void cdc_ulaw_decode(const uint8_t *in, int16_t *out, size_t n);
void cdc_alaw_encode(const int16_t *in, uint8_t *out, size_t n);
void cdc_alaw_decode(const uint8_t *in, int16_t *out, size_t n);

/* ------------------------------------------------------------------ */
/* Resampling (libspeexdsp)                                             */

struct cdc_resampler;

/* A resampler between any of 8, 16, 24, 32 and 48 kHz, quality 0..10
 * (speexdsp; CDC_RESAMPLE_DEFAULT_QUALITY when negative). Equal rates give
 * a pass-through that copies. NULL for other rates or no memory. */
struct cdc_resampler *cdc_resampler_create(uint32_t in_rate, uint32_t out_rate,
					   unsigned channels, int quality);
#define CDC_RESAMPLE_DEFAULT_QUALITY 3
void cdc_resampler_destroy(struct cdc_resampler *r);
/* Resample in_samples per channel; returns samples per channel written
 * (in_samples * out_rate / in_rate, give or take the filter's phase), or
 * -ENOSPC when max_out is too small for that. */
int cdc_resample(struct cdc_resampler *r, const int16_t *in, size_t in_samples, int16_t *out,
		 size_t max_out);
/* Resample a whole mono buffer at once (a media file, off the workers):
 * any rates from 1 to 384 kHz, quality as above. The filter's delay is
 * taken out and its tail flushed, so out gets exactly
 * round(n * out_rate / in_rate) samples, aligned with in. Returns that
 * count, -ENOSPC when max_out is smaller, -EINVAL for bad rates, -ENOMEM. */
long cdc_resample_buffer(const int16_t *in, size_t n, uint32_t in_rate, int16_t *out, size_t max_out,
			 uint32_t out_rate, int quality);

/* ------------------------------------------------------------------ */
/* DTMF: RFC 4733 events and in-band tones                              */

/* One RFC 4733 telephone-event payload (4 bytes on the wire). */
struct cdc_te {
	uint8_t event;     /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D' */
	bool end;          /* E bit */
	uint8_t volume;    /* 0..63, in -dBm0 */
	uint16_t duration; /* in RTP clock units since the event began */
};

/* Parse a telephone-event payload. Returns 0; -EINVAL when shorter than 4
 * bytes; -ENOTSUP for events other than the 16 DTMF ones (RFC 4733 allows
 * 0-255). Bytes after the first 4 (redundant events) are ignored. */
int cdc_te_parse(const uint8_t *p, size_t len, struct cdc_te *out);
/* Write te as 4 bytes. */
void cdc_te_write(const struct cdc_te *te, uint8_t out[4]);
/* '0'-'9', '*', '#', 'A'-'D' for events 0-15; 0 otherwise. */
char cdc_dtmf_digit(uint8_t event);
/* The event for a digit (case-insensitive 'a'-'d' too), or -EINVAL. */
int cdc_dtmf_event(char digit);

/* The RFC 4733 packet sequence for one event, on caller memory: the first
 * packet (RTP marker set), a continuation every step, then the final
 * duration three times with the E bit. Every packet of the event carries
 * the same RTP timestamp (the event's start); durations are in RTP clock
 * units and never exceed 0xffff (longer events are cut at that). */
struct cdc_te_sender {
	uint8_t event, volume;
	uint32_t total, step, sent; /* duration, step, duration reported so far */
	uint8_t ends_left;
	bool started;
};
void cdc_te_sender_start(struct cdc_te_sender *s, uint8_t event, uint32_t duration_ts,
			 uint32_t step_ts, uint8_t volume);
/* The next packet: returns 1 with *te and *marker set, 0 when the event is
 * complete (3 end packets sent). */
int cdc_te_sender_next(struct cdc_te_sender *s, struct cdc_te *te, bool *marker);

/* In-band DTMF detection (SpanDSP dtmf_rx) on 8 kHz PCM. */
struct cdc_dtmf_det;
struct cdc_dtmf_hit {
	uint8_t event;
	bool end;                  /* false: the tone began; true: it ended */
	uint64_t at_sample;        /* sample index (since create) of the begin/end */
	uint32_t duration_samples; /* for an end: how long the tone lasted */
};
struct cdc_dtmf_det *cdc_dtmf_det_create(void);
void cdc_dtmf_det_destroy(struct cdc_dtmf_det *d);
/* Feed n samples; returns the number of begin/end hits written to hits, at
 * most max; hits beyond max wait for the next call (up to 32 queue). A
 * begin is reported 24-36 ms after the tone starts (SpanDSP's block), with
 * at_sample corrected to within about 7 ms of the true start. */
int cdc_dtmf_detect(struct cdc_dtmf_det *d, const int16_t *pcm, size_t n,
		    struct cdc_dtmf_hit *hits, size_t max);

/* In-band DTMF generation at 8, 16, 24, 32 or 48 kHz. */
struct cdc_dtmf_gen;
struct cdc_dtmf_gen *cdc_dtmf_gen_create(uint32_t sample_rate);
void cdc_dtmf_gen_destroy(struct cdc_dtmf_gen *g);
/* Queue a tone: event, duration, level per tone in dBm0 (e.g. -10; at most
 * -63; above about -2.86 dBm0 per tone it is capped so that the two tones'
 * sum cannot clip). Replaces any tone in progress; duration 0 stops it.
 * Returns 0 or -EINVAL. */
int cdc_dtmf_gen_start(struct cdc_dtmf_gen *g, uint8_t event, uint32_t duration_ms,
		       int level_dbm0);
/* Write the next n samples of the tone over pcm (samples past the tone's
 * end are left untouched). Returns the number of tone samples written. */
size_t cdc_dtmf_gen_fill(struct cdc_dtmf_gen *g, int16_t *pcm, size_t n);
bool cdc_dtmf_gen_active(const struct cdc_dtmf_gen *g);

/* ------------------------------------------------------------------ */
/* Transcode chains: decoder -> resampler -> encoder, with DTMF and CN    */

/* What happens to DTMF between the two sides. */
enum cdc_dtmf_mode {
	CDC_DTMF_PASS,         /* telephone-event both sides: forwarded, PT and clock mapped */
	CDC_DTMF_TO_INBAND,    /* events in, none out: played as tones into the audio */
	CDC_DTMF_FROM_INBAND,  /* none in, events out: tones detected, sent as events, audio muted */
	CDC_DTMF_DROP,         /* events in, none out, and no tones wanted */
};

struct cdc_chain_conf {
	struct cdc_format in, out; /* the audio codecs of the two sides */
	uint8_t in_pt, out_pt;     /* their RTP payload types */
	unsigned out_ptime;        /* ms per outgoing packet (a cdc_ptime_valid value) */
	int in_te_pt, out_te_pt;   /* telephone-event payload types, -1 for none */
	int in_cn_pt, out_cn_pt;   /* CN payload types, -1 for none */
	enum cdc_dtmf_mode dtmf;
	struct cdc_enc_opts enc;
	int resample_quality;      /* speexdsp 0..10; negative: default */
};

#define CDC_PKT_MAX 2048   /* largest payload a chain emits */
#define CDC_CHAIN_MAX_OUT 40 /* packets one cdc_chain_push may emit, at most */
#define CDC_CHAIN_MAX_FILL_MS 200 /* longer gaps are not filled: the stream resyncs */

struct cdc_pkt {
	uint8_t pt;
	bool marker;
	uint32_t ts;  /* RTP timestamp, out clock, starting at 0 */
	uint16_t len;
	uint8_t payload[CDC_PKT_MAX];
};

struct cdc_chain_stats {
	uint64_t in_packets, out_packets;
	uint64_t decode_errors;  /* corrupt payloads (concealed) */
	uint64_t late;           /* older than what was already played: dropped */
	uint64_t concealed_ms;   /* gaps filled by PLC/FEC or comfort noise */
	uint64_t resyncs;        /* gaps too long to fill */
	uint64_t unknown_pt;     /* payload types the chain was not set up for */
	uint64_t dtmf_events;    /* digits converted either way */
	uint64_t dtmf_played;    /* events injected by cdc_chain_play_dtmf, once complete */
	uint64_t dtmf_masked_ms;     /* audio replaced by the DTMF mask (silence or tone) */
	uint64_t dtmf_masked_digits; /* in-band digits the DTMF mask found */
	uint64_t dtmf_masked_events; /* RFC 4733 events dropped by the DTMF mask */
	uint64_t dtmf_mask_starts;   /* times the DTMF mask went on (each adds its delay) */
};

struct cdc_chain;

/* A chain for one direction of one leg pair. NULL on an unsupported
 * combination (bad ptime, a payload that would not fit CDC_PKT_MAX, a DTMF
 * mode the PTs cannot serve) or no memory. Everything is allocated here. */
struct cdc_chain *cdc_chain_create(const struct cdc_chain_conf *c);
void cdc_chain_destroy(struct cdc_chain *ch);
/* Feed one received RTP payload, in arrival order, with its PT, timestamp
 * (in clock) and marker. Gaps in the timestamps are concealed (Opus FEC from
 * this very packet where it has some; comfort noise after a CN packet; PLC
 * otherwise) up to CDC_CHAIN_MAX_FILL_MS; an RFC 4733 event played as a
 * tone (CDC_DTMF_TO_INBAND) advances at most as far per packet, whatever
 * duration the packet claims; packets older than what was
 * already played are dropped. Writes up to CDC_CHAIN_MAX_OUT packets into
 * out (which must have room for them) and returns how many; returns 0 for a
 * dropped packet (the reason is counted in the stats), unless the push
 * also releases the audio a DTMF mask held (cdc_chain_set_dtmf_mask). */
int cdc_chain_push(struct cdc_chain *ch, uint8_t pt, uint32_t ts, bool marker,
		   const uint8_t *payload, size_t len, struct cdc_pkt *out);
void cdc_chain_get_stats(const struct cdc_chain *ch, struct cdc_chain_stats *st);

/* Where the audio a chain's PCM tap sees came from. */
enum cdc_pcm_kind {
	CDC_PCM_DECODED,       /* a received payload, decoded */
	CDC_PCM_CONCEALED,     /* a gap or a corrupt payload, filled by PLC */
	CDC_PCM_RECOVERED,     /* a lost frame rebuilt from the next packet's FEC (Opus) */
	CDC_PCM_COMFORT_NOISE, /* a silence after a CN packet */
	CDC_PCM_TONE,          /* a received RFC 4733 event played as an in-band tone */
};
/* fn(ctx, pcm, samples, kind): `samples` per channel of the chain's decoded
 * PCM (cdc_chain_pcm_rate), in order, with no gap: every sample that goes
 * on towards the encoder, before the DTMF mask and resampling (in-band
 * tones the FROM_INBAND mode detects are already muted). Runs inside
 * cdc_chain_push, on its thread; pcm is valid during the call only. */
typedef void (*cdc_pcm_tap_fn)(void *ctx, const int16_t *pcm, size_t samples, enum cdc_pcm_kind kind);
/* Set (fn non-NULL) or clear the chain's PCM tap; from the pushing thread,
 * or before the chain is shared. */
void cdc_chain_set_pcm_tap(struct cdc_chain *ch, cdc_pcm_tap_fn fn, void *ctx);
/* The rate of the PCM the chain decodes to, and its channels. */
uint32_t cdc_chain_pcm_rate(const struct cdc_chain *ch, unsigned *channels);

/* What a chain (or a half) was built as, for tests and introspection. */
struct cdc_chain_info {
	uint32_t dec_rate;      /* the rate the decoder runs at (the decode half's PCM before conversion) */
	uint32_t enc_rate;      /* the rate the encoder runs at */
	unsigned resamplers;    /* sample-rate converters in the audio path: 0 when the rates match */
	int opus_bandwidth_hz;  /* the Opus encoder's cap (cdc_enc_opus_bandwidth_hz), 0 if not Opus */
};
/* Fill out for a chain; the halves fill their side's fields (dec_rate or
 * enc_rate, opus_bandwidth_hz) and add their resamplers to out->resamplers,
 * so zero out first and call both for a pair of halves. */
void cdc_chain_get_info(const struct cdc_chain *ch, struct cdc_chain_info *out);

/* Make the chain's output carry DTMF event (0-15) for duration_ms
 * (10-5000) at volume (-dBm0; above 63 counts as 63), starting with the
 * next frame the chain emits (ng "play DTMF" on a transcoded stream). With
 * an out telephone-event PT the event goes out as RFC 4733 packets in place
 * of the audio of the frames it covers: the first with the marker, one per
 * frame with the duration growing by a frame up to the whole (cut at 0xffff
 * clock units), then three end packets right after the last, all with the
 * RTP timestamp of the frame where it starts. Without one, the audio of
 * those frames is replaced by the in-band tone (-volume dBm0 per tone)
 * before encoding. Either way the incoming audio of the covered frames is
 * suppressed, and RFC 4733 events passing through meanwhile are dropped.
 * The event rides on the input: nothing plays until cdc_chain_push runs.
 *
 * One of the two calls meant for another thread than the chain's: one
 * thread may call it (and no other chain function but cdc_chain_playing
 * and cdc_chain_set_dtmf_mask) while another runs cdc_chain_push; the request is handed over through a
 * lock-free single-slot mailbox that the pushing thread takes at the start
 * of its next push. Returns 0; -EBUSY while an earlier event is still
 * pending or playing; -EINVAL for a bad event or duration. */
int cdc_chain_play_dtmf(struct cdc_chain *ch, uint8_t event, uint32_t duration_ms, uint8_t volume);
/* True from a successful cdc_chain_play_dtmf until its event's last packet
 * has been emitted; for the thread that calls cdc_chain_play_dtmf. */
bool cdc_chain_playing(const struct cdc_chain *ch);

/* In-band DTMF masking (rtpengine's "block DTMF" with DTMF-security
 * silence or tone): what replaces the digits. */
enum cdc_dtmf_mask {
	CDC_DTMF_MASK_OFF,
	CDC_DTMF_MASK_SILENCE,
	CDC_DTMF_MASK_TONE,
};

/* The look-ahead a masking chain delays its audio by. SpanDSP reports a
 * digit 24-38 ms after it starts, with a start stamp 30 ms before the
 * report (measured: codecs/cdc_chain_mask.c, docs/codecs.md); the delay
 * lets the replacement start 15 ms before that stamp. */
#define CDC_DTMF_MASK_DELAY_MS 50
#define CDC_DTMF_MASK_FREQ_DEFAULT 400 /* Hz, as rtpengine's DTMF-security tone */
#define CDC_DTMF_MASK_TONE_DBM0 (-20)  /* the tone's level: a sine peaking at 2277 */

/* Mask in-band DTMF in the chain's output: with SILENCE or TONE, digits
 * that SpanDSP detects in the decoded audio (any DTMF mode) are replaced,
 * from 15 ms before their detected start to 20 ms after their detected end
 * with 2 ms ramps at the edges, by silence or by a sine of freq_hz at
 * CDC_DTMF_MASK_TONE_DBM0, before resampling and encoding. To cover each
 * digit from its first sample, a masking chain delays its audio by
 * CDC_DTMF_MASK_DELAY_MS: turning masking on inserts that much silence into
 * the output (timestamps run on unbroken, so the far side hears the audio
 * 50 ms later from then on); turning it off releases the held 50 ms with
 * the next push (those packets go out at once, timestamps still unbroken),
 * so no audio is lost or repeated either way. While masking, RFC 4733
 * events arriving are dropped (not forwarded, not played as tones; an
 * event being forwarded or played when masking starts is cut off) and
 * tones found in FROM_INBAND mode are not sent as events (one being sent
 * is ended at once). Events injected by cdc_chain_play_dtmf still play.
 * Not masked: digits SpanDSP misses: some under 36 ms (none under 22 ms is
 * found; receivers need only take 40 ms and more, ITU-T Q.24), weak ones
 * under loud speech; and when masking goes off, a digit still in the line
 * whose report had not come yet, and whatever follows. With OFF the chain
 * is exactly as if never masked (after the release above).
 *
 * freq_hz (100-4000, 0 for CDC_DTMF_MASK_FREQ_DEFAULT) is checked and used
 * only with TONE; the tone is generated at the decoder's rate, so on an
 * 8 kHz chain 4000 Hz is its Nyquist frequency and comes out silent.
 *
 * Like cdc_chain_play_dtmf, meant for another thread than the pusher's (one
 * thread at a time calls it; any number of times, the latest wins): the
 * setting is handed over in one atomic word that cdc_chain_push reads at
 * its start, so it takes effect with the next push. Returns 0; -EINVAL for
 * a NULL chain, an unknown mode or a TONE frequency out of range. */
int cdc_chain_set_dtmf_mask(struct cdc_chain *ch, enum cdc_dtmf_mask mode, unsigned freq_hz);

/* ------------------------------------------------------------------ */
/* The two halves of a chain: what a media endpoint hears and says      */

/* A decode half (cdc_src) turns one received stream into PCM and tells
 * its consumer what is not audio as events; an encode half (cdc_sink)
 * turns PCM (and a decode half's events) into packets. A cdc_chain is one
 * of each, joined; mixer/'s endpoints use them apart (a conference joins
 * N of each through a mix). Threads as for the chain: one thread pushes
 * and writes; cdc_sink_play_dtmf/_playing and cdc_src_set_dtmf_mask are
 * for another. */

enum cdc_ev_kind {
	CDC_EV_TE,         /* PASS: an RFC 4733 packet to forward (te as received; marker) */
	CDC_EV_TONE_BEGIN, /* FROM_INBAND: an in-band digit began (te.event); its audio is muted */
	CDC_EV_TONE_END,   /* FROM_INBAND: it ended, dur_8k samples at 8 kHz long */
	CDC_EV_CN,         /* a CN packet came (level, -dBov) */
	CDC_EV_RESYNC,     /* a gap too long to fill: `gap` input-clock ticks skipped */
	CDC_EV_MASK_ON,    /* DTMF masking went on: a digit being sent as an event ends now */
};

struct cdc_ev {
	enum cdc_ev_kind kind;
	bool marker;
	struct cdc_te te;
	uint8_t level;
	uint32_t dur_8k;
	uint32_t gap;
	/* Where it falls: `ahead` input-clock ticks plus `held` samples at
	 * dec_rate (audio the DTMF mask holds back) past the PCM handed on so
	 * far; clock is the input's RTP clock rate. */
	int32_t ahead;
	uint32_t held;
	uint32_t clock, dec_rate;
};

/* Where a decode half's output goes, called from within cdc_src_push and
 * cdc_src_fill_to: pcm() with `samples` per channel at the half's out_rate
 * (valid during the call only), event() in order with it. busy(), which
 * may be NULL, tells the half its consumer is sending an injected DTMF
 * event: RFC 4733 events to forward and newly detected digits are then
 * dropped, as a cdc_chain does. */
struct cdc_src_out {
	void (*pcm)(void *ctx, const int16_t *pcm, size_t samples);
	void (*event)(void *ctx, const struct cdc_ev *ev);
	bool (*busy)(void *ctx);
	void *ctx;
};

struct cdc_src_conf {
	struct cdc_format in;      /* the audio codec received */
	uint8_t in_pt;
	int in_te_pt, in_cn_pt;    /* -1 for none */
	enum cdc_dtmf_mode dtmf;   /* PASS: events reported; TO_INBAND: played as tones into
				    * the PCM; FROM_INBAND: in-band digits reported and muted;
				    * DROP: events dropped */
	uint32_t out_rate;         /* PCM rate handed on (8, 16, 24, 32 or 48 kHz) */
	unsigned out_channels;     /* 1 or 2 */
	int resample_quality;
};

struct cdc_src;
/* NULL for an unsupported combination (errno EINVAL) or no memory (errno
 * ENOMEM: the control plane tells "Out of memory" from a bad request). */
struct cdc_src *cdc_src_create(const struct cdc_src_conf *c, const struct cdc_src_out *o);
void cdc_src_destroy(struct cdc_src *s);
/* One received payload, in play-out order (a jitter buffer's or arrival's),
 * as cdc_chain_push: gaps before it are filled or resynced, older audio is
 * dropped (late). */
void cdc_src_push(struct cdc_src *s, uint8_t pt, uint32_t ts, bool marker, const uint8_t *payload,
		  size_t len);
/* The media clock says input up to timestamp ts should have been heard:
 * fill what is missing before it (PLC, or comfort noise after CN) now,
 * without waiting for the packet after the gap, in whole frames of the
 * last packet's duration, up to CDC_CHAIN_MAX_FILL_MS in a row; after that
 * the half pauses (nothing more is filled) and the next packet resyncs.
 * Nothing happens before the first packet, while paused, or during an
 * RFC 4733 event. Returns 1 when something was filled (cdc_src_started
 * then tells where the input timeline is). */
int cdc_src_fill_to(struct cdc_src *s, uint32_t ts);
/* The sender started a new stream (a new SSRC, or its numbering or
 * timestamps jumped): forget the input timeline, so its packets are not
 * taken for late ones; the consumer gets a CDC_EV_RESYNC with gap 0. */
void cdc_src_restart(struct cdc_src *s);
/* True once audio came and the half is not paused; *next_ts (may be NULL)
 * is the input timestamp just past what it handed on. */
bool cdc_src_started(const struct cdc_src *s, uint32_t *next_ts);
/* Fills the decode side's counters of st (in_packets, decode_errors, late,
 * concealed_ms, resyncs, unknown_pt, dtmf_events, dtmf_masked_*,
 * dtmf_mask_starts); the rest of st is kept. */
void cdc_src_get_stats(const struct cdc_src *s, struct cdc_chain_stats *st);
void cdc_src_set_pcm_tap(struct cdc_src *s, cdc_pcm_tap_fn fn, void *ctx);
uint32_t cdc_src_pcm_rate(const struct cdc_src *s, unsigned *channels);
int cdc_src_set_dtmf_mask(struct cdc_src *s, enum cdc_dtmf_mask mode, unsigned freq_hz);

struct cdc_sink_conf {
	struct cdc_format out;     /* the audio codec sent */
	uint8_t out_pt;
	unsigned out_ptime;
	int out_te_pt, out_cn_pt;  /* -1 for none */
	struct cdc_enc_opts enc;
	uint32_t in_rate;          /* PCM rate written (Opus encodes at it where it can) */
	unsigned in_channels;      /* 1 or 2 */
	bool dtmf_from_inband;     /* detected digits (CDC_EV_TONE_*) go out as events */
	int resample_quality;
};

struct cdc_sink;
/* NULL for an unsupported combination (errno EINVAL) or no memory (errno
 * ENOMEM). */
struct cdc_sink *cdc_sink_create(const struct cdc_sink_conf *c);
void cdc_sink_destroy(struct cdc_sink *k);
/* Write `samples` per channel of PCM; whole frames are encoded into out
 * from index nout on (room for CDC_CHAIN_MAX_OUT in all). Returns the new
 * count. Timestamps are in the out clock from 0, as cdc_chain's. */
int cdc_sink_write(struct cdc_sink *k, const int16_t *pcm, size_t samples, struct cdc_pkt *out, int nout);
/* A decode half's event, placed after the PCM written so far. */
int cdc_sink_event(struct cdc_sink *k, const struct cdc_ev *ev, struct cdc_pkt *out, int nout);
/* Take a pending cdc_sink_play_dtmf request (call before each write). */
void cdc_sink_take_requests(struct cdc_sink *k);
/* True while an injected event is pending or playing (for cdc_src_out.busy). */
bool cdc_sink_busy(const struct cdc_sink *k);
/* How many frames of the audio it missed an encoder should be given
 * again (encoded, not sent) before it takes over a stream another encoder
 * of the same settings made, so the receiver's decoder state still fits:
 * 2 for G.722, 0 for the others (stateless, or Opus: measured no better). */
unsigned cdc_sink_prime_frames(const struct cdc_sink *k);
/* PCM samples per channel (at in_rate) in one outgoing frame. */
uint32_t cdc_sink_frame_samples(const struct cdc_sink *k);
/* As cdc_chain_play_dtmf / cdc_chain_playing. */
int cdc_sink_play_dtmf(struct cdc_sink *k, uint8_t event, uint32_t duration_ms, uint8_t volume);
bool cdc_sink_playing(const struct cdc_sink *k);
/* Sets out_packets and dtmf_played of st. */
void cdc_sink_get_stats(const struct cdc_sink *k, struct cdc_chain_stats *st);
/* See cdc_chain_get_info. */
void cdc_src_get_info(const struct cdc_src *s, struct cdc_chain_info *out);
void cdc_sink_get_info(const struct cdc_sink *k, struct cdc_chain_info *out);

/* The two halves' settings for chain conf c, and the PCM rate between
 * them (what cdc_chain_create builds). Returns 0 or -EINVAL. */
int cdc_chain_split(const struct cdc_chain_conf *c, struct cdc_src_conf *sc, struct cdc_sink_conf *kc);
uint32_t cdc_chain_enc_rate(const struct cdc_chain_conf *c);

#endif
