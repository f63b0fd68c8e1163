/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the PCI P2PDMA core, shared by the files of
 * drivers/pci/p2pdma/ and their KUnit tests.  Nothing here is for drivers.
 */
#ifndef _DRIVERS_PCI_P2PDMA_P2PDMA_H
#define _DRIVERS_PCI_P2PDMA_P2PDMA_H

#include <linux/dma-map-ops.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/pci.h>
#include <linux/xarray.h>

/*
 * Per-provider state, hung off pdev->p2pdma (RCU) by the first
 * pci_p2pdma_add_resource() and freed by devres when the driver goes.
 */
struct pci_p2pdma {
	struct pci_dev *pdev;
	struct gen_pool *pool;
	/* Cached path to each client, see p2pdma_path_cached(). */
	struct xarray paths;
	/* Entry in p2pdma_providers while published, under p2pdma_lock. */
	struct list_head published_node;
	bool published;
	/* Root complex routes P2P between root ports (sampled at set-up). */
	bool rc_routes;
};

/*
 * One registered BAR range.  The pgmap is what a page points to, so this is
 * how the DMA-mapping code gets from a page back to its provider and to the
 * offset between CPU physical and PCI bus addresses.
 */
struct p2pdma_range {
	struct dev_pagemap pgmap;
	struct pci_dev *provider;
	u64 bus_offset;
};

static inline struct p2pdma_range *to_p2pdma_range(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct p2pdma_range, pgmap);
}

/**
 * struct p2pdma_path - how DMA between a provider and a client would travel
 * @map: PCI_P2PDMA_MAP_BUS_ADDR, _THRU_HOST_BRIDGE or _NOT_SUPPORTED
 * @distance: hop count of the path, -1 when @map is _NOT_SUPPORTED
 * @reason: why the path is refused, or NULL when it is not
 * @where: the device that made it refused, when it is one device's doing
 */
struct p2pdma_path {
	enum pci_p2pdma_map_type map;
	int distance;
	const char *reason;
	struct pci_dev *where;
};

/* topology.c */
struct pci_dev *p2pdma_pci_dev_of(struct device *dev);
void p2pdma_path_calc(struct pci_dev *provider, struct pci_dev *client,
		      struct p2pdma_path *path);
void p2pdma_path_calc_rc(struct pci_dev *provider, struct pci_dev *client,
			 bool rc_routes, struct p2pdma_path *path);
bool p2pdma_root_complex_routes_p2p(struct pci_dev *pdev);
enum pci_p2pdma_map_type p2pdma_path_cached(struct pci_p2pdma *p2p,
					    struct pci_dev *client,
					    int *distance);
bool p2pdma_host_bridge_whitelisted(u16 vendor, u16 device);
const char *p2pdma_map_name(enum pci_p2pdma_map_type map);

/* client.c */
int p2pdma_refusal_text(char *buf, size_t size, struct device *client,
			const struct p2pdma_path *path);

/* core.c */
extern struct mutex p2pdma_lock;
extern struct list_head p2pdma_providers;
size_t p2pdma_pool_size(struct pci_p2pdma *p2p);
size_t p2pdma_pool_avail(struct pci_p2pdma *p2p);

/* sysfs.c */
extern const struct attribute_group p2pmem_group;

#endif /* _DRIVERS_PCI_P2PDMA_P2PDMA_H */
