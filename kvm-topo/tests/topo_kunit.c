// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for kvm-topo's pure decisions (logic.c): mask bits land on
 * the right vCPU ids and agree with the host topology, capacity is a
 * share, interrupts wait for the acknowledgement and the interval (also
 * across generation wrap-around), and hints are validated and capped.
 */
#include <kunit/test.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "../logic.c"

static bool bit(u64 mask[KVMEXT_TOPO_MASK_WORDS], u32 id)
{
	return mask[id / 64] & (1ULL << (id % 64));
}

static void topo_masks_follow_host_topology(struct kunit *test)
{
	u64 (*m)[KVMEXT_TOPO_MASK_WORDS];
	int a, b;

	m = kunit_kzalloc(test, sizeof(u64) * 3 * KVMEXT_TOPO_MASK_WORDS, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	for_each_online_cpu(a) {
		for_each_online_cpu(b) {
			memset(m, 0, sizeof(u64) * 3 * KVMEXT_TOPO_MASK_WORDS);
			/* An id in the last word, to check the word index. */
			topo_add_vcpu(m, a, b, 4000 + b);
			KUNIT_EXPECT_EQ(test, bit(m[0], 4000 + b),
					cpumask_test_cpu(b, topology_sibling_cpumask(a)));
			KUNIT_EXPECT_EQ(test, bit(m[1], 4000 + b),
					cpumask_test_cpu(b, topology_core_cpumask(a)));
			KUNIT_EXPECT_EQ(test, bit(m[2], 4000 + b),
					cpu_to_node(a) == cpu_to_node(b));
			if (a == b) {
				KUNIT_EXPECT_TRUE(test, bit(m[0], 4000 + b));
				KUNIT_EXPECT_TRUE(test, bit(m[1], 4000 + b));
				KUNIT_EXPECT_TRUE(test, bit(m[2], 4000 + b));
			}
		}
	}
}

static void topo_masks_edge_ids(struct kunit *test)
{
	u64 (*m)[KVMEXT_TOPO_MASK_WORDS];
	int w;

	m = kunit_kzalloc(test, sizeof(u64) * 3 * KVMEXT_TOPO_MASK_WORDS, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	topo_add_vcpu(m, 0, 0, 63);
	topo_add_vcpu(m, 0, 0, 64);
	topo_add_vcpu(m, 0, 0, KVMEXT_TOPO_MAX_VCPU_IDS - 1);
	KUNIT_EXPECT_EQ(test, m[0][0], 1ULL << 63);
	KUNIT_EXPECT_EQ(test, m[0][1], 1ULL);
	KUNIT_EXPECT_EQ(test, m[0][KVMEXT_TOPO_MASK_WORDS - 1], 1ULL << 63);
	/* Out of range ids and vCPUs that never ran set nothing. */
	memset(m, 0, sizeof(u64) * 3 * KVMEXT_TOPO_MASK_WORDS);
	topo_add_vcpu(m, 0, 0, KVMEXT_TOPO_MAX_VCPU_IDS);
	topo_add_vcpu(m, 0, -1, 5);
	topo_add_vcpu(m, -1, 0, 6);
	for (w = 0; w < KVMEXT_TOPO_MASK_WORDS; w++) {
		KUNIT_EXPECT_EQ(test, m[0][w], 0ULL);
		KUNIT_EXPECT_EQ(test, m[1][w], 0ULL);
		KUNIT_EXPECT_EQ(test, m[2][w], 0ULL);
	}
}

static void topo_capacity_is_a_share(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, topo_capacity(0, 0, 700), 700U);
	KUNIT_EXPECT_EQ(test, topo_capacity(100, 0, 1), 1024U);
	KUNIT_EXPECT_EQ(test, topo_capacity(0, 100, 1), 0U);
	KUNIT_EXPECT_EQ(test, topo_capacity(50, 50, 1), 512U);
	KUNIT_EXPECT_EQ(test, topo_capacity(1, 3, 1), 256U);
	/* A day of run time must not overflow the product. */
	KUNIT_EXPECT_EQ(test, topo_capacity(86400ULL * NSEC_PER_SEC,
					    86400ULL * NSEC_PER_SEC, 1), 512U);
}

static void topo_notify_waits_for_ack_and_interval(struct kunit *test)
{
	const u64 ms = NSEC_PER_MSEC;

	/* Never notified: go, whatever the interval. */
	KUNIT_EXPECT_TRUE(test, topo_notify_due(0, 0, 0, 10 * ms));
	/* Not acknowledged: hold, however long ago. */
	KUNIT_EXPECT_FALSE(test, topo_notify_due(4, 6, 100 * ms, 10 * ms));
	/* Acknowledged, interval not over: hold. */
	KUNIT_EXPECT_FALSE(test, topo_notify_due(6, 6, 9 * ms, 10 * ms));
	KUNIT_EXPECT_TRUE(test, topo_notify_due(6, 6, 10 * ms, 10 * ms));
	KUNIT_EXPECT_TRUE(test, topo_notify_due(8, 6, 10 * ms, 10 * ms));
	/* Generations wrap: 2 comes after 0xfffffffe. */
	KUNIT_EXPECT_TRUE(test, topo_notify_due(2, 0xfffffffe, 10 * ms, 10 * ms));
	KUNIT_EXPECT_FALSE(test, topo_notify_due(0xfffffffc, 2, 10 * ms, 10 * ms));
}

static void topo_hint_validation(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, topo_hint_valid(0));
	KUNIT_EXPECT_TRUE(test, topo_hint_valid(KVMEXT_HINT(0xffff, 3, 2) |
						KVMEXT_HINT_IO(7) |
						KVMEXT_HINT_LATENCY(0xffff) |
						KVMEXT_HINT_BOOT_COMPLETE));
	KUNIT_EXPECT_FALSE(test, topo_hint_valid(KVMEXT_HINT(0, 0, 3)));
	KUNIT_EXPECT_FALSE(test, topo_hint_valid(1ULL << 41));
	KUNIT_EXPECT_FALSE(test, topo_hint_valid(1ULL << 63));
}

static void topo_hint_nice_is_capped(struct kunit *test)
{
	bool clamped;

	KUNIT_EXPECT_EQ(test, topo_hint_nice(KVMEXT_HINT_CLASS_LATENCY, 0, 5, &clamped), -5);
	KUNIT_EXPECT_FALSE(test, clamped);
	KUNIT_EXPECT_EQ(test, topo_hint_nice(KVMEXT_HINT_CLASS_LATENCY, -18, 5, &clamped), -20);
	KUNIT_EXPECT_EQ(test, topo_hint_nice(KVMEXT_HINT_CLASS_LATENCY, 3, 0, &clamped), 3);
	KUNIT_EXPECT_TRUE(test, clamped);
	KUNIT_EXPECT_EQ(test, topo_hint_nice(KVMEXT_HINT_CLASS_BACKGROUND, 17, 5, &clamped), 19);
	KUNIT_EXPECT_FALSE(test, clamped);
	KUNIT_EXPECT_EQ(test, topo_hint_nice(KVMEXT_HINT_CLASS_NORMAL, 2, 5, &clamped), 2);
}

static struct kunit_case topo_cases[] = {
	KUNIT_CASE(topo_masks_follow_host_topology),
	KUNIT_CASE(topo_masks_edge_ids),
	KUNIT_CASE(topo_capacity_is_a_share),
	KUNIT_CASE(topo_notify_waits_for_ack_and_interval),
	KUNIT_CASE(topo_hint_validation),
	KUNIT_CASE(topo_hint_nice_is_capped),
	{}
};

static struct kunit_suite topo_suite = {
	.name = "kvm_topo",
	.test_cases = topo_cases,
};
kunit_test_suite(topo_suite);

MODULE_DESCRIPTION("KUnit suite for kvm-topo's mask, capacity, notification and hint logic");
MODULE_LICENSE("GPL");
