// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for kmod/replay.c (suite jvpn_replay).
 */
#include <kunit/test.h>
#include <linux/bitops.h>
#include <linux/limits.h>
#include <linux/string.h>

#include "replay.h"

#define W		JVPN_REPLAY_USABLE
#define REJECT		JVPN_COUNTER_REJECT

static struct jvpn_replay *new_window(struct kunit *test)
{
	struct jvpn_replay *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r);
	memset(r, 0xa5, sizeof(*r));	/* init must clear everything */
	jvpn_replay_init(r);
	return r;
}

/* Accepts [from, to] in order; every one must be fresh. */
static void accept_range(struct kunit *test, struct jvpn_replay *r,
			 u64 from, u64 to)
{
	u64 c;

	for (c = from; c <= to; c++)
		KUNIT_ASSERT_TRUE_MSG(test, jvpn_replay_check(r, c),
				      "counter %llu refused", c);
}

static unsigned int window_popcount(const struct jvpn_replay *r)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(r->bits); i++)
		n += hweight_long(r->bits[i]);
	return n;
}

static void replay_test_usable_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, JVPN_REPLAY_WINDOW_BITS, 2048);
	KUNIT_EXPECT_EQ(test, W, JVPN_REPLAY_WINDOW_BITS - BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, ARRAY_SIZE(((struct jvpn_replay *)NULL)->bits),
			(size_t)JVPN_REPLAY_WORDS);
}

static void replay_test_first_zero(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);

	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 0ULL);
	KUNIT_EXPECT_EQ(test, window_popcount(r), 0U);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 1ULL);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 1));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 1));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 2ULL);
}

static void replay_test_first_nonzero(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);

	/* A first packet far from zero; the gap below it is fresh. */
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 5000));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 5000 - W + 1));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 5000 - W));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 0));
}

static void replay_test_in_order(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 c;

	accept_range(test, r, 0, 9999);
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 10000ULL);
	for (c = 0; c < 10000; c++)
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, c),
				       "counter %llu accepted twice", c);
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 10000ULL);
}

static void replay_test_out_of_order(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 h = 5000, c;

	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
	/* Everything still inside the window, newest first. */
	for (c = h - 1; c > h - W; c--)
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r, c),
				      "counter %llu refused", c);
	for (c = h; c > h - W; c--)
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, c),
				       "counter %llu accepted twice", c);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h - W));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 3000));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), h + 1);
	KUNIT_EXPECT_EQ(test, window_popcount(r), (unsigned int)W);
}

static void replay_test_duplicates_shuffled(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 base = 100000, h = base + W - 1;
	u32 i, off;

	/* Highest first, then a permutation of the rest of the window. */
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
	for (i = 0; i < W - 1; i++) {
		/* 997 is coprime with W: a full permutation of 0..W-2. */
		off = (i * 997) % (W - 1);
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r, base + off),
				      "offset %u refused", off);
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, base + off),
				       "offset %u accepted twice", off);
	}
	for (i = 0; i < W; i++)
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, base + i));
	KUNIT_EXPECT_EQ(test, window_popcount(r), (unsigned int)W);
}

/*
 * Edges at every alignment of the highest counter within a word: with H
 * the highest accepted, H - W + 1 is the oldest acceptable counter and
 * H - W is refused, even when older counters sharing its word were seen.
 */
static void replay_test_window_edges(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 h;

	for (h = 10000; h < 10000 + 2 * BITS_PER_LONG; h++) {
		jvpn_replay_init(r);
		accept_range(test, r, h - W - 100, h - W - 1);
		KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, h - W),
				       "h=%llu: one too old accepted", h);
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r, h - W + 1),
				      "h=%llu: oldest acceptable refused", h);
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h - W + 1));
		KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h - 1));
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h));
		/* Moving by one moves the lower edge by one. */
		KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h + 1));
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h - W + 1));
		KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h - W + 2));
	}
}

/*
 * A jump of k words clears exactly the k ring words after the one that
 * held the old top (all of them when k >= the ring size) and leaves the
 * others alone.
 */
static void replay_test_jump_clears_words(struct kunit *test)
{
	static const unsigned int jumps[] = { 0, 1, 2, 3, 17, 31, 32, 33, 100 };
	struct jvpn_replay *r = new_window(test);
	unsigned long before[JVPN_REPLAY_WORDS];
	unsigned int j, i, cleared, idx;
	u64 top, pos, c;

	for (j = 0; j < ARRAY_SIZE(jumps); j++) {
		jvpn_replay_init(r);
		/* Fill two whole rings so that every word is all ones. */
		accept_range(test, r, 0, 2 * JVPN_REPLAY_WINDOW_BITS + 37);
		memcpy(before, r->bits, sizeof(before));
		top = jvpn_replay_top(r);
		/* New counter in the word jumps[j] words after top's word. */
		pos = ((top / BITS_PER_LONG) + jumps[j]) * BITS_PER_LONG + 5;
		if (pos <= top)
			pos = top + 1;
		c = pos - 1;
		KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, c));
		KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), pos);

		cleared = min_t(unsigned int, jumps[j], JVPN_REPLAY_WORDS);
		for (i = 0; i < JVPN_REPLAY_WORDS; i++) {
			unsigned long want = before[i];

			/* distance of ring word i after top's word */
			idx = (i - top / BITS_PER_LONG) % JVPN_REPLAY_WORDS;
			if (idx == 0)
				idx = JVPN_REPLAY_WORDS;
			if (idx <= cleared)
				want = 0;
			if (i == (pos / BITS_PER_LONG) % JVPN_REPLAY_WORDS)
				want |= BIT(pos % BITS_PER_LONG);
			KUNIT_EXPECT_EQ_MSG(test, r->bits[i], want,
					    "jump %u words: ring word %u",
					    jumps[j], i);
		}
	}
}

static void replay_test_far_jump(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 c, h;

	accept_range(test, r, 0, 199);
	/* Three words ahead: the old counters are still in the window. */
	h = 200 + 3 * BITS_PER_LONG;
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
	KUNIT_EXPECT_EQ(test, window_popcount(r), 201U);
	for (c = 0; c < 200; c++)
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, c));
	accept_range(test, r, 200, h - 1);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h));
	KUNIT_EXPECT_EQ(test, window_popcount(r), (unsigned int)(h + 1));
}

static void replay_test_jump_beyond_window(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 c, h = 1000000;

	accept_range(test, r, 0, 99);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
	KUNIT_EXPECT_EQ(test, window_popcount(r), 1U);
	for (c = 0; c < 100; c++)
		KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, c));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h - W));
	/* Stale bits of the old ring never show through. */
	for (c = h - W + 1; c < h; c++)
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r, c),
				      "counter %llu refused", c);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h));
}

/* Counters a whole ring apart share a bit: the jump must clear it. */
static void replay_test_ring_alias(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 k;

	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 5));
	for (k = 1; k <= 4; k++)
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r,
				5 + k * JVPN_REPLAY_WINDOW_BITS),
				"alias %llu refused", k);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 5));

	/* A jump of exactly the usable window drops the old highest. */
	jvpn_replay_init(r);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, W));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 1));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 1));
}

static void replay_test_reject_limit(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);

	KUNIT_EXPECT_EQ(test, REJECT, U64_MAX - 8192);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, REJECT));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, REJECT + 1));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, U64_MAX));
	/* Refusals leave the window alone. */
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 0ULL);
	KUNIT_EXPECT_EQ(test, window_popcount(r), 0U);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 0));

	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, REJECT - 1));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), REJECT);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, REJECT - 1));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, REJECT));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, U64_MAX));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), REJECT);
}

static void replay_test_near_2_64(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);
	u64 h = REJECT - 1, c;

	/* The last usable counter, with a history below the window. */
	accept_range(test, r, REJECT - 3000, REJECT - 2001);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h));
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, h - W));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, h - W + 1));
	for (c = h - 1; c > h - W + 1; c--)
		KUNIT_EXPECT_TRUE_MSG(test, jvpn_replay_check(r, c),
				      "counter %llu refused", c);
	for (c = REJECT - 3000; c <= h; c++)
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, c),
				       "counter %llu accepted twice", c);
	for (c = REJECT; c != 0; c++)
		KUNIT_EXPECT_FALSE_MSG(test, jvpn_replay_check(r, c),
				       "counter %llu above the limit", c);
	KUNIT_EXPECT_FALSE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), REJECT);
}

static void replay_test_init_resets(struct kunit *test)
{
	struct jvpn_replay *r = new_window(test);

	accept_range(test, r, 0, 3000);
	jvpn_replay_init(r);
	KUNIT_EXPECT_EQ(test, jvpn_replay_top(r), 0ULL);
	KUNIT_EXPECT_EQ(test, window_popcount(r), 0U);
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 0));
	KUNIT_EXPECT_TRUE(test, jvpn_replay_check(r, 3000));
}

static struct kunit_case jvpn_replay_cases[] = {
	KUNIT_CASE(replay_test_usable_size),
	KUNIT_CASE(replay_test_first_zero),
	KUNIT_CASE(replay_test_first_nonzero),
	KUNIT_CASE(replay_test_in_order),
	KUNIT_CASE(replay_test_out_of_order),
	KUNIT_CASE(replay_test_duplicates_shuffled),
	KUNIT_CASE(replay_test_window_edges),
	KUNIT_CASE(replay_test_jump_clears_words),
	KUNIT_CASE(replay_test_far_jump),
	KUNIT_CASE(replay_test_jump_beyond_window),
	KUNIT_CASE(replay_test_ring_alias),
	KUNIT_CASE(replay_test_reject_limit),
	KUNIT_CASE(replay_test_near_2_64),
	KUNIT_CASE(replay_test_init_resets),
	{}
};

static struct kunit_suite jvpn_replay_suite = {
	.name = "jvpn_replay",
	.test_cases = jvpn_replay_cases,
};
kunit_test_suite(jvpn_replay_suite);

MODULE_LICENSE("GPL");
