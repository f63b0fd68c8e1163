/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for p2pmem registration and allocation on a real BAR,
 * included at the end of core.c.
 *
 * They need a memory BAR nobody uses: the ivshmem-plain device of
 * tools/testing/kunit/qemu_configs/x86_64_p2pdma.py (16 MiB in BAR 2), and
 * skip without one.  Each case registers inside a devres group of its own
 * and releases the group at exit, which runs the same teardown as a driver
 * unbind: the device is left as the case found it.
 */
#ifndef _DRIVERS_PCI_P2PDMA_CORE_TEST_H
#define _DRIVERS_PCI_P2PDMA_CORE_TEST_H

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/kernfs.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/mmzone.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/vmalloc.h>

/* The p2pdma_unmap event, for a probe of the case's own. */
#include "trace.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define IVSHMEM_BAR	2

struct core_ctx {
	struct pci_dev *pdev;
	void *group;
};

static int core_test_init(struct kunit *test)
{
	struct core_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->pdev = pci_get_device(IVSHMEM_VENDOR, IVSHMEM_DEVICE, NULL);
	if (!ctx->pdev)
		return 0;
	ctx->group = devres_open_group(&ctx->pdev->dev, NULL, GFP_KERNEL);
	return ctx->group ? 0 : -ENOMEM;
}

static void core_test_exit(struct kunit *test)
{
	struct core_ctx *ctx = test->priv;

	if (!ctx->pdev)
		return;
	devres_release_group(&ctx->pdev->dev, ctx->group);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(ctx->pdev));
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(ctx->pdev->p2pdma));
	pci_dev_put(ctx->pdev);
}

/* The device under test, or skip the case. */
static struct pci_dev *core_dev(struct kunit *test)
{
	struct core_ctx *ctx = test->priv;

	if (!ctx->pdev)
		kunit_skip(test, "needs an ivshmem-plain device (x86_64_p2pdma.py)");
	return ctx->pdev;
}

static size_t core_avail(struct pci_dev *pdev)
{
	/* Pinned: the case registered the memory, as its driver would. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	return p2p ? p2pdma_mem_avail(p2p) : 0;
}

static size_t core_size(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	return p2p ? p2pdma_mem_size(p2p) : 0;
}

/* @pdev's statistics, as debugfs shows them. */
static struct p2pdma_stats core_stats(struct pci_dev *pdev)
{
	struct p2pdma_stats sum;

	/* Pinned: the case registered the memory, as its driver would. */
	p2pdma_stats_sum(p2pdma_of_pinned(pdev), &sum);
	return sum;
}

static bool has_p2pmem_dir(struct pci_dev *pdev)
{
	struct kernfs_node *kn = kernfs_find_and_get(pdev->dev.kobj.sd, "p2pmem");

	kernfs_put(kn);
	return kn;
}

static void core_test_bad_registrations(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	size_t len = pci_resource_len(pdev, IVSHMEM_BAR);

	KUNIT_ASSERT_EQ(test, len, (size_t)SZ_16M);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, -1, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, PCI_STD_NUM_BARS, 0, 0),
			-EINVAL);
	/* BAR 1 is not implemented by ivshmem-plain: not a memory BAR. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, 1, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR,
						      len + SZ_2M, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_2M,
						      len - SZ_1M), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, len),
			-EINVAL);
	/* Page aligned is not enough: ZONE_DEVICE works in 2 MiB subsections. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_2M,
						      PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR,
						      SZ_2M + PAGE_SIZE, 0), -EINVAL);

	/* Nothing of any of that was registered. */
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(pdev->p2pdma));
	KUNIT_EXPECT_FALSE(test, has_p2pmem_dir(pdev));
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, NULL), 0);
}

static void core_test_ranges(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_8M,
						      SZ_8M), 0);
	/* Registered, not published: not offered to others, as upstream. */
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_TRUE(test, has_p2pmem_dir(pdev));
	KUNIT_EXPECT_EQ(test, core_size(pdev), (size_t)SZ_8M);

	/* Overlapping the first range: refused, and the first stays intact. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_4M,
						      SZ_8M + SZ_2M), -EBUSY);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, core_size(pdev), (size_t)SZ_8M);

	/* A second, disjoint range of the same BAR adds up. */
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_8M,
						      0), 0);
	KUNIT_EXPECT_EQ(test, core_size(pdev), (size_t)SZ_16M);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

static void core_test_alloc_free(struct kunit *test)
{
	static const size_t sizes[] = { SZ_4K, SZ_64K, SZ_1M, 1, SZ_4K + 1 };
	struct pci_dev *pdev = core_dev(test);
	pci_bus_addr_t bar_bus = pci_bus_address(pdev, IVSHMEM_BAR);
	resource_size_t bar_phys = pci_resource_start(pdev, IVSHMEM_BAR);
	void *addr[ARRAY_SIZE(sizes)], *old_name, *vmem;
	size_t used = 0;
	int i;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	/*
	 * Failures are EXPECTs, never ASSERTs, once memory is allocated: the
	 * teardown at exit waits for every page to come back.
	 */
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		addr[i] = pci_p2pmem_alloc(pdev, sizes[i]);
		KUNIT_EXPECT_NOT_NULL(test, addr[i]);
		if (!addr[i])
			continue;
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(addr[i]));
		KUNIT_EXPECT_TRUE(test, is_pci_p2pdma_page(virt_to_page(addr[i])));
		/* Bus address: same offset into the BAR as the CPU address. */
		KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, addr[i]),
				bar_bus + (virt_to_phys(addr[i]) - bar_phys));
		used += PAGE_ALIGN(sizes[i]);
		KUNIT_EXPECT_EQ(test, core_avail(pdev), SZ_16M - used);
	}
	/* Upstream's names for the same allocator. */
	old_name = pci_alloc_p2pmem(pdev, SZ_64K);
	KUNIT_EXPECT_NOT_NULL(test, old_name);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), SZ_16M - used - SZ_64K);
	pci_free_p2pmem(pdev, old_name, SZ_64K);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), SZ_16M - used);

	/*
	 * Not p2pmem of this device: no bus address.  Neither for kmalloc()
	 * or vmalloc() memory, nor for the page after the BAR's last.
	 */
	KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, test), 0);
	vmem = vmalloc(PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, vmem);
	if (vmem)
		KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, vmem), 0);
	vfree(vmem);
	vmem = __va(bar_phys + SZ_16M);
	KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, vmem), 0);

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		pci_p2pmem_free(pdev, addr[i], sizes[i]);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/* A second free of the same memory is refused, and counts for nothing. */
static void core_test_double_free(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	void *buf;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	buf = pci_p2pmem_alloc(pdev, SZ_8K);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	pci_p2pmem_free(pdev, buf, SZ_8K);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).free_bytes, (u64)SZ_8K);

	pci_p2pmem_free(pdev, buf, SZ_8K);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).free_bytes, (u64)SZ_8K);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/*
 * Refusals are logged a few at a time, and each provider has a budget of
 * its own: one spent with no provider state behind it (here, before the
 * registration) leaves the registered provider's first refusal its line.
 */
static void core_test_refusal_log(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct device *other;
	bool logged = true;
	int i, lines = 0;

	other = kunit_device_register(test, "p2pdma-not-pci");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);
	/* Well within a window, even emulated: the last is not logged. */
	for (i = 0; i <= P2PDMA_REFUSAL_BURST; i++)
		logged = p2pdma_explain_refusal(pdev, other);
	KUNIT_ASSERT_FALSE_MSG(test, logged, "the shared budget is not spent");

	/* Milliseconds later: the shared budget's window has not ended. */
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	KUNIT_EXPECT_TRUE_MSG(test, p2pdma_explain_refusal(pdev, other),
			      "the provider's first refusal was not logged");
	for (i = 0; i < P2PDMA_REFUSAL_BURST; i++)
		lines += p2pdma_explain_refusal(pdev, other);
	/* Bounded all the same: the first and these, a burst at most. */
	KUNIT_EXPECT_LE(test, 1 + lines, P2PDMA_REFUSAL_BURST);
}

static void core_test_exhaustion(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	void *chunk[16];
	u64 failed;
	int i;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	for (i = 0; i < ARRAY_SIZE(chunk); i++) {
		chunk[i] = pci_p2pmem_alloc(pdev, SZ_1M);
		KUNIT_EXPECT_NOT_NULL(test, chunk[i]);
	}
	KUNIT_EXPECT_EQ(test, core_avail(pdev), 0);
	failed = core_stats(pdev).failed_allocs;
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, PAGE_SIZE));
	/* One call, one failure, whatever the allocator tried inside. */
	KUNIT_EXPECT_EQ(test, core_stats(pdev).failed_allocs, failed + 1);

	/* Freeing one chunk makes exactly that much allocatable again. */
	pci_p2pmem_free(pdev, chunk[7], SZ_1M);
	chunk[7] = pci_p2pmem_alloc(pdev, SZ_1M);
	KUNIT_EXPECT_NOT_NULL(test, chunk[7]);
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, PAGE_SIZE));

	for (i = 0; i < ARRAY_SIZE(chunk); i++)
		pci_p2pmem_free(pdev, chunk[i], SZ_1M);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

static void core_test_sgl(struct kunit *test)
{
	static const u32 lengths[] = { 1, 511, SZ_4K - 1, SZ_4K, SZ_4K + 1,
				       SZ_1M + 1, SZ_8M };
	struct pci_dev *pdev = core_dev(test);
	struct scatterlist *sgl, *sg;
	unsigned int nents;
	u64 total;
	int i, j;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	for (i = 0; i < ARRAY_SIZE(lengths); i++) {
		nents = 0;
		sgl = pci_p2pmem_alloc_sgl(pdev, &nents, lengths[i]);
		KUNIT_ASSERT_NOT_NULL(test, sgl);
		KUNIT_EXPECT_GT(test, nents, 0U);
		total = 0;
		for_each_sg(sgl, sg, nents, j) {
			KUNIT_EXPECT_TRUE(test, is_pci_p2pdma_page(sg_page(sg)));
			total += sg->length;
		}
		KUNIT_EXPECT_EQ(test, total, (u64)lengths[i]);
		pci_p2pmem_free_sgl(pdev, sgl);
		KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
	}
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc_sgl(pdev, &nents, 0));
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc_sgl(pdev, &nents, SZ_16M + 1));
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/*
 * Pretend that the BAR sits at another PCI bus address than its CPU
 * physical one, as behind the host bridges of some platforms: on QEMU's
 * q35 the two are equal, and a missing or doubled offset goes unseen.
 */
static void core_set_bus_offset(struct pci_dev *pdev, u64 offset)
{
	p2pdma_of_pinned(pdev)->mem[IVSHMEM_BAR].bus_offset = offset;
}

/* Bus addresses handed to a peer carry the BAR's offset, once. */
static void core_test_bus_offset(struct kunit *test)
{
	static const u64 offsets[] = { 0x100000000000ULL, -(u64)SZ_1G };
	struct pci_dev *pdev = core_dev(test);
	struct scatterlist *sgl, *sg;
	unsigned int nents;
	int i, j, mapped;
	void *addr;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	addr = pci_p2pmem_alloc(pdev, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, addr);
	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		core_set_bus_offset(pdev, offsets[i]);
		KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, addr + 100),
				(pci_bus_addr_t)(virt_to_phys(addr + 100) +
						 offsets[i]));

		/* The provider is its own peer at distance 0: bus addresses. */
		nents = 0;
		sgl = pci_p2pmem_alloc_sgl(pdev, &nents, 3 * SZ_4K + 10);
		KUNIT_ASSERT_NOT_NULL(test, sgl);
		mapped = dma_map_sg(&pdev->dev, sgl, nents, DMA_TO_DEVICE);
		KUNIT_EXPECT_EQ(test, mapped, (int)nents);
		for_each_sg(sgl, sg, mapped, j) {
			KUNIT_EXPECT_TRUE(test, sg_dma_is_bus_address(sg));
			KUNIT_EXPECT_EQ(test, (u64)sg_dma_address(sg),
					(u64)sg_phys(sg) + offsets[i]);
			KUNIT_EXPECT_EQ(test, sg_dma_len(sg), sg->length);
		}
		if (mapped > 0)
			dma_unmap_sg(&pdev->dev, sgl, nents, DMA_TO_DEVICE);
		pci_p2pmem_free_sgl(pdev, sgl);
	}
	pci_p2pmem_free(pdev, addr, SZ_64K);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/* Is @pdev what pci_p2pmem_find() offers @client?  Other providers may exist. */
static bool found_for(struct pci_dev *pdev, struct device *client)
{
	struct pci_dev *found = pci_p2pmem_find(client);

	pci_dev_put(found);
	return found == pdev;
}

/* A pool in 64 KiB holes still serves a 1 MiB scatterlist, in pieces. */
static void core_test_sgl_fragmented(struct kunit *test)
{
	const unsigned int nr = SZ_16M / SZ_64K;
	struct pci_dev *pdev = core_dev(test);
	struct scatterlist *sgl, *sg;
	unsigned int nents = 0, i;
	void **chunk;
	u64 total = 0;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	chunk = kunit_kcalloc(test, nr, sizeof(*chunk), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, chunk);
	for (i = 0; i < nr; i++)
		chunk[i] = pci_p2pmem_alloc(pdev, SZ_64K);
	for (i = 0; i < nr; i += 2) {
		pci_p2pmem_free(pdev, chunk[i], SZ_64K);
		chunk[i] = NULL;
	}
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_8M);
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, SZ_128K));

	sgl = pci_p2pmem_alloc_sgl(pdev, &nents, SZ_1M + 100);
	KUNIT_EXPECT_NOT_NULL(test, sgl);
	KUNIT_EXPECT_EQ(test, nents, 17U);
	for_each_sg(sgl, sg, nents, i) {
		KUNIT_EXPECT_TRUE(test, is_pci_p2pdma_page(sg_page(sg)));
		total += sg->length;
	}
	KUNIT_EXPECT_EQ(test, total, (u64)SZ_1M + 100);
	KUNIT_EXPECT_EQ(test, sg_nents(sgl), (int)nents);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), SZ_8M - SZ_1M - PAGE_SIZE);
	pci_p2pmem_free_sgl(pdev, sgl);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_8M);

	/* A tail of 3 pages is 3 pages, not a 4-page block losing one. */
	sgl = pci_p2pmem_alloc_sgl(pdev, &nents, 3 * SZ_64K + 3 * PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, sgl);
	KUNIT_EXPECT_EQ(test, nents, 4U);
	KUNIT_EXPECT_EQ(test, core_avail(pdev),
			SZ_8M - 3 * SZ_64K - 3 * PAGE_SIZE);
	pci_p2pmem_free_sgl(pdev, sgl);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_8M);

	for (i = 0; i < nr; i++)
		pci_p2pmem_free(pdev, chunk[i], SZ_64K);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/* The mode of p2pmem/allocate, or 0 when the file is hidden or absent. */
static umode_t allocate_mode(struct pci_dev *pdev)
{
	struct kernfs_node *dir, *kn;
	umode_t mode = 0;

	dir = kernfs_find_and_get(pdev->dev.kobj.sd, "p2pmem");
	kn = dir ? kernfs_find_and_get(dir, "allocate") : NULL;
	if (kn && !(kn->flags & KERNFS_HIDDEN))
		mode = kn->mode & 0777;
	kernfs_put(kn);
	kernfs_put(dir);
	return mode;
}

static bool has_chardev(struct pci_dev *pdev)
{
	/* Pinned: the case registered the memory, as its driver would. */
	return p2pdma_of_pinned(pdev)->chardev;
}

static void core_test_publish(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct device *self = &pdev->dev;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	/* Registered but unpublished memory is not offered to others. */
	KUNIT_EXPECT_FALSE(test, found_for(pdev, self));
	/* Nor to userspace. */
	KUNIT_EXPECT_EQ(test, allocate_mode(pdev), 0);
	KUNIT_EXPECT_FALSE(test, has_chardev(pdev));

	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));

	/* Published, it is the closest there can be to itself. */
	pci_p2pmem_publish(pdev, true);
	KUNIT_EXPECT_TRUE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_TRUE(test, found_for(pdev, self));
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance(pdev, self, false), 0);
	/* Upstream's mode. */
	KUNIT_EXPECT_EQ(test, allocate_mode(pdev), 0660);
	KUNIT_EXPECT_TRUE(test, has_chardev(pdev));

	pci_p2pmem_publish(pdev, false);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_FALSE(test, found_for(pdev, self));
	KUNIT_EXPECT_EQ(test, allocate_mode(pdev), 0);
	KUNIT_EXPECT_FALSE(test, has_chardev(pdev));
	/* Teardown (at exit) unpublishes too: left published on purpose. */
	pci_p2pmem_publish(pdev, true);
}

/*
 * sg_copy_buffer() and sg_zero_buffer() on a list that alternates system
 * memory and p2pmem, with odd offsets and lengths and a skip that starts
 * inside the first entry: every byte lands where it belongs.
 */
/*
 * Calls of an I/O accessor by the case's own thread.  On x86 the accessors
 * move the same bytes as memcpy() and memset(), so only counting them
 * shows that the scatterlist helpers treat p2pmem as I/O memory.  Counted
 * where kprobes are (the debug kernel of make check has them).
 */
struct core_io_calls {
	struct kprobe kp;
	struct task_struct *task;
	atomic_t calls;
	bool armed;
};

static int core_io_call(struct kprobe *kp, struct pt_regs *regs)
{
	struct core_io_calls *c = container_of(kp, struct core_io_calls, kp);

	if (current == c->task)
		atomic_inc(&c->calls);
	return 0;
}

/* Count the calls of @symbol from here on. */
static void core_io_count(struct kunit *test, struct core_io_calls *c,
			  const char *symbol)
{
	memset(c, 0, sizeof(*c));
	if (!IS_ENABLED(CONFIG_KPROBES))
		return;
	c->kp.symbol_name = symbol;
	c->kp.pre_handler = core_io_call;
	c->task = current;
	c->armed = !register_kprobe(&c->kp);
	KUNIT_EXPECT_TRUE_MSG(test, c->armed, "no kprobe on %s()", symbol);
}

/* Stop counting: there must have been @min calls at least. */
static void core_io_expect(struct kunit *test, struct core_io_calls *c,
			   int min)
{
	if (!IS_ENABLED(CONFIG_KPROBES))
		return;
	if (c->armed)
		unregister_kprobe(&c->kp);
	KUNIT_EXPECT_GE_MSG(test, atomic_read(&c->calls), min, "calls of %s()",
			    c->kp.symbol_name);
}

static void core_test_sg_copy(struct kunit *test)
{
	static const struct { bool p2p; u32 off, len; } layout[] = {
		{ false, 10, 100 }, { true, 0, 5000 }, { false, 7, 3000 },
		{ true, 1, PAGE_SIZE - 1 },
	};
	struct pci_dev *pdev = core_dev(test);
	struct scatterlist sgl[ARRAY_SIZE(layout)];
	struct core_io_calls io;
	u8 *sys, *p2p, *in, *out;
	size_t total = 0, skip = 3, pos = 0, i, j;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	sys = kunit_kzalloc(test, 4 * PAGE_SIZE, GFP_KERNEL);
	in = kunit_kmalloc(test, 4 * PAGE_SIZE, GFP_KERNEL);
	out = kunit_kzalloc(test, 4 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, sys && in && out);
	p2p = pci_p2pmem_alloc(pdev, 4 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, p2p);

	sg_init_table(sgl, ARRAY_SIZE(layout));
	for (i = 0; i < ARRAY_SIZE(layout); i++) {
		u8 *base = (layout[i].p2p ? p2p : sys) + pos;

		sg_set_buf(&sgl[i], base + layout[i].off, layout[i].len);
		total += layout[i].len;
		pos += round_up(layout[i].off + layout[i].len, 8);
	}
	for (i = 0; i < total; i++)
		in[i] = i * 7 + 1;

	/* Both p2pmem entries go through the I/O accessors, each way. */
	core_io_count(test, &io, "memcpy_toio");
	KUNIT_EXPECT_EQ(test, sg_pcopy_from_buffer(sgl, ARRAY_SIZE(sgl), in,
						   total - skip, skip),
			total - skip);
	core_io_expect(test, &io, 2);
	core_io_count(test, &io, "memcpy_fromio");
	KUNIT_EXPECT_EQ(test, sg_pcopy_to_buffer(sgl, ARRAY_SIZE(sgl), out,
						 total - skip, skip),
			total - skip);
	core_io_expect(test, &io, 2);
	KUNIT_EXPECT_EQ(test, memcmp(out, in, total - skip), 0);

	/* The p2pmem entry holds its part of the buffer, read over MMIO. */
	pos = layout[0].len - skip;
	for (j = 0; j < layout[1].len; j++)
		if (readb((void __force __iomem *)sg_virt(&sgl[1]) + j) !=
		    in[pos + j])
			break;
	KUNIT_EXPECT_EQ(test, j, (size_t)layout[1].len);

	core_io_count(test, &io, "memset_io");
	KUNIT_EXPECT_EQ(test, sg_zero_buffer(sgl, ARRAY_SIZE(sgl), total, 0),
			total);
	core_io_expect(test, &io, 2);
	memset(in, 0, total);
	KUNIT_EXPECT_EQ(test, sg_copy_to_buffer(sgl, ARRAY_SIZE(sgl), out, total),
			total);
	KUNIT_EXPECT_EQ(test, memcmp(out, in, total), 0);
	pci_p2pmem_free(pdev, p2p, 4 * PAGE_SIZE);
}

struct core_worker {
	struct pci_dev *pdev;
	struct completion done;
	atomic_t *inside;	/* workers in their loop now */
	int rounds;
	int failures;
	int overlapped;		/* rounds with another worker inside */
};

static int core_worker_fn(void *data)
{
	struct core_worker *w = data;
	void *held[8] = { };
	size_t sizes[8];
	int i, slot;

	atomic_inc(w->inside);
	for (i = 0; i < w->rounds; i++) {
		if (atomic_read(w->inside) > 1)
			w->overlapped++;
		slot = get_random_u32() % ARRAY_SIZE(held);
		if (held[slot]) {
			pci_p2pmem_free(w->pdev, held[slot], sizes[slot]);
			held[slot] = NULL;
			continue;
		}
		/* 1 byte .. 64 KiB: not always whole pages. */
		sizes[slot] = (get_random_u32() % SZ_64K) + 1;
		held[slot] = pci_p2pmem_alloc(w->pdev, sizes[slot]);
		if (!held[slot])
			w->failures++;
		if (!(i % 64))
			cond_resched();
	}
	atomic_dec(w->inside);
	for (slot = 0; slot < ARRAY_SIZE(held); slot++)
		pci_p2pmem_free(w->pdev, held[slot], sizes[slot]);
	complete(&w->done);
	return 0;
}

static void core_test_concurrent(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct core_worker w[4];
	struct task_struct *task;
	int i, failures = 0, overlapped = 0;
	atomic_t inside = ATOMIC_INIT(0);

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		w[i].pdev = pdev;
		w[i].inside = &inside;
		w[i].rounds = 4000;
		w[i].failures = 0;
		w[i].overlapped = 0;
		init_completion(&w[i].done);
		task = kthread_run(core_worker_fn, &w[i], "p2pdma_pool/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		wait_for_completion(&w[i].done);
		failures += w[i].failures;
		overlapped += w[i].overlapped;
	}
	/* Else the workers ran one after the other: nothing raced. */
	KUNIT_EXPECT_GT(test, overlapped, 0);
	/*
	 * At most 4 x 8 live allocations of 64 KiB: 33 holes share >= 14 MiB
	 * free, so one of them always fits the next one.  Nothing may fail.
	 */
	KUNIT_EXPECT_EQ(test, failures, 0);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

struct watch_ctx {
	struct pci_p2pdma_watcher watch;
	struct pci_dev *pdev;
	void *mem;
	int calls;
	bool provider_cleared;
};

/* A client that gives its memory back when told the provider is going. */
static void watch_ctx_remove(struct pci_p2pdma_watcher *watch)
{
	struct watch_ctx *ctx = container_of(watch, struct watch_ctx, watch);

	ctx->calls++;
	ctx->provider_cleared = !watch->provider;
	pci_p2pmem_free(ctx->pdev, ctx->mem, SZ_1M);
	ctx->mem = NULL;
}

static void core_test_watch(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct core_ctx *pctx = test->priv;
	struct watch_ctx a = { .pdev = pdev }, b = { .pdev = pdev };

	a.watch.remove = watch_ctx_remove;
	b.watch.remove = watch_ctx_remove;
	KUNIT_EXPECT_EQ(test, pci_p2pdma_watch(pdev, &a.watch), -ENODEV);
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	a.mem = pci_p2pmem_alloc(pdev, SZ_1M);
	KUNIT_EXPECT_NOT_NULL(test, a.mem);
	if (pci_p2pdma_watch(pdev, &a.watch)) {
		/* Without the watch, the teardown would wait for a.mem. */
		pci_p2pmem_free(pdev, a.mem, SZ_1M);
		KUNIT_FAIL(test, "pci_p2pdma_watch() refused a live provider");
		return;
	}
	KUNIT_EXPECT_EQ(test, pci_p2pdma_watch(pdev, &b.watch), 0);
	pci_p2pdma_unwatch(&b.watch);

	/*
	 * Removal would wait forever for a's megabyte if the callback did
	 * not run; it must run once, for a only.
	 */
	devres_release_group(&pdev->dev, pctx->group);
	KUNIT_EXPECT_EQ(test, a.calls, 1);
	KUNIT_EXPECT_TRUE(test, a.provider_cleared);
	KUNIT_EXPECT_NULL(test, a.mem);
	KUNIT_EXPECT_EQ(test, b.calls, 0);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_FALSE(test, has_p2pmem_dir(pdev));
	/* A fired watch may still be unwatched, harmlessly. */
	pci_p2pdma_unwatch(&a.watch);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_watch(pdev, &a.watch), -ENODEV);

	pctx->group = devres_open_group(&pdev->dev, NULL, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pctx->group);
}

/* A driver that publishes while it is being unbound, from a work item say. */
struct publish_ctx {
	struct pci_p2pdma_watcher watch;
	struct pci_dev *pdev;
	bool published;
};

static void publish_ctx_remove(struct pci_p2pdma_watcher *watch)
{
	struct publish_ctx *ctx = container_of(watch, struct publish_ctx, watch);

	pci_p2pmem_publish(ctx->pdev, true);
	ctx->published = pci_has_p2pmem(ctx->pdev);
	/* Undone at once, so that a failure leaves no freed provider listed. */
	pci_p2pmem_publish(ctx->pdev, false);
}

/* Publishing once removal has begun would list a provider about to be freed. */
static void core_test_publish_in_teardown(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct core_ctx *pctx = test->priv;
	struct publish_ctx ctx = { .pdev = pdev };

	ctx.watch.remove = publish_ctx_remove;
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	pci_p2pmem_publish(pdev, true);
	KUNIT_ASSERT_EQ(test, pci_p2pdma_watch(pdev, &ctx.watch), 0);

	devres_release_group(&pdev->dev, pctx->group);
	KUNIT_EXPECT_FALSE(test, ctx.published);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));

	pctx->group = devres_open_group(&pdev->dev, NULL, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pctx->group);
}

/* Two calls that each run in a kthread of their own and say when done. */
struct stall_ctx {
	struct pci_dev *pdev;
	struct completion unpublished, found;
};

static int stall_unpublish_fn(void *data)
{
	struct stall_ctx *ctx = data;

	pci_p2pmem_publish(ctx->pdev, false);
	complete(&ctx->unpublished);
	return 0;
}

static int stall_find_fn(void *data)
{
	struct stall_ctx *ctx = data;

	pci_dev_put(pci_p2pmem_find(&ctx->pdev->dev));
	complete(&ctx->found);
	return 0;
}

/*
 * Revoking a provider's userspace mappings waits for the processes that
 * are mapping it; one that takes its time must hold up that provider's
 * unpublish only, not every driver looking for p2pmem meanwhile.  The
 * case plays such a process by holding user_sem as ->mmap() does.
 */
static void core_test_slow_revocation_is_local(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct stall_ctx ctx = { .pdev = pdev };
	struct task_struct *task;
	struct pci_p2pdma *p2p;
	bool found_meanwhile;
	unsigned int ms;

	init_completion(&ctx.unpublished);
	init_completion(&ctx.found);
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	pci_p2pmem_publish(pdev, true);
	/* Pinned: the case registered the memory, as its driver would. */
	p2p = p2pdma_of_pinned(pdev);

	down_read(&p2p->user_sem);
	task = kthread_run(stall_unpublish_fn, &ctx, "p2pdma_unpublish");
	if (IS_ERR(task)) {
		up_read(&p2p->user_sem);
		KUNIT_FAIL(test, "no kthread: %ld", PTR_ERR(task));
		return;
	}
	/* Let the unpublish reach the revocation, which waits for us. */
	for (ms = 0; ms < 30000 && !rwsem_is_contended(&p2p->user_sem); ms += 20)
		msleep(20);
	KUNIT_EXPECT_TRUE_MSG(test, rwsem_is_contended(&p2p->user_sem),
			      "the unpublish never waited for user_sem");
	KUNIT_EXPECT_FALSE(test, completion_done(&ctx.unpublished));
	task = kthread_run(stall_find_fn, &ctx, "p2pdma_find");
	/*
	 * Generous, as built-in suites run while devices still probe: a find
	 * that waits for the revocation does not end before up_read() below.
	 */
	found_meanwhile = !IS_ERR(task) &&
			  wait_for_completion_timeout(&ctx.found, 30 * HZ);
	up_read(&p2p->user_sem);

	KUNIT_EXPECT_TRUE_MSG(test, found_meanwhile,
			      "pci_p2pmem_find() waited for another provider's revocation");
	wait_for_completion(&ctx.unpublished);
	/* ctx must outlive the thread; a completion is waited for once. */
	if (!IS_ERR(task) && !found_meanwhile)
		wait_for_completion(&ctx.found);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_EQ(test, allocate_mode(pdev), 0);
}

/*
 * 7.3's per-BAR providers: a state made by pcim_p2pdma_init() alone has a
 * provider per memory BAR and nothing else; pages registered later share
 * their BAR's provider, which the mapping paths then find and count.
 */
static void core_test_bar_providers(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct pci_p2pdma_map_state state = {};
	struct device *other;
	struct p2pdma_provider *mem;
	u64 mapped;
	void *addr;

	KUNIT_ASSERT_EQ(test, pcim_p2pdma_init(pdev), 0);
	KUNIT_EXPECT_EQ(test, pcim_p2pdma_init(pdev), 0);
	KUNIT_EXPECT_FALSE(test, has_p2pmem_dir(pdev));
	pci_p2pmem_publish(pdev, true);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, PAGE_SIZE));

	/* BAR 1 is not implemented by ivshmem-plain. */
	KUNIT_EXPECT_NULL(test, pcim_p2pdma_provider(pdev, 1));
	KUNIT_EXPECT_NULL(test, pcim_p2pdma_provider(pdev, -1));
	KUNIT_EXPECT_NULL(test, pcim_p2pdma_provider(pdev, PCI_STD_NUM_BARS));
	mem = pcim_p2pdma_provider(pdev, IVSHMEM_BAR);
	KUNIT_ASSERT_NOT_NULL(test, mem);
	KUNIT_EXPECT_PTR_EQ(test, mem->owner, &pdev->dev);
	KUNIT_EXPECT_EQ(test, mem->bus_offset,
			(u64)(pci_bus_address(pdev, IVSHMEM_BAR) -
			      pci_resource_start(pdev, IVSHMEM_BAR)));
	KUNIT_EXPECT_EQ(test, pci_p2pdma_map_type(mem, &pdev->dev),
			PCI_P2PDMA_MAP_BUS_ADDR);
	other = kunit_device_register(test, "p2pdma-not-pci");
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	KUNIT_EXPECT_EQ(test, pci_p2pdma_map_type(mem, other),
			PCI_P2PDMA_MAP_NOT_SUPPORTED);

	/* Pages of the BAR come with the same provider. */
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, 0, 0), 0);
	KUNIT_EXPECT_TRUE(test, has_p2pmem_dir(pdev));
	KUNIT_EXPECT_PTR_EQ(test, pcim_p2pdma_provider(pdev, IVSHMEM_BAR), mem);
	addr = pci_p2pmem_alloc(pdev, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, addr);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_state(&state, &pdev->dev,
					       virt_to_page(addr)),
			PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_PTR_EQ(test, state.mem, mem);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_bus_addr_map(state.mem,
						      virt_to_phys(addr)),
			(dma_addr_t)pci_p2pmem_virt_to_bus(pdev, addr));
	KUNIT_EXPECT_EQ(test, pci_p2pdma_state(&state, &pdev->dev,
					       ZERO_PAGE(0)),
			PCI_P2PDMA_MAP_NONE);

	/* What a mapping call maps is counted once it is done. */
	mapped = core_stats(pdev).dma_mapped_bytes;
	pci_p2pdma_map_bytes(&state, SZ_64K);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes, mapped);
	/* Another page of the same provider keeps the call's state. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_state(&state, &pdev->dev,
					       virt_to_page(addr + PAGE_SIZE)),
			PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_EQ(test, state.bytes, SZ_64K);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes, mapped);
	pci_p2pdma_map_done(&state);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes,
			mapped + SZ_64K);
	KUNIT_EXPECT_EQ(test, state.bytes, 0);
	pci_p2pmem_free(pdev, addr, SZ_64K);
}

/*
 * Pass the pages of the range @addr is in off as pages of @other: the
 * ivshmem device has one BAR of memory, and a mapping call that meets two
 * providers needs pages of two.
 */
static struct p2pdma_range *core_lend_range(void *addr,
					    struct p2pdma_provider *other)
{
	struct p2pdma_range *range;

	range = to_p2pdma_range(page_pgmap(virt_to_page(addr)));
	range->pagemap.mem = other;
	return range;
}

/* What a call of two providers maps is counted once, when it worked. */
static void core_test_mixed_count(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct pci_p2pdma_map_state state = {};
	struct p2pdma_provider *bar2, twin, stranger = {};
	struct p2pdma_range *lent;
	struct scatterlist sgl[3];
	struct pci_dev *host;
	void *a, *b;
	u64 mapped;

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_8M, 0), 0);
	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_8M,
						      SZ_8M), 0);
	bar2 = pcim_p2pdma_provider(pdev, IVSHMEM_BAR);
	/* All of one range, then a page of the other. */
	a = pci_p2pmem_alloc(pdev, SZ_8M);
	b = pci_p2pmem_alloc(pdev, PAGE_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_PTR_NE(test, page_pgmap(virt_to_page(a)),
			    page_pgmap(virt_to_page(b)));
	/* Another provider of the same device, which reaches it as BAR 2. */
	twin = *bar2;
	lent = core_lend_range(b, &twin);

	/* Nothing is counted while the call may still fail... */
	mapped = core_stats(pdev).dma_mapped_bytes;
	KUNIT_EXPECT_EQ(test, pci_p2pdma_state(&state, &pdev->dev,
					       virt_to_page(a)),
			PCI_P2PDMA_MAP_BUS_ADDR);
	pci_p2pdma_map_bytes(&state, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_state(&state, &pdev->dev,
					       virt_to_page(b)),
			PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_PTR_NE(test, state.mem, bar2);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes, mapped);
	KUNIT_EXPECT_TRUE(test, state.mixed);

	/* ... and a call that worked counts each entry once. */
	sg_init_table(sgl, ARRAY_SIZE(sgl));
	sg_set_buf(&sgl[0], a, PAGE_SIZE);
	sg_set_buf(&sgl[1], b, 100);
	sg_set_buf(&sgl[2], a + PAGE_SIZE, 1000);
	KUNIT_EXPECT_EQ(test, dma_map_sg(&pdev->dev, sgl, 3, DMA_TO_DEVICE), 3);
	dma_unmap_sg(&pdev->dev, sgl, 3, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes,
			mapped + PAGE_SIZE + 100 + 1000);

	/* A provider of a device without p2pmem: the call fails there. */
	host = pci_get_domain_bus_and_slot(0, 0, PCI_DEVFN(0, 0));
	KUNIT_ASSERT_NOT_NULL(test, host);
	KUNIT_ASSERT_PTR_NE(test, host, pdev);
	stranger.owner = &host->dev;
	lent->pagemap.mem = &stranger;
	mapped = core_stats(pdev).dma_mapped_bytes;
	KUNIT_EXPECT_EQ(test, dma_map_sg(&pdev->dev, sgl, 3, DMA_TO_DEVICE), 0);
	KUNIT_EXPECT_EQ(test, core_stats(pdev).dma_mapped_bytes, mapped);
	pci_dev_put(host);

	lent->pagemap.mem = bar2;
	pci_p2pmem_free(pdev, b, PAGE_SIZE);
	pci_p2pmem_free(pdev, a, SZ_8M);
	KUNIT_EXPECT_EQ(test, core_avail(pdev), (size_t)SZ_16M);
}

/* What core_unmap_probe() saw of one provider's p2pdma_unmap events. */
struct core_unmap_seen {
	struct pci_dev *provider;
	char client[16];
	int map;
	u64 bytes;
	int events;
};

static void core_unmap_probe(void *data, struct pci_dev *provider,
			     const char *client, int map, u64 bytes,
			     const char *reason)
{
	struct core_unmap_seen *seen = data;

	/* Another provider's unmapping, somewhere else, is not the case's. */
	if (provider != seen->provider)
		return;
	strscpy(seen->client, client);
	seen->map = map;
	seen->bytes = bytes;
	seen->events++;
}

/*
 * Unmapping p2pmem fires p2pdma_unmap with the mapped bytes, one event per
 * run of a provider's entries, and only while the event has a probe.
 */
static void core_test_unmap_trace(struct kunit *test)
{
	struct pci_dev *pdev = core_dev(test);
	struct core_unmap_seen seen = { .provider = pdev };
	bool traced = static_key_enabled(&pci_p2pdma_unmap_traced);
	struct scatterlist sgl[3];
	void *p2p, *sys;

	/*
	 * kunit.py's configuration has none to register a probe with; and
	 * asserting on that after allocating would leave the pages to the
	 * teardown, which waits for them.
	 */
	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "needs CONFIG_TRACEPOINTS");

	KUNIT_ASSERT_EQ(test, pci_p2pdma_add_resource(pdev, IVSHMEM_BAR, SZ_8M, 0), 0);
	p2p = pci_p2pmem_alloc(pdev, 2 * PAGE_SIZE);
	sys = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p2p);
	KUNIT_ASSERT_NOT_NULL(test, sys);
	sg_init_table(sgl, ARRAY_SIZE(sgl));
	sg_set_buf(&sgl[0], p2p, PAGE_SIZE);
	sg_set_buf(&sgl[1], sys, 200);
	sg_set_buf(&sgl[2], p2p + PAGE_SIZE, 1000);

	KUNIT_ASSERT_EQ(test, register_trace_p2pdma_unmap(core_unmap_probe,
							  &seen), 0);
	KUNIT_EXPECT_TRUE(test, static_key_enabled(&pci_p2pdma_unmap_traced));
	KUNIT_EXPECT_EQ(test, dma_map_sg(&pdev->dev, sgl, 3, DMA_TO_DEVICE), 3);
	KUNIT_EXPECT_EQ(test, seen.events, 0);
	dma_unmap_sg(&pdev->dev, sgl, 3, DMA_TO_DEVICE);
	/* System memory between two entries does not end the provider's run. */
	KUNIT_EXPECT_EQ(test, seen.events, 1);
	KUNIT_EXPECT_EQ(test, seen.bytes, PAGE_SIZE + 1000);
	KUNIT_EXPECT_EQ(test, seen.map, PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_STREQ(test, seen.client, pci_name(pdev));

	/* A request's unmapping, told by its first page. */
	pci_p2pdma_note_unmap(&pdev->dev, virt_to_page(p2p + PAGE_SIZE), SZ_64K);
	KUNIT_EXPECT_EQ(test, seen.events, 2);
	KUNIT_EXPECT_EQ(test, seen.bytes, SZ_64K);
	pci_p2pdma_note_unmap(&pdev->dev, virt_to_page(sys), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, seen.events, 2);

	KUNIT_EXPECT_EQ(test, unregister_trace_p2pdma_unmap(core_unmap_probe,
							    &seen), 0);
	tracepoint_synchronize_unregister();
	KUNIT_EXPECT_EQ(test, static_key_enabled(&pci_p2pdma_unmap_traced),
			traced);
	pci_p2pmem_free(pdev, p2p, 2 * PAGE_SIZE);
}

static struct kunit_case core_test_cases[] = {
	KUNIT_CASE(core_test_bar_providers),
	KUNIT_CASE(core_test_mixed_count),
	KUNIT_CASE(core_test_bad_registrations),
	KUNIT_CASE(core_test_ranges),
	KUNIT_CASE(core_test_alloc_free),
	KUNIT_CASE(core_test_double_free),
	KUNIT_CASE(core_test_exhaustion),
	KUNIT_CASE(core_test_sgl),
	KUNIT_CASE(core_test_sgl_fragmented),
	KUNIT_CASE(core_test_bus_offset),
	KUNIT_CASE(core_test_publish),
	KUNIT_CASE(core_test_concurrent),
	KUNIT_CASE(core_test_watch),
	KUNIT_CASE(core_test_publish_in_teardown),
	KUNIT_CASE(core_test_slow_revocation_is_local),
	KUNIT_CASE(core_test_sg_copy),
	KUNIT_CASE(core_test_unmap_trace),
	KUNIT_CASE(core_test_refusal_log),
	{ }
};

static struct kunit_suite core_test_suite = {
	.name = "p2pdma_core",
	.init = core_test_init,
	.exit = core_test_exit,
	.test_cases = core_test_cases,
};

kunit_test_suite(core_test_suite);

#endif /* _DRIVERS_PCI_P2PDMA_CORE_TEST_H */
