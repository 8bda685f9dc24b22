// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* jvpnd session table: bound, lookup, deletion keeps probe chains. */
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "session.h"
#include "tap.h"

#define CAP 512

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
	return tap_done();
}
