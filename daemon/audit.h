/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd audit log: sequenced JSON lines through a bounded ring, plus a
 * bounded per-session timeline.
 *
 * audit_emit() formats a record into the ring and returns; it never
 * blocks and never waits for the sink.  If the ring has no room the record
 * is dropped and counted, and the next record that does get in carries
 * "lost":N.  Sequence numbers are given only to records that enter the
 * ring, so the exported stream has no gaps: seq N+1 always follows seq N,
 * and "lost" says how many records were not exported between them.
 *
 * audit_flush() drains the ring into the sink fd (opened O_NONBLOCK by the
 * caller: a file, a pipe, stdout).  The event loop calls it when the fd is
 * writable (audit_pending() > 0 says when to ask).  EAGAIN or a write
 * error leaves the bytes in the ring; new records are then dropped once it
 * is full.  Logging failure degrades telemetry, never the session.
 *
 * The process must ignore SIGPIPE (jvpnd does), or a sink pipe whose
 * reader went away kills it; with SIGPIPE ignored that is EPIPE, counted.
 *
 * Wall time appears only as a label ("wall"); ordering and all logic use
 * the monotonic "mono_ms".  Both come from the caller.
 */
#ifndef JVPND_AUDIT_H
#define JVPND_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsm.h"
#include "ratelimit.h"

#define AUDIT_LINE_MAX		1024	/* one JSON line, including '\n' */
#define AUDIT_MAX_EXTRA		8	/* extra key/value pairs per record */
#define AUDIT_EXTRA_KEY_MAX	32
#define AUDIT_TIMELINE_K	32	/* records kept per session */
#define AUDIT_RING_MIN		AUDIT_LINE_MAX
#define AUDIT_RING_MAX		(64u << 20)
#define AUDIT_TIMELINE_MAX	(1u << 20)	/* sessions with a timeline */

enum audit_type {
	AUDIT_T_EVENT,		/* "AUDIT_EVENT" */
	AUDIT_T_STATE_CHANGE,	/* "STATE_CHANGE" */
	AUDIT_T_SECURITY,	/* "SECURITY_EVENT" */

	AUDIT_TYPE_COUNT
};

/* What an AUDIT_EVENT / SECURITY_EVENT is about ("action" in JSON). */
enum audit_action {
	AUDIT_ACT_NONE,			/* STATE_CHANGE records */
	AUDIT_ACT_TRANSITION_REFUSED,
	AUDIT_ACT_SESSION_CREATED,
	AUDIT_ACT_SESSION_REMOVED,
	AUDIT_ACT_PATH_ADDED,
	AUDIT_ACT_PATH_REMOVED,
	AUDIT_ACT_PATH_SWITCHED,
	AUDIT_ACT_REATTACH_REJECTED,
	AUDIT_ACT_HANDSHAKE_REJECTED,
	AUDIT_ACT_RATE_LIMITED,
	AUDIT_ACT_POLICY_DENIED,
	AUDIT_ACT_CONFIG_LOADED,
	AUDIT_ACT_DAEMON_STARTED,
	AUDIT_ACT_DAEMON_STOPPING,
	AUDIT_ACT_KERNEL_EVENTS_LOST,

	AUDIT_ACTION_COUNT
};

/* Which optional fields of struct audit_record are meaningful. */
#define AUDIT_F_FROM	(1u << 0)
#define AUDIT_F_TO	(1u << 1)
#define AUDIT_F_EVENT	(1u << 2)
#define AUDIT_F_VERSION	(1u << 3)
#define AUDIT_F_PATHS	(1u << 4)
#define AUDIT_F_DWELL	(1u << 5)

enum audit_kv_type {
	AUDIT_KV_STR,
	AUDIT_KV_U64,
	AUDIT_KV_S64,
	AUDIT_KV_BOOL,
};

/*
 * An extra field.  key: [a-z0-9_], 1..AUDIT_EXTRA_KEY_MAX characters and
 * not one of the schema's own keys; others are skipped and counted.
 * Strings are escaped (invalid UTF-8 becomes U+FFFD).
 */
struct audit_kv {
	const char *key;
	enum audit_kv_type type;
	union {
		const char *s;
		uint64_t u;
		int64_t i;
		bool b;
	};
};

struct audit_record {
	enum audit_type type;
	enum audit_action action;
	uint32_t session_id;		/* 0: not about one session */
	unsigned int fields;		/* AUDIT_F_* */
	enum fsm_state from, to;
	enum fsm_event event;
	enum fsm_reason reason;
	uint32_t path_old, path_new;	/* 0: none */
	uint64_t version;
	uint64_t dwell_ms;
	const struct audit_kv *extra;
	unsigned int n_extra;
	/* Optional: the caller's memory of where session_id's timeline is
	 * (0: unknown), checked before use and updated; it spares the
	 * timeline index a hash lookup.  NULL: none. */
	uint32_t *tl_hint;
};

struct audit_clock {
	uint64_t mono_ms;	/* CLOCK_MONOTONIC, ms */
	int64_t wall_ms;	/* CLOCK_REALTIME, ms since the epoch (label) */
};

/* One timeline entry: the record without its extras. */
struct audit_tl_entry {
	uint64_t seq;		/* 0: dropped from the export ring */
	uint64_t mono_ms;
	int64_t wall_ms;
	uint64_t version;
	uint64_t dwell_ms;
	uint32_t session_id;
	uint32_t path_old, path_new;
	uint8_t type, action, fields;
	uint8_t from, to, event, reason;
	uint8_t what;		/* audit_tl_what(): the record's "what" */
};

/*
 * The "what" of every action-less AUDIT_EVENT the daemon writes: one
 * list, used by the writers and by the timeline (which keeps only these).
 */
#define AUDIT_WHAT_UNKNOWN_SOURCE	"unknown_source"
#define AUDIT_WHAT_REKEY		"rekey"
#define AUDIT_WHAT_REKEY_TIMEOUT	"rekey_timeout"
#define AUDIT_WHAT_LINK_DOWN		"link_down"
#define AUDIT_WHAT_REATTACH_NOT_STARTED	"reattach_not_started"

/*
 * The "what" extra of an action-less AUDIT_EVENT (unknown_source, rekey,
 * link_down...) names the event.  Timelines keep no extras, so they keep
 * that name as a small code: 0 for none, else an index + 1 into a fixed
 * list in audit.c.  Returns the name of a code, NULL for 0 or unknown.
 */
const char *audit_tl_what(uint8_t code);

/*
 * Timeline storage.  A session's timeline is a list of chunks of
 * AUDIT_TL_CHUNK_K compact entries (the entry without its session id),
 * taken from one pool as the timeline grows and given back when it is
 * evicted or forgotten: a session with a few records costs one chunk,
 * not AUDIT_TIMELINE_K entries.  The pool holds AUDIT_TL_CHUNKS_PER
 * chunks per timeline session, the most a full timeline can hold (K
 * entries plus the dropped head of its oldest chunk), so it never runs
 * out; it is reserved at init and pages are touched only when used.
 */
#define AUDIT_TL_CHUNK_K	4
#define AUDIT_TL_CHUNKS_PER	(AUDIT_TIMELINE_K / AUDIT_TL_CHUNK_K + 1)

struct audit_tl_rec {
	uint64_t seq;		/* 0: dropped from the export ring */
	uint64_t mono_ms;
	int64_t wall_ms;
	uint64_t version;
	uint64_t dwell_ms;
	uint32_t path_old, path_new;
	uint8_t type, action, fields;
	uint8_t from, to, event, reason;
	uint8_t what;		/* in the padding: the entry stays 56 bytes */
};

struct audit_tl_chunk {
	uint32_t next;		/* chunk index + 1; 0: none (or free list) */
	uint32_t n;		/* entries written, <= AUDIT_TL_CHUNK_K */
	struct audit_tl_rec e[AUDIT_TL_CHUNK_K];
};

/*
 * One session's timeline, a slot of the timeline index: the session id,
 * its hash chain and LRU links and its chunk list share 32 bytes, so an
 * update touches one line of the index.  Links are slot + 1, 0: none.
 */
struct audit_tl_ring {
	uint32_t session_id;	/* 0: free slot */
	uint32_t hnext, hprev;	/* hash chain (hnext: free list too) */
	uint32_t newer, older;	/* least recently updated list */
	uint32_t first, last;	/* chunk index + 1; 0: empty */
	uint16_t skip;		/* dropped entries at the head of first */
	uint16_t count;		/* entries kept, <= AUDIT_TIMELINE_K */
};

struct audit_stats {
	uint64_t emitted;	/* records that entered the ring */
	uint64_t dropped;	/* records that did not (ring full) */
	uint64_t truncated;	/* emitted without their extras (too long) */
	uint64_t bad_extras;	/* extra fields skipped (invalid key) */
	uint64_t bytes_written;
	uint64_t write_blocked;	/* flushes stopped by EAGAIN */
	uint64_t write_errors;	/* flushes stopped by another error */
	uint64_t timeline_evictions;
	int last_errno;
};

struct audit_config {
	size_t ring_bytes;		/* AUDIT_RING_MIN..AUDIT_RING_MAX */
	uint32_t timeline_sessions;	/* 0 disables the timeline */
	int fd;				/* sink, -1 for none yet */
	uint8_t hash_key[16];		/* random, for the timeline index */
};

/* Private: the date and time of the last wall second formatted. */
struct audit_wall_cache {
	int64_t sec_ms;			/* a multiple of 1000 */
	bool valid;
	char s[24];			/* its "YYYY-MM-DDTHH:MM:SS.000Z" */
};

/* Private: use the functions below. */
struct audit {
	char *ring;
	size_t cap, head, used;
	int fd;
	uint64_t next_seq;
	uint64_t lost_pending;		/* drops since the last admitted */
	struct audit_stats stats;
	struct audit_tl_ring *tl;	/* timeline index slots (aligned) */
	void *tl_mem;			/* what tl was carved from */
	uint32_t *tl_buckets;		/* session id hash -> slot + 1 */
	uint64_t tl_k;			/* hash key */
	uint32_t tl_bucket_mask;
	uint32_t tl_count;		/* slots holding a timeline */
	uint32_t tl_fresh_slot;		/* slots never used: tl_fresh_slot.. */
	uint32_t tl_free_slot;		/* free list of used ones, slot + 1 */
	uint32_t tl_newest, tl_oldest;	/* slot + 1; 0: none */
	struct audit_tl_chunk *tl_chunks;
	uint32_t tl_capacity;
	uint32_t tl_n_chunks;		/* pool size */
	uint32_t tl_fresh;		/* chunks never used: tl_fresh.. */
	uint32_t tl_free;		/* free list of used ones, index + 1 */
	/* The last session recorded and its slot (a REATTACH_RESP writes
	 * two records of one session): 0 none. */
	uint32_t tl_last_sid, tl_last_slot;
	struct audit_wall_cache wall_cache;
};

int audit_init(struct audit *a, const struct audit_config *cfg);
void audit_destroy(struct audit *a);
/* Replace the sink (log reopen); the caller owns and closes fds. */
void audit_set_sink(struct audit *a, int fd);

/* 0 if queued, -ENOBUFS if dropped (counted).  Never blocks. */
int audit_emit(struct audit *a, const struct audit_record *r,
	       const struct audit_clock *clk);

/*
 * Turn an fsm_transition() result into a STATE_CHANGE (accepted) or a
 * SECURITY_EVENT with action "transition_refused" (refused) and emit it.
 */
int audit_emit_fsm(struct audit *a, const struct fsm_result *res,
		   uint32_t path_old, uint32_t path_new,
		   const struct audit_clock *clk,
		   const struct audit_kv *extra, unsigned int n_extra);

/* audit_emit_fsm() with a timeline hint (struct audit_record). */
int audit_emit_fsm_hint(struct audit *a, const struct fsm_result *res,
			uint32_t path_old, uint32_t path_new,
			const struct audit_clock *clk,
			const struct audit_kv *extra, unsigned int n_extra,
			uint32_t *tl_hint);

/*
 * Write queued bytes to the sink until the ring is empty, the sink would
 * block, or an error; at most a bounded number of write() calls.  Returns
 * bytes written (>= 0) or -errno of a hard error (bytes stay queued).
 */
ssize_t audit_flush(struct audit *a);

size_t audit_pending(const struct audit *a);
/* Sequence number the next admitted record will get (first is 1). */
uint64_t audit_next_seq(const struct audit *a);
const struct audit_stats *audit_get_stats(const struct audit *a);

/*
 * Copy up to max timeline entries of session_id, oldest first; returns
 * how many.  Timelines of removed sessions stay until evicted: the index
 * holds timeline_sessions sessions and forgets the least recently updated.
 */
/* A hint (struct audit_record.tl_hint): its timeline will be wanted soon. */
static inline void audit_prefetch(const struct audit *a, uint32_t tl_hint)
{
	if (a && tl_hint && tl_hint <= a->tl_fresh_slot)
		__builtin_prefetch(&a->tl[tl_hint - 1]);
}

size_t audit_timeline(const struct audit *a, uint32_t session_id,
		      struct audit_tl_entry *out, size_t max);
void audit_timeline_forget(struct audit *a, uint32_t session_id);

/* One timeline entry as a JSON object (no newline); length or -ENOSPC. */
int audit_format_tl_entry(const struct audit_tl_entry *e, char *buf,
			  size_t len);

/* RFC 3339 UTC with milliseconds: "2026-01-02T03:04:05.678Z". */
int audit_format_wall(int64_t wall_ms, char *buf, size_t len);

const char *audit_type_name(enum audit_type t);
const char *audit_action_name(enum audit_action act);

#endif /* JVPND_AUDIT_H */
