/* SPDX-License-Identifier: MIT */
/*
 * Parsers and formatters shared by jvpnctl and jvpnd: numbers, UDP
 * endpoints, inner prefixes, 32-byte keys and base64.
 *
 * Every parser takes a NUL-terminated string, accepts only the whole
 * string (no trailing garbage, no surrounding blanks) and returns 0 or a
 * negative errno: -EINVAL for malformed input, -ERANGE for a number out
 * of range, and whatever open()/read() said for an unreadable key file.
 */
#ifndef JVPN_UTIL_H
#define JVPN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/jvpn.h>

/* Base64 (RFC 4648, padded) length of a JVPN_KEY_LEN key, without NUL. */
#define JVPN_KEY_B64_LEN	44
/* Hex length of a JVPN_KEY_LEN key, without NUL. */
#define JVPN_KEY_HEX_LEN	(2 * JVPN_KEY_LEN)

/* Buffer sizes for the formatters, including the NUL. */
#define JVPN_ENDPOINT_STRLEN	(INET6_ADDRSTRLEN + 8)	/* "[addr]:65535" */
#define JVPN_PREFIX_STRLEN	(INET6_ADDRSTRLEN + 4)	/* "addr/128" */

/* An inner (tunnelled) address prefix, e.g. 10.0.0.2/32 or fd00::/64. */
struct jvpn_prefix {
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t raw[16];
	} addr;
	uint8_t len;			/* prefix length in bits */
};

/* Decimal only: a leading zero is not octal and no sign is accepted. */
int jvpn_parse_u64(const char *s, uint64_t *v);
int jvpn_parse_u32(const char *s, uint32_t *v);
int jvpn_parse_u16(const char *s, uint16_t *v);
int jvpn_parse_u8(const char *s, uint8_t *v);

/*
 * "192.0.2.1:51820" or "[2001:db8::1]:51820" into a sockaddr_in or
 * sockaddr_in6 (port 0 is accepted; callers that need a real port check).
 * IPv6 needs the brackets; scope ids ("%eth0") are not supported.
 */
int jvpn_parse_endpoint(const char *s, struct sockaddr_storage *ss);

/* Inverse of jvpn_parse_endpoint; -EAFNOSUPPORT for other families. */
int jvpn_format_endpoint(const struct sockaddr *sa, char *buf, size_t len);

/* Byte length of an AF_INET/AF_INET6 address, 0 for other families. */
size_t jvpn_addr_len(int family);

/*
 * "10.0.0.2/32", "fd00::/64"; without "/len" a host prefix (/32, /128).
 * Host bits beyond the prefix length must be zero: "10.0.0.2/24" is
 * refused because it is almost always a typo for /32 or 10.0.0.0/24.
 */
int jvpn_parse_prefix(const char *s, struct jvpn_prefix *p);
int jvpn_format_prefix(const struct jvpn_prefix *p, char *buf, size_t len);

/*
 * A key as 64 hex digits, 44 base64 characters, or "@FILE" naming a file
 * that holds one of those (surrounding whitespace ignored).  Decoding
 * does not branch on key bits.  On failure key is zeroed.
 */
int jvpn_parse_key(const char *s, uint8_t key[JVPN_KEY_LEN]);

/* The hex/base64 part of jvpn_parse_key, on len bytes of text. */
int jvpn_key_from_text(const char *s, size_t len, uint8_t key[JVPN_KEY_LEN]);

/* Standard padded base64 of a key into out (JVPN_KEY_B64_LEN + 1 bytes). */
void jvpn_key_to_base64(const uint8_t key[JVPN_KEY_LEN],
			char out[JVPN_KEY_B64_LEN + 1]);

/*
 * Padded base64 of n bytes into dst, NUL-terminated.  Returns the text
 * length, or -ENOSPC if dst (dstlen bytes) is too small.
 */
int jvpn_base64_encode(char *dst, size_t dstlen, const void *src, size_t n);

/*
 * Strict padded base64 decode (canonical encodings only) of srclen
 * characters.  Returns the decoded length, -EINVAL for bad input or
 * -ENOSPC if it does not fit in dstlen bytes.
 */
int jvpn_base64_decode(void *dst, size_t dstlen, const char *src,
		       size_t srclen);

#endif /* JVPN_UTIL_H */
