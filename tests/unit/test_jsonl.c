// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Flat JSON lines of the jvpnd control socket. */
#include <errno.h>
#include <string.h>

#include "jsonl.h"
#include "tap.h"

static const char *const bad[] = {
	"", "[]", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\" 1}", "{\"a\":\"x}",
	"{\"a\":\"\\q\"}", "{a:1}", "{\"a\":tru}",
};

int main(void)
{
	struct jsonl_member m;
	char q[64];
	unsigned int i, refused = 0;
	const char *line = "{\"cmd\":\"timeline\", \"session\":42,\"ok\":true,"
			   "\"e\":\"a\\\"b\\u0041\",\"z\":null}";

	tap_ok(!jsonl_get(line, "cmd", &m) && m.type == JSONL_STR &&
	       !strcmp(m.val, "timeline"), "string member");
	tap_ok(!jsonl_get(line, "session", &m) && m.type == JSONL_NUM &&
	       !strcmp(m.val, "42"), "number member");
	tap_ok(!jsonl_get(line, "ok", &m) && m.type == JSONL_BOOL, "bool");
	tap_ok(!jsonl_get(line, "z", &m) && m.type == JSONL_NULL, "null");
	tap_ok(!jsonl_get(line, "e", &m) && !strcmp(m.val, "a\"bA"),
	       "escapes");
	TAP_EQ_INT(jsonl_get(line, "nope", &m), -ENOENT, "missing key");
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int r = jsonl_get(bad[i], "a", &m);

		refused += r == -EINVAL || r == -ENOENT;
	}
	TAP_EQ_INT(refused, sizeof(bad) / sizeof(*bad), "bad input refused");
	tap_ok(jsonl_quote(q, sizeof(q), "a\"b\n") > 0 &&
	       !strcmp(q, "\"a\\\"b\\u000a\""), "quote");
	TAP_EQ_INT(jsonl_quote(q, 4, "abcdef"), -ENOSPC, "quote bound");
	return tap_done();
}
