// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA mapping: how a device reaches a provider, asked by every
 * DMA-mapping path (dma-direct, dma-iommu, the block layer's request
 * mapping, hmm, dma-buf exporters).
 *
 * Page-backed p2pmem is looked up through pci_p2pdma_state(), inline in
 * <linux/pci-p2pdma.h>: a mapping loop pays for a lookup only when a page
 * of another provider comes, in __pci_p2pdma_update_state().  BARs without
 * pages ask pci_p2pdma_map_type() with their provider directly.  Both end
 * in the provider's path cache (paths.h), so a pair is worked out once
 * whichever way it is asked.
 */
#define pr_fmt(fmt) "p2pdma: " fmt

#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>

#include "p2pdma.h"
#include "paths.h"

/* The tracepoints are defined here; their callers include trace.h. */
#define CREATE_TRACE_POINTS
#include "trace.h"

/*
 * Inline in both callers: the mapping path's lookup costs as many calls
 * as the xarray's own, and no more.
 */
static __always_inline enum pci_p2pdma_map_type
p2pdma_map_type(struct p2pdma_provider *provider, struct device *dev)
{
	enum pci_p2pdma_map_type map = PCI_P2PDMA_MAP_NOT_SUPPORTED;
	struct pci_dev *pdev = to_pci_dev(provider->owner);
	struct pci_p2pdma *p2p;
	bool known;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	known = p2p;
	if (p2p && dev_is_pci(dev))
		map = p2pdma_path_cached(p2p, to_pci_dev(dev), NULL);
	rcu_read_unlock();
	/* The caller fails the mapping: say why, unless the BAR is going. */
	if (unlikely(known && map == PCI_P2PDMA_MAP_NOT_SUPPORTED))
		p2pdma_explain_refusal(pdev, dev);
	return map;
}

/**
 * pci_p2pdma_map_type - how a device reaches a provider's BAR
 * @provider: the provider, from pcim_p2pdma_provider() or a p2pmem page
 * @dev: device that will DMA to or from the BAR
 *
 * The caller keeps @provider valid: it is the provider's driver, or it
 * holds p2pmem of it.  A refused pair is logged with its reason, at most
 * a few lines every five seconds per provider.  Does not sleep.
 *
 * Return: PCI_P2PDMA_MAP_BUS_ADDR, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, or
 * PCI_P2PDMA_MAP_NOT_SUPPORTED (always for a @dev that is not PCI).
 */
enum pci_p2pdma_map_type pci_p2pdma_map_type(struct p2pdma_provider *provider,
					     struct device *dev)
{
	return p2pdma_map_type(provider, dev);
}
EXPORT_SYMBOL_GPL(pci_p2pdma_map_type);

/**
 * __pci_p2pdma_update_state - the slow path of pci_p2pdma_state()
 * @state: the mapping call's state
 * @dev: device the mapping is for
 * @page: a p2pmem page, allocated, which keeps its provider alive
 *
 * Called by pci_p2pdma_state() for a page whose provider is not the one in
 * @state; drivers call pci_p2pdma_state() instead.
 */
void __pci_p2pdma_update_state(struct pci_p2pdma_map_state *state,
			       struct device *dev, struct page *page)
{
	struct p2pdma_range *range = to_p2pdma_range(page_pgmap(page));
	struct p2pdma_provider *mem = range->pagemap.mem;

	/*
	 * The call may still fail: count nothing before it is done, when
	 * pci_p2pdma_map_sg_done() sorts the bytes out by provider.
	 */
	if (state->bytes)
		state->mixed = true;
	state->mem = mem;
	state->dev = dev;
	state->map = p2pdma_map_type(mem, dev);
}
EXPORT_SYMBOL_GPL(__pci_p2pdma_update_state);

/* How @dev reaches @mem, for a mapping that worked. */
static enum pci_p2pdma_map_type p2pdma_map_of(struct p2pdma_provider *mem,
					      struct device *dev)
{
	if (!dev_is_pci(dev))
		return PCI_P2PDMA_MAP_UNKNOWN;
	return p2pdma_path_cached(p2pdma_of_pinned(to_pci_dev(mem->owner)),
				  to_pci_dev(dev), NULL);
}

/* Ends a run of one provider's entries: counts a mapping, traces an unmap. */
static void p2pdma_sg_run_done(struct pci_p2pdma_map_state *run, bool unmap)
{
	if (!unmap) {
		pci_p2pdma_map_done(run);
		return;
	}
	if (run->bytes)
		trace_p2pdma_unmap(to_pci_dev(run->mem->owner),
				   dev_name(run->dev), run->map, run->bytes,
				   NULL);
	run->bytes = 0;
}

/*
 * Hands each run of one provider's entries of @sgl, with its bytes, to
 * p2pdma_sg_run_done().  The pages are allocated, which keeps their
 * providers' state alive.
 */
static void p2pdma_sg_runs(struct device *dev, struct scatterlist *sgl,
			   int nents, bool unmap)
{
	struct pci_p2pdma_map_state run = { .dev = dev };
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		struct page *page = sg_page(sg);
		struct p2pdma_provider *mem;

		if (!is_pci_p2pdma_page(page))
			continue;
		mem = to_p2pdma_range(page_pgmap(page))->pagemap.mem;
		if (mem != run.mem) {
			p2pdma_sg_run_done(&run, unmap);
			run.mem = mem;
			run.map = p2pdma_map_of(mem, dev);
		}
		run.bytes += sg->length;
	}
	p2pdma_sg_run_done(&run, unmap);
}

/**
 * __pci_p2pdma_map_count_sg - the slow path of pci_p2pdma_map_sg_done()
 * @dev: the device the call mapped @sgl for
 * @sgl: a scatterlist a mapping call mapped, with pages of several providers
 * @nents: entries of @sgl the call mapped
 *
 * Counts the bytes of each provider's entries on its path, one count per
 * run of entries of one provider.
 */
void __pci_p2pdma_map_count_sg(struct device *dev, struct scatterlist *sgl,
			       int nents)
{
	p2pdma_sg_runs(dev, sgl, nents, false);
}
EXPORT_SYMBOL_GPL(__pci_p2pdma_map_count_sg);

/*
 * The p2pdma_unmap tracepoint's callers walk what they unmap only while
 * somebody listens: unmapping is otherwise nothing to the P2PDMA core, and
 * a walk of every scatterlist unmapped would cost everyone.  The tracepoint
 * turns the key on with its first probe and off with its last.
 */
DEFINE_STATIC_KEY_FALSE(pci_p2pdma_unmap_traced);
EXPORT_SYMBOL_GPL(pci_p2pdma_unmap_traced);

int p2pdma_unmap_trace_reg(void)
{
	static_branch_inc(&pci_p2pdma_unmap_traced);
	return 0;
}

void p2pdma_unmap_trace_unreg(void)
{
	static_branch_dec(&pci_p2pdma_unmap_traced);
}

/**
 * __pci_p2pdma_note_unmap_sg - the slow path of pci_p2pdma_note_unmap_sg()
 * @dev: the device @sgl was mapped for
 * @sgl: the scatterlist being unmapped, its pages still allocated
 * @nents: entries of @sgl, as passed to the unmapping call
 *
 * Traces one p2pdma_unmap event per run of entries of one provider.
 */
void __pci_p2pdma_note_unmap_sg(struct device *dev, struct scatterlist *sgl,
				int nents)
{
	p2pdma_sg_runs(dev, sgl, nents, true);
}
EXPORT_SYMBOL_GPL(__pci_p2pdma_note_unmap_sg);

/**
 * __pci_p2pdma_note_unmap - the slow path of pci_p2pdma_note_unmap()
 * @dev: the device the memory was mapped for
 * @page: the first page of what is unmapped, still allocated
 * @bytes: bytes unmapped, all of @page's provider
 */
void __pci_p2pdma_note_unmap(struct device *dev, struct page *page,
			     size_t bytes)
{
	struct p2pdma_provider *mem;

	if (!is_pci_p2pdma_page(page))
		return;
	mem = to_p2pdma_range(page_pgmap(page))->pagemap.mem;
	trace_p2pdma_unmap(to_pci_dev(mem->owner), dev_name(dev),
			   p2pdma_map_of(mem, dev), bytes, NULL);
}
EXPORT_SYMBOL_GPL(__pci_p2pdma_note_unmap);
