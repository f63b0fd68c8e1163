#!/bin/sh
# Members of stacked block devices hot-unplugged under O_DIRECT copies
# through NVMe A's CMB (tests/topologies/multipath.topo), on the debug
# kernel.  First a leg of an md raid1 of NVMe D and E, removed through
# sysfs, so that lockdep still watches; then a path of subsystem near's
# multipath head, with QMP device_del, whose pciehp lock report stops
# lockdep (tests/known-kernel-reports): it comes last.  The copies go on,
# on what is left: none hangs, none fails, the data is right.  The leg
# that left is the only one md failed, the leg and the path that stay
# have no error, nothing was refused for P2P, and the provider forgot
# the departed device's path.  On 6.12, whose md and heads take no
# P2PDMA bio, every copy is refused with EREMOTEIO, before and after.
. /tests/lib.sh
. /tests/stacked-lib.sh

A=$(nvme_bdf P2PNVMEA) E=$(nvme_bdf P2PNVMEE)
BLK_D=$(nvme_blk P2PNVMED) BLK_E=$(nvme_blk P2PNVMEE)
AFTER=3		# copies made once the device is gone
case $(uname -r) in
6.12*) P2P=0 WANT="error=-121" ;;
*) P2P=1 WANT="copied=4194304 chunks=16" ;;
esac

now() {
	read -r up _ < /proc/uptime
	echo "${up%.*}"
}

# copies DEV - in the background ($copies), copies of 4 MiB from DEV's
# start to 16 MiB into it through A's CMB, 2 threads of 256 KiB buffers
# each, one after the other until /tmp/unplug.stop exists, a result line
# each in /tmp/unplug.out.
copies() {
	: > /tmp/unplug.out
	rm -f /tmp/unplug.stop
	( while [ ! -e /tmp/unplug.stop ]; do
		p2pmem_copy -t 2 -o 16M "$A" "$1" "$1" 4M 256K \
			>> /tmp/unplug.out 2> /dev/null
	  done ) &
	copies=$!
}

results() {
	wc -l < /tmp/unplug.out
}

# made_at_least N - the copies have made N result lines.
made_at_least() {
	test "$(results)" -ge "$1"
}

# wait_for SECONDS CMD... - until CMD succeeds, SECONDS at most.
wait_for() {
	end=$(($(now) + $1))
	shift
	until "$@" || [ "$(now)" -ge $end ]; do
		sleep 0.1
	done
	"$@"
}

# unplugged_under_copies WHAT DEV GONE_CMD... - with the copies on DEV
# under way, what the caller removes (GONE_CMD says when it is gone, 60 s
# at most) must leave while they still run; AFTER more copies are made
# after, then they stop (180 s at most, for a slow host; stuck ones fail).
unplugged_under_copies() {
	what=$1 dev=$2
	shift 2
	check "$what: gone within 60 s" wait_for 60 "$@"
	at_gone=$(results)
	check "$what: the copies were still running when it left" \
		kill -0 $copies
	check "$what: $AFTER copies made after it left" \
		wait_for 180 made_at_least $((at_gone + AFTER))
	touch /tmp/unplug.stop
	check "$what: the copies stopped, none hung" \
		wait_for 60 sh -c "! kill -0 $copies 2> /dev/null"
	kill $copies 2> /dev/null
	pkill p2pmem_copy 2> /dev/null
	wait $copies
	echo "   $what: $(results) copies, $at_gone before it left"
	check "$what: copies ran before it left" test "$at_gone" -ge 1
	expect_eq "$what: every copy ended $WANT" \
		"$(sort -u /tmp/unplug.out)" "$WANT"
	[ $P2P = 1 ] || return 0
	expect_eq "$what: the data is there" \
		"$(dd if="$dev" bs=1M skip=16 count=4 iflag=direct 2>/dev/null | md5sum)" \
		"$(md5sum < /tmp/usrc)"
}

# gone PATH - PATH no longer exists.
gone() {
	test ! -e "$1"
}

# one_path HEAD - the head has one path left.
one_path() {
	test "$(paths_of "$1" | wc -l)" = 1
}

dd if=/dev/urandom of=/tmp/usrc bs=1M count=4 2>/dev/null
dmesg -c > /dev/null

echo "== md 1 over NVMe D and E: E removed under copies through A's CMB =="
check "an md 1 array of NVMe D and E" md_make 1 "$BLK_D" "$BLK_E"
dd if=/tmp/usrc of=$MD bs=1M count=4 oflag=direct 2>/dev/null
p2p_distance "$A" "$E" > /dev/null
check "A's CMB has a cached path to NVMe E" \
	grep -q "^client $E " "/sys/kernel/debug/p2pdma/$A/stats"
E_DEV=$(readlink -f "/sys/bus/pci/devices/$E")
copies $MD
check "md 1: a first copy ended" wait_for 60 test -s /tmp/unplug.out
echo 1 > "/sys/bus/pci/devices/$E/remove"
unplugged_under_copies "md 1, NVMe E removed" $MD gone "$E_DEV"
# A write after the removal, for md to see that NVMe E is gone.
dd if=/tmp/usrc of=$MD bs=1M count=1 oflag=direct 2>/dev/null
expect_eq "md 1: NVMe D is in sync, with no error" \
	"$(md_state | grep "^${BLK_D#/dev/} ")" \
	"${BLK_D#/dev/} in_sync errors=0 bad_blocks=0"
expect_eq "md 1: NVMe E, and only it, is faulty" \
	"$(md_state | awk '$2 ~ /faulty/ { print $1 }')" "${BLK_E#/dev/}"
expect_eq "md 1: one leg is missing" "$(cat $SYS/degraded)" 1
check "nothing was refused for P2P" \
	sh -c "! dmesg | grep -q 'I/O on PCI P2PDMA memory refused'"
check "A's CMB forgot its path to the departed NVMe E" \
	sh -c "! grep -q '^client $E ' /sys/kernel/debug/p2pdma/$A/stats"
check "md 1: stopped" md_stop "$BLK_D"

echo "== near's head: near_2 hot-unplugged (QMP) under copies through A's CMB =="
NEAR=$(head_of near)
check "subsystem near has a head with two paths" \
	test "$(paths_of "$NEAR" | wc -l)" = 2
dd if=/tmp/usrc of="$NEAR" bs=1M count=4 oflag=direct 2>/dev/null
copies "$NEAR"
check "near: a first copy ended" wait_for 60 test -s /tmp/unplug.out
# near_2 is its qdev id in tests/topologies/multipath.topo.
echo P2PDMA-HOST device_del near_2 > /dev/console
unplugged_under_copies "near, near_2 unplugged" "$NEAR" one_path "$NEAR"
p=$(paths_of "$NEAR")
c=$(basename "$(readlink -f "/sys/block/$p/device")")
expect_eq "the path left is live" "$(cat "/sys/class/nvme/$c/state")" live
check "nothing was refused for P2P" \
	sh -c "! dmesg | grep -q 'I/O on PCI P2PDMA memory refused'"
finish
