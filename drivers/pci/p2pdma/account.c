// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA accounting: what went which way, per path, exactly.
 *
 * Each provider counts three kinds of events, each with a client device,
 * a map type and, where there is one, a reason:
 *
 *   mapped    a DMA mapping call that worked, with the bytes of the
 *             provider's memory it mapped for the client, per map type
 *             (bus-address, through-host-bridge)
 *   refused   a DMA mapping the path refused (not-supported), per reason
 *   fallback  an I/O a client did in system memory instead of the
 *             provider's (system-memory), with its bytes, per reason
 *
 * A path is a slot: its key is written once, when the first event of the
 * path comes, and the slot is never given back, so that the counters are
 * totals since the provider registered.  A provider has a fixed number of
 * slots, so a remote host or a user cannot make the table grow: once it
 * is full, an event of a new path is counted in its kind's "other" slot,
 * and the totals stay exact.
 *
 * The counters are per CPU, and a slot is found without a lock: a key is
 * complete before @nr says the slot exists (release), and a reader only
 * looks at slots below the @nr it read (acquire).  Taking a slot takes the
 * table's lock, with interrupts off, as DMA mappings come from any context.
 *
 * Events without a provider (a client that found no p2pmem in its reach,
 * or whose provider was already gone) go to one table of their own.
 *
 * Every DMA-mapping call that mapped p2pmem counts it here, in
 * __pci_p2pdma_map_count(), with the counting inline: a mapping of a PCI
 * client finds its path's slot by number, without building an event.
 */
#define pr_fmt(fmt) "p2pdma: " fmt

#include <linux/jump_label.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "p2pdma.h"
#include "trace.h"

#define P2PDMA_ACCOUNT_SLOTS	32

/* Long enough for a PCI name and the P2PDMA core's longest reason. */
#define P2PDMA_ACCOUNT_CLIENT	32
#define P2PDMA_ACCOUNT_REASON	96

enum p2pdma_account_kind {
	P2PDMA_ACCOUNT_MAPPED,
	P2PDMA_ACCOUNT_REFUSED,
	P2PDMA_ACCOUNT_FALLBACK,
	P2PDMA_ACCOUNT_KINDS,
};

/* The "other" slot of each kind follows the keyed slots. */
#define P2PDMA_ACCOUNT_COUNTERS	(P2PDMA_ACCOUNT_SLOTS + P2PDMA_ACCOUNT_KINDS)

struct p2pdma_account_key {
	int map;		/* the kind, too: see p2pdma_account_kind_of() */
	u64 id;			/* a PCI client's, see p2pdma_account_event() */
	char client[P2PDMA_ACCOUNT_CLIENT];
	char reason[P2PDMA_ACCOUNT_REASON];	/* "" for a mapping */
};

struct p2pdma_count {
	u64 events;
	u64 bytes;
};

struct p2pdma_account {
	spinlock_t lock;	/* taking a slot */
	unsigned int nr;	/* slots taken: written under @lock, release */
	struct p2pdma_account_key keys[P2PDMA_ACCOUNT_SLOTS]; /* below @nr */
	struct p2pdma_count __percpu *counts; /* P2PDMA_ACCOUNT_COUNTERS */
};

static DEFINE_PER_CPU(struct p2pdma_count[P2PDMA_ACCOUNT_COUNTERS],
		      p2pdma_unowned_counts);

static struct p2pdma_account p2pdma_unowned = {
	.lock = __SPIN_LOCK_UNLOCKED(p2pdma_unowned.lock),
	.counts = &p2pdma_unowned_counts[0],
};

/* On unless root turns it off: pci_p2pdma.accounting=0. */
static DEFINE_STATIC_KEY_TRUE(p2pdma_accounting);

static int p2pdma_accounting_set(const char *val,
				 const struct kernel_param *kp)
{
	bool on;
	int err = kstrtobool(val, &on);

	if (err)
		return err;
	if (on)
		static_branch_enable(&p2pdma_accounting);
	else
		static_branch_disable(&p2pdma_accounting);
	return 0;
}

static int p2pdma_accounting_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%c\n",
			  static_branch_likely(&p2pdma_accounting) ? 'Y' : 'N');
}

static const struct kernel_param_ops p2pdma_accounting_ops = {
	.set = p2pdma_accounting_set,
	.get = p2pdma_accounting_get,
};

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "pci_p2pdma."
module_param_cb(accounting, &p2pdma_accounting_ops, NULL, 0644);
MODULE_PARM_DESC(accounting,
		 "count P2PDMA mappings, refusals and fallbacks per path (default: Y)");

/**
 * p2pdma_accounting_on - whether events are counted
 *
 * For callers that must work something out only to count it.
 *
 * Return: false while pci_p2pdma.accounting is off.
 */
bool p2pdma_accounting_on(void)
{
	return static_branch_likely(&p2pdma_accounting);
}

static enum p2pdma_account_kind p2pdma_account_kind_of(int map)
{
	switch (map) {
	case PCI_P2PDMA_MAP_NOT_SUPPORTED:
		return P2PDMA_ACCOUNT_REFUSED;
	case P2PDMA_MAP_SYSTEM_MEMORY:
		return P2PDMA_ACCOUNT_FALLBACK;
	default:
		return P2PDMA_ACCOUNT_MAPPED;
	}
}

/*
 * What an event is counted by.  A PCI client is told by its address, a
 * number, as mapping calls come often; others (refusals and fallbacks
 * only) by name.
 */
struct p2pdma_account_event {
	int map;
	u64 id;			/* P2PDMA_ACCOUNT_PCI | client key, or 0 */
	const char *client;
	const char *reason;	/* "" for a mapping */
};

#define P2PDMA_ACCOUNT_PCI	BIT_ULL(63)

static struct p2pdma_account_event
p2pdma_account_event(int map, struct device *client, const char *reason)
{
	struct p2pdma_account_event ev = {
		.map = map,
		.client = client ? dev_name(client) : "none",
		.reason = reason ?: "",
	};

	if (client && dev_is_pci(client))
		ev.id = P2PDMA_ACCOUNT_PCI |
			p2pdma_client_key(to_pci_dev(client));
	return ev;
}

/* Names and reasons too long for a key are cut, and compared cut. */
static bool p2pdma_account_key_is(const struct p2pdma_account_key *key,
				  const struct p2pdma_account_event *ev)
{
	if (key->map != ev->map || key->id != ev->id)
		return false;
	if (!ev->id &&
	    strncmp(key->client, ev->client, sizeof(key->client) - 1))
		return false;
	if (!ev->reason[0])
		return !key->reason[0];
	return !strncmp(key->reason, ev->reason, sizeof(key->reason) - 1);
}

/* Slots whose key is complete. */
static unsigned int p2pdma_account_nr(struct p2pdma_account *acct)
{
	/* Pairs with the release in p2pdma_account_take(). */
	return smp_load_acquire(&acct->nr);
}

static int p2pdma_account_find(struct p2pdma_account *acct, unsigned int from,
			       unsigned int to,
			       const struct p2pdma_account_event *ev)
{
	unsigned int i;

	for (i = from; i < to; i++)
		if (p2pdma_account_key_is(&acct->keys[i], ev))
			return i;
	return -1;
}

/* Take a slot for a path not seen yet: -1 once the table is full. */
static int p2pdma_account_take(struct p2pdma_account *acct, unsigned int seen,
			       const struct p2pdma_account_event *ev)
{
	struct p2pdma_account_key *key;
	unsigned long flags;
	unsigned int nr;
	int slot;

	spin_lock_irqsave(&acct->lock, flags);
	nr = acct->nr;
	/* Another CPU may have taken it since @seen. */
	slot = p2pdma_account_find(acct, seen, nr, ev);
	if (slot < 0 && nr < P2PDMA_ACCOUNT_SLOTS) {
		key = &acct->keys[nr];
		key->map = ev->map;
		key->id = ev->id;
		strscpy(key->client, ev->client);
		strscpy(key->reason, ev->reason);
		/* The key before the slot: lock-free readers compare it. */
		smp_store_release(&acct->nr, nr + 1);
		slot = nr;
	}
	spin_unlock_irqrestore(&acct->lock, flags);
	return slot;
}

static __always_inline void p2pdma_account_count(struct p2pdma_account *acct,
						 int slot, u64 bytes)
{
	this_cpu_inc(acct->counts[slot].events);
	this_cpu_add(acct->counts[slot].bytes, bytes);
}

static void p2pdma_account(struct p2pdma_account *acct,
			   const struct p2pdma_account_event *ev, u64 bytes)
{
	unsigned int nr = p2pdma_account_nr(acct);
	int slot;

	slot = p2pdma_account_find(acct, 0, nr, ev);
	/* A full table takes no lock: new paths go to "other". */
	if (unlikely(slot < 0) && nr < P2PDMA_ACCOUNT_SLOTS)
		slot = p2pdma_account_take(acct, nr, ev);
	if (unlikely(slot < 0))
		slot = P2PDMA_ACCOUNT_SLOTS + p2pdma_account_kind_of(ev->map);
	p2pdma_account_count(acct, slot, bytes);
}

/*
 * The slot of a mapping of a PCI client, found by number alone: mapping
 * calls come often, and a mapped path's key has no reason, so neither the
 * event nor a string comparison is needed.  -1 if the path has no slot yet.
 */
static int p2pdma_account_find_mapped(struct p2pdma_account *acct, int map,
				      u64 id)
{
	unsigned int i, nr = p2pdma_account_nr(acct);

	for (i = 0; i < nr; i++)
		if (acct->keys[i].id == id && acct->keys[i].map == map)
			return i;
	return -1;
}

/* A mapping of a path not counted yet, or of a client that is not PCI. */
static noinline void p2pdma_account_new_mapping(struct p2pdma_account *acct,
						struct device *client, int map,
						u64 bytes)
{
	struct p2pdma_account_event ev = p2pdma_account_event(map, client,
								NULL);

	p2pdma_account(acct, &ev, bytes);
}

/* Inline in both callers: mapping calls come often. */
static __always_inline void __p2pdma_account_map(struct p2pdma_account *acct,
						 struct device *client,
						 enum pci_p2pdma_map_type map,
						 u64 bytes)
{
	int slot = -1;

	if (!static_branch_likely(&p2pdma_accounting))
		return;
	/*
	 * A mapping that worked, whose path the caller looked up again
	 * afterwards (a list of several providers' pages) and found refused
	 * since: mapped bytes all the same, on a path now unknown.
	 */
	if (map == PCI_P2PDMA_MAP_NOT_SUPPORTED)
		map = PCI_P2PDMA_MAP_UNKNOWN;
	if (likely(client && dev_is_pci(client)))
		slot = p2pdma_account_find_mapped(acct, map, P2PDMA_ACCOUNT_PCI |
				p2pdma_client_key(to_pci_dev(client)));
	if (likely(slot >= 0))
		p2pdma_account_count(acct, slot, bytes);
	else
		p2pdma_account_new_mapping(acct, client, map, bytes);
}

/**
 * p2pdma_account_map - count a DMA mapping call that worked
 * @acct: the provider's accounting
 * @client: the device it mapped for
 * @map: how @client reaches the provider
 * @bytes: the bytes of the provider's memory it mapped
 *
 * Any context; the provider's state is pinned by the pages mapped.
 */
void p2pdma_account_map(struct p2pdma_account *acct, struct device *client,
			enum pci_p2pdma_map_type map, u64 bytes)
{
	__p2pdma_account_map(acct, client, map, bytes);
}

/**
 * __pci_p2pdma_map_count - the slow path of pci_p2pdma_map_done()
 * @state: a mapping call's state with bytes of its provider's pages
 *
 * Counts the bytes on their path, and traces them.  The pages are
 * allocated, which keeps their provider's state alive.
 */
void __pci_p2pdma_map_count(struct pci_p2pdma_map_state *state)
{
	struct pci_dev *pdev = to_pci_dev(state->mem->owner);
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	__p2pdma_account_map(p2p->account, state->dev, state->map,
			     state->bytes);
	trace_p2pdma_map(pdev, dev_name(state->dev), state->map, state->bytes,
			 NULL);
	state->bytes = 0;
}
EXPORT_SYMBOL_GPL(__pci_p2pdma_map_count);

/**
 * p2pdma_account_refusal - count a DMA mapping the path refused
 * @acct: the provider's accounting
 * @client: the device the mapping was for
 * @reason: why the path is refused
 *
 * Any context.
 */
void p2pdma_account_refusal(struct p2pdma_account *acct,
			    struct device *client, const char *reason)
{
	struct p2pdma_account_event ev;

	if (!static_branch_likely(&p2pdma_accounting))
		return;
	ev = p2pdma_account_event(PCI_P2PDMA_MAP_NOT_SUPPORTED, client,
				  reason);
	p2pdma_account(acct, &ev, 0);
}

/**
 * p2pdma_account_fallback - count an I/O done in system memory instead
 * @acct: the provider's accounting, or NULL for an I/O without one
 * @client: the device that does the I/O's DMA, or NULL
 * @bytes: the I/O's bytes
 * @reason: why, as the client says it
 *
 * Any context.
 */
void p2pdma_account_fallback(struct p2pdma_account *acct,
			     struct device *client, u64 bytes,
			     const char *reason)
{
	struct p2pdma_account_event ev;

	if (!static_branch_likely(&p2pdma_accounting))
		return;
	ev = p2pdma_account_event(P2PDMA_MAP_SYSTEM_MEMORY, client, reason);
	p2pdma_account(acct ?: &p2pdma_unowned, &ev, bytes);
}

static struct p2pdma_count p2pdma_account_sum(struct p2pdma_account *acct,
					      unsigned int slot)
{
	struct p2pdma_count sum = {};
	int cpu;

	for_each_possible_cpu(cpu) {
		struct p2pdma_count *c = per_cpu_ptr(&acct->counts[slot], cpu);

		sum.events += READ_ONCE(c->events);
		sum.bytes += READ_ONCE(c->bytes);
	}
	return sum;
}

/**
 * p2pdma_account_mapped_bytes - bytes of all the mapping calls counted
 * @acct: the provider's accounting
 *
 * Return: the sum over all paths, the provider's dma_mapped_bytes.
 */
u64 p2pdma_account_mapped_bytes(struct p2pdma_account *acct)
{
	unsigned int i, nr = p2pdma_account_nr(acct);
	u64 bytes;

	bytes = p2pdma_account_sum(acct, P2PDMA_ACCOUNT_SLOTS +
				   P2PDMA_ACCOUNT_MAPPED).bytes;
	for (i = 0; i < nr; i++)
		if (p2pdma_account_kind_of(acct->keys[i].map) ==
		    P2PDMA_ACCOUNT_MAPPED)
			bytes += p2pdma_account_sum(acct, i).bytes;
	return bytes;
}

static const char *p2pdma_account_map_name(int map)
{
	return map == P2PDMA_MAP_SYSTEM_MEMORY ? "system-memory" :
						 p2pdma_map_name(map);
}

static void p2pdma_account_show_line(struct seq_file *m, const char *client,
				     const char *map, struct p2pdma_count c,
				     const char *reason)
{
	seq_printf(m, "%s %s %llu %llu %s\n", client, map, c.events, c.bytes,
		   *reason ? reason : "-");
}

/**
 * p2pdma_account_show - print the counters, one path per line
 * @acct: a provider's accounting, or NULL for the events without one
 * @m: the debugfs file
 *
 * "<client> <map> <events> <bytes> <reason>", the reason last as it has
 * spaces; the "other" slots only once they counted something.
 */
void p2pdma_account_show(struct p2pdma_account *acct, struct seq_file *m)
{
	static const char * const other_map[P2PDMA_ACCOUNT_KINDS] = {
		[P2PDMA_ACCOUNT_MAPPED] = "-",
		[P2PDMA_ACCOUNT_REFUSED] = "not-supported",
		[P2PDMA_ACCOUNT_FALLBACK] = "system-memory",
	};
	const struct p2pdma_account_key *key;
	unsigned int i, nr;
	struct p2pdma_count c;

	acct = acct ?: &p2pdma_unowned;
	nr = p2pdma_account_nr(acct);
	for (i = 0; i < nr; i++) {
		key = &acct->keys[i];
		p2pdma_account_show_line(m, key->client,
					 p2pdma_account_map_name(key->map),
					 p2pdma_account_sum(acct, i),
					 key->reason);
	}
	for (i = 0; i < P2PDMA_ACCOUNT_KINDS; i++) {
		c = p2pdma_account_sum(acct, P2PDMA_ACCOUNT_SLOTS + i);
		if (c.events)
			p2pdma_account_show_line(m, "other", other_map[i], c,
						 "");
	}
}

/**
 * p2pdma_account_create - a provider's accounting, with nothing counted
 *
 * Return: the accounting, or NULL without memory.
 */
struct p2pdma_account *p2pdma_account_create(void)
{
	struct p2pdma_account *acct = kzalloc(sizeof(*acct), GFP_KERNEL);

	if (!acct)
		return NULL;
	spin_lock_init(&acct->lock);
	acct->counts = __alloc_percpu(P2PDMA_ACCOUNT_COUNTERS *
				      sizeof(struct p2pdma_count),
				      __alignof__(struct p2pdma_count));
	if (!acct->counts) {
		kfree(acct);
		return NULL;
	}
	return acct;
}

/**
 * p2pdma_account_destroy - free a provider's accounting
 * @acct: the accounting, with nothing left that counts; or NULL
 */
void p2pdma_account_destroy(struct p2pdma_account *acct)
{
	if (!acct)
		return;
	free_percpu(acct->counts);
	kfree(acct);
}

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "account-test.h"
#endif
