// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd's kernel programming: rtnetlink for the device, the jvpn family
 * for everything inside it.  See kernel.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "jvpn_nl.h"
#include "kernel.h"

/* ---- rtnetlink (libmnl) ------------------------------------------------ */

static int rt_request(struct kernel *k, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(k->rt);
	ssize_t n;
	int ret;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->rt_seq;
	if (mnl_socket_sendto(k->rt, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(k->rt, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid,
				 NULL, NULL);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *rt_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static int link_create(struct kernel *k, const char *ifname)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rt_msg(buf, RTM_NEWLINK,
				      NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info;

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "jvpn");
	mnl_attr_nest_end(nlh, info);
	return rt_request(k, nlh);
}

int kernel_link_ensure(struct kernel *k, const char *ifname, bool *created)
{
	int ret;

	*created = false;
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	k->ifindex = if_nametoindex(ifname);
	if (!k->ifindex) {
		ret = link_create(k, ifname);
		if (ret)
			return ret;
		*created = true;
		k->ifindex = if_nametoindex(ifname);
		if (!k->ifindex)
			return -ENODEV;
	}
	return 0;
}

static int link_change(struct kernel *k, uint16_t type, unsigned int flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rt_msg(buf, type, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)k->ifindex;
	ifi->ifi_change = flags;
	ifi->ifi_flags = flags;
	return rt_request(k, nlh);
}

int kernel_link_up(struct kernel *k)
{
	return link_change(k, RTM_NEWLINK, IFF_UP);
}

int kernel_link_delete(struct kernel *k)
{
	return link_change(k, RTM_DELLINK, 0);
}

static size_t prefix_bytes(const struct cfg_prefix *p)
{
	return p->family == AF_INET ? 4 : 16;
}

int kernel_addr_add(struct kernel *k, const struct cfg_prefix *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rt_msg(buf, RTM_NEWADDR,
				      NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = k->ifindex;
	/* No DAD on a point-to-point tunnel: nothing else can answer. */
	ifa->ifa_flags = p->family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, prefix_bytes(p), p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, prefix_bytes(p), p->addr);
	return rt_request(k, nlh);
}

int kernel_route_add(struct kernel *k, const struct cfg_prefix *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rt_msg(buf, RTM_NEWROUTE,
				      NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)p->family;
	rtm->rtm_dst_len = p->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, prefix_bytes(p), p->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, k->ifindex);
	return rt_request(k, nlh);
}

/* ---- open / close ------------------------------------------------------ */

int kernel_open(struct kernel *k)
{
	int ret;

	memset(k, 0, sizeof(*k));
	ret = jvpn_nl_open(&k->nl);
	if (ret)
		return ret;
	k->rt = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!k->rt || mnl_socket_bind(k->rt, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		kernel_close(k);
		return ret;
	}
	k->rt_seq = (uint32_t)time(NULL);
	return 0;
}

void kernel_close(struct kernel *k)
{
	if (k->rt)
		mnl_socket_close(k->rt);
	jvpn_nl_close(k->nl);
	k->rt = NULL;
	k->nl = NULL;
}

const char *kernel_errmsg(const struct kernel *k)
{
	return k->nl ? jvpn_nl_errmsg(k->nl) : "";
}

/* ---- generic netlink helpers ------------------------------------------- */

static struct nl_msg *msg_new(struct kernel *k, uint8_t cmd, int flags)
{
	return jvpn_nl_msg(k->nl, cmd, flags, k->ifindex);
}

/* Sends msg (consumed); put_err is the first nla_put failure, if any. */
static int send_msg(struct kernel *k, struct nl_msg *msg, int put_err,
		    jvpn_nl_msg_fn fn, void *arg)
{
	if (!msg)
		return -ENOMEM;
	if (put_err) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return jvpn_nl_request(k->nl, msg, fn, arg);
}

static struct nl_msg *session_msg(struct kernel *k, uint8_t cmd, uint32_t sid,
				  int *err)
{
	struct nl_msg *msg = msg_new(k, cmd, 0);

	*err = msg ? nla_put_u32(msg, JVPN_A_SESSION_ID, sid) : 0;
	return msg;
}

/* ---- device and sockets ------------------------------------------------ */

static void parse_sockets(struct nlattr *nest, struct kernel_dev *d)
{
	struct nlattr *a, *tb[JVPN_A_MAX + 1];
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (d->n_sockets == JVPN_MAX_SOCKETS ||
		    jvpn_nl_parse_path(a, tb) || !tb[JVPN_A_SOCKET_ID])
			continue;
		d->sockets[d->n_sockets].id = nla_get_u32(tb[JVPN_A_SOCKET_ID]);
		if (tb[JVPN_A_SOCKET_FAMILY])
			d->sockets[d->n_sockets].family =
				nla_get_u16(tb[JVPN_A_SOCKET_FAMILY]);
		if (tb[JVPN_A_SOCKET_PORT])
			d->sockets[d->n_sockets].port =
				nla_get_u16(tb[JVPN_A_SOCKET_PORT]);
		d->n_sockets++;
	}
}

static int dev_cb(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct kernel_dev *d = arg;

	(void)cmd;
	if (tb[JVPN_A_EVENT_SEQ])
		d->event_seq = nla_get_u64(tb[JVPN_A_EVENT_SEQ]);
	if (tb[JVPN_A_N_SESSIONS])
		d->n_sessions = nla_get_u32(tb[JVPN_A_N_SESSIONS]);
	if (tb[JVPN_A_SOCKETS])
		parse_sockets(tb[JVPN_A_SOCKETS], d);
	return 0;
}

int kernel_dev_get(struct kernel *k, struct kernel_dev *d)
{
	memset(d, 0, sizeof(*d));
	return send_msg(k, msg_new(k, JVPN_CMD_DEV_GET, 0), 0, dev_cb, d);
}

static int attach_cb(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	if (tb[JVPN_A_SOCKET_ID])
		*(uint32_t *)arg = nla_get_u32(tb[JVPN_A_SOCKET_ID]);
	return 0;
}

int kernel_dev_set(struct kernel *k, uint32_t silent_ms, uint32_t keepalive_ms)
{
	struct nl_msg *msg = msg_new(k, JVPN_CMD_DEV_SET, 0);
	int err = 0;

	if (msg)
		err = nla_put_u32(msg, JVPN_A_SILENT_MS, silent_ms) ||
		      nla_put_u32(msg, JVPN_A_KEEPALIVE_MS, keepalive_ms);
	return send_msg(k, msg, err, NULL, NULL);
}

int kernel_socket_attach(struct kernel *k, int fd, uint32_t *id)
{
	struct nl_msg *msg = msg_new(k, JVPN_CMD_SOCKET_ATTACH, 0);
	int ret;

	*id = 0;
	ret = send_msg(k, msg, msg ? nla_put_s32(msg, JVPN_A_SOCKET_FD, fd) : 0,
		       attach_cb, id);
	if (!ret && !*id)
		ret = -EPROTO;
	return ret;
}

int kernel_socket_detach(struct kernel *k, uint32_t id)
{
	struct nl_msg *msg = msg_new(k, JVPN_CMD_SOCKET_DETACH, 0);

	return send_msg(k, msg, msg ? nla_put_u32(msg, JVPN_A_SOCKET_ID, id) : 0,
			NULL, NULL);
}

/* ---- sessions ---------------------------------------------------------- */

static int put_inner(struct nl_msg *msg, const struct cfg_prefix *inner,
		     unsigned int n)
{
	struct jvpn_prefix p[JVPN_MAX_INNER_PER_SESSION];
	unsigned int i;

	if (n > JVPN_MAX_INNER_PER_SESSION)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].family = inner[i].family;
		p[i].len = inner[i].len;
		memcpy(p[i].addr.raw, inner[i].addr, prefix_bytes(&inner[i]));
	}
	return jvpn_nl_put_inner(msg, p, n);
}

int kernel_session_new(struct kernel *k, uint32_t id, uint32_t peer_id,
		       const struct cfg_prefix *inner, unsigned int n)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_SESSION_NEW, id, &err);

	if (msg && !err)
		err = nla_put_u32(msg, JVPN_A_PEER_ID, peer_id);
	if (msg && !err)
		err = put_inner(msg, inner, n);
	return send_msg(k, msg, err, NULL, NULL);
}

int kernel_session_del(struct kernel *k, uint32_t id)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_SESSION_DEL, id, &err);

	return send_msg(k, msg, err, NULL, NULL);
}

static void parse_keys(struct nlattr *nest, struct kernel_session *ks)
{
	struct nlattr *a, *tb[JVPN_A_KEY_MAX + 1];
	uint8_t slot;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (jvpn_nl_parse_key(a, tb) || !tb[JVPN_A_KEY_INFO_SLOT] ||
		    !tb[JVPN_A_KEY_INFO_ID])
			continue;
		slot = nla_get_u8(tb[JVPN_A_KEY_INFO_SLOT]);
		if (slot > 1)
			continue;
		ks->has_key[slot] = true;
		ks->key_id[slot] = nla_get_u8(tb[JVPN_A_KEY_INFO_ID]);
		if (tb[JVPN_A_KEY_INFO_AGE_MS])
			ks->key_age_ms[slot] =
				nla_get_u32(tb[JVPN_A_KEY_INFO_AGE_MS]);
		if (tb[JVPN_A_KEY_INFO_TX_PACKETS])
			ks->key_tx[slot] =
				nla_get_u64(tb[JVPN_A_KEY_INFO_TX_PACKETS]);
		if (tb[JVPN_A_KEY_INFO_RX_PACKETS])
			ks->key_rx[slot] =
				nla_get_u64(tb[JVPN_A_KEY_INFO_RX_PACKETS]);
	}
}

static void parse_paths(struct nlattr *nest, struct kernel_session *ks)
{
	struct nlattr *a, *tb[JVPN_A_MAX + 1];
	struct kernel_path *p;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (ks->n_paths == JVPN_MAX_PATHS_LIMIT ||
		    jvpn_nl_parse_path(a, tb) || !tb[JVPN_A_PATH_ID])
			continue;
		p = &ks->paths[ks->n_paths];
		memset(p, 0, sizeof(*p));
		p->id = nla_get_u32(tb[JVPN_A_PATH_ID]);
		if (tb[JVPN_A_SOCKET_ID])
			p->sock_id = nla_get_u32(tb[JVPN_A_SOCKET_ID]);
		if (tb[JVPN_A_PATH_ACTIVE])
			p->active = nla_get_u8(tb[JVPN_A_PATH_ACTIVE]);
		jvpn_nl_get_remote(tb, &p->remote);
		ks->n_paths++;
	}
}

static uint64_t stat_u64(struct nlattr **st, int type)
{
	return st[type] ? nla_get_u64(st[type]) : 0;
}

static void parse_session(struct nlattr **tb, struct kernel_session *ks)
{
	struct nlattr *st[JVPN_STAT_MAX + 1];

	memset(ks, 0, sizeof(*ks));
	ks->id = nla_get_u32(tb[JVPN_A_SESSION_ID]);
	if (tb[JVPN_A_PEER_ID])
		ks->peer_id = nla_get_u32(tb[JVPN_A_PEER_ID]);
	if (tb[JVPN_A_STATE_VERSION])
		ks->state_version = nla_get_u64(tb[JVPN_A_STATE_VERSION]);
	if (tb[JVPN_A_ACTIVE_PATH_ID])
		ks->active_path = nla_get_u32(tb[JVPN_A_ACTIVE_PATH_ID]);
	if (tb[JVPN_A_LAST_RX_MS])
		ks->last_rx_ms = nla_get_u32(tb[JVPN_A_LAST_RX_MS]);
	if (tb[JVPN_A_KEYS])
		parse_keys(tb[JVPN_A_KEYS], ks);
	if (tb[JVPN_A_PATHS])
		parse_paths(tb[JVPN_A_PATHS], ks);
	if (tb[JVPN_A_STATS] && !jvpn_nl_parse_stats(tb[JVPN_A_STATS], st)) {
		ks->rx_packets = stat_u64(st, JVPN_STAT_RX_PACKETS);
		ks->rx_bytes = stat_u64(st, JVPN_STAT_RX_BYTES);
		ks->tx_packets = stat_u64(st, JVPN_STAT_TX_PACKETS);
		ks->tx_bytes = stat_u64(st, JVPN_STAT_TX_BYTES);
	}
}

struct dump_ctx {
	kernel_session_fn fn;
	void *arg;
	struct kernel_session ks;
};

static int session_cb(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct dump_ctx *c = arg;

	(void)cmd;
	if (!tb[JVPN_A_SESSION_ID])
		return 0;
	parse_session(tb, &c->ks);
	return c->fn ? c->fn(&c->ks, c->arg) : 0;
}

int kernel_session_get(struct kernel *k, uint32_t id,
		       struct kernel_session *ks)
{
	struct dump_ctx c = { 0 };
	int err, ret;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_SESSION_GET, id, &err);

	ret = send_msg(k, msg, err, session_cb, &c);
	*ks = c.ks;
	return ret;
}

int kernel_session_dump(struct kernel *k, kernel_session_fn fn, void *arg)
{
	struct dump_ctx c = { .fn = fn, .arg = arg };

	return send_msg(k, msg_new(k, JVPN_CMD_SESSION_GET, NLM_F_DUMP), 0,
			session_cb, &c);
}

/* ---- keys -------------------------------------------------------------- */

int kernel_key_new(struct kernel *k, uint32_t sid, int slot, uint8_t key_id,
		   const uint8_t *tx, const uint8_t *rx)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_KEY_NEW, sid, &err);

	if (msg && !err)
		err = nla_put_u8(msg, JVPN_A_KEY_SLOT, (uint8_t)slot) ||
		      nla_put_u8(msg, JVPN_A_KEY_ID, key_id) ||
		      nla_put(msg, JVPN_A_KEY_ENCRYPT, JVPN_KEY_LEN, tx) ||
		      nla_put(msg, JVPN_A_KEY_DECRYPT, JVPN_KEY_LEN, rx);
	return send_msg(k, msg, err, NULL, NULL);
}

int kernel_key_swap(struct kernel *k, uint32_t sid)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_KEY_SWAP, sid, &err);

	return send_msg(k, msg, err, NULL, NULL);
}

int kernel_key_del(struct kernel *k, uint32_t sid, int slot)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_KEY_DEL, sid, &err);

	if (msg && !err)
		err = nla_put_u8(msg, JVPN_A_KEY_SLOT, (uint8_t)slot);
	return send_msg(k, msg, err, NULL, NULL);
}

/* ---- paths ------------------------------------------------------------- */

int kernel_path_add(struct kernel *k, uint32_t sid, uint32_t pid,
		    uint32_t sock_id, const struct sockaddr *remote)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_PATH_ADD, sid, &err);

	if (msg && !err)
		err = nla_put_u32(msg, JVPN_A_PATH_ID, pid) ||
		      nla_put_u32(msg, JVPN_A_SOCKET_ID, sock_id) ||
		      jvpn_nl_put_remote(msg, remote);
	return send_msg(k, msg, err, NULL, NULL);
}

int kernel_path_del(struct kernel *k, uint32_t sid, uint32_t pid)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_PATH_DEL, sid, &err);

	if (msg && !err)
		err = nla_put_u32(msg, JVPN_A_PATH_ID, pid);
	return send_msg(k, msg, err, NULL, NULL);
}

static int version_cb(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	if (tb[JVPN_A_STATE_VERSION])
		*(uint64_t *)arg = nla_get_u64(tb[JVPN_A_STATE_VERSION]);
	return 0;
}

int kernel_path_activate(struct kernel *k, uint32_t sid, uint32_t pid,
			 uint64_t expected, uint64_t *version)
{
	int err;
	struct nl_msg *msg = session_msg(k, JVPN_CMD_PATH_ACTIVATE, sid, &err);

	if (msg && !err)
		err = nla_put_u32(msg, JVPN_A_PATH_ID, pid) ||
		      nla_put_u64(msg, JVPN_A_EXPECTED_VERSION, expected);
	*version = expected;
	return send_msg(k, msg, err, version_cb, version);
}
