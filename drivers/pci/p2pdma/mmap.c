// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA userspace mappings: each shared mmap() of a provider's
 * p2pmem/allocate file allocates that much p2pmem and maps it.
 *
 * The refcount rule: a free p2pmem page has a count of one, owned by the
 * allocator.  Mapping a page hands that reference to its page table entry;
 * GUP (with FOLL_PCI_P2PDMA) may take more.  When the last one goes, by
 * munmap(), exit, or the revocation that removing the sysfs file does,
 * mm/memremap.c calls p2pdma_page_free(), which restores the allocator's
 * reference and frees the page.  Pages of kernel allocations are never
 * mapped, so their count stays one and they never come through here.
 *
 * Pages are cleared before they are mapped: they may hold what another
 * process, or a kernel user such as nvmet, left in them.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pci-p2pdma.h>

#include "p2pdma.h"

static void p2pdma_page_free(struct page *page)
{
	/* The page was allocated, so its range and provider are alive. */
	struct pci_p2pdma *p2p = to_p2pdma_range(page->pgmap)->p2p;

	set_page_count(page, 1);
	/* Set by writes through a mapping; nothing writes p2pmem back. */
	ClearPageDirty(page);
	atomic_long_dec(&p2p->user_pages);
	p2pdma_free_pages(p2p, (unsigned long)page_to_virt(page), PAGE_SIZE);
}

const struct dev_pagemap_ops p2pdma_pgmap_ops = {
	.page_free = p2pdma_page_free,
};

/*
 * A write to a page whose entry is write-protected lands here: kernfs asks
 * to be told of writes to every mapping of its files, so mprotect() and a
 * soft-dirty reset leave entries read-only.  With no page->mapping, the
 * fault code would otherwise take the page for truncated and retry the
 * write forever.  Nothing is written back, so there is nothing to account:
 * hand the page back locked, and the fault makes the entry writable.
 */
static vm_fault_t p2pdma_page_mkwrite(struct vm_fault *vmf)
{
	lock_page(vmf->page);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct p2pdma_vm_ops = {
	.page_mkwrite = p2pdma_page_mkwrite,
};

/* Map @nr pages from @addr at @uaddr; on error free those not mapped. */
static int p2pdma_insert_pages(struct pci_p2pdma *p2p,
			       struct vm_area_struct *vma, unsigned long uaddr,
			       unsigned long addr, unsigned long nr)
{
	unsigned long i;
	int err;

	memset_io((void __iomem __force *)addr, 0, nr << PAGE_SHIFT);
	for (i = 0; i < nr; i++) {
		struct page *page = virt_to_page((void *)addr + i * PAGE_SIZE);

		err = vm_insert_page(vma, uaddr + i * PAGE_SIZE, page);
		if (err) {
			p2pdma_free_pages(p2p, addr + i * PAGE_SIZE,
					  (nr - i) << PAGE_SHIFT);
			return err;
		}
		/* The page table entry now owns the page's only reference. */
		atomic_long_inc(&p2p->user_pages);
		put_page(page);
	}
	return 0;
}

static int p2pdma_check_vma(struct pci_dev *pdev, struct vm_area_struct *vma)
{
	/* VM_SHARED is not set for read-only mappings: check what was asked. */
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		pci_info_ratelimited(pdev, "%s: refusing a private mapping of p2pmem\n",
				     current->comm);
		return -EINVAL;
	}
	if (vma->vm_pgoff) {
		pci_info_ratelimited(pdev, "%s: p2pmem maps only at offset 0\n",
				     current->comm);
		return -EINVAL;
	}
	return 0;
}

/**
 * p2pdma_mmap - back a new shared mapping with freshly allocated p2pmem
 * @p2p: the provider, pinned by the caller (its file is open)
 * @vma: the mapping being created
 *
 * Every page is allocated, cleared and mapped up front.  On failure, the
 * pages already mapped come back when mmap() tears the half-built mapping
 * down.
 *
 * Return: 0, -EINVAL for a private mapping or a non-zero offset, -ENOMEM
 * when the provider has not enough free memory, or vm_insert_page()'s error.
 */
int p2pdma_mmap(struct pci_p2pdma *p2p, struct vm_area_struct *vma)
{
	unsigned long uaddr = vma->vm_start, addr;
	int err;

	err = p2pdma_check_vma(p2p->pdev, vma);
	if (err)
		return err;
	if (vma_pages(vma) > p2pdma_mem_avail(p2p) >> PAGE_SHIFT) {
		pci_info_ratelimited(p2p->pdev, "%s: %lu KiB wanted, %zu KiB free\n",
				     current->comm,
				     (vma->vm_end - vma->vm_start) >> 10,
				     p2pdma_mem_avail(p2p) >> 10);
		return -ENOMEM;
	}

	/* Growing the mapping later could only fault. */
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &p2pdma_vm_ops;
	/*
	 * memremap_pages() maps P2PDMA memory uncached in the kernel; an
	 * alias with another memory type is undefined on x86.
	 */
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	while (uaddr < vma->vm_end) {
		u32 nr = min((vma->vm_end - uaddr) >> PAGE_SHIFT,
			     P2PDMA_POOL_BLOCK_PAGES);

		addr = p2pdma_alloc_upto(p2p, &nr);
		if (!addr)
			return -ENOMEM;
		err = p2pdma_insert_pages(p2p, vma, uaddr, addr, nr);
		if (err)
			return err;
		uaddr += (unsigned long)nr << PAGE_SHIFT;
	}
	atomic_long_inc(&p2p->user_maps);
	return 0;
}
