#!/bin/sh
# Fault injection (debug kernel: failslab, fail_page_alloc, fail-nth):
# every slab and page allocation of binding p2pmem_pci to ivshmem, of
# mapping its p2pmem, and of the in-kernel copy through it fails in turn,
# and each attempt must fail leaving nothing behind or work whole.  The
# init's kmemleak scan at the end covers leaks.  Leaves ivshmem bound to
# p2pmem_pci, as it found it.
. /tests/lib.sh

IV=$(ivshmem_bdf)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
P2P=/sys/bus/pci/devices/$IV/p2pmem
FI=/sys/kernel/debug

echo "== fault injection: each allocation of a p2pmem path fails in turn =="
# fi_setup N|Y - make allocations that may sleep fail too (N), or not (Y).
# The markers tell scripts/qemu-run where upstream WARNs about failed
# allocations are excused (tests/known-kernel-reports).
fi_setup() {
	for f in failslab fail_page_alloc; do
		echo 0 > "$FI/$f/verbose" &&
			echo "$1" > "$FI/$f/ignore-gfp-wait" || return 1
	done
	echo 0 > "$FI/fail_page_alloc/min-order" &&
		if [ "$1" = N ]; then echo P2PDMA-FAULTS on; else echo P2PDMA-FAULTS off; fi
}
check "fault injection is set up (failslab, fail_page_alloc)" fi_setup N
avail_before=$(cat "$P2P/available")

check "ivshmem leaves p2pmem_pci" \
	sh -c "echo $IV > /sys/bus/pci/drivers/p2pmem_pci/unbind"
tap 3 "faults: bind" p2pmem_faults "$IV" bind p2pmem_pci 60
[ -e "/sys/bus/pci/devices/$IV/driver" ] ||
	echo "$IV" > /sys/bus/pci/drivers/p2pmem_pci/bind
check "ivshmem is bound to p2pmem_pci again" test -e "$P2P/allocate"
tap 3 "faults: mmap" p2pmem_faults "$IV" mmap 30
tap 3 "faults: copy" p2pmem_faults "$IV" copy "$BLK_A" "$BLK_B" 30

fi_setup Y
expect_eq "all ivshmem p2pmem free after the faults" \
	"$(cat "$P2P/available")" "$avail_before"
finish
