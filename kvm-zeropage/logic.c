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
static s64 zp_budget_cap(u64 rate)
{
	return max_t(u64, min_t(u64, rate, S64_MAX), 1);
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
	b->tokens = min_t(s64, b->tokens + (s64)min_t(u64, add, S64_MAX / 2),
			  zp_budget_cap(rate));
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
	if (b->tokens <= 0)
		return false;
	b->tokens--;
	return true;
}

/**
 * zp_budget_charge() - charge pages read beyond what was taken
 * @b: the budget
 * @n: pages
 *
 * A recorded page of a 2 MB page makes the scan read all 512: the budget
 * goes into debt, which later refills pay before the scan reads again.
 */
void zp_budget_charge(struct zp_budget *b, u64 n)
{
	b->tokens -= (s64)min_t(u64, n, S64_MAX / 4);
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
 * __zp_bits_set_atomic() - set bits [@start, @start + @nr) of @map
 * @map: an interleaved bitmap (zp.h) another CPU may empty word by word
 *	with xchg()
 * @start: first bit
 * @nr: number of bits
 *
 * The out-of-line part of zp_bits_set_atomic(). Whole words are set with
 * one atomic OR each, so recording a 2 MB page costs eight atomic
 * operations, not 512.
 */
void __zp_bits_set_atomic(unsigned long *map, unsigned long start,
			  unsigned long nr)
{
	unsigned long end = start + nr;

	while (start < end && start % BITS_PER_LONG) {
		set_bit(start % BITS_PER_LONG, zp_bits_word(map, start));
		start++;
	}
	while (end - start >= BITS_PER_LONG) {
		atomic_long_or(~0L, (atomic_long_t *)zp_bits_word(map, start));
		start += BITS_PER_LONG;
	}
	while (start < end) {
		set_bit(start % BITS_PER_LONG, zp_bits_word(map, start));
		start++;
	}
}

/* Adds to each word with one atomic operation; returns the bits changed. */
static unsigned long zp_bits_update(unsigned long *map, unsigned long start,
				    unsigned long nr, bool set)
{
	unsigned long end = start + nr, changed = 0;

	while (start < end) {
		unsigned long w = BIT_WORD(start), lo = start % BITS_PER_LONG;
		unsigned long hi = min_t(unsigned long, end - w * BITS_PER_LONG,
				       (unsigned long)BITS_PER_LONG);
		unsigned long mask = GENMASK(hi - 1, lo), old;
		unsigned long *word = zp_bits_word(map, start);

		if (set)
			old = atomic_long_fetch_or(mask, (atomic_long_t *)word);
		else if (READ_ONCE(*word) & mask)
			old = atomic_long_fetch_andnot(mask, (atomic_long_t *)word);
		else
			old = 0;
		changed += hweight_long(set ? ~old & mask : old & mask);
		start = w * BITS_PER_LONG + hi;
	}
	return changed;
}

/**
 * zp_bits_set_count() - set bits [@start, @start + @nr) of @map
 * @map: a bitmap others update concurrently
 * @start: first bit
 * @nr: number of bits
 *
 * Return: how many of them were clear.
 */
unsigned long zp_bits_set_count(unsigned long *map, unsigned long start,
				unsigned long nr)
{
	return zp_bits_update(map, start, nr, true);
}

/**
 * __zp_bits_clear_count() - clear bits [@start, @start + @nr) of @map
 * @map: a bitmap others update concurrently
 * @start: first bit
 * @nr: number of bits
 *
 * The out-of-line part of zp_bits_clear_count().
 *
 * Return: how many of them were set.
 */
unsigned long __zp_bits_clear_count(unsigned long *map, unsigned long start,
				    unsigned long nr)
{
	return zp_bits_update(map, start, nr, false);
}

/**
 * zp_bits_weight() - how many of bits [0, @nbits) of @map are set
 * @map: an interleaved bitmap
 * @nbits: number of bits, positive
 *
 * Return: the number of bits set, read word by word without a lock.
 */
unsigned long zp_bits_weight(unsigned long *map, unsigned long nbits)
{
	unsigned long w, last = BIT_WORD(nbits - 1), n = 0;

	for (w = 0; w < last; w++)
		n += hweight_long(READ_ONCE(*zp_bits_at(map, w)));
	return n + hweight_long(READ_ONCE(*zp_bits_at(map, last)) &
				BITMAP_LAST_WORD_MASK(nbits));
}

/**
 * zp_window_mask() - the bits of a scan window that cover an address range
 * @base: address of the window's bit 0, page-aligned
 * @from: first address, page-aligned, at or after @base
 * @to: one past the last, page-aligned
 *
 * A window is one bitmap word: BITS_PER_LONG pages from @base.
 *
 * Return: the mask, 0 if the range misses the window.
 */
unsigned long zp_window_mask(unsigned long base, unsigned long from,
			     unsigned long to)
{
	unsigned long lo = (from - base) >> PAGE_SHIFT;
	unsigned long hi = to > base ? (to - base) >> PAGE_SHIFT : 0;

	hi = min_t(unsigned long, hi, BITS_PER_LONG);
	if (from < base || lo >= hi)
		return 0;
	return GENMASK(hi - 1, lo);
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

/**
 * zp_parse_mode() - parse a scanning mode written by an administrator
 * @buf: "always" or "boot", with an optional trailing newline
 * @boot: out: true for "boot"
 *
 * Return: 0, or -EINVAL with @boot untouched.
 */
int zp_parse_mode(const char *buf, bool *boot)
{
	if (sysfs_streq(buf, "always"))
		*boot = false;
	else if (sysfs_streq(buf, "boot"))
		*boot = true;
	else
		return -EINVAL;
	return 0;
}
