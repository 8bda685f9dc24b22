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

void jvpn_event_init(struct jvpn_dev *jd)
{
	spin_lock_init(&jd->event_lock);
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

static void event_send(struct jvpn_dev *jd, enum jvpn_event type, u32 sid,
		       u32 path_id, const union jvpn_sockaddr *addr)
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
	seq = atomic64_inc_return(&jd->event_seq);
	if (nla_put_u32(msg, JVPN_A_IFINDEX, jd->dev->ifindex) ||
	    nla_put_u32(msg, JVPN_A_EVENT_TYPE, type) ||
	    nla_put_u64_64bit(msg, JVPN_A_EVENT_SEQ, seq, JVPN_A_PAD) ||
	    (sid && nla_put_u32(msg, JVPN_A_SESSION_ID, sid)) ||
	    (path_id && nla_put_u32(msg, JVPN_A_PATH_ID, path_id)) ||
	    (addr && put_sockaddr(msg, addr)))
		goto drop_msg;
	genlmsg_end(msg, hdr);
	/* -ESRCH (nobody listening) still consumed the sequence number. */
	genlmsg_multicast_netns(&jvpn_genl_family, dev_net(jd->dev), msg, 0,
				JVPN_MCGRP_EVENTS_ID, GFP_ATOMIC);
	jvpn_stat_inc(&jd->stats, JVPN_STAT_EVENTS_SENT);
	return;

drop_msg:
	nlmsg_free(msg);
drop:
	jvpn_stat_inc(&jd->stats, JVPN_STAT_EVENTS_DROPPED);
}

void jvpn_event_session(struct jvpn_session *s, enum jvpn_event type,
			const struct jvpn_path *p)
{
	event_send(s->jd, type, s->id, p ? p->id : 0, p ? &p->remote : NULL);
}

void jvpn_event_unknown_source(struct jvpn_session *s,
			       const union jvpn_sockaddr *src)
{
	event_send(s->jd, JVPN_EVENT_UNKNOWN_SOURCE, s->id, 0, src);
}
