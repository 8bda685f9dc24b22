// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd session table.  See session.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peer.h"
#include "session.h"
#include "state.h"

#define SESSION_ID_TRIES	64

static uint32_t hash_id(uint32_t id)
{
	/* Ids are random already: a multiplicative mix suffices. */
	return id * 2654435761u;
}

int session_table_init(struct session_table *t, uint32_t capacity)
{
	memset(t, 0, sizeof(*t));
	if (!capacity || capacity > JVPN_MAX_SESSIONS_LIMIT)
		return -EINVAL;
	t->n_slots = 2;
	while (t->n_slots < 2 * capacity)
		t->n_slots <<= 1;
	t->s = calloc(capacity, sizeof(*t->s));
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	t->pblocks = calloc(capacity, sizeof(*t->pblocks));
	if (!t->s || !t->slots || !t->pblocks) {
		session_table_destroy(t);
		return -ENOMEM;
	}
	/* Entries are touched only when first used (fresh), not here. */
	t->capacity = capacity;
	return 0;
}

void session_table_destroy(struct session_table *t)
{
	if (t->s)
		sodium_memzero(t->s, (size_t)t->fresh * sizeof(*t->s));
	if (t->pblocks)
		sodium_memzero(t->pblocks,
			       (size_t)t->pb_fresh * sizeof(*t->pblocks));
	free(t->s);
	free(t->slots);
	free(t->pblocks);
	memset(t, 0, sizeof(*t));
}

/* Slot holding id, or the empty slot where it would go. */
static uint32_t probe(const struct session_table *t, uint32_t id)
{
	uint32_t mask = t->n_slots - 1, i = hash_id(id) & mask;

	while (t->slots[i] && t->s[t->slots[i] - 1].local_id != id)
		i = (i + 1) & mask;
	return i;
}

struct session *session_find(const struct session_table *t, uint32_t id)
{
	uint32_t i;

	if (!id || !t->capacity)
		return NULL;
	i = probe(t, id);
	return t->slots[i] ? &t->s[t->slots[i] - 1] : NULL;
}

struct session *session_alloc(struct session_table *t, uint32_t local_id,
			      int *err)
{
	struct session *s;
	uint32_t slot, idx;

	if (!local_id) {
		*err = -EINVAL;
		return NULL;
	}
	slot = probe(t, local_id);
	if (t->slots[slot]) {
		*err = -EEXIST;
		return NULL;
	}
	if (t->free_head) {
		idx = t->free_head - 1;
		t->free_head = t->s[idx].next_free;
	} else if (t->fresh < t->capacity) {
		idx = t->fresh++;
	} else {
		*err = -ENOSPC;
		return NULL;
	}
	s = &t->s[idx];
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->local_id = local_id;
	s->next_path_id = 1;
	s->paths = &s->path0;
	t->slots[slot] = idx + 1;
	t->n++;
	return s;
}

/* Backward-shift deletion keeps every probe sequence unbroken. */
static void unlink_slot(struct session_table *t, uint32_t i)
{
	uint32_t mask = t->n_slots - 1, j = i, home;

	t->slots[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->slots[j])
			return;
		home = hash_id(t->s[t->slots[j] - 1].local_id) & mask;
		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = 0;
			i = j;
		}
	}
}

void session_free(struct session_table *t, struct session *s)
{
	uint32_t idx = (uint32_t)(s - t->s);

	unlink_slot(t, probe(t, s->local_id));
	s->n_paths = 0;
	session_paths_compact(t, s);
	sodium_memzero(s, sizeof(*s));
	s->next_free = t->free_head;
	t->free_head = idx + 1;
	t->n--;
}

uint32_t session_random_id(const struct session_table *t)
{
	unsigned int i;
	uint32_t id;

	for (i = 0; i < SESSION_ID_TRIES; i++) {
		id = randombytes_random();
		if (id && !session_find(t, id))
			return id;
	}
	return 0;
}

struct session_path *session_path_find(struct session *s, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < s->n_paths; i++)
		if (s->paths[i].id == id)
			return &s->paths[i];
	return NULL;
}

/* ---- path blocks -------------------------------------------------------- */

static struct session_path_block *block_get(struct session_table *t)
{
	struct session_path_block *b;

	if (t->pb_free) {
		b = &t->pblocks[t->pb_free - 1];
		t->pb_free = b->p[0].id;	/* the free list's link */
		b->p[0].id = 0;
	} else if (t->pb_fresh < t->capacity) {
		b = &t->pblocks[t->pb_fresh++];
	} else {
		t->pb_failed++;
		return NULL;
	}
	t->pb_used++;
	return b;
}

static void block_put(struct session_table *t, struct session_path *p)
{
	struct session_path_block *b = (struct session_path_block *)p;

	sodium_memzero(b, sizeof(*b));
	b->p[0].id = t->pb_free;
	t->pb_free = (uint32_t)(b - t->pblocks) + 1;
	t->pb_used--;
}

struct session_path *session_path_slot(struct session_table *t,
				       struct session *s)
{
	struct session_path_block *b;

	if (s->n_paths >= JVPN_MAX_PATHS_LIMIT)
		return NULL;
	if (s->paths == &s->path0 && s->n_paths >= 1) {
		b = block_get(t);
		if (!b)
			return NULL;
		b->p[0] = s->path0;
		memset(&s->path0, 0, sizeof(s->path0));
		s->paths = b->p;
	}
	return &s->paths[s->n_paths];
}

void session_paths_compact(struct session_table *t, struct session *s)
{
	struct session_path *p = s->paths;

	if (p == &s->path0 || s->n_paths > 1)
		return;
	s->path0 = s->n_paths ? p[0] : (struct session_path){ 0 };
	s->paths = &s->path0;
	block_put(t, p);
}

const struct session_path *session_active_path(const struct session *s)
{
	unsigned int i;

	for (i = 0; i < s->n_paths; i++)
		if (s->paths[i].id == s->active_path)
			return &s->paths[i];
	return NULL;
}

void session_state_record(const struct session *s, struct state_record *r)
{
	memset(r, 0, sizeof(*r));
	r->local_id = s->local_id;
	r->peer_id = s->peer_id;
	memcpy(r->peer_pub, s->peer->cfg->public_key, sizeof(r->peer_pub));
	r->key_id = s->key_id;
	memcpy(r->reattach_key, s->reattach_key, sizeof(r->reattach_key));
	r->initiator = s->role == ROLE_INITIATOR;
	r->state = s->fsm.state;
	r->version = s->fsm.state_version;
}
