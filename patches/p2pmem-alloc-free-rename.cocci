// SPDX-License-Identifier: GPL-2.0
/// The p2pmem allocator follows the pci_p2pmem_<verb>() naming of the rest
/// of the client API: pci_alloc_p2pmem() is now pci_p2pmem_alloc() and
/// pci_free_p2pmem() is pci_p2pmem_free().  Arguments are unchanged.
//
// Confidence: High
// Options: --include-headers

@@
expression pdev, size, addr;
@@
(
- pci_alloc_p2pmem(pdev, size)
+ pci_p2pmem_alloc(pdev, size)
|
- pci_free_p2pmem(pdev, addr, size)
+ pci_p2pmem_free(pdev, addr, size)
)
