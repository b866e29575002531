/* SPDX-License-Identifier: MIT
 * ctl_sign: signing ng requests (see ctl_sign.h). */
#include "ctl_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ctl_hmac_sha256(const uint8_t *key, size_t klen, const struct iovec *parts, int n, uint8_t out[32])
{
	static EVP_MD_CTX *md; /* one thread: the control lcore, or a tool */
	static EVP_MD *sha;    /* fetched once, not per digest (OpenSSL 3) */
	uint8_t k[64] = { 0 }, pad[64], inner[32];
	unsigned len;

	if (!md) {
		md = EVP_MD_CTX_new();
		sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	}
	if (klen > 64) {
		EVP_DigestInit_ex(md, sha, NULL);
		EVP_DigestUpdate(md, key, klen);
		EVP_DigestFinal_ex(md, k, &len);
	} else {
		memcpy(k, key, klen);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	EVP_DigestInit_ex(md, sha, NULL);
	EVP_DigestUpdate(md, pad, 64);
	for (int i = 0; i < n; i++)
		EVP_DigestUpdate(md, parts[i].iov_base, parts[i].iov_len);
	EVP_DigestFinal_ex(md, inner, &len);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	EVP_DigestInit_ex(md, sha, NULL);
	EVP_DigestUpdate(md, pad, 64);
	EVP_DigestUpdate(md, inner, 32);
	EVP_DigestFinal_ex(md, out, &len);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int ctl_sign_request(struct ctl_buf *out, const char *cookie, const char *client, const uint8_t *key,
		     size_t klen, int64_t ts, const char *body, size_t blen)
{
	char tsbuf[24], hex[65];
	uint8_t mac[32];
	const char *r;
	size_t rlen;

	while (blen && blank(*body))
		body++, blen--;
	while (blen && blank(body[blen - 1]))
		blen--;
	if (blen < 2 || (body[0] != 'd' && body[0] != '{'))
		return -EINVAL;
	r = body + 1;
	rlen = blen - 1;
	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts);
	ctl_hmac_sha256(key, klen,
			(struct iovec[]){ { (void *)cookie, strlen(cookie) }, { (void *)" ", 1 },
					  { (void *)client, strlen(client) }, { (void *)" ", 1 },
					  { tsbuf, strlen(tsbuf) }, { (void *)" ", 1 }, { (void *)r, rlen } },
			7, mac);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	if (body[0] == 'd')
		ctl_buf_printf(out, "%s d4:authd6:client%zu:%s4:hmac64:%s2:tsi%" PRId64 "ee", cookie, strlen(client),
			       client, hex, ts);
	else
		ctl_buf_printf(out, "%s {\"auth\":{\"client\":\"%s\",\"ts\":%" PRId64 ",\"hmac\":\"%s\"},", cookie,
			       client, ts, hex);
	ctl_buf_put(out, r, rlen);
	return out->err;
}

int ctl_sign_key_file(const char *path, const char *client, char *name, uint8_t *key, size_t keycap,
		      size_t *klen, char *err, size_t errlen)
{
	char line[512];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -ENOENT;
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || (st.st_mode & (S_IROTH | S_IWOTH))) {
		snprintf(err, errlen, "%s: others may read or write it; refusing it (chmod 600)", path);
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(err, errlen, "%s: no secret for %s", path, client ? client : "any client");
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		char *n = strtok(line, " \t\r\n"), *b64 = n ? strtok(NULL, " \t\r\n") : NULL;
		uint8_t buf[3 * 512 / 4 + 3];
		size_t len, pad;
		int got;

		if (!n || *n == '#' || (client && strcmp(n, client)))
			continue;
		len = b64 ? strlen(b64) : 0;
		pad = len >= 2 ? (b64[len - 1] == '=') + (b64[len - 2] == '=') : 0;
		got = len && len % 4 == 0 && strlen(n) <= 64 ? EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len) : -1;
		if (got < 0 || (size_t)got - pad > keycap || (size_t)got - pad < 16) {
			snprintf(err, errlen, "%s: the secret of '%s' is not base64 of 16 to %zu bytes", path, n, keycap);
			rc = -EINVAL;
			break;
		}
		*klen = (size_t)got - pad;
		memcpy(key, buf, *klen);
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(name, 65, "%s", n);
		rc = 0;
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return rc;
}
