/* SPDX-License-Identifier: MIT */
/*
 * jvpnd handshake message layer: HANDSHAKE_INIT, HANDSHAKE_RESP and
 * COOKIE on top of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b (noise.h) and
 * the jvpn key schedule (kdf.h).  docs/handshake.md has the byte layouts
 * with diagrams and the reasoning; the offsets below are the reference.
 *
 * Pure logic: no sockets, no clock is read here.  The caller passes a
 * monotonic millisecond count (cookie secret rotation, cookie expiry) and,
 * for the initiator's timestamp only, the wall clock.  Randomness comes
 * from libsodium (ephemerals, cookie secrets, cookie nonces).  After
 * hs_responder_init() nothing allocates.
 *
 * Every function returns HS_OK (0) or a negative enum hs_err; each
 * refusal has its own code so that the daemon can count and audit it
 * (hs_strerror() names it).
 */
#ifndef JVPND_HANDSHAKE_H
#define JVPND_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "kdf.h"
#include "noise.h"

/* Hashed into the Noise transcript before any message (noise section 6). */
#define HS_PROLOGUE		"jvpn v1"

#define HS_MAC_LEN		16	/* mac1, mac2, cookie: BLAKE2b-128 */
#define HS_MAC_KEY_LEN		32	/* BLAKE2b-256 derived keys */
#define HS_TIMESTAMP_LEN	12	/* 8 s + 4 ns, big endian */
#define HS_COOKIE_NONCE_LEN	24	/* XChaCha20-Poly1305 */
#define HS_ID_LEN		4	/* session ids on the wire */

/* ---------------------------------------------------------------------- */
/* HANDSHAKE_INIT (type 1), 148 bytes                                      */
/* ---------------------------------------------------------------------- */
#define HS_INIT_OFF_TYPE	0	/* u8 = JVPN_MSG_HANDSHAKE_INIT */
#define HS_INIT_OFF_RESERVED	1	/* 3 bytes, zero */
#define HS_INIT_OFF_SENDER	4	/* be32 initiator's session id, != 0 */
#define HS_INIT_OFF_NOISE	8	/* Noise message 1, 108 bytes: */
#define HS_INIT_OFF_EPHEMERAL	8	/*   e, 32 */
#define HS_INIT_OFF_STATIC	40	/*   encrypted s, 32 + 16 */
#define HS_INIT_OFF_TIMESTAMP	88	/*   encrypted timestamp, 12 + 16 */
#define HS_INIT_OFF_MAC1	116	/* 16 */
#define HS_INIT_OFF_MAC2	132	/* 16, zero without a cookie */
#define HS_INIT_LEN		148
#define HS_INIT_NOISE_LEN	(HS_INIT_OFF_MAC1 - HS_INIT_OFF_NOISE)

/* ---------------------------------------------------------------------- */
/* HANDSHAKE_RESP (type 2), 92 bytes                                       */
/* ---------------------------------------------------------------------- */
#define HS_RESP_OFF_TYPE	0	/* u8 = JVPN_MSG_HANDSHAKE_RESP */
#define HS_RESP_OFF_RESERVED	1	/* 3 bytes, zero */
#define HS_RESP_OFF_SENDER	4	/* be32 responder's session id, != 0 */
#define HS_RESP_OFF_RECEIVER	8	/* be32 initiator's session id */
#define HS_RESP_OFF_NOISE	12	/* Noise message 2, 48 bytes: */
#define HS_RESP_OFF_EPHEMERAL	12	/*   e, 32 */
#define HS_RESP_OFF_EMPTY	44	/*   encrypted empty payload, 16 */
#define HS_RESP_OFF_MAC1	60	/* 16 */
#define HS_RESP_OFF_MAC2	76	/* 16, always zero in v1 */
#define HS_RESP_LEN		92
#define HS_RESP_NOISE_LEN	(HS_RESP_OFF_MAC1 - HS_RESP_OFF_NOISE)

/* ---------------------------------------------------------------------- */
/* COOKIE (type 3), 64 bytes                                               */
/* ---------------------------------------------------------------------- */
#define HS_COOKIE_OFF_TYPE	0	/* u8 = JVPN_MSG_COOKIE */
#define HS_COOKIE_OFF_RESERVED	1	/* 3 bytes, zero */
#define HS_COOKIE_OFF_RECEIVER	4	/* be32 initiator's session id */
#define HS_COOKIE_OFF_NONCE	8	/* 24, random */
#define HS_COOKIE_OFF_COOKIE	32	/* encrypted cookie, 16 + 16 */
#define HS_COOKIE_LEN		64

/* Largest of the three, for receive buffers. */
#define HS_MAX_MSG_LEN		HS_INIT_LEN

/*
 * Cookie timing.  The responder's cookie secret belongs to one epoch of
 * HS_COOKIE_SECRET_PERIOD_MS (epoch = now_ms / period) and a cookie is
 * accepted under the current and the previous epoch's secret, so it is
 * valid for at least one full period after it was issued.  The initiator
 * keeps a cookie for a period minus a margin for the time the COOKIE
 * message spent in flight, so it never sends one the responder already
 * forgot.
 */
#define HS_COOKIE_SECRET_PERIOD_MS	120000ULL
#define HS_COOKIE_MARGIN_MS		5000ULL
#define HS_COOKIE_TTL_MS	(HS_COOKIE_SECRET_PERIOD_MS - HS_COOKIE_MARGIN_MS)

/* Largest peer table hs_responder_init() accepts. */
#define HS_MAX_PEERS		(1U << 20)

enum hs_err {
	HS_OK = 0,
	HS_E_INVAL = -1,	/* bad argument (caller bug) */
	HS_E_NOMEM = -2,	/* allocation at init failed */
	HS_E_CRYPTO = -3,	/* libsodium init or an internal Noise error */
	HS_E_SHORT = -4,	/* message shorter than its type's size */
	HS_E_LONG = -5,		/* message longer than its type's size */
	HS_E_TYPE = -6,		/* first byte is not the expected type */
	HS_E_RESERVED = -7,	/* reserved bytes not zero */
	HS_E_ZERO_ID = -8,	/* sender session id is zero */
	HS_E_MAC1 = -9,		/* mac1 wrong: not for us, or garbage */
	HS_E_MAC2_NEEDED = -10,	/* under load, no mac2: COOKIE produced */
	HS_E_MAC2_BAD = -11,	/* mac2 present but stale: COOKIE produced */
	HS_E_MAC2_SET = -12,	/* RESP carries a mac2 (must be zero in v1) */
	HS_E_DH = -13,		/* low-order public key (all-zero DH) */
	HS_E_DECRYPT = -14,	/* Noise authentication failed */
	HS_E_UNKNOWN_PEER = -15, /* initiator static key not configured */
	HS_E_REPLAY = -16,	/* timestamp equal to the last accepted */
	HS_E_STALE = -17,	/* timestamp older than the last accepted */
	HS_E_NOT_PENDING = -18,	/* initiator has no handshake in flight */
	HS_E_ID_MISMATCH = -19,	/* receiver id is not our pending id */
	HS_E_CLOCK = -20,	/* wall clock before 1970 or nsec invalid */
	HS_E_FULL = -21,	/* peer table full */
	HS_E_DUPLICATE = -22,	/* static key already configured */
};

/* Static, human-readable name for an enum hs_err ("unknown error" else). */
const char *hs_strerror(int err);

/* ---------------------------------------------------------------------- */
/* Source address (what a cookie is bound to)                              */
/* ---------------------------------------------------------------------- */

struct hs_source {
	uint8_t addr[16];	/* first addr_len bytes, network order */
	uint8_t addr_len;	/* 4 (IPv4) or 16 (IPv6) */
	uint16_t port;		/* host order */
};

/* From raw bytes; addr_len must be 4 or 16. */
int hs_source_set(struct hs_source *src, const void *addr, size_t addr_len,
		  uint16_t port);
/* From a struct sockaddr_in / sockaddr_in6 as recvmsg() returns it. */
int hs_source_from_sockaddr(struct hs_source *src, const struct sockaddr *sa,
			    socklen_t sa_len);

/* ---------------------------------------------------------------------- */
/* MAC helpers (exposed for tests and tools)                               */
/* ---------------------------------------------------------------------- */

/* BLAKE2b-256(label(8) || pub): label is "mac1----" or "cookie--". */
void hs_derive_key(uint8_t key[HS_MAC_KEY_LEN], const char label[8],
		   const uint8_t pub[NOISE_DHLEN]);
/* BLAKE2b-128 keyed with key over data. */
void hs_mac(uint8_t mac[HS_MAC_LEN], const uint8_t *key, size_t key_len,
	    const uint8_t *data, size_t data_len);

/* ---------------------------------------------------------------------- */
/* Responder                                                               */
/* ---------------------------------------------------------------------- */

struct hs_peer {
	uint8_t static_pub[NOISE_DHLEN];
	uint8_t psk[NOISE_PSKLEN];		/* all zero: no PSK */
	uint8_t last_ts[HS_TIMESTAMP_LEN];	/* greatest accepted; 0: none */
	uint8_t static_dh[NOISE_DHLEN];		/* DH(our static, static_pub) */
	bool in_use;
	bool has_static_dh;
};

struct hs_cookie_secret {
	uint8_t key[32];
	uint64_t epoch;		/* now_ms / HS_COOKIE_SECRET_PERIOD_MS */
	bool valid;
};

/* Treat as opaque. */
struct hs_responder {
	/* Initialize()d once with our static key and the prologue. */
	struct noise_handshake template_hs;
	uint8_t static_pub[NOISE_DHLEN];
	uint8_t mac1_key[HS_MAC_KEY_LEN];	/* checks mac1 of INIT */
	uint8_t cookie_key[HS_MAC_KEY_LEN];	/* encrypts COOKIE */
	struct hs_cookie_secret secret_cur, secret_prev;
	/* Peer table: peers[capacity] plus an open-addressing index. */
	struct hs_peer *peers;
	uint32_t *slots;		/* peer index + 1; 0 = empty */
	uint32_t capacity, n_peers, n_slots;
	uint32_t free_hint;		/* no free entry below this index */
	uint8_t index_key[16];		/* SipHash key of the index */
};

/* What hs_responder_consume_init() hands back. */
struct hs_init_result {
	uint32_t peer_index;		/* into the responder's peer table */
	uint32_t initiator_id;		/* INIT sender id: our PEER_ID */
	uint8_t timestamp[HS_TIMESTAMP_LEN];
	struct noise_handshake hs;	/* ready to write message 2 */
	/* With HS_E_MAC2_NEEDED / HS_E_MAC2_BAD: send this back to src. */
	uint8_t cookie_reply[HS_COOKIE_LEN];
};

/*
 * static_priv: our X25519 private key.  capacity: peer table size, fixed
 * for the responder's life (1..HS_MAX_PEERS), allocated here once.
 * now_ms: monotonic.  r is overwritten: destroy a live responder first.
 */
int hs_responder_init(struct hs_responder *r,
		      const uint8_t static_priv[NOISE_DHLEN],
		      uint32_t capacity, uint64_t now_ms);
/* Wipes every secret and frees the table; safe on a zeroed struct. */
void hs_responder_destroy(struct hs_responder *r);

/* psk may be NULL (no PSK).  *index receives the peer's stable index. */
int hs_responder_add_peer(struct hs_responder *r,
			  const uint8_t static_pub[NOISE_DHLEN],
			  const uint8_t *psk, uint32_t *index);
int hs_responder_remove_peer(struct hs_responder *r, uint32_t index);
/*
 * Operator reset of the replay state: forgets the peer's last timestamp,
 * e.g. after its clock was stepped far into the future and back.
 */
int hs_responder_reset_peer_timestamp(struct hs_responder *r, uint32_t index);

/*
 * Validates a HANDSHAKE_INIT from src, cheapest check first:
 *   size/type/reserved/id -> mac1 -> mac2 or COOKIE -> Noise read (2 DH)
 *   -> peer lookup -> timestamp replay rule.
 * On HS_OK, out holds the peer, the initiator's id and the handshake
 * state; the peer's last timestamp is already advanced.  On
 * HS_E_MAC2_NEEDED / HS_E_MAC2_BAD, out->cookie_reply is a COOKIE message
 * for src (no DH was done, no state kept).  The caller decides under_load
 * (e.g. handshake rate above the policy's global limit).  out must be
 * passed to hs_responder_write_resp() or wiped with hs_init_result_wipe().
 */
int hs_responder_consume_init(struct hs_responder *r, const uint8_t *msg,
			      size_t len, const struct hs_source *src,
			      uint64_t now_ms, bool under_load,
			      struct hs_init_result *out);

/*
 * Writes the HANDSHAKE_RESP (sender = local_id, != 0) and derives the
 * session keys.  res is wiped in every case.
 */
int hs_responder_write_resp(struct hs_init_result *res, uint32_t local_id,
			    uint8_t msg[HS_RESP_LEN],
			    struct jvpn_session_keys *keys);

void hs_init_result_wipe(struct hs_init_result *res);

/* ---------------------------------------------------------------------- */
/* Initiator                                                               */
/* ---------------------------------------------------------------------- */

/* Treat as opaque.  One per (local static, responder) pair. */
struct hs_initiator {
	/* Initialize()d once: static key, responder key, PSK, prologue. */
	struct noise_handshake template_hs;
	struct noise_handshake pending_hs;	/* message 1 written */
	uint8_t init_mac1_key[HS_MAC_KEY_LEN];	/* mac1 of our INITs */
	uint8_t resp_mac1_key[HS_MAC_KEY_LEN];	/* mac1 of RESPs to us */
	uint8_t cookie_key[HS_MAC_KEY_LEN];	/* decrypts COOKIE */
	uint8_t sent_mac1[HS_MAC_LEN];		/* AD of the COOKIE reply */
	uint8_t cookie[HS_MAC_LEN];
	uint64_t cookie_expires_ms;
	uint32_t local_id;
	bool pending;
	bool has_cookie;
};

struct hs_resp_result {
	uint32_t responder_id;		/* RESP sender id: our PEER_ID */
	uint32_t local_id;		/* the id the INIT carried */
	struct jvpn_session_keys keys;
};

/* psk may be NULL (no PSK, i.e. all zero). */
int hs_initiator_init(struct hs_initiator *in,
		      const uint8_t static_priv[NOISE_DHLEN],
		      const uint8_t responder_pub[NOISE_DHLEN],
		      const uint8_t *psk);
void hs_initiator_destroy(struct hs_initiator *in);

/*
 * Starts a new handshake (any pending one is abandoned): local_id is our
 * new session id (!= 0, chosen by the caller), wall the CLOCK_REALTIME
 * reading for the timestamp, now_ms monotonic (cookie expiry).
 */
int hs_initiator_begin(struct hs_initiator *in, uint32_t local_id,
		       const struct timespec *wall, uint64_t now_ms,
		       uint8_t msg[HS_INIT_LEN]);

/*
 * Completes the pending handshake.  A refused RESP leaves the pending
 * handshake intact (a forged response cannot cancel it).
 */
int hs_initiator_consume_resp(struct hs_initiator *in, const uint8_t *msg,
			      size_t len, struct hs_resp_result *out);

/* Stores the cookie of a COOKIE answering our pending INIT. */
int hs_initiator_consume_cookie(struct hs_initiator *in, const uint8_t *msg,
				size_t len, uint64_t now_ms);

void hs_resp_result_wipe(struct hs_resp_result *res);

/* ---------------------------------------------------------------------- */
/* Timestamp                                                               */
/* ---------------------------------------------------------------------- */

/*
 * The 12-byte timestamp of wall (see handshake.c for the format and the
 * reduced precision).  Exposed for tests.
 */
int hs_timestamp_encode(uint8_t ts[HS_TIMESTAMP_LEN],
			const struct timespec *wall);

#endif /* JVPND_HANDSHAKE_H */
