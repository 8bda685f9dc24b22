// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd audit log: JSON lines through a bounded byte ring, and a bounded
 * per-session timeline.  See audit.h for the contract.
 *
 * Why a byte ring of formatted lines rather than a ring of structs: the
 * record is formatted once, at emit time, while its inputs (extra strings)
 * are still valid; memory is spent only on bytes that will be written;
 * and the flush path is a plain write() of a contiguous span, so a sink
 * that accepts part of it (a nearly full pipe) simply resumes mid-line on
 * the next call without re-formatting anything.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

_Static_assert(FSM_REASON_COUNT <= UINT8_MAX, "reason must fit a u8");
_Static_assert(FSM_EVENT_COUNT <= UINT8_MAX, "event must fit a u8");
_Static_assert(AUDIT_ACTION_COUNT <= UINT8_MAX, "action must fit a u8");

/* Each flush does at most this many write() calls: bounded event work. */
#define AUDIT_FLUSH_WRITES	16

static const char *const type_names[AUDIT_TYPE_COUNT] = {
	[AUDIT_T_EVENT] = "AUDIT_EVENT",
	[AUDIT_T_STATE_CHANGE] = "STATE_CHANGE",
	[AUDIT_T_SECURITY] = "SECURITY_EVENT",
};

static const char *const action_names[AUDIT_ACTION_COUNT] = {
	[AUDIT_ACT_NONE] = "none",
	[AUDIT_ACT_TRANSITION_REFUSED] = "transition_refused",
	[AUDIT_ACT_SESSION_CREATED] = "session_created",
	[AUDIT_ACT_SESSION_REMOVED] = "session_removed",
	[AUDIT_ACT_PATH_ADDED] = "path_added",
	[AUDIT_ACT_PATH_REMOVED] = "path_removed",
	[AUDIT_ACT_PATH_SWITCHED] = "path_switched",
	[AUDIT_ACT_REATTACH_REJECTED] = "reattach_rejected",
	[AUDIT_ACT_HANDSHAKE_REJECTED] = "handshake_rejected",
	[AUDIT_ACT_RATE_LIMITED] = "rate_limited",
	[AUDIT_ACT_POLICY_DENIED] = "policy_denied",
	[AUDIT_ACT_CONFIG_LOADED] = "config_loaded",
	[AUDIT_ACT_DAEMON_STARTED] = "daemon_started",
	[AUDIT_ACT_DAEMON_STOPPING] = "daemon_stopping",
	[AUDIT_ACT_KERNEL_EVENTS_LOST] = "kernel_events_lost",
};

/* Keys of the fixed schema; an extra field may not reuse them. */
static const char *const schema_keys[] = {
	"seq", "mono_ms", "wall", "type", "session", "action", "from", "to",
	"event", "reason", "path_old", "path_new", "version", "dwell_ms",
	"lost", "truncated",
};

const char *audit_type_name(enum audit_type t)
{
	if ((unsigned int)t >= AUDIT_TYPE_COUNT)
		return "UNKNOWN";
	return type_names[t];
}

const char *audit_action_name(enum audit_action act)
{
	if ((unsigned int)act >= AUDIT_ACTION_COUNT)
		return "unknown";
	return action_names[act];
}

/* ---------------------------------------------------------------------- */
/* Bounded JSON builder                                                    */
/* ---------------------------------------------------------------------- */

struct jbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void jb_puts(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

static void jb_printf(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	/* Reject overlong forms, surrogates and code points > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void jb_escape_char(struct jbuf *b, unsigned char c)
{
	switch (c) {
	case '"':
		jb_puts(b, "\\\"");
		break;
	case '\\':
		jb_puts(b, "\\\\");
		break;
	case '\n':
		jb_puts(b, "\\n");
		break;
	case '\r':
		jb_puts(b, "\\r");
		break;
	case '\t':
		jb_puts(b, "\\t");
		break;
	default:
		if (c < 0x20)
			jb_printf(b, "\\u%04x", c);
		else
			jb_put(b, (const char *)&c, 1);
	}
}

static void jb_str(struct jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, seq;

	jb_put(b, "\"", 1);
	while (i < n && !b->overflow) {
		if (s[i] < 0x80) {
			jb_escape_char(b, s[i++]);
			continue;
		}
		seq = utf8_seq_len(s + i, n - i);
		if (!seq) {
			jb_puts(b, "\\ufffd");
			i++;
			continue;
		}
		jb_put(b, (const char *)s + i, seq);
		i += seq;
	}
	jb_put(b, "\"", 1);
}

static void jb_key(struct jbuf *b, const char *key)
{
	jb_printf(b, ",\"%s\":", key);
}

/* ---------------------------------------------------------------------- */
/* Record formatting                                                       */
/* ---------------------------------------------------------------------- */

int audit_format_wall(int64_t wall_ms, char *buf, size_t len)
{
	int64_t secs = wall_ms / 1000, ms = wall_ms % 1000;
	time_t t;
	struct tm tm;
	int n;

	if (ms < 0) {		/* floor division for times before 1970 */
		ms += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return -ERANGE;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)ms);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static bool extra_key_ok(const char *key)
{
	size_t i, n;

	if (!key)
		return false;
	n = strlen(key);
	if (!n || n > AUDIT_EXTRA_KEY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	for (i = 0; i < sizeof(schema_keys) / sizeof(schema_keys[0]); i++)
		if (!strcmp(key, schema_keys[i]))
			return false;
	return true;
}

static void format_extra(struct jbuf *b, const struct audit_kv *kv)
{
	jb_key(b, kv->key);
	switch (kv->type) {
	case AUDIT_KV_STR:
		if (kv->s)
			jb_str(b, kv->s);
		else
			jb_puts(b, "null");
		break;
	case AUDIT_KV_U64:
		jb_printf(b, "%llu", (unsigned long long)kv->u);
		break;
	case AUDIT_KV_S64:
		jb_printf(b, "%lld", (long long)kv->i);
		break;
	case AUDIT_KV_BOOL:
		jb_puts(b, kv->b ? "true" : "false");
		break;
	default:
		jb_puts(b, "null");
	}
}

/* Returns how many extras were skipped for a bad key or type. */
static unsigned int format_extras(struct jbuf *b, const struct audit_record *r)
{
	unsigned int i, n = r->n_extra, bad = 0;

	if (!r->extra)
		return 0;
	if (n > AUDIT_MAX_EXTRA) {
		bad += n - AUDIT_MAX_EXTRA;
		n = AUDIT_MAX_EXTRA;
	}
	for (i = 0; i < n; i++) {
		if (!extra_key_ok(r->extra[i].key) ||
		    (unsigned int)r->extra[i].type > AUDIT_KV_BOOL) {
			bad++;
			continue;
		}
		format_extra(b, &r->extra[i]);
	}
	return bad;
}

static void format_head(struct jbuf *b, uint64_t seq,
			const struct audit_record *r,
			const struct audit_clock *clk)
{
	char wall[40];

	if (seq)
		jb_printf(b, "{\"seq\":%llu", (unsigned long long)seq);
	else
		jb_puts(b, "{\"seq\":null");
	jb_printf(b, ",\"mono_ms\":%llu", (unsigned long long)clk->mono_ms);
	jb_key(b, "wall");
	if (audit_format_wall(clk->wall_ms, wall, sizeof(wall)) > 0)
		jb_str(b, wall);
	else
		jb_puts(b, "null");
	jb_key(b, "type");
	jb_str(b, audit_type_name(r->type));
	jb_key(b, "session");
	if (r->session_id)
		jb_printf(b, "\"%08x\"", r->session_id);
	else
		jb_puts(b, "null");
	if (r->action != AUDIT_ACT_NONE) {
		jb_key(b, "action");
		jb_str(b, audit_action_name(r->action));
	}
}

static void format_path(struct jbuf *b, const char *key, uint32_t path)
{
	jb_key(b, key);
	if (path)
		jb_printf(b, "%u", path);
	else
		jb_puts(b, "null");
}

static void format_body(struct jbuf *b, const struct audit_record *r)
{
	if (r->fields & AUDIT_F_FROM) {
		jb_key(b, "from");
		jb_str(b, fsm_state_name(r->from));
	}
	if (r->fields & AUDIT_F_TO) {
		jb_key(b, "to");
		jb_str(b, fsm_state_name(r->to));
	}
	if (r->fields & AUDIT_F_EVENT) {
		jb_key(b, "event");
		jb_str(b, fsm_event_name(r->event));
	}
	jb_key(b, "reason");
	jb_str(b, fsm_reason_name(r->reason));
	if (r->fields & AUDIT_F_PATHS) {
		format_path(b, "path_old", r->path_old);
		format_path(b, "path_new", r->path_new);
	}
	if (r->fields & AUDIT_F_VERSION)
		jb_printf(b, ",\"version\":%llu",
			  (unsigned long long)r->version);
	if (r->fields & AUDIT_F_DWELL)
		jb_printf(b, ",\"dwell_ms\":%llu",
			  (unsigned long long)r->dwell_ms);
}

struct line_opts {
	uint64_t seq;
	uint64_t lost;
	bool extras;
	bool truncated;
};

/* Format one record; returns skipped extras.  b->overflow on no room. */
static unsigned int format_line(struct jbuf *b, const struct line_opts *o,
				const struct audit_record *r,
				const struct audit_clock *clk)
{
	unsigned int bad = 0;

	format_head(b, o->seq, r, clk);
	format_body(b, r);
	if (o->lost)
		jb_printf(b, ",\"lost\":%llu", (unsigned long long)o->lost);
	if (o->truncated)
		jb_puts(b, ",\"truncated\":true");
	if (o->extras)
		bad = format_extras(b, r);
	jb_puts(b, "}\n");
	return bad;
}

/* ---------------------------------------------------------------------- */
/* Timeline                                                                */
/* ---------------------------------------------------------------------- */

static void tl_from_record(struct audit_tl_entry *e, uint64_t seq,
			   const struct audit_record *r,
			   const struct audit_clock *clk)
{
	*e = (struct audit_tl_entry){
		.seq = seq,
		.mono_ms = clk->mono_ms,
		.wall_ms = clk->wall_ms,
		.version = r->version,
		.dwell_ms = r->dwell_ms,
		.session_id = r->session_id,
		.path_old = r->path_old,
		.path_new = r->path_new,
		.type = (uint8_t)r->type,
		.action = (uint8_t)r->action,
		.fields = (uint8_t)r->fields,
		.from = (uint8_t)r->from,
		.to = (uint8_t)r->to,
		.event = (uint8_t)r->event,
		.reason = (uint8_t)r->reason,
	};
}

static void tl_record(struct audit *a, uint64_t seq,
		      const struct audit_record *r,
		      const struct audit_clock *clk)
{
	struct audit_tl_ring *ring;
	uint32_t slot;
	bool evicted;

	if (!a->tl_capacity || !r->session_id)
		return;
	slot = bmap_find(&a->tl_index, &r->session_id, sizeof(r->session_id));
	if (slot == BMAP_NONE) {
		slot = bmap_insert(&a->tl_index, &r->session_id,
				   sizeof(r->session_id), true, &evicted);
		if (slot == BMAP_NONE)
			return;
		if (evicted)
			a->stats.timeline_evictions++;
		memset(&a->tl[slot], 0, sizeof(a->tl[slot]));
	} else {
		bmap_touch(&a->tl_index, slot);
	}
	ring = &a->tl[slot];
	tl_from_record(&ring->e[ring->next], seq, r, clk);
	ring->next = (ring->next + 1) % AUDIT_TIMELINE_K;
	if (ring->count < AUDIT_TIMELINE_K)
		ring->count++;
}

size_t audit_timeline(const struct audit *a, uint32_t session_id,
		      struct audit_tl_entry *out, size_t max)
{
	const struct audit_tl_ring *ring;
	uint32_t slot, first, i;
	size_t n;

	if (!a->tl_capacity)
		return 0;
	slot = bmap_find(&a->tl_index, &session_id, sizeof(session_id));
	if (slot == BMAP_NONE)
		return 0;
	ring = &a->tl[slot];
	n = ring->count < max ? ring->count : max;
	/* Oldest kept entry first; if max < count, the newest n. */
	first = (ring->next + AUDIT_TIMELINE_K - (uint32_t)n) %
		AUDIT_TIMELINE_K;
	for (i = 0; i < n; i++)
		out[i] = ring->e[(first + i) % AUDIT_TIMELINE_K];
	return n;
}

void audit_timeline_forget(struct audit *a, uint32_t session_id)
{
	uint32_t slot;

	if (!a->tl_capacity)
		return;
	slot = bmap_find(&a->tl_index, &session_id, sizeof(session_id));
	if (slot != BMAP_NONE)
		bmap_remove(&a->tl_index, slot);
}

int audit_format_tl_entry(const struct audit_tl_entry *e, char *buf,
			  size_t len)
{
	struct audit_record r = {
		.type = (enum audit_type)e->type,
		.action = (enum audit_action)e->action,
		.session_id = e->session_id,
		.fields = e->fields,
		.from = (enum fsm_state)e->from,
		.to = (enum fsm_state)e->to,
		.event = (enum fsm_event)e->event,
		.reason = (enum fsm_reason)e->reason,
		.path_old = e->path_old,
		.path_new = e->path_new,
		.version = e->version,
		.dwell_ms = e->dwell_ms,
	};
	struct audit_clock clk = { e->mono_ms, e->wall_ms };
	struct line_opts o = { .seq = e->seq };
	struct jbuf b = { .p = buf, .cap = len };

	if (!len)
		return -ENOSPC;
	format_line(&b, &o, &r, &clk);
	if (b.overflow)
		return -ENOSPC;
	b.len--;		/* drop the newline */
	buf[b.len] = '\0';
	return (int)b.len;
}

/* ---------------------------------------------------------------------- */
/* Ring and sink                                                           */
/* ---------------------------------------------------------------------- */

int audit_init(struct audit *a, const struct audit_config *cfg)
{
	int ret;

	memset(a, 0, sizeof(*a));
	if (cfg->ring_bytes < AUDIT_RING_MIN ||
	    cfg->ring_bytes > AUDIT_RING_MAX ||
	    cfg->timeline_sessions > AUDIT_TIMELINE_MAX)
		return -EINVAL;
	a->ring = malloc(cfg->ring_bytes);
	if (!a->ring)
		return -ENOMEM;
	a->cap = cfg->ring_bytes;
	a->fd = cfg->fd;
	a->next_seq = 1;
	if (!cfg->timeline_sessions)
		return 0;
	ret = bmap_init(&a->tl_index, cfg->timeline_sessions, cfg->hash_key);
	if (!ret) {
		a->tl = calloc(cfg->timeline_sessions, sizeof(*a->tl));
		ret = a->tl ? 0 : -ENOMEM;
	}
	if (ret) {
		audit_destroy(a);
		return ret;
	}
	a->tl_capacity = cfg->timeline_sessions;
	return 0;
}

void audit_destroy(struct audit *a)
{
	free(a->ring);
	free(a->tl);
	bmap_destroy(&a->tl_index);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

void audit_set_sink(struct audit *a, int fd)
{
	a->fd = fd;
}

static void ring_put(struct audit *a, const char *s, size_t n)
{
	size_t tail = (a->head + a->used) % a->cap;
	size_t first = a->cap - tail < n ? a->cap - tail : n;

	memcpy(a->ring + tail, s, first);
	memcpy(a->ring, s + first, n - first);
	a->used += n;
}

int audit_emit(struct audit *a, const struct audit_record *r,
	       const struct audit_clock *clk)
{
	char line[AUDIT_LINE_MAX];
	struct line_opts o = {
		.seq = a->next_seq, .lost = a->lost_pending, .extras = true };
	struct jbuf b = { .p = line, .cap = sizeof(line) };
	unsigned int bad = format_line(&b, &o, r, clk);

	if (b.overflow) {
		/* Extras made it too long: keep the schema, mark the loss.
		 * Without extras a line is far below AUDIT_LINE_MAX.
		 */
		b = (struct jbuf){ .p = line, .cap = sizeof(line) };
		o.extras = false;
		o.truncated = true;
		bad = 0;
		format_line(&b, &o, r, clk);
		a->stats.truncated++;
	}
	a->stats.bad_extras += bad;
	if (b.overflow || b.len > a->cap - a->used) {
		a->stats.dropped++;
		a->lost_pending++;
		tl_record(a, 0, r, clk);
		return -ENOBUFS;
	}
	ring_put(a, line, b.len);
	a->stats.emitted++;
	a->lost_pending = 0;
	tl_record(a, a->next_seq++, r, clk);
	return 0;
}

int audit_emit_fsm(struct audit *a, const struct fsm_result *res,
		   uint32_t path_old, uint32_t path_new,
		   const struct audit_clock *clk,
		   const struct audit_kv *extra, unsigned int n_extra)
{
	bool ok = res->verdict == FSM_ACCEPTED;
	struct audit_record r = {
		.type = ok ? AUDIT_T_STATE_CHANGE : AUDIT_T_SECURITY,
		.action = ok ? AUDIT_ACT_NONE : AUDIT_ACT_TRANSITION_REFUSED,
		.session_id = res->session_id,
		.fields = AUDIT_F_FROM | AUDIT_F_EVENT | AUDIT_F_VERSION |
			  AUDIT_F_PATHS | AUDIT_F_DWELL |
			  (ok ? AUDIT_F_TO : 0),
		.from = res->from,
		.to = res->to,
		.event = res->event,
		.reason = res->reason,
		.path_old = path_old,
		.path_new = path_new,
		.version = res->version,
		.dwell_ms = res->dwell_ms,
		.extra = extra,
		.n_extra = n_extra,
	};

	return audit_emit(a, &r, clk);
}

/*
 * One write() of the contiguous queued span: bytes written (> 0), 0 after
 * EINTR (try again), -EAGAIN when the sink takes nothing now, or -errno.
 */
static ssize_t write_span(struct audit *a)
{
	size_t span = a->cap - a->head < a->used ? a->cap - a->head : a->used;
	ssize_t n = write(a->fd, a->ring + a->head, span);

	if (n > 0) {
		a->head = (a->head + (size_t)n) % a->cap;
		a->used -= (size_t)n;
		a->stats.bytes_written += (uint64_t)n;
		return n;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
		a->stats.write_blocked++;
		return -EAGAIN;
	}
	a->stats.write_errors++;
	a->stats.last_errno = errno;
	return -errno;
}

ssize_t audit_flush(struct audit *a)
{
	ssize_t total = 0, n = 0;
	int i;

	if (a->fd < 0)
		return 0;
	for (i = 0; i < AUDIT_FLUSH_WRITES && a->used; i++) {
		n = write_span(a);
		if (n < 0)
			break;
		total += n;
	}
	if (!a->used)
		a->head = 0;	/* keep the next span contiguous */
	if (n < 0 && n != -EAGAIN)
		return n;
	return total;
}

size_t audit_pending(const struct audit *a)
{
	return a->used;
}

uint64_t audit_next_seq(const struct audit *a)
{
	return a->next_seq;
}

const struct audit_stats *audit_get_stats(const struct audit *a)
{
	return &a->stats;
}
