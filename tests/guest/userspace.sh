#!/bin/sh
# The p2pmem/allocate ABI from userspace: O_DIRECT copies through a mmap()
# of the CMB, which other page pinners must not get, refused mappings, the
# debugfs statistics, and the provider going away under a live mapping:
# unbound (and bound again), then hot-unplugged, which has to come last.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB) BLK_C=$(nvme_blk P2PNVMEC)
P2P=/sys/bus/pci/devices/$A/p2pmem
MIB=16
BYTES=$((MIB << 20))

# NVMe keeps some of its CMB for its own queues: measure from here.
avail_before=$(cat "$P2P/available")
in_use_before=$(p2p_stat "$A" in_use)

echo "== p2pmem/allocate: refused and accepted mappings =="
tap 10 "allocate" p2pmem_mmap_test "$A" badargs
tap 20 "VM operations" p2pmem_mmap_test "$A" vmops

echo "== O_DIRECT $BLK_A -> mmap of $A's CMB -> $BLK_B, from userspace =="
dd if=/dev/urandom of=/tmp/usrc bs=1M count=$MIB 2>/dev/null
dd if=/tmp/usrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
want=$(md5sum < /tmp/usrc)
maps_before=$(p2p_stat "$A" user_maps)
dma_before=$(p2p_stat "$A" dma_mapped_bytes)
alloc_before=$(p2p_stat "$A" alloc_bytes)
free_before=$(p2p_stat "$A" free_bytes)

# copy_case NAME EXPECTED_OUTPUT CHUNK [OPTIONS...] - copy into a zeroed B
# through CHUNK-sized p2pmem buffers, and verify.
copy_case() {
	name=$1 expected=$2 chunk=$3
	shift 3
	dd if=/dev/zero of="$BLK_B" bs=1M count=$MIB oflag=direct 2>/dev/null
	expect_eq "$name: p2pmem_copy reports" \
		"$(p2pmem_copy "$@" "$A" "$BLK_A" "$BLK_B" "$BYTES" "$chunk" 2>&1)" \
		"$expected"
	expect_eq "$name: NVMe B holds exactly NVMe A's data" \
		"$(md5_dev "$BLK_B" "$BYTES")" "$want"
}
copy_case "1 MiB buffer" "copied=$BYTES chunks=$MIB" 1M
copy_case "2 threads, 256 KiB buffers" "copied=$BYTES chunks=64" 256K -t 2
copy_case "12 KiB buffer (not a power of two)" \
	"copied=$BYTES chunks=$(((BYTES + 12287) / 12288))" 12K
expect_eq "each copy moved its data in and out through A's CMB" \
	"$(($(p2p_stat "$A" dma_mapped_bytes) - dma_before))" $((3 * 2 * BYTES))
expect_eq "every copy buffer was a mapping of allocate" \
	"$(($(p2p_stat "$A" user_maps) - maps_before))" 4
# The four buffers: 1 MiB, two of 256 KiB and 12 KiB, each way once.
bufs=$(((1024 + 2 * 256 + 12) << 10))
expect_eq "alloc_bytes and free_bytes grew by the copy buffers' bytes" \
	"$(($(p2p_stat "$A" alloc_bytes) - alloc_before)) $(($(p2p_stat "$A" free_bytes) - free_before))" \
	"$bufs $bufs"
expect_eq "alloc_bytes - free_bytes is in_use" \
	"$(($(p2p_stat "$A" alloc_bytes) - $(p2p_stat "$A" free_bytes)))" \
	"$(p2p_stat "$A" in_use)"
expect_eq "no p2pmem left mapped after the copies" "$(p2p_stat "$A" user_pages)" 0
expect_eq "all p2pmem returned after the copies" \
	"$(cat "$P2P/available")" "$avail_before"

echo "== /dev/p2pmemN of $A, the seed's character device =="
NODE_A=$(p2pmem_node "$A")
check "NVMe A has a node of class p2pmem linked to it" test -c "$NODE_A"
expect_eq "the node is root-only" "$(stat -c '%a %u %g' "$NODE_A" 2>&1)" "600 0 0"
expect_eq "p2pmem/allocate has upstream's mode" "$(stat -c %a "$P2P/allocate")" 660
uevent=/sys/class/p2pmem/${NODE_A#/dev/}/uevent
check "its uevent names the PCI function" grep -qx "PCI_SLOT_NAME=$A" "$uevent"
check "its uevent names the node" grep -qx "DEVNAME=${NODE_A#/dev/}" "$uevent"
dma_before=$(p2p_stat "$A" dma_mapped_bytes)
copy_case "1 MiB buffer mapped from $NODE_A" "copied=$BYTES chunks=$MIB" 1M \
	-d "$NODE_A"
expect_eq "the node's copy moved its data in and out through A's CMB" \
	"$(($(p2p_stat "$A" dma_mapped_bytes) - dma_before))" $((2 * BYTES))
expect_eq "all p2pmem returned after the node's copy" \
	"$(cat "$P2P/available")" "$avail_before"

echo "== one O_DIRECT request mixing p2pmem and system pages =="
tap 14 "mixed request" p2pmem_mmap_test "$A" mixed "$BLK_B"

echo "== paths that must refuse p2pmem =="
expect_eq "O_DIRECT from NVMe C (other root port) fails with EREMOTEIO" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_C" 1M 2>/dev/null)" "error=-121"
dd if=/dev/zero of=/tmp/loop.img bs=1M count=4 2>/dev/null
losetup /dev/loop0 /tmp/loop.img
tap 11 "page pinning" p2pmem_mmap_test "$A" gup /dev/loop0
losetup -d /dev/loop0

echo "== statistics of $A =="
cat "/sys/kernel/debug/p2pdma/$A/stats" | sed 's/^/   /'
expect_eq "stats: in use only what NVMe A itself holds" \
	"$(p2p_stat "$A" in_use)" "$in_use_before"
expect_eq "stats: size is the 64 MiB CMB" "$(p2p_stat "$A" size)" $((64 << 20))
check "stats: NVMe B reached over the switch by bus address" \
	grep -qx "client $B distance 4 map bus-address" "/sys/kernel/debug/p2pdma/$A/stats"
check "stats: NVMe C refused" \
	grep -qx "client $C distance -1 map not-supported" "/sys/kernel/debug/p2pdma/$A/stats"

echo "== new mappings hold zeros, whatever the last user left =="
tap 20 "clean pages" p2pmem_mmap_test "$A" clean nvme
expect_eq "clean pages: all p2pmem returned" \
	"$(cat "$P2P/available")" "$avail_before"

echo "== unbinding $A's driver under a live mapping =="
tap 10 "unbind" p2pmem_mmap_test "$A" unbind nvme
check "the provider comes back published" \
	test "$(cat "$P2P/published" 2>/dev/null)" = 1

# nvme_a is the qdev id of NVMe A in tests/topologies/default.topo.
echo "== hot-unplug of $A (QMP device_del) under a live mapping and O_DIRECT =="
IV=$(ivshmem_bdf)
IV_STATS=/sys/kernel/debug/p2pdma/$IV/stats
p2p_distance "$IV" "$A" > /dev/null
check "the ivshmem provider has a cached path to NVMe A" \
	grep -qx "client $A distance [0-9]* map [a-z-]*" "$IV_STATS"
# What NVMe A's driver holds of its CMB (its queues) when the copies start.
held=$(p2p_stat "$A" in_use)
# The device's own sysfs directory goes after the bus notifier that makes
# providers forget it; the link in /sys/bus/pci/devices goes before.
DEV=$(readlink -f "/sys/bus/pci/devices/$A")
# unplug.sh BDF BLK DEV - while 4 threads copy BLK -> BDF's CMB -> BLK with
# O_DIRECT, again and again, unplug BDF once the first copy has reported;
# return once DEV is gone.  When the copies stop, note NVMe A's controller
# state: "live" means they failed before its removal began.  Wall-clock
# bounds (60 s each; p2pmem_mmap_test allows 180 s in all): a slow host's
# copy must not end the test, a stuck one must.
cat > /tmp/unplug.sh <<'UNPLUG'
now() { read -r up _ < /proc/uptime; echo "${up%.*}"; }
( while p2pmem_copy -t 4 "$1" "$2" "$2" 16M 256K; do :; done
  cat "$3"/nvme/nvme*/state > /tmp/unplug-copy.state 2>/dev/null ||
	echo gone > /tmp/unplug-copy.state ) > /tmp/unplug-copy.out 2>&1 &
copies=$!
end=$(($(now) + 60))
until grep -q '^copied=' /tmp/unplug-copy.out ||
      ! kill -0 $copies 2>/dev/null || [ "$(now)" -ge $end ]; do
	sleep 0.1
done
echo P2PDMA-HOST device_del nvme_a > /dev/console
end=$(($(now) + 60))
while [ -e "$3" ] && [ "$(now)" -lt $end ]; do
	sleep 0.1
done
wait
[ ! -e "$3" ]
UNPLUG
# The copies start once the test has mapped its own 2 pages, which their
# checks of "available" count.
tap 6 "hot-unplug" p2pmem_mmap_test "$A" gone "sh /tmp/unplug.sh $A $BLK_B $DEV"
# The unplug lands inside a copy (an I/O or the mmap fails: "error=-N"),
# or between a copy's last I/O and its check that munmap gave the memory
# back, or between two copies.  Any other last line is a bug.
unplug_copy_end() {
	last=$(tail -n 1 /tmp/unplug-copy.out)
	case "$last" in
	error=-[0-9]*) echo "error" ;;
	# The provider was detached by the check: its pool reads 0.
	"available is 0 after munmap, expected "[0-9]*) echo "error" ;;
	# NVMe A's remove() had freed its queues, and its teardown perhaps
	# the test's 2 mapped pages, not yet its pool: more is free than
	# before the copy, by no more than those.
	"available is "[0-9]*" after munmap, expected "[0-9]*)
		set -- $last
		if [ "$3" -gt "$7" ] &&
		   [ $(($3 - $7)) -le $((held + 2 * 4096)) ]; then
			echo "error"
		else
			echo "$last"
		fi ;;
	# The device left between a run's last I/O and its final check, or
	# between two runs; the files of a departed device are gone (or, if
	# open at that moment, say so), any other error is a real one.
	*"/p2pmem/available after munmap: No such file or directory" | \
	*"/p2pmem/available after munmap: No such device" | \
	*"/p2pmem/available before the copy: No such file or directory" | \
	*"/p2pmem/available before the copy: No such device")
		echo "error" ;;
	*) echo "$last" ;;
	esac
}
echo "   the copies' last line: $(tail -n 1 /tmp/unplug-copy.out)"
expect_eq "copies in flight at the unplug ran, then stopped with an error" \
	"$(unplug_copy_end)" "error"
check "at least one copy completed before the unplug" \
	grep -q '^copied=' /tmp/unplug-copy.out
check "the copies stopped once NVMe A's removal had begun ($(cat /tmp/unplug-copy.state))" \
	sh -c 'test -s /tmp/unplug-copy.state && test "$(cat /tmp/unplug-copy.state)" != live'
check "the provider's statistics left with it" \
	test ! -e "/sys/kernel/debug/p2pdma/$A"
# Stale entries are listed too: a departed client must have none at all.
check "the ivshmem provider forgot its path to the departed NVMe A" \
	sh -c "test -r $IV_STATS && ! grep -q '^client $A ' $IV_STATS"
check "removals never had to wait for memory" \
	sh -c "! dmesg | grep -q 'removal waits for'"
finish
