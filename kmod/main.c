// SPDX-License-Identifier: GPL-2.0-only
/*
 * jvpn: session-continuity VPN data plane.
 */

#include <linux/module.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "netlink.h"
#include "path.h"
#include "session.h"
#include <net/genetlink.h>
#include <uapi/linux/jvpn.h>

static int __init jvpn_init(void)
{
	int ret;

	ret = jvpn_session_cache_init();
	if (ret)
		return ret;
	ret = jvpn_path_cache_init();
	if (ret)
		goto err_session_cache;
	ret = jvpn_netlink_init();
	if (ret)
		goto err_path_cache;
	ret = jvpn_device_init();
	if (ret)
		goto err_netlink;
	return 0;

err_netlink:
	jvpn_netlink_uninit();
err_path_cache:
	jvpn_path_cache_destroy();
err_session_cache:
	jvpn_session_cache_destroy();
	return ret;
}

static void __exit jvpn_exit(void)
{
	jvpn_device_uninit();
	jvpn_netlink_uninit();
	/* Pending call_rcu() and kfree_rcu() callbacks point into this
	 * module and free into its caches.
	 */
	rcu_barrier();
	jvpn_path_cache_destroy();
	jvpn_session_cache_destroy();
}

module_init(jvpn_init);
module_exit(jvpn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("jvpn session-continuity VPN");
MODULE_ALIAS_RTNL_LINK("jvpn");
MODULE_ALIAS_GENL_FAMILY(JVPN_FAMILY_NAME);
