// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: JSON output, invariant bookkeeping, clocks, RSS, percentiles and
 * a deterministic PRNG.  See cplane.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cplane.h"

/* ---- JSON ---------------------------------------------------------------- */

#define J_DEPTH	16

static bool j_first[J_DEPTH] = { true };
static char j_close[J_DEPTH];
static int j_depth;

static void j_key(const char *key)
{
	if (!j_first[j_depth])
		putchar(',');
	j_first[j_depth] = false;
	if (key)
		printf("\"%s\":", key);
}

static void j_open(const char *key, char open, char close)
{
	j_key(key);
	putchar(open);
	if (j_depth + 1 < J_DEPTH)
		j_depth++;
	j_first[j_depth] = true;
	j_close[j_depth] = close;
}

void j_obj(const char *key)
{
	j_open(key, '{', '}');
}

void j_arr(const char *key)
{
	j_open(key, '[', ']');
}

void j_end(void)
{
	putchar(j_close[j_depth]);
	if (j_depth > 0)
		j_depth--;
	if (!j_depth)
		putchar('\n');
}

void j_u64(const char *key, uint64_t v)
{
	j_key(key);
	printf("%llu", (unsigned long long)v);
}

void j_num(const char *key, double v)
{
	j_key(key);
	if (isfinite(v))
		printf("%.6g", v);
	else
		fputs("null", stdout);
}

/* Only our own ASCII strings and error messages: escape the two that matter. */
void j_str(const char *key, const char *s)
{
	j_key(key);
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar((unsigned char)*s >= 0x20 ? *s : ' ');
	}
	putchar('"');
}

void j_bool(const char *key, bool v)
{
	j_key(key);
	fputs(v ? "true" : "false", stdout);
}

/* ---- invariants ---------------------------------------------------------- */

#define CP_MAX_KEPT	32

static unsigned int n_checks, n_failed;
static char *kept[CP_MAX_KEPT];

bool cp_check(bool ok, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	n_checks++;
	if (ok)
		return true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cplane: INVARIANT VIOLATED: %s\n", msg);
	if (n_failed < CP_MAX_KEPT)
		kept[n_failed] = strdup(msg);
	n_failed++;
	return false;
}

unsigned int cp_checks(void)
{
	return n_checks;
}

unsigned int cp_failures(void)
{
	return n_failed;
}

void cp_failures_json(void)
{
	unsigned int i;

	j_arr("failures");
	for (i = 0; i < n_failed && i < CP_MAX_KEPT; i++) {
		j_str(NULL, kept[i] ? kept[i] : "(out of memory)");
		free(kept[i]);
		kept[i] = NULL;
	}
	j_end();
}

/* Progress on stderr, with the seconds since the first call. */
void cp_progress(const char *fmt, ...)
{
	static uint64_t t0;
	va_list ap;

	if (!t0)
		t0 = cp_now_ns();
	fprintf(stderr, "cplane: %6.1f s: ", (cp_now_ns() - t0) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- measuring ----------------------------------------------------------- */

uint64_t cp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cp_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cp_rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t cp_pctl(uint64_t *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	k = (size_t)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

static uint64_t rng_state = 0x6a76706e63706c61ull;	/* "jvpncpla" */

void cp_seed(uint64_t s)
{
	rng_state = s;
}

uint64_t cp_rand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t cp_below(uint32_t n)
{
	return n ? (uint32_t)(cp_rand() % n) : 0;
}

uint32_t *cp_permutation(uint32_t n)
{
	uint32_t *p = malloc((n ? n : 1) * sizeof(*p));
	uint32_t i, j, t;

	if (!p)
		return NULL;
	for (i = 0; i < n; i++)
		p[i] = i;
	for (i = n; i > 1; i--) {
		j = cp_below(i);
		t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}
