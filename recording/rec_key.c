/* SPDX-License-Identifier: MIT
 * rec_key: the key-encryption key (KEK) of sealed recordings: loaded from
 * a file ([recording] key_file), named by an id ([recording] key_id, or
 * one derived from the key), held by the daemon for its recorders.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rec_seal.h"

static struct rec_kek g_kek;
static bool g_have;

void rec_kek_derive_id(const uint8_t key[REC_KEY_BYTES], char id[REC_KEY_ID_MAX])
{
	static const uint8_t ctx[] = "medius recording KEK id";
	uint8_t h[16];

	/* keyed by the KEK: the id tells keys apart and says nothing of them */
	crypto_generichash(h, sizeof(h), ctx, sizeof(ctx) - 1, key, REC_KEY_BYTES);
	id[0] = 'k';
	for (unsigned i = 0; i < 8; i++)
		snprintf(id + 1 + 2 * i, 3, "%02x", h[i]);
}

void rec_kek_wipe(struct rec_kek *k)
{
	sodium_memzero(k, sizeof(*k));
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int rec_kek_load(const char *file, const char *id, struct rec_kek *out, char *err, size_t errlen)
{
	uint8_t buf[256];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return -EIO;
	}
	memset(out, 0, sizeof(*out));
	if (id && strlen(id) >= REC_KEY_ID_MAX) {
		snprintf(err, errlen, "key id '%s' is longer than %d characters", id, REC_KEY_ID_MAX - 1);
		return -EINVAL;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "key file %s: %s", file, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s: not a regular file", file);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "key file %s: readable or writable by others (mode %04o): chmod 600 it", file,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EACCES;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == REC_KEY_BYTES) { /* raw, unless it happens to be 32 hex digits (too short to be a hex key) */
		memcpy(out->key, buf, REC_KEY_BYTES);
	} else if (n > 0) {
		unsigned k = 0;
		int hi = -1;

		for (ssize_t i = 0; i < n && !rc; i++) {
			int v = hexval(buf[i]);

			if (isspace(buf[i]))
				continue;
			if (v < 0 || k == REC_KEY_BYTES) {
				rc = -EINVAL;
				break;
			}
			if (hi < 0) {
				hi = v;
			} else {
				out->key[k++] = (uint8_t)(hi << 4 | v);
				hi = -1;
			}
		}
		if (k != REC_KEY_BYTES || hi >= 0)
			rc = -EINVAL;
	} else {
		rc = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	if (rc) {
		snprintf(err, errlen, "key file %s: not a key (64 hex digits, or 32 raw bytes)", file);
		rec_kek_wipe(out);
		return rc;
	}
	if (id && *id)
		snprintf(out->id, sizeof(out->id), "%s", id);
	else
		rec_kek_derive_id(out->key, out->id);
	return 0;
}

int rec_seal_configure(const char *key_file, const char *key_id, char *err, size_t errlen)
{
	struct rec_kek k;
	int rc;

	if (!key_file || !*key_file) {
		rec_kek_wipe(&g_kek);
		g_have = false;
		return 0;
	}
	if ((rc = rec_kek_load(key_file, key_id, &k, err, errlen)))
		return rc;
	g_kek = k;
	rec_kek_wipe(&k);
	sodium_mlock(&g_kek, sizeof(g_kek)); /* kept out of swap where the limits allow (best effort) */
	g_have = true;
	return 0;
}

const struct rec_kek *rec_seal_kek(void)
{
	return g_have ? &g_kek : NULL;
}
