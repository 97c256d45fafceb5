// SPDX-License-Identifier: GPL-2.0
/*
 * hook_helper_test: the hook helper on a stock kernel, with a VM running.
 *
 * A vCPU thread runs a guest that exits to userspace on every iteration
 * and checks the guest's counter never skips or repeats. Meanwhile the test
 * loads kvmext_hooktest.ko (every kind of hook-table entry, all on KVM
 * functions of the KVM_RUN path), checks each hook counts, unloads it with
 * the vCPU still running, and checks the VM keeps making progress and no
 * kprobe or ftrace site is left behind; then it loads and unloads the
 * module for ROUNDS more rounds with the vCPU running, checking the VM
 * progresses in each. Then it checks that a table naming
 * symbols the kernel lacks refuses to load, with one dmesg line naming
 * them, and leaves nothing installed.
 *
 * The whole process, module loads included, runs on one CPU: under QEMU's
 * multi-threaded TCG (the lab) a vCPU that executes kernel text another
 * vCPU patches may keep running the stale translation (a call to address
 * 0, or an int3 loop), which real CPUs, serialised by text_poke_bp()'s
 * IPIs, never do. On one CPU the patching and the execution alternate.
 *
 * Usage: hook_helper_test <path to kvmext_hooktest.ko>
 */
#define _GNU_SOURCE /* sched_setaffinity() */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvmext_test.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define MODNAME "kvmext_hooktest"
#define COUNTERS "/sys/kernel/debug/kvm/" MODNAME "/"

static const char *const counters[] = {
	"kvm_exit", "kvm_userspace_exit", "kprobe", "ftrace", "module_tracepoint",
};
#define NR_COUNTERS ARRAY_SIZE(counters)
#define ROUNDS 3

static atomic_ulong iterations;
static atomic_bool stop;

static void guest_code(void)
{
	uint64_t i;

	for (i = 1;; i++)
		GUEST_SYNC(i);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;
	uint64_t expect = 1;

	while (!atomic_load(&stop)) {
		TEST_ASSERT(kvmext_run_to_ucall(vcpu, &uc) == UCALL_SYNC,
			    "the guest left its loop");
		TEST_ASSERT(uc.args[1] == expect, "guest counter %lu, expected %lu",
			    uc.args[1], expect);
		expect++;
		atomic_fetch_add(&iterations, 1);
	}
	return NULL;
}

static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "sched_getaffinity");
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
		;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity");
	ksft_print_msg("running on CPU %d only\n", cpu);
}

static long read_counter(const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), COUNTERS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int load_module(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	int ret;

	TEST_ASSERT(fd >= 0, "open %s: %s", ko, strerror(errno));
	ret = syscall(__NR_finit_module, fd, params, 0);
	close(fd);
	return ret ? -errno : 0;
}

static bool module_loaded(void)
{
	return access("/sys/module/" MODNAME, F_OK) == 0;
}

/* Lines of a text file containing @needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* Kernel log records from now on, read by kmsg_read_new(). */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/kmsg: %s", strerror(errno));
	lseek(fd, 0, SEEK_END);
	return fd;
}

/* Counts new records containing all of @a and @b, echoing them. */
static int kmsg_count(int fd, const char *a, const char *b)
{
	char rec[2048];
	ssize_t len;
	int n = 0;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (strstr(rec, a) && (!b || strstr(rec, b))) {
			ksft_print_msg("dmesg: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
			n++;
		}
	}
	return n;
}

static void test_refusal(const char *ko)
{
	int fd = kmsg_open();
	int ret, lines;

	ret = load_module(ko, "missing=1");
	ksft_test_result(ret == -ENOENT && !module_loaded(),
			 "load refused with ENOENT when symbols are missing (got %d)\n",
			 ret);
	lines = kmsg_count(fd, MODNAME ": ", NULL);
	ksft_test_result(lines == 1, "refusal logged on one line (%d lines)\n",
			 lines);
	close(fd);

	fd = kmsg_open();
	load_module(ko, "missing=1");
	ret = kmsg_count(fd, "kvmext_hooktest_no_such_symbol",
			 "kvmext_hooktest_no_such_function");
	ksft_test_result(ret == 1, "the line names every missing entry\n");
	close(fd);

	ksft_test_result(count_lines("/sys/kernel/debug/kprobes/list",
				     "kvm_arch_vcpu_ioctl_run") == 0 &&
			 count_lines("/sys/kernel/tracing/enabled_functions",
				     "kvm_vcpu_ioctl") == 0,
			 "a refused load leaves no hook behind\n");
}

int main(int argc, char *argv[])
{
	long before[NR_COUNTERS], after[NR_COUNTERS];
	unsigned long it_unload, it_later;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thread;
	unsigned int i;
	bool all_up, ok;
	int ret;

	ksft_print_header();
	if (argc != 2)
		ksft_exit_fail_msg("usage: %s <path to " MODNAME ".ko>\n", argv[0]);
	if (module_loaded())
		ksft_exit_skip(MODNAME " is already loaded\n");
	ksft_set_plan(12);
	pin_to_one_cpu();

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	pthread_create(&thread, NULL, vcpu_thread, vcpu);
	while (atomic_load(&iterations) < 100)
		usleep(1000);

	ret = load_module(argv[1], "");
	ksft_test_result(ret == 0, "module loads with a VM running (%d)\n", ret);
	if (ret)
		ksft_exit_fail_msg("cannot go on without the module\n");

	for (i = 0; i < NR_COUNTERS; i++)
		before[i] = read_counter(counters[i]);
	usleep(300 * 1000);
	for (i = 0; i < NR_COUNTERS; i++)
		after[i] = read_counter(counters[i]);

	all_up = true;
	for (i = 0; i < NR_COUNTERS; i++) {
		ksft_print_msg("%-20s %ld -> %ld\n", counters[i], before[i], after[i]);
		all_up &= before[i] >= 0 && after[i] > before[i];
	}
	ksft_test_result(all_up, "every kind of hook fires while the VM runs\n");
	ksft_test_result(after[1] > 0 && after[2] > 0,
			 "unexported tracepoint and kprobe both observed KVM_RUN\n");

	ret = syscall(__NR_delete_module, MODNAME, O_NONBLOCK);
	ksft_test_result(ret == 0 && !module_loaded(),
			 "module unloads while the vCPU runs (%d)\n", ret ? -errno : 0);

	it_unload = atomic_load(&iterations);
	usleep(300 * 1000);
	it_later = atomic_load(&iterations);
	ksft_test_result(it_later > it_unload,
			 "the VM keeps running after unload (%lu -> %lu iterations)\n",
			 it_unload, it_later);

	ksft_test_result(count_lines("/sys/kernel/debug/kprobes/list",
				     "kvm_arch_vcpu_ioctl_run") == 0,
			 "no kprobe left behind\n");
	ksft_test_result(count_lines("/sys/kernel/tracing/enabled_functions",
				     "kvm_vcpu_ioctl") == 0,
			 "no ftrace site left behind\n");

	ok = true;
	for (i = 0; i < ROUNDS && ok; i++) {
		it_unload = atomic_load(&iterations);
		ret = load_module(argv[1], "");
		usleep(20 * 1000);
		ok = ret == 0 && read_counter("kprobe") >= 0;
		ret = syscall(__NR_delete_module, MODNAME, O_NONBLOCK);
		usleep(20 * 1000);
		ok &= ret == 0 && atomic_load(&iterations) > it_unload;
	}
	ksft_test_result(ok, "%d load/unload rounds with the vCPU running\n",
			 ROUNDS);

	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	kvm_vm_free(vm);

	test_refusal(argv[1]);
	ksft_finished();
}
