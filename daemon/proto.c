// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd handshake protocol on the UDP sockets: the responder side (INIT
 * in, COOKIE or RESP out), the initiator side (INIT out with retries,
 * RESP and COOKIE in) and rekeying, which is a new handshake within the
 * same session (docs/handshake.md, "Rekey").  Message formats and all
 * cryptographic checks are handshake.c's; this file decides what the
 * checks mean for sessions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "jvpnd.h"
#include "util.h"

/* Messages read per readable socket before yielding to other work. */
#define PROTO_RX_BUDGET		64
/* At most one rate-limit audit record per second. */
#define PROTO_RL_AUDIT_MS	1000

static const char *const hs_err_ids[] = {
	[-HS_OK] = "HS_OK",
	[-HS_E_INVAL] = "HS_E_INVAL",
	[-HS_E_NOMEM] = "HS_E_NOMEM",
	[-HS_E_CRYPTO] = "HS_E_CRYPTO",
	[-HS_E_SHORT] = "HS_E_SHORT",
	[-HS_E_LONG] = "HS_E_LONG",
	[-HS_E_TYPE] = "HS_E_TYPE",
	[-HS_E_RESERVED] = "HS_E_RESERVED",
	[-HS_E_ZERO_ID] = "HS_E_ZERO_ID",
	[-HS_E_MAC1] = "HS_E_MAC1",
	[-HS_E_MAC2_NEEDED] = "HS_E_MAC2_NEEDED",
	[-HS_E_MAC2_BAD] = "HS_E_MAC2_BAD",
	[-HS_E_MAC2_SET] = "HS_E_MAC2_SET",
	[-HS_E_DH] = "HS_E_DH",
	[-HS_E_DECRYPT] = "HS_E_DECRYPT",
	[-HS_E_UNKNOWN_PEER] = "HS_E_UNKNOWN_PEER",
	[-HS_E_REPLAY] = "HS_E_REPLAY",
	[-HS_E_STALE] = "HS_E_STALE",
	[-HS_E_NOT_PENDING] = "HS_E_NOT_PENDING",
	[-HS_E_ID_MISMATCH] = "HS_E_ID_MISMATCH",
	[-HS_E_CLOCK] = "HS_E_CLOCK",
	[-HS_E_FULL] = "HS_E_FULL",
	[-HS_E_DUPLICATE] = "HS_E_DUPLICATE",
};

/* The enum's identifier, for audit records ("HS_E_REPLAY"). */
const char *proto_hs_err_name(int err)
{
	if (err > 0 || (size_t)-err >= sizeof(hs_err_ids) / sizeof(*hs_err_ids))
		return "HS_E_UNKNOWN";
	return hs_err_ids[-err];
}

struct rx_ctx {
	struct jvpnd *d;
	struct net_sock *sock;
	const uint8_t *buf;
	size_t len;
	struct sockaddr_storage from;
	struct net_pktinfo dst;
	uint64_t now;
};

static void refuse(struct rx_ctx *c, uint32_t sid, int err)
{
	char from[JVPN_ENDPOINT_STRLEN] = "";
	struct audit_kv kv[] = {
		{ .key = "error", .type = AUDIT_KV_STR,
		  .s = proto_hs_err_name(err) },
		{ .key = "detail", .type = AUDIT_KV_STR, .s = hs_strerror(err) },
		{ .key = "source", .type = AUDIT_KV_STR, .s = from },
		{ .key = "message", .type = AUDIT_KV_U64, .u = c->buf[0] },
	};

	if ((size_t)-err < sizeof(c->d->stats.hs_refused) / sizeof(uint64_t))
		c->d->stats.hs_refused[-err]++;
	jvpn_format_endpoint((struct sockaddr *)&c->from, from, sizeof(from));
	jvpnd_audit(c->d, AUDIT_T_SECURITY, AUDIT_ACT_HANDSHAKE_REJECTED, sid,
		    kv, 4);
}

static void send_to(struct rx_ctx *c, const void *msg, size_t len)
{
	if (net_send(c->sock, msg, len, (struct sockaddr *)&c->from, &c->dst))
		c->d->stats.send_errors++;
}

/* ---- responder --------------------------------------------------------- */

/* Per-source limiter key: family, port, address. */
static size_t source_key(const struct sockaddr_storage *ss, uint8_t *key)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(key + 1, &sin->sin_port, 2);
		memcpy(key + 3, &sin->sin_addr, 4);
		return 7;
	}
	memcpy(key + 1, &sin6->sin6_port, 2);
	memcpy(key + 3, &sin6->sin6_addr, 16);
	return 19;
}

static bool source_allowed(struct rx_ctx *c)
{
	static uint64_t last_audit;
	uint8_t key[BMAP_KEY_MAX];
	size_t n = source_key(&c->from, key);

	if (rl_table_check(&c->d->hs_src, key, n, c->now) == RL_PASS)
		return true;
	c->d->stats.hs_rate_limited++;
	if (!last_audit || c->now - last_audit >= PROTO_RL_AUDIT_MS) {
		last_audit = c->now;
		jvpnd_audit(c->d, AUDIT_T_SECURITY, AUDIT_ACT_RATE_LIMITED, 0,
			    &(struct audit_kv){ .key = "limited",
						.type = AUDIT_KV_U64,
						.u = c->d->stats.hs_rate_limited },
			    1);
	}
	return false;
}

/* Same peer, same sender id: the initiator rekeys this session. */
static void answer_rekey(struct rx_ctx *c, struct session *s,
			 struct hs_init_result *res)
{
	uint8_t msg[HS_RESP_LEN];
	struct jvpn_session_keys keys;

	if (hs_responder_write_resp(res, s->local_id, msg, &keys))
		return;
	if (!sess_rekey_install(c->d, s, &keys))
		send_to(c, msg, sizeof(msg));
	jvpn_kdf_wipe(&keys);
}

static void answer_new(struct rx_ctx *c, struct peer *p,
		       struct hs_init_result *res)
{
	uint32_t peer_id = res->initiator_id;	/* res is wiped below */
	uint8_t msg[HS_RESP_LEN];
	struct jvpn_session_keys keys;
	struct session *s;

	/* A new sender id: the peer restarted; its old session is dead. */
	if (p->session)
		sess_destroy(c->d, p->session, FSM_EV_PEER_TERMINATE,
			     FSM_R_PEER_TERMINATE, true);
	s = sess_create(c->d, p, ROLE_RESPONDER, 0);
	if (!s) {
		hs_init_result_wipe(res);
		return;
	}
	if (hs_responder_write_resp(res, s->local_id, msg, &keys)) {
		sess_destroy(c->d, s, FSM_EV_HANDSHAKE_FAILED,
			     FSM_R_HANDSHAKE_FAILED, true);
		return;
	}
	/* The kernel is ready before the RESP leaves: no DATA is lost. */
	if (sess_establish(c->d, s, peer_id, &keys,
			   (struct sockaddr *)&c->from, c->sock))
		sess_destroy(c->d, s, FSM_EV_HANDSHAKE_FAILED,
			     FSM_R_HANDSHAKE_FAILED, true);
	else
		send_to(c, msg, sizeof(msg));
	jvpn_kdf_wipe(&keys);
}

static void handle_init(struct rx_ctx *c)
{
	struct jvpnd *d = c->d;
	struct hs_init_result res;
	struct hs_source src;
	struct session *s;
	bool under_load;
	int ret;

	d->stats.hs_init_rx++;
	if (!source_allowed(c))
		return;
	under_load = !tbucket_take(&d->hs_global, c->now);
	if (hs_source_from_sockaddr(&src, (struct sockaddr *)&c->from,
				    net_sockaddr_len((void *)&c->from)))
		return;
	ret = hs_responder_consume_init(&d->resp, c->buf, c->len, &src,
					c->now, under_load, &res);
	if (ret == HS_E_MAC2_NEEDED || ret == HS_E_MAC2_BAD) {
		/* Load shedding, not an attack: counted, not audited. */
		d->stats.hs_refused[-ret]++;
		send_to(c, res.cookie_reply, sizeof(res.cookie_reply));
		d->stats.cookies_sent++;
		hs_init_result_wipe(&res);
		return;
	}
	if (ret) {
		refuse(c, 0, ret);
		hs_init_result_wipe(&res);
		return;
	}
	s = d->peers[res.peer_index].session;
	if (s && s->in_kernel && s->peer_id == res.initiator_id &&
	    !fsm_is_terminal(s->fsm.state))
		answer_rekey(c, s, &res);
	else
		answer_new(c, &d->peers[res.peer_index], &res);
	hs_init_result_wipe(&res);
}

/* ---- initiator --------------------------------------------------------- */

static struct peer *pending_peer(struct rx_ctx *c, uint32_t local_id,
				 struct session **sp)
{
	struct session *s = session_find(&c->d->st, local_id);

	if (!s || s->role != ROLE_INITIATOR || !s->peer->hs_pending)
		return NULL;
	*sp = s;
	return s->peer;
}

static void resp_done(struct jvpnd *d, struct peer *p)
{
	p->hs_pending = false;
	p->attempts = 0;
	loop_timer_cancel(d->loop, &p->hs_timer);
}

static void handle_resp(struct rx_ctx *c)
{
	uint32_t rid = c->len >= HS_RESP_LEN ?
		       get_be32(c->buf + HS_RESP_OFF_RECEIVER) : 0;
	struct hs_resp_result rr;
	struct session *s = NULL;
	struct peer *p = pending_peer(c, rid, &s);
	int ret;

	if (!p) {
		refuse(c, rid, HS_E_NOT_PENDING);
		return;
	}
	ret = hs_initiator_consume_resp(p->hs, c->buf, c->len, &rr);
	if (ret) {
		refuse(c, rid, ret);
		return;
	}
	resp_done(c->d, p);
	if (!s->in_kernel) {
		if (sess_establish(c->d, s, rr.responder_id, &rr.keys,
				   (struct sockaddr *)&c->from, c->sock))
			sess_destroy(c->d, s, FSM_EV_HANDSHAKE_FAILED,
				     FSM_R_HANDSHAKE_FAILED, true);
	} else if (rr.responder_id != s->peer_id) {
		/* The responder lost our session: start a fresh one. */
		sess_destroy(c->d, s, FSM_EV_PEER_TERMINATE,
			     FSM_R_PEER_TERMINATE, true);
		proto_initiate(c->d, p, false);
	} else if (!sess_rekey_install(c->d, s, &rr.keys)) {
		/* The RESP proves the responder holds the new key. */
		sess_key_swap(c->d, s);
	}
	hs_resp_result_wipe(&rr);
}

static void handle_cookie(struct rx_ctx *c)
{
	uint32_t rid = c->len >= HS_COOKIE_LEN ?
		       get_be32(c->buf + HS_COOKIE_OFF_RECEIVER) : 0;
	struct session *s = NULL;
	struct peer *p = pending_peer(c, rid, &s);
	int ret;

	if (!p) {
		refuse(c, rid, HS_E_NOT_PENDING);
		return;
	}
	/* Kept for the next retry; the timer sends it. */
	ret = hs_initiator_consume_cookie(p->hs, c->buf, c->len, c->now);
	if (ret)
		refuse(c, rid, ret);
}

static uint64_t retry_delay(unsigned int attempts)
{
	uint64_t ms = JVPND_HS_RETRY_MS << (attempts > 4 ? 4 : attempts);

	return ms > JVPND_HS_RETRY_MAX_MS ? JVPND_HS_RETRY_MAX_MS : ms;
}

static void send_init(struct jvpnd *d, struct peer *p)
{
	struct sockaddr *to = (void *)&p->endpoints[p->endpoint_idx %
						    p->n_endpoints];
	struct net_sock *sock = net_sock_family(&d->net, to->sa_family);
	uint8_t msg[HS_INIT_LEN];
	struct timespec wall;
	uint64_t now = loop_now_ms();

	/* The timestamp is the one wall-clock use (handshake.h). */
	clock_gettime(CLOCK_REALTIME, &wall);
	if (hs_initiator_begin(p->hs, p->session->local_id, &wall, now, msg))
		d->stats.hs_refused[-HS_E_CRYPTO]++;
	else if (!sock || net_send(sock, msg, sizeof(msg), to, NULL))
		d->stats.send_errors++;
	p->hs_pending = true;
	if (loop_timer_arm(d->loop, &p->hs_timer,
			   now + retry_delay(p->attempts++)))
		d->stats.timers_refused++;
}

void proto_initiate(struct jvpnd *d, struct peer *p, bool rekey)
{
	if (!p->initiator || !p->n_endpoints)
		return;
	if (rekey) {
		if (!p->session || !p->session->in_kernel || p->hs_pending)
			return;
	} else if (!p->session) {
		if (!sess_create(d, p, ROLE_INITIATOR, 0))
			return;
	}
	p->hs_rekey = rekey;
	p->attempts = 0;
	send_init(d, p);
}

static void handshake_gave_up(struct jvpnd *d, struct peer *p)
{
	struct session *s = p->session;

	d->stats.hs_timeouts++;
	p->hs_pending = false;
	p->attempts = 0;
	if (p->hs_rekey) {
		/* The old key still works: keep it, rekey again later. */
		jvpnd_audit(d, AUDIT_T_EVENT, AUDIT_ACT_NONE, s->local_id,
			    &(struct audit_kv){ .key = "what",
						.type = AUDIT_KV_STR,
						.s = AUDIT_WHAT_REKEY_TIMEOUT }, 1);
		sess_arm_rekey(d, s, 0);
		return;
	}
	sess_destroy(d, s, FSM_EV_HANDSHAKE_FAILED, FSM_R_HANDSHAKE_TIMEOUT,
		     true);
	if (loop_timer_arm(d->loop, &p->hs_timer,
			   loop_now_ms() + JVPND_HS_RESTART_MS))
		d->stats.timers_refused++;
}

static void hs_timer_fn(struct loop_timer *t, void *arg)
{
	struct peer *p = arg;
	struct jvpnd *d = p->ctx;

	(void)t;
	if (!p->hs_pending) {
		/* Restart after a failed handshake: a new session. */
		if (!p->session)
			proto_initiate(d, p, false);
		return;
	}
	if (p->attempts >= d->cfg.policy.handshake_attempts) {
		handshake_gave_up(d, p);
		return;
	}
	p->endpoint_idx++;
	send_init(d, p);
}

void proto_setup_peer(struct jvpnd *d, struct peer *p)
{
	const struct cfg_peer *cp = p->cfg;

	p->ctx = d;
	loop_timer_setup(&p->hs_timer, hs_timer_fn, p);
	p->n_endpoints = peer_endpoints(cp, p->endpoints, CFG_MAX_ENDPOINTS);
	p->initiator = p->n_endpoints > 0;
}

/* ---- receive ----------------------------------------------------------- */

static void dispatch(struct rx_ctx *c)
{
	switch (c->buf[0]) {
	case JVPN_MSG_HANDSHAKE_INIT:
		handle_init(c);
		break;
	case JVPN_MSG_HANDSHAKE_RESP:
		handle_resp(c);
		break;
	case JVPN_MSG_COOKIE:
		handle_cookie(c);
		break;
	case JVPN_MSG_REATTACH_REQ:
	case JVPN_MSG_REATTACH_CHALLENGE:
	case JVPN_MSG_REATTACH_RESP:
	case JVPN_MSG_PROBE:
	case JVPN_MSG_PROBE_REPLY:
		roam_rx(c->d, c->sock, c->buf, c->len, &c->from, &c->dst);
		break;
	default:
		/* Terminate and unknown types: not handled by this jvpnd. */
		c->d->stats.rx_bad_type++;
		break;
	}
}

void proto_sock_readable(uint32_t events, void *arg)
{
	struct net_sock *sock = arg;
	uint8_t buf[HS_MAX_MSG_LEN + 64];
	struct rx_ctx c = { .d = sock->ctx, .sock = sock, .buf = buf };
	unsigned int i;
	ssize_t n;

	(void)events;
	for (i = 0; i < PROTO_RX_BUDGET; i++) {
		n = net_recv(sock, buf, sizeof(buf), &c.from, &c.dst);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			c.d->stats.rx_errors++;
			continue;
		}
		c.d->stats.rx_msgs++;
		c.len = (size_t)n;
		c.now = loop_now_ms();
		dispatch(&c);
	}
}
