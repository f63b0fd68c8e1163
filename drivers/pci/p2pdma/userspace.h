/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The userspace face of the P2PDMA core: what userspace sees of a
 * provider.  The registry tells face.c what happens to providers (struct
 * p2pdma_face_ops, p2pdma.h), and face.c drives the other files here.
 * Only these files include this header; they call down into the rest of
 * drivers/pci/p2pdma/, and nothing there calls up into them.
 *
 *   face.c     a provider's life, as userspace sees it
 *   mmap.c     p2pmem mapped into userspace, revoked on withdrawal
 *   dmabuf.c   p2pmem exported as dma-bufs, revoked with the mappings
 *   chardev.c  /dev/p2pmemN
 *   sysfs.c    /sys/bus/pci/devices/<bdf>/p2pmem/
 *
 * Of struct pci_p2pdma, the face owns @user_* (mmap.c), @dmabufs* (face.c,
 * dmabuf.c), @chardev and @allocate_kn (face.c, sysfs.c).
 */
#ifndef _DRIVERS_PCI_P2PDMA_USERSPACE_H
#define _DRIVERS_PCI_P2PDMA_USERSPACE_H

#include "p2pdma.h"

/* mmap.c */
int p2pdma_mmap(struct pci_p2pdma *p2p, struct vm_area_struct *vma);
int p2pdma_user_init(struct pci_p2pdma *p2p);
void p2pdma_user_free(struct pci_p2pdma *p2p);
void p2pdma_user_open(struct pci_p2pdma *p2p);
void p2pdma_user_revoke(struct pci_p2pdma *p2p);
int p2pdma_user_stop(struct pci_p2pdma *p2p);
int p2pdma_user_alloc(struct pci_p2pdma *p2p, u32 *nr, unsigned long *clean,
		      bool *held, unsigned long *addr);

/* dmabuf.c */
struct p2pmem_export_dmabuf;
#ifdef CONFIG_PCI_P2PDMA_DMABUF
void p2pdma_dmabuf_revoke(struct pci_p2pdma *p2p);
int p2pdma_dmabuf_export_fd(struct pci_dev *pdev,
			    struct p2pmem_export_dmabuf __user *uarg);
#else
static inline void p2pdma_dmabuf_revoke(struct pci_p2pdma *p2p)
{
}

static inline int p2pdma_dmabuf_export_fd(struct pci_dev *pdev,
					  struct p2pmem_export_dmabuf __user *uarg)
{
	return -ENOTTY;
}
#endif

/* chardev.c */
struct p2pmem_chardev *p2pdma_chardev_add(struct pci_p2pdma *p2p);
void p2pdma_chardev_remove(struct p2pmem_chardev *cd);

/* sysfs.c */
int p2pdma_sysfs_add(struct pci_p2pdma *p2p);
void p2pdma_sysfs_show_allocate(struct pci_p2pdma *p2p, bool show);
void p2pdma_sysfs_remove(struct pci_p2pdma *p2p);

#endif /* _DRIVERS_PCI_P2PDMA_USERSPACE_H */
