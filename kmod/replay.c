// SPDX-License-Identifier: GPL-2.0-only
/*
 * jvpn anti-replay window: see replay.h.
 *
 * Counter c occupies ring position p = c + 1, so that top == 0 can mean
 * "nothing received yet" and counter 0 is an ordinary first packet.
 * Position p lives in word (p / BITS_PER_LONG) % JVPN_REPLAY_WORDS, bit
 * p % BITS_PER_LONG.  The word holding top and the JVPN_REPLAY_WORDS - 1
 * words before it are valid; JVPN_REPLAY_USABLE keeps every position
 * accepted as "old" inside them.
 */
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/string.h>

#include "replay.h"

#define JVPN_REPLAY_WORD_SHIFT	ilog2(BITS_PER_LONG)

void jvpn_replay_init(struct jvpn_replay *r)
{
	BUILD_BUG_ON(!is_power_of_2(JVPN_REPLAY_WORDS));
	BUILD_BUG_ON(JVPN_REPLAY_WINDOW_BITS % BITS_PER_LONG);
	BUILD_BUG_ON(JVPN_REPLAY_WORDS < 2);

	memset(r, 0, sizeof(*r));
}

bool jvpn_replay_check(struct jvpn_replay *r, u64 counter)
{
	u64 pos, word, top_word, n, i;
	unsigned long *w;

	if (unlikely(counter >= JVPN_COUNTER_REJECT))
		return false;

	/* Cannot overflow: counter < JVPN_COUNTER_REJECT < U64_MAX - USABLE. */
	pos = counter + 1;
	if (unlikely(pos + JVPN_REPLAY_USABLE <= r->top))
		return false;			/* older than the window */

	word = pos >> JVPN_REPLAY_WORD_SHIFT;
	if (pos > r->top) {
		/*
		 * Moving forward: clear every word strictly after the one
		 * holding the old top, up to and including the new one.  A
		 * jump of a whole ring or more clears each word once.
		 */
		top_word = r->top >> JVPN_REPLAY_WORD_SHIFT;
		n = min_t(u64, word - top_word, JVPN_REPLAY_WORDS);
		for (i = 1; i <= n; i++)
			r->bits[(top_word + i) & (JVPN_REPLAY_WORDS - 1)] = 0;
		WRITE_ONCE(r->top, pos);
	}

	w = &r->bits[word & (JVPN_REPLAY_WORDS - 1)];
	return !__test_and_set_bit(pos & (BITS_PER_LONG - 1), w);
}
