// SPDX-License-Identifier: GPL-2.0
/*
 * PCI P2PDMA topology: can two devices exchange peer-to-peer DMA, how, and
 * how far apart are they.
 *
 * Only paths known to work are allowed:
 *
 *  - a device and itself;
 *  - functions of one multi-function device, which route between each other
 *    inside the device, and devices sharing a conventional PCI bus;
 *  - devices below a common bridge that is not a Root Port, i.e. a PCIe
 *    switch: the switch turns the requests around and the root complex never
 *    sees them.  PCIe does not require root complexes to route peer-to-peer
 *    traffic at all, which is why this is the safe case;
 *  - devices whose path crosses the root complex only if both hang off the
 *    same host bridge and that root complex is known to forward P2P traffic
 *    between its root ports (see p2pdma_host_bridge_allowlist[]).
 *
 * On the switch path every bridge and function the requests pass must have
 * ACS P2P Request Redirect, Completion Redirect and Egress Control off:
 * any of them would send the requests up to the root complex after all.
 *
 * The distance is the number of hops from each device up to where the paths
 * meet, summed; meeting in the root complex costs P2PDMA_ROOT_COMPLEX_HOPS
 * more, so that at equal depth a provider behind the client's own switch
 * always wins.
 *
 * Each provider caches its verdict per client (p2pdma_path_cached()), as
 * the DMA-mapping path asks for every mapping.  The cache is an xarray,
 * keyed by the client's PCI address (p2pdma_client_key()), whose entries
 * pack map type and distance into a value; it is read without locks.
 */
#include <linux/pci-p2pdma.h>

#include "../pci.h"
#include "p2pdma.h"

#define P2PDMA_ROOT_COMPLEX_HOPS	2
#define P2PDMA_RC_REFUSED "path crosses a root complex not known to route P2P"

/*
 * Root complexes that forward P2P requests between their root ports, by the
 * vendor and device ID of function 00.0 on the root bus.  Add an entry only
 * with evidence from real transfers on that platform.
 */
static const struct pci_device_id p2pdma_host_bridge_allowlist[] = {
	/* Intel Xeon E5 v3 (Haswell-EP) */
	{ PCI_VDEVICE(INTEL, 0x2f00) },
	{ PCI_VDEVICE(INTEL, 0x2f01) },
	/* Intel Xeon E5 v4 (Broadwell-EP) */
	{ PCI_VDEVICE(INTEL, 0x6f00) },
	/* Intel Xeon Scalable (Skylake-SP / Cascade Lake) */
	{ PCI_VDEVICE(INTEL, 0x2020) },
	{ PCI_VDEVICE(INTEL, 0x2030) },
	{ PCI_VDEVICE(INTEL, 0x2031) },
	{ PCI_VDEVICE(INTEL, 0x2032) },
	{ PCI_VDEVICE(INTEL, 0x2033) },
	{ }
};

/* Are the IDs of a host bridge function in the allowlist table. */
static bool p2pdma_host_bridge_allowed(u16 vendor, u16 device)
{
	const struct pci_device_id *id;

	for (id = p2pdma_host_bridge_allowlist; id->vendor; id++)
		if (id->vendor == vendor && id->device == device)
			return true;
	return false;
}

/*
 * AMD root complexes from Zen (family 17h) on route P2P between root ports;
 * it is a property of the CPU, so no host bridge table is needed for them.
 */
static bool p2pdma_amd_zen_root(u16 vendor)
{
#ifdef CONFIG_X86
	return vendor == PCI_VENDOR_ID_AMD &&
	       boot_cpu_data.x86_vendor == X86_VENDOR_AMD &&
	       boot_cpu_data.x86 >= 0x17;
#else
	return false;
#endif
}

/**
 * p2pdma_root_complex_routes_p2p - may P2P cross @pdev's root complex
 * @pdev: any device below the root complex
 *
 * May sleep: looking up the host bridge function takes pci_bus_sem.
 *
 * Return: true if the root complex is known to route P2P between its ports.
 */
bool p2pdma_root_complex_routes_p2p(struct pci_dev *pdev)
{
	struct pci_host_bridge *host = pci_find_host_bridge(pdev->bus);
	struct pci_dev *hb;
	bool ok;

	hb = pci_get_slot(host->bus, PCI_DEVFN(0, 0));
	if (!hb)
		return false;
	ok = p2pdma_host_bridge_allowed(hb->vendor, hb->device) ||
	     p2pdma_amd_zen_root(hb->vendor);
	pci_dev_put(hb);
	return ok;
}

/**
 * p2pdma_pci_dev_of - the PCI function behind a device
 * @dev: a PCI device, or a device created by a PCI driver (a block device,
 *       an NVMe controller, an RDMA device...)
 *
 * Return: the nearest PCI device among @dev and its parents with a
 * reference held, or NULL if there is none.
 */
struct pci_dev *p2pdma_pci_dev_of(struct device *dev)
{
	for (; dev; dev = dev->parent)
		if (dev_is_pci(dev))
			return pci_dev_get(to_pci_dev(dev));
	return NULL;
}

static bool p2pdma_acs_redirects(struct pci_dev *pdev)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	return ctrl & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
}

static void p2pdma_refuse(struct p2pdma_path *path, const char *reason,
			  struct pci_dev *where)
{
	path->map = PCI_P2PDMA_MAP_NOT_SUPPORTED;
	path->distance = -1;
	path->reason = reason;
	path->where = where;
}

static void p2pdma_allow(struct p2pdma_path *path,
			 enum pci_p2pdma_map_type map, int distance)
{
	path->map = map;
	path->distance = distance;
	path->reason = NULL;
	path->where = NULL;
}

/* Hops from @pdev up to its ancestor @top, or -1 if @top is not above it. */
static int p2pdma_hops_to(struct pci_dev *pdev, struct pci_dev *top)
{
	int hops = 0;

	for (; pdev; pdev = pci_upstream_bridge(pdev), hops++)
		if (pdev == top)
			return hops;
	return -1;
}

static int p2pdma_hops_to_root(struct pci_dev *pdev)
{
	int hops = 0;

	for (; pdev; pdev = pci_upstream_bridge(pdev))
		hops++;
	return hops;
}

/* Lowest bridge above both @a and @b, with the hops from each to it. */
static struct pci_dev *p2pdma_common_bridge(struct pci_dev *a,
					    struct pci_dev *b, int *dist)
{
	struct pci_dev *up;
	int hops_b = 0, hops_a;

	for (up = pci_upstream_bridge(b); up; up = pci_upstream_bridge(up)) {
		hops_b++;
		hops_a = p2pdma_hops_to(a, up);
		/* 0: @a is itself the bridge above @b (a switch port's BAR). */
		if (hops_a >= 0) {
			*dist = hops_a + hops_b;
			return up;
		}
	}
	return NULL;
}

/* First device on the way from @pdev up to (not including) @top that redirects. */
static struct pci_dev *p2pdma_acs_on_path(struct pci_dev *pdev,
					  struct pci_dev *top)
{
	for (; pdev && pdev != top; pdev = pci_upstream_bridge(pdev))
		if (p2pdma_acs_redirects(pdev))
			return pdev;
	return NULL;
}

static void p2pdma_path_same_bus(struct pci_dev *a, struct pci_dev *b,
				 struct p2pdma_path *path)
{
	/* Functions of a multi-function device obey their own ACS controls. */
	if (p2pdma_acs_redirects(a))
		return p2pdma_refuse(path, "ACS redirects P2P to the root complex", a);
	if (p2pdma_acs_redirects(b))
		return p2pdma_refuse(path, "ACS redirects P2P to the root complex", b);
	p2pdma_allow(path, PCI_P2PDMA_MAP_BUS_ADDR, 2);
}

static void p2pdma_path_root_complex(struct pci_dev *a, struct pci_dev *b,
				     bool rc_routes, struct p2pdma_path *path)
{
	if (pci_domain_nr(a->bus) != pci_domain_nr(b->bus))
		return p2pdma_refuse(path, "devices are in different PCI domains", NULL);
	if (pci_find_host_bridge(a->bus) != pci_find_host_bridge(b->bus))
		return p2pdma_refuse(path, "devices are below different host bridges", NULL);
	if (!rc_routes)
		return p2pdma_refuse(path, P2PDMA_RC_REFUSED, NULL);
	p2pdma_allow(path, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
		     p2pdma_hops_to_root(a) + p2pdma_hops_to_root(b) +
		     P2PDMA_ROOT_COMPLEX_HOPS);
}

/*
 * Decide the path between two PCI functions, given whether @provider's
 * root complex routes P2P between root ports.  Does not sleep, so it can
 * run from the DMA-mapping path.
 */
static void p2pdma_path_calc_rc(struct pci_dev *provider,
				struct pci_dev *client, bool rc_routes,
				struct p2pdma_path *path)
{
	struct pci_dev *top, *acs;
	int dist;

	if (provider == client)
		return p2pdma_allow(path, PCI_P2PDMA_MAP_BUS_ADDR, 0);

	/*
	 * Below a bridge, two functions on one bus are either one PCIe device
	 * (a link has one device, ARI or not) or share a conventional bus: no
	 * bridge is crossed.  On a root bus only functions of one RCiEP are.
	 */
	if (provider->bus == client->bus &&
	    (!pci_is_root_bus(provider->bus) ||
	     PCI_SLOT(provider->devfn) == PCI_SLOT(client->devfn)))
		return p2pdma_path_same_bus(provider, client, path);

	top = p2pdma_common_bridge(provider, client, &dist);
	if (!top || pci_pcie_type(top) == PCI_EXP_TYPE_ROOT_PORT)
		return p2pdma_path_root_complex(provider, client, rc_routes, path);

	acs = p2pdma_acs_on_path(provider, top);
	if (!acs)
		acs = p2pdma_acs_on_path(client, top);
	if (!acs && pci_pcie_type(top) == PCI_EXP_TYPE_DOWNSTREAM &&
	    p2pdma_acs_redirects(top))
		acs = top;
	if (acs)
		return p2pdma_refuse(path, "ACS redirects P2P to the root complex", acs);

	p2pdma_allow(path, PCI_P2PDMA_MAP_BUS_ADDR, dist);
}

/**
 * p2pdma_path_calc - decide the path between two PCI functions
 * @provider: device whose BAR holds the memory
 * @client: device that DMAs to or from it
 * @path: filled in with the map type, distance and reason
 *
 * May sleep.
 */
void p2pdma_path_calc(struct pci_dev *provider, struct pci_dev *client,
		      struct p2pdma_path *path)
{
	p2pdma_path_calc_rc(provider, client,
			    p2pdma_root_complex_routes_p2p(provider), path);
}

/* The path cache's key for a client: domain << 16 | bus << 8 | devfn. */
static unsigned long p2pdma_client_key(struct pci_dev *client)
{
	return (unsigned long)pci_domain_nr(client->bus) << 16 |
	       pci_dev_id(client);
}

/* The client a key stands for, as pci_name() would print it. */
static void p2pdma_client_key_name(unsigned long key, char *buf, size_t size)
{
	snprintf(buf, size, "%04lx:%02lx:%02lx.%lx", key >> 16,
		 (key >> 8) & 0xff, PCI_SLOT(key & 0xff), PCI_FUNC(key & 0xff));
}

/* A path as a cache entry: map type in the low two bits, then distance. */
static void *p2pdma_path_encode(const struct p2pdma_path *path)
{
	unsigned long v = path->map;

	if (path->distance >= 0)
		v |= (unsigned long)path->distance << 2;
	return xa_mk_value(v);
}

static void p2pdma_path_decode(void *entry, struct p2pdma_path *path)
{
	unsigned long v = xa_to_value(entry);

	path->map = v & 3;
	path->distance = path->map == PCI_P2PDMA_MAP_NOT_SUPPORTED ? -1 : v >> 2;
	path->reason = NULL;
	path->where = NULL;
}

/**
 * p2pdma_path_cached - map type and distance from a provider to a client
 * @p2p: provider state
 * @client: PCI function doing the DMA
 * @distance: if not NULL, set to the distance (-1 when not supported)
 *
 * The answer is computed once per provider/client pair and kept in
 * @p2p->paths.  Does not sleep.
 *
 * Return: the map type.
 */
enum pci_p2pdma_map_type p2pdma_path_cached(struct pci_p2pdma *p2p,
					    struct pci_dev *client,
					    int *distance)
{
	unsigned long key = p2pdma_client_key(client);
	struct p2pdma_path path;
	void *entry;

	entry = xa_load(&p2p->paths, key);
	if (entry) {
		p2pdma_path_decode(entry, &path);
	} else {
		p2pdma_path_calc_rc(p2p->pdev, client, p2p->rc_routes, &path);
		/* Best effort: a failed store only means computing it again. */
		xa_store(&p2p->paths, key, p2pdma_path_encode(&path), GFP_ATOMIC);
	}
	if (distance)
		*distance = path.distance;
	return path.map;
}

/**
 * p2pdma_path_forget - drop a client from a provider's path cache
 * @p2p: provider state
 * @client: a PCI function going away
 *
 * The cache is keyed by address: a device that later appears at the same
 * address must get its own answer.
 */
void p2pdma_path_forget(struct pci_p2pdma *p2p, struct pci_dev *client)
{
	xa_erase(&p2p->paths, p2pdma_client_key(client));
}

/**
 * p2pdma_for_each_cached_path - call a function for each cached verdict
 * @p2p: provider state
 * @fn: called with the client's PCI name and the cached path (no reason)
 * @arg: passed to @fn
 *
 * For statistics: entries added or removed during the walk may be missed.
 */
void p2pdma_for_each_cached_path(struct pci_p2pdma *p2p,
				 void (*fn)(const char *client,
					    const struct p2pdma_path *path,
					    void *arg),
				 void *arg)
{
	struct p2pdma_path path;
	unsigned long key;
	char name[16];
	void *entry;

	xa_for_each(&p2p->paths, key, entry) {
		p2pdma_client_key_name(key, name, sizeof(name));
		p2pdma_path_decode(entry, &path);
		fn(name, &path, arg);
	}
}

/**
 * p2pdma_map_name - printable name of a map type
 * @map: the map type
 *
 * Return: a short constant string.
 */
const char *p2pdma_map_name(enum pci_p2pdma_map_type map)
{
	switch (map) {
	case PCI_P2PDMA_MAP_BUS_ADDR:
		return "bus-address";
	case PCI_P2PDMA_MAP_THRU_HOST_BRIDGE:
		return "through-host-bridge";
	case PCI_P2PDMA_MAP_NOT_SUPPORTED:
		return "not-supported";
	default:
		return "unknown";
	}
}

#ifdef CONFIG_PCI_P2PDMA_KUNIT_TEST
#include "topology-test.h"
#endif
