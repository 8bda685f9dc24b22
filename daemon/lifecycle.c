// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd session life cycle: creation, FSM steps with their audit records,
 * kernel programming on handshake completion, key rotation, removal and
 * the persisted state.  See jvpnd.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <sodium.h>

#include "jvpnd.h"
#include "policy.h"
#include "state.h"
#include "util.h"

/* ---- audit ------------------------------------------------------------- */

void jvpnd_clock(struct audit_clock *clk)
{
	struct timespec ts;

	clk->mono_ms = loop_now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	clk->wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jvpnd_audit(struct jvpnd *d, enum audit_type type,
		 enum audit_action act, uint32_t sid,
		 const struct audit_kv *extra, unsigned int n_extra)
{
	struct audit_record r = {
		.type = type, .action = act, .session_id = sid,
		.extra = extra, .n_extra = n_extra,
	};
	struct audit_clock clk;

	jvpnd_clock(&clk);
	audit_emit(&d->audit, &r, &clk);
}

/*
 * Drains the audit ring once per loop iteration.  A sink that would
 * block (a pipe) is watched for EPOLLOUT; regular files cannot be polled
 * and never block for long, so they are simply written here.
 */
void jvpnd_audit_flush(void *arg)
{
	struct jvpnd *d = arg;
	bool want;

	if (d->audit_fd < 0 || !audit_pending(&d->audit))
		return;
	audit_flush(&d->audit);
	want = audit_pending(&d->audit) > 0 && d->audit_pollable;
	if (want != d->audit_watching &&
	    !loop_mod_fd(d->loop, &d->audit_h, want ? EPOLLOUT : 0))
		d->audit_watching = want;
}

/* ---- FSM --------------------------------------------------------------- */

static bool step_paths(struct jvpnd *d, struct session *s, enum fsm_event ev,
		       enum fsm_reason reason, uint32_t p_old, uint32_t p_new)
{
	struct fsm_result res;
	struct audit_clock clk;
	int ret;

	jvpnd_clock(&clk);
	ret = fsm_transition(&s->fsm, ev, reason, clk.mono_ms, &res);
	audit_emit_fsm(&d->audit, &res, p_old, p_new, &clk, NULL, 0);
	return ret == 0;
}

bool sess_step(struct jvpnd *d, struct session *s, enum fsm_event ev,
	       enum fsm_reason reason)
{
	return step_paths(d, s, ev, reason, 0, 0);
}

/* ---- timers ------------------------------------------------------------ */

static void arm(struct jvpnd *d, struct loop_timer *t, uint64_t when)
{
	if (loop_timer_arm(d->loop, t, when))
		d->stats.timers_refused++;
}

/*
 * Has the responder swapped to our current key?  Only then does it send
 * under it.  Key ids stay in step only if the initiator never starts a
 * rekey (and never drops the old key) before that: otherwise an idle
 * responder would still hold the previous rekey's key in its secondary
 * slot and give the next one the same id.
 */
static bool peer_uses_key(struct jvpnd *d, struct session *s,
			  struct kernel_session *ks)
{
	if (kernel_session_get(&d->k, s->local_id, ks)) {
		d->stats.kernel_errors++;
		return false;
	}
	return ks->has_key[0] && ks->key_rx[0] > 0;
}

/* Time or packet count: checked at most every JVPND_REKEY_POLL_MS. */
static void rekey_timer_fn(struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	struct jvpnd *d = s->peer->ctx;
	uint64_t after = (uint64_t)d->cfg.policy.rekey_after_seconds * 1000;
	struct kernel_session ks;

	(void)t;
	if (peer_uses_key(d, s, &ks) &&
	    (ks.key_age_ms[0] >= after || ks.key_tx[0] + ks.key_rx[0] >=
	     d->cfg.policy.rekey_after_packets)) {
		proto_initiate(d, s->peer, true);
		return;
	}
	sess_arm_rekey(d, s, ks.key_age_ms[0]);
}

static void keydel_timer_fn(struct loop_timer *t, void *arg)
{
	struct session *s = arg;
	struct jvpnd *d = s->peer->ctx;
	struct kernel_session ks;

	(void)t;
	if (!s->old_key_present || s->swap_pending)
		return;
	/* The responder may still send under the old key: keep it. */
	if (s->role == ROLE_INITIATOR && !peer_uses_key(d, s, &ks)) {
		arm(d, &s->keydel_timer, loop_now_ms() + JVPND_KEY_GRACE_MS);
		return;
	}
	if (kernel_key_del(&d->k, s->local_id, JVPN_KEY_SLOT_SECONDARY))
		d->stats.kernel_errors++;
	s->old_key_present = false;
}

void sess_setup_timers(struct jvpnd *d, struct session *s)
{
	(void)d;
	loop_timer_setup(&s->rekey_timer, rekey_timer_fn, s);
	loop_timer_setup(&s->keydel_timer, keydel_timer_fn, s);
}

void sess_arm_rekey(struct jvpnd *d, struct session *s, uint64_t age_ms)
{
	uint64_t after = (uint64_t)d->cfg.policy.rekey_after_seconds * 1000;
	uint64_t wait = age_ms < after ? after - age_ms : JVPND_REKEY_POLL_MS;

	if (s->role != ROLE_INITIATOR)
		return;
	if (wait > JVPND_REKEY_POLL_MS)
		wait = JVPND_REKEY_POLL_MS;
	arm(d, &s->rekey_timer, loop_now_ms() + wait);
}

/* ---- creation and removal ---------------------------------------------- */

struct session *sess_create(struct jvpnd *d, struct peer *p,
			    enum session_role role, uint32_t local_id)
{
	struct policy_decision pd = policy_may_add_session(&d->cfg.policy,
							   d->st.n);
	struct session *s;
	int err = 0;

	if (pd.verdict != POLICY_ALLOW) {
		d->stats.sessions_refused++;
		jvpnd_audit(d, AUDIT_T_SECURITY, AUDIT_ACT_POLICY_DENIED, 0,
			    &(struct audit_kv){ .key = "why", .type = AUDIT_KV_STR,
						.s = fsm_reason_name(pd.reason) }, 1);
		return NULL;
	}
	if (!local_id)
		local_id = session_random_id(&d->st);
	s = local_id ? session_alloc(&d->st, local_id, &err) : NULL;
	if (!s) {
		d->stats.sessions_refused++;
		return NULL;
	}
	s->peer = p;
	s->role = role;
	p->session = s;
	fsm_session_init(&s->fsm, local_id, loop_now_ms());
	sess_setup_timers(d, s);
	d->stats.sessions_created++;
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_SESSION_CREATED, local_id,
		    &(struct audit_kv){ .key = "role", .type = AUDIT_KV_STR,
					.s = role == ROLE_INITIATOR ?
					     "initiator" : "responder" }, 1);
	sess_step(d, s, FSM_EV_HANDSHAKE_STARTED, FSM_R_NONE);
	return s;
}

void sess_destroy(struct jvpnd *d, struct session *s, enum fsm_event ev,
		  enum fsm_reason reason, bool kernel_del)
{
	uint32_t id = s->local_id;

	if (!fsm_is_terminal(s->fsm.state))
		sess_step(d, s, ev, reason);
	loop_timer_cancel(d->loop, &s->rekey_timer);
	loop_timer_cancel(d->loop, &s->keydel_timer);
	roam_session_down(d, s);
	if (kernel_del && s->in_kernel && kernel_session_del(&d->k, id))
		d->stats.kernel_errors++;
	if (s->peer->session == s)
		s->peer->session = NULL;
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_SESSION_REMOVED, id,
		    &(struct audit_kv){ .key = "reason", .type = AUDIT_KV_STR,
					.s = fsm_reason_name(reason) }, 1);
	session_free(&d->st, s);
	d->stats.sessions_removed++;
	jvpnd_save_state(d);
}

/* ---- kernel programming ------------------------------------------------ */

int sess_add_path(struct jvpnd *d, struct session *s,
		  const struct sockaddr *remote, struct net_sock *sock)
{
	struct session_path *sp;
	int ret;

	if (!sock)
		return -ENOSPC;
	/* At the path limit (or, never at the limit, no block): -ENOSPC. */
	sp = session_path_slot(&d->st, s);
	if (!sp)
		return -ENOSPC;
	sp->id = s->next_path_id++;
	sp->sock_id = sock->kid;
	memcpy(&sp->remote, remote, net_sockaddr_len(remote));
	ret = kernel_path_add(&d->k, s->local_id, sp->id, sock->kid, remote);
	if (ret)
		return ret;
	/* The kernel makes the first path active. */
	if (!s->active_path)
		s->active_path = sp->id;
	s->n_paths++;
	return 0;
}

/*
 * Makes room for one more path: removes the oldest path that is not the
 * active one (kernel first).  A responder learns a path per source its
 * peer ever came from (every NAT rebinding is one), and those sources die
 * unannounced: without this the session would reach its path limit and
 * refuse the next rebinding.  Forgetting a path loses nothing the server
 * needs: a source that comes back is validated again like any other.
 */
int sess_evict_path(struct jvpnd *d, struct session *s)
{
	unsigned int i, old = s->n_paths;
	int ret;

	for (i = 0; i < s->n_paths; i++)
		if (s->paths[i].id != s->active_path &&
		    (old == s->n_paths || s->paths[i].id < s->paths[old].id))
			old = i;
	if (old == s->n_paths)
		return -ENOSPC;
	ret = kernel_path_del(&d->k, s->local_id, s->paths[old].id);
	if (ret && ret != -ENOENT)
		return ret;
	if (s->link_path == s->paths[old].id)
		s->link_path = 0;
	memmove(&s->paths[old], &s->paths[old + 1],
		(s->n_paths - old - 1) * sizeof(s->paths[0]));
	s->n_paths--;
	session_paths_compact(&d->st, s);
	d->stats.paths_evicted++;
	return 0;
}

/*
 * Initiator: one path per Endpoint on a socket of its family, the one the
 * handshake went through first (so it becomes the active path).
 */
static int add_initiator_paths(struct jvpnd *d, struct session *s,
			       const struct sockaddr *used)
{
	struct peer *p = s->peer;
	unsigned int i;
	int ret = sess_add_path(d, s, used, net_sock_family(&d->net,
						       used->sa_family));

	if (ret)
		return ret;
	for (i = 0; i < p->n_endpoints; i++) {
		const struct sockaddr *e = (const void *)&p->endpoints[i];

		if (net_sockaddr_equal(e, used))
			continue;
		/* A standby endpoint we cannot reach is not fatal. */
		if (sess_add_path(d, s, e, net_sock_family(&d->net, e->sa_family)))
			d->stats.kernel_errors++;
	}
	return 0;
}

static int program_kernel(struct jvpnd *d, struct session *s,
			  const struct jvpn_session_keys *keys,
			  const struct sockaddr *remote, struct net_sock *sock,
			  const char **step)
{
	const struct cfg_peer *cp = s->peer->cfg;
	const uint8_t *tx, *rx;
	int ret;

	jvpn_kdf_data_keys(keys, s->role == ROLE_INITIATOR ? NOISE_INITIATOR :
			   NOISE_RESPONDER, &tx, &rx);
	*step = "SESSION_NEW";
	ret = kernel_session_new(&d->k, s->local_id, s->peer_id,
				 cp->allowed_ips, cp->n_allowed_ips);
	if (ret)
		return ret;
	s->in_kernel = true;
	*step = "KEY_NEW";
	ret = kernel_key_new(&d->k, s->local_id, JVPN_KEY_SLOT_PRIMARY, 1,
			     tx, rx);
	if (ret)
		return ret;
	s->key_id = 1;
	*step = "PATH_ADD";
	if (s->role == ROLE_INITIATOR)
		return add_initiator_paths(d, s, remote);
	return sess_add_path(d, s, remote, sock);
}

int sess_establish(struct jvpnd *d, struct session *s, uint32_t peer_id,
		   const struct jvpn_session_keys *keys,
		   const struct sockaddr *remote, struct net_sock *sock)
{
	const char *step = "";
	int ret;

	s->peer_id = peer_id;
	ret = program_kernel(d, s, keys, remote, sock, &step);
	if (ret) {
		d->stats.kernel_errors++;
		fprintf(stderr, "jvpnd: session %08x: %s: %s%s%s\n",
			s->local_id, step, strerror(-ret),
			*kernel_errmsg(&d->k) ? ": " : "", kernel_errmsg(&d->k));
		return ret;
	}
	memcpy(s->reattach_key, keys->reattach, sizeof(s->reattach_key));
	s->established_ms = s->key_installed_ms = loop_now_ms();
	step_paths(d, s, FSM_EV_HANDSHAKE_COMPLETE, FSM_R_NONE, 0,
		   s->active_path);
	s->peer->handshakes_ok++;
	roam_session_up(d, s);
	sess_arm_rekey(d, s, 0);
	jvpnd_save_state(d);
	return 0;
}

int sess_rekey_install(struct jvpnd *d, struct session *s,
		       const struct jvpn_session_keys *keys)
{
	uint8_t id = session_next_key_id(s->key_id);
	const uint8_t *tx, *rx;
	int ret;

	jvpn_kdf_data_keys(keys, s->role == ROLE_INITIATOR ? NOISE_INITIATOR :
			   NOISE_RESPONDER, &tx, &rx);
	/* The old key may still sit in the secondary slot: it goes now. */
	loop_timer_cancel(d->loop, &s->keydel_timer);
	s->old_key_present = false;
	ret = kernel_key_new(&d->k, s->local_id, JVPN_KEY_SLOT_SECONDARY, id,
			     tx, rx);
	if (ret) {
		d->stats.kernel_errors++;
		return ret;
	}
	memcpy(s->reattach_key, keys->reattach, sizeof(s->reattach_key));
	roam_rekey(d, s);
	s->pending_key_id = id;
	s->swap_pending = true;
	return 0;
}

int sess_key_swap(struct jvpnd *d, struct session *s)
{
	int ret;

	if (!s->swap_pending)
		return 0;
	ret = kernel_key_swap(&d->k, s->local_id);
	if (ret) {
		d->stats.kernel_errors++;
		return ret;
	}
	s->key_id = s->pending_key_id;
	s->swap_pending = false;
	s->old_key_present = true;
	s->key_installed_ms = loop_now_ms();
	s->rekeys++;
	d->stats.rekeys++;
	arm(d, &s->keydel_timer, s->key_installed_ms + JVPND_KEY_GRACE_MS);
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_NONE, s->local_id,
		    (struct audit_kv[]){
			{ .key = "what", .type = AUDIT_KV_STR,
			  .s = AUDIT_WHAT_REKEY },
			{ .key = "key_id", .type = AUDIT_KV_U64, .u = s->key_id },
		    }, 2);
	sess_arm_rekey(d, s, 0);
	jvpnd_save_state(d);
	return 0;
}

/* ---- persisted state --------------------------------------------------- */


static void state_write(struct jvpnd *d)
{
	struct state_record *r;
	struct session *s;
	uint64_t t0 = loop_now_ms(), took;
	size_t n = 0;
	uint32_t i;

	d->state_dirty = false;
	r = calloc(d->st.n ? d->st.n : 1, sizeof(*r));
	if (!r) {
		d->stats.state_save_errors++;
		return;
	}
	for (i = 0; i < d->st.capacity && n < d->st.n; i++) {
		s = session_at(&d->st, i);
		if (s && s->in_kernel && !fsm_is_terminal(s->fsm.state))
			session_state_record(s, &r[n++]);
	}
	if (state_save(d->state_path, r, n))
		d->stats.state_save_errors++;
	sodium_memzero(r, n * sizeof(*r));
	free(r);
	d->stats.state_saves++;
	d->state_saved_ms = loop_now_ms();
	took = d->state_saved_ms - t0;
	d->state_gap_ms = state_gap_ms(took);
}

static void state_timer_fn(struct loop_timer *t, void *arg)
{
	struct jvpnd *d = arg;

	(void)t;
	if (d->state_dirty)
		state_write(d);
}

/*
 * Every commit (a session established, a path switched, a rekey) changes
 * the state file, and a burst of them (a reattach storm) would rewrite
 * it once per commit.  The first change after a quiet spell is written at
 * once; changes within state_gap_ms of the last rewrite are folded into
 * one rewrite at its end.  A crash in between loses at most that much:
 * the sessions then are adopted from the kernel as they were before
 * it (adopt.c).
 */
void jvpnd_save_state(struct jvpnd *d)
{
	uint64_t now, when;

	if (!d->state_path[0])
		return;
	d->state_dirty = true;
	if (loop_timer_armed(&d->state_timer)) {
		d->stats.state_saves_deferred++;
		return;
	}
	now = loop_now_ms();
	when = d->state_saved_ms + d->state_gap_ms;
	if (!d->loop || state_write_now(now, d->state_saved_ms, d->state_gap_ms)) {
		state_write(d);
		return;
	}
	if (!d->state_timer.fn)
		loop_timer_setup(&d->state_timer, state_timer_fn, d);
	if (loop_timer_arm(d->loop, &d->state_timer, when)) {
		d->stats.timers_refused++;
		state_write(d);		/* never lose a change */
		return;
	}
	d->stats.state_saves_deferred++;
}

void jvpnd_flush_state(struct jvpnd *d)
{
	if (d->state_timer.fn)
		loop_timer_cancel(d->loop, &d->state_timer);
	if (d->state_path[0] && d->state_dirty)
		state_write(d);
}
