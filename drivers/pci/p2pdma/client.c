// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA client helpers: distance checks for a set of DMA masters,
 * choosing a provider for them, and the configfs knob nvmet exposes.
 */
#define pr_fmt(fmt) "p2pdma: " fmt
#define dev_fmt(fmt) "p2pdma: " fmt

#include <linux/atomic.h>
#include <linux/ratelimit.h>
#include <linux/pci-p2pdma.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "p2pdma.h"
#include "paths.h"
#include "trace.h"

/* "; ... pci=disable_acs_redir=A;B" for a path that ACS refused. */
static int p2pdma_acs_hint(char *buf, size_t size,
			   const struct p2pdma_path *path)
{
	unsigned int i, n = min_t(unsigned int, path->nr_acs,
				  ARRAY_SIZE(path->acs));
	int len;

	len = scnprintf(buf, size,
			"; to keep it below the switch, boot with pci=disable_acs_redir=");
	for (i = 0; i < n; i++)
		len += scnprintf(buf + len, size - len, "%s%s", i ? ";" : "",
				 pci_name(path->acs[i]));
	if (n < path->nr_acs)
		len += scnprintf(buf + len, size - len, ";...");
	return len;
}

/**
 * p2pdma_refusal_text - the log line for a refused provider/client pair
 * @buf: where to write it
 * @size: size of @buf
 * @client: the refused client
 * @path: the refused path, or NULL when @client is not a PCI device
 *
 * Return: the length of the text, at most @size - 1.
 */
int p2pdma_refusal_text(char *buf, size_t size, struct device *client,
			const struct p2pdma_path *path)
{
	int len;

	if (!path)
		return scnprintf(buf, size, "refused with %s: not a PCI device",
				 dev_name(client));
	len = scnprintf(buf, size, "refused with %s: %s", dev_name(client),
			path->reason);
	if (path->where)
		len += scnprintf(buf + len, size - len, " (at %s)",
				 pci_name(path->where));
	if (path->nr_acs)
		len += p2pdma_acs_hint(buf + len, size - len, path);
	return len;
}

/* One line per refused pair, naming both devices and the reason. */
static void p2pdma_report_refusal(struct pci_dev *provider,
				  struct device *client,
				  const struct p2pdma_path *path)
{
	char text[256];

	p2pdma_refusal_text(text, sizeof(text), client, path);
	pci_warn(provider, "%s\n", text);
}

/* Count a refusal in its provider's accounting, if it is still there. */
static void p2pdma_account_refused(struct pci_dev *provider, struct device *dev,
				   const char *reason)
{
	struct pci_p2pdma *p2p;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(provider);
	if (p2p)
		p2pdma_account_refusal(p2p->account, dev, reason);
	rcu_read_unlock();
}

/* For a provider whose state is gone (its removal is under way). */
static DEFINE_RATELIMIT_STATE(p2pdma_refusal_log, P2PDMA_REFUSAL_WINDOW,
			      P2PDMA_REFUSAL_BURST);

/**
 * p2pdma_refusal_log_init - set up a provider's budget of refusal lines
 * @p2p: the provider's new state
 */
void p2pdma_refusal_log_init(struct pci_p2pdma *p2p)
{
	ratelimit_state_init(&p2p->refusal_log, P2PDMA_REFUSAL_WINDOW,
			     P2PDMA_REFUSAL_BURST);
}

/*
 * Whether a refusal of @provider's may be logged now.  Each provider has
 * its own budget: one that a client retries against, or a test's at boot,
 * must not hide another provider's first refusal.
 */
static bool p2pdma_refusal_may_log(struct pci_dev *provider)
{
	struct pci_p2pdma *p2p;
	bool log;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(provider);
	log = __ratelimit(p2p ? &p2p->refusal_log : &p2pdma_refusal_log);
	rcu_read_unlock();
	return log;
}

/**
 * p2pdma_explain_refusal - count, trace and log a refused DMA mapping
 * @provider: the provider of the memory
 * @dev: the device the mapping was for
 *
 * The DMA-mapping path only has the cached verdict: work the reason out
 * again, for the per-path accounting and the p2pdma_refuse tracepoint,
 * which see every refusal, and for the log, which sees at most
 * P2PDMA_REFUSAL_BURST lines every P2PDMA_REFUSAL_WINDOW per provider, as
 * a failing I/O is often retried.  The reason costs a walk of the
 * topology, once per refused mapping call, and only when one of them
 * wants it.  Does not sleep.
 *
 * Return: true if the refusal was logged.
 */
bool p2pdma_explain_refusal(struct pci_dev *provider, struct device *dev)
{
	struct p2pdma_path path, *p = NULL;
	const char *reason = "not a PCI device";
	bool log = p2pdma_refusal_may_log(provider);

	/* The walk of the topology only for whoever wants the reason. */
	if (!log && !p2pdma_accounting_on() && !trace_p2pdma_refuse_enabled())
		return false;
	if (dev_is_pci(dev)) {
		p2pdma_path_calc(provider, to_pci_dev(dev), &path);
		p = &path;
		/* Allowed now: the rules changed since the verdict was cached. */
		reason = path.reason ?: "refused by rules that have changed since";
	}
	p2pdma_account_refused(provider, dev, reason);
	trace_p2pdma_refuse(provider, dev_name(dev),
			    PCI_P2PDMA_MAP_NOT_SUPPORTED, 0, reason);
	if (log)
		p2pdma_report_refusal(provider, dev, p);
	return log;
}

/**
 * pci_p2pdma_fallback - say that an I/O uses system memory, not p2pmem
 * @provider: the provider the I/O would have used, or NULL if none
 * @client: the device that does the I/O's DMA, or NULL if none
 * @bytes: the I/O's bytes
 * @reason: why
 *
 * For clients that fall back to system memory I/O by I/O (nvmet, when a
 * namespace's p2pmem runs out or is out of the transport's reach), so that
 * the provider's per-path accounting and the p2pdma_fallback tracepoint
 * show which way each I/O went.  Costs a call, a look through the
 * provider's paths and a static branch while the tracepoint is off.
 *
 * Context: any context.
 */
void pci_p2pdma_fallback(struct pci_dev *provider, struct device *client,
			 size_t bytes, const char *reason)
{
	struct pci_p2pdma *p2p;

	/* A provider on its way out: its fallbacks go to "none"'s table. */
	rcu_read_lock();
	p2p = provider ? p2pdma_of_rcu(provider) : NULL;
	p2pdma_account_fallback(p2p ? p2p->account : NULL, client, bytes,
				reason);
	rcu_read_unlock();
	trace_p2pdma_fallback(provider, client ? dev_name(client) : "none",
			      P2PDMA_MAP_SYSTEM_MEMORY, bytes, reason);
}
EXPORT_SYMBOL_GPL(pci_p2pdma_fallback);

/**
 * p2pdma_dev_out_of_reach - whether a device surely cannot reach a provider
 * @provider: the provider
 * @dev: a PCI function, or a device below one
 *
 * As the path cache has it.  A refusal is counted, traced and logged as a
 * refused mapping's is: it stands for the mapping that will not be tried.
 *
 * Return: true if the PCI function behind @dev cannot reach @provider;
 * false if it can, if @dev has no PCI function behind it (its driver maps
 * through a device of its own, an RDMA NIC say, which its mapping asks
 * about) or if @provider is going away (its users are being told).
 */
bool p2pdma_dev_out_of_reach(struct pci_dev *provider, struct device *dev)
{
	enum pci_p2pdma_map_type map = PCI_P2PDMA_MAP_UNKNOWN;
	struct pci_dev *pdev = p2pdma_pci_dev_of(dev);
	struct pci_p2pdma *p2p;

	if (!pdev)
		return false;
	rcu_read_lock();
	p2p = p2pdma_of_rcu(provider);
	if (p2p)
		map = p2pdma_path_cached(p2p, pdev, NULL);
	rcu_read_unlock();
	if (map == PCI_P2PDMA_MAP_NOT_SUPPORTED)
		p2pdma_explain_refusal(provider, &pdev->dev);
	pci_dev_put(pdev);
	return map == PCI_P2PDMA_MAP_NOT_SUPPORTED;
}

/**
 * pci_p2pdma_page_out_of_reach - whether a device surely cannot DMA to a page
 * @page: a page of p2pmem, allocated, which keeps its provider alive
 * @dev: a PCI function, or a device made by its driver: the disk of a
 *	member of a stacked block device, or its controller
 *
 * For drivers that stack on others (md, dm, NVMe multipath).  A member
 * that cannot reach the memory fails its part of an I/O when it maps it,
 * after other members may have done theirs: a stripe half-written, a
 * mirror leg taken for faulty, a path failed over for nothing.  Asked for
 * every member an I/O may go to before it goes to any, this lets the I/O
 * fail whole instead.  The answer comes from the provider's path cache; a
 * refusal is logged with its reason, as a refused mapping's is.
 *
 * Context: any context; does not sleep.
 * Return: true if the PCI function behind @dev cannot reach @page's
 * provider; false if it can, or if there is no PCI function to ask about.
 */
bool pci_p2pdma_page_out_of_reach(struct page *page, struct device *dev)
{
	return p2pdma_dev_out_of_reach(p2pdma_range_of_page(page)->provider,
				       dev);
}
EXPORT_SYMBOL_GPL(pci_p2pdma_page_out_of_reach);

/* Distance from @provider to one client, -1 if refused. */
static int p2pdma_client_distance(struct pci_dev *provider,
				  struct device *client, bool verbose)
{
	struct p2pdma_path path;
	struct pci_p2pdma *p2p;
	struct pci_dev *pdev;
	int dist = -1;

	pdev = p2pdma_pci_dev_of(client);
	if (!pdev) {
		if (verbose)
			p2pdma_report_refusal(provider, client, NULL);
		return -1;
	}

	rcu_read_lock();
	p2p = p2pdma_of_rcu(provider);
	if (p2p)
		p2pdma_path_cached(p2p, pdev, &dist);
	rcu_read_unlock();

	/* Not a registered provider (a pure distance query), or verbose. */
	if (!p2p || (dist < 0 && verbose)) {
		p2pdma_path_calc(provider, pdev, &path);
		dist = path.distance;
		if (dist < 0 && verbose)
			p2pdma_report_refusal(provider, client, &path);
	}
	pci_dev_put(pdev);
	return dist;
}

/**
 * pci_p2pdma_distance_many - how far a set of clients is from a provider
 * @provider: PCI device that holds (or would hold) the memory
 * @clients: devices that will DMA to or from that memory
 * @num_clients: number of entries in @clients
 * @verbose: log one line per refused client, naming the reason
 *
 * A client may be a PCI device or any device created below one (a block
 * device, an RDMA device); its PCI function is what the path is checked for.
 *
 * Return: the sum of the distances to all clients, or -1 if any client
 * cannot do P2P DMA with @provider or there are no clients.
 */
int pci_p2pdma_distance_many(struct pci_dev *provider, struct device **clients,
			     int num_clients, bool verbose)
{
	int i, dist, total = 0;
	bool refused = false;

	if (num_clients <= 0)
		return -1;

	for (i = 0; i < num_clients; i++) {
		dist = p2pdma_client_distance(provider, clients[i], verbose);
		if (dist < 0) {
			refused = true;
			/* Keep going only to report every refused client. */
			if (!verbose)
				break;
		}
		total += dist;
	}
	return refused ? -1 : total;
}
EXPORT_SYMBOL_GPL(pci_p2pdma_distance_many);

struct p2pdma_choice {
	struct device **clients;
	int num_clients;
	int best;		/* smallest distance seen */
	int ties;		/* providers at @best */
	int pick;		/* which of them to return, counting down */
	struct pci_dev *found;
};

/*
 * Whether @p2p may be offered to the clients at all.  The topology KUnit
 * suite publishes providers on PCI devices it makes up, which the driver
 * core never registers, and frees them when a case ends: they are for its
 * own made-up clients only, and real clients are for real providers.
 */
static bool p2pdma_choice_may_offer(struct pci_p2pdma *p2p,
				    struct p2pdma_choice *c)
{
	bool real = device_is_registered(&p2p->pdev->dev);
	int i;

	for (i = 0; i < c->num_clients; i++)
		if (device_is_registered(c->clients[i]) != real)
			return false;
	return true;
}

static void p2pdma_choice_rank(struct pci_p2pdma *p2p, void *arg)
{
	struct p2pdma_choice *c = arg;
	int dist;

	if (!p2pdma_choice_may_offer(p2p, c))
		return;
	dist = pci_p2pdma_distance_many(p2p->pdev, c->clients, c->num_clients,
					false);
	if (dist < 0 || dist > c->best)
		return;
	if (dist < c->best) {
		c->best = dist;
		c->ties = 0;
	}
	c->ties++;
}

static void p2pdma_choice_pick(struct pci_p2pdma *p2p, void *arg)
{
	struct p2pdma_choice *c = arg;

	if (c->pick < 0 || !p2pdma_choice_may_offer(p2p, c) ||
	    pci_p2pdma_distance_many(p2p->pdev, c->clients, c->num_clients,
				     false) != c->best)
		return;
	if (c->pick-- == 0)
		c->found = pci_dev_get(p2p->pdev);
}

/**
 * pci_p2pmem_find_many - choose published p2pmem all clients can reach
 * @clients: devices that will DMA to or from the memory
 * @num_clients: number of entries in @clients
 *
 * Picks the provider with the smallest pci_p2pdma_distance_many().  Ties
 * are broken round-robin, so that clients at equal distance from several
 * providers spread their load over all of them.
 *
 * Return: the provider with a reference held (drop it with pci_dev_put()),
 * or NULL if no published provider suits every client.
 */
struct pci_dev *pci_p2pmem_find_many(struct device **clients, int num_clients)
{
	static atomic_t rotor = ATOMIC_INIT(0);
	struct p2pdma_choice choice;
	int tries;

	/*
	 * Distances are cached by the first walk, so the second is cheap.
	 * A provider unpublished between the walks can make the second miss
	 * its pick: then choose again, from the providers there are now.
	 */
	for (tries = 0; tries < 3; tries++) {
		choice = (struct p2pdma_choice) {
			.clients = clients,
			.num_clients = num_clients,
			.best = INT_MAX,
		};
		p2pdma_for_each_published(p2pdma_choice_rank, &choice);
		if (!choice.ties)
			return NULL;
		choice.pick = (unsigned int)atomic_inc_return(&rotor) %
			      choice.ties;
		p2pdma_for_each_published(p2pdma_choice_pick, &choice);
		if (choice.found)
			break;
	}
	return choice.found;
}
EXPORT_SYMBOL_GPL(pci_p2pmem_find_many);

/*
 * The words upstream's kstrtobool() takes by their first letters, whole
 * and in any case, and "auto" and "none".  Whole words: a typo of a PCI
 * address ("0000:zz:00.0") or a stray word is refused, not read as its
 * first letter.
 */
static const char * const p2pdma_on_words[] = {
	"auto", "1", "y", "yes", "t", "true", "on", "e", "enable", "enabled",
	NULL
};

static const char * const p2pdma_off_words[] = {
	"0", "n", "no", "f", "false", "off", "d", "disable", "disabled", "none",
	NULL
};

/* sysfs_streq(), but in any case. */
static bool p2pdma_word_is(const char *page, const char *word)
{
	size_t len = strlen(word);

	if (strncasecmp(page, word, len))
		return false;
	return !page[len] || (page[len] == '\n' && !page[len + 1]);
}

static bool p2pdma_match_word(const char *page, const char * const *words)
{
	for (; *words; words++)
		if (p2pdma_word_is(page, *words))
			return true;
	return false;
}

static int p2pdma_match_name(struct device *dev, const void *name)
{
	return sysfs_streq(dev_name(dev), name);
}

/**
 * pci_p2pdma_enable_store - parse a "use p2pmem" configuration value
 * @page: the text written: a PCI device name (e.g. 0000:01:00.0), "auto",
 *        "none", or a boolean word (1/y/yes/t/true/on/e/enable meaning
 *        auto, 0/n/no/f/false/off/d/disable meaning none), in any case
 * @p2p_dev: set to the named device with a reference held, or to NULL
 * @use_p2pdma: set to whether p2pmem should be used
 *
 * Meant for configfs/sysfs store methods such as nvmet's per-namespace
 * p2pmem attribute.  On error the outputs are left untouched.  The errors
 * are upstream's, and so are the words, which upstream's kstrtobool()
 * reads by their first letters; here they are matched whole ("yellow" is
 * not "y"), and "auto" and "none" are accepted too.
 *
 * Return: 0, or -ENODEV if a named device has no published p2pmem or the
 * text is neither a PCI device name, a keyword nor a boolean.
 */
int pci_p2pdma_enable_store(const char *page, struct pci_dev **p2p_dev,
			    bool *use_p2pdma)
{
	struct device *dev;
	bool enable;

	dev = bus_find_device(&pci_bus_type, NULL, page, p2pdma_match_name);
	if (dev) {
		if (!pci_has_p2pmem(to_pci_dev(dev))) {
			pci_err(to_pci_dev(dev), "has no p2pmem to use\n");
			put_device(dev);
			return -ENODEV;
		}
		*p2p_dev = to_pci_dev(dev);
		*use_p2pdma = true;
		return 0;
	}

	/* Whole words only: kstrtobool() would take "0000:..." for "0". */
	if (p2pdma_match_word(page, p2pdma_on_words)) {
		enable = true;
	} else if (p2pdma_match_word(page, p2pdma_off_words)) {
		enable = false;
	} else {
		pr_err("'%.*s' is not a PCI device, \"auto\", \"off\" or a boolean\n",
		       (int)strcspn(page, "\n"), page);
		return -ENODEV;
	}
	*p2p_dev = NULL;
	*use_p2pdma = enable;
	return 0;
}
EXPORT_SYMBOL_GPL(pci_p2pdma_enable_store);

/**
 * pci_p2pdma_enable_show - format a "use p2pmem" configuration value
 * @page: buffer of PAGE_SIZE bytes, a sysfs/configfs show method's page
 *        or any other: it need not be page-aligned
 * @p2p_dev: the chosen provider, or NULL for automatic choice
 * @use_p2pdma: whether p2pmem is used at all
 *
 * The values are upstream's, so that saved configurations and scripts
 * read what they always read.  Not sysfs_emit(): it warns about a buffer
 * that is not page-aligned, which upstream's callers may pass.
 *
 * Return: bytes written: the provider's name, "1" (automatic choice) or
 * "0" (off), and a newline.
 */
ssize_t pci_p2pdma_enable_show(char *page, struct pci_dev *p2p_dev,
			       bool use_p2pdma)
{
	if (!use_p2pdma)
		return scnprintf(page, PAGE_SIZE, "0\n");
	if (!p2p_dev)
		return scnprintf(page, PAGE_SIZE, "1\n");
	return scnprintf(page, PAGE_SIZE, "%s\n", pci_name(p2p_dev));
}
EXPORT_SYMBOL_GPL(pci_p2pdma_enable_show);
