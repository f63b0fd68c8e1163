// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA userspace face: a provider's life, as userspace sees it.
 *
 * The registry calls in here, and nothing else does:
 *
 *  - add:     the provider registers its first pages.  Its p2pmem/
 *             directory appears (with allocate hidden), and the file its
 *             mappings will move to is made (mmap.c).
 *  - publish: its memory is offered to others, or withdrawn.  Offered,
 *             p2pmem/allocate shows and /dev/p2pmemN appears; withdrawn,
 *             every mapping and dma-buf export is revoked first, then
 *             both go.  Called under
 *             the provider's publish_lock, so that the files follow the
 *             flag in the order it changed.
 *  - remove:  the provider, withdrawn, is going (or its first range
 *             failed): p2pmem/ goes, waiting for calls into it.
 *
 * Memory a driver keeps to itself (an NVMe CMB holding queues) is never
 * userspace's: mappings exist only while the provider is published.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/err.h>
#include <linux/init.h>
#include <linux/pci.h>

#include "userspace.h"

static int p2pdma_userspace_add(struct pci_p2pdma *p2p)
{
	int err;

	mutex_init(&p2p->dmabufs_lock);
	INIT_LIST_HEAD(&p2p->dmabufs);
	err = p2pdma_user_init(p2p);
	if (err)
		return err;
	err = p2pdma_sysfs_add(p2p);
	if (err)
		p2pdma_user_free(p2p);
	return err;
}

/* The node is a convenience: the provider is published without it. */
static void p2pdma_userspace_add_node(struct pci_p2pdma *p2p)
{
	struct p2pmem_chardev *cd = p2pdma_chardev_add(p2p);

	if (IS_ERR(cd))
		pci_warn(p2p->pdev, "no /dev/p2pmem device: error %ld\n",
			 PTR_ERR(cd));
	else
		p2p->chardev = cd;
}

static void p2pdma_userspace_remove_node(struct pci_p2pdma *p2p)
{
	if (p2p->chardev)
		p2pdma_chardev_remove(p2p->chardev);
	p2p->chardev = NULL;
}

static void p2pdma_userspace_publish(struct pci_p2pdma *p2p, bool publish)
{
	/* Not added: the topology suite's fake providers have no files. */
	if (!p2p->user_file)
		return;
	if (publish) {
		p2pdma_user_open(p2p);
		p2pdma_userspace_add_node(p2p);
	} else {
		/* Revoking mappings stops exports under way, too. */
		p2pdma_user_revoke(p2p);
		p2pdma_dmabuf_revoke(p2p);
		p2pdma_userspace_remove_node(p2p);
	}
	p2pdma_sysfs_show_allocate(p2p, publish);
}

static void p2pdma_userspace_remove(struct pci_p2pdma *p2p)
{
	p2pdma_sysfs_remove(p2p);
	/* No mmap() can come now: the node went with the publishing. */
	p2pdma_user_free(p2p);
}

static const struct p2pdma_face_ops p2pdma_userspace_ops = {
	.add = p2pdma_userspace_add,
	.publish = p2pdma_userspace_publish,
	.remove = p2pdma_userspace_remove,
};

/* Providers register memory from device_initcall on. */
static int __init p2pdma_userspace_init(void)
{
	p2pdma_face_register(&p2pdma_userspace_ops);
	return 0;
}
subsys_initcall(p2pdma_userspace_init);
