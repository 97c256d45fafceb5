// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM sysfs directories shared by the host modules (vmdir.h).
 */
#include <linux/slab.h>

#include "vmdir.h"

/**
 * kvmext_vm_kobj_release() - free a VM's directory once unused
 * @kobj: the directory
 */
void kvmext_vm_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct kvmext_vm_kobj, kobj));
}

/**
 * kvmext_vm_dir_add() - make a VM's directory
 * @ktype: the module's type, from KVMEXT_VM_KTYPE()
 * @parent: the module's "vms" directory
 * @vm: the module's state for the VM
 * @pid: the VMM's pid
 * @seq: the module's number for the VM
 *
 * Context: process context.
 * Return: the directory, or NULL (out of memory, or the name is taken).
 */
struct kobject *kvmext_vm_dir_add(const struct kobj_type *ktype,
				  struct kobject *parent, void *vm, pid_t pid,
				  unsigned int seq)
{
	struct kvmext_vm_kobj *k = kzalloc(sizeof(*k), GFP_KERNEL);

	if (!k)
		return NULL;
	k->vm = vm;
	if (kobject_init_and_add(&k->kobj, ktype, parent, "%d-%u", pid, seq)) {
		kobject_put(&k->kobj);
		return NULL;
	}
	return &k->kobj;
}

/**
 * kvmext_vm_dir_del() - remove a VM's directory
 * @dir: the directory, or NULL
 *
 * Returns once no attribute handler runs; the memory goes with the last
 * reference.
 */
void kvmext_vm_dir_del(struct kobject *dir)
{
	if (!dir)
		return;
	kobject_del(dir);
	kobject_put(dir);
}
