/* SPDX-License-Identifier: MIT
 * rec_seal: encryption at rest for recordings (issue 13). Self-contained
 * (libsodium and libc only), so that mediusctl links it without DPDK.
 *
 * A sealed file (NAME.EXT.enc) is a 144-byte header and a sequence of
 * chunks (docs/recording.md, "Encryption at rest"):
 *
 *   0   "MEDSEAL1"                         magic
 *   8   u8 version (1), 3 bytes 0
 *   12  u32 LE the largest chunk's plaintext (REC_SEAL_CHUNK)
 *   16  key id, 32 bytes, NUL-padded       which KEK wrapped the file key
 *   48  wrap nonce, 24 bytes               crypto_aead_xchacha20poly1305_ietf
 *   72  wrapped file key, 48 bytes         the 32-byte key and its tag
 *   120 secretstream header, 24 bytes      crypto_secretstream_xchacha20poly1305
 *   144 chunks: u32 LE n, then n bytes of secretstream ciphertext (a
 *       plaintext of n - 17 bytes); the 4 length bytes are the chunk's
 *       additional data. The last chunk carries TAG_FINAL.
 *
 * The file key is fresh per file (randombytes); it is wrapped by the key-
 * encryption key (KEK) with the header's bytes 0-47 and 120-143 as
 * additional data, so the key id and the stream header cannot be swapped.
 * Re-keying rewrites bytes 16-119 only: the audio is not re-encrypted.
 * Each chunk is authenticated on its own and in its place (secretstream
 * chains them), so a file cut after any whole chunk is valid up to there,
 * and recovery (rec_seal_fix) finalises it by appending a FINAL chunk.
 *
 * Threads: the writer belongs to one thread; the KEK (rec_seal_kek) is set
 * once at start-up, before any recording, and only read afterwards.
 */
#ifndef REC_SEAL_H
#define REC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_SEAL_EXT ".enc"
#define REC_SEAL_CHUNK 65536      /* plaintext bytes per chunk at most */
#define REC_SEAL_HDR 144
#define REC_KEY_ID_MAX 32         /* a key id's characters, with its NUL */
#define REC_KEY_BYTES 32

struct rec_kek {
	uint8_t key[REC_KEY_BYTES];
	char id[REC_KEY_ID_MAX];
};

/* Load a KEK file: 64 hex digits (whitespace ignored) or exactly 32 raw
 * bytes; the file must not be readable by group or others. id: the key
 * id ("" or NULL: derived from the key, "k" and 16 hex digits of a keyed
 * BLAKE2b hash, so the id never reveals the key). 0, or -errno with err. */
int rec_kek_load(const char *file, const char *id, struct rec_kek *out, char *err, size_t errlen);
/* The id derived from a key (what rec_kek_load uses when none is given). */
void rec_kek_derive_id(const uint8_t key[REC_KEY_BYTES], char id[REC_KEY_ID_MAX]);
void rec_kek_wipe(struct rec_kek *k);

/* The daemon's KEK ([recording] key_file, key_id): set once at start-up,
 * before recovery and any recording. While set, every recording file and
 * sidecar is sealed. */
int rec_seal_configure(const char *key_file, const char *key_id, char *err, size_t errlen);
const struct rec_kek *rec_seal_kek(void);

/* Writer: rec_seal_open writes the header to fd (at its offset, normally
 * 0); rec_seal_write buffers plaintext and writes a chunk each time
 * REC_SEAL_CHUNK bytes are held; rec_seal_flush writes what is held as
 * one chunk (nothing when empty; no fsync: the caller syncs fd);
 * rec_seal_close writes the FINAL chunk (what is held, maybe nothing),
 * wipes the key and frees (fd stays open). -errno on write errors. A
 * chunk that could not be wholly written (disk full) is cut off again:
 * the writer then takes nothing more, and close writes an empty FINAL
 * chunk after the last whole one (and still returns the first error), so
 * the file is valid up to the error. */
struct rec_seal;
struct rec_seal *rec_seal_open(int fd, const struct rec_kek *k, int *err);
int rec_seal_write(struct rec_seal *s, const void *p, size_t n);
int rec_seal_flush(struct rec_seal *s);
int rec_seal_close(struct rec_seal *s);
/* Free without a FINAL chunk (the file stays as a crash would leave it). */
void rec_seal_abandon(struct rec_seal *s);

/* Reader: decrypt path chunk by chunk, handing each plaintext to out
 * (which returns 0 or -errno to stop). 0 when the file is whole (ends
 * with its FINAL chunk). Errors (err says which file and where):
 * -EBADMSG a chunk fails authentication (altered or corrupt), -EPROTO the
 * file ends without its FINAL chunk or has bytes after it, -EKEYREJECTED
 * the KEK does not open the file key, -EINVAL not a sealed file. */
int rec_seal_read(const char *path, const struct rec_kek *k, int (*out)(void *ctx, const void *p, size_t n),
		  void *ctx, char *err, size_t errlen);
/* The key id a sealed file's header names. 0 or -errno. */
int rec_seal_key_id(const char *path, char id[REC_KEY_ID_MAX]);
/* Recovery of a sealed NAME.part a crash left: keep every whole chunk,
 * cut a torn last one, append a FINAL chunk. A chunk that fails
 * authentication before the last one is not a torn write: -EBADMSG and
 * the file is left as it is. 0 or -errno with err. */
int rec_seal_fix(const char *part, const struct rec_kek *k, char *err, size_t errlen);
/* Re-wrap a sealed file's key from old to new in place (bytes 16-119 of
 * the header, then fsync). 0 re-wrapped, 1 it was under new already,
 * -EKEYREJECTED neither opens it, other -errno. */
int rec_seal_rewrap(const char *path, const struct rec_kek *old, const struct rec_kek *new_k, char *err,
		    size_t errlen);

/* A whole small file (the sidecar) sealed to path (which is written
 * directly: the caller writes a temporary name and renames), fdatasync'ed. */
int rec_seal_write_file(const char *path, const struct rec_kek *k, const void *p, size_t n, int mode);
/* A whole sealed file into a malloc'ed, NUL-terminated buffer. */
int rec_seal_read_file(const char *path, const struct rec_kek *k, char **out, size_t *len, char *err,
		       size_t errlen);

/* Export (rec_export.c): decrypt sealed to out_path, written as a
 * temporary file in out_path's directory and linked to out_path only when
 * the whole file decrypted and authenticated (so nothing partial is left
 * as if valid; out_path is never replaced). A WAV gets its RIFF and data
 * sizes from its length (a sealed WAV's header cannot be patched in
 * place: it says 0xffffffff). 0 or -errno with err. */
int rec_export(const char *sealed, const char *out_path, const struct rec_kek *k, char *err, size_t errlen);
/* The sealed files of the recording id under root, by part: "main",
 * "caller", "callee", "pcap", "meta". 0, -ENOENT (no such recording or
 * part), or -errno with err. */
int rec_export_find(const char *root, const char *id, const char *part, const struct rec_kek *k, char *path,
		    size_t pathlen, char *err, size_t errlen);
/* Re-wrap every sealed file under root (NAME.enc and NAME.enc.part) from
 * old to new. Counts into done, already, failed; one line per failure to
 * the report callback. 0, or -errno for an unreadable root. */
int rec_rekey_tree(const char *root, const struct rec_kek *old, const struct rec_kek *new_k, unsigned *done,
		   unsigned *already, unsigned *failed, void (*report)(const char *line));

/* THE AUDIT HOOK for exports: rec_export calls this once per export, with
 * its outcome (0 or -errno and the error text). It does nothing yet: the
 * audit log (hash-chained, from the rec-audit branch) adds its entry
 * here. */
void rec_export_audit(const char *sealed, const char *out_path, const char *key_id, int rc, const char *err);

/* Write all n bytes of buf to fd (retrying EINTR and short writes): 0 or
 * -errno (-EIO for a write of nothing). Used by the sealed files, their
 * sinks and the audit log. */
int rec_write_all(int fd, const void *buf, size_t n);

#endif
