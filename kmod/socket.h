/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * UDP sockets created and bound by userspace, attached to a device by fd.
 * The kernel consumes DATA packets from them (encap_rcv) and leaves every
 * other message on the socket for the daemon.
 */
#ifndef _JVPN_SOCKET_H
#define _JVPN_SOCKET_H

#include <linux/net.h>
#include <linux/rcupdate.h>

struct jvpn_dev;
struct netlink_ext_ack;

struct jvpn_sock {
	u32 id;			/* index + 1 in jvpn_dev.socks */
	struct socket *sock;	/* we hold the file reference */
	struct jvpn_dev *jd;
	unsigned int n_paths;	/* paths using it, under jd->lock */
	struct rcu_head rcu;
};

int jvpn_sock_attach(struct jvpn_dev *jd, int fd, u32 *id,
		     struct netlink_ext_ack *extack);
int jvpn_sock_detach(struct jvpn_dev *jd, u32 id,
		     struct netlink_ext_ack *extack);
void jvpn_sock_unhook_all(struct jvpn_dev *jd);
void jvpn_sock_release_all(struct jvpn_dev *jd);
struct jvpn_sock *jvpn_sock_get_locked(struct jvpn_dev *jd, u32 id);

#endif /* _JVPN_SOCKET_H */
