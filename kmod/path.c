// SPDX-License-Identifier: GPL-2.0-only
/*
 * Paths of a session: add, delete, match on receive, and the versioned
 * switch of the active path.
 */

#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <net/ipv6.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "socket.h"

bool jvpn_sockaddr_equal(const union jvpn_sockaddr *a,
			 const union jvpn_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       ipv6_addr_equal(&a->in6.sin6_addr, &b->in6.sin6_addr);
}

static struct jvpn_path *path_slot_locked(struct jvpn_session *s,
					  unsigned int i)
{
	return rcu_dereference_protected(s->paths[i],
					 lockdep_is_held(&s->jd->lock));
}

struct jvpn_path *jvpn_path_find_locked(struct jvpn_session *s, u32 id)
{
	unsigned int i;

	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		struct jvpn_path *p = path_slot_locked(s, i);

		if (p && p->id == id)
			return p;
	}
	return NULL;
}

/* Receive side: which of the (few, bounded) paths did this come from? */
struct jvpn_path *jvpn_path_match_rcu(struct jvpn_session *s,
				      const struct jvpn_sock *js,
				      const union jvpn_sockaddr *src)
{
	unsigned int i;

	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		struct jvpn_path *p = rcu_dereference_bh(s->paths[i]);

		if (p && p->sock == js && jvpn_sockaddr_equal(&p->remote, src))
			return p;
	}
	return NULL;
}

static unsigned int path_count_locked(struct jvpn_session *s, int *free_slot)
{
	unsigned int i, n = 0;

	*free_slot = -1;
	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		if (path_slot_locked(s, i))
			n++;
		else if (*free_slot < 0)
			*free_slot = i;
	}
	return n;
}

static bool path_family_ok(const struct jvpn_sock *js,
			   const union jvpn_sockaddr *remote)
{
	return js->sock->sk->sk_family == remote->sa.sa_family;
}

/* The first path of a session becomes active at once, so that a statically
 * configured tunnel works without a separate activation step.
 */
int jvpn_path_add(struct jvpn_session *s, u32 id, struct jvpn_sock *js,
		  const union jvpn_sockaddr *remote,
		  struct netlink_ext_ack *extack)
{
	struct jvpn_dev *jd = s->jd;
	struct jvpn_path *p;
	unsigned int i;
	int slot, ret;

	lockdep_assert_held(&jd->lock);
	if (!path_family_ok(js, remote)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "remote address family does not match the socket");
		return -EAFNOSUPPORT;
	}
	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		p = path_slot_locked(s, i);
		if (!p)
			continue;
		if (p->id == id) {
			NL_SET_ERR_MSG_MOD(extack, "path id already exists");
			return -EEXIST;
		}
		if (p->sock == js && jvpn_sockaddr_equal(&p->remote, remote)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a path with this socket and remote exists");
			return -EEXIST;
		}
	}
	if (path_count_locked(s, &slot) >= jd->max_paths || slot < 0) {
		jvpn_stat_inc(&jd->stats, JVPN_STAT_LIMIT_REFUSED);
		NL_SET_ERR_MSG_MOD(extack, "session path limit reached");
		return -ENOSPC;
	}

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	ret = dst_cache_init(&p->dst_cache, GFP_KERNEL_ACCOUNT);
	if (ret) {
		kfree(p);
		return ret;
	}
	p->id = id;
	p->sock = js;
	p->remote = *remote;
	js->n_paths++;
	rcu_assign_pointer(s->paths[slot], p);
	if (!rcu_access_pointer(s->active))
		rcu_assign_pointer(s->active, p);
	/* Every change of the path set moves the version, so a caller's
	 * expected version really describes the paths it saw.
	 */
	s->state_version++;
	return 0;
}

static void path_free_rcu(struct rcu_head *rcu)
{
	struct jvpn_path *p = container_of(rcu, struct jvpn_path, rcu);

	dst_cache_destroy(&p->dst_cache);
	kfree(p);
}

static void path_release(struct jvpn_path *p)
{
	p->sock->n_paths--;
	call_rcu(&p->rcu, path_free_rcu);
}

/* The active path cannot be deleted: a session always has exactly one
 * active path once it has any, and switching is an explicit, versioned act.
 */
int jvpn_path_del(struct jvpn_session *s, u32 id,
		  struct netlink_ext_ack *extack)
{
	unsigned int i;

	lockdep_assert_held(&s->jd->lock);
	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		struct jvpn_path *p = path_slot_locked(s, i);

		if (!p || p->id != id)
			continue;
		if (p == rcu_access_pointer(s->active)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "path is active: activate another path first");
			return -EBUSY;
		}
		RCU_INIT_POINTER(s->paths[i], NULL);
		path_release(p);
		s->state_version++;
		return 0;
	}
	NL_SET_ERR_MSG_MOD(extack, "no such path");
	return -ENOENT;
}

/* One pointer swap, guarded by the version the caller expects.  Keys, the
 * TX counter and the replay window are not touched.
 */
int jvpn_path_activate(struct jvpn_session *s, u32 id, u64 expected_version,
		       struct netlink_ext_ack *extack)
{
	struct jvpn_path *p;

	lockdep_assert_held(&s->jd->lock);
	if (expected_version != s->state_version) {
		NL_SET_ERR_MSG_MOD(extack,
				   "stale state_version: the session has changed");
		return -ESTALE;
	}
	p = jvpn_path_find_locked(s, id);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack, "no such path");
		return -ENOENT;
	}
	/* A fresh start for liveness tracking on the new path. */
	WRITE_ONCE(p->tx_since_rx, 0);
	WRITE_ONCE(p->silent_reported, false);
	if (p != rcu_access_pointer(s->active)) {
		rcu_assign_pointer(s->active, p);
		jvpn_stat_inc(&s->stats, JVPN_STAT_PATH_SWITCHES);
		jvpn_stat_inc(&s->jd->stats, JVPN_STAT_PATH_SWITCHES);
	}
	s->state_version++;
	return 0;
}

/* Session teardown: no reader can reach the session any more. */
void jvpn_path_free_all(struct jvpn_session *s)
{
	unsigned int i;

	RCU_INIT_POINTER(s->active, NULL);
	for (i = 0; i < JVPN_MAX_PATHS_LIMIT; i++) {
		struct jvpn_path *p = rcu_dereference_raw(s->paths[i]);

		if (p) {
			RCU_INIT_POINTER(s->paths[i], NULL);
			path_release(p);
		}
	}
}
