/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for jvpn's native unit tests.  Each test binary
 * prints "ok N - name" / "not ok N - name" lines and a plan at the end;
 * tests/run.sh counts them.  Header-only so every test stays one file.
 */
#ifndef JVPN_TAP_H
#define JVPN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline void tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Prints the plan; returns the process exit status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Evaluates each argument exactly once. */
static inline void tap_eq_int(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s (got %lld, want %lld)", name, got, want);
}

#define TAP_EQ_INT(a, b, name) tap_eq_int((long long)(a), (long long)(b), name)

#endif /* JVPN_TAP_H */
