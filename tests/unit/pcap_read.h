/* SPDX-License-Identifier: MIT
 * tests/unit/pcap_read.h: a minimal reader for classic libpcap files, down
 * to UDP and RTP, for tests that replay real captures. Header-only (static
 * inline) so any test can include it.
 *
 *   struct pcap_file pf;
 *   struct pcap_pkt pkt;
 *   struct pcap_udp u;
 *   struct pcap_rtp r;
 *
 *   if (pcap_open(&pf, path)) ...;
 *   while (pcap_next(&pf, &pkt) == 1)
 *       if (!pcap_udp(&pf, &pkt, &u) && !pcap_rtp(u.payload, u.len, &r)) ...;
 *   pcap_close(&pf);
 *
 * Classic format only (microsecond and nanosecond magics, either byte
 * order); pcapng is refused with -ENOTSUP. Link types: Ethernet (1, with
 * 802.1Q/802.1ad tags), BSD loopback (0), raw IP (101, 228, 229), Linux
 * cooked v1 (113) and v2 (276). Network: IPv4 (non-first fragments are
 * skipped) and IPv6 (UDP directly after the fixed header, or after
 * hop-by-hop/routing/destination options headers).
 */
#ifndef PCAP_READ_H
#define PCAP_READ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_LINKTYPE_NULL 0u
#define PCAP_LINKTYPE_ETHERNET 1u
#define PCAP_LINKTYPE_RAW 101u
#define PCAP_LINKTYPE_LINUX_SLL 113u
#define PCAP_LINKTYPE_IPV4 228u
#define PCAP_LINKTYPE_IPV6 229u
#define PCAP_LINKTYPE_LINUX_SLL2 276u

struct pcap_file {
	uint8_t *data; /* the whole file */
	size_t len;
	size_t off;       /* next record */
	bool swapped;     /* file written in the other byte order */
	bool nsec;        /* timestamps in nanoseconds */
	uint32_t linktype;
	uint32_t snaplen;
};

struct pcap_pkt {
	const uint8_t *data; /* captured bytes (points into the file) */
	uint32_t caplen, origlen;
	uint64_t ts_ns; /* capture time, ns since the epoch */
};

struct pcap_udp {
	uint8_t ip_version; /* 4 or 6 */
	uint8_t src[16], dst[16]; /* IPv4 addresses in the first 4 bytes */
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t len; /* UDP payload bytes actually captured */
};

struct pcap_rtp {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts, ssrc;
	const uint8_t *payload; /* after CSRCs and extension, before padding */
	size_t len;
};

static inline uint16_t pcap_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t pcap_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t pcap_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline uint32_t pcap_u32(const struct pcap_file *pf, const uint8_t *p)
{
	/* pcap fields are in the writer's byte order; read as little-endian
	 * unless the magic said the file is the other way round. */
	return pf->swapped ? pcap_be32(p) : pcap_le32(p);
}

/* Load a whole capture and check its global header. Returns 0; -errno
 * when the file cannot be read; -ENOTSUP for pcapng or an unknown magic;
 * -EINVAL for a truncated header. *pf is written only on success. */
static inline int pcap_open(struct pcap_file *pf, const char *path)
{
	struct pcap_file f = {0};
	FILE *fp = fopen(path, "rb");
	uint32_t magic;
	long n;
	int err;

	if (!fp)
		return -errno;
	if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
		err = -errno;
		fclose(fp);
		return err ? err : -EIO;
	}
	f.len = (size_t)n;
	f.data = malloc(f.len ? f.len : 1);
	if (!f.data) {
		fclose(fp);
		return -ENOMEM;
	}
	if (fread(f.data, 1, f.len, fp) != f.len) {
		free(f.data);
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	if (f.len < 24) {
		free(f.data);
		return -EINVAL;
	}
	magic = pcap_le32(f.data);
	switch (magic) {
	case 0xa1b2c3d4u: break;
	case 0xa1b23c4du: f.nsec = true; break;
	case 0xd4c3b2a1u: f.swapped = true; break;
	case 0x4d3cb2a1u: f.swapped = f.nsec = true; break;
	default: /* 0x0a0d0d0a is pcapng */
		free(f.data);
		return -ENOTSUP;
	}
	f.snaplen = pcap_u32(&f, f.data + 16);
	f.linktype = pcap_u32(&f, f.data + 20) & 0x0fffffffu; /* upper bits: FCS info */
	f.off = 24;
	*pf = f;
	return 0;
}

/* Free what pcap_open loaded; accepts a zeroed or closed pcap_file. */
static inline void pcap_close(struct pcap_file *pf)
{
	free(pf->data);
	pf->data = NULL;
	pf->len = pf->off = 0;
}

/* The next record: returns 1 with *pkt written, 0 at the end of the file,
 * -EINVAL for a truncated record or one larger than the file says. */
static inline int pcap_next(struct pcap_file *pf, struct pcap_pkt *pkt)
{
	const uint8_t *h;
	uint32_t sec, frac, caplen;

	if (pf->off == pf->len)
		return 0;
	if (pf->len - pf->off < 16)
		return -EINVAL;
	h = pf->data + pf->off;
	sec = pcap_u32(pf, h);
	frac = pcap_u32(pf, h + 4);
	caplen = pcap_u32(pf, h + 8);
	if (caplen > pf->len - pf->off - 16)
		return -EINVAL;
	pkt->data = h + 16;
	pkt->caplen = caplen;
	pkt->origlen = pcap_u32(pf, h + 12);
	pkt->ts_ns = (uint64_t)sec * 1000000000u + (pf->nsec ? frac : (uint64_t)frac * 1000u);
	pf->off += 16 + (size_t)caplen;
	return 1;
}

/* Find the UDP datagram in a record. Returns 0 with *u written; -ENOENT
 * when the record is not UDP over IPv4/IPv6 (ARP, TCP, a later fragment,
 * ...); -ENOTSUP for a link type this reader does not know; -EINVAL for a
 * truncated or malformed header. */
static inline int pcap_udp(const struct pcap_file *pf, const struct pcap_pkt *pkt,
			   struct pcap_udp *u)
{
	const uint8_t *p = pkt->data;
	size_t len = pkt->caplen, l3, ulen;
	struct pcap_udp r = {0};
	uint16_t ethertype = 0;
	uint8_t proto;

	switch (pf->linktype) {
	case PCAP_LINKTYPE_ETHERNET:
		if (len < 14)
			return -EINVAL;
		ethertype = pcap_be16(p + 12);
		p += 14;
		len -= 14;
		while (ethertype == 0x8100 || ethertype == 0x88a8) { /* VLAN tags */
			if (len < 4)
				return -EINVAL;
			ethertype = pcap_be16(p + 2);
			p += 4;
			len -= 4;
		}
		break;
	case PCAP_LINKTYPE_LINUX_SLL:
		if (len < 16)
			return -EINVAL;
		ethertype = pcap_be16(p + 14);
		p += 16;
		len -= 16;
		break;
	case PCAP_LINKTYPE_LINUX_SLL2:
		if (len < 20)
			return -EINVAL;
		ethertype = pcap_be16(p);
		p += 20;
		len -= 20;
		break;
	case PCAP_LINKTYPE_NULL: { /* 4-byte AF_ value in the writer's order */
		uint32_t af;

		if (len < 4)
			return -EINVAL;
		af = pcap_u32(pf, p);
		ethertype = af == 2 ? 0x0800 : (af == 24 || af == 28 || af == 30) ? 0x86dd : 0;
		p += 4;
		len -= 4;
		break;
	}
	case PCAP_LINKTYPE_RAW:
	case PCAP_LINKTYPE_IPV4:
	case PCAP_LINKTYPE_IPV6:
		if (len < 1)
			return -EINVAL;
		ethertype = (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86dd : 0;
		break;
	default:
		return -ENOTSUP;
	}

	if (ethertype == 0x0800) {
		if (len < 20 || (p[0] >> 4) != 4)
			return -EINVAL;
		l3 = (size_t)(p[0] & 0x0f) * 4;
		if (l3 < 20 || l3 > len)
			return -EINVAL;
		if (pcap_be16(p + 6) & 0x1fff) /* fragment offset: not the first */
			return -ENOENT;
		proto = p[9];
		r.ip_version = 4;
		memcpy(r.src, p + 12, 4);
		memcpy(r.dst, p + 16, 4);
	} else if (ethertype == 0x86dd) {
		if (len < 40 || (p[0] >> 4) != 6)
			return -EINVAL;
		proto = p[6];
		r.ip_version = 6;
		memcpy(r.src, p + 8, 16);
		memcpy(r.dst, p + 24, 16);
		l3 = 40;
		while (proto == 0 || proto == 43 || proto == 60) { /* skippable headers */
			if (len < l3 + 8)
				return -EINVAL;
			proto = p[l3];
			l3 += ((size_t)p[l3 + 1] + 1) * 8;
		}
		if (l3 > len)
			return -EINVAL;
	} else {
		return -ENOENT;
	}
	if (proto != 17)
		return -ENOENT;
	p += l3;
	len -= l3;
	if (len < 8)
		return -EINVAL;
	ulen = pcap_be16(p + 4);
	if (ulen < 8)
		return -EINVAL;
	r.sport = pcap_be16(p);
	r.dport = pcap_be16(p + 2);
	r.payload = p + 8;
	/* the UDP length, or what was captured of it (snaplen, Ethernet pad) */
	r.len = ulen - 8 < len - 8 ? ulen - 8 : len - 8;
	*u = r;
	return 0;
}

/* Parse an RTP header (RFC 3550): version 2, CSRCs, header extension and
 * padding. Returns 0 with *r written, or -EINVAL for anything else. */
static inline int pcap_rtp(const uint8_t *p, size_t len, struct pcap_rtp *r)
{
	size_t hl, pad = 0;

	if (len < 12 || (p[0] >> 6) != 2)
		return -EINVAL;
	hl = 12 + (size_t)(p[0] & 0x0f) * 4;
	if (len < hl)
		return -EINVAL;
	if (p[0] & 0x10) {
		if (len < hl + 4)
			return -EINVAL;
		hl += 4 + (size_t)pcap_be16(p + hl + 2) * 4;
		if (len < hl)
			return -EINVAL;
	}
	if (p[0] & 0x20) {
		pad = p[len - 1];
		if (pad == 0 || pad > len - hl)
			return -EINVAL;
	}
	r->marker = (p[1] & 0x80) != 0;
	r->pt = p[1] & 0x7f;
	r->seq = pcap_be16(p + 2);
	r->ts = pcap_be32(p + 4);
	r->ssrc = pcap_be32(p + 8);
	r->payload = p + hl;
	r->len = len - hl - pad;
	return 0;
}

#endif
