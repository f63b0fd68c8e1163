// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA mapping: what dma-direct and dma-iommu ask when a scatterlist
 * segment is p2pmem.
 *
 * A segment whose provider and DMA device meet below a switch is given its
 * PCI bus address here and flagged so that unmapping leaves it alone; a
 * segment whose path crosses an allowed host bridge is left to the normal
 * mapping code (CPU physical address or IOVA).  The per-pair answer comes
 * from the provider's path cache, and consecutive segments of one provider
 * reuse it through the caller's map state.
 */
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>

#include "p2pdma.h"

/**
 * pci_p2pdma_map_segment - map one p2pmem scatterlist segment for a device
 * @state: map state, zeroed by the caller before the first segment
 * @dev: device the scatterlist is mapped for
 * @sg: segment whose page is p2pmem
 *
 * For PCI_P2PDMA_MAP_BUS_ADDR the segment's DMA address and length are set
 * and it is marked as a bus address.  For PCI_P2PDMA_MAP_THRU_HOST_BRIDGE
 * the caller maps the segment like system memory; for
 * PCI_P2PDMA_MAP_NOT_SUPPORTED it must fail the mapping.
 *
 * Return: how the segment has to be mapped.
 */
enum pci_p2pdma_map_type
pci_p2pdma_map_segment(struct pci_p2pdma_map_state *state, struct device *dev,
		       struct scatterlist *sg)
{
	struct dev_pagemap *pgmap = sg_page(sg)->pgmap;

	if (state->pgmap != pgmap) {
		/*
		 * The page is allocated, which pins its range and provider
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
	/* Counted by pci_p2pdma_map_done() once the whole call worked. */
	if (state->map != PCI_P2PDMA_MAP_NOT_SUPPORTED)
		state->bytes += sg->length;

	if (state->map == PCI_P2PDMA_MAP_BUS_ADDR) {
		sg->dma_address = sg_phys(sg) + state->bus_off;
		sg_dma_len(sg) = sg->length;
		sg_dma_mark_bus_address(sg);
	}
	return state->map;
}
