// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attaching userspace UDP sockets.  The daemon creates and binds them, so
 * handshake, reattach and probe messages share the data path's 5-tuple; the
 * kernel only hooks DATA packets through the UDP encapsulation callback.
 */

#include <linux/file.h>
#include <linux/slab.h>
#include <linux/netlink.h>
#include <net/sock.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "socket.h"
#include "data.h"

static struct jvpn_sock *sock_slot_locked(struct jvpn_dev *jd, unsigned int i)
{
	return rcu_dereference_protected(jd->socks[i],
					 lockdep_is_held(&jd->lock));
}

struct jvpn_sock *jvpn_sock_get_locked(struct jvpn_dev *jd, u32 id)
{
	if (id < 1 || id > JVPN_MAX_SOCKETS)
		return NULL;
	return sock_slot_locked(jd, id - 1);
}

static int sock_check(struct socket *sock, struct netlink_ext_ack *extack)
{
	struct sock *sk = sock->sk;

	if (sk->sk_protocol != IPPROTO_UDP || sk->sk_type != SOCK_DGRAM) {
		NL_SET_ERR_MSG_MOD(extack, "socket is not a UDP socket");
		return -EPROTOTYPE;
	}
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6) {
		NL_SET_ERR_MSG_MOD(extack, "socket family is not IPv4 or IPv6");
		return -EAFNOSUPPORT;
	}
	if (!inet_sk(sk)->inet_num) {
		NL_SET_ERR_MSG_MOD(extack, "socket is not bound to a port");
		return -EDESTADDRREQ;
	}
	if (rcu_access_pointer(sk->sk_user_data) || udp_sk(sk)->encap_type) {
		NL_SET_ERR_MSG_MOD(extack, "socket is already in use by a tunnel");
		return -EBUSY;
	}
	return 0;
}

static void sock_hook(struct jvpn_sock *js)
{
	struct udp_tunnel_sock_cfg cfg = {
		.sk_user_data = js,
		/* Any non-zero type enables encap_rcv, as WireGuard does. */
		.encap_type = 1,
		.encap_rcv = jvpn_udp_encap_recv,
	};

	setup_udp_tunnel_sock(sock_net(js->sock->sk), js->sock, &cfg);
}

static void sock_unhook(struct jvpn_sock *js)
{
	struct udp_tunnel_sock_cfg cfg = { };

	setup_udp_tunnel_sock(sock_net(js->sock->sk), js->sock, &cfg);
}

int jvpn_sock_attach(struct jvpn_dev *jd, int fd, u32 *id,
		     struct netlink_ext_ack *extack)
{
	struct jvpn_sock *js;
	struct socket *sock;
	int err, i, slot = -1;

	lockdep_assert_held(&jd->lock);
	sock = sockfd_lookup(fd, &err);
	if (!sock) {
		NL_SET_ERR_MSG_MOD(extack, "fd is not a socket");
		return err;
	}
	/* The socket lock orders us against another tunnel attaching it. */
	lock_sock(sock->sk);
	err = sock_check(sock, extack);
	if (err)
		goto out_unlock;
	for (i = 0; i < JVPN_MAX_SOCKETS; i++) {
		if (!sock_slot_locked(jd, i)) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		jvpn_stat_inc(&jd->stats, JVPN_STAT_LIMIT_REFUSED);
		NL_SET_ERR_MSG_MOD(extack, "device socket limit reached");
		err = -ENOSPC;
		goto out_unlock;
	}
	js = kzalloc(sizeof(*js), GFP_KERNEL_ACCOUNT);
	if (!js) {
		err = -ENOMEM;
		goto out_unlock;
	}
	js->id = slot + 1;
	js->sock = sock;
	js->jd = jd;
	rcu_assign_pointer(jd->socks[slot], js);
	/* Hooked before the socket lock is released, so a concurrent attach
	 * to another device sees it in use.
	 */
	sock_hook(js);
	release_sock(sock->sk);
	*id = js->id;
	return 0;

out_unlock:
	release_sock(sock->sk);
	sockfd_put(sock);
	return err;
}

static void sock_release_one(struct jvpn_dev *jd, struct jvpn_sock *js)
{
	RCU_INIT_POINTER(jd->socks[js->id - 1], NULL);
	sockfd_put(js->sock);
	kfree_rcu(js, rcu);
}

int jvpn_sock_detach(struct jvpn_dev *jd, u32 id,
		     struct netlink_ext_ack *extack)
{
	struct jvpn_sock *js = jvpn_sock_get_locked(jd, id);

	lockdep_assert_held(&jd->lock);
	if (!js) {
		NL_SET_ERR_MSG_MOD(extack, "no such socket");
		return -ENOENT;
	}
	if (js->n_paths) {
		NL_SET_ERR_MSG_MOD(extack, "socket is used by paths");
		return -EBUSY;
	}
	sock_unhook(js);
	synchronize_net();	/* no encap_rcv is still looking at js */
	sock_release_one(jd, js);
	return 0;
}

/* Teardown, phase one: stop receiving on every socket. */
void jvpn_sock_unhook_all(struct jvpn_dev *jd)
{
	unsigned int i;

	for (i = 0; i < JVPN_MAX_SOCKETS; i++) {
		struct jvpn_sock *js = sock_slot_locked(jd, i);

		if (js)
			sock_unhook(js);
	}
	synchronize_net();
}

/* Teardown, phase two: after the sessions (and their paths) are gone. */
void jvpn_sock_release_all(struct jvpn_dev *jd)
{
	unsigned int i;

	for (i = 0; i < JVPN_MAX_SOCKETS; i++) {
		struct jvpn_sock *js = sock_slot_locked(jd, i);

		if (js)
			sock_release_one(jd, js);
	}
}
