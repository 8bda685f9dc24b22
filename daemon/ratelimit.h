/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd rate limiting: an integer token bucket, a bounded map (fixed
 * capacity hash with LRU order) and a per-source limiter built from both.
 *
 * Time is a monotonic millisecond count passed in by the caller; nothing
 * here reads a clock.  After init nothing allocates.
 */
#ifndef JVPND_RATELIMIT_H
#define JVPND_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------- */
/* Token bucket                                                            */
/* ---------------------------------------------------------------------- */

/*
 * The level is kept in milli-tokens.  A rate of R tokens per second is
 * then exactly R milli-tokens per millisecond, so every elapsed
 * millisecond is credited in full with integer arithmetic: no rounding
 * remainder is ever discarded and the bucket cannot drift.
 */
#define TBUCKET_UNIT	1000ULL

struct tbucket {
	uint64_t level;		/* milli-tokens, <= burst * TBUCKET_UNIT */
	uint64_t last_ms;	/* time the level was last brought up to date */
	uint32_t rate;		/* tokens per second; 0 = never refills */
	uint32_t burst;		/* capacity in tokens */
};

/* A new bucket starts full. */
void tbucket_init(struct tbucket *b, uint32_t rate, uint32_t burst,
		  uint64_t now_ms);
/* Take one token if available. */
bool tbucket_take(struct tbucket *b, uint64_t now_ms);
/* Whole tokens available at now_ms (brings the bucket up to date). */
uint32_t tbucket_tokens(struct tbucket *b, uint64_t now_ms);
/* Milliseconds until a token is available; UINT64_MAX if never. */
uint64_t tbucket_wait_ms(const struct tbucket *b, uint64_t now_ms);
/* Would the bucket be full at now_ms (i.e. forgetting it loses nothing)? */
bool tbucket_is_full(const struct tbucket *b, uint64_t now_ms);

/* ---------------------------------------------------------------------- */
/* Bounded map                                                             */
/* ---------------------------------------------------------------------- */

#define BMAP_KEY_MAX	20	/* family + port + IPv6 address fits */
#define BMAP_NONE	UINT32_MAX

/*
 * Fixed-capacity hash map from short byte keys to slot indices
 * 0..capacity-1; callers keep their values in parallel arrays indexed by
 * slot.  Chained buckets plus a doubly linked LRU list, all as u32
 * indices into one slot array: find, insert, touch, remove and evicting
 * the least recently used entry are O(1) (chains are expected O(1)
 * because bucket count >= capacity and the hash is keyed SipHash, so a
 * remote sender cannot aim many keys at one chain).
 */
struct bmap_slot {
	uint8_t key[BMAP_KEY_MAX];
	uint8_t key_len;
	uint8_t used;
	uint32_t hnext, hprev;		/* hash chain */
	uint32_t newer, older;		/* LRU list */
};

struct bmap {
	struct bmap_slot *slots;
	uint32_t *buckets;		/* head slot of each chain */
	uint32_t capacity;
	uint32_t bucket_mask;
	uint32_t count;
	uint32_t newest, oldest;	/* LRU ends */
	uint32_t free_head;		/* free slots, linked through hnext */
	uint64_t k0, k1;		/* SipHash key */
};

/* capacity 1..2^24; hash_key: 16 random bytes from the caller. */
int bmap_init(struct bmap *m, uint32_t capacity, const uint8_t hash_key[16]);
void bmap_destroy(struct bmap *m);
/* Slot of key or BMAP_NONE.  Does not change the LRU order. */
uint32_t bmap_find(const struct bmap *m, const void *key, size_t len);
/* Mark slot as most recently used. */
void bmap_touch(struct bmap *m, uint32_t slot);
/*
 * Insert key (must not be present).  If the map is full and evict is true,
 * the least recently used entry is removed first and its slot reused
 * (*evicted set to true).  Returns the slot, or BMAP_NONE if full and
 * evict is false or len is 0 or above BMAP_KEY_MAX.
 */
uint32_t bmap_insert(struct bmap *m, const void *key, size_t len, bool evict,
		     bool *evicted);
void bmap_remove(struct bmap *m, uint32_t slot);
/* Least recently used slot, BMAP_NONE if empty. */
uint32_t bmap_oldest(const struct bmap *m);

/* SipHash-2-4 of data under the 128-bit key (k0, k1). */
uint64_t jvpn_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* ---------------------------------------------------------------------- */
/* Per-source limiter                                                      */
/* ---------------------------------------------------------------------- */

/*
 * When the table is full and a new source shows up:
 *
 * RL_FULL_EVICT_OLDEST (the default jvpnd uses): the least recently seen
 *   source is forgotten.  Forgetting only ever gives that source a full
 *   bucket again, i.e. it errs towards letting traffic through; a flood
 *   from many (spoofed) sources is bounded by the global limiter behind
 *   this table, not by this table.  Refusing instead would let such a
 *   flood lock every new legitimate source out.  Evictions are counted,
 *   and the ones that lost state (bucket not yet full again) separately.
 * RL_FULL_REFUSE: the new source is refused and counted (fail closed);
 *   for deployments that prefer to keep established sources' state.
 */
enum rl_full_mode {
	RL_FULL_EVICT_OLDEST,
	RL_FULL_REFUSE,
};

enum rl_verdict {
	RL_PASS,
	RL_LIMITED,		/* the source's bucket is empty */
	RL_TABLE_FULL,		/* RL_FULL_REFUSE and no room */
	RL_INVALID,		/* key length 0 or > BMAP_KEY_MAX */
};

struct rl_stats {
	uint64_t passed;
	uint64_t limited;
	uint64_t refused_full;
	uint64_t evictions;
	uint64_t evictions_lossy;	/* evicted while its bucket was not full */
	uint64_t invalid;
};

struct rl_table {
	struct bmap map;
	struct tbucket *buckets;	/* indexed by map slot */
	uint32_t rate, burst;
	enum rl_full_mode mode;
	struct rl_stats stats;
};

int rl_table_init(struct rl_table *t, uint32_t capacity, uint32_t rate,
		  uint32_t burst, enum rl_full_mode mode,
		  const uint8_t hash_key[16]);
void rl_table_destroy(struct rl_table *t);
/* Charge one request from the source identified by key. */
enum rl_verdict rl_table_check(struct rl_table *t, const void *key,
			       size_t len, uint64_t now_ms);
uint32_t rl_table_count(const struct rl_table *t);
const char *rl_verdict_name(enum rl_verdict v);

#endif /* JVPND_RATELIMIT_H */
