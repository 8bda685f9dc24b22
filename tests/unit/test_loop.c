// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* jvpnd timer heap: order, re-arm, cancel, bound. */
#include <errno.h>
#include <stdlib.h>

#include "loop.h"
#include "tap.h"

#define N 200

static int fired[N], order[N], n_order;

static void fire(struct loop_timer *t, void *arg)
{
	int i = (int)(long)arg;

	(void)t;
	fired[i]++;
	order[n_order++] = i;
}

int main(void)
{
	struct loop_timer t[N], extra;
	struct loop *l;
	int i, moved, sorted = 1, once = 1;
	unsigned int seed = 1;

	tap_ok(!loop_init(&l, N), "loop_init");
	for (i = 0; i < N; i++) {
		loop_timer_setup(&t[i], fire, (void *)(long)i);
		seed = seed * 1103515245 + 12345;
		loop_timer_arm(l, &t[i], 1000 + (seed >> 16) % 5000);
	}
	loop_timer_setup(&extra, fire, NULL);
	TAP_EQ_INT(loop_timer_arm(l, &extra, 1), -ENOSPC, "heap bound");
	for (i = 0; i < N; i += 3)		/* move some */
		loop_timer_arm(l, &t[i], 500 + i);
	for (i = 1; i < N; i += 7)		/* cancel some */
		loop_timer_cancel(l, &t[i]);
	for (i = 0, moved = 0; i < N; i += 3)
		moved += i % 7 != 1;
	TAP_EQ_INT(loop_fire_timers(l, 999), moved,
		   "re-armed timers fire first");
	loop_fire_timers(l, 100000);
	for (i = 1; i < n_order; i++)
		if (t[order[i]].when_ms < t[order[i - 1]].when_ms)
			sorted = 0;
	for (i = 0; i < N; i++)
		once &= fired[i] == (i % 7 == 1 ? 0 : 1);
	tap_ok(sorted, "timers fire in deadline order");
	tap_ok(once, "each armed timer fires once, cancelled ones never");
	TAP_EQ_INT(loop_timer_count(l), 0, "heap empty");
	loop_destroy(l);
	return tap_done();
}
