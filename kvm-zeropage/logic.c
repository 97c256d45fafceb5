// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-zeropage's pure decisions: the scan's page budget, recording pages
 * in a bitmap the scan empties concurrently, the threshold crossing, and
 * parsing a threshold. No kernel state; tests/zp_kunit.c includes this
 * file.
 */
#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/string.h>
#include <linux/time64.h>

#include "zp.h"

/* At most one second of pages may accumulate: a budget, not a credit. */
static u64 zp_budget_cap(u64 rate)
{
	return max_t(u64, rate, 1);
}

/**
 * zp_budget_init() - start a budget full
 * @b: the budget
 * @rate: pages per second
 * @now_ns: the current time
 */
void zp_budget_init(struct zp_budget *b, u64 rate, u64 now_ns)
{
	b->tokens = zp_budget_cap(rate);
	b->last_ns = now_ns;
}

static void zp_budget_refill(struct zp_budget *b, u64 rate, u64 now_ns)
{
	u64 add;

	if (now_ns <= b->last_ns)
		return;
	add = mul_u64_u64_div_u64(now_ns - b->last_ns, rate, NSEC_PER_SEC);
	if (!add)
		return;
	b->tokens = min(b->tokens + add, zp_budget_cap(rate));
	/* Keep the remainder: advance only by the time the tokens took. */
	b->last_ns = b->tokens == zp_budget_cap(rate) ? now_ns :
		b->last_ns + div64_u64(add * NSEC_PER_SEC, max_t(u64, rate, 1));
}

/**
 * zp_budget_take() - take one page from a budget
 * @b: the budget
 * @rate: pages per second (0: nothing is ever allowed)
 * @now_ns: the current time
 *
 * Return: true if the page may be read now.
 */
bool zp_budget_take(struct zp_budget *b, u64 rate, u64 now_ns)
{
	if (!rate)
		return false;
	zp_budget_refill(b, rate, now_ns);
	if (!b->tokens)
		return false;
	b->tokens--;
	return true;
}

/**
 * zp_budget_wait_ns() - how long an empty budget takes to hold a page
 * @rate: pages per second, non-zero
 *
 * Return: nanoseconds.
 */
u64 zp_budget_wait_ns(u64 rate)
{
	return div64_u64(NSEC_PER_SEC + rate - 1, max_t(u64, rate, 1));
}

/**
 * zp_bits_set_atomic() - set bits [@start, @start + @nr) of @map
 * @map: a bitmap another CPU may empty word by word with xchg()
 * @start: first bit
 * @nr: number of bits
 *
 * Whole words are set with one atomic OR each, so recording a 2 MB page
 * costs eight atomic operations, not 512.
 */
void zp_bits_set_atomic(unsigned long *map, unsigned long start,
			unsigned long nr)
{
	unsigned long end = start + nr;

	while (start < end && start % BITS_PER_LONG)
		set_bit(start++, map);
	while (end - start >= BITS_PER_LONG) {
		atomic_long_or(~0L, (atomic_long_t *)&map[BIT_WORD(start)]);
		start += BITS_PER_LONG;
	}
	while (start < end)
		set_bit(start++, map);
}

/**
 * zp_crossed() - whether adding pages took a counter to its threshold
 * @before: the counter before
 * @after: the counter after
 * @threshold: the threshold in pages, positive
 *
 * Return: true exactly once per crossing, for the addition that made it.
 */
bool zp_crossed(long before, long after, long threshold)
{
	return before < threshold && after >= threshold;
}

/**
 * zp_parse_threshold_mb() - parse a threshold written by an administrator
 * @buf: "default", or a whole number of MiB from 1 to ZP_THRESHOLD_MB_MAX,
 *	with an optional trailing newline
 * @mb: out: the number, or -1 for "default"
 *
 * Return: 0, or -EINVAL with @mb untouched.
 */
int zp_parse_threshold_mb(const char *buf, long *mb)
{
	long v;

	if (sysfs_streq(buf, "default")) {
		*mb = -1;
		return 0;
	}
	if (kstrtol(buf, 10, &v) || v < 1 || v > ZP_THRESHOLD_MB_MAX)
		return -EINVAL;
	*mb = v;
	return 0;
}
