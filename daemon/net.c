// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd UDP sockets.  See net.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

socklen_t net_sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
					  sizeof(struct sockaddr_in6);
}

bool net_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

static int set_opt(int fd, int level, int name)
{
	int one = 1;

	return setsockopt(fd, level, name, &one, sizeof(one)) ? -errno : 0;
}

static int sock_opts(int fd, int family)
{
	int ret = set_opt(fd, SOL_SOCKET, SO_REUSEADDR);

	if (!ret)
		ret = set_opt(fd, SOL_SOCKET, SO_REUSEPORT);
	if (!ret && family == AF_INET)
		ret = set_opt(fd, IPPROTO_IP, IP_PKTINFO);
	/* One family per socket, as jvpnctl does: no v4-mapped remotes. */
	if (!ret && family == AF_INET6)
		ret = set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY);
	if (!ret && family == AF_INET6)
		ret = set_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO);
	return ret;
}

static int bind_any(int fd, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	if (bind(fd, (struct sockaddr *)&ss,
		 net_sockaddr_len((struct sockaddr *)&ss)))
		return -errno;
	return 0;
}

static int bound_port(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	*port = ntohs(ss.ss_family == AF_INET ?
		      ((struct sockaddr_in *)&ss)->sin_port :
		      ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int open_one(struct net *n, int family, uint16_t port)
{
	struct net_sock *s = &n->s[n->n];
	int fd, ret;

	if (n->n == JVPN_MAX_SOCKETS)
		return -ENOSPC;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	ret = sock_opts(fd, family);
	if (!ret)
		ret = bind_any(fd, family, port);
	if (!ret)
		ret = bound_port(fd, &s->port);
	if (ret) {
		close(fd);
		return ret;
	}
	s->fd = fd;
	s->family = family;
	s->kid = 0;
	s->h.fd = fd;
	n->n++;
	return 0;
}

int net_open(struct net *n, const uint16_t *ports, unsigned int n_ports)
{
	static const uint16_t ephemeral = 0;
	unsigned int i;
	int ret, first_err = 0;

	memset(n, 0, sizeof(*n));
	if (!n_ports) {
		ports = &ephemeral;
		n_ports = 1;
	}
	for (i = 0; i < n_ports; i++) {
		uint16_t port = ports[i];

		ret = open_one(n, AF_INET, port);
		if (!ret && !port)
			port = n->s[n->n - 1].port;
		if (ret && !first_err)
			first_err = ret;
		ret = open_one(n, AF_INET6, port);
		if (ret && ret != -EAFNOSUPPORT && !first_err)
			first_err = ret;
	}
	if (!n->n)
		return first_err ? first_err : -EAFNOSUPPORT;
	return 0;
}

void net_close(struct net *n)
{
	unsigned int i;

	for (i = 0; i < n->n; i++)
		if (n->s[i].fd >= 0)
			close(n->s[i].fd);
	n->n = 0;
}

static void read_pktinfo(struct msghdr *mh, struct net_pktinfo *dst)
{
	struct cmsghdr *c;

	memset(dst, 0, sizeof(*dst));
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->valid = true;
			dst->family = AF_INET;
			dst->ifindex = pi.ipi_ifindex;
			dst->addr.v4 = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->valid = true;
			dst->family = AF_INET6;
			dst->ifindex = (int)pi.ipi6_ifindex;
			dst->addr.v6 = pi.ipi6_addr;
		}
	}
}

ssize_t net_recv(struct net_sock *s, void *buf, size_t len,
		 struct sockaddr_storage *from, struct net_pktinfo *dst)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		  CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_name = from, .msg_namelen = sizeof(*from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	/* A truncated datagram is longer than any control message. */
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	read_pktinfo(&mh, dst);
	return n;
}

static void put_pktinfo(struct msghdr *mh, char *cbuf, size_t cap,
			const struct net_pktinfo *src)
{
	struct cmsghdr *c;

	mh->msg_control = cbuf;
	mh->msg_controllen = cap;
	c = CMSG_FIRSTHDR(mh);
	if (src->family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = src->addr.v4 };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = src->addr.v6 };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

int net_send(struct net_sock *s, const void *buf, size_t len,
	     const struct sockaddr *to, const struct net_pktinfo *src)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_name = (void *)to, .msg_namelen = net_sockaddr_len(to),
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	if (src && src->valid && src->family == s->family)
		put_pktinfo(&mh, cbuf, sizeof(cbuf), src);
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

struct net_sock *net_sock_family(struct net *n, int family)
{
	unsigned int i;

	for (i = 0; i < n->n; i++)
		if (n->s[i].family == family)
			return &n->s[i];
	return NULL;
}

struct net_sock *net_sock_kid(struct net *n, uint32_t kid)
{
	unsigned int i;

	for (i = 0; i < n->n; i++)
		if (n->s[i].kid == kid)
			return &n->s[i];
	return NULL;
}

bool net_is_ours(const struct net *n, uint32_t kid)
{
	unsigned int i;

	for (i = 0; i < n->n; i++)
		if (n->s[i].kid == kid)
			return true;
	return false;
}
