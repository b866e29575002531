/* SPDX-License-Identifier: MIT
 * ctl_play: the media of an ng "play media" request (ctl_call_play.c), for
 * whatever plays it: a call's party (ctl_call_play.c) or a room.
 */
#ifndef CTL_PLAY_H
#define CTL_PLAY_H

#include "ctl_ng.h"
#include "mx.h"

/* Largest media blob (after base64 decoding) a request may carry. */
#define CTL_PLAY_MAX_BLOB (16u << 20)

/* Read the request's media and open it: `file` (a file inside play_dir,
 * the [media] play_dir: a name relative to it, or an absolute path that
 * resolves, symbolic links followed, to a file inside it; with play_dir
 * empty no file may be played), `blob` (the file's bytes)
 * or `blob64` (the same in base64), exactly one of them; `repeat-times`
 * (how many times it plays in a row, default 1, 1..1000000). The whole
 * file is read and decoded here (mx_player_open_*). Returns 0 with
 * *out (the caller owns it: hand it to a graph or mx_player_destroy), or
 * -1 after an error reply (no media named, an unreadable, unsupported,
 * empty or too long file, a bad repeat-times). Control lcore. */
int ctl_play_parse(struct ctl_ng_req *r, const char *play_dir, struct mx_player **out);

#endif
