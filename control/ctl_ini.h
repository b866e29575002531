/* SPDX-License-Identifier: MIT
 * ctl_ini: what writing and reading medius's INI files (mediusd.conf, read
 * by ctl_config on libinih) must agree on. Header only: ctl_config and
 * ctl_alert (whose [alerts] section ctl_config reads and dumps) use it. */
#ifndef CTL_INI_H
#define CTL_INI_H

#include <stdio.h>
#include <string.h>

/* The longest line a file may have. inih reads lines into a fixed buffer
 * of INI_MAX_LINE (200 in Debian's build) and would split a longer one;
 * ctl_config refuses it with a clear error instead. Every value fits well
 * within it. */
#define CTL_INI_LINE_MAX 197

/* One "name = value" line of a dump, written so that the loader reads back
 * the same value: a value starting with ';' follows '=' directly (after a
 * space inih reads it as an inline comment), and a line that would be
 * longer than CTL_INI_LINE_MAX is written "name=value" (a value the loader
 * took always fits that way). Both were found by fuzz_config. */
static inline void ctl_ini_put(FILE *out, const char *name, const char *value)
{
	if (strlen(name) + strlen(value) + 3 > CTL_INI_LINE_MAX)
		fprintf(out, "%s=%s\n", name, value);
	else
		fprintf(out, "%s %s%s\n", name, value[0] == ';' ? "=" : "= ", value);
}

#endif
