/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd persisted session state, for adoption after a restart.
 *
 * One text file per interface (STATE_DIR/IFNAME.state, mode 0600), one
 * line per session:
 *
 *   session LOCAL_ID PEER_ID PEER_PUBKEY KEY_ID REATTACH_KEY ROLE STATE VERSION
 *
 * ids and numbers in decimal, keys in base64, ROLE "initiator" or
 * "responder", STATE an FSM state name.  The file is rewritten whole,
 * atomically (temporary file, fsync, rename, fsync of the directory), on
 * every change a restart must know about, so a crash at any moment
 * leaves either the old or the new file.  It holds the reattach key, so
 * it is as secret as the private key.
 *
 * Formatting and parsing are pure and unit tested; state_save() is the
 * only I/O.
 */
#ifndef JVPND_STATE_H
#define JVPND_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/jvpn.h>

#include "fsm.h"
#include "kdf.h"

#define STATE_LINE_MAX		256
#define STATE_MAX_RECORDS	JVPN_MAX_SESSIONS_LIMIT

struct state_record {
	uint32_t local_id;
	uint32_t peer_id;
	uint8_t peer_pub[JVPN_KEY_LEN];
	uint8_t key_id;
	uint8_t reattach_key[JVPN_REATTACH_KEY_LEN];
	bool initiator;
	enum fsm_state state;
	uint64_t version;
};

/* One line including '\n' into buf; length or -ENOSPC. */
int state_format(const struct state_record *r, char *buf, size_t len);
/* One line (without or with '\n'); 0 or -EINVAL. */
int state_parse(const char *line, struct state_record *r);

/*
 * Writes n records to path atomically (see above).  0 or -errno.
 */
int state_save(const char *path, const struct state_record *r, size_t n);

/*
 * How often the file may be rewritten (jvpnd_save_state(), lifecycle.c):
 * a rewrite costs O(sessions), so the next one waits 10x as long as the
 * last took, within these bounds: at most a tenth of the event loop's
 * time, whatever the table's size.
 */
#define STATE_GAP_MIN_MS	100
#define STATE_GAP_MAX_MS	10000

static inline uint32_t state_gap_ms(uint64_t took_ms)
{
	if (took_ms * 10 < STATE_GAP_MIN_MS)
		return STATE_GAP_MIN_MS;
	if (took_ms * 10 > STATE_GAP_MAX_MS)
		return STATE_GAP_MAX_MS;
	return (uint32_t)(took_ms * 10);
}

/* A change at now may be written at once (else: at saved_ms + gap_ms). */
static inline bool state_write_now(uint64_t now_ms, uint64_t saved_ms,
				   uint32_t gap_ms)
{
	return !saved_ms || now_ms >= saved_ms + gap_ms;
}

/*
 * Reads path into *out (malloc'd, *n records, at most max).  A missing
 * file is 0 records.  Bad lines are skipped and counted in *bad.
 */
int state_load(const char *path, size_t max, struct state_record **out,
	       size_t *n, unsigned int *bad);

#endif /* JVPND_STATE_H */
