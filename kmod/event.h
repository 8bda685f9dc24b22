/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Events to the daemon on the privileged multicast group "events".
 * Every emitted event carries the next device-wide sequence number, so a
 * listener detects loss; a token bucket per device bounds the rate and
 * counts what it drops.
 */
#ifndef _JVPN_EVENT_H
#define _JVPN_EVENT_H

#include <uapi/linux/jvpn.h>

struct jvpn_dev;
struct jvpn_session;
struct jvpn_path;
union jvpn_sockaddr;

struct jvpn_sock;

/* Each returns false when the event was dropped (rate limit, memory), so a
 * one-shot condition can be reported again later.
 */
bool jvpn_event_session(struct jvpn_session *s, enum jvpn_event type,
			const struct jvpn_path *p);
bool jvpn_event_key(struct jvpn_session *s, enum jvpn_event type, u8 key_id);
bool jvpn_event_unknown_source(struct jvpn_session *s,
			       const struct jvpn_sock *js,
			       const union jvpn_sockaddr *src);
void jvpn_event_init(struct jvpn_dev *jd);

#endif /* _JVPN_EVENT_H */
