// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_vfio_nvme - a userspace NVMe driver (vfio cdev, iommufd, polled
 * completions) reading into a p2pmem dma-buf imported into iommufd
 *
 * Usage: p2pmem_vfio_nvme P2PMEM_NODE NVME_BDF [PROVIDER_BDF]
 *
 * P2PMEM_NODE is the /dev/p2pmemN of a provider, NVME_BDF the PCI address
 * of an NVMe controller bound to vfio-pci, PROVIDER_BDF (optional) the PCI
 * address of P2PMEM_NODE's provider.  What SPDK does, with no container
 * (/dev/vfio/vfio) and no interrupts: the controller is bound to an
 * iommufd and attached to an IOAS that maps system memory for its queues
 * and data.  The program checks, one line each:
 *
 *  - the vfio and iommufd plumbing: bind, attach, system memory mapped at
 *    fixed IOVAs, bus mastering, BAR0 mapped (4 checks);
 *  - the NVMe bring-up: disable, enable with the admin queues, Identify
 *    Controller and Namespace 1, an I/O completion queue (polled, no
 *    interrupt) and submission queue (6 checks);
 *  - a reproducible pseudo-random pattern of 2 MiB written at byte 8 MiB of
 *    namespace 1 and read back into system memory, the same (3 checks;
 *    its MD5 is printed);
 *  - 2 MiB of P2PMEM_NODE exported as a dma-buf, the dma-buf mapped into
 *    the IOAS with IOMMU_IOAS_MAP_FILE, the same 2 MiB read by the
 *    controller into it, and its CPU mapping then holds the pattern, with
 *    the MD5 of the system memory read (6 checks);
 *  - the provider fragmented (2 MiB exports until it has no more, two of
 *    them closed with one held between), a dma-buf of 4 MiB from it in
 *    pieces (by the PFNs of /proc/self/pagemap) mapped into the IOAS as
 *    one, the same 2 MiB read into each half, and both halves with the
 *    system memory read's MD5 (5 checks);
 *  - with PROVIDER_BDF, the provider unbound from its driver while all of
 *    that is held: the unbind returns within 30 s and succeeds, the
 *    dma-buf's CPU mapping raises SIGBUS on reads and writes, a read by
 *    the controller into the revoked IOVA completes (whether the
 *    controller learns that the IOMMU dropped its writes or not) and
 *    leaves it working, the dma-buf cannot be mapped into the IOAS again,
 *    and the still open node exports nothing: ENODEV (8 checks);
 *  - last, the controller disables (1 check).
 *
 * Each check prints "ok - WHAT" or "not ok - WHAT: ..." (tests/guest/lib.sh
 * counts them); "# " lines say what was seen.  A run with PROVIDER_BDF that
 * passes prints 33 "ok" lines, one without 25, and exits 0; any failure
 * makes the exit status 1, and one that leaves nothing to check ends the
 * run there.  Every wait is bounded: for the controller, CAP.TO and 10 s a
 * command; for the unbind, 30 s.
 *
 * A kernel whose uapi has no p2pmem dma-buf export or no IOMMU_IOAS_MAP_FILE
 * gets a program that says so and exits 4.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/p2pmem.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "p2pdma_test.h"
#include "vfio_test.h"

#if !defined(P2PMEM_IOC_EXPORT_DMABUF) || !defined(IOMMU_IOAS_MAP_FILE)
int main(void)
{
	fprintf(stderr, "p2pmem_vfio_nvme: %s\n",
		"this kernel's uapi has no P2PMEM_IOC_EXPORT_DMABUF or no IOMMU_IOAS_MAP_FILE");
	return 4;
}
#else

#define MIB			0x100000UL
#define PAGE			4096UL
#define DATA_LEN		(2 * MIB)
/* Where on namespace 1 the pattern goes: away from any partition table. */
#define DATA_OFFSET		(8 * MIB)
#define SEED			0x7032706d656d2dULL
/* Entries of each queue: 64 submissions fill a page, so do 64 completions. */
#define QDEPTH			64
/* The largest transfer, whatever MDTS allows: one PRP list page holds it. */
#define MAX_XFER		MIB
#define CMD_TIMEOUT_MS		10000
#define UNBIND_TIMEOUT_MS	30000

/*
 * The IOAS, below 1 GiB: one page each for the admin and I/O queues, the
 * PRP list and Identify data, then the 2 MiB data buffer, the dma-buf,
 * where the revoked dma-buf is offered again, and the dma-buf in pieces.
 */
enum { ASQ, ACQ, IOSQ, IOCQ, PRP_LIST, IDENTIFY, NR_SYS_PAGES };
#define IOVA_SYS		(1 * MIB)
#define IOVA_DATA		(16 * MIB)
#define IOVA_DMABUF		(64 * MIB)
#define IOVA_DMABUF_AGAIN	(128 * MIB)
#define IOVA_PIECES		(256 * MIB)

/* 2 MiB exports held to fragment the provider, at most. */
#define MAX_HELD		64

/* NVMe registers of BAR0, and what is used of them (NVMe base spec 2.0). */
#define NVME_REG_CAP		0x00
#define NVME_REG_VS		0x08
#define NVME_REG_CC		0x14
#define NVME_REG_CSTS		0x1c
#define NVME_REG_AQA		0x24
#define NVME_REG_ASQ		0x28
#define NVME_REG_ACQ		0x30
#define NVME_REG_DBS		0x1000
#define NVME_CAP_MQES(cap)	((unsigned int)((cap) & 0xffff))
#define NVME_CAP_TO(cap)	((unsigned int)(((cap) >> 24) & 0xff))
#define NVME_CAP_DSTRD(cap)	((unsigned int)(((cap) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(cap)	(((cap) >> 37) & 1)
#define NVME_CAP_MPSMIN(cap)	((unsigned int)(((cap) >> 48) & 0xf))
#define NVME_CC_EN		0x1
#define NVME_CC_CSS_NVM		(0 << 4)
#define NVME_CC_MPS_4K		(0 << 7)
#define NVME_CC_IOSQES		(6 << 16)	/* 64-byte submissions */
#define NVME_CC_IOCQES		(4 << 20)	/* 16-byte completions */
#define NVME_CSTS_RDY		0x1
#define NVME_CSTS_CFS		0x2

#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02

struct nvme_sqe {
	uint8_t opc;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd2;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status;	/* bit 0: the phase tag */
};

static_assert(sizeof(struct nvme_sqe) == 64, "an SQE is 64 bytes");
static_assert(sizeof(struct nvme_cqe) == 16, "a CQE is 16 bytes");

struct nvme_queue {
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint16_t id, sq_tail, sq_head, cq_head;
	uint16_t phase;
};

struct nvme {
	uint8_t *bar;
	size_t bar_len;
	unsigned int db_stride;		/* bytes between doorbells */
	unsigned int ready_ms;		/* CAP.TO, at least 5 s */
	struct nvme_queue admin, io;
	uint64_t *prp_list;
	uint8_t *identify;
	uint16_t next_cid;
	uint32_t result;		/* the last completion's DW0 */
	uint32_t max_xfer;
	uint32_t lba_size;
	uint64_t nsze;
};

/* What a command's wait returns when no completion came. */
#define NVME_TIMED_OUT		(-1)

/* A check that failed with nothing left to check after it. */
__printf(1, 2)
static void fatal(const char *fmt, ...)
{
	va_list ap;

	printf("not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

/* MD5 (RFC 1321), to print and compare checksums of 2 MiB. */
static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_shift[16] = {
	7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21,
};

static void md5_block(uint32_t h[4], const uint8_t *p)
{
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], w[16], f, t;
	unsigned int i, g;

	for (i = 0; i < 16; i++)
		w[i] = p[4 * i] | p[4 * i + 1] << 8 | p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = a + f + md5_k[i] + w[g];
		a = d;
		d = c;
		c = b;
		t = t << md5_shift[i / 16 * 4 + i % 4] |
		    t >> (32 - md5_shift[i / 16 * 4 + i % 4]);
		b += t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

/* md5_hex - the MD5 of @len bytes at @p, as md5sum prints it. */
static void md5_hex(const uint8_t *p, size_t len, char out[33])
{
	uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
	uint64_t bits = (uint64_t)len * 8;
	uint8_t tail[128] = { 0 };
	size_t i, rest = len % 64, n;

	for (i = 0; i + 64 <= len; i += 64)
		md5_block(h, p + i);
	memcpy(tail, p + i, rest);
	tail[rest] = 0x80;
	n = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[n - 8 + i] = bits >> (8 * i);
	md5_block(h, tail);
	if (n == 128)
		md5_block(h, tail + 64);
	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", (h[i / 4] >> (8 * (i % 4))) & 0xff);
}

/* The pattern: xorshift64* from SEED, the same on every run. */
static void fill_pattern(uint8_t *p, size_t len)
{
	uint64_t x = SEED, v;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dULL;
		memcpy(p + i, &v, 8);
	}
}

static struct vfio_region_info region(int dev, unsigned int index)
{
	struct vfio_region_info info;

	if (vfio_region(dev, index, &info))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return info;
}

/*
 * dma_alloc - @len bytes of system memory, mapped into @ioas at @iova;
 * NULL with errno set if either fails.
 */
static void *dma_alloc(int iommufd, uint32_t ioas, size_t len, uint64_t iova)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/*
	 * The child that unbinds the provider must not share the pages the
	 * IOAS pinned: a write by either would leave one with a copy the
	 * controller does not see.
	 */
	if (madvise(p, len, MADV_DONTFORK))
		return NULL;
	if (ioas_map_user(iommufd, ioas, p, iova, len))
		return NULL;
	return p;
}

/*
 * The controller's registers: 32-bit loads and stores the compiler may not
 * merge or drop; 64-bit registers low half first, as the spec allows and
 * every controller takes.
 */
static uint32_t rd32(struct nvme *n, unsigned int reg)
{
	return __atomic_load_n((uint32_t *)(n->bar + reg), __ATOMIC_RELAXED);
}

static void wr32(struct nvme *n, unsigned int reg, uint32_t val)
{
	__atomic_store_n((uint32_t *)(n->bar + reg), val, __ATOMIC_RELAXED);
}

static uint64_t rd64(struct nvme *n, unsigned int reg)
{
	uint64_t lo = rd32(n, reg);

	return lo | (uint64_t)rd32(n, reg + 4) << 32;
}

static void wr64(struct nvme *n, unsigned int reg, uint64_t val)
{
	wr32(n, reg, (uint32_t)val);
	wr32(n, reg + 4, (uint32_t)(val >> 32));
}

/* wait_ready - until CSTS.RDY is @rdy: 0, or -1 at the timeout or on CFS. */
static int wait_ready(struct nvme *n, unsigned int rdy)
{
	long long end = now_ms() + n->ready_ms;
	uint32_t csts;

	for (;;) {
		csts = rd32(n, NVME_REG_CSTS);
		/* All ones: the function stopped answering. */
		if (csts == 0xffffffff || (csts & NVME_CSTS_CFS))
			break;
		if ((csts & NVME_CSTS_RDY) == rdy)
			return 0;
		if (now_ms() > end)
			break;
		sleep_us(1000);
	}
	printf("# CSTS 0x%08x, waiting for RDY=%u\n", csts, rdy);
	return -1;
}

static const char *status_str(int status, char *buf, size_t len)
{
	if (status == NVME_TIMED_OUT)
		snprintf(buf, len, "no completion within %d s",
			 CMD_TIMEOUT_MS / 1000);
	else if (!status)
		snprintf(buf, len, "success");
	else
		snprintf(buf, len, "status SCT 0x%x SC 0x%02x%s",
			 (status >> 8) & 0x7, status & 0xff,
			 status & 0x4000 ? " DNR" : "");
	return buf;
}

/*
 * nvme_cmd - submit @cmd on @q and poll for its completion, with no
 * interrupt: a completion is new when its phase tag is the queue's.  The
 * completions of earlier commands that timed out are consumed on the way.
 * Return: the status field without the phase tag (0 for success), or
 * NVME_TIMED_OUT.
 */
static int nvme_cmd(struct nvme *n, struct nvme_queue *q, struct nvme_sqe *cmd)
{
	unsigned int db = NVME_REG_DBS + 2 * q->id * n->db_stride;
	long long end = now_ms() + CMD_TIMEOUT_MS;
	struct nvme_cqe *cqe;
	unsigned int spins = 0;
	uint16_t status, cid;

	if ((q->sq_tail + 1) % QDEPTH == q->sq_head) {
		printf("# queue %u is full of commands that never completed\n",
		       q->id);
		return NVME_TIMED_OUT;
	}
	cmd->cid = n->next_cid++;
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = (q->sq_tail + 1) % QDEPTH;
	/* The entry is in memory before the controller is told of it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(n, db, q->sq_tail);

	for (;;) {
		cqe = &q->cq[q->cq_head];
		status = __atomic_load_n(&cqe->status, __ATOMIC_ACQUIRE);
		if ((status & 1) != q->phase) {
			if (now_ms() > end)
				return NVME_TIMED_OUT;
			/* Spin a little, then let the emulator's threads run. */
			if (++spins > 1000)
				sleep_us(50);
			continue;
		}
		cid = cqe->cid;
		n->result = cqe->dw0;
		q->sq_head = cqe->sqhd;
		if (++q->cq_head == QDEPTH) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		wr32(n, db + n->db_stride, q->cq_head);
		if (cid == cmd->cid)
			return status >> 1;
		printf("# a late completion of command %u: status 0x%x\n", cid,
		       status >> 1);
	}
}

static void queue_init(struct nvme_queue *q, uint16_t id, uint8_t *sys,
		       int sq, int cq)
{
	q->id = id;
	q->sq = (struct nvme_sqe *)(sys + sq * PAGE);
	q->cq = (struct nvme_cqe *)(sys + cq * PAGE);
	memset(q->sq, 0, PAGE);
	memset(q->cq, 0, PAGE);
	q->sq_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	/* The controller posts the first pass with the phase tag set. */
	q->phase = 1;
}

/*
 * nvme_enable - the controller disabled, then enabled with the admin
 * queues in @sys (mapped at IOVA_SYS): one check each.
 */
static void nvme_enable(struct nvme *n, uint8_t *sys)
{
	uint64_t cap = rd64(n, NVME_REG_CAP);
	uint32_t vs = rd32(n, NVME_REG_VS);

	printf("# CAP 0x%016llx VS %u.%u: MQES %u, TO %u ms, DSTRD %u, MPSMIN %u\n",
	       (unsigned long long)cap, vs >> 16, (vs >> 8) & 0xff,
	       NVME_CAP_MQES(cap) + 1, NVME_CAP_TO(cap) * 500,
	       NVME_CAP_DSTRD(cap), NVME_CAP_MPSMIN(cap));
	if (cap == ~0ULL || NVME_CAP_MPSMIN(cap) != 0 ||
	    !NVME_CAP_CSS_NVM(cap) || NVME_CAP_MQES(cap) + 1 < QDEPTH)
		fatal("the controller takes 4 KiB pages, NVM commands, %u entries a queue",
		      QDEPTH);
	n->db_stride = 4U << NVME_CAP_DSTRD(cap);
	n->ready_ms = NVME_CAP_TO(cap) * 500;
	if (n->ready_ms < 5000)
		n->ready_ms = 5000;
	if (NVME_REG_DBS + 4 * n->db_stride > n->bar_len)
		fatal("BAR0 holds the doorbells of two queue pairs");

	wr32(n, NVME_REG_CC, rd32(n, NVME_REG_CC) & ~NVME_CC_EN);
	if (wait_ready(n, 0))
		fatal("the controller disables (CSTS.RDY=0) within %u ms",
		      n->ready_ms);
	report(1, "the controller disables (CSTS.RDY=0)");

	queue_init(&n->admin, 0, sys, ASQ, ACQ);
	wr32(n, NVME_REG_AQA, (QDEPTH - 1) << 16 | (QDEPTH - 1));
	wr64(n, NVME_REG_ASQ, IOVA_SYS + ASQ * PAGE);
	wr64(n, NVME_REG_ACQ, IOVA_SYS + ACQ * PAGE);
	wr32(n, NVME_REG_CC, NVME_CC_EN | NVME_CC_CSS_NVM | NVME_CC_MPS_4K |
	     NVME_CC_IOSQES | NVME_CC_IOCQES);
	if (wait_ready(n, 1))
		fatal("the controller enables with the admin queues (CSTS.RDY=1) within %u ms",
		      n->ready_ms);
	report(1, "the controller enables with %u-entry admin queues (CSTS.RDY=1)",
	       QDEPTH);
}

/* admin - an admin command that must succeed, or the run ends. */
static void admin(struct nvme *n, struct nvme_sqe *cmd, const char *what)
{
	char buf[64];
	int st = nvme_cmd(n, &n->admin, cmd);

	if (st)
		fatal("%s: %s", what, status_str(st, buf, sizeof(buf)));
}

static void identify(struct nvme *n, uint32_t nsid, uint32_t cns,
		     const char *what)
{
	struct nvme_sqe c = {
		.opc = NVME_ADM_IDENTIFY,
		.nsid = nsid,
		.prp1 = IOVA_SYS + IDENTIFY * PAGE,
		.cdw10 = cns,
	};

	memset(n->identify, 0, PAGE);
	admin(n, &c, what);
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The controller's and namespace 1's Identify data: two checks. */
static void nvme_identify(struct nvme *n, uint64_t mpsmin_bytes)
{
	const uint8_t *id = n->identify;
	unsigned int mdts, fmt, lbads, ms;
	uint32_t lbaf;
	uint64_t mdts_bytes;

	identify(n, 0, 1, "Identify Controller");
	/* Model and serial number: ASCII, padded with spaces. */
	printf("# model '%.40s', serial '%.20s'\n",
	       (const char *)id + 24, (const char *)id + 4);
	mdts = id[77];
	mdts_bytes = mdts ? mpsmin_bytes << mdts : 0;
	n->max_xfer = MAX_XFER;
	if (mdts_bytes && mdts_bytes < n->max_xfer)
		n->max_xfer = mdts_bytes;
	report(n->max_xfer >= PAGE,
	       "Identify Controller: MDTS %u, %u KiB a command", mdts,
	       n->max_xfer / 1024);

	identify(n, 1, 0, "Identify Namespace 1");
	n->nsze = le64_at(id);
	/* FLBAS: the format's index, bits 3:0 and (above 16 formats) 6:5. */
	fmt = (id[26] & 0xf) | ((id[26] >> 5) & 0x3) << 4;
	lbaf = id[128 + 4 * fmt] | id[129 + 4 * fmt] << 8 |
	       id[130 + 4 * fmt] << 16 | (uint32_t)id[131 + 4 * fmt] << 24;
	ms = lbaf & 0xffff;
	lbads = (lbaf >> 16) & 0xff;
	n->lba_size = lbads >= 9 && lbads <= 12 ? 1U << lbads : 0;
	if (!n->lba_size || ms || n->nsze * n->lba_size < DATA_OFFSET + DATA_LEN)
		fatal("Identify Namespace 1: %llu LBAs, LBADS %u, %u bytes of metadata",
		      (unsigned long long)n->nsze, lbads, ms);
	report(1, "Identify Namespace 1: %llu LBAs of %u bytes",
	       (unsigned long long)n->nsze, n->lba_size);
}

/* One I/O queue pair, polled: its completion queue raises no interrupt. */
static void nvme_create_io_queues(struct nvme *n, uint8_t *sys)
{
	struct nvme_sqe feat = {
		.opc = NVME_ADM_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = 0,		/* one of each, 0's based */
	};
	struct nvme_sqe cq = {
		.opc = NVME_ADM_CREATE_CQ,
		.prp1 = IOVA_SYS + IOCQ * PAGE,
		.cdw10 = (QDEPTH - 1) << 16 | 1,
		.cdw11 = 0x1,		/* physically contiguous; IEN=0 */
	};
	struct nvme_sqe sq = {
		.opc = NVME_ADM_CREATE_SQ,
		.prp1 = IOVA_SYS + IOSQ * PAGE,
		.cdw10 = (QDEPTH - 1) << 16 | 1,
		.cdw11 = 1 << 16 | 0x1,	/* completions to CQ 1; contiguous */
	};

	queue_init(&n->io, 1, sys, IOSQ, IOCQ);
	admin(n, &feat, "Set Features, Number of Queues: one pair");
	printf("# the controller allocated %u submission and %u completion queues\n",
	       (n->result & 0xffff) + 1, (n->result >> 16) + 1);
	admin(n, &cq, "Create I/O Completion Queue 1");
	report(1, "Create I/O Completion Queue 1: %u entries, polled (IEN=0)",
	       QDEPTH);
	admin(n, &sq, "Create I/O Submission Queue 1");
	report(1, "Create I/O Submission Queue 1: %u entries", QDEPTH);
}

/*
 * nvme_rw - @opc for DATA_LEN bytes of namespace 1 at DATA_OFFSET, to or
 * from @iova, in commands of at most max_xfer bytes: PRP1 the first page,
 * PRP2 the second or the PRP list of the others.
 * Return: 0, the first failed command's status, or NVME_TIMED_OUT.
 */
static int nvme_rw(struct nvme *n, uint8_t opc, uint64_t iova)
{
	size_t done, len, i, pages;
	uint64_t slba;
	int st;

	for (done = 0; done < DATA_LEN; done += len) {
		struct nvme_sqe c = {
			.opc = opc,
			.nsid = 1,
			.prp1 = iova + done,
		};

		len = DATA_LEN - done;
		if (len > n->max_xfer)
			len = n->max_xfer;
		pages = len / PAGE;
		if (pages == 2) {
			c.prp2 = iova + done + PAGE;
		} else if (pages > 2) {
			for (i = 1; i < pages; i++)
				n->prp_list[i - 1] = iova + done + i * PAGE;
			c.prp2 = IOVA_SYS + PRP_LIST * PAGE;
		}
		slba = (DATA_OFFSET + done) / n->lba_size;
		c.cdw10 = (uint32_t)slba;
		c.cdw11 = (uint32_t)(slba >> 32);
		c.cdw12 = len / n->lba_size - 1;
		st = nvme_cmd(n, &n->io, &c);
		if (st)
			return st;
	}
	return 0;
}

/* The PFN behind @p, which the caller touched (root sees PFNs), or 0. */
static uint64_t pfn_of(int pagemap, const void *p)
{
	uint64_t entry;
	off_t off = (uintptr_t)p / PAGE * sizeof(entry);

	if (pread(pagemap, &entry, sizeof(entry), off) != sizeof(entry) ||
	    !(entry >> 63))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/* A 2 MiB export held by fragment(), and where its first page is. */
struct held {
	int fd;
	uint64_t pfn;
};

static int held_by_pfn(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/* Export 2 MiB from @node, and learn its first PFN.  Return: its fd or -1. */
static int export_2m(int node, int pagemap, uint64_t *pfn)
{
	int fd = p2pmem_export(node, DATA_LEN, O_RDWR | O_CLOEXEC);
	uint8_t *m;

	if (fd < 0)
		return -1;
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return -1;
	}
	(void)__atomic_load_n(m, __ATOMIC_RELAXED);
	*pfn = pfn_of(pagemap, m);
	munmap(m, PAGE);
	return fd;
}

/*
 * fragment - leave the provider two 2 MiB holes apart from each other:
 * export 2 MiB at a time until it has no more, then close the lowest
 * export and the third lowest, keeping the one between.  Return: how many
 * exports are still held in @held, or -1 if the provider gave fewer than
 * three (one check).
 */
static int fragment(int node, int pagemap, struct held *held)
{
	const char *why = "the most this program holds";
	int n = 0, i, kept;

	while (n < MAX_HELD) {
		held[n].fd = export_2m(node, pagemap, &held[n].pfn);
		if (held[n].fd < 0) {
			why = strerror(errno);
			break;
		}
		if (!held[n].pfn) {
			why = "its PFN is not in /proc/self/pagemap";
			close(held[n].fd);
			break;
		}
		n++;
	}
	report(n >= 3 && (n == MAX_HELD || !strcmp(why, strerror(ENOMEM))),
	       "2 MiB exports until the provider has no more: %d, then %s",
	       n, why);
	if (n < 3) {
		for (i = 0; i < n; i++)
			close(held[i].fd);
		return -1;
	}
	qsort(held, n, sizeof(*held), held_by_pfn);
	printf("# holes at PFN 0x%llx and 0x%llx, 0x%llx held between\n",
	       (unsigned long long)held[0].pfn,
	       (unsigned long long)held[2].pfn,
	       (unsigned long long)held[1].pfn);
	close(held[0].fd);
	close(held[2].fd);
	for (i = 0, kept = 0; i < n; i++)
		if (i != 0 && i != 2)
			held[kept++] = held[i];
	return kept;
}

/* The number of physically contiguous runs in @len bytes at @map. */
static int runs_of(int pagemap, uint8_t *map, size_t len)
{
	uint64_t pfn, last = 0;
	int runs = 0;
	size_t off;

	for (off = 0; off < len; off += PAGE) {
		(void)__atomic_load_n(map + off, __ATOMIC_RELAXED);
		pfn = pfn_of(pagemap, map + off);
		if (!pfn)
			return -1;
		if (pfn != last + 1)
			runs++;
		last = pfn;
	}
	return runs;
}

/*
 * read_into_pieces - a dma-buf of 4 MiB from a fragmented provider, in pieces, into
 * the IOAS: the controller reads the pattern into each half, and the CPU
 * mapping holds it twice (5 checks with fragment()'s).
 */
static void read_into_pieces(struct nvme *n, int iommufd, uint32_t ioas,
			     int node, const char *md5_sys)
{
	struct held held[MAX_HELD];
	uint8_t *map = MAP_FAILED;
	int pagemap, nr_held, fd = -1, runs = -1, mapped = 0, st, i;
	char md5[2][33] = { "", "" }, buf[64];

	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		die("open /proc/self/pagemap");
	nr_held = fragment(node, pagemap, held);
	if (nr_held >= 0)
		fd = p2pmem_export(node, 2 * DATA_LEN, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		map = mmap(NULL, 2 * DATA_LEN, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
	if (map != MAP_FAILED)
		runs = runs_of(pagemap, map, 2 * DATA_LEN);
	report(runs >= 2, "a 4 MiB export from the two holes is in pieces: %d",
	       runs);
	if (runs >= 2) {
		mapped = !ioas_map_file(iommufd, ioas, fd, IOVA_PIECES,
					2 * DATA_LEN);
		report(mapped, "IOMMU_IOAS_MAP_FILE of it at 0x%lx: %s",
		       IOVA_PIECES, mapped ? "mapped" : strerror(errno));
	} else {
		report(0, "IOMMU_IOAS_MAP_FILE of it: not run, not in pieces");
	}
	st = -2;
	if (mapped) {
		st = nvme_rw(n, NVME_CMD_READ, IOVA_PIECES);
		if (!st)
			st = nvme_rw(n, NVME_CMD_READ, IOVA_PIECES + DATA_LEN);
	}
	report(!st, "NVMe Reads of 2 MiB into each half of it: %s",
	       st == -2 ? "not run" : status_str(st, buf, sizeof(buf)));
	if (!st) {
		md5_hex(map, DATA_LEN, md5[0]);
		md5_hex(map + DATA_LEN, DATA_LEN, md5[1]);
	}
	report(!st && !strcmp(md5[0], md5_sys) && !strcmp(md5[1], md5_sys),
	       "both halves have the system memory read's MD5: %s %s",
	       md5[0], md5[1]);

	if (mapped)
		ioas_unmap(iommufd, ioas, IOVA_PIECES, 2 * DATA_LEN);
	if (map != MAP_FAILED)
		munmap(map, 2 * DATA_LEN);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < nr_held; i++)
		close(held[i].fd);
	close(pagemap);
}

/*
 * unbind_provider - unbind @bdf from its driver in a child: an unbind that hangs in
 * the kernel cannot be interrupted, a wait for it can.  Two checks; a
 * child that never returns ends the run.
 */
static void unbind_provider(const char *bdf)
{
	long long end = now_ms() + UNBIND_TIMEOUT_MS;
	char path[256];
	int status, fd;
	pid_t pid;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 bdf);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, bdf, strlen(bdf)) < 0)
			_exit(errno);
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (now_ms() > end)
			fatal("unbinding the provider %s returns within %d s",
			      bdf, UNBIND_TIMEOUT_MS / 1000);
		sleep_us(100000);
	}
	report(1, "unbinding the provider %s returns within %d s", bdf,
	       UNBIND_TIMEOUT_MS / 1000);
	report(WIFEXITED(status) && !WEXITSTATUS(status),
	       "the provider is unbound: %s",
	       !WIFEXITED(status) ? "killed" : strerror(WEXITSTATUS(status)));
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	const char *node_path, *bdf, *provider;
	char md5_sys[33], md5_buf[33], buf[64];
	uint8_t *sys, *data, *pattern, *map = MAP_FAILED;
	struct vfio_region_info bar0;
	struct nvme n = { 0 };
	int iommufd, dev, node, dmabuf = -1, mapped = 0, st;
	long long start;
	uint32_t ioas;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s P2PMEM_NODE NVME_BDF [PROVIDER_BDF]\n",
			argv[0]);
		return 2;
	}
	node_path = argv[1];
	bdf = argv[2];
	provider = argc == 4 ? argv[3] : NULL;

	/* 1. iommufd, an IOAS, and the controller's vfio cdev attached to it. */
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	ioas = alloc.out_ioas_id;
	report(1, "/dev/iommu: IOAS %u allocated", ioas);
	dev = open_vfio_cdev(bdf);
	if (dev < 0)
		die("open the vfio cdev of the controller");
	if (vfio_bind_iommufd(dev, iommufd))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	if (vfio_attach_ioas(dev, ioas))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	report(1, "%s: the vfio cdev binds to iommufd and attaches to IOAS %u",
	       bdf, ioas);

	/* 2. System memory for the queues and the data, at fixed IOVAs. */
	sys = dma_alloc(iommufd, ioas, NR_SYS_PAGES * PAGE, IOVA_SYS);
	data = sys ? dma_alloc(iommufd, ioas, DATA_LEN, IOVA_DATA) : NULL;
	if (!data)
		die("system memory mapped into the IOAS");
	report(1, "system memory in the IOAS: queues at 0x%lx, 2 MiB of data at 0x%lx",
	       IOVA_SYS, IOVA_DATA);
	n.prp_list = (uint64_t *)(sys + PRP_LIST * PAGE);
	n.identify = sys + IDENTIFY * PAGE;

	/* 3. The controller: BAR0, bus mastering, bring-up, queues. */
	bar0 = region(dev, VFIO_PCI_BAR0_REGION_INDEX);
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar0.size < 2 * PAGE) {
		errno = EINVAL;
		die("BAR0 can be mmap'ed through vfio");
	}
	n.bar_len = bar0.size;
	n.bar = mmap(NULL, n.bar_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		     bar0.offset);
	if (n.bar == MAP_FAILED)
		die("mmap of BAR0 through vfio");
	if (vfio_command_bits(dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0))
		die("memory space and bus mastering through vfio's config region");
	report(1, "memory space and bus mastering on, BAR0 (%llu KiB) mapped",
	       (unsigned long long)bar0.size / 1024);
	nvme_enable(&n, sys);
	nvme_identify(&n, PAGE);
	nvme_create_io_queues(&n, sys);

	/* 4. The pattern to the namespace, and back into system memory. */
	pattern = malloc(DATA_LEN);
	if (!pattern)
		die("malloc");
	fill_pattern(pattern, DATA_LEN);
	md5_hex(pattern, DATA_LEN, md5_sys);
	printf("# pattern: 2 MiB from seed 0x%llx, MD5 %s\n",
	       (unsigned long long)SEED, md5_sys);
	memcpy(data, pattern, DATA_LEN);
	st = nvme_rw(&n, NVME_CMD_WRITE, IOVA_DATA);
	report(!st, "NVMe Write of 2 MiB at LBA %lu from system memory: %s",
	       DATA_OFFSET / n.lba_size, status_str(st, buf, sizeof(buf)));
	memset(data, 0, DATA_LEN);
	st = nvme_rw(&n, NVME_CMD_READ, IOVA_DATA);
	report(!st, "NVMe Read of it into system memory: %s",
	       status_str(st, buf, sizeof(buf)));
	md5_hex(data, DATA_LEN, md5_sys);
	printf("# MD5 of the system memory read: %s\n", md5_sys);
	report(!memcmp(data, pattern, DATA_LEN),
	       "system memory holds the pattern");

	/* 5. A dma-buf of 2 MiB of the provider's p2pmem. */
	node = open(node_path, O_RDWR | O_CLOEXEC);
	if (node < 0) {
		report(0, "open %s: %s", node_path, strerror(errno));
	} else {
		dmabuf = p2pmem_export(node, DATA_LEN, O_RDWR | O_CLOEXEC);
		report(dmabuf >= 0,
		       "P2PMEM_IOC_EXPORT_DMABUF of 2 MiB from %s: %s", node_path,
		       dmabuf >= 0 ? "a dma-buf" : strerror(errno));
	}

	/* 6. The dma-buf into the IOAS. */
	if (dmabuf < 0) {
		report(0, "IOMMU_IOAS_MAP_FILE of the dma-buf: there is none");
	} else {
		mapped = !ioas_map_file(iommufd, ioas, dmabuf, IOVA_DMABUF,
					DATA_LEN);
		report(mapped, "IOMMU_IOAS_MAP_FILE of the dma-buf at 0x%lx: %s",
		       IOVA_DMABUF, mapped ? "mapped" : strerror(errno));
	}

	/* 7. The controller reads the pattern into the dma-buf. */
	if (!mapped) {
		report(0, "NVMe Read of 2 MiB into the dma-buf: %s",
		       "not run, the dma-buf is not in the IOAS");
	} else {
		st = nvme_rw(&n, NVME_CMD_READ, IOVA_DMABUF);
		report(!st, "NVMe Read of 2 MiB into the dma-buf: %s",
		       status_str(st, buf, sizeof(buf)));
	}

	/* 8. What the dma-buf holds, through its CPU mapping. */
	if (dmabuf >= 0)
		map = mmap(NULL, DATA_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			   dmabuf, 0);
	report(map != MAP_FAILED, "mmap of the dma-buf: %s",
	       dmabuf < 0 ? "there is none" :
	       map == MAP_FAILED ? strerror(errno) : "mapped");
	if (map == MAP_FAILED) {
		report(0, "the dma-buf's MD5 is the system memory read's: no mapping");
		report(0, "the dma-buf holds the pattern: no mapping");
	} else {
		md5_hex(map, DATA_LEN, md5_buf);
		report(!strcmp(md5_buf, md5_sys),
		       "the dma-buf's MD5 is the system memory read's: %s",
		       md5_buf);
		report(!memcmp(map, pattern, DATA_LEN),
		       "the dma-buf holds the pattern");
	}

	/* 9. A dma-buf in pieces, from a fragmented provider. */
	if (node >= 0)
		read_into_pieces(&n, iommufd, ioas, node, md5_sys);
	else
		for (st = 0; st < 5; st++)
			report(0, "a dma-buf in pieces: the node never opened");

	/* 10. Revocation: the provider goes while all of that is held. */
	if (provider) {
		unbind_provider(provider);

		catch_access_signals();
		if (map == MAP_FAILED) {
			report(0, "%s: no mapping",
			       "a read of the revoked dma-buf's mapping raises SIGBUS");
			report(0, "a write of it raises SIGBUS: no mapping");
		} else {
			st = access_signal(map, 0);
			report(st == SIGBUS,
			       "a read of the revoked dma-buf's mapping raises SIGBUS (got %s)",
			       st ? strsignal(st) : "no signal");
			st = access_signal(map + PAGE, 1);
			report(st == SIGBUS, "a write of it raises SIGBUS (got %s)",
			       st ? strsignal(st) : "no signal");
		}

		/*
		 * The IOVA's mapping is gone: the controller's writes there
		 * fault in the IOMMU (tests/guest/vfio-nvme.sh finds the
		 * faults in the kernel log).  Any status will do: writes are
		 * posted, so a controller need not learn that they were
		 * dropped, and QEMU's does not (it completes with success).
		 * What must not happen is no completion at all.
		 */
		start = now_ms();
		st = nvme_rw(&n, NVME_CMD_READ, IOVA_DMABUF);
		report(st != NVME_TIMED_OUT,
		       "an NVMe Read into the revoked dma-buf's IOVA completes: %s",
		       status_str(st, buf, sizeof(buf)));
		printf("# it took %lld ms\n", now_ms() - start);
		memset(data, 0, DATA_LEN);
		st = nvme_rw(&n, NVME_CMD_READ, IOVA_DATA);
		report(!st && !memcmp(data, pattern, DATA_LEN),
		       "after it the controller still reads the pattern into system memory: %s",
		       status_str(st, buf, sizeof(buf)));

		if (dmabuf < 0) {
			report(0, "%s: there is none",
			       "IOMMU_IOAS_MAP_FILE of the revoked dma-buf fails");
		} else if (!ioas_map_file(iommufd, ioas, dmabuf,
					  IOVA_DMABUF_AGAIN, DATA_LEN)) {
			report(0, "IOMMU_IOAS_MAP_FILE of the revoked dma-buf fails: it maps");
			ioas_unmap(iommufd, ioas, IOVA_DMABUF_AGAIN, DATA_LEN);
		} else {
			report(1, "IOMMU_IOAS_MAP_FILE of the revoked dma-buf fails: %s",
			       strerror(errno));
		}

		if (node < 0) {
			report(0, "the stale node exports nothing: it never opened");
		} else {
			int again = p2pmem_export(node, DATA_LEN,
						  O_RDWR | O_CLOEXEC);

			report(again == -1 && errno == ENODEV,
			       "the stale node exports nothing: ENODEV (got %s)",
			       again == -1 ? strerror(errno) : "a dma-buf");
			if (again >= 0)
				close(again);
		}

		if (ioas_unmap(iommufd, ioas, IOVA_DMABUF, DATA_LEN))
			printf("# IOMMU_IOAS_UNMAP of the revoked range: %s\n",
			       strerror(errno));
		else
			printf("# IOMMU_IOAS_UNMAP of the revoked range: unmapped\n");
		mapped = 0;
	}

	/* 11. The controller off, everything closed. */
	wr32(&n, NVME_REG_CC, rd32(&n, NVME_REG_CC) & ~NVME_CC_EN);
	report(!wait_ready(&n, 0), "the controller disables at the end");
	if (mapped)
		ioas_unmap(iommufd, ioas, IOVA_DMABUF, DATA_LEN);
	if (map != MAP_FAILED)
		munmap(map, DATA_LEN);
	if (dmabuf >= 0)
		close(dmabuf);
	if (node >= 0)
		close(node);
	munmap(n.bar, n.bar_len);
	close(dev);
	close(iommufd);
	free(pattern);
	return failed;
}
#endif
