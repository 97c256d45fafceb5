// SPDX-License-Identifier: GPL-2.0
/*
 * The L2 memory workload of the kvm-zeropage end-to-end test
 * (lab/l2-zeropage): an application that zeroes the buffers it allocates,
 * the way Windows zeroes the memory it hands out, and keeps data in a
 * share of them.
 *
 *   l2-mem MB EVERY HOLD
 *	maps MB MiB, writes a pattern into every EVERY-th page and zeroes
 *	every other page, then tells L1 (on the console) how much of L2's
 *	memory holds only zeros: what is free (init_on_free=1 zeroed it)
 *	plus the pages it zeroed. It holds everything for HOLD seconds,
 *	checks every byte, and exits 0 if all were intact.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

/* Never zero: a page is told from its neighbours and from a zero page. */
static uint64_t pattern(size_t page, size_t word)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ (word + 1) ^ 0x5a5a000000000001ULL;
}

int main(int argc, char **argv)
{
	size_t mb, every, npages, i, w, bad = 0, data = 0;
	unsigned int hold;
	long free_kb = -1;
	char line[128];
	FILE *f;
	uint64_t *p;
	char *buf;

	if (argc != 4) {
		fprintf(stderr, "usage: l2-mem MB EVERY HOLD\n");
		return 2;
	}
	mb = strtoul(argv[1], NULL, 0);
	every = strtoul(argv[2], NULL, 0);
	hold = strtoul(argv[3], NULL, 0);
	if (!mb || !every) {
		fprintf(stderr, "l2-mem: MB and EVERY must be positive\n");
		return 2;
	}
	npages = mb * 256;
	buf = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("l2-mem: mmap");
		return 2;
	}
	for (i = 0; i < npages; i++) {
		p = (uint64_t *)(buf + i * PAGE);
		if (i % every) {
			memset(p, 0, PAGE);
			continue;
		}
		for (w = 0; w < PAGE / 8; w++)
			p[w] = pattern(i, w);
		data++;
	}
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &free_kb) == 1)
			break;
	if (f)
		fclose(f);
	if (free_kb < 0) {
		fprintf(stderr, "l2-mem: no MemFree in /proc/meminfo\n");
		return 2;
	}
	printf("L2SYNC zp-sample hold %ld\n", free_kb + (long)((npages - data) * PAGE / 1024));
	printf("l2-mem: %zu MiB written, %zu pages of data, %zu zeroed; holding %u s\n",
	       mb, data, npages - data, hold);
	fflush(stdout);
	sleep(hold);
	for (i = 0; i < npages; i++) {
		p = (uint64_t *)(buf + i * PAGE);
		for (w = 0; w < PAGE / 8; w++) {
			if (p[w] != (i % every ? 0 : pattern(i, w))) {
				if (bad++ < 5)
					printf("l2-mem: page %zu word %zu is %#llx\n",
					       i, w, (unsigned long long)p[w]);
			}
		}
	}
	printf("l2-mem: %zu of %zu pages checked, %zu bad words\n", npages, npages, bad);
	return bad ? 1 : 0;
}
