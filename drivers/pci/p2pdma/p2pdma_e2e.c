// SPDX-License-Identifier: GPL-2.0
/*
 * Debugfs hooks for the P2PDMA end-to-end tests run in QEMU.  Test kernels
 * only: the files do privileged things (open block devices, write them).
 *
 * /sys/kernel/debug/p2pdma_e2e/distance
 *	write "PROVIDER CLIENT" (PCI device names); read back
 *	"distance=N map=TYPE" and, when refused, "reason=..."
 *
 * /sys/kernel/debug/p2pdma_e2e/copy
 *	write "PROVIDER SRC DST BYTES": copies BYTES from the start of block
 *	device SRC to DST through a p2pmem buffer of PROVIDER, one chunk at a
 *	time (read SRC into p2pmem, write p2pmem to DST).  The write fails with
 *	the copy's errno; reading returns "copied=N chunks=N".  That the data
 *	went through the BAR shows in the provider's dma_mapped_bytes.
 *
 * /sys/kernel/debug/p2pdma_e2e/find
 *	write up to 4 client PCI device names; read back the provider
 *	pci_p2pmem_find_many() chose for them, "provider=NAME distance=N",
 *	or "provider=none".
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/memremap.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci-p2pdma.h>

#include "p2pdma.h"

#define E2E_CHUNK	SZ_1M

static DEFINE_MUTEX(e2e_lock);
static char e2e_result[256];
static struct dentry *e2e_dir;

static struct pci_dev *e2e_pci_dev(const char *name)
{
	struct device *dev = bus_find_device_by_name(&pci_bus_type, NULL, name);

	return dev ? to_pci_dev(dev) : NULL;
}

static __printf(1, 2) void e2e_set_result(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(e2e_result, sizeof(e2e_result), fmt, args);
	va_end(args);
}

static int e2e_distance(const char *prov_name, const char *client_name)
{
	struct pci_dev *provider, *client;
	struct p2pdma_path path;
	int ret = -ENODEV;

	provider = e2e_pci_dev(prov_name);
	client = e2e_pci_dev(client_name);
	if (!provider || !client)
		goto out;

	p2pdma_path_calc(provider, client, &path);
	/* Through the exported API too, so a refusal is logged verbosely. */
	ret = pci_p2pdma_distance(provider, &client->dev, true);
	if (ret != path.distance) {
		e2e_set_result("inconsistent distance %d vs %d\n", ret,
			       path.distance);
		ret = -EIO;
		goto out;
	}
	e2e_set_result("distance=%d map=%s%s%s\n", path.distance,
		       p2pdma_map_name(path.map),
		       path.reason ? " reason=" : "",
		       path.reason ?: "");
	ret = 0;
out:
	pci_dev_put(client);
	pci_dev_put(provider);
	return ret;
}

#define E2E_MAX_CLIENTS	4

static int e2e_find(const char *names)
{
	struct device *clients[E2E_MAX_CLIENTS];
	char name[E2E_MAX_CLIENTS][32];
	struct pci_dev *provider, *pdev;
	int n, i, ret = 0;

	n = sscanf(names, "%31s %31s %31s %31s", name[0], name[1], name[2],
		   name[3]);
	if (n < 1)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		pdev = e2e_pci_dev(name[i]);
		if (!pdev) {
			ret = -ENODEV;
			n = i;
			goto put;
		}
		clients[i] = &pdev->dev;
	}

	provider = pci_p2pmem_find_many(clients, n);
	if (provider)
		e2e_set_result("provider=%s distance=%d\n", pci_name(provider),
			       pci_p2pdma_distance_many(provider, clients, n,
							false));
	else
		e2e_set_result("provider=none\n");
	pci_dev_put(provider);
put:
	while (n--)
		put_device(clients[n]);
	return ret;
}

static int e2e_rw(struct block_device *bdev, blk_opf_t op, u64 pos,
		  void *buf, size_t len)
{
	struct bio *bio;
	size_t done;
	int ret;

	bio = bio_alloc(bdev, DIV_ROUND_UP(len, PAGE_SIZE), op, GFP_KERNEL);
	bio->bi_iter.bi_sector = pos >> SECTOR_SHIFT;
	for (done = 0; done < len; done += PAGE_SIZE) {
		size_t n = min_t(size_t, PAGE_SIZE, len - done);

		if (bio_add_page(bio, virt_to_page(buf + done), n, 0) != n) {
			bio_put(bio);
			return -EIO;
		}
	}
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

static int e2e_copy_through(struct pci_dev *provider, struct block_device *src,
			    struct block_device *dst, u64 bytes)
{
	struct device *clients[] = {
		disk_to_dev(src->bd_disk), disk_to_dev(dst->bd_disk),
	};
	u64 pos, chunks = 0;
	void *buf;
	int ret = 0;

	if (!blk_queue_pci_p2pdma(bdev_get_queue(src)) ||
	    !blk_queue_pci_p2pdma(bdev_get_queue(dst)))
		return -EOPNOTSUPP;
	if (pci_p2pdma_distance_many(provider, clients, 2, true) < 0)
		return -EREMOTEIO;

	buf = pci_p2pmem_alloc(provider, E2E_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < bytes && !ret; pos += E2E_CHUNK, chunks++) {
		size_t len = min_t(u64, E2E_CHUNK, bytes - pos);

		ret = e2e_rw(src, REQ_OP_READ, pos, buf, len);
		if (!ret)
			ret = e2e_rw(dst, REQ_OP_WRITE | REQ_FUA, pos, buf, len);
	}
	if (!ret)
		e2e_set_result("copied=%llu chunks=%llu\n", bytes, chunks);
	pci_p2pmem_free(provider, buf, E2E_CHUNK);
	return ret;
}

/*
 * A block device by path, through a file that holds it open: the same
 * calls on every kernel the overlay builds for (the blkdev_get_by_path()
 * family changed its signature twice since 6.1).
 */
static struct file *e2e_open_bdev(const char *path, int flags,
				  struct block_device **bdev)
{
	struct file *file = filp_open(path, flags, 0);

	if (IS_ERR(file))
		return file;
	if (!S_ISBLK(file_inode(file)->i_mode)) {
		filp_close(file, NULL);
		return ERR_PTR(-ENOTBLK);
	}
	*bdev = I_BDEV(file->f_mapping->host);
	return file;
}

static int e2e_copy(const char *prov_name, const char *src_path,
		    const char *dst_path, u64 bytes)
{
	struct block_device *src, *dst;
	struct file *src_file, *dst_file;
	struct pci_dev *provider;
	int ret;

	if (!bytes || bytes % SECTOR_SIZE)
		return -EINVAL;
	provider = e2e_pci_dev(prov_name);
	if (!provider)
		return -ENODEV;

	src_file = e2e_open_bdev(src_path, O_RDONLY, &src);
	if (IS_ERR(src_file)) {
		ret = PTR_ERR(src_file);
		goto put_provider;
	}
	dst_file = e2e_open_bdev(dst_path, O_WRONLY, &dst);
	if (IS_ERR(dst_file)) {
		ret = PTR_ERR(dst_file);
		goto put_src;
	}

	ret = e2e_copy_through(provider, src, dst, bytes);

	filp_close(dst_file, NULL);
put_src:
	filp_close(src_file, NULL);
put_provider:
	pci_dev_put(provider);
	return ret;
}

enum e2e_op { E2E_DISTANCE, E2E_COPY, E2E_FIND };

static ssize_t e2e_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos, enum e2e_op op)
{
	char buf[192], a[32], b[64], c[64];
	unsigned long long bytes = 0;
	int n, ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	mutex_lock(&e2e_lock);
	e2e_set_result("error\n");
	switch (op) {
	case E2E_COPY:
		n = sscanf(buf, "%31s %63s %63s %llu", a, b, c, &bytes);
		ret = n == 4 ? e2e_copy(a, b, c, bytes) : -EINVAL;
		break;
	case E2E_DISTANCE:
		n = sscanf(buf, "%31s %63s", a, b);
		ret = n == 2 ? e2e_distance(a, b) : -EINVAL;
		break;
	default:
		ret = e2e_find(buf);
		break;
	}
	if (ret)
		e2e_set_result("error=%d\n", ret);
	mutex_unlock(&e2e_lock);
	return ret ?: count;
}

static ssize_t e2e_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&e2e_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, e2e_result,
				      strlen(e2e_result));
	mutex_unlock(&e2e_lock);
	return ret;
}

static ssize_t e2e_distance_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	return e2e_write(file, ubuf, count, ppos, E2E_DISTANCE);
}

static ssize_t e2e_copy_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	return e2e_write(file, ubuf, count, ppos, E2E_COPY);
}

static ssize_t e2e_find_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	return e2e_write(file, ubuf, count, ppos, E2E_FIND);
}

static const struct file_operations e2e_distance_fops = {
	.owner = THIS_MODULE,
	.read = e2e_read,
	.write = e2e_distance_write,
};

static const struct file_operations e2e_copy_fops = {
	.owner = THIS_MODULE,
	.read = e2e_read,
	.write = e2e_copy_write,
};

static const struct file_operations e2e_find_fops = {
	.owner = THIS_MODULE,
	.read = e2e_read,
	.write = e2e_find_write,
};

static int __init p2pdma_e2e_init(void)
{
	e2e_dir = debugfs_create_dir("p2pdma_e2e", NULL);
	debugfs_create_file("distance", 0600, e2e_dir, NULL, &e2e_distance_fops);
	debugfs_create_file("copy", 0600, e2e_dir, NULL, &e2e_copy_fops);
	debugfs_create_file("find", 0600, e2e_dir, NULL, &e2e_find_fops);
	return 0;
}

static void __exit p2pdma_e2e_exit(void)
{
	debugfs_remove_recursive(e2e_dir);
}

module_init(p2pdma_e2e_init);
module_exit(p2pdma_e2e_exit);
MODULE_DESCRIPTION("PCI P2PDMA end-to-end test hooks");
MODULE_LICENSE("GPL");
