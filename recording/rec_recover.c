/* SPDX-License-Identifier: MIT
 * rec_recover: at start-up, finish what a crash (kill -9, power loss) left
 * in the recording directory: NAME.part files made valid and renamed to
 * NAME, sidecars still saying "recording" or "paused" marked "incomplete".
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rec_seal_int.h"

static int fixed, failed;

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int visit_part(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char final[REC_PATH_MAX + 8];
	int e;

	(void)st;
	(void)f;
	if (type != FTW_F || !ends(path, ".part") || strlen(path) >= sizeof(final))
		return 0;
	snprintf(final, sizeof(final), "%.*s", (int)(strlen(path) - 5), path);
	if (ends(final, REC_SEAL_EXT)) { /* sealed (rec_seal.c): whole chunks kept, a FINAL chunk appended */
		char err[REC_PATH_MAX + 256];

		if (!rec_seal_kek()) {
			e = -ENOKEY;
			rec_emit("error", "-", path, "sealed, and [recording] key_file is not set: left as it is");
		} else if ((e = rec_seal_fix(path, rec_seal_kek(), err, sizeof(err)))) {
			rec_emit("error", "-", path, err);
		}
	} else if (ends(final, ".wav"))
		e = rec_wav_fix(path);
	else if (ends(final, ".opus") || ends(final, ".ogg"))
		e = rec_ogg_fix(path);
	else if (ends(final, ".pcap"))
		e = rec_pcap_fix(path);
	else
		return 0;
	if (!e && access(final, F_OK) == 0)
		e = -EEXIST;
	if (!e && rename(path, final))
		e = -errno;
	if (e) {
		failed++;
		rec_emit("error", "-", path, strerror(-e));
	} else {
		fixed++;
		rec_emit("recovered", "-", final, "finalised after a crash; marked incomplete");
	}
	return 0;
}

static int visit_json(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_F && (ends(path, ".json.tmp") || ends(path, ".json" REC_SEAL_EXT ".tmp")))
		unlink(path);
	else if (type == FTW_F && (ends(path, ".json") || ends(path, ".json" REC_SEAL_EXT)) &&
		 rec_meta_mark_incomplete(path) == 1) {
		char id[64], main[REC_PATH_MAX];

		if (!rec_retain_sidecar(path, id, main))
			rec_audit_append("finalise", id, main[0] ? main : path, "finalised after crash: incomplete");
	}
	return 0;
}

int rec_recover(const char *root)
{
	fixed = failed = 0;
	if (access(root, R_OK | X_OK))
		return -errno;
	if (nftw(root, visit_part, 32, FTW_PHYS) || nftw(root, visit_json, 32, FTW_PHYS))
		return -EIO;
	return fixed;
}
