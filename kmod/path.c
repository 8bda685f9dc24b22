// SPDX-License-Identifier: GPL-2.0-only
/*
 * Paths of a session: add, delete, match on receive, and the versioned
 * switch of the active path.
 */

#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <net/ipv6.h>
#include <net/dst.h>
#include <net/ip6_fib.h>

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

static struct kmem_cache *path_cache;

int jvpn_path_cache_init(void)
{
	path_cache = KMEM_CACHE(jvpn_path, SLAB_ACCOUNT);
	return path_cache ? 0 : -ENOMEM;
}

/* After rcu_barrier(): path_free_rcu() callbacks use the cache. */
void jvpn_path_cache_destroy(void)
{
	kmem_cache_destroy(path_cache);
}

static struct jvpn_path *path_next_locked(struct jvpn_session *s,
					  struct jvpn_path __rcu **pp)
{
	return rcu_dereference_protected(*pp, lockdep_is_held(&s->jd->lock));
}

#define for_each_path_locked(p, s)					\
	for (p = path_next_locked(s, &(s)->paths); p;			\
	     p = path_next_locked(s, &p->next))

struct jvpn_path *jvpn_path_find_locked(struct jvpn_session *s, u32 id)
{
	struct jvpn_path *p;

	for_each_path_locked(p, s)
		if (p->id == id)
			return p;
	return NULL;
}

/* Receive side: which of the (few, bounded) paths did this come from? */
struct jvpn_path *jvpn_path_match_rcu(struct jvpn_session *s,
				      const struct jvpn_sock *js,
				      const union jvpn_sockaddr *src)
{
	struct jvpn_path *p;

	jvpn_for_each_path_rcu_bh(p, s)
		if (p->sock == js && jvpn_sockaddr_equal(&p->remote, src))
			return p;
	return NULL;
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
	struct jvpn_path __rcu **tail = &s->paths;
	unsigned int n = 0;
	struct jvpn_path *p;

	lockdep_assert_held(&jd->lock);
	if (!path_family_ok(js, remote)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "remote address family does not match the socket");
		return -EAFNOSUPPORT;
	}
	for_each_path_locked(p, s) {
		if (p->id == id) {
			NL_SET_ERR_MSG_MOD(extack, "path id already exists");
			return -EEXIST;
		}
		if (p->sock == js && jvpn_sockaddr_equal(&p->remote, remote)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a path with this socket and remote exists");
			return -EEXIST;
		}
		tail = &p->next;
		n++;
	}
	if (n >= jd->max_paths || n >= JVPN_MAX_PATHS_LIMIT) {
		jvpn_stat_inc(&jd->stats, JVPN_STAT_LIMIT_REFUSED);
		NL_SET_ERR_MSG_MOD(extack, "session path limit reached");
		return -ENOSPC;
	}

	p = kmem_cache_zalloc(path_cache, GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->id = id;
	p->sock = js;
	p->remote = *remote;
	js->n_paths++;
	rcu_assign_pointer(*tail, p);
	if (!rcu_access_pointer(s->active))
		rcu_assign_pointer(s->active, p);
	/* Every change of the path set moves the version, so a caller's
	 * expected version really describes the paths it saw.
	 */
	s->state_version++;
	return 0;
}

static void route_free_rcu(struct rcu_head *rcu)
{
	struct jvpn_route *r = container_of(rcu, struct jvpn_route, rcu);

	dst_release(r->dst);
	kfree(r);
}

/* TX, under rcu_read_lock_bh(): the cached route with a reference for the
 * caller and its source address, or NULL (none yet, or stale).  The cache's
 * own reference is dropped only a grace period after the route left the
 * path, so dst_hold() here is safe.
 */
struct dst_entry *jvpn_route_get(struct jvpn_path *p, void *saddr)
{
	struct jvpn_route *r = rcu_dereference_bh(p->route);
	struct dst_entry *dst;

	if (!r)
		return NULL;
	dst = r->dst;
	if (unlikely(dst->obsolete && !dst->ops->check(dst, r->cookie))) {
		/* Drop it now rather than pin a dead route until the
		 * next successful lookup.
		 */
		if (cmpxchg(&p->route, RCU_INITIALIZER(r), NULL) ==
		    RCU_INITIALIZER(r))
			call_rcu(&r->rcu, route_free_rcu);
		return NULL;
	}
	dst_hold(dst);
	if (p->remote.sa.sa_family == AF_INET)
		*(__be32 *)saddr = r->saddr4;
	else
		*(struct in6_addr *)saddr = r->saddr6;
	return dst;
}

/* TX, after a route lookup: caches @dst (the caller keeps its own
 * reference) with @saddr.  Concurrent senders may both replace the route;
 * each replaced one is freed once.  Without memory the route is simply
 * not cached.
 */
void jvpn_route_set(struct jvpn_path *p, struct dst_entry *dst,
		    const void *saddr)
{
	struct jvpn_route *r, *old;

	r = kmalloc(sizeof(*r), GFP_ATOMIC | __GFP_NOWARN);
	if (!r)
		return;
	r->dst = dst;
	r->cookie = 0;
	if (p->remote.sa.sa_family == AF_INET) {
		r->saddr4 = *(const __be32 *)saddr;
	} else {
		r->saddr6 = *(const struct in6_addr *)saddr;
#if IS_ENABLED(CONFIG_IPV6)
		r->cookie = rt6_get_cookie((struct rt6_info *)dst);
#endif
	}
	dst_hold(dst);
	old = unrcu_pointer(xchg(&p->route, RCU_INITIALIZER(r)));
	if (old)
		call_rcu(&old->rcu, route_free_rcu);
}

static void path_free_rcu(struct rcu_head *rcu)
{
	struct jvpn_path *p = container_of(rcu, struct jvpn_path, rcu);
	struct jvpn_route *r = rcu_dereference_raw(p->route);

	/* A grace period has passed since the path was unlinked: no sender
	 * holds it, nor its route.
	 */
	if (r) {
		dst_release(r->dst);
		kfree(r);
	}
	kmem_cache_free(path_cache, p);
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
	struct jvpn_path __rcu **pp = &s->paths;
	struct jvpn_path *p;

	lockdep_assert_held(&s->jd->lock);
	for (; (p = path_next_locked(s, pp)); pp = &p->next) {
		if (p->id != id)
			continue;
		if (p == rcu_access_pointer(s->active)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "path is active: activate another path first");
			return -EBUSY;
		}
		/* Readers on @p still see its successors through p->next. */
		rcu_assign_pointer(*pp, path_next_locked(s, &p->next));
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
		jvpn_sstat_inc(&s->stats, JVPN_STAT_PATH_SWITCHES);
		jvpn_stat_inc(&s->jd->stats, JVPN_STAT_PATH_SWITCHES);
	}
	s->state_version++;
	return 0;
}

/* Session teardown: no reader can reach the session any more. */
void jvpn_path_free_all(struct jvpn_session *s)
{
	struct jvpn_path *p, *next;

	RCU_INIT_POINTER(s->active, NULL);
	p = rcu_dereference_raw(s->paths);
	RCU_INIT_POINTER(s->paths, NULL);
	for (; p; p = next) {
		next = rcu_dereference_raw(p->next);
		path_release(p);
	}
}
