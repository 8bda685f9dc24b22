// SPDX-License-Identifier: GPL-2.0-only
/*
 * jvpn wire format helpers: see proto.h.
 *
 * Fields are reached by byte offset, never through a struct pointer, so
 * @buf may have any alignment.
 */
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/stddef.h>
#include <asm/unaligned.h>

#include "proto.h"

#define JVPN_OFF(field)	offsetof(struct jvpn_data_hdr, field)

static_assert(sizeof(struct jvpn_data_hdr) == JVPN_DATA_HDR_LEN);
static_assert(JVPN_OFF(type) == 0);
static_assert(JVPN_OFF(key_id) == 1);
static_assert(JVPN_OFF(reserved) == 2);
static_assert(JVPN_OFF(session_id) == 4);
static_assert(JVPN_OFF(counter) == 8);

int jvpn_data_hdr_parse(const u8 *buf, unsigned int len,
			struct jvpn_data_info *out)
{
	if (unlikely(!len))
		return -EMSGSIZE;
	if (unlikely(buf[JVPN_OFF(type)] != JVPN_MSG_DATA))
		return -EINVAL;
	if (unlikely(len < JVPN_DATA_MIN_LEN))
		return -EMSGSIZE;

	out->key_id = buf[JVPN_OFF(key_id)];
	out->session_id = get_unaligned_be32(buf + JVPN_OFF(session_id));
	out->counter = get_unaligned_be64(buf + JVPN_OFF(counter));
	out->payload_len = len - JVPN_DATA_HDR_LEN;
	return 0;
}

void jvpn_data_hdr_build(u8 *buf, u8 key_id, u32 session_id, u64 counter)
{
	buf[JVPN_OFF(type)] = JVPN_MSG_DATA;
	buf[JVPN_OFF(key_id)] = key_id;
	put_unaligned_be16(0, buf + JVPN_OFF(reserved));
	put_unaligned_be32(session_id, buf + JVPN_OFF(session_id));
	put_unaligned_be64(counter, buf + JVPN_OFF(counter));
}
