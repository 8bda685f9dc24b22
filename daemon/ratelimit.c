// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd rate limiting: token bucket, bounded LRU map, per-source limiter.
 * See ratelimit.h for the design choices.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ratelimit.h"

/* ---------------------------------------------------------------------- */
/* Token bucket                                                            */
/* ---------------------------------------------------------------------- */

static uint64_t bucket_cap(const struct tbucket *b)
{
	return (uint64_t)b->burst * TBUCKET_UNIT;
}

/*
 * Credit the time since last_ms.  The "need" test comes first so that the
 * multiplication below only runs on a product smaller than the gap: no
 * overflow for any u32 rate and burst, however long the bucket idled.
 */
static void refill(struct tbucket *b, uint64_t now_ms)
{
	uint64_t cap = bucket_cap(b), gap, need, dt;

	if (now_ms <= b->last_ms)
		return;		/* clock did not advance: nothing to credit */
	dt = now_ms - b->last_ms;
	b->last_ms = now_ms;
	if (b->level >= cap || !b->rate)
		return;
	gap = cap - b->level;
	need = (gap + b->rate - 1) / b->rate;
	if (dt >= need)
		b->level = cap;
	else
		b->level += dt * b->rate;
}

void tbucket_init(struct tbucket *b, uint32_t rate, uint32_t burst,
		  uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->last_ms = now_ms;
	b->level = bucket_cap(b);
}

bool tbucket_take(struct tbucket *b, uint64_t now_ms)
{
	refill(b, now_ms);
	if (b->level < TBUCKET_UNIT)
		return false;
	b->level -= TBUCKET_UNIT;
	return true;
}

uint32_t tbucket_tokens(struct tbucket *b, uint64_t now_ms)
{
	refill(b, now_ms);
	return (uint32_t)(b->level / TBUCKET_UNIT);
}

uint64_t tbucket_wait_ms(const struct tbucket *b, uint64_t now_ms)
{
	struct tbucket v = *b;

	refill(&v, now_ms);
	if (v.level >= TBUCKET_UNIT)
		return 0;
	if (!v.rate || !v.burst)
		return UINT64_MAX;
	return (TBUCKET_UNIT - v.level + v.rate - 1) / v.rate;
}

bool tbucket_is_full(const struct tbucket *b, uint64_t now_ms)
{
	struct tbucket v = *b;

	refill(&v, now_ms);
	return v.level >= bucket_cap(&v);
}

/* ---------------------------------------------------------------------- */
/* SipHash-2-4 (Aumasson, Bernstein), for keyed bucket selection           */
/* ---------------------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static void sip_absorb(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t jvpn_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	const uint8_t *p = data;
	uint8_t tail[8] = { 0 };
	size_t i, left = len % 8;

	for (i = 0; i + 8 <= len; i += 8)
		sip_absorb(&s, load_le64(p + i));
	memcpy(tail, p + i, left);
	tail[7] = (uint8_t)len;
	sip_absorb(&s, load_le64(tail));
	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---------------------------------------------------------------------- */
/* Bounded map                                                             */
/* ---------------------------------------------------------------------- */

#define BMAP_CAPACITY_MAX	(1U << 24)

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int bmap_init(struct bmap *m, uint32_t capacity, const uint8_t hash_key[16])
{
	uint32_t i, n_buckets;

	memset(m, 0, sizeof(*m));
	if (!capacity || capacity > BMAP_CAPACITY_MAX)
		return -EINVAL;
	n_buckets = pow2_at_least(capacity);
	m->slots = calloc(capacity, sizeof(*m->slots));
	m->buckets = calloc(n_buckets, sizeof(*m->buckets));
	if (!m->slots || !m->buckets) {
		bmap_destroy(m);
		return -ENOMEM;
	}
	for (i = 0; i < n_buckets; i++)
		m->buckets[i] = BMAP_NONE;
	for (i = 0; i < capacity; i++)
		m->slots[i].hnext = i + 1 < capacity ? i + 1 : BMAP_NONE;
	m->capacity = capacity;
	m->bucket_mask = n_buckets - 1;
	m->newest = m->oldest = BMAP_NONE;
	m->free_head = 0;
	m->k0 = load_le64(hash_key);
	m->k1 = load_le64(hash_key + 8);
	return 0;
}

void bmap_destroy(struct bmap *m)
{
	free(m->slots);
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

static uint32_t bucket_of(const struct bmap *m, const void *key, size_t len)
{
	return (uint32_t)jvpn_siphash(m->k0, m->k1, key, len) & m->bucket_mask;
}

static bool key_ok(size_t len)
{
	return len > 0 && len <= BMAP_KEY_MAX;
}

uint32_t bmap_find(const struct bmap *m, const void *key, size_t len)
{
	uint32_t i;

	if (!key_ok(len) || !m->capacity)
		return BMAP_NONE;
	for (i = m->buckets[bucket_of(m, key, len)]; i != BMAP_NONE;
	     i = m->slots[i].hnext) {
		const struct bmap_slot *s = &m->slots[i];

		if (s->key_len == len && !memcmp(s->key, key, len))
			return i;
	}
	return BMAP_NONE;
}

static void lru_unlink(struct bmap *m, uint32_t i)
{
	struct bmap_slot *s = &m->slots[i];

	if (s->newer != BMAP_NONE)
		m->slots[s->newer].older = s->older;
	else
		m->newest = s->older;
	if (s->older != BMAP_NONE)
		m->slots[s->older].newer = s->newer;
	else
		m->oldest = s->newer;
}

static void lru_push_newest(struct bmap *m, uint32_t i)
{
	struct bmap_slot *s = &m->slots[i];

	s->newer = BMAP_NONE;
	s->older = m->newest;
	if (m->newest != BMAP_NONE)
		m->slots[m->newest].newer = i;
	m->newest = i;
	if (m->oldest == BMAP_NONE)
		m->oldest = i;
}

void bmap_touch(struct bmap *m, uint32_t slot)
{
	if (slot >= m->capacity || !m->slots[slot].used ||
	    m->newest == slot)
		return;
	lru_unlink(m, slot);
	lru_push_newest(m, slot);
}

void bmap_remove(struct bmap *m, uint32_t slot)
{
	struct bmap_slot *s;

	if (slot >= m->capacity || !m->slots[slot].used)
		return;
	s = &m->slots[slot];
	if (s->hprev != BMAP_NONE)
		m->slots[s->hprev].hnext = s->hnext;
	else
		m->buckets[bucket_of(m, s->key, s->key_len)] = s->hnext;
	if (s->hnext != BMAP_NONE)
		m->slots[s->hnext].hprev = s->hprev;
	lru_unlink(m, slot);
	memset(s, 0, sizeof(*s));
	s->hnext = m->free_head;
	m->free_head = slot;
	m->count--;
}

uint32_t bmap_oldest(const struct bmap *m)
{
	return m->count ? m->oldest : BMAP_NONE;
}

uint32_t bmap_insert(struct bmap *m, const void *key, size_t len, bool evict,
		     bool *evicted)
{
	struct bmap_slot *s;
	uint32_t i, b;

	if (evicted)
		*evicted = false;
	if (!key_ok(len) || !m->capacity)
		return BMAP_NONE;
	if (m->count == m->capacity) {
		if (!evict)
			return BMAP_NONE;
		bmap_remove(m, m->oldest);
		if (evicted)
			*evicted = true;
	}
	i = m->free_head;
	s = &m->slots[i];
	m->free_head = s->hnext;

	memcpy(s->key, key, len);
	s->key_len = (uint8_t)len;
	s->used = 1;
	b = bucket_of(m, key, len);
	s->hprev = BMAP_NONE;
	s->hnext = m->buckets[b];
	if (s->hnext != BMAP_NONE)
		m->slots[s->hnext].hprev = i;
	m->buckets[b] = i;
	lru_push_newest(m, i);
	m->count++;
	return i;
}

/* ---------------------------------------------------------------------- */
/* Per-source limiter                                                      */
/* ---------------------------------------------------------------------- */

int rl_table_init(struct rl_table *t, uint32_t capacity, uint32_t rate,
		  uint32_t burst, enum rl_full_mode mode,
		  const uint8_t hash_key[16])
{
	int ret;

	memset(t, 0, sizeof(*t));
	ret = bmap_init(&t->map, capacity, hash_key);
	if (ret)
		return ret;
	t->buckets = calloc(capacity, sizeof(*t->buckets));
	if (!t->buckets) {
		bmap_destroy(&t->map);
		return -ENOMEM;
	}
	t->rate = rate;
	t->burst = burst;
	t->mode = mode;
	return 0;
}

void rl_table_destroy(struct rl_table *t)
{
	bmap_destroy(&t->map);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* Find or create the source's slot; BMAP_NONE if the table refuses. */
static uint32_t source_slot(struct rl_table *t, const void *key, size_t len,
			    uint64_t now_ms)
{
	bool evict = t->mode == RL_FULL_EVICT_OLDEST, evicted;
	uint32_t slot = bmap_find(&t->map, key, len);

	if (slot != BMAP_NONE) {
		bmap_touch(&t->map, slot);
		return slot;
	}
	if (evict && t->map.count == t->map.capacity &&
	    !tbucket_is_full(&t->buckets[bmap_oldest(&t->map)], now_ms))
		t->stats.evictions_lossy++;
	slot = bmap_insert(&t->map, key, len, evict, &evicted);
	if (slot == BMAP_NONE)
		return BMAP_NONE;
	if (evicted)
		t->stats.evictions++;
	tbucket_init(&t->buckets[slot], t->rate, t->burst, now_ms);
	return slot;
}

enum rl_verdict rl_table_check(struct rl_table *t, const void *key,
			       size_t len, uint64_t now_ms)
{
	uint32_t slot;

	if (!key_ok(len)) {
		t->stats.invalid++;
		return RL_INVALID;
	}
	slot = source_slot(t, key, len, now_ms);
	if (slot == BMAP_NONE) {
		t->stats.refused_full++;
		return RL_TABLE_FULL;
	}
	if (!tbucket_take(&t->buckets[slot], now_ms)) {
		t->stats.limited++;
		return RL_LIMITED;
	}
	t->stats.passed++;
	return RL_PASS;
}

uint32_t rl_table_count(const struct rl_table *t)
{
	return t->map.count;
}

const char *rl_verdict_name(enum rl_verdict v)
{
	switch (v) {
	case RL_PASS:
		return "pass";
	case RL_LIMITED:
		return "limited";
	case RL_TABLE_FULL:
		return "table_full";
	case RL_INVALID:
		return "invalid";
	}
	return "unknown";
}
