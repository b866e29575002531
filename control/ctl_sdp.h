/* SPDX-License-Identifier: MIT
 * ctl_sdp: SDP session descriptions (RFC 8866, formerly RFC 4566) as a model
 * that the ng offer/answer code parses, edits and writes back.
 *
 * Model. A struct ctl_sdp holds the session fields, the other session lines
 * (i u e p b t r z k), the session attributes and up to CTL_SDP_MAX_MEDIA
 * media sections. Every attribute keeps its name and raw value text, in
 * order, whatever it is; the ones medius understands also carry a parsed form
 * (rtpmap, fmtp, rtcp-fb, ptime, maxptime, rtcp, rtcp-mux, crypto, direction,
 * ICE, mid, setup, fingerprint). The raw text is what the writer emits, so
 * unknown attributes, unknown crypto suites and odd spacing inside values
 * survive unchanged. Lines are normalised in two ways only: trailing spaces
 * and tabs are dropped, and the fields of o=, c= and m= are re-joined with
 * single spaces. Other lines are kept in RFC order (sorted stably by type on
 * parse), so parse(write(x)) equals x.
 *
 * Strictness. RFC 8866 §5: a parser must ignore a description with a type
 * letter it does not understand; like rtpengine, medius rejects it (-EINVAL,
 * "unknown line type"). Rejected too: no v=0 first, no o= or s=, a line that
 * is not "x=", an empty line before the end, NUL or other control bytes
 * (tab excepted), duplicate v/o/s or c= in one section, session-only lines in
 * a media section, a malformed o/c/t/r/b/m line, a non-numeric address in c=
 * or a=rtcp (an FQDN is "unsupported"), a media section without c= when
 * there is none at session level, duplicate payload types, a malformed
 * rtpmap/fmtp/rtcp-fb/ptime/maxptime/rtcp/crypto in an RTP media section
 * (elsewhere those are kept as plain attributes), and the limits below.
 * Accepted: CRLF or LF endings (mixed too), no final newline, trailing empty
 * lines, an empty s=, no t= line (nothing is invented), lines in any order
 * within a section.
 *
 * Memory. Each parsed description owns a private chain of malloc'd blocks
 * (one for a typical SDP); every string and array of the model lives there
 * and is NUL-terminated. Edits allocate more from the same chain and never
 * free: replaced strings stay until ctl_sdp_free releases the whole
 * description. String fields are `const char *`: you may point one at any
 * string that outlives the model (a literal, or ctl_sdp_strdup). Prefer the
 * helpers, which keep the parsed forms and the m= list consistent.
 *
 * Threads: a description belongs to one thread; nothing here is global.
 * Control plane only: this module allocates.
 */
#ifndef CTL_SDP_H
#define CTL_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_sdes.h" /* struct dp_sdes (the dataplane's door) */
#include "ctl_val.h" /* struct ctl_buf */

struct cdc_format;

#define CTL_SDP_MAX_LEN 65536 /* bytes of SDP text accepted */
#define CTL_SDP_MAX_MEDIA 16  /* m= sections */
#define CTL_SDP_MAX_FMTS 64   /* formats (payload types) per m= */
#define CTL_SDP_MAX_ATTRS 256 /* a= lines per section (session or media) */
#define CTL_SDP_MAX_LINES 64  /* other lines (i u e p b t r z k) per section */

enum ctl_sdp_atype {
	CTL_SDP_A_OTHER, /* anything else, kept verbatim */
	CTL_SDP_A_RTPMAP,
	CTL_SDP_A_FMTP,
	CTL_SDP_A_RTCP_FB,
	CTL_SDP_A_PTIME,
	CTL_SDP_A_MAXPTIME,
	CTL_SDP_A_RTCP,
	CTL_SDP_A_RTCP_MUX,
	CTL_SDP_A_CRYPTO,
	CTL_SDP_A_DIRECTION, /* sendrecv, sendonly, recvonly, inactive */
	CTL_SDP_A_ICE_UFRAG, /* ICE (RFC 8839): from here to ICE_PACING */
	CTL_SDP_A_ICE_PWD,
	CTL_SDP_A_ICE_OPTIONS,
	CTL_SDP_A_ICE_LITE,
	CTL_SDP_A_CANDIDATE,
	CTL_SDP_A_END_OF_CANDIDATES,
	CTL_SDP_A_REMOTE_CANDIDATES,
	CTL_SDP_A_ICE_MISMATCH,
	CTL_SDP_A_ICE_PACING,
	CTL_SDP_A_MID,
	CTL_SDP_A_SETUP,       /* DTLS (RFC 4145/8842): kept as text */
	CTL_SDP_A_FINGERPRINT, /* DTLS (RFC 8122): kept as text */
};

static inline bool ctl_sdp_atype_is_ice(enum ctl_sdp_atype t)
{
	return t >= CTL_SDP_A_ICE_UFRAG && t <= CTL_SDP_A_ICE_PACING;
}

enum ctl_sdp_dir { CTL_SDP_SENDRECV, CTL_SDP_SENDONLY, CTL_SDP_RECVONLY, CTL_SDP_INACTIVE };

struct ctl_sdp_attr {
	enum ctl_sdp_atype type;
	const char *name;  /* as written: "rtpmap", "x-foo" */
	const char *value; /* after the first ':'; NULL when there is no ':' */
	union {
		struct {
			uint8_t pt;
			const char *encoding; /* "opus" */
			uint32_t clock;
			uint32_t channels; /* 0: not written */
		} rtpmap;
		struct {
			uint8_t pt;
			const char *params; /* the rest after the PT and its spaces; may be "" */
		} fmtp;
		struct {
			int pt; /* -1 for '*' */
			const char *params;
		} rtcp_fb;
		unsigned ptime; /* ptime and maxptime, in ms (a fraction is dropped) */
		struct {
			uint16_t port;
			const char *nettype, *addrtype, *addr; /* all NULL: port only */
		} rtcp;
		struct {
			uint32_t tag;
			const char *suite, *key_params;
			const char *session_params; /* NULL: none */
			const struct dp_sdes *sdes; /* NULL when ctl_sdes_parse refused the
						     * value (unknown suite, MKI, ...) */
		} crypto;
		enum ctl_sdp_dir dir;
	} u;
};

struct ctl_sdp_attrs {
	struct ctl_sdp_attr *v;
	unsigned n, cap;
};

/* A line other than v o s c m a, kept as text: type is 'i', 'b', 't', ... */
struct ctl_sdp_line {
	char type;
	const char *value;
};

struct ctl_sdp_lines {
	struct ctl_sdp_line *v;
	unsigned n, cap;
};

struct ctl_sdp_conn {
	bool present;
	const char *nettype;  /* "IN" */
	const char *addrtype; /* "IP4" or "IP6" */
	const char *addr;     /* numeric */
	const char *suffix;   /* multicast "/ttl[/count]" as written, or "" */
};

struct ctl_sdp_media {
	const char *type; /* "audio", "video", "application", ... */
	uint16_t port;
	uint16_t port_count; /* the "/n" after the port; 0 when not written */
	const char *proto;   /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", "udptl", ... */
	unsigned n_fmts;     /* at least 1 */
	const char *fmts[CTL_SDP_MAX_FMTS]; /* as written; payload types in RTP media */
	struct ctl_sdp_conn conn;           /* media-level c= */
	struct ctl_sdp_lines lines;         /* i= b= k= */
	struct ctl_sdp_attrs attrs;
};

struct ctl_sdp_origin {
	const char *username, *sess_id, *sess_version, *nettype, *addrtype, *addr;
};

struct ctl_sdp {
	struct ctl_sdp_origin origin;
	const char *name;           /* s=, possibly "" */
	struct ctl_sdp_conn conn;   /* session-level c= */
	struct ctl_sdp_lines lines; /* i u e p b t r z k, in RFC order */
	struct ctl_sdp_attrs attrs;
	unsigned n_media;
	struct ctl_sdp_media *media; /* n_media sections; pointers stay valid */
	struct ctl_sdp_mem *mem;     /* private: the blocks everything lives in */
};

/* ------------------------------------------------------------------ */
/* Parse, write, compare, free                                          */

/* Parse len bytes of SDP text (need not be NUL-terminated) into *out.
 * Returns 0 and fills *out (release with ctl_sdp_free); -EINVAL for text
 * this module does not accept (see the top of this file), with a message in
 * err (NUL-terminated, cut to errlen; err may be NULL) naming the line:
 * "line 7: bad port 'x' in m=";
 * -ENOMEM. *out is written only on success. */
int ctl_sdp_parse(const char *text, size_t len, struct ctl_sdp *out, char *err, size_t errlen);

/* Release everything of a parsed description and zero *s. Accepts NULL and
 * a zeroed or already freed description. */
void ctl_sdp_free(struct ctl_sdp *s);

/* Append s as SDP text to out: CRLF line endings, RFC 8866 order (v o s i u
 * e p c b t r z k a, then per media m i c b k a). Returns 0; -EINVAL when
 * the model cannot be written as valid SDP (a media section without formats
 * or more than the limits, a missing required field, a CR or LF inside a
 * value, an attribute name that is empty or not a token), or the buffer's
 * error (-ENOMEM, -E2BIG). On failure out->len is restored (a buffer error
 * stays recorded in out->err). */
int ctl_sdp_write(const struct ctl_sdp *s, struct ctl_buf *out);

/* True when a and b have the same fields, lines, attributes (type, name and
 * raw value) and media sections, in the same order. */
bool ctl_sdp_equal(const struct ctl_sdp *a, const struct ctl_sdp *b);

/* A copy of str in s's memory (lives until ctl_sdp_free); NULL on ENOMEM. */
const char *ctl_sdp_strdup(struct ctl_sdp *s, const char *str);

/* ------------------------------------------------------------------ */
/* Queries                                                              */

/* True when p[0..n) is a non-empty RFC 8866 token (attribute names,
 * encoding names, media types). */
bool ctl_sdp_is_token(const char *p, size_t n);

/* True when the media's transport is RTP-based (proto contains "RTP/"). */
bool ctl_sdp_media_is_rtp(const struct ctl_sdp_media *m);

/* The payload type of format i of m: 0..127; -1 in non-RTP media (formats
 * there are not payload types) or when i is out of range. */
int ctl_sdp_media_pt(const struct ctl_sdp_media *m, unsigned i);

/* Index of pt in m's format list, or -ENOENT. */
int ctl_sdp_media_pt_index(const struct ctl_sdp_media *m, unsigned pt);

/* The c= in force for m: its own, else the session's (present is false in
 * neither; never after a successful parse). */
const struct ctl_sdp_conn *ctl_sdp_media_conn(const struct ctl_sdp *s,
					      const struct ctl_sdp_media *m);

/* The direction in force for m: its own direction attribute, else the
 * session's, else sendrecv (RFC 3264 §5.1). m NULL: the session's. */
enum ctl_sdp_dir ctl_sdp_media_dir(const struct ctl_sdp *s, const struct ctl_sdp_media *m);

/* "sendrecv", "sendonly", "recvonly", "inactive" ("?" outside the enum). */
const char *ctl_sdp_dir_name(enum ctl_sdp_dir d);

/* Index of the first attribute of m (NULL: the session) at or after `from`
 * with this name (exact, case-sensitive) / type; -ENOENT when none. */
int ctl_sdp_attr_find(const struct ctl_sdp *s, const struct ctl_sdp_media *m, const char *name,
		      unsigned from);
int ctl_sdp_attr_find_type(const struct ctl_sdp *s, const struct ctl_sdp_media *m,
			   enum ctl_sdp_atype type, unsigned from);

/* True when m (or the session) carries a=fingerprint: DTLS-SRTP is offered. */
bool ctl_sdp_media_has_dtls(const struct ctl_sdp *s, const struct ctl_sdp_media *m);

/* A payload type's codec as the description states it. */
struct ctl_sdp_codec {
	uint8_t pt;
	const char *encoding; /* "PCMU", "opus" (model or static table memory) */
	uint32_t clock;
	uint32_t channels;    /* as written; 0 when not written */
	const char *fmtp;     /* params of the first a=fmtp for pt; NULL: none */
	bool is_static;       /* from the RFC 3551 table: no a=rtpmap for pt */
};

/* Look up pt in m: its a=rtpmap, else the RFC 3551 static assignment (0 PCMU,
 * 3 GSM, 4 G723, 8 PCMA, 9 G722, 13 CN, 18 G729, ...), and its a=fmtp.
 * Returns 0 and fills *out; -ENOENT when pt is not in m's format list;
 * -ENODATA when it has no a=rtpmap and no static assignment. */
int ctl_sdp_media_codec(const struct ctl_sdp_media *m, unsigned pt, struct ctl_sdp_codec *out);

/* The same, as a cdc_format (cdc_format_parse of the rtpmap and fmtp).
 * Returns 0; -ENOENT / -ENODATA as above; -ENOTSUP for a codec medius does
 * not implement; -EINVAL when codecs/ refuses the rate, channels or fmtp. */
int ctl_sdp_media_format(const struct ctl_sdp_media *m, unsigned pt, struct cdc_format *out);

/* True when pt's codec in m matches spec: "name", "name/clock" or
 * "name/clock/channels", the name case-insensitive, channels defaulting to
 * 1 when the rtpmap omits them. False when pt has no known codec. */
bool ctl_sdp_media_pt_matches(const struct ctl_sdp_media *m, unsigned pt, const char *spec);

/* ------------------------------------------------------------------ */
/* Attributes (m NULL: session level)                                   */

/* Insert a=name[:value] (value NULL: no ':') before index pos (pos >= n
 * appends); it is parsed like a parsed line, so a known attribute gets its
 * parsed form. Returns 0; -EINVAL for a name that is not a token, a value
 * with control characters, or (in RTP media) a malformed known attribute;
 * -E2BIG at CTL_SDP_MAX_ATTRS; -ENOMEM. */
int ctl_sdp_attr_insert(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pos,
			const char *name, const char *value);
/* ctl_sdp_attr_insert at the end. */
int ctl_sdp_attr_add(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *name,
		     const char *value);
/* Replace attribute idx with a=name[:value]. Returns 0; -ENOENT for a bad
 * idx; errors as ctl_sdp_attr_insert (the old attribute then stays). */
int ctl_sdp_attr_replace(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned idx,
			 const char *name, const char *value);
/* Remove attribute idx. Returns 0 or -ENOENT. */
int ctl_sdp_attr_delete(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned idx);
/* Remove every attribute with this name / type. Returns how many. */
int ctl_sdp_attr_remove(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *name);
int ctl_sdp_attr_remove_type(struct ctl_sdp *s, struct ctl_sdp_media *m, enum ctl_sdp_atype type);

/* ------------------------------------------------------------------ */
/* Edits for the ng code (ctl_sdp_edit.c, ctl_sdp_srtp.c, ctl_sdp_codec.c)  */

/* Addresses below are numeric IPv4 or IPv6; the address type (IP4/IP6)
 * follows the address. -EINVAL for anything else. */

/* o=: replace the address (and its type). Returns 0, -EINVAL, -ENOMEM. */
int ctl_sdp_set_origin_addr(struct ctl_sdp *s, const char *addr);
/* o=: add one to the session version (decimal, any length: "99" -> "100").
 * Returns 0; -EINVAL when the version is not all digits; -ENOMEM. */
int ctl_sdp_bump_version(struct ctl_sdp *s);
/* Session-level c=: set (adding it when absent) to "IN IP4|IP6 addr",
 * dropping any multicast suffix. Returns 0, -EINVAL, -ENOMEM. */
int ctl_sdp_set_session_conn(struct ctl_sdp *s, const char *addr);
/* Media-level c= and m= port: addr NULL keeps the c= as it is; otherwise
 * the media gets its own c= with addr. Returns 0, -EINVAL, -ENOMEM. */
int ctl_sdp_media_set_conn(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *addr,
			   uint16_t port);
/* a=rtcp (RFC 3605): "a=rtcp:port", or with addr "a=rtcp:port IN IP4 addr".
 * Replaces the first a=rtcp in place (removing any others) or appends one.
 * Returns 0, -EINVAL, -E2BIG, -ENOMEM. */
int ctl_sdp_media_set_rtcp(struct ctl_sdp *s, struct ctl_sdp_media *m, uint16_t port,
			   const char *addr);
/* Remove every a=rtcp. Returns how many. */
int ctl_sdp_media_remove_rtcp(struct ctl_sdp *s, struct ctl_sdp_media *m);
/* a=rtcp-mux (RFC 5761): on adds one when absent (and, with drop_rtcp,
 * removes a=rtcp lines); off removes every one. Returns 0, -E2BIG, -ENOMEM. */
int ctl_sdp_media_set_rtcp_mux(struct ctl_sdp *s, struct ctl_sdp_media *m, bool on,
			       bool drop_rtcp);

/* Reject m as a port-0 section that names no address: port 0, its own c=
 * dropped (a session-level c= then covers it), every ICE attribute and
 * candidate, a=rtcp and a=crypto removed. Returns 0. */
int ctl_sdp_media_reject(struct ctl_sdp *s, struct ctl_sdp_media *m);

/* Does s expose only the addresses in ours[0..n) (numeric IPv4/IPv6; the
 * unspecified 0.0.0.0 and :: of a hold are allowed too)? Checked: the
 * session c=, the o= address when `origin` (medius replaced it), every
 * media c= and a=rtcp address; no ICE attribute or candidate anywhere; a
 * port-0 section has no c=, no address in a=rtcp and no a=crypto; a live
 * section without its own c= needs a session c=. Returns 0, or -EPERM with
 * what failed in why (cut to why_len; why may be NULL). */
int ctl_sdp_check_addresses(const struct ctl_sdp *s, const char *const *ours, unsigned n, bool origin,
			    char *why, size_t why_len);

/* Set m's transport protocol to any token. Returns 0, -EINVAL, -ENOMEM. */
int ctl_sdp_media_set_proto(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *proto);
/* To SDES-SRTP: RTP/AVP -> RTP/SAVP, RTP/AVPF -> RTP/SAVPF (also with a
 * TCP/ prefix), UDP/TLS/RTP/SAVP[F] -> RTP/SAVP[F]; RTP/SAVP[F] stays. Every
 * a=crypto is replaced by keys[0..n) (ctl_sdes_format), appended at the end.
 * Returns 0; -EINVAL for non-RTP media, an RTP profile other than AVP/SAVP
 * or keys that do not format; -E2BIG; -ENOMEM. Nothing changes on -EINVAL
 * or -E2BIG (on -ENOMEM some crypto lines may be missing). */
int ctl_sdp_media_to_srtp(struct ctl_sdp *s, struct ctl_sdp_media *m,
			  const struct dp_sdes *keys, unsigned n);
/* To plain RTP: RTP/SAVP -> RTP/AVP, RTP/SAVPF -> RTP/AVPF, UDP/TLS/RTP/SAVP[F]
 * -> RTP/AVP[F]; every a=crypto removed (DTLS attributes are not touched).
 * Returns 0; -EINVAL for non-RTP media; -ENOMEM. */
int ctl_sdp_media_to_rtp(struct ctl_sdp *s, struct ctl_sdp_media *m);
/* Append one a=crypto from k. Returns 0, -EINVAL (k does not format),
 * -E2BIG, -ENOMEM. */
int ctl_sdp_media_add_crypto(struct ctl_sdp *s, struct ctl_sdp_media *m, const struct dp_sdes *k);

/* Remove every ICE attribute (ice-ufrag, ice-pwd, ice-options, ice-lite,
 * ice-mismatch, ice-pacing, candidate, end-of-candidates, remote-candidates)
 * at session and media level. Returns how many. */
int ctl_sdp_remove_ice(struct ctl_sdp *s);

/* Set m's direction (m NULL: the session's): the first direction attribute
 * is replaced in place and any others removed, or one is appended.
 * Returns 0, -EINVAL (dir outside the enum), -E2BIG, -ENOMEM. */
int ctl_sdp_media_set_dir(struct ctl_sdp *s, struct ctl_sdp_media *m, enum ctl_sdp_dir dir);
/* a=ptime:ms, replacing in place or appending; ms 0 removes every a=ptime.
 * Returns 0, -EINVAL (ms > 100000), -E2BIG, -ENOMEM. */
int ctl_sdp_media_set_ptime(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned ms);

/* Codec lists. Removing a payload type also removes its a=rtpmap, a=fmtp and
 * a=rtcp-fb lines (a=rtcp-fb:* stays). An edit that would leave the m= line
 * without formats fails with -EINVAL and changes nothing. All of them need
 * RTP media (-EINVAL otherwise). */

/* Remove pt. Returns 0, -ENOENT (not listed), -EINVAL. */
int ctl_sdp_media_remove_pt(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pt);
/* Remove every payload type whose codec matches spec (see
 * ctl_sdp_media_pt_matches). Returns how many (0 when none), -EINVAL. */
int ctl_sdp_media_remove_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *spec);
/* Keep only the payload types matching one of specs[0..n) / listed in
 * pts[0..n). Returns how many were removed, or -EINVAL. */
int ctl_sdp_media_keep_codecs(struct ctl_sdp *s, struct ctl_sdp_media *m,
			      const char *const specs[], unsigned n);
int ctl_sdp_media_keep_pts(struct ctl_sdp *s, struct ctl_sdp_media *m, const uint8_t pts[],
			   unsigned n);
/* Add pt with a=rtpmap:pt <rtpmap> (NULL: none, for a static PT) and
 * a=fmtp:pt <fmtp> (NULL: none), at the front or the end of the m= list.
 * The new attributes go before the first / after the last existing
 * rtpmap, fmtp or rtcp-fb attribute (or at the end when there are none);
 * stale rtpmap/fmtp/rtcp-fb lines for pt are removed first. Returns 0;
 * -EEXIST (pt listed already); -EINVAL (pt > 127, rtpmap not
 * "name/clock[/channels]", non-RTP media); -E2BIG; -ENOMEM. */
int ctl_sdp_media_add_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, unsigned pt,
			    const char *rtpmap, const char *fmtp, bool front);
/* Move the listed payload types to the front, in the order given (ones not
 * in m are skipped); the others keep their order after them. Returns 0,
 * -EINVAL (non-RTP media). */
int ctl_sdp_media_reorder(struct ctl_sdp *s, struct ctl_sdp_media *m, const uint8_t pts[],
			  unsigned n);
/* Move every payload type matching spec to the front, keeping their order.
 * Returns how many, -EINVAL. */
int ctl_sdp_media_prefer_codec(struct ctl_sdp *s, struct ctl_sdp_media *m, const char *spec);

#endif
