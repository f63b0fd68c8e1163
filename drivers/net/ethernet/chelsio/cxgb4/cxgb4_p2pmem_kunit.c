// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for cxgb4's p2pmem window (cxgb4_p2pmem.c).
 *
 * No T5/T6 can be emulated, so the adapter is a stand-in: a struct adapter
 * whose register file is plain memory the test reads and writes.  The
 * placement cases give it a fake PCI device with a BAR 2 of any size.  The
 * registration case borrows the 16 MiB memory BAR 2 of the ivshmem-plain
 * device of tools/testing/kunit/qemu_configs/x86_64_p2pdma.py (and skips
 * without one), mapped write-combined beforehand exactly as init_one()
 * maps a T5's BAR 2, so that it proves the real registration works next
 * to the driver's own mapping.
 */
#include <kunit/test.h>
#include <linux/pci-p2pdma.h>
#include <linux/sizes.h>

#include "cxgb4.h"
#include "t4_regs.h"
#include "t4_values.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define FAKE_REGS_SIZE	SZ_64K

#define BASE_WIN4	PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_BASE_WIN_A, 4)
#define OFFSET_WIN4	PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_OFFSET_A, 4)

struct fake_adapter {
	struct adapter adap;
	struct pci_dev pdev;		/* for the placement cases only */
	u32 *regs;
};

static void fake_reg_write(struct fake_adapter *fa, u32 reg, u32 val)
{
	fa->regs[reg / sizeof(u32)] = val;
}

static u32 fake_reg(struct fake_adapter *fa, u32 reg)
{
	return fa->regs[reg / sizeof(u32)];
}

/* A T5 on PF 4 with @mc0_mb MiB of MC0 at 0, 1024 egress queues, no OCQ. */
static struct fake_adapter *fake_adapter(struct kunit *test,
					 struct pci_dev *pdev,
					 unsigned int mc0_mb)
{
	struct fake_adapter *fa = kunit_kzalloc(test, sizeof(*fa), GFP_KERNEL);
	struct adapter *adap;

	KUNIT_ASSERT_NOT_NULL(test, fa);
	fa->regs = kunit_kzalloc(test, FAKE_REGS_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fa->regs);
	adap = &fa->adap;
	adap->regs = (void __iomem __force *)fa->regs;
	adap->params.chip = CHELSIO_CHIP_CODE(CHELSIO_T5, 0);
	adap->pf = 4;
	/* 8 queues per 4 KiB page: 1024 queues take 512 KiB of doorbells. */
	adap->params.sge.hps = 2;
	adap->params.sge.eq_qpp = 3;
	adap->params.sge.iq_qpp = 3;
	adap->sge.egr_sz = 1024;
	adap->sge.ingr_sz = 512;
	fake_reg_write(fa, MA_TARGET_MEM_ENABLE_A, EXT_MEM0_ENABLE_F);
	fake_reg_write(fa, MA_EXT_MEMORY0_BAR_A, EXT_MEM0_SIZE_V(mc0_mb));

	if (!pdev) {
		pdev = &fa->pdev;
		pdev->dev.init_name = "cxgb4-fake";
		pdev->resource[2].flags = IORESOURCE_MEM;
	}
	adap->pdev = pdev;
	adap->pdev_dev = &pdev->dev;
	return fa;
}

static void fake_bar2(struct fake_adapter *fa, u64 len)
{
	fa->pdev.resource[2].start = 0xe0000000;
	fa->pdev.resource[2].end = 0xe0000000 + len - 1;
}

/* One placement: the adapter above, changed by the row, asked for @mb.
 * The expected window is in BAR 2 at @offset and MC0 at @mem_addr.
 */
struct plan_case {
	const char *name;
	unsigned int mb;
	u64 bar2_len;
	u32 ocq_size;
	unsigned int mc0_base_mb, mc0_mb;
	unsigned int chip;		/* 0: T5 */
	bool mc0_off;
	unsigned int ingr_sz;		/* 0: the adapter's 512 */
	int err;
	u64 offset;
	u32 mem_addr;
};

static const struct plan_case plan_cases[] = {
	{ "off", 0, SZ_16M, 0, 0, 1024, .err = 0 },
	{ "not a power of two", 3, SZ_16M, 0, 0, 1024, .err = -EINVAL },
	{ "below a subsection", 1, SZ_16M, 0, 0, 1024, .err = -EINVAL },
	{ "T4", 4, SZ_16M, 0, 0, 1024, .chip = CHELSIO_T4,
	  .err = -EOPNOTSUPP },
	{ "MC0 disabled", 4, SZ_16M, 0, 0, 1024, .mc0_off = true,
	  .err = -ENODEV },
	{ "MC0 too small", 8, SZ_16M, 0, 0, 4, .err = -ENOSPC },
	{ "BAR 2 too small", 32, SZ_16M, 0, 0, 1024, .err = -ENOSPC },
	/* The only 16 MiB slot of a 16 MiB BAR starts on the doorbells. */
	{ "onto the doorbells", 16, SZ_16M, 0, 0, 1024, .err = -ENOSPC },
	/* 2 MiB of ingress doorbells still leave the upper half free. */
	{ "ingress doorbells", 8, SZ_16M, 0, 0, 1024, .ingr_sz = 4096,
	  .err = 0, .offset = SZ_8M, .mem_addr = 1016 << 20 },
	{ "ingress doorbells reached", 8, SZ_16M, 0, 0, 1024, .ingr_sz = 16400,
	  .err = -ENOSPC },
	{ "whole upper half", 8, SZ_16M, 0, 0, 1024, .err = 0,
	  .offset = SZ_8M, .mem_addr = 1016 << 20 },
	/* A 600 KiB OCQ window takes 1 MiB; the window aligns down below. */
	{ "below the OCQ window", 4, SZ_16M, 600 << 10, 0, 1024, .err = 0,
	  .offset = SZ_8M, .mem_addr = 1020 << 20 },
	{ "below the OCQ window, small", 2, SZ_16M, SZ_1M, 0, 1024, .err = 0,
	  .offset = 12 << 20, .mem_addr = 1022 << 20 },
	{ "MC0 higher up", 2, SZ_16M, 0, 512, 256, .err = 0,
	  .offset = 14 << 20, .mem_addr = 766 << 20 },
	/* Window addresses are 32 bits: MC0 past 4 GiB is cut there. */
	{ "MC0 past 4 GiB", 16, SZ_64M, 0, 3072, 2048, .err = 0,
	  .offset = SZ_32M + SZ_16M, .mem_addr = 0xff000000 },
	{ "MC0 all past 4 GiB", 16, SZ_64M, 0, 4095, 16, .err = -ENOSPC },
};

static void plan_case_desc(const struct plan_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(plan, plan_cases, plan_case_desc);

static void cxgb4_p2pmem_test_plan(struct kunit *test)
{
	const struct plan_case *c = test->param_value;
	struct fake_adapter *fa = fake_adapter(test, NULL, c->mc0_mb);
	struct cxgb4_p2pmem_win win;
	int err;

	fake_bar2(fa, c->bar2_len);
	fa->adap.vres.ocq.size = c->ocq_size;
	if (c->chip)
		fa->adap.params.chip = CHELSIO_CHIP_CODE(c->chip, 0);
	if (c->mc0_off)
		fake_reg_write(fa, MA_TARGET_MEM_ENABLE_A, 0);
	if (c->ingr_sz)
		fa->adap.sge.ingr_sz = c->ingr_sz;
	fake_reg_write(fa, MA_EXT_MEMORY0_BAR_A,
		       EXT_MEM0_SIZE_V(c->mc0_mb) |
		       (c->mc0_base_mb << EXT_MEM0_BASE_S));
	memset(&win, 0xa5, sizeof(win));

	err = cxgb4_p2pmem_plan(&fa->adap, c->mb, &win);

	KUNIT_EXPECT_EQ(test, err, c->err);
	KUNIT_EXPECT_EQ(test, win.size, err || !c->mb ? 0 : (u64)c->mb << 20);
	KUNIT_EXPECT_EQ(test, win.bar_offset, c->offset);
	KUNIT_EXPECT_EQ(test, win.mem_addr, c->mem_addr);
	KUNIT_EXPECT_NULL(test, win.group);
	/* Planning only reads: no window register was written. */
	KUNIT_EXPECT_EQ(test, fake_reg(fa, BASE_WIN4), 0);
	KUNIT_EXPECT_EQ(test, fake_reg(fa, OFFSET_WIN4), 0);
}

/* The register values of memory window 4, field by field. */
static void cxgb4_p2pmem_test_program(struct kunit *test)
{
	struct fake_adapter *fa = fake_adapter(test, NULL, 1024);
	u32 base, win, reg;

	fake_bar2(fa, SZ_16M);
	cxgb4_p2pmem_program(&fa->adap);
	KUNIT_EXPECT_EQ(test, fake_reg(fa, BASE_WIN4), 0);

	KUNIT_ASSERT_EQ(test, cxgb4_p2pmem_plan(&fa->adap, 4, &fa->adap.p2pmem), 0);
	cxgb4_p2pmem_program(&fa->adap);
	base = fake_reg(fa, BASE_WIN4);
	KUNIT_EXPECT_EQ(test, PCIEOFST_G(base) << PCIEOFST_S, SZ_8M + SZ_4M);
	KUNIT_EXPECT_EQ(test, BIR_G(base), 1);		/* BAR 2 */
	KUNIT_EXPECT_EQ(test, 1U << (WINDOW_G(base) + WINDOW_SHIFT_X), SZ_4M);
	KUNIT_EXPECT_EQ(test, fake_reg(fa, OFFSET_WIN4), (1020U << 20) | 4);

	/* Windows 0 to 3 and 5 to 7 belong to others. */
	for (win = 0; win < 8; win++) {
		if (win == 4)
			continue;
		reg = PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_BASE_WIN_A, win);
		KUNIT_EXPECT_EQ(test, fake_reg(fa, reg), 0);
		reg = PCIE_MEM_ACCESS_REG(PCIE_MEM_ACCESS_OFFSET_A, win);
		KUNIT_EXPECT_EQ(test, fake_reg(fa, reg), 0);
	}
}

/* The cache attributes of the kernel's mapping of @addr: PCD for the
 * uncached (UC-) p2pmem, PWT if it was silently made write-combined.
 */
static unsigned long kernel_cache_bits(void *addr)
{
#ifdef CONFIG_X86
	unsigned int level;
	pte_t *pte = lookup_address((unsigned long)addr, &level);

	return pte ? pte_flags(*pte) & (_PAGE_PCD | _PAGE_PWT) : ~0UL;
#else
	return _PAGE_PCD;
#endif
}

static struct pci_dev *ivshmem_or_skip(struct kunit *test)
{
	struct pci_dev *pdev = pci_get_device(IVSHMEM_VENDOR, IVSHMEM_DEVICE, NULL);

	if (!pdev)
		kunit_skip(test, "needs an ivshmem-plain device (x86_64_p2pdma.py)");
	if (pci_has_p2pmem(pdev) || pci_resource_len(pdev, 2) != SZ_16M) {
		pci_dev_put(pdev);
		kunit_skip(test, "the ivshmem-plain device is in use");
	}
	return pdev;
}

/* The whole probe-time path on a real memory BAR: cut the driver's WC
 * mapping, register, program, publish; then the remove_one() teardown.
 */
static void cxgb4_p2pmem_test_register(struct kunit *test)
{
	struct pci_dev *pdev = ivshmem_or_skip(test);
	struct fake_adapter *fa = fake_adapter(test, pdev, 1024);
	struct adapter *adap = &fa->adap;
	void __iomem *full_bar2;
	void *mem;

	full_bar2 = ioremap_wc(pci_resource_start(pdev, 2), SZ_16M);
	KUNIT_ASSERT_TRUE(test, full_bar2);
	adap->bar2 = full_bar2;

	/* Refused requests change nothing, the mapping included. */
	KUNIT_EXPECT_EQ(test, cxgb4_p2pmem_add(adap, 16), -ENOSPC);
	KUNIT_EXPECT_EQ(test, cxgb4_p2pmem_add(adap, 5), -EINVAL);
	KUNIT_EXPECT_TRUE(test, adap->bar2 == full_bar2);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));

	KUNIT_ASSERT_EQ(test, cxgb4_p2pmem_add(adap, 8), 0);
	KUNIT_EXPECT_TRUE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_EQ(test, adap->p2pmem.size, (u64)SZ_8M);
	KUNIT_EXPECT_EQ(test, adap->p2pmem.bar_offset, (u64)SZ_8M);
	KUNIT_EXPECT_TRUE(test, adap->bar2);
	KUNIT_EXPECT_EQ(test, fake_reg(fa, BASE_WIN4),
			SZ_8M | BIR_V(1) | WINDOW_V(23 - WINDOW_SHIFT_X));
	KUNIT_EXPECT_EQ(test, fake_reg(fa, OFFSET_WIN4), (1016U << 20) | 4);
	KUNIT_EXPECT_EQ(test, cxgb4_p2pmem_add(adap, 2), -EBUSY);

	/* All of it, and only it, is p2pmem: the upper half of BAR 2. */
	mem = pci_p2pmem_alloc(pdev, SZ_8M);
	KUNIT_EXPECT_NOT_NULL(test, mem);
	KUNIT_EXPECT_NULL(test, pci_p2pmem_alloc(pdev, PAGE_SIZE));
	if (mem) {
		KUNIT_EXPECT_EQ(test, pci_p2pmem_virt_to_bus(pdev, mem),
				pci_bus_address(pdev, 2) + SZ_8M);
		/* Uncached, as every p2pmem: had the driver's WC mapping
		 * still covered it, PAT would have made it WC instead.
		 */
		KUNIT_EXPECT_EQ(test, kernel_cache_bits(mem), _PAGE_PCD);
		KUNIT_EXPECT_EQ(test, kernel_cache_bits(mem + SZ_8M - 1),
				_PAGE_PCD);
		/* The driver's doorbell mapping still works beside it. */
		writel(0x5a5a5a5a, adap->bar2);
		KUNIT_EXPECT_EQ(test, readl(adap->bar2), 0x5a5a5a5a);
		pci_p2pmem_free(pdev, mem, SZ_8M);
	}

	cxgb4_p2pmem_remove(adap);
	KUNIT_EXPECT_FALSE(test, pci_has_p2pmem(pdev));
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(pdev->p2pdma));
	KUNIT_EXPECT_EQ(test, adap->p2pmem.size, 0);
	cxgb4_p2pmem_remove(adap);	/* twice is harmless */

	iounmap(adap->bar2);
	pci_dev_put(pdev);
}

static struct kunit_case cxgb4_p2pmem_test_cases[] = {
	KUNIT_CASE_PARAM(cxgb4_p2pmem_test_plan, plan_gen_params),
	KUNIT_CASE(cxgb4_p2pmem_test_program),
	KUNIT_CASE(cxgb4_p2pmem_test_register),
	{}
};

static struct kunit_suite cxgb4_p2pmem_test_suite = {
	.name = "cxgb4_p2pmem",
	.test_cases = cxgb4_p2pmem_test_cases,
};

kunit_test_suite(cxgb4_p2pmem_test_suite);
