// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA allocator: a page-granular buddy allocator over BAR memory,
 * with per-CPU caches in front of it.
 *
 * Each registered range is an arena.  An arena keeps its bookkeeping in
 * system memory (one small struct per page), never in the BAR: reads of
 * device memory are slow and the device may be using it.  Free blocks are
 * power-of-two runs of pages, naturally aligned inside the arena, on
 * index-linked lists per order; freeing merges a block with its buddy as
 * long as the buddy is free too.  A request that is not a power of two
 * takes the next larger block and gives the tail back at once, so exactly
 * the pages asked for are in use and any page-aligned part of an
 * allocation can be freed on its own (userspace mappings return their
 * pages one at a time).
 *
 * Allocations and frees of power-of-two sizes up to 1 MiB, the sizes I/O
 * paths use, go through a small per-CPU stack per order.  Only refills and
 * flushes, a batch at a time, take the pool lock; the per-CPU lock is
 * uncontended except while another CPU drains the caches after the pool
 * ran dry, so that no free page is ever out of reach, or the clearer
 * looks for dirty pages in the CPUs' words (see below).
 *
 * The caches serve task context with interrupts and softirqs on, so that
 * their locks need not turn interrupts off, as the pool's lock does: a
 * cached allocation and free would otherwise do that twice each.  Other
 * contexts take from and give to the arenas directly, and drain a cache
 * only if its lock is free: its holder may be the very task they
 * interrupted.
 *
 * A userspace mapping gives its pages back one at a time, as munmap()
 * drops them.  Each CPU keeps such single pages by bitmap word, one word of
 * clean pages and one of dirty ones, and gives a word's pages back at once
 * when a page of another word comes: a word's worth of pages then costs one
 * pool lock and one merge, not one each.  An allocation for userspace of
 * up to a word takes its pages from its CPU's clean word; one of up to
 * half a refill that finds too few there refills the word with the clean
 * pages of a block of up to a word's pages from the free lists.  A process
 * that maps again what it just unmapped takes no pool lock either way, and
 * one that writes its mappings takes it twice per refill's worth of them
 * (the refill, and the dirty word going back), whatever order it frees
 * them in.
 *
 * Pages in use are counted per CPU too: a shared counter written by every
 * allocation and free would cost more than the rest of the cached path
 * once several CPUs allocate.  A CPU's count moves to the shared one when
 * it drifts a batch away from zero, so the shared count is off by less
 * than a batch per CPU; that is exact enough to see that an allocation
 * fits, and only near exhaustion, or when asked for the figure, are the
 * CPUs' counts summed.
 *
 * The allocator never dereferences the memory it manages: addresses are
 * plain numbers to it, which is what lets its KUnit suite run on fake
 * arenas of any shape.
 *
 * It does remember which free pages are clean, because whoever freed them
 * said so (p2pdma_pool_free_clean()): userspace must never see what the
 * last user left in a page, and clearing a BAR is slow.  A bit per page,
 * set while the page is free and holds zeros only, is cleared when the
 * page is handed out, and the allocation says which pages had it.  The
 * bits do not steer merging, which goes on as if nothing were clean, but
 * each order has two free lists: blocks that are all clean, and the
 * others, those with a clean page first.  An allocation for userspace
 * takes an all-clean block if there is one, or else the clean part of a
 * block with clean pages; a clearer in the background takes blocks with
 * dirty pages, with p2pdma_pool_take_dirty(); kernel buffers, overwritten
 * anyway, take dirty blocks first.  Each looks at one block per order and
 * arena, at an end of a list; only buffers larger than the largest block,
 * kernel ones, walk a list.
 * Pages start dirty: nobody knows what a BAR holds.
 *
 * A bit per page says whether it is handed out.  A free of pages that are
 * not (a double free, or a wrong address) is refused and reported with the
 * caller's stack, instead of corrupting the free lists and driving the
 * in-use count below zero, which would make the provider's removal wait
 * forever.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/rculist.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "pool.h"

/*
 * Blocks go up to P2PDMA_POOL_BLOCK_PAGES; the per-CPU caches hold blocks
 * up to half that (1 MiB with 4 KiB pages), the sizes I/O paths ask for.
 */
#define P2PDMA_MAX_ORDER	(SUBSECTION_SHIFT - PAGE_SHIFT)
#define P2PDMA_PCP_MAX_ORDER	(P2PDMA_MAX_ORDER - 1)
#define P2PDMA_PCP_DEPTH	8
#define P2PDMA_PCP_BATCH	(P2PDMA_PCP_DEPTH / 2)
/* The most pages a CPU counts in use before the pool's counter hears of it. */
#define P2PDMA_IN_USE_BATCH	64
#define P2PDMA_NIL		U32_MAX

/* Bookkeeping of one page; only meaningful on the first page of a block. */
struct p2pdma_block {
	u32 next;
	u32 prev;
	u8 order;
	u8 list;			/* if free: P2PDMA_CLEAN or _DIRTY */
	bool free;
};

/*
 * Free blocks of one order, linked through their struct p2pdma_block:
 * those that are all clean on one list, the others on another, those of
 * them that still have a clean page first (see arena_push()).
 */
enum { P2PDMA_CLEAN, P2PDMA_DIRTY, P2PDMA_NR_LISTS };

struct p2pdma_free_list {
	u32 head;			/* first block, or NIL */
	u32 tail;			/* last block, or NIL */
};

/*
 * One contiguous range of pages.  Everything but @node and @handed is under
 * the pool's lock; @base and @nr_pages never change once the arena is in
 * the pool.  @handed is changed with atomic operations only, and @node
 * added to the pool's list under RCU rules, so that the per-CPU paths can
 * find the arena of an address without the pool's lock.
 */
struct p2pdma_arena {
	struct list_head node;		/* in p2pdma_pool.arenas */
	unsigned long *handed;		/* a bit per page: handed out */
	/*
	 * A bit per page: free and clean.  Set by frees, cleared by
	 * allocations, with atomic operations, only on pages that are off
	 * the free lists; the bits of pages on them are stable under the
	 * pool's lock (not the words: their other bits may change).
	 */
	unsigned long *clean;
	unsigned long base;		/* address of the first page */
	u32 nr_pages;
	u32 nr_free;			/* pages on the free lists */
	struct p2pdma_block *blocks;	/* one per page */
	struct p2pdma_free_list free[P2PDMA_NR_LISTS][P2PDMA_MAX_ORDER + 1];
};

/* A per-CPU cache of blocks of one order. */
struct p2pdma_pcp_stack {
	unsigned long addr[P2PDMA_PCP_DEPTH];
	unsigned int count;
};

/*
 * Single pages kept on one CPU, off the free lists and not handed out:
 * bit i of @pages for page @base + i of @arena, @base the first page of a
 * word of its bitmaps.  A CPU has one word of clean pages and one of dirty
 * ones.
 */
struct p2pdma_pcp_word {
	struct p2pdma_arena *arena;
	u32 base;
	unsigned long pages;
};

/*
 * The order of the block that refills a clean word: a word's pages, or
 * fewer where the largest block is smaller (64 KiB pages).
 */
#define P2PDMA_REFILL_ORDER	min_t(unsigned int, ilog2(BITS_PER_LONG), \
				      P2PDMA_MAX_ORDER)

struct p2pdma_pcp {
	/*
	 * Taken by its own CPU, and by others only to drain the caches or
	 * to give back a dirty word for the clearer.  Never with interrupts
	 * turned off for it: taken only where the caches may be used
	 * (pool_pcp_usable()), and elsewhere only with spin_trylock().
	 */
	spinlock_t lock;
	struct p2pdma_pcp_stack stack[P2PDMA_PCP_MAX_ORDER + 1];
	struct p2pdma_pcp_word clean;	/* under @lock */
	struct p2pdma_pcp_word dirty;	/* under @lock */
	/*
	 * Pages handed out on this CPU less those freed on it, not yet in
	 * p2pdma_pool.in_use.  Changed by this CPU only, with this_cpu ops
	 * (not under @lock); read by others for a sum.
	 */
	long in_use;
};

/*
 * Lock order: p2pdma_pcp.lock, then p2pdma_pool.lock.  The pool's lock is
 * taken with spin_lock_irqsave(), as frees come from any context, the
 * caches' with spin_lock() (see p2pdma_pcp.lock).  Neither is taken inside
 * a section that turned interrupts off by hand, which PREEMPT_RT forbids
 * (spinlock_t sleeps there).
 */
struct p2pdma_pool {
	spinlock_t lock;		/* the arenas and their free lists */
	struct list_head arenas;	/* under @lock; only added to */
	struct p2pdma_pcp __percpu *pcp;
	int node;			/* NUMA node of the bookkeeping */
	unsigned long nr_pages;		/* in all arenas, under @lock */
	/*
	 * When a CPU's count moves to @in_use, and how far off @in_use may
	 * be for it: (@in_use_batch - 1) pages per possible CPU.  Set with
	 * @nr_pages, under @lock, and only ever raised.
	 */
	long in_use_batch;
	long in_use_slack;
	atomic_long_t clean;		/* bits set in the arenas' @clean */
	/* Pages p2pdma_pool_take_dirty() lent, not in @in_use. */
	atomic_long_t clearing;
	/* What failed allocations cost, for the KUnit suite: */
	unsigned long cache_drains;	/* CPU caches drained, under @lock */
	atomic_long_t drain_passes;	/* pool_drain_cached() calls */
	/* What the words did, for the KUnit suite too: */
	unsigned long word_refills;	/* clean words refilled, under @lock */
	atomic_long_t dirty_words_given; /* by pool_give_dirty_words() */
	bool dying;			/* set once by p2pdma_pool_kill() */
	/*
	 * Pages handed out and not yet freed, less the CPUs' own counts
	 * (p2pdma_pcp.in_use), each of which stays below @in_use_batch
	 * either way but for a moment (see pool_count_in_use()).  On a line
	 * of its own, away from what every allocation reads: only the moves
	 * write it.
	 */
	atomic_long_t in_use ____cacheline_aligned_in_smp;
	atomic_long_t peak;		/* highest sum of in-use counts seen */
};

/*
 * Called with pool->lock held: how many pages of free block @idx of
 * @order are clean.  Blocks are naturally aligned, so the block's bits
 * are part of one word, or whole words.
 */
static u32 arena_block_clean_pages(struct p2pdma_arena *arena, u32 idx,
				   unsigned int order)
{
	u32 n = 1U << order;
	unsigned int bit = idx % BITS_PER_LONG;

	if (n >= BITS_PER_LONG) {
		/*
		 * data_race(): the block's bits are stable under the lock,
		 * but other pages' bits in the same words change without
		 * it, atomically.
		 */
		return data_race(bitmap_weight(arena->clean + BIT_WORD(idx), n));
	}
	/* data_race(): as above. */
	return hweight_long(data_race(arena->clean[BIT_WORD(idx)]) &
			    GENMASK(bit + n - 1, bit));
}

/*
 * Put free block @idx on a list of its order: the clean one if it is all
 * clean, else the dirty one, at the head if it has a clean page and at
 * the tail if not.  Its bits do not change while it is there (see struct
 * p2pdma_arena), so an allocation for userspace, and the clearer, find
 * what they look for at one end of a list, in a look per order, however
 * long the lists are.
 */
static void arena_push(struct p2pdma_arena *arena, u32 idx, unsigned int order)
{
	struct p2pdma_block *blk = &arena->blocks[idx];
	u32 clean = arena_block_clean_pages(arena, idx, order);
	bool dirty = clean < 1U << order;
	struct p2pdma_free_list *l;

	blk->order = order;
	blk->list = dirty ? P2PDMA_DIRTY : P2PDMA_CLEAN;
	blk->free = true;
	l = &arena->free[blk->list][order];
	if (dirty && !clean) {
		blk->prev = l->tail;
		blk->next = P2PDMA_NIL;
		if (l->tail != P2PDMA_NIL)
			arena->blocks[l->tail].next = idx;
		else
			l->head = idx;
		l->tail = idx;
	} else {
		blk->prev = P2PDMA_NIL;
		blk->next = l->head;
		if (l->head != P2PDMA_NIL)
			arena->blocks[l->head].prev = idx;
		else
			l->tail = idx;
		l->head = idx;
	}
}

static void arena_unlink(struct p2pdma_arena *arena, u32 idx)
{
	struct p2pdma_block *blk = &arena->blocks[idx];
	struct p2pdma_free_list *l = &arena->free[blk->list][blk->order];

	if (blk->prev != P2PDMA_NIL)
		arena->blocks[blk->prev].next = blk->next;
	else
		l->head = blk->next;
	if (blk->next != P2PDMA_NIL)
		arena->blocks[blk->next].prev = blk->prev;
	else
		l->tail = blk->prev;
	blk->free = false;
}

/* Give back the block at @idx, merging it with free buddies. */
static void arena_free_block(struct p2pdma_arena *arena, u32 idx,
			     unsigned int order)
{
	while (order < P2PDMA_MAX_ORDER) {
		u32 buddy = idx ^ (1U << order);
		struct p2pdma_block *b = &arena->blocks[buddy];

		if (buddy + (1U << order) > arena->nr_pages || !b->free ||
		    b->order != order)
			break;
		arena_unlink(arena, buddy);
		idx = min(idx, buddy);
		order++;
	}
	arena_push(arena, idx, order);
}

/* Give back any page-aligned run, as the aligned blocks it is made of. */
static void arena_free_run(struct p2pdma_arena *arena, u32 idx, u32 nr)
{
	while (nr) {
		unsigned int order = idx ? __ffs(idx) : P2PDMA_MAX_ORDER;

		order = min3(order, (unsigned int)ilog2(nr),
			     (unsigned int)P2PDMA_MAX_ORDER);
		/* Only catches some double frees, but costs nothing. */
		if (WARN_ONCE(arena->blocks[idx].free,
			      "p2pdma: page %u of a %u-page arena freed twice\n",
			      idx, arena->nr_pages))
			return;
		arena_free_block(arena, idx, order);
		arena->nr_free += 1U << order;
		idx += 1U << order;
		nr -= 1U << order;
	}
}

/*
 * Called with pool->lock held: split free block @idx of order @o + 1, off
 * the lists, in two, give one half back and return the other: the upper
 * one if @upper.
 */
static u32 arena_halve(struct p2pdma_arena *arena, u32 idx, unsigned int o,
		       bool upper)
{
	u32 half = idx + (1U << o);

	if (upper) {
		arena_push(arena, idx, o);
		return half;
	}
	arena_push(arena, half, o);
	return idx;
}

/*
 * Called with pool->lock held: the first 2^@order pages of free block @idx
 * of order @o, off the lists, the rest given back.
 */
static u32 arena_split_lower(struct p2pdma_arena *arena, u32 idx,
			     unsigned int o, unsigned int order)
{
	while (o > order)
		idx = arena_halve(arena, idx, --o, false);
	arena->nr_free -= 1U << order;
	return idx;
}

/*
 * Called with pool->lock held: 2^@order pages of free block @idx of order
 * @o, off the lists, split toward its clean pages: of each pair of halves
 * the one with more clean pages is kept, the lower one if they have as
 * many.
 */
static u32 arena_split_cleanest(struct p2pdma_arena *arena, u32 idx,
				unsigned int o, unsigned int order)
{
	u32 lower, upper;

	while (o > order) {
		o--;
		lower = arena_block_clean_pages(arena, idx, o);
		upper = arena_block_clean_pages(arena, idx + (1U << o), o);
		idx = arena_halve(arena, idx, o, upper > lower);
	}
	arena->nr_free -= 1U << order;
	return idx;
}

/* Whether the @blocks - 1 largest blocks after free one @first are free. */
static bool arena_huge_fits(struct p2pdma_arena *arena, u32 first,
			    u32 blocks)
{
	const u32 step = 1U << P2PDMA_MAX_ORDER;
	u32 i;

	for (i = 1; i < blocks; i++) {
		u32 idx = first + i * step;
		struct p2pdma_block *b = &arena->blocks[idx];

		if (idx + step > arena->nr_pages || !b->free ||
		    b->order != P2PDMA_MAX_ORDER)
			return false;
	}
	return true;
}

/*
 * Runs longer than the largest block are rare (large kernel buffers):
 * look for enough consecutive free maximal blocks, walking the lists of
 * the largest order, clean ones too.  Only kernel buffers are that large;
 * the walk is bounded by the arena's size.
 */
static u32 arena_take_huge(struct p2pdma_arena *arena, u32 nr)
{
	const u32 step = 1U << P2PDMA_MAX_ORDER;
	u32 blocks = DIV_ROUND_UP(nr, step), first, i;
	int l;

	if (nr > arena->nr_free)
		return P2PDMA_NIL;
	for (l = 0; l < P2PDMA_NR_LISTS; l++)
		for (first = arena->free[l][P2PDMA_MAX_ORDER].head;
		     first != P2PDMA_NIL; first = arena->blocks[first].next)
			if (arena_huge_fits(arena, first, blocks))
				goto found;
	return P2PDMA_NIL;

found:
	for (i = 0; i < blocks; i++)
		arena_unlink(arena, first + i * step);
	arena->nr_free -= blocks * step;
	arena_free_run(arena, first + nr, blocks * step - nr);
	return first;
}

static unsigned long arena_addr(struct p2pdma_arena *arena, u32 idx)
{
	return arena->base + ((unsigned long)idx << PAGE_SHIFT);
}

/*
 * What every kernel allocation and free of a cached block runs is inlined
 * into the exported function, as slab does with its fast paths: the calls
 * and returns cost more than the pop or push itself, most of all under
 * emulation, where each return is a lookup.  Refills, flushes and the
 * moves of counts are split off, for the compiler to place: forced out of
 * line, as a retry loop in pool_take_new() would be too, they made an
 * alloc+free pair slower under TCG, not faster.  Kernels built for size
 * leave it all to the compiler.
 */
#ifdef CONFIG_CC_OPTIMIZE_FOR_SIZE
#define pool_fastpath inline
#else
#define pool_fastpath __always_inline
#endif

/*
 * Under the pool's lock or not: arenas are only ever added, with
 * list_add_tail_rcu(), until the pool is destroyed.
 */
static pool_fastpath struct p2pdma_arena *
pool_arena_of(struct p2pdma_pool *pool, unsigned long addr)
{
	struct p2pdma_arena *arena;

	list_for_each_entry_rcu(arena, &pool->arenas, node, true)
		if (addr - arena->base < (unsigned long)arena->nr_pages << PAGE_SHIFT)
			return arena;
	return NULL;
}

static u32 arena_index(struct p2pdma_arena *arena, unsigned long addr)
{
	return (addr - arena->base) >> PAGE_SHIFT;
}

/* The mask of pages [@idx, @idx + @nr) in their word of a bitmap. */
static unsigned long handed_mask(u32 idx, u32 nr)
{
	return GENMASK(idx % BITS_PER_LONG + nr - 1, idx % BITS_PER_LONG);
}

/* How many of @nr pages from @idx the word at a time can take. */
static u32 handed_step(u32 idx, u32 nr)
{
	return min_t(u32, nr, BITS_PER_LONG - idx % BITS_PER_LONG);
}

static atomic_long_t *handed_word(struct p2pdma_arena *arena, u32 idx)
{
	return (atomic_long_t *)&arena->handed[BIT_WORD(idx)];
}

static atomic_long_t *clean_word(struct p2pdma_arena *arena, u32 idx)
{
	return (atomic_long_t *)&arena->clean[BIT_WORD(idx)];
}

/* Mark pages handed out; returns whether any already was (a bug). */
static pool_fastpath bool arena_hand_out(struct p2pdma_arena *arena, u32 idx,
					 u32 nr)
{
	unsigned long mask, was = 0;
	u32 n;

	for (; nr; idx += n, nr -= n) {
		n = handed_step(idx, nr);
		mask = handed_mask(idx, n);
		was |= atomic_long_fetch_or(mask, handed_word(arena, idx)) & mask;
	}
	return was;
}

/* Hand out pages taken off the lists or a word: none may be handed out. */
static pool_fastpath void arena_hand_out_free(struct p2pdma_arena *arena,
					      u32 idx, u32 nr)
{
	WARN_ONCE(arena_hand_out(arena, idx, nr),
		  "p2pdma: page %u of a %u-page arena handed out twice\n",
		  idx, arena->nr_pages);
}

/*
 * What a free block holds.  Each kind is at one end of a list of its
 * order (see arena_push()), so that it is found in a look.
 */
enum p2pdma_kind { P2PDMA_ALL_DIRTY, P2PDMA_MIXED, P2PDMA_ALL_CLEAN };

/* Called with pool->lock held: a free block of @kind and order @o, or NIL. */
static u32 arena_find(struct p2pdma_arena *arena, int kind, unsigned int o)
{
	struct p2pdma_free_list *dirty = &arena->free[P2PDMA_DIRTY][o];
	u32 idx;

	switch (kind) {
	case P2PDMA_ALL_CLEAN:
		return arena->free[P2PDMA_CLEAN][o].head;
	case P2PDMA_MIXED:
		idx = dirty->head;
		if (idx != P2PDMA_NIL && arena_block_clean_pages(arena, idx, o))
			return idx;
		return P2PDMA_NIL;
	default:
		idx = dirty->tail;
		if (idx != P2PDMA_NIL && !arena_block_clean_pages(arena, idx, o))
			return idx;
		return P2PDMA_NIL;
	}
}

/*
 * Called with pool->lock held: a free block of @kind and order @o in the
 * first arena that has one, taken off the lists (but still counted free);
 * NIL if no arena has one.
 */
static u32 pool_take_kind(struct p2pdma_pool *pool, int kind, unsigned int o,
			  struct p2pdma_arena **found)
{
	struct p2pdma_arena *arena;
	u32 idx;

	list_for_each_entry(arena, &pool->arenas, node) {
		idx = arena_find(arena, kind, o);
		if (idx != P2PDMA_NIL) {
			arena_unlink(arena, idx);
			*found = arena;
			return idx;
		}
	}
	return P2PDMA_NIL;
}

/*
 * Called with pool->lock held: a block of 2^@order pages, from the
 * smallest free block that fits, in any arena.  Of those, a kernel buffer
 * takes one with no clean page, else one with some, else a clean one, so
 * that clean pages are kept for userspace; with @clean_only, userspace
 * takes a clean one or none.  Size goes first: the clearer makes pages
 * clean again, but nothing puts together a block split for nothing.
 */
static u32 pool_take_block(struct p2pdma_pool *pool, unsigned int order,
			   bool clean_only, struct p2pdma_arena **found)
{
	unsigned int o;
	int kind;
	u32 idx;

	for (o = order; o <= P2PDMA_MAX_ORDER; o++) {
		for (kind = clean_only ? P2PDMA_ALL_CLEAN : P2PDMA_ALL_DIRTY;
		     kind <= P2PDMA_ALL_CLEAN; kind++) {
			idx = pool_take_kind(pool, kind, o, found);
			if (idx != P2PDMA_NIL)
				return arena_split_lower(*found, idx, o, order);
		}
	}
	return P2PDMA_NIL;
}

/*
 * Called with pool->lock held: 2^@order pages, as clean as can be, of the
 * largest free block that has clean pages but not only clean ones, in any
 * arena (see arena_split_cleanest()).  A dirty block freed next to clean
 * ones merges with them, and the clean pages it hides are found this way,
 * without waiting for the clearer.  NIL if there is none.
 */
static u32 pool_take_cleanest(struct p2pdma_pool *pool, unsigned int order,
			      struct p2pdma_arena **found)
{
	unsigned int o = P2PDMA_MAX_ORDER + 1;
	u32 idx;

	while (o-- > order) {
		idx = pool_take_kind(pool, P2PDMA_MIXED, o, found);
		if (idx != P2PDMA_NIL)
			return arena_split_cleanest(*found, idx, o, order);
	}
	return P2PDMA_NIL;
}

/* Called with pool->lock held: @nr pages, more than the largest block. */
static unsigned long pool_take_huge(struct p2pdma_pool *pool, u32 nr)
{
	struct p2pdma_arena *arena;
	u32 idx;

	list_for_each_entry(arena, &pool->arenas, node) {
		idx = arena_take_huge(arena, nr);
		if (idx != P2PDMA_NIL)
			return arena_addr(arena, idx);
	}
	return 0;
}

/*
 * Called with pool->lock held: @nr pages, a kernel buffer's (see
 * pool_take_block()), or with @clean_first, userspace's: a clean block if
 * any arena has one, else the cleanest part of a block with clean pages,
 * else any.
 */
static unsigned long pool_take_locked(struct p2pdma_pool *pool, u32 nr,
				      bool clean_first)
{
	unsigned int order = order_base_2(nr);
	struct p2pdma_arena *arena = NULL;
	u32 idx = P2PDMA_NIL;

	if (order > P2PDMA_MAX_ORDER)
		return pool_take_huge(pool, nr);
	/* The count is a hint: without it, no list would have one either. */
	if (clean_first && atomic_long_read(&pool->clean)) {
		idx = pool_take_block(pool, order, true, &arena);
		if (idx == P2PDMA_NIL)
			idx = pool_take_cleanest(pool, order, &arena);
	}
	if (idx == P2PDMA_NIL)
		idx = pool_take_block(pool, order, false, &arena);
	if (idx == P2PDMA_NIL)
		return 0;
	if (nr != 1U << order)
		arena_free_run(arena, idx + nr, (1U << order) - nr);
	return arena_addr(arena, idx);
}

/* Called with pool->lock held. */
static void pool_give_locked(struct p2pdma_pool *pool, unsigned long addr,
			     u32 nr)
{
	struct p2pdma_arena *arena = pool_arena_of(pool, addr);

	if (WARN_ONCE(!arena, "p2pdma: freeing pages not in the pool\n"))
		return;
	arena_free_run(arena, arena_index(arena, addr), nr);
}

/* Set up the bookkeeping of @size bytes from @base, all free. */
static struct p2pdma_arena *arena_create(unsigned long base, size_t size,
					 int node)
{
	struct p2pdma_arena *arena;
	unsigned int o;

	arena = kzalloc_node(sizeof(*arena), GFP_KERNEL, node);
	if (!arena)
		return NULL;
	arena->base = base;
	arena->nr_pages = size >> PAGE_SHIFT;
	arena->blocks = kvzalloc_node(array_size(arena->nr_pages,
						 sizeof(*arena->blocks)),
				      GFP_KERNEL, node);
	arena->handed = kvzalloc_node(array_size(BITS_TO_LONGS(arena->nr_pages),
						 sizeof(long)),
				      GFP_KERNEL, node);
	/* Whatever the BAR holds, nobody cleared it: no page is clean. */
	arena->clean = kvzalloc_node(array_size(BITS_TO_LONGS(arena->nr_pages),
						sizeof(long)),
				     GFP_KERNEL, node);
	if (!arena->blocks || !arena->handed || !arena->clean) {
		kvfree(arena->blocks);
		kvfree(arena->handed);
		kvfree(arena->clean);
		kfree(arena);
		return NULL;
	}
	for (o = 0; o <= P2PDMA_MAX_ORDER; o++) {
		arena->free[P2PDMA_CLEAN][o].head = P2PDMA_NIL;
		arena->free[P2PDMA_CLEAN][o].tail = P2PDMA_NIL;
		arena->free[P2PDMA_DIRTY][o].head = P2PDMA_NIL;
		arena->free[P2PDMA_DIRTY][o].tail = P2PDMA_NIL;
	}
	arena_free_run(arena, 0, arena->nr_pages);
	return arena;
}

/**
 * p2pdma_pool_create - make an empty pool
 * @node: NUMA node for its bookkeeping
 *
 * Return: the pool, or NULL when out of memory.
 */
struct p2pdma_pool *p2pdma_pool_create(int node)
{
	struct p2pdma_pool *pool;
	int cpu;

	pool = kzalloc_node(sizeof(*pool), GFP_KERNEL, node);
	if (!pool)
		return NULL;
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->arenas);
	pool->node = node;
	/* Every count moves at once until there is a pool to size it by. */
	pool->in_use_batch = 1;
	pool->pcp = alloc_percpu(struct p2pdma_pcp);
	if (!pool->pcp) {
		kfree(pool);
		return NULL;
	}
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(pool->pcp, cpu)->lock);
	return pool;
}

/*
 * Staying on this CPU while its cache is locked, or while its in-use
 * count moves to the pool's: preemption off, or on PREEMPT_RT only
 * migration, where the sleeping lock must stay preemptible.
 */
#ifdef CONFIG_PREEMPT_RT
#define pool_pin_cpu()		migrate_disable()
#define pool_unpin_cpu()	migrate_enable()
#else
#define pool_pin_cpu()		preempt_disable()
#define pool_unpin_cpu()	preempt_enable()
#endif

/*
 * Whether this context may use the CPU caches, whose locks are taken with
 * interrupts on: not in an interrupt or softirq, and not where the caller
 * turned either off, as it does to hold a lock that an interrupt handler
 * takes.  Spinning there on a cache's lock, held by another CPU that an
 * interrupt then keeps waiting for that lock, would deadlock.  On
 * PREEMPT_RT, interrupt handlers and softirqs that may sleep are tasks,
 * and spinlock_t is not taken with interrupts off.
 */
static pool_fastpath bool pool_pcp_usable(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		return in_task();
	return !in_interrupt() && !irqs_disabled();
}

static void pool_note_peak(struct p2pdma_pool *pool, long in_use)
{
	long peak = atomic_long_read(&pool->peak);

	while (in_use > peak &&
	       !atomic_long_try_cmpxchg(&pool->peak, &peak, in_use))
		;
}

/*
 * Pages in use: the pool's count plus every CPU's, lock-free;
 * pool_in_use_sum() clamps it between 0 and the pool's size.  A snapshot
 * taken while a CPU's count moves may be off by that count.  Once
 * allocations have stopped (p2pdma_pool_kill() waited for those under
 * way) only frees move counts, and they move negative ones, so the sum
 * can only come out high: 0 means nothing is in use.  That needs the
 * pool's count read first: a move zeroes the CPU's count before its
 * fully ordered add, so a sum that saw the add sees the zero too.
 */
static long pool_in_use_raw(const struct p2pdma_pool *pool)
{
	long sum = atomic_long_read_acquire(&pool->in_use);
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(pool->pcp, cpu)->in_use);
	return sum;
}

static long pool_in_use_sum(const struct p2pdma_pool *pool)
{
	return clamp_t(long, pool_in_use_raw(pool), 0,
		       READ_ONCE(pool->nr_pages));
}

/*
 * pool_count_in_use()'s move of this CPU's count to the pool's, on the CPU
 * it pinned, which this unpins.
 */
static void pool_move_in_use(struct p2pdma_pool *pool)
{
	long mine, shared;

	/* Zeroed before the fully ordered add: see pool_in_use_raw(). */
	mine = this_cpu_xchg(pool->pcp->in_use, 0);
	shared = atomic_long_add_return(mine, &pool->in_use);
	pool_unpin_cpu();
	/*
	 * The pool's count runs high by up to the slack while other CPUs'
	 * counts are negative (they freed what this one allocated): sum
	 * the counts only past that, for a high no read would see.
	 */
	if (mine > 0 && shared > atomic_long_read(&pool->peak) +
				 READ_ONCE(pool->in_use_slack))
		pool_note_peak(pool, pool_in_use_sum(pool));
}

/*
 * Count @nr pages handed out (negative: freed) on this CPU, and move the
 * CPU's count to the pool's once it is a batch away from zero.
 *
 * The CPU stays the same from the count to the move, which keeps each
 * CPU's count within a batch of zero but for a moment.  Only a count in
 * the direction of @nr moves: once allocations have stopped, frees then
 * move negative counts only, and pool_in_use_sum() can never come out
 * low, which the teardown's wait relies on.  Allocations are inside an
 * RCU read-side section, so p2pdma_pool_kill() waits for their moves.
 */
static pool_fastpath void pool_count_in_use(struct p2pdma_pool *pool, long nr)
{
	long batch = READ_ONCE(pool->in_use_batch);
	long mine;

	pool_pin_cpu();
	mine = this_cpu_add_return(pool->pcp->in_use, nr);
	if (likely(nr < 0 ? mine > -batch : mine < batch))
		pool_unpin_cpu();
	else
		pool_move_in_use(pool);
}

/*
 * Whether @nr pages may be free at all, counting those in CPU caches, when
 * @busy other pages are not to be had: false when the pool is exhausted,
 * as a remote host can keep it, and the allocation then fails without a
 * lock.  The pool's count alone settles it while the pool is less than
 * about three quarters full; closer to the end the CPUs' counts are
 * summed.  Read without a lock, so a page freed meanwhile may be missed,
 * as by an allocation just before the free.
 */
static pool_fastpath bool pool_room_for(struct p2pdma_pool *pool,
					unsigned long nr, long busy)
{
	long room = (long)READ_ONCE(pool->nr_pages) - busy;

	if (room < 0 || nr > (unsigned long)room)
		return false;
	room -= nr;
	if (atomic_long_read(&pool->in_use) + READ_ONCE(pool->in_use_slack) <=
	    room)
		return true;
	return pool_in_use_sum(pool) <= room;
}

static pool_fastpath bool pool_may_fit(struct p2pdma_pool *pool, u32 nr)
{
	return pool_room_for(pool, nr, atomic_long_read(&pool->clearing));
}

/*
 * Called with pool->lock held, when @nr_pages grew.  Together the CPUs may
 * hold back up to a quarter of the pool from the shared count: up to then
 * pool_may_fit() trusts it alone.  Never lowered, so that no CPU's count
 * is ever past the batch it was moved at.
 */
static void pool_size_in_use_batch(struct p2pdma_pool *pool)
{
	long batch = pool->nr_pages / (4 * num_possible_cpus());

	batch = clamp_t(long, batch, 1, P2PDMA_IN_USE_BATCH);
	if (batch <= pool->in_use_batch)
		return;
	/*
	 * Unordered: an allocation that sees the new batch with the old,
	 * smaller slack may ask the arenas in vain, and only while a range
	 * is added.
	 */
	WRITE_ONCE(pool->in_use_slack, (batch - 1) * num_possible_cpus());
	WRITE_ONCE(pool->in_use_batch, batch);
}

/**
 * p2pdma_pool_add - make a range of addresses allocatable
 * @pool: the pool
 * @base: address of the first byte, page aligned
 * @size: bytes, a multiple of PAGE_SIZE
 *
 * The range must not overlap one already in @pool.  May sleep.
 *
 * Return: 0, -EINVAL for a bad @base or @size, or -ENOMEM.
 */
int p2pdma_pool_add(struct p2pdma_pool *pool, unsigned long base, size_t size)
{
	struct p2pdma_arena *arena;
	unsigned long flags;

	if (!size || !PAGE_ALIGNED(size) || !PAGE_ALIGNED(base) ||
	    size >> PAGE_SHIFT >= P2PDMA_NIL)
		return -EINVAL;
	arena = arena_create(base, size, pool->node);
	if (!arena)
		return -ENOMEM;

	spin_lock_irqsave(&pool->lock, flags);
	list_add_tail_rcu(&arena->node, &pool->arenas);
	pool->nr_pages += arena->nr_pages;
	pool_size_in_use_batch(pool);
	spin_unlock_irqrestore(&pool->lock, flags);
	return 0;
}

/**
 * p2pdma_pool_destroy - free a pool and its bookkeeping
 * @pool: a pool with nothing allocated, or NULL
 *
 * Callers that let lock-free paths reach @pool wait for an RCU grace period
 * after the last page came back (see p2pdma_pool_free()).
 */
void p2pdma_pool_destroy(struct p2pdma_pool *pool)
{
	struct p2pdma_arena *arena, *tmp;

	if (!pool)
		return;
	WARN_ON(pool_in_use_raw(pool) || atomic_long_read(&pool->clearing));
	list_for_each_entry_safe(arena, tmp, &pool->arenas, node) {
		kvfree(arena->blocks);
		kvfree(arena->handed);
		kvfree(arena->clean);
		kfree(arena);
	}
	free_percpu(pool->pcp);
	kfree(pool);
}

/* Give back the pages of one bitmap word's @bits, from page @base on. */
static void arena_free_bits(struct p2pdma_arena *arena, u32 base,
			    unsigned long bits)
{
	unsigned int first, len;
	unsigned long rest;

	while (bits) {
		first = __ffs(bits);
		rest = ~(bits >> first);
		len = rest ? __ffs(rest) : BITS_PER_LONG - first;
		arena_free_run(arena, base + first, len);
		bits &= ~GENMASK(first + len - 1, first);
	}
}

/*
 * Mark the pages of @mask in the word of page @idx clean; how many were
 * not.  The pages are claimed back but not yet free.
 */
static long arena_mark_clean(struct p2pdma_arena *arena, u32 idx,
			     unsigned long mask)
{
	return hweight_long(~atomic_long_fetch_or(mask, clean_word(arena, idx)) &
			    mask);
}

/* Mark pages [@idx, @idx + @nr), claimed back but not yet free, clean. */
static void pool_mark_clean(struct p2pdma_pool *pool,
			    struct p2pdma_arena *arena, u32 idx, u32 nr)
{
	long set = 0;
	u32 n;

	for (; nr; idx += n, nr -= n) {
		n = handed_step(idx, nr);
		set += arena_mark_clean(arena, idx, handed_mask(idx, n));
	}
	atomic_long_add(set, &pool->clean);
}

/*
 * Called with pool->lock and the word's CPU cache lock held: put the pages
 * of @w on the free lists, marked clean first if @clean, which says which
 * of its CPU's words it is (see pool_take_clean()).  Returns whether there
 * were any.
 */
static bool pool_word_give_locked(struct p2pdma_pool *pool,
				  struct p2pdma_pcp_word *w, bool clean)
{
	if (!w->pages)
		return false;
	if (clean)
		atomic_long_add(arena_mark_clean(w->arena, w->base, w->pages),
				&pool->clean);
	arena_free_bits(w->arena, w->base, w->pages);
	w->pages = 0;
	return true;
}

/* Called with the word's CPU cache lock held. */
static bool pool_word_give(struct p2pdma_pool *pool, struct p2pdma_pcp_word *w,
			   bool clean)
{
	unsigned long flags;

	if (!w->pages)
		return false;
	spin_lock_irqsave(&pool->lock, flags);
	pool_word_give_locked(pool, w, clean);
	spin_unlock_irqrestore(&pool->lock, flags);
	return true;
}

/*
 * Called with the word's CPU cache lock held: add page @idx of @arena, just
 * claimed back, to @w, after giving back what it had if the page is in
 * another word.
 */
static void pool_word_add(struct p2pdma_pool *pool, struct p2pdma_pcp_word *w,
			  bool clean, struct p2pdma_arena *arena, u32 idx)
{
	u32 base = round_down(idx, BITS_PER_LONG);

	if (w->pages && (w->arena != arena || w->base != base))
		pool_word_give(pool, w, clean);
	w->arena = arena;
	w->base = base;
	w->pages |= BIT(idx - base);
}

/*
 * Move every block cached on @cpu back to the arenas; false if there was
 * none.  Where the caches may not be used, only if the cache's lock is
 * free: waiting for it there could wait for the task interrupted.
 */
static bool pool_drain_cpu(struct p2pdma_pool *pool, int cpu)
{
	struct p2pdma_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);
	bool drained = false;
	unsigned long flags;
	unsigned int o;

	if (pool_pcp_usable())
		spin_lock(&pcp->lock);
	else if (!spin_trylock(&pcp->lock))
		return false;
	spin_lock_irqsave(&pool->lock, flags);
	pool->cache_drains++;
	drained = pool_word_give_locked(pool, &pcp->clean, true);
	drained |= pool_word_give_locked(pool, &pcp->dirty, false);
	for (o = 0; o <= P2PDMA_PCP_MAX_ORDER; o++) {
		struct p2pdma_pcp_stack *st = &pcp->stack[o];

		drained |= st->count;
		while (st->count)
			pool_give_locked(pool, st->addr[--st->count], 1U << o);
	}
	/*
	 * The cache's lock first: interrupts that came meanwhile run once
	 * the pool's lock goes, and should not keep the cache locked.
	 */
	spin_unlock(&pcp->lock);
	spin_unlock_irqrestore(&pool->lock, flags);
	return drained;
}

/* Return every per-CPU cached block to the arenas. */
static void pool_drain(struct p2pdma_pool *pool)
{
	int cpu;

	for_each_possible_cpu(cpu)
		pool_drain_cpu(pool, cpu);
}

/*
 * Whether @cpu's cache holds a block, read without its lock.  A block
 * cached by a free that raced with this check is missed, as it would be
 * by a drain that had just passed that CPU.
 */
static bool pool_cpu_caches(struct p2pdma_pool *pool, int cpu)
{
	struct p2pdma_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);
	unsigned int o;

	/* Hints too, racing with that CPU's frees. */
	if (data_race(pcp->clean.pages) || data_race(pcp->dirty.pages))
		return true;
	for (o = 0; o <= P2PDMA_PCP_MAX_ORDER; o++) {
		/* A hint, racing with that CPU's pushes and pops: see above. */
		if (data_race(pcp->stack[o].count))
			return true;
	}
	return false;
}

/*
 * Drain the caches that hold something, for an allocation that found the
 * arenas short; true if a block came back.  A pool kept exhausted (by a
 * remote host filling a namespace's CMB, say) has nothing cached, and
 * then no other CPU's cache is locked at all.
 */
static bool pool_drain_cached(struct p2pdma_pool *pool)
{
	bool drained = false;
	int cpu;

	atomic_long_inc(&pool->drain_passes);
	for_each_possible_cpu(cpu)
		if (pool_cpu_caches(pool, cpu))
			drained |= pool_drain_cpu(pool, cpu);
	return drained;
}

/*
 * This CPU's cache, locked, where the caches may be used; the caller stays
 * on this CPU until unlock.
 */
static pool_fastpath struct p2pdma_pcp *pool_pcp_lock(struct p2pdma_pool *pool)
	__acquires(pcp->lock)
{
	struct p2pdma_pcp *pcp;

	pool_pin_cpu();
	pcp = this_cpu_ptr(pool->pcp);
	spin_lock(&pcp->lock);
	return pcp;
}

static pool_fastpath void pool_pcp_unlock(struct p2pdma_pcp *pcp)
	__releases(pcp->lock)
{
	spin_unlock(&pcp->lock);
	pool_unpin_cpu();
}

/* Called with the cache's lock held: a batch of blocks of @order for @st. */
static void pool_pcp_refill(struct p2pdma_pool *pool,
			    struct p2pdma_pcp_stack *st, unsigned int order)
{
	unsigned long flags, addr;

	spin_lock_irqsave(&pool->lock, flags);
	while (st->count < P2PDMA_PCP_BATCH) {
		addr = pool_take_locked(pool, 1U << order, false);
		if (!addr)
			break;
		st->addr[st->count++] = addr;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Pop a block of @order from this CPU's cache, refilling it if empty. */
static pool_fastpath unsigned long pool_pcp_take(struct p2pdma_pool *pool,
						 unsigned int order)
{
	struct p2pdma_pcp *pcp;
	struct p2pdma_pcp_stack *st;
	unsigned long addr;

	pcp = pool_pcp_lock(pool);
	st = &pcp->stack[order];
	if (unlikely(!st->count))
		pool_pcp_refill(pool, st, order);
	addr = st->count ? st->addr[--st->count] : 0;
	pool_pcp_unlock(pcp);
	return addr;
}

static void pool_give_listed(struct p2pdma_pool *pool, unsigned long addr,
			     u32 nr)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	pool_give_locked(pool, addr, nr);
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Called with the cache's lock held: all but a batch of @st to the lists. */
static void pool_pcp_flush(struct p2pdma_pool *pool,
			   struct p2pdma_pcp_stack *st, unsigned int order)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	while (st->count > P2PDMA_PCP_BATCH)
		pool_give_locked(pool, st->addr[--st->count], 1U << order);
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Push a block onto this CPU's cache, flushing half of it when full. */
static pool_fastpath void pool_pcp_give(struct p2pdma_pool *pool,
					unsigned long addr, unsigned int order)
{
	struct p2pdma_pcp *pcp;
	struct p2pdma_pcp_stack *st;

	pcp = pool_pcp_lock(pool);
	st = &pcp->stack[order];
	/*
	 * Checked under the cache's lock, which p2pdma_pool_kill()'s drain
	 * takes after setting @dying: a block cached before the drain is
	 * drained, and a free after it sees the flag.
	 */
	if (unlikely(READ_ONCE(pool->dying))) {
		pool_give_listed(pool, addr, 1U << order);
	} else {
		if (unlikely(st->count == P2PDMA_PCP_DEPTH))
			pool_pcp_flush(pool, st, order);
		st->addr[st->count++] = addr;
	}
	pool_pcp_unlock(pcp);
}

static unsigned long pool_take(struct p2pdma_pool *pool, u32 nr,
			       bool clean_first)
{
	unsigned long flags, addr;

	spin_lock_irqsave(&pool->lock, flags);
	addr = pool_take_locked(pool, nr, clean_first);
	spin_unlock_irqrestore(&pool->lock, flags);
	return addr;
}

static pool_fastpath bool pool_pcp_order(u32 nr, unsigned int *order)
{
	if (!is_power_of_2(nr) || nr > 1U << P2PDMA_PCP_MAX_ORDER)
		return false;
	*order = ilog2(nr);
	return true;
}

/*
 * Kernel buffers through this CPU's cache where the size fits and the
 * caches may be used.  Callers that ask which pages are clean (@for_user)
 * want clean blocks first: they take from the arenas.
 */
static pool_fastpath unsigned long pool_take_any(struct p2pdma_pool *pool,
						 u32 nr, bool for_user)
{
	unsigned int order;

	if (!for_user && pool_pcp_usable() && pool_pcp_order(nr, &order))
		return pool_pcp_take(pool, order);
	return pool_take(pool, nr, for_user);
}

/*
 * Clear the clean bits of pages [@idx, @idx + @nr), just handed out, and
 * set bit i of @was (if not NULL, @nr bits) for page @idx + i that had it.
 */
static pool_fastpath void pool_take_clean(struct p2pdma_pool *pool,
					  struct p2pdma_arena *arena, u32 idx,
					  u32 nr, unsigned long *was)
{
	unsigned long mask, got;
	long cleared = 0;
	u32 off, n, b;

	if (was)
		bitmap_zero(was, nr);
	/*
	 * No bit set anywhere: none of these either.  A free sets the bits
	 * and this count before its pages go back to the lists under the
	 * pool's lock (or a CPU cache's), and this allocation took them from
	 * there under the same lock, after it.
	 */
	if (!atomic_long_read(&pool->clean))
		return;
	for (off = 0; off < nr; off += n) {
		n = handed_step(idx + off, nr - off);
		mask = handed_mask(idx + off, n);
		/*
		 * Only a free sets these bits, before the pages reach the
		 * lists under the pool's lock; they were taken from there
		 * (directly, or through a cache refilled from there) after
		 * that unlock, so a plain read sees them all.  It spares
		 * most kernel allocations, whose blocks are dirty, the
		 * atomic operation.
		 */
		if (!(atomic_long_read(clean_word(arena, idx + off)) & mask))
			continue;
		got = atomic_long_fetch_andnot(mask, clean_word(arena, idx + off)) &
		      mask;
		cleared += hweight_long(got);
		got >>= (idx + off) % BITS_PER_LONG;
		if (was)
			for_each_set_bit(b, &got, n)
				__set_bit(off + b, was);
	}
	if (cleared)
		atomic_long_sub(cleared, &pool->clean);
}

/*
 * Mark a new allocation handed out: an allocator bug if a page already
 * was.  @was as for pool_take_clean().
 */
static pool_fastpath void pool_hand_out(struct p2pdma_pool *pool,
					unsigned long addr, u32 nr,
					unsigned long *was)
{
	struct p2pdma_arena *arena = pool_arena_of(pool, addr);
	u32 idx = arena_index(arena, addr);

	arena_hand_out_free(arena, idx, nr);
	pool_take_clean(pool, arena, idx, nr, was);
}

/*
 * The bit of the first of the lowest @nr (at most a word's) set bits in a
 * row of @pages, or -1 if there are not that many in a row.
 */
static int word_find_pages(unsigned long pages, u32 nr)
{
	u32 have = 1, step;

	/* Bit i stays set while bits i to i + @have - 1 all are. */
	while (pages && have < nr) {
		step = min(have, nr - have);
		pages &= pages >> step;
		have += step;
	}
	return pages ? __ffs(pages) : -1;
}

/*
 * Called with the word's CPU cache lock held: the clean pages of a block
 * of 2^P2PDMA_REFILL_ORDER pages from the free lists, a clean block if
 * there is one, else the cleanest part of the largest block with clean
 * pages, in place of clean word @w, whose pages go back to them.  False,
 * and @w as it was, if the pool counts no clean page, or the block found
 * lacks @nr clean pages in a row.  The block's dirty pages go back too.
 * The clean bits of those kept are cleared, as an allocation's are: pages
 * in a word have none (see pool_word_give_locked()).
 */
static bool pool_word_refill(struct p2pdma_pool *pool,
			     struct p2pdma_pcp_word *w, u32 nr)
{
	const u32 n = 1U << P2PDMA_REFILL_ORDER;
	unsigned long flags, block, clean = 0;
	struct p2pdma_arena *arena;
	u32 idx, base;

	/* A hint: a pool nothing cleared has no clean block either. */
	if (!atomic_long_read(&pool->clean))
		return false;
	spin_lock_irqsave(&pool->lock, flags);
	idx = pool_take_block(pool, P2PDMA_REFILL_ORDER, true, &arena);
	if (idx == P2PDMA_NIL)
		idx = pool_take_cleanest(pool, P2PDMA_REFILL_ORDER, &arena);
	if (idx == P2PDMA_NIL)
		goto out;
	base = round_down(idx, BITS_PER_LONG);
	block = handed_mask(idx, n);
	/* Stable: the block is off the lists, and not handed out. */
	clean = data_race(arena->clean[BIT_WORD(idx)]) & block;
	if (word_find_pages(clean, nr) < 0) {
		/*
		 * The cleanest, and yet too dirty: the allocation takes its
		 * pages from the lists, and clears what it must.
		 */
		arena_free_bits(arena, base, block);
		clean = 0;
		goto out;
	}
	pool_take_clean(pool, arena, idx, n, NULL);
	arena_free_bits(arena, base, block & ~clean);
	pool_word_give_locked(pool, w, true);
	w->arena = arena;
	w->base = base;
	w->pages = clean;
	pool->word_refills++;
out:
	spin_unlock_irqrestore(&pool->lock, flags);
	return clean;
}

/*
 * The lowest @nr pages in a row of this CPU's clean word, handed out;
 * @clean (@nr bits) then all set.  A word with too few is refilled for up
 * to half a refill's pages, so that a refill serves two mappings or more.
 * 0 if @nr is more than a word's pages, the caches may not be used, or
 * the word has too few and no refill brought enough.
 */
static unsigned long pool_word_take(struct p2pdma_pool *pool, u32 nr,
				    unsigned long *clean)
{
	struct p2pdma_pcp_word *w;
	struct p2pdma_pcp *pcp;
	unsigned long addr = 0;
	int bit;

	if (!pool_pcp_usable() || nr > BITS_PER_LONG)
		return 0;
	pcp = pool_pcp_lock(pool);
	w = &pcp->clean;
	bit = word_find_pages(w->pages, nr);
	if (bit < 0 && nr <= 1U << (P2PDMA_REFILL_ORDER - 1) &&
	    pool_word_refill(pool, w, nr))
		bit = word_find_pages(w->pages, nr);
	if (bit >= 0) {
		w->pages &= ~GENMASK(bit + nr - 1, bit);
		arena_hand_out_free(w->arena, w->base + bit, nr);
		addr = arena_addr(w->arena, w->base + bit);
	}
	pool_pcp_unlock(pcp);
	if (addr)
		bitmap_fill(clean, nr);
	return addr;
}

/*
 * Claim pages [@idx, @idx + @nr) back from their users, a word of the
 * bitmap at a time with one atomic operation each, so that two frees of a
 * page cannot both have it.  Returns how many were handed out.  When all
 * were, the caller gives them back, through the CPU caches if it likes;
 * otherwise this gives back those it claimed, and @*given says so.
 */
static pool_fastpath u32 pool_claim(struct p2pdma_pool *pool,
				    struct p2pdma_arena *arena, u32 idx, u32 nr,
				    bool *given)
{
	u32 start = idx, end = idx + nr, claimed = 0, n;
	unsigned long mask, got, flags;

	*given = false;
	for (; idx < end; idx += n) {
		n = handed_step(idx, end - idx);
		mask = handed_mask(idx, n);
		got = atomic_long_fetch_andnot(mask, handed_word(arena, idx)) & mask;
		claimed += got == mask ? n : hweight_long(got);
		if (got == mask && !*given)
			continue;
		spin_lock_irqsave(&pool->lock, flags);
		if (!*given && idx > start)
			arena_free_run(arena, start, idx - start);
		*given = true;
		arena_free_bits(arena, round_down(idx, BITS_PER_LONG), got);
		spin_unlock_irqrestore(&pool->lock, flags);
	}
	return claimed;
}

/*
 * pool_claim() for one page, which it would give back to the lists: only
 * whether it was handed out.  munmap() frees a mapping page by page, and
 * pool_claim()'s loop there made each 1 MiB munmap() 40 us slower (TCG).
 */
static bool arena_claim_page(struct p2pdma_arena *arena, u32 idx)
{
	unsigned long mask = handed_mask(idx, 1);

	return atomic_long_fetch_andnot(mask, handed_word(arena, idx)) & mask;
}

/*
 * Pages known to be handed out back to a CPU cache, or the arena: clean
 * ones always to the arena, where the next allocation of their size finds
 * them first, and all of them where the caches may not be used.
 */
static pool_fastpath void pool_give(struct p2pdma_pool *pool,
				    unsigned long addr, u32 nr, bool clean)
{
	unsigned int order;

	if (!clean && pool_pcp_usable() && pool_pcp_order(nr, &order) &&
	    IS_ALIGNED(addr, PAGE_SIZE << order))
		pool_pcp_give(pool, addr, order);
	else
		pool_give_listed(pool, addr, nr);
}

/*
 * A caller's bug, not the allocator's: say so with its stack, once a while.
 * Where in its arena, never the address: that is a kernel virtual address,
 * which dmesg must not give away.
 */
static void pool_report_bad_free(struct p2pdma_arena *arena, unsigned long addr,
				 u32 nr, u32 freed)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);

	if (!__ratelimit(&rs))
		return;
	if (arena)
		pr_err("p2pdma: freeing %u pages from page %u of a %u-page arena, of which %u were allocated: double free?\n",
		       nr, arena_index(arena, addr), arena->nr_pages, freed);
	else
		pr_err("p2pdma: freeing %u pages outside every arena: a wrong address?\n",
		       nr);
	dump_stack();
}

/*
 * Take @nr pages from the free lists or a CPU cache and hand them out;
 * @clean as for pool_take_clean().  Free pages may sit in CPU caches: when
 * the arenas are short, drain those and try again, unless @drained says
 * this call did so already.
 */
static pool_fastpath unsigned long pool_take_new(struct p2pdma_pool *pool,
						 u32 nr, bool *drained,
						 unsigned long *clean)
{
	unsigned long addr = pool_take_any(pool, nr, !!clean);

	if (!addr && !*drained) {
		*drained = true;
		if (pool_drain_cached(pool))
			addr = pool_take_any(pool, nr, !!clean);
	}
	if (addr)
		pool_hand_out(pool, addr, nr, clean);
	return addr;
}

/*
 * Allocate @nr pages; @clean as for pool_take_clean(): an allocation that
 * asks which pages are clean is for userspace, and tries this CPU's clean
 * word first.
 */
static pool_fastpath unsigned long pool_alloc(struct p2pdma_pool *pool, u32 nr,
					      bool *drained,
					      unsigned long *clean)
{
	unsigned long addr = 0;

	/* A read-side section, so that p2pdma_pool_kill() can wait for it. */
	rcu_read_lock();
	if (!READ_ONCE(pool->dying) && pool_may_fit(pool, nr)) {
		if (clean)
			addr = pool_word_take(pool, nr, clean);
		if (!addr)
			addr = pool_take_new(pool, nr, drained, clean);
		if (addr)
			pool_count_in_use(pool, nr);
	}
	rcu_read_unlock();
	return addr;
}

/**
 * p2pdma_pool_alloc - allocate contiguous pages
 * @pool: the pool
 * @size: bytes, rounded up to whole pages
 *
 * Safe in any context.  Fails once p2pdma_pool_kill() was called.
 *
 * Return: the address of the first page, or 0 when nothing fits.
 */
unsigned long p2pdma_pool_alloc(struct p2pdma_pool *pool, size_t size)
{
	bool drained = false;

	if (!size || size > (size_t)P2PDMA_NIL << PAGE_SHIFT)
		return 0;
	return pool_alloc(pool, DIV_ROUND_UP(size, PAGE_SIZE), &drained, NULL);
}

/**
 * p2pdma_pool_alloc_upto - allocate as long a run as the pool still has
 * @pool: the pool
 * @nr: in, the most pages wanted; out, the pages allocated
 * @clean: NULL, or a bitmap of at least @nr bits: bit i is set if page i
 *         of the allocation was freed clean and not allocated since
 *
 * Tries all @nr pages, then the largest power of two below, halving down to
 * one page: for callers that can use memory in pieces (userspace mappings,
 * scatterlists) when the pool is fragmented.  Safe in any context.
 *
 * Return: the address of the first page, or 0 when not even a page is free.
 */
unsigned long p2pdma_pool_alloc_upto(struct p2pdma_pool *pool, u32 *nr,
				     unsigned long *clean)
{
	unsigned long addr = 0;
	bool drained = false;
	u32 try;

	/*
	 * One drain serves every size: what it brought back is in the
	 * arenas.  One call site, as pool_alloc() is inlined.
	 */
	try = *nr;
	while (try) {
		addr = pool_alloc(pool, try, &drained, clean);
		if (addr) {
			*nr = try;
			break;
		}
		try = try > 1 ? rounddown_pow_of_two(try - 1) : 0;
	}
	return addr;
}

/*
 * Count @freed pages, given back, as free; @lent as for pool_free().
 * Once in_use is 0 the owner may go on to free the pool, but not before an
 * RCU grace period: finish inside a read-side section.
 */
static pool_fastpath void pool_count_freed(struct p2pdma_pool *pool, u32 freed,
					   bool lent)
{
	rcu_read_lock();
	if (lent)
		atomic_long_sub(freed, &pool->clearing);
	else
		pool_count_in_use(pool, -(long)freed);
	/*
	 * A free that sees no @dying is inside a read-side section that
	 * p2pdma_pool_kill()'s grace period waits for: the teardown's wait
	 * comes after it and sees its count.
	 */
	if (READ_ONCE(pool->dying)) {
		/* The count, then a waiter: pairs with wait_var_event(). */
		smp_mb();
		wake_up_var(&pool->in_use);
	}
	rcu_read_unlock();
}

/* @lent: the pages were the clearer's, counted apart; see below. */
static pool_fastpath u32 pool_free(struct p2pdma_pool *pool, unsigned long addr,
				   size_t size, bool clean, bool lent)
{
	u32 nr = DIV_ROUND_UP(size, PAGE_SIZE), freed, idx;
	struct p2pdma_arena *arena = pool_arena_of(pool, addr);
	bool given;

	if (!arena) {
		pool_report_bad_free(NULL, addr, nr, 0);
		return 0;
	}
	idx = arena_index(arena, addr);
	/* Past the arena's end nothing is allocated: only the rest counts. */
	freed = pool_claim(pool, arena, idx, min(nr, arena->nr_pages - idx),
			   &given);
	if (freed != nr)
		pool_report_bad_free(arena, addr, nr, freed);
	if (!given) {
		/* Marked before others can allocate them: see pool_take_clean(). */
		if (clean)
			pool_mark_clean(pool, arena, idx, freed);
		pool_give(pool, addr, freed, clean);
	}
	pool_count_freed(pool, freed, lent);
	return freed;
}

/* The frees that are no kernel's fast path share one copy of pool_free(). */
static noinline u32 pool_free_slow(struct p2pdma_pool *pool,
				   unsigned long addr, size_t size, bool clean,
				   bool lent)
{
	return pool_free(pool, addr, size, clean, lent);
}

/**
 * p2pdma_pool_free - free pages
 * @pool: the pool the pages came from
 * @addr: page-aligned address inside an allocation
 * @size: bytes from @addr, rounded up to whole pages
 *
 * Any page-aligned part of an allocation may be freed on its own.  Pages
 * that are not allocated (freed twice, say) are left alone, and reported
 * with the caller's stack.  Safe in any context.  Whoever frees the pool
 * after the last page came back must wait for an RCU grace period first.
 *
 * Return: the number of pages freed, less than asked only on such a bug.
 */
u32 p2pdma_pool_free(struct p2pdma_pool *pool, unsigned long addr,
		     size_t size)
{
	return pool_free(pool, addr, size, false, false);
}

/**
 * p2pdma_pool_free_clean - free pages that hold zeros only
 * @pool: the pool the pages came from
 * @addr: page-aligned address inside an allocation
 * @size: bytes from @addr, rounded up to whole pages
 *
 * As p2pdma_pool_free(), for pages the caller knows to be clean: cleared
 * since anything last wrote them, and not written since.  A later
 * allocation says so.
 *
 * Return: the number of pages freed.
 */
u32 p2pdma_pool_free_clean(struct p2pdma_pool *pool, unsigned long addr,
			   size_t size)
{
	return pool_free_slow(pool, addr, size, true, false);
}

/**
 * p2pdma_pool_free_page - free one page, one of many freed together
 * @pool: the pool the page came from
 * @addr: its address
 * @clean: it holds zeros only (see p2pdma_pool_free_clean())
 *
 * For pages that come back one at a time, as those of a userspace mapping
 * do: the page joins this CPU's word of such pages, clean or dirty, which
 * goes back to the free lists as a whole when a page of another word
 * joins, at the latest when an allocation finds the pool short, or, for
 * dirty pages, when the clearer looks for some (see
 * p2pdma_pool_take_dirty()).  From interrupt context, or with interrupts
 * or softirqs off, the page goes back to the free lists at once.  Counted
 * free at once, and refused at once if not allocated, as by
 * p2pdma_pool_free().  Safe in any context.
 *
 * Return: 1, or 0 if the page was not allocated.
 */
u32 p2pdma_pool_free_page(struct p2pdma_pool *pool, unsigned long addr,
			  bool clean)
{
	struct p2pdma_arena *arena = pool_arena_of(pool, addr);
	struct p2pdma_pcp_word *w;
	struct p2pdma_pcp *pcp;
	u32 idx;

	if (!arena) {
		pool_report_bad_free(NULL, addr, 1, 0);
		return 0;
	}
	idx = arena_index(arena, addr);
	if (!arena_claim_page(arena, idx)) {
		pool_report_bad_free(arena, addr, 1, 0);
		return 0;
	}
	if (pool_pcp_usable()) {
		pcp = pool_pcp_lock(pool);
		w = clean ? &pcp->clean : &pcp->dirty;
		pool_word_add(pool, w, clean, arena, idx);
		/* Under the lock that p2pdma_pool_kill()'s drain takes. */
		if (READ_ONCE(pool->dying))
			pool_word_give(pool, w, clean);
		pool_pcp_unlock(pcp);
	} else {
		/* Marked before others can allocate it: see pool_take_clean(). */
		if (clean)
			pool_mark_clean(pool, arena, idx, 1);
		pool_give(pool, addr, 1, clean);
	}
	pool_count_freed(pool, 1, false);
	return 1;
}

/*
 * Called with pool->lock held: 2^@order pages of free block @idx of order
 * @o, off the lists, or all of it if smaller: the part with its first
 * dirty page.  The other half of a clean one would come back merged with
 * the rest, and be found again forever.
 */
static u32 arena_split_dirty(struct p2pdma_arena *arena, u32 idx,
			     unsigned int o, unsigned int order)
{
	/* data_race(): see arena_block_clean_pages(). */
	u32 dirty = data_race(find_next_zero_bit(arena->clean,
						 idx + (1U << o), idx));

	while (o > order) {
		o--;
		idx = arena_halve(arena, idx, o, dirty >= idx + (1U << o));
	}
	arena->nr_free -= 1U << o;
	return idx;
}

/*
 * A free block with a dirty page, in any arena, off the lists: the largest
 * first, one with clean pages too before one without (what it lacks makes
 * a block all clean again), or 2^@order pages of a larger one, split as
 * arena_split_dirty() does, and counted lent; @*nr set to its pages.  0 if
 * none was found.
 */
static unsigned long pool_take_dirty_listed(struct p2pdma_pool *pool,
					    unsigned int order, u32 *nr)
{
	unsigned int o = P2PDMA_MAX_ORDER + 1;
	struct p2pdma_arena *arena;
	unsigned long flags, addr = 0;
	int kind;
	u32 idx;

	spin_lock_irqsave(&pool->lock, flags);
	while (!addr && o-- > 0) {
		for (kind = P2PDMA_MIXED; kind >= P2PDMA_ALL_DIRTY; kind--) {
			idx = pool_take_kind(pool, kind, o, &arena);
			if (idx == P2PDMA_NIL)
				continue;
			idx = arena_split_dirty(arena, idx, o, order);
			addr = arena_addr(arena, idx);
			*nr = 1U << min(o, order);
			/*
			 * Counted before the lock goes, so that every page is
			 * on the lists, lent or in use whenever anyone looks.
			 * As good as free for whoever asks what is in use
			 * (they are back soon), but a teardown waits for
			 * them too.
			 */
			atomic_long_add(*nr, &pool->clearing);
			break;
		}
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return addr;
}

/* @pcp's dirty word back to the free lists, locked as by pool_drain_cpu(). */
static bool pool_give_dirty_word(struct p2pdma_pool *pool,
				 struct p2pdma_pcp *pcp)
{
	bool gave;

	if (pool_pcp_usable())
		spin_lock(&pcp->lock);
	else if (!spin_trylock(&pcp->lock))
		return false;
	gave = pool_word_give(pool, &pcp->dirty, false);
	spin_unlock(&pcp->lock);
	if (gave)
		atomic_long_inc(&pool->dirty_words_given);
	return gave;
}

/*
 * Put the CPUs' dirty words on the free lists, for a clearer that found no
 * dirty block there; true if there were any.  Otherwise a word stays until
 * a page of another word is freed on its CPU, or a drain, and the kick
 * that its pages gave (see p2pdma_pool_free_page()) would find nothing.
 * Clean words stay where a mapping on their CPU takes them first.
 */
static bool pool_give_dirty_words(struct p2pdma_pool *pool)
{
	bool gave = false;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct p2pdma_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		/* A hint, as in pool_cpu_caches(): a later page kicks again. */
		if (data_race(pcp->dirty.pages))
			gave |= pool_give_dirty_word(pool, pcp);
	}
	return gave;
}

/**
 * p2pdma_pool_take_dirty - allocate free pages not all known to be clean
 * @pool: the pool
 * @nr: in, the most pages wanted; out, the pages allocated
 * @clean: a bitmap of at least @nr bits, set as by p2pdma_pool_alloc_upto()
 *
 * For a clearer, which gives them back with p2pdma_pool_give_lent(): a
 * free block with a dirty page, the largest first, or its lower part of
 * the largest power of two pages up to @nr.  When the free lists have
 * none, it puts the dirty pages that CPUs hold in words (see
 * p2pdma_pool_free_page()) on them and looks once more; from interrupt
 * context, or with interrupts or softirqs off, only those of CPUs whose
 * cache is not locked at that moment.  Safe in any context; fails once
 * p2pdma_pool_kill() was called.
 *
 * Return: the address of the first page, or 0 when none was found.
 */
unsigned long p2pdma_pool_take_dirty(struct p2pdma_pool *pool, u32 *nr,
				     unsigned long *clean)
{
	unsigned int order = min_t(unsigned int, ilog2(max(*nr, 1U)),
				   P2PDMA_MAX_ORDER);
	unsigned long addr = 0;

	rcu_read_lock();
	if (READ_ONCE(pool->dying))
		goto out;
	addr = pool_take_dirty_listed(pool, order, nr);
	if (!addr && pool_give_dirty_words(pool))
		addr = pool_take_dirty_listed(pool, order, nr);
	if (addr)
		pool_hand_out(pool, addr, *nr, clean);
out:
	rcu_read_unlock();
	return addr;
}

/**
 * p2pdma_pool_give_lent - give back what p2pdma_pool_take_dirty() lent
 * @pool: the pool
 * @addr: the address it returned
 * @nr: the pages it lent
 * @clean: all of them now hold zeros only; false if the clearing failed
 *
 * Safe in any context.
 */
void p2pdma_pool_give_lent(struct p2pdma_pool *pool, unsigned long addr,
			   u32 nr, bool clean)
{
	pool_free_slow(pool, addr, (size_t)nr << PAGE_SHIFT, clean, true);
}

/**
 * p2pdma_pool_clean - bytes free and known to hold zeros only
 * @pool: the pool
 *
 * Return: a snapshot.  Pages in CPU caches may count; those that
 * p2pdma_pool_free_page() freed clean count once their word is back on the
 * free lists, so up to a bitmap word of pages per CPU may be missing.
 */
size_t p2pdma_pool_clean(struct p2pdma_pool *pool)
{
	return (size_t)atomic_long_read(&pool->clean) << PAGE_SHIFT;
}

/**
 * p2pdma_pool_kill - stop handing out memory
 * @pool: the pool
 *
 * Later allocations fail; blocks cached per CPU go back to the arenas so
 * that a later p2pdma_pool_wait_idle() sees every page.
 */
void p2pdma_pool_kill(struct p2pdma_pool *pool)
{
	WRITE_ONCE(pool->dying, true);
	/*
	 * Wait for allocations (under rcu_read_lock()) that did not see the
	 * flag; per-CPU frees check it under the locks the drain takes.
	 */
	synchronize_rcu();
	pool_drain(pool);
}

/**
 * p2pdma_pool_dying - has p2pdma_pool_kill() been called
 * @pool: the pool
 *
 * Return: true once the pool no longer hands out memory.
 */
bool p2pdma_pool_dying(const struct p2pdma_pool *pool)
{
	return READ_ONCE(pool->dying);
}

/**
 * p2pdma_pool_wait_idle - wait until every page of a killed pool is free
 * @pool: the pool, after p2pdma_pool_kill()
 * @timeout: jiffies to wait at most
 *
 * Return: true when nothing is allocated any more, false on timeout.
 */
bool p2pdma_pool_wait_idle(struct p2pdma_pool *pool, unsigned long timeout)
{
	/* Woken by p2pdma_pool_free(), which sees @dying set. */
	return wait_var_event_timeout(&pool->in_use,
				      !pool_in_use_sum(pool) &&
				      !atomic_long_read(&pool->clearing),
				      timeout);
}

/**
 * p2pdma_pool_holds - whether an address is inside one of the pool's ranges
 * @pool: the pool, kept from p2pdma_pool_destroy() by the caller (an RCU
 *        read-side section will do: see there)
 * @addr: any address
 *
 * Safe in any context.  Says nothing of whether the page is allocated.
 *
 * Return: true if @addr is in a range given to p2pdma_pool_add().
 */
bool p2pdma_pool_holds(struct p2pdma_pool *pool, unsigned long addr)
{
	return pool_arena_of(pool, addr);
}

/**
 * p2pdma_pool_size - bytes in all ranges of a pool
 * @pool: the pool
 *
 * Return: the size, free or not.
 */
size_t p2pdma_pool_size(const struct p2pdma_pool *pool)
{
	return (size_t)READ_ONCE(pool->nr_pages) << PAGE_SHIFT;
}

/**
 * p2pdma_pool_in_use - bytes handed out and not yet freed
 * @pool: the pool
 *
 * Pages lent to a clearer do not count: they are as good as free.
 *
 * Return: the bytes allocated now; a snapshot, others may be allocating.
 */
size_t p2pdma_pool_in_use(const struct p2pdma_pool *pool)
{
	return (size_t)pool_in_use_sum(pool) << PAGE_SHIFT;
}

/**
 * p2pdma_pool_has_room - are @nr more pages free now
 * @pool: the pool
 * @nr: pages
 *
 * Pages lent to a clearer count as free, as for p2pdma_pool_in_use().
 * Cheaper than comparing with p2pdma_pool_in_use() while the pool is far
 * from full: see pool_room_for().  Safe in any context.  The pages need
 * not be contiguous: an allocation of @nr pages at once may still fail.
 *
 * Return: false if fewer than @nr pages are free, in a snapshot.
 */
bool p2pdma_pool_has_room(struct p2pdma_pool *pool, unsigned long nr)
{
	return pool_room_for(pool, nr, 0);
}

/**
 * p2pdma_pool_clearing - bytes lent to a clearer now
 * @pool: the pool
 *
 * Return: a snapshot.
 */
size_t p2pdma_pool_clearing(const struct p2pdma_pool *pool)
{
	return (size_t)atomic_long_read(&pool->clearing) << PAGE_SHIFT;
}

/**
 * p2pdma_pool_peak - the most bytes ever allocated at once
 * @pool: the pool
 *
 * The pool sums the in-use counts when a CPU's count moves to it and may
 * set a new high, and when asked.  A CPU's count ranges over a batch each
 * way (P2PDMA_IN_USE_BATCH pages at most), so a high between two sums may
 * be missed by up to two batches per CPU; a sum taken while another CPU's
 * count moves may be high by that count: a batch, or one large free.
 *
 * Return: the high-water mark of p2pdma_pool_in_use().
 */
size_t p2pdma_pool_peak(struct p2pdma_pool *pool)
{
	pool_note_peak(pool, pool_in_use_sum(pool));
	return (size_t)atomic_long_read(&pool->peak) << PAGE_SHIFT;
}

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "pool-test.h"
#endif
