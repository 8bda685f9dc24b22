// SPDX-License-Identifier: GPL-2.0-only
/*
 * ChaCha20-Poly1305 on socket buffers, in place, with the kernel's
 * lib/crypto implementation (no crypto API allocation per packet).  The
 * 16-byte DATA header is the associated data; the nonce is the session's
 * 64-bit counter.
 */

#include <linux/scatterlist.h>
#include <crypto/chacha20poly1305.h>

#include "session.h"
#include "data.h"
#include "proto.h"

/* skb->data points at the plaintext inner packet on entry and at our DATA
 * header on success; the tag is appended.
 */
bool jvpn_encrypt_skb(struct sk_buff *skb, const struct jvpn_key *key,
		      u32 peer_id, u64 counter)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	unsigned int plain_len = skb->len;
	struct sk_buff *trailer;
	u8 *hdr;
	int nfrags;

	if (unlikely(skb_cow_head(skb, JVPN_HEADROOM) < 0))
		return false;
	if (unlikely(skb->ip_summed == CHECKSUM_PARTIAL &&
		     skb_checksum_help(skb)))
		return false;
	nfrags = skb_cow_data(skb, JVPN_AEAD_TAG_LEN, &trailer);
	if (unlikely(nfrags < 0 || nfrags > ARRAY_SIZE(sg)))
		return false;
	hdr = skb_push(skb, JVPN_DATA_HDR_LEN);
	jvpn_data_hdr_build(hdr, key->key_id, peer_id, counter);
	pskb_put(skb, trailer, JVPN_AEAD_TAG_LEN);

	sg_init_table(sg, nfrags);
	if (skb_to_sgvec(skb, sg, JVPN_DATA_HDR_LEN,
			 plain_len + JVPN_AEAD_TAG_LEN) <= 0)
		return false;
	return chacha20poly1305_encrypt_sg_inplace(sg, plain_len, hdr,
						   JVPN_DATA_HDR_LEN, counter,
						   key->encrypt);
}

/* skb->data points at the ciphertext (header already pulled and copied to
 * @hdr); on success it holds the plaintext and the tag is trimmed.
 */
bool jvpn_decrypt_skb(struct sk_buff *skb, const struct jvpn_key *key,
		      const u8 *hdr, u64 counter)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct sk_buff *trailer;
	int nfrags;

	if (unlikely(skb->len < JVPN_AEAD_TAG_LEN))
		return false;
	nfrags = skb_cow_data(skb, 0, &trailer);
	if (unlikely(nfrags < 0 || nfrags > ARRAY_SIZE(sg)))
		return false;
	sg_init_table(sg, nfrags);
	if (skb_to_sgvec(skb, sg, 0, skb->len) <= 0)
		return false;
	if (!chacha20poly1305_decrypt_sg_inplace(sg, skb->len, hdr,
						 JVPN_DATA_HDR_LEN, counter,
						 key->decrypt))
		return false;
	return !pskb_trim(skb, skb->len - JVPN_AEAD_TAG_LEN);
}
