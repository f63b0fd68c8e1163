#!/bin/sh
# md arrays and NVMe multipath heads, for the guest scripts that stack
# block devices on NVMe namespaces; sourced after lib.sh.

MD=/dev/md0
SYS=/sys/block/md0/md

# md_make LEVEL MEMBER... - a new array $MD, in sync from the start, of
# the members' first $MD_SIZE KiB if set.
md_make() {
	level=$1
	shift
	mdadm --create $MD --run --quiet --level="$level" --raid-devices=$# \
		--metadata=1.2 --assume-clean ${MD_SIZE:+--size=$MD_SIZE} "$@" \
		> /tmp/mdadm.out 2>&1 ||
		{ cat /tmp/mdadm.out; return 1; }
	[ -d $SYS ]
}

md_stop() {
	mdadm --stop $MD > /dev/null 2>&1
	mdadm --zero-superblock "$@" > /dev/null 2>&1
	[ ! -d $SYS ]
}

# md_state - one line a member: "NAME STATE errors=N bad_blocks=N", and
# "degraded=N" for the levels that have it.
md_state() {
	for d in $SYS/dev-*; do
		echo "${d##*/dev-} $(cat "$d/state") errors=$(cat "$d/errors")" \
			"bad_blocks=$(grep -c . "$d/bad_blocks")"
	done
	[ -r $SYS/degraded ] && echo "degraded=$(cat $SYS/degraded)"
}

# md_clean_state MEMBER... - md_state of an array nobody failed.
md_clean_state() {
	for m; do
		echo "${m#/dev/} in_sync errors=0 bad_blocks=0"
	done
	[ -r $SYS/degraded ] && echo "degraded=0"
}

# subsys_of NAME - the sysfs directory of subsystem p2pdma-NAME.
subsys_of() {
	for s in /sys/class/nvme-subsystem/nvme-subsys*; do
		[ "$(cat "$s/subsysnqn")" = "nqn.2019-08.org.qemu:p2pdma-$1" ] &&
			echo "$s" && return 0
	done
	return 1
}

# head_of NAME - the head block device of subsystem p2pdma-NAME.
head_of() {
	for h in "$(subsys_of "$1")"/nvme*n*; do
		[ -e "$h" ] && echo "/dev/${h##*/}" && return 0
	done
	return 1
}

# paths_of HEAD - the head's path disks: nvmeXcYnZ for head nvmeXnZ.
paths_of() {
	h=${1#/dev/}
	for d in /sys/block/${h%n*}c*n${h##*n}; do
		[ -e "$d" ] && echo "${d##*/}"
	done
}
