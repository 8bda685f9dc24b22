/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Generic netlink family "jvpn": the only way to program a jvpn device.
 */
#ifndef _JVPN_NETLINK_H
#define _JVPN_NETLINK_H

#include <net/genetlink.h>

extern struct genl_family jvpn_genl_family;

/* Index of "events" in the family's multicast groups. */
#define JVPN_MCGRP_EVENTS_ID	0

int jvpn_netlink_init(void);
void jvpn_netlink_uninit(void);

#endif /* _JVPN_NETLINK_H */
