// SPDX-License-Identifier: MIT
/*
 * Parsers and formatters shared by jvpnctl and jvpnd (see util.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* A key file holds one encoded key; anything much longer is not a key. */
#define KEY_FILE_MAX	256

/* ---------------------------------------------------------------------- */
/* Numbers                                                                 */
/* ---------------------------------------------------------------------- */

int jvpn_parse_u64(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d = (unsigned char)*s - '0';

		if (d > 9)
			return -EINVAL;
		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*v = n;
	return 0;
}

static int parse_bounded(const char *s, uint64_t max, uint64_t *v)
{
	int err = jvpn_parse_u64(s, v);

	if (!err && *v > max)
		err = -ERANGE;
	return err;
}

int jvpn_parse_u32(const char *s, uint32_t *v)
{
	uint64_t n;
	int err = parse_bounded(s, UINT32_MAX, &n);

	if (!err)
		*v = (uint32_t)n;
	return err;
}

int jvpn_parse_u16(const char *s, uint16_t *v)
{
	uint64_t n;
	int err = parse_bounded(s, UINT16_MAX, &n);

	if (!err)
		*v = (uint16_t)n;
	return err;
}

int jvpn_parse_u8(const char *s, uint8_t *v)
{
	uint64_t n;
	int err = parse_bounded(s, UINT8_MAX, &n);

	if (!err)
		*v = (uint8_t)n;
	return err;
}

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

size_t jvpn_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return sizeof(struct in_addr);
	case AF_INET6:
		return sizeof(struct in6_addr);
	default:
		return 0;
	}
}

/* Copies s[0..n) into a NUL-terminated buffer of size bufsz. */
static int copy_token(char *buf, size_t bufsz, const char *s, size_t n)
{
	if (n == 0 || n >= bufsz)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static void fill_sockaddr(struct sockaddr_storage *ss, int family,
			  const void *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
}

int jvpn_parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *port;
	uint16_t portnum;
	int family;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' ||
		    copy_token(host, sizeof(host), s + 1, end - s - 1))
			return -EINVAL;
		family = AF_INET6;
		port = end + 2;
	} else {
		const char *colon = strchr(s, ':');

		/* A second colon means an IPv6 address without brackets. */
		if (!colon || strchr(colon + 1, ':') ||
		    copy_token(host, sizeof(host), s, colon - s))
			return -EINVAL;
		family = AF_INET;
		port = colon + 1;
	}
	if (jvpn_parse_u16(port, &portnum) ||
	    inet_pton(family, host, addr) != 1)
		return -EINVAL;
	fill_sockaddr(ss, family, addr, portnum);
	return 0;
}

int jvpn_format_endpoint(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const void *addr;
	uint16_t port;
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		addr = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		addr = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	if (!inet_ntop(sa->sa_family, addr, host, sizeof(host)))
		return -errno;
	n = snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		     host, port);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* True if any bit after the first plen bits of addr (alen bytes) is set. */
static int host_bits_set(const uint8_t *addr, size_t alen, unsigned int plen)
{
	size_t i;

	for (i = plen / 8; i < alen; i++) {
		uint8_t mask = i == plen / 8 ? 0xff >> (plen % 8) : 0xff;

		if (addr[i] & mask)
			return 1;
	}
	return 0;
}

int jvpn_parse_prefix(const char *s, struct jvpn_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hostlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int maxlen;

	memset(p, 0, sizeof(*p));
	if (copy_token(host, sizeof(host), s, hostlen))
		return -EINVAL;
	p->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, host, &p->addr) != 1)
		return -EINVAL;
	maxlen = 8 * jvpn_addr_len(p->family);
	p->len = maxlen;
	if (slash && (jvpn_parse_u8(slash + 1, &p->len) || p->len > maxlen))
		return -EINVAL;
	if (host_bits_set(p->addr.raw, maxlen / 8, p->len))
		return -EINVAL;
	return 0;
}

int jvpn_format_prefix(const struct jvpn_prefix *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (!jvpn_addr_len(p->family))
		return -EAFNOSUPPORT;
	if (!inet_ntop(p->family, &p->addr, host, sizeof(host)))
		return -errno;
	n = snprintf(buf, len, "%s/%u", host, p->len);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* ---------------------------------------------------------------------- */
/* Base64 and hex without secret-dependent branches or table lookups       */
/* ---------------------------------------------------------------------- */

/*
 * All ones if lo <= c <= hi, else zero, for c, lo, hi in 0..255: both
 * differences are negative exactly inside the range, and an arithmetic
 * shift spreads the sign.  Used so that decoding keys does not leak key
 * bits through branches or cache lines.
 */
static int ct_in_range(int c, int lo, int hi)
{
	return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

/* 0..63 for a base64 character, -1 otherwise. */
static int b64_value(unsigned char ch)
{
	int c = ch;
	int v = -1;

	v += ct_in_range(c, 'A', 'Z') & (c - 'A' + 1);
	v += ct_in_range(c, 'a', 'z') & (c - 'a' + 27);
	v += ct_in_range(c, '0', '9') & (c - '0' + 53);
	v += ct_in_range(c, '+', '+') & 63;
	v += ct_in_range(c, '/', '/') & 64;
	return v;
}

static char b64_char(unsigned int v)
{
	int x = v & 63;

	return (char)((ct_in_range(x, 0, 25) & ('A' + x)) |
		      (ct_in_range(x, 26, 51) & ('a' + x - 26)) |
		      (ct_in_range(x, 52, 61) & ('0' + x - 52)) |
		      (ct_in_range(x, 62, 62) & '+') |
		      (ct_in_range(x, 63, 63) & '/'));
}

/* 0..15 for a hex digit, -1 otherwise. */
static int hex_value(unsigned char ch)
{
	int c = ch;
	int v = -1;

	v += ct_in_range(c, '0', '9') & (c - '0' + 1);
	v += ct_in_range(c, 'a', 'f') & (c - 'a' + 11);
	v += ct_in_range(c, 'A', 'F') & (c - 'A' + 11);
	return v;
}

int jvpn_base64_encode(char *dst, size_t dstlen, const void *src, size_t n)
{
	const uint8_t *in = src;
	size_t need = (n + 2) / 3 * 4;
	size_t i, o = 0;

	if (dstlen <= need || need > INT_MAX)
		return -ENOSPC;
	for (i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			w |= in[i + 2];
		dst[o++] = b64_char(w >> 18);
		dst[o++] = b64_char(w >> 12);
		dst[o++] = i + 1 < n ? b64_char(w >> 6) : '=';
		dst[o++] = i + 2 < n ? b64_char(w) : '=';
	}
	dst[o] = '\0';
	return (int)o;
}

/* Number of '=' at the end of a quad-aligned base64 string, or -1. */
static int b64_padding(const char *src, size_t srclen)
{
	int pad = 0;

	if (srclen == 0 || srclen % 4)
		return srclen == 0 ? 0 : -1;
	if (src[srclen - 1] == '=')
		pad++;
	if (src[srclen - 2] == '=')
		pad++;
	/* "x=y=" style: a pad before a non-pad. */
	if (pad == 1 && src[srclen - 2] == '=')
		return -1;
	return pad;
}

int jvpn_base64_decode(void *dst, size_t dstlen, const char *src,
		       size_t srclen)
{
	uint8_t *out = dst;
	int pad = b64_padding(src, srclen);
	size_t outlen, i, o = 0;
	int bad = 0;

	if (pad < 0 || srclen / 4 * 3 > INT_MAX)
		return -EINVAL;
	outlen = srclen / 4 * 3 - pad;
	if (outlen > dstlen)
		return -ENOSPC;
	for (i = 0; i < srclen; i += 4) {
		int last = i + 4 == srclen;
		int v[4], k;
		uint32_t w = 0;

		for (k = 0; k < 4; k++) {
			/* Padding reads as a zero sextet in the last quad. */
			int is_pad = last && k >= 4 - pad;

			v[k] = is_pad ? 0 : b64_value(src[i + k]);
			bad |= v[k];
			w = w << 6 | (uint32_t)(v[k] & 63);
		}
		/* Non-canonical: bits below the last byte must be zero. */
		if (last && pad)
			bad |= -(int)((w & (pad == 1 ? 0xff : 0xffff)) != 0);
		for (k = 0; k < 3 && o < outlen; k++)
			out[o++] = (uint8_t)(w >> (16 - 8 * k));
	}
	return bad < 0 ? -EINVAL : (int)outlen;
}

void jvpn_key_to_base64(const uint8_t key[JVPN_KEY_LEN],
			char out[JVPN_KEY_B64_LEN + 1])
{
	jvpn_base64_encode(out, JVPN_KEY_B64_LEN + 1, key, JVPN_KEY_LEN);
}

static int key_from_hex(const char *s, uint8_t key[JVPN_KEY_LEN])
{
	int bad = 0;
	size_t i;

	for (i = 0; i < JVPN_KEY_LEN; i++) {
		int hi = hex_value(s[2 * i]);
		int lo = hex_value(s[2 * i + 1]);

		bad |= hi | lo;
		key[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15));
	}
	return bad < 0 ? -EINVAL : 0;
}

int jvpn_key_from_text(const char *s, size_t len, uint8_t key[JVPN_KEY_LEN])
{
	int err = -EINVAL;

	if (len == JVPN_KEY_HEX_LEN)
		err = key_from_hex(s, key);
	else if (len == JVPN_KEY_B64_LEN)
		err = jvpn_base64_decode(key, JVPN_KEY_LEN, s, len) ==
		      JVPN_KEY_LEN ? 0 : -EINVAL;
	if (err)
		explicit_bzero(key, JVPN_KEY_LEN);
	return err;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads a small key file into buf (NUL-terminated); returns its length. */
static ssize_t read_key_file(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf + n, size - 1 - n)) > 0) {
		n += r;
		if (n == size - 1)
			break;
	}
	if (r < 0)
		r = -errno;
	else if (n == size - 1)
		r = -EFBIG;
	close(fd);
	buf[n] = '\0';
	return r < 0 ? r : (ssize_t)n;
}

static int key_from_file(const char *path, uint8_t key[JVPN_KEY_LEN])
{
	char buf[KEY_FILE_MAX];
	ssize_t n = read_key_file(path, buf, sizeof(buf));
	size_t start = 0;
	int err;

	if (n < 0) {
		explicit_bzero(buf, sizeof(buf));
		explicit_bzero(key, JVPN_KEY_LEN);
		return (int)n;
	}
	while (n > 0 && is_blank(buf[n - 1]))
		n--;
	while ((ssize_t)start < n && is_blank(buf[start]))
		start++;
	err = jvpn_key_from_text(buf + start, n - start, key);
	explicit_bzero(buf, sizeof(buf));
	return err;
}

int jvpn_parse_key(const char *s, uint8_t key[JVPN_KEY_LEN])
{
	if (s[0] == '@')
		return key_from_file(s + 1, key);
	return jvpn_key_from_text(s, strlen(s), key);
}
