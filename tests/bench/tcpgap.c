// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcpgap: a paced TCP stream whose receiver reports every pause in the
 * delivered bytes, for the failover benchmark (tests/bench/guest.sh): the
 * outage of a path cut as a TCP application sees it, retransmission
 * back-off included, and whether the connection survived.
 *
 *   tcpgap recv ADDR PORT [gap-ms N]
 *   tcpgap send ADDR PORT RATE_KBIT SECONDS
 *
 * recv accepts one connection and reads until it ends.  send connects,
 * then writes RATE_KBIT kbit/s in 1 ms slices on a fixed schedule (a
 * slice missed while blocked is sent late, not dropped), for SECONDS.
 *
 * Lines, each starting with the wall clock in microseconds (CLOCK_REALTIME,
 * the clock of bash's EPOCHREALTIME and ping -D), line-buffered:
 *
 *   T ready                       (recv: listening; send: connected)
 *   T gap FROM_US MS BYTES        (recv: no byte for MS >= gap-ms, default
 *                                  20, since FROM_US; BYTES delivered so far)
 *   T end BYTES                   (orderly end of the stream)
 *   T error WHAT ERRNO NAME       (a reset or any other failure: exit 1)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_US	1000
#define CHUNK_MAX	65536

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t wall_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

static int fail(const char *what)
{
	int e = errno;

	printf("%llu error %s %d %s\n", (unsigned long long)wall_us(), what,
	       e, strerror(e));
	return 1;
}

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	char *end;
	unsigned long port = strtoul(p, &end, 10);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (*end || !port || port > 65535 ||
	    inet_pton(AF_INET, a, &sa->sin_addr) != 1) {
		fprintf(stderr, "tcpgap: bad address %s:%s\n", a, p);
		return -1;
	}
	return 0;
}

static int do_recv(const struct sockaddr_in *sa, uint64_t gap_us)
{
	static char buf[CHUNK_MAX];
	uint64_t bytes = 0, last = 0, now, last_wall = 0;
	int one = 1, ls, fd;
	ssize_t n;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one)) ||
	    bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    listen(ls, 1))
		return fail("listen");
	printf("%llu ready\n", (unsigned long long)wall_us());
	fd = accept(ls, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	close(ls);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read");
		now = clock_us(CLOCK_MONOTONIC);
		if (last && now - last >= gap_us)
			printf("%llu gap %llu %.1f %llu\n",
			       (unsigned long long)wall_us(),
			       (unsigned long long)last_wall,
			       (double)(now - last) / 1000.0,
			       (unsigned long long)bytes);
		if (!n)
			break;
		bytes += (uint64_t)n;
		last = now;
		last_wall = wall_us();
	}
	printf("%llu end %llu\n", (unsigned long long)wall_us(),
	       (unsigned long long)bytes);
	return 0;
}

static int do_send(const struct sockaddr_in *sa, uint64_t rate_kbit,
		   uint64_t seconds)
{
	static char buf[CHUNK_MAX];
	uint64_t slice = rate_kbit * 1000 / 8 * SLICE_US / 1000000;
	uint64_t start, next, end, owed = 0;
	struct timespec ts;
	int one = 1, fd;
	ssize_t n;

	if (!slice || slice > CHUNK_MAX) {
		fprintf(stderr, "tcpgap: rate out of range\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
		return fail("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	printf("%llu ready\n", (unsigned long long)wall_us());
	start = clock_us(CLOCK_MONOTONIC);
	end = start + seconds * 1000000;
	for (next = start; next < end; next += SLICE_US) {
		owed += slice;
		while (owed) {
			n = write(fd, buf, owed < CHUNK_MAX ? owed : CHUNK_MAX);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return fail("write");
			owed -= (uint64_t)n;
		}
		ts.tv_sec = (time_t)((next + SLICE_US) / 1000000);
		ts.tv_nsec = (long)((next + SLICE_US) % 1000000 * 1000);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
	}
	if (shutdown(fd, SHUT_WR))
		return fail("shutdown");
	/* Until the receiver has everything and closes: a reset shows here. */
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno != EINTR)
			return fail("read");
	}
	printf("%llu end sent\n", (unsigned long long)wall_us());
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: tcpgap recv ADDR PORT [gap-ms N]\n"
			"       tcpgap send ADDR PORT RATE_KBIT SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	uint64_t gap_ms = 20;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || parse_addr(argv[2], argv[3], &sa))
		return usage();
	if (!strcmp(argv[1], "recv")) {
		if (argc == 6 && !strcmp(argv[4], "gap-ms"))
			gap_ms = strtoull(argv[5], NULL, 10);
		else if (argc != 4)
			return usage();
		return do_recv(&sa, gap_ms * 1000);
	}
	if (!strcmp(argv[1], "send") && argc == 6)
		return do_send(&sa, strtoull(argv[4], NULL, 10),
			       strtoull(argv[5], NULL, 10));
	return usage();
}
