// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transmit: inner destination -> session (O(1)), encrypt with the primary
 * key and the session counter, send on the session's active path.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/ip6_route.h>
#include <net/ipv6_stubs.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "socket.h"
#include "event.h"
#include "data.h"

/* Rekey is due long before the counter is exhausted: warn the daemon when
 * a key has carried this many packets, or the counter nears its limit.
 */
#define JVPN_KEY_SOFT_PACKETS	(1ULL << 60)
#define JVPN_COUNTER_SOFT	(JVPN_COUNTER_REJECT - (1ULL << 32))

static bool inner_dst(struct sk_buff *skb, struct jvpn_inner_key *k)
{
	memset(k, 0, sizeof(*k));
	switch (skb->protocol) {
	case htons(ETH_P_IP):
		if (!pskb_network_may_pull(skb, sizeof(struct iphdr)))
			return false;
		k->family = AF_INET;
		k->prefixlen = 32;
		k->v4 = ip_hdr(skb)->daddr;
		return true;
	case htons(ETH_P_IPV6):
		if (!pskb_network_may_pull(skb, sizeof(struct ipv6hdr)))
			return false;
		k->family = AF_INET6;
		k->prefixlen = 128;
		k->v6 = ipv6_hdr(skb)->daddr;
		return true;
	}
	return false;
}

static int path_send4(struct jvpn_dev *jd, struct jvpn_path *p,
		      struct sock *sk, struct sk_buff *skb)
{
	struct flowi4 fl = {
		.saddr = inet_sk(sk)->inet_saddr,
		.daddr = p->remote.in4.sin_addr.s_addr,
		.fl4_dport = p->remote.in4.sin_port,
		.fl4_sport = inet_sk(sk)->inet_sport,
		.flowi4_oif = sk->sk_bound_dev_if,
		.flowi4_proto = IPPROTO_UDP,
	};
	struct rtable *rt;

	rt = (struct rtable *)jvpn_route_get(p, &fl.saddr);
	if (!rt) {
		rt = ip_route_output_flow(sock_net(sk), &fl, sk);
		if (IS_ERR(rt))
			return PTR_ERR(rt);
		if (unlikely(rt->dst.dev == jd->dev)) {
			ip_rt_put(rt);
			return -ELOOP;
		}
		jvpn_route_set(p, &rt->dst, &fl.saddr);
	}
	skb->ignore_df = 1;
	udp_tunnel_xmit_skb(rt, sk, skb, fl.saddr, fl.daddr, 0,
			    ip4_dst_hoplimit(&rt->dst), 0, fl.fl4_sport,
			    fl.fl4_dport, !net_eq(sock_net(sk), dev_net(jd->dev)),
			    false);
	return 0;
}

static int path_send6(struct jvpn_dev *jd, struct jvpn_path *p,
		      struct sock *sk, struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct flowi6 fl = {
		.saddr = sk->sk_v6_rcv_saddr,
		.daddr = p->remote.in6.sin6_addr,
		.fl6_dport = p->remote.in6.sin6_port,
		.fl6_sport = inet_sk(sk)->inet_sport,
		.flowi6_oif = sk->sk_bound_dev_if,
		.flowi6_proto = IPPROTO_UDP,
	};
	struct dst_entry *dst;

	dst = jvpn_route_get(p, &fl.saddr);
	if (!dst) {
		dst = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sk), sk, &fl,
						      NULL);
		if (IS_ERR(dst))
			return PTR_ERR(dst);
		if (unlikely(dst->dev == jd->dev)) {
			dst_release(dst);
			return -ELOOP;
		}
		jvpn_route_set(p, dst, &fl.saddr);
	}
	skb->ignore_df = 1;
	udp_tunnel6_xmit_skb(dst, sk, skb, jd->dev, &fl.saddr, &fl.daddr, 0,
			     ip6_dst_hoplimit(dst), 0, fl.fl6_sport,
			     fl.fl6_dport, false);
	return 0;
#else
	return -EAFNOSUPPORT;
#endif
}

/* Consumes @skb (already encrypted). */
static int path_send(struct jvpn_dev *jd, struct jvpn_path *p,
		     struct sk_buff *skb)
{
	struct sock *sk = p->sock->sock->sk;
	int ret;

	skb_mark_not_on_list(skb);
	skb->dev = jd->dev;
	if (p->remote.sa.sa_family == AF_INET)
		ret = path_send4(jd, p, sk, skb);
	else
		ret = path_send6(jd, p, sk, skb);
	if (unlikely(ret)) {
		net_dbg_ratelimited("%s: no route to %pISpc: %d\n",
				    jd->dev->name, &p->remote.sa, ret);
		kfree_skb(skb);
	}
	return ret;
}

/* A TX that is not answered by an authenticated RX within silent_ms makes
 * the path silent.  Only the start of such an episode arms the timer.
 */
static void path_note_tx_attempt(struct jvpn_session *s, struct jvpn_path *p,
				 unsigned long now)
{
	if (READ_ONCE(p->tx_since_rx))
		return;
	WRITE_ONCE(p->tx_since_rx, (u32)now ?: 1);
	if (!timer_pending(&s->silent_timer))
		mod_timer(&s->silent_timer,
			  now + msecs_to_jiffies(READ_ONCE(s->jd->silent_ms)));
}

/* A keepalive is never answered (that is the rule that keeps two idle
 * peers quiet), so it must not open a silence episode: an idle but working
 * peer would be reported silent.
 */
static void path_note_tx(struct jvpn_session *s, struct jvpn_path *p,
			 bool answerable)
{
	unsigned long now = jiffies;

	WRITE_ONCE(p->last_tx, (u32)now ?: 1);
	WRITE_ONCE(s->last_tx, now);
	if (answerable)
		path_note_tx_attempt(s, p, now);
}

static void key_note_tx(struct jvpn_session *s, struct jvpn_key *k,
			u64 counter)
{
	u64 n = atomic64_inc_return(&k->tx_packets);

	if (likely(n < JVPN_KEY_SOFT_PACKETS && counter < JVPN_COUNTER_SOFT))
		return;
	if (!READ_ONCE(k->limit_reported)) {
		WRITE_ONCE(k->limit_reported, true);
		if (!jvpn_event_key(s, JVPN_EVENT_KEY_LIMIT, k->key_id))
			WRITE_ONCE(k->limit_reported, false);
	}
}

/* Encrypts and sends one packet of @s; consumes @skb.  Caller holds
 * rcu_read_lock_bh().
 */
static void session_send(struct jvpn_session *s, struct sk_buff *skb)
{
	struct jvpn_dev *jd = s->jd;
	unsigned int len = skb->len;
	struct jvpn_keyslots *ks;
	struct jvpn_path *p;
	struct jvpn_key *k;
	enum jvpn_stat err;
	u64 counter;

	p = rcu_dereference_bh(s->active);
	if (unlikely(!p)) {
		err = JVPN_STAT_TX_NO_PATH;
		goto drop;
	}
	ks = rcu_dereference_bh(s->keys);
	k = ks ? ks->slot[JVPN_KEY_SLOT_PRIMARY] : NULL;
	if (unlikely(!k)) {
		err = JVPN_STAT_TX_NO_KEY;
		goto drop;
	}
	counter = atomic64_inc_return(&s->tx_counter) - 1;
	if (unlikely(counter >= JVPN_COUNTER_REJECT)) {
		atomic64_set(&s->tx_counter, JVPN_COUNTER_REJECT);
		err = JVPN_STAT_TX_NO_KEY;
		goto drop;
	}
	if (unlikely(!jvpn_encrypt_skb(skb, k, s->peer_id, counter))) {
		err = JVPN_STAT_TX_ERRORS;
		goto drop;
	}
	key_note_tx(s, k, counter);
	if (unlikely(path_send(jd, p, skb))) {
		jvpn_sstat_inc(&s->stats, JVPN_STAT_TX_ERRORS);
		jvpn_stat_inc(&jd->stats, JVPN_STAT_TX_ERRORS);
		DEV_STATS_INC(jd->dev, tx_errors);
		/* No route (link down): a TX the peer cannot answer, so
		 * the path goes silent instead of failing unnoticed.
		 */
		path_note_tx_attempt(s, p, jiffies);
		return;
	}
	jvpn_sstat_inc(&s->stats, JVPN_STAT_TX_PACKETS);
	jvpn_sstat_add(&s->stats, JVPN_STAT_TX_BYTES, len);
	atomic64_inc(&p->tx_packets);
	atomic64_add(len, &p->tx_bytes);
	if (!len) {
		jvpn_sstat_inc(&s->stats, JVPN_STAT_KEEPALIVES_TX);
		jvpn_stat_inc(&jd->stats, JVPN_STAT_KEEPALIVES_TX);
	}
	dev_sw_netstats_tx_add(jd->dev, 1, len);
	path_note_tx(s, p, len != 0);
	return;

drop:
	jvpn_sstat_inc(&s->stats, err);
	jvpn_stat_inc(&jd->stats, err);
	DEV_STATS_INC(jd->dev, tx_dropped);
	kfree_skb(skb);
}

/* An empty DATA message: proves liveness of the active path to the peer.
 * Sent at most once per keepalive interval, only in answer to traffic.
 */
void jvpn_send_keepalive(struct jvpn_session *s)
{
	struct sk_buff *skb;

	skb = alloc_skb(JVPN_HEADROOM + JVPN_AEAD_TAG_LEN, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, JVPN_HEADROOM);
	session_send(s, skb);
}

static void xmit_no_session(struct jvpn_dev *jd, struct sk_buff *skb)
{
	jvpn_stat_inc(&jd->stats, JVPN_STAT_TX_NO_SESSION);
	DEV_STATS_INC(jd->dev, tx_dropped);
	if (skb->protocol == htons(ETH_P_IP))
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else if (skb->protocol == htons(ETH_P_IPV6))
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH,
				0);
	kfree_skb(skb);
}

netdev_tx_t jvpn_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct jvpn_dev *jd = netdev_priv(dev);
	struct jvpn_inner_key dst;
	struct jvpn_session *s;
	struct sk_buff *segs, *next;

	/* _bh for the path and key pointers, plain RCU for the rhashtable
	 * lookup's lockdep annotation: one grace period covers both.
	 */
	rcu_read_lock_bh();
	rcu_read_lock();
	if (unlikely(!inner_dst(skb, &dst))) {
		DEV_STATS_INC(dev, tx_dropped);
		kfree_skb(skb);
		goto out;
	}
	s = jvpn_session_by_inner_rcu(jd, &dst);
	if (unlikely(!s)) {
		xmit_no_session(jd, skb);
		goto out;
	}
	/* We advertise no segmentation offload, so this is rare; handle it
	 * rather than send a packet larger than the path MTU.
	 */
	if (skb_is_gso(skb)) {
		segs = skb_gso_segment(skb, 0);
		if (IS_ERR_OR_NULL(segs)) {
			DEV_STATS_INC(dev, tx_dropped);
			kfree_skb(skb);
			goto out;
		}
		consume_skb(skb);
		skb_list_walk_safe(segs, skb, next) {
			skb_mark_not_on_list(skb);
			session_send(s, skb);
		}
		goto out;
	}
	session_send(s, skb);
out:
	rcu_read_unlock();
	rcu_read_unlock_bh();
	return NETDEV_TX_OK;
}
