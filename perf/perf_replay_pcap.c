/* SPDX-License-Identifier: MIT
 * perf_replay_pcap.c: medius-replay's capture reader. libpcap reads the
 * file (pcap or pcapng); this file takes each record through its link
 * layer (Ethernet with any number of 802.1Q/802.1ad tags, Linux cooked
 * SLL and SLL2, raw IP, BSD loopback), IPv4 or IPv6 (extension headers
 * walked) to UDP, and hands out the datagrams.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_replay.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

struct perf_cap {
	pcap_t *p;
	FILE *mem; /* fmemopen'd buffer (perf_cap_open_mem) */
	int dlt;
	char name[256];
	struct perf_cap_stats st;
};

bool perf_addr_eq(const struct perf_addr *a, const struct perf_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4);
}

char *perf_addr_str(const struct perf_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->family == 4)
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
	snprintf(buf, len, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}

int perf_addr_parse(const char *s, struct perf_addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -1;
		n = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s + 1, n);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - s);
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
	}
	host[n] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		return -1;
	a->port = (uint16_t)port;
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = 6;
	else
		return -1;
	return 0;
}

static int finish_open(struct perf_cap **c, pcap_t *p, FILE *mem, const char *name, char *err,
		       size_t errlen)
{
	struct perf_cap *cap;
	int dlt = pcap_datalink(p);

	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		break;
	default: {
		const char *dn = pcap_datalink_val_to_name(dlt);

		snprintf(err, errlen,
			 "%s: unsupported link type %d (%s): medius-replay reads Ethernet (with or "
			 "without VLAN tags), Linux cooked (SLL, SLL2), raw IP and BSD loopback",
			 name, dlt, dn ? dn : "unknown");
		pcap_close(p);
		return -1;
	}
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		pcap_close(p);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	cap->p = p;
	cap->mem = mem;
	cap->dlt = dlt;
	snprintf(cap->name, sizeof(cap->name), "%s", name);
	*c = cap;
	return 0;
}

int perf_cap_open(struct perf_cap **c, const char *path, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	FILE *f = fopen(path, "rb");
	pcap_t *p;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!p) {
		/* libpcap closes nothing on failure */
		fclose(f);
		if (strstr(eb, "unknown file format"))
			snprintf(err, errlen, "%s: not a pcap or pcapng capture (bad magic number)", path);
		else if (strstr(eb, "truncated"))
			snprintf(err, errlen, "%s: truncated file header (%s)", path, eb);
		else
			snprintf(err, errlen, "%s: %s", path, eb[0] ? eb : "cannot read the capture");
		return -1;
	}
	return finish_open(c, p, NULL, path, err, errlen);
}

int perf_cap_open_mem(struct perf_cap **c, const void *data, size_t len, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	FILE *f;
	pcap_t *p;

	if (len == 0) {
		snprintf(err, errlen, "<memory>: empty capture");
		return -1;
	}
	f = fmemopen((void *)data, len, "rb");
	if (!f) {
		snprintf(err, errlen, "<memory>: %s", strerror(errno));
		return -1;
	}
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!p) {
		fclose(f);
		snprintf(err, errlen, "<memory>: %s", eb[0] ? eb : "cannot read the capture");
		return -1;
	}
	return finish_open(c, p, f, "<memory>", err, errlen);
}

void perf_cap_close(struct perf_cap *c)
{
	if (!c)
		return;
	pcap_close(c->p); /* closes the FILE too */
	free(c);
}

const struct perf_cap_stats *perf_cap_stats(const struct perf_cap *c)
{
	return &c->st;
}

int perf_cap_linktype(const struct perf_cap *c)
{
	return c->dlt;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void malformed(struct perf_cap *c, uint64_t rec)
{
	if (!c->st.malformed++)
		c->st.first_malformed = rec;
}

/* IP (version from the first nibble) to UDP: 1 a datagram, 0 skipped */
static int ip_udp(struct perf_cap *c, const uint8_t *p, uint32_t n, uint64_t rec,
		  struct perf_cap_pkt *out)
{
	const uint8_t *udp;
	uint32_t rest, ulen;

	if (n < 1) {
		malformed(c, rec);
		return 0;
	}
	if ((p[0] >> 4) == 4) {
		uint32_t ihl = (uint32_t)(p[0] & 15) * 4, tot;

		if (n < 20 || ihl < 20 || ihl > n) {
			malformed(c, rec);
			return 0;
		}
		tot = be16(p + 2);
		if (tot < ihl || tot > n) {
			malformed(c, rec);
			return 0;
		}
		if (be16(p + 6) & 0x3fff) { /* MF or an offset */
			c->st.fragments++;
			return 0;
		}
		if (p[9] != 17) {
			c->st.not_udp++;
			return 0;
		}
		out->src.family = out->dst.family = 4;
		memcpy(out->src.ip, p + 12, 4);
		memcpy(out->dst.ip, p + 16, 4);
		udp = p + ihl;
		rest = tot - ihl;
	} else if ((p[0] >> 4) == 6) {
		uint32_t plen, off = 40;
		uint8_t nh;

		if (n < 40) {
			malformed(c, rec);
			return 0;
		}
		plen = be16(p + 4);
		if (40 + plen > n) {
			malformed(c, rec);
			return 0;
		}
		nh = p[6];
		for (int hops = 0;; hops++) {
			if (nh == 17)
				break;
			if (nh == 44) {
				c->st.fragments++;
				return 0;
			}
			if ((nh != 0 && nh != 43 && nh != 60) || hops > 8) {
				c->st.not_udp++;
				return 0;
			}
			if (off + 8 > 40 + plen) {
				malformed(c, rec);
				return 0;
			}
			{
				uint32_t hl = ((uint32_t)p[off + 1] + 1) * 8;

				nh = p[off];
				off += hl;
			}
			if (off > 40 + plen) {
				malformed(c, rec);
				return 0;
			}
		}
		out->src.family = out->dst.family = 6;
		memcpy(out->src.ip, p + 8, 16);
		memcpy(out->dst.ip, p + 24, 16);
		udp = p + off;
		rest = 40 + plen - off;
	} else {
		c->st.not_udp++;
		return 0;
	}
	if (rest < 8) {
		malformed(c, rec);
		return 0;
	}
	ulen = be16(udp + 4);
	if (ulen < 8 || ulen > rest) {
		malformed(c, rec);
		return 0;
	}
	out->src.port = be16(udp);
	out->dst.port = be16(udp + 2);
	out->data = udp + 8;
	out->len = ulen - 8;
	return 1;
}

/* link layer to IP: the IP header's offset, or -1 (not IP: skipped) */
static int link_ip(struct perf_cap *c, const uint8_t *p, uint32_t n, uint64_t rec)
{
	uint32_t off;
	uint16_t et;

	switch (c->dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:
	case DLT_LOOP: {
		uint32_t fam;

		if (n < 4) {
			malformed(c, rec);
			return -1;
		}
		memcpy(&fam, p, 4);
		if (c->dlt == DLT_LOOP)
			fam = ntohl(fam);
		else if (fam > 0xffff)
			fam = __builtin_bswap32(fam); /* written on the other byte order */
		if (fam == 2 || fam == 24 || fam == 28 || fam == 30)
			return 4;
		c->st.not_udp++;
		return -1;
	}
	case DLT_EN10MB:
		if (n < 14) {
			malformed(c, rec);
			return -1;
		}
		off = 12;
		break;
	case DLT_LINUX_SLL:
		if (n < 16) {
			malformed(c, rec);
			return -1;
		}
		off = 14;
		break;
	case DLT_LINUX_SLL2:
		if (n < 20) {
			malformed(c, rec);
			return -1;
		}
		et = be16(p);
		off = 20;
		goto ethertype;
	default:
		return -1;
	}
	et = be16(p + off);
	off += 2;
ethertype:
	/* 802.1Q / 802.1ad / QinQ tags: any number */
	while (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
		if (off + 4 > n) {
			malformed(c, rec);
			return -1;
		}
		et = be16(p + off + 2);
		off += 4;
	}
	if (et != 0x0800 && et != 0x86dd) {
		c->st.not_udp++;
		return -1;
	}
	return (int)off;
}

int perf_cap_next(struct perf_cap *c, struct perf_cap_pkt *out, char *err, size_t errlen)
{
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int rc = pcap_next_ex(c->p, &h, &data), off;
		uint64_t rec;

		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			const char *why = pcap_geterr(c->p);

			snprintf(err, errlen, "%s: record %llu: %s%s", c->name,
				 (unsigned long long)c->st.records + 1,
				 strstr(why, "truncated") ? "truncated record: " : "", why);
			return -1;
		}
		rec = ++c->st.records;
		if (h->caplen < h->len) {
			if (!c->st.cut++)
				c->st.first_cut = rec;
			continue;
		}
		off = link_ip(c, data, h->caplen, rec);
		if (off < 0)
			continue;
		memset(out, 0, sizeof(*out));
		out->record = rec;
		out->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		if (ip_udp(c, data + off, h->caplen - (uint32_t)off, rec, out) == 1) {
			c->st.udp++;
			return 1;
		}
	}
}
