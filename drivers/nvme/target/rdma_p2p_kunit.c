// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test of nvmet-rdma's choice of a p2pmem client, included by rdma.c.
 *
 * The RDMA devices are fakes, as no RDMA hardware exists in QEMU: one whose
 * DMA goes through a PCI function (the ivshmem-plain device of
 * tools/testing/kunit/qemu_configs/x86_64_p2pdma.py stands in for a NIC),
 * and one without a DMA device, as soft-RoCE (rxe) and siw have.  The
 * first is the client nvmet chooses p2pmem for, and the P2PDMA core finds
 * its PCI function; the second is none, with the reason nvmet-rdma logs.
 */
#include <kunit/test.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>

#define NVMET_RDMA_TEST_VENDOR	0x1af4	/* ivshmem-plain */
#define NVMET_RDMA_TEST_DEVICE	0x1110

static struct ib_device *nvmet_rdma_test_ibdev(struct kunit *test,
					       struct pci_dev *pdev)
{
	struct ib_device *ibdev = kunit_kzalloc(test, sizeof(*ibdev),
						GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ibdev);
	strscpy(ibdev->name, "kunit_rdma", sizeof(ibdev->name));
	if (pdev) {
		/* As ib_register_device() sets them for a PCI driver's device. */
		ibdev->dev.parent = &pdev->dev;
		ibdev->dma_device = &pdev->dev;
	}
	return ibdev;
}

static void nvmet_rdma_test_pci_nic(struct kunit *test)
{
	struct pci_dev *pdev = pci_get_device(NVMET_RDMA_TEST_VENDOR,
					      NVMET_RDMA_TEST_DEVICE, NULL);
	struct ib_device *ibdev;
	const char *why = NULL;
	struct device *client;

	if (!pdev)
		kunit_skip(test, "needs an ivshmem-plain device (x86_64_p2pdma.py)");
	ibdev = nvmet_rdma_test_ibdev(test, pdev);

	client = nvmet_rdma_p2p_client(ibdev, &why);
	KUNIT_EXPECT_PTR_EQ(test, client, &ibdev->dev);
	KUNIT_EXPECT_NULL(test, why);
	/* The P2PDMA core reaches the PCI function behind the RDMA device. */
	if (client)
		KUNIT_EXPECT_EQ(test, pci_p2pdma_distance(pdev, client, false),
				0);
	pci_dev_put(pdev);
}

static void nvmet_rdma_test_software_rdma(struct kunit *test)
{
	struct ib_device *ibdev = nvmet_rdma_test_ibdev(test, NULL);
	const char *why = NULL;

	KUNIT_EXPECT_NULL(test, nvmet_rdma_p2p_client(ibdev, &why));
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_STREQ(test, why, "software RDMA device");
}

static struct kunit_case nvmet_rdma_p2p_test_cases[] = {
	KUNIT_CASE(nvmet_rdma_test_pci_nic),
	KUNIT_CASE(nvmet_rdma_test_software_rdma),
	{}
};

static struct kunit_suite nvmet_rdma_p2p_test_suite = {
	.name = "nvmet_rdma_p2p",
	.test_cases = nvmet_rdma_p2p_test_cases,
};

kunit_test_suite(nvmet_rdma_p2p_test_suite);
