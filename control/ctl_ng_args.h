/* SPDX-License-Identifier: MIT
 * ctl_ng_args: reading an ng request's arguments as rtpengine's ng protocol
 * writes them: strings, lists of strings, flags (any case, with spaces,
 * dashes or underscores), and codec options given as flags. The command
 * handlers of the call model share them.
 *
 * Control lcore only, like the request they read; strings returned are
 * copies in the request's arena and live as long as the request.
 */
#ifndef CTL_NG_ARGS_H
#define CTL_NG_ARGS_H

#include <stdbool.h>

#include "ctl_ng.h"

/* The string argument under key as a NUL-terminated copy in the request
 * arena; NULL when key is absent, not a string, holds a NUL byte, or the
 * arena is full. */
const char *ctl_arg_str(struct ctl_ng_req *r, const char *key);

/* Element i of the list under key, as a copy in the request arena; NULL
 * when there is no such string. */
const char *ctl_arg_list_str(struct ctl_ng_req *r, const char *key, unsigned i);

/* Is `flag` in the list under key ("flags", ...)? rtpengine spells flags
 * with spaces, dashes or underscores, in any case: "block DTMF" matches
 * "block-dtmf". False when key is absent or not a list. */
bool ctl_has_flag(struct ctl_ng_req *r, const char *key, const char *flag);

/* rtpengine also takes the codec options as flags, "codec-strip-PCMA",
 * "codec-set-opus/48000/2/32000" (rtpengine-ng-client --codec-options-flat,
 * some proxies): fold them into the request's "codec" dictionary (made if
 * absent), so the rest reads one form. Returns 0, or -1 after an error
 * reply (no room in the arena, "codec" not a dictionary, a bad flag). */
int ctl_fold_codec_flags(struct ctl_ng_req *r);

/* Add a warning to the reply for every entry of "flags" that is neither in
 * known[] (NULL-terminated, matched as ctl_has_flag does) nor a codec
 * option flag, as rtpengine does. */
void ctl_warn_unknown_flags(struct ctl_ng_req *r, const char *const known[]);

#endif
