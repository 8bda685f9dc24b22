// SPDX-License-Identifier: MIT
/*
 * libnl-genl-3 client for the jvpn generic netlink family (see jvpn_nl.h).
 *
 * libnl 3.7 (Debian 12) neither enables nor parses extended ACKs, so this
 * file sets NETLINK_EXT_ACK itself and reads NLMSGERR_ATTR_MSG out of
 * NLMSG_ERROR and NLMSG_DONE messages in its own callbacks.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "jvpn_nl.h"

/* Events are small; a burst must fit while the reader is busy. */
#define EVENTS_RCVBUF	(1 << 20)
/* One datagram from the kernel holds at most a page-sized skb or so. */
#define EVENTS_RXBUF	(64 * 1024)

struct jvpn_nl {
	struct nl_sock *sk;
	int family;		/* generic netlink id of "jvpn" */
	uint8_t *rxbuf;		/* event sockets only */
	char errmsg[256];	/* extack of the last failure */
};

/* State of one request while its replies come in. */
struct request {
	struct jvpn_nl *nl;
	jvpn_nl_msg_fn fn;
	void *arg;
	int err;		/* first failure, negative errno */
	int done;		/* ACK, error or end of dump seen */
	int interrupted;	/* NLM_F_DUMP_INTR seen */
};

/* Attribute types of enum jvpn_attr, as documented in jvpn.h. */
static struct nla_policy attr_policy[JVPN_A_MAX + 1] = {
	[JVPN_A_IFINDEX]		= { .type = NLA_U32 },
	[JVPN_A_IFNAME]			= { .type = NLA_STRING },
	[JVPN_A_MAX_SESSIONS]		= { .type = NLA_U32 },
	[JVPN_A_MAX_PATHS]		= { .type = NLA_U32 },
	[JVPN_A_SILENT_MS]		= { .type = NLA_U32 },
	[JVPN_A_KEEPALIVE_MS]		= { .type = NLA_U32 },
	[JVPN_A_EVENT_RATE]		= { .type = NLA_U32 },
	[JVPN_A_N_SESSIONS]		= { .type = NLA_U32 },
	[JVPN_A_EVENT_SEQ]		= { .type = NLA_U64 },
	[JVPN_A_STATS]			= { .type = NLA_NESTED },
	[JVPN_A_SOCKET_FD]		= { .type = NLA_U32 },
	[JVPN_A_SOCKET_ID]		= { .type = NLA_U32 },
	[JVPN_A_SOCKET_FAMILY]		= { .type = NLA_U16 },
	[JVPN_A_SOCKET_PORT]		= { .type = NLA_U16 },
	[JVPN_A_SESSION_ID]		= { .type = NLA_U32 },
	[JVPN_A_PEER_ID]		= { .type = NLA_U32 },
	[JVPN_A_STATE_VERSION]		= { .type = NLA_U64 },
	[JVPN_A_EXPECTED_VERSION]	= { .type = NLA_U64 },
	[JVPN_A_INNER]			= { .type = NLA_NESTED },
	[JVPN_A_KEY_SLOT]		= { .type = NLA_U8 },
	[JVPN_A_KEY_ID]			= { .type = NLA_U8 },
	[JVPN_A_KEY_ENCRYPT]		= { .minlen = JVPN_KEY_LEN,
					    .maxlen = JVPN_KEY_LEN },
	[JVPN_A_KEY_DECRYPT]		= { .minlen = JVPN_KEY_LEN,
					    .maxlen = JVPN_KEY_LEN },
	[JVPN_A_KEYS]			= { .type = NLA_NESTED },
	[JVPN_A_PATH_ID]		= { .type = NLA_U32 },
	[JVPN_A_PATH_REMOTE_IP]		= { .minlen = 4, .maxlen = 16 },
	[JVPN_A_PATH_REMOTE_PORT]	= { .type = NLA_U16 },
	[JVPN_A_PATH_ACTIVE]		= { .type = NLA_U8 },
	[JVPN_A_PATHS]			= { .type = NLA_NESTED },
	[JVPN_A_ACTIVE_PATH_ID]		= { .type = NLA_U32 },
	[JVPN_A_EVENT_TYPE]		= { .type = NLA_U32 },
	[JVPN_A_TX_COUNTER]		= { .type = NLA_U64 },
	[JVPN_A_RX_COUNTER]		= { .type = NLA_U64 },
	[JVPN_A_LAST_RX_MS]		= { .type = NLA_U32 },
	[JVPN_A_LAST_TX_MS]		= { .type = NLA_U32 },
	[JVPN_A_SOCKETS]		= { .type = NLA_NESTED },
	[JVPN_A_SOCKET]			= { .type = NLA_NESTED },
};

static struct nla_policy inner_policy[JVPN_A_INNER_MAX + 1] = {
	[JVPN_A_INNER_ADDR]		= { .type = NLA_NESTED },
	[JVPN_A_INNER_FAMILY]		= { .type = NLA_U16 },
	[JVPN_A_INNER_IP]		= { .minlen = 4, .maxlen = 16 },
	[JVPN_A_INNER_PREFIXLEN]	= { .type = NLA_U8 },
};

static struct nla_policy key_policy[JVPN_A_KEY_MAX + 1] = {
	[JVPN_A_KEY]			= { .type = NLA_NESTED },
	[JVPN_A_KEY_INFO_SLOT]		= { .type = NLA_U8 },
	[JVPN_A_KEY_INFO_ID]		= { .type = NLA_U8 },
	[JVPN_A_KEY_INFO_AGE_MS]	= { .type = NLA_U32 },
	[JVPN_A_KEY_INFO_TX_PACKETS]	= { .type = NLA_U64 },
	[JVPN_A_KEY_INFO_RX_PACKETS]	= { .type = NLA_U64 },
};

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

/* libnl's own error codes back to errno, for callers that print strerror. */
static int nlerr_to_errno(int nlerr)
{
	switch (abs(nlerr)) {
	case NLE_INTR:		return -EINTR;
	case NLE_BAD_SOCK:	return -EBADF;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_EXIST:		return -EEXIST;
	case NLE_INVAL:		return -EINVAL;
	case NLE_RANGE:		return -ERANGE;
	case NLE_MSGSIZE:	return -EMSGSIZE;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_MSG_TRUNC:	return -EMSGSIZE;
	case NLE_BUSY:		return -EBUSY;
	case NLE_NOACCESS:	return -EACCES;
	case NLE_PERM:		return -EPERM;
	case NLE_NODEV:		return -ENODEV;
	case NLE_DUMP_INTR:	return -EINTR;
	case NLE_ATTRSIZE:	return -EMSGSIZE;
	default:		return -EPROTO;
	}
}

/* Records a failure of libnl itself, keeping its wording as the detail. */
static int lib_failure(struct jvpn_nl *nl, int nlerr)
{
	snprintf(nl->errmsg, sizeof(nl->errmsg), "libnl: %s",
		 nl_geterror(nlerr));
	return nlerr_to_errno(nlerr);
}

/*
 * Copies NLMSGERR_ATTR_MSG from an NLMSG_ERROR or NLMSG_DONE message whose
 * TLVs start hlen bytes into the payload.
 */
static void copy_extack(struct jvpn_nl *nl, const struct nlmsghdr *h,
			size_t hlen)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
	const struct nlattr *msg;
	size_t len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || NLMSG_ALIGN(hlen) > payload)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hlen)),
		      payload - NLMSG_ALIGN(hlen), NULL) < 0)
		return;
	msg = tb[NLMSGERR_ATTR_MSG];
	if (!msg)
		return;
	/* The kernel NUL-terminates it, but do not rely on that. */
	len = strnlen(nla_data(msg), nla_len(msg));
	if (len >= sizeof(nl->errmsg))
		len = sizeof(nl->errmsg) - 1;
	memcpy(nl->errmsg, nla_data(msg), len);
	nl->errmsg[len] = '\0';
}

static void request_fail(struct request *rq, int err)
{
	if (!rq->err)
		rq->err = err;
}

/* ---------------------------------------------------------------------- */
/* Receive callbacks of a request                                          */
/* ---------------------------------------------------------------------- */

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[JVPN_A_MAX + 1];
	int err;

	if (h->nlmsg_type != rq->nl->family)
		return NL_SKIP;
	if (genlmsg_parse(h, 0, tb, JVPN_A_MAX, attr_policy) < 0) {
		snprintf(rq->nl->errmsg, sizeof(rq->nl->errmsg),
			 "malformed reply from the kernel");
		request_fail(rq, -EPROTO);
		return NL_SKIP;
	}
	/* After a failure only drain, so the next request starts clean. */
	if (rq->fn && !rq->err) {
		err = rq->fn(genlmsg_hdr(h)->cmd, tb, rq->arg);
		if (err)
			request_fail(rq, err);
	}
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;
	/* libnl hands over the payload; the header (flags!) precedes it. */
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t hlen = sizeof(*e);

	(void)who;
	if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
		hlen += e->msg.nlmsg_len - NLMSG_HDRLEN;
	copy_extack(rq->nl, h, hlen);
	request_fail(rq, e->error < 0 ? e->error : -EPROTO);
	rq->done = 1;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	(void)msg;
	rq->done = 1;
	return NL_STOP;
}

/* NLMSG_DONE carries the dump's final status, which libnl ignores. */
static int on_finish(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	int status;

	if (nlmsg_datalen(h) >= (int)sizeof(status)) {
		memcpy(&status, nlmsg_data(h), sizeof(status));
		if (status < 0) {
			copy_extack(rq->nl, h, sizeof(status));
			request_fail(rq, status);
		}
	}
	rq->done = 1;
	return NL_STOP;
}

static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	(void)msg;
	rq->interrupted = 1;
	return NL_OK;
}

static struct nl_cb *request_cb(struct request *rq)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, rq);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, rq);
	return cb;
}

/* ---------------------------------------------------------------------- */
/* Sockets                                                                 */
/* ---------------------------------------------------------------------- */

static void set_flag(int fd, int opt)
{
	int one = 1;

	/* Best effort: without it errors still arrive, just less detailed. */
	(void)setsockopt(fd, SOL_NETLINK, opt, &one, sizeof(one));
}

int jvpn_nl_open(struct jvpn_nl **nlp)
{
	struct jvpn_nl *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		err = -ENOMEM;
		goto fail;
	}
	err = genl_connect(nl->sk);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto fail;
	}
	set_flag(nl_socket_get_fd(nl->sk), NETLINK_EXT_ACK);
	/*
	 * Capped ACKs do not echo our request back: for KEY_NEW that would
	 * be one more copy of the key material in a buffer we do not wipe.
	 */
	set_flag(nl_socket_get_fd(nl->sk), NETLINK_CAP_ACK);
	err = genl_ctrl_resolve(nl->sk, JVPN_FAMILY_NAME);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto fail;
	}
	nl->family = err;
	*nlp = nl;
	return 0;
fail:
	jvpn_nl_close(nl);
	return err;
}

static void grow_rcvbuf(int fd)
{
	int size = EVENTS_RCVBUF;

	/* FORCE ignores rmem_max; we have CAP_NET_ADMIN anyway. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
				 sizeof(size));
}

int jvpn_nl_open_events(struct jvpn_nl **nlp)
{
	struct jvpn_nl *nl;
	int grp, err = jvpn_nl_open(&nl);

	if (err)
		return err;
	grp = genl_ctrl_resolve_grp(nl->sk, JVPN_FAMILY_NAME,
				    JVPN_MCGRP_EVENTS);
	if (grp < 0) {
		err = grp == -NLE_OBJ_NOTFOUND ? -ESRCH : nlerr_to_errno(grp);
		goto fail;
	}
	nl->rxbuf = malloc(EVENTS_RXBUF);
	if (!nl->rxbuf) {
		err = -ENOMEM;
		goto fail;
	}
	grow_rcvbuf(nl_socket_get_fd(nl->sk));
	err = nl_socket_add_membership(nl->sk, grp);
	if (!err)
		err = nl_socket_set_nonblocking(nl->sk);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto fail;
	}
	*nlp = nl;
	return 0;
fail:
	jvpn_nl_close(nl);
	return err;
}

void jvpn_nl_close(struct jvpn_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl->rxbuf);
	free(nl);
}

int jvpn_nl_fd(const struct jvpn_nl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

const char *jvpn_nl_errmsg(const struct jvpn_nl *nl)
{
	return nl->errmsg;
}

/* ---------------------------------------------------------------------- */
/* Requests                                                                */
/* ---------------------------------------------------------------------- */

struct nl_msg *jvpn_nl_msg(const struct jvpn_nl *nl, uint8_t cmd, int flags,
			   uint32_t ifindex)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, JVPN_FAMILY_VERSION) ||
	    (ifindex && nla_put_u32(msg, JVPN_A_IFINDEX, ifindex) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct nl_msg *jvpn_nl_dev_msg(const struct jvpn_nl *nl, uint8_t cmd,
			       int flags, const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);
	struct nl_msg *msg;

	if (!ifindex) {
		errno = ENODEV;
		return NULL;
	}
	msg = jvpn_nl_msg(nl, cmd, flags, ifindex);
	if (!msg)
		errno = ENOMEM;
	return msg;
}

static void wipe_and_free(struct nl_msg *msg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);

	explicit_bzero(h, h->nlmsg_len);
	nlmsg_free(msg);
}

int jvpn_nl_request(struct jvpn_nl *nl, struct nl_msg *msg, jvpn_nl_msg_fn fn,
		    void *arg)
{
	struct request rq = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_cb *cb = request_cb(&rq);
	int err;

	nl->errmsg[0] = '\0';
	if (!cb) {
		wipe_and_free(msg);
		return -ENOMEM;
	}
	err = nl_send_auto(nl->sk, msg);
	wipe_and_free(msg);
	if (err < 0)
		request_fail(&rq, lib_failure(nl, err));
	while (err >= 0 && !rq.done) {
		err = nl_recvmsgs(nl->sk, cb);
		if (err < 0 && !rq.done)
			request_fail(&rq, lib_failure(nl, err));
	}
	nl_cb_put(cb);
	if (!rq.err && rq.interrupted) {
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "dump interrupted by a concurrent change, retry");
		rq.err = -EINTR;
	}
	return rq.err;
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */
/* ---------------------------------------------------------------------- */

/* Hands every jvpn message of one datagram to fn; returns the count. */
static int dispatch(struct jvpn_nl *nl, size_t len, jvpn_nl_msg_fn fn,
		    void *arg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)nl->rxbuf;
	struct nlattr *tb[JVPN_A_MAX + 1];
	int rem = (int)len, n = 0, err;

	for (; nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
		/* A malformed event is skipped; its seq gap tells the user. */
		if (h->nlmsg_type != nl->family ||
		    genlmsg_parse(h, 0, tb, JVPN_A_MAX, attr_policy) < 0)
			continue;
		err = fn(genlmsg_hdr(h)->cmd, tb, arg);
		if (err)
			return err;
		n++;
	}
	return n;
}

int jvpn_nl_events_recv(struct jvpn_nl *nl, jvpn_nl_msg_fn fn, void *arg)
{
	int handled = 0;

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { nl->rxbuf, EVENTS_RXBUF };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t len = recvmsg(jvpn_nl_fd(nl), &mh, 0);
		int n;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return handled;
			return -errno;
		}
		/* Only the kernel may send events; truncated ones are lost. */
		if (from.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
			continue;
		n = dispatch(nl, len, fn, arg);
		if (n < 0)
			return n;
		handled += n;
	}
}

/* ---------------------------------------------------------------------- */
/* Attribute helpers                                                       */
/* ---------------------------------------------------------------------- */

static int put_prefix(struct nl_msg *msg, const struct jvpn_prefix *p)
{
	size_t alen = jvpn_addr_len(p->family);
	struct nlattr *nest;

	if (!alen)
		return -EAFNOSUPPORT;
	nest = nla_nest_start(msg, JVPN_A_INNER_ADDR | NLA_F_NESTED);
	if (!nest || nla_put_u16(msg, JVPN_A_INNER_FAMILY, p->family) ||
	    nla_put(msg, JVPN_A_INNER_IP, alen, &p->addr) ||
	    nla_put_u8(msg, JVPN_A_INNER_PREFIXLEN, p->len))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int jvpn_nl_put_inner(struct nl_msg *msg, const struct jvpn_prefix *p,
		      size_t n)
{
	struct nlattr *nest = nla_nest_start(msg, JVPN_A_INNER | NLA_F_NESTED);
	size_t i;
	int err;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		err = put_prefix(msg, &p[i]);
		if (err) {
			nla_nest_cancel(msg, nest);
			return err;
		}
	}
	/* An empty list is meaningful ("no inner addresses"): keep it. */
	nla_nest_end_keep_empty(msg, nest);
	return 0;
}

int jvpn_nl_put_remote(struct nl_msg *msg, const struct sockaddr *sa)
{
	const void *addr;
	uint16_t port;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		addr = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		addr = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	if (nla_put(msg, JVPN_A_PATH_REMOTE_IP, jvpn_addr_len(sa->sa_family),
		    addr) ||
	    nla_put_u16(msg, JVPN_A_PATH_REMOTE_PORT, port))
		return -EMSGSIZE;
	return 0;
}

int jvpn_nl_get_remote(struct nlattr **tb, struct sockaddr_storage *ss)
{
	struct nlattr *ip = tb[JVPN_A_PATH_REMOTE_IP];
	uint16_t port = 0;

	if (!ip)
		return -ENOENT;
	if (tb[JVPN_A_PATH_REMOTE_PORT])
		port = nla_get_u16(tb[JVPN_A_PATH_REMOTE_PORT]);
	memset(ss, 0, sizeof(*ss));
	if (nla_len(ip) == sizeof(struct in_addr)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, nla_data(ip), sizeof(sin->sin_addr));
	} else if (nla_len(ip) == sizeof(struct in6_addr)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, nla_data(ip), sizeof(sin6->sin6_addr));
	} else {
		return -EPROTO;
	}
	return 0;
}

int jvpn_nl_get_prefix(struct nlattr *addr_nest, struct jvpn_prefix *p)
{
	struct nlattr *tb[JVPN_A_INNER_MAX + 1];
	struct nlattr *ip;
	size_t alen;

	memset(p, 0, sizeof(*p));
	if (nla_parse_nested(tb, JVPN_A_INNER_MAX, addr_nest, inner_policy) < 0)
		return -EPROTO;
	ip = tb[JVPN_A_INNER_IP];
	if (!ip)
		return -EPROTO;
	/* FAMILY is redundant with the address length; trust but verify. */
	p->family = nla_len(ip) == 4 ? AF_INET : AF_INET6;
	if (tb[JVPN_A_INNER_FAMILY])
		p->family = nla_get_u16(tb[JVPN_A_INNER_FAMILY]);
	alen = jvpn_addr_len(p->family);
	if (!alen || (size_t)nla_len(ip) != alen)
		return -EPROTO;
	memcpy(&p->addr, nla_data(ip), alen);
	p->len = 8 * alen;
	if (tb[JVPN_A_INNER_PREFIXLEN])
		p->len = nla_get_u8(tb[JVPN_A_INNER_PREFIXLEN]);
	return p->len > 8 * alen ? -EPROTO : 0;
}

int jvpn_nl_parse_stats(struct nlattr *nest,
			struct nlattr *tb[JVPN_STAT_MAX + 1])
{
	struct nlattr *a;
	int rem;

	/* A table policy would need a range initializer; check by hand. */
	memset(tb, 0, sizeof(*tb) * (JVPN_STAT_MAX + 1));
	nla_for_each_nested(a, nest, rem) {
		int type = nla_type(a);

		if (type <= JVPN_STAT_UNSPEC || type > JVPN_STAT_MAX ||
		    type == JVPN_STAT_PAD)
			continue;
		if (nla_len(a) < (int)sizeof(uint64_t))
			return -EPROTO;
		tb[type] = a;
	}
	return 0;
}

int jvpn_nl_parse_key(struct nlattr *nest, struct nlattr *tb[JVPN_A_KEY_MAX + 1])
{
	if (nla_parse_nested(tb, JVPN_A_KEY_MAX, nest, key_policy) < 0)
		return -EPROTO;
	return 0;
}

int jvpn_nl_parse_path(struct nlattr *nest, struct nlattr *tb[JVPN_A_MAX + 1])
{
	if (nla_parse_nested(tb, JVPN_A_MAX, nest, attr_policy) < 0)
		return -EPROTO;
	return 0;
}
