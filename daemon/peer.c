// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd peers.  See peer.h.
 */
#include <arpa/inet.h>
#include <string.h>

#include "peer.h"

unsigned int peer_endpoints(const struct cfg_peer *cp,
			    struct sockaddr_storage *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < cp->n_endpoints && n < max; i++) {
		const struct cfg_endpoint *e = &cp->endpoints[i];
		struct sockaddr_in *sin = (struct sockaddr_in *)&out[n];
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out[n];

		/* DNS names need a resolver step jvpnd does not have yet. */
		if (!e->literal)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		if (e->family == AF_INET) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(e->port);
			memcpy(&sin->sin_addr, e->addr, 4);
		} else {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(e->port);
			memcpy(&sin6->sin6_addr, e->addr, 16);
		}
		n++;
	}
	return n;
}
