#!/bin/sh
# tools/pci/p2pdma-topo on the default topology: its verdicts are the
# kernel's, its Graphviz output draws the allowed paths, and missing or
# broken sysfs and debugfs entries give messages, never a crash.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
IV=$(ivshmem_bdf) && bind_p2pmem_pci "$IV"

echo "== p2pdma-topo =="
out=$(p2pdma-topo)
rc=$?
echo "$out" | sed 's/^/   /'
expect_eq "p2pdma-topo exits 0" "$rc" 0
# The line the tool prints for one pair, spaces squeezed.
pair() { echo "$out" | grep -F "  $1 -> $2  " | tr -s ' ' | sed 's/^ //'; }
expect_eq "A's CMB -> NVMe B: allowed, as the kernel says" "$(pair "$A" "$B")" \
	"$A -> $B yes $(p2p_distance "$A" "$B" | sed 's/distance=\([0-9]*\) map=\(.*\)/\1 \2/') untested/untested"
expect_eq "A's CMB -> NVMe B: distance 4 through the switch, not probed" "$(pair "$A" "$B")" \
	"$A -> $B yes 4 bus-address untested/untested"
expect_eq "A's CMB -> NVMe C: refused, with the kernel's reason" "$(pair "$A" "$C")" \
	"$A -> $C no - not-supported untested/untested path crosses a root complex not known to route P2P"
expect_eq "ivshmem -> NVMe B: allowed" "$(pair "$IV" "$B")" "$IV -> $B yes 4 bus-address untested/untested"
check "both providers are listed with their sizes" \
	sh -c "echo '$out' | grep -q '^  $A  nvme  *size 64 MiB' &&
	       echo '$out' | grep -q '^  $IV  p2pmem_pci  *size 16 MiB'"
check "no bridge is listed as a client" \
	sh -c "! echo '$out' | grep -q -- '-> $(basename "$(readlink -f /sys/bus/pci/devices/$A/..)")'"

dot=$(p2pdma-topo --dot)
check "--dot draws the allowed path A -> B as a dashed edge" \
	sh -c "echo '$dot' | grep -q '\"$A\" -> \"$B\" \[style=dashed'"
check "--dot draws no path A -> C" \
	sh -c "! echo '$dot' | grep -q '\"$A\" -> \"$C\" \[style=dashed'"
check "--dot hangs NVMe C below its root port, under the host bridge" \
	sh -c "echo '$dot' | grep -q '\"pci0000:00\" \[label=\"host bridge' &&
	       echo '$dot' | grep -q -- '-> \"$C\";'"
check "--dot is one well-formed digraph" \
	sh -c "echo '$dot' | head -n1 | grep -q '^digraph p2pdma {$' &&
	       [ \"\$(echo '$dot' | tail -n1)\" = '}' ]"

# Without debugfs: the tree and providers, and why the paths are unknown.
out=$(p2pdma-topo --debugfs /nonexistent 2>&1)
expect_eq "without debugfs p2pdma-topo still exits 0" "$?" 0
check "without debugfs it says why the paths are unknown" \
	sh -c "echo '$out' | grep -q '$A -> \*  unknown: /nonexistent/p2pdma/$A/paths: No such file or directory'"

out=$(p2pdma-topo --sysfs /nonexistent 2>&1)
expect_eq "without sysfs p2pdma-topo exits 1" "$?" 1
expect_eq "without sysfs it says so" "$out" \
	"p2pdma-topo: cannot list PCI devices in /nonexistent/bus/pci/devices: No such file or directory"
p2pdma-topo --bogus 2>/dev/null
expect_eq "a bad option exits 2" "$?" 2

# A broken tree: a device that is a plain directory (no realpath parent
# link), a p2pmem/size that cannot be read, a paths file with garbage.
fake=/tmp/fakesys
rm -rf $fake /tmp/fakedbg
mkdir -p $fake/bus/pci/devices/0000:09:00.0/p2pmem/size \
	$fake/bus/pci/devices/0000:09:01.0 $fake/bus/pci/devices/not-a-bdf \
	/tmp/fakedbg/p2pdma/0000:09:00.0
echo 0x010802 > $fake/bus/pci/devices/0000:09:01.0/class
printf 'garbage\n0000:09:01.0 bus-address 2 untested/untested -\n0000:77:00.0 bus-address 2 untested/untested -\n0000:09:01.0 bus-address 2 -\n' \
	> /tmp/fakedbg/p2pdma/0000:09:00.0/paths
out=$(p2pdma-topo --sysfs $fake --debugfs /tmp/fakedbg 2>&1)
expect_eq "a broken sysfs tree does not crash p2pdma-topo" "$?" 0
check "an unreadable p2pmem/size is reported" \
	sh -c "echo '$out' | grep -q '0000:09:00.0: p2pmem/size is unreadable'"
check "unusable paths lines (garbage, unknown device, no verdicts) are reported and skipped" \
	sh -c "echo '$out' | grep -q 'ignoring unusable line: garbage' &&
	       echo '$out' | grep -q 'ignoring unusable line: 0000:77:00.0' &&
	       echo '$out' | grep -q 'ignoring unusable line: 0000:09:01.0 bus-address 2 -'"
check "the one good path line is used" \
	sh -c "echo '$out' | grep -q '0000:09:00.0 -> 0000:09:01.0  yes  2  bus-address'"
rm -rf $fake /tmp/fakedbg
finish
