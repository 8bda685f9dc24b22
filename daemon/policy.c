// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd policy knobs and pure decision functions.  See policy.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <linux/jvpn.h>

#include "policy.h"

#define KNOB(nm, field, d, lo, hi, u, text) { \
	.name = nm, .offset = offsetof(struct jvpn_policy, field), \
	.def = d, .min = lo, .max = hi, .unit = u, .doc = text }

/*
 * Defaults follow the product's design card; ranges are chosen so that
 * every bound stays a bound (no 0 that would mean "unlimited") and no
 * arithmetic on them can overflow 64 bits.
 */
const struct policy_knob policy_knobs[] = {
	KNOB("MaxRecoveryWindowMs", max_recovery_window_ms,
	     5000, 100, 600000, "ms",
	     "longest a session may stay without a working path (VOLATILE after a loss, RECOVERING, DEGRADED) before it is terminated"),
	KNOB("MaxSwitchesPerMinute", max_switches_per_minute,
	     6, 1, 60, "switches",
	     "active-path switches allowed per 60 s window; the window opens at the first switch after the previous one closed"),
	KNOB("SwitchCooldownMs", switch_cooldown_ms,
	     1000, 0, 60000, "ms",
	     "minimum time between two switches of one session"),
	KNOB("TransportLossTtlMs", transport_loss_ttl_ms,
	     250, 50, 60000, "ms",
	     "how long the active path may be silent (no authenticated RX) before it is declared lost"),
	KNOB("SessionTtl", session_ttl_s,
	     86400, 60, 2592000, "s",
	     "lifetime of a session from handshake completion; then it is terminated"),
	KNOB("ProbeIntervalMs", probe_interval_ms,
	     200, 10, 10000, "ms",
	     "interval between probes on a path being validated or measured"),
	KNOB("MaxProbes", max_probes,
	     10, 1, 1000, "probes",
	     "unanswered probes after which a path is given up (probe ceiling); a given-up path is retried once per MaxProbes x ProbeIntervalMs"),
	KNOB("MaxLossPercent", max_loss_percent,
	     10, 0, 100, "%",
	     "quality floor: highest acceptable packet loss"),
	KNOB("MaxLatencyMs", max_latency_ms,
	     1000, 1, 60000, "ms",
	     "quality floor: highest acceptable smoothed round-trip time"),
	KNOB("MaxJitterMs", max_jitter_ms,
	     250, 0, 60000, "ms",
	     "quality floor: highest acceptable round-trip variation"),
	KNOB("ReattachRate", reattach_rate,
	     2, 1, 1000, "1/s",
	     "reattach requests accepted per second for one session"),
	KNOB("ReattachBurst", reattach_burst,
	     4, 1, 1000, "requests",
	     "burst allowance of the per-session reattach limiter"),
	KNOB("GlobalReattachRate", global_reattach_rate,
	     1000, 1, 1000000, "1/s",
	     "reattach requests accepted per second for the whole daemon"),
	KNOB("GlobalReattachBurst", global_reattach_burst,
	     2000, 1, 1000000, "requests",
	     "burst allowance of the global reattach limiter"),
	KNOB("HandshakeRate", handshake_rate,
	     100, 1, 1000000, "1/s",
	     "handshake initiations processed per second for the whole daemon"),
	KNOB("HandshakeBurst", handshake_burst,
	     200, 1, 1000000, "requests",
	     "burst allowance of the global handshake limiter"),
	KNOB("MaxSessions", max_sessions,
	     JVPN_MAX_SESSIONS_DEFAULT, 1, JVPN_MAX_SESSIONS_LIMIT, "sessions",
	     "sessions the daemon keeps at once; more handshakes are refused"),
	KNOB("ValidatedPathTtlMs", validated_path_ttl_ms,
	     2000, 100, 600000, "ms",
	     "a standby path whose probe round trip was proven this recently is validated: a reattach to it commits without a challenge"),
	KNOB("RekeyAfterSeconds", rekey_after_seconds,
	     120, 2, 86400, "s",
	     "age of a session key after which the initiator rekeys (a new handshake in the same session)"),
	KNOB("RekeyAfterPackets", rekey_after_packets,
	     1000000000, 1000, 4000000000u, "packets",
	     "packets sent and received under one key after which the initiator rekeys"),
	KNOB("HandshakeAttempts", handshake_attempts,
	     10, 1, 100, "attempts",
	     "INITs sent for one handshake (1 s apart, doubling up to 8 s) before it is given up"),
};

const unsigned int policy_n_knobs =
	sizeof(policy_knobs) / sizeof(policy_knobs[0]);

const struct policy_knob *policy_knob_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < policy_n_knobs; i++)
		if (!strcasecmp(policy_knobs[i].name, name))
			return &policy_knobs[i];
	return NULL;
}

uint32_t policy_knob_get(const struct jvpn_policy *p,
			 const struct policy_knob *k)
{
	uint32_t v;

	memcpy(&v, (const char *)p + k->offset, sizeof(v));
	return v;
}

void policy_knob_set(struct jvpn_policy *p, const struct policy_knob *k,
		     uint32_t v)
{
	memcpy((char *)p + k->offset, &v, sizeof(v));
}

void policy_defaults(struct jvpn_policy *p)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < policy_n_knobs; i++)
		policy_knob_set(p, &policy_knobs[i], policy_knobs[i].def);
}

static int validate_ranges(const struct jvpn_policy *p, char *err,
			   size_t errlen, const struct policy_knob **bad)
{
	unsigned int i;

	for (i = 0; i < policy_n_knobs; i++) {
		const struct policy_knob *k = &policy_knobs[i];
		uint32_t v = policy_knob_get(p, k);

		if (v >= k->min && v <= k->max)
			continue;
		snprintf(err, errlen, "%s: %u is out of range [%u, %u]",
			 k->name, v, k->min, k->max);
		*bad = k;
		return -EINVAL;
	}
	return 0;
}

/*
 * Relations between knobs.  A probe interval at or above the loss TTL
 * would declare paths lost before a single probe could answer; one above
 * the recovery window would let a recovery end without any probe.
 */
static int validate_relations(const struct jvpn_policy *p, char *err,
			      size_t errlen, const struct policy_knob **bad)
{
	if (p->probe_interval_ms >= p->transport_loss_ttl_ms) {
		snprintf(err, errlen,
			 "ProbeIntervalMs: %u must be less than TransportLossTtlMs (%u), or a path is declared lost before it is probed",
			 p->probe_interval_ms, p->transport_loss_ttl_ms);
		*bad = policy_knob_find("ProbeIntervalMs");
		return -EINVAL;
	}
	if (p->probe_interval_ms > p->max_recovery_window_ms) {
		snprintf(err, errlen,
			 "ProbeIntervalMs: %u must not exceed MaxRecoveryWindowMs (%u), or a recovery can end without a probe",
			 p->probe_interval_ms, p->max_recovery_window_ms);
		*bad = policy_knob_find("ProbeIntervalMs");
		return -EINVAL;
	}
	return 0;
}

int policy_validate(const struct jvpn_policy *p, char *err, size_t errlen,
		    const struct policy_knob **bad_knob)
{
	const struct policy_knob *bad = NULL;
	char scratch[1];
	int ret;

	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	ret = validate_ranges(p, err, errlen, &bad);
	if (!ret)
		ret = validate_relations(p, err, errlen, &bad);
	if (bad_knob)
		*bad_knob = bad;
	return ret;
}

int policy_print_reference(FILE *f)
{
	unsigned int i;

	fprintf(f, "| Key | Unit | Default | Range | Meaning |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (i = 0; i < policy_n_knobs; i++) {
		const struct policy_knob *k = &policy_knobs[i];

		fprintf(f, "| `%s` | %s | %u | %u .. %u | %s |\n", k->name,
			k->unit, k->def, k->min, k->max, k->doc);
	}
	return ferror(f) ? -EIO : 0;
}

const char *policy_verdict_name(enum policy_verdict v)
{
	static const char *const names[] = {
		[POLICY_ALLOW] = "allow",
		[POLICY_DENY] = "deny",
		[POLICY_RECOVER] = "recover",
		[POLICY_DEGRADE] = "degrade",
		[POLICY_TERMINATE] = "terminate",
	};

	if ((unsigned int)v >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[v];
}

/* ---------------------------------------------------------------------- */
/* Counters                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Elapsed time that never goes negative: if a caller ever passes a "now"
 * older than a recorded time, treat it as no time having passed, which
 * keeps every limit in force rather than lifting it.
 */
static uint64_t elapsed(uint64_t now_ms, uint64_t then_ms)
{
	return now_ms > then_ms ? now_ms - then_ms : 0;
}

void policy_counters_init(struct policy_counters *c, uint64_t now_ms)
{
	*c = (struct policy_counters){ .established_ms = now_ms };
}

static bool window_open(const struct policy_counters *c, uint64_t now_ms)
{
	return c->switches_in_window &&
	       elapsed(now_ms, c->window_start_ms) < POLICY_SWITCH_WINDOW_MS;
}

void policy_note_switch(struct policy_counters *c, uint64_t now_ms)
{
	if (!window_open(c, now_ms)) {
		c->window_start_ms = now_ms;
		c->switches_in_window = 0;
	}
	if (c->switches_in_window != UINT32_MAX)
		c->switches_in_window++;
	c->last_switch_ms = now_ms;
	c->has_switched = true;
	/* Probes count per path; the new active path starts clean. */
	c->probes_unanswered = 0;
}

void policy_note_recovery_start(struct policy_counters *c, uint64_t now_ms)
{
	/* The window is bounded from the FIRST loss: re-entering
	 * RECOVERING (e.g. after a failed reattach) must not restart it.
	 */
	if (c->recovering)
		return;
	c->recovering = true;
	c->recovery_start_ms = now_ms;
}

void policy_note_recovered(struct policy_counters *c)
{
	c->recovering = false;
	c->recovery_start_ms = 0;
	c->probes_unanswered = 0;
}

void policy_note_probe_sent(struct policy_counters *c, uint64_t now_ms)
{
	if (c->probes_unanswered != UINT32_MAX)
		c->probes_unanswered++;
	c->last_probe_ms = now_ms;
	c->has_probed = true;
}

void policy_note_probe_answered(struct policy_counters *c)
{
	c->probes_unanswered = 0;
}

/* ---------------------------------------------------------------------- */
/* Decisions                                                               */
/* ---------------------------------------------------------------------- */

static struct policy_decision decide(enum policy_verdict v,
				     enum fsm_reason why, uint64_t not_before)
{
	return (struct policy_decision){
		.verdict = v, .reason = why, .not_before_ms = not_before };
}

struct policy_decision policy_may_switch(const struct jvpn_policy *p,
					 const struct policy_counters *c,
					 uint64_t now_ms)
{
	if (c->has_switched &&
	    elapsed(now_ms, c->last_switch_ms) < p->switch_cooldown_ms)
		return decide(POLICY_DENY, FSM_R_SWITCH_COOLDOWN,
			      c->last_switch_ms + p->switch_cooldown_ms);
	if (window_open(c, now_ms) &&
	    c->switches_in_window >= p->max_switches_per_minute)
		return decide(POLICY_DENY, FSM_R_SWITCH_RATE_LIMIT,
			      c->window_start_ms + POLICY_SWITCH_WINDOW_MS);
	return decide(POLICY_ALLOW, FSM_R_NONE, 0);
}

static uint64_t session_deadline(const struct jvpn_policy *p,
				 const struct policy_counters *c)
{
	return c->established_ms + (uint64_t)p->session_ttl_s * 1000;
}

struct policy_decision policy_session_expired(const struct jvpn_policy *p,
					      const struct policy_counters *c,
					      uint64_t now_ms)
{
	uint64_t deadline = session_deadline(p, c);

	if (now_ms >= deadline)
		return decide(POLICY_TERMINATE, FSM_R_SESSION_TTL_EXPIRED, 0);
	return decide(POLICY_ALLOW, FSM_R_NONE, deadline);
}

/* A loss that is not yet being recovered starts its window now. */
static uint64_t recovery_deadline(const struct jvpn_policy *p,
				  const struct policy_counters *c,
				  uint64_t now_ms)
{
	uint64_t start = c->recovering ? c->recovery_start_ms : now_ms;

	return start + p->max_recovery_window_ms;
}

struct policy_decision policy_recovery_expired(const struct jvpn_policy *p,
					       const struct policy_counters *c,
					       uint64_t now_ms)
{
	uint64_t deadline;

	if (!c->recovering)
		return decide(POLICY_ALLOW, FSM_R_NONE, 0);
	deadline = recovery_deadline(p, c, now_ms);
	if (now_ms >= deadline)
		return decide(POLICY_TERMINATE,
			      FSM_R_RECOVERY_WINDOW_EXCEEDED, 0);
	return decide(POLICY_ALLOW, FSM_R_NONE, deadline);
}

/*
 * Order: hard lifetime, then the recovery window, then switching limits.
 * A switch that cannot happen before the recovery deadline cannot save the
 * session, so it ends now rather than idling until the window closes; a
 * cooldown only delays a recovery; a full rate window is flapping, and the
 * anti-flap answer is DEGRADED until the window reopens.
 */
struct policy_decision policy_on_path_loss(const struct jvpn_policy *p,
					   const struct policy_counters *c,
					   uint64_t now_ms)
{
	struct policy_decision d = policy_session_expired(p, c, now_ms);
	uint64_t deadline = recovery_deadline(p, c, now_ms);

	if (d.verdict == POLICY_TERMINATE)
		return d;
	if (now_ms >= deadline)
		return decide(POLICY_TERMINATE,
			      FSM_R_RECOVERY_WINDOW_EXCEEDED, 0);
	d = policy_may_switch(p, c, now_ms);
	if (d.verdict == POLICY_ALLOW)
		return decide(POLICY_RECOVER, FSM_R_NONE, deadline);
	if (d.not_before_ms >= deadline)
		return decide(POLICY_TERMINATE, d.reason, 0);
	if (d.reason == FSM_R_SWITCH_COOLDOWN)
		return decide(POLICY_RECOVER, d.reason, d.not_before_ms);
	return decide(POLICY_DEGRADE, d.reason, d.not_before_ms);
}

struct policy_decision policy_path_alive(const struct jvpn_policy *p,
					 uint64_t last_rx_ms, uint64_t now_ms)
{
	if (elapsed(now_ms, last_rx_ms) >= p->transport_loss_ttl_ms)
		return decide(POLICY_DENY, FSM_R_TRANSPORT_LOSS_TTL, 0);
	return decide(POLICY_ALLOW, FSM_R_NONE,
		      last_rx_ms + p->transport_loss_ttl_ms);
}

struct policy_decision policy_path_quality_ok(const struct jvpn_policy *p,
					      const struct path_quality *q)
{
	/* Loss is measured in permille so 0.5% steps are not rounded away;
	 * the floor is configured in whole percent.
	 */
	if ((uint64_t)q->loss_permille > (uint64_t)p->max_loss_percent * 10)
		return decide(POLICY_DENY, FSM_R_QUALITY_LOSS, 0);
	if (q->latency_ms > p->max_latency_ms)
		return decide(POLICY_DENY, FSM_R_QUALITY_LATENCY, 0);
	if (q->jitter_ms > p->max_jitter_ms)
		return decide(POLICY_DENY, FSM_R_QUALITY_JITTER, 0);
	return decide(POLICY_ALLOW, FSM_R_NONE, 0);
}

struct policy_decision policy_may_probe(const struct jvpn_policy *p,
					const struct policy_counters *c,
					uint64_t now_ms)
{
	uint64_t retry = (uint64_t)p->probe_interval_ms * p->max_probes;

	/* A path given up is not forgotten: it may come back (a link
	 * restored, a route repaired), so it is retried once per MaxProbes
	 * intervals, a fraction 1/MaxProbes of the normal probe cost.
	 */
	if (c->probes_unanswered >= p->max_probes) {
		if (elapsed(now_ms, c->last_probe_ms) < retry)
			return decide(POLICY_DENY, FSM_R_PROBE_LIMIT,
				      c->last_probe_ms + retry);
		return decide(POLICY_ALLOW, FSM_R_NONE, 0);
	}
	if (c->has_probed &&
	    elapsed(now_ms, c->last_probe_ms) < p->probe_interval_ms)
		return decide(POLICY_DENY, FSM_R_PROBE_INTERVAL,
			      c->last_probe_ms + p->probe_interval_ms);
	return decide(POLICY_ALLOW, FSM_R_NONE, 0);
}

struct policy_decision policy_may_add_session(const struct jvpn_policy *p,
					      uint32_t n_sessions)
{
	if (n_sessions >= p->max_sessions)
		return decide(POLICY_DENY, FSM_R_SESSION_LIMIT, 0);
	return decide(POLICY_ALLOW, FSM_R_NONE, 0);
}

static int step(struct policy_step *steps, int n, enum fsm_event ev,
		enum fsm_reason why)
{
	steps[n].event = ev;
	steps[n].reason = why;
	return n + 1;
}

/* The final event of a TERMINATE verdict. */
static enum fsm_event ending_event(const struct policy_decision *d)
{
	return d->reason == FSM_R_SESSION_TTL_EXPIRED
		       ? FSM_EV_SESSION_TTL_EXPIRED
		       : FSM_EV_RECOVERY_WINDOW_EXCEEDED;
}

/*
 * From ATTACHED or VOLATILE the loss itself is recorded first
 * (TRANSPORT_LOST), so the audit trail shows "path lost" before "could not
 * recover" or "degraded"; a lifetime expiry needs no such prelude.
 */
static int steps_while_attached(const struct policy_decision *d,
				enum fsm_reason loss_reason,
				struct policy_step *steps)
{
	int n = 0;

	if (d->verdict == POLICY_TERMINATE &&
	    d->reason == FSM_R_SESSION_TTL_EXPIRED)
		return step(steps, n, FSM_EV_SESSION_TTL_EXPIRED, d->reason);
	n = step(steps, n, FSM_EV_TRANSPORT_LOST, loss_reason);
	if (d->verdict == POLICY_DEGRADE)
		n = step(steps, n, FSM_EV_SWITCH_LIMIT_HIT, d->reason);
	else if (d->verdict == POLICY_TERMINATE)
		n = step(steps, n, ending_event(d), d->reason);
	return n;
}

int policy_loss_steps(enum fsm_state state, const struct policy_decision *d,
		      enum fsm_reason loss_reason,
		      struct policy_step steps[POLICY_MAX_STEPS])
{
	if (d->verdict != POLICY_RECOVER && d->verdict != POLICY_DEGRADE &&
	    d->verdict != POLICY_TERMINATE)
		return -EINVAL;
	switch (state) {
	case FSM_ATTACHED:
	case FSM_VOLATILE:
		return steps_while_attached(d, loss_reason, steps);
	case FSM_RECOVERING:
		if (d->verdict == POLICY_DEGRADE)
			return step(steps, 0, FSM_EV_SWITCH_LIMIT_HIT,
				    d->reason);
		if (d->verdict == POLICY_TERMINATE)
			return step(steps, 0, ending_event(d), d->reason);
		return 0;
	case FSM_DEGRADED:
		if (d->verdict == POLICY_RECOVER)
			return step(steps, 0, FSM_EV_REATTACH_STARTED,
				    FSM_R_NONE);
		if (d->verdict == POLICY_TERMINATE)
			return step(steps, 0, ending_event(d), d->reason);
		return 0;
	default:
		return -EINVAL;
	}
}
