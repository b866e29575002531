/* SPDX-License-Identifier: MIT
 * mx_tap: a single-producer single-consumer ring of fixed-size frame slots
 * (see mx.h). The producer (a worker) owns `head`, the consumer owns
 * `tail`; each publishes its index with a release store and reads the
 * other's with an acquire load, so a slot's bytes are written before the
 * consumer can see it and read before the producer can reuse it. The two
 * indexes sit on their own cache lines. Nothing blocks: a full ring drops
 * the new frame and counts an overrun.
 */
#include "mx_int.h"

#include <errno.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct slot_hdr {
	struct mx_tap_frame f;
};

struct mx_tap {
	uint32_t mask, max_bytes;
	size_t slot_size;
	uint8_t *slots;
	_Alignas(64) _Atomic uint64_t head; /* frames published (producer) */
	uint64_t put, overruns;             /* producer's counters */
	_Alignas(64) _Atomic uint64_t tail; /* frames taken (consumer) */
	_Atomic uint64_t got;
	_Atomic unsigned refs;              /* mx_tap_ref; freed when the last one goes */
};

struct mx_tap *mx_tap_create(unsigned frames, uint32_t max_bytes)
{
	struct mx_tap *t;

	if (frames < 2 || frames > 65536 || (frames & (frames - 1)) || !max_bytes || max_bytes > (1u << 20))
		return NULL;
	t = aligned_alloc(64, sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	atomic_init(&t->refs, 1);
	t->mask = frames - 1;
	t->max_bytes = max_bytes;
	t->slot_size = (sizeof(struct slot_hdr) + max_bytes + 63) & ~(size_t)63;
	t->slots = aligned_alloc(64, t->slot_size * frames);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void mx_tap_ref(struct mx_tap *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void mx_tap_destroy(struct mx_tap *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(t->slots);
	free(t);
}

bool mx_tap_putv(struct mx_tap *t, const struct mx_tap_frame *f, const void *a, uint32_t a_len, const void *b)
{
	uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
	struct slot_hdr *s;

	if (head - tail > t->mask || f->len > t->max_bytes || a_len > f->len) {
		t->overruns++;
		return false;
	}
	s = (struct slot_hdr *)(t->slots + (head & t->mask) * t->slot_size);
	s->f = *f;
	s->f.seq = (uint32_t)(t->put + t->overruns);
	memcpy(s + 1, a, a_len);
	if (f->len > a_len)
		memcpy((uint8_t *)(s + 1) + a_len, b, f->len - a_len);
	t->put++;
	atomic_store_explicit(&t->head, head + 1, memory_order_release);
	return true;
}

bool mx_tap_put(struct mx_tap *t, const struct mx_tap_frame *f, const void *data)
{
	return mx_tap_putv(t, f, data, f->len, NULL);
}

int mx_tap_get(struct mx_tap *t, struct mx_tap_frame *f, void *buf, uint32_t max)
{
	uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire);
	const struct slot_hdr *s;

	if (tail == head)
		return 0;
	s = (const struct slot_hdr *)(t->slots + (tail & t->mask) * t->slot_size);
	*f = s->f;
	if (f->len > max)
		f->len = max;
	memcpy(buf, s + 1, f->len);
	atomic_store_explicit(&t->tail, tail + 1, memory_order_release);
	atomic_fetch_add_explicit(&t->got, 1, memory_order_relaxed);
	return 1;
}

void mx_tap_get_stats(const struct mx_tap *t, struct mx_tap_stats *out)
{
	out->put = t->put;
	out->overruns = t->overruns;
	out->got = atomic_load_explicit(&t->got, memory_order_relaxed);
}

int mx_tap_slot_set(struct mx_tap_slot *s, struct mx_tap *t)
{
	struct mx_tap *old = atomic_load_explicit(&s->tap, memory_order_relaxed);

	if (old == t)
		return 0;
	if (old && s->n_retired == MX_TAP_RETIRED_MAX)
		return -EBUSY;
	atomic_store_explicit(&s->tap, t, memory_order_release);
	if (old)
		s->retired[s->n_retired++] = old;
	return 0;
}

void mx_tap_slot_fini(struct mx_tap_slot *s)
{
	mx_tap_destroy(atomic_load_explicit(&s->tap, memory_order_relaxed));
	atomic_store_explicit(&s->tap, NULL, memory_order_relaxed);
	for (unsigned i = 0; i < s->n_retired; i++)
		mx_tap_destroy(s->retired[i]);
	s->n_retired = 0;
}
