// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma_compat - an out-of-tree driver written for upstream's P2PDMA API,
 * built with M= against the test kernel: every P2PDMA call below uses
 * upstream's spelling only, so that this file builds unchanged against
 * the upstream kernel of each pinned tree as well.
 *
 * It binds to a device the administrator names (driver_override), registers
 * and publishes a BAR, and checks upstream's entry points one by one,
 * printing "p2pdma_compat: ok - WHAT" or "p2pdma_compat: not ok - WHAT"
 * for each.  /dev/p2pdma_compat then maps p2pmem the way such drivers do:
 * pci_alloc_p2pmem() at mmap(), pci_free_p2pmem() when the mapping goes.
 * Like those drivers, it must not be unbound while a mapping is live.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kref.h>
#include <linux/memremap.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>

/* Built on 6.12 too, whose <linux/slab.h> has no kzalloc_obj(). */
#ifndef kzalloc_obj
#define kzalloc_obj(p) kzalloc(sizeof(p), GFP_KERNEL)
#endif

static int bar = 2;
module_param(bar, int, 0444);
MODULE_PARM_DESC(bar, "the BAR to register (default: 2, ivshmem's)");

/* The bound device; mmap() and unbind exclude each other with the lock. */
static DEFINE_MUTEX(compat_lock);
static struct pci_dev *compat_pdev;

static int failures;

static void check(bool ok, const char *what)
{
	if (ok) {
		pr_info("ok - %s\n", what);
	} else {
		pr_info("not ok - %s\n", what);
		failures++;
	}
}

static void check_alloc(struct pci_dev *pdev)
{
	pci_bus_addr_t start = pci_bus_address(pdev, bar);
	pci_bus_addr_t bus;
	u8 *buf;

	buf = pci_alloc_p2pmem(pdev, SZ_64K);
	check(buf, "pci_alloc_p2pmem() 64 KiB");
	if (!buf)
		return;
	check(is_pci_p2pdma_page(virt_to_page(buf)),
	      "is_pci_p2pdma_page() on it");
	bus = pci_p2pmem_virt_to_bus(pdev, buf);
	check(bus >= start && bus < start + pci_resource_len(pdev, bar),
	      "pci_p2pmem_virt_to_bus() is inside the BAR");
	buf[0] = 0xa5;
	buf[SZ_64K - 1] = 0x5a;
	check(buf[0] == 0xa5 && buf[SZ_64K - 1] == 0x5a,
	      "the memory holds what was written");
	pci_free_p2pmem(pdev, buf, SZ_64K);
}

static void check_sgl(struct pci_dev *pdev)
{
	struct scatterlist *sgl, *sg;
	unsigned int nents = 0, i;
	u64 total = 0;

	sgl = pci_p2pmem_alloc_sgl(pdev, &nents, SZ_128K);
	check(sgl && nents >= 1, "pci_p2pmem_alloc_sgl() 128 KiB");
	if (!sgl)
		return;
	for_each_sg(sgl, sg, nents, i)
		total += sg->length;
	check(total == SZ_128K, "its entries add up to 128 KiB");
	pci_p2pmem_free_sgl(pdev, sgl);
}

/* What nvmet's configfs "p2pmem" attribute reads and writes through. */
static void check_enable(struct pci_dev *pdev)
{
	struct pci_dev *found = NULL;
	char page[64];
	bool use = true;
	int ret;

	ret = pci_p2pdma_enable_store("0", &found, &use);
	check(!ret && !use && !found, "pci_p2pdma_enable_store(\"0\")");
	ret = pci_p2pdma_enable_store("1", &found, &use);
	check(!ret && use && !found, "pci_p2pdma_enable_store(\"1\")");
	ret = pci_p2pdma_enable_store(pci_name(pdev), &found, &use);
	check(!ret && use && found == pdev,
	      "pci_p2pdma_enable_store() of the device's name");
	pci_dev_put(found);
	found = NULL;
	ret = pci_p2pdma_enable_store("no-such-device", &found, &use);
	check(ret == -ENODEV, "pci_p2pdma_enable_store() of no device: ENODEV");

	pci_p2pdma_enable_show(page, NULL, false);
	check(!strcmp(page, "0\n"), "pci_p2pdma_enable_show() off: \"0\"");
	pci_p2pdma_enable_show(page, NULL, true);
	check(!strcmp(page, "1\n"), "pci_p2pdma_enable_show() auto: \"1\"");
	pci_p2pdma_enable_show(page, pdev, true);
	check(!strncmp(page, pci_name(pdev), strlen(pci_name(pdev))) &&
	      !strcmp(page + strlen(pci_name(pdev)), "\n"),
	      "pci_p2pdma_enable_show() of a device: its name");
}

static void check_api(struct pci_dev *pdev)
{
	struct device *self = &pdev->dev;
	struct pci_dev *found;

	check(!pci_has_p2pmem(pdev), "pci_has_p2pmem() is false before publishing");
	pci_p2pmem_publish(pdev, true);
	check(pci_has_p2pmem(pdev), "pci_has_p2pmem() is true once published");
	check(pci_p2pdma_distance(pdev, self, false) == 0,
	      "pci_p2pdma_distance() to itself is 0");
	check(pci_p2pdma_distance_many(pdev, &self, 1, true) == 0,
	      "pci_p2pdma_distance_many() to itself is 0");
	found = pci_p2pmem_find(self);
	check(found == pdev, "pci_p2pmem_find() for itself finds it");
	pci_dev_put(found);
	found = pci_p2pmem_find_many(&self, 1);
	check(found == pdev, "pci_p2pmem_find_many() for itself finds it");
	pci_dev_put(found);
	check_alloc(pdev);
	check_sgl(pdev);
	check_enable(pdev);
}

/* One allocation, shared by the vmas mremap() may make of the mapping. */
struct compat_map {
	struct kref ref;
	struct pci_dev *pdev;
	void *buf;
	size_t len;
};

static void compat_map_release(struct kref *ref)
{
	struct compat_map *map = container_of(ref, struct compat_map, ref);

	pci_free_p2pmem(map->pdev, map->buf, map->len);
	kfree(map);
}

static void compat_vm_open(struct vm_area_struct *vma)
{
	struct compat_map *map = vma->vm_private_data;

	kref_get(&map->ref);
}

static void compat_vm_close(struct vm_area_struct *vma)
{
	struct compat_map *map = vma->vm_private_data;

	kref_put(&map->ref, compat_map_release);
}

/* One allocation per mapping: it may not be split. */
static int compat_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct compat_vm_ops = {
	.open = compat_vm_open,
	.close = compat_vm_close,
	.may_split = compat_vm_may_split,
};

static int compat_map_pages(struct vm_area_struct *vma, struct compat_map *map)
{
	unsigned long off;
	int ret;

	for (off = 0; off < map->len; off += PAGE_SIZE) {
		ret = vm_insert_page(vma, vma->vm_start + off,
				     virt_to_page(map->buf + off));
		if (ret)
			return ret;
	}
	return 0;
}

static int compat_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct compat_map *map;
	int ret = -ENODEV;

	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff)
		return -EINVAL;
	map = kzalloc_obj(*map);
	if (!map)
		return -ENOMEM;
	kref_init(&map->ref);
	mutex_lock(&compat_lock);
	if (!compat_pdev)
		goto fail;
	map->pdev = compat_pdev;
	map->len = vma->vm_end - vma->vm_start;
	ret = -ENOMEM;
	map->buf = pci_alloc_p2pmem(map->pdev, map->len);
	if (!map->buf)
		goto fail;
	memset(map->buf, 0, map->len);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND);
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	ret = compat_map_pages(vma, map);
	if (ret) {
		/*
		 * The failing mmap() unmaps what was inserted, without
		 * ->close(), before the process can touch it.
		 */
		pci_free_p2pmem(map->pdev, map->buf, map->len);
		goto fail;
	}
	vma->vm_private_data = map;
	vma->vm_ops = &compat_vm_ops;
	mutex_unlock(&compat_lock);
	return 0;

fail:
	mutex_unlock(&compat_lock);
	kfree(map);
	return ret;
}

static const struct file_operations compat_fops = {
	.owner = THIS_MODULE,
	.mmap = compat_mmap,
};

static struct miscdevice compat_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "p2pdma_compat",
	.fops = &compat_fops,
	.mode = 0600,
};

static int compat_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_p2pdma_add_resource(pdev, bar, 0, 0);
	check(!ret, "pci_p2pdma_add_resource() of the whole BAR");
	if (ret)
		return ret;
	failures = 0;
	check_api(pdev);
	pr_info("%d failures\n", failures);

	mutex_lock(&compat_lock);
	compat_pdev = pdev;
	mutex_unlock(&compat_lock);
	return 0;
}

static void compat_remove(struct pci_dev *pdev)
{
	mutex_lock(&compat_lock);
	compat_pdev = NULL;
	mutex_unlock(&compat_lock);
}

static struct pci_driver compat_driver = {
	.name = "p2pdma_compat",
	.probe = compat_probe,
	.remove = compat_remove,
};

static int __init compat_init(void)
{
	int ret = misc_register(&compat_misc);

	if (ret)
		return ret;
	ret = pci_register_driver(&compat_driver);
	if (ret)
		misc_deregister(&compat_misc);
	return ret;
}
module_init(compat_init);

static void __exit compat_exit(void)
{
	pci_unregister_driver(&compat_driver);
	misc_deregister(&compat_misc);
}
module_exit(compat_exit);

MODULE_DESCRIPTION("A driver of upstream's P2PDMA API, for compatibility tests");
MODULE_LICENSE("GPL");
