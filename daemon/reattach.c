// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd reattach and path-probe protocol.  Layouts: reattach.h and
 * docs/reattach.md; attacks and defences: docs/threat-model.md.
 *
 * Design in one paragraph.  The server must be able to say no cheaply
 * and must never move a session on anything but proof: size, type,
 * reserved bytes and reason first (stateless), then the session lookup
 * (an unknown id is refused before any state exists), the per-session
 * and global limiters, the MAC, the counter, the session state, the path
 * epoch, the anti-flap policy and the ownership record.  Only then may a
 * pending validation be created (one per session, fixed table), and a
 * switch commits only once the client proved it receives on the new path
 * (CHALLENGE/RESP), or proved it recently through the probe tokens
 * (validated standby).  The commit is store CAS -> kernel callback ->
 * FSM -> audit, with the FSM version checked before any side effect.
 *
 * Messages are built and parsed byte by byte at the offsets in
 * reattach.h; no struct is ever laid over wire bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <linux/jvpn.h>

#include "bytes.h"
#include "reattach.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(RA_MAC_LEN == crypto_verify_16_BYTES, "MAC compare");
_Static_assert(RA_REQ_OFF_MAC + RA_MAC_LEN == RA_REQ_LEN, "REQ size");
_Static_assert(RA_CHAL_OFF_MAC + RA_MAC_LEN == RA_CHAL_LEN, "CHAL size");
_Static_assert(RA_RESP_OFF_MAC + RA_MAC_LEN == RA_RESP_LEN, "RESP size");
_Static_assert(RA_PROBE_OFF_MAC + RA_MAC_LEN == RA_PROBE_LEN, "PROBE size");
_Static_assert(RA_PREPLY_OFF_MAC + RA_MAC_LEN == RA_PREPLY_LEN,
	       "PROBE_REPLY size");
/* Anti-amplification by construction: no answer is larger than its ask. */
_Static_assert(RA_CHAL_LEN <= RA_REQ_LEN, "CHALLENGE <= REQ");
_Static_assert(RA_PREPLY_LEN <= RA_PROBE_LEN, "PROBE_REPLY <= PROBE");
_Static_assert(RA_CHAL_LEN <= RA_MAX_MSG_LEN && RA_REQ_LEN <= RA_MAX_MSG_LEN,
	       "output buffer");
_Static_assert(-RA_E_UNEXPECTED + 1 == RA_ERR_COUNT, "error count");

/* ---------------------------------------------------------------------- */
/* Big-endian fields                                                       */
/* ---------------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return !acc;
}

static uint64_t elapsed(uint64_t now_ms, uint64_t then_ms)
{
	return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* ---------------------------------------------------------------------- */
/* Errors and names                                                        */
/* ---------------------------------------------------------------------- */

struct ra_err_name {
	const char *token;	/* JSON */
	const char *text;	/* humans */
};

static const struct ra_err_name ra_err_names[RA_ERR_COUNT] = {
	[-RA_OK] = { "ok", "success" },
	[-RA_E_INVAL] = { "inval", "invalid argument" },
	[-RA_E_NOMEM] = { "nomem", "out of memory" },
	[-RA_E_SHORT] = { "short", "message too short" },
	[-RA_E_LONG] = { "long", "message too long" },
	[-RA_E_TYPE] = { "type", "wrong message type" },
	[-RA_E_RESERVED] = { "reserved", "reserved bytes or flags not zero" },
	[-RA_E_REASON] = { "reason", "unknown reattach reason" },
	[-RA_E_UNKNOWN_SESSION] = { "unknown_session", "unknown session" },
	[-RA_E_RATE_SESSION] = { "rate_session",
				 "per-session reattach rate exceeded" },
	[-RA_E_RATE_GLOBAL] = { "rate_global",
				"global reattach rate exceeded" },
	[-RA_E_MAC] = { "mac", "MAC invalid" },
	[-RA_E_REPLAY] = { "replay", "counter or sequence not fresh" },
	[-RA_E_STATE] = { "state", "session state forbids reattach" },
	[-RA_E_VERSION] = { "version", "stale path epoch or state version" },
	[-RA_E_POLICY] = { "policy", "switch refused by policy" },
	[-RA_E_NOT_OWNER] = { "not_owner",
			      "session ownership or CAS failed" },
	[-RA_E_PENDING_FULL] = { "pending_full",
				 "pending validation table full" },
	[-RA_E_NO_PENDING] = { "no_pending", "no pending path validation" },
	[-RA_E_EXPIRED] = { "expired", "path validation timed out" },
	[-RA_E_PATH_MISMATCH] = { "path_mismatch",
				  "response not from the challenged path" },
	[-RA_E_CHALLENGE] = { "challenge", "challenge echo wrong" },
	[-RA_E_AMPLIFICATION] = { "amplification",
				  "would send more than received on path" },
	[-RA_E_COMMIT] = { "commit", "commit callback failed" },
	[-RA_E_NO_CANDIDATE] = { "no_candidate", "no usable candidate path" },
	[-RA_E_UNEXPECTED] = { "unexpected", "no matching request pending" },
};

static const struct ra_err_name *err_entry(int err)
{
	if (err > 0 || (size_t)-(long)err >= ARRAY_SIZE(ra_err_names))
		return NULL;
	return &ra_err_names[-(long)err];
}

const char *ra_strerror(int err)
{
	const struct ra_err_name *e = err_entry(err);

	return e ? e->text : "unknown error";
}

const char *ra_errname(int err)
{
	const struct ra_err_name *e = err_entry(err);

	return e ? e->token : "unknown";
}

const char *ra_reason_name(enum ra_reason r)
{
	switch (r) {
	case RA_REASON_PATH_LOST:
		return "path_lost";
	case RA_REASON_BETTER_PATH:
		return "better_path";
	case RA_REASON_NAT_REBIND:
		return "nat_rebind";
	case RA_REASON_OPERATOR:
		return "operator";
	}
	return "unknown";
}

static bool reason_valid(unsigned int r)
{
	return r >= RA_REASON_PATH_LOST && r <= RA_REASON_MAX;
}

/* The FSM reason a REATTACH_STARTED carries for a wire reason. */
static enum fsm_reason start_reason(enum ra_reason r)
{
	return r == RA_REASON_BETTER_PATH ? FSM_R_BETTER_PATH
					  : FSM_R_REATTACH_STARTED;
}

/* ---------------------------------------------------------------------- */
/* Paths, MACs, frames                                                     */
/* ---------------------------------------------------------------------- */

bool ra_path_equal(const struct ra_path *a, const struct ra_path *b)
{
	return a->socket_id == b->socket_id &&
	       a->remote.addr_len == b->remote.addr_len &&
	       a->remote.port == b->remote.port &&
	       !memcmp(a->remote.addr, b->remote.addr, a->remote.addr_len);
}

static bool path_valid(const struct ra_path *p)
{
	return p && (p->remote.addr_len == 4 || p->remote.addr_len == 16);
}

void ra_mac(uint8_t mac[RA_MAC_LEN], const uint8_t key[JVPN_REATTACH_KEY_LEN],
	    const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b(mac, RA_MAC_LEN, data, len, key,
				   JVPN_REATTACH_KEY_LEN);
}

void ra_mac_key_init(struct ra_mac_key *mk,
		     const uint8_t key[JVPN_REATTACH_KEY_LEN])
{
	memcpy(mk->key, key, JVPN_REATTACH_KEY_LEN);
}

void ra_mac_keyed(uint8_t mac[RA_MAC_LEN], const struct ra_mac_key *mk,
		  const uint8_t *data, size_t len)
{
	ra_mac(mac, mk->key, data, len);
}

/* The MAC at mac_off covers everything before it; constant time. */
static bool mac_ok(const uint8_t *key, const uint8_t *msg, size_t mac_off)
{
	uint8_t mac[RA_MAC_LEN];
	bool ok;

	ra_mac(mac, key, msg, mac_off);
	ok = sodium_memcmp(mac, msg + mac_off, RA_MAC_LEN) == 0;
	sodium_memzero(mac, sizeof(mac));
	return ok;
}

static void put_mac(const uint8_t *key, uint8_t *msg, size_t mac_off)
{
	ra_mac(msg + mac_off, key, msg, mac_off);
}

/* The server's: with the key's precomputed state. */
static bool mac_ok_mk(const struct ra_mac_key *mk, const uint8_t *msg,
		      size_t mac_off)
{
	uint8_t mac[RA_MAC_LEN];
	bool ok;

	ra_mac_keyed(mac, mk, msg, mac_off);
	ok = crypto_verify_16(mac, msg + mac_off) == 0; /* constant time */
	sodium_memzero(mac, sizeof(mac));
	return ok;
}

static void put_mac_mk(const struct ra_mac_key *mk, uint8_t *msg,
		       size_t mac_off)
{
	ra_mac_keyed(msg + mac_off, mk, msg, mac_off);
}

/* ---------------------------------------------------------------------- */
/* Key rollover                                                            */
/* ---------------------------------------------------------------------- */

/*
 * A rekey gives both ends a new reattach key, but not at the same moment:
 * the server (responder) switches when it answers the new handshake, the
 * client (initiator) when that answer arrives: later, or not at all if it
 * is lost and the client retries.  So each end accepts the previous key
 * for a grace period and sends with the current one, except where the
 * peer could not verify that:
 *
 * - A server answer (PROBE_REPLY; CHALLENGE or COMMITTED confirmation to
 *   a REQ; confirmation to a RESP) is MACed with the key its request
 *   verified under.  A request under the old key comes from a client that
 *   may not hold the new key yet and could not check an answer under it;
 *   a client that switched meanwhile still accepts the old key.
 * - A server-initiated CHALLENGE answers nothing.  During the server's
 *   grace the client surely accepts the old key: either it has not
 *   switched, or it switched after the server and is inside its own,
 *   later ending, grace.  It surely has the new key only once it used it.
 *   So the old key MACs it until then (or until the grace ends).
 * - The client never needs to answer with its old key: its current key
 *   came with a handshake answer, which proves the server holds it as its
 *   current key (or, after a newer rekey, as the old one, in its grace).
 *   A RESP to a CHALLENGE that used the old key goes out under the
 *   current key and is accepted.
 *
 * Freshness is per session, not per key: REQ counters, the probe window,
 * the pending challenge and the client's probe records outlive a rekey,
 * so a replay under either key is still refused, and once the grace is
 * over a message under the old key fails its MAC.
 */

static void old_key_drop(struct ra_old_key *o)
{
	sodium_memzero(o->key, sizeof(o->key));
	o->held = false;
}

/* The old key while its grace lasts; wiped at the first look after it. */
static const uint8_t *old_key_get(struct ra_old_key *o, uint64_t now_ms)
{
	if (!o->held)
		return NULL;
	if (now_ms >= o->until_ms) {
		old_key_drop(o);
		return NULL;
	}
	return o->key;
}

/* The key msg's MAC verifies under (current first), NULL if none. */
static const uint8_t *mac_ok_any(const uint8_t *key, struct ra_old_key *o,
				 const uint8_t *msg, size_t mac_off,
				 uint64_t now_ms)
{
	const uint8_t *old;

	if (mac_ok(key, msg, mac_off))
		return key;
	old = old_key_get(o, now_ms);
	if (old && mac_ok(old, msg, mac_off))
		return old;
	return NULL;
}

/*
 * key := new_key.  The replaced key becomes the old one, unless keep_old:
 * then the old key held now stays (the peer evidently still uses it).
 * Either way its grace starts again now.
 */
static void rollover(uint8_t key[JVPN_REATTACH_KEY_LEN], struct ra_old_key *o,
		     const uint8_t *new_key, bool keep_old, uint64_t now_ms,
		     uint64_t grace_ms)
{
	if (!keep_old)
		memcpy(o->key, key, sizeof(o->key));
	memcpy(key, new_key, JVPN_REATTACH_KEY_LEN);
	if (!grace_ms) {
		old_key_drop(o);
		return;
	}
	o->held = true;
	o->until_ms = now_ms + grace_ms;
}

/* Size and type; reserved bytes are checked per message. */
static int check_frame(const uint8_t *msg, size_t len, uint8_t type,
		       size_t want)
{
	if (!msg || len < 1)
		return RA_E_SHORT;
	if (msg[0] != type)
		return RA_E_TYPE;
	if (len < want)
		return RA_E_SHORT;
	if (len > want)
		return RA_E_LONG;
	return RA_OK;
}

static void out_init(struct ra_output *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
}

/* Decimal digits of v at p; returns the end. */
static char *put_dec(char *p, unsigned int v)
{
	char tmp[10];
	int n = 0;

	/* Address bytes and ports: up to three digits without the loop. */
	if (v < 10) {
		*p++ = (char)('0' + v);
		return p;
	}
	if (v < 100) {
		p[0] = (char)('0' + v / 10);
		p[1] = (char)('0' + v % 10);
		return p + 2;
	}
	if (v < 1000) {
		p[0] = (char)('0' + v / 100);
		p[1] = (char)('0' + v / 10 % 10);
		p[2] = (char)('0' + v % 10);
		return p + 3;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void format_remote(const struct ra_path *p, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int af = p->remote.addr_len == 16 ? AF_INET6 : AF_INET;
	char *e = buf;
	int i;

	/* IPv4, as inet_ntop() and "%s:%u" write it, without them. */
	if (p->remote.addr_len == 4 && len >= sizeof("255.255.255.255:65535")) {
		for (i = 0; i < 4; i++) {
			e = put_dec(e, p->remote.addr[i]);
			*e++ = i < 3 ? '.' : ':';
		}
		e = put_dec(e, p->remote.port);
		*e = '\0';
		return;
	}

	if (!path_valid(p) || !inet_ntop(af, p->remote.addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, af == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 p->remote.port);
}

/* ---------------------------------------------------------------------- */
/* Message builders                                                        */
/* ---------------------------------------------------------------------- */

static void build_challenge(const struct ra_session *s,
			    const struct ra_mac_key *mk,
			    uint8_t flags, uint64_t counter,
			    const uint8_t chal[RA_CHALLENGE_LEN],
			    uint64_t version, struct ra_output *out)
{
	uint8_t *m = out->msg;

	memset(m, 0, RA_CHAL_LEN);
	m[RA_CHAL_OFF_TYPE] = JVPN_MSG_REATTACH_CHALLENGE;
	m[RA_CHAL_OFF_FLAGS] = flags;
	put_be32(m + RA_CHAL_OFF_SESSION, s->peer_id);
	put_be64(m + RA_CHAL_OFF_COUNTER, counter);
	if (chal)
		memcpy(m + RA_CHAL_OFF_CHALLENGE, chal, RA_CHALLENGE_LEN);
	put_be64(m + RA_CHAL_OFF_VERSION, version);
	put_mac_mk(mk, m, RA_CHAL_OFF_MAC);
	out->len = RA_CHAL_LEN;
}

/* ---------------------------------------------------------------------- */
/* Audit                                                                   */
/* ---------------------------------------------------------------------- */

static enum audit_action refusal_action(int err)
{
	switch (err) {
	case RA_E_RATE_SESSION:
	case RA_E_RATE_GLOBAL:
		return AUDIT_ACT_RATE_LIMITED;
	case RA_E_POLICY:
		return AUDIT_ACT_POLICY_DENIED;
	default:
		return AUDIT_ACT_REATTACH_REJECTED;
	}
}

static enum fsm_reason refusal_reason(int err)
{
	switch (err) {
	case RA_E_MAC:
		return FSM_R_REATTACH_PROOF_INVALID;
	case RA_E_REPLAY:
		return FSM_R_REATTACH_STALE;
	case RA_E_VERSION:
		return FSM_R_STALE_VERSION;
	case RA_E_RATE_SESSION:
	case RA_E_RATE_GLOBAL:
		return FSM_R_REATTACH_RATE_LIMITED;
	case RA_E_EXPIRED:
		return FSM_R_REATTACH_TIMEOUT;
	case RA_E_PATH_MISMATCH:
	case RA_E_CHALLENGE:
	case RA_E_AMPLIFICATION:
		return FSM_R_PATH_VALIDATION_FAILED;
	default:
		return FSM_R_REATTACH_FAILED;
	}
}

struct refusal {
	int err;
	const struct ra_session *s;	/* NULL: not (yet) a known session */
	uint32_t claimed_id;		/* id the message named */
	enum fsm_reason why;		/* FSM_R_NONE: from err */
	const struct ra_path *from;
};

/*
 * SECURITY_EVENT for a refusal, through a token bucket: a flood of bad
 * messages costs at most audit_rate records per second, and the next
 * record that does get out says how many were suppressed.  Every refusal
 * is counted in the stats whatever the bucket says.
 */
static int refuse(struct ra_server *srv, const struct refusal *r,
		  const struct audit_clock *clk)
{
	char remote[64];
	struct audit_kv kv[4];
	unsigned int n = 0;
	struct audit_record rec;

	if ((size_t)-(long)r->err < RA_ERR_COUNT)
		srv->stats.refused[-r->err]++;
	if (!srv->cfg.audit)
		return r->err;
	if (!tbucket_take(&srv->audit_bucket, clk->mono_ms)) {
		srv->stats.audit_suppressed++;
		srv->audit_suppressed_pending++;
		return r->err;
	}
	format_remote(r->from, remote, sizeof(remote));
	kv[n++] = (struct audit_kv){ .key = "error", .type = AUDIT_KV_STR,
				     .s = ra_errname(r->err) };
	kv[n++] = (struct audit_kv){ .key = "remote", .type = AUDIT_KV_STR,
				     .s = remote };
	if (!r->s)
		kv[n++] = (struct audit_kv){ .key = "claimed_session",
					     .type = AUDIT_KV_U64,
					     .u = r->claimed_id };
	if (srv->audit_suppressed_pending)
		kv[n++] = (struct audit_kv){
			.key = "suppressed", .type = AUDIT_KV_U64,
			.u = srv->audit_suppressed_pending };
	rec = (struct audit_record){
		.type = AUDIT_T_SECURITY,
		.action = refusal_action(r->err),
		.session_id = r->s ? r->s->local_id : 0,
		.reason = r->why != FSM_R_NONE ? r->why
					       : refusal_reason(r->err),
		.extra = kv,
		.n_extra = n,
	};
	if (audit_emit(srv->cfg.audit, &rec, clk) == 0)
		srv->audit_suppressed_pending = 0;
	return r->err;
}

static int refuse_simple(struct ra_server *srv, int err,
			 const struct ra_session *s, uint32_t claimed_id,
			 const struct ra_path *from,
			 const struct audit_clock *clk)
{
	struct refusal r = { .err = err, .s = s, .claimed_id = claimed_id,
			     .from = from };

	return refuse(srv, &r, clk);
}

/* Apply one FSM event and audit it (STATE_CHANGE, or refusal). */
static int fsm_step(struct audit *a, struct fsm_session *fsm, bool cas,
		    uint64_t expected, enum fsm_event ev, enum fsm_reason why,
		    const struct audit_clock *clk, struct fsm_result *res,
		    uint32_t path_old, uint32_t path_new, uint32_t *tl_hint)
{
	struct fsm_result local;
	int ret;

	if (!res)
		res = &local;
	if (cas)
		ret = fsm_transition_cas(fsm, expected, ev, why, clk->mono_ms,
					 res);
	else
		ret = fsm_transition(fsm, ev, why, clk->mono_ms, res);
	if (a)
		audit_emit_fsm_hint(a, res, path_old, path_new, clk, NULL, 0,
				    tl_hint);
	return ret;
}

/* The TransportSwitch AUDIT_EVENT of a committed switch. */
static void audit_switch(struct audit *a, const struct ra_commit *c,
			 const char *side, const struct audit_clock *clk,
			 uint32_t *tl_hint)
{
	char remote[64];
	struct audit_kv kv[7];
	struct audit_record rec;

	if (!a)
		return;
	format_remote(&c->new_path, remote, sizeof(remote));
	kv[0] = (struct audit_kv){ .key = "kind", .type = AUDIT_KV_STR,
				   .s = "TransportSwitch" };
	kv[1] = (struct audit_kv){ .key = "side", .type = AUDIT_KV_STR,
				   .s = side };
	kv[2] = (struct audit_kv){ .key = "ra_reason", .type = AUDIT_KV_STR,
				   .s = ra_reason_name(c->reason) };
	kv[3] = (struct audit_kv){ .key = "recovery_ms", .type = AUDIT_KV_U64,
				   .u = c->recovery_ms };
	kv[4] = (struct audit_kv){ .key = "validation", .type = AUDIT_KV_STR,
				   .s = c->validated_standby ? "standby"
							     : "challenge" };
	kv[5] = (struct audit_kv){ .key = "epoch", .type = AUDIT_KV_U64,
				   .u = c->new_epoch };
	kv[6] = (struct audit_kv){ .key = "remote", .type = AUDIT_KV_STR,
				   .s = remote };
	rec = (struct audit_record){
		.type = AUDIT_T_EVENT,
		.action = AUDIT_ACT_PATH_SWITCHED,
		.session_id = c->session_id,
		.fields = AUDIT_F_PATHS,
		.reason = FSM_R_REATTACH_VALIDATED,
		.path_old = c->old_path.path_id,
		.path_new = c->new_path.path_id,
		.extra = kv,
		.n_extra = ARRAY_SIZE(kv),
		.tl_hint = tl_hint,
	};
	audit_emit(a, &rec, clk);
}

/* ---------------------------------------------------------------------- */
/* Sessions                                                                */
/* ---------------------------------------------------------------------- */

/* Probes: every standby path at ProbeIntervalMs, with slack for bursts. */
static void probe_bucket_init(struct tbucket *b, const struct jvpn_policy *p,
			      uint64_t now_ms)
{
	uint32_t per_path = 1000 / p->probe_interval_ms + 1;

	tbucket_init(b, per_path * RA_MAX_STANDBY, 2 * RA_MAX_STANDBY, now_ms);
}

int ra_session_init(struct ra_session *s, uint32_t local_id, uint32_t peer_id,
		    const uint8_t key[JVPN_REATTACH_KEY_LEN],
		    struct fsm_session *fsm, struct policy_counters *pc,
		    const struct ra_path *active, uint64_t epoch,
		    const struct jvpn_policy *pol, uint64_t now_ms)
{
	if (!s || !local_id || !peer_id || !key || !fsm || !pc ||
	    !path_valid(active) || !epoch || !pol)
		return RA_E_INVAL;
	memset(s, 0, sizeof(*s));
	s->local_id = local_id;
	s->peer_id = peer_id;
	ra_mac_key_init(&s->mk, key);
	s->key_proven = true;		/* by the handshake that made it */
	s->fsm = fsm;
	s->pc = pc;
	s->active = *active;
	s->epoch = epoch;
	s->pending = RA_NONE;
	tbucket_init(&s->req_bucket, pol->reattach_rate, pol->reattach_burst,
		     now_ms);
	probe_bucket_init(&s->probe_bucket, pol, now_ms);
	return RA_OK;
}

void ra_session_wipe(struct ra_session *s)
{
	if (s)
		sodium_memzero(s, sizeof(*s));
}

/* ---------------------------------------------------------------------- */
/* Server: key rollover                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Sessions holding an old key are listed in the order their grace ends,
 * so ra_server_expire() wipes each one on time without scanning sessions.
 * The key itself is an entry of the server's pool while the grace lasts.
 */
static struct ra_old_entry *old_entry(const struct ra_server *srv,
				      const struct ra_session *s)
{
	return s->old ? &srv->old_pool[s->old - 1] : NULL;
}

/* The old key while its grace lasts; wiped at the first look after it. */
static const struct ra_mac_key *srv_old_get(const struct ra_server *srv,
					    const struct ra_session *s,
					    uint64_t now_ms)
{
	struct ra_old_entry *e = old_entry(srv, s);

	if (!e || !e->held)
		return NULL;
	if (now_ms >= e->until_ms) {
		sodium_memzero(&e->mk, sizeof(e->mk));
		e->held = false;
		return NULL;
	}
	return &e->mk;
}

bool ra_server_old_key_held(const struct ra_server *srv,
			    const struct ra_session *s)
{
	const struct ra_old_entry *e = srv && s ? old_entry(srv, s) : NULL;

	return e && e->held;
}

static struct ra_old_entry *old_alloc(struct ra_server *srv,
				      struct ra_session *s)
{
	struct ra_old_entry *e;
	uint32_t i;

	if (srv->old_free) {
		i = srv->old_free - 1;
		srv->old_free = srv->old_pool[i].next;
	} else if (srv->fresh_old < srv->cfg.pending_capacity) {
		i = srv->fresh_old++;
	} else {
		srv->stats.old_key_full++;
		return NULL;
	}
	e = &srv->old_pool[i];
	memset(e, 0, sizeof(*e));
	e->s = s;
	s->old = i + 1;
	return e;
}

/* Out of the grace list; the entry stays the session's. */
static void old_list_del(struct ra_server *srv, struct ra_old_entry *e)
{
	uint32_t i = (uint32_t)(e - srv->old_pool) + 1;

	if (e->prev)
		srv->old_pool[e->prev - 1].next = e->next;
	else if (srv->old_first == i)
		srv->old_first = e->next;
	else
		return;			/* not listed */
	if (e->next)
		srv->old_pool[e->next - 1].prev = e->prev;
	else
		srv->old_last = e->prev;
	e->prev = e->next = 0;
}

/* One grace for every session: the walk nearly always stops at once. */
static void old_list_add(struct ra_server *srv, struct ra_old_entry *e)
{
	uint32_t i = (uint32_t)(e - srv->old_pool) + 1, before = srv->old_last;

	while (before &&
	       srv->old_pool[before - 1].until_ms > e->until_ms)
		before = srv->old_pool[before - 1].prev;
	e->prev = before;
	e->next = before ? srv->old_pool[before - 1].next : srv->old_first;
	if (e->next)
		srv->old_pool[e->next - 1].prev = i;
	else
		srv->old_last = i;
	if (before)
		srv->old_pool[before - 1].next = i;
	else
		srv->old_first = i;
}

/* The session's old key wiped, its entry back to the pool. */
static void old_unlink(struct ra_server *srv, struct ra_session *s)
{
	struct ra_old_entry *e = old_entry(srv, s);

	if (!e)
		return;
	old_list_del(srv, e);
	sodium_memzero(e, sizeof(*e));
	e->next = srv->old_free;
	srv->old_free = s->old;
	s->old = 0;
}

int ra_session_rekey(struct ra_server *srv, struct ra_session *s,
		     const uint8_t new_key[JVPN_REATTACH_KEY_LEN],
		     uint64_t now_ms, uint64_t grace_ms)
{
	struct ra_old_entry *e;
	bool keep_old;

	if (!srv || !s || !new_key)
		return RA_E_INVAL;
	/*
	 * A key the client never used never reached it: the handshake answer
	 * was lost and the client retried.  It still uses the old key.
	 */
	keep_old = !s->key_proven && srv_old_get(srv, s, now_ms);
	e = old_entry(srv, s);
	if (e)
		old_list_del(srv, e);
	else if (grace_ms)
		e = old_alloc(srv, s);	/* NULL: counted, no grace */
	/* rollover() with the keys as their MAC states. */
	if (e && grace_ms) {
		if (!keep_old)
			e->mk = s->mk;
		e->held = true;
		e->until_ms = now_ms + grace_ms;
		old_list_add(srv, e);
	} else if (e) {
		old_unlink(srv, s);
	}
	ra_mac_key_init(&s->mk, new_key);
	s->key_proven = false;
	return RA_OK;
}

void ra_session_key_proven(struct ra_session *s)
{
	if (s)
		s->key_proven = true;
}

/*
 * What accepting a message will touch (the rest of the session, its
 * ownership record, its audit timeline), fetched ahead of use: at
 * 100,000 sessions each is a cache miss, and met one after the other
 * they cost more than the MAC.  A RESP on its pending path overlaps
 * them with its MAC, a REQ (whose forgeries only name a session, and
 * must stay cheap) with its rate and policy checks.  audit_emit()
 * fetches the rest of the timeline (its list neighbours, its chunk)
 * while it formats.  Only hints.
 */
static void srv_prefetch(const struct ra_server *srv,
			 const struct ra_session *s)
{
	const struct store_ops *st = srv->cfg.store;
	const char *p = (const char *)s;

	if (st && st->prefetch)
		st->prefetch(srv->cfg.store_ctx, s->local_id);
	__builtin_prefetch(p + 64);
	__builtin_prefetch(p + 128);
	__builtin_prefetch(p + sizeof(*s) - 1);
	audit_prefetch(srv->cfg.audit, s->audit_tl);
	__builtin_prefetch(s->pc);
	__builtin_prefetch((const char *)s->pc + sizeof(*s->pc) - 1);
}

/*
 * mac_ok_any() for a server session: a MAC under the current key proves
 * the client holds it; one only the old key verifies is counted.  *mk:
 * the key that verified, which MACs the answer (a copy: the old one may
 * go before the answer does).  false: neither did.
 */
static bool srv_mac_ok(struct ra_server *srv, struct ra_session *s,
		       const uint8_t *msg, size_t mac_off, uint64_t now_ms,
		       struct ra_mac_key *mk)
{
	const struct ra_mac_key *old;

	if (mac_ok_mk(&s->mk, msg, mac_off)) {
		s->key_proven = true;
		*mk = s->mk;
		return true;
	}
	old = srv_old_get(srv, s, now_ms);
	if (old && mac_ok_mk(old, msg, mac_off)) {
		srv->stats.mac_old_key++;
		*mk = *old;
		return true;
	}
	return false;
}

/* n (<= RA_RANDOM_BATCH) random bytes from the server's batch. */
static void srv_random(struct ra_server *srv, uint8_t *out, uint32_t n)
{
	if (srv->random_left < n) {
		randombytes_buf(srv->random, sizeof(srv->random));
		srv->random_left = sizeof(srv->random);
	}
	srv->random_left -= n;
	memcpy(out, srv->random + srv->random_left, n);
	sodium_memzero(srv->random + srv->random_left, n);
}

/* Wipe old keys whose grace is over; the next grace end, 0 if none. */
static uint64_t expire_old_keys(struct ra_server *srv, uint64_t now_ms,
				uint32_t budget)
{
	struct ra_old_entry *e;

	while (srv->old_first) {
		e = &srv->old_pool[srv->old_first - 1];
		if (srv_old_get(srv, e->s, now_ms))
			return e->until_ms;
		if (!budget--)
			return now_ms;
		old_unlink(srv, e->s);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Server: pending table                                                   */
/* ---------------------------------------------------------------------- */

int ra_server_init(struct ra_server *srv, const struct ra_server_config *cfg,
		   uint64_t now_ms)
{
	const struct jvpn_policy *p;
	uint32_t cap;

	if (!srv || !cfg || !cfg->policy || !cfg->ops.lookup ||
	    !cfg->ops.commit || !cfg->pending_capacity ||
	    cfg->pending_capacity > RA_PENDING_MAX ||
	    (cfg->store && (!cfg->node_id || !cfg->owner_ttl_ms)))
		return RA_E_INVAL;
	if (sodium_init() < 0)
		return RA_E_INVAL;
	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	if (!srv->cfg.pending_ttl_ms)
		srv->cfg.pending_ttl_ms = RA_PENDING_TTL_MS_DEFAULT;
	if (!srv->cfg.audit_rate)
		srv->cfg.audit_rate = RA_AUDIT_RATE_DEFAULT;
	if (!srv->cfg.audit_burst)
		srv->cfg.audit_burst = RA_AUDIT_BURST_DEFAULT;
	cap = cfg->pending_capacity;
	/* Both tables are touched only as entries are first used. */
	srv->pending = calloc(cap, sizeof(*srv->pending));
	srv->standby = calloc(cap, sizeof(*srv->standby));
	srv->old_pool = calloc(cap, sizeof(*srv->old_pool));
	if (!srv->pending || !srv->standby || !srv->old_pool) {
		free(srv->pending);
		free(srv->standby);
		free(srv->old_pool);
		srv->pending = NULL;
		srv->standby = NULL;
		srv->old_pool = NULL;
		return RA_E_NOMEM;
	}
	srv->free_head = RA_NONE;
	srv->oldest = srv->newest = RA_NONE;
	p = cfg->policy;
	tbucket_init(&srv->global_bucket, p->global_reattach_rate,
		     p->global_reattach_burst, now_ms);
	tbucket_init(&srv->audit_bucket, srv->cfg.audit_rate,
		     srv->cfg.audit_burst, now_ms);
	return RA_OK;
}

void ra_server_destroy(struct ra_server *srv)
{
	if (!srv)
		return;
	/* Sessions outliving the server keep no old key, no dangling link. */
	while (srv->old_first)
		old_unlink(srv, srv->old_pool[srv->old_first - 1].s);
	if (srv->old_pool)
		sodium_memzero(srv->old_pool, (size_t)srv->fresh_old *
			       sizeof(*srv->old_pool));
	free(srv->old_pool);
	if (srv->pending)
		sodium_memzero(srv->pending, (size_t)srv->fresh_pending *
			       sizeof(*srv->pending));
	free(srv->pending);
	free(srv->standby);
	sodium_memzero(srv->random, sizeof(srv->random));
	memset(srv, 0, sizeof(*srv));
}

uint32_t ra_server_pending_count(const struct ra_server *srv)
{
	return srv->n_pending;
}

const struct ra_server_stats *ra_server_get_stats(const struct ra_server *srv)
{
	return &srv->stats;
}

static uint32_t slot_of(const struct ra_server *srv,
			const struct ra_pending *p)
{
	return (uint32_t)(p - srv->pending);
}

static void list_unlink(struct ra_server *srv, struct ra_pending *p)
{
	if (p->prev != RA_NONE)
		srv->pending[p->prev].next = p->next;
	else
		srv->oldest = p->next;
	if (p->next != RA_NONE)
		srv->pending[p->next].prev = p->prev;
	else
		srv->newest = p->prev;
}

static void list_push_newest(struct ra_server *srv, struct ra_pending *p)
{
	uint32_t i = slot_of(srv, p);

	p->next = RA_NONE;
	p->prev = srv->newest;
	if (srv->newest != RA_NONE)
		srv->pending[srv->newest].next = i;
	srv->newest = i;
	if (srv->oldest == RA_NONE)
		srv->oldest = i;
}

static void pending_release(struct ra_server *srv, struct ra_pending *p)
{
	uint32_t i = slot_of(srv, p);

	list_unlink(srv, p);
	if (p->s)
		p->s->pending = RA_NONE;
	sodium_memzero(p, sizeof(*p));
	p->next = srv->free_head;
	srv->free_head = i;
	srv->n_pending--;
}

/*
 * A validation that ran out of time: the session goes back to VOLATILE
 * (the FSM's REATTACH_FAILED edge) unless something else moved it since.
 */
static void pending_expire(struct ra_server *srv, struct ra_pending *p,
			   const struct audit_clock *clk)
{
	struct ra_session *s = p->s;

	srv->stats.pending_expired++;
	if (p->started && s->fsm->state == FSM_RECOVERING &&
	    s->fsm->state_version == p->fsm_version &&
	    !fsm_step(srv->cfg.audit, s->fsm, true, p->fsm_version,
		      FSM_EV_REATTACH_FAILED, FSM_R_REATTACH_TIMEOUT, clk,
		      NULL, s->active.path_id, 0, &s->audit_tl) &&
	    p->from_attached && !p->counter) {
		/*
		 * Our own challenge to another source (UNKNOWN_SOURCE: a
		 * rebinding, a socket handover, or a replayed packet) went
		 * unanswered while the session was ATTACHED and nobody said
		 * the active path was lost: it still works, so the session
		 * is ATTACHED again and the episode ends.  A stray packet
		 * must not leave it VOLATILE (and end it when the window
		 * closes).  A client's REQ, by contrast, says its path is
		 * lost: that failure leaves the session VOLATILE.
		 */
		fsm_step(srv->cfg.audit, s->fsm, false, 0, FSM_EV_PATH_ALIVE,
			 FSM_R_PATH_ALIVE, clk, NULL, s->active.path_id, 0,
			 &s->audit_tl);
		s->in_episode = false;
		policy_note_recovered(s->pc);
	}
	pending_release(srv, p);
}

void ra_server_forget_session(struct ra_server *srv, struct ra_session *s)
{
	if (!srv || !s)
		return;
	if (s->pending != RA_NONE && s->pending < srv->cfg.pending_capacity)
		pending_release(srv, &srv->pending[s->pending]);
	if (s->standby && s->standby <= srv->fresh_standby) {
		struct ra_standby_block *b = &srv->standby[s->standby - 1];

		memset(b->e, 0, sizeof(b->e));
		b->next_free = srv->standby_free;
		srv->standby_free = s->standby;
	}
	s->standby = 0;
	old_unlink(srv, s);
}

/*
 * The session's pending entry (one per session), or a new one.  When the
 * table is full the oldest entry is reclaimed only if it has expired: a
 * live validation is never evicted by someone else's request.
 */
static struct ra_pending *pending_get(struct ra_server *srv,
				      struct ra_session *s,
				      const struct ra_path *candidate,
				      const struct audit_clock *clk)
{
	struct ra_pending *p;
	uint32_t i;

	if (s->pending != RA_NONE) {
		p = &srv->pending[s->pending];
		if (!ra_path_equal(&p->candidate, candidate)) {
			/* A new candidate starts with a new byte budget. */
			p->bytes_rx = 0;
			p->bytes_tx = 0;
			p->bad_resp = 0;
		}
		p->candidate = *candidate;
		list_unlink(srv, p);
		list_push_newest(srv, p);
		return p;
	}
	if (srv->free_head == RA_NONE &&
	    srv->fresh_pending == srv->cfg.pending_capacity &&
	    srv->oldest != RA_NONE &&
	    clk->mono_ms >= srv->pending[srv->oldest].expires_ms)
		pending_expire(srv, &srv->pending[srv->oldest], clk);
	if (srv->free_head != RA_NONE) {
		i = srv->free_head;
		p = &srv->pending[i];
		srv->free_head = p->next;
	} else if (srv->fresh_pending < srv->cfg.pending_capacity) {
		i = srv->fresh_pending++;
		p = &srv->pending[i];
	} else {
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->s = s;
	p->candidate = *candidate;
	list_push_newest(srv, p);
	s->pending = i;
	srv->n_pending++;
	return p;
}

static uint64_t expire_pending(struct ra_server *srv,
			       const struct audit_clock *clk, uint32_t budget)
{
	struct ra_pending *p;

	while (srv->oldest != RA_NONE) {
		p = &srv->pending[srv->oldest];
		if (clk->mono_ms < p->expires_ms)
			return p->expires_ms;
		if (!budget--)
			return clk->mono_ms;
		pending_expire(srv, p, clk);
	}
	return 0;
}

uint64_t ra_server_expire(struct ra_server *srv,
			  const struct audit_clock *clk, uint32_t budget)
{
	uint64_t a = expire_pending(srv, clk, budget);
	uint64_t b = expire_old_keys(srv, clk->mono_ms, budget);

	if (!a || (b && b < a))
		return b;
	return a;
}

/* ---------------------------------------------------------------------- */
/* Server: admission                                                       */
/* ---------------------------------------------------------------------- */

/*
 * Per-session first: one noisy session then cannot drain the global
 * budget that every other session's recovery depends on.
 */
static int admit_rate(struct ra_server *srv, struct ra_session *s,
		      uint64_t now_ms)
{
	if (!tbucket_take(&s->req_bucket, now_ms))
		return RA_E_RATE_SESSION;
	if (!tbucket_take(&srv->global_bucket, now_ms))
		return RA_E_RATE_GLOBAL;
	return RA_OK;
}

static bool state_allows_reattach(const struct fsm_session *fsm)
{
	switch (fsm->state) {
	case FSM_ATTACHED:
	case FSM_VOLATILE:
	case FSM_RECOVERING:
	case FSM_DEGRADED:
		return true;
	default:
		return false;
	}
}

/* Anti-flap: cooldown and MaxSwitchesPerMinute, before any state. */
static int admit_policy(struct ra_server *srv, const struct ra_session *s,
			uint64_t now_ms, enum fsm_reason *why)
{
	struct policy_decision d;

	d = policy_may_switch(srv->cfg.policy, s->pc, now_ms);
	*why = d.reason;
	return d.verdict == POLICY_ALLOW ? RA_OK : RA_E_POLICY;
}

/* Cheap ownership pre-check; the CAS at commit is authoritative. */
static int admit_owner(struct ra_server *srv, const struct ra_session *s,
		       uint64_t now_ms)
{
	struct store_record rec;

	if (!srv->cfg.store)
		return RA_OK;
	if (srv->cfg.store->get(srv->cfg.store_ctx, s->local_id, now_ms,
				&rec))
		return RA_E_NOT_OWNER;
	if (rec.owner != srv->cfg.node_id)
		return RA_E_NOT_OWNER;
	if (rec.version != s->epoch)
		return RA_E_VERSION;
	return RA_OK;
}

/* Everything a REQ and a server-initiated challenge have in common. */
static int admit(struct ra_server *srv, struct ra_session *s,
		 const struct ra_path *from, const struct audit_clock *clk,
		 bool charged)
{
	struct refusal r = { .s = s, .from = from };
	uint64_t now = clk->mono_ms;

	r.err = charged ? RA_OK : admit_rate(srv, s, now);
	if (!r.err && !state_allows_reattach(s->fsm))
		r.err = RA_E_STATE;
	if (!r.err)
		r.err = admit_policy(srv, s, now, &r.why);
	if (!r.err)
		r.err = admit_owner(srv, s, now);
	return r.err ? refuse(srv, &r, clk) : RA_OK;
}

static void episode_open(struct ra_session *s, const struct jvpn_policy *p,
			 uint64_t now_ms)
{
	/* An episode older than the recovery window is not this one. */
	if (s->in_episode && elapsed(now_ms, s->episode_start_ms) <
			      p->max_recovery_window_ms)
		return;
	s->in_episode = true;
	s->episode_start_ms = now_ms;
}

/* ---------------------------------------------------------------------- */
/* Server: commit                                                          */
/* ---------------------------------------------------------------------- */

struct commit_req {
	const struct ra_path *to;
	const struct ra_mac_key *mk;	/* MACs the confirmation */
	enum ra_reason reason;
	uint64_t counter;		/* echoed in the confirmation */
	bool standby;
	bool started;			/* REATTACH_STARTED already applied */
	uint64_t fsm_version;		/* valid if started */
};

static int ensure_started(struct ra_server *srv, struct ra_session *s,
			  enum ra_reason reason, const struct ra_path *to,
			  const struct audit_clock *clk)
{
	if (s->fsm->state == FSM_RECOVERING)
		return RA_OK;
	if (fsm_step(srv->cfg.audit, s->fsm, false, 0, FSM_EV_REATTACH_STARTED,
		     start_reason(reason), clk, NULL, s->active.path_id,
		     to->path_id, &s->audit_tl))
		return RA_E_STATE;
	return RA_OK;
}

/* Store first: the authority on who may move the session, and when. */
static int commit_store(struct ra_server *srv, struct ra_session *s,
			uint64_t now_ms)
{
	const struct store_ops *st = srv->cfg.store;

	if (!st)
		return RA_OK;
	if (st->cas(srv->cfg.store_ctx, s->local_id, s->epoch,
		    srv->cfg.node_id, srv->cfg.owner_ttl_ms, now_ms, NULL))
		return RA_E_NOT_OWNER;
	return RA_OK;
}

static void commit_describe(const struct ra_session *s,
			    const struct commit_req *cr, uint64_t now_ms,
			    struct ra_commit *c)
{
	*c = (struct ra_commit){
		.session_id = s->local_id,
		.old_path = s->active,
		.new_path = *cr->to,
		.reason = cr->reason,
		.old_epoch = s->epoch,
		.new_epoch = s->epoch + 1,
		.recovery_ms = s->in_episode ?
			elapsed(now_ms, s->episode_start_ms) : 0,
		.validated_standby = cr->standby,
	};
}

static void commit_done(struct ra_server *srv, struct ra_session *s,
			const struct commit_req *cr,
			const struct audit_clock *clk, struct ra_output *out)
{
	s->active = out->commit.new_path;
	s->epoch = out->commit.new_epoch;
	s->in_episode = false;
	policy_note_switch(s->pc, clk->mono_ms);
	policy_note_recovered(s->pc);
	srv->stats.commits++;
	if (cr->standby)
		srv->stats.commits_standby++;
	audit_switch(srv->cfg.audit, &out->commit, "server", clk,
		     &s->audit_tl);
	build_challenge(s, cr->mk, RA_CHAL_F_COMMITTED, cr->counter, NULL,
			s->epoch, out);
	out->to = s->active;
	out->committed = true;
}

/*
 * The FSM version is checked before any side effect, then the store CAS,
 * then the kernel (callback); only then do FSM, counters and audit move.
 */
static int commit(struct ra_server *srv, struct ra_session *s,
		  const struct commit_req *cr, const struct audit_clock *clk,
		  struct ra_output *out)
{
	uint64_t now = clk->mono_ms, expected = cr->fsm_version;
	struct fsm_result res;
	uint32_t path_id = cr->to->path_id;
	int err;

	if (!cr->started) {
		err = ensure_started(srv, s, cr->reason, cr->to, clk);
		if (err)
			return refuse_simple(srv, err, s, 0, cr->to, clk);
		expected = s->fsm->state_version;
	}
	if (s->fsm->state != FSM_RECOVERING ||
	    s->fsm->state_version != expected)
		return refuse_simple(srv, RA_E_VERSION, s, 0, cr->to, clk);
	err = commit_store(srv, s, now);
	if (!err) {
		commit_describe(s, cr, now, &out->commit);
		if (srv->cfg.ops.commit(srv->cfg.ctx, &out->commit, &path_id))
			err = RA_E_COMMIT;
	}
	if (err) {
		if (err == RA_E_COMMIT && srv->cfg.store)
			s->epoch++;	/* the store moved; stay in step */
		fsm_step(srv->cfg.audit, s->fsm, true, expected,
			 FSM_EV_REATTACH_FAILED, FSM_R_REATTACH_FAILED, clk,
			 NULL, s->active.path_id, cr->to->path_id,
			 &s->audit_tl);
		return refuse_simple(srv, err, s, 0, cr->to, clk);
	}
	out->commit.new_path.path_id = path_id;
	fsm_step(srv->cfg.audit, s->fsm, true, expected,
		 FSM_EV_REATTACH_SUCCEEDED, FSM_R_REATTACH_VALIDATED, clk, &res,
		 s->active.path_id, path_id, &s->audit_tl);
	commit_done(srv, s, cr, clk, out);
	return RA_OK;
}

/* ---------------------------------------------------------------------- */
/* Server: challenge                                                       */
/* ---------------------------------------------------------------------- */

struct challenge_req {
	const struct ra_path *to;
	const struct ra_mac_key *mk;	/* MACs the CHALLENGE */
	enum ra_reason reason;
	uint64_t counter;
	uint32_t rx_bytes;		/* what the candidate sent us */
};

/*
 * Creates or refreshes the session's pending validation and, if the bytes
 * received on the candidate cover it, sends a new CHALLENGE there.
 */
static int challenge(struct ra_server *srv, struct ra_session *s,
		     const struct challenge_req *cq,
		     const struct audit_clock *clk, struct ra_output *out)
{
	struct ra_pending *p = pending_get(srv, s, cq->to, clk);
	int err;

	if (!p)
		return refuse_simple(srv, RA_E_PENDING_FULL, s, 0, cq->to,
				     clk);
	p->bytes_rx += cq->rx_bytes;
	p->counter = cq->counter;
	p->reason = cq->reason;
	p->expires_ms = clk->mono_ms + srv->cfg.pending_ttl_ms;
	if (p->bytes_tx + RA_CHAL_LEN > p->bytes_rx) {
		/* Not an attack by itself: counted, not audited. */
		srv->stats.refused[-RA_E_AMPLIFICATION]++;
		return RA_E_AMPLIFICATION;
	}
	p->from_attached = s->fsm->state == FSM_ATTACHED;
	err = ensure_started(srv, s, cq->reason, cq->to, clk);
	if (err) {
		pending_release(srv, p);
		return refuse_simple(srv, err, s, 0, cq->to, clk);
	}
	p->started = true;
	p->fsm_version = s->fsm->state_version;
	srv_random(srv, p->challenge, sizeof(p->challenge));
	build_challenge(s, cq->mk, 0, p->counter, p->challenge, s->epoch,
			out);
	out->to = *cq->to;
	p->bytes_tx += out->len;
	srv->stats.challenges_sent++;
	return RA_OK;
}

/* ---------------------------------------------------------------------- */
/* Server: REATTACH_REQ                                                    */
/* ---------------------------------------------------------------------- */

struct req_view {
	uint32_t session;
	uint64_t counter;
	uint64_t timestamp;
	uint64_t version;
	enum ra_reason reason;
};

static int parse_req(const uint8_t *msg, size_t len, struct req_view *rq)
{
	int err = check_frame(msg, len, JVPN_MSG_REATTACH_REQ, RA_REQ_LEN);

	if (err)
		return err;
	if (!all_zero(msg + RA_REQ_OFF_RESERVED, 3) ||
	    !all_zero(msg + RA_REQ_OFF_RESERVED2, 3))
		return RA_E_RESERVED;
	if (!reason_valid(msg[RA_REQ_OFF_REASON]))
		return RA_E_REASON;
	rq->session = get_be32(msg + RA_REQ_OFF_SESSION);
	rq->counter = get_be64(msg + RA_REQ_OFF_COUNTER);
	rq->timestamp = get_be64(msg + RA_REQ_OFF_TIMESTAMP);
	rq->version = get_be64(msg + RA_REQ_OFF_VERSION);
	rq->reason = (enum ra_reason)msg[RA_REQ_OFF_REASON];
	return RA_OK;
}

/* The session already uses this path (lost confirmation): say so again. */
static int confirm_again(struct ra_session *s, const struct req_view *rq,
			 const struct ra_mac_key *mk, struct ra_output *out)
{
	build_challenge(s, mk, RA_CHAL_F_COMMITTED, rq->counter, NULL,
			s->epoch, out);
	out->to = s->active;
	return RA_OK;
}

/*
 * MAC, then freshness: the counter is consumed only by a genuine REQ.
 * *key: the key it verified under, which MACs the answer.
 */
static int req_authentic(struct ra_server *srv, struct ra_session *s,
			 const uint8_t *msg, const struct req_view *rq,
			 uint64_t now_ms, struct ra_mac_key *mk)
{
	if (!srv_mac_ok(srv, s, msg, RA_REQ_OFF_MAC, now_ms, mk))
		return RA_E_MAC;
	if (rq->counter <= s->last_counter)
		return RA_E_REPLAY;
	s->last_counter = rq->counter;
	return RA_OK;
}

/* mk: the verifying key's state, the caller's to wipe. */
static int handle_req(struct ra_server *srv, const uint8_t *msg, size_t len,
		      const struct ra_path *from,
		      const struct audit_clock *clk, struct ra_output *out,
		      struct ra_mac_key *mk)
{
	struct challenge_req cq;
	struct commit_req cr;
	struct req_view rq;
	struct ra_session *s;
	int err;

	err = parse_req(msg, len, &rq);
	if (err)
		return refuse_simple(srv, err, NULL,
				     len >= 8 ? get_be32(msg + 4) : 0, from,
				     clk);
	s = srv->cfg.ops.lookup(srv->cfg.ctx, rq.session);
	if (!s)
		return refuse_simple(srv, RA_E_UNKNOWN_SESSION, NULL,
				     rq.session, from, clk);
	/* Proof before the rate limits: forgeries naming a real session
	 * must not spend the budgets its genuine owner needs (a MAC costs
	 * about a microsecond; the socket's read budget bounds the rate).
	 */
	err = req_authentic(srv, s, msg, &rq, clk->mono_ms, mk);
	if (!err) {
		srv_prefetch(srv, s);	/* not for forgeries */
		err = admit_rate(srv, s, clk->mono_ms);
	}
	if (err)
		return refuse_simple(srv, err, s, 0, from, clk);
	if (ra_path_equal(from, &s->active) && state_allows_reattach(s->fsm))
		return confirm_again(s, &rq, mk, out);
	if (rq.version != s->epoch)
		return refuse_simple(srv, RA_E_VERSION, s, 0, from, clk);
	err = admit(srv, s, from, clk, true);
	if (err)
		return err;
	episode_open(s, srv->cfg.policy, clk->mono_ms);
	if (ra_server_path_validated(srv, s, from, clk->mono_ms)) {
		if (s->pending != RA_NONE)
			pending_release(srv, &srv->pending[s->pending]);
		cr = (struct commit_req){ .to = from, .mk = mk,
					  .reason = rq.reason,
					  .counter = rq.counter,
					  .standby = true };
		return commit(srv, s, &cr, clk, out);
	}
	cq = (struct challenge_req){ .to = from, .mk = mk,
				     .reason = rq.reason,
				     .counter = rq.counter,
				     .rx_bytes = (uint32_t)len };
	return challenge(srv, s, &cq, clk, out);
}

typedef int (*srv_handler)(struct ra_server *srv, const uint8_t *msg,
			   size_t len, const struct ra_path *from,
			   const struct audit_clock *clk, struct ra_output *out,
			   struct ra_mac_key *mk);

/* REQ and RESP: argument checks, and the key copy wiped afterwards. */
static int handle_keyed(srv_handler h, struct ra_server *srv,
			const uint8_t *msg, size_t len,
			const struct ra_path *from,
			const struct audit_clock *clk, struct ra_output *out)
{
	struct ra_mac_key mk;
	int err;

	out_init(out);
	if (!srv || !out || !clk || !path_valid(from))
		return RA_E_INVAL;
	err = h(srv, msg, len, from, clk, out, &mk);
	sodium_memzero(&mk, sizeof(mk));
	return err;
}

int ra_server_handle_req(struct ra_server *srv, const uint8_t *msg,
			 size_t len, const struct ra_path *from,
			 const struct audit_clock *clk, struct ra_output *out)
{
	return handle_keyed(handle_req, srv, msg, len, from, clk, out);
}

/* ---------------------------------------------------------------------- */
/* Server: REATTACH_RESP                                                   */
/* ---------------------------------------------------------------------- */

/* A bad answer counts against the pending entry; enough of them end it. */
static int resp_bad(struct ra_server *srv, struct ra_pending *p, int err,
		    const struct ra_path *from, const struct audit_clock *clk)
{
	struct ra_session *s = p->s;

	if (++p->bad_resp >= RA_PENDING_MAX_BAD_RESP)
		pending_expire(srv, p, clk);
	return refuse_simple(srv, err, s, 0, from, clk);
}

static int check_resp_frame(const uint8_t *msg, size_t len)
{
	int err = check_frame(msg, len, JVPN_MSG_REATTACH_RESP, RA_RESP_LEN);

	if (!err && !all_zero(msg + RA_RESP_OFF_RESERVED, 3))
		err = RA_E_RESERVED;
	return err;
}

static int resp_matches(const struct ra_pending *p, const uint8_t *msg)
{
	bool chal = sodium_memcmp(msg + RA_RESP_OFF_CHALLENGE, p->challenge,
				  RA_CHALLENGE_LEN) == 0;

	if (!chal || get_be64(msg + RA_RESP_OFF_COUNTER) != p->counter)
		return RA_E_CHALLENGE;
	return RA_OK;
}

static int handle_resp(struct ra_server *srv, const uint8_t *msg, size_t len,
		       const struct ra_path *from,
		       const struct audit_clock *clk, struct ra_output *out,
		       struct ra_mac_key *mk)
{
	struct ra_pending *p;
	struct ra_session *s;
	struct commit_req cr;
	struct ra_path to;
	uint32_t id;
	int err;

	err = check_resp_frame(msg, len);
	if (err)
		return refuse_simple(srv, err, NULL, 0, from, clk);
	id = get_be32(msg + RA_RESP_OFF_SESSION);
	s = srv->cfg.ops.lookup(srv->cfg.ctx, id);
	if (!s)
		return refuse_simple(srv, RA_E_UNKNOWN_SESSION, NULL, id, from,
				     clk);
	if (s->pending == RA_NONE || !srv->pending[s->pending].started)
		return refuse_simple(srv, RA_E_NO_PENDING, s, 0, from, clk);
	p = &srv->pending[s->pending];
	if (clk->mono_ms >= p->expires_ms) {
		pending_expire(srv, p, clk);
		return refuse_simple(srv, RA_E_EXPIRED, s, 0, from, clk);
	}
	if (!ra_path_equal(from, &p->candidate))
		return refuse_simple(srv, RA_E_PATH_MISMATCH, s, 0, from, clk);
	srv_prefetch(srv, s);		/* during the MAC */
	p->bytes_rx += len;
	if (!srv_mac_ok(srv, s, msg, RA_RESP_OFF_MAC, clk->mono_ms, mk))
		return resp_bad(srv, p, RA_E_MAC, from, clk);
	err = resp_matches(p, msg);
	if (err)
		return resp_bad(srv, p, err, from, clk);
	/* The candidate is copied: the entry goes before the commit. */
	to = p->candidate;
	cr = (struct commit_req){ .to = &to, .mk = mk, .reason = p->reason,
				  .counter = p->counter, .started = true,
				  .fsm_version = p->fsm_version };
	pending_release(srv, p);
	return commit(srv, s, &cr, clk, out);
}

int ra_server_handle_resp(struct ra_server *srv, const uint8_t *msg,
			  size_t len, const struct ra_path *from,
			  const struct audit_clock *clk, struct ra_output *out)
{
	return handle_keyed(handle_resp, srv, msg, len, from, clk, out);
}

/* ---------------------------------------------------------------------- */
/* Server: PROBE                                                           */
/* ---------------------------------------------------------------------- */

/* 64-entry sliding window: probes on several paths may arrive reordered. */
static int probe_fresh(struct ra_session *s, uint64_t seq)
{
	uint64_t d;

	if (!seq)
		return RA_E_REPLAY;
	if (seq > s->probe_top) {
		d = seq - s->probe_top;
		s->probe_seen = d >= 64 ? 0 : s->probe_seen << d;
		s->probe_seen |= 1;
		s->probe_top = seq;
		return RA_OK;
	}
	d = s->probe_top - seq;
	if (d >= 64 || (s->probe_seen & (1ULL << d)))
		return RA_E_REPLAY;
	s->probe_seen |= 1ULL << d;
	return RA_OK;
}

/* The session's standby entries, NULL if it has none yet. */
static struct ra_standby *standby_of(const struct ra_server *srv,
				     const struct ra_session *s)
{
	if (!s->standby || s->standby > srv->fresh_standby)
		return NULL;
	return srv->standby[s->standby - 1].e;
}

/* A block for the session's first standby path; NULL if none is left. */
static struct ra_standby *standby_alloc(struct ra_server *srv,
					struct ra_session *s)
{
	struct ra_standby_block *b;

	if (srv->standby_free) {
		s->standby = srv->standby_free;
		b = &srv->standby[s->standby - 1];
		srv->standby_free = b->next_free;
	} else if (srv->fresh_standby < srv->cfg.pending_capacity) {
		s->standby = ++srv->fresh_standby;
		b = &srv->standby[s->standby - 1];
	} else {
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	return b->e;
}

/*
 * The standby entry of path, or a new one (least recently heard evicted);
 * NULL only if the pool is exhausted (more sessions than its capacity).
 */
static struct ra_standby *standby_get(struct ra_server *srv,
				      struct ra_session *s,
				      const struct ra_path *path)
{
	struct ra_standby *sbs = standby_of(srv, s), *victim;
	unsigned int i;

	if (!sbs && !(sbs = standby_alloc(srv, s)))
		return NULL;
	victim = &sbs[0];
	for (i = 0; i < RA_MAX_STANDBY; i++) {
		struct ra_standby *sb = &sbs[i];

		if (sb->used && ra_path_equal(&sb->path, path))
			return sb;
		if (!sb->used)
			victim = sb;
		else if (victim->used && sb->last_rx_ms < victim->last_rx_ms)
			victim = sb;
	}
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->path = *path;
	return victim;
}

static const struct ra_standby *standby_find(const struct ra_server *srv,
					     const struct ra_session *s,
					     const struct ra_path *path)
{
	const struct ra_standby *sbs = standby_of(srv, s);
	unsigned int i;

	for (i = 0; sbs && i < RA_MAX_STANDBY; i++)
		if (sbs[i].used && ra_path_equal(&sbs[i].path, path))
			return &sbs[i];
	return NULL;
}

bool ra_server_path_validated(const struct ra_server *srv,
			      const struct ra_session *s,
			      const struct ra_path *path, uint64_t now_ms)
{
	const struct ra_standby *sb = standby_find(srv, s, path);

	return sb && sb->validated_ms &&
	       elapsed(now_ms, sb->validated_ms) <
		       srv->cfg.policy->validated_path_ttl_ms;
}

/*
 * The echoed token proves that our last (or previous) PROBE_REPLY to this
 * very address reached the client: the round trip is proven now.
 */
static void standby_note_echo(struct ra_standby *sb, const uint8_t *echo,
			      uint32_t ttl_ms, uint64_t now_ms)
{
	unsigned int i;

	if (all_zero(echo, RA_TOKEN_LEN))
		return;
	for (i = 0; i < 2; i++) {
		if (!sb->token_ms[i] ||
		    elapsed(now_ms, sb->token_ms[i]) >= ttl_ms)
			continue;
		if (sodium_memcmp(echo, sb->token[i], RA_TOKEN_LEN) == 0) {
			sb->validated_ms = now_ms;
			return;
		}
	}
}

static void standby_new_token(struct ra_server *srv, struct ra_standby *sb,
			      uint64_t now_ms)
{
	memcpy(sb->token[1], sb->token[0], RA_TOKEN_LEN);
	sb->token_ms[1] = sb->token_ms[0];
	srv_random(srv, sb->token[0], RA_TOKEN_LEN);
	sb->token_ms[0] = now_ms;
}

static int check_probe_frame(const uint8_t *msg, size_t len)
{
	int err = check_frame(msg, len, JVPN_MSG_PROBE, RA_PROBE_LEN);

	if (!err && (!all_zero(msg + RA_PROBE_OFF_RESERVED, 3) ||
		     !all_zero(msg + RA_PROBE_OFF_PAD, 8)))
		err = RA_E_RESERVED;
	return err;
}

static void build_probe_reply(const struct ra_session *s,
			      const struct ra_mac_key *mk,
			      const uint8_t *probe,
			      const struct ra_standby *sb,
			      struct ra_output *out)
{
	uint8_t *m = out->msg;

	memset(m, 0, RA_PREPLY_LEN);
	m[RA_PREPLY_OFF_TYPE] = JVPN_MSG_PROBE_REPLY;
	put_be32(m + RA_PREPLY_OFF_SESSION, s->peer_id);
	memcpy(m + RA_PREPLY_OFF_SEQ, probe + RA_PROBE_OFF_SEQ, 8);
	memcpy(m + RA_PREPLY_OFF_TIMESTAMP, probe + RA_PROBE_OFF_TIMESTAMP, 8);
	memcpy(m + RA_PREPLY_OFF_TOKEN, sb->token[0], RA_TOKEN_LEN);
	put_be64(m + RA_PREPLY_OFF_VERSION, s->epoch);
	put_mac_mk(mk, m, RA_PREPLY_OFF_MAC);
	out->len = RA_PREPLY_LEN;
}

static int handle_probe(struct ra_server *srv, const uint8_t *msg,
			size_t len, const struct ra_path *from,
			const struct audit_clock *clk, struct ra_output *out,
			struct ra_mac_key *mk)
{
	struct ra_standby *sb;
	struct ra_session *s;
	uint64_t now;
	uint32_t id;
	int err;

	now = clk->mono_ms;
	err = check_probe_frame(msg, len);
	if (err)
		return refuse_simple(srv, err, NULL, 0, from, clk);
	id = get_be32(msg + RA_PROBE_OFF_SESSION);
	s = srv->cfg.ops.lookup(srv->cfg.ctx, id);
	if (!s)
		return refuse_simple(srv, RA_E_UNKNOWN_SESSION, NULL, id, from,
				     clk);
	/* Proof first, as for REATTACH_REQ: the bucket is the owner's. */
	err = srv_mac_ok(srv, s, msg, RA_PROBE_OFF_MAC, now, mk) ?
	      probe_fresh(s, get_be64(msg + RA_PROBE_OFF_SEQ)) : RA_E_MAC;
	if (!err && !tbucket_take(&s->probe_bucket, now))
		err = RA_E_RATE_SESSION;
	if (err)
		return refuse_simple(srv, err, s, 0, from, clk);
	sb = standby_get(srv, s, from);
	if (!sb)
		return refuse_simple(srv, RA_E_PENDING_FULL, s, 0, from, clk);
	sb->last_rx_ms = now;
	standby_note_echo(sb, msg + RA_PROBE_OFF_TOKEN,
			  srv->cfg.policy->validated_path_ttl_ms, now);
	standby_new_token(srv, sb, now);
	build_probe_reply(s, mk, msg, sb, out);
	out->to = *from;
	srv->stats.probes_answered++;
	return RA_OK;
}

int ra_server_handle_probe(struct ra_server *srv, const uint8_t *msg,
			   size_t len, const struct ra_path *from,
			   const struct audit_clock *clk,
			   struct ra_output *out)
{
	struct ra_mac_key mk;
	int err;

	out_init(out);
	if (!srv || !out || !clk || !path_valid(from))
		return RA_E_INVAL;
	err = handle_probe(srv, msg, len, from, clk, out, &mk);
	sodium_memzero(&mk, sizeof(mk));
	return err;
}

/* ---------------------------------------------------------------------- */
/* Server: NAT rebinding (UNKNOWN_SOURCE)                                  */
/* ---------------------------------------------------------------------- */

/*
 * The key for a message that answers nothing: the old one while the
 * client has not used the new one and the grace lasts (see "Key
 * rollover" above), else the current one.
 */
static const struct ra_mac_key *unsolicited_key(struct ra_server *srv,
						struct ra_session *s,
						uint64_t now_ms)
{
	const struct ra_mac_key *old = s->key_proven ? NULL :
				       srv_old_get(srv, s, now_ms);

	return old ? old : &s->mk;
}

int ra_server_challenge_source(struct ra_server *srv, uint32_t session_id,
			       const struct ra_path *from, uint32_t rx_bytes,
			       const struct audit_clock *clk,
			       struct ra_output *out)
{
	struct challenge_req cq;
	struct ra_mac_key mk;
	struct ra_session *s;
	int err;

	out_init(out);
	if (!srv || !out || !clk || !path_valid(from))
		return RA_E_INVAL;
	s = srv->cfg.ops.lookup(srv->cfg.ctx, session_id);
	if (!s)
		return refuse_simple(srv, RA_E_UNKNOWN_SESSION, NULL,
				     session_id, from, clk);
	if (ra_path_equal(from, &s->active))
		return RA_OK;
	err = admit(srv, s, from, clk, false);
	if (err)
		return err;
	episode_open(s, srv->cfg.policy, clk->mono_ms);
	mk = *unsolicited_key(srv, s, clk->mono_ms);
	cq = (struct challenge_req){ .to = from, .mk = &mk,
				     .reason = RA_REASON_NAT_REBIND,
				     .counter = 0, .rx_bytes = rx_bytes };
	err = challenge(srv, s, &cq, clk, out);
	sodium_memzero(&mk, sizeof(mk));
	return err;
}

int ra_server_handle(struct ra_server *srv, const uint8_t *msg, size_t len,
		     const struct ra_path *from,
		     const struct audit_clock *clk, struct ra_output *out)
{
	if (srv && clk && path_valid(from) && msg && len) {
		/* handle_keyed() initialises out and checks the rest. */
		if (msg[0] == JVPN_MSG_REATTACH_REQ)
			return handle_keyed(handle_req, srv, msg, len, from,
					    clk, out);
		if (msg[0] == JVPN_MSG_REATTACH_RESP)
			return handle_keyed(handle_resp, srv, msg, len, from,
					    clk, out);
	}
	out_init(out);
	if (!srv || !clk || !path_valid(from))
		return RA_E_INVAL;
	if (!msg || !len)
		return refuse_simple(srv, RA_E_SHORT, NULL, 0, from, clk);
	switch (msg[0]) {
	case JVPN_MSG_PROBE:
		return ra_server_handle_probe(srv, msg, len, from, clk, out);
	default:
		return refuse_simple(srv, RA_E_TYPE, NULL, 0, from, clk);
	}
}

/* ---------------------------------------------------------------------- */
/* Client: set-up and candidates                                           */
/* ---------------------------------------------------------------------- */

/* Answers to server-initiated challenges: a few per second at most. */
#define RA_CLIENT_CHAL_RATE	4
#define RA_CLIENT_CHAL_BURST	4

int ra_client_init(struct ra_client *c, const struct ra_client_config *cfg,
		   uint32_t local_id, uint32_t peer_id,
		   const uint8_t key[JVPN_REATTACH_KEY_LEN],
		   struct fsm_session *fsm, struct policy_counters *pc,
		   const struct ra_path *active, uint64_t now_ms)
{
	if (!c || !cfg || !cfg->policy || !cfg->commit || !local_id ||
	    !peer_id || !key || !fsm || !pc || !path_valid(active))
		return RA_E_INVAL;
	if (sodium_init() < 0)
		return RA_E_INVAL;
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->local_id = local_id;
	c->peer_id = peer_id;
	memcpy(c->key, key, sizeof(c->key));
	c->fsm = fsm;
	c->pc = pc;
	c->active = *active;
	c->epoch = RA_EPOCH_INITIAL;
	c->phase = RA_CL_IDLE;
	tbucket_init(&c->chal_bucket, RA_CLIENT_CHAL_RATE,
		     RA_CLIENT_CHAL_BURST, now_ms);
	return RA_OK;
}

void ra_client_destroy(struct ra_client *c)
{
	if (c)
		sodium_memzero(c, sizeof(*c));
}

/*
 * Our new key came with the handshake answer, so the server holds it:
 * the replaced key is the one to keep (no keep_old as on the server).
 */
int ra_client_rekey(struct ra_client *c,
		    const uint8_t new_key[JVPN_REATTACH_KEY_LEN],
		    uint64_t now_ms, uint64_t grace_ms)
{
	if (!c || !new_key)
		return RA_E_INVAL;
	rollover(c->key, &c->old, new_key, false, now_ms, grace_ms);
	return RA_OK;
}

uint64_t ra_client_expire_key(struct ra_client *c, uint64_t now_ms)
{
	if (!c || !old_key_get(&c->old, now_ms))
		return 0;
	return c->old.until_ms;
}

int ra_client_find_candidate(const struct ra_client *c,
			     const struct ra_path *p)
{
	unsigned int i;

	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++)
		if (c->cand[i].used && ra_path_equal(&c->cand[i].path, p))
			return (int)i;
	return -1;
}

int ra_client_add_candidate(struct ra_client *c, const struct ra_path *p,
			    uint32_t *index)
{
	unsigned int i;
	int found;

	if (!c || !path_valid(p))
		return RA_E_INVAL;
	found = ra_client_find_candidate(c, p);
	if (found >= 0) {
		if (index)
			*index = (uint32_t)found;
		return RA_OK;
	}
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++) {
		if (c->cand[i].used)
			continue;
		memset(&c->cand[i], 0, sizeof(c->cand[i]));
		c->cand[i].used = true;
		c->cand[i].path = *p;
		if (index)
			*index = i;
		return RA_OK;
	}
	return RA_E_PENDING_FULL;
}

int ra_client_remove_candidate(struct ra_client *c, uint32_t index)
{
	if (!c || index >= RA_CLIENT_MAX_CANDIDATES || !c->cand[index].used)
		return RA_E_INVAL;
	if (c->phase != RA_CL_IDLE && c->target == index)
		c->phase = RA_CL_BACKOFF;	/* its attempt failed */
	memset(&c->cand[index], 0, sizeof(c->cand[index]));
	return RA_OK;
}

static struct ra_candidate *cand_at(struct ra_client *c, uint32_t idx)
{
	if (idx >= RA_CLIENT_MAX_CANDIDATES || !c->cand[idx].used)
		return NULL;
	return &c->cand[idx];
}

/* ---------------------------------------------------------------------- */
/* Client: probes                                                          */
/* ---------------------------------------------------------------------- */

static bool cand_given_up(const struct ra_client *c,
			  const struct ra_candidate *k)
{
	return k->unanswered >= c->cfg.policy->max_probes;
}

/* policy_may_probe() over the candidate's own counters. */
static struct policy_decision cand_may_probe(const struct ra_client *c,
					     const struct ra_candidate *k,
					     uint64_t now_ms)
{
	struct policy_counters pc = {
		.probes_unanswered = k->unanswered,
		.last_probe_ms = k->last_probe_ms,
		.has_probed = k->last_probe_ms != 0,
	};

	return policy_may_probe(c->cfg.policy, &pc, now_ms);
}

static void build_probe(struct ra_client *c, struct ra_candidate *k,
			uint64_t now_ms, struct ra_output *out)
{
	struct ra_probe_rec *r;
	uint8_t *m = out->msg;

	memset(m, 0, RA_PROBE_LEN);
	m[RA_PROBE_OFF_TYPE] = JVPN_MSG_PROBE;
	put_be32(m + RA_PROBE_OFF_SESSION, c->peer_id);
	put_be64(m + RA_PROBE_OFF_SEQ, ++c->probe_seq);
	put_be64(m + RA_PROBE_OFF_TIMESTAMP, now_ms);
	if (k->has_token)
		memcpy(m + RA_PROBE_OFF_TOKEN, k->token, RA_TOKEN_LEN);
	put_mac(c->key, m, RA_PROBE_OFF_MAC);
	out->len = RA_PROBE_LEN;
	out->to = k->path;

	r = &k->probes[k->probe_head];
	*r = (struct ra_probe_rec){ .seq = c->probe_seq, .sent_ms = now_ms,
				    .echoed = k->has_token };
	k->probe_head = (k->probe_head + 1) % RA_LOSS_WINDOW;
	if (k->n_probes < RA_LOSS_WINDOW)
		k->n_probes++;
	k->last_probe_ms = now_ms;
	if (k->unanswered != UINT32_MAX)
		k->unanswered++;
}

int ra_client_probe(struct ra_client *c, uint32_t idx, uint64_t now_ms,
		    struct ra_output *out, uint64_t *next_ms)
{
	struct ra_candidate *k;
	struct policy_decision d;

	out_init(out);
	if (next_ms)
		*next_ms = 0;
	if (!c || !out)
		return RA_E_INVAL;
	k = cand_at(c, idx);
	if (!k)
		return RA_E_INVAL;
	d = cand_may_probe(c, k, now_ms);
	if (d.verdict != POLICY_ALLOW) {
		if (next_ms)
			*next_ms = d.not_before_ms;
		return RA_E_POLICY;
	}
	build_probe(c, k, now_ms, out);
	if (next_ms)
		*next_ms = now_ms + c->cfg.policy->probe_interval_ms;
	return RA_OK;
}

static struct ra_probe_rec *probe_rec_find(struct ra_candidate *k,
					   uint64_t seq)
{
	uint32_t i;

	for (i = 0; i < k->n_probes; i++)
		if (k->probes[i].seq == seq)
			return &k->probes[i];
	return NULL;
}

/* RFC 6298 smoothing; jitter is the RTT variation. */
static void rtt_sample(struct ra_candidate *k, uint32_t r)
{
	uint32_t diff;

	if (!k->has_rtt) {
		k->srtt_ms = r;
		k->rttvar_ms = r / 2;
		k->has_rtt = true;
		return;
	}
	diff = k->srtt_ms > r ? k->srtt_ms - r : r - k->srtt_ms;
	k->rttvar_ms = (3 * k->rttvar_ms + diff) / 4;
	k->srtt_ms = (7 * k->srtt_ms + r) / 8;
}

static int check_reply_frame(struct ra_client *c, const uint8_t *msg,
			     size_t len, uint64_t now_ms)
{
	int err = check_frame(msg, len, JVPN_MSG_PROBE_REPLY, RA_PREPLY_LEN);

	if (err)
		return err;
	if (!all_zero(msg + RA_PREPLY_OFF_RESERVED, 3))
		return RA_E_RESERVED;
	if (get_be32(msg + RA_PREPLY_OFF_SESSION) != c->local_id)
		return RA_E_UNKNOWN_SESSION;
	if (!mac_ok_any(c->key, &c->old, msg, RA_PREPLY_OFF_MAC, now_ms))
		return RA_E_MAC;
	return RA_OK;
}

/*
 * The path came back, or was never there before: an answer after the path
 * was given up (MaxProbes unanswered), or the first answer a candidate
 * ever gets (a new one, or one reset by roam_link_up()).  The losses in
 * the window measured the outage, or the peer's end not being up yet,
 * not the path, and would keep it below MaxLossPercent for up to 32 more
 * probes; start again from this answer, keeping the probes sent after it
 * (still in flight).  A lossy but living path never reaches MaxProbes in
 * a row and has answered before, so it is still measured.  Returns the
 * answered record's new place.
 */
static struct ra_probe_rec *cand_forget_outage(struct ra_candidate *k,
					       uint64_t seq)
{
	struct ra_probe_rec keep[RA_LOSS_WINDOW];
	uint32_t i, n = 0;
	uint32_t oldest = k->n_probes < RA_LOSS_WINDOW ? 0 : k->probe_head;

	for (i = 0; i < k->n_probes; i++) {
		const struct ra_probe_rec *p =
			&k->probes[(oldest + i) % RA_LOSS_WINDOW];

		if (p->seq >= seq)
			keep[n++] = *p;
	}
	memset(k->probes, 0, sizeof(k->probes));
	memcpy(k->probes, keep, n * sizeof(keep[0]));
	k->n_probes = n;
	k->probe_head = n % RA_LOSS_WINDOW;
	return &k->probes[0];	/* the oldest kept: the one answered */
}

int ra_client_handle_probe_reply(struct ra_client *c, uint32_t idx,
				 const uint8_t *msg, size_t len,
				 uint64_t now_ms)
{
	struct ra_candidate *k;
	struct ra_probe_rec *r;
	uint64_t ts, epoch;
	int err;

	if (!c)
		return RA_E_INVAL;
	k = cand_at(c, idx);
	if (!k)
		return RA_E_INVAL;
	err = check_reply_frame(c, msg, len, now_ms);
	if (err)
		return err;
	r = probe_rec_find(k, get_be64(msg + RA_PREPLY_OFF_SEQ));
	ts = get_be64(msg + RA_PREPLY_OFF_TIMESTAMP);
	/* Only an answer to a probe sent on this very path counts. */
	if (!r || r->acked || r->sent_ms != ts)
		return RA_E_REPLAY;
	r->acked = true;
	if (k->unanswered >= c->cfg.policy->max_probes || !k->has_rtt)
		r = cand_forget_outage(k, r->seq);
	k->unanswered = 0;
	k->last_reply_ms = now_ms;
	rtt_sample(k, (uint32_t)elapsed(now_ms, ts));
	memcpy(k->token, msg + RA_PREPLY_OFF_TOKEN, RA_TOKEN_LEN);
	k->has_token = true;
	/* The server validated the path when this probe (echoing a token)
	 * arrived, i.e. no earlier than we sent it.
	 */
	if (r->echoed && r->sent_ms > k->validated_ms)
		k->validated_ms = r->sent_ms;
	epoch = get_be64(msg + RA_PREPLY_OFF_VERSION);
	if (epoch > c->epoch &&
	    (c->phase == RA_CL_IDLE || c->phase == RA_CL_BACKOFF))
		c->epoch = epoch;	/* resync after a lost confirmation */
	return RA_OK;
}

void ra_client_quality(const struct ra_client *c, uint32_t idx,
		       struct path_quality *q)
{
	const struct ra_candidate *k = &c->cand[idx];
	uint64_t now = k->last_probe_ms;
	uint32_t i, n = 0, lost = 0, grace;

	memset(q, 0, sizeof(*q));
	if (idx >= RA_CLIENT_MAX_CANDIDATES || !k->used)
		return;
	/* A probe younger than this may still be answered: not lost yet. */
	grace = k->has_rtt ? 2 * k->srtt_ms + 4 * k->rttvar_ms
			   : RA_CLIENT_TIMEOUT_MAX_MS;
	for (i = 0; i < k->n_probes; i++) {
		const struct ra_probe_rec *r = &k->probes[i];

		if (!r->acked && elapsed(now, r->sent_ms) < grace)
			continue;
		n++;
		lost += !r->acked;
	}
	q->loss_permille = n ? lost * 1000 / n : 0;
	q->latency_ms = k->srtt_ms;
	q->jitter_ms = k->rttvar_ms;
}

bool ra_client_validated(const struct ra_client *c, uint32_t idx,
			 uint64_t now_ms)
{
	const struct ra_candidate *k;

	if (!c || idx >= RA_CLIENT_MAX_CANDIDATES || !c->cand[idx].used)
		return false;
	k = &c->cand[idx];
	/* One RTT of margin for the REQ to reach the server. */
	return k->validated_ms &&
	       elapsed(now_ms, k->validated_ms) + k->srtt_ms <
		       c->cfg.policy->validated_path_ttl_ms;
}

/* ---------------------------------------------------------------------- */
/* Client: choosing a candidate                                            */
/* ---------------------------------------------------------------------- */

enum ra_cand_use ra_client_candidate_use(const struct ra_client *c,
					 uint32_t idx, uint64_t now_ms,
					 enum fsm_reason *why)
{
	const struct ra_candidate *k;
	struct policy_decision d;
	struct path_quality q;

	if (why)
		*why = FSM_R_NONE;
	if (!c || idx >= RA_CLIENT_MAX_CANDIDATES || !c->cand[idx].used)
		return RA_USE_NONE;
	k = &c->cand[idx];
	/* A rebinding is fixed by asking again on the same path. */
	if (ra_path_equal(&k->path, &c->active) &&
	    c->reason != RA_REASON_NAT_REBIND)
		return RA_USE_ACTIVE;
	if (cand_given_up(c, k))
		return RA_USE_GIVEN_UP;
	if (k->tried)
		return RA_USE_TRIED;
	if (!k->has_rtt)
		return RA_USE_UNMEASURED;
	ra_client_quality(c, idx, &q);
	d = policy_path_quality_ok(c->cfg.policy, &q);
	if (d.verdict != POLICY_ALLOW) {
		if (why)
			*why = d.reason;
		return RA_USE_QUALITY;
	}
	return ra_client_validated(c, idx, now_ms) ? RA_USE_VALIDATED :
						     RA_USE_MEASURED;
}

const char *ra_cand_use_name(enum ra_cand_use u)
{
	static const char *const names[] = {
		[RA_USE_VALIDATED] = "validated",
		[RA_USE_MEASURED] = "measured",
		[RA_USE_UNMEASURED] = "unmeasured",
		[RA_USE_ACTIVE] = "active",
		[RA_USE_GIVEN_UP] = "given_up",
		[RA_USE_TRIED] = "failed",
		[RA_USE_QUALITY] = "below_floor",
		[RA_USE_NONE] = "none",
	};

	return (unsigned int)u < sizeof(names) / sizeof(names[0]) ?
	       names[u] : "none";
}

/* 0 validated, 1 measured and within floors, 2 unmeasured; -1 unusable. */
static int cand_tier(const struct ra_client *c, uint32_t i, uint64_t now_ms)
{
	enum ra_cand_use u = ra_client_candidate_use(c, i, now_ms, NULL);

	return u <= RA_USE_UNMEASURED ? (int)u : -1;
}

int ra_client_choose(const struct ra_client *c, uint64_t now_ms,
		     uint32_t *idx)
{
	int best_tier = 3, tier;
	uint32_t i, best = RA_NONE;

	if (!c || !idx)
		return RA_E_INVAL;
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++) {
		tier = cand_tier(c, i, now_ms);
		if (tier < 0)
			continue;
		if (tier < best_tier ||
		    (tier == best_tier &&
		     c->cand[i].srtt_ms < c->cand[best].srtt_ms)) {
			best_tier = tier;
			best = i;
		}
	}
	if (best == RA_NONE)
		return RA_E_NO_CANDIDATE;
	*idx = best;
	return RA_OK;
}

/* ---------------------------------------------------------------------- */
/* Client: episode                                                         */
/* ---------------------------------------------------------------------- */

static void result_init(struct ra_client_result *res)
{
	memset(res, 0, sizeof(*res));
	res->action = RA_ACT_NONE;
}

static int cl_fsm(struct ra_client *c, enum fsm_event ev,
		  enum fsm_reason why, const struct audit_clock *clk,
		  struct ra_client_result *res)
{
	int ret = fsm_step(c->cfg.audit, c->fsm, false, 0, ev, why, clk,
			   &res->fsm, c->active.path_id, 0, NULL);

	if (!ret)
		res->fsm_changed = true;
	return ret;
}

static void episode_end(struct ra_client *c)
{
	unsigned int i;

	c->phase = RA_CL_IDLE;
	c->first_req_ms = 0;
	c->backoff_ms = 0;
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++)
		c->cand[i].tried = false;
}

void ra_client_cancel(struct ra_client *c)
{
	if (!c)
		return;
	episode_end(c);
	policy_note_recovered(c->pc);
}

static int cl_terminate(struct ra_client *c, enum fsm_event ev,
			enum fsm_reason why, const struct audit_clock *clk,
			struct ra_client_result *res)
{
	cl_fsm(c, ev, why, clk, res);
	episode_end(c);
	res->action = RA_ACT_TERMINATED;
	res->reason = why;
	return RA_OK;
}

static uint32_t answer_timeout(const struct ra_candidate *k)
{
	uint32_t rto = k->has_rtt ? k->srtt_ms + 4 * k->rttvar_ms
				  : RA_CLIENT_TIMEOUT_MAX_MS / 2;

	if (rto < RA_CLIENT_TIMEOUT_MIN_MS)
		rto = RA_CLIENT_TIMEOUT_MIN_MS;
	if (rto > RA_CLIENT_TIMEOUT_MAX_MS)
		rto = RA_CLIENT_TIMEOUT_MAX_MS;
	return rto;
}

static void send_req(struct ra_client *c, uint32_t idx, uint64_t now_ms,
		     struct ra_client_result *res)
{
	struct ra_candidate *k = &c->cand[idx];
	uint8_t *m = res->out.msg;

	memset(m, 0, RA_REQ_LEN);
	m[RA_REQ_OFF_TYPE] = JVPN_MSG_REATTACH_REQ;
	put_be32(m + RA_REQ_OFF_SESSION, c->peer_id);
	put_be64(m + RA_REQ_OFF_COUNTER, ++c->counter);
	put_be64(m + RA_REQ_OFF_TIMESTAMP, now_ms);
	put_be64(m + RA_REQ_OFF_VERSION, c->epoch);
	m[RA_REQ_OFF_REASON] = (uint8_t)c->reason;
	put_mac(c->key, m, RA_REQ_OFF_MAC);
	res->out.len = RA_REQ_LEN;
	res->out.to = k->path;

	c->phase = RA_CL_WAIT_CHALLENGE;
	c->target = idx;
	c->req_counter = c->counter;
	c->deadline_ms = now_ms + answer_timeout(k);
	if (!c->first_req_ms)
		c->first_req_ms = now_ms;
	res->action = RA_ACT_SEND;
	res->next_ms = c->deadline_ms;
}

/* Earliest of t and the recovery deadline (if a recovery runs). */
static uint64_t cap_by_window(const struct ra_client *c, uint64_t t)
{
	struct policy_decision d;

	d = policy_recovery_expired(c->cfg.policy, c->pc, t);
	if (c->pc->recovering && d.verdict == POLICY_TERMINATE)
		return c->pc->recovery_start_ms +
		       c->cfg.policy->max_recovery_window_ms;
	return t;
}

static void backoff(struct ra_client *c, uint64_t now_ms)
{
	if (!c->backoff_ms)
		c->backoff_ms = RA_CLIENT_BACKOFF_MIN_MS;
	else if (c->backoff_ms < RA_CLIENT_BACKOFF_MAX_MS)
		c->backoff_ms *= 2;
	if (c->backoff_ms > RA_CLIENT_BACKOFF_MAX_MS)
		c->backoff_ms = RA_CLIENT_BACKOFF_MAX_MS;
	c->phase = RA_CL_BACKOFF;
	c->deadline_ms = cap_by_window(c, now_ms + c->backoff_ms);
}

/* The anti-flap policy said no. */
static int switch_denied(struct ra_client *c, const struct policy_decision *d,
			 const struct audit_clock *clk,
			 struct ra_client_result *res)
{
	enum fsm_state st = c->fsm->state;
	bool loss = st == FSM_VOLATILE || st == FSM_RECOVERING ||
		    st == FSM_DEGRADED;

	res->reason = d->reason;
	res->action = RA_ACT_WAIT;
	if (d->reason == FSM_R_SWITCH_RATE_LIMIT &&
	    (st == FSM_VOLATILE || st == FSM_RECOVERING)) {
		cl_fsm(c, FSM_EV_SWITCH_LIMIT_HIT, d->reason, clk, res);
		res->action = RA_ACT_DEGRADED;
	}
	if (!loss) {
		episode_end(c);		/* a better path can wait */
		res->next_ms = d->not_before_ms;
		return RA_OK;
	}
	c->phase = RA_CL_BACKOFF;
	c->deadline_ms = cap_by_window(c, d->not_before_ms);
	res->next_ms = c->deadline_ms;
	return RA_OK;
}

/* Every candidate failed this round: VOLATILE, then a new round. */
static int round_failed(struct ra_client *c, const struct audit_clock *clk,
			struct ra_client_result *res)
{
	unsigned int i;

	if (c->fsm->state == FSM_RECOVERING)
		cl_fsm(c, FSM_EV_REATTACH_FAILED, FSM_R_PATH_VALIDATION_FAILED,
		       clk, res);
	for (i = 0; i < RA_CLIENT_MAX_CANDIDATES; i++)
		c->cand[i].tried = false;
	backoff(c, clk->mono_ms);
	res->action = RA_ACT_VOLATILE;
	res->reason = FSM_R_REATTACH_FAILED;
	res->next_ms = c->deadline_ms;
	return RA_E_NO_CANDIDATE;
}

/*
 * One attempt: lifetime, recovery window, anti-flap, candidate, FSM, REQ.
 * Policy is evaluated before any state moves.
 */
static int attempt(struct ra_client *c, const struct audit_clock *clk,
		   struct ra_client_result *res)
{
	uint64_t now = clk->mono_ms;
	struct policy_decision d;
	uint32_t idx;

	d = policy_session_expired(c->cfg.policy, c->pc, now);
	if (d.verdict == POLICY_TERMINATE)
		return cl_terminate(c, FSM_EV_SESSION_TTL_EXPIRED, d.reason,
				    clk, res);
	d = policy_recovery_expired(c->cfg.policy, c->pc, now);
	if (d.verdict == POLICY_TERMINATE && c->fsm->state != FSM_ATTACHED)
		return cl_terminate(c, FSM_EV_RECOVERY_WINDOW_EXCEEDED,
				    d.reason, clk, res);
	d = policy_may_switch(c->cfg.policy, c->pc, now);
	if (d.verdict != POLICY_ALLOW)
		return switch_denied(c, &d, clk, res);
	if (ra_client_choose(c, now, &idx))
		return round_failed(c, clk, res);
	if (c->fsm->state != FSM_RECOVERING &&
	    cl_fsm(c, FSM_EV_REATTACH_STARTED, start_reason(c->reason), clk,
		   res))
		return RA_E_STATE;
	send_req(c, idx, now, res);
	return RA_OK;
}

int ra_client_start(struct ra_client *c, enum ra_reason reason,
		    const struct audit_clock *clk,
		    struct ra_client_result *res)
{
	if (!c || !clk || !res || !reason_valid(reason))
		return RA_E_INVAL;
	result_init(res);
	if (fsm_is_terminal(c->fsm->state) ||
	    !state_allows_reattach(c->fsm))
		return RA_E_STATE;
	if (c->phase == RA_CL_WAIT_CHALLENGE ||
	    c->phase == RA_CL_WAIT_CONFIRM) {
		res->next_ms = c->deadline_ms;	/* already under way */
		return RA_OK;
	}
	c->reason = reason;
	if (reason != RA_REASON_BETTER_PATH)
		policy_note_recovery_start(c->pc, clk->mono_ms);
	return attempt(c, clk, res);
}

int ra_client_tick(struct ra_client *c, const struct audit_clock *clk,
		   struct ra_client_result *res)
{
	uint64_t now;

	if (!c || !clk || !res)
		return RA_E_INVAL;
	result_init(res);
	now = clk->mono_ms;
	if (c->phase == RA_CL_IDLE || fsm_is_terminal(c->fsm->state))
		return RA_OK;
	if (c->pc->recovering &&
	    policy_recovery_expired(c->cfg.policy, c->pc, now).verdict ==
		    POLICY_TERMINATE)
		return cl_terminate(c, FSM_EV_RECOVERY_WINDOW_EXCEEDED,
				    FSM_R_RECOVERY_WINDOW_EXCEEDED, clk, res);
	if (now < c->deadline_ms) {
		res->next_ms = c->deadline_ms;
		return RA_OK;
	}
	if (c->phase == RA_CL_BACKOFF)
		return attempt(c, clk, res);
	/* No answer in time: this candidate failed; back off, then next. */
	c->cand[c->target].tried = true;
	backoff(c, now);
	res->next_ms = c->deadline_ms;
	return RA_OK;
}

/* ---------------------------------------------------------------------- */
/* Client: CHALLENGE                                                       */
/* ---------------------------------------------------------------------- */

struct chal_view {
	uint8_t flags;
	uint64_t counter;
	const uint8_t *challenge;
	uint64_t version;
};

static int parse_challenge(struct ra_client *c, const uint8_t *msg,
			   size_t len, uint64_t now_ms, struct chal_view *cv)
{
	int err = check_frame(msg, len, JVPN_MSG_REATTACH_CHALLENGE,
			      RA_CHAL_LEN);

	if (err)
		return err;
	if ((msg[RA_CHAL_OFF_FLAGS] & ~RA_CHAL_F_COMMITTED) ||
	    !all_zero(msg + RA_CHAL_OFF_RESERVED, 2))
		return RA_E_RESERVED;
	if (get_be32(msg + RA_CHAL_OFF_SESSION) != c->local_id)
		return RA_E_UNKNOWN_SESSION;
	if (!mac_ok_any(c->key, &c->old, msg, RA_CHAL_OFF_MAC, now_ms))
		return RA_E_MAC;
	cv->flags = msg[RA_CHAL_OFF_FLAGS];
	cv->counter = get_be64(msg + RA_CHAL_OFF_COUNTER);
	cv->challenge = msg + RA_CHAL_OFF_CHALLENGE;
	cv->version = get_be64(msg + RA_CHAL_OFF_VERSION);
	if (!cv->counter && (cv->flags & RA_CHAL_F_COMMITTED))
		return RA_E_RESERVED;
	return RA_OK;
}

static void build_resp(const struct ra_client *c, const struct chal_view *cv,
		       const struct ra_path *to, struct ra_output *out)
{
	uint8_t *m = out->msg;

	memset(m, 0, RA_RESP_LEN);
	m[RA_RESP_OFF_TYPE] = JVPN_MSG_REATTACH_RESP;
	put_be32(m + RA_RESP_OFF_SESSION, c->peer_id);
	put_be64(m + RA_RESP_OFF_COUNTER, cv->counter);
	memcpy(m + RA_RESP_OFF_CHALLENGE, cv->challenge, RA_CHALLENGE_LEN);
	put_mac(c->key, m, RA_RESP_OFF_MAC);
	out->len = RA_RESP_LEN;
	out->to = *to;
}

/*
 * Server-initiated (NAT rebinding): answer on the path it came in on.
 * Nothing changes here; the server moves its view of our address.
 */
static int answer_server_challenge(struct ra_client *c,
				   const struct chal_view *cv,
				   const struct ra_path *on, uint64_t now_ms,
				   struct ra_client_result *res)
{
	if (!tbucket_take(&c->chal_bucket, now_ms))
		return RA_E_RATE_SESSION;
	build_resp(c, cv, on, &res->out);
	res->action = RA_ACT_SEND;
	return RA_OK;
}

static int client_commit(struct ra_client *c, const struct chal_view *cv,
			 const struct audit_clock *clk,
			 struct ra_client_result *res)
{
	struct ra_candidate *k = &c->cand[c->target];
	struct ra_commit *cm = &res->out.commit;
	uint32_t path_id = k->path.path_id;

	*cm = (struct ra_commit){
		.session_id = c->local_id,
		.old_path = c->active,
		.new_path = k->path,
		.reason = c->reason,
		.old_epoch = c->epoch,
		.new_epoch = cv->version,
		.recovery_ms = elapsed(clk->mono_ms, c->first_req_ms),
		.validated_standby = c->phase == RA_CL_WAIT_CHALLENGE,
	};
	if (c->cfg.commit(c->cfg.ctx, cm, &path_id))
		return RA_E_COMMIT;	/* the answer timeout retries */
	cm->new_path.path_id = path_id;
	k->path.path_id = path_id;
	cl_fsm(c, FSM_EV_REATTACH_SUCCEEDED, FSM_R_REATTACH_VALIDATED, clk,
	       res);
	policy_note_switch(c->pc, clk->mono_ms);
	policy_note_recovered(c->pc);
	c->active = cm->new_path;
	c->epoch = cv->version;
	audit_switch(c->cfg.audit, cm, "client", clk, NULL);
	episode_end(c);
	res->out.committed = true;
	res->action = RA_ACT_ATTACHED;
	res->reason = FSM_R_REATTACH_VALIDATED;
	return RA_OK;
}

int ra_client_handle_challenge(struct ra_client *c, const uint8_t *msg,
			       size_t len, const struct ra_path *on,
			       const struct audit_clock *clk,
			       struct ra_client_result *res)
{
	struct chal_view cv;
	int err;

	if (!c || !clk || !res || !path_valid(on))
		return RA_E_INVAL;
	result_init(res);
	err = parse_challenge(c, msg, len, clk->mono_ms, &cv);
	if (err)
		return err;
	if (!cv.counter)
		return answer_server_challenge(c, &cv, on, clk->mono_ms, res);
	if (c->phase != RA_CL_WAIT_CHALLENGE &&
	    c->phase != RA_CL_WAIT_CONFIRM)
		return RA_E_UNEXPECTED;
	if (cv.counter != c->req_counter)
		return RA_E_REPLAY;
	if (!ra_path_equal(on, &c->cand[c->target].path))
		return RA_E_PATH_MISMATCH;
	if (cv.flags & RA_CHAL_F_COMMITTED) {
		/* Equal is fine: after a lost confirmation a probe reply
		 * taught us the epoch, and the server confirms our fresh
		 * REQ (its counter, its path) on the path it already has.
		 */
		if (cv.version < c->epoch)
			return RA_E_VERSION;
		return client_commit(c, &cv, clk, res);
	}
	if (c->phase != RA_CL_WAIT_CHALLENGE || cv.version != c->epoch)
		return RA_E_VERSION;
	build_resp(c, &cv, on, &res->out);
	c->phase = RA_CL_WAIT_CONFIRM;
	c->deadline_ms = clk->mono_ms +
			 answer_timeout(&c->cand[c->target]);
	res->action = RA_ACT_SEND;
	res->next_ms = c->deadline_ms;
	return RA_OK;
}
