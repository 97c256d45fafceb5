// SPDX-License-Identifier: GPL-2.0
/*
 * What userspace sees: /sys/devices/system/cpu/cpuN/kvmext/ per CPU,
 * /sys/kernel/guest_pv/boot_complete, and the counters in debugfs
 * guest_pv/stats. Documentation/guest-pv.rst describes each file.
 */
#include <linux/bitmap.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "gpv.h"

static struct gpv_cpu *dev_cpu(struct device *dev)
{
	return per_cpu_ptr(gpv_cpus, dev->id);
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

static ssize_t vector_show(struct device *dev, struct device_attribute *a,
			   char *buf)
{
	struct gpv_cpu *c = dev_cpu(dev);

	if (!READ_ONCE(c->irq))
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%u\n", READ_ONCE(c->vector));
}

static ssize_t hint_show(struct device *dev, struct device_attribute *a,
			 char *buf)
{
	int class, group;
	u64 sent;

	gpv_hint_show(dev->id, &class, &group, &sent);
	return sysfs_emit(buf, "%#llx\n", sent);
}

/*
 * A whole hint, encoded as for MSR_KVMEXT_HINT, sent as it is and kept
 * until a class or group is written.
 */
static ssize_t hint_store(struct device *dev, struct device_attribute *a,
			  const char *buf, size_t count)
{
	u64 hint;
	int ret;

	ret = kstrtou64(buf, 0, &hint);
	if (ret)
		return ret;
	ret = gpv_hint_raw(dev->id, hint);
	return ret ? ret : count;
}

static const char * const gpv_class_names[] = {
	[KVMEXT_HINT_CLASS_NORMAL] = "normal",
	[KVMEXT_HINT_CLASS_LATENCY] = "latency",
	[KVMEXT_HINT_CLASS_BACKGROUND] = "background",
};

static ssize_t priority_show(struct device *dev, struct device_attribute *a,
			     char *buf)
{
	int class, group;
	u64 sent;

	gpv_hint_show(dev->id, &class, &group, &sent);
	return sysfs_emit(buf, "%s\n", class < ARRAY_SIZE(gpv_class_names) &&
			  gpv_class_names[class] ? gpv_class_names[class] : "?");
}

/* "latency", "normal", "background", or "auto" for the automatic class. */
static ssize_t priority_store(struct device *dev, struct device_attribute *a,
			      const char *buf, size_t count)
{
	int class, ret;

	class = sysfs_match_string(gpv_class_names, buf);
	if (sysfs_streq(buf, "auto"))
		class = -1;
	else if (class < 0)
		return -EINVAL;
	ret = gpv_hint_manual(dev->id, class, -2);
	return ret ? ret : count;
}

static ssize_t group_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	int class, group;
	u64 sent;

	gpv_hint_show(dev->id, &class, &group, &sent);
	return sysfs_emit(buf, "%d\n", group);
}

/*
 * A co-location group, 1-65535 (CPUs with the same one are kept in one
 * host package), 0 for none, or "auto".
 */
static ssize_t group_store(struct device *dev, struct device_attribute *a,
			   const char *buf, size_t count)
{
	u16 group;
	int ret;

	if (sysfs_streq(buf, "auto")) {
		ret = gpv_hint_manual(dev->id, -2, -1);
	} else {
		ret = kstrtou16(buf, 0, &group);
		if (ret)
			return ret;
		ret = gpv_hint_manual(dev->id, -2, group);
	}
	return ret ? ret : count;
}

static DEVICE_ATTR_RO(smt_siblings);
static DEVICE_ATTR_RO(package_siblings);
static DEVICE_ATTR_RO(node_siblings);
static DEVICE_ATTR_RO(generation);
static DEVICE_ATTR_RO(capacity);
static DEVICE_ATTR_RO(host);
static DEVICE_ATTR_RO(vector);
static DEVICE_ATTR_RW(hint);
static DEVICE_ATTR_RW(priority);
static DEVICE_ATTR_RW(group);

static struct attribute *gpv_attrs[] = {
	&dev_attr_smt_siblings.attr,
	&dev_attr_package_siblings.attr,
	&dev_attr_node_siblings.attr,
	&dev_attr_generation.attr,
	&dev_attr_capacity.attr,
	&dev_attr_host.attr,
	&dev_attr_vector.attr,
	&dev_attr_hint.attr,
	&dev_attr_priority.attr,
	&dev_attr_group.attr,
	NULL,
};

static const struct attribute_group gpv_group = {
	.name = "kvmext",
	.attrs = gpv_attrs,
};

static ssize_t boot_complete_show(struct kobject *kobj,
				  struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", gpv_boot_completed());
}

/* Only "1": boot completion cannot be taken back. */
static ssize_t boot_complete_store(struct kobject *kobj,
				   struct kobj_attribute *a, const char *buf,
				   size_t count)
{
	bool v;
	int ret;

	ret = kstrtobool(buf, &v);
	if (ret)
		return ret;
	if (!v)
		return -EINVAL;
	ret = gpv_boot_complete();
	return ret ? ret : count;
}

static struct kobj_attribute gpv_boot_attr = __ATTR_RW(boot_complete);
static struct kobject *gpv_kobj;
static struct dentry *gpv_debugfs;

static int gpv_stats_show(struct seq_file *m, void *unused)
{
	const struct gpv_stats *s = &gpv_stats;

#define GPV_STAT(f) seq_printf(m, "%-20s %lld\n", #f, atomic64_read(&s->f))
	GPV_STAT(polls);
	GPV_STAT(irqs);
	GPV_STAT(notify_unavailable);
	GPV_STAT(reregistered);
	GPV_STAT(changes);
	GPV_STAT(rebuilds);
	GPV_STAT(rebuilds_timed);
	GPV_STAT(rebuild_ns_last);
	GPV_STAT(rebuild_ns_max);
	GPV_STAT(rebuild_ns_sum);
	GPV_STAT(hints_sent);
	GPV_STAT(hints_refused);
	GPV_STAT(hints_deferred);
#undef GPV_STAT
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gpv_stats);

static unsigned long *gpv_dirs;	/* CPUs whose directory was created */

static void gpv_cpu_dirs(bool add)
{
	struct device *dev;
	int cpu;

	for_each_possible_cpu(cpu) {
		dev = get_cpu_device(cpu);
		if (!dev)
			continue;
		if (add) {
			if (sysfs_create_group(&dev->kobj, &gpv_group))
				pr_warn("no sysfs directory for CPU %d\n", cpu);
			else
				set_bit(cpu, gpv_dirs);
		} else if (test_and_clear_bit(cpu, gpv_dirs)) {
			sysfs_remove_group(&dev->kobj, &gpv_group);
		}
	}
}

/**
 * gpv_sysfs_init() - create the userspace files
 *
 * Return: 0 or -ENOMEM.
 */
int gpv_sysfs_init(void)
{
	gpv_dirs = bitmap_zalloc(nr_cpu_ids, GFP_KERNEL);
	if (!gpv_dirs)
		return -ENOMEM;
	gpv_kobj = kobject_create_and_add("guest_pv", kernel_kobj);
	if (!gpv_kobj || sysfs_create_file(gpv_kobj, &gpv_boot_attr.attr)) {
		kobject_put(gpv_kobj);
		bitmap_free(gpv_dirs);
		return -ENOMEM;
	}
	gpv_cpu_dirs(true);
	gpv_debugfs = debugfs_create_dir("guest_pv", NULL);
	debugfs_create_file("stats", 0444, gpv_debugfs, NULL, &gpv_stats_fops);
	return 0;
}

/**
 * gpv_sysfs_exit() - remove them; no file handler runs afterwards
 */
void gpv_sysfs_exit(void)
{
	debugfs_remove_recursive(gpv_debugfs);
	gpv_cpu_dirs(false);
	kobject_put(gpv_kobj);
	bitmap_free(gpv_dirs);
}
