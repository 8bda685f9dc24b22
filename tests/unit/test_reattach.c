// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Reattach and path-probe protocol (daemon/reattach.c): client and server
 * talking through the layer with a fake clock, fake commits and the
 * embedded ownership store.  Happy path through the challenge, the
 * validated-standby fast path, every refusal, NAT rebinding, flapping
 * into DEGRADED, the recovery window into TERMINATED, single-bit flips
 * of every message, and key rollover across a rekey (old key accepted
 * in the grace only, answers under the key the peer used, replays still
 * refused, old keys wiped).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <linux/jvpn.h>

#include "tap.h"
#include "../../daemon/reattach.h"

#define SRV_ID		0x0a0b0c0du	/* server's local id */
#define SRV_ID2		0x01020304u	/* a second server session */
#define CLI_ID		0x11121314u	/* client's local id */
#define NODE_A		7u
#define NODE_B		8u
#define N_CAND		3		/* client paths: 0 active, 1, 2 */

static const uint8_t hkey[16] = { 9, 8, 7, 6, 5, 4, 3, 2,
				  1, 0, 1, 2, 3, 4, 5, 6 };

struct side_commit {
	unsigned int calls;
	int fail;		/* returned by the next call if != 0 */
	struct ra_commit last;
	uint32_t next_path_id;
};

struct fixture {
	struct jvpn_policy pol;
	struct audit audit;
	struct audit_clock clk;
	struct store_mem store;
	/* server */
	struct ra_server srv;
	struct fsm_session sfsm[2];
	struct policy_counters spc[2];
	struct ra_session ss[2];
	struct side_commit scommit;
	/* client */
	struct ra_client cl;
	struct fsm_session cfsm;
	struct policy_counters cpc;
	struct side_commit ccommit;
	struct ra_path cpath[N_CAND];	/* client's view: socket i -> srv */
	struct ra_path spath[N_CAND];	/* server's view of the same */
	uint8_t key[JVPN_REATTACH_KEY_LEN];
};

static struct fixture F;

static struct ra_session *lookup(void *ctx, uint32_t id)
{
	struct fixture *f = ctx;

	if (id == SRV_ID)
		return &f->ss[0];
	if (id == SRV_ID2)
		return &f->ss[1];
	return NULL;
}

static int commit_cb(struct side_commit *sc, const struct ra_commit *c,
		     uint32_t *path_id)
{
	int ret = sc->fail;

	sc->calls++;
	sc->last = *c;
	sc->fail = 0;
	if (ret)
		return ret;
	if (!c->new_path.path_id)
		*path_id = ++sc->next_path_id + 100;
	return 0;
}

static int srv_commit(void *ctx, const struct ra_commit *c, uint32_t *path_id)
{
	return commit_cb(&((struct fixture *)ctx)->scommit, c, path_id);
}

static int cli_commit(void *ctx, const struct ra_commit *c, uint32_t *path_id)
{
	return commit_cb(&((struct fixture *)ctx)->ccommit, c, path_id);
}

static void mkpath(struct ra_path *p, uint32_t sock, uint8_t last_octet,
		   uint16_t port, uint32_t path_id)
{
	uint8_t ip[4] = { 192, 0, 2, last_octet };

	memset(p, 0, sizeof(*p));
	p->socket_id = sock;
	p->path_id = path_id;
	hs_source_set(&p->remote, ip, 4, port);
}

static void attach(struct fsm_session *fsm, uint32_t id)
{
	struct fsm_result r;

	fsm_session_init(fsm, id, 0);
	fsm_transition(fsm, FSM_EV_HANDSHAKE_STARTED, FSM_R_NONE, 0, &r);
	fsm_transition(fsm, FSM_EV_HANDSHAKE_COMPLETE, FSM_R_NONE, 0, &r);
}

static void fixture_server(uint32_t pending_cap)
{
	struct ra_server_config cfg = {
		.policy = &F.pol,
		.ops = { .lookup = lookup, .commit = srv_commit },
		.ctx = &F,
		.store = &store_mem_ops,
		.store_ctx = &F.store,
		.node_id = NODE_A,
		.owner_ttl_ms = 3600000,
		.pending_capacity = pending_cap,
		.audit = &F.audit,
	};
	unsigned int i;

	store_mem_init(&F.store, 16, hkey);
	for (i = 0; i < 2; i++) {
		uint32_t id = i ? SRV_ID2 : SRV_ID;

		attach(&F.sfsm[i], id);
		policy_counters_init(&F.spc[i], 0);
		ra_session_init(&F.ss[i], id, CLI_ID, F.key, &F.sfsm[i],
				&F.spc[i], &F.spath[0], RA_EPOCH_INITIAL,
				&F.pol, 0);
		store_mem_ops.cas(&F.store, id, 0, NODE_A, 3600000, 0, NULL);
	}
	ra_server_init(&F.srv, &cfg, 0);
}

static void fixture_client(void)
{
	struct ra_client_config cfg = {
		.policy = &F.pol, .commit = cli_commit, .ctx = &F,
		.audit = &F.audit,
	};
	unsigned int i;

	attach(&F.cfsm, CLI_ID);
	policy_counters_init(&F.cpc, 0);
	ra_client_init(&F.cl, &cfg, CLI_ID, SRV_ID, F.key, &F.cfsm, &F.cpc,
		       &F.cpath[0], 0);
	for (i = 0; i < N_CAND; i++)
		ra_client_add_candidate(&F.cl, &F.cpath[i], NULL);
}

/* pol_tweak may change the policy before anything reads it. */
static void setup(void (*pol_tweak)(struct jvpn_policy *), uint32_t cap)
{
	struct audit_config ac = { .ring_bytes = 1 << 20, .fd = -1 };
	unsigned int i;

	memset(&F, 0, sizeof(F));
	policy_defaults(&F.pol);
	if (pol_tweak)
		pol_tweak(&F.pol);
	audit_init(&F.audit, &ac);
	randombytes_buf(F.key, sizeof(F.key));
	for (i = 0; i < N_CAND; i++) {
		mkpath(&F.cpath[i], i + 1, 1, 51820, i ? 0 : 1);
		mkpath(&F.spath[i], 1, (uint8_t)(10 + i), 40000, i ? 0 : 1);
	}
	F.clk.mono_ms = 1000;
	fixture_server(cap);
	fixture_client();
}

static void teardown(void)
{
	ra_client_destroy(&F.cl);
	ra_server_destroy(&F.srv);
	ra_session_wipe(&F.ss[0]);
	ra_session_wipe(&F.ss[1]);
	store_mem_destroy(&F.store);
	audit_destroy(&F.audit);
}

/* Server path of the client's path. */
static const struct ra_path *sp(const struct ra_path *cp)
{
	int i = ra_client_find_candidate(&F.cl, cp);

	return &F.spath[i < 0 ? 0 : i];
}

/* A REQ built by hand (for refusals the client would never produce). */
static void mk_req(uint8_t m[RA_REQ_LEN], uint32_t sid, uint64_t counter,
		   uint64_t version, uint8_t reason)
{
	uint64_t v[3] = { counter, 1234, version };
	unsigned int i, j;

	memset(m, 0, RA_REQ_LEN);
	m[0] = JVPN_MSG_REATTACH_REQ;
	for (i = 0; i < 4; i++)
		m[4 + i] = (uint8_t)(sid >> (24 - 8 * i));
	for (j = 0; j < 3; j++)
		for (i = 0; i < 8; i++)
			m[8 + 8 * j + i] = (uint8_t)(v[j] >> (56 - 8 * i));
	m[RA_REQ_OFF_REASON] = reason;
	ra_mac(m + RA_REQ_OFF_MAC, F.key, m, RA_REQ_OFF_MAC);
}

static int srv_in(const uint8_t *m, size_t len, const struct ra_path *from,
		  struct ra_output *out)
{
	return ra_server_handle(&F.srv, m, len, from, &F.clk, out);
}

static void lose_path(void)
{
	struct fsm_result r;

	fsm_transition(&F.cfsm, FSM_EV_TRANSPORT_LOST, FSM_R_LINK_DOWN,
		       F.clk.mono_ms, &r);
}

/* Probe candidate i twice through the server: the second echo validates. */
static void probe_twice(uint32_t i)
{
	struct ra_output po, ro;
	unsigned int k;

	for (k = 0; k < 2; k++) {
		F.clk.mono_ms += F.pol.probe_interval_ms;
		ra_client_probe(&F.cl, i, F.clk.mono_ms, &po, NULL);
		srv_in(po.msg, po.len, sp(&po.to), &ro);
		F.clk.mono_ms += 20;
		ra_client_handle_probe_reply(&F.cl, i, ro.msg, ro.len,
					     F.clk.mono_ms);
	}
}

/*
 * Full switch with a challenge: REQ -> CHALLENGE -> RESP -> CONFIRM.
 * Returns 0 if every step did what it should.
 */
static int switch_with_challenge(enum ra_reason why, int *commits)
{
	struct ra_client_result res;
	struct ra_output out, out2;
	struct ra_path to;
	int bad = 0;

	bad |= ra_client_start(&F.cl, why, &F.clk, &res) != RA_OK;
	bad |= res.action != RA_ACT_SEND;
	to = res.out.to;
	bad |= srv_in(res.out.msg, res.out.len, sp(&to), &out) != 0;
	bad |= out.len != RA_CHAL_LEN || out.committed;
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &to, &F.clk,
				   &res);
	bad |= res.action != RA_ACT_SEND;
	bad |= srv_in(res.out.msg, res.out.len, sp(&to), &out2) != 0;
	bad |= !out2.committed;
	ra_client_handle_challenge(&F.cl, out2.msg, out2.len, &to, &F.clk,
				   &res);
	bad |= res.action != RA_ACT_ATTACHED;
	if (!bad && commits)
		(*commits)++;
	return bad;
}

/* ---------------------------------------------------------------------- */

static void test_happy_path(void)
{
	struct ra_client_result res;
	struct ra_output chal, conf;
	struct store_record rec;
	const struct ra_path *to;
	struct ra_path cto;

	setup(NULL, 8);
	F.clk.mono_ms = 5000;
	lose_path();
	TAP_EQ_INT(ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res),
		   RA_OK, "client starts a reattach");
	tap_ok(res.action == RA_ACT_SEND && res.out.len == RA_REQ_LEN &&
	       !ra_path_equal(&res.out.to, &F.cpath[0]),
	       "REQ goes out on a candidate, not the dead path");
	cto = res.out.to;
	to = sp(&cto);
	F.clk.mono_ms += 10;
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, to, &chal), RA_OK,
		   "server accepts the REQ");
	tap_ok(chal.len == RA_CHAL_LEN && chal.len <= RA_REQ_LEN &&
	       ra_path_equal(&chal.to, to) && !chal.committed,
	       "CHALLENGE on the new path only, not larger than the REQ");
	TAP_EQ_INT(ra_server_pending_count(&F.srv), 1, "one pending validation");
	TAP_EQ_INT(F.sfsm[0].state, FSM_RECOVERING, "server RECOVERING");
	TAP_EQ_INT(F.scommit.calls, 0, "nothing committed before the echo");
	F.clk.mono_ms += 10;
	ra_client_handle_challenge(&F.cl, chal.msg, chal.len, &cto, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_SEND && res.out.len == RA_RESP_LEN &&
	       ra_path_equal(&res.out.to, &cto),
	       "client answers with RESP on the same path");
	F.clk.mono_ms += 10;
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, to, &conf), RA_OK,
		   "server accepts the RESP");
	tap_ok(conf.committed && conf.msg[RA_CHAL_OFF_FLAGS] ==
	       RA_CHAL_F_COMMITTED, "committed, confirmation sent");
	tap_ok(F.scommit.calls == 1 && ra_path_equal(&F.scommit.last.new_path,
						     to) &&
	       ra_path_equal(&F.scommit.last.old_path, &F.spath[0]) &&
	       F.scommit.last.new_epoch == 2 &&
	       F.scommit.last.recovery_ms == 20 &&
	       !F.scommit.last.validated_standby,
	       "one commit: old/new path, epoch 2, recovery 20 ms from the REQ");
	tap_ok(F.sfsm[0].state == FSM_ATTACHED && F.ss[0].epoch == 2 &&
	       ra_path_equal(&F.ss[0].active, to) &&
	       F.ss[0].active.path_id != 0, "server ATTACHED on the new path");
	store_mem_ops.get(&F.store, SRV_ID, F.clk.mono_ms, &rec);
	TAP_EQ_INT(rec.version, 2, "store version moved by one (CAS)");
	TAP_EQ_INT(ra_server_pending_count(&F.srv), 0, "pending released");
	F.clk.mono_ms += 10;
	ra_client_handle_challenge(&F.cl, conf.msg, conf.len, &cto, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_ATTACHED && F.cfsm.state == FSM_ATTACHED &&
	       F.cl.epoch == 2 && F.ccommit.calls == 1,
	       "client ATTACHED, epoch 2, its kernel committed once");
	tap_ok(audit_get_stats(&F.audit)->emitted >= 5,
	       "STATE_CHANGE and TransportSwitch records emitted");
	teardown();
}

/*
 * The server commits but its confirmation is lost; the client learns the
 * new epoch from a probe reply while it backs off, and its next REQ on the
 * same path is confirmed again with that same epoch: the client must take
 * it (the path is already the server's), not refuse it as stale.
 */
static void test_lost_confirmation_resync(void)
{
	struct ra_client_result res;
	struct ra_output chal, conf, po, ro;
	struct ra_path cto;
	unsigned int i;
	int idx, err = -1;

	setup(NULL, 8);
	F.clk.mono_ms = 5000;
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	cto = res.out.to;
	srv_in(res.out.msg, res.out.len, sp(&cto), &chal);
	ra_client_handle_challenge(&F.cl, chal.msg, chal.len, &cto, &F.clk,
				   &res);
	srv_in(res.out.msg, res.out.len, sp(&cto), &conf);
	tap_ok(conf.committed && F.ss[0].epoch == 2,
	       "lost confirmation: the server committed (epoch 2)");
	/* The confirmation never arrives: the answer timeout passes. */
	for (i = 0; i < 20 && F.cl.phase != RA_CL_BACKOFF; i++) {
		F.clk.mono_ms += 100;
		ra_client_tick(&F.cl, &F.clk, &res);
	}
	idx = ra_client_find_candidate(&F.cl, &cto);
	ra_client_probe(&F.cl, (uint32_t)idx, F.clk.mono_ms, &po, NULL);
	srv_in(po.msg, po.len, sp(&po.to), &ro);
	ra_client_handle_probe_reply(&F.cl, (uint32_t)idx, ro.msg, ro.len,
				     F.clk.mono_ms);
	TAP_EQ_INT(F.cl.epoch, 2, "lost confirmation: epoch learned from a probe reply");
	/* Other candidates get no answer (dead); wait for the turn of cto. */
	for (i = 0; i < 45; i++) {
		F.clk.mono_ms += 100;
		ra_client_tick(&F.cl, &F.clk, &res);
		if (res.action == RA_ACT_SEND && res.out.len == RA_REQ_LEN &&
		    ra_path_equal(&res.out.to, &cto))
			break;
	}
	tap_ok(ra_path_equal(&res.out.to, &cto),
	       "lost confirmation: the client asks again on that path");
	srv_in(res.out.msg, res.out.len, sp(&cto), &conf);
	tap_ok(!conf.committed && conf.msg[RA_CHAL_OFF_FLAGS] ==
	       RA_CHAL_F_COMMITTED, "... the server confirms again, epoch 2");
	err = ra_client_handle_challenge(&F.cl, conf.msg, conf.len, &cto,
					 &F.clk, &res);
	tap_ok(err == RA_OK && res.action == RA_ACT_ATTACHED &&
	       F.cfsm.state == FSM_ATTACHED && F.ccommit.calls == 1 &&
	       ra_path_equal(&F.cl.active, &cto),
	       "... and the client takes it: ATTACHED on that path");
	teardown();
}

/*
 * A standby path that died (MaxProbes unanswered, given up) and came back:
 * its first answer wipes the outage from the loss estimate, so it is a
 * usable candidate at once instead of after 32 more probes.
 */
static void test_probe_revival(void)
{
	struct ra_output po, ro;
	struct path_quality q;
	unsigned int i;

	setup(NULL, 8);
	probe_twice(1);
	for (i = 0; i < F.pol.max_probes; i++) {
		F.clk.mono_ms += F.pol.probe_interval_ms;
		ra_client_probe(&F.cl, 1, F.clk.mono_ms, &po, NULL);
	}
	F.clk.mono_ms += 5000;
	ra_client_quality(&F.cl, 1, &q);
	tap_ok(q.loss_permille > (uint32_t)F.pol.max_loss_percent * 10,
	       "revival: the dead standby is below the loss floor");
	F.clk.mono_ms += (uint64_t)F.pol.probe_interval_ms * F.pol.max_probes;
	TAP_EQ_INT(ra_client_probe(&F.cl, 1, F.clk.mono_ms, &po, NULL), RA_OK,
		   "revival: the given-up path is retried");
	srv_in(po.msg, po.len, sp(&po.to), &ro);
	F.clk.mono_ms += 20;
	TAP_EQ_INT(ra_client_handle_probe_reply(&F.cl, 1, ro.msg, ro.len,
						F.clk.mono_ms), RA_OK,
		   "revival: its answer is accepted");
	ra_client_quality(&F.cl, 1, &q);
	TAP_EQ_INT(q.loss_permille, 0, "revival: the outage no longer counts as loss");
	teardown();
}

/*
 * A new standby (or one roam_link_up() reset) whose first probe went out
 * before the peer's end was up: that loss says nothing about the path.
 * Its first answer starts the loss window, so the path is a candidate at
 * once; a probe still in flight then is kept and its answer counts.
 */
static void test_probe_first_answer(void)
{
	struct ra_output lost, po, inflight, ro, ro2;
	struct path_quality q;
	uint32_t idx;

	setup(NULL, 8);
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, 1, F.clk.mono_ms, &lost, NULL);
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, 1, F.clk.mono_ms, &po, NULL);
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, 1, F.clk.mono_ms, &inflight, NULL);
	srv_in(po.msg, po.len, sp(&po.to), &ro);
	srv_in(inflight.msg, inflight.len, sp(&inflight.to), &ro2);
	F.clk.mono_ms += 20;
	TAP_EQ_INT(ra_client_handle_probe_reply(&F.cl, 1, ro.msg, ro.len,
						F.clk.mono_ms), RA_OK,
		   "first answer: accepted");
	ra_client_quality(&F.cl, 1, &q);
	TAP_EQ_INT(q.loss_permille, 0,
		   "first answer: the probe before it is not counted lost");
	TAP_EQ_INT(ra_client_choose(&F.cl, F.clk.mono_ms, &idx), RA_OK,
		   "first answer: a candidate at once");
	TAP_EQ_INT(ra_client_handle_probe_reply(&F.cl, 1, ro2.msg, ro2.len,
						F.clk.mono_ms + 5), RA_OK,
		   "first answer: the probe in flight is still known");
	/* Later losses count: the path is measured from here on. */
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, 1, F.clk.mono_ms, &lost, NULL);
	F.clk.mono_ms += 5000;
	ra_client_probe(&F.cl, 1, F.clk.mono_ms, &po, NULL);
	ra_client_quality(&F.cl, 1, &q);
	TAP_EQ_INT(q.loss_permille, 333,
		   "after the first answer a lost probe is a loss (1 of 3)");
	teardown();
}

static void test_standby_fast_path(void)
{
	struct ra_client_result res;
	struct ra_output conf;
	struct ra_path cto;
	uint32_t idx;

	setup(NULL, 8);
	probe_twice(1);
	tap_ok(ra_server_path_validated(&F.srv, &F.ss[0], &F.spath[1],
					F.clk.mono_ms),
	       "server: a probe echoing its token validated the path");
	tap_ok(!ra_server_path_validated(&F.srv, &F.ss[0], &F.spath[2],
					 F.clk.mono_ms),
	       "an unprobed path is not validated");
	tap_ok(ra_client_validated(&F.cl, 1, F.clk.mono_ms) &&
	       ra_client_choose(&F.cl, F.clk.mono_ms, &idx) == 0 && idx == 1,
	       "client: validated candidate chosen first");
	ra_client_start(&F.cl, RA_REASON_BETTER_PATH, &F.clk, &res);
	cto = res.out.to;
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&cto), &conf),
		   RA_OK, "server accepts the REQ");
	tap_ok(conf.committed && F.scommit.last.validated_standby &&
	       ra_server_pending_count(&F.srv) == 0 &&
	       F.srv.stats.challenges_sent == 0,
	       "committed at once: no challenge, no pending state");
	ra_client_handle_challenge(&F.cl, conf.msg, conf.len, &cto, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_ATTACHED && F.cl.epoch == 2 &&
	       F.cfsm.state == FSM_ATTACHED,
	       "one round trip: client ATTACHED");
	F.clk.mono_ms += F.pol.validated_path_ttl_ms;
	tap_ok(!ra_server_path_validated(&F.srv, &F.ss[0], &F.spath[1],
					 F.clk.mono_ms),
	       "validation lapses after ValidatedPathTtlMs");
	teardown();
}

static void big_session_rate(struct jvpn_policy *p)
{
	p->reattach_rate = 1000;
	p->reattach_burst = 1000;
}

static void test_refusals(void)
{
	struct ra_output out, chal;
	uint8_t m[RA_REQ_LEN], r[RA_RESP_LEN];
	uint64_t refused;

	setup(big_session_rate, 8);
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	m[RA_REQ_OFF_MAC] ^= 1;
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_MAC,
		   "forged MAC refused");
	tap_ok(out.len == 0 && F.ss[0].last_counter == 0,
	       "nothing sent, counter not consumed by a forgery");
	mk_req(m, 0xdeadbeef, 1, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out),
		   RA_E_UNKNOWN_SESSION, "unknown session refused");
	tap_ok(ra_server_pending_count(&F.srv) == 0 && F.srv.n_pending == 0 &&
	       F.srv.free_head == RA_NONE && F.srv.fresh_pending == 0,
	       "no pending state allocated for it");
	mk_req(m, SRV_ID, 1, 5, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_VERSION,
		   "stale/foreign path epoch refused");
	mk_req(m, SRV_ID, 2, 1, 9);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_REASON,
		   "unknown reason refused");
	mk_req(m, SRV_ID, 3, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &chal), RA_OK,
		   "fresh REQ accepted");
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_REPLAY,
		   "replayed REQ refused");
	mk_req(m, SRV_ID, 2, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_E_REPLAY,
		   "older counter from another path refused");
	/* A RESP with a valid MAC but a wrong echo. */
	memset(r, 0, sizeof(r));
	r[0] = JVPN_MSG_REATTACH_RESP;
	memcpy(r + 4, (uint8_t[]){ 0x0a, 0x0b, 0x0c, 0x0d }, 4);
	r[15] = 3;
	memcpy(r + RA_RESP_OFF_CHALLENGE, chal.msg + RA_CHAL_OFF_CHALLENGE, 8);
	r[RA_RESP_OFF_CHALLENGE] ^= 0x80;
	ra_mac(r + RA_RESP_OFF_MAC, F.key, r, RA_RESP_OFF_MAC);
	TAP_EQ_INT(srv_in(r, sizeof(r), &F.spath[1], &out), RA_E_CHALLENGE,
		   "wrong challenge echo refused");
	r[RA_RESP_OFF_CHALLENGE] ^= 0x80;
	ra_mac(r + RA_RESP_OFF_MAC, F.key, r, RA_RESP_OFF_MAC);
	TAP_EQ_INT(srv_in(r, sizeof(r), &F.spath[2], &out),
		   RA_E_PATH_MISMATCH, "right echo from another path refused");
	tap_ok(F.scommit.calls == 0 && ra_server_pending_count(&F.srv) == 1,
	       "no commit; the validation is still pending");
	TAP_EQ_INT(srv_in(r, sizeof(r), &F.spath[1], &out), RA_OK,
		   "right echo from the challenged path commits");
	TAP_EQ_INT(srv_in(r, sizeof(r), &F.spath[1], &out), RA_E_NO_PENDING,
		   "RESP replayed after the commit refused");
	refused = F.srv.stats.refused[-RA_E_MAC];
	TAP_EQ_INT(refused, 1, "refusals counted per error");
	teardown();

	/* Expiry of a pending validation. */
	setup(NULL, 8);
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	srv_in(m, sizeof(m), &F.spath[1], &chal);
	F.clk.mono_ms += RA_PENDING_TTL_MS_DEFAULT;
	TAP_EQ_INT(ra_server_expire(&F.srv, &F.clk, 16), 0,
		   "expiry pass: nothing left pending");
	tap_ok(ra_server_pending_count(&F.srv) == 0 &&
	       F.sfsm[0].state == FSM_VOLATILE,
	       "expired validation: server RECOVERING -> VOLATILE");
	teardown();
}

static void one_global(struct jvpn_policy *p)
{
	big_session_rate(p);
	p->global_reattach_rate = 1;
	p->global_reattach_burst = 2;
}

static void test_rates(void)
{
	struct ra_output out;
	uint8_t m[RA_REQ_LEN];
	unsigned int i;
	int err = 0;

	setup(NULL, 8);
	for (i = 1; i <= F.pol.reattach_burst + 1 && !err; i++) {
		mk_req(m, SRV_ID, i, 1, RA_REASON_PATH_LOST);
		err = srv_in(m, sizeof(m), &F.spath[1], &out);
	}
	TAP_EQ_INT(err, RA_E_RATE_SESSION,
		   "per-session rate: REQ beyond ReattachBurst refused");
	TAP_EQ_INT(i - 1, F.pol.reattach_burst + 1, "... exactly after the burst");
	teardown();

	setup(one_global, 8);
	for (i = 1, err = 0; i <= 3 && !err; i++) {
		mk_req(m, i == 2 ? SRV_ID2 : SRV_ID, i, 1,
		       RA_REASON_PATH_LOST);
		err = srv_in(m, sizeof(m), &F.spath[1], &out);
	}
	TAP_EQ_INT(err, RA_E_RATE_GLOBAL,
		   "global rate: third REQ across sessions refused");
	teardown();

	/* Forgeries naming a real session spend no budget of its owner. */
	setup(one_global, 8);
	for (i = 1; i <= 4 * F.pol.reattach_burst; i++) {
		mk_req(m, SRV_ID, 100 + i, 1, RA_REASON_PATH_LOST);
		m[RA_REQ_OFF_MAC] ^= 1;
		err = srv_in(m, sizeof(m), &F.spath[1], &out);
		if (err != RA_E_MAC)
			break;
	}
	TAP_EQ_INT(err, RA_E_MAC, "forged flood: every forgery refused as MAC");
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_OK,
		   "forged flood: the owner's REQ still admitted");
	teardown();
}

static void test_policy_owner_full(void)
{
	struct ra_output out;
	uint8_t m[RA_REQ_LEN];
	uint64_t t;
	unsigned int i;

	setup(big_session_rate, 1);
	for (i = 0, t = 1000; i < F.pol.max_switches_per_minute; i++)
		policy_note_switch(&F.spc[0], t += F.pol.switch_cooldown_ms);
	F.clk.mono_ms = t + F.pol.switch_cooldown_ms;
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_POLICY,
		   "MaxSwitchesPerMinute reached: REQ refused early");
	tap_ok(out.len == 0 && ra_server_pending_count(&F.srv) == 0 &&
	       F.sfsm[0].state == FSM_ATTACHED,
	       "early rejection: no challenge, no pending, no state change");
	policy_counters_init(&F.spc[0], 0);
	policy_note_switch(&F.spc[0], F.clk.mono_ms - 10);
	mk_req(m, SRV_ID, 2, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_POLICY,
		   "within SwitchCooldownMs: refused");
	policy_counters_init(&F.spc[0], 0);

	/* Pending table of one entry, two sessions. */
	mk_req(m, SRV_ID, 3, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_OK,
		   "session 1 takes the only pending slot");
	mk_req(m, SRV_ID2, 1, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_E_PENDING_FULL,
		   "session 2: pending table full, clean refusal");
	F.clk.mono_ms += RA_PENDING_TTL_MS_DEFAULT;
	mk_req(m, SRV_ID2, 2, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_OK,
		   "an expired entry is reclaimed for a new one");

	/* Ownership: another node took the record over after its expiry. */
	store_mem_ops.del(&F.store, SRV_ID, NODE_A, F.clk.mono_ms);
	store_mem_ops.cas(&F.store, SRV_ID, 0, NODE_B, 1000, F.clk.mono_ms,
			  NULL);
	mk_req(m, SRV_ID, 4, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_NOT_OWNER,
		   "session owned by another node: refused");
	teardown();
}

/* The commit's store CAS loses a race: nothing moves. */
static void test_cas_race(void)
{
	struct ra_output chal, out;
	uint8_t m[RA_REQ_LEN], r[RA_RESP_LEN];

	setup(NULL, 8);
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	srv_in(m, sizeof(m), &F.spath[1], &chal);
	/* Another worker committed meanwhile (version 1 -> 2). */
	store_mem_ops.cas(&F.store, SRV_ID, 1, NODE_A, 3600000, F.clk.mono_ms,
			  NULL);
	memset(r, 0, sizeof(r));
	r[0] = JVPN_MSG_REATTACH_RESP;
	memcpy(r + 4, (uint8_t[]){ 0x0a, 0x0b, 0x0c, 0x0d }, 4);
	r[15] = 1;
	memcpy(r + RA_RESP_OFF_CHALLENGE, chal.msg + RA_CHAL_OFF_CHALLENGE, 8);
	ra_mac(r + RA_RESP_OFF_MAC, F.key, r, RA_RESP_OFF_MAC);
	TAP_EQ_INT(srv_in(r, sizeof(r), &F.spath[1], &out), RA_E_NOT_OWNER,
		   "store CAS on a moved version: refused");
	tap_ok(F.scommit.calls == 0 && !out.committed &&
	       ra_path_equal(&F.ss[0].active, &F.spath[0]) &&
	       F.sfsm[0].state == FSM_VOLATILE,
	       "kernel untouched, path unchanged, REATTACH_FAILED");
	teardown();

	/* The kernel commit fails: no switch either. */
	setup(NULL, 8);
	probe_twice(1);
	F.scommit.fail = -ESTALE;
	mk_req(m, SRV_ID, 1, 1, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[1], &out), RA_E_COMMIT,
		   "kernel PATH_ACTIVATE refused: RA_E_COMMIT");
	tap_ok(!out.committed && ra_path_equal(&F.ss[0].active, &F.spath[0]),
	       "active path unchanged after a failed commit");
	teardown();
}

static void test_amplification_nat(void)
{
	struct ra_client_result res;
	struct ra_output out, conf;
	struct ra_path nat;
	uint8_t m[RA_REQ_LEN];

	setup(NULL, 8);
	/* Same client socket, new source port (NAT rebinding). */
	nat = F.spath[0];
	nat.remote.port = 40001;
	nat.path_id = 0;
	TAP_EQ_INT(ra_server_challenge_source(&F.srv, SRV_ID, &nat, 32,
					      &F.clk, &out),
		   RA_E_AMPLIFICATION,
		   "UNKNOWN_SOURCE credit 32 < 48: no challenge yet");
	tap_ok(out.len == 0 && ra_path_equal(&F.ss[0].active, &F.spath[0]),
	       "nothing sent, session not moved");
	TAP_EQ_INT(ra_server_challenge_source(&F.srv, SRV_ID, &nat, 32,
					      &F.clk, &out), RA_OK,
		   "second event: 64 bytes credited, challenge sent");
	tap_ok(out.len == RA_CHAL_LEN && ra_path_equal(&out.to, &nat) &&
	       out.msg[RA_CHAL_OFF_COUNTER + 7] == 0,
	       "server-initiated challenge (counter 0) to the new source");
	TAP_EQ_INT(ra_server_challenge_source(&F.srv, SRV_ID, &nat, 0,
					      &F.clk, &conf),
		   RA_E_AMPLIFICATION,
		   "a third challenge without new bytes: refused (cap)");
	/* The client answers on its (unchanged) active path. */
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &F.cpath[0],
				   &F.clk, &res);
	tap_ok(res.action == RA_ACT_SEND && res.out.len == RA_RESP_LEN &&
	       F.cfsm.state == FSM_ATTACHED,
	       "client answers the path challenge, its state unchanged");
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, &F.spath[0], &conf),
		   RA_E_PATH_MISMATCH,
		   "answer through the old mapping does not move the session");
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, &nat, &conf), RA_OK,
		   "answer from the rebound source commits");
	tap_ok(conf.committed && ra_path_equal(&F.ss[0].active, &nat) &&
	       F.scommit.last.reason == RA_REASON_NAT_REBIND,
	       "server now sends to the new source (nat_rebind)");
	teardown();

	/* Forged UNKNOWN_SOURCE: attacker address; the client answers from
	 * its real one -> refused; nothing moves.
	 */
	setup(NULL, 8);
	nat = F.spath[2];
	ra_server_challenge_source(&F.srv, SRV_ID, &nat, 100, &F.clk, &out);
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &F.cpath[0],
				   &F.clk, &res);
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, &F.spath[0], &conf),
		   RA_E_PATH_MISMATCH,
		   "forged UNKNOWN_SOURCE: relayed answer from elsewhere refused");
	tap_ok(ra_path_equal(&F.ss[0].active, &F.spath[0]) &&
	       F.scommit.calls == 0, "session stays on its path");
	F.clk.mono_ms += RA_PENDING_TTL_MS_DEFAULT;
	ra_server_expire(&F.srv, &F.clk, 16);
	tap_ok(F.sfsm[0].state == FSM_ATTACHED && !F.ss[0].in_episode,
	       "forged UNKNOWN_SOURCE: unanswered, the session is ATTACHED again");
	teardown();

	/* Client-driven rebinding: REQ on the same client path. */
	setup(NULL, 8);
	lose_path();
	ra_client_start(&F.cl, RA_REASON_NAT_REBIND, &F.clk, &res);
	tap_ok(res.action == RA_ACT_SEND &&
	       ra_path_equal(&res.out.to, &F.cpath[0]),
	       "client asks again on its own path");
	nat = F.spath[0];
	nat.remote.port = 40002;
	nat.path_id = 0;
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, &nat, &out), RA_OK,
		   "server sees a new source: challenge");
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &F.cpath[0],
				   &F.clk, &res);
	srv_in(res.out.msg, res.out.len, &nat, &conf);
	ra_client_handle_challenge(&F.cl, conf.msg, conf.len, &F.cpath[0],
				   &F.clk, &res);
	tap_ok(conf.committed && res.action == RA_ACT_ATTACHED &&
	       ra_path_equal(&F.ss[0].active, &nat),
	       "rebinding validated through the same pipeline");
	/* The same REQ again after the commit: confirmation repeated. */
	mk_req(m, SRV_ID, F.cl.counter + 1, 1, RA_REASON_NAT_REBIND);
	TAP_EQ_INT(srv_in(m, sizeof(m), &nat, &out), RA_OK,
		   "REQ on the active path (lost confirmation) re-confirms");
	tap_ok(out.len == RA_CHAL_LEN && !out.committed &&
	       out.msg[RA_CHAL_OFF_FLAGS] == RA_CHAL_F_COMMITTED,
	       "... without a new commit");
	teardown();
}

static void test_flapping(void)
{
	struct ra_client_result res;
	struct ra_output out;
	uint8_t m[RA_REQ_LEN];
	unsigned int i;
	int commits = 0, bad = 0;

	setup(NULL, 8);
	for (i = 0; i < F.pol.max_switches_per_minute; i++) {
		F.clk.mono_ms += F.pol.switch_cooldown_ms;
		lose_path();
		bad |= switch_with_challenge(RA_REASON_PATH_LOST, &commits);
	}
	TAP_EQ_INT(bad, 0, "every switch went through the challenge");
	TAP_EQ_INT(commits, F.pol.max_switches_per_minute,
		   "MaxSwitchesPerMinute switches committed");
	F.clk.mono_ms += F.pol.switch_cooldown_ms;
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	tap_ok(res.action == RA_ACT_DEGRADED &&
	       res.reason == FSM_R_SWITCH_RATE_LIMIT &&
	       F.cfsm.state == FSM_DEGRADED,
	       "one more: client goes DEGRADED (switch_rate_limit)");
	tap_ok(res.next_ms > F.clk.mono_ms, "with a time to look again");
	mk_req(m, SRV_ID, F.cl.counter + 1, F.cl.epoch, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_E_POLICY,
		   "server enforces the same limit (early rejection)");
	TAP_EQ_INT(F.scommit.calls, F.pol.max_switches_per_minute,
		   "server committed exactly the limit");
	teardown();
}

static void test_recovery_window(void)
{
	struct ra_client_result res;
	unsigned int sends = 0, guard = 0;
	uint64_t start;

	setup(NULL, 8);
	start = F.clk.mono_ms;
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	sends += res.action == RA_ACT_SEND;
	while (res.action != RA_ACT_TERMINATED && guard++ < 1000) {
		/* The server never answers. */
		F.clk.mono_ms = res.next_ms ? res.next_ms : F.clk.mono_ms + 10;
		ra_client_tick(&F.cl, &F.clk, &res);
		sends += res.action == RA_ACT_SEND;
	}
	tap_ok(sends >= 3, "retried on the next candidates with backoff (%u)",
	       sends);
	tap_ok(res.action == RA_ACT_TERMINATED &&
	       res.reason == FSM_R_RECOVERY_WINDOW_EXCEEDED &&
	       F.cfsm.state == FSM_TERMINATED,
	       "window exceeded: TERMINATED (recovery_window_exceeded)");
	tap_ok(F.clk.mono_ms - start <= F.pol.max_recovery_window_ms,
	       "no later than MaxRecoveryWindowMs after the loss");
	TAP_EQ_INT(ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res),
		   RA_E_STATE, "a terminated session does not reattach");
	teardown();
}

/* The active path came back: cancel ends the episode and the window. */
static void test_cancel(void)
{
	struct ra_client_result res;

	setup(NULL, 8);
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	tap_ok(res.action == RA_ACT_SEND, "episode started: REQ");
	ra_client_cancel(&F.cl);
	tap_ok(F.cl.phase == RA_CL_IDLE && !F.cpc.recovering,
	       "cancel: idle, recovery window stopped");
	F.clk.mono_ms += (uint64_t)F.pol.max_recovery_window_ms + 1000;
	TAP_EQ_INT(ra_client_tick(&F.cl, &F.clk, &res), RA_OK,
		   "tick after cancel");
	tap_ok(res.action == RA_ACT_NONE && F.cfsm.state != FSM_TERMINATED,
	       "no termination past the window after cancel");
	ra_client_cancel(NULL);
	teardown();
}

/* Every single-bit flip of a message must be refused. */
static void test_bit_flips(void)
{
	struct ra_client_result res;
	struct ra_output req, chal, resp, probe, reply, out;
	uint8_t m[RA_MAX_MSG_LEN];
	unsigned int bit, bad;
	uint64_t counter, sent;

	setup(big_session_rate, 8);
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	req = res.out;
	for (bit = 0, bad = 0; bit < RA_REQ_LEN * 8; bit++) {
		memcpy(m, req.msg, RA_REQ_LEN);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += srv_in(m, RA_REQ_LEN, sp(&req.to), &out) == RA_OK;
	}
	TAP_EQ_INT(bad, 0, "REQ: all 416 single-bit flips refused");
	TAP_EQ_INT(ra_server_pending_count(&F.srv), 0,
		   "... and none created pending state");
	TAP_EQ_INT(srv_in(req.msg, RA_REQ_LEN, sp(&req.to), &chal), RA_OK,
		   "the original still works");
	for (bit = 0, bad = 0; bit < RA_CHAL_LEN * 8; bit++) {
		memcpy(m, chal.msg, RA_CHAL_LEN);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += ra_client_handle_challenge(&F.cl, m, RA_CHAL_LEN,
						  &req.to, &F.clk, &res) ==
		       RA_OK;
	}
	TAP_EQ_INT(bad, 0, "CHALLENGE: all 384 flips refused by the client");
	ra_client_handle_challenge(&F.cl, chal.msg, RA_CHAL_LEN, &req.to,
				   &F.clk, &res);
	resp = res.out;
	for (bit = 0, bad = 0; bit < RA_RESP_LEN * 8; bit++) {
		/* Each flip gets its own fresh challenge (bad RESPs end one). */
		counter = F.ss[0].last_counter + 1;
		mk_req(m, SRV_ID, counter, 1, RA_REASON_PATH_LOST);
		srv_in(m, RA_REQ_LEN, sp(&req.to), &chal);
		memcpy(m, resp.msg, RA_RESP_LEN);
		m[RA_RESP_OFF_COUNTER + 7] = (uint8_t)counter;
		m[RA_RESP_OFF_COUNTER + 6] = (uint8_t)(counter >> 8);
		memcpy(m + RA_RESP_OFF_CHALLENGE,
		       chal.msg + RA_CHAL_OFF_CHALLENGE, 8);
		ra_mac(m + RA_RESP_OFF_MAC, F.key, m, RA_RESP_OFF_MAC);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += srv_in(m, RA_RESP_LEN, sp(&req.to), &out) == RA_OK;
	}
	TAP_EQ_INT(bad, 0, "RESP: all 320 flips refused");
	TAP_EQ_INT(F.scommit.calls, 0, "no flipped message committed");

	ra_client_probe(&F.cl, 1, F.clk.mono_ms + 1000, &probe, NULL);
	sent = F.clk.mono_ms + 1000;
	for (bit = 0, bad = 0; bit < RA_PROBE_LEN * 8; bit++) {
		/* Let the probe limiter refill: the MAC must be what says no. */
		F.clk.mono_ms += 50;
		memcpy(m, probe.msg, RA_PROBE_LEN);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += srv_in(m, RA_PROBE_LEN, &F.spath[1], &out) == RA_OK;
	}
	TAP_EQ_INT(bad, 0, "PROBE: all 448 flips refused");
	TAP_EQ_INT(srv_in(probe.msg, RA_PROBE_LEN, &F.spath[1], &reply), RA_OK,
		   "the original probe is answered");
	tap_ok(reply.len == RA_PREPLY_LEN && reply.len <= RA_PROBE_LEN,
	       "PROBE_REPLY not larger than the PROBE");
	TAP_EQ_INT(srv_in(probe.msg, RA_PROBE_LEN, &F.spath[1], &out),
		   RA_E_REPLAY, "replayed PROBE refused");
	for (bit = 0, bad = 0; bit < RA_PREPLY_LEN * 8; bit++) {
		memcpy(m, reply.msg, RA_PREPLY_LEN);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += ra_client_handle_probe_reply(&F.cl, 1, m, RA_PREPLY_LEN,
						    sent + 10) ==
		       RA_OK;
	}
	TAP_EQ_INT(bad, 0, "PROBE_REPLY: all 448 flips refused");
	TAP_EQ_INT(ra_client_handle_probe_reply(&F.cl, 1, reply.msg,
						RA_PREPLY_LEN, sent + 10), RA_OK,
		   "the original reply is accepted");
	TAP_EQ_INT(ra_client_handle_probe_reply(&F.cl, 1, reply.msg,
						RA_PREPLY_LEN, sent + 20),
		   RA_E_REPLAY, "replayed reply refused");
	tap_ok(F.cl.cand[1].has_rtt && F.cl.cand[1].srtt_ms == 10,
	       "RTT measured from the echoed timestamp");
	TAP_EQ_INT(srv_in(m, 0, &F.spath[1], &out), RA_E_SHORT, "empty");
	TAP_EQ_INT(srv_in(req.msg, RA_REQ_LEN - 1, &F.spath[1], &out),
		   RA_E_SHORT, "truncated REQ");
	teardown();
}

static void test_audit_flood(void)
{
	struct ra_output out;
	uint8_t m[RA_REQ_LEN];
	const struct audit_stats *st;
	unsigned int i;

	setup(big_session_rate, 8);
	mk_req(m, 0x77777777, 1, 1, RA_REASON_PATH_LOST);
	for (i = 0; i < 1000; i++)
		srv_in(m, sizeof(m), &F.spath[1], &out);
	st = audit_get_stats(&F.audit);
	tap_ok(st->emitted <= RA_AUDIT_BURST_DEFAULT,
	       "1000 refusals in the same ms: at most the burst audited (%llu)",
	       (unsigned long long)st->emitted);
	TAP_EQ_INT(F.srv.stats.refused[-RA_E_UNKNOWN_SESSION], 1000,
		   "every refusal counted");
	TAP_EQ_INT(F.srv.stats.audit_suppressed, 1000 - st->emitted,
		   "suppressed records counted");
	F.clk.mono_ms += 1000;
	srv_in(m, sizeof(m), &F.spath[1], &out);
	tap_ok(F.srv.audit_suppressed_pending == 0,
	       "next emitted record carries the suppressed count");
	teardown();
}

static void test_names(void)
{
	int e, named = 0;

	for (e = 0; e > -RA_ERR_COUNT; e--)
		named += strcmp(ra_strerror(e), "unknown error") != 0 &&
			 strcmp(ra_errname(e), "unknown") != 0;
	TAP_EQ_INT(named, RA_ERR_COUNT, "every error has a name");
	tap_ok(!strcmp(ra_strerror(1), "unknown error") &&
	       !strcmp(ra_strerror(-RA_ERR_COUNT), "unknown error"),
	       "out of range: unknown error");
}

/* ---------------------------------------------------------------------- */
/* Key rollover: a rekey reaches the two ends at different moments         */
/* ---------------------------------------------------------------------- */

#define GRACE_MS	3000	/* what jvpnd passes: JVPND_KEY_GRACE_MS */

static bool mac_under(const uint8_t key[JVPN_REATTACH_KEY_LEN],
		      const uint8_t *m, size_t mac_off)
{
	uint8_t mac[RA_MAC_LEN];

	ra_mac(mac, key, m, mac_off);
	return !memcmp(mac, m + mac_off, RA_MAC_LEN);
}

static bool all_zero_key(const uint8_t key[JVPN_REATTACH_KEY_LEN])
{
	static const uint8_t zero[JVPN_REATTACH_KEY_LEN];

	return !memcmp(key, zero, sizeof(zero));
}

/* The server answers a new handshake: a fresh key in k. */
static void srv_rekey(uint8_t k[JVPN_REATTACH_KEY_LEN])
{
	randombytes_buf(k, JVPN_REATTACH_KEY_LEN);
	ra_session_rekey(&F.srv, &F.ss[0], k, F.clk.mono_ms, GRACE_MS);
}

/* The server's old key for session i: held, and first in the grace list. */
static bool old_held(int i)
{
	return ra_server_old_key_held(&F.srv, &F.ss[i]);
}

static const struct ra_session *old_first(void)
{
	return F.srv.old_first ? F.srv.old_pool[F.srv.old_first - 1].s : NULL;
}

static const struct ra_session *old_last(void)
{
	return F.srv.old_last ? F.srv.old_pool[F.srv.old_last - 1].s : NULL;
}

/* Every old-key entry ever used holds no key material now. */
static bool old_pool_wiped(void)
{
	uint32_t i;

	for (i = 0; i < F.srv.fresh_old; i++)
		if (!sodium_is_zero((const void *)&F.srv.old_pool[i].mk,
				    sizeof(F.srv.old_pool[i].mk)))
			return false;
	return true;
}

/* The server session's current key is k. */
static bool srv_key_is(int i, const uint8_t k[JVPN_REATTACH_KEY_LEN])
{
	struct ra_mac_key mk;
	bool same;

	ra_mac_key_init(&mk, k);
	same = !memcmp(&mk, &F.ss[i].mk, sizeof(mk));
	sodium_memzero(&mk, sizeof(mk));
	return same;
}

/* The client gets the handshake answer carrying k. */
static void cli_rekey(const uint8_t k[JVPN_REATTACH_KEY_LEN])
{
	ra_client_rekey(&F.cl, k, F.clk.mono_ms, GRACE_MS);
}

/* One PROBE on candidate i, ProbeIntervalMs on, handed to the server. */
static int probe_in(uint32_t i, struct ra_output *po, struct ra_output *ro)
{
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, i, F.clk.mono_ms, po, NULL);
	return srv_in(po->msg, po->len, sp(&po->to), ro);
}

static int reply_in(uint32_t i, const struct ra_output *ro)
{
	return ra_client_handle_probe_reply(&F.cl, i, ro->msg, ro->len,
					    F.clk.mono_ms);
}

/* Server rekeyed, the client not yet (its handshake answer is late). */
static void test_rekey_probe_server(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_output po, ro, again;
	uint64_t t0;

	setup(NULL, 8);
	srv_rekey(k1);
	t0 = F.clk.mono_ms;
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK,
		   "rekey on the server only: PROBE under the old key accepted");
	tap_ok(mac_under(F.key, ro.msg, RA_PREPLY_OFF_MAC),
	       "PROBE_REPLY MACed with the key the client used");
	TAP_EQ_INT(reply_in(1, &ro), RA_OK,
		   "the client, old key only, accepts the reply");
	TAP_EQ_INT(F.srv.stats.mac_old_key, 1,
		   "stats: one MAC accepted under the old key");
	TAP_EQ_INT(srv_in(po.msg, po.len, sp(&po.to), &again), RA_E_REPLAY,
		   "the same PROBE replayed in the grace: refused");
	tap_ok(again.len == 0 && F.srv.stats.refused[-RA_E_MAC] == 0,
	       "nothing sent to the replay; no MAC refusal so far");
	TAP_EQ_INT(ra_server_expire(&F.srv, &F.clk, 16), t0 + GRACE_MS,
		   "server timer: next deadline is the end of the grace");
	F.clk.mono_ms = t0 + GRACE_MS;
	TAP_EQ_INT(ra_server_expire(&F.srv, &F.clk, 16), 0,
		   "grace over: nothing left to expire");
	tap_ok(!old_held(0) && old_pool_wiped() && !old_first() &&
	       !F.ss[0].old && F.srv.old_free == 1,
	       "old key wiped, unlisted and its entry freed when the grace ends");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_E_MAC,
		   "after the grace a PROBE under the old key is refused (mac)");
	tap_ok(ro.len == 0 && F.srv.stats.refused[-RA_E_MAC] == 1,
	       "nothing sent, counted as a MAC refusal");
	cli_rekey(k1);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK,
		   "client on the new key: PROBE accepted");
	tap_ok(mac_under(k1, ro.msg, RA_PREPLY_OFF_MAC) &&
	       reply_in(1, &ro) == RA_OK,
	       "reply under the new key, accepted by the client");
	tap_ok(F.srv.stats.mac_old_key == 2 && F.ss[0].key_proven,
	       "stats: the replay's MAC counted too, the new key not; "
	       "client proved the new key");
	teardown();
}

/* Client rekeyed while a reply under the old key was on its way. */
static void test_rekey_probe_client(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_output po, ro;
	uint64_t t0;

	setup(NULL, 8);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK, "PROBE before the rekey");
	srv_rekey(k1);
	cli_rekey(k1);
	t0 = F.clk.mono_ms;
	TAP_EQ_INT(reply_in(1, &ro), RA_OK,
		   "rekey on the client: late reply under the old key accepted");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK, "next PROBE accepted");
	tap_ok(mac_under(k1, po.msg, RA_PROBE_OFF_MAC),
	       "the client sends under the new key at once");
	TAP_EQ_INT(ra_client_expire_key(&F.cl, F.clk.mono_ms), t0 + GRACE_MS,
		   "client: old key kept until the end of the grace");
	F.clk.mono_ms = t0 + GRACE_MS;
	TAP_EQ_INT(reply_in(1, &ro), RA_OK,
		   "a reply under the new key after the grace: accepted");
	TAP_EQ_INT(ra_client_expire_key(&F.cl, F.clk.mono_ms), 0,
		   "client: grace over, nothing left to expire");
	tap_ok(!F.cl.old.held && all_zero_key(F.cl.old.key),
	       "client's old key wiped");
	teardown();

	/* The same late reply, arriving after the client's grace. */
	setup(NULL, 8);
	probe_in(1, &po, &ro);
	cli_rekey(k1);
	F.clk.mono_ms += GRACE_MS;
	TAP_EQ_INT(reply_in(1, &ro), RA_E_MAC,
		   "after the grace a reply under the old key is refused (mac)");
	teardown();
}

/* REQ -> CHALLENGE -> RESP -> CONFIRM with the server already rekeyed. */
static void test_rekey_reattach_server(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN], m[RA_REQ_LEN];
	struct ra_client_result res;
	struct ra_output out;
	uint64_t t0;

	setup(big_session_rate, 8);
	srv_rekey(k1);
	t0 = F.clk.mono_ms;
	lose_path();
	TAP_EQ_INT(switch_with_challenge(RA_REASON_PATH_LOST, NULL), 0,
		   "rekey on the server only: full reattach under the old key");
	tap_ok(F.sfsm[0].state == FSM_ATTACHED && F.ss[0].epoch == 2 &&
	       F.cl.epoch == 2, "both ends ATTACHED at epoch 2");
	TAP_EQ_INT(F.srv.stats.mac_old_key, 2,
		   "stats: REQ and RESP accepted under the old key");
	mk_req(m, SRV_ID, F.cl.counter, 2, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_E_REPLAY,
		   "a REQ with a used counter, old key, in the grace: replay");
	F.clk.mono_ms = t0 + GRACE_MS;
	mk_req(m, SRV_ID, F.cl.counter + 1, 2, RA_REASON_PATH_LOST);
	TAP_EQ_INT(srv_in(m, sizeof(m), &F.spath[2], &out), RA_E_MAC,
		   "after the grace a fresh REQ under the old key: mac");
	TAP_EQ_INT(F.ss[0].last_counter, F.cl.counter,
		   "counter not consumed by it");
	teardown();

	/* A whole exchange started after the grace fails at the REQ. */
	setup(NULL, 8);
	srv_rekey(k1);
	F.clk.mono_ms += GRACE_MS;
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&res.out.to), &out),
		   RA_E_MAC, "after the grace: the client's REQ refused (mac)");
	tap_ok(out.len == 0 && F.sfsm[0].state == FSM_ATTACHED &&
	       !ra_server_pending_count(&F.srv),
	       "nothing sent, no state, session not touched");
	teardown();
}

/* The client's handshake answer arrives between CHALLENGE and RESP. */
static void test_rekey_reattach_midway(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_client_result res;
	struct ra_output chal, conf;
	struct ra_path to;

	setup(NULL, 8);
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	to = res.out.to;
	srv_rekey(k1);
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&to), &chal), RA_OK,
		   "REQ under the old key, server rekeyed: CHALLENGE");
	tap_ok(mac_under(F.key, chal.msg, RA_CHAL_OFF_MAC),
	       "CHALLENGE MACed with the key of the REQ");
	cli_rekey(k1);
	ra_client_handle_challenge(&F.cl, chal.msg, chal.len, &to, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_SEND &&
	       mac_under(k1, res.out.msg, RA_RESP_OFF_MAC),
	       "client, rekeyed meanwhile, accepts it; RESP under the new key");
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&to), &conf), RA_OK,
		   "server accepts the RESP under the new key");
	tap_ok(conf.committed && mac_under(k1, conf.msg, RA_CHAL_OFF_MAC),
	       "committed; confirmation under the new key");
	ra_client_handle_challenge(&F.cl, conf.msg, conf.len, &to, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_ATTACHED && F.srv.stats.mac_old_key == 1,
	       "client ATTACHED; only the REQ needed the old key");
	teardown();
}

/* Both ends rekey between CHALLENGE and RESP: the RESP under the new key. */
static void test_rekey_after_challenge(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_client_result res;
	struct ra_output chal, conf;
	struct ra_path to;

	setup(NULL, 8);
	lose_path();
	ra_client_start(&F.cl, RA_REASON_PATH_LOST, &F.clk, &res);
	to = res.out.to;
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&to), &chal), RA_OK,
		   "REQ under the current key: CHALLENGE");
	srv_rekey(k1);
	tap_ok(srv_key_is(0, k1) && old_held(0), "server rekeyed");
	cli_rekey(k1);
	ra_client_handle_challenge(&F.cl, chal.msg, chal.len, &to, &F.clk,
				   &res);
	tap_ok(res.action == RA_ACT_SEND &&
	       mac_under(k1, res.out.msg, RA_RESP_OFF_MAC),
	       "RESP under the new key");
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, sp(&to), &conf), RA_OK,
		   "server accepts the RESP under the new key");
	tap_ok(conf.committed && mac_under(k1, conf.msg, RA_CHAL_OFF_MAC) &&
	       F.srv.stats.mac_old_key == 0,
	       "committed; confirmation under the new key");
	teardown();
}

/* Server-initiated CHALLENGE (NAT rebinding) answers nothing. */
static void test_rekey_server_challenge(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_client_result res;
	struct ra_output out, po, ro;
	struct ra_path nat;

	setup(NULL, 8);
	nat = F.spath[0];
	nat.remote.port = 40001;
	nat.path_id = 0;
	srv_rekey(k1);
	ra_server_challenge_source(&F.srv, SRV_ID, &nat, 100, &F.clk, &out);
	tap_ok(out.len && mac_under(F.key, out.msg, RA_CHAL_OFF_MAC),
	       "unsolicited CHALLENGE under the old key: the client may "
	       "not have the new one");
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &F.cpath[0],
				   &F.clk, &res);
	TAP_EQ_INT(res.action, RA_ACT_SEND, "the client, old key only, answers");
	cli_rekey(k1);
	probe_in(1, &po, &ro);
	ra_server_challenge_source(&F.srv, SRV_ID, &nat, 100, &F.clk, &out);
	tap_ok(out.len && mac_under(k1, out.msg, RA_CHAL_OFF_MAC),
	       "once the client used the new key: CHALLENGE under it");
	ra_client_handle_challenge(&F.cl, out.msg, out.len, &F.cpath[0],
				   &F.clk, &res);
	TAP_EQ_INT(srv_in(res.out.msg, res.out.len, &nat, &out), RA_OK,
		   "the client's RESP commits the new source");
	tap_ok(out.committed && mac_under(k1, out.msg, RA_CHAL_OFF_MAC),
	       "confirmation under the new key");
	teardown();
}

/* The handshake answer was lost and the client retried: key never used. */
static void test_rekey_lost_answer(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN], k2[JVPN_REATTACH_KEY_LEN];
	struct ra_output po, ro, po0;
	uint64_t t1;

	setup(NULL, 8);
	srv_rekey(k1);
	F.clk.mono_ms += 1000;		/* the initiator's retry */
	t1 = F.clk.mono_ms;
	srv_rekey(k2);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK,
		   "second rekey, first key never used: the client's key kept");
	TAP_EQ_INT(reply_in(1, &ro), RA_OK, "and the client accepts the reply");
	/* The probe goes at t1 + GRACE_MS - 1: past the first grace. */
	F.clk.mono_ms = t1 + GRACE_MS - 1 - F.pol.probe_interval_ms;
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK,
		   "its grace restarted at the second rekey");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_E_MAC, "and ends after it");
	teardown();

	/* The client did use k1 (a probe): then k1 is the key kept. */
	setup(NULL, 8);
	srv_rekey(k1);
	F.clk.mono_ms += F.pol.probe_interval_ms;
	ra_client_probe(&F.cl, 2, F.clk.mono_ms, &po0, NULL);	/* old key */
	cli_rekey(k1);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK, "client proves the new key");
	srv_rekey(k2);
	TAP_EQ_INT(srv_in(po0.msg, po0.len, sp(&po0.to), &ro), RA_E_MAC,
		   "next rekey: the key before the used one is gone");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK,
		   "the used key is the one kept");
	teardown();

	/* Same, proven by the daemon (data key swapped), not by a probe. */
	setup(NULL, 8);
	srv_rekey(k1);
	ra_session_key_proven(&F.ss[0]);
	srv_rekey(k2);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_E_MAC,
		   "key proven by the data swap: the older one is not kept");
	cli_rekey(k1);
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_OK, "the proven one is");
	teardown();
}

/* No grace, and a session that goes away during its grace. */
static void test_rekey_wipe(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_output po, ro;

	setup(NULL, 8);
	ra_session_rekey(&F.srv, &F.ss[0], F.key, F.clk.mono_ms, 0);
	tap_ok(!old_held(0) && !old_first() && !F.srv.fresh_old,
	       "grace 0: no old key kept (no pool entry taken)");
	srv_rekey(k1);
	tap_ok(old_held(0) && old_first() == &F.ss[0] && F.ss[0].old == 1,
	       "rekey: old key held in a pool entry and listed for expiry");
	ra_server_forget_session(&F.srv, &F.ss[0]);
	tap_ok(!old_held(0) && old_pool_wiped() && !F.ss[0].old &&
	       !old_first() && !old_last(),
	       "forgetting the session wipes and unlists its old key");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_E_MAC,
		   "and the old key is no longer accepted");
	/* Two sessions, the later rekey with the shorter grace. */
	ra_session_rekey(&F.srv, &F.ss[1], k1, F.clk.mono_ms, 2 * GRACE_MS);
	F.clk.mono_ms += 10;
	srv_rekey(k1);
	tap_ok(old_first() == &F.ss[0] && old_last() == &F.ss[1],
	       "old keys listed in the order their grace ends");
	TAP_EQ_INT(ra_server_expire(&F.srv, &F.clk, 16),
		   F.clk.mono_ms + GRACE_MS, "first deadline: the shorter one");
	F.clk.mono_ms += GRACE_MS;
	TAP_EQ_INT(ra_server_expire(&F.srv, &F.clk, 16),
		   F.clk.mono_ms + GRACE_MS - 10, "then the other one");
	tap_ok(!old_held(0) && old_held(1) && old_first() == &F.ss[1] &&
	       old_last() == &F.ss[1],
	       "only the first session's old key wiped");
	TAP_EQ_INT(ra_session_rekey(&F.srv, NULL, k1, 0, GRACE_MS), RA_E_INVAL,
		   "ra_session_rekey(NULL) refused");
	TAP_EQ_INT(ra_client_rekey(NULL, k1, 0, GRACE_MS), RA_E_INVAL,
		   "ra_client_rekey(NULL) refused");
	TAP_EQ_INT(F.srv.fresh_old, 2,
		   "two keys in grace at most: two entries (one reused)");
	ra_server_destroy(&F.srv);	/* again in teardown: harmless */
	tap_ok(!F.ss[1].old && !F.srv.old_pool,
	       "destroying the server wipes the old keys still held");
	teardown();
}

/* The server's MAC is keyed BLAKE2b-128 as the wire protocol defines it
 * (checked against libsodium's one-shot call, the reference). */
static void test_mac_keyed(void)
{
	uint8_t key[JVPN_REATTACH_KEY_LEN], data[3 * 128 + 7];
	uint8_t a[RA_MAC_LEN], b[RA_MAC_LEN];
	struct ra_mac_key mk;
	unsigned int len, bad = 0, k;

	for (k = 0; k < 4; k++) {
		randombytes_buf(key, sizeof(key));
		if (k == 1)
			memset(key, 0, sizeof(key));
		if (k == 2)
			memset(key, 0xff, sizeof(key));
		ra_mac_key_init(&mk, key);
		for (len = 1; len <= sizeof(data); len++) {
			randombytes_buf(data, len);
			crypto_generichash_blake2b(a, sizeof(a), data, len, key,
						   sizeof(key));
			ra_mac_keyed(b, &mk, data, len);
			bad += memcmp(a, b, sizeof(a)) != 0;
			/* The state is reusable: a second message. */
			data[0] ^= 1;
			crypto_generichash_blake2b(a, sizeof(a), data, len, key,
						   sizeof(key));
			ra_mac_keyed(b, &mk, data, len);
			bad += memcmp(a, b, sizeof(a)) != 0;
		}
	}
	TAP_EQ_INT(bad, 0, "ra_mac_keyed == ra_mac for 1..391 bytes, 4 keys");
}

/* The old-key pool holds pending_capacity entries: full, counted. */
static void test_rekey_pool_full(void)
{
	uint8_t k1[JVPN_REATTACH_KEY_LEN];
	struct ra_output po, ro;

	setup(NULL, 1);
	ra_session_rekey(&F.srv, &F.ss[1], F.key, F.clk.mono_ms, GRACE_MS);
	TAP_EQ_INT(F.srv.fresh_old, 1, "session 1's old key takes the entry");
	srv_rekey(k1);
	tap_ok(!old_held(0) && !F.ss[0].old &&
	       F.srv.stats.old_key_full == 1,
	       "pool full: session 0 rekeys without a grace, counted");
	tap_ok(srv_key_is(0, k1),
	       "and its current key is the new one");
	TAP_EQ_INT(probe_in(1, &po, &ro), RA_E_MAC,
		   "a PROBE under its replaced key is refused (mac)");
	ra_server_forget_session(&F.srv, &F.ss[1]);
	srv_rekey(k1);
	tap_ok(old_held(0) && F.srv.stats.old_key_full == 1,
	       "the entry freed, the next rekey keeps a grace again");
	teardown();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_names();
	test_happy_path();
	test_lost_confirmation_resync();
	test_probe_revival();
	test_probe_first_answer();
	test_standby_fast_path();
	test_refusals();
	test_rates();
	test_policy_owner_full();
	test_cas_race();
	test_amplification_nat();
	test_flapping();
	test_recovery_window();
	test_cancel();
	test_bit_flips();
	test_audit_flood();
	test_rekey_probe_server();
	test_rekey_probe_client();
	test_rekey_reattach_server();
	test_rekey_reattach_midway();
	test_rekey_server_challenge();
	test_rekey_lost_answer();
	test_rekey_wipe();
	test_rekey_pool_full();
	test_rekey_after_challenge();
	test_mac_keyed();
	return tap_done();
}
