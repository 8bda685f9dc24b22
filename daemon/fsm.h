/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd session state machine.
 *
 * The whole life cycle of a session is ONE table, indexed by (state, event).
 * fsm_transition() is the only code that changes a session's state: a pair
 * present in the table moves the session and increments state_version by
 * exactly one; every other pair is refused, changes nothing and is reported
 * as a security event.  TERMINATED has no outgoing edge (absorbing).
 *
 * The module is pure: no clock reads, no allocation, no I/O (except the
 * table printer, which writes to the FILE it is given).  The caller passes
 * the monotonic time and turns the result into an audit record.
 */
#ifndef JVPND_FSM_H
#define JVPND_FSM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum fsm_state {
	FSM_INIT,		/* session object exists, nothing sent yet */
	FSM_HANDSHAKING,	/* handshake in flight */
	FSM_ATTACHED,		/* keys established, active path healthy */
	FSM_VOLATILE,		/* active path suspect; session intact */
	FSM_RECOVERING,		/* path lost or replacing it; window running */
	FSM_DEGRADED,		/* policy limit reached; no automatic switch */
	FSM_TERMINATED,		/* absorbing */

	FSM_STATE_COUNT
};

enum fsm_event {
	FSM_EV_HANDSHAKE_STARTED,
	FSM_EV_HANDSHAKE_COMPLETE,
	FSM_EV_HANDSHAKE_FAILED,
	FSM_EV_PATH_SILENT,
	FSM_EV_PATH_ALIVE,
	FSM_EV_TRANSPORT_LOST,
	FSM_EV_REATTACH_STARTED,
	FSM_EV_REATTACH_SUCCEEDED,
	FSM_EV_REATTACH_FAILED,
	FSM_EV_RECOVERY_WINDOW_EXCEEDED,
	FSM_EV_SWITCH_LIMIT_HIT,
	FSM_EV_QUALITY_BELOW_FLOOR,
	FSM_EV_QUALITY_RESTORED,
	FSM_EV_SESSION_TTL_EXPIRED,
	FSM_EV_OPERATOR_CLOSE,
	FSM_EV_PEER_TERMINATE,
	FSM_EV_INTERNAL_INCONSISTENCY,

	FSM_EVENT_COUNT
};

/*
 * Reason codes: why a transition happened, why it was refused, or why a
 * policy decision came out as it did.  One list for the FSM, the policy
 * engine and the audit log, so a record's "reason" always means the same.
 * Values are stable only within one build; JSON carries the names.
 */
enum fsm_reason {
	FSM_R_NONE,
	/* transitions */
	FSM_R_HANDSHAKE_STARTED,
	FSM_R_HANDSHAKE_COMPLETE,
	FSM_R_HANDSHAKE_FAILED,
	FSM_R_HANDSHAKE_TIMEOUT,
	FSM_R_HANDSHAKE_REJECTED,
	FSM_R_PATH_SILENT,
	FSM_R_PATH_ALIVE,
	FSM_R_TRANSPORT_LOST,
	FSM_R_TRANSPORT_LOSS_TTL,
	FSM_R_LINK_DOWN,
	FSM_R_SOCKET_ERROR,
	FSM_R_BETTER_PATH,
	FSM_R_REATTACH_STARTED,
	FSM_R_REATTACH_VALIDATED,
	FSM_R_REATTACH_TIMEOUT,
	FSM_R_REATTACH_PROOF_INVALID,
	FSM_R_REATTACH_STALE,
	FSM_R_REATTACH_FAILED,
	FSM_R_PATH_VALIDATION_FAILED,
	FSM_R_QUALITY_BELOW_FLOOR,
	FSM_R_QUALITY_LOSS,
	FSM_R_QUALITY_LATENCY,
	FSM_R_QUALITY_JITTER,
	FSM_R_QUALITY_RESTORED,
	FSM_R_SWITCH_RATE_LIMIT,
	FSM_R_SWITCH_COOLDOWN,
	FSM_R_RECOVERY_WINDOW_EXCEEDED,
	FSM_R_SESSION_TTL_EXPIRED,
	FSM_R_OPERATOR_CLOSE,
	FSM_R_PEER_TERMINATE,
	FSM_R_INTERNAL_INCONSISTENCY,
	/* refusals of fsm_transition() */
	FSM_R_TRANSITION_NOT_ALLOWED,
	FSM_R_SESSION_TERMINATED,
	FSM_R_STALE_VERSION,
	FSM_R_INVALID_EVENT,
	FSM_R_INVALID_STATE,
	FSM_R_INVALID_REASON,
	FSM_R_VERSION_EXHAUSTED,
	/* policy and admission decisions */
	FSM_R_PROBE_LIMIT,
	FSM_R_PROBE_INTERVAL,
	FSM_R_REATTACH_RATE_LIMITED,
	FSM_R_HANDSHAKE_RATE_LIMITED,
	FSM_R_SOURCE_TABLE_FULL,
	FSM_R_SESSION_LIMIT,

	FSM_REASON_COUNT
};

/* The part of a session the FSM owns.  Only fsm_*() functions write it. */
struct fsm_session {
	uint32_t session_id;
	enum fsm_state state;
	uint64_t state_version;		/* +1 per accepted transition */
	uint64_t state_since_ms;	/* monotonic time of the last change */
	uint64_t n_accepted;
	uint64_t n_refused;
};

enum fsm_verdict {
	FSM_ACCEPTED,	/* audit as STATE_CHANGE */
	FSM_REFUSED,	/* audit as SECURITY_EVENT */
};

/* What happened, ready to be turned into an audit record. */
struct fsm_result {
	enum fsm_verdict verdict;
	uint32_t session_id;
	enum fsm_state from;
	enum fsm_state to;		/* == from when refused */
	enum fsm_event event;		/* as passed (may be out of range) */
	enum fsm_reason reason;
	uint64_t version;		/* new version, or the unchanged one */
	uint64_t dwell_ms;		/* time spent in 'from' */
};

void fsm_session_init(struct fsm_session *s, uint32_t session_id,
		      uint64_t now_ms);

/*
 * Apply ev to s.  reason FSM_R_NONE selects the table's default reason for
 * the edge; any other transition reason (FSM_R_HANDSHAKE_STARTED ..
 * FSM_R_INTERNAL_INCONSISTENCY) refines it, e.g. TRANSPORT_LOST because of
 * FSM_R_LINK_DOWN.  Returns 0 if accepted, -EPERM if refused; out is always
 * filled.
 */
int fsm_transition(struct fsm_session *s, enum fsm_event ev,
		   enum fsm_reason reason, uint64_t now_ms,
		   struct fsm_result *out);

/*
 * Same, but only if s->state_version still equals expected_version: work
 * that was decided on an older view of the session (an asynchronous
 * reattach validation, a store round trip) is refused with
 * FSM_R_STALE_VERSION instead of being applied to a newer state.
 */
int fsm_transition_cas(struct fsm_session *s, uint64_t expected_version,
		       enum fsm_event ev, enum fsm_reason reason,
		       uint64_t now_ms, struct fsm_result *out);

/* Does the table have an edge for (state, ev)?  to/reason may be NULL. */
bool fsm_lookup(enum fsm_state state, enum fsm_event ev,
		enum fsm_state *to, enum fsm_reason *reason);

static inline bool fsm_is_terminal(enum fsm_state state)
{
	return state == FSM_TERMINATED;
}

/* Number of edges in the table. */
unsigned int fsm_edge_count(void);

/* Names for JSON, CLI and docs.  Out-of-range values give "UNKNOWN". */
const char *fsm_state_name(enum fsm_state state);
const char *fsm_event_name(enum fsm_event ev);
const char *fsm_reason_name(enum fsm_reason reason);
const char *fsm_state_doc(enum fsm_state state);
const char *fsm_event_doc(enum fsm_event ev);
const char *fsm_reason_doc(enum fsm_reason reason);

/* Reverse lookups (case-insensitive); -1 if unknown. */
int fsm_state_from_name(const char *name);
int fsm_event_from_name(const char *name);
int fsm_reason_from_name(const char *name);

enum fsm_table_format {
	FSM_TABLE_MARKDOWN,	/* | from | event | to | default reason | */
	FSM_TABLE_DOT,		/* Graphviz digraph */
};

/* Print the transition table; returns 0 or -EIO if f reported an error. */
int fsm_print_table(FILE *f, enum fsm_table_format fmt);

#endif /* JVPND_FSM_H */
