/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd event loop: one epoll set and one bounded min-heap of monotonic
 * timers.  Everything jvpnd does runs from loop_run() on one thread, so
 * no state needs a lock.  Timers are embedded in their owners (a session,
 * a peer); arming an armed timer moves it.  The heap has a capacity fixed
 * at loop_init(): arming beyond it fails with -ENOSPC instead of growing.
 */
#ifndef JVPND_LOOP_H
#define JVPND_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop_timer *t, void *arg);

struct loop_timer {
	uint64_t when_ms;	/* CLOCK_MONOTONIC deadline */
	uint32_t heap_idx;	/* position + 1 in the heap; 0: not armed */
	loop_timer_fn fn;
	void *arg;
};

/* Registered fd: the loop keeps a pointer to it, the owner keeps it. */
struct loop_fd {
	int fd;
	loop_fd_fn fn;
	void *arg;
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t loop_now_ms(void);

int loop_init(struct loop **lp, uint32_t max_timers);
void loop_destroy(struct loop *l);

/* events: EPOLLIN / EPOLLOUT.  h must stay valid until loop_del_fd. */
int loop_add_fd(struct loop *l, struct loop_fd *h, uint32_t events);
int loop_mod_fd(struct loop *l, struct loop_fd *h, uint32_t events);
void loop_del_fd(struct loop *l, struct loop_fd *h);

void loop_timer_setup(struct loop_timer *t, loop_timer_fn fn, void *arg);
/* Arms (or re-arms) t to fire at when_ms.  -ENOSPC if the heap is full. */
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t when_ms);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_idx != 0;
}

/* Called once per loop iteration after dispatching (audit flush). */
void loop_set_idle(struct loop *l, void (*fn)(void *arg), void *arg);

/* Runs until loop_stop(); returns 0 or a negative errno of epoll_wait. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* For tests: fire due timers at now_ms; returns how many fired. */
unsigned int loop_fire_timers(struct loop *l, uint64_t now_ms);
uint32_t loop_timer_count(const struct loop *l);

#endif /* JVPND_LOOP_H */
