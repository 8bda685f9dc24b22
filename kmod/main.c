// SPDX-License-Identifier: GPL-2.0-only
/*
 * jvpn: session-continuity VPN data plane.
 */

#include <linux/module.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "netlink.h"
#include <net/genetlink.h>
#include <uapi/linux/jvpn.h>

static int __init jvpn_init(void)
{
	int ret;

	ret = jvpn_netlink_init();
	if (ret)
		return ret;
	ret = jvpn_device_init();
	if (ret)
		jvpn_netlink_uninit();
	return ret;
}

static void __exit jvpn_exit(void)
{
	jvpn_device_uninit();
	jvpn_netlink_uninit();
	/* Pending call_rcu() callbacks point into this module. */
	rcu_barrier();
}

module_init(jvpn_init);
module_exit(jvpn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("jvpn session-continuity VPN");
MODULE_ALIAS_RTNL_LINK("jvpn");
MODULE_ALIAS_GENL_FAMILY(JVPN_FAMILY_NAME);
