// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd restart: adopt the sessions a previous jvpnd left in the kernel.
 *
 * The kernel kept forwarding while no daemon ran.  A kernel session is
 * adopted when the state file has a record with the same local id, peer
 * id and primary key id, for a peer that is still configured with the
 * same role; any other kernel session is removed (and audited), since no
 * one could rekey or account for it.
 *
 * The previous daemon's sockets are still attached (the kernel holds
 * their files) and still receive on their ports, but nobody reads their
 * control messages any more.  The new daemon bound the same ports
 * (SO_REUSEPORT, see net.h) and attached its own sockets before calling
 * this; each adopted path is re-pointed to the new socket of the same
 * family and port: the active one by PATH_ADD + versioned PATH_ACTIVATE
 * + PATH_DEL of the old (make-before-break, no gap in TX), the standby
 * ones by PATH_DEL + PATH_ADD.  Then the old sockets are detached, which
 * drops the kernel's last reference and closes them.  Keys, counters
 * and the replay window are untouched throughout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jvpnd.h"
#include "state.h"

struct adopt_ctx {
	struct kernel_session *ks;
	size_t n, cap;
};

static int collect(const struct kernel_session *ks, void *arg)
{
	struct adopt_ctx *c = arg;

	/* No requests inside a dump: copy now, act afterwards. */
	if (c->n < c->cap)
		c->ks[c->n++] = *ks;
	return 0;
}

static const struct state_record *find_record(const struct state_record *r,
					      size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].local_id == id)
			return &r[i];
	return NULL;
}

static struct peer *find_peer(struct jvpnd *d, const uint8_t *pub)
{
	unsigned int i;

	for (i = 0; i < d->n_peers; i++)
		if (!sodium_memcmp(d->peers[i].cfg->public_key, pub,
				   JVPN_KEY_LEN))
			return &d->peers[i];
	return NULL;
}

static const char *mismatch(const struct kernel_session *ks,
			    const struct state_record *r, const struct peer *p)
{
	if (!r)
		return "no_record";
	if (!p)
		return "peer_not_configured";
	if (p->session)
		return "peer_has_session";
	if (r->initiator != p->initiator)
		return "role_changed";
	if (r->peer_id != ks->peer_id)
		return "peer_id_mismatch";
	if (!ks->has_key[0] || ks->key_id[0] != r->key_id)
		return "key_mismatch";
	if (fsm_is_terminal(r->state))
		return "terminated";
	return NULL;
}

static void remove_unknown(struct jvpnd *d, const struct kernel_session *ks,
			   const char *why)
{
	if (kernel_session_del(&d->k, ks->id))
		d->stats.kernel_errors++;
	d->stats.sessions_removed++;
	jvpnd_audit(d, AUDIT_T_SECURITY, AUDIT_ACT_SESSION_REMOVED, ks->id,
		    &(struct audit_kv){ .key = "why", .type = AUDIT_KV_STR,
					.s = why }, 1);
}

/* Our socket with the old one's family and port (else just the family). */
static struct net_sock *new_sock_for(struct jvpnd *d,
				     const struct kernel_dev *dev,
				     const struct kernel_path *kp)
{
	unsigned int i, j;

	for (i = 0; i < dev->n_sockets; i++) {
		if (dev->sockets[i].id != kp->sock_id)
			continue;
		for (j = 0; j < d->net.n; j++)
			if (d->net.s[j].family == dev->sockets[i].family &&
			    d->net.s[j].port == dev->sockets[i].port)
				return &d->net.s[j];
	}
	return net_sock_family(&d->net, kp->remote.ss_family);
}

static uint32_t max_path_id(const struct kernel_session *ks)
{
	uint32_t m = 0;
	unsigned int i;

	for (i = 0; i < ks->n_paths; i++)
		if (ks->paths[i].id > m)
			m = ks->paths[i].id;
	return m;
}

static int repoint_active(struct jvpnd *d, struct session *s,
			  const struct kernel_path *kp, uint32_t nid,
			  struct net_sock *ns)
{
	struct kernel_session now;
	uint64_t v;
	int ret;

	ret = kernel_path_add(&d->k, s->local_id, nid, ns->kid,
			      (const void *)&kp->remote);
	if (!ret)
		ret = kernel_session_get(&d->k, s->local_id, &now);
	if (!ret)
		ret = kernel_path_activate(&d->k, s->local_id, nid,
					   now.state_version, &v);
	if (!ret)
		ret = kernel_path_del(&d->k, s->local_id, kp->id);
	if (!ret) {
		struct audit_record r = {
			.type = AUDIT_T_EVENT,
			.action = AUDIT_ACT_PATH_SWITCHED,
			.session_id = s->local_id, .fields = AUDIT_F_PATHS,
			.path_old = kp->id, .path_new = nid,
			.extra = &(struct audit_kv){ .key = "why",
						     .type = AUDIT_KV_STR,
						     .s = "daemon_restart" },
			.n_extra = 1,
		};
		struct audit_clock clk;

		jvpnd_clock(&clk);
		audit_emit(&d->audit, &r, &clk);
	}
	return ret;
}

static void repoint_paths(struct jvpnd *d, struct session *s,
			  const struct kernel_session *ks,
			  const struct kernel_dev *dev)
{
	uint32_t nid = max_path_id(ks);
	unsigned int i;

	s->n_paths = 0;
	for (i = 0; i < ks->n_paths; i++) {
		const struct kernel_path *kp = &ks->paths[i];
		struct session_path *sp = session_path_slot(&d->st, s);
		struct net_sock *ns;
		int ret = 0;

		if (!sp) {
			d->stats.kernel_errors++;
			continue;
		}
		sp->id = kp->id;
		sp->sock_id = kp->sock_id;
		memcpy(&sp->remote, &kp->remote, sizeof(sp->remote));
		ns = net_is_ours(&d->net, kp->sock_id) ? NULL :
		     new_sock_for(d, dev, kp);
		if (ns && kp->active) {
			ret = repoint_active(d, s, kp, ++nid, ns);
		} else if (ns) {
			ret = kernel_path_del(&d->k, s->local_id, kp->id);
			if (!ret)
				ret = kernel_path_add(&d->k, s->local_id, ++nid,
						      ns->kid,
						      (const void *)&kp->remote);
		}
		if (ret) {
			d->stats.kernel_errors++;
			continue;
		}
		if (ns) {
			sp->id = nid;
			sp->sock_id = ns->kid;
		}
		if (kp->active)
			s->active_path = sp->id;
		s->n_paths++;
	}
	session_paths_compact(&d->st, s);
	s->next_path_id = nid + 1;
}

/* The key slots as the previous daemon left them. */
static void adopt_keys(struct jvpnd *d, struct session *s,
		       const struct kernel_session *ks)
{
	s->key_id = ks->key_id[0];
	s->key_installed_ms = loop_now_ms() - ks->key_age_ms[0];
	if (!ks->has_key[1])
		return;
	if (s->role == ROLE_RESPONDER &&
	    ks->key_id[1] == session_next_key_id(s->key_id)) {
		/* A rekey the old daemon answered but did not swap yet. */
		s->pending_key_id = ks->key_id[1];
		s->swap_pending = true;
		s->swap_due = ks->key_rx[1] > 0;
	} else {
		/* The previous key, kept for stragglers: delete it soon. */
		s->old_key_present = true;
		if (loop_timer_arm(d->loop, &s->keydel_timer,
				   loop_now_ms() + JVPND_KEY_GRACE_MS))
			d->stats.timers_refused++;
	}
}

/*
 * The persisted state may be VOLATILE, RECOVERING or DEGRADED while the
 * kernel heard from the peer since (its PATH_ALIVE went to a daemon that
 * was not running): recent authenticated RX means the path works.  Otherwise the
 * loss is handled as if just reported: a client reattaches, a server
 * starts its recovery window (roam.c).
 */
static void adopt_liveness(struct jvpnd *d, struct session *s,
			   const struct kernel_session *ks)
{
	/* An exchange in flight died with the previous daemon. */
	if (s->fsm.state == FSM_RECOVERING)
		sess_step(d, s, FSM_EV_REATTACH_FAILED, FSM_R_REATTACH_FAILED);
	if (s->fsm.state != FSM_VOLATILE && s->fsm.state != FSM_DEGRADED)
		return;
	if (ks->last_rx_ms < d->cfg.policy.transport_loss_ttl_ms) {
		sess_step(d, s, FSM_EV_PATH_ALIVE, FSM_R_NONE);
		return;
	}
	roam_path_silent(d, s, s->active_path);
}

static void adopt_one(struct jvpnd *d, const struct kernel_session *ks,
		      const struct state_record *r, struct peer *p,
		      const struct kernel_dev *dev)
{
	struct session *s;
	int err;

	s = session_alloc(&d->st, ks->id, &err);
	if (!s) {
		remove_unknown(d, ks, "session_table_full");
		return;
	}
	s->peer = p;
	p->session = s;
	s->role = r->initiator ? ROLE_INITIATOR : ROLE_RESPONDER;
	s->peer_id = ks->peer_id;
	s->in_kernel = true;
	s->adopted = true;
	s->established_ms = loop_now_ms();
	memcpy(s->reattach_key, r->reattach_key, sizeof(s->reattach_key));
	sess_setup_timers(d, s);
	/*
	 * Restoring persisted FSM state is the one write to fsm_session
	 * outside fsm.c: it continues the previous daemon's history (same
	 * state, same version) rather than making a transition.
	 */
	fsm_session_init(&s->fsm, ks->id, loop_now_ms());
	s->fsm.state = r->state;
	s->fsm.state_version = r->version;
	adopt_keys(d, s, ks);
	repoint_paths(d, s, ks, dev);
	if (s->swap_due) {
		s->swap_due = false;
		sess_key_swap(d, s);
	}
	sess_arm_rekey(d, s, ks->key_age_ms[0]);
	roam_session_up(d, s);
	d->adopted++;
	jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_SESSION_CREATED, ks->id,
		    (struct audit_kv[]){
			{ .key = "adopted", .type = AUDIT_KV_BOOL, .b = true },
			{ .key = "state", .type = AUDIT_KV_STR,
			  .s = fsm_state_name(r->state) },
			{ .key = "version", .type = AUDIT_KV_U64,
			  .u = r->version },
		    }, 3);
	adopt_liveness(d, s, ks);
}

static void detach_old_sockets(struct jvpnd *d, const struct kernel_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->n_sockets; i++) {
		if (net_is_ours(&d->net, dev->sockets[i].id))
			continue;
		/* EBUSY: a path we could not move still uses it. */
		if (kernel_socket_detach(&d->k, dev->sockets[i].id))
			d->stats.kernel_errors++;
	}
}

int adopt_sessions(struct jvpnd *d)
{
	struct state_record *recs = NULL;
	struct adopt_ctx c = { 0 };
	struct kernel_dev dev;
	unsigned int bad;
	size_t n_recs, i;
	int ret;

	ret = kernel_dev_get(&d->k, &dev);
	if (ret)
		return ret;
	ret = state_load(d->state_path, d->st.capacity, &recs, &n_recs, &bad);
	if (ret)
		fprintf(stderr, "jvpnd: %s: %s (adopting nothing)\n",
			d->state_path, strerror(-ret));
	c.cap = dev.n_sessions + 1;
	c.ks = calloc(c.cap, sizeof(*c.ks));
	if (!c.ks) {
		free(recs);
		return -ENOMEM;
	}
	ret = kernel_session_dump(&d->k, collect, &c);
	for (i = 0; !ret && i < c.n; i++) {
		const struct state_record *r = find_record(recs, n_recs,
							   c.ks[i].id);
		struct peer *p = r ? find_peer(d, r->peer_pub) : NULL;
		const char *why = mismatch(&c.ks[i], r, p);

		if (why)
			remove_unknown(d, &c.ks[i], why);
		else
			adopt_one(d, &c.ks[i], r, p, &dev);
	}
	if (!ret)
		detach_old_sockets(d, &dev);
	if (recs)
		sodium_memzero(recs, n_recs * sizeof(*recs));
	free(recs);
	free(c.ks);
	jvpnd_save_state(d);
	return ret;
}
