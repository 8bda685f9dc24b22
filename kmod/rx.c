// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive: the UDP encapsulation hook of an attached socket.  DATA packets
 * are consumed here: session by id (O(1)), key by id, authenticate, replay
 * check, inner source check, deliver.  Every other message type returns to
 * the socket for the daemon.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/udp.h>
#include <net/sock.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "socket.h"
#include "event.h"
#include "proto.h"
#include "data.h"

static void outer_source(struct sk_buff *skb, union jvpn_sockaddr *src)
{
	memset(src, 0, sizeof(*src));
	if (ip_hdr(skb)->version == 4) {
		src->in4.sin_family = AF_INET;
		src->in4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		src->in4.sin_port = udp_hdr(skb)->source;
	} else {
		src->in6.sin6_family = AF_INET6;
		src->in6.sin6_addr = ipv6_hdr(skb)->saddr;
		src->in6.sin6_port = udp_hdr(skb)->source;
	}
}

/* Validates the decrypted inner IP header, trims link padding and fills
 * the source address key.  Returns false for anything but IPv4/IPv6.
 */
static bool inner_source(struct sk_buff *skb, struct jvpn_inner_key *k)
{
	unsigned int len;

	memset(k, 0, sizeof(*k));
	if (!pskb_may_pull(skb, 1))
		return false;
	switch (skb->data[0] >> 4) {
	case 4:
		if (!pskb_may_pull(skb, sizeof(struct iphdr)))
			return false;
		len = ntohs(((struct iphdr *)skb->data)->tot_len);
		if (len < sizeof(struct iphdr) || len > skb->len)
			return false;
		skb->protocol = htons(ETH_P_IP);
		k->family = AF_INET;
		k->prefixlen = 32;
		k->v4 = ((struct iphdr *)skb->data)->saddr;
		break;
	case 6:
		if (!pskb_may_pull(skb, sizeof(struct ipv6hdr)))
			return false;
		len = sizeof(struct ipv6hdr) +
		      ntohs(((struct ipv6hdr *)skb->data)->payload_len);
		if (len > skb->len)
			return false;
		skb->protocol = htons(ETH_P_IPV6);
		k->family = AF_INET6;
		k->prefixlen = 128;
		k->v6 = ((struct ipv6hdr *)skb->data)->saddr;
		break;
	default:
		return false;
	}
	return !pskb_trim(skb, len);
}

static void note_path_rx(struct jvpn_session *s, struct jvpn_path *p,
			 unsigned int len)
{
	atomic64_inc(&p->rx_packets);
	atomic64_add(len, &p->rx_bytes);
	WRITE_ONCE(p->last_rx, (u32)jiffies ?: 1);
	if (READ_ONCE(p->tx_since_rx))
		WRITE_ONCE(p->tx_since_rx, 0);
	if (unlikely(READ_ONCE(p->silent_reported))) {
		WRITE_ONCE(p->silent_reported, false);
		jvpn_event_session(s, JVPN_EVENT_PATH_ALIVE, p);
	}
}

/* An authenticated packet from an address that is not one of the
 * session's paths: a reattach candidate (roaming, NAT rebinding).  The
 * kernel never moves the session by itself; it tells the daemon, at most
 * once a second per session.
 */
static void note_unknown_source(struct jvpn_session *s,
				const struct jvpn_sock *js,
				const union jvpn_sockaddr *src)
{
	u32 now = jiffies, last = READ_ONCE(s->unknown_event_at);

	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_UNKNOWN_SOURCE);
	jvpn_stat_inc(&s->jd->stats, JVPN_STAT_RX_UNKNOWN_SOURCE);
	/* 32 bits of jiffies: wrapping costs at most one suppressed event
	 * every 2^32 ticks.
	 */
	if (last && now - last < HZ)
		return;
	WRITE_ONCE(s->unknown_event_at, now ?: 1);
	jvpn_event_unknown_source(s, js, src);
}

/* The peer proves it holds the new key by using it; the daemon then swaps
 * the slots so that TX moves to it.  The kernel never swaps by itself.
 */
static void note_key_rx(struct jvpn_session *s, struct jvpn_key *k,
			bool secondary)
{
	atomic64_inc(&k->rx_packets);
	if (unlikely(secondary && !READ_ONCE(k->rx_reported))) {
		WRITE_ONCE(k->rx_reported, true);
		if (!jvpn_event_key(s, JVPN_EVENT_SECONDARY_KEY_USED, k->key_id))
			WRITE_ONCE(k->rx_reported, false);
	}
}

/* Data is answered (a keepalive never is, or two idle peers would bounce
 * keepalives forever) so the peer's silence detection sees RX: at once if
 * we have sent nothing for keepalive_ms, else by the keepalive timer if
 * nothing else goes back by then.
 */
static void answer_data(struct jvpn_dev *jd, struct jvpn_session *s)
{
	unsigned long ka = msecs_to_jiffies(READ_ONCE(jd->keepalive_ms));

	if (time_after(jiffies, READ_ONCE(s->last_tx) + ka))
		jvpn_send_keepalive(s);
	else if (!timer_pending(&s->keepalive_timer))
		mod_timer(&s->keepalive_timer, jiffies + ka);
}

static void deliver(struct jvpn_dev *jd, struct sk_buff *skb)
{
	unsigned int len = skb->len;

	skb_scrub_packet(skb, true);
	skb->dev = jd->dev;
	skb->pkt_type = PACKET_HOST;
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_probe_transport_header(skb);
	/* Authenticated by the AEAD: no need to verify inner checksums. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	if (gro_cells_receive(&jd->gro_cells, skb) == NET_RX_SUCCESS)
		dev_sw_netstats_rx_add(jd->dev, len);
	else
		DEV_STATS_INC(jd->dev, rx_dropped);
}

static enum jvpn_stat rx_data(struct jvpn_sock *js, struct sk_buff *skb,
			      unsigned int hdr_off)
{
	struct jvpn_dev *jd = js->jd;
	u8 hdr[JVPN_DATA_HDR_LEN];
	struct jvpn_data_info info;
	union jvpn_sockaddr src;
	struct jvpn_inner_key inner;
	struct jvpn_session *s;
	struct jvpn_path *p;
	struct jvpn_key *k;
	bool fresh, secondary;

	if (!pskb_may_pull(skb, hdr_off + JVPN_DATA_HDR_LEN) ||
	    jvpn_data_hdr_parse(skb->data + hdr_off, skb->len - hdr_off, &info))
		return JVPN_STAT_RX_MALFORMED;
	memcpy(hdr, skb->data + hdr_off, JVPN_DATA_HDR_LEN);
	outer_source(skb, &src);

	s = jvpn_session_lookup_rcu(jd, info.session_id);
	if (!s)
		return JVPN_STAT_RX_NO_SESSION;
	k = jvpn_key_by_id_rcu(s, info.key_id, &secondary);
	if (!k)
		goto session_err_no_key;
	skb_pull(skb, hdr_off + JVPN_DATA_HDR_LEN);
	if (!jvpn_decrypt_skb(skb, k, hdr, info.counter))
		goto session_err_auth;

	/* Only authenticated packets may move the window. */
	spin_lock(&s->rx_lock);
	fresh = jvpn_replay_check(&s->replay, info.counter);
	spin_unlock(&s->rx_lock);
	if (!fresh)
		goto session_err_replay;

	WRITE_ONCE(s->last_rx, jiffies);
	note_key_rx(s, k, secondary);
	p = jvpn_path_match_rcu(s, js, &src);
	if (p)
		note_path_rx(s, p, skb->len);
	else
		note_unknown_source(s, js, &src);

	if (!skb->len) {
		jvpn_sstat_inc(&s->stats, JVPN_STAT_KEEPALIVES_RX);
		jvpn_stat_inc(&jd->stats, JVPN_STAT_KEEPALIVES_RX);
		consume_skb(skb);
		return 0;
	}
	if (!inner_source(skb, &inner) || !jvpn_session_allows_src(s, &inner))
		goto session_err_inner;

	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_PACKETS);
	jvpn_sstat_add(&s->stats, JVPN_STAT_RX_BYTES, skb->len);
	answer_data(jd, s);
	deliver(jd, skb);
	return 0;

session_err_no_key:
	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_NO_KEY);
	return JVPN_STAT_RX_NO_KEY;
session_err_auth:
	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_AUTH_FAIL);
	return JVPN_STAT_RX_AUTH_FAIL;
session_err_replay:
	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_REPLAY);
	return JVPN_STAT_RX_REPLAY;
session_err_inner:
	jvpn_sstat_inc(&s->stats, JVPN_STAT_RX_INNER_MISMATCH);
	return JVPN_STAT_RX_INNER_MISMATCH;
}

/* Returns >0 to hand the packet to the socket (non-DATA), 0 if consumed. */
int jvpn_udp_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct jvpn_sock *js = rcu_dereference_sk_user_data(sk);
	unsigned int hdr_off;
	enum jvpn_stat err;

	if (unlikely(!js))
		return 1;
	hdr_off = skb_transport_offset(skb) + sizeof(struct udphdr);
	if (!pskb_may_pull(skb, hdr_off + 1) ||
	    jvpn_msg_type(skb->data + hdr_off, skb->len - hdr_off) !=
	    JVPN_MSG_DATA)
		return 1;

	err = rx_data(js, skb, hdr_off);
	if (err) {
		jvpn_stat_inc(&js->jd->stats, err);
		DEV_STATS_INC(js->jd->dev, rx_dropped);
		kfree_skb(skb);
	}
	return 0;
}
