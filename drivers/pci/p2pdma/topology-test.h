/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for the PCI P2PDMA topology rules, included at the end of
 * topology.c; the provider-choice cases also run client.c on the same
 * synthetic hierarchies.
 *
 * Each test builds a synthetic PCI hierarchy from a table: host bridges,
 * root ports, switch ports and endpoints become real struct pci_bus and
 * struct pci_dev objects wired together the way the PCI core would, with
 * configuration reads served from the table (so ACS control bits can be set
 * per port).  Nothing is registered with the driver core, so the tests
 * neither need nor disturb real hardware; the providers they publish are
 * offered to their own made-up clients only, which one case checks by
 * asking for providers for the real PCI functions there are.
 */
#ifndef _DRIVERS_PCI_P2PDMA_TOPOLOGY_TEST_H
#define _DRIVERS_PCI_P2PDMA_TOPOLOGY_TEST_H

#include <kunit/test.h>
#include <linux/device.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#define FAKE_HOST	0xff	/* table type of a host bridge and its root bus */
#define FAKE_CONV	0xfe	/* table type of a conventional PCI device */
#define FAKE_ACS_CAP	0x100

/**
 * struct fake_node - one row of a synthetic hierarchy
 * @name: device name, also how children refer to it
 * @parent: host bridge or bridge this device sits below
 * @type: FAKE_HOST, FAKE_CONV, or the PCIe port type (PCI_EXP_TYPE_*)
 * @devfn: device and function number on the parent's bus
 * @vendor: vendor ID (of the host bridge function for FAKE_HOST)
 * @device: device ID
 * @acs_ctrl: value of the ACS control register
 * @domain: PCI domain, for FAKE_HOST rows
 */
struct fake_node {
	const char *name;
	const char *parent;
	u8 type;
	u8 devfn;
	u16 vendor;
	u16 device;
	u16 acs_ctrl;
	u16 domain;
};

struct fake_dev {
	struct pci_dev pdev;
	u16 acs_ctrl;
};

struct fake_topo {
	struct kunit *test;
	const struct fake_node *nodes;
	struct fake_dev **devs;
	int n;
	int next_bus;
};

/*
 * What happens "meanwhile": called once, right after the ACS control of
 * fake_meanwhile_dev has been read, under the PCI config lock (so it must
 * not sleep).  Set by fake_meanwhile().
 */
static struct pci_dev *fake_meanwhile_dev;
static void (*fake_meanwhile_fn)(struct kunit *test);
static struct kunit *fake_meanwhile_test;

static void fake_meanwhile(struct kunit *test, struct pci_dev *pdev,
			   void (*fn)(struct kunit *test))
{
	fake_meanwhile_test = test;
	fake_meanwhile_fn = fn;
	WRITE_ONCE(fake_meanwhile_dev, pdev);
}

static int fake_cfg_read(struct pci_bus *bus, unsigned int devfn, int where,
			 int size, u32 *val)
{
	struct pci_dev *pdev;

	list_for_each_entry(pdev, &bus->devices, bus_list) {
		if (pdev->devfn != devfn)
			continue;
		*val = where == FAKE_ACS_CAP + PCI_ACS_CTRL ?
		       container_of(pdev, struct fake_dev, pdev)->acs_ctrl : 0;
		if (where == FAKE_ACS_CAP + PCI_ACS_CTRL &&
		    READ_ONCE(fake_meanwhile_dev) == pdev) {
			WRITE_ONCE(fake_meanwhile_dev, NULL);
			fake_meanwhile_fn(fake_meanwhile_test);
		}
		return PCIBIOS_SUCCESSFUL;
	}
	*val = ~0;
	return PCIBIOS_DEVICE_NOT_FOUND;
}

static int fake_cfg_write(struct pci_bus *bus, unsigned int devfn, int where,
			  int size, u32 val)
{
	return PCIBIOS_SET_FAILED;
}

static struct pci_ops fake_pci_ops = {
	.read = fake_cfg_read,
	.write = fake_cfg_write,
};

static struct pci_bus *fake_bus(struct fake_topo *t, struct pci_bus *parent,
				struct pci_dev *self)
{
	struct pci_bus *bus = kunit_kzalloc(t->test, sizeof(*bus), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, bus);
	INIT_LIST_HEAD(&bus->devices);
	INIT_LIST_HEAD(&bus->children);
	bus->parent = parent;
	bus->self = self;
	bus->ops = &fake_pci_ops;
	bus->number = t->next_bus++;
	if (parent) {
		bus->sysdata = parent->sysdata;
		bus->bridge = &self->dev;
	}
	return bus;
}

static struct fake_dev *fake_find(struct fake_topo *t, const char *name)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->nodes[i].name, name))
			return t->devs[i];
	KUNIT_FAIL(t->test, "no device %s in the topology", name);
	return NULL;
}

static struct pci_bus *fake_host(struct fake_topo *t, const struct fake_node *nd)
{
	struct pci_host_bridge *host;
	struct pci_bus *bus;

	host = kunit_kzalloc(t->test, sizeof(*host), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, host);
	bus = fake_bus(t, NULL, NULL);
	bus->bridge = &host->dev;
	host->bus = bus;
#ifdef CONFIG_PCI_DOMAINS_GENERIC
	bus->domain_nr = nd->domain;
#elif defined(CONFIG_X86)
	{
		struct pci_sysdata *sd;

		sd = kunit_kzalloc(t->test, sizeof(*sd), GFP_KERNEL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, sd);
		sd->domain = nd->domain;
		bus->sysdata = sd;
	}
#endif
	return bus;
}

/* Parent bus of row @nd: the root bus of a host bridge or a bridge's secondary. */
static struct pci_bus *fake_parent_bus(struct fake_topo *t,
				       const struct fake_node *nd)
{
	struct fake_dev *parent = fake_find(t, nd->parent);

	KUNIT_ASSERT_NOT_NULL(t->test, parent);
	KUNIT_ASSERT_NOT_NULL(t->test, parent->pdev.subordinate);
	return parent->pdev.subordinate;
}

static struct fake_dev *fake_add(struct fake_topo *t, const struct fake_node *nd)
{
	struct fake_dev *fd = kunit_kzalloc(t->test, sizeof(*fd), GFP_KERNEL);
	struct pci_dev *pdev = &fd->pdev;
	bool bridge;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, fd);
	if (nd->type == FAKE_HOST) {
		/* The host bridge function 00.0 sits on the root bus it owns. */
		pdev->bus = fake_host(t, nd);
		pdev->devfn = PCI_DEVFN(0, 0);
	} else if (nd->type == FAKE_CONV) {
		/* No PCIe capability and no ACS: a device on a PCI/PCI-X bus. */
		pdev->bus = fake_parent_bus(t, nd);
		pdev->devfn = nd->devfn;
	} else {
		pdev->bus = fake_parent_bus(t, nd);
		pdev->devfn = nd->devfn;
		pdev->pcie_cap = 0x40;
		pdev->pcie_flags_reg = nd->type << 4;
		pdev->acs_cap = FAKE_ACS_CAP;
		fd->acs_ctrl = nd->acs_ctrl;
	}
	pdev->vendor = nd->vendor;
	pdev->device = nd->device;
	device_initialize(&pdev->dev);
	pdev->dev.bus = &pci_bus_type;
	pdev->dev.init_name = nd->name;
	/* As the PCI core marks a device it added: its verdicts are cached. */
	pci_dev_assign_added(pdev);
	list_add_tail(&pdev->bus_list, &pdev->bus->devices);

	bridge = nd->type == PCI_EXP_TYPE_ROOT_PORT ||
		 nd->type == PCI_EXP_TYPE_UPSTREAM ||
		 nd->type == PCI_EXP_TYPE_DOWNSTREAM ||
		 nd->type == PCI_EXP_TYPE_PCI_BRIDGE;
	if (nd->type == FAKE_HOST)
		pdev->subordinate = pdev->bus;
	else if (bridge)
		pdev->subordinate = fake_bus(t, pdev->bus, pdev);
	return fd;
}

/*
 * What a case made that outlives it unless p2pdma_test_exit() undoes it:
 * fake providers in the real registry, and the fake devices whose verdicts
 * real providers may have cached while a case looked for a provider.
 */
struct fake_providers {
	struct pci_p2pdma *p2p[4];
	int n;
	struct fake_topo *topos[4];
	int nr_topos;
	struct fake_topo *topo;	/* for fake_meanwhile() callbacks */
};

static void fake_track(struct kunit *test, struct fake_topo *t)
{
	struct fake_providers *fp = test->priv;

	KUNIT_ASSERT_LT(test, fp->nr_topos, (int)ARRAY_SIZE(fp->topos));
	fp->topos[fp->nr_topos++] = t;
}

static struct fake_topo *fake_build(struct kunit *test,
				    const struct fake_node *nodes)
{
	struct fake_topo *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	t->test = test;
	t->nodes = nodes;
	while (nodes[t->n].name)
		t->n++;
	t->devs = kunit_kcalloc(test, t->n, sizeof(*t->devs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->devs);
	for (i = 0; i < t->n; i++)
		t->devs[i] = fake_add(t, &nodes[i]);
	fake_track(test, t);
	return t;
}

static struct pci_dev *fake_pdev(struct fake_topo *t, const char *name)
{
	struct fake_dev *fd = fake_find(t, name);

	KUNIT_ASSERT_NOT_NULL(t->test, fd);
	return &fd->pdev;
}

#define HOST(n, dev, dom) \
	{ .name = n, .type = FAKE_HOST, .vendor = PCI_VENDOR_ID_INTEL, \
	  .device = dev, .domain = dom }
#define PORT(n, p, t, d, f, acs) \
	{ .name = n, .parent = p, .type = PCI_EXP_TYPE_##t, \
	  .devfn = PCI_DEVFN(d, f), .vendor = 0x1b36, .device = 0xc, .acs_ctrl = acs }
#define EP(n, p, d, f, acs) \
	{ .name = n, .parent = p, .type = PCI_EXP_TYPE_ENDPOINT, \
	  .devfn = PCI_DEVFN(d, f), .vendor = 0x1b36, .device = 0x10, .acs_ctrl = acs }
#define RCIEP(n, p, d, f) \
	{ .name = n, .parent = p, .type = PCI_EXP_TYPE_RC_END, \
	  .devfn = PCI_DEVFN(d, f), .vendor = 0x1b36, .device = 0x10 }

#define CONV(n, p, d, f) \
	{ .name = n, .parent = p, .type = FAKE_CONV, \
	  .devfn = PCI_DEVFN(d, f), .vendor = 0x1b36, .device = 0x10 }

#define Q35_HB		0x29c0	/* QEMU q35: not known to route P2P */
#define SNB_HB		0x3c00	/* Intel Sandy Bridge-EP: one host bridge */
#define HSX_HB		0x2f00	/* Intel Haswell-EP: one host bridge */
#define SKX_HB		0x2030	/* Intel Skylake-SP: across host bridges */
#define ICX_HB		0x09a2	/* Intel Ice Lake-SP: across host bridges */
#define ACS_RR		PCI_ACS_RR

/*
 * The project's default QEMU topology: a switch below root port rp0 with
 * nvme_a (two functions) and nvme_b on its downstream ports, and nvme_c on
 * another root port.  @hb picks the root complex, @dp1 and @rp0 the ACS
 * control of those ports.
 */
#define SWITCH_TOPO(hb, rp0_acs, dp1_acs) {				\
	HOST("hb", hb, 0),						\
	PORT("rp0", "hb", ROOT_PORT, 1, 0, rp0_acs),			\
	PORT("rp1", "hb", ROOT_PORT, 2, 0, 0),				\
	PORT("up", "rp0", UPSTREAM, 0, 0, 0),				\
	PORT("dp0", "up", DOWNSTREAM, 0, 0, 0),				\
	PORT("dp1", "up", DOWNSTREAM, 1, 0, dp1_acs),			\
	EP("nvme_a", "dp0", 0, 0, 0),					\
	EP("nvme_a1", "dp0", 0, 1, 0),					\
	EP("nvme_b", "dp1", 0, 0, 0),					\
	EP("nvme_c", "rp1", 0, 0, 0),					\
	{ } }

static const struct fake_node topo_q35[] = SWITCH_TOPO(Q35_HB, 0, 0);
static const struct fake_node topo_skx[] = SWITCH_TOPO(SKX_HB, 0, 0);
static const struct fake_node topo_acs_dp[] = SWITCH_TOPO(Q35_HB, 0, ACS_RR);
static const struct fake_node topo_acs_rp[] = SWITCH_TOPO(Q35_HB, ACS_RR, 0);
static const struct fake_node topo_snb[] = SWITCH_TOPO(SNB_HB, 0, 0);
static const struct fake_node topo_acs_dp_skx[] = SWITCH_TOPO(SKX_HB, 0, ACS_RR);

/*
 * Two levels of switches below rp0: x and y share the lower switch, z hangs
 * off the upper one; w sits on a second root port.  @acs_* set the ACS
 * control of the upper switch's downstream ports.
 */
#define TWO_LEVEL_TOPO(hb, acs_dp0, acs_dp1) {				\
	HOST("hb", hb, 0),						\
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),				\
	PORT("rp1", "hb", ROOT_PORT, 2, 0, 0),				\
	PORT("up0", "rp0", UPSTREAM, 0, 0, 0),				\
	PORT("dp0", "up0", DOWNSTREAM, 0, 0, acs_dp0),			\
	PORT("dp1", "up0", DOWNSTREAM, 1, 0, acs_dp1),			\
	PORT("up1", "dp0", UPSTREAM, 0, 0, 0),				\
	PORT("dp10", "up1", DOWNSTREAM, 0, 0, 0),			\
	PORT("dp11", "up1", DOWNSTREAM, 1, 0, 0),			\
	EP("x", "dp10", 0, 0, 0),					\
	EP("y", "dp11", 0, 0, 0),					\
	EP("z", "dp1", 0, 0, 0),					\
	EP("w", "rp1", 0, 0, 0),					\
	{ } }

static const struct fake_node topo_deep[] = TWO_LEVEL_TOPO(Q35_HB, 0, 0);
static const struct fake_node topo_deep_skx[] = TWO_LEVEL_TOPO(SKX_HB, 0, 0);
static const struct fake_node topo_deep_rr[] = TWO_LEVEL_TOPO(Q35_HB, ACS_RR, 0);
static const struct fake_node topo_deep_cr[] =
	TWO_LEVEL_TOPO(Q35_HB, 0, PCI_ACS_CR);
static const struct fake_node topo_deep_ec[] =
	TWO_LEVEL_TOPO(Q35_HB, 0, PCI_ACS_EC);
/* Source validation and translation blocking do not redirect P2P. */
static const struct fake_node topo_deep_sv_tb[] =
	TWO_LEVEL_TOPO(Q35_HB, PCI_ACS_SV | PCI_ACS_TB, PCI_ACS_SV);

/* A PCIe-to-PCI bridge below a root port, with two conventional devices. */
static const struct fake_node topo_conventional[] = {
	HOST("hb", HSX_HB, 0),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	PORT("rp1", "hb", ROOT_PORT, 2, 0, 0),
	PORT("pcib", "rp0", PCI_BRIDGE, 0, 0, 0),
	CONV("pci_a", "pcib", 1, 0),
	CONV("pci_b", "pcib", 2, 0),
	EP("nvme", "rp1", 0, 0, 0),
	{ } };

/* Functions of one device directly below a root port with ACS set. */
static const struct fake_node topo_mfd_rp_acs[] = {
	HOST("hb", Q35_HB, 0),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, ACS_RR),
	EP("fn0", "rp0", 0, 0, 0),
	EP("fn1", "rp0", 0, 1, 0),
	{ }
};

/* RCiEPs beside a root port, and a device in a second domain. */
static const struct fake_node topo_mixed_root[] = {
	HOST("hb", SKX_HB, 0),
	HOST("hb_q35", Q35_HB, 1),
	RCIEP("rc", "hb", 4, 0),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	EP("ep", "rp0", 0, 0, 0),
	PORT("rp9", "hb_q35", ROOT_PORT, 1, 0, 0),
	EP("far", "rp9", 0, 0, 0),
	{ }
};

static const struct fake_node topo_mfd_acs[] = {
	HOST("hb", Q35_HB, 0),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	EP("fn0", "rp0", 0, 0, 0),
	EP("fn1", "rp0", 0, 1, ACS_RR),
	{ }
};

static const struct fake_node topo_domains[] = {
	HOST("hb0", SKX_HB, 0),
	HOST("hb1", SKX_HB, 1),
	PORT("rp0", "hb0", ROOT_PORT, 1, 0, 0),
	PORT("rp1", "hb1", ROOT_PORT, 1, 0, 0),
	EP("ep0", "rp0", 0, 0, 0),
	EP("ep1", "rp1", 0, 0, 0),
	{ }
};

/* Two host bridges of one domain, as Linux sees two PCIe stacks. */
#define TWO_HOSTS_TOPO(hb0, hb1) {					\
	HOST("hb0", hb0, 0),						\
	HOST("hb1", hb1, 0),						\
	PORT("rp0", "hb0", ROOT_PORT, 1, 0, 0),				\
	PORT("rp1", "hb1", ROOT_PORT, 1, 0, 0),				\
	EP("ep0", "rp0", 0, 0, 0),					\
	EP("ep1", "rp1", 0, 0, 0),					\
	{ } }

static const struct fake_node topo_two_hosts[] = TWO_HOSTS_TOPO(SKX_HB, SKX_HB);
static const struct fake_node topo_two_hosts_icx[] =
	TWO_HOSTS_TOPO(ICX_HB, ICX_HB);
static const struct fake_node topo_two_hosts_snb[] =
	TWO_HOSTS_TOPO(SNB_HB, SNB_HB);
static const struct fake_node topo_two_hosts_hsx[] =
	TWO_HOSTS_TOPO(HSX_HB, HSX_HB);
static const struct fake_node topo_two_hosts_mixed[] =
	TWO_HOSTS_TOPO(SKX_HB, Q35_HB);

static const struct fake_node topo_mfd_acs_skx[] = {
	HOST("hb", SKX_HB, 0),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	EP("fn0", "rp0", 0, 0, 0),
	EP("fn1", "rp0", 0, 1, ACS_RR),
	{ }
};

static const struct fake_node topo_rciep_skx[] = {
	HOST("hb", SKX_HB, 0),
	RCIEP("rc_a", "hb", 4, 0),
	RCIEP("rc_b", "hb", 5, 0),
	RCIEP("rc_b1", "hb", 5, 1),
	{ }
};

static const struct fake_node topo_rciep_q35[] = {
	HOST("hb", Q35_HB, 0),
	RCIEP("rc_a", "hb", 4, 0),
	RCIEP("rc_b", "hb", 5, 0),
	RCIEP("rc_b1", "hb", 5, 1),
	{ }
};

/*
 * The expected verdicts are upstream 6.1's for every case, except where a
 * comment above the case says "upstream:"; none is stricter than upstream.
 * Distances through the root complex count the hops up to it from both
 * ends plus 2, where upstream counts the hops up to the last bridge: only
 * the ranking of providers depends on it.
 */
#define RC_REFUSED	"path crosses a root complex not known to route P2P"
#define HB_REFUSED \
	"path crosses host bridges the root complex does not route P2P between"
#define ACS_REFUSED	"ACS redirects P2P to a root complex not known to route it"
#define ACS_HINT	"; to keep it below the switch, boot with pci=disable_acs_redir="
#define BUS		PCI_P2PDMA_MAP_BUS_ADDR
#define HOSTBR		PCI_P2PDMA_MAP_THRU_HOST_BRIDGE
#define REFUSED		PCI_P2PDMA_MAP_NOT_SUPPORTED

struct path_case {
	const char *desc;
	const struct fake_node *topo;
	const char *provider;
	const char *client;
	enum pci_p2pdma_map_type map;
	int distance;
	const char *reason;
	const char *where;
};

static const struct path_case path_cases[] = {
	{ "switch siblings", topo_q35, "nvme_a", "nvme_b", BUS, 4 },
	{ "switch siblings, reversed", topo_q35, "nvme_b", "nvme_a", BUS, 4 },
	{ "device to itself", topo_q35, "nvme_a", "nvme_a", BUS, 0 },
	{ "functions of one device", topo_q35, "nvme_a", "nvme_a1", BUS, 2 },
	{ "function to sibling port", topo_q35, "nvme_a1", "nvme_b", BUS, 4 },
	{ "switch port memory to a device below it", topo_q35, "up", "nvme_b",
	  BUS, 2 },
	{ "root ports, q35 root complex", topo_q35, "nvme_a", "nvme_c",
	  REFUSED, -1, RC_REFUSED, "hb" },
	{ "root ports, allowed root complex", topo_skx, "nvme_a", "nvme_c",
	  HOSTBR, 8 },
	{ "switch pair, allowed root complex", topo_skx, "nvme_a", "nvme_b",
	  BUS, 4 },
	{ "ACS redirect on switch downstream port", topo_acs_dp, "nvme_a",
	  "nvme_b", REFUSED, -1, ACS_REFUSED, "dp1" },
	{ "ACS redirect on switch port, allowed root complex", topo_acs_dp_skx,
	  "nvme_a", "nvme_b", HOSTBR, 10 },
	{ "ACS redirect on root port above switch", topo_acs_rp, "nvme_a",
	  "nvme_b", BUS, 4 },
	{ "ACS redirect on a function", topo_mfd_acs, "fn0", "fn1",
	  REFUSED, -1, ACS_REFUSED, "fn1" },
	{ "ACS redirect on a function, allowed root complex", topo_mfd_acs_skx,
	  "fn0", "fn1", HOSTBR, 6 },
	{ "Skylake-SP: two PCI domains", topo_domains, "ep0", "ep1",
	  HOSTBR, 6 },
	{ "Skylake-SP: across host bridges", topo_two_hosts, "ep0", "ep1",
	  HOSTBR, 6 },
	{ "Ice Lake-SP: across host bridges", topo_two_hosts_icx, "ep1", "ep0",
	  HOSTBR, 6 },
	{ "Sandy Bridge-EP: one host bridge", topo_snb, "nvme_a", "nvme_c",
	  HOSTBR, 8 },
	{ "Sandy Bridge-EP: across host bridges", topo_two_hosts_snb, "ep0",
	  "ep1", REFUSED, -1, HB_REFUSED, "hb0" },
	{ "Haswell-EP: across host bridges", topo_two_hosts_hsx, "ep1", "ep0",
	  REFUSED, -1, HB_REFUSED, "hb1" },
	{ "host bridges: allowed provider, q35 client", topo_two_hosts_mixed,
	  "ep0", "ep1", REFUSED, -1, RC_REFUSED, "hb1" },
	{ "host bridges: q35 provider, allowed client", topo_two_hosts_mixed,
	  "ep1", "ep0", REFUSED, -1, RC_REFUSED, "hb1" },
	{ "RCiEPs, allowed root complex", topo_rciep_skx, "rc_a", "rc_b",
	  HOSTBR, 4 },
	{ "RCiEP to itself", topo_rciep_q35, "rc_b", "rc_b",
	  BUS, 0 },
	/* Through the root complex and its IOMMU, as upstream. */
	{ "functions of one RCiEP, allowed root complex", topo_rciep_skx,
	  "rc_b", "rc_b1", HOSTBR, 4 },
	{ "functions of one RCiEP, q35 root complex", topo_rciep_q35,
	  "rc_b1", "rc_b", REFUSED, -1, RC_REFUSED, "hb" },
	{ "RCiEPs, q35 root complex", topo_rciep_q35, "rc_a", "rc_b",
	  REFUSED, -1, RC_REFUSED, "hb" },
	{ "two-level switch: same lower switch", topo_deep, "x", "y", BUS, 4 },
	{ "two-level switch: lower to upper", topo_deep, "x", "z", BUS, 6 },
	{ "two-level switch: upper to lower", topo_deep, "z", "y", BUS, 6 },
	{ "two-level switch: to itself", topo_deep, "y", "y", BUS, 0 },
	{ "two-level switch: other root port, q35", topo_deep, "x", "w",
	  REFUSED, -1, RC_REFUSED, "hb" },
	{ "two-level switch: other root port, allowed", topo_deep_skx,
	  "x", "w", HOSTBR, 10 },
	{ "two-level switch: upper ports pass, allowed", topo_deep_skx,
	  "x", "z", BUS, 6 },
	{ "ACS RR above the lower switch, pair below it", topo_deep_rr,
	  "x", "y", BUS, 4 },
	{ "ACS RR above the lower switch, pair across it", topo_deep_rr,
	  "x", "z", REFUSED, -1, ACS_REFUSED, "dp0" },
	{ "ACS RR above the lower switch, reversed", topo_deep_rr,
	  "z", "x", REFUSED, -1, ACS_REFUSED, "dp0" },
	{ "ACS CR on a downstream port", topo_deep_cr, "x", "z",
	  REFUSED, -1, ACS_REFUSED, "dp1" },
	{ "ACS EC on a downstream port", topo_deep_ec, "z", "y",
	  REFUSED, -1, ACS_REFUSED, "dp1" },
	{ "ACS CR elsewhere does not matter", topo_deep_cr, "x", "y", BUS, 4 },
	{ "ACS SV and TB do not redirect", topo_deep_sv_tb, "x", "z", BUS, 6 },
	{ "conventional PCI bus", topo_conventional, "pci_a", "pci_b", BUS, 2 },
	{ "conventional PCI to PCIe, allowed", topo_conventional, "pci_a",
	  "nvme", HOSTBR, 7 },
	/*
	 * upstream: refused on q35, as it counts the ACS of the root port
	 * above; the requests stay inside the device, whose functions have
	 * no ACS redirect of their own here.
	 */
	{ "functions below a root port with ACS", topo_mfd_rp_acs, "fn0",
	  "fn1", BUS, 2 },
	{ "RCiEP to root port device, allowed", topo_mixed_root, "rc",
	  "ep", HOSTBR, 5 },
	{ "root port device to RCiEP, allowed", topo_mixed_root, "ep",
	  "rc", HOSTBR, 5 },
	{ "domains: q35 provider, allowed client", topo_mixed_root, "far",
	  "ep", REFUSED, -1, RC_REFUSED, "hb_q35" },
	{ "to itself in another domain", topo_mixed_root, "far", "far", BUS, 0 },
	{ "Haswell-EP root complex", topo_conventional, "nvme", "pci_b",
	  HOSTBR, 7 },
	{ "switch port memory to its other port's device", topo_q35, "dp0",
	  "nvme_b", BUS, 3 },
};

/* Make @pdev a provider, unpublished, undone by p2pdma_test_exit(). */
static struct pci_p2pdma *fake_register(struct kunit *test,
					struct pci_dev *pdev)
{
	struct fake_providers *fp = test->priv;
	struct pci_p2pdma *p2p;
	int err;

	KUNIT_ASSERT_LT(test, fp->n, (int)ARRAY_SIZE(fp->p2p));
	p2p = kunit_kzalloc(test, sizeof(*p2p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p2p);
	p2p->pdev = pdev;
	/* Whole, if empty: anyone may find it while it is published. */
	p2p->pool = p2pdma_pool_create(NUMA_NO_NODE);
	/* A provider of pages, which alone can be published. */
	p2p->has_pages = true;
	KUNIT_ASSERT_NOT_NULL(test, p2p->pool);
	err = p2pdma_stats_init(p2p);
	if (err)
		p2pdma_pool_destroy(p2p->pool);
	KUNIT_ASSERT_EQ(test, err, 0);
	xa_init_flags(&p2p->paths, XA_FLAGS_LOCK_IRQ);
	mutex_init(&p2p->publish_lock);
	INIT_LIST_HEAD(&p2p->published_node);
	INIT_LIST_HEAD(&p2p->watchers);
	KUNIT_ASSERT_EQ(test, p2pdma_register(p2p), 0);
	fp->p2p[fp->n++] = p2p;
	return p2p;
}

/* Make @pdev a published provider, undone by p2pdma_test_exit(). */
static void fake_publish(struct kunit *test, struct pci_dev *pdev)
{
	fake_register(test, pdev);
	pci_p2pmem_publish(pdev, true);
}

static void path_case_desc(const struct path_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(path, path_cases, path_case_desc);

static void p2pdma_test_path(struct kunit *test)
{
	const struct path_case *c = test->param_value;
	struct fake_topo *t = fake_build(test, c->topo);
	struct pci_dev *provider = fake_pdev(t, c->provider);
	struct pci_dev *client = fake_pdev(t, c->client);
	struct device *dev = &client->dev;
	struct p2pdma_path path;
	struct pci_p2pdma *p2p;

	/* On AMD Zen every root complex routes P2P: the table is for others. */
	if (p2pdma_cpu_routes_p2p() && c->reason && strcmp(c->reason, ACS_REFUSED) &&
	    strstr(c->reason, "root complex"))
		kunit_skip(test, "the CPU routes P2P through any root complex");

	p2pdma_path_calc(provider, client, &path);
	KUNIT_EXPECT_EQ(test, path.map, c->map);
	KUNIT_EXPECT_EQ(test, path.distance, c->distance);
	/* A mismatch must fail the case, not oops in strcmp(NULL, ...). */
	if (c->reason) {
		KUNIT_ASSERT_NOT_NULL(test, path.reason);
		KUNIT_EXPECT_STREQ(test, path.reason, c->reason);
	} else {
		KUNIT_EXPECT_NULL(test, path.reason);
	}
	if (c->where) {
		KUNIT_ASSERT_NOT_NULL(test, path.where);
		KUNIT_EXPECT_STREQ(test, pci_name(path.where), c->where);
	} else {
		KUNIT_EXPECT_NULL(test, path.where);
	}

	/*
	 * The exported API, against the table too: once the fake provider is
	 * registered (not published: no real caller may pick it), the first
	 * call works the path out and caches it, the second reads the cache.
	 */
	p2p = fake_register(test, provider);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance(provider, dev, false),
			c->distance);
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&p2p->paths,
					    p2pdma_client_key(client)));
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance(provider, dev, false),
			c->distance);
}

static void p2pdma_test_non_pci_client(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct device *clients[2] = { &fake_pdev(t, "nvme_b")->dev };
	struct device *plain;

	plain = root_device_register("p2pdma_kunit_plain");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, plain);
	clients[1] = plain;

	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance(a, plain, false), -1);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(a, clients, 1, false), 4);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(a, clients, 2, false), -1);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(a, clients, 0, false), -1);
	root_device_unregister(plain);
}

/*
 * What a stacked block device asks of each member before an I/O on p2pmem
 * goes to any of them (pci_p2pdma_page_out_of_reach()): members are
 * devices drivers made below PCI functions, as an NVMe namespace's disk
 * is; one with no PCI function behind it is left to its own driver.
 */
static void p2pdma_test_member_set(struct kunit *test)
{
	static const char * const fn[] = { "nvme_a1", "nvme_a", "nvme_b" };
	struct fake_topo *t = fake_build(test, topo_acs_dp);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct pci_p2pdma *p2p = fake_register(test, a);
	struct device *disk, *plain;
	int i;

	/* Not on the stack: a struct device is big. */
	disk = kunit_kcalloc(test, ARRAY_SIZE(fn), sizeof(*disk), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, disk);
	for (i = 0; i < ARRAY_SIZE(fn); i++)
		disk[i].parent = &fake_pdev(t, fn[i])->dev;
	KUNIT_EXPECT_FALSE(test, p2pdma_dev_out_of_reach(a, &disk[0]));
	KUNIT_EXPECT_FALSE(test, p2pdma_dev_out_of_reach(a, &disk[1]));
	/* dp1's ACS sends nvme_b's requests up to the root complex. */
	KUNIT_EXPECT_TRUE(test, p2pdma_dev_out_of_reach(a, &disk[2]));
	KUNIT_EXPECT_TRUE(test, p2pdma_dev_out_of_reach(a, &b->dev));

	/* Answered from the path cache, each pair worked out once. */
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&p2p->paths, p2pdma_client_key(b)));
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&p2p->paths,
					    p2pdma_client_key(fake_pdev(t, "nvme_a1"))));

	/* No PCI function behind it: its own driver's mapping decides. */
	plain = root_device_register("p2pdma_kunit_member");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, plain);
	KUNIT_EXPECT_FALSE(test, p2pdma_dev_out_of_reach(a, plain));
	root_device_unregister(plain);

	/* A provider on its way out: its users are being told already. */
	p2pdma_unregister(p2p);
	KUNIT_EXPECT_FALSE(test, p2pdma_dev_out_of_reach(a, &disk[2]));
	KUNIT_EXPECT_EQ(test, p2pdma_register(p2p), 0);
}

static void p2pdma_test_mixed_clients(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct device *clients[] = {
		&fake_pdev(t, "nvme_b")->dev,
		&fake_pdev(t, "nvme_a1")->dev,
		&fake_pdev(t, "nvme_c")->dev,
	};
	struct pci_dev *a = fake_pdev(t, "nvme_a");

	/* Sum over compatible clients; any refused client refuses the set. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(a, clients, 2, false), 6);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(a, clients, 3, false), -1);
}

static bool allowed(u16 vendor, u16 device, unsigned int *flags)
{
	return p2pdma_allowlist_find(vendor, device, flags);
}

static void p2pdma_test_host_bridge_allowlist(struct kunit *test)
{
	unsigned int flags;

	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x2030, &flags));
	KUNIT_EXPECT_EQ(test, flags, 0);
	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x09a2, &flags));
	KUNIT_EXPECT_EQ(test, flags, 0);
	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x3c01, &flags));
	KUNIT_EXPECT_EQ(test, flags, P2PDMA_SAME_HOST_BRIDGE);
	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x2f00, &flags));
	KUNIT_EXPECT_EQ(test, flags, P2PDMA_SAME_HOST_BRIDGE);
	/* 7.3's additions: accelerators, Google SoCs by vendor, Grace. */
	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x0b25, &flags));
	KUNIT_EXPECT_TRUE(test, allowed(0x8086, 0x4948, &flags));
	KUNIT_EXPECT_EQ(test, flags, 0);
	KUNIT_EXPECT_TRUE(test, allowed(0x1ae0, 0x0001, &flags));
	KUNIT_EXPECT_TRUE(test, allowed(0x1ae0, 0xfffe, &flags));
	KUNIT_EXPECT_TRUE(test, allowed(0x10de, 0x2f95, &flags));
	KUNIT_EXPECT_TRUE(test, allowed(0x10de, 0x2f98, &flags));
	KUNIT_EXPECT_FALSE(test, allowed(0x10de, 0x2f99, &flags));
	KUNIT_EXPECT_FALSE(test, allowed(0x8086, 0x29c0, &flags));
	KUNIT_EXPECT_FALSE(test, allowed(0x8086, 0x6f00, &flags));
	KUNIT_EXPECT_FALSE(test, allowed(0x1234, 0x2030, &flags));
	KUNIT_EXPECT_FALSE(test, allowed(0, 0, &flags));
}

/* The value of pci_p2pdma.host_bridges, as sysfs shows it. */
static const char *host_bridges_get(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	p2pdma_host_bridges_get(buf, NULL);
	return buf;
}

static void p2pdma_test_host_bridges_param(struct kunit *test)
{
	struct fake_topo *q35 = fake_build(test, topo_q35);
	struct fake_topo *two = fake_build(test, topo_two_hosts_mixed);
	struct pci_dev *a = fake_pdev(q35, "nvme_a");
	struct pci_dev *c = fake_pdev(q35, "nvme_c");
	struct fake_providers *fp = test->priv;
	struct p2pdma_path path;
	int distance;

	if (p2pdma_cpu_routes_p2p())
		kunit_skip(test, "the CPU routes P2P through any root complex");
	KUNIT_EXPECT_STREQ(test, host_bridges_get(test), "\n");
	fake_publish(test, a);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], c, &distance),
			PCI_P2PDMA_MAP_NOT_SUPPORTED);

	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("8086:29c0\n", NULL), 0);
	KUNIT_EXPECT_STREQ(test, host_bridges_get(test), "8086:29c0\n");
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
	KUNIT_EXPECT_EQ(test, path.distance, 8);
	/* The verdict cached under the old list is not used any more. */
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], c, &distance),
			PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
	KUNIT_EXPECT_EQ(test, distance, 8);
	/* And the new one reads back from the cache as it was stored. */
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], c, &distance),
			PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
	KUNIT_EXPECT_EQ(test, distance, 8);
	/* Skylake-SP and q35 now both route P2P, between host bridges too. */
	p2pdma_path_calc(fake_pdev(two, "ep0"), fake_pdev(two, "ep1"), &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);

	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("1b36:000c,8086:29C0:same",
						      NULL), 0);
	KUNIT_EXPECT_STREQ(test, host_bridges_get(test),
			   "1b36:000c,8086:29c0:same\n");
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);
	p2pdma_path_calc(fake_pdev(two, "ep0"), fake_pdev(two, "ep1"), &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_NOT_SUPPORTED);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, HB_REFUSED);

	/* Cleared: back to the table alone. */
	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("", NULL), 0);
	KUNIT_EXPECT_STREQ(test, host_bridges_get(test), "\n");
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], c, &distance),
			PCI_P2PDMA_MAP_NOT_SUPPORTED);
}

/*
 * The suite's made-up providers are in the real registry while it runs.
 * A real client must never be handed one, even where the rules let it
 * reach it: the device is freed when the case ends.
 */
static void p2pdma_test_real_clients_skip_fakes(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_rciep_skx);
	struct pci_dev *fake = fake_pdev(t, "rc_a"), *real = NULL, *found;
	struct device *client[1];
	int reachable = 0;

	fake_publish(test, fake);
	/* q35's host bridge routes P2P, to other host bridges too, now. */
	KUNIT_ASSERT_EQ(test, p2pdma_host_bridges_set("8086:29c0", NULL), 0);
	for_each_pci_dev(real) {
		if (pci_is_bridge(real))
			continue;
		if (pci_p2pdma_distance(fake, &real->dev, false) >= 0)
			reachable++;
		client[0] = &real->dev;
		found = pci_p2pmem_find_many(client, 1);
		KUNIT_EXPECT_PTR_NE_MSG(test, found, fake, "client %s",
					pci_name(real));
		pci_dev_put(found);
	}
	/* Else no real client could reach it: nothing was tested. */
	KUNIT_EXPECT_GT(test, reachable, 0);
}

static void p2pdma_test_host_bridges_param_bad(struct kunit *test)
{
	static const char * const bad[] = {
		"8086", "8086:", ":29c0", "zzzz:29c0", "8086:29c0:sometimes",
		"8086:129c0", "0:29c0", "8086:29c0,,1b36:000c", "8086:29c0,",
		",8086:29c0", "8086:29c0:same:same", "-1:29c0",
		"1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9,a:a,b:b,c:c,d:d,e:e,f:f,10:10,11:11",
	};
	int i;

	KUNIT_ASSERT_EQ(test, p2pdma_host_bridges_set("8086:29c0", NULL), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, p2pdma_host_bridges_set(bad[i], NULL),
				    -EINVAL, "'%s'", bad[i]);
		/* A refused value changes nothing. */
		KUNIT_EXPECT_STREQ_MSG(test, host_bridges_get(test),
				       "8086:29c0\n", "after '%s'", bad[i]);
	}
}

static void p2pdma_test_enable_store(struct kunit *test)
{
	struct pci_dev *p2p_dev = ERR_PTR(-EFAULT);
	bool use = false;

	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("auto\n", &p2p_dev, &use), 0);
	KUNIT_EXPECT_TRUE(test, use);
	KUNIT_EXPECT_NULL(test, p2p_dev);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("off", &p2p_dev, &use), 0);
	KUNIT_EXPECT_FALSE(test, use);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("1\n", &p2p_dev, &use), 0);
	KUNIT_EXPECT_TRUE(test, use);

	/*
	 * Garbage, even garbage starting like a boolean, changes nothing and
	 * gets upstream's errno.
	 */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("0000:zz:00.0\n", &p2p_dev,
						      &use), -ENODEV);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("yesterday", &p2p_dev,
						      &use), -ENODEV);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("", &p2p_dev, &use),
			-ENODEV);
	KUNIT_EXPECT_TRUE(test, use);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("n\n", &p2p_dev, &use), 0);
	KUNIT_EXPECT_FALSE(test, use);
}

/* Every word upstream's kstrtobool() takes, in any case, means the same. */
static void p2pdma_test_enable_store_booleans(struct kunit *test)
{
	static const char * const on[] = {
		"Y", "yes", "YES\n", "t", "True", "On", "ON\n", "e", "Enable",
		"enabled",
	};
	static const char * const off[] = {
		"N", "no", "NO\n", "f", "False", "Off", "OFF\n", "d", "Disable",
		"disabled", "None",
	};
	struct pci_dev *p2p_dev;
	unsigned int i;
	bool use;

	for (i = 0; i < ARRAY_SIZE(on); i++) {
		use = false;
		KUNIT_EXPECT_EQ_MSG(test, pci_p2pdma_enable_store(on[i], &p2p_dev,
								  &use), 0,
				    "'%s'", on[i]);
		KUNIT_EXPECT_TRUE_MSG(test, use, "'%s'", on[i]);
	}
	for (i = 0; i < ARRAY_SIZE(off); i++) {
		use = true;
		KUNIT_EXPECT_EQ_MSG(test, pci_p2pdma_enable_store(off[i], &p2p_dev,
								  &use), 0,
				    "'%s'", off[i]);
		KUNIT_EXPECT_FALSE_MSG(test, use, "'%s'", off[i]);
	}
}

/* What upstream shows, byte for byte. */
static void p2pdma_test_enable_show(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	char *page = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_show(page, NULL, false), 2);
	KUNIT_EXPECT_STREQ(test, page, "0\n");
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_show(page, NULL, true), 2);
	KUNIT_EXPECT_STREQ(test, page, "1\n");
	pci_p2pdma_enable_show(page, fake_pdev(t, "nvme_a"), true);
	KUNIT_EXPECT_STREQ(test, page, "nvme_a\n");
	/* Upstream's callers may pass any buffer, not only a page. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_show(page + 1, NULL, true), 2);
	KUNIT_EXPECT_STREQ(test, page + 1, "1\n");
}

/*
 * A config read of all ones (a switch port gone, or in error recovery)
 * refuses the path for now, naming the port, and is not cached: once the
 * port reads again, the path works again.
 */
static void p2pdma_test_unreadable_not_cached(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct fake_dev *dp1 = fake_find(t, "dp1");
	struct fake_providers *fp = test->priv;
	struct p2pdma_path path;
	int distance;

	fake_publish(test, a);
	dp1->acs_ctrl = 0xffff;
	p2pdma_path_calc(a, b, &path);
	KUNIT_EXPECT_EQ(test, path.map, PCI_P2PDMA_MAP_NOT_SUPPORTED);
	KUNIT_EXPECT_PTR_EQ(test, path.where, &dp1->pdev);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], b, &distance),
			PCI_P2PDMA_MAP_NOT_SUPPORTED);

	dp1->acs_ctrl = 0;
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], b, &distance),
			PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_EQ(test, distance, 4);
}

static void p2pdma_test_refusal_text(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_acs_dp);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct p2pdma_path path;
	char text[256];

	p2pdma_path_calc(a, b, &path);
	p2pdma_refusal_text(text, sizeof(text), &b->dev, &path);
	KUNIT_EXPECT_STREQ(test, text,
			   "refused with nvme_b: " ACS_REFUSED " (at dp1)" ACS_HINT "dp1");

	t = fake_build(test, topo_q35);
	p2pdma_path_calc(fake_pdev(t, "nvme_a"), fake_pdev(t, "nvme_c"), &path);
	p2pdma_refusal_text(text, sizeof(text), &fake_pdev(t, "nvme_c")->dev,
			    &path);
	KUNIT_EXPECT_STREQ(test, text, "refused with nvme_c: " RC_REFUSED " (at hb)");

	p2pdma_refusal_text(text, sizeof(text), &b->dev, NULL);
	KUNIT_EXPECT_STREQ(test, text, "refused with nvme_b: not a PCI device");
}

/*
 * Provider selection.  The fake providers live in a PCI domain no real
 * machine has, so that the path caches of real providers (an NVMe CMB
 * published while the suite runs at boot) never hold a fake device's key.
 */
#define FAKE_DOMAIN	0x7ffe

static const struct fake_node topo_select[] = {
	HOST("hb", SKX_HB, FAKE_DOMAIN),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	PORT("rp1", "hb", ROOT_PORT, 2, 0, 0),
	PORT("up", "rp0", UPSTREAM, 0, 0, 0),
	PORT("dp0", "up", DOWNSTREAM, 0, 0, 0),
	PORT("dp1", "up", DOWNSTREAM, 1, 0, 0),
	PORT("dp2", "up", DOWNSTREAM, 2, 0, 0),
	PORT("dp3", "up", DOWNSTREAM, 3, 0, 0),
	EP("client1", "dp0", 0, 0, 0),
	EP("near1", "dp1", 0, 0, 0),
	EP("near2", "dp2", 0, 0, 0),
	EP("client2", "dp3", 0, 0, 0),
	EP("far", "rp1", 0, 0, 0),
	{ }
};

static const struct fake_node topo_lonely[] = {
	HOST("hb", Q35_HB, FAKE_DOMAIN + 1),
	PORT("rp0", "hb", ROOT_PORT, 1, 0, 0),
	EP("lonely", "rp0", 0, 0, 0),
	{ }
};

/* The administrator's pci_p2pdma.policy, put back by p2pdma_test_exit(). */
static enum p2pdma_policy p2pdma_test_saved_policy;

static int p2pdma_test_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct fake_providers),
				   GFP_KERNEL);
	p2pdma_test_saved_policy = READ_ONCE(p2pdma_global_policy);
	return test->priv ? 0 : -ENOMEM;
}

static void fake_forget_topos(struct pci_p2pdma *p2p, void *arg)
{
	struct fake_providers *fp = arg;
	int i, j;

	for (i = 0; i < fp->nr_topos; i++)
		for (j = 0; j < fp->topos[i]->n; j++)
			p2pdma_path_forget(p2p, &fp->topos[i]->devs[j]->pdev);
}

static void p2pdma_test_exit(struct kunit *test)
{
	struct fake_providers *fp = test->priv;

	/* The parameter cases leave no entry behind, whatever failed. */
	p2pdma_host_bridges_set("", NULL);
	WRITE_ONCE(p2pdma_global_policy, p2pdma_test_saved_policy);
	p2pdma_paths_outdated();
	WRITE_ONCE(fake_meanwhile_dev, NULL);

	while (fp->n--) {
		struct pci_p2pdma *p2p = fp->p2p[fp->n];

		pci_p2pmem_publish(p2p->pdev, false);
		p2pdma_unregister(p2p);
		synchronize_rcu();
		xa_destroy(&p2p->paths);
		p2pdma_stats_free(p2p);
		p2pdma_verdicts_free(p2p);
		p2pdma_pool_destroy(p2p->pool);
	}
	/* As if the fake devices were removed: real providers forget them. */
	p2pdma_for_each_published(fake_forget_topos, fp);
}

static void p2pdma_test_find_closest(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_select);
	struct pci_dev *near1 = fake_pdev(t, "near1");
	struct pci_dev *near2 = fake_pdev(t, "near2");
	struct device *clients[] = {
		&fake_pdev(t, "client1")->dev, &fake_pdev(t, "client2")->dev,
	};
	int seen1 = 0, seen2 = 0, i;
	struct pci_dev *found;

	KUNIT_EXPECT_NULL(test, pci_p2pmem_find_many(clients, 2));

	fake_publish(test, fake_pdev(t, "far"));
	fake_publish(test, near1);
	fake_publish(test, near2);

	/* Equal distances: both near providers take turns; far never wins. */
	for (i = 0; i < 6; i++) {
		found = pci_p2pmem_find_many(clients, 2);
		KUNIT_ASSERT_NOT_NULL(test, found);
		seen1 += found == near1;
		seen2 += found == near2;
		pci_dev_put(found);
	}
	KUNIT_EXPECT_EQ(test, seen1 + seen2, 6);
	KUNIT_EXPECT_GT(test, seen1, 0);
	KUNIT_EXPECT_GT(test, seen2, 0);

	/* Without the near ones, the allowed root complex path remains. */
	pci_p2pmem_publish(near1, false);
	pci_p2pmem_publish(near2, false);
	found = pci_p2pmem_find_many(clients, 2);
	KUNIT_EXPECT_PTR_EQ(test, found, fake_pdev(t, "far"));
	pci_dev_put(found);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_distance_many(fake_pdev(t, "far"),
						       clients, 2, false), 16);
}

/* What p2pdma_for_each_cached_path() reported, for the listing case. */
struct fake_listing {
	int entries;
	int stale;
	char client[P2PDMA_CLIENT_NAME_LEN];
};

static void fake_list_path(const char *client, const struct p2pdma_path *path,
			   bool stale, void *arg)
{
	struct fake_listing *l = arg;

	l->entries++;
	l->stale += stale;
	strscpy(l->client, client);
}

static struct fake_listing fake_list(struct pci_p2pdma *p2p)
{
	struct fake_listing l = { };

	p2pdma_for_each_cached_path(p2p, fake_list_path, &l);
	return l;
}

/*
 * The statistics list what the cache holds: a verdict of older rules as
 * stale, and a departed client not at all (tests/guest/ check that).
 */
static void p2pdma_test_cache_listing(struct kunit *test)
{
	struct fake_providers *fp = test->priv;
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	char name[P2PDMA_CLIENT_NAME_LEN];
	struct fake_listing l;

	/* As pci_name() prints a device the PCI core named. */
	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x",
		 pci_domain_nr(b->bus), b->bus->number, PCI_SLOT(b->devfn),
		 PCI_FUNC(b->devfn));
	fake_publish(test, fake_pdev(t, "nvme_a"));
	l = fake_list(fp->p2p[0]);
	KUNIT_EXPECT_EQ(test, l.entries, 0);

	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], b, NULL),
			PCI_P2PDMA_MAP_BUS_ADDR);
	l = fake_list(fp->p2p[0]);
	KUNIT_EXPECT_EQ(test, l.entries, 1);
	KUNIT_EXPECT_EQ(test, l.stale, 0);
	KUNIT_EXPECT_STREQ(test, l.client, name);

	p2pdma_paths_outdated();
	l = fake_list(fp->p2p[0]);
	KUNIT_EXPECT_EQ(test, l.entries, 1);
	KUNIT_EXPECT_EQ(test, l.stale, 1);

	p2pdma_path_forget(fp->p2p[0], b);
	l = fake_list(fp->p2p[0]);
	KUNIT_EXPECT_EQ(test, l.entries, 0);
}

/*
 * nvme_b is removed while a mapping works out the path from nvme_a to it,
 * just after its port's ACS control was read, and a device takes its place
 * behind a port that now redirects P2P: what the registry's bus notifier
 * does for a removed device, then the new device's state.
 */
static void fake_replace_nvme_b(struct kunit *test)
{
	struct fake_providers *fp = test->priv;
	struct fake_topo *t = fp->topo;

	p2pdma_path_forget(fp->p2p[0], fake_pdev(t, "nvme_b"));
	fake_find(t, "dp1")->acs_ctrl = ACS_RR;
}

static void p2pdma_test_cache_removal_during_calc(struct kunit *test)
{
	struct fake_providers *fp = test->priv;
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	int distance;

	fp->topo = t;
	fake_publish(test, fake_pdev(t, "nvme_a"));
	fake_meanwhile(test, fake_pdev(t, "dp1"), fake_replace_nvme_b);
	/* Worked out for the device that went away. */
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], b, &distance),
			PCI_P2PDMA_MAP_BUS_ADDR);
	KUNIT_EXPECT_NULL(test, READ_ONCE(fake_meanwhile_dev));
	/* The device now at its address gets its own answer. */
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(fp->p2p[0], b, &distance),
			PCI_P2PDMA_MAP_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, distance, -1);
}

static void p2pdma_test_find_holds_reference(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_select);
	struct pci_dev *near1 = fake_pdev(t, "near1");
	struct device *client = &fake_pdev(t, "client1")->dev;
	unsigned int refs;

	fake_publish(test, near1);
	refs = kref_read(&near1->dev.kobj.kref);
	KUNIT_ASSERT_PTR_EQ(test, pci_p2pmem_find(client), near1);
	KUNIT_EXPECT_EQ(test, kref_read(&near1->dev.kobj.kref), refs + 1);
	pci_dev_put(near1);
	KUNIT_EXPECT_EQ(test, kref_read(&near1->dev.kobj.kref), refs);
}

static void p2pdma_test_find_refuses_unreachable(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_select);
	struct fake_topo *other = fake_build(test, topo_lonely);
	struct device *clients[] = {
		&fake_pdev(t, "client1")->dev, &fake_pdev(other, "lonely")->dev,
	};
	struct pci_dev *found;

	fake_publish(test, fake_pdev(t, "near1"));
	fake_publish(test, fake_pdev(t, "far"));
	found = pci_p2pmem_find_many(clients, 1);
	KUNIT_EXPECT_PTR_EQ(test, found, fake_pdev(t, "near1"));
	/* Only what the find took: a miss must not drop the device's last. */
	pci_dev_put(found);
	/* A client no provider reaches (another domain) leaves none. */
	KUNIT_EXPECT_NULL(test, pci_p2pmem_find_many(clients, 2));
	KUNIT_EXPECT_NULL(test, pci_p2pmem_find_many(clients, 0));
}

/* debugfs names a cached path's client as pci_name() would, in full. */
static void p2pdma_test_client_key_name(struct kunit *test)
{
	static const struct {
		unsigned long domain;
		u8 bus, devfn;
		const char *name;
	} cases[] = {
		{ 0, 3, PCI_DEVFN(0, 0), "0000:03:00.0" },
		{ 0x10000, 0xe1, PCI_DEVFN(0x1f, 7), "10000:e1:1f.7" },
		{ 0xffffffff, 0xff, PCI_DEVFN(0x1f, 7), "ffffffff:ff:1f.7" },
	};
	char name[P2PDMA_CLIENT_NAME_LEN];
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p2pdma_client_key_name(cases[i].domain << 16 |
				       cases[i].bus << 8 | cases[i].devfn,
				       name, sizeof(name));
		KUNIT_EXPECT_STREQ(test, name, cases[i].name);
	}
}

/*
 * On the project's QEMU topology kernel: the real x3130 switch.  Of the
 * three NVMe functions two share the switch (bus address, 4 hops) and the
 * third, on its own root port of the q35 root complex, is refused.
 */
static void p2pdma_test_qemu_topology(struct kunit *test)
{
	struct pci_dev *nvme[3], *pdev = NULL;
	int n = 0, i, j, bus_pairs = 0, refused = 0;
	struct p2pdma_path path;

	/* Counted to the end: the other topologies have more NVMe. */
	while ((pdev = pci_get_class(PCI_CLASS_STORAGE_EXPRESS, pdev))) {
		if (n < 3)
			nvme[n] = pci_dev_get(pdev);
		n++;
	}
	if (n != 3) {
		for (i = 0; i < min(n, 3); i++)
			pci_dev_put(nvme[i]);
		kunit_skip(test, "needs the default QEMU P2PDMA topology (3 NVMe, not %d)",
			   n);
	}

	for (i = 0; i < 3; i++) {
		for (j = i + 1; j < 3; j++) {
			p2pdma_path_calc(nvme[i], nvme[j], &path);
			if (path.map == PCI_P2PDMA_MAP_BUS_ADDR &&
			    path.distance == 4)
				bus_pairs++;
			if (path.map == PCI_P2PDMA_MAP_NOT_SUPPORTED &&
			    path.reason && !strcmp(path.reason, RC_REFUSED))
				refused++;
		}
	}
	for (i = 0; i < 3; i++)
		pci_dev_put(nvme[i]);
	KUNIT_EXPECT_EQ(test, bus_pairs, 1);
	KUNIT_EXPECT_EQ(test, refused, 2);
}

/* What a provider's debugfs verdicts file shows, in @buf. */
static void verdicts_show(struct pci_p2pdma *p2p, char *buf, size_t size)
{
	struct seq_file m = { .buf = buf, .size = size };

	p2pdma_verdict_show(p2p, &m);
	buf[min(m.count, size - 1)] = '\0';
}

/* What debugfs does with a probe's finding. */
static int probe_record(struct pci_p2pdma *p2p, struct pci_dev *client,
			enum p2pdma_probe_dir dir,
			enum p2pdma_verdict_state state, const char *what)
{
	return p2pdma_verdict_record(p2p, client, dir, state, what,
				     p2pdma_path_turns_in_rc(p2p->pdev,
							     client));
}

/* A direction a probe failed refuses a path the rules allow, until reset. */
static void p2pdma_test_probe_verdicts(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *a1 = fake_pdev(t, "nvme_a1");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct pci_p2pdma *p2p = fake_register(test, a);
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	u8 state[P2PDMA_PROBE_DIRS];
	struct p2pdma_path path;
	char want[160], name[32];
	int distance;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, b, &distance), BUS);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, P2PDMA_PROBE_READS,
					   P2PDMA_VERIFIED, NULL), 0);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, P2PDMA_PROBE_WRITES,
					   P2PDMA_FAILED,
					   "stale data, 8 KiB at 3584"),
			0);
	p2pdma_paths_outdated();
	p2pdma_path_calc(a, b, &path);
	KUNIT_EXPECT_EQ(test, path.map, REFUSED);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_PROBE_FAILED_WRITES);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, b, &distance), REFUSED);
	KUNIT_EXPECT_EQ(test, distance, -1);
	/* Again, from the cache this time: refused, with no distance. */
	KUNIT_EXPECT_TRUE(test, p2pdma_entry_fresh(xa_load(&p2p->paths,
							   p2pdma_client_key(b)),
						   p2pdma_paths_gen_now()));
	distance = 0;
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, b, &distance), REFUSED);
	KUNIT_EXPECT_EQ(test, distance, -1);
	/* Only that client's path. */
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, a1, &distance), BUS);
	verdicts_show(p2p, buf, PAGE_SIZE);
	/* By address: a fake device's pci_name() is its table name. */
	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x",
		 pci_domain_nr(b->bus), b->bus->number, PCI_SLOT(b->devfn),
		 PCI_FUNC(b->devfn));
	snprintf(want, sizeof(want),
		 "%s client-writes failed stale data, 8 KiB at 3584\n"
		 "%s client-reads verified\n", name, name);
	KUNIT_EXPECT_STREQ(test, buf, want);

	/* New rules: what the probe found counts no more. */
	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("8086:29c0", NULL), 0);
	p2pdma_verdict_of(p2p, b, state);
	KUNIT_EXPECT_EQ(test, state[P2PDMA_PROBE_WRITES], P2PDMA_UNTESTED);
	KUNIT_EXPECT_EQ(test, state[P2PDMA_PROBE_READS], P2PDMA_UNTESTED);
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, b, &distance), BUS);
	verdicts_show(p2p, buf, PAGE_SIZE);
	KUNIT_EXPECT_STREQ(test, buf, "");

	/* Nor once root resets it. */
	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, P2PDMA_PROBE_READS,
					   P2PDMA_FAILED, "all ones"),
			0);
	p2pdma_paths_outdated();
	p2pdma_path_calc(a, b, &path);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_PROBE_FAILED_READS);
	p2pdma_verdict_forget(p2p, b);
	p2pdma_paths_outdated();
	KUNIT_EXPECT_EQ(test, p2pdma_path_cached(p2p, b, &distance), BUS);
}

/* Strict: a path through the root complex needs both directions verified. */
static void p2pdma_test_strict_policy(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct pci_dev *c = fake_pdev(t, "nvme_c");
	struct pci_p2pdma *p2p = fake_register(test, a);
	struct p2pdma_path path;

	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("8086:29c0", NULL), 0);
	KUNIT_EXPECT_EQ(test, p2pdma_verdict_set_policy(p2p,
							P2PDMA_POLICY_STRICT),
			0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, REFUSED);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_STRICT_UNVERIFIED);
	/* Below a switch, the rules alone still do. */
	p2pdma_path_calc(a, b, &path);
	KUNIT_EXPECT_EQ(test, path.map, BUS);

	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, P2PDMA_PROBE_WRITES,
					   P2PDMA_VERIFIED, NULL), 0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, REFUSED);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, P2PDMA_PROBE_READS,
					   P2PDMA_VERIFIED, NULL), 0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);

	/* The global policy, for a provider that inherits it. */
	p2pdma_verdict_forget(p2p, NULL);
	KUNIT_EXPECT_EQ(test, p2pdma_verdict_set_policy(p2p,
							P2PDMA_POLICY_INHERIT),
			0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);
	KUNIT_EXPECT_EQ(test, p2pdma_policy_set("strict\n", NULL), 0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_STRICT_UNVERIFIED);
	KUNIT_EXPECT_EQ(test, p2pdma_policy_set("inherit", NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, p2pdma_policy_set("lax", NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, p2pdma_policy_set("default", NULL), 0);
	p2pdma_path_calc(a, c, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);
}

#define WRITES	P2PDMA_PROBE_WRITES
#define READS	P2PDMA_PROBE_READS

/*
 * Devices an IOMMU maps the BAR for are unknown: their requests turn in the
 * provider's root complex, so its rule, the probes that went through it
 * and the strict policy decide.  A probe below the switch tried no root
 * complex, unless ACS sent it there.
 */
static void p2pdma_test_via_iommu(struct kunit *test)
{
	struct fake_topo *t = fake_build(test, topo_q35);
	struct fake_topo *acs = fake_build(test, topo_acs_dp);
	struct pci_dev *a = fake_pdev(t, "nvme_a");
	struct pci_dev *b = fake_pdev(t, "nvme_b");
	struct pci_dev *c = fake_pdev(t, "nvme_c");
	struct pci_p2pdma *p2p = fake_register(test, a);
	struct p2pdma_path path;

	KUNIT_EXPECT_FALSE(test, p2pdma_path_turns_in_rc(a, b));
	KUNIT_EXPECT_TRUE(test, p2pdma_path_turns_in_rc(a, c));
	KUNIT_EXPECT_TRUE(test, p2pdma_path_turns_in_rc(fake_pdev(acs, "nvme_a"),
							fake_pdev(acs, "nvme_b")));
	if (!p2pdma_cpu_routes_p2p()) {
		p2pdma_path_via_iommu(a, &path);
		KUNIT_EXPECT_EQ(test, path.map, REFUSED);
		KUNIT_EXPECT_PTR_EQ(test, path.where, fake_pdev(t, "hb"));
		KUNIT_ASSERT_NOT_NULL(test, path.reason);
		KUNIT_EXPECT_STREQ(test, path.reason, RC_REFUSED);
	}

	KUNIT_EXPECT_EQ(test, p2pdma_host_bridges_set("8086:29c0", NULL), 0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);
	/* nvme_a, dp0, up, rp0, and the turn in the root complex. */
	KUNIT_EXPECT_EQ(test, path.distance, 6);

	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, WRITES, P2PDMA_FAILED,
					   "stale data"), 0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, READS, P2PDMA_VERIFIED,
					   NULL), 0);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, WRITES, P2PDMA_FAILED,
					   "stale data"), 0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_EXPECT_EQ(test, path.map, REFUSED);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_PROBE_FAILED_WRITES);

	/* Strict: allowed once both directions are verified through it. */
	p2pdma_verdict_forget(p2p, NULL);
	KUNIT_EXPECT_EQ(test, p2pdma_verdict_set_policy(p2p,
							P2PDMA_POLICY_STRICT),
			0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_ASSERT_NOT_NULL(test, path.reason);
	KUNIT_EXPECT_STREQ(test, path.reason, P2PDMA_STRICT_UNVERIFIED);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, WRITES, P2PDMA_VERIFIED,
					   NULL), 0);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, b, READS, P2PDMA_VERIFIED,
					   NULL), 0);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, WRITES, P2PDMA_VERIFIED,
					   NULL), 0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_EXPECT_EQ(test, path.map, REFUSED);
	KUNIT_EXPECT_EQ(test, probe_record(p2p, c, READS, P2PDMA_VERIFIED,
					   NULL), 0);
	p2pdma_path_via_iommu(a, &path);
	KUNIT_EXPECT_EQ(test, path.map, HOSTBR);
	KUNIT_EXPECT_EQ(test, p2pdma_verdict_set_policy(p2p,
							P2PDMA_POLICY_INHERIT),
			0);
}

static int verdict_table_record(struct pci_p2pdma *p2p, struct pci_dev *client,
				enum p2pdma_probe_dir dir,
				enum p2pdma_verdict_state state)
{
	return probe_record(p2p, client, dir, state, "all ones");
}

/*
 * A provider keeps verdicts for P2PDMA_VERDICT_CLIENTS clients; those of
 * older rules give their place to new ones; a client removed while its
 * verdict is recorded takes it along.
 */
static void p2pdma_test_verdict_table(struct kunit *test)
{
	enum { N = P2PDMA_VERDICT_CLIENTS + 2 };
	static char names[N][8];
	struct fake_node *nodes = kunit_kcalloc(test, N + 2, sizeof(*nodes),
						GFP_KERNEL);
	struct pci_dev *c[N];
	u8 state[P2PDMA_PROBE_DIRS];
	struct pci_p2pdma *p2p;
	struct fake_topo *t;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, nodes);
	nodes[0] = (struct fake_node)HOST("hb", Q35_HB, 0);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "ep%d", i);
		nodes[i + 1] = (struct fake_node)RCIEP(names[i], "hb",
						       1 + i / 8, i % 8);
	}
	t = fake_build(test, nodes);
	for (i = 0; i < N; i++)
		c[i] = fake_pdev(t, names[i]);
	p2p = fake_register(test, c[0]);

	for (i = 1; i <= P2PDMA_VERDICT_CLIENTS; i++)
		KUNIT_EXPECT_EQ(test, verdict_table_record(p2p, c[i], WRITES,
							   P2PDMA_VERIFIED), 0);
	KUNIT_EXPECT_EQ(test, verdict_table_record(p2p, c[N - 1], WRITES,
						   P2PDMA_FAILED), -ENOSPC);
	/* New rules: the old verdicts count no more, and give way. */
	p2pdma_verdicts_outdated();
	KUNIT_EXPECT_EQ(test, verdict_table_record(p2p, c[N - 1], WRITES,
						   P2PDMA_FAILED), 0);
	p2pdma_verdict_of(p2p, c[N - 1], state);
	KUNIT_EXPECT_EQ(test, state[P2PDMA_PROBE_WRITES], P2PDMA_FAILED);
	p2pdma_verdict_of(p2p, c[2], state);
	KUNIT_EXPECT_EQ(test, state[P2PDMA_PROBE_WRITES], P2PDMA_UNTESTED);

	/* Recorded while the client goes: dropped, for its successor. */
	clear_bit(PCI_DEV_ADDED, &c[1]->priv_flags);
	KUNIT_EXPECT_EQ(test, verdict_table_record(p2p, c[1], READS,
						   P2PDMA_FAILED), 0);
	set_bit(PCI_DEV_ADDED, &c[1]->priv_flags);
	p2pdma_verdict_of(p2p, c[1], state);
	KUNIT_EXPECT_EQ(test, state[P2PDMA_PROBE_READS], P2PDMA_UNTESTED);
}

static struct kunit_case p2pdma_topology_cases[] = {
	KUNIT_CASE_PARAM(p2pdma_test_path, path_gen_params),
	KUNIT_CASE(p2pdma_test_non_pci_client),
	KUNIT_CASE(p2pdma_test_member_set),
	KUNIT_CASE(p2pdma_test_mixed_clients),
	KUNIT_CASE(p2pdma_test_host_bridge_allowlist),
	KUNIT_CASE(p2pdma_test_host_bridges_param),
	KUNIT_CASE(p2pdma_test_real_clients_skip_fakes),
	KUNIT_CASE(p2pdma_test_host_bridges_param_bad),
	KUNIT_CASE(p2pdma_test_enable_store),
	KUNIT_CASE(p2pdma_test_enable_store_booleans),
	KUNIT_CASE(p2pdma_test_enable_show),
	KUNIT_CASE(p2pdma_test_refusal_text),
	KUNIT_CASE(p2pdma_test_unreadable_not_cached),
	KUNIT_CASE(p2pdma_test_find_closest),
	KUNIT_CASE(p2pdma_test_find_holds_reference),
	KUNIT_CASE(p2pdma_test_find_refuses_unreachable),
	KUNIT_CASE(p2pdma_test_cache_listing),
	KUNIT_CASE(p2pdma_test_cache_removal_during_calc),
	KUNIT_CASE(p2pdma_test_client_key_name),
	KUNIT_CASE(p2pdma_test_qemu_topology),
	KUNIT_CASE(p2pdma_test_probe_verdicts),
	KUNIT_CASE(p2pdma_test_strict_policy),
	KUNIT_CASE(p2pdma_test_via_iommu),
	KUNIT_CASE(p2pdma_test_verdict_table),
	{ }
};

static struct kunit_suite p2pdma_topology_suite = {
	.name = "p2pdma_topology",
	.init = p2pdma_test_init,
	.exit = p2pdma_test_exit,
	.test_cases = p2pdma_topology_cases,
};

kunit_test_suite(p2pdma_topology_suite);

#endif /* _DRIVERS_PCI_P2PDMA_TOPOLOGY_TEST_H */
