/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the project's KVM selftests, on top of the 6.1 KVM
 * selftest library.
 */
#ifndef KVMEXT_TEST_H
#define KVMEXT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

/*
 * Runs the vCPU to its next ucall and returns it: UCALL_SYNC or UCALL_DONE.
 * Any other exit, a guest assertion or an unknown ucall fails the test.
 */
static inline uint64_t kvmext_run_to_ucall(struct kvm_vcpu *vcpu,
					   struct ucall *uc)
{
	uint64_t cmd;

	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "unexpected exit reason %u (%s)", vcpu->run->exit_reason,
		    exit_reason_str(vcpu->run->exit_reason));
	cmd = get_ucall(vcpu, uc);
	if (cmd == UCALL_ABORT)
		REPORT_GUEST_ASSERT(*uc);
	TEST_ASSERT(cmd == UCALL_SYNC || cmd == UCALL_DONE,
		    "unexpected ucall %lu", cmd);
	return cmd;
}

/*
 * A counter of this process's VM in a module's per-VM debugfs file
 * (@path), whose blocks start with "vm kvm-<pid>". A name ending in '_'
 * sums every counter it begins (e.g. "rejected_"). Returns -1 when none
 * matched, or when the file is not there.
 */
static inline long kvmext_vm_stat(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	size_t n = strlen(name);
	bool prefix = n && name[n - 1] == '_', mine = false, found = false;
	char line[128], me[64], key[64];
	long v, sum = 0;

	if (!f)
		return -1;
	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "vm ", 3))
			mine = !strcmp(line, me);
		else if (mine && sscanf(line, "%63s %ld", key, &v) == 2 &&
			 (prefix ? !strncmp(key, name, n) : !strcmp(key, name))) {
			sum += v;
			found = true;
		}
	}
	fclose(f);
	return found ? sum : -1;
}

/* A counter of this process's VM in kvm-topo's per-VM debugfs file. */
static inline long kvmext_topo_vm_stat(const char *name)
{
	long v = kvmext_vm_stat("/sys/kernel/debug/kvm/kvm_topo/vms", name);

	TEST_ASSERT(access("/sys/kernel/debug/kvm/kvm_topo/vms", R_OK) == 0,
		    "open kvm_topo/vms");
	return v;
}

/* Loads the module at @ko with @params: 0 or -errno. */
static inline int kvmext_module_load(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Unloads module @name (as lsmod names it): 0 or -errno. */
static inline int kvmext_module_unload(const char *name)
{
	return syscall(__NR_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

#endif /* KVMEXT_TEST_H */
