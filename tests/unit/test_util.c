// SPDX-License-Identifier: MIT
/*
 * Unit tests of tools/lib/util.c: number, endpoint, prefix, key and
 * base64 parsing, with good and bad input.  Built with ASan/UBSan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define B64_0_31	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define HEX_0_31	"000102030405060708090a0b0c0d0e0f" \
			"101112131415161718191a1b1c1d1e1f"

static void test_numbers(void)
{
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "0x10", "12a", "1.0", "١",
	};
	size_t i;

	tap_ok(!jvpn_parse_u32("0", &u32) && u32 == 0, "u32 0");
	tap_ok(!jvpn_parse_u32("4294967295", &u32) && u32 == UINT32_MAX,
	       "u32 max");
	TAP_EQ_INT(jvpn_parse_u32("4294967296", &u32), -ERANGE,
		   "u32 max + 1 is out of range");
	tap_ok(!jvpn_parse_u32("007", &u32) && u32 == 7,
	       "leading zeros are decimal, not octal");
	tap_ok(!jvpn_parse_u64("18446744073709551615", &u64) &&
	       u64 == UINT64_MAX, "u64 max");
	TAP_EQ_INT(jvpn_parse_u64("18446744073709551616", &u64), -ERANGE,
		   "u64 max + 1 is out of range");
	TAP_EQ_INT(jvpn_parse_u64("99999999999999999999999", &u64), -ERANGE,
		   "u64 far out of range");
	tap_ok(!jvpn_parse_u16("65535", &u16) && u16 == 65535, "u16 max");
	TAP_EQ_INT(jvpn_parse_u16("65536", &u16), -ERANGE, "u16 max + 1");
	tap_ok(!jvpn_parse_u8("255", &u8) && u8 == 255, "u8 max");
	TAP_EQ_INT(jvpn_parse_u8("256", &u8), -ERANGE, "u8 max + 1");
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		tap_ok(jvpn_parse_u32(bad[i], &u32) == -EINVAL,
		       "number \"%s\" refused", bad[i]);
}

/* Parses s and checks family and port, and that it formats back to s. */
static void endpoint_ok(const char *s, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const void *)&ss;
	char buf[JVPN_ENDPOINT_STRLEN];
	int err = jvpn_parse_endpoint(s, &ss);

	tap_ok(!err && ss.ss_family == family && ntohs(sin->sin_port) == port,
	       "endpoint %s", s);
	tap_ok(!err && !jvpn_format_endpoint((struct sockaddr *)&ss, buf,
					     sizeof(buf)) && !strcmp(buf, s),
	       "endpoint %s formats back (got %s)", s, err ? "-" : buf);
}

static void test_endpoints(void)
{
	static const char *const bad[] = {
		"", "192.0.2.1", "192.0.2.1:", ":51820", "192.0.2.1:65536",
		"192.0.2.1:-1", "192.0.2.1:1 ", " 192.0.2.1:1",
		"2001:db8::1:51820", "[2001:db8::1]51820", "[2001:db8::1]",
		"[2001:db8::1]:", "[192.0.2.1]:1", "[]:1", "256.0.0.1:1",
		"192.0.2:1", "host.example:1", "[fe80::1%eth0]:1",
		"[2001:db8::1:51820", "192.0.2.1:0x10",
	};
	struct sockaddr_storage ss;
	char small[8];
	size_t i;

	endpoint_ok("192.0.2.1:51820", AF_INET, 51820);
	endpoint_ok("[2001:db8::1]:51820", AF_INET6, 51820);
	endpoint_ok("0.0.0.0:0", AF_INET, 0);
	endpoint_ok("[::]:65535", AF_INET6, 65535);
	endpoint_ok("[::ffff:192.0.2.1]:1", AF_INET6, 1);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		tap_ok(jvpn_parse_endpoint(bad[i], &ss) == -EINVAL,
		       "endpoint \"%s\" refused", bad[i]);
	jvpn_parse_endpoint("[2001:db8::1]:51820", &ss);
	TAP_EQ_INT(jvpn_format_endpoint((struct sockaddr *)&ss, small,
					sizeof(small)), -ENOSPC,
		   "format endpoint into a short buffer");
	ss.ss_family = AF_UNIX;
	TAP_EQ_INT(jvpn_format_endpoint((struct sockaddr *)&ss, small,
					sizeof(small)), -EAFNOSUPPORT,
		   "format endpoint of another family");
}

static void prefix_ok(const char *s, int family, int len, const char *canon)
{
	struct jvpn_prefix p;
	char buf[JVPN_PREFIX_STRLEN];
	int err = jvpn_parse_prefix(s, &p);

	tap_ok(!err && p.family == family && p.len == len, "prefix %s", s);
	tap_ok(!err && !jvpn_format_prefix(&p, buf, sizeof(buf)) &&
	       !strcmp(buf, canon), "prefix %s formats as %s", s, canon);
}

static void test_prefixes(void)
{
	static const char *const bad[] = {
		"", "/24", "10.0.0.2/24", "10.0.0.1/31", "10.0.0.0/33",
		"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/2 4", "10.0.0.0/24/1",
		"10.0.0", "10.0.0.0 ", "fd00::/129", "fd00::1/120",
		"fd00::/64x", "fd00::g/64", "10.0.0.0/0x18", "[fd00::]/64",
	};
	struct jvpn_prefix p;
	size_t i;

	prefix_ok("10.0.0.2/32", AF_INET, 32, "10.0.0.2/32");
	prefix_ok("10.0.0.2", AF_INET, 32, "10.0.0.2/32");
	prefix_ok("10.0.0.0/24", AF_INET, 24, "10.0.0.0/24");
	prefix_ok("10.0.0.2/31", AF_INET, 31, "10.0.0.2/31");
	prefix_ok("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
	prefix_ok("fd00::/64", AF_INET6, 64, "fd00::/64");
	prefix_ok("fd00::2", AF_INET6, 128, "fd00::2/128");
	prefix_ok("fd00:0::1:0/112", AF_INET6, 112, "fd00::1:0/112");
	prefix_ok("::/0", AF_INET6, 0, "::/0");
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		tap_ok(jvpn_parse_prefix(bad[i], &p) == -EINVAL,
		       "prefix \"%s\" refused", bad[i]);
}

static void test_base64(void)
{
	static const char *const vec[][2] = {	/* RFC 4648, section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=", "Zh==", "Zm9=", "Z===", "=Zg=", "Zg=a", "Zm9v!",
		"Zm9*", "Zm 9", "Zm9v\t", "====", "Zg==Zg==",
	};
	uint8_t all[256], back[256];
	char text[400], out[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		size_t n = strlen(vec[i][0]);
		int len = jvpn_base64_decode(out, sizeof(out), vec[i][1],
					     strlen(vec[i][1]));

		tap_ok(jvpn_base64_encode(text, sizeof(text), vec[i][0], n) ==
		       (int)strlen(vec[i][1]) && !strcmp(text, vec[i][1]),
		       "base64 encode \"%s\"", vec[i][0]);
		tap_ok(len == (int)n && !memcmp(out, vec[i][0], n),
		       "base64 decode \"%s\"", vec[i][1]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		tap_ok(jvpn_base64_decode(out, sizeof(out), bad[i],
					  strlen(bad[i])) == -EINVAL,
		       "base64 \"%s\" refused", bad[i]);
	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	jvpn_base64_encode(text, sizeof(text), all, sizeof(all));
	tap_ok(jvpn_base64_decode(back, sizeof(back), text, strlen(text)) ==
	       (int)sizeof(all) && !memcmp(all, back, sizeof(all)),
	       "base64 round trip of every byte value");
	TAP_EQ_INT(jvpn_base64_decode(out, 2, "Zm9v", 4), -ENOSPC,
		   "base64 decode into a short buffer");
	TAP_EQ_INT(jvpn_base64_encode(text, 4, "f", 1), -ENOSPC,
		   "base64 encode without room for the NUL");
}

static bool is_0_31(const uint8_t *key)
{
	int i;

	for (i = 0; i < JVPN_KEY_LEN; i++)
		if (key[i] != i)
			return false;
	return true;
}

static bool is_zero(const uint8_t *key)
{
	int i;

	for (i = 0; i < JVPN_KEY_LEN; i++)
		if (key[i])
			return false;
	return true;
}

/* Writes text to a new temporary file; returns "@path" in arg. */
static void key_file(char *arg, size_t len, const char *text)
{
	char path[] = "/tmp/jvpn-test-key-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	snprintf(arg, len, "@%s", path);
}

static void test_key_files(void)
{
	uint8_t key[JVPN_KEY_LEN];
	char arg[64], big[300];

	key_file(arg, sizeof(arg), "  " B64_0_31 "\n");
	tap_ok(!jvpn_parse_key(arg, key) && is_0_31(key),
	       "key from a file with blanks around it");
	unlink(arg + 1);
	key_file(arg, sizeof(arg), HEX_0_31 "\r\n");
	tap_ok(!jvpn_parse_key(arg, key) && is_0_31(key), "hex key file");
	unlink(arg + 1);
	key_file(arg, sizeof(arg), "not a key\n");
	memset(key, 0xaa, sizeof(key));
	tap_ok(jvpn_parse_key(arg, key) == -EINVAL && is_zero(key),
	       "key file with garbage is refused and the key wiped");
	unlink(arg + 1);
	key_file(arg, sizeof(arg), "");
	TAP_EQ_INT(jvpn_parse_key(arg, key), -EINVAL, "empty key file");
	unlink(arg + 1);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	key_file(arg, sizeof(arg), big);
	TAP_EQ_INT(jvpn_parse_key(arg, key), -EFBIG, "oversized key file");
	unlink(arg + 1);
	TAP_EQ_INT(jvpn_parse_key("@/nonexistent/jvpn.key", key), -ENOENT,
		   "missing key file");
}

static void test_keys(void)
{
	static const char *const bad[] = {
		"", "@", B64_0_31 "A", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=A",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH*8=",
		HEX_0_31 "0", "000102030405060708090a0b0c0d0e0f"
		"101112131415161718191a1b1c1d1e1",
		"g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		" " B64_0_31,
	};
	uint8_t key[JVPN_KEY_LEN];
	char b64[JVPN_KEY_B64_LEN + 1];
	size_t i;

	tap_ok(!jvpn_parse_key(B64_0_31, key) && is_0_31(key), "base64 key");
	tap_ok(!jvpn_parse_key(HEX_0_31, key) && is_0_31(key), "hex key");
	tap_ok(!jvpn_parse_key("000102030405060708090A0B0C0D0E0F"
			       "101112131415161718191A1B1C1D1E1F", key) &&
	       is_0_31(key), "upper case hex key");
	jvpn_key_to_base64(key, b64);
	tap_ok(!strcmp(b64, B64_0_31), "key to base64");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(key, 0xaa, sizeof(key));
		tap_ok(jvpn_parse_key(bad[i], key) < 0 && is_zero(key),
		       "bad key \"%s\" refused and wiped", bad[i]);
	}
	test_key_files();
}

int main(void)
{
	test_numbers();
	test_endpoints();
	test_prefixes();
	test_base64();
	test_keys();
	return tap_done();
}
