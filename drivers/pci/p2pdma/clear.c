// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA clearing: p2pmem that reaches userspace holds zeros.
 *
 * A page may hold what another process, or a kernel user such as nvmet,
 * left in it.  The pool remembers the free pages known to be clean (see
 * pool.c), so a new mapping clears only the others.  A page is dirty once
 * something wrote it: its mapping starts read-only, and the first write
 * faults and marks it (mmap.c).  A page unmapped unwritten comes back
 * clean, at no cost.
 *
 * Clearing is uncached stores to a BAR, each its own PCIe write (on QEMU,
 * an exit per store), so a worker per provider does it ahead of the
 * mappings: it borrows free dirty blocks from the pool, clears them, reads
 * back the last word (which waits for the posted stores, and shows whether
 * they reached the BAR) and gives them back clean, until the pool has a
 * target of clean memory.
 * Dirty pages coming back from a mapping are what kick it, once the stock
 * is down to half its target: a provider only kernel drivers use never
 * pays for it, and neither does one whose mappings are only read.  A
 * mapping that finds no clean page clears its own, as it always did.
 *
 * Nothing is ever marked clean that was not cleared after its last write.
 * The worker stops before its next block once the provider's mappings are
 * revoked, and the withdrawal waits for it: nothing clears a BAR that is
 * going away.  A device unplugged during a block drops the stores, and
 * its pool goes with it.  The pool counts the pages it borrowed apart:
 * a removal waits for them too, but p2pmem/available and debugfs count
 * them free, as they are but for a moment.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/cpumask.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/sizes.h>
#include <linux/topology.h>
#include <linux/workqueue.h>

#include "p2pdma.h"

/*
 * What the worker borrows at a time: a mapping that needs everything the
 * pool has may have to wait for one such block.
 */
#define P2PDMA_CLEAR_PAGES	64U

/* Clean memory the worker keeps ready, at most half of a provider. */
#define P2PDMA_CLEAN_TARGET	SZ_64M

static size_t p2pdma_clean_target(struct pci_p2pdma *p2p)
{
	return min_t(size_t, p2pdma_pool_size(p2p->pool) / 2, P2PDMA_CLEAN_TARGET);
}

/*
 * What is left of the stock when a kick starts the worker: half of it.
 * Started at the first page short, the worker would clear beside nearly
 * every munmap() of written pages, a page or two at a time, each kick a
 * wakeup.  From half, it clears half the stock in one go, and a burst of
 * written mappings smaller than that runs with no clearing beside it.
 */
static size_t p2pdma_clean_low(struct pci_p2pdma *p2p)
{
	return p2pdma_clean_target(p2p) / 2;
}

/**
 * p2pdma_clear_dirty - clear the pages of a run that are not clean
 * @addr: kernel address of the run's first page
 * @clean: bit i set if page i is clean
 * @from: first page to look at
 * @to: page after the last one
 *
 * Return: the bytes cleared.
 */
size_t p2pdma_clear_dirty(unsigned long addr, const unsigned long *clean,
			  u32 from, u32 to)
{
	size_t bytes = 0;
	u32 b = from, e;

	for_each_clear_bitrange_from(b, e, clean, to) {
		memset_io((void __iomem __force *)addr + ((size_t)b << PAGE_SHIFT),
			  0, (size_t)(e - b) << PAGE_SHIFT);
		bytes += (size_t)(e - b) << PAGE_SHIFT;
	}
	return bytes;
}

/*
 * Whether the worker should stop: revoked, enough is clean, or a mapping
 * holds it off (p2pdma_clear_hold()).
 */
static bool p2pdma_clear_done(struct pci_p2pdma *p2p)
{
	/* Set before the revocation cancels this work: see there. */
	return READ_ONCE(p2p->user_revoked) ||
	       atomic_read(&p2p->clear_waiters) ||
	       p2pdma_pool_clean(p2p->pool) >= p2pdma_clean_target(p2p);
}

/*
 * Whether the stores of a clearing reached the BAR: a read is not posted,
 * so it also waits for them.  A device that dropped them (reset, error
 * containment, memory decoding off) reads all ones, or what it held.  The
 * last word of the last page cleared, which the stores reached last.
 */
static bool p2pdma_cleared(unsigned long addr, const unsigned long *clean,
			   u32 nr)
{
	u32 i = nr;

	while (i && test_bit(i - 1, clean))
		i--;
	if (!i)
		return true;
	return !readl((void __iomem __force *)addr +
		      ((size_t)i << PAGE_SHIFT) - sizeof(u32));
}

static void p2pdma_clear_work(struct work_struct *work)
{
	struct pci_p2pdma *p2p = container_of(work, struct pci_p2pdma,
					      clear_work);
	DECLARE_BITMAP(clean, P2PDMA_CLEAR_PAGES);
	unsigned long addr;
	size_t bytes;
	u64 start;
	bool ok;
	u32 nr;

	while (!p2pdma_clear_done(p2p)) {
		nr = P2PDMA_CLEAR_PAGES;
		addr = p2pdma_pool_take_dirty(p2p->pool, &nr, clean);
		if (!addr)
			break;
		start = ktime_get_ns();
		bytes = p2pdma_clear_dirty(addr, clean, 0, nr);
		ok = p2pdma_cleared(addr, clean, nr);
		this_cpu_add(p2p->stats->clear_ns, ktime_get_ns() - start);
		this_cpu_add(p2p->stats->cleared_bytes, bytes);
		p2pdma_pool_give_lent(p2p->pool, addr, nr, ok);
		if (!ok) {
			dev_warn_ratelimited(&p2p->pdev->dev,
					     "clearing p2pmem did not reach the BAR (device reset or in error?): pages stay dirty\n");
			break;
		}
		cond_resched();
	}
}

/* CPUs looked at per pass for the worker's place: kicks stay cheap. */
#define P2PDMA_CLEAR_PROBES	8U

/*
 * What the choice of the worker's CPU asks of a CPU; the KUnit suite
 * answers for made-up machines.
 */
struct p2pdma_cpu_probe {
	bool (*usable)(unsigned int cpu);
	bool (*idle)(unsigned int cpu);
};

/*
 * Online, and not set apart from kernel work: the unbound queue this
 * replaced kept off CPUs isolated with isolcpus=, nohz_full= or a cpuset
 * partition, and so must a worker that may hog one for a second.
 */
static bool p2pdma_cpu_usable(unsigned int cpu)
{
	return cpu_online(cpu) && !cpu_is_isolated(cpu) &&
	       housekeeping_cpu(cpu, HK_TYPE_WQ);
}

static bool p2pdma_cpu_idle(unsigned int cpu)
{
	return idle_cpu(cpu);
}

static const struct p2pdma_cpu_probe p2pdma_cpu_probe = {
	.usable = p2pdma_cpu_usable,
	.idle = p2pdma_cpu_idle,
};

/*
 * The first usable CPU of @cpus after @here, other than @here, that is
 * idle if @idle, among the next P2PDMA_CLEAR_PROBES CPUs of @cpus;
 * nr_cpu_ids if none.
 */
static unsigned int p2pdma_clear_pick(const struct cpumask *cpus,
				      unsigned int here,
				      const struct p2pdma_cpu_probe *probe,
				      bool idle)
{
	unsigned int cpu, probes = 0;

	for_each_cpu_wrap(cpu, cpus, (here + 1) % nr_cpu_ids) {
		if (probes++ == P2PDMA_CLEAR_PROBES)
			break;
		if (cpu == here || !probe->usable(cpu))
			continue;
		if (!idle || probe->idle(cpu))
			return cpu;
	}
	return nr_cpu_ids;
}

/*
 * Where the worker runs.  Kicks come from the munmap() of written pages:
 * a worker woken on that CPU preempts the process, which the scheduler
 * then moves to an idle CPU.  Its mm is then live on both CPUs, and every
 * later munmap() of the process waits for a TLB flush on the one it left.
 * So: an idle CPU near the BAR, or an idle one anywhere, or any other CPU
 * near the BAR, or any other at all, in that order; the kicking CPU only
 * if none of those will do, and an isolated one never.
 */
static unsigned int p2pdma_clear_cpu(const struct cpumask *near,
				     unsigned int here,
				     const struct p2pdma_cpu_probe *probe)
{
	bool everywhere = near == cpu_online_mask;
	unsigned int cpu;

	cpu = p2pdma_clear_pick(near, here, probe, true);
	if (cpu >= nr_cpu_ids && !everywhere)
		cpu = p2pdma_clear_pick(cpu_online_mask, here, probe, true);
	if (cpu >= nr_cpu_ids)
		cpu = p2pdma_clear_pick(near, here, probe, false);
	if (cpu >= nr_cpu_ids && !everywhere)
		cpu = p2pdma_clear_pick(cpu_online_mask, here, probe, false);
	if (cpu < nr_cpu_ids)
		return cpu;
	return probe->usable(here) ? here : housekeeping_any_cpu(HK_TYPE_DOMAIN);
}

static const struct cpumask *p2pdma_clear_near(struct pci_p2pdma *p2p)
{
	int node = dev_to_node(&p2p->pdev->dev);

	return node == NUMA_NO_NODE ? cpu_online_mask : cpumask_of_node(node);
}

/*
 * Per-CPU, so that the kick chooses the CPU; CPU-intensive, because the
 * worker keeps its CPU busy until the stock is full and must not hold up
 * other per-CPU work there meanwhile.  Every kick queues on this one
 * queue, so the work never runs twice at once: one still running is
 * queued where it runs.  Until it is made (or if it cannot be),
 * system_long_wq.
 */
static struct workqueue_struct *p2pdma_clear_wq;

/* Before providers register, at device_initcall. */
static int __init p2pdma_clear_wq_init(void)
{
	p2pdma_clear_wq = alloc_workqueue("p2pdma_clear",
					  WQ_PERCPU | WQ_CPU_INTENSIVE, 0);
	return 0;
}
subsys_initcall(p2pdma_clear_wq_init);

/**
 * p2pdma_clear_kick - have the worker clear ahead, if the stock ran low
 * @p2p: the provider, pinned by the caller (one of its pages)
 *
 * Safe in any context.
 */
void p2pdma_clear_kick(struct pci_p2pdma *p2p)
{
	/*
	 * A munmap() of written pages kicks once per page: while the stock
	 * is above its low mark, or the work is queued, a look at a counter
	 * is all a kick costs.  What it reads may be stale as the worker
	 * starts, and the page then waits for the next kick: only how soon
	 * it is clean depends on it, and a mapping that finds it dirty
	 * clears it itself.
	 */
	if (p2pdma_pool_clean(p2p->pool) >= p2pdma_clean_low(p2p) ||
	    work_pending(&p2p->clear_work) || p2pdma_clear_done(p2p))
		return;
	queue_work_on(p2pdma_clear_cpu(p2pdma_clear_near(p2p),
				       raw_smp_processor_id(),
				       &p2pdma_cpu_probe),
		      p2pdma_clear_wq ?: system_long_wq, &p2p->clear_work);
}

/**
 * p2pdma_clear_hold - take back what the worker borrowed, and keep it off
 * @p2p: the provider
 *
 * For an allocation that found the pool short: once this returns, nothing
 * is lent to the worker, and it borrows nothing until
 * p2pdma_clear_release(), however often it is kicked.  Waiting once
 * would not do: the worker, kicked again, could borrow the pages just
 * given back before the allocation tries once more.  The worker stops
 * after the block it holds, so this waits for one block's clearing, not
 * a run's.  May sleep.
 */
void p2pdma_clear_hold(struct pci_p2pdma *p2p)
{
	atomic_inc(&p2p->clear_waiters);
	/* Before the worker's next look: see p2pdma_clear_done(). */
	smp_mb__after_atomic();
	flush_work(&p2p->clear_work);
}

/**
 * p2pdma_clear_release - let the worker borrow again
 * @p2p: the provider, held with p2pdma_clear_hold()
 *
 * Kicks it, for the dirty pages freed while it was held: their kicks did
 * nothing.
 */
void p2pdma_clear_release(struct pci_p2pdma *p2p)
{
	atomic_dec(&p2p->clear_waiters);
	p2pdma_clear_kick(p2p);
}

/**
 * p2pdma_clear_init - set up a new provider's worker, idle
 * @p2p: the provider being set up
 */
void p2pdma_clear_init(struct pci_p2pdma *p2p)
{
	INIT_WORK(&p2p->clear_work, p2pdma_clear_work);
	atomic_set(&p2p->clear_waiters, 0);
}

/**
 * p2pdma_clear_stop - wait until the worker is not running
 * @p2p: the provider, with user_revoked set: later kicks do nothing, and
 *       a worker already queued stops before it borrows anything
 */
void p2pdma_clear_stop(struct pci_p2pdma *p2p)
{
	cancel_work_sync(&p2p->clear_work);
}

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "clear-test.h"
#endif
