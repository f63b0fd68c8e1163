// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmem_pci: offer a BAR of any PCI device as peer-to-peer memory.
 *
 * For devices that are nothing but memory behind a BAR (memory cards,
 * FPGA boards, QEMU's ivshmem-plain), so they need no driver of their own.
 * The driver matches no device by itself: the administrator picks one,
 *
 *   echo p2pmem_pci > /sys/bus/pci/devices/<bdf>/driver_override
 *   echo <bdf> > /sys/bus/pci/drivers_probe
 *
 * or by ID, with the BAR to use in the driver data (BAR index + 1; 0 or
 * nothing means "the largest memory BAR"):
 *
 *   echo "1af4 1110 ffffffff ffffffff 0 0 3" > /sys/bus/pci/drivers/p2pmem_pci/new_id
 *
 * The whole BAR is registered and, unless publish=0, published.  The
 * parameter is read when a device binds, so it can be changed for the next.
 */
#define dev_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>

static bool publish = true;
module_param(publish, bool, 0644);
MODULE_PARM_DESC(publish,
		 "offer the memory to other drivers and userspace, read at bind (default: yes)");

/* The largest memory BAR, or -ENODEV if the device has none. */
static int p2pmem_pci_largest_bar(struct pci_dev *pdev)
{
	resource_size_t best_len = 0;
	int bar, best = -ENODEV;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
			continue;
		if (pci_resource_len(pdev, bar) > best_len) {
			best_len = pci_resource_len(pdev, bar);
			best = bar;
		}
	}
	return best;
}

static int p2pmem_pci_probe(struct pci_dev *pdev,
			    const struct pci_device_id *id)
{
	int bar = id && id->driver_data ? (int)id->driver_data - 1 :
		  p2pmem_pci_largest_bar(pdev);
	bool pub = READ_ONCE(publish);
	int err;

	if (bar < 0) {
		pci_err(pdev, "no memory BAR to offer\n");
		return bar;
	}
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = pci_p2pdma_add_resource(pdev, bar, 0, 0);
	if (err)
		return err;
	pci_p2pmem_publish(pdev, pub);
	pci_info(pdev, "BAR %d offered%s\n", bar, pub ? " and published" : "");
	return 0;
}

static struct pci_driver p2pmem_pci_driver = {
	.name = "p2pmem_pci",
	/* Empty: devices come through driver_override or new_id only. */
	.id_table = NULL,
	/* No .remove: everything, the p2pmem included, is device-managed. */
	.probe = p2pmem_pci_probe,
};
module_pci_driver(p2pmem_pci_driver);

MODULE_DESCRIPTION("Offer a BAR of a PCI device as peer-to-peer DMA memory");
MODULE_LICENSE("GPL");
