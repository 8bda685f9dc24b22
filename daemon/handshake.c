// SPDX-License-Identifier: MIT
/*
 * jvpnd handshake messages: framing, mac1/mac2, cookies, the timestamp
 * replay rule and the peer table, around Noise IKpsk2 (noise.c) and the
 * jvpn key schedule (kdf.c).  Layouts: handshake.h and docs/handshake.md.
 *
 * Design in one paragraph.  A responder must be able to say no cheaply:
 * every check that costs no DH comes first (size, type, reserved bytes,
 * mac1, and under load mac2), and a loaded responder answers an
 * initiation without a valid mac2 with a COOKIE message instead of doing
 * the two X25519 operations of Noise message 1.  The cookie is bound to
 * the initiator's source address, so a flood from spoofed addresses earns
 * cookies that never reach the sender and buys no DH.  Only then is the
 * Noise message read, the initiator's static key looked up, and the
 * encrypted timestamp compared with the greatest one seen from that peer.
 *
 * Messages are built and parsed byte by byte at the offsets in
 * handshake.h; no struct is ever laid over wire bytes.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <linux/jvpn.h>

#include "bytes.h"
#include "handshake.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MAC1_LABEL	"mac1----"
#define COOKIE_LABEL	"cookie--"
#define LABEL_LEN	8

/* e, encrypted s, encrypted timestamp */
_Static_assert(NOISE_DHLEN + (NOISE_DHLEN + NOISE_TAGLEN) +
	       (HS_TIMESTAMP_LEN + NOISE_TAGLEN) == HS_INIT_NOISE_LEN,
	       "INIT Noise part");
/* e, encrypted empty payload */
_Static_assert(NOISE_DHLEN + NOISE_TAGLEN == HS_RESP_NOISE_LEN,
	       "RESP Noise part");
_Static_assert(HS_INIT_OFF_MAC2 + HS_MAC_LEN == HS_INIT_LEN, "INIT size");
_Static_assert(HS_RESP_OFF_MAC2 + HS_MAC_LEN == HS_RESP_LEN, "RESP size");
_Static_assert(HS_COOKIE_OFF_COOKIE + HS_MAC_LEN +
	       crypto_aead_xchacha20poly1305_ietf_ABYTES == HS_COOKIE_LEN,
	       "COOKIE size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ==
	       HS_COOKIE_NONCE_LEN, "nonce size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == HS_MAC_KEY_LEN,
	       "cookie key size");
_Static_assert(crypto_generichash_blake2b_KEYBYTES_MIN <= HS_MAC_LEN,
	       "a cookie must be usable as a BLAKE2b key");
_Static_assert(sizeof(((struct hs_responder *)0)->index_key) ==
	       crypto_shorthash_KEYBYTES, "SipHash key size");

/* ---------------------------------------------------------------------- */
/* Big-endian fields                                                       */
/* ---------------------------------------------------------------------- */

/* Type byte, three zero reserved bytes (common to all three messages). */
static void put_header(uint8_t *msg, uint8_t type)
{
	msg[0] = type;
	msg[1] = 0;
	msg[2] = 0;
	msg[3] = 0;
}

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

static const char *const hs_err_names[] = {
	[-HS_OK] = "success",
	[-HS_E_INVAL] = "invalid argument",
	[-HS_E_NOMEM] = "out of memory",
	[-HS_E_CRYPTO] = "crypto library failure",
	[-HS_E_SHORT] = "message too short",
	[-HS_E_LONG] = "message too long",
	[-HS_E_TYPE] = "wrong message type",
	[-HS_E_RESERVED] = "reserved bytes not zero",
	[-HS_E_ZERO_ID] = "zero sender session id",
	[-HS_E_MAC1] = "mac1 invalid",
	[-HS_E_MAC2_NEEDED] = "under load without mac2, cookie sent",
	[-HS_E_MAC2_BAD] = "mac2 invalid, cookie sent",
	[-HS_E_MAC2_SET] = "unexpected mac2 in response",
	[-HS_E_DH] = "invalid public key (low-order point)",
	[-HS_E_DECRYPT] = "handshake authentication failed",
	[-HS_E_UNKNOWN_PEER] = "unknown initiator static key",
	[-HS_E_REPLAY] = "replayed timestamp",
	[-HS_E_STALE] = "timestamp older than last accepted",
	[-HS_E_NOT_PENDING] = "no handshake in progress",
	[-HS_E_ID_MISMATCH] = "receiver id does not match",
	[-HS_E_CLOCK] = "wall clock out of range",
	[-HS_E_FULL] = "peer table full",
	[-HS_E_DUPLICATE] = "peer already configured",
};

const char *hs_strerror(int err)
{
	if (err > 0 || (size_t)-(long)err >= ARRAY_SIZE(hs_err_names))
		return "unknown error";
	return hs_err_names[-(long)err];
}

/*
 * The Noise layer's failures that a peer can cause get their own codes;
 * anything else (state or buffer errors) is a bug here, not an attack.
 */
static int from_noise(int err)
{
	switch (err) {
	case NOISE_OK:
		return HS_OK;
	case NOISE_E_DH:
		return HS_E_DH;
	case NOISE_E_DECRYPT:
		return HS_E_DECRYPT;
	default:
		return HS_E_CRYPTO;
	}
}

/* ---------------------------------------------------------------------- */
/* Source addresses                                                        */
/* ---------------------------------------------------------------------- */

static bool source_valid(const struct hs_source *src)
{
	return src && (src->addr_len == 4 || src->addr_len == 16);
}

int hs_source_set(struct hs_source *src, const void *addr, size_t addr_len,
		  uint16_t port)
{
	if (!src || !addr || (addr_len != 4 && addr_len != 16))
		return HS_E_INVAL;
	memset(src, 0, sizeof(*src));
	memcpy(src->addr, addr, addr_len);
	src->addr_len = (uint8_t)addr_len;
	src->port = port;
	return HS_OK;
}

int hs_source_from_sockaddr(struct hs_source *src, const struct sockaddr *sa,
			    socklen_t sa_len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (!sa || sa_len < sizeof(sa->sa_family))
		return HS_E_INVAL;
	if (sa->sa_family == AF_INET && sa_len >= sizeof(*sin))
		return hs_source_set(src, &sin->sin_addr, 4,
				     ntohs(sin->sin_port));
	if (sa->sa_family == AF_INET6 && sa_len >= sizeof(*sin6))
		return hs_source_set(src, &sin6->sin6_addr, 16,
				     ntohs(sin6->sin6_port));
	return HS_E_INVAL;
}

/* ---------------------------------------------------------------------- */
/* MACs                                                                    */
/* ---------------------------------------------------------------------- */

void hs_derive_key(uint8_t key[HS_MAC_KEY_LEN], const char label[LABEL_LEN],
		   const uint8_t pub[NOISE_DHLEN])
{
	uint8_t in[LABEL_LEN + NOISE_DHLEN];

	memcpy(in, label, LABEL_LEN);
	memcpy(in + LABEL_LEN, pub, NOISE_DHLEN);
	crypto_generichash_blake2b(key, HS_MAC_KEY_LEN, in, sizeof(in),
				   NULL, 0);
}

void hs_mac(uint8_t mac[HS_MAC_LEN], const uint8_t *key, size_t key_len,
	    const uint8_t *data, size_t data_len)
{
	crypto_generichash_blake2b(mac, HS_MAC_LEN, data, data_len,
				   key, key_len);
}

/* mac1 covers everything before it; constant-time compare by habit. */
static int check_mac1(const uint8_t *msg, size_t mac1_off,
		      const uint8_t key[HS_MAC_KEY_LEN])
{
	uint8_t mac[HS_MAC_LEN];

	hs_mac(mac, key, HS_MAC_KEY_LEN, msg, mac1_off);
	if (sodium_memcmp(mac, msg + mac1_off, HS_MAC_LEN) != 0)
		return HS_E_MAC1;
	return HS_OK;
}

/* Size, type and reserved bytes: the checks shared by all messages. */
static int check_frame(const uint8_t *msg, size_t len, uint8_t type,
		       size_t want)
{
	if (len < 1)
		return HS_E_SHORT;
	if (msg[0] != type)
		return HS_E_TYPE;
	if (len < want)
		return HS_E_SHORT;
	if (len > want)
		return HS_E_LONG;
	/*
	 * Strict: a version that needs these bytes changes the prologue,
	 * and a peer that sets them is not speaking v1.
	 */
	if (msg[1] | msg[2] | msg[3])
		return HS_E_RESERVED;
	return HS_OK;
}

/* ---------------------------------------------------------------------- */
/* Timestamp                                                               */
/* ---------------------------------------------------------------------- */

/*
 * The timestamp is the initiator's proof of freshness, and it must come
 * from the wall clock: it has to keep increasing across restarts of the
 * initiator (a counter would start again at zero and be refused until it
 * passed the old value; a monotonic clock restarts at boot), and the
 * responder must not need to keep any per-initiator state beyond "the
 * greatest value seen".  Big endian, so that memcmp() orders timestamps
 * numerically:
 *
 *   bytes 0..7   seconds since 1970-01-01 UTC (CLOCK_REALTIME)
 *   bytes 8..11  nanoseconds, rounded down to a multiple of 2^24
 *
 * The rounding (about 16.8 ms, as WireGuard does) keeps the value from
 * serving as a precise fingerprint of the initiator's clock; the replay
 * rule only needs monotonicity.  Two initiations to one responder within
 * one 16.8 ms grain carry equal timestamps and the second is refused,
 * which the daemon's initiation rate limit never comes near.
 *
 * If the initiator's clock steps backwards, its initiations are refused
 * (HS_E_STALE) until its clock passes the greatest value the responder
 * accepted; the operator can clear that value on the responder
 * (hs_responder_reset_peer_timestamp()).
 */
#define HS_TS_NSEC_GRAIN	(1U << 24)

int hs_timestamp_encode(uint8_t ts[HS_TIMESTAMP_LEN],
			const struct timespec *wall)
{
	uint32_t nsec;

	if (!ts || !wall)
		return HS_E_INVAL;
	if (wall->tv_sec < 0 || wall->tv_nsec < 0 ||
	    wall->tv_nsec >= 1000000000L)
		return HS_E_CLOCK;
	nsec = (uint32_t)wall->tv_nsec & ~(HS_TS_NSEC_GRAIN - 1);
	put_be64(ts, (uint64_t)wall->tv_sec);
	put_be32(ts + 8, nsec);
	return HS_OK;
}

/* ---------------------------------------------------------------------- */
/* Cookies (responder side)                                                */
/* ---------------------------------------------------------------------- */

static void cookie_secret_fresh(struct hs_cookie_secret *s, uint64_t epoch)
{
	randombytes_buf(s->key, sizeof(s->key));
	s->epoch = epoch;
	s->valid = true;
}

/*
 * Secrets belong to fixed epochs of HS_COOKIE_SECRET_PERIOD_MS, brought
 * up to date lazily from the caller's now_ms.  One epoch later the
 * current secret becomes the previous one; two or more epochs later both
 * are gone.  So a cookie works during the epoch it was issued in and the
 * next one (at least one full period), and never after two rotations.
 * A clock that goes backwards changes nothing.
 */
static void cookie_rotate(struct hs_responder *r, uint64_t now_ms)
{
	uint64_t epoch = now_ms / HS_COOKIE_SECRET_PERIOD_MS;

	if (epoch <= r->secret_cur.epoch)
		return;
	if (epoch == r->secret_cur.epoch + 1)
		r->secret_prev = r->secret_cur;
	else
		sodium_memzero(&r->secret_prev, sizeof(r->secret_prev));
	cookie_secret_fresh(&r->secret_cur, epoch);
}

/* cookie = BLAKE2b-128(key = secret, source address || be16 port) */
static void cookie_compute(uint8_t cookie[HS_MAC_LEN],
			   const struct hs_cookie_secret *s,
			   const struct hs_source *src)
{
	uint8_t in[sizeof(src->addr) + 2];

	memcpy(in, src->addr, src->addr_len);
	put_be16(in + src->addr_len, src->port);
	hs_mac(cookie, s->key, sizeof(s->key), in, src->addr_len + 2u);
}

static bool mac2_valid_under(const struct hs_cookie_secret *s,
			     const struct hs_source *src, const uint8_t *msg)
{
	uint8_t cookie[HS_MAC_LEN], mac[HS_MAC_LEN];
	bool ok;

	if (!s->valid)
		return false;
	cookie_compute(cookie, s, src);
	hs_mac(mac, cookie, sizeof(cookie), msg, HS_INIT_OFF_MAC2);
	ok = sodium_memcmp(mac, msg + HS_INIT_OFF_MAC2, HS_MAC_LEN) == 0;
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

/*
 * COOKIE for the INIT in msg: the cookie of src under the current
 * secret, encrypted to the initiator with the INIT's mac1 as associated
 * data, so that only the sender of that very INIT (who knows the mac1 it
 * sent) can use it, and a COOKIE cannot be replayed onto another INIT.
 * 64 bytes answer 148: no amplification.
 */
static void cookie_reply_write(const struct hs_responder *r,
			       const uint8_t *init, const struct hs_source *src,
			       uint8_t out[HS_COOKIE_LEN])
{
	uint8_t cookie[HS_MAC_LEN];
	uint8_t *nonce = out + HS_COOKIE_OFF_NONCE;

	put_header(out, JVPN_MSG_COOKIE);
	memcpy(out + HS_COOKIE_OFF_RECEIVER, init + HS_INIT_OFF_SENDER,
	       HS_ID_LEN);
	randombytes_buf(nonce, HS_COOKIE_NONCE_LEN);
	cookie_compute(cookie, &r->secret_cur, src);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + HS_COOKIE_OFF_COOKIE,
						   NULL, cookie, sizeof(cookie),
						   init + HS_INIT_OFF_MAC1,
						   HS_MAC_LEN, NULL, nonce,
						   r->cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
}

/*
 * A zero mac2 means "no cookie": fine unless we are under load.  A
 * non-zero mac2 claims a cookie and is always checked: if it does not
 * verify (the initiator moved to another address, or its cookie outlived
 * two rotations) it gets a fresh cookie, which costs no DH and no state.
 * Checking it even when not under load is what makes every bit of an
 * INIT matter.
 */
static int mac2_verdict(const struct hs_responder *r, const uint8_t *msg,
			const struct hs_source *src, bool under_load)
{
	if (sodium_is_zero(msg + HS_INIT_OFF_MAC2, HS_MAC_LEN))
		return under_load ? HS_E_MAC2_NEEDED : HS_OK;
	if (mac2_valid_under(&r->secret_cur, src, msg) ||
	    mac2_valid_under(&r->secret_prev, src, msg))
		return HS_OK;
	return HS_E_MAC2_BAD;
}

static int check_mac2(struct hs_responder *r, const uint8_t *msg,
		      const struct hs_source *src, uint64_t now_ms,
		      bool under_load, uint8_t reply[HS_COOKIE_LEN])
{
	int err;

	cookie_rotate(r, now_ms);
	err = mac2_verdict(r, msg, src, under_load);
	if (err)
		cookie_reply_write(r, msg, src, reply);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Peer table                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Open addressing with linear probing over n_slots >= 2 * capacity
 * slots, so a probe always ends at an empty slot.  The hash is SipHash
 * under a random key: initiators choose the static key we look up (any
 * key decrypts fine, it just is not configured), so an unkeyed hash
 * would let them aim for one long probe sequence.
 */
static uint32_t slot_home(const struct hs_responder *r,
			  const uint8_t pub[NOISE_DHLEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(h, pub, NOISE_DHLEN, r->index_key);
	v = get_be32(h);
	return v & (r->n_slots - 1);
}

static const uint8_t *slot_pub(const struct hs_responder *r, uint32_t slot)
{
	return r->peers[r->slots[slot] - 1].static_pub;
}

/* The slot holding pub, or the empty slot where it would go. */
static uint32_t slot_find(const struct hs_responder *r,
			  const uint8_t pub[NOISE_DHLEN])
{
	uint32_t mask = r->n_slots - 1;
	uint32_t i = slot_home(r, pub);

	while (r->slots[i] && memcmp(slot_pub(r, i), pub, NOISE_DHLEN))
		i = (i + 1) & mask;
	return i;
}

/*
 * Backward-shift deletion: entries after the hole move up when the hole
 * lies on their probe path, so lookups never need tombstones.
 */
static void slot_delete(struct hs_responder *r, uint32_t hole)
{
	uint32_t mask = r->n_slots - 1;
	uint32_t i = hole, home;

	for (;;) {
		i = (i + 1) & mask;
		if (!r->slots[i])
			break;
		home = slot_home(r, slot_pub(r, i));
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			r->slots[hole] = r->slots[i];
			hole = i;
		}
	}
	r->slots[hole] = 0;
}

static bool peer_lookup(const struct hs_responder *r,
			const uint8_t pub[NOISE_DHLEN], uint32_t *index)
{
	uint32_t slot = slot_find(r, pub);

	if (!r->slots[slot])
		return false;
	*index = r->slots[slot] - 1;
	return true;
}

/* Configuration time only, so a linear scan for a free entry is fine. */
/*
 * The lowest free entry.  Entries below free_hint are all in use, so
 * adding N peers one after the other costs O(N) in all, not O(N^2).
 */
static uint32_t peer_free_index(struct hs_responder *r)
{
	uint32_t i;

	for (i = r->free_hint; i < r->capacity; i++)
		if (!r->peers[i].in_use)
			break;
	r->free_hint = i;
	return i;
}

int hs_responder_add_peer(struct hs_responder *r,
			  const uint8_t static_pub[NOISE_DHLEN],
			  const uint8_t *psk, uint32_t *index)
{
	struct hs_peer *peer;
	uint32_t slot, i;

	if (!r || !r->peers || !static_pub || !index ||
	    sodium_is_zero(static_pub, NOISE_DHLEN))
		return HS_E_INVAL;
	slot = slot_find(r, static_pub);
	if (r->slots[slot])
		return HS_E_DUPLICATE;
	if (r->n_peers >= r->capacity)
		return HS_E_FULL;
	i = peer_free_index(r);
	peer = &r->peers[i];
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->static_pub, static_pub, NOISE_DHLEN);
	if (psk)
		memcpy(peer->psk, psk, NOISE_PSKLEN);
	/* The "ss" DH of every INIT from this peer, once: one of the five
	 * scalar multiplications a handshake costs the responder.  A key
	 * whose DH fails keeps failing in the handshake, as before.
	 */
	peer->has_static_dh =
		!crypto_scalarmult(peer->static_dh, r->template_hs.s.priv,
				   static_pub) &&
		!sodium_is_zero(peer->static_dh, NOISE_DHLEN);
	peer->in_use = true;
	r->slots[slot] = i + 1;
	r->n_peers++;
	*index = i;
	return HS_OK;
}

static struct hs_peer *peer_at(struct hs_responder *r, uint32_t index)
{
	if (!r || !r->peers || index >= r->capacity ||
	    !r->peers[index].in_use)
		return NULL;
	return &r->peers[index];
}

int hs_responder_remove_peer(struct hs_responder *r, uint32_t index)
{
	struct hs_peer *peer = peer_at(r, index);

	if (!peer)
		return HS_E_INVAL;
	slot_delete(r, slot_find(r, peer->static_pub));
	sodium_memzero(peer, sizeof(*peer));
	r->n_peers--;
	if (index < r->free_hint)
		r->free_hint = index;
	return HS_OK;
}

int hs_responder_reset_peer_timestamp(struct hs_responder *r, uint32_t index)
{
	struct hs_peer *peer = peer_at(r, index);

	if (!peer)
		return HS_E_INVAL;
	memset(peer->last_ts, 0, sizeof(peer->last_ts));
	return HS_OK;
}

/* ---------------------------------------------------------------------- */
/* Responder                                                               */
/* ---------------------------------------------------------------------- */

static uint32_t slots_for(uint32_t capacity)
{
	uint32_t n = 2;

	while (n < 2 * capacity)
		n <<= 1;
	return n;
}

/* noise_ss_fn of the responder: the configured peer's precomputed ss. */
static bool responder_static_dh(void *ctx, const uint8_t rs[NOISE_DHLEN],
				uint8_t out[NOISE_DHLEN])
{
	const struct hs_responder *r = ctx;
	uint32_t index;

	if (!peer_lookup(r, rs, &index) || !r->peers[index].has_static_dh)
		return false;
	memcpy(out, r->peers[index].static_dh, NOISE_DHLEN);
	return true;
}

static int responder_alloc(struct hs_responder *r, uint32_t capacity)
{
	r->capacity = capacity;
	r->n_slots = slots_for(capacity);
	r->peers = calloc(capacity, sizeof(*r->peers));
	r->slots = calloc(r->n_slots, sizeof(*r->slots));
	if (!r->peers || !r->slots)
		return HS_E_NOMEM;
	return HS_OK;
}

/*
 * The Noise state after Initialize() depends only on our static key and
 * the prologue, so it is built once and copied for every INIT: that
 * saves a scalar multiplication per initiation.  struct noise_handshake
 * is plain data (its only pointer is to a static pattern table), so a
 * copy is a complete, independent state.
 */
static int responder_keys(struct hs_responder *r,
			  const uint8_t static_priv[NOISE_DHLEN])
{
	int err;

	err = noise_handshake_init(&r->template_hs, NOISE_PATTERN_IKPSK2,
				   NOISE_RESPONDER,
				   (const uint8_t *)HS_PROLOGUE,
				   strlen(HS_PROLOGUE), static_priv, NULL,
				   NULL);
	if (err)
		return err == NOISE_E_DH ? HS_E_INVAL : from_noise(err);
	/* r stays where it is initialised (its users embed it). */
	r->template_hs.ss_fn = responder_static_dh;
	r->template_hs.ss_ctx = r;
	if (crypto_scalarmult_base(r->static_pub, static_priv) != 0)
		return HS_E_INVAL;
	hs_derive_key(r->mac1_key, MAC1_LABEL, r->static_pub);
	hs_derive_key(r->cookie_key, COOKIE_LABEL, r->static_pub);
	return HS_OK;
}

int hs_responder_init(struct hs_responder *r,
		      const uint8_t static_priv[NOISE_DHLEN],
		      uint32_t capacity, uint64_t now_ms)
{
	int err;

	if (!r)
		return HS_E_INVAL;
	memset(r, 0, sizeof(*r));
	if (!static_priv || capacity == 0 || capacity > HS_MAX_PEERS)
		return HS_E_INVAL;
	if (sodium_init() < 0)
		return HS_E_CRYPTO;
	err = responder_keys(r, static_priv);
	if (!err)
		err = responder_alloc(r, capacity);
	if (err) {
		hs_responder_destroy(r);
		return err;
	}
	randombytes_buf(r->index_key, sizeof(r->index_key));
	cookie_secret_fresh(&r->secret_cur,
			    now_ms / HS_COOKIE_SECRET_PERIOD_MS);
	return HS_OK;
}

void hs_responder_destroy(struct hs_responder *r)
{
	if (!r)
		return;
	if (r->peers)
		sodium_memzero(r->peers, r->capacity * sizeof(*r->peers));
	free(r->peers);
	free(r->slots);
	sodium_memzero(r, sizeof(*r));
}

static int init_check_frame(const uint8_t *msg, size_t len)
{
	int err = check_frame(msg, len, JVPN_MSG_HANDSHAKE_INIT, HS_INIT_LEN);

	if (err)
		return err;
	if (!get_be32(msg + HS_INIT_OFF_SENDER))
		return HS_E_ZERO_ID;
	return HS_OK;
}

/* Noise message 1: "e, es, s, ss" and the timestamp payload (2 DH). */
static int init_read_noise(const struct hs_responder *r, const uint8_t *msg,
			   struct hs_init_result *out)
{
	size_t n;
	int err;

	out->hs = r->template_hs;
	err = noise_handshake_read(&out->hs, msg + HS_INIT_OFF_NOISE,
				   HS_INIT_NOISE_LEN, out->timestamp,
				   sizeof(out->timestamp), &n);
	if (err)
		return from_noise(err);
	if (n != HS_TIMESTAMP_LEN)	/* fixed by the message size */
		return HS_E_CRYPTO;
	out->initiator_id = get_be32(msg + HS_INIT_OFF_SENDER);
	return HS_OK;
}

/*
 * The timestamp was authenticated by the "ss" DH, so only the holder of
 * the peer's static key can have produced it: strictly greater than the
 * greatest accepted, or refused.  The PSK enters at message 2.
 */
static int init_accept_peer(struct hs_responder *r,
			    struct hs_init_result *out)
{
	uint8_t rs[NOISE_DHLEN];
	struct hs_peer *peer;
	uint32_t index;
	int err, cmp;

	err = noise_handshake_get_remote_static(&out->hs, rs);
	if (err)
		return from_noise(err);
	if (!peer_lookup(r, rs, &index))
		return HS_E_UNKNOWN_PEER;
	peer = &r->peers[index];
	cmp = memcmp(out->timestamp, peer->last_ts, HS_TIMESTAMP_LEN);
	if (cmp == 0)
		return HS_E_REPLAY;
	if (cmp < 0)
		return HS_E_STALE;
	err = noise_handshake_set_psk(&out->hs, peer->psk);
	if (err)
		return from_noise(err);
	memcpy(peer->last_ts, out->timestamp, HS_TIMESTAMP_LEN);
	out->peer_index = index;
	return HS_OK;
}

int hs_responder_consume_init(struct hs_responder *r, const uint8_t *msg,
			      size_t len, const struct hs_source *src,
			      uint64_t now_ms, bool under_load,
			      struct hs_init_result *out)
{
	int err;

	if (!out)
		return HS_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!r || !r->peers || !msg || !source_valid(src))
		return HS_E_INVAL;

	err = init_check_frame(msg, len);
	if (!err)
		err = check_mac1(msg, HS_INIT_OFF_MAC1, r->mac1_key);
	if (!err)
		err = check_mac2(r, msg, src, now_ms, under_load,
				 out->cookie_reply);
	if (!err)
		err = init_read_noise(r, msg, out);
	if (!err)
		err = init_accept_peer(r, out);
	if (err)
		noise_handshake_wipe(&out->hs);
	return err;
}

/* mac1 of a RESP is keyed with the initiator's static key (the receiver). */
static void resp_put_macs(uint8_t msg[HS_RESP_LEN],
			  const uint8_t initiator_pub[NOISE_DHLEN])
{
	uint8_t key[HS_MAC_KEY_LEN];

	hs_derive_key(key, MAC1_LABEL, initiator_pub);
	hs_mac(msg + HS_RESP_OFF_MAC1, key, sizeof(key), msg,
	       HS_RESP_OFF_MAC1);
	memset(msg + HS_RESP_OFF_MAC2, 0, HS_MAC_LEN);
}

/* Noise message 2: "e, ee, se, psk", empty payload; then the keys. */
static int resp_write_noise(struct hs_init_result *res,
			    uint8_t msg[HS_RESP_LEN],
			    struct jvpn_session_keys *keys)
{
	size_t n;
	int err;

	err = noise_handshake_write(&res->hs, NULL, 0,
				    msg + HS_RESP_OFF_NOISE,
				    HS_RESP_NOISE_LEN, &n);
	if (!err && n != HS_RESP_NOISE_LEN)
		err = NOISE_E_INVAL;
	if (!err)
		err = jvpn_kdf_from_handshake(&res->hs, keys);
	return from_noise(err);
}

int hs_responder_write_resp(struct hs_init_result *res, uint32_t local_id,
			    uint8_t msg[HS_RESP_LEN],
			    struct jvpn_session_keys *keys)
{
	uint8_t rs[NOISE_DHLEN];
	int err;

	if (!res)
		return HS_E_INVAL;
	if (!msg || !keys || !local_id) {
		hs_init_result_wipe(res);
		return HS_E_INVAL;
	}
	put_header(msg, JVPN_MSG_HANDSHAKE_RESP);
	put_be32(msg + HS_RESP_OFF_SENDER, local_id);
	put_be32(msg + HS_RESP_OFF_RECEIVER, res->initiator_id);
	err = from_noise(noise_handshake_get_remote_static(&res->hs, rs));
	if (!err)
		err = resp_write_noise(res, msg, keys);
	if (!err)
		resp_put_macs(msg, rs);
	else
		memset(msg, 0, HS_RESP_LEN);
	hs_init_result_wipe(res);
	return err;
}

void hs_init_result_wipe(struct hs_init_result *res)
{
	if (res)
		sodium_memzero(res, sizeof(*res));
}

/* ---------------------------------------------------------------------- */
/* Initiator                                                               */
/* ---------------------------------------------------------------------- */

/* Same reasoning as responder_keys(): Initialize() once, copy per INIT. */
static int initiator_keys(struct hs_initiator *in,
			  const uint8_t static_priv[NOISE_DHLEN],
			  const uint8_t responder_pub[NOISE_DHLEN],
			  const uint8_t *psk)
{
	static const uint8_t no_psk[NOISE_PSKLEN];
	uint8_t pub[NOISE_DHLEN];
	int err;

	err = noise_handshake_init(&in->template_hs, NOISE_PATTERN_IKPSK2,
				   NOISE_INITIATOR,
				   (const uint8_t *)HS_PROLOGUE,
				   strlen(HS_PROLOGUE), static_priv,
				   responder_pub, psk ? psk : no_psk);
	if (err)
		return err == NOISE_E_DH ? HS_E_INVAL : from_noise(err);
	if (crypto_scalarmult_base(pub, static_priv) != 0)
		return HS_E_INVAL;
	hs_derive_key(in->init_mac1_key, MAC1_LABEL, responder_pub);
	hs_derive_key(in->resp_mac1_key, MAC1_LABEL, pub);
	hs_derive_key(in->cookie_key, COOKIE_LABEL, responder_pub);
	return HS_OK;
}

int hs_initiator_init(struct hs_initiator *in,
		      const uint8_t static_priv[NOISE_DHLEN],
		      const uint8_t responder_pub[NOISE_DHLEN],
		      const uint8_t *psk)
{
	int err;

	if (!in)
		return HS_E_INVAL;
	memset(in, 0, sizeof(*in));
	if (!static_priv || !responder_pub)
		return HS_E_INVAL;
	if (sodium_init() < 0)
		return HS_E_CRYPTO;
	err = initiator_keys(in, static_priv, responder_pub, psk);
	if (err)
		hs_initiator_destroy(in);
	return err;
}

void hs_initiator_destroy(struct hs_initiator *in)
{
	if (in)
		sodium_memzero(in, sizeof(*in));
}

static void initiator_abandon(struct hs_initiator *in)
{
	noise_handshake_wipe(&in->pending_hs);
	sodium_memzero(in->sent_mac1, sizeof(in->sent_mac1));
	in->local_id = 0;
	in->pending = false;
}

static void initiator_forget_cookie(struct hs_initiator *in)
{
	sodium_memzero(in->cookie, sizeof(in->cookie));
	in->cookie_expires_ms = 0;
	in->has_cookie = false;
}

static void init_put_macs(struct hs_initiator *in, uint8_t msg[HS_INIT_LEN],
			  uint64_t now_ms)
{
	hs_mac(msg + HS_INIT_OFF_MAC1, in->init_mac1_key,
	       sizeof(in->init_mac1_key), msg, HS_INIT_OFF_MAC1);
	memcpy(in->sent_mac1, msg + HS_INIT_OFF_MAC1, HS_MAC_LEN);
	if (in->has_cookie && now_ms >= in->cookie_expires_ms)
		initiator_forget_cookie(in);
	if (in->has_cookie)
		hs_mac(msg + HS_INIT_OFF_MAC2, in->cookie, sizeof(in->cookie),
		       msg, HS_INIT_OFF_MAC2);
	else
		memset(msg + HS_INIT_OFF_MAC2, 0, HS_MAC_LEN);
}

int hs_initiator_begin(struct hs_initiator *in, uint32_t local_id,
		       const struct timespec *wall, uint64_t now_ms,
		       uint8_t msg[HS_INIT_LEN])
{
	uint8_t ts[HS_TIMESTAMP_LEN];
	size_t n;
	int err;

	if (!in || !msg || !local_id)
		return HS_E_INVAL;
	err = hs_timestamp_encode(ts, wall);
	if (err)
		return err;
	initiator_abandon(in);
	in->pending_hs = in->template_hs;
	put_header(msg, JVPN_MSG_HANDSHAKE_INIT);
	put_be32(msg + HS_INIT_OFF_SENDER, local_id);
	err = noise_handshake_write(&in->pending_hs, ts, sizeof(ts),
				    msg + HS_INIT_OFF_NOISE,
				    HS_INIT_NOISE_LEN, &n);
	if (!err && n != HS_INIT_NOISE_LEN)
		err = NOISE_E_INVAL;
	if (err) {
		initiator_abandon(in);
		memset(msg, 0, HS_INIT_LEN);
		return from_noise(err);
	}
	init_put_macs(in, msg, now_ms);
	in->local_id = local_id;
	in->pending = true;
	return HS_OK;
}

/* Which handshake is this for?  Cheap, before mac1. */
static int resp_check_ids(const struct hs_initiator *in, const uint8_t *msg)
{
	if (!in->pending)
		return HS_E_NOT_PENDING;
	if (get_be32(msg + HS_RESP_OFF_RECEIVER) != in->local_id)
		return HS_E_ID_MISMATCH;
	if (!get_be32(msg + HS_RESP_OFF_SENDER))
		return HS_E_ZERO_ID;
	return HS_OK;
}

static int resp_check_cheap(const struct hs_initiator *in, const uint8_t *msg,
			    size_t len)
{
	int err = check_frame(msg, len, JVPN_MSG_HANDSHAKE_RESP, HS_RESP_LEN);

	if (!err)
		err = resp_check_ids(in, msg);
	if (!err)
		err = check_mac1(msg, HS_RESP_OFF_MAC1, in->resp_mac1_key);
	/* v1 initiators never issue cookies, so nobody can hold one. */
	if (!err && !sodium_is_zero(msg + HS_RESP_OFF_MAC2, HS_MAC_LEN))
		err = HS_E_MAC2_SET;
	return err;
}

/*
 * Noise message 2 is read into a copy of the pending state: a failed
 * read wipes the state it ran on (noise.h), and a forged RESP must not
 * be able to cancel the real handshake still in flight.
 */
static int resp_read_noise(const struct hs_initiator *in, const uint8_t *msg,
			   struct jvpn_session_keys *keys)
{
	struct noise_handshake hs = in->pending_hs;
	uint8_t payload[1];
	size_t n;
	int err;

	err = noise_handshake_read(&hs, msg + HS_RESP_OFF_NOISE,
				   HS_RESP_NOISE_LEN, payload, sizeof(payload),
				   &n);
	if (!err && n != 0)		/* fixed by the message size */
		err = NOISE_E_INVAL;
	if (!err)
		err = jvpn_kdf_from_handshake(&hs, keys);
	noise_handshake_wipe(&hs);
	return from_noise(err);
}

int hs_initiator_consume_resp(struct hs_initiator *in, const uint8_t *msg,
			      size_t len, struct hs_resp_result *out)
{
	int err;

	if (!out)
		return HS_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!in || !msg)
		return HS_E_INVAL;
	err = resp_check_cheap(in, msg, len);
	if (!err)
		err = resp_read_noise(in, msg, &out->keys);
	if (err) {
		hs_resp_result_wipe(out);
		return err;
	}
	out->responder_id = get_be32(msg + HS_RESP_OFF_SENDER);
	out->local_id = in->local_id;
	initiator_abandon(in);
	return HS_OK;
}

int hs_initiator_consume_cookie(struct hs_initiator *in, const uint8_t *msg,
				size_t len, uint64_t now_ms)
{
	uint8_t cookie[HS_MAC_LEN];
	int err;

	if (!in || !msg)
		return HS_E_INVAL;
	err = check_frame(msg, len, JVPN_MSG_COOKIE, HS_COOKIE_LEN);
	if (!err && !in->pending)
		err = HS_E_NOT_PENDING;
	if (!err && get_be32(msg + HS_COOKIE_OFF_RECEIVER) != in->local_id)
		err = HS_E_ID_MISMATCH;
	if (err)
		return err;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, msg + HS_COOKIE_OFF_COOKIE,
		    HS_COOKIE_LEN - HS_COOKIE_OFF_COOKIE, in->sent_mac1,
		    HS_MAC_LEN, msg + HS_COOKIE_OFF_NONCE, in->cookie_key) != 0)
		return HS_E_DECRYPT;
	memcpy(in->cookie, cookie, sizeof(cookie));
	in->cookie_expires_ms = now_ms + HS_COOKIE_TTL_MS;
	in->has_cookie = true;
	sodium_memzero(cookie, sizeof(cookie));
	return HS_OK;
}

void hs_resp_result_wipe(struct hs_resp_result *res)
{
	if (res)
		sodium_memzero(res, sizeof(*res));
}
