/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd kernel events: a dedicated, non-blocking generic netlink socket
 * joined to the "events" group.  Every event carries a device-wide
 * sequence number; a gap (or a socket overflow, ENOBUFS) means events
 * were lost, and the daemon resynchronises its sessions with a dump.
 */
#ifndef JVPND_EVENTS_H
#define JVPND_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

struct jvpnd;
struct jvpn_nl;

struct events {
	struct jvpn_nl *nl;
	struct loop_fd h;
	uint64_t last_seq;
	uint64_t received;
	uint64_t other_dev;		/* events of other devices, ignored */
	uint64_t gaps;			/* events lost by sequence number */
	uint64_t overflows;		/* ENOBUFS */
	uint64_t resyncs;
};

/* Opens the socket and records the device's current sequence number. */
int events_open(struct jvpnd *d);
void events_close(struct jvpnd *d);
/* Compares the daemon's sessions with the kernel's (after a loss). */
void events_resync(struct jvpnd *d);

#endif /* JVPND_EVENTS_H */
