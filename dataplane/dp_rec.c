/* SPDX-License-Identifier: MIT
 * dp_rec: the dataplane's part of recording (dp_media.h, dp_leg_set_rec).
 * A recorded leg has a copy function: dp_relay.c's rx_accept hands it each
 * RTP packet the leg accepted, decrypted, right where the packet is
 * counted, and the function (recording/) copies it into a ring read by a
 * thread off the workers. Setting it is a worker command, so the worker
 * never sees a half-written pair; the control lcore waits for it, so the
 * old ctx may go once dp_leg_set_rec returns.
 */
#include <errno.h>

#include "dp_internal.h"

void dp_rec_apply(struct dp_worker *w, struct dp_cmd *c)
{
	(void)w;
	c->leg->rec = c->rec;
	c->leg->rec_ctx = c->rec ? c->hook_ctx : NULL;
}

int dp_leg_set_rec(struct dp_leg *l, dp_rec_fn fn, void *ctx)
{
	struct dp_cmd cmd = { .op = DP_CMD_SET_REC, .rec = fn, .hook_ctx = ctx, .leg = l };

	if (!l)
		return -EINVAL;
	return dp_worker_exec(l->w, &cmd);
}
