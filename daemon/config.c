// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * jvpnd configuration parser.  See config.h for the format.
 *
 * The parser works line by line on a bounded copy of each line, so no
 * input can make it read past a line or allocate more than the peer
 * array (bounded by CFG_MAX_PEERS).  Every value parser is strict: the
 * whole value must be consumed, numbers are plain decimal, keys must be
 * canonical base64, and each failure names the key and the reason.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

enum section {
	SEC_NONE,
	SEC_INTERFACE,
	SEC_PEER,
	SEC_POLICY,
	SEC_IGNORED,	/* unknown or over-limit section: skip its keys */
};

#define MAX_SECTION_KEYS	32
#define KEY_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

struct parser {
	const char *file;
	unsigned int line;
	enum section sec;
	unsigned int sec_line;
	unsigned int seen[MAX_SECTION_KEYS];	/* line a key was set at */
	unsigned int policy_line;		/* [Policy] header, 0: none */
	unsigned int knob_line[MAX_SECTION_KEYS];
	struct jvpn_config *cfg;
	struct cfg_errors *errs;
	struct cfg_peer *peer;			/* current [Peer] */
	bool nomem;
};

_Static_assert(MAX_SECTION_KEYS >= 17, "room for every policy knob");

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

static void add_error(struct parser *p, unsigned int line, const char *what,
		      const char *fmt, va_list ap)
{
	struct cfg_errors *e = p->errs;
	char reason[CFG_ERROR_LEN];
	int n;

	if (e->n >= CFG_MAX_ERRORS) {
		e->suppressed++;
		return;
	}
	vsnprintf(reason, sizeof(reason), fmt, ap);
	n = snprintf(e->msg[e->n], CFG_ERROR_LEN, "%s:%u: %s%s%s", p->file,
		     line, what ? what : "", what ? ": " : "", reason);
	if (n >= CFG_ERROR_LEN)	/* keep the ellipsis visible when cut */
		memcpy(e->msg[e->n] + CFG_ERROR_LEN - 4, "...", 4);
	e->n++;
}

static void err_line(struct parser *p, unsigned int line, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

static void err_line(struct parser *p, unsigned int line, const char *fmt,
		     ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_error(p, line, NULL, fmt, ap);
	va_end(ap);
}

static void err_field(struct parser *p, unsigned int line, const char *field,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_field(struct parser *p, unsigned int line, const char *field,
		      const char *fmt, ...)
{
	char what[96];
	va_list ap;

	snprintf(what, sizeof(what), "field '%s'", field);
	va_start(ap, fmt);
	add_error(p, line, what, fmt, ap);
	va_end(ap);
}

static void err_section(struct parser *p, unsigned int line,
			const char *section, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_section(struct parser *p, unsigned int line,
			const char *section, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	snprintf(what, sizeof(what), "section [%s]", section);
	va_start(ap, fmt);
	add_error(p, line, what, fmt, ap);
	va_end(ap);
}

void config_print_errors(const struct cfg_errors *errs, FILE *f)
{
	unsigned int i;

	for (i = 0; i < errs->n; i++)
		fprintf(f, "%s\n", errs->msg[i]);
	if (errs->suppressed)
		fprintf(f, "(%u more errors not shown)\n", errs->suppressed);
}

/* ---------------------------------------------------------------------- */
/* Small strict value parsers                                              */
/* ---------------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (*s && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Plain decimal, no sign, at most 10 digits; -EINVAL / -ERANGE. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!*s)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Value of 4 base64 characters ('=' allowed only as trailing padding). */
static int b64_quad(const char *q, bool last, uint32_t *bits, int *pad)
{
	int i, v;

	*bits = 0;
	*pad = 0;
	for (i = 0; i < 4; i++) {
		if (q[i] == '=' && last && i >= 2 && (i == 3 || q[3] == '=')) {
			(*pad)++;
			v = 0;
		} else {
			v = b64_value(q[i]);
			if (v < 0 || *pad)
				return -EINVAL;
		}
		*bits = (*bits << 6) | (uint32_t)v;
	}
	return 0;
}

/*
 * Strict RFC 4648 base64 with padding.  Non-canonical encodings (unused
 * low bits set) are refused so one key has exactly one spelling.
 */
static int b64_decode(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	uint32_t bits;
	int pad;

	if (!n || n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		if (b64_quad(s + i, i + 4 == n, &bits, &pad))
			return -EINVAL;
		if ((pad == 1 && (bits & 0xff)) ||
		    (pad == 2 && (bits & 0xffff)))
			return -EINVAL;
		if (o + 3 - (size_t)pad > max)
			return -E2BIG;
		out[o++] = (uint8_t)(bits >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(bits >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)bits;
	}
	*len = o;
	return 0;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= b[i];
	return !acc;
}

static int parse_key(struct parser *p, const char *field, const char *value,
		     uint8_t key[JVPN_KEY_LEN])
{
	uint8_t buf[3 * CFG_LINE_MAX / 4 + 3];
	size_t len = 0;
	int ret = b64_decode(value, buf, sizeof(buf), &len);

	if (ret) {
		err_field(p, p->line, field,
			  "bad base64 (want %d characters of standard padded base64)",
			  4 * ((JVPN_KEY_LEN + 2) / 3));
	} else if (len != JVPN_KEY_LEN) {
		err_field(p, p->line, field,
			  "wrong key length: %zu bytes, want %d", len,
			  JVPN_KEY_LEN);
		ret = -EINVAL;
	} else if (all_zero(buf, len)) {
		err_field(p, p->line, field, "all-zero key");
		ret = -EINVAL;
	} else {
		memcpy(key, buf, JVPN_KEY_LEN);
	}
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int parse_port(struct parser *p, const char *field, const char *s,
		      uint16_t *port)
{
	uint32_t v;

	if (parse_u32(s, &v) || v < 1 || v > 65535) {
		err_field(p, p->line, field, "bad port '%s' (want 1..65535)",
			  s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* An IPv4 or IPv6 literal; family chosen by the presence of ':'. */
static int parse_ip(const char *s, uint16_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*family = strchr(s, ':') ? AF_INET6 : AF_INET;
	return inet_pton(*family, s, addr) == 1 ? 0 : -EINVAL;
}

static unsigned int family_bits(uint16_t family)
{
	return family == AF_INET ? 32 : 128;
}

static bool host_bits_set(const struct cfg_prefix *pf)
{
	unsigned int i, bytes = family_bits(pf->family) / 8;

	for (i = 0; i < bytes; i++) {
		unsigned int first = i * 8;
		uint8_t mask;

		if (first + 8 <= pf->len)
			continue;
		mask = first >= pf->len ? 0xff
					: (uint8_t)(0xff >> (pf->len - first));
		if (pf->addr[i] & mask)
			return true;
	}
	return false;
}

int config_format_prefix(const struct cfg_prefix *pf, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (!inet_ntop(pf->family, pf->addr, ip, sizeof(ip)))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%u", ip, pf->len);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* "addr[/len]"; strict_host: refuse host bits beyond len (AllowedIPs). */
static int parse_prefix(struct parser *p, const char *field, char *s,
			bool strict_host, struct cfg_prefix *pf)
{
	char *slash = strchr(s, '/');
	uint32_t len;
	char net[INET6_ADDRSTRLEN + 4];

	if (slash)
		*slash = '\0';
	if (parse_ip(s, &pf->family, pf->addr)) {
		err_field(p, p->line, field, "bad address '%s'", s);
		return -EINVAL;
	}
	len = family_bits(pf->family);
	if (slash && (parse_u32(slash + 1, &len) ||
		      len > family_bits(pf->family))) {
		err_field(p, p->line, field,
			  "bad prefix length '%s' for '%s' (want 0..%u)",
			  slash + 1, s, family_bits(pf->family));
		return -EINVAL;
	}
	pf->len = (uint8_t)len;
	if (strict_host && host_bits_set(pf)) {
		struct cfg_prefix masked = *pf;
		unsigned int i;

		for (i = pf->len; i < family_bits(pf->family); i++)
			masked.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		config_format_prefix(&masked, net, sizeof(net));
		err_field(p, p->line, field,
			  "bad prefix '%s/%u': host bits set (did you mean %s?)",
			  s, pf->len, net);
		return -EINVAL;
	}
	return 0;
}

static bool same_prefix(const struct cfg_prefix *a, const struct cfg_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* ---------------------------------------------------------------------- */
/* Lists                                                                   */
/* ---------------------------------------------------------------------- */

/* Call fn on each comma-separated, trimmed item; stops at an error. */
static int for_each_item(struct parser *p, const char *field, char *value,
			 int (*fn)(struct parser *p, const char *field,
				   char *item, void *ctx),
			 void *ctx)
{
	char *item = value, *comma;
	int ret;

	for (;;) {
		comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		item = trim(item);
		if (!*item) {
			err_field(p, p->line, field, "empty list item");
			return -EINVAL;
		}
		ret = fn(p, field, item, ctx);
		if (ret || !comma)
			return ret;
		item = comma + 1;
	}
}

struct prefix_list {
	struct cfg_prefix *items;
	unsigned int *n;
	unsigned int max;
	bool strict_host;
};

static int add_prefix(struct parser *p, const char *field, char *item,
		      void *ctx)
{
	struct prefix_list *l = ctx;
	struct cfg_prefix pf;
	char text[INET6_ADDRSTRLEN + 4];
	unsigned int i;

	if (*l->n >= l->max) {
		err_field(p, p->line, field, "too many prefixes (max %u)",
			  l->max);
		return -EINVAL;
	}
	if (parse_prefix(p, field, item, l->strict_host, &pf))
		return -EINVAL;
	for (i = 0; i < *l->n; i++) {
		if (!same_prefix(&l->items[i], &pf))
			continue;
		config_format_prefix(&pf, text, sizeof(text));
		err_field(p, p->line, field, "duplicate prefix %s", text);
		return -EINVAL;
	}
	l->items[(*l->n)++] = pf;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Endpoints                                                               */
/* ---------------------------------------------------------------------- */

static bool hostname_ok(const char *h)
{
	size_t n = strlen(h), label = 0, i;

	if (!n || n > CFG_HOST_MAX || h[0] == '.' || h[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (!label || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (++label > 63)
			return false;
	}
	return h[n - 1] != '-';
}

static bool looks_numeric(const char *h)
{
	return strspn(h, "0123456789.") == strlen(h);
}

/* Split "host:port" or "[v6]:port"; returns the host, *port_s the port. */
static char *split_endpoint(struct parser *p, const char *field, char *s,
			    char **port_s)
{
	char *colon;

	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			err_field(p, p->line, field,
				  "bad endpoint '%s' (want [IPv6]:port)", s);
			return NULL;
		}
		*close = '\0';
		*port_s = close + 2;
		return s + 1;
	}
	colon = strrchr(s, ':');
	if (!colon) {
		err_field(p, p->line, field,
			  "bad endpoint '%s': missing ':port'", s);
		return NULL;
	}
	if (strchr(s, ':') != colon) {
		err_field(p, p->line, field,
			  "bad endpoint '%s': IPv6 addresses need brackets, [addr]:port",
			  s);
		return NULL;
	}
	*colon = '\0';
	*port_s = colon + 1;
	return s;
}

static int fill_endpoint_host(struct parser *p, const char *field,
			      const char *host, bool bracketed,
			      struct cfg_endpoint *ep)
{
	ep->literal = !parse_ip(host, &ep->family, ep->addr);
	if (bracketed && (!ep->literal || ep->family != AF_INET6)) {
		err_field(p, p->line, field, "bad IPv6 address '%s'", host);
		return -EINVAL;
	}
	if (!ep->literal && looks_numeric(host)) {
		err_field(p, p->line, field, "bad IPv4 address '%s'", host);
		return -EINVAL;
	}
	if (!ep->literal && !hostname_ok(host)) {
		err_field(p, p->line, field, "bad host name '%s'", host);
		return -EINVAL;
	}
	if (!ep->literal)
		ep->family = 0;
	snprintf(ep->host, sizeof(ep->host), "%s", host);
	return 0;
}

static bool same_endpoint(const struct cfg_endpoint *a,
			  const struct cfg_endpoint *b)
{
	if (a->port != b->port || a->literal != b->literal)
		return false;
	if (a->literal)
		return a->family == b->family &&
		       !memcmp(a->addr, b->addr, sizeof(a->addr));
	return !strcasecmp(a->host, b->host);
}

static int add_endpoint(struct parser *p, const char *field, char *item,
			void *ctx)
{
	struct cfg_peer *peer = ctx;
	struct cfg_endpoint ep = { 0 };
	bool bracketed = *item == '[';
	char *port_s, *host;
	unsigned int i;

	if (peer->n_endpoints >= CFG_MAX_ENDPOINTS) {
		err_field(p, p->line, field, "too many endpoints (max %u)",
			  CFG_MAX_ENDPOINTS);
		return -EINVAL;
	}
	host = split_endpoint(p, field, item, &port_s);
	if (!host || parse_port(p, field, port_s, &ep.port) ||
	    fill_endpoint_host(p, field, host, bracketed, &ep))
		return -EINVAL;
	for (i = 0; i < peer->n_endpoints; i++) {
		if (same_endpoint(&peer->endpoints[i], &ep)) {
			err_field(p, p->line, field,
				  "duplicate endpoint '%s:%u'", ep.host,
				  ep.port);
			return -EINVAL;
		}
	}
	peer->endpoints[peer->n_endpoints++] = ep;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* [Interface]                                                             */
/* ---------------------------------------------------------------------- */

static int if_private_key(struct parser *p, const char *field, char *value)
{
	struct cfg_interface *ifc = &p->cfg->iface;

	if (parse_key(p, field, value, ifc->private_key))
		return -EINVAL;
	ifc->has_private_key = true;
	return 0;
}

static int add_listen_port(struct parser *p, const char *field, char *item,
			   void *ctx)
{
	struct cfg_interface *ifc = ctx;
	uint16_t port;
	unsigned int i;

	if (ifc->n_listen_ports >= CFG_MAX_LISTEN_PORTS) {
		err_field(p, p->line, field, "too many ports (max %u)",
			  CFG_MAX_LISTEN_PORTS);
		return -EINVAL;
	}
	if (parse_port(p, field, item, &port))
		return -EINVAL;
	for (i = 0; i < ifc->n_listen_ports; i++) {
		if (ifc->listen_ports[i] == port) {
			err_field(p, p->line, field, "duplicate port %u",
				  port);
			return -EINVAL;
		}
	}
	ifc->listen_ports[ifc->n_listen_ports++] = port;
	return 0;
}

static int if_listen_port(struct parser *p, const char *field, char *value)
{
	return for_each_item(p, field, value, add_listen_port, &p->cfg->iface);
}

static int if_address(struct parser *p, const char *field, char *value)
{
	struct cfg_interface *ifc = &p->cfg->iface;
	struct prefix_list l = { ifc->addresses, &ifc->n_addresses,
				 CFG_MAX_ADDRESSES, false };

	return for_each_item(p, field, value, add_prefix, &l);
}

/* What the kernel's dev_valid_name() accepts, minus the oddities. */
static int if_name(struct parser *p, const char *field, char *value)
{
	size_t n = strlen(value);

	if (n > CFG_NAME_MAX || strspn(value, KEY_CHARS "_.-") != n ||
	    !strcmp(value, ".") || !strcmp(value, "..")) {
		err_field(p, p->line, field,
			  "bad interface name '%s' (1..%d of [A-Za-z0-9_.-])",
			  value, CFG_NAME_MAX);
		return -EINVAL;
	}
	memcpy(p->cfg->iface.name, value, n + 1);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* [Peer]                                                                  */
/* ---------------------------------------------------------------------- */

static int peer_public_key(struct parser *p, const char *field, char *value)
{
	if (parse_key(p, field, value, p->peer->public_key))
		return -EINVAL;
	p->peer->has_public_key = true;
	return 0;
}

static int peer_preshared_key(struct parser *p, const char *field,
			      char *value)
{
	if (parse_key(p, field, value, p->peer->preshared_key))
		return -EINVAL;
	p->peer->has_preshared_key = true;
	return 0;
}

static int peer_allowed_ips(struct parser *p, const char *field, char *value)
{
	struct prefix_list l = { p->peer->allowed_ips, &p->peer->n_allowed_ips,
				 CFG_MAX_ALLOWED_IPS, true };

	return for_each_item(p, field, value, add_prefix, &l);
}

static int peer_endpoint(struct parser *p, const char *field, char *value)
{
	return for_each_item(p, field, value, add_endpoint, p->peer);
}

static int peer_keepalive(struct parser *p, const char *field, char *value)
{
	uint32_t v;

	if (!strcasecmp(value, "off")) {
		p->peer->persistent_keepalive_s = 0;
		return 0;
	}
	if (parse_u32(value, &v) || v > CFG_KEEPALIVE_MAX) {
		err_field(p, p->line, field,
			  "bad value '%s' (want 'off' or 0..%u seconds)",
			  value, CFG_KEEPALIVE_MAX);
		return -EINVAL;
	}
	p->peer->persistent_keepalive_s = (uint16_t)v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Key tables and dispatch                                                 */
/* ---------------------------------------------------------------------- */

struct key_desc {
	const char *name;
	int (*parse)(struct parser *p, const char *field, char *value);
};

static const struct key_desc interface_keys[] = {
	{ "PrivateKey", if_private_key },
	{ "ListenPort", if_listen_port },
	{ "Address", if_address },
	{ "Name", if_name },
	{ NULL, NULL },
};

static const struct key_desc peer_keys[] = {
	{ "PublicKey", peer_public_key },
	{ "PresharedKey", peer_preshared_key },
	{ "AllowedIPs", peer_allowed_ips },
	{ "Endpoint", peer_endpoint },
	{ "PersistentKeepalive", peer_keepalive },
	{ NULL, NULL },
};

/* wg-quick keys that have no meaning for jvpnd: say so explicitly. */
static const char *const wg_quick_keys[] = {
	"DNS", "MTU", "Table", "PreUp", "PostUp", "PreDown", "PostDown",
	"SaveConfig", "FwMark",
};

static bool is_wg_quick_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(wg_quick_keys) / sizeof(wg_quick_keys[0]); i++)
		if (!strcasecmp(key, wg_quick_keys[i]))
			return true;
	return false;
}

static const char *section_name(enum section sec)
{
	switch (sec) {
	case SEC_INTERFACE:
		return "Interface";
	case SEC_PEER:
		return "Peer";
	case SEC_POLICY:
		return "Policy";
	default:
		return "?";
	}
}

static void err_unknown_key(struct parser *p, const char *key)
{
	if (is_wg_quick_key(key))
		err_field(p, p->line, key,
			  "unknown key in [%s] (a wg-quick setting jvpnd does not use)",
			  section_name(p->sec));
	else
		err_field(p, p->line, key, "unknown key in [%s]",
			  section_name(p->sec));
}

/* Records the key as set; false (and an error) if it already was. */
static bool first_time(struct parser *p, unsigned int idx, const char *field)
{
	if (p->seen[idx]) {
		err_field(p, p->line, field,
			  "duplicate key (first set at line %u)", p->seen[idx]);
		return false;
	}
	p->seen[idx] = p->line;
	return true;
}

static void set_table_key(struct parser *p, const struct key_desc *keys,
			  const char *key, char *value)
{
	unsigned int i;

	for (i = 0; keys[i].name; i++) {
		if (strcasecmp(keys[i].name, key))
			continue;
		if (first_time(p, i, keys[i].name))
			keys[i].parse(p, keys[i].name, value);
		return;
	}
	err_unknown_key(p, key);
}

static void set_policy_key(struct parser *p, const char *key,
			   const char *value)
{
	const struct policy_knob *k = policy_knob_find(key);
	unsigned int idx;
	uint32_t v;

	if (!k) {
		err_unknown_key(p, key);
		return;
	}
	idx = (unsigned int)(k - policy_knobs);
	if (!first_time(p, idx, k->name))
		return;
	p->knob_line[idx] = p->line;
	if (parse_u32(value, &v)) {
		err_field(p, p->line, k->name,
			  "bad value '%s' (want a decimal number of %s)",
			  value, k->unit);
		return;
	}
	if (v < k->min || v > k->max) {
		err_field(p, p->line, k->name,
			  "value %u out of range [%u, %u] (%s)", v, k->min,
			  k->max, k->unit);
		return;
	}
	policy_knob_set(&p->cfg->policy, k, v);
}

static void set_key(struct parser *p, const char *key, char *value)
{
	switch (p->sec) {
	case SEC_INTERFACE:
		set_table_key(p, interface_keys, key, value);
		break;
	case SEC_PEER:
		set_table_key(p, peer_keys, key, value);
		break;
	case SEC_POLICY:
		set_policy_key(p, key, value);
		break;
	case SEC_IGNORED:
		break;
	case SEC_NONE:
		err_field(p, p->line, key, "key outside of any section");
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* Sections                                                                */
/* ---------------------------------------------------------------------- */

/* Index 0 of both key tables is the required key (PrivateKey/PublicKey);
 * if it was present but bad, that error was already reported.
 */
static void finish_section(struct parser *p)
{
	if (p->sec == SEC_INTERFACE && !p->cfg->iface.has_private_key &&
	    !p->seen[0])
		err_field(p, p->sec_line, "PrivateKey",
			  "missing in [Interface]");
	if (p->sec == SEC_PEER && !p->peer->has_public_key && !p->seen[0])
		err_field(p, p->sec_line, "PublicKey", "missing in [Peer]");
}

static struct cfg_peer *new_peer(struct parser *p)
{
	struct jvpn_config *c = p->cfg;
	struct cfg_peer *peers;
	unsigned int alloc;

	if (c->n_peers == c->peers_alloc) {
		alloc = c->peers_alloc ? 2 * c->peers_alloc : 8;
		if (alloc > CFG_MAX_PEERS)
			alloc = CFG_MAX_PEERS;
		peers = realloc(c->peers, alloc * sizeof(*peers));
		if (!peers) {
			p->nomem = true;
			return NULL;
		}
		c->peers = peers;
		c->peers_alloc = alloc;
	}
	memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
	c->peers[c->n_peers].line = p->line;
	return &c->peers[c->n_peers++];
}

static enum section open_interface(struct parser *p)
{
	if (p->cfg->has_interface) {
		err_section(p, p->line, "Interface",
			    "duplicate section (first at line %u)",
			    p->cfg->iface.line);
		return SEC_IGNORED;
	}
	p->cfg->has_interface = true;
	p->cfg->iface.line = p->line;
	return SEC_INTERFACE;
}

static enum section open_peer(struct parser *p)
{
	if (p->cfg->n_peers >= CFG_MAX_PEERS) {
		err_section(p, p->line, "Peer", "too many peers (max %u)",
			    CFG_MAX_PEERS);
		return SEC_IGNORED;
	}
	p->peer = new_peer(p);
	return p->peer ? SEC_PEER : SEC_IGNORED;
}

static enum section open_policy(struct parser *p)
{
	if (p->policy_line) {
		err_section(p, p->line, "Policy",
			    "duplicate section (first at line %u)",
			    p->policy_line);
		return SEC_IGNORED;
	}
	p->policy_line = p->line;
	return SEC_POLICY;
}

static void open_section(struct parser *p, char *text)
{
	char *name, *close = strchr(text, ']');

	finish_section(p);
	memset(p->seen, 0, sizeof(p->seen));
	p->sec_line = p->line;
	p->sec = SEC_IGNORED;
	if (!close || close[1] != '\0') {
		err_line(p, p->line, "malformed section header '%s'", text);
		return;
	}
	*close = '\0';
	name = trim(text + 1);
	if (!strcasecmp(name, "Interface"))
		p->sec = open_interface(p);
	else if (!strcasecmp(name, "Peer"))
		p->sec = open_peer(p);
	else if (!strcasecmp(name, "Policy"))
		p->sec = open_policy(p);
	else
		err_section(p, p->line, name, "unknown section");
}

/* ---------------------------------------------------------------------- */
/* Lines                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Messages about a malformed line quote only its first word, capped: the
 * rest may be a private key that must not end up in logs.
 */
static size_t first_word_len(const char *s)
{
	size_t n = strcspn(s, " \t=");

	return n > 32 ? 32 : n;
}

static void parse_line(struct parser *p, char *line)
{
	char *hash = strchr(line, '#'), *eq, *key, *value;

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (!*line)
		return;
	if (*line == '[') {
		open_section(p, line);
		return;
	}
	eq = strchr(line, '=');
	if (!eq) {
		err_line(p, p->line, "expected 'Key = Value', got '%.*s...'",
			 (int)first_word_len(line), line);
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key) {
		err_line(p, p->line, "missing key before '='");
		return;
	}
	if (strspn(key, KEY_CHARS) != strlen(key)) {
		/* "PrivateKey <base64>=" lands here: never echo the value. */
		err_line(p, p->line, "expected 'Key = Value', got '%.*s...'",
			 (int)first_word_len(key), key);
		return;
	}
	if (!*value) {
		err_field(p, p->line, key, "empty value");
		return;
	}
	set_key(p, key, value);
}

/* Copy one raw line into buf and parse it; len excludes the newline. */
static void handle_raw_line(struct parser *p, const char *raw, size_t len)
{
	char buf[CFG_LINE_MAX + 1];

	if (len && raw[len - 1] == '\r')
		len--;
	if (len > CFG_LINE_MAX) {
		err_line(p, p->line, "line too long (%zu bytes, max %d)", len,
			 CFG_LINE_MAX);
		return;
	}
	if (memchr(raw, '\0', len)) {
		err_line(p, p->line, "NUL byte in line");
		return;
	}
	memcpy(buf, raw, len);
	buf[len] = '\0';
	parse_line(p, buf);
	explicit_bzero(buf, len);	/* may have held a private key */
}

/* ---------------------------------------------------------------------- */
/* Whole-file checks                                                       */
/* ---------------------------------------------------------------------- */

static void check_peer_keys(struct parser *p)
{
	const struct cfg_peer *a, *b;
	unsigned int i, j;

	for (i = 0; i < p->cfg->n_peers; i++) {
		a = &p->cfg->peers[i];
		for (j = 0; a->has_public_key && j < i; j++) {
			b = &p->cfg->peers[j];
			if (!b->has_public_key ||
			    memcmp(a->public_key, b->public_key, JVPN_KEY_LEN))
				continue;
			err_field(p, a->line, "PublicKey",
				  "same key as the peer at line %u", b->line);
			break;
		}
	}
}

/* An inner address routed to two peers is ambiguous: refuse it. */
static void check_allowed_ips(struct parser *p)
{
	const struct cfg_peer *a, *b;
	unsigned int i, j, x, y;
	char text[INET6_ADDRSTRLEN + 4];

	for (i = 0; i < p->cfg->n_peers; i++) {
		a = &p->cfg->peers[i];
		for (x = 0; x < a->n_allowed_ips; x++) {
			for (j = 0; j < i; j++) {
				b = &p->cfg->peers[j];
				for (y = 0; y < b->n_allowed_ips; y++) {
					if (!same_prefix(&a->allowed_ips[x],
							 &b->allowed_ips[y]))
						continue;
					config_format_prefix(&a->allowed_ips[x],
							     text, sizeof(text));
					err_field(p, a->line, "AllowedIPs",
						  "%s also allowed for the peer at line %u",
						  text, b->line);
				}
			}
		}
	}
}

static void check_policy(struct parser *p)
{
	const struct policy_knob *bad = NULL;
	char msg[CFG_ERROR_LEN];
	unsigned int line = p->policy_line;

	if (!policy_validate(&p->cfg->policy, msg, sizeof(msg), &bad))
		return;
	if (bad && p->knob_line[bad - policy_knobs])
		line = p->knob_line[bad - policy_knobs];
	err_field(p, line, bad ? bad->name : "Policy", "%s", msg);
}

/* Every peer is a session: a file that cannot fit is refused up front. */
static void check_peer_count(struct parser *p)
{
	const struct policy_knob *k = policy_knob_find("MaxSessions");
	unsigned int line = p->knob_line[k - policy_knobs];

	if (p->cfg->n_peers <= p->cfg->policy.max_sessions)
		return;
	err_field(p, line ? line : p->line, k->name,
		  "%u peers configured but MaxSessions is %u",
		  p->cfg->n_peers, p->cfg->policy.max_sessions);
}

static void check_whole(struct parser *p)
{
	if (!p->cfg->has_interface)
		err_section(p, p->line, "Interface", "missing");
	check_peer_keys(p);
	check_allowed_ips(p);
	/* Range errors were reported per key; look at relations only then. */
	if (!p->errs->n)
		check_policy(p);
	check_peer_count(p);
}

/* ---------------------------------------------------------------------- */
/* Entry points                                                            */
/* ---------------------------------------------------------------------- */

int config_parse(const char *name, const char *text, size_t len,
		 struct jvpn_config *cfg, struct cfg_errors *errs)
{
	struct parser p = { .file = name, .cfg = cfg, .errs = errs };
	size_t pos = 0, n;
	const char *nl;

	memset(cfg, 0, sizeof(*cfg));
	memset(errs, 0, sizeof(*errs));
	policy_defaults(&cfg->policy);
	if (len > CFG_FILE_MAX) {
		err_line(&p, 0, "file too large (%zu bytes, max %u)", len,
			 CFG_FILE_MAX);
		return -EINVAL;
	}
	while (pos < len && !p.nomem) {
		nl = memchr(text + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p.line++;
		handle_raw_line(&p, text + pos, n);
		pos += n + (nl ? 1 : 0);
	}
	if (p.nomem)
		return -ENOMEM;
	finish_section(&p);
	check_whole(&p);
	return errs->n || errs->suppressed ? -EINVAL : 0;
}

static int read_bounded(int fd, char *buf, size_t max, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < max) {
		n = read(fd, buf + *len, max - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		*len += (size_t)n;
	}
	return 0;
}

int config_load(const char *path, struct jvpn_config *cfg,
		struct cfg_errors *errs)
{
	struct parser p = { .file = path, .cfg = cfg, .errs = errs };
	size_t len = 0;
	char *buf;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	memset(errs, 0, sizeof(*errs));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		err_line(&p, 0, "cannot open: %s", strerror(-ret));
		return ret;
	}
	/* One byte more than allowed, to tell "too large" from "exact". */
	buf = malloc(CFG_FILE_MAX + 1);
	ret = buf ? read_bounded(fd, buf, CFG_FILE_MAX + 1, &len) : -ENOMEM;
	close(fd);
	if (ret) {
		err_line(&p, 0, "cannot read: %s", strerror(-ret));
	} else {
		ret = config_parse(path, buf, len, cfg, errs);
		explicit_bzero(buf, len);
	}
	free(buf);
	return ret;
}

void config_free(struct jvpn_config *cfg)
{
	if (cfg->peers) {
		explicit_bzero(cfg->peers,
			       cfg->peers_alloc * sizeof(cfg->peers[0]));
		free(cfg->peers);
	}
	explicit_bzero(cfg, sizeof(*cfg));
}
