// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* jvpnd persisted state: round trip, atomic save, bad lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"

static const char *const bad_lines[] = {
	"",
	"session",
	"session 0 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= initiator ATTACHED 2",
	"session 1 2 notbase64 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= initiator ATTACHED 2",
	"session 1 2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 256 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= initiator ATTACHED 2",
	"session 1 2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= boss ATTACHED 2",
	"session 1 2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= initiator NOPE 2",
	"session 1 2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= initiator ATTACHED 2 extra",
};

/* The pace of rewrites: 10x the last one's time, within the bounds. */
static void test_pace(void)
{
	TAP_EQ_INT(state_gap_ms(0), STATE_GAP_MIN_MS, "pace: a fast rewrite, the floor");
	TAP_EQ_INT(state_gap_ms(35), 350, "pace: 10x a 35 ms rewrite");
	TAP_EQ_INT(state_gap_ms(5000), STATE_GAP_MAX_MS, "pace: a slow one, the ceiling");
	tap_ok(state_write_now(5000, 0, 100), "pace: the first change is written at once");
	tap_ok(!state_write_now(5099, 5000, 100),
	       "pace: a change within the gap waits");
	tap_ok(state_write_now(5100, 5000, 100),
	       "pace: a change after a quiet gap is written at once");
}

int main(void)
{
	struct state_record r[3], *back = NULL, p;
	char line[STATE_LINE_MAX], dir[] = "/tmp/jvpn-state-XXXXXX", path[64];
	unsigned int bad, i, nbad = 0;
	struct stat st;
	size_t n;
	FILE *f;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].local_id = 1000 + i;
		r[i].peer_id = 0xfffffff0u + i;
		memset(r[i].peer_pub, 0x11 * (i + 1), sizeof(r[i].peer_pub));
		memset(r[i].reattach_key, 0x5a + i, sizeof(r[i].reattach_key));
		r[i].key_id = (uint8_t)(250 + i);
		r[i].initiator = i % 2;
		r[i].state = (enum fsm_state)(FSM_ATTACHED + i);
		r[i].version = 7 + i;
	}
	tap_ok(state_format(&r[0], line, sizeof(line)) > 0, "format");
	tap_ok(!state_parse(line, &p) && !memcmp(&p, &r[0], sizeof(p)),
	       "parse(format(r)) == r");
	for (i = 0; i < sizeof(bad_lines) / sizeof(*bad_lines); i++)
		nbad += state_parse(bad_lines[i], &p) != 0;
	TAP_EQ_INT(nbad, sizeof(bad_lines) / sizeof(*bad_lines),
		   "malformed lines refused");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/jvpn0.state", dir);
	tap_ok(!state_load(path, 8, &back, &n, &bad) && n == 0,
	       "missing file: no records");
	free(back);
	tap_ok(!state_save(path, r, 3), "save");
	tap_ok(!stat(path, &st) && (st.st_mode & 0777) == 0600, "mode 0600");
	f = fopen(path, "a");
	if (f) {
		fputs("garbage line\n", f);
		fclose(f);
	}
	tap_ok(!state_load(path, 8, &back, &n, &bad) && n == 3 && bad == 1 &&
	       !memcmp(back, r, sizeof(r)), "load: 3 records, 1 bad line");
	free(back);
	tap_ok(!state_load(path, 2, &back, &n, &bad) && n == 2,
	       "load is bounded by max");
	free(back);
	tap_ok(!state_save(path, r, 0) && !state_load(path, 8, &back, &n, &bad) &&
	       n == 0, "save of nothing empties the file");
	free(back);
	unlink(path);
	rmdir(dir);
	test_pace();
	return tap_done();
}
