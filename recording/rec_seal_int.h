/* SPDX-License-Identifier: MIT
 * rec_seal_int: how the sinks write through the seal (rec_seal_sink.c);
 * private to recording/.
 *
 * A sink's file is a struct rec_out: a plain NAME.part, or, while the
 * daemon has a KEK (rec_seal_kek), a sealed NAME.enc.part whose writes go
 * through a rec_seal writer. The sink's final path (s->path) then ends in
 * ".enc", so rec_rec.c's rename and the sidecar's file list name the
 * sealed file.
 */
#ifndef REC_SEAL_INT_H
#define REC_SEAL_INT_H

#include "rec_int.h"
#include "rec_seal.h"

struct rec_out {
	int fd;
	struct rec_seal *z;     /* NULL: plain */
};

/* Open path.part, or path.enc.part when sealing (O_EXCL, mode 0640);
 * final (REC_PATH_MAX) gets the final path. 0 or -errno. */
int rec_out_open(struct rec_out *o, const char *path, char *final);
int rec_out_write(struct rec_out *o, const void *p, size_t n);
/* What is held written (sealed: as one chunk), then fdatasync. */
int rec_out_sync(struct rec_out *o);
/* The FINAL chunk when sealed, fsync, close. */
int rec_out_close(struct rec_out *o);
/* Close and remove final.part (a sink that could not start). */
void rec_out_discard(struct rec_out *o, const char *final);

/* The WAV sink when sealing (rec_wav_open hands over to it). */
struct rec_sink *rec_wav_sealed_open(const char *path, uint32_t rate, unsigned channels, int *err);

/* The sidecar when sealing (rec_meta.c): text sealed to base.json.enc via
 * base.json.enc.tmp, fdatasync and rename. */
int rec_meta_seal_write(const char *base, const char *text, size_t n);
/* A sidecar's text, plain (.json) or sealed (.json.enc), malloc'ed. */
int rec_meta_read(const char *path, char **text, size_t *len);

#endif
