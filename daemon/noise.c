// SPDX-License-Identifier: MIT
/*
 * Noise Protocol Framework, revision 34 (2018-07-11), for jvpnd.
 *
 * DH = 25519 (libsodium crypto_scalarmult), cipher = ChaChaPoly
 * (crypto_aead_chacha20poly1305_ietf_*), hash = BLAKE2b
 * (crypto_generichash_blake2b).  Section numbers below refer to
 * https://noiseprotocol.org/noise.html revision 34.
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

/* ---------------------------------------------------------------------- */
/* Handshake patterns as data (sections 7 and 9)                          */
/* ---------------------------------------------------------------------- */

enum noise_token {
	TOK_END = 0,	/* terminates a token list */
	TOK_E,
	TOK_S,
	TOK_EE,
	TOK_ES,
	TOK_SE,
	TOK_SS,
	TOK_PSK,
};

#define NOISE_MAX_MESSAGES	3
#define NOISE_MAX_TOKENS	5	/* per message pattern */
#define NOISE_MAX_PRE_TOKENS	1	/* per pre-message pattern */

struct noise_pattern {
	enum noise_pattern_id id;
	const char *protocol_name;
	/* Pre-message tokens indexed by enum noise_role; only "s" here. */
	uint8_t premessage[2][NOISE_MAX_PRE_TOKENS + 1];
	unsigned int n_messages;
	/* Message i is sent by the initiator when i is even (section 7.1). */
	uint8_t messages[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS + 1];
};

static const struct noise_pattern noise_patterns[] = {
	{	/* section 7.5: <- s ... -> e, es, s, ss  <- e, ee, se */
		.id = NOISE_PATTERN_IK,
		.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b",
		.premessage = { [NOISE_RESPONDER] = { TOK_S } },
		.n_messages = 2,
		.messages = {
			{ TOK_E, TOK_ES, TOK_S, TOK_SS },
			{ TOK_E, TOK_EE, TOK_SE },
		},
	},
	{	/* section 9.4: IK with "psk" appended to the second message */
		.id = NOISE_PATTERN_IKPSK2,
		.protocol_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
		.premessage = { [NOISE_RESPONDER] = { TOK_S } },
		.n_messages = 2,
		.messages = {
			{ TOK_E, TOK_ES, TOK_S, TOK_SS },
			{ TOK_E, TOK_EE, TOK_SE, TOK_PSK },
		},
	},
	{	/* section 7.5: -> e  <- e, ee, s, es  -> s, se */
		.id = NOISE_PATTERN_XX,
		.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b",
		.n_messages = 3,
		.messages = {
			{ TOK_E },
			{ TOK_E, TOK_EE, TOK_S, TOK_ES },
			{ TOK_S, TOK_SE },
		},
	},
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define N_PATTERNS	ARRAY_SIZE(noise_patterns)

static const struct noise_pattern *pattern_by_id(enum noise_pattern_id id)
{
	size_t i;

	for (i = 0; i < N_PATTERNS; i++)
		if (noise_patterns[i].id == id)
			return &noise_patterns[i];
	return NULL;
}

int noise_pattern_from_name(const char *protocol_name,
			    enum noise_pattern_id *id)
{
	size_t i;

	if (!protocol_name || !id)
		return NOISE_E_INVAL;
	for (i = 0; i < N_PATTERNS; i++) {
		if (!strcmp(noise_patterns[i].protocol_name, protocol_name)) {
			*id = noise_patterns[i].id;
			return NOISE_OK;
		}
	}
	return NOISE_E_INVAL;
}

const char *noise_protocol_name(enum noise_pattern_id id)
{
	const struct noise_pattern *p = pattern_by_id(id);

	return p ? p->protocol_name : NULL;
}

/* Token i of a message pattern, TOK_END past the end. */
static enum noise_token message_token(const struct noise_pattern *p,
				      unsigned int msg, unsigned int i)
{
	if (msg >= p->n_messages || i >= NOISE_MAX_TOKENS)
		return TOK_END;
	return p->messages[msg][i];
}

static enum noise_role message_sender(unsigned int msg)
{
	return msg % 2 == 0 ? NOISE_INITIATOR : NOISE_RESPONDER;
}

/* Section 9.2: any "psk" token puts the whole handshake in PSK mode. */
static bool pattern_has_psk(const struct noise_pattern *p)
{
	unsigned int m, i;

	for (m = 0; m < p->n_messages; m++)
		for (i = 0; message_token(p, m, i) != TOK_END; i++)
			if (message_token(p, m, i) == TOK_PSK)
				return true;
	return false;
}

static bool premessage_has_static(const struct noise_pattern *p,
				  enum noise_role role)
{
	return p->premessage[role][0] == TOK_S;
}

/* Does this token use the static key of @role (in the DH sense)? */
static bool token_uses_static(enum noise_token tok, enum noise_role sender,
			      enum noise_role role)
{
	switch (tok) {
	case TOK_S:
		return sender == role;
	case TOK_ES:
		return role == NOISE_RESPONDER;
	case TOK_SE:
		return role == NOISE_INITIATOR;
	case TOK_SS:
		return true;
	default:
		return false;
	}
}

static bool pattern_needs_static(const struct noise_pattern *p,
				 enum noise_role role)
{
	unsigned int m, i;
	enum noise_token tok;

	if (premessage_has_static(p, role))
		return true;
	for (m = 0; m < p->n_messages; m++)
		for (i = 0; (tok = message_token(p, m, i)) != TOK_END; i++)
			if (token_uses_static(tok, message_sender(m), role))
				return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

static const char *const noise_err_names[] = {
	[-NOISE_OK] = "success",
	[-NOISE_E_INVAL] = "invalid argument",
	[-NOISE_E_STATE] = "wrong handshake state or turn",
	[-NOISE_E_TOO_LONG] = "message longer than 65535 bytes",
	[-NOISE_E_BUF] = "output buffer too small",
	[-NOISE_E_SHORT] = "message too short",
	[-NOISE_E_MISSING_KEY] = "required key not supplied",
	[-NOISE_E_DH] = "invalid DH result (low-order public key)",
	[-NOISE_E_DECRYPT] = "authentication failed",
	[-NOISE_E_NONCE] = "nonce exhausted",
	[-NOISE_E_FAILED] = "handshake already failed",
	[-NOISE_E_SODIUM] = "libsodium initialization failed",
};

const char *noise_strerror(int err)
{
	size_t n = ARRAY_SIZE(noise_err_names);

	if (err > 0 || (size_t)-(long)err >= n)
		return "unknown error";
	return noise_err_names[-(long)err];
}

/* ---------------------------------------------------------------------- */
/* CipherState (section 5.1) with ChaChaPoly (section 12.3)               */
/* ---------------------------------------------------------------------- */

/* Section 12.3: 32 zero bits followed by the little-endian 64-bit n. */
#define NONCELEN	crypto_aead_chacha20poly1305_IETF_NPUBBYTES

static void chachapoly_nonce(uint64_t n, uint8_t nonce[NONCELEN])
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

void noise_cipher_init(struct noise_cipher_state *cs, const uint8_t *key)
{
	sodium_memzero(cs, sizeof(*cs));
	if (key) {
		memcpy(cs->k, key, NOISE_KEYLEN);
		cs->has_key = true;
	}
}

void noise_cipher_wipe(struct noise_cipher_state *cs)
{
	sodium_memzero(cs, sizeof(*cs));
}

static int cipher_check_args(const struct noise_cipher_state *cs,
			     const uint8_t *ad, size_t ad_len,
			     const uint8_t *in, size_t in_len,
			     const uint8_t *out, size_t out_cap,
			     const size_t *out_len)
{
	if (!cs || !out_len || (!ad && ad_len) || (!in && in_len) ||
	    (!out && out_cap))
		return NOISE_E_INVAL;
	if (in_len > NOISE_MAX_MSG_LEN)
		return NOISE_E_TOO_LONG;
	return NOISE_OK;
}

/* Without a key, EncryptWithAd/DecryptWithAd return the input (5.1). */
static int cipher_passthrough(const uint8_t *in, size_t in_len,
			      uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (in_len > out_cap)
		return NOISE_E_BUF;
	if (in_len)
		memmove(out, in, in_len);
	*out_len = in_len;
	return NOISE_OK;
}

int noise_cipher_encrypt(struct noise_cipher_state *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *pt, size_t pt_len,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t nonce[NONCELEN];
	unsigned long long clen;
	int err;

	err = cipher_check_args(cs, ad, ad_len, pt, pt_len, out, out_cap,
				out_len);
	if (err)
		return err;
	if (!cs->has_key)
		return cipher_passthrough(pt, pt_len, out, out_cap, out_len);
	if (pt_len > NOISE_MAX_MSG_LEN - NOISE_TAGLEN)
		return NOISE_E_TOO_LONG;
	if (pt_len + NOISE_TAGLEN > out_cap)
		return NOISE_E_BUF;
	/* Section 5.1: n = 2^64-1 is reserved, so it is never used. */
	if (cs->n == UINT64_MAX)
		return NOISE_E_NONCE;
	chachapoly_nonce(cs->n, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, pt_len,
						  ad, ad_len, NULL, nonce,
						  cs->k);
	cs->n++;
	*out_len = (size_t)clen;
	return NOISE_OK;
}

int noise_cipher_decrypt(struct noise_cipher_state *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *ct, size_t ct_len,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t nonce[NONCELEN];
	unsigned long long mlen;
	int err;

	err = cipher_check_args(cs, ad, ad_len, ct, ct_len, out, out_cap,
				out_len);
	if (err)
		return err;
	if (!cs->has_key)
		return cipher_passthrough(ct, ct_len, out, out_cap, out_len);
	if (ct_len < NOISE_TAGLEN)
		return NOISE_E_SHORT;
	if (ct_len - NOISE_TAGLEN > out_cap)
		return NOISE_E_BUF;
	if (cs->n == UINT64_MAX)
		return NOISE_E_NONCE;
	chachapoly_nonce(cs->n, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL,
						      ct, ct_len, ad, ad_len,
						      nonce, cs->k) != 0)
		return NOISE_E_DECRYPT;	/* n is not advanced (5.1) */
	cs->n++;
	*out_len = (size_t)mlen;
	return NOISE_OK;
}

/* Section 4.2: REKEY(k) = ENCRYPT(k, maxnonce, zerolen, zeros)[0..32]. */
int noise_cipher_rekey(struct noise_cipher_state *cs)
{
	uint8_t nonce[NONCELEN];
	uint8_t zeros[NOISE_KEYLEN] = { 0 };
	uint8_t out[NOISE_KEYLEN + NOISE_TAGLEN];

	if (!cs || !cs->has_key)
		return NOISE_E_INVAL;
	chachapoly_nonce(UINT64_MAX, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, zeros,
						  sizeof(zeros), NULL, 0, NULL,
						  nonce, cs->k);
	memcpy(cs->k, out, NOISE_KEYLEN);
	sodium_memzero(out, sizeof(out));
	return NOISE_OK;
}

/* ---------------------------------------------------------------------- */
/* HMAC and HKDF with BLAKE2b (section 4.3)                               */
/* ---------------------------------------------------------------------- */

static void xor_block(uint8_t block[NOISE_BLOCKLEN], uint8_t pad)
{
	size_t i;

	for (i = 0; i < NOISE_BLOCKLEN; i++)
		block[i] ^= pad;
}

/*
 * RFC 2104 with B = BLOCKLEN = 128 and L = HASHLEN = 64, as section 4.3
 * requires (BLAKE2b's own keyed mode is NOT used).  out may alias key or
 * data: both are consumed before out is written.
 */
void noise_hmac(uint8_t out[NOISE_HASHLEN],
		const uint8_t *key, size_t key_len,
		const uint8_t *data, size_t data_len)
{
	crypto_generichash_blake2b_state st;
	uint8_t block[NOISE_BLOCKLEN] = { 0 };
	uint8_t inner[NOISE_HASHLEN];

	if (key_len > NOISE_BLOCKLEN)
		crypto_generichash_blake2b(block, NOISE_HASHLEN, key, key_len,
					   NULL, 0);
	else if (key_len)
		memcpy(block, key, key_len);

	xor_block(block, 0x36);
	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, block, sizeof(block));
	crypto_generichash_blake2b_update(&st, data, data_len);
	crypto_generichash_blake2b_final(&st, inner, sizeof(inner));

	xor_block(block, 0x36 ^ 0x5c);
	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, block, sizeof(block));
	crypto_generichash_blake2b_update(&st, inner, sizeof(inner));
	crypto_generichash_blake2b_final(&st, out, NOISE_HASHLEN);

	sodium_memzero(&st, sizeof(st));
	sodium_memzero(block, sizeof(block));
	sodium_memzero(inner, sizeof(inner));
}

/* Section 4.3.  ck is fully consumed before out1 is written (aliasing ok). */
void noise_hkdf(const uint8_t ck[NOISE_HASHLEN],
		const uint8_t *ikm, size_t ikm_len,
		uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN],
		uint8_t *out3)
{
	uint8_t temp_key[NOISE_HASHLEN];
	uint8_t buf[NOISE_HASHLEN + 1];

	noise_hmac(temp_key, ck, NOISE_HASHLEN, ikm, ikm_len);
	buf[0] = 0x01;
	noise_hmac(out1, temp_key, sizeof(temp_key), buf, 1);
	memcpy(buf, out1, NOISE_HASHLEN);
	buf[NOISE_HASHLEN] = 0x02;
	noise_hmac(out2, temp_key, sizeof(temp_key), buf, sizeof(buf));
	if (out3) {
		memcpy(buf, out2, NOISE_HASHLEN);
		buf[NOISE_HASHLEN] = 0x03;
		noise_hmac(out3, temp_key, sizeof(temp_key), buf, sizeof(buf));
	}
	sodium_memzero(temp_key, sizeof(temp_key));
	sodium_memzero(buf, sizeof(buf));
}

/* ---------------------------------------------------------------------- */
/* SymmetricState (section 5.2)                                            */
/* ---------------------------------------------------------------------- */

static void symmetric_init(struct noise_symmetric_state *ss,
			   const char *protocol_name)
{
	size_t len = strlen(protocol_name);

	memset(ss->h, 0, sizeof(ss->h));
	if (len <= NOISE_HASHLEN)
		memcpy(ss->h, protocol_name, len);	/* zero padded */
	else
		crypto_generichash_blake2b(ss->h, NOISE_HASHLEN,
					   (const uint8_t *)protocol_name,
					   len, NULL, 0);
	memcpy(ss->ck, ss->h, NOISE_HASHLEN);
	noise_cipher_init(&ss->cs, NULL);
}

static void mix_hash(struct noise_symmetric_state *ss,
		     const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, ss->h, NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, ss->h, NOISE_HASHLEN);
}

/* HASHLEN is 64, so temp_k is truncated to 32 bytes (section 5.2). */
static void mix_key(struct noise_symmetric_state *ss,
		    const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASHLEN];

	noise_hkdf(ss->ck, ikm, len, ss->ck, temp_k, NULL);
	noise_cipher_init(&ss->cs, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
}

static void mix_key_and_hash(struct noise_symmetric_state *ss,
			     const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[NOISE_HASHLEN], temp_k[NOISE_HASHLEN];

	noise_hkdf(ss->ck, ikm, len, ss->ck, temp_h, temp_k);
	mix_hash(ss, temp_h, sizeof(temp_h));
	noise_cipher_init(&ss->cs, temp_k);
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
}

static int encrypt_and_hash(struct noise_symmetric_state *ss,
			    const uint8_t *pt, size_t pt_len,
			    uint8_t *out, size_t out_cap, size_t *out_len)
{
	int err;

	err = noise_cipher_encrypt(&ss->cs, ss->h, NOISE_HASHLEN, pt, pt_len,
				   out, out_cap, out_len);
	if (err)
		return err;
	mix_hash(ss, out, *out_len);
	return NOISE_OK;
}

static int decrypt_and_hash(struct noise_symmetric_state *ss,
			    const uint8_t *ct, size_t ct_len,
			    uint8_t *out, size_t out_cap, size_t *out_len)
{
	int err;

	err = noise_cipher_decrypt(&ss->cs, ss->h, NOISE_HASHLEN, ct, ct_len,
				   out, out_cap, out_len);
	if (err)
		return err;
	mix_hash(ss, ct, ct_len);
	return NOISE_OK;
}

/* ---------------------------------------------------------------------- */
/* DH: X25519 (section 12.1)                                               */
/* ---------------------------------------------------------------------- */

static int keypair_from_private(struct noise_keypair *kp, const uint8_t *priv)
{
	memcpy(kp->priv, priv, NOISE_DHLEN);
	if (crypto_scalarmult_base(kp->pub, kp->priv) != 0) {
		sodium_memzero(kp, sizeof(*kp));
		return NOISE_E_DH;
	}
	kp->present = true;
	return NOISE_OK;
}

static int keypair_generate(struct noise_keypair *kp)
{
	uint8_t priv[NOISE_DHLEN];
	int err;

	randombytes_buf(priv, sizeof(priv));
	err = keypair_from_private(kp, priv);
	sodium_memzero(priv, sizeof(priv));
	return err;
}

/*
 * Section 12.1 allows rejecting invalid public keys; an all-zero output
 * means the peer sent a low-order point, which would make the "DH"
 * independent of our private key, so it is always refused.  libsodium
 * refuses it too; the explicit check keeps that property local.
 */
static int dh(uint8_t out[NOISE_DHLEN], const struct noise_keypair *local,
	      const uint8_t remote[NOISE_DHLEN])
{
	if (crypto_scalarmult(out, local->priv, remote) != 0 ||
	    sodium_is_zero(out, NOISE_DHLEN)) {
		sodium_memzero(out, NOISE_DHLEN);
		return NOISE_E_DH;
	}
	return NOISE_OK;
}

/* ---------------------------------------------------------------------- */
/* HandshakeState (section 5.3)                                            */
/* ---------------------------------------------------------------------- */

void noise_handshake_wipe(struct noise_handshake *hs)
{
	if (hs)
		sodium_memzero(hs, sizeof(*hs));
}

static void handshake_fail(struct noise_handshake *hs)
{
	noise_handshake_wipe(hs);
	hs->phase = NOISE_HS_FAILED;
}

static int init_check_keys(const struct noise_handshake *hs,
			   const uint8_t *rs, const uint8_t *psk)
{
	const struct noise_pattern *p = hs->pattern;
	enum noise_role peer = hs->role == NOISE_INITIATOR ?
			       NOISE_RESPONDER : NOISE_INITIATOR;

	/* A remote static outside a pre-message is learned, never given. */
	if (rs && !premessage_has_static(p, peer))
		return NOISE_E_INVAL;
	if (psk && !pattern_has_psk(p))
		return NOISE_E_INVAL;
	if (!rs && premessage_has_static(p, peer))
		return NOISE_E_MISSING_KEY;
	if (!hs->s.present && pattern_needs_static(p, hs->role))
		return NOISE_E_MISSING_KEY;
	return NOISE_OK;
}

static int init_keys(struct noise_handshake *hs, const uint8_t *s_priv,
		     const uint8_t *rs, const uint8_t *psk)
{
	int err;

	if (s_priv) {
		err = keypair_from_private(&hs->s, s_priv);
		if (err)
			return err;
	}
	err = init_check_keys(hs, rs, psk);
	if (err)
		return err;
	if (rs) {
		memcpy(hs->rs, rs, NOISE_DHLEN);
		hs->has_rs = true;
	}
	if (psk) {
		memcpy(hs->psk, psk, NOISE_PSKLEN);
		hs->has_psk = true;
	}
	return NOISE_OK;
}

/* Section 5.3 Initialize(): pre-messages are hashed initiator first. */
static void mix_premessages(struct noise_handshake *hs)
{
	enum noise_role r;

	for (r = NOISE_INITIATOR; r <= NOISE_RESPONDER; r++) {
		if (!premessage_has_static(hs->pattern, r))
			continue;
		mix_hash(&hs->ss, r == hs->role ? hs->s.pub : hs->rs,
			 NOISE_DHLEN);
	}
}

int noise_handshake_init(struct noise_handshake *hs, enum noise_pattern_id id,
			 enum noise_role role,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t *s_priv, const uint8_t *rs,
			 const uint8_t *psk)
{
	int err;

	if (!hs)
		return NOISE_E_INVAL;
	noise_handshake_wipe(hs);
	if (sodium_init() < 0)
		return NOISE_E_SODIUM;
	hs->pattern = pattern_by_id(id);
	if (!hs->pattern || (!prologue && prologue_len) ||
	    (role != NOISE_INITIATOR && role != NOISE_RESPONDER))
		return NOISE_E_INVAL;
	if (prologue_len > NOISE_MAX_PROLOGUE_LEN)
		return NOISE_E_TOO_LONG;
	hs->role = role;
	err = init_keys(hs, s_priv, rs, psk);
	if (err) {
		noise_handshake_wipe(hs);
		return err;
	}
	symmetric_init(&hs->ss, hs->pattern->protocol_name);
	mix_hash(&hs->ss, prologue, prologue_len);
	mix_premessages(hs);
	hs->phase = NOISE_HS_RUNNING;
	return NOISE_OK;
}

static int handshake_usable(const struct noise_handshake *hs)
{
	if (!hs)
		return NOISE_E_INVAL;
	if (hs->phase == NOISE_HS_FAILED)
		return NOISE_E_FAILED;
	if (hs->phase != NOISE_HS_RUNNING)
		return NOISE_E_STATE;
	return NOISE_OK;
}

int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	int err = handshake_usable(hs);

	if (err)
		return err;
	if (!psk || !pattern_has_psk(hs->pattern))
		return NOISE_E_INVAL;
	memcpy(hs->psk, psk, NOISE_PSKLEN);
	hs->has_psk = true;
	return NOISE_OK;
}

int noise_handshake_set_ephemeral(struct noise_handshake *hs,
				  const uint8_t *e_priv)
{
	int err = handshake_usable(hs);

	if (err)
		return err;
	if (!e_priv)
		return NOISE_E_INVAL;
	if (hs->e.present)
		return NOISE_E_STATE;	/* "e" already sent */
	return keypair_from_private(&hs->e, e_priv);
}

/* Token i of the message pattern about to be written or read. */
static enum noise_token current_token(const struct noise_handshake *hs,
				      unsigned int i)
{
	return message_token(hs->pattern, hs->msg_index, i);
}

bool noise_handshake_is_my_turn(const struct noise_handshake *hs)
{
	return hs && hs->phase == NOISE_HS_RUNNING &&
	       message_sender(hs->msg_index) == hs->role;
}

bool noise_handshake_is_complete(const struct noise_handshake *hs)
{
	return hs && (hs->phase == NOISE_HS_COMPLETE ||
		      hs->phase == NOISE_HS_SPLIT);
}

/*
 * Bytes of the current message that are not payload, computed from the
 * pattern before anything is mutated, so that length errors never leave
 * a half-processed state.  A key exists after any DH or psk token, and in
 * PSK mode already after "e" (section 9.2).
 */
static size_t message_overhead(const struct noise_handshake *hs)
{
	bool has_key = hs->ss.cs.has_key;
	bool psk_mode = pattern_has_psk(hs->pattern);
	enum noise_token tok;
	size_t len = 0;
	unsigned int i;

	for (i = 0; (tok = current_token(hs, i)) != TOK_END; i++) {
		if (tok == TOK_E) {
			len += NOISE_DHLEN;
			has_key = has_key || psk_mode;
		} else if (tok == TOK_S) {
			len += NOISE_DHLEN + (has_key ? NOISE_TAGLEN : 0);
		} else {
			has_key = true;
		}
	}
	return len + (has_key ? NOISE_TAGLEN : 0);
}

/* Keys the application supplies must be there before we start. */
static int message_keys_ready(const struct noise_handshake *hs)
{
	enum noise_token tok;
	unsigned int i;

	for (i = 0; (tok = current_token(hs, i)) != TOK_END; i++)
		if (tok == TOK_PSK && !hs->has_psk)
			return NOISE_E_MISSING_KEY;
	return NOISE_OK;
}

static int mix_dh(struct noise_handshake *hs, const struct noise_keypair *local,
		  const uint8_t *remote, bool has_remote)
{
	uint8_t shared[NOISE_DHLEN];
	int err;

	if (!local->present || !has_remote)
		return NOISE_E_MISSING_KEY;
	err = dh(shared, local, remote);
	if (!err)
		mix_key(&hs->ss, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return err;
}

/* ss from the caller's precomputed value if it has one, else DH(s, rs). */
static int mix_static_static(struct noise_handshake *hs)
{
	uint8_t shared[NOISE_DHLEN];

	if (!hs->s.present || !hs->has_rs)
		return NOISE_E_MISSING_KEY;
	if (!hs->ss_fn || !hs->ss_fn(hs->ss_ctx, hs->rs, shared))
		return mix_dh(hs, &hs->s, hs->rs, true);
	mix_key(&hs->ss, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return NOISE_OK;
}

/* ee, es, se, ss: identical calls on both sides (section 5.3). */
static int process_dh_token(struct noise_handshake *hs, enum noise_token tok)
{
	bool initiator = hs->role == NOISE_INITIATOR;

	switch (tok) {
	case TOK_EE:
		return mix_dh(hs, &hs->e, hs->re, hs->has_re);
	case TOK_ES:
		return initiator ? mix_dh(hs, &hs->e, hs->rs, hs->has_rs) :
				   mix_dh(hs, &hs->s, hs->re, hs->has_re);
	case TOK_SE:
		return initiator ? mix_dh(hs, &hs->s, hs->re, hs->has_re) :
				   mix_dh(hs, &hs->e, hs->rs, hs->has_rs);
	case TOK_SS:
		return mix_static_static(hs);
	default:
		return NOISE_E_INVAL;
	}
}

/* "e" hashes the public key, and in PSK mode also mixes it (9.2). */
static void mix_ephemeral(struct noise_handshake *hs, const uint8_t *pub)
{
	mix_hash(&hs->ss, pub, NOISE_DHLEN);
	if (pattern_has_psk(hs->pattern))
		mix_key(&hs->ss, pub, NOISE_DHLEN);
}

static int process_common_token(struct noise_handshake *hs,
				enum noise_token tok)
{
	if (tok == TOK_PSK) {
		mix_key_and_hash(&hs->ss, hs->psk, NOISE_PSKLEN);
		return NOISE_OK;
	}
	return process_dh_token(hs, tok);
}

static int write_token(struct noise_handshake *hs, enum noise_token tok,
		       uint8_t *msg, size_t msg_cap, size_t *pos)
{
	size_t n;
	int err;

	switch (tok) {
	case TOK_E:
		/* The test hook may have fixed e; otherwise generate it. */
		if (!hs->e.present) {
			err = keypair_generate(&hs->e);
			if (err)
				return err;
		}
		memcpy(msg + *pos, hs->e.pub, NOISE_DHLEN);
		*pos += NOISE_DHLEN;
		mix_ephemeral(hs, hs->e.pub);
		return NOISE_OK;
	case TOK_S:
		err = encrypt_and_hash(&hs->ss, hs->s.pub, NOISE_DHLEN,
				       msg + *pos, msg_cap - *pos, &n);
		if (!err)
			*pos += n;
		return err;
	default:
		return process_common_token(hs, tok);
	}
}

static int read_token(struct noise_handshake *hs, enum noise_token tok,
		      const uint8_t *msg, size_t *pos)
{
	size_t len, n;
	int err;

	switch (tok) {
	case TOK_E:
		if (hs->has_re)
			return NOISE_E_STATE;
		memcpy(hs->re, msg + *pos, NOISE_DHLEN);
		hs->has_re = true;
		*pos += NOISE_DHLEN;
		mix_ephemeral(hs, hs->re);
		return NOISE_OK;
	case TOK_S:
		if (hs->has_rs)
			return NOISE_E_STATE;
		len = NOISE_DHLEN + (hs->ss.cs.has_key ? NOISE_TAGLEN : 0);
		err = decrypt_and_hash(&hs->ss, msg + *pos, len, hs->rs,
				       sizeof(hs->rs), &n);
		if (err)
			return err;
		hs->has_rs = true;
		*pos += len;
		return NOISE_OK;
	default:
		return process_common_token(hs, tok);
	}
}

/*
 * After the last message pattern the handshake is complete.  The
 * ephemeral and local static private keys and the PSK are no longer
 * needed for anything, so they go now rather than at Split().
 */
static void advance_message(struct noise_handshake *hs)
{
	hs->msg_index++;
	if (hs->msg_index < hs->pattern->n_messages)
		return;
	sodium_memzero(&hs->e, sizeof(hs->e));
	sodium_memzero(hs->s.priv, sizeof(hs->s.priv));
	sodium_memzero(hs->psk, sizeof(hs->psk));
	noise_cipher_wipe(&hs->ss.cs);
	hs->phase = NOISE_HS_COMPLETE;
}

static int message_precheck(const struct noise_handshake *hs, bool writing)
{
	int err = handshake_usable(hs);

	if (err)
		return err;
	if (noise_handshake_is_my_turn(hs) != writing)
		return NOISE_E_STATE;
	return message_keys_ready(hs);
}

static int write_tokens(struct noise_handshake *hs, uint8_t *msg,
			size_t msg_cap, size_t *pos)
{
	enum noise_token tok;
	unsigned int i;
	int err;

	for (i = 0; (tok = current_token(hs, i)) != TOK_END; i++) {
		err = write_token(hs, tok, msg, msg_cap, pos);
		if (err)
			return err;
	}
	return NOISE_OK;
}

int noise_handshake_write(struct noise_handshake *hs,
			  const uint8_t *payload, size_t payload_len,
			  uint8_t *msg, size_t msg_cap, size_t *msg_len)
{
	size_t pos = 0, n, need;
	int err;

	if (!msg || !msg_len || (!payload && payload_len))
		return NOISE_E_INVAL;
	err = message_precheck(hs, true);
	if (err)
		return err;
	if (payload_len > NOISE_MAX_MSG_LEN)
		return NOISE_E_TOO_LONG;
	need = message_overhead(hs) + payload_len;
	if (need > NOISE_MAX_MSG_LEN)
		return NOISE_E_TOO_LONG;
	if (need > msg_cap)
		return NOISE_E_BUF;

	err = write_tokens(hs, msg, msg_cap, &pos);
	if (!err)
		err = encrypt_and_hash(&hs->ss, payload, payload_len,
				       msg + pos, msg_cap - pos, &n);
	if (err) {
		handshake_fail(hs);
		return err;
	}
	*msg_len = pos + n;
	advance_message(hs);
	return NOISE_OK;
}

static int read_tokens(struct noise_handshake *hs, const uint8_t *msg,
		       size_t *pos)
{
	enum noise_token tok;
	unsigned int i;
	int err;

	for (i = 0; (tok = current_token(hs, i)) != TOK_END; i++) {
		err = read_token(hs, tok, msg, pos);
		if (err)
			return err;
	}
	return NOISE_OK;
}

int noise_handshake_read(struct noise_handshake *hs,
			 const uint8_t *msg, size_t msg_len,
			 uint8_t *payload, size_t payload_cap,
			 size_t *payload_len)
{
	size_t pos = 0, overhead;
	int err;

	if (!msg || !payload_len || (!payload && payload_cap))
		return NOISE_E_INVAL;
	err = message_precheck(hs, false);
	if (err)
		return err;
	if (msg_len > NOISE_MAX_MSG_LEN)
		return NOISE_E_TOO_LONG;
	overhead = message_overhead(hs);
	if (msg_len < overhead)
		return NOISE_E_SHORT;
	if (msg_len - overhead > payload_cap)
		return NOISE_E_BUF;

	err = read_tokens(hs, msg, &pos);
	if (!err)
		err = decrypt_and_hash(&hs->ss, msg + pos, msg_len - pos,
				       payload, payload_cap, payload_len);
	if (err) {
		handshake_fail(hs);
		return err;
	}
	advance_message(hs);
	return NOISE_OK;
}

int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipher_state *c1,
			  struct noise_cipher_state *c2)
{
	uint8_t k1[NOISE_HASHLEN], k2[NOISE_HASHLEN];

	if (!hs || !c1 || !c2 || c1 == c2)
		return NOISE_E_INVAL;
	if (hs->phase == NOISE_HS_FAILED)
		return NOISE_E_FAILED;
	if (hs->phase != NOISE_HS_COMPLETE)
		return NOISE_E_STATE;
	/* Section 5.2: HKDF(ck, zerolen, 2), each truncated to 32 bytes. */
	noise_hkdf(hs->ss.ck, NULL, 0, k1, k2, NULL);
	noise_cipher_init(c1, k1);
	noise_cipher_init(c2, k2);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(hs->ss.ck, sizeof(hs->ss.ck));
	hs->phase = NOISE_HS_SPLIT;
	return NOISE_OK;
}

int noise_handshake_get_hash(const struct noise_handshake *hs,
			     uint8_t h[NOISE_HASHLEN])
{
	if (!hs || !h)
		return NOISE_E_INVAL;
	if (!noise_handshake_is_complete(hs))
		return hs->phase == NOISE_HS_FAILED ? NOISE_E_FAILED :
						      NOISE_E_STATE;
	memcpy(h, hs->ss.h, NOISE_HASHLEN);
	return NOISE_OK;
}

int noise_handshake_get_remote_static(const struct noise_handshake *hs,
				      uint8_t rs[NOISE_DHLEN])
{
	if (!hs || !rs)
		return NOISE_E_INVAL;
	if (hs->phase == NOISE_HS_FAILED)
		return NOISE_E_FAILED;
	if (hs->phase == NOISE_HS_EMPTY || !hs->has_rs)
		return NOISE_E_STATE;
	memcpy(rs, hs->rs, NOISE_DHLEN);
	return NOISE_OK;
}
