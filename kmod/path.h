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
#include <net/dst_cache.h>

struct jvpn_sock;
struct jvpn_session;
struct netlink_ext_ack;

union jvpn_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct jvpn_path {
	u32 id;
	struct jvpn_sock *sock;
	union jvpn_sockaddr remote;
	struct dst_cache dst_cache;

	unsigned long last_rx;		/* jiffies, authenticated RX */
	unsigned long last_tx;		/* jiffies */
	/* jiffies of the first TX since the last authenticated RX, 0 when
	 * none: the start of a possible silence episode.
	 */
	unsigned long tx_since_rx;
	bool silent_reported;

	atomic64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	struct rcu_head rcu;
};

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
