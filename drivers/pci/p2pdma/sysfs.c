// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA sysfs: /sys/bus/pci/devices/<bdf>/p2pmem/, present on every
 * device that registered peer-to-peer memory.
 *
 *   size       bytes registered, all ranges together
 *   available  bytes not allocated
 *   published  1 if other drivers may find and use the memory, else 0
 *   allocate   each shared mmap() of it allocates p2pmem for the caller
 *
 * The pages of an allocate mapping are put in the page tables up front;
 * each holds one reference, owned by its page table entry.  munmap(), exit
 * or the revocation that removing the file does drop it, and the page goes
 * back to the allocator from p2pdma_page_free().  Page pinning (GUP) hands
 * these pages only to callers that ask for them with FOLL_PCI_P2PDMA.
 */
#include <linux/mm.h>
#include <linux/pci-p2pdma.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>

#include "p2pdma.h"

static ssize_t p2pmem_emit(struct device *dev, char *buf,
			   size_t (*measure)(struct pci_p2pdma *p2p))
{
	struct pci_p2pdma *p2p;
	size_t val = 0;

	rcu_read_lock();
	p2p = rcu_dereference(to_pci_dev(dev)->p2pdma);
	if (p2p)
		val = measure(p2p);
	rcu_read_unlock();
	return sysfs_emit(buf, "%zu\n", val);
}

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return p2pmem_emit(dev, buf, p2pdma_mem_size);
}
static DEVICE_ATTR_RO(size);

static ssize_t available_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return p2pmem_emit(dev, buf, p2pdma_mem_avail);
}
static DEVICE_ATTR_RO(available);

static size_t p2pdma_is_published(struct pci_p2pdma *p2p)
{
	return READ_ONCE(p2p->published);
}

static ssize_t published_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return p2pmem_emit(dev, buf, p2pdma_is_published);
}
static DEVICE_ATTR_RO(published);

/* Map @nr pages from @addr at @uaddr; on error free those not mapped. */
static int p2pmem_insert_pages(struct pci_p2pdma *p2p,
			       struct vm_area_struct *vma, unsigned long uaddr,
			       unsigned long addr, unsigned long nr)
{
	unsigned long i;
	int err;

	for (i = 0; i < nr; i++) {
		struct page *page = virt_to_page((void *)addr + i * PAGE_SIZE);

		err = vm_insert_page(vma, uaddr + i * PAGE_SIZE, page);
		if (err) {
			p2pdma_pool_free(&p2p->pool, addr + i * PAGE_SIZE,
					 (nr - i) << PAGE_SHIFT);
			return err;
		}
		/* The page table entry now owns the page's only reference. */
		atomic_long_inc(&p2p->user_pages);
		put_page(page);
	}
	return 0;
}

static int p2pmem_check_vma(struct pci_dev *pdev, struct vm_area_struct *vma)
{
	/* VM_SHARED is not set for read-only mappings: check what was asked. */
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		pci_info_ratelimited(pdev, "p2pmem: %s: refusing a private mapping of allocate\n",
				     current->comm);
		return -EINVAL;
	}
	if (vma->vm_pgoff) {
		pci_info_ratelimited(pdev, "p2pmem: %s: allocate maps only at offset 0\n",
				     current->comm);
		return -EINVAL;
	}
	return 0;
}

static int p2pmem_alloc_mmap(struct file *filp, struct kobject *kobj,
			     struct bin_attribute *attr,
			     struct vm_area_struct *vma)
{
	struct pci_dev *pdev = to_pci_dev(kobj_to_dev(kobj));
	unsigned long uaddr = vma->vm_start, addr;
	struct pci_p2pdma *p2p;
	int err;

	err = p2pmem_check_vma(pdev, vma);
	if (err)
		return err;
	/*
	 * Alive while this file is: the teardown removes the file, which
	 * waits for us, before it frees the state.
	 */
	p2p = rcu_dereference_protected(pdev->p2pdma, 1);
	if (vma_pages(vma) > p2pdma_mem_avail(p2p) >> PAGE_SHIFT) {
		pci_info_ratelimited(pdev, "p2pmem: %s: %lu KiB wanted, %zu KiB free\n",
				     current->comm,
				     (vma->vm_end - vma->vm_start) >> 10,
				     p2pdma_mem_avail(p2p) >> 10);
		return -ENOMEM;
	}

	/* Growing the mapping later could only fault. */
	vma->vm_flags |= VM_DONTEXPAND;
	/*
	 * memremap_pages() maps P2PDMA memory uncached in the kernel; an
	 * alias with another memory type is undefined on x86.
	 */
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	atomic_long_inc(&p2p->user_maps);
	while (uaddr < vma->vm_end) {
		u32 nr = min((vma->vm_end - uaddr) >> PAGE_SHIFT,
			     1UL << P2PDMA_MAX_ORDER);

		addr = p2pdma_pool_alloc_upto(&p2p->pool, &nr);
		if (!addr)
			return -ENOMEM;
		/*
		 * On failure the pages already mapped come back when mmap()
		 * tears the half-built mapping down.
		 */
		err = p2pmem_insert_pages(p2p, vma, uaddr, addr, nr);
		if (err)
			return err;
		uaddr += (unsigned long)nr << PAGE_SHIFT;
	}
	return 0;
}

static struct bin_attribute p2pmem_allocate = {
	.attr = { .name = "allocate", .mode = 0600 },
	.mmap = p2pmem_alloc_mmap,
	/* Tools check the file size before mapping; any size may be mapped. */
	.size = SZ_1T,
};

static struct bin_attribute *p2pmem_bin_attrs[] = {
	&p2pmem_allocate,
	NULL,
};

static struct attribute *p2pmem_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_available.attr,
	&dev_attr_published.attr,
	NULL,
};

const struct attribute_group p2pmem_group = {
	.name = "p2pmem",
	.attrs = p2pmem_attrs,
	.bin_attrs = p2pmem_bin_attrs,
};
