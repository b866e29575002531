/* SPDX-License-Identifier: MIT
 * rec_seal: the sealed container (rec_seal.h): a header with the wrapped
 * per-file key, then chunks of libsodium secretstream
 * (XChaCha20-Poly1305). Writing, reading, the recovery of a file a crash
 * cut short, and re-wrapping a file's key under a new KEK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rec_seal.h"

#define SS crypto_secretstream_xchacha20poly1305
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define MAX_CT (REC_SEAL_CHUNK + ABYTES)
#define WRAP_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAPPED (REC_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* header offsets */
#define H_ID 16
#define H_NONCE 48
#define H_WRAPPED 72
#define H_SS 120

_Static_assert(H_SS + crypto_secretstream_xchacha20poly1305_HEADERBYTES == REC_SEAL_HDR, "header layout");
_Static_assert(H_WRAPPED + WRAPPED == H_SS, "header layout");
_Static_assert(H_NONCE + WRAP_NONCE == H_WRAPPED, "header layout");

static const uint8_t magic[8] = { 'M', 'E', 'D', 'S', 'E', 'A', 'L', '1' };

struct rec_seal {
	int fd;
	crypto_secretstream_xchacha20poly1305_state st;
	off_t good;     /* the end of the last chunk wholly written */
	int err;        /* a chunk failed to write (disk full): nothing more but the FINAL chunk */
	size_t used;
	uint8_t pt[REC_SEAL_CHUNK];
	uint8_t ct[4 + MAX_CT];
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

int rec_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int put_all(int fd, const uint8_t *p, size_t n) { return rec_write_all(fd, p, n); }

static int pread_all(int fd, uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ENODATA;
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* The additional data that binds the wrapped key to its header. */
static void wrap_ad(const uint8_t *h, uint8_t ad[H_ID + REC_KEY_ID_MAX + 24])
{
	memcpy(ad, h, H_NONCE);
	memcpy(ad + H_NONCE, h + H_SS, 24);
}

/* Fill h's key id, nonce and wrapped key: file_key wrapped by k. */
static void wrap(uint8_t *h, const uint8_t file_key[REC_KEY_BYTES], const struct rec_kek *k)
{
	uint8_t ad[H_NONCE + 24];
	unsigned long long clen;

	memset(h + H_ID, 0, REC_KEY_ID_MAX);
	memcpy(h + H_ID, k->id, strnlen(k->id, REC_KEY_ID_MAX - 1));
	randombytes_buf(h + H_NONCE, WRAP_NONCE);
	wrap_ad(h, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(h + H_WRAPPED, &clen, file_key, REC_KEY_BYTES, ad, sizeof(ad), NULL,
						   h + H_NONCE, k->key);
}

static int unwrap(const uint8_t *h, const struct rec_kek *k, uint8_t file_key[REC_KEY_BYTES])
{
	uint8_t ad[H_NONCE + 24];
	unsigned long long plen;

	wrap_ad(h, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(file_key, &plen, NULL, h + H_WRAPPED, WRAPPED, ad, sizeof(ad),
						       h + H_NONCE, k->key) || plen != REC_KEY_BYTES)
		return -EKEYREJECTED;
	return 0;
}

static void id_of(const uint8_t *h, char id[REC_KEY_ID_MAX])
{
	size_t n = strnlen((const char *)h + H_ID, REC_KEY_ID_MAX - 1);

	memcpy(id, h + H_ID, n);
	id[n] = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e)
			id[i] = '?';
}

struct rec_seal *rec_seal_open(int fd, const struct rec_kek *k, int *err)
{
	struct rec_seal *s;
	uint8_t h[REC_SEAL_HDR] = { 0 }, file_key[REC_KEY_BYTES];
	int rc;

	if (sodium_init() < 0) {
		*err = -EIO;
		return NULL;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->fd = fd;
	s->used = 0;
	s->err = 0;
	crypto_secretstream_xchacha20poly1305_keygen(file_key);
	memcpy(h, magic, sizeof(magic));
	h[8] = 1;
	put_le32(h + 12, REC_SEAL_CHUNK);
	crypto_secretstream_xchacha20poly1305_init_push(&s->st, h + H_SS, file_key);
	wrap(h, file_key, k);
	sodium_memzero(file_key, sizeof(file_key));
	if ((rc = put_all(fd, h, sizeof(h))) || (s->good = lseek(fd, 0, SEEK_CUR)) < 0) {
		rec_seal_abandon(s);
		*err = rc ? rc : -errno;
		return NULL;
	}
	return s;
}

/* Seal len bytes of pt as one chunk with tag and write it. */
static int emit(int fd, crypto_secretstream_xchacha20poly1305_state *st, uint8_t *ct, const uint8_t *pt, size_t len,
		uint8_t tag)
{
	put_le32(ct, (uint32_t)(len + ABYTES));
	crypto_secretstream_xchacha20poly1305_push(st, ct + 4, NULL, pt, len, ct, 4, tag);
	return put_all(fd, ct, 4 + len + ABYTES);
}

/* The writer's chunk of s->used bytes. A chunk that does not get wholly
 * written (disk full, I/O error) is cut off again and the stream's state
 * put back, so that the FINAL chunk at close follows the last whole one
 * and the file stays valid up to the error. */
static int wemit(struct rec_seal *s, uint8_t tag)
{
	crypto_secretstream_xchacha20poly1305_state saved = s->st;
	size_t len = s->err ? 0 : s->used;
	int rc = emit(s->fd, &s->st, s->ct, s->pt, len, tag);

	s->used = 0;
	if (rc) {
		s->st = saved;
		if (!ftruncate(s->fd, s->good))
			lseek(s->fd, s->good, SEEK_SET);
		if (!s->err)
			s->err = rc;
	} else {
		s->good += (off_t)(4 + len + ABYTES);
	}
	sodium_memzero(&saved, sizeof(saved));
	return rc;
}

int rec_seal_write(struct rec_seal *s, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (s->err)
		return s->err;
	while (n) {
		size_t m = REC_SEAL_CHUNK - s->used < n ? REC_SEAL_CHUNK - s->used : n;
		int rc;

		memcpy(s->pt + s->used, b, m);
		s->used += m;
		b += m;
		n -= m;
		if (s->used == REC_SEAL_CHUNK && (rc = wemit(s, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)))
			return rc;
	}
	return 0;
}

int rec_seal_flush(struct rec_seal *s)
{
	if (s->err)
		return s->err;
	return s->used ? wemit(s, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) : 0;
}

void rec_seal_abandon(struct rec_seal *s)
{
	if (!s)
		return;
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int rec_seal_close(struct rec_seal *s)
{
	int was = s->err, rc = wemit(s, crypto_secretstream_xchacha20poly1305_TAG_FINAL); /* after an error: empty */

	rec_seal_abandon(s);
	return rc ? rc : was;
}

/* ---- reading ---- */

struct reader {
	int fd;
	off_t size;
	uint8_t h[REC_SEAL_HDR];
	crypto_secretstream_xchacha20poly1305_state st;
};

static int open_reader(struct reader *r, const char *path, const struct rec_kek *k, int flags, char *err,
		       size_t errlen)
{
	struct stat st;
	uint8_t file_key[REC_KEY_BYTES];
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return -EIO;
	}
	r->fd = open(path, flags | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(r->fd, &st) || st.st_size < REC_SEAL_HDR || pread_all(r->fd, r->h, REC_SEAL_HDR, 0) ||
	    memcmp(r->h, magic, sizeof(magic)) || r->h[8] != 1) {
		snprintf(err, errlen, "%s: not a sealed recording (no MEDSEAL1 header)", path);
		close(r->fd);
		return -EINVAL;
	}
	r->size = st.st_size;
	if (!k) {
		snprintf(err, errlen, "%s: sealed, and no key was given", path);
		close(r->fd);
		return -ENOKEY;
	}
	if (unwrap(r->h, k, file_key)) {
		char id[REC_KEY_ID_MAX];

		id_of(r->h, id);
		snprintf(err, errlen, "%s: the key (id %s) does not open this file: its key is wrapped under key id %s",
			 path, k->id, id);
		close(r->fd);
		return -EKEYREJECTED;
	}
	crypto_secretstream_xchacha20poly1305_init_pull(&r->st, r->h + H_SS, file_key);
	sodium_memzero(file_key, sizeof(file_key));
	return 0;
}

/* Pull chunks from REC_SEAL_HDR on. out may be NULL. *good: the end of the
 * last chunk that authenticated; *final: whether it carried TAG_FINAL.
 * Returns 0 at a FINAL chunk that ends the file, or an error with err. */
enum { W_WHOLE, W_TORN, W_BAD, W_AFTER, W_NOFINAL, W_OUT };

static int pull_all(struct reader *r, const char *path, int (*out)(void *, const void *, size_t), void *ctx,
		    off_t *good, unsigned *chunks, int *why, char *err, size_t errlen)
{
	uint8_t *buf = malloc(4 + MAX_CT), *pt = malloc(REC_SEAL_CHUNK);
	off_t off = REC_SEAL_HDR;
	unsigned n = 0;
	int rc = 0;

	*why = W_WHOLE;
	if (!buf || !pt) {
		free(buf);
		free(pt);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (;;) {
		unsigned long long plen;
		uint32_t clen;
		uint8_t tag;

		if (off == r->size) {
			*why = W_NOFINAL;
			snprintf(err, errlen,
				 "%s: ends after chunk %u (offset %lld) without its final chunk: truncated, or still "
				 "being written",
				 path, n, (long long)off);
			rc = -EPROTO;
			break;
		}
		if (off + 4 > r->size || pread_all(r->fd, buf, 4, off)) {
			*why = W_TORN;
			snprintf(err, errlen, "%s: chunk %u at offset %lld is cut short (truncated)", path, n + 1,
				 (long long)off);
			rc = -EPROTO;
			break;
		}
		clen = le32(buf);
		if (clen < ABYTES || clen > MAX_CT) {
			*why = W_BAD;
			snprintf(err, errlen, "%s: chunk %u at offset %lld has an impossible length (%u): altered or corrupt",
				 path, n + 1, (long long)off, clen);
			rc = -EBADMSG;
			break;
		}
		if (off + 4 + (off_t)clen > r->size || pread_all(r->fd, buf + 4, clen, off + 4)) {
			*why = W_TORN;
			snprintf(err, errlen, "%s: chunk %u at offset %lld is cut short (truncated)", path, n + 1,
				 (long long)off);
			rc = -EPROTO;
			break;
		}
		if (crypto_secretstream_xchacha20poly1305_pull(&r->st, pt, &plen, &tag, buf + 4, clen, buf, 4)) {
			*why = off + 4 + (off_t)clen == r->size ? W_TORN : W_BAD;
			snprintf(err, errlen,
				 "%s: chunk %u at offset %lld (bytes %lld-%lld) fails authentication: the file was "
				 "altered or is corrupt",
				 path, n + 1, (long long)off, (long long)off, (long long)(off + 4 + clen - 1));
			rc = -EBADMSG;
			break;
		}
		n++;
		off += 4 + (off_t)clen;
		*good = off;
		if (out && plen && (rc = out(ctx, pt, (size_t)plen))) {
			*why = W_OUT;
			snprintf(err, errlen, "%s: cannot write what chunk %u holds: %s", path, n, strerror(-rc));
			break;
		}
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
			if (off != r->size) {
				*why = W_AFTER;
				snprintf(err, errlen, "%s: %lld bytes after the final chunk (offset %lld): altered",
					 path, (long long)(r->size - off), (long long)off);
				rc = -EPROTO;
			}
			break;
		}
	}
	*chunks = n;
	sodium_memzero(pt, REC_SEAL_CHUNK);
	free(pt);
	free(buf);
	return rc;
}

int rec_seal_read(const char *path, const struct rec_kek *k, int (*out)(void *ctx, const void *p, size_t n),
		  void *ctx, char *err, size_t errlen)
{
	struct reader r;
	off_t good = REC_SEAL_HDR;
	unsigned chunks;
	int why, rc = open_reader(&r, path, k, O_RDONLY, err, errlen);

	if (rc)
		return rc;
	rc = pull_all(&r, path, out, ctx, &good, &chunks, &why, err, errlen);
	sodium_memzero(&r.st, sizeof(r.st));
	close(r.fd);
	return rc;
}

int rec_seal_key_id(const char *path, char id[REC_KEY_ID_MAX])
{
	uint8_t h[REC_SEAL_HDR];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = pread_all(fd, h, sizeof(h), 0);
	close(fd);
	if (rc || memcmp(h, magic, sizeof(magic)))
		return -EINVAL;
	id_of(h, id);
	return 0;
}

int rec_seal_fix(const char *part, const struct rec_kek *k, char *err, size_t errlen)
{
	struct reader r;
	off_t good = REC_SEAL_HDR;
	unsigned chunks;
	int why, rc = open_reader(&r, part, k, O_RDWR, err, errlen);
	uint8_t ct[4 + ABYTES];

	if (rc)
		return rc;
	rc = pull_all(&r, part, NULL, NULL, &good, &chunks, &why, err, errlen);
	if (!rc) { /* whole already (the crash came after the FINAL chunk) */
		fsync(r.fd);
		close(r.fd);
		return 0;
	}
	if (why == W_BAD || why == W_AFTER) { /* not what a crash leaves */
		close(r.fd);
		return rc;
	}
	/* the state after the last whole chunk is the writer's: push the FINAL chunk with it */
	rc = 0;
	if (ftruncate(r.fd, good) || lseek(r.fd, good, SEEK_SET) != good) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot cut it after chunk %u: %s", part, chunks, strerror(errno));
	} else if ((rc = emit(r.fd, &r.st, ct, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL)) ||
		   fsync(r.fd)) {
		rc = rc ? rc : -errno;
		snprintf(err, errlen, "%s: cannot write its final chunk: %s", part, strerror(-rc));
	}
	sodium_memzero(&r.st, sizeof(r.st));
	close(r.fd);
	return rc;
}

int rec_seal_rewrap(const char *path, const struct rec_kek *old, const struct rec_kek *new_k, char *err,
		    size_t errlen)
{
	uint8_t h[REC_SEAL_HDR], file_key[REC_KEY_BYTES];
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (pread_all(fd, h, sizeof(h), 0) || memcmp(h, magic, sizeof(magic)) || h[8] != 1) {
		snprintf(err, errlen, "%s: not a sealed recording", path);
		close(fd);
		return -EINVAL;
	}
	if (!unwrap(h, new_k, file_key)) {
		sodium_memzero(file_key, sizeof(file_key));
		close(fd);
		return 1;
	}
	if (unwrap(h, old, file_key)) {
		char id[REC_KEY_ID_MAX];

		id_of(h, id);
		snprintf(err, errlen, "%s: neither key opens it (its key is wrapped under key id %s)", path, id);
		close(fd);
		return -EKEYREJECTED;
	}
	wrap(h, file_key, new_k);
	sodium_memzero(file_key, sizeof(file_key));
	/* bytes 16-119 in one write, inside the first sector */
	if (pwrite(fd, h + H_ID, H_SS - H_ID, H_ID) != H_SS - H_ID || fsync(fd)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: cannot rewrite its header: %s", path, strerror(-rc));
	}
	close(fd);
	return rc;
}

/* ---- whole small files ---- */

int rec_seal_write_file(const char *path, const struct rec_kek *k, const void *p, size_t n, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), rc;
	struct rec_seal *s;

	if (fd < 0)
		return -errno;
	s = rec_seal_open(fd, k, &rc);
	if (s) {
		rc = rec_seal_write(s, p, n);
		if (rc) {
			rec_seal_abandon(s);
		} else {
			rc = rec_seal_close(s);
		}
	}
	if (!rc && fdatasync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

struct grow {
	char *p;
	size_t n, cap;
};

static int grow_out(void *ctx, const void *p, size_t n)
{
	struct grow *g = ctx;

	if (g->n + n + 1 > g->cap) {
		size_t cap = (g->n + n + 1) * 2;
		char *q;

		if (cap > (64u << 20))
			return -EFBIG;
		q = realloc(g->p, cap);
		if (!q)
			return -ENOMEM;
		g->p = q;
		g->cap = cap;
	}
	memcpy(g->p + g->n, p, n);
	g->n += n;
	g->p[g->n] = 0;
	return 0;
}

int rec_seal_read_file(const char *path, const struct rec_kek *k, char **out, size_t *len, char *err,
		       size_t errlen)
{
	struct grow g = { 0 };
	int rc = grow_out(&g, "", 0);

	if (!rc)
		rc = rec_seal_read(path, k, grow_out, &g, err, errlen);
	if (rc) {
		if (g.p)
			sodium_memzero(g.p, g.cap);
		free(g.p);
		return rc;
	}
	*out = g.p;
	*len = g.n;
	return 0;
}
