// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd kernel events.  See events.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "jvpn_nl.h"
#include "jvpnd.h"

/* Event reads per wakeup before other work runs. */
#define EVENTS_RX_ROUNDS	8

static void on_path_event(struct jvpnd *d, struct session *s,
			  enum fsm_event ev)
{
	/* A duplicate (already VOLATILE) is normal, not a refusal. */
	if (fsm_lookup(s->fsm.state, ev, NULL, NULL)) {
		sess_step(d, s, ev, FSM_R_NONE);
		jvpnd_save_state(d);
	}
}

static void on_unknown_source(struct jvpnd *d, struct session *s,
			      struct nlattr **tb)
{
	struct hs_source src;

	if (!tb[JVPN_A_SOCKET_ID] || !tb[JVPN_A_PATH_REMOTE_IP] ||
	    !tb[JVPN_A_PATH_REMOTE_PORT] ||
	    hs_source_set(&src, nla_data(tb[JVPN_A_PATH_REMOTE_IP]),
			  (size_t)nla_len(tb[JVPN_A_PATH_REMOTE_IP]),
			  nla_get_u16(tb[JVPN_A_PATH_REMOTE_PORT])))
		return;
	roam_unknown_source(d, s, nla_get_u32(tb[JVPN_A_SOCKET_ID]), &src);
}

static void on_session_event(struct jvpnd *d, uint32_t type,
			     struct session *s, struct nlattr **tb)
{
	uint32_t path_id = tb[JVPN_A_PATH_ID] ?
			   nla_get_u32(tb[JVPN_A_PATH_ID]) : 0;

	switch (type) {
	case JVPN_EVENT_KEY_LIMIT:
		if (s->role == ROLE_INITIATOR)
			proto_initiate(d, s->peer, true);
		break;
	case JVPN_EVENT_SECONDARY_KEY_USED:
		/* The initiator proved it holds the new key: send with it. */
		if (s->swap_pending)
			sess_key_swap(d, s);
		break;
	case JVPN_EVENT_SESSION_REMOVED:
		/* Not by us (we free first): someone else removed it. */
		s->in_kernel = false;
		sess_destroy(d, s, FSM_EV_INTERNAL_INCONSISTENCY,
			     FSM_R_INTERNAL_INCONSISTENCY, false);
		break;
	case JVPN_EVENT_PATH_SILENT:
		if (path_id && path_id != s->active_path)
			break;	/* a path we already left */
		on_path_event(d, s, FSM_EV_PATH_SILENT);
		roam_path_silent(d, s, path_id);
		break;
	case JVPN_EVENT_PATH_ALIVE:
		on_path_event(d, s, FSM_EV_PATH_ALIVE);
		roam_path_alive(d, s);
		break;
	case JVPN_EVENT_UNKNOWN_SOURCE:
		jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_NONE, s->local_id,
			    &(struct audit_kv){ .key = "what",
						.type = AUDIT_KV_STR,
						.s = AUDIT_WHAT_UNKNOWN_SOURCE }, 1);
		on_unknown_source(d, s, tb);
		break;
	default:
		break;
	}
}

static void note_gap(struct jvpnd *d, uint64_t lost, bool *resync)
{
	d->ev.gaps += lost;
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_KERNEL_EVENTS_LOST, 0,
		    &(struct audit_kv){ .key = "lost", .type = AUDIT_KV_U64,
					.u = lost }, 1);
	*resync = true;
}

struct ev_ctx {
	struct jvpnd *d;
	bool resync;
};

static int on_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct ev_ctx *c = arg;
	struct jvpnd *d = c->d;
	struct session *s;
	uint64_t seq;

	if (cmd != JVPN_CMD_EVENT || !tb[JVPN_A_EVENT_TYPE] ||
	    !tb[JVPN_A_EVENT_SEQ] || !tb[JVPN_A_IFINDEX])
		return 0;
	if (nla_get_u32(tb[JVPN_A_IFINDEX]) != d->k.ifindex) {
		d->ev.other_dev++;
		return 0;
	}
	d->ev.received++;
	seq = nla_get_u64(tb[JVPN_A_EVENT_SEQ]);
	if (seq > d->ev.last_seq + 1)
		note_gap(d, seq - d->ev.last_seq - 1, &c->resync);
	if (seq > d->ev.last_seq)
		d->ev.last_seq = seq;
	s = tb[JVPN_A_SESSION_ID] ?
	    session_find(&d->st, nla_get_u32(tb[JVPN_A_SESSION_ID])) : NULL;
	if (s)
		on_session_event(d, nla_get_u32(tb[JVPN_A_EVENT_TYPE]), s, tb);
	return 0;
}

static void events_readable(uint32_t events, void *arg)
{
	struct ev_ctx c = { .d = arg };
	unsigned int i;
	int ret;

	(void)events;
	for (i = 0; i < EVENTS_RX_ROUNDS; i++) {
		ret = jvpn_nl_events_recv(c.d->ev.nl, on_event, &c);
		if (ret != -ENOBUFS)
			break;
		/* The socket overflowed: events are gone, count unknown. */
		c.d->ev.overflows++;
		note_gap(c.d, 0, &c.resync);
	}
	if (c.resync)
		events_resync(c.d);
}

int events_open(struct jvpnd *d)
{
	struct kernel_dev dev;
	int ret;

	ret = jvpn_nl_open_events(&d->ev.nl);
	if (ret)
		return ret;
	/* Joined first, then read the sequence: nothing falls in between. */
	ret = kernel_dev_get(&d->k, &dev);
	if (ret)
		return ret;
	d->ev.last_seq = dev.event_seq;
	d->ev.h.fd = jvpn_nl_fd(d->ev.nl);
	d->ev.h.fn = events_readable;
	d->ev.h.arg = d;
	return loop_add_fd(d->loop, &d->ev.h, EPOLLIN);
}

void events_close(struct jvpnd *d)
{
	if (!d->ev.nl)
		return;
	loop_del_fd(d->loop, &d->ev.h);
	jvpn_nl_close(d->ev.nl);
	d->ev.nl = NULL;
}

/* ---- resynchronisation ------------------------------------------------- */

struct resync_ctx {
	struct jvpnd *d;
	uint64_t gen;
};

static int resync_one(const struct kernel_session *ks, void *arg)
{
	struct resync_ctx *c = arg;
	struct session *s = session_find(&c->d->st, ks->id);

	if (!s)
		return 0;
	s->seen_gen = c->gen;
	/* A lost SECONDARY_KEY_USED: the counters tell the same story. */
	if (s->swap_pending && ks->has_key[1] &&
	    ks->key_id[1] == s->pending_key_id && ks->key_rx[1])
		s->swap_due = true;	/* no request inside a dump */
	return 0;
}

void events_resync(struct jvpnd *d)
{
	static uint64_t generation;
	struct resync_ctx c = { .d = d, .gen = ++generation };
	struct session *s;
	uint32_t i;

	d->ev.resyncs++;
	if (kernel_session_dump(&d->k, resync_one, &c)) {
		d->stats.kernel_errors++;
		return;
	}
	for (i = 0; i < d->st.capacity; i++) {
		s = session_at(&d->st, i);
		if (s && s->swap_due) {
			s->swap_due = false;
			sess_key_swap(d, s);
		}
		if (s && s->in_kernel && s->seen_gen != c.gen) {
			s->in_kernel = false;
			sess_destroy(d, s, FSM_EV_INTERNAL_INCONSISTENCY,
				     FSM_R_INTERNAL_INCONSISTENCY, false);
		}
	}
}
