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
#include <linux/mmzone.h>
#include <linux/spinlock.h>
#include <linux/pci.h>
#include <linux/xarray.h>

/*
 * The allocator (pool.c).  Blocks go up to one memory hotplug subsection,
 * the granularity providers register in; the per-CPU caches hold blocks up
 * to half that (1 MiB with 4 KiB pages), the sizes I/O paths ask for.
 */
#define P2PDMA_MAX_ORDER	(SUBSECTION_SHIFT - PAGE_SHIFT)
#define P2PDMA_PCP_MAX_ORDER	(P2PDMA_MAX_ORDER - 1)
#define P2PDMA_PCP_DEPTH	8

/* Bookkeeping of one page; only meaningful on the first page of a block. */
struct p2pdma_block {
	u32 next;
	u32 prev;
	u8 order;
	bool free;
};

/**
 * struct p2pdma_arena - one contiguous range of pages in a pool
 * @node: entry in the pool's list of arenas
 * @base: address of the first page
 * @bus_addr: PCI bus address of the first page (not used by the allocator)
 * @nr_pages: pages in the arena
 * @nr_free: pages on the free lists
 * @blocks: bookkeeping, one entry per page
 * @free_head: index of the first free block of each order, or U32_MAX
 */
struct p2pdma_arena {
	struct list_head node;
	unsigned long base;
	u64 bus_addr;
	u32 nr_pages;
	u32 nr_free;
	struct p2pdma_block *blocks;
	u32 free_head[P2PDMA_MAX_ORDER + 1];
};

struct p2pdma_pcp_stack {
	unsigned long addr[P2PDMA_PCP_DEPTH];
	unsigned int count;
};

/* Per-CPU cache and counters of a pool. */
struct p2pdma_pcp {
	/* Taken by its own CPU, and by others only to drain the stacks. */
	spinlock_t lock;
	struct p2pdma_pcp_stack stack[P2PDMA_PCP_MAX_ORDER + 1];
	u64 allocs;
	u64 frees;
	u64 failures;
	/* Bytes of p2pmem scatterlist segments mapped for DMA. */
	u64 dma_bytes;
};

/**
 * struct p2pdma_pool - the allocator of one provider
 * @lock: protects the arenas and their free lists
 * @arenas: list of struct p2pdma_arena
 * @pcp: per-CPU caches and counters
 * @nr_pages: pages in all arenas
 * @in_use: pages handed out and not yet freed
 * @peak: highest @in_use seen
 * @dying: set by p2pdma_pool_kill(); allocations fail
 */
struct p2pdma_pool {
	spinlock_t lock;	/* nests inside p2pdma_pcp.lock */
	struct list_head arenas;
	struct p2pdma_pcp __percpu *pcp;
	unsigned long nr_pages;
	atomic_long_t in_use;
	atomic_long_t peak;
	bool dying;
};

struct p2pdma_pool_stats {
	u64 size;
	u64 in_use;
	u64 peak;
	u64 allocs;
	u64 frees;
	u64 failures;
	u64 dma_bytes;
};

int p2pdma_arena_init(struct p2pdma_arena *arena, unsigned long base,
		      u64 bus_addr, size_t size, int node);
void p2pdma_arena_destroy(struct p2pdma_arena *arena);
int p2pdma_pool_init(struct p2pdma_pool *pool);
void p2pdma_pool_destroy(struct p2pdma_pool *pool);
void p2pdma_pool_add_arena(struct p2pdma_pool *pool,
			   struct p2pdma_arena *arena);
void p2pdma_pool_remove_arena(struct p2pdma_pool *pool,
			      struct p2pdma_arena *arena);
struct p2pdma_arena *p2pdma_pool_arena_of(struct p2pdma_pool *pool,
					  unsigned long addr);
unsigned long p2pdma_pool_alloc(struct p2pdma_pool *pool, size_t size);
unsigned long p2pdma_pool_alloc_upto(struct p2pdma_pool *pool, u32 *nr);
void p2pdma_pool_free(struct p2pdma_pool *pool, unsigned long addr,
		      size_t size);
bool p2pdma_pool_drain(struct p2pdma_pool *pool);
void p2pdma_pool_kill(struct p2pdma_pool *pool);
void p2pdma_pool_stats(struct p2pdma_pool *pool,
		       struct p2pdma_pool_stats *stats);

/*
 * Per-provider state, hung off pdev->p2pdma (RCU) by the first
 * pci_p2pdma_add_resource() and torn down by devres when the driver goes.
 */
struct pci_p2pdma {
	struct pci_dev *pdev;
	struct p2pdma_pool pool;
	/* struct p2pdma_range, under p2pdma_lock. */
	struct list_head ranges;
	/* Cached path to each client, see p2pdma_path_cached(). */
	struct xarray paths;
	/* Entry in p2pdma_providers while published, under p2pdma_lock. */
	struct list_head published_node;
	/* Entry in p2pdma_all from set-up to teardown, under p2pdma_lock. */
	struct list_head all_node;
	bool published;
	/* Root complex routes P2P between root ports (sampled at set-up). */
	bool rc_routes;
	/* struct pci_p2pdma_watcher of clients, under p2pdma_lock. */
	struct list_head watchers;
	/* mmap()s of p2pmem/allocate so far, and pages mapped now. */
	atomic_long_t user_maps;
	atomic_long_t user_pages;
	struct dentry *debugfs;
};

/*
 * One registered BAR range.  The pgmap is what a page points to, so this is
 * how the DMA-mapping code gets from a page back to its provider and to the
 * offset between CPU physical and PCI bus addresses.
 */
struct p2pdma_range {
	struct dev_pagemap pgmap;
	struct p2pdma_arena arena;
	struct list_head node;
	struct pci_dev *provider;
	struct pci_p2pdma *p2p;
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
enum pci_p2pdma_map_type p2pdma_path_decode(void *entry, int *distance);
void p2pdma_path_forget(struct pci_p2pdma *p2p, struct pci_dev *client);
bool p2pdma_host_bridge_whitelisted(u16 vendor, u16 device);
const char *p2pdma_map_name(enum pci_p2pdma_map_type map);

/* client.c */
int p2pdma_refusal_text(char *buf, size_t size, struct device *client,
			const struct p2pdma_path *path);

/* core.c */
extern struct mutex p2pdma_lock;
extern struct list_head p2pdma_providers;
size_t p2pdma_mem_size(struct pci_p2pdma *p2p);
size_t p2pdma_mem_avail(struct pci_p2pdma *p2p);

/* debugfs.c */
void p2pdma_debugfs_add(struct pci_p2pdma *p2p);
void p2pdma_debugfs_remove(struct pci_p2pdma *p2p);

/* sysfs.c */
extern const struct attribute_group p2pmem_group;

#endif /* _DRIVERS_PCI_P2PDMA_P2PDMA_H */
