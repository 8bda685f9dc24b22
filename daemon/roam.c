// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd session continuity: the reattach / probe protocol layer
 * (reattach.h) wired to the sockets, the kernel and the event loop.
 *
 *   responder (server): ra_server with the in-process ownership store;
 *     REATTACH_REQ / RESP / PROBE from the sockets go to ra_server_handle;
 *     the commit is PATH_ADD (new source) + versioned PATH_ACTIVATE;
 *     UNKNOWN_SOURCE events start a server-initiated challenge.
 *   initiator (client): one ra_client per session; every path the kernel
 *     has for the peer's Endpoints is a candidate, probed on a timer; the
 *     kernel's PATH_SILENT on the active path starts a reattach; the
 *     commit is a versioned PATH_ACTIVATE so TX moves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jvpnd.h"

/* Ownership records live as long as the daemon (single node). */
#define ROAM_OWNER_TTL_MS	(UINT32_MAX / 2)
#define ROAM_NODE_ID		1
/* Pending validations are expired at least this often. */
#define ROAM_EXPIRE_MS		250
#define ROAM_EXPIRE_BUDGET	256
/* Bytes credited to an UNKNOWN_SOURCE (at least one DATA packet). */
#define ROAM_UNKNOWN_RX_BYTES	64

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

static int to_sockaddr(const struct hs_source *src,
		       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (src->addr_len == 4) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(src->port);
		memcpy(&sin->sin_addr, src->addr, 4);
		return 0;
	}
	if (src->addr_len == 16) {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(src->port);
		memcpy(&sin6->sin6_addr, src->addr, 16);
		return 0;
	}
	return -EINVAL;
}

static int path_from(struct ra_path *p, uint32_t sock_id, uint32_t path_id,
		     const struct sockaddr *sa)
{
	memset(p, 0, sizeof(*p));
	p->socket_id = sock_id;
	p->path_id = path_id;
	return hs_source_from_sockaddr(&p->remote, sa, net_sockaddr_len(sa));
}

static void send_out(struct jvpnd *d, const struct ra_output *out,
		     const struct net_pktinfo *src)
{
	struct net_sock *sock;
	struct sockaddr_storage to;

	if (!out->len)
		return;
	sock = net_sock_kid(&d->net, out->to.socket_id);
	if (!sock || to_sockaddr(&out->to.remote, &to) ||
	    net_send(sock, out->msg, out->len, (struct sockaddr *)&to, src))
		d->stats.send_errors++;
}

static void arm_at(struct jvpnd *d, struct loop_timer *t, uint64_t when)
{
	if (loop_timer_armed(t) && t->when_ms <= when)
		return;
	if (loop_timer_arm(d->loop, t, when))
		d->stats.timers_refused++;
}

/* ---- commit: the one kernel switch ------------------------------------- */

static struct session_path *find_path(struct session *s,
				      const struct ra_path *p)
{
	struct sockaddr_storage ss;
	unsigned int i;

	if (p->path_id)
		return session_path_find(s, p->path_id);
	if (to_sockaddr(&p->remote, &ss))
		return NULL;
	for (i = 0; i < s->n_paths; i++)
		if (s->paths[i].sock_id == p->socket_id &&
		    net_sockaddr_equal((struct sockaddr *)&s->paths[i].remote,
				       (struct sockaddr *)&ss))
			return &s->paths[i];
	return NULL;
}

static int commit_cb(void *ctx, const struct ra_commit *c, uint32_t *path_id)
{
	struct jvpnd *d = ctx;
	struct session *s = session_find(&d->st, c->session_id);
	struct kernel_session ks;
	struct session_path *sp;
	struct sockaddr_storage ss;
	uint64_t version;
	int ret;

	if (!s || !s->in_kernel)
		return -ENOENT;
	sp = find_path(s, &c->new_path);
	if (!sp) {
		/* A new source (NAT rebinding, another uplink): add it. */
		struct net_sock *sock = net_sock_kid(&d->net,
						     c->new_path.socket_id);

		ret = to_sockaddr(&c->new_path.remote, &ss);
		if (!ret)
			ret = sess_add_path(d, s, (struct sockaddr *)&ss, sock);
		/* At the session's path limit: the oldest standby goes. */
		if (ret == -ENOSPC && !sess_evict_path(d, s))
			ret = sess_add_path(d, s, (struct sockaddr *)&ss, sock);
		if (ret) {
			d->stats.kernel_errors++;
			return ret;
		}
		sp = &s->paths[s->n_paths - 1];
	}
	ret = kernel_session_get(&d->k, s->local_id, &ks);
	if (!ret)
		ret = kernel_path_activate(&d->k, s->local_id, sp->id,
					   ks.state_version, &version);
	if (ret) {
		d->stats.kernel_errors++;
		fprintf(stderr, "jvpnd: session %08x: PATH_ACTIVATE %u: %s\n",
			s->local_id, sp->id, strerror(-ret));
		return ret;
	}
	s->active_path = sp->id;
	*path_id = sp->id;
	return 0;
}

/* ---- server ------------------------------------------------------------ */

static struct ra_session *lookup_cb(void *ctx, uint32_t id)
{
	struct jvpnd *d = ctx;
	struct session *s = session_find(&d->st, id);

	if (!s || !s->ra_up || s->role != ROLE_RESPONDER)
		return NULL;
	return &s->ra;
}

static void expire_timer_fn(struct loop_timer *t, void *arg)
{
	struct jvpnd *d = arg;
	struct audit_clock clk;
	uint64_t next;

	jvpnd_clock(&clk);
	next = ra_server_expire(&d->ra_srv, &clk, ROAM_EXPIRE_BUDGET);
	store_mem_sweep(&d->store, clk.mono_ms, ROAM_EXPIRE_BUDGET);
	if (!next || next > clk.mono_ms + ROAM_EXPIRE_MS)
		next = clk.mono_ms + ROAM_EXPIRE_MS;
	if (loop_timer_arm(d->loop, t, next))
		d->stats.timers_refused++;
}

int roam_init(struct jvpnd *d)
{
	uint32_t cap = d->cfg.policy.max_sessions;
	struct ra_server_config rc = {
		.policy = &d->cfg.policy,
		.ops = { .lookup = lookup_cb, .commit = commit_cb },
		.ctx = d,
		.store = &store_mem_ops,
		.store_ctx = &d->store,
		.node_id = ROAM_NODE_ID,
		.owner_ttl_ms = ROAM_OWNER_TTL_MS,
		.pending_capacity = cap ? cap : 1,
		.audit = &d->audit,
	};
	uint8_t key[16];
	int ret;

	randombytes_buf(key, sizeof(key));
	ret = store_mem_init(&d->store, cap ? cap : 1, key);
	if (ret)
		return ret;
	ret = ra_server_init(&d->ra_srv, &rc, loop_now_ms());
	if (ret) {
		store_mem_destroy(&d->store);
		return -ENOMEM;
	}
	d->roam_ready = true;
	loop_timer_setup(&d->ra_expire_timer, expire_timer_fn, d);
	if (loop_timer_arm(d->loop, &d->ra_expire_timer,
			   loop_now_ms() + ROAM_EXPIRE_MS))
		d->stats.timers_refused++;
	return 0;
}

void roam_destroy(struct jvpnd *d)
{
	if (!d->roam_ready)
		return;
	loop_timer_cancel(d->loop, &d->ra_expire_timer);
	ra_server_destroy(&d->ra_srv);
	store_mem_destroy(&d->store);
	d->roam_ready = false;
}

/*
 * A responder cannot move a session by itself: it waits for the client to
 * reattach.  If the session is still without a working path when
 * MaxRecoveryWindowMs has passed since the loss, the client is gone: end
 * the session and free its kernel state instead of keeping it until its
 * lifetime ends.
 */
static void server_path_back(struct jvpnd *d, struct session *s);

/*
 * Before ending a session, ask the kernel: events can be lost (the
 * device's event rate limit, a full socket buffer), and a PATH_ALIVE that
 * never arrived must not cost a working session.  Recent authenticated RX
 * means the client is there: the path is alive (or, mid-reattach, the
 * window starts again).
 */
static bool server_heard_lately(struct jvpnd *d, struct session *s)
{
	struct kernel_session ks;

	if (kernel_session_get(&d->k, s->local_id, &ks) ||
	    ks.last_rx_ms >= d->cfg.policy.transport_loss_ttl_ms)
		return false;
	d->stats.ra_window_rescued++;
	if (fsm_lookup(s->fsm.state, FSM_EV_PATH_ALIVE, NULL, NULL) &&
	    sess_step(d, s, FSM_EV_PATH_ALIVE, FSM_R_NONE)) {
		server_path_back(d, s);
		jvpnd_save_state(d);
		return true;
	}
	s->lost_ms = loop_now_ms();
	arm_at(d, &s->ra_timer,
	       s->lost_ms + d->cfg.policy.max_recovery_window_ms);
	return true;
}

static void server_window_fn(struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	struct jvpnd *d = s->peer->ctx;
	uint64_t deadline = s->lost_ms + d->cfg.policy.max_recovery_window_ms;

	(void)t;
	if (!s->lost_ms || s->fsm.state == FSM_ATTACHED)
		return;
	if (loop_now_ms() < deadline) {
		arm_at(d, &s->ra_timer, deadline);
		return;
	}
	if (server_heard_lately(d, s))
		return;
	sess_destroy(d, s, FSM_EV_RECOVERY_WINDOW_EXCEEDED,
		     FSM_R_RECOVERY_WINDOW_EXCEEDED, true);
}

static void server_path_lost(struct jvpnd *d, struct session *s)
{
	if (s->lost_ms && loop_timer_armed(&s->ra_timer))
		return;
	s->lost_ms = loop_now_ms();
	arm_at(d, &s->ra_timer,
	       s->lost_ms + d->cfg.policy.max_recovery_window_ms);
}

static void server_path_back(struct jvpnd *d, struct session *s)
{
	s->lost_ms = 0;
	loop_timer_cancel(d->loop, &s->ra_timer);
}

static void server_rx(struct jvpnd *d, struct net_sock *sock,
		      const uint8_t *buf, size_t len,
		      const struct ra_path *from,
		      const struct net_pktinfo *dst)
{
	struct audit_clock clk;
	struct ra_output out;
	int ret;

	jvpnd_clock(&clk);
	ret = ra_server_handle(&d->ra_srv, buf, len, from, &clk, &out);
	if (ret) {
		d->stats.ra_refused++;
		return;
	}
	(void)sock;
	/* Reply from the address the message was sent to. */
	send_out(d, &out, ra_path_equal(&out.to, from) ? dst : NULL);
	if (out.committed) {
		struct session *s = session_find(&d->st,
						 out.commit.session_id);

		if (s && s->fsm.state == FSM_ATTACHED)
			server_path_back(d, s);
		d->stats.ra_switches++;
		jvpnd_save_state(d);
	}
}

/*
 * A remote the session already has a path to, seen on another socket: the
 * socket handover of a restart (DATA still reaching the old socket), not
 * a new source to validate.
 */
static bool known_remote(const struct session *s, const struct hs_source *src)
{
	struct sockaddr_storage ss;
	unsigned int i;

	if (to_sockaddr(src, &ss))
		return false;
	for (i = 0; i < s->n_paths; i++)
		if (net_sockaddr_equal((const struct sockaddr *)&s->paths[i].remote,
				       (const struct sockaddr *)&ss))
			return true;
	return false;
}

void roam_unknown_source(struct jvpnd *d, struct session *s,
			 uint32_t sock_id, const struct hs_source *src)
{
	struct audit_clock clk;
	struct ra_output out;
	struct ra_path from = { .socket_id = sock_id, .remote = *src };

	if (!s->ra_up || s->role != ROLE_RESPONDER || known_remote(s, src))
		return;
	jvpnd_clock(&clk);
	if (!ra_server_challenge_source(&d->ra_srv, s->local_id, &from,
					ROAM_UNKNOWN_RX_BYTES, &clk, &out))
		send_out(d, &out, NULL);
}

/* ---- client ------------------------------------------------------------ */

/* Acts on the layer's result; false if the session is gone. */
static bool client_result(struct jvpnd *d, struct session *s,
			  const struct ra_client_result *res)
{
	struct peer *p = s->peer;

	send_out(d, &res->out, NULL);
	if (res->out.committed) {
		d->stats.ra_switches++;
		jvpnd_save_state(d);
	}
	if (res->action == RA_ACT_TERMINATED && !fsm_is_terminal(s->fsm.state)) {
		/* The session recovered on its own meanwhile. */
		ra_client_cancel(s->rc);
	} else if (res->action == RA_ACT_TERMINATED) {
		sess_destroy(d, s, FSM_EV_RECOVERY_WINDOW_EXCEEDED,
			     res->reason, true);
		proto_initiate(d, p, false);
		return false;
	}
	if (res->next_ms)
		arm_at(d, &s->ra_timer, res->next_ms);
	return true;
}

static void client_timer_fn(struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	struct jvpnd *d = s->peer->ctx;
	struct ra_client *rc = s->rc;
	struct ra_client_result res;
	struct ra_output out;
	struct audit_clock clk;
	uint64_t next, nx;
	uint32_t i;

	(void)t;
	if (!rc)
		return;
	jvpnd_clock(&clk);
	next = clk.mono_ms + d->cfg.policy.probe_interval_ms;
	nx = ra_client_expire_key(rc, clk.mono_ms);	/* rekey's old key */
	if (nx && nx < next)
		next = nx;
	/* The active path came back while we waited to try again. */
	if (rc->phase == RA_CL_BACKOFF && s->fsm.state == FSM_ATTACHED)
		ra_client_cancel(rc);
	if (rc->phase != RA_CL_IDLE) {
		if (!ra_client_tick(rc, &clk, &res) && !client_result(d, s, &res))
			return;
		if (res.next_ms && res.next_ms < next)
			next = res.next_ms;
	}
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++) {
		if (!rc->cand[i].used ||
		    ra_path_equal(&rc->cand[i].path, &rc->active))
			continue;
		nx = 0;
		if (!ra_client_probe(rc, i, clk.mono_ms, &out, &nx))
			send_out(d, &out, NULL);
		else if (nx > clk.mono_ms && nx < next)
			next = nx;
	}
	arm_at(d, &s->ra_timer, next);
}

static void client_rx(struct jvpnd *d, const uint8_t *buf, size_t len,
		      const struct ra_path *on)
{
	struct session *s;
	struct ra_client_result res;
	struct audit_clock clk;
	int idx, ret;

	if (len < 8)
		return;
	s = session_find(&d->st, be32_at(buf + 4));
	if (!s || !s->rc) {
		d->stats.ra_refused++;
		return;
	}
	jvpnd_clock(&clk);
	if (buf[0] == JVPN_MSG_PROBE_REPLY) {
		idx = ra_client_find_candidate(s->rc, on);
		if (idx < 0 || ra_client_handle_probe_reply(s->rc, (uint32_t)idx,
							    buf, len,
							    clk.mono_ms))
			d->stats.ra_refused++;
		return;
	}
	ret = ra_client_handle_challenge(s->rc, buf, len, on, &clk, &res);
	if (ret) {
		d->stats.ra_refused++;
		return;
	}
	client_result(d, s, &res);
}

/* The active path is lost: start a reattach; false if it could not. */
static bool client_lost(struct jvpnd *d, struct session *s)
{
	struct ra_client_result res;
	struct audit_clock clk;
	int ret;

	jvpnd_clock(&clk);
	ret = ra_client_start(s->rc, RA_REASON_PATH_LOST, &clk, &res);
	if (ret) {
		jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_NONE, s->local_id,
			    (struct audit_kv[]){
				{ .key = "what", .type = AUDIT_KV_STR,
				  .s = AUDIT_WHAT_REATTACH_NOT_STARTED },
				{ .key = "error", .type = AUDIT_KV_STR,
				  .s = ra_errname(ret) },
			    }, 2);
		return false;
	}
	client_result(d, s, &res);
	return true;
}

void roam_path_silent(struct jvpnd *d, struct session *s, uint32_t path_id)
{
	if (path_id && path_id != s->active_path)
		return;
	if (s->ra_up && s->role == ROLE_RESPONDER) {
		server_path_lost(d, s);
		return;
	}
	if (!s->rc)
		return;
	client_lost(d, s);
}

void roam_path_alive(struct jvpnd *d, struct session *s)
{
	if (s->ra_up && s->role == ROLE_RESPONDER &&
	    s->fsm.state == FSM_ATTACHED)
		server_path_back(d, s);
	if (!s->rc || s->fsm.state != FSM_ATTACHED)
		return;
	/* An exchange in flight completes (it moves to a working path). */
	if (s->rc->phase == RA_CL_WAIT_CHALLENGE ||
	    s->rc->phase == RA_CL_WAIT_CONFIRM)
		return;
	ra_client_cancel(s->rc);
}

/* ---- sessions ---------------------------------------------------------- */

static void client_up(struct jvpnd *d, struct session *s)
{
	struct ra_client_config cc = {
		.policy = &d->cfg.policy, .commit = commit_cb, .ctx = d,
		.audit = &d->audit,
	};
	const struct session_path *ap = session_active_path(s);
	struct ra_path active, p;
	unsigned int i;

	if (!ap || path_from(&active, ap->sock_id, ap->id,
			     (const struct sockaddr *)&ap->remote))
		return;
	s->rc = calloc(1, sizeof(*s->rc));
	if (!s->rc)
		return;
	if (ra_client_init(s->rc, &cc, s->local_id, s->peer_id,
			   s->reattach_key, &s->fsm, &s->pc, &active,
			   loop_now_ms())) {
		free(s->rc);
		s->rc = NULL;
		return;
	}
	for (i = 0; i < s->n_paths; i++)
		if (!path_from(&p, s->paths[i].sock_id, s->paths[i].id,
			       (const struct sockaddr *)&s->paths[i].remote))
			ra_client_add_candidate(s->rc, &p, NULL);
	loop_timer_setup(&s->ra_timer, client_timer_fn, s);
	s->ra_up = true;
	arm_at(d, &s->ra_timer, loop_now_ms());
}

static void server_up(struct jvpnd *d, struct session *s)
{
	const struct session_path *ap = session_active_path(s);
	struct ra_path active;
	uint64_t now = loop_now_ms();
	struct store_record rec;

	if (!ap || path_from(&active, ap->sock_id, ap->id,
			     (const struct sockaddr *)&ap->remote))
		return;
	if (store_mem_ops.cas(&d->store, s->local_id, 0, ROAM_NODE_ID,
			      ROAM_OWNER_TTL_MS, now, &rec))
		return;
	if (ra_session_init(&s->ra, s->local_id, s->peer_id, s->reattach_key,
			    &s->fsm, &s->pc, &active, rec.version,
			    &d->cfg.policy, now))
		return;
	loop_timer_setup(&s->ra_timer, server_window_fn, s);
	s->ra_up = true;
}

void roam_session_up(struct jvpnd *d, struct session *s)
{
	if (!d->roam_ready || s->ra_up)
		return;
	policy_counters_init(&s->pc, s->established_ms);
	if (s->role == ROLE_INITIATOR)
		client_up(d, s);
	else
		server_up(d, s);
}

void roam_session_down(struct jvpnd *d, struct session *s)
{
	if (!s->ra_up)
		return;
	if (s->rc) {
		loop_timer_cancel(d->loop, &s->ra_timer);
		ra_client_destroy(s->rc);
		free(s->rc);
		s->rc = NULL;
	} else {
		loop_timer_cancel(d->loop, &s->ra_timer);
		ra_server_forget_session(&d->ra_srv, &s->ra);
		ra_session_wipe(&s->ra);
		store_mem_ops.del(&d->store, s->local_id, ROAM_NODE_ID,
				  loop_now_ms());
	}
	s->ra_up = false;
}

/*
 * The peer switches keys at another moment than we do: the layer keeps
 * accepting the previous reattach key for the data keys' grace.  The
 * server's old key is wiped by ra_server_expire() (expire timer), the
 * client's by its timer.
 */
void roam_rekey(struct jvpnd *d, struct session *s)
{
	uint64_t now = loop_now_ms();

	if (!s->ra_up)
		return;
	if (s->rc) {
		ra_client_rekey(s->rc, s->reattach_key, now,
				JVPND_KEY_GRACE_MS);
		arm_at(d, &s->ra_timer, now + JVPND_KEY_GRACE_MS);
		return;
	}
	/* The data key was swapped: the initiator uses the current keys. */
	if (!s->swap_pending)
		ra_session_key_proven(&s->ra);
	ra_session_rekey(&d->ra_srv, &s->ra, s->reattach_key, now,
			 JVPND_KEY_GRACE_MS);
}

/* ---- receive ----------------------------------------------------------- */

void roam_rx(struct jvpnd *d, struct net_sock *sock, const uint8_t *buf,
	     size_t len, const struct sockaddr_storage *from,
	     const struct net_pktinfo *dst)
{
	struct ra_path p;

	if (!d->roam_ready ||
	    path_from(&p, sock->kid, 0, (const struct sockaddr *)from)) {
		d->stats.ra_refused++;
		return;
	}
	switch (buf[0]) {
	case JVPN_MSG_REATTACH_REQ:
	case JVPN_MSG_REATTACH_RESP:
	case JVPN_MSG_PROBE:
		server_rx(d, sock, buf, len, &p, dst);
		break;
	case JVPN_MSG_REATTACH_CHALLENGE:
	case JVPN_MSG_PROBE_REPLY:
		client_rx(d, buf, len, &p);
		break;
	default:
		d->stats.rx_bad_type++;
		break;
	}
}

/* ---- link watch (link.c) ----------------------------------------------- */

/*
 * What PATH_SILENT does, without waiting TransportLossTtlMs for it.  No
 * route means the path is lost, not merely suspect: TRANSPORT_LOST with
 * link_down.  An episode under way is already looking elsewhere.
 */
bool roam_link_down(struct jvpnd *d, struct session *s,
		    const struct audit_kv *why, unsigned int n_why)
{
	if (!s->rc || s->rc->phase != RA_CL_IDLE ||
	    fsm_is_terminal(s->fsm.state))
		return false;
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_NONE, s->local_id, why, n_why);
	if (fsm_lookup(s->fsm.state, FSM_EV_TRANSPORT_LOST, NULL, NULL)) {
		sess_step(d, s, FSM_EV_TRANSPORT_LOST, FSM_R_LINK_DOWN);
		jvpnd_save_state(d);
	}
	return client_lost(d, s);
}

/*
 * Something came up: probe the standby paths now rather than at the next
 * ProbeIntervalMs, and give the candidates that used up MaxProbes another
 * round, since the news may be theirs (re-adding resets a candidate).
 */
void roam_link_up(struct jvpnd *d, struct session *s)
{
	struct ra_client *rc = s->rc;
	struct ra_path p;
	uint32_t i;

	if (!rc)
		return;
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++) {
		if (!rc->cand[i].used ||
		    rc->cand[i].unanswered < d->cfg.policy.max_probes ||
		    (rc->phase != RA_CL_IDLE && rc->target == i))
			continue;
		p = rc->cand[i].path;
		ra_client_remove_candidate(rc, i);
		ra_client_add_candidate(rc, &p, NULL);
	}
	arm_at(d, &s->ra_timer, loop_now_ms());
}
