#!/bin/sh
# A userspace NVMe driver, as SPDK's, on p2pmem: NVMe C under vfio-pci,
# driven by tools/testing/selftests/p2pdma/p2pmem_vfio_nvme through its
# vfio cdev and iommufd, reads into a dma-buf of NVMe A's CMB
# (/dev/p2pmemN) that iommufd maps into its IOAS; then NVMe A is unbound
# under it all.  On tests/topologies/iommu.topo (intel_iommu=on): A below
# the switch, C on the other root port, so that the path goes through
# q35's host bridge, which must be vouched for (see iommu.sh).
. /tests/lib.sh

PARAM=/sys/module/pci_p2pdma/parameters/host_bridges
UNSAFE=/sys/module/iommufd/parameters/allow_unsafe_interrupts
HOST_BRIDGE=/sys/bus/pci/devices/0000:00:00.0
A=$(nvme_bdf P2PNVMEA) C=$(nvme_bdf P2PNVMEC)
NODE=$(p2pmem_node "$A")
P2PMEM=/sys/bus/pci/devices/$A/p2pmem
# The dma-buf's IOVA in the program's IOAS (IOVA_DMABUF).
IOVA_DMABUF=0x4000000
dmesg_mark vfio-nvme

# wait_for SECONDS CMD... - until CMD succeeds, SECONDS at most.
wait_for() {
	i=0 n=$(($1 * 10))
	shift
	until "$@"; do
		[ $i -ge $n ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

published() {
	[ "$(cat "$P2PMEM/published" 2>/dev/null)" = 1 ]
}

live_published() {
	[ "$(cat "$(nvme_ctrl P2PNVMEA)/state" 2>/dev/null)" = live ] &&
		published
}

# The nvme driver keeps its submission queues in the CMB (use_cmb_sqes):
# "available" is what it leaves, less than "size".
available_again() {
	[ "$(cat "$P2PMEM/available" 2>/dev/null)" = "$AVAIL" ]
}

echo "== the IOMMU, NVMe A's CMB, NVMe C =="
check "the IOMMU is on (a DMAR unit in /sys/class/iommu)" \
	sh -c "ls /sys/class/iommu | grep -q dmar"
check "iommufd is there (/dev/iommu)" test -c /dev/iommu
check "NVMe A ($A) and NVMe C ($C) are there" test -n "$A" -a -n "$C"
check "NVMe A's CMB is a published provider" published
check "NVMe A's CMB has a node ($NODE)" test -c "$NODE"
AVAIL=$(cat "$P2PMEM/available")
echo "   NVMe A's p2pmem: size $(cat "$P2PMEM/size"), available $AVAIL"

echo "== NVMe C under vfio-pci =="
# No interrupt remapping under TCG (see vfio.sh); the program polls.
echo 1 > $UNSAFE
rebind "$C" vfio-pci
expect_eq "NVMe C is bound to vfio-pci" "$(driver_of "$C")" vfio-pci
check "NVMe C has a vfio cdev" \
	sh -c "ls /sys/bus/pci/devices/$C/vfio-dev | grep -q '^vfio'"

echo "== NVMe C reads into a dma-buf of NVMe A's CMB; NVMe A goes =="
OLD_PARAM=$(cat $PARAM)
HB=$(sed 's/^0x//' $HOST_BRIDGE/vendor):$(sed 's/^0x//' $HOST_BRIDGE/device)
check "the parameter takes q35's host bridge ($HB)" \
	sh -c "echo $HB > $PARAM"
tap 33 "vfio nvme" p2pmem_vfio_nvme "$NODE" "$C" "$A"
echo "$OLD_PARAM" > $PARAM
echo 0 > $UNSAFE
expect_eq "NVMe A's unbind completed: it has no driver" "$(driver_of "$A")" none
# What the controller wrote to the revoked IOVA faulted, though its read
# completed with success (QEMU's NVMe does not learn of it).
check "the IOMMU refused NVMe C's writes to the dma-buf's IOVA" \
	sh -c "dmesg | sed -n '/P2PDMA-MARK vfio-nvme/,\$p' |
		grep -qE 'DMA Write.*Request device \[$C\] fault addr $IOVA_DMABUF '"

echo "== NVMe A back to nvme, NVMe C too =="
echo "$A" > /sys/bus/pci/drivers/nvme/bind
check "NVMe A is bound to nvme again" test "$(driver_of "$A")" = nvme
check "it is live with its CMB published again within 60 s" \
	wait_for 60 live_published
wait_for 10 available_again
expect_eq "all of NVMe A's p2pmem it had is available again" \
	"$(cat "$P2PMEM/available")" "$AVAIL"
check "NVMe A has a p2pmem node again" test -c "$(p2pmem_node "$A")"
rebind "$C" nvme
expect_eq "NVMe C is bound to nvme again" "$(driver_of "$C")" nvme

# (No report's own words here: scripts/kernel-reports reads this line.)
check "the kernel reported no bug, warning or KASAN error since the start" \
	sh -c "! dmesg | sed -n '/P2PDMA-MARK vfio-nvme/,\$p' |
		grep -qE 'BUG:|WARNING:|KASAN'"
finish
