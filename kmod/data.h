/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-packet path: transmit from the netdev, receive from the UDP
 * encapsulation hook, and the AEAD on socket buffers.
 */
#ifndef _JVPN_DATA_H
#define _JVPN_DATA_H

#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

struct sock;
struct jvpn_session;
struct jvpn_path;
struct jvpn_key;

netdev_tx_t jvpn_xmit(struct sk_buff *skb, struct net_device *dev);
int jvpn_udp_encap_recv(struct sock *sk, struct sk_buff *skb);
void jvpn_send_keepalive(struct jvpn_session *s);

/* crypto.c */
bool jvpn_encrypt_skb(struct sk_buff *skb, const struct jvpn_key *key,
		      u32 peer_id, u64 counter);
bool jvpn_decrypt_skb(struct sk_buff *skb, const struct jvpn_key *key,
		      const u8 *hdr, u64 counter);

/* Headroom for the outer headers plus ours. */
#define JVPN_HEADROOM	(LL_MAX_HEADER + sizeof(struct ipv6hdr) + \
			 sizeof(struct udphdr) + JVPN_DATA_HDR_LEN)
#define JVPN_OVERHEAD_V4	(20 + 8 + JVPN_DATA_HDR_LEN + JVPN_AEAD_TAG_LEN)
#define JVPN_OVERHEAD_V6	(40 + 8 + JVPN_DATA_HDR_LEN + JVPN_AEAD_TAG_LEN)

#endif /* _JVPN_DATA_H */
