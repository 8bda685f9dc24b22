/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The audit record formatter as it was before the snprintf-free writer
 * (daemon/audit.c at 7c427f6), kept verbatim but for the ref_ prefix:
 * test_audit.c checks that the new writer's output is byte-identical.
 * Included by test_audit.c only.
 */
#ifndef JVPN_TEST_AUDIT_REF_H
#define JVPN_TEST_AUDIT_REF_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../daemon/audit.h"

static const char *const ref_schema_keys[] = {
	"seq", "mono_ms", "wall", "type", "session", "action", "from", "to",
	"event", "reason", "path_old", "path_new", "version", "dwell_ms",
	"lost", "truncated",
};

struct ref_jbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void ref_jb_put(struct ref_jbuf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void ref_jb_puts(struct ref_jbuf *b, const char *s)
{
	ref_jb_put(b, s, strlen(s));
}

static void ref_jb_printf(struct ref_jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ref_jb_printf(struct ref_jbuf *b, const char *fmt, ...)
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
static size_t ref_utf8_seq_len(const unsigned char *s, size_t n)
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

static void ref_jb_escape_char(struct ref_jbuf *b, unsigned char c)
{
	switch (c) {
	case '"':
		ref_jb_puts(b, "\\\"");
		break;
	case '\\':
		ref_jb_puts(b, "\\\\");
		break;
	case '\n':
		ref_jb_puts(b, "\\n");
		break;
	case '\r':
		ref_jb_puts(b, "\\r");
		break;
	case '\t':
		ref_jb_puts(b, "\\t");
		break;
	default:
		if (c < 0x20)
			ref_jb_printf(b, "\\u%04x", c);
		else
			ref_jb_put(b, (const char *)&c, 1);
	}
}

static void ref_jb_str(struct ref_jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, seq;

	ref_jb_put(b, "\"", 1);
	while (i < n && !b->overflow) {
		if (s[i] < 0x80) {
			ref_jb_escape_char(b, s[i++]);
			continue;
		}
		seq = ref_utf8_seq_len(s + i, n - i);
		if (!seq) {
			ref_jb_puts(b, "\\ufffd");
			i++;
			continue;
		}
		ref_jb_put(b, (const char *)s + i, seq);
		i += seq;
	}
	ref_jb_put(b, "\"", 1);
}

static void ref_jb_key(struct ref_jbuf *b, const char *key)
{
	ref_jb_printf(b, ",\"%s\":", key);
}

/* ---------------------------------------------------------------------- */
/* Record formatting                                                       */
/* ---------------------------------------------------------------------- */

static int ref_audit_format_wall(int64_t wall_ms, char *buf, size_t len)
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

static bool ref_extra_key_ok(const char *key)
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
	for (i = 0; i < sizeof(ref_schema_keys) / sizeof(ref_schema_keys[0]); i++)
		if (!strcmp(key, ref_schema_keys[i]))
			return false;
	return true;
}

static void ref_format_extra(struct ref_jbuf *b, const struct audit_kv *kv)
{
	ref_jb_key(b, kv->key);
	switch (kv->type) {
	case AUDIT_KV_STR:
		if (kv->s)
			ref_jb_str(b, kv->s);
		else
			ref_jb_puts(b, "null");
		break;
	case AUDIT_KV_U64:
		ref_jb_printf(b, "%llu", (unsigned long long)kv->u);
		break;
	case AUDIT_KV_S64:
		ref_jb_printf(b, "%lld", (long long)kv->i);
		break;
	case AUDIT_KV_BOOL:
		ref_jb_puts(b, kv->b ? "true" : "false");
		break;
	default:
		ref_jb_puts(b, "null");
	}
}

/* Returns how many extras were skipped for a bad key or type. */
static unsigned int ref_format_extras(struct ref_jbuf *b,
				      const struct audit_record *r)
{
	unsigned int i, n = r->n_extra, bad = 0;

	if (!r->extra)
		return 0;
	if (n > AUDIT_MAX_EXTRA) {
		bad += n - AUDIT_MAX_EXTRA;
		n = AUDIT_MAX_EXTRA;
	}
	for (i = 0; i < n; i++) {
		if (!ref_extra_key_ok(r->extra[i].key) ||
		    (unsigned int)r->extra[i].type > AUDIT_KV_BOOL) {
			bad++;
			continue;
		}
		ref_format_extra(b, &r->extra[i]);
	}
	return bad;
}

static void ref_format_head(struct ref_jbuf *b, uint64_t seq,
			const struct audit_record *r,
			const struct audit_clock *clk)
{
	char wall[40];

	if (seq)
		ref_jb_printf(b, "{\"seq\":%llu", (unsigned long long)seq);
	else
		ref_jb_puts(b, "{\"seq\":null");
	ref_jb_printf(b, ",\"mono_ms\":%llu", (unsigned long long)clk->mono_ms);
	ref_jb_key(b, "wall");
	if (ref_audit_format_wall(clk->wall_ms, wall, sizeof(wall)) > 0)
		ref_jb_str(b, wall);
	else
		ref_jb_puts(b, "null");
	ref_jb_key(b, "type");
	ref_jb_str(b, audit_type_name(r->type));
	ref_jb_key(b, "session");
	if (r->session_id)
		ref_jb_printf(b, "\"%08x\"", r->session_id);
	else
		ref_jb_puts(b, "null");
	if (r->action != AUDIT_ACT_NONE) {
		ref_jb_key(b, "action");
		ref_jb_str(b, audit_action_name(r->action));
	}
}

static void ref_format_path(struct ref_jbuf *b, const char *key, uint32_t path)
{
	ref_jb_key(b, key);
	if (path)
		ref_jb_printf(b, "%u", path);
	else
		ref_jb_puts(b, "null");
}

static void ref_format_body(struct ref_jbuf *b, const struct audit_record *r)
{
	if (r->fields & AUDIT_F_FROM) {
		ref_jb_key(b, "from");
		ref_jb_str(b, fsm_state_name(r->from));
	}
	if (r->fields & AUDIT_F_TO) {
		ref_jb_key(b, "to");
		ref_jb_str(b, fsm_state_name(r->to));
	}
	if (r->fields & AUDIT_F_EVENT) {
		ref_jb_key(b, "event");
		ref_jb_str(b, fsm_event_name(r->event));
	}
	ref_jb_key(b, "reason");
	ref_jb_str(b, fsm_reason_name(r->reason));
	if (r->fields & AUDIT_F_PATHS) {
		ref_format_path(b, "path_old", r->path_old);
		ref_format_path(b, "path_new", r->path_new);
	}
	if (r->fields & AUDIT_F_VERSION)
		ref_jb_printf(b, ",\"version\":%llu",
			  (unsigned long long)r->version);
	if (r->fields & AUDIT_F_DWELL)
		ref_jb_printf(b, ",\"dwell_ms\":%llu",
			  (unsigned long long)r->dwell_ms);
}

struct ref_line_opts {
	uint64_t seq;
	uint64_t lost;
	bool extras;
	bool truncated;
};

/* Format one record; returns skipped extras.  b->overflow on no room. */
static unsigned int ref_format_line(struct ref_jbuf *b,
				    const struct ref_line_opts *o,
				const struct audit_record *r,
				const struct audit_clock *clk)
{
	unsigned int bad = 0;

	ref_format_head(b, o->seq, r, clk);
	ref_format_body(b, r);
	if (o->lost)
		ref_jb_printf(b, ",\"lost\":%llu", (unsigned long long)o->lost);
	if (o->truncated)
		ref_jb_puts(b, ",\"truncated\":true");
	if (o->extras)
		bad = ref_format_extras(b, r);
	ref_jb_puts(b, "}\n");
	return bad;
}


/* audit_emit()'s line for r: with extras, or truncated without them. */
static int ref_emit_line(char *line, size_t cap, uint64_t seq, uint64_t lost,
			 const struct audit_record *r,
			 const struct audit_clock *clk)
{
	struct ref_line_opts o = { .seq = seq, .lost = lost, .extras = true };
	struct ref_jbuf b = { .p = line, .cap = cap };

	ref_format_line(&b, &o, r, clk);
	if (b.overflow) {
		b = (struct ref_jbuf){ .p = line, .cap = cap };
		o.extras = false;
		o.truncated = true;
		ref_format_line(&b, &o, r, clk);
	}
	return b.overflow ? -ENOSPC : (int)b.len;
}

#endif /* JVPN_TEST_AUDIT_REF_H */
