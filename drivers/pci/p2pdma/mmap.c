// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA userspace mappings: each shared mmap() of a provider's
 * p2pmem/allocate file, or of its /dev/p2pmemN (chardev.c), allocates that
 * much p2pmem and maps it.  Both exist while the provider is published:
 * memory its driver keeps to itself is not userspace's either.
 *
 * The refcount rule: a free p2pmem page has a count of zero, as the memory
 * map starts it.  Mapping a page gives it one reference, owned by its page
 * table entry; GUP (with FOLL_PCI_P2PDMA) may take more.  When the last one
 * goes, by munmap(), exit, or revocation (below), mm/memremap.c calls
 * p2pdma_folio_free(), which gives the page back to the allocator.  Pages
 * of kernel allocations are never mapped, so their count stays zero and
 * they never come through here.
 *
 * Pages hold zeros when they are mapped: they may hold what another
 * process, or a kernel user such as nvmet, left in them, so those the pool
 * does not know to be clean are cleared (clear.c).  That is slow (uncached
 * stores to a BAR), so it goes in steps, between which a killed mapper
 * stops, and so does every mapper once the provider is withdrawn.  A page
 * is mapped read-only, so that its first write faults: that marks it dirty
 * (and so do unmapping a dirty entry and unpinning after a DMA write).  A
 * page that comes back unwritten goes back to the pool clean.
 *
 * Revocation: every mapping, whichever file it was made through, is moved
 * to one file of the provider's own, on a small internal filesystem, and
 * revoking zaps that file's address space.  The file a mapping was made
 * through cannot be relied on for that: mmap() links the new vma into its
 * file only after ->mmap() returned, and kernfs zaps its files' mappings
 * when a removal has waited for running ->mmap() calls, so a mapping made
 * just before it would escape, and the teardown wait for its pages forever.
 * Here ->mmap() and revocation exclude each other (user_sem), and each
 * ->mmap() notes its process's mm.  The mapper holds its mmap_lock for
 * writing from before ->mmap() until the vma is linked into the provider's
 * file, so once revocation has taken and dropped the mmap_lock of every mm
 * noted, every mapping made before is where the zap finds it.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pci-p2pdma.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "userspace.h"
#include "trace.h"

/*
 * The first write to a page lands here, as does one after its entry was
 * write-protected again (mprotect() read-only and back, a soft-dirty
 * reset): with this hook the mapping is write-notify, as a file mapping
 * is.  The page is dirty from now on, and will be cleared before it is
 * mapped again.  With no page->mapping, the fault code would take the page
 * for truncated unless it comes back locked, and retry the write forever.
 * Nothing is written back, so there is nothing else to account: hand the
 * page back locked, and the fault makes the entry writable.
 */
static vm_fault_t p2pdma_page_mkwrite(struct vm_fault *vmf)
{
	struct folio *folio = page_folio(vmf->page);

	folio_lock(folio);
	folio_mark_dirty(folio);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct p2pdma_vm_ops = {
	.page_mkwrite = p2pdma_page_mkwrite,
};

/*
 * Clearing is uncached stores to a BAR, each its own PCIe write (on QEMU,
 * an exit per store): a few hundred MB/s at best, so all of a large BAR
 * takes seconds.  What a mapping clears itself is done in steps of this
 * many pages, and between two the mapper yields the CPU, dies when killed,
 * and gives up when the provider is being withdrawn, which waits for it.
 */
#define P2PDMA_MMAP_STEP_PAGES	16UL

/**
 * p2pdma_user_stop - why a mapping or an export under way has to stop now
 * @p2p: the provider, whose user_sem the caller holds for reading
 *
 * Yields the CPU first: call it between two steps of clearing.
 *
 * Return: 0 to go on, -EINTR once the caller is killed, -ENODEV once the
 * provider is being withdrawn.
 */
int p2pdma_user_stop(struct pci_p2pdma *p2p)
{
	cond_resched();
	if (fatal_signal_pending(current))
		return -EINTR;
	/* Set before revocation waits for ->mmap(): see p2pdma_user_revoke(). */
	if (READ_ONCE(p2p->user_revoked))
		return -ENODEV;
	return 0;
}

/*
 * Clear the pages of @nr at @addr that @clean does not have, and map them
 * all at @uaddr, a step at a time; on error free those not mapped.
 */
static int p2pdma_insert_pages(struct pci_p2pdma *p2p,
			       struct vm_area_struct *vma, unsigned long uaddr,
			       unsigned long addr, unsigned long nr,
			       const unsigned long *clean)
{
	struct page *pages[P2PDMA_MMAP_STEP_PAGES];
	unsigned long i, j, n, left;
	size_t cleared;
	int err = 0;

	for (i = 0; i < nr; i += n) {
		n = min(nr - i, P2PDMA_MMAP_STEP_PAGES);
		err = p2pdma_user_stop(p2p);
		if (err)
			break;
		cleared = p2pdma_clear_dirty(addr, clean, i, i + n);
		this_cpu_add(p2p->stats->map_cleared_bytes, cleared);
		for (j = 0; j < n; j++) {
			pages[j] = virt_to_page((void *)addr + (i + j) * PAGE_SIZE);
			/* Free pages have no reference: take one to insert with. */
			VM_WARN_ON_ONCE_PAGE(page_ref_count(pages[j]), pages[j]);
			set_page_count(pages[j], 1);
		}
		/* One page table lock for several pages, not one each. */
		left = n;
		err = vm_insert_pages(vma, uaddr + i * PAGE_SIZE, pages, &left);
		/* The page table entries now own the pages' only reference. */
		this_cpu_add(p2p->stats->user_pages_mapped, n - left);
		for (j = 0; j < n - left; j++)
			put_page(pages[j]);
		if (err) {
			/* Back to free without p2pdma_folio_free(). */
			for (; j < n; j++)
				set_page_count(pages[j], 0);
			i += n - left;
			break;
		}
	}
	/* Some of them may be clean; dirty is never wrong. */
	if (err)
		p2pdma_free_pages(p2p, addr + i * PAGE_SIZE,
				  (nr - i) << PAGE_SHIFT, false);
	return err;
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
 * p2pdma_user_alloc - allocate a run of pages for userspace
 * @p2p: the provider, whose user_sem the caller holds for reading
 * @nr: in, the most pages wanted; out, the pages allocated
 * @clean: a bitmap of at least @nr bits: which pages are clean
 * @held: whether the caller holds the clearer off already; the caller
 *	calls p2pdma_clear_release() once it is done, if this comes back true
 * @addr: out, the address of the first page
 *
 * Free pages may be lent to the clearer, or just back from it, which a
 * look at what it has lent cannot tell apart from none: on a first
 * failure, this takes them back, keeps the clearer off, and tries once
 * more.
 *
 * Return: 0, -ENOMEM, or -ENODEV when the provider is going away (a
 * removal stops the allocator before it revokes the mappings: that is no
 * shortage of memory).
 */
int p2pdma_user_alloc(struct pci_p2pdma *p2p, u32 *nr, unsigned long *clean,
		      bool *held, unsigned long *addr)
{
	u32 want = *nr;

	*addr = p2pdma_alloc_upto(p2p, nr, clean);
	if (!*addr && !*held) {
		p2pdma_clear_hold(p2p);
		*held = true;
		*nr = want;
		*addr = p2pdma_alloc_upto(p2p, nr, clean);
	}
	if (*addr)
		return 0;
	return p2pdma_pool_dying(p2p->pool) ? -ENODEV : -ENOMEM;
}

/* A process that mapped a provider's memory since the last revocation. */
struct p2pdma_user_mm {
	struct list_head node;
	struct mm_struct *mm;		/* grabbed */
	/* Who mapped first, for the reports of a revocation that waits. */
	pid_t tgid;
	char comm[TASK_COMM_LEN];
};

/*
 * Whether @mm is noted; those of processes that exited move to @gone.
 * Called with user_mms_lock held.
 */
static bool p2pdma_user_mm_noted(struct pci_p2pdma *p2p, struct mm_struct *mm,
				 struct list_head *gone)
{
	struct p2pdma_user_mm *um, *tmp;
	bool noted = false;

	list_for_each_entry_safe(um, tmp, &p2p->user_mms, node) {
		if (um->mm == mm)
			noted = true;
		else if (!atomic_read(&um->mm->mm_users))
			/* Gone: it links no vma any more. */
			list_move(&um->node, gone);
	}
	return noted;
}

/*
 * Note the mapping process's mm, for revocation; forget exited ones.  Only
 * its first mapping since the last revocation allocates: the mmap_lock,
 * held for writing, keeps every other mapping of @mm out meanwhile, and
 * the caller's user_sem the revocation.
 */
static int p2pdma_user_note_mm(struct pci_p2pdma *p2p, struct mm_struct *mm)
{
	struct p2pdma_user_mm *um, *tmp, *new = NULL;
	LIST_HEAD(gone);
	bool noted;

	spin_lock(&p2p->user_mms_lock);
	noted = p2pdma_user_mm_noted(p2p, mm, &gone);
	spin_unlock(&p2p->user_mms_lock);
	if (!noted) {
		new = kmalloc_obj(*new);
		if (new) {
			new->mm = mm;
			new->tgid = task_tgid_nr(current);
			get_task_comm(new->comm, current);
			mmgrab(mm);
			spin_lock(&p2p->user_mms_lock);
			list_add(&new->node, &p2p->user_mms);
			spin_unlock(&p2p->user_mms_lock);
		}
	}
	list_for_each_entry_safe(um, tmp, &gone, node) {
		mmdrop(um->mm);
		kfree(um);
	}
	return noted || new ? 0 : -ENOMEM;
}

/*
 * A revocation waits for the mmap lock of each process noted, and nothing
 * bounds how long another holds it: one that is slow to map something else
 * stalls the provider's withdrawal, and with it unbind and hotplug.  Say
 * whom it waits for, after a second and then every ten.
 */
#define P2PDMA_MM_WAIT_FIRST	HZ
#define P2PDMA_MM_WAIT_EVERY	(10 * HZ)

struct p2pdma_mm_wait {
	struct delayed_work report;
	struct pci_p2pdma *p2p;
	const struct p2pdma_user_mm *um;
	unsigned long since;		/* jiffies */
};

static void p2pdma_mm_wait_report(struct work_struct *work)
{
	struct p2pdma_mm_wait *w = container_of(to_delayed_work(work),
						struct p2pdma_mm_wait, report);

	pci_warn(w->p2p->pdev, "revoking mappings waits %lus for the mmap lock of %s[%d]\n",
		 (jiffies - w->since) / HZ, w->um->comm, w->um->tgid);
	schedule_delayed_work(&w->report, P2PDMA_MM_WAIT_EVERY);
}

/* Wait until the process of @um links no vma under way. */
static void p2pdma_user_wait_mm(struct pci_p2pdma *p2p,
				const struct p2pdma_user_mm *um)
{
	struct p2pdma_mm_wait w = { .p2p = p2p, .um = um, .since = jiffies };

	if (!mmap_read_trylock(um->mm)) {
		INIT_DELAYED_WORK_ONSTACK(&w.report, p2pdma_mm_wait_report);
		schedule_delayed_work(&w.report, P2PDMA_MM_WAIT_FIRST);
		mmap_read_lock(um->mm);
		/* Stops a report that queues itself again, too. */
		cancel_delayed_work_sync(&w.report);
		destroy_delayed_work_on_stack(&w.report);
	}
	mmap_read_unlock(um->mm);
}

/*
 * Wait until the vma of every ->mmap() that got past the check is linked
 * (see the top of this file), and forget the mms.
 */
static void p2pdma_user_wait_mappers(struct pci_p2pdma *p2p)
{
	struct p2pdma_user_mm *um, *tmp;
	LIST_HEAD(mms);

	spin_lock(&p2p->user_mms_lock);
	list_splice_init(&p2p->user_mms, &mms);
	spin_unlock(&p2p->user_mms_lock);
	list_for_each_entry_safe(um, tmp, &mms, node) {
		p2pdma_user_wait_mm(p2p, um);
		mmdrop(um->mm);
		kfree(um);
	}
}

/**
 * p2pdma_mmap - back a new shared mapping with freshly allocated p2pmem
 * @p2p: the provider, pinned by the caller (its file is open)
 * @vma: the mapping being created
 *
 * Every page is allocated, cleared and mapped up front, in bounded steps,
 * and the mapping is moved to the provider's own file, which revocation
 * zaps.  On failure, the pages already mapped come back when mmap() tears
 * the half-built mapping down.
 *
 * Return: 0, -EINVAL for a private mapping or a non-zero offset, -ENODEV
 * once the provider's mappings are revoked (also when that happens during
 * the mapping), -ENOMEM when the provider has not enough free memory,
 * -EINTR when the mapper was killed, or vm_insert_page()'s error.
 */
int p2pdma_mmap(struct pci_p2pdma *p2p, struct vm_area_struct *vma)
{
	DECLARE_BITMAP(clean, P2PDMA_POOL_BLOCK_PAGES);
	unsigned long uaddr = vma->vm_start, addr;
	bool held = false;
	int err;

	err = p2pdma_check_vma(p2p->pdev, vma);
	if (err)
		return err;

	down_read(&p2p->user_sem);
	err = -ENODEV;
	if (READ_ONCE(p2p->user_revoked))
		goto out;
	err = p2pdma_user_note_mm(p2p, current->mm);
	if (err)
		goto out;
	err = -ENOMEM;
	if (!p2pdma_pool_has_room(p2p->pool, vma_pages(vma))) {
		pci_info_ratelimited(p2p->pdev, "%s: %lu KiB wanted, %zu KiB free\n",
				     current->comm,
				     (vma->vm_end - vma->vm_start) >> 10,
				     p2pdma_mem_avail(p2p) >> 10);
		goto out;
	}

	/* Growing the mapping later could only fault. */
	vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &p2pdma_vm_ops;
	/*
	 * memremap_pages() maps P2PDMA memory uncached in the kernel; an
	 * alias with another memory type is undefined on x86.
	 */
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	/*
	 * Write-protected from the start, which mmap() would only do once
	 * this returns: the pages go in read-only, and the first write to
	 * each goes through p2pdma_page_mkwrite().
	 */
	vma_set_page_prot(vma);
	while (uaddr < vma->vm_end) {
		u32 nr = min((vma->vm_end - uaddr) >> PAGE_SHIFT,
			     P2PDMA_POOL_BLOCK_PAGES);

		err = p2pdma_user_alloc(p2p, &nr, clean, &held, &addr);
		if (err)
			goto out;
		err = p2pdma_insert_pages(p2p, vma, uaddr, addr, nr, clean);
		if (err)
			goto out;
		uaddr += (unsigned long)nr << PAGE_SHIFT;
	}
	vma_set_file(vma, p2p->user_file);
	this_cpu_inc(p2p->stats->user_maps);
out:
	if (held)
		p2pdma_clear_release(p2p);
	up_read(&p2p->user_sem);
	return err;
}

/*
 * The filesystem of the providers' own files: one inode each, never
 * opened (its i_fop refuses), only there for its address space.
 */
#define P2PDMA_FS_MAGIC	0x70327066	/* "p2pf" */

static int p2pdma_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, P2PDMA_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type p2pdma_fs_type = {
	.name = "p2pmem",
	.init_fs_context = p2pdma_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* simple_pin_fs(): mounted while some provider has its file. */
static struct vfsmount *p2pdma_fs_mnt;
static int p2pdma_fs_count;

static const struct file_operations p2pdma_user_fops = {
	.owner = THIS_MODULE,
};

/**
 * p2pdma_user_init - create the file a provider's mappings move to
 * @p2p: the provider, registering its first pages
 *
 * Return: 0 or a negative errno.
 */
int p2pdma_user_init(struct pci_p2pdma *p2p)
{
	struct inode *inode;
	struct file *file;
	int err;

	init_rwsem(&p2p->user_sem);
	spin_lock_init(&p2p->user_mms_lock);
	INIT_LIST_HEAD(&p2p->user_mms);
	/* Closed until published. */
	p2p->user_revoked = true;
	err = simple_pin_fs(&p2pdma_fs_type, &p2pdma_fs_mnt, &p2pdma_fs_count);
	if (err)
		return err;
	inode = alloc_anon_inode(p2pdma_fs_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto unpin;
	}
	file = alloc_file_pseudo(inode, p2pdma_fs_mnt, "p2pmem", O_RDWR,
				 &p2pdma_user_fops);
	if (IS_ERR(file)) {
		iput(inode);
		err = PTR_ERR(file);
		goto unpin;
	}
	p2p->user_file = file;
	return 0;

unpin:
	simple_release_fs(&p2pdma_fs_mnt, &p2pdma_fs_count);
	return err;
}

/**
 * p2pdma_user_free - drop the provider's reference to its file
 * @p2p: the provider, revoked, or never published; or without the file
 *
 * Mappings revoked but not yet unmapped keep the file, and its mount,
 * until they go.
 */
void p2pdma_user_free(struct pci_p2pdma *p2p)
{
	if (!p2p->user_file)
		return;
	p2pdma_user_wait_mappers(p2p);
	fput(p2p->user_file);
	p2p->user_file = NULL;
	simple_release_fs(&p2pdma_fs_mnt, &p2pdma_fs_count);
}

/*
 * Unmap every userspace mapping of a provider's p2pmem.  Accesses after
 * this raise SIGBUS; each page comes back to the pool once nothing else
 * (an O_DIRECT I/O, say) holds it.
 */
static void p2pdma_user_zap(struct pci_p2pdma *p2p)
{
	unmap_mapping_range(p2p->user_file->f_mapping, 0, 0, 1);
}

/* What a revocation takes from userspace: pages mapped now, and why. */
static void p2pdma_user_trace_revoke(struct pci_p2pdma *p2p)
{
	struct p2pdma_stats sum;
	u64 mapped;

	p2pdma_stats_sum(p2p, &sum);
	mapped = (sum.user_pages_mapped - sum.user_pages_unmapped) << PAGE_SHIFT;
	trace_p2pdma_revoke(p2p->pdev, "userspace", PCI_P2PDMA_MAP_UNKNOWN,
			    mapped, p2pdma_pool_dying(p2p->pool) ?
				    "provider removed" : "provider unpublished");
}

/**
 * p2pdma_user_revoke - refuse new mappings of a provider, and zap the others
 * @p2p: the provider, being unpublished (publish_lock held)
 *
 * Including those whose mmap() was under way (see the top of this file).
 */
void p2pdma_user_revoke(struct pci_p2pdma *p2p)
{
	if (trace_p2pdma_revoke_enabled())
		p2pdma_user_trace_revoke(p2p);
	/*
	 * Set before waiting for the ->mmap() calls under way, which check it
	 * between two steps and give up: a large mapping then delays the
	 * withdrawal by a step, not by all its clearing.  Taking user_sem
	 * for writing waits for them to go.
	 */
	WRITE_ONCE(p2p->user_revoked, true);
	down_write(&p2p->user_sem);
	up_write(&p2p->user_sem);
	/* The clearer sees the flag too: stop it clearing ahead. */
	p2pdma_clear_stop(p2p);
	p2pdma_user_wait_mappers(p2p);
	p2pdma_user_zap(p2p);
}

/**
 * p2pdma_user_open - let mmap() map a provider being published
 * @p2p: the provider (publish_lock held)
 */
void p2pdma_user_open(struct pci_p2pdma *p2p)
{
	down_write(&p2p->user_sem);
	WRITE_ONCE(p2p->user_revoked, false);
	up_write(&p2p->user_sem);
}
