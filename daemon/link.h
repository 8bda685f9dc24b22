/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd link watch: rtnetlink monitoring (libmnl) so that a local link
 * going down is noticed in milliseconds, not after TransportLossTtlMs of
 * silence.
 *
 * A non-blocking NETLINK_ROUTE socket joins the link, address and route
 * groups and sits in jvpnd's epoll loop.  A link losing IFF_UP or
 * IFF_RUNNING (carrier), a deleted link, address or route makes every
 * initiator session whose active path might have used it ask the kernel
 * (RTM_GETROUTE, then RTM_GETLINK of the output interface, on a second
 * small socket) whether the path's remote is still reachable through a
 * link that is up and running.  If not, the session's reattach starts at
 * once (roam_link_down).  A link coming up, an address or a route added
 * make the clients probe their candidates now (roam_link_up).  An
 * overrun (ENOBUFS) counts as "anything may have changed".
 *
 * The watch is an accelerator: the kernel's PATH_SILENT still detects
 * every failure.  If the sockets cannot be opened jvpnd runs without it.
 *
 * linkmsg.c holds the pure part (message parsing, the decisions, request
 * building; no sockets, unit-tested); link.c the sockets and the loop.
 */
#ifndef JVPND_LINK_H
#define JVPND_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "loop.h"

struct jvpnd;
struct mnl_socket;

/* ---- pure part (linkmsg.c) --------------------------------------------- */

enum link_ev_kind {
	LINK_EV_NONE,		/* nothing that changes reachability */
	LINK_EV_LINK_DOWN,	/* not (IFF_UP and IFF_RUNNING) */
	LINK_EV_LINK_GONE,	/* RTM_DELLINK */
	LINK_EV_LINK_UP,	/* IFF_UP and IFF_RUNNING */
	LINK_EV_ADDR_DEL,
	LINK_EV_ADDR_NEW,
	/*
	 * A unicast route removed, or a blocking one (unreachable,
	 * blackhole, prohibit) added; ROUTE_GAIN the other way round.
	 */
	LINK_EV_ROUTE_LOSS,
	LINK_EV_ROUTE_GAIN,
};

/* One rtnetlink notification, reduced to what the watch decides on. */
struct link_event {
	enum link_ev_kind kind;
	uint32_t ifindex;	/* 0: not known (a route without RTA_OIF) */
	uint8_t family;		/* AF_INET(6); AF_UNSPEC for links */
	unsigned int flags;	/* links: ifi_flags */
};

/*
 * Parses RTM_NEWLINK / RTM_DELLINK / RTM_NEWADDR / RTM_DELADDR /
 * RTM_NEWROUTE / RTM_DELROUTE.  0 and ev filled (kind LINK_EV_NONE for a
 * message that cannot matter: another type, a cloned or local-table
 * route, another family); -EINVAL if truncated.
 */
int link_msg_parse(const struct nlmsghdr *nlh, struct link_event *ev);

/* A loss: something a path may have been using went away. */
bool link_event_is_loss(const struct link_event *ev);
/* A gain: a path that was unusable may work again. */
bool link_event_is_gain(const struct link_event *ev);

/*
 * Might the loss ev have taken away the route of a path to a remote of
 * family whose route last went out through oif (0: not known)?  Links
 * matter to every family; addresses and routes to their own.
 */
bool link_event_affects(const struct link_event *ev, int family,
			uint32_t oif);

/* The kernel's answer to RTM_GETROUTE. */
struct link_route {
	int error;		/* negative errno of an NLMSG_ERROR answer */
	uint8_t type;		/* RTN_* */
	uint32_t flags;		/* rtm_flags: RTNH_F_DEAD, _LINKDOWN */
	uint32_t oif;		/* RTA_OIF, 0: none */
};

/* RTM_NEWROUTE or NLMSG_ERROR into r; -EINVAL if neither or truncated. */
int link_route_parse(const struct nlmsghdr *nlh, struct link_route *r);

/*
 * Can a path use route r, whose output interface has oif_flags
 * (ifi_flags)?  self: the jvpn device's ifindex (a route into the tunnel
 * itself is a loop the kernel refuses to send on).
 */
bool link_route_usable(const struct link_route *r, unsigned int oif_flags,
		       uint32_t self);

/*
 * Request builders, into buf (at least LINK_REQ_LEN bytes, aligned for
 * struct nlmsghdr); return the message.  dst: AF_INET or AF_INET6 (a
 * scoped IPv6 address adds its interface); NULL if the family is neither.
 */
#define LINK_REQ_LEN	256
struct nlmsghdr *link_route_request(void *buf, uint32_t seq,
				    const struct sockaddr *dst);
struct nlmsghdr *link_link_request(void *buf, uint32_t seq, uint32_t ifindex);

/*
 * Last known state of a bounded number of interfaces, so that repeated
 * notifications of an unchanged link (wireless events, statistics) are
 * not acted on.  The oldest entry is replaced when full.
 */
#define LINK_STATES	32

struct link_states {
	uint32_t ifindex[LINK_STATES];	/* 0: free */
	bool up[LINK_STATES];
	unsigned int next;		/* replaced next when full */
};

/* Records ifindex up or down; true if that is news (changed or unknown). */
bool link_state_note(struct link_states *c, uint32_t ifindex, bool up);
void link_state_forget(struct link_states *c, uint32_t ifindex);

/* ---- the watch (link.c) ------------------------------------------------ */

#define LINK_DIRTY_MAX	8	/* distinct losses remembered per pass */
#define LINK_RX_BUF	32768	/* one datagram of notifications */

struct link_watch {
	struct mnl_socket *mon;		/* notifications */
	struct mnl_socket *req;		/* route and link lookups */
	struct loop_fd h;
	struct loop_timer pass_timer;
	uint32_t seq;
	struct link_states states;
	bool registered;		/* in the loop */
	/*
	 * The pass: the losses sessions are checked against and whether
	 * clients probe now, both gathered until the pass ends.
	 */
	struct link_event dirty[LINK_DIRTY_MAX];
	unsigned int n_dirty;
	bool dirty_all;			/* overrun, too many: all */
	bool kick;			/* something came up */
	uint32_t cursor;		/* next session slot */
	uint32_t remaining;		/* slots to visit; 0: no pass */
	/* Notifications, and the answers to lookups. */
	_Alignas(struct nlmsghdr) char buf[LINK_RX_BUF];
	_Alignas(struct nlmsghdr) char rbuf[LINK_RX_BUF];
};

/* Opens and registers the sockets; on failure jvpnd runs without. */
int link_open(struct jvpnd *d);
void link_close(struct jvpnd *d);

#endif /* JVPND_LINK_H */
