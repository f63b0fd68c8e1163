#!/bin/sh
# Two host bridges (tests/topologies/hostbridges.topo): NVMe A's CMB and
# NVMe X behind a PCI expander bridge.  q35 is not known to route P2P, so
# the path is refused, with its reason; the pci_p2pdma.host_bridges
# parameter vouches for both host bridges, and the copy then goes through
# the root complex (through-host-bridge mapping).
. /tests/lib.sh

PARAM=/sys/module/pci_p2pdma/parameters/host_bridges
A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) X=$(nvme_bdf P2PNVMEX)
BLK_A=$(nvme_blk P2PNVMEA) BLK_X=$(nvme_blk P2PNVMEX)
MIB=16
BYTES=$((MIB << 20))
REFUSED="distance=-1 map=not-supported reason=path crosses a root complex not known to route P2P"

echo "== NVMe A $A, NVMe X $X =="
check "NVMe X is below a host bridge of its own" \
	test -d "/sys/devices/pci0000:40/0000:40:00.0" -a \
	"$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$X")")")" = 0000:40:00.0
expect_eq "the parameter is empty by default" "$(cat $PARAM 2>&1)" ""
expect_eq "A -> B: same switch, bus address" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"
expect_eq "A -> X: across host bridges, refused by default" \
	"$(p2p_distance "$A" "$X")" "$REFUSED"

dd if=/dev/urandom of=/tmp/hsrc bs=1M count=$MIB 2>/dev/null
dd if=/tmp/hsrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
dd if=/dev/zero of="$BLK_X" bs=1M count=$MIB oflag=direct 2>/dev/null
# The distance query above logged the same line: look only after it.
dmesg_mark hostbridge-copy
expect_eq "a copy A -> CMB -> X fails with EREMOTEIO" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_X" "$BYTES" 2>/dev/null)" "error=-121"
check "the failed mapping's refusal names the host bridge that decided it" \
	logged_after hostbridge-copy "$A: p2pdma: refused with $X: path crosses a root complex not known to route P2P (at 0000:00:00.0)"

echo "== pci_p2pdma.host_bridges=8086:29c0,1b36:000c =="
tainted=$(cat /proc/sys/kernel/tainted)
expect_eq "TAINT_USER is clear before the parameter is set" $((tainted & 64)) 0
check "the parameter takes q35's host bridge and the expander's root port" \
	sh -c "echo 8086:29c0,1b36:000c > $PARAM"
expect_eq "the parameter reads back" "$(cat $PARAM)" "8086:29c0,1b36:000c"
expect_eq "setting it taints the kernel (TAINT_USER)" \
	$(($(cat /proc/sys/kernel/tainted) & 64)) 64
check "each entry is logged" \
	sh -c "dmesg | grep -q 'p2pdma: host bridge 8086:29c0 allowed to route P2P by the administrator' &&
	       dmesg | grep -q 'p2pdma: host bridge 1b36:000c allowed to route P2P by the administrator'"
# A: A, sw_dp0, sw_up, rp0; X: X, rp9; and 2 for the root complex.
expect_eq "A -> X: through the host bridges now" \
	"$(p2p_distance "$A" "$X")" "distance=8 map=through-host-bridge"
expect_eq "A -> B: still below the switch" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"

expect_p2p_copy "copy A -> CMB -> X through the root complex" \
	"$A" "$BLK_A" "$BLK_X" "$BYTES" /tmp/hsrc

echo "== bad values change nothing =="
for bad in 8086 8086:29c0:sometimes zzzz:1 8086:29c0,,1b36:000c; do
	check "'$bad' is refused with EINVAL" \
		sh -c "! echo '$bad' > $PARAM 2>/dev/null"
done
expect_eq "the parameter still holds both entries" "$(cat $PARAM)" \
	"8086:29c0,1b36:000c"
check "the refusal says what is wrong" \
	sh -c "dmesg | grep -q \"pci_p2pdma.host_bridges: 'zzzz:1' is not VENDOR:DEVICE\""

echo "== 8086:29c0:same: q35 routes only within its host bridge =="
check "the parameter takes a same-host-bridge entry" \
	sh -c "echo 8086:29c0:same,1b36:000c:same > $PARAM"
expect_eq "A -> X: refused, the root complex stays within a host bridge" \
	"$(p2p_distance "$A" "$X")" \
	"distance=-1 map=not-supported reason=path crosses host bridges the root complex does not route P2P between"
check "clearing the parameter" sh -c "echo > $PARAM"
expect_eq "A -> X: refused again once cleared" "$(p2p_distance "$A" "$X")" "$REFUSED"
[ "$tainted" = 0 ] || echo "   (tainted before the test: $tainted)"

# The same boot has the large provider the bounded-work checks need.
sh /tests/bounded.sh || FAILED=$((FAILED + 1))
finish
