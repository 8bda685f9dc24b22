// SPDX-License-Identifier: MIT
/*
 * jvpnctl path add|del|show|activate: the (socket, remote) pairs of a
 * session and the switch between them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jvpnctl.h"

struct path_opts {
	const char *dev;
	uint32_t session, path, socket;
	bool have_socket, have_remote, have_version;
	struct sockaddr_storage remote;
	uint64_t expect_version;
};

/* Which keywords a command takes besides "DEV session ID". */
enum {
	PATH_KW_PATH = 1 << 0,
	PATH_KW_ADD = 1 << 1,		/* socket, remote */
	PATH_KW_VERSION = 1 << 2,	/* expect-version */
};

static void parse_remote(struct path_opts *o, const char *v)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&o->remote;

	/* The port is at the same offset in sockaddr_in and sockaddr_in6. */
	if (jvpn_parse_endpoint(v, &o->remote) || !sin->sin_port)
		usage_error("invalid value '%s' for 'remote' (ADDR:PORT or "
			    "[ADDR6]:PORT, port not 0)", v);
	o->have_remote = true;
}

static bool parse_path_kw(struct args *a, const char *kw,
			  struct path_opts *o, unsigned int allowed)
{
	if (!strcmp(kw, "session")) {
		o->session = args_id(a, kw);
	} else if ((allowed & PATH_KW_PATH) && !strcmp(kw, "path")) {
		o->path = args_id(a, kw);
	} else if ((allowed & PATH_KW_ADD) && !strcmp(kw, "socket")) {
		o->socket = args_id(a, kw);
		o->have_socket = true;
	} else if ((allowed & PATH_KW_ADD) && !strcmp(kw, "remote")) {
		parse_remote(o, args_value(a, kw));
	} else if ((allowed & PATH_KW_VERSION) &&
		   !strcmp(kw, "expect-version")) {
		o->expect_version = args_u64(a, kw);
		o->have_version = true;
	} else {
		return false;
	}
	return true;
}

static void parse_path_opts(int argc, char **argv, struct path_opts *o,
			    unsigned int allowed)
{
	struct args a;
	const char *kw;

	memset(o, 0, sizeof(*o));
	args_init(&a, argc, argv);
	o->dev = args_dev(&a);
	while ((kw = args_next(&a)))
		if (!parse_path_kw(&a, kw, o, allowed))
			args_unknown(kw);
	args_require(o->session, "session");
}

/* Request for the session, plus PATH_ID when one was given. */
static struct nl_msg *path_msg(uint8_t cmd, int flags,
			       const struct path_opts *o)
{
	struct nl_msg *msg = ctl_dev_msg(cmd, flags, o->dev);

	put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, o->session));
	if (o->path)
		put_ok(nla_put_u32(msg, JVPN_A_PATH_ID, o->path));
	return msg;
}

/* A state_version the kernel sent back, if it did. */
struct version {
	bool have;
	uint64_t v;
};

static int on_version(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct version *ver = arg;

	(void)cmd;
	if (tb[JVPN_A_STATE_VERSION]) {
		ver->v = nla_get_u64(tb[JVPN_A_STATE_VERSION]);
		ver->have = true;
	}
	return 0;
}

/* The session's current state_version (SESSION_GET). */
static uint64_t read_version(const struct path_opts *o)
{
	struct version ver = { 0 };
	struct nl_msg *msg = ctl_dev_msg(JVPN_CMD_SESSION_GET, 0, o->dev);

	put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, o->session));
	ctl_request(msg, on_version, &ver, "reading session %u on %s",
		    o->session, o->dev);
	if (!ver.have)
		fail(-EPROTO, "session %u on %s: no state_version in the "
		     "kernel's reply", o->session, o->dev);
	return ver.v;
}

static void print_path_result(const struct path_opts *o,
			      const struct version *ver)
{
	if (!out_json())
		return;
	out_obj_begin(NULL);
	out_u64("session_id", o->session);
	out_u64("path_id", o->path);
	if (ver->have)
		out_u64("state_version", ver->v);
	out_obj_end();
}

static int path_add(int argc, char **argv)
{
	struct path_opts o;
	struct version ver = { 0 };
	struct nl_msg *msg;

	parse_path_opts(argc, argv, &o, PATH_KW_PATH | PATH_KW_ADD);
	args_require(o.path, "path");
	args_require(o.have_socket, "socket");
	args_require(o.have_remote, "remote");
	msg = path_msg(JVPN_CMD_PATH_ADD, 0, &o);
	put_ok(nla_put_u32(msg, JVPN_A_SOCKET_ID, o.socket));
	put_ok(jvpn_nl_put_remote(msg, (struct sockaddr *)&o.remote));
	ctl_request(msg, on_version, &ver, "adding path %u to session %u "
		    "on %s", o.path, o.session, o.dev);
	print_path_result(&o, &ver);
	return 0;
}

static int path_del(int argc, char **argv)
{
	struct path_opts o;

	parse_path_opts(argc, argv, &o, PATH_KW_PATH);
	args_require(o.path, "path");
	ctl_request(path_msg(JVPN_CMD_PATH_DEL, 0, &o), NULL, NULL,
		    "removing path %u from session %u on %s", o.path,
		    o.session, o.dev);
	return 0;
}

static int on_path(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	(void)arg;
	print_paths_of(tb);
	return 0;
}

static int path_show(int argc, char **argv)
{
	struct path_opts o;
	struct nl_msg *msg;

	parse_path_opts(argc, argv, &o, PATH_KW_PATH);
	if (o.path) {
		ctl_request(path_msg(JVPN_CMD_PATH_GET, 0, &o), on_path, NULL,
			    "showing path %u of session %u on %s", o.path,
			    o.session, o.dev);
		return 0;
	}
	/*
	 * The kernel answers a PATH_GET without PATH_ID with all paths in
	 * one JVPN_A_PATHS nest (it has no PATH_GET dumpit, although
	 * jvpn.h mentions one); print_paths_of() takes either shape.
	 */
	msg = path_msg(JVPN_CMD_PATH_GET, 0, &o);
	out_list_begin(NULL);
	ctl_request(msg, on_path, NULL, "listing paths of session %u on %s",
		    o.session, o.dev);
	out_list_end();
	return 0;
}

/*
 * Without expect-version the current version is read first: that only
 * says "switch now, whatever else happened"; the kernel still refuses if
 * the session changes between the two requests.
 */
static int path_activate(int argc, char **argv)
{
	struct path_opts o;
	struct version ver = { 0 };
	struct nl_msg *msg;

	parse_path_opts(argc, argv, &o, PATH_KW_PATH | PATH_KW_VERSION);
	args_require(o.path, "path");
	if (!o.have_version)
		o.expect_version = read_version(&o);
	msg = path_msg(JVPN_CMD_PATH_ACTIVATE, 0, &o);
	put_ok(nla_put_u64(msg, JVPN_A_EXPECTED_VERSION, o.expect_version));
	ctl_request(msg, on_version, &ver, "activating path %u of session %u "
		    "on %s", o.path, o.session, o.dev);
	/* jvpn.h does not promise a reply; fall back to reading it. */
	if (!ver.have) {
		ver.v = read_version(&o);
		ver.have = true;
	}
	if (out_json())
		print_path_result(&o, &ver);
	else
		printf("%" PRIu64 "\n", ver.v);
	return 0;
}

const struct command path_commands[] = {
	{ "add", path_add, "DEV session ID path PID socket SID "
			   "remote ADDR:PORT" },
	{ "del", path_del, "DEV session ID path PID" },
	{ "show", path_show, "DEV session ID [path PID]" },
	{ "activate", path_activate, "DEV session ID path PID "
				     "[expect-version V]" },
	{ NULL, NULL, NULL },
};
