/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_sdp: real offers from sipp, Kamailio-fronted
 * phones (Linphone, Asterisk, FreeSWITCH), SDES-SRTP and WebRTC; round
 * trips; every edit helper against exact output; every error class. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc.h"
#include "ctl_sdp.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */

/* LF -> CRLF, so expectations can be written as plain literals. */
static char *crlf(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *o = malloc(2 * n + 1);

	cr_assert_not_null(o);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[k++] = '\r';
		o[k++] = s[i];
	}
	o[k] = '\0';
	return o;
}

static void parse_ok(const char *text, struct ctl_sdp *s)
{
	char err[256];
	int rc = ctl_sdp_parse(text, strlen(text), s, err, sizeof(err));

	cr_assert_eq(rc, 0, "parse failed (%d): %s\n%s", rc, err, text);
}

/* Write s and return the text (caller frees). */
static char *write_str(const struct ctl_sdp *s)
{
	struct ctl_buf b = { 0 };
	char *r;
	int rc = ctl_sdp_write(s, &b);

	cr_assert_eq(rc, 0, "write failed: %d", rc);
	r = strndup(b.p, b.len);
	ctl_buf_free(&b);
	return r;
}

/* The written form of s must be exactly `expected` (LF in the literal). */
static void expect_text(const struct ctl_sdp *s, const char *expected)
{
	char *got = write_str(s), *want = crlf(expected);

	cr_assert_str_eq(got, want, "\n--- got ---\n%s--- want ---\n%s", got, want);
	free(got);
	free(want);
}

/* parse -> write -> parse gives an equal model, and writing that again
 * gives the same bytes. Returns the first written text (caller frees). */
static char *round_trip(const char *text)
{
	struct ctl_sdp a, b;
	char *w1, *w2;

	parse_ok(text, &a);
	w1 = write_str(&a);
	parse_ok(w1, &b);
	cr_assert(ctl_sdp_equal(&a, &b), "round trip differs:\n%s", w1);
	w2 = write_str(&b);
	cr_assert_str_eq(w1, w2);
	free(w2);
	ctl_sdp_free(&a);
	ctl_sdp_free(&b);
	return w1;
}

/* Parse must fail with -EINVAL and a message containing `want`. */
static void parse_bad_n(const char *text, size_t len, const char *want)
{
	struct ctl_sdp s;
	char err[256];
	int rc;

	memset(&s, 0xa5, sizeof(s));
	rc = ctl_sdp_parse(text, len, &s, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "expected -EINVAL, got %d for:\n%.300s", rc, text);
	cr_assert(strstr(err, want), "error '%s' does not contain '%s'", err, want);
	/* out-parameter untouched on failure */
	cr_assert_eq(((unsigned char *)&s)[0], 0xa5);
	cr_assert_eq(((unsigned char *)&s)[sizeof(s) - 1], 0xa5);
}

static void parse_bad(const char *text, const char *want)
{
	parse_bad_n(text, strlen(text), want);
}

/* ------------------------------------------------------------------ */
/* Real-world descriptions                                              */

/* sipp's built-in uac scenario SDP with [local_ip]=127.0.0.1,
 * [local_ip_type]=4, [auto_media_port]=6000 */
static const char sipp_uac[] = "v=0\r\n"
			       "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
			       "s=-\r\n"
			       "c=IN IP4 127.0.0.1\r\n"
			       "t=0 0\r\n"
			       "m=audio 6000 RTP/AVP 0\r\n"
			       "a=rtpmap:0 PCMU/8000\r\n";

static const char linphone[] = "v=0\n"
			       "o=alice 1234 5678 IN IP4 192.168.1.10\n"
			       "s=Talk\n"
			       "c=IN IP4 192.168.1.10\n"
			       "t=0 0\n"
			       "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n"
			       "m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100\n"
			       "a=rtpmap:96 opus/48000/2\n"
			       "a=fmtp:96 useinbandfec=1\n"
			       "a=rtpmap:97 speex/16000\n"
			       "a=fmtp:97 vbr=on\n"
			       "a=rtpmap:98 speex/8000\n"
			       "a=fmtp:98 vbr=on\n"
			       "a=rtpmap:101 telephone-event/48000\n"
			       "a=rtpmap:99 telephone-event/16000\n"
			       "a=rtpmap:100 telephone-event/8000\n"
			       "a=rtcp:7079\n"
			       "a=rtcp-fb:* trr-int 1000\n"
			       "a=rtcp-fb:* ccm tmmbr\n"
			       "m=video 9078 RTP/AVP 96\n"
			       "a=rtpmap:96 VP8/90000\n"
			       "a=rtcp-fb:* trr-int 1000\n"
			       "a=rtcp-fb:96 nack pli\n"
			       "a=rtcp-fb:96 ccm fir\n";

static const char asterisk[] = "v=0\r\n"
			       "o=- 1888331839 1888331839 IN IP4 10.0.0.5\r\n"
			       "s=Asterisk\r\n"
			       "c=IN IP4 10.0.0.5\r\n"
			       "t=0 0\r\n"
			       "m=audio 14518 RTP/AVP 0 8 3 101\r\n"
			       "a=rtpmap:0 PCMU/8000\r\n"
			       "a=rtpmap:8 PCMA/8000\r\n"
			       "a=rtpmap:3 GSM/8000\r\n"
			       "a=rtpmap:101 telephone-event/8000\r\n"
			       "a=fmtp:101 0-16\r\n"
			       "a=ptime:20\r\n"
			       "a=maxptime:150\r\n"
			       "a=sendrecv\r\n";

static const char freeswitch[] = "v=0\r\n"
				 "o=FreeSWITCH 1700000000 1700000001 IN IP4 203.0.113.7\r\n"
				 "s=FreeSWITCH\r\n"
				 "c=IN IP4 203.0.113.7\r\n"
				 "t=0 0\r\n"
				 "m=audio 23456 RTP/AVP 9 0 8 101 13\r\n"
				 "a=rtpmap:101 telephone-event/8000\r\n"
				 "a=fmtp:101 0-16\r\n"
				 "a=ptime:20\r\n"
				 "a=sendonly\r\n"
				 "a=rtcp:23457 IN IP4 203.0.113.7\r\n";

static const char sdes[] =
	"v=0\r\n"
	"o=- 3912345 3912345 IN IP4 198.51.100.20\r\n"
	"s=SIP Call\r\n"
	"c=IN IP4 198.51.100.20\r\n"
	"t=0 0\r\n"
	"m=audio 40000 RTP/SAVP 8 0 101\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n"
	"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20\r\n"
	"a=crypto:3 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4 FEC_ORDER=FEC_SRTP\r\n"
	"a=ptime:20\r\n";

#define FP "sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:5E"
static const char webrtc[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0 1 2\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS stream1\r\n"
	"a=ice-options:trickle\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\r\n"
	"a=candidate:1467250027 2 udp 2122260222 192.168.0.196 56280 typ host generation 0\r\n"
	"a=end-of-candidates\r\n"
	"a=ice-ufrag:Oyef7uvBlwafI3hT\r\n"
	"a=ice-pwd:T0teqPLNQQOf+5W+ls+P2p16\r\n"
	"a=fingerprint:" FP "\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=sendrecv\r\n"
	"a=msid:stream1 track1\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=rtcp-fb:111 transport-cc\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:13 CN/8000\r\n"
	"a=rtpmap:110 telephone-event/48000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=ssrc:3510681183 cname:wdG2vXcBPnpK6Jj4\r\n"
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Oyef7uvBlwafI3hT\r\n"
	"a=ice-pwd:T0teqPLNQQOf+5W+ls+P2p16\r\n"
	"a=fingerprint:" FP "\r\n"
	"a=setup:actpass\r\n"
	"a=mid:1\r\n"
	"a=sendrecv\r\n"
	"a=rtcp-mux\r\n"
	"a=rtcp-rsize\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=rtcp-fb:96 goog-remb\r\n"
	"a=rtcp-fb:96 nack\r\n"
	"a=rtcp-fb:96 nack pli\r\n"
	"a=rtpmap:97 rtx/90000\r\n"
	"a=fmtp:97 apt=96\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Oyef7uvBlwafI3hT\r\n"
	"a=ice-pwd:T0teqPLNQQOf+5W+ls+P2p16\r\n"
	"a=fingerprint:" FP "\r\n"
	"a=setup:actpass\r\n"
	"a=mid:2\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* RFC 4566 §5 example, extended with every session line type */
static const char rfc4566[] = "v=0\r\n"
			      "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
			      "s=SDP Seminar\r\n"
			      "i=A Seminar on the session description protocol\r\n"
			      "u=http://www.example.com/seminars/sdp.pdf\r\n"
			      "e=j.doe@example.com (Jane Doe)\r\n"
			      "p=+1 617 555-6011\r\n"
			      "c=IN IP4 224.2.17.12/127\r\n"
			      "b=CT:1000\r\n"
			      "t=2873397496 2873404696\r\n"
			      "r=604800 3600 0 90000\r\n"
			      "t=0 0\r\n"
			      "z=2882844526 -1h 2898848070 0\r\n"
			      "k=prompt\r\n"
			      "a=recvonly\r\n"
			      "m=audio 49170 RTP/AVP 0\r\n"
			      "i=voice\r\n"
			      "m=video 51372/2 RTP/AVP 99\r\n"
			      "c=IN IP6 2001:db8::2\r\n"
			      "b=AS:512\r\n"
			      "k=prompt\r\n"
			      "a=rtpmap:99 h263-1998/90000\r\n"
			      "m=image 4000 udptl t38\r\n"
			      "c=IN IP4 10.47.16.5\r\n"
			      "a=T38FaxVersion:0\r\n"
			      "a=T38FaxRateManagement:transferredTCF\r\n";

static const char *const real_sdps[] = { sipp_uac, linphone, asterisk, freeswitch,
					 sdes,     webrtc,   rfc4566 };

TestSuite(sdp);

Test(sdp, real_round_trips)
{
	for (size_t i = 0; i < sizeof(real_sdps) / sizeof(real_sdps[0]); i++)
		free(round_trip(real_sdps[i]));
}

Test(sdp, sipp_exact_text_and_fields)
{
	struct ctl_sdp s;

	parse_ok(sipp_uac, &s);
	cr_assert_str_eq(s.origin.username, "user1");
	cr_assert_str_eq(s.origin.sess_id, "53655765");
	cr_assert_str_eq(s.origin.sess_version, "2353687637");
	cr_assert_str_eq(s.origin.addrtype, "IP4");
	cr_assert_str_eq(s.origin.addr, "127.0.0.1");
	cr_assert_str_eq(s.name, "-");
	cr_assert(s.conn.present);
	cr_assert_str_eq(s.conn.addr, "127.0.0.1");
	cr_assert_eq(s.lines.n, 1);
	cr_assert_eq(s.lines.v[0].type, 't');
	cr_assert_eq(s.n_media, 1);
	cr_assert_str_eq(s.media[0].type, "audio");
	cr_assert_eq(s.media[0].port, 6000);
	cr_assert_str_eq(s.media[0].proto, "RTP/AVP");
	cr_assert_eq(s.media[0].n_fmts, 1);
	cr_assert_eq(ctl_sdp_media_pt(&s.media[0], 0), 0);
	cr_assert_eq(s.media[0].attrs.v[0].type, CTL_SDP_A_RTPMAP);
	cr_assert_str_eq(s.media[0].attrs.v[0].u.rtpmap.encoding, "PCMU");
	cr_assert_eq(s.media[0].attrs.v[0].u.rtpmap.clock, 8000);
	cr_assert_eq(s.media[0].attrs.v[0].u.rtpmap.channels, 0);
	/* already canonical: written back byte for byte */
	{
		char *w = write_str(&s);

		cr_assert_str_eq(w, sipp_uac);
		free(w);
	}
	ctl_sdp_free(&s);
	ctl_sdp_free(&s); /* second free is harmless */
}

Test(sdp, sipp_ipv6)
{
	struct ctl_sdp s;

	parse_ok("v=0\r\no=user1 53655765 2353687637 IN IP6 ::1\r\ns=-\r\n"
		 "c=IN IP6 ::1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		 &s);
	cr_assert_str_eq(s.conn.addrtype, "IP6");
	cr_assert_str_eq(s.conn.addr, "::1");
	ctl_sdp_free(&s);
}

Test(sdp, linphone_fields)
{
	struct ctl_sdp s;
	const struct ctl_sdp_media *a, *v;
	struct ctl_sdp_codec c;

	parse_ok(linphone, &s);
	cr_assert_eq(s.n_media, 2);
	a = &s.media[0];
	v = &s.media[1];
	/* session attribute whose value contains ':' */
	cr_assert_str_eq(s.attrs.v[0].name, "rtcp-xr");
	cr_assert_str_eq(s.attrs.v[0].value, "rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics");
	cr_assert_eq(a->n_fmts, 8);
	cr_assert_eq(ctl_sdp_media_pt(a, 5), 101);
	cr_assert_eq(ctl_sdp_media_codec(a, 96, &c), 0);
	cr_assert_str_eq(c.encoding, "opus");
	cr_assert_eq(c.clock, 48000);
	cr_assert_eq(c.channels, 2);
	cr_assert_str_eq(c.fmtp, "useinbandfec=1");
	cr_assert_not(c.is_static);
	cr_assert_eq(ctl_sdp_media_codec(a, 8, &c), 0);
	cr_assert_str_eq(c.encoding, "PCMA");
	cr_assert(c.is_static);
	cr_assert_null(c.fmtp);
	cr_assert_eq(ctl_sdp_media_codec(a, 9, &c), -ENOENT);
	{
		int i = ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_RTCP, 0);

		cr_assert_geq(i, 0);
		cr_assert_eq(a->attrs.v[i].u.rtcp.port, 7079);
		cr_assert_null(a->attrs.v[i].u.rtcp.addr);
		i = ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_RTCP_FB, 0);
		cr_assert_eq(a->attrs.v[i].u.rtcp_fb.pt, -1);
		cr_assert_str_eq(a->attrs.v[i].u.rtcp_fb.params, "trr-int 1000");
		i = ctl_sdp_attr_find_type(&s, v, CTL_SDP_A_RTCP_FB, 2);
		cr_assert_eq(v->attrs.v[i].u.rtcp_fb.pt, 96);
	}
	/* same PT means different codecs in different sections */
	cr_assert_eq(ctl_sdp_media_codec(v, 96, &c), 0);
	cr_assert_str_eq(c.encoding, "VP8");
	cr_assert_eq(ctl_sdp_media_dir(&s, a), CTL_SDP_SENDRECV);
	ctl_sdp_free(&s);
}

Test(sdp, asterisk_freeswitch_fields)
{
	struct ctl_sdp s;
	struct cdc_format f;
	const struct ctl_sdp_media *m;
	int i;

	parse_ok(asterisk, &s);
	m = &s.media[0];
	i = ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_PTIME, 0);
	cr_assert_eq(m->attrs.v[i].u.ptime, 20);
	i = ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_MAXPTIME, 0);
	cr_assert_eq(m->attrs.v[i].u.ptime, 150);
	i = ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_FMTP, 0);
	cr_assert_eq(m->attrs.v[i].u.fmtp.pt, 101);
	cr_assert_str_eq(m->attrs.v[i].u.fmtp.params, "0-16");
	cr_assert_eq(ctl_sdp_media_format(m, 0, &f), 0);
	cr_assert_eq(f.codec, CDC_PCMU);
	cr_assert_eq(ctl_sdp_media_format(m, 101, &f), 0);
	cr_assert_eq(f.codec, CDC_TELEPHONE_EVENT);
	cr_assert_eq(ctl_sdp_media_format(m, 3, &f), -ENOTSUP); /* GSM */
	cr_assert_eq(ctl_sdp_media_format(m, 96, &f), -ENOENT);
	ctl_sdp_free(&s);

	parse_ok(freeswitch, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_dir(&s, m), CTL_SDP_SENDONLY);
	cr_assert_eq(ctl_sdp_media_format(m, 9, &f), 0); /* static, no rtpmap */
	cr_assert_eq(f.codec, CDC_G722);
	cr_assert_eq(f.sample_rate, 16000);
	cr_assert_eq(ctl_sdp_media_format(m, 13, &f), 0);
	cr_assert_eq(f.codec, CDC_CN);
	i = ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_RTCP, 0);
	cr_assert_eq(m->attrs.v[i].u.rtcp.port, 23457);
	cr_assert_str_eq(m->attrs.v[i].u.rtcp.addr, "203.0.113.7");
	cr_assert_str_eq(m->attrs.v[i].u.rtcp.addrtype, "IP4");
	ctl_sdp_free(&s);
}

Test(sdp, sdes_crypto_kept_raw_and_parsed)
{
	struct ctl_sdp s;
	const struct ctl_sdp_media *m;
	const struct ctl_sdp_attr *c1, *c2, *c3;

	parse_ok(sdes, &s);
	m = &s.media[0];
	cr_assert_str_eq(m->proto, "RTP/SAVP");
	c1 = &m->attrs.v[ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_CRYPTO, 0)];
	c2 = c1 + 1;
	c3 = c1 + 2;
	cr_assert_eq(c1->u.crypto.tag, 1);
	cr_assert_str_eq(c1->u.crypto.suite, "AES_CM_128_HMAC_SHA1_80");
	cr_assert_str_eq(c1->u.crypto.key_params,
			 "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4");
	cr_assert_null(c1->u.crypto.session_params);
	cr_assert_not_null(c1->u.crypto.sdes); /* a 4-byte MKI: taken, text kept */
	cr_assert_eq(c1->u.crypto.sdes->mki_len, 4);
	cr_assert_arr_eq(c1->u.crypto.sdes->mki, "\0\0\0\1", 4);
	cr_assert_eq(c2->u.crypto.tag, 2);
	cr_assert_not_null(c2->u.crypto.sdes);
	cr_assert_eq(c2->u.crypto.sdes->suite, DP_SRTP_AES_CM_128_HMAC_SHA1_32);
	cr_assert_eq(c2->u.crypto.sdes->key_salt_len, 30);
	cr_assert_eq(c2->u.crypto.sdes->lifetime, 1u << 20);
	cr_assert_eq(c3->type, CTL_SDP_A_CRYPTO);
	cr_assert_str_eq(c3->u.crypto.suite, "F8_128_HMAC_SHA1_80"); /* unknown suite survives */
	cr_assert_str_eq(c3->u.crypto.session_params, "FEC_ORDER=FEC_SRTP");
	cr_assert_null(c3->u.crypto.sdes);
	ctl_sdp_free(&s);
}

Test(sdp, webrtc_fields)
{
	struct ctl_sdp s;
	const struct ctl_sdp_media *a, *d;
	int i;

	parse_ok(webrtc, &s);
	cr_assert_eq(s.n_media, 3);
	cr_assert_not(s.conn.present);
	a = &s.media[0];
	d = &s.media[2];
	cr_assert(ctl_sdp_media_is_rtp(a));
	cr_assert_not(ctl_sdp_media_is_rtp(d));
	cr_assert_eq(ctl_sdp_media_pt(d, 0), -1);
	cr_assert_str_eq(d->fmts[0], "webrtc-datachannel");
	cr_assert(ctl_sdp_media_has_dtls(&s, a));
	cr_assert_str_eq(ctl_sdp_media_conn(&s, a)->addr, "0.0.0.0");
	cr_assert_geq(ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_RTCP_MUX, 0), 0);
	cr_assert_geq(ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_END_OF_CANDIDATES, 0), 0);
	cr_assert_geq(ctl_sdp_attr_find_type(&s, NULL, CTL_SDP_A_ICE_OPTIONS, 0), 0);
	i = ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_MID, 0);
	cr_assert_str_eq(a->attrs.v[i].value, "0");
	i = ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_SETUP, 0);
	cr_assert_str_eq(a->attrs.v[i].value, "actpass");
	i = ctl_sdp_attr_find_type(&s, a, CTL_SDP_A_CANDIDATE, 0);
	cr_assert_eq(a->attrs.v[i + 1].type, CTL_SDP_A_CANDIDATE);
	cr_assert(ctl_sdp_media_pt_matches(a, 111, "OPUS"));
	cr_assert(ctl_sdp_media_pt_matches(a, 111, "opus/48000"));
	cr_assert(ctl_sdp_media_pt_matches(a, 111, "opus/48000/2"));
	cr_assert_not(ctl_sdp_media_pt_matches(a, 111, "opus/48000/1"));
	cr_assert(ctl_sdp_media_pt_matches(a, 0, "pcmu/8000/1"));
	cr_assert_not(ctl_sdp_media_pt_matches(a, 0, "PCMU/16000"));
	cr_assert_not(ctl_sdp_media_pt_matches(a, 0, "PCM"));
	ctl_sdp_free(&s);
}

Test(sdp, rfc4566_lines_and_multicast)
{
	struct ctl_sdp s;

	parse_ok(rfc4566, &s);
	cr_assert_str_eq(s.conn.addr, "224.2.17.12");
	cr_assert_str_eq(s.conn.suffix, "/127");
	cr_assert_eq(s.lines.n, 10);
	cr_assert_eq(s.media[1].port_count, 2);
	cr_assert_str_eq(s.media[2].proto, "udptl");
	cr_assert_eq(ctl_sdp_media_dir(&s, &s.media[0]), CTL_SDP_RECVONLY);
	ctl_sdp_free(&s);
	free(round_trip(rfc4566));
}

/* ------------------------------------------------------------------ */
/* Tolerance and normalisation                                          */

Test(sdp, tolerant_input_normalised)
{
	/* LF and CRLF mixed, trailing blanks, fields with runs of spaces, lines
	 * out of RFC order, no final newline, trailing empty lines */
	static const char in[] = "v=0\n"
				 "o=u  1 2 IN  IP4 10.0.0.1 \r\n"
				 "s= \n"
				 "t=0 0\t\n"
				 "a=tool:x  y\n"
				 "c=IN IP4 10.0.0.1\n"
				 "b=AS:64\n"
				 "i=info\n"
				 "m=audio  4000  RTP/AVP  0  8\n"
				 "a=sendrecv\n"
				 "c=IN IP4 10.0.0.2\n"
				 "b=TIAS:64000\n"
				 "i=media info\n"
				 "a=ptime:20.0\n"
				 "\r\n"
				 "  \n";
	struct ctl_sdp s;

	parse_ok(in, &s);
	cr_assert_str_eq(s.name, "");
	cr_assert_str_eq(s.attrs.v[0].value, "x  y");
	cr_assert_eq(s.media[0].attrs.v[1].u.ptime, 20);
	expect_text(&s, "v=0\n"
			"o=u 1 2 IN IP4 10.0.0.1\n"
			"s=\n"
			"i=info\n"
			"c=IN IP4 10.0.0.1\n"
			"b=AS:64\n"
			"t=0 0\n"
			"a=tool:x  y\n"
			"m=audio 4000 RTP/AVP 0 8\n"
			"i=media info\n"
			"c=IN IP4 10.0.0.2\n"
			"b=TIAS:64000\n"
			"a=sendrecv\n"
			"a=ptime:20.0\n");
	ctl_sdp_free(&s);
	free(round_trip(in));
}

Test(sdp, no_final_newline_no_t_and_port_zero)
{
	struct ctl_sdp s;

	parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0", &s);
	cr_assert_eq(s.media[0].port, 0);
	expect_text(&s, "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n");
	ctl_sdp_free(&s);
}

Test(sdp, unparsable_known_attrs_outside_rtp_media_are_text)
{
	struct ctl_sdp s;

	parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 1.2.3.4\na=rtpmap:x\n"
		 "m=image 4000 udptl t38\na=fmtp:t38 foo\na=rtcp:abc\n"
		 "m=audio 4000 RTP/AVP 0\na=sendrecv:odd\na=rtcp-mux:1\n",
		 &s);
	cr_assert_eq(s.attrs.v[0].type, CTL_SDP_A_OTHER);
	cr_assert_eq(s.media[0].attrs.v[0].type, CTL_SDP_A_OTHER);
	cr_assert_eq(s.media[0].attrs.v[1].type, CTL_SDP_A_OTHER);
	cr_assert_eq(s.media[1].attrs.v[0].type, CTL_SDP_A_OTHER);
	cr_assert_eq(s.media[1].attrs.v[1].type, CTL_SDP_A_OTHER);
	ctl_sdp_free(&s);
}

Test(sdp, write_rejects_injection_and_restores_buffer)
{
	struct ctl_sdp s;
	struct ctl_buf b = { 0 };

	parse_ok(sipp_uac, &s);
	ctl_buf_put(&b, "X", 1);
	s.name = "evil\r\na=injected";
	cr_assert_eq(ctl_sdp_write(&s, &b), -EINVAL);
	cr_assert_eq(b.len, 1);
	s.name = "-";
	s.media[0].n_fmts = 0;
	cr_assert_eq(ctl_sdp_write(&s, &b), -EINVAL);
	s.media[0].n_fmts = 1;
	cr_assert_eq(ctl_sdp_attr_add(&s, &s.media[0], "x", "a\nb"), -EINVAL);
	cr_assert_eq(ctl_sdp_attr_add(&s, &s.media[0], "bad name", "v"), -EINVAL);
	cr_assert_eq(ctl_sdp_attr_add(&s, &s.media[0], "", NULL), -EINVAL);
	cr_assert_eq(ctl_sdp_attr_add(&s, &s.media[0], "rtpmap", "nonsense"), -EINVAL);
	cr_assert_eq(ctl_sdp_write(&s, &b), 0);
	cr_assert_eq(b.len, 1 + strlen(sipp_uac));
	/* a capped buffer: -E2BIG, length restored */
	{
		struct ctl_buf small = { .max = 40 };

		cr_assert_eq(ctl_sdp_write(&s, &small), -E2BIG);
		cr_assert_eq(small.len, 0);
		ctl_buf_free(&small);
	}
	ctl_buf_free(&b);
	ctl_sdp_free(&s);
}

/* ------------------------------------------------------------------ */
/* Edit helpers: exact output                                           */

static const char simple[] = "v=0\n"
			     "o=alice 100 7 IN IP4 192.168.1.10\n"
			     "s=-\n"
			     "c=IN IP4 192.168.1.10\n"
			     "t=0 0\n"
			     "m=audio 7078 RTP/AVP 96 0 8 101\n"
			     "a=rtpmap:96 opus/48000/2\n"
			     "a=fmtp:96 useinbandfec=1\n"
			     "a=rtcp-fb:96 nack\n"
			     "a=rtpmap:101 telephone-event/8000\n"
			     "a=fmtp:101 0-15\n"
			     "a=rtcp:7079\n"
			     "a=sendrecv\n";

/* simple[] with its m= section replaced by `media` (LF literal) */
static char *with_media(const char *media)
{
	static const char head[] = "v=0\n"
				   "o=alice 100 7 IN IP4 192.168.1.10\n"
				   "s=-\n"
				   "c=IN IP4 192.168.1.10\n"
				   "t=0 0\n";
	char *r = malloc(strlen(head) + strlen(media) + 1);

	strcpy(r, head);
	strcat(r, media);
	return r;
}

static void expect_media(const struct ctl_sdp *s, const char *media)
{
	char *t = with_media(media);

	expect_text(s, t);
	free(t);
}

Test(sdp, edit_origin_session_conn_version)
{
	struct ctl_sdp s;

	parse_ok(simple, &s);
	cr_assert_eq(ctl_sdp_set_origin_addr(&s, "2001:db8::1"), 0);
	cr_assert_eq(ctl_sdp_set_session_conn(&s, "203.0.113.5"), 0);
	cr_assert_eq(ctl_sdp_bump_version(&s), 0);
	cr_assert_eq(ctl_sdp_set_origin_addr(&s, "media.example.com"), -EINVAL);
	cr_assert_eq(ctl_sdp_set_session_conn(&s, "1.2.3"), -EINVAL);
	cr_assert_str_eq(s.origin.sess_version, "8");
	s.origin.sess_version = "199";
	cr_assert_eq(ctl_sdp_bump_version(&s), 0);
	cr_assert_str_eq(s.origin.sess_version, "200");
	s.origin.sess_version = "99999999999999999999999";
	cr_assert_eq(ctl_sdp_bump_version(&s), 0);
	cr_assert_str_eq(s.origin.sess_version, "100000000000000000000000");
	s.origin.sess_version = "2a";
	cr_assert_eq(ctl_sdp_bump_version(&s), -EINVAL);
	s.origin.sess_version = "8";
	{
		char *want = crlf(simple);
		char *got = write_str(&s);

		cr_assert_str_eq(got, "v=0\r\n"
				      "o=alice 100 8 IN IP6 2001:db8::1\r\n"
				      "s=-\r\n"
				      "c=IN IP4 203.0.113.5\r\n"
				      "t=0 0\r\n"
				      "m=audio 7078 RTP/AVP 96 0 8 101\r\n"
				      "a=rtpmap:96 opus/48000/2\r\n"
				      "a=fmtp:96 useinbandfec=1\r\n"
				      "a=rtcp-fb:96 nack\r\n"
				      "a=rtpmap:101 telephone-event/8000\r\n"
				      "a=fmtp:101 0-15\r\n"
				      "a=rtcp:7079\r\n"
				      "a=sendrecv\r\n");
		free(got);
		free(want);
	}
	ctl_sdp_free(&s);

	/* session c= added where there was none, multicast suffix dropped */
	parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nt=0 0\nm=audio 5 RTP/AVP 0\nc=IN IP4 224.0.0.9/8\n",
		 &s);
	cr_assert_eq(ctl_sdp_set_session_conn(&s, "10.1.1.1"), 0);
	cr_assert_eq(ctl_sdp_media_set_conn(&s, &s.media[0], "10.1.1.1", 30000), 0);
	expect_text(&s, "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 10.1.1.1\nt=0 0\n"
			"m=audio 30000 RTP/AVP 0\nc=IN IP4 10.1.1.1\n");
	ctl_sdp_free(&s);
}

Test(sdp, edit_media_conn_and_rtcp)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;

	parse_ok(simple, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_set_conn(&s, m, "10.0.0.9", 30000), 0);
	cr_assert_eq(ctl_sdp_media_set_rtcp(&s, m, 30001, NULL), 0);
	cr_assert_eq(ctl_sdp_media_set_conn(&s, m, "example.org", 1), -EINVAL);
	cr_assert_eq(m->port, 30000);
	expect_media(&s, "m=audio 30000 RTP/AVP 96 0 8 101\n"
			 "c=IN IP4 10.0.0.9\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=rtcp:30001\n"
			 "a=sendrecv\n");
	/* full rtcp attribute, IPv6 */
	cr_assert_eq(ctl_sdp_media_set_rtcp(&s, m, 30003, "2001:db8::7"), 0);
	cr_assert_eq(m->attrs.v[5].u.rtcp.port, 30003);
	cr_assert_str_eq(m->attrs.v[5].u.rtcp.addr, "2001:db8::7");
	cr_assert_eq(ctl_sdp_media_set_conn(&s, m, NULL, 30002), 0);
	expect_media(&s, "m=audio 30002 RTP/AVP 96 0 8 101\n"
			 "c=IN IP4 10.0.0.9\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=rtcp:30003 IN IP6 2001:db8::7\n"
			 "a=sendrecv\n");
	/* rtcp-mux on: a=rtcp dropped; off removes it again */
	cr_assert_eq(ctl_sdp_media_set_rtcp_mux(&s, m, true, true), 0);
	cr_assert_eq(ctl_sdp_media_set_rtcp_mux(&s, m, true, true), 0); /* idempotent */
	expect_media(&s, "m=audio 30002 RTP/AVP 96 0 8 101\n"
			 "c=IN IP4 10.0.0.9\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=sendrecv\n"
			 "a=rtcp-mux\n");
	cr_assert_eq(ctl_sdp_media_set_rtcp(&s, m, 30002, NULL), 0);
	cr_assert_eq(ctl_sdp_media_set_rtcp_mux(&s, m, false, false), 0);
	cr_assert_eq(ctl_sdp_media_remove_rtcp(&s, m), 1);
	cr_assert_eq(ctl_sdp_media_remove_rtcp(&s, m), 0);
	expect_media(&s, "m=audio 30002 RTP/AVP 96 0 8 101\n"
			 "c=IN IP4 10.0.0.9\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=sendrecv\n");
	ctl_sdp_free(&s);
}

static struct dp_sdes test_key(unsigned tag, uint8_t first)
{
	struct dp_sdes k = { .tag = tag, .suite = DP_SRTP_AES_CM_128_HMAC_SHA1_80, .key_salt_len = 30 };

	for (unsigned i = 0; i < 30; i++)
		k.key_salt[i] = (uint8_t)(first + i);
	return k;
}

Test(sdp, edit_proto_and_crypto)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;
	struct dp_sdes keys[2] = { test_key(1, 0), test_key(2, 100) };

	parse_ok(asterisk, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_to_srtp(&s, m, keys, 2), 0);
	cr_assert_str_eq(m->proto, "RTP/SAVP");
	{
		int i = ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_CRYPTO, 0);

		cr_assert_not_null(m->attrs.v[i].u.crypto.sdes);
		cr_assert_eq(memcmp(m->attrs.v[i].u.crypto.sdes->key_salt, keys[0].key_salt, 30), 0);
	}
	expect_text(&s, "v=0\n"
			"o=- 1888331839 1888331839 IN IP4 10.0.0.5\n"
			"s=Asterisk\n"
			"c=IN IP4 10.0.0.5\n"
			"t=0 0\n"
			"m=audio 14518 RTP/SAVP 0 8 3 101\n"
			"a=rtpmap:0 PCMU/8000\n"
			"a=rtpmap:8 PCMA/8000\n"
			"a=rtpmap:3 GSM/8000\n"
			"a=rtpmap:101 telephone-event/8000\n"
			"a=fmtp:101 0-16\n"
			"a=ptime:20\n"
			"a=maxptime:150\n"
			"a=sendrecv\n"
			"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
			"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CB\n");
	/* again: crypto lines replaced, not added */
	cr_assert_eq(ctl_sdp_media_to_srtp(&s, m, keys, 1), 0);
	cr_assert_eq(ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_CRYPTO, 0), (int)m->attrs.n - 1);
	cr_assert_eq(ctl_sdp_media_to_rtp(&s, m), 0);
	cr_assert_str_eq(m->proto, "RTP/AVP");
	{
		char *got = write_str(&s);

		cr_assert_str_eq(got, asterisk);
		free(got);
	}
	cr_assert_eq(ctl_sdp_media_add_crypto(&s, m, &keys[1]), 0);
	cr_assert_str_eq(m->attrs.v[m->attrs.n - 1].value,
			 "2 AES_CM_128_HMAC_SHA1_80 inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CB");
	{
		struct dp_sdes bad = keys[0];

		bad.key_salt_len = 3;
		cr_assert_eq(ctl_sdp_media_add_crypto(&s, m, &bad), -EINVAL);
		cr_assert_eq(ctl_sdp_media_to_srtp(&s, m, &bad, 1), -EINVAL);
		cr_assert_str_eq(m->proto, "RTP/AVP"); /* unchanged on error */
	}
	/* AVPF <-> SAVPF, DTLS -> SDES and back */
	cr_assert_eq(ctl_sdp_media_set_proto(&s, m, "RTP/AVPF"), 0);
	cr_assert_eq(ctl_sdp_media_to_srtp(&s, m, NULL, 0), 0);
	cr_assert_str_eq(m->proto, "RTP/SAVPF");
	cr_assert_eq(ctl_sdp_media_to_rtp(&s, m), 0);
	cr_assert_str_eq(m->proto, "RTP/AVPF");
	cr_assert_eq(ctl_sdp_media_set_proto(&s, m, "UDP/TLS/RTP/SAVPF"), 0);
	cr_assert_eq(ctl_sdp_media_to_srtp(&s, m, keys, 1), 0);
	cr_assert_str_eq(m->proto, "RTP/SAVPF");
	cr_assert_eq(ctl_sdp_media_set_proto(&s, m, "UDP/TLS/RTP/SAVP"), 0);
	cr_assert_eq(ctl_sdp_media_to_rtp(&s, m), 0);
	cr_assert_str_eq(m->proto, "RTP/AVP");
	cr_assert_eq(ctl_sdp_attr_find_type(&s, m, CTL_SDP_A_CRYPTO, 0), -ENOENT);
	cr_assert_eq(ctl_sdp_media_set_proto(&s, m, "RTP AVP"), -EINVAL);
	ctl_sdp_free(&s);

	/* the SDES offer to plain RTP: all three crypto lines go */
	parse_ok(sdes, &s);
	cr_assert_eq(ctl_sdp_media_to_rtp(&s, &s.media[0]), 0);
	expect_text(&s, "v=0\n"
			"o=- 3912345 3912345 IN IP4 198.51.100.20\n"
			"s=SIP Call\n"
			"c=IN IP4 198.51.100.20\n"
			"t=0 0\n"
			"m=audio 40000 RTP/AVP 8 0 101\n"
			"a=rtpmap:8 PCMA/8000\n"
			"a=rtpmap:0 PCMU/8000\n"
			"a=rtpmap:101 telephone-event/8000\n"
			"a=fmtp:101 0-15\n"
			"a=ptime:20\n");
	ctl_sdp_free(&s);

	/* non-RTP media refuse */
	parse_ok(rfc4566, &s);
	cr_assert_eq(ctl_sdp_media_to_srtp(&s, &s.media[2], keys, 1), -EINVAL);
	cr_assert_eq(ctl_sdp_media_to_rtp(&s, &s.media[2]), -EINVAL);
	ctl_sdp_free(&s);
}

Test(sdp, edit_remove_ice)
{
	struct ctl_sdp s;
	char *w;

	parse_ok(webrtc, &s);
	cr_assert_eq(ctl_sdp_remove_ice(&s), 1 + 5 + 2 + 2);
	cr_assert_eq(ctl_sdp_remove_ice(&s), 0);
	w = write_str(&s);
	cr_assert_null(strstr(w, "ice-"));
	cr_assert_null(strstr(w, "candidate"));
	cr_assert_not_null(strstr(w, "a=fingerprint:"));
	free(w);
	/* the session part, exactly */
	{
		struct ctl_sdp t;

		parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\na=ice-lite\n"
			 "a=ice-options:trickle\na=group:BUNDLE 0\nm=audio 9 RTP/AVP 0\n"
			 "a=ice-ufrag:a\na=mid:0\na=ice-pwd:b\na=candidate:1 1 udp 1 1.2.3.4 9 typ host\n"
			 "a=remote-candidates:1 1.2.3.4 9\na=ice-mismatch\na=ice-pacing:50\n",
			 &t);
		cr_assert_eq(ctl_sdp_remove_ice(&t), 8);
		expect_text(&t, "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n"
				"a=group:BUNDLE 0\nm=audio 9 RTP/AVP 0\na=mid:0\n");
		ctl_sdp_free(&t);
	}
	ctl_sdp_free(&s);
}

Test(sdp, edit_direction_and_ptime)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;

	parse_ok(simple, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_set_dir(&s, m, CTL_SDP_SENDONLY), 0);
	cr_assert_eq(ctl_sdp_media_dir(&s, m), CTL_SDP_SENDONLY);
	cr_assert_eq(ctl_sdp_media_set_ptime(&s, m, 30), 0);
	cr_assert_eq(ctl_sdp_media_set_dir(&s, m, (enum ctl_sdp_dir)7), -EINVAL);
	expect_media(&s, "m=audio 7078 RTP/AVP 96 0 8 101\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=rtcp:7079\n"
			 "a=sendonly\n"
			 "a=ptime:30\n");
	cr_assert_eq(ctl_sdp_media_set_ptime(&s, m, 20), 0);
	cr_assert_eq(m->attrs.v[7].u.ptime, 20);
	cr_assert_eq(ctl_sdp_media_set_ptime(&s, m, 0), 0);
	cr_assert_eq(ctl_sdp_attr_find(&s, m, "ptime", 0), -ENOENT);
	ctl_sdp_free(&s);

	/* several direction lines collapse to one; session level; inherited */
	parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\na=sendonly\n"
		 "m=audio 9 RTP/AVP 0\na=inactive\na=x\na=recvonly\nm=audio 10 RTP/AVP 0\n",
		 &s);
	cr_assert_eq(ctl_sdp_media_dir(&s, &s.media[1]), CTL_SDP_SENDONLY);
	cr_assert_eq(ctl_sdp_media_set_dir(&s, &s.media[0], CTL_SDP_SENDRECV), 0);
	cr_assert_eq(ctl_sdp_media_set_dir(&s, NULL, CTL_SDP_INACTIVE), 0);
	cr_assert_eq(ctl_sdp_media_dir(&s, &s.media[1]), CTL_SDP_INACTIVE);
	expect_text(&s, "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\na=inactive\n"
			"m=audio 9 RTP/AVP 0\na=sendrecv\na=x\nm=audio 10 RTP/AVP 0\n");
	ctl_sdp_free(&s);
}

Test(sdp, edit_codec_strip_and_keep)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;

	parse_ok(simple, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, m, "OPUS"), 1);
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, m, "G729"), 0);
	expect_media(&s, "m=audio 7078 RTP/AVP 0 8 101\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=rtcp:7079\n"
			 "a=sendrecv\n");
	cr_assert_eq(ctl_sdp_media_remove_pt(&s, m, 8), 0);
	cr_assert_eq(ctl_sdp_media_remove_pt(&s, m, 8), -ENOENT);
	cr_assert_eq(ctl_sdp_media_remove_pt(&s, m, 101), 0);
	expect_media(&s, "m=audio 7078 RTP/AVP 0\n"
			 "a=rtcp:7079\n"
			 "a=sendrecv\n");
	/* the last format cannot go */
	cr_assert_eq(ctl_sdp_media_remove_pt(&s, m, 0), -EINVAL);
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, m, "pcmu"), -EINVAL);
	cr_assert_eq(m->n_fmts, 1);
	ctl_sdp_free(&s);

	parse_ok(simple, &s);
	m = &s.media[0];
	{
		const char *keep[] = { "PCMA", "telephone-event/8000" };
		const char *none[] = { "G729" };
		const uint8_t pts[] = { 8 };

		cr_assert_eq(ctl_sdp_media_keep_codecs(&s, m, none, 1), -EINVAL);
		cr_assert_eq(m->n_fmts, 4);
		cr_assert_eq(ctl_sdp_media_keep_codecs(&s, m, keep, 2), 2);
		expect_media(&s, "m=audio 7078 RTP/AVP 8 101\n"
				 "a=rtpmap:101 telephone-event/8000\n"
				 "a=fmtp:101 0-15\n"
				 "a=rtcp:7079\n"
				 "a=sendrecv\n");
		cr_assert_eq(ctl_sdp_media_keep_pts(&s, m, pts, 1), 1);
		expect_media(&s, "m=audio 7078 RTP/AVP 8\n"
				 "a=rtcp:7079\n"
				 "a=sendrecv\n");
	}
	ctl_sdp_free(&s);

	/* rtcp-fb:* stays; stripping a codec with two PTs */
	parse_ok(linphone, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, m, "telephone-event"), 3);
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, m, "speex/16000"), 1);
	cr_assert_eq(m->n_fmts, 4);
	cr_assert_eq(ctl_sdp_attr_find(&s, m, "rtcp-fb", 0), 5);
	cr_assert_str_eq(m->attrs.v[2].value, "98 speex/8000");
	ctl_sdp_free(&s);

	/* non-RTP */
	parse_ok(rfc4566, &s);
	cr_assert_eq(ctl_sdp_media_remove_codec(&s, &s.media[2], "t38"), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, &s.media[2], 0, NULL, NULL, false), -EINVAL);
	ctl_sdp_free(&s);
}

Test(sdp, edit_codec_add_and_reorder)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;
	struct ctl_sdp_codec c;

	parse_ok(simple, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 9, NULL, NULL, false), 0);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 100, "telephone-event/48000", "0-15", true), 0);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 8, "PCMA/8000", NULL, false), -EEXIST);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 128, NULL, NULL, false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "opus", NULL, false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "opus/0", NULL, false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "opus/48000/256", NULL, false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "op us/48000", NULL, false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "opus/48000", "a\r\nb", false), -EINVAL);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 97, "L16/16000", NULL, false), 0);
	expect_media(&s, "m=audio 7078 RTP/AVP 100 96 0 8 101 9 97\n"
			 "a=rtpmap:100 telephone-event/48000\n"
			 "a=fmtp:100 0-15\n"
			 "a=rtpmap:96 opus/48000/2\n"
			 "a=fmtp:96 useinbandfec=1\n"
			 "a=rtcp-fb:96 nack\n"
			 "a=rtpmap:101 telephone-event/8000\n"
			 "a=fmtp:101 0-15\n"
			 "a=rtpmap:97 L16/16000\n"
			 "a=rtcp:7079\n"
			 "a=sendrecv\n");
	cr_assert_eq(ctl_sdp_media_codec(m, 9, &c), 0);
	cr_assert_str_eq(c.encoding, "G722");
	cr_assert_eq(ctl_sdp_media_codec(m, 100, &c), 0);
	cr_assert_str_eq(c.fmtp, "0-15");
	{
		const uint8_t order[] = { 8, 42, 0, 8 };

		cr_assert_eq(ctl_sdp_media_reorder(&s, m, order, 4), 0);
		cr_assert_eq(ctl_sdp_media_prefer_codec(&s, m, "telephone-event"), 2);
		expect_media(&s, "m=audio 7078 RTP/AVP 100 101 8 0 96 9 97\n"
				 "a=rtpmap:100 telephone-event/48000\n"
				 "a=fmtp:100 0-15\n"
				 "a=rtpmap:96 opus/48000/2\n"
				 "a=fmtp:96 useinbandfec=1\n"
				 "a=rtcp-fb:96 nack\n"
				 "a=rtpmap:101 telephone-event/8000\n"
				 "a=fmtp:101 0-15\n"
				 "a=rtpmap:97 L16/16000\n"
				 "a=rtcp:7079\n"
				 "a=sendrecv\n");
	}
	ctl_sdp_free(&s);

	/* a stale rtpmap for the new PT is replaced; no codec lines: appended */
	parse_ok("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n"
		 "m=audio 9 RTP/AVP 0\na=sendrecv\na=rtpmap:96 foo/8000\na=fmtp:96 x\n",
		 &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 96, "opus/48000/2", "stereo=1", false), 0);
	expect_text(&s, "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n"
			"m=audio 9 RTP/AVP 0 96\na=sendrecv\na=rtpmap:96 opus/48000/2\na=fmtp:96 stereo=1\n");
	ctl_sdp_free(&s);
	parse_ok(sipp_uac, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_attr_delete(&s, m, 0), 0);
	cr_assert_eq(ctl_sdp_attr_delete(&s, m, 0), -ENOENT);
	cr_assert_eq(ctl_sdp_media_add_codec(&s, m, 101, "telephone-event/8000", "0-16", false), 0);
	expect_text(&s, "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\n"
			"t=0 0\nm=audio 6000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n"
			"a=fmtp:101 0-16\n");
	ctl_sdp_free(&s);
}

Test(sdp, attribute_primitives)
{
	struct ctl_sdp s;
	struct ctl_sdp_media *m;

	parse_ok(sipp_uac, &s);
	m = &s.media[0];
	cr_assert_eq(ctl_sdp_attr_add(&s, NULL, "tool", "medius "), 0);
	cr_assert_eq(ctl_sdp_attr_insert(&s, m, 0, "label", "1"), 0);
	cr_assert_eq(ctl_sdp_attr_add(&s, m, "x-empty", ""), 0);
	cr_assert_eq(ctl_sdp_attr_replace(&s, m, 1, "rtpmap", "0 pcmu/8000"), 0);
	cr_assert_eq(m->attrs.v[1].type, CTL_SDP_A_RTPMAP);
	cr_assert_str_eq(m->attrs.v[1].u.rtpmap.encoding, "pcmu");
	cr_assert_eq(ctl_sdp_attr_replace(&s, m, 1, "rtpmap", "zero"), -EINVAL);
	cr_assert_eq(ctl_sdp_attr_replace(&s, m, 9, "x", NULL), -ENOENT);
	expect_text(&s, "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\n"
			"t=0 0\na=tool:medius\nm=audio 6000 RTP/AVP 0\na=label:1\na=rtpmap:0 pcmu/8000\n"
			"a=x-empty:\n");
	cr_assert_eq(ctl_sdp_attr_remove(&s, m, "label"), 1);
	cr_assert_eq(ctl_sdp_attr_remove_type(&s, m, CTL_SDP_A_RTPMAP), 1);
	cr_assert_eq(m->attrs.n, 1);
	/* 256 attributes fit, the 257th does not */
	while (m->attrs.n < CTL_SDP_MAX_ATTRS)
		cr_assert_eq(ctl_sdp_attr_add(&s, m, "x", "y"), 0);
	cr_assert_eq(ctl_sdp_attr_add(&s, m, "x", "y"), -E2BIG);
	cr_assert_eq(ctl_sdp_media_set_ptime(&s, m, 20), -E2BIG);
	{
		char *w = write_str(&s);

		free(round_trip(w));
		free(w);
	}
	ctl_sdp_free(&s);
}

/* ------------------------------------------------------------------ */
/* Errors                                                               */

#define HEAD "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"

Test(sdp, errors_structure)
{
	parse_bad("", "line 1: empty SDP");
	parse_bad("\r\n", "line 1: empty line");
	parse_bad("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", "line 1: SDP must start with v=0");
	parse_bad("v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", "line 1: unsupported SDP version");
	parse_bad("v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n", "line 3: SDP ends without o= line");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", "SDP ends without s= line");
	parse_bad(HEAD "v=0\r\n", "line 6: second v= line");
	parse_bad(HEAD "o=- 1 1 IN IP4 1.2.3.4\r\n", "line 6: second o= line");
	parse_bad(HEAD "s=again\r\n", "line 6: second s= line");
	parse_bad(HEAD "c=IN IP4 1.2.3.4\r\n", "line 6: second c= line");
	parse_bad(HEAD "m=audio 1 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.1\r\n",
		  "line 8: second c= line");
	parse_bad(HEAD "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", "line 7: t= is not allowed in a media section");
	parse_bad(HEAD "m=audio 1 RTP/AVP 0\r\ns=x\r\n", "line 7: s= is not allowed");
	parse_bad(HEAD "x=unknown\r\n", "line 6: unknown line type 'x='");
	parse_bad(HEAD "m=audio 1 RTP/AVP 0\r\ny=0123456789\r\n", "line 7: unknown line type 'y='");
	parse_bad(HEAD "hello\r\n", "line 6: not a \"x=value\" line");
	parse_bad(HEAD "=x\r\n", "line 6: not a");
	parse_bad(HEAD "A=x\r\n", "line 6: not a");
	parse_bad(HEAD "a\r\n", "line 6: not a");
	parse_bad(HEAD "\r\na=x\r\n", "line 6: empty line");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nr=1 2 3\r\n", "line 4: r= without a preceding t=");
	parse_bad(HEAD "r=1 2\r\n", "line 6: r= needs");
	parse_bad(HEAD "b=AS\r\n", "line 6: b= needs bwtype:bandwidth");
	parse_bad(HEAD "b=AS:x\r\n", "line 6: b= needs");
	parse_bad(HEAD "a=\r\n", "line 6: bad attribute name");
	parse_bad(HEAD "a=:x\r\n", "line 6: bad attribute name");
	parse_bad(HEAD "a=a b:c\r\n", "line 6: bad attribute name");
}

Test(sdp, errors_truncated_lines)
{
	parse_bad("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", "line 2: o= needs 6 fields");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4 extra\r\ns=-\r\n", "line 2: o= needs 6 fields");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\n", "line 4: c= needs");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0\r\n",
		  "line 5: t= needs start and stop times");
	parse_bad(HEAD "m=audio\r\n", "line 6: m= needs media, port, protocol and at least one format");
	parse_bad(HEAD "m=audio 4000 RTP/AVP\r\n", "line 6: m= needs");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0\r\n", "line 7: malformed a=rtpmap");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", "line 7: malformed a=rtpmap");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/\r\n", "malformed a=rtpmap");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n", "malformed a=rtpmap");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=fmtp\r\n", "line 7: malformed a=fmtp");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=fmtp:x y\r\n", "malformed a=fmtp");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtcp-fb:x nack\r\n", "malformed a=rtcp-fb");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:\r\n", "malformed a=ptime");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:20ms\r\n", "malformed a=ptime");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=maxptime:20.\r\n", "malformed a=maxptime");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtcp:70000\r\n", "malformed a=rtcp");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4\r\n", "malformed a=rtcp");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4 rtcp.example.com\r\n",
		  "line 7: unsupported: host name 'rtcp.example.com'");
	parse_bad(HEAD "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n",
		  "malformed a=crypto");
	parse_bad(HEAD "m=audio 4000 RTP/SAVP 0\r\na=crypto:x AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n",
		  "malformed a=crypto");
}

Test(sdp, errors_media_and_addresses)
{
	parse_bad(HEAD "m=audio abc RTP/AVP 0\r\n", "line 6: bad port 'abc' in m=");
	parse_bad(HEAD "m=audio 70000 RTP/AVP 0\r\n", "line 6: bad port '70000'");
	parse_bad(HEAD "m=audio -1 RTP/AVP 0\r\n", "bad port");
	parse_bad(HEAD "m=audio 4000/0 RTP/AVP 0\r\n", "bad port");
	parse_bad(HEAD "m=audio 4000/ RTP/AVP 0\r\n", "bad port");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 128\r\n", "line 6: bad payload type '128' in m=");
	parse_bad(HEAD "m=audio 4000 RTP/AVP PCMU\r\n", "bad payload type 'PCMU'");
	parse_bad(HEAD "m=audio 4000 RTP/AVP 0 8 0\r\n", "line 6: payload type 0 twice in m=");
	parse_bad(HEAD "m=audio 4000 RTP//AVP 0\r\n", "bad media type or protocol");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 sip.example.com\r\n",
		  "line 4: unsupported: host name 'sip.example.com' (numeric addresses only) in c=");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 ::1\r\n",
		  "line 4: address '::1' does not match address type IP4");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP6 1.2.3.4\r\n", "does not match");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.400\r\n",
		  "bad IP4 address '1.2.3.400'");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IPX 1.2.3.4\r\n",
		  "unsupported address type 'IPX'");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=ATM NSAP 47.0005.80\r\n",
		  "unsupported network type 'ATM'");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 224.2.1.1/x\r\n",
		  "bad multicast suffix");
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 224.2.1.1/1/2/3\r\n",
		  "bad multicast suffix");
	/* no c= anywhere: names the m= line of the first section without one */
	parse_bad("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"
		  "c=IN IP4 1.1.1.1\r\nm=video 2 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
		  "line 7: media section has no c= and there is no session-level c=");
}

/* printf at buf + n (buf is 16 KiB); returns the new length */
__attribute__((format(printf, 3, 4))) static size_t app(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + n, 16384 - n, fmt, ap);
	va_end(ap);
	cr_assert(k >= 0 && n + (size_t)k < 16384);
	return n + (size_t)k;
}

Test(sdp, errors_bytes_and_limits)
{
	static const char nul[] = HEAD "a=x\0y\r\n";
	static char buf[16384];
	char *big;
	size_t n;

	parse_bad_n(nul, sizeof(nul) - 1, "line 6: NUL byte");
	parse_bad(HEAD "a=x\x01y\r\n", "line 6: control character 0x01");
	parse_bad(HEAD "a=x\ry\r\n", "line 6: control character 0x0d");
	parse_bad(HEAD "a=x\x7f\r\n", "control character 0x7f");
	parse_bad("\x89PNG\r\n\x1a\n", "line 1: not a");
	parse_bad("v=0\r\n\xff\xfe garbage", "line 2: not a");
	parse_bad("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "line 1: not a");

	/* 64 KiB */
	big = malloc(CTL_SDP_MAX_LEN + 64);
	cr_assert_not_null(big);
	n = (size_t)sprintf(big, HEAD "m=audio 1 RTP/AVP 0\r\n");
	while (n < CTL_SDP_MAX_LEN - 16)
		n += (size_t)sprintf(big + n, "a=x:%08zu\r\n", n);
	parse_bad_n(big, CTL_SDP_MAX_LEN + 1, "over the 65536 accepted");
	free(big);

	/* 16 media sections fit, 17 do not */
	n = app(buf, 0, HEAD);
	for (int i = 0; i < CTL_SDP_MAX_MEDIA; i++)
		n = app(buf, n, "m=audio %d RTP/AVP 0\r\n", 1000 + i);
	{
		struct ctl_sdp s;

		parse_ok(buf, &s);
		cr_assert_eq(s.n_media, 16);
		ctl_sdp_free(&s);
	}
	app(buf, n, "m=audio 9 RTP/AVP 0\r\n");
	parse_bad(buf, "line 22: too many media sections (limit 16)");

	/* 64 payload types fit, 65 do not */
	n = app(buf, 0, HEAD "m=audio 1 RTP/AVP");
	for (int i = 0; i < CTL_SDP_MAX_FMTS; i++)
		n = app(buf, n, " %d", i);
	app(buf, n, "\r\n");
	free(round_trip(buf));
	app(buf, n, " 100\r\n");
	parse_bad(buf, "line 6: too many formats in m= (limit 64)");

	/* 256 attributes per section fit, 257 do not */
	n = app(buf, 0, HEAD "m=audio 1 RTP/AVP 0\r\n");
	for (int i = 0; i < CTL_SDP_MAX_ATTRS; i++)
		n = app(buf, n, "a=x%d\r\n", i);
	free(round_trip(buf));
	app(buf, n, "a=one-too-many\r\n");
	parse_bad(buf, "line 263: too many attributes in one section (limit 256)");
	/* and 64 other lines */
	n = app(buf, 0, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n");
	for (int i = 0; i < CTL_SDP_MAX_LINES; i++)
		n = app(buf, n, "t=0 0\r\n");
	free(round_trip(buf));
	app(buf, n, "t=0 0\r\n");
	parse_bad(buf, "line 69: too many");
}

Test(sdp, error_message_buffer_handling)
{
	struct ctl_sdp s;
	char tiny[8];

	/* no buffer, a tiny buffer: still -EINVAL, never overflowing */
	cr_assert_eq(ctl_sdp_parse("x", 1, &s, NULL, 0), -EINVAL);
	cr_assert_eq(ctl_sdp_parse("x", 1, &s, tiny, sizeof(tiny)), -EINVAL);
	cr_assert_eq(strlen(tiny), sizeof(tiny) - 1);
	cr_assert_eq(ctl_sdp_parse(NULL, 5, &s, NULL, 0), -EINVAL);
	cr_assert_eq(ctl_sdp_parse(sipp_uac, strlen(sipp_uac), NULL, NULL, 0), -EINVAL);
	/* a length shorter than the string: only that much is parsed */
	cr_assert_eq(ctl_sdp_parse(sipp_uac, 10, &s, NULL, 0), -EINVAL);
}

/* ctl_sdp_check_addresses: what medius returns names only its own addresses. */
static int check_sdp(const char *text, bool origin, char *why)
{
	static const char *const ours[] = { "192.0.2.1", "2001:db8::1" };
	struct ctl_sdp s;
	int rc;

	parse_ok(text, &s);
	rc = ctl_sdp_check_addresses(&s, ours, 2, origin, why, 160);
	ctl_sdp_free(&s);
	return rc;
}

Test(sdp_check, own_addresses_and_holds_pass)
{
	char why[160] = "";

	cr_assert_eq(check_sdp("v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
			       "m=audio 30000 RTP/AVP 0\na=rtcp:30001 IN IP4 192.0.2.1\n"
			       "m=audio 30002 RTP/AVP 0\nc=IN IP6 2001:db8:0:0::1\n"
			       "m=audio 30004 RTP/AVP 0\nc=IN IP4 0.0.0.0\n"
			       "m=video 0 RTP/AVP 96\n",
			       false, why),
		     0, "%s", why);
}

Test(sdp_check, a_peer_address_anywhere_is_refused)
{
	static const struct { const char *text; bool origin; const char *want; } cases[] = {
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\nm=audio 30000 RTP/AVP 0\n",
		  false, "session c= address 203.0.113.5" },
		{ "v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n",
		  true, "o= address 203.0.113.5" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n"
		  "c=IN IP4 198.51.100.7\n",
		  false, "c= address 198.51.100.7 in section 1" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n"
		  "a=rtcp:4001 IN IP4 198.51.100.7\n",
		  false, "a=rtcp with address 198.51.100.7 in section 1" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n"
		  "a=candidate:1 1 UDP 1 192.0.2.1 30000 typ host\n",
		  false, "an ICE attribute (a=candidate) in section 1" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\na=ice-ufrag:x\nm=audio 30000 RTP/AVP 0\n",
		  false, "an ICE attribute (a=ice-ufrag) in section 0" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 0 RTP/AVP 0\n"
		  "c=IN IP4 192.0.2.1\n",
		  false, "c= address 192.0.2.1 in rejected section 1" },
	};

	static const char *const ours[] = { "192.0.2.1" };
	struct ctl_sdp s;
	char why[160] = "";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(check_sdp(cases[i].text, cases[i].origin, why), -EPERM, "case %zu passed", i);
		cr_assert_str_eq(why, cases[i].want, "case %zu", i);
	}
	/* a live section left without any c= (the parser never makes one; an edit could) */
	parse_ok("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 30000 RTP/AVP 0\nc=IN IP4 192.0.2.1\n"
		 "m=audio 30002 RTP/AVP 0\nc=IN IP4 192.0.2.1\n",
		 &s);
	s.media[1].conn.present = false;
	cr_assert_eq(ctl_sdp_check_addresses(&s, ours, 1, false, why, sizeof(why)), -EPERM);
	cr_assert_str_eq(why, "no address: no c= for section 2");
	ctl_sdp_free(&s);
}

Test(sdp_check, rejecting_a_section_leaves_nothing_to_refuse)
{
	struct ctl_sdp s;
	char why[160] = "";
	static const char *const ours[] = { "192.0.2.1" };

	parse_ok("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
		 "m=audio 4000 RTP/SAVP 0\nc=IN IP4 203.0.113.5\na=rtcp:4001 IN IP4 203.0.113.5\n"
		 "a=candidate:1 1 UDP 1 203.0.113.5 4000 typ host\na=ice-ufrag:x\n"
		 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n"
		 "a=rtpmap:0 PCMU/8000\n",
		 &s);
	cr_assert_eq(ctl_sdp_check_addresses(&s, ours, 1, false, why, sizeof(why)), -EPERM);
	cr_assert_eq(ctl_sdp_media_reject(&s, &s.media[0]), 0);
	cr_assert_eq(ctl_sdp_check_addresses(&s, ours, 1, false, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(s.media[0].port, 0);
	cr_assert_eq(ctl_sdp_attr_find_type(&s, &s.media[0], CTL_SDP_A_RTPMAP, 0), 0, "formats are kept");
	ctl_sdp_free(&s);
}

Test(sdp_check, rejected_sections_name_nothing_and_ipv6_peers_are_caught)
{
	static const struct { const char *text; bool origin; const char *want; } cases[] = {
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 0 RTP/AVP 0\n"
		  "a=rtcp:9 IN IP4 192.0.2.1\n",
		  false, "a=rtcp with address 192.0.2.1 in section 1" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 0 RTP/SAVP 0\n"
		  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n",
		  false, "a=crypto in rejected section 1" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP6 2001:db8::2\nt=0 0\nm=audio 30000 RTP/AVP 0\n",
		  false, "session c= address 2001:db8::2" },
		{ "v=0\no=- 1 1 IN IP6 2001:db8::2\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n",
		  true, "o= address 2001:db8::2" },
		{ "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 30000 RTP/AVP 0\n"
		  "a=remote-candidates:1 192.0.2.1 30000\n",
		  false, "an ICE attribute (a=remote-candidates) in section 1" },
	};
	char why[160] = "";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(check_sdp(cases[i].text, cases[i].origin, why), -EPERM, "case %zu passed", i);
		cr_assert_str_eq(why, cases[i].want, "case %zu", i);
	}
	/* without replace origin, o= is the peer's and passes through (as rtpengine leaves it) */
	cr_assert_eq(check_sdp("v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
			       "m=audio 0 RTP/AVP 0\nm=audio 30000 RTP/AVP 0\na=rtcp:30001\n",
			       false, why),
		     0, "%s", why);
}
