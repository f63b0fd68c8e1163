# Helpers for the guest test scripts; sourced, not run.

FAILED=0

# Each script says that it starts, and finish() that it got to its end:
# scripts/qemu-run fails a script that started and never ended (a syntax
# error, a missing program, a kill) even if it printed no failed check.
P2PDMA_SCRIPT=$(basename "$0" .sh)
echo "P2PDMA-BEGIN $P2PDMA_SCRIPT"

# check NAME COMMAND... - run COMMAND, report one check.
check() {
	name=$1
	shift
	if "$@"; then
		echo "P2PDMA-CHECK PASS $name"
	else
		echo "P2PDMA-CHECK FAIL $name"
		FAILED=$((FAILED + 1))
	fi
}

# expect_eq NAME GOT WANT - report one check comparing two strings.
expect_eq() {
	if [ "$2" = "$3" ]; then
		echo "P2PDMA-CHECK PASS $1"
	else
		echo "P2PDMA-CHECK FAIL $1: got '$2', want '$3'"
		FAILED=$((FAILED + 1))
	fi
}

finish() {
	echo "P2PDMA-END $P2PDMA_SCRIPT"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# nvme_ctrl SERIAL - the /sys/class/nvme/nvmeN directory of a controller.
nvme_ctrl() {
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' < "$c/serial")" = "$1" ] && echo "$c" && return 0
	done
	return 1
}

# nvme_bdf SERIAL - PCI address of the controller.
nvme_bdf() {
	basename "$(readlink -f "$(nvme_ctrl "$1")/device")"
}

# nvme_blk SERIAL - block device node of the controller's first namespace.
nvme_blk() {
	c=$(nvme_ctrl "$1") || return 1
	for ns in "$c"/nvme*n*; do
		[ -e "$ns" ] && echo "/dev/$(basename "$ns")" && return 0
	done
	return 1
}

# fabrics_blk NQN - block device node of the namespace of the fabrics
# controller connected to subsystem NQN.
fabrics_blk() {
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$1" ] || continue
		for ns in "$c"/nvme*n*; do
			[ -e "$ns" ] && echo "/dev/$(basename "$ns")" && return 0
		done
	done
	return 1
}

# wait_fabrics_blk NQN - fabrics_blk, once the namespace is there: nvme
# connect returns before the host has scanned the controller's namespaces
# (its scan work asks the target over the network), so give it 30 s.
wait_fabrics_blk() {
	local i=0 blk

	until blk=$(fabrics_blk "$1") && [ -b "$blk" ]; do
		if [ $i -ge 300 ]; then
			echo "$blk"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "$blk"
}

# p2p_distance PROVIDER CLIENT - "distance=N map=TYPE [reason=...]"
p2p_distance() {
	echo "$1 $2" > /sys/kernel/debug/p2pdma_e2e/distance &&
		cat /sys/kernel/debug/p2pdma_e2e/distance
}

# p2p_copy PROVIDER SRC DST BYTES - copy through PROVIDER's p2pmem.
p2p_copy() {
	echo "$1 $2 $3 $4" > /sys/kernel/debug/p2pdma_e2e/copy
}

# pci_tree - the PCI hierarchy from sysfs, with p2pmem providers marked.
pci_tree() {
	find /sys/devices/pci0000:00 -name '????:??:??.?' -type d | sort | while read -r d; do
		rel=${d#/sys/devices/pci0000:00/}
		depth=$(echo "$rel" | tr -cd '/' | wc -c)
		bdf=$(basename "$d")
		drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
		info="$(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class") ${drv:-(no driver)}"
		for c in "$d"/nvme/nvme*; do
			[ -e "$c/serial" ] && info="$info serial=$(tr -d ' ' < "$c/serial") $(basename "$c")"
		done
		if [ -d "$d/p2pmem" ]; then
			info="$info [p2pmem size=$(($(cat "$d/p2pmem/size") >> 20))MiB"
			info="$info available=$(($(cat "$d/p2pmem/available") >> 20))MiB"
			info="$info published=$(cat "$d/p2pmem/published")]"
		fi
		printf '%*s%s %s\n' $((depth * 4)) '' "$bdf" "$info"
	done
}

# tap COUNT NAME PROGRAM ARGS... - run a test program that prints "ok - X"
# and "not ok - X" lines; each becomes one check, and the program must
# exit 0 having passed exactly COUNT of them (so a check that silently did
# not run fails too).  Its "# " lines, what it saw, go to the log.
tap() {
	count=$1 name=$2
	shift 2
	"$@" > /tmp/tap.out 2> /tmp/tap.err
	rc=$?
	while read -r line; do
		case $line in
		"ok - "*) echo "P2PDMA-CHECK PASS $name: ${line#ok - }" ;;
		"not ok - "*)
			echo "P2PDMA-CHECK FAIL $name: ${line#not ok - }"
			FAILED=$((FAILED + 1)) ;;
		"# "*) echo "   $line" ;;
		esac
	done < /tmp/tap.out
	sed 's/^/   stderr: /' /tmp/tap.err
	expect_eq "$name: exits 0 after $count checks" \
		"$rc $(grep -c '^ok - ' /tmp/tap.out)" "0 $count"
}

# driver_of BDF - the driver a function is bound to, or "none".
driver_of() {
	d=$(readlink "/sys/bus/pci/devices/$1/driver") && basename "$d" || echo none
}

# rebind BDF DRIVER - move a function to DRIVER.
rebind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" > "/sys/bus/pci/devices/$1/driver/unbind"
	echo "$2" > "/sys/bus/pci/devices/$1/driver_override"
	echo "$1" > /sys/bus/pci/drivers_probe
}

# p2p_stat PROVIDER KEY - one value from the provider's debugfs statistics,
# or "missing", which never equals a number and is 0 in $((...)), so that a
# check fails instead of the shell dying on an empty expression.
p2p_stat() {
	v=$(sed -n "s/^$2 //p" "/sys/kernel/debug/p2pdma/$1/stats")
	echo "${v:-missing}"
}

# dmesg_mark NAME - put a marker line in the kernel log, so that
# logged_after NAME TEXT can tell whether the kernel logged a line holding
# TEXT after the last such marker: a check of what one step logs must not
# be satisfied by an earlier step's line.  No marker in the log: false.
dmesg_mark() {
	echo "P2PDMA-MARK $1" > /dev/kmsg
}

logged_after() {
	dmesg | awk -v m="P2PDMA-MARK $1" -v t="$2" '
		index($0, m) { seen = 1; found = 0; next }
		seen && index($0, t) { found = 1 }
		END { exit !found }'
}

# md5_dev DEV BYTES - checksum of the first BYTES of a block device.
md5_dev() {
	dd if="$1" bs=64k count=$(($2 >> 16)) iflag=direct 2>/dev/null | md5sum
}

# expect_p2p_copy NAME PROVIDER SRC DST BYTES DATA - an O_DIRECT copy of
# BYTES (whole MiB) from block device SRC to DST through a mapping of
# PROVIDER's p2pmem: it succeeds, DST then holds the file DATA, and exactly
# 2 x BYTES were mapped for DMA through PROVIDER.
# Also per path: the provider's accounting has BYTES more for the device
# of SRC and BYTES more for that of DST (twice that for one device).
expect_p2p_copy() {
	dd if=/dev/zero of="$4" bs=1M count=$(($5 >> 20)) oflag=direct 2>/dev/null
	dma_before=$(p2p_stat "$2" dma_mapped_bytes)
	from=$(blk_pci_bdf "$3") to=$(blk_pci_bdf "$4")
	each=$5
	[ "$from" = "$to" ] && each=$((2 * $5))
	from_before=$(traffic "$2" "$from" mapped)
	to_before=$(traffic "$2" "$to" mapped)
	expect_eq "$1" "$(p2pmem_copy "$2" "$3" "$4" "$5" 2>&1)" \
		"copied=$5 chunks=$(($5 >> 20))"
	expect_eq "$1: the destination holds the source's data" \
		"$(md5_dev "$4" "$5")" "$(md5sum < "$6")"
	expect_eq "$1: 2 x $(($5 >> 20)) MiB mapped through the provider" \
		"$(($(p2p_stat "$2" dma_mapped_bytes) - dma_before))" $((2 * $5))
	expect_eq "$1: the path to $from ($3) counted its bytes" \
		"$(traffic_delta "$from_before" "$(traffic "$2" "$from" mapped)" |
			cut -d' ' -f2)" "$each"
	expect_eq "$1: the path to $to ($4) counted its bytes" \
		"$(traffic_delta "$to_before" "$(traffic "$2" "$to" mapped)" |
			cut -d' ' -f2)" "$each"
}

# blk_pci_bdf DEV - PCI address of the device behind block device DEV.
blk_pci_bdf() {
	basename "$(readlink -f "/sys/block/${1#/dev/}/device/device")"
}

# ivshmem_bdf - PCI address of the (first) ivshmem-plain device.
ivshmem_bdf() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1110 ] &&
			basename "$d" && return 0
	done
	return 1
}

# bind_p2pmem_pci BDF - hand a device to the generic p2pmem provider.
bind_p2pmem_pci() {
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = p2pmem_pci ] &&
		return 0
	echo p2pmem_pci > "/sys/bus/pci/devices/$1/driver_override" &&
		echo "$1" > /sys/bus/pci/drivers_probe
}

# p2pmem_node BDF - the /dev/p2pmemN of provider BDF, found by the class
# device's "device" link; nothing when it has none.
p2pmem_node() {
	for d in /sys/class/p2pmem/p2pmem*; do
		[ "$(basename "$(readlink "$d/device")")" = "$1" ] &&
			echo "/dev/$(basename "$d")" && return 0
	done
	return 1
}

# p2p_copy_checks WHAT PROVIDER SRC DST FILE [p2pmem_copy OPTIONS...] -
# with block device SRC holding FILE, copy that much of it to DST, zeroed
# first, through PROVIDER's p2pmem; check the copy, DST's data, and that
# the data crossed PROVIDER's BAR both ways.
p2p_copy_checks() {
	local what=$1 provider=$2 src=$3 dst=$4 file=$5 bytes dma
	shift 5
	bytes=$(stat -c %s "$file")
	dd if=/dev/zero of="$dst" bs=1M count=$((bytes >> 20)) oflag=direct 2>/dev/null
	dma=$(p2p_stat "$provider" dma_mapped_bytes)
	expect_eq "$what" \
		"$(p2pmem_copy "$@" "$provider" "$src" "$dst" "$bytes" 2>&1)" \
		"copied=$bytes chunks=$((bytes >> 20))"
	expect_eq "$what: $dst holds exactly $src's data" \
		"$(md5_dev "$dst" "$bytes")" "$(md5sum < "$file")"
	expect_eq "$what: moved 2 x $((bytes >> 20)) MiB through the BAR" \
		"$(($(p2p_stat "$provider" dma_mapped_bytes) - dma))" $((2 * bytes))
}

# p2p_find CLIENT... - "provider=BDF distance=N" chosen for the clients.
p2p_find() {
	echo "$*" > /sys/kernel/debug/p2pdma_e2e/find &&
		cat /sys/kernel/debug/p2pdma_e2e/find
}

# expect_switch_paths PROVIDER NAME - what the default topology allows a
# provider below the switch: NVMe B by bus address, NVMe C refused.
# Needs $B and $C set to their PCI addresses.
expect_switch_paths() {
	expect_eq "$2 -> NVMe B: same switch, bus address" \
		"$(p2p_distance "$1" "$B")" "distance=4 map=bus-address"
	expect_eq "$2 -> NVMe C: other root port, refused" \
		"$(p2p_distance "$1" "$C")" \
		"distance=-1 map=not-supported reason=path crosses a root complex not known to route P2P"
}

# The P2PDMA core's tracepoints (drivers/pci/p2pdma/trace.h), read back
# from tracefs.
TRACING=/sys/kernel/tracing

# trace_on EVENT... - an empty trace buffer, with only those p2pdma events
# on (p2pdma_map, p2pdma_refuse, p2pdma_revoke, p2pdma_fallback).
trace_on() {
	[ -d $TRACING/events ] || mount -t tracefs tracefs $TRACING || return 1
	echo 0 > $TRACING/events/p2pdma/enable &&
		for e; do echo 1 > "$TRACING/events/p2pdma/$e/enable" || return 1; done &&
		echo > $TRACING/trace && echo 1 > $TRACING/tracing_on
}

trace_off() {
	echo 0 > $TRACING/events/p2pdma/enable
}

# trace_lines EVENT - the fields of each EVENT in the buffer, one line each:
# "provider=P client=C map=M bytes=N reason=R".
trace_lines() {
	sed -n "s/.* $1: //p" $TRACING/trace
}

# trace_bytes EVENT FIELDS - the sum of bytes= of the EVENT lines that
# start with FIELDS ("provider=P client=C map=M").
trace_bytes() {
	trace_lines "$1" | awk -v f="$2 bytes=" '
		index($0, f) == 1 { s += substr($0, length(f) + 1) + 0 }
		END { print s + 0 }'
}

# traffic PROVIDER CLIENT MAP [REASON] - "EVENTS BYTES" of one path in the
# per-path accounting of PROVIDER ("none": the events without a provider),
# "0 0" for a path it has no line for; "missing" without the file.  MAP
# "mapped" stands for both bus-address and through-host-bridge.
traffic() {
	f=/sys/kernel/debug/p2pdma/$1/traffic
	[ "$1" = none ] && f=/sys/kernel/debug/p2pdma/traffic
	[ -r "$f" ] || { echo missing; return; }
	awk -v c="$2" -v m="$3" -v r="${4:--}" '
		{ reason = $0; sub(/^([^ ]+ ){4}/, "", reason) }
		m == "mapped" && ($2 == "bus-address" || $2 == "through-host-bridge") {
			$2 = m
		}
		$1 == c && $2 == m && reason == r { e += $3; b += $4 }
		END { print e + 0, b + 0 }' "$f"
}

# traffic_delta BEFORE AFTER - "EVENTS BYTES" that AFTER adds to BEFORE,
# both from traffic; "missing" if either is.
traffic_delta() {
	case "$1 $2" in
	*missing*) echo missing ;;
	*) echo "$1 $2" | awk '{ print $3 - $1, $4 - $2 }' ;;
	esac
}

# trace_lost - events the ring buffer dropped since it was emptied: a
# byte sum is exact only if none were.
trace_lost() {
	cat $TRACING/per_cpu/cpu*/stats | awk '/^overrun:/ { n += $2 } END { print n + 0 }'
}

# hold_p2pmem BDF - start a process that maps all of BDF's available
# p2pmem and holds it until killed (p2pmem_mmap_test's hold mode), and
# wait up to 60 s for it to say so: $HOLDER is its pid, $HELD the bytes
# it maps, empty if it never said.
hold_p2pmem() {
	p2pmem_mmap_test "$1" hold > /tmp/hold.out 2>&1 &
	HOLDER=$!
	i=0
	while ! grep -q '^held ' /tmp/hold.out && kill -0 $HOLDER 2>/dev/null &&
	      [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	HELD=$(sed -n 's/^held //p' /tmp/hold.out)
}

# release_p2pmem - end the process hold_p2pmem started; its memory is back
# once this returns.
release_p2pmem() {
	kill $HOLDER 2>/dev/null
	wait $HOLDER 2>/dev/null
}
