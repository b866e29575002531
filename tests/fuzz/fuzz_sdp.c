/* SPDX-License-Identifier: MIT
 * libFuzzer target for control/ctl_sdp.
 *
 * Any input must parse or fail cleanly with a message. What parses must
 * write, and the written text must parse to an equal model whose own text is
 * byte-identical (write(parse(write(parse(x)))) == write(parse(x))). Then a
 * selection of edit helpers, chosen by a hash of the input, runs on the
 * model; whatever they return, the model must still write, and that text
 * must round-trip the same way. Queries run on every payload type.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc.h"
#include "ctl_sdp.h"

static struct ctl_buf w1, w2;

/* write s into b, parse it back, require equality and identical re-output */
static void check_round_trip(const struct ctl_sdp *s, struct ctl_buf *b)
{
	struct ctl_sdp t;
	char err[160];

	ctl_buf_clear(b);
	if (ctl_sdp_write(s, b))
		__builtin_trap();
	if (ctl_sdp_parse(b->p, b->len, &t, err, sizeof(err)))
		__builtin_trap();
	if (!ctl_sdp_equal(s, &t))
		__builtin_trap();
	ctl_buf_clear(&w2);
	if (ctl_sdp_write(&t, &w2) || w2.len != b->len || memcmp(w2.p, b->p, b->len))
		__builtin_trap();
	ctl_sdp_free(&t);
}

static void queries(const struct ctl_sdp *s)
{
	for (unsigned i = 0; i < s->n_media; i++) {
		const struct ctl_sdp_media *m = &s->media[i];

		(void)ctl_sdp_media_dir(s, m);
		(void)ctl_sdp_media_has_dtls(s, m);
		if (!ctl_sdp_media_conn(s, m)->present)
			__builtin_trap();
		for (unsigned j = 0; j < m->n_fmts; j++) {
			int pt = ctl_sdp_media_pt(m, j);
			struct ctl_sdp_codec c;
			struct cdc_format f;

			if (pt < 0) {
				if (ctl_sdp_media_is_rtp(m))
					__builtin_trap();
				continue;
			}
			if (ctl_sdp_media_pt_index(m, (unsigned)pt) != (int)j)
				__builtin_trap();
			if (ctl_sdp_media_codec(m, (unsigned)pt, &c) == 0 &&
			    !ctl_sdp_media_pt_matches(m, (unsigned)pt, c.encoding))
				__builtin_trap();
			(void)ctl_sdp_media_format(m, (unsigned)pt, &f);
		}
	}
}

static void edits(struct ctl_sdp *s, uint32_t h)
{
	static const char *const keep[] = { "PCMU", "opus/48000/2", "telephone-event" };
	static const uint8_t order[] = { 8, 0, 101, 96 };
	struct dp_sdes k = { .tag = 1, .suite = DP_SRTP_AES_CM_128_HMAC_SHA1_80, .key_salt_len = 30 };

	if (h & 1)
		(void)ctl_sdp_set_origin_addr(s, "203.0.113.1");
	if (h & 2)
		(void)ctl_sdp_bump_version(s);
	if (h & 4)
		(void)ctl_sdp_set_session_conn(s, (h & 8) ? "2001:db8::1" : "198.51.100.2");
	if (h & 16)
		(void)ctl_sdp_remove_ice(s);
	if (h & 32)
		(void)ctl_sdp_media_set_dir(s, NULL, (enum ctl_sdp_dir)((h >> 6) & 3));
	for (unsigned i = 0; i < s->n_media; i++) {
		struct ctl_sdp_media *m = &s->media[i];
		uint32_t g = h >> (i % 8);

		(void)ctl_sdp_media_set_conn(s, m, (g & 1) ? "10.0.0.1" : NULL, (uint16_t)(40000 + 2 * i));
		if (g & 2)
			(void)ctl_sdp_media_set_rtcp(s, m, (uint16_t)(40001 + 2 * i), (g & 4) ? "::1" : NULL);
		if (g & 8)
			(void)ctl_sdp_media_set_rtcp_mux(s, m, (g & 16) != 0, (g & 32) != 0);
		if (g & 64)
			(void)ctl_sdp_media_to_srtp(s, m, &k, 1);
		else if (g & 128)
			(void)ctl_sdp_media_to_rtp(s, m);
		if (g & 256)
			(void)ctl_sdp_media_set_dir(s, m, (enum ctl_sdp_dir)((g >> 9) & 3));
		if (g & 2048)
			(void)ctl_sdp_media_set_ptime(s, m, (g & 4096) ? 0 : 20);
		if (g & 8192)
			(void)ctl_sdp_media_remove_codec(s, m, (g & 16384) ? "PCMA" : "telephone-event/8000");
		if (g & 32768)
			(void)ctl_sdp_media_keep_codecs(s, m, keep, 3);
		if (g & 65536)
			(void)ctl_sdp_media_add_codec(s, m, 101, "telephone-event/8000", "0-16",
						      (g & 131072) != 0);
		if (g & 262144)
			(void)ctl_sdp_media_reorder(s, m, order, 4);
		if (g & 524288)
			(void)ctl_sdp_media_prefer_codec(s, m, "opus");
		if ((g & 1048576) && m->n_fmts) {
			int pt = ctl_sdp_media_pt(m, m->n_fmts - 1);

			if (pt >= 0)
				(void)ctl_sdp_media_remove_pt(s, m, (unsigned)pt);
		}
		if (g & 2097152)
			(void)ctl_sdp_attr_add(s, m, "x-medius", "fuzz");
		if ((g & 4194304) && m->attrs.n)
			(void)ctl_sdp_attr_delete(s, m, 0);
		if (m->n_fmts == 0)
			__builtin_trap(); /* the helpers never empty an m= line */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_sdp s;
	char err[160];
	uint32_t h = 2166136261u;
	int rc;

	err[0] = 'x';
	rc = ctl_sdp_parse((const char *)data, size, &s, err, sizeof(err));
	if (rc) {
		if ((rc != -EINVAL && rc != -ENOMEM) || !memchr(err, '\0', sizeof(err)) || !err[0])
			__builtin_trap();
		return 0;
	}
	check_round_trip(&s, &w1);
	queries(&s);
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	edits(&s, h);
	queries(&s);
	check_round_trip(&s, &w1);
	ctl_sdp_free(&s);
	return 0;
}
