// SPDX-License-Identifier: MIT
/*
 * jvpnctl - operator's command line interface to jvpn devices.
 *
 *   jvpnctl [-j|--json] [-t|--timeout SEC] [-h|--help] [--version]
 *           OBJECT COMMAND [ARGS]
 *
 * This file holds option parsing, dispatch to the per-object command
 * tables, help texts and the error/exit conventions: runtime failures
 * exit 1 with "jvpnctl: <what>: <strerror>[: <kernel message>]", usage
 * errors exit 2 with a one-line hint.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jvpnctl.h"

struct jvpnctl ctl = { .timeout_s = 10 };

struct object {
	const char *name;
	const struct command *commands;	/* OBJECT COMMAND ... */
	const struct command *single;	/* or a command of its own */
	const char *summary;
};

static const struct object objects[] = {
	{ "dev", dev_commands, NULL, "show and tune jvpn devices" },
	{ "socket", socket_commands, NULL, "attach and detach UDP sockets" },
	{ "session", session_commands, NULL, "add, change, remove sessions" },
	{ "key", key_commands, NULL, "install, swap and clear session keys" },
	{ "path", path_commands, NULL, "manage and switch session paths" },
	{ "monitor", NULL, &monitor_command, "print kernel events" },
	{ "genkey", NULL, &genkey_command, "new X25519 private key" },
	{ "pubkey", NULL, &pubkey_command, "public key of a private key" },
	{ "sessions", NULL, &sessions_command, "jvpnd's sessions and states" },
	{ "paths", NULL, &paths_command, "jvpnd's paths: standby quality, why (not) used" },
	{ "timeline", NULL, &timeline_command, "a session's history (jvpnd)" },
	{ "status", NULL, &status_command, "jvpnd's counters" },
};

#define N_OBJECTS ARRAY_SIZE(objects)

/* ---- errors ------------------------------------------------------------ */

static void vmsg(const char *fmt, va_list ap)
{
	fputs("jvpnctl: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static void print_usage_line(FILE *f, const char *object,
			     const struct command *cmd)
{
	fprintf(f, "usage: jvpnctl %s%s%s%s%s\n", object ? object : "",
		object && cmd->name ? " " : "", cmd->name ? cmd->name : "",
		*cmd->usage ? " " : "", cmd->usage);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	out_close_all();
	fputs("jvpnctl: ", stderr);
	if (ctl.object)
		fprintf(stderr, "%s%s%s: ", ctl.object,
			ctl.cmd && ctl.cmd->name ? " " : "",
			ctl.cmd && ctl.cmd->name ? ctl.cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctl.cmd)
		print_usage_line(stderr, ctl.object, ctl.cmd);
	exit(2);
}

void fail(int err, const char *fmt, ...)
{
	va_list ap;

	out_close_all();
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(abs(err)));
	exit(1);
}

void nl_fail(int err, const char *fmt, ...)
{
	const char *extack = ctl.nl ? jvpn_nl_errmsg(ctl.nl) : "";
	va_list ap;

	out_close_all();
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s%s%s\n", strerror(abs(err)), *extack ? ": " : "",
		extack);
	exit(1);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- netlink ----------------------------------------------------------- */

struct jvpn_nl *ctl_nl(void)
{
	int err;

	if (ctl.nl)
		return ctl.nl;
	err = jvpn_nl_open(&ctl.nl);
	if (err == -ENOENT) {
		out_close_all();
		fprintf(stderr, "jvpnctl: %s\n", JVPN_NL_NOFAMILY_MSG);
		exit(1);
	}
	if (err)
		fail(err, "opening a generic netlink socket");
	return ctl.nl;
}

struct nl_msg *ctl_dev_msg(uint8_t cmd, int flags, const char *dev)
{
	struct nl_msg *msg = jvpn_nl_dev_msg(ctl_nl(), cmd, flags, dev);

	if (!msg)
		fail(-errno, "%s", dev);
	return msg;
}

struct nl_msg *ctl_msg(uint8_t cmd, int flags)
{
	struct nl_msg *msg = jvpn_nl_msg(ctl_nl(), cmd, flags, 0);

	if (!msg)
		fail(-ENOMEM, "building a request");
	return msg;
}

void ctl_request(struct nl_msg *msg, jvpn_nl_msg_fn fn, void *arg,
		 const char *fmt, ...)
{
	int err = jvpn_nl_request(ctl_nl(), msg, fn, arg);
	char what[256];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	nl_fail(err, "%s", what);
}

void put_ok(int ret)
{
	if (ret < 0)
		fail(-EMSGSIZE, "building a request");
}

static void close_nl(void)
{
	jvpn_nl_close(ctl.nl);
	ctl.nl = NULL;
}

/* ---- help -------------------------------------------------------------- */

static void print_object_usage(FILE *f, const struct object *obj)
{
	const struct command *c;

	if (obj->single) {
		fprintf(f, "  jvpnctl %s%s%s\n", obj->name,
			*obj->single->usage ? " " : "", obj->single->usage);
		return;
	}
	for (c = obj->commands; c->name; c++)
		fprintf(f, "  jvpnctl %s %s %s\n", obj->name, c->name,
			c->usage);
}

static void print_help(void)
{
	size_t i;

	printf("Usage: jvpnctl [-j|--json] [-t|--timeout SEC] [-h|--help] "
	       "[--version] OBJECT COMMAND [ARGS]\n\nObjects:\n");
	for (i = 0; i < N_OBJECTS; i++)
		printf("  %-8s %s\n", objects[i].name, objects[i].summary);
	printf("\nCommands:\n");
	for (i = 0; i < N_OBJECTS; i++)
		print_object_usage(stdout, &objects[i]);
	printf("\nOptions:\n"
	       "  -j, --json           print JSON (show and add commands, "
	       "monitor)\n"
	       "  -t, --timeout SEC    wait at most SEC seconds for jvpnd's "
	       "answer\n"
	       "                       (sessions, paths, status, timeline; "
	       "default 10, 0: forever)\n"
	       "  -h, --help           print this help; 'jvpnctl OBJECT help' "
	       "for one object\n"
	       "  --version            print the version\n"
	       "\nKEY: 64 hex digits, 44 base64 characters or @FILE. "
	       "See jvpnctl(8).\n");
}

static bool is_help(const char *word)
{
	return !strcmp(word, "help") || !strcmp(word, "-h") ||
	       !strcmp(word, "--help");
}

/* ---- dispatch ---------------------------------------------------------- */

/* Returns the index of the first non-option argument. */
static int parse_options(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "-j") || !strcmp(opt, "--json")) {
			ctl.json = true;
		} else if (!strcmp(opt, "-t") || !strcmp(opt, "--timeout")) {
			if (++i == argc ||
			    jvpn_parse_u32(argv[i], &ctl.timeout_s) ||
			    ctl.timeout_s > 86400)
				usage_error("%s needs a number of seconds, "
					    "0 to 86400", opt);
		} else if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			print_help();
			exit(0);
		} else if (!strcmp(opt, "--version")) {
			printf("jvpnctl %s (netlink family %s version %d)\n",
			       JVPN_VERSION, JVPN_FAMILY_NAME,
			       JVPN_FAMILY_VERSION);
			exit(0);
		} else if (!strcmp(opt, "--")) {
			return i + 1;
		} else {
			usage_error("unknown option '%s'; try 'jvpnctl --help'",
				    opt);
		}
	}
	return i;
}

static const struct object *find_object(const char *name)
{
	size_t i;

	for (i = 0; i < N_OBJECTS; i++)
		if (!strcmp(objects[i].name, name))
			return &objects[i];
	return NULL;
}

static const struct command *find_command(const struct object *obj,
					  int argc, char **argv)
{
	const struct command *c;

	if (argc < 1)
		usage_error("missing command; try 'jvpnctl %s help'",
			    obj->name);
	if (is_help(argv[0])) {
		printf("Usage:\n");
		print_object_usage(stdout, obj);
		exit(0);
	}
	for (c = obj->commands; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c;
	usage_error("unknown command '%s'; try 'jvpnctl %s help'", argv[0],
		    obj->name);
}

int main(int argc, char **argv)
{
	int i = parse_options(argc, argv);
	const struct object *obj;

	out_init(ctl.json ? OUT_JSON : OUT_TEXT);
	atexit(close_nl);
	if (i == argc)
		usage_error("missing OBJECT; try 'jvpnctl --help'");
	if (is_help(argv[i])) {
		print_help();
		return 0;
	}
	obj = find_object(argv[i]);
	if (!obj)
		usage_error("unknown object '%s'; try 'jvpnctl --help'",
			    argv[i]);
	ctl.object = obj->name;
	argc -= i + 1;
	argv += i + 1;
	ctl.cmd = obj->single;
	if (!ctl.cmd) {
		ctl.cmd = find_command(obj, argc, argv);
		argc--;
		argv++;
	}
	if (argc > 0 && is_help(argv[0])) {
		print_usage_line(stdout, ctl.object, ctl.cmd);
		return 0;
	}
	return ctl.cmd->run(argc, argv);
}
