// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for kmod/session.c (suite jvpn_session): the session table,
 * the inner address tables and the key slots, driven through the real
 * functions on a device that is allocated but never registered.
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/rcupdate.h>
#include <linux/stdarg.h>
#include <linux/string.h>
#include <net/sock.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "event.h"
#include "socket.h"

#define MAX_SESSIONS	16

static void dummy_setup(struct net_device *dev)
{
}

/* A jvpn_dev in the private area of an unregistered net_device, as in
 * device.c, with the session tables initialised.
 */
static int session_test_init(struct kunit *test)
{
	struct net_device *dev;
	struct jvpn_dev *jd;
	int ret;

	dev = alloc_netdev(sizeof(*jd), "jvpnk%d", NET_NAME_UNKNOWN,
			   dummy_setup);
	if (!dev)
		return -ENOMEM;
	jd = netdev_priv(dev);
	jd->dev = dev;
	mutex_init(&jd->lock);
	jd->max_sessions = MAX_SESSIONS;
	jd->max_paths = 4;
	jd->event_rate = 100;
	jvpn_event_init(jd);
	ret = jvpn_sessions_init(jd);
	if (ret) {
		free_netdev(dev);
		return ret;
	}
	test->priv = jd;
	return 0;
}

/* Runs even when a case aborted, possibly with jd->lock still held by the
 * dead case, so it does not take the lock (nothing else can run).
 */
static void session_test_exit(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;

	if (!jd)
		return;		/* init failed */
	jvpn_sessions_destroy(jd);
	rcu_barrier();
	free_netdev(jd->dev);
}

/* "10.0.0.1", "10.0.0.0/8", "fd00::1", "fd00::/16"; no "/" is a host. */
static struct jvpn_inner_key ik(struct kunit *test, const char *str)
{
	const char *slash = strchr(str, '/');
	int len = slash ? slash - str : strlen(str);
	struct jvpn_inner_key k;
	u8 plen;
	bool ok;

	memset(&k, 0, sizeof(k));
	if (strchr(str, ':')) {
		k.family = AF_INET6;
		ok = in6_pton(str, len, k.v6.s6_addr, -1, NULL);
		plen = 128;
	} else {
		k.family = AF_INET;
		ok = in4_pton(str, len, (u8 *)&k.v4, -1, NULL);
		plen = 32;
	}
	KUNIT_ASSERT_TRUE_MSG(test, ok, "bad address %s", str);
	if (slash)
		KUNIT_ASSERT_EQ(test, kstrtou8(slash + 1, 10, &plen), 0);
	k.prefixlen = plen;
	return k;
}

static struct jvpn_inner_key ik4(u32 addr, u8 prefixlen)
{
	struct jvpn_inner_key k;

	memset(&k, 0, sizeof(k));
	k.family = AF_INET;
	k.prefixlen = prefixlen;
	k.v4 = htonl(addr);
	return k;
}

/* Replaces @s's inner set with the NULL-terminated addresses. */
static int set_inner(struct kunit *test, struct jvpn_session *s,
		     struct netlink_ext_ack *extack, ...)
{
	struct jvpn_inner_key keys[JVPN_MAX_INNER_PER_SESSION + 1];
	unsigned int n = 0;
	const char *a;
	va_list ap;

	va_start(ap, extack);
	while ((a = va_arg(ap, const char *)) && n < ARRAY_SIZE(keys))
		keys[n++] = ik(test, a);
	va_end(ap);
	return jvpn_session_set_inner(s, keys, n, extack);
}

/* The session a packet to @addr is sent to, looked up as tx.c does (under
 * rcu_read_lock_bh(); with CONFIG_PROVE_RCU, rhashtable_lookup() calls that
 * "suspicious" as it wants rcu_read_lock()).
 */
static struct jvpn_session *owner(struct kunit *test, struct jvpn_dev *jd,
				  const char *addr)
{
	struct jvpn_inner_key k = ik(test, addr);
	struct jvpn_session *s;

	rcu_read_lock_bh();
	s = jvpn_session_by_inner_rcu(jd, &k);
	rcu_read_unlock_bh();
	return s;
}

/* Whether @s may send from @addr (RX check). */
static bool allows(struct kunit *test, struct jvpn_session *s,
		   const char *addr)
{
	struct jvpn_inner_key k = ik(test, addr);
	bool ok;

	rcu_read_lock_bh();
	ok = jvpn_session_allows_src(s, &k);
	rcu_read_unlock_bh();
	return ok;
}

static struct jvpn_session *lookup(struct jvpn_dev *jd, u32 id)
{
	struct jvpn_session *s;

	rcu_read_lock();
	s = jvpn_session_lookup_rcu(jd, id);
	rcu_read_unlock();
	return s;
}

static struct jvpn_session *create(struct kunit *test, struct jvpn_dev *jd,
				   u32 id)
{
	struct jvpn_session *s = jvpn_session_create(jd, id, id + 1000, NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s);
	return s;
}

static struct jvpn_inner_set *inner_of(struct jvpn_session *s)
{
	return rcu_dereference_protected(s->inner,
					 lockdep_is_held(&s->jd->lock));
}

static void expect_msg(struct kunit *test, const struct netlink_ext_ack *ext,
		       const char *want)
{
	KUNIT_EXPECT_TRUE_MSG(test, ext->_msg && strstr(ext->_msg, want),
			      "extack \"%s\", want \"%s\"",
			      ext->_msg ?: "(none)", want);
}

static u64 dstat(struct jvpn_dev *jd, enum jvpn_stat i)
{
	return jvpn_stat_read(&jd->stats, i);
}

/* Sessions ----------------------------------------------------------- */

static void session_test_create_lookup(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	static const u32 ids[] = { 1, 2, 0x7fffffff, 0xffffffff };
	struct jvpn_session *s[ARRAY_SIZE(ids)], *it;
	unsigned int i = 0;

	mutex_lock(&jd->lock);
	KUNIT_EXPECT_NULL(test, lookup(jd, 1));
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		s[i] = create(test, jd, ids[i]);
		KUNIT_EXPECT_EQ(test, s[i]->id, ids[i]);
		KUNIT_EXPECT_EQ(test, s[i]->peer_id, ids[i] + 1000);
		KUNIT_EXPECT_PTR_EQ(test, s[i]->jd, jd);
		KUNIT_EXPECT_EQ(test, s[i]->state_version, 0ULL);
		KUNIT_EXPECT_NULL(test, rcu_access_pointer(s[i]->keys));
		KUNIT_EXPECT_NULL(test, rcu_access_pointer(s[i]->inner));
		KUNIT_EXPECT_NULL(test, rcu_access_pointer(s[i]->active));
		if (i)
			KUNIT_EXPECT_GT(test, s[i]->serial, s[i - 1]->serial);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), (int)ARRAY_SIZE(ids));
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		KUNIT_EXPECT_PTR_EQ(test, lookup(jd, ids[i]), s[i]);
	KUNIT_EXPECT_NULL(test, lookup(jd, 0));
	KUNIT_EXPECT_NULL(test, lookup(jd, 3));
	KUNIT_EXPECT_NULL(test, lookup(jd, 0xfffffffe));

	/* The dump list is in creation order. */
	i = 0;
	list_for_each_entry(it, &jd->session_list, list) {
		KUNIT_ASSERT_LT(test, i, (unsigned int)ARRAY_SIZE(ids));
		KUNIT_EXPECT_PTR_EQ(test, it, s[i]);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(ids));
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 0ULL);
	mutex_unlock(&jd->lock);
}

static void session_test_duplicate_id(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_session *a, *b;

	mutex_lock(&jd->lock);
	a = create(test, jd, 5);
	b = jvpn_session_create(jd, 5, 99, &ext);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(b), -EEXIST);
	expect_msg(test, &ext, "session id already exists");
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 1);
	KUNIT_EXPECT_PTR_EQ(test, lookup(jd, 5), a);
	KUNIT_EXPECT_EQ(test, lookup(jd, 5)->peer_id, 1005U);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&jd->session_list));
	/* A duplicate is not a limit. */
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 0ULL);
	/* The serial the refused one took is not reused, but ids are. */
	b = create(test, jd, 6);
	KUNIT_EXPECT_GT(test, b->serial, a->serial);
	mutex_unlock(&jd->lock);
}

static void session_test_limit(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_session *s;
	u32 id;

	mutex_lock(&jd->lock);
	jd->max_sessions = 3;
	for (id = 1; id <= 3; id++)
		create(test, jd, id);
	s = jvpn_session_create(jd, 4, 4, &ext);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(s), -ENOSPC);
	expect_msg(test, &ext, "device session limit reached");
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 3);
	KUNIT_EXPECT_NULL(test, lookup(jd, 4));
	s = jvpn_session_create(jd, 5, 5, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(s), -ENOSPC);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 2ULL);

	/* Removing one makes room again. */
	jvpn_session_remove(lookup(jd, 2), false);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 2);
	s = create(test, jd, 4);
	KUNIT_EXPECT_PTR_EQ(test, lookup(jd, 4), s);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 2ULL);

	/* Lowering the limit below the count refuses, keeps the others. */
	jd->max_sessions = 1;
	s = jvpn_session_create(jd, 9, 9, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(s), -ENOSPC);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 3);
	jd->max_sessions = 0;
	s = jvpn_session_create(jd, 9, 9, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(s), -ENOSPC);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 4ULL);
	mutex_unlock(&jd->lock);
}

/* Inner addresses ------------------------------------------------------ */

static void session_test_inner_hosts(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *a, *b;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", "fd00::1",
					NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, b, NULL, "10.0.0.2",
					"fd00::2", "0.0.0.0", NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 2U);
	KUNIT_EXPECT_EQ(test, inner_of(b)->n, 3U);
	/* Hosts live in the hash table, not in the scanned prefix list. */
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&jd->inner_prefixes));

	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), a);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::1"), a);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.2"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::2"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "0.0.0.0"), b);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.3"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "fd00::3"));
	/* The same bits in the other family are another address. */
	KUNIT_EXPECT_NULL(test, owner(test, jd, "::"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "a00:1::"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "::ffff:10.0.0.1"));

	KUNIT_EXPECT_TRUE(test, allows(test, a, "10.0.0.1"));
	KUNIT_EXPECT_TRUE(test, allows(test, a, "fd00::1"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "10.0.0.2"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "fd00::2"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "::ffff:10.0.0.1"));
	KUNIT_EXPECT_TRUE(test, allows(test, b, "0.0.0.0"));
	KUNIT_EXPECT_FALSE(test, allows(test, b, "0.0.0.1"));
	mutex_unlock(&jd->lock);
}

static void session_test_inner_prefix_lpm(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *s[6];
	unsigned int i;

	mutex_lock(&jd->lock);
	for (i = 0; i < ARRAY_SIZE(s); i++)
		s[i] = create(test, jd, i + 1);
	/* Linked in an order where the longest match is not the first. */
	KUNIT_ASSERT_EQ(test, set_inner(test, s[0], NULL, "0.0.0.0/0",
					"::/0", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, s[1], NULL, "10.0.0.0/8",
					"fd00::/8", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, s[2], NULL, "10.1.0.0/16",
					"fd00:1::/32", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, s[3], NULL, "10.1.2.0/31",
					"fd00:1::1:0/127", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, s[4], NULL, "10.1.2.0",
					"fd00:1::1:0", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, s[5], NULL, "10.1.128.0/17",
					"fd00:1:0:8000::/49", NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 10U);

	/* The host wins over every prefix containing it. */
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.2.0"), s[4]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:1::1:0"), s[4]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.2.1"), s[3]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:1::1:1"), s[3]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.2.2"), s[2]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:1::1:2"), s[2]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.127.255"), s[2]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.128.0"), s[5]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.255.255"), s[5]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:1:0:8000::9"), s[5]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:1:0:7fff::9"), s[2]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.2.0.1"), s[1]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.255.255.255"), s[1]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00:2::1"), s[1]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fdff::1"), s[1]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "11.0.0.0"), s[0]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "255.255.255.255"), s[0]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fe80::1"), s[0]);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "::"), s[0]);

	/* Without the defaults, what no prefix covers has no session. */
	KUNIT_ASSERT_EQ(test, set_inner(test, s[0], NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 8U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "11.0.0.0"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "fe80::1"));
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.9.9.9"), s[1]);

	/* RX: a prefix allows every source inside it, nothing outside. */
	KUNIT_EXPECT_TRUE(test, allows(test, s[2], "10.1.0.0"));
	KUNIT_EXPECT_TRUE(test, allows(test, s[2], "10.1.2.0"));
	KUNIT_EXPECT_TRUE(test, allows(test, s[2], "10.1.255.255"));
	KUNIT_EXPECT_FALSE(test, allows(test, s[2], "10.0.255.255"));
	KUNIT_EXPECT_FALSE(test, allows(test, s[2], "10.2.0.0"));
	KUNIT_EXPECT_TRUE(test, allows(test, s[2], "fd00:1:ffff::1"));
	KUNIT_EXPECT_FALSE(test, allows(test, s[2], "fd00:2::1"));
	KUNIT_EXPECT_TRUE(test, allows(test, s[3], "10.1.2.1"));
	KUNIT_EXPECT_FALSE(test, allows(test, s[3], "10.1.2.2"));
	KUNIT_EXPECT_FALSE(test, allows(test, s[0], "10.1.2.2"));
	mutex_unlock(&jd->lock);
}

static void session_test_inner_conflict(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_inner_set *old;
	struct jvpn_session *a, *b;
	u64 ver;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", "fd00::1",
					NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, b, NULL, "10.0.0.5",
					"10.9.0.0/16", NULL), 0);
	old = inner_of(b);
	ver = b->state_version;

	/* A prefix and a host are linked before the conflict is found;
	 * both must be unlinked again and b's old set restored.
	 */
	KUNIT_EXPECT_EQ(test, set_inner(test, b, &ext, "10.8.0.0/16",
					"10.0.0.7", "10.0.0.1", NULL),
			-EADDRINUSE);
	expect_msg(test, &ext, "inner address used by another session");
	KUNIT_EXPECT_PTR_EQ(test, inner_of(b), old);
	KUNIT_EXPECT_EQ(test, b->state_version, ver);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), a);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.5"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.9.1.1"), b);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.7"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.8.0.1"));
	KUNIT_EXPECT_FALSE(test, allows(test, b, "10.0.0.7"));
	KUNIT_EXPECT_FALSE(test, allows(test, b, "10.0.0.1"));
	KUNIT_EXPECT_TRUE(test, allows(test, b, "10.0.0.5"));

	/* IPv6 too; a's set is untouched by b's failures. */
	KUNIT_EXPECT_EQ(test, set_inner(test, b, NULL, "fd00::1", NULL),
			-EADDRINUSE);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::1"), a);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 2U);

	/* The same host twice in one set conflicts with itself. */
	KUNIT_EXPECT_EQ(test, set_inner(test, b, NULL, "10.0.0.9", "10.0.0.9",
					NULL), -EADDRINUSE);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.9"));
	KUNIT_EXPECT_PTR_EQ(test, inner_of(b), old);

	/* Prefixes may overlap between sessions: they are not owned. */
	KUNIT_EXPECT_EQ(test, set_inner(test, a, NULL, "10.0.0.1",
					"10.9.0.0/16", NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 2U);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 0ULL);
	mutex_unlock(&jd->lock);
}

static void session_test_inner_replace(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *a, *b;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", "10.0.0.2",
					"10.5.0.0/16", "fd00::1", NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);

	/* Keeping an address the session owns is not a conflict. */
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.2", "10.0.0.3",
					"fd00::1", NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 3U);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 0U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.2"), a);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.3"), a);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::1"), a);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.5.0.1"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "10.0.0.1"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "10.5.0.1"));
	KUNIT_EXPECT_TRUE(test, allows(test, a, "10.0.0.3"));

	/* What a gave up is free for another session. */
	KUNIT_EXPECT_EQ(test, set_inner(test, b, NULL, "10.0.0.1",
					"10.5.0.0/16", NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.5.0.1"), b);

	/* An empty set clears everything. */
	KUNIT_EXPECT_EQ(test, set_inner(test, a, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 0U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.2"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "fd00::1"));
	KUNIT_EXPECT_FALSE(test, allows(test, a, "10.0.0.2"));
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), b);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);

	/* And b can swap its host and prefix for others in one step. */
	KUNIT_EXPECT_EQ(test, set_inner(test, b, NULL, "10.0.0.2",
					"10.6.0.0/16", NULL), 0);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.5.0.1"));
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.2"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.6.0.1"), b);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);
	mutex_unlock(&jd->lock);
}

static void session_test_inner_limits(struct kunit *test)
{
	struct jvpn_inner_key keys[JVPN_MAX_INNER_PER_SESSION + 1];
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_session *s[JVPN_MAX_PREFIXES / JVPN_MAX_INNER_PER_SESSION];
	struct jvpn_session *extra;
	unsigned int i, j;

	BUILD_BUG_ON(ARRAY_SIZE(s) + 1 > MAX_SESSIONS);
	mutex_lock(&jd->lock);
	extra = create(test, jd, 100);

	/* At most JVPN_MAX_INNER_PER_SESSION addresses per session. */
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		keys[i] = ik4(0x0a000001 + i, 32);
	KUNIT_EXPECT_EQ(test, jvpn_session_set_inner(extra, keys,
						     ARRAY_SIZE(keys), &ext),
			-E2BIG);
	expect_msg(test, &ext, "too many inner addresses");
	KUNIT_EXPECT_NULL(test, inner_of(extra));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_EXPECT_EQ(test, jvpn_session_set_inner(extra, keys,
						     ARRAY_SIZE(keys) - 1,
						     NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.8"), extra);

	/* Fill the device's prefix budget: 10.i.j.0/24. */
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		s[i] = create(test, jd, i + 1);
		for (j = 0; j < JVPN_MAX_INNER_PER_SESSION; j++)
			keys[j] = ik4(0x0a000000 | (i + 1) << 16 | j << 8, 24);
		KUNIT_ASSERT_EQ(test, jvpn_session_set_inner(s[i], keys, j,
							     NULL), 0);
	}
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, (unsigned int)JVPN_MAX_PREFIXES);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.8.7.1"), s[7]);

	/* One more prefix is refused; hosts do not count. */
	memset(&ext, 0, sizeof(ext));
	KUNIT_EXPECT_EQ(test, set_inner(test, extra, &ext, "10.0.0.1",
					"172.16.0.0/12", NULL), -ENOSPC);
	expect_msg(test, &ext, "device inner prefix limit reached");
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 1ULL);
	KUNIT_EXPECT_EQ(test, inner_of(extra)->n, 8U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "172.16.0.1"));
	KUNIT_EXPECT_EQ(test, set_inner(test, extra, NULL, "10.0.0.1",
					"fd00::1", NULL), 0);

	/* A session may replace its own prefixes at the limit. */
	KUNIT_EXPECT_EQ(test, set_inner(test, s[0], NULL, "192.168.0.0/16",
					"10.1.0.0/24", NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, JVPN_MAX_PREFIXES - 6U);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "192.168.3.4"), s[0]);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.1.7.1"));
	KUNIT_EXPECT_EQ(test, set_inner(test, extra, NULL, "172.16.0.0/12",
					NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "172.16.0.1"), extra);

	/* Removing a session returns its prefixes to the budget. */
	jvpn_session_remove(s[1], false);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, JVPN_MAX_PREFIXES - 13U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.2.0.1"));
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 1ULL);
	mutex_unlock(&jd->lock);
}

/* Keys ----------------------------------------------------------------- */

static int install(struct jvpn_session *s, unsigned int slot, u8 id,
		   struct netlink_ext_ack *extack)
{
	u8 enc[JVPN_KEY_LEN], dec[JVPN_KEY_LEN];

	memset(enc, id, sizeof(enc));
	memset(dec, (u8)~id, sizeof(dec));
	enc[0] = slot;
	return jvpn_key_install(s, slot, id, enc, dec, extack);
}

static struct jvpn_key *slot_key(struct jvpn_session *s, unsigned int i)
{
	struct jvpn_keyslots *ks =
		rcu_dereference_protected(s->keys,
					  lockdep_is_held(&s->jd->lock));

	return ks ? ks->slot[i] : NULL;
}

/* The key id in slot @i, -1 when empty. */
static int slot_id(struct jvpn_session *s, unsigned int i)
{
	struct jvpn_key *k = slot_key(s, i);

	return k ? k->key_id : -1;
}

static struct jvpn_key *by_id(struct jvpn_session *s, u8 id, bool *secondary)
{
	struct jvpn_key *k;

	*secondary = !*secondary;	/* must be written */
	rcu_read_lock_bh();
	k = jvpn_key_by_id_rcu(s, id, secondary);
	rcu_read_unlock_bh();
	return k;
}

static void session_test_keys_install(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_session *s;
	struct jvpn_key *k, *k2;
	bool sec = true;

	mutex_lock(&jd->lock);
	s = create(test, jd, 1);
	KUNIT_EXPECT_NULL(test, by_id(s, 0, &sec));
	KUNIT_EXPECT_FALSE(test, sec);

	KUNIT_ASSERT_EQ(test, install(s, 0, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, slot_id(s, 0), 1);
	KUNIT_EXPECT_EQ(test, slot_id(s, 1), -1);
	k = by_id(s, 1, &sec);
	KUNIT_ASSERT_NOT_NULL(test, k);
	KUNIT_EXPECT_PTR_EQ(test, k, slot_key(s, 0));
	KUNIT_EXPECT_FALSE(test, sec);
	KUNIT_EXPECT_EQ(test, k->key_id, 1);
	KUNIT_EXPECT_EQ(test, k->encrypt[0], 0);
	KUNIT_EXPECT_EQ(test, k->encrypt[JVPN_KEY_LEN - 1], 1);
	KUNIT_EXPECT_EQ(test, k->decrypt[JVPN_KEY_LEN - 1], 0xfe);
	KUNIT_EXPECT_EQ(test, atomic64_read(&k->tx_packets), 0LL);
	KUNIT_EXPECT_FALSE(test, k->rx_reported);
	KUNIT_EXPECT_NULL(test, by_id(s, 2, &sec));

	KUNIT_ASSERT_EQ(test, install(s, 1, 2, NULL), 0);
	k2 = by_id(s, 2, &sec);
	KUNIT_ASSERT_NOT_NULL(test, k2);
	KUNIT_EXPECT_PTR_EQ(test, k2, slot_key(s, 1));
	KUNIT_EXPECT_TRUE(test, sec);
	KUNIT_EXPECT_EQ(test, k2->encrypt[0], 1);
	KUNIT_EXPECT_EQ(test, k2->decrypt[1], 0xfd);
	/* Installing the secondary left the primary object alone. */
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 1, &sec), k);
	KUNIT_EXPECT_FALSE(test, sec);
	KUNIT_EXPECT_NULL(test, by_id(s, 3, &sec));

	/* The two slots never share a key id. */
	KUNIT_EXPECT_EQ(test, install(s, 1, 1, &ext), -EEXIST);
	expect_msg(test, &ext, "key id is used by the other slot");
	KUNIT_EXPECT_EQ(test, install(s, 0, 2, NULL), -EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 0), k);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 1), k2);

	/* Replacing a slot: the old id is gone, the other slot kept. */
	KUNIT_ASSERT_EQ(test, install(s, 1, 3, NULL), 0);
	KUNIT_EXPECT_EQ(test, slot_id(s, 1), 3);
	KUNIT_EXPECT_NULL(test, by_id(s, 2, &sec));
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 3, &sec), slot_key(s, 1));
	KUNIT_EXPECT_TRUE(test, sec);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 0), k);
	/* ... now id 2 is free for the primary; the same id in place too. */
	KUNIT_EXPECT_EQ(test, install(s, 0, 2, NULL), 0);
	KUNIT_EXPECT_EQ(test, install(s, 0, 2, NULL), 0);
	KUNIT_EXPECT_EQ(test, slot_id(s, 0), 2);
	KUNIT_EXPECT_NULL(test, by_id(s, 1, &sec));
	/* Key ids are 8 bits: 0 and 255 are ordinary. */
	KUNIT_EXPECT_EQ(test, install(s, 0, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, install(s, 1, 255, NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 0, &sec), slot_key(s, 0));
	KUNIT_EXPECT_FALSE(test, sec);
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 255, &sec), slot_key(s, 1));
	KUNIT_EXPECT_TRUE(test, sec);
	mutex_unlock(&jd->lock);
}

static void session_test_keys_swap_clear(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct netlink_ext_ack ext = {};
	struct jvpn_key *k1, *k2;
	struct jvpn_session *s;
	bool sec = false;

	mutex_lock(&jd->lock);
	s = create(test, jd, 1);
	KUNIT_EXPECT_EQ(test, jvpn_key_swap(s, &ext), -ENOENT);
	expect_msg(test, &ext, "no secondary key to swap in");
	KUNIT_EXPECT_EQ(test, jvpn_key_clear(s, 0, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, jvpn_key_clear(s, 1, NULL), -ENOENT);

	KUNIT_ASSERT_EQ(test, install(s, 0, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_key_swap(s, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, slot_id(s, 0), 1);
	KUNIT_ASSERT_EQ(test, install(s, 1, 2, NULL), 0);
	k1 = slot_key(s, 0);
	k2 = slot_key(s, 1);

	/* Swap exchanges the same key objects (counters travel along). */
	atomic64_set(&k1->tx_packets, 11);
	KUNIT_ASSERT_EQ(test, jvpn_key_swap(s, NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 0), k2);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 1), k1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&k1->tx_packets), 11LL);
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 2, &sec), k2);
	KUNIT_EXPECT_FALSE(test, sec);
	KUNIT_EXPECT_PTR_EQ(test, by_id(s, 1, &sec), k1);
	KUNIT_EXPECT_TRUE(test, sec);
	/* The demoted key's late packets must not read as a rekey. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(k1->rx_reported));
	KUNIT_EXPECT_FALSE(test, READ_ONCE(k2->rx_reported));

	/* And back. */
	KUNIT_ASSERT_EQ(test, jvpn_key_swap(s, NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 0), k1);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 1), k2);

	/* Clearing the secondary keeps the primary. */
	memset(&ext, 0, sizeof(ext));
	KUNIT_ASSERT_EQ(test, jvpn_key_clear(s, 1, NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, slot_key(s, 0), k1);
	KUNIT_EXPECT_NULL(test, slot_key(s, 1));
	KUNIT_EXPECT_NULL(test, by_id(s, 2, &sec));
	KUNIT_EXPECT_EQ(test, jvpn_key_clear(s, 1, &ext), -ENOENT);
	expect_msg(test, &ext, "key slot is empty");
	KUNIT_EXPECT_EQ(test, jvpn_key_swap(s, NULL), -ENOENT);

	/* Clearing the primary leaves no key at all. */
	KUNIT_ASSERT_EQ(test, jvpn_key_clear(s, 0, NULL), 0);
	KUNIT_EXPECT_NULL(test, slot_key(s, 0));
	KUNIT_EXPECT_NULL(test, by_id(s, 1, &sec));
	KUNIT_EXPECT_EQ(test, jvpn_key_clear(s, 0, NULL), -ENOENT);

	/* A secondary alone can be swapped in as the primary. */
	KUNIT_ASSERT_EQ(test, install(s, 1, 7, NULL), 0);
	KUNIT_EXPECT_EQ(test, slot_id(s, 0), -1);
	KUNIT_ASSERT_EQ(test, jvpn_key_swap(s, NULL), 0);
	KUNIT_EXPECT_EQ(test, slot_id(s, 0), 7);
	KUNIT_EXPECT_EQ(test, slot_id(s, 1), -1);
	KUNIT_EXPECT_NOT_NULL(test, by_id(s, 7, &sec));
	KUNIT_EXPECT_FALSE(test, sec);
	mutex_unlock(&jd->lock);
}

/* state_version -------------------------------------------------------- */

/* What session.c does today: a successful inner replacement moves the
 * version (docs/netlink-api.md still says SESSION_SET does not), a refused
 * one does not, and key operations never do.
 */
static void session_test_state_version(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *a, *b;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	KUNIT_EXPECT_EQ(test, a->state_version, 0ULL);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", NULL), 0);
	KUNIT_EXPECT_EQ(test, a->state_version, 1ULL);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", NULL), 0);
	KUNIT_EXPECT_EQ(test, a->state_version, 2ULL);

	KUNIT_EXPECT_EQ(test, set_inner(test, b, NULL, "10.0.0.1", NULL),
			-EADDRINUSE);
	KUNIT_EXPECT_EQ(test, b->state_version, 0ULL);
	KUNIT_EXPECT_EQ(test, a->state_version, 2ULL);

	KUNIT_ASSERT_EQ(test, install(a, 0, 1, NULL), 0);
	KUNIT_ASSERT_EQ(test, install(a, 1, 2, NULL), 0);
	KUNIT_EXPECT_EQ(test, install(a, 1, 1, NULL), -EEXIST);
	KUNIT_ASSERT_EQ(test, jvpn_key_swap(a, NULL), 0);
	KUNIT_ASSERT_EQ(test, jvpn_key_clear(a, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, a->state_version, 2ULL);

	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, a->state_version, 3ULL);
	KUNIT_EXPECT_EQ(test, b->state_version, 0ULL);
	mutex_unlock(&jd->lock);
}

/* Removal ---------------------------------------------------------------- */

static void session_test_remove(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *a, *b, *c;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	c = create(test, jd, 3);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", "fd00::1",
					"10.1.0.0/16", "fd01::/64", NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, b, NULL, "10.0.0.2",
					"10.0.0.0/8", NULL), 0);
	KUNIT_ASSERT_EQ(test, install(a, 0, 1, NULL), 0);
	KUNIT_ASSERT_EQ(test, install(a, 1, 2, NULL), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 3U);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.2.3"), a);

	jvpn_session_remove(a, false);
	KUNIT_EXPECT_NULL(test, lookup(jd, 1));
	KUNIT_EXPECT_PTR_EQ(test, lookup(jd, 2), b);
	KUNIT_EXPECT_PTR_EQ(test, lookup(jd, 3), c);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 2);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->inner_hosts.nelems), 1);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "fd00::1"));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "fd01::1"));
	/* a's host and /16 are gone: b's /8 covers them now. */
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.1.2.3"), b);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.2"), b);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&jd->session_list,
						   struct jvpn_session, list),
			    b);
	KUNIT_EXPECT_PTR_EQ(test, list_last_entry(&jd->session_list,
						  struct jvpn_session, list),
			    c);
	/* notify == false: no event, not even a dropped one. */
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_SENT), 0ULL);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_DROPPED), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&jd->event_seq), 0LL);

	/* The id and the addresses are free again. */
	a = create(test, jd, 1);
	KUNIT_EXPECT_EQ(test, a->state_version, 0ULL);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(a->keys));
	KUNIT_EXPECT_EQ(test, set_inner(test, c, NULL, "10.0.0.1", "fd00::1",
					NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::1"), c);

	jvpn_session_remove(b, false);
	jvpn_session_remove(c, false);
	jvpn_session_remove(a, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 0);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&jd->session_list));
	KUNIT_EXPECT_TRUE(test, list_empty(&jd->inner_prefixes));
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->inner_hosts.nelems), 0);
	mutex_unlock(&jd->lock);
}

/* With notify, SESSION_REMOVED goes out (nobody listens, which still takes
 * a sequence number) or is counted as dropped by the rate limit.
 */
static void session_test_remove_notify(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;

	mutex_lock(&jd->lock);
	jvpn_session_remove(create(test, jd, 1), true);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_SENT), 1ULL);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_DROPPED), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&jd->event_seq), 1LL);

	WRITE_ONCE(jd->event_rate, 0);
	jd->event_tokens = 0;
	jvpn_session_remove(create(test, jd, 2), true);
	KUNIT_EXPECT_NULL(test, lookup(jd, 2));
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_SENT), 1ULL);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_EVENTS_DROPPED), 1ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&jd->event_seq), 1LL);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 0);
	mutex_unlock(&jd->lock);
}

/* Removing a session releases its paths' hold on their socket; so does
 * tearing down the whole table.
 */
static void session_test_remove_paths(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	union jvpn_sockaddr r[3] = {};
	struct jvpn_session *a, *b;
	struct socket *sock;
	struct jvpn_sock *js;
	unsigned int i;

	js = kunit_kzalloc(test, sizeof(*js), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, js);
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
					       IPPROTO_UDP, &sock), 0);
	js->id = 1;
	js->sock = sock;
	js->jd = jd;
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i].in4.sin_family = AF_INET;
		r[i].in4.sin_port = htons(51820);
		r[i].in4.sin_addr.s_addr = htonl(0xc0000201 + i);
	}

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	b = create(test, jd, 2);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 10, js, &r[0], NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 11, js, &r[1], NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(b, 10, js, &r[2], NULL), 0);
	KUNIT_EXPECT_EQ(test, js->n_paths, 3U);
	KUNIT_EXPECT_NOT_NULL(test, rcu_access_pointer(a->active));
	/* path.c moves the version on every path-set change. */
	KUNIT_EXPECT_EQ(test, a->state_version, 2ULL);

	jvpn_session_remove(a, false);
	KUNIT_EXPECT_EQ(test, js->n_paths, 1U);
	KUNIT_EXPECT_PTR_EQ(test, lookup(jd, 2), b);

	/* Teardown as in device.c, then fresh tables for the exit hook. */
	jvpn_sessions_destroy(jd);
	KUNIT_EXPECT_EQ(test, js->n_paths, 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), 0);
	KUNIT_EXPECT_EQ(test, jvpn_sessions_init(jd), 0);
	mutex_unlock(&jd->lock);

	rcu_barrier();
	sock_release(sock);
}

/* One-address sets come from their own cache, others from kmalloc: every
 * change of size frees the old set the right way, and a single prefix (an
 * entry linked by its list, not its hash node) works like a host.
 */
static void session_test_inner_one(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_session *a;

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 1U);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.0.0.1"), a);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.7.0.0/16", NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 1U);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "10.7.3.4"), a);
	KUNIT_EXPECT_TRUE(test, allows(test, a, "10.7.3.4"));
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 1U);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.1", "fd00::1",
					NULL), 0);
	KUNIT_EXPECT_EQ(test, inner_of(a)->n, 2U);
	KUNIT_EXPECT_EQ(test, jd->n_prefixes, 0U);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "fd00::1", NULL), 0);
	KUNIT_EXPECT_PTR_EQ(test, owner(test, jd, "fd00::1"), a);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.1"));
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, NULL), 0);
	KUNIT_ASSERT_EQ(test, set_inner(test, a, NULL, "10.0.0.9", NULL), 0);
	jvpn_session_remove(a, false);
	KUNIT_EXPECT_NULL(test, owner(test, jd, "10.0.0.9"));
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->inner_hosts.nelems), 0);
	mutex_unlock(&jd->lock);
	rcu_barrier();
}

/* Paths sit on a list in the order they were added; deleting one in the
 * middle keeps the others reachable, and max_paths still bounds them.
 */
static void session_test_paths(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	static const u32 want1[] = { 10, 12, 13, 14 };
	union jvpn_sockaddr r[6] = {};
	struct netlink_ext_ack ext = {};
	struct jvpn_path *p, *found;
	struct jvpn_session *a;
	struct socket *sock;
	struct jvpn_sock *js;
	unsigned int i;

	js = kunit_kzalloc(test, sizeof(*js), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, js);
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
					       IPPROTO_UDP, &sock), 0);
	js->id = 1;
	js->sock = sock;
	js->jd = jd;
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i].in4.sin_family = AF_INET;
		r[i].in4.sin_port = htons(51820);
		r[i].in4.sin_addr.s_addr = htonl(0xc0000201 + i);
	}

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 10 + i, js, &r[i], NULL),
				0);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 10, js, &r[5], NULL), -EEXIST);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 20, js, &r[1], NULL), -EEXIST);
	KUNIT_EXPECT_EQ(test, jvpn_path_del(a, 10, &ext), -EBUSY);
	KUNIT_EXPECT_EQ(test, jvpn_path_del(a, 11, NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_path_del(a, 11, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 13, js, &r[3], NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 14, js, &r[4], NULL), 0);
	KUNIT_EXPECT_EQ(test, js->n_paths, 4U);

	/* max_paths is 4. */
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 15, js, &r[5], NULL), -ENOSPC);
	KUNIT_EXPECT_EQ(test, dstat(jd, JVPN_STAT_LIMIT_REFUSED), 1ULL);

	i = 0;
	rcu_read_lock();
	jvpn_for_each_path_rcu(p, a) {
		if (i < ARRAY_SIZE(want1))
			KUNIT_EXPECT_EQ(test, p->id, want1[i]);
		i++;
	}
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, i, 4U);

	rcu_read_lock_bh();
	found = jvpn_path_match_rcu(a, js, &r[1]);
	KUNIT_EXPECT_NULL(test, found);
	found = jvpn_path_match_rcu(a, js, &r[4]);
	KUNIT_EXPECT_TRUE(test, found && found->id == 14);
	rcu_read_unlock_bh();

	/* The head can go once another path is active. */
	KUNIT_EXPECT_EQ(test, jvpn_path_activate(a, 14, a->state_version,
						 NULL), 0);
	KUNIT_EXPECT_EQ(test, jvpn_sstat_read(&a->stats,
					      JVPN_STAT_PATH_SWITCHES), 1ULL);
	KUNIT_EXPECT_EQ(test, jvpn_path_del(a, 10, NULL), 0);
	KUNIT_EXPECT_NULL(test, jvpn_path_find_locked(a, 10));
	KUNIT_EXPECT_NOT_NULL(test, jvpn_path_find_locked(a, 12));
	KUNIT_EXPECT_EQ(test, jvpn_path_add(a, 15, js, &r[5], NULL), 0);
	KUNIT_EXPECT_EQ(test, js->n_paths, 4U);

	jvpn_session_remove(a, false);
	KUNIT_EXPECT_EQ(test, js->n_paths, 0U);
	mutex_unlock(&jd->lock);

	rcu_barrier();
	sock_release(sock);
}

/* A session keeps only the counters that can move for a session; the
 * device-only ones read as zero.
 */
static void session_test_stats_map(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	bool used[JVPN_SESSION_STATS] = {};
	struct jvpn_session *a;
	unsigned int i, n = 0;
	int k;

	for (i = JVPN_STAT_UNSPEC + 1; i < JVPN_STAT_PAD; i++) {
		k = jvpn_session_stat_idx(i);
		switch (i) {
		case JVPN_STAT_RX_MALFORMED:
		case JVPN_STAT_RX_NO_SESSION:
		case JVPN_STAT_TX_NO_SESSION:
		case JVPN_STAT_EVENTS_SENT:
		case JVPN_STAT_EVENTS_DROPPED:
		case JVPN_STAT_LIMIT_REFUSED:
			KUNIT_EXPECT_EQ_MSG(test, k, -1, "stat %u", i);
			continue;
		}
		KUNIT_ASSERT_TRUE_MSG(test, k >= 0 && k < JVPN_SESSION_STATS,
				      "stat %u -> %d", i, k);
		KUNIT_EXPECT_FALSE_MSG(test, used[k], "stat %u -> %d", i, k);
		used[k] = true;
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, (unsigned int)JVPN_SESSION_STATS);
	KUNIT_EXPECT_EQ(test, jvpn_session_stat_idx(JVPN_STAT_UNSPEC), -1);
	KUNIT_EXPECT_EQ(test, jvpn_session_stat_idx(JVPN_STAT_PAD), -1);

	mutex_lock(&jd->lock);
	a = create(test, jd, 1);
	for (i = JVPN_STAT_UNSPEC + 1; i < JVPN_STAT_PAD; i++)
		jvpn_sstat_add(&a->stats, i, i);
	jvpn_sstat_inc(&a->stats, JVPN_STAT_TX_ERRORS);
	for (i = JVPN_STAT_UNSPEC + 1; i < JVPN_STAT_PAD; i++) {
		u64 want = jvpn_session_stat_idx(i) < 0 ? 0 :
			   i + (i == JVPN_STAT_TX_ERRORS);

		KUNIT_EXPECT_EQ_MSG(test, jvpn_sstat_read(&a->stats, i), want,
				    "stat %u", i);
	}
	mutex_unlock(&jd->lock);
}

/* Enough sessions and host addresses to make both tables resize. */
static void session_test_many(struct kunit *test)
{
	struct jvpn_dev *jd = test->priv;
	struct jvpn_inner_key k;
	struct jvpn_session *s;
	const unsigned int n = 512;
	unsigned int i;
	bool ok = true;

	mutex_lock(&jd->lock);
	jd->max_sessions = n;
	for (i = 0; i < n; i++) {
		s = create(test, jd, i * 7919 + 1);
		k = ik4(0x0a800000 + i, 32);
		KUNIT_ASSERT_EQ(test, jvpn_session_set_inner(s, &k, 1, NULL), 0);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), (int)n);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(jvpn_session_create(jd, 0, 0,
								  NULL)),
			-ENOSPC);
	for (i = 0; i < n; i += 2)
		jvpn_session_remove(lookup(jd, i * 7919 + 1), false);
	for (i = 0; i < n; i++) {
		s = lookup(jd, i * 7919 + 1);
		k = ik4(0x0a800000 + i, 32);
		rcu_read_lock_bh();
		if (i % 2) {
			ok &= s && s->id == i * 7919 + 1 &&
			      jvpn_session_by_inner_rcu(jd, &k) == s;
		} else {
			ok &= !s && !jvpn_session_by_inner_rcu(jd, &k);
		}
		rcu_read_unlock_bh();
		if (!ok) {
			KUNIT_FAIL(test, "session %u (id %u) wrong", i,
				   i * 7919 + 1);
			break;
		}
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->n_sessions), (int)n / 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&jd->inner_hosts.nelems), (int)n / 2);
	mutex_unlock(&jd->lock);
	/* The other half goes with jvpn_sessions_destroy() in exit. */
}

static struct kunit_case session_test_cases[] = {
	KUNIT_CASE(session_test_create_lookup),
	KUNIT_CASE(session_test_duplicate_id),
	KUNIT_CASE(session_test_limit),
	KUNIT_CASE(session_test_inner_hosts),
	KUNIT_CASE(session_test_inner_prefix_lpm),
	KUNIT_CASE(session_test_inner_conflict),
	KUNIT_CASE(session_test_inner_replace),
	KUNIT_CASE(session_test_inner_limits),
	KUNIT_CASE(session_test_keys_install),
	KUNIT_CASE(session_test_keys_swap_clear),
	KUNIT_CASE(session_test_state_version),
	KUNIT_CASE(session_test_remove),
	KUNIT_CASE(session_test_remove_notify),
	KUNIT_CASE(session_test_remove_paths),
	KUNIT_CASE(session_test_many),
	KUNIT_CASE(session_test_inner_one),
	KUNIT_CASE(session_test_paths),
	KUNIT_CASE(session_test_stats_map),
	{}
};

static struct kunit_suite session_test_suite = {
	.name = "jvpn_session",
	.init = session_test_init,
	.exit = session_test_exit,
	.test_cases = session_test_cases,
};

kunit_test_suite(session_test_suite);

MODULE_LICENSE("GPL");
