// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA statistics in debugfs: /sys/kernel/debug/p2pdma/<bdf>/stats,
 * one file per provider, one "name value" pair per line:
 *
 *   size, in_use, peak          bytes: registered, allocated now, most ever
 *   allocs, frees, failed_allocs   calls to the allocator
 *   dma_mapped_bytes            bytes of p2pmem mapped for DMA: the data
 *                               that moved through the provider
 *   user_maps, user_pages       mmap()s of p2pmem/allocate so far, and
 *                               pages mapped into userspace now
 *
 * followed by one line per client the provider was asked about:
 *
 *   client <bdf> distance <n> map <type>
 *
 * Counters are summed over CPUs without stopping them, so a snapshot taken
 * while allocations run may be off by those in flight.
 *
 * Next to it, /sys/kernel/debug/p2pdma/<bdf>/paths works out, when read,
 * the path from the provider to every other PCI function that is not a
 * bridge, one line each, for tools/pci/p2pdma-topo:
 *
 *   <client bdf> <map type> <distance> <reason, or - when allowed>
 *
 * Reading it neither fills nor uses the provider's path cache, so it shows
 * what the rules say now, ACS changes included.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "p2pdma.h"

static struct dentry *p2pdma_debugfs_root;

static void p2pdma_show_clients(struct seq_file *m, struct pci_p2pdma *p2p)
{
	unsigned long key;
	void *entry;
	int dist;

	xa_for_each(&p2p->paths, key, entry) {
		enum pci_p2pdma_map_type map = p2pdma_path_decode(entry, &dist);

		seq_printf(m, "client %04lx:%02lx:%02lx.%lx distance %d map %s\n",
			   key >> 16, (key >> 8) & 0xff, PCI_SLOT(key & 0xff),
			   PCI_FUNC(key & 0xff), dist, p2pdma_map_name(map));
	}
}

static int p2pdma_stats_show(struct seq_file *m, void *data)
{
	struct pci_p2pdma *p2p = m->private;
	struct p2pdma_pool_stats st;

	p2pdma_pool_stats(&p2p->pool, &st);
	seq_printf(m, "size %llu\nin_use %llu\npeak %llu\n",
		   st.size, st.in_use, st.peak);
	seq_printf(m, "allocs %llu\nfrees %llu\nfailed_allocs %llu\n",
		   st.allocs, st.frees, st.failures);
	seq_printf(m, "dma_mapped_bytes %llu\n", st.dma_bytes);
	seq_printf(m, "user_maps %ld\nuser_pages %ld\n",
		   atomic_long_read(&p2p->user_maps),
		   atomic_long_read(&p2p->user_pages));
	p2pdma_show_clients(m, p2p);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pdma_stats);

static int p2pdma_paths_show(struct seq_file *m, void *data)
{
	struct pci_p2pdma *p2p = m->private;
	struct pci_dev *client = NULL;
	struct p2pdma_path path;

	for_each_pci_dev(client) {
		if (client == p2p->pdev || pci_is_bridge(client))
			continue;
		p2pdma_path_calc(p2p->pdev, client, &path);
		seq_printf(m, "%s %s %d %s\n", pci_name(client),
			   p2pdma_map_name(path.map), path.distance,
			   path.reason ?: "-");
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pdma_paths);

/**
 * p2pdma_debugfs_add - create a provider's debugfs directory
 * @p2p: the provider
 *
 * Debugfs is best effort: failures are ignored, as debugfs wants.
 */
void p2pdma_debugfs_add(struct pci_p2pdma *p2p)
{
	p2p->debugfs = debugfs_create_dir(pci_name(p2p->pdev),
					  p2pdma_debugfs_root);
	debugfs_create_file("stats", 0400, p2p->debugfs, p2p,
			    &p2pdma_stats_fops);
	debugfs_create_file("paths", 0400, p2p->debugfs, p2p,
			    &p2pdma_paths_fops);
}

/**
 * p2pdma_debugfs_remove - remove a provider's debugfs directory
 * @p2p: the provider
 *
 * Waits for readers of the files, so @p2p may be freed afterwards.
 */
void p2pdma_debugfs_remove(struct pci_p2pdma *p2p)
{
	debugfs_remove_recursive(p2p->debugfs);
	p2p->debugfs = NULL;
}

/* Before any provider can probe. */
static int __init p2pdma_debugfs_init(void)
{
	p2pdma_debugfs_root = debugfs_create_dir("p2pdma", NULL);
	return 0;
}
subsys_initcall(p2pdma_debugfs_init);
