// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event emission.  Callable from any context (timers, softirq receive).
 */

#include <linux/jiffies.h>
#include <net/genetlink.h>

#include "device.h"
#include "session.h"
#include "path.h"
#include "event.h"
#include "netlink.h"
#include "socket.h"

void jvpn_event_init(struct jvpn_dev *jd)
{
	spin_lock_init(&jd->event_lock);
	spin_lock_init(&jd->event_send_lock);
	jd->event_tokens = jd->event_rate;
	jd->event_refill = jiffies;
}

/* Token bucket: event_rate tokens per second, burst of one second. */
static bool event_allowed(struct jvpn_dev *jd)
{
	unsigned long now = jiffies, flags;
	u32 rate = READ_ONCE(jd->event_rate);
	bool ok = false;
	u64 add;

	spin_lock_irqsave(&jd->event_lock, flags);
	add = (u64)(now - jd->event_refill) * rate / HZ;
	if (add) {
		jd->event_tokens = min_t(u64, rate, jd->event_tokens + add);
		jd->event_refill = now;
	}
	if (jd->event_tokens) {
		jd->event_tokens--;
		ok = true;
	}
	spin_unlock_irqrestore(&jd->event_lock, flags);
	return ok;
}

static int put_sockaddr(struct sk_buff *msg, const union jvpn_sockaddr *sa)
{
	if (sa->sa.sa_family == AF_INET) {
		if (nla_put_in_addr(msg, JVPN_A_PATH_REMOTE_IP,
				    sa->in4.sin_addr.s_addr) ||
		    nla_put_u16(msg, JVPN_A_PATH_REMOTE_PORT,
				ntohs(sa->in4.sin_port)))
			return -EMSGSIZE;
	} else if (sa->sa.sa_family == AF_INET6) {
		if (nla_put_in6_addr(msg, JVPN_A_PATH_REMOTE_IP,
				     &sa->in6.sin6_addr) ||
		    nla_put_u16(msg, JVPN_A_PATH_REMOTE_PORT,
				ntohs(sa->in6.sin6_port)))
			return -EMSGSIZE;
	}
	return 0;
}

struct event_info {
	enum jvpn_event type;
	u32 session_id;
	u32 path_id;
	u32 socket_id;
	int key_id;			/* -1: none */
	const union jvpn_sockaddr *addr;
};

static int event_fill(struct sk_buff *msg, struct jvpn_dev *jd,
		      const struct event_info *ev, u64 seq)
{
	if (nla_put_u32(msg, JVPN_A_IFINDEX, jd->dev->ifindex) ||
	    nla_put_u32(msg, JVPN_A_EVENT_TYPE, ev->type) ||
	    nla_put_u64_64bit(msg, JVPN_A_EVENT_SEQ, seq, JVPN_A_PAD) ||
	    (ev->session_id &&
	     nla_put_u32(msg, JVPN_A_SESSION_ID, ev->session_id)) ||
	    (ev->path_id && nla_put_u32(msg, JVPN_A_PATH_ID, ev->path_id)) ||
	    (ev->socket_id &&
	     nla_put_u32(msg, JVPN_A_SOCKET_ID, ev->socket_id)) ||
	    (ev->key_id >= 0 && nla_put_u8(msg, JVPN_A_KEY_ID, ev->key_id)) ||
	    (ev->addr && put_sockaddr(msg, ev->addr)))
		return -EMSGSIZE;
	return 0;
}

/* The sequence number is taken and the message sent under event_lock, so
 * listeners see numbers in order and a gap always means a lost event.
 */
static bool event_send(struct jvpn_dev *jd, const struct event_info *ev)
{
	struct sk_buff *msg;
	void *hdr;
	u64 seq;

	if (!event_allowed(jd))
		goto drop;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		goto drop;
	hdr = genlmsg_put(msg, 0, 0, &jvpn_genl_family, 0, JVPN_CMD_EVENT);
	if (!hdr)
		goto drop_msg;
	spin_lock_bh(&jd->event_send_lock);
	seq = atomic64_read(&jd->event_seq) + 1;
	if (event_fill(msg, jd, ev, seq)) {
		spin_unlock_bh(&jd->event_send_lock);
		goto drop_msg;
	}
	atomic64_set(&jd->event_seq, seq);
	genlmsg_end(msg, hdr);
	/* -ESRCH (nobody listening) still consumed the sequence number. */
	genlmsg_multicast_netns(&jvpn_genl_family, dev_net(jd->dev), msg, 0,
				JVPN_MCGRP_EVENTS_ID, GFP_ATOMIC);
	spin_unlock_bh(&jd->event_send_lock);
	jvpn_stat_inc(&jd->stats, JVPN_STAT_EVENTS_SENT);
	return true;

drop_msg:
	nlmsg_free(msg);
drop:
	jvpn_stat_inc(&jd->stats, JVPN_STAT_EVENTS_DROPPED);
	return false;
}

bool jvpn_event_session(struct jvpn_session *s, enum jvpn_event type,
			const struct jvpn_path *p)
{
	struct event_info ev = {
		.type = type, .session_id = s->id, .key_id = -1,
		.path_id = p ? p->id : 0, .addr = p ? &p->remote : NULL,
	};

	return event_send(s->jd, &ev);
}

bool jvpn_event_key(struct jvpn_session *s, enum jvpn_event type, u8 key_id)
{
	struct event_info ev = {
		.type = type, .session_id = s->id, .key_id = key_id,
	};

	return event_send(s->jd, &ev);
}

bool jvpn_event_unknown_source(struct jvpn_session *s,
			       const struct jvpn_sock *js,
			       const union jvpn_sockaddr *src)
{
	struct event_info ev = {
		.type = JVPN_EVENT_UNKNOWN_SOURCE, .session_id = s->id,
		.socket_id = js->id, .key_id = -1, .addr = src,
	};

	return event_send(s->jd, &ev);
}
