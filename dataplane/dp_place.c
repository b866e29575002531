/* SPDX-License-Identifier: MIT
 * dp_place: calls, the shards that place them on workers, and moving them
 * between workers (see dp_media.h, "Calls and their placement"). Control
 * lcore only.
 *
 * A shard is a set of calls that share a worker, found by its key in a
 * chained hash table. It exists while it has calls, and its worker is
 * theirs: every call of a shard has the same w, which every function here
 * keeps true (a move takes the whole shard; dp_call_colocate moves one
 * call and then moves it into the other shard).
 *
 * A move (move_set) takes a set of calls off one worker and gives them to
 * another:
 *  1. every call of the set is marked `moving`; for every leg, its ethdev
 *     flow entries go (no new lookup finds it) and a DETACH is posted to
 *     the old worker, and one CALL_TICKERS_DEL for all the set's tickers.
 *     The old worker applies them at its quiescent point: the legs' sockets
 *     leave its epoll set, a peer outside the set is disconnected (a peer
 *     whose call is `moving` is kept), the tickers leave its clock;
 *  2. the control lcore waits until the old worker applied them and ended
 *     that turn (dp_worker_flush: poll(2) on its ack eventfd), or, when a
 *     leg is on an ethdev port, for a grace period of every worker (another
 *     worker may still hold a flow lookup naming the leg, and reads
 *     leg->w to hand the frame over);
 *  3. only then the calls and legs get their new w, the tickers go to the
 *     new worker in one command (all at once), the flow entries come back
 *     and the sockets join the new worker's epoll set (epoll_ctl here).
 * No two workers ever run a leg; a kernel-UDP socket just queues between 1
 * and 3, so nothing is lost or reordered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_eth.h"
#include "dp_internal.h"

#define SHARD_BUCKETS 4096 /* a power of two */

struct dp_shard {
	char *key;
	uint32_t hash;
	struct dp_call *calls;     /* by next_in_shard; never empty once set up */
	unsigned n_calls, n_transcoding;
	struct dp_shard *next;     /* in its bucket */
};

static struct {
	uint32_t transcode_workers; /* dp_media_conf's; see transcode_workers() */
	struct dp_call *calls;
	struct dp_shard *buckets[SHARD_BUCKETS];
} g;

void dp_place_start(uint32_t transcode_workers)
{
	g.transcode_workers = transcode_workers;
	if (transcode_workers && transcode_workers >= dp_worker_count())
		dp_log(DP_LOG_WARNING, "dp", "media.transcode_workers = %u, but there are %u worker(s): %s",
		       transcode_workers, dp_worker_count(),
		       dp_worker_count() > 1 ? "keeping one for relaying" : "the one worker does both");
}

struct dp_call *dp_calls_first(void) { return g.calls; }

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* How many workers take transcoded calls only (the last ones); the rest
 * relay. At least one worker relays; with one worker, it does both. */
static unsigned transcode_workers(void)
{
	unsigned n = dp_worker_count();

	return n <= 1 ? 0 : g.transcode_workers >= n ? n - 1 : g.transcode_workers;
}

/* Is w one of the transcoding workers (false when there are none)? */
static bool is_transcoding_worker(const struct dp_worker *w)
{
	unsigned n = dp_worker_count(), t = transcode_workers();

	for (unsigned i = n - t; i < n; i++)
		if (dp_worker_get(i) == w)
			return true;
	return false;
}

static struct dp_worker *relay_worker(uint32_t hash)
{
	return dp_worker_get(hash % (dp_worker_count() - transcode_workers()));
}

static struct dp_worker *transcoding_worker(uint32_t hash)
{
	unsigned n = dp_worker_count(), t = transcode_workers();

	return dp_worker_get(n - t + hash % t);
}

static struct dp_shard **bucket(uint32_t hash) { return &g.buckets[hash & (SHARD_BUCKETS - 1)]; }

static struct dp_shard *shard_find(const char *key, uint32_t hash)
{
	for (struct dp_shard *s = *bucket(hash); s; s = s->next)
		if (s->hash == hash && !strcmp(s->key, key))
			return s;
	return NULL;
}

static struct dp_shard *shard_new(const char *key, uint32_t hash)
{
	struct dp_shard *s = calloc(1, sizeof(*s));

	if (!s || !(s->key = strdup(key))) {
		free(s);
		return NULL;
	}
	s->hash = hash;
	s->next = *bucket(hash);
	*bucket(hash) = s;
	return s;
}

static void shard_add(struct dp_shard *s, struct dp_call *c)
{
	c->shard = s;
	c->next_in_shard = s->calls;
	s->calls = c;
	s->n_calls++;
	s->n_transcoding += c->transcoding;
}

/* Take c out of its shard; the shard goes with its last call. */
static void shard_remove(struct dp_call *c)
{
	struct dp_shard *s = c->shard, **sp;
	struct dp_call **pp;

	for (pp = &s->calls; *pp && *pp != c; pp = &(*pp)->next_in_shard)
		;
	if (*pp)
		*pp = c->next_in_shard;
	s->n_calls--;
	s->n_transcoding -= c->transcoding;
	c->shard = NULL;
	c->next_in_shard = NULL;
	if (s->calls)
		return;
	for (sp = bucket(s->hash); *sp && *sp != s; sp = &(*sp)->next)
		;
	if (*sp)
		*sp = s->next;
	free(s->key);
	free(s);
}

struct dp_call *dp_call_create(const char *call_id) { return dp_call_create_in(call_id, NULL); }

struct dp_call *dp_call_create_in(const char *call_id, const char *shard_key)
{
	struct dp_shard *s;
	struct dp_call *c;
	const char *key;
	uint32_t h;

	if (!dp_media_started() || dp_worker_count() == 0) {
		errno = ENODEV;
		return NULL; /* no worker lcore: nothing would serve the media */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = strdup(call_id ? call_id : "");
	if (!c->id) {
		free(c);
		return NULL;
	}
	key = shard_key && *shard_key ? shard_key : c->id;
	h = hash_str(key);
	s = shard_find(key, h);
	if (!s && !(s = shard_new(key, h))) {
		free(c->id);
		free(c);
		return NULL;
	}
	c->w = s->calls ? s->calls->w : relay_worker(h);
	shard_add(s, c);
	c->next = g.calls;
	if (g.calls)
		g.calls->prev = c;
	g.calls = c;
	return c;
}

unsigned dp_call_lcore(const struct dp_call *c) { return c->w->lcore; }

unsigned dp_call_shard_size(const struct dp_call *c) { return c->shard->n_calls; }

void dp_call_destroy(struct dp_call *c)
{
	if (!c)
		return;
	while (c->tickers)
		dp_ticker_remove(c->tickers); /* waits: the caller may free their ctx next */
	while (c->legs)
		dp_leg_destroy(c->legs);
	shard_remove(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		g.calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->id);
	free(c);
}

void dp_calls_destroy_all(void)
{
	while (g.calls)
		dp_call_destroy(g.calls);
}

/* Move the calls linked by move_next (all on one worker) to worker `to`:
 * see the comment at the top. Returns 0 or -errno (from setting the legs
 * up on `to`; the calls are `to`'s by then). */
static int move_set(struct dp_call *set, struct dp_worker *to)
{
	struct dp_worker *from = set->w;
	struct dp_call *c;
	struct dp_leg *l;
	bool eth = false;
	int rc = 0;

	if (from == to)
		return 0;
	for (c = set; c; c = c->move_next)
		c->moving = true; /* read by `from` as it applies what follows */
	for (c = set; c; c = c->move_next)
		for (l = c->legs; l; l = l->next_in_call) {
			struct dp_cmd detach = { .op = DP_CMD_DETACH, .leg = l, .call = c };

			eth |= l->rtp.eth || l->rtcp.eth;
			dp_eth_endpoint_close(&l->rtp); /* ethdev: no new lookup finds the leg */
			dp_eth_endpoint_close(&l->rtcp);
			dp_worker_post(from, &detach);
		}
	dp_tickers_detach(set, from);
	if (eth)
		dp_workers_synchronize(); /* no worker holds a lookup of these legs any more */
	else
		dp_worker_flush(from); /* the old worker holds nothing of the set any more */
	for (c = set; c; c = c->move_next) {
		c->w = to;
		c->moving = false;
		for (l = c->legs; l; l = l->next_in_call)
			l->w = to; /* before any ticker runs on `to` */
	}
	dp_tickers_attach(set, to); /* all at once */
	for (c = set; c; c = c->move_next)
		for (l = c->legs; l; l = l->next_in_call) {
			if (l->rtp.eth && !rc)
				rc = dp_eth_endpoint_open(l->iface, l->rtp_port, &l->rtp);
			if (l->rtcp.eth && !rc)
				rc = dp_eth_endpoint_open(l->iface, l->rtcp_port, &l->rtcp);
			if (!rc)
				rc = dp_leg_attach(l);
		}
	return rc;
}

static int move_shard(struct dp_shard *s, struct dp_worker *to)
{
	for (struct dp_call *c = s->calls; c; c = c->next_in_shard)
		c->move_next = c->next_in_shard;
	return move_set(s->calls, to);
}

static struct dp_worker *worker_of_lcore(unsigned lcore)
{
	for (unsigned i = 0; i < dp_worker_count(); i++)
		if (dp_worker_get(i)->lcore == lcore)
			return dp_worker_get(i);
	return NULL;
}

/* May shard s (with call `joining` added, or NULL) live on worker w? */
static bool allowed_on(const struct dp_shard *s, const struct dp_call *joining, const struct dp_worker *w)
{
	bool transcodes = s->n_transcoding || (joining && joining->transcoding);

	return !transcodes || transcode_workers() == 0 || is_transcoding_worker(w);
}

int dp_call_move(struct dp_call *c, unsigned lcore)
{
	struct dp_worker *to;

	if (!c)
		return -EINVAL;
	if (!(to = worker_of_lcore(lcore)))
		return -ENOENT;
	if (!allowed_on(c->shard, NULL, to))
		return -EPERM;
	return move_shard(c->shard, to);
}

int dp_call_colocate(struct dp_call *b, struct dp_call *a)
{
	struct dp_worker *to;
	int rc;

	if (!a || !b)
		return -EINVAL;
	if (a->shard == b->shard)
		return 0; /* one shard, one worker */
	if (!allowed_on(a->shard, b, a->w)) { /* the pair needs a transcoding worker, and a's relays */
		to = is_transcoding_worker(b->w) ? b->w : transcoding_worker(a->shard->hash);
		rc = move_shard(a->shard, to);
		if (rc)
			return rc;
	}
	b->move_next = NULL;
	rc = move_set(b, a->w);
	shard_remove(b); /* b is on a's worker now, even when setting a leg up there failed */
	shard_add(a->shard, b);
	return rc;
}

int dp_call_to_transcode_worker(struct dp_call *c)
{
	if (!c)
		return 0;
	if (!c->transcoding) {
		c->transcoding = true;
		c->shard->n_transcoding++;
	}
	if (allowed_on(c->shard, NULL, c->w))
		return 0; /* no transcoding workers, or on one already */
	return move_shard(c->shard, transcoding_worker(c->shard->hash));
}

int dp_media_worker(unsigned i, unsigned *lcore, bool *transcodes)
{
	struct dp_worker *w = dp_worker_get(i);

	if (!w)
		return -ENOENT;
	*lcore = w->lcore;
	*transcodes = i >= dp_worker_count() - transcode_workers();
	return 0;
}
