// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_mmap_test - check the mmap() interface of p2pmem/allocate
 *
 * Usage: p2pmem_mmap_test BDF badargs
 *        p2pmem_mmap_test BDF gup DEVICE
 *        p2pmem_mmap_test BDF unbind DRIVER
 *        p2pmem_mmap_test BDF gone CMD
 *        p2pmem_mmap_test BDF mixed DEVICE
 *        p2pmem_mmap_test BDF vmops
 *        p2pmem_mmap_test BDF race DRIVER SECONDS
 *        p2pmem_mmap_test BDF bounded DRIVER [OTHER ODRIVER]
 *        p2pmem_mmap_test BDF clean DRIVER
 *        p2pmem_mmap_test BDF hold
 *
 * Maps PCI peer-to-peer memory of device BDF through
 * /sys/bus/pci/devices/BDF/p2pmem/allocate, or with -d DEVICE through
 * DEVICE, BDF's /dev/p2pmemN, and checks:
 *
 *   badargs  that MAP_PRIVATE, a non-zero offset, more than "available" and
 *            a zero length are refused with the right errno, that a
 *            read-only mapping of an O_RDONLY fd is either allowed or
 *            refused with EACCES, that none of this changes "available",
 *            and that a 3 page mapping holds data and is given back.
 *   gup      that kernel paths which pin user pages without asking for P2P
 *            pages refuse the mapping: process_vm_readv() and
 *            process_vm_writev() with EFAULT and O_DIRECT pread() from block
 *            DEVICE (one without P2P support or that cannot reach BDF) with
 *            EREMOTEIO, also for a read of more than 1 MiB (several bios)
 *            and through Linux AIO, while the same calls on ordinary
 *            memory succeed.
 *   unbind   that unbinding BDF from DRIVER while it is mapped returns,
 *            that the mapping then raises SIGBUS (and that DEVICE is gone,
 *            with -d), and that after binding it again "size" and
 *            "available" are what they were before.
 *   gone     the same for a device that goes away for good: the shell
 *            command CMD removes it (hot-unplug) and returns once it is gone.
 *   mixed    that O_DIRECT readv/writev on block DEVICE (which can reach
 *            BDF) with p2pmem and system pages in one request move every
 *            byte to the right place.
 *   vmops    that a new mapping holds none of an earlier one's data, that
 *            /proc/self/maps shows it as the provider's "p2pmem" file, and
 *            that mprotect() both ways, a soft-dirty reset, mlock(),
 *            MADV_POPULATE_READ/WRITE, fork(), mremap() and a partial
 *            munmap() work as on a shared file mapping, none of them
 *            leaving a write that never completes.
 *   race     that while several processes map, check and hold p2pmem in a
 *            loop, unbinding and binding BDF's DRIVER again and again for
 *            SECONDS always returns within 10 s and revokes every mapping
 *            made before it (SIGBUS), that every mapping that works holds
 *            its data, and that "available" is what it was at the end.
 *   bounded  that one mmap() of all of "available" takes a second or
 *            more (it maps every page, and clears those not known to be
 *            clean; mapped twice, the second mapping and its munmap()
 *            timed: the round trip), and once a quarter
 *            of the mapping time has passed: that SIGKILL ends its process
 *            within a quarter of the round trip, every page coming back;
 *            that unbinding BDF from DRIVER takes at most that much longer
 *            than with nothing mapped, the mmap() failing with ENODEV;
 *            and, with OTHER (bound to ODRIVER), that unbinding OTHER
 *            while a process that mapped OTHER makes such a mapping of BDF
 *            waits for it, and dmesg names that process.
 *
 *   clean    that every new mapping reads zeros after another process
 *            filled all of "available" and exited: while the provider's
 *            clearer works on those pages (its cleared_bytes and the
 *            mapping's own map_cleared_bytes in debugfs both grow, or the
 *            round is done again), and after BDF was unbound from DRIVER
 *            while it did; that the clearer alone makes its target of
 *            memory clean (half of BDF's, 64 MiB at most); that pages
 *            mapped and never written come back
 *            clean (the next mapping clears nothing), and that a mapping
 *            takes clean pages before one just written and freed; that
 *            the clearer starts only once written mappings took its stock
 *            below half its target, and then fills it; that debugfs
 *            counts a mapping and its pages in and out.
 *   hold     for a test script: maps all of "available", prints
 *            "held BYTES" once it is mapped and holds it until killed,
 *            leaving BDF's p2pmem exhausted meanwhile.
 *
 * Prints one "ok - WHAT" or "not ok - WHAT: got ..., want ..." line per
 * check on stdout.  Exits 0 if all checks passed, 1 if any failed and 2 on
 * bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p2pdma_test.h"

#define HANG_TIMEOUT	60	/* seconds before unbind/bind counts as hung */
/* "gone": CMD also waits for a copy and for pciehp's 5 s button delay */
#define GONE_TIMEOUT	180
#define REBIND_POLLS	100	/* times 100 ms to wait for p2pmem after bind */
#define DIRECT_IO_SIZE	4096
#define LARGE_IO_SIZE	(2048 * 1024 + 4096)	/* more than one bio */

static const char *bdf;
static const char *map_file;	/* -d DEVICE, or NULL for p2pmem/allocate */
static size_t page_size;
static int failures;

static void pass(const char *what)
{
	printf("ok - %s\n", what);
}

__printf(2, 3)
static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* Check the result of a call that must fail with errno want. */
static void expect_errno(const char *what, int failed, int err, int want)
{
	if (failed && err == want)
		pass(what);
	else if (failed)
		fail(what, "got errno %d (%s), want errno %d (%s)", err,
		     strerror(err), want, strerror(want));
	else
		fail(what, "got success, want errno %d (%s)", want,
		     strerror(want));
}

/* Check the byte count returned by a call that must fully succeed. */
static void expect_count(const char *what, ssize_t got, size_t want)
{
	if (got == (ssize_t)want)
		pass(what);
	else if (got < 0)
		fail(what, "got errno %d (%s), want %zu bytes", errno,
		     strerror(errno), want);
	else
		fail(what, "got %zd bytes, want %zu", got, want);
}

static void expect_value(const char *what, unsigned long long got,
			 unsigned long long want)
{
	if (got == want)
		pass(what);
	else
		fail(what, "got %llu, want %llu", got, want);
}

static void *xmalloc(size_t len)
{
	void *p = malloc(len);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	return p;
}

static void p2pmem_path(char *path, size_t len, const char *name)
{
	snprintf(path, len, "/sys/bus/pci/devices/%s/p2pmem/%s", bdf, name);
}

/* Read a p2pmem attribute; on error returns -1 with errno set. */
static int read_attr(const char *name, unsigned long long *val)
{
	char path[256], buf[64], *end;
	ssize_t len;
	int fd;

	p2pmem_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	*val = strtoull(buf, &end, 10);
	if (end == buf || strcmp(end, "\n")) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Like read_attr() but a failure is a failed check. */
static int read_attr_checked(const char *name, unsigned long long *val)
{
	char what[64];

	if (!read_attr(name, val))
		return 0;
	snprintf(what, sizeof(what), "read p2pmem/%s", name);
	fail(what, "got errno %d (%s)", errno, strerror(errno));
	return -1;
}

/* The file to map: BDF's p2pmem/allocate, or DEVICE with -d. */
static void map_file_path(char *path, size_t len)
{
	if (map_file)
		snprintf(path, len, "%s", map_file);
	else
		p2pmem_path(path, len, "allocate");
}

static int open_allocate(int flags)
{
	char path[256], what[300];
	int fd;

	map_file_path(path, sizeof(path));
	fd = open(path, flags);
	if (fd < 0) {
		snprintf(what, sizeof(what), "open %s", path);
		fail(what, "got errno %d (%s)", errno, strerror(errno));
	}
	return fd;
}

/* Map npages of p2pmem read-write; returns NULL after a failed check. */
static unsigned char *map_pages(unsigned int npages)
{
	char what[64];
	void *p;
	int fd;

	fd = open_allocate(O_RDWR);
	if (fd < 0)
		return NULL;
	snprintf(what, sizeof(what), "mmap of %u page%s", npages,
		 npages == 1 ? "" : "s");
	p = mmap(NULL, npages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	/* the mapping holds its own reference to the file */
	close(fd);
	if (p == MAP_FAILED) {
		fail(what, "got errno %d (%s)", errno, strerror(errno));
		return NULL;
	}
	pass(what);
	return p;
}

static unsigned char pattern_byte(size_t off, unsigned int seed)
{
	/* mixes in the page number so that swapped pages are noticed */
	return (unsigned char)(off * 7 + (off >> 12) * 13 + seed);
}

static void write_pattern(unsigned char *map, size_t len, unsigned int seed)
{
	unsigned char *buf = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(i, seed);
	memcpy(map, buf, len);
	free(buf);
}

static void check_pattern(const unsigned char *map, size_t len,
			  unsigned int seed, const char *what)
{
	unsigned char *buf = xmalloc(len);
	size_t i;

	memcpy(buf, map, len);
	for (i = 0; i < len; i++) {
		if (buf[i] != pattern_byte(i, seed))
			break;
	}
	if (i == len)
		pass(what);
	else
		fail(what, "got 0x%02x at offset %zu, want 0x%02x", buf[i], i,
		     pattern_byte(i, seed));
	free(buf);
}

/* mmap() of allocate that must fail with errno want. */
static void check_refused(int fd, const char *what, size_t len, int prot,
			  int flags, off_t off, int want)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);
	int err = errno;

	if (p != MAP_FAILED)
		munmap(p, len);
	expect_errno(what, p == MAP_FAILED, err, want);
}

/* Whether a read-only mapping is allowed is up to the kernel: report it. */
/*
 * A shared read-only mapping is allowed, as upstream allows it: it is the
 * buffer of O_DIRECT writes, where the device only reads the memory.  It
 * allocates its page like any other mapping.
 */
static void check_read_only(unsigned long long avail)
{
	const char *what = "read-only mapping of O_RDONLY fd";
	int fd = open_allocate(O_RDONLY);
	unsigned long long now;
	void *p;

	if (fd < 0)
		return;
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fail(what, "got errno %d (%s), want success", errno,
		     strerror(errno));
		close(fd);
		return;
	}
	/* The page is there to read: no fault. */
	(void)__atomic_load_n((char *)p, __ATOMIC_RELAXED);
	if (!read_attr_checked("available", &now))
		expect_value("read-only mapping allowed, and it holds a page", now,
			     avail - page_size);
	munmap(p, page_size);
	close(fd);
}

static void check_refused_mappings(unsigned long long avail)
{
	/* one page more than what is left, rounded to whole pages */
	size_t too_much = (avail / page_size + 1) * page_size;
	int prot = PROT_READ | PROT_WRITE;
	int fd = open_allocate(O_RDWR);

	if (fd < 0)
		return;
	check_refused(fd, "MAP_PRIVATE refused with EINVAL", page_size, prot,
		      MAP_PRIVATE, 0, EINVAL);
	check_refused(fd, "non-zero offset refused with EINVAL", page_size,
		      prot, MAP_SHARED, page_size, EINVAL);
	check_refused(fd, "mapping more than available refused with ENOMEM",
		      too_much, prot, MAP_SHARED, 0, ENOMEM);
	check_refused(fd, "zero length refused with EINVAL", 0, prot,
		      MAP_SHARED, 0, EINVAL);
	close(fd);
}

/* A good mapping takes from "available", holds data and gives it back. */
static void check_good_mapping(unsigned long long avail)
{
	const unsigned int npages = 3;
	size_t len = npages * page_size;
	unsigned long long now;
	unsigned char *map;

	map = map_pages(npages);
	if (!map)
		return;
	if (!read_attr_checked("available", &now))
		expect_value("available drops by 3 pages while mapped", now,
			     avail - len);
	write_pattern(map, len, 1);
	check_pattern(map, len, 1, "pattern read back from 3 pages");
	munmap(map, len);
	if (!read_attr_checked("available", &now))
		expect_value("available restored after munmap", now, avail);
}

static void test_badargs(void)
{
	unsigned long long avail, now;

	if (read_attr_checked("available", &avail))
		return;
	check_refused_mappings(avail);
	check_read_only(avail);
	if (!read_attr_checked("available", &now))
		expect_value("available unchanged after refused mappings", now,
			     avail);
	check_good_mapping(avail);
}

/*
 * Use process_vm_readv() or process_vm_writev() on our own pid so that the
 * kernel pins "remote" as user pages of another mm would be pinned.
 */
static ssize_t vm_copy(int writing, void *local, void *remote, size_t len)
{
	struct iovec liov = { .iov_base = local, .iov_len = len };
	struct iovec riov = { .iov_base = remote, .iov_len = len };

	if (writing)
		return process_vm_writev(getpid(), &liov, 1, &riov, 1, 0);
	return process_vm_readv(getpid(), &liov, 1, &riov, 1, 0);
}

static void check_process_vm(unsigned char *map)
{
	unsigned char *local = xmalloc(page_size);
	unsigned char *ordinary = xmalloc(page_size);
	ssize_t n;

	memset(ordinary, 0xa5, page_size);
	/* the ordinary cases show that a failure below is due to p2pmem */
	expect_count("process_vm_readv from ordinary memory",
		     vm_copy(0, local, ordinary, page_size), page_size);
	n = vm_copy(0, local, map, page_size);
	expect_errno("process_vm_readv from p2pmem refused with EFAULT", n < 0,
		     errno, EFAULT);
	expect_count("process_vm_writev to ordinary memory",
		     vm_copy(1, local, ordinary, page_size), page_size);
	n = vm_copy(1, local, map, page_size);
	expect_errno("process_vm_writev to p2pmem refused with EFAULT", n < 0,
		     errno, EFAULT);
	free(ordinary);
	free(local);
}

/*
 * The same read through Linux AIO: its result comes in the completion
 * event, and a read of several bios is completed by their end_io.
 */
static void check_direct_aio(int fd, unsigned char *map, size_t len,
			     const char *what)
{
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct timespec timeout = { .tv_sec = 10 };
	aio_context_t ctx = 0;
	struct io_event ev;

	if (syscall(SYS_io_setup, 1, &ctx)) {
		fail(what, "io_setup: errno %d (%s)", errno, strerror(errno));
		return;
	}
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (unsigned long)map;
	cb.aio_nbytes = len;
	if (syscall(SYS_io_submit, ctx, 1, cbs) != 1)
		fail(what, "io_submit: errno %d (%s)", errno, strerror(errno));
	else if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, &timeout) != 1)
		fail(what, "no completion in %ld s", (long)timeout.tv_sec);
	else if (ev.res != -EREMOTEIO)
		fail(what, "got %lld, want %d (EREMOTEIO)", (long long)ev.res,
		     -EREMOTEIO);
	else
		pass(what);
	syscall(SYS_io_destroy, ctx);
}

static void check_direct_io(const char *device, unsigned char *map)
{
	void *ordinary;
	ssize_t n;
	int fd;

	fd = open(device, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fail("open DEVICE with O_DIRECT", "got errno %d (%s)", errno,
		     strerror(errno));
		return;
	}
	if (posix_memalign(&ordinary, page_size, DIRECT_IO_SIZE)) {
		perror("posix_memalign");
		exit(1);
	}
	expect_count("O_DIRECT pread into ordinary memory",
		     pread(fd, ordinary, DIRECT_IO_SIZE, 0), DIRECT_IO_SIZE);
	n = pread(fd, map, DIRECT_IO_SIZE, 0);
	expect_errno("O_DIRECT pread into p2pmem refused with EREMOTEIO",
		     n < 0, errno, EREMOTEIO);
	n = pread(fd, map, LARGE_IO_SIZE, 0);
	expect_errno("O_DIRECT pread of over 1 MiB into p2pmem refused with EREMOTEIO",
		     n < 0, errno, EREMOTEIO);
	check_direct_aio(fd, map, DIRECT_IO_SIZE,
			 "AIO O_DIRECT read into p2pmem completes with EREMOTEIO");
	check_direct_aio(fd, map, LARGE_IO_SIZE,
			 "AIO O_DIRECT read of over 1 MiB into p2pmem completes with EREMOTEIO");
	free(ordinary);
	close(fd);
}

static void test_gup(const char *device)
{
	/* the largest O_DIRECT read needs LARGE_IO_SIZE */
	unsigned int npages = (LARGE_IO_SIZE + page_size - 1) / page_size;
	unsigned long long avail, now;
	unsigned char *map;

	if (read_attr_checked("available", &avail))
		return;
	map = map_pages(npages);
	if (!map)
		return;
	write_pattern(map, npages * page_size, 2);
	check_process_vm(map);
	check_direct_io(device, map);
	munmap(map, npages * page_size);
	/* a refused pin must not leak a reference to the memory */
	if (!read_attr_checked("available", &now))
		expect_value("available restored after munmap", now, avail);
}

static void *aligned_pages(unsigned int npages)
{
	void *p;

	if (posix_memalign(&p, page_size, npages * page_size)) {
		perror("posix_memalign");
		exit(1);
	}
	return p;
}

/* Compare @len bytes against the reference, reporting one check. */
static void expect_same(const char *what, const void *got, const void *want,
			size_t len)
{
	const unsigned char *g = got, *w = want;
	size_t i;

	for (i = 0; i < len && g[i] == w[i]; i++)
		;
	if (i == len)
		pass(what);
	else
		fail(what, "first difference at byte %zu: got %#x, want %#x",
		     i, g[i], w[i]);
}

/*
 * One O_DIRECT request whose pages are partly p2pmem, partly system
 * memory: the block layer must keep them in separate segments, so that
 * each is mapped for DMA the right way.  The device must reach BDF.
 * Reads are checked against a read into system memory only; a write is
 * checked by reading it back.  The write goes to byte offset 64 MiB.
 */
static void test_mixed(const char *device)
{
	const size_t pg = page_size;
	unsigned char *p2p, *sys, *ref;
	unsigned long long avail, now;
	struct iovec iov[3];
	int fd;

	if (read_attr_checked("available", &avail))
		return;
	fd = open(device, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail("open DEVICE with O_DIRECT", "got errno %d (%s)", errno,
		     strerror(errno));
		return;
	}
	p2p = map_pages(2);
	if (!p2p)
		goto close;
	sys = aligned_pages(4);
	ref = aligned_pages(4);
	expect_count("O_DIRECT pread of 4 pages into system memory",
		     pread(fd, ref, 4 * pg, 0), 4 * pg);

	iov[0] = (struct iovec){ p2p, 2 * pg };
	iov[1] = (struct iovec){ sys, 2 * pg };
	expect_count("preadv into p2pmem then system pages",
		     preadv(fd, iov, 2, 0), 4 * pg);
	expect_same("p2pmem part holds the first 2 pages", p2p, ref, 2 * pg);
	expect_same("system part holds the next 2 pages", sys, ref + 2 * pg,
		    2 * pg);

	memset(sys, 0, 4 * pg);
	iov[0] = (struct iovec){ sys, pg };
	iov[1] = (struct iovec){ p2p, pg };
	iov[2] = (struct iovec){ sys + pg, pg };
	expect_count("preadv into system, p2pmem, system pages",
		     preadv(fd, iov, 3, 0), 3 * pg);
	expect_same("the first system page", sys, ref, pg);
	expect_same("the p2pmem page in the middle", p2p, ref + pg, pg);
	expect_same("the last system page", sys + pg, ref + 2 * pg, pg);

	write_pattern(p2p, pg, 5);
	write_pattern(sys, pg, 6);
	iov[0] = (struct iovec){ p2p, pg };
	iov[1] = (struct iovec){ sys, pg };
	expect_count("pwritev from p2pmem then system pages",
		     pwritev(fd, iov, 2, 64 << 20), 2 * pg);
	expect_count("read back", pread(fd, ref, 2 * pg, 64 << 20), 2 * pg);
	expect_same("written p2pmem page read back", ref, p2p, pg);
	expect_same("written system page read back", ref + pg, sys, pg);

	free(sys);
	free(ref);
	munmap(p2p, 2 * pg);
	if (!read_attr_checked("available", &now))
		expect_value("available restored after munmap", now, avail);
close:
	close(fd);
}

/*
 * Writing to unbind or bind may block in an uninterruptible sleep in the
 * kernel, where no signal reaches the writer.  So a child process does the
 * write while the parent waits for it under alarm(): on a hang the parent
 * can still report and exit.  The child is forked before any p2pmem is
 * mapped so that it never shares the mapping under test.
 */
struct sysfs_writer {
	pid_t pid;
	int go_fd;		/* parent's end of the pipe that starts it */
};

static char alarm_msg[128];

static void on_alarm(int sig)
{
	ssize_t n = write(STDOUT_FILENO, alarm_msg, strlen(alarm_msg));

	(void)sig;
	(void)n;
	_exit(1);
}

/*
 * Child: wait for the go byte, write val to path, exit with the errno.
 * Without a path, val is a shell command to run instead.
 */
static void writer_child(int go_fd, const char *path, const char *val)
{
	char go;
	int fd;

	/* a writer stuck in the kernel must not keep the test's output open */
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	if (read(go_fd, &go, 1) != 1)
		_exit(0);
	if (!path) {
		execl("/bin/sh", "sh", "-c", val, (char *)NULL);
		_exit(errno);
	}
	fd = open(path, O_WRONLY);
	if (fd < 0)
		_exit(errno);
	if (write(fd, val, strlen(val)) < 0)
		_exit(errno);
	if (close(fd))
		_exit(errno);
	_exit(0);
}

static int writer_start(struct sysfs_writer *w, const char *path,
			const char *val)
{
	int fds[2];

	if (pipe(fds)) {
		fail("start sysfs writer", "pipe: errno %d (%s)", errno,
		     strerror(errno));
		return -1;
	}
	fflush(stdout);
	w->pid = fork();
	if (w->pid < 0) {
		fail("start sysfs writer", "fork: errno %d (%s)", errno,
		     strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (w->pid == 0) {
		close(fds[1]);
		writer_child(fds[0], path, val);
	}
	close(fds[0]);
	w->go_fd = fds[1];
	return 0;
}

/* Let the writer go and check that its write succeeds within @timeout s. */
static int writer_finish(struct sysfs_writer *w, const char *what,
			 unsigned int timeout)
{
	pid_t pid;
	int status;

	snprintf(alarm_msg, sizeof(alarm_msg),
		 "not ok - %s: still blocked after %u s\n", what, timeout);
	signal(SIGALRM, on_alarm);
	alarm(timeout);
	if (write(w->go_fd, "g", 1) != 1)
		perror("write to sysfs writer");
	do {
		pid = waitpid(w->pid, &status, 0);
	} while (pid < 0 && errno == EINTR);
	alarm(0);
	close(w->go_fd);

	if (pid < 0)
		fail(what, "waitpid: errno %d (%s)", errno, strerror(errno));
	else if (!WIFEXITED(status))
		fail(what, "writer died with status 0x%x", status);
	else if (WEXITSTATUS(status))
		fail(what, "got errno %d (%s), want success",
		     WEXITSTATUS(status), strerror(WEXITSTATUS(status)));
	else
		pass(what);
	return pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ? -1 : 0;
}

static void expect_sigbus(const char *what, unsigned char *p, int writing)
{
	int sig = access_signal(p, writing);

	if (sig == SIGBUS)
		pass(what);
	else if (sig)
		fail(what, "got %s, want SIGBUS", strsignal(sig));
	else
		fail(what, "got no signal, want SIGBUS");
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#define WRITE_TIMEOUT		5	/* seconds for one write to complete */

/*
 * Write val to *p.  A write fault the kernel never resolves makes the CPU
 * retry the store forever, so give up after WRITE_TIMEOUT seconds.
 * Returns the signal that stopped the write (SIGALRM: the timeout) or 0.
 */
static int write_within(unsigned char *p, unsigned char val)
{
	struct sigaction sa = { .sa_handler = on_access_signal };
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(WRITE_TIMEOUT);
	sig = sigsetjmp(access_env, 1);
	if (!sig)
		__atomic_store_n(p, val, __ATOMIC_RELAXED);
	alarm(0);
	return sig;
}

/* Returns 0 when the write never completed, so no more may be tried. */
static int expect_write(const char *what, unsigned char *p, unsigned char val)
{
	int sig = write_within(p, val);

	if (sig == SIGALRM)
		fail(what, "the write did not complete in %d s", WRITE_TIMEOUT);
	else if (sig)
		fail(what, "got %s", strsignal(sig));
	else if (__atomic_load_n(p, __ATOMIC_RELAXED) != val)
		fail(what, "read back %#x, want %#x", *p, val);
	else
		pass(what);
	return sig != SIGALRM;
}

static void expect_ok(const char *what, int ret)
{
	if (ret)
		fail(what, "got errno %d (%s), want success", errno,
		     strerror(errno));
	else
		pass(what);
}

static void expect_zero(const char *what, const unsigned char *map, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (map[i]) {
			fail(what, "byte %zu is %#x", i, map[i]);
			return;
		}
	}
	pass(what);
}

static int check_soft_dirty_reset(unsigned char *p)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	expect_ok("soft-dirty bits reset (clear_refs 4)",
		  fd < 0 || write(fd, "4", 1) != 1);
	if (fd >= 0)
		close(fd);
	return expect_write("write after a soft-dirty reset", p, 0x3c);
}

/*
 * Map every free page once and write to each, so that whatever a new
 * mapping gets was used before.  Returns non-zero if that failed.
 */
static int dirty_all_free(unsigned long long avail)
{
	const char *what = "all free p2pmem mapped and written once";
	int fd = open_allocate(O_RDWR);
	unsigned char *map;
	size_t off;

	if (fd < 0)
		return -1;
	map = mmap(NULL, avail, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fail(what, "errno %d (%s)", errno, strerror(errno));
		return -1;
	}
	for (off = 0; off < avail; off += page_size)
		map[off] = 0xee;
	munmap(map, avail);
	pass(what);
	return 0;
}

/* /proc/self/maps names the mapping's file: the provider's, "p2pmem". */
static void check_maps_name(const unsigned char *map)
{
	const char *what = "/proc/self/maps shows the mapping as p2pmem";
	char line[512], start[32];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f) {
		fail(what, "open: errno %d (%s)", errno, strerror(errno));
		return;
	}
	snprintf(start, sizeof(start), "%lx-", (unsigned long)map);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, start, strlen(start))) {
			found = 1;
			break;
		}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (!found)
		fail(what, "no line starts with %s", start);
	else if (!strstr(line, "/p2pmem"))
		fail(what, "got \"%s\"", line);
	else
		pass(what);
}

/* A child of fork() shares the mapping: it sees our data, we see its. */
static void check_fork(unsigned char *map)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int seen = __atomic_load_n(map, __ATOMIC_RELAXED);

		__atomic_store_n(map + 2 * page_size, 0x77, __ATOMIC_RELAXED);
		_exit(seen == 0xa5 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail("a child of fork() reads the parent's data", "it did not");
	else
		pass("a child of fork() reads the parent's data");
	expect_value("the parent reads the child's write",
		     __atomic_load_n(map + 2 * page_size, __ATOMIC_RELAXED), 0x77);
}

/* Move the mapping elsewhere with mremap(); returns its new address. */
static unsigned char *check_mremap(unsigned char *map, size_t len)
{
	const char *what = "mremap() moves the mapping with its data";
	void *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *moved = MAP_FAILED;

	if (to != MAP_FAILED)
		moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (moved == MAP_FAILED) {
		fail(what, "errno %d (%s)", errno, strerror(errno));
		return map;
	}
	expect_value(what, ((unsigned char *)moved)[0], 0xa5);
	return moved;
}

/*
 * The mapping behaves as a shared file mapping does under the ordinary VM
 * operations: none of them may hang, fail or hand out stale data.
 */
static void test_vmops(void)
{
	const unsigned int npages = 4;
	size_t len = npages * page_size;
	unsigned long long avail, now;
	unsigned char *map;

	catch_access_signals();
	if (read_attr_checked("available", &avail))
		return;
	if (dirty_all_free(avail))
		return;
	map = map_pages(npages);
	if (!map)
		return;
	expect_zero("a new mapping reads zero, not the last mapping's data",
		    map, len);
	check_maps_name(map);

	/* Pages not written yet: their page table entries are clean. */
	expect_ok("mprotect(PROT_READ)", mprotect(map, len, PROT_READ));
	expect_value("a write while read-only raises SIGSEGV",
		     access_signal(map, 1), SIGSEGV);
	expect_ok("mprotect(PROT_READ | PROT_WRITE)",
		  mprotect(map, len, PROT_READ | PROT_WRITE));
	if (!expect_write("write after read-only, then read-write", map, 0xa5))
		goto out;	/* the next write would never complete either */
	write_pattern(map + page_size, len - page_size, 1);
	check_pattern(map + page_size, len - page_size, 1,
		      "data written after read-write again reads back");
	if (!check_soft_dirty_reset(map + page_size))
		goto out;

	expect_ok("mlock()", mlock(map, len));
	expect_ok("munlock()", munlock(map, len));
	expect_ok("MADV_POPULATE_READ", madvise(map, len, MADV_POPULATE_READ));
	expect_ok("MADV_POPULATE_WRITE", madvise(map, len, MADV_POPULATE_WRITE));
	check_fork(map);
	map = check_mremap(map, len);

	munmap(map + 2 * page_size, 2 * page_size);
	if (!read_attr_checked("available", &now))
		expect_value("a partial munmap() gives its pages back", now,
			     avail - 2 * page_size);
	munmap(map, 2 * page_size);
	if (!read_attr_checked("available", &now))
		expect_value("available restored after the last munmap()", now,
			     avail);
	return;
out:
	munmap(map, len);
}

/*
 * After bind, p2pmem comes back once the driver has set it up again, with
 * as much available as before the test: the driver may keep some for
 * itself (NVMe puts submission queues in its CMB), but no more than before.
 */
static void check_rebound(unsigned long long size_before,
			  unsigned long long avail_before)
{
	unsigned long long size = 0, avail = 0;
	int i, found = 0;

	for (i = 0; i < REBIND_POLLS; i++) {
		found = !read_attr("size", &size) &&
			!read_attr("available", &avail);
		if (found && avail == avail_before)
			break;
		usleep(100000);
	}
	if (!found) {
		fail("p2pmem back after bind", "got no p2pmem/size and available");
		return;
	}
	pass("p2pmem back after bind");
	expect_value("size unchanged after bind", size, size_before);
	expect_value("available as before the test after bind", avail,
		     avail_before);
}

/*
 * Map 2 pages and fill them, let @remover take the provider away (@how
 * names it), then check that the mapping was revoked.  The writer is
 * started before the mapping exists, so that it never shares it.
 */
static int check_revoked(struct sysfs_writer *remover, const char *how,
			 unsigned int timeout)
{
	const size_t len = 2 * page_size;
	unsigned char *map;
	char what[96];

	/* on failure returning closes the pipe, which ends the writer */
	map = map_pages(2);
	if (!map)
		return -1;
	write_pattern(map, len, 3);
	check_pattern(map, len, 3, "pattern read back from 2 pages");

	snprintf(what, sizeof(what), "%s returned", how);
	if (writer_finish(remover, what, timeout))
		return -1;
	if (map_file) {
		struct stat st;
		int gone = stat(map_file, &st) < 0, err = errno;

		snprintf(what, sizeof(what), "%s is gone after %s", map_file,
			 how);
		expect_errno(what, gone, err, ENOENT);
	}
	catch_access_signals();
	snprintf(what, sizeof(what), "read after %s raises SIGBUS", how);
	expect_sigbus(what, map, 0);
	snprintf(what, sizeof(what), "write after %s raises SIGBUS", how);
	expect_sigbus(what, map + page_size, 1);
	snprintf(what, sizeof(what), "munmap after %s", how);
	if (munmap(map, len))
		fail(what, "got errno %d (%s)", errno, strerror(errno));
	else
		pass(what);
	return 0;
}

/* The device goes away for good: CMD unplugs it and waits until it is gone. */
static void test_gone(const char *cmd)
{
	struct sysfs_writer remover;

	if (!writer_start(&remover, NULL, cmd))
		check_revoked(&remover, "removal", GONE_TIMEOUT);
}

static void test_unbind(const char *driver)
{
	struct sysfs_writer unbind, bind;
	unsigned long long size, avail;
	char path[256];

	if (read_attr_checked("size", &size) ||
	    read_attr_checked("available", &avail))
		return;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	if (writer_start(&unbind, path, bdf) ||
	    check_revoked(&unbind, "unbind", HANG_TIMEOUT))
		return;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	if (writer_start(&bind, path, bdf) ||
	    writer_finish(&bind, "bind returned", HANG_TIMEOUT))
		return;
	check_rebound(size, avail);
}

#define RACE_MAPPERS	3
#define UNBIND_TIMEOUT	10	/* seconds an unbind may take in "race" */
#define HOLD_LIMIT	(UNBIND_TIMEOUT + 5)	/* then a mapping is stuck */

/* What the mappers of "race" and their parent share, in a shared page. */
struct race_state {
	int stop;		/* set by the parent: mappers exit */
	int unbinds_started;	/* unbinds begun: the parent counts each */
	int unbinds_done;	/* ... then again once it returned */
	int maps;		/* mmap() calls that succeeded */
	int refused;		/* mmap() calls refused: provider going away */
	int revoked;		/* mappings that raised SIGBUS, then unmapped */
};

/* Write @val to @path from a child, waiting at most @timeout seconds. */
static int write_timed(const char *path, const char *val, int timeout,
		       double *took)
{
	double start = now_seconds();
	int status, warned = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY);

		if (fd < 0 || write(fd, val, strlen(val)) < 0)
			_exit(errno);
		_exit(close(fd) ? errno : 0);
	}
	if (pid < 0)
		return -1;
	/* A stuck unbind is reported, then waited for: it holds the device. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		*took = now_seconds() - start;
		if (*took > timeout && !warned++)
			fail(path, "still blocked after %d s", timeout);
		if (*took > HANG_TIMEOUT) {
			fail(path, "still blocked after %d s, giving up",
			     HANG_TIMEOUT);
			exit(1);
		}
		usleep(10000);
	}
	*took = now_seconds() - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail(path, "writer ended with status 0x%x", status);
		return -1;
	}
	return warned ? -1 : 0;
}

/*
 * Map 2 pages and check them.  An unbind that returns after the mapping
 * exists must revoke it, so while one is under way hold the mapping until
 * it raises SIGBUS; otherwise unmap it after a moment and map again, so
 * that mmap() calls keep racing with the next unbind.  Failures count in
 * race_errors, a static because a SIGBUS longjmp()s back in here.
 */
static int race_errors;

static void race_map_once(struct race_state *rs)
{
	const size_t len = 2 * page_size;
	int fd, sig, done_at_map;
	unsigned char *map;
	double since, hold;
	char path[256];
	size_t off;

	map_file_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	if (fd < 0) {
		usleep(1000);	/* unbound: wait for the bind */
		return;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		__atomic_add_fetch(&rs->refused, 1, __ATOMIC_RELAXED);
		return;
	}
	done_at_map = __atomic_load_n(&rs->unbinds_done, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&rs->maps, 1, __ATOMIC_RELAXED);
	since = now_seconds();
	hold = (rand() % 3000) / 1e6;

	sig = sigsetjmp(access_env, 1);
	if (!sig) {
		write_pattern(map, len, getpid());
		for (off = 0; off < len; off++)
			if (map[off] != pattern_byte(off, getpid()))
				break;
		if (off < len) {
			printf("not ok - race: byte %zu of a mapping changed\n",
			       off);
			race_errors++;
		}
		while (!__atomic_load_n(&rs->stop, __ATOMIC_RELAXED)) {
			int unbinding = __atomic_load_n(&rs->unbinds_started,
							__ATOMIC_SEQ_CST) >
					done_at_map;

			if (!unbinding && now_seconds() - since > hold)
				break;
			if (unbinding && now_seconds() - since > HOLD_LIMIT) {
				printf("not ok - race: a mapping outlived an unbind\n");
				race_errors++;
				break;
			}
			__atomic_load_n(map, __ATOMIC_RELAXED);
			usleep(200);
		}
	} else if (sig == SIGBUS) {
		__atomic_add_fetch(&rs->revoked, 1, __ATOMIC_RELAXED);
	} else {
		printf("not ok - race: access raised %s\n", strsignal(sig));
		race_errors++;
	}
	munmap(map, len);
}

static void race_mapper(struct race_state *rs)
{
	catch_access_signals();
	srand(getpid());
	while (!__atomic_load_n(&rs->stop, __ATOMIC_RELAXED) && !race_errors)
		race_map_once(rs);
	_exit(race_errors ? 1 : 0);
}

/* Unbind and bind once; the bound driver must set p2pmem up again. */
static int race_cycle(struct race_state *rs, const char *driver,
		      double *slowest)
{
	char unbind[256], bind[256], path[256];
	struct stat st;
	int i, slow;
	double took;

	snprintf(unbind, sizeof(unbind), "/sys/bus/pci/drivers/%s/unbind",
		 driver);
	snprintf(bind, sizeof(bind), "/sys/bus/pci/drivers/%s/bind", driver);
	__atomic_add_fetch(&rs->unbinds_started, 1, __ATOMIC_SEQ_CST);
	/* A slow unbind fails the test, but the device is bound again. */
	slow = write_timed(unbind, bdf, UNBIND_TIMEOUT, &took);
	if (took > *slowest)
		*slowest = took;
	__atomic_add_fetch(&rs->unbinds_done, 1, __ATOMIC_SEQ_CST);
	if (write_timed(bind, bdf, UNBIND_TIMEOUT, &took))
		return -1;
	p2pmem_path(path, sizeof(path), "allocate");
	for (i = 0; i < REBIND_POLLS && stat(path, &st); i++)
		usleep(100000);
	/* let the mappers map before the next unbind */
	usleep(20000 + rand() % 200000);
	return slow;
}

static void test_race(const char *driver, const char *secs)
{
	unsigned long long size, avail;
	struct race_state *rs;
	pid_t pids[RACE_MAPPERS];
	double start, slowest = 0;
	int i, status, cycles = 0, broken = 0, bad = 0;
	int seconds = atoi(secs);
	char what[160];

	if (seconds <= 0) {
		fail("race: duration", "got \"%s\", want seconds", secs);
		return;
	}
	if (read_attr_checked("size", &size) ||
	    read_attr_checked("available", &avail))
		return;
	rs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rs == MAP_FAILED) {
		fail("race: shared state", "errno %d", errno);
		return;
	}
	fflush(stdout);
	for (i = 0; i < RACE_MAPPERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			race_mapper(rs);
	}

	start = now_seconds();
	while (now_seconds() - start < seconds && !broken) {
		broken = race_cycle(rs, driver, &slowest);
		cycles++;
	}
	__atomic_store_n(&rs->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < RACE_MAPPERS; i++)
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	snprintf(what, sizeof(what),
		 "race: %d s of unbind/bind, each unbind within %d s (%d cycles, slowest %.2f s)",
		 seconds, UNBIND_TIMEOUT, cycles, slowest);
	if (broken)
		fail(what, "cycle %d failed", cycles);
	else
		pass(what);
	expect_value("race: mappers saw no stale mapping or bad data", bad, 0);
	snprintf(what, sizeof(what),
		 "race: unbinds revoked live mappings (%d mmaps, %d refused, %d revoked)",
		 rs->maps, rs->refused, rs->revoked);
	if (rs->revoked > 0)
		pass(what);
	else
		fail(what, "none was revoked");
	check_rebound(size, avail);
}

/*
 * "bounded": a child maps, in one mmap(), enough of "available" that its
 * clearing takes seconds, and reports on a pipe: BIG_STARTED just before mmap(),
 * then BIG_MAPPED or BIG_FAILED with errno, and BIG_UNMAPPED once it
 * unmapped a mapping made.  With @first_bdf it first maps
 * a page of that provider, so that revoking that one has to wait for this
 * process's mmap lock, which the long mmap() holds.
 */
#define BOUNDED_MIN_SECS	1.0	/* a whole mapping must take this long */
#define CLEAN_ROUNDS		5	/* tries to catch the clearer at work */
/*
 * The length mapped is found by trying, from BOUNDED_START_LEN up to all
 * of available: the mapping rate goes from some GB/s (KVM) down to tens
 * of MB/s (TCG, a debug kernel), and all of an 8 GiB BAR would take
 * minutes there.  The timed mapping of a length finds its pages clean
 * (the first left them so): what takes the time is mapping them.  Aim
 * past the soft-lockup detector's 4 s, so that a mapping loop that never
 * yields is reported too.
 */
#define BOUNDED_AIM_SECS	5.0
#define BOUNDED_START_LEN	(64ULL << 20)
/*
 * How long a trip may take.  The timed mapping of a length finds its pages
 * clean, but the one before clears what the last length did not map: all
 * of an 8 GiB BAR, after a quick timed mapping of a small part, is a
 * minute or more on a debug kernel under TCG.  Its munmap() gives back
 * millions of pages.
 */
#define BOUNDED_TRIP_TIMEOUT	300

enum big_report {
	BIG_STARTED = 'S', BIG_MAPPED = 'M', BIG_FAILED = 'F', BIG_UNMAPPED = 'U'
};

struct big_msg {
	char what;
	int err;
};

struct big_mapper {
	pid_t pid;
	int rd;
};

static void big_tell(int wr, char what, int err)
{
	struct big_msg m = { .what = what, .err = err };

	if (write(wr, &m, sizeof(m)) != sizeof(m))
		_exit(3);
}

static void big_child(int wr, const char *first_bdf, size_t len)
{
	char path[256];
	void *p;
	int fd;

	if (first_bdf) {
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/p2pmem/allocate", first_bdf);
		fd = open(path, O_RDWR);
		p = fd < 0 ? MAP_FAILED :
			mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			big_tell(wr, BIG_FAILED, errno);
			_exit(1);
		}
		close(fd);
	}
	fd = open_allocate(O_RDWR);
	if (fd < 0) {
		big_tell(wr, BIG_FAILED, errno);
		_exit(1);
	}
	big_tell(wr, BIG_STARTED, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		big_tell(wr, BIG_FAILED, errno);
		_exit(0);
	}
	big_tell(wr, BIG_MAPPED, 0);
	munmap(p, len);
	big_tell(wr, BIG_UNMAPPED, 0);
	_exit(0);
}

/* Read the child's next report, waiting at most @secs; 0 or -1. */
static int big_next(struct big_mapper *m, double secs, struct big_msg *msg)
{
	struct pollfd pfd = { .fd = m->rd, .events = POLLIN };

	if (poll(&pfd, 1, secs * 1000) != 1)
		return -1;
	return read(m->rd, msg, sizeof(*msg)) == sizeof(*msg) ? 0 : -1;
}

/* Start a child mapping @len bytes; 0 once its mmap() is about to begin. */
static int big_start(struct big_mapper *m, const char *first_bdf, size_t len)
{
	struct big_msg msg;
	int fds[2];

	if (pipe(fds)) {
		fail("bounded: pipe", "errno %d", errno);
		return -1;
	}
	fflush(stdout);
	m->pid = fork();
	if (m->pid == 0) {
		close(fds[0]);
		big_child(fds[1], first_bdf, len);
	}
	close(fds[1]);
	m->rd = fds[0];
	if (m->pid < 0 || big_next(m, HANG_TIMEOUT, &msg) ||
	    msg.what != BIG_STARTED) {
		fail("bounded: the mapper starts", "it did not report");
		return -1;
	}
	return 0;
}

/* After @secs, the mapping must still be under way: else nothing is tested. */
static int big_still_mapping(struct big_mapper *m, double secs,
			     const char *what)
{
	struct big_msg msg;

	if (!big_next(m, secs, &msg)) {
		fail(what, "it ended (%c, errno %d) within %.1f s: %s",
		     msg.what, msg.err, secs,
		     "nothing to interrupt, map a larger BAR");
		return -1;
	}
	pass(what);
	return 0;
}

/* Reap the child within @secs; its wait status, or -1 (then killed). */
static int big_reap(struct big_mapper *m, double secs, double *took)
{
	double start = now_seconds();
	int status;

	while (waitpid(m->pid, &status, WNOHANG) == 0) {
		*took = now_seconds() - start;
		if (*took > secs) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &status, 0);
			close(m->rd);
			return -1;
		}
		usleep(10000);
	}
	*took = now_seconds() - start;
	close(m->rd);
	return status;
}

/* Poll until "available" is @want again, for up to 10 s. */
static void expect_available(const char *what, unsigned long long want)
{
	unsigned long long now = 0;
	int i;

	for (i = 0; i < 100; i++) {
		if (!read_attr("available", &now) && now == want)
			break;
		usleep(100000);
	}
	expect_value(what, now, want);
}

/*
 * How long one mmap() of @len takes, and with its munmap().  The checks
 * below act a quarter of the mapping time in and allow a quarter of this
 * round trip: undoing a quarter of the mapping costs a quarter of the
 * munmap(), and code that finished the mapping first would take three
 * quarters of it and all of the munmap().
 */
struct bounded_times {
	unsigned long long len;	/* bytes mapped */
	double map;		/* mmap() of them */
	double trip;		/* that and its munmap() */
};

/* Map and unmap @t->len once, timed; -1 if the child did not report both. */
static int bounded_trip(struct bounded_times *t)
{
	double start, ignored;
	struct big_mapper m;
	struct big_msg msg;

	t->map = -1;
	t->trip = -1;
	if (big_start(&m, NULL, t->len))
		return -1;
	start = now_seconds();
	if (!big_next(&m, BOUNDED_TRIP_TIMEOUT, &msg) && msg.what == BIG_MAPPED) {
		t->map = now_seconds() - start;
		if (!big_next(&m, BOUNDED_TRIP_TIMEOUT, &msg) &&
		    msg.what == BIG_UNMAPPED)
			t->trip = now_seconds() - start;
	}
	big_reap(&m, HANG_TIMEOUT, &ignored);
	return t->trip < 0 ? -1 : 0;
}

/*
 * The length to map: grown from BOUNDED_START_LEN until a mapping takes
 * BOUNDED_AIM_SECS, or is all of @avail.  Each length is mapped twice and
 * the second is timed: the first of a BAR's pages also pays for the
 * host's first touch of the memory behind them (QEMU's RAM for ivshmem).
 */
static int bounded_length(unsigned long long avail, struct bounded_times *t)
{
	unsigned long long grow;
	char what[160];
	int ok;

	t->len = avail < BOUNDED_START_LEN ? avail : BOUNDED_START_LEN;
	for (;;) {
		ok = !bounded_trip(t) && !bounded_trip(t);
		if (!ok || t->map >= BOUNDED_AIM_SECS || t->len == avail)
			break;
		/* At least twice as much: a handful of steps to any BAR. */
		grow = BOUNDED_AIM_SECS * 1.25 / (t->map > 0.01 ? t->map : 0.01);
		grow = grow < 2 ? 2 : grow;
		t->len = avail / grow < t->len ? avail :
			 (t->len * grow) & ~((2ULL << 20) - 1);
	}
	snprintf(what, sizeof(what),
		 "a mapping of %llu MiB of %llu takes %.1f s or more (%.2f s, munmap %.2f s)",
		 t->len >> 20, avail >> 20, BOUNDED_MIN_SECS, t->map,
		 t->trip - t->map);
	ok = ok && t->map >= BOUNDED_MIN_SECS;
	if (ok)
		pass(what);
	else
		fail(what, "too quick to interrupt: map a larger BAR");
	expect_available("its pages come back at exit", avail);
	return ok ? 0 : -1;
}

static void bounded_kill(unsigned long long avail,
			 const struct bounded_times *t)
{
	struct big_mapper m;
	double took = 0;
	char what[128];
	int status;

	if (big_start(&m, NULL, t->len))
		return;
	if (big_still_mapping(&m, t->map / 4,
			      "kill: a quarter in, the mapping is under way")) {
		big_reap(&m, HANG_TIMEOUT, &took);
		return;
	}
	kill(m.pid, SIGKILL);
	status = big_reap(&m, HANG_TIMEOUT, &took);
	snprintf(what, sizeof(what),
		 "kill: the mapper is gone within a quarter round trip (%.2f s, %.2f s allowed)",
		 took, t->trip / 4);
	if (status >= 0 && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL && took <= t->trip / 4)
		pass(what);
	else
		fail(what, "status 0x%x", status);
	expect_available("kill: every page back once the mapper is gone",
			 avail);
}

static double unbind_bind(const char *driver)
{
	char path[256];
	double took = -1, ignored;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	if (write_timed(path, bdf, HANG_TIMEOUT, &took))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	if (write_timed(path, bdf, HANG_TIMEOUT, &ignored))
		return -1;
	return took;
}

static void bounded_unbind(const char *driver, unsigned long long size,
			   unsigned long long avail,
			   const struct bounded_times *t)
{
	double idle, took = 0;
	struct big_mapper m;
	struct big_msg msg;
	char what[160];
	char path[256];

	/* What an unbind costs with nothing mapped: the bound adds to it. */
	idle = unbind_bind(driver);
	check_rebound(size, avail);
	if (idle < 0 || big_start(&m, NULL, t->len))
		return;
	if (big_still_mapping(&m, t->map / 4,
			      "unbind: a quarter in, the mapping is under way")) {
		big_reap(&m, HANG_TIMEOUT, &took);
		return;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	write_timed(path, bdf, HANG_TIMEOUT, &took);
	snprintf(what, sizeof(what),
		 "unbind: a quarter round trip slower than an idle one at most (%.2f s, idle %.2f s, %.2f s allowed)",
		 took, idle, idle + t->trip / 4);
	if (took <= idle + t->trip / 4)
		pass(what);
	else
		fail(what, "too slow");
	if (big_next(&m, HANG_TIMEOUT, &msg))
		msg.what = 0;
	expect_errno("unbind: the mapping under way fails with ENODEV",
		     msg.what == BIG_FAILED, msg.err, ENODEV);
	big_reap(&m, HANG_TIMEOUT, &took);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	write_timed(path, bdf, HANG_TIMEOUT, &took);
	check_rebound(size, avail);
}

/* Whether the kernel log has a line holding @needle. */
static int dmesg_has(const char *needle)
{
	char line[512];
	int found = 0;
	FILE *f;

	f = popen("dmesg", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		found |= !!strstr(line, needle);
	pclose(f);
	return found;
}

/*
 * Revoking @other's mappings waits for the mmap lock of a process that
 * mapped a page of @other and is now making a long mapping of BDF: the
 * wait is reported, naming the process.  @driver is @other's.
 */
static void bounded_mm_wait(const char *other, const char *driver,
			    unsigned long long avail,
			    const struct bounded_times *t)
{
	char path[256], what[160], needle[96];
	struct big_mapper m;
	struct big_msg msg;
	double took = 0;
	int i;

	if (big_start(&m, other, t->len))
		return;
	if (big_still_mapping(&m, 0.1,
			      "mm wait: the mapper holds its mmap lock, mapping")) {
		big_reap(&m, HANG_TIMEOUT, &took);
		return;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	write_timed(path, other, HANG_TIMEOUT, &took);
	/* It waited for the mapping: that mmap() has ended by now. */
	if (big_next(&m, 0, &msg))
		msg.what = 0;
	expect_value("mm wait: the unbind waited until the long mmap() ended",
		     msg.what, BIG_MAPPED);
	snprintf(needle, sizeof(needle), "for the mmap lock of p2pmem_mmap_tes[%d]",
		 m.pid);
	snprintf(what, sizeof(what),
		 "mm wait: dmesg names the process waited for (unbind took %.2f s)",
		 took);
	if (dmesg_has(needle))
		pass(what);
	else
		fail(what, "no line with \"%s\"", needle);
	big_reap(&m, HANG_TIMEOUT, &took);
	expect_available("mm wait: the long mapping's pages are back", avail);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	write_timed(path, other, HANG_TIMEOUT, &took);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/allocate",
		 other);
	for (i = 0; i < REBIND_POLLS && access(path, F_OK); i++)
		usleep(100000);
	snprintf(what, sizeof(what), "mm wait: %s has p2pmem again after bind",
		 other);
	expect_value(what, !access(path, F_OK), 1);
}

/*
 * A mapping of enough of "available" takes seconds to clear; it must stop
 * within a bound when its process is killed, and when BDF is unbound from
 * DRIVER.  With OTHER and its driver ODRIVER, revoking OTHER's mappings
 * must say whom it waits for.
 */
static void test_bounded(const char *driver, const char *other,
			 const char *odriver)
{
	unsigned long long size, avail;
	struct bounded_times t;

	if (read_attr_checked("size", &size) ||
	    read_attr_checked("available", &avail))
		return;
	if (bounded_length(avail, &t))
		return;
	bounded_kill(avail, &t);
	bounded_unbind(driver, size, avail, &t);
	if (other)
		bounded_mm_wait(other, odriver, avail, &t);
}

/* Read a counter of BDF's debugfs stats into @val: 0, or -1 if it cannot. */
static int stat_value(const char *name, long long *val)
{
	char path[256], key[64];
	int err = -1;
	long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/p2pdma/%s/stats", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (!strcmp(key, name)) {
			*val = v;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* A counter that cannot be negative; -1 if it cannot be read. */
static long long read_stat(const char *name)
{
	long long val;

	return stat_value(name, &val) ? -1 : val;
}

/*
 * Each page's first, middle and last 8 bytes: reading a whole BAR back, a
 * byte at a time, takes minutes under emulation, and what is cleared is
 * pages.
 */
#define MARK	0xeeeeeeeeeeeeeeeeULL
#define NR_MARKS	3

static unsigned long long *mark(unsigned char *map, size_t page, int i)
{
	return (unsigned long long *)(map + page + i * (page_size - 8) / 2);
}

static void write_marks(unsigned char *map, size_t len)
{
	size_t off;
	int i;

	for (off = 0; off < len; off += page_size)
		for (i = 0; i < NR_MARKS; i++)
			*mark(map, off, i) = MARK;
}

/*
 * Fill @len bytes of p2pmem with marks in a child, which then exits:
 * every page comes back written.  0 once the child is gone.
 */
static int fill_and_exit(size_t len)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open_allocate(O_RDWR);
		unsigned char *map = fd < 0 ? MAP_FAILED :
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (map == MAP_FAILED)
			_exit(1);
		write_marks(map, len);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("clean: a child fills all of available and exits",
		     "it failed");
		return -1;
	}
	return 0;
}

/*
 * Map @len, and unmap it unwritten: 0 if each page's marks read zeros,
 * else -1 with @why saying what it held or why it failed.
 */
static int zero_mapping(size_t len, char *why, size_t why_len)
{
	int fd = open_allocate(O_RDWR), ret = 0;
	unsigned char *map = fd < 0 ? MAP_FAILED :
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t i;

	if (fd >= 0)
		close(fd);
	if (map == MAP_FAILED) {
		snprintf(why, why_len, "mmap of %zu bytes: errno %d (%s)", len,
			 errno, strerror(errno));
		return -1;
	}
	for (i = 0; i < len && !ret; i += page_size) {
		int m;

		for (m = 0; m < NR_MARKS && !ret; m++) {
			if (*mark(map, i, m)) {
				snprintf(why, why_len, "page at %zu of %zu holds %#llx at mark %d",
					 i, len, *mark(map, i, m), m);
				ret = -1;
			}
		}
	}
	munmap(map, len);
	return ret;
}

static void expect_zero_mapping(const char *what, size_t len)
{
	char why[128];

	if (zero_mapping(len, why, sizeof(why)))
		fail(what, "%s", why);
	else
		pass(what);
}

/*
 * Wait until the clearer holds nothing and has cleared nothing for half a
 * second, 100 s at most.
 */
static void clearer_settle(void)
{
	long long last = -2, now;
	int i;

	for (i = 0; i < 200; i++) {
		now = read_stat("cleared_bytes");
		if (now == last && !read_stat("clearing"))
			return;
		last = now;
		usleep(500000);
	}
}

/* What the clearer keeps ready (clear.c): half the provider, 64 MiB at most. */
static long long clean_target(unsigned long long size)
{
	return size / 2 < (64ULL << 20) ? size / 2 : 64LL << 20;
}

/* Everything dirty, no mapping under way: the clearer alone reaches its target. */
static void clean_ahead(unsigned long long size, unsigned long long avail)
{
	long long clean, want = clean_target(size);
	char what[128];

	if (fill_and_exit(avail))
		return;
	clearer_settle();
	clean = read_stat("clean");
	snprintf(what, sizeof(what),
		 "clean: the clearer alone made %lld KiB clean, its target",
		 want >> 10);
	if (clean >= want)
		pass(what);
	else
		fail(what, "%lld KiB clean", clean >> 10);
}

/*
 * A filled pool mapped again at once: rounds until the clearer and the
 * mapping both cleared some of it in one round, each time reading zeros.
 */
static void clean_race(unsigned long long avail)
{
	long long c0, m0, c1, m1;
	char what[128], why[128];
	int round, bad = 0;

	for (round = 1; round <= CLEAN_ROUNDS; round++) {
		c0 = read_stat("cleared_bytes");
		m0 = read_stat("map_cleared_bytes");
		if (c0 < 0 || m0 < 0) {
			fail("clean: debugfs stats of the provider", "not readable");
			return;
		}
		if (fill_and_exit(avail))
			return;
		if (zero_mapping(avail, why, sizeof(why)) && !bad++)
			fail("clean: after another process filled it, all of available reads zeros",
			     "round %d: %s", round, why);
		c1 = read_stat("cleared_bytes");
		m1 = read_stat("map_cleared_bytes");
		printf("# round %d: the clearer cleared %lld KiB, the mapping %lld KiB\n",
		       round, (c1 - c0) >> 10, (m1 - m0) >> 10);
		if (c1 > c0 && m1 > m0)
			break;
		clearer_settle();
	}
	if (!bad)
		pass("clean: after another process filled it, all of available reads zeros");
	snprintf(what, sizeof(what),
		 "clean: the clearer and a new mapping both cleared pages in one round (%d of %d)",
		 round, CLEAN_ROUNDS);
	expect_value(what, round <= CLEAN_ROUNDS, 1);
}

/* What one mapping of @len had to clear itself; -1 if unknown. */
static long long map_clears(size_t len, int writing)
{
	long long before = read_stat("map_cleared_bytes"), after;
	int fd = open_allocate(O_RDWR);
	unsigned char *map = fd < 0 ? MAP_FAILED :
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (fd >= 0)
		close(fd);
	if (map == MAP_FAILED)
		return -1;
	after = read_stat("map_cleared_bytes");
	if (writing)
		write_pattern(map, len, 9);
	munmap(map, len);
	return before < 0 || after < 0 ? -1 : after - before;
}

static void clean_reuse(void)
{
	const size_t len = 1 << 20;

	clearer_settle();
	expect_value("clean: a 1 MiB mapping of pages that were only read clears nothing",
		     map_clears(len, 0), 0);
	expect_value("clean: mapped again unwritten, it still clears nothing",
		     map_clears(len, 0), 0);
	expect_value("clean: nor does one whose pages it writes",
		     map_clears(len, 1), 0);
	expect_value("clean: the next takes clean pages, not those just written",
		     map_clears(len, 0), 0);
	expect_zero_mapping("clean: a 1 MiB mapping after the written one reads zeros",
			    len);
}

/*
 * Kick the clearer with the pool's clean pages mapped (@hold bytes, taken
 * unwritten) and the rest of it dirty, so that a single page freed written
 * starts a clearing of up to its target: 1 if it is seen under way, with
 * @hold left mapped.  A whole mapping freed at once would start it too,
 * but the munmap() or exit() that frees it can take longer, on a debug
 * kernel, than the clearing it starts.
 */
static int clean_catch(unsigned long long size, size_t hold,
		       unsigned char **held, int round)
{
	long long c0, c1 = -1, clean = -1;
	unsigned long long avail = 0;
	unsigned char *one;
	int fd, i;

	*held = MAP_FAILED;
	fd = open_allocate(O_RDWR);
	if (fd < 0)
		return 0;
	*held = mmap(NULL, hold, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	one = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (*held == MAP_FAILED || one == MAP_FAILED) {
		fail("clean: mapping the clean pages, and one more",
		     "errno %d (%s)", errno, strerror(errno));
		return 0;
	}
	c0 = read_stat("cleared_bytes");
	one[0] = 1;
	munmap(one, page_size);
	/* Once it has started, whether it has not finished: 5 s at most. */
	for (i = 0; i < 5000 && c0 >= 0; i++) {
		c1 = read_stat("cleared_bytes");
		if (c1 != c0) {
			clean = read_stat("clean");
			if (read_attr("available", &avail))
				return 0;
			break;
		}
		usleep(1000);
	}
	printf("# round %d: cleared %lld KiB, %lld KiB clean of %llu KiB free, target %lld KiB\n",
	       round, (c1 - c0) >> 10, clean >> 10, avail >> 10,
	       clean_target(size) >> 10);
	return c1 != c0 && clean >= 0 && clean < clean_target(size) &&
	       (unsigned long long)clean < avail;
}

/*
 * Unbind while the clearer is under way (rounds until it had started and
 * not finished just before), with a mapping live, bind again, and map.
 */
static void clean_unbind(const char *driver, unsigned long long size,
			 unsigned long long avail)
{
	size_t hold = clean_target(size);
	unsigned char *held = MAP_FAILED;
	int round, seen = 0;
	char path[256];
	double took;

	for (round = 1; round <= CLEAN_ROUNDS && !seen; round++) {
		if (held != MAP_FAILED)
			munmap(held, hold);
		if (fill_and_exit(avail))
			return;
		clearer_settle();
		seen = clean_catch(size, hold, &held, round);
	}
	expect_value("clean: unbinding while the clearer is under way (started, not done)",
		     seen, 1);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	if (write_timed(path, bdf, HANG_TIMEOUT, &took))
		return;
	if (held != MAP_FAILED)
		munmap(held, hold);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	if (write_timed(path, bdf, HANG_TIMEOUT, &took))
		return;
	check_rebound(size, avail);
	expect_zero_mapping("clean: after the unbind, all of available reads zeros",
			    avail);
}

/*
 * The clearer starts once the stock is down to half its target (clear.c),
 * and then fills it again: a written mapping that leaves more than half of
 * it starts nothing, a written one that takes it below half does.  The
 * stock is at its target, or a little below (clean_ahead(), clean_reuse(),
 * and the pages CPUs keep): the first mapping takes half of what is above
 * half the target.
 */
static void clean_low(unsigned long long size)
{
	long long want = clean_target(size), c0, c1, clean, len;

	clearer_settle();
	c0 = read_stat("cleared_bytes");
	clean = read_stat("clean");
	len = (clean - want / 2) / 2 / (long long)page_size * page_size;
	printf("# %lld KiB clean, target %lld KiB: writing %lld KiB\n",
	       clean >> 10, want >> 10, len >> 10);
	if (c0 < 0 || len <= 0) {
		fail("clean: the stock before the low-mark checks",
		     "%lld KiB clean, want more than %lld", clean >> 10,
		     want >> 11);
		return;
	}
	expect_value("clean: a written mapping of part of the stock takes it all from there",
		     map_clears(len, 1), 0);
	clearer_settle();
	c1 = read_stat("cleared_bytes");
	clean = read_stat("clean");
	printf("# cleared %lld KiB after it, %lld KiB clean\n",
	       (c1 - c0) >> 10, clean >> 10);
	expect_value("clean: a stock still above half its target starts no clearing",
		     c1 == c0 && clean >= want / 2, 1);
	map_clears(clean - want / 2 + (long long)page_size, 1);
	clearer_settle();
	clean = read_stat("clean");
	printf("# below half: cleared %lld KiB, %lld KiB clean\n",
	       (read_stat("cleared_bytes") - c1) >> 10, clean >> 10);
	expect_value("clean: below half its target, the clearer fills the stock again",
		     read_stat("cleared_bytes") > c1 && clean >= want, 1);
}

/*
 * debugfs's user_maps and user_pages (mmap()s so far, pages mapped now)
 * follow a 64 KiB mapping in and out.  Nothing else maps meanwhile.
 */
static void clean_counts(void)
{
	const size_t len = 64 << 10;
	long long pages, maps, now, mapped;
	unsigned char *map;

	if (stat_value("user_pages", &pages) || stat_value("user_maps", &maps)) {
		fail("clean: debugfs counters before mapping", "unreadable");
		return;
	}
	map = map_pages(len / page_size);
	if (!map)
		return;
	write_pattern(map, len / 2, 3);
	if (stat_value("user_maps", &now) || stat_value("user_pages", &mapped)) {
		fail("clean: debugfs counters while mapped", "unreadable");
	} else {
		expect_value("clean: user_maps counts a new mapping",
			     now - maps, 1);
		expect_value("clean: user_pages counts its pages while it is mapped",
			     mapped - pages, len / page_size);
	}
	munmap(map, len);
	if (stat_value("user_pages", &now))
		fail("clean: debugfs counters after munmap()", "unreadable");
	else
		expect_value("clean: and none once it is unmapped, written or not",
			     now - pages, 0);
}

static void test_clean(const char *driver)
{
	unsigned long long size, avail;

	if (read_attr_checked("size", &size) ||
	    read_attr_checked("available", &avail))
		return;
	clean_race(avail);
	clean_ahead(size, avail);
	clean_reuse();
	clean_low(size);
	clean_counts();
	clean_unbind(driver, size, avail);
}

static void test_hold(void)
{
	unsigned long long avail;

	if (read_attr_checked("available", &avail) ||
	    !map_pages(avail / page_size))
		return;
	printf("held %llu\n", avail / page_size * page_size);
	for (;;)
		pause();
}

static void bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-d DEVICE] BDF badargs\n"
		"       %s BDF gup DEVICE\n"
		"       %s BDF unbind DRIVER\n"
		"       %s BDF gone CMD\n"
		"       %s BDF mixed DEVICE\n"
		"       %s BDF vmops\n"
		"       %s BDF race DRIVER SECONDS\n"
		"       %s BDF bounded DRIVER [OTHER ODRIVER]\n"
		"       %s BDF clean DRIVER\n"
		"       %s BDF hold\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	/* keep output in order with the child and on a sudden exit */
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	if (argc > 2 && !strcmp(argv[1], "-d")) {
		map_file = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		bad_usage(argv[0]);
	bdf = argv[1];

	if (!strcmp(argv[2], "badargs") && argc == 3)
		test_badargs();
	else if (!strcmp(argv[2], "gup") && argc == 4)
		test_gup(argv[3]);
	else if (!strcmp(argv[2], "unbind") && argc == 4)
		test_unbind(argv[3]);
	else if (!strcmp(argv[2], "gone") && argc == 4)
		test_gone(argv[3]);
	else if (!strcmp(argv[2], "mixed") && argc == 4)
		test_mixed(argv[3]);
	else if (!strcmp(argv[2], "vmops") && argc == 3)
		test_vmops();
	else if (!strcmp(argv[2], "race") && argc == 5)
		test_race(argv[3], argv[4]);
	else if (!strcmp(argv[2], "clean") && argc == 4)
		test_clean(argv[3]);
	else if (!strcmp(argv[2], "hold") && argc == 3)
		test_hold();
	else if (!strcmp(argv[2], "bounded") && (argc == 4 || argc == 6))
		test_bounded(argv[3], argc == 6 ? argv[4] : NULL,
			     argc == 6 ? argv[5] : NULL);
	else
		bad_usage(argv[0]);
	return failures ? 1 : 0;
}
