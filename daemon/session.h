/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd session table: every session the daemon runs, bounded by
 * MaxSessions and allocated once.  Lookup by local session id is an
 * open-addressing hash (at most half full, linear probing, backward-shift
 * deletion); lookup by peer is the peer's own pointer to its session
 * (one session per peer), so both are O(1).
 *
 * The table itself is pure (no I/O, no clock); the daemon's glue moves
 * sessions through the FSM and programs the kernel.
 */
#ifndef JVPND_SESSION_H
#define JVPND_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/jvpn.h>

#include "fsm.h"
#include "kdf.h"
#include "loop.h"
#include "policy.h"
#include "reattach.h"

struct peer;

enum session_role {
	ROLE_INITIATOR,		/* we have an Endpoint: we start handshakes */
	ROLE_RESPONDER,
};

/*
 * A path's remote address: IPv4 or IPv6, all a path can be (28 bytes,
 * not a 128-byte sockaddr_storage).  Pass &remote as a struct sockaddr *;
 * its length follows from ss_family (net_sockaddr_len()).
 */
union session_addr {
	sa_family_t ss_family;
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct session_path {
	uint32_t id;			/* kernel path id, 1.. */
	uint32_t sock_id;		/* kernel socket id */
	union session_addr remote;
};

/*
 * Field order: what a reattach on the server touches first (id, role,
 * FSM, policy counters, the ra_session's hot part), so that a message
 * for a random session of a large table costs few cache lines.
 */
struct session {
	uint32_t local_id;		/* our receiver id, != 0 */
	uint32_t peer_id;		/* the peer's receiver id */
	uint8_t role;			/* enum session_role */
	bool ra_up;			/* ra (responder) or rc (initiator) set */
	bool used;
	bool in_kernel;			/* SESSION_NEW done */
	uint8_t key_id;			/* key id of the primary (TX) key */
	uint8_t pending_key_id;		/* responder: in secondary, not swapped */
	bool swap_pending;		/* responder waits for SECONDARY_KEY_USED */
	bool old_key_present;		/* old key in secondary, KEY_DEL due */
	struct fsm_session fsm;
	/* Reattach and probing (roam.c). */
	struct ra_session ra;		/* responder: server side */
	struct policy_counters pc;
	struct peer *peer;
	struct ra_client *rc;		/* initiator: heap */
	uint64_t established_ms;	/* first handshake complete */
	uint64_t key_installed_ms;	/* current primary key */
	uint64_t rekeys;
	unsigned int n_paths;		/* <= JVPN_MAX_PATHS_LIMIT */
	uint32_t active_path;		/* path id, 0: none */
	uint32_t next_path_id;
	uint32_t next_free;		/* free list, index + 1 */
	/*
	 * paths[0 .. n_paths): path0 while the session has at most one
	 * path (every responder until its peer roams), else a block of
	 * JVPN_MAX_PATHS_LIMIT from the table's pool (session_path_slot()).
	 * Never NULL in a used entry.
	 */
	struct session_path *paths;
	struct session_path path0;
	/* Link watch (link.c): where the last route lookup went out. */
	uint32_t link_path;		/* path id it was for, 0: none */
	uint32_t link_oif;		/* output ifindex, 0: unknown/none */
	bool swap_due;			/* resync found the new key in use */
	bool adopted;			/* taken over from a previous jvpnd */
	uint8_t reattach_key[JVPN_REATTACH_KEY_LEN];
	struct loop_timer rekey_timer;	/* initiator: time-based rekey */
	struct loop_timer keydel_timer;	/* grace before KEY_DEL secondary */
	struct loop_timer ra_timer;	/* initiator: probes, reattach ticks;
					 * responder: the recovery window */
	uint64_t lost_ms;		/* responder: path lost at (0: not) */
	/* Last kernel view (control "sessions", resync). */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t seen_gen;		/* resync generation it was seen in */
};

/* A session's paths once it has more than one (session.paths). */
struct session_path_block {
	struct session_path p[JVPN_MAX_PATHS_LIMIT];
};

struct session_table {
	struct session *s;		/* capacity entries */
	uint32_t *slots;		/* index + 1; 0 empty */
	uint32_t capacity, n, n_slots;
	uint32_t free_head;		/* freed entries, index + 1 */
	uint32_t fresh;			/* entries never used: fresh.. */
	/*
	 * Path blocks: one per session at most, so capacity of them can
	 * never run out; reserved at init, pages touched only when used.
	 */
	struct session_path_block *pblocks;
	uint32_t pb_fresh;		/* blocks never used: pb_fresh.. */
	uint32_t pb_free;		/* freed blocks, index + 1 */
	uint32_t pb_used;		/* blocks held by sessions */
	uint64_t pb_failed;		/* session_path_slot() found none */
};

int session_table_init(struct session_table *t, uint32_t capacity);
void session_table_destroy(struct session_table *t);

/* A zeroed session with local_id, or NULL (-ENOSPC/-EEXIST in *err). */
struct session *session_alloc(struct session_table *t, uint32_t local_id,
			      int *err);
void session_free(struct session_table *t, struct session *s);
struct session *session_find(const struct session_table *t, uint32_t id);

/* Iteration: i from 0 while < t->capacity; skips unused entries. */
static inline struct session *session_at(const struct session_table *t,
					 uint32_t i)
{
	return i < t->fresh && t->s[i].used ? &t->s[i] : NULL;
}

struct state_record;
/* What the state file keeps of an established session (state.h). */
void session_state_record(const struct session *s, struct state_record *r);

/* A random nonzero id not in the table (bounded tries); 0 if none. */
uint32_t session_random_id(const struct session_table *t);

/* Key ids count 1..255 and wrap to 1: 0 marks "no key" in jvpnd. */
static inline uint8_t session_next_key_id(uint8_t id)
{
	return id == 255 ? 1 : (uint8_t)(id + 1);
}

struct session_path *session_path_find(struct session *s, uint32_t id);
/*
 * Where s's next path goes (&s->paths[s->n_paths], not yet counted):
 * its paths move to a block of t's pool when the one inline path is
 * taken.  NULL at JVPN_MAX_PATHS_LIMIT paths or if the pool is empty
 * (t->pb_failed counts that).
 */
struct session_path *session_path_slot(struct session_table *t,
				       struct session *s);
/* Back to the inline path (and the block to the pool) if n_paths <= 1. */
void session_paths_compact(struct session_table *t, struct session *s);
const struct session_path *session_active_path(const struct session *s);

#endif /* JVPND_SESSION_H */
