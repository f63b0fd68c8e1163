#!/bin/sh
# The demo: show the PCI tree with providers and distances, then copy data
# NVMe A -> CMB of NVMe A -> NVMe B through p2pmem and verify it, in the
# kernel and from userspace (O_DIRECT into a mapping of the CMB).
. /tests/lib.sh

MIB=16
A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB) BLK_C=$(nvme_blk P2PNVMEC)
P2P=/sys/bus/pci/devices/$A/p2pmem
# The ivshmem device is the second provider, once p2pmem_pci has it.
IV=$(ivshmem_bdf) && bind_p2pmem_pci "$IV"

echo "== PCI tree (providers marked with their p2pmem) =="
pci_tree
echo
echo "== Which devices can do P2P with which (tools/pci/p2pdma-topo) =="
p2pdma-topo
echo
# The host renders this as build/demo/topology.png.
echo "P2PDMA-DOT-BEGIN"
p2pdma-topo --dot
echo "P2PDMA-DOT-END"

check "NVMe A ($A) registers its 64 MiB CMB as p2pmem (sysfs well formed)" \
	p2pmem_info "$A" $((64 << 20))
check "NVMe B, not a provider, has no p2pmem attributes" \
	sh -c "test -d /sys/bus/pci/devices/$B && test ! -e /sys/bus/pci/devices/$B/p2pmem"
expect_eq "the CMB is published" "$(cat "$P2P/published" 2>/dev/null)" 1
expect_switch_paths "$A" "NVMe A"
check "the refusal is logged naming both devices" \
	sh -c "dmesg | grep -q '$A: p2pdma: refused with $C: path crosses a root complex'"

echo "== copying $MIB MiB: $BLK_A -> CMB of $A -> $BLK_B =="
avail_before=$(cat "$P2P/available")
dd if=/dev/urandom of=/tmp/src bs=1M count=$MIB 2>/dev/null
dd if=/tmp/src of="$BLK_A" bs=1M oflag=direct 2>/dev/null
dd if=/dev/zero of="$BLK_B" bs=1M count=$MIB oflag=direct 2>/dev/null
dma_before=$(p2p_stat "$A" dma_mapped_bytes)
check "copy through p2pmem succeeds" p2p_copy "$A" "$BLK_A" "$BLK_B" $((MIB << 20))
result=$(cat /sys/kernel/debug/p2pdma_e2e/copy)
echo "   $result"
expect_eq "the copy moved $MIB MiB" "$result" "copied=$((MIB << 20)) chunks=$MIB"
# Read into the CMB by NVMe A, written out of it by NVMe B: each byte
# crossed the BAR twice, mapped for DMA through the provider.
expect_eq "the data crossed the CMB both ways: 2 x $MIB MiB mapped through $A" \
	"$(($(p2p_stat "$A" dma_mapped_bytes) - dma_before))" $((2 * (MIB << 20)))
sync
echo 3 > /proc/sys/vm/drop_caches
want=$(md5sum < /tmp/src)
got=$(dd if="$BLK_B" bs=1M count=$MIB iflag=direct 2>/dev/null | md5sum)
expect_eq "NVMe B holds exactly the data written to NVMe A" "$got" "$want"
expect_eq "p2pmem is all returned after the copy" \
	"$(cat "$P2P/available")" "$avail_before"

echo "== the same from userspace: O_DIRECT through a mmap() of p2pmem/allocate =="
dd if=/dev/zero of="$BLK_B" bs=1M count=$MIB oflag=direct 2>/dev/null
expect_eq "userspace copy through the mapped CMB" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_B" $((MIB << 20)) 2>&1)" \
	"copied=$((MIB << 20)) chunks=$MIB"
expect_eq "NVMe B holds NVMe A's data again" "$(md5_dev "$BLK_B" $((MIB << 20)))" "$want"
sed 's/^/   /' "/sys/kernel/debug/p2pdma/$A/stats"

copy_to_c_refused() { ! p2p_copy "$A" "$BLK_A" "$BLK_C" 4096 2>/dev/null; }
check "a copy to NVMe C is refused" copy_to_c_refused
check "the refused copy fails with EREMOTEIO" \
	grep -qx "error=-121" /sys/kernel/debug/p2pdma_e2e/copy
finish
