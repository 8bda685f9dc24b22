// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd event loop: epoll plus a binary min-heap of timers.  See loop.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_MAX_EVENTS	64

struct loop {
	int epfd;
	bool stop;
	struct loop_timer **heap;
	uint32_t n, cap;
	void (*idle_fn)(void *arg);
	void *idle_arg;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_init(struct loop **lp, uint32_t max_timers)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->cap = max_timers ? max_timers : 1;
	l->heap = calloc(l->cap, sizeof(*l->heap));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!l->heap || l->epfd < 0) {
		int err = l->heap ? -errno : -ENOMEM;

		loop_destroy(l);
		return err;
	}
	*lp = l;
	return 0;
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->heap);
	free(l);
}

static int ctl(struct loop *l, int op, struct loop_fd *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(l->epfd, op, h->fd, &ev) ? -errno : 0;
}

int loop_add_fd(struct loop *l, struct loop_fd *h, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, h, events);
}

int loop_mod_fd(struct loop *l, struct loop_fd *h, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, h, events);
}

void loop_del_fd(struct loop *l, struct loop_fd *h)
{
	if (h->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

/* ---- timer heap -------------------------------------------------------- */

static void heap_set(struct loop *l, uint32_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i + 1;
}

static void sift_up(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (l->heap[parent]->when_ms <= t->when_ms)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void sift_down(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= l->n)
			break;
		if (c + 1 < l->n && l->heap[c + 1]->when_ms < l->heap[c]->when_ms)
			c++;
		if (t->when_ms <= l->heap[c]->when_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void loop_timer_setup(struct loop_timer *t, loop_timer_fn fn, void *arg)
{
	t->when_ms = 0;
	t->heap_idx = 0;
	t->fn = fn;
	t->arg = arg;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	struct loop_timer *m;
	uint32_t i;

	if (!t->heap_idx)
		return;
	i = t->heap_idx - 1;
	t->heap_idx = 0;
	l->n--;
	if (i == l->n)
		return;
	/* The last entry fills the hole and moves whichever way it must. */
	m = l->heap[l->n];
	heap_set(l, i, m);
	sift_up(l, i);
	sift_down(l, m->heap_idx - 1);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t when_ms)
{
	if (t->heap_idx) {
		loop_timer_cancel(l, t);
	} else if (l->n == l->cap) {
		return -ENOSPC;
	}
	t->when_ms = when_ms;
	l->heap[l->n] = t;
	sift_up(l, l->n++);
	return 0;
}

unsigned int loop_fire_timers(struct loop *l, uint64_t now_ms)
{
	unsigned int fired = 0;

	/* Bounded: a callback that re-arms at "now" runs again next round. */
	while (l->n && l->heap[0]->when_ms <= now_ms && fired < l->cap) {
		struct loop_timer *t = l->heap[0];

		loop_timer_cancel(l, t);
		t->fn(t, t->arg);
		fired++;
	}
	return fired;
}

uint32_t loop_timer_count(const struct loop *l)
{
	return l->n;
}

/* ---- running ----------------------------------------------------------- */

void loop_set_idle(struct loop *l, void (*fn)(void *arg), void *arg)
{
	l->idle_fn = fn;
	l->idle_arg = arg;
}

static int next_timeout(const struct loop *l)
{
	uint64_t now, when;

	if (!l->n)
		return -1;
	now = loop_now_ms();
	when = l->heap[0]->when_ms;
	if (when <= now)
		return 0;
	return when - now > 60000 ? 60000 : (int)(when - now);
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int i, n;

	while (!l->stop) {
		n = epoll_wait(l->epfd, ev, LOOP_MAX_EVENTS, next_timeout(l));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n && !l->stop; i++) {
			struct loop_fd *h = ev[i].data.ptr;

			h->fn(ev[i].events, h->arg);
		}
		loop_fire_timers(l, loop_now_ms());
		if (l->idle_fn)
			l->idle_fn(l->idle_arg);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
