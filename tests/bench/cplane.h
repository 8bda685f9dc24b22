/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * tests/bench/cplane: jvpnd's control plane measured natively on the host,
 * without a kernel: the daemon's own objects (session table, FSM, policy,
 * rate limiters, audit, ownership store, reattach server, Noise handshake)
 * driven in-process exactly as jvpnd drives them.  See cplane.c for the
 * output format and what each number means.
 *
 * Protocol time is SIMULATED (a millisecond counter the harness advances):
 * every limiter, TTL and cooldown sees a defined offered load whatever the
 * speed of the machine, so the correctness checks are reproducible and
 * never depend on timing.  CPU cost is measured with CLOCK_MONOTONIC
 * around the daemon's calls only (message building is not timed).
 */
#ifndef JVPN_BENCH_CPLANE_H
#define JVPN_BENCH_CPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jvpnd.h"

#define CP_MAX_SCALE	4

struct cp_opts {
	bool smoke;
	uint32_t scale_n[CP_MAX_SCALE];	/* session counts, ascending */
	unsigned int n_scale;		/* the last one is kept */
	uint32_t passes;		/* valid exchanges: rounds of N */
	uint32_t refusals;		/* messages per cheap-refusal kind */
	uint32_t storm_ms;		/* arrival window, simulated */
	uint32_t storm_legit_rate;	/* legitimate reattaches per second */
	uint32_t storm_ratio;		/* forged per legitimate */
	uint32_t audit_events;		/* records per audit sink */
	uint32_t handshakes;		/* full handshakes, normal mode */
	uint32_t state_reps;		/* state-file rewrites per N */
	const char *state_dir;		/* where the state file goes */
};

/* ---- JSON on stdout (cplane_util.c) -------------------------------------- */

void j_obj(const char *key);		/* key NULL inside an array */
void j_arr(const char *key);
void j_end(void);			/* closes the innermost */
void j_u64(const char *key, uint64_t v);
void j_num(const char *key, double v);	/* NaN/inf become null */
void j_str(const char *key, const char *s);
void j_bool(const char *key, bool v);

/* ---- invariants ---------------------------------------------------------- */

/* Records a violated invariant (message on stderr); returns ok. */
bool cp_check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
unsigned int cp_checks(void);
unsigned int cp_failures(void);
void cp_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The failures as a JSON array "failures" (messages, at most 32). */
void cp_failures_json(void);

/* ---- measuring ----------------------------------------------------------- */

uint64_t cp_now_ns(void);
/*
 * This thread's CPU time (user + system): immune to the preemption a
 * shared host inflicts on wall time, but a system call (microseconds on
 * some VMs), so only read around whole batches.
 */
uint64_t cp_cpu_ns(void);
/* Resident set size from /proc/self/statm. */
uint64_t cp_rss_bytes(void);
/* Nearest-rank percentile of v[0..n) (sorts v). */
uint64_t cp_pctl(uint64_t *v, size_t n, double p);
/* Deterministic PRNG (splitmix64): same seed, same run. */
void cp_seed(uint64_t s);
uint64_t cp_rand(void);
uint32_t cp_below(uint32_t n);
/* A random permutation of 0..n-1 (malloc'd). */
uint32_t *cp_permutation(uint32_t n);

/* ---- the responder jvpnd holds N sessions of (cplane_fixture.c) ---------- */

/* Single-node ownership, as daemon/roam.c sets it up (values copied). */
#define CP_NODE_ID		1
#define CP_OWNER_TTL_MS		(UINT32_MAX / 2)
/* daemon/main.c's audit ring (AUDIT_RING). */
#define CP_AUDIT_RING		(1u << 20)
/* Messages per loop iteration (proto.c PROTO_RX_BUDGET): audit flushes. */
#define CP_FLUSH_EVERY		64

struct cp_fixture {
	struct jvpn_policy pol;
	uint32_t n;			/* MaxSessions */
	/* Peer side: what [Peer] sections cost (config, peers, handshake). */
	struct cfg_peer *cfg;
	struct peer *peers;
	struct hs_responder resp;
	uint32_t hs_peers;		/* added to resp */
	uint64_t hs_add_ns;		/* the time that took */
	/* Session side: jvpnd's tables, sized for MaxSessions. */
	struct session_table st;
	struct store_mem store;
	struct ra_server srv;
	bool srv_up;
	struct audit audit;
	int audit_fd;
	/* Protocol clock: simulated monotonic ms, real wall label. */
	struct audit_clock clk;
	uint64_t next_expire_ms;	/* roam.c's expire timer */
	uint64_t commits;		/* the commit callback's record */
	struct ra_commit last_commit;
};

/* Peer side for n peers (config entry, struct peer, handshake table). */
int cp_peers_init(struct cp_fixture *f, uint32_t n);
/* Session tables for MaxSessions n, audit to /dev/null; 0 or -errno. */
int cp_tables_init(struct cp_fixture *f, uint32_t n);
/* (Re)start the reattach server with f->pol as it is now. */
int cp_server_start(struct cp_fixture *f);
/* Establish the responder session of peer i as jvpnd does. */
int cp_install(struct cp_fixture *f, uint32_t i);
void cp_fixture_destroy(struct cp_fixture *f);
void cp_audit_flush(struct cp_fixture *f);
/* One loop iteration's housekeeping: audit flush, expire timer. */
void cp_tick(struct cp_fixture *f);
/* The session at table index i (NULL if unused). */
struct session *cp_session(struct cp_fixture *f, uint32_t i);
/* A random id that names no session. */
uint32_t cp_unknown_id(struct cp_fixture *f);
/* The client paths of table index i: A is the handshake's, B the other. */
void cp_path(struct ra_path *p, uint32_t i, bool b);

/* The client path the session is not on now. */
void cp_other_path(const struct session *s, struct ra_path *p);

/* ---- the measurements (one JSON member each) ----------------------------- */

/* Returns the fixture of the last (largest) step, installed. */
int cp_bench_scale(const struct cp_opts *o, struct cp_fixture *keep);
void cp_bench_reattach(struct cp_fixture *f, const struct cp_opts *o);
void cp_bench_storm(struct cp_fixture *f, const struct cp_opts *o);
void cp_bench_audit(const struct cp_opts *o);
void cp_bench_handshake(const struct cp_opts *o);

#endif /* JVPN_BENCH_CPLANE_H */
