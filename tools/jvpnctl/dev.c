// SPDX-License-Identifier: MIT
/*
 * jvpnctl dev show|set: device limits, timers and counters.
 */
#include <string.h>

#include "jvpnctl.h"

/* Keywords of "dev set", each one u32 attribute. */
static const struct {
	const char *kw;
	int attr;
} dev_settings[] = {
	{ "max-sessions",	JVPN_A_MAX_SESSIONS },
	{ "max-paths",		JVPN_A_MAX_PATHS },
	{ "silent-ms",		JVPN_A_SILENT_MS },
	{ "keepalive-ms",	JVPN_A_KEEPALIVE_MS },
	{ "event-rate",		JVPN_A_EVENT_RATE },
};

static int on_dev(uint8_t cmd, struct nlattr **tb, void *arg)
{
	(void)cmd;
	(void)arg;
	print_dev(tb);
	return 0;
}

static int dev_show(int argc, char **argv)
{
	struct nl_msg *msg;
	struct args a;
	const char *dev;

	args_init(&a, argc, argv);
	dev = args_next(&a);
	args_end(&a);
	if (dev) {
		ctl_request(ctl_dev_msg(JVPN_CMD_DEV_GET, 0, dev), on_dev, NULL,
			    "showing %s", dev);
		return 0;
	}
	msg = ctl_msg(JVPN_CMD_DEV_GET, NLM_F_DUMP);
	out_list_begin(NULL);
	ctl_request(msg, on_dev, NULL, "listing jvpn devices");
	out_list_end();
	return 0;
}

#define N_SETTINGS ARRAY_SIZE(dev_settings)

static size_t find_setting(const char *kw)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++)
		if (!strcmp(dev_settings[i].kw, kw))
			return i;
	args_unknown(kw);
}

static int dev_set(int argc, char **argv)
{
	uint32_t value[N_SETTINGS];
	bool given[N_SETTINGS] = { false };
	struct nl_msg *msg;
	struct args a;
	const char *dev, *kw;
	size_t i, n = 0;

	/* Parse everything first: usage errors win over netlink errors. */
	args_init(&a, argc, argv);
	dev = args_dev(&a);
	while ((kw = args_next(&a))) {
		i = find_setting(kw);
		value[i] = args_u32(&a, kw);
		n += !given[i];
		given[i] = true;
	}
	if (!n)
		usage_error("nothing to set");
	msg = ctl_dev_msg(JVPN_CMD_DEV_SET, 0, dev);
	for (i = 0; i < N_SETTINGS; i++)
		if (given[i])
			put_ok(nla_put_u32(msg, dev_settings[i].attr, value[i]));
	ctl_request(msg, NULL, NULL, "changing %s", dev);
	return 0;
}

const struct command dev_commands[] = {
	{ "show", dev_show, "[DEV]" },
	{ "set", dev_set, "DEV [max-sessions N] [max-paths N] [silent-ms N] "
			  "[keepalive-ms N] [event-rate N]" },
	{ NULL, NULL, NULL },
};
