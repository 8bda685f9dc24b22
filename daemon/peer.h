/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd peers: one per [Peer] section.  A peer with an Endpoint is ours to
 * initiate handshakes with (initiator role); the others are answered.
 * Each peer has at most one session (peer->session: O(1) by peer).
 */
#ifndef JVPND_PEER_H
#define JVPND_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "handshake.h"
#include "loop.h"

struct session;

struct peer {
	const struct cfg_peer *cfg;
	void *ctx;			/* the daemon */
	uint32_t index;			/* [Peer] order and responder index */
	bool initiator;			/* has at least one literal Endpoint */
	struct hs_initiator *hs;	/* initiator only, heap */
	struct session *session;
	/* Initiator's handshake in flight (new session or rekey). */
	bool hs_pending;
	bool hs_rekey;
	unsigned int attempts;
	unsigned int endpoint_idx;	/* endpoint of the last INIT sent */
	struct sockaddr_storage endpoints[CFG_MAX_ENDPOINTS];
	unsigned int n_endpoints;
	struct loop_timer hs_timer;	/* retry / next attempt */
	uint64_t handshakes_ok;
};

/* The literal Endpoints of a cfg_peer as sockaddrs (names are skipped). */
unsigned int peer_endpoints(const struct cfg_peer *cp,
			    struct sockaddr_storage *out, unsigned int max);

#endif /* JVPND_PEER_H */
