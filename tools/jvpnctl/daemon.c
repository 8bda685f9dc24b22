// SPDX-License-Identifier: MIT
/*
 * jvpnctl sessions | timeline | status: what jvpnd knows, read from its
 * control socket (/run/jvpn/IFNAME.sock, JSON lines, see
 * daemon/control.h).  The kernel's view is "jvpnctl session show"; this
 * is the daemon's: FSM state, version, peer, role and history.
 *
 *   jvpnctl [-j] sessions [IFNAME|SOCKET]
 *   jvpnctl [-j] paths [IFNAME|SOCKET]
 *   jvpnctl [-j] timeline IFNAME|SOCKET SESSION_ID
 *   jvpnctl [-j] status [IFNAME|SOCKET]
 *
 * Without IFNAME the only socket in /run/jvpn is used.  An argument with
 * a '/' is a socket path.  Text output is one "key value ..." line per
 * session or timeline entry, and one "key value" line per counter for
 * status; -j prints a JSON array (or one object for status).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonl.h"
#include "jvpnctl.h"

#define CONTROL_DIR	"/run/jvpn"
#define REPLY_LINE_MAX	16384

static void only_socket(char *path, size_t len)
{
	DIR *dir = opendir(CONTROL_DIR);
	struct dirent *e;
	int n = 0;

	if (!dir)
		fail(-errno, "%s", CONTROL_DIR);
	while ((e = readdir(dir))) {
		size_t l = strlen(e->d_name);

		if (l > 5 && !strcmp(e->d_name + l - 5, ".sock")) {
			snprintf(path, len, CONTROL_DIR "/%s", e->d_name);
			n++;
		}
	}
	closedir(dir);
	if (n != 1)
		usage_error("%s jvpnd sockets in " CONTROL_DIR ": name the "
			    "interface", n ? "several" : "no");
}

static void socket_path(const char *arg, char *path, size_t len)
{
	if (!arg)
		only_socket(path, len);
	else if (strchr(arg, '/'))
		snprintf(path, len, "%s", arg);
	else
		snprintf(path, len, CONTROL_DIR "/%s.sock", arg);
}

/*
 * A daemon that is stuck must not hang its operator (or a test script):
 * every read and write on the socket waits at most ctl.timeout_s.
 */
static void set_timeout(int fd)
{
	struct timeval tv = { .tv_sec = ctl.timeout_s };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		fail(-errno, "setsockopt");
}

static FILE *connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	FILE *f;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		fail(-ENAMETOOLONG, "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail(-errno, "socket");
	set_timeout(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		fail(-errno, "connecting to jvpnd at %s", path);
	f = fdopen(fd, "r+");
	if (!f)
		fail(-errno, "fdopen");
	return f;
}

/* "key value" pairs of one flat JSON object, separated by sep. */
static void print_text(const char *line, char sep)
{
	struct jsonl_member m;
	const char *p = line;
	bool first = true;
	int ret;

	if (jsonl_begin(&p))
		return;
	while ((ret = jsonl_next(&p, &m)) > 0) {
		if (!first)
			putchar(sep);
		printf("%s %s", m.key, m.val);
		first = false;
	}
	putchar('\n');
}

_Noreturn static void no_answer(const char *path, const char *doing)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		fail(-ETIMEDOUT, "jvpnd at %s did not answer within %u s "
		     "(--timeout)", path, ctl.timeout_s);
	fail(-errno, "%s jvpnd at %s", doing, path);
}

/* Sends request, prints every object until the final {"ok":...}. */
static int run_request(const char *arg, const char *request, bool array)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char line[REPLY_LINE_MAX];
	struct jsonl_member ok, err;
	FILE *f;
	int n = 0;

	socket_path(arg, path, sizeof(path));
	f = connect_daemon(path);
	if (fprintf(f, "%s\n", request) < 0 || fflush(f))
		no_answer(path, "writing to");
	if (ctl.json && array)
		putchar('[');
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!jsonl_get(line, "ok", &ok)) {
			if (ctl.json && array)
				puts("]");
			fclose(f);
			if (!strcmp(ok.val, "true"))
				return 0;
			if (jsonl_get(line, "error", &err))
				snprintf(err.val, sizeof(err.val), "failed");
			fprintf(stderr, "jvpnctl: jvpnd: %s\n", err.val);
			return 1;
		}
		if (ctl.json)
			printf("%s%s%s", n && array ? "," : "", line,
			       array ? "" : "\n");
		else
			print_text(line, array ? ' ' : '\n');
		n++;
	}
	if (ferror(f))
		no_answer(path, "reading from");
	fclose(f);
	fail(-EPIPE, "jvpnd at %s closed the connection", path);
}

static int sessions_run(int argc, char **argv)
{
	if (argc > 1)
		usage_error("too many arguments");
	return run_request(argc ? argv[0] : NULL, "{\"cmd\":\"sessions\"}",
			   true);
}

static int paths_run(int argc, char **argv)
{
	if (argc > 1)
		usage_error("too many arguments");
	return run_request(argc ? argv[0] : NULL, "{\"cmd\":\"paths\"}",
			   true);
}

static int status_run(int argc, char **argv)
{
	if (argc > 1)
		usage_error("too many arguments");
	return run_request(argc ? argv[0] : NULL, "{\"cmd\":\"status\"}",
			   false);
}

/* Decimal, or hexadecimal with 0x (the audit log writes "%08x"). */
static uint32_t parse_sid(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!strncmp(s, "0x", 2))
		v = strtoul(s + 2, &end, 16);
	else
		v = strtoul(s, &end, 10);
	if (errno || *end || end == s || !v || v > UINT32_MAX)
		usage_error("invalid session id '%s'", s);
	return (uint32_t)v;
}

static int timeline_run(int argc, char **argv)
{
	char req[64];

	if (argc != 2)
		usage_error("expected IFNAME and SESSION_ID");
	snprintf(req, sizeof(req), "{\"cmd\":\"timeline\",\"session\":%u}",
		 parse_sid(argv[1]));
	return run_request(argv[0], req, true);
}

const struct command sessions_command = { NULL, sessions_run, "[IFNAME]" };
const struct command paths_command = { NULL, paths_run, "[IFNAME]" };
const struct command timeline_command = {
	NULL, timeline_run, "IFNAME SESSION_ID"
};
const struct command status_command = { NULL, status_run, "[IFNAME]" };
