/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests of the P2PDMA allocator, included at the end of pool.c so
 * that they can check its free lists.
 *
 * The allocator never touches the memory it hands out, so these tests give
 * it made-up, page-aligned addresses that map nothing, in arenas of any
 * shape, and check each answer against a shadow bitmap of the pages that
 * are in use: no page is handed out twice, none is outside its arena, and
 * after everything is freed the free lists are back to the fewest, largest
 * blocks the arena can hold, so no page was lost or leaked.
 */
#ifndef _DRIVERS_PCI_P2PDMA_POOL_TEST_H
#define _DRIVERS_PCI_P2PDMA_POOL_TEST_H

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/workqueue.h>

/* Far from anything real; only ever compared and subtracted. */
#define FAKE_BASE	0x7f0000000000UL
#define MAX_PAGES	BIT(P2PDMA_MAX_ORDER)

struct pool_test {
	struct p2pdma_pool *pool;
	struct p2pdma_arena *arena[2];
	int nr_arenas;
	unsigned long *shadow;		/* one bit per page, all arenas */
	unsigned long shadow_pages;
};

/* Pool of arenas with the given page counts, laid out back to back. */
static struct pool_test *pool_test_setup(struct kunit *test,
					 const u32 *pages, int n)
{
	struct pool_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	unsigned long base = FAKE_BASE;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->pool = p2pdma_pool_create(NUMA_NO_NODE);
	KUNIT_ASSERT_NOT_NULL(test, t->pool);
	test->priv = t;
	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_EQ(test, p2pdma_pool_add(t->pool, base,
						      (size_t)pages[i] << PAGE_SHIFT),
				0);
		t->arena[i] = list_last_entry(&t->pool->arenas,
					      struct p2pdma_arena, node);
		t->nr_arenas++;
		/* Leave a hole, so that arenas never look contiguous. */
		base += ((unsigned long)pages[i] + MAX_PAGES) << PAGE_SHIFT;
	}
	t->shadow_pages = (base - FAKE_BASE) >> PAGE_SHIFT;
	t->shadow = kunit_kcalloc(test, BITS_TO_LONGS(t->shadow_pages),
				  sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->shadow);
	return t;
}

static void pool_test_exit(struct kunit *test)
{
	struct pool_test *t = test->priv;

	if (!t)
		return;
	p2pdma_pool_kill(t->pool);
	p2pdma_pool_destroy(t->pool);
}

static bool in_some_arena(struct pool_test *t, unsigned long addr, u32 nr)
{
	int i;

	for (i = 0; i < t->nr_arenas; i++) {
		struct p2pdma_arena *a = t->arena[i];

		if (addr >= a->base &&
		    addr + ((unsigned long)nr << PAGE_SHIFT) <=
		    a->base + ((unsigned long)a->nr_pages << PAGE_SHIFT))
			return true;
	}
	return false;
}

/*
 * Record pages as in use (@take) or free again; false if one of them
 * already was.  Atomic, as the concurrent case's kthreads share it.
 */
static bool shadow_mark(struct pool_test *t, unsigned long addr, u32 nr,
			bool take)
{
	unsigned long bit = (addr - FAKE_BASE) >> PAGE_SHIFT;
	bool ok = true;
	u32 i;

	for (i = 0; i < nr; i++, bit++)
		ok &= take ? !test_and_set_bit(bit, t->shadow) :
			     test_and_clear_bit(bit, t->shadow);
	return ok;
}

static unsigned long checked_alloc(struct kunit *test, u32 nr)
{
	struct pool_test *t = test->priv;
	unsigned long addr = p2pdma_pool_alloc(t->pool,
					       (size_t)nr << PAGE_SHIFT);

	if (addr) {
		KUNIT_EXPECT_TRUE_MSG(test, PAGE_ALIGNED(addr), "addr %#lx", addr);
		KUNIT_EXPECT_TRUE_MSG(test, in_some_arena(t, addr, nr),
				      "%u pages at %#lx", nr, addr);
		KUNIT_EXPECT_TRUE_MSG(test, shadow_mark(t, addr, nr, true),
				      "%u pages at %#lx handed out twice", nr, addr);
	}
	return addr;
}

static void checked_free(struct kunit *test, unsigned long addr, u32 nr)
{
	struct pool_test *t = test->priv;

	KUNIT_EXPECT_TRUE_MSG(test, shadow_mark(t, addr, nr, false),
			      "%u pages at %#lx were not in use", nr, addr);
	p2pdma_pool_free(t->pool, addr, (size_t)nr << PAGE_SHIFT);
}

/* An allocation that asks which pages are clean, checked as checked_alloc(). */
static unsigned long clean_alloc(struct kunit *test, u32 *nr,
				 unsigned long *clean)
{
	struct pool_test *t = test->priv;
	unsigned long addr = p2pdma_pool_alloc_upto(t->pool, nr, clean);

	if (addr)
		KUNIT_EXPECT_TRUE_MSG(test, shadow_mark(t, addr, *nr, true),
				      "%u pages at %#lx handed out twice", *nr,
				      addr);
	return addr;
}

static void clean_free(struct kunit *test, unsigned long addr, u32 nr)
{
	struct pool_test *t = test->priv;
	size_t size = (size_t)nr << PAGE_SHIFT;

	KUNIT_EXPECT_TRUE(test, shadow_mark(t, addr, nr, false));
	KUNIT_EXPECT_EQ(test, p2pdma_pool_free_clean(t->pool, addr, size), nr);
}

/* Clean pages in the pool: its count, checked against the bits. */
static u32 clean_pages(struct kunit *test)
{
	struct pool_test *t = test->priv;
	u32 bits = 0;
	int i;

	for (i = 0; i < t->nr_arenas; i++)
		bits += bitmap_weight(t->arena[i]->clean, t->arena[i]->nr_pages);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_clean(t->pool),
			(size_t)bits << PAGE_SHIFT);
	return bits;
}

/*
 * Walk list @l of order @o of @a, checking its links and what each block
 * on it says of itself, and that a clean list has clean blocks only and
 * a dirty list those with a clean page before those without; the blocks
 * and pages on it are added to @blocks and @pages.
 */
static void expect_list_sound(struct kunit *test, struct p2pdma_arena *a,
			      int l, unsigned int o, u32 *blocks, u32 *pages)
{
	struct p2pdma_free_list *fl = &a->free[l][o];
	u32 idx, prev = P2PDMA_NIL, n = 0, clean;
	bool mixed = true;

	for (idx = fl->head; idx != P2PDMA_NIL; idx = a->blocks[idx].next) {
		struct p2pdma_block *b = &a->blocks[idx];

		if (n++ == a->nr_pages) {
			KUNIT_FAIL(test, "list %d/%u of arena %#lx loops", l, o,
				   a->base);
			break;
		}
		KUNIT_EXPECT_TRUE(test, b->free);
		KUNIT_EXPECT_EQ(test, b->order, o);
		KUNIT_EXPECT_EQ(test, b->list, l);
		KUNIT_EXPECT_EQ(test, b->prev, prev);
		KUNIT_EXPECT_EQ(test, idx % (1U << o), 0);
		KUNIT_EXPECT_LE(test, idx + (1U << o), a->nr_pages);
		clean = arena_block_clean_pages(a, idx, o);
		if (l == P2PDMA_CLEAN) {
			KUNIT_EXPECT_EQ_MSG(test, clean, 1U << o,
					    "block %u on a clean list", idx);
		} else {
			KUNIT_EXPECT_LT_MSG(test, clean, 1U << o,
					    "block %u on a dirty list", idx);
			KUNIT_EXPECT_TRUE_MSG(test, mixed || !clean,
					      "block %u, with clean pages, after one without",
					      idx);
			mixed = mixed && clean;
		}
		prev = idx;
		*pages += 1U << o;
	}
	KUNIT_EXPECT_EQ(test, fl->tail, prev);
	*blocks += n;
}

/* Free blocks on the lists of @a, checked; @pages set to their size. */
static u32 free_blocks(struct kunit *test, struct p2pdma_arena *a,
		       u32 *pages)
{
	u32 n = 0;
	unsigned int o;
	int l;

	*pages = 0;
	for (l = 0; l < P2PDMA_NR_LISTS; l++)
		for (o = 0; o <= P2PDMA_MAX_ORDER; o++)
			expect_list_sound(test, a, l, o, &n, pages);
	KUNIT_EXPECT_EQ(test, *pages, a->nr_free);
	return n;
}

/*
 * The free lists of every arena are sound (see expect_list_sound()).  Not
 * under the pool's lock, as a failed expectation allocates: only where
 * nothing else uses the pool.
 */
static void expect_lists_sound(struct kunit *test)
{
	struct pool_test *t = test->priv;
	u32 pages;
	int i;

	for (i = 0; i < t->nr_arenas; i++)
		free_blocks(test, t->arena[i], &pages);
}

/*
 * Everything is free: each arena is back to one block per set bit of its
 * size above the largest order, plus one per full largest block.
 */
static void expect_all_free(struct kunit *test)
{
	struct pool_test *t = test->priv;
	u32 blocks, pages, want;
	int i;

	pool_drain(t->pool);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(t->shadow, t->shadow_pages));
	for (i = 0; i < t->nr_arenas; i++) {
		struct p2pdma_arena *a = t->arena[i];

		want = a->nr_pages / MAX_PAGES +
		       hweight32(a->nr_pages % MAX_PAGES);
		blocks = free_blocks(test, a, &pages);
		KUNIT_EXPECT_EQ_MSG(test, a->nr_free, a->nr_pages, "arena %d", i);
		KUNIT_EXPECT_EQ_MSG(test, pages, a->nr_pages, "arena %d", i);
		KUNIT_EXPECT_EQ_MSG(test, blocks, want,
				    "arena %d not fully merged", i);
	}
}

static void pool_test_exact_pages(struct kunit *test)
{
	static const u32 pages[] = { 512 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long a, b;

	a = checked_alloc(test, 3);
	KUNIT_ASSERT_NE(test, a, 0);
	b = checked_alloc(test, 5);
	KUNIT_ASSERT_NE(test, b, 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_size(t->pool), 512 * PAGE_SIZE);
	/* A 3-page request leaves its fourth page free for others. */
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free, 512 - 8);

	checked_free(test, a, 3);
	checked_free(test, b, 5);
	expect_all_free(test);
}

static void pool_test_bad_input(struct kunit *test)
{
	static const u32 pages[] = { 16 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long far = FAKE_BASE + SZ_1G;

	KUNIT_EXPECT_EQ(test, p2pdma_pool_alloc(t->pool, 0), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_alloc(t->pool, 17 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_alloc(t->pool, SIZE_MAX), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_add(t->pool, far, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_add(t->pool, far, PAGE_SIZE + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_add(t->pool, far + 1, PAGE_SIZE),
			-EINVAL);
	/* None of those made it into the pool. */
	KUNIT_EXPECT_EQ(test, p2pdma_pool_size(t->pool), 16 * PAGE_SIZE);
	expect_all_free(test);
}

/* Every page can be had one at a time, per-CPU caches included. */
static void pool_test_exhaustion(struct kunit *test)
{
	static const u32 pages[] = { 300, 40 };
	struct pool_test *t = pool_test_setup(test, pages, 2);
	unsigned long *addr;
	u32 n, i;

	addr = kunit_kcalloc(test, 340, sizeof(*addr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, addr);
	for (n = 0; n < 340; n++) {
		addr[n] = checked_alloc(test, 1);
		if (!addr[n])
			break;
	}
	KUNIT_EXPECT_EQ(test, n, 340);
	KUNIT_EXPECT_EQ(test, checked_alloc(test, 1), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_peak(t->pool), 340 * PAGE_SIZE);

	/* Freed pages land in this CPU's cache first; all must be found. */
	for (i = 0; i < n; i++)
		checked_free(test, addr[i], 1);
	addr[0] = checked_alloc(test, 256);
	KUNIT_EXPECT_NE(test, addr[0], 0);
	checked_free(test, addr[0], 256);
	expect_all_free(test);
}

/* Larger than the largest block: consecutive maximal blocks, tail freed. */
static void pool_test_huge(struct kunit *test)
{
	static const u32 pages[] = { 3 * MAX_PAGES + 100 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long a, b;

	a = checked_alloc(test, MAX_PAGES + MAX_PAGES / 2);
	KUNIT_ASSERT_NE(test, a, 0);
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free,
			3 * MAX_PAGES + 100 - (MAX_PAGES + MAX_PAGES / 2));
	/* Free pages remain, but not two maximal blocks in a row. */
	KUNIT_EXPECT_EQ(test, checked_alloc(test, 2 * MAX_PAGES), 0);
	b = checked_alloc(test, MAX_PAGES);
	KUNIT_EXPECT_NE(test, b, 0);
	checked_free(test, a, MAX_PAGES + MAX_PAGES / 2);
	checked_free(test, b, MAX_PAGES);
	a = checked_alloc(test, 3 * MAX_PAGES);
	KUNIT_EXPECT_NE(test, a, 0);
	checked_free(test, a, 3 * MAX_PAGES);
	expect_all_free(test);
}

/* Userspace mappings give their pages back one by one, in any order. */
static void pool_test_partial_frees(struct kunit *test)
{
	static const u32 pages[] = { 64 };
	unsigned long a;
	u32 i;

	pool_test_setup(test, pages, 1);
	a = checked_alloc(test, 48);
	KUNIT_ASSERT_NE(test, a, 0);
	for (i = 0; i < 48; i += 2)
		checked_free(test, a + i * PAGE_SIZE, 1);
	for (i = 48; i > 0; i -= 2)
		checked_free(test, a + (i - 1) * PAGE_SIZE, 1);
	expect_all_free(test);
}

/*
 * Frees of pages that are not allocated, a page freed twice, a free that
 * runs past what is still allocated, an address outside the pool, give
 * back only what was allocated: the in-use count never goes below zero
 * (a provider's removal would then wait forever) and no page is handed
 * out twice.
 */
static void pool_test_bad_frees(struct kunit *test)
{
	static const u32 pages[] = { 64 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long a, b, c;

	a = checked_alloc(test, 1);
	KUNIT_ASSERT_NE(test, a, 0);
	checked_free(test, a, 1);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_free(t->pool, a, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
	b = checked_alloc(test, 1);
	c = checked_alloc(test, 1);
	KUNIT_EXPECT_NE(test, b, c);
	checked_free(test, b, 1);
	checked_free(test, c, 1);

	/* Four pages, two freed, then all four: the other two go back. */
	a = checked_alloc(test, 4);
	KUNIT_ASSERT_NE(test, a, 0);
	checked_free(test, a, 2);
	shadow_mark(t, a + 2 * PAGE_SIZE, 2, false);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_free(t->pool, a, 4 * PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);

	KUNIT_EXPECT_EQ(test, p2pdma_pool_free(t->pool, FAKE_BASE - PAGE_SIZE,
					       PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
	expect_all_free(test);
}

/*
 * A random mix of sizes and frees, whole and in parts, clean and not, for
 * the kernel and for userspace, on odd arenas, the free lists checked as
 * it goes.
 */
static void pool_test_random(struct kunit *test)
{
	static const u32 pages[] = { 1000, 3 * MAX_PAGES - 7 };
	struct { unsigned long addr; u32 nr; } *live;
	DECLARE_BITMAP(clean, MAX_PAGES);
	struct rnd_state rnd;
	u32 n = 0, op, i, nr, r;

	pool_test_setup(test, pages, 2);
	live = kunit_kcalloc(test, 4000, sizeof(*live), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, live);
	prandom_seed_state(&rnd, 20261125);

	for (op = 0; op < 4000; op++) {
		if (op % 256 == 0)
			expect_lists_sound(test);
		r = prandom_u32_state(&rnd);
		if (n && r % 3 == 0) {
			i = prandom_u32_state(&rnd) % n;
			nr = live[i].nr;
			if (nr > 1 && r & 8) {
				/* Free the front part, keep the rest live. */
				u32 part = 1 + prandom_u32_state(&rnd) % (nr - 1);

				if (r & 16)
					clean_free(test, live[i].addr, part);
				else
					checked_free(test, live[i].addr, part);
				live[i].addr += (unsigned long)part << PAGE_SHIFT;
				live[i].nr -= part;
				continue;
			}
			if (r & 16)
				clean_free(test, live[i].addr, nr);
			else
				checked_free(test, live[i].addr, nr);
			live[i] = live[--n];
			continue;
		}
		nr = 1 + prandom_u32_state(&rnd) % (r & 8 ? 8 : 700);
		if (r & 16) {
			nr = min(nr, MAX_PAGES);
			live[n].addr = clean_alloc(test, &nr, clean);
		} else {
			live[n].addr = checked_alloc(test, nr);
		}
		if (live[n].addr)
			live[n++].nr = nr;
	}
	expect_lists_sound(test);
	while (n--)
		checked_free(test, live[n].addr, live[n].nr);
	expect_all_free(test);
}

/*
 * Rounds each racing worker runs at least, and at most: past the first
 * count they go on only until the race has been seen (the pool ran dry
 * and a CPU's cache was drained for it), which on a loaded host or under
 * an emulator may take the two CPUs a while to line up.  Neither count
 * outlasts POOL_RACE_SECONDS: a slow emulated run stops there, and its
 * test says whether it saw the race.
 */
#define POOL_RACE_ROUNDS	2000
#define POOL_RACE_MAX_ROUNDS	200000
#define POOL_RACE_SECONDS	60

struct pool_race {
	atomic_t dry;			/* allocations that found the pool empty */
	unsigned long drains;		/* the pool's cache_drains before */
	unsigned long deadline;		/* jiffies */
};

struct pool_worker {
	struct kunit *test;
	struct pool_race *race;
	struct completion done;
	unsigned int errors;
	unsigned int dry;	/* allocations that found the pool empty */
	unsigned int rounds;
	unsigned int cpu;
};

static bool pool_race_seen(struct pool_worker *w, struct p2pdma_pool *pool)
{
	return atomic_read(&w->race->dry) &&
	       READ_ONCE(pool->cache_drains) != w->race->drains;
}

/* The deadline first, as for words_race_more(). */
static bool pool_worker_more(struct pool_worker *w, struct p2pdma_pool *pool)
{
	if (!time_before(jiffies, w->race->deadline))
		return false;
	if (w->rounds < POOL_RACE_ROUNDS)
		return true;
	return w->rounds < POOL_RACE_MAX_ROUNDS && !pool_race_seen(w, pool);
}

static int pool_worker_fn(void *data)
{
	struct pool_worker *w = data;
	struct pool_test *t = w->test->priv;
	unsigned long addr[8];
	struct rnd_state rnd;
	u32 nr[8], i;

	prandom_seed_state(&rnd, w->cpu);
	for (w->rounds = 0; pool_worker_more(w, t->pool); w->rounds++) {
		for (i = 0; i < 8; i++) {
			nr[i] = 1U << (prandom_u32_state(&rnd) % 5);
			addr[i] = p2pdma_pool_alloc(t->pool, nr[i] << PAGE_SHIFT);
			if (!addr[i]) {
				w->dry++;
				atomic_inc(&w->race->dry);
			} else if (!shadow_mark(t, addr[i], nr[i], true)) {
				w->errors++;
			}
		}
		for (i = 0; i < 8; i++) {
			if (!addr[i])
				continue;
			if (!shadow_mark(t, addr[i], nr[i], false))
				w->errors++;
			p2pdma_pool_free(t->pool, addr[i], nr[i] << PAGE_SHIFT);
		}
		cond_resched();
	}
	complete(&w->done);
	return 0;
}

/*
 * One kthread per CPU hammering a pool small enough to run dry, so that
 * refills, flushes and cross-CPU drains all race.  It must be seen to: the
 * pool ran dry, and caches were drained for the allocations that found it
 * so.  The workers go on until they have seen it, within bounds.
 */
static void pool_test_concurrent(struct kunit *test)
{
	static const u32 pages[] = { 200 };
	struct pool_race *race;
	struct pool_worker *w;
	struct task_struct *task;
	unsigned int cpu, n = 0, i, dry = 0;
	struct pool_test *t;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs to race");
	t = pool_test_setup(test, pages, 1);
	/*
	 * The workers use it until they are done: every one started is
	 * waited for below, and no assertion may end the case before that.
	 */
	race = kunit_kzalloc(test, sizeof(*race), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, race);
	race->drains = t->pool->cache_drains;
	race->deadline = jiffies + POOL_RACE_SECONDS * HZ;
	w = kunit_kcalloc(test, num_online_cpus(), sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	for_each_online_cpu(cpu) {
		w[n].test = test;
		w[n].race = race;
		w[n].cpu = cpu;
		init_completion(&w[n].done);
		task = kthread_create(pool_worker_fn, &w[n], "p2pdma_pool/%u",
				      cpu);
		/* No return with workers running: they use the pool. */
		if (IS_ERR(task)) {
			KUNIT_FAIL(test, "no worker for CPU %u", cpu);
			continue;
		}
		kthread_bind(task, cpu);
		wake_up_process(task);
		n++;
	}
	for (i = 0; i < n; i++) {
		wait_for_completion(&w[i].done);
		KUNIT_EXPECT_EQ_MSG(test, w[i].errors, 0, "worker on CPU %u",
				    w[i].cpu);
		dry += w[i].dry;
		kunit_info(test, "CPU %u: %u rounds, %u allocations found the pool dry",
			   w[i].cpu, w[i].rounds, w[i].dry);
	}
	KUNIT_EXPECT_GT_MSG(test, dry, 0, "the pool never ran dry");
	KUNIT_EXPECT_GT_MSG(test, t->pool->cache_drains - race->drains, 0,
			    "no CPU cache was drained");
	expect_all_free(test);
}

static void pool_test_kill(struct kunit *test)
{
	static const u32 pages[] = { 64 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long a;

	a = checked_alloc(test, 4);
	KUNIT_ASSERT_NE(test, a, 0);
	p2pdma_pool_kill(t->pool);
	KUNIT_EXPECT_EQ(test, checked_alloc(test, 1), 0);
	/* Frees still work, and go straight back to the arena. */
	checked_free(test, a, 4);
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free, 64);
	expect_all_free(test);
}

/*
 * A CPU's cache holds at most P2PDMA_PCP_DEPTH blocks of an order: an
 * empty one takes a batch from the lists, and the free that finds it full
 * gives all but a batch back to the lists before it pushes.
 */
static void pool_test_cache_depth(struct kunit *test)
{
	static const u32 pages[] = { 64 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long addr[2 * P2PDMA_PCP_DEPTH];
	struct p2pdma_pcp_stack *st;
	u32 i, n;

	/* Room for twice a full cache, taken a batch at a time. */
	BUILD_BUG_ON(2 * P2PDMA_PCP_DEPTH > 64 ||
		     (2 * P2PDMA_PCP_DEPTH) % P2PDMA_PCP_BATCH);
	/* May sleep, as a failed expectation does, but stays on this CPU. */
	migrate_disable();
	st = &this_cpu_ptr(t->pool->pcp)->stack[0];
	for (n = 0; n < ARRAY_SIZE(addr); n++) {
		addr[n] = checked_alloc(test, 1);
		if (!addr[n])
			break;
	}
	KUNIT_EXPECT_EQ(test, n, ARRAY_SIZE(addr));
	/* Refilled a batch at a time, and the batch divides the count. */
	KUNIT_EXPECT_EQ(test, st->count, 0);
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free, 64 - n);
	for (i = 0; i < min_t(u32, n, P2PDMA_PCP_DEPTH); i++)
		checked_free(test, addr[i], 1);
	KUNIT_EXPECT_EQ(test, st->count, P2PDMA_PCP_DEPTH);
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free, 64 - n);
	if (i < n)
		checked_free(test, addr[i++], 1);
	KUNIT_EXPECT_EQ(test, st->count, P2PDMA_PCP_BATCH + 1);
	KUNIT_EXPECT_EQ(test, t->arena[0]->nr_free,
			64 - n + P2PDMA_PCP_DEPTH - P2PDMA_PCP_BATCH);
	while (i < n)
		checked_free(test, addr[i++], 1);
	KUNIT_EXPECT_LE(test, st->count, P2PDMA_PCP_DEPTH);
	migrate_enable();
	expect_all_free(test);
}

/* Pages of pool_test_in_use_per_cpu(): taken on one CPU, freed on another. */
struct pool_cpu_job {
	struct kunit *test;
	unsigned long *addr;
	u32 n;
	bool free;
};

static long pool_cpu_job_fn(void *data)
{
	struct pool_cpu_job *job = data;
	u32 i;

	for (i = 0; i < job->n; i++) {
		if (job->free)
			checked_free(job->test, job->addr[i], 1);
		else
			job->addr[i] = checked_alloc(job->test, 1);
	}
	return 0;
}

static long pool_cpu_count(struct p2pdma_pool *pool, int cpu)
{
	return READ_ONCE(per_cpu_ptr(pool->pcp, cpu)->in_use);
}

/*
 * In-use pages are counted per CPU and moved to the pool's count a batch
 * at a time.  Pages allocated on one CPU and freed on another leave one
 * CPU's count up and the other's down: the figure must still be exact,
 * neither count past the batch, the peak the most that was in use, and
 * the room left seen right at the edge of a full pool.
 */
static void pool_test_in_use_per_cpu(struct kunit *test)
{
	static const u32 pages[] = { 1024 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	struct pool_cpu_job job = { .test = test };
	int a, b;
	long batch, drains;
	u32 i;

	a = cpumask_first(cpu_online_mask);
	b = cpumask_next(a, cpu_online_mask);
	if (b >= nr_cpu_ids)
		kunit_skip(test, "needs two CPUs");
	/* The CPUs together hold back at most a quarter of the pool. */
	batch = t->pool->in_use_batch;
	KUNIT_EXPECT_GE(test, batch, 1);
	KUNIT_EXPECT_LE(test, batch, P2PDMA_IN_USE_BATCH);
	if (batch > 1)
		KUNIT_EXPECT_LE(test, (batch - 1) * num_possible_cpus(), 1024 / 4);
	/* Three moves to the pool's count, and some left over (batch > 1). */
	job.n = 3 * batch + (batch + 1) / 2;
	job.addr = kunit_kcalloc(test, job.n, sizeof(*job.addr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, job.addr);

	KUNIT_ASSERT_EQ(test, work_on_cpu(a, pool_cpu_job_fn, &job), 0);
	for (i = 0; i < job.n; i++)
		KUNIT_ASSERT_NE_MSG(test, job.addr[i], 0, "allocation %u", i);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), job.n * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pool_cpu_count(t->pool, a), job.n % batch);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->pool->in_use),
			job.n - job.n % batch);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_peak(t->pool), job.n * PAGE_SIZE);

	job.free = true;
	KUNIT_ASSERT_EQ(test, work_on_cpu(b, pool_cpu_job_fn, &job), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
	KUNIT_EXPECT_EQ(test, pool_cpu_count(t->pool, a), job.n % batch);
	KUNIT_EXPECT_EQ(test, pool_cpu_count(t->pool, b), -(long)(job.n % batch));
	KUNIT_EXPECT_EQ(test, p2pdma_pool_peak(t->pool), job.n * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, p2pdma_pool_has_room(t->pool, 1024));
	KUNIT_EXPECT_FALSE(test, p2pdma_pool_has_room(t->pool, 1025));

	/* A full pool is seen as full through the CPUs' counts. */
	job.free = false;
	job.n = 1024;
	job.addr = kunit_kcalloc(test, job.n, sizeof(*job.addr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, job.addr);
	KUNIT_ASSERT_EQ(test, work_on_cpu(b, pool_cpu_job_fn, &job), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 1024 * PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, p2pdma_pool_has_room(t->pool, 1));
	/* Refused up front: no cache drained, so no lock taken. */
	drains = atomic_long_read(&t->pool->drain_passes);
	KUNIT_EXPECT_EQ(test, checked_alloc(test, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->pool->drain_passes), drains);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_peak(t->pool), 1024 * PAGE_SIZE);
	job.free = true;
	KUNIT_ASSERT_EQ(test, work_on_cpu(a, pool_cpu_job_fn, &job), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
	p2pdma_pool_kill(t->pool);
	KUNIT_EXPECT_TRUE(test, p2pdma_pool_wait_idle(t->pool, HZ));
	expect_all_free(test);
}

/* CPUs whose cache holds a block now; the test runs alone on its pool. */
static unsigned int cpus_caching(struct p2pdma_pool *pool)
{
	unsigned int n = 0, o;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct p2pdma_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		if (pcp->clean.pages || pcp->dirty.pages) {
			n++;
			continue;
		}
		for (o = 0; o <= P2PDMA_PCP_MAX_ORDER; o++)
			if (pcp->stack[o].count) {
				n++;
				break;
			}
	}
	return n;
}

/*
 * A failed allocation locks a CPU's cache to drain it only when the cache
 * holds something, and looks at the caches once per call, however many
 * sizes p2pdma_pool_alloc_upto() tries: a remote host that keeps a pool
 * exhausted must not make every later request lock every cache, again and
 * again, with interrupts off.
 */
static void pool_test_drain_bounded(struct kunit *test)
{
	static const u32 pages[] = { 64 };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	unsigned long addr[64], drains, passes, a;
	unsigned int cached;
	u32 i, nr;

	for (i = 0; i < 64; i++) {
		addr[i] = checked_alloc(test, 1);
		KUNIT_ASSERT_NE(test, addr[i], 0);
	}
	KUNIT_ASSERT_EQ(test, cpus_caching(t->pool), 0);

	/* Exhausted: nothing is even looked for, let alone drained. */
	drains = t->pool->cache_drains;
	passes = atomic_long_read(&t->pool->drain_passes);
	nr = 64;
	KUNIT_EXPECT_EQ(test, p2pdma_pool_alloc_upto(t->pool, &nr, NULL), 0);
	KUNIT_EXPECT_EQ(test, checked_alloc(test, 1), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->pool->drain_passes) - passes, 0);
	KUNIT_EXPECT_EQ(test, t->pool->cache_drains - drains, 0);

	/* Fragmented: every other page free, the last ones freed cached. */
	for (i = 0; i < 64; i += 2)
		checked_free(test, addr[i], 1);
	cached = cpus_caching(t->pool);
	KUNIT_ASSERT_GT(test, cached, 0);
	drains = t->pool->cache_drains;
	passes = atomic_long_read(&t->pool->drain_passes);
	nr = 64;
	a = p2pdma_pool_alloc_upto(t->pool, &nr, NULL);
	KUNIT_EXPECT_NE(test, a, 0);
	KUNIT_EXPECT_EQ(test, nr, 1);
	/* 64 pages cannot fit; 32 down to 2 failed: one pass for all five. */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->pool->drain_passes) - passes, 1);
	KUNIT_EXPECT_EQ(test, t->pool->cache_drains - drains, cached);
	if (a) {
		KUNIT_EXPECT_TRUE(test, shadow_mark(t, a, 1, true));
		checked_free(test, a, 1);
	}
	for (i = 1; i < 64; i += 2)
		checked_free(test, addr[i], 1);
	expect_all_free(test);
}

/*
 * Clean pages: none in a new pool; a run freed clean is what the next
 * allocation of its size gets, told page by page which are clean, and
 * the bits go; a kernel allocation takes dirty pages first, and clears
 * the bits of clean ones it takes; a clean free of part
 * of a run marks only that part; p2pdma_pool_take_dirty() finds every
 * dirty page, and only dirty ones, and a killed pool hands out none.
 */
static void pool_test_clean(struct kunit *test)
{
	static const u32 pages[] = { 2 * MAX_PAGES };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	DECLARE_BITMAP(clean, MAX_PAGES);
	unsigned long addr, again, d;
	u32 nr, want, got = 0, rounds = 0;

	KUNIT_EXPECT_EQ(test, clean_pages(test), 0);
	nr = 8;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_EQ(test, nr, 8);
	KUNIT_EXPECT_TRUE_MSG(test, bitmap_empty(clean, 8),
			      "a new arena's pages are dirty");

	/* Pages 0-1 and 4-7 back clean, 2-3 dirty. */
	clean_free(test, addr, 2);
	checked_free(test, addr + 2 * PAGE_SIZE, 2);
	clean_free(test, addr + 4 * PAGE_SIZE, 4);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 6);
	pool_drain(t->pool);
	nr = 8;
	again = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_EQ(test, again, addr);
	KUNIT_EXPECT_EQ(test, nr, 8);
	KUNIT_EXPECT_EQ(test, clean[0], 0xf3UL);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 0);

	/*
	 * A kernel allocation (3 pages: from the arena, not a CPU cache)
	 * takes dirty pages while there are any, and frees dirty.
	 */
	clean_free(test, addr, 8);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 8);
	again = checked_alloc(test, 3);
	KUNIT_EXPECT_TRUE(test, again + 3 * PAGE_SIZE <= addr ||
			  again >= addr + 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 8);
	checked_free(test, again, 3);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 8);

	/* The clearer gets every dirty page, the clean ones said so. */
	want = 2 * MAX_PAGES - clean_pages(test);
	for (;;) {
		nr = MAX_PAGES;
		d = p2pdma_pool_take_dirty(t->pool, &nr, clean);
		if (!d || ++rounds > 4 * MAX_PAGES)
			break;
		KUNIT_EXPECT_TRUE(test, shadow_mark(t, d, nr, true));
		KUNIT_EXPECT_FALSE(test, bitmap_full(clean, nr));
		/* Lent, not in use: "available" does not dip. */
		KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
		KUNIT_EXPECT_EQ(test, p2pdma_pool_clearing(t->pool),
				(size_t)nr << PAGE_SHIFT);
		got += nr - bitmap_weight(clean, nr);
		KUNIT_EXPECT_TRUE(test, shadow_mark(t, d, nr, false));
		p2pdma_pool_give_lent(t->pool, d, nr, true);
	}
	KUNIT_EXPECT_EQ(test, p2pdma_pool_clearing(t->pool), 0);
	KUNIT_EXPECT_EQ(test, got, want);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 2 * MAX_PAGES);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);

	/*
	 * With none dirty, a kernel allocation takes clean pages, and their
	 * bits; freed dirty, they do not come before the clean ones.
	 */
	d = checked_alloc(test, 3);
	KUNIT_ASSERT_NE(test, d, 0);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 2 * MAX_PAGES - 3);
	checked_free(test, d, 3);
	nr = 4;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, 4));
	KUNIT_EXPECT_NE(test, addr >> (PAGE_SHIFT + P2PDMA_MAX_ORDER),
			d >> (PAGE_SHIFT + P2PDMA_MAX_ORDER));
	clean_free(test, addr, 4);
	/* The rest of the CPU word the four came from, back on the lists. */
	pool_drain(t->pool);
	nr = MAX_PAGES;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_NE(test, addr, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, MAX_PAGES));
	checked_free(test, addr, nr);
	expect_all_free(test);

	/* A killed pool has nothing for the clearer either. */
	p2pdma_pool_kill(t->pool);
	nr = 1;
	KUNIT_EXPECT_EQ(test, p2pdma_pool_take_dirty(t->pool, &nr, clean), 0);
}

/*
 * The clearer takes less than a block at a time: each piece it gets has a
 * dirty page, so that a block whose lower part is clean is not handed to
 * it over and over, and every page is clean after as many pieces as the
 * dirty pages fill.
 */
static void pool_test_clear_pieces(struct kunit *test)
{
	static const u32 pages[] = { 2 * MAX_PAGES };
	const u32 piece = MAX_PAGES / 8;
	struct pool_test *t = pool_test_setup(test, pages, 1);
	DECLARE_BITMAP(clean, MAX_PAGES);
	u32 nr, got = 0, rounds = 0;
	unsigned long addr, d;

	/* The lowest piece of a largest block clean, the rest dirty. */
	nr = piece;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_EQ(test, nr, piece);
	clean_free(test, addr, piece);
	KUNIT_ASSERT_EQ(test, clean_pages(test), piece);

	while (rounds++ < 4 * MAX_PAGES / piece) {
		nr = piece;
		d = p2pdma_pool_take_dirty(t->pool, &nr, clean);
		if (!d)
			break;
		KUNIT_EXPECT_EQ(test, nr, piece);
		KUNIT_EXPECT_TRUE_MSG(test, bitmap_empty(clean, nr),
				      "piece at page %lu lent with clean pages",
				      (d - FAKE_BASE) >> PAGE_SHIFT);
		KUNIT_EXPECT_TRUE(test, shadow_mark(t, d, nr, true));
		got += nr - bitmap_weight(clean, nr);
		KUNIT_EXPECT_TRUE(test, shadow_mark(t, d, nr, false));
		p2pdma_pool_give_lent(t->pool, d, nr, true);
	}
	KUNIT_EXPECT_EQ(test, got, 2 * MAX_PAGES - piece);
	KUNIT_EXPECT_EQ(test, rounds, 2 * MAX_PAGES / piece);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 2 * MAX_PAGES);

	/* A clearing that failed gives its pages back dirty. */
	nr = MAX_PAGES;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, addr, 0);
	checked_free(test, addr, 1);
	pool_drain(t->pool);
	nr = MAX_PAGES;
	d = p2pdma_pool_take_dirty(t->pool, &nr, clean);
	KUNIT_ASSERT_EQ(test, d, addr);
	KUNIT_ASSERT_EQ(test, nr, 1);
	p2pdma_pool_give_lent(t->pool, d, nr, false);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 2 * MAX_PAGES - MAX_PAGES);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_clearing(t->pool), 0);
	checked_free(test, addr + PAGE_SIZE, MAX_PAGES - 1);
	expect_all_free(test);
}

/* Pages of the word tests, freed one at a time on one CPU. */
struct pool_page_job {
	struct kunit *test;
	unsigned long addr;
	u32 from, to;
	bool clean;
	u32 freed;
};

static long pool_page_job_fn(void *data)
{
	struct pool_page_job *job = data;
	struct pool_test *t = job->test->priv;
	unsigned long page;
	u32 i;

	for (i = job->from; i < job->to; i++) {
		page = job->addr + ((unsigned long)i << PAGE_SHIFT);
		KUNIT_EXPECT_TRUE(job->test, shadow_mark(t, page, 1, false));
		job->freed += p2pdma_pool_free_page(t->pool, page, job->clean);
	}
	return 0;
}

/* Free pages [@from, @to) of the allocation at @addr one by one on @cpu. */
static u32 free_pages_on(struct kunit *test, int cpu, unsigned long addr,
			 u32 from, u32 to, bool clean)
{
	struct pool_page_job job = {
		.test = test, .addr = addr, .from = from, .to = to,
		.clean = clean,
	};

	KUNIT_EXPECT_EQ(test, work_on_cpu(cpu, pool_page_job_fn, &job), 0);
	return job.freed;
}

/* An allocation for userspace of the word tests, on one CPU. */
struct pool_user_alloc {
	struct kunit *test;
	u32 nr;
	unsigned long addr;
	DECLARE_BITMAP(clean, BITS_PER_LONG);
};

static long pool_user_alloc_fn(void *data)
{
	struct pool_user_alloc *job = data;

	job->addr = clean_alloc(job->test, &job->nr, job->clean);
	return 0;
}

static unsigned long alloc_user_on(struct kunit *test, int cpu, u32 nr,
				   unsigned long *clean)
{
	struct pool_user_alloc job = { .test = test, .nr = nr };

	KUNIT_EXPECT_EQ(test, work_on_cpu(cpu, pool_user_alloc_fn, &job), 0);
	KUNIT_EXPECT_EQ(test, job.nr, nr);
	bitmap_copy(clean, job.clean, nr);
	return job.addr;
}

/* What a clearer borrows (up to @*nr pages, set to what it got), back clean. */
static unsigned long clear_some(struct kunit *test, u32 *nr)
{
	struct pool_test *t = test->priv;
	DECLARE_BITMAP(clean, MAX_PAGES);
	unsigned long d;

	d = p2pdma_pool_take_dirty(t->pool, nr, clean);
	if (d)
		p2pdma_pool_give_lent(t->pool, d, *nr, true);
	return d;
}

/* Every dirty page through the clearer. */
static void clear_all(struct kunit *test)
{
	u32 nr = MAX_PAGES, rounds = 0;

	while (clear_some(test, &nr)) {
		KUNIT_ASSERT_LT(test, ++rounds, 4 * MAX_PAGES);
		nr = MAX_PAGES;
	}
}

/*
 * The word tests' pool, four words' pages in one arena, with @cw and @dw
 * set to @cpu's word of pages freed clean and of those freed dirty.
 */
static struct pool_test *words_setup(struct kunit *test, int cpu,
				     struct p2pdma_pcp_word **cw,
				     struct p2pdma_pcp_word **dw)
{
	static const u32 pages[] = { 4 * BITS_PER_LONG };
	struct pool_test *t = pool_test_setup(test, pages, 1);
	struct p2pdma_pcp *pcp = per_cpu_ptr(t->pool->pcp, cpu);

	*cw = &pcp->clean;
	*dw = &pcp->dirty;
	return t;
}

/* Page @idx of the first arena, as a page of a CPU's word sees it. */
static bool word_has(struct kunit *test, struct p2pdma_pcp_word *w, u32 idx)
{
	struct pool_test *t = test->priv;

	return w->pages && w->arena == t->arena[0] &&
	       w->base == round_down(idx, BITS_PER_LONG) &&
	       (w->pages & BIT(idx % BITS_PER_LONG));
}

/*
 * Single pages freed on a CPU, as munmap() gives a mapping back, join one
 * of its two words, of clean pages or of dirty ones, in any order: counted
 * free at once, but on the free lists only when a page of another word
 * comes, and marked clean then if they are.  An allocation that finds the
 * pool short gives the words back, and so does p2pdma_pool_kill(); a page
 * freed twice is refused at once.
 */
static void pool_test_page_words(struct kunit *test)
{
	const u32 w = BITS_PER_LONG, n = 4 * BITS_PER_LONG;
	int cpu = cpumask_first(cpu_online_mask);
	struct p2pdma_pcp_word *cw, *dw;
	struct pool_test *t = words_setup(test, cpu, &cw, &dw);
	struct p2pdma_arena *a = t->arena[0];
	DECLARE_BITMAP(clean, 2 * BITS_PER_LONG);
	unsigned long addr, *more;
	long drains;
	u32 nr = 2 * w, i, got;

	/* Too large for a word: from the arena, the lowest 2w pages. */
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_EQ(test, addr, a->base);
	KUNIT_ASSERT_EQ(test, nr, 2 * w);

	/* The whole first word, clean: in the CPU's word, not yet free. */
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 0, w, true), w);
	KUNIT_EXPECT_EQ(test, cw->pages, ~0UL);
	KUNIT_EXPECT_EQ(test, cw->base, 0);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool),
			(size_t)w << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, a->nr_free, n - 2 * w);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 0);

	/* Dirty pages of the next word go to the other word: nothing moves. */
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, w, w + 3, false), 3);
	KUNIT_EXPECT_EQ(test, dw->base, w);
	KUNIT_EXPECT_EQ(test, dw->pages, GENMASK(2, 0));
	KUNIT_EXPECT_EQ(test, cw->pages, ~0UL);
	KUNIT_EXPECT_EQ(test, a->nr_free, n - 2 * w);

	/* A clean page of the next word: the first word goes back, clean. */
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, w + 5, w + 6, true),
			1);
	KUNIT_EXPECT_EQ(test, cw->base, w);
	KUNIT_EXPECT_EQ(test, cw->pages, BIT(5));
	KUNIT_EXPECT_EQ(test, a->nr_free, n - w);
	KUNIT_EXPECT_EQ(test, clean_pages(test), w);

	/* Dirty pages in falling order join their word all the same. */
	for (i = w + 10; i >= w + 8; i--)
		KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, i, i + 1,
						    false), 1);
	KUNIT_EXPECT_EQ(test, dw->pages, GENMASK(10, 8) | GENMASK(2, 0));
	KUNIT_EXPECT_EQ(test, a->nr_free, n - w);

	/* Freed twice while in the word: refused, counted once. */
	KUNIT_EXPECT_EQ(test, p2pdma_pool_free_page(t->pool,
						    addr + (w + 9) * PAGE_SIZE,
						    false), 0);
	KUNIT_EXPECT_EQ(test, dw->pages, GENMASK(10, 8) | GENMASK(2, 0));
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool),
			(size_t)(w - 7) << PAGE_SHIFT);

	/* Every free page can be had, the words' after a drain. */
	more = kunit_kcalloc(test, n, sizeof(*more), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, more);
	drains = atomic_long_read(&t->pool->drain_passes);
	for (got = 0; got < n; got++) {
		more[got] = checked_alloc(test, 1);
		if (!more[got])
			break;
	}
	KUNIT_EXPECT_EQ(test, got, 3 * w + 7);
	KUNIT_EXPECT_GT(test, atomic_long_read(&t->pool->drain_passes), drains);
	KUNIT_EXPECT_EQ(test, cw->pages, 0);
	KUNIT_EXPECT_EQ(test, dw->pages, 0);
	for (i = 0; i < got; i++)
		checked_free(test, more[i], 1);
	checked_free(test, addr + (w + 3) * PAGE_SIZE, 2);
	checked_free(test, addr + (w + 6) * PAGE_SIZE, 2);
	checked_free(test, addr + (w + 11) * PAGE_SIZE, w - 11);
	expect_all_free(test);

	/*
	 * The kill gives the words back, the clean one clean; later pages
	 * go straight to the lists, each as clean as it is.
	 */
	nr = 4;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_EQ(test, nr, 4);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 0, 1, true), 1);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 1, 2, false), 1);
	got = clean_pages(test);
	p2pdma_pool_kill(t->pool);
	KUNIT_EXPECT_EQ(test, cw->pages, 0);
	KUNIT_EXPECT_EQ(test, dw->pages, 0);
	KUNIT_EXPECT_EQ(test, clean_pages(test), got + 1);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 2, 3, true), 1);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 3, 4, false), 1);
	KUNIT_EXPECT_EQ(test, cw->pages, 0);
	KUNIT_EXPECT_EQ(test, dw->pages, 0);
	KUNIT_EXPECT_EQ(test, clean_pages(test), got + 2);
	KUNIT_EXPECT_EQ(test, a->nr_free, n);
	KUNIT_EXPECT_TRUE(test, p2pdma_pool_wait_idle(t->pool, HZ));
	expect_all_free(test);
}

/*
 * An allocation for userspace of up to a word takes the lowest pages in a
 * row of its CPU's clean word, known clean, and never those of its dirty
 * one.  With too few there, one of up to half a word takes a whole clean
 * block of a word's pages from the lists in its place, if they have one,
 * giving the old word's pages back clean.  So a process that writes its
 * mappings, whose pages all come back dirty, takes the pool's lock twice
 * per word's worth of them, not twice per mapping.
 */
static void pool_test_word_take(struct kunit *test)
{
	const u32 w = BITS_PER_LONG, n = 4 * BITS_PER_LONG;
	int cpu = cpumask_first(cpu_online_mask);
	struct p2pdma_pcp_word *cw, *dw;
	struct pool_test *t = words_setup(test, cpu, &cw, &dw);
	struct p2pdma_arena *a = t->arena[0];
	DECLARE_BITMAP(clean, BITS_PER_LONG);
	unsigned long addr, got;
	u32 nr = w;

	/* Nothing clean: no refill, the page comes from the lists. */
	got = alloc_user_on(test, cpu, 1, clean);
	KUNIT_EXPECT_NE(test, got, 0);
	KUNIT_EXPECT_FALSE(test, test_bit(0, clean));
	KUNIT_EXPECT_EQ(test, cw->pages, 0);
	checked_free(test, got, 1);
	expect_all_free(test);

	/*
	 * Every other page of the first word clean: the refill finds no two
	 * in a row, puts the block back and takes nothing, and the pages
	 * come from the lists, as clean as they are.
	 */
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_EQ(test, addr, a->base);
	KUNIT_ASSERT_EQ(test, nr, w);
	for (got = 0; got < w; got++) {
		if (got % 2)
			clean_free(test, addr + got * PAGE_SIZE, 1);
		else
			checked_free(test, addr + got * PAGE_SIZE, 1);
	}
	pool_drain(t->pool);
	KUNIT_ASSERT_EQ(test, clean_pages(test), w / 2);
	got = alloc_user_on(test, cpu, 2, clean);
	KUNIT_EXPECT_EQ(test, bitmap_weight(clean, 2), 1);
	KUNIT_EXPECT_EQ(test, cw->pages, 0);
	KUNIT_EXPECT_EQ(test, clean_pages(test), w / 2 - 1);
	KUNIT_EXPECT_EQ(test, a->nr_free, n - 2);
	checked_free(test, got, 2);
	pool_drain(t->pool);
	clear_all(test);
	KUNIT_EXPECT_EQ(test, clean_pages(test), n);
	/* Dirty again: allocated whole by the kernel, and freed. */
	got = checked_alloc(test, n);
	KUNIT_ASSERT_EQ(test, got, a->base);
	checked_free(test, got, n);
	KUNIT_ASSERT_EQ(test, clean_pages(test), 0);
	expect_all_free(test);
	nr = w;

	/*
	 * One clean block of a word's pages, at the arena's start, merged
	 * with the dirty rest of the arena.
	 */
	addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_EQ(test, addr, a->base);
	KUNIT_ASSERT_EQ(test, nr, w);
	clean_free(test, addr, w);
	KUNIT_ASSERT_EQ(test, clean_pages(test), w);

	/* The first page refills the word with it, and is its lowest. */
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, 1, clean), addr);
	KUNIT_EXPECT_TRUE(test, test_bit(0, clean));
	KUNIT_EXPECT_EQ(test, cw->base, 0);
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, 1));
	KUNIT_EXPECT_EQ(test, clean_pages(test), 0);
	KUNIT_EXPECT_EQ(test, a->nr_free, n - w);

	/* Two more, then all three freed written, in falling order: no lock. */
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, 2, clean),
			addr + PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, 2));
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 1, 3, false), 2);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 0, 1, false), 1);
	KUNIT_EXPECT_EQ(test, dw->pages, GENMASK(2, 0));
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, 3));
	KUNIT_EXPECT_EQ(test, a->nr_free, n - w);

	/* A page mapped and unmapped unwritten comes back where it was. */
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, 1, clean),
			addr + 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 3, 4, true), 1);
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, 1, clean),
			addr + 3 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, word_has(test, dw, 0));
	KUNIT_EXPECT_FALSE(test, word_has(test, cw, 3));
	KUNIT_EXPECT_EQ(test, a->nr_free, n - w);

	/* More than half a word, in a row in the word: taken from it. */
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, w / 2 + 1, clean),
			addr + 4 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, w / 2 + 1));
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, w / 2 + 5));
	checked_free(test, addr + 4 * PAGE_SIZE, w / 2 + 1);

	/* Too few in a row, and no clean block: from the lists, dirty. */
	got = alloc_user_on(test, cpu, w / 2, clean);
	KUNIT_EXPECT_NE(test, got, 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(clean, w / 2));
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, w / 2 + 5));
	checked_free(test, got, w / 2);

	/*
	 * With a clean block on the lists, merged with dirty ones or not: it
	 * takes the old word's place, whose pages go back clean, and the
	 * lowest half of it is taken.
	 */
	nr = w;
	got = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, got, 0);
	KUNIT_ASSERT_EQ(test, nr, w);
	clean_free(test, got, w);
	KUNIT_EXPECT_EQ(test, clean_pages(test), w);
	KUNIT_EXPECT_EQ(test, alloc_user_on(test, cpu, w / 2, clean), got);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, w / 2));
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, w / 2));
	KUNIT_EXPECT_EQ(test, cw->base, arena_index(a, got));
	KUNIT_EXPECT_EQ(test, clean_pages(test), w / 2 - 5);
	checked_free(test, got, w / 2);

	/* Written pages stay the clearer's: they never come back clean. */
	checked_free(test, addr + 3 * PAGE_SIZE, 1);
	pool_drain(t->pool);
	KUNIT_EXPECT_EQ(test, clean_pages(test), w / 2 - 5 + w / 2);
	expect_all_free(test);
}

/*
 * Dirty pages a CPU holds in its word are the clearer's too: when the
 * free lists have none, p2pdma_pool_take_dirty() puts the dirty words on
 * them and finds the pages there.  A clean word stays, for the next
 * mapping on its CPU.
 */
static void pool_test_dirty_words(struct kunit *test)
{
	const u32 w = BITS_PER_LONG, n = 4 * BITS_PER_LONG;
	int cpu = cpumask_last(cpu_online_mask);
	struct p2pdma_pcp_word *cw, *dw;
	struct pool_test *t = words_setup(test, cpu, &cw, &dw);
	DECLARE_BITMAP(clean, 4);
	unsigned long addr;
	u32 nr;

	clear_all(test);
	KUNIT_ASSERT_EQ(test, clean_pages(test), n);

	/* Four pages for userspace: the start of a clean block, now a word. */
	addr = alloc_user_on(test, cpu, 4, clean);
	KUNIT_ASSERT_EQ(test, addr, t->arena[0]->base);
	KUNIT_EXPECT_EQ(test, clean_pages(test), n - w);

	/* Three of them written and unmapped: the dirty word. */
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 0, 3, false), 3);
	KUNIT_EXPECT_EQ(test, dw->pages, GENMASK(2, 0));

	/* An aligned pair, then the third page, and nothing more. */
	nr = BITS_PER_LONG;
	KUNIT_EXPECT_EQ(test, clear_some(test, &nr), addr);
	KUNIT_EXPECT_EQ(test, nr, 2);
	KUNIT_EXPECT_EQ(test, dw->pages, 0);
	nr = BITS_PER_LONG;
	KUNIT_EXPECT_EQ(test, clear_some(test, &nr), addr + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, nr, 1);
	nr = BITS_PER_LONG;
	KUNIT_EXPECT_EQ(test, clear_some(test, &nr), 0);
	KUNIT_EXPECT_EQ(test, clean_pages(test), n - w + 3);

	/* The fourth page back clean: its word keeps it, nothing is dirty. */
	KUNIT_EXPECT_EQ(test, free_pages_on(test, cpu, addr, 3, 4, true), 1);
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, 3));
	nr = BITS_PER_LONG;
	KUNIT_EXPECT_EQ(test, clear_some(test, &nr), 0);
	KUNIT_EXPECT_EQ(test, cw->pages, GENMASK(w - 1, 3));
	pool_drain(t->pool);
	KUNIT_EXPECT_EQ(test, clean_pages(test), n);
	expect_all_free(test);
}

/*
 * pool_test_words_race(): workers that map and unmap as userspace does,
 * and a clearer.  @truly_clean has a bit per page the test knows to hold
 * zeros only: freed unwritten, or cleared, and not handed out since.
 */
struct words_race {
	struct pool_test *t;
	unsigned long *truly_clean;
	atomic_t errors;		/* handed out twice, or a bad free */
	atomic_t stale;			/* said to be clean, and not */
	atomic_t short_allocs;		/* fewer pages than asked, or none */
	atomic_t told_clean;		/* pages an allocation said were clean */
	atomic_t lent;			/* runs the clearer was lent */
	unsigned long drains;		/* the pool's cache_drains before */
	unsigned long refills;		/* its word_refills before */
	long dirty_words;		/* its dirty_words_given before */
	unsigned long deadline;		/* jiffies */
};

struct words_worker {
	struct words_race *race;
	struct completion done;
	unsigned int cpu;
	unsigned int rounds;
};

#define WORDS_RACE_MAX_RUN	16

/*
 * Seen: allocations came up short, caches were drained for them, clean
 * words were refilled, the clearer was lent pages, dirty words among them,
 * and allocations were told of clean pages.
 */
static bool words_race_seen(struct words_race *r)
{
	struct p2pdma_pool *pool = r->t->pool;

	return atomic_read(&r->short_allocs) && atomic_read(&r->told_clean) &&
	       atomic_read(&r->lent) &&
	       READ_ONCE(pool->cache_drains) != r->drains &&
	       READ_ONCE(pool->word_refills) != r->refills &&
	       atomic_long_read(&pool->dirty_words_given) != r->dirty_words;
}

/* The deadline first: an emulated run on many CPUs may be slow. */
static bool words_race_more(struct words_race *r, unsigned int rounds)
{
	if (!time_before(jiffies, r->deadline))
		return false;
	if (rounds < POOL_RACE_ROUNDS)
		return true;
	return rounds < POOL_RACE_MAX_ROUNDS && !words_race_seen(r);
}

static unsigned long words_bit(unsigned long addr)
{
	return (addr - FAKE_BASE) >> PAGE_SHIFT;
}

/*
 * Pages just handed out, which @clean says are clean or not: those it says
 * are must be.  Their bits go whatever it says: the pages are the taker's.
 */
static void words_check_clean(struct words_race *r, unsigned long addr,
			      u32 nr, const unsigned long *clean)
{
	u32 p;

	for (p = 0; p < nr; p++)
		if (!test_and_clear_bit(words_bit(addr) + p, r->truly_clean) &&
		    test_bit(p, clean))
			atomic_inc(&r->stale);
}

/* Take a run as mmap() does; a page said to be clean must be. */
static unsigned long words_take(struct words_race *r, u32 *nr,
				unsigned long *clean, struct rnd_state *rnd)
{
	u32 want = 1 + prandom_u32_state(rnd) % WORDS_RACE_MAX_RUN, p;
	unsigned long addr;

	*nr = want;
	addr = p2pdma_pool_alloc_upto(r->t->pool, nr, clean);
	if (!addr || *nr < want)
		atomic_inc(&r->short_allocs);
	if (!addr)
		return 0;
	if (!shadow_mark(r->t, addr, *nr, true))
		atomic_inc(&r->errors);
	words_check_clean(r, addr, *nr, clean);
	for (p = 0; p < *nr; p++)
		if (test_bit(p, clean))
			atomic_inc(&r->told_clean);
	return addr;
}

/* Give a run back page by page as munmap() does, some pages unwritten. */
static void words_give(struct words_race *r, unsigned long addr, u32 nr,
		       unsigned long *clean, struct rnd_state *rnd)
{
	unsigned long page;
	bool written;
	u32 p;

	for (p = 0; p < nr; p++) {
		page = addr + ((unsigned long)p << PAGE_SHIFT);
		written = !test_bit(p, clean) || prandom_u32_state(rnd) % 2;
		/* Both before the free: another CPU may take the page next. */
		if (!written)
			set_bit(words_bit(page), r->truly_clean);
		if (!shadow_mark(r->t, page, 1, false))
			atomic_inc(&r->errors);
		if (p2pdma_pool_free_page(r->t->pool, page, !written) != 1)
			atomic_inc(&r->errors);
	}
}

static int words_worker_fn(void *data)
{
	struct words_worker *w = data;
	struct words_race *r = w->race;
	unsigned long clean[4][BITS_TO_LONGS(WORDS_RACE_MAX_RUN)];
	unsigned long addr[4];
	struct rnd_state rnd;
	u32 nr[4], i;

	prandom_seed_state(&rnd, w->cpu);
	for (w->rounds = 0; words_race_more(r, w->rounds); w->rounds++) {
		for (i = 0; i < 4; i++)
			addr[i] = words_take(r, &nr[i], clean[i], &rnd);
		for (i = 0; i < 4; i++)
			if (addr[i])
				words_give(r, addr[i], nr[i], clean[i], &rnd);
		cond_resched();
	}
	complete(&w->done);
	return 0;
}

/* Clear dirty pages as clear.c does, until stopped. */
static int words_clearer_fn(void *data)
{
	struct words_race *r = data;
	DECLARE_BITMAP(clean, WORDS_RACE_MAX_RUN);
	unsigned long addr;
	u32 nr, p;

	while (!kthread_should_stop()) {
		nr = WORDS_RACE_MAX_RUN;
		addr = p2pdma_pool_take_dirty(r->t->pool, &nr, clean);
		if (!addr) {
			cond_resched();
			continue;
		}
		atomic_inc(&r->lent);
		if (!shadow_mark(r->t, addr, nr, true))
			atomic_inc(&r->errors);
		words_check_clean(r, addr, nr, clean);
		/* Bit by bit: workers set and clear others of the word. */
		for (p = 0; p < nr; p++)
			set_bit(words_bit(addr) + p, r->truly_clean);
		if (!shadow_mark(r->t, addr, nr, false))
			atomic_inc(&r->errors);
		p2pdma_pool_give_lent(r->t->pool, addr, nr, true);
		cond_resched();
	}
	return 0;
}

/*
 * A worker per CPU maps and unmaps runs of up to 16 pages through the
 * words, writing some pages, while a kthread clears dirty pages as the
 * clearer does, over a pool they can run short: refills, drains of words
 * and the clearer's take of dirty words all race.  No page may be handed
 * out twice, a page said to be clean must hold zeros (as the test knows
 * it), and once the words are drained the pool's clean bits must be the
 * test's.  The race must be seen: allocations came up short, caches were
 * drained, the clearer was lent pages and allocations were told of clean
 * ones.
 */
static void pool_test_words_race(struct kunit *test)
{
	static const u32 pages[] = { 128 };
	struct task_struct *task, *clearer;
	struct words_worker *w;
	struct words_race *r;
	unsigned int cpu, n = 0, i;
	struct pool_test *t;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs to race");
	t = pool_test_setup(test, pages, 1);
	/* Not on this stack: the kthreads use it, whatever fails here. */
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->t = t;
	r->truly_clean = kunit_kcalloc(test, BITS_TO_LONGS(t->shadow_pages),
				       sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r->truly_clean);
	r->drains = t->pool->cache_drains;
	r->refills = t->pool->word_refills;
	r->dirty_words = atomic_long_read(&t->pool->dirty_words_given);
	r->deadline = jiffies + POOL_RACE_SECONDS * HZ;
	w = kunit_kcalloc(test, num_online_cpus(), sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	clearer = kthread_run(words_clearer_fn, r, "p2pdma_words/c");
	KUNIT_ASSERT_FALSE(test, IS_ERR(clearer));
	for_each_online_cpu(cpu) {
		w[n].race = r;
		w[n].cpu = cpu;
		init_completion(&w[n].done);
		task = kthread_create(words_worker_fn, &w[n], "p2pdma_words/%u",
				      cpu);
		if (IS_ERR(task)) {
			KUNIT_FAIL(test, "no worker for CPU %u", cpu);
			continue;
		}
		kthread_bind(task, cpu);
		wake_up_process(task);
		n++;
	}
	for (i = 0; i < n; i++) {
		wait_for_completion(&w[i].done);
		kunit_info(test, "CPU %u: %u rounds", w[i].cpu, w[i].rounds);
	}
	kthread_stop(clearer);
	kunit_info(test, "%d short allocations, %d pages told clean, %d runs lent, %lu drains, %lu refills, %ld dirty words given",
		   atomic_read(&r->short_allocs), atomic_read(&r->told_clean),
		   atomic_read(&r->lent), t->pool->cache_drains - r->drains,
		   t->pool->word_refills - r->refills,
		   atomic_long_read(&t->pool->dirty_words_given) - r->dirty_words);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->errors), 0);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&r->stale), 0,
			    "pages said to be clean that were written");
	KUNIT_EXPECT_TRUE_MSG(test, words_race_seen(r), "the race was not seen");
	pool_drain(t->pool);
	KUNIT_EXPECT_TRUE(test, bitmap_equal(t->arena[0]->clean, r->truly_clean,
					     t->arena[0]->nr_pages));
	KUNIT_EXPECT_EQ(test, clean_pages(test),
			bitmap_weight(r->truly_clean, t->shadow_pages));
	expect_all_free(test);
}

/*
 * An allocation for userspace finds a clean page however many dirty ones
 * were freed after it, and with no block all clean, takes the clean part
 * of one that has dirty pages too.
 */
static void pool_test_clean_lists(struct kunit *test)
{
	static const u32 pages[] = { 2 * MAX_PAGES };
	const u32 k = 200, half = MAX_PAGES / 2;
	struct pool_test *t = pool_test_setup(test, pages, 1);
	DECLARE_BITMAP(clean, MAX_PAGES);
	unsigned long *one, addr, first = 0, big[2];
	u32 nr, i, freed = 0;

	one = kunit_kcalloc(test, 2 * k, sizeof(*one), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, one);
	for (i = 0; i < 2 * k; i++) {
		nr = 1;
		one[i] = clean_alloc(test, &nr, clean);
		KUNIT_ASSERT_NE(test, one[i], 0);
	}
	/*
	 * Pages with an even index, their buddies kept: none merges.  The
	 * first one back clean, then all the others dirty.
	 */
	for (i = 0; i < 2 * k; i++) {
		if (((one[i] - FAKE_BASE) >> PAGE_SHIFT) & 1)
			continue;
		if (!first) {
			first = one[i];
			clean_free(test, first, 1);
		} else {
			checked_free(test, one[i], 1);
		}
		one[i] = 0;
		freed++;
	}
	pool_drain(t->pool);
	KUNIT_EXPECT_GE(test, freed, k / 2);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 1);
	nr = 1;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_EQ(test, addr, first);
	KUNIT_EXPECT_TRUE(test, test_bit(0, clean));
	if (addr)
		checked_free(test, addr, 1);
	for (i = 0; i < 2 * k; i++)
		if (one[i])
			checked_free(test, one[i], 1);
	expect_all_free(test);

	/* Both largest blocks clean but for one page in their lower half. */
	for (i = 0; i < 2; i++) {
		nr = MAX_PAGES;
		big[i] = clean_alloc(test, &nr, clean);
		KUNIT_ASSERT_NE(test, big[i], 0);
		KUNIT_ASSERT_EQ(test, nr, MAX_PAGES);
	}
	for (i = 0; i < 2; i++) {
		clean_free(test, big[i], 100);
		checked_free(test, big[i] + 100 * PAGE_SIZE, 1);
		clean_free(test, big[i] + 101 * PAGE_SIZE, MAX_PAGES - 101);
	}
	pool_drain(t->pool);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 2 * MAX_PAGES - 2);
	nr = half;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_EQ(test, nr, half);
	KUNIT_EXPECT_TRUE(test, addr == big[0] + half * PAGE_SIZE ||
			  addr == big[1] + half * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, half));
	if (addr)
		checked_free(test, addr, half);
	expect_all_free(test);

	/*
	 * Both halves dirty, the lower one with no clean page: the clean
	 * ones, three quarters in, are found all the same.  The other block is
	 * all dirty.
	 */
	for (i = 0; i < 2; i++) {
		nr = MAX_PAGES;
		big[i] = clean_alloc(test, &nr, clean);
		KUNIT_ASSERT_NE(test, big[i], 0);
		KUNIT_ASSERT_EQ(test, nr, MAX_PAGES);
	}
	checked_free(test, big[1], MAX_PAGES);
	checked_free(test, big[0], half + half / 2);
	clean_free(test, big[0] + (half + half / 2) * PAGE_SIZE, 64);
	checked_free(test, big[0] + (half + half / 2 + 64) * PAGE_SIZE,
		     half / 2 - 64);
	pool_drain(t->pool);
	expect_lists_sound(test);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 64);
	nr = 64;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_EQ(test, nr, 64);
	KUNIT_EXPECT_EQ(test, addr, big[0] + (half + half / 2) * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, bitmap_full(clean, 64));
	if (addr)
		checked_free(test, addr, 64);
	expect_all_free(test);
}

/*
 * Take the two arenas' largest blocks, for userspace, and give them back:
 * the first with its first @clean0 pages clean, the second with @clean1.
 */
static void two_arenas_clean(struct kunit *test, u32 clean0, u32 clean1)
{
	struct pool_test *t = test->priv;
	DECLARE_BITMAP(clean, MAX_PAGES);
	u32 keep[2] = { clean0, clean1 }, nr, i;
	unsigned long big;

	for (i = 0; i < 2; i++) {
		nr = MAX_PAGES;
		KUNIT_ASSERT_NE(test, clean_alloc(test, &nr, clean), 0);
		KUNIT_ASSERT_EQ(test, nr, MAX_PAGES);
	}
	for (i = 0; i < 2; i++) {
		big = t->arena[i]->base;
		if (keep[i])
			clean_free(test, big, keep[i]);
		if (keep[i] < MAX_PAGES)
			checked_free(test, big + keep[i] * PAGE_SIZE,
				     MAX_PAGES - keep[i]);
	}
	expect_lists_sound(test);
	KUNIT_EXPECT_EQ(test, clean_pages(test), clean0 + clean1);
}

/*
 * With several arenas, each kind of block is looked for in all of them
 * before the next kind: a kernel buffer takes a block with no clean page
 * in the second arena rather than a clean one, or one with clean pages,
 * in the first; userspace a clean block in the second rather than the
 * clean part of a dirty one in the first; the clearer a block with clean
 * pages in the second before one without in the first.
 */
static void pool_test_clean_arenas(struct kunit *test)
{
	static const u32 pages[] = { MAX_PAGES, MAX_PAGES };
	struct pool_test *t = pool_test_setup(test, pages, 2);
	DECLARE_BITMAP(clean, MAX_PAGES);
	unsigned long addr;
	u32 nr;

	two_arenas_clean(test, MAX_PAGES, 0);
	addr = checked_alloc(test, 3);
	KUNIT_EXPECT_EQ(test, addr, t->arena[1]->base);
	KUNIT_EXPECT_EQ(test, clean_pages(test), MAX_PAGES);
	if (addr)
		checked_free(test, addr, 3);
	expect_all_free(test);

	two_arenas_clean(test, 100, 0);
	addr = checked_alloc(test, 3);
	KUNIT_EXPECT_EQ(test, addr, t->arena[1]->base);
	KUNIT_EXPECT_EQ(test, clean_pages(test), 100);
	if (addr)
		checked_free(test, addr, 3);
	expect_all_free(test);

	two_arenas_clean(test, 100, MAX_PAGES);
	nr = 1;
	addr = clean_alloc(test, &nr, clean);
	KUNIT_EXPECT_EQ(test, addr, t->arena[1]->base);
	KUNIT_EXPECT_TRUE(test, test_bit(0, clean));
	if (addr)
		clean_free(test, addr, 1);
	/* The rest of the CPU word the page came from, back on the lists. */
	pool_drain(t->pool);
	KUNIT_EXPECT_EQ(test, clean_pages(test), MAX_PAGES + 100);
	expect_all_free(test);

	two_arenas_clean(test, 0, 100);
	nr = MAX_PAGES;
	addr = clear_some(test, &nr);
	KUNIT_EXPECT_EQ(test, addr, t->arena[1]->base);
	KUNIT_EXPECT_EQ(test, nr, MAX_PAGES);
	KUNIT_EXPECT_EQ(test, clean_pages(test), MAX_PAGES);
	expect_all_free(test);
}

struct lent_race {
	struct pool_test *t;
	struct completion borrowed, looked;
	bool stop;
	unsigned long rounds;
	unsigned long looks, seen, lost;
};

/* A clearer that borrows a largest dirty block and gives it back dirty. */
static int lent_borrow_fn(void *data)
{
	struct lent_race *r = data;
	DECLARE_BITMAP(clean, MAX_PAGES);
	unsigned long d;
	u32 nr;

	while (!READ_ONCE(r->stop)) {
		nr = MAX_PAGES;
		d = p2pdma_pool_take_dirty(r->t->pool, &nr, clean);
		if (d)
			p2pdma_pool_give_lent(r->t->pool, d, nr, false);
		r->rounds++;
		cond_resched();
	}
	complete(&r->borrowed);
	return 0;
}

/*
 * On another CPU: look, under the pool's lock, at what is free and what
 * is lent, until pages were seen lent 10000 times, for 10 s at most.
 */
static int lent_look_fn(void *data)
{
	struct lent_race *r = data;
	struct p2pdma_pool *pool = r->t->pool;
	unsigned long flags, deadline = jiffies + 10 * HZ;
	u32 nr_free;
	long lent;

	while (r->seen < 10000 && time_before(jiffies, deadline)) {
		spin_lock_irqsave(&pool->lock, flags);
		nr_free = r->t->arena[0]->nr_free;
		lent = atomic_long_read(&pool->clearing);
		spin_unlock_irqrestore(&pool->lock, flags);
		r->looks++;
		r->seen += lent > 0;
		r->lost += nr_free + lent < 2 * MAX_PAGES;
		cond_resched();
	}
	WRITE_ONCE(r->stop, true);
	complete(&r->looked);
	return 0;
}

/*
 * What a clearer borrows is never out of sight: every page is on the free
 * lists or counted lent, at every moment the pool's lock is free, so that
 * an allocation that finds the lists short knows there is memory to wait
 * for.  One kthread borrows and gives back largest blocks (too large for
 * the CPU caches) while another, on the other CPU, looks under the lock;
 * it must have seen pages lent, which is when the race is on.
 */
static void pool_test_lent_in_sight(struct kunit *test)
{
	static const u32 pages[] = { 2 * MAX_PAGES };
	struct lent_race r = {};
	struct task_struct *borrow, *look;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs to race");
	r.t = pool_test_setup(test, pages, 1);
	init_completion(&r.borrowed);
	init_completion(&r.looked);
	borrow = kthread_create(lent_borrow_fn, &r, "p2pdma_borrow");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, borrow);
	look = kthread_create(lent_look_fn, &r, "p2pdma_look");
	if (IS_ERR(look)) {
		WRITE_ONCE(r.stop, true);
		complete(&r.looked);
	} else {
		kthread_bind(look, cpumask_first(cpu_online_mask));
		wake_up_process(look);
	}
	kthread_bind(borrow, cpumask_last(cpu_online_mask));
	wake_up_process(borrow);
	wait_for_completion(&r.looked);
	wait_for_completion(&r.borrowed);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, look);
	kunit_info(test, "%lu looks, %lu with pages lent, %lu with pages out of sight; %lu borrows",
		   r.looks, r.seen, r.lost, r.rounds);
	KUNIT_EXPECT_GT_MSG(test, r.seen, 0, "never saw pages lent: no race");
	KUNIT_EXPECT_EQ_MSG(test, r.lost, 0,
			    "pages neither free nor lent, where a mapping fails");
	expect_all_free(test);
}

/* What pool_test_atomic() does in an atomic context, and what it saw. */
struct pool_atomic_ctx {
	struct irq_work work;
	struct p2pdma_pool *pool;
	unsigned long addr;		/* two pages, handed out */
	bool usable;			/* pool_pcp_usable() there */
	bool drained;
	u32 page_freed, block_freed;
	unsigned long got;
};

/* Frees of a mapping's page and a cache-sized block, an allocation. */
static void pool_atomic_frees(struct irq_work *work)
{
	struct pool_atomic_ctx *c = container_of(work, struct pool_atomic_ctx,
						 work);

	c->usable = pool_pcp_usable();
	c->page_freed = p2pdma_pool_free_page(c->pool, c->addr, false);
	c->block_freed = p2pdma_pool_free(c->pool, c->addr + PAGE_SIZE,
					  PAGE_SIZE);
	c->got = p2pdma_pool_alloc(c->pool, PAGE_SIZE);
	if (c->got)
		p2pdma_pool_free(c->pool, c->got, PAGE_SIZE);
}

/* What an allocation that found the arenas short does next. */
static void pool_atomic_drain(struct irq_work *work)
{
	struct pool_atomic_ctx *c = container_of(work, struct pool_atomic_ctx,
						 work);

	c->usable = pool_pcp_usable();
	c->drained = pool_drain_cached(c->pool);
}

enum pool_atomic_kind { POOL_IN_IRQ, POOL_IRQS_OFF, POOL_BH_OFF };

static const char * const pool_atomic_names[] = {
	"in hard IRQ context", "with IRQs off", "with softirqs off",
};

/* Run @fn in hard IRQ context (an irq_work), or with IRQs or BH off. */
static void pool_atomic_run(struct pool_atomic_ctx *c,
			    enum pool_atomic_kind kind,
			    void (*fn)(struct irq_work *))
{
	unsigned long flags;

	c->usable = true;
	init_irq_work(&c->work, fn);
	switch (kind) {
	case POOL_IN_IRQ:
		irq_work_queue(&c->work);
		irq_work_sync(&c->work);
		break;
	case POOL_IRQS_OFF:
		local_irq_save(flags);
		fn(&c->work);
		local_irq_restore(flags);
		break;
	case POOL_BH_OFF:
		local_bh_disable();
		fn(&c->work);
		local_bh_enable();
		break;
	}
}

static bool pool_caches_empty(struct pool_test *t)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (pool_cpu_caches(t->pool, cpu))
			return false;
	return true;
}

/*
 * Outside task context, or where the caller turned interrupts or softirqs
 * off, the CPU caches are left alone: their locks are taken with
 * interrupts on, and a wait for one there could be a wait for the task
 * interrupted, or for a CPU that an interrupt keeps waiting for a lock
 * the caller holds.  Pages go to and come from the arenas.
 */
static void pool_atomic_frees_in(struct kunit *test,
				 enum pool_atomic_kind kind)
{
	struct pool_test *t = test->priv;
	struct pool_atomic_ctx c = { .pool = t->pool };
	DECLARE_BITMAP(clean, 2);
	const char *how = pool_atomic_names[kind];
	u32 nr = 2;

	/* From the arena, as userspace allocations are: nothing cached. */
	c.addr = clean_alloc(test, &nr, clean);
	KUNIT_ASSERT_NE(test, c.addr, 0);
	KUNIT_EXPECT_EQ(test, nr, 2);
	KUNIT_EXPECT_TRUE(test, pool_caches_empty(t));
	KUNIT_EXPECT_TRUE(test, shadow_mark(t, c.addr, 2, false));

	pool_atomic_run(&c, kind, pool_atomic_frees);
	KUNIT_EXPECT_FALSE_MSG(test, c.usable, "caches usable %s", how);
	KUNIT_EXPECT_EQ_MSG(test, c.page_freed, 1, "%s", how);
	KUNIT_EXPECT_EQ_MSG(test, c.block_freed, 1, "%s", how);
	KUNIT_EXPECT_NE_MSG(test, c.got, 0, "%s", how);
	KUNIT_EXPECT_TRUE_MSG(test, pool_caches_empty(t),
			      "a CPU cache was used %s", how);
	KUNIT_EXPECT_EQ_MSG(test, t->arena[0]->nr_free, t->arena[0]->nr_pages,
			    "%s", how);
	KUNIT_EXPECT_EQ(test, p2pdma_pool_in_use(t->pool), 0);
}

/*
 * There, a drain takes back what a cache holds only if its lock is free:
 * here it is, then it is held by the very task the interrupt came in.
 */
static void pool_atomic_drains(struct kunit *test)
{
	struct pool_test *t = test->priv;
	struct pool_atomic_ctx c = { .pool = t->pool };
	struct p2pdma_pcp *pcp;
	unsigned long kernel, end;
	long passes;
	bool held;

	/* A kernel page: its CPU caches the rest of a batch. */
	kernel = checked_alloc(test, 1);
	KUNIT_ASSERT_NE(test, kernel, 0);
	checked_free(test, kernel, 1);
	KUNIT_EXPECT_FALSE(test, pool_caches_empty(t));
	passes = atomic_long_read(&t->pool->drain_passes);

	/* This CPU's cache locked: the interrupt comes while it is held. */
	pcp = pool_pcp_lock(t->pool);
	init_irq_work(&c.work, pool_atomic_drain);
	c.usable = true;
	irq_work_queue(&c.work);
	end = jiffies + HZ;
	while (irq_work_is_busy(&c.work) && time_before(jiffies, end))
		cpu_relax();
	held = !irq_work_is_busy(&c.work);
	pool_pcp_unlock(pcp);
	irq_work_sync(&c.work);
	KUNIT_EXPECT_TRUE_MSG(test, held, "no interrupt came in a second");
	KUNIT_EXPECT_FALSE(test, c.usable);
	KUNIT_EXPECT_FALSE_MSG(test, c.drained,
			       "drained a cache whose lock the interrupted task held");
	KUNIT_EXPECT_FALSE(test, pool_caches_empty(t));

	pool_atomic_run(&c, POOL_IN_IRQ, pool_atomic_drain);
	KUNIT_EXPECT_FALSE(test, c.usable);
	KUNIT_EXPECT_TRUE(test, c.drained);
	KUNIT_EXPECT_TRUE(test, pool_caches_empty(t));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->pool->drain_passes),
			passes + 2);
}

static void pool_test_atomic(struct kunit *test)
{
	static const u32 pages[] = { BITS_PER_LONG };

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "interrupt handlers are threads on PREEMPT_RT");
	pool_test_setup(test, pages, 1);
	pool_atomic_frees_in(test, POOL_IN_IRQ);
	pool_atomic_frees_in(test, POOL_IRQS_OFF);
	pool_atomic_frees_in(test, POOL_BH_OFF);
	pool_atomic_drains(test);
	expect_all_free(test);
}

static void pool_test_arena_of(struct kunit *test)
{
	static const u32 pages[] = { 8, 8 };
	struct pool_test *t = pool_test_setup(test, pages, 2);
	struct p2pdma_arena *second = t->arena[1];
	unsigned long last = second->base + 7 * PAGE_SIZE + 5;
	unsigned long past = second->base + 8 * PAGE_SIZE;

	KUNIT_EXPECT_PTR_EQ(test, pool_arena_of(t->pool, FAKE_BASE),
			    t->arena[0]);
	KUNIT_EXPECT_PTR_EQ(test, pool_arena_of(t->pool, last), second);
	KUNIT_EXPECT_NULL(test, pool_arena_of(t->pool, past));
	KUNIT_EXPECT_NULL(test, pool_arena_of(t->pool, FAKE_BASE - 1));
}

static struct kunit_case pool_test_cases[] = {
	KUNIT_CASE(pool_test_exact_pages),
	KUNIT_CASE(pool_test_bad_input),
	KUNIT_CASE(pool_test_exhaustion),
	KUNIT_CASE(pool_test_huge),
	KUNIT_CASE(pool_test_partial_frees),
	KUNIT_CASE(pool_test_bad_frees),
	KUNIT_CASE(pool_test_random),
	KUNIT_CASE(pool_test_concurrent),
	KUNIT_CASE(pool_test_kill),
	KUNIT_CASE(pool_test_cache_depth),
	KUNIT_CASE(pool_test_in_use_per_cpu),
	KUNIT_CASE(pool_test_drain_bounded),
	KUNIT_CASE(pool_test_arena_of),
	KUNIT_CASE(pool_test_page_words),
	KUNIT_CASE(pool_test_word_take),
	KUNIT_CASE(pool_test_dirty_words),
	KUNIT_CASE(pool_test_words_race),
	KUNIT_CASE(pool_test_clean),
	KUNIT_CASE(pool_test_clean_lists),
	KUNIT_CASE(pool_test_clean_arenas),
	KUNIT_CASE(pool_test_clear_pieces),
	KUNIT_CASE(pool_test_lent_in_sight),
	KUNIT_CASE(pool_test_atomic),
	{}
};

static struct kunit_suite pool_test_suite = {
	.name = "p2pdma_pool",
	.exit = pool_test_exit,
	.test_cases = pool_test_cases,
};

kunit_test_suite(pool_test_suite);

#endif /* _DRIVERS_PCI_P2PDMA_POOL_TEST_H */
