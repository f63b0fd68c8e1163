// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma_bench - the same P2PDMA measurements on this project's framework
 * and on the upstream drivers/pci/p2pdma.c it replaces.
 *
 * Built out of tree against both kernels (scripts/bench); only API that
 * both have is used, and the allocator's two names are told apart by
 * P2PDMA_BENCH_FRAMEWORK, which the Kbuild file sets when the kernel has
 * drivers/pci/p2pdma/.  Everything runs at insmod, one "p2pdma_bench:
 * RESULT ..." line per figure, then the module stays loaded, idle:
 *
 *   RESULT <metric> <parameter> <cpus> <median> <p99> <samples> <unit>
 *
 *   alloc      4K, 64K, 1M     alloc+free pairs on 1 and 2 CPUs at once
 *                              (alloc_cpus=N: on N only, and nothing else)
 *   alloc_fail 4K              a page asked of a pool with none left
 *                              (all of it taken first, in 1 MiB pieces
 *                              then pages), per failed call
 *   find       2, 8 clients    pci_p2pmem_find_many(), first call (cold,
 *                              one sample) and repeated (cached).
 *                              Warm-up calls with bridges as clients
 *                              come first (bench_find_warm_up());
 *                              the 2-client set (provider, client) is
 *                              looked up before the 8-client one, which
 *                              holds the same two and six more
 *   dma_map    256             dma_map_sgtable() of 256 one-page p2pmem
 *                              segments, per segment
 *   map_type   provider        pci_p2pdma_map_type() of a BAR's provider
 *                              and the DMA client, per call, where a
 *                              module may call it (this framework on
 *                              7.3; upstream does not export it): what
 *                              the pageless mapping paths pay per lookup
 *   copy       p2p, sysmem     NVMe src -> buffer -> NVMe dst in 1 MiB
 *                              bios: MB/s of 5 runs after a warm-up one
 *                              (median and worst), and the bytes of bio
 *                              segments that were system memory
 *                              (copy_sysmem_bytes, for one run)
 *
 * Module parameters name the devices: provider (PCI name), client (PCI
 * name of a DMA client for dma_map), src and dst (block device paths);
 * copy_only=1 runs only the copies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

/*
 * Names, not calls: the series' Coccinelle rename runs over every file of
 * the tree, this one included, and would rewrite upstream's calls.
 */
#ifdef P2PDMA_BENCH_FRAMEWORK
#define bench_alloc	pci_p2pmem_alloc
#define bench_free	pci_p2pmem_free
#define BENCH_KERNEL	"framework"
#else
#define bench_alloc	pci_alloc_p2pmem
#define bench_free	pci_free_p2pmem
#define BENCH_KERNEL	"upstream"
#endif

static char *provider;
module_param(provider, charp, 0444);
MODULE_PARM_DESC(provider, "PCI name of the p2pmem provider");
static char *client;
module_param(client, charp, 0444);
MODULE_PARM_DESC(client, "PCI name of a DMA client of the provider");
static char *src;
module_param(src, charp, 0444);
MODULE_PARM_DESC(src, "block device the copy reads");
static char *dst;
module_param(dst, charp, 0444);
MODULE_PARM_DESC(dst, "block device the copy writes");
static unsigned int iters = 20000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "alloc+free pairs per size and CPU");
static unsigned int copy_mb = 32;
module_param(copy_mb, uint, 0444);
MODULE_PARM_DESC(copy_mb, "MiB per copy run");
static bool copy_only;
module_param(copy_only, bool, 0444);
MODULE_PARM_DESC(copy_only, "only the copies (to read provider statistics around them)");
static unsigned int alloc_cpus;
module_param(alloc_cpus, uint, 0444);
MODULE_PARM_DESC(alloc_cpus, "only allocation, on this many CPUs at once (0: all figures, allocation on 1 and 2)");
static bool map_only;
module_param(map_only, bool, 0444);
MODULE_PARM_DESC(map_only, "only the DMA mapping figures");
static char *tag = "";
module_param(tag, charp, 0444);
MODULE_PARM_DESC(tag, "added to the DMA mapping figures' parameter, to tell runs apart");

#define COPY_CHUNK	SZ_1M
#define COPY_PAGES	(COPY_CHUNK / PAGE_SIZE)
#define COPY_RUNS	5
#define MAP_SEGS	256

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *metric, const char *param, int cpus,
		   u64 *samples, unsigned int n, const char *unit)
{
	if (!n)
		return;
	sort(samples, n, sizeof(*samples), cmp_u64, NULL);
	pr_info("RESULT %s %s %d %llu %llu %u %s\n", metric, param, cpus,
		samples[n / 2], samples[min(n - 1, n * 99 / 100)], n, unit);
}

/* --- allocation ------------------------------------------------------ */

struct alloc_worker {
	struct pci_dev *pdev;
	size_t size;
	u64 *lat;
	unsigned int done;
	atomic_t *ready;
	struct completion *go, finished;
};

static int alloc_worker_fn(void *data)
{
	struct alloc_worker *w = data;
	unsigned int i;
	void *p;
	u64 t;

	atomic_dec(w->ready);
	wait_for_completion(w->go);
	for (i = 0; i < iters; i++) {
		t = ktime_get_ns();
		p = bench_alloc(w->pdev, w->size);
		if (!p)
			break;
		bench_free(w->pdev, p, w->size);
		w->lat[w->done++] = ktime_get_ns() - t;
	}
	complete(&w->finished);
	return 0;
}

/* The most allocating threads of one figure. */
#define BENCH_MAX_CPUS	4U

static void bench_alloc_size(struct pci_dev *pdev, size_t size,
			     const char *name, int cpus)
{
	struct alloc_worker w[BENCH_MAX_CPUS] = {};
	DECLARE_COMPLETION_ONSTACK(go);
	atomic_t ready = ATOMIC_INIT(cpus);
	unsigned int n = 0, i;
	u64 *all;

	all = vmalloc(array3_size(cpus, iters, sizeof(u64)));
	if (!all)
		return;
	for (i = 0; i < cpus; i++) {
		struct task_struct *t;

		w[i].pdev = pdev;
		w[i].size = size;
		w[i].lat = all + i * iters;
		w[i].ready = &ready;
		w[i].go = &go;
		init_completion(&w[i].finished);
		t = kthread_create(alloc_worker_fn, &w[i], "p2pbench/%u", i);
		if (IS_ERR(t)) {
			atomic_dec(&ready);
			complete(&w[i].finished);
			continue;
		}
		kthread_bind(t, i % num_online_cpus());
		wake_up_process(t);
	}
	while (atomic_read(&ready) > 0)
		usleep_range(100, 200);
	complete_all(&go);
	for (i = 0; i < cpus; i++)
		wait_for_completion(&w[i].finished);

	/* Every CPU's samples, packed. */
	for (i = 0; i < cpus; i++) {
		memmove(all + n, w[i].lat, w[i].done * sizeof(u64));
		n += w[i].done;
	}
	if (n < cpus * iters)
		pr_warn("%s on %d CPUs: %u of %u allocations failed\n", name,
			cpus, cpus * iters - n, cpus * iters);
	report("alloc", name, cpus, all, n, "ns");
	vfree(all);
}

static void bench_alloc_all(struct pci_dev *pdev)
{
	static const struct { size_t size; const char *name; } sizes[] = {
		{ SZ_4K, "4K" }, { SZ_64K, "64K" }, { SZ_1M, "1M" },
	};
	unsigned int cpus, first = 1, last = 2;
	int i;

	/*
	 * Each thread on a CPU of its own.  More CPUs than the host has
	 * cores would slow every other figure, so scripts/bench boots a
	 * guest of its own for them (alloc_cpus=4).
	 */
	if (alloc_cpus) {
		first = alloc_cpus;
		last = alloc_cpus;
	}
	for (cpus = first;
	     cpus <= min3(last, BENCH_MAX_CPUS, num_online_cpus()); cpus *= 2)
		for (i = 0; i < ARRAY_SIZE(sizes); i++)
			bench_alloc_size(pdev, sizes[i].size, sizes[i].name, cpus);
}

/* The most allocations held to exhaust a pool: 256 MiB in pages. */
#define EXHAUST_MAX	SZ_64K

/* Allocate @size until the pool says no; the number of @held entries. */
static unsigned int bench_take_all(struct pci_dev *pdev, void **held,
				   unsigned int n, size_t size)
{
	void *p;

	while (n < EXHAUST_MAX && (p = bench_alloc(pdev, size)))
		held[n++] = p;
	return n;
}

/*
 * What a request costs once the pool is exhausted, as it is when a remote
 * host keeps a namespace's CMB full: every later request first fails its
 * p2pmem allocation, then falls back to system memory.
 */
static void bench_alloc_exhausted(struct pci_dev *pdev)
{
	unsigned int i, big, n, reps = 2000, done = 0;
	void **held = vmalloc(array_size(EXHAUST_MAX, sizeof(*held)));
	u64 *lat = vmalloc(array_size(reps, sizeof(u64)));
	void *p;
	u64 t;

	if (!held || !lat)
		goto out;
	big = bench_take_all(pdev, held, 0, SZ_1M);
	n = bench_take_all(pdev, held, big, PAGE_SIZE);
	if (n == EXHAUST_MAX) {
		pr_warn("alloc_fail: the pool outlasted %u allocations\n", n);
		goto out_free;
	}
	for (i = 0; i < reps; i++) {
		t = ktime_get_ns();
		p = bench_alloc(pdev, PAGE_SIZE);
		t = ktime_get_ns() - t;
		if (p) {
			pr_warn("alloc_fail: a page came free meanwhile\n");
			bench_free(pdev, p, PAGE_SIZE);
			goto out_free;
		}
		lat[done++] = t;
	}
	report("alloc_fail", "4K", 1, lat, done, "ns");
out_free:
	for (i = 0; i < n; i++)
		bench_free(pdev, held[i], i < big ? SZ_1M : PAGE_SIZE);
out:
	vfree(lat);
	vfree(held);
}

/* --- provider lookup ------------------------------------------------- */

/* The first @n PCI functions that are not bridges, in bus order. */
static int pick_clients(struct device **clients, int n)
{
	struct pci_dev *pdev = NULL;
	int got = 0;

	for_each_pci_dev(pdev) {
		if (pci_is_bridge(pdev))
			continue;
		clients[got++] = &pci_dev_get(pdev)->dev;
		if (got == n) {
			pci_dev_put(pdev);
			break;
		}
	}
	return got;
}

/* A root port with @pdev not below it: the way to another hierarchy. */
static struct pci_dev *other_root_port(struct pci_dev *pdev)
{
	struct pci_dev *rp = NULL, *up;

	for_each_pci_dev(rp) {
		if (pci_pcie_type(rp) != PCI_EXP_TYPE_ROOT_PORT)
			continue;
		for (up = pci_upstream_bridge(pdev); up && up != rp;)
			up = pci_upstream_bridge(up);
		if (!up)
			return rp;	/* with the loop's reference */
	}
	return NULL;
}

/*
 * Run the lookup code once on the kinds of path the measured sets hold,
 * so that the first measured call does not also time QEMU translating
 * that code: the bridge above the provider (a path below a switch) and a
 * root port of another hierarchy (a path through the root complex,
 * refused on QEMU's).  Only bridges, which no measured set holds, so that
 * none of the measured pairs is cached.
 */
static void bench_find_warm_up(struct device *prov_dev)
{
	struct pci_dev *prov = to_pci_dev(prov_dev);
	struct pci_dev *up = pci_upstream_bridge(prov);
	struct pci_dev *rp = other_root_port(prov);
	struct device *clients[2];

	if (up && rp) {
		clients[0] = &up->dev;
		clients[1] = &rp->dev;
		pci_dev_put(pci_p2pmem_find_many(clients, 2));
	} else {
		pr_warn("no bridges to warm the lookup up with\n");
	}
	pci_dev_put(rp);
}

static void bench_find(struct device *prov_dev, struct device *dma_dev, int n)
{
	struct device *clients[8];
	unsigned int i, reps = 2000;
	struct pci_dev *found;
	char param[16];
	u64 *lat, t;
	int got;

	if (n == 2) {
		/* The provider's own function and its DMA client: a pair that works. */
		clients[0] = get_device(prov_dev);
		clients[1] = get_device(dma_dev);
		got = 2;
	} else {
		got = pick_clients(clients, n);
	}
	lat = vmalloc(array_size(reps, sizeof(u64)));
	if (!lat || got < n)
		goto out;

	snprintf(param, sizeof(param), "%d_clients", n);
	t = ktime_get_ns();
	found = pci_p2pmem_find_many(clients, got);
	lat[0] = ktime_get_ns() - t;
	pr_info("find with %s: %s\n", param, found ? pci_name(found) : "none");
	pci_dev_put(found);
	report("find_cold", param, 1, lat, 1, "ns");

	for (i = 0; i < reps; i++) {
		t = ktime_get_ns();
		found = pci_p2pmem_find_many(clients, got);
		lat[i] = ktime_get_ns() - t;
		pci_dev_put(found);
	}
	report("find_cached", param, 1, lat, reps, "ns");
out:
	for (i = 0; i < got; i++)
		put_device(clients[i]);
	vfree(lat);
}

/* --- DMA mapping ----------------------------------------------------- */

/*
 * Map and unmap a list of @segs pages of p2pmem: per segment, where the
 * per-page work shows, and with one segment, where a mapping call's own
 * costs (the P2PDMA core's accounting among them) show.
 */
static void bench_dma_map(struct pci_dev *prov, struct device *dma_dev,
			  unsigned int segs)
{
	unsigned int i, reps = 2000, warmup = 200, n = 0;
	/* Too big for the stack; insmod runs this once at a time. */
	static void *pages[MAP_SEGS];
	struct scatterlist *sg;
	struct sg_table sgt;
	char param[48];
	u64 *lat, t;
	int ret;

	memset(pages, 0, sizeof(pages));
	lat = vmalloc(array_size(reps, sizeof(u64)));
	if (!lat || sg_alloc_table(&sgt, segs, GFP_KERNEL))
		goto out_lat;
	for_each_sgtable_sg(&sgt, sg, i) {
		pages[i] = bench_alloc(prov, PAGE_SIZE);
		if (!pages[i])
			goto out;
		sg_set_page(sg, virt_to_page(pages[i]), PAGE_SIZE, 0);
	}
	for (i = 0; i < warmup + reps; i++) {
		t = ktime_get_ns();
		ret = dma_map_sgtable(dma_dev, &sgt, DMA_BIDIRECTIONAL, 0);
		t = ktime_get_ns() - t;
		if (ret) {
			pr_warn("dma_map_sgtable: %d\n", ret);
			break;
		}
		dma_unmap_sgtable(dma_dev, &sgt, DMA_BIDIRECTIONAL, 0);
		if (i >= warmup)
			lat[n++] = div_u64(t, segs);
	}
	snprintf(param, sizeof(param), "%u_segment%s%s", segs,
		 segs > 1 ? "s" : "", tag);
	report("dma_map", param, 1, lat, n, "ns_per_segment");
out:
	for (i = 0; i < segs; i++)
		if (pages[i])
			bench_free(prov, pages[i], PAGE_SIZE);
	sg_free_table(&sgt);
out_lat:
	vfree(lat);
}

#ifdef P2PDMA_BENCH_PROVIDER
/*
 * The provider of the first memory BAR: every BAR's verdict is the
 * device's.  Not the bound driver's call to make, but the bench only reads
 * the provider while NVMe A stays bound.
 */
static struct p2pdma_provider *bench_first_provider(struct pci_dev *prov)
{
	int bar;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++)
		if (pci_resource_flags(prov, bar) & IORESOURCE_MEM)
			return pcim_p2pdma_provider(prov, bar);
	return NULL;
}

static void bench_map_type(struct pci_dev *prov, struct device *dma_dev)
{
	struct p2pdma_provider *mem = bench_first_provider(prov);
	unsigned int i, reps = 2000;
	enum pci_p2pdma_map_type type;
	u64 *lat, t;

	if (!mem) {
		pr_warn("map_type: no provider for %s\n", pci_name(prov));
		return;
	}
	lat = vmalloc(array_size(reps, sizeof(u64)));
	if (!lat)
		return;
	for (i = 0; i < reps; i++) {
		t = ktime_get_ns();
		type = pci_p2pdma_map_type(mem, dma_dev);
		lat[i] = ktime_get_ns() - t;
		if (type != PCI_P2PDMA_MAP_BUS_ADDR) {
			pr_warn("map_type: %d, not a bus address\n", type);
			goto out;
		}
	}
	report("map_type", "provider", 1, lat, reps, "ns");
out:
	vfree(lat);
}
#else
static void bench_map_type(struct pci_dev *prov, struct device *dma_dev)
{
}
#endif

/* --- copy through a buffer --------------------------------------------- */

/* One 1 MiB bio of @buf at @sector; counts its system-memory bytes. */
static int copy_bio(struct block_device *bdev, struct page **buf, sector_t sector,
		    blk_opf_t op, u64 *sysmem_bytes)
{
	struct bio *bio = bio_alloc(bdev, COPY_PAGES, op, GFP_KERNEL);
	struct bio_vec *bv;
	struct bvec_iter_all it;
	unsigned int i;
	int ret;

	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < COPY_PAGES; i++)
		if (bio_add_page(bio, buf[i], PAGE_SIZE, 0) != PAGE_SIZE) {
			bio_put(bio);
			return -EIO;
		}
	/* How we know: every segment the devices DMA to or from is looked at. */
	bio_for_each_segment_all(bv, bio, it)
		if (!is_pci_p2pdma_page(bv->bv_page))
			*sysmem_bytes += bv->bv_len;
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

/* NVMe src -> @buf -> NVMe dst, @bytes in 1 MiB steps. */
static int copy_pass(struct block_device *in, struct block_device *out,
		     struct page **buf, u64 bytes, u64 *sysmem)
{
	sector_t s;
	int ret = 0;

	for (s = 0; s < bytes >> SECTOR_SHIFT && !ret; s += COPY_CHUNK >> SECTOR_SHIFT) {
		ret = copy_bio(in, buf, s, REQ_OP_READ, sysmem);
		if (!ret)
			ret = copy_bio(out, buf, s, REQ_OP_WRITE, sysmem);
	}
	return ret;
}

/*
 * A block device by path, held open by a file: calls that every kernel
 * has, while the blkdev_get_by_path() family keeps changing.
 */
static struct file *bench_open_bdev(const char *path, int flags,
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

static void bench_copy(struct pci_dev *prov, const char *kind)
{
	struct block_device *in, *out;
	struct file *in_file, *out_file;
	struct page **buf;
	void *p2p = NULL;
	u64 sysmem = 0, bytes = (u64)copy_mb * SZ_1M, mbps[COPY_RUNS];
	unsigned int i, run;
	int ret = 0;

	buf = kcalloc(COPY_PAGES, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return;
	in_file = bench_open_bdev(src, O_RDONLY, &in);
	if (IS_ERR(in_file)) {
		pr_warn("copy: cannot open %s: %ld\n", src, PTR_ERR(in_file));
		kfree(buf);
		return;
	}
	out_file = bench_open_bdev(dst, O_WRONLY, &out);
	if (IS_ERR(out_file)) {
		pr_warn("copy: cannot open %s: %ld\n", dst, PTR_ERR(out_file));
		filp_close(in_file, NULL);
		kfree(buf);
		return;
	}
	if (!strcmp(kind, "p2p")) {
		p2p = bench_alloc(prov, COPY_CHUNK);
		for (i = 0; p2p && i < COPY_PAGES; i++)
			buf[i] = virt_to_page(p2p + i * PAGE_SIZE);
	} else {
		for (i = 0; i < COPY_PAGES; i++)
			buf[i] = alloc_page(GFP_KERNEL);
	}
	for (i = 0; i < COPY_PAGES; i++)
		if (!buf[i])
			goto out;

	/* One pass unmeasured, so that both kernels start with warm caches. */
	for (run = 0; run <= COPY_RUNS && !ret; run++) {
		u64 t = ktime_get_ns();

		sysmem = 0;
		ret = copy_pass(in, out, buf, bytes, &sysmem);
		t = ktime_get_ns() - t;
		if (run)
			mbps[run - 1] = div64_u64(bytes * 1000, max_t(u64, t, 1));
	}
	if (ret) {
		pr_warn("copy %s: I/O error %d\n", kind, ret);
	} else {
		/* For a throughput the second figure is the worst run. */
		sort(mbps, COPY_RUNS, sizeof(*mbps), cmp_u64, NULL);
		pr_info("RESULT copy %s 1 %llu %llu %u MB/s\n", kind,
			mbps[COPY_RUNS / 2], mbps[0], COPY_RUNS);
		pr_info("RESULT copy_sysmem_bytes %s 1 %llu %llu 1 bytes\n", kind,
			sysmem, sysmem);
	}
out:
	if (p2p)
		bench_free(prov, p2p, COPY_CHUNK);
	else
		for (i = 0; i < COPY_PAGES; i++)
			if (buf[i])
				__free_page(buf[i]);
	filp_close(out_file, NULL);
	filp_close(in_file, NULL);
	kfree(buf);
}

static int __init p2pdma_bench_init(void)
{
	struct device *prov_dev, *dma_dev;
	struct pci_dev *prov;

	if (!provider || !client) {
		pr_err("needs provider= and client=\n");
		return -EINVAL;
	}
	if (alloc_cpus > min(BENCH_MAX_CPUS, num_online_cpus())) {
		pr_err("alloc_cpus=%u: at most %u here\n", alloc_cpus,
		       min(BENCH_MAX_CPUS, num_online_cpus()));
		return -EINVAL;
	}
	prov_dev = bus_find_device_by_name(&pci_bus_type, NULL, provider);
	dma_dev = bus_find_device_by_name(&pci_bus_type, NULL, client);
	if (!prov_dev || !dma_dev) {
		pr_err("no PCI device %s\n", prov_dev ? client : provider);
		put_device(prov_dev);
		put_device(dma_dev);
		return -ENODEV;
	}
	prov = to_pci_dev(prov_dev);
	pr_info("kernel %s, provider %s, client %s, %u CPUs\n", BENCH_KERNEL,
		provider, client, num_online_cpus());

	if (alloc_cpus) {
		bench_alloc_all(prov);
	} else if (map_only) {
		bench_dma_map(prov, dma_dev, MAP_SEGS);
		bench_dma_map(prov, dma_dev, 1);
	} else if (!copy_only) {
		bench_alloc_all(prov);
		bench_alloc_exhausted(prov);
		bench_find_warm_up(prov_dev);
		bench_find(prov_dev, dma_dev, 2);
		bench_find(prov_dev, dma_dev, 8);
		bench_dma_map(prov, dma_dev, MAP_SEGS);
		bench_dma_map(prov, dma_dev, 1);
		bench_map_type(prov, dma_dev);
	}
	if (src && dst) {
		bench_copy(prov, "p2p");
		bench_copy(prov, "sysmem");
	}
	pr_info("done\n");
	put_device(dma_dev);
	put_device(prov_dev);
	return 0;
}
module_init(p2pdma_bench_init);

static void __exit p2pdma_bench_exit(void)
{
}
module_exit(p2pdma_bench_exit);

MODULE_DESCRIPTION("P2PDMA benchmarks, for this framework and upstream's");
MODULE_LICENSE("GPL");
