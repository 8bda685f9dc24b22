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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

_Static_assert(FSM_REASON_COUNT <= UINT8_MAX, "reason must fit a u8");
_Static_assert(FSM_EVENT_COUNT <= UINT8_MAX, "event must fit a u8");
_Static_assert(AUDIT_ACTION_COUNT <= UINT8_MAX, "action must fit a u8");
_Static_assert(AUDIT_TIMELINE_K <= UINT16_MAX && AUDIT_TL_CHUNK_K <= UINT16_MAX,
	       "timeline counts must fit a u16");
_Static_assert(AUDIT_TL_CHUNKS_PER * AUDIT_TL_CHUNK_K >=
	       AUDIT_TIMELINE_K + AUDIT_TL_CHUNK_K - 1,
	       "a full timeline and the dropped head of its first chunk fit");
_Static_assert((uint64_t)AUDIT_TIMELINE_MAX * AUDIT_TL_CHUNKS_PER < UINT32_MAX,
	       "chunk references fit a u32");

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
/* Bounded JSON writer                                                     */
/* ---------------------------------------------------------------------- */

/*
 * Appends without snprintf: integers, fixed keys and hex ids are written
 * directly, strings copied in runs of bytes that need no escape.  lim is
 * the most bytes the line may hold (its buffer size - 1): an append that
 * would pass it sets overflow, and everything after it is skipped, which
 * is the bound the snprintf-based builder applied before (byte-identical
 * output; tests/unit/test_audit.c compares the two).
 */
struct jbuf {
	char *p;
	size_t len, lim;
	bool overflow;
};

static inline void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->lim - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define JB_LIT(b, lit)	jb_put((b), (lit), sizeof(lit) - 1)

static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

static const uint64_t pow10_tab[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/* Decimal digits of v (1..20). */
static inline unsigned int dec_len(uint64_t v)
{
	unsigned int t = ((unsigned int)(64 - __builtin_clzll(v | 1)) *
			  1233) >> 12;

	return v ? t + (v >= pow10_tab[t]) : 1;
}

/* Decimal, as jb_u64() writes it. */
static inline char *w_u64(char *p, uint64_t v)
{
	char *e = p + dec_len(v), *q = e;

	while (v >= 100) {
		unsigned int d = (unsigned int)(v % 100);

		v /= 100;
		q -= 2;
		memcpy(q, digits2 + 2 * d, 2);
	}
	if (v >= 10)
		memcpy(q - 2, digits2 + 2 * v, 2);
	else
		q[-1] = (char)('0' + v);
	return e;
}

static inline void jb_u64(struct jbuf *b, uint64_t v)
{
	char tmp[20];

	if (!b->overflow && b->lim - b->len >= sizeof(tmp)) {
		b->len = (size_t)(w_u64(b->p + b->len, v) - b->p);
		return;
	}
	jb_put(b, tmp, (size_t)(w_u64(tmp, v) - tmp));
}

static inline void jb_s64(struct jbuf *b, int64_t v)
{
	if (v < 0) {
		JB_LIT(b, "-");
		jb_u64(b, (uint64_t)0 - (uint64_t)v);
		return;
	}
	jb_u64(b, (uint64_t)v);
}

static const char hexdig[16] = "0123456789abcdef";

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

/* ASCII bytes copied as they are: printable and neither '"' nor '\\'. */
#define PLAIN_8(c)	[c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, \
			[c + 4] = 1, [c + 5] = 1, [c + 6] = 1, [c + 7] = 1
static const uint8_t plain_tab[256] = {
	[0x20] = 1, [0x21] = 1, /* '"' */ [0x23] = 1, [0x24] = 1,
	[0x25] = 1, [0x26] = 1, [0x27] = 1,
	PLAIN_8(0x28), PLAIN_8(0x30), PLAIN_8(0x38),
	PLAIN_8(0x40), PLAIN_8(0x48), PLAIN_8(0x50),
	[0x58] = 1, [0x59] = 1, [0x5a] = 1, [0x5b] = 1, /* '\\' */
	[0x5d] = 1, [0x5e] = 1, [0x5f] = 1,
	PLAIN_8(0x60), PLAIN_8(0x68), PLAIN_8(0x70), PLAIN_8(0x78),
};
#undef PLAIN_8

static inline bool plain_byte(unsigned char c)
{
	return plain_tab[c];
}

static void jb_escape_char(struct jbuf *b, unsigned char c)
{
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };

	switch (c) {
	case '"':
		JB_LIT(b, "\\\"");
		break;
	case '\\':
		JB_LIT(b, "\\\\");
		break;
	case '\n':
		JB_LIT(b, "\\n");
		break;
	case '\r':
		JB_LIT(b, "\\r");
		break;
	case '\t':
		JB_LIT(b, "\\t");
		break;
	default:		/* a control character: "\u%04x" */
		u[4] = hexdig[c >> 4];
		u[5] = hexdig[c & 0xf];
		jb_put(b, u, sizeof(u));
	}
}

static void jb_str_slow(struct jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, seq;

	JB_LIT(b, "\"");
	/* One pass: runs of plain bytes end at a special byte or the NUL. */
	while (!b->overflow) {
		for (run = i; plain_byte(s[run]); run++)
			;
		if (run > i) {
			jb_put(b, (const char *)s + i, run - i);
			i = run;
		}
		if (!s[i])
			break;
		if (s[i] < 0x80) {
			jb_escape_char(b, s[i++]);
			continue;
		}
		seq = utf8_seq_len(s + i, strnlen((const char *)s + i, 4));
		if (!seq) {
			JB_LIT(b, "\\ufffd");
			i++;
			continue;
		}
		jb_put(b, (const char *)s + i, seq);
		i += seq;
	}
	JB_LIT(b, "\"");
}

/*
 * A string as JSON: in one pass when it needs no escape and fits (the
 * common case), else jb_str_slow() from the start, whose result is the
 * same for such a string (the bytes written past len here do not count).
 */
static void jb_str(struct jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t room, k = 1;
	char *o;

	if (!b->overflow && (room = b->lim - b->len) >= 2) {
		o = b->p + b->len;
		o[0] = '"';
		while (k < room && plain_byte(*s))
			o[k++] = (char)*s++;
		if (!*s && k < room) {
			o[k++] = '"';
			b->len += k;
			return;
		}
	}
	jb_str_slow(b, str);
}

/* ,"key": for a key known to need no escaping. */
static void jb_key(struct jbuf *b, const char *key, size_t n)
{
	char *o;

	if (b->overflow || n + 4 > b->lim - b->len) {
		b->overflow = true;
		return;
	}
	o = b->p + b->len;
	o[0] = ',';
	o[1] = '"';
	memcpy(o + 2, key, n);
	o[n + 2] = '"';
	o[n + 3] = ':';
	b->len += n + 4;
}

/* ---------------------------------------------------------------------- */
/* Record formatting                                                       */
/* ---------------------------------------------------------------------- */

#define WALL_LEN	24	/* "2026-01-02T03:04:05.678Z" */

/* Proleptic Gregorian date of days since 1970-01-01 (H. Hinnant). */
static void civil_from_days(int64_t z, int64_t *y, unsigned int *m,
			    unsigned int *d)
{
	int64_t era, yy;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static void put_digits(char *p, unsigned int v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The 24 characters of wall_ms, or -ERANGE outside years 0..9999. */
static int format_wall24(int64_t wall_ms, char out[WALL_LEN])
{
	int64_t secs = wall_ms / 1000, ms = wall_ms % 1000, days, sod, year;
	unsigned int mon, mday;

	if (ms < 0) {		/* floor division for times before 1970 */
		ms += 1000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &year, &mon, &mday);
	if (year < 0 || year > 9999)
		return -ERANGE;
	put_digits(out, (unsigned int)year, 4);
	out[4] = '-';
	put_digits(out + 5, mon, 2);
	out[7] = '-';
	put_digits(out + 8, mday, 2);
	out[10] = 'T';
	put_digits(out + 11, (unsigned int)(sod / 3600), 2);
	out[13] = ':';
	put_digits(out + 14, (unsigned int)(sod / 60 % 60), 2);
	out[16] = ':';
	put_digits(out + 17, (unsigned int)(sod % 60), 2);
	out[19] = '.';
	put_digits(out + 20, (unsigned int)ms, 3);
	out[23] = 'Z';
	return WALL_LEN;
}

int audit_format_wall(int64_t wall_ms, char *buf, size_t len)
{
	char w[WALL_LEN];
	int ret = format_wall24(wall_ms, w);

	if (ret < 0)
		return ret;
	if (len <= WALL_LEN)
		return -ENOSPC;
	memcpy(buf, w, WALL_LEN);
	buf[WALL_LEN] = '\0';
	return WALL_LEN;
}

/*
 * format_wall24() through a cache of the last second formatted: records
 * come many per second, and the date is the costly part.
 */
static int wall_cached(struct audit_wall_cache *wc, int64_t wall_ms,
		       char out[WALL_LEN])
{
	int64_t ms = wall_ms % 1000, sec = wall_ms - ms;
	int ret;

	if (!wc || ms < 0)
		return format_wall24(wall_ms, out);
	if (!wc->valid || wc->sec_ms != sec) {
		ret = format_wall24(sec, wc->s);
		if (ret < 0)
			return ret;
		wc->sec_ms = sec;
		wc->valid = true;
	}
	memcpy(out, wc->s, WALL_LEN - 4);
	put_digits(out + WALL_LEN - 4, (unsigned int)ms, 3);
	out[WALL_LEN - 1] = 'Z';
	return WALL_LEN;
}

/* Keys of the fixed schema; an extra field may not reuse them. */
static bool schema_key(const char *key, size_t n)
{
#define IS(k)	(n == sizeof(k) - 1 && !memcmp(key, k, n))
	switch (key[0]) {
	case 'a':
		return IS("action");
	case 'd':
		return IS("dwell_ms");
	case 'e':
		return IS("event");
	case 'f':
		return IS("from");
	case 'l':
		return IS("lost");
	case 'm':
		return IS("mono_ms");
	case 'p':
		return IS("path_old") || IS("path_new");
	case 'r':
		return IS("reason");
	case 's':
		return IS("seq") || IS("session");
	case 't':
		return IS("type") || IS("to") || IS("truncated");
	case 'v':
		return IS("version");
	case 'w':
		return IS("wall");
	default:
		return false;
	}
#undef IS
}

/* [a-z0-9_]: the characters of an extra key. */
#define KEY_8(c)	[c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, \
			[c + 4] = 1, [c + 5] = 1, [c + 6] = 1, [c + 7] = 1
static const uint8_t key_tab[256] = {
	KEY_8('0'), ['8'] = 1, ['9'] = 1, ['_'] = 1,
	KEY_8('a'), KEY_8('i'), KEY_8('q'), ['y'] = 1, ['z'] = 1,
};
#undef KEY_8

/* Length of a valid extra key, 0 if invalid. */
static size_t extra_key_len(const char *key)
{
	size_t n;

	if (!key)
		return 0;
	for (n = 0; key[n]; n++)
		if (n >= AUDIT_EXTRA_KEY_MAX ||
		    !key_tab[(unsigned char)key[n]])
			return 0;
	if (!n || schema_key(key, n))
		return 0;
	return n;
}

static void format_extra(struct jbuf *b, const struct audit_kv *kv,
			 size_t key_len)
{
	jb_key(b, kv->key, key_len);
	switch (kv->type) {
	case AUDIT_KV_STR:
		if (kv->s)
			jb_str(b, kv->s);
		else
			JB_LIT(b, "null");
		break;
	case AUDIT_KV_U64:
		jb_u64(b, kv->u);
		break;
	case AUDIT_KV_S64:
		jb_s64(b, kv->i);
		break;
	case AUDIT_KV_BOOL:
		if (kv->b)
			JB_LIT(b, "true");
		else
			JB_LIT(b, "false");
		break;
	default:
		JB_LIT(b, "null");
	}
}

/* Returns how many extras were skipped for a bad key or type. */
static unsigned int format_extras(struct jbuf *b, const struct audit_record *r)
{
	unsigned int i, n = r->n_extra, bad = 0;
	size_t klen;

	if (!r->extra)
		return 0;
	if (n > AUDIT_MAX_EXTRA) {
		bad += n - AUDIT_MAX_EXTRA;
		n = AUDIT_MAX_EXTRA;
	}
	for (i = 0; i < n; i++) {
		klen = extra_key_len(r->extra[i].key);
		if (!klen || (unsigned int)r->extra[i].type > AUDIT_KV_BOOL) {
			bad++;
			continue;
		}
		format_extra(b, &r->extra[i], klen);
	}
	return bad;
}

/*
 * The fixed part of a line (everything but the extras and the closing
 * "}\n") is written without bounds checks into a buffer of FIXED_MAX
 * bytes: with 20-digit numbers and the longest names it stays far below
 * that (about 500 bytes).  Whether it fits the caller's line is decided
 * once, on its whole length: an append that would pass the limit
 * overflows whatever its place, so the outcome is the same as appending
 * piece by piece.
 */
#define FIXED_MAX	768
#define NAME_MAX_LEN	64	/* above the longest enum name */

_Static_assert(FIXED_MAX <= AUDIT_LINE_MAX, "the fixed part fits a line");

static inline char *w_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define W_LIT(p, lit)	((p) = w_mem((p), (lit), sizeof(lit) - 1))

/*
 * An enum's name, quoted.  The names (fsm.c, audit.c) are identifiers:
 * nothing in them needs escaping, so this is what jb_str() writes for
 * them (test_audit.c checks every name against the reference writer).
 */
static inline char *w_name(char *p, const char *name)
{
	size_t n = strnlen(name, NAME_MAX_LEN);

	*p++ = '"';
	p = w_mem(p, name, n);
	*p++ = '"';
	return p;
}

/* "%08x" with its quotes. */
static inline char *w_hex32_quoted(char *p, uint32_t v)
{
	int i;

	p[0] = '"';
	for (i = 8; i >= 1; i--) {
		p[i] = hexdig[v & 0xf];
		v >>= 4;
	}
	p[9] = '"';
	return p + 10;
}

static inline char *w_path(char *p, uint32_t path)
{
	if (path)
		return w_u64(p, path);
	W_LIT(p, "null");
	return p;
}

struct line_opts {
	struct audit_wall_cache *wc;	/* NULL: none */
	uint64_t seq;
	uint64_t lost;
};

/* The fixed part of the line at out (FIXED_MAX bytes); its length. */
static size_t format_fixed(char *out, const struct line_opts *o,
			   const struct audit_record *r,
			   const struct audit_clock *clk)
{
	char *p = out;

	if (o->seq) {
		W_LIT(p, "{\"seq\":");
		p = w_u64(p, o->seq);
	} else {
		W_LIT(p, "{\"seq\":null");
	}
	W_LIT(p, ",\"mono_ms\":");
	p = w_u64(p, clk->mono_ms);
	W_LIT(p, ",\"wall\":\"");
	if (wall_cached(o->wc, clk->wall_ms, p) > 0) {
		p += WALL_LEN;
		*p++ = '"';
	} else {
		p--;
		W_LIT(p, "null");
	}
	W_LIT(p, ",\"type\":");
	p = w_name(p, audit_type_name(r->type));
	W_LIT(p, ",\"session\":");
	if (r->session_id)
		p = w_hex32_quoted(p, r->session_id);
	else
		W_LIT(p, "null");
	if (r->action != AUDIT_ACT_NONE) {
		W_LIT(p, ",\"action\":");
		p = w_name(p, audit_action_name(r->action));
	}
	if (r->fields & AUDIT_F_FROM) {
		W_LIT(p, ",\"from\":");
		p = w_name(p, fsm_state_name(r->from));
	}
	if (r->fields & AUDIT_F_TO) {
		W_LIT(p, ",\"to\":");
		p = w_name(p, fsm_state_name(r->to));
	}
	if (r->fields & AUDIT_F_EVENT) {
		W_LIT(p, ",\"event\":");
		p = w_name(p, fsm_event_name(r->event));
	}
	W_LIT(p, ",\"reason\":");
	p = w_name(p, fsm_reason_name(r->reason));
	if (r->fields & AUDIT_F_PATHS) {
		W_LIT(p, ",\"path_old\":");
		p = w_path(p, r->path_old);
		W_LIT(p, ",\"path_new\":");
		p = w_path(p, r->path_new);
	}
	if (r->fields & AUDIT_F_VERSION) {
		W_LIT(p, ",\"version\":");
		p = w_u64(p, r->version);
	}
	if (r->fields & AUDIT_F_DWELL) {
		W_LIT(p, ",\"dwell_ms\":");
		p = w_u64(p, r->dwell_ms);
	}
	if (o->lost) {
		W_LIT(p, ",\"lost\":");
		p = w_u64(p, o->lost);
	}
	return (size_t)(p - out);
}

/* ---------------------------------------------------------------------- */
/* Timeline                                                                */
/* ---------------------------------------------------------------------- */

/* Every "what" the daemon gives an action-less AUDIT_EVENT. */
static const char *const tl_whats[] = {
	AUDIT_WHAT_UNKNOWN_SOURCE, AUDIT_WHAT_REKEY, AUDIT_WHAT_REKEY_TIMEOUT,
	AUDIT_WHAT_LINK_DOWN, AUDIT_WHAT_REATTACH_NOT_STARTED,
};
#define N_TL_WHATS	(sizeof(tl_whats) / sizeof(tl_whats[0]))
_Static_assert(sizeof(struct audit_tl_rec) == 56,
	       "the what code must fit in the entry's padding");

const char *audit_tl_what(uint8_t code)
{
	return code && code <= N_TL_WHATS ? tl_whats[code - 1] : NULL;
}

static uint8_t tl_what_code(const struct audit_record *r)
{
	const struct audit_kv *kv;
	unsigned int i, j;

	if (r->type != AUDIT_T_EVENT || r->action != AUDIT_ACT_NONE)
		return 0;
	for (i = 0; i < r->n_extra; i++) {
		kv = &r->extra[i];
		if (kv->type != AUDIT_KV_STR || !kv->s || strcmp(kv->key, "what"))
			continue;
		for (j = 0; j < N_TL_WHATS; j++)
			if (!strcmp(kv->s, tl_whats[j]))
				return (uint8_t)(j + 1);
		return 0;
	}
	return 0;
}

static void tl_from_record(struct audit_tl_rec *e, uint64_t seq,
			   const struct audit_record *r,
			   const struct audit_clock *clk)
{
	*e = (struct audit_tl_rec){
		.seq = seq,
		.mono_ms = clk->mono_ms,
		.wall_ms = clk->wall_ms,
		.version = r->version,
		.dwell_ms = r->dwell_ms,
		.path_old = r->path_old,
		.path_new = r->path_new,
		.type = (uint8_t)r->type,
		.action = (uint8_t)r->action,
		.fields = (uint8_t)r->fields,
		.from = (uint8_t)r->from,
		.to = (uint8_t)r->to,
		.event = (uint8_t)r->event,
		.reason = (uint8_t)r->reason,
		.what = tl_what_code(r),
	};
}

static void tl_to_entry(struct audit_tl_entry *e, const struct audit_tl_rec *r,
			uint32_t session_id)
{
	*e = (struct audit_tl_entry){
		.seq = r->seq,
		.mono_ms = r->mono_ms,
		.wall_ms = r->wall_ms,
		.version = r->version,
		.dwell_ms = r->dwell_ms,
		.session_id = session_id,
		.path_old = r->path_old,
		.path_new = r->path_new,
		.type = r->type,
		.action = r->action,
		.fields = r->fields,
		.from = r->from,
		.to = r->to,
		.event = r->event,
		.reason = r->reason,
		.what = r->what,
	};
}

static struct audit_tl_chunk *tl_chunk(const struct audit *a, uint32_t ref)
{
	return &a->tl_chunks[ref - 1];
}

/* A chunk (index + 1), 0 if the pool is empty (cannot happen: sized). */
static uint32_t tl_chunk_get(struct audit *a)
{
	struct audit_tl_chunk *c;
	uint32_t ref;

	if (a->tl_free) {
		ref = a->tl_free;
		a->tl_free = tl_chunk(a, ref)->next;
	} else if (a->tl_fresh < a->tl_n_chunks) {
		ref = ++a->tl_fresh;
	} else {
		return 0;
	}
	c = tl_chunk(a, ref);
	c->next = 0;
	c->n = 0;
	return ref;
}

static void tl_chunk_put(struct audit *a, uint32_t ref)
{
	tl_chunk(a, ref)->next = a->tl_free;
	a->tl_free = ref;
}

/* Give a timeline's chunks back; the ring is empty after. */
static void tl_ring_clear(struct audit *a, struct audit_tl_ring *ring)
{
	uint32_t ref = ring->first, next;

	while (ref) {
		next = tl_chunk(a, ref)->next;
		tl_chunk_put(a, ref);
		ref = next;
	}
	ring->first = ring->last = 0;
	ring->skip = ring->count = 0;
}

/* ---- the timeline index: session id -> slot, least recently updated */

static uint32_t *tl_bucket(const struct audit *a, uint32_t sid)
{
	/* Session ids are ours and random; the key keeps it so. */
	uint64_t x = ((uint64_t)sid ^ a->tl_k) * 0x9e3779b97f4a7c15ULL;

	return &a->tl_buckets[(uint32_t)(x >> 32) & a->tl_bucket_mask];
}

/* The slot of sid's timeline, or NULL. */
static struct audit_tl_ring *tl_find(const struct audit *a, uint32_t sid)
{
	uint32_t ref;

	for (ref = *tl_bucket(a, sid); ref; ref = a->tl[ref - 1].hnext)
		if (a->tl[ref - 1].session_id == sid)
			return &a->tl[ref - 1];
	return NULL;
}

static uint32_t tl_ref(const struct audit *a, const struct audit_tl_ring *t)
{
	return (uint32_t)(t - a->tl) + 1;
}

static void tl_lru_unlink(struct audit *a, struct audit_tl_ring *t)
{
	if (t->newer)
		a->tl[t->newer - 1].older = t->older;
	else
		a->tl_newest = t->older;
	if (t->older)
		a->tl[t->older - 1].newer = t->newer;
	else
		a->tl_oldest = t->newer;
}

static void tl_lru_push(struct audit *a, struct audit_tl_ring *t)
{
	uint32_t ref = tl_ref(a, t);

	t->newer = 0;
	t->older = a->tl_newest;
	if (a->tl_newest)
		a->tl[a->tl_newest - 1].newer = ref;
	a->tl_newest = ref;
	if (!a->tl_oldest)
		a->tl_oldest = ref;
}

/* Forget a timeline: chunks back to the pool, slot to the free list. */
static void tl_remove(struct audit *a, struct audit_tl_ring *t)
{
	if (t->hprev)
		a->tl[t->hprev - 1].hnext = t->hnext;
	else
		*tl_bucket(a, t->session_id) = t->hnext;
	if (t->hnext)
		a->tl[t->hnext - 1].hprev = t->hprev;
	tl_lru_unlink(a, t);
	tl_ring_clear(a, t);
	t->session_id = 0;	/* a stale hint must not match it */
	t->hnext = a->tl_free_slot;
	a->tl_free_slot = tl_ref(a, t);
	a->tl_count--;
}

/* A new, empty timeline for sid (absent); the least recently updated
 * one goes first if the index is full. */
static struct audit_tl_ring *tl_insert(struct audit *a, uint32_t sid)
{
	struct audit_tl_ring *t;
	uint32_t *bucket;

	if (a->tl_count == a->tl_capacity) {
		tl_remove(a, &a->tl[a->tl_oldest - 1]);
		a->stats.timeline_evictions++;
	}
	if (a->tl_free_slot) {
		t = &a->tl[a->tl_free_slot - 1];
		a->tl_free_slot = t->hnext;
	} else {
		t = &a->tl[a->tl_fresh_slot++];
	}
	memset(t, 0, sizeof(*t));
	t->session_id = sid;
	bucket = tl_bucket(a, sid);
	t->hnext = *bucket;
	if (t->hnext)
		a->tl[t->hnext - 1].hprev = tl_ref(a, t);
	*bucket = tl_ref(a, t);
	tl_lru_push(a, t);
	a->tl_count++;
	return t;
}

/* sid's timeline, created if absent, marked most recently updated. */
static struct audit_tl_ring *tl_get(struct audit *a, uint32_t sid,
				    uint32_t *hint)
{
	struct audit_tl_ring *t = NULL;
	uint32_t h;

	if (sid == a->tl_last_sid) {
		t = &a->tl[a->tl_last_slot];
	} else if (hint && (h = *hint) && h <= a->tl_fresh_slot &&
		   a->tl[h - 1].session_id == sid) {
		t = &a->tl[h - 1];
	} else {
		t = tl_find(a, sid);
	}
	if (!t) {
		t = tl_insert(a, sid);
	} else if (a->tl_newest != tl_ref(a, t)) {
		tl_lru_unlink(a, t);
		tl_lru_push(a, t);
	}
	if (hint)
		*hint = tl_ref(a, t);
	a->tl_last_sid = sid;
	a->tl_last_slot = tl_ref(a, t) - 1;
	return t;
}

/*
 * What recording r in its timeline will touch beyond the slot (the
 * slot's neighbours in the least-recently-updated list, which the update
 * relinks, and the chunk the entry goes into), fetched before the line
 * is formatted: at a large index each is a cache miss.  Only with a
 * hint whose slot is r's (the caller fetched that line: audit_prefetch()).
 */
static void tl_prefetch(const struct audit *a, const struct audit_record *r)
{
	const struct audit_tl_ring *t;
	uint32_t tl_hint;
	const char *c;

	if (!a->tl_capacity || !r->tl_hint || r->session_id == a->tl_last_sid)
		return;
	tl_hint = *r->tl_hint;
	if (!tl_hint || tl_hint > a->tl_fresh_slot)
		return;
	t = &a->tl[tl_hint - 1];
	if (t->session_id != r->session_id)
		return;
	if (a->tl_newest != tl_hint) {
		if (t->newer)
			__builtin_prefetch(&a->tl[t->newer - 1], 1);
		if (t->older)
			__builtin_prefetch(&a->tl[t->older - 1], 1);
	}
	if (t->last) {
		c = (const char *)tl_chunk(a, t->last);
		__builtin_prefetch(c, 1);
		__builtin_prefetch(c + 64, 1);
		__builtin_prefetch(c + 128, 1);
		__builtin_prefetch(c + sizeof(struct audit_tl_chunk) - 1, 1);
	}
	/* The chunk the timeline takes next if its last one is full. */
	if (a->tl_free)
		c = (const char *)tl_chunk(a, a->tl_free);
	else if (a->tl_fresh < a->tl_n_chunks)
		c = (const char *)&a->tl_chunks[a->tl_fresh];
	else
		return;
	__builtin_prefetch(c, 1);
	__builtin_prefetch(c + 64, 1);
}

static void tl_record(struct audit *a, uint64_t seq,
		      const struct audit_record *r,
		      const struct audit_clock *clk)
{
	struct audit_tl_ring *ring;
	struct audit_tl_chunk *last;
	uint32_t ref;

	if (!a->tl_capacity || !r->session_id)
		return;
	ring = tl_get(a, r->session_id, r->tl_hint);
	last = ring->last ? tl_chunk(a, ring->last) : NULL;
	if (!last || last->n == AUDIT_TL_CHUNK_K) {
		ref = tl_chunk_get(a);
		if (!ref)
			return;
		if (last)
			last->next = ref;
		else
			ring->first = ref;
		ring->last = ref;
		last = tl_chunk(a, ref);
	}
	tl_from_record(&last->e[last->n++], seq, r, clk);
	if (ring->count < AUDIT_TIMELINE_K) {
		ring->count++;
		return;
	}
	/* Full: the oldest entry goes, and its chunk once all of it has. */
	if (++ring->skip == AUDIT_TL_CHUNK_K) {
		ref = ring->first;
		ring->first = tl_chunk(a, ref)->next;
		ring->skip = 0;
		tl_chunk_put(a, ref);
	}
}

size_t audit_timeline(const struct audit *a, uint32_t session_id,
		      struct audit_tl_entry *out, size_t max)
{
	const struct audit_tl_ring *ring;
	const struct audit_tl_chunk *c;
	uint32_t ref, i;
	size_t n, skip, k = 0;

	if (!a->tl_capacity || !session_id)
		return 0;
	ring = tl_find(a, session_id);
	if (!ring)
		return 0;
	n = ring->count < max ? ring->count : max;
	/* Oldest kept entry first; if max < count, the newest n. */
	skip = ring->skip + (ring->count - n);
	for (ref = ring->first; ref && k < n; ref = c->next) {
		c = tl_chunk(a, ref);
		for (i = 0; i < c->n && k < n; i++) {
			if (skip) {
				skip--;
				continue;
			}
			tl_to_entry(&out[k++], &c->e[i], session_id);
		}
	}
	return k;
}

void audit_timeline_forget(struct audit *a, uint32_t session_id)
{
	struct audit_tl_ring *t;

	if (!a->tl_capacity || !session_id)
		return;
	t = tl_find(a, session_id);
	if (!t)
		return;
	tl_remove(a, t);
	a->tl_last_sid = 0;
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
	struct jbuf b = { .p = buf, .lim = len - 1 };
	char fixed[FIXED_MAX];

	if (!len)
		return -ENOSPC;
	jb_put(&b, fixed, format_fixed(fixed, &o, &r, &clk));
	if (audit_tl_what(e->what)) {
		struct audit_kv what = { .key = "what", .type = AUDIT_KV_STR,
					 .s = audit_tl_what(e->what) };

		format_extra(&b, &what, 4);
	}
	JB_LIT(&b, "}\n");
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
	uint32_t n_buckets;
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
	n_buckets = 1;
	while (n_buckets < cfg->timeline_sessions)
		n_buckets <<= 1;
	a->tl_bucket_mask = n_buckets - 1;
	memcpy(&a->tl_k, cfg->hash_key, sizeof(a->tl_k));
	/* Untouched until used (calloc): slots 64-byte aligned, two a line. */
	a->tl_mem = calloc((size_t)cfg->timeline_sessions + 2, sizeof(*a->tl));
	a->tl_buckets = calloc(n_buckets, sizeof(*a->tl_buckets));
	a->tl_n_chunks = cfg->timeline_sessions * AUDIT_TL_CHUNKS_PER;
	a->tl_chunks = calloc(a->tl_n_chunks, sizeof(*a->tl_chunks));
	ret = a->tl_mem && a->tl_buckets && a->tl_chunks ? 0 : -ENOMEM;
	if (!ret)
		a->tl = (struct audit_tl_ring *)(((uintptr_t)a->tl_mem + 63) &
						 ~(uintptr_t)63);
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
	free(a->tl_mem);
	free(a->tl_buckets);
	free(a->tl_chunks);
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
	struct line_opts o = { .wc = &a->wall_cache, .seq = a->next_seq,
			       .lost = a->lost_pending };
	struct jbuf b = { .p = line, .lim = sizeof(line) - 1 };
	unsigned int bad;
	size_t fixed;

	tl_prefetch(a, r);
	b.len = fixed = format_fixed(line, &o, r, clk);
	bad = format_extras(&b, r);
	JB_LIT(&b, "}\n");
	if (b.overflow) {
		/* Extras made it too long: keep the schema, mark the loss.
		 * Without extras a line is far below AUDIT_LINE_MAX.
		 */
		b = (struct jbuf){ .p = line, .len = fixed,
				   .lim = sizeof(line) - 1 };
		JB_LIT(&b, ",\"truncated\":true}\n");
		a->stats.truncated++;
		bad = 0;
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
	return audit_emit_fsm_hint(a, res, path_old, path_new, clk, extra,
				   n_extra, NULL);
}

int audit_emit_fsm_hint(struct audit *a, const struct fsm_result *res,
			uint32_t path_old, uint32_t path_new,
			const struct audit_clock *clk,
			const struct audit_kv *extra, unsigned int n_extra,
			uint32_t *tl_hint)
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
		.tl_hint = tl_hint,
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
