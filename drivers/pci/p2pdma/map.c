// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA mapping: what dma-direct and dma-iommu ask when a scatterlist
 * segment is p2pmem.
 *
 * They ask pci_p2pdma_map_segment(), inline in <linux/dma-map-ops.h>: a
 * segment whose provider and DMA device meet below a switch is given its
 * PCI bus address and flagged so that unmapping leaves it alone; a
 * segment whose path crosses an allowed host bridge is left to the normal
 * mapping code (CPU physical address or IOVA).  The per-pair answer comes
 * from the provider's path cache, looked up here once per run of one
 * provider's segments and kept in the caller's map state.
 */
#include <linux/pci-p2pdma.h>

#include "p2pdma.h"

/**
 * pci_p2pdma_map_provider - prepare a map state for another provider's pages
 * @state: map state of the mapping call
 * @dev: device the scatterlist is mapped for
 * @pgmap: page map of the segment that starts the provider's run
 *
 * The slow path of pci_p2pdma_map_segment(), which is inline in
 * <linux/dma-map-ops.h> so that the segments after a provider's first
 * cost the mapping loop no call.  It counts what @state collected for the
 * provider before, then finds how @dev reaches the new one, in its path
 * cache.
 */
void pci_p2pdma_map_provider(struct pci_p2pdma_map_state *state,
			     struct device *dev, struct dev_pagemap *pgmap)
{
	/*
	 * The segment's page is allocated, which pins its range and provider
	 * state for as long as the mapping call runs.
	 */
	struct p2pdma_range *range = to_p2pdma_range(pgmap);

	/* The bytes of the provider before, as if the call worked. */
	pci_p2pdma_map_done(state);
	state->pgmap = pgmap;
	state->map = dev_is_pci(dev) ?
		     p2pdma_path_cached(range->p2p, to_pci_dev(dev), NULL) :
		     PCI_P2PDMA_MAP_NOT_SUPPORTED;
	state->bus_off = range->bus_offset;
	state->mapped_bytes = &range->p2p->stats->dma_mapped_bytes;
	/* The caller fails with EREMOTEIO: say why, once per call. */
	if (state->map == PCI_P2PDMA_MAP_NOT_SUPPORTED)
		p2pdma_explain_refusal(range->provider, dev);
}
