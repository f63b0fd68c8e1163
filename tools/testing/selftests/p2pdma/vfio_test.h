/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vfio and iommufd plumbing of the p2pdma selftests that drive a
 * device from userspace: vfio's device cdev, its regions, and an IOAS's
 * file mappings.  Static definitions, as in p2pdma_test.h.
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

/*
 * vfio_region - what vfio device @dev says of its region @index (a BAR,
 * or VFIO_PCI_CONFIG_REGION_INDEX), in *@info.
 * Return: 0, or -1 with errno set.
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

#ifdef IOMMU_IOAS_MAP_FILE
/*
 * ioas_map_file - map @len bytes of the file @fd (a dma-buf, a memfd)
 * from its start at @iova of @ioas, readable and writeable.
 * Return: 0, or -1 with errno set.
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

/*
 * ioas_unmap - unmap @len bytes at @iova of @ioas.
 * Return: 0, or -1 with errno set.
 */
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
