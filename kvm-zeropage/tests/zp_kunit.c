// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for kvm-zeropage's pure decisions (logic.c): the scan's
 * page budget never exceeds its rate and never banks more than a second,
 * and pages read on credit are paid back before more are allowed;
 * recording sets exactly the pages given (whole words and edges, and
 * concurrently with a scanner emptying words) and leaves the bitmap
 * interleaved with it alone; the counting set and clear of the reclaimed
 * bitmap count exactly the bits they changed; a scan
 * window's mask covers exactly the range's pages; the threshold fires once
 * per crossing; and thresholds are parsed strictly.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "../logic.c"

static void zp_budget_keeps_rate(struct kunit *test)
{
	struct zp_budget b;
	u64 t = 1000 * NSEC_PER_SEC, n = 0, i;

	zp_budget_init(&b, 1000, t);
	/* Full at start: one second's worth, and no more. */
	while (zp_budget_take(&b, 1000, t))
		n++;
	KUNIT_EXPECT_EQ(test, n, 1000);
	/* Then 1000 per second, in steps of 1 ms or of 10 s. */
	n = 0;
	for (i = 1; i <= 5000; i++)
		n += zp_budget_take(&b, 1000, t + i * NSEC_PER_MSEC);
	KUNIT_EXPECT_EQ(test, n, 5000);
	n = 0;
	t += 100 * NSEC_PER_SEC;
	while (zp_budget_take(&b, 1000, t))
		n++;
	KUNIT_EXPECT_EQ(test, n, 1000);
	/* A rate of 0 allows nothing; time going backwards adds nothing. */
	KUNIT_EXPECT_FALSE(test, zp_budget_take(&b, 0, t + NSEC_PER_SEC));
	KUNIT_EXPECT_FALSE(test, zp_budget_take(&b, 1000, t - NSEC_PER_SEC));
	KUNIT_EXPECT_EQ(test, zp_budget_wait_ns(1000), NSEC_PER_MSEC);
	KUNIT_EXPECT_EQ(test, zp_budget_wait_ns(3), 333333334ULL);
}

static void zp_budget_slow_rate_accumulates(struct kunit *test)
{
	struct zp_budget b;
	u64 t = NSEC_PER_SEC, n = 0, i;

	zp_budget_init(&b, 3, t);
	while (zp_budget_take(&b, 3, t))
		;
	/* 3 per second asked every 100 ms for 10 s: 30, not 0 by rounding. */
	for (i = 1; i <= 100; i++)
		n += zp_budget_take(&b, 3, t + i * 100 * NSEC_PER_MSEC);
	KUNIT_EXPECT_EQ(test, n, 30);
}

/* The first and last bits set in [0, @nbits) of an interleaved map. */
static void zp_bits_ends(unsigned long *map, unsigned long nbits,
			 unsigned long *first, unsigned long *last)
{
	unsigned long i;

	*first = *last = nbits;
	for (i = 0; i < nbits; i++) {
		if (!zp_bits_test(map, i))
			continue;
		if (*first == nbits)
			*first = i;
		*last = i;
	}
}

static void zp_bits_set_exactly(struct kunit *test)
{
	unsigned long *map = kunit_kzalloc(test, zp_bits_longs(2048) * sizeof(long),
					   GFP_KERNEL);
	unsigned long starts[] = { 0, 1, 63, 64, 100, 511, 512, 1000 };
	unsigned long lens[] = { 1, 2, 63, 64, 65, 512, 700 };
	unsigned long first, last;
	int i, j;

	KUNIT_ASSERT_NOT_NULL(test, map);
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		for (j = 0; j < ARRAY_SIZE(lens); j++) {
			memset(map, 0, zp_bits_longs(2048) * sizeof(long));
			zp_bits_set_atomic(map, starts[i], lens[j]);
			KUNIT_EXPECT_EQ(test, zp_bits_weight(map, 2048), lens[j]);
			zp_bits_ends(map, 2048, &first, &last);
			KUNIT_EXPECT_EQ(test, first, starts[i]);
			KUNIT_EXPECT_EQ(test, last, starts[i] + lens[j] - 1);
			/* The other map of the pair is not touched. */
			KUNIT_EXPECT_EQ(test, zp_bits_weight(map + 1, 2048), 0UL);
		}
	}
}

struct zp_race {
	unsigned long *map;
	unsigned long claimed;
	bool stop;
};

static int zp_race_scanner(void *data)
{
	struct zp_race *r = data;
	int i;

	while (!READ_ONCE(r->stop)) {
		for (i = 0; i < BITS_TO_LONGS(4096); i++)
			r->claimed += hweight_long(xchg(zp_bits_at(r->map, i), 0));
		cond_resched();
	}
	return 0;
}

/* Every recorded page is claimed exactly once by a concurrent scanner. */
static void zp_bits_race_with_scanner(struct kunit *test)
{
	struct zp_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct task_struct *t;
	unsigned long set = 0, i;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->map = kunit_kzalloc(test, zp_bits_longs(4096) * sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->map);
	/* The other map of the pair, full: the scanner must leave it so. */
	zp_bits_set_atomic(r->map + 1, 0, 4096);
	t = kthread_run(zp_race_scanner, r, "zp_kunit_scan");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	get_task_struct(t);
	for (i = 0; i < 20000; i++) {
		unsigned long start = (i * 97) % 3584, len = i % 3 ? 1 : 512;

		/* Only bits known clear, so each set is one new page. */
		if (!zp_bits_weight(r->map, 4096)) {
			zp_bits_set_atomic(r->map, start, len);
			set += len;
		}
		if (!(i % 64))
			cond_resched();
	}
	WRITE_ONCE(r->stop, true);
	kthread_stop(t);
	put_task_struct(t);
	r->claimed += zp_bits_weight(r->map, 4096);
	KUNIT_EXPECT_EQ(test, r->claimed, set);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(r->map + 1, 4096), 4096UL);
}

/* A 2 MB page read for one recorded page is paid for before the next. */
static void zp_budget_debt(struct kunit *test)
{
	struct zp_budget b;
	u64 t = 1000 * NSEC_PER_SEC;
	int n = 0, i;

	zp_budget_init(&b, 1000, t);
	while (zp_budget_take(&b, 1000, t))
		;
	zp_budget_charge(&b, 511);
	/* 0.5 s later the debt is not paid yet... */
	KUNIT_EXPECT_FALSE(test, zp_budget_take(&b, 1000, t + NSEC_PER_SEC / 2));
	/* ... and over the next second only what is left of it comes free. */
	for (i = 1; i <= 1000; i++)
		n += zp_budget_take(&b, 1000, t + NSEC_PER_SEC / 2 + i * NSEC_PER_MSEC);
	KUNIT_EXPECT_GE(test, n, 988);
	KUNIT_EXPECT_LE(test, n, 990);
}

/* The counting forms change exactly the bits asked, and say how many. */
static void zp_bits_count_exactly(struct kunit *test)
{
	unsigned long *pair = kunit_kzalloc(test, zp_bits_longs(2048) * sizeof(long),
					    GFP_KERNEL);
	unsigned long *map, *other, first, last;

	KUNIT_ASSERT_NOT_NULL(test, pair);
	/* The first map of the pair takes nothing from sets of the second. */
	map = pair + 1;
	other = pair;
	KUNIT_EXPECT_EQ(test, zp_bits_set_count(map, 0, 2048), 2048UL);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(other, 2048), 0UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 0, 2048), 2048UL);
	/* And loses nothing to its clears: full around the second. */
	zp_bits_set_atomic(other, 0, 2048);
	KUNIT_EXPECT_EQ(test, zp_bits_set_count(map, 60, 10), 10UL);
	KUNIT_EXPECT_EQ(test, zp_bits_set_count(map, 0, 512), 502UL);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(map, 2048), 512UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 1, 1), 1UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 1, 1), 0UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 0, 3), 2UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 500, 100), 12UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 1024, 1024), 0UL);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(map, 2048), 497UL);
	zp_bits_ends(map, 2048, &first, &last);
	KUNIT_EXPECT_EQ(test, first, 3UL);
	KUNIT_EXPECT_EQ(test, last, 499UL);
	KUNIT_EXPECT_EQ(test, zp_bits_set_count(map, 2047, 1), 1UL);
	/* A partial last word counts only the bits asked. */
	KUNIT_EXPECT_EQ(test, zp_bits_weight(map, 2047), 497UL);
	KUNIT_EXPECT_EQ(test, zp_bits_clear_count(map, 0, 2048), 498UL);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(map, 2048), 0UL);
	KUNIT_EXPECT_EQ(test, zp_bits_weight(other, 2048), 2048UL);
}

/* One bitmap word covers BITS_PER_LONG pages from its base. */
static void zp_window_masks(struct kunit *test)
{
	unsigned long base = 0x7f0000000000UL, p = PAGE_SIZE;

	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base, base + 64 * p), ~0UL);
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base, base + 100 * p), ~0UL);
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base + 3 * p, base + 5 * p),
			0x18UL);
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base + 63 * p, base + 64 * p),
			BIT(63));
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base + 64 * p, base + 80 * p),
			0UL);
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base - p, base + p), 0UL);
	KUNIT_EXPECT_EQ(test, zp_window_mask(base, base + 5 * p, base + 5 * p), 0UL);
}

static void zp_threshold_crossing(struct kunit *test)
{
	long c = 0, fired = 0, i;

	for (i = 0; i < 3000; i++, c++)
		fired += zp_crossed(c, c + 1, 1024);
	KUNIT_EXPECT_EQ(test, fired, 1);
	KUNIT_EXPECT_TRUE(test, zp_crossed(1000, 1536, 1024));
	KUNIT_EXPECT_FALSE(test, zp_crossed(1024, 1536, 1024));
	KUNIT_EXPECT_FALSE(test, zp_crossed(0, 1023, 1024));
}

static void zp_threshold_parsing(struct kunit *test)
{
	static const char * const bad[] = { "", "0", "-1", "abc", "12abc", "1048577", " 5",
			      "0x10", "99999999999999999999" };
	long mb = 7;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, zp_parse_threshold_mb(bad[i], &mb), -EINVAL,
				    "\"%s\"", bad[i]);
		KUNIT_EXPECT_EQ(test, mb, 7);
	}
	KUNIT_EXPECT_EQ(test, zp_parse_threshold_mb("32\n", &mb), 0);
	KUNIT_EXPECT_EQ(test, mb, 32);
	KUNIT_EXPECT_EQ(test, zp_parse_threshold_mb("1048576", &mb), 0);
	KUNIT_EXPECT_EQ(test, mb, ZP_THRESHOLD_MB_MAX);
	KUNIT_EXPECT_EQ(test, zp_parse_threshold_mb("default\n", &mb), 0);
	KUNIT_EXPECT_EQ(test, mb, -1);
}

static struct kunit_case zp_cases[] = {
	KUNIT_CASE(zp_budget_keeps_rate),
	KUNIT_CASE(zp_budget_slow_rate_accumulates),
	KUNIT_CASE(zp_bits_set_exactly),
	KUNIT_CASE(zp_bits_race_with_scanner),
	KUNIT_CASE(zp_budget_debt),
	KUNIT_CASE(zp_bits_count_exactly),
	KUNIT_CASE(zp_window_masks),
	KUNIT_CASE(zp_threshold_crossing),
	KUNIT_CASE(zp_threshold_parsing),
	{}
};

static struct kunit_suite zp_suite = {
	.name = "kvm_zeropage",
	.test_cases = zp_cases,
};
kunit_test_suite(zp_suite);

MODULE_DESCRIPTION("KUnit tests of kvm-zeropage's logic");
MODULE_LICENSE("GPL");
