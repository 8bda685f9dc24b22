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

#endif /* _JVPN_STATS_H */
