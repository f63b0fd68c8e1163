// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the PCI P2PDMA topology rules.
 *
 * Each test builds a synthetic PCI hierarchy from a table: host bridges,
 * root ports, switch ports and endpoints become real struct pci_bus and
 * struct pci_dev objects wired together the way the PCI core would, with
 * configuration reads served from the table (so ACS control bits can be set
 * per port).  Nothing is registered with the driver core, so the tests
 * neither need nor disturb real hardware.
 */
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/pci-p2pdma.h>
#include <linux/string.h>

#include "p2pdma.h"

#define FAKE_HOST	0xff	/* table type of a host bridge and its root bus */
#define FAKE_ACS_CAP	0x100

/**
 * struct fake_node - one row of a synthetic hierarchy
 * @name: device name, also how children refer to it
 * @parent: host bridge or bridge this device sits below
 * @type: FAKE_HOST, or the PCIe port type (PCI_EXP_TYPE_*)
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

static int fake_cfg_read(struct pci_bus *bus, unsigned int devfn, int where,
			 int size, u32 *val)
{
	struct pci_dev *pdev;

	list_for_each_entry(pdev, &bus->devices, bus_list) {
		if (pdev->devfn != devfn)
			continue;
		*val = where == FAKE_ACS_CAP + PCI_ACS_CTRL ?
		       container_of(pdev, struct fake_dev, pdev)->acs_ctrl : 0;
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

#define Q35_HB		0x29c0	/* QEMU q35: not known to route P2P */
#define SKX_HB		0x2030	/* Intel Skylake-SP: whitelisted */
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

static const struct fake_node topo_two_hosts[] = {
	HOST("hb0", SKX_HB, 0),
	HOST("hb1", SKX_HB, 0),
	PORT("rp0", "hb0", ROOT_PORT, 1, 0, 0),
	PORT("rp1", "hb1", ROOT_PORT, 1, 0, 0),
	EP("ep0", "rp0", 0, 0, 0),
	EP("ep1", "rp1", 0, 0, 0),
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
	{ }
};

#define RC_REFUSED	"path crosses a root complex not known to route P2P"
#define ACS_REFUSED	"ACS redirects P2P to the root complex"
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
	{ "root ports, q35 root complex", topo_q35, "nvme_a", "nvme_c",
	  REFUSED, -1, RC_REFUSED },
	{ "root ports, whitelisted root complex", topo_skx, "nvme_a", "nvme_c",
	  HOSTBR, 8 },
	{ "switch pair, whitelisted root complex", topo_skx, "nvme_a", "nvme_b",
	  BUS, 4 },
	{ "ACS redirect on switch downstream port", topo_acs_dp, "nvme_a",
	  "nvme_b", REFUSED, -1, ACS_REFUSED, "dp1" },
	{ "ACS redirect on root port above switch", topo_acs_rp, "nvme_a",
	  "nvme_b", BUS, 4 },
	{ "ACS redirect on a function", topo_mfd_acs, "fn0", "fn1",
	  REFUSED, -1, ACS_REFUSED, "fn1" },
	{ "different PCI domains", topo_domains, "ep0", "ep1",
	  REFUSED, -1, "devices are in different PCI domains" },
	{ "different host bridges", topo_two_hosts, "ep0", "ep1",
	  REFUSED, -1, "devices are below different host bridges" },
	{ "RCiEPs, whitelisted root complex", topo_rciep_skx, "rc_a", "rc_b",
	  HOSTBR, 4 },
	{ "RCiEP to itself", topo_rciep_q35, "rc_b", "rc_b",
	  BUS, 0 },
	{ "functions of one RCiEP", topo_rciep_skx, "rc_b", "rc_b1", BUS, 2 },
	{ "RCiEPs, q35 root complex", topo_rciep_q35, "rc_a", "rc_b",
	  REFUSED, -1, RC_REFUSED },
};

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

	/* The exported API agrees with the rule. */
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

static void p2pdma_test_host_bridge_whitelist(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, p2pdma_host_bridge_whitelisted(0x8086, 0x2030));
	KUNIT_EXPECT_TRUE(test, p2pdma_host_bridge_whitelisted(0x8086, 0x2f00));
	KUNIT_EXPECT_FALSE(test, p2pdma_host_bridge_whitelisted(0x8086, 0x29c0));
	KUNIT_EXPECT_FALSE(test, p2pdma_host_bridge_whitelisted(0x1234, 0x2030));
	KUNIT_EXPECT_FALSE(test, p2pdma_host_bridge_whitelisted(0, 0));
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

	/* Garbage, even garbage starting like a boolean, changes nothing. */
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("0000:zz:00.0\n", &p2p_dev,
						      &use), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("yesterday", &p2p_dev,
						      &use), -EINVAL);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("", &p2p_dev, &use),
			-EINVAL);
	KUNIT_EXPECT_TRUE(test, use);
	KUNIT_EXPECT_EQ(test, pci_p2pdma_enable_store("n\n", &p2p_dev, &use), 0);
	KUNIT_EXPECT_FALSE(test, use);
}

static struct kunit_case p2pdma_topology_cases[] = {
	KUNIT_CASE_PARAM(p2pdma_test_path, path_gen_params),
	KUNIT_CASE(p2pdma_test_non_pci_client),
	KUNIT_CASE(p2pdma_test_mixed_clients),
	KUNIT_CASE(p2pdma_test_host_bridge_whitelist),
	KUNIT_CASE(p2pdma_test_enable_store),
	{ }
};

static struct kunit_suite p2pdma_topology_suite = {
	.name = "p2pdma_topology",
	.test_cases = p2pdma_topology_cases,
};

kunit_test_suite(p2pdma_topology_suite);

MODULE_DESCRIPTION("KUnit tests for PCI P2PDMA");
MODULE_LICENSE("GPL");
