// SPDX-License-Identifier: MIT
/*
 * jvpnctl session add|set|del|show.
 */
#include <string.h>

#include "jvpnctl.h"

struct session_opts {
	const char *dev;
	uint32_t id, peer_id;
	bool have_id, have_peer, have_inner, have_version;
	uint64_t expect_version;
	struct jvpn_prefix inner[JVPN_MAX_INNER_PER_SESSION];
	size_t n_inner;
	bool inner_none;	/* "inner none": set an empty list */
};

/* What the kernel may send back for add/set. */
struct session_reply {
	bool have_version;
	uint64_t version;
};

static void parse_inner(struct session_opts *o, const char *v)
{
	o->have_inner = true;
	if (!strcmp(v, "none")) {
		o->inner_none = true;
	} else if (o->n_inner == JVPN_MAX_INNER_PER_SESSION) {
		usage_error("too many inner prefixes (at most %d)",
			    JVPN_MAX_INNER_PER_SESSION);
	} else if (jvpn_parse_prefix(v, &o->inner[o->n_inner++])) {
		usage_error("invalid value '%s' for 'inner' (ADDR[/LEN], "
			    "host bits clear)", v);
	}
	if (o->inner_none && o->n_inner)
		usage_error("'inner none' cannot be combined with prefixes");
}

/* Keywords shared by add and set; expect-version only if allowed. */
static void parse_session_opts(int argc, char **argv, struct session_opts *o,
			       bool allow_version)
{
	struct args a;
	const char *kw;

	memset(o, 0, sizeof(*o));
	args_init(&a, argc, argv);
	o->dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		if (!strcmp(kw, "id")) {
			o->id = args_id(&a, kw);
			o->have_id = true;
		} else if (!strcmp(kw, "peer-id")) {
			o->peer_id = args_id(&a, kw);
			o->have_peer = true;
		} else if (!strcmp(kw, "inner")) {
			parse_inner(o, args_value(&a, kw));
		} else if (allow_version && !strcmp(kw, "expect-version")) {
			o->expect_version = args_u64(&a, kw);
			o->have_version = true;
		} else {
			args_unknown(kw);
		}
	}
	args_require(o->have_id, "id");
}

static struct nl_msg *session_msg(uint8_t cmd, const struct session_opts *o)
{
	struct nl_msg *msg = ctl_dev_msg(cmd, 0, o->dev);

	put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, o->id));
	if (o->have_peer)
		put_ok(nla_put_u32(msg, JVPN_A_PEER_ID, o->peer_id));
	if (o->have_inner)
		put_ok(jvpn_nl_put_inner(msg, o->inner, o->n_inner));
	if (o->have_version)
		put_ok(nla_put_u64(msg, JVPN_A_EXPECTED_VERSION,
				   o->expect_version));
	return msg;
}

static int on_session_reply(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct session_reply *r = arg;

	(void)cmd;
	if (tb[JVPN_A_STATE_VERSION]) {
		r->version = nla_get_u64(tb[JVPN_A_STATE_VERSION]);
		r->have_version = true;
	}
	return 0;
}

/* JSON only: text mode stays silent on success, like ip(8). */
static void print_session_result(uint32_t id, const struct session_reply *r)
{
	if (!out_json())
		return;
	out_obj_begin(NULL);
	out_u64("session_id", id);
	if (r->have_version)
		out_u64("state_version", r->version);
	out_obj_end();
}

static int session_add(int argc, char **argv)
{
	struct session_opts o;
	struct session_reply r = { 0 };

	parse_session_opts(argc, argv, &o, false);
	args_require(o.have_peer, "peer-id");
	ctl_request(session_msg(JVPN_CMD_SESSION_NEW, &o), on_session_reply,
		    &r, "adding session %u to %s", o.id, o.dev);
	print_session_result(o.id, &r);
	return 0;
}

static int session_set(int argc, char **argv)
{
	struct session_opts o;
	struct session_reply r = { 0 };

	parse_session_opts(argc, argv, &o, true);
	if (!o.have_peer && !o.have_inner)
		usage_error("nothing to set");
	ctl_request(session_msg(JVPN_CMD_SESSION_SET, &o), on_session_reply,
		    &r, "changing session %u on %s", o.id, o.dev);
	print_session_result(o.id, &r);
	return 0;
}

static int session_del(int argc, char **argv)
{
	struct nl_msg *msg;
	struct args a;
	const char *dev, *kw;
	uint32_t id = 0;

	args_init(&a, argc, argv);
	dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		if (strcmp(kw, "id"))
			args_unknown(kw);
		id = args_id(&a, kw);
	}
	args_require(id, "id");
	msg = ctl_dev_msg(JVPN_CMD_SESSION_DEL, 0, dev);
	put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, id));
	ctl_request(msg, NULL, NULL, "removing session %u from %s", id, dev);
	return 0;
}

static int on_session(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	(void)arg;
	print_session(tb);
	return 0;
}

static int session_show(int argc, char **argv)
{
	struct nl_msg *msg;
	struct args a;
	const char *dev, *kw;
	uint32_t id = 0;

	args_init(&a, argc, argv);
	dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		if (strcmp(kw, "id"))
			args_unknown(kw);
		id = args_id(&a, kw);
	}
	if (id) {
		msg = ctl_dev_msg(JVPN_CMD_SESSION_GET, 0, dev);
		put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, id));
		ctl_request(msg, on_session, NULL, "showing session %u on %s",
			    id, dev);
		return 0;
	}
	msg = ctl_dev_msg(JVPN_CMD_SESSION_GET, NLM_F_DUMP, dev);
	out_list_begin(NULL);
	ctl_request(msg, on_session, NULL, "listing sessions of %s", dev);
	out_list_end();
	return 0;
}

const struct command session_commands[] = {
	{ "add", session_add, "DEV id ID peer-id PID [inner PREFIX]..." },
	{ "set", session_set, "DEV id ID [peer-id PID] [inner PREFIX|none]... "
			      "[expect-version V]" },
	{ "del", session_del, "DEV id ID" },
	{ "show", session_show, "DEV [id ID]" },
	{ NULL, NULL, NULL },
};
