/* SPDX-License-Identifier: MIT
 * control/ctl_sdes: SDES keys as SDP writes them (RFC 4568 a=crypto), and
 * the base64 they are written in (RFC 4648).
 *
 * The key material itself, struct dp_sdes, is the dataplane's (dp_srtp.h,
 * through its door dp.h): control parses it from an offer or answer here
 * and hands it to dp_leg_set_srtp; dp_sdes_generate makes fresh keys.
 *
 * Pure functions with no state: any thread, any lcore.
 */
#ifndef CTL_SDES_H
#define CTL_SDES_H

#include <stddef.h>
#include <stdint.h>

#include "dp.h" /* struct dp_sdes, enum dp_srtp_suite */

/* Parse the value of an a=crypto attribute (everything after "a=crypto:"),
 * e.g. "1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key||salt>|2^20".
 * Grammar accepted: tag (1-9 digits) SP suite SP "inline:" base64
 * ["|" lifetime] ["|" MKI ":" length], single spaces, nothing after.
 * The MKI "value:length" (RFC 4568 6.1) becomes out->mki, length bytes
 * big-endian (RFC 3711: what every packet carries); none: mki_len 0.
 * Returns 0 and fills *out, or:
 *   -ENOENT   unknown crypto suite
 *   -ENOTSUP  an MKI longer than DP_SRTP_MAX_MKI (4) bytes, more than one
 *             key (";"), a key method other than inline, or any session
 *             parameter (UNENCRYPTED_SRTP, KDR=, WSH=, ...)
 *   -EINVAL   anything else: syntax, bad base64, wrong key length, lifetime
 *             out of range (1..2^48), an MKI length outside 1..128 or a
 *             value that does not fit it, NULL arguments
 * *out is written only on success; decoded key bytes are wiped otherwise. */
int ctl_sdes_parse(const char *crypto_value, struct dp_sdes *out);

/* Format s as an a=crypto value (no "a=crypto:" prefix, no CRLF) into buf,
 * NUL-terminated. The lifetime, if set, is written as "2^N" when a power of
 * two, else in decimal; an MKI (mki_len 1..4) as "|value:length". Returns the length written (without the NUL), or
 * -ENOSPC if buf is too small, -EINVAL for an invalid s. */
int ctl_sdes_format(const struct dp_sdes *s, char *buf, size_t len);

/* The MKI of our answering key given the offerer's key: an MKI of the same
 * length, value 1, when the offer carried one (a peer that tags its packets
 * with an MKI expects ours tagged too; libsrtp configured for MKI refuses
 * packets without one), none otherwise. */
void ctl_sdes_answer_mki(struct dp_sdes *ours, const struct dp_sdes *theirs);

/* --- base64 (RFC 4648 §4, standard alphabet, padded) --------------------- */

/* Encode n bytes into out (out_len bytes including the NUL).
 * Returns the encoded length, or -ENOSPC. */
int ctl_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_len);

/* Decode exactly len characters. Strict: length a multiple of 4, '=' only as
 * the last one or two characters, unused bits of the last symbol zero, no
 * whitespace. Returns 0 and sets *out_n, -EINVAL for invalid input, -ENOSPC
 * if out_cap is too small. On error out is wiped. */
int ctl_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap, size_t *out_n);

#endif
