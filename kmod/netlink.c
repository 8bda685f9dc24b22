// SPDX-License-Identifier: GPL-2.0-only
/*
 * Generic netlink API.  Every command names its device by JVPN_A_IFINDEX;
 * pre_doit resolves it in the caller's network namespace and takes the
 * device's configuration lock, so handlers are short and sequential.
 * Every rejection carries an extack message.
 */

#include <linux/jiffies.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <uapi/linux/jvpn.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "socket.h"
#include "netlink.h"

/* Policies --------------------------------------------------------------- */

static struct netlink_range_validation max_sessions_range = {
	.min = 1, .max = JVPN_MAX_SESSIONS_LIMIT,
};

static struct netlink_range_validation ms_range = {
	.min = 10, .max = 3600 * 1000,
};

static struct netlink_range_validation event_rate_range = {
	.min = 1, .max = 1000000,
};

static struct netlink_range_validation id_range = {
	.min = 1, .max = U32_MAX,
};

static const struct nla_policy inner_addr_policy[JVPN_A_INNER_MAX + 1] = {
	[JVPN_A_INNER_FAMILY] = { .type = NLA_U16 },
	[JVPN_A_INNER_IP] = NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[JVPN_A_INNER_PREFIXLEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

static const struct nla_policy inner_list_policy[JVPN_A_INNER_MAX + 1] = {
	[JVPN_A_INNER_ADDR] = NLA_POLICY_NESTED(inner_addr_policy),
};


static const struct nla_policy dev_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
};

static const struct nla_policy dev_set_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_MAX_SESSIONS] = NLA_POLICY_FULL_RANGE(NLA_U32,
						      &max_sessions_range),
	[JVPN_A_MAX_PATHS] = NLA_POLICY_RANGE(NLA_U32, 1, JVPN_MAX_PATHS_LIMIT),
	[JVPN_A_SILENT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &ms_range),
	[JVPN_A_KEEPALIVE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &ms_range),
	[JVPN_A_EVENT_RATE] = NLA_POLICY_FULL_RANGE(NLA_U32, &event_rate_range),
};

static const struct nla_policy socket_attach_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SOCKET_FD] = NLA_POLICY_RANGE(NLA_S32, 0, S16_MAX),
};

static const struct nla_policy socket_detach_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SOCKET_ID] = NLA_POLICY_RANGE(NLA_U32, 1, JVPN_MAX_SOCKETS),
};

static const struct nla_policy session_new_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_INNER] = NLA_POLICY_NESTED(inner_list_policy),
};

static const struct nla_policy session_set_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_EXPECTED_VERSION] = { .type = NLA_U64 },
	[JVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_INNER] = NLA_POLICY_NESTED(inner_list_policy),
};

static const struct nla_policy session_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
};

static const struct nla_policy key_new_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_KEY_SLOT] = NLA_POLICY_MAX(NLA_U8, 1),
	[JVPN_A_KEY_ID] = { .type = NLA_U8 },
	[JVPN_A_KEY_ENCRYPT] = NLA_POLICY_EXACT_LEN(JVPN_KEY_LEN),
	[JVPN_A_KEY_DECRYPT] = NLA_POLICY_EXACT_LEN(JVPN_KEY_LEN),
};

static const struct nla_policy key_del_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_KEY_SLOT] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy path_add_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_PATH_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_SOCKET_ID] = NLA_POLICY_RANGE(NLA_U32, 1, JVPN_MAX_SOCKETS),
	[JVPN_A_PATH_REMOTE_IP] = NLA_POLICY_RANGE(NLA_BINARY, 4, 16),
	[JVPN_A_PATH_REMOTE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy path_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_PATH_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
};

static const struct nla_policy path_activate_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = { .type = NLA_U32 },
	[JVPN_A_SESSION_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_PATH_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &id_range),
	[JVPN_A_EXPECTED_VERSION] = { .type = NLA_U64 },
};

/* Missing attributes ----------------------------------------------------- */

static const char * const missing_msg[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX] = "jvpn: missing JVPN_A_IFINDEX",
	[JVPN_A_SOCKET_FD] = "jvpn: missing JVPN_A_SOCKET_FD",
	[JVPN_A_SOCKET_ID] = "jvpn: missing JVPN_A_SOCKET_ID",
	[JVPN_A_SESSION_ID] = "jvpn: missing JVPN_A_SESSION_ID",
	[JVPN_A_PEER_ID] = "jvpn: missing JVPN_A_PEER_ID",
	[JVPN_A_EXPECTED_VERSION] = "jvpn: missing JVPN_A_EXPECTED_VERSION",
	[JVPN_A_KEY_SLOT] = "jvpn: missing JVPN_A_KEY_SLOT",
	[JVPN_A_KEY_ID] = "jvpn: missing JVPN_A_KEY_ID",
	[JVPN_A_KEY_ENCRYPT] = "jvpn: missing JVPN_A_KEY_ENCRYPT",
	[JVPN_A_KEY_DECRYPT] = "jvpn: missing JVPN_A_KEY_DECRYPT",
	[JVPN_A_PATH_ID] = "jvpn: missing JVPN_A_PATH_ID",
	[JVPN_A_PATH_REMOTE_IP] = "jvpn: missing JVPN_A_PATH_REMOTE_IP",
	[JVPN_A_PATH_REMOTE_PORT] = "jvpn: missing JVPN_A_PATH_REMOTE_PORT",
};

/* Like GENL_REQ_ATTR_CHECK (which marks the missing type), plus a message
 * a person can read.
 */
static bool missing(struct genl_info *info, unsigned int attr)
{
	if (info->attrs[attr])
		return false;
	NL_SET_ERR_ATTR_MISS(info->extack, NULL, attr);
	/* NL_SET_ERR_MSG() wants a literal; the table holds literals. */
	if (info->extack)
		info->extack->_msg = missing_msg[attr];
	return true;
}

/* Device resolution and locking ----------------------------------------- */

static int jvpn_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			 struct genl_info *info)
{
	struct net_device *dev;
	struct jvpn_dev *jd;

	if (missing(info, JVPN_A_IFINDEX))
		return -EINVAL;
	dev = dev_get_by_index(genl_info_net(info),
			       nla_get_u32(info->attrs[JVPN_A_IFINDEX]));
	if (!dev) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_IFINDEX]);
		NL_SET_ERR_MSG_MOD(info->extack, "no such device");
		return -ENODEV;
	}
	if (!jvpn_is_jvpn_dev(dev)) {
		dev_put(dev);
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_IFINDEX]);
		NL_SET_ERR_MSG_MOD(info->extack, "device is not a jvpn device");
		return -EOPNOTSUPP;
	}
	jd = netdev_priv(dev);
	mutex_lock(&jd->lock);
	if (jd->dead) {
		mutex_unlock(&jd->lock);
		dev_put(dev);
		NL_SET_ERR_MSG_MOD(info->extack, "device is being removed");
		return -ENODEV;
	}
	info->user_ptr[0] = jd;
	return 0;
}

static void jvpn_post_doit(const struct genl_ops *ops, struct sk_buff *skb,
			   struct genl_info *info)
{
	struct jvpn_dev *jd = info->user_ptr[0];

	mutex_unlock(&jd->lock);
	dev_put(jd->dev);
}

static struct jvpn_session *session_from_info(struct jvpn_dev *jd,
					      struct genl_info *info)
{
	struct jvpn_session *s;

	if (missing(info, JVPN_A_SESSION_ID))
		return ERR_PTR(-EINVAL);
	/* Under jd->lock, so the RCU lookup result cannot go away. */
	rcu_read_lock();
	s = jvpn_session_lookup_rcu(jd,
				    nla_get_u32(info->attrs[JVPN_A_SESSION_ID]));
	rcu_read_unlock();
	if (!s) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_SESSION_ID]);
		NL_SET_ERR_MSG_MOD(info->extack, "no such session");
		return ERR_PTR(-ENOENT);
	}
	return s;
}

/* Message building ------------------------------------------------------- */

/* @dev, when given, supplies the packet and byte totals: the device keeps
 * those in per-CPU interface statistics, not in jvpn_stats.
 */
static int put_stats(struct sk_buff *msg, const struct jvpn_stats *st,
		     const struct jvpn_session_stats *ss,
		     struct net_device *dev)
{
	struct nlattr *nest = nla_nest_start(msg, JVPN_A_STATS);
	struct rtnl_link_stats64 ls = { };
	unsigned int i;
	u64 v;

	if (!nest)
		return -EMSGSIZE;
	if (dev)
		dev_get_tstats64(dev, &ls);
	for (i = JVPN_STAT_UNSPEC + 1; i < JVPN_STAT_PAD; i++) {
		v = st ? jvpn_stat_read(st, i) : jvpn_sstat_read(ss, i);
		if (dev && i == JVPN_STAT_RX_PACKETS)
			v = ls.rx_packets;
		else if (dev && i == JVPN_STAT_RX_BYTES)
			v = ls.rx_bytes;
		else if (dev && i == JVPN_STAT_TX_PACKETS)
			v = ls.tx_packets;
		else if (dev && i == JVPN_STAT_TX_BYTES)
			v = ls.tx_bytes;
		if (nla_put_u64_64bit(msg, i, v, JVPN_STAT_PAD))
			return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static u32 ms_since(unsigned long then)
{
	if (!then)
		return U32_MAX;
	return min_t(u64, jiffies_to_msecs(jiffies - then), U32_MAX);
}

/* The same for a path's 32-bit jiffies. */
static u32 ms_since32(u32 then)
{
	if (!then)
		return U32_MAX;
	return jiffies_to_msecs((u32)jiffies - then);
}

static int put_remote(struct sk_buff *msg, const union jvpn_sockaddr *sa)
{
	if (sa->sa.sa_family == AF_INET)
		return nla_put_in_addr(msg, JVPN_A_PATH_REMOTE_IP,
				       sa->in4.sin_addr.s_addr) ||
		       nla_put_u16(msg, JVPN_A_PATH_REMOTE_PORT,
				   ntohs(sa->in4.sin_port));
	return nla_put_in6_addr(msg, JVPN_A_PATH_REMOTE_IP,
				&sa->in6.sin6_addr) ||
	       nla_put_u16(msg, JVPN_A_PATH_REMOTE_PORT,
			   ntohs(sa->in6.sin6_port));
}

static int put_path(struct sk_buff *msg, const struct jvpn_path *p,
		    bool active)
{
	struct nlattr *st;

	if (nla_put_u32(msg, JVPN_A_PATH_ID, p->id) ||
	    nla_put_u32(msg, JVPN_A_SOCKET_ID, p->sock->id) ||
	    put_remote(msg, &p->remote) ||
	    nla_put_u8(msg, JVPN_A_PATH_ACTIVE, active) ||
	    nla_put_u32(msg, JVPN_A_LAST_RX_MS,
			ms_since32(READ_ONCE(p->last_rx))) ||
	    nla_put_u32(msg, JVPN_A_LAST_TX_MS,
			ms_since32(READ_ONCE(p->last_tx))))
		return -EMSGSIZE;
	st = nla_nest_start(msg, JVPN_A_STATS);
	if (!st ||
	    nla_put_u64_64bit(msg, JVPN_STAT_RX_PACKETS,
			      atomic64_read(&p->rx_packets), JVPN_STAT_PAD) ||
	    nla_put_u64_64bit(msg, JVPN_STAT_RX_BYTES,
			      atomic64_read(&p->rx_bytes), JVPN_STAT_PAD) ||
	    nla_put_u64_64bit(msg, JVPN_STAT_TX_PACKETS,
			      atomic64_read(&p->tx_packets), JVPN_STAT_PAD) ||
	    nla_put_u64_64bit(msg, JVPN_STAT_TX_BYTES,
			      atomic64_read(&p->tx_bytes), JVPN_STAT_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, st);
	return 0;
}

static int put_paths(struct sk_buff *msg, struct jvpn_session *s)
{
	struct jvpn_path *active = rcu_dereference(s->active);
	struct nlattr *list, *one;
	struct jvpn_path *p;

	list = nla_nest_start(msg, JVPN_A_PATHS);
	if (!list)
		return -EMSGSIZE;
	jvpn_for_each_path_rcu(p, s) {
		one = nla_nest_start(msg, JVPN_A_PATH);
		if (!one || put_path(msg, p, p == active))
			return -EMSGSIZE;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

static int put_keys(struct sk_buff *msg, struct jvpn_session *s)
{
	struct jvpn_keyslots *ks = rcu_dereference(s->keys);
	struct nlattr *list, *one;
	unsigned int i;

	list = nla_nest_start(msg, JVPN_A_KEYS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; ks && i < 2; i++) {
		struct jvpn_key *k = ks->slot[i];

		if (!k)
			continue;
		one = nla_nest_start(msg, JVPN_A_KEY);
		if (!one ||
		    nla_put_u8(msg, JVPN_A_KEY_INFO_SLOT, i) ||
		    nla_put_u8(msg, JVPN_A_KEY_INFO_ID, k->key_id) ||
		    nla_put_u32(msg, JVPN_A_KEY_INFO_AGE_MS,
				jiffies_to_msecs((u32)jiffies - k->created)) ||
		    nla_put_u64_64bit(msg, JVPN_A_KEY_INFO_TX_PACKETS,
				      atomic64_read(&k->tx_packets),
				      JVPN_A_KEY_INFO_PAD) ||
		    nla_put_u64_64bit(msg, JVPN_A_KEY_INFO_RX_PACKETS,
				      atomic64_read(&k->rx_packets),
				      JVPN_A_KEY_INFO_PAD))
			return -EMSGSIZE;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

static int put_inner(struct sk_buff *msg, struct jvpn_session *s)
{
	struct jvpn_inner_set *set = rcu_dereference(s->inner);
	struct nlattr *list, *one;
	unsigned int i;

	list = nla_nest_start(msg, JVPN_A_INNER);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; set && i < set->n; i++) {
		const struct jvpn_inner_key *k = &set->e[i].key;

		one = nla_nest_start(msg, JVPN_A_INNER_ADDR);
		if (!one ||
		    nla_put_u16(msg, JVPN_A_INNER_FAMILY, k->family) ||
		    nla_put(msg, JVPN_A_INNER_IP,
			    k->family == AF_INET ? 4 : 16, &k->v4) ||
		    nla_put_u8(msg, JVPN_A_INNER_PREFIXLEN, k->prefixlen))
			return -EMSGSIZE;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

/* Called under rcu_read_lock() (dump) or jd->lock (doit). */
static int fill_session(struct sk_buff *msg, struct jvpn_session *s,
			u32 portid, u32 seq, int flags, u8 cmd)
{
	struct jvpn_path *active;
	u64 rx_top;
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &jvpn_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	rcu_read_lock();
	active = rcu_dereference(s->active);
	rx_top = jvpn_replay_top(&s->replay);
	if (nla_put_u32(msg, JVPN_A_IFINDEX, s->jd->dev->ifindex) ||
	    nla_put_u32(msg, JVPN_A_SESSION_ID, s->id) ||
	    nla_put_u32(msg, JVPN_A_PEER_ID, READ_ONCE(s->peer_id)) ||
	    nla_put_u64_64bit(msg, JVPN_A_STATE_VERSION,
			      READ_ONCE(s->state_version), JVPN_A_PAD) ||
	    nla_put_u64_64bit(msg, JVPN_A_TX_COUNTER,
			      atomic64_read(&s->tx_counter), JVPN_A_PAD) ||
	    nla_put_u64_64bit(msg, JVPN_A_RX_COUNTER, rx_top ? rx_top - 1 : 0,
			      JVPN_A_PAD) ||
	    nla_put_u32(msg, JVPN_A_LAST_RX_MS, ms_since(READ_ONCE(s->last_rx))) ||
	    nla_put_u32(msg, JVPN_A_LAST_TX_MS, ms_since(READ_ONCE(s->last_tx))) ||
	    nla_put_u32(msg, JVPN_A_ACTIVE_PATH_ID, active ? active->id : 0) ||
	    put_inner(msg, s) || put_keys(msg, s) || put_paths(msg, s) ||
	    put_stats(msg, NULL, &s->stats, NULL))
		goto cancel;
	rcu_read_unlock();
	genlmsg_end(msg, hdr);
	return 0;

cancel:
	rcu_read_unlock();
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static int put_socket(struct sk_buff *msg, const struct jvpn_sock *js)
{
	struct sock *sk = js->sock->sk;

	return nla_put_u32(msg, JVPN_A_SOCKET_ID, js->id) ||
	       nla_put_u16(msg, JVPN_A_SOCKET_FAMILY, sk->sk_family) ||
	       nla_put_u16(msg, JVPN_A_SOCKET_PORT, inet_sk(sk)->inet_num);
}

static int put_sockets(struct sk_buff *msg, struct jvpn_dev *jd)
{
	struct nlattr *list, *one;
	unsigned int i;
	int ret = 0;

	list = nla_nest_start(msg, JVPN_A_SOCKETS);
	if (!list)
		return -EMSGSIZE;
	rcu_read_lock();
	for (i = 0; i < JVPN_MAX_SOCKETS && !ret; i++) {
		struct jvpn_sock *js = rcu_dereference(jd->socks[i]);

		if (!js)
			continue;
		one = nla_nest_start(msg, JVPN_A_SOCKET);
		if (!one || put_socket(msg, js))
			ret = -EMSGSIZE;
		else
			nla_nest_end(msg, one);
	}
	rcu_read_unlock();
	if (ret)
		return ret;
	nla_nest_end(msg, list);
	return 0;
}

static int fill_dev(struct sk_buff *msg, struct jvpn_dev *jd, u32 portid,
		    u32 seq, int flags)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &jvpn_genl_family, flags,
			  JVPN_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, JVPN_A_IFINDEX, jd->dev->ifindex) ||
	    nla_put_string(msg, JVPN_A_IFNAME, jd->dev->name) ||
	    nla_put_u32(msg, JVPN_A_MAX_SESSIONS, READ_ONCE(jd->max_sessions)) ||
	    nla_put_u32(msg, JVPN_A_MAX_PATHS, READ_ONCE(jd->max_paths)) ||
	    nla_put_u32(msg, JVPN_A_SILENT_MS, READ_ONCE(jd->silent_ms)) ||
	    nla_put_u32(msg, JVPN_A_KEEPALIVE_MS, READ_ONCE(jd->keepalive_ms)) ||
	    nla_put_u32(msg, JVPN_A_EVENT_RATE, READ_ONCE(jd->event_rate)) ||
	    nla_put_u32(msg, JVPN_A_N_SESSIONS, atomic_read(&jd->n_sessions)) ||
	    nla_put_u64_64bit(msg, JVPN_A_EVENT_SEQ,
			      atomic64_read(&jd->event_seq), JVPN_A_PAD) ||
	    put_sockets(msg, jd) || put_stats(msg, &jd->stats, NULL, jd->dev)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

/* Sends a reply built by @fill; the common tail of every doit with data. */
static int reply_with(struct genl_info *info,
		      int (*fill)(struct sk_buff *msg, void *obj,
				  struct genl_info *info),
		      void *obj)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	int ret;

	if (!msg)
		return -ENOMEM;
	ret = fill(msg, obj, info);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int fill_session_reply(struct sk_buff *msg, void *obj,
			      struct genl_info *info)
{
	return fill_session(msg, obj, info->snd_portid, info->snd_seq, 0,
			    info->genlhdr->cmd);
}

static int fill_dev_reply(struct sk_buff *msg, void *obj,
			  struct genl_info *info)
{
	return fill_dev(msg, obj, info->snd_portid, info->snd_seq, 0);
}

/* Device commands -------------------------------------------------------- */

static int jvpn_nl_dev_get(struct sk_buff *skb, struct genl_info *info)
{
	return reply_with(info, fill_dev_reply, info->user_ptr[0]);
}

static int jvpn_nl_dev_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	int i = 0, skip = cb->args[0];

	rcu_read_lock();
	for_each_netdev_rcu(net, dev) {
		if (!jvpn_is_jvpn_dev(dev))
			continue;
		if (i++ < skip)
			continue;
		if (fill_dev(skb, netdev_priv(dev), NETLINK_CB(cb->skb).portid,
			     cb->nlh->nlmsg_seq, NLM_F_MULTI)) {
			i--;
			break;
		}
	}
	rcu_read_unlock();
	cb->args[0] = i;
	return skb->len;
}

static void set_u32(u32 *dst, struct nlattr *a)
{
	if (a)
		WRITE_ONCE(*dst, nla_get_u32(a));
}

static int jvpn_nl_dev_set(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_dev *jd = info->user_ptr[0];
	struct nlattr **a = info->attrs;

	if (a[JVPN_A_MAX_SESSIONS] &&
	    nla_get_u32(a[JVPN_A_MAX_SESSIONS]) <
	    atomic_read(&jd->n_sessions)) {
		NL_SET_BAD_ATTR(info->extack, a[JVPN_A_MAX_SESSIONS]);
		NL_SET_ERR_MSG_MOD(info->extack,
				   "limit is below the current number of sessions");
		return -EBUSY;
	}
	set_u32(&jd->max_sessions, a[JVPN_A_MAX_SESSIONS]);
	set_u32(&jd->max_paths, a[JVPN_A_MAX_PATHS]);
	set_u32(&jd->silent_ms, a[JVPN_A_SILENT_MS]);
	set_u32(&jd->keepalive_ms, a[JVPN_A_KEEPALIVE_MS]);
	set_u32(&jd->event_rate, a[JVPN_A_EVENT_RATE]);
	return 0;
}

/* Socket commands -------------------------------------------------------- */

static int jvpn_nl_socket_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_dev *jd = info->user_ptr[0];
	struct sk_buff *msg;
	void *hdr;
	u32 id;
	int ret;

	if (missing(info, JVPN_A_SOCKET_FD))
		return -EINVAL;
	ret = jvpn_sock_attach(jd, nla_get_s32(info->attrs[JVPN_A_SOCKET_FD]),
			       &id, info->extack);
	if (ret) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_SOCKET_FD]);
		return ret;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &jvpn_genl_family, 0,
				JVPN_CMD_SOCKET_ATTACH);
	if (!hdr || nla_put_u32(msg, JVPN_A_IFINDEX, jd->dev->ifindex) ||
	    put_socket(msg, jvpn_sock_get_locked(jd, id))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int jvpn_nl_socket_detach(struct sk_buff *skb, struct genl_info *info)
{
	if (missing(info, JVPN_A_SOCKET_ID))
		return -EINVAL;
	return jvpn_sock_detach(info->user_ptr[0],
				nla_get_u32(info->attrs[JVPN_A_SOCKET_ID]),
				info->extack);
}

/* Session commands ------------------------------------------------------- */

static int parse_inner_one(struct nlattr *nest, struct jvpn_inner_key *k,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *tb[JVPN_A_INNER_MAX + 1];
	unsigned int alen, maxlen;
	int ret;

	ret = nla_parse_nested(tb, JVPN_A_INNER_MAX, nest, inner_addr_policy,
			       extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, JVPN_A_INNER_FAMILY) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, JVPN_A_INNER_IP) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, JVPN_A_INNER_PREFIXLEN))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = nla_get_u16(tb[JVPN_A_INNER_FAMILY]);
	k->prefixlen = nla_get_u8(tb[JVPN_A_INNER_PREFIXLEN]);
	alen = nla_len(tb[JVPN_A_INNER_IP]);
	if (k->family == AF_INET) {
		maxlen = 32;
		if (alen != 4)
			goto bad_ip;
		k->v4 = nla_get_in_addr(tb[JVPN_A_INNER_IP]);
		if (k->prefixlen < 32 &&
		    (ntohl(k->v4) & (~0U >> k->prefixlen)))
			goto host_bits;
	} else if (k->family == AF_INET6) {
		struct in6_addr masked;

		maxlen = 128;
		if (alen != 16)
			goto bad_ip;
		k->v6 = nla_get_in6_addr(tb[JVPN_A_INNER_IP]);
		ipv6_addr_prefix(&masked, &k->v6, min_t(u8, k->prefixlen, 128));
		if (!ipv6_addr_equal(&masked, &k->v6))
			goto host_bits;
	} else {
		NL_SET_BAD_ATTR(extack, tb[JVPN_A_INNER_FAMILY]);
		NL_SET_ERR_MSG_MOD(extack, "inner family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	if (k->prefixlen > maxlen) {
		NL_SET_BAD_ATTR(extack, tb[JVPN_A_INNER_PREFIXLEN]);
		NL_SET_ERR_MSG_MOD(extack, "inner prefix length too long");
		return -EINVAL;
	}
	return 0;

bad_ip:
	NL_SET_BAD_ATTR(extack, tb[JVPN_A_INNER_IP]);
	NL_SET_ERR_MSG_MOD(extack, "inner address length does not match family");
	return -EINVAL;
host_bits:
	NL_SET_BAD_ATTR(extack, tb[JVPN_A_INNER_IP]);
	NL_SET_ERR_MSG_MOD(extack, "inner prefix has host bits set");
	return -EINVAL;
}

static int parse_inner(struct nlattr *list, struct jvpn_inner_key *keys,
		       unsigned int *n, struct netlink_ext_ack *extack)
{
	struct nlattr *a;
	int rem, ret;

	*n = 0;
	nla_for_each_nested(a, list, rem) {
		if (nla_type(a) != JVPN_A_INNER_ADDR)
			continue;	/* the policy already refused others */
		if (*n == JVPN_MAX_INNER_PER_SESSION) {
			NL_SET_BAD_ATTR(extack, a);
			NL_SET_ERR_MSG_MOD(extack, "too many inner addresses");
			return -E2BIG;
		}
		ret = parse_inner_one(a, &keys[(*n)++], extack);
		if (ret)
			return ret;
	}
	return 0;
}

static int apply_inner(struct jvpn_session *s, struct genl_info *info)
{
	struct jvpn_inner_key keys[JVPN_MAX_INNER_PER_SESSION];
	unsigned int n;
	int ret;

	ret = parse_inner(info->attrs[JVPN_A_INNER], keys, &n, info->extack);
	if (ret)
		return ret;
	return jvpn_session_set_inner(s, keys, n, info->extack);
}

static int jvpn_nl_session_new(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_dev *jd = info->user_ptr[0];
	struct jvpn_session *s;
	int ret;

	if (missing(info, JVPN_A_SESSION_ID) ||
	    missing(info, JVPN_A_PEER_ID))
		return -EINVAL;
	s = jvpn_session_create(jd, nla_get_u32(info->attrs[JVPN_A_SESSION_ID]),
				nla_get_u32(info->attrs[JVPN_A_PEER_ID]),
				info->extack);
	if (IS_ERR(s)) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_SESSION_ID]);
		return PTR_ERR(s);
	}
	if (info->attrs[JVPN_A_INNER]) {
		ret = apply_inner(s, info);
		if (ret) {
			jvpn_session_remove(s, false);
			return ret;
		}
	}
	return 0;
}

static int check_version(struct jvpn_session *s, struct genl_info *info)
{
	struct nlattr *a = info->attrs[JVPN_A_EXPECTED_VERSION];

	if (a && nla_get_u64(a) != s->state_version) {
		NL_SET_BAD_ATTR(info->extack, a);
		NL_SET_ERR_MSG_MOD(info->extack,
				   "stale state_version: the session has changed");
		return -ESTALE;
	}
	return 0;
}

static int jvpn_nl_session_set(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);
	int ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = check_version(s, info);
	if (ret)
		return ret;
	if (info->attrs[JVPN_A_INNER]) {
		ret = apply_inner(s, info);
		if (ret)
			return ret;
	}
	if (info->attrs[JVPN_A_PEER_ID]) {
		WRITE_ONCE(s->peer_id,
			   nla_get_u32(info->attrs[JVPN_A_PEER_ID]));
		s->state_version++;
	}
	return 0;
}

static int jvpn_nl_session_get(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);

	if (IS_ERR(s))
		return PTR_ERR(s);
	return reply_with(info, fill_session_reply, s);
}

static int jvpn_nl_session_del(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);

	if (IS_ERR(s))
		return PTR_ERR(s);
	jvpn_session_remove(s, true);
	return 0;
}

/* Session dump.  Sessions sit on a list in creation order; the cursor is
 * the last (id, serial) sent.  If that session was removed meanwhile, the
 * next one is found by serial with one bounded scan.  Each call takes the
 * device lock, so teardown never races a dump.
 */
static struct jvpn_session *dump_resume(struct jvpn_dev *jd,
					struct netlink_callback *cb)
{
	struct jvpn_session *s;

	if (!cb->args[0])
		return list_first_entry_or_null(&jd->session_list,
						struct jvpn_session, list);
	rcu_read_lock();
	s = jvpn_session_lookup_rcu(jd, cb->args[1]);
	rcu_read_unlock();
	if (s && s->serial == (u64)cb->args[2])
		return list_is_last(&s->list, &jd->session_list) ? NULL :
		       list_next_entry(s, list);
	list_for_each_entry(s, &jd->session_list, list)
		if (s->serial > (u64)cb->args[2])
			return s;
	return NULL;
}

static int dump_sessions_locked(struct sk_buff *skb, struct jvpn_dev *jd,
				struct netlink_callback *cb)
{
	struct jvpn_session *s = dump_resume(jd, cb);

	for (; s; s = list_is_last(&s->list, &jd->session_list) ? NULL :
		      list_next_entry(s, list)) {
		if (fill_session(skb, s, NETLINK_CB(cb->skb).portid,
				 cb->nlh->nlmsg_seq, NLM_F_MULTI,
				 JVPN_CMD_SESSION_GET))
			break;
		cb->args[0] = 1;
		cb->args[1] = s->id;
		cb->args[2] = s->serial;
	}
	return skb->len;
}

static int jvpn_nl_session_dump(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	const struct genl_dumpit_info *gi = genl_dumpit_info(cb);
	struct nlattr *ifa = gi->attrs[JVPN_A_IFINDEX];
	struct net_device *dev;
	struct jvpn_dev *jd;
	int ret;

	if (!ifa) {
		NL_SET_ERR_MSG_MOD(cb->extack, "missing JVPN_A_IFINDEX");
		return -EINVAL;
	}
	dev = dev_get_by_index(sock_net(cb->skb->sk), nla_get_u32(ifa));
	if (!dev || !jvpn_is_jvpn_dev(dev)) {
		if (dev)
			dev_put(dev);
		NL_SET_ERR_MSG_MOD(cb->extack, "no such jvpn device");
		return -ENODEV;
	}
	jd = netdev_priv(dev);
	mutex_lock(&jd->lock);
	ret = jd->dead ? 0 : dump_sessions_locked(skb, jd, cb);
	mutex_unlock(&jd->lock);
	dev_put(dev);
	return ret;
}

/* Key commands ----------------------------------------------------------- */

static int jvpn_nl_key_new(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);
	struct nlattr **a = info->attrs;

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (missing(info, JVPN_A_KEY_SLOT) ||
	    missing(info, JVPN_A_KEY_ID) ||
	    missing(info, JVPN_A_KEY_ENCRYPT) ||
	    missing(info, JVPN_A_KEY_DECRYPT))
		return -EINVAL;
	return jvpn_key_install(s, nla_get_u8(a[JVPN_A_KEY_SLOT]),
				nla_get_u8(a[JVPN_A_KEY_ID]),
				nla_data(a[JVPN_A_KEY_ENCRYPT]),
				nla_data(a[JVPN_A_KEY_DECRYPT]), info->extack);
}

static int jvpn_nl_key_swap(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);

	if (IS_ERR(s))
		return PTR_ERR(s);
	return jvpn_key_swap(s, info->extack);
}

static int jvpn_nl_key_del(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (missing(info, JVPN_A_KEY_SLOT))
		return -EINVAL;
	return jvpn_key_clear(s, nla_get_u8(info->attrs[JVPN_A_KEY_SLOT]),
			      info->extack);
}

/* Path commands ---------------------------------------------------------- */

static int parse_remote(struct genl_info *info, union jvpn_sockaddr *sa)
{
	struct nlattr *ip = info->attrs[JVPN_A_PATH_REMOTE_IP];
	__be16 port = htons(nla_get_u16(info->attrs[JVPN_A_PATH_REMOTE_PORT]));

	memset(sa, 0, sizeof(*sa));
	if (nla_len(ip) == 4) {
		sa->in4.sin_family = AF_INET;
		sa->in4.sin_addr.s_addr = nla_get_in_addr(ip);
		sa->in4.sin_port = port;
		if (ipv4_is_multicast(sa->in4.sin_addr.s_addr) ||
		    ipv4_is_zeronet(sa->in4.sin_addr.s_addr) ||
		    ipv4_is_lbcast(sa->in4.sin_addr.s_addr))
			goto bad;
		return 0;
	}
	if (nla_len(ip) == 16) {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_addr = nla_get_in6_addr(ip);
		sa->in6.sin6_port = port;
		if (ipv6_addr_any(&sa->in6.sin6_addr) ||
		    ipv6_addr_is_multicast(&sa->in6.sin6_addr))
			goto bad;
		return 0;
	}
	NL_SET_BAD_ATTR(info->extack, ip);
	NL_SET_ERR_MSG_MOD(info->extack, "remote address must be 4 or 16 bytes");
	return -EINVAL;
bad:
	NL_SET_BAD_ATTR(info->extack, ip);
	NL_SET_ERR_MSG_MOD(info->extack, "remote address is not a unicast address");
	return -EINVAL;
}

static int jvpn_nl_path_add(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_dev *jd = info->user_ptr[0];
	struct jvpn_session *s = session_from_info(jd, info);
	union jvpn_sockaddr remote;
	struct jvpn_sock *js;
	int ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (missing(info, JVPN_A_PATH_ID) ||
	    missing(info, JVPN_A_SOCKET_ID) ||
	    missing(info, JVPN_A_PATH_REMOTE_IP) ||
	    missing(info, JVPN_A_PATH_REMOTE_PORT))
		return -EINVAL;
	js = jvpn_sock_get_locked(jd, nla_get_u32(info->attrs[JVPN_A_SOCKET_ID]));
	if (!js) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[JVPN_A_SOCKET_ID]);
		NL_SET_ERR_MSG_MOD(info->extack, "no such socket");
		return -ENOENT;
	}
	ret = parse_remote(info, &remote);
	if (ret)
		return ret;
	return jvpn_path_add(s, nla_get_u32(info->attrs[JVPN_A_PATH_ID]), js,
			     &remote, info->extack);
}

static int jvpn_nl_path_del(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (missing(info, JVPN_A_PATH_ID))
		return -EINVAL;
	return jvpn_path_del(s, nla_get_u32(info->attrs[JVPN_A_PATH_ID]),
			     info->extack);
}

static int fill_path_reply(struct sk_buff *msg, void *obj,
			   struct genl_info *info)
{
	struct jvpn_session *s = obj;
	struct nlattr *pid = info->attrs[JVPN_A_PATH_ID];
	struct jvpn_path *p;
	void *hdr;
	int ret;

	hdr = genlmsg_put_reply(msg, info, &jvpn_genl_family, 0,
				JVPN_CMD_PATH_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, JVPN_A_IFINDEX, s->jd->dev->ifindex) ||
	    nla_put_u32(msg, JVPN_A_SESSION_ID, s->id) ||
	    nla_put_u64_64bit(msg, JVPN_A_STATE_VERSION, s->state_version,
			      JVPN_A_PAD))
		goto cancel;
	rcu_read_lock();
	if (pid) {
		p = jvpn_path_find_locked(s, nla_get_u32(pid));
		ret = put_path(msg, p, p == rcu_dereference(s->active));
	} else {
		ret = put_paths(msg, s);
	}
	rcu_read_unlock();
	if (ret)
		goto cancel;
	genlmsg_end(msg, hdr);
	return 0;
cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static int jvpn_nl_path_get(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);
	struct nlattr *pid = info->attrs[JVPN_A_PATH_ID];

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (pid && !jvpn_path_find_locked(s, nla_get_u32(pid))) {
		NL_SET_BAD_ATTR(info->extack, pid);
		NL_SET_ERR_MSG_MOD(info->extack, "no such path");
		return -ENOENT;
	}
	return reply_with(info, fill_path_reply, s);
}

static int jvpn_nl_path_activate(struct sk_buff *skb, struct genl_info *info)
{
	struct jvpn_session *s = session_from_info(info->user_ptr[0], info);
	int ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (missing(info, JVPN_A_PATH_ID) ||
	    missing(info, JVPN_A_EXPECTED_VERSION))
		return -EINVAL;
	ret = jvpn_path_activate(s, nla_get_u32(info->attrs[JVPN_A_PATH_ID]),
				 nla_get_u64(info->attrs[JVPN_A_EXPECTED_VERSION]),
				 info->extack);
	if (ret) {
		NL_SET_BAD_ATTR(info->extack,
				ret == -ESTALE ?
				info->attrs[JVPN_A_EXPECTED_VERSION] :
				info->attrs[JVPN_A_PATH_ID]);
		return ret;
	}
	/* The caller learns the new version from the reply. */
	return reply_with(info, fill_session_reply, s);
}

/* Family ----------------------------------------------------------------- */

#define JVPN_OP(_cmd, _doit, _policy) {				\
	.cmd = _cmd, .doit = _doit, .policy = _policy,		\
	.maxattr = JVPN_A_MAX, .flags = GENL_UNS_ADMIN_PERM,	\
}

static const struct genl_ops jvpn_genl_ops[] = {
	{
		.cmd = JVPN_CMD_DEV_GET,
		.doit = jvpn_nl_dev_get,
		.dumpit = jvpn_nl_dev_dump,
		.policy = dev_policy,
		.maxattr = JVPN_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	JVPN_OP(JVPN_CMD_DEV_SET, jvpn_nl_dev_set, dev_set_policy),
	JVPN_OP(JVPN_CMD_SOCKET_ATTACH, jvpn_nl_socket_attach,
		socket_attach_policy),
	JVPN_OP(JVPN_CMD_SOCKET_DETACH, jvpn_nl_socket_detach,
		socket_detach_policy),
	JVPN_OP(JVPN_CMD_SESSION_NEW, jvpn_nl_session_new, session_new_policy),
	JVPN_OP(JVPN_CMD_SESSION_SET, jvpn_nl_session_set, session_set_policy),
	{
		.cmd = JVPN_CMD_SESSION_GET,
		.doit = jvpn_nl_session_get,
		.dumpit = jvpn_nl_session_dump,
		.policy = session_policy,
		.maxattr = JVPN_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	JVPN_OP(JVPN_CMD_SESSION_DEL, jvpn_nl_session_del, session_policy),
	JVPN_OP(JVPN_CMD_KEY_NEW, jvpn_nl_key_new, key_new_policy),
	JVPN_OP(JVPN_CMD_KEY_SWAP, jvpn_nl_key_swap, session_policy),
	JVPN_OP(JVPN_CMD_KEY_DEL, jvpn_nl_key_del, key_del_policy),
	JVPN_OP(JVPN_CMD_PATH_ADD, jvpn_nl_path_add, path_add_policy),
	JVPN_OP(JVPN_CMD_PATH_DEL, jvpn_nl_path_del, path_policy),
	JVPN_OP(JVPN_CMD_PATH_GET, jvpn_nl_path_get, path_policy),
	JVPN_OP(JVPN_CMD_PATH_ACTIVATE, jvpn_nl_path_activate,
		path_activate_policy),
};

static const struct genl_multicast_group jvpn_mcgrps[] = {
	[JVPN_MCGRP_EVENTS_ID] = {
		.name = JVPN_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

struct genl_family jvpn_genl_family __ro_after_init = {
	.name = JVPN_FAMILY_NAME,
	.version = JVPN_FAMILY_VERSION,
	.maxattr = JVPN_A_MAX,
	.netnsok = true,
	.parallel_ops = true,	/* handlers lock per device */
	.pre_doit = jvpn_pre_doit,
	.post_doit = jvpn_post_doit,
	.ops = jvpn_genl_ops,
	.n_ops = ARRAY_SIZE(jvpn_genl_ops),
	.mcgrps = jvpn_mcgrps,
	.n_mcgrps = ARRAY_SIZE(jvpn_mcgrps),
	.module = THIS_MODULE,
};

int __init jvpn_netlink_init(void)
{
	return genl_register_family(&jvpn_genl_family);
}

void jvpn_netlink_uninit(void)
{
	genl_unregister_family(&jvpn_genl_family);
}
