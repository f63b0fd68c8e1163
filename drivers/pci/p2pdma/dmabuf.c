// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA dma-buf export: p2pmem of a published provider handed to
 * another device or subsystem as a dma-buf, and revoked when the provider
 * is withdrawn.
 *
 * The memory is allocated at export, cleared as a userspace mapping's is
 * (it may reach userspace through the dma-buf's mmap()), and held by the
 * dma-buf: it owns one reference to each page.  CPU mappings of the
 * dma-buf and GUP (O_DIRECT on them) take more, as on p2pmem/allocate, and
 * the pages go back to the pool through p2pdma_folio_free() when the last
 * one goes.
 *
 * Importers: an attachment must take memory without struct pages (it gets
 * DMA addresses only, see dma_buf_phys_vec_to_sgt()) and must be
 * revocable, with an invalidate_mappings() callback.  One that cannot be
 * told to let go is refused rather than waited for: it would hold the
 * provider's unbind, and a hot-unplug, for as long as it likes.  An
 * importer out of the provider's reach is refused at attach, with the
 * reason in the log.
 *
 * Revocation, when the provider is withdrawn (unpublished, unbound or
 * unplugged; face.c calls p2pdma_dmabuf_revoke() after the mappings'
 * revocation): each export is marked revoked under its reservation lock,
 * its importers are told, their fences waited for, and their mappings
 * waited for until they unmapped.  Then its CPU mappings are zapped (a
 * fault inserts one page at a time and checks the mark first, so no page
 * can be mapped after), and the dma-buf drops its pages.  The dma-buf
 * itself lives on, empty, until its last user puts it: mapping it fails
 * with -ENODEV and touching a CPU mapping raises SIGBUS.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/completion.h>
#include <linux/dma-buf-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/p2pmem.h>
#include <linux/pci-p2pdma.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "userspace.h"

MODULE_IMPORT_NS("DMA_BUF");

/*
 * A dma-buf exported from a provider.  @p2p and @pieces are only used
 * while @revoked is false: until then the pages pin the provider.
 */
struct p2pdma_dmabuf {
	struct dma_buf *dmabuf;
	struct pci_p2pdma *p2p;
	struct p2pdma_provider *mem;	/* the BAR of every piece */
	struct list_head node;		/* p2p->dmabufs, p2p->dmabufs_lock */
	struct phys_vec *pieces;	/* CPU physical, page aligned */
	u32 nr_pieces;
	/*
	 * 1 while the pages are the export's: whoever takes it to 0, the
	 * revocation or the release, puts them, and first unlinks @node.
	 * A revocation that did completes @pages_gone once done with the
	 * export, which the release waits for before freeing it.
	 */
	atomic_t pages_held;
	struct completion pages_gone;
	/*
	 * @revoked is set under both the reservation lock (against
	 * importers mapping) and @fault_lock held for writing (against CPU
	 * faults); either lock is enough to read it.
	 */
	bool revoked;
	struct rw_semaphore fault_lock;
	unsigned int nr_mapped;		/* sg tables handed out, resv lock */
	wait_queue_head_t unmapped;	/* woken when @nr_mapped drops to 0 */
};

/* The page at byte @offset of the export. */
static struct page *p2pdma_dmabuf_page(struct p2pdma_dmabuf *buf,
				       size_t offset)
{
	u32 i;

	for (i = 0; i < buf->nr_pieces; i++) {
		if (offset < buf->pieces[i].len)
			return pfn_to_page(PHYS_PFN(buf->pieces[i].paddr + offset));
		offset -= buf->pieces[i].len;
	}
	return NULL;
}

/*
 * Give the pages back: the last of their references returns them.  The
 * provider is still pinned by them, so counted first.  The caller owns
 * them: it took @pages_held to 0, or never exported them.
 */
static void p2pdma_dmabuf_put_pages(struct p2pdma_dmabuf *buf)
{
	struct page *page;
	size_t off, bytes = 0;
	u32 i;

	/* An export that failed before its first run has no provider. */
	if (!buf->nr_pieces)
		return;
	for (i = 0; i < buf->nr_pieces; i++)
		bytes += buf->pieces[i].len;
	this_cpu_add(buf->p2p->stats->dmabuf_bytes_returned, bytes);
	for (i = 0; i < buf->nr_pieces; i++) {
		page = pfn_to_page(PHYS_PFN(buf->pieces[i].paddr));
		for (off = 0; off < buf->pieces[i].len; off += PAGE_SIZE)
			put_page(page++);
	}
}

static int p2pdma_dmabuf_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct p2pdma_dmabuf *buf = dmabuf->priv;
	int ret = 0;

	/* The addresses are of a BAR: no struct page for the importer. */
	if (!attach->peer2peer || !dma_buf_attach_revocable(attach)) {
		dev_info_ratelimited(attach->dev, "dma-buf import refused: the importer takes no peer memory or cannot be revoked\n");
		return -EOPNOTSUPP;
	}
	/*
	 * Not revoked, under the lock that revocation sets it under: the
	 * provider, whose @mem this is, stays until the lock is dropped.
	 * An importer that is no PCI function (iommufd's) names no device
	 * that will DMA: its reach is decided when it maps, by the map or
	 * by p2pdma_dmabuf_phys_ranges().
	 */
	dma_resv_lock(dmabuf->resv, NULL);
	if (buf->revoked)
		ret = -ENODEV;
	/* pci_p2pdma_map_type() logs the reason of a refusal. */
	else if (dev_is_pci(attach->dev) &&
		 pci_p2pdma_map_type(buf->mem, attach->dev) ==
		 PCI_P2PDMA_MAP_NOT_SUPPORTED)
		ret = -EREMOTEIO;
	dma_resv_unlock(dmabuf->resv);
	return ret;
}

static struct sg_table *p2pdma_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct p2pdma_dmabuf *buf = attach->dmabuf->priv;
	enum pci_p2pdma_map_type map;
	struct sg_table *sgt;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (buf->revoked)
		return ERR_PTR(-ENODEV);
	/* An importer that is no PCI function, as at attach for the others. */
	map = pci_p2pdma_map_type(buf->mem, attach->dev);
	if (map == PCI_P2PDMA_MAP_NOT_SUPPORTED)
		return ERR_PTR(-EREMOTEIO);
	sgt = dma_buf_phys_vec_to_sgt(attach, buf->mem, buf->pieces,
				      buf->nr_pieces, attach->dmabuf->size,
				      dir);
	if (IS_ERR(sgt))
		return sgt;
	WRITE_ONCE(buf->nr_mapped, buf->nr_mapped + 1);
	/* On the importer's path, with the kernel's own mappings. */
	p2pdma_account_map(buf->p2p->account, attach->dev, map,
			   attach->dmabuf->size);
	return sgt;
}

static void p2pdma_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	struct p2pdma_dmabuf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	dma_buf_free_sgt(attach, sgt, dir);
	WRITE_ONCE(buf->nr_mapped, buf->nr_mapped - 1);
	if (!buf->nr_mapped)
		wake_up_all(&buf->unmapped);
}

/*
 * For an importer that maps the memory into an IOMMU itself (iommufd), for
 * devices it does not name: their requests turn around in the provider's
 * root complex, which must route P2P.  Counted as a mapping on that path.
 */
static int p2pdma_dmabuf_phys_ranges(struct dma_buf_attachment *attach,
				     struct phys_vec *ranges, unsigned int max)
{
	struct p2pdma_dmabuf *buf = attach->dmabuf->priv;
	struct p2pdma_path path;
	struct pci_dev *pdev;
	char text[200];

	dma_resv_assert_held(attach->dmabuf->resv);
	if (buf->revoked)
		return -ENODEV;
	pdev = buf->p2p->pdev;
	p2pdma_path_via_iommu(pdev, &path);
	if (path.map == PCI_P2PDMA_MAP_NOT_SUPPORTED) {
		p2pdma_account_refusal(buf->p2p->account, attach->dev,
				       path.reason);
		p2pdma_refusal_text(text, sizeof(text), attach->dev, &path);
		/* The root complex's function, if found, is what to vouch for. */
		if (path.where)
			dev_warn_ratelimited(&pdev->dev, "dma-buf import through an IOMMU %s; if it routes P2P, add pci_p2pdma.host_bridges=%04x:%04x\n",
					     text, path.where->vendor,
					     path.where->device);
		else
			dev_warn_ratelimited(&pdev->dev, "dma-buf import through an IOMMU %s\n",
					     text);
		return -EREMOTEIO;
	}
	/* Too many pieces: the importer gives up, and has mapped nothing. */
	if (buf->nr_pieces > max)
		return buf->nr_pieces;
	memcpy(ranges, buf->pieces, buf->nr_pieces * sizeof(*ranges));
	p2pdma_account_map(buf->p2p->account, attach->dev, path.map,
			   attach->dmabuf->size);
	return buf->nr_pieces;
}

static vm_fault_t p2pdma_dmabuf_fault(struct vm_fault *vmf)
{
	struct p2pdma_dmabuf *buf = vmf->vma->vm_private_data;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct page *page;

	down_read(&buf->fault_lock);
	if (!buf->revoked) {
		page = p2pdma_dmabuf_page(buf, vmf->pgoff << PAGE_SHIFT);
		if (page)
			ret = vmf_insert_page_mkwrite(vmf, page,
						      vmf->flags & FAULT_FLAG_WRITE);
	}
	up_read(&buf->fault_lock);
	return ret;
}

static const struct vm_operations_struct p2pdma_dmabuf_vm_ops = {
	.fault = p2pdma_dmabuf_fault,
};

/*
 * Pages are inserted by the fault handler, one at a time, so that none can
 * be mapped once the export is revoked: a page inserted here, before the
 * vma is linked where the revocation's zap finds it, could escape it.
 */
static int p2pdma_dmabuf_mmap(struct dma_buf *dmabuf,
			      struct vm_area_struct *vma)
{
	struct p2pdma_dmabuf *buf = dmabuf->priv;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* A hint only: the fault handler checks under its lock. */
	if (READ_ONCE(buf->revoked))
		return -ENODEV;
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	/* As the kernel's own mapping of the BAR: see p2pdma_mmap(). */
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = &p2pdma_dmabuf_vm_ops;
	vma->vm_private_data = buf;
	return 0;
}

static void p2pdma_dmabuf_release(struct dma_buf *dmabuf)
{
	struct p2pdma_dmabuf *buf = dmabuf->priv;

	/*
	 * The last reference is gone, so no revocation holds one.  Unless a
	 * revocation took the pages already (and may have let the provider
	 * go since), they are ours, and keep the provider and its list.
	 */
	if (atomic_xchg(&buf->pages_held, 0)) {
		mutex_lock(&buf->p2p->dmabufs_lock);
		list_del_init(&buf->node);
		mutex_unlock(&buf->p2p->dmabufs_lock);
		p2pdma_dmabuf_put_pages(buf);
	} else {
		wait_for_completion(&buf->pages_gone);
	}
	kfree(buf->pieces);
	kfree(buf);
}

static const struct dma_buf_ops p2pdma_dmabuf_ops = {
	.attach = p2pdma_dmabuf_attach,
	.map_dma_buf = p2pdma_dmabuf_map,
	.unmap_dma_buf = p2pdma_dmabuf_unmap,
	.phys_ranges = p2pdma_dmabuf_phys_ranges,
	.mmap = p2pdma_dmabuf_mmap,
	.release = p2pdma_dmabuf_release,
};

/*
 * Take the pages of a run for the dma-buf: one reference each, as a
 * mapping's page table entry would hold, and dirty, as an importer may
 * write them without the CPU knowing.
 */
static void p2pdma_dmabuf_own(unsigned long addr, u32 nr)
{
	struct page *page = virt_to_page((void *)addr);
	u32 i;

	for (i = 0; i < nr; i++, page++) {
		VM_WARN_ON_ONCE_PAGE(page_ref_count(page), page);
		set_page_count(page, 1);
		folio_set_dirty(page_folio(page));
	}
}

/*
 * Most pieces of one export: a fragmented pool still serves it, and the
 * importer's table stays short.
 */
#define P2PDMA_DMABUF_MAX_PIECES	64U

/*
 * Whether a run at @paddr fits in the pieces: it follows the last one, or
 * there is room for one more.
 */
static bool p2pdma_dmabuf_fits(struct p2pdma_dmabuf *buf, phys_addr_t paddr)
{
	struct phys_vec *last;

	if (!buf->nr_pieces)
		return true;
	last = &buf->pieces[buf->nr_pieces - 1];
	return last->paddr + last->len == paddr ||
	       buf->nr_pieces < P2PDMA_DMABUF_MAX_PIECES;
}

/* Add a run that fits to the pieces. */
static void p2pdma_dmabuf_add_piece(struct p2pdma_dmabuf *buf,
				    phys_addr_t paddr, u32 nr)
{
	struct phys_vec *last = buf->nr_pieces ?
				&buf->pieces[buf->nr_pieces - 1] : NULL;

	if (last && last->paddr + last->len == paddr) {
		last->len += (size_t)nr << PAGE_SHIFT;
		return;
	}
	buf->pieces[buf->nr_pieces].paddr = paddr;
	buf->pieces[buf->nr_pieces++].len = (size_t)nr << PAGE_SHIFT;
}

/* The BAR provider of the pages at @addr. */
static struct p2pdma_provider *p2pdma_dmabuf_mem(unsigned long addr)
{
	return p2pdma_range_of_page(virt_to_page((void *)addr))->pagemap.mem;
}

/*
 * Take a run the pool gave for the export: cleared, owned, one more piece.
 * All of one BAR, as an importer maps the export through one provider,
 * and in at most P2PDMA_DMABUF_MAX_PIECES pieces: a run that does not fit
 * is given back, and the export fails.
 */
static int p2pdma_dmabuf_take(struct p2pdma_dmabuf *buf, unsigned long addr,
			      u32 nr, const unsigned long *clean)
{
	phys_addr_t paddr = virt_to_phys((void *)addr);
	struct pci_p2pdma *p2p = buf->p2p;

	if ((buf->mem && p2pdma_dmabuf_mem(addr) != buf->mem) ||
	    !p2pdma_dmabuf_fits(buf, paddr)) {
		p2pdma_free_pages(p2p, addr, (size_t)nr << PAGE_SHIFT, false);
		return -ENOMEM;
	}
	buf->mem = p2pdma_dmabuf_mem(addr);
	this_cpu_add(p2p->stats->map_cleared_bytes,
		     p2pdma_clear_dirty(addr, clean, 0, nr));
	p2pdma_dmabuf_own(addr, nr);
	this_cpu_add(p2p->stats->user_pages_mapped, nr);
	this_cpu_add(p2p->stats->dmabuf_bytes_taken, (u64)nr << PAGE_SHIFT);
	p2pdma_dmabuf_add_piece(buf, paddr, nr);
	return 0;
}

/*
 * The rest of the export's @nr pages, in as few pieces as the pool has.
 * Clearing is slow, so a large export yields between runs, and gives up
 * when its caller is killed or the provider withdrawn, which waits for it
 * (user_sem), as a mapping does.
 */
static int p2pdma_dmabuf_fill(struct p2pdma_dmabuf *buf, unsigned long nr)
{
	DECLARE_BITMAP(clean, P2PDMA_POOL_BLOCK_PAGES);
	struct pci_p2pdma *p2p = buf->p2p;
	unsigned long addr;
	bool held = false;
	int err = 0;
	u32 n;

	while (nr && !err) {
		err = p2pdma_user_stop(p2p);
		if (err)
			break;
		n = min(nr, P2PDMA_POOL_BLOCK_PAGES);
		err = p2pdma_user_alloc(p2p, &n, clean, &held, &addr);
		if (err)
			break;
		err = p2pdma_dmabuf_take(buf, addr, n, clean);
		nr -= n;
	}
	if (held)
		p2pdma_clear_release(p2p);
	return err;
}

/*
 * The first run of an export of @total pages, from @pdev if it is
 * published and has that many free: an export it cannot serve clears
 * nothing.  Nothing pins the provider before: the run's pages do after,
 * as the teardown waits for every page.  Return: its address, or 0; @nr
 * in and out as for p2pdma_alloc_upto().
 */
static unsigned long p2pdma_dmabuf_first(struct pci_dev *pdev,
					 unsigned long total,
					 struct pci_p2pdma **p2pp, u32 *nr,
					 unsigned long *clean)
{
	unsigned long addr = 0;
	struct pci_p2pdma *p2p;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(pdev);
	if (p2p && READ_ONCE(p2p->published) &&
	    p2pdma_pool_has_room(p2p->pool, total))
		addr = p2pdma_alloc_upto(p2p, nr, clean);
	rcu_read_unlock();
	*p2pp = addr ? p2p : NULL;
	return addr;
}

static struct p2pdma_dmabuf *p2pdma_dmabuf_alloc(unsigned long nr)
{
	struct p2pdma_dmabuf *buf;

	buf = kzalloc_obj(*buf);
	if (!buf)
		return NULL;
	buf->pieces = kcalloc(min(nr, P2PDMA_DMABUF_MAX_PIECES),
			      sizeof(*buf->pieces), GFP_KERNEL);
	if (!buf->pieces) {
		kfree(buf);
		return NULL;
	}
	init_rwsem(&buf->fault_lock);
	init_waitqueue_head(&buf->unmapped);
	INIT_LIST_HEAD(&buf->node);
	atomic_set(&buf->pages_held, 1);
	init_completion(&buf->pages_gone);
	return buf;
}

/* Undo p2pdma_dmabuf_alloc() and what p2pdma_dmabuf_fill() took. */
static void p2pdma_dmabuf_free(struct p2pdma_dmabuf *buf)
{
	p2pdma_dmabuf_put_pages(buf);
	kfree(buf->pieces);
	kfree(buf);
}

static struct dma_buf *p2pdma_dmabuf_export(struct p2pdma_dmabuf *buf,
					    size_t size, int flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dma_buf *dmabuf;
	char *name;

	exp_info.ops = &p2pdma_dmabuf_ops;
	exp_info.size = size;
	exp_info.flags = flags;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf))
		return dmabuf;
	buf->dmabuf = dmabuf;
	/* fdinfo's name: the provider.  The dma-buf core frees it. */
	name = kstrdup(pci_name(buf->p2p->pdev), GFP_KERNEL);
	spin_lock(&dmabuf->name_lock);
	dmabuf->name = name;
	spin_unlock(&dmabuf->name_lock);
	return dmabuf;
}

/**
 * pci_p2pmem_export_dmabuf - allocate p2pmem and export it as a dma-buf
 * @pdev: a provider with published p2pmem
 * @size: bytes wanted; rounded up to whole pages
 * @flags: the dma-buf file's flags (O_CLOEXEC, O_ACCMODE), as dma_buf_fd()
 *	and dma_buf_export() take them
 *
 * The memory is contiguous when the pool has a free run that long, and
 * otherwise in up to 64 pieces, all in one BAR.  It holds zeros.  Importers must
 * be revocable and take memory without struct pages
 * (&dma_buf_attach_ops.allow_peer2peer and .invalidate_mappings); one out
 * of @pdev's reach is refused at attach with -EREMOTEIO.  The dma-buf may
 * be mapped into userspace with mmap(), shared only, where O_DIRECT works
 * on it as on p2pmem/allocate.
 *
 * When @pdev's memory is withdrawn (unpublished, or its driver unbound)
 * the export is revoked: importers are told to unmap and waited for, CPU
 * mappings are zapped, and the memory goes back to @pdev once the last
 * page reference (an O_DIRECT I/O in flight, say) is gone.
 *
 * Context: process context; may sleep.
 *
 * Return: the dma-buf, with one reference for the caller to pass on or
 * dma_buf_put(); ERR_PTR(-EINVAL) for a size of 0, -ENODEV if @pdev's
 * p2pmem is not published or is being withdrawn, -ENOMEM if it has not
 * enough free memory in one BAR, -EINTR if the caller was killed.
 */
struct dma_buf *pci_p2pmem_export_dmabuf(struct pci_dev *pdev, size_t size,
					 int flags)
{
	DECLARE_BITMAP(clean, P2PDMA_POOL_BLOCK_PAGES);
	unsigned long nr = PAGE_ALIGN(size) >> PAGE_SHIFT;
	struct p2pdma_dmabuf *buf;
	struct pci_p2pdma *p2p;
	struct dma_buf *dmabuf;
	unsigned long addr;
	u32 n;
	int err;

	if (!nr)
		return ERR_PTR(-EINVAL);
	buf = p2pdma_dmabuf_alloc(nr);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	n = min(nr, P2PDMA_POOL_BLOCK_PAGES);
	addr = p2pdma_dmabuf_first(pdev, nr, &p2p, &n, clean);
	if (!addr) {
		p2pdma_dmabuf_free(buf);
		/* Published but short of memory, or withdrawn (or dying). */
		return ERR_PTR(pci_has_p2pmem(pdev) ? -ENOMEM : -ENODEV);
	}
	buf->p2p = p2p;
	err = p2pdma_dmabuf_take(buf, addr, n, clean);
	if (err)
		goto free;
	/* The revocation of the provider's userspace waits for us. */
	down_read(&p2p->user_sem);
	err = -ENODEV;
	if (READ_ONCE(p2p->user_revoked))
		goto unlock;
	err = p2pdma_dmabuf_fill(buf, nr - n);
	if (err)
		goto unlock;
	dmabuf = p2pdma_dmabuf_export(buf, nr << PAGE_SHIFT, flags);
	if (IS_ERR(dmabuf)) {
		err = PTR_ERR(dmabuf);
		goto unlock;
	}
	mutex_lock(&p2p->dmabufs_lock);
	list_add_tail(&buf->node, &p2p->dmabufs);
	mutex_unlock(&p2p->dmabufs_lock);
	this_cpu_inc(p2p->stats->dmabuf_exports);
	up_read(&p2p->user_sem);
	return dmabuf;

unlock:
	up_read(&p2p->user_sem);
free:
	p2pdma_dmabuf_free(buf);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_export_dmabuf);

/**
 * p2pdma_dmabuf_export_fd - P2PMEM_IOC_EXPORT_DMABUF of /dev/p2pmemN
 * @pdev: the node's provider
 * @uarg: the caller's struct p2pmem_export_dmabuf
 *
 * Return: 0, with the new descriptor in @uarg->fd; -EFAULT; -EINVAL for
 * a size of 0 or beyond size_t, flags other than O_CLOEXEC with O_RDWR
 * or O_RDONLY, or a reserved field that is not 0; -EMFILE; or an error
 * of pci_p2pmem_export_dmabuf().
 */
int p2pdma_dmabuf_export_fd(struct pci_dev *pdev,
			    struct p2pmem_export_dmabuf __user *uarg)
{
	struct p2pmem_export_dmabuf arg;
	struct dma_buf *dmabuf;
	int fd;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(O_CLOEXEC | O_ACCMODE) ||
	    ((arg.flags & O_ACCMODE) != O_RDWR &&
	     (arg.flags & O_ACCMODE) != O_RDONLY) ||
	    !arg.size || arg.size > SIZE_MAX ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	fd = get_unused_fd_flags(arg.flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	dmabuf = pci_p2pmem_export_dmabuf(pdev, arg.size, arg.flags);
	if (IS_ERR(dmabuf)) {
		put_unused_fd(fd);
		return PTR_ERR(dmabuf);
	}
	/* Installed last: userspace sees no descriptor of a failed call. */
	if (put_user(fd, &uarg->fd)) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	dma_buf_fd_install(dmabuf, fd);
	return 0;
}

/*
 * Revocation waits for importers to unmap, and nothing bounds how long one
 * takes: say whom the provider's withdrawal waits for, every ten seconds.
 */
#define P2PDMA_DMABUF_WAIT_REPORT	(10 * HZ)

static void p2pdma_dmabuf_wait_unmapped(struct p2pdma_dmabuf *buf)
{
	unsigned long since = jiffies;

	while (!wait_event_timeout(buf->unmapped, !READ_ONCE(buf->nr_mapped),
				   P2PDMA_DMABUF_WAIT_REPORT))
		pci_warn(buf->p2p->pdev, "revoking a dma-buf waits %lus for %u mappings of its importers\n",
			 (jiffies - since) / HZ, READ_ONCE(buf->nr_mapped));
}

/* Revoke one export, whose file the caller holds a reference to. */
static void p2pdma_dmabuf_revoke_one(struct p2pdma_dmabuf *buf)
{
	struct dma_buf *dmabuf = buf->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	down_write(&buf->fault_lock);
	WRITE_ONCE(buf->revoked, true);
	up_write(&buf->fault_lock);
	dma_buf_invalidate_mappings(dmabuf);
	dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP, false,
			      MAX_SCHEDULE_TIMEOUT);
	dma_resv_unlock(dmabuf->resv);
	p2pdma_dmabuf_wait_unmapped(buf);
	/* No fault maps a page any more: zap those mapped before. */
	unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);
	/* Unlinked already: the release finds nothing to do. */
	if (atomic_xchg(&buf->pages_held, 0))
		p2pdma_dmabuf_put_pages(buf);
	complete_all(&buf->pages_gone);
}

/**
 * p2pdma_dmabuf_revoke - revoke every dma-buf exported from a provider
 * @p2p: the provider, whose mappings were just revoked: no export starts
 *
 * Returns once every importer has unmapped and every CPU mapping is gone;
 * the pages come back to the pool when their last reference goes.
 */
void p2pdma_dmabuf_revoke(struct pci_p2pdma *p2p)
{
	struct p2pdma_dmabuf *buf, *tmp;
	LIST_HEAD(revoking);
	LIST_HEAD(dropping);

	mutex_lock(&p2p->dmabufs_lock);
	list_for_each_entry_safe(buf, tmp, &p2p->dmabufs, node) {
		if (get_file_active(&buf->dmabuf->file)) {
			list_move_tail(&buf->node, &revoking);
			continue;
		}
		/*
		 * Its last reference went, and its release may wait long: a
		 * deferred fput of the task unbinding the provider runs only
		 * after the unbind, which waits for these pages.  Nothing maps
		 * them any more (no file, no vma, no attachment): take them.
		 */
		if (atomic_xchg(&buf->pages_held, 0))
			list_move_tail(&buf->node, &dropping);
	}
	mutex_unlock(&p2p->dmabufs_lock);

	list_for_each_entry_safe(buf, tmp, &dropping, node) {
		list_del_init(&buf->node);
		p2pdma_dmabuf_put_pages(buf);
		/* Its release may free it from here on. */
		complete_all(&buf->pages_gone);
	}
	list_for_each_entry_safe(buf, tmp, &revoking, node) {
		list_del_init(&buf->node);
		p2pdma_dmabuf_revoke_one(buf);
		/* Maybe the last reference: the release finds no pages. */
		fput(buf->dmabuf->file);
	}
}

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "dmabuf-test.h"
#endif
