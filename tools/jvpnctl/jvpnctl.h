/* SPDX-License-Identifier: MIT */
/*
 * jvpnctl internals shared by the per-object command files.
 */
#ifndef JVPNCTL_H
#define JVPNCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "jvpn_nl.h"
#include "out.h"

#ifndef JVPN_VERSION
#define JVPN_VERSION "0.1.0"
#endif

#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "jvpnctl OBJECT NAME ARGS": run gets ARGS (argv[0] is the first one). */
struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;		/* ARGS synopsis */
};

/* Command tables end with an entry whose name is NULL. */
extern const struct command dev_commands[];
extern const struct command socket_commands[];
extern const struct command session_commands[];
extern const struct command key_commands[];
extern const struct command path_commands[];
/* Commands without an OBJECT: "jvpnctl monitor [DEV]". */
extern const struct command monitor_command;
extern const struct command genkey_command;
extern const struct command pubkey_command;
/* daemon.c: what jvpnd knows, over its control socket. */
extern const struct command sessions_command;
extern const struct command paths_command;
extern const struct command timeline_command;
extern const struct command status_command;

/* ---- main.c: process state, errors, netlink ---------------------------- */

struct jvpnctl {
	bool json;
	unsigned int timeout_s;		/* for jvpnd's answer; 0: forever */
	const char *object;		/* "session", or NULL for monitor... */
	const struct command *cmd;	/* for usage hints */
	struct jvpn_nl *nl;		/* opened on first use */
};

extern struct jvpnctl ctl;

/* "jvpnctl: OBJ CMD: <msg>" plus the command's usage line; exit 2. */
_Noreturn void usage_error(const char *fmt, ...) PRINTF(1, 2);
/* "jvpnctl: <what>: <strerror(-err)>"; exit 1. */
_Noreturn void fail(int err, const char *fmt, ...) PRINTF(2, 3);
/* As fail, followed by ": <kernel extack message>" when there is one. */
_Noreturn void nl_fail(int err, const char *fmt, ...) PRINTF(2, 3);
void warn_msg(const char *fmt, ...) PRINTF(1, 2);

/* The request socket, opened (or failed with a clear message) on demand. */
struct jvpn_nl *ctl_nl(void);
/* A request for DEV; exits if DEV does not exist. */
struct nl_msg *ctl_dev_msg(uint8_t cmd, int flags, const char *dev);
/* A request without a device (dumps of all devices). */
struct nl_msg *ctl_msg(uint8_t cmd, int flags);
/* Sends msg; on failure exits with "<what>: <error>: <extack>". */
void ctl_request(struct nl_msg *msg, jvpn_nl_msg_fn fn, void *arg,
		 const char *what_fmt, ...) PRINTF(4, 5);
/* Checks the result of an nla_put*() while building a request. */
void put_ok(int ret);

/* ---- args.c: keyword arguments ----------------------------------------- */

struct args {
	int argc;
	char **argv;
	int pos;
};

void args_init(struct args *a, int argc, char **argv);
/* The next word, or NULL at the end. */
const char *args_next(struct args *a);
/* The word after keyword kw; a usage error if there is none. */
const char *args_value(struct args *a, const char *kw);
uint64_t args_u64(struct args *a, const char *kw);
uint32_t args_u32(struct args *a, const char *kw);
uint8_t args_u8(struct args *a, const char *kw);
/* The leading DEV argument (required). */
const char *args_dev(struct args *a);
/* "id ID": ID must not be 0 (jvpn ids start at 1). */
uint32_t args_id(struct args *a, const char *kw);
_Noreturn void args_unknown(const char *word);
/* Usage error "missing 'kw'" unless given. */
void args_require(bool given, const char *kw);
/* Usage error unless the last argument has been consumed. */
void args_end(struct args *a);

/* ---- print.c: replies to text/JSON ------------------------------------- */

void print_dev(struct nlattr **tb);
void print_session(struct nlattr **tb);
void print_path(struct nlattr **tb);
/* Every path of a reply: a JVPN_A_PATHS nest or one flat path. */
void print_paths_of(struct nlattr **tb);
void print_remote(const char *key, struct nlattr **tb);
const char *event_name(uint32_t type);
const char *family_name(int family);

#endif /* JVPNCTL_H */
