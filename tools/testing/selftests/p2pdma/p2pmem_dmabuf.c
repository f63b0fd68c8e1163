// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_dmabuf - check the dma-buf export of /dev/p2pmemN
 *
 * Usage: p2pmem_dmabuf NODE BDF DRIVER BLOCKDEV
 *
 * NODE is the /dev/p2pmemN of provider BDF, bound to DRIVER; BLOCKDEV is a
 * block device that can reach BDF by P2P.  Exports p2pmem of BDF through
 * P2PMEM_IOC_EXPORT_DMABUF and checks:
 *
 *  - bad arguments (size 0, unknown flags, write-only, a reserved field
 *    not 0, more than "available", a node opened read-only) are refused
 *    with the right errno, and change no "available";
 *  - a 2 MiB export takes 2 MiB of "available", shows in fdinfo as a
 *    dma-buf of that size named after BDF, and reads zeros through its
 *    mmap() although the memory held data before;
 *  - O_DIRECT moves data between BLOCKDEV and the dma-buf's mapping both
 *    ways, checked against a copy in system memory;
 *  - closing the dma-buf and unmapping it gives the memory back;
 *  - unbinding BDF from DRIVER while an export is mapped returns within
 *    30 s, the mapping then raises SIGBUS on reads and writes, and after
 *    binding BDF again "available" is all of "size".
 *
 * Prints "ok - WHAT" or "not ok - WHAT: ..." per check (tests/guest/lib.sh
 * counts them) and exits 1 if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pdma_test.h"

#define SZ_2M	(2UL << 20)

static const char *node, *bdf, *driver, *blockdev;

static void pass(const char *what)
{
	printf("ok - %s\n", what);
}

static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed = 1;
}

static void expect_ll(const char *what, long long got, long long want)
{
	if (got == want)
		pass(what);
	else
		fail(what, "got %lld, want %lld", got, want);
}

/* A number from /sys/bus/pci/devices/BDF/p2pmem/NAME, or -1. */
static long long p2pmem_attr(const char *name)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/%s",
		 bdf, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The ioctl's errno, or 0 with the new descriptor in *fd. */
static int export(int nfd, unsigned long long size, unsigned int flags,
		  int *fd)
{
	*fd = p2pmem_export(nfd, size, flags);
	return *fd < 0 ? errno : 0;
}

/*
 * The errno of an export that must be refused, or 0 if it was not (its
 * dma-buf closed again).
 */
static int refusal(int nfd, unsigned long long size, unsigned int flags)
{
	int fd, err = export(nfd, size, flags, &fd);

	if (!err)
		close(fd);
	return err;
}

/* The same for an otherwise good request with reserved[1] set. */
static int refusal_reserved(int nfd)
{
	struct p2pmem_export_dmabuf arg = { .size = 4096, .flags = O_RDWR,
					    .fd = -1, .reserved = { 0, 1 } };

	if (ioctl(nfd, P2PMEM_IOC_EXPORT_DMABUF, &arg))
		return errno;
	if (arg.fd >= 0)
		close(arg.fd);
	return 0;
}

static void check_refusals(void)
{
	long long avail = p2pmem_attr("available");
	int nfd;

	nfd = open(node, O_RDWR);
	if (nfd < 0) {
		fail("open the node", "%s", strerror(errno));
		return;
	}
	expect_ll("a size of 0 is refused with EINVAL", refusal(nfd, 0, O_RDWR),
		  EINVAL);
	expect_ll("unknown flags are refused with EINVAL",
		  refusal(nfd, 4096, O_RDWR | O_NONBLOCK), EINVAL);
	expect_ll("a write-only dma-buf is refused with EINVAL",
		  refusal(nfd, 4096, O_WRONLY), EINVAL);
	expect_ll("a reserved field not 0 is refused with EINVAL",
		  refusal_reserved(nfd), EINVAL);
	expect_ll("more than available is refused with ENOMEM",
		  refusal(nfd, avail + SZ_2M, O_RDWR), ENOMEM);
	expect_ll("no other ioctl: ENOTTY",
		  ioctl(nfd, _IO(P2PMEM_IOC_MAGIC, 0x0f)) ? errno : 0, ENOTTY);
	close(nfd);
	nfd = open(node, O_RDONLY);
	expect_ll("a node opened read-only exports nothing: EBADF",
		  nfd < 0 ? -errno : refusal(nfd, 4096, O_RDWR), EBADF);
	if (nfd >= 0)
		close(nfd);
	expect_ll("refusals take no memory", p2pmem_attr("available"), avail);
}

/* fdinfo of @fd has @line. */
static int fdinfo_has(int fd, const char *line)
{
	char path[64], buf[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f))
		found = !strcmp(buf, line);
	fclose(f);
	return found;
}

static int all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* O_DIRECT between BLOCKDEV and @map, both ways, against system memory. */
static void check_odirect(unsigned char *map)
{
	unsigned char *sys;
	ssize_t n;
	int bfd;
	size_t i;

	bfd = open(blockdev, O_RDWR | O_DIRECT);
	if (bfd < 0 || posix_memalign((void **)&sys, 4096, SZ_2M)) {
		fail("open the block device and a buffer", "%s", strerror(errno));
		return;
	}
	for (i = 0; i < SZ_2M; i++)
		map[i] = (unsigned char)(i * 7 + i / 4096);
	n = pwrite(bfd, map, SZ_2M, 0);
	expect_ll("O_DIRECT write from the dma-buf's mapping", n, SZ_2M);
	memset(sys, 0, SZ_2M);
	n = pread(bfd, sys, SZ_2M, 0);
	expect_ll("O_DIRECT read back into system memory", n, SZ_2M);
	expect_ll("the device holds what the dma-buf held",
		  !memcmp(sys, map, SZ_2M), 1);

	memset(map, 0, SZ_2M);
	n = pread(bfd, map, SZ_2M, 0);
	expect_ll("O_DIRECT read into the dma-buf's mapping", n, SZ_2M);
	expect_ll("the dma-buf holds what the device holds",
		  !memcmp(sys, map, SZ_2M), 1);
	free(sys);
	close(bfd);
}

static void check_export(void)
{
	long long avail = p2pmem_attr("available");
	char line[128];
	unsigned char *map;
	void *dirty;
	int nfd, fd = -1, err;

	/* Data in all of the provider's free memory, for an export to find. */
	nfd = open(node, O_RDWR);
	dirty = nfd < 0 ? MAP_FAILED :
		mmap(NULL, avail, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);
	if (dirty == MAP_FAILED) {
		fail("map all of available", "%s", strerror(errno));
		if (nfd >= 0)
			close(nfd);
		return;
	}
	memset(dirty, 0xa5, avail);
	munmap(dirty, avail);

	err = export(nfd, SZ_2M, O_RDWR | O_CLOEXEC, &fd);
	close(nfd);
	expect_ll("a 2 MiB export", err, 0);
	if (err)
		return;
	expect_ll("the export takes 2 MiB of available",
		  p2pmem_attr("available"), avail - SZ_2M);
	expect_ll("the descriptor is close-on-exec",
		  !!(fcntl(fd, F_GETFD) & FD_CLOEXEC), 1);
	expect_ll("fdinfo: a dma-buf of 2 MiB", fdinfo_has(fd, "size:\t2097152\n"), 1);
	snprintf(line, sizeof(line), "name:\t%s\n", bdf);
	expect_ll("fdinfo: named after the provider", fdinfo_has(fd, line), 1);

	expect_ll("a private mapping is refused with EINVAL",
		  mmap(NULL, SZ_2M, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ?
		  errno : 0, EINVAL);
	map = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail("map the dma-buf", "%s", strerror(errno));
		close(fd);
		return;
	}
	expect_ll("the dma-buf holds zeros", all_bytes(map, SZ_2M, 0), 1);
	check_odirect(map);

	close(fd);
	expect_ll("mapped, a closed dma-buf keeps its memory",
		  p2pmem_attr("available"), avail - SZ_2M);
	munmap(map, SZ_2M);
	expect_ll("unmapped too, the memory is back", p2pmem_attr("available"),
		  avail);
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void on_alarm(int sig)
{
	(void)sig;
	/* The unbind never returned: say so, and end the run. */
	printf("not ok - unbinding while exported returns within 30 s\n");
	_exit(1);
}

/*
 * Write @val to @path in a child, and wait 30 s at most for it: a write
 * that hangs in the kernel cannot be interrupted, a wait for it can.
 * Return: the write's errno, negated, or 0.
 */
static int write_sysfs_bounded(const char *path, const char *val)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(-write_sysfs(path, val));
	signal(SIGALRM, on_alarm);
	alarm(30);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	alarm(0);
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

static void check_unbind(void)
{
	long long size = p2pmem_attr("size");
	char path[256];
	unsigned char *map;
	int nfd, fd = -1;

	nfd = open(node, O_RDWR);
	if (nfd < 0 || export(nfd, SZ_2M, O_RDWR, &fd)) {
		fail("export before the unbind", "%s", strerror(errno));
		if (nfd >= 0)
			close(nfd);
		return;
	}
	close(nfd);
	map = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail("map before the unbind", "%s", strerror(errno));
		close(fd);
		return;
	}
	map[0] = 0x5a;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	expect_ll("unbinding while exported and mapped",
		  write_sysfs_bounded(path, bdf), 0);
	pass("unbinding while exported returns within 30 s");

	catch_access_signals();
	expect_ll("a read of the revoked mapping raises SIGBUS",
		  access_signal(map, 0), SIGBUS);
	expect_ll("a write of it raises SIGBUS", access_signal(map + 4096, 1),
		  SIGBUS);
	expect_ll("a second mapping of the revoked dma-buf is refused: ENODEV",
		  mmap(NULL, SZ_2M, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ?
		  errno : 0, ENODEV);
	munmap(map, SZ_2M);
	close(fd);

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	expect_ll("binding again", write_sysfs(path, bdf), 0);
	expect_ll("bound again, all of size is available",
		  p2pmem_attr("available"), size);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s NODE BDF DRIVER BLOCKDEV\n", argv[0]);
		return 2;
	}
	node = argv[1];
	bdf = argv[2];
	driver = argv[3];
	blockdev = argv[4];
	setvbuf(stdout, NULL, _IOLBF, 0);

	check_refusals();
	check_export();
	check_unbind();
	return failed;
}
