// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: a responder jvpnd's state for N sessions, built with the
 * daemon's own objects in the order jvpnd builds it (main.c set-up,
 * lifecycle.c sess_create() / sess_establish(), roam.c server_up()).
 *
 * What is left out, and why: every kernel call (SESSION_NEW, KEY_NEW,
 * PATH_ADD: the guest's "session scale" section measures those), the
 * Noise handshake itself (measured on its own, cplane_hs.c; the reattach
 * key here is random instead of derived), the sockets, and the state-file
 * rewrite jvpnd does after every established session (timed separately
 * by cplane.c because it is O(N) per session).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cplane.h"

static void timer_noop(struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
}

/* jvpnd_clock(): the monotonic part is the simulation's, wall is real. */
static const struct audit_clock *fx_clock(struct cp_fixture *f)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	f->clk.wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return &f->clk;
}

/* ---- peer side: [Peer] sections ------------------------------------------ */

/* main.c setup_peers(): hs_responder_add_peer() for every peer. */
static int add_hs_peers(struct cp_fixture *f, uint32_t n)
{
	uint64_t t0 = cp_now_ns();
	uint32_t i, idx;

	for (i = 0; i < n; i++)
		if (hs_responder_add_peer(&f->resp, f->cfg[i].public_key, NULL,
					  &idx) || idx != i)
			return -EINVAL;
	f->hs_peers = n;
	f->hs_add_ns = cp_now_ns() - t0;
	return 0;
}

int cp_peers_init(struct cp_fixture *f, uint32_t n)
{
	uint8_t priv[NOISE_DHLEN];
	uint32_t i;
	int ret;

	f->cfg = calloc(n, sizeof(*f->cfg));
	f->peers = calloc(n, sizeof(*f->peers));
	if (!f->cfg || !f->peers)
		return -ENOMEM;
	randombytes_buf(priv, sizeof(priv));
	ret = hs_responder_init(&f->resp, priv, n, f->clk.mono_ms);
	sodium_memzero(priv, sizeof(priv));
	if (ret)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		struct cfg_peer *cp = &f->cfg[i];
		struct peer *p = &f->peers[i];

		/* Stand-in keys: nobody handshakes with this table. */
		randombytes_buf(cp->public_key, sizeof(cp->public_key));
		cp->has_public_key = true;
		cp->allowed_ips[0] = (struct cfg_prefix){ .family = AF_INET,
			.len = 32, .addr = { 10, 128, (uint8_t)(i >> 8),
					     (uint8_t)i } };
		cp->n_allowed_ips = 1;
		p->cfg = cp;
		p->ctx = f;
		p->index = i;
		loop_timer_setup(&p->hs_timer, timer_noop, p);
	}
	return add_hs_peers(f, n);
}

/* ---- session side -------------------------------------------------------- */

/* roam.c lookup_cb(). */
static struct ra_session *lookup_cb(void *ctx, uint32_t id)
{
	struct cp_fixture *f = ctx;
	struct session *s = session_find(&f->st, id);

	if (!s || !s->ra_up || s->role != ROLE_RESPONDER)
		return NULL;
	return &s->ra;
}

/* The kernel switch is not ours to measure: only record it. */
static int commit_cb(void *ctx, const struct ra_commit *c, uint32_t *path_id)
{
	struct cp_fixture *f = ctx;

	f->commits++;
	f->last_commit = *c;
	if (!*path_id)
		*path_id = 2;
	return 0;
}

/*
 * Sessions keep the index of their pending validation: let what is due
 * expire (the FSM goes back to VOLATILE), drop the rest, then the table.
 */
static void server_stop(struct cp_fixture *f)
{
	uint32_t i;

	ra_server_expire(&f->srv, &f->clk, UINT32_MAX);
	for (i = 0; i < f->st.capacity; i++)
		if (session_at(&f->st, i) && f->st.s[i].ra_up)
			ra_server_forget_session(&f->srv, &f->st.s[i].ra);
	ra_server_destroy(&f->srv);
	f->srv_up = false;
}

int cp_server_start(struct cp_fixture *f)
{
	struct ra_server_config rc = {
		.policy = &f->pol,
		.ops = { .lookup = lookup_cb, .commit = commit_cb },
		.ctx = f,
		.store = &store_mem_ops,
		.store_ctx = &f->store,
		.node_id = CP_NODE_ID,
		.owner_ttl_ms = CP_OWNER_TTL_MS,
		.pending_capacity = f->n,
		.audit = &f->audit,
	};

	if (f->srv_up)
		server_stop(f);
	f->srv_up = ra_server_init(&f->srv, &rc, f->clk.mono_ms) == RA_OK;
	return f->srv_up ? 0 : -ENOMEM;
}

/* main.c setup_audit(), roam.c roam_init(), main.c session_table_init(). */
int cp_tables_init(struct cp_fixture *f, uint32_t n)
{
	struct audit_config ac = { .ring_bytes = CP_AUDIT_RING };
	uint8_t key[16];

	f->n = n;
	f->pol.max_sessions = n;
	f->audit_fd = open("/dev/null", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ac.fd = f->audit_fd;
	ac.timeline_sessions = n < AUDIT_TIMELINE_MAX ? n : AUDIT_TIMELINE_MAX;
	randombytes_buf(ac.hash_key, sizeof(ac.hash_key));
	if (f->audit_fd < 0 || audit_init(&f->audit, &ac))
		return -ENOMEM;
	randombytes_buf(key, sizeof(key));
	if (store_mem_init(&f->store, n, key))
		return -ENOMEM;
	if (cp_server_start(f))
		return -ENOMEM;
	return session_table_init(&f->st, n);
}

void cp_audit_flush(struct cp_fixture *f)
{
	audit_flush(&f->audit);
}

/* roam.c expire_timer_fn() every ROAM_EXPIRE_MS, and the audit flush. */
#define CP_EXPIRE_MS		250
#define CP_EXPIRE_BUDGET	256

void cp_tick(struct cp_fixture *f)
{
	audit_flush(&f->audit);
	if (f->clk.mono_ms < f->next_expire_ms)
		return;
	ra_server_expire(&f->srv, &f->clk, CP_EXPIRE_BUDGET);
	store_mem_sweep(&f->store, f->clk.mono_ms, CP_EXPIRE_BUDGET);
	f->next_expire_ms = f->clk.mono_ms + CP_EXPIRE_MS;
}

void cp_path(struct ra_path *p, uint32_t i, bool b)
{
	uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			  (uint8_t)i };

	if (b) {
		ip[0] = 100;
		ip[1] = (uint8_t)(64 + (i >> 16));
	}
	memset(p, 0, sizeof(*p));
	p->socket_id = 1;
	hs_source_set(&p->remote, ip, 4, b ? 40000 : 51820);
}

struct session *cp_session(struct cp_fixture *f, uint32_t i)
{
	return i < f->st.capacity ? session_at(&f->st, i) : NULL;
}

uint32_t cp_unknown_id(struct cp_fixture *f)
{
	uint32_t id;

	do
		id = (uint32_t)cp_rand();
	while (!id || session_find(&f->st, id));
	return id;
}

/* lifecycle.c sess_create(): INIT, audited, HANDSHAKE_STARTED. */
static struct session *create(struct cp_fixture *f, struct peer *p)
{
	struct policy_decision pd = policy_may_add_session(&f->pol, f->st.n);
	struct audit_kv role = { .key = "role", .type = AUDIT_KV_STR,
				 .s = "responder" };
	struct audit_record r = { .type = AUDIT_T_EVENT,
				  .action = AUDIT_ACT_SESSION_CREATED,
				  .extra = &role, .n_extra = 1 };
	struct fsm_result res;
	struct session *s;
	uint32_t id;
	int err = 0;

	if (pd.verdict != POLICY_ALLOW)
		return NULL;
	id = session_random_id(&f->st);
	s = id ? session_alloc(&f->st, id, &err) : NULL;
	if (!s)
		return NULL;
	s->peer = p;
	s->role = ROLE_RESPONDER;
	p->session = s;
	fsm_session_init(&s->fsm, id, f->clk.mono_ms);
	loop_timer_setup(&s->rekey_timer, timer_noop, s);
	loop_timer_setup(&s->keydel_timer, timer_noop, s);
	r.session_id = id;
	audit_emit(&f->audit, &r, fx_clock(f));
	fsm_transition(&s->fsm, FSM_EV_HANDSHAKE_STARTED, FSM_R_NONE,
		       f->clk.mono_ms, &res);
	audit_emit_fsm(&f->audit, &res, 0, 0, fx_clock(f), NULL, 0);
	return s;
}

/* sess_establish() without program_kernel(): the path it would add. */
static void establish(struct cp_fixture *f, struct session *s, uint32_t i)
{
	struct session_path *sp = &s->paths[0];
	struct sockaddr_in *sin = (struct sockaddr_in *)&sp->remote;
	struct fsm_result res;
	struct ra_path a;

	s->peer_id = randombytes_random() | 1;
	s->in_kernel = true;
	s->key_id = 1;
	cp_path(&a, i, false);
	sp->id = s->next_path_id++;
	sp->sock_id = a.socket_id;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(a.remote.port);
	memcpy(&sin->sin_addr, a.remote.addr, 4);
	s->active_path = sp->id;
	s->n_paths = 1;
	randombytes_buf(s->reattach_key, sizeof(s->reattach_key));
	s->established_ms = s->key_installed_ms = f->clk.mono_ms;
	fsm_transition(&s->fsm, FSM_EV_HANDSHAKE_COMPLETE, FSM_R_NONE,
		       f->clk.mono_ms, &res);
	audit_emit_fsm(&f->audit, &res, 0, s->active_path, fx_clock(f),
		       NULL, 0);
	s->peer->handshakes_ok++;
}

/* roam.c roam_session_up() -> server_up(). */
static int server_up(struct cp_fixture *f, struct session *s)
{
	const struct session_path *ap = session_active_path(s);
	struct store_record rec;
	struct ra_path active;

	policy_counters_init(&s->pc, s->established_ms);
	memset(&active, 0, sizeof(active));
	active.socket_id = ap->sock_id;
	active.path_id = ap->id;
	if (hs_source_from_sockaddr(&active.remote,
				    (const struct sockaddr *)&ap->remote,
				    sizeof(struct sockaddr_in)))
		return -EINVAL;
	if (store_mem_ops.cas(&f->store, s->local_id, 0, CP_NODE_ID,
			      CP_OWNER_TTL_MS, f->clk.mono_ms, &rec))
		return -EEXIST;
	if (ra_session_init(&s->ra, s->local_id, s->peer_id, s->reattach_key,
			    &s->fsm, &s->pc, &active, rec.version, &f->pol,
			    f->clk.mono_ms))
		return -EINVAL;
	loop_timer_setup(&s->ra_timer, timer_noop, s);
	s->ra_up = true;
	return 0;
}

int cp_install(struct cp_fixture *f, uint32_t i)
{
	struct session *s = create(f, &f->peers[i]);

	if (!s)
		return -ENOSPC;
	establish(f, s, i);
	return server_up(f, s);
}

void cp_fixture_destroy(struct cp_fixture *f)
{
	uint32_t i;

	if (f->srv_up)
		server_stop(f);
	for (i = 0; i < f->st.capacity; i++)
		if (session_at(&f->st, i))
			ra_session_wipe(&f->st.s[i].ra);
	session_table_destroy(&f->st);
	store_mem_destroy(&f->store);
	audit_destroy(&f->audit);
	if (f->audit_fd >= 0)
		close(f->audit_fd);
	if (f->peers || f->cfg)
		hs_responder_destroy(&f->resp);
	free(f->peers);
	free(f->cfg);
	memset(f, 0, sizeof(*f));
	f->audit_fd = -1;
}

void cp_other_path(const struct session *s, struct ra_path *p)
{
	uint32_t i = s->peer->index;

	cp_path(p, i, false);
	if (ra_path_equal(p, &s->ra.active))
		cp_path(p, i, true);
}
