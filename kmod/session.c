// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session table, inner address tables and key slots.
 */

#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <net/ipv6.h>

#include "data.h"
#include "device.h"
#include "session.h"
#include "path.h"
#include "event.h"

static const struct rhashtable_params session_params = {
	.key_len = sizeof(u32),
	.key_offset = offsetof(struct jvpn_session, id),
	.head_offset = offsetof(struct jvpn_session, node),
	.automatic_shrinking = true,
};

static const struct rhashtable_params inner_params = {
	.key_len = sizeof(struct jvpn_inner_key),
	.key_offset = offsetof(struct jvpn_inner, key),
	.head_offset = offsetof(struct jvpn_inner, node),
	.automatic_shrinking = true,
};

/* Caches of the exact object sizes: kmalloc would round a session up to
 * 1 KB, a key to 128 B and a one-address inner set to 96 B.
 */
static struct kmem_cache *session_cache;
static struct kmem_cache *key_cache;
static struct kmem_cache *inner1_cache;	/* jvpn_inner_set with n == 1 */

#define INNER1_SIZE	struct_size_t(struct jvpn_inner_set, e, 1)

int jvpn_session_cache_init(void)
{
	session_cache = KMEM_CACHE(jvpn_session, SLAB_ACCOUNT);
	key_cache = KMEM_CACHE(jvpn_key, SLAB_ACCOUNT);
	inner1_cache = kmem_cache_create("jvpn_inner_set1", INNER1_SIZE,
					 __alignof__(struct jvpn_inner_set),
					 SLAB_ACCOUNT, NULL);
	if (session_cache && key_cache && inner1_cache)
		return 0;
	jvpn_session_cache_destroy();
	return -ENOMEM;
}

/* After rcu_barrier(): the RCU callbacks free into these caches. */
void jvpn_session_cache_destroy(void)
{
	kmem_cache_destroy(inner1_cache);
	kmem_cache_destroy(key_cache);
	kmem_cache_destroy(session_cache);
	inner1_cache = NULL;
	key_cache = NULL;
	session_cache = NULL;
}

static void key_free(struct jvpn_key *k)
{
	if (!k)
		return;
	memzero_explicit(k, sizeof(*k));
	kmem_cache_free(key_cache, k);
}

static struct jvpn_inner_set *inner_set_alloc(unsigned int n)
{
	if (n == 1)
		return kmem_cache_zalloc(inner1_cache, GFP_KERNEL_ACCOUNT);
	return kzalloc(struct_size_t(struct jvpn_inner_set, e, n),
		       GFP_KERNEL_ACCOUNT);
}

static void inner_set_free(struct jvpn_inner_set *set)
{
	if (set && set->n == 1)
		kmem_cache_free(inner1_cache, set);
	else
		kfree(set);
}

static void inner_set_free_rcu(struct rcu_head *rcu)
{
	inner_set_free(container_of(rcu, struct jvpn_inner_set, rcu));
}

int jvpn_sessions_init(struct jvpn_dev *jd)
{
	int ret;

	ret = rhashtable_init(&jd->sessions, &session_params);
	if (ret)
		return ret;
	ret = rhashtable_init(&jd->inner_hosts, &inner_params);
	if (ret)
		rhashtable_destroy(&jd->sessions);
	INIT_LIST_HEAD(&jd->inner_prefixes);
	INIT_LIST_HEAD(&jd->session_list);
	return ret;
}

static bool inner_is_host(const struct jvpn_inner_key *k)
{
	return k->prefixlen == (k->family == AF_INET ? 32 : 128);
}

static void inner_unlink_arr(struct jvpn_dev *jd, struct jvpn_inner *arr,
			     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (inner_is_host(&arr[i].key)) {
			rhashtable_remove_fast(&jd->inner_hosts, &arr[i].node,
					       inner_params);
		} else {
			list_del_rcu(&arr[i].list);
			jd->n_prefixes--;
		}
	}
}

/* Links n entries; on failure unlinks what it linked and returns the error. */
static int inner_link_arr(struct jvpn_dev *jd, struct jvpn_inner *arr,
			  unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		if (!inner_is_host(&arr[i].key)) {
			list_add_tail_rcu(&arr[i].list, &jd->inner_prefixes);
			jd->n_prefixes++;
			continue;
		}
		ret = rhashtable_lookup_insert_fast(&jd->inner_hosts,
						    &arr[i].node, inner_params);
		if (ret) {
			inner_unlink_arr(jd, arr, i);
			return ret;
		}
	}
	return 0;
}

static void session_free_rcu(struct rcu_head *rcu)
{
	struct jvpn_session *s = container_of(rcu, struct jvpn_session, rcu);
	struct jvpn_keyslots *ks = rcu_dereference_raw(s->keys);

	if (ks) {
		key_free(ks->slot[0]);
		key_free(ks->slot[1]);
		kfree(ks);
	}
	inner_set_free(rcu_dereference_raw(s->inner));
	memzero_explicit(s, sizeof(*s));
	kmem_cache_free(session_cache, s);
}

static void session_silent_timer(struct timer_list *t);
static void session_keepalive_timer(struct timer_list *t);

struct jvpn_session *jvpn_session_create(struct jvpn_dev *jd, u32 id,
					 u32 peer_id,
					 struct netlink_ext_ack *extack)
{
	struct jvpn_session *s;
	int ret;

	lockdep_assert_held(&jd->lock);
	if (atomic_read(&jd->n_sessions) >= jd->max_sessions) {
		jvpn_stat_inc(&jd->stats, JVPN_STAT_LIMIT_REFUSED);
		NL_SET_ERR_MSG_MOD(extack, "device session limit reached");
		return ERR_PTR(-ENOSPC);
	}
	BUILD_BUG_ON(jvpn_session_stat_idx(JVPN_STAT_PATH_SWITCHES) !=
		     JVPN_SESSION_STATS - 1);
	s = kmem_cache_zalloc(session_cache, GFP_KERNEL_ACCOUNT);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->id = id;
	s->peer_id = peer_id;
	s->jd = jd;
	spin_lock_init(&s->rx_lock);
	jvpn_replay_init(&s->replay);
	timer_setup(&s->silent_timer, session_silent_timer, 0);
	timer_setup(&s->keepalive_timer, session_keepalive_timer, 0);

	ret = rhashtable_lookup_insert_fast(&jd->sessions, &s->node,
					    session_params);
	if (ret) {
		kmem_cache_free(session_cache, s);
		if (ret == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack, "session id already exists");
		return ERR_PTR(ret);
	}
	s->serial = ++jd->session_serial;
	list_add_tail(&s->list, &jd->session_list);
	atomic_inc(&jd->n_sessions);
	return s;
}

static struct jvpn_inner_set *inner_locked(struct jvpn_session *s)
{
	return rcu_dereference_protected(s->inner,
					 lockdep_is_held(&s->jd->lock));
}

static unsigned int inner_count_prefixes(const struct jvpn_inner_key *keys,
					 unsigned int n)
{
	unsigned int i, c = 0;

	for (i = 0; i < n; i++)
		c += !inner_is_host(&keys[i]);
	return c;
}

/* Replaces the session's inner addresses.  Host addresses must be unique on
 * the device (TX must find exactly one session); prefixes are bounded per
 * device because they are scanned.
 */
int jvpn_session_set_inner(struct jvpn_session *s,
			   const struct jvpn_inner_key *keys, unsigned int n,
			   struct netlink_ext_ack *extack)
{
	struct jvpn_inner_set *set, *old = inner_locked(s);
	struct jvpn_dev *jd = s->jd;
	unsigned int i, old_n = old ? old->n : 0, old_prefixes = 0;
	int ret;

	lockdep_assert_held(&jd->lock);
	if (n > JVPN_MAX_INNER_PER_SESSION) {
		NL_SET_ERR_MSG_MOD(extack, "too many inner addresses");
		return -E2BIG;
	}
	for (i = 0; i < old_n; i++)
		old_prefixes += !inner_is_host(&old->e[i].key);
	if (jd->n_prefixes - old_prefixes + inner_count_prefixes(keys, n) >
	    JVPN_MAX_PREFIXES) {
		jvpn_stat_inc(&jd->stats, JVPN_STAT_LIMIT_REFUSED);
		NL_SET_ERR_MSG_MOD(extack, "device inner prefix limit reached");
		return -ENOSPC;
	}
	set = inner_set_alloc(n);
	if (!set)
		return -ENOMEM;
	set->n = n;
	for (i = 0; i < n; i++) {
		set->e[i].key = keys[i];
		set->e[i].session = s;
	}

	/* Unlink the old set first so that keeping an address the session
	 * already owns is not a conflict with itself.
	 */
	if (old)
		inner_unlink_arr(jd, old->e, old_n);
	ret = inner_link_arr(jd, set->e, n);
	if (ret) {
		/* The old set was linked a moment ago: it fits again. */
		if (old)
			WARN_ON(inner_link_arr(jd, old->e, old_n));
		/* Lockless TX lookups may have seen part of the new set. */
		call_rcu(&set->rcu, inner_set_free_rcu);
		NL_SET_ERR_MSG_MOD(extack,
				   "inner address used by another session");
		return ret == -EEXIST ? -EADDRINUSE : ret;
	}
	rcu_assign_pointer(s->inner, set);
	if (old)
		call_rcu(&old->rcu, inner_set_free_rcu);
	s->state_version++;
	return 0;
}

static void session_free(struct jvpn_session *s)
{
	/* No reader can find the session any more, so nobody re-arms the
	 * timers after this.  The keepalive goes first: it sends, and a send
	 * may arm the silence timer.
	 */
	del_timer_sync(&s->keepalive_timer);
	del_timer_sync(&s->silent_timer);
	jvpn_path_free_all(s);
	call_rcu(&s->rcu, session_free_rcu);
}

void jvpn_session_remove(struct jvpn_session *s, bool notify)
{
	struct jvpn_dev *jd = s->jd;

	lockdep_assert_held(&jd->lock);
	rhashtable_remove_fast(&jd->sessions, &s->node, session_params);
	list_del(&s->list);
	if (inner_locked(s))
		inner_unlink_arr(jd, inner_locked(s)->e, inner_locked(s)->n);
	atomic_dec(&jd->n_sessions);
	if (notify)
		jvpn_event_session(s, JVPN_EVENT_SESSION_REMOVED, NULL);
	synchronize_net();
	session_free(s);
}

static void session_destroy_one(void *ptr, void *arg)
{
	struct jvpn_session *s = ptr;

	/* Off the list before its rcu_head overwrites the links. */
	list_del(&s->list);
	session_free(s);
}

/* Device teardown: the device is unregistered and its sockets are unhooked,
 * so no reader is left and the tables can be dropped wholesale.
 */
void jvpn_sessions_destroy(struct jvpn_dev *jd)
{
	rhashtable_free_and_destroy(&jd->sessions, session_destroy_one, NULL);
	rhashtable_destroy(&jd->inner_hosts);
	atomic_set(&jd->n_sessions, 0);
}

struct jvpn_session *jvpn_session_lookup_rcu(struct jvpn_dev *jd, u32 id)
{
	return rhashtable_lookup(&jd->sessions, &id, session_params);
}

static bool inner_prefix_match(const struct jvpn_inner_key *p,
			       const struct jvpn_inner_key *a)
{
	if (p->family != a->family)
		return false;
	if (p->family == AF_INET) {
		__be32 mask = p->prefixlen ?
			htonl(~0U << (32 - p->prefixlen)) : 0;

		return !((p->v4 ^ a->v4) & mask);
	}
	return ipv6_prefix_equal(&p->v6, &a->v6, p->prefixlen);
}

/* O(1) host lookup first; then the bounded prefix list, longest match. */
struct jvpn_session *jvpn_session_by_inner_rcu(struct jvpn_dev *jd,
					       const struct jvpn_inner_key *dst)
{
	struct jvpn_inner *in, *best = NULL;

	in = rhashtable_lookup(&jd->inner_hosts, dst, inner_params);
	if (in)
		return in->session;
	list_for_each_entry_rcu(in, &jd->inner_prefixes, list) {
		if (inner_prefix_match(&in->key, dst) &&
		    (!best || in->key.prefixlen > best->key.prefixlen))
			best = in;
	}
	return best ? best->session : NULL;
}

bool jvpn_session_allows_src(const struct jvpn_session *s,
			     const struct jvpn_inner_key *src)
{
	const struct jvpn_inner_set *set = rcu_dereference_bh(s->inner);
	unsigned int i;

	for (i = 0; set && i < set->n; i++)
		if (inner_prefix_match(&set->e[i].key, src))
			return true;
	return false;
}

static void session_silent_timer(struct timer_list *t)
{
	struct jvpn_session *s = from_timer(s, t, silent_timer);
	unsigned long silent = msecs_to_jiffies(READ_ONCE(s->jd->silent_ms));
	struct jvpn_path *p;
	u32 since;
	s32 elapsed;

	rcu_read_lock_bh();
	p = rcu_dereference_bh(s->active);
	if (!p)
		goto out;
	since = READ_ONCE(p->tx_since_rx);
	if (!since || READ_ONCE(p->silent_reported))
		goto out;
	elapsed = (u32)jiffies - since;
	if (elapsed < (s32)silent) {
		/* TX restarted the episode after we were armed. */
		mod_timer(&s->silent_timer, jiffies + (silent - elapsed));
		goto out;
	}
	WRITE_ONCE(p->silent_reported, true);
	if (!jvpn_event_session(s, JVPN_EVENT_PATH_SILENT, p)) {
		/* Dropped by the rate limit: say it again shortly. */
		WRITE_ONCE(p->silent_reported, false);
		mod_timer(&s->silent_timer, jiffies + HZ / 10);
	}
out:
	rcu_read_unlock_bh();
}

/* Data arrived keepalive_ms ago: if nothing went back since, a keepalive
 * does, so the peer's silence detection sees an answer to its last packet.
 */
static void session_keepalive_timer(struct timer_list *t)
{
	struct jvpn_session *s = from_timer(s, t, keepalive_timer);
	unsigned long ka = msecs_to_jiffies(READ_ONCE(s->jd->keepalive_ms));

	if (!time_after(jiffies, READ_ONCE(s->last_tx) + ka))
		return;
	rcu_read_lock_bh();
	jvpn_send_keepalive(s);
	rcu_read_unlock_bh();
}

/* Key slots ------------------------------------------------------------ */

static void key_free_rcu(struct rcu_head *rcu)
{
	key_free(container_of(rcu, struct jvpn_key, rcu));
}

/* Publishes a new pair of slots; frees the old container and any key that
 * the new pair no longer references, after readers are done.
 */
static int keyslots_publish(struct jvpn_session *s, struct jvpn_key *k0,
			    struct jvpn_key *k1)
{
	struct jvpn_keyslots *old, *ks;
	unsigned int i;

	ks = kzalloc(sizeof(*ks), GFP_KERNEL_ACCOUNT);
	if (!ks)
		return -ENOMEM;
	ks->slot[0] = k0;
	ks->slot[1] = k1;
	old = rcu_replace_pointer(s->keys, ks,
				  lockdep_is_held(&s->jd->lock));
	if (!old)
		return 0;
	for (i = 0; i < 2; i++) {
		struct jvpn_key *k = old->slot[i];

		if (k && k != k0 && k != k1)
			call_rcu(&k->rcu, key_free_rcu);
	}
	/* Process context (jd->lock is a mutex): the headless form, which
	 * keeps the container at two pointers.
	 */
	kfree_rcu_mightsleep(old);
	return 0;
}

static struct jvpn_keyslots *keyslots_locked(struct jvpn_session *s)
{
	return rcu_dereference_protected(s->keys,
					 lockdep_is_held(&s->jd->lock));
}

int jvpn_key_install(struct jvpn_session *s, unsigned int slot, u8 key_id,
		     const u8 *encrypt, const u8 *decrypt,
		     struct netlink_ext_ack *extack)
{
	struct jvpn_keyslots *ks = keyslots_locked(s);
	struct jvpn_key *k, *other = ks ? ks->slot[!slot] : NULL;
	int ret;

	if (other && other->key_id == key_id) {
		NL_SET_ERR_MSG_MOD(extack, "key id is used by the other slot");
		return -EEXIST;
	}
	k = kmem_cache_zalloc(key_cache, GFP_KERNEL_ACCOUNT);
	if (!k)
		return -ENOMEM;
	k->key_id = key_id;
	memcpy(k->encrypt, encrypt, JVPN_KEY_LEN);
	memcpy(k->decrypt, decrypt, JVPN_KEY_LEN);
	k->created = jiffies;

	ret = slot ? keyslots_publish(s, other, k) :
		     keyslots_publish(s, k, other);
	if (ret)
		key_free(k);
	return ret;
}

int jvpn_key_swap(struct jvpn_session *s, struct netlink_ext_ack *extack)
{
	struct jvpn_keyslots *ks = keyslots_locked(s);

	if (!ks || !ks->slot[1]) {
		NL_SET_ERR_MSG_MOD(extack, "no secondary key to swap in");
		return -ENOENT;
	}
	/* Late packets under the demoted key must not look like the peer
	 * adopting a new key.
	 */
	if (ks->slot[0])
		WRITE_ONCE(ks->slot[0]->rx_reported, true);
	return keyslots_publish(s, ks->slot[1], ks->slot[0]);
}

int jvpn_key_clear(struct jvpn_session *s, unsigned int slot,
		   struct netlink_ext_ack *extack)
{
	struct jvpn_keyslots *ks = keyslots_locked(s);

	if (!ks || !ks->slot[slot]) {
		NL_SET_ERR_MSG_MOD(extack, "key slot is empty");
		return -ENOENT;
	}
	return slot ? keyslots_publish(s, ks->slot[0], NULL) :
		      keyslots_publish(s, NULL, ks->slot[1]);
}

struct jvpn_key *jvpn_key_by_id_rcu(struct jvpn_session *s, u8 key_id,
				    bool *secondary)
{
	struct jvpn_keyslots *ks = rcu_dereference_bh(s->keys);

	*secondary = false;
	if (!ks)
		return NULL;
	if (ks->slot[0] && ks->slot[0]->key_id == key_id)
		return ks->slot[0];
	*secondary = true;
	if (ks->slot[1] && ks->slot[1]->key_id == key_id)
		return ks->slot[1];
	return NULL;
}
