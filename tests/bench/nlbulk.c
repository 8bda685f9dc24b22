// SPDX-License-Identifier: GPL-2.0-only
/*
 * nlbulk: installs many jvpn sessions through generic netlink, fast, for the
 * session-scale benchmark (tests/bench/guest.sh).
 *
 *   nlbulk DEV COUNT [first-id N] [inner-base A.B.C.D] [key] [path IP:PORT]
 *          [socket-id N] [window N]
 *   nlbulk DEV dump
 *
 * Session i (0 <= i < COUNT) gets id and peer id FIRST+i, one inner host
 * address INNER_BASE+i/32, and with `key` a primary key (key id 1, its own
 * pseudo-random encrypt and decrypt keys), with `path` path 1 on socket
 * SOCKET_ID (default 1) to IP:PORT.  So a session costs 1, 2 or 3
 * requests: SESSION_NEW (with its inner address), KEY_NEW, PATH_ADD.
 *
 * Requests go out WINDOW at a time (default 64) in one sendmsg each, every
 * one with NLM_F_ACK, and all acknowledgements are read before the next
 * window: the kernel handles them one after the other, and the syscall and
 * scheduling cost per request of a one-at-a-time client (jvpnctl, nlraw.py)
 * is kept out of the figure.  Prints one line:
 *
 *   sessions=N requests=R errors=E seconds=S sessions_per_s=X
 *
 * and exits 1 if any request failed (the first few errors go to stderr).
 * `nlbulk DEV dump` dumps the device's sessions (SESSION_GET with
 * NLM_F_DUMP) and throws the messages away: the kernel's share of a dump,
 * without any formatting.  Prints "dumped=N seconds=S".
 *
 * Self-contained: raw netlink, only the uapi header.
 */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/jvpn.h>

#define BUF_SIZE (1 << 20)

static int nl_fd;
static uint32_t seq_next = 1;
static unsigned char *buf;
static size_t buf_len;
static unsigned int n_pending, n_errors;

static void die(const char *msg)
{
	perror(msg);
	exit(2);
}

static void *put(size_t len)
{
	void *p = buf + buf_len;

	memset(p, 0, NLMSG_ALIGN(len));
	buf_len += NLMSG_ALIGN(len);
	return p;
}

static struct nlattr *attr(uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = put(NLA_HDRLEN + len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	return a;
}

static void attr_u8(uint16_t t, uint8_t v) { attr(t, &v, 1); }
static void attr_u16(uint16_t t, uint16_t v) { attr(t, &v, 2); }
static void attr_u32(uint16_t t, uint32_t v) { attr(t, &v, 4); }

static size_t nest_start(uint16_t type)
{
	size_t off = buf_len;

	attr(type | NLA_F_NESTED, NULL, 0);
	return off;
}

static void nest_end(size_t off)
{
	((struct nlattr *)(buf + off))->nla_len = buf_len - off;
}

static size_t msg_start(uint16_t family, uint8_t cmd, uint16_t flags)
{
	size_t off = buf_len;
	struct nlmsghdr *nlh = put(NLMSG_HDRLEN);
	struct genlmsghdr *g = put(GENL_HDRLEN);

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq_next++;
	g->cmd = cmd;
	g->version = JVPN_FAMILY_VERSION;
	return off;
}

static void msg_end(size_t off)
{
	((struct nlmsghdr *)(buf + off))->nlmsg_len = buf_len - off;
	n_pending++;
}

/* Sends the buffered requests and reads one ack (or error) for each. */
static void flush(void)
{
	static unsigned char rbuf[1 << 16];
	size_t off = 0;

	while (off < buf_len) {
		ssize_t n = send(nl_fd, buf + off, buf_len - off, 0);

		if (n < 0)
			die("send");
		off += n;
	}
	buf_len = 0;
	while (n_pending) {
		ssize_t n = recv(nl_fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h;
		int len = n;

		if (n < 0)
			die("recv");
		for (h = (void *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			n_pending--;
			if (!e->error)
				continue;
			if (++n_errors <= 5) {
				const char *ext = "";
				/* extack message: after the (capped) echoed header */
				if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
					struct nlattr *a = (void *)((char *)e + sizeof(*e));
					int alen = h->nlmsg_len - NLMSG_HDRLEN - sizeof(*e);

					while (alen >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN) {
						if (a->nla_type == NLMSGERR_ATTR_MSG)
							ext = (char *)a + NLA_HDRLEN;
						alen -= NLA_ALIGN(a->nla_len);
						a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
					}
				}
				fprintf(stderr, "nlbulk: request seq %u: %s%s%s\n",
					e->msg.nlmsg_seq, strerror(-e->error),
					*ext ? ": " : "", ext);
			}
		}
	}
}

static uint16_t resolve_family(void)
{
	unsigned char rbuf[8192];
	struct nlmsghdr *h;
	size_t off = msg_start(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	ssize_t n;
	int len;

	((struct genlmsghdr *)(buf + off + NLMSG_HDRLEN))->version = 1;
	attr(CTRL_ATTR_FAMILY_NAME, JVPN_FAMILY_NAME, sizeof(JVPN_FAMILY_NAME));
	msg_end(off);
	if (send(nl_fd, buf, buf_len, 0) < 0)
		die("send");
	buf_len = 0;
	n_pending = 0;
	n = recv(nl_fd, rbuf, sizeof(rbuf), 0);
	if (n < 0)
		die("recv");
	len = n;
	for (h = (void *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		struct nlattr *a;
		int alen;

		if (h->nlmsg_type == NLMSG_ERROR)
			break;
		a = (void *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
		alen = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
		while (alen >= (int)NLA_HDRLEN) {
			if (a->nla_type == CTRL_ATTR_FAMILY_ID)
				return *(uint16_t *)((char *)a + NLA_HDRLEN);
			alen -= NLA_ALIGN(a->nla_len);
			a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
		}
	}
	fprintf(stderr, "nlbulk: no generic netlink family %s (module loaded?)\n",
		JVPN_FAMILY_NAME);
	exit(2);
}

static double now(void);

static int dump(uint16_t family, uint32_t ifindex)
{
	static unsigned char rbuf[1 << 17];
	unsigned long count = 0;
	double t0 = now(), t1;
	size_t m;

	m = msg_start(family, JVPN_CMD_SESSION_GET, NLM_F_DUMP);
	attr_u32(JVPN_A_IFINDEX, ifindex);
	msg_end(m);
	if (send(nl_fd, buf, buf_len, 0) < 0)
		die("send");
	for (;;) {
		ssize_t n = recv(nl_fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h;
		int len = n;

		if (n < 0)
			die("recv");
		for (h = (void *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto done;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				fprintf(stderr, "nlbulk: dump: %s\n", strerror(-e->error));
				return 1;
			}
			if (h->nlmsg_type == family)
				count++;
		}
	}
done:
	t1 = now();
	printf("dumped=%lu seconds=%.3f\n", count, t1 - t0);
	return 0;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: keys only need to differ, not to be secret. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void rand_key(uint8_t *k)
{
	for (int i = 0; i < JVPN_KEY_LEN; i += 8) {
		uint64_t v = rng();

		memcpy(k + i, &v, 8);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t ifindex, count, first = 100000, sock_id = 1, window = 64;
	struct in_addr inner_base = { htonl(0x0a800001) }, remote = { 0 };
	uint16_t family, remote_port = 0;
	int with_key = 0, with_path = 0, one = 1, rcvbuf = 8 << 20;
	unsigned int requests = 0;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	double t0, t1;

	if (argc < 3) {
		fprintf(stderr, "usage: nlbulk DEV COUNT [first-id N] [inner-base A.B.C.D] "
			"[key] [path IP:PORT] [socket-id N] [window N]\n"
			"       nlbulk DEV dump\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex)
		die(argv[1]);
	count = strtoul(argv[2], NULL, 0);
	for (int i = strcmp(argv[2], "dump") ? 3 : argc; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "key")) {
			with_key = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "nlbulk: %s needs a value\n", k);
			return 2;
		}
		i++;
		if (!strcmp(k, "first-id")) {
			first = strtoul(v, NULL, 0);
		} else if (!strcmp(k, "inner-base")) {
			if (inet_pton(AF_INET, v, &inner_base) != 1)
				die(v);
		} else if (!strcmp(k, "socket-id")) {
			sock_id = strtoul(v, NULL, 0);
		} else if (!strcmp(k, "window")) {
			window = strtoul(v, NULL, 0);
			if (!window || window > 1024)
				window = 64;
		} else if (!strcmp(k, "path")) {
			char ip[64], *colon;

			snprintf(ip, sizeof(ip), "%s", v);
			colon = strrchr(ip, ':');
			if (!colon)
				die("path needs IP:PORT");
			*colon = 0;
			remote_port = strtoul(colon + 1, NULL, 0);
			if (inet_pton(AF_INET, ip, &remote) != 1)
				die(ip);
			with_path = 1;
		} else {
			fprintf(stderr, "nlbulk: unknown argument %s\n", k);
			return 2;
		}
	}

	buf = malloc(BUF_SIZE);
	if (!buf)
		die("malloc");
	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl_fd < 0)
		die("socket");
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");
	family = resolve_family();
	if (!strcmp(argv[2], "dump"))
		return dump(family, ifindex);
	rng_state = ((uint64_t)getpid() << 32) ^ (uint64_t)(now() * 1e9) ^ 0x9e3779b97f4a7c15ULL;

	t0 = now();
	for (uint32_t i = 0; i < count; i++) {
		uint32_t id = first + i;
		struct in_addr in = { htonl(ntohl(inner_base.s_addr) + i) };
		uint16_t fam = AF_INET;
		uint8_t plen = 32, ekey[JVPN_KEY_LEN], dkey[JVPN_KEY_LEN];
		size_t m, n1, n2;

		m = msg_start(family, JVPN_CMD_SESSION_NEW, NLM_F_ACK);
		attr_u32(JVPN_A_IFINDEX, ifindex);
		attr_u32(JVPN_A_SESSION_ID, id);
		attr_u32(JVPN_A_PEER_ID, id);
		n1 = nest_start(JVPN_A_INNER);
		n2 = nest_start(JVPN_A_INNER_ADDR);
		attr(JVPN_A_INNER_FAMILY, &fam, 2);
		attr(JVPN_A_INNER_IP, &in, 4);
		attr(JVPN_A_INNER_PREFIXLEN, &plen, 1);
		nest_end(n2);
		nest_end(n1);
		msg_end(m);
		requests++;
		if (with_key) {
			rand_key(ekey);
			rand_key(dkey);
			m = msg_start(family, JVPN_CMD_KEY_NEW, NLM_F_ACK);
			attr_u32(JVPN_A_IFINDEX, ifindex);
			attr_u32(JVPN_A_SESSION_ID, id);
			attr_u8(JVPN_A_KEY_SLOT, JVPN_KEY_SLOT_PRIMARY);
			attr_u8(JVPN_A_KEY_ID, 1);
			attr(JVPN_A_KEY_ENCRYPT, ekey, sizeof(ekey));
			attr(JVPN_A_KEY_DECRYPT, dkey, sizeof(dkey));
			msg_end(m);
			requests++;
		}
		if (with_path) {
			m = msg_start(family, JVPN_CMD_PATH_ADD, NLM_F_ACK);
			attr_u32(JVPN_A_IFINDEX, ifindex);
			attr_u32(JVPN_A_SESSION_ID, id);
			attr_u32(JVPN_A_PATH_ID, 1);
			attr_u32(JVPN_A_SOCKET_ID, sock_id);
			attr(JVPN_A_PATH_REMOTE_IP, &remote, 4);
			attr_u16(JVPN_A_PATH_REMOTE_PORT, remote_port);
			msg_end(m);
			requests++;
		}
		if (n_pending >= window)
			flush();
	}
	flush();
	t1 = now();
	printf("sessions=%u requests=%u errors=%u seconds=%.3f sessions_per_s=%.0f\n",
	       count, requests, n_errors, t1 - t0,
	       t1 > t0 ? count / (t1 - t0) : 0.0);
	return n_errors ? 1 : 0;
}
