/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sessions: the anchor.  A session owns its id, key slots, TX counter, RX
 * replay window, inner addresses and state_version; its paths are
 * replaceable.  Lookups by id (RX) and by inner host address (TX) are O(1)
 * rhashtable lookups under RCU; writers hold jvpn_dev.lock.
 */
#ifndef _JVPN_SESSION_H
#define _JVPN_SESSION_H

#include <linux/rhashtable.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/in6.h>
#include <uapi/linux/jvpn.h>

#include "replay.h"
#include "stats.h"

struct jvpn_dev;
struct jvpn_path;
struct netlink_ext_ack;

struct jvpn_key {
	u8 key_id;
	bool limit_reported;
	bool rx_reported;		/* SECONDARY_KEY_USED sent */
	/* jiffies: the age is reported in u32 milliseconds, which wrap
	 * sooner than 32 bits of jiffies.
	 */
	u32 created;
	u8 encrypt[JVPN_KEY_LEN];
	u8 decrypt[JVPN_KEY_LEN];
	atomic64_t tx_packets;
	atomic64_t rx_packets;
	struct rcu_head rcu;
};

/* Both slots behind one RCU pointer, replaced as a whole, so a reader never
 * sees a half-swapped pair.  The keys themselves are shared between the old
 * and new container and freed only when a slot drops them.
 */
struct jvpn_keyslots {
	struct jvpn_key *slot[2];	/* freed with kfree_rcu_mightsleep() */
};

/* An inner address or prefix a session may use as source (RX) and is
 * reached by (TX).
 */
struct jvpn_inner_key {
	u16 family;
	u8 prefixlen;
	u8 pad;
	union {
		__be32 v4;
		struct in6_addr v6;
	};
};

struct jvpn_inner {
	struct jvpn_inner_key key;
	struct jvpn_session *session;
	union {				/* by inner_is_host(&key) */
		struct rhash_head node;	/* host addresses */
		struct list_head list;	/* prefixes */
	};
};

/* A session's inner addresses, published as a whole under RCU. */
struct jvpn_inner_set {
	unsigned int n;
	struct rcu_head rcu;
	struct jvpn_inner e[];
};

/*
 * Memory: one session with one path, one key and one inner address is
 * about 900 B of slab objects (struct jvpn_session 584 B, jvpn_path 120 B,
 * jvpn_key 104 B, jvpn_keyslots 16 B, a one-entry jvpn_inner_set 72 B, each
 * from a cache of its exact size) and nothing per CPU.  The fields the data
 * path reads for every packet come first.
 */
struct jvpn_session {
	struct rhash_head node;
	u32 id;
	u32 peer_id;
	struct jvpn_dev *jd;
	struct jvpn_keyslots __rcu *keys;
	atomic64_t tx_counter;
	struct jvpn_path __rcu *active;
	struct jvpn_path __rcu *paths;	/* list through jvpn_path.next */
	struct jvpn_inner_set __rcu *inner;

	unsigned long last_rx;
	unsigned long last_tx;
	spinlock_t rx_lock;		/* protects replay */
	u32 unknown_event_at;		/* jiffies, 0: never */
	struct jvpn_replay replay;
	struct jvpn_session_stats stats;
	struct timer_list silent_timer;
	struct timer_list keepalive_timer;

	/* Configuration and dumps, under jd->lock. */
	u64 state_version;
	u64 serial;			/* creation order, dump cursor */
	union {
		struct list_head list;	/* jvpn_dev.session_list */
		struct rcu_head rcu;	/* once off the list */
	};
};

int jvpn_session_cache_init(void);
void jvpn_session_cache_destroy(void);
int jvpn_sessions_init(struct jvpn_dev *jd);
void jvpn_sessions_destroy(struct jvpn_dev *jd);

struct jvpn_session *jvpn_session_create(struct jvpn_dev *jd, u32 id,
					 u32 peer_id,
					 struct netlink_ext_ack *extack);
int jvpn_session_set_inner(struct jvpn_session *s,
			   const struct jvpn_inner_key *keys, unsigned int n,
			   struct netlink_ext_ack *extack);
void jvpn_session_remove(struct jvpn_session *s, bool notify);
struct jvpn_session *jvpn_session_lookup_rcu(struct jvpn_dev *jd, u32 id);
struct jvpn_session *jvpn_session_by_inner_rcu(struct jvpn_dev *jd,
					       const struct jvpn_inner_key *dst);
bool jvpn_session_allows_src(const struct jvpn_session *s,
			     const struct jvpn_inner_key *src);

int jvpn_key_install(struct jvpn_session *s, unsigned int slot, u8 key_id,
		     const u8 *encrypt, const u8 *decrypt,
		     struct netlink_ext_ack *extack);
int jvpn_key_swap(struct jvpn_session *s, struct netlink_ext_ack *extack);
int jvpn_key_clear(struct jvpn_session *s, unsigned int slot,
		   struct netlink_ext_ack *extack);
struct jvpn_key *jvpn_key_by_id_rcu(struct jvpn_session *s, u8 key_id,
				    bool *secondary);

#endif /* _JVPN_SESSION_H */
