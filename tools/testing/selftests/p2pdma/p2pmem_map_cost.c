// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_map_cost - what a new userspace mapping of p2pmem costs
 *
 * Usage: p2pmem_map_cost BDF SIZE ROUNDS [written]
 *
 * Maps SIZE bytes (suffix K or M) of PCI peer-to-peer memory of device BDF
 * through /sys/bus/pci/devices/BDF/p2pmem/allocate and unmaps them again,
 * ROUNDS times, with "written" writing 8 bytes to each page in between
 * (not timed), and prints one line:
 *
 *   mmap_ns=MEDIAN mmap_p99=P99 munmap_ns=MEDIAN munmap_p99=P99 rounds=N
 *
 * mmap() of allocate takes the memory from the provider's pool and maps
 * every page before it returns, on this framework and on upstream alike;
 * this framework also hands out only pages that hold zeros (a new mapping
 * must not show what an earlier user left there): pages nobody wrote come
 * back clean, written ones are cleared, ahead of time when it can.
 * "written" makes every page of every round need clearing.
 * A figure for "make bench", not a test: exits 1 if any call failed, 2 on
 * bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static unsigned long long parse_size(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return 0;
	if (!strcmp(end, "K"))
		return v << 10;
	if (!strcmp(end, "M"))
		return v << 20;
	return *end ? 0 : v;
}

int main(int argc, char **argv)
{
	unsigned long long size, *map_ns, *unmap_ns, t;
	char path[256];
	unsigned int rounds, i;
	unsigned long long off, page = sysconf(_SC_PAGESIZE);
	int fd, written;
	char *p;

	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "written"))) {
		fprintf(stderr, "usage: %s BDF SIZE ROUNDS [written]\n", argv[0]);
		return 2;
	}
	written = argc == 5;
	size = parse_size(argv[2]);
	rounds = strtoul(argv[3], NULL, 0);
	if (!size || size % sysconf(_SC_PAGESIZE) || !rounds) {
		fprintf(stderr, "%s: bad SIZE or ROUNDS\n", argv[0]);
		return 2;
	}
	map_ns = calloc(rounds, sizeof(*map_ns));
	unmap_ns = calloc(rounds, sizeof(*unmap_ns));
	if (!map_ns || !unmap_ns)
		return 1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/allocate",
		 argv[1]);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < rounds; i++) {
		t = now_ns();
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		map_ns[i] = now_ns() - t;
		if (p == MAP_FAILED) {
			fprintf(stderr, "mmap of %llu bytes, round %u: %s\n",
				size, i, strerror(errno));
			return 1;
		}
		for (off = 0; written && off < size; off += page)
			*(unsigned long long *)(p + off) = ~0ULL;
		t = now_ns();
		if (munmap(p, size)) {
			fprintf(stderr, "munmap: %s\n", strerror(errno));
			return 1;
		}
		unmap_ns[i] = now_ns() - t;
	}
	close(fd);

	qsort(map_ns, rounds, sizeof(*map_ns), cmp_ull);
	qsort(unmap_ns, rounds, sizeof(*unmap_ns), cmp_ull);
	printf("mmap_ns=%llu mmap_p99=%llu munmap_ns=%llu munmap_p99=%llu rounds=%u\n",
	       map_ns[rounds / 2], map_ns[rounds * 99 / 100],
	       unmap_ns[rounds / 2], unmap_ns[rounds * 99 / 100], rounds);
	return 0;
}
