/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd's access to jvpn.ko: the device through rtnetlink (libmnl) and
 * sessions, keys, paths and sockets through the jvpn generic netlink
 * family (tools/lib/jvpn_nl, the client jvpnctl uses too).
 *
 * Every call is one synchronous request on the request socket; events
 * come on a separate socket (events.c).  Functions return 0 or a negative
 * errno; kernel_errmsg() gives the kernel's extack text of the last
 * generic netlink failure.
 */
#ifndef JVPND_KERNEL_H
#define JVPND_KERNEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/jvpn.h>

#include "config.h"

struct jvpn_nl;
struct mnl_socket;

struct kernel {
	struct jvpn_nl *nl;
	struct mnl_socket *rt;
	uint32_t rt_seq;
	uint32_t ifindex;
	char ifname[IFNAMSIZ];
};

struct kernel_path {
	uint32_t id;
	uint32_t sock_id;
	bool active;
	struct sockaddr_storage remote;
};

struct kernel_session {
	uint32_t id, peer_id;
	uint64_t state_version;
	uint32_t active_path;
	uint8_t key_id[2];		/* per slot */
	bool has_key[2];
	uint32_t key_age_ms[2];
	uint64_t key_tx[2], key_rx[2];
	struct kernel_path paths[JVPN_MAX_PATHS_LIMIT];
	unsigned int n_paths;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint32_t last_rx_ms;
};

struct kernel_socket {
	uint32_t id;
	uint16_t family, port;
};

struct kernel_dev {
	uint64_t event_seq;
	uint32_t n_sessions;
	struct kernel_socket sockets[JVPN_MAX_SOCKETS];
	unsigned int n_sockets;
};

typedef int (*kernel_session_fn)(const struct kernel_session *ks, void *arg);

int kernel_open(struct kernel *k);
void kernel_close(struct kernel *k);
const char *kernel_errmsg(const struct kernel *k);

/* Finds ifname, creating it (kind "jvpn") if missing.  *created says. */
int kernel_link_ensure(struct kernel *k, const char *ifname, bool *created);
int kernel_link_delete(struct kernel *k);
int kernel_link_up(struct kernel *k);
int kernel_addr_add(struct kernel *k, const struct cfg_prefix *p);
int kernel_route_add(struct kernel *k, const struct cfg_prefix *p);

int kernel_dev_get(struct kernel *k, struct kernel_dev *d);
/* Path silence detection (ms) and passive keepalive interval (ms). */
int kernel_dev_set(struct kernel *k, uint32_t silent_ms, uint32_t keepalive_ms);
int kernel_socket_attach(struct kernel *k, int fd, uint32_t *id);
int kernel_socket_detach(struct kernel *k, uint32_t id);

int kernel_session_new(struct kernel *k, uint32_t id, uint32_t peer_id,
		       const struct cfg_prefix *inner, unsigned int n);
int kernel_session_del(struct kernel *k, uint32_t id);
int kernel_session_get(struct kernel *k, uint32_t id,
		       struct kernel_session *ks);
int kernel_session_dump(struct kernel *k, kernel_session_fn fn, void *arg);

int kernel_key_new(struct kernel *k, uint32_t sid, int slot, uint8_t key_id,
		   const uint8_t *tx, const uint8_t *rx);
int kernel_key_swap(struct kernel *k, uint32_t sid);
int kernel_key_del(struct kernel *k, uint32_t sid, int slot);

int kernel_path_add(struct kernel *k, uint32_t sid, uint32_t pid,
		    uint32_t sock_id, const struct sockaddr *remote);
int kernel_path_del(struct kernel *k, uint32_t sid, uint32_t pid);
/* Versioned switch; *version receives the session's new state_version. */
int kernel_path_activate(struct kernel *k, uint32_t sid, uint32_t pid,
			 uint64_t expected, uint64_t *version);

#endif /* JVPND_KERNEL_H */
