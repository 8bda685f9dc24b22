/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jvpn device: one netdev of kind "jvpn" and the tables hanging off it.
 */
#ifndef _JVPN_DEVICE_H
#define _JVPN_DEVICE_H

#include <linux/netdevice.h>
#include <linux/rhashtable.h>
#include <linux/mutex.h>
#include <net/gro_cells.h>
#include <uapi/linux/jvpn.h>

#include "stats.h"

struct jvpn_sock;

/* Device-wide limit of inner prefixes that are not host routes; they are
 * scanned linearly on TX after the O(1) host-address lookup misses.
 */
#define JVPN_MAX_PREFIXES	64

struct jvpn_dev {
	struct net_device *dev;
	/* Serialises every configuration change (netlink, teardown).
	 * The data path never takes it.
	 */
	struct mutex lock;

	struct rhashtable sessions;	/* by local session id */
	struct list_head session_list;	/* creation order, under lock */
	u64 session_serial;
	struct rhashtable inner_hosts;	/* /32 and /128 inner addresses */
	struct list_head inner_prefixes;	/* RCU list, others */
	unsigned int n_prefixes;
	atomic_t n_sessions;

	struct jvpn_sock __rcu *socks[JVPN_MAX_SOCKETS];

	/* Limits and timers, written under lock, read locklessly. */
	u32 max_sessions;
	u32 max_paths;
	u32 silent_ms;
	u32 keepalive_ms;
	u32 event_rate;

	/* Events: sequence number and a token bucket against floods. */
	atomic64_t event_seq;
	spinlock_t event_send_lock;	/* orders sequence numbers */
	spinlock_t event_lock;		/* token bucket */
	u32 event_tokens;
	unsigned long event_refill;

	struct jvpn_stats stats;
	struct gro_cells gro_cells;
	bool dead;
};

extern struct rtnl_link_ops jvpn_link_ops;

int jvpn_device_init(void);
void jvpn_device_uninit(void);
bool jvpn_is_jvpn_dev(const struct net_device *dev);

#endif /* _JVPN_DEVICE_H */
