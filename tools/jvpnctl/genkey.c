// SPDX-License-Identifier: MIT
/*
 * jvpnctl genkey | pubkey: X25519 keys in base64, as wg(8) does it, so
 * that keys can be made and checked without the daemon:
 *
 *   jvpnctl genkey | tee private.key | jvpnctl pubkey > public.key
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "jvpnctl.h"

/* Longest private key text accepted on stdin (hex plus blanks). */
#define KEY_TEXT_MAX	128

static void init_sodium(void)
{
	if (sodium_init() < 0)
		fail(-EIO, "initialising libsodium");
}

static void no_args(int argc, char **argv)
{
	if (argc > 0)
		args_unknown(argv[0]);
}

/* Like wg: a private key should not land in a file others can read. */
static void warn_if_world_readable(void)
{
	struct stat st;

	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0077))
		warn_msg("warning: writing a private key to a file that "
			 "others can read");
}

static void put_key(uint8_t key[JVPN_KEY_LEN])
{
	char b64[JVPN_KEY_B64_LEN + 1];

	jvpn_key_to_base64(key, b64);
	sodium_memzero(key, JVPN_KEY_LEN);
	puts(b64);
	sodium_memzero(b64, sizeof(b64));
	if (fflush(stdout) || ferror(stdout))
		fail(-EIO, "writing the key");
}

static int genkey_run(int argc, char **argv)
{
	uint8_t key[JVPN_KEY_LEN];

	no_args(argc, argv);
	init_sodium();
	warn_if_world_readable();
	randombytes_buf(key, sizeof(key));
	/* Clamp as RFC 7748 (and wg genkey) do; X25519 ignores these bits. */
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
	put_key(key);
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads the private key text from stdin and decodes it. */
static void read_private_key(uint8_t key[JVPN_KEY_LEN])
{
	char buf[KEY_TEXT_MAX + 2];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
	size_t start = 0;
	int err;

	if (ferror(stdin))
		fail(-EIO, "reading a private key from stdin");
	while (n > 0 && is_blank(buf[n - 1]))
		n--;
	while (start < n && is_blank(buf[start]))
		start++;
	err = n > KEY_TEXT_MAX ? -EINVAL :
	      jvpn_key_from_text(buf + start, n - start, key);
	sodium_memzero(buf, sizeof(buf));
	if (err)
		fail(err, "reading a private key from stdin (44 base64 "
		     "characters or 64 hex digits)");
}

static int pubkey_run(int argc, char **argv)
{
	uint8_t priv[JVPN_KEY_LEN], pub[JVPN_KEY_LEN];
	int err;

	no_args(argc, argv);
	init_sodium();
	read_private_key(priv);
	err = crypto_scalarmult_base(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	if (err)
		fail(-EINVAL, "computing the public key");
	put_key(pub);
	return 0;
}

const struct command genkey_command = { NULL, genkey_run, "" };
const struct command pubkey_command = { NULL, pubkey_run, "" };
