// SPDX-License-Identifier: GPL-2.0
/*
 * guest-pv: the guest side of the kvmext topology interface
 * (include/uapi/kvmext/pv.h, Documentation/abi.rst).
 *
 * Registers one page per online CPU, in that CPU's own node, and keeps a
 * consistent copy of what the host publishes there, translated from vCPU
 * ids to this kernel's CPU numbers. Userspace sees it in
 * /sys/devices/system/cpu/cpuN/kvmext/ and gets a change uevent on the
 * CPU device whenever it moves; hints go back to the host from the same
 * directory.
 *
 * A page is only ever registered by the CPU it belongs to and is given
 * up before that CPU goes offline and before reboot, kexec, suspend and
 * hibernation, so the host never writes memory this kernel, or the next
 * one, uses for something else.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/syscore_ops.h>
#include <linux/workqueue.h>
#include <asm/msr.h>
#include <asm/smp.h>

#include <kvmext/pv.h>

static unsigned int poll_ms = 100;
static unsigned int hint_interval_ms = 100;

static int set_poll_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 10, 60000);
}

static int set_hint_interval(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 60000);
}

static const struct kernel_param_ops poll_ms_ops = {
	.set = set_poll_ms, .get = param_get_uint,
};
static const struct kernel_param_ops hint_interval_ops = {
	.set = set_hint_interval, .get = param_get_uint,
};
module_param_cb(poll_ms, &poll_ms_ops, &poll_ms, 0644);
MODULE_PARM_DESC(poll_ms, "How often the pages are read (10-60000 ms, default 100)");
module_param_cb(hint_interval_ms, &hint_interval_ops, &hint_interval_ms, 0644);
MODULE_PARM_DESC(hint_interval_ms,
		 "Minimum time between two hints from one CPU (1-60000 ms, default 100)");

/**
 * struct gpv_cpu - one CPU's registration and the last topology read
 * @page: the registered page, NULL when not registered
 * @lock: protects the fields below against sysfs readers
 * @generation: generation of the last consistent read
 * @epoch: the host's epoch then
 * @capacity: the CPU's capacity then
 * @smt: CPUs (this kernel's numbering) on the same host core
 * @llc: ... in the same host package
 * @node: ... in the same host NUMA node
 * @last_hint_ns: when userspace last sent a hint for this CPU
 */
struct gpv_cpu {
	struct kvmext_topo_page *page;
	spinlock_t lock;
	u32 generation;
	u64 epoch;
	u32 capacity;
	struct cpumask smt, llc, node;
	u64 last_hint_ns;
};

static DEFINE_PER_CPU(struct gpv_cpu, gpv_cpus);
static enum cpuhp_state gpv_hp_state;
static s16 gpv_id_to_cpu[KVMEXT_TOPO_MAX_VCPU_IDS];
static struct delayed_work gpv_poll_work;
static unsigned int gpv_polls;
static bool gpv_stopping;

static bool gpv_host_present(void)
{
	u64 v;

	return !rdmsrl_safe(MSR_KVMEXT_PROBE, &v) && KVMEXT_PROBE_IS_VALID(v) &&
	       KVMEXT_PROBE_VERSION(v) == KVMEXT_ABI_VERSION &&
	       (KVMEXT_PROBE_FEATURES(v) & KVMEXT_FEATURE_TOPO);
}

/* On @cpu itself: (re)register its page. */
static void gpv_register_local(void *unused)
{
	struct gpv_cpu *c = this_cpu_ptr(&gpv_cpus);

	if (c->page &&
	    wrmsrl_safe(MSR_KVMEXT_TOPO_PAGE,
			virt_to_phys(c->page) | KVMEXT_TOPO_PAGE_ENABLE))
		pr_warn_once("the host refused a topology page (CPU %d)\n",
			     smp_processor_id());
}

/* On @cpu itself: make the host stop writing its page. */
static void gpv_unregister_local(void *unused)
{
	wrmsrl_safe(MSR_KVMEXT_TOPO_PAGE, 0);
}

static void gpv_mask(struct cpumask *dst, const u64 *words, u32 nr_ids)
{
	u32 id;

	cpumask_clear(dst);
	for (id = 0; id < nr_ids && id < KVMEXT_TOPO_MAX_VCPU_IDS; id++)
		if ((words[id / 64] >> (id % 64)) & 1 && gpv_id_to_cpu[id] >= 0)
			cpumask_set_cpu(gpv_id_to_cpu[id], dst);
}

/*
 * Copy @cpu's page with the generation protocol; publish and acknowledge
 * it if it moved. Returns true when userspace should hear of a change.
 */
static bool gpv_read(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(&gpv_cpus, cpu);
	struct kvmext_topo_page *p = c->page;
	struct cpumask *smt, *llc, *node;
	u32 gen, nr_ids, capacity;
	int tries = 0;
	u64 epoch;
	bool changed = false;

	if (!p || READ_ONCE(p->magic) != KVMEXT_TOPO_MAGIC)
		return false;
	smt = kmalloc(3 * cpumask_size(), GFP_KERNEL);
	if (!smt)
		return false;
	llc = (void *)smt + cpumask_size();
	node = (void *)llc + cpumask_size();
	do {
		gen = READ_ONCE(p->generation);
		smp_rmb(); /* the generation before the contents */
		epoch = READ_ONCE(p->epoch);
		capacity = READ_ONCE(p->capacity);
		nr_ids = READ_ONCE(p->nr_ids);
		gpv_mask(smt, p->smt, nr_ids);
		gpv_mask(llc, p->llc, nr_ids);
		gpv_mask(node, p->node, nr_ids);
		smp_rmb(); /* the contents before the generation again */
	} while (((gen & 1) || gen != READ_ONCE(p->generation)) && ++tries < 100);

	if (tries < 100) {
		spin_lock(&c->lock);
		if (gen != c->generation) {
			changed = !cpumask_equal(smt, &c->smt) ||
				  !cpumask_equal(llc, &c->llc) ||
				  !cpumask_equal(node, &c->node) ||
				  epoch != c->epoch;
			c->generation = gen;
			c->epoch = epoch;
			c->capacity = capacity;
			cpumask_copy(&c->smt, smt);
			cpumask_copy(&c->llc, llc);
			cpumask_copy(&c->node, node);
		}
		spin_unlock(&c->lock);
		WRITE_ONCE(p->ack, gen);
	}
	kfree(smt);
	return changed;
}

static void gpv_poll(struct work_struct *work)
{
	u64 page;
	int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct gpv_cpu *c = per_cpu_ptr(&gpv_cpus, cpu);

		if (!c->page)
			continue;
		/*
		 * About once a second, check the host still has the page:
		 * it forgets it when the VM migrates (the VMM does not know
		 * the MSR), when the vCPU is reset and when kvm-topo reloads.
		 */
		if (!(gpv_polls % max(1U, 1000 / READ_ONCE(poll_ms))) &&
		    (rdmsrl_safe_on_cpu(cpu, MSR_KVMEXT_TOPO_PAGE, &page) ||
		     !(page & KVMEXT_TOPO_PAGE_ENABLE)) && gpv_host_present())
			smp_call_function_single(cpu, gpv_register_local, NULL, 1);
		if (gpv_read(cpu))
			kobject_uevent(&get_cpu_device(cpu)->kobj, KOBJ_CHANGE);
	}
	cpus_read_unlock();
	gpv_polls++;
	if (!READ_ONCE(gpv_stopping))
		schedule_delayed_work(&gpv_poll_work,
				      msecs_to_jiffies(READ_ONCE(poll_ms)));
}

static int gpv_cpu_online(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(&gpv_cpus, cpu);
	struct page *pg;

	pg = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	if (!pg)
		return -ENOMEM;
	c->page = page_address(pg);
	/* Runs on @cpu: the hotplug thread of an AP state. */
	gpv_register_local(NULL);
	gpv_read(cpu);
	return 0;
}

static int gpv_cpu_offline(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(&gpv_cpus, cpu);

	gpv_unregister_local(NULL);
	/* The host writes a vCPU's page only from that vCPU: none is left. */
	free_page((unsigned long)c->page);
	c->page = NULL;
	return 0;
}

static int gpv_reboot(struct notifier_block *nb, unsigned long action,
		      void *unused)
{
	/* Also on kexec: the next kernel owns this memory. */
	on_each_cpu(gpv_unregister_local, NULL, 1);
	return NOTIFY_DONE;
}

static struct notifier_block gpv_reboot_nb = {
	.notifier_call = gpv_reboot,
};

/* Suspend and hibernation: the other CPUs are offline already. */
static int gpv_suspend(void)
{
	gpv_unregister_local(NULL);
	return 0;
}

static void gpv_resume(void)
{
	gpv_register_local(NULL);
}

static struct syscore_ops gpv_syscore = {
	.suspend = gpv_suspend,
	.resume = gpv_resume,
};

static struct gpv_cpu *dev_cpu(struct device *dev)
{
	return per_cpu_ptr(&gpv_cpus, dev->id);
}

static ssize_t gpv_show_mask(struct device *dev, char *buf, int which)
{
	struct gpv_cpu *c = dev_cpu(dev);
	ssize_t n;

	spin_lock(&c->lock);
	n = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(which == 0 ? &c->smt :
							which == 1 ? &c->llc :
							&c->node));
	spin_unlock(&c->lock);
	return n;
}

static ssize_t smt_siblings_show(struct device *dev, struct device_attribute *a,
				 char *buf)
{
	return gpv_show_mask(dev, buf, 0);
}

static ssize_t package_siblings_show(struct device *dev,
				     struct device_attribute *a, char *buf)
{
	return gpv_show_mask(dev, buf, 1);
}

static ssize_t node_siblings_show(struct device *dev, struct device_attribute *a,
				  char *buf)
{
	return gpv_show_mask(dev, buf, 2);
}

static ssize_t generation_show(struct device *dev, struct device_attribute *a,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(dev_cpu(dev)->generation));
}

static ssize_t capacity_show(struct device *dev, struct device_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(dev_cpu(dev)->capacity));
}

static ssize_t host_show(struct device *dev, struct device_attribute *a,
			 char *buf)
{
	u64 epoch = READ_ONCE(dev_cpu(dev)->epoch);

	if (!READ_ONCE(dev_cpu(dev)->page))
		return sysfs_emit(buf, "unregistered\n");
	return epoch == KVMEXT_TOPO_EPOCH_GONE ? sysfs_emit(buf, "gone\n") :
		sysfs_emit(buf, "%016llx\n", epoch);
}

/*
 * A hint for this CPU, encoded as for MSR_KVMEXT_HINT; at most one per
 * hint_interval_ms (-EBUSY), refused by the host with -EINVAL.
 */
static ssize_t hint_store(struct device *dev, struct device_attribute *a,
			  const char *buf, size_t count)
{
	struct gpv_cpu *c = dev_cpu(dev);
	u64 hint, now = ktime_get_ns();
	int ret;

	ret = kstrtou64(buf, 0, &hint);
	if (ret)
		return ret;
	if (c->last_hint_ns &&
	    now - c->last_hint_ns < (u64)READ_ONCE(hint_interval_ms) * NSEC_PER_MSEC)
		return -EBUSY;
	c->last_hint_ns = now;
	ret = wrmsr_safe_on_cpu(dev->id, MSR_KVMEXT_HINT, lower_32_bits(hint),
				upper_32_bits(hint));
	return ret ? -EINVAL : count;
}

static DEVICE_ATTR_RO(smt_siblings);
static DEVICE_ATTR_RO(package_siblings);
static DEVICE_ATTR_RO(node_siblings);
static DEVICE_ATTR_RO(generation);
static DEVICE_ATTR_RO(capacity);
static DEVICE_ATTR_RO(host);
static DEVICE_ATTR_WO(hint);

static struct attribute *gpv_attrs[] = {
	&dev_attr_smt_siblings.attr,
	&dev_attr_package_siblings.attr,
	&dev_attr_node_siblings.attr,
	&dev_attr_generation.attr,
	&dev_attr_capacity.attr,
	&dev_attr_host.attr,
	&dev_attr_hint.attr,
	NULL,
};

static const struct attribute_group gpv_group = {
	.name = "kvmext",
	.attrs = gpv_attrs,
};

static void gpv_sysfs(bool add)
{
	struct device *dev;
	int cpu;

	for_each_possible_cpu(cpu) {
		dev = get_cpu_device(cpu);
		if (!dev)
			continue;
		if (add && sysfs_create_group(&dev->kobj, &gpv_group))
			pr_warn("no sysfs directory for CPU %d\n", cpu);
		else if (!add)
			sysfs_remove_group(&dev->kobj, &gpv_group);
	}
}

static int __init gpv_init(void)
{
	int cpu, ret;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR) || !gpv_host_present()) {
		pr_info("no kvmext topology interface (needs KVM with kvm-topo on the host): not loading\n");
		return -ENODEV;
	}
	memset(gpv_id_to_cpu, 0xff, sizeof(gpv_id_to_cpu));
	for_each_possible_cpu(cpu) {
		u32 id = per_cpu(x86_cpu_to_apicid, cpu);

		spin_lock_init(&per_cpu_ptr(&gpv_cpus, cpu)->lock);
		if (id < KVMEXT_TOPO_MAX_VCPU_IDS)
			gpv_id_to_cpu[id] = cpu;
	}
	gpv_sysfs(true);
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvmext/guest-pv:online",
				gpv_cpu_online, gpv_cpu_offline);
	if (ret < 0) {
		gpv_sysfs(false);
		return ret;
	}
	gpv_hp_state = ret;
	register_reboot_notifier(&gpv_reboot_nb);
	register_syscore_ops(&gpv_syscore);
	INIT_DELAYED_WORK(&gpv_poll_work, gpv_poll);
	schedule_delayed_work(&gpv_poll_work, msecs_to_jiffies(poll_ms));
	pr_info("reading the host's topology on %u CPUs\n", num_online_cpus());
	return 0;
}

static void __exit gpv_exit(void)
{
	WRITE_ONCE(gpv_stopping, true);
	cancel_delayed_work_sync(&gpv_poll_work);
	unregister_syscore_ops(&gpv_syscore);
	unregister_reboot_notifier(&gpv_reboot_nb);
	/* Unregisters and frees every CPU's page, on that CPU. */
	cpuhp_remove_state(gpv_hp_state);
	gpv_sysfs(false);
}

module_init(gpv_init);
module_exit(gpv_exit);
MODULE_DESCRIPTION("Guest side of the kvmext paravirtual topology interface");
MODULE_LICENSE("GPL");
