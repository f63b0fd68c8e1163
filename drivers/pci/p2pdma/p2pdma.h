/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of drivers/pci/p2pdma/ share with each other.  Nothing
 * here is for drivers, and nothing here is only for tests: a test includes
 * the file it tests or uses the API.
 *
 * Where things live:
 *   pool.c      the allocator, sealed behind pool.h
 *   registry.c  the list of providers, publishing, watchers, p2pdma_lock
 *   core.c      registering BAR ranges, the teardown, the allocation API
 *   clear.c     what userspace gets holds zeros: clearing, ahead of time
 *   face.c      the userspace face, which the registry tells about each
 *               provider: it drives mmap.c (p2pmem mapped into userspace,
 *               and its page refcount rule), chardev.c (/dev/p2pmemN) and
 *               sysfs.c (/sys/bus/pci/devices/<bdf>/p2pmem/), all sealed
 *               behind userspace.h
 *   topology.c  which paths work and how far, the per-provider path cache
 *   paths.h     the path cache's lock-free lookup, inline for map.c
 *   map.c       how a device maps a provider: the DMA-mapping entry points
 *   client.c    distances for clients, provider choice, the configfs knob
 *   verdict.c   what probes found on each path, and the policy
 *   account.c   what went which way: mappings, refusals and fallbacks
 *               counted per path; the mapping calls' count itself
 *   debugfs.c   per-provider statistics, /sys/kernel/debug/p2pdma/
 *   trace.h     the p2pdma tracepoints, defined in map.c
 *
 * Locks, outermost first:
 *   p2pdma_watch_lock (registry.c)  held while removal callbacks run
 *   pci_p2pdma.publish_lock         one provider's publishing, and the
 *                                   userspace files that follow it (face.c):
 *                                   revocation under it takes each mapper's
 *                                   mmap_lock, and hiding p2pmem/allocate
 *                                   waits for its mmap()s
 *   p2pdma_lock (registry.c)        the provider lists, published, watchers;
 *                                   held for list work only, never around
 *                                   userspace
 *   (a mapper's mmap_lock)          around the ->mmap() of the two below
 *   p2pmem_chardev.lock (chardev.c) ->mmap() of /dev/p2pmemN against the
 *                                   node's removal
 *   pci_p2pdma.user_sem (mmap.c)    ->mmap() and dma-buf exports against
 *                                   revocation
 *   pci_p2pdma.user_mms_lock        the mms that mapped (mmap.c)
 *   pci_p2pdma.dmabufs_lock         the exports (dmabuf.c); list work only
 *   an export's reservation lock,   revocation against importers mapping,
 *   then its fault_lock (dmabuf.c)  and against CPU faults (which hold a
 *                                   mmap_lock or a vma lock)
 *   pci_p2pdma.ranges_lock          a provider's list of ranges
 *   the pool's locks (pool.c)       innermost; p2pdma_pool.lock with IRQs off
 *   the path cache's xarray lock, p2pdma_account.lock (account.c) and
 *   p2pdma_verdicts.lock (verdict.c): taken with interrupts off, from the
 *                                   DMA-mapping path too; each a leaf
 * A watcher's ->remove() runs under p2pdma_watch_lock only: it may not call
 * pci_p2pdma_unwatch(), and whatever lock it takes must not be held around
 * pci_p2pdma_watch() or pci_p2pdma_unwatch() elsewhere.
 */
#ifndef _DRIVERS_PCI_P2PDMA_P2PDMA_H
#define _DRIVERS_PCI_P2PDMA_P2PDMA_H

#include <linux/dma-map-ops.h>
#include <linux/memremap.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/percpu.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

#include "pool.h"

/*
 * Counters of one provider, per CPU, summed by debugfs.c.  Each counts one
 * thing: see Documentation/ABI/testing/debugfs-pci-p2pdma.
 */
struct p2pdma_stats {
	u64 alloc_bytes;	/* bytes the pool handed out */
	u64 free_bytes;		/* bytes given back to the pool */
	u64 failed_allocs;	/* allocation calls that found no memory */
	u64 dma_mapped_bytes;	/* only in a sum: account.c counts it */
	u64 cleared_bytes;	/* cleared ahead of mappings, clear.c */
	u64 clear_ns;		/* time that took */
	u64 map_cleared_bytes;	/* cleared by mmap() itself */
	/*
	 * mmap.c: successful mmap()s, pages mapped and pages unmapped, so
	 * far.  Per CPU like the rest: a munmap() frees each page alone.
	 */
	u64 user_maps;
	u64 user_pages_mapped;
	u64 user_pages_unmapped;
	/* dmabuf.c: exports so far, and bytes they took and gave back. */
	u64 dmabuf_exports;
	u64 dmabuf_bytes_taken;
	u64 dmabuf_bytes_returned;
};

/*
 * Per-device state, hung off pdev->p2pdma by the first pcim_p2pdma_init()
 * or pci_p2pdma_add_resource() and freed by the devres teardown (core.c).
 */
struct pci_p2pdma {
	struct pci_dev *pdev;
	/* Each memory BAR, for pcim_p2pdma_provider(); set once at setup. */
	struct p2pdma_provider mem[PCI_STD_NUM_BARS];
	struct p2pdma_pool *pool;
	/* Registration of ranges; the list is only read again at teardown. */
	struct mutex ranges_lock;
	struct list_head ranges;	/* struct p2pdma_range, ranges_lock */
	/*
	 * Set (release) by the first range, once p2pmem/ exists; until then
	 * the state only serves pcim_p2pdma_provider(), and has nothing to
	 * publish.
	 */
	bool has_pages;
	/* Cached path to each client: topology.c, read lock-free (paths.h). */
	struct xarray paths;
	/* registry.c: taken around every change of @published. */
	struct mutex publish_lock;
	/* registry.c, under p2pdma_lock; @published also read locklessly. */
	struct list_head published_node;
	struct list_head all_node;
	struct list_head watchers;	/* struct pci_p2pdma_watcher */
	bool published;
	/*
	 * The userspace face (userspace.h).  mmap.c: the file every mapping
	 * moves to, made with the first range, and its revocation.
	 */
	struct file *user_file;
	struct rw_semaphore user_sem;	/* held for reading by ->mmap() */
	/*
	 * True until published.  Written under publish_lock: cleared under
	 * user_sem, set just before it (mmap.c); read under it for reading.
	 */
	bool user_revoked;
	spinlock_t user_mms_lock;	/* guards user_mms */
	struct list_head user_mms;	/* mms that mapped, user_mms_lock */
	/* dmabuf.c: exports not yet revoked, and their lock. */
	struct mutex dmabufs_lock;
	struct list_head dmabufs;
	struct p2pmem_chardev *chardev;	/* face.c: /dev/p2pmemN, publish_lock */
	struct kernfs_node *allocate_kn;	/* sysfs.c: p2pmem/allocate */
	struct work_struct clear_work;	/* clear.c */
	atomic_t clear_waiters;		/* mappings holding it off */
	struct p2pdma_stats __percpu *stats;
	struct p2pdma_account *account;	/* account.c, set with @stats */
	struct p2pdma_verdicts *verdicts; /* verdict.c, set once, release */
	struct dentry *debugfs;
	/* client.c: the log of refused mappings, each provider's own. */
	struct ratelimit_state refusal_log;
};

/*
 * The lifetime rules of pdev->p2pdma, one accessor each.  Use the one whose
 * rule the caller relies on, and say which in a comment where it is not
 * obvious.
 *
 *  - p2pdma_of_rcu(): inside rcu_read_lock(), for lock-free readers; the
 *    state may be torn down as soon as the section ends.
 *  - p2pdma_of_pinned(): the caller holds something the teardown waits
 *    for before it frees the state: p2pmem allocated from the provider,
 *    a call from one of its sysfs or debugfs files, or it is the bound
 *    provider driver itself (the teardown is that driver's devres action).
 *  - under p2pdma_lock: registry.c's p2pdma_of_locked(), the only file that
 *    takes the lock.
 */
static inline struct pci_p2pdma *p2pdma_of_rcu(struct pci_dev *pdev)
{
	return rcu_dereference(pdev->p2pdma);
}

static inline struct pci_p2pdma *p2pdma_of_pinned(struct pci_dev *pdev)
{
	return rcu_dereference_protected(pdev->p2pdma, 1);
}

/*
 * One registered BAR range.  The pgmap is what a page points to, so this is
 * how the DMA-mapping code gets from a page back to its provider and to the
 * offset between CPU physical and PCI bus addresses.  @p2p outlives every
 * allocated page of the range.
 */
struct p2pdma_range {
	struct p2pdma_pagemap pagemap;	/* the pgmap, and the BAR it is in */
	struct list_head node;
	struct pci_dev *provider;
	struct pci_p2pdma *p2p;
};

static inline struct p2pdma_range *to_p2pdma_range(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct p2pdma_range, pagemap.pgmap);
}

/* The range of a p2pmem page; allocated, the page keeps it alive. */
static inline struct p2pdma_range *p2pdma_range_of_page(struct page *page)
{
	return to_p2pdma_range(page_pgmap(page));
}

/**
 * struct p2pdma_path - how DMA between a provider and a client would travel
 * @map: PCI_P2PDMA_MAP_BUS_ADDR, _THRU_HOST_BRIDGE or _NOT_SUPPORTED
 * @distance: hop count of the path, -1 when @map is _NOT_SUPPORTED
 * @reason: why the path is refused, or NULL when it is not
 * @where: the device that made it refused, when it is one device's doing
 * @acs: the first devices whose ACS controls send the path up to the root
 *       complex, for the pci=disable_acs_redir= hint of a refusal
 * @nr_acs: how many devices do, even beyond the size of @acs
 * @unreadable: a device whose config space read all ones, or NULL; the
 *              path is then refused, and not cached
 * @via_rc: requests turn around in the root complex, by the topology
 *          rules, whether it routes them or not
 */
struct p2pdma_path {
	enum pci_p2pdma_map_type map;
	int distance;
	const char *reason;
	struct pci_dev *where;
	struct pci_dev *acs[4];
	unsigned int nr_acs;
	struct pci_dev *unreadable;
	bool via_rc;
};

/*
 * A client's key, domain << 16 | bus << 8 | devfn: how the path cache, the
 * verdicts and the accounting know a PCI function.  By address, so that a
 * device that goes away is forgotten by address too.
 */
static inline unsigned long p2pdma_client_key(struct pci_dev *client)
{
	return (unsigned long)pci_domain_nr(client->bus) << 16 |
	       pci_dev_id(client);
}

/* Room for a client's name: pci_name() of a 32-bit domain. */
#define P2PDMA_CLIENT_NAME_LEN	sizeof("ffffffff:ff:1f.7")

/* The client a key stands for, as pci_name() would print it. */
static inline void p2pdma_client_key_name(unsigned long key, char *buf,
					  size_t size)
{
	u8 devfn = key & 0xff;

	snprintf(buf, size, "%04x:%02x:%02x.%x", (u32)(key >> 16),
		 (u8)(key >> 8), PCI_SLOT(devfn), PCI_FUNC(devfn));
}

/* registry.c */
int p2pdma_register(struct pci_p2pdma *p2p);
void p2pdma_unregister(struct pci_p2pdma *p2p);
void p2pdma_unpublish(struct pci_p2pdma *p2p);
void p2pdma_for_each_published(void (*fn)(struct pci_p2pdma *p2p, void *arg),
			       void *arg);
void p2pdma_notify_watchers(struct pci_p2pdma *p2p);

/**
 * struct p2pdma_face_ops - what the userspace face is told of providers
 * @add: @p2p is registering its first pages, and no other range meanwhile;
 *	an error fails the registration
 * @publish: @p2p->published changed to @publish (publish_lock held)
 * @remove: @p2p, unpublished, is going, or its first range failed; also
 *	called for a provider @add never saw, or saw fail
 *
 * The face (face.c) registers these once, at init; registry.c calls them.
 */
struct p2pdma_face_ops {
	int (*add)(struct pci_p2pdma *p2p);
	void (*publish)(struct pci_p2pdma *p2p, bool publish);
	void (*remove)(struct pci_p2pdma *p2p);
};

void p2pdma_face_register(const struct p2pdma_face_ops *ops);
int p2pdma_face_add(struct pci_p2pdma *p2p);
void p2pdma_face_remove(struct pci_p2pdma *p2p);

/* core.c: the allocator of a provider, with its counters. */
unsigned long p2pdma_alloc_upto(struct pci_p2pdma *p2p, u32 *nr,
				unsigned long *clean);
void p2pdma_free_pages(struct pci_p2pdma *p2p, unsigned long addr,
		       size_t size, bool clean);
size_t p2pdma_mem_size(struct pci_p2pdma *p2p);
size_t p2pdma_mem_avail(struct pci_p2pdma *p2p);

/* clear.c */
size_t p2pdma_clear_dirty(unsigned long addr, const unsigned long *clean,
			  u32 from, u32 to);
void p2pdma_clear_kick(struct pci_p2pdma *p2p);
void p2pdma_clear_hold(struct pci_p2pdma *p2p);
void p2pdma_clear_release(struct pci_p2pdma *p2p);
void p2pdma_clear_init(struct pci_p2pdma *p2p);
void p2pdma_clear_stop(struct pci_p2pdma *p2p);

struct seq_file;

/* verdict.c: what probes found, per client and direction. */
enum p2pdma_probe_dir {
	P2PDMA_PROBE_WRITES,	/* the client's DMA writes the provider's memory */
	P2PDMA_PROBE_READS,	/* it reads it */
	P2PDMA_PROBE_DIRS,
};

/* Ordered: a worse finding outranks a better one (p2pdma_verdict_of_rc()). */
enum p2pdma_verdict_state {
	P2PDMA_UNTESTED,
	P2PDMA_VERIFIED,
	P2PDMA_FAILED,
};

enum p2pdma_policy {
	P2PDMA_POLICY_INHERIT,	/* a provider's: the global one */
	P2PDMA_POLICY_DEFAULT,	/* the rules, minus failed probes */
	P2PDMA_POLICY_STRICT,	/* and root complex paths need probes */
};

#define P2PDMA_VERDICT_WHAT	80
#define P2PDMA_VERDICT_CLIENTS	32	/* a provider keeps no more */

struct p2pdma_verdicts;
const char *p2pdma_probe_dir_name(enum p2pdma_probe_dir dir);
int p2pdma_probe_dir_parse(const char *buf);
const char *p2pdma_verdict_name(enum p2pdma_verdict_state state);
void p2pdma_verdicts_outdated(void);
void p2pdma_verdicts_free(struct pci_p2pdma *p2p);
int p2pdma_verdict_record(struct pci_p2pdma *p2p, struct pci_dev *client,
			  enum p2pdma_probe_dir dir,
			  enum p2pdma_verdict_state state, const char *what,
			  bool via_rc);
void p2pdma_verdict_forget(struct pci_p2pdma *p2p, struct pci_dev *client);
void p2pdma_verdict_of(struct pci_p2pdma *p2p, struct pci_dev *client,
		       u8 state[P2PDMA_PROBE_DIRS]);
void p2pdma_verdict_of_rc(struct pci_p2pdma *p2p, u8 state[P2PDMA_PROBE_DIRS]);
enum p2pdma_policy p2pdma_verdict_policy(struct pci_p2pdma *p2p);
int p2pdma_verdict_set_policy(struct pci_p2pdma *p2p,
			      enum p2pdma_policy policy);
void p2pdma_verdict_show(struct pci_p2pdma *p2p, struct seq_file *m);

/* topology.c */
int p2pdma_policy_parse(const char *buf);
const char *p2pdma_policy_name(enum p2pdma_policy policy);
struct pci_dev *p2pdma_pci_dev_of(struct device *dev);
void p2pdma_path_calc(struct pci_dev *provider, struct pci_dev *client,
		      struct p2pdma_path *path);
void p2pdma_path_via_iommu(struct pci_dev *provider, struct p2pdma_path *path);
bool p2pdma_path_turns_in_rc(struct pci_dev *provider, struct pci_dev *client);
int p2pdma_host_bridges_test_set(const char *list);
void p2pdma_path_forget(struct pci_p2pdma *p2p, struct pci_dev *client);
void p2pdma_paths_outdated(void);
void p2pdma_for_each_cached_path(struct pci_p2pdma *p2p,
				 void (*fn)(const char *client,
					    const struct p2pdma_path *path,
					    bool stale, void *arg),
				 void *arg);
const char *p2pdma_map_name(enum pci_p2pdma_map_type map);

/* map.c: the p2pdma_unmap tracepoint's first probe and its last */
int p2pdma_unmap_trace_reg(void);
void p2pdma_unmap_trace_unreg(void);

/* client.c.  Refusals logged per provider: at most a burst a window. */
#define P2PDMA_REFUSAL_WINDOW	(5 * HZ)
#define P2PDMA_REFUSAL_BURST	4
int p2pdma_refusal_text(char *buf, size_t size, struct device *client,
			const struct p2pdma_path *path);
void p2pdma_refusal_log_init(struct pci_p2pdma *p2p);
bool p2pdma_explain_refusal(struct pci_dev *provider, struct device *dev);
bool p2pdma_dev_out_of_reach(struct pci_dev *provider, struct device *dev);

/*
 * account.c.  The map type of a fallback to system memory: not
 * PCI_P2PDMA_MAP_NONE, which means the same on 7.3 but is not in 6.12.
 */
#define P2PDMA_MAP_SYSTEM_MEMORY	(-1)

struct p2pdma_account;
bool p2pdma_accounting_on(void);
struct p2pdma_account *p2pdma_account_create(void);
void p2pdma_account_destroy(struct p2pdma_account *acct);
void p2pdma_account_map(struct p2pdma_account *acct, struct device *client,
			enum pci_p2pdma_map_type map, u64 bytes);
void p2pdma_account_refusal(struct p2pdma_account *acct,
			    struct device *client, const char *reason);
void p2pdma_account_fallback(struct p2pdma_account *acct,
			     struct device *client, u64 bytes,
			     const char *reason);
u64 p2pdma_account_mapped_bytes(struct p2pdma_account *acct);
void p2pdma_account_show(struct p2pdma_account *acct, struct seq_file *m);

/* debugfs.c */
int p2pdma_stats_init(struct pci_p2pdma *p2p);
void p2pdma_stats_free(struct pci_p2pdma *p2p);
void p2pdma_stats_sum(struct pci_p2pdma *p2p, struct p2pdma_stats *sum);
void p2pdma_debugfs_add(struct pci_p2pdma *p2p);
void p2pdma_debugfs_remove(struct pci_p2pdma *p2p);

#endif /* _DRIVERS_PCI_P2PDMA_P2PDMA_H */
