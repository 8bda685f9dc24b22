// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: the reattach server under load, through ra_server_handle() on
 * a fixture of N sessions (cplane_fixture.c).
 *
 *   "reattach": full valid exchanges REQ -> CHALLENGE -> RESP -> commit,
 *     one per session per pass in random order, timed in batches; then
 *     the cheap refusals (unknown session, bad MAC, replayed counter).
 *   "storm": legitimate reattaches arriving at a fixed rate while forged
 *     REQs arrive ratio times as often, in simulated time, with jvpnd's
 *     default limits; each legitimate one is timed on its own.
 *
 * The client side (building REQs and RESPs, checking CHALLENGEs) is an
 * oracle that reads the session's key and counters from the server's
 * session; it is never timed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "bytes.h"
#include "cplane.h"

#define BATCH		256
/* Offered load of the rate measurements, simulated: messages per ms. */
#define MSGS_PER_MS	100
/* Past SwitchCooldownMs and the MaxSwitchesPerMinute window (60 s), and
 * every bucket full again: the next phase starts from a rested server. */
#define REST_MS		61000
/* A client that got no answer tries again this much later (its answer
 * timeout is 200..2000 ms, backoff 50..1000 ms; ReattachRate is 2/s). */
#define RETRY_MS	500

static struct {
	uint8_t req[BATCH][RA_REQ_LEN];
	uint8_t resp[BATCH][RA_RESP_LEN];
	struct ra_path from[BATCH];
	struct ra_output out[BATCH];
	struct session *s[BATCH];
	int ret[BATCH];
} B;

/* ---- messages ------------------------------------------------------------ */

/* key NULL: a forger's MAC (random). */
static void build_req(uint8_t m[RA_REQ_LEN], uint32_t sid, uint64_t epoch,
		      uint64_t counter, uint64_t ts, const uint8_t *key)
{
	memset(m, 0, RA_REQ_LEN);
	m[RA_REQ_OFF_TYPE] = JVPN_MSG_REATTACH_REQ;
	put_be32(m + RA_REQ_OFF_SESSION, sid);
	put_be64(m + RA_REQ_OFF_COUNTER, counter);
	put_be64(m + RA_REQ_OFF_TIMESTAMP, ts);
	put_be64(m + RA_REQ_OFF_VERSION, epoch);
	m[RA_REQ_OFF_REASON] = RA_REASON_PATH_LOST;
	if (key) {
		ra_mac(m + RA_REQ_OFF_MAC, key, m, RA_REQ_OFF_MAC);
		return;
	}
	put_be64(m + RA_REQ_OFF_MAC, cp_rand());
	put_be64(m + RA_REQ_OFF_MAC + 8, cp_rand());
}

/* The client's next REQ: fresh counter, the epoch it learnt. */
static void legit_req(const struct cp_fixture *f, const struct session *s,
		      uint8_t m[RA_REQ_LEN])
{
	build_req(m, s->local_id, s->ra.epoch, s->ra.last_counter + 1,
		  f->clk.mono_ms, s->reattach_key);
}

/* Checks the CHALLENGE as the client does, then answers it. */
static bool answer(const struct session *s, const struct ra_output *chal,
		   uint8_t m[RA_RESP_LEN])
{
	uint8_t mac[RA_MAC_LEN];

	if (chal->len != RA_CHAL_LEN || chal->committed ||
	    chal->msg[RA_CHAL_OFF_TYPE] != JVPN_MSG_REATTACH_CHALLENGE ||
	    get_be32(chal->msg + RA_CHAL_OFF_SESSION) != s->peer_id)
		return false;
	ra_mac(mac, s->reattach_key, chal->msg, RA_CHAL_OFF_MAC);
	if (sodium_memcmp(mac, chal->msg + RA_CHAL_OFF_MAC, RA_MAC_LEN))
		return false;
	memset(m, 0, RA_RESP_LEN);
	m[RA_RESP_OFF_TYPE] = JVPN_MSG_REATTACH_RESP;
	put_be32(m + RA_RESP_OFF_SESSION, s->local_id);
	memcpy(m + RA_RESP_OFF_COUNTER, chal->msg + RA_CHAL_OFF_COUNTER, 8);
	memcpy(m + RA_RESP_OFF_CHALLENGE, chal->msg + RA_CHAL_OFF_CHALLENGE,
	       RA_CHALLENGE_LEN);
	ra_mac(m + RA_RESP_OFF_MAC, s->reattach_key, m, RA_RESP_OFF_MAC);
	return true;
}

/* The confirmation says committed, and the session is ATTACHED on to. */
static bool confirmed(const struct session *s, const struct ra_output *out,
		      const struct ra_path *to)
{
	return out->committed && out->len == RA_CHAL_LEN &&
	       (out->msg[RA_CHAL_OFF_FLAGS] & RA_CHAL_F_COMMITTED) &&
	       ra_path_equal(&out->to, to) &&
	       ra_path_equal(&s->ra.active, to) &&
	       s->fsm.state == FSM_ATTACHED;
}

static void forger_path(struct ra_path *p)
{
	uint8_t ip[4] = { 203, 0, 113, (uint8_t)cp_rand() };

	memset(p, 0, sizeof(*p));
	p->socket_id = 1;
	hs_source_set(&p->remote, ip, 4, (uint16_t)(1024 + cp_below(60000)));
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Simulated time: MSGS_PER_MS messages per millisecond. */
static void sim_msgs(struct cp_fixture *f, uint64_t *acc, uint32_t n)
{
	*acc += n;
	f->clk.mono_ms += *acc / MSGS_PER_MS;
	*acc %= MSGS_PER_MS;
}

/* ---- valid exchanges ----------------------------------------------------- */

struct xstats {
	uint64_t n, ok, ns_req, ns_resp, cpu_req, cpu_resp;
	uint64_t *batch_ns;		/* ns per exchange of each batch */
	size_t n_batch;
	int first_err;
};

/* The timed loop: nothing but the server's handling of B.req[0..n). */
static void handle_reqs(struct cp_fixture *f, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		B.ret[i] = ra_server_handle(&f->srv, B.req[i], RA_REQ_LEN,
					    &B.from[i], &f->clk, &B.out[i]);
}

static void note_err(struct xstats *x, int err)
{
	if (!x->first_err)
		x->first_err = err ? err : RA_E_CHALLENGE;
}

static void exchange_batch(struct cp_fixture *f, const uint32_t *idx,
			   unsigned int n, struct xstats *x)
{
	uint64_t t0, t1, t2, c0, c1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		B.s[i] = cp_session(f, idx[i]);
		legit_req(f, B.s[i], B.req[i]);
		cp_other_path(B.s[i], &B.from[i]);
	}
	c0 = cp_cpu_ns();
	t0 = cp_now_ns();
	handle_reqs(f, n);
	t1 = cp_now_ns();
	c1 = cp_cpu_ns();
	for (i = 0; i < n; i++) {
		if (B.ret[i] || answer(B.s[i], &B.out[i], B.resp[i]))
			continue;
		B.ret[i] = RA_E_CHALLENGE;	/* bad CHALLENGE: no RESP */
	}
	x->cpu_req += c1 - c0;
	c0 = cp_cpu_ns();
	t2 = cp_now_ns();
	for (i = 0; i < n; i++)
		if (!B.ret[i])
			B.ret[i] = ra_server_handle(&f->srv, B.resp[i],
						    RA_RESP_LEN, &B.from[i],
						    &f->clk, &B.out[i]);
	t2 = cp_now_ns() - t2;
	x->cpu_resp += cp_cpu_ns() - c0;
	x->ns_resp += t2;
	x->ns_req += t1 - t0;
	/* Batch means: their median shrugs off a preempted batch. */
	x->batch_ns[x->n_batch++] = (t1 - t0 + t2) / n;
	for (i = 0; i < n; i++) {
		x->n++;
		if (!B.ret[i] && confirmed(B.s[i], &B.out[i], &B.from[i]))
			x->ok++;
		else
			note_err(x, B.ret[i]);
	}
}

static void exchanges(struct cp_fixture *f, const struct cp_opts *o,
		      const uint32_t *perm)
{
	uint32_t n = f->st.n, k, m, pass;
	uint64_t acc = 0, commits = f->commits;
	struct xstats x = { 0 };
	double per, cpu;

	x.batch_ns = calloc((size_t)(n / BATCH + 1) * o->passes + 1,
			    sizeof(uint64_t));
	if (!cp_check(x.batch_ns != NULL, "reattach: out of memory"))
		return;
	for (pass = 0; pass < o->passes; pass++) {
		f->clk.mono_ms += REST_MS;
		for (k = 0; k < n; k += m) {
			m = n - k < BATCH ? n - k : BATCH;
			exchange_batch(f, perm + k, m, &x);
			sim_msgs(f, &acc, m);
			cp_tick(f);
		}
	}
	cp_check(x.ok == x.n, "reattach: %llu of %llu valid exchanges not "
		 "committed (first error: %s)",
		 (unsigned long long)(x.n - x.ok), (unsigned long long)x.n,
		 ra_errname(x.first_err));
	cp_check(f->commits - commits == x.ok,
		 "reattach: %llu commit callbacks for %llu confirmations",
		 (unsigned long long)(f->commits - commits),
		 (unsigned long long)x.ok);
	per = x.n ? (double)(x.ns_req + x.ns_resp) / (double)x.n : 0;
	j_u64("exchanges", x.n);
	j_u64("committed", x.ok);
	j_u64("passes", o->passes);
	j_num("req_ns", x.n ? (double)x.ns_req / (double)x.n : 0);
	j_num("resp_ns", x.n ? (double)x.ns_resp / (double)x.n : 0);
	j_num("exchange_ns", per);
	j_num("exchanges_per_s", per > 0 ? 1e9 / per : 0);
	j_num("exchange_ns_batch_p50",
	      (double)cp_pctl(x.batch_ns, x.n_batch, 50));
	cpu = (double)(x.cpu_req + x.cpu_resp);
	j_num("req_cpu_ns", x.n ? (double)x.cpu_req / (double)x.n : 0);
	j_num("resp_cpu_ns", x.n ? (double)x.cpu_resp / (double)x.n : 0);
	j_num("exchange_cpu_ns", x.n ? cpu / (double)x.n : 0);
	j_num("exchanges_per_cpu_s", cpu > 0 ? 1e9 * (double)x.n / cpu : 0);
	free(x.batch_ns);
}

/* ---- cheap refusals ------------------------------------------------------ */

enum rkind { R_UNKNOWN, R_BAD_MAC, R_REPLAY };

static const struct {
	const char *name;
	int expect;
} rkinds[] = {
	[R_UNKNOWN] = { "unknown_session", RA_E_UNKNOWN_SESSION },
	[R_BAD_MAC] = { "bad_mac", RA_E_MAC },
	[R_REPLAY] = { "replay", RA_E_REPLAY },
};

static void refusal_msg(struct cp_fixture *f, enum rkind kind, uint32_t idx,
			unsigned int i)
{
	struct session *s = cp_session(f, idx);

	if (kind == R_UNKNOWN) {
		build_req(B.req[i], cp_unknown_id(f), RA_EPOCH_INITIAL,
			  cp_rand() >> 1, f->clk.mono_ms, NULL);
		forger_path(&B.from[i]);
		return;
	}
	/* An on-path forger knows the id, the counter and the epoch. */
	if (kind == R_BAD_MAC)
		build_req(B.req[i], s->local_id, s->ra.epoch,
			  s->ra.last_counter + 1, f->clk.mono_ms, NULL);
	else
		build_req(B.req[i], s->local_id, s->ra.epoch,
			  s->ra.last_counter, f->clk.mono_ms, s->reattach_key);
	cp_other_path(s, &B.from[i]);
}

static void refusals(struct cp_fixture *f, const struct cp_opts *o,
		     enum rkind kind, const uint32_t *perm)
{
	uint64_t acc = 0, ns = 0, wrong = 0, t0, dt, accepted = 0;
	uint32_t k, m, i, n = f->st.n;
	/* Batches end at BATCH messages and at every round's end. */
	uint64_t *batch_ns = calloc(o->refusals / BATCH + o->refusals / n + 2,
				    sizeof(uint64_t));
	size_t n_batch = 0;
	int first = 0;

	if (!cp_check(batch_ns != NULL, "refusals: out of memory"))
		return;
	f->clk.mono_ms += REST_MS;
	for (k = 0; k < o->refusals; k += m) {
		/* A batch within one round of N; rounds REST_MS apart, so
		 * the per-session limiter never refuses (one REQ a round).
		 */
		m = min3(o->refusals - k, BATCH, n - k % n);
		if (k && k % n == 0)
			f->clk.mono_ms += REST_MS;
		for (i = 0; i < m; i++)
			refusal_msg(f, kind, perm[(k + i) % n], i);
		t0 = cp_now_ns();
		handle_reqs(f, m);
		dt = cp_now_ns() - t0;
		ns += dt;
		batch_ns[n_batch++] = dt / m;
		for (i = 0; i < m; i++) {
			accepted += B.ret[i] == RA_OK;
			if (B.ret[i] != rkinds[kind].expect && !wrong++)
				first = B.ret[i];
		}
		sim_msgs(f, &acc, m);
		cp_tick(f);
	}
	cp_check(!accepted, "refusals %s: %llu forged or replayed REQs "
		 "accepted", rkinds[kind].name, (unsigned long long)accepted);
	cp_check(!wrong, "refusals %s: %llu of %u refused with another "
		 "code (first: %s)", rkinds[kind].name,
		 (unsigned long long)wrong, o->refusals, ra_errname(first));
	j_obj(NULL);
	j_str("kind", rkinds[kind].name);
	j_str("expect", ra_errname(rkinds[kind].expect));
	j_u64("n", o->refusals);
	j_num("ns", o->refusals ? (double)ns / o->refusals : 0);
	j_num("per_s", ns ? 1e9 * o->refusals / (double)ns : 0);
	j_num("ns_batch_p50", (double)cp_pctl(batch_ns, n_batch, 50));
	j_u64("wrong_code", wrong);
	j_end();
	free(batch_ns);
}

/*
 * GlobalReattachRate/Burst at their maximum (1,000,000): this measures
 * the server's cost, not the limiter.  The per-session limiter keeps its
 * default; every session sees one REQ per pass, passes REST_MS apart.
 */
void cp_bench_reattach(struct cp_fixture *f, const struct cp_opts *o)
{
	uint32_t *perm = cp_permutation(f->st.n);
	unsigned int k;

	if (!cp_check(perm != NULL, "reattach: out of memory"))
		return;
	f->pol.global_reattach_rate = 1000000;
	f->pol.global_reattach_burst = 1000000;
	cp_check(!cp_server_start(f), "reattach: server restart failed");
	j_obj("reattach");
	j_u64("sessions", f->st.n);
	j_u64("global_reattach_rate", f->pol.global_reattach_rate);
	j_u64("global_reattach_burst", f->pol.global_reattach_burst);
	j_u64("reattach_rate", f->pol.reattach_rate);
	j_u64("reattach_burst", f->pol.reattach_burst);
	j_u64("offered_per_s_simulated", MSGS_PER_MS * 1000);
	j_u64("batch", BATCH);
	exchanges(f, o, perm);
	j_arr("refusals");
	for (k = 0; k < sizeof(rkinds) / sizeof(rkinds[0]); k++)
		refusals(f, o, (enum rkind)k, perm);
	j_end();
	j_end();
	free(perm);
}

/* ---- storm --------------------------------------------------------------- */

struct legit {
	uint32_t idx;			/* table index of its session */
	uint64_t first_ms;		/* its first REQ */
	uint32_t attempts;
};

struct storm {
	const char *name;
	unsigned int unknown_pct;	/* forged naming no session */
	/* Results. */
	struct legit *lg;
	uint32_t n_legit, arrived;
	uint32_t *queue;		/* retries, FIFO (constant delay) */
	uint64_t *due;
	uint32_t q_head, q_len;
	uint32_t *slots;		/* this millisecond's messages */
	uint64_t completed, first_try, gave_up, attempts;
	uint64_t refused[RA_ERR_COUNT];
	uint64_t *lat, *recov;		/* per completed legit one */
	uint64_t forged, forged_accepted, forged_ns;
	uint64_t *flat;			/* forged processing times */
	size_t n_flat, cap_flat;
};

#define FORGED	UINT32_MAX

static void q_push(struct storm *st, uint32_t j, uint64_t due)
{
	uint32_t at = (st->q_head + st->q_len) % st->n_legit;

	st->queue[at] = j;
	st->due[at] = due;
	st->q_len++;
}

static void forged_one(struct cp_fixture *f, struct storm *st)
{
	struct ra_output out;
	struct ra_path from;
	uint8_t m[RA_REQ_LEN];
	uint64_t t0, dt;
	int ret;

	if (cp_below(100) < st->unknown_pct) {
		build_req(m, cp_unknown_id(f), RA_EPOCH_INITIAL,
			  cp_rand() >> 1, f->clk.mono_ms, NULL);
	} else {
		struct session *s = cp_session(f, cp_below(f->st.n));

		build_req(m, s->local_id, s->ra.epoch,
			  s->ra.last_counter + 1, f->clk.mono_ms, NULL);
	}
	forger_path(&from);
	t0 = cp_now_ns();
	ret = ra_server_handle(&f->srv, m, sizeof(m), &from, &f->clk, &out);
	dt = cp_now_ns() - t0;
	st->forged++;
	st->forged_ns += dt;
	st->forged_accepted += ret == RA_OK;
	if (st->n_flat < st->cap_flat)
		st->flat[st->n_flat++] = dt;
}

/* One attempt: REQ, and RESP if challenged; timed without the client. */
static void legit_one(struct cp_fixture *f, struct storm *st, uint32_t j,
		      uint32_t window_ms)
{
	struct legit *l = &st->lg[j];
	struct session *s = cp_session(f, l->idx);
	uint8_t req[RA_REQ_LEN], resp[RA_RESP_LEN];
	struct ra_output out;
	struct ra_path to;
	uint64_t t0, dt;
	int ret;

	legit_req(f, s, req);
	cp_other_path(s, &to);
	l->attempts++;
	st->attempts++;
	t0 = cp_now_ns();
	ret = ra_server_handle(&f->srv, req, sizeof(req), &to, &f->clk, &out);
	dt = cp_now_ns() - t0;
	if (!ret && !answer(s, &out, resp))
		ret = RA_E_CHALLENGE;
	if (!ret) {
		t0 = cp_now_ns();
		ret = ra_server_handle(&f->srv, resp, sizeof(resp), &to,
				       &f->clk, &out);
		dt += cp_now_ns() - t0;
	}
	if (!ret && confirmed(s, &out, &to)) {
		st->lat[st->completed] = dt;
		st->recov[st->completed++] = f->clk.mono_ms - l->first_ms;
		st->first_try += l->attempts == 1;
		return;
	}
	st->refused[ret ? -ret : -RA_E_CHALLENGE]++;
	if (f->clk.mono_ms + RETRY_MS < l->first_ms + window_ms)
		q_push(st, j, f->clk.mono_ms + RETRY_MS);
	else
		st->gave_up++;
}

/* This millisecond's legitimate messages: new arrivals, then retries. */
static uint32_t due_legit(struct cp_fixture *f, struct storm *st,
			  uint64_t start, uint32_t rate, uint32_t n)
{
	uint64_t now = f->clk.mono_ms;

	while (st->arrived < st->n_legit &&
	       start + (uint64_t)st->arrived * 1000 / rate <= now) {
		st->lg[st->arrived].first_ms = now;
		st->slots[n++] = st->arrived++;
	}
	while (st->q_len && st->due[st->q_head] <= now) {
		st->slots[n++] = st->queue[st->q_head];
		st->q_head = (st->q_head + 1) % st->n_legit;
		st->q_len--;
	}
	return n;
}

/* Forged and legitimate messages of one millisecond, in random order. */
static void storm_ms(struct cp_fixture *f, struct storm *st, uint32_t n,
		     uint32_t window_ms)
{
	uint32_t i, j, t;

	for (i = n; i > 1; i--) {
		j = cp_below(i);
		t = st->slots[i - 1];
		st->slots[i - 1] = st->slots[j];
		st->slots[j] = t;
	}
	for (i = 0; i < n; i++) {
		if (st->slots[i] == FORGED)
			forged_one(f, st);
		else
			legit_one(f, st, st->slots[i], window_ms);
	}
	cp_tick(f);
}

static void storm_run(struct cp_fixture *f, const struct cp_opts *o,
		      struct storm *st)
{
	uint64_t start = f->clk.mono_ms, sent = 0, due, t;
	uint64_t forged_rate = (uint64_t)o->storm_legit_rate * o->storm_ratio;
	uint32_t window = f->pol.max_recovery_window_ms, n;

	for (t = start; st->arrived < st->n_legit || st->q_len; t++) {
		f->clk.mono_ms = t;
		n = due_legit(f, st, start, o->storm_legit_rate, 0);
		/* The flood lasts as long as anyone still tries. */
		due = (t - start + 1) * forged_rate / 1000;
		for (; sent < due; sent++)
			st->slots[n++] = FORGED;
		storm_ms(f, st, n, window);
	}
}

/* per_ms: forged messages per millisecond, rounded up. */
static bool storm_alloc(struct storm *st, uint32_t n_legit, uint64_t per_ms)
{
	st->n_legit = n_legit;
	st->lg = calloc(n_legit, sizeof(*st->lg));
	st->queue = calloc(n_legit, sizeof(*st->queue));
	st->due = calloc(n_legit, sizeof(*st->due));
	st->slots = calloc(2 * (size_t)n_legit + per_ms + 2,
			   sizeof(*st->slots));
	st->lat = calloc(n_legit, sizeof(*st->lat));
	st->recov = calloc(n_legit, sizeof(*st->recov));
	st->cap_flat = 2000000;
	st->flat = calloc(st->cap_flat, sizeof(*st->flat));
	return st->lg && st->queue && st->due && st->slots && st->lat &&
	       st->recov && st->flat;
}

static void storm_free(struct storm *st)
{
	free(st->lg);
	free(st->queue);
	free(st->due);
	free(st->slots);
	free(st->lat);
	free(st->recov);
	free(st->flat);
}

/* SECURITY_EVENT lines the sink got since offset `from`. */
static uint64_t security_lines(int fd, off_t from)
{
	static const char pat[] = "\"type\":\"SECURITY_EVENT\"";
	off_t end = lseek(fd, 0, SEEK_END);
	size_t len = end > from ? (size_t)(end - from) : 0;
	char *buf = malloc(len + 1), *p;
	uint64_t n = 0;

	if (!buf || pread(fd, buf, len, from) != (ssize_t)len) {
		free(buf);
		return UINT64_MAX;
	}
	buf[len] = '\0';
	for (p = buf; (p = memmem(p, len - (size_t)(p - buf), pat,
				 sizeof(pat) - 1)); p++)
		n++;
	free(buf);
	return n;
}

static void drain_audit(struct cp_fixture *f)
{
	unsigned int i;

	for (i = 0; i < 1000 && audit_pending(&f->audit); i++)
		cp_audit_flush(f);
}

static void json_pctl(const char *key, uint64_t *v, size_t n, double p)
{
	j_num(key, n ? (double)cp_pctl(v, n, p) : NAN);
}

static void storm_audit(struct cp_fixture *f, struct storm *st, int fd,
			off_t off, uint64_t sim_ms, uint64_t dropped0)
{
	const struct ra_server_stats *rs = ra_server_get_stats(&f->srv);
	uint64_t refused = 0, sec, bound, dropped;
	unsigned int k;

	drain_audit(f);
	sec = security_lines(fd, off);
	dropped = audit_get_stats(&f->audit)->dropped - dropped0;
	for (k = 0; k < RA_ERR_COUNT; k++)
		if (k != (unsigned int)-RA_E_AMPLIFICATION)
			refused += rs->refused[k];
	bound = RA_AUDIT_BURST_DEFAULT +
		(RA_AUDIT_RATE_DEFAULT * sim_ms + 999) / 1000;
	cp_check(sec <= bound, "storm %s: %llu SECURITY_EVENT records, "
		 "bound %llu", st->name, (unsigned long long)sec,
		 (unsigned long long)bound);
	cp_check(dropped || sec + rs->audit_suppressed == refused,
		 "storm %s: %llu refusals but %llu audited + %llu suppressed",
		 st->name, (unsigned long long)refused,
		 (unsigned long long)sec,
		 (unsigned long long)rs->audit_suppressed);
	j_obj("audit");
	j_u64("security_events", sec);
	j_u64("security_events_bound", bound);
	j_u64("suppressed", rs->audit_suppressed);
	j_u64("refusals", refused);
	j_u64("dropped", dropped);
	j_end();
}

static void storm_limiter_json(struct cp_fixture *f)
{
	const struct ra_server_stats *rs = ra_server_get_stats(&f->srv);
	static const int codes[] = { RA_E_RATE_GLOBAL, RA_E_RATE_SESSION,
				     RA_E_MAC, RA_E_UNKNOWN_SESSION,
				     RA_E_POLICY, RA_E_PENDING_FULL };
	unsigned int k;

	j_obj("server_refused");
	for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
		j_u64(ra_errname(codes[k]), rs->refused[-codes[k]]);
	j_end();
	j_u64("commits", rs->commits);
}

static void storm_json(struct cp_fixture *f, const struct cp_opts *o,
		       struct storm *st, uint64_t sim_ms)
{
	unsigned int k;

	j_str("kind", st->name);
	j_u64("unknown_id_percent", st->unknown_pct);
	j_u64("ratio", o->storm_ratio);
	j_u64("legit_per_s", o->storm_legit_rate);
	j_u64("forged_per_s", (uint64_t)o->storm_legit_rate * o->storm_ratio);
	j_u64("arrival_window_ms", o->storm_ms);
	j_u64("sim_ms", sim_ms);
	j_u64("retry_ms", RETRY_MS);
	j_u64("recovery_window_ms", f->pol.max_recovery_window_ms);
	j_u64("legit", st->n_legit);
	j_u64("completed", st->completed);
	j_num("completion", st->n_legit ? (double)st->completed / st->n_legit
					: NAN);
	j_u64("first_attempt", st->first_try);
	j_num("first_attempt_rate", st->n_legit ?
	      (double)st->first_try / st->n_legit : NAN);
	j_u64("gave_up", st->gave_up);
	j_u64("attempts", st->attempts);
	j_obj("legit_refused");
	for (k = 1; k < RA_ERR_COUNT; k++)
		if (st->refused[k])
			j_u64(ra_errname(-(int)k), st->refused[k]);
	j_end();
	json_pctl("legit_ns_p50", st->lat, st->completed, 50);
	json_pctl("legit_ns_p99", st->lat, st->completed, 99);
	json_pctl("recovery_ms_p50", st->recov, st->completed, 50);
	json_pctl("recovery_ms_p99", st->recov, st->completed, 99);
	j_u64("forged", st->forged);
	j_u64("forged_accepted", st->forged_accepted);
	j_num("forged_ns_mean", st->forged ?
	      (double)st->forged_ns / st->forged : NAN);
	json_pctl("forged_ns_p50", st->flat, st->n_flat, 50);
	json_pctl("forged_ns_p99", st->flat, st->n_flat, 99);
	storm_limiter_json(f);
}

static void storm_one(struct cp_fixture *f, const struct cp_opts *o,
		      struct storm *st, const uint32_t *perm, uint32_t off,
		      int fd)
{
	uint64_t n_legit = (uint64_t)o->storm_legit_rate * o->storm_ms / 1000;
	uint64_t per_ms = ((uint64_t)o->storm_legit_rate * o->storm_ratio +
			   999) / 1000;
	uint64_t start, dropped0;
	off_t audit_off;
	uint32_t j;

	if (n_legit > f->st.n)
		n_legit = f->st.n;
	if (!cp_check(storm_alloc(st, (uint32_t)n_legit, per_ms),
		      "storm: out of memory"))
		return;
	for (j = 0; j < st->n_legit; j++)
		st->lg[j].idx = perm[(off + j) % f->st.n];
	f->clk.mono_ms += REST_MS;
	cp_check(!cp_server_start(f), "storm: server restart failed");
	drain_audit(f);
	audit_off = lseek(fd, 0, SEEK_END);
	dropped0 = audit_get_stats(&f->audit)->dropped;
	start = f->clk.mono_ms;
	storm_run(f, o, st);
	cp_check(!st->forged_accepted, "storm %s: %llu forged REQs accepted",
		 st->name, (unsigned long long)st->forged_accepted);
	cp_check(st->completed + st->gave_up == st->n_legit,
		 "storm %s: %u legitimate reattaches, %llu completed, %llu "
		 "gave up", st->name, st->n_legit,
		 (unsigned long long)st->completed,
		 (unsigned long long)st->gave_up);
	cp_check(!ra_server_pending_count(&f->srv),
		 "storm %s: %u validations left pending", st->name,
		 ra_server_pending_count(&f->srv));
	/* Unknown ids touch no limiter: nothing may stop a valid REQ. */
	if (st->unknown_pct == 100)
		cp_check(st->first_try == st->n_legit,
			 "storm %s: %llu of %u valid reattaches refused",
			 st->name,
			 (unsigned long long)(st->n_legit - st->first_try),
			 st->n_legit);
	j_obj(NULL);
	storm_json(f, o, st, f->clk.mono_ms - start + 1);
	storm_audit(f, st, fd, audit_off, f->clk.mono_ms - start + 1,
		    dropped0);
	j_end();
	storm_free(st);
}

/*
 * jvpnd's default policy (GlobalReattachRate 1000/s burst 2000,
 * ReattachRate 2/s burst 4, SECURITY_EVENTs 20/s burst 40).  The audit
 * sink is a memfd so that the SECURITY_EVENT lines can be counted.
 */
void cp_bench_storm(struct cp_fixture *f, const struct cp_opts *o)
{
	struct storm storms[] = {
		{ .name = "unknown_ids", .unknown_pct = 100 },
		{ .name = "mixed", .unknown_pct = 50 },
		{ .name = "known_ids_bad_mac", .unknown_pct = 0 },
	};
	uint32_t *perm = cp_permutation(f->st.n), n_legit, k;
	uint32_t max_sessions = f->pol.max_sessions;
	int fd = memfd_create("cplane-audit", MFD_CLOEXEC);

	if (!cp_check(perm && fd >= 0, "storm: set-up failed"))
		goto out;
	policy_defaults(&f->pol);
	f->pol.max_sessions = max_sessions;
	drain_audit(f);
	audit_set_sink(&f->audit, fd);
	n_legit = (uint32_t)((uint64_t)o->storm_legit_rate * o->storm_ms /
			     1000);
	j_arr("storm");
	for (k = 0; k < sizeof(storms) / sizeof(storms[0]); k++)
		storm_one(f, o, &storms[k], perm, k * n_legit, fd);
	j_end();
	drain_audit(f);
	audit_set_sink(&f->audit, f->audit_fd);
out:
	if (fd >= 0)
		close(fd);
	free(perm);
}
