// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * FSM table: every (state, event) pair.  The expected edges are written
 * out here independently of daemon/fsm.c, so a change to the table must
 * be made twice (here and there) and in docs/fsm.md, which is checked too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../daemon/fsm.h"

#ifndef JVPN_SRCDIR
#define JVPN_SRCDIR "."
#endif

struct expect {
	enum fsm_state from;
	enum fsm_event ev;
	enum fsm_state to;
};

#define E(f, e, t) { FSM_##f, FSM_EV_##e, FSM_##t }
#define ENDS(f) \
	E(f, SESSION_TTL_EXPIRED, TERMINATED), \
	E(f, OPERATOR_CLOSE, TERMINATED), \
	E(f, PEER_TERMINATE, TERMINATED), \
	E(f, INTERNAL_INCONSISTENCY, TERMINATED)

static const struct expect expected[] = {
	E(INIT, HANDSHAKE_STARTED, HANDSHAKING),
	E(INIT, OPERATOR_CLOSE, TERMINATED),
	E(INIT, INTERNAL_INCONSISTENCY, TERMINATED),

	E(HANDSHAKING, HANDSHAKE_COMPLETE, ATTACHED),
	E(HANDSHAKING, HANDSHAKE_FAILED, TERMINATED),
	E(HANDSHAKING, OPERATOR_CLOSE, TERMINATED),
	E(HANDSHAKING, INTERNAL_INCONSISTENCY, TERMINATED),

	E(ATTACHED, PATH_SILENT, VOLATILE),
	E(ATTACHED, QUALITY_BELOW_FLOOR, VOLATILE),
	E(ATTACHED, TRANSPORT_LOST, RECOVERING),
	E(ATTACHED, REATTACH_STARTED, RECOVERING),
	ENDS(ATTACHED),

	E(VOLATILE, PATH_ALIVE, ATTACHED),
	E(VOLATILE, QUALITY_RESTORED, ATTACHED),
	E(VOLATILE, TRANSPORT_LOST, RECOVERING),
	E(VOLATILE, REATTACH_STARTED, RECOVERING),
	E(VOLATILE, SWITCH_LIMIT_HIT, DEGRADED),
	E(VOLATILE, RECOVERY_WINDOW_EXCEEDED, TERMINATED),
	ENDS(VOLATILE),

	E(RECOVERING, REATTACH_SUCCEEDED, ATTACHED),
	E(RECOVERING, REATTACH_FAILED, VOLATILE),
	E(RECOVERING, SWITCH_LIMIT_HIT, DEGRADED),
	E(RECOVERING, RECOVERY_WINDOW_EXCEEDED, TERMINATED),
	ENDS(RECOVERING),

	E(DEGRADED, PATH_ALIVE, ATTACHED),
	E(DEGRADED, QUALITY_RESTORED, ATTACHED),
	E(DEGRADED, REATTACH_STARTED, RECOVERING),
	E(DEGRADED, RECOVERY_WINDOW_EXCEEDED, TERMINATED),
	ENDS(DEGRADED),
};

#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

static const struct expect *find_expected(enum fsm_state s, enum fsm_event e)
{
	size_t i;

	for (i = 0; i < N_EXPECTED; i++)
		if (expected[i].from == s && expected[i].ev == e)
			return &expected[i];
	return NULL;
}

static void session_at(struct fsm_session *s, enum fsm_state st,
		       uint64_t version)
{
	fsm_session_init(s, 0xabcd1234, 1000);
	s->state = st;
	s->state_version = version;
}

static int check_accepted(enum fsm_state st, enum fsm_event ev,
			  const struct expect *x)
{
	struct fsm_session s;
	struct fsm_result r;
	int ret;

	session_at(&s, st, 41);
	ret = fsm_transition(&s, ev, FSM_R_NONE, 1500, &r);
	return ret == 0 && r.verdict == FSM_ACCEPTED && s.state == x->to &&
	       s.state_version == 42 && r.version == 42 && r.from == st &&
	       r.to == x->to && r.event == ev && r.reason != FSM_R_NONE &&
	       r.dwell_ms == 500 && s.state_since_ms == 1500 &&
	       s.n_accepted == 1 && s.n_refused == 0 &&
	       r.session_id == 0xabcd1234;
}

static int check_refused(enum fsm_state st, enum fsm_event ev)
{
	enum fsm_reason want = st == FSM_TERMINATED
				       ? FSM_R_SESSION_TERMINATED
				       : FSM_R_TRANSITION_NOT_ALLOWED;
	struct fsm_session s, before;
	struct fsm_result r;
	int ret;

	session_at(&s, st, 41);
	before = s;
	before.n_refused = 1;
	ret = fsm_transition(&s, ev, FSM_R_NONE, 1500, &r);
	return ret == -EPERM && r.verdict == FSM_REFUSED && r.from == st &&
	       r.to == st && r.version == 41 && r.reason == want &&
	       !memcmp(&s, &before, sizeof(s));
}

static void test_every_pair(void)
{
	unsigned int st, ev, bad_acc = 0, bad_ref = 0, n_acc = 0, n_ref = 0;

	for (st = 0; st < FSM_STATE_COUNT; st++) {
		for (ev = 0; ev < FSM_EVENT_COUNT; ev++) {
			const struct expect *x = find_expected(st, ev);
			int ok;

			if (x) {
				ok = check_accepted(st, ev, x);
				n_acc++;
				bad_acc += !ok;
			} else {
				ok = check_refused(st, ev);
				n_ref++;
				bad_ref += !ok;
			}
			tap_ok(ok, "%s + %s -> %s", fsm_state_name(st),
			       fsm_event_name(ev),
			       x ? fsm_state_name(x->to) : "refused");
		}
	}
	TAP_EQ_INT(n_acc + n_ref, FSM_STATE_COUNT * FSM_EVENT_COUNT,
		   "all pairs visited");
	TAP_EQ_INT(fsm_edge_count(), N_EXPECTED, "table has the expected edges only");
	TAP_EQ_INT(bad_acc + bad_ref, 0, "no pair misbehaved");
}

static void test_terminated_absorbing(void)
{
	struct fsm_session s;
	struct fsm_result r;
	unsigned int ev, left = 0;

	session_at(&s, FSM_ATTACHED, 7);
	fsm_transition(&s, FSM_EV_OPERATOR_CLOSE, FSM_R_NONE, 2000, &r);
	TAP_EQ_INT(s.state, FSM_TERMINATED, "operator close terminates");
	for (ev = 0; ev < FSM_EVENT_COUNT; ev++) {
		fsm_transition(&s, ev, FSM_R_NONE, 3000, &r);
		left += s.state != FSM_TERMINATED;
	}
	TAP_EQ_INT(left, 0, "no event leaves TERMINATED");
	TAP_EQ_INT(s.state_version, 8, "refusals never bump the version");
	TAP_EQ_INT(s.n_refused, FSM_EVENT_COUNT, "every refusal counted");
	tap_ok(fsm_is_terminal(FSM_TERMINATED) &&
	       !fsm_is_terminal(FSM_DEGRADED), "fsm_is_terminal");
}

static void test_life_cycle(void)
{
	static const enum fsm_event walk[] = {
		FSM_EV_HANDSHAKE_STARTED, FSM_EV_HANDSHAKE_COMPLETE,
		FSM_EV_PATH_SILENT, FSM_EV_TRANSPORT_LOST,
		FSM_EV_REATTACH_FAILED, FSM_EV_REATTACH_STARTED,
		FSM_EV_SWITCH_LIMIT_HIT, FSM_EV_QUALITY_RESTORED,
		FSM_EV_REATTACH_STARTED, FSM_EV_REATTACH_SUCCEEDED,
		FSM_EV_SESSION_TTL_EXPIRED,
	};
	struct fsm_session s;
	struct fsm_result r;
	size_t i;
	int fails = 0;

	fsm_session_init(&s, 1, 0);
	for (i = 0; i < sizeof(walk) / sizeof(walk[0]); i++) {
		fails += fsm_transition(&s, walk[i], FSM_R_NONE, i * 10, &r) != 0;
		fails += r.version != i + 1;
	}
	TAP_EQ_INT(fails, 0, "life cycle: every step accepted, version +1 each");
	TAP_EQ_INT(s.state, FSM_TERMINATED, "life cycle ends TERMINATED");
	TAP_EQ_INT(s.state_version, 11, "eleven transitions, version 11");
}

static void test_reasons(void)
{
	struct fsm_session s;
	struct fsm_result r;
	int ret;

	session_at(&s, FSM_ATTACHED, 3);
	fsm_transition(&s, FSM_EV_TRANSPORT_LOST, FSM_R_NONE, 0, &r);
	TAP_EQ_INT(r.reason, FSM_R_TRANSPORT_LOST, "default reason from the table");

	session_at(&s, FSM_ATTACHED, 3);
	fsm_transition(&s, FSM_EV_TRANSPORT_LOST, FSM_R_LINK_DOWN, 0, &r);
	TAP_EQ_INT(r.reason, FSM_R_LINK_DOWN, "caller's reason refines the edge");

	session_at(&s, FSM_ATTACHED, 3);
	ret = fsm_transition(&s, FSM_EV_TRANSPORT_LOST,
			     FSM_R_TRANSITION_NOT_ALLOWED, 0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_INVALID_REASON &&
	       s.state == FSM_ATTACHED && s.state_version == 3,
	       "a refusal reason cannot label a transition");
}

static void test_guards(void)
{
	struct fsm_session s;
	struct fsm_result r;
	int ret;

	session_at(&s, FSM_ATTACHED, 5);
	ret = fsm_transition_cas(&s, 4, FSM_EV_PATH_SILENT, FSM_R_NONE, 0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_STALE_VERSION &&
	       s.state == FSM_ATTACHED && s.state_version == 5,
	       "stale expected version refused, nothing changed");
	ret = fsm_transition_cas(&s, 5, FSM_EV_PATH_SILENT, FSM_R_NONE, 0, &r);
	tap_ok(ret == 0 && s.state == FSM_VOLATILE && s.state_version == 6,
	       "matching expected version accepted");

	session_at(&s, FSM_ATTACHED, 5);
	ret = fsm_transition(&s, (enum fsm_event)FSM_EVENT_COUNT, FSM_R_NONE,
			     0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_INVALID_EVENT &&
	       s.state_version == 5, "out-of-range event refused");
	ret = fsm_transition(&s, (enum fsm_event)-1, FSM_R_NONE, 0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_INVALID_EVENT,
	       "negative event refused");

	session_at(&s, (enum fsm_state)99, 5);
	ret = fsm_transition(&s, FSM_EV_PATH_SILENT, FSM_R_NONE, 0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_INVALID_STATE &&
	       s.state == 99, "corrupt state refused");

	session_at(&s, FSM_ATTACHED, UINT64_MAX);
	ret = fsm_transition(&s, FSM_EV_PATH_SILENT, FSM_R_NONE, 0, &r);
	tap_ok(ret == -EPERM && r.reason == FSM_R_VERSION_EXHAUSTED &&
	       s.state == FSM_ATTACHED, "version cannot wrap");

	session_at(&s, FSM_ATTACHED, 5);
	s.state_since_ms = 900;
	fsm_transition(&s, FSM_EV_PATH_SILENT, FSM_R_NONE, 100, &r);
	TAP_EQ_INT(r.dwell_ms, 0, "time going backwards gives dwell 0");
}

static int names_unique(const char *(*name)(int), int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (!name(i) || !strcmp(name(i), "UNKNOWN"))
			return 0;
		for (j = 0; j < i; j++)
			if (!strcmp(name(i), name(j)))
				return 0;
	}
	return 1;
}

static const char *state_name_i(int i)
{
	return fsm_state_name((enum fsm_state)i);
}

static const char *event_name_i(int i)
{
	return fsm_event_name((enum fsm_event)i);
}

static const char *reason_name_i(int i)
{
	return fsm_reason_name((enum fsm_reason)i);
}

static void test_names(void)
{
	int i, rt = 1;

	tap_ok(names_unique(state_name_i, FSM_STATE_COUNT), "state names unique");
	tap_ok(names_unique(event_name_i, FSM_EVENT_COUNT), "event names unique");
	tap_ok(names_unique(reason_name_i, FSM_REASON_COUNT),
	       "reason names unique");
	for (i = 0; i < FSM_STATE_COUNT; i++)
		rt &= fsm_state_from_name(fsm_state_name(i)) == i &&
		      strcmp(fsm_state_doc(i), "out of range");
	for (i = 0; i < FSM_EVENT_COUNT; i++)
		rt &= fsm_event_from_name(fsm_event_name(i)) == i &&
		      strcmp(fsm_event_doc(i), "out of range");
	for (i = 0; i < FSM_REASON_COUNT; i++)
		rt &= fsm_reason_from_name(fsm_reason_name(i)) == i &&
		      strcmp(fsm_reason_doc(i), "out of range");
	tap_ok(rt, "names round-trip, every value documented");
	tap_ok(!strcmp(fsm_state_name(FSM_STATE_COUNT), "UNKNOWN") &&
	       fsm_event_from_name("no_such") == -1 &&
	       fsm_state_from_name("attached") == FSM_ATTACHED,
	       "unknown values and case-insensitive lookup");
}

static char *print_to_string(enum fsm_table_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fsm_print_table(f, fmt);
	fclose(f);
	return buf;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_printer(void)
{
	char *md = print_to_string(FSM_TABLE_MARKDOWN);
	char *dot = print_to_string(FSM_TABLE_DOT);
	const char *dir = getenv("JVPN_SRCDIR") ? getenv("JVPN_SRCDIR")
						 : JVPN_SRCDIR;
	char path[4096], line[256];
	size_t i, lines = 0, found = 0;
	char *doc;

	for (i = 0; md && md[i]; i++)
		lines += md[i] == '\n';
	TAP_EQ_INT(lines, N_EXPECTED + 2, "markdown: header + one row per edge");
	for (i = 0; i < N_EXPECTED; i++) {
		snprintf(line, sizeof(line), "\t%s -> %s [label=\"%s\"];",
			 fsm_state_name(expected[i].from),
			 fsm_state_name(expected[i].to),
			 fsm_event_name(expected[i].ev));
		found += dot && strstr(dot, line);
	}
	TAP_EQ_INT(found, N_EXPECTED, "dot: one edge line per transition");
	tap_ok(dot && !strncmp(dot, "digraph", 7), "dot: a digraph");

	snprintf(path, sizeof(path), "%s/docs/fsm.md", dir);
	doc = read_file(path);
	tap_ok(doc && md && strstr(doc, md),
	       "docs/fsm.md embeds the generated table verbatim");
	free(doc);
	free(md);
	free(dot);
}

int main(void)
{
	test_every_pair();
	test_terminated_absorbing();
	test_life_cycle();
	test_reasons();
	test_guards();
	test_names();
	test_printer();
	return tap_done();
}
