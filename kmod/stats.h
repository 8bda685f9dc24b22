/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counters for devices and sessions, indexed by enum jvpn_stat so that the
 * netlink dump is one loop.  Atomic: sessions are independent, so a session
 * counter is only contended by packets of that session.
 */
#ifndef _JVPN_STATS_H
#define _JVPN_STATS_H

#include <linux/atomic.h>
#include <uapi/linux/jvpn.h>

struct jvpn_stats {
	atomic64_t c[__JVPN_STAT_MAX];
};

static inline void jvpn_stat_inc(struct jvpn_stats *s, enum jvpn_stat i)
{
	atomic64_inc(&s->c[i]);
}

static inline void jvpn_stat_add(struct jvpn_stats *s, enum jvpn_stat i,
				 u64 v)
{
	atomic64_add(v, &s->c[i]);
}

static inline u64 jvpn_stat_read(const struct jvpn_stats *s, enum jvpn_stat i)
{
	return atomic64_read(&s->c[i]);
}

/*
 * A session counts only what can happen to a session: not the device-only
 * counters (RX_MALFORMED, RX_NO_SESSION, TX_NO_SESSION, EVENTS_SENT,
 * EVENTS_DROPPED, LIMIT_REFUSED), which read as 0 for a session.  15
 * counters instead of 23 keep struct jvpn_session small.
 */
#define JVPN_SESSION_STATS	15

struct jvpn_session_stats {
	atomic64_t c[JVPN_SESSION_STATS];
};

/* Index in jvpn_session_stats.c, or -1 for a device-only counter.  Folds
 * to a constant when @i is one.
 */
static inline int jvpn_session_stat_idx(enum jvpn_stat i)
{
	if (i >= JVPN_STAT_RX_PACKETS && i <= JVPN_STAT_RX_AUTH_FAIL)
		return i - JVPN_STAT_RX_PACKETS;
	if (i >= JVPN_STAT_RX_NO_KEY && i <= JVPN_STAT_RX_INNER_MISMATCH)
		return i - JVPN_STAT_RX_NO_KEY + 6;
	if (i >= JVPN_STAT_TX_NO_PATH && i <= JVPN_STAT_PATH_SWITCHES)
		return i - JVPN_STAT_TX_NO_PATH + 9;
	return -1;
}

static inline void jvpn_sstat_add(struct jvpn_session_stats *s,
				  enum jvpn_stat i, u64 v)
{
	int k = jvpn_session_stat_idx(i);

	if (likely(k >= 0))
		atomic64_add(v, &s->c[k]);
}

static inline void jvpn_sstat_inc(struct jvpn_session_stats *s,
				  enum jvpn_stat i)
{
	int k = jvpn_session_stat_idx(i);

	if (likely(k >= 0))
		atomic64_inc(&s->c[k]);
}

static inline u64 jvpn_sstat_read(const struct jvpn_session_stats *s,
				  enum jvpn_stat i)
{
	int k = jvpn_session_stat_idx(i);

	return k >= 0 ? atomic64_read(&s->c[k]) : 0;
}

#endif /* _JVPN_STATS_H */
