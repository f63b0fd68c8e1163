// SPDX-License-Identifier: GPL-2.0
/*
 * cxgb4_p2pmem.c - offer adapter memory to PCI peer-to-peer DMA
 *
 * PCIe memory window 4 makes the top of the adapter's external memory
 * (MC0) visible in BAR 2, and the PCI P2PDMA framework turns that part of
 * BAR 2 into p2pmem: an NVMe drive or another NIC can then DMA straight
 * into the T5/T6's memory.  Off unless the cxgb4.p2pmem_mb module
 * parameter asks for it, because the firmware configuration must leave
 * that much of MC0 unused.
 *
 * BAR 2 holds, from the bottom, the SGE doorbell pages of every queue this
 * function may use, and at the very top the on-chip queue window of
 * setup_memwin_rdma().  The p2pmem window goes right below the latter,
 * aligned to its size, and must not reach down into the doorbells.
 *
 * The driver maps BAR 2 write-combined for the doorbells; that mapping is
 * cut off below the window.  Otherwise x86 PAT would quietly give the
 * kernel's mapping of the p2pmem the same write-combining type instead of
 * the uncached one that every other p2pmem gets.
 *
 * The registration lives in a devres group of its own so that remove_one()
 * can tear it down (telling clients, waiting for their pages) while the
 * adapter still decodes BAR 2, before the rest of the device goes away.
 */

#include <linux/log2.h>
#include <linux/module.h>
#include <linux/pci-p2pdma.h>
#include <linux/sizes.h>

#include "cxgb4.h"
#include "t4_regs.h"
#include "t4_values.h"

#define CXGB4_P2PMEM_WIN	4
#define CXGB4_P2PMEM_BAR	2
/* BAR Index Register values count 64-bit BARs: 1 selects BAR 2. */
#define CXGB4_P2PMEM_BIR	1
/* ZONE_DEVICE memory comes in 2 MiB subsections. */
#define CXGB4_P2PMEM_MIN	SZ_2M
/* The memory window offset register holds 32-bit adapter addresses. */
#define CXGB4_MEM_ADDR_LIMIT	SZ_4G

static unsigned int p2pmem_mb;
module_param(p2pmem_mb, uint, 0444);
MODULE_PARM_DESC(p2pmem_mb,
		 "MiB of adapter memory (top of MC0, a power of two >= 2) to offer as PCI p2pmem through memory window 4; the firmware configuration must leave it unused (default 0: off)");

/* Bytes at the start of BAR 2 taken by the doorbell pages of our queues. */
static u64 cxgb4_bar2_doorbell_len(const struct adapter *adap)
{
	const struct sge_params *sp = &adap->params.sge;
	const struct sge *s = &adap->sge;
	unsigned int pages = 0;

	if (s->egr_sz)
		pages = ((s->egr_start + s->egr_sz - 1) >> sp->eq_qpp) + 1;
	if (s->ingr_sz)
		pages = max(pages,
			    ((s->ingr_start + s->ingr_sz - 1) >> sp->iq_qpp) + 1);
	return (u64)pages << (sp->hps + 10);
}

/* Bytes at the end of BAR 2 taken by the on-chip queue window. */
static u64 cxgb4_bar2_ocq_len(const struct adapter *adap)
{
	return adap->vres.ocq.size ? roundup_pow_of_two(adap->vres.ocq.size) : 0;
}

/* Adapter memory for the window: the top @size bytes of MC0 below 4 GiB. */
static int cxgb4_p2pmem_pick_memory(struct adapter *adap, u64 size, u32 *addr)
{
	u64 base, top;
	u32 bar;

	if (!(t4_read_reg(adap, MA_TARGET_MEM_ENABLE_A) & EXT_MEM0_ENABLE_F)) {
		dev_warn(adap->pdev_dev, "p2pmem: external memory MC0 is disabled\n");
		return -ENODEV;
	}
	bar = t4_read_reg(adap, MA_EXT_MEMORY0_BAR_A);
	base = (u64)EXT_MEM0_BASE_G(bar) * SZ_1M;
	top = min(base + (u64)EXT_MEM0_SIZE_G(bar) * SZ_1M, CXGB4_MEM_ADDR_LIMIT);
	if (top < base + size) {
		dev_warn(adap->pdev_dev,
			 "p2pmem: %llu MiB do not fit in MC0 (%u MiB at %u MiB) below 4 GiB\n",
			 size >> 20, EXT_MEM0_SIZE_G(bar), EXT_MEM0_BASE_G(bar));
		return -ENOSPC;
	}
	*addr = top - size;
	return 0;
}

/* Where in BAR 2 a window of @size bytes goes, or -ENOSPC. */
static int cxgb4_p2pmem_pick_bar_offset(struct adapter *adap, u64 size,
					u64 *offset)
{
	u64 len = pci_resource_len(adap->pdev, CXGB4_P2PMEM_BAR);
	u64 top = len - min(len, cxgb4_bar2_ocq_len(adap));
	u64 doorbells = cxgb4_bar2_doorbell_len(adap);
	u64 start = top < size ? 0 : ALIGN_DOWN(top - size, size);

	if (!(pci_resource_flags(adap->pdev, CXGB4_P2PMEM_BAR) & IORESOURCE_MEM) ||
	    top < size || start < doorbells) {
		dev_warn(adap->pdev_dev,
			 "p2pmem: no room for %llu MiB in BAR 2 (%llu KiB, doorbells %llu KiB, OCQ window %llu KiB)\n",
			 size >> 20, len >> 10, doorbells >> 10,
			 (len - top) >> 10);
		return -ENOSPC;
	}
	*offset = start;
	return 0;
}

/**
 * cxgb4_p2pmem_plan() - place the p2pmem window in BAR 2 and adapter memory
 * @adap: the adapter, past adap_init0() (queues and OCQ sized)
 * @mb: the window's size in MiB; 0 for none
 * @win: filled with the placement; zeroed when @mb is 0 or on error
 *
 * Only reads the adapter's registers.  Says in dmesg why a window that was
 * asked for cannot be had.
 *
 * Return: 0 on success (and for @mb 0), -EINVAL for a size that is not a
 * power of two of at least 2 MiB, -EOPNOTSUPP on T4, -ENODEV without MC0,
 * -ENOSPC when MC0 or BAR 2 has no room for it.
 */
int cxgb4_p2pmem_plan(struct adapter *adap, unsigned int mb,
		      struct cxgb4_p2pmem_win *win)
{
	u64 size = (u64)mb * SZ_1M;
	int err;

	memset(win, 0, sizeof(*win));
	if (!mb)
		return 0;
	if (!is_power_of_2(mb) || size < CXGB4_P2PMEM_MIN) {
		dev_warn(adap->pdev_dev,
			 "p2pmem: %u MiB is not a power of two of at least 2 MiB\n",
			 mb);
		return -EINVAL;
	}
	if (is_t4(adap->params.chip)) {
		/* T4 windows take bus addresses, which a VM may not know. */
		dev_warn(adap->pdev_dev, "p2pmem: needs a T5 or later adapter\n");
		return -EOPNOTSUPP;
	}
	err = cxgb4_p2pmem_pick_memory(adap, size, &win->mem_addr);
	if (!err)
		err = cxgb4_p2pmem_pick_bar_offset(adap, size, &win->bar_offset);
	if (err) {
		memset(win, 0, sizeof(*win));
		return err;
	}
	win->size = size;
	return 0;
}

/**
 * cxgb4_p2pmem_program() - (re)program memory window 4 for the p2pmem
 * @adap: the adapter
 *
 * Called once the window is registered and again after every adapter
 * reset (EEH, PCI error recovery), which clears the window registers.
 * Does nothing when the adapter offers no p2pmem.
 */
void cxgb4_p2pmem_program(struct adapter *adap)
{
	const struct cxgb4_p2pmem_win *win = &adap->p2pmem;

	if (!win->size)
		return;
	t4_write_reg(adap,
		     PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_BASE_WIN_A, CXGB4_P2PMEM_WIN),
		     (u32)win->bar_offset | BIR_V(CXGB4_P2PMEM_BIR) |
		     WINDOW_V(ilog2(win->size) - WINDOW_SHIFT_X));
	t4_write_reg(adap,
		     PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_OFFSET_A, CXGB4_P2PMEM_WIN),
		     win->mem_addr | PFNUM_V(adap->pf));
	/* Read back so that the window is set before anyone DMAs to it. */
	t4_read_reg(adap,
		    PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_OFFSET_A, CXGB4_P2PMEM_WIN));
}

/* Map only the doorbells write-combined, not the pages p2pmem takes over. */
static int cxgb4_bar2_map_below(struct adapter *adap, u64 len)
{
	void __iomem *bar2;

	if (!adap->bar2)
		return 0;
	bar2 = ioremap_wc(pci_resource_start(adap->pdev, CXGB4_P2PMEM_BAR), len);
	if (!bar2)
		return -ENOMEM;
	iounmap(adap->bar2);
	adap->bar2 = bar2;
	return 0;
}

/**
 * cxgb4_p2pmem_add() - offer @mb MiB of adapter memory as p2pmem
 * @adap: the adapter, past adap_init0()
 * @mb: the size in MiB; 0 for none
 *
 * Places the window (see cxgb4_p2pmem_plan()), registers that part of
 * BAR 2 with the P2PDMA framework, programs memory window 4 and publishes
 * the memory.  On failure nothing is registered and the window registers
 * are left alone.
 *
 * Return: 0 on success or for @mb 0, a negative errno otherwise.
 */
int cxgb4_p2pmem_add(struct adapter *adap, unsigned int mb)
{
	struct device *dev = &adap->pdev->dev;
	struct cxgb4_p2pmem_win win;
	int err;

	if (adap->p2pmem.size)
		return -EBUSY;
	err = cxgb4_p2pmem_plan(adap, mb, &win);
	if (err || !win.size)
		return err;
	err = cxgb4_bar2_map_below(adap, win.bar_offset);
	if (err)
		return err;

	win.group = devres_open_group(dev, NULL, GFP_KERNEL);
	if (!win.group)
		return -ENOMEM;
	err = pci_p2pdma_add_resource(adap->pdev, CXGB4_P2PMEM_BAR, win.size,
				      win.bar_offset);
	if (err) {
		devres_release_group(dev, win.group);
		dev_warn(adap->pdev_dev, "p2pmem: registration failed: %d\n", err);
		return err;
	}
	devres_close_group(dev, win.group);

	adap->p2pmem = win;
	cxgb4_p2pmem_program(adap);
	pci_p2pmem_publish(adap->pdev, true);
	dev_info(adap->pdev_dev,
		 "p2pmem: %llu MiB of adapter memory at %#x, BAR 2 offset %#llx\n",
		 win.size >> 20, win.mem_addr, win.bar_offset);
	return 0;
}

/**
 * cxgb4_p2pmem_remove() - withdraw the adapter's p2pmem
 * @adap: the adapter
 *
 * Unpublishes the memory, has the framework tell its clients and waits
 * for every page to come back.  Call while the adapter still decodes
 * BAR 2.  Does nothing when the adapter offers no p2pmem.
 */
void cxgb4_p2pmem_remove(struct adapter *adap)
{
	if (!adap->p2pmem.group)
		return;
	devres_release_group(&adap->pdev->dev, adap->p2pmem.group);
	memset(&adap->p2pmem, 0, sizeof(adap->p2pmem));
}

/**
 * cxgb4_p2pmem_probe() - offer what the p2pmem_mb parameter asks for
 * @adap: the adapter, past adap_init0()
 *
 * A failure only costs the p2pmem, never the adapter: it is logged, with
 * its reason, and the probe goes on.
 */
void cxgb4_p2pmem_probe(struct adapter *adap)
{
	int err = cxgb4_p2pmem_add(adap, p2pmem_mb);

	if (err)
		dev_warn(adap->pdev_dev, "p2pmem: not offered: %d\n", err);
}
