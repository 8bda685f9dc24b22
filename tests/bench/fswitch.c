// SPDX-License-Identifier: GPL-2.0-only
/*
 * fswitch: the stand-in path controller of tests/demo/guest.sh as one
 * resident process, for the failover benchmark (tests/bench/guest.sh).
 *
 *   fswitch DEV SESSION_ID [cooldown-ms N]
 *
 * Listens to the jvpn "events" multicast group.  On PATH_SILENT for path P
 * (1 or 2) of SESSION_ID it switches the session to the other path, 3 - P,
 * with one versioned PATH_ACTIVATE (EXPECTED_VERSION = the state_version it
 * last saw; on -ESTALE it reads the version again and retries once).  After
 * a switch it ignores PATH_SILENT for COOLDOWN ms (default 1000), so the
 * peer has time to follow - the demo's rule.
 *
 * The demo's controller is bash + jq + jvpnctl: two or three program starts
 * per switch, 0.1-2 s each under TCG depending on the host's load, which
 * would swamp what the benchmark is about (the kernel's detection and one
 * versioned switch).  This does the same with nothing but raw netlink.
 *
 * Prints one line per event and per switch, each starting with the wall
 * clock in microseconds (CLOCK_REALTIME, the clock of bash's EPOCHREALTIME
 * and ping -D), line-buffered:
 *
 *   T ready VERSION
 *   T event path_silent|path_alive|... PATH
 *   T switched PATH NEW_VERSION
 *   T switch-failed PATH ERRNO
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/jvpn.h>

static const char *const event_names[] = {
	[JVPN_EVENT_PATH_SILENT] = "path_silent",
	[JVPN_EVENT_UNKNOWN_SOURCE] = "unknown_source",
	[JVPN_EVENT_KEY_LIMIT] = "key_limit",
	[JVPN_EVENT_SESSION_REMOVED] = "session_removed",
	[JVPN_EVENT_PATH_ALIVE] = "path_alive",
	[JVPN_EVENT_SECONDARY_KEY_USED] = "secondary_key_used",
};

static uint16_t family;
static uint32_t ifindex, session_id, seq = 1;
static int req_fd;

static void die(const char *msg)
{
	perror(msg);
	exit(2);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct msg {
	unsigned char buf[512];
	size_t len;
};

static void put_attr(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (void *)(m->buf + m->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->len += NLA_ALIGN(a->nla_len);
}

static void msg_init(struct msg *m, uint16_t type, uint8_t cmd, uint16_t flags,
		     uint8_t version)
{
	struct nlmsghdr *h = (void *)m->buf;
	struct genlmsghdr *g = (void *)(m->buf + NLMSG_HDRLEN);

	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq++;
	g->cmd = cmd;
	g->version = version;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* Calls @cb for each attribute of a genl message's payload. */
static void walk(const void *data, int len,
		 void (*cb)(const struct nlattr *, void *), void *arg)
{
	const struct nlattr *a = data;

	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		cb(a, arg);
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static const void *nla_data_c(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

/* Sends @m and reads until its ack.  Each reply message of type @family is
 * handed to @cb.  Returns 0 or a negative errno.
 */
static int transact(struct msg *m, void (*cb)(const struct nlattr *, void *),
		    void *arg)
{
	static unsigned char rbuf[16384];
	struct nlmsghdr *h = (void *)m->buf;

	h->nlmsg_len = m->len;
	if (send(req_fd, m->buf, m->len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(req_fd, rbuf, sizeof(rbuf), 0);
		int len = n;

		if (n < 0)
			return -errno;
		for (h = (void *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (cb)
				walk((char *)NLMSG_DATA(h) + GENL_HDRLEN,
				     h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, cb, arg);
		}
	}
}

struct family_info {
	uint16_t id;
	uint32_t events_grp;
};

static void on_grp(const struct nlattr *a, void *arg)
{
	struct family_info *fi = arg;
	const struct nlattr *x;
	uint32_t id = 0;
	const char *name = NULL;
	int len = a->nla_len - NLA_HDRLEN;

	for (x = nla_data_c(a); len >= (int)NLA_HDRLEN && x->nla_len >= NLA_HDRLEN;
	     len -= NLA_ALIGN(x->nla_len),
	     x = (const void *)((const char *)x + NLA_ALIGN(x->nla_len))) {
		if (x->nla_type == CTRL_ATTR_MCAST_GRP_ID)
			id = *(const uint32_t *)nla_data_c(x);
		if (x->nla_type == CTRL_ATTR_MCAST_GRP_NAME)
			name = nla_data_c(x);
	}
	if (name && !strcmp(name, JVPN_MCGRP_EVENTS))
		fi->events_grp = id;
}

static void on_family(const struct nlattr *a, void *arg)
{
	struct family_info *fi = arg;

	if (a->nla_type == CTRL_ATTR_FAMILY_ID)
		fi->id = *(const uint16_t *)nla_data_c(a);
	if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS)
		walk(nla_data_c(a), a->nla_len - NLA_HDRLEN, on_grp, fi);
}

static void on_version(const struct nlattr *a, void *arg)
{
	if (a->nla_type == JVPN_A_STATE_VERSION)
		memcpy(arg, nla_data_c(a), sizeof(uint64_t));
}

static int read_version(uint64_t *v)
{
	struct msg m;

	msg_init(&m, family, JVPN_CMD_SESSION_GET, NLM_F_ACK, JVPN_FAMILY_VERSION);
	put_attr(&m, JVPN_A_IFINDEX, &ifindex, 4);
	put_attr(&m, JVPN_A_SESSION_ID, &session_id, 4);
	return transact(&m, on_version, v);
}

/* Returns 0 (and the new version in *v) or a negative errno. */
static int activate(uint32_t path, uint64_t *v)
{
	uint64_t nv = *v + 1;
	struct msg m;
	int err;

	msg_init(&m, family, JVPN_CMD_PATH_ACTIVATE, NLM_F_ACK, JVPN_FAMILY_VERSION);
	put_attr(&m, JVPN_A_IFINDEX, &ifindex, 4);
	put_attr(&m, JVPN_A_SESSION_ID, &session_id, 4);
	put_attr(&m, JVPN_A_PATH_ID, &path, 4);
	put_attr(&m, JVPN_A_EXPECTED_VERSION, v, 8);
	err = transact(&m, on_version, &nv);
	if (!err)
		*v = nv;
	return err;
}

struct event {
	uint32_t type, session, path;
};

static void on_event(const struct nlattr *a, void *arg)
{
	struct event *e = arg;

	switch (a->nla_type) {
	case JVPN_A_EVENT_TYPE:
		e->type = *(const uint32_t *)nla_data_c(a);
		break;
	case JVPN_A_SESSION_ID:
		e->session = *(const uint32_t *)nla_data_c(a);
		break;
	case JVPN_A_PATH_ID:
		e->path = *(const uint32_t *)nla_data_c(a);
		break;
	}
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static unsigned char rbuf[16384];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct family_info fi = { 0 };
	uint64_t version = 0, hold = 0, cooldown_us = 1000000;
	struct sigaction sig = { .sa_handler = on_signal };
	struct msg m;
	int ev_fd, one = 1, err;

	if (argc < 3) {
		fprintf(stderr, "usage: fswitch DEV SESSION_ID [cooldown-ms N]\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex)
		die(argv[1]);
	session_id = strtoul(argv[2], NULL, 0);
	if (argc >= 5 && !strcmp(argv[3], "cooldown-ms"))
		cooldown_us = strtoull(argv[4], NULL, 0) * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);

	req_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	ev_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (req_fd < 0 || ev_fd < 0)
		die("socket");
	setsockopt(req_fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(req_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    bind(ev_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");

	msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK, 1);
	put_attr(&m, CTRL_ATTR_FAMILY_NAME, JVPN_FAMILY_NAME, sizeof(JVPN_FAMILY_NAME));
	err = transact(&m, on_family, &fi);
	if (err || !fi.id || !fi.events_grp) {
		fprintf(stderr, "fswitch: no jvpn family or events group (%s)\n",
			strerror(-err));
		return 2;
	}
	family = fi.id;
	if (setsockopt(ev_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &fi.events_grp,
		       sizeof(fi.events_grp)))
		die("NETLINK_ADD_MEMBERSHIP");
	err = read_version(&version);
	if (err) {
		fprintf(stderr, "fswitch: reading session %u: %s\n", session_id,
			strerror(-err));
		return 2;
	}
	printf("%llu ready %llu\n", (unsigned long long)now_us(),
	       (unsigned long long)version);

	while (!stop) {
		ssize_t n = recv(ev_fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h;
		int len = n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				printf("%llu overrun\n", (unsigned long long)now_us());
				continue;
			}
			die("recv");
		}
		for (h = (void *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct event e = { 0 };
			uint64_t t = now_us();
			uint32_t target;

			if (h->nlmsg_type != family)
				continue;
			walk((char *)NLMSG_DATA(h) + GENL_HDRLEN,
			     h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, on_event, &e);
			if (e.session != session_id)
				continue;
			printf("%llu event %s %u\n", (unsigned long long)t,
			       e.type < sizeof(event_names) / sizeof(event_names[0]) &&
			       event_names[e.type] ? event_names[e.type] : "unknown",
			       e.path);
			if (e.type != JVPN_EVENT_PATH_SILENT || (e.path != 1 && e.path != 2))
				continue;
			if (t < hold) {
				printf("%llu cooldown\n", (unsigned long long)t);
				continue;
			}
			target = 3 - e.path;
			err = activate(target, &version);
			if (err == -ESTALE && !read_version(&version))
				err = activate(target, &version);
			if (err) {
				printf("%llu switch-failed %u %d\n",
				       (unsigned long long)now_us(), target, -err);
				continue;
			}
			t = now_us();
			printf("%llu switched %u %llu\n", (unsigned long long)t, target,
			       (unsigned long long)version);
			hold = t + cooldown_us;
		}
	}
	return 0;
}
