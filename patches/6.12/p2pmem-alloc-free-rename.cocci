// SPDX-License-Identifier: GPL-2.0
/// The p2pmem allocator follows the pci_p2pmem_<verb>() naming of the rest
/// of the client API: in-tree callers of pci_alloc_p2pmem() use
/// pci_p2pmem_alloc() and those of pci_free_p2pmem() pci_p2pmem_free().
/// Arguments are unchanged.  Upstream's names stay real entry points, for
/// drivers written against them: drivers/pci/p2pdma/ defines and tests
/// them, and the modules of tools/testing/p2pdma/ are such drivers (the
/// compat modules, the benchmark built against upstream too), so their
/// calls are left alone.
//
// Confidence: High
// Options: --include-headers

@@
expression pdev, size, addr;
position p : script:python() {
	"drivers/pci/p2pdma/" not in p[0].file and
	"tools/testing/p2pdma/" not in p[0].file
};
@@
(
- pci_alloc_p2pmem@p(pdev, size)
+ pci_p2pmem_alloc(pdev, size)
|
- pci_free_p2pmem@p(pdev, addr, size)
+ pci_p2pmem_free(pdev, addr, size)
)
