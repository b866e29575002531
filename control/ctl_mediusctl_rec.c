/* SPDX-License-Identifier: MIT
 * mediusctl recording: sealed recordings (docs/recording.md, "Encryption
 * at rest"), offline: it reads the files and the key directly, not
 * through the daemon.
 *
 *   mediusctl recording [-c CONF] [--dir DIR] [--key FILE] [--key-id ID]
 *             export ID|FILE [-o OUT] [--part main|caller|callee|pcap|meta]
 *   mediusctl recording [-c CONF] [--dir DIR]
 *             rekey --old-key FILE --new-key FILE [--old-key-id ID] [--new-key-id ID]
 *
 * The recording directory and the key come from mediusd's configuration
 * ([recording] dir, key_file, key_id) or from the options, which win.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_mediusctl_rec.h"
#include "rec_audit.h"
#include "rec_seal.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct rconf {
	char dir[1024], key_file[1024], key_id[REC_KEY_ID_MAX], audit_log[1024];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mediusctl recording [OPTION]... export ID|FILE [-o OUT] [--part PART]\n"
		"       mediusctl recording [OPTION]... rekey --old-key FILE --new-key FILE\n"
		"Sealed (encrypted) recordings, read from the disk directly.\n"
		"\n"
		"  export ID|FILE   decrypt a recording (its id, or a sealed file's path) to OUT\n"
		"                   (default: the sealed file's name without .enc, here); the file\n"
		"                   is checked whole: an altered or cut file exports nothing\n"
		"      -o, --output OUT\n"
		"      --part main|caller|callee|pcap|meta   which of the recording's files\n"
		"                   (default main: the stereo/mono WAV or Ogg Opus file)\n"
		"  rekey            re-wrap every sealed file's key under --dir from the old key\n"
		"                   to the new one (the audio is not re-encrypted)\n"
		"      --old-key FILE, --new-key FILE, --old-key-id ID, --new-key-id ID\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  mediusd's configuration: [recording] dir, key_file, key_id\n"
		"      --dir DIR      the recording directory\n"
		"      --key FILE     the key file (64 hex digits or 32 bytes, mode 0600)\n"
		"      --key-id ID    the key's id (default: derived from the key)\n"
		"Exports and re-keying are added to the audit log ([recording] audit_log,\n"
		"else DIR/audit.log when it exists).\n"
		"\n"
		"Exit status: 0 ok, 1 failed (the reason on stderr), 2 bad usage.\n");
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct rconf *c = user;

	if (strcmp(section, "recording"))
		return 1;
	if (!strcmp(name, "dir"))
		snprintf(c->dir, sizeof(c->dir), "%s", value);
	else if (!strcmp(name, "key_file"))
		snprintf(c->key_file, sizeof(c->key_file), "%s", value);
	else if (!strcmp(name, "key_id"))
		snprintf(c->key_id, sizeof(c->key_id), "%s", value);
	else if (!strcmp(name, "audit_log"))
		snprintf(c->audit_log, sizeof(c->audit_log), "%s", value);
	return 1;
}

static void report(const char *line)
{
	fprintf(stderr, "mediusctl: %s\n", line);
}

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* Exports and re-keying are audited in mediusd's audit log (rec_audit.h):
 * [recording] audit_log, else DIR/audit.log when it exists. Without one
 * nothing is audited, and that is said. */
static void audit_open(const struct rconf *c)
{
	char path[2048];
	int e;

	if (c->audit_log[0])
		snprintf(path, sizeof(path), "%s", c->audit_log);
	else if (c->dir[0])
		snprintf(path, sizeof(path), "%s/audit.log", c->dir);
	else
		path[0] = 0;
	if (!path[0] || (!c->audit_log[0] && access(path, F_OK))) {
		fprintf(stderr, "mediusctl: no audit log (-c with [recording] audit_log or dir, or --dir): "
				"this is not audited\n");
		return;
	}
	if ((e = rec_audit_open(path, NULL)))
		fprintf(stderr, "mediusctl: audit log %s: %s: this is not audited\n", path, strerror(-e));
}

static void audit_close(void)
{
	if (!rec_audit_path())
		return;
	if (rec_audit_sync(5000))
		fprintf(stderr, "mediusctl: the audit entry may not be on disk\n");
	rec_audit_close();
}

static int do_export(const struct rconf *c, const char *what, const char *out, const char *part)
{
	char sealed[4096], def[4096], err[4096];
	struct rec_kek k;
	int rc;

	if (!c->key_file[0]) {
		fprintf(stderr, "mediusctl: export needs the key: --key FILE, or -c with [recording] key_file\n");
		return EXIT_USAGE;
	}
	if ((rc = rec_kek_load(c->key_file, c->key_id, &k, err, sizeof(err)))) {
		fprintf(stderr, "mediusctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (strchr(what, '/') || ends(what, REC_SEAL_EXT)) {
		snprintf(sealed, sizeof(sealed), "%s", what);
	} else if (!c->dir[0]) {
		fprintf(stderr, "mediusctl: finding recording %s needs the directory: --dir DIR, or -c with "
				"[recording] dir\n", what);
		rec_kek_wipe(&k);
		return EXIT_USAGE;
	} else if ((rc = rec_export_find(c->dir, what, part, &k, sealed, sizeof(sealed), err, sizeof(err)))) {
		fprintf(stderr, "mediusctl: %s\n", err);
		rec_kek_wipe(&k);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	if (!out) {
		const char *b = strrchr(sealed, '/') ? strrchr(sealed, '/') + 1 : sealed;
		size_t n = strlen(b) - (ends(b, REC_SEAL_EXT) ? strlen(REC_SEAL_EXT) : 0);

		snprintf(def, sizeof(def), "%.*s", (int)n, b);
		if (!strcmp(def, b))
			snprintf(def, sizeof(def), "%s.out", b);
		out = def;
	}
	audit_open(c);
	rc = rec_export(sealed, out, &k, err, sizeof(err));
	audit_close();
	if (rc) {
		fprintf(stderr, "mediusctl: export failed: %s; nothing was exported\n", err);
	} else {
		struct stat st;

		printf("exported %s to %s (%lld bytes; key id %s)\n", sealed, out,
		       stat(out, &st) ? -1LL : (long long)st.st_size, k.id);
	}
	rec_kek_wipe(&k);
	return rc ? EXIT_FAIL : 0;
}

static int do_rekey(const struct rconf *c, const char *old_f, const char *old_id, const char *new_f,
		    const char *new_id)
{
	struct rec_kek o, n;
	unsigned done = 0, already = 0, failed = 0;
	char err[1024];
	int rc;

	if (!c->dir[0] || !old_f || !new_f) {
		fprintf(stderr, "mediusctl: rekey needs --old-key, --new-key and the directory (--dir or -c)\n");
		return EXIT_USAGE;
	}
	if ((rc = rec_kek_load(old_f, old_id, &o, err, sizeof(err)))) {
		fprintf(stderr, "mediusctl: the old key: %s\n", err);
		return EXIT_FAIL;
	}
	if ((rc = rec_kek_load(new_f, new_id, &n, err, sizeof(err)))) {
		fprintf(stderr, "mediusctl: the new key: %s\n", err);
		rec_kek_wipe(&o);
		return EXIT_FAIL;
	}
	if (!memcmp(o.key, n.key, sizeof(o.key))) {
		fprintf(stderr, "mediusctl: the old and the new key are the same key\n");
		rc = -EINVAL;
	} else if ((rc = rec_rekey_tree(c->dir, &o, &n, &done, &already, &failed, report))) {
		fprintf(stderr, "mediusctl: %s: %s\n", c->dir, strerror(-rc));
	} else {
		char detail[256];

		printf("%u file(s) re-wrapped from key id %s to key id %s, %u under it already, %u failed\n", done,
		       o.id, n.id, already, failed);
		snprintf(detail, sizeof(detail), "key id %s to %s by uid %u: %u re-wrapped, %u already, %u failed",
			 o.id, n.id, (unsigned)getuid(), done, already, failed);
		audit_open(c);
		if (rec_audit_path())
			rec_audit_append("rekey", "-", c->dir, detail);
		audit_close();
	}
	rec_kek_wipe(&o);
	rec_kek_wipe(&n);
	return rc == -EINVAL ? EXIT_USAGE : rc || failed ? EXIT_FAIL : 0;
}

int ctl_mediusctl_recording(int argc, char **argv)
{
	enum { O_DIR = 256, O_KEY, O_KEYID, O_PART, O_OLD, O_NEW, O_OLDID, O_NEWID };
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },   { "dir", required_argument, NULL, O_DIR },
		{ "key", required_argument, NULL, O_KEY },     { "key-id", required_argument, NULL, O_KEYID },
		{ "output", required_argument, NULL, 'o' },   { "part", required_argument, NULL, O_PART },
		{ "old-key", required_argument, NULL, O_OLD }, { "new-key", required_argument, NULL, O_NEW },
		{ "old-key-id", required_argument, NULL, O_OLDID }, { "new-key-id", required_argument, NULL, O_NEWID },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	struct rconf c = { 0 };
	const char *conf = NULL, *dir = NULL, *key = NULL, *key_id = NULL, *out = NULL, *part = NULL;
	const char *old_f = NULL, *new_f = NULL, *old_id = NULL, *new_id = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:o:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'o': out = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_KEY: key = optarg; break;
		case O_KEYID: key_id = optarg; break;
		case O_PART: part = optarg; break;
		case O_OLD: old_f = optarg; break;
		case O_NEW: new_f = optarg; break;
		case O_OLDID: old_id = optarg; break;
		case O_NEWID: new_id = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (conf) {
		int e = ini_parse(conf, ini_cb, &c);

		if (e) {
			fprintf(stderr, "mediusctl: %s: %s\n", conf, e < 0 ? "cannot read it" : "not a valid INI file");
			return EXIT_USAGE;
		}
	}
	if (dir)
		snprintf(c.dir, sizeof(c.dir), "%s", dir);
	if (key)
		snprintf(c.key_file, sizeof(c.key_file), "%s", key);
	if (key_id) {
		if (strlen(key_id) >= sizeof(c.key_id)) {
			fprintf(stderr, "mediusctl: --key-id: longer than %zu characters\n", sizeof(c.key_id) - 1);
			return EXIT_USAGE;
		}
		snprintf(c.key_id, sizeof(c.key_id), "%s", key_id);
	}
	if (optind < argc && !strcmp(argv[optind], "export") && argc - optind == 2)
		return do_export(&c, argv[optind + 1], out, part);
	if (optind < argc && !strcmp(argv[optind], "rekey") && argc - optind == 1)
		return do_rekey(&c, old_f, old_id, new_f, new_id);
	fprintf(stderr, "mediusctl recording: export ID|FILE or rekey (see mediusctl recording --help)\n");
	return EXIT_USAGE;
}
