/* SPDX-License-Identifier: MIT
 * ctl_auth: signed ng requests (see ctl_auth.h, docs/protocol.md). */
#include "ctl_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_bencode.h"
#include "ctl_json.h"
#include "ctl_sdes.h"
#include "ctl_sign.h"
#include "ctl_val.h"

struct client {
	char name[CTL_AUTH_CLIENT_MAX + 1];
	uint8_t key[CTL_AUTH_KEY_MAX];
	size_t klen;
};

struct seen {
	uint64_t h;  /* 0: never used */
	int64_t ts;
};

#define PROBES 64 /* replay-cache slots looked at per lookup */

struct ctl_auth {
	enum ctl_auth_mode mode;
	int64_t window;
	struct client *clients;
	unsigned n;
	struct seen *seen;
	uint64_t mask;
	uint64_t evictions;
	struct ctl_arena arena; /* the auth member's value */
	EVP_MD_CTX *md;
};

static const char *const names[CTL_REFUSE__COUNT] = {
	[CTL_REFUSE_NONE] = "none",
	[CTL_REFUSE_NOT_ALLOWED] = "source not allowed",
	[CTL_REFUSE_RATE] = "rate limit",
	[CTL_REFUSE_RATE_SOURCE] = "rate limit per source",
	[CTL_REFUSE_UNSIGNED] = "unsigned",
	[CTL_REFUSE_MALFORMED] = "malformed auth",
	[CTL_REFUSE_UNKNOWN_CLIENT] = "unknown client",
	[CTL_REFUSE_STALE] = "stale timestamp",
	[CTL_REFUSE_BAD_SIGNATURE] = "bad signature",
	[CTL_REFUSE_REPLAY] = "replay",
};

static const char *const reasons[CTL_REFUSE__COUNT] = {
	[CTL_REFUSE_NONE] = "",
	[CTL_REFUSE_NOT_ALLOWED] = "Source address not allowed",
	[CTL_REFUSE_RATE] = "Rate limit exceeded (max_ng_rps)",
	[CTL_REFUSE_RATE_SOURCE] = "Rate limit exceeded for this source (max_ng_rps_per_source)",
	[CTL_REFUSE_UNSIGNED] = "Authentication required: the request is not signed",
	[CTL_REFUSE_MALFORMED] = "Authentication failed: malformed auth member",
	[CTL_REFUSE_UNKNOWN_CLIENT] = "Authentication failed: unknown client",
	[CTL_REFUSE_STALE] = "Authentication failed: timestamp outside the window",
	[CTL_REFUSE_BAD_SIGNATURE] = "Authentication failed: bad signature",
	[CTL_REFUSE_REPLAY] = "Authentication failed: replayed request",
};

const char *ctl_refusal_name(enum ctl_refusal r) { return r < CTL_REFUSE__COUNT ? names[r] : "?"; }
const char *ctl_refusal_reason(enum ctl_refusal r) { return r < CTL_REFUSE__COUNT ? reasons[r] : "Refused"; }

int ctl_auth_mode_parse(const char *s, enum ctl_auth_mode *out)
{
	if (!strcasecmp(s, "off"))
		*out = CTL_AUTH_OFF;
	else if (!strcasecmp(s, "optional"))
		*out = CTL_AUTH_OPTIONAL;
	else if (!strcasecmp(s, "required"))
		*out = CTL_AUTH_REQUIRED;
	else
		return -EINVAL;
	return 0;
}

const char *ctl_auth_mode_name(enum ctl_auth_mode m)
{
	return m == CTL_AUTH_REQUIRED ? "required" : m == CTL_AUTH_OPTIONAL ? "optional" : "off";
}

struct ctl_auth *ctl_auth_create(enum ctl_auth_mode mode, uint32_t window_s, uint32_t replay_slots)
{
	struct ctl_auth *a = calloc(1, sizeof(*a));
	uint64_t slots = 1024;

	if (!a)
		return NULL;
	while (slots < replay_slots && slots < (1u << 24))
		slots <<= 1;
	a->mode = mode;
	a->window = window_s;
	a->mask = slots - 1;
	a->seen = calloc(slots, sizeof(*a->seen));
	a->clients = calloc(CTL_AUTH_MAX_CLIENTS, sizeof(*a->clients));
	a->md = EVP_MD_CTX_new();
	if (!a->seen || !a->clients || !a->md || ctl_arena_init(&a->arena, 16384)) {
		ctl_auth_destroy(a);
		return NULL;
	}
	return a;
}

void ctl_auth_destroy(struct ctl_auth *a)
{
	if (!a)
		return;
	if (a->clients)
		OPENSSL_cleanse(a->clients, CTL_AUTH_MAX_CLIENTS * sizeof(*a->clients));
	free(a->clients);
	free(a->seen);
	EVP_MD_CTX_free(a->md);
	ctl_arena_fini(&a->arena);
	free(a);
}

enum ctl_auth_mode ctl_auth_mode(const struct ctl_auth *a) { return a->mode; }
unsigned ctl_auth_clients(const struct ctl_auth *a) { return a->n; }
uint64_t ctl_auth_evictions(const struct ctl_auth *a) { return a->evictions; }

static bool name_ok(const char *s, size_t n)
{
	if (!n || n > CTL_AUTH_CLIENT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int ctl_auth_add_key(struct ctl_auth *a, const char *client, const uint8_t *key, size_t n)
{
	if (!name_ok(client, strlen(client)) || n < CTL_AUTH_KEY_MIN || n > CTL_AUTH_KEY_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->clients[i].name, client))
			return -EEXIST;
	if (a->n == CTL_AUTH_MAX_CLIENTS)
		return -ENOSPC;
	strcpy(a->clients[a->n].name, client);
	memcpy(a->clients[a->n].key, key, n);
	a->clients[a->n].klen = n;
	a->n++;
	return 0;
}

int ctl_auth_load_keys(struct ctl_auth *a, const char *path, char *err, size_t errlen)
{
	unsigned before = a->n;
	struct stat st;
	char line[512];
	int lineno = 0, rc = 0, fd;
	FILE *f;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "control.auth_keys %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "control.auth_keys %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "control.auth_keys %s: mode %04o lets every user read or write the "
			 "secrets; refusing it (chmod 600 or 640)", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *p = line, *name, *secret, *extra;
		uint8_t key[CTL_AUTH_KEY_MAX + 3];
		size_t klen;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "control.auth_keys %s:%d: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		p += strspn(p, " \t");
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		name = strtok(p, " \t\r\n");
		secret = strtok(NULL, " \t\r\n");
		extra = strtok(NULL, " \t\r\n");
		if (!name || !secret || extra) {
			snprintf(err, errlen, "control.auth_keys %s:%d: expected 'client-name base64secret'", path,
				 lineno);
			rc = -EINVAL;
		} else if (!name_ok(name, strlen(name))) {
			snprintf(err, errlen, "control.auth_keys %s:%d: client name '%s': use 1-%d letters, digits, "
				 "'.', '_' or '-'", path, lineno, name, CTL_AUTH_CLIENT_MAX);
			rc = -EINVAL;
		} else if (ctl_base64_decode(secret, strlen(secret), key, sizeof(key), &klen) ||
			   klen < CTL_AUTH_KEY_MIN || klen > CTL_AUTH_KEY_MAX) {
			snprintf(err, errlen, "control.auth_keys %s:%d: the secret of '%s' is not base64 of %d to %d "
				 "bytes", path, lineno, name, CTL_AUTH_KEY_MIN, CTL_AUTH_KEY_MAX);
			rc = -EINVAL;
		} else {
			rc = ctl_auth_add_key(a, name, key, klen);
			if (rc) {
				snprintf(err, errlen, "control.auth_keys %s:%d: client '%s': %s", path, lineno, name,
					 rc == -EEXIST ? "listed twice" : "too many clients");
				rc = -EINVAL;
			}
		}
		OPENSSL_cleanse(key, sizeof(key));
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (rc) {
		OPENSSL_cleanse(&a->clients[before], (a->n - before) * sizeof(*a->clients));
		a->n = before;
	}
	return rc;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The auth member of body: the region and the value (decoded in arena a
 * into *out). */
static int locate(const char *body, size_t len, struct ctl_arena *a, size_t *start, size_t *end, size_t *val,
		  size_t *val_len, struct ctl_val **out)
{
	struct ctl_val *v;
	size_t p = 0, consumed;
	bool json;
	int rc;

	while (p < len && blank(body[p]))
		p++;
	*end = len;
	while (*end > p && blank(body[*end - 1]))
		(*end)--;
	if (p < len && body[p] == 'd') {
		if (len - p < 7 || memcmp(body + p + 1, "4:auth", 6))
			return -ENOENT;
		p += 7;
		json = false;
	} else if (p < len && body[p] == '{') {
		p++;
		while (p < len && blank(body[p]))
			p++;
		if (len - p < 6 || memcmp(body + p, "\"auth\"", 6))
			return -ENOENT;
		p += 6;
		while (p < len && blank(body[p]))
			p++;
		if (p == len || body[p] != ':')
			return -EINVAL;
		p++;
		while (p < len && blank(body[p]))
			p++;
		json = true;
	} else {
		return -ENOENT;
	}
	if (p >= *end) /* nothing but blanks after the key */
		return -EINVAL;
	/* the value alone: an auth member is a dict of three short members,
	 * and the arena is small (a bigger value fails with -ENOMEM) */
	ctl_arena_reset(a);
	rc = json ? ctl_json_decode(a, body + p, *end - p, &v, &consumed, NULL)
		  : ctl_bencode_decode(a, body + p, *end - p, &v, &consumed, NULL);
	if (rc)
		return -EINVAL;
	*out = v;
	*val = p;
	*val_len = consumed;
	p += consumed;
	if (json) {
		while (p < *end && blank(body[p]))
			p++;
		if (p == *end || body[p] != ',')
			return -EINVAL;
		p++;
	}
	*start = p;
	return *start <= *end ? 0 : -EINVAL;
}

int ctl_auth_locate(const char *body, size_t len, size_t *start, size_t *end, size_t *val, size_t *val_len)
{
	struct ctl_arena a;
	struct ctl_val *v;
	int rc;

	if (ctl_arena_init(&a, 16384))
		return -ENOMEM;
	rc = locate(body, len, &a, start, end, val, val_len, &v);
	ctl_arena_fini(&a);
	return rc;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

enum ctl_refusal ctl_auth_verify(struct ctl_auth *a, const char *req, size_t len, int64_t now_s,
				 struct ctl_auth_sig *sig)
{
	const struct ctl_val *client, *ts, *mac;
	size_t clen, start, end, vpos, vlen;
	const char *body, *sp;
	struct ctl_val *v;
	uint8_t want[32], got[32];
	char tsbuf[24];
	int rc;

	memset(sig, 0, sizeof(*sig));
	sig->client = -1;
	if (!a || a->mode == CTL_AUTH_OFF)
		return CTL_REFUSE_NONE;
	sp = memchr(req, ' ', len < 130 ? len : 130);
	if (!sp)
		return CTL_REFUSE_NONE; /* no cookie: ctl_ng drops it */
	clen = (size_t)(sp - req);
	body = sp + 1;
	rc = locate(body, len - clen - 1, &a->arena, &start, &end, &vpos, &vlen, &v);
	if (rc == -ENOENT)
		return a->mode == CTL_AUTH_REQUIRED ? CTL_REFUSE_UNSIGNED : CTL_REFUSE_NONE;
	sig->present = true;
	if (rc || v->type != CTL_V_DICT)
		return CTL_REFUSE_MALFORMED;
	client = ctl_dict_get(v, "client");
	ts = ctl_dict_get(v, "ts");
	mac = ctl_dict_get(v, "hmac");
	if (!client || client->type != CTL_V_STR || !name_ok(client->u.s.p, client->u.s.len) || !ts ||
	    ts->type != CTL_V_INT || ts->u.i < 0 || !mac || mac->type != CTL_V_STR || mac->u.s.len != 64)
		return CTL_REFUSE_MALFORMED;
	for (int i = 0; i < 32; i++) {
		int hi = hexval(mac->u.s.p[2 * i]), lo = hexval(mac->u.s.p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CTL_REFUSE_MALFORMED;
		got[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(sig->name, client->u.s.p, client->u.s.len);
	sig->name[client->u.s.len] = '\0';
	sig->ts = ts->u.i;
	sig->cookie = req;
	sig->cookie_len = clen;
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->clients[i].name, sig->name))
			sig->client = (int)i;
	if (sig->client < 0)
		return CTL_REFUSE_UNKNOWN_CLIENT;
	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, sig->ts);
	{
		const struct client *c = &a->clients[sig->client];
		struct iovec parts[] = {
			{ (void *)req, clen + 1 },                 /* "cookie " */
			{ sig->name, client->u.s.len },
			{ (void *)" ", 1 },
			{ tsbuf, strlen(tsbuf) },
			{ (void *)" ", 1 },
			{ (void *)(body + start), end - start },
		};

		ctl_hmac_sha256(c->key, c->klen, parts, 6, want);
	}
	/* the signature first: an attacker learns nothing about the window
	 * from a forged request */
	if (CRYPTO_memcmp(want, got, 32))
		return CTL_REFUSE_BAD_SIGNATURE;
	if (sig->ts < now_s - a->window || sig->ts > now_s + a->window)
		return CTL_REFUSE_STALE;
	return CTL_REFUSE_NONE;
}

static uint64_t seen_hash(const struct ctl_auth_sig *sig)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *p = (const uint8_t *)sig->cookie;

	for (size_t i = 0; i < sig->cookie_len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h = (h ^ (uint64_t)sig->client) * 1099511628211ull;
	h = (h ^ (uint64_t)sig->ts) * 1099511628211ull;
	h ^= h >> 29;
	return h | 1; /* never 0: 0 marks an unused slot */
}

enum ctl_refusal ctl_auth_remember(struct ctl_auth *a, const struct ctl_auth_sig *sig, int64_t now_s)
{
	uint64_t h, i;
	struct seen *free_slot = NULL, *oldest = NULL;

	if (!a || !sig->present || sig->client < 0)
		return CTL_REFUSE_NONE;
	h = seen_hash(sig);
	for (unsigned k = 0; k < PROBES; k++) {
		struct seen *s;

		i = (h + k) & a->mask;
		s = &a->seen[i];
		if (!s->h) { /* never used: nothing further along this chain */
			if (!free_slot)
				free_slot = s;
			break;
		}
		if (s->ts < now_s - a->window) { /* out of the window: a replay would be stale */
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->h == h && s->ts == sig->ts)
			return CTL_REFUSE_REPLAY;
		if (!oldest || s->ts < oldest->ts)
			oldest = s;
	}
	if (!free_slot) { /* PROBES live entries in a row: the cache is too small */
		free_slot = oldest;
		a->evictions++;
	}
	free_slot->h = h;
	free_slot->ts = sig->ts;
	return CTL_REFUSE_NONE;
}
