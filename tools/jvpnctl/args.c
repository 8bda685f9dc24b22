// SPDX-License-Identifier: MIT
/*
 * Keyword argument parsing: commands take "DEV keyword value ..." in any
 * order, like ip(8) and wg(8).  Every helper turns bad input into a
 * usage error that names the offending word.
 */
#include <errno.h>
#include <string.h>

#include "jvpnctl.h"

void args_init(struct args *a, int argc, char **argv)
{
	a->argc = argc;
	a->argv = argv;
	a->pos = 0;
}

const char *args_next(struct args *a)
{
	return a->pos < a->argc ? a->argv[a->pos++] : NULL;
}

const char *args_value(struct args *a, const char *kw)
{
	const char *v = args_next(a);

	if (!v)
		usage_error("'%s' needs a value", kw);
	return v;
}

static _Noreturn void bad_number(const char *kw, const char *v, int err)
{
	usage_error("invalid value '%s' for '%s'%s", v, kw,
		    err == -ERANGE ? " (out of range)" : "");
}

uint64_t args_u64(struct args *a, const char *kw)
{
	const char *v = args_value(a, kw);
	uint64_t n;
	int err = jvpn_parse_u64(v, &n);

	if (err)
		bad_number(kw, v, err);
	return n;
}

uint32_t args_u32(struct args *a, const char *kw)
{
	const char *v = args_value(a, kw);
	uint32_t n;
	int err = jvpn_parse_u32(v, &n);

	if (err)
		bad_number(kw, v, err);
	return n;
}

uint8_t args_u8(struct args *a, const char *kw)
{
	const char *v = args_value(a, kw);
	uint8_t n;
	int err = jvpn_parse_u8(v, &n);

	if (err)
		bad_number(kw, v, err);
	return n;
}

uint32_t args_id(struct args *a, const char *kw)
{
	uint32_t id = args_u32(a, kw);

	if (!id)
		usage_error("'%s' must not be 0", kw);
	return id;
}

const char *args_dev(struct args *a)
{
	const char *dev = args_next(a);

	if (!dev)
		usage_error("missing DEV");
	return dev;
}

void args_unknown(const char *word)
{
	usage_error("unknown argument '%s'", word);
}

void args_require(bool given, const char *kw)
{
	if (!given)
		usage_error("missing '%s'", kw);
}

void args_end(struct args *a)
{
	if (a->pos < a->argc)
		args_unknown(a->argv[a->pos]);
}
