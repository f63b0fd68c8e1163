/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The P2PDMA allocator (pool.c) as the rest of the core sees it.
 *
 * A pool hands out physically contiguous runs of whole pages from the
 * ranges added to it, and takes back any page-aligned part of a run.  It
 * treats addresses as numbers and never touches the memory behind them,
 * but remembers which free pages its users said were clean.  Its
 * structure is private to pool.c: nothing outside may look inside.
 *
 * Lifetime: p2pdma_pool_create(), p2pdma_pool_add() for each range, then
 * allocations; at the end p2pdma_pool_kill() (allocations fail from then
 * on), p2pdma_pool_wait_idle() until every page is back, an RCU grace
 * period, and p2pdma_pool_destroy().
 */
#ifndef _DRIVERS_PCI_P2PDMA_POOL_H
#define _DRIVERS_PCI_P2PDMA_POOL_H

#include <linux/mmzone.h>
#include <linux/types.h>

struct p2pdma_pool;

/*
 * The largest block the pool keeps, in pages: one memory hotplug
 * subsection, the granularity providers register in.  Longer runs are
 * made of several such blocks and are costlier to find.
 */
#define P2PDMA_POOL_BLOCK_PAGES	(1UL << (SUBSECTION_SHIFT - PAGE_SHIFT))

struct p2pdma_pool *p2pdma_pool_create(int node);
int p2pdma_pool_add(struct p2pdma_pool *pool, unsigned long base,
		    size_t size);
void p2pdma_pool_destroy(struct p2pdma_pool *pool);

unsigned long p2pdma_pool_alloc(struct p2pdma_pool *pool, size_t size);
unsigned long p2pdma_pool_alloc_upto(struct p2pdma_pool *pool, u32 *nr,
				     unsigned long *clean);
u32 p2pdma_pool_free(struct p2pdma_pool *pool, unsigned long addr,
		     size_t size);

/* Clean pages: see pool.c. */
u32 p2pdma_pool_free_page(struct p2pdma_pool *pool, unsigned long addr,
			  bool clean);
u32 p2pdma_pool_free_clean(struct p2pdma_pool *pool, unsigned long addr,
			   size_t size);
unsigned long p2pdma_pool_take_dirty(struct p2pdma_pool *pool, u32 *nr,
				     unsigned long *clean);
void p2pdma_pool_give_lent(struct p2pdma_pool *pool, unsigned long addr,
			   u32 nr, bool clean);
size_t p2pdma_pool_clean(struct p2pdma_pool *pool);
size_t p2pdma_pool_clearing(const struct p2pdma_pool *pool);

void p2pdma_pool_kill(struct p2pdma_pool *pool);
bool p2pdma_pool_dying(const struct p2pdma_pool *pool);
bool p2pdma_pool_wait_idle(struct p2pdma_pool *pool, unsigned long timeout);

bool p2pdma_pool_holds(struct p2pdma_pool *pool, unsigned long addr);
size_t p2pdma_pool_size(const struct p2pdma_pool *pool);
size_t p2pdma_pool_in_use(const struct p2pdma_pool *pool);
bool p2pdma_pool_has_room(struct p2pdma_pool *pool, unsigned long nr);
size_t p2pdma_pool_peak(struct p2pdma_pool *pool);

#endif /* _DRIVERS_PCI_P2PDMA_POOL_H */
