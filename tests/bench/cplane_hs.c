// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: full Noise IKpsk2 handshakes, initiator and responder in one
 * process, through the daemon's message layer (daemon/handshake.c) and
 * the admission jvpnd puts in front of it (proto.c handle_init(): the
 * per-source limiter, then the global HandshakeRate bucket deciding
 * "under load", i.e. whether mac2 / a cookie round trip is demanded).
 *
 *   normal:     jvpnd's default limits, offered below HandshakeRate in
 *               simulated time: mac1 only, never under load.
 *   under_load: HandshakeRate/Burst at their minimum (1): every INIT is
 *               under load; each initiator's first INIT is answered with
 *               a COOKIE, it retries with mac2 and keeps the cookie.
 *
 * The responder's cost per handshake (limiter, both MACs, the Noise read
 * and write, the key schedule) and the initiator's are timed separately,
 * in thread CPU time (each is hundreds of microseconds: the clock's system
 * call is noise, preemption on a shared host would not be); sessions and
 * kernel programming after it are not included.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cplane.h"

#define PEERS		16
/* Simulated spacing of rounds (one INIT per peer per round). */
#define ROUND_MS	200
#define REFUSAL_REPS	20000
#define REFUSAL_BATCH	500

struct hsb {
	struct jvpn_policy pol;
	struct hs_responder r;
	uint8_t r_pub[NOISE_DHLEN];
	struct hs_initiator in[PEERS];
	struct hs_source src[PEERS];
	struct rl_table src_rl;
	struct tbucket global;
	uint64_t now_ms;
	int64_t wall_base_ms;
	/* Results of one mode. */
	uint64_t *resp_ns, *init_ns;
	size_t n;
	uint64_t cookies, under_load;
};

static int hsb_init(struct hsb *b, uint32_t max_n)
{
	uint8_t priv[NOISE_DHLEN], ipriv[NOISE_DHLEN], ipub[NOISE_DHLEN];
	uint8_t key[16], ip[4] = { 198, 18, 0, 0 };
	uint32_t i, idx;

	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(b->r_pub, priv);
	b->now_ms = 1000;
	if (hs_responder_init(&b->r, priv, PEERS, b->now_ms))
		return -EINVAL;
	for (i = 0; i < PEERS; i++) {
		randombytes_buf(ipriv, sizeof(ipriv));
		crypto_scalarmult_base(ipub, ipriv);
		if (hs_responder_add_peer(&b->r, ipub, NULL, &idx) ||
		    hs_initiator_init(&b->in[i], ipriv, b->r_pub, NULL))
			return -EINVAL;
		ip[3] = (uint8_t)(i + 1);
		hs_source_set(&b->src[i], ip, 4, (uint16_t)(40000 + i));
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(ipriv, sizeof(ipriv));
	randombytes_buf(key, sizeof(key));
	if (rl_table_init(&b->src_rl, JVPND_SRC_TABLE, JVPND_SRC_RATE,
			  JVPND_SRC_BURST, RL_FULL_EVICT_OLDEST, key))
		return -ENOMEM;
	tbucket_init(&b->global, b->pol.handshake_rate, b->pol.handshake_burst,
		     b->now_ms);
	b->wall_base_ms = 1780000000000;
	b->resp_ns = calloc(max_n, sizeof(uint64_t));
	b->init_ns = calloc(max_n, sizeof(uint64_t));
	return b->resp_ns && b->init_ns ? 0 : -ENOMEM;
}

static void hsb_destroy(struct hsb *b)
{
	unsigned int i;

	for (i = 0; i < PEERS; i++)
		hs_initiator_destroy(&b->in[i]);
	hs_responder_destroy(&b->r);
	rl_table_destroy(&b->src_rl);
	free(b->resp_ns);
	free(b->init_ns);
}

/* proto.c source_key(): family, port, address. */
static size_t source_key(const struct hs_source *s, uint8_t *key)
{
	key[0] = AF_INET;
	key[1] = (uint8_t)(s->port >> 8);
	key[2] = (uint8_t)s->port;
	memcpy(key + 3, s->addr, 4);
	return 7;
}

/*
 * proto.c handle_init() up to the RESP: limiter, load, INIT checks,
 * RESP and keys.  Returns the hs_err (HS_E_MAC2_NEEDED: cookie written).
 */
static int responder(struct hsb *b, const uint8_t *init,
		     const struct hs_source *src, uint8_t *reply,
		     struct jvpn_session_keys *keys)
{
	struct hs_init_result res;
	uint8_t key[BMAP_KEY_MAX];
	bool under_load;
	int ret;

	if (rl_table_check(&b->src_rl, key, source_key(src, key),
			   b->now_ms) != RL_PASS)
		return HS_E_FULL;	/* stands for "rate limited" */
	under_load = !tbucket_take(&b->global, b->now_ms);
	b->under_load += under_load;
	ret = hs_responder_consume_init(&b->r, init, HS_INIT_LEN, src,
					b->now_ms, under_load, &res);
	if (ret == HS_E_MAC2_NEEDED || ret == HS_E_MAC2_BAD) {
		memcpy(reply, res.cookie_reply, HS_COOKIE_LEN);
		hs_init_result_wipe(&res);
		return ret;
	}
	if (ret) {
		hs_init_result_wipe(&res);
		return ret;
	}
	return hs_responder_write_resp(&res, randombytes_random() | 1, reply,
				       keys);
}

static struct timespec wall_now(const struct hsb *b)
{
	int64_t ms = b->wall_base_ms + (int64_t)b->now_ms;

	return (struct timespec){ .tv_sec = ms / 1000,
				  .tv_nsec = (ms % 1000) * 1000000 };
}

/* One handshake of peer i; false if anything was refused or differs. */
static bool handshake(struct hsb *b, uint32_t i)
{
	uint8_t init[HS_INIT_LEN], reply[HS_RESP_LEN > HS_COOKIE_LEN ?
					 HS_RESP_LEN : HS_COOKIE_LEN];
	struct timespec wall = wall_now(b);
	struct jvpn_session_keys keys;
	struct hs_resp_result rr;
	uint64_t t0, t1, t2, t3, t4;
	int ret;

	t0 = cp_cpu_ns();
	ret = hs_initiator_begin(&b->in[i], randombytes_random() | 1, &wall,
				 b->now_ms, init);
	t1 = cp_cpu_ns();
	if (!ret)
		ret = responder(b, init, &b->src[i], reply, &keys);
	t2 = cp_cpu_ns();
	if (ret == HS_E_MAC2_NEEDED) {
		/* Not timed: the cookie path is measured on its own. */
		b->cookies++;
		if (hs_initiator_consume_cookie(&b->in[i], reply,
						HS_COOKIE_LEN, b->now_ms))
			return false;
		return handshake(b, i);
	}
	t3 = cp_cpu_ns();
	if (!ret)
		ret = hs_initiator_consume_resp(&b->in[i], reply, HS_RESP_LEN,
						&rr);
	t4 = cp_cpu_ns();
	if (ret)
		return false;
	b->resp_ns[b->n] = t2 - t1;
	b->init_ns[b->n++] = (t1 - t0) + (t4 - t3);
	ret = sodium_memcmp(&rr.keys, &keys, sizeof(keys));
	hs_resp_result_wipe(&rr);
	jvpn_kdf_wipe(&keys);
	return ret == 0;
}

static double mean(const uint64_t *v, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (double)v[i];
	return n ? s / (double)n : 0;
}

static void mode_json(struct hsb *b, const char *name, uint32_t want,
		      uint32_t failed)
{
	double r = mean(b->resp_ns, b->n), in = mean(b->init_ns, b->n);

	j_obj(name);
	j_u64("handshakes", b->n);
	j_u64("failed", failed);
	j_u64("handshake_rate", b->pol.handshake_rate);
	j_u64("handshake_burst", b->pol.handshake_burst);
	j_num("offered_per_s_simulated", PEERS * 1000.0 / ROUND_MS);
	j_u64("under_load_inits", b->under_load);
	j_u64("cookies", b->cookies);
	j_num("responder_us_mean", r / 1e3);
	j_num("responder_us_p50", cp_pctl(b->resp_ns, b->n, 50) / 1e3);
	j_num("responder_us_p99", cp_pctl(b->resp_ns, b->n, 99) / 1e3);
	j_num("responder_per_s", r > 0 ? 1e9 / r : 0);
	j_num("initiator_us_mean", in / 1e3);
	j_num("total_us_mean", (r + in) / 1e3);
	j_num("full_per_s", r + in > 0 ? 1e9 / (r + in) : 0);
	j_end();
	cp_check(!failed && b->n == want, "handshake %s: %u of %u failed "
		 "(refused or keys differ)", name, failed, want);
}

static void run_mode(const char *name, uint32_t n, bool loaded)
{
	struct hsb *b = calloc(1, sizeof(*b));
	uint32_t k, failed = 0;

	if (!cp_check(b != NULL, "handshake: out of memory"))
		return;
	policy_defaults(&b->pol);
	if (loaded)
		b->pol.handshake_rate = b->pol.handshake_burst = 1;
	if (cp_check(!hsb_init(b, n), "handshake %s: set-up failed", name)) {
		if (loaded)
			tbucket_take(&b->global, b->now_ms);
		for (k = 0; k < n; k++) {
			if (k && k % PEERS == 0)
				b->now_ms += ROUND_MS;
			failed += !handshake(b, k % PEERS);
		}
		mode_json(b, name, n, failed);
		if (loaded)
			cp_check(b->cookies == (n < PEERS ? n : PEERS),
				 "handshake %s: %llu cookie round trips for "
				 "%u initiators", name,
				 (unsigned long long)b->cookies, PEERS);
		else
			cp_check(!b->under_load && !b->cookies,
				 "handshake %s: under load below the rate",
				 name);
	}
	hsb_destroy(b);
	free(b);
}

/*
 * One INIT handled REFUSAL_REPS times, in batches of REFUSAL_BATCH: ns
 * per INIT of the median batch (a preempted batch does not move it).
 * Returns the INITs not refused with expect.
 */
static uint32_t refusal_run(struct hsb *b, const uint8_t *init,
			    bool under_load, int expect, double *ns)
{
	uint64_t per[REFUSAL_REPS / REFUSAL_BATCH], t0;
	struct hs_init_result res;
	uint32_t k, i, wrong = 0;

	for (k = 0; k < REFUSAL_REPS / REFUSAL_BATCH; k++) {
		t0 = cp_now_ns();
		for (i = 0; i < REFUSAL_BATCH; i++) {
			wrong += hs_responder_consume_init(&b->r, init,
							   HS_INIT_LEN,
							   &b->src[0],
							   b->now_ms,
							   under_load,
							   &res) != expect;
			hs_init_result_wipe(&res);
		}
		per[k] = (cp_now_ns() - t0) / REFUSAL_BATCH;
	}
	*ns = (double)cp_pctl(per, REFUSAL_REPS / REFUSAL_BATCH, 50);
	return wrong;
}

/* The cheap refusals: a COOKIE under load, a bad mac1. */
static void refusal_costs(void)
{
	struct hsb *b = calloc(1, sizeof(*b));
	uint8_t init[HS_INIT_LEN];
	struct timespec wall;
	double cookie = 0, mac1 = 0;
	uint32_t wrong;

	if (b)
		policy_defaults(&b->pol);
	if (!cp_check(b && !hsb_init(b, 1), "handshake refusals: set-up"))
		goto out;
	wall = wall_now(b);
	hs_initiator_begin(&b->in[0], 1, &wall, b->now_ms, init);
	wrong = refusal_run(b, init, true, HS_E_MAC2_NEEDED, &cookie);
	init[HS_INIT_OFF_MAC1] ^= 1;
	wrong += refusal_run(b, init, false, HS_E_MAC1, &mac1);
	cp_check(!wrong, "handshake refusals: %u INITs not refused as "
		 "expected", wrong);
	j_num("cookie_reply_ns", cookie);
	j_num("mac1_refusal_ns", mac1);
out:
	if (b)
		hsb_destroy(b);
	free(b);
}

/*
 * The raw cost of the X25519 operations a handshake needs (libsodium, as
 * daemon/noise.c uses it), for the ratio "handshake / its Diffie-Hellman":
 * each side of Noise_IKpsk2 does one crypto_scalarmult_base (its
 * ephemeral key) and the four DH es, ss, ee, se; the responder has ss
 * precomputed per configured peer (handshake.c), so it does three
 * crypto_scalarmult, the initiator four.  Thread CPU time, median of
 * batches.
 */
#define DH_BATCH	64
#define DH_BATCHES	16

static double dh_cost_us(bool base)
{
	uint8_t sk[crypto_scalarmult_SCALARBYTES], pk[crypto_scalarmult_BYTES];
	uint8_t out[crypto_scalarmult_BYTES];
	uint64_t per[DH_BATCHES], t0;
	unsigned int b, i, bad = 0;

	randombytes_buf(sk, sizeof(sk));
	crypto_scalarmult_base(pk, sk);
	for (b = 0; b < DH_BATCHES; b++) {
		t0 = cp_cpu_ns();
		for (i = 0; i < DH_BATCH; i++) {
			sk[0] ^= (uint8_t)i;	/* not the same input twice */
			if (base)
				bad += crypto_scalarmult_base(out, sk) != 0;
			else
				bad += crypto_scalarmult(out, sk, pk) != 0;
		}
		per[b] = (cp_cpu_ns() - t0) / DH_BATCH;
	}
	cp_check(!bad, "x25519: %u operations failed", bad);
	sodium_memzero(sk, sizeof(sk));
	return (double)cp_pctl(per, DH_BATCHES, 50) / 1000.0;
}

static void dh_costs(void)
{
	double sm = dh_cost_us(false), base = dh_cost_us(true);

	j_num("x25519_scalarmult_us", sm);
	j_num("x25519_base_us", base);
	/* What each side of a handshake needs. */
	j_u64("dh_scalarmult_responder", 3);
	j_u64("dh_scalarmult_initiator", 4);
	j_u64("dh_base_per_side", 1);
	j_num("dh_us_responder", 3 * sm + base);
	j_num("dh_us_initiator", 4 * sm + base);
}

void cp_bench_handshake(const struct cp_opts *o)
{
	j_obj("handshake");
	j_u64("peers", PEERS);
	run_mode("normal", o->handshakes, false);
	run_mode("under_load", o->handshakes / 2 ? o->handshakes / 2 : 1,
		 true);
	refusal_costs();
	dh_costs();
	j_end();
}
