/* SPDX-License-Identifier: MIT
 * dp_pkt: header parsing and building on plain byte buffers — Ethernet
 * (one 802.1Q tag), ARP, IPv4, IPv6, ICMP/ICMPv6 (echo, NDP), UDP,
 * checksums, the RFC 7983 first-byte demux, RTP and RTCP. No DPDK types, so
 * the kernel-UDP port and the ethdev ports share it. No allocation, no
 * locks, no syscalls, no logging; every read is bounded by the given length.
 * Sources: dp_pkt.c (checksums, L2-L4), dp_icmp.c (ICMP, NDP), dp_rtp.c
 * (demux, RTP, RTCP).
 *
 * Conventions
 *  - Parsers and in-place responders return `enum dp_drop`: DP_DROP_NONE (0)
 *    on success, otherwise the reason the packet must be dropped (the name of
 *    the counter to bump, dp_drop_name). Out-parameters, and for responders
 *    the frame itself, are written only on success.
 *  - Builders return the number of bytes written (> 0) or -errno (-ENOSPC:
 *    the buffer is too small; -EINVAL, -EMSGSIZE as documented).
 *  - Multi-byte values in structs are in host byte order; addresses and MACs
 *    are byte arrays in wire order (an IPv4 address is uint8_t[4]).
 *  - Offsets in a parse result are relative to the buffer given to that
 *    parser (dp_eth.l3_off from the frame start, dp_ipv4.payload_off from the
 *    IPv4 header, ...).
 *  - Checksums: sums are ones'-complement sums of big-endian 16-bit words,
 *    returned folded to at most 0xffff. dp_csum_fold gives the value to store
 *    (or 0 when verifying a region that includes its checksum).
 */
#ifndef DP_PKT_H
#define DP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- drop reasons ---- */

enum dp_drop {
	DP_DROP_NONE = 0,        /* not a drop: success */
	DP_DROP_ETH_TRUNC,       /* shorter than the Ethernet (+VLAN) header */
	DP_DROP_ETH_TYPE,        /* ethertype other than IPv4/IPv6/ARP, or a second tag */
	DP_DROP_ARP_BAD,         /* not Ethernet/IPv4 ARP, truncated, bad op */
	DP_DROP_IP_TRUNC,        /* buffer shorter than the header or the total length */
	DP_DROP_IP_VERSION,      /* version nibble not 4 (IPv4) or 6 (IPv6) */
	DP_DROP_IP_HDR_LEN,      /* IHL < 5, or total length < header length */
	DP_DROP_IP_BAD_CKSUM,    /* IPv4 header checksum */
	DP_DROP_IP_FRAGMENT,     /* IPv4 MF/offset, IPv6 fragment header */
	DP_DROP_IP_PROTO,        /* protocol/next header other than UDP and ICMP(v6) */
	DP_DROP_IP_TTL,          /* unacceptable TTL/hop limit (NDP needs 255) */
	DP_DROP_IP_NOT_LOCAL,    /* addressed (or ARP/NS target) not to us */
	DP_DROP_MCAST_NOT_FOR_US, /* multicast/broadcast not meant for medius: a group it is not in (MLD reports, router solicitations, others' DAD, mDNS), an ARP request for another address */
	DP_DROP_IP_BAD_SOURCE,   /* source multicast, broadcast or loopback */
	DP_DROP_IPV6_EXT,        /* an IPv6 extension header we do not take (routing, ...; an option to discard on) */
	DP_DROP_ICMP_BAD,        /* ICMP/ICMPv6 truncated, bad checksum, bad code/options */
	DP_DROP_ICMP_UNHANDLED,  /* valid ICMP of a type we do not answer */
	DP_DROP_UDP_TRUNC,       /* UDP length < 8 or beyond the IP payload */
	DP_DROP_UDP_BAD_CKSUM,   /* UDP checksum wrong (or absent over IPv6) */
	DP_DROP_RTP_TRUNC,       /* shorter than the RTP header, CSRCs or extension */
	DP_DROP_RTP_VERSION,     /* RTP version not 2 */
	DP_DROP_RTP_PADDING,     /* padding count 0 or beyond the payload */
	DP_DROP_RTCP_BAD,        /* RTCP compound packet malformed */
	DP_DROP_OVERSIZED,       /* larger than any UDP payload / than we handle */
	DP_DROP_NO_FLOW,         /* no flow for the 5-tuple */
	DP_DROP_SPOOFED_SOURCE,  /* flow found, source address/port not the peer's */
	DP_DROP_SRTP_AUTH,       /* SRTP/SRTCP authentication failed */
	DP_DROP_SRTP_REPLAY,     /* SRTP replay check failed */
	DP_DROP_SRTP_OTHER,      /* other SRTP failure (no room for the trailer, key expired, engine error) */
	DP_DROP_SRTP_MALFORMED,  /* SRTP/SRTCP truncated (no room for header and trailer) or not version 2 */
	DP_DROP_SRTP_MKI,        /* SRTP/SRTCP MKI not the leg's */
	DP_DROP_SRTP_SSRC_LIMIT, /* a new SSRC while the SRTP context keeps state for as many as it may */
	DP_DROP_NOT_RTP,         /* STUN/DTLS/other first byte not handled here */
	DP_DROP_TX_FULL,         /* transmit queue or socket buffer full (or no way out) */
	DP_DROP_NO_ARP,          /* next hop MAC unknown (ARP/NDP unresolved) */
	DP_DROP_NO_DEST,         /* the peer leg has no address to send to yet */
	DP_DROP_RELATCH_REFUSED, /* a new source for a latched leg, without the stream's continuity */
	DP_DROP_RX_NO_MBUF,      /* the worker's mbuf pool was empty at receive (left in the socket) */
	DP_DROP_HANDOFF_FULL,    /* the ring to the worker owning the flow was full */
	DP_DROP_ALLOC_FAILED,    /* no mbuf for a packet medius generates (hook output, RTCP, ARP/NDP), or no memory for libsrtp's state of a new SSRC */
	DP_DROP_TX_ERROR,        /* the kernel refused to send it (no route, unreachable) */
	DP_DROP__COUNT
};

/* The reason's counter name in snake_case ("ip_bad_cksum"); "invalid" for a
 * value outside the enum. Never NULL. */
const char *dp_drop_name(enum dp_drop d);

/* ---- byte access (unaligned, big-endian on the wire) ---- */

static inline uint16_t dp_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t dp_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void dp_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void dp_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- checksums (RFC 1071) ---- */

/* Add the bytes p[0..len) as big-endian 16-bit words to `sum` (an earlier
 * result, or 0); an odd final byte counts as its word's high byte. When
 * chaining, every piece but the last must have even length. Returns the sum
 * folded to 16 bits (<= 0xffff). */
uint32_t dp_csum_partial(const void *p, size_t len, uint32_t sum);
/* Fold `sum` to 16 bits with end-around carry and complement it: the value
 * for a checksum field (host order). Over data that includes a correct
 * checksum field the result is 0. */
uint16_t dp_csum_fold(uint32_t sum);
/* The IPv4 header checksum of hdr[0..hdr_len) (the checksum field itself is
 * skipped, so it need not be zeroed). hdr_len is 20..60, a multiple of 4. */
uint16_t dp_ipv4_csum(const uint8_t *hdr, size_t hdr_len);
/* Pseudo-header sums (unfolded-safe, <= 0xffff) for UDP/ICMPv6 checksums. */
uint32_t dp_phdr_sum4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		      uint16_t l4_len);
uint32_t dp_phdr_sum6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr,
		      uint32_t l4_len);

/* ---- Ethernet ---- */

#define DP_ETH_ADDR_LEN 6
#define DP_ETH_HDR_LEN 14
#define DP_VLAN_HDR_LEN 4
#define DP_ETHERTYPE_IPV4 0x0800
#define DP_ETHERTYPE_ARP 0x0806
#define DP_ETHERTYPE_VLAN 0x8100
#define DP_ETHERTYPE_QINQ 0x88a8
#define DP_ETHERTYPE_IPV6 0x86dd
/* Builders' `vlan` argument: no tag, or a TCI (PCP/DEI/VID) in 0..0xffff. */
#define DP_VLAN_NONE 0xffffffffu

struct dp_eth {
	uint8_t dst[DP_ETH_ADDR_LEN];
	uint8_t src[DP_ETH_ADDR_LEN];
	uint16_t ethertype; /* after the VLAN tag, if any */
	bool vlan;          /* one 802.1Q tag was present */
	uint16_t vlan_tci;  /* the whole TCI (0 without a tag) */
	uint16_t vid;       /* VLAN ID: vlan_tci & 0xfff */
	uint16_t l3_off;    /* 14, or 18 with a tag */
};

/* Parse an Ethernet II header with at most one 802.1Q tag. Accepts the
 * ethertypes IPv4, IPv6 and ARP; anything else (including 802.1ad or a second
 * tag) is DP_DROP_ETH_TYPE. DP_DROP_ETH_TRUNC when len is short. */
enum dp_drop dp_eth_parse(const uint8_t *p, size_t len, struct dp_eth *out);

/* Write an Ethernet header (with an 802.1Q tag carrying `vlan` unless it is
 * DP_VLAN_NONE) into buf. Returns its length (14 or 18) or -ENOSPC. */
int dp_eth_build(uint8_t *buf, size_t cap, const uint8_t dst[6], const uint8_t src[6],
		 uint32_t vlan, uint16_t ethertype);

/* ---- ARP (Ethernet/IPv4 only) ---- */

#define DP_ARP_LEN 28
#define DP_ARP_OP_REQUEST 1
#define DP_ARP_OP_REPLY 2

struct dp_arp {
	uint16_t op; /* DP_ARP_OP_REQUEST or DP_ARP_OP_REPLY */
	uint8_t sha[6], spa[4], tha[6], tpa[4];
};

/* Parse the ARP packet at p (the frame's L3 payload). DP_DROP_ARP_BAD unless
 * htype 1, ptype 0x0800, hlen 6, plen 4, op request or reply, len >= 28. */
enum dp_drop dp_arp_parse(const uint8_t *p, size_t len, struct dp_arp *out);
/* Answer, in place, the ARP request in `frame` (a whole Ethernet frame, VLAN
 * tag kept) if it asks for `ip`: becomes a reply from mac/ip to the
 * requester. *out_len = the reply's frame length (trailing padding dropped).
 * DP_DROP_IP_NOT_LOCAL when the target is not `ip`; DP_DROP_ARP_BAD for a
 * non-request or invalid ARP; Ethernet reasons as dp_eth_parse. */
enum dp_drop dp_arp_reply(uint8_t *frame, size_t len, const uint8_t mac[6], const uint8_t ip[4],
			  size_t *out_len);
/* Build a broadcast ARP request from mac/ip asking for target_ip (tagged with
 * `vlan` unless DP_VLAN_NONE). target_ip == ip gives a gratuitous ARP.
 * Returns the frame length (42, or 46 tagged) or -ENOSPC. */
int dp_arp_build_request(uint8_t *buf, size_t cap, uint32_t vlan, const uint8_t mac[6],
			 const uint8_t ip[4], const uint8_t target_ip[4]);

/* ---- IPv4 / IPv6 ---- */

#define DP_IPV4_HDR_LEN 20
#define DP_IPV6_HDR_LEN 40
#define DP_IPPROTO_ICMP 1
#define DP_IPPROTO_UDP 17
#define DP_IPPROTO_ICMPV6 58

struct dp_ipv4 {
	uint8_t src[4], dst[4];
	uint8_t proto;        /* DP_IPPROTO_UDP or DP_IPPROTO_ICMP */
	uint8_t ttl;
	uint8_t tos;
	uint16_t id;
	uint16_t hdr_len;     /* 20..60 */
	uint16_t total_len;   /* the header's total length */
	uint16_t payload_off; /* == hdr_len */
	uint16_t payload_len; /* total_len - hdr_len (Ethernet padding excluded) */
};

/* Validate the IPv4 header at p (len = bytes available; more than the total
 * length is padding). Drops: IP_TRUNC, IP_VERSION, IP_HDR_LEN, IP_BAD_CKSUM,
 * IP_FRAGMENT (MF set or offset != 0), IP_PROTO (not UDP/ICMP),
 * IP_BAD_SOURCE (source in 127/8 or 224/3: loopback, multicast, class E,
 * broadcast; 0.0.0.0 is allowed). Options are accepted and skipped. TTL is
 * not checked (RFC 1122 3.2.1.7). */
enum dp_drop dp_ipv4_parse(const uint8_t *p, size_t len, struct dp_ipv4 *out);

struct dp_ipv6 {
	uint8_t src[16], dst[16];
	uint8_t next_hdr;     /* DP_IPPROTO_UDP or DP_IPPROTO_ICMPV6 (after the extension headers) */
	uint8_t hop_limit;
	uint8_t tclass;
	uint32_t flow_label;
	uint16_t payload_off; /* 40, plus the hop-by-hop and destination options headers */
	uint16_t payload_len; /* of the UDP/ICMPv6 message: the header's payload length less those */
};

/* Validate the IPv6 header at p. A hop-by-hop options header (first) and
 * up to two destination options headers are walked and skipped, when every
 * option in them is padding or of a type marked "skip if unknown" (Router
 * Alert, as on MLD); payload_off then points past them. Drops: IP_TRUNC,
 * IP_VERSION, IP_FRAGMENT (fragment header), IPV6_EXT (an option that asks
 * for a discard, a hop-by-hop header not first; routing, AH, ESP, mobility,
 * HIP, shim6, experimental headers), IP_PROTO (anything else but
 * UDP/ICMPv6, e.g. TCP or no-next-header), IP_BAD_SOURCE (source multicast
 * ff00::/8 or loopback ::1; :: is allowed for DAD). */
enum dp_drop dp_ipv6_parse(const uint8_t *p, size_t len, struct dp_ipv6 *out);

/* ---- UDP ---- */

#define DP_UDP_HDR_LEN 8

struct dp_udp {
	uint16_t src_port, dst_port;
	uint16_t len;         /* the UDP length field (header included) */
	uint16_t payload_off; /* 8, from the UDP header */
	uint16_t payload_len; /* len - 8 */
};

/* dp_udp4_parse/dp_udp6_parse flags: the NIC already verified the checksum. */
#define DP_UDP_RX_CSUM_GOOD 0x1u

/* Parse the UDP datagram at p (the IP payload, len = its length) carried in
 * `ip`. The UDP length must be 8..len (bytes beyond it are ignored). The
 * checksum is verified unless flags has DP_UDP_RX_CSUM_GOOD; over IPv4 a zero
 * checksum means none, over IPv6 it is DP_DROP_UDP_BAD_CKSUM. */
enum dp_drop dp_udp4_parse(const struct dp_ipv4 *ip, const uint8_t *p, size_t len,
			   unsigned flags, struct dp_udp *out);
enum dp_drop dp_udp6_parse(const struct dp_ipv6 *ip, const uint8_t *p, size_t len,
			   unsigned flags, struct dp_udp *out);

/* What dp_udp4_build/dp_udp6_build write in front of a payload. */
struct dp_udp_tx {
	uint8_t eth_dst[6], eth_src[6];
	uint32_t vlan;        /* DP_VLAN_NONE or the TCI */
	uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes */
	uint16_t src_port, dst_port;
	uint8_t ttl;          /* TTL / hop limit; 0 means 64 */
	uint8_t tos;          /* IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN) */
	uint16_t ip_id;       /* IPv4 identification */
	uint32_t flow_label;  /* IPv6, low 20 bits */
	unsigned flags;       /* DP_TX_* */
};

/* Leave the UDP checksum to the NIC: the field holds the folded pseudo-header
 * sum (not complemented), as DPDK's UDP checksum offload expects. */
#define DP_TX_UDP_CSUM_OFFLOAD 0x1u
/* IPv4 only: send without a UDP checksum (field 0). */
#define DP_TX_UDP_CSUM_NONE 0x2u
/* IPv4 only: leave the header checksum 0 for the NIC to fill. */
#define DP_TX_IP_CSUM_OFFLOAD 0x4u

/* Header bytes dp_udp4_build / dp_udp6_build write for tx: 42/62, +4 tagged. */
size_t dp_udp4_hdr_len(const struct dp_udp_tx *tx);
size_t dp_udp6_hdr_len(const struct dp_udp_tx *tx);
/* Write Ethernet(+VLAN)+IPv4+UDP headers into hdr[0..cap) for a datagram
 * whose payload is payload[0..payload_len) (normally hdr + the header length,
 * but it need not be contiguous; it is only read, and may be NULL when the
 * UDP checksum is not computed here or payload_len is 0). IPv4 DF is set;
 * the IPv4 header has no options. Returns the header length, -ENOSPC (cap),
 * -EMSGSIZE (payload over 65507 bytes) or -EINVAL (payload NULL while a
 * checksum must be computed over it). */
int dp_udp4_build(uint8_t *hdr, size_t cap, const struct dp_udp_tx *tx, const uint8_t *payload,
		  size_t payload_len);
/* As dp_udp4_build for IPv6 (payload up to 65527 bytes). DP_TX_UDP_CSUM_NONE
 * and DP_TX_IP_CSUM_OFFLOAD are -EINVAL: IPv6 UDP needs a checksum. */
int dp_udp6_build(uint8_t *hdr, size_t cap, const struct dp_udp_tx *tx, const uint8_t *payload,
		  size_t payload_len);

/* ---- ICMPv4 / ICMPv6 / NDP (dp_icmp.c) ---- */

/* Turn the ICMPv4 echo request in `frame` (a whole Ethernet frame) into the
 * echo reply in place: MACs (source = mac), addresses swapped, TTL 64, type
 * 0, IPv4 and ICMP checksums updated; *out_len = the reply's frame length.
 * Drops: Ethernet/IPv4 reasons, IP_PROTO (not ICMP), ICMP_BAD (short, bad
 * checksum), ICMP_UNHANDLED (not an echo request), IP_NOT_LOCAL (dst != ip). */
enum dp_drop dp_icmp4_echo_reply(uint8_t *frame, size_t len, const uint8_t mac[6],
				 const uint8_t ip[4], size_t *out_len);
/* The ICMPv6 counterpart (type 128 -> 129, hop limit 64), with the
 * pseudo-header checksum checked and updated. */
enum dp_drop dp_icmp6_echo_reply(uint8_t *frame, size_t len, const uint8_t mac[6],
				 const uint8_t ip[16], size_t *out_len);

#define DP_ICMP6_ECHO_REQUEST 128
#define DP_ICMP6_ECHO_REPLY 129
#define DP_ICMP6_NS 135
#define DP_ICMP6_NA 136
/* Length of an NS/NA with one link-layer address option: 14 + 40 + 32. */
#define DP_NDP_FRAME_LEN 86

/* Turn the Neighbour Solicitation in `frame` for target `ip` into our
 * Neighbour Advertisement (RFC 4861 7.2.4) in place, in a buffer of `cap`
 * bytes (>= DP_NDP_FRAME_LEN, +4 tagged): solicited + override, target
 * link-layer option = mac, sent to the solicitor (to its source link-layer
 * option MAC if given) or, for DAD (source ::), to ff02::1 unsolicited.
 * Checks (RFC 4861 7.1.1): IP_TTL (hop limit != 255), ICMP_BAD (checksum,
 * code, short, multicast target, zero-length option, DAD with a source
 * link-layer option or to a non-solicited-node address), ICMP_UNHANDLED (not
 * an NS), IP_NOT_LOCAL (target != ip, or dst neither ip nor its
 * solicited-node group), OVERSIZED (the NA would not fit in cap). */
enum dp_drop dp_ndp_ns_reply(uint8_t *frame, size_t len, size_t cap, const uint8_t mac[6],
			     const uint8_t ip[16], size_t *out_len);

struct dp_ndp_na {
	uint8_t target[16];
	bool has_mac;  /* a target link-layer address option was present */
	uint8_t mac[6];
	bool router, solicited, override;
};

/* Parse a Neighbour Advertisement: p = the ICMPv6 message (ip's payload).
 * Drops: IP_TTL (hop limit != 255), ICMP_BAD (checksum, code, short,
 * multicast target, zero-length option), ICMP_UNHANDLED (not an NA). */
enum dp_drop dp_ndp_na_parse(const struct dp_ipv6 *ip, const uint8_t *p, size_t len,
			     struct dp_ndp_na *out);
/* Build a multicast Neighbour Solicitation from mac/src_ip for target_ip
 * (to its solicited-node group, with our source link-layer option).
 * Returns the frame length (86, +4 tagged) or -ENOSPC. */
int dp_ndp_ns_build(uint8_t *buf, size_t cap, uint32_t vlan, const uint8_t mac[6],
		    const uint8_t src_ip[16], const uint8_t target_ip[16]);

/* ---- RFC 7983 demux, RTP, RTCP (dp_rtp.c) ---- */

enum dp_demux {
	DP_DEMUX_STUN,  /* first byte 0..3 */
	DP_DEMUX_ZRTP,  /* 16..19 */
	DP_DEMUX_DTLS,  /* 20..63 */
	DP_DEMUX_TURN,  /* 64..79 (TURN channel data) */
	DP_DEMUX_RTP,   /* 128..191: RTP or RTCP (dp_is_rtcp) */
	DP_DEMUX_OTHER, /* anything else, or empty */
};

/* Classify a UDP payload by its first byte (RFC 7983). */
enum dp_demux dp_demux(const uint8_t *p, size_t len);
/* For a DP_DEMUX_RTP payload: true when it is RTCP (RFC 5761: byte 1, the
 * RTCP packet type, in 192..223). False when len < 2. */
bool dp_is_rtcp(const uint8_t *p, size_t len);

#define DP_RTP_HDR_LEN 12

struct dp_rtp {
	uint32_t ssrc, ts;
	uint16_t seq;
	uint8_t pt;
	bool marker;
	uint8_t cc;            /* CSRC count; the CSRCs are at byte 12 */
	bool ext;              /* a header extension is present */
	uint16_t ext_profile;  /* its 16-bit profile ("defined by profile") */
	uint16_t ext_off;      /* its data (after the 4-byte extension header) */
	uint16_t ext_len;      /* its data length in bytes (words * 4) */
	uint16_t hdr_len;      /* 12 + 4*cc (+ 4 + ext_len) */
	uint16_t payload_off;  /* == hdr_len */
	uint16_t payload_len;  /* excluding padding */
	uint8_t pad_len;       /* padding bytes at the end (0 without P) */
};

/* Parse an RTP packet (a UDP payload). Drops: RTP_TRUNC, RTP_VERSION,
 * RTP_PADDING (P set and count 0 or more than payload + count),
 * OVERSIZED (len > 65535). */
enum dp_drop dp_rtp_parse(const uint8_t *p, size_t len, struct dp_rtp *out);

/* RFC 8285 header extension elements, in a block dp_rtp_parse found
 * (ext_profile, and ext_len bytes at ext_off). The one-byte form (profile
 * 0xBEDE): per element a byte ID (4 bits) | L (4 bits) and L + 1 bytes of
 * data; ID 0 is a padding byte (0x00; ID 0 with L != 0 is malformed); ID 15
 * ends the walk (what follows is not looked at, RFC 8285 4.2). The two-byte
 * form (profile 0x100X, the low 4 bits an application's): per element a
 * byte ID, a byte of length 0..255 and that many bytes; ID 0 is a padding
 * byte. An element running past the block is malformed. No allocation:
 * the walker points into the block. */
#define DP_RTP_EXT_ONE_BYTE 0xBEDEu
#define DP_RTP_EXT_TWO_BYTE 0x1000u /* the profile's top 12 bits */
struct dp_rtp_ext_it {
	const uint8_t *p;
	uint16_t len, off;
	bool two_byte, done, bad;
};
/* Start a walk over block ext (len bytes) of profile. 0, or -ENOTSUP for
 * a profile of neither form (nothing to walk). */
int dp_rtp_ext_begin(struct dp_rtp_ext_it *it, uint16_t profile, const uint8_t *ext, size_t len);
/* The next element: 1 with *id (1..14 one-byte, 1..255 two-byte), *data
 * and *dlen (0..16 one-byte, 0..255 two-byte); 0 at the end (or an ID 15
 * stop); -EBADMSG when the block is malformed there (and at every call
 * after). */
int dp_rtp_ext_next(struct dp_rtp_ext_it *it, uint8_t *id, const uint8_t **data, uint8_t *dlen);
/* The first element with local id `id` in the block: 1 with *data and
 * *dlen, 0 when the block has none, -EBADMSG when the block is malformed
 * anywhere (a block is walked to its end, so a bad one is never half
 * believed), -ENOTSUP for a profile of neither form. */
int dp_rtp_ext_find(uint16_t profile, const uint8_t *ext, size_t len, uint8_t id, const uint8_t **data,
		    uint8_t *dlen);

/* Rewrite fields of an RTP header in place; p must hold >= 12 bytes (a
 * packet dp_rtp_parse accepted). */
static inline void dp_rtp_set_seq(uint8_t *p, uint16_t seq)
{
	dp_put_be16(p + 2, seq);
}
static inline void dp_rtp_set_ts(uint8_t *p, uint32_t ts)
{
	dp_put_be32(p + 4, ts);
}
static inline void dp_rtp_set_ssrc(uint8_t *p, uint32_t ssrc)
{
	dp_put_be32(p + 8, ssrc);
}
static inline void dp_rtp_set_pt(uint8_t *p, uint8_t pt)
{
	p[1] = (uint8_t)((p[1] & 0x80) | (pt & 0x7f));
}

#define DP_RTCP_SR 200
#define DP_RTCP_RR 201
#define DP_RTCP_SDES 202
#define DP_RTCP_BYE 203
#define DP_RTCP_APP 204
#define DP_RTCP_RTPFB 205
#define DP_RTCP_PSFB 206
#define DP_RTCP_XR 207
#define DP_RTCP_MAX_RB 4

struct dp_rtcp_rb {
	uint32_t reporter;      /* SSRC of the SR/RR that carried the block */
	uint32_t ssrc;          /* the source reported on */
	uint8_t fraction_lost;  /* /256 */
	int32_t cum_lost;       /* signed 24-bit, sign-extended */
	uint32_t ext_high_seq;
	uint32_t jitter;        /* in RTP timestamp units */
	uint32_t lsr;           /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;          /* delay since it, 1/65536 s */
};

struct dp_rtcp {
	bool has_sr;            /* sr_* are set from the first SR */
	uint32_t sr_ssrc;
	uint64_t sr_ntp;        /* 32.32 fixed point seconds since 1900 */
	uint32_t sr_rtp_ts, sr_packets, sr_octets;
	uint8_t n_rb;           /* report blocks kept in rb[] (first ones) */
	uint16_t rb_total;      /* report blocks seen in SR/RR packets */
	struct dp_rtcp_rb rb[DP_RTCP_MAX_RB];
	uint16_t n_packets;     /* packets in the compound */
	uint16_t n_sr, n_rr, n_sdes, n_bye, n_app, n_rtpfb, n_psfb, n_xr, n_other;
};

/* Walk the RTCP compound packet p[0..len) (a UDP payload, SRTCP trailer
 * already removed). Every packet needs version 2 and a length that fits;
 * the lengths must add up to len; only the last may be padded (count 1..its
 * body); SR/RR must hold their report count's blocks. Anything else is
 * DP_DROP_RTCP_BAD (len > 65535: DP_DROP_OVERSIZED). */
enum dp_drop dp_rtcp_parse(const uint8_t *p, size_t len, struct dp_rtcp *out);

/* The middle 32 bits of a 32.32 NTP timestamp (what LSR carries). */
static inline uint32_t dp_ntp_middle32(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}
/* Round-trip time from a report block (RFC 3550 6.4.1): now - lsr - dlsr,
 * all in 1/65536 s (now = dp_ntp_middle32 of the arrival time), rounded to
 * ms. -ENODATA when lsr is 0 (no SR seen yet), -ERANGE when the result
 * would be negative (clock skew). */
int32_t dp_rtcp_rtt_ms(uint32_t lsr, uint32_t dlsr, uint32_t now_ntp_middle32);

#endif
