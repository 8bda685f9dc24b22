// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd link watch, the pure part: rtnetlink messages in and out, and
 * the decisions taken on them.  No sockets.  See link.h.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "link.h"

/* ---- notifications ----------------------------------------------------- */

static int parse_link(const struct nlmsghdr *nlh, struct link_event *ev)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const unsigned int up = IFF_UP | IFF_RUNNING;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi) ||
	    ifi->ifi_index <= 0)
		return -EINVAL;
	ev->ifindex = (uint32_t)ifi->ifi_index;
	ev->flags = ifi->ifi_flags;
	if (nlh->nlmsg_type == RTM_DELLINK)
		ev->kind = LINK_EV_LINK_GONE;
	else
		ev->kind = (ifi->ifi_flags & up) == up ? LINK_EV_LINK_UP
						       : LINK_EV_LINK_DOWN;
	return 0;
}

static bool family_ok(unsigned int family)
{
	return family == AF_INET || family == AF_INET6;
}

static int parse_addr(const struct nlmsghdr *nlh, struct link_event *ev)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EINVAL;
	if (!family_ok(ifa->ifa_family))
		return 0;
	ev->ifindex = ifa->ifa_index;
	ev->family = ifa->ifa_family;
	ev->kind = nlh->nlmsg_type == RTM_DELADDR ? LINK_EV_ADDR_DEL
						   : LINK_EV_ADDR_NEW;
	return 0;
}

static int oif_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_OIF &&
	    !mnl_attr_validate(a, MNL_TYPE_U32))
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* RTA_OIF of a route message, 0 if it has none (multipath, blocking). */
static int route_oif(const struct nlmsghdr *nlh, uint32_t *oif)
{
	*oif = 0;
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), oif_cb, oif) < 0 ?
	       -EINVAL : 0;
}

static bool route_blocks(unsigned int type)
{
	return type == RTN_UNREACHABLE || type == RTN_BLACKHOLE ||
	       type == RTN_PROHIBIT;
}

static int parse_route(const struct nlmsghdr *nlh, struct link_event *ev)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	bool del = nlh->nlmsg_type == RTM_DELROUTE;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EINVAL;
	/* Cached exceptions (PMTU) and local addresses say nothing new. */
	if (!family_ok(rtm->rtm_family) || (rtm->rtm_flags & RTM_F_CLONED) ||
	    rtm->rtm_table == RT_TABLE_LOCAL)
		return 0;
	if (rtm->rtm_type == RTN_UNICAST)
		ev->kind = del ? LINK_EV_ROUTE_LOSS : LINK_EV_ROUTE_GAIN;
	else if (route_blocks(rtm->rtm_type))
		ev->kind = del ? LINK_EV_ROUTE_GAIN : LINK_EV_ROUTE_LOSS;
	else
		return 0;
	ev->family = rtm->rtm_family;
	return route_oif(nlh, &ev->ifindex);
}

int link_msg_parse(const struct nlmsghdr *nlh, struct link_event *ev)
{
	int ret = 0;

	memset(ev, 0, sizeof(*ev));
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ret = parse_link(nlh, ev);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		ret = parse_addr(nlh, ev);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		ret = parse_route(nlh, ev);
		break;
	default:
		break;
	}
	if (ret)
		memset(ev, 0, sizeof(*ev));
	return ret;
}

bool link_event_is_loss(const struct link_event *ev)
{
	return ev->kind == LINK_EV_LINK_DOWN || ev->kind == LINK_EV_LINK_GONE ||
	       ev->kind == LINK_EV_ADDR_DEL || ev->kind == LINK_EV_ROUTE_LOSS;
}

bool link_event_is_gain(const struct link_event *ev)
{
	return ev->kind == LINK_EV_LINK_UP || ev->kind == LINK_EV_ADDR_NEW ||
	       ev->kind == LINK_EV_ROUTE_GAIN;
}

bool link_event_affects(const struct link_event *ev, int family,
			uint32_t oif)
{
	if (!link_event_is_loss(ev))
		return false;
	if (ev->family != AF_UNSPEC && ev->family != family)
		return false;
	/* Unknown on either side: only a lookup can tell. */
	return !oif || !ev->ifindex || ev->ifindex == oif;
}

/* ---- lookups ----------------------------------------------------------- */

int link_route_parse(const struct nlmsghdr *nlh, struct link_route *r)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	memset(r, 0, sizeof(*r));
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		/* An ACK (error 0) is not an answer: nothing asked for one. */
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || !e->error)
			return -EINVAL;
		r->error = e->error;
		return 0;
	}
	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EINVAL;
	r->type = rtm->rtm_type;
	r->flags = rtm->rtm_flags;
	return route_oif(nlh, &r->oif);
}

bool link_route_usable(const struct link_route *r, unsigned int oif_flags,
		       uint32_t self)
{
	const unsigned int up = IFF_UP | IFF_RUNNING;

	if (r->error || (r->type != RTN_UNICAST && r->type != RTN_LOCAL))
		return false;
	if (r->flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN))
		return false;
	if (!r->oif || r->oif == self)
		return false;
	return (oif_flags & up) == up;
}

struct nlmsghdr *link_route_request(void *buf, uint32_t seq,
				    const struct sockaddr *dst)
{
	const struct sockaddr_in *sin = (const void *)dst;
	const struct sockaddr_in6 *sin6 = (const void *)dst;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (dst->sa_family != AF_INET && dst->sa_family != AF_INET6)
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->sa_family;
	if (dst->sa_family == AF_INET) {
		rtm->rtm_dst_len = 32;
		mnl_attr_put(nlh, RTA_DST, 4, &sin->sin_addr);
		return nlh;
	}
	rtm->rtm_dst_len = 128;
	mnl_attr_put(nlh, RTA_DST, 16, &sin6->sin6_addr);
	/* A link-local remote is reachable only through its own link. */
	if (sin6->sin6_scope_id)
		mnl_attr_put_u32(nlh, RTA_OIF, sin6->sin6_scope_id);
	return nlh;
}

struct nlmsghdr *link_link_request(void *buf, uint32_t seq, uint32_t ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

/* ---- interface states -------------------------------------------------- */

static int state_find(const struct link_states *c, uint32_t ifindex)
{
	unsigned int i;

	for (i = 0; i < LINK_STATES; i++)
		if (c->ifindex[i] == ifindex)
			return (int)i;
	return -1;
}

bool link_state_note(struct link_states *c, uint32_t ifindex, bool up)
{
	int i;
	bool news;

	if (!ifindex)
		return true;
	i = state_find(c, ifindex);
	if (i >= 0) {
		news = c->up[i] != up;
		c->up[i] = up;
		return news;
	}
	i = state_find(c, 0);
	if (i < 0) {
		i = (int)c->next;
		c->next = (c->next + 1) % LINK_STATES;
	}
	c->ifindex[i] = ifindex;
	c->up[i] = up;
	return true;
}

void link_state_forget(struct link_states *c, uint32_t ifindex)
{
	int i = ifindex ? state_find(c, ifindex) : -1;

	if (i >= 0)
		c->ifindex[i] = 0;
}
