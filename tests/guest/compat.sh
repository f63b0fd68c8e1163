#!/bin/sh
# A driver written for upstream's P2PDMA API (tools/testing/p2pdma/
# compat/), built out of tree with M= against this kernel: it loads, binds
# to the ivshmem device, passes its checks of every upstream entry point,
# and its own mmap() of pci_alloc_p2pmem() memory carries an O_DIRECT copy.
# The device goes back to p2pmem_pci at the end.
. /tests/lib.sh

BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
IV=$(ivshmem_bdf)
P2P=/sys/bus/pci/devices/$IV/p2pmem
KO=/usr/lib/p2pdma/p2pdma_compat.ko
MIB=16
CHECKS=20	# "ok - " lines the module prints at probe

bind_to() {
	echo "$2" > "/sys/bus/pci/devices/$1/driver_override" &&
		echo "$1" > /sys/bus/pci/drivers_probe &&
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = "$2" ]
}

unbind() {
	echo "$1" > "/sys/bus/pci/devices/$1/driver/unbind"
}

# module_checks MODULE LABEL FILE WHAT N - keep MODULE's lines of dmesg in
# FILE, report each of its "ok - " and "not ok - " lines as a check named
# "LABEL: ...", then whether it made all N (WHAT names that check).
module_checks() {
	dmesg | grep -F "$1: " > "$3"
	while read -r line; do
		case $line in
		*"$1: ok - "*)
			echo "P2PDMA-CHECK PASS $2: ${line#*"$1: ok - "}" ;;
		*"$1: not ok - "*)
			echo "P2PDMA-CHECK FAIL $2: ${line#*"$1: not ok - "}"
			FAILED=$((FAILED + 1)) ;;
		esac
	done < "$3"
	expect_eq "$4" "$(grep -c "$1: ok - " "$3")" "$5"
}

echo "== an out-of-tree driver of upstream's P2PDMA API =="
check "the module was built for this kernel (scripts/build-compat)" test -e "$KO"
[ -e "$KO" ] || finish
# A file held open on ivshmem's node across all that follows must not keep
# the node's number: the node of the next publishing takes it again.
NODE=$(p2pmem_node "$IV")
check "ivshmem has a node ($NODE), held open from here" test -c "$NODE"
exec 3< "$NODE"
check "ivshmem leaves p2pmem_pci" unbind "$IV"
dmesg -c > /dev/null
check "insmod p2pdma_compat.ko" insmod "$KO"
check "it binds to ivshmem through driver_override" bind_to "$IV" p2pdma_compat

module_checks p2pdma_compat compat /tmp/compat.out \
	"the module made all its $CHECKS checks" "$CHECKS"
expect_eq "its memory is published, as the framework's own files say" \
	"$(cat "$P2P/published" 2>&1)" 1

case $(uname -r) in
6.*)
	echo "== O_DIRECT $BLK_A -> its mmap() of pci_alloc_p2pmem() memory -> $BLK_B =="
	dd if=/dev/urandom of=/tmp/csrc bs=1M count=$MIB 2>/dev/null
	dd if=/tmp/csrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
	p2p_copy_checks "copy through /dev/p2pdma_compat" "$IV" "$BLK_A" "$BLK_B" \
		/tmp/csrc -d /dev/p2pdma_compat
	;;
*)
	# From 7.3 on, pages of kernel allocations hold no reference, as
	# upstream's: vm_insert_page() refuses them, and a driver that maps
	# them so has to take one first, as p2pmem/allocate does.
	echo "== its mmap() of pci_alloc_p2pmem() memory is refused, as upstream 7.3 =="
	expect_eq "mmap() of /dev/p2pdma_compat fails with EINVAL" \
		"$(p2pmem_copy -d /dev/p2pdma_compat "$IV" "$BLK_A" "$BLK_B" $((MIB << 20)) 2>&1)" \
		"p2pmem_copy: mmap 1048576 bytes of /dev/p2pdma_compat: Invalid argument
error=-22"
	;;
esac
expect_eq "all its p2pmem returned" "$(cat "$P2P/available" 2>&1)" $((16 << 20))

echo "== unloading it =="
check "it unbinds" unbind "$IV"
check "p2pmem/ left with it" test ! -e "$P2P"
check "rmmod p2pdma_compat" rmmod p2pdma_compat

# 7.3 describes BARs by provider, with or without pages: a driver written
# in that spelling (tools/testing/p2pdma/compat-7.3/), on the kernels
# whose upstream has it.
case $(uname -r) in
6.*) ;;
*)
	echo "== an out-of-tree driver of 7.3's per-BAR P2PDMA API =="
	BAR_KO=/usr/lib/p2pdma/p2pdma_bar.ko
	BAR_CHECKS=12
	check "the 7.3-API module was built for this kernel" test -e "$BAR_KO"
	dmesg -c > /dev/null
	check "insmod p2pdma_bar.ko" insmod "$BAR_KO"
	check "it binds to ivshmem through driver_override" bind_to "$IV" p2pdma_bar
	module_checks p2pdma_bar p2pdma_bar /tmp/bar.out \
		"the 7.3-API module made all its $BAR_CHECKS checks" "$BAR_CHECKS"
	# The switch carries NVMe A and B; NVMe C is behind another root port
	# of a host bridge nobody vouched for.
	for n in A:bus B:bus C:refused; do
		bdf=$(nvme_bdf "P2PNVME${n%:*}")
		expect_eq "pci_p2pdma_map_type() of a page-less provider for NVMe ${n%:*}" \
			"$(sed -n "s/.*p2pdma_bar: map_type $bdf //p" /tmp/bar.out)" "${n#*:}"
	done
	check "it unbinds" unbind "$IV"
	check "p2pmem/ left with it" test ! -e "$P2P"
	check "rmmod p2pdma_bar" rmmod p2pdma_bar
	;;
esac

echo "== giving ivshmem back to p2pmem_pci =="
check "ivshmem binds to p2pmem_pci again" bind_to "$IV" p2pmem_pci
expect_eq "its node has its number again, the old node still open" \
	"$(p2pmem_node "$IV")" "$NODE"
exec 3<&-
finish
