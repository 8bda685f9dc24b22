/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * jvpnd configuration file: a wg-quick-like INI file.
 *
 *   [Interface]  PrivateKey, ListenPort, Address, Name
 *   [Peer]       PublicKey, PresharedKey, AllowedIPs, Endpoint,
 *                PersistentKeepalive          (any number of sections)
 *   [Policy]     every knob of policy.h by name (at most one section)
 *
 * '#' starts a comment anywhere on a line; section names and keys are
 * case-insensitive; blanks around keys, values and list items are
 * ignored.  Lists are comma separated on one line: a key may appear only
 * once per section.  Every limit is fixed (CFG_MAX_*), so a hostile file
 * costs bounded memory and time.
 *
 * Errors read "FILE:LINE: field 'Key': reason"; the parser goes on after
 * an error so that one run reports every problem (up to CFG_MAX_ERRORS).
 * All address and key parsing is here; DNS names in Endpoint are kept as
 * text for the daemon to resolve later.
 */
#ifndef JVPND_CONFIG_H
#define JVPND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/jvpn.h>

#include "policy.h"

#define CFG_MAX_PEERS		1024
#define CFG_MAX_ENDPOINTS	JVPN_MAX_PATHS_LIMIT
/* Each port may need an IPv4 and an IPv6 socket: 2 x 8 = JVPN_MAX_SOCKETS. */
#define CFG_MAX_LISTEN_PORTS	(JVPN_MAX_SOCKETS / 2)
#define CFG_MAX_ADDRESSES	JVPN_MAX_INNER_PER_SESSION
#define CFG_MAX_ALLOWED_IPS	JVPN_MAX_INNER_PER_SESSION
#define CFG_LINE_MAX		4096	/* bytes per line, newline excluded */
#define CFG_FILE_MAX		(1u << 20)
#define CFG_HOST_MAX		253	/* DNS name length limit */
#define CFG_NAME_MAX		15	/* IFNAMSIZ - 1 */
#define CFG_KEEPALIVE_MAX	65535	/* seconds */
#define CFG_MAX_ERRORS		32
#define CFG_ERROR_LEN		512

struct cfg_prefix {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t len;		/* prefix length in bits */
	uint8_t addr[16];	/* network byte order; 4 bytes used for v4 */
};

struct cfg_endpoint {
	char host[CFG_HOST_MAX + 1];	/* as written, without brackets */
	uint16_t port;
	bool literal;			/* host is an IP address: */
	uint16_t family;		/*   AF_INET / AF_INET6 */
	uint8_t addr[16];		/*   its bytes */
};

struct cfg_interface {
	uint8_t private_key[JVPN_KEY_LEN];
	bool has_private_key;
	char name[CFG_NAME_MAX + 1];	/* "" if not given */
	uint16_t listen_ports[CFG_MAX_LISTEN_PORTS];
	unsigned int n_listen_ports;	/* 0: ephemeral port */
	struct cfg_prefix addresses[CFG_MAX_ADDRESSES];
	unsigned int n_addresses;
	unsigned int line;		/* of the [Interface] header */
};

struct cfg_peer {
	uint8_t public_key[JVPN_KEY_LEN];
	bool has_public_key;
	uint8_t preshared_key[JVPN_KEY_LEN];
	bool has_preshared_key;
	struct cfg_prefix allowed_ips[CFG_MAX_ALLOWED_IPS];
	unsigned int n_allowed_ips;
	struct cfg_endpoint endpoints[CFG_MAX_ENDPOINTS];
	unsigned int n_endpoints;	/* candidate paths, in order */
	uint16_t persistent_keepalive_s;	/* 0: off */
	unsigned int line;		/* of the [Peer] header */
};

struct jvpn_config {
	bool has_interface;
	struct cfg_interface iface;
	struct cfg_peer *peers;		/* n_peers entries, heap */
	unsigned int n_peers;
	unsigned int peers_alloc;
	struct jvpn_policy policy;	/* defaults + [Policy] */
};

struct cfg_errors {
	unsigned int n;
	unsigned int suppressed;	/* errors beyond CFG_MAX_ERRORS */
	char msg[CFG_MAX_ERRORS][CFG_ERROR_LEN];
};

/*
 * Parse len bytes of text; name is used in messages.  cfg is initialised
 * here (policy defaults first).  Returns 0, -EINVAL with errs filled, or
 * -ENOMEM.  Call config_free() in every case.
 */
int config_parse(const char *name, const char *text, size_t len,
		 struct jvpn_config *cfg, struct cfg_errors *errs);

/* Read path (at most CFG_FILE_MAX bytes) and parse it. */
int config_load(const char *path, struct jvpn_config *cfg,
		struct cfg_errors *errs);

/* Release memory and wipe key material. */
void config_free(struct jvpn_config *cfg);

/* One message per line. */
void config_print_errors(const struct cfg_errors *errs, FILE *f);

/* "10.0.0.0/24", "fd00::/64" */
int config_format_prefix(const struct cfg_prefix *p, char *buf, size_t len);

#endif /* JVPND_CONFIG_H */
