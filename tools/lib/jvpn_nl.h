/* SPDX-License-Identifier: MIT */
/*
 * Small libnl-genl-3 client for the "jvpn" generic netlink family, shared
 * by jvpnctl and jvpnd.
 *
 * A request socket (jvpn_nl_open) sends one request at a time and waits
 * for its reply/ACK or, for a dump, for the end of the dump.  An event
 * socket (jvpn_nl_open_events) is a separate, non-blocking socket joined
 * to the "events" multicast group: keeping events off the request socket
 * means a reply can never be interleaved with, or lost behind, an event.
 *
 * All functions return 0 (or a count) on success and a negative errno on
 * failure.  After a failed request jvpn_nl_errmsg() gives the kernel's
 * extended ACK message (NLMSGERR_ATTR_MSG), or "" if it sent none.
 */
#ifndef JVPN_NL_H
#define JVPN_NL_H

#include <stddef.h>
#include <stdint.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <linux/jvpn.h>

#include "util.h"

/* What to tell a user when jvpn_nl_open*() returns -ENOENT. */
#define JVPN_NL_NOFAMILY_MSG \
	"jvpn generic netlink family not found: is jvpn.ko loaded?"

struct jvpn_nl;

/*
 * Called for every jvpn message received: a reply, each part of a dump,
 * or an event.  tb is indexed by enum jvpn_attr (JVPN_A_MAX + 1 entries)
 * and already validated against the attribute types of jvpn.h; it is
 * only valid during the call.  Return 0 to go on or a negative errno to
 * stop: jvpn_nl_request() then fails with it once the rest of the reply
 * is drained (so the socket stays usable), jvpn_nl_events_recv() returns
 * it at once.
 */
typedef int (*jvpn_nl_msg_fn)(uint8_t cmd, struct nlattr **tb, void *arg);

/* -ENOENT: the jvpn family (module) is missing. */
int jvpn_nl_open(struct jvpn_nl **nlp);
/* As jvpn_nl_open, joined to "events"; -ESRCH if the group is missing. */
int jvpn_nl_open_events(struct jvpn_nl **nlp);
void jvpn_nl_close(struct jvpn_nl *nl);

/* For poll(): readable when events are pending. */
int jvpn_nl_fd(const struct jvpn_nl *nl);

/* Extended ACK message of the last failure, "" if none. */
const char *jvpn_nl_errmsg(const struct jvpn_nl *nl);

/*
 * A new request: genl header for cmd plus JVPN_A_IFINDEX unless ifindex
 * is 0.  flags are extra nlmsg flags such as NLM_F_DUMP.  NULL if out of
 * memory.  Add attributes with libnl's nla_put_*().
 */
struct nl_msg *jvpn_nl_msg(const struct jvpn_nl *nl, uint8_t cmd, int flags,
			   uint32_t ifindex);

/* As jvpn_nl_msg for the device named ifname; NULL with errno ENODEV. */
struct nl_msg *jvpn_nl_dev_msg(const struct jvpn_nl *nl, uint8_t cmd,
			       int flags, const char *ifname);

/*
 * Sends msg (always consumed, and wiped first because it may carry key
 * material), calls fn (may be NULL) for each reply message and waits for
 * the ACK or the end of the dump.  -EINTR if a dump was interrupted by a
 * concurrent change (the results may be inconsistent: retry).
 */
int jvpn_nl_request(struct jvpn_nl *nl, struct nl_msg *msg, jvpn_nl_msg_fn fn,
		    void *arg);

/*
 * Reads every event queued on an event socket, calling fn for each, and
 * returns the number handled once the socket is empty.  -ENOBUFS means
 * the socket overflowed and events were lost: resynchronise state and
 * call again.
 */
int jvpn_nl_events_recv(struct jvpn_nl *nl, jvpn_nl_msg_fn fn, void *arg);

/* ---- building requests ------------------------------------------------ */

/* JVPN_A_INNER holding n prefixes; n == 0 puts an empty nest. */
int jvpn_nl_put_inner(struct nl_msg *msg, const struct jvpn_prefix *p,
		      size_t n);
/* JVPN_A_PATH_REMOTE_IP and JVPN_A_PATH_REMOTE_PORT from sa. */
int jvpn_nl_put_remote(struct nl_msg *msg, const struct sockaddr *sa);

/* ---- reading replies --------------------------------------------------- */

/* Fills ss from JVPN_A_PATH_REMOTE_IP/PORT; -ENOENT if absent. */
int jvpn_nl_get_remote(struct nlattr **tb, struct sockaddr_storage *ss);
/* One JVPN_A_INNER_ADDR nest into p. */
int jvpn_nl_get_prefix(struct nlattr *addr_nest, struct jvpn_prefix *p);

/* Validate and index a nest.  tb must have room for maxtype + 1. */
int jvpn_nl_parse_stats(struct nlattr *nest,
			struct nlattr *tb[JVPN_STAT_MAX + 1]);
int jvpn_nl_parse_key(struct nlattr *nest, struct nlattr *tb[JVPN_A_KEY_MAX + 1]);
/* A JVPN_A_PATH entry: its members are in the enum jvpn_attr space. */
int jvpn_nl_parse_path(struct nlattr *nest, struct nlattr *tb[JVPN_A_MAX + 1]);

#endif /* JVPN_NL_H */
