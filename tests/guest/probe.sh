#!/bin/sh
# tools/pci/p2pdma-probe on the default topology: it verifies the paths
# that work in both directions, the kernel keeps what it found and shows it
# (debugfs verdicts and paths, p2pdma-topo), a failed direction refuses the
# path with the probe's reason and no data crosses it, --reset forgets it,
# the strict policy wants a probe on a path through the root complex, and
# a provider unbound during a probe stops it without a verdict.  The
# failing path itself is iommu.sh's.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
IV=$(ivshmem_bdf)
DBG=/sys/kernel/debug/p2pdma
PARAM=/sys/module/pci_p2pdma/parameters
READS_FAILED="a probe saw the client's P2P reads go wrong (debugfs p2pdma verdicts)"
STRICT="strict policy: root complex path not verified by a probe (p2pdma-probe)"
BOTH="client-writes verified
client-reads verified"

# verdicts PROVIDER - what the kernel keeps, sorted.
verdicts() { sort "$DBG/$1/verdicts"; }
# probed PROVIDER CLIENT - the verdicts column of debugfs paths.
probed() { awk -v c="$2" '$1 == c { print $4 }' "$DBG/$1/paths"; }
# write FILE LINE - write LINE to FILE; the shell's status.
write() { echo "$2" > "$1" 2>/dev/null; }

check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
# What the probe reads back: anything but one repeated byte.
dd if=/dev/urandom of="$BLK_B" bs=1M count=8 oflag=direct 2>/dev/null
dd if=/dev/urandom of="$BLK_A" bs=1M count=8 oflag=direct 2>/dev/null

echo "== A's CMB <-> NVMe B, below the switch =="
expect_eq "nothing probed yet" "$(probed "$A" "$B")" "untested/untested"
avail=$(cat "/sys/bus/pci/devices/$A/p2pmem/available")
dmesg_mark verified
expect_eq "the probe verifies both directions" "$(p2pdma-probe "$A" "$B")" "$BOTH"
check "the kernel log says what was recorded" \
	logged_after verified "$A: p2pdma: probe with $B: client-reads verified"
expect_eq "the kernel keeps both verdicts" "$(verdicts "$A")" \
	"$B client-reads verified
$B client-writes verified"
expect_eq "debugfs paths shows them" "$(probed "$A" "$B")" "verified/verified"
expect_eq "p2pdma-topo shows them" \
	"$(p2pdma-topo | grep -F "  $A -> $B  " | tr -s ' ')" \
	" $A -> $B yes 4 bus-address verified/verified"
# Pages come back to "available" once the provider's clearer has them.
n=0
while [ "$(cat "/sys/bus/pci/devices/$A/p2pmem/available")" != "$avail" ] &&
	[ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
expect_eq "the probe gave all its p2pmem back" \
	"$(cat "/sys/bus/pci/devices/$A/p2pmem/available")" "$avail"

echo "== ivshmem <-> NVMe B =="
expect_eq "the probe verifies both directions" "$(p2pdma-probe "$IV" "$B")" "$BOTH"
expect_eq "debugfs paths shows them" "$(probed "$IV" "$B")" "verified/verified"
out=$(p2pdma-probe --no-record "$IV" "$(ivshmem_bdf)" 2>&1)
expect_eq "a client without NVMe cannot be probed (exit 3)" "$?" 3
check "and the probe says why" \
	sh -c "echo '$out' | grep -q 'has no NVMe namespace: only NVMe clients can be probed'"

echo "== a failed direction refuses the path =="
dmesg_mark failed
check "root records that B's reads of A's CMB failed" \
	write "$DBG/$A/verdicts" "$B client-reads failed all ones, 4096 bytes at p2pmem offset 0"
check "the kernel log says so, and how to undo it" \
	logged_after failed "probe with $B: client-reads failed: all ones, 4096 bytes at p2pmem offset 0; P2P refused on this path until the host bridge allowlist changes or root writes '$B reset'"
expect_eq "debugfs paths refuses the path with the probe's reason" \
	"$(awk -v c="$B" '$1 == c' "$DBG/$A/paths")" \
	"$B not-supported -1 verified/failed $READS_FAILED"
expect_eq "so does pci_p2pdma_distance()" "$(p2p_distance "$A" "$B")" \
	"distance=-1 map=not-supported reason=$READS_FAILED"
before=$(md5_dev "$BLK_B" 1048576)
counted=$(traffic "$A" "$B" not-supported "$READS_FAILED")
expect_eq "an O_DIRECT copy A -> CMB -> B is refused (EREMOTEIO)" \
	"$(p2pmem_copy "$A" "$BLK_A" "$BLK_B" 1M 2>/dev/null)" "error=-121"
expect_eq "and nothing reached NVMe B" "$(md5_dev "$BLK_B" 1048576)" "$before"
# The log of refusals is rate limited: their count is not.
check "the refusal is counted with the probe's reason" \
	test "$(traffic_delta "$counted" "$(traffic "$A" "$B" not-supported "$READS_FAILED")" |
		cut -d' ' -f1)" -ge 1
out=$(p2pdma-probe "$A" "$B")
expect_eq "a refused path cannot be probed again without --reset" "$out" \
	"client-writes untested: read into p2pmem: Remote I/O error
client-reads untested: Compare from p2pmem: Remote I/O error"

echo "== --reset =="
expect_eq "the probe with --reset verifies the path again" \
	"$(p2pdma-probe --reset "$A" "$B")" "$BOTH"
dd if=/dev/urandom of=/tmp/prsrc bs=1M count=1 2>/dev/null
dd if=/tmp/prsrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
expect_p2p_copy "then the copy A -> CMB -> B goes through" \
	"$A" "$BLK_A" "$BLK_B" 1048576 /tmp/prsrc
check "root forgets B's verdicts" write "$DBG/$A/verdicts" "$B reset"
expect_eq "untested again" "$(probed "$A" "$B")" "untested/untested"

echo "== what root writes is checked =="
for bad in "$B client-sideways verified" "$B client-reads failed" \
	   "$B client-reads verified and more" "$B" "0000:0:0" "bogus reset"; do
	expect_eq "'$bad' is refused" \
		"$(write "$DBG/$A/verdicts" "$bad"; echo $?)" 1
done
expect_eq "a device that does not exist is refused" \
	"$(write "$DBG/$A/verdicts" "0000:7f:1f.7 reset"; echo $?)" 1
expect_eq "and nothing was recorded" "$(cat "$DBG/$A/verdicts")" ""
expect_eq "a policy must be inherit, default or strict" \
	"$(write "$DBG/$A/policy" lax; echo $?)" 1
expect_eq "pci_p2pdma.policy must be default or strict" \
	"$(write "$PARAM/policy" inherit; echo $?)" 1

echo "== strict: a path through the root complex needs a probe =="
check "q35 allowed to route P2P" write "$PARAM/host_bridges" 8086:29c0
expect_eq "A -> C through the root complex, allowed" \
	"$(p2p_distance "$A" "$C")" "distance=8 map=through-host-bridge"
check "strict for A's CMB" write "$DBG/$A/policy" strict
expect_eq "A -> C refused until probed" "$(p2p_distance "$A" "$C")" \
	"distance=-1 map=not-supported reason=$STRICT"
expect_eq "A -> B below the switch needs none" \
	"$(p2p_distance "$A" "$B")" "distance=4 map=bus-address"
expect_eq "the probe verifies A <-> C, strict or not" \
	"$(p2pdma-probe "$A" "$C")" "$BOTH"
expect_eq "and sets A's policy back" "$(cat "$DBG/$A/policy")" strict
expect_eq "A -> C is allowed now" \
	"$(p2p_distance "$A" "$C")" "distance=8 map=through-host-bridge"
check "the allowlist changes back" write "$PARAM/host_bridges" ""
check "and with it the rules" write "$PARAM/host_bridges" 8086:29c0
expect_eq "so what the probe found counts no more" "$(probed "$A" "$C")" \
	"untested/untested"
check "the global policy is strict" write "$PARAM/policy" strict
check "A's CMB inherits it" write "$DBG/$A/policy" inherit
expect_eq "A -> C refused again" "$(p2p_distance "$A" "$C")" \
	"distance=-1 map=not-supported reason=$STRICT"
check "the global policy back to default" write "$PARAM/policy" default
expect_eq "A -> C allowed" "$(p2p_distance "$A" "$C")" \
	"distance=8 map=through-host-bridge"
write "$PARAM/host_bridges" ""

# The probe waits 400 ms between its 7 cases; the unbind comes after 1 s.
echo "== ivshmem unbound in the middle of a probe =="
dmesg_mark unbound
p2pdma-probe --pause 400 "$IV" "$B" > /tmp/probe.out 2>&1 &
pid=$!
sleep 1
check "p2pmem_pci unbinds from $IV during the probe" \
	sh -c "echo $IV > /sys/bus/pci/drivers/p2pmem_pci/unbind"
wait $pid
expect_eq "the probe stops without a verdict (exit 3)" "$?" 3
sed 's/^/   /' /tmp/probe.out
check "because its p2pmem was revoked under it" \
	grep -q "^untested: $IV's p2pmem was revoked during the probe" /tmp/probe.out
recorded=no
logged_after unbound "probe with $B" && recorded=yes
expect_eq "and recorded nothing: the kernel logged no verdict" "$recorded" no
check "p2pmem_pci binds $IV again" bind_p2pmem_pci "$IV"
for p in "$A" "$IV"; do
	check "root forgets $p's verdicts" write "$DBG/$p/verdicts" reset
done
finish
