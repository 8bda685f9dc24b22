/* SPDX-License-Identifier: MIT */
/*
 * jvpn's key schedule after the Noise handshake.
 *
 * Inputs: the two keys of Noise Split() (k1 initiator->responder, k2
 * responder->initiator, 32 bytes each) and the handshake hash h
 * (64 bytes, GetHandshakeHash()).  With HMAC = HMAC-BLAKE2b (RFC 2104,
 * block 128 bytes, the same function Noise uses) and RFC 5869 HKDF:
 *
 *   PRK      = HMAC(key = h, k1 || k2)                 (HKDF-Extract)
 *   K(label) = HMAC(PRK, label || 0x01)[0..32)         (HKDF-Expand, L=32)
 *
 *   data key initiator->responder = K("jvpn v1 data initiator->responder")
 *   data key responder->initiator = K("jvpn v1 data responder->initiator")
 *   reattach key                  = K("jvpn v1 reattach")
 *
 * Labels are ASCII without a terminating NUL.  Why not hand k1/k2 to the
 * kernel directly: the data keys then depend on the whole transcript
 * (h covers the prologue, both ephemerals, the encrypted statics and the
 * handshake payloads, which the chaining key does not), the reattach key
 * is domain-separated from them by its label, and a future protocol
 * version changes "v1" instead of silently reusing keys.  The reattach
 * key is only ever used as a MAC key for proofs of possession; it never
 * encrypts data.  jvpn_kdf_derive() also refuses (as a cannot-happen
 * check) any output that equals another.
 */
#ifndef JVPN_KDF_H
#define JVPN_KDF_H

#include <stdint.h>

#include <linux/jvpn.h>

#include "noise.h"

#define JVPN_KDF_LABEL_I2R	"jvpn v1 data initiator->responder"
#define JVPN_KDF_LABEL_R2I	"jvpn v1 data responder->initiator"
#define JVPN_KDF_LABEL_REATTACH	"jvpn v1 reattach"
#define JVPN_REATTACH_KEY_LEN	32

struct jvpn_session_keys {
	uint8_t i2r[JVPN_KEY_LEN];	/* initiator -> responder data key */
	uint8_t r2i[JVPN_KEY_LEN];	/* responder -> initiator data key */
	uint8_t reattach[JVPN_REATTACH_KEY_LEN];
};

/*
 * Derives the session keys from Split()'s keys and the handshake hash.
 * Returns NOISE_OK, or NOISE_E_INVAL on NULL arguments or if two outputs
 * collide (then *out is wiped).
 */
int jvpn_kdf_derive(const uint8_t k1[NOISE_KEYLEN],
		    const uint8_t k2[NOISE_KEYLEN],
		    const uint8_t h[NOISE_HASHLEN],
		    struct jvpn_session_keys *out);

/*
 * Split()s a completed handshake and derives the session keys; the
 * intermediate CipherStates are wiped.  Errors are noise_handshake_split's.
 */
int jvpn_kdf_from_handshake(struct noise_handshake *hs,
			    struct jvpn_session_keys *out);

/*
 * The kernel's view for one side: tx is JVPN_A_KEY_ENCRYPT, rx is
 * JVPN_A_KEY_DECRYPT.  The initiator sends with i2r, the responder r2i.
 */
void jvpn_kdf_data_keys(const struct jvpn_session_keys *keys,
			enum noise_role role,
			const uint8_t **tx, const uint8_t **rx);

void jvpn_kdf_wipe(struct jvpn_session_keys *keys);

#endif /* JVPN_KDF_H */
