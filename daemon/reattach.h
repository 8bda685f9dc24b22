/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd reattach and path-probe protocol: REATTACH_REQ, REATTACH_CHALLENGE
 * (also the commit confirmation), REATTACH_RESP, PROBE and PROBE_REPLY.
 * docs/reattach.md has the byte layouts with sequence diagrams and the
 * reasoning, docs/threat-model.md the attacks and their defences; the
 * offsets below are the reference.
 *
 * Pure logic: no sockets, no clock reads, no kernel calls.  The caller
 * passes the monotonic time (struct audit_clock, mono_ms is "now"), the
 * path a message came from, and implements the commit (one versioned
 * kernel call) as a callback.  Randomness comes from libsodium
 * (challenges, path tokens).  After ra_server_init() nothing allocates.
 *
 * Every MAC is BLAKE2b-128 keyed with the session's 32-byte reattach key
 * (kdf.h) over all bytes before it.  The type byte and the receiver's
 * session id are covered, so a message cannot be reflected as another
 * type or to the other direction.  A rekey replaces the key on the two
 * ends at different moments, so each end still accepts the previous key
 * for a grace period (ra_session_rekey(), ra_client_rekey()).
 *
 * The "version" on the wire is the session's PATH EPOCH: 1 after the
 * handshake, +1 per committed switch, held authoritatively by the
 * ownership store (store.h) and learnt by the client from every
 * confirmation and probe reply.  It is not an FSM state_version: those are
 * per side and move on local events (PATH_SILENT...) the peer never sees.
 *
 * Functions return RA_OK (0) or a negative enum ra_err; each refusal has
 * its own code (ra_strerror() names it).
 */
#ifndef JVPND_REATTACH_H
#define JVPND_REATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "fsm.h"
#include "handshake.h"		/* struct hs_source */
#include "kdf.h"		/* JVPN_REATTACH_KEY_LEN */
#include "policy.h"
#include "ratelimit.h"
#include "store.h"

#define RA_MAC_LEN		16	/* BLAKE2b-128 */
#define RA_CHALLENGE_LEN	8	/* like QUIC PATH_CHALLENGE */
#define RA_TOKEN_LEN		8	/* probe path token */
#define RA_EPOCH_INITIAL	1	/* path epoch after the handshake */

/* ---------------------------------------------------------------------- */
/* REATTACH_REQ (type 5), client -> server on the candidate path, 52 bytes */
/* ---------------------------------------------------------------------- */
#define RA_REQ_OFF_TYPE		0	/* u8 = JVPN_MSG_REATTACH_REQ */
#define RA_REQ_OFF_RESERVED	1	/* 3 bytes, zero */
#define RA_REQ_OFF_SESSION	4	/* be32 server's local session id */
#define RA_REQ_OFF_COUNTER	8	/* be64 strictly increasing, >= 1 */
#define RA_REQ_OFF_TIMESTAMP	16	/* be64 client monotonic ms (logged) */
#define RA_REQ_OFF_VERSION	24	/* be64 path epoch the client knows */
#define RA_REQ_OFF_REASON	32	/* u8 enum ra_reason */
#define RA_REQ_OFF_RESERVED2	33	/* 3 bytes, zero */
#define RA_REQ_OFF_MAC		36	/* 16 */
#define RA_REQ_LEN		52

/* ---------------------------------------------------------------------- */
/* REATTACH_CHALLENGE (type 6), server -> client, 48 bytes                 */
/* ---------------------------------------------------------------------- */
#define RA_CHAL_OFF_TYPE	0	/* u8 = JVPN_MSG_REATTACH_CHALLENGE */
#define RA_CHAL_OFF_FLAGS	1	/* u8 RA_CHAL_F_* */
#define RA_CHAL_OFF_RESERVED	2	/* 2 bytes, zero */
#define RA_CHAL_OFF_SESSION	4	/* be32 client's local session id */
#define RA_CHAL_OFF_COUNTER	8	/* be64 REQ counter; 0: server-initiated */
#define RA_CHAL_OFF_CHALLENGE	16	/* 8 random; zero when COMMITTED */
#define RA_CHAL_OFF_VERSION	24	/* be64 path epoch (new one if COMMITTED) */
#define RA_CHAL_OFF_MAC		32	/* 16 */
#define RA_CHAL_LEN		48

/* The switch is committed; this message only confirms it (no RESP). */
#define RA_CHAL_F_COMMITTED	0x01

/* ---------------------------------------------------------------------- */
/* REATTACH_RESP (type 7), client -> server on the challenged path, 40     */
/* ---------------------------------------------------------------------- */
#define RA_RESP_OFF_TYPE	0	/* u8 = JVPN_MSG_REATTACH_RESP */
#define RA_RESP_OFF_RESERVED	1	/* 3 bytes, zero */
#define RA_RESP_OFF_SESSION	4	/* be32 server's local session id */
#define RA_RESP_OFF_COUNTER	8	/* be64 echo of the CHALLENGE counter */
#define RA_RESP_OFF_CHALLENGE	16	/* 8, echo */
#define RA_RESP_OFF_MAC		24	/* 16 */
#define RA_RESP_LEN		40

/* ---------------------------------------------------------------------- */
/* PROBE (type 8), client -> server on any path, 56 bytes                  */
/* ---------------------------------------------------------------------- */
#define RA_PROBE_OFF_TYPE	0	/* u8 = JVPN_MSG_PROBE */
#define RA_PROBE_OFF_RESERVED	1	/* 3 bytes, zero */
#define RA_PROBE_OFF_SESSION	4	/* be32 server's local session id */
#define RA_PROBE_OFF_SEQ	8	/* be64 per session, >= 1 */
#define RA_PROBE_OFF_TIMESTAMP	16	/* be64 client monotonic ms, echoed */
#define RA_PROBE_OFF_TOKEN	24	/* 8, last token got on this path; 0 */
#define RA_PROBE_OFF_PAD	32	/* 8 zero: the reply is not larger */
#define RA_PROBE_OFF_MAC	40	/* 16 */
#define RA_PROBE_LEN		56

/* ---------------------------------------------------------------------- */
/* PROBE_REPLY (type 9), server -> client on the probe's path, 56 bytes    */
/* ---------------------------------------------------------------------- */
#define RA_PREPLY_OFF_TYPE	0	/* u8 = JVPN_MSG_PROBE_REPLY */
#define RA_PREPLY_OFF_RESERVED	1	/* 3 bytes, zero */
#define RA_PREPLY_OFF_SESSION	4	/* be32 client's local session id */
#define RA_PREPLY_OFF_SEQ	8	/* be64 echo */
#define RA_PREPLY_OFF_TIMESTAMP	16	/* be64 echo */
#define RA_PREPLY_OFF_TOKEN	24	/* 8 random, new for this path */
#define RA_PREPLY_OFF_VERSION	32	/* be64 current path epoch */
#define RA_PREPLY_OFF_MAC	40	/* 16 */
#define RA_PREPLY_LEN		56

#define RA_MAX_MSG_LEN		RA_PROBE_LEN

/* Why the client asks (REATTACH_REQ byte 32). */
enum ra_reason {
	RA_REASON_PATH_LOST = 1,	/* active path dead or silent */
	RA_REASON_BETTER_PATH = 2,	/* proactive: better validated path */
	RA_REASON_NAT_REBIND = 3,	/* silence that looks like a rebinding */
	RA_REASON_OPERATOR = 4,		/* jvpnctl asked for the switch */

	RA_REASON_MAX = RA_REASON_OPERATOR
};

enum ra_err {
	RA_OK = 0,
	RA_E_INVAL = -1,		/* bad argument (caller bug) */
	RA_E_NOMEM = -2,		/* allocation at init failed */
	RA_E_SHORT = -3,		/* shorter than its type's size */
	RA_E_LONG = -4,			/* longer than its type's size */
	RA_E_TYPE = -5,			/* not the expected message type */
	RA_E_RESERVED = -6,		/* reserved bytes or flags not zero */
	RA_E_REASON = -7,		/* unknown reason code */
	RA_E_UNKNOWN_SESSION = -8,	/* no such session (no state kept) */
	RA_E_RATE_SESSION = -9,		/* per-session limiter empty */
	RA_E_RATE_GLOBAL = -10,		/* global limiter empty */
	RA_E_MAC = -11,			/* MAC does not verify */
	RA_E_REPLAY = -12,		/* counter/seq not fresh */
	RA_E_STATE = -13,		/* session state forbids a reattach */
	RA_E_VERSION = -14,		/* stale path epoch */
	RA_E_POLICY = -15,		/* switch limit / cooldown / window */
	RA_E_NOT_OWNER = -16,		/* store ownership or CAS failed */
	RA_E_PENDING_FULL = -17,	/* pending validation table full */
	RA_E_NO_PENDING = -18,		/* RESP without a pending challenge */
	RA_E_EXPIRED = -19,		/* pending challenge timed out */
	RA_E_PATH_MISMATCH = -20,	/* RESP not from the challenged path */
	RA_E_CHALLENGE = -21,		/* echoed challenge/counter wrong */
	RA_E_AMPLIFICATION = -22,	/* would send more than received */
	RA_E_COMMIT = -23,		/* commit callback failed */
	RA_E_NO_CANDIDATE = -24,	/* client: no usable candidate path */
	RA_E_UNEXPECTED = -25,		/* client: nothing of ours pending */

	RA_ERR_COUNT = 26
};

/* Static, human-readable name for an enum ra_err ("unknown error" else). */
const char *ra_strerror(int err);
/* Short stable token for JSON ("mac", "replay", ...). */
const char *ra_errname(int err);
const char *ra_reason_name(enum ra_reason r);

/* ---------------------------------------------------------------------- */
/* Paths                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * One transport binding: the local socket (the kernel's SOCKET_ID) and the
 * remote address.  path_id is the kernel's PATH_ID once the path exists
 * there (0 before); it is carried along but not compared.
 */
struct ra_path {
	uint32_t socket_id;
	uint32_t path_id;
	struct hs_source remote;
};

bool ra_path_equal(const struct ra_path *a, const struct ra_path *b);

/* What the commit callback is asked to do (and what is audited). */
struct ra_commit {
	uint32_t session_id;		/* local id of the side committing */
	struct ra_path old_path;
	struct ra_path new_path;	/* path_id 0: PATH_ADD it first */
	enum ra_reason reason;
	uint64_t old_epoch, new_epoch;
	uint64_t recovery_ms;		/* since the episode's first REQ */
	bool validated_standby;		/* committed without a challenge */
};

/*
 * The daemon's commit: PATH_ADD if new_path->path_id is 0, then
 * PATH_ACTIVATE with the kernel state_version it holds as EXPECTED_VERSION.
 * Returns 0 and the new path's kernel id in *path_id, or a negative errno
 * (nothing is switched in the layer then).
 */
typedef int (*ra_commit_fn)(void *ctx, const struct ra_commit *c,
			    uint32_t *path_id);

/* A message to send: len 0 means nothing to send. */
struct ra_output {
	uint8_t msg[RA_MAX_MSG_LEN];
	size_t len;
	struct ra_path to;
	bool committed;			/* a switch was committed */
	struct ra_commit commit;	/* valid if committed */
};

/* ---------------------------------------------------------------------- */
/* Server                                                                  */
/* ---------------------------------------------------------------------- */

#define RA_MAX_STANDBY		JVPN_MAX_PATHS_LIMIT
#define RA_PENDING_MAX		(1U << 20)
#define RA_PENDING_TTL_MS_DEFAULT	1000
#define RA_PENDING_MAX_BAD_RESP	3	/* bad RESPs before it is dropped */
#define RA_AUDIT_RATE_DEFAULT	20	/* SECURITY_EVENT records per second */
#define RA_AUDIT_BURST_DEFAULT	40
#define RA_NONE			UINT32_MAX

/*
 * A path the session's client probes, as the server sees it.  The tokens
 * of the last two PROBE_REPLYs are accepted as echo, so one probe in
 * flight while the next is sent does not break validation.
 */
struct ra_standby {
	struct ra_path path;
	uint8_t token[2][RA_TOKEN_LEN];	/* [0] newest */
	uint64_t token_ms[2];		/* when each was sent; 0 none */
	uint64_t validated_ms;		/* last proven round trip; 0 never */
	uint64_t last_rx_ms;		/* LRU order */
	bool used;
};

/*
 * The standby paths of one session: taken from the server's pool (one
 * block per session, pending_capacity blocks) at the session's first
 * PROBE, given back by ra_server_forget_session().  A session whose
 * client never probes costs no standby memory.  Private.
 */
struct ra_standby_block {
	struct ra_standby e[RA_MAX_STANDBY];
	uint32_t next_free;		/* free list, block + 1 */
};

/*
 * The previous reattach key after a rekey: accepted (never sent with,
 * except to answer a message that used it) until until_ms, then wiped.
 */
struct ra_old_key {
	uint8_t key[JVPN_REATTACH_KEY_LEN];
	uint64_t until_ms;		/* end of the grace */
	bool held;			/* key is set; false: wiped */
};

/*
 * A reattach key as the server keeps it (ra_mac_keyed()).  Keyed
 * BLAKE2b-128 through libsodium: caching the state after the key block
 * would save one compression per MAC, but libsodium compresses the key
 * block only at the end, and a BLAKE2b of our own is not worth 0.2 µs.
 * Key material: wiped with the session.
 */
struct ra_mac_key {
	uint8_t key[JVPN_REATTACH_KEY_LEN];
};

/*
 * A server session's old key lives in the server's pool (pending_capacity
 * entries, touched only as first used) for its grace only: most sessions
 * never hold one.  Private.
 */
struct ra_old_entry {
	struct ra_mac_key mk;		/* the previous key */
	uint64_t until_ms;		/* end of the grace */
	bool held;			/* false: wiped */
	uint32_t prev, next;		/* grace list; next: free list too */
	struct ra_session *s;		/* the holder */
};

/*
 * The reattach part of a server session.  The daemon embeds it in its
 * session object, keeps its fsm_session and policy_counters next to it
 * (pointed to, not copied: the FSM stays the single writer of state) and
 * returns it from the lookup callback.
 */
struct ra_session {
	/* Hot: what every REATTACH_REQ / RESP reads (first cache lines). */
	uint32_t local_id;		/* our id: REQ/RESP/PROBE receiver */
	uint32_t peer_id;		/* client's id: CHALLENGE/REPLY receiver */
	struct ra_mac_key mk;		/* current key: sent with */
	bool key_proven;		/* the client has used key */
	bool in_episode;
	uint32_t pending;		/* slot in the pending table */
	struct fsm_session *fsm;
	struct policy_counters *pc;
	uint64_t epoch;			/* path epoch == store version */
	uint64_t last_counter;		/* greatest accepted REQ counter */
	uint64_t episode_start_ms;	/* first REQ of the episode */
	struct tbucket req_bucket;	/* ReattachRate / ReattachBurst */
	struct ra_path active;
	uint32_t standby;		/* block in the server's pool + 1; 0 none */
	uint32_t audit_tl;		/* where its audit timeline is: a hint */
	/* Probes and key rollover. */
	uint64_t probe_top;		/* greatest accepted PROBE seq */
	uint64_t probe_seen;		/* bit i: probe_top - i accepted */
	struct tbucket probe_bucket;	/* derived from ProbeIntervalMs */
	uint32_t old;			/* previous key, during its grace: entry
					 * of the server's pool + 1; 0: none */
};

struct ra_server_ops {
	/* The session whose local id is id, or NULL.  Must not allocate. */
	struct ra_session *(*lookup)(void *ctx, uint32_t id);
	ra_commit_fn commit;
};

struct ra_server_config {
	const struct jvpn_policy *policy;	/* read at every decision */
	struct ra_server_ops ops;
	void *ctx;				/* passed to ops */
	const struct store_ops *store;		/* NULL: single node */
	void *store_ctx;
	uint32_t node_id;			/* our owner id in the store */
	uint32_t owner_ttl_ms;			/* TTL of the ownership record */
	uint32_t pending_capacity;		/* 1..RA_PENDING_MAX */
	uint32_t pending_ttl_ms;		/* 0: default */
	uint32_t audit_rate, audit_burst;	/* 0: defaults */
	struct audit *audit;			/* NULL: no audit */
};

/* A pending path validation.  Private. */
struct ra_pending {
	struct ra_session *s;
	struct ra_path candidate;
	uint8_t challenge[RA_CHALLENGE_LEN];
	uint64_t counter;		/* REQ counter; 0 server-initiated */
	uint64_t expires_ms;
	uint64_t fsm_version;		/* server FSM version it was made at */
	uint64_t bytes_rx, bytes_tx;	/* on the candidate path */
	enum ra_reason reason;
	uint32_t bad_resp;
	bool started;			/* REATTACH_STARTED applied for it */
	bool from_attached;		/* it took the session from ATTACHED */
	uint32_t prev, next;		/* creation-order list / free list */
	bool used;
};

struct ra_server_stats {
	uint64_t refused[RA_ERR_COUNT];	/* indexed by -err */
	uint64_t challenges_sent;
	uint64_t commits;
	uint64_t commits_standby;	/* without a challenge round trip */
	uint64_t pending_expired;
	uint64_t probes_answered;
	uint64_t audit_suppressed;	/* SECURITY_EVENTs not emitted */
	uint64_t mac_old_key;		/* MACs valid only under the old key */
	uint64_t old_key_full;		/* rekeys without a grace: pool full */
};

#define RA_RANDOM_BATCH		256

/* Treat as opaque. */
struct ra_server {
	struct ra_server_config cfg;
	struct ra_pending *pending;
	uint32_t n_pending;
	uint32_t oldest, newest;	/* creation order (expiry order) */
	uint32_t free_head;		/* released entries, then fresh_pending */
	uint32_t fresh_pending;		/* entries never used: fresh_pending.. */
	/* Standby blocks (pending_capacity), taken like pending entries. */
	struct ra_standby_block *standby;
	uint32_t standby_free;		/* block + 1; 0: none released */
	uint32_t fresh_standby;
	/*
	 * Challenges and probe tokens come from libsodium's randombytes in
	 * batches (one getrandom() system call per RA_RANDOM_BATCH bytes
	 * rather than per message); bytes are wiped as they are handed out.
	 */
	uint8_t random[RA_RANDOM_BATCH];
	uint32_t random_left;		/* unused bytes at the start */
	struct tbucket global_bucket;	/* GlobalReattachRate / Burst */
	struct tbucket audit_bucket;
	uint64_t audit_suppressed_pending;	/* since the last emitted */
	/* Old keys (pending_capacity), taken like pending entries. */
	struct ra_old_entry *old_pool;
	uint32_t old_free;		/* entry + 1; 0: none released */
	uint32_t fresh_old;
	/* Entries held, in the order their grace ends: entry + 1. */
	uint32_t old_first, old_last;
	struct ra_server_stats stats;
};

int ra_server_init(struct ra_server *srv, const struct ra_server_config *cfg,
		   uint64_t now_ms);
void ra_server_destroy(struct ra_server *srv);

/*
 * Prepare the reattach state of a session that just completed its
 * handshake (fsm ATTACHED).  active: the path the handshake used (with
 * its kernel path id).  epoch is RA_EPOCH_INITIAL, or the store version
 * when the daemon rebuilds its view after a restart.
 */
int ra_session_init(struct ra_session *s, uint32_t local_id, uint32_t peer_id,
		    const uint8_t key[JVPN_REATTACH_KEY_LEN],
		    struct fsm_session *fsm, struct policy_counters *pc,
		    const struct ra_path *active, uint64_t epoch,
		    const struct jvpn_policy *pol, uint64_t now_ms);
/* Wipes the keys.  Call ra_server_forget_session() first on a server. */
void ra_session_wipe(struct ra_session *s);
/*
 * Drop the session's pending validation and its place in the old-key
 * list (session going away, or about to be initialised again).
 */
void ra_server_forget_session(struct ra_server *srv, struct ra_session *s);

/*
 * Rekey: new_key is the session's reattach key from now on.  The key the
 * client evidently still uses stays accepted for grace_ms (0: not at all),
 * then ra_server_expire() wipes it: normally the replaced key, but if the
 * client never used the replaced one (no MAC under it, no
 * ra_session_key_proven()) the handshake answer that carried it was lost,
 * and the key before it stays, with a new grace.  An answer is MACed with
 * the key its request used; docs/reattach.md, "Key rollover".
 */
int ra_session_rekey(struct ra_server *srv, struct ra_session *s,
		     const uint8_t new_key[JVPN_REATTACH_KEY_LEN],
		     uint64_t now_ms, uint64_t grace_ms);
/* s holds an old key (in its grace: not wiped yet). */
bool ra_server_old_key_held(const struct ra_server *srv,
			    const struct ra_session *s);
/* The client proved otherwise that it holds the current key (data key). */
void ra_session_key_proven(struct ra_session *s);

/*
 * Handle one message from path `from`, dispatching on its type byte
 * (REATTACH_REQ, REATTACH_RESP or PROBE; anything else is RA_E_TYPE).
 * On RA_OK out->len > 0 means: send out->msg to out->to; out->committed
 * means the switch was committed (kernel, FSM, audit already done).  On
 * refusal nothing is sent, except RA_E_AMPLIFICATION (nothing sent by
 * design).  out is always initialised.
 */
int ra_server_handle(struct ra_server *srv, const uint8_t *msg, size_t len,
		     const struct ra_path *from,
		     const struct audit_clock *clk, struct ra_output *out);
int ra_server_handle_req(struct ra_server *srv, const uint8_t *msg,
			 size_t len, const struct ra_path *from,
			 const struct audit_clock *clk, struct ra_output *out);
int ra_server_handle_resp(struct ra_server *srv, const uint8_t *msg,
			  size_t len, const struct ra_path *from,
			  const struct audit_clock *clk, struct ra_output *out);
int ra_server_handle_probe(struct ra_server *srv, const uint8_t *msg,
			   size_t len, const struct ra_path *from,
			   const struct audit_clock *clk,
			   struct ra_output *out);

/*
 * NAT rebinding, server side: the kernel reported UNKNOWN_SOURCE
 * (authenticated DATA of session_id from `from`, rx_bytes long).  The
 * session is NOT moved.  The same admission checks as a REQ run (session
 * rate, global rate, policy, ownership); then a server-initiated
 * CHALLENGE (counter 0) goes to `from` once the bytes credited there
 * cover it (RA_E_AMPLIFICATION while they do not: call again on the next
 * event, or wait for the client's REQ).  The client's RESP from `from`
 * commits the new address.
 */
int ra_server_challenge_source(struct ra_server *srv, uint32_t session_id,
			       const struct ra_path *from, uint32_t rx_bytes,
			       const struct audit_clock *clk,
			       struct ra_output *out);

/*
 * Expire pending validations (at most budget of them; each one's FSM goes
 * RECOVERING -> VOLATILE with reattach_timeout), then wipe old keys whose
 * grace is over (at most budget of them).  Returns the next expiry time
 * to arm a timer for, 0 if nothing is pending.
 */
uint64_t ra_server_expire(struct ra_server *srv,
			  const struct audit_clock *clk, uint32_t budget);

/* Has the client proven a round trip on path within ValidatedPathTtlMs? */
bool ra_server_path_validated(const struct ra_server *srv,
			      const struct ra_session *s,
			      const struct ra_path *path, uint64_t now_ms);

uint32_t ra_server_pending_count(const struct ra_server *srv);
const struct ra_server_stats *ra_server_get_stats(const struct ra_server *srv);

/* ---------------------------------------------------------------------- */
/* Client                                                                  */
/* ---------------------------------------------------------------------- */

#define RA_CLIENT_MAX_CANDIDATES	JVPN_MAX_PATHS_LIMIT
#define RA_CLIENT_TIMEOUT_MIN_MS	200	/* REQ/RESP answer timeout */
#define RA_CLIENT_TIMEOUT_MAX_MS	2000
#define RA_CLIENT_BACKOFF_MIN_MS	50	/* after a failed candidate */
#define RA_CLIENT_BACKOFF_MAX_MS	1000
#define RA_LOSS_WINDOW			32	/* probes in the loss estimate */

/* One probe sent on a candidate, for RTT, loss and validation. */
struct ra_probe_rec {
	uint64_t seq;
	uint64_t sent_ms;
	bool echoed;			/* carried a server token */
	bool acked;
};

/* What the client measured on one candidate path. */
struct ra_candidate {
	struct ra_path path;
	bool used;
	bool tried;			/* failed in the current episode */
	bool has_token;
	uint8_t token[RA_TOKEN_LEN];	/* from the last PROBE_REPLY */
	uint64_t last_probe_ms;		/* 0: never probed */
	uint64_t validated_ms;		/* lower bound of the server's view */
	uint64_t last_reply_ms;
	uint32_t unanswered;		/* probes since the last reply */
	uint32_t srtt_ms, rttvar_ms;	/* RFC 6298 */
	bool has_rtt;
	struct ra_probe_rec probes[RA_LOSS_WINDOW];	/* ring */
	uint32_t probe_head, n_probes;
};

enum ra_client_phase {
	RA_CL_IDLE,		/* no reattach in progress */
	RA_CL_WAIT_CHALLENGE,	/* REQ sent */
	RA_CL_WAIT_CONFIRM,	/* RESP sent */
	RA_CL_BACKOFF,		/* candidate failed; next try at not_before */
};

enum ra_client_action {
	RA_ACT_NONE,		/* nothing to do now (see next_ms) */
	RA_ACT_SEND,		/* send out.msg on out.to */
	RA_ACT_ATTACHED,	/* switch committed: ATTACHED */
	RA_ACT_VOLATILE,	/* no candidate worked: VOLATILE, retry later */
	RA_ACT_DEGRADED,	/* switch limit: DEGRADED, no switching */
	RA_ACT_TERMINATED,	/* recovery window or lifetime exhausted */
	RA_ACT_WAIT,		/* policy says not before next_ms */
};

struct ra_client_result {
	enum ra_client_action action;
	enum fsm_reason reason;		/* why (FSM reason) */
	uint64_t next_ms;		/* arm a timer for ra_client_tick; 0 */
	struct ra_output out;
	struct fsm_result fsm;		/* the last FSM transition done */
	bool fsm_changed;
};

struct ra_client_config {
	const struct jvpn_policy *policy;
	ra_commit_fn commit;		/* client kernel: PATH_ACTIVATE */
	void *ctx;
	struct audit *audit;		/* NULL: no audit */
};

/* Treat as opaque. */
struct ra_client {
	struct ra_client_config cfg;
	uint32_t local_id, peer_id;
	uint8_t key[JVPN_REATTACH_KEY_LEN];	/* current: sent with */
	struct ra_old_key old;		/* previous, during its grace */
	struct fsm_session *fsm;
	struct policy_counters *pc;
	struct ra_path active;
	uint64_t epoch;
	uint64_t counter;		/* last REQ counter sent */
	uint64_t probe_seq;		/* last PROBE seq sent */
	struct ra_candidate cand[RA_CLIENT_MAX_CANDIDATES];
	/* The episode. */
	enum ra_client_phase phase;
	enum ra_reason reason;
	uint32_t target;		/* candidate index */
	uint64_t req_counter;		/* counter of the REQ in flight */
	uint64_t first_req_ms;		/* 0: no REQ yet in this episode */
	uint64_t deadline_ms;		/* answer timeout / backoff end */
	uint32_t backoff_ms;
	struct tbucket chal_bucket;	/* answers to server challenges */
};

int ra_client_init(struct ra_client *c, const struct ra_client_config *cfg,
		   uint32_t local_id, uint32_t peer_id,
		   const uint8_t key[JVPN_REATTACH_KEY_LEN],
		   struct fsm_session *fsm, struct policy_counters *pc,
		   const struct ra_path *active, uint64_t now_ms);
void ra_client_destroy(struct ra_client *c);

/*
 * Rekey (on the handshake answer, which proves the server holds new_key):
 * sent with from now on; the previous key stays accepted for grace_ms.
 */
int ra_client_rekey(struct ra_client *c,
		    const uint8_t new_key[JVPN_REATTACH_KEY_LEN],
		    uint64_t now_ms, uint64_t grace_ms);
/*
 * Wipe the previous key if its grace is over.  Returns when the grace
 * ends, 0 if no previous key is held (nothing to arm a timer for).
 */
uint64_t ra_client_expire_key(struct ra_client *c, uint64_t now_ms);

/* Candidate paths (bounded); the active path may be listed too. */
int ra_client_add_candidate(struct ra_client *c, const struct ra_path *p,
			    uint32_t *index);
int ra_client_remove_candidate(struct ra_client *c, uint32_t index);
int ra_client_find_candidate(const struct ra_client *c,
			     const struct ra_path *p);

/*
 * Build a PROBE for candidate idx if policy allows (ProbeIntervalMs per
 * candidate, MaxProbes unanswered then the candidate is given up):
 * RA_OK and out filled, RA_E_POLICY if not now (*next_ms: when).
 */
int ra_client_probe(struct ra_client *c, uint32_t idx, uint64_t now_ms,
		    struct ra_output *out, uint64_t *next_ms);
/* A PROBE_REPLY arrived on candidate idx: RTT, loss, token, epoch. */
int ra_client_handle_probe_reply(struct ra_client *c, uint32_t idx,
				 const uint8_t *msg, size_t len,
				 uint64_t now_ms);
/* Measured quality of candidate idx (loss over the last probes). */
void ra_client_quality(const struct ra_client *c, uint32_t idx,
		       struct path_quality *q);
/* Client's conservative view of "the server treats idx as validated". */
bool ra_client_validated(const struct ra_client *c, uint32_t idx,
			 uint64_t now_ms);
/* What a reattach would make of candidate idx now, best first. */
enum ra_cand_use {
	RA_USE_VALIDATED,	/* committed in one round trip, no challenge */
	RA_USE_MEASURED,	/* answers probes within the quality floors */
	RA_USE_UNMEASURED,	/* no answer yet: tried after the others */
	RA_USE_ACTIVE,		/* the active path itself */
	RA_USE_GIVEN_UP,	/* MaxProbes unanswered */
	RA_USE_TRIED,		/* failed in the current episode */
	RA_USE_QUALITY,		/* below a quality floor (*why says which) */
	RA_USE_NONE,		/* no such candidate */
};
enum ra_cand_use ra_client_candidate_use(const struct ra_client *c,
					 uint32_t idx, uint64_t now_ms,
					 enum fsm_reason *why);
const char *ra_cand_use_name(enum ra_cand_use u);
/*
 * Best candidate: not the active path, not given up, not failed in this
 * episode, within the quality floors if measured; validated ones first,
 * then lowest smoothed RTT.  RA_E_NO_CANDIDATE if none.
 */
int ra_client_choose(const struct ra_client *c, uint64_t now_ms,
		     uint32_t *idx);

/*
 * Start (or continue) a reattach episode: the active path is lost
 * (RA_REASON_PATH_LOST, session VOLATILE or RECOVERING) or a better path
 * is wanted (RA_REASON_BETTER_PATH from ATTACHED).  Applies the recovery
 * window and anti-flap policy first, drives the FSM, and builds the REQ.
 */
int ra_client_start(struct ra_client *c, enum ra_reason reason,
		    const struct audit_clock *clk,
		    struct ra_client_result *res);
/* A REATTACH_CHALLENGE arrived on candidate path `on`. */
int ra_client_handle_challenge(struct ra_client *c, const uint8_t *msg,
			       size_t len, const struct ra_path *on,
			       const struct audit_clock *clk,
			       struct ra_client_result *res);
/*
 * The active path works again (kernel PATH_ALIVE, session back in
 * ATTACHED): end the episode without a switch and stop the recovery
 * window.  Nothing is sent; a late answer is then RA_E_UNEXPECTED.
 */
void ra_client_cancel(struct ra_client *c);
/* Timers: answer timeout -> next candidate with backoff; window. */
int ra_client_tick(struct ra_client *c, const struct audit_clock *clk,
		   struct ra_client_result *res);

/* ---------------------------------------------------------------------- */
/* Message helpers (exposed for tests and tools)                           */
/* ---------------------------------------------------------------------- */

void ra_mac(uint8_t mac[RA_MAC_LEN], const uint8_t key[JVPN_REATTACH_KEY_LEN],
	    const uint8_t *data, size_t len);
/*
 * The same MAC in two steps (the server's: an exchange MACs four messages
 * under one key): ra_mac_keyed(mac, mk, data, len) after
 * ra_mac_key_init(mk, key) equals ra_mac(mac, key, data, len) for len >= 1
 * (a message with no bytes is never MACed).
 */
void ra_mac_key_init(struct ra_mac_key *mk,
		     const uint8_t key[JVPN_REATTACH_KEY_LEN]);
void ra_mac_keyed(uint8_t mac[RA_MAC_LEN], const struct ra_mac_key *mk,
		  const uint8_t *data, size_t len);

#endif /* JVPND_REATTACH_H */
