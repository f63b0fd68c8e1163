// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma_vfio_dmabuf - vfio-pci's dma-buf of a BAR, imported into iommufd,
 * reached by another device's DMA
 *
 * Usage: p2pdma_vfio_dmabuf EXPORTER BAR DMA_DEVICE
 *
 * EXPORTER and DMA_DEVICE are PCI addresses of functions bound to vfio-pci
 * (vfio's device cdev interface and /dev/iommu), DMA_DEVICE a QEMU "edu"
 * device.  The program exports the first MiB of EXPORTER's memory BAR as a
 * dma-buf, maps it into an IOAS that DMA_DEVICE is attached to, and has
 * DMA_DEVICE's DMA engine write into it and read from it: the data must
 * arrive in the BAR, as read through EXPORTER's own vfio mapping of it.
 * Then it revokes the dma-buf (memory decoding off, then closing
 * EXPORTER): a revoked dma-buf cannot be mapped again, and DMA to its old
 * mapping must not reach the BAR, even once decoding is back on.  One
 * "ok - " or "not ok - " line per
 * check; exits 0 only if every check passed.
 *
 * A kernel whose uapi has no vfio dma-buf gets a program that says so and
 * exits 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "p2pdma_test.h"
#include "vfio_test.h"

#ifndef VFIO_DEVICE_FEATURE_DMA_BUF
int main(void)
{
	fprintf(stderr, "p2pdma_vfio_dmabuf: %s\n",
		"this kernel's uapi has no VFIO_DEVICE_FEATURE_DMA_BUF");
	return 4;
}
#else

#define MIB			0x100000UL
#define PAGE			4096UL
/* The edu device's DMA engine and its 4 KiB buffer (QEMU docs/specs/edu). */
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_HOST		0x2
#define EDU_BUF			0x40000UL
/*
 * Half of edu's buffer: QEMU 7.2's edu aborts QEMU on a transfer that
 * ends at the buffer's last byte (its range check excludes the end).
 */
#define XFER			2048UL
/* edu masks DMA addresses to 28 bits: IOVAs below 256 MiB. */
#define IOVA_BAR		(16 * MIB)
#define IOVA_BAR_AGAIN		(32 * MIB)
#define IOVA_RAM		(64 * MIB)

struct vdev {
	const char *bdf;
	int fd;
};

static void bind_iommufd(struct vdev *v, int iommufd)
{
	v->fd = open_vfio_cdev(v->bdf);
	if (v->fd < 0)
		die("open the vfio cdev");
	if (vfio_bind_iommufd(v->fd, iommufd))
		die("VFIO_DEVICE_BIND_IOMMUFD");
}

static struct vfio_region_info region(struct vdev *v, unsigned int index)
{
	struct vfio_region_info info;

	if (vfio_region(v->fd, index, &info))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return info;
}

static void *map_region(struct vdev *v, unsigned int index, size_t len)
{
	struct vfio_region_info info = region(v, index);
	void *p;

	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || info.size < len) {
		errno = EINVAL;
		die("the BAR can be mmap'ed through vfio");
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		 info.offset);
	if (p == MAP_FAILED)
		die("mmap of the BAR through vfio");
	return p;
}

static void command_bits(struct vdev *v, uint16_t set, uint16_t clear)
{
	if (vfio_command_bits(v->fd, set, clear))
		die("the command register through vfio's config region");
}

/*
 * export - a dma-buf of @len bytes at @offset of BAR @bar; its fd, or -1
 * with errno set.
 */
static int export(struct vdev *v, unsigned int bar, uint64_t offset,
		  uint64_t len, unsigned int nr_ranges)
{
	struct {
		struct vfio_device_feature hdr;
		struct vfio_device_feature_dma_buf buf;
		struct vfio_region_dma_range range;
	} arg = {
		.hdr.argsz = sizeof(arg),
		.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF,
		.buf.region_index = bar,
		.buf.open_flags = O_RDWR | O_CLOEXEC,
		.buf.nr_ranges = nr_ranges,
		.range = { .offset = offset, .length = len },
	};

	return ioctl(v->fd, VFIO_DEVICE_FEATURE, &arg);
}

/* expect_errno - report whether a call returned -1 with errno @want. */
static void expect_errno(int ret, int want, const char *what)
{
	int err = errno;

	report(ret == -1 && err == want, "%s: %s (got %s)", what,
	       strerror(want), ret == -1 ? strerror(err) : "success");
}

/* edu's registers: loads and stores the compiler may not merge or drop. */
static void edu_write(uint8_t *edu, unsigned int reg, uint64_t val)
{
	__atomic_store_n((uint64_t *)(edu + reg), val, __ATOMIC_SEQ_CST);
}

static uint64_t edu_read(uint8_t *edu, unsigned int reg)
{
	return __atomic_load_n((uint64_t *)(edu + reg), __ATOMIC_SEQ_CST);
}

/*
 * edu_dma - one transfer of edu's engine between its buffer and @iova,
 * @to_host for the buffer to @iova.  Waits for the engine; 0 when done.
 */
static int edu_dma(uint8_t *edu, uint64_t iova, uint64_t len, int to_host)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int i;

	edu_write(edu, EDU_DMA_SRC, to_host ? EDU_BUF : iova);
	edu_write(edu, EDU_DMA_DST, to_host ? iova : EDU_BUF);
	edu_write(edu, EDU_DMA_COUNT, len);
	edu_write(edu, EDU_DMA_CMD,
		  EDU_DMA_RUN | (to_host ? EDU_DMA_TO_HOST : 0));
	/* QEMU runs the transfer from a timer, 100 ms after the command. */
	for (i = 0; i < 500; i++) {
		if (!(edu_read(edu, EDU_DMA_CMD) & EDU_DMA_RUN))
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int same(const uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i * 7))
			return 0;
	return 1;
}

static int zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vdev exp, dev;
	uint8_t *bar, *edu;
	struct vfio_region_info info;
	uint8_t *ram;
	unsigned int idx;
	char path[256];
	struct stat st;
	int iommufd, buf;
	off_t size;

	if (argc != 4) {
		fprintf(stderr, "usage: %s EXPORTER BAR DMA_DEVICE\n", argv[0]);
		return 2;
	}
	exp.bdf = argv[1];
	idx = strtoul(argv[2], NULL, 0);
	dev.bdf = argv[3];

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	bind_iommufd(&exp, iommufd);
	bind_iommufd(&dev, iommufd);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	report(!vfio_attach_ioas(dev.fd, alloc.out_ioas_id),
	       "both functions bind to one iommufd, the DMA device attaches to an IOAS");

	info = region(&exp, idx);
	report(info.size >= MIB, "BAR %u is %llu MiB, at least 1 MiB", idx,
	       (unsigned long long)(info.size / MIB));
	bar = map_region(&exp, idx, MIB);
	edu = map_region(&dev, VFIO_PCI_BAR0_REGION_INDEX, MIB);
	command_bits(&dev, PCI_COMMAND_MASTER, 0);
	memset(bar, 0, MIB);

	/* What vfio refuses before anything is exported. */
	expect_errno(export(&exp, idx, 0, info.size + PAGE, 1), EINVAL,
		     "a range past the end of the BAR is refused");
	expect_errno(export(&exp, idx, 512, PAGE, 1), EINVAL,
		     "an offset that is not page aligned is refused");
	expect_errno(export(&exp, idx, 0, PAGE, 0), EINVAL,
		     "no range at all is refused");
	expect_errno(export(&exp, 1, 0, PAGE, 1), ENODEV,
		     "BAR 1, which the function does not implement, is refused");

	buf = export(&exp, idx, 0, MIB, 1);
	if (buf < 0)
		die("export the first MiB of the BAR as a dma-buf");
	size = lseek(buf, 0, SEEK_END);
	report(size == (off_t)MIB, "the dma-buf of the first MiB is %lld bytes",
	       (long long)size);
	snprintf(path, sizeof(path), "/sys/kernel/debug/p2pdma/%s", exp.bdf);
	report(!stat(path, &st) && S_ISDIR(st.st_mode),
	       "vfio-pci made the exporter a P2PDMA provider (%s)", path);
	report(!ioas_map_file(iommufd, alloc.out_ioas_id, buf, IOVA_BAR, MIB),
	       "iommufd maps the dma-buf into the IOAS");

	ram = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap system memory");
	fill(ram, PAGE, 0x11);
	if (ioas_map_user(iommufd, alloc.out_ioas_id, ram, IOVA_RAM, PAGE))
		die("IOMMU_IOAS_MAP of system memory");

	/* System memory -> edu -> the BAR, at the dma-buf's second page. */
	report(!edu_dma(edu, IOVA_RAM, XFER, 0) &&
	       !edu_dma(edu, IOVA_BAR + PAGE, XFER, 1),
	       "the DMA device writes %lu bytes into the dma-buf", XFER);
	report(same(bar + PAGE, XFER, 0x11) && zero(bar, PAGE) &&
	       zero(bar + PAGE + XFER, PAGE),
	       "the BAR holds them at the dma-buf's offset, and nothing around them");

	/* The BAR -> edu -> system memory. */
	fill(bar + 3 * PAGE, XFER, 0x22);
	memset(ram, 0, PAGE);
	report(!edu_dma(edu, IOVA_BAR + 3 * PAGE, XFER, 0) &&
	       !edu_dma(edu, IOVA_RAM, XFER, 1) && same(ram, XFER, 0x22) &&
	       zero(ram + XFER, PAGE - XFER),
	       "the DMA device reads the BAR's data through the dma-buf");

	/*
	 * Memory decoding off revokes the dma-buf and unmaps it from the
	 * IOAS.  Decoding back on un-revokes the dma-buf but not the old
	 * mapping: a DMA there, which would reach the BAR now, must fault.
	 */
	command_bits(&exp, 0, PCI_COMMAND_MEMORY);
	expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, buf,
				   IOVA_BAR_AGAIN, MIB), ENODEV,
		     "a revoked dma-buf cannot be mapped");
	command_bits(&exp, PCI_COMMAND_MEMORY, 0);
	fill(ram, PAGE, 0x33);
	/* A precondition: the engine finishes, whatever the IOMMU says. */
	report(!edu_dma(edu, IOVA_RAM, XFER, 0) &&
	       !edu_dma(edu, IOVA_BAR + 5 * PAGE, XFER, 1),
	       "the DMA device's write to the revoked mapping completes");
	report(zero(bar + 5 * PAGE, PAGE),
	       "the revoked mapping does not reach the BAR, decoding on or not");

	/* A new mapping of the dma-buf reaches the BAR again. */
	report(!ioas_unmap(iommufd, alloc.out_ioas_id, IOVA_BAR, MIB) &&
	       !ioas_map_file(iommufd, alloc.out_ioas_id, buf, IOVA_BAR_AGAIN,
			      MIB),
	       "once decoding is back, the dma-buf maps again");
	report(!edu_dma(edu, IOVA_RAM, XFER, 0) &&
	       !edu_dma(edu, IOVA_BAR_AGAIN + 6 * PAGE, XFER, 1) &&
	       same(bar + 6 * PAGE, XFER, 0x33),
	       "the new mapping reaches the BAR");

	/* Closing the exporter revokes the dma-buf for good. */
	ioas_unmap(iommufd, alloc.out_ioas_id, IOVA_BAR_AGAIN, MIB);
	munmap(bar, MIB);
	close(exp.fd);
	expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, buf, IOVA_BAR,
				   MIB), ENODEV,
		     "after the exporter is closed the dma-buf is dead");
	close(buf);
	close(dev.fd);
	close(iommufd);
	return failed;
}
#endif
