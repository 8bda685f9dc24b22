/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd UDP sockets: one IPv4 and one IPv6 socket per ListenPort, bound to
 * the wildcard address and attached to the device.  The kernel consumes
 * DATA on them; every other message type stays on the socket and is read
 * here with recvmsg(), together with the local address it was sent to
 * (IP_PKTINFO / IPV6_PKTINFO), so that a reply leaves from that address.
 *
 * Sockets are opened with SO_REUSEADDR and SO_REUSEPORT so that a
 * restarted jvpnd can bind the same ports while the previous daemon's
 * sockets are still attached in the kernel (docs/jvpnd.md, "Restart").
 */
#ifndef JVPND_NET_H
#define JVPND_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/jvpn.h>

#include "loop.h"

struct net_sock {
	int fd;
	int family;
	uint16_t port;			/* bound port, host order */
	uint32_t kid;			/* kernel socket id, 0: not attached */
	struct loop_fd h;
	void *ctx;			/* the daemon, for the handler */
};

/* Local address a message arrived on, for the reply's source. */
struct net_pktinfo {
	bool valid;
	int family;
	int ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

struct net {
	struct net_sock s[JVPN_MAX_SOCKETS];
	unsigned int n;
};

/*
 * Opens an IPv4 and an IPv6 socket per port (port 0: an ephemeral port,
 * the IPv6 socket takes the one IPv4 got).  A family the host lacks is
 * skipped.  -errno if no socket at all could be opened.
 */
int net_open(struct net *n, const uint16_t *ports, unsigned int n_ports);
void net_close(struct net *n);

/* Length received, -EAGAIN when empty, or -errno. */
ssize_t net_recv(struct net_sock *s, void *buf, size_t len,
		 struct sockaddr_storage *from, struct net_pktinfo *dst);
/* src may be NULL (kernel picks the source). */
int net_send(struct net_sock *s, const void *buf, size_t len,
	     const struct sockaddr *to, const struct net_pktinfo *src);

/* First socket of family, or NULL. */
struct net_sock *net_sock_family(struct net *n, int family);
struct net_sock *net_sock_kid(struct net *n, uint32_t kid);
bool net_is_ours(const struct net *n, uint32_t kid);

socklen_t net_sockaddr_len(const struct sockaddr *sa);
bool net_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif /* JVPND_NET_H */
