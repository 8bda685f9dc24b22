// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Token bucket arithmetic, the bounded LRU map against a reference model,
 * and the per-source limiter's behaviour when its table is full.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "../../daemon/ratelimit.h"

static const uint8_t hkey[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
				  9, 10, 11, 12, 13, 14, 15, 16 };

static void test_burst_and_refill(void)
{
	struct tbucket b;
	int i, taken = 0;

	tbucket_init(&b, 10, 5, 1000);
	for (i = 0; i < 10; i++)
		taken += tbucket_take(&b, 1000);
	TAP_EQ_INT(taken, 5, "a new bucket gives its burst at once");
	TAP_EQ_INT(tbucket_wait_ms(&b, 1000), 100, "10/s: next token in 100 ms");
	tap_ok(!tbucket_take(&b, 1099), "99 ms later: still empty");
	tap_ok(tbucket_take(&b, 1100), "100 ms later: one token");
	tap_ok(!tbucket_take(&b, 1100), "and only one");
	TAP_EQ_INT(tbucket_tokens(&b, 100000), 5, "refill stops at the burst");
	tap_ok(tbucket_is_full(&b, 100000), "idle bucket is full");
}

static void test_fractional_rate(void)
{
	struct tbucket b;

	/* 3/s: a token every 333.33 ms; integer milli-tokens must not lose
	 * the thirds.
	 */
	tbucket_init(&b, 3, 2, 0);
	tap_ok(tbucket_take(&b, 0) && tbucket_take(&b, 0),
	       "3/s: initial burst");
	tap_ok(!tbucket_take(&b, 333), "3/s: 333 ms is not enough (999)");
	tap_ok(tbucket_take(&b, 334), "3/s: 334 ms is (1002)");
	TAP_EQ_INT(b.level, 2, "remainder of 2 milli-tokens kept");
}

static void test_no_drift(void)
{
	struct tbucket b;
	uint64_t t, taken = 0;

	/* Take greedily every ms for an hour: exactly burst + rate * 3600. */
	tbucket_init(&b, 7, 3, 0);
	for (t = 0; t <= 3600ULL * 1000; t++)
		while (tbucket_take(&b, t))
			taken++;
	TAP_EQ_INT(taken, 3 + 7 * 3600, "one hour at 7/s: no drift");

	/* Polled every 997 ms (under 10 tokens accrue, so none overflow
	 * the burst): every credited millisecond must still count.
	 */
	tbucket_init(&b, 7, 10, 0);
	taken = 0;
	for (t = 0; t <= 3600ULL * 1000; t += 997)
		while (tbucket_take(&b, t))
			taken++;
	TAP_EQ_INT(taken, 10 + (3600ULL * 1000 / 997 * 997) * 7 / 1000,
		   "irregular polling: still exact");
}

static void test_edges(void)
{
	struct tbucket b;

	tbucket_init(&b, 5, 2, 10000);
	tbucket_take(&b, 10000);
	tbucket_take(&b, 10000);
	tap_ok(!tbucket_take(&b, 5000), "time going backwards credits nothing");
	TAP_EQ_INT(b.last_ms, 10000, "and does not move the reference back");
	tap_ok(tbucket_take(&b, 10200), "normal refill afterwards");

	tbucket_init(&b, 0, 2, 0);
	tbucket_take(&b, 0);
	tbucket_take(&b, 0);
	tap_ok(!tbucket_take(&b, UINT64_MAX / 2), "rate 0 never refills");
	tap_ok(tbucket_wait_ms(&b, 0) == UINT64_MAX, "rate 0: wait forever");

	tbucket_init(&b, UINT32_MAX, UINT32_MAX, 0);
	tbucket_take(&b, 0);
	TAP_EQ_INT(tbucket_tokens(&b, UINT64_MAX), UINT32_MAX,
		   "max rate, max burst, max idle: no overflow");

	tbucket_init(&b, 1, 0, 0);
	tap_ok(!tbucket_take(&b, 0) && !tbucket_take(&b, 100000),
	       "burst 0 never passes");
}

static uint8_t key4(uint32_t i, uint8_t out[4])
{
	memcpy(out, &i, 4);
	return 4;
}

/* Random operations against a tiny reference model of the map. */
static void test_bmap_model(void)
{
	enum { CAP = 13, UNIVERSE = 40 };
	struct bmap m;
	int64_t model_slot[UNIVERSE];
	uint64_t model_age[UNIVERSE], clock = 0, rnd = 88172645463325252ULL;
	unsigned int step, bad = 0, count = 0;
	uint8_t k[4];

	bmap_init(&m, CAP, hkey);
	memset(model_slot, -1, sizeof(model_slot));
	for (step = 0; step < 200000; step++) {
		uint32_t id, slot, j, oldest = 0;
		bool ev;

		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		id = (uint32_t)(rnd % UNIVERSE);
		key4(id, k);
		slot = bmap_find(&m, k, 4);
		bad += (slot == BMAP_NONE) != (model_slot[id] < 0);
		if (rnd % 7 == 0 && slot != BMAP_NONE) {
			bmap_remove(&m, slot);
			model_slot[id] = -1;
			count--;
		} else if (slot != BMAP_NONE) {
			bmap_touch(&m, slot);
			model_age[id] = ++clock;
		} else {
			for (j = 0; count == CAP && j < UNIVERSE; j++)
				if (model_slot[j] >= 0 &&
				    (model_slot[oldest] < 0 ||
				     model_age[j] < model_age[oldest]))
					oldest = j;
			slot = bmap_insert(&m, k, 4, true, &ev);
			bad += ev != (count == CAP);
			if (ev) {
				bad += model_slot[oldest] < 0;
				model_slot[oldest] = -1;
				count--;
			}
			model_slot[id] = slot;
			model_age[id] = ++clock;
			count++;
		}
		bad += m.count != count;
	}
	TAP_EQ_INT(bad, 0, "bmap agrees with an LRU model over 200000 ops");
	bmap_destroy(&m);
}

static void test_bmap_limits(void)
{
	uint8_t big[BMAP_KEY_MAX + 1] = { 0 };
	struct bmap m;
	bool ev;

	tap_ok(bmap_init(&m, 0, hkey) != 0, "capacity 0 refused");
	tap_ok(bmap_init(&m, 2, hkey) == 0, "capacity 2");
	tap_ok(bmap_insert(&m, big, sizeof(big), true, &ev) == BMAP_NONE &&
	       bmap_insert(&m, big, 0, true, &ev) == BMAP_NONE,
	       "key of 0 or > BMAP_KEY_MAX bytes refused");
	bmap_insert(&m, "a", 1, false, &ev);
	bmap_insert(&m, "b", 1, false, &ev);
	tap_ok(bmap_insert(&m, "c", 1, false, &ev) == BMAP_NONE && !ev &&
	       m.count == 2, "full and no eviction: refused");
	bmap_destroy(&m);

	tap_ok(jvpn_siphash(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
			    "", 0) == 0x726fdb47dd0e0e31ULL,
	       "SipHash-2-4 reference vector (empty input)");
	{
		uint8_t in[15];
		int i;

		for (i = 0; i < 15; i++)
			in[i] = (uint8_t)i;
		tap_ok(jvpn_siphash(0x0706050403020100ULL,
				    0x0f0e0d0c0b0a0908ULL, in, 15) ==
		       0xa129ca6149be45e5ULL,
		       "SipHash-2-4 reference vector (15 bytes)");
	}
}

static void test_table_evict(void)
{
	struct rl_table t;
	uint8_t k[4];
	uint32_t i;
	int fresh = 0;

	rl_table_init(&t, 4, 1, 2, RL_FULL_EVICT_OLDEST, hkey);
	for (i = 0; i < 4; i++) {
		key4(i, k);
		rl_table_check(&t, k, 4, 0);
	}
	key4(0, k);
	TAP_EQ_INT(rl_table_check(&t, k, 4, 10), RL_PASS, "source 0: 2nd of burst 2");
	TAP_EQ_INT(rl_table_check(&t, k, 4, 10), RL_LIMITED,
		   "source 0: 3rd limited");
	TAP_EQ_INT(rl_table_count(&t), 4, "table full");

	key4(100, k);
	TAP_EQ_INT(rl_table_check(&t, k, 4, 20), RL_PASS,
		   "new source admitted into a full table");
	TAP_EQ_INT(t.stats.evictions, 1, "one eviction counted");
	TAP_EQ_INT(t.stats.evictions_lossy, 1,
		   "evicted state was not yet full: lossy eviction counted");
	key4(1, k);
	tap_ok(bmap_find(&t.map, k, 4) == BMAP_NONE,
	       "the least recently seen source (1) was evicted");
	key4(0, k);
	tap_ok(bmap_find(&t.map, k, 4) != BMAP_NONE,
	       "the recently seen source (0) was kept");
	TAP_EQ_INT(rl_table_check(&t, k, 4, 20), RL_LIMITED,
		   "and keeps its empty bucket");

	for (i = 200; i < 204; i++) {
		key4(i, k);
		fresh += rl_table_check(&t, k, 4, 100000) == RL_PASS;
	}
	TAP_EQ_INT(fresh, 4, "churn through the table stays bounded");
	TAP_EQ_INT(rl_table_count(&t), 4, "never more than capacity");
	TAP_EQ_INT(t.stats.evictions_lossy, 1,
		   "evicting idle (full) buckets is not lossy");
	TAP_EQ_INT(rl_table_check(&t, k, 0, 0), RL_INVALID, "empty key refused");
	rl_table_destroy(&t);
}

static void test_table_refuse(void)
{
	struct rl_table t;
	uint8_t k[4];
	uint32_t i;

	rl_table_init(&t, 3, 1, 1, RL_FULL_REFUSE, hkey);
	for (i = 0; i < 3; i++) {
		key4(i, k);
		rl_table_check(&t, k, 4, 0);
	}
	key4(9, k);
	TAP_EQ_INT(rl_table_check(&t, k, 4, 0), RL_TABLE_FULL,
		   "refuse mode: new source refused");
	TAP_EQ_INT(t.stats.refused_full, 1, "refusal counted");
	key4(2, k);
	TAP_EQ_INT(rl_table_check(&t, k, 4, 1000), RL_PASS,
		   "known sources keep working");
	TAP_EQ_INT(t.stats.evictions, 0, "no evictions in refuse mode");
	tap_ok(!strcmp(rl_verdict_name(RL_TABLE_FULL), "table_full"),
	       "verdict names");
	rl_table_destroy(&t);
}

static void test_table_ipv6_keys(void)
{
	struct rl_table t;
	uint8_t a[18] = { 0 }, b[18] = { 0 };
	int i, pass = 0;

	rl_table_init(&t, 64, 1, 3, RL_FULL_EVICT_OLDEST, hkey);
	a[0] = 10;
	b[0] = 10;
	b[17] = 1;		/* same address, different port */
	for (i = 0; i < 5; i++)
		pass += rl_table_check(&t, a, sizeof(a), 0) == RL_PASS;
	TAP_EQ_INT(pass, 3, "18-byte key: burst 3");
	TAP_EQ_INT(rl_table_check(&t, b, sizeof(b), 0), RL_PASS,
		   "a key differing in the last byte is another source");
	rl_table_destroy(&t);
}

int main(void)
{
	test_burst_and_refill();
	test_fractional_rate();
	test_no_drift();
	test_edges();
	test_bmap_model();
	test_bmap_limits();
	test_table_evict();
	test_table_refuse();
	test_table_ipv6_keys();
	return tap_done();
}
