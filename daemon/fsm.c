// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd session state machine: one table, one mutator.
 *
 * Why a dense [state][event] array rather than a list of edges: lookup is
 * one index operation, a missing pair is structurally "refused", and the
 * table printer walks the same array the mutator reads, so the docs cannot
 * describe a different machine than the one that runs.
 */
#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "fsm.h"

struct fsm_edge {
	uint8_t valid;
	uint8_t to;		/* enum fsm_state */
	uint8_t reason;		/* enum fsm_reason: default reason */
};

#define EDGE(from, ev, dst, why) \
	[FSM_##from][FSM_EV_##ev] = { \
		.valid = 1, .to = FSM_##dst, .reason = FSM_R_##why }

/* The ways out of a session that has finished its handshake. */
#define ENDINGS(from) \
	EDGE(from, SESSION_TTL_EXPIRED, TERMINATED, SESSION_TTL_EXPIRED), \
	EDGE(from, OPERATOR_CLOSE, TERMINATED, OPERATOR_CLOSE), \
	EDGE(from, PEER_TERMINATE, TERMINATED, PEER_TERMINATE), \
	EDGE(from, INTERNAL_INCONSISTENCY, TERMINATED, INTERNAL_INCONSISTENCY)

/*
 * Before the handshake completes there is no authenticated peer, so a
 * "peer terminate" cannot be genuine, and session TTL is not running yet
 * (a stuck handshake ends through HANDSHAKE_FAILED).
 */
#define EARLY_ENDINGS(from) \
	EDGE(from, OPERATOR_CLOSE, TERMINATED, OPERATOR_CLOSE), \
	EDGE(from, INTERNAL_INCONSISTENCY, TERMINATED, INTERNAL_INCONSISTENCY)

static const struct fsm_edge fsm_table[FSM_STATE_COUNT][FSM_EVENT_COUNT] = {
	EDGE(INIT, HANDSHAKE_STARTED, HANDSHAKING, HANDSHAKE_STARTED),
	EARLY_ENDINGS(INIT),

	EDGE(HANDSHAKING, HANDSHAKE_COMPLETE, ATTACHED, HANDSHAKE_COMPLETE),
	EDGE(HANDSHAKING, HANDSHAKE_FAILED, TERMINATED, HANDSHAKE_FAILED),
	EARLY_ENDINGS(HANDSHAKING),

	EDGE(ATTACHED, PATH_SILENT, VOLATILE, PATH_SILENT),
	EDGE(ATTACHED, QUALITY_BELOW_FLOOR, VOLATILE, QUALITY_BELOW_FLOOR),
	EDGE(ATTACHED, TRANSPORT_LOST, RECOVERING, TRANSPORT_LOST),
	EDGE(ATTACHED, REATTACH_STARTED, RECOVERING, BETTER_PATH),
	ENDINGS(ATTACHED),

	EDGE(VOLATILE, PATH_ALIVE, ATTACHED, PATH_ALIVE),
	EDGE(VOLATILE, QUALITY_RESTORED, ATTACHED, QUALITY_RESTORED),
	EDGE(VOLATILE, TRANSPORT_LOST, RECOVERING, TRANSPORT_LOST),
	EDGE(VOLATILE, REATTACH_STARTED, RECOVERING, REATTACH_STARTED),
	EDGE(VOLATILE, SWITCH_LIMIT_HIT, DEGRADED, SWITCH_RATE_LIMIT),
	EDGE(VOLATILE, RECOVERY_WINDOW_EXCEEDED, TERMINATED,
	     RECOVERY_WINDOW_EXCEEDED),
	ENDINGS(VOLATILE),

	EDGE(RECOVERING, REATTACH_SUCCEEDED, ATTACHED, REATTACH_VALIDATED),
	EDGE(RECOVERING, REATTACH_FAILED, VOLATILE, REATTACH_FAILED),
	EDGE(RECOVERING, SWITCH_LIMIT_HIT, DEGRADED, SWITCH_RATE_LIMIT),
	EDGE(RECOVERING, RECOVERY_WINDOW_EXCEEDED, TERMINATED,
	     RECOVERY_WINDOW_EXCEEDED),
	ENDINGS(RECOVERING),

	EDGE(DEGRADED, PATH_ALIVE, ATTACHED, PATH_ALIVE),
	EDGE(DEGRADED, QUALITY_RESTORED, ATTACHED, QUALITY_RESTORED),
	EDGE(DEGRADED, REATTACH_STARTED, RECOVERING, REATTACH_STARTED),
	EDGE(DEGRADED, RECOVERY_WINDOW_EXCEEDED, TERMINATED,
	     RECOVERY_WINDOW_EXCEEDED),
	ENDINGS(DEGRADED),

	/* FSM_TERMINATED: no edges. */
};

struct fsm_name {
	const char *name;
	const char *doc;
};

static const struct fsm_name state_names[FSM_STATE_COUNT] = {
	[FSM_INIT] = { "INIT", "session object created, no handshake yet" },
	[FSM_HANDSHAKING] = { "HANDSHAKING", "handshake in flight" },
	[FSM_ATTACHED] = { "ATTACHED",
			   "keys established, active path healthy" },
	[FSM_VOLATILE] = { "VOLATILE",
			   "active path silent or below the quality floors; session intact, probing" },
	[FSM_RECOVERING] = { "RECOVERING",
			     "active path lost or being replaced; recovery window running" },
	[FSM_DEGRADED] = { "DEGRADED",
			   "switch limit reached; session kept on the best path it has, no automatic switching" },
	[FSM_TERMINATED] = { "TERMINATED",
			     "final; keys and paths are removed, nothing leaves this state" },
};

static const struct fsm_name event_names[FSM_EVENT_COUNT] = {
	[FSM_EV_HANDSHAKE_STARTED] = { "HANDSHAKE_STARTED",
		"handshake initiation sent or accepted" },
	[FSM_EV_HANDSHAKE_COMPLETE] = { "HANDSHAKE_COMPLETE",
		"keys derived and confirmed" },
	[FSM_EV_HANDSHAKE_FAILED] = { "HANDSHAKE_FAILED",
		"handshake timed out or was rejected" },
	[FSM_EV_PATH_SILENT] = { "PATH_SILENT",
		"kernel: TX without authenticated RX on the active path" },
	[FSM_EV_PATH_ALIVE] = { "PATH_ALIVE",
		"kernel: the silent active path is heard from again" },
	[FSM_EV_TRANSPORT_LOST] = { "TRANSPORT_LOST",
		"active path dead: silent for TransportLossTtlMs, link or socket gone" },
	[FSM_EV_REATTACH_STARTED] = { "REATTACH_STARTED",
		"validation of a new path began (policy allowed the switch)" },
	[FSM_EV_REATTACH_SUCCEEDED] = { "REATTACH_SUCCEEDED",
		"new path validated and committed as active" },
	[FSM_EV_REATTACH_FAILED] = { "REATTACH_FAILED",
		"validation of the new path failed or timed out" },
	[FSM_EV_RECOVERY_WINDOW_EXCEEDED] = { "RECOVERY_WINDOW_EXCEEDED",
		"MaxRecoveryWindowMs elapsed without a working path" },
	[FSM_EV_SWITCH_LIMIT_HIT] = { "SWITCH_LIMIT_HIT",
		"MaxSwitchesPerMinute reached" },
	[FSM_EV_QUALITY_BELOW_FLOOR] = { "QUALITY_BELOW_FLOOR",
		"loss, latency or jitter beyond the policy floors" },
	[FSM_EV_QUALITY_RESTORED] = { "QUALITY_RESTORED",
		"path quality back within the floors" },
	[FSM_EV_SESSION_TTL_EXPIRED] = { "SESSION_TTL_EXPIRED",
		"SessionTtl elapsed since the handshake" },
	[FSM_EV_OPERATOR_CLOSE] = { "OPERATOR_CLOSE",
		"closed by the operator (jvpnctl, shutdown)" },
	[FSM_EV_PEER_TERMINATE] = { "PEER_TERMINATE",
		"authenticated TERMINATE from the peer" },
	[FSM_EV_INTERNAL_INCONSISTENCY] = { "INTERNAL_INCONSISTENCY",
		"daemon and kernel disagree; fail closed" },
};

static const struct fsm_name reason_names[FSM_REASON_COUNT] = {
	[FSM_R_NONE] = { "none", "no reason given" },
	[FSM_R_HANDSHAKE_STARTED] = { "handshake_started",
		"handshake began" },
	[FSM_R_HANDSHAKE_COMPLETE] = { "handshake_complete",
		"handshake completed" },
	[FSM_R_HANDSHAKE_FAILED] = { "handshake_failed",
		"handshake did not complete" },
	[FSM_R_HANDSHAKE_TIMEOUT] = { "handshake_timeout",
		"no valid handshake response in time" },
	[FSM_R_HANDSHAKE_REJECTED] = { "handshake_rejected",
		"handshake message failed authentication or was refused" },
	[FSM_R_PATH_SILENT] = { "path_silent",
		"no authenticated RX on the active path" },
	[FSM_R_PATH_ALIVE] = { "path_alive",
		"active path heard from again" },
	[FSM_R_TRANSPORT_LOST] = { "transport_lost",
		"active path declared dead" },
	[FSM_R_TRANSPORT_LOSS_TTL] = { "transport_loss_ttl",
		"path silent for TransportLossTtlMs" },
	[FSM_R_LINK_DOWN] = { "link_down",
		"local interface or address went away" },
	[FSM_R_SOCKET_ERROR] = { "socket_error",
		"the path's socket reported a hard error" },
	[FSM_R_BETTER_PATH] = { "better_path",
		"proactive switch to a better validated path" },
	[FSM_R_REATTACH_STARTED] = { "reattach_started",
		"reattach to a candidate path began" },
	[FSM_R_REATTACH_VALIDATED] = { "reattach_validated",
		"proof, freshness, version and path challenge all passed" },
	[FSM_R_REATTACH_TIMEOUT] = { "reattach_timeout",
		"no answer to the path challenge in time" },
	[FSM_R_REATTACH_PROOF_INVALID] = { "reattach_proof_invalid",
		"reattach MAC did not verify" },
	[FSM_R_REATTACH_STALE] = { "reattach_stale",
		"reattach timestamp or counter not fresh" },
	[FSM_R_REATTACH_FAILED] = { "reattach_failed",
		"reattach did not complete" },
	[FSM_R_PATH_VALIDATION_FAILED] = { "path_validation_failed",
		"the new path did not validate" },
	[FSM_R_QUALITY_BELOW_FLOOR] = { "quality_below_floor",
		"a quality measure is beyond its floor" },
	[FSM_R_QUALITY_LOSS] = { "quality_loss",
		"loss above MaxLossPercent" },
	[FSM_R_QUALITY_LATENCY] = { "quality_latency",
		"latency above MaxLatencyMs" },
	[FSM_R_QUALITY_JITTER] = { "quality_jitter",
		"jitter above MaxJitterMs" },
	[FSM_R_QUALITY_RESTORED] = { "quality_restored",
		"all quality measures within the floors" },
	[FSM_R_SWITCH_RATE_LIMIT] = { "switch_rate_limit",
		"MaxSwitchesPerMinute reached in the current window" },
	[FSM_R_SWITCH_COOLDOWN] = { "switch_cooldown",
		"less than SwitchCooldownMs since the last switch" },
	[FSM_R_RECOVERY_WINDOW_EXCEEDED] = { "recovery_window_exceeded",
		"MaxRecoveryWindowMs elapsed" },
	[FSM_R_SESSION_TTL_EXPIRED] = { "session_ttl_expired",
		"SessionTtl elapsed" },
	[FSM_R_OPERATOR_CLOSE] = { "operator_close",
		"operator request" },
	[FSM_R_PEER_TERMINATE] = { "peer_terminate",
		"peer sent an authenticated TERMINATE" },
	[FSM_R_INTERNAL_INCONSISTENCY] = { "internal_inconsistency",
		"internal state disagreed; failing closed" },
	[FSM_R_TRANSITION_NOT_ALLOWED] = { "transition_not_allowed",
		"refused: no edge for (state, event)" },
	[FSM_R_SESSION_TERMINATED] = { "session_terminated",
		"refused: session is TERMINATED" },
	[FSM_R_STALE_VERSION] = { "stale_version",
		"refused: state_version changed since the caller looked" },
	[FSM_R_INVALID_EVENT] = { "invalid_event",
		"refused: event value out of range" },
	[FSM_R_INVALID_STATE] = { "invalid_state",
		"refused: session state value out of range (corruption)" },
	[FSM_R_INVALID_REASON] = { "invalid_reason",
		"refused: reason is not a transition reason" },
	[FSM_R_VERSION_EXHAUSTED] = { "version_exhausted",
		"refused: state_version cannot grow further" },
	[FSM_R_PROBE_LIMIT] = { "probe_limit",
		"MaxProbes unanswered probes on the path" },
	[FSM_R_PROBE_INTERVAL] = { "probe_interval",
		"less than ProbeIntervalMs since the last probe" },
	[FSM_R_REATTACH_RATE_LIMITED] = { "reattach_rate_limited",
		"per-session or global reattach rate exceeded" },
	[FSM_R_HANDSHAKE_RATE_LIMITED] = { "handshake_rate_limited",
		"global handshake rate exceeded" },
	[FSM_R_SOURCE_TABLE_FULL] = { "source_table_full",
		"per-source limiter table full" },
	[FSM_R_SESSION_LIMIT] = { "session_limit",
		"MaxSessions reached" },
};

static const struct fsm_name unknown_name = { "UNKNOWN", "out of range" };

static const struct fsm_name *name_at(const struct fsm_name *tab,
				      unsigned int n, int idx)
{
	if (idx < 0 || (unsigned int)idx >= n || !tab[idx].name)
		return &unknown_name;
	return &tab[idx];
}

const char *fsm_state_name(enum fsm_state state)
{
	return name_at(state_names, FSM_STATE_COUNT, (int)state)->name;
}

const char *fsm_event_name(enum fsm_event ev)
{
	return name_at(event_names, FSM_EVENT_COUNT, (int)ev)->name;
}

const char *fsm_reason_name(enum fsm_reason reason)
{
	return name_at(reason_names, FSM_REASON_COUNT, (int)reason)->name;
}

const char *fsm_state_doc(enum fsm_state state)
{
	return name_at(state_names, FSM_STATE_COUNT, (int)state)->doc;
}

const char *fsm_event_doc(enum fsm_event ev)
{
	return name_at(event_names, FSM_EVENT_COUNT, (int)ev)->doc;
}

const char *fsm_reason_doc(enum fsm_reason reason)
{
	return name_at(reason_names, FSM_REASON_COUNT, (int)reason)->doc;
}

static int index_of(const struct fsm_name *tab, unsigned int n,
		    const char *name)
{
	unsigned int i;

	if (!name)
		return -1;
	for (i = 0; i < n; i++)
		if (tab[i].name && !strcasecmp(tab[i].name, name))
			return (int)i;
	return -1;
}

int fsm_state_from_name(const char *name)
{
	return index_of(state_names, FSM_STATE_COUNT, name);
}

int fsm_event_from_name(const char *name)
{
	return index_of(event_names, FSM_EVENT_COUNT, name);
}

int fsm_reason_from_name(const char *name)
{
	return index_of(reason_names, FSM_REASON_COUNT, name);
}

static bool state_valid(enum fsm_state state)
{
	return (unsigned int)state < FSM_STATE_COUNT;
}

static bool event_valid(enum fsm_event ev)
{
	return (unsigned int)ev < FSM_EVENT_COUNT;
}

/* Callers may refine an edge's reason only with a transition reason. */
static bool reason_refines(enum fsm_reason reason)
{
	return reason == FSM_R_NONE ||
	       (reason >= FSM_R_HANDSHAKE_STARTED &&
		reason <= FSM_R_INTERNAL_INCONSISTENCY);
}

bool fsm_lookup(enum fsm_state state, enum fsm_event ev,
		enum fsm_state *to, enum fsm_reason *reason)
{
	const struct fsm_edge *e;

	if (!state_valid(state) || !event_valid(ev))
		return false;
	e = &fsm_table[state][ev];
	if (!e->valid)
		return false;
	if (to)
		*to = (enum fsm_state)e->to;
	if (reason)
		*reason = (enum fsm_reason)e->reason;
	return true;
}

unsigned int fsm_edge_count(void)
{
	unsigned int s, e, n = 0;

	for (s = 0; s < FSM_STATE_COUNT; s++)
		for (e = 0; e < FSM_EVENT_COUNT; e++)
			n += fsm_table[s][e].valid;
	return n;
}

void fsm_session_init(struct fsm_session *s, uint32_t session_id,
		      uint64_t now_ms)
{
	*s = (struct fsm_session){
		.session_id = session_id,
		.state = FSM_INIT,
		.state_since_ms = now_ms,
	};
}

static uint64_t dwell(const struct fsm_session *s, uint64_t now_ms)
{
	return now_ms > s->state_since_ms ? now_ms - s->state_since_ms : 0;
}

static void fill_result(struct fsm_result *out, const struct fsm_session *s,
			enum fsm_event ev, uint64_t now_ms)
{
	*out = (struct fsm_result){
		.verdict = FSM_REFUSED,
		.session_id = s->session_id,
		.from = s->state,
		.to = s->state,
		.event = ev,
		.version = s->state_version,
		.dwell_ms = dwell(s, now_ms),
	};
}

static int refuse(struct fsm_session *s, struct fsm_result *out,
		  enum fsm_reason why)
{
	/* Saturating: a refusal counter must not be able to wrap to zero. */
	if (s->n_refused != UINT64_MAX)
		s->n_refused++;
	out->verdict = FSM_REFUSED;
	out->reason = why;
	return -EPERM;
}

/* Cheapest checks first; each names exactly why the pair was refused. */
static enum fsm_reason check_request(const struct fsm_session *s,
				     enum fsm_event ev, enum fsm_reason reason)
{
	if (!state_valid(s->state))
		return FSM_R_INVALID_STATE;
	if (!event_valid(ev))
		return FSM_R_INVALID_EVENT;
	if (fsm_is_terminal(s->state))
		return FSM_R_SESSION_TERMINATED;
	if (!fsm_table[s->state][ev].valid)
		return FSM_R_TRANSITION_NOT_ALLOWED;
	if (!reason_refines(reason))
		return FSM_R_INVALID_REASON;
	if (s->state_version == UINT64_MAX)
		return FSM_R_VERSION_EXHAUSTED;
	return FSM_R_NONE;
}

static int apply(struct fsm_session *s, enum fsm_event ev,
		 enum fsm_reason reason, uint64_t now_ms,
		 struct fsm_result *out)
{
	const struct fsm_edge *e;
	enum fsm_reason why;

	fill_result(out, s, ev, now_ms);
	why = check_request(s, ev, reason);
	if (why != FSM_R_NONE)
		return refuse(s, out, why);

	e = &fsm_table[s->state][ev];
	s->state = (enum fsm_state)e->to;
	s->state_version++;
	s->state_since_ms = now_ms;
	s->n_accepted++;

	out->verdict = FSM_ACCEPTED;
	out->to = s->state;
	out->reason = reason != FSM_R_NONE ? reason
					   : (enum fsm_reason)e->reason;
	out->version = s->state_version;
	return 0;
}

int fsm_transition(struct fsm_session *s, enum fsm_event ev,
		   enum fsm_reason reason, uint64_t now_ms,
		   struct fsm_result *out)
{
	return apply(s, ev, reason, now_ms, out);
}

int fsm_transition_cas(struct fsm_session *s, uint64_t expected_version,
		       enum fsm_event ev, enum fsm_reason reason,
		       uint64_t now_ms, struct fsm_result *out)
{
	if (s->state_version != expected_version) {
		fill_result(out, s, ev, now_ms);
		return refuse(s, out, FSM_R_STALE_VERSION);
	}
	return apply(s, ev, reason, now_ms, out);
}

static void print_markdown(FILE *f)
{
	unsigned int s, e;

	fprintf(f, "| from | event | to | default reason |\n");
	fprintf(f, "|---|---|---|---|\n");
	for (s = 0; s < FSM_STATE_COUNT; s++) {
		for (e = 0; e < FSM_EVENT_COUNT; e++) {
			const struct fsm_edge *edge = &fsm_table[s][e];

			if (!edge->valid)
				continue;
			fprintf(f, "| %s | %s | %s | %s |\n",
				fsm_state_name(s), fsm_event_name(e),
				fsm_state_name(edge->to),
				fsm_reason_name(edge->reason));
		}
	}
}

static void print_dot(FILE *f)
{
	unsigned int s, e;

	fprintf(f, "digraph jvpn_session {\n");
	fprintf(f, "\trankdir=LR;\n\tnode [shape=box];\n");
	fprintf(f, "\tTERMINATED [shape=doublecircle];\n");
	for (s = 0; s < FSM_STATE_COUNT; s++) {
		for (e = 0; e < FSM_EVENT_COUNT; e++) {
			const struct fsm_edge *edge = &fsm_table[s][e];

			if (!edge->valid)
				continue;
			fprintf(f, "\t%s -> %s [label=\"%s\"];\n",
				fsm_state_name(s), fsm_state_name(edge->to),
				fsm_event_name(e));
		}
	}
	fprintf(f, "}\n");
}

int fsm_print_table(FILE *f, enum fsm_table_format fmt)
{
	if (fmt == FSM_TABLE_DOT)
		print_dot(f);
	else
		print_markdown(f);
	return ferror(f) ? -EIO : 0;
}
