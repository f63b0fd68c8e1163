#!/bin/sh
# Two providers in one topology: NVMe A's CMB and the BAR of an
# ivshmem-plain device offered by the generic p2pmem_pci driver, both
# behind the switch.  Choosing between them, copying through the ivshmem
# memory, and unbinding p2pmem_pci under a live mapping, then again and
# again while other processes keep mapping it.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
IV=$(ivshmem_bdf)
P2P=/sys/bus/pci/devices/$IV/p2pmem
MIB=16

echo "== a second provider: ivshmem $IV through p2pmem_pci =="
check "p2pmem_pci binds to ivshmem through driver_override" bind_p2pmem_pci "$IV"
check "ivshmem offers its 16 MiB BAR (sysfs well formed)" \
	p2pmem_info "$IV" $((16 << 20))
expect_eq "the ivshmem memory is published" "$(cat "$P2P/published" 2>/dev/null)" 1
expect_switch_paths "$IV" ivshmem

echo "== choosing a provider for a set of clients =="
expect_eq "{NVMe A, NVMe B}: NVMe A's own CMB is closest" \
	"$(p2p_find "$A" "$B")" "provider=$A distance=4"
expect_eq "{ivshmem, NVMe B}: the ivshmem BAR is closest" \
	"$(p2p_find "$IV" "$B")" "provider=$IV distance=4"
expect_eq "{NVMe B, NVMe C}: no provider reaches both" \
	"$(p2p_find "$B" "$C")" "provider=none"
seen=$(for i in 1 2 3 4; do p2p_find "$B"; done | sort -u | tr '\n' ' ')
want=$(printf 'provider=%s distance=4\n' "$A" "$IV" | sort | tr '\n' ' ')
expect_eq "{NVMe B}: the two equally close providers take turns" "$seen" "$want"

echo "== O_DIRECT $BLK_A -> mmap of ivshmem p2pmem -> $BLK_B =="
dd if=/dev/urandom of=/tmp/psrc bs=1M count=$MIB 2>/dev/null
dd if=/tmp/psrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
p2p_copy_checks "copy through the ivshmem BAR" "$IV" "$BLK_A" "$BLK_B" /tmp/psrc
expect_eq "all ivshmem p2pmem returned" \
	"$(cat "$P2P/available")" $((16 << 20))

echo "== the same copy through the ivshmem provider's /dev/p2pmemN =="
NODE_IV=$(p2pmem_node "$IV")
check "the ivshmem provider has a node of class p2pmem" test -c "$NODE_IV"
p2p_copy_checks "copy through $NODE_IV" "$IV" "$BLK_A" "$BLK_B" /tmp/psrc \
	-d "$NODE_IV"

echo "== unbinding p2pmem_pci under a live mapping =="
tap 10 "p2pmem_pci unbind" p2pmem_mmap_test "$IV" unbind p2pmem_pci

# Mappings made while the unbind revokes the others must not escape it.
echo "== 3 processes mapping p2pmem while p2pmem_pci is unbound and bound for 8 s =="
tap 6 "p2pmem_pci race" p2pmem_mmap_test "$IV" race p2pmem_pci 8

echo "== unbinding p2pmem_pci under a live mapping of its /dev/p2pmemN =="
NODE_IV=$(p2pmem_node "$IV")
tap 11 "p2pmem_pci unbind, node" p2pmem_mmap_test -d "$NODE_IV" "$IV" unbind p2pmem_pci

# Memory a driver keeps to itself is not userspace's either.
echo "== p2pmem_pci.publish=0: registered, not published =="
rebind_p2pmem_pci() {
	echo "$IV" > /sys/bus/pci/drivers/p2pmem_pci/unbind &&
		echo "$IV" > /sys/bus/pci/drivers/p2pmem_pci/bind
}
echo 0 > /sys/module/p2pmem_pci/parameters/publish
check "p2pmem_pci binds again with publish=0" rebind_p2pmem_pci
expect_eq "the memory is registered" "$(cat "$P2P/size" 2>&1)" $((16 << 20))
expect_eq "but not published" "$(cat "$P2P/published" 2>&1)" 0
check "and has no p2pmem/allocate" test ! -e "$P2P/allocate"
# The class is there (NVMe A's node is in it): only ivshmem has none.
expect_eq "and no /dev/p2pmem node, where the class has others" \
	"$(p2pmem_node "$IV") $(ls /sys/class/p2pmem 2>/dev/null | grep -c .)" " 1"
echo 1 > /sys/module/p2pmem_pci/parameters/publish
check "p2pmem_pci binds again with publish=1" rebind_p2pmem_pci
check "p2pmem/allocate is back" test -e "$P2P/allocate"
check "the /dev/p2pmem node is back" test -c "$(p2pmem_node "$IV")"
finish
