// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd link watch, the pure part: rtnetlink notifications parsed into
 * events, which paths a loss concerns, route answers, requests, and the
 * per-interface state cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "link.h"
#include "tap.h"

static union {
	char b[1024];
	struct nlmsghdr align;
} m;

static struct nlmsghdr *msg_link(uint16_t type, int index, unsigned int flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m.b);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "u1");
	return nlh;
}

static struct nlmsghdr *msg_addr(uint16_t type, uint8_t family,
				 uint32_t index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m.b);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_index = index;
	return nlh;
}

static struct nlmsghdr *msg_route(uint16_t type, uint8_t family,
				  uint8_t rtype, uint32_t oif)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m.b);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_type = rtype;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	return nlh;
}

static struct nlmsghdr *msg_error(int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m.b);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = err;
	return nlh;
}

/* The kind of event nlh is, -1 if refused. */
static int kind_of(const struct nlmsghdr *nlh)
{
	struct link_event ev;

	return link_msg_parse(nlh, &ev) ? -1 : (int)ev.kind;
}

static void test_links(void)
{
	struct link_event ev;
	struct nlmsghdr *nlh;

	tap_ok(!link_msg_parse(msg_link(RTM_NEWLINK, 3, IFF_UP | IFF_RUNNING),
			       &ev) && ev.kind == LINK_EV_LINK_UP &&
	       ev.ifindex == 3 && ev.family == AF_UNSPEC &&
	       ev.flags == (IFF_UP | IFF_RUNNING), "link up and running: up");
	TAP_EQ_INT(kind_of(msg_link(RTM_NEWLINK, 3, IFF_UP)), LINK_EV_LINK_DOWN,
		   "link up without carrier (no IFF_RUNNING): down");
	TAP_EQ_INT(kind_of(msg_link(RTM_NEWLINK, 3, IFF_RUNNING)),
		   LINK_EV_LINK_DOWN, "link set down: down");
	TAP_EQ_INT(kind_of(msg_link(RTM_DELLINK, 3, IFF_UP | IFF_RUNNING)),
		   LINK_EV_LINK_GONE, "RTM_DELLINK: gone");
	TAP_EQ_INT(kind_of(msg_link(RTM_NEWLINK, 0, IFF_UP)), -1,
		   "link without an index refused");
	nlh = msg_link(RTM_NEWLINK, 3, IFF_UP);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg) - 4);
	TAP_EQ_INT(link_msg_parse(nlh, &ev), -EINVAL, "truncated link refused");
	TAP_EQ_INT(ev.kind, LINK_EV_NONE, "refused: event cleared");
}

static void test_addrs_routes(void)
{
	struct link_event ev;
	struct nlmsghdr *nlh;

	tap_ok(!link_msg_parse(msg_addr(RTM_DELADDR, AF_INET, 4), &ev) &&
	       ev.kind == LINK_EV_ADDR_DEL && ev.ifindex == 4 &&
	       ev.family == AF_INET, "RTM_DELADDR inet: address loss");
	TAP_EQ_INT(kind_of(msg_addr(RTM_NEWADDR, AF_INET6, 4)),
		   LINK_EV_ADDR_NEW, "RTM_NEWADDR inet6: address gain");
	TAP_EQ_INT(kind_of(msg_addr(RTM_NEWADDR, AF_PACKET, 4)), LINK_EV_NONE,
		   "address of another family ignored");
	tap_ok(!link_msg_parse(msg_route(RTM_DELROUTE, AF_INET, RTN_UNICAST,
					 7), &ev) &&
	       ev.kind == LINK_EV_ROUTE_LOSS && ev.ifindex == 7 &&
	       ev.family == AF_INET, "unicast route deleted: loss via oif");
	TAP_EQ_INT(kind_of(msg_route(RTM_NEWROUTE, AF_INET6, RTN_UNICAST, 7)),
		   LINK_EV_ROUTE_GAIN, "unicast route added: gain");
	tap_ok(!link_msg_parse(msg_route(RTM_NEWROUTE, AF_INET, RTN_BLACKHOLE,
					 0), &ev) &&
	       ev.kind == LINK_EV_ROUTE_LOSS && ev.ifindex == 0,
	       "blackhole route added: loss, any interface");
	TAP_EQ_INT(kind_of(msg_route(RTM_DELROUTE, AF_INET, RTN_UNREACHABLE,
				     0)),
		   LINK_EV_ROUTE_GAIN, "unreachable route deleted: gain");
	TAP_EQ_INT(kind_of(msg_route(RTM_DELROUTE, AF_INET, RTN_BROADCAST, 7)),
		   LINK_EV_NONE, "broadcast route ignored");
	nlh = msg_route(RTM_DELROUTE, AF_INET6, RTN_UNICAST, 7);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_flags = RTM_F_CLONED;
	TAP_EQ_INT(kind_of(nlh), LINK_EV_NONE, "cloned route (PMTU) ignored");
	nlh = msg_route(RTM_DELROUTE, AF_INET, RTN_UNICAST, 7);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_table =
		RT_TABLE_LOCAL;
	TAP_EQ_INT(kind_of(nlh), LINK_EV_NONE, "local-table route ignored");
	nlh = msg_route(RTM_DELROUTE, AF_INET, RTN_UNICAST, 7);
	nlh->nlmsg_type = RTM_NEWNEIGH;
	TAP_EQ_INT(kind_of(nlh), LINK_EV_NONE, "other message type ignored");
	nlh = msg_route(RTM_DELROUTE, AF_INET, RTN_UNICAST, 0);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg) - 1);
	TAP_EQ_INT(kind_of(nlh), -1, "truncated route refused");
}

static void test_affects(void)
{
	struct link_event down = { .kind = LINK_EV_LINK_DOWN, .ifindex = 3 };
	struct link_event gone = { .kind = LINK_EV_LINK_GONE, .ifindex = 3 };
	struct link_event up = { .kind = LINK_EV_LINK_UP, .ifindex = 3 };
	struct link_event adel = { .kind = LINK_EV_ADDR_DEL, .ifindex = 3,
				   .family = AF_INET };
	struct link_event rloss = { .kind = LINK_EV_ROUTE_LOSS,
				    .family = AF_INET6 };
	struct link_event none = { .kind = LINK_EV_NONE };

	tap_ok(link_event_is_loss(&down) && link_event_is_loss(&gone) &&
	       link_event_is_loss(&adel) && link_event_is_loss(&rloss) &&
	       !link_event_is_loss(&up) && !link_event_is_loss(&none),
	       "losses");
	tap_ok(link_event_is_gain(&up) && !link_event_is_gain(&down) &&
	       !link_event_is_gain(&none), "gains");
	tap_ok(link_event_affects(&down, AF_INET, 3) &&
	       link_event_affects(&down, AF_INET6, 3),
	       "link down: a path out of it, either family");
	tap_ok(!link_event_affects(&down, AF_INET, 4),
	       "link down: not a path out of another link");
	tap_ok(link_event_affects(&down, AF_INET, 0) &&
	       link_event_affects(&gone, AF_INET6, 0),
	       "link down: a path whose link is not known");
	tap_ok(link_event_affects(&adel, AF_INET, 3) &&
	       !link_event_affects(&adel, AF_INET6, 3) &&
	       !link_event_affects(&adel, AF_INET, 5),
	       "address loss: its family and link only");
	tap_ok(link_event_affects(&rloss, AF_INET6, 9) &&
	       !link_event_affects(&rloss, AF_INET, 9),
	       "route loss without an interface: every path of its family");
	tap_ok(!link_event_affects(&up, AF_INET, 3) &&
	       !link_event_affects(&none, AF_INET, 0),
	       "gains and nothing affect no path");
}

static void test_route_answers(void)
{
	struct link_route r;
	struct nlmsghdr *nlh;
	const unsigned int ok = IFF_UP | IFF_RUNNING;

	tap_ok(!link_route_parse(msg_error(-ENETUNREACH), &r) &&
	       r.error == -ENETUNREACH, "no route: the kernel's error");
	tap_ok(!link_route_usable(&r, ok, 1), "no route: not usable");
	TAP_EQ_INT(link_route_parse(msg_error(0), &r), -EINVAL,
		   "an ACK is not an answer");
	tap_ok(!link_route_parse(msg_route(RTM_NEWROUTE, AF_INET, RTN_UNICAST,
					   2), &r) &&
	       r.type == RTN_UNICAST && r.oif == 2 && !r.error,
	       "route: type and output interface");
	tap_ok(link_route_usable(&r, ok, 9),
	       "route via a running link: usable");
	tap_ok(!link_route_usable(&r, IFF_UP, 9),
	       "route via a link without carrier: not usable");
	tap_ok(!link_route_usable(&r, 0, 9),
	       "route via a link that is down or gone: not usable");
	tap_ok(!link_route_usable(&r, ok, 2),
	       "route into the jvpn device itself: not usable");
	r.flags = RTNH_F_LINKDOWN;
	tap_ok(!link_route_usable(&r, ok, 9), "RTNH_F_LINKDOWN: not usable");
	r.flags = RTNH_F_DEAD;
	tap_ok(!link_route_usable(&r, ok, 9), "RTNH_F_DEAD: not usable");
	r.flags = 0;
	r.oif = 0;
	tap_ok(!link_route_usable(&r, ok, 9), "no interface: not usable");
	link_route_parse(msg_route(RTM_NEWROUTE, AF_INET, RTN_BLACKHOLE, 1),
			 &r);
	tap_ok(!link_route_usable(&r, ok, 9), "blackhole: not usable");
	link_route_parse(msg_route(RTM_NEWROUTE, AF_INET, RTN_LOCAL, 1), &r);
	tap_ok(link_route_usable(&r, ok, 9), "local address: usable");
	nlh = msg_route(RTM_NEWROUTE, AF_INET, RTN_UNICAST, 2);
	nlh->nlmsg_type = RTM_NEWLINK;
	TAP_EQ_INT(link_route_parse(nlh, &r), -EINVAL,
		   "not a route answer refused");
}

static const struct nlattr *find_attr(const struct nlmsghdr *nlh,
				      size_t hdr, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, hdr)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

static void test_requests(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	union {
		char b[LINK_REQ_LEN];
		struct nlmsghdr align;
	} buf;
	const struct nlattr *a;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct ifinfomsg *ifi;

	inet_pton(AF_INET, "192.168.70.1", &sin.sin_addr);
	nlh = link_route_request(buf.b, 42, (struct sockaddr *)&sin);
	rtm = mnl_nlmsg_get_payload(nlh);
	a = find_attr(nlh, sizeof(*rtm), RTA_DST);
	tap_ok(nlh->nlmsg_type == RTM_GETROUTE &&
	       nlh->nlmsg_flags == NLM_F_REQUEST && nlh->nlmsg_seq == 42 &&
	       rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 32 && a &&
	       mnl_attr_get_payload_len(a) == 4 &&
	       !memcmp(mnl_attr_get_payload(a), &sin.sin_addr, 4) &&
	       !find_attr(nlh, sizeof(*rtm), RTA_OIF),
	       "RTM_GETROUTE for an IPv4 remote");
	TAP_EQ_INT(nlh->nlmsg_len <= LINK_REQ_LEN, 1, "request fits");
	inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
	sin6.sin6_scope_id = 5;
	nlh = link_route_request(buf.b, 43, (struct sockaddr *)&sin6);
	rtm = mnl_nlmsg_get_payload(nlh);
	a = find_attr(nlh, sizeof(*rtm), RTA_OIF);
	tap_ok(rtm->rtm_family == AF_INET6 && rtm->rtm_dst_len == 128 && a &&
	       mnl_attr_get_u32(a) == 5,
	       "scoped IPv6 remote: looked up on its own link");
	tap_ok(!link_route_request(buf.b, 44, &sa), "other family: no request");
	nlh = link_link_request(buf.b, 45, 7);
	ifi = mnl_nlmsg_get_payload(nlh);
	tap_ok(nlh->nlmsg_type == RTM_GETLINK && nlh->nlmsg_seq == 45 &&
	       ifi->ifi_index == 7 && nlh->nlmsg_flags == NLM_F_REQUEST,
	       "RTM_GETLINK by index");
}

static void test_states(void)
{
	struct link_states c;
	unsigned int i, news = 0;

	memset(&c, 0, sizeof(c));
	tap_ok(link_state_note(&c, 3, true), "unknown link: news");
	tap_ok(!link_state_note(&c, 3, true), "same state again: not news");
	tap_ok(link_state_note(&c, 3, false), "changed: news");
	tap_ok(!link_state_note(&c, 3, false), "down again: not news");
	link_state_forget(&c, 3);
	tap_ok(link_state_note(&c, 3, false), "forgotten (deleted): news");
	tap_ok(link_state_note(&c, 0, true) && link_state_note(&c, 0, true),
	       "no index: always news");
	for (i = 100; i < 100 + 2 * LINK_STATES; i++)
		news += link_state_note(&c, i, true);
	TAP_EQ_INT(news, 2 * LINK_STATES, "more links than entries: bounded");
	tap_ok(!link_state_note(&c, 100 + 2 * LINK_STATES - 1, true),
	       "the newest entries are kept");
}

int main(void)
{
	test_links();
	test_addrs_routes();
	test_affects();
	test_route_answers();
	test_requests();
	test_states();
	return tap_done();
}
