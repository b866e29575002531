/* SPDX-License-Identifier: MIT
 * Internal to mixer/: the tap slot endpoints share. Not for other folders.
 *
 * A slot holds the tap a worker feeds. The control lcore swaps it with a
 * release store; the worker reads it once per tick (an acquire load), so a
 * swap takes effect at a tick boundary. A tap swapped out is kept until
 * the slot's owner is destroyed (after its worker let go of it), so the
 * worker never touches freed memory.
 */
#ifndef MX_INT_H
#define MX_INT_H

#include <stdatomic.h>

#include "mx.h"

#define MX_TAP_RETIRED_MAX 8

struct mx_tap_slot {
	_Atomic(struct mx_tap *) tap; /* control stores */
	struct mx_tap *cur;           /* this tick's (worker) */
	struct mx_tap *retired[MX_TAP_RETIRED_MAX];
	unsigned n_retired;
};

/* Control: put t (NULL: none) in the slot. Returns 0, or -EBUSY when too
 * many taps were swapped out already. */
int mx_tap_slot_set(struct mx_tap_slot *s, struct mx_tap *t);
/* Worker, once per tick: the tap in force for this tick. */
static inline struct mx_tap *mx_tap_slot_load(struct mx_tap_slot *s)
{
	return s->cur = atomic_load_explicit(&s->tap, memory_order_acquire);
}
/* Control, once no worker can use the slot: free every tap it holds. */
void mx_tap_slot_fini(struct mx_tap_slot *s);

#endif
