// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA character devices: /dev/p2pmemN, one per published provider,
 * of class "p2pmem".  Tools written before p2pmem/allocate existed take a
 * "p2pmem device" to map; mmap() of a node is mmap() of p2pmem/allocate
 * (mmap.c): the same allocation, clearing and revocation.  Its one ioctl,
 * P2PMEM_IOC_EXPORT_DMABUF (<uapi/linux/p2pmem.h>), exports p2pmem as a
 * dma-buf instead (dmabuf.c).
 *
 * A node exists while its provider is published (face.c adds and removes
 * it, under the provider's publish_lock).  A file opened on it may outlive
 * the provider: it holds the node's struct device, whose @p2p is cleared
 * under @lock before the provider can go, so ->mmap() sees either a live
 * provider or none.
 *
 * The class device has no parent, so it lives in /sys/devices/virtual/:
 * under the PCI function, the class's glue directory would be called
 * "p2pmem", which is already the name of the function's p2pmem/ group.
 * It links to the function as "device" itself, as a child would.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/p2pmem.h>

#include "userspace.h"

#define P2PMEM_MAX_DEVS	1024

struct p2pmem_chardev {
	struct device dev;
	struct cdev cdev;
	struct rw_semaphore lock;	/* held for reading by ->mmap() */
	struct pci_p2pdma *p2p;		/* NULL once unpublished, @lock */
	struct pci_dev *pdev;		/* the provider, referenced */
};

static dev_t p2pmem_devt;
static DEFINE_IDA(p2pmem_ida);

static int p2pmem_open(struct inode *inode, struct file *filp)
{
	/* The open file holds the cdev, and the cdev its device. */
	filp->private_data = container_of(inode->i_cdev,
					  struct p2pmem_chardev, cdev);
	return nonseekable_open(inode, filp);
}

static int p2pmem_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct p2pmem_chardev *cd = filp->private_data;
	int ret = -ENODEV;

	down_read(&cd->lock);
	if (cd->p2p)
		ret = p2pdma_mmap(cd->p2p, vma);
	up_read(&cd->lock);
	return ret;
}

/*
 * As ->mmap(): a file opened on a node that went fails with ENODEV, even
 * once the provider is published again under another node.  A look
 * without @lock, which the export could not hold: it copies from and to
 * userspace, which may fault and take the mmap_lock that ->mmap() holds
 * around @lock.  A node removed just after the look exports from the
 * provider, published or not: the export checks that itself.
 */
static long p2pmem_ioctl(struct file *filp, unsigned int cmd,
			 unsigned long arg)
{
	struct p2pmem_chardev *cd = filp->private_data;

	if (cmd != P2PMEM_IOC_EXPORT_DMABUF)
		return -ENOTTY;
	/* What a dma-buf holds is the node's memory: as mmap() wants. */
	if (!(filp->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!READ_ONCE(cd->p2p))
		return -ENODEV;
	return p2pdma_dmabuf_export_fd(cd->pdev, (void __user *)arg);
}

static const struct file_operations p2pmem_fops = {
	.owner = THIS_MODULE,
	.open = p2pmem_open,
	.mmap = p2pmem_mmap,
	.unlocked_ioctl = p2pmem_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* No .llseek: with nonseekable_open(), lseek() fails with ESPIPE. */
};

/* udev finds the provider without following the "device" link. */
static int p2pmem_uevent(const struct device *dev, struct kobj_uevent_env *env)
{
	const struct p2pmem_chardev *cd =
		container_of(dev, struct p2pmem_chardev, dev);

	return add_uevent_var(env, "PCI_SLOT_NAME=%s", pci_name(cd->pdev));
}

static struct class p2pmem_class = {
	.name = "p2pmem",
	.dev_uevent = p2pmem_uevent,
};

static void p2pmem_chardev_release(struct device *dev)
{
	struct p2pmem_chardev *cd = container_of(dev, struct p2pmem_chardev, dev);

	pci_dev_put(cd->pdev);
	kfree(cd);
}

/**
 * p2pdma_chardev_add - create /dev/p2pmemN for a provider being published
 * @p2p: the provider
 *
 * Root only: devtmpfs creates the node 0600.
 *
 * Return: the node, or an ERR_PTR() the caller logs: the provider is
 * published all the same.
 */
struct p2pmem_chardev *p2pdma_chardev_add(struct pci_p2pdma *p2p)
{
	struct p2pmem_chardev *cd;
	int id, err;

	if (!p2pmem_devt)
		return ERR_PTR(-ENODEV);	/* the initcall failed */
	id = ida_alloc_max(&p2pmem_ida, P2PMEM_MAX_DEVS - 1, GFP_KERNEL);
	if (id < 0)
		return ERR_PTR(id);
	cd = kzalloc_obj(*cd);
	if (!cd) {
		ida_free(&p2pmem_ida, id);
		return ERR_PTR(-ENOMEM);
	}
	init_rwsem(&cd->lock);
	cd->p2p = p2p;
	cd->pdev = pci_dev_get(p2p->pdev);
	device_initialize(&cd->dev);
	cd->dev.class = &p2pmem_class;
	cd->dev.devt = MKDEV(MAJOR(p2pmem_devt), id);
	cd->dev.release = p2pmem_chardev_release;
	cdev_init(&cd->cdev, &p2pmem_fops);
	cd->cdev.owner = THIS_MODULE;

	err = dev_set_name(&cd->dev, "p2pmem%d", id);
	if (err)
		goto put;
	err = cdev_device_add(&cd->cdev, &cd->dev);
	if (err)
		goto put;
	err = sysfs_create_link(&cd->dev.kobj, &cd->pdev->dev.kobj, "device");
	if (err) {
		cdev_device_del(&cd->cdev, &cd->dev);
		goto put;
	}
	return cd;

put:
	/* The release frees @cd and its reference to the provider. */
	put_device(&cd->dev);
	ida_free(&p2pmem_ida, id);
	return ERR_PTR(err);
}

/**
 * p2pdma_chardev_remove - remove a provider's /dev/p2pmemN
 * @cd: what p2pdma_chardev_add() returned
 *
 * Files still open on the node can no longer map: the caller revokes the
 * mappings made through it with the provider's others.  Its number is free
 * for the next node at once.
 */
void p2pdma_chardev_remove(struct p2pmem_chardev *cd)
{
	sysfs_remove_link(&cd->dev.kobj, "device");
	cdev_device_del(&cd->cdev, &cd->dev);
	/*
	 * The number is free once the node is gone, though a file open on
	 * it keeps @cd: an open file never looks its dev_t up again, and a
	 * number held until the last close would let a file kept open across
	 * each publishing use them all up.
	 */
	ida_free(&p2pmem_ida, MINOR(cd->dev.devt));
	down_write(&cd->lock);
	WRITE_ONCE(cd->p2p, NULL);
	up_write(&cd->lock);
	put_device(&cd->dev);
}

/* Before providers can be published: they register at device_initcall. */
static int __init p2pmem_chardev_init(void)
{
	dev_t devt;
	int err;

	err = alloc_chrdev_region(&devt, 0, P2PMEM_MAX_DEVS, "p2pmem");
	if (err)
		goto fail;
	err = class_register(&p2pmem_class);
	if (err) {
		unregister_chrdev_region(devt, P2PMEM_MAX_DEVS);
		goto fail;
	}
	p2pmem_devt = devt;
	return 0;

fail:
	pr_warn("no /dev/p2pmem devices: error %d\n", err);
	return 0;
}
subsys_initcall(p2pmem_chardev_init);
