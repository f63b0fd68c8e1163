/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of dma-buf export, included at the end of dmabuf.c: a
 * test importer attaches NVMe functions of the QEMU guest's topology to
 * exports of the ivshmem-plain BAR, which this suite registers and
 * publishes itself, as core-test.h does.  Without both it skips.
 *
 * Memory is checked through the provider's free bytes: nothing an
 * importer holds may come back to the pool before the importer let go.
 */
#ifndef _DRIVERS_PCI_P2PDMA_DMABUF_TEST_H
#define _DRIVERS_PCI_P2PDMA_DMABUF_TEST_H

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include <rdma/ib_umem.h>
#include <rdma/ib_verbs.h>

#define DMABUF_TEST_VENDOR	0x1af4	/* ivshmem-plain */
#define DMABUF_TEST_DEVICE	0x1110
#define DMABUF_TEST_BAR		2

struct dmabuf_ctx {
	struct pci_dev *pdev;		/* the provider */
	void *group;			/* its registration, released at exit */
	struct pci_dev *near;		/* an NVMe function it reaches by bus */
	struct pci_dev *far;		/* one it cannot reach */
};

/* The test importer: revocable, and told when it must let go. */
struct dmabuf_importer {
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	atomic_t invalidated;
	bool unmap_when_told;
};

/* Unmap now (resv held by the caller), if mapped. */
static void dmabuf_importer_unmap(struct dmabuf_importer *imp)
{
	if (imp->sgt)
		dma_buf_unmap_attachment(imp->attach, imp->sgt,
					 DMA_BIDIRECTIONAL);
	imp->sgt = NULL;
}

static void dmabuf_importer_invalidate(struct dma_buf_attachment *attach)
{
	struct dmabuf_importer *imp = attach->importer_priv;

	atomic_inc(&imp->invalidated);
	if (imp->unmap_when_told)
		dmabuf_importer_unmap(imp);
}

static const struct dma_buf_attach_ops dmabuf_importer_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = dmabuf_importer_invalidate,
};

/* An importer that takes only struct pages: refused. */
static const struct dma_buf_attach_ops dmabuf_pages_importer_ops = {
	.invalidate_mappings = dmabuf_importer_invalidate,
};

/* One that cannot be told to let go: refused too. */
static const struct dma_buf_attach_ops dmabuf_pinned_importer_ops = {
	.allow_peer2peer = true,
};

/* The first NVMe function whose path from @mem is, or is not, @map. */
static struct pci_dev *dmabuf_find_nvme(struct p2pdma_provider *mem,
					enum pci_p2pdma_map_type map)
{
	struct pci_dev *nvme = NULL;

	while ((nvme = pci_get_class(PCI_CLASS_STORAGE_EXPRESS, nvme)))
		if (pci_p2pdma_map_type(mem, &nvme->dev) == map)
			return nvme;
	return NULL;
}

static int dmabuf_test_init(struct kunit *test)
{
	struct dmabuf_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct p2pdma_provider *mem;

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->pdev = pci_get_device(DMABUF_TEST_VENDOR, DMABUF_TEST_DEVICE, NULL);
	if (!ctx->pdev)
		return 0;
	ctx->group = devres_open_group(&ctx->pdev->dev, NULL, GFP_KERNEL);
	if (!ctx->group)
		return -ENOMEM;
	if (pci_p2pdma_add_resource(ctx->pdev, DMABUF_TEST_BAR, 0, 0))
		return -EIO;
	pci_p2pmem_publish(ctx->pdev, true);
	mem = pcim_p2pdma_provider(ctx->pdev, DMABUF_TEST_BAR);
	ctx->near = dmabuf_find_nvme(mem, PCI_P2PDMA_MAP_BUS_ADDR);
	ctx->far = dmabuf_find_nvme(mem, PCI_P2PDMA_MAP_NOT_SUPPORTED);
	return 0;
}

static void dmabuf_test_exit(struct kunit *test)
{
	struct dmabuf_ctx *ctx = test->priv;

	if (!ctx->pdev)
		return;
	pci_dev_put(ctx->near);
	pci_dev_put(ctx->far);
	devres_release_group(&ctx->pdev->dev, ctx->group);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(ctx->pdev->p2pdma));
	pci_dev_put(ctx->pdev);
}

/* The provider, with an importer on each side of its reach, or skip. */
static struct dmabuf_ctx *dmabuf_ctx(struct kunit *test)
{
	struct dmabuf_ctx *ctx = test->priv;

	if (!ctx->pdev || !ctx->near || !ctx->far)
		kunit_skip(test, "needs ivshmem-plain, and NVMe functions in and out of its reach");
	return ctx;
}

/*
 * The provider and an importer out of its reach, or skip: the IOMMU guest
 * has no NVMe function within the reach of its ivshmem.
 */
static struct dmabuf_ctx *dmabuf_ctx_far(struct kunit *test)
{
	struct dmabuf_ctx *ctx = test->priv;

	if (!ctx->pdev || !ctx->far)
		kunit_skip(test, "needs ivshmem-plain, and an NVMe function out of its reach");
	return ctx;
}

static struct p2pdma_stats dmabuf_stats(struct dmabuf_ctx *ctx)
{
	struct p2pdma_stats sum;

	/* Pinned: the case registered the memory, as its driver would. */
	p2pdma_stats_sum(p2pdma_of_pinned(ctx->pdev), &sum);
	return sum;
}

static s64 dmabuf_held(struct dmabuf_ctx *ctx)
{
	struct p2pdma_stats st = dmabuf_stats(ctx);

	return st.dmabuf_bytes_taken - st.dmabuf_bytes_returned;
}

static size_t dmabuf_avail(struct dmabuf_ctx *ctx)
{
	/* Pinned: the case registered the memory, as its driver would. */
	return p2pdma_mem_avail(p2pdma_of_pinned(ctx->pdev));
}

/*
 * The last reference to a dma-buf is its file's: from a kthread, as KUnit
 * runs, the release is deferred.  Make it happen now.
 */
static void dmabuf_put_now(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	flush_delayed_fput();
}

static struct dma_buf_attachment *
dmabuf_attach(struct dma_buf *dmabuf, struct pci_dev *importer,
	      const struct dma_buf_attach_ops *ops, struct dmabuf_importer *imp)
{
	struct dma_buf_attachment *attach;

	attach = dma_buf_dynamic_attach(dmabuf, &importer->dev, ops, imp);
	if (!IS_ERR(attach))
		imp->attach = attach;
	return attach;
}

/* Map, as an importer does: under the reservation lock. */
static struct sg_table *dmabuf_map(struct dmabuf_importer *imp)
{
	struct sg_table *sgt;

	dma_resv_lock(imp->attach->dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(imp->attach, DMA_BIDIRECTIONAL);
	if (!IS_ERR(sgt))
		imp->sgt = sgt;
	dma_resv_unlock(imp->attach->dmabuf->resv);
	return sgt;
}

static void dmabuf_unmap(struct dmabuf_importer *imp)
{
	dma_resv_lock(imp->attach->dmabuf->resv, NULL);
	dmabuf_importer_unmap(imp);
	dma_resv_unlock(imp->attach->dmabuf->resv);
}

/*
 * Expect @sgt to map each piece of @buf, in order, at its CPU physical
 * address plus @offset.  Return: the bytes it maps.
 */
static size_t dmabuf_expect_pieces(struct kunit *test,
				   struct p2pdma_dmabuf *buf,
				   struct sg_table *sgt, u64 offset)
{
	struct scatterlist *sg;
	size_t mapped = 0;
	int i;

	KUNIT_EXPECT_EQ(test, sgt->nents, buf->nr_pieces);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (i >= buf->nr_pieces)
			break;
		KUNIT_EXPECT_EQ(test, sg_dma_address(sg),
				(dma_addr_t)(buf->pieces[i].paddr + offset));
		KUNIT_EXPECT_EQ(test, (size_t)sg_dma_len(sg),
				buf->pieces[i].len);
		mapped += sg_dma_len(sg);
	}
	return mapped;
}

/* At their bus addresses, for an importer below the switch. */
static size_t dmabuf_expect_bus_pieces(struct kunit *test,
				       struct dmabuf_ctx *ctx,
				       struct p2pdma_dmabuf *buf,
				       struct sg_table *sgt)
{
	resource_size_t bar_phys = pci_resource_start(ctx->pdev, DMABUF_TEST_BAR);
	pci_bus_addr_t bar_bus = pci_bus_address(ctx->pdev, DMABUF_TEST_BAR);

	return dmabuf_expect_pieces(test, buf, sgt, bar_bus - bar_phys);
}

/*
 * Through the importer's IOMMU: the entries are IOVAs, so what each page
 * of them translates to in the importer's domain is compared with the
 * pieces, page by page.
 */
static size_t dmabuf_expect_iova_pieces(struct kunit *test, struct device *dev,
					struct p2pdma_dmabuf *buf,
					struct sg_table *sgt)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	size_t mapped = 0, in_piece = 0, off;
	unsigned int piece = 0;
	struct scatterlist *sg;
	int i;

	KUNIT_EXPECT_NOT_NULL(test, domain);
	if (!domain)
		return 0;
	for_each_sgtable_dma_sg(sgt, sg, i) {
		for (off = 0; off < sg_dma_len(sg) && piece < buf->nr_pieces;
		     off += PAGE_SIZE) {
			KUNIT_EXPECT_EQ(test,
					iommu_iova_to_phys(domain,
							   sg_dma_address(sg) + off),
					buf->pieces[piece].paddr + in_piece);
			in_piece += PAGE_SIZE;
			if (in_piece == buf->pieces[piece].len) {
				piece++;
				in_piece = 0;
			}
		}
		mapped += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, piece, buf->nr_pieces);
	return mapped;
}

static void dmabuf_test_refusals(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct dmabuf_importer imp = {}, other = {};
	struct dma_buf *dmabuf;

	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_p2pmem_export_dmabuf(ctx->pdev, 0,
							       O_RDWR)),
			-EINVAL);
	/* More than the provider has. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_p2pmem_export_dmabuf(ctx->pdev, SZ_32M,
							       O_RDWR)),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	/* A device without p2pmem: in the default topology, NVMe C. */
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(ctx->far));
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_p2pmem_export_dmabuf(ctx->far, SZ_4K,
							       O_RDWR)),
			-ENODEV);

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_64K, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf->size, (size_t)SZ_64K);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M - SZ_64K);

	KUNIT_EXPECT_EQ(test, PTR_ERR(dmabuf_attach(dmabuf, ctx->far,
						    &dmabuf_importer_ops,
						    &imp)),
			-EREMOTEIO);
	KUNIT_EXPECT_EQ(test, PTR_ERR(dmabuf_attach(dmabuf, ctx->near,
						    &dmabuf_pages_importer_ops,
						    &imp)),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, PTR_ERR(dmabuf_attach(dmabuf, ctx->near,
						    &dmabuf_pinned_importer_ops,
						    &imp)),
			-EOPNOTSUPP);
	/* A static attachment: neither peer memory nor revocable. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(dma_buf_attach(dmabuf, &ctx->near->dev)),
			-EOPNOTSUPP);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->near,
							 &dmabuf_importer_ops,
							 &other));
	if (other.attach)
		dma_buf_detach(dmabuf, other.attach);

	dmabuf_put_now(dmabuf);
	/* The last reference: the memory is back at once. */
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);

	/* Withdrawn: nothing more to export. */
	pci_p2pmem_publish(ctx->pdev, false);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pci_p2pmem_export_dmabuf(ctx->pdev, SZ_4K,
							       O_RDWR)),
			-ENODEV);
}

/*
 * A bus-address importer gets the BAR's bus addresses, and reads zeros
 * where another user left data in the pages before.
 */
static void dmabuf_test_map_bus(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct dmabuf_importer imp = {};
	struct p2pdma_stats before;
	struct p2pdma_dmabuf *buf;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	void *dirty, *piece;
	int i;

	/* Data in every page for the export to find, unless it clears it. */
	dirty = pci_p2pmem_alloc(ctx->pdev, SZ_16M);
	KUNIT_ASSERT_NOT_NULL(test, dirty);
	memset_io((void __iomem __force *)dirty, 0xa5, SZ_16M);
	pci_p2pmem_free(ctx->pdev, dirty, SZ_16M);

	before = dmabuf_stats(ctx);
	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_2M, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf_stats(ctx).dmabuf_exports,
			before.dmabuf_exports + 1);
	KUNIT_EXPECT_EQ(test, dmabuf_held(ctx), (s64)SZ_2M);
	buf = dmabuf->priv;
	for (i = 0; i < buf->nr_pieces; i++) {
		piece = phys_to_virt(buf->pieces[i].paddr);
		KUNIT_EXPECT_TRUE(test, mem_is_zero(piece, buf->pieces[i].len));
	}

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->near,
							 &dmabuf_importer_ops,
							 &imp));
	sgt = dmabuf_map(&imp);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, sgt);
	if (!IS_ERR_OR_NULL(sgt)) {
		KUNIT_EXPECT_EQ(test, dmabuf_expect_bus_pieces(test, ctx, buf,
							       sgt),
				(size_t)SZ_2M);
		/* Counted on the importer's path, as a kernel mapping is. */
		if (p2pdma_accounting_on())
			KUNIT_EXPECT_EQ(test, dmabuf_stats(ctx).dma_mapped_bytes,
					before.dma_mapped_bytes + SZ_2M);
		dmabuf_unmap(&imp);
	}
	dma_buf_detach(dmabuf, imp.attach);
	dmabuf_put_now(dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	KUNIT_EXPECT_EQ(test, dmabuf_held(ctx), 0);
}

static int dmabuf_cmp_addr(const void *a, const void *b)
{
	unsigned long x = (unsigned long)*(void * const *)a;
	unsigned long y = (unsigned long)*(void * const *)b;

	return x < y ? -1 : x > y;
}

/*
 * An export a fragmented pool serves in pieces: the provider's memory all
 * allocated in 64 KiB blocks, the lowest and the third lowest given back,
 * a 128 KiB export takes both holes, and an importer maps each piece at
 * its own bus address.  The clearer is held off, so that it has no page
 * on loan to give back meanwhile.
 */
static void dmabuf_test_map_pieces(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct pci_p2pdma *p2p = p2pdma_of_pinned(ctx->pdev);
	enum { N = SZ_16M / SZ_64K };
	struct dmabuf_importer imp = {};
	phys_addr_t holes[2];
	struct p2pdma_dmabuf *buf;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	void **held;
	int n, i;

	held = kunit_kcalloc(test, N, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);
	p2pdma_clear_hold(p2p);
	for (n = 0; n < N; n++) {
		held[n] = pci_p2pmem_alloc(ctx->pdev, SZ_64K);
		if (!held[n])
			break;
	}
	KUNIT_EXPECT_EQ(test, n, N);
	if (n < 3)
		goto out;
	sort(held, n, sizeof(*held), dmabuf_cmp_addr, NULL);
	holes[0] = virt_to_phys(held[0]);
	holes[1] = virt_to_phys(held[2]);
	pci_p2pmem_free(ctx->pdev, held[0], SZ_64K);
	pci_p2pmem_free(ctx->pdev, held[2], SZ_64K);
	held[0] = NULL;
	held[2] = NULL;

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_128K, O_RDWR);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dmabuf);
	if (IS_ERR_OR_NULL(dmabuf))
		goto out;
	buf = dmabuf->priv;
	KUNIT_EXPECT_EQ(test, buf->nr_pieces, 2);
	/* The holes, in the order the pool gave them. */
	for (i = 0; i < min(buf->nr_pieces, 2U); i++) {
		phys_addr_t at = buf->pieces[i].paddr;

		KUNIT_EXPECT_EQ(test, buf->pieces[i].len, (size_t)SZ_64K);
		KUNIT_EXPECT_TRUE(test, at == holes[0] || at == holes[1]);
	}
	if (buf->nr_pieces == 2)
		KUNIT_EXPECT_NE(test, buf->pieces[0].paddr,
				buf->pieces[1].paddr);

	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->near,
							 &dmabuf_importer_ops,
							 &imp));
	sgt = imp.attach ? dmabuf_map(&imp) : NULL;
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, sgt);
	if (!IS_ERR_OR_NULL(sgt)) {
		KUNIT_EXPECT_EQ(test, dmabuf_expect_bus_pieces(test, ctx, buf,
							       sgt),
				(size_t)SZ_128K);
		dmabuf_unmap(&imp);
	}
	if (imp.attach)
		dma_buf_detach(dmabuf, imp.attach);
	dmabuf_put_now(dmabuf);
out:
	for (i = 0; i < n; i++)
		if (held[i])
			pci_p2pmem_free(ctx->pdev, held[i], SZ_64K);
	p2pdma_clear_release(p2p);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
}

static void dmabuf_host_bridges_reset(void *unused)
{
	p2pdma_host_bridges_test_set("");
}

/*
 * Through a root complex vouched for, the other map type: an importer on
 * another root port gets CPU physical addresses, or, behind an IOMMU (the
 * IOMMU guest runs this case alone), IOVAs that translate to them; and an
 * importer that maps into an IOMMU itself gets the pieces, counted only
 * when it has room for them all.
 */
static void dmabuf_test_map_host_bridge(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx_far(test);
	struct pci_host_bridge *host = pci_find_host_bridge(ctx->pdev->bus);
	struct dmabuf_importer imp = {}, iommu = {};
	struct phys_vec *ranges;
	struct dma_buf_attachment *attach;
	struct p2pdma_stats before;
	struct p2pdma_dmabuf *buf;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct pci_dev *hb;
	struct device *dev;
	char id[16];
	bool behind_iommu = device_iommu_mapped(&ctx->far->dev);
	size_t mapped;
	int ret, i;

	hb = list_first_entry(&host->bus->devices, struct pci_dev, bus_list);
	snprintf(id, sizeof(id), "%04x:%04x", hb->vendor, hb->device);
	ret = kunit_add_action_or_reset(test, dmabuf_host_bridges_reset, NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_EQ(test, p2pdma_host_bridges_test_set(id), 0);
	dev = kunit_device_register(test, "p2pdma-iommu-importer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	ranges = kunit_kcalloc(test, P2PDMA_DMABUF_MAX_PIECES, sizeof(*ranges),
			       GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ranges);

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_64K, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	buf = dmabuf->priv;
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->far,
							 &dmabuf_importer_ops,
							 &imp));
	sgt = imp.attach ? dmabuf_map(&imp) : NULL;
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, sgt);
	if (!IS_ERR_OR_NULL(sgt)) {
		if (behind_iommu)
			mapped = dmabuf_expect_iova_pieces(test, &ctx->far->dev,
							   buf, sgt);
		else	/* dma-direct: the CPU physical addresses. */
			mapped = dmabuf_expect_pieces(test, buf, sgt, 0);
		KUNIT_EXPECT_EQ(test, mapped, (size_t)SZ_64K);
		dmabuf_unmap(&imp);
	}

	attach = dma_buf_dynamic_attach(dmabuf, dev, &dmabuf_importer_ops,
					&iommu);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, attach);
	if (!IS_ERR_OR_NULL(attach)) {
		iommu.attach = attach;
		before = dmabuf_stats(ctx);
		dma_resv_lock(dmabuf->resv, NULL);
		/* No room: how many, and nothing counted. */
		ret = dma_buf_phys_ranges(attach, NULL, 0);
		KUNIT_EXPECT_EQ(test, ret, (int)buf->nr_pieces);
		KUNIT_EXPECT_EQ(test, dmabuf_stats(ctx).dma_mapped_bytes,
				before.dma_mapped_bytes);
		ret = dma_buf_phys_ranges(attach, ranges,
					  P2PDMA_DMABUF_MAX_PIECES);
		dma_resv_unlock(dmabuf->resv);
		KUNIT_EXPECT_EQ(test, ret, (int)buf->nr_pieces);
		for (i = 0; i < min_t(int, ret, buf->nr_pieces); i++) {
			KUNIT_EXPECT_EQ(test, ranges[i].paddr,
					buf->pieces[i].paddr);
			KUNIT_EXPECT_EQ(test, ranges[i].len, buf->pieces[i].len);
		}
		if (p2pdma_accounting_on())
			KUNIT_EXPECT_EQ(test, dmabuf_stats(ctx).dma_mapped_bytes,
					before.dma_mapped_bytes + SZ_64K);
		dma_buf_detach(dmabuf, attach);
	}
	if (imp.attach)
		dma_buf_detach(dmabuf, imp.attach);
	dmabuf_put_now(dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
}

/*
 * An importer that maps the memory into an IOMMU itself (iommufd) is no
 * PCI function: it attaches, maps no scatterlist, and asks for physical
 * ranges, which only a root complex that routes P2P carries, verified by
 * a probe under the strict policy.  Refused here, where no probe ran,
 * until the export is revoked.  topology-test.h has the rules in full.
 */
static void dmabuf_test_phys_ranges(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct dmabuf_importer imp = {};
	struct phys_vec ranges[2] = {};
	struct p2pdma_stats before;
	struct p2pdma_path path;
	struct dma_buf_attachment *attach;
	struct pci_host_bridge *host;
	struct dma_buf *dmabuf;
	struct pci_dev *hb;
	struct device *dev;
	int ret;

	dev = kunit_device_register(test, "p2pdma-iommu-importer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	/*
	 * Refused on any host, even one whose CPU vouches for its root
	 * complex (AMD): no probe verified it.  The policy goes with the
	 * provider's state at exit; pinned, as the case registered it.
	 */
	ret = p2pdma_verdict_set_policy(p2pdma_of_pinned(ctx->pdev),
					P2PDMA_POLICY_STRICT);
	KUNIT_ASSERT_EQ(test, ret, 0);
	p2pdma_path_via_iommu(ctx->pdev, &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_NOT_SUPPORTED);
	/* By the rule (q35), the root complex's first function is named. */
	host = pci_find_host_bridge(ctx->pdev->bus);
	hb = list_first_entry(&host->bus->devices, struct pci_dev, bus_list);
	KUNIT_EXPECT_TRUE(test, !path.where || path.where == hb);

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_64K, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	attach = dma_buf_dynamic_attach(dmabuf, dev, &dmabuf_importer_ops,
					&imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, attach);
	imp.attach = attach;
	/* No device to map a scatterlist for. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(dmabuf_map(&imp)), -EREMOTEIO);

	before = dmabuf_stats(ctx);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_phys_ranges(attach, ranges, ARRAY_SIZE(ranges));
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, ret, -EREMOTEIO);
	KUNIT_EXPECT_EQ(test, ranges[0].len, 0);
	KUNIT_EXPECT_EQ(test, dmabuf_stats(ctx).dma_mapped_bytes,
			before.dma_mapped_bytes);

	pci_p2pmem_publish(ctx->pdev, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&imp.invalidated), 1);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_phys_ranges(attach, ranges, ARRAY_SIZE(ranges));
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, ret, -ENODEV);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	dma_buf_detach(dmabuf, attach);
	dmabuf_put_now(dmabuf);
}

#if IS_BUILTIN(CONFIG_INFINIBAND) && IS_ENABLED(CONFIG_INFINIBAND_USER_MEM)
/* A dynamic RDMA importer (mlx5's kind): unmaps when told. */
static void dmabuf_rdma_invalidate(struct dma_buf_attachment *attach)
{
	ib_umem_dmabuf_unmap_pages(attach->importer_priv);
}

static const struct dma_buf_attach_ops dmabuf_rdma_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = dmabuf_rdma_invalidate,
};

/*
 * What ibv_reg_dmabuf_mr() does with a p2pmem dma-buf, through RDMA's own
 * umem code, for an RDMA device at NVMe B's place (no RDMA device here
 * imports dma-bufs: rxe has no dma-buf MRs).  Dynamic importers and
 * pinned ones that can be revoked are taken, with the bus addresses of
 * the MR's span; pinned ones that cannot are refused.  A withdrawal
 * revokes the MR and gives the memory back while the MR still exists.
 */
static void dmabuf_test_rdma_contract(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	pci_bus_addr_t bar_bus = pci_bus_address(ctx->pdev, DMABUF_TEST_BAR);
	resource_size_t bar_phys = pci_resource_start(ctx->pdev,
						      DMABUF_TEST_BAR);
	int access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
	struct ib_umem_dmabuf *dyn, *pinned;
	struct p2pdma_dmabuf *buf;
	struct dma_buf *dmabuf;
	struct ib_device *ibdev;
	struct scatterlist *sg;
	size_t len = 0;
	int fd, i, ret;

	ibdev = kunit_kzalloc(test, sizeof(*ibdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ibdev);
	ibdev->dma_device = &ctx->near->dev;
	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_64K, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	buf = dmabuf->priv;
	/* The fd takes the reference; each umem takes its own. */
	fd = dma_buf_fd(dmabuf, O_CLOEXEC);
	if (fd < 0) {
		dmabuf_put_now(dmabuf);
		KUNIT_FAIL(test, "no fd: %d", fd);
		return;
	}

	pinned = ib_umem_dmabuf_get_pinned(ibdev, 0, SZ_64K, fd, access);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pinned), -EOPNOTSUPP);

	dyn = ib_umem_dmabuf_get(ibdev, 0, SZ_64K, fd, access,
				 &dmabuf_rdma_ops);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dyn);
	if (!IS_ERR_OR_NULL(dyn)) {
		dma_resv_lock(dmabuf->resv, NULL);
		KUNIT_EXPECT_EQ(test, ib_umem_dmabuf_map_pages(dyn), 0);
		dma_resv_unlock(dmabuf->resv);
	}

	/* An MR of 8 KiB from offset 4 KiB: its span, at bus addresses. */
	pinned = ib_umem_dmabuf_get_pinned_revocable_and_lock(ibdev, SZ_4K,
							      SZ_8K, fd,
							      access);
	close_fd(fd);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pinned);
	for_each_sgtable_dma_sg(&pinned->umem.sgt_append.sgt, sg, i) {
		if (!i)
			KUNIT_EXPECT_EQ(test, sg_dma_address(sg),
					bar_bus + buf->pieces[0].paddr -
					bar_phys + SZ_4K);
		len += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, len, (size_t)SZ_8K);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M - SZ_64K);

	/* Withdrawn: both MRs let go, and the memory is back at once. */
	pci_p2pmem_publish(ctx->pdev, false);
	KUNIT_EXPECT_TRUE(test, pinned->revoked);
	KUNIT_EXPECT_NULL(test, pinned->sgt);
	if (!IS_ERR_OR_NULL(dyn))
		KUNIT_EXPECT_NULL(test, dyn->sgt);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = IS_ERR_OR_NULL(dyn) ? -ENODEV : ib_umem_dmabuf_map_pages(dyn);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, ret, -ENODEV);

	ib_umem_dmabuf_release(pinned);
	if (!IS_ERR_OR_NULL(dyn))
		ib_umem_release(&dyn->umem);
	flush_delayed_fput();
}
#else
static void dmabuf_test_rdma_contract(struct kunit *test)
{
	kunit_skip(test, "needs RDMA's umem built in");
}
#endif

/* Freed by whichever of the case and the thread is done last. */
struct dmabuf_withdraw {
	struct pci_dev *pdev;
	struct completion done;
	refcount_t users;
};

static void dmabuf_withdraw_put(struct dmabuf_withdraw *w)
{
	if (refcount_dec_and_test(&w->users))
		kfree(w);
}

static int dmabuf_withdraw_fn(void *data)
{
	struct dmabuf_withdraw *w = data;

	pci_p2pmem_publish(w->pdev, false);
	complete(&w->done);
	dmabuf_withdraw_put(w);
	return 0;
}

/*
 * Withdrawing the provider while an importer holds a mapping: the importer
 * is told, the withdrawal waits until it unmaps, and only then does the
 * memory come back, though the dma-buf itself is still referenced.
 */
static void dmabuf_test_revoke_mapped(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct dmabuf_importer imp = {};
	struct dmabuf_withdraw *w;
	struct dma_buf_attachment *late;
	struct task_struct *task;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	int ms;

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_1M, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->near,
							 &dmabuf_importer_ops,
							 &imp));
	sgt = dmabuf_map(&imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M - SZ_1M);

	/* The importer unmaps whatever happens: the thread may then end. */
	w = kzalloc_obj(*w);
	KUNIT_ASSERT_NOT_NULL(test, w);
	w->pdev = ctx->pdev;
	init_completion(&w->done);
	refcount_set(&w->users, 2);
	task = kthread_run(dmabuf_withdraw_fn, w, "p2pdma-kunit-withdraw");
	if (IS_ERR(task)) {
		kfree(w);
		dmabuf_unmap(&imp);
		KUNIT_FAIL(test, "no thread: %ld", PTR_ERR(task));
		return;
	}
	/* The race reached: the importer was told while it is mapped. */
	for (ms = 0; ms < 10000 && !atomic_read(&imp.invalidated); ms += 20)
		msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&imp.invalidated), 1);
	msleep(200);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M - SZ_1M);

	/* Letting go lets the withdrawal finish, and gives the memory back. */
	dmabuf_unmap(&imp);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&w->done, 30 * HZ), 0);
	dmabuf_withdraw_put(w);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	KUNIT_EXPECT_EQ(test, dmabuf_held(ctx), 0);

	/* Revoked: no new mapping, no new importer. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(dmabuf_map(&imp)), -ENODEV);
	late = dma_buf_dynamic_attach(dmabuf, &ctx->near->dev,
				      &dmabuf_importer_ops, &imp);
	KUNIT_EXPECT_EQ(test, PTR_ERR(late), -ENODEV);
	if (!IS_ERR(late))
		dma_buf_detach(dmabuf, late);
	dma_buf_detach(dmabuf, imp.attach);
	dmabuf_put_now(dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
}

/* An importer that unmaps when told lets the withdrawal through at once. */
static void dmabuf_test_revoke_cooperative(struct kunit *test)
{
	struct dmabuf_ctx *ctx = dmabuf_ctx(test);
	struct dmabuf_importer imp = { .unmap_when_told = true };
	struct dma_buf *dmabuf;

	dmabuf = pci_p2pmem_export_dmabuf(ctx->pdev, SZ_64K, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf_attach(dmabuf, ctx->near,
							 &dmabuf_importer_ops,
							 &imp));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf_map(&imp));
	pci_p2pmem_publish(ctx->pdev, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&imp.invalidated), 1);
	KUNIT_EXPECT_NULL(test, imp.sgt);
	KUNIT_EXPECT_EQ(test, dmabuf_avail(ctx), (size_t)SZ_16M);
	dma_buf_detach(dmabuf, imp.attach);
	dmabuf_put_now(dmabuf);
}

static struct kunit_case dmabuf_test_cases[] = {
	KUNIT_CASE(dmabuf_test_refusals),
	KUNIT_CASE(dmabuf_test_map_bus),
	KUNIT_CASE(dmabuf_test_revoke_mapped),
	KUNIT_CASE(dmabuf_test_revoke_cooperative),
	KUNIT_CASE(dmabuf_test_map_pieces),
	KUNIT_CASE(dmabuf_test_map_host_bridge),
	KUNIT_CASE(dmabuf_test_phys_ranges),
	KUNIT_CASE(dmabuf_test_rdma_contract),
	{}
};

static struct kunit_suite dmabuf_test_suite = {
	.name = "p2pdma_dmabuf",
	.init = dmabuf_test_init,
	.exit = dmabuf_test_exit,
	.test_cases = dmabuf_test_cases,
};

kunit_test_suite(dmabuf_test_suite);

#endif /* _DRIVERS_PCI_P2PDMA_DMABUF_TEST_H */
