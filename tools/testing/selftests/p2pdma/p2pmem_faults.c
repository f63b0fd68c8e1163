// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_faults - make each allocation of a p2pmem path fail in turn
 *
 * Usage: p2pmem_faults BDF bind DRIVER SECONDS
 *        p2pmem_faults BDF mmap SECONDS
 *        p2pmem_faults BDF copy SRC DST SECONDS
 *
 * For N = 1, 2, ... makes the N-th fault-injectable call of one operation
 * fail (/proc/thread-self/fail-nth; the caller sets up debugfs failslab and
 * fail_page_alloc), until the operation runs through without reaching an
 * N-th call, and checks after each attempt that it either failed leaving
 * nothing behind or worked whole.  A sweep that SECONDS cut short fails:
 * the calls after the last one tried were never made to fail.
 *
 *   bind  binding unbound device BDF to DRIVER: afterwards either BDF is
 *         unbound with no p2pmem/ directory, debugfs statistics or
 *         /dev/p2pmem node left, or it is bound with all its p2pmem free
 *         and unbinding it removes all of that.
 *   mmap  a 64 KiB mapping of BDF's p2pmem/allocate: either mmap() fails,
 *         or the mapping holds what is written to it; "available" is back
 *         to its old value after munmap() either way.
 *   copy  the in-kernel copy of 1 MiB from block device SRC to DST through
 *         BDF's p2pmem (debugfs p2pdma_e2e/copy): "available" is back to
 *         its old value after each attempt.
 *
 * Prints one "ok - WHAT" or "not ok - WHAT: ..." line per check.  Exits 0
 * if all passed, 1 if any failed, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2pdma_test.h"

#define MAP_LEN		(64 * 1024)
#define COPY_BYTES	(1024 * 1024)

static const char *bdf;
static int failures;
static int fail_nth_fd = -1;
/* An attempt ran through without reaching its N-th call: all were tried. */
static int swept;

__printf(1, 2)
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* Arm the N-th fault-injectable call of this thread; 0 disarms. */
static void set_fail_nth(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (pwrite(fail_nth_fd, buf, len, 0) != len) {
		perror("write /proc/thread-self/fail-nth");
		exit(1);
	}
}

/* Disarm, and say whether the armed fault was injected. */
static int fault_injected(void)
{
	char buf[16] = "";
	ssize_t len = pread(fail_nth_fd, buf, sizeof(buf) - 1, 0);

	if (len <= 0) {
		perror("read /proc/thread-self/fail-nth");
		exit(1);
	}
	set_fail_nth(0);
	return atoi(buf) == 0;
}

static int path_exists(const char *fmt, ...)
{
	char path[512];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return !lstat(path, &st);
}

static int read_ull(const char *name, unsigned long long *val)
{
	char path[256], buf[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/%s",
		 bdf, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	*val = strtoull(buf, NULL, 10);
	return 0;
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

/* A /dev/p2pmem class device whose "device" link is BDF. */
static int has_node(void)
{
	DIR *d = opendir("/sys/class/p2pmem");
	char link[512], target[512];
	struct dirent *e;
	int found = 0;
	ssize_t len;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/sys/class/p2pmem/%s/device",
			 e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		found = !!strstr(target, bdf);
	}
	closedir(d);
	return found;
}

/* After a failed bind: nothing of the provider may be left. */
static void check_nothing_left(int n)
{
	if (path_exists("/sys/bus/pci/devices/%s/driver", bdf))
		fail("bind fault %d: failed but the device is bound", n);
	if (path_exists("/sys/bus/pci/devices/%s/p2pmem", bdf))
		fail("bind fault %d: p2pmem/ left behind", n);
	if (path_exists("/sys/kernel/debug/p2pdma/%s", bdf))
		fail("bind fault %d: debugfs statistics left behind", n);
	if (has_node())
		fail("bind fault %d: a /dev/p2pmem node left behind", n);
}

/* After a bind that worked: whole, and unbinding removes all of it. */
static void check_whole_then_unbind(int n, const char *driver)
{
	unsigned long long size = 0, avail = 0;
	char path[256];

	if (read_ull("size", &size) || read_ull("available", &avail) ||
	    !size || avail != size)
		fail("bind fault %d: bound with size %llu, available %llu",
		     n, size, avail);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	if (write_str(path, bdf))
		fail("bind fault %d: unbind: errno %d (%s)", n, errno,
		     strerror(errno));
	check_nothing_left(n);
}

static int test_bind(const char *driver, double secs)
{
	double start = now_seconds();
	int n, fd, injected, bound, anyway = 0;
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	for (n = 1; now_seconds() - start < secs; n++) {
		fd = open(path, O_WRONLY);
		if (fd < 0) {
			fail("open %s: errno %d (%s)", path, errno,
			     strerror(errno));
			return n;
		}
		set_fail_nth(n);
		bound = write(fd, bdf, strlen(bdf)) >= 0;
		injected = fault_injected();
		close(fd);
		if (bound) {
			anyway += injected;
			check_whole_then_unbind(n, driver);
		} else {
			check_nothing_left(n);
		}
		if (!injected) {
			if (!bound)
				fail("bind without a fault failed");
			swept = 1;
			break;
		}
	}
	printf("   bind: %d fault points, %d of them bound anyway\n",
	       n - 1, anyway);
	return n;
}

static int test_mmap(double secs)
{
	unsigned long long before, after;
	double start = now_seconds();
	int n, fd, injected, i;
	char path[256];
	unsigned char *map;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/allocate",
		 bdf);
	if (read_ull("available", &before)) {
		fail("read p2pmem/available");
		return 0;
	}
	for (n = 1; now_seconds() - start < secs; n++) {
		fd = open(path, O_RDWR);
		if (fd < 0) {
			fail("open %s: errno %d (%s)", path, errno,
			     strerror(errno));
			return n;
		}
		set_fail_nth(n);
		map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		injected = fault_injected();
		close(fd);
		if (map != MAP_FAILED) {
			for (i = 0; i < MAP_LEN; i += 4096)
				map[i] = (unsigned char)(i >> 12) ^ n;
			for (i = 0; i < MAP_LEN; i += 4096)
				if (map[i] != ((unsigned char)(i >> 12) ^ n))
					fail("mmap fault %d: data lost", n);
			munmap(map, MAP_LEN);
		}
		if (read_ull("available", &after) || after != before)
			fail("mmap fault %d: available %llu, was %llu", n,
			     after, before);
		if (!injected) {
			if (map == MAP_FAILED)
				fail("mmap without a fault failed: errno %d",
				     errno);
			swept = 1;
			break;
		}
	}
	printf("   mmap: %d fault points\n", n - 1);
	return n;
}

static int test_copy(const char *src, const char *dst, double secs)
{
	const char *copy = "/sys/kernel/debug/p2pdma_e2e/copy";
	unsigned long long before, after;
	double start = now_seconds();
	int n, fd, injected, copied;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "%s %s %s %d", bdf, src, dst, COPY_BYTES);
	if (read_ull("available", &before)) {
		fail("read p2pmem/available");
		return 0;
	}
	for (n = 1; now_seconds() - start < secs; n++) {
		fd = open(copy, O_WRONLY);
		if (fd < 0) {
			fail("open %s: errno %d (%s)", copy, errno,
			     strerror(errno));
			return n;
		}
		set_fail_nth(n);
		copied = write(fd, cmd, strlen(cmd)) >= 0;
		injected = fault_injected();
		close(fd);
		if (read_ull("available", &after) || after != before)
			fail("copy fault %d: available %llu, was %llu", n,
			     after, before);
		if (!injected) {
			if (!copied)
				fail("copy without a fault failed: errno %d",
				     errno);
			swept = 1;
			break;
		}
	}
	printf("   copy: %d fault points\n", n - 1);
	return n;
}

static void bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s BDF bind DRIVER SECONDS\n"
		"       %s BDF mmap SECONDS\n"
		"       %s BDF copy SRC DST SECONDS\n", prog, prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode;
	int points;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4)
		bad_usage(argv[0]);
	bdf = argv[1];
	mode = argv[2];
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fail_nth_fd < 0) {
		perror("open /proc/thread-self/fail-nth");
		return 1;
	}
	if (!strcmp(mode, "bind") && argc == 5)
		points = test_bind(argv[3], atof(argv[4]));
	else if (!strcmp(mode, "mmap") && argc == 4)
		points = test_mmap(atof(argv[3]));
	else if (!strcmp(mode, "copy") && argc == 6)
		points = test_copy(argv[3], argv[4], atof(argv[5]));
	else
		bad_usage(argv[0]);

	if (points > 1)
		printf("ok - %s: %d fault points injected\n", mode, points - 1);
	else
		fail("%s: no fault was injected (is fault injection set up?)",
		     mode);
	/* A sweep cut short by the clock never tried the later calls. */
	if (swept)
		printf("ok - %s: every fault point tried, then a run without one\n",
		       mode);
	else
		fail("%s: time ran out after %d fault points, before a run without a fault",
		     mode, points - 1);
	if (!failures)
		printf("ok - %s: every attempt failed cleanly or worked whole\n",
		       mode);
	return failures ? 1 : 0;
}
