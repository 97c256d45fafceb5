/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VM sysfs directories, /sys/kernel/<module>/vms/<VMM pid>-<n>, shared
 * by the host modules: each defines its attributes and a kobj_type with
 * KVMEXT_VM_KTYPE(), makes the directory from process context with
 * kvmext_vm_dir_add() and removes it with kvmext_vm_dir_del(), which
 * waits for the files' readers and writers. The source is compiled into
 * each module, as the hook helper's is.
 */
#ifndef KVMEXT_VMDIR_H
#define KVMEXT_VMDIR_H

#include <linux/kobject.h>
#include <linux/types.h>

/**
 * struct kvmext_vm_kobj - a VM's directory
 * @kobj: the directory
 * @vm: the module's state for that VM, what the attributes act on
 */
struct kvmext_vm_kobj {
	struct kobject kobj;
	void *vm;
};

void kvmext_vm_kobj_release(struct kobject *kobj);

#define KVMEXT_VM_KTYPE(_name, _groups)					\
	static const struct kobj_type _name = {				\
		.release = kvmext_vm_kobj_release,			\
		.sysfs_ops = &kobj_sysfs_ops,				\
		.default_groups = (_groups),				\
	}

/* The module's state of the VM whose directory holds the attribute. */
static inline void *kvmext_vm_kobj_vm(struct kobject *kobj)
{
	return container_of(kobj, struct kvmext_vm_kobj, kobj)->vm;
}

struct kobject *kvmext_vm_dir_add(const struct kobj_type *ktype,
				  struct kobject *parent, void *vm, pid_t pid,
				  unsigned int seq);
void kvmext_vm_dir_del(struct kobject *dir);

#endif /* KVMEXT_VMDIR_H */
