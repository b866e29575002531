/* SPDX-License-Identifier: MIT
 * mediusctl's "recording" command (ctl_mediusctl_rec.c): export and
 * re-key sealed recordings. argv[0] is "recording". Returns the exit code.
 */
#ifndef CTL_MEDIUSCTL_REC_H
#define CTL_MEDIUSCTL_REC_H

int ctl_mediusctl_recording(int argc, char **argv);

#endif
