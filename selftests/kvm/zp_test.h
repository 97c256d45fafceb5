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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm_util.h"
#include "kvmext_test.h"
#include "test_util.h"

#define ZP_VMS "/sys/kernel/debug/kvm/kvm_zeropage/vms"

/* One counter of this process's VM, -1 if there is none. */
static inline long zstat(const char *name)
{
	return kvmext_vm_stat(ZP_VMS, name);
}

/*
 * The VM's sysfs directory, from the "sysfs <pid>-<n>" line, which the
 * module prints once the directory exists (a work makes it): waits up to
 * 10 s for it.
 */
static inline void zp_vm_dir(char *buf, size_t len)
{
	char line[64], me[64];
	bool mine;
	FILE *f;
	int i;

	TEST_ASSERT(zstat("cowed") >= 0, "kvm_zeropage/vms has no block for this VM");
	snprintf(me, sizeof(me), "vm kvm-%d\n", getpid());
	buf[0] = 0;
	for (i = 0; i < 100 && !buf[0]; i++) {
		if (i)
			usleep(100000);
		f = fopen(ZP_VMS, "r");
		TEST_ASSERT(f, "open %s", ZP_VMS);
		mine = false;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "vm ", 3))
				mine = !strcmp(line, me);
			else if (mine && !strncmp(line, "sysfs ", 6)) {
				line[strcspn(line, "\n")] = 0;
				snprintf(buf, len, "/sys/kernel/kvm_zeropage/vms/%s",
					 line + 6);
			}
		}
		fclose(f);
	}
	TEST_ASSERT(buf[0], "no sysfs directory for this VM after 10 s");
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

/* Writes @v to @file in the VM's sysfs directory @dir: 0 or -errno. */
static inline int zp_vm_write(const char *dir, const char *file, const char *v)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return zp_write_file(path, v);
}

/* A memslot of @npages pages at @gpa, which the guest maps 1:1. */
static inline void zp_add_slot(struct kvm_vm *vm,
			       enum vm_mem_backing_src_type src, uint64_t gpa,
			       uint32_t slot, uint64_t npages)
{
	vm_userspace_mem_region_add(vm, src, gpa, slot, npages, 0);
	virt_map(vm, gpa, gpa, npages);
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

/*
 * Whether the 2 MB at @p hold only zeros but for byte @off, which is @val;
 * for the guest's checks and the VMM's.
 */
static inline bool zp_thp_one_byte(const uint8_t *p, uint64_t off, uint8_t val)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t j;

	for (j = 0; j < (2UL << 20) / 8; j++)
		if (w[j] != (j == off / 8 ? (uint64_t)val << (8 * (off % 8)) : 0))
			return false;
	return true;
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

/*
 * An io_uring, the way a device's DMA reaches guest memory: its fixed
 * buffer is pinned (FOLL_PIN) and the kernel writes into it through the
 * pin. <linux/io_uring.h> does not build beside glibc's <sys/uio.h>
 * (RWF_* twice), so the ABI's few pieces used are spelled out here, as
 * in that header.
 */
struct zp_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
	uint64_t resv2;
};

struct zp_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
	uint64_t resv2;
};

struct zp_uring_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle;
	uint32_t features, wq_fd, resv[3];
	struct zp_sqring_offsets sq_off;
	struct zp_cqring_offsets cq_off;
};

struct zp_uring_sqe {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off, addr;
	uint32_t len, rw_flags;
	uint64_t user_data;
	uint16_t buf_index, personality;
	int32_t splice_fd_in;
	uint64_t addr3, pad;
};

struct zp_uring_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

#define ZP_IORING_OFF_SQ_RING		0ULL
#define ZP_IORING_OFF_CQ_RING		0x8000000ULL
#define ZP_IORING_OFF_SQES		0x10000000ULL
#define ZP_IORING_OP_READ_FIXED		4
#define ZP_IORING_ENTER_GETEVENTS	1
#define ZP_IORING_REGISTER_BUFFERS	0

struct zp_ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct zp_uring_sqe *sqes;
	struct zp_uring_cqe *cqes;
};

/* An io_uring whose fixed buffer 0 pins @len bytes at @buf. */
static inline void zp_ring_init(struct zp_ring *ring, void *buf, size_t len)
{
	struct zp_uring_params p = {};
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	void *sq, *cq;

	_Static_assert(sizeof(p) == 120 && sizeof(struct zp_uring_sqe) == 64,
		       "io_uring ABI");
	ring->fd = syscall(__NR_io_uring_setup, 4, &p);
	TEST_ASSERT(ring->fd >= 0, "io_uring_setup: %s", strerror(errno));
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * 4, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, ring->fd, ZP_IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct zp_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring->fd,
		  ZP_IORING_OFF_CQ_RING);
	ring->sqes = mmap(NULL, p.sq_entries * sizeof(struct zp_uring_sqe),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  ring->fd, ZP_IORING_OFF_SQES);
	TEST_ASSERT(sq != MAP_FAILED && cq != MAP_FAILED && ring->sqes != MAP_FAILED,
		    "io_uring mmap");
	ring->sq_tail = sq + p.sq_off.tail;
	ring->sq_mask = sq + p.sq_off.ring_mask;
	ring->sq_array = sq + p.sq_off.array;
	ring->cq_head = cq + p.cq_off.head;
	ring->cq_tail = cq + p.cq_off.tail;
	ring->cq_mask = cq + p.cq_off.ring_mask;
	ring->cqes = cq + p.cq_off.cqes;
	TEST_ASSERT(!syscall(__NR_io_uring_register, ring->fd,
			     ZP_IORING_REGISTER_BUFFERS, &iov, 1),
		    "IORING_REGISTER_BUFFERS: %s", strerror(errno));
}

/* Reads @len bytes of @file into the pinned buffer, through the pin. */
static inline void zp_ring_read_fixed(struct zp_ring *ring, int file, void *buf,
				      size_t len)
{
	unsigned int tail = *ring->sq_tail, head;
	struct zp_uring_sqe *sqe = &ring->sqes[tail & *ring->sq_mask];
	struct zp_uring_cqe *cqe;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = ZP_IORING_OP_READ_FIXED;
	sqe->fd = file;
	sqe->addr = (uint64_t)buf;
	sqe->len = len;
	ring->sq_array[tail & *ring->sq_mask] = tail & *ring->sq_mask;
	__atomic_store_n(ring->sq_tail, tail + 1, __ATOMIC_RELEASE);
	TEST_ASSERT(syscall(__NR_io_uring_enter, ring->fd, 1, 1,
			    ZP_IORING_ENTER_GETEVENTS, NULL, 0) == 1,
		    "io_uring_enter: %s", strerror(errno));
	head = *ring->cq_head;
	TEST_ASSERT(head != __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE),
		    "no completion");
	cqe = &ring->cqes[head & *ring->cq_mask];
	TEST_ASSERT(cqe->res == (int)len, "READ_FIXED: %d", cqe->res);
	__atomic_store_n(ring->cq_head, head + 1, __ATOMIC_RELEASE);
}

#endif /* ZP_TEST_H */
