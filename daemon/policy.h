/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd policy: the operator's bounds on recovery, switching, quality and
 * admission, and pure decision functions over them.
 *
 * Every decision function takes the policy, the session's counters and a
 * monotonic "now" in milliseconds supplied by the caller; none reads a
 * clock, allocates or writes anything, so the same inputs always give the
 * same decision (the seeds' "policy is deterministic and reproducible").
 * Decisions are evaluated before any state mutation; the caller applies
 * them through the FSM and then records what happened with policy_note_*().
 *
 * Time boundaries are inclusive of expiry: a deadline D is reached when
 * now >= D (a 5000 ms window started at t is over at t + 5000).
 */
#ifndef JVPND_POLICY_H
#define JVPND_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fsm.h"

/* The rate window behind MaxSwitchesPerMinute. */
#define POLICY_SWITCH_WINDOW_MS	60000ULL

struct jvpn_policy {
	uint32_t max_recovery_window_ms;	/* MaxRecoveryWindowMs */
	uint32_t max_switches_per_minute;	/* MaxSwitchesPerMinute */
	uint32_t switch_cooldown_ms;		/* SwitchCooldownMs */
	uint32_t transport_loss_ttl_ms;		/* TransportLossTtlMs */
	uint32_t session_ttl_s;			/* SessionTtl */
	uint32_t probe_interval_ms;		/* ProbeIntervalMs */
	uint32_t max_probes;			/* MaxProbes */
	uint32_t max_loss_percent;		/* MaxLossPercent */
	uint32_t max_latency_ms;		/* MaxLatencyMs */
	uint32_t max_jitter_ms;			/* MaxJitterMs */
	uint32_t reattach_rate;			/* ReattachRate, per session/s */
	uint32_t reattach_burst;		/* ReattachBurst */
	uint32_t global_reattach_rate;		/* GlobalReattachRate, /s */
	uint32_t global_reattach_burst;		/* GlobalReattachBurst */
	uint32_t handshake_rate;		/* HandshakeRate, global /s */
	uint32_t handshake_burst;		/* HandshakeBurst */
	uint32_t max_sessions;			/* MaxSessions */
	uint32_t validated_path_ttl_ms;		/* ValidatedPathTtlMs */
	uint32_t rekey_after_seconds;		/* RekeyAfterSeconds */
	uint32_t rekey_after_packets;		/* RekeyAfterPackets */
	uint32_t handshake_attempts;		/* HandshakeAttempts */
};

/*
 * One descriptor per knob: name (as in the config file), where it lives in
 * struct jvpn_policy, default and inclusive range.  Defaults, validation,
 * the config parser and the reference docs all read this one table.
 */
struct policy_knob {
	const char *name;
	size_t offset;
	uint32_t def;
	uint32_t min;
	uint32_t max;
	const char *unit;
	const char *doc;
};

extern const struct policy_knob policy_knobs[];
extern const unsigned int policy_n_knobs;

/* Case-insensitive lookup by config name; NULL if unknown. */
const struct policy_knob *policy_knob_find(const char *name);
uint32_t policy_knob_get(const struct jvpn_policy *p,
			 const struct policy_knob *k);
void policy_knob_set(struct jvpn_policy *p, const struct policy_knob *k,
		     uint32_t v);

/* Fill p with the documented defaults (they pass policy_validate()). */
void policy_defaults(struct jvpn_policy *p);

/*
 * Range and consistency checks.  Returns 0, or -EINVAL with a message in
 * err ("MaxSwitchesPerMinute: 0 is out of range [1, 60]") and, if bad_knob
 * is not NULL, the knob the message is about.
 */
int policy_validate(const struct jvpn_policy *p, char *err, size_t errlen,
		    const struct policy_knob **bad_knob);

/* Markdown reference table of every knob (docs/config.md embeds it). */
int policy_print_reference(FILE *f);

/*
 * The per-session history the decisions need: constant size, written only
 * by policy_note_*() after the FSM has accepted the corresponding change.
 */
struct policy_counters {
	uint64_t established_ms;	/* handshake completion: TTL base */
	uint64_t last_switch_ms;	/* valid if has_switched */
	uint64_t window_start_ms;	/* first switch of the current window */
	uint64_t recovery_start_ms;	/* valid if recovering */
	uint64_t last_probe_ms;		/* valid if has_probed */
	uint32_t switches_in_window;
	uint32_t probes_unanswered;	/* on the path being probed */
	bool has_switched;
	bool recovering;
	bool has_probed;
};

enum policy_verdict {
	POLICY_ALLOW,		/* go ahead / nothing to do */
	POLICY_DENY,		/* not now (see not_before_ms) */
	POLICY_RECOVER,		/* path loss: enter or stay in RECOVERING */
	POLICY_DEGRADE,		/* path loss: go DEGRADED */
	POLICY_TERMINATE,	/* end the session */
};

struct policy_decision {
	enum policy_verdict verdict;
	enum fsm_reason reason;		/* FSM_R_NONE when nothing limited */
	/*
	 * Earliest monotonic time at which asking again can change the
	 * answer (arm a timer for it); 0 when no such time exists.
	 */
	uint64_t not_before_ms;
};

/* Path quality measured over the caller's probe window. */
struct path_quality {
	uint32_t loss_permille;		/* 0..1000 */
	uint32_t latency_ms;		/* smoothed RTT */
	uint32_t jitter_ms;		/* RTT variation */
};

const char *policy_verdict_name(enum policy_verdict v);

void policy_counters_init(struct policy_counters *c, uint64_t now_ms);
/* A switch of the active path was committed at now_ms. */
void policy_note_switch(struct policy_counters *c, uint64_t now_ms);
/* The active path was declared lost; keeps the first start if running. */
void policy_note_recovery_start(struct policy_counters *c, uint64_t now_ms);
/* Back to ATTACHED: the recovery window stops and probes are answered. */
void policy_note_recovered(struct policy_counters *c);
void policy_note_probe_sent(struct policy_counters *c, uint64_t now_ms);
void policy_note_probe_answered(struct policy_counters *c);

/* May the active path be switched now?  Cooldown first, then the rate. */
struct policy_decision policy_may_switch(const struct jvpn_policy *p,
					 const struct policy_counters *c,
					 uint64_t now_ms);

/* The active path is lost: recover, degrade or terminate? */
struct policy_decision policy_on_path_loss(const struct jvpn_policy *p,
					   const struct policy_counters *c,
					   uint64_t now_ms);

/* TERMINATE once the recovery window is used up, else ALLOW. */
struct policy_decision policy_recovery_expired(const struct jvpn_policy *p,
					       const struct policy_counters *c,
					       uint64_t now_ms);

/* TERMINATE once SessionTtl has elapsed since establishment, else ALLOW. */
struct policy_decision policy_session_expired(const struct jvpn_policy *p,
					      const struct policy_counters *c,
					      uint64_t now_ms);

/* ALLOW while the path has been heard from within TransportLossTtlMs. */
struct policy_decision policy_path_alive(const struct jvpn_policy *p,
					 uint64_t last_rx_ms, uint64_t now_ms);

/*
 * ALLOW if every measure is within its floor (equal is within), else DENY
 * with the first failing measure in the order loss, latency, jitter.
 */
struct policy_decision policy_path_quality_ok(const struct jvpn_policy *p,
					      const struct path_quality *q);

/*
 * May another probe be sent?  DENY with FSM_R_PROBE_INTERVAL and a
 * not_before while ProbeIntervalMs has not passed since the last one.
 * Once MaxProbes are unanswered the path is given up: DENY with
 * FSM_R_PROBE_LIMIT and a not_before, one retry allowed per
 * MaxProbes x ProbeIntervalMs until a probe is answered.
 */
struct policy_decision policy_may_probe(const struct jvpn_policy *p,
					const struct policy_counters *c,
					uint64_t now_ms);

/*
 * The FSM events that carry out a policy_on_path_loss() decision from the
 * session's current state, in order, so that the glue cannot pick an
 * event the table refuses.  Afterwards the session is RECOVERING (RECOVER),
 * DEGRADED (DEGRADE) or TERMINATED (TERMINATE).  loss_reason labels the
 * TRANSPORT_LOST step (FSM_R_TRANSPORT_LOSS_TTL, FSM_R_LINK_DOWN, ...).
 * Returns the number of steps (0..POLICY_MAX_STEPS), or -EINVAL for a
 * state in which a path loss means nothing (INIT, HANDSHAKING,
 * TERMINATED) or a verdict that is not a path-loss verdict.
 */
#define POLICY_MAX_STEPS	2

struct policy_step {
	enum fsm_event event;
	enum fsm_reason reason;
};

int policy_loss_steps(enum fsm_state state, const struct policy_decision *d,
		      enum fsm_reason loss_reason,
		      struct policy_step steps[POLICY_MAX_STEPS]);

/* ALLOW if one more session fits under MaxSessions. */
struct policy_decision policy_may_add_session(const struct jvpn_policy *p,
					      uint32_t n_sessions);

#endif /* JVPND_POLICY_H */
