// SPDX-License-Identifier: GPL-2.0-only
/*
 * The jvpn netdev: a layer-3, point-to-multipoint device without ARP whose
 * transmit encrypts towards sessions.  Created with
 * "ip link add jvpn0 type jvpn"; configured over generic netlink.
 */

#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "session.h"
#include "socket.h"
#include "event.h"
#include "data.h"

#define JVPN_DEFAULT_MTU	1420

static int jvpn_dev_init(struct net_device *dev)
{
	struct jvpn_dev *jd = netdev_priv(dev);
	int ret;

	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	ret = gro_cells_init(&jd->gro_cells, dev);
	if (ret)
		goto err_stats;
	ret = jvpn_sessions_init(jd);
	if (ret)
		goto err_gro;
	return 0;

err_gro:
	gro_cells_destroy(&jd->gro_cells);
err_stats:
	free_percpu(dev->tstats);
	return ret;
}

/* Runs once the device is unregistered: transmit has stopped.  Receive is
 * stopped by unhooking the sockets; then nothing can reach the sessions.
 */
static void jvpn_dev_uninit(struct net_device *dev)
{
	struct jvpn_dev *jd = netdev_priv(dev);

	mutex_lock(&jd->lock);
	WRITE_ONCE(jd->dead, true);
	jvpn_sock_unhook_all(jd);
	jvpn_sessions_destroy(jd);
	jvpn_sock_release_all(jd);
	mutex_unlock(&jd->lock);
	gro_cells_destroy(&jd->gro_cells);
	free_percpu(dev->tstats);
}

static const struct net_device_ops jvpn_netdev_ops = {
	.ndo_init = jvpn_dev_init,
	.ndo_uninit = jvpn_dev_uninit,
	.ndo_start_xmit = jvpn_xmit,
	.ndo_get_stats64 = dev_get_tstats64,
};

bool jvpn_is_jvpn_dev(const struct net_device *dev)
{
	return dev->netdev_ops == &jvpn_netdev_ops;
}

static void jvpn_setup(struct net_device *dev)
{
	struct jvpn_dev *jd = netdev_priv(dev);

	dev->netdev_ops = &jvpn_netdev_ops;
	dev->header_ops = NULL;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = JVPN_HEADROOM;
	dev->needed_tailroom = JVPN_AEAD_TAG_LEN;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->features |= NETIF_F_LLTX;
	dev->mtu = JVPN_DEFAULT_MTU;
	dev->min_mtu = 576;
	dev->max_mtu = 65535 - JVPN_OVERHEAD_V6;
	dev->needs_free_netdev = true;

	memset(jd, 0, sizeof(*jd));
	jd->dev = dev;
	mutex_init(&jd->lock);
	jd->max_sessions = JVPN_MAX_SESSIONS_DEFAULT;
	jd->max_paths = JVPN_MAX_PATHS_DEFAULT;
	jd->silent_ms = JVPN_SILENT_MS_DEFAULT;
	jd->keepalive_ms = JVPN_KEEPALIVE_MS_DEFAULT;
	jd->event_rate = JVPN_EVENT_RATE_DEFAULT;
	jvpn_event_init(jd);
}

struct rtnl_link_ops jvpn_link_ops __read_mostly = {
	.kind = "jvpn",
	.priv_size = sizeof(struct jvpn_dev),
	.setup = jvpn_setup,
};

int __init jvpn_device_init(void)
{
	return rtnl_link_register(&jvpn_link_ops);
}

void jvpn_device_uninit(void)
{
	rtnl_link_unregister(&jvpn_link_ops);
}
