/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jvpn anti-replay window (RFC 6479 style).
 *
 * The window is a ring of JVPN_REPLAY_WINDOW_BITS bits kept as unsigned
 * long words.  When a counter beyond the highest one seen arrives, the
 * words it skips over are cleared a whole word at a time, so every check
 * is O(1) whatever the size of the jump.
 *
 * Usable window: JVPN_REPLAY_USABLE counters, i.e. the ring size minus one
 * word (2048 - 64 = 1984 on 64-bit, 2048 - 32 = 2016 on 32-bit), as in
 * RFC 6479.  With H the highest counter accepted so far, the counters
 * H - JVPN_REPLAY_USABLE + 1 .. H are remembered individually; anything
 * older is refused as too old, anything newer is accepted and moves H.
 *
 * No locking inside: the caller serialises calls for one window (the
 * session's RX spinlock).  Call jvpn_replay_check() only once the packet
 * has been authenticated, or forged packets could move the window.
 */
#ifndef _JVPN_REPLAY_H
#define _JVPN_REPLAY_H

#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/types.h>
#include <uapi/linux/jvpn.h>

#define JVPN_REPLAY_WORDS	(JVPN_REPLAY_WINDOW_BITS / BITS_PER_LONG)
#define JVPN_REPLAY_USABLE	(JVPN_REPLAY_WINDOW_BITS - BITS_PER_LONG)

struct jvpn_replay {
	/* Highest accepted counter plus one; 0 before the first packet. */
	u64 top;
	/* Bit for counter c: position c + 1 in the ring. */
	unsigned long bits[JVPN_REPLAY_WINDOW_BITS / BITS_PER_LONG];
};

void jvpn_replay_init(struct jvpn_replay *r);

/*
 * Returns true if @counter is fresh (inside the window and not seen
 * before) and marks it seen; false for a duplicate, a counter older than
 * the window, or a counter >= JVPN_COUNTER_REJECT.  Counter 0 is a valid
 * first packet.
 */
bool jvpn_replay_check(struct jvpn_replay *r, u64 counter);

/*
 * Highest accepted counter plus one (0 before the first packet), i.e. the
 * lowest counter that would still move the window.  Safe to read without
 * the lock for statistics on 64-bit; may tear on 32-bit.
 */
static inline u64 jvpn_replay_top(const struct jvpn_replay *r)
{
	return READ_ONCE(r->top);
}

#endif /* _JVPN_REPLAY_H */
