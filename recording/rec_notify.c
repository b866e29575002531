/* SPDX-License-Identifier: MIT
 * rec_notify: the "finalised" hook (rec_set_final_hook in rec.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rec.h"
#include "rec_core.h"
#include "rec_int.h"

static rec_final_fn hook_fn;
static void *hook_ctx;

void rec_set_final_hook(rec_final_fn fn, void *ctx)
{
	__atomic_store_n(&hook_ctx, ctx, __ATOMIC_RELAXED);
	__atomic_store_n(&hook_fn, fn, __ATOMIC_RELEASE);
}

void rec_final_notify(struct rec *r, bool ok)
{
	rec_final_fn fn = __atomic_load_n(&hook_fn, __ATOMIC_ACQUIRE);
	static __thread char meta[REC_META_MAX], callee[256];
	char sidecar[REC_PATH_MAX + 8];
	struct rec_final f;

	if (!fn)
		return;
	memset(&f, 0, sizeof(f));
	pthread_mutex_lock(&r->mu);
	memcpy(meta, r->metadata, sizeof(meta));
	memcpy(callee, r->party[1], sizeof(callee)); /* the answerer's tag, once known */
	pthread_mutex_unlock(&r->mu);
	snprintf(sidecar, sizeof(sidecar), "%s.json", r->p.base);
	f.id = r->id;
	f.call_id = r->p.call_id;
	f.from_tag = r->p.from_tag;
	f.to_tag = callee[0] ? callee : r->p.to_tag;
	f.metadata = meta;
	f.sidecar = sidecar;
	for (unsigned i = 0; i < r->n_sink && i < 4; i++)
		if (r->sink[i]) {
			f.files[f.n_files] = r->sink[i]->path;
			f.formats[f.n_files++] = r->sink[i]->format;
		}
	f.path = f.n_files ? f.files[0] : r->p.base;
	f.ok = ok;
	f.started_wall_ms = r->started_ms;
	f.ended_wall_ms = rec_wall_ms();
	f.duration_ms = samples_to_ms(r, r->flushed);
	fn(__atomic_load_n(&hook_ctx, __ATOMIC_RELAXED), &f);
}
