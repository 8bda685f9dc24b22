// SPDX-License-Identifier: MIT
/*
 * jvpn key schedule: Noise Split() keys + handshake hash -> two data keys
 * for the kernel and one reattach key.  The construction and the labels
 * are documented in kdf.h.
 */
#include <string.h>

#include <sodium.h>

#include "kdf.h"

/* One HKDF-Expand block (RFC 5869 T(1)) must cover every output. */
_Static_assert(JVPN_KEY_LEN <= NOISE_HASHLEN, "data key longer than a block");
_Static_assert(JVPN_REATTACH_KEY_LEN <= NOISE_HASHLEN,
	       "reattach key longer than a block");

/* Each label plus the 0x01 counter byte fits expand_label()'s buffer. */
#define LABEL_FITS(l)	(sizeof(l) <= 64)
_Static_assert(LABEL_FITS(JVPN_KDF_LABEL_I2R) &&
	       LABEL_FITS(JVPN_KDF_LABEL_R2I) &&
	       LABEL_FITS(JVPN_KDF_LABEL_REATTACH), "label too long");

/* RFC 5869 HKDF-Expand with L <= HashLen: T(1) = HMAC(PRK, info || 0x01). */
static void expand_label(const uint8_t prk[NOISE_HASHLEN], const char *label,
			 uint8_t *out, size_t out_len)
{
	uint8_t info[64];
	uint8_t t[NOISE_HASHLEN];
	size_t len = strlen(label);

	/* Labels are the constants checked by LABEL_FITS above. */
	memcpy(info, label, len);
	info[len] = 0x01;
	noise_hmac(t, prk, NOISE_HASHLEN, info, len + 1);
	memcpy(out, t, out_len);
	sodium_memzero(t, sizeof(t));
}

static bool keys_distinct(const struct jvpn_session_keys *k)
{
	return sodium_memcmp(k->i2r, k->r2i, JVPN_KEY_LEN) != 0 &&
	       sodium_memcmp(k->reattach, k->i2r, JVPN_KEY_LEN) != 0 &&
	       sodium_memcmp(k->reattach, k->r2i, JVPN_KEY_LEN) != 0;
}

int jvpn_kdf_derive(const uint8_t k1[NOISE_KEYLEN],
		    const uint8_t k2[NOISE_KEYLEN],
		    const uint8_t h[NOISE_HASHLEN],
		    struct jvpn_session_keys *out)
{
	uint8_t ikm[2 * NOISE_KEYLEN];
	uint8_t prk[NOISE_HASHLEN];

	if (!k1 || !k2 || !h || !out)
		return NOISE_E_INVAL;
	/* HKDF-Extract with the handshake hash as salt (RFC 5869 2.2). */
	memcpy(ikm, k1, NOISE_KEYLEN);
	memcpy(ikm + NOISE_KEYLEN, k2, NOISE_KEYLEN);
	noise_hmac(prk, h, NOISE_HASHLEN, ikm, sizeof(ikm));

	expand_label(prk, JVPN_KDF_LABEL_I2R, out->i2r, sizeof(out->i2r));
	expand_label(prk, JVPN_KDF_LABEL_R2I, out->r2i, sizeof(out->r2i));
	expand_label(prk, JVPN_KDF_LABEL_REATTACH, out->reattach,
		     sizeof(out->reattach));
	sodium_memzero(ikm, sizeof(ikm));
	sodium_memzero(prk, sizeof(prk));

	if (!keys_distinct(out)) {
		jvpn_kdf_wipe(out);
		return NOISE_E_INVAL;
	}
	return NOISE_OK;
}

int jvpn_kdf_from_handshake(struct noise_handshake *hs,
			    struct jvpn_session_keys *out)
{
	struct noise_cipher_state c1, c2;
	uint8_t h[NOISE_HASHLEN];
	int err;

	if (!hs || !out)
		return NOISE_E_INVAL;
	err = noise_handshake_get_hash(hs, h);
	if (!err)
		err = noise_handshake_split(hs, &c1, &c2);
	if (!err) {
		err = jvpn_kdf_derive(c1.k, c2.k, h, out);
		noise_cipher_wipe(&c1);
		noise_cipher_wipe(&c2);
	}
	sodium_memzero(h, sizeof(h));
	return err;
}

void jvpn_kdf_data_keys(const struct jvpn_session_keys *keys,
			enum noise_role role,
			const uint8_t **tx, const uint8_t **rx)
{
	bool initiator = role == NOISE_INITIATOR;

	*tx = initiator ? keys->i2r : keys->r2i;
	*rx = initiator ? keys->r2i : keys->i2r;
}

void jvpn_kdf_wipe(struct jvpn_session_keys *keys)
{
	if (keys)
		sodium_memzero(keys, sizeof(*keys));
}
