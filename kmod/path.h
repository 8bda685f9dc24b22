/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A path is one transport binding of a session: an attached socket and a
 * remote address.  Paths carry their own counters and liveness timestamps;
 * they never own keys, counters or replay state, which belong to the
 * session and therefore survive every path switch.
 */
#ifndef _JVPN_PATH_H
#define _JVPN_PATH_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>

struct dst_entry;
struct jvpn_sock;
struct jvpn_session;
struct netlink_ext_ack;

union jvpn_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/*
 * The route of a path, cached for TX: looked up on the first send and
 * replaced as a whole (RCU) when it goes stale.  One per path, not one per
 * CPU like a dst_cache: a dst_cache costs every path (idle or not) its
 * per-CPU slots, and each TX takes a reference on the dst either way.
 */
struct jvpn_route {
	struct dst_entry *dst;		/* the cache's own reference */
	u32 cookie;			/* IPv6: rt6_get_cookie() */
	union {
		__be32 saddr4;
		struct in6_addr saddr6;
	};
	struct rcu_head rcu;
};

/* Hot fields (RX match, TX) first. */
struct jvpn_path {
	union jvpn_sockaddr remote;
	u32 id;
	struct jvpn_sock *sock;
	struct jvpn_route __rcu *route;
	struct jvpn_path __rcu *next;	/* jvpn_session.paths, add order */

	/* Times are the low 32 bits of jiffies, 0 for never: they are only
	 * reported as u32 milliseconds, and a silence episode is checked
	 * within silent_ms of its start (or restarted on activation).
	 */
	u32 last_rx;			/* authenticated RX */
	u32 last_tx;
	/* First TX since the last authenticated RX, 0 when none: the start
	 * of a possible silence episode.
	 */
	u32 tx_since_rx;
	bool silent_reported;
	atomic64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	struct rcu_head rcu;
};

/* Paths of a session, in the order they were added. */
#define jvpn_for_each_path_rcu_bh(p, s)					\
	for (p = rcu_dereference_bh((s)->paths); p;			\
	     p = rcu_dereference_bh(p->next))
#define jvpn_for_each_path_rcu(p, s)					\
	for (p = rcu_dereference((s)->paths); p;			\
	     p = rcu_dereference(p->next))

int jvpn_path_cache_init(void);
void jvpn_path_cache_destroy(void);
struct dst_entry *jvpn_route_get(struct jvpn_path *p, void *saddr);
void jvpn_route_set(struct jvpn_path *p, struct dst_entry *dst,
		    const void *saddr);

int jvpn_path_add(struct jvpn_session *s, u32 id, struct jvpn_sock *js,
		  const union jvpn_sockaddr *remote,
		  struct netlink_ext_ack *extack);
int jvpn_path_del(struct jvpn_session *s, u32 id,
		  struct netlink_ext_ack *extack);
int jvpn_path_activate(struct jvpn_session *s, u32 id, u64 expected_version,
		       struct netlink_ext_ack *extack);
struct jvpn_path *jvpn_path_find_locked(struct jvpn_session *s, u32 id);
struct jvpn_path *jvpn_path_match_rcu(struct jvpn_session *s,
				      const struct jvpn_sock *js,
				      const union jvpn_sockaddr *src);
void jvpn_path_free_all(struct jvpn_session *s);
bool jvpn_sockaddr_equal(const union jvpn_sockaddr *a,
			 const union jvpn_sockaddr *b);

#endif /* _JVPN_PATH_H */
