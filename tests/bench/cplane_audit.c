// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * cplane: the audit log (daemon/audit.c) against sinks of three speeds.
 * jvpnd opens its sink O_NONBLOCK and drains the ring once per loop
 * iteration (lifecycle.c jvpnd_audit_flush()); a pipe whose reader is
 * slow, or never reads, must cost it records, never time.
 *
 * Each sink gets the same stream: a reattach-refusal SECURITY_EVENT (the
 * record a flood produces) per event, audit_flush() after every
 * CP_FLUSH_EVERY events (one loop iteration's worth of messages), both
 * timed together.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cplane.h"

#define TIMELINE_SESSIONS	1024

struct sink {
	const char *name;
	unsigned int delay_us;		/* sleep after each read */
	size_t chunk;			/* bytes per read, 0: no reader */
	/* Reader thread. */
	int rfd;
	pthread_t thread;
	uint64_t read_bytes;
};

static void *reader(void *arg)
{
	struct sink *k = arg;
	struct timespec ts = { .tv_nsec = (long)k->delay_us * 1000 };
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(k->rfd, buf, k->chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;	/* EOF: the writer closed */
		k->read_bytes += (uint64_t)n;
		if (k->delay_us)
			nanosleep(&ts, NULL);
	}
}

static void emit_chunk(struct audit *a, struct audit_clock *clk,
		       uint64_t first, unsigned int n)
{
	struct audit_kv kv[] = {
		{ .key = "error", .type = AUDIT_KV_STR, .s = "mac" },
		{ .key = "remote", .type = AUDIT_KV_STR,
		  .s = "203.0.113.7:40000" },
	};
	struct audit_record r = {
		.type = AUDIT_T_SECURITY,
		.action = AUDIT_ACT_REATTACH_REJECTED,
		.reason = FSM_R_REATTACH_PROOF_INVALID,
		.extra = kv,
		.n_extra = 2,
	};
	unsigned int i;

	for (i = 0; i < n; i++) {
		r.session_id = (uint32_t)((first + i) % TIMELINE_SESSIONS) + 1;
		audit_emit(a, &r, clk);
	}
	audit_flush(a);
}

struct sink_res {
	uint64_t ns, max_ns, *chunk_ns, cpu;
	size_t n_chunks;
	long vcsw, ivcsw;	/* context switches: slept, preempted */
};

/*
 * Wall time per loop iteration (what the event loop waits), the thread's
 * CPU time, and its context switches: a voluntary one means it slept.
 */
static void run_stream(struct audit *a, uint32_t events, struct sink_res *sr)
{
	struct audit_clock clk = { .mono_ms = 1000, .wall_ms = 1780000000000 };
	uint64_t k, t0, dt, c0 = cp_cpu_ns();
	struct rusage r0, r1;
	unsigned int m;

	getrusage(RUSAGE_THREAD, &r0);
	for (k = 0; k < events; k += m) {
		m = events - k < CP_FLUSH_EVERY ? events - k : CP_FLUSH_EVERY;
		t0 = cp_now_ns();
		emit_chunk(a, &clk, k, m);
		dt = cp_now_ns() - t0;
		sr->ns += dt;
		if (dt > sr->max_ns)
			sr->max_ns = dt;
		sr->chunk_ns[sr->n_chunks++] = dt;
		clk.mono_ms++;
	}
	sr->cpu = cp_cpu_ns() - c0;
	getrusage(RUSAGE_THREAD, &r1);
	sr->vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
	sr->ivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
}

static int open_sink(struct sink *k, int *wfd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	k->rfd = p[0];
	*wfd = p[1];
	if (fcntl(*wfd, F_SETFL, fcntl(*wfd, F_GETFL) | O_NONBLOCK))
		return -errno;
	if (k->chunk && pthread_create(&k->thread, NULL, reader, k))
		return -EAGAIN;
	return 0;
}

static void sink_json(const struct sink *k, const struct audit_stats *as,
		      const struct sink_res *sr, uint32_t events,
		      long pipe_bytes)
{
	j_obj(NULL);
	j_str("sink", k->name);
	j_u64("reader_chunk", k->chunk);
	j_u64("reader_delay_us", k->delay_us);
	j_u64("events", events);
	j_num("ns_per_event", events ? (double)sr->ns / events : 0);
	j_num("cpu_ns_per_event", events ? (double)sr->cpu / events : 0);
	j_u64("voluntary_switches", (uint64_t)sr->vcsw);
	j_u64("involuntary_switches", (uint64_t)sr->ivcsw);
	j_num("chunk_us_max", sr->max_ns / 1e3);
	j_num("chunk_us_p99",
	      cp_pctl(sr->chunk_ns, sr->n_chunks, 99) / 1e3);
	j_u64("emitted", as->emitted);
	j_u64("dropped", as->dropped);
	j_u64("bytes_written", as->bytes_written);
	j_u64("write_blocked", as->write_blocked);
	j_u64("reader_bytes", k->read_bytes);
	j_num("pipe_bytes", (double)pipe_bytes);
	j_end();
}

static void check_sink(const struct sink *k, const struct audit *a,
		       const struct sink_res *sr, uint32_t events,
		       long pipe_bytes)
{
	const struct audit_stats *as = audit_get_stats(a);

	/* Its only system call is a non-blocking write(): it never sleeps. */
	if (!k->chunk)
		cp_check(sr->vcsw == 0, "audit %s: the writer slept %ld times",
			 k->name, sr->vcsw);

	cp_check(as->emitted + as->dropped == events,
		 "audit %s: %llu emitted + %llu dropped != %u events", k->name,
		 (unsigned long long)as->emitted,
		 (unsigned long long)as->dropped, events);
	cp_check(audit_next_seq(a) == as->emitted + 1,
		 "audit %s: sequence numbers have gaps", k->name);
	if (!k->chunk)
		cp_check(as->dropped > 0 && pipe_bytes > 0 &&
			 as->bytes_written <= (uint64_t)pipe_bytes,
			 "audit %s: a sink that never reads took %llu bytes, "
			 "%llu records dropped", k->name,
			 (unsigned long long)as->bytes_written,
			 (unsigned long long)as->dropped);
	else
		cp_check(k->read_bytes == as->bytes_written,
			 "audit %s: reader got %llu of %llu bytes written",
			 k->name, (unsigned long long)k->read_bytes,
			 (unsigned long long)as->bytes_written);
}

static void one_sink(struct sink *k, uint32_t events)
{
	struct audit_config ac = { .ring_bytes = CP_AUDIT_RING,
				   .timeline_sessions = TIMELINE_SESSIONS };
	struct sink_res sr = { 0 };
	struct audit a;
	long pipe_bytes;
	int wfd = -1;

	sr.chunk_ns = calloc(events / CP_FLUSH_EVERY + 1, sizeof(uint64_t));
	randombytes_buf(ac.hash_key, sizeof(ac.hash_key));
	if (!cp_check(sr.chunk_ns && !open_sink(k, &wfd),
		      "audit %s: set-up failed", k->name))
		return;
	pipe_bytes = fcntl(wfd, F_GETPIPE_SZ);
	ac.fd = wfd;
	if (cp_check(!audit_init(&a, &ac), "audit %s: init", k->name)) {
		run_stream(&a, events, &sr);
		close(wfd);	/* EOF once the reader has read it all */
		if (k->chunk)
			pthread_join(k->thread, NULL);
		check_sink(k, &a, &sr, events, pipe_bytes);
		sink_json(k, audit_get_stats(&a), &sr, events, pipe_bytes);
		audit_destroy(&a);
	} else {
		close(wfd);
		if (k->chunk)
			pthread_join(k->thread, NULL);
	}
	close(k->rfd);
	free(sr.chunk_ns);
}

void cp_bench_audit(const struct cp_opts *o)
{
	struct sink sinks[] = {
		{ .name = "fast", .chunk = 65536 },
		{ .name = "slow", .chunk = 4096, .delay_us = 10000 },
		{ .name = "stalled", .chunk = 0 },
	};
	unsigned int i;

	j_obj("audit_sink");
	j_u64("ring_bytes", CP_AUDIT_RING);
	j_u64("flush_every", CP_FLUSH_EVERY);
	j_arr("sinks");
	for (i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		one_sink(&sinks[i], o->audit_events);
	j_end();
	j_end();
}
