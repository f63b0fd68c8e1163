// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma-probe - check a P2PDMA path by moving data through it
 *
 * Usage: p2pdma-probe [--no-record] [--reset] [--timeout SECONDS]
 *                     [--offset BYTES] [--pause MS] PROVIDER CLIENT
 *
 * The topology rules only say which paths should work.  This moves data
 * between the p2pmem of PROVIDER and the NVMe function CLIENT in both
 * directions and compares it with the same I/O through system memory:
 *
 *   client-writes  the client's DMA writes into p2pmem: an O_DIRECT read
 *                  of the client's first namespace into a p2pmem buffer,
 *                  once over a buffer filled with zeros and once over one
 *                  filled with ones, so that a write that never lands
 *                  ("stale") shows either way;
 *   client-reads   the client's DMA reads from p2pmem: an NVMe Compare of
 *                  the namespace with a p2pmem buffer holding what the
 *                  namespace holds, which must succeed, and again with
 *                  one byte changed, which must fail: a device that does
 *                  not see the buffer's bytes cannot pass both.
 *
 * Each at several sizes and buffer offsets, crossing pages of p2pmem
 * (which need not be next to each other in the BAR).  Nothing is written
 * to the namespace: it reads, and Compare only compares, from --offset
 * (default 0) on, at most 8 MiB.  The verdict of each direction is
 * recorded in the kernel (debugfs p2pdma/PROVIDER/verdicts) unless
 * --no-record: a failed one refuses the path from then on.  --reset first
 * forgets what earlier probes recorded for CLIENT, as a path refused
 * after a failed probe cannot be probed again, and puts back the old
 * verdict of a direction the probe then finds nothing about.  Under the
 * strict policy the provider's policy is set to default for the probe's
 * time, for all its paths, so that the one it checks can carry its I/O,
 * and set back afterwards; SIGINT, SIGTERM, SIGHUP and SIGQUIT wait
 * until then.  A failed direction is one whose data came back wrong (a
 * mismatch, a Compare Failure, a Data Transfer Error, an I/O error where
 * the same read into system memory works), with the namespace unchanged
 * meanwhile; anything else leaves it untested.
 *
 * The probe stops at --timeout (default 30 s) between steps; an I/O
 * itself is bounded by the NVMe driver's I/O timeout.  If the provider
 * goes away meanwhile, its mapping is revoked: the probe says so and
 * records nothing.  --pause waits that many milliseconds between cases,
 * for tests that remove the provider during a probe.
 *
 * A Compare whose status says nothing of the data (a command turned
 * down, as QEMU's NVMe does with its own CMB at some offsets, an abort, a
 * reset), or that the kernel does not send (an error from the ioctl),
 * skips that case; a direction is verified if at least one case moved
 * data and every one that did matched, and untested if none did or the
 * kernel refused the path (EREMOTEIO).
 *
 * Output: one line per direction, "client-writes verified", "client-reads
 * failed: WHAT" or "client-reads untested: WHY".  Exit status: 0 if no
 * direction failed (untested ones included), 1 if one did, 2 on bad
 * arguments, 3 when the probe could not run or record (no NVMe namespace,
 * no p2pmem, the provider went away, debugfs refused a verdict).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/nvme_ioctl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* userspace has no <linux/compiler_attributes.h> or <linux/array_size.h> */
#define __printf(a, b)	__attribute__((__format__(printf, a, b)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define BUF_SIZE	(1024 * 1024 + 64 * 1024)
#define MAX_SPAN	(8 * 1024 * 1024)
#define NVME_CMD_COMPARE	0x05
#define NVME_SC_COMPARE_FAILED	0x285
#define WHAT_LEN	80

enum dir { WRITES, READS, NR_DIRS };
enum verdict { UNTESTED, VERIFIED, FAILED, SKIPPED };

static const char *const dir_name[NR_DIRS] = { "client-writes", "client-reads" };

/* A transfer: where in the p2pmem buffer, how much, where on the namespace. */
struct probe_case {
	size_t off, len;
};

/*
 * Sizes and buffer offsets: within one page, across a page boundary at a
 * sector offset, across several pages, and large enough for many
 * segments.  The namespace offset of case i is i MiB from --offset.
 */
static const struct probe_case cases[] = {
	{ 0, 4096 },
	{ 512, 4096 },
	{ 4096 - 512, 8192 },
	{ 0, 65536 },
	{ 61440 + 512, 65536 + 4096 },
	{ 0, 262144 },
	{ 3584, 131072 },
};

struct probe {
	const char *provider, *client;
	char blk[PATH_MAX];
	int fd;			/* the namespace, O_DIRECT */
	unsigned int nsid, lba;
	unsigned long long offset, dev_size;
	unsigned char *p2p;	/* the p2pmem buffer */
	unsigned char *ref;	/* what the namespace holds, system memory */
	unsigned char *sys;	/* system memory, for each comparison */
	struct timespec deadline;
	unsigned int pause_ms;
	enum verdict verdict[NR_DIRS];
	unsigned int passed[NR_DIRS];	/* cases that moved data and matched */
	char what[NR_DIRS][WHAT_LEN];
};

static sigjmp_buf revoked;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(revoked, 1);
}

static void __printf(3, 4)
set_verdict(struct probe *p, enum dir d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->what[d], WHAT_LEN, fmt, ap);
	va_end(ap);
}

static bool past_deadline(const struct probe *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > p->deadline.tv_sec ||
	       (now.tv_sec == p->deadline.tv_sec &&
		now.tv_nsec >= p->deadline.tv_nsec);
}

/* The first namespace of NVMe function @bdf, as /dev/nvmeXnY. */
static bool find_namespace(struct probe *p)
{
	char path[PATH_MAX];
	struct dirent *ctrl, *ns;
	DIR *d, *c;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme", p->client);
	d = opendir(path);
	if (!d)
		return false;
	while ((ctrl = readdir(d))) {
		if (strncmp(ctrl->d_name, "nvme", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme/%s",
			 p->client, ctrl->d_name);
		c = opendir(path);
		if (!c)
			continue;
		while ((ns = readdir(c))) {
			unsigned int x, y;
			char end;

			if (sscanf(ns->d_name, "nvme%un%u%c", &x, &y, &end) != 2)
				continue;
			snprintf(p->blk, sizeof(p->blk), "/dev/%s", ns->d_name);
			closedir(c);
			closedir(d);
			return true;
		}
		closedir(c);
	}
	closedir(d);
	return false;
}

static int open_namespace(struct probe *p)
{
	int nsid, lba;

	if (!find_namespace(p)) {
		fprintf(stderr, "p2pdma-probe: %s has no NVMe namespace: %s\n",
			p->client, "only NVMe clients can be probed");
		return -1;
	}
	p->fd = open(p->blk, O_RDONLY | O_DIRECT);
	if (p->fd < 0 || ioctl(p->fd, BLKSSZGET, &lba) ||
	    ioctl(p->fd, BLKGETSIZE64, &p->dev_size)) {
		fprintf(stderr, "p2pdma-probe: %s: %s\n", p->blk, strerror(errno));
		return -1;
	}
	nsid = ioctl(p->fd, NVME_IOCTL_ID);
	if (nsid <= 0) {
		fprintf(stderr, "p2pdma-probe: %s: no namespace ID\n", p->blk);
		return -1;
	}
	p->nsid = nsid;
	p->lba = lba;
	if (p->offset % 4096 || p->offset + MAX_SPAN > p->dev_size) {
		fprintf(stderr, "p2pdma-probe: %s: %s\n", p->blk,
			"--offset must be 4 KiB aligned, with 8 MiB after it");
		return -1;
	}
	return 0;
}

static int map_buffers(struct probe *p)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/p2pmem/allocate",
		 p->provider);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "p2pdma-probe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	p->p2p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p->p2p == MAP_FAILED) {
		fprintf(stderr, "p2pdma-probe: %s p2pmem: %s\n", p->provider,
			strerror(errno));
		return -1;
	}
	if (posix_memalign((void **)&p->ref, 4096, BUF_SIZE) ||
	    posix_memalign((void **)&p->sys, 4096, BUF_SIZE))
		return -1;
	return 0;
}

static unsigned long long dev_off(const struct probe *p, size_t i)
{
	return p->offset + i * (1024 * 1024);
}

/* How the data the client wrote differs from what it should have. */
static void describe(struct probe *p, enum dir d, const struct probe_case *c,
		     const unsigned char *got, int fill)
{
	size_t i, first = c->len;
	bool all_fill = true, all_ones = true;

	for (i = 0; i < c->len; i++) {
		if (got[i] != p->ref[i] && first == c->len)
			first = i;
		all_fill &= got[i] == (unsigned char)fill;
		all_ones &= got[i] == 0xff;
	}
	if (all_fill)
		set_verdict(p, d, "stale data, %zu bytes at p2pmem offset %zu",
			    c->len, c->off);
	else if (all_ones)
		set_verdict(p, d, "all ones, %zu bytes at p2pmem offset %zu",
			    c->len, c->off);
	else
		set_verdict(p, d, "wrong data at byte %zu of %zu at p2pmem offset %zu",
			    first, c->len, c->off);
}

/* The client writes p2pmem: read the namespace into it, check it. */
static enum verdict probe_writes(struct probe *p, size_t i)
{
	static const int fills[] = { 0x00, 0xff };
	const struct probe_case *c = &cases[i];
	unsigned char *buf = p->p2p + c->off;
	size_t f;
	ssize_t n;

	for (f = 0; f < 2; f++) {
		memset(buf, fills[f], c->len);
		n = pread(p->fd, buf, c->len, dev_off(p, i));
		if (n != (ssize_t)c->len) {
			set_verdict(p, WRITES, "read into p2pmem: %s",
				    n < 0 ? strerror(errno) : "short");
			/* Refused by the kernel, or the mapping revoked. */
			if (n < 0 && (errno == EREMOTEIO || errno == EFAULT))
				return UNTESTED;
			/* The path's doing only if system memory reads fine. */
			if (pread(p->fd, p->sys, c->len, dev_off(p, i)) !=
			    (ssize_t)c->len)
				return UNTESTED;
			return FAILED;
		}
		memcpy(p->sys, buf, c->len);
		if (memcmp(p->sys, p->ref, c->len)) {
			describe(p, WRITES, c, p->sys, fills[f]);
			return FAILED;
		}
	}
	return VERIFIED;
}

static int nvme_compare(struct probe *p, void *buf, size_t len,
			unsigned long long off)
{
	unsigned long long slba = off / p->lba;
	struct nvme_passthru_cmd cmd = {
		.opcode = NVME_CMD_COMPARE,
		.nsid = p->nsid,
		.addr = (uintptr_t)buf,
		.data_len = len,
		.cdw10 = slba & 0xffffffff,
		.cdw11 = slba >> 32,
		.cdw12 = len / p->lba - 1,
	};

	return ioctl(p->fd, NVME_IOCTL_IO_CMD, &cmd);
}

/*
 * What says the controller did not get the buffer's bytes: a Compare
 * Failure, or a Data Transfer Error.  Any other status (a command turned
 * down, an abort, a reset, a media error) says nothing about the path.
 */
static bool data_went_wrong(int status)
{
	switch (status & 0x7ff) {
	case NVME_SC_COMPARE_FAILED:
	case 0x04:	/* Data Transfer Error */
		return true;
	default:
		return false;
	}
}

/* The client reads p2pmem: Compare it with the namespace, then spoil it. */
static enum verdict probe_reads(struct probe *p, size_t i)
{
	const struct probe_case *c = &cases[i];
	unsigned char *buf = p->p2p + c->off;
	unsigned char *mid = buf + c->len / 2;
	int ret;

	memcpy(buf, p->ref, c->len);
	ret = nvme_compare(p, buf, c->len, dev_off(p, i));
	if (ret < 0) {
		/* Not sent: the kernel would not map the buffer for it. */
		set_verdict(p, READS, "Compare from p2pmem: %s", strerror(errno));
		return errno == EREMOTEIO ? UNTESTED : SKIPPED;
	}
	if (ret) {
		set_verdict(p, READS,
			    "Compare of %zu bytes at p2pmem offset %zu: status %#x",
			    c->len, c->off, ret);
		return data_went_wrong(ret) ? FAILED : SKIPPED;
	}
	*mid ^= 0x01;
	ret = nvme_compare(p, buf, c->len, dev_off(p, i));
	*mid ^= 0x01;
	if (ret < 0) {
		set_verdict(p, READS, "Compare from p2pmem: %s", strerror(errno));
		return errno == EREMOTEIO ? UNTESTED : SKIPPED;
	}
	if (!ret) {
		set_verdict(p, READS, "a changed byte at p2pmem offset %zu went unseen",
			    c->off + c->len / 2);
		return FAILED;
	}
	if ((ret & 0x7ff) != NVME_SC_COMPARE_FAILED) {
		set_verdict(p, READS, "Compare of a changed buffer: status %#x",
			    ret);
		return SKIPPED;
	}
	return VERIFIED;
}

/* Whether case @i's range of the namespace still holds the reference. */
static bool unchanged(struct probe *p, size_t i)
{
	const struct probe_case *c = &cases[i];

	return pread(p->fd, p->sys, c->len, dev_off(p, i)) ==
	       (ssize_t)c->len && !memcmp(p->sys, p->ref, c->len);
}

static void run(struct probe *p)
{
	size_t i;
	ssize_t n;
	int d;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct probe_case *c = &cases[i];

		/* Whole logical blocks, in memory aligned for DMA. */
		if (c->off % 512 || c->len % p->lba)
			continue;
		if (p->pause_ms && i)
			usleep(p->pause_ms * 1000);
		n = pread(p->fd, p->ref, c->len, dev_off(p, i));
		if (n != (ssize_t)c->len) {
			for (d = 0; d < NR_DIRS; d++) {
				if (p->verdict[d] != VERIFIED)
					continue;
				p->verdict[d] = UNTESTED;
				set_verdict(p, d, "%s",
					    "reading the namespace failed");
			}
			return;
		}
		for (d = 0; d < NR_DIRS; d++) {
			enum verdict v;

			if (p->verdict[d] != VERIFIED)
				continue;
			if (past_deadline(p)) {
				p->verdict[d] = UNTESTED;
				set_verdict(p, d, "out of time after %zu of %zu cases",
					    i, ARRAY_SIZE(cases));
				continue;
			}
			v = d == WRITES ? probe_writes(p, i) : probe_reads(p, i);
			if (v == FAILED && !unchanged(p, i)) {
				v = UNTESTED;
				set_verdict(p, d, "%s",
					    "the namespace changed during the probe");
			}
			if (v == VERIFIED)
				p->passed[d]++;
			else if (v != SKIPPED)
				p->verdict[d] = v;
		}
	}
	for (d = 0; d < NR_DIRS; d++) {
		char last[WHAT_LEN];

		if (p->verdict[d] != VERIFIED || p->passed[d])
			continue;
		p->verdict[d] = UNTESTED;
		memcpy(last, p->what[d], sizeof(last));
		set_verdict(p, d, "every command was turned down: %s", last);
	}
}

/* run(), but false if the p2pmem mapping was revoked meanwhile. */
static bool run_guarded(struct probe *p)
{
	p->verdict[WRITES] = VERIFIED;
	p->verdict[READS] = VERIFIED;
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(revoked, 1))
		return false;
	run(p);
	signal(SIGBUS, SIG_DFL);
	return true;
}

static int debugfs_write(const char *provider, const char *file,
			 const char *line)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/kernel/debug/p2pdma/%s/%s",
		 provider, file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		fprintf(stderr, "p2pdma-probe: %s: '%s': %s\n", path, line,
			strerror(-ret));
	return ret;
}

static bool read_policy(const char *provider, char *buf, size_t len)
{
	char path[256];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/sys/kernel/debug/p2pdma/%s/policy",
		 provider);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(buf, len, f);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static bool strict(const char *policy)
{
	char global[32] = "";
	FILE *f;

	if (!strcmp(policy, "strict"))
		return true;
	if (strcmp(policy, "inherit"))
		return false;
	f = fopen("/sys/module/pci_p2pdma/parameters/policy", "r");
	if (f) {
		if (!fgets(global, sizeof(global), f))
			global[0] = '\0';
		fclose(f);
	}
	return !strncmp(global, "strict", 6);
}

/* Record the verdicts the probe reached; 0, or -1 if one failed to. */
static int record(struct probe *p)
{
	char line[WHAT_LEN + 64];
	int d, ret = 0;

	for (d = 0; d < NR_DIRS; d++) {
		if (p->verdict[d] == UNTESTED)
			continue;
		snprintf(line, sizeof(line), "%s %s %s%s%s", p->client,
			 dir_name[d],
			 p->verdict[d] == VERIFIED ? "verified" : "failed",
			 p->verdict[d] == FAILED ? " " : "",
			 p->verdict[d] == FAILED ? p->what[d] : "");
		if (debugfs_write(p->provider, "verdicts", line))
			ret = -1;
	}
	return ret;
}

/*
 * The verdicts the kernel has for the client, one line per direction, as
 * "verdicts" lists them and takes them back: --reset puts back those the
 * probe then finds nothing new for, so that a path known to be broken
 * does not become allowed by a probe that could not run.
 */
static void save_verdicts(struct probe *p, char old[NR_DIRS][WHAT_LEN + 64])
{
	char path[PATH_MAX], line[WHAT_LEN + 64];
	size_t len = strlen(p->client);
	FILE *f;
	int d;

	snprintf(path, sizeof(path), "/sys/kernel/debug/p2pdma/%s/verdicts",
		 p->provider);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		for (d = 0; d < NR_DIRS; d++)
			if (!strncmp(line, p->client, len) && line[len] == ' ' &&
			    !strncmp(line + len + 1, dir_name[d],
				     strlen(dir_name[d])))
				snprintf(old[d], WHAT_LEN + 64, "%s", line);
	}
	fclose(f);
}

static void restore_verdicts(struct probe *p,
			     char old[NR_DIRS][WHAT_LEN + 64])
{
	int d;

	for (d = 0; d < NR_DIRS; d++)
		if (old[d][0] && p->verdict[d] == UNTESTED)
			debugfs_write(p->provider, "verdicts", old[d]);
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: p2pdma-probe [--no-record] [--reset] [--timeout SECONDS]\n"
		   "                    [--offset BYTES] [--pause MS] PROVIDER CLIENT\n");
}

int main(int argc, char **argv)
{
	static char old[NR_DIRS][WHAT_LEN + 64];
	struct probe p = { .fd = -1 };
	bool no_record = false, reset = false, relaxed = false;
	char policy[32] = "", line[96];
	sigset_t stop, saved;
	long timeout = 30;
	int i, d, ret = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--no-record")) {
			no_record = true;
		} else if (!strcmp(argv[i], "--reset")) {
			reset = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--offset") && i + 1 < argc) {
			p.offset = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--pause") && i + 1 < argc) {
			p.pause_ms = strtoul(argv[++i], NULL, 0);
		} else {
			print_usage(strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (argc - i != 2 || timeout <= 0) {
		print_usage(stderr);
		return 2;
	}
	p.provider = argv[i];
	p.client = argv[i + 1];
	p.verdict[WRITES] = UNTESTED;
	p.verdict[READS] = UNTESTED;
	if (open_namespace(&p) || map_buffers(&p))
		return 3;

	/* Whatever comes, the kernel's state is put back: no signal stops us. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop, &saved);
	if (reset) {
		save_verdicts(&p, old);
		snprintf(line, sizeof(line), "%s reset", p.client);
		if (debugfs_write(p.provider, "verdicts", line))
			return 3;
	}
	if (read_policy(p.provider, policy, sizeof(policy)) && strict(policy)) {
		if (debugfs_write(p.provider, "policy", "default")) {
			restore_verdicts(&p, old);
			return 3;
		}
		relaxed = true;
	}

	clock_gettime(CLOCK_MONOTONIC, &p.deadline);
	p.deadline.tv_sec += timeout;
	if (!run_guarded(&p)) {
		printf("untested: %s's p2pmem was revoked during the probe %s\n",
		       p.provider, "(provider removed or unpublished)");
		p.verdict[WRITES] = UNTESTED;
		p.verdict[READS] = UNTESTED;
		no_record = true;
		ret = 3;
	}
	if (relaxed)
		debugfs_write(p.provider, "policy", policy);
	for (d = 0; d < NR_DIRS && ret != 3; d++) {
		if (p.verdict[d] == VERIFIED)
			printf("%s verified\n", dir_name[d]);
		else
			printf("%s %s: %s\n", dir_name[d],
			       p.verdict[d] == FAILED ? "failed" : "untested",
			       p.what[d]);
		if (p.verdict[d] == FAILED)
			ret = 1;
	}
	if (!no_record && record(&p))
		ret = 3;
	restore_verdicts(&p, old);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	munmap(p.p2p, BUF_SIZE);
	close(p.fd);
	return ret;
}
