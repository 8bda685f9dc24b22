// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* jvpnd session table: bound, lookup, deletion keeps probe chains. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <sodium.h>

#include "session.h"
#include "tap.h"

#define CAP 512

/* Append a path the way sess_add_path() does. */
static bool add_path(struct session_table *t, struct session *s)
{
	struct session_path *sp = session_path_slot(t, s);

	if (!sp)
		return false;
	sp->id = s->next_path_id++;
	sp->sock_id = 7;
	sp->remote.sin.sin_family = AF_INET;
	sp->remote.sin.sin_port = htons((uint16_t)(1000 + sp->id));
	s->n_paths++;
	return true;
}

static bool paths_are(const struct session *s, uint32_t first, unsigned n)
{
	unsigned int i;

	if (s->n_paths != n)
		return false;
	for (i = 0; i < n; i++)
		if (s->paths[i].id != first + i || s->paths[i].sock_id != 7 ||
		    ntohs(s->paths[i].remote.sin.sin_port) != 1000 + first + i)
			return false;
	return true;
}

/* One inline path, then a block from the table's pool; bounded. */
static void test_paths(void)
{
	struct session_table t;
	struct session *a, *b;
	unsigned int i;
	int err = 0;

	tap_ok(!session_table_init(&t, 2), "paths: init");
	a = session_alloc(&t, 11, &err);
	b = session_alloc(&t, 22, &err);
	tap_ok(a && b && a->paths == &a->path0 && !a->n_paths,
	       "a new session's paths are its inline one");
	tap_ok(add_path(&t, a) && a->paths == &a->path0 && !t.pb_used,
	       "one path: inline, no block taken");
	for (i = 1; i < JVPN_MAX_PATHS_LIMIT; i++)
		if (!add_path(&t, a))
			break;
	tap_ok(i == JVPN_MAX_PATHS_LIMIT && a->paths != &a->path0 &&
	       t.pb_used == 1 && paths_are(a, 1, JVPN_MAX_PATHS_LIMIT),
	       "the second path moves them to a block: the limit fits");
	tap_ok(!session_path_slot(&t, a) && !t.pb_failed,
	       "at JVPN_MAX_PATHS_LIMIT: no slot (not a pool failure)");
	tap_ok(session_path_find(a, 3) == &a->paths[2], "find in a block");
	a->active_path = 5;
	tap_ok(session_active_path(a) == &a->paths[4], "active in a block");
	tap_ok(add_path(&t, b) && add_path(&t, b) && t.pb_used == 2,
	       "a second session takes the second block");
	/* The pool holds capacity blocks: force it empty to see the error. */
	t.pb_fresh = t.capacity;
	t.pb_used = t.capacity;
	{
		struct session *c;

		session_free(&t, b);	/* its block back: the free list */
		c = session_alloc(&t, 33, &err);
		tap_ok(c && add_path(&t, c) && add_path(&t, c),
		       "a freed block is taken again");
		session_free(&t, c);
		c = session_alloc(&t, 44, &err);
		t.pb_free = 0;
		tap_ok(c && add_path(&t, c) && !session_path_slot(&t, c) &&
		       t.pb_failed == 1 && c->n_paths == 1 &&
		       c->paths == &c->path0,
		       "pool empty: no slot, counted, the inline path kept");
		session_free(&t, c);
	}
	/* Eviction (lifecycle.c) shrinks back to the inline path. */
	a->n_paths = 2;
	session_paths_compact(&t, a);
	tap_ok(a->paths != &a->path0, "compact keeps a block for 2 paths");
	a->n_paths = 1;
	session_paths_compact(&t, a);
	tap_ok(a->paths == &a->path0 && paths_are(a, 1, 1),
	       "compact at one path: back inline, the path kept");
	session_table_destroy(&t);
}

int main(void)
{
	struct session_table t;
	struct session *s[CAP];
	uint32_t ids[CAP];
	int i, err = 0, found = 1, gone = 1;

	if (sodium_init() < 0)
		return 1;
	tap_ok(!session_table_init(&t, CAP), "init");
	for (i = 0; i < CAP; i++) {
		ids[i] = session_random_id(&t);
		s[i] = session_alloc(&t, ids[i], &err);
		if (!s[i])
			break;
	}
	TAP_EQ_INT(i, CAP, "capacity sessions allocated");
	tap_ok(!session_alloc(&t, 12345, &err) && err == -ENOSPC,
	       "one more is refused (-ENOSPC)");
	for (i = 0; i < CAP; i += 2)
		session_free(&t, s[i]);
	for (i = 0; i < CAP; i++) {
		struct session *f = session_find(&t, ids[i]);

		if (i % 2)
			found &= f == s[i];
		else
			gone &= f == NULL;
	}
	tap_ok(found, "survivors found after deletions");
	tap_ok(gone, "deleted ids not found");
	TAP_EQ_INT(t.n, CAP / 2, "count");
	tap_ok(!session_alloc(&t, ids[1], &err) && err == -EEXIST,
	       "duplicate id refused");
	tap_ok(!session_alloc(&t, 0, &err) && err == -EINVAL, "id 0 refused");
	TAP_EQ_INT(session_next_key_id(255), 1, "key id wraps to 1");
	TAP_EQ_INT(session_next_key_id(1), 2, "key id + 1");
	session_table_destroy(&t);
	test_paths();
	return tap_done();
}
