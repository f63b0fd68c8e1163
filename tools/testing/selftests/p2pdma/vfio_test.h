/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vfio and iommufd plumbing of the p2pdma selftests that drive a
 * device from userspace: vfio's device cdev bound to an iommufd and
 * attached to an IOAS, its regions and command register, and the IOAS's
 * mappings.  Static definitions, as in p2pdma_test.h.  Each returns 0, or
 * -1 with errno set, but open_vfio_cdev(), which returns the fd.
 */
#ifndef P2PDMA_VFIO_TEST_H
#define P2PDMA_VFIO_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

/*
 * open_vfio_cdev - open the cdev of the vfio-bound function @bdf,
 * /dev/vfio/devices/vfioN.
 * Return: its fd, or -1 with errno set (ENOENT: not bound to vfio).
 */
static inline int open_vfio_cdev(const char *bdf)
{
	char path[32 + sizeof(((struct dirent *)0)->d_name)];
	struct dirent *de;
	DIR *dir;
	int fd = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		break;
	}
	closedir(dir);
	if (fd < 0 && !de)
		errno = ENOENT;
	return fd;
}

/* vfio_bind_iommufd - bind the vfio device @dev to @iommufd. */
static inline int vfio_bind_iommufd(int dev, int iommufd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	return ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind);
}

/* vfio_attach_ioas - attach the bound vfio device @dev to IOAS @ioas. */
static inline int vfio_attach_ioas(int dev, uint32_t ioas)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = ioas,
	};

	return ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
}

/*
 * vfio_region - what vfio device @dev says of its region @index (a BAR,
 * or VFIO_PCI_CONFIG_REGION_INDEX), in *@info.
 */
static inline int vfio_region(int dev, unsigned int index,
			      struct vfio_region_info *info)
{
	*info = (struct vfio_region_info) {
		.argsz = sizeof(*info),
		.index = index,
	};
	return ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info);
}

/*
 * vfio_command_bits - set the bits @set and clear the bits @clear of the
 * command register of vfio device @dev, through its config region, and
 * read it back: -1 with errno EIO if the function did not take them.
 */
static inline int vfio_command_bits(int dev, uint16_t set, uint16_t clear)
{
	struct vfio_region_info cfg;
	uint16_t cmd;

	if (vfio_region(dev, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    pread(dev, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	cmd = (cmd | set) & ~clear;
	if (pwrite(dev, &cmd, 2, cfg.offset + PCI_COMMAND) != 2 ||
	    pread(dev, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	if ((cmd & (set | clear)) != set) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * ioas_map_user - map @len bytes of this process's memory at @p at @iova
 * of @ioas, readable and writeable.
 */
static inline int ioas_map_user(int iommufd, uint32_t ioas, void *p,
				uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)p,
		.length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &map);
}

#ifdef IOMMU_IOAS_MAP_FILE
/*
 * ioas_map_file - map @len bytes of the file @fd (a dma-buf, a memfd)
 * from its start at @iova of @ioas, readable and writeable.
 */
static inline int ioas_map_file(int iommufd, uint32_t ioas, int fd,
				uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.fd = fd,
		.start = 0,
		.length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &map);
}
#endif

/* ioas_unmap - unmap @len bytes at @iova of @ioas. */
static inline int ioas_unmap(int iommufd, uint32_t ioas, uint64_t iova,
			     uint64_t len)
{
	struct iommu_ioas_unmap um = {
		.size = sizeof(um),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &um);
}

#endif /* P2PDMA_VFIO_TEST_H */
