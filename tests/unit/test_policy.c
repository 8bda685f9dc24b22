// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Policy: every decision at, just before and just after its threshold.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "../../daemon/policy.h"

static struct jvpn_policy pol;

static int is(struct policy_decision d, enum policy_verdict v,
	      enum fsm_reason r, uint64_t not_before)
{
	return d.verdict == v && d.reason == r && d.not_before_ms == not_before;
}

static void test_defaults(void)
{
	char err[256];

	policy_defaults(&pol);
	tap_ok(policy_validate(&pol, err, sizeof(err), NULL) == 0,
	       "defaults validate");
	tap_ok(pol.max_recovery_window_ms == 5000 &&
	       pol.max_switches_per_minute == 6 &&
	       pol.switch_cooldown_ms == 1000 &&
	       pol.transport_loss_ttl_ms == 250 &&
	       pol.session_ttl_s == 86400 && pol.probe_interval_ms == 200 &&
	       pol.max_sessions == 1024, "documented defaults");
	tap_ok(policy_knob_find("maxswitchesperminute") ==
	       policy_knob_find("MaxSwitchesPerMinute") &&
	       policy_knob_find("MaxSwitchesPerMinute") &&
	       !policy_knob_find("NoSuchKnob"), "knob lookup is case-insensitive");
}

static void test_validate_each_knob(void)
{
	unsigned int i, ok = 0;
	char err[256];

	for (i = 0; i < policy_n_knobs; i++) {
		const struct policy_knob *k = &policy_knobs[i], *bad;
		struct jvpn_policy p;
		int good = 1;

		policy_defaults(&p);
		if (k->min > 0) {
			policy_knob_set(&p, k, k->min - 1);
			good &= policy_validate(&p, err, sizeof(err), &bad) &&
				bad == k && strstr(err, k->name) &&
				strstr(err, "out of range");
		}
		if (k->max < UINT32_MAX) {
			policy_knob_set(&p, k, k->max + 1);
			good &= policy_validate(&p, err, sizeof(err), &bad) &&
				bad == k;
		}
		ok += good;
		tap_ok(good, "%s: below min / above max refused", k->name);
	}
	TAP_EQ_INT(ok, policy_n_knobs, "every knob range-checked");
}

static void test_validate_relations(void)
{
	const struct policy_knob *bad;
	struct jvpn_policy p;
	char err[256];

	policy_defaults(&p);
	p.transport_loss_ttl_ms = 600;
	p.probe_interval_ms = 600;
	tap_ok(policy_validate(&p, err, sizeof(err), &bad) &&
	       strstr(err, "TransportLossTtlMs") &&
	       !strcmp(bad->name, "ProbeIntervalMs"),
	       "probe interval must be below the loss TTL: %s", err);
	p.probe_interval_ms = 599;
	tap_ok(!policy_validate(&p, err, sizeof(err), NULL),
	       "probe interval just below the loss TTL is fine");

	policy_defaults(&p);
	p.transport_loss_ttl_ms = 10000;
	p.probe_interval_ms = 5001;
	tap_ok(policy_validate(&p, err, sizeof(err), NULL) &&
	       strstr(err, "MaxRecoveryWindowMs"),
	       "probe interval must fit the recovery window");
	tap_ok(policy_validate(&p, NULL, 0, NULL) != 0,
	       "validate works without a message buffer");
}

static void test_cooldown(void)
{
	struct policy_counters c;

	policy_counters_init(&c, 0);
	tap_ok(is(policy_may_switch(&pol, &c, 0), POLICY_ALLOW, FSM_R_NONE, 0),
	       "first switch allowed at once");
	policy_note_switch(&c, 10000);
	tap_ok(is(policy_may_switch(&pol, &c, 10999), POLICY_DENY,
		  FSM_R_SWITCH_COOLDOWN, 11000),
	       "cooldown: 1 ms before its end denied, not_before = end");
	tap_ok(is(policy_may_switch(&pol, &c, 11000), POLICY_ALLOW,
		  FSM_R_NONE, 0), "cooldown: allowed exactly at its end");
	tap_ok(is(policy_may_switch(&pol, &c, 5000), POLICY_DENY,
		  FSM_R_SWITCH_COOLDOWN, 11000),
	       "time going backwards keeps the cooldown");

	{
		struct jvpn_policy p = pol;

		p.switch_cooldown_ms = 0;
		tap_ok(policy_may_switch(&p, &c, 10000).verdict == POLICY_ALLOW,
		       "cooldown 0: switch allowed at the same ms");
	}
}

static void test_rate_window(void)
{
	struct policy_counters c;
	uint64_t t;
	int all = 1;

	policy_counters_init(&c, 0);
	for (t = 1000; t < 7000; t += 1000) {
		all &= policy_may_switch(&pol, &c, t).verdict == POLICY_ALLOW;
		policy_note_switch(&c, t);
	}
	tap_ok(all && c.switches_in_window == 6,
	       "six switches a second apart allowed");
	tap_ok(is(policy_may_switch(&pol, &c, 7000), POLICY_DENY,
		  FSM_R_SWITCH_RATE_LIMIT, 61000),
	       "seventh in the window denied until it closes");
	tap_ok(is(policy_may_switch(&pol, &c, 60999), POLICY_DENY,
		  FSM_R_SWITCH_RATE_LIMIT, 61000),
	       "1 ms before the window closes: still denied");
	tap_ok(is(policy_may_switch(&pol, &c, 61000), POLICY_ALLOW,
		  FSM_R_NONE, 0), "window rollover: allowed exactly at 60 s");
	policy_note_switch(&c, 61000);
	tap_ok(c.switches_in_window == 1 && c.window_start_ms == 61000,
	       "a switch after rollover opens a new window");
	tap_ok(is(policy_may_switch(&pol, &c, 61500), POLICY_DENY,
		  FSM_R_SWITCH_COOLDOWN, 62000),
	       "cooldown applies across windows");
}

static void test_recovery(void)
{
	struct policy_counters c;

	policy_counters_init(&c, 0);
	tap_ok(is(policy_recovery_expired(&pol, &c, 999999), POLICY_ALLOW,
		  FSM_R_NONE, 0), "not recovering: never expired");
	policy_note_recovery_start(&c, 20000);
	policy_note_recovery_start(&c, 22000);
	TAP_EQ_INT(c.recovery_start_ms, 20000,
		   "re-entering recovery keeps the first start");
	tap_ok(is(policy_recovery_expired(&pol, &c, 24999), POLICY_ALLOW,
		  FSM_R_NONE, 25000), "1 ms before the window: alive");
	tap_ok(is(policy_recovery_expired(&pol, &c, 25000), POLICY_TERMINATE,
		  FSM_R_RECOVERY_WINDOW_EXCEEDED, 0), "at the window: expired");
	policy_note_recovered(&c);
	tap_ok(!c.recovering && policy_recovery_expired(&pol, &c, 99999).verdict
	       == POLICY_ALLOW, "recovered: window stopped");
}

static void test_session_ttl(void)
{
	struct policy_counters c;
	uint64_t end = 5000 + 86400ULL * 1000;

	policy_counters_init(&c, 5000);
	tap_ok(is(policy_session_expired(&pol, &c, end - 1), POLICY_ALLOW,
		  FSM_R_NONE, end), "TTL: 1 ms before alive");
	tap_ok(is(policy_session_expired(&pol, &c, end), POLICY_TERMINATE,
		  FSM_R_SESSION_TTL_EXPIRED, 0), "TTL: expired at the deadline");
}

static void test_path_loss(void)
{
	struct policy_counters c;
	struct jvpn_policy p = pol;

	policy_counters_init(&c, 0);
	tap_ok(is(policy_on_path_loss(&pol, &c, 100000), POLICY_RECOVER,
		  FSM_R_NONE, 105000), "loss: recover, deadline as timer");

	policy_note_switch(&c, 100000);
	tap_ok(is(policy_on_path_loss(&pol, &c, 100400), POLICY_RECOVER,
		  FSM_R_SWITCH_COOLDOWN, 101000),
	       "loss in cooldown: recover after the cooldown");

	policy_counters_init(&c, 0);
	policy_note_recovery_start(&c, 100000);
	tap_ok(is(policy_on_path_loss(&pol, &c, 105000), POLICY_TERMINATE,
		  FSM_R_RECOVERY_WINDOW_EXCEEDED, 0),
	       "loss after the window: terminate");

	policy_counters_init(&c, 0);
	tap_ok(is(policy_on_path_loss(&pol, &c, 86400000), POLICY_TERMINATE,
		  FSM_R_SESSION_TTL_EXPIRED, 0), "loss after TTL: terminate");

	/* Rate window full; it reopens 4 s later, inside the 5 s window. */
	policy_counters_init(&c, 0);
	c.has_switched = true;
	c.last_switch_ms = 50000;
	c.window_start_ms = 0;
	c.switches_in_window = 6;
	tap_ok(is(policy_on_path_loss(&pol, &c, 56000), POLICY_DEGRADE,
		  FSM_R_SWITCH_RATE_LIMIT, 60000),
	       "flapping, window reopens before the deadline: degrade");
	tap_ok(is(policy_on_path_loss(&pol, &c, 55000), POLICY_TERMINATE,
		  FSM_R_SWITCH_RATE_LIMIT, 0),
	       "flapping, window reopens exactly at the deadline: terminate");

	p.switch_cooldown_ms = 60000;
	policy_counters_init(&c, 0);
	policy_note_switch(&c, 1000);
	tap_ok(is(policy_on_path_loss(&p, &c, 2000), POLICY_TERMINATE,
		  FSM_R_SWITCH_COOLDOWN, 0),
	       "cooldown longer than the window: terminate");
}

static void test_path_alive(void)
{
	struct jvpn_policy p = pol;

	p.transport_loss_ttl_ms = 600;
	tap_ok(is(policy_path_alive(&p, 1000, 1599), POLICY_ALLOW,
		  FSM_R_NONE, 1600), "silent 599 ms: alive");
	tap_ok(is(policy_path_alive(&p, 1000, 1600), POLICY_DENY,
		  FSM_R_TRANSPORT_LOSS_TTL, 0), "silent 600 ms: lost");
	tap_ok(policy_path_alive(&p, 2000, 1000).verdict == POLICY_ALLOW,
	       "RX newer than now: alive");
}

static void test_quality(void)
{
	struct path_quality q = { 100, 1000, 250 };

	tap_ok(is(policy_path_quality_ok(&pol, &q), POLICY_ALLOW, FSM_R_NONE, 0),
	       "quality exactly at every floor: ok");
	q.loss_permille = 101;
	tap_ok(is(policy_path_quality_ok(&pol, &q), POLICY_DENY,
		  FSM_R_QUALITY_LOSS, 0), "loss 10.1%%: below floor");
	q = (struct path_quality){ 100, 1001, 250 };
	tap_ok(is(policy_path_quality_ok(&pol, &q), POLICY_DENY,
		  FSM_R_QUALITY_LATENCY, 0), "latency 1001 ms: below floor");
	q = (struct path_quality){ 100, 1000, 251 };
	tap_ok(is(policy_path_quality_ok(&pol, &q), POLICY_DENY,
		  FSM_R_QUALITY_JITTER, 0), "jitter 251 ms: below floor");
	q = (struct path_quality){ 1000, 5000, 5000 };
	TAP_EQ_INT(policy_path_quality_ok(&pol, &q).reason, FSM_R_QUALITY_LOSS,
		   "several failing: loss reported first");
	q = (struct path_quality){ 101, 0, 0 };
	{
		struct jvpn_policy p = pol;

		p.max_loss_percent = 100;
		q.loss_permille = 1000;
		tap_ok(policy_path_quality_ok(&p, &q).verdict == POLICY_ALLOW,
		       "MaxLossPercent 100 accepts total loss");
	}
}

static void test_probes(void)
{
	struct policy_counters c;
	uint64_t last, retry;
	unsigned int i;
	struct jvpn_policy p = pol;

	p.probe_interval_ms = 500;	/* the figures below */

	policy_counters_init(&c, 0);
	tap_ok(is(policy_may_probe(&p, &c, 0), POLICY_ALLOW, FSM_R_NONE, 0),
	       "first probe at once");
	policy_note_probe_sent(&c, 1000);
	tap_ok(is(policy_may_probe(&p, &c, 1499), POLICY_DENY,
		  FSM_R_PROBE_INTERVAL, 1500), "probe interval: 1 ms early");
	tap_ok(is(policy_may_probe(&p, &c, 1500), POLICY_ALLOW, FSM_R_NONE, 0),
	       "probe interval: on time");
	for (i = 1; i < p.max_probes; i++)
		policy_note_probe_sent(&c, 1000 + i * 500);
	last = 1000 + (p.max_probes - 1) * 500;
	retry = (uint64_t)p.probe_interval_ms * p.max_probes;
	tap_ok(is(policy_may_probe(&p, &c, last + 500), POLICY_DENY,
		  FSM_R_PROBE_LIMIT, last + retry), "probe ceiling reached");
	tap_ok(is(policy_may_probe(&p, &c, last + retry - 1), POLICY_DENY,
		  FSM_R_PROBE_LIMIT, last + retry),
	       "given up: no retry before MaxProbes intervals");
	tap_ok(is(policy_may_probe(&p, &c, last + retry), POLICY_ALLOW,
		  FSM_R_NONE, 0), "given up: one retry per MaxProbes intervals");
	policy_note_probe_sent(&c, last + retry);
	tap_ok(is(policy_may_probe(&p, &c, last + retry + 500), POLICY_DENY,
		  FSM_R_PROBE_LIMIT, last + 2 * retry),
	       "given up: the retry restarts the wait");
	policy_note_probe_answered(&c);
	tap_ok(policy_may_probe(&p, &c, 100000).verdict == POLICY_ALLOW,
	       "an answer resets the ceiling");
}

static void test_sessions(void)
{
	tap_ok(policy_may_add_session(&pol, 1023).verdict == POLICY_ALLOW,
	       "session 1024 of 1024 admitted");
	tap_ok(is(policy_may_add_session(&pol, 1024), POLICY_DENY,
		  FSM_R_SESSION_LIMIT, 0), "session 1025 refused");
	tap_ok(!strcmp(policy_verdict_name(POLICY_DEGRADE), "degrade") &&
	       !strcmp(policy_verdict_name((enum policy_verdict)42), "unknown"),
	       "verdict names");
}

/* Every path-loss verdict, from every state, is carried out by events the
 * FSM accepts, and lands in the state the verdict names.
 */
static void test_loss_steps(void)
{
	static const enum fsm_state states[] = {
		FSM_ATTACHED, FSM_VOLATILE, FSM_RECOVERING, FSM_DEGRADED,
	};
	static const struct policy_decision ds[] = {
		{ POLICY_RECOVER, FSM_R_NONE, 0 },
		{ POLICY_RECOVER, FSM_R_SWITCH_COOLDOWN, 5 },
		{ POLICY_DEGRADE, FSM_R_SWITCH_RATE_LIMIT, 5 },
		{ POLICY_TERMINATE, FSM_R_RECOVERY_WINDOW_EXCEEDED, 0 },
		{ POLICY_TERMINATE, FSM_R_SWITCH_RATE_LIMIT, 0 },
		{ POLICY_TERMINATE, FSM_R_SESSION_TTL_EXPIRED, 0 },
	};
	unsigned int i, j, bad = 0;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		for (j = 0; j < sizeof(ds) / sizeof(ds[0]); j++) {
			struct policy_step st[POLICY_MAX_STEPS];
			struct fsm_session s;
			struct fsm_result r;
			enum fsm_state want;
			int n, k, ok = 1;

			fsm_session_init(&s, 1, 0);
			s.state = states[i];
			n = policy_loss_steps(states[i], &ds[j],
					      FSM_R_LINK_DOWN, st);
			for (k = 0; k < n; k++)
				ok &= !fsm_transition(&s, st[k].event,
						      st[k].reason, 1, &r);
			want = ds[j].verdict == POLICY_RECOVER ? FSM_RECOVERING
			       : ds[j].verdict == POLICY_DEGRADE ? FSM_DEGRADED
								 : FSM_TERMINATED;
			/* DEGRADED + DEGRADE and RECOVERING + RECOVER: stay */
			ok &= n >= 0 && s.state == want &&
			      s.state_version == (uint64_t)n;
			bad += !ok;
			tap_ok(ok, "loss in %s, verdict %s/%s: %d accepted steps",
			       fsm_state_name(states[i]),
			       policy_verdict_name(ds[j].verdict),
			       fsm_reason_name(ds[j].reason), n);
		}
	}
	TAP_EQ_INT(bad, 0, "policy and FSM agree on every path-loss outcome");
	{
		struct policy_step st[POLICY_MAX_STEPS];

		tap_ok(policy_loss_steps(FSM_HANDSHAKING, &ds[0], FSM_R_NONE,
					 st) == -EINVAL &&
		       policy_loss_steps(FSM_ATTACHED,
					 &(struct policy_decision){ POLICY_ALLOW,
								    FSM_R_NONE, 0 },
					 FSM_R_NONE, st) == -EINVAL,
		       "no plan before the handshake or for ALLOW");
	}
}

static void test_reference(void)
{
	char *buf = NULL;
	size_t len = 0, i, rows = 0;
	FILE *f = open_memstream(&buf, &len);

	policy_print_reference(f);
	fclose(f);
	for (i = 0; i < len; i++)
		rows += buf[i] == '\n';
	TAP_EQ_INT(rows, policy_n_knobs + 2, "reference: one row per knob");
	free(buf);
}

int main(void)
{
	test_defaults();
	test_validate_each_knob();
	test_validate_relations();
	test_cooldown();
	test_rate_window();
	test_recovery();
	test_session_ttl();
	test_path_loss();
	test_path_alive();
	test_quality();
	test_probes();
	test_sessions();
	test_loss_steps();
	test_reference();
	return tap_done();
}
