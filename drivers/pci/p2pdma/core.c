// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA core: registering BAR memory and allocating from it.
 *
 * A device gets one struct pci_p2pdma the first time its driver calls
 * pcim_p2pdma_init() or registers a BAR range: a provider per memory BAR
 * (struct p2pdma_provider), with or without pages.  Each range becomes
 * ZONE_DEVICE pages, so that the memory can sit
 * in scatterlists and bios like any other page, and a range of the
 * provider's allocator (pool.c).
 *
 * One devres action, p2pdma_teardown(), undoes everything when the
 * provider's driver unbinds, in this order:
 *
 *  1. make allocations fail, and unpublish: publishing fails from then on,
 *     and userspace mappings are revoked (mmap.c).  Later accesses get
 *     SIGBUS, and each page comes back once the last reference (an
 *     O_DIRECT I/O, say) is gone;
 *  2. remove what userspace sees (the registry tells face.c), and debugfs;
 *  3. tell watching clients (pci_p2pdma_watch()) to give their memory back;
 *  4. wait until every page is free, then unmap the pages of each range;
 *  5. detach the state from the device and free it after an RCU grace
 *     period, so that lock-free readers (DMA mapping, sysfs) are done.
 *
 * Steps 1-3 come before 4 because 4 can only finish once they are done.
 *
 * The core never calls into the userspace face (face.c and the files it
 * drives): it tells the registry, which tells the face.  The one way back
 * up is the pages themselves: a page userspace mapped comes back through
 * p2pdma_folio_free() below.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/mm.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "p2pdma.h"

/* Count a call into the pool: @bytes at @addr, or a failure (0). */
static unsigned long p2pdma_count_alloc(struct pci_p2pdma *p2p,
					unsigned long addr, size_t bytes)
{
	if (addr)
		this_cpu_add(p2p->stats->alloc_bytes, bytes);
	else
		this_cpu_inc(p2p->stats->failed_allocs);
	return addr;
}

/**
 * p2pdma_alloc_pages - allocate from a provider's pool, counted
 * @p2p: the provider
 * @size: bytes, rounded up to whole pages
 *
 * Every allocation of the core goes through here or p2pdma_alloc_upto(),
 * and every free through p2pdma_free_pages(), so that the byte counters of
 * debugfs.c add up to what the pool has in use.  Safe in any context.
 *
 * Return: the address of the first page, or 0.
 */
static unsigned long p2pdma_alloc_pages(struct pci_p2pdma *p2p, size_t size)
{
	return p2pdma_count_alloc(p2p, p2pdma_pool_alloc(p2p->pool, size),
				  PAGE_ALIGN(size));
}

/**
 * p2pdma_alloc_upto - allocate as long a run as a provider still has
 * @p2p: the provider
 * @nr: in, the most pages wanted; out, the pages allocated
 * @clean: NULL, or a bitmap of at least @nr bits: which pages are clean
 *
 * See p2pdma_pool_alloc_upto(); a failure counts as one failed call.
 *
 * Return: the address of the first page, or 0.
 */
unsigned long p2pdma_alloc_upto(struct pci_p2pdma *p2p, u32 *nr,
				unsigned long *clean)
{
	unsigned long addr = p2pdma_pool_alloc_upto(p2p->pool, nr, clean);

	return p2pdma_count_alloc(p2p, addr, (size_t)*nr << PAGE_SHIFT);
}

/**
 * p2pdma_free_pages - give memory back to a provider's pool, counted
 * @p2p: the provider
 * @addr: page-aligned address inside an allocation
 * @size: bytes from @addr, rounded up to whole pages
 * @clean: the pages hold zeros only (see p2pdma_pool_free_clean())
 */
void p2pdma_free_pages(struct pci_p2pdma *p2p, unsigned long addr,
		       size_t size, bool clean)
{
	u32 freed;

	/*
	 * Once the last page is back the teardown may go on, but it waits
	 * for a grace period before it frees @p2p.  Only what the pool took
	 * back is counted: it refuses pages freed twice.
	 */
	rcu_read_lock();
	freed = clean ? p2pdma_pool_free_clean(p2p->pool, addr, size) :
			p2pdma_pool_free(p2p->pool, addr, size);
	this_cpu_add(p2p->stats->free_bytes, (u64)freed << PAGE_SHIFT);
	rcu_read_unlock();
}

/**
 * p2pdma_free_user_page - give back a page of a userspace mapping, counted
 * @p2p: the provider
 * @addr: the page's address
 * @clean: it holds zeros only
 *
 * As p2pdma_free_pages() for one page, through p2pdma_pool_free_page():
 * munmap() frees a mapping's pages one by one, in address order.
 */
static void p2pdma_free_user_page(struct pci_p2pdma *p2p, unsigned long addr,
				  bool clean)
{
	u32 freed;

	/* As in p2pdma_free_pages(). */
	rcu_read_lock();
	freed = p2pdma_pool_free_page(p2p->pool, addr, clean);
	this_cpu_add(p2p->stats->free_bytes, (u64)freed << PAGE_SHIFT);
	rcu_read_unlock();
}

/*
 * The last reference to a page of a userspace mapping went (see the
 * refcount rule in mmap.c): back to the pool, and to the clearer if it was
 * written.  Kernel allocations never come here: their pages are never
 * mapped.
 */
static void p2pdma_folio_free(struct folio *folio)
{
	/* The page was allocated, so its range and provider are alive. */
	struct pci_p2pdma *p2p = to_p2pdma_range(folio->pgmap)->p2p;
	/* Nothing writes p2pmem back: the flag only says it was written. */
	bool clean = !folio_test_dirty(folio);

	/* No reference is left: nothing else changes the flags now. */
	if (!clean)
		__folio_clear_dirty(folio);
	this_cpu_inc(p2p->stats->user_pages_unmapped);
	/*
	 * Kick after the free, so that the worker finds the page; the
	 * teardown waits for a grace period before it stops the worker.
	 */
	rcu_read_lock();
	/* A mapping is made of single pages: see p2pdma_insert_pages(). */
	p2pdma_free_user_page(p2p, (unsigned long)folio_address(folio), clean);
	if (!clean)
		p2pdma_clear_kick(p2p);
	rcu_read_unlock();
}

static const struct dev_pagemap_ops p2pdma_pgmap_ops = {
	.folio_free = p2pdma_folio_free,
};

size_t p2pdma_mem_size(struct pci_p2pdma *p2p)
{
	return p2pdma_pool_size(p2p->pool);
}

size_t p2pdma_mem_avail(struct pci_p2pdma *p2p)
{
	size_t size = p2pdma_pool_size(p2p->pool);
	size_t in_use = p2pdma_pool_in_use(p2p->pool);

	/* A range added in between can make @in_use the larger. */
	return size > in_use ? size - in_use : 0;
}

/* Wait for every page, saying what is awaited if it takes long. */
static void p2pdma_wait_idle(struct pci_p2pdma *p2p)
{
	while (!p2pdma_pool_wait_idle(p2p->pool, 10 * HZ))
		pci_warn(p2p->pdev, "removal waits for %zu KiB still allocated, %zu KiB being cleared\n",
			 p2pdma_pool_in_use(p2p->pool) >> 10,
			 p2pdma_pool_clearing(p2p->pool) >> 10);
}

static void p2pdma_unmap_ranges(struct pci_p2pdma *p2p)
{
	struct p2pdma_range *range, *tmp;

	list_for_each_entry_safe(range, tmp, &p2p->ranges, node) {
		memunmap_pages(&range->pagemap.pgmap);
		list_del(&range->node);
		kfree(range);
	}
}

static void p2pdma_free(struct pci_p2pdma *p2p)
{
	/* Kicked by a page freed after the revocation: p2pdma_folio_free(). */
	p2pdma_clear_stop(p2p);
	p2pdma_pool_destroy(p2p->pool);
	p2pdma_stats_free(p2p);
	p2pdma_verdicts_free(p2p);
	xa_destroy(&p2p->paths);
	kfree(p2p);
}

static void p2pdma_teardown(void *data)
{
	struct pci_dev *pdev = data;
	/* Pinned: this is the provider driver's own devres action. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	p2pdma_pool_kill(p2p->pool);
	p2pdma_unpublish(p2p);
	p2pdma_face_remove(p2p);
	p2pdma_debugfs_remove(p2p);
	p2pdma_notify_watchers(p2p);
	p2pdma_wait_idle(p2p);
	p2pdma_unmap_ranges(p2p);

	p2pdma_unregister(p2p);
	synchronize_rcu();
	p2pdma_free(p2p);
}

/* Every memory BAR is a provider, whether or not it has pages. */
static void p2pdma_init_providers(struct pci_p2pdma *p2p)
{
	struct pci_dev *pdev = p2p->pdev;
	int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
			continue;
		p2p->mem[bar].owner = &pdev->dev;
		p2p->mem[bar].bus_offset = pci_bus_address(pdev, bar) -
					   pci_resource_start(pdev, bar);
	}
}

static struct pci_p2pdma *p2pdma_alloc(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p;

	p2p = kzalloc_obj(*p2p);
	if (!p2p)
		return NULL;
	p2p->pdev = pdev;
	p2pdma_init_providers(p2p);
	mutex_init(&p2p->ranges_lock);
	INIT_LIST_HEAD(&p2p->ranges);
	mutex_init(&p2p->publish_lock);
	xa_init_flags(&p2p->paths, XA_FLAGS_LOCK_IRQ);
	p2pdma_refusal_log_init(p2p);
	INIT_LIST_HEAD(&p2p->watchers);
	INIT_LIST_HEAD(&p2p->published_node);
	p2pdma_clear_init(p2p);
	p2p->pool = p2pdma_pool_create(dev_to_node(&pdev->dev));
	if (!p2p->pool || p2pdma_stats_init(p2p)) {
		p2pdma_free(p2p);
		return NULL;
	}
	return p2p;
}

/*
 * The device's state, made if it has none yet; *@created says which.  Two
 * callers of one bound driver may race here (mlx5 sets up from an
 * auxiliary device's probe): the one that registers second uses the
 * first one's state.
 */
static struct pci_p2pdma *p2pdma_setup(struct pci_dev *pdev, bool *created)
{
	/* Pinned: only the bound driver registers, and tears down. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);
	int err;

	*created = false;
	if (p2p)
		return p2p;
	p2p = p2pdma_alloc(pdev);
	if (!p2p)
		return ERR_PTR(-ENOMEM);

	err = p2pdma_register(p2p);
	if (err) {
		p2pdma_free(p2p);
		p2p = p2pdma_of_pinned(pdev);
		return p2p ?: ERR_PTR(err);
	}
	*created = true;
	p2pdma_debugfs_add(p2p);

	/* On failure this runs p2pdma_teardown(), which undoes all of the above. */
	err = devm_add_action_or_reset(&pdev->dev, p2pdma_teardown, pdev);
	return err ? ERR_PTR(err) : p2p;
}

static int p2pdma_check_range(struct pci_dev *pdev, int bar, size_t *size,
			      u64 offset)
{
	resource_size_t len;

	if (bar < 0 || bar >= PCI_STD_NUM_BARS) {
		pci_err(pdev, "BAR %d does not exist\n", bar);
		return -EINVAL;
	}
	if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM)) {
		pci_err(pdev, "BAR %d is not a memory BAR\n", bar);
		return -EINVAL;
	}

	len = pci_resource_len(pdev, bar);
	if (offset >= len) {
		pci_err(pdev, "offset %#llx is beyond BAR %d (%pa bytes)\n",
			offset, bar, &len);
		return -EINVAL;
	}
	if (pdev->non_mappable_bars) {
		pci_err(pdev, "peers cannot map the BARs of this device: no p2pmem\n");
		return -EOPNOTSUPP;
	}
	if (!*size)
		*size = len - offset;
	if (*size > len - offset) {
		pci_err(pdev, "%zu bytes at %#llx do not fit in BAR %d\n",
			*size, offset, bar);
		return -EINVAL;
	}
	/*
	 * ZONE_DEVICE pages are added in memory hotplug subsections; anything
	 * finer makes memremap_pages() WARN instead of failing cleanly.
	 */
	if (!IS_ALIGNED(pci_resource_start(pdev, bar) + offset, SUBSECTION_SIZE) ||
	    !IS_ALIGNED(*size, SUBSECTION_SIZE)) {
		pci_err(pdev, "BAR %d range %#llx+%#zx is not aligned to %lu KiB\n",
			bar, offset, *size, SUBSECTION_SIZE >> 10);
		return -EINVAL;
	}
	return 0;
}

/* A second registration of the same memory would make memremap_pages() WARN. */
static bool p2pdma_range_registered(struct pci_p2pdma *p2p, u64 start,
				    size_t size)
{
	struct p2pdma_range *range;

	lockdep_assert_held(&p2p->ranges_lock);
	list_for_each_entry(range, &p2p->ranges, node)
		if (start <= range->pagemap.pgmap.range.end &&
		    range->pagemap.pgmap.range.start <= start + size - 1)
			return true;
	return false;
}

static struct p2pdma_range *p2pdma_range_create(struct pci_dev *pdev,
						struct pci_p2pdma *p2p,
						int bar, size_t size,
						u64 offset)
{
	struct dev_pagemap *pgmap;
	struct p2pdma_range *range;
	void *addr;
	int err;

	range = kzalloc_node(sizeof(*range), GFP_KERNEL, dev_to_node(&pdev->dev));
	if (!range)
		return ERR_PTR(-ENOMEM);
	range->provider = pdev;
	range->p2p = p2p;
	range->pagemap.mem = &p2p->mem[bar];
	pgmap = &range->pagemap.pgmap;
	pgmap->type = MEMORY_DEVICE_PCI_P2PDMA;
	pgmap->ops = &p2pdma_pgmap_ops;
	pgmap->range.start = pci_resource_start(pdev, bar) + offset;
	pgmap->range.end = pgmap->range.start + size - 1;
	pgmap->nr_range = 1;

	addr = memremap_pages(pgmap, dev_to_node(&pdev->dev));
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto free;
	}
	err = p2pdma_pool_add(p2p->pool, (unsigned long)addr, size);
	if (err)
		goto unmap;
	return range;

unmap:
	memunmap_pages(pgmap);
free:
	kfree(range);
	return ERR_PTR(err);
}

/**
 * pci_p2pdma_add_resource - offer part of a BAR as peer-to-peer memory
 * @pdev: the providing device, bound to the calling driver
 * @bar: index of a memory BAR of @pdev
 * @size: bytes to register, or 0 for everything from @offset to the BAR's end
 * @offset: where the range starts inside the BAR
 *
 * Creates struct pages for the range and adds it to @pdev's p2pmem
 * allocator.  May be called several times, for different BARs or ranges.
 * The range's start and size must be multiples of the memory hotplug
 * subsection (2 MiB on x86-64), the granularity of ZONE_DEVICE pages.
 * Everything is undone automatically when the driver unbinds from @pdev:
 * userspace mappings are revoked, watchers (pci_p2pdma_watch()) are told,
 * and unbinding waits until all memory allocated from @pdev is freed.
 *
 * The memory is not offered to other drivers until pci_p2pmem_publish().
 *
 * Return: 0 on success, -EINVAL for a bad BAR or range, -EBUSY for a range
 * that overlaps one already registered (nothing is then registered),
 * -ENOMEM, or the error from mapping the pages.
 */
int pci_p2pdma_add_resource(struct pci_dev *pdev, int bar, size_t size,
			    u64 offset)
{
	struct p2pdma_range *range;
	struct pci_p2pdma *p2p;
	bool fresh;
	int err;

	err = p2pdma_check_range(pdev, bar, &size, offset);
	if (err)
		return err;

	p2p = p2pdma_setup(pdev, &fresh);
	if (IS_ERR(p2p))
		return PTR_ERR(p2p);

	mutex_lock(&p2p->ranges_lock);
	/*
	 * Userspace's files come with the first range, before it, so that
	 * publishing, which shows p2pmem/allocate, finds them set up.
	 */
	err = p2p->has_pages ? 0 : p2pdma_face_add(p2p);
	if (err) {
		range = ERR_PTR(err);
	} else if (p2pdma_range_registered(p2p,
					   pci_resource_start(pdev, bar) + offset,
					   size)) {
		pci_err(pdev, "BAR %d range %#llx+%#zx is already registered\n",
			bar, offset, size);
		range = ERR_PTR(-EBUSY);
	} else {
		range = p2pdma_range_create(pdev, p2p, bar, size, offset);
	}
	if (!IS_ERR(range)) {
		list_add_tail(&range->node, &p2p->ranges);
		/* After p2pmem/allocate exists: publishing shows it. */
		smp_store_release(&p2p->has_pages, true);
	}
	if (!err && !p2p->has_pages)
		p2pdma_face_remove(p2p);
	mutex_unlock(&p2p->ranges_lock);

	if (IS_ERR(range)) {
		/* Leave no state behind a failed registration that made it. */
		if (fresh)
			devm_release_action(&pdev->dev, p2pdma_teardown, pdev);
		return PTR_ERR(range);
	}
	pci_info(pdev, "%zu KiB from BAR %d at offset %#llx\n",
		 size >> 10, bar, offset);
	return 0;
}
EXPORT_SYMBOL_GPL(pci_p2pdma_add_resource);

/**
 * pcim_p2pdma_init - set up the P2PDMA state of a device's BARs
 * @pdev: the device, bound to the calling driver
 *
 * Makes every memory BAR of @pdev a provider for pcim_p2pdma_provider(),
 * without struct pages: for a driver that exports BAR memory itself (as a
 * dma-buf, say) and needs to know how other devices reach it.  Nothing is
 * offered through p2pmem/ or pci_p2pmem_find_many().  Calling it again, or
 * after pci_p2pdma_add_resource(), does nothing.  Undone when the driver
 * unbinds.
 *
 * Return: 0, -EOPNOTSUPP if @pdev's BARs cannot be mapped by peers, or
 * -ENOMEM.
 */
int pcim_p2pdma_init(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p;
	bool created;

	if (pdev->non_mappable_bars)
		return -EOPNOTSUPP;
	p2p = p2pdma_setup(pdev, &created);
	return PTR_ERR_OR_ZERO(p2p);
}
EXPORT_SYMBOL_GPL(pcim_p2pdma_init);

/**
 * pcim_p2pdma_provider - the provider of one BAR of a device
 * @pdev: the device, bound to the calling driver, after pcim_p2pdma_init()
 * @bar: index of a memory BAR of @pdev
 *
 * The provider is valid until the driver unbinds.  The driver must have
 * revoked every use of it by other devices (DMA mappings of the BAR, the
 * dma-buf attachments it handed out) before its remove() returns.
 *
 * Return: the provider, or NULL for a BAR that is not memory, a device
 * whose BARs peers cannot map, or one without pcim_p2pdma_init() (which
 * also warns).
 */
struct p2pdma_provider *pcim_p2pdma_provider(struct pci_dev *pdev, int bar)
{
	struct pci_p2pdma *p2p;

	if (bar < 0 || bar >= PCI_STD_NUM_BARS ||
	    !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM) ||
	    pdev->non_mappable_bars)
		return NULL;
	/* Pinned: the caller is the bound driver. */
	p2p = p2pdma_of_pinned(pdev);
	if (WARN_ON_ONCE(!p2p))
		return NULL;
	return &p2p->mem[bar];
}
EXPORT_SYMBOL_GPL(pcim_p2pdma_provider);

/**
 * pci_has_p2pmem - does a device offer peer-to-peer memory to others
 * @pdev: device to check
 *
 * Memory a provider registered but keeps for its own driver (an NVMe CMB
 * holding queues) does not count: as upstream, this means published.
 *
 * Return: true if @pdev's p2pmem is published with pci_p2pmem_publish().
 */
bool pci_has_p2pmem(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p;
	bool ret;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	ret = p2p && READ_ONCE(p2p->published);
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(pci_has_p2pmem);

/**
 * pci_p2pmem_alloc - allocate peer-to-peer memory
 * @pdev: provider to allocate from
 * @size: bytes wanted; rounded up to whole pages
 *
 * The memory is physically contiguous.  Safe in any context.
 *
 * Return: kernel virtual address of the memory (I/O memory: access it with
 * the _io accessors or through DMA only), or NULL if @pdev has no p2pmem,
 * not enough is free, or the provider is going away.
 */
void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size)
{
	struct pci_p2pdma *p2p;
	unsigned long addr = 0;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	if (p2p)
		addr = p2pdma_alloc_pages(p2p, size);
	rcu_read_unlock();
	return (void *)addr;
}
EXPORT_SYMBOL_GPL(pci_p2pmem_alloc);

/**
 * pci_p2pmem_free - free memory from pci_p2pmem_alloc()
 * @pdev: provider the memory came from
 * @addr: address pci_p2pmem_alloc() returned; NULL is ignored
 * @size: the size passed to pci_p2pmem_alloc()
 *
 * Any page-aligned part of an allocation may also be freed on its own.
 * Safe in any context.
 */
void pci_p2pmem_free(struct pci_dev *pdev, void *addr, size_t size)
{
	if (!addr)
		return;
	/* Pinned by the allocation being freed. */
	p2pdma_free_pages(p2pdma_of_pinned(pdev), (unsigned long)addr, size,
			  false);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_free);

/**
 * pci_alloc_p2pmem - allocate peer-to-peer memory (upstream's name)
 * @pdev: provider to allocate from
 * @size: bytes wanted; rounded up to whole pages
 *
 * The same as pci_p2pmem_alloc(), under the name drivers written for
 * upstream's P2PDMA API call.
 *
 * Return: as pci_p2pmem_alloc().
 */
void *pci_alloc_p2pmem(struct pci_dev *pdev, size_t size)
{
	return pci_p2pmem_alloc(pdev, size);
}
EXPORT_SYMBOL_GPL(pci_alloc_p2pmem);

/**
 * pci_free_p2pmem - free peer-to-peer memory (upstream's name)
 * @pdev: provider the memory came from
 * @addr: address pci_alloc_p2pmem() or pci_p2pmem_alloc() returned
 * @size: the size passed to it
 *
 * The same as pci_p2pmem_free(), under upstream's name.
 */
void pci_free_p2pmem(struct pci_dev *pdev, void *addr, size_t size)
{
	pci_p2pmem_free(pdev, addr, size);
}
EXPORT_SYMBOL_GPL(pci_free_p2pmem);

/**
 * pci_p2pmem_virt_to_bus - PCI bus address of allocated p2pmem
 * @pdev: provider the memory came from
 * @addr: address inside an allocation from @pdev
 *
 * The bus address is what a peer behind the same switch programs into its
 * DMA engine.
 *
 * Return: the bus address, or 0 if @addr is not p2pmem of @pdev.
 */
pci_bus_addr_t pci_p2pmem_virt_to_bus(struct pci_dev *pdev, void *addr)
{
	struct p2pdma_range *range;
	struct pci_p2pdma *p2p;
	bool ours;

	if (!addr)
		return 0;
	/*
	 * The pool says whether @addr is @pdev's p2pmem, not
	 * virt_addr_valid(): on arm64 that is false for it (ZONE_DEVICE
	 * memory is not in memblock), and NVMe would silently stop putting
	 * queues in its CMB.
	 */
	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	ours = p2p && p2pdma_pool_holds(p2p->pool, (unsigned long)addr);
	rcu_read_unlock();
	if (!ours)
		return 0;
	/* Pinned by the allocation @addr is in. */
	range = to_p2pdma_range(page_pgmap(virt_to_page(addr)));
	return pci_p2pdma_bus_addr_map(range->pagemap.mem, virt_to_phys(addr));
}
EXPORT_SYMBOL_GPL(pci_p2pmem_virt_to_bus);

/* Most pieces a fragmented pool may hand out for one scatterlist. */
#define P2PDMA_SGL_MAX_ENTS	64

static void *p2pmem_alloc_upto(struct pci_dev *pdev, u32 *nr)
{
	struct pci_p2pdma *p2p;
	unsigned long addr = 0;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	if (p2p)
		addr = p2pdma_alloc_upto(p2p, nr, NULL);
	rcu_read_unlock();
	return (void *)addr;
}

/*
 * Fill @sgl with pieces of at most 1 MiB, each as long as the pool still
 * has, down to a page.  A piece is exactly the pages its entry covers, so
 * freeing by entry length gives all of them back.  Return: entries used,
 * or 0 (nothing left allocated) when the pool or the entries run out.
 */
static unsigned int p2pmem_alloc_pieces(struct pci_dev *pdev,
					struct scatterlist *sgl, u32 length)
{
	unsigned int n = 0;
	u32 piece, nr;
	void *addr;

	while (length && n < P2PDMA_SGL_MAX_ENTS) {
		nr = min_t(u32, DIV_ROUND_UP(length, PAGE_SIZE),
			   SZ_1M >> PAGE_SHIFT);
		addr = p2pmem_alloc_upto(pdev, &nr);
		if (!addr)
			break;
		piece = min_t(u32, nr << PAGE_SHIFT, length);
		sg_set_buf(&sgl[n++], addr, piece);
		length -= piece;
	}
	if (!length) {
		sg_mark_end(&sgl[n - 1]);
		return n;
	}
	while (n--)
		pci_p2pmem_free(pdev, sg_virt(&sgl[n]), sgl[n].length);
	return 0;
}

/**
 * pci_p2pmem_alloc_sgl - allocate p2pmem as a scatterlist
 * @pdev: provider to allocate from
 * @nents: set to the number of entries of the returned list
 * @length: bytes wanted
 *
 * One contiguous entry when the pool has a run that long; otherwise, up to
 * 64 smaller pieces, so that a fragmented pool still serves the request.
 *
 * Return: a scatterlist covering exactly @length bytes, or NULL on failure.
 * Free it with pci_p2pmem_free_sgl().
 */
struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
					 unsigned int *nents, u32 length)
{
	struct scatterlist *sgl;
	void *addr;

	if (!length)
		return NULL;
	addr = pci_p2pmem_alloc(pdev, length);
	if (addr) {
		sgl = kmalloc_obj(*sgl);
		if (!sgl) {
			pci_p2pmem_free(pdev, addr, length);
			return NULL;
		}
		sg_init_one(sgl, addr, length);
		*nents = 1;
		return sgl;
	}

	sgl = kmalloc_array(P2PDMA_SGL_MAX_ENTS, sizeof(*sgl), GFP_KERNEL);
	if (!sgl)
		return NULL;
	sg_init_table(sgl, P2PDMA_SGL_MAX_ENTS);
	*nents = p2pmem_alloc_pieces(pdev, sgl, length);
	if (!*nents) {
		kfree(sgl);
		return NULL;
	}
	return sgl;
}
EXPORT_SYMBOL_GPL(pci_p2pmem_alloc_sgl);

/**
 * pci_p2pmem_free_sgl - free a scatterlist from pci_p2pmem_alloc_sgl()
 * @pdev: provider the memory came from
 * @sgl: the list; NULL is ignored
 */
void pci_p2pmem_free_sgl(struct pci_dev *pdev, struct scatterlist *sgl)
{
	struct scatterlist *sg;
	int i;

	if (!sgl)
		return;
	for_each_sg(sgl, sg, sg_nents(sgl), i)
		pci_p2pmem_free(pdev, sg_virt(sg), sg->length);
	kfree(sgl);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_free_sgl);

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "core-test.h"
#endif
