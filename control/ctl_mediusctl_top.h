/* SPDX-License-Identifier: MIT
 * mediusctl top (ctl_mediusctl_top.c): the status page in a terminal. */
#ifndef CTL_MEDIUSCTL_TOP_H
#define CTL_MEDIUSCTL_TOP_H

/* argv[0] is "top"; returns the exit status. */
int ctl_mediusctl_top(int argc, char **argv);

#endif
