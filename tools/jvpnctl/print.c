// SPDX-License-Identifier: MIT
/*
 * Printers for the kernel's replies: devices, sessions, keys, paths and
 * counters.  Output names are the attribute names of jvpn.h in lower
 * case (counters: enum jvpn_stat without the JVPN_STAT_ prefix), and an
 * attribute the kernel leaves out is left out of the output as well.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/socket.h>

#include "jvpnctl.h"

struct field {
	int type;		/* enum jvpn_attr */
	const char *name;
	int size;		/* bytes: 1, 2, 4 or 8 */
};

static const char *const stat_names[JVPN_STAT_MAX + 1] = {
	[JVPN_STAT_RX_PACKETS]		= "rx_packets",
	[JVPN_STAT_RX_BYTES]		= "rx_bytes",
	[JVPN_STAT_TX_PACKETS]		= "tx_packets",
	[JVPN_STAT_TX_BYTES]		= "tx_bytes",
	[JVPN_STAT_RX_REPLAY]		= "rx_replay",
	[JVPN_STAT_RX_AUTH_FAIL]	= "rx_auth_fail",
	[JVPN_STAT_RX_MALFORMED]	= "rx_malformed",
	[JVPN_STAT_RX_NO_SESSION]	= "rx_no_session",
	[JVPN_STAT_RX_NO_KEY]		= "rx_no_key",
	[JVPN_STAT_RX_UNKNOWN_SOURCE]	= "rx_unknown_source",
	[JVPN_STAT_RX_INNER_MISMATCH]	= "rx_inner_mismatch",
	[JVPN_STAT_TX_NO_SESSION]	= "tx_no_session",
	[JVPN_STAT_TX_NO_PATH]		= "tx_no_path",
	[JVPN_STAT_TX_NO_KEY]		= "tx_no_key",
	[JVPN_STAT_TX_ERRORS]		= "tx_errors",
	[JVPN_STAT_KEEPALIVES_TX]	= "keepalives_tx",
	[JVPN_STAT_KEEPALIVES_RX]	= "keepalives_rx",
	[JVPN_STAT_PATH_SWITCHES]	= "path_switches",
	[JVPN_STAT_EVENTS_SENT]		= "events_sent",
	[JVPN_STAT_EVENTS_DROPPED]	= "events_dropped",
	[JVPN_STAT_LIMIT_REFUSED]	= "limit_refused",
};

static const char *const event_names[JVPN_EVENT_MAX + 1] = {
	[JVPN_EVENT_PATH_SILENT]	= "path_silent",
	[JVPN_EVENT_UNKNOWN_SOURCE]	= "unknown_source",
	[JVPN_EVENT_KEY_LIMIT]		= "key_limit",
	[JVPN_EVENT_SESSION_REMOVED]	= "session_removed",
	[JVPN_EVENT_PATH_ALIVE]		= "path_alive",
	[JVPN_EVENT_SECONDARY_KEY_USED]	= "secondary_key_used",
};

static const struct field dev_fields[] = {
	{ JVPN_A_IFINDEX,	"ifindex",	4 },
	{ JVPN_A_MAX_SESSIONS,	"max_sessions",	4 },
	{ JVPN_A_N_SESSIONS,	"n_sessions",	4 },
	{ JVPN_A_MAX_PATHS,	"max_paths",	4 },
	{ JVPN_A_SILENT_MS,	"silent_ms",	4 },
	{ JVPN_A_KEEPALIVE_MS,	"keepalive_ms",	4 },
	{ JVPN_A_EVENT_RATE,	"event_rate",	4 },
	{ JVPN_A_EVENT_SEQ,	"event_seq",	8 },
};

static const struct field session_fields[] = {
	{ JVPN_A_SESSION_ID,	 "session_id",		4 },
	{ JVPN_A_PEER_ID,	 "peer_id",		4 },
	{ JVPN_A_STATE_VERSION,	 "state_version",	8 },
	{ JVPN_A_ACTIVE_PATH_ID, "active_path_id",	4 },
	{ JVPN_A_TX_COUNTER,	 "tx_counter",		8 },
	{ JVPN_A_RX_COUNTER,	 "rx_counter",		8 },
	{ JVPN_A_LAST_RX_MS,	 "last_rx_ms",		4 },
	{ JVPN_A_LAST_TX_MS,	 "last_tx_ms",		4 },
};

/* A path prints ids, remote and active flag, then these. */
static const struct field path_id_fields[] = {
	{ JVPN_A_PATH_ID,	"path_id",	4 },
	{ JVPN_A_SOCKET_ID,	"socket_id",	4 },
};

static const struct field path_time_fields[] = {
	{ JVPN_A_LAST_RX_MS,	"last_rx_ms",	4 },
	{ JVPN_A_LAST_TX_MS,	"last_tx_ms",	4 },
};

static uint64_t get_uint(const struct nlattr *a, int size)
{
	switch (size) {
	case 1:
		return nla_get_u8(a);
	case 2:
		return nla_get_u16(a);
	case 4:
		return nla_get_u32(a);
	default:
		return nla_get_u64(a);
	}
}

static void print_fields(struct nlattr **tb, const struct field *f, size_t n)
{
	for (; n; n--, f++)
		if (tb[f->type])
			out_u64(f->name, get_uint(tb[f->type], f->size));
}

const char *event_name(uint32_t type)
{
	if (type <= JVPN_EVENT_MAX && event_names[type])
		return event_names[type];
	return "unknown";
}

const char *family_name(int family)
{
	return family == AF_INET ? "inet" : family == AF_INET6 ? "inet6" :
	       "unknown";
}

static void print_stats(struct nlattr *nest)
{
	struct nlattr *tb[JVPN_STAT_MAX + 1];
	int i;

	if (!nest)
		return;
	if (jvpn_nl_parse_stats(nest, tb))
		fail(-EPROTO, "malformed counters in the kernel's reply");
	out_obj_begin("stats");
	for (i = 1; i <= JVPN_STAT_MAX; i++)
		if (tb[i] && stat_names[i])
			out_u64(stat_names[i], nla_get_u64(tb[i]));
	out_obj_end();
}

void print_remote(const char *key, struct nlattr **tb)
{
	struct sockaddr_storage ss;
	char buf[JVPN_ENDPOINT_STRLEN];
	int err = jvpn_nl_get_remote(tb, &ss);

	if (err == -ENOENT)
		return;
	if (err || jvpn_format_endpoint((struct sockaddr *)&ss, buf,
					sizeof(buf)))
		fail(-EPROTO, "malformed remote address in the kernel's reply");
	out_str(key, buf);
}

static void print_ifname(struct nlattr **tb)
{
	char name[IF_NAMESIZE];

	if (tb[JVPN_A_IFNAME])
		out_str("ifname", nla_get_string(tb[JVPN_A_IFNAME]));
	else if (tb[JVPN_A_IFINDEX] &&
		 if_indextoname(nla_get_u32(tb[JVPN_A_IFINDEX]), name))
		out_str("ifname", name);
}

/* JVPN_A_SOCKETS: each JVPN_A_SOCKET nest holds top-level attributes. */
static void print_sockets(struct nlattr *nest)
{
	struct nlattr *stb[JVPN_A_MAX + 1];
	struct nlattr *a;
	int rem;

	if (!nest)
		return;
	out_list_begin("sockets");
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != JVPN_A_SOCKET)
			continue;
		if (jvpn_nl_parse_path(a, stb))
			fail(-EPROTO, "malformed socket in the kernel's reply");
		out_obj_begin(NULL);
		if (stb[JVPN_A_SOCKET_ID])
			out_u64("socket_id", nla_get_u32(stb[JVPN_A_SOCKET_ID]));
		if (stb[JVPN_A_SOCKET_FAMILY])
			out_str("family",
				nla_get_u16(stb[JVPN_A_SOCKET_FAMILY]) == AF_INET6 ?
				"inet6" : "inet");
		if (stb[JVPN_A_SOCKET_PORT])
			out_u64("port", nla_get_u16(stb[JVPN_A_SOCKET_PORT]));
		out_obj_end();
	}
	out_list_end();
}

void print_dev(struct nlattr **tb)
{
	out_obj_begin(NULL);
	print_ifname(tb);
	print_fields(tb, dev_fields, ARRAY_SIZE(dev_fields));
	print_sockets(tb[JVPN_A_SOCKETS]);
	print_stats(tb[JVPN_A_STATS]);
	out_obj_end();
}

static void print_inner(struct nlattr *nest)
{
	struct jvpn_prefix p;
	char buf[JVPN_PREFIX_STRLEN];
	struct nlattr *a;
	int rem;

	if (!nest)
		return;
	out_list_begin("inner");
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != JVPN_A_INNER_ADDR)
			continue;
		if (jvpn_nl_get_prefix(a, &p) ||
		    jvpn_format_prefix(&p, buf, sizeof(buf)))
			fail(-EPROTO, "malformed inner address in the "
			     "kernel's reply");
		out_str(NULL, buf);
	}
	out_list_end();
}

static void print_key(struct nlattr *nest)
{
	struct nlattr *tb[JVPN_A_KEY_MAX + 1];
	char slot[12];

	if (jvpn_nl_parse_key(nest, tb))
		fail(-EPROTO, "malformed key information in the kernel's reply");
	out_obj_begin(NULL);
	if (tb[JVPN_A_KEY_INFO_SLOT]) {
		uint8_t s = nla_get_u8(tb[JVPN_A_KEY_INFO_SLOT]);

		snprintf(slot, sizeof(slot), "%u", s);
		out_str("slot", s == JVPN_KEY_SLOT_PRIMARY ? "primary" :
			s == JVPN_KEY_SLOT_SECONDARY ? "secondary" : slot);
	}
	if (tb[JVPN_A_KEY_INFO_ID])
		out_u64("key_id", nla_get_u8(tb[JVPN_A_KEY_INFO_ID]));
	if (tb[JVPN_A_KEY_INFO_AGE_MS])
		out_u64("age_ms", nla_get_u32(tb[JVPN_A_KEY_INFO_AGE_MS]));
	if (tb[JVPN_A_KEY_INFO_TX_PACKETS])
		out_u64("tx_packets",
			nla_get_u64(tb[JVPN_A_KEY_INFO_TX_PACKETS]));
	if (tb[JVPN_A_KEY_INFO_RX_PACKETS])
		out_u64("rx_packets",
			nla_get_u64(tb[JVPN_A_KEY_INFO_RX_PACKETS]));
	out_obj_end();
}

static void print_keys(struct nlattr *nest)
{
	struct nlattr *a;
	int rem;

	if (!nest)
		return;
	out_list_begin("keys");
	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) == JVPN_A_KEY)
			print_key(a);
	out_list_end();
}

void print_path(struct nlattr **tb)
{
	out_obj_begin(NULL);
	print_fields(tb, path_id_fields, ARRAY_SIZE(path_id_fields));
	print_remote("remote", tb);
	if (tb[JVPN_A_PATH_ACTIVE])
		out_bool("active", nla_get_u8(tb[JVPN_A_PATH_ACTIVE]));
	print_fields(tb, path_time_fields, ARRAY_SIZE(path_time_fields));
	print_stats(tb[JVPN_A_STATS]);
	out_obj_end();
}

/* Each JVPN_A_PATH entry of a JVPN_A_PATHS nest. */
static void print_path_nest(struct nlattr *paths)
{
	struct nlattr *ptb[JVPN_A_MAX + 1];
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, paths, rem) {
		if (nla_type(a) != JVPN_A_PATH)
			continue;
		if (jvpn_nl_parse_path(a, ptb))
			fail(-EPROTO, "malformed path in the kernel's reply");
		print_path(ptb);
	}
}

void print_paths_of(struct nlattr **tb)
{
	if (tb[JVPN_A_PATHS])
		print_path_nest(tb[JVPN_A_PATHS]);
	else
		print_path(tb);
}

void print_session(struct nlattr **tb)
{
	out_obj_begin(NULL);
	print_fields(tb, session_fields, ARRAY_SIZE(session_fields));
	print_inner(tb[JVPN_A_INNER]);
	print_keys(tb[JVPN_A_KEYS]);
	if (tb[JVPN_A_PATHS]) {
		out_list_begin("paths");
		print_path_nest(tb[JVPN_A_PATHS]);
		out_list_end();
	}
	print_stats(tb[JVPN_A_STATS]);
	out_obj_end();
}
