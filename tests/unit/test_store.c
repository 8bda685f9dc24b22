// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Embedded ownership store (daemon/store.c): CAS on the version, two
 * owners racing, stale versions, TTL expiry, touch/del ownership, a full
 * table as a clean counted error, and backward-shift deletion keeping
 * every key reachable.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "../../daemon/store.h"

static const uint8_t hkey[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
				  9, 10, 11, 12, 13, 14, 15, 16 };
#define A 101u	/* node ids */
#define B 202u

static void test_cas(void)
{
	const struct store_ops *o = &store_mem_ops;
	struct store_record rec;
	struct store_mem m;

	TAP_EQ_INT(store_mem_init(&m, 8, hkey), 0, "init");
	TAP_EQ_INT(o->get(&m, 7, 0, &rec), -ENOENT, "absent record");
	TAP_EQ_INT(o->cas(&m, 7, 0, A, 1000, 0, &rec), 0,
		   "create with expected version 0");
	tap_ok(rec.version == 1 && rec.owner == A && rec.expires_ms == 1000,
	       "created: version 1, owner A, expiry now+ttl");
	/* Two owners race on the same view (version 1). */
	TAP_EQ_INT(o->cas(&m, 7, 1, A, 1000, 10, &rec), 0, "A wins the race");
	TAP_EQ_INT(o->cas(&m, 7, 1, B, 1000, 10, &rec), -ESTALE,
		   "B loses: version moved");
	TAP_EQ_INT(o->cas(&m, 7, 2, B, 1000, 10, NULL), -EPERM,
		   "B with the current version: live owner is not preempted");
	TAP_EQ_INT(o->cas(&m, 7, 1, A, 1000, 10, NULL), -ESTALE,
		   "A replaying its old view: stale");
	TAP_EQ_INT(o->cas(&m, 7, 0, A, 1000, 10, NULL), -ESTALE,
		   "re-create over a live record: stale");
	TAP_EQ_INT(o->get(&m, 7, 10, &rec), 0, "get");
	tap_ok(rec.version == 2 && rec.owner == A, "version 2, owner A");
	tap_ok(m.stats.cas_ok == 2 && m.stats.cas_stale == 3 &&
	       m.stats.cas_not_owner == 1, "outcomes counted");
	TAP_EQ_INT(o->cas(&m, 0, 0, A, 1000, 0, NULL), -EINVAL, "id 0");
	TAP_EQ_INT(o->cas(&m, 9, 0, 0, 1000, 0, NULL), -EINVAL, "owner 0");
	TAP_EQ_INT(o->cas(&m, 9, 0, A, 0, 0, NULL), -EINVAL, "ttl 0");
	store_mem_destroy(&m);
}

static void test_ttl(void)
{
	const struct store_ops *o = &store_mem_ops;
	struct store_record rec;
	struct store_mem m;

	store_mem_init(&m, 4, hkey);
	o->cas(&m, 5, 0, A, 100, 1000, NULL);
	TAP_EQ_INT(o->get(&m, 5, 1099, &rec), 0, "live at expiry - 1");
	TAP_EQ_INT(o->touch(&m, 5, B, 100, 1050), -EPERM,
		   "touch by another node refused");
	TAP_EQ_INT(o->touch(&m, 5, A, 100, 1050), 0, "owner touches");
	TAP_EQ_INT(o->get(&m, 5, 1149, &rec), 0, "touch extended the TTL");
	TAP_EQ_INT(o->get(&m, 5, 1150, &rec), -ENOENT,
		   "expired at now == expiry (monotonic, inclusive)");
	TAP_EQ_INT(o->touch(&m, 5, A, 100, 1150), -ENOENT,
		   "cannot touch an expired record");
	TAP_EQ_INT(o->cas(&m, 5, 0, B, 100, 1200, &rec), 0,
		   "after expiry another node takes over (failover)");
	tap_ok(rec.owner == B && rec.version == 1, "B owns it, version 1");
	TAP_EQ_INT(o->del(&m, 5, A, 1200), -EPERM, "del by non-owner refused");
	TAP_EQ_INT(o->del(&m, 5, B, 1200), 0, "owner deletes");
	TAP_EQ_INT(o->get(&m, 5, 1200, &rec), -ENOENT, "gone");
	TAP_EQ_INT(store_mem_count(&m), 0, "table empty");
	store_mem_destroy(&m);
}

static void test_full(void)
{
	const struct store_ops *o = &store_mem_ops;
	struct store_mem m;
	uint32_t i, ok = 0;

	store_mem_init(&m, 16, hkey);
	for (i = 1; i <= 16; i++)
		ok += o->cas(&m, i * 7919, 0, A, 100, 0, NULL) == 0;
	TAP_EQ_INT(ok, 16, "16 records fit a 16-record table");
	TAP_EQ_INT(o->cas(&m, 99999, 0, A, 100, 0, NULL), -ENOSPC,
		   "17th: clean -ENOSPC");
	TAP_EQ_INT(m.stats.full, 1, "refusal counted");
	TAP_EQ_INT(store_mem_count(&m), 16, "nothing grew");
	TAP_EQ_INT(store_mem_sweep(&m, 100, 1000), 16,
		   "sweep reclaims all expired records");
	TAP_EQ_INT(o->cas(&m, 99999, 0, A, 100, 100, NULL), 0,
		   "room again after the sweep");
	store_mem_destroy(&m);
	TAP_EQ_INT(store_mem_init(&m, 0, hkey), -EINVAL, "capacity 0");
	TAP_EQ_INT(store_mem_init(&m, STORE_MEM_MAX_ENTRIES + 1, hkey),
		   -EINVAL, "capacity above the maximum");
}

/* Deleting from the middle of probe runs keeps every other key findable. */
static void test_churn(void)
{
	const struct store_ops *o = &store_mem_ops;
	struct store_mem m;
	uint32_t i, bad = 0;

	store_mem_init(&m, 64, hkey);
	for (i = 1; i <= 64; i++)
		o->cas(&m, i, 0, A, 1000, 0, NULL);
	for (i = 1; i <= 64; i += 2)
		bad += o->del(&m, i, A, 0) != 0;
	for (i = 1; i <= 64; i++) {
		int r = o->get(&m, i, 0, NULL);

		bad += (i % 2) ? r != -ENOENT : r != 0;
	}
	/* Expired records are reused in place by new ids. */
	for (i = 1000; i < 1032; i++)
		bad += o->cas(&m, i, 0, A, 10, 2000, NULL) != 0;
	TAP_EQ_INT(bad, 0, "delete/expire/reuse churn keeps the table exact");
	tap_ok(store_mem_count(&m) <= 64, "count bounded by capacity");
	store_mem_destroy(&m);
}

int main(void)
{
	test_cas();
	test_ttl();
	test_full();
	test_churn();
	return tap_done();
}
