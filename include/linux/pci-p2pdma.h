/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI peer-to-peer DMA (P2PDMA): memory in one device's BAR used as a DMA
 * buffer by other devices, so data moves between peers without a trip
 * through system memory.
 *
 * Providers register BAR memory with pci_p2pdma_add_resource() and publish
 * it with pci_p2pmem_publish().  Clients find a provider every one of their
 * DMA masters can reach with pci_p2pmem_find_many(), then allocate from it
 * with pci_p2pmem_alloc() or pci_p2pmem_alloc_sgl().  See
 * Documentation/driver-api/pci/p2pdma.rst.
 */
#ifndef _LINUX_PCI_P2PDMA_H
#define _LINUX_PCI_P2PDMA_H

#include <linux/jump_label.h>
#include <linux/memremap.h>
#include <linux/pci.h>

struct block_device;
struct page;
struct scatterlist;

/**
 * struct p2pdma_provider - one BAR of a device, as a source of P2P DMA
 * @owner: the PCI function whose BAR it is
 * @bus_offset: PCI bus address minus CPU physical address, for the BAR
 *
 * One per memory BAR, owned by the P2PDMA core and valid while the driver
 * that asked for it (pcim_p2pdma_provider()) stays bound.  Memory with
 * struct pages (pci_p2pdma_add_resource()) and memory without (a BAR a
 * driver exports through dma-buf) share it, and so share the rules and the
 * cache of pci_p2pdma_map_type().
 */
struct p2pdma_provider {
	struct device *owner;
	u64 bus_offset;
};

/**
 * struct p2pdma_pagemap - the pagemap of a range of p2pmem pages
 * @pgmap: what the range's struct pages point to
 * @mem: the provider of the BAR the range is in
 *
 * Public so that pci_p2pdma_state() finds a page's provider inline: a
 * mapping loop compares it with the provider it saw last, and calls out
 * only when another one comes.  Set up by the P2PDMA core; read-only to
 * everyone else.
 */
struct p2pdma_pagemap {
	struct dev_pagemap pgmap;
	struct p2pdma_provider *mem;
};

/**
 * enum pci_p2pdma_map_type - how a device reaches a provider's memory
 * @PCI_P2PDMA_MAP_UNKNOWN: not worked out yet; never returned by the API
 * @PCI_P2PDMA_MAP_NONE: not P2PDMA memory at all
 * @PCI_P2PDMA_MAP_NOT_SUPPORTED: the path cannot carry P2P traffic (it
 *	crosses a host bridge that is not known to route it, say): the DMA
 *	mapping must fail
 * @PCI_P2PDMA_MAP_BUS_ADDR: the two meet below a switch: program the PCI
 *	bus address, with no IOMMU translation
 * @PCI_P2PDMA_MAP_THRU_HOST_BRIDGE: the path crosses an allowed host
 *	bridge: map like system memory (CPU physical address or IOVA)
 */
enum pci_p2pdma_map_type {
	PCI_P2PDMA_MAP_UNKNOWN = 0,
	PCI_P2PDMA_MAP_NONE,
	PCI_P2PDMA_MAP_NOT_SUPPORTED,
	PCI_P2PDMA_MAP_BUS_ADDR,
	PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
};

/**
 * struct pci_p2pdma_map_state - a mapping call's last P2PDMA provider
 * @mem: the provider of the last P2PDMA page seen, or NULL
 * @dev: the device the call maps for, set with @mem
 * @map: how @dev maps @mem
 * @bytes: bytes of @mem's pages mapped so far and not yet counted in its
 *	statistics (pci_p2pdma_map_bytes(), pci_p2pdma_map_done())
 * @mixed: a page of another provider came after some of @mem's were
 *	mapped: @bytes no longer says whose they are, and
 *	pci_p2pdma_map_sg_done() counts the scatterlist itself
 *
 * Zeroed by the caller before the first page; pci_p2pdma_state() looks
 * the provider up again only when a page of another one comes.
 */
struct pci_p2pdma_map_state {
	struct p2pdma_provider *mem;
	struct device *dev;
	enum pci_p2pdma_map_type map;
	u64 bytes;
	bool mixed;
};

/**
 * struct pci_p2pdma_watcher - a client's interest in a provider's removal
 * @remove: called once when the provider goes away; see pci_p2pdma_watch()
 * @node: private to the P2PDMA core
 * @provider: private to the P2PDMA core
 */
struct pci_p2pdma_watcher {
	void (*remove)(struct pci_p2pdma_watcher *watch);
	struct list_head node;
	struct pci_dev *provider;
};

#ifdef CONFIG_PCI_P2PDMA
int pcim_p2pdma_init(struct pci_dev *pdev);
struct p2pdma_provider *pcim_p2pdma_provider(struct pci_dev *pdev, int bar);
enum pci_p2pdma_map_type pci_p2pdma_map_type(struct p2pdma_provider *provider,
					     struct device *dev);
void __pci_p2pdma_update_state(struct pci_p2pdma_map_state *state,
			       struct device *dev, struct page *page);
void __pci_p2pdma_map_count(struct pci_p2pdma_map_state *state);
void __pci_p2pdma_map_count_sg(struct device *dev, struct scatterlist *sgl,
			       int nents);

int pci_p2pdma_add_resource(struct pci_dev *pdev, int bar, size_t size,
			    u64 offset);
void pci_p2pmem_publish(struct pci_dev *pdev, bool publish);
bool pci_has_p2pmem(struct pci_dev *pdev);

int pci_p2pdma_distance_many(struct pci_dev *provider, struct device **clients,
			     int num_clients, bool verbose);
struct pci_dev *pci_p2pmem_find_many(struct device **clients, int num_clients);
void pci_p2pdma_fallback(struct pci_dev *provider, struct device *client,
			 size_t bytes, const char *reason);
bool pci_p2pdma_page_out_of_reach(struct page *page, struct device *dev);
void __pci_p2pdma_note_unmap_sg(struct device *dev, struct scatterlist *sgl,
				int nents);
void __pci_p2pdma_note_unmap(struct device *dev, struct page *page,
			     size_t bytes);
DECLARE_STATIC_KEY_FALSE(pci_p2pdma_unmap_traced);

void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size);
void pci_p2pmem_free(struct pci_dev *pdev, void *addr, size_t size);
void *pci_alloc_p2pmem(struct pci_dev *pdev, size_t size);
void pci_free_p2pmem(struct pci_dev *pdev, void *addr, size_t size);
pci_bus_addr_t pci_p2pmem_virt_to_bus(struct pci_dev *pdev, void *addr);
struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
					 unsigned int *nents, u32 length);
void pci_p2pmem_free_sgl(struct pci_dev *pdev, struct scatterlist *sgl);

int pci_p2pdma_watch(struct pci_dev *provider, struct pci_p2pdma_watcher *watch);
void pci_p2pdma_unwatch(struct pci_p2pdma_watcher *watch);

int pci_p2pdma_enable_store(const char *page, struct pci_dev **p2p_dev,
			    bool *use_p2pdma);
ssize_t pci_p2pdma_enable_show(char *page, struct pci_dev *p2p_dev,
			       bool use_p2pdma);
#else /* CONFIG_PCI_P2PDMA */
static inline int pcim_p2pdma_init(struct pci_dev *pdev)
{
	return -EOPNOTSUPP;
}

static inline struct p2pdma_provider *pcim_p2pdma_provider(struct pci_dev *pdev,
							   int bar)
{
	return NULL;
}

static inline enum pci_p2pdma_map_type
pci_p2pdma_map_type(struct p2pdma_provider *provider, struct device *dev)
{
	return PCI_P2PDMA_MAP_NOT_SUPPORTED;
}

static inline void __pci_p2pdma_update_state(struct pci_p2pdma_map_state *state,
					     struct device *dev,
					     struct page *page)
{
}

static inline void __pci_p2pdma_map_count(struct pci_p2pdma_map_state *state)
{
}

static inline void __pci_p2pdma_map_count_sg(struct device *dev,
					     struct scatterlist *sgl, int nents)
{
}

static inline int pci_p2pdma_add_resource(struct pci_dev *pdev, int bar,
					  size_t size, u64 offset)
{
	return -EOPNOTSUPP;
}

static inline void pci_p2pmem_publish(struct pci_dev *pdev, bool publish)
{
}

static inline bool pci_has_p2pmem(struct pci_dev *pdev)
{
	return false;
}

static inline int pci_p2pdma_distance_many(struct pci_dev *provider,
					   struct device **clients,
					   int num_clients, bool verbose)
{
	return -1;
}

static inline struct pci_dev *pci_p2pmem_find_many(struct device **clients,
						   int num_clients)
{
	return NULL;
}

static inline void pci_p2pdma_fallback(struct pci_dev *provider,
				       struct device *client, size_t bytes,
				       const char *reason)
{
}

static inline bool pci_p2pdma_page_out_of_reach(struct page *page,
						struct device *dev)
{
	return false;
}

static inline void __pci_p2pdma_note_unmap_sg(struct device *dev,
					      struct scatterlist *sgl,
					      int nents)
{
}

static inline void __pci_p2pdma_note_unmap(struct device *dev,
					   struct page *page, size_t bytes)
{
}

static inline void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size)
{
	return NULL;
}

static inline void pci_p2pmem_free(struct pci_dev *pdev, void *addr,
				   size_t size)
{
}

static inline void *pci_alloc_p2pmem(struct pci_dev *pdev, size_t size)
{
	return NULL;
}

static inline void pci_free_p2pmem(struct pci_dev *pdev, void *addr,
				   size_t size)
{
}

static inline pci_bus_addr_t pci_p2pmem_virt_to_bus(struct pci_dev *pdev,
						    void *addr)
{
	return 0;
}

static inline struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
						       unsigned int *nents,
						       u32 length)
{
	return NULL;
}

static inline void pci_p2pmem_free_sgl(struct pci_dev *pdev,
				       struct scatterlist *sgl)
{
}

static inline int pci_p2pdma_watch(struct pci_dev *provider,
				   struct pci_p2pdma_watcher *watch)
{
	return -ENODEV;
}

static inline void pci_p2pdma_unwatch(struct pci_p2pdma_watcher *watch)
{
}

static inline int pci_p2pdma_enable_store(const char *page,
					  struct pci_dev **p2p_dev,
					  bool *use_p2pdma)
{
	*use_p2pdma = false;
	return 0;
}

static inline ssize_t pci_p2pdma_enable_show(char *page,
					     struct pci_dev *p2p_dev,
					     bool use_p2pdma)
{
	/* Upstream's text; not sysfs_emit(), page need not be aligned. */
	return sprintf(page, "none\n");
}
#endif /* CONFIG_PCI_P2PDMA */

struct dma_buf;

#ifdef CONFIG_PCI_P2PDMA_DMABUF
struct dma_buf *pci_p2pmem_export_dmabuf(struct pci_dev *pdev, size_t size,
					 int flags);
#else
static inline struct dma_buf *pci_p2pmem_export_dmabuf(struct pci_dev *pdev,
						       size_t size, int flags)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#endif /* CONFIG_PCI_P2PDMA_DMABUF */

/**
 * pci_p2pdma_distance - how far @client is from memory in @provider's BARs
 * @provider: PCI device that holds the memory
 * @client: device that will DMA to or from that memory
 * @verbose: log the reason to the kernel log when the pair is refused
 *
 * Return: the distance (0 for the same device, larger is farther), or -1 if
 * P2P DMA between the two is not supported.
 */
static inline int pci_p2pdma_distance(struct pci_dev *provider,
				      struct device *client, bool verbose)
{
	return pci_p2pdma_distance_many(provider, &client, 1, verbose);
}

/**
 * pci_p2pmem_find - find published p2pmem that @client can reach
 * @client: device that will DMA to or from the memory
 *
 * Return: the closest provider with a reference held (drop it with
 * pci_dev_put()), or NULL if there is none.
 */
static inline struct pci_dev *pci_p2pmem_find(struct device *client)
{
	return pci_p2pmem_find_many(&client, 1);
}

/* Whether unmapping calls look for p2pmem: see pci_p2pdma_note_unmap_sg(). */
static inline bool pci_p2pdma_unmap_noted(void)
{
#ifdef CONFIG_PCI_P2PDMA
	return static_branch_unlikely(&pci_p2pdma_unmap_traced);
#else
	return false;
#endif
}

/**
 * pci_p2pdma_note_unmap_sg - tell the P2PDMA core a scatterlist is unmapped
 * @dev: the device @sgl was mapped for
 * @sgl: the scatterlist, whose pages are still allocated
 * @nents: entries of @sgl, as passed to the unmapping call
 *
 * For the p2pdma_unmap tracepoint, the counterpart of p2pdma_map: one
 * event per run of one provider's entries.  A static branch, and nothing
 * more, unless the tracepoint has a probe: only then is @sgl walked.
 */
static inline void pci_p2pdma_note_unmap_sg(struct device *dev,
					    struct scatterlist *sgl, int nents)
{
	if (pci_p2pdma_unmap_noted())
		__pci_p2pdma_note_unmap_sg(dev, sgl, nents);
}

/**
 * pci_p2pdma_note_unmap - tell the P2PDMA core a provider's memory is unmapped
 * @dev: the device the memory was mapped for
 * @page: its first page, still allocated; nothing is noted if it is not
 *	p2pmem
 * @bytes: bytes unmapped, all of @page's provider
 *
 * As pci_p2pdma_note_unmap_sg(), for callers that map without a
 * scatterlist and unmap one provider's memory at a time: the block layer's
 * request mapping, whose requests never mix providers.
 */
static inline void pci_p2pdma_note_unmap(struct device *dev, struct page *page,
					 size_t bytes)
{
	if (pci_p2pdma_unmap_noted())
		__pci_p2pdma_note_unmap(dev, page, bytes);
}

/**
 * pci_p2pdma_state - how a device maps a page, if the page is p2pmem
 * @state: the mapping call's state, zeroed before its first page
 * @dev: device the mapping is for
 * @page: page to map
 *
 * Inline, with no call, for pages of the provider seen last, which is what
 * a mapping loop mostly meets: only a page of another provider costs a
 * call and a lookup in the provider's path cache.
 *
 * Return: PCI_P2PDMA_MAP_NONE for a page that is not p2pmem, otherwise how
 * @dev reaches the page's provider (also left in @state, with the
 * provider for pci_p2pdma_bus_addr_map()).
 */
static inline enum pci_p2pdma_map_type
pci_p2pdma_state(struct pci_p2pdma_map_state *state, struct device *dev,
		 struct page *page)
{
	struct p2pdma_pagemap *pages;

	if (!is_pci_p2pdma_page(page))
		return PCI_P2PDMA_MAP_NONE;
	pages = container_of(page_pgmap(page), struct p2pdma_pagemap, pgmap);
	if (unlikely(state->mem != pages->mem))
		__pci_p2pdma_update_state(state, dev, page);
	return state->map;
}

/**
 * pci_p2pdma_map_bytes - note p2pmem a mapping call has mapped
 * @state: the call's state, whose provider the bytes are of
 * @len: bytes of one segment of @state->mem's pages, mapped
 *
 * For the provider's statistics (dma_mapped_bytes in debugfs): callers
 * add the segments of P2PDMA pages they map, and call
 * pci_p2pdma_map_done() or pci_p2pdma_map_sg_done() when the call worked.
 * A call that fails counts nothing.
 */
static inline void pci_p2pdma_map_bytes(struct pci_p2pdma_map_state *state,
					size_t len)
{
	state->bytes += len;
}

/**
 * pci_p2pdma_map_done - count what a mapping call mapped of p2pmem
 * @state: the call's state, whose pages were all of one provider
 *
 * One per-CPU addition per call, not one per segment.  For a caller that
 * counts as it goes, one segment at a time (the block layer's request
 * iterator), or whose call met one provider; scatterlist callers use
 * pci_p2pdma_map_sg_done().
 */
static inline void pci_p2pdma_map_done(struct pci_p2pdma_map_state *state)
{
	if (state->bytes)
		__pci_p2pdma_map_count(state);
}

/**
 * pci_p2pdma_map_sg_done - count what a scatterlist mapping call mapped
 * @state: the call's state
 * @sgl: the scatterlist the call mapped, with its CPU-side page and length
 *	of each entry as the caller passed them
 * @nents: entries of @sgl the call mapped
 *
 * As pci_p2pdma_map_done() for a call of one provider.  A call that met
 * several has its scatterlist walked once more, so that each provider
 * gets its own bytes, and only once the call is known to have worked.
 */
static inline void pci_p2pdma_map_sg_done(struct pci_p2pdma_map_state *state,
					  struct scatterlist *sgl, int nents)
{
	if (unlikely(state->mixed))
		__pci_p2pdma_map_count_sg(state->dev, sgl, nents);
	else
		pci_p2pdma_map_done(state);
}

/**
 * pci_p2pdma_bus_addr_map - the PCI bus address of a provider's memory
 * @provider: the provider, as pci_p2pdma_state() left it in its state
 * @paddr: CPU physical address inside the provider's BAR
 *
 * For PCI_P2PDMA_MAP_BUS_ADDR only: that is the address a peer below the
 * same switch programs.
 *
 * Return: the bus address of @paddr.
 */
static inline dma_addr_t
pci_p2pdma_bus_addr_map(struct p2pdma_provider *provider, phys_addr_t paddr)
{
	return paddr + provider->bus_offset;
}

#endif /* _LINUX_PCI_P2PDMA_H */
