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
 *   dmabuf_exports, dmabuf_bytes
 *                               dma-buf exports so far, and bytes they
 *                               hold now (dmabuf.c)
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
 *   <client bdf> <map type> <distance> <writes>/<reads> <reason, or ->
 *
 * where <writes>/<reads> is what probes found on the path in each
 * direction (verdict.c): untested, verified or failed.  "verdicts" lists
 * them with what failed, and takes root's "<client> <direction> verified",
 * "<client> <direction> failed <what>", "<client> reset" or "reset";
 * "policy" is the provider's policy: inherit (pci_p2pdma.policy=),
 * default or strict.
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
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

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
		sum->dmabuf_exports += READ_ONCE(s->dmabuf_exports);
		sum->dmabuf_bytes_taken += READ_ONCE(s->dmabuf_bytes_taken);
		sum->dmabuf_bytes_returned += READ_ONCE(s->dmabuf_bytes_returned);
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
	seq_printf(m, "dmabuf_exports %llu\ndmabuf_bytes %lld\n",
		   st.dmabuf_exports,
		   (s64)(st.dmabuf_bytes_taken - st.dmabuf_bytes_returned));
	p2pdma_for_each_cached_path(p2p, p2pdma_show_client, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pdma_stats);

static int p2pdma_paths_show(struct seq_file *m, void *data)
{
	struct pci_p2pdma *p2p = m->private;
	u8 state[P2PDMA_PROBE_DIRS];
	struct pci_dev *client = NULL;
	struct p2pdma_path path;

	for_each_pci_dev(client) {
		if (client == p2p->pdev || pci_is_bridge(client))
			continue;
		p2pdma_path_calc(p2p->pdev, client, &path);
		p2pdma_verdict_of(p2p, client, state);
		seq_printf(m, "%s %s %d %s/%s %s\n", pci_name(client),
			   p2pdma_map_name(path.map), path.distance,
			   p2pdma_verdict_name(state[P2PDMA_PROBE_WRITES]),
			   p2pdma_verdict_name(state[P2PDMA_PROBE_READS]),
			   path.reason ?: "-");
	}
	return 0;
}

static int p2pdma_verdicts_show(struct seq_file *m, void *data)
{
	p2pdma_verdict_show(m->private, m);
	return 0;
}

/*
 * A PCI function by its name, with a reference, in *@pdev: -EINVAL for
 * what is not a PCI name, -ENODEV when no device has it.
 */
static int p2pdma_pci_dev_by_name(const char *name, struct pci_dev **pdev)
{
	unsigned int domain, bus, slot, fn;
	char end;

	if (sscanf(name, "%x:%x:%x.%x%c", &domain, &bus, &slot, &fn,
		   &end) != 4 || bus > 0xff || slot > 0x1f || fn > 7)
		return -EINVAL;
	*pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, fn));
	return *pdev ? 0 : -ENODEV;
}

/* What failed, as root says it: one line of printable text. */
static bool p2pdma_verdict_what_ok(const char *what)
{
	if (!what || !*what)
		return false;
	for (; *what; what++)
		if (!isprint(*what))
			return false;
	return true;
}

/*
 * "<client> <direction> verified", "<client> <direction> failed <what>",
 * "<client> reset" or "reset", from root: what a probe found.
 */
static int p2pdma_verdict_parse(struct pci_p2pdma *p2p, char *line)
{
	char *client_name = strsep(&line, " "), *dir_name, *word;
	enum p2pdma_verdict_state state = P2PDMA_UNTESTED;
	struct pci_dev *client;
	int dir, ret = 0;

	if (!strcmp(client_name, "reset") && !line) {
		p2pdma_verdict_forget(p2p, NULL);
		return 0;
	}
	ret = p2pdma_pci_dev_by_name(client_name, &client);
	if (ret)
		return ret;
	dir_name = strsep(&line, " ");
	if (!dir_name) {
		ret = -EINVAL;
		goto out;
	}
	if (!strcmp(dir_name, "reset") && !line) {
		p2pdma_verdict_forget(p2p, client);
		goto out;
	}
	dir = p2pdma_probe_dir_parse(dir_name);
	word = strsep(&line, " ");
	if (dir < 0 || !word) {
		ret = -EINVAL;
		goto out;
	}
	if (!strcmp(word, "verified") && !line)
		state = P2PDMA_VERIFIED;
	else if (!strcmp(word, "failed") && p2pdma_verdict_what_ok(line))
		state = P2PDMA_FAILED;
	else
		ret = -EINVAL;
	if (!ret)
		ret = p2pdma_verdict_record(p2p, client, dir, state, line,
					    p2pdma_path_turns_in_rc(p2p->pdev,
								    client));
	if (ret)
		goto out;
	if (state == P2PDMA_FAILED)
		pci_warn(p2p->pdev,
			 "probe with %s: %s failed: %s; P2P refused on this path until the host bridge allowlist changes or root writes '%s reset' to its debugfs verdicts\n",
			 pci_name(client), dir_name, line, pci_name(client));
	else
		pci_info(p2p->pdev, "probe with %s: %s verified\n",
			 pci_name(client), dir_name);
out:
	pci_dev_put(client);
	return ret;
}

static ssize_t p2pdma_verdicts_write(struct file *file,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	struct pci_p2pdma *p2p = file_inode(file)->i_private;
	char *buf;
	int ret;

	if (count > P2PDMA_VERDICT_WHAT + 64)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = p2pdma_verdict_parse(p2p, strim(buf));
	kfree(buf);
	if (ret)
		return ret;
	/* After the record: a lookup of the new generation sees it. */
	p2pdma_paths_outdated();
	return count;
}

DEFINE_SHOW_STORE_ATTRIBUTE(p2pdma_verdicts);

static int p2pdma_policy_show(struct seq_file *m, void *data)
{
	seq_printf(m, "%s\n",
		   p2pdma_policy_name(p2pdma_verdict_policy(m->private)));
	return 0;
}

static ssize_t p2pdma_policy_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct pci_p2pdma *p2p = file_inode(file)->i_private;
	char buf[16];
	int policy, ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	policy = p2pdma_policy_parse(buf);
	if (policy < 0)
		return policy;
	ret = p2pdma_verdict_set_policy(p2p, policy);
	if (ret)
		return ret;
	p2pdma_paths_outdated();
	return count;
}

DEFINE_SHOW_STORE_ATTRIBUTE(p2pdma_policy);
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
	debugfs_create_file("verdicts", 0600, p2p->debugfs, p2p,
			    &p2pdma_verdicts_fops);
	debugfs_create_file("policy", 0600, p2p->debugfs, p2p,
			    &p2pdma_policy_fops);
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
