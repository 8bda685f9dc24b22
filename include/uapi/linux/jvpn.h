/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * jvpn - session-continuity VPN: user/kernel API and wire format.
 *
 * The generic netlink family JVPN_FAMILY_NAME programs jvpn devices
 * (rtnl kind "jvpn").  Every command addresses a device by JVPN_A_IFINDEX.
 * All commands require CAP_NET_ADMIN in the device's network namespace.
 *
 * Object model:
 *   device  - a jvpn netdev; holds a bounded table of attached UDP sockets
 *             and a bounded table of sessions.
 *   session - keys (two slots), TX counter, RX replay window, inner
 *             addresses, state_version and a bounded set of paths.
 *   path    - (attached socket, remote address:port); exactly one path of a
 *             session is active.  Switching paths never touches keys,
 *             counters or the replay window.
 */
#ifndef _UAPI_LINUX_JVPN_H
#define _UAPI_LINUX_JVPN_H

#include <linux/types.h>

#define JVPN_FAMILY_NAME	"jvpn"
#define JVPN_FAMILY_VERSION	1
#define JVPN_MCGRP_EVENTS	"events"

/* ---------------------------------------------------------------------- */
/* Wire format (all multi-byte fields big endian)                          */
/* ---------------------------------------------------------------------- */

/* First byte of every UDP payload. Only JVPN_MSG_DATA is consumed by the
 * kernel; every other type is left on the socket for the daemon.
 */
enum jvpn_msg_type {
	JVPN_MSG_HANDSHAKE_INIT = 1,
	JVPN_MSG_HANDSHAKE_RESP = 2,
	JVPN_MSG_COOKIE = 3,
	JVPN_MSG_DATA = 4,
	JVPN_MSG_REATTACH_REQ = 5,
	JVPN_MSG_REATTACH_CHALLENGE = 6,
	JVPN_MSG_REATTACH_RESP = 7,
	JVPN_MSG_PROBE = 8,
	JVPN_MSG_PROBE_REPLY = 9,
	JVPN_MSG_TERMINATE = 10,
};

/* DATA header: authenticated as associated data of the AEAD. The AEAD
 * nonce is the 64-bit counter (ChaCha20-Poly1305, 96-bit nonce with the
 * first 32 bits zero, counter little endian as in RFC 7539 / WireGuard).
 * Ciphertext and a 16-byte tag follow. An empty plaintext is a keepalive.
 */
struct jvpn_data_hdr {
	__u8 type;		/* JVPN_MSG_DATA */
	__u8 key_id;		/* selects one of the receiver's key slots */
	__be16 reserved;	/* zero on send, ignored on receive */
	__be32 session_id;	/* receiver's session id */
	__be64 counter;		/* per-session, strictly increasing on TX */
};

#define JVPN_DATA_HDR_LEN	16
#define JVPN_AEAD_TAG_LEN	16
#define JVPN_KEY_LEN		32
/* The counter may never reach this value; sessions must rekey long before. */
#define JVPN_COUNTER_REJECT	(~0ULL - 8192ULL)

/* ---------------------------------------------------------------------- */
/* Limits and defaults                                                     */
/* ---------------------------------------------------------------------- */

#define JVPN_MAX_SESSIONS_DEFAULT	1024
#define JVPN_MAX_SESSIONS_LIMIT		1048576
#define JVPN_MAX_PATHS_DEFAULT		4
#define JVPN_MAX_PATHS_LIMIT		8
#define JVPN_MAX_SOCKETS		16
#define JVPN_MAX_INNER_PER_SESSION	8
#define JVPN_SILENT_MS_DEFAULT		1000
#define JVPN_KEEPALIVE_MS_DEFAULT	250
#define JVPN_EVENT_RATE_DEFAULT		100	/* events per second */
#define JVPN_REPLAY_WINDOW_BITS		2048

/* ---------------------------------------------------------------------- */
/* Generic netlink                                                         */
/* ---------------------------------------------------------------------- */

enum jvpn_cmd {
	JVPN_CMD_UNSPEC,
	JVPN_CMD_DEV_GET,	/* doit: one device; dumpit: all in netns */
	JVPN_CMD_DEV_SET,	/* limits and timers */
	JVPN_CMD_SOCKET_ATTACH,	/* SOCKET_FD -> reply with SOCKET_ID */
	JVPN_CMD_SOCKET_DETACH,	/* SOCKET_ID; refused while a path uses it */
	JVPN_CMD_SESSION_NEW,
	JVPN_CMD_SESSION_SET,
	JVPN_CMD_SESSION_GET,	/* doit: SESSION_ID; dumpit: all sessions */
	JVPN_CMD_SESSION_DEL,
	JVPN_CMD_KEY_NEW,	/* install into KEY_SLOT */
	JVPN_CMD_KEY_SWAP,	/* exchange primary and secondary atomically */
	JVPN_CMD_KEY_DEL,	/* clear KEY_SLOT */
	JVPN_CMD_PATH_ADD,
	JVPN_CMD_PATH_DEL,
	JVPN_CMD_PATH_GET,	/* PATH_ID: that path; else all, in PATHS */
	JVPN_CMD_PATH_ACTIVATE,	/* needs EXPECTED_VERSION == state_version;
				 * replies with the session (new version)
				 */
	JVPN_CMD_EVENT,		/* multicast notification */

	__JVPN_CMD_MAX,
	JVPN_CMD_MAX = __JVPN_CMD_MAX - 1
};

enum jvpn_attr {
	JVPN_A_UNSPEC,
	JVPN_A_IFINDEX,			/* u32 */
	JVPN_A_IFNAME,			/* string (reply only) */
	JVPN_A_MAX_SESSIONS,		/* u32 */
	JVPN_A_MAX_PATHS,		/* u32, per session */
	JVPN_A_SILENT_MS,		/* u32, path silent after this */
	JVPN_A_KEEPALIVE_MS,		/* u32, passive keepalive interval */
	JVPN_A_EVENT_RATE,		/* u32, events per second */
	JVPN_A_N_SESSIONS,		/* u32 (reply only) */
	JVPN_A_EVENT_SEQ,		/* u64, last event sequence number */
	JVPN_A_STATS,			/* nest of enum jvpn_stat */
	JVPN_A_SOCKET_FD,		/* s32 */
	JVPN_A_SOCKET_ID,		/* u32 */
	JVPN_A_SOCKET_FAMILY,		/* u16 AF_INET / AF_INET6 (reply) */
	JVPN_A_SOCKET_PORT,		/* u16 local port, host order (reply) */
	JVPN_A_SESSION_ID,		/* u32, local receiver id, != 0 */
	JVPN_A_PEER_ID,			/* u32, id the peer expects on TX */
	JVPN_A_STATE_VERSION,		/* u64 */
	JVPN_A_EXPECTED_VERSION,	/* u64 */
	JVPN_A_INNER,			/* nest of JVPN_A_INNER_ADDR entries */
	JVPN_A_KEY_SLOT,		/* u8, enum jvpn_key_slot */
	JVPN_A_KEY_ID,			/* u8, key id on the wire */
	JVPN_A_KEY_ENCRYPT,		/* binary, JVPN_KEY_LEN */
	JVPN_A_KEY_DECRYPT,		/* binary, JVPN_KEY_LEN */
	JVPN_A_KEYS,			/* nest of JVPN_A_KEY entries (reply) */
	JVPN_A_PATH_ID,			/* u32, 1..max per session */
	JVPN_A_PATH_REMOTE_IP,		/* binary, 4 or 16 bytes */
	JVPN_A_PATH_REMOTE_PORT,	/* u16, host order */
	JVPN_A_PATH_ACTIVE,		/* u8 (reply) */
	JVPN_A_PATHS,			/* nest of JVPN_A_PATH entries (reply) */
	JVPN_A_ACTIVE_PATH_ID,		/* u32 (reply), 0 if none */
	JVPN_A_EVENT_TYPE,		/* u32, enum jvpn_event */
	JVPN_A_TX_COUNTER,		/* u64 (reply) */
	JVPN_A_RX_COUNTER,		/* u64, highest authenticated (reply) */
	JVPN_A_LAST_RX_MS,		/* u32, ms since last auth. RX (reply);
					 * U32_MAX: never
					 */
	JVPN_A_LAST_TX_MS,		/* u32, ms since last TX; U32_MAX: never */
	JVPN_A_PAD,
	JVPN_A_SOCKETS,			/* nest of JVPN_A_SOCKET (DEV_GET) */
	JVPN_A_SOCKET,			/* nest: SOCKET_ID, _FAMILY, _PORT */

	__JVPN_A_MAX,
	JVPN_A_MAX = __JVPN_A_MAX - 1
};

/* Inside JVPN_A_INNER: several JVPN_A_INNER_ADDR nests. */
enum jvpn_inner_attr {
	JVPN_A_INNER_UNSPEC,
	JVPN_A_INNER_ADDR,		/* nest: FAMILY, IP, PREFIXLEN */
	JVPN_A_INNER_FAMILY,		/* u16 */
	JVPN_A_INNER_IP,		/* binary, 4 or 16 bytes */
	JVPN_A_INNER_PREFIXLEN,		/* u8 */

	__JVPN_A_INNER_MAX,
	JVPN_A_INNER_MAX = __JVPN_A_INNER_MAX - 1
};

enum jvpn_key_slot {
	JVPN_KEY_SLOT_PRIMARY = 0,	/* used for TX */
	JVPN_KEY_SLOT_SECONDARY = 1,	/* RX only, until swapped */
};

/* Inside JVPN_A_KEYS: JVPN_A_KEY nests (no key material is ever dumped). */
enum jvpn_key_attr {
	JVPN_A_KEY_UNSPEC,
	JVPN_A_KEY,			/* nest */
	JVPN_A_KEY_INFO_SLOT,		/* u8 */
	JVPN_A_KEY_INFO_ID,		/* u8 */
	JVPN_A_KEY_INFO_AGE_MS,		/* u32 */
	JVPN_A_KEY_INFO_TX_PACKETS,	/* u64, sent under this key */
	JVPN_A_KEY_INFO_PAD,
	JVPN_A_KEY_INFO_RX_PACKETS,	/* u64, authenticated under this key */

	__JVPN_A_KEY_MAX,
	JVPN_A_KEY_MAX = __JVPN_A_KEY_MAX - 1
};

/* Inside JVPN_A_PATHS: JVPN_A_PATH nests. PATH_GET doit replies flat. */
enum jvpn_path_attr {
	JVPN_A_PATH_UNSPEC,
	JVPN_A_PATH,			/* nest of JVPN_A_PATH_* + JVPN_A_STATS */

	__JVPN_A_PATH_MAX,
	JVPN_A_PATH_MAX = __JVPN_A_PATH_MAX - 1
};

/* Counters (u64 each) inside JVPN_A_STATS: device, session or path. */
enum jvpn_stat {
	JVPN_STAT_UNSPEC,
	JVPN_STAT_RX_PACKETS,
	JVPN_STAT_RX_BYTES,
	JVPN_STAT_TX_PACKETS,
	JVPN_STAT_TX_BYTES,
	JVPN_STAT_RX_REPLAY,		/* replayed or too old */
	JVPN_STAT_RX_AUTH_FAIL,		/* AEAD failure */
	JVPN_STAT_RX_MALFORMED,		/* short or bad header */
	JVPN_STAT_RX_NO_SESSION,	/* unknown session id */
	JVPN_STAT_RX_NO_KEY,		/* key id not installed */
	JVPN_STAT_RX_UNKNOWN_SOURCE,	/* authenticated, not from a path */
	JVPN_STAT_RX_INNER_MISMATCH,	/* inner source not allowed */
	JVPN_STAT_TX_NO_SESSION,	/* no session for inner destination */
	JVPN_STAT_TX_NO_PATH,		/* session has no active path */
	JVPN_STAT_TX_NO_KEY,		/* no usable primary key */
	JVPN_STAT_TX_ERRORS,		/* route or socket failure */
	JVPN_STAT_KEEPALIVES_TX,
	JVPN_STAT_KEEPALIVES_RX,
	JVPN_STAT_PATH_SWITCHES,
	JVPN_STAT_EVENTS_SENT,
	JVPN_STAT_EVENTS_DROPPED,	/* rate limited or allocation failure */
	JVPN_STAT_LIMIT_REFUSED,	/* table limits hit */
	JVPN_STAT_PAD,

	__JVPN_STAT_MAX,
	JVPN_STAT_MAX = __JVPN_STAT_MAX - 1
};

/* JVPN_A_EVENT_TYPE values. Every event carries IFINDEX, EVENT_SEQ
 * (device-wide, +1 per emitted event: a gap means loss) and, where it
 * applies, SESSION_ID, PATH_ID, PATH_REMOTE_IP and PATH_REMOTE_PORT.
 */
enum jvpn_event {
	JVPN_EVENT_UNSPEC,
	JVPN_EVENT_PATH_SILENT,		/* TX without authenticated RX */
	JVPN_EVENT_UNKNOWN_SOURCE,	/* authenticated, not a known path */
	JVPN_EVENT_KEY_LIMIT,		/* primary key nearing its limit */
	JVPN_EVENT_SESSION_REMOVED,
	JVPN_EVENT_PATH_ALIVE,		/* silent path heard from again */
	JVPN_EVENT_SECONDARY_KEY_USED,	/* first authenticated RX under the
					 * secondary key: the peer has it,
					 * time to KEY_SWAP (once per key)
					 */

	__JVPN_EVENT_MAX,
	JVPN_EVENT_MAX = __JVPN_EVENT_MAX - 1
};

#endif /* _UAPI_LINUX_JVPN_H */
