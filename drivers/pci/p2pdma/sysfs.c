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
#include <linux/kernfs.h>
#include <linux/pci-p2pdma.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>

#include "userspace.h"

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
			     const struct bin_attribute *attr,
			     struct vm_area_struct *vma)
{
	struct pci_dev *pdev = to_pci_dev(kobj_to_dev(kobj));
	/* Pinned: the teardown removes this file, which waits for us. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	/* The file exists a moment before the state is reachable. */
	return p2p ? p2pdma_mmap(p2p, vma) : -ENODEV;
}

static const struct bin_attribute p2pmem_allocate = {
	.attr = { .name = "allocate", .mode = 0660 },
	.mmap = p2pmem_alloc_mmap,
	/* Tools check the file size before mapping; any size may be mapped. */
	.size = SZ_1T,
};

static const struct bin_attribute *const p2pmem_bin_attrs[] = {
	&p2pmem_allocate,
	NULL,
};

static struct attribute *p2pmem_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_available.attr,
	&dev_attr_published.attr,
	NULL,
};

static const struct attribute_group p2pmem_group = {
	.name = "p2pmem",
	.attrs = p2pmem_attrs,
	.bin_attrs = p2pmem_bin_attrs,
};

/**
 * p2pdma_sysfs_add - create a provider's p2pmem/ directory
 * @p2p: the provider, with no pages yet (ranges_lock held)
 *
 * p2pmem/allocate starts hidden: it shows while the memory is published,
 * see p2pdma_sysfs_show_allocate().
 *
 * Return: 0 or a negative errno.
 */
int p2pdma_sysfs_add(struct pci_p2pdma *p2p)
{
	struct kobject *kobj = &p2p->pdev->dev.kobj;
	struct kernfs_node *dir;
	int err;

	err = sysfs_create_group(kobj, &p2pmem_group);
	if (err)
		return err;
	dir = kernfs_find_and_get(kobj->sd, p2pmem_group.name);
	if (dir) {
		p2p->allocate_kn = kernfs_find_and_get(dir, "allocate");
		kernfs_put(dir);
	}
	if (!p2p->allocate_kn) {
		sysfs_remove_group(kobj, &p2pmem_group);
		return -ENOENT;
	}
	kernfs_show(p2p->allocate_kn, false);
	return 0;
}

/**
 * p2pdma_sysfs_show_allocate - show or hide p2pmem/allocate
 * @p2p: the provider
 * @show: whether its memory is published now
 *
 * Hiding waits for mmap() calls of the file under way.  Unlike
 * sysfs_update_group(), which creates the group's files again and drops
 * the whole group if that fails, this cannot fail.
 */
void p2pdma_sysfs_show_allocate(struct pci_p2pdma *p2p, bool show)
{
	if (p2p->allocate_kn)
		kernfs_show(p2p->allocate_kn, show);
}

/**
 * p2pdma_sysfs_remove - remove a provider's p2pmem/ directory, if it has one
 * @p2p: the provider
 *
 * Waits for calls into the files under way.
 */
void p2pdma_sysfs_remove(struct pci_p2pdma *p2p)
{
	/* A provider without pages never had the directory. */
	if (!p2p->allocate_kn)
		return;
	sysfs_remove_group(&p2p->pdev->dev.kobj, &p2pmem_group);
	kernfs_put(p2p->allocate_kn);
	p2p->allocate_kn = NULL;
}
