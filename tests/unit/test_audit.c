// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Audit log: every line is parsed back with a strict JSON validator;
 * sequence numbers are checked to be consecutive; a full ring drops and
 * counts; a sink nobody reads never blocks emit or the FSM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../daemon/audit.h"
#include "audit_ref.h"

static const struct audit_clock clk0 = { 5000, 1700000000123LL };

/* ---------------------------------------------------------------------- */
/* A strict little JSON reader (RFC 8259) for one line = one object        */
/* ---------------------------------------------------------------------- */

#define MAX_FIELDS 40

struct field {
	char key[64];
	const char *raw;	/* value text inside the line */
	size_t raw_len;
	char str[1100];		/* decoded, if the value is a string */
	int is_str;
};

struct obj {
	struct field f[MAX_FIELDS];
	int n;
};

struct rd {
	const char *s;
	size_t i, n;
	int depth;
};

static void ws(struct rd *r)
{
	while (r->i < r->n && strchr(" \t\r\n", r->s[r->i]))
		r->i++;
}

static int utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	int len, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if ((size_t)len > n)
		return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	for (k = 1; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

static int put_utf8(char *out, size_t *o, size_t max, unsigned int cp)
{
	char tmp[4];
	int n, k;

	if (cp < 0x80) {
		tmp[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | (cp >> 6));
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else {
		tmp[0] = (char)(0xe0 | (cp >> 12));
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	}
	if (*o + (size_t)n >= max)
		return -1;
	for (k = 0; k < n; k++)
		out[(*o)++] = tmp[k];
	return 0;
}

static int hex4(const char *s, unsigned int *v)
{
	int k;

	*v = 0;
	for (k = 0; k < 4; k++) {
		char c = s[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Parses a string at r (which points at '"'); decodes into out. */
static int jstring(struct rd *r, char *out, size_t max)
{
	size_t o = 0;
	unsigned int cp;
	int len;

	if (r->s[r->i++] != '"')
		return -1;
	while (r->i < r->n) {
		unsigned char c = (unsigned char)r->s[r->i];

		if (c == '"') {
			r->i++;
			out[o] = '\0';
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			char e = r->s[r->i + 1];
			const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);

			if (e == 'u') {
				if (r->i + 6 > r->n || hex4(r->s + r->i + 2, &cp) ||
				    (cp >= 0xd800 && cp <= 0xdfff) ||
				    put_utf8(out, &o, max, cp))
					return -1;
				r->i += 6;
				continue;
			}
			if (!e || !map || (map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2)
				return -1;
			if (o + 1 >= max)
				return -1;
			out[o++] = map[1];
			r->i += 2;
			continue;
		}
		len = utf8_len((const unsigned char *)r->s + r->i, r->n - r->i);
		if (!len || o + (size_t)len >= max)
			return -1;
		memcpy(out + o, r->s + r->i, (size_t)len);
		o += (size_t)len;
		r->i += (size_t)len;
	}
	return -1;
}

static int jvalue(struct rd *r, struct obj *top);

static int jnumber(struct rd *r)
{
	size_t start = r->i;

	if (r->s[r->i] == '-')
		r->i++;
	if (r->s[r->i] == '0') {
		r->i++;
	} else if (r->s[r->i] >= '1' && r->s[r->i] <= '9') {
		while (r->s[r->i] >= '0' && r->s[r->i] <= '9')
			r->i++;
	} else {
		return -1;
	}
	/* The audit schema has integers only; fractions would be a bug. */
	return r->i > start ? 0 : -1;
}

static int jliteral(struct rd *r, const char *lit)
{
	size_t n = strlen(lit);

	if (r->n - r->i < n || strncmp(r->s + r->i, lit, n))
		return -1;
	r->i += n;
	return 0;
}

static int jobject(struct rd *r, struct obj *top)
{
	char key[64];

	if (++r->depth > 8)
		return -1;
	r->i++;			/* '{' */
	ws(r);
	if (r->s[r->i] == '}') {
		r->i++;
		return 0;
	}
	for (;;) {
		struct field *f = NULL;
		size_t vstart;
		int k;

		ws(r);
		if (r->s[r->i] != '"' || jstring(r, key, sizeof(key)))
			return -1;
		if (top) {
			for (k = 0; k < top->n; k++)
				if (!strcmp(top->f[k].key, key))
					return -1;	/* duplicate key */
			if (top->n == MAX_FIELDS)
				return -1;
			f = &top->f[top->n++];
			snprintf(f->key, sizeof(f->key), "%s", key);
		}
		ws(r);
		if (r->s[r->i++] != ':')
			return -1;
		ws(r);
		vstart = r->i;
		if (f && r->s[r->i] == '"') {
			if (jstring(r, f->str, sizeof(f->str)))
				return -1;
			f->is_str = 1;
		} else if (jvalue(r, NULL)) {
			return -1;
		}
		if (f) {
			f->raw = r->s + vstart;
			f->raw_len = r->i - vstart;
		}
		ws(r);
		if (r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->s[r->i] != '}')
			return -1;
		r->i++;
		r->depth--;
		return 0;
	}
}

static int jvalue(struct rd *r, struct obj *top)
{
	char scratch[1100];

	ws(r);
	switch (r->s[r->i]) {
	case '{':
		return jobject(r, top);
	case '"':
		return jstring(r, scratch, sizeof(scratch));
	case 't':
		return jliteral(r, "true");
	case 'f':
		return jliteral(r, "false");
	case 'n':
		return jliteral(r, "null");
	default:
		return jnumber(r);
	}
}

/* One line (without '\n') must be exactly one JSON object. */
static int parse_line(const char *s, size_t n, struct obj *o)
{
	struct rd r = { s, 0, n, 0 };

	memset(o, 0, sizeof(*o));
	if (!n || s[0] != '{' || jobject(&r, o))
		return -1;
	ws(&r);
	return r.i == n ? 0 : -1;
}

static const struct field *get(const struct obj *o, const char *key)
{
	int k;

	for (k = 0; k < o->n; k++)
		if (!strcmp(o->f[k].key, key))
			return &o->f[k];
	return NULL;
}

static long long get_num(const struct obj *o, const char *key)
{
	const struct field *f = get(o, key);

	return f && !f->is_str ? strtoll(f->raw, NULL, 10) : -1;
}

static int str_is(const struct obj *o, const char *key, const char *want)
{
	const struct field *f = get(o, key);

	return f && f->is_str && !strcmp(f->str, want);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static void make_pipe(int fds[2])
{
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC)) {
		perror("pipe2");
		exit(1);
	}
}

/* Read everything currently in the pipe, appending to *buf. */
static void drain_pipe(int fd, char **buf, size_t *len, size_t *cap)
{
	ssize_t n;

	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap);
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n <= 0)
			return;
		*len += (size_t)n;
	}
}

struct scan {
	int lines, invalid;
	long long first_seq, last_seq;
	int gaps;
	long long lost_sum;
};

/* Parse every line, check seq is consecutive and sum "lost". */
static void scan_lines(const char *buf, size_t len, struct scan *sc)
{
	const char *p = buf, *end = buf + len, *nl;
	struct obj *o = malloc(sizeof(*o));

	memset(sc, 0, sizeof(*sc));
	sc->first_seq = -1;
	while (p < end) {
		long long seq;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			sc->invalid++;	/* partial line at the end */
			break;
		}
		sc->lines++;
		if (parse_line(p, (size_t)(nl - p), o)) {
			sc->invalid++;
		} else {
			seq = get_num(o, "seq");
			if (sc->first_seq < 0)
				sc->first_seq = seq;
			else if (seq != sc->last_seq + 1)
				sc->gaps++;
			sc->last_seq = seq;
			if (get(o, "lost"))
				sc->lost_sum += get_num(o, "lost");
		}
		p = nl + 1;
	}
	free(o);
}

static void init_audit(struct audit *a, size_t ring, uint32_t tl, int fd)
{
	struct audit_config cfg = { .ring_bytes = ring,
				    .timeline_sessions = tl, .fd = fd };
	int i;

	for (i = 0; i < 16; i++)
		cfg.hash_key[i] = (uint8_t)(i * 7 + 1);
	if (audit_init(a, &cfg)) {
		fprintf(stderr, "audit_init failed\n");
		exit(1);
	}
}

/* One accepted transition, emitted. */
static int step(struct audit *a, struct fsm_session *s, enum fsm_event ev,
		uint64_t now)
{
	struct fsm_result r;
	struct audit_clock c = { now, 1700000000000LL + (int64_t)now };

	fsm_transition(s, ev, FSM_R_NONE, now, &r);
	return audit_emit_fsm(a, &r, 1, 2, &c, NULL, 0);
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                   */
/* ---------------------------------------------------------------------- */

static void test_wall(void)
{
	char b[40];

	audit_format_wall(0, b, sizeof(b));
	tap_ok(!strcmp(b, "1970-01-01T00:00:00.000Z"), "wall: epoch");
	audit_format_wall(1700000000123LL, b, sizeof(b));
	tap_ok(!strcmp(b, "2023-11-14T22:13:20.123Z"), "wall: %s", b);
	audit_format_wall(-1, b, sizeof(b));
	tap_ok(!strcmp(b, "1969-12-31T23:59:59.999Z"), "wall: before epoch %s", b);
	tap_ok(audit_format_wall(0, b, 10) == -ENOSPC, "wall: small buffer");
}

static void test_basic_lines(void)
{
	static const enum fsm_event cycle[] = {
		FSM_EV_PATH_SILENT, FSM_EV_TRANSPORT_LOST,
		FSM_EV_REATTACH_SUCCEEDED,
	};
	struct audit a;
	struct fsm_session s;
	struct scan sc;
	struct obj o;
	int fds[2], i, bad = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	make_pipe(fds);
	init_audit(&a, 1 << 16, 8, fds[1]);
	fsm_session_init(&s, 0xdeadbeef, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_STARTED, 1);
	step(&a, &s, FSM_EV_HANDSHAKE_COMPLETE, 2);
	for (i = 0; i < 99; i++)
		bad += step(&a, &s, cycle[i % 3], 3 + (uint64_t)i) != 0;
	TAP_EQ_INT(bad, 0, "101 records queued");
	tap_ok(audit_flush(&a) > 0 && audit_pending(&a) == 0, "flushed");
	drain_pipe(fds[0], &buf, &len, &cap);
	scan_lines(buf, len, &sc);
	tap_ok(sc.lines == 101 && !sc.invalid, "101 valid JSON lines");
	tap_ok(sc.first_seq == 1 && sc.last_seq == 101 && !sc.gaps,
	       "seq 1..101, strictly consecutive");

	parse_line(buf, (size_t)((char *)memchr(buf, '\n', len) - buf), &o);
	tap_ok(str_is(&o, "type", "STATE_CHANGE") &&
	       str_is(&o, "session", "deadbeef") &&
	       str_is(&o, "from", "INIT") && str_is(&o, "to", "HANDSHAKING") &&
	       str_is(&o, "event", "HANDSHAKE_STARTED") &&
	       str_is(&o, "reason", "handshake_started") &&
	       get_num(&o, "version") == 1 && get_num(&o, "path_old") == 1 &&
	       get_num(&o, "path_new") == 2 && get_num(&o, "mono_ms") == 1 &&
	       str_is(&o, "wall", "2023-11-14T22:13:20.001Z") &&
	       !get(&o, "lost") && !get(&o, "action"),
	       "STATE_CHANGE schema");
	TAP_EQ_INT(audit_get_stats(&a)->emitted, 101, "emitted counted");
	TAP_EQ_INT(audit_next_seq(&a), 102, "next seq");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
	free(buf);
}

static void test_refusal_record(void)
{
	struct audit a;
	struct fsm_session s;
	struct fsm_result r;
	struct obj o;
	int fds[2];
	char buf[2048];
	ssize_t n;

	make_pipe(fds);
	init_audit(&a, 4096, 0, fds[1]);
	fsm_session_init(&s, 7, 0);
	fsm_transition(&s, FSM_EV_REATTACH_SUCCEEDED, FSM_R_NONE, 10, &r);
	audit_emit_fsm(&a, &r, 0, 3, &clk0, NULL, 0);
	audit_flush(&a);
	n = read(fds[0], buf, sizeof(buf));
	tap_ok(n > 0 && !parse_line(buf, (size_t)n - 1, &o) &&
	       str_is(&o, "type", "SECURITY_EVENT") &&
	       str_is(&o, "action", "transition_refused") &&
	       str_is(&o, "from", "INIT") && !get(&o, "to") &&
	       str_is(&o, "event", "REATTACH_SUCCEEDED") &&
	       str_is(&o, "reason", "transition_not_allowed") &&
	       get_num(&o, "version") == 0 && str_is(&o, "session", "00000007") &&
	       get(&o, "path_old") && !strncmp(get(&o, "path_old")->raw, "null", 4),
	       "refused transition: SECURITY_EVENT schema");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
}

static void test_ring_full(void)
{
	struct audit a;
	struct fsm_session s;
	struct scan sc;
	int fds[2], i, dropped = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	init_audit(&a, AUDIT_RING_MIN, 0, -1);
	fsm_session_init(&s, 1, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_STARTED, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_COMPLETE, 0);
	for (i = 0; i < 20; i++)
		dropped += step(&a, &s, i % 2 ? FSM_EV_PATH_ALIVE
					      : FSM_EV_PATH_SILENT, 1) == -ENOBUFS;
	tap_ok(dropped > 0 && audit_get_stats(&a)->dropped == (uint64_t)dropped,
	       "ring full: %d drops returned and counted", dropped);
	TAP_EQ_INT(s.state_version, 22, "every transition applied regardless");
	tap_ok(audit_pending(&a) <= AUDIT_RING_MIN, "ring never exceeds capacity");

	make_pipe(fds);
	audit_set_sink(&a, fds[1]);
	audit_flush(&a);
	tap_ok(step(&a, &s, FSM_EV_PATH_SILENT, 2) == 0, "room again after flush");
	audit_flush(&a);
	drain_pipe(fds[0], &buf, &len, &cap);
	scan_lines(buf, len, &sc);
	tap_ok(!sc.invalid && !sc.gaps && sc.first_seq == 1 &&
	       sc.last_seq == sc.lines, "exported seqs have no gaps");
	TAP_EQ_INT(sc.lost_sum, dropped, "\"lost\" reports exactly the drops");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
	free(buf);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "not ok - emit blocked (alarm)\n";

	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void test_blocked_sink(void)
{
	struct audit a;
	struct fsm_session s;
	struct scan sc;
	int fds[2], i, applied = 0, refused_emits = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const struct audit_stats *st;

	make_pipe(fds);
	init_audit(&a, 32768, 16, fds[1]);
	fsm_session_init(&s, 0x42, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_STARTED, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_COMPLETE, 0);
	signal(SIGALRM, on_alarm);
	alarm(20);
	/* Nobody reads the pipe: it fills (64 KiB), then the ring fills. */
	for (i = 0; i < 100000; i++) {
		uint64_t v = s.state_version;

		refused_emits += step(&a, &s, i % 2 ? FSM_EV_PATH_ALIVE
						   : FSM_EV_PATH_SILENT,
				      10 + (uint64_t)i) != 0;
		applied += s.state_version == v + 1;
		audit_flush(&a);
	}
	alarm(0);
	st = audit_get_stats(&a);
	TAP_EQ_INT(applied, 100000, "blocked sink: all 100000 transitions applied");
	tap_ok(st->write_blocked > 0 && st->dropped > 0 &&
	       st->dropped == (uint64_t)refused_emits,
	       "EAGAIN seen, %llu records dropped and counted",
	       (unsigned long long)st->dropped);
	tap_ok(audit_pending(&a) <= 32768, "ring stayed bounded");

	/* Now drain: everything that was admitted arrives intact. */
	for (i = 0; i < 1000 && audit_pending(&a); i++) {
		drain_pipe(fds[0], &buf, &len, &cap);
		audit_flush(&a);
	}
	drain_pipe(fds[0], &buf, &len, &cap);
	scan_lines(buf, len, &sc);
	tap_ok(!sc.invalid && sc.lines > 0, "%d lines, all valid JSON",
	       sc.lines);
	tap_ok(sc.first_seq == 1 && !sc.gaps &&
	       (uint64_t)sc.last_seq == st->emitted,
	       "seq consecutive 1..%lld across partial writes", sc.last_seq);
	TAP_EQ_INT((uint64_t)sc.lost_sum + a.lost_pending, st->dropped,
		   "lost fields + pending losses == drops");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
	free(buf);
}

static void test_failing_sink(void)
{
	struct audit a;
	struct fsm_session s;
	int fds[2];
	size_t before;
	ssize_t ret;

	signal(SIGPIPE, SIG_IGN);
	make_pipe(fds);
	close(fds[0]);
	init_audit(&a, 4096, 0, fds[1]);
	fsm_session_init(&s, 9, 0);
	step(&a, &s, FSM_EV_HANDSHAKE_STARTED, 0);
	before = audit_pending(&a);
	ret = audit_flush(&a);
	tap_ok(ret == -EPIPE && audit_pending(&a) == before &&
	       audit_get_stats(&a)->write_errors == 1 &&
	       audit_get_stats(&a)->last_errno == EPIPE,
	       "reader gone: -EPIPE, bytes kept, error counted");
	tap_ok(step(&a, &s, FSM_EV_HANDSHAKE_COMPLETE, 1) == 0 &&
	       s.state == FSM_ATTACHED, "transitions go on");
	close(fds[1]);
	audit_set_sink(&a, 1000);	/* not an open fd */
	tap_ok(audit_flush(&a) == -EBADF, "bad fd: -EBADF");
	audit_set_sink(&a, -1);
	tap_ok(audit_flush(&a) == 0, "no sink: flush is a no-op");
	audit_destroy(&a);
}

static void test_extras_escaping(void)
{
	const struct audit_kv kv[] = {
		{ .key = "note", .type = AUDIT_KV_STR,
		  .s = "q\"b\\n\nt\tc\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ .key = "bad_utf8", .type = AUDIT_KV_STR,
		  .s = "a\xff" "b\xc0\x80" "c\xed\xa0\x80" "d\xe2\x82" },
		{ .key = "count", .type = AUDIT_KV_U64, .u = UINT64_MAX },
		{ .key = "delta", .type = AUDIT_KV_S64, .i = INT64_MIN },
		{ .key = "ok", .type = AUDIT_KV_BOOL, .b = true },
		{ .key = "nothing", .type = AUDIT_KV_STR, .s = NULL },
		{ .key = "Bad-Key", .type = AUDIT_KV_U64, .u = 1 },
		{ .key = "seq", .type = AUDIT_KV_U64, .u = 1 },
	};
	struct audit_record r = {
		.type = AUDIT_T_EVENT, .action = AUDIT_ACT_CONFIG_LOADED,
		.reason = FSM_R_NONE, .extra = kv, .n_extra = 8,
	};
	struct audit a;
	struct obj o;
	int fds[2];
	char buf[4096];
	ssize_t n;

	make_pipe(fds);
	init_audit(&a, 8192, 0, fds[1]);
	audit_emit(&a, &r, &clk0);
	audit_flush(&a);
	n = read(fds[0], buf, sizeof(buf));
	tap_ok(n > 0 && !parse_line(buf, (size_t)n - 1, &o), "extras: valid JSON");
	tap_ok(str_is(&o, "note",
		      "q\"b\\n\nt\tc\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	       "quotes, backslashes, controls and UTF-8 round-trip");
	tap_ok(str_is(&o, "bad_utf8",
		      "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
		      "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd"),
	       "invalid UTF-8 becomes U+FFFD");
	tap_ok(get(&o, "count") &&
	       !strncmp(get(&o, "count")->raw, "18446744073709551615", 20) &&
	       !strncmp(get(&o, "delta")->raw, "-9223372036854775808", 20) &&
	       !strncmp(get(&o, "ok")->raw, "true", 4) &&
	       !strncmp(get(&o, "nothing")->raw, "null", 4),
	       "numbers, bool and null");
	tap_ok(!get(&o, "Bad-Key") && get_num(&o, "seq") == 1 &&
	       audit_get_stats(&a)->bad_extras == 2,
	       "bad or reserved extra keys skipped and counted");
	tap_ok(str_is(&o, "type", "AUDIT_EVENT") &&
	       str_is(&o, "action", "config_loaded") &&
	       !strncmp(get(&o, "session")->raw, "null", 4) && !get(&o, "from"),
	       "AUDIT_EVENT schema");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
}

static void test_truncation(void)
{
	char big[400];
	struct audit_kv kv[4];
	struct audit_record r = {
		.type = AUDIT_T_SECURITY, .action = AUDIT_ACT_REATTACH_REJECTED,
		.session_id = 5, .reason = FSM_R_REATTACH_PROOF_INVALID,
		.extra = kv, .n_extra = 4,
	};
	struct audit a;
	struct obj o;
	int fds[2], i;
	char buf[4096];
	ssize_t n;

	memset(big, '"', sizeof(big) - 1);	/* doubles when escaped */
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 4; i++)
		kv[i] = (struct audit_kv){ .key = "blob", .type = AUDIT_KV_STR,
					   .s = big };
	make_pipe(fds);
	init_audit(&a, 8192, 0, fds[1]);
	tap_ok(audit_emit(&a, &r, &clk0) == 0, "oversized record still emitted");
	audit_flush(&a);
	n = read(fds[0], buf, sizeof(buf));
	tap_ok(n > 0 && n <= AUDIT_LINE_MAX && !parse_line(buf, (size_t)n - 1, &o) &&
	       get(&o, "truncated") && !get(&o, "blob") &&
	       str_is(&o, "reason", "reattach_proof_invalid"),
	       "without its extras, marked truncated, still valid");
	TAP_EQ_INT(audit_get_stats(&a)->truncated, 1, "truncation counted");
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);
}

/* An action-less AUDIT_EVENT keeps its "what" in the timeline. */
static void test_timeline_what(struct audit *a)
{
	static const char *const whats[] = { "unknown_source", "not_listed" };
	struct audit_kv kv[2] = {
		{ .key = "cause", .type = AUDIT_KV_STR, .s = "x" },
		{ .key = "what", .type = AUDIT_KV_STR },
	};
	struct audit_record r = {
		.type = AUDIT_T_EVENT, .action = AUDIT_ACT_NONE,
		.session_id = 0x33, .reason = FSM_R_NONE,
		.extra = kv, .n_extra = 2,
	};
	struct audit_tl_entry tl[AUDIT_TIMELINE_K];
	char line[AUDIT_LINE_MAX];
	struct obj o;
	size_t i, n;
	int len;

	for (i = 0; i < 2; i++) {
		kv[1].s = whats[i];
		audit_emit(a, &r, &clk0);
	}
	n = audit_timeline(a, 0x33, tl, AUDIT_TIMELINE_K);
	len = audit_format_tl_entry(&tl[n - 2], line, sizeof(line));
	tap_ok(n == 3 && len > 0 && !parse_line(line, (size_t)len, &o) &&
	       str_is(&o, "type", "AUDIT_EVENT") &&
	       str_is(&o, "what", "unknown_source") && !get(&o, "cause"),
	       "timeline keeps an event's what, not its other extras");
	len = audit_format_tl_entry(&tl[n - 1], line, sizeof(line));
	tap_ok(len > 0 && !parse_line(line, (size_t)len, &o) && !get(&o, "what"),
	       "timeline: a what it does not know is left out");
	len = audit_format_tl_entry(&tl[0], line, sizeof(line));
	tap_ok(len > 0 && !strstr(line, "\"what\""),
	       "timeline: state changes carry no what");
}

static void test_timeline(void)
{
	struct audit_tl_entry tl[AUDIT_TIMELINE_K + 8];
	struct audit a;
	struct fsm_session s1, s2, s3;
	struct obj o;
	char line[AUDIT_LINE_MAX];
	size_t n, i;
	int ordered = 1, len;

	init_audit(&a, 1 << 20, 2, -1);
	fsm_session_init(&s1, 0x11, 0);
	fsm_session_init(&s2, 0x22, 0);
	step(&a, &s1, FSM_EV_HANDSHAKE_STARTED, 0);
	step(&a, &s1, FSM_EV_HANDSHAKE_COMPLETE, 1);
	step(&a, &s2, FSM_EV_HANDSHAKE_STARTED, 1);
	for (i = 0; i < 38; i++)
		step(&a, &s1, i % 2 ? FSM_EV_PATH_ALIVE : FSM_EV_PATH_SILENT,
		     2 + i);
	n = audit_timeline(&a, 0x11, tl, sizeof(tl) / sizeof(tl[0]));
	TAP_EQ_INT(n, AUDIT_TIMELINE_K, "timeline keeps the last K records");
	for (i = 1; i < n; i++)
		ordered &= tl[i].seq > tl[i - 1].seq &&
			   tl[i].version == tl[i - 1].version + 1;
	tap_ok(ordered && tl[n - 1].version == 40 && tl[0].version == 9,
	       "oldest first, versions 9..40");
	TAP_EQ_INT(audit_timeline(&a, 0x11, tl, 3), 3, "max honoured");
	TAP_EQ_INT(tl[2].version, 40, "a short read gives the newest");
	TAP_EQ_INT(audit_timeline(&a, 0x22, tl, 40), 1, "other session separate");

	fsm_session_init(&s3, 0x33, 0);
	step(&a, &s1, FSM_EV_PATH_SILENT, 100);	/* s2 is now the LRU */
	step(&a, &s3, FSM_EV_HANDSHAKE_STARTED, 100);
	tap_ok(audit_timeline(&a, 0x22, tl, 40) == 0 &&
	       audit_timeline(&a, 0x11, tl, 40) == AUDIT_TIMELINE_K &&
	       audit_get_stats(&a)->timeline_evictions == 1,
	       "bounded: the least recently updated session's timeline evicted");
	audit_timeline_forget(&a, 0x11);
	TAP_EQ_INT(audit_timeline(&a, 0x11, tl, 40), 0, "forget");

	n = audit_timeline(&a, 0x33, tl, 40);
	len = audit_format_tl_entry(&tl[0], line, sizeof(line));
	tap_ok(n == 1 && len > 0 && !parse_line(line, (size_t)len, &o) &&
	       str_is(&o, "to", "HANDSHAKING") && get_num(&o, "seq") > 0,
	       "timeline entry formats as the same JSON");
	tap_ok(audit_format_tl_entry(&tl[0], line, 20) == -ENOSPC,
	       "timeline format: small buffer");
	test_timeline_what(&a);
	audit_destroy(&a);

	/* Records dropped from the ring still reach the timeline, seq null. */
	init_audit(&a, AUDIT_RING_MIN, 4, -1);
	fsm_session_init(&s1, 0x44, 0);
	for (i = 0; i < 10; i++)
		step(&a, &s1, i == 0 ? FSM_EV_HANDSHAKE_STARTED
			     : i == 1 ? FSM_EV_HANDSHAKE_COMPLETE
			     : i % 2 ? FSM_EV_PATH_ALIVE : FSM_EV_PATH_SILENT, i);
	n = audit_timeline(&a, 0x44, tl, 40);
	len = audit_format_tl_entry(&tl[n - 1], line, sizeof(line));
	tap_ok(n == 10 && tl[n - 1].seq == 0 && len > 0 &&
	       !parse_line(line, (size_t)len, &o) &&
	       !strncmp(get(&o, "seq")->raw, "null", 4),
	       "dropped records kept in the timeline with seq null");
	audit_destroy(&a);
}

static void test_init_limits(void)
{
	struct audit a;
	struct audit_config c = { .ring_bytes = AUDIT_RING_MIN - 1, .fd = -1 };

	tap_ok(audit_init(&a, &c) == -EINVAL, "ring below minimum refused");
	c.ring_bytes = (size_t)AUDIT_RING_MAX + 1;
	tap_ok(audit_init(&a, &c) == -EINVAL, "ring above maximum refused");
	c.ring_bytes = 4096;
	c.timeline_sessions = AUDIT_TIMELINE_MAX + 1;
	tap_ok(audit_init(&a, &c) == -EINVAL, "timeline above maximum refused");
	tap_ok(!strcmp(audit_type_name(AUDIT_T_SECURITY), "SECURITY_EVENT") &&
	       !strcmp(audit_action_name(AUDIT_ACTION_COUNT), "unknown"),
	       "names");
}

/* ---------------------------------------------------------------------- */
/* The writer against the snprintf-based formatter it replaced            */
/* ---------------------------------------------------------------------- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Edge values more often than uniform ones. */
static uint64_t rnd_u64(void)
{
	static const uint64_t edge[] = { 0, 1, 9, 10, 99, 100, 4294967295ULL,
		4294967296ULL, 9999999999999999999ULL, 10000000000000000000ULL,
		UINT64_MAX - 1, UINT64_MAX };

	switch (rnd() % 4) {
	case 0:
		return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return rnd() % 1000;
	default:
		return rnd() >> (rnd() % 64);
	}
}

static int64_t rnd_wall(void)
{
	static const int64_t edge[] = { 0, -1, 999, 1000, -1000, -1001,
		1700000000123LL, 253402300799999LL, 253402300800000LL,
		-62167219200000LL, -62167219200001LL, -62135596800000LL,
		951782400000LL, 4107542400000LL, INT64_MIN, INT64_MAX,
		INT64_MIN + 1, INT64_MAX - 1 };

	switch (rnd() % 4) {
	case 0:
		return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
	case 1:		/* years 0..9999 and a little around */
		return (int64_t)(rnd() % 320000000000000ULL) - 64000000000000LL;
	case 2:
		return (int64_t)rnd();
	default:
		return 1700000000000LL + (int64_t)(rnd() % 100000000000ULL);
	}
}

/* Bytes that exercise every escaping path, sometimes a lot of them. */
static void rnd_string(char *s, size_t max)
{
	static const char *const piece[] = { "a", "Z", "\"", "\\", "\n", "\r",
		"\t", "\b", "\f", "\x01", "\x1f", "\x7f", " ", "/", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe0\x80\x80", "\xff", "\x80", "\xc3",
		"\xe2\x82", "\xf0\x9f\x98", "{}", "null" };
	size_t n = 0, len, want = rnd() % 3 ? rnd() % 40 : rnd() % (max - 1);

	while (n < want) {
		const char *p = rnd() % 4 ? "x" : piece[rnd() % (sizeof(piece) /
						       sizeof(piece[0]))];

		len = strlen(p);
		if (n + len >= max)
			break;
		memcpy(s + n, p, len);
		n += len;
	}
	s[n] = '\0';
}

static const char *rnd_key(char *buf)
{
	static const char *const keys[] = { "error", "remote", "k", "a_1",
		"seq", "wall", "lost", "truncated", "session", "Bad", "bad-key",
		"", "dwell_ms", "version2", "x",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32: allowed */
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33: not */
		NULL };

	if (rnd() % 8)
		return keys[rnd() % (sizeof(keys) / sizeof(keys[0]))];
	buf[0] = (char)('a' + rnd() % 26);
	buf[1] = "_09az.\xc3"[rnd() % 7];
	buf[2] = '\0';
	return buf;
}

struct rnd_rec {
	struct audit_record r;
	struct audit_clock clk;
	struct audit_kv kv[AUDIT_MAX_EXTRA + 2];
	char str[AUDIT_MAX_EXTRA + 2][1200];
	char key[AUDIT_MAX_EXTRA + 2][4];
};

static void rnd_record(struct rnd_rec *x)
{
	unsigned int i;

	memset(&x->r, 0, sizeof(x->r));
	x->r.type = (enum audit_type)(rnd() % (AUDIT_TYPE_COUNT + 1));
	x->r.action = (enum audit_action)(rnd() % (AUDIT_ACTION_COUNT + 1));
	x->r.session_id = rnd() % 4 ? (uint32_t)rnd() : rnd() % 2 ? 0 : 0xf;
	x->r.fields = (unsigned int)(rnd() % 64);
	x->r.from = (enum fsm_state)(rnd() % (FSM_STATE_COUNT + 1));
	x->r.to = (enum fsm_state)(rnd() % (FSM_STATE_COUNT + 1));
	x->r.event = (enum fsm_event)(rnd() % (FSM_EVENT_COUNT + 1));
	x->r.reason = (enum fsm_reason)(rnd() % (FSM_REASON_COUNT + 1));
	x->r.path_old = rnd() % 3 ? (uint32_t)rnd_u64() : 0;
	x->r.path_new = rnd() % 3 ? (uint32_t)rnd() : 0;
	x->r.version = rnd_u64();
	x->r.dwell_ms = rnd_u64();
	x->clk.mono_ms = rnd_u64();
	x->clk.wall_ms = rnd_wall();
	x->r.n_extra = (unsigned int)(rnd() % (AUDIT_MAX_EXTRA + 3));
	x->r.extra = rnd() % 8 ? x->kv : NULL;
	for (i = 0; i < x->r.n_extra; i++) {
		struct audit_kv *kv = &x->kv[i];

		kv->key = rnd_key(x->key[i]);
		kv->type = (enum audit_kv_type)(rnd() % 5);
		switch (kv->type) {
		case AUDIT_KV_STR:
			rnd_string(x->str[i], sizeof(x->str[i]));
			kv->s = rnd() % 10 ? x->str[i] : NULL;
			break;
		case AUDIT_KV_U64:
			kv->u = rnd_u64();
			break;
		case AUDIT_KV_S64:
			kv->i = (int64_t)rnd_u64();
			break;
		default:
			kv->b = rnd() % 2;
		}
	}
}

static void test_writer_matches_reference(void)
{
	static struct rnd_rec x;
	char want[AUDIT_LINE_MAX], got[AUDIT_LINE_MAX + 8], w1[40], w2[40];
	struct audit a;
	int fds[2], i, wl, bad = 0, truncated = 0, lens = 0, walls = 0;
	int tl_bad = 0, j;
	ssize_t n;

	make_pipe(fds);
	init_audit(&a, 1 << 16, 0, fds[1]);
	for (i = 0; i < 20000; i++) {
		uint64_t lost = rnd() % 4 ? 0 : rnd_u64();

		rnd_record(&x);
		/* The lost count the next admitted record carries. */
		a.lost_pending = lost;
		wl = ref_emit_line(want, sizeof(want), audit_next_seq(&a), lost,
				   &x.r, &x.clk);
		if (audit_emit(&a, &x.r, &x.clk) || audit_flush(&a) != wl) {
			bad++;
			continue;
		}
		n = read(fds[0], got, sizeof(got));
		truncated += strstr(want, "\"truncated\":true") != NULL;
		if (n != wl || memcmp(got, want, (size_t)wl)) {
			if (!bad++)
				fprintf(stderr, "# want %.*s# got  %.*s", wl,
					want, (int)n, got);
		}
	}
	/* Every length across the AUDIT_LINE_MAX boundary, one byte apart. */
	for (i = 0; i < 400; i++) {
		struct audit_kv kv = { .key = "blob", .type = AUDIT_KV_STR,
				       .s = x.str[0] };
		struct audit_record r = { .type = AUDIT_T_EVENT,
					  .session_id = 7, .extra = &kv,
					  .n_extra = 1 };

		memset(x.str[0], i % 2 ? 'x' : '\\', 1100);
		x.str[0][i % 2 ? 700 + i : 350 + i / 2] = '\0';
		wl = ref_emit_line(want, sizeof(want), audit_next_seq(&a), 0,
				   &r, &clk0);
		if (audit_emit(&a, &r, &clk0) || audit_flush(&a) != wl ||
		    read(fds[0], got, sizeof(got)) != wl ||
		    memcmp(got, want, (size_t)wl))
			bad++;
		lens += wl == AUDIT_LINE_MAX - 1;
	}
	TAP_EQ_INT(bad, 0, "20000 random records: byte-identical lines");
	tap_ok(lens >= 1, "a line of exactly AUDIT_LINE_MAX - 1 bytes (%d)", lens);
	lens = 0;
	tap_ok(truncated > 50, "truncation boundary exercised (%d)", truncated);
	audit_destroy(&a);
	close(fds[0]);
	close(fds[1]);

	/* Timeline entries: the same line, and the same -ENOSPC boundary. */
	for (i = 0; i < 3000; i++) {
		struct audit_tl_entry e;
		struct ref_line_opts o = { .seq = rnd() % 4 ? rnd_u64() : 0 };
		struct ref_jbuf b;
		int len = (int)(rnd() % 400), r1, r2;

		rnd_record(&x);
		e = (struct audit_tl_entry){
			.seq = o.seq, .mono_ms = x.clk.mono_ms,
			.wall_ms = x.clk.wall_ms, .version = x.r.version,
			.dwell_ms = x.r.dwell_ms, .session_id = x.r.session_id,
			.path_old = x.r.path_old, .path_new = x.r.path_new,
			.type = (uint8_t)x.r.type, .action = (uint8_t)x.r.action,
			.fields = (uint8_t)x.r.fields, .from = (uint8_t)x.r.from,
			.to = (uint8_t)x.r.to, .event = (uint8_t)x.r.event,
			.reason = (uint8_t)x.r.reason };
		x.r.extra = NULL;
		x.r.n_extra = 0;
		b = (struct ref_jbuf){ .p = want, .cap = (size_t)len };
		r1 = -ENOSPC;
		if (len) {
			ref_format_line(&b, &o, &x.r, &x.clk);
			if (!b.overflow) {
				b.len--;
				want[b.len] = '\0';
				r1 = (int)b.len;
			}
		}
		r2 = audit_format_tl_entry(&e, got, (size_t)len);
		lens += r1 > 0;
		if (r1 != r2 || (r1 > 0 && memcmp(want, got, (size_t)r1 + 1)))
			tl_bad++;
	}
	TAP_EQ_INT(tl_bad, 0, "timeline entries: same JSON, same -ENOSPC");
	tap_ok(lens > 100 && lens < 2900, "both outcomes exercised (%d)", lens);

	for (i = 0; i < 200000; i++) {
		int64_t v = rnd_wall();
		size_t len = rnd() % 4 ? sizeof(w1) : rnd() % 30;
		int r1 = ref_audit_format_wall(v, w1, len);
		int r2 = audit_format_wall(v, w2, len);

		if (r1 != r2 || (r1 > 0 && strcmp(w1, w2)))
			walls++;
	}
	for (j = -3; j <= 3; j++) {	/* both ends of years 0..9999 */
		int64_t edge[] = { -62167219200000LL, 253402300800000LL };
		int k;

		for (k = 0; k < 2; k++) {
			int64_t v = edge[k] + j;

			if (ref_audit_format_wall(v, w1, sizeof(w1)) !=
			    audit_format_wall(v, w2, sizeof(w2)) ||
			    strcmp(w1, w2))
				walls++;
		}
	}
	TAP_EQ_INT(walls, 0, "wall: same text and errors as gmtime_r");
}

int main(void)
{
	test_wall();
	test_basic_lines();
	test_refusal_record();
	test_ring_full();
	test_blocked_sink();
	test_failing_sink();
	test_extras_escaping();
	test_truncation();
	test_timeline();
	test_init_limits();
	test_writer_matches_reference();
	return tap_done();
}
