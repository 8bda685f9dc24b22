/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd session ownership store.
 *
 * One record per session: who owns it (a gateway node id), a version and
 * a TTL.  The version is the fencing token of the session's path binding:
 * every committed reattach moves it by exactly one through a
 * compare-and-swap, so two gateways (or two workers) that decided a switch
 * on the same view cannot both commit it, and an old decision can never
 * be applied after a newer one (no rollback).
 *
 * Rules every implementation follows (the embedded one below, a Redis or
 * etcd one later):
 *   - an absent record and an expired record are the same thing: version
 *     0, no owner.  A session's record is created by cas(expected 0) when
 *     the session is established (version 1);
 *   - cas(id, expected, owner, ttl) succeeds iff the record's version is
 *     `expected` and it is absent/expired or already owned by `owner`;
 *     then version = expected + 1, owner = owner, expiry = now + ttl.
 *     A live record owned by another node is never taken over: failover
 *     happens through TTL expiry, never by preemption (single owner);
 *   - touch() extends the TTL of one's own live record; del() removes it;
 *   - time is the caller's monotonic "now" in milliseconds (for a shared
 *     store the server's clock: a Redis implementation uses PEXPIRE and
 *     ignores now_ms).
 *
 * Errors: 0, -ENOENT (absent or expired), -ESTALE (version differs),
 * -EPERM (live record owned by another node), -ENOSPC (table full),
 * -EINVAL (bad argument).
 *
 * Where Redis plugs in: a struct store_ops whose cas is one EVAL of a Lua
 * script (HGET version/owner, compare, HSET + PEXPIRE, all atomic on the
 * server), get is HGETALL + PTTL, touch a scripted owner check + PEXPIRE,
 * del a scripted owner check + DEL.  The reattach layer only ever calls
 * through store_ops, so nothing else changes; the call is then a network
 * round trip, which is why the daemon should issue it from its event loop
 * asynchronously (the reattach layer's commit is already a separate step
 * after validation).
 */
#ifndef JVPND_STORE_H
#define JVPND_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct store_record {
	uint32_t session_id;
	uint32_t owner;		/* node id; 0 is no node */
	uint64_t version;
	uint64_t expires_ms;	/* monotonic */
};

struct store_ops {
	int (*get)(void *ctx, uint32_t session_id, uint64_t now_ms,
		   struct store_record *out);
	/* out (may be NULL) receives the record after a successful swap. */
	int (*cas)(void *ctx, uint32_t session_id, uint64_t expected_version,
		   uint32_t new_owner, uint32_t ttl_ms, uint64_t now_ms,
		   struct store_record *out);
	int (*touch)(void *ctx, uint32_t session_id, uint32_t owner,
		     uint32_t ttl_ms, uint64_t now_ms);
	int (*del)(void *ctx, uint32_t session_id, uint32_t owner,
		   uint64_t now_ms);
	/* Optional hint: session_id's record will be wanted soon. */
	void (*prefetch)(void *ctx, uint32_t session_id);
};

/* ---------------------------------------------------------------------- */
/* Embedded in-process store                                               */
/* ---------------------------------------------------------------------- */

#define STORE_MEM_MAX_ENTRIES	(1U << 22)

struct store_mem_stats {
	uint64_t cas_ok;
	uint64_t cas_stale;	/* -ESTALE */
	uint64_t cas_not_owner;	/* -EPERM */
	uint64_t full;		/* -ENOSPC: a new record did not fit */
	uint64_t expired;	/* expired records reclaimed */
};

struct store_mem_slot {
	uint32_t session_id;
	uint32_t owner;
	uint64_t version;
	uint64_t expires_ms;
	bool used;
};

/*
 * Fixed capacity, open addressing with linear probing over a power-of-two
 * table at most half full (so probe sequences stay short), a keyed
 * multiplicative hash of the session id (the ids are random: store.c),
 * backward-shift deletion (no tombstones).  Expired records are reclaimed
 * lazily: when a probe passes one, by store_mem_sweep(), or when a new
 * record reuses its slot.
 */
struct store_mem {
	struct store_mem_slot *slots;
	uint32_t mask;		/* table size - 1 */
	uint32_t max_entries;	/* records that may be held at once */
	uint32_t count;		/* occupied slots, live or expired */
	uint32_t sweep_pos;
	uint64_t k0, k1;
	struct store_mem_stats stats;
};

extern const struct store_ops store_mem_ops;

/* max_entries 1..STORE_MEM_MAX_ENTRIES; hash_key: 16 random bytes. */
int store_mem_init(struct store_mem *m, uint32_t max_entries,
		   const uint8_t hash_key[16]);
void store_mem_destroy(struct store_mem *m);

/*
 * Reclaim expired records, examining at most budget slots from where the
 * previous sweep stopped; returns how many were reclaimed.  Call it from a
 * timer so that a full table of dead sessions frees itself.
 */
uint32_t store_mem_sweep(struct store_mem *m, uint64_t now_ms,
			 uint32_t budget);

/* Occupied slots (live or not yet reclaimed). */
uint32_t store_mem_count(const struct store_mem *m);

#endif /* JVPND_STORE_H */
