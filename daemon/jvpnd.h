/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd: the daemon's shared context and the functions its modules call
 * on each other.  One instance, one thread, one event loop (loop.h).
 *
 *   main.c      arguments, start-up, signals, shutdown
 *   proto.c     handshake messages on the UDP sockets, initiation, rekey
 *   lifecycle.c sessions: FSM steps + audit, kernel programming, keys,
 *               persisted state
 *   adopt.c     restart: adopt the kernel's sessions
 *   events.c    kernel events
 *   link.c      link watch: rtnetlink, local links and routes
 *   control.c   the control socket
 */
#ifndef JVPND_JVPND_H
#define JVPND_JVPND_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "events.h"
#include "handshake.h"
#include "kernel.h"
#include "link.h"
#include "loop.h"
#include "net.h"
#include "peer.h"
#include "ratelimit.h"
#include "session.h"
#include "reattach.h"
#include "store.h"

#ifndef JVPN_VERSION
#define JVPN_VERSION "0.1.0"
#endif

/* Handshake retry: 1 s, doubling, at most 8 s between INITs. */
#define JVPND_HS_RETRY_MS	1000ULL
#define JVPND_HS_RETRY_MAX_MS	8000ULL
/* After a failed handshake (all attempts used), start over this late. */
#define JVPND_HS_RESTART_MS	5000ULL
/* How long the old key stays (secondary) after a swap, for stragglers. */
#define JVPND_KEY_GRACE_MS	3000ULL
/* Initiator sessions check their key's age and packet count this often. */
#define JVPND_REKEY_POLL_MS	5000ULL
/* Per-source initiation limiter: sources tracked, INITs per second. */
/* Lowest passive keepalive interval jvpnd sets (the kernel takes >= 10). */
#define JVPND_KEEPALIVE_MIN_MS	10
#define JVPND_SRC_TABLE		4096
#define JVPND_SRC_RATE		10
#define JVPND_SRC_BURST		20

/* Every drop and refusal is counted here (control "status"). */
struct jvpnd_stats {
	uint64_t rx_msgs;
	uint64_t rx_errors;
	uint64_t rx_bad_type;		/* not a handshake message type */
	uint64_t hs_init_rx;
	uint64_t hs_refused[32];	/* by -enum hs_err */
	uint64_t hs_rate_limited;	/* per-source limiter */
	uint64_t cookies_sent;
	uint64_t sessions_created;
	uint64_t sessions_refused;	/* MaxSessions / kernel refused */
	uint64_t sessions_removed;
	uint64_t rekeys;
	uint64_t hs_timeouts;
	uint64_t send_errors;
	uint64_t kernel_errors;
	uint64_t state_save_errors;
	uint64_t paths_evicted;		/* oldest standby dropped for a new one */
	uint64_t state_saves;		/* state file rewrites */
	uint64_t state_saves_deferred;	/* changes folded into a later one */
	uint64_t timers_refused;	/* timer heap full */
	uint64_t ra_refused;		/* reattach/probe messages refused */
	uint64_t ra_switches;		/* committed path switches */
	uint64_t ra_window_rescued;	/* server recovery window found RX */
	/* Link watch (link.c). */
	uint64_t link_open_errors;	/* sockets not opened: no watch */
	uint64_t link_events;		/* notifications that were news */
	uint64_t link_overruns;		/* ENOBUFS, cut datagram: full pass */
	uint64_t link_lookups;		/* RTM_GETROUTE of an active path */
	uint64_t link_lookup_errors;	/* no answer: nothing decided */
	uint64_t link_reattaches;	/* reattaches started: no route */
	uint64_t link_probe_kicks;	/* clients told to probe now */
};

struct jvpnd {
	struct loop *loop;
	struct jvpn_config cfg;
	char ifname[IFNAMSIZ];
	struct kernel k;
	struct net net;
	struct session_table st;
	struct peer *peers;
	unsigned int n_peers;
	struct hs_responder resp;
	struct tbucket hs_global;
	struct rl_table hs_src;
	struct audit audit;
	int audit_fd;
	bool audit_pollable, audit_watching;
	struct loop_fd audit_h;
	struct events ev;
	struct link_watch link;
	struct control ctl;
	struct loop_fd sig_h;
	char state_path[PATH_MAX];
	/* State file rewrites, coalesced (lifecycle.c). */
	struct loop_timer state_timer;
	uint64_t state_saved_ms;	/* end of the last rewrite */
	uint32_t state_gap_ms;		/* least time until the next one */
	bool state_dirty;
	bool teardown_on_exit;
	bool dev_created;
	uint64_t start_ms;
	unsigned int adopted;
	struct jvpnd_stats stats;
	/* Reattach (roam.c). */
	struct ra_server ra_srv;
	struct store_mem store;
	bool roam_ready;
	struct loop_timer ra_expire_timer;
};

/* ---- audit helpers (lifecycle.c) --------------------------------------- */

void jvpnd_clock(struct audit_clock *clk);
void jvpnd_audit(struct jvpnd *d, enum audit_type type,
		 enum audit_action act, uint32_t sid,
		 const struct audit_kv *extra, unsigned int n_extra);
void jvpnd_audit_flush(void *arg);

/* ---- lifecycle.c ------------------------------------------------------- */

/* New session for peer in state INIT (+ HANDSHAKE_STARTED); NULL if none. */
struct session *sess_create(struct jvpnd *d, struct peer *p,
			    enum session_role role, uint32_t local_id);
/* FSM step with audit; false if refused (audited too). */
bool sess_step(struct jvpnd *d, struct session *s, enum fsm_event ev,
	       enum fsm_reason reason);
/*
 * Handshake done: program the kernel (session, primary key 1, paths) and
 * move to ATTACHED.  remote/sock: the path the handshake used.
 */
int sess_establish(struct jvpnd *d, struct session *s, uint32_t peer_id,
		   const struct jvpn_session_keys *keys,
		   const struct sockaddr *remote, struct net_sock *sock);
/* New keys for an established session: into the secondary slot. */
int sess_rekey_install(struct jvpnd *d, struct session *s,
		       const struct jvpn_session_keys *keys);
/* Promote the secondary key (initiator: at once; responder: on event). */
int sess_key_swap(struct jvpnd *d, struct session *s);
/* Terminates (FSM), removes from the kernel and frees the session. */
void sess_destroy(struct jvpnd *d, struct session *s, enum fsm_event ev,
		  enum fsm_reason reason, bool kernel_del);
/* Arms the time-based rekey timer of an initiator session. */
void sess_arm_rekey(struct jvpnd *d, struct session *s, uint64_t age_ms);
void sess_setup_timers(struct jvpnd *d, struct session *s);
/* Rewrites the state file (every established session). */
/*
 * The state file (--state) must be rewritten: now, or folded into one
 * rewrite a little later if one was just done (see lifecycle.c).
 */
void jvpnd_save_state(struct jvpnd *d);
/* Rewrites it now if anything is pending (shutdown). */
void jvpnd_flush_state(struct jvpnd *d);

/* ---- proto.c ----------------------------------------------------------- */

void proto_sock_readable(uint32_t events, void *arg);
/* Starts (or restarts) the initiator handshake of p. */
void proto_initiate(struct jvpnd *d, struct peer *p, bool rekey);
void proto_setup_peer(struct jvpnd *d, struct peer *p);
const char *proto_hs_err_name(int err);

/* Adds a kernel path (remote via sock) to s; the first becomes active. */
int sess_evict_path(struct jvpnd *d, struct session *s);
int sess_add_path(struct jvpnd *d, struct session *s,
		  const struct sockaddr *remote, struct net_sock *sock);

/* ---- roam.c ------------------------------------------------------------ */

int roam_init(struct jvpnd *d);
void roam_destroy(struct jvpnd *d);
/* Session ATTACHED (handshake or adoption): reattach state, candidates. */
void roam_session_up(struct jvpnd *d, struct session *s);
/* Before a session is freed. */
void roam_session_down(struct jvpnd *d, struct session *s);
/* The reattach key changed (rekey; call before swap_pending is set). */
void roam_rekey(struct jvpnd *d, struct session *s);
/* REATTACH_* and PROBE* messages from a socket. */
void roam_rx(struct jvpnd *d, struct net_sock *sock, const uint8_t *buf,
	     size_t len, const struct sockaddr_storage *from,
	     const struct net_pktinfo *dst);
/* Kernel events. */
void roam_path_silent(struct jvpnd *d, struct session *s, uint32_t path_id);
void roam_path_alive(struct jvpnd *d, struct session *s);
void roam_unknown_source(struct jvpnd *d, struct session *s,
			 uint32_t sock_id, const struct hs_source *src);
/*
 * Link watch: the active path of an initiator session has no usable
 * route.  Starts the reattach at once (TRANSPORT_LOST, link_down) unless
 * one is under way; true if it did.  why: the audit record's fields.
 */
bool roam_link_down(struct jvpnd *d, struct session *s,
		    const struct audit_kv *why, unsigned int n_why);
/* Link watch: a link, address or route came up; probe candidates now. */
void roam_link_up(struct jvpnd *d, struct session *s);

/* ---- adopt.c ----------------------------------------------------------- */

/* On start with an existing device: adopt or remove its sessions. */
int adopt_sessions(struct jvpnd *d);

#endif /* JVPND_JVPND_H */
