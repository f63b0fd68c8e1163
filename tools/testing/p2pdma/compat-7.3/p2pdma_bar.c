// SPDX-License-Identifier: GPL-2.0
/*
 * p2pdma_bar - an out-of-tree driver written for the P2PDMA API of Linux
 * 7.3, built with M= against the test kernel: per-BAR providers
 * (pcim_p2pdma_init(), pcim_p2pdma_provider()), pci_p2pdma_map_type() and
 * the inline pci_p2pdma_state() that mapping code uses, spelled as
 * upstream 7.3 spells them, so that it builds unchanged against upstream.
 *
 * It binds to a device the administrator names (driver_override), like a
 * driver that exports its BAR without struct pages, and prints one
 * "p2pdma_bar: ok - WHAT" or "p2pdma_bar: not ok - WHAT" line per check,
 * then "p2pdma_bar: map_type BDF TYPE" for every NVMe function: how it
 * reaches the BAR, for the guest test to hold against the topology.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/sizes.h>

static int bar = 2;
module_param(bar, int, 0444);
MODULE_PARM_DESC(bar, "the BAR to offer (default: 2, ivshmem's)");

static void check(bool ok, const char *what)
{
	pr_info("%sok - %s\n", ok ? "" : "not ", what);
}

static const char *map_name(enum pci_p2pdma_map_type map)
{
	switch (map) {
	case PCI_P2PDMA_MAP_BUS_ADDR:
		return "bus";
	case PCI_P2PDMA_MAP_THRU_HOST_BRIDGE:
		return "host-bridge";
	case PCI_P2PDMA_MAP_NOT_SUPPORTED:
		return "refused";
	default:
		return "unexpected";
	}
}

/* How each NVMe function reaches the provider, as a dma-buf exporter asks. */
static void report_nvme(struct p2pdma_provider *mem)
{
	struct pci_dev *nvme = NULL;

	while ((nvme = pci_get_class(PCI_CLASS_STORAGE_EXPRESS, nvme)))
		pr_info("map_type %s %s\n", pci_name(nvme),
			map_name(pci_p2pdma_map_type(mem, &nvme->dev)));
}

/* Pages registered afterwards come with the BAR's provider. */
static void check_pages(struct pci_dev *pdev, struct p2pdma_provider *mem)
{
	struct pci_p2pdma_map_state state = {};
	void *buf;

	check(!pci_p2pdma_add_resource(pdev, bar, SZ_2M, 0),
	      "pci_p2pdma_add_resource() 2 MiB of the same BAR");
	buf = pci_alloc_p2pmem(pdev, SZ_64K);
	check(buf, "pci_alloc_p2pmem() 64 KiB");
	if (!buf)
		return;
	check(pci_p2pdma_state(&state, &pdev->dev, virt_to_page(buf)) ==
	      PCI_P2PDMA_MAP_BUS_ADDR, "pci_p2pdma_state() of a page: bus");
	check(state.mem == mem, "the page's provider is the BAR's");
	check(pci_p2pdma_bus_addr_map(state.mem, virt_to_phys(buf)) ==
	      pci_p2pmem_virt_to_bus(pdev, buf),
	      "pci_p2pdma_bus_addr_map() is the page's bus address");
	check(pci_p2pdma_state(&state, &pdev->dev, ZERO_PAGE(0)) ==
	      PCI_P2PDMA_MAP_NONE, "pci_p2pdma_state() of system memory: none");
	pci_free_p2pmem(pdev, buf, SZ_64K);
}

static int p2pdma_bar_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct p2pdma_provider *mem;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_p2pdma_init(pdev);
	check(!ret, "pcim_p2pdma_init()");
	if (ret)
		return ret;
	check(!pcim_p2pdma_init(pdev), "pcim_p2pdma_init() again");
	mem = pcim_p2pdma_provider(pdev, bar);
	check(mem, "pcim_p2pdma_provider() of the BAR");
	if (!mem)
		return -ENODEV;
	check(mem->owner == &pdev->dev, "the provider's owner is the device");
	check(mem->bus_offset == pci_bus_address(pdev, bar) -
	      pci_resource_start(pdev, bar), "the provider's bus offset");
	check(pci_p2pdma_map_type(mem, &pdev->dev) == PCI_P2PDMA_MAP_BUS_ADDR,
	      "pci_p2pdma_map_type() for the device itself: bus");
	report_nvme(mem);
	check_pages(pdev, mem);
	return 0;
}

/* No ID table: it binds through driver_override only. */
static struct pci_driver p2pdma_bar_driver = {
	.name = "p2pdma_bar",
	.probe = p2pdma_bar_probe,
};
module_pci_driver(p2pdma_bar_driver);

MODULE_DESCRIPTION("A driver of Linux 7.3's per-BAR P2PDMA API, for compatibility tests");
MODULE_LICENSE("GPL");
