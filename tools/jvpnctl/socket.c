// SPDX-License-Identifier: MIT
/*
 * jvpnctl socket add|del: UDP sockets the device sends and receives on.
 *
 * "socket add" creates and binds the socket here and hands its file
 * descriptor to the kernel, which keeps its own reference: the socket
 * outlives jvpnctl, and the kernel picks up exactly what was bound
 * (address, port, family) without growing its own bind interface.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "jvpnctl.h"

struct socket_add {
	const char *dev;
	struct sockaddr_storage local;
};

struct socket_reply {
	bool have_id;
	uint32_t id;
	uint16_t family;
	uint16_t port;
};

static int parse_family(const char *v)
{
	if (!strcmp(v, "inet"))
		return AF_INET;
	if (!strcmp(v, "inet6"))
		return AF_INET6;
	usage_error("invalid value '%s' for 'family' (inet or inet6)", v);
}

/* A wildcard address of the given family and port. */
static void wildcard(struct sockaddr_storage *ss, int family, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_any;
	}
}

static void parse_socket_add(int argc, char **argv, struct socket_add *sa)
{
	bool have_listen = false, have_port = false;
	int family = 0;
	uint32_t port = 0;
	struct args a;
	const char *kw, *v;

	args_init(&a, argc, argv);
	sa->dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		if (!strcmp(kw, "listen")) {
			v = args_value(&a, kw);
			if (jvpn_parse_endpoint(v, &sa->local))
				usage_error("invalid value '%s' for 'listen' "
					    "(ADDR:PORT or [ADDR6]:PORT)", v);
			have_listen = true;
		} else if (!strcmp(kw, "port")) {
			port = args_u32(&a, kw);
			if (port > UINT16_MAX)
				usage_error("invalid value '%u' for 'port'",
					    port);
			have_port = true;
		} else if (!strcmp(kw, "family")) {
			family = parse_family(args_value(&a, kw));
		} else {
			args_unknown(kw);
		}
	}
	if (have_listen && have_port)
		usage_error("give either 'listen' or 'port', not both");
	if (have_listen && family && family != sa->local.ss_family)
		usage_error("'family' does not match the 'listen' address");
	if (!have_listen)
		wildcard(&sa->local, family ? family : AF_INET, port);
}

/* Returns a bound UDP socket; exits on failure. */
static int open_udp(const struct sockaddr_storage *local)
{
	char name[JVPN_ENDPOINT_STRLEN];
	socklen_t len = local->ss_family == AF_INET ?
			sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1;
	int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_CLOEXEC,
			IPPROTO_UDP);

	jvpn_format_endpoint((const struct sockaddr *)local, name,
			     sizeof(name));
	if (fd < 0)
		fail(-errno, "creating a UDP socket for %s", name);
	/*
	 * One family per socket: an inet6 socket must not also receive IPv4
	 * as mapped addresses, or a path's remote address would depend on
	 * which socket a packet happened to arrive on.
	 */
	if (local->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		fail(-errno, "setting IPV6_V6ONLY");
	if (bind(fd, (const struct sockaddr *)local, len))
		fail(-errno, "binding a UDP socket to %s", name);
	return fd;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int on_socket_reply(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct socket_reply *r = arg;

	(void)cmd;
	if (tb[JVPN_A_SOCKET_ID]) {
		r->id = nla_get_u32(tb[JVPN_A_SOCKET_ID]);
		r->have_id = true;
	}
	if (tb[JVPN_A_SOCKET_FAMILY])
		r->family = nla_get_u16(tb[JVPN_A_SOCKET_FAMILY]);
	if (tb[JVPN_A_SOCKET_PORT])
		r->port = nla_get_u16(tb[JVPN_A_SOCKET_PORT]);
	return 0;
}

static void print_socket(const struct socket_reply *r)
{
	if (!out_json()) {
		/* Just the id, for SID=$(jvpnctl socket add ...). */
		printf("%u\n", r->id);
		return;
	}
	out_obj_begin(NULL);
	out_u64("socket_id", r->id);
	out_str("family", family_name(r->family));
	out_u64("port", r->port);
	out_obj_end();
}

static int socket_add(int argc, char **argv)
{
	struct socket_add sa;
	struct socket_reply r = { 0 };
	struct nl_msg *msg;
	int fd;

	parse_socket_add(argc, argv, &sa);
	msg = ctl_dev_msg(JVPN_CMD_SOCKET_ATTACH, 0, sa.dev);
	fd = open_udp(&sa.local);
	put_ok(nla_put_s32(msg, JVPN_A_SOCKET_FD, fd));
	r.family = sa.local.ss_family;
	r.port = bound_port(fd);
	ctl_request(msg, on_socket_reply, &r, "attaching a socket to %s",
		    sa.dev);
	/* The kernel holds its own reference now. */
	close(fd);
	if (!r.have_id)
		fail(-EPROTO, "attaching a socket to %s: no socket id in the "
		     "kernel's reply", sa.dev);
	print_socket(&r);
	return 0;
}

/* "DEV ID" or "DEV id ID". */
static int socket_del(int argc, char **argv)
{
	struct nl_msg *msg;
	struct args a;
	const char *dev, *w;
	uint32_t id;

	args_init(&a, argc, argv);
	dev = args_dev(&a);
	w = args_next(&a);
	args_require(w, "id");
	if (!strcmp(w, "id"))
		id = args_id(&a, w);
	else if (jvpn_parse_u32(w, &id) || !id)
		args_unknown(w);
	args_end(&a);
	msg = ctl_dev_msg(JVPN_CMD_SOCKET_DETACH, 0, dev);
	put_ok(nla_put_u32(msg, JVPN_A_SOCKET_ID, id));
	ctl_request(msg, NULL, NULL, "detaching socket %u from %s", id, dev);
	return 0;
}

const struct command socket_commands[] = {
	{ "add", socket_add, "DEV [listen ADDR:PORT | port N] "
			     "[family inet|inet6]" },
	{ "del", socket_del, "DEV [id] ID" },
	{ NULL, NULL, NULL },
};
