/* SPDX-License-Identifier: MIT */
/*
 * Noise Protocol Framework (revision 34) for jvpnd, on libsodium.
 *
 * Supported protocols (one DH, one cipher, one hash):
 *   Noise_IK_25519_ChaChaPoly_BLAKE2b
 *   Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b   (jvpn's handshake)
 *   Noise_XX_25519_ChaChaPoly_BLAKE2b
 *
 * The objects follow the specification's section 5 one to one:
 * CipherState (5.1), SymmetricState (5.2), HandshakeState (5.3).  All
 * buffers are fixed size, every message is at most NOISE_MAX_MSG_LEN
 * bytes (section 3), and every function returns NOISE_OK (0) or a
 * negative enum noise_err.
 *
 * Error policy: argument, buffer-size and turn errors are detected before
 * anything is mutated and leave a HandshakeState usable.  A cryptographic
 * failure (bad tag, invalid DH result, nonce exhaustion) leaves it in a
 * failed state: every later call returns NOISE_E_FAILED and its secrets
 * are already wiped (section 5.3: the handshake is aborted).
 */
#ifndef JVPN_NOISE_H
#define JVPN_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN		32	/* X25519 public key, shared secret */
#define NOISE_HASHLEN		64	/* BLAKE2b */
#define NOISE_BLOCKLEN		128	/* BLAKE2b block, for HMAC */
#define NOISE_KEYLEN		32	/* ChaChaPoly key */
#define NOISE_PSKLEN		32	/* section 9.2 */
#define NOISE_TAGLEN		16	/* Poly1305 */
#define NOISE_MAX_MSG_LEN	65535	/* section 3 */
#define NOISE_MAX_PROLOGUE_LEN	NOISE_MAX_MSG_LEN

enum noise_err {
	NOISE_OK = 0,
	NOISE_E_INVAL = -1,	/* bad argument, unknown protocol */
	NOISE_E_STATE = -2,	/* not this party's turn, or already done */
	NOISE_E_TOO_LONG = -3,	/* would exceed NOISE_MAX_MSG_LEN */
	NOISE_E_BUF = -4,	/* output buffer too small */
	NOISE_E_SHORT = -5,	/* input shorter than the pattern requires */
	NOISE_E_MISSING_KEY = -6, /* a token needs a key nobody supplied */
	NOISE_E_DH = -7,	/* all-zero X25519 result (low-order key) */
	NOISE_E_DECRYPT = -8,	/* authentication failed */
	NOISE_E_NONCE = -9,	/* nonce space exhausted (section 5.1) */
	NOISE_E_FAILED = -10,	/* the handshake failed earlier */
	NOISE_E_SODIUM = -11,	/* sodium_init() failed */
};

/* Returns a static, human-readable name for an enum noise_err. */
const char *noise_strerror(int err);

/* ---------------------------------------------------------------------- */
/* CipherState (section 5.1)                                               */
/* ---------------------------------------------------------------------- */

struct noise_cipher_state {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;		/* 2^64-1 is reserved (section 5.1) */
	bool has_key;
};

/* InitializeKey(key); key == NULL empties the state. */
void noise_cipher_init(struct noise_cipher_state *cs, const uint8_t *key);

/*
 * EncryptWithAd: out receives pt_len + NOISE_TAGLEN bytes (pt_len bytes
 * unchanged if the state has no key).  out must not overlap pt unless it
 * is the same pointer.  The nonce advances only on success.
 */
int noise_cipher_encrypt(struct noise_cipher_state *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *pt, size_t pt_len,
			 uint8_t *out, size_t out_cap, size_t *out_len);

/* DecryptWithAd: the nonce advances only if authentication succeeds. */
int noise_cipher_decrypt(struct noise_cipher_state *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *ct, size_t ct_len,
			 uint8_t *out, size_t out_cap, size_t *out_len);

/* Rekey() with the default REKEY function (sections 4.2 and 11.3). */
int noise_cipher_rekey(struct noise_cipher_state *cs);

void noise_cipher_wipe(struct noise_cipher_state *cs);

/* ---------------------------------------------------------------------- */
/* Hash functions (section 4.3), exposed for jvpn's key schedule           */
/* ---------------------------------------------------------------------- */

/* HMAC-BLAKE2b per RFC 2104 with BLOCKLEN 128 (not BLAKE2b keyed mode). */
void noise_hmac(uint8_t out[NOISE_HASHLEN],
		const uint8_t *key, size_t key_len,
		const uint8_t *data, size_t data_len);

/*
 * HKDF(chaining_key, input_key_material, num_outputs) of section 4.3:
 * out1 and out2 are required, out3 may be NULL (two outputs).
 */
void noise_hkdf(const uint8_t ck[NOISE_HASHLEN],
		const uint8_t *ikm, size_t ikm_len,
		uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN],
		uint8_t *out3);

/* ---------------------------------------------------------------------- */
/* SymmetricState (section 5.2)                                            */
/* ---------------------------------------------------------------------- */

struct noise_symmetric_state {
	struct noise_cipher_state cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
};

/* ---------------------------------------------------------------------- */
/* HandshakeState (section 5.3)                                            */
/* ---------------------------------------------------------------------- */

enum noise_pattern_id {
	NOISE_PATTERN_IK,
	NOISE_PATTERN_IKPSK2,
	NOISE_PATTERN_XX,
};

enum noise_role {
	NOISE_INITIATOR,
	NOISE_RESPONDER,
};

struct noise_keypair {
	uint8_t pub[NOISE_DHLEN];
	uint8_t priv[NOISE_DHLEN];
	bool present;
};

enum noise_hs_phase {
	NOISE_HS_EMPTY,		/* zeroed: not initialized, or wiped */
	NOISE_HS_RUNNING,
	NOISE_HS_COMPLETE,	/* all messages done, Split() pending */
	NOISE_HS_SPLIT,		/* keys handed out and wiped here */
	NOISE_HS_FAILED,
};

struct noise_pattern;

/* Treat as opaque: use the functions below. */
/*
 * Optional source of the static-static DH ("ss") for a remote static key
 * whose result the caller precomputed (it is the same for every handshake
 * between the same two keys; WireGuard keeps it per peer): true with out
 * filled (it must equal DH(s, rs)), false to compute it as usual.
 */
typedef bool (*noise_ss_fn)(void *ctx, const uint8_t rs[32], uint8_t out[32]);

struct noise_handshake {
	struct noise_symmetric_state ss;
	const struct noise_pattern *pattern;
	enum noise_role role;
	enum noise_hs_phase phase;
	unsigned int msg_index;		/* next message pattern */
	struct noise_keypair s, e;
	uint8_t rs[NOISE_DHLEN], re[NOISE_DHLEN];
	bool has_rs, has_re;
	uint8_t psk[NOISE_PSKLEN];
	bool has_psk;
	noise_ss_fn ss_fn;		/* NULL: always compute ss */
	void *ss_ctx;
};

/* Maps a full protocol name ("Noise_IK_25519_ChaChaPoly_BLAKE2b"). */
int noise_pattern_from_name(const char *protocol_name,
			    enum noise_pattern_id *id);
const char *noise_protocol_name(enum noise_pattern_id id);

/*
 * Initialize() of section 5.3.  s_priv: the local static private key
 * (its public key is computed), rs: the remote static public key, psk:
 * NOISE_PSKLEN bytes.  Each may be NULL when the pattern does not need it
 * at this point; IK/IKpsk2 initiators need rs, every XX party and IK
 * responders need s.  A psk may also be supplied later with
 * noise_handshake_set_psk().  The prologue may be empty (NULL, 0).
 */
int noise_handshake_init(struct noise_handshake *hs, enum noise_pattern_id id,
			 enum noise_role role,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t *s_priv, const uint8_t *rs,
			 const uint8_t *psk);

/*
 * Supplies the PSK before the "psk" token is processed, e.g. an IKpsk2
 * responder choosing the PSK by the initiator's static key after reading
 * message 1.
 */
int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);

/*
 * TEST HOOK ONLY: fixes the ephemeral private key instead of generating
 * one at the "e" token (the published vectors use fixed ephemerals).
 * Reusing an ephemeral key in production destroys forward secrecy.
 */
int noise_handshake_set_ephemeral(struct noise_handshake *hs,
				  const uint8_t *e_priv);

/* True while the next message is this party's to write. */
bool noise_handshake_is_my_turn(const struct noise_handshake *hs);
bool noise_handshake_is_complete(const struct noise_handshake *hs);

/*
 * WriteMessage(payload, message_buffer) of section 5.3.  payload and msg
 * must not overlap.  At most NOISE_MAX_MSG_LEN bytes are written.
 */
int noise_handshake_write(struct noise_handshake *hs,
			  const uint8_t *payload, size_t payload_len,
			  uint8_t *msg, size_t msg_cap, size_t *msg_len);

/*
 * ReadMessage(message, payload_buffer) of section 5.3.  msg and payload
 * must not overlap.  The payload is at most msg_len minus the pattern's
 * overhead (keys, tags).
 */
int noise_handshake_read(struct noise_handshake *hs,
			 const uint8_t *msg, size_t msg_len,
			 uint8_t *payload, size_t payload_cap,
			 size_t *payload_len);

/*
 * Split() of section 5.2, once the handshake is complete: c1 encrypts
 * initiator->responder, c2 responder->initiator.  Callable once; the
 * chaining key and local private keys are wiped afterwards, the
 * handshake hash and the remote static key stay readable.
 */
int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipher_state *c1,
			  struct noise_cipher_state *c2);

/* GetHandshakeHash() (section 5.2): valid once the handshake is complete. */
int noise_handshake_get_hash(const struct noise_handshake *hs,
			     uint8_t h[NOISE_HASHLEN]);

/* The peer's static public key, once known (pre-message or "s" token). */
int noise_handshake_get_remote_static(const struct noise_handshake *hs,
				      uint8_t rs[NOISE_DHLEN]);

/* Wipes every secret and resets the state; safe to call twice. */
void noise_handshake_wipe(struct noise_handshake *hs);

#endif /* JVPN_NOISE_H */
