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
 *  - paths through the root complex, when it is known to forward P2P
 *    traffic: by its host bridge (p2pdma_host_bridge_allowlist[]) or by the
 *    CPU (AMD Zen).  Some allowed root complexes route only between ports of
 *    one host bridge; others, which Linux sees as one host bridge per PCIe
 *    stack, route between host bridges too.
 *
 * ACS P2P Request Redirect, Completion Redirect or Egress Control on a
 * bridge or function of the switch path sends the requests up to the root
 * complex after all: such a path is mapped through the host bridge when the
 * root complex is allowed, and refused otherwise.
 *
 * The distance is the number of hops from each device up to where the paths
 * meet, summed; a path through the root complex counts the hops up to it
 * from both ends plus P2PDMA_ROOT_COMPLEX_HOPS, so that at equal depth a
 * provider behind the client's own switch always wins.
 *
 * Each provider caches its verdict per client (p2pdma_path_cached()), as
 * the DMA-mapping path asks for every mapping.  The cache is an xarray,
 * keyed by the client's PCI address (p2pdma_client_key()), whose entries
 * pack map type, distance and the generation of the rules they were worked
 * out under into a value; it is read without locks, inline (paths.h).
 */
#define pr_fmt(fmt) "p2pdma: " fmt

#include <linux/bitfield.h>
#include <linux/moduleparam.h>
#include <linux/pci-p2pdma.h>
#include <linux/spinlock.h>

#include "../pci.h"
#include "p2pdma.h"
#include "paths.h"

/* pci_p2pdma.host_bridges=, whatever the name of the object it is in. */
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "pci_p2pdma."

#define P2PDMA_ROOT_COMPLEX_HOPS	2

#define P2PDMA_RC_REFUSED "path crosses a root complex not known to route P2P"
#define P2PDMA_HB_REFUSED \
	"path crosses host bridges the root complex does not route P2P between"
#define P2PDMA_ACS_REFUSED \
	"ACS redirects P2P to a root complex not known to route it"
#define P2PDMA_UNREADABLE \
	"config space reads all ones (device gone or in error recovery), asked again next time"
#define P2PDMA_PROBE_FAILED_WRITES \
	"a probe saw the client's P2P writes go wrong (debugfs p2pdma verdicts)"
#define P2PDMA_PROBE_FAILED_READS \
	"a probe saw the client's P2P reads go wrong (debugfs p2pdma verdicts)"
#define P2PDMA_STRICT_UNVERIFIED \
	"strict policy: root complex path not verified by a probe (p2pdma-probe)"

/* The root complex routes P2P only between ports of one host bridge. */
#define P2PDMA_SAME_HOST_BRIDGE		BIT(0)

struct p2pdma_allowed_rc {
	u16 vendor;
	u16 device;
	unsigned int flags;
};

/*
 * Root complexes that forward P2P requests between their root ports, by the
 * vendor and device ID of the host bridge function: the first device on the
 * root bus, when it is 00.0 or a root port (Skylake-SP has no 00.0).  A
 * device ID of PCI_ANY_ID takes every device of the vendor.
 * Add an entry only with evidence from real transfers on that platform.
 * The table is upstream's as of 7.3.
 */
static const struct p2pdma_allowed_rc p2pdma_host_bridge_allowlist[] = {
	/* Intel Xeon E5 v1/v2, Core i7 (Sandy Bridge-EP, Ivy Bridge-EP) */
	{ PCI_VENDOR_ID_INTEL, 0x3c00, P2PDMA_SAME_HOST_BRIDGE },
	{ PCI_VENDOR_ID_INTEL, 0x3c01, P2PDMA_SAME_HOST_BRIDGE },
	/* Intel Xeon E5 v3, E7 v3 (Haswell-EP) */
	{ PCI_VENDOR_ID_INTEL, 0x2f00, P2PDMA_SAME_HOST_BRIDGE },
	{ PCI_VENDOR_ID_INTEL, 0x2f01, P2PDMA_SAME_HOST_BRIDGE },
	/* Intel Xeon Scalable (Skylake-SP, Cascade Lake): root ports */
	{ PCI_VENDOR_ID_INTEL, 0x2030, 0 },
	{ PCI_VENDOR_ID_INTEL, 0x2031, 0 },
	{ PCI_VENDOR_ID_INTEL, 0x2032, 0 },
	{ PCI_VENDOR_ID_INTEL, 0x2033, 0 },
	{ PCI_VENDOR_ID_INTEL, 0x2020, 0 },
	/* Intel Xeon Scalable 3rd generation (Ice Lake-SP) */
	{ PCI_VENDOR_ID_INTEL, 0x09a2, 0 },
	/*
	 * Intel accelerators alone on a root bus, whose root complex
	 * forwards their P2P: DSA, IAX/IAA, QAT.
	 */
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_DSA_SPR0, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_IAX_SPR0, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_DSA_GNRD, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_DSA_DMR, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_IAA_DMR, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_QAT_4XXX, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_QAT_401XX, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_QAT_402XX, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_QAT_420XX, 0 },
	{ PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_QAT_6XXX, 0 },
	/* Google SoCs, whichever the host bridge function */
	{ PCI_VENDOR_ID_GOOGLE, (u16)PCI_ANY_ID, 0 },
	/* NVIDIA CPUs (Grace) */
	{ PCI_VENDOR_ID_NVIDIA, 0x2f95, 0 },
	{ PCI_VENDOR_ID_NVIDIA, 0x2f96, 0 },
	{ PCI_VENDOR_ID_NVIDIA, 0x2f97, 0 },
	{ PCI_VENDOR_ID_NVIDIA, 0x2f98, 0 },
	{ }
};

/*
 * Root complexes the administrator vouches for, with the parameter
 * pci_p2pdma.host_bridges=VENDOR:DEVICE[:same],...: for platforms newer
 * than the table.  Setting it taints the kernel, as a wrong entry lets
 * devices DMA into the void.  Read from the DMA-mapping path, hence the
 * spinlock and the fixed size.
 */
#define P2PDMA_USER_ALLOWLIST_MAX	16

static DEFINE_SPINLOCK(p2pdma_user_allowlist_lock);
static struct p2pdma_allowed_rc p2pdma_user_allowlist[P2PDMA_USER_ALLOWLIST_MAX];
static unsigned int p2pdma_user_allowlist_len;	/* under the lock */

static const struct p2pdma_allowed_rc *
p2pdma_allowlist_lookup(const struct p2pdma_allowed_rc *list, unsigned int n,
			u16 vendor, u16 device)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i].vendor == vendor &&
		    (list[i].device == device || list[i].device == (u16)PCI_ANY_ID))
			return &list[i];
	return NULL;
}

/* The flags of an allowed root complex in @*flags; false if not allowed. */
static bool p2pdma_allowlist_find(u16 vendor, u16 device, unsigned int *flags)
{
	const struct p2pdma_allowed_rc *rc;
	unsigned long irqflags;

	rc = p2pdma_allowlist_lookup(p2pdma_host_bridge_allowlist,
				     ARRAY_SIZE(p2pdma_host_bridge_allowlist) - 1,
				     vendor, device);
	if (rc) {
		*flags = rc->flags;
		return true;
	}
	spin_lock_irqsave(&p2pdma_user_allowlist_lock, irqflags);
	rc = p2pdma_allowlist_lookup(p2pdma_user_allowlist,
				     p2pdma_user_allowlist_len, vendor, device);
	if (rc)
		*flags = rc->flags;
	spin_unlock_irqrestore(&p2pdma_user_allowlist_lock, irqflags);
	return rc;
}

/* Parse one "VENDOR:DEVICE[:same]" entry, in hex. */
static int p2pdma_parse_allowed_rc(const char *entry,
				   struct p2pdma_allowed_rc *rc)
{
	char copy[24], *rest = copy, *vendor, *device;

	if (strscpy(copy, entry, sizeof(copy)) < 0)
		return -EINVAL;
	vendor = strsep(&rest, ":");
	device = strsep(&rest, ":");
	if (!device || kstrtou16(vendor, 16, &rc->vendor) ||
	    kstrtou16(device, 16, &rc->device) || !rc->vendor)
		return -EINVAL;
	if (rest && strcmp(rest, "same"))
		return -EINVAL;
	rc->flags = rest ? P2PDMA_SAME_HOST_BRIDGE : 0;
	return 0;
}

static int p2pdma_host_bridges_set(const char *val,
				   const struct kernel_param *kp)
{
	struct p2pdma_allowed_rc list[P2PDMA_USER_ALLOWLIST_MAX];
	char buf[256], *rest, *entry;
	unsigned int n = 0, i;
	unsigned long flags;

	if (strscpy(buf, val, sizeof(buf)) < 0) {
		pr_err("pci_p2pdma.host_bridges: longer than %zu bytes, ignored\n",
		       sizeof(buf) - 1);
		return -EINVAL;
	}
	rest = strim(buf);
	/* An empty value clears the list. */
	if (!*rest)
		rest = NULL;
	while ((entry = strsep(&rest, ","))) {
		if (!*entry) {
			pr_err("pci_p2pdma.host_bridges: empty entry, ignored\n");
			return -EINVAL;
		}
		if (n == ARRAY_SIZE(list)) {
			pr_err("pci_p2pdma.host_bridges: more than %zu entries, ignored\n",
			       ARRAY_SIZE(list));
			return -EINVAL;
		}
		if (p2pdma_parse_allowed_rc(entry, &list[n])) {
			pr_err("pci_p2pdma.host_bridges: '%s' is not VENDOR:DEVICE or VENDOR:DEVICE:same in hex, ignored\n",
			       entry);
			return -EINVAL;
		}
		n++;
	}

	spin_lock_irqsave(&p2pdma_user_allowlist_lock, flags);
	memcpy(p2pdma_user_allowlist, list, n * sizeof(list[0]));
	p2pdma_user_allowlist_len = n;
	spin_unlock_irqrestore(&p2pdma_user_allowlist_lock, flags);

	for (i = 0; i < n; i++)
		pr_warn("host bridge %04x:%04x allowed to route P2P%s by the administrator\n",
			list[i].vendor, list[i].device,
			list[i].flags ? " within one host bridge" : "");
	/* Verdicts cached with the old list are wrong now, probes' too. */
	p2pdma_verdicts_outdated();
	p2pdma_paths_outdated();
	return 0;
}

static int p2pdma_host_bridges_get(char *buffer, const struct kernel_param *kp)
{
	unsigned long flags;
	unsigned int i;
	int len = 0;

	spin_lock_irqsave(&p2pdma_user_allowlist_lock, flags);
	for (i = 0; i < p2pdma_user_allowlist_len; i++)
		len += scnprintf(buffer + len, PAGE_SIZE - len, "%s%04x:%04x%s",
				 i ? "," : "", p2pdma_user_allowlist[i].vendor,
				 p2pdma_user_allowlist[i].device,
				 p2pdma_user_allowlist[i].flags ? ":same" : "");
	spin_unlock_irqrestore(&p2pdma_user_allowlist_lock, flags);
	return len + scnprintf(buffer + len, PAGE_SIZE - len, "\n");
}

static const struct kernel_param_ops p2pdma_host_bridges_ops = {
	.set = p2pdma_host_bridges_set,
	.get = p2pdma_host_bridges_get,
};
module_param_cb_unsafe(host_bridges, &p2pdma_host_bridges_ops, NULL, 0644);
MODULE_PARM_DESC(host_bridges,
		 "more root complexes that route P2P: VENDOR:DEVICE[:same],... (taints the kernel)");

/* pci_p2pdma.policy=: what a provider without a policy of its own uses. */
static enum p2pdma_policy p2pdma_global_policy = P2PDMA_POLICY_DEFAULT;

static const char * const p2pdma_policy_names[] = {
	[P2PDMA_POLICY_INHERIT] = "inherit",
	[P2PDMA_POLICY_DEFAULT] = "default",
	[P2PDMA_POLICY_STRICT] = "strict",
};

/**
 * p2pdma_policy_parse - a policy from its name
 * @buf: "default", "strict" or "inherit", with or without a newline
 *
 * Return: the policy, or -EINVAL.
 */
int p2pdma_policy_parse(const char *buf)
{
	return sysfs_match_string(p2pdma_policy_names, buf);
}

/**
 * p2pdma_policy_name - printable name of a policy
 * @policy: the policy
 *
 * Return: "inherit", "default" or "strict".
 */
const char *p2pdma_policy_name(enum p2pdma_policy policy)
{
	return p2pdma_policy_names[policy];
}

static int p2pdma_policy_set(const char *val, const struct kernel_param *kp)
{
	int policy = p2pdma_policy_parse(val);

	if (policy < 0 || policy == P2PDMA_POLICY_INHERIT)
		return -EINVAL;
	WRITE_ONCE(p2pdma_global_policy, policy);
	p2pdma_paths_outdated();
	return 0;
}

static int p2pdma_policy_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n",
			  p2pdma_policy_name(READ_ONCE(p2pdma_global_policy)));
}

static const struct kernel_param_ops p2pdma_policy_ops = {
	.set = p2pdma_policy_set,
	.get = p2pdma_policy_get,
};
module_param_cb(policy, &p2pdma_policy_ops, NULL, 0644);
MODULE_PARM_DESC(policy,
		 "default: the topology rules, minus paths a probe failed; strict: paths through a root complex also need a verified probe");

/*
 * AMD root complexes from Zen (family 17h) on route P2P, between host
 * bridges too: a property of the CPU, so no host bridge table is needed.
 */
static bool p2pdma_cpu_routes_p2p(void)
{
#ifdef CONFIG_X86
	return boot_cpu_data.x86_vendor == X86_VENDOR_AMD &&
	       boot_cpu_data.x86 >= 0x17;
#else
	return false;
#endif
}

/*
 * The function that identifies a host bridge's root complex: the first
 * device on its root bus, if that is 00.0 or a root port.  Found without
 * pci_bus_sem, so that the DMA-mapping path can ask: the caller holds a
 * device below @host, which keeps the root bus and its first device.
 */
static struct pci_dev *p2pdma_host_bridge_dev(struct pci_host_bridge *host)
{
	struct pci_dev *first;

	first = list_first_entry_or_null(&host->bus->devices, struct pci_dev,
					 bus_list);
	if (first && (first->devfn == PCI_DEVFN(0, 0) ||
		      pci_pcie_type(first) == PCI_EXP_TYPE_ROOT_PORT))
		return first;
	return NULL;
}

/*
 * Does the root complex of @host route P2P, for a path that leaves @host
 * (@across) or stays on it.  Sets *@hb to the host bridge function.
 */
static bool p2pdma_host_bridge_routes(struct pci_host_bridge *host,
				      bool across, struct pci_dev **hb)
{
	unsigned int flags;

	*hb = p2pdma_host_bridge_dev(host);
	if (!*hb || !p2pdma_allowlist_find((*hb)->vendor, (*hb)->device, &flags))
		return false;
	return !(across && (flags & P2PDMA_SAME_HOST_BRIDGE));
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

/*
 * Whether @pdev's ACS sends P2P requests up to the root complex.  A read
 * of all ones (the device is gone, or in error recovery) says nothing:
 * note the device, so that the path is refused for now, not for good,
 * and without the ACS hint of a refusal.
 */
static bool p2pdma_acs_redirects(struct pci_dev *pdev, struct p2pdma_path *path)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	if (PCI_POSSIBLE_ERROR(ctrl)) {
		path->unreadable = pdev;
		return false;
	}
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

/* Remember a device whose ACS redirects, for the refusal's hint. */
static void p2pdma_note_acs(struct p2pdma_path *path, struct pci_dev *pdev)
{
	if (path->nr_acs < ARRAY_SIZE(path->acs))
		path->acs[path->nr_acs] = pdev;
	path->nr_acs++;
}

/* Note every device from @pdev up to (not including) @top that redirects. */
static void p2pdma_acs_on_path(struct p2pdma_path *path, struct pci_dev *pdev,
			       struct pci_dev *top)
{
	for (; pdev && pdev != top; pdev = pci_upstream_bridge(pdev))
		if (p2pdma_acs_redirects(pdev, path))
			p2pdma_note_acs(path, pdev);
}

/*
 * Requests from @a to @b go up to the root complex: allow the path if the
 * root complex routes them.  @acs says ACS sent them there (the devices
 * share a switch or a multi-function device, so one host bridge).
 */
static void p2pdma_path_root_complex(struct pci_dev *a, struct pci_dev *b,
				     bool acs, struct p2pdma_path *path)
{
	struct pci_host_bridge *host_a = pci_find_host_bridge(a->bus);
	struct pci_host_bridge *host_b = pci_find_host_bridge(b->bus);
	bool across = host_a != host_b;
	struct pci_dev *hb_a, *hb_b = NULL, *bad;
	bool ok_a, ok_b = true;
	unsigned int flags;

	path->via_rc = true;
	ok_a = p2pdma_host_bridge_routes(host_a, across, &hb_a);
	if (across)
		ok_b = p2pdma_host_bridge_routes(host_b, true, &hb_b);

	if ((ok_a && ok_b) || p2pdma_cpu_routes_p2p()) {
		/* The traffic turns around in the root complex: count it. */
		p2pdma_allow(path, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
			     p2pdma_hops_to_root(a) + p2pdma_hops_to_root(b) +
			     P2PDMA_ROOT_COMPLEX_HOPS);
		return;
	}
	if (acs)
		return p2pdma_refuse(path, P2PDMA_ACS_REFUSED, path->acs[0]);
	bad = ok_a ? hb_b : hb_a;
	/* An allowed root complex, but one that stays within a host bridge. */
	if (across && bad &&
	    p2pdma_allowlist_find(bad->vendor, bad->device, &flags))
		return p2pdma_refuse(path, P2PDMA_HB_REFUSED, bad);
	p2pdma_refuse(path, P2PDMA_RC_REFUSED, bad);
}

static void p2pdma_path_decide(struct pci_dev *provider,
			       struct pci_dev *client, struct p2pdma_path *path)
{
	struct pci_dev *top;
	int dist;

	if (provider == client)
		return p2pdma_allow(path, PCI_P2PDMA_MAP_BUS_ADDR, 0);

	/*
	 * Below a bridge, two functions on one bus are either one PCIe device
	 * (a link has one device, ARI or not) or share a conventional bus: no
	 * bridge is crossed.  Functions of a multi-function device obey their
	 * own ACS controls.  On a root bus, even the functions of one RCiEP
	 * are the root complex's: their requests go through it and its IOMMU,
	 * which would take a bus address for an IOVA.  So they take its rule.
	 */
	if (provider->bus == client->bus && !pci_is_root_bus(provider->bus)) {
		top = provider->bus->self;
		dist = 2;
	} else {
		top = p2pdma_common_bridge(provider, client, &dist);
		if (!top || pci_pcie_type(top) == PCI_EXP_TYPE_ROOT_PORT)
			return p2pdma_path_root_complex(provider, client, false,
							path);
		if (pci_pcie_type(top) == PCI_EXP_TYPE_DOWNSTREAM &&
		    p2pdma_acs_redirects(top, path))
			p2pdma_note_acs(path, top);
	}

	p2pdma_acs_on_path(path, provider, top);
	p2pdma_acs_on_path(path, client, top);
	if (path->nr_acs)
		return p2pdma_path_root_complex(provider, client, true, path);
	p2pdma_allow(path, PCI_P2PDMA_MAP_BUS_ADDR, dist);
}

/*
 * A path the rules allow, against what probes found on it (verdict.c): a
 * direction that failed refuses it, and under the strict policy a path
 * through a root complex needs both directions verified.  A NULL @client
 * stands for devices behind an IOMMU: the probes of the root complex
 * count.
 */
static void p2pdma_path_probed(struct pci_dev *provider,
			       struct pci_dev *client, struct p2pdma_path *path)
{
	enum p2pdma_policy policy = P2PDMA_POLICY_INHERIT;
	u8 state[P2PDMA_PROBE_DIRS] = {};
	struct pci_p2pdma *p2p;

	rcu_read_lock();
	p2p = p2pdma_of_rcu(provider);
	if (p2p) {
		if (client)
			p2pdma_verdict_of(p2p, client, state);
		else
			p2pdma_verdict_of_rc(p2p, state);
		policy = p2pdma_verdict_policy(p2p);
	}
	rcu_read_unlock();
	if (policy == P2PDMA_POLICY_INHERIT)
		policy = READ_ONCE(p2pdma_global_policy);

	if (state[P2PDMA_PROBE_WRITES] == P2PDMA_FAILED)
		return p2pdma_refuse(path, P2PDMA_PROBE_FAILED_WRITES, NULL);
	if (state[P2PDMA_PROBE_READS] == P2PDMA_FAILED)
		return p2pdma_refuse(path, P2PDMA_PROBE_FAILED_READS, NULL);
	if (policy == P2PDMA_POLICY_STRICT &&
	    path->map == PCI_P2PDMA_MAP_THRU_HOST_BRIDGE &&
	    (state[P2PDMA_PROBE_WRITES] != P2PDMA_VERIFIED ||
	     state[P2PDMA_PROBE_READS] != P2PDMA_VERIFIED))
		p2pdma_refuse(path, P2PDMA_STRICT_UNVERIFIED, NULL);
}

/**
 * p2pdma_path_via_iommu - the path of devices an IOMMU maps a BAR for
 * @provider: device whose BAR holds the memory
 * @path: filled in as by p2pdma_path_calc()
 *
 * For an importer that maps the BAR's CPU physical addresses into an IOMMU
 * domain, for devices it does not name (iommufd).  Their requests, being
 * translated, go up to the root complex whatever lies between, and back
 * down to the BAR: the provider's root complex must route P2P.  Devices
 * under other host bridges are unknown here, so only that one is asked.
 * What probes found on that root complex counts as for any client, and so
 * does the strict policy.  Does not sleep.
 */
void p2pdma_path_via_iommu(struct pci_dev *provider, struct p2pdma_path *path)
{
	struct pci_host_bridge *host = pci_find_host_bridge(provider->bus);
	struct pci_dev *hb;

	path->nr_acs = 0;
	path->unreadable = NULL;
	path->via_rc = true;
	if (!p2pdma_host_bridge_routes(host, false, &hb) &&
	    !p2pdma_cpu_routes_p2p())
		return p2pdma_refuse(path, P2PDMA_RC_REFUSED, hb);
	p2pdma_allow(path, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE,
		     p2pdma_hops_to_root(provider) + P2PDMA_ROOT_COMPLEX_HOPS);
	p2pdma_path_probed(provider, NULL, path);
}

/**
 * p2pdma_path_turns_in_rc - whether two functions' path goes through the
 *                           root complex
 * @provider: device whose BAR holds the memory
 * @client: device that DMAs to or from it
 *
 * By the topology rules alone, whether or not the root complex is known
 * to route P2P: a probe of such a path tries the root complex too.
 * Does not sleep.  The caller holds references to both devices.
 *
 * Return: true if requests between them turn around in the root complex.
 */
bool p2pdma_path_turns_in_rc(struct pci_dev *provider, struct pci_dev *client)
{
	struct p2pdma_path path = {};

	p2pdma_path_decide(provider, client, &path);
	return path.via_rc;
}

/**
 * p2pdma_path_calc - decide the path between two PCI functions
 * @provider: device whose BAR holds the memory
 * @client: device that DMAs to or from it
 * @path: filled in with the map type, distance, reason, the devices whose
 *        ACS settings redirect the path, and the one whose config space
 *        read all ones, if any: then the path is refused
 *
 * Does not sleep, so it can run from the DMA-mapping path.  The caller
 * holds references to both devices.
 */
void p2pdma_path_calc(struct pci_dev *provider, struct pci_dev *client,
		      struct p2pdma_path *path)
{
	path->nr_acs = 0;
	path->unreadable = NULL;
	path->via_rc = false;
	p2pdma_path_decide(provider, client, path);
	if (path->unreadable)
		p2pdma_refuse(path, P2PDMA_UNREADABLE, path->unreadable);
	else if (path->map != PCI_P2PDMA_MAP_NOT_SUPPORTED)
		p2pdma_path_probed(provider, client, path);
}

/*
 * The generation of the rules: bumped by whatever can change a verdict
 * already cached (the allowlist parameter; a device leaving, after which
 * another can appear at its address).  An entry stamped with an older one
 * is stale.  A verdict is stamped with the generation read before it was
 * worked out, so one computed across a change, and stored after the change
 * was made, is never used: that is what makes the cache safe without a lock
 * between the DMA-mapping path and removal.
 */
atomic_long_t p2pdma_paths_gen __read_mostly = ATOMIC_LONG_INIT(0);

/**
 * p2pdma_paths_outdated - make every cached verdict stale
 *
 * Call after a change that can alter a verdict has been made visible: a
 * lookup that sees the new generation also sees the change.  Any context.
 */
void p2pdma_paths_outdated(void)
{
	atomic_long_inc_return_release(&p2pdma_paths_gen);
}

static void *p2pdma_path_encode(const struct p2pdma_path *path,
				unsigned long gen)
{
	unsigned long v = FIELD_PREP(P2PDMA_ENTRY_MAP, path->map) |
			  FIELD_PREP(P2PDMA_ENTRY_GEN, gen);

	BUILD_BUG_ON(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE >
		     FIELD_MAX(P2PDMA_ENTRY_MAP));

	if (path->distance >= 0)
		v |= FIELD_PREP(P2PDMA_ENTRY_DISTANCE,
				min_t(int, path->distance,
				      FIELD_MAX(P2PDMA_ENTRY_DISTANCE)));
	return xa_mk_value(v);
}

/* Decode a cache entry; false if it is stale or absent. */
static bool p2pdma_path_decode(void *entry, unsigned long gen,
			       struct p2pdma_path *path)
{
	if (!entry)
		return false;
	path->map = p2pdma_entry_map(entry);
	path->distance = p2pdma_entry_distance(entry);
	path->reason = NULL;
	path->where = NULL;
	path->nr_acs = 0;
	path->unreadable = NULL;
	return p2pdma_entry_fresh(entry, gen);
}

/*
 * The cache is written from the DMA-mapping path, which may run in any
 * context, hence the interrupt-safe lock (the xarray is XA_FLAGS_LOCK_IRQ).
 * Best effort: a failed store only means computing the verdict again.
 */
static void p2pdma_paths_store(struct pci_p2pdma *p2p, unsigned long key,
			       void *entry)
{
	unsigned long flags;

	xa_lock_irqsave(&p2p->paths, flags);
	__xa_store(&p2p->paths, key, entry, GFP_ATOMIC);
	xa_unlock_irqrestore(&p2p->paths, flags);
}

/**
 * p2pdma_path_miss - work out a path p2pdma_path_cached() did not find
 * @p2p: provider state
 * @client: PCI function doing the DMA
 * @key: p2pdma_client_key() of @client
 * @gen: the generation of the rules read before the lookup
 * @distance: if not NULL, set to the distance (-1 when not supported)
 *
 * Out of line, and not only because a miss is rare: the p2pdma_path it
 * fills is large, and with stack variables initialised (as
 * INIT_STACK_ALL_ZERO does), a lookup that had one in its frame would
 * clear it on every mapping call.  Does not sleep.
 *
 * Return: the map type.
 */
noinline enum pci_p2pdma_map_type p2pdma_path_miss(struct pci_p2pdma *p2p,
						   struct pci_dev *client,
						   unsigned long key,
						   unsigned long gen,
						   int *distance)
{
	struct p2pdma_path path;

	p2pdma_path_calc(p2p->pdev, client, &path);
	/*
	 * Not for a device on its way out: a lookup that read the
	 * generation after its removal notice would store a verdict its
	 * successor at that address would inherit.  The flag is cleared
	 * before the notice, which the generation orders.  Nor one from a
	 * config read of all ones: the device may be back next time.
	 */
	if (pci_dev_is_added(client) && !path.unreadable)
		p2pdma_paths_store(p2p, key, p2pdma_path_encode(&path, gen));
	if (distance)
		*distance = path.distance;
	return path.map;
}

/**
 * p2pdma_path_forget - drop a client that has gone from a provider's cache
 * @p2p: provider state
 * @client: a PCI function removed from the system
 *
 * The cache is keyed by address: a device that later appears at the same
 * address must get its own answer, even if a verdict for @client was being
 * worked out while it went (hence a new generation, not just the erase).
 * Any context.
 */
void p2pdma_path_forget(struct pci_p2pdma *p2p, struct pci_dev *client)
{
	unsigned long flags;

	p2pdma_paths_outdated();
	xa_lock_irqsave(&p2p->paths, flags);
	__xa_erase(&p2p->paths, p2pdma_client_key(client));
	xa_unlock_irqrestore(&p2p->paths, flags);
}

/**
 * p2pdma_for_each_cached_path - call a function for each cached verdict
 * @p2p: provider state
 * @fn: called with the client's PCI name, the cached path (no reason), and
 *      whether the entry is stale: from an older generation of the rules,
 *      never used again, kept until a lookup replaces it or the client goes
 * @arg: passed to @fn
 *
 * For statistics and tests: entries added or removed during the walk may
 * be missed.
 */
void p2pdma_for_each_cached_path(struct pci_p2pdma *p2p,
				 void (*fn)(const char *client,
					    const struct p2pdma_path *path,
					    bool stale, void *arg),
				 void *arg)
{
	unsigned long gen = p2pdma_paths_gen_now();
	struct p2pdma_path path;
	char name[P2PDMA_CLIENT_NAME_LEN];
	unsigned long key;
	void *entry;
	bool fresh;

	xa_for_each(&p2p->paths, key, entry) {
		fresh = p2pdma_path_decode(entry, gen, &path);
		p2pdma_client_key_name(key, name, sizeof(name));
		fn(name, &path, !fresh, arg);
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
/**
 * p2pdma_host_bridges_test_set - set pci_p2pdma.host_bridges, as root would
 * @list: the parameter's new value ("" for none)
 *
 * For the KUnit suites of other files, that need a root complex vouched
 * for.  Return: 0, or -EINVAL for a list the parameter refuses.
 */
int p2pdma_host_bridges_test_set(const char *list)
{
	return p2pdma_host_bridges_set(list, NULL);
}

#include "topology-test.h"
#endif
