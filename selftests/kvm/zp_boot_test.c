// SPDX-License-Identifier: GPL-2.0
/*
 * zp_boot_test: kvm-zeropage's boot phase (patent embodiment 4).
 *
 * - mode and boot_complete refuse bad values and change nothing;
 * - in boot mode, scans run until boot completion is signalled through
 *   sysfs, and none runs after it however much the guest writes;
 * - back in always mode, the pages pending meanwhile are scanned at once;
 * - the guest itself ends its boot phase with bit 40 of the hint, by
 *   MSR_KVMEXT_HINT (as guest-pv does) or by the KVMEXT_HC_HINT
 *   hypercall, when kvm-topo is loaded, whether it came before or after
 *   kvm-zeropage, and again after it was unloaded and loaded back; a hint
 *   kvm-topo refuses, or any hint while it is away, ends nothing.
 *   argv[1] is kvm-topo's path, argv[2] kvm-zeropage's: the test loads
 *   and unloads both.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvmext/pv.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "zp_test.h"

#define SLOT		10
#define GPA		0xc0000000ULL
#define PAGES		2048
#define STEP		512		/* twice the 1 MiB threshold */

enum { CMD_ZERO = 1, CMD_HINT_MSR, CMD_HINT_HYPERCALL };
static uint64_t cmd, first_page, guest_hint, guest_result;

static void guest_code(void)
{
	uint64_t i;

	for (;;) {
		GUEST_SYNC(0);
		if (READ_ONCE(cmd) == CMD_HINT_MSR) {
			guest_result = wrmsr_safe(MSR_KVMEXT_HINT, guest_hint);
			continue;
		}
		if (READ_ONCE(cmd) == CMD_HINT_HYPERCALL) {
			guest_result = kvm_hypercall(KVMEXT_HC_HINT, guest_hint,
						     0, 0, 0);
			continue;
		}
		/* A first write of zeros: a new private page, all zero. */
		for (i = first_page; i < first_page + STEP; i++)
			WRITE_ONCE(*(uint8_t *)(GPA + i * 4096), 0);
	}
}

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static char dir[128];

/* @first: the first page to zero, or the hint to send. */
static void guest_do(uint64_t c, uint64_t first)
{
	struct ucall uc;

	cmd = c;
	first_page = first;
	guest_hint = first;
	sync_global_to_guest(vm, cmd);
	sync_global_to_guest(vm, first_page);
	sync_global_to_guest(vm, guest_hint);
	kvmext_run_to_ucall(vcpu, &uc);
	sync_global_from_guest(vm, guest_result);
}

static int vm_write(const char *file, const char *v)
{
	return zp_vm_write(dir, file, v);
}

static const char *vm_read(const char *file)
{
	static char buf[64];
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	zp_read_file(path, buf, sizeof(buf));
	return buf;
}

static void vm_start(void)
{
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	/* For wrmsr_safe(): a refused hint is a #GP. */
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	zp_add_slot(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, PAGES);
	kvmext_run_to_ucall(vcpu, &uc);	/* to its first SYNC */
	zp_vm_dir(dir, sizeof(dir));
	TEST_ASSERT(!vm_write("threshold_mb", "1"), "threshold_mb 1");
	zp_settle();
}

static void vm_stop(void)
{
	int i;

	kvm_vm_free(vm);
	for (i = 0; i < 50 && zstat("cowed") != -1; i++)
		usleep(100000);
	TEST_ASSERT(zstat("cowed") == -1, "the VM's state stayed");
}

/*
 * A new VM in boot mode: the guest first sends a hint kvm-topo refuses
 * (bit 40 with a reserved bit), which must end nothing, then bit 40
 * alone by @how. Return: whether the boot phase ended as @expect says
 * ("1 guest", or "0" where nothing may accept the hint), with no scan
 * after an ended one, and the guest told what kvm-topo's answer was.
 */
static bool guest_signal(uint64_t how, const char *expect)
{
	bool served = strcmp(expect, "0"), ok;
	long scans;

	vm_start();
	TEST_ASSERT(!vm_write("mode", "boot"), "mode boot");
	guest_do(how, KVMEXT_HINT_BOOT_COMPLETE | (1ULL << 63));
	ok = guest_result != 0 && !strcmp(vm_read("boot_complete"), "0");
	if (!ok)
		ksft_print_msg("a refused hint (%#lx) gave \"%s\"\n",
			       guest_result, vm_read("boot_complete"));
	guest_do(how, KVMEXT_HINT_BOOT_COMPLETE);
	ok &= served ? !guest_result : guest_result != 0;
	ok &= !strcmp(vm_read("boot_complete"), expect);
	scans = zstat("scans");
	guest_do(CMD_ZERO, 0);
	zp_settle();
	if (served)
		ok &= zstat("scans") == scans;
	else
		ok &= zstat("scans") > scans;
	ksft_print_msg("%s bit 40: guest told %#lx, boot_complete \"%s\", %ld scans after\n",
		       how == CMD_HINT_MSR ? "MSR" : "hypercall", guest_result,
		       vm_read("boot_complete"), zstat("scans") - scans);
	vm_stop();
	return ok;
}

int main(int argc, char *argv[])
{
	long scans, rec;
	bool ok;

	ksft_print_header();
	TEST_REQUIRE(!access(ZP_VMS, R_OK));
	ksft_set_plan(9);

	vm_start();
	ok = !strcmp(vm_read("mode"), "always");
	ok &= vm_write("mode", "sometimes") == -EINVAL;
	ok &= vm_write("mode", "\n") == -EINVAL;
	ok &= vm_write("boot_complete", "0") == -EINVAL;
	ok &= vm_write("boot_complete", "yes") == -EINVAL;
	ok &= zp_write_file("/sys/module/kvm_zeropage/parameters/mode", "never") == -EINVAL;
	ok &= !strcmp(vm_read("mode"), "always") && !strcmp(vm_read("boot_complete"), "0");
	ksft_test_result(ok, "mode and boot_complete: bad values refused, nothing changed\n");

	TEST_ASSERT(!vm_write("mode", "boot"), "mode boot");
	scans = zstat("scans");
	rec = zstat("pages_reclaimed");
	guest_do(CMD_ZERO, 0);
	zp_settle();
	/*
	 * The scan starts when the counter reaches the threshold and takes
	 * it back to zero; pages recorded after that wait for the next
	 * crossing, so one scan may see only about half of the STEP.
	 */
	ksft_test_result(zstat("scans") > scans && zstat("pages_reclaimed") - rec >= STEP / 4,
			 "boot phase: %ld scans handed back %ld of %d zero pages\n",
			 zstat("scans") - scans, zstat("pages_reclaimed") - rec, STEP);

	TEST_ASSERT(!vm_write("boot_complete", "1"), "boot_complete 1");
	scans = zstat("scans");
	rec = zstat("pages_reclaimed");
	guest_do(CMD_ZERO, STEP);
	zp_settle();
	ksft_test_result(!strcmp(vm_read("boot_complete"), "1 admin") &&
			 zstat("scans") == scans && zstat("pages_reclaimed") == rec &&
			 zstat("pending") >= STEP,
			 "boot complete (\"%s\"): %ld scans after %d more zero pages, %ld pending\n",
			 vm_read("boot_complete"), zstat("scans") - scans, STEP,
			 zstat("pending"));

	TEST_ASSERT(!vm_write("mode", "always"), "mode always");
	zp_settle();
	ksft_test_result(zstat("scans") > scans && zstat("pages_reclaimed") - rec >= STEP / 4,
			 "always again: the pending pages scanned at once, %ld handed back\n",
			 zstat("pages_reclaimed") - rec);
	vm_stop();

	if (argc < 3) {
		for (int i = 0; i < 5; i++)
			ksft_test_result_skip("the guest's signal: no kvm-topo and kvm-zeropage paths given\n");
		ksft_finished();
	}
	/* kvm-topo loaded after kvm-zeropage. */
	TEST_ASSERT(!kvmext_module_load(argv[1], ""), "load kvm-topo");
	ksft_test_result(guest_signal(CMD_HINT_MSR, "1 guest"),
			 "kvm-topo loaded second: the guest's MSR_KVMEXT_HINT bit 40 ends its boot phase\n");
	ksft_test_result(guest_signal(CMD_HINT_HYPERCALL, "1 guest"),
			 "and so does the KVMEXT_HC_HINT hypercall with bit 40\n");

	/* Gone: the guest's write faults and nothing is probed any more. */
	TEST_ASSERT(!kvmext_module_unload("kvm_topo"), "unload kvm-topo");
	ksft_test_result(guest_signal(CMD_HINT_MSR, "0"),
			 "kvm-topo unloaded: the guest's signal ends nothing\n");

	/* kvm-topo loaded first, then kvm-zeropage. */
	TEST_ASSERT(!kvmext_module_load(argv[1], ""), "load kvm-topo again");
	TEST_ASSERT(!kvmext_module_unload("kvm_zeropage"), "unload kvm-zeropage");
	TEST_ASSERT(!kvmext_module_load(argv[2], "flush_ms=0"), "load kvm-zeropage again");
	ksft_test_result(guest_signal(CMD_HINT_HYPERCALL, "1 guest"),
			 "kvm-zeropage loaded second: the hypercall ends the boot phase\n");
	ksft_test_result(guest_signal(CMD_HINT_MSR, "1 guest"),
			 "and so does the MSR\n");
	TEST_ASSERT(!kvmext_module_unload("kvm_topo"), "unload kvm-topo");
	ksft_finished();
}
