/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ioctls of /dev/p2pmemN, the character device of a PCI peer-to-peer
 * memory provider.  See Documentation/driver-api/pci/p2pdma.rst.
 */
#ifndef _UAPI_LINUX_P2PMEM_H
#define _UAPI_LINUX_P2PMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct p2pmem_export_dmabuf - export p2pmem as a dma-buf
 * @size: in: bytes wanted, rounded up to whole pages; not 0
 * @flags: in: flags of the new file descriptor: O_CLOEXEC, and O_RDWR or
 *	O_RDONLY; nothing else
 * @fd: out: the dma-buf
 * @reserved: 0, for what later versions may add
 *
 * The memory holds zeros.  It is the provider's until the dma-buf's last
 * user puts it, or until the provider is withdrawn (unpublished, unbound,
 * unplugged): then importers are revoked, CPU mappings of the dma-buf
 * raise SIGBUS, and the memory goes back to the provider.
 */
struct p2pmem_export_dmabuf {
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 reserved[2];
};

#define P2PMEM_IOC_MAGIC		0xB9
#define P2PMEM_IOC_EXPORT_DMABUF	_IOWR(P2PMEM_IOC_MAGIC, 0x00, \
					      struct p2pmem_export_dmabuf)

#endif /* _UAPI_LINUX_P2PMEM_H */
