#!/bin/sh
# The default topology behind QEMU's Intel IOMMU (tests/topologies/
# iommu.topo, intel_iommu=on), where every DMA is translated.
#
# QEMU 7.2's switch ports implement no ACS, so NVMe A and NVMe B still
# meet in the switch and the rules give them a bus address, as on real
# hardware, where the switch turns such requests around before any IOMMU
# sees them.  QEMU's switch does not: it hands every DMA to its IOMMU, which
# faults on the bus address (and QEMU's NVMe then completes the command
# with whatever it read).  So this test checks that verdict but copies
# only on the path QEMU can carry: NVMe A's CMB to NVMe C on the other root
# port, through the root complex.  That path is refused on q35 until the
# pci_p2pdma.host_bridges parameter vouches for it; then it is mapped like
# system memory, through an IOVA of the IOMMU, and the data must arrive.
# Last, the same for two functions of one slot on the root bus (RCiEPs).
. /tests/lib.sh

PARAM=/sys/module/pci_p2pdma/parameters/host_bridges
A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_C=$(nvme_blk P2PNVMEC)
MIB=16
BYTES=$((MIB << 20))

# A dma-buf of ivshmem's p2pmem mapped for an NVMe function through the
# host bridge: IOVAs that translate to the BAR.  The one KUnit case this
# topology boots with (iommu.topo), before anything binds ivshmem; 7.3's,
# as dma-buf export is.  A skip fails.
case $(uname -r) in
6.12*) ;;
*)
	r=/sys/kernel/debug/kunit/p2pdma_dmabuf/results
	grep -E '^ +(not )?ok [0-9]+ |^ +# (Expected|.*SKIP)' "$r" 2>&1 | sed 's/^/   /'
	check "KUnit case dmabuf_test_map_host_bridge passes behind the IOMMU" \
		grep -qE "^ +ok [0-9]+ dmabuf_test_map_host_bridge\$" "$r"
	;;
esac

# acs_ctrl BDF - the ACS control register of a function, or "none".
acs_ctrl() {
	cfg=/sys/bus/pci/devices/$1/config
	off=256
	while [ "$off" -ne 0 ]; do
		hdr=$(od -An -tx4 -j "$off" -N4 "$cfg" | tr -d ' ')
		[ -n "$hdr" ] || break
		if [ $((0x$hdr & 0xffff)) -eq 13 ]; then
			echo "0x$(od -An -tx2 -j $((off + 6)) -N2 "$cfg" | tr -d ' ')"
			return 0
		fi
		off=$(((0x$hdr >> 20) & 0xffc))
	done
	echo none
}

# port_of BDF - the bridge a function sits below.
port_of() {
	basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$1")")"
}

echo "== the IOMMU =="
check "the IOMMU is on (a DMAR unit in /sys/class/iommu)" \
	sh -c "ls /sys/class/iommu | grep -q dmar"
for d in "$A" "$B" "$C"; do
	check "$d is in an IOMMU group with a translating DMA domain" \
		sh -c "grep -qx 'DMA\(-FQ\)\?' /sys/bus/pci/devices/$d/iommu_group/type"
done

DP_A=$(port_of "$A") DP_B=$(port_of "$B")
expect_eq "QEMU's switch ports implement no ACS" \
	"$(acs_ctrl "$DP_A") $(acs_ctrl "$DP_B")" "none none"
expect_eq "A -> B: below the switch, bus address (not copied: see above)" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"

echo "== A -> C through the root complex: refused on q35 by default =="
expect_eq "A -> C: refused, q35 is not known to route P2P" \
	"$(p2p_distance "$A" "$C")" \
	"distance=-1 map=not-supported reason=path crosses a root complex not known to route P2P"
dd if=/dev/urandom of=/tmp/isrc bs=1M count=$MIB 2>/dev/null
dd if=/tmp/isrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
dd if=/dev/zero of="$BLK_C" bs=1M count=$MIB oflag=direct 2>/dev/null
# The distance query above logged the same line: look only after it.
dmesg_mark iommu-copy
expect_eq "a userspace copy A -> CMB -> C fails with EREMOTEIO" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_C" "$BYTES" 2>/dev/null)" "error=-121"
check "the failed mapping logs the reason and the host bridge" \
	logged_after iommu-copy "$A: p2pdma: refused with $C: path crosses a root complex not known to route P2P (at 0000:00:00.0)"

echo "== pci_p2pdma.host_bridges=8086:29c0: through the host bridge, by IOVA =="
check "the parameter takes q35's host bridge" sh -c "echo 8086:29c0 > $PARAM"
# A: A, sw_dp0, sw_up, rp0; C: C, rp1; and 2 for the root complex.
expect_eq "A -> C: through the host bridge" \
	"$(p2p_distance "$A" "$C")" "distance=8 map=through-host-bridge"
expect_eq "A -> B: still below the switch" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"
expect_p2p_copy "userspace O_DIRECT copy A -> CMB -> C through the IOMMU" \
	"$A" "$BLK_A" "$BLK_C" "$BYTES" /tmp/isrc

dd if=/dev/zero of="$BLK_C" bs=1M count=$MIB oflag=direct 2>/dev/null
dma_before=$(p2p_stat "$A" dma_mapped_bytes)
check "in-kernel copy A -> CMB -> C (bios) through the IOMMU" \
	p2p_copy "$A" "$BLK_A" "$BLK_C" "$BYTES"
expect_eq "NVMe C holds NVMe A's data again" \
	"$(md5_dev "$BLK_C" "$BYTES")" "$(md5sum < /tmp/isrc)"
expect_eq "that copy moved 2 x $MIB MiB through the CMB too" \
	"$(($(p2p_stat "$A" dma_mapped_bytes) - dma_before))" $((2 * BYTES))
check "no DMAR fault was logged" sh -c "! dmesg | grep -q 'DMAR: \[DMA \(Read\|Write\)'"
check "clearing the parameter" sh -c "echo > $PARAM"
expect_eq "A -> C: refused again" "$(p2p_distance "$A" "$C")" \
	"distance=-1 map=not-supported reason=path crosses a root complex not known to route P2P"

# Two functions of one slot on the root bus, ivshmem (a provider through
# p2pmem_pci) and NVMe R: their requests go through the root complex and
# its IOMMU, which would look a bus address up as an IOVA and fault.  So
# the root complex's rule decides, as between any two of its devices.
echo "== one root-bus slot: ivshmem as function 0, NVMe R as function 1 =="
IV=$(ivshmem_bdf) R=$(nvme_bdf P2PNVMER) BLK_R=$(nvme_blk P2PNVMER)
expect_eq "ivshmem and NVMe R are functions 0 and 1 of one root-bus slot" \
	"${IV%.0} ${R%.1} ${IV%:*}" "${R%.1} ${IV%.0} 0000:00"
check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
expect_eq "ivshmem -> NVMe R: refused, q35 is not known to route P2P" \
	"$(p2p_distance "$IV" "$R")" \
	"distance=-1 map=not-supported reason=path crosses a root complex not known to route P2P"
dd if=/dev/urandom of=/tmp/rsrc bs=1M count=4 2>/dev/null
dd if=/tmp/rsrc of="$BLK_R" bs=1M oflag=direct 2>/dev/null
dmesg_mark iommu-rciep
expect_eq "an O_DIRECT read from NVMe R into ivshmem's p2pmem fails with EREMOTEIO" \
	"$(p2pmem_copy "$IV" "$BLK_R" "$BLK_C" 4M 2>/dev/null)" "error=-121"
check "no DMAR fault and no I/O error meanwhile" \
	sh -c "! dmesg | sed -n '/P2PDMA-MARK iommu-rciep/,\$p' | grep -qE 'DMAR: \[DMA (Read|Write)|I/O error'"
check "the parameter takes q35's host bridge again" sh -c "echo 8086:29c0 > $PARAM"
# Each function is one hop below the root complex, which adds 2.
expect_eq "ivshmem -> NVMe R: through the host bridge" \
	"$(p2p_distance "$IV" "$R")" "distance=4 map=through-host-bridge"
expect_p2p_copy "O_DIRECT copy NVMe R -> ivshmem's p2pmem -> NVMe C by IOVA" \
	"$IV" "$BLK_R" "$BLK_C" $((4 << 20)) /tmp/rsrc
check "no DMAR fault was logged by the copy" \
	sh -c "! dmesg | sed -n '/P2PDMA-MARK iommu-rciep/,\$p' | grep -q 'DMAR: \[DMA \(Read\|Write\)'"
check "clearing the parameter once more" sh -c "echo > $PARAM"

# Last, as its DMA faults in the IOMMU: what the rules allow and QEMU
# cannot carry, A -> B below the switch, found by tools/pci/p2pdma-probe.
echo "== the probe on A -> B, which QEMU's switch hands to its IOMMU =="
WRITES_FAILED="a probe saw the client's P2P writes go wrong (debugfs p2pdma verdicts)"
BLK_B=$(nvme_blk P2PNVMEB)
dd if=/dev/urandom of="$BLK_A" bs=1M count=$MIB oflag=direct 2>/dev/null
dd if=/dev/urandom of="$BLK_B" bs=1M count=$MIB oflag=direct 2>/dev/null
out=$(p2pdma-probe "$A" "$B")
expect_eq "the probe finds A -> B broken (exit 1)" "$?" 1
echo "$out" | sed 's/^/   /'
expect_eq "B's writes into the CMB never land" "$(echo "$out" | sed -n 1p)" \
	"client-writes failed: stale data, 4096 bytes at p2pmem offset 0"
check "and B's reads of it do not see its data (a Compare Failure)" \
	sh -c "echo '$out' | sed -n 2p | grep -q '^client-reads failed: Compare of 4096 bytes at p2pmem offset 0: status 0x285$'"
expect_eq "the kernel refuses A -> B from then on, with the probe's reason" \
	"$(p2p_distance "$A" "$B")" \
	"distance=-1 map=not-supported reason=$WRITES_FAILED"
before=$(md5_dev "$BLK_B" "$BYTES")
# The log of refusals is rate limited: their count is not.
counted=$(traffic "$A" "$B" not-supported "$WRITES_FAILED")
expect_eq "an O_DIRECT copy A -> CMB -> B is refused (EREMOTEIO)" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_B" "$BYTES" 2>/dev/null)" "error=-121"
expect_eq "and no data reached NVMe B" "$(md5_dev "$BLK_B" "$BYTES")" "$before"
check "the refusal gives the probe's reason" \
	test "$(traffic_delta "$counted" "$(traffic "$A" "$B" not-supported "$WRITES_FAILED")" |
		cut -d' ' -f1)" -ge 1
check "root forgets the verdicts" \
	sh -c "echo '$B reset' > /sys/kernel/debug/p2pdma/$A/verdicts"
expect_eq "A -> B: the rules' bus address again" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"
finish
