// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: jvpnd's control plane, measured natively on the host.
 *
 *   build/bench/cplane [--smoke] [--sessions N,N,...] [--state-dir DIR]
 *                      [--seed S]
 *
 * Links the daemon's own objects (session table, FSM, policy, rate
 * limiters, audit, ownership store, reattach server, Noise handshake and
 * key schedule; tests/bench/build.mk) and drives them in-process as jvpnd
 * does, without a kernel, sockets or event loop.  Prints ONE JSON object
 * on stdout; progress and violated invariants on stderr.  Exits 1 if an
 * invariant was violated (a valid reattach or handshake refused outside
 * a limiter, a forged message accepted, audit unbounded or blocking,
 * counts that do not add up), 2 on a usage error.  No timing threshold
 * is ever checked: protocol time is simulated (cplane.h), CPU time is
 * only reported.
 *
 * Members of the object.  "cpu_ns": the thread's CPU time (user + system)
 * inside the daemon's calls, per operation, on one core; "ns": wall-clock
 * time, same scope; "*_per_cpu_s" / "*_per_s": 1e9 divided by them.
 *   host        CPUs, model, kernel, compiler, libsodium; clock_ns and
 *               cpu_clock_ns: what one read of each clock costs (included
 *               in the figures that use it)
 *   sizes       sizeof() of every per-session and per-peer structure
 *   scale[]     per N: cpu_ns_per_install, install_per_cpu_s (one
 *               responder session established as sess_create +
 *               sess_establish + roam server_up do, without the kernel),
 *               rss_*_per_session (RSS delta / N: tables sized for
 *               MaxSessions = N, then the installed sessions),
 *               rss_peers_per_peer (the [Peer] side), state_save_ms (one
 *               rewrite of the state file with N sessions, wall clock:
 *               jvpnd does one per established session and per commit)
 *   reattach    at the largest N: valid REQ/CHALLENGE/RESP/commit
 *               exchanges (req_cpu_ns, resp_cpu_ns, exchange_cpu_ns,
 *               exchanges_per_cpu_s; wall: exchange_ns and the median of
 *               the batches) and refusals[] (unknown_session, bad_mac,
 *               replay: ns_batch_p50, the median batch's wall ns each)
 *   storm[]     per forgery kind: legitimate reattaches at legit_per_s
 *               among forged REQs at ratio x that rate, jvpnd's default
 *               limits: completion, first_attempt_rate, recovery_ms_p50/99
 *               (simulated), legit_ns_p50/99 (wall time of the server's
 *               calls for REQ + RESP), forged_ns_*, server_refused (the
 *               limiters' counters), audit (SECURITY_EVENT records vs
 *               their bound, suppressed)
 *   audit_sink  sinks[] fast / slow / stalled pipe: cpu_ns_per_event (emit
 *               + its share of the flush), ns_per_event, chunk_us_max (the
 *               longest loop iteration), voluntary_switches (the writer
 *               slept), emitted, dropped
 *   handshake   normal / under_load, in CPU time: responder_us_* (the
 *               server's cost per handshake), initiator_us_mean,
 *               total_us_mean, responder_per_s, full_per_s; and
 *               cookie_reply_ns, mac1_refusal_ns (wall, median batch);
 *               x25519_scalarmult_us, x25519_base_us, dh_us_responder,
 *               dh_us_initiator (the raw Diffie-Hellman each side of a
 *               handshake needs: 3 + 1 and 4 + 1 operations)
 *   invariants  checked, failed, failures[]
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sodium.h>

#include "cplane.h"
#include "state.h"

static const struct cp_opts full_opts = {
	.scale_n = { 1000, 10000, 100000 },
	.n_scale = 3,
	.passes = 2,
	.refusals = 200000,
	.storm_ms = 10000,
	.storm_legit_rate = 500,
	.storm_ratio = 100,
	.audit_events = 200000,
	.handshakes = 2000,
	.state_reps = 3,
};

static const struct cp_opts smoke_opts = {
	.smoke = true,
	.scale_n = { 100, 1000 },
	.n_scale = 2,
	.passes = 2,
	.refusals = 2000,
	.storm_ms = 1000,
	.storm_legit_rate = 100,
	.storm_ratio = 100,
	.audit_events = 20000,
	.handshakes = 32,
	.state_reps = 1,
};

/* ---- host and sizes ------------------------------------------------------ */

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !p)
			continue;
		snprintf(buf, len, "%s", p + 2);
		buf[strcspn(buf, "\n")] = '\0';
		break;
	}
	if (f)
		fclose(f);
}

/* What one read of the clock costs (it is inside every measurement). */
static double clock_cost_ns(uint64_t (*clk)(void), unsigned int reps)
{
	uint64_t t0 = cp_now_ns();
	unsigned int i;

	for (i = 0; i < reps; i++)
		clk();
	return (double)(cp_now_ns() - t0) / reps;
}

static void host_json(void)
{
	struct utsname u;
	char cpu[128];

	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	j_obj("host");
	j_u64("cpus", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	j_str("cpu", cpu);
	j_str("kernel", u.release);
	j_str("compiler", __VERSION__);
	j_str("libsodium", sodium_version_string());
	j_num("clock_ns", clock_cost_ns(cp_now_ns, 100000));
	j_num("cpu_clock_ns", clock_cost_ns(cp_cpu_ns, 10000));
	j_end();
}

static void sizes_json(void)
{
	j_obj("sizes");
	j_u64("session", sizeof(struct session));
	j_u64("ra_session", sizeof(struct ra_session));
	j_u64("fsm_session", sizeof(struct fsm_session));
	j_u64("policy_counters", sizeof(struct policy_counters));
	j_u64("session_table_slot", sizeof(uint32_t));
	j_u64("store_mem_slot", sizeof(struct store_mem_slot));
	j_u64("ra_pending", sizeof(struct ra_pending));
	j_u64("audit_tl_ring", sizeof(struct audit_tl_ring));
	j_u64("audit_tl_chunk", sizeof(struct audit_tl_chunk));
	j_u64("audit_tl_chunk_entries", AUDIT_TL_CHUNK_K);
	j_u64("ra_standby_block", sizeof(struct ra_standby_block));
	j_u64("session_path", sizeof(struct session_path));
	j_u64("bmap_slot", sizeof(struct bmap_slot));
	j_u64("peer", sizeof(struct peer));
	j_u64("cfg_peer", sizeof(struct cfg_peer));
	j_u64("hs_peer", sizeof(struct hs_peer));
	j_u64("state_record", sizeof(struct state_record));
	j_u64("config_max_peers", CFG_MAX_PEERS);
	j_end();
}

/* ---- session scale ------------------------------------------------------- */


/* lifecycle.c jvpnd_save_state(): every established session, rewritten. */
static int save_state(struct cp_fixture *f, const char *path)
{
	struct state_record *r = calloc(f->st.n ? f->st.n : 1, sizeof(*r));
	struct session *s;
	size_t n = 0;
	uint32_t i;
	int ret;

	if (!r)
		return -ENOMEM;
	for (i = 0; i < f->st.capacity && n < f->st.n; i++) {
		s = session_at(&f->st, i);
		if (s && s->in_kernel && !fsm_is_terminal(s->fsm.state))
			session_state_record(s, &r[n++]);
	}
	ret = state_save(path, r, n);
	sodium_memzero(r, n * sizeof(*r));
	free(r);
	return ret;
}

/*
 * Wall clock includes the fsync()s (a disk's latency); CPU time is the
 * formatting and copying, all a tmpfs (jvpnd's default /run/jvpn on most
 * systems) costs.
 */
static void state_json(struct cp_fixture *f, const struct cp_opts *o)
{
	uint64_t ns[8], cpu[8], t0, c0;
	char path[PATH_MAX];
	unsigned int k, reps = o->state_reps < 8 ? o->state_reps : 8;
	struct stat st = { 0 };
	int ret = 0;

	snprintf(path, sizeof(path), "%s/jvpn0.state", o->state_dir);
	for (k = 0; k < reps && !ret; k++) {
		c0 = cp_cpu_ns();
		t0 = cp_now_ns();
		ret = save_state(f, path);
		ns[k] = cp_now_ns() - t0;
		cpu[k] = cp_cpu_ns() - c0;
	}
	stat(path, &st);
	unlink(path);
	cp_check(!ret, "state file %s: %s", path, strerror(-ret));
	j_num("state_save_ms", reps ? cp_pctl(ns, reps, 50) / 1e6 : NAN);
	j_num("state_save_cpu_ms", reps ? cp_pctl(cpu, reps, 50) / 1e6 : NAN);
	j_u64("state_save_reps", reps);
	j_u64("state_file_bytes", (uint64_t)st.st_size);
}

struct rss4 {
	uint64_t start, peers, tables, sessions;
};

static int install_all(struct cp_fixture *f, uint32_t n, uint64_t *ns,
		       uint64_t *cpu)
{
	uint64_t t0 = cp_now_ns(), c0 = cp_cpu_ns();
	uint32_t i, bad = 0;

	for (i = 0; i < n; i++) {
		bad += cp_install(f, i) != 0;
		if (i % CP_FLUSH_EVERY == CP_FLUSH_EVERY - 1)
			cp_audit_flush(f);
	}
	cp_audit_flush(f);
	*cpu = cp_cpu_ns() - c0;
	*ns = cp_now_ns() - t0;
	cp_check(!bad && f->st.n == n, "scale %u: %u installs failed", n, bad);
	cp_check(policy_may_add_session(&f->pol, f->st.n).verdict ==
		 POLICY_DENY, "scale %u: MaxSessions does not refuse N + 1", n);
	return bad ? -ENOSPC : 0;
}

static void scale_json(uint32_t n, uint64_t ns, uint64_t cpu,
		       const struct rss4 *r, struct cp_fixture *f)
{
	double dn = n;

	j_u64("n", n);
	j_num("install_s", ns / 1e9);
	j_num("install_per_s", ns ? 1e9 * dn / (double)ns : 0);
	j_num("ns_per_install", (double)ns / dn);
	j_num("cpu_ns_per_install", (double)cpu / dn);
	j_num("install_per_cpu_s", cpu ? 1e9 * dn / (double)cpu : 0);
	j_num("rss_peers_per_peer", (double)(r->peers - r->start) / dn);
	j_num("rss_tables_per_session", (double)(r->tables - r->peers) / dn);
	j_num("rss_install_per_session",
	      (double)(r->sessions - r->tables) / dn);
	j_num("rss_per_session", (double)(r->sessions - r->peers) / dn);
	j_u64("hs_peers", f->hs_peers);
	j_num("hs_peers_add_ms", f->hs_add_ns / 1e6);
	j_u64("audit_records", audit_get_stats(&f->audit)->emitted);
	j_u64("store_records", store_mem_count(&f->store));
}

static int scale_step(const struct cp_opts *o, uint32_t n,
		      struct cp_fixture *f)
{
	struct rss4 r;
	uint64_t ns = 0, cpu = 0;
	int ret;

	*f = (struct cp_fixture){ .audit_fd = -1 };
	policy_defaults(&f->pol);
	f->clk.mono_ms = 1000;
	r.start = cp_rss_bytes();
	ret = cp_peers_init(f, n);
	r.peers = cp_rss_bytes();
	if (!ret)
		ret = cp_tables_init(f, n);
	r.tables = cp_rss_bytes();
	if (!cp_check(!ret, "scale %u: set-up: %s", n, strerror(-ret)))
		return ret;
	ret = install_all(f, n, &ns, &cpu);
	r.sessions = cp_rss_bytes();
	j_obj(NULL);
	scale_json(n, ns, cpu, &r, f);
	state_json(f, o);
	j_end();
	return ret;
}

int cp_bench_scale(const struct cp_opts *o, struct cp_fixture *keep)
{
	struct cp_fixture tmp;
	unsigned int k;
	int ret = 0;

	j_arr("scale");
	for (k = 0; k < o->n_scale && !ret; k++) {
		struct cp_fixture *f = k + 1 == o->n_scale ? keep : &tmp;

		cp_progress("scale N=%u", o->scale_n[k]);
		ret = scale_step(o, o->scale_n[k], f);
		if (f == &tmp || ret)
			cp_fixture_destroy(f);
	}
	j_end();
	return ret;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_sessions(const char *arg, struct cp_opts *o)
{
	char *end;
	unsigned long v;

	o->n_scale = 0;
	while (*arg && o->n_scale < CP_MAX_SCALE) {
		v = strtoul(arg, &end, 10);
		if (end == arg || v < 2 || v > AUDIT_TIMELINE_MAX ||
		    (o->n_scale && v <= o->scale_n[o->n_scale - 1]))
			return -EINVAL;
		o->scale_n[o->n_scale++] = (uint32_t)v;
		arg = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return o->n_scale && !*arg ? 0 : -EINVAL;
}

static void usage(void)
{
	fprintf(stderr, "usage: cplane [--smoke] [--sessions N,N,...] "
		"[--state-dir DIR] [--seed S]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct cp_opts *o,
		       const char **sessions)
{
	int i;

	*o = full_opts;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--smoke"))
			*o = smoke_opts;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			continue;
		if (!strcmp(argv[i], "--sessions") && i + 1 < argc)
			*sessions = argv[++i];
		else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			o->state_dir = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			cp_seed(strtoull(argv[++i], NULL, 0));
		else
			usage();
	}
}

static void run(const struct cp_opts *o)
{
	static struct cp_fixture f;
	uint64_t t0 = cp_now_ns();

	if (!cp_bench_scale(o, &f)) {
		cp_progress("reattach at N=%u", f.st.n);
		cp_bench_reattach(&f, o);
		cp_progress("storms");
		cp_bench_storm(&f, o);
		cp_fixture_destroy(&f);
	}
	cp_progress("audit sinks");
	cp_bench_audit(o);
	cp_progress("handshakes");
	cp_bench_handshake(o);
	j_obj("invariants");
	j_u64("checked", cp_checks());
	j_u64("failed", cp_failures());
	cp_failures_json();
	j_end();
	j_num("seconds", (cp_now_ns() - t0) / 1e9);
}

/* statfs() magic numbers of the likely homes of a state file. */
static const char *fs_name(const char *dir)
{
	static const struct { unsigned long magic; const char *name; } fs[] = {
		{ 0x01021994, "tmpfs" }, { 0xef53, "ext2/3/4" },
		{ 0x58465342, "xfs" }, { 0x9123683e, "btrfs" },
		{ 0x794c7630, "overlay" }, { 0x6a656a63, "virtiofs" },
	};
	struct statfs sf;
	unsigned int i;

	if (statfs(dir, &sf))
		return "unknown";
	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)sf.f_type == fs[i].magic)
			return fs[i].name;
	return "other";
}

/* Where jvpnd keeps it by default (RUN_DIR, /run/jvpn), else /tmp. */
static const char *state_dir(char *buf, size_t len)
{
	snprintf(buf, len, "/run/cplane-state.XXXXXX");
	if (mkdtemp(buf))
		return buf;
	snprintf(buf, len, "/tmp/cplane-state.XXXXXX");
	return mkdtemp(buf);
}

int main(int argc, char **argv)
{
	char tmpl[64];
	const char *sessions = NULL;
	struct cp_opts o;
	bool own_dir = false;

	parse_args(argc, argv, &o, &sessions);
	if (sessions && parse_sessions(sessions, &o))
		usage();
	if (sodium_init() < 0)
		return 1;
	if (!o.state_dir) {
		o.state_dir = state_dir(tmpl, sizeof(tmpl));
		own_dir = o.state_dir != NULL;
		if (!o.state_dir)
			o.state_dir = "/tmp";
	}
	j_obj(NULL);
	j_str("tool", "cplane");
	j_u64("format", 1);
	j_bool("smoke", o.smoke);
	j_str("state_dir", o.state_dir);
	j_str("state_fs", fs_name(o.state_dir));
	host_json();
	sizes_json();
	run(&o);
	j_end();
	if (own_dir)
		rmdir(o.state_dir);
	fflush(stdout);
	cp_progress("%u invariants checked, %u violated",
		cp_checks(), cp_failures());
	return cp_failures() ? 1 : 0;
}
