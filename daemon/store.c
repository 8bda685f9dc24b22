// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd embedded session ownership store: see store.h for the contract
 * every store implementation follows.
 *
 * Everything is O(1) expected: the table has at least twice as many
 * slots as records it may hold, so a linear probe sequence ends quickly,
 * and the home slot is a keyed hash of the id.  Nothing allocates
 * after store_mem_init().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "store.h"

#define SLOT_NONE	UINT32_MAX

int store_mem_init(struct store_mem *m, uint32_t max_entries,
		   const uint8_t hash_key[16])
{
	uint32_t size = 2;

	memset(m, 0, sizeof(*m));
	if (!max_entries || max_entries > STORE_MEM_MAX_ENTRIES || !hash_key)
		return -EINVAL;
	while (size < 2 * max_entries)
		size <<= 1;
	m->slots = calloc(size, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->mask = size - 1;
	m->max_entries = max_entries;
	m->k0 = load_le64(hash_key);
	m->k1 = load_le64(hash_key + 8) | 1;
	return 0;
}

void store_mem_destroy(struct store_mem *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

uint32_t store_mem_count(const struct store_mem *m)
{
	return m->count;
}

/*
 * Keyed multiplicative hashing: the high half of (id ^ k0) * k1 (k1 odd).
 * Session ids are drawn by the daemon from the CSPRNG, never chosen by
 * a peer, so they are uniform already; the key keeps home slots
 * unpredictable all the same.  A few instructions, where SipHash cost
 * about 280 per lookup (two lookups per reattach exchange).
 */
static uint32_t home_of(const struct store_mem *m, uint32_t id)
{
	uint64_t x = ((uint64_t)id ^ m->k0) * m->k1;

	return (uint32_t)(x >> 32) & m->mask;
}

static bool slot_live(const struct store_mem_slot *s, uint64_t now_ms)
{
	return now_ms < s->expires_ms;
}

static uint32_t find(const struct store_mem *m, uint32_t id)
{
	uint32_t i = home_of(m, id);

	while (m->slots[i].used) {
		if (m->slots[i].session_id == id)
			return i;
		i = (i + 1) & m->mask;
	}
	return SLOT_NONE;
}

/* Is h cyclically within (from, to]? */
static bool cyclic_between(uint32_t from, uint32_t h, uint32_t to)
{
	if (from <= to)
		return from < h && h <= to;
	return from < h || h <= to;
}

/*
 * Backward-shift deletion: later members of the probe run that could live
 * in the freed slot move into it, so no tombstone is left and every
 * remaining key stays reachable from its home slot.
 */
static void remove_at(struct store_mem *m, uint32_t hole)
{
	uint32_t k = hole;

	for (;;) {
		k = (k + 1) & m->mask;
		if (!m->slots[k].used)
			break;
		if (cyclic_between(hole, home_of(m, m->slots[k].session_id),
				   k))
			continue;
		m->slots[hole] = m->slots[k];
		hole = k;
	}
	memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
	m->count--;
}

/* The record of id if it is live; an expired one is reclaimed. */
static uint32_t find_live(struct store_mem *m, uint32_t id, uint64_t now_ms)
{
	uint32_t i = find(m, id);

	if (i != SLOT_NONE && !slot_live(&m->slots[i], now_ms)) {
		remove_at(m, i);
		m->stats.expired++;
		return SLOT_NONE;
	}
	return i;
}

/*
 * A slot for an id known to be absent: the first free slot of its probe
 * sequence, or an expired record met on the way (reusing it keeps the
 * run intact because the slot stays occupied).
 */
static uint32_t insert_slot(struct store_mem *m, uint32_t id, uint64_t now_ms)
{
	uint32_t i = home_of(m, id);

	while (m->slots[i].used) {
		if (!slot_live(&m->slots[i], now_ms)) {
			m->stats.expired++;
			return i;
		}
		i = (i + 1) & m->mask;
	}
	if (m->count >= m->max_entries) {
		m->stats.full++;
		return SLOT_NONE;
	}
	m->count++;
	return i;
}

static void fill_record(const struct store_mem_slot *s,
			struct store_record *out)
{
	if (!out)
		return;
	*out = (struct store_record){
		.session_id = s->session_id,
		.owner = s->owner,
		.version = s->version,
		.expires_ms = s->expires_ms,
	};
}

static int mem_get(void *ctx, uint32_t session_id, uint64_t now_ms,
		   struct store_record *out)
{
	struct store_mem *m = ctx;
	uint32_t i;

	if (!session_id)
		return -EINVAL;
	i = find_live(m, session_id, now_ms);
	if (i == SLOT_NONE)
		return -ENOENT;
	fill_record(&m->slots[i], out);
	return 0;
}

static int mem_cas(void *ctx, uint32_t session_id, uint64_t expected_version,
		   uint32_t new_owner, uint32_t ttl_ms, uint64_t now_ms,
		   struct store_record *out)
{
	struct store_mem *m = ctx;
	struct store_mem_slot *s;
	uint64_t current;
	uint32_t i;

	if (!session_id || !new_owner || !ttl_ms ||
	    expected_version == UINT64_MAX)
		return -EINVAL;
	i = find_live(m, session_id, now_ms);
	current = i == SLOT_NONE ? 0 : m->slots[i].version;
	if (current != expected_version) {
		m->stats.cas_stale++;
		return -ESTALE;
	}
	if (i != SLOT_NONE && m->slots[i].owner != new_owner) {
		m->stats.cas_not_owner++;
		return -EPERM;
	}
	if (i == SLOT_NONE) {
		i = insert_slot(m, session_id, now_ms);
		if (i == SLOT_NONE)
			return -ENOSPC;
	}
	s = &m->slots[i];
	s->used = true;
	s->session_id = session_id;
	s->owner = new_owner;
	s->version = expected_version + 1;
	s->expires_ms = now_ms + ttl_ms;
	m->stats.cas_ok++;
	fill_record(s, out);
	return 0;
}

/* Live record of id owned by owner, or a negative errno. */
static int owned_slot(struct store_mem *m, uint32_t id, uint32_t owner,
		      uint64_t now_ms, uint32_t *slot)
{
	if (!id || !owner)
		return -EINVAL;
	*slot = find_live(m, id, now_ms);
	if (*slot == SLOT_NONE)
		return -ENOENT;
	if (m->slots[*slot].owner != owner)
		return -EPERM;
	return 0;
}

static int mem_touch(void *ctx, uint32_t session_id, uint32_t owner,
		     uint32_t ttl_ms, uint64_t now_ms)
{
	struct store_mem *m = ctx;
	uint32_t i;
	int ret;

	if (!ttl_ms)
		return -EINVAL;
	ret = owned_slot(m, session_id, owner, now_ms, &i);
	if (!ret)
		m->slots[i].expires_ms = now_ms + ttl_ms;
	return ret;
}

static int mem_del(void *ctx, uint32_t session_id, uint32_t owner,
		   uint64_t now_ms)
{
	struct store_mem *m = ctx;
	uint32_t i;
	int ret;

	ret = owned_slot(m, session_id, owner, now_ms, &i);
	if (!ret)
		remove_at(m, i);
	return ret;
}

uint32_t store_mem_sweep(struct store_mem *m, uint64_t now_ms,
			 uint32_t budget)
{
	uint32_t n = 0, i;

	while (budget--) {
		i = m->sweep_pos;
		if (m->slots[i].used && !slot_live(&m->slots[i], now_ms)) {
			/* A shifted-in record now sits at i: look again. */
			remove_at(m, i);
			m->stats.expired++;
			n++;
			continue;
		}
		m->sweep_pos = (i + 1) & m->mask;
	}
	return n;
}

/* Where find() starts: fetched while the caller does something else. */
static void mem_prefetch(void *ctx, uint32_t session_id)
{
	struct store_mem *m = ctx;

	__builtin_prefetch(&m->slots[home_of(m, session_id)]);
}

const struct store_ops store_mem_ops = {
	.get = mem_get,
	.cas = mem_cas,
	.touch = mem_touch,
	.del = mem_del,
	.prefetch = mem_prefetch,
};
