/* SPDX-License-Identifier: MIT
 * rec_pcap: the pcap sink, written by hand (the classic format: a 24-byte
 * file header, then per packet a 16-byte record header and the bytes),
 * link type 101 (LINKTYPE_RAW: an IPv4 or IPv6 packet). Each RTP packet a
 * recorded leg accepted is wrapped in IP and UDP headers made from the
 * addresses its source was given (the party's and medius's). Records are
 * collected in a 64 KiB buffer written out when full and at every sync;
 * rec_pcap_fix cuts a file after its last whole record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_seal_int.h"

#define BUF 65536

struct pcap {
	struct rec_sink s;
	struct rec_out out; /* plain or sealed (rec_seal_int.h) */
	size_t used;
	uint8_t buf[BUF];
};

static int drain(struct pcap *c)
{
	int rc = rec_out_write(&c->out, c->buf, c->used);

	c->used = 0;
	return rc;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t ip_csum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	return 9;
}

static int pcap_packet(struct rec_sink *s, const struct rec_pkt *p)
{
	struct pcap *c = (struct pcap *)s;
	bool v6 = p->src->ss_family == AF_INET6 && p->dst->ss_family == AF_INET6;
	size_t ip = v6 ? 40 : 20, total = ip + 8 + p->len;
	uint8_t *r;
	int rc;

	if (16 + total > BUF)
		return 0; /* larger than any RTP packet medius takes */
	if (c->used + 16 + total > BUF && (rc = drain(c)))
		return rc;
	r = c->buf + c->used;
	{
		uint32_t hdr[4] = { (uint32_t)(p->wall_ns / 1000000000u), (uint32_t)(p->wall_ns % 1000000000u / 1000u),
				    (uint32_t)total, (uint32_t)total };

		memcpy(r, hdr, 16); /* the file's byte order is ours: the magic says which */
	}
	r += 16;
	memset(r, 0, ip + 8);
	if (v6) {
		r[0] = 0x60;
		put16(r + 4, (uint16_t)(8 + p->len));
		r[6] = 17;
		r[7] = 64;
		memcpy(r + 8, &((const struct sockaddr_in6 *)p->src)->sin6_addr, 16);
		memcpy(r + 24, &((const struct sockaddr_in6 *)p->dst)->sin6_addr, 16);
	} else {
		r[0] = 0x45;
		put16(r + 2, (uint16_t)total);
		r[8] = 64;
		r[9] = 17;
		if (p->src->ss_family == AF_INET)
			memcpy(r + 12, &((const struct sockaddr_in *)p->src)->sin_addr, 4);
		if (p->dst->ss_family == AF_INET)
			memcpy(r + 16, &((const struct sockaddr_in *)p->dst)->sin_addr, 4);
		put16(r + 10, ip_csum(r, 20));
	}
	put16(r + ip, port_of(p->src));
	put16(r + ip + 2, port_of(p->dst));
	put16(r + ip + 4, (uint16_t)(8 + p->len)); /* UDP checksum 0: none */
	memcpy(r + ip + 8, p->data, p->len);
	c->used += 16 + total;
	return 0;
}

static int pcap_sync(struct rec_sink *s)
{
	struct pcap *c = (struct pcap *)s;
	int rc = drain(c);

	return rc ? rc : rec_out_sync(&c->out);
}

static int pcap_close(struct rec_sink *s)
{
	struct pcap *c = (struct pcap *)s;
	int rc = drain(c), e = rec_out_close(&c->out);

	if (e && !rc)
		rc = e;
	free(c);
	return rc;
}

static const struct rec_sink_ops pcap_ops = { .packet = pcap_packet, .sync = pcap_sync, .close = pcap_close };

struct rec_sink *rec_pcap_open(const char *path, int *err)
{
	struct pcap *c = calloc(1, sizeof(*c));
	uint32_t gh[6] = { 0xa1b2c3d4u, 2u | 4u << 16, 0, 0, 65535, 101 };
	int rc;

	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((rc = rec_out_open(&c->out, path, c->s.path))) {
		*err = rc;
		free(c);
		return NULL;
	}
	if ((rc = rec_out_write(&c->out, (const uint8_t *)gh, sizeof(gh)))) {
		*err = rc;
		rec_out_discard(&c->out, c->s.path);
		free(c);
		return NULL;
	}
	c->s.ops = &pcap_ops;
	c->s.format = "pcap";
	return &c->s;
}

int rec_pcap_fix(const char *part)
{
	int fd = open(part, O_RDWR | O_CLOEXEC), rc = 0;
	struct stat st;
	uint32_t gh[6], rh[4];
	off_t off = 24;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || pread(fd, gh, 24, 0) != 24 || gh[0] != 0xa1b2c3d4u) {
		close(fd);
		return -EINVAL;
	}
	while (off + 16 <= st.st_size && pread(fd, rh, 16, off) == 16 && rh[2] <= 65535 &&
	       off + 16 + (off_t)rh[2] <= st.st_size)
		off += 16 + (off_t)rh[2];
	if (off < st.st_size && ftruncate(fd, off))
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}
