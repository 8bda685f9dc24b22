// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd link watch: the rtnetlink sockets and the passes over the
 * sessions.  See link.h.
 *
 * A batch of notifications (one wakeup) is reduced to "these losses" and
 * "something came up"; then one pass visits the initiator sessions,
 * looking up only those a loss may concern.  The pass is bounded per
 * step (slots scanned, lookups made) and continues from a timer, so a
 * storm of notifications or a large session table never holds the loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "jvpnd.h"

#define LINK_GROUPS		(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | \
				 RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | \
				 RTMGRP_IPV6_ROUTE)
/* Datagrams read per wakeup before other work runs. */
#define LINK_RX_ROUNDS		8
/* Per pass step: session slots visited, route lookups made. */
#define LINK_PASS_SLOTS		4096
#define LINK_PASS_LOOKUPS	32
/* A lookup: reads of the answer, and the wait before each retry. */
#define LINK_LOOKUP_READS	4
#define LINK_LOOKUP_WAIT_MS	10

/* ---- lookups ----------------------------------------------------------- */

static const struct nlmsghdr *answer_in(const void *buf, size_t n,
					uint32_t seq)
{
	const struct nlmsghdr *nlh = buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_seq == seq)
			return nlh;
	return NULL;
}

/*
 * Sends req and waits, bounded, for the answer with its sequence number
 * (read into w->rbuf).  Answers to earlier requests that timed out are
 * skipped.  The kernel answers route and link requests while we send,
 * so the wait is a safety net, not the normal case.
 */
static int request(struct link_watch *w, const struct nlmsghdr *req,
		   const struct nlmsghdr **ans)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(w->req),
			      .events = POLLIN };
	unsigned int i;
	ssize_t n;

	if (mnl_socket_sendto(w->req, req, req->nlmsg_len) < 0)
		return -errno;
	for (i = 0; i < LINK_LOOKUP_READS; i++) {
		n = mnl_socket_recvfrom(w->req, w->rbuf, sizeof(w->rbuf));
		if (n < 0 && errno == EAGAIN) {
			poll(&pfd, 1, LINK_LOOKUP_WAIT_MS);
			continue;
		}
		if (n < 0)
			return -errno;
		*ans = answer_in(w->rbuf, (size_t)n, req->nlmsg_seq);
		if (*ans)
			return 0;
	}
	return -ETIMEDOUT;
}

/* Flags of interface ifindex (0 if it is gone). */
static int link_flags(struct link_watch *w, uint32_t ifindex,
		      unsigned int *flags)
{
	_Alignas(struct nlmsghdr) char buf[LINK_REQ_LEN];
	const struct nlmsghdr *ans;
	struct link_event ev;
	int ret;

	ret = request(w, link_link_request(buf, ++w->seq, ifindex), &ans);
	if (ret)
		return ret;
	*flags = 0;
	if (ans->nlmsg_type == NLMSG_ERROR)
		return 0;
	ret = link_msg_parse(ans, &ev);
	*flags = ev.flags;
	return ret;
}

struct verdict {
	bool usable;
	uint32_t oif;
	const char *cause;	/* why not usable */
};

/* Does the kernel still route remote through a link that is up? */
static int route_check(struct jvpnd *d, const struct sockaddr *remote,
		       struct verdict *v)
{
	struct link_watch *w = &d->link;
	_Alignas(struct nlmsghdr) char buf[LINK_REQ_LEN];
	const struct nlmsghdr *req, *ans;
	struct link_route r;
	unsigned int flags = 0;
	int ret;

	req = link_route_request(buf, ++w->seq, remote);
	if (!req)
		return -EAFNOSUPPORT;
	d->stats.link_lookups++;
	ret = request(w, req, &ans);
	if (!ret)
		ret = link_route_parse(ans, &r);
	if (!ret && !r.error && r.oif)
		ret = link_flags(w, r.oif, &flags);
	if (ret)
		return ret;
	v->usable = link_route_usable(&r, flags, d->k.ifindex);
	v->oif = r.oif;
	v->cause = r.error || !r.oif ? "no_route" : "link_down";
	return 0;
}

/* ---- the pass ---------------------------------------------------------- */

static bool session_concerned(const struct link_watch *w,
			      const struct session *s,
			      const struct session_path *ap)
{
	/* The oif learnt by the last lookup, if it was for this path. */
	uint32_t oif = s->link_path == ap->id ? s->link_oif : 0;
	unsigned int i;

	if (w->dirty_all)
		return true;
	for (i = 0; i < w->n_dirty; i++)
		if (link_event_affects(&w->dirty[i], ap->remote.ss_family, oif))
			return true;
	return false;
}

/* Looks the active path up; starts the reattach if it has no route. */
static void check_session(struct jvpnd *d, struct session *s,
			  const struct session_path *ap)
{
	struct verdict v;

	if (route_check(d, (const struct sockaddr *)&ap->remote, &v)) {
		/* Unknown is not dead: the kernel's silence still counts. */
		d->stats.link_lookup_errors++;
		return;
	}
	s->link_path = ap->id;
	s->link_oif = v.usable ? v.oif : 0;
	if (v.usable)
		return;
	if (roam_link_down(d, s, (struct audit_kv[]){
			{ .key = "what", .type = AUDIT_KV_STR,
			  .s = AUDIT_WHAT_LINK_DOWN },
			{ .key = "cause", .type = AUDIT_KV_STR, .s = v.cause },
			{ .key = "path_id", .type = AUDIT_KV_U64, .u = ap->id },
			{ .key = "ifindex", .type = AUDIT_KV_U64, .u = v.oif },
		   }, 4))
		d->stats.link_reattaches++;
}

static void pass_end(struct link_watch *w)
{
	w->remaining = 0;
	w->kick = false;
	w->dirty_all = false;
	w->n_dirty = 0;
}

/*
 * One bounded step of the pass; re-arms itself until the pass is done.
 * The pass goes round the table from wherever the cursor is, so news
 * arriving during a pass never starves the slots behind the cursor.
 */
static void pass_step(struct jvpnd *d)
{
	struct link_watch *w = &d->link;
	const struct session_path *ap;
	unsigned int slots = 0, lookups = 0;
	struct session *s;

	while (w->remaining && slots < LINK_PASS_SLOTS &&
	       lookups < LINK_PASS_LOOKUPS) {
		slots++;
		w->remaining--;
		if (w->cursor >= d->st.capacity)
			w->cursor = 0;
		s = session_at(&d->st, w->cursor++);
		if (!s || !s->rc || !s->in_kernel)
			continue;
		if (w->kick) {
			roam_link_up(d, s);
			d->stats.link_probe_kicks++;
		}
		ap = session_active_path(s);
		if (ap && session_concerned(w, s, ap)) {
			lookups++;
			check_session(d, s, ap);	/* may free s */
		}
	}
	if (!w->remaining) {
		pass_end(w);
		return;
	}
	if (loop_timer_arm(d->loop, &w->pass_timer, loop_now_ms()))
		d->stats.timers_refused++;
}

static void pass_timer_fn(struct loop_timer *t, void *arg)
{
	(void)t;
	pass_step(arg);
}

static bool same_loss(const struct link_event *a, const struct link_event *b)
{
	return a->kind == b->kind && a->ifindex == b->ifindex &&
	       a->family == b->family;
}

/* Notes a loss for the pass; too many distinct ones: check everyone. */
static void note_loss(struct link_watch *w, const struct link_event *ev)
{
	unsigned int i;

	for (i = 0; i < w->n_dirty; i++)
		if (same_loss(&w->dirty[i], ev))
			return;
	if (w->n_dirty == LINK_DIRTY_MAX)
		w->dirty_all = true;
	else
		w->dirty[w->n_dirty++] = *ev;
}

/* ---- notifications ----------------------------------------------------- */

/* Is ev news?  A link that keeps its state is not (wireless chatter). */
static bool is_news(struct link_watch *w, const struct link_event *ev)
{
	switch (ev->kind) {
	case LINK_EV_LINK_UP:
		return link_state_note(&w->states, ev->ifindex, true);
	case LINK_EV_LINK_DOWN:
		return link_state_note(&w->states, ev->ifindex, false);
	case LINK_EV_LINK_GONE:
		link_state_forget(&w->states, ev->ifindex);
		return true;
	case LINK_EV_NONE:
		return false;
	default:
		return true;
	}
}

/* Every message of one datagram; true if anything matters. */
static bool on_datagram(struct jvpnd *d, size_t n)
{
	struct link_watch *w = &d->link;
	const struct nlmsghdr *nlh = (const void *)w->buf;
	struct link_event ev;
	bool any = false;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (link_msg_parse(nlh, &ev) || !is_news(w, &ev))
			continue;
		d->stats.link_events++;
		any = true;
		if (link_event_is_gain(&ev))
			w->kick = true;
		else
			note_loss(w, &ev);
	}
	return any;
}

/* Notifications were lost: anything may have changed. */
static void overrun(struct jvpnd *d)
{
	d->stats.link_overruns++;
	d->link.dirty_all = true;
	d->link.kick = true;
	/* Cached states may be stale now. */
	memset(&d->link.states, 0, sizeof(d->link.states));
}

static void link_readable(uint32_t events, void *arg)
{
	struct jvpnd *d = arg;
	struct link_watch *w = &d->link;
	bool changed = false;
	unsigned int i;
	ssize_t n;
	int err;

	(void)events;
	for (i = 0; i < LINK_RX_ROUNDS; i++) {
		n = mnl_socket_recvfrom(w->mon, w->buf, sizeof(w->buf));
		err = n < 0 ? errno : 0;
		if (err == EAGAIN)
			break;
		if (err) {
			/*
			 * ENOBUFS: the socket overflowed; ENOSPC: a datagram
			 * was cut short.  Anything else: assume the worst.
			 */
			overrun(d);
			changed = true;
			if (err != ENOBUFS && err != ENOSPC)
				break;
			continue;
		}
		changed |= on_datagram(d, (size_t)n);
	}
	if (!changed)
		return;
	/* Every session is visited after the latest news. */
	w->remaining = d->st.capacity;
	pass_step(d);
}

/* ---- open / close ------------------------------------------------------ */

static int open_rt(struct mnl_socket **nl, unsigned int groups)
{
	int ret;

	*nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!*nl)
		return -errno;
	if (mnl_socket_bind(*nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(*nl);
		*nl = NULL;
		return ret;
	}
	return 0;
}

int link_open(struct jvpnd *d)
{
	struct link_watch *w = &d->link;
	int ret;

	ret = open_rt(&w->mon, LINK_GROUPS);
	if (!ret)
		ret = open_rt(&w->req, 0);
	if (ret) {
		link_close(d);
		return ret;
	}
	w->seq = (uint32_t)time(NULL);
	loop_timer_setup(&w->pass_timer, pass_timer_fn, d);
	w->h.fd = mnl_socket_get_fd(w->mon);
	w->h.fn = link_readable;
	w->h.arg = d;
	ret = loop_add_fd(d->loop, &w->h, EPOLLIN);
	if (ret) {
		link_close(d);
		return ret;
	}
	w->registered = true;
	return 0;
}

void link_close(struct jvpnd *d)
{
	struct link_watch *w = &d->link;

	if (w->registered) {
		loop_del_fd(d->loop, &w->h);
		loop_timer_cancel(d->loop, &w->pass_timer);
		w->registered = false;
	}
	if (w->mon)
		mnl_socket_close(w->mon);
	if (w->req)
		mnl_socket_close(w->req);
	w->mon = w->req = NULL;
}
