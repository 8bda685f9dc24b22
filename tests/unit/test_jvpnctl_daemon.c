// SPDX-License-Identifier: MIT
/*
 * jvpnctl against jvpnd's control socket, with a fake daemon in this
 * process: a daemon that never answers must not hang jvpnctl (it gives
 * up after --timeout with a message saying so), a daemon that hangs up
 * mid-answer is reported as such, and a normal answer still works.
 * Runs the sanitizer build of jvpnctl ($JVPNCTL, default
 * $(BUILD)/san/jvpnctl as built by make).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#ifndef JVPNCTL_BIN
#define JVPNCTL_BIN "build/san/jvpnctl"
#endif

enum fake { FAKE_SILENT, FAKE_HANGUP, FAKE_ANSWER };

struct run {
	int status;		/* exit status, or -1 */
	char out[1024];
	char err[1024];
	double secs;
};

static char sock_path[108];

static int listen_unix(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(fd, 4)) {
		perror("fake daemon socket");
		exit(1);
	}
	return fd;
}

/* The fake daemon's side of one connection, after the request arrived. */
static void fake_serve(int cfd, enum fake how)
{
	static const char answer[] =
		"{\"sessions\":1,\"paths_evicted\":0}\n{\"ok\":true}\n";
	static const char partial[] = "{\"sessions\":1";
	char req[256];

	if (recv(cfd, req, sizeof(req), 0) <= 0)
		return;
	if (how == FAKE_ANSWER)
		(void)!write(cfd, answer, sizeof(answer) - 1);
	else if (how == FAKE_HANGUP)
		(void)!write(cfd, partial, sizeof(partial) - 1);
}

static void read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
}

/*
 * Runs jvpnctl ARGS... while this process plays the daemon: accepts one
 * connection, serves it as HOW and keeps it open until jvpnctl exits.
 */
static void run_jvpnctl(struct run *r, enum fake how, char *const argv[])
{
	int lfd = listen_unix(), cfd = -1, out[2], err[2];
	struct timespec t0, t1;
	struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN } };
	pid_t pid;
	int st;

	if (pipe(out) || pipe(err))
		exit(1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* A jvpnctl that would hang is killed, and fails the test. */
		alarm(30);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* Either jvpnctl connects, or it ends (its stdout hangs up) first. */
	pfd[1].fd = out[0];
	if (poll(pfd, 2, 10000) > 0 && (pfd[0].revents & POLLIN)) {
		cfd = accept(lfd, NULL, NULL);
		if (cfd >= 0)
			fake_serve(cfd, how);
	}
	if (how == FAKE_HANGUP && cfd >= 0) {
		close(cfd);
		cfd = -1;
	}
	read_all(out[0], r->out, sizeof(r->out));
	read_all(err[0], r->err, sizeof(r->err));
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->secs = (double)(t1.tv_sec - t0.tv_sec) +
		  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (cfd >= 0)
		close(cfd);
	close(out[0]);
	close(err[0]);
	close(lfd);
	unlink(sock_path);
}

int main(void)
{
	const char *bin = getenv("JVPNCTL") ? getenv("JVPNCTL") : JVPNCTL_BIN;
	char *silent[] = { (char *)bin, "-t", "1", "status", sock_path, NULL };
	char *hangup[] = { (char *)bin, "status", sock_path, NULL };
	char *answer[] = { (char *)bin, "-j", "status", sock_path, NULL };
	char *bad_t[] = { (char *)bin, "--timeout", "soon", "status",
			  sock_path, NULL };
	char dir[] = "/tmp/jvpnctl-test.XXXXXX";
	struct run r;

	signal(SIGPIPE, SIG_IGN);
	if (access(bin, X_OK) || !mkdtemp(dir)) {
		printf("Bail out! no %s (make unit-tests builds it)\n", bin);
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/jvpn0.sock", dir);

	run_jvpnctl(&r, FAKE_SILENT, silent);
	TAP_EQ_INT(r.status, 1, "silent daemon: jvpnctl -t 1 exits 1");
	tap_ok(strstr(r.err, "did not answer within 1 s") != NULL,
	       "silent daemon: says it did not answer (%s)", r.err);
	tap_ok(r.secs < 5, "silent daemon: gave up after -t 1, not the "
	       "default 10 s (%.1f s)", r.secs);

	run_jvpnctl(&r, FAKE_HANGUP, hangup);
	TAP_EQ_INT(r.status, 1, "daemon hangs up mid-answer: exits 1");
	tap_ok(strstr(r.err, "closed the connection") != NULL,
	       "daemon hangs up mid-answer: says so (%s)", r.err);

	run_jvpnctl(&r, FAKE_ANSWER, answer);
	TAP_EQ_INT(r.status, 0, "answering daemon: exits 0");
	tap_ok(strstr(r.out, "\"paths_evicted\":0") != NULL,
	       "answering daemon: its answer printed (%s)", r.out);

	run_jvpnctl(&r, FAKE_SILENT, bad_t);
	TAP_EQ_INT(r.status, 2, "--timeout soon: usage error, exit 2");
	tap_ok(strstr(r.err, "--timeout needs a number of seconds") != NULL,
	       "--timeout soon: says what it needs (%s)", r.err);

	rmdir(dir);
	return tap_done();
}
