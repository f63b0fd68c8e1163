// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA registry: which devices are providers, which of them are
 * published for other drivers to find, and which clients watch them.
 *
 * It also tells the userspace face (face.c) what happens to providers,
 * through the ops the face registers at init: the core and the registry
 * never call up into the face's files, and the face calls down only.
 *
 * This file owns p2pdma_lock; no other file takes it.  Lock-free readers
 * reach a provider's state through pdev->p2pdma under RCU instead (see the
 * accessors in p2pdma.h), which is why the pointer is set and cleared here,
 * under the lock, and the state is freed only after a grace period.
 */
#include <linux/kallsyms.h>
#include <linux/notifier.h>
#include <linux/pci-p2pdma.h>

#include "p2pdma.h"
#include "trace.h"

/*
 * Serialises the lists below, each provider's @published and @watchers, and
 * setting or clearing pdev->p2pdma.  Nothing slow runs under it.
 */
static DEFINE_MUTEX(p2pdma_lock);
/* Published providers, in the order they were published. */
static LIST_HEAD(p2pdma_published);
/* Every provider, published or not. */
static LIST_HEAD(p2pdma_all);

/*
 * Held while removal callbacks run, outside p2pdma_lock, so that
 * pci_p2pdma_unwatch() waits for a callback that is running.
 */
static DEFINE_MUTEX(p2pdma_watch_lock);

/* The userspace face; set once, at subsys_initcall, before any provider. */
static const struct p2pdma_face_ops *p2pdma_face __read_mostly;

static struct pci_p2pdma *p2pdma_of_locked(struct pci_dev *pdev)
{
	return rcu_dereference_protected(pdev->p2pdma,
					 lockdep_is_held(&p2pdma_lock));
}

/**
 * p2pdma_register - make a new provider's state reachable from its device
 * @p2p: fully set-up state
 *
 * Return: 0, or -EBUSY if the device has state already.
 */
int p2pdma_register(struct pci_p2pdma *p2p)
{
	int ret = -EBUSY;

	mutex_lock(&p2pdma_lock);
	if (!p2pdma_of_locked(p2p->pdev)) {
		list_add_tail(&p2p->all_node, &p2pdma_all);
		rcu_assign_pointer(p2p->pdev->p2pdma, p2p);
		ret = 0;
	}
	mutex_unlock(&p2pdma_lock);
	return ret;
}

/**
 * p2pdma_unregister - detach a provider's state from its device
 * @p2p: state registered with p2pdma_register()
 *
 * Lock-free readers may still see @p2p until an RCU grace period has
 * passed; the caller waits for one before freeing it.
 */
void p2pdma_unregister(struct pci_p2pdma *p2p)
{
	mutex_lock(&p2pdma_lock);
	list_del(&p2p->all_node);
	RCU_INIT_POINTER(p2p->pdev->p2pdma, NULL);
	mutex_unlock(&p2pdma_lock);
}

/*
 * The flag and the list change under p2pdma_lock; userspace's files follow
 * under the provider's own publish_lock, as revoking them waits for every
 * process mapping the provider, and that must not stall other providers.
 * The teardown kills the pool before it unpublishes (see core.c), so a
 * dying provider is never published again.
 */
static void p2pdma_set_published(struct pci_p2pdma *p2p, bool publish)
{
	bool changed;

	lockdep_assert_held(&p2p->publish_lock);
	mutex_lock(&p2pdma_lock);
	changed = p2p->published != publish &&
		  !(publish && p2pdma_pool_dying(p2p->pool));
	if (changed && publish)
		list_add_tail(&p2p->published_node, &p2pdma_published);
	else if (changed)
		list_del_init(&p2p->published_node);
	if (changed)
		WRITE_ONCE(p2p->published, publish);
	mutex_unlock(&p2pdma_lock);

	if (changed && p2pdma_face)
		p2pdma_face->publish(p2p, publish);
}

/**
 * p2pdma_face_register - let the userspace face follow the providers
 * @ops: its callbacks
 *
 * Called once, before any provider registers memory.
 */
void p2pdma_face_register(const struct p2pdma_face_ops *ops)
{
	WARN_ON_ONCE(p2pdma_face);
	p2pdma_face = ops;
}

/**
 * p2pdma_face_add - tell the face a provider is registering its first pages
 * @p2p: the provider, whose other registrations wait (ranges_lock held, or
 *       not reachable from its device yet)
 *
 * Return: 0 (also without a face), or the face's negative errno: the range
 * is then not registered.
 */
int p2pdma_face_add(struct pci_p2pdma *p2p)
{
	return p2pdma_face ? p2pdma_face->add(p2p) : 0;
}

/**
 * p2pdma_face_remove - tell the face a provider's pages are going
 * @p2p: the provider, unpublished; its first range failed, or its
 *       teardown runs
 *
 * The face removes the provider's files, waiting for calls into them.
 * Does nothing for a provider the face was not told about.
 */
void p2pdma_face_remove(struct pci_p2pdma *p2p)
{
	if (p2pdma_face)
		p2pdma_face->remove(p2p);
}

/**
 * p2pdma_unpublish - stop offering a provider to other drivers
 * @p2p: the provider
 *
 * pci_p2pmem_find_many() no longer returns it once this returns, and its
 * userspace mappings are revoked.
 */
void p2pdma_unpublish(struct pci_p2pdma *p2p)
{
	mutex_lock(&p2p->publish_lock);
	p2pdma_set_published(p2p, false);
	mutex_unlock(&p2p->publish_lock);
}

/**
 * pci_p2pmem_publish - offer or withdraw a provider's memory to other drivers
 * @pdev: provider that registered memory with pci_p2pdma_add_resource()
 * @publish: true to let pci_p2pmem_find_many() return @pdev, false to stop
 *
 * Memory that is only used by the provider's own driver (a queue in an NVMe
 * CMB, say) is registered but not published.  Userspace may map published
 * memory only (p2pmem/allocate and /dev/p2pmemN exist while it is): when
 * it is withdrawn, userspace mappings of it are revoked.  Does nothing if
 * @pdev has no p2pmem, and publishes nothing once its removal has begun.
 *
 * Context: process context; may sleep, unlike upstream's (its callers
 * publish from probe, or from nvme's reset work): it creates or removes
 * the userspace files, and a withdrawal waits for the revocation of the
 * mappings, which takes each mapper's mmap lock.  Hold no lock a page
 * fault or an mmap() of p2pmem may take.
 */
void pci_p2pmem_publish(struct pci_dev *pdev, bool publish)
{
	/* Pinned: only the provider's driver publishes, as upstream. */
	struct pci_p2pdma *p2p = p2pdma_of_pinned(pdev);

	/* Without pages (pcim_p2pdma_init() alone) there is nothing to offer. */
	if (!p2p || !smp_load_acquire(&p2p->has_pages))
		return;
	mutex_lock(&p2p->publish_lock);
	p2pdma_set_published(p2p, publish);
	mutex_unlock(&p2p->publish_lock);
}
EXPORT_SYMBOL_GPL(pci_p2pmem_publish);

/**
 * p2pdma_for_each_published - call a function for each published provider
 * @fn: called with p2pdma_lock held, so it may sleep but must not publish,
 *      unpublish or watch
 * @arg: passed to @fn
 *
 * The providers are visited in the order they were published, and none is
 * unpublished or torn down while the walk runs.
 */
void p2pdma_for_each_published(void (*fn)(struct pci_p2pdma *p2p, void *arg),
			       void *arg)
{
	struct pci_p2pdma *p2p;

	mutex_lock(&p2pdma_lock);
	list_for_each_entry(p2p, &p2pdma_published, published_node)
		fn(p2p, arg);
	mutex_unlock(&p2pdma_lock);
}

/**
 * pci_p2pdma_watch - ask to be told when a provider goes away
 * @provider: provider the caller allocates from
 * @watch: the caller's watch, with @watch->remove set
 *
 * When @provider's driver unbinds, or the device is hot-unplugged,
 * @watch->remove(@watch) is called once, from the unbinding thread and
 * before the unbind waits for the provider's memory to be freed: the
 * callback should make its user stop using the provider and free what it
 * allocated (quiescing I/O first), possibly from a work item.
 *
 * The callback runs in process context with an internal mutex held and the
 * watch already disarmed.  It must not call pci_p2pdma_watch() or
 * pci_p2pdma_unwatch(), and must not take a lock that is held elsewhere
 * around calls to them: pci_p2pdma_unwatch() waits for running callbacks.
 *
 * Return: 0, or -ENODEV if @provider has no p2pmem or is going away.
 */
int pci_p2pdma_watch(struct pci_dev *provider, struct pci_p2pdma_watcher *watch)
{
	struct pci_p2pdma *p2p;
	int ret = -ENODEV;

	mutex_lock(&p2pdma_lock);
	p2p = p2pdma_of_locked(provider);
	if (p2p && !p2pdma_pool_dying(p2p->pool)) {
		watch->provider = provider;
		list_add_tail(&watch->node, &p2p->watchers);
		ret = 0;
	}
	mutex_unlock(&p2pdma_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(pci_p2pdma_watch);

/**
 * pci_p2pdma_unwatch - stop watching a provider
 * @watch: a watch armed with pci_p2pdma_watch(), or one already fired
 *
 * If the provider is being removed at the same time, waits until the
 * removal callback has returned, so @watch can be freed afterwards.
 */
void pci_p2pdma_unwatch(struct pci_p2pdma_watcher *watch)
{
	mutex_lock(&p2pdma_watch_lock);
	mutex_lock(&p2pdma_lock);
	if (watch->provider)
		list_del_init(&watch->node);
	watch->provider = NULL;
	mutex_unlock(&p2pdma_lock);
	mutex_unlock(&p2pdma_watch_lock);
}
EXPORT_SYMBOL_GPL(pci_p2pdma_unwatch);

/*
 * A watcher has no device: its callback's name says which user it is,
 * without the " [module]" that %ps adds, as only the reason has spaces.
 */
static void p2pdma_watcher_trace_revoke(struct pci_p2pdma *p2p,
					struct pci_p2pdma_watcher *watch)
{
	char client[KSYM_NAME_LEN];

	snprintf(client, sizeof(client), "%ps", watch->remove);
	client[strcspn(client, " ")] = '\0';
	trace_p2pdma_revoke(p2p->pdev, client, PCI_P2PDMA_MAP_UNKNOWN, 0,
			    "provider removed");
}

/**
 * p2pdma_notify_watchers - call every watcher's removal callback, each once
 * @p2p: a provider that no longer hands out memory
 */
void p2pdma_notify_watchers(struct pci_p2pdma *p2p)
{
	struct pci_p2pdma_watcher *watch;
	LIST_HEAD(gone);

	mutex_lock(&p2pdma_watch_lock);
	mutex_lock(&p2pdma_lock);
	list_splice_init(&p2p->watchers, &gone);
	mutex_unlock(&p2pdma_lock);

	while (!list_empty(&gone)) {
		watch = list_first_entry(&gone, struct pci_p2pdma_watcher, node);
		list_del_init(&watch->node);
		watch->provider = NULL;
		if (trace_p2pdma_revoke_enabled())
			p2pdma_watcher_trace_revoke(p2p, watch);
		watch->remove(watch);
	}
	mutex_unlock(&p2pdma_watch_lock);
}

/*
 * A removed device's cached paths must not outlive it.  Once it is gone,
 * not when it starts going: until then its driver may still map DMA, and a
 * verdict worked out then must be stale for the next device at its address.
 */
static int p2pdma_pci_bus_notify(struct notifier_block *nb,
				 unsigned long action, void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct pci_p2pdma *p2p;

	if (action != BUS_NOTIFY_REMOVED_DEVICE)
		return NOTIFY_DONE;
	mutex_lock(&p2pdma_lock);
	list_for_each_entry(p2p, &p2pdma_all, all_node) {
		/*
		 * What a probe found was about that device, not its successor:
		 * forgotten first, so that no path worked out from it is cached
		 * under the generation the forget below starts.
		 */
		p2pdma_verdict_forget(p2p, pdev);
		p2pdma_path_forget(p2p, pdev);
	}
	mutex_unlock(&p2pdma_lock);
	return NOTIFY_OK;
}

static struct notifier_block p2pdma_pci_bus_nb = {
	.notifier_call = p2pdma_pci_bus_notify,
};

/* After the PCI bus type exists, before drivers can register memory. */
static int __init p2pdma_registry_init(void)
{
	return bus_register_notifier(&pci_bus_type, &p2pdma_pci_bus_nb);
}
subsys_initcall(p2pdma_registry_init);
