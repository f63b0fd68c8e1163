// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA core: registering BAR memory and allocating from it.
 *
 * A provider gets one struct pci_p2pdma the first time it registers a BAR
 * range.  Each range becomes ZONE_DEVICE pages, so that the memory can sit
 * in scatterlists and bios like any other page, and a chunk of the
 * provider's allocator.  Everything is devres-managed on the provider and
 * released in the reverse order of setup when its driver unbinds:
 *
 *  1. each range's pages are unmapped.  memunmap_pages() waits until every
 *     allocation taken from the range has been freed, because an allocation
 *     holds a reference on the range's pgmap for as long as it lives;
 *  2. the provider state is unpublished, detached from pdev->p2pdma and,
 *     after an RCU grace period, freed together with its allocator.
 */
#include <linux/genalloc.h>
#include <linux/mmzone.h>
#include <linux/pci-p2pdma.h>
#include <linux/percpu-refcount.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "p2pdma.h"

/* Serialises publishing, provider set-up/teardown and provider lookups. */
DEFINE_MUTEX(p2pdma_lock);
LIST_HEAD(p2pdma_providers);

static struct pci_p2pdma *p2pdma_get_locked(struct pci_dev *pdev)
{
	return rcu_dereference_protected(pdev->p2pdma,
					 lockdep_is_held(&p2pdma_lock));
}

size_t p2pdma_pool_size(struct pci_p2pdma *p2p)
{
	return gen_pool_size(p2p->pool);
}

size_t p2pdma_pool_avail(struct pci_p2pdma *p2p)
{
	return gen_pool_avail(p2p->pool);
}

static void p2pdma_teardown(void *data)
{
	struct pci_dev *pdev = data;
	struct pci_p2pdma *p2p;

	sysfs_remove_group(&pdev->dev.kobj, &p2pmem_group);

	mutex_lock(&p2pdma_lock);
	p2p = p2pdma_get_locked(pdev);
	if (p2p->published)
		list_del(&p2p->published_node);
	RCU_INIT_POINTER(pdev->p2pdma, NULL);
	mutex_unlock(&p2pdma_lock);

	/* Lock-free readers (allocation, sysfs, DMA mapping) are done after this. */
	synchronize_rcu();
	gen_pool_destroy(p2p->pool);
	xa_destroy(&p2p->paths);
	kfree(p2p);
}

static struct pci_p2pdma *p2pdma_setup(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p;
	int err;

	mutex_lock(&p2pdma_lock);
	p2p = p2pdma_get_locked(pdev);
	mutex_unlock(&p2pdma_lock);
	if (p2p)
		return p2p;

	p2p = kzalloc(sizeof(*p2p), GFP_KERNEL);
	if (!p2p)
		return ERR_PTR(-ENOMEM);
	p2p->pdev = pdev;
	p2p->rc_routes = p2pdma_root_complex_routes_p2p(pdev);
	xa_init(&p2p->paths);
	INIT_LIST_HEAD(&p2p->published_node);
	p2p->pool = gen_pool_create(PAGE_SHIFT, dev_to_node(&pdev->dev));
	if (!p2p->pool) {
		kfree(p2p);
		return ERR_PTR(-ENOMEM);
	}

	err = sysfs_create_group(&pdev->dev.kobj, &p2pmem_group);
	if (err) {
		gen_pool_destroy(p2p->pool);
		kfree(p2p);
		return ERR_PTR(err);
	}

	mutex_lock(&p2pdma_lock);
	rcu_assign_pointer(pdev->p2pdma, p2p);
	mutex_unlock(&p2pdma_lock);

	/* On failure this runs p2pdma_teardown(), which undoes all of the above. */
	err = devm_add_action_or_reset(&pdev->dev, p2pdma_teardown, pdev);
	return err ? ERR_PTR(err) : p2p;
}

static int p2pdma_check_range(struct pci_dev *pdev, int bar, size_t *size,
			      u64 offset)
{
	resource_size_t len;

	if (bar < 0 || bar >= PCI_STD_NUM_BARS) {
		pci_err(pdev, "p2pmem: BAR %d does not exist\n", bar);
		return -EINVAL;
	}
	if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM)) {
		pci_err(pdev, "p2pmem: BAR %d is not a memory BAR\n", bar);
		return -EINVAL;
	}

	len = pci_resource_len(pdev, bar);
	if (offset >= len) {
		pci_err(pdev, "p2pmem: offset %#llx is beyond BAR %d (%pa bytes)\n",
			offset, bar, &len);
		return -EINVAL;
	}
	if (!*size)
		*size = len - offset;
	if (*size > len - offset) {
		pci_err(pdev, "p2pmem: %zu bytes at %#llx do not fit in BAR %d\n",
			*size, offset, bar);
		return -EINVAL;
	}
	/*
	 * ZONE_DEVICE pages are added in memory hotplug subsections; anything
	 * finer makes memremap_pages() WARN instead of failing cleanly.
	 */
	if (!IS_ALIGNED(pci_resource_start(pdev, bar) + offset, SUBSECTION_SIZE) ||
	    !IS_ALIGNED(*size, SUBSECTION_SIZE)) {
		pci_err(pdev, "p2pmem: BAR %d range %#llx+%#zx is not aligned to %lu KiB\n",
			bar, offset, *size, SUBSECTION_SIZE >> 10);
		return -EINVAL;
	}
	return 0;
}

struct p2pdma_span {
	u64 first, last;
	bool overlaps;
};

static void p2pdma_chunk_overlaps(struct gen_pool *pool,
				  struct gen_pool_chunk *chunk, void *data)
{
	struct p2pdma_span *span = data;
	u64 first = chunk->phys_addr;
	u64 last = first + (chunk->end_addr - chunk->start_addr);

	if (first <= span->last && span->first <= last)
		span->overlaps = true;
}

/* A second registration of the same memory would make memremap_pages() WARN. */
static bool p2pdma_range_registered(struct pci_p2pdma *p2p, u64 bus_addr,
				    size_t size)
{
	struct p2pdma_span span = {
		.first = bus_addr,
		.last = bus_addr + size - 1,
	};

	gen_pool_for_each_chunk(p2p->pool, p2pdma_chunk_overlaps, &span);
	return span.overlaps;
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
 * Everything is undone automatically when the driver unbinds from @pdev;
 * unbinding waits until all memory allocated from the range is freed.
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
	void *addr;
	int err;

	err = p2pdma_check_range(pdev, bar, &size, offset);
	if (err)
		return err;

	p2p = p2pdma_setup(pdev);
	if (IS_ERR(p2p))
		return PTR_ERR(p2p);
	if (p2pdma_range_registered(p2p, pci_bus_address(pdev, bar) + offset,
				    size)) {
		pci_err(pdev, "p2pmem: BAR %d range %#llx+%#zx is already registered\n",
			bar, offset, size);
		err = -EBUSY;
		goto undo_setup;
	}

	range = devm_kzalloc(&pdev->dev, sizeof(*range), GFP_KERNEL);
	if (!range) {
		err = -ENOMEM;
		goto undo_setup;
	}
	range->provider = pdev;
	range->bus_offset = pci_bus_address(pdev, bar) -
			    pci_resource_start(pdev, bar);
	range->pgmap.type = MEMORY_DEVICE_PCI_P2PDMA;
	range->pgmap.range.start = pci_resource_start(pdev, bar) + offset;
	range->pgmap.range.end = range->pgmap.range.start + size - 1;
	range->pgmap.nr_range = 1;

	addr = devm_memremap_pages(&pdev->dev, &range->pgmap);
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto free_range;
	}

	/*
	 * The pool records bus addresses, so pci_p2pmem_virt_to_bus() is a
	 * plain lookup; the owner is what every allocation pins.
	 */
	err = gen_pool_add_owner(p2p->pool, (unsigned long)addr,
				 pci_bus_address(pdev, bar) + offset, size,
				 dev_to_node(&pdev->dev), &range->pgmap.ref);
	if (err)
		goto unmap;

	pci_info(pdev, "p2pmem: %zu KiB from BAR %d at offset %#llx\n",
		 size >> 10, bar, offset);
	return 0;

unmap:
	devm_memunmap_pages(&pdev->dev, &range->pgmap);
free_range:
	devm_kfree(&pdev->dev, range);
undo_setup:
	/* Leave no empty provider behind a failed first registration. */
	if (!p2pdma_pool_size(p2p))
		devm_release_action(&pdev->dev, p2pdma_teardown, pdev);
	return err;
}
EXPORT_SYMBOL_GPL(pci_p2pdma_add_resource);

/**
 * pci_p2pmem_publish - offer or withdraw a provider's memory to other drivers
 * @pdev: provider that registered memory with pci_p2pdma_add_resource()
 * @publish: true to let pci_p2pmem_find_many() return @pdev, false to stop
 *
 * Memory that is only used by the provider's own driver (a queue in an NVMe
 * CMB, say) is registered but not published.  Does nothing if @pdev has no
 * p2pmem.
 */
void pci_p2pmem_publish(struct pci_dev *pdev, bool publish)
{
	struct pci_p2pdma *p2p;

	mutex_lock(&p2pdma_lock);
	p2p = p2pdma_get_locked(pdev);
	if (p2p && p2p->published != publish) {
		if (publish)
			list_add_tail(&p2p->published_node, &p2pdma_providers);
		else
			list_del_init(&p2p->published_node);
		p2p->published = publish;
	}
	mutex_unlock(&p2pdma_lock);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_publish);

/**
 * pci_has_p2pmem - does a device have peer-to-peer memory registered
 * @pdev: device to check
 *
 * Return: true if @pdev registered at least one range, published or not.
 */
bool pci_has_p2pmem(struct pci_dev *pdev)
{
	struct pci_p2pdma *p2p;
	bool ret;

	rcu_read_lock();
	p2p = rcu_dereference(pdev->p2pdma);
	ret = p2p && p2pdma_pool_size(p2p);
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(pci_has_p2pmem);

/**
 * pci_p2pmem_alloc - allocate peer-to-peer memory
 * @pdev: provider to allocate from
 * @size: bytes wanted; rounded up to whole pages
 *
 * Return: kernel virtual address of the memory (I/O memory: access it with
 * the _io accessors or through DMA only), or NULL if @pdev has no p2pmem,
 * not enough is free, or the provider is going away.
 */
void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size)
{
	struct percpu_ref *ref;
	struct pci_p2pdma *p2p;
	unsigned long addr = 0;

	rcu_read_lock();
	p2p = rcu_dereference(pdev->p2pdma);
	if (!p2p)
		goto out;
	addr = gen_pool_alloc_owner(p2p->pool, size, (void **)&ref);
	/* A range whose pgmap is being torn down hands out nothing. */
	if (addr && unlikely(!percpu_ref_tryget_live_rcu(ref))) {
		gen_pool_free(p2p->pool, addr, size);
		addr = 0;
	}
out:
	rcu_read_unlock();
	return (void *)addr;
}
EXPORT_SYMBOL_GPL(pci_p2pmem_alloc);

/**
 * pci_p2pmem_free - free memory from pci_p2pmem_alloc()
 * @pdev: provider the memory came from
 * @addr: address pci_p2pmem_alloc() returned; NULL is ignored
 * @size: the size passed to pci_p2pmem_alloc()
 */
void pci_p2pmem_free(struct pci_dev *pdev, void *addr, size_t size)
{
	struct percpu_ref *ref;
	struct pci_p2pdma *p2p;

	if (!addr)
		return;
	/* The allocation pins its range, so the provider state is still here. */
	p2p = rcu_dereference_protected(pdev->p2pdma, 1);
	gen_pool_free_owner(p2p->pool, (unsigned long)addr, size, (void **)&ref);
	percpu_ref_put(ref);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_free);

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
	struct pci_p2pdma *p2p;
	phys_addr_t bus = -1;

	if (!addr)
		return 0;
	rcu_read_lock();
	p2p = rcu_dereference(pdev->p2pdma);
	if (p2p)
		bus = gen_pool_virt_to_phys(p2p->pool, (unsigned long)addr);
	rcu_read_unlock();
	return bus == (phys_addr_t)-1 ? 0 : bus;
}
EXPORT_SYMBOL_GPL(pci_p2pmem_virt_to_bus);

/**
 * pci_p2pmem_alloc_sgl - allocate p2pmem as a scatterlist
 * @pdev: provider to allocate from
 * @nents: set to the number of entries of the returned list
 * @length: bytes wanted
 *
 * Return: a scatterlist covering exactly @length bytes, or NULL on failure.
 * Free it with pci_p2pmem_free_sgl().
 */
struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
					 unsigned int *nents, u32 length)
{
	struct scatterlist *sg;
	void *addr;

	if (!length)
		return NULL;
	sg = kmalloc(sizeof(*sg), GFP_KERNEL);
	if (!sg)
		return NULL;
	addr = pci_p2pmem_alloc(pdev, length);
	if (!addr) {
		kfree(sg);
		return NULL;
	}
	sg_init_one(sg, addr, length);
	*nents = 1;
	return sg;
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
