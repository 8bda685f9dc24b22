// SPDX-License-Identifier: MIT
/*
 * jvpnctl monitor [DEV]: one line per kernel event until interrupted.
 *
 * Every event carries a device-wide sequence number that grows by one per
 * emitted event, so a gap means events were lost (socket overflow).  The
 * starting point is each device's JVPN_A_EVENT_SEQ, read right after
 * subscribing, so that losses are caught from the first event on.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jvpnctl.h"

/* Last sequence number seen per device. */
struct seq_entry {
	uint32_t ifindex;
	uint64_t last;
};

struct monitor {
	uint32_t ifindex;		/* only this device; 0 for all */
	struct seq_entry *seen;
	size_t n, cap;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct seq_entry *find_seq(struct monitor *m, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->seen[i].ifindex == ifindex)
			return &m->seen[i];
	return NULL;
}

static void add_seq(struct monitor *m, uint32_t ifindex, uint64_t seq)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		struct seq_entry *s = realloc(m->seen, cap * sizeof(*s));

		if (!s)
			fail(-ENOMEM, "monitor");
		m->seen = s;
		m->cap = cap;
	}
	m->seen[m->n].ifindex = ifindex;
	m->seen[m->n].last = seq;
	m->n++;
}

static void check_seq(struct monitor *m, uint32_t ifindex, uint64_t seq)
{
	struct seq_entry *e = find_seq(m, ifindex);
	char name[IF_NAMESIZE];

	if (!e) {
		/* A device created after we started: nothing to compare. */
		add_seq(m, ifindex, seq);
		return;
	}
	if (seq > e->last + 1) {
		if (!if_indextoname(ifindex, name))
			snprintf(name, sizeof(name), "%u", ifindex);
		warn_msg("monitor: %s: lost %" PRIu64 " event(s), seq %"
			 PRIu64 "..%" PRIu64, name, seq - e->last - 1,
			 e->last + 1, seq - 1);
	}
	/* Events emitted before the baseline was read may still arrive. */
	if (seq > e->last)
		e->last = seq;
}

static int on_baseline(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct monitor *m = arg;

	(void)cmd;
	if (tb[JVPN_A_IFINDEX] && tb[JVPN_A_EVENT_SEQ])
		add_seq(m, nla_get_u32(tb[JVPN_A_IFINDEX]),
			nla_get_u64(tb[JVPN_A_EVENT_SEQ]));
	return 0;
}

static void read_baselines(struct monitor *m, const char *dev)
{
	if (dev)
		ctl_request(ctl_dev_msg(JVPN_CMD_DEV_GET, 0, dev), on_baseline,
			    m, "reading %s", dev);
	else
		ctl_request(ctl_msg(JVPN_CMD_DEV_GET, NLM_F_DUMP), on_baseline,
			    m, "listing jvpn devices");
}

static void print_event(struct nlattr **tb, uint32_t ifindex)
{
	char name[IF_NAMESIZE];

	out_obj_begin(NULL);
	out_str("event", tb[JVPN_A_EVENT_TYPE] ?
		event_name(nla_get_u32(tb[JVPN_A_EVENT_TYPE])) : "unknown");
	if (if_indextoname(ifindex, name))
		out_str("ifname", name);
	out_u64("ifindex", ifindex);
	if (tb[JVPN_A_EVENT_SEQ])
		out_u64("seq", nla_get_u64(tb[JVPN_A_EVENT_SEQ]));
	if (tb[JVPN_A_SESSION_ID])
		out_u64("session_id", nla_get_u32(tb[JVPN_A_SESSION_ID]));
	if (tb[JVPN_A_PATH_ID])
		out_u64("path_id", nla_get_u32(tb[JVPN_A_PATH_ID]));
	print_remote("remote", tb);
	out_obj_end();
}

static int on_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	struct monitor *m = arg;
	uint32_t ifindex;

	if (cmd != JVPN_CMD_EVENT || !tb[JVPN_A_IFINDEX])
		return 0;
	ifindex = nla_get_u32(tb[JVPN_A_IFINDEX]);
	if (m->ifindex && ifindex != m->ifindex)
		return 0;
	if (tb[JVPN_A_EVENT_SEQ])
		check_seq(m, ifindex, nla_get_u64(tb[JVPN_A_EVENT_SEQ]));
	print_event(tb, ifindex);
	return 0;
}

static void catch_signals(void)
{
	struct sigaction sa;

	/* No SA_RESTART: poll() must return so the loop can end cleanly. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static struct jvpn_nl *subscribe(void)
{
	struct jvpn_nl *ev;
	int err;

	ctl_nl();	/* reports a missing module the usual way */
	err = jvpn_nl_open_events(&ev);
	if (err == -ESRCH)
		fail(err, "the jvpn family has no \"%s\" multicast group",
		     JVPN_MCGRP_EVENTS);
	if (err)
		fail(err, "subscribing to jvpn events");
	return ev;
}

static void event_loop(struct jvpn_nl *ev, struct monitor *m)
{
	struct pollfd pfd = { .fd = jvpn_nl_fd(ev), .events = POLLIN };
	int err;

	while (!stop) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(-errno, "waiting for events");
		}
		err = jvpn_nl_events_recv(ev, on_event, m);
		if (err == -ENOBUFS)
			warn_msg("monitor: event socket overflowed, events "
				 "were lost");
		else if (err < 0)
			fail(err, "receiving events");
	}
}

static int monitor_run(int argc, char **argv)
{
	struct monitor m = { 0 };
	struct jvpn_nl *ev;
	struct args a;
	const char *dev;

	args_init(&a, argc, argv);
	dev = args_next(&a);
	args_end(&a);
	if (dev) {
		m.ifindex = if_nametoindex(dev);
		if (!m.ifindex)
			fail(-ENODEV, "%s", dev);
	}
	ev = subscribe();
	read_baselines(&m, dev);
	if (!out_json())
		out_init(OUT_LINE);
	/* Each event must reach a pipe reader as soon as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_signals();
	event_loop(ev, &m);
	jvpn_nl_close(ev);
	free(m.seen);
	return 0;
}

const struct command monitor_command = { NULL, monitor_run, "[DEV]" };
