// SPDX-License-Identifier: MIT
/*
 * jvpnctl key add|swap|del: the two key slots of a session.
 *
 * Key material given on the command line is visible to other local users
 * (ps, /proc/PID/cmdline): operators should use @FILE.  Keys are wiped
 * from this process as soon as they are in the request, and the request
 * is wiped by jvpn_nl_request().
 */
#include <errno.h>
#include <string.h>

#include "jvpnctl.h"

struct key_opts {
	const char *dev;
	uint32_t session;
	int slot;			/* -1 if not given */
	bool have_key_id, have_enc, have_dec;
	uint8_t key_id;
	uint8_t enc[JVPN_KEY_LEN];
	uint8_t dec[JVPN_KEY_LEN];
};

static int parse_slot(const char *v)
{
	if (!strcmp(v, "primary"))
		return JVPN_KEY_SLOT_PRIMARY;
	if (!strcmp(v, "secondary"))
		return JVPN_KEY_SLOT_SECONDARY;
	usage_error("invalid value '%s' for 'slot' (primary or secondary)", v);
}

static const char *slot_name(int slot)
{
	return slot == JVPN_KEY_SLOT_PRIMARY ? "primary" : "secondary";
}

static void parse_key_arg(struct args *a, const char *kw,
			  uint8_t key[JVPN_KEY_LEN])
{
	const char *v = args_value(a, kw);
	int err = jvpn_parse_key(v, key);

	if (err == -EINVAL)
		usage_error("invalid key for '%s' (64 hex digits, 44 base64 "
			    "characters or @FILE)", kw);
	if (err)
		fail(err, "reading key file '%s'", v + 1);
}

/* Parses "DEV session ID [slot S] [key-id N] [encrypt K] [decrypt K]". */
static void parse_key_opts(int argc, char **argv, struct key_opts *o,
			   bool allow_keys)
{
	struct args a;
	const char *kw;

	memset(o, 0, sizeof(*o));
	o->slot = -1;
	args_init(&a, argc, argv);
	o->dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		if (!strcmp(kw, "session")) {
			o->session = args_id(&a, kw);
		} else if (!strcmp(kw, "slot")) {
			o->slot = parse_slot(args_value(&a, kw));
		} else if (allow_keys && !strcmp(kw, "key-id")) {
			o->key_id = args_u8(&a, kw);
			o->have_key_id = true;
		} else if (allow_keys && !strcmp(kw, "encrypt")) {
			parse_key_arg(&a, kw, o->enc);
			o->have_enc = true;
		} else if (allow_keys && !strcmp(kw, "decrypt")) {
			parse_key_arg(&a, kw, o->dec);
			o->have_dec = true;
		} else {
			args_unknown(kw);
		}
	}
	args_require(o->session, "session");
}

static struct nl_msg *key_msg(uint8_t cmd, const struct key_opts *o)
{
	struct nl_msg *msg = ctl_dev_msg(cmd, 0, o->dev);

	put_ok(nla_put_u32(msg, JVPN_A_SESSION_ID, o->session));
	if (o->slot >= 0)
		put_ok(nla_put_u8(msg, JVPN_A_KEY_SLOT, o->slot));
	return msg;
}

static int key_add(int argc, char **argv)
{
	struct key_opts o;
	struct nl_msg *msg;

	parse_key_opts(argc, argv, &o, true);
	args_require(o.slot >= 0, "slot");
	args_require(o.have_key_id, "key-id");
	args_require(o.have_enc, "encrypt");
	args_require(o.have_dec, "decrypt");
	msg = key_msg(JVPN_CMD_KEY_NEW, &o);
	put_ok(nla_put_u8(msg, JVPN_A_KEY_ID, o.key_id));
	put_ok(nla_put(msg, JVPN_A_KEY_ENCRYPT, JVPN_KEY_LEN, o.enc));
	put_ok(nla_put(msg, JVPN_A_KEY_DECRYPT, JVPN_KEY_LEN, o.dec));
	explicit_bzero(o.enc, sizeof(o.enc));
	explicit_bzero(o.dec, sizeof(o.dec));
	ctl_request(msg, NULL, NULL, "installing the %s key of session %u "
		    "on %s", slot_name(o.slot), o.session, o.dev);
	if (out_json()) {
		out_obj_begin(NULL);
		out_u64("session_id", o.session);
		out_str("slot", slot_name(o.slot));
		out_u64("key_id", o.key_id);
		out_obj_end();
	}
	return 0;
}

static int key_swap(int argc, char **argv)
{
	struct key_opts o;

	parse_key_opts(argc, argv, &o, false);
	if (o.slot >= 0)
		args_unknown("slot");
	ctl_request(key_msg(JVPN_CMD_KEY_SWAP, &o), NULL, NULL,
		    "swapping the keys of session %u on %s", o.session, o.dev);
	return 0;
}

static int key_del(int argc, char **argv)
{
	struct key_opts o;

	parse_key_opts(argc, argv, &o, false);
	args_require(o.slot >= 0, "slot");
	ctl_request(key_msg(JVPN_CMD_KEY_DEL, &o), NULL, NULL,
		    "clearing the %s key of session %u on %s",
		    slot_name(o.slot), o.session, o.dev);
	return 0;
}

const struct command key_commands[] = {
	{ "add", key_add, "DEV session ID slot primary|secondary key-id N "
			  "encrypt KEY decrypt KEY" },
	{ "swap", key_swap, "DEV session ID" },
	{ "del", key_del, "DEV session ID slot primary|secondary" },
	{ NULL, NULL, NULL },
};
