/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jvpn wire format helpers: pure functions on byte buffers, no skb.
 * The layout is in include/uapi/linux/jvpn.h (all fields big endian).
 */
#ifndef _JVPN_PROTO_H
#define _JVPN_PROTO_H

#include <linux/types.h>
#include <uapi/linux/jvpn.h>

/* Smallest valid DATA message: header plus AEAD tag (a keepalive). */
#define JVPN_DATA_MIN_LEN	(JVPN_DATA_HDR_LEN + JVPN_AEAD_TAG_LEN)

struct jvpn_data_info {
	u8 key_id;
	u32 session_id;		/* host order */
	u64 counter;		/* host order */
	unsigned int payload_len;	/* ciphertext + tag, >= JVPN_AEAD_TAG_LEN */
};

/*
 * First byte of a UDP payload (enum jvpn_msg_type), or 0 for an empty
 * payload.  No other validation.
 */
static inline u8 jvpn_msg_type(const u8 *buf, unsigned int len)
{
	return len ? buf[0] : 0;
}

/*
 * Parses the DATA header at @buf (@len bytes: header, ciphertext, tag).
 * Returns 0 and fills @out, -EMSGSIZE if @len is shorter than
 * JVPN_DATA_MIN_LEN, -EINVAL if the type is not JVPN_MSG_DATA (an empty
 * buffer gives -EMSGSIZE).  The reserved field is ignored; the counter is
 * not range checked here (jvpn_replay_check() refuses JVPN_COUNTER_REJECT).
 * @out is left untouched on error.
 */
int jvpn_data_hdr_parse(const u8 *buf, unsigned int len,
			struct jvpn_data_info *out);

/* Writes a JVPN_DATA_HDR_LEN byte DATA header at @buf, reserved zero. */
void jvpn_data_hdr_build(u8 *buf, u8 key_id, u32 session_id, u64 counter);

#endif /* _JVPN_PROTO_H */
