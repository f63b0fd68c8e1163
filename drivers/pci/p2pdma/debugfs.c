// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA statistics: the counters of each provider, and their debugfs
 * file /sys/kernel/debug/p2pdma/<bdf>/stats, one "name value" pair per line:
 *
 *   size, in_use, peak          bytes: registered, allocated now, most ever
 *   alloc_bytes, free_bytes     bytes handed out and given back, so far
 *   failed_allocs               allocation calls that found no memory
 *   dma_mapped_bytes            p2pmem in DMA mapping calls that worked:
 *                               the data that moved through the provider
 *   user_maps, user_pages       successful mmap()s of p2pmem so far, and
 *                               pages mapped into userspace now
 *   clean, clearing             bytes free and known to hold zeros, and
 *                               bytes the clearer holds now
 *   cleared_bytes, clear_ns     bytes cleared ahead of mappings, and the
 *                               time that took (clear.c)
 *   map_cleared_bytes           bytes mmap() had to clear itself
 *
 * followed by one line per client the provider was asked about:
 *
 *   client <bdf> distance <n> map <type> [stale]
 *
 * "stale" marks a verdict of an older generation of the rules (the
 * allowlist changed, or some device went), which the next lookup works
 * out again: it is listed so that what the cache holds can be checked,
 * a departed client's entry above all.
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
 *
 * And /sys/kernel/debug/p2pdma/<bdf>/traffic has the provider's per-path
 * accounting (account.c), one path per line:
 *
 *   <client> <map type> <events> <bytes> <reason, or - for a mapping>
 *
 * where map type is bus-address or through-host-bridge for the mapping
 * calls that worked, not-supported for refused ones, system-memory for
 * I/O a client did in system memory instead.  Client "other" counts the
 * paths beyond the table's size.  /sys/kernel/debug/p2pdma/traffic has the
 * fallbacks that had no provider, or whose provider had already gone.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "p2pdma.h"

static struct dentry *p2pdma_debugfs_root;

/**
 * p2pdma_stats_init - allocate a provider's counters, all zero
 * @p2p: the provider
 *
 * Return: 0 or -ENOMEM.
 */
int p2pdma_stats_init(struct pci_p2pdma *p2p)
{
	p2p->stats = alloc_percpu(struct p2pdma_stats);
	p2p->account = p2pdma_account_create();
	return p2p->stats && p2p->account ? 0 : -ENOMEM;
}

/**
 * p2pdma_stats_free - free a provider's counters
 * @p2p: the provider, with nothing left that counts
 */
void p2pdma_stats_free(struct pci_p2pdma *p2p)
{
	free_percpu(p2p->stats);
	p2p->stats = NULL;
	p2pdma_account_destroy(p2p->account);
	p2p->account = NULL;
}

/**
 * p2pdma_stats_sum - a provider's counters, summed over all CPUs
 * @p2p: the provider
 * @sum: filled in
 */
void p2pdma_stats_sum(struct pci_p2pdma *p2p, struct p2pdma_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct p2pdma_stats *s = per_cpu_ptr(p2p->stats, cpu);

		sum->alloc_bytes += READ_ONCE(s->alloc_bytes);
		sum->free_bytes += READ_ONCE(s->free_bytes);
		sum->failed_allocs += READ_ONCE(s->failed_allocs);
		sum->cleared_bytes += READ_ONCE(s->cleared_bytes);
		sum->clear_ns += READ_ONCE(s->clear_ns);
		sum->map_cleared_bytes += READ_ONCE(s->map_cleared_bytes);
		sum->user_maps += READ_ONCE(s->user_maps);
		sum->user_pages_mapped += READ_ONCE(s->user_pages_mapped);
		sum->user_pages_unmapped += READ_ONCE(s->user_pages_unmapped);
	}
	sum->dma_mapped_bytes = p2pdma_account_mapped_bytes(p2p->account);
}

static void p2pdma_show_client(const char *client,
			       const struct p2pdma_path *path, bool stale,
			       void *arg)
{
	seq_printf(arg, "client %s distance %d map %s%s\n", client,
		   path->distance, p2pdma_map_name(path->map),
		   stale ? " stale" : "");
}

static int p2pdma_stats_show(struct seq_file *m, void *data)
{
	struct pci_p2pdma *p2p = m->private;
	struct p2pdma_stats st;

	p2pdma_stats_sum(p2p, &st);
	seq_printf(m, "size %zu\nin_use %zu\npeak %zu\n",
		   p2pdma_pool_size(p2p->pool), p2pdma_pool_in_use(p2p->pool),
		   p2pdma_pool_peak(p2p->pool));
	seq_printf(m, "alloc_bytes %llu\nfree_bytes %llu\nfailed_allocs %llu\n",
		   st.alloc_bytes, st.free_bytes, st.failed_allocs);
	seq_printf(m, "dma_mapped_bytes %llu\n", st.dma_mapped_bytes);
	seq_printf(m, "user_maps %llu\nuser_pages %lld\n", st.user_maps,
		   (s64)(st.user_pages_mapped - st.user_pages_unmapped));
	seq_printf(m, "clean %zu\nclearing %zu\n", p2pdma_pool_clean(p2p->pool),
		   p2pdma_pool_clearing(p2p->pool));
	seq_printf(m, "cleared_bytes %llu\nclear_ns %llu\nmap_cleared_bytes %llu\n",
		   st.cleared_bytes, st.clear_ns, st.map_cleared_bytes);
	p2pdma_for_each_cached_path(p2p, p2pdma_show_client, m);
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

/* A provider's accounting; the root's file has the events without one. */
static int p2pdma_traffic_show(struct seq_file *m, void *data)
{
	struct pci_p2pdma *p2p = m->private;

	p2pdma_account_show(p2p ? p2p->account : NULL, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pdma_traffic);

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
	debugfs_create_file("traffic", 0400, p2p->debugfs, p2p,
			    &p2pdma_traffic_fops);
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
	debugfs_create_file("traffic", 0400, p2pdma_debugfs_root, NULL,
			    &p2pdma_traffic_fops);
	return 0;
}
subsys_initcall(p2pdma_debugfs_init);
