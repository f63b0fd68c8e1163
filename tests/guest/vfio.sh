#!/bin/sh
# vfio-pci's dma-buf of a BAR, imported into iommufd, behind QEMU's Intel
# IOMMU (tests/topologies/vfio.topo, intel_iommu=on).  The ivshmem
# function is first a provider with pages (p2pmem_pci), then vfio-pci's
# provider without pages, then p2pmem_pci's again: the P2PDMA state of one
# device goes through both kinds and back.  Under vfio-pci an edu
# function's DMA engine, attached to an iommufd IOAS, writes and reads
# the BAR through the dma-buf's mapping, until the dma-buf is revoked.
. /tests/lib.sh

IV=$(ivshmem_bdf)
EDU=$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && basename "$d"
done)
SIZE=$((16 << 20))

echo "== the functions and the IOMMU =="
check "the IOMMU is on (a DMAR unit in /sys/class/iommu)" \
	sh -c "ls /sys/class/iommu | grep -q dmar"
check "an ivshmem and an edu function are present" \
	test -n "$IV" -a -n "$EDU"
check "iommufd is there (/dev/iommu)" test -c /dev/iommu

echo "== $IV as p2pmem_pci's provider, with pages =="
rebind "$IV" p2pmem_pci
expect_eq "p2pmem_pci publishes all of BAR 2" \
	"$(cat "/sys/bus/pci/devices/$IV/p2pmem/size") $(cat "/sys/bus/pci/devices/$IV/p2pmem/published")" \
	"$SIZE 1"

echo "== $IV and $EDU under vfio-pci =="
# QEMU's IOMMU runs here without interrupt remapping (qemu-run: TCG has
# no split irqchip), so iommufd would refuse to bind: MSIs are not
# isolated.  Nothing in this test uses interrupts.
echo 1 > /sys/module/iommufd/parameters/allow_unsafe_interrupts
rebind "$IV" vfio-pci
rebind "$EDU" vfio-pci
expect_eq "both functions are bound to vfio-pci" \
	"$(driver_of "$IV") $(driver_of "$EDU")" "vfio-pci vfio-pci"
check "vfio-pci's provider has no pages, so no p2pmem/ directory" \
	test ! -e "/sys/bus/pci/devices/$IV/p2pmem"
check "both have a vfio cdev" \
	sh -c "ls /sys/bus/pci/devices/$IV/vfio-dev/ /sys/bus/pci/devices/$EDU/vfio-dev/ | grep -c '^vfio' | grep -qx 2"
tap 18 "vfio dma-buf" p2pdma_vfio_dmabuf "$IV" 2 "$EDU"
echo 0 > /sys/module/iommufd/parameters/allow_unsafe_interrupts
# IOVA_BAR + 5 pages, where the program wrote after revoking.
check "the IOMMU refused the edu's write to the revoked mapping" \
	sh -c "dmesg | grep -qE 'DMA Write.*Request device \[$EDU\] fault addr 0x1005000 '"

echo "== $IV back to p2pmem_pci =="
echo "$EDU" > "/sys/bus/pci/devices/$EDU/driver/unbind"
rebind "$IV" p2pmem_pci
expect_eq "p2pmem_pci's provider comes back with all of BAR 2 free" \
	"$(cat "/sys/bus/pci/devices/$IV/p2pmem/size") $(cat "/sys/bus/pci/devices/$IV/p2pmem/available")" \
	"$SIZE $SIZE"
finish
