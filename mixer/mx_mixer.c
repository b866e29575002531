/* SPDX-License-Identifier: MIT
 * mx_mixer: a conference room's mixing core (see mx.h).
 *
 * Every tick, each participant's frame (decoded at the room's rate, or
 * absent) is measured (RMS level in -dBov, as RFC 6464 counts it, unless
 * the packet's audio-level header gave it), and an energy VAD with a
 * noise floor and a hangover says who speaks. The loudest max_talkers of
 * those (by a smoothed level) are the talkers: only they are summed.
 *
 * Outputs: the sum of the talkers (acc) is what every listener with no
 * special relation hears, so they share one buffer (and the room one
 * encoding per codec setting); a talker hears acc minus its own
 * contribution, taken out before anything saturates (N-1); a listener
 * under a relation (a talker it must not hear: whisper, a muted one is
 * simply not a talker) gets its own sum. Deaf participants get nothing.
 */
#include "mx.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_SILENT 127     /* -dBov */
#define VAD_FLOOR MX_MIXER_VAD_FLOOR             /* quieter than -55 dBov is never speech */
#define VAD_ABOVE_NOISE MX_MIXER_VAD_ABOVE_NOISE /* dB above the noise floor to count as speech */
#define HANGOVER_MS MX_MIXER_HANGOVER_MS         /* speech goes on this long after the level drops */
#define NOISE_RISE_DB_S 3.0  /* the noise floor follows a louder background this fast */

struct part {
	bool used, muted, deaf, speaking, talker;
	bool special;             /* this tick: it hears a whisper, so it gets its own sum */
	int32_t gain;             /* Q12 on what it says */
	int level;                /* this frame's, -dBov */
	double noise_db;          /* the noise floor's level, -dBov (larger is quieter) */
	double loud;              /* smoothed linear energy, for the ranking */
	unsigned hang;            /* frames of hangover left */
	int audience;             /* -1: everyone hears it; else a listener mask index */
	int16_t *in, *out;
	int32_t *c;               /* its contribution while a talker */
	struct mx_limiter lim;
};

struct mx_mixer {
	struct mx_mixer_conf c;
	const struct mx_mix_ops *ops;
	unsigned frame, hang_frames;
	struct part *p;
	uint8_t *aud;             /* aud[s * max + l]: l may hear s (for speakers with an audience) */
	int32_t *acc;
	int16_t *shared;
	struct mx_limiter shared_lim;
	unsigned talkers[MX_MIXER_MAX_TALKERS], n_talkers;
	struct mx_mixer_event ev[MX_MIXER_EVENTS];
	unsigned ev_head, ev_tail;
	uint64_t frames;
};

int mx_mixer_conf_check(const struct mx_mixer_conf *c)
{
	if (!c || (c->rate != 8000 && c->rate != 16000 && c->rate != 48000) ||
	    (c->frame_ms != 10 && c->frame_ms != 20) || c->max_talkers < 1 ||
	    c->max_talkers > MX_MIXER_MAX_TALKERS || c->max_parts < 1 || c->max_parts > MX_MIXER_MAX_PARTS)
		return -EINVAL;
	return 0;
}

struct mx_mixer *mx_mixer_create(const struct mx_mixer_conf *c, const struct mx_mix_ops *ops)
{
	struct mx_mixer *m;
	size_t f;

	if (mx_mixer_conf_check(c) || !(m = calloc(1, sizeof(*m))))
		return NULL;
	m->c = *c;
	m->ops = ops ? ops : mx_mix_active();
	m->frame = c->rate / 1000u * c->frame_ms;
	m->hang_frames = HANGOVER_MS / c->frame_ms;
	f = m->frame;
	m->p = calloc(c->max_parts, sizeof(*m->p));
	m->aud = calloc((size_t)c->max_parts * c->max_parts, 1);
	m->acc = calloc(f, sizeof(int32_t));
	m->shared = calloc(f, sizeof(int16_t));
	if (!m->p || !m->aud || !m->acc || !m->shared)
		goto fail;
	for (unsigned i = 0; i < c->max_parts; i++) {
		struct part *p = &m->p[i];

		p->in = calloc(f, sizeof(int16_t));
		p->out = calloc(f, sizeof(int16_t));
		p->c = calloc(f, sizeof(int32_t));
		if (!p->in || !p->out || !p->c)
			goto fail;
	}
	mx_limiter_init(&m->shared_lim, c->frame_ms);
	return m;
fail:
	mx_mixer_destroy(m);
	return NULL;
}

void mx_mixer_destroy(struct mx_mixer *m)
{
	if (!m)
		return;
	for (unsigned i = 0; m->p && i < m->c.max_parts; i++) {
		free(m->p[i].in);
		free(m->p[i].out);
		free(m->p[i].c);
	}
	free(m->p);
	free(m->aud);
	free(m->acc);
	free(m->shared);
	free(m);
}

unsigned mx_mixer_frame(const struct mx_mixer *m) { return m->frame; }

int mx_mixer_join(struct mx_mixer *m)
{
	for (unsigned i = 0; i < m->c.max_parts; i++) {
		struct part *p = &m->p[i];

		if (p->used)
			continue;
		int16_t *in = p->in, *out = p->out;
		int32_t *c = p->c;

		memset(p, 0, sizeof(*p));
		p->in = in;
		p->out = out;
		p->c = c;
		p->used = true;
		p->gain = MX_GAIN_UNITY;
		p->level = LEVEL_SILENT;
		p->noise_db = VAD_FLOOR;
		p->audience = -1;
		mx_limiter_init(&p->lim, m->c.frame_ms);
		return (int)i; /* in no audience: mx_mixer_leave cleared its column */
	}
	return -ENOSPC;
}

static struct part *part(struct mx_mixer *m, int id)
{
	if (id < 0 || (unsigned)id >= m->c.max_parts || !m->p[id].used)
		return NULL;
	return &m->p[id];
}

static void event(struct mx_mixer *m, int id, bool start)
{
	struct mx_mixer_event *e;

	if (m->ev_head - m->ev_tail == MX_MIXER_EVENTS)
		m->ev_tail++; /* the oldest goes */
	e = &m->ev[m->ev_head++ % MX_MIXER_EVENTS];
	e->id = id;
	e->start = start;
	e->frame = m->frames;
}

int mx_mixer_leave(struct mx_mixer *m, int id)
{
	struct part *p = part(m, id);

	if (!p)
		return -ENOENT;
	if (p->talker)
		event(m, id, false);
	p->used = false;
	for (unsigned s = 0; s < m->c.max_parts; s++) /* it leaves every audience */
		m->aud[s * m->c.max_parts + (unsigned)id] = 0;
	return 0;
}

int mx_mixer_set(struct mx_mixer *m, int id, const struct mx_mixer_part_opts *o)
{
	struct part *p = part(m, id);

	if (!p || o->gain < 0 || o->gain > MX_GAIN_MAX)
		return p ? -EINVAL : -ENOENT;
	p->muted = o->muted;
	p->deaf = o->deaf;
	p->gain = o->gain;
	return 0;
}

int mx_mixer_set_audience(struct mx_mixer *m, int speaker, const int *listeners, int n)
{
	struct part *p = part(m, speaker);
	uint8_t *row;

	if (!p)
		return -ENOENT;
	for (int k = 0; k < n; k++)
		if (!part(m, listeners[k]) || listeners[k] == speaker)
			return -EINVAL;
	row = m->aud + (size_t)speaker * m->c.max_parts;
	memset(row, 0, m->c.max_parts);
	if (n < 0) {
		p->audience = -1;
		return 0;
	}
	for (int k = 0; k < n; k++)
		row[listeners[k]] = 1;
	p->audience = speaker;
	return 0;
}

int16_t *mx_mixer_input(struct mx_mixer *m, int id)
{
	struct part *p = part(m, id);

	return p ? p->in : NULL;
}

void mx_mixer_input_done(struct mx_mixer *m, int id, bool present, int level)
{
	struct part *p = part(m, id);

	if (!p)
		return;
	p->level = present || (level >= 0 && level <= LEVEL_SILENT) ? level : LEVEL_SILENT;
	if (!present) /* heard as silence while its hangover lasts */
		memset(p->in, 0, m->frame * sizeof(int16_t));
	if (present && level < 0) { /* measure it: RMS in -dBov */
		double e = 0;

		for (unsigned i = 0; i < m->frame; i++)
			e += (double)p->in[i] * p->in[i];
		e /= m->frame;
		p->level = e <= 0 ? LEVEL_SILENT : (int)lrint(-10.0 * log10(e / (32768.0 * 32768.0)));
		if (p->level > LEVEL_SILENT)
			p->level = LEVEL_SILENT;
		if (p->level < 0)
			p->level = 0;
	}
}

int mx_mixer_level(const struct mx_mixer *m, int id)
{
	return id >= 0 && (unsigned)id < m->c.max_parts && m->p[id].used ? m->p[id].level : -1;
}

/* Voice activity: above the absolute floor and well above the noise. */
static void vad(struct mx_mixer *m, struct part *p)
{
	double lvl = p->level, per_frame = NOISE_RISE_DB_S * m->c.frame_ms / 1000.0;
	bool loud = lvl <= VAD_FLOOR && lvl <= p->noise_db - VAD_ABOVE_NOISE;

	/* The noise floor drops at once to a quieter frame and creeps up to a
	 * louder one, so steady background noise becomes the floor and speech
	 * (short, well above it) does not. */
	if (lvl > p->noise_db)
		p->noise_db = lvl;
	else
		p->noise_db -= per_frame;
	if (p->noise_db < 0)
		p->noise_db = 0;
	if (loud)
		p->hang = m->hang_frames;
	else if (p->hang)
		p->hang--;
	p->speaking = loud || p->hang > 0; /* a missing frame is silence: the hangover bridges it */
	p->loud = 0.8 * p->loud + 0.2 * pow(10.0, -lvl / 10.0);
}

int mx_mixer_quiet_level(const struct mx_mixer *m, int id)
{
	const struct part *p;
	double t;

	if (id < 0 || (unsigned)id >= m->c.max_parts || !m->p[id].used)
		return -1;
	p = &m->p[id];
	/* vad(): loud iff level <= VAD_FLOOR and level <= noise_db - VAD_ABOVE_NOISE */
	t = floor(p->noise_db - VAD_ABOVE_NOISE);
	if (t > VAD_FLOOR)
		t = VAD_FLOOR;
	return t < 0 ? 0 : (int)t;
}

/* The loudest max_talkers of those speaking and not muted. */
static void pick_talkers(struct mx_mixer *m)
{
	unsigned n = 0, old[MX_MIXER_MAX_TALKERS], n_old = m->n_talkers;

	memcpy(old, m->talkers, sizeof(old));
	for (unsigned i = 0; i < m->c.max_parts; i++) {
		struct part *p = &m->p[i];

		if (!p->used)
			continue;
		p->talker = false;
		if (!p->speaking || p->muted)
			continue;
		/* insert by loudness */
		unsigned k = n < m->c.max_talkers ? n++ : m->c.max_talkers;

		if (k == m->c.max_talkers) {
			if (m->p[m->talkers[k - 1]].loud >= p->loud)
				continue;
			k--;
		}
		while (k > 0 && m->p[m->talkers[k - 1]].loud < p->loud) {
			m->talkers[k] = m->talkers[k - 1];
			k--;
		}
		m->talkers[k] = i;
	}
	m->n_talkers = n;
	for (unsigned k = 0; k < n; k++)
		m->p[m->talkers[k]].talker = true;
	for (unsigned k = 0; k < n_old; k++) /* who stopped */
		if (m->p[old[k]].used && !m->p[old[k]].talker)
			event(m, (int)old[k], false);
	for (unsigned k = 0; k < n; k++) {   /* who started */
		bool was = false;

		for (unsigned j = 0; j < n_old; j++)
			was |= old[j] == m->talkers[k];
		if (!was)
			event(m, (int)m->talkers[k], true);
	}
}

/* May listener l hear speaker s? */
static bool hears(const struct mx_mixer *m, unsigned l, unsigned s)
{
	return l != s && (m->p[s].audience < 0 || m->aud[(size_t)s * m->c.max_parts + l]);
}

void mx_mixer_run(struct mx_mixer *m)
{
	const struct mx_mix_ops *o = m->ops;
	unsigned f = m->frame;

	for (unsigned i = 0; i < m->c.max_parts; i++)
		if (m->p[i].used)
			vad(m, &m->p[i]);
	pick_talkers(m);
	memset(m->acc, 0, f * sizeof(int32_t));
	/* acc: the talkers everyone hears; a talker with an audience is summed
	 * per listener below */
	for (unsigned k = 0; k < m->n_talkers; k++) {
		struct part *t = &m->p[m->talkers[k]];

		if (t->audience < 0)
			o->add(m->acc, t->c, t->in, t->gain, f);
	}
	mx_mix_out(o, m->c.limit ? &m->shared_lim : NULL, m->shared, m->acc, NULL, f);
	for (unsigned i = 0; i < m->c.max_parts; i++) {
		struct part *p = &m->p[i];

		if (!p->used || p->deaf)
			continue;
		p->special = false;
		for (unsigned k = 0; k < m->n_talkers; k++) {
			unsigned s = m->talkers[k];

			if (s != i && m->p[s].audience >= 0 && hears(m, i, s))
				p->special = true; /* a whisper it hears */
		}
		if (!p->special && !p->talker)
			continue; /* hears the shared mix */
		if (!p->special) { /* N-1: its own voice out of the shared sum */
			mx_mix_out(o, m->c.limit ? &p->lim : NULL, p->out, m->acc,
				   p->audience < 0 ? p->c : NULL, f);
			continue;
		}
		/* its own sum: acc, minus itself, plus the whispers it hears */
		{
			static _Thread_local int32_t own[MX_MIXER_MAX_FRAME];

			memcpy(own, m->acc, f * sizeof(int32_t));
			for (unsigned k = 0; k < m->n_talkers; k++) {
				unsigned s = m->talkers[k];
				struct part *t = &m->p[s];

				if (s == i) {
					if (t->audience < 0)
						for (unsigned j = 0; j < f; j++)
							own[j] -= t->c[j];
				} else if (t->audience >= 0 && hears(m, i, s)) {
					o->add(own, NULL, t->in, t->gain, f);
				}
			}
			mx_mix_out(o, m->c.limit ? &p->lim : NULL, p->out, own, NULL, f);
		}
	}
	m->frames++;
}

const int16_t *mx_mixer_output(const struct mx_mixer *m, int id, bool *shared)
{
	const struct part *p;
	bool own;

	if (id < 0 || (unsigned)id >= m->c.max_parts || !m->p[id].used || m->p[id].deaf)
		return NULL;
	p = &m->p[id];
	own = p->special || p->talker; /* as mx_mixer_run decided */
	if (shared)
		*shared = !own;
	return own ? p->out : m->shared;
}

const int16_t *mx_mixer_shared(const struct mx_mixer *m) { return m->shared; }

bool mx_mixer_is_talker(const struct mx_mixer *m, int id)
{
	return id >= 0 && (unsigned)id < m->c.max_parts && m->p[id].used && m->p[id].talker;
}

int mx_mixer_next_event(struct mx_mixer *m, struct mx_mixer_event *out)
{
	if (m->ev_tail == m->ev_head)
		return 0;
	*out = m->ev[m->ev_tail++ % MX_MIXER_EVENTS];
	return 1;
}
