/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kvm-zeropage selftests share: the VM's counters in debugfs,
 * its sysfs directory, and waiting for its scans to end.
 */
#ifndef ZP_TEST_H
#define ZP_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvmext_test.h"
#include "test_util.h"

#define ZP_VMS "/sys/kernel/debug/kvm/kvm_zeropage/vms"

/* One counter of this process's VM, -1 if there is none. */
static inline long zstat(const char *name)
{
	return kvmext_vm_stat(ZP_VMS, name);
}

/* The VM's sysfs directory, from the "sysfs <pid>-<n>" line. */
static inline void zp_vm_dir(char *buf, size_t len)
{
	long n = zstat("sysfs");
	FILE *f = fopen(ZP_VMS, "r");
	char line[64], me[64];
	bool mine = false;

	TEST_ASSERT(f && n >= 0, "kvm_zeropage/vms has no block for this VM");
	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	buf[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "vm ", 3))
			mine = !strcmp(line, me);
		else if (mine && !strncmp(line, "sysfs ", 6)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "/sys/kernel/kvm_zeropage/vms/%s", line + 6);
		}
	}
	fclose(f);
	TEST_ASSERT(buf[0], "no sysfs line");
}

/* 0, or -errno of the write. */
static inline int zp_write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY), ret;

	TEST_ASSERT(fd >= 0, "open %s", path);
	ret = write(fd, v, strlen(v)) == (ssize_t)strlen(v) ? 0 : -errno;
	close(fd);
	return ret;
}

static inline void zp_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f && fgets(buf, len, f), "read %s", path);
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * Waits until no memslot re-read or scan is queued or running, twice in a
 * row 100 ms apart (a scan queues itself again at its end when the
 * threshold was reached during it). Pages recorded below the threshold
 * stay unscanned.
 */
static inline void zp_settle(void)
{
	int i, idle = 0;

	for (i = 0; i < 600 && idle < 2; i++) {
		idle = zstat("busy") == 0 ? idle + 1 : 0;
		usleep(100000);
	}
	TEST_ASSERT(idle >= 2, "a scan never ended: %ld scans, %ld unscanned",
		    zstat("scans"), zstat("unscanned"));
}

/* This process's anonymous resident memory, in pages. */
static inline long zp_rss_anon_pages(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	TEST_ASSERT(f, "/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	TEST_ASSERT(kb >= 0, "no RssAnon");
	return kb / 4;
}

#endif /* ZP_TEST_H */
