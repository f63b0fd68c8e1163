// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA verdicts: what an active probe found on a provider's paths,
 * kept until the rules change, and the provider's policy.
 *
 * The topology rules are a guess about hardware; a probe (p2pdma-topo
 * --probe) moves data through a path in each direction and compares it
 * with what the same I/O gives in system memory.  For each client and
 * direction the provider keeps "verified", "failed: what failed" or
 * nothing ("untested").  topology.c asks here when it works out a path:
 * a failed direction refuses the path, and under the strict policy a path
 * through a root complex needs both directions verified.
 *
 * A probe of a client whose path turns around in the root complex also
 * says how that root complex routes P2P into the provider's port: that is
 * what the devices behind an IOMMU that an importer maps the provider's
 * memory for rely on, whoever they are (p2pdma_verdict_of_rc()).
 *
 * The store is written by root through debugfs (debugfs.c) and read on a
 * path cache miss, which may come from the DMA-mapping path in any
 * context: hence a spinlock taken with interrupts off.  It is made on
 * the first verdict and freed with the provider's state.  A verdict
 * recorded under older rules (the host bridge allowlist changed since)
 * reads as untested; one for a client that went away is forgotten.  The
 * table has room for P2PDMA_VERDICT_CLIENTS clients, so that root cannot
 * make it grow without bound either.  The KUnit cases are
 * topology-test.h's, on its synthetic hierarchies.
 */
#define pr_fmt(fmt) "p2pdma: " fmt

#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "../pci.h"
#include "p2pdma.h"

struct p2pdma_verdict {
	unsigned long client;	/* p2pdma_client_key() */
	unsigned long epoch;	/* of the rules, when recorded */
	bool via_rc;		/* the path turns around in the root complex */
	u8 state[P2PDMA_PROBE_DIRS];
	char what[P2PDMA_PROBE_DIRS][P2PDMA_VERDICT_WHAT];
};

struct p2pdma_verdicts {
	spinlock_t lock;	/* everything below */
	enum p2pdma_policy policy;
	unsigned int nr;
	struct p2pdma_verdict v[P2PDMA_VERDICT_CLIENTS];
};

/* Bumped when the rules change: older verdicts no longer count. */
static atomic_long_t p2pdma_verdict_epoch = ATOMIC_LONG_INIT(0);

static const char * const p2pdma_probe_dir_names[P2PDMA_PROBE_DIRS] = {
	[P2PDMA_PROBE_WRITES] = "client-writes",
	[P2PDMA_PROBE_READS] = "client-reads",
};

static const char * const p2pdma_verdict_names[] = {
	[P2PDMA_UNTESTED] = "untested",
	[P2PDMA_VERIFIED] = "verified",
	[P2PDMA_FAILED] = "failed",
};

/**
 * p2pdma_probe_dir_name - printable name of a probe direction
 * @dir: the direction
 *
 * Return: "client-writes" (the client's DMA writes into the provider) or
 * "client-reads" (it reads from the provider).
 */
const char *p2pdma_probe_dir_name(enum p2pdma_probe_dir dir)
{
	return p2pdma_probe_dir_names[dir];
}

/**
 * p2pdma_probe_dir_parse - a probe direction from its name
 * @buf: "client-writes" or "client-reads"
 *
 * Return: the direction, or -EINVAL.
 */
int p2pdma_probe_dir_parse(const char *buf)
{
	return sysfs_match_string(p2pdma_probe_dir_names, buf);
}

/**
 * p2pdma_verdict_name - printable name of a verdict
 * @state: the verdict
 *
 * Return: "untested", "verified" or "failed".
 */
const char *p2pdma_verdict_name(enum p2pdma_verdict_state state)
{
	return p2pdma_verdict_names[state];
}

/**
 * p2pdma_verdicts_outdated - forget every verdict, the rules have changed
 *
 * Any context.  The caller makes the path cache stale as well.
 */
void p2pdma_verdicts_outdated(void)
{
	atomic_long_inc(&p2pdma_verdict_epoch);
}

/* The provider's store, once it has one; under RCU or pinned. */
static struct p2pdma_verdicts *p2pdma_verdicts_of(struct pci_p2pdma *p2p)
{
	/* Pairs with the release in p2pdma_verdicts_get(). */
	return smp_load_acquire(&p2p->verdicts);
}

static struct p2pdma_verdicts *p2pdma_verdicts_alloc(void)
{
	struct p2pdma_verdicts *vs = kzalloc(sizeof(*vs), GFP_KERNEL);

	if (vs) {
		spin_lock_init(&vs->lock);
		vs->policy = P2PDMA_POLICY_INHERIT;
	}
	return vs;
}

/* The provider's store, made if it has none; process context. */
static struct p2pdma_verdicts *p2pdma_verdicts_get(struct pci_p2pdma *p2p)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p), *old;

	if (vs)
		return vs;
	vs = p2pdma_verdicts_alloc();
	if (!vs)
		return NULL;
	/* Two writers at once: the first one's store stays. */
	old = cmpxchg_release(&p2p->verdicts, NULL, vs);
	if (old) {
		kfree(vs);
		return old;
	}
	return vs;
}

/**
 * p2pdma_verdicts_free - free a provider's store
 * @p2p: the provider, with no reader left
 */
void p2pdma_verdicts_free(struct pci_p2pdma *p2p)
{
	kfree(p2p->verdicts);
	p2p->verdicts = NULL;
}

static struct p2pdma_verdict *p2pdma_verdict_find(struct p2pdma_verdicts *vs,
						  unsigned long key)
{
	unsigned int i;

	for (i = 0; i < vs->nr; i++)
		if (vs->v[i].client == key)
			return &vs->v[i];
	return NULL;
}

/* Drop entry @v, moving the last one into its place. */
static void p2pdma_verdict_drop(struct p2pdma_verdicts *vs,
				struct p2pdma_verdict *v)
{
	*v = vs->v[--vs->nr];
}

/* A free entry, or one of older rules, which counts no more. */
static struct p2pdma_verdict *p2pdma_verdict_new(struct p2pdma_verdicts *vs,
						 unsigned long epoch)
{
	struct p2pdma_verdict *v = NULL;
	unsigned int i;

	if (vs->nr < P2PDMA_VERDICT_CLIENTS) {
		v = &vs->v[vs->nr++];
	} else {
		for (i = 0; i < vs->nr && !v; i++)
			if (vs->v[i].epoch != epoch)
				v = &vs->v[i];
	}
	if (v) {
		memset(v, 0, sizeof(*v));
		v->epoch = epoch;
	}
	return v;
}

/**
 * p2pdma_verdict_record - keep what a probe found on one path
 * @p2p: the provider
 * @client: the client probed
 * @dir: which way the data went
 * @state: P2PDMA_VERIFIED, P2PDMA_FAILED or P2PDMA_UNTESTED (forget it)
 * @what: what failed, for P2PDMA_FAILED; cut to P2PDMA_VERDICT_WHAT - 1
 * @via_rc: the rules send the path through the root complex, so the probe
 *          tried that root complex too (p2pdma_path_turns_in_rc())
 *
 * The caller makes the path cache stale afterwards.  Process context.
 *
 * Return: 0, -ENOMEM, or -ENOSPC when the provider has verdicts of the
 * rules in force for P2PDMA_VERDICT_CLIENTS other clients already.
 */
int p2pdma_verdict_record(struct pci_p2pdma *p2p, struct pci_dev *client,
			  enum p2pdma_probe_dir dir,
			  enum p2pdma_verdict_state state, const char *what,
			  bool via_rc)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_get(p2p);
	unsigned long key = p2pdma_client_key(client);
	struct p2pdma_verdict *v;
	unsigned long epoch;
	int ret = 0;

	if (!vs)
		return -ENOMEM;
	spin_lock_irq(&vs->lock);
	/* Under the lock: two writers must agree on which rules are new. */
	epoch = atomic_long_read(&p2pdma_verdict_epoch);
	v = p2pdma_verdict_find(vs, key);
	if (!v && state != P2PDMA_UNTESTED) {
		v = p2pdma_verdict_new(vs, epoch);
		if (!v) {
			ret = -ENOSPC;
			goto out;
		}
		v->client = key;
	}
	if (!v)
		goto out;
	if (v->epoch != epoch) {
		memset(v->state, P2PDMA_UNTESTED, sizeof(v->state));
		v->epoch = epoch;
	}
	v->state[dir] = state;
	v->via_rc = via_rc;
	strscpy(v->what[dir], state == P2PDMA_FAILED && what ? what : "");
	/*
	 * A client removed meanwhile: its removal notice may have forgotten
	 * its verdicts already, and the next device at its address must not
	 * inherit this one.  The flag is cleared before the notice.
	 */
	if (!pci_dev_is_added(client) ||
	    !memchr_inv(v->state, P2PDMA_UNTESTED, sizeof(v->state)))
		p2pdma_verdict_drop(vs, v);
out:
	spin_unlock_irq(&vs->lock);
	return ret;
}

/**
 * p2pdma_verdict_forget - forget a client's verdicts, or all of them
 * @p2p: the provider
 * @client: the client, or NULL for every client
 *
 * Any context.
 */
void p2pdma_verdict_forget(struct pci_p2pdma *p2p, struct pci_dev *client)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p);
	struct p2pdma_verdict *v;
	unsigned long flags;

	if (!vs)
		return;
	spin_lock_irqsave(&vs->lock, flags);
	if (!client) {
		vs->nr = 0;
	} else {
		v = p2pdma_verdict_find(vs, p2pdma_client_key(client));
		if (v)
			p2pdma_verdict_drop(vs, v);
	}
	spin_unlock_irqrestore(&vs->lock, flags);
}

/**
 * p2pdma_verdict_of - what probes found on the path to one client
 * @p2p: the provider, under RCU or pinned
 * @client: the client
 * @state: filled in, per direction
 *
 * Verdicts of older rules read as untested.  Any context.
 */
void p2pdma_verdict_of(struct pci_p2pdma *p2p, struct pci_dev *client,
		       u8 state[P2PDMA_PROBE_DIRS])
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p);
	unsigned long epoch = atomic_long_read(&p2pdma_verdict_epoch);
	struct p2pdma_verdict *v;
	unsigned long flags;

	memset(state, P2PDMA_UNTESTED, P2PDMA_PROBE_DIRS);
	if (!vs)
		return;
	spin_lock_irqsave(&vs->lock, flags);
	v = p2pdma_verdict_find(vs, p2pdma_client_key(client));
	if (v && v->epoch == epoch)
		memcpy(state, v->state, P2PDMA_PROBE_DIRS);
	spin_unlock_irqrestore(&vs->lock, flags);
}

/**
 * p2pdma_verdict_of_rc - what probes found on the provider's root complex
 * @p2p: the provider, under RCU or pinned
 * @state: filled in, per direction
 *
 * Over the clients whose paths turn around in the root complex: a
 * direction failed if it failed for any of them, as the root complex is
 * the one part they share; verified if verified for one and failed for
 * none.  Any context.
 */
void p2pdma_verdict_of_rc(struct pci_p2pdma *p2p, u8 state[P2PDMA_PROBE_DIRS])
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p);
	unsigned long epoch = atomic_long_read(&p2pdma_verdict_epoch);
	unsigned long flags;
	unsigned int i, dir;

	memset(state, P2PDMA_UNTESTED, P2PDMA_PROBE_DIRS);
	if (!vs)
		return;
	spin_lock_irqsave(&vs->lock, flags);
	/* At most P2PDMA_VERDICT_CLIENTS entries. */
	for (i = 0; i < vs->nr; i++) {
		if (!vs->v[i].via_rc || vs->v[i].epoch != epoch)
			continue;
		/* The states are ordered: untested, verified, failed. */
		for (dir = 0; dir < P2PDMA_PROBE_DIRS; dir++)
			state[dir] = max(state[dir], vs->v[i].state[dir]);
	}
	spin_unlock_irqrestore(&vs->lock, flags);
}

/**
 * p2pdma_verdict_policy - the provider's own policy
 * @p2p: the provider, under RCU or pinned
 *
 * Return: P2PDMA_POLICY_INHERIT unless root set one.
 */
enum p2pdma_policy p2pdma_verdict_policy(struct pci_p2pdma *p2p)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p);

	return vs ? READ_ONCE(vs->policy) : P2PDMA_POLICY_INHERIT;
}

/**
 * p2pdma_verdict_set_policy - set the provider's own policy
 * @p2p: the provider
 * @policy: the policy, or P2PDMA_POLICY_INHERIT for the global one
 *
 * The caller makes the path cache stale afterwards.  Process context.
 *
 * Return: 0 or -ENOMEM.
 */
int p2pdma_verdict_set_policy(struct pci_p2pdma *p2p,
			      enum p2pdma_policy policy)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_get(p2p);

	if (!vs)
		return -ENOMEM;
	WRITE_ONCE(vs->policy, policy);
	return 0;
}

/**
 * p2pdma_verdict_show - print the verdicts, one client and direction a line
 * @p2p: the provider, pinned
 * @m: the debugfs file
 *
 * "<client> <direction> <verdict> [what failed]"; nothing for untested.
 */
void p2pdma_verdict_show(struct pci_p2pdma *p2p, struct seq_file *m)
{
	struct p2pdma_verdicts *vs = p2pdma_verdicts_of(p2p);
	unsigned long epoch = atomic_long_read(&p2pdma_verdict_epoch);
	char name[P2PDMA_CLIENT_NAME_LEN];
	struct p2pdma_verdict v;
	unsigned int i, dir;

	for (i = 0; vs; i++) {
		spin_lock_irq(&vs->lock);
		if (i >= vs->nr) {
			spin_unlock_irq(&vs->lock);
			break;
		}
		v = vs->v[i];
		spin_unlock_irq(&vs->lock);
		if (v.epoch != epoch)
			continue;
		p2pdma_client_key_name(v.client, name, sizeof(name));
		for (dir = 0; dir < P2PDMA_PROBE_DIRS; dir++) {
			if (v.state[dir] == P2PDMA_UNTESTED)
				continue;
			seq_printf(m, "%s %s %s%s%s\n", name,
				   p2pdma_probe_dir_names[dir],
				   p2pdma_verdict_names[v.state[dir]],
				   v.what[dir][0] ? " " : "", v.what[dir]);
		}
	}
}
