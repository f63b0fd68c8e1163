// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA sysfs: /sys/bus/pci/devices/<bdf>/p2pmem/, present on every
 * device that registered peer-to-peer memory.
 *
 *   size       bytes registered, all ranges together
 *   available  bytes not allocated
 *   published  1 if other drivers may find and use the memory, else 0
 *   allocate   each shared mmap() of it allocates p2pmem for the caller,
 *              see mmap.c; only while the memory is published
 */
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
	p2p = p2pdma_of_rcu(to_pci_dev(dev));
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

static int p2pmem_alloc_mmap(struct file *filp, struct kobject *kobj,
			     struct bin_attribute *attr,
			     struct vm_area_struct *vma)
{
	struct pci_dev *pdev = to_pci_dev(kobj_to_dev(kobj));

	/* Pinned: the teardown removes this file, which waits for us. */
	return p2pdma_mmap(p2pdma_of_pinned(pdev), vma);
}

static struct bin_attribute p2pmem_allocate = {
	.attr = { .name = "allocate", .mode = 0660 },
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

/* Re-evaluated on publishing, by p2pdma_user_publish(). */
static umode_t p2pmem_bin_visible(struct kobject *kobj,
				  struct bin_attribute *attr, int n)
{
	/* Pinned: called while the provider's driver sets up or publishes. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(to_pci_dev(kobj_to_dev(kobj)));

	return p2p && READ_ONCE(p2p->published) ? attr->attr.mode : 0;
}

const struct attribute_group p2pmem_group = {
	.name = "p2pmem",
	.attrs = p2pmem_attrs,
	.bin_attrs = p2pmem_bin_attrs,
	.is_bin_visible = p2pmem_bin_visible,
};
