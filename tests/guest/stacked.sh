#!/bin/sh
# P2P through md arrays and dm tables of NVMe namespaces, with NVMe A's
# CMB as the provider (and ivshmem's BAR for some copies).  On 7.3, md's
# raid0, raid1 and raid10 announce P2PDMA when their members do, and so
# do dm's linear and striped tables: O_DIRECT copies through p2pmem work
# on arrays and tables of NVMe A and B, with the data on every leg.  On
# those with NVMe C, which cannot reach the CMB, the same copies fail
# whole with EREMOTEIO before any member sees them.  Either way the
# device stays as it was: no member failed, no error or bad block
# recorded on one, the data unchanged.  6.12's md and dm take no P2PDMA
# bio at all: there every copy is refused, as cleanly.  Last, nvmet
# serves a raid1: with p2pmem when all its legs reach it, else with
# system memory, and a leg out of reach that joins makes the next
# command fall back, not fail.
. /tests/lib.sh
. /tests/nvmet-lib.sh
. /tests/stacked-lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
IV=$(ivshmem_bdf)
# The provider the copies go through: NVMe A's CMB, or ivshmem's BAR.
PROV=$A
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB) BLK_C=$(nvme_blk P2PNVMEC)
MIB=4
BYTES=$((MIB << 20))
# Where the copies go in the array, past the data they are made from.
DST_MIB=16
REFUSED="path crosses a root complex not known to route P2P"
case $(uname -r) in
6.12*) MD_P2P=0 ;;
*) MD_P2P=1 ;;
esac

# md_parts BYTES - how many bios md makes of an aligned bio of BYTES: it
# splits at its max_sectors_kb, and a raid0 at its chunks too.
md_parts() {
	kb=$(cat /sys/block/md0/queue/max_sectors_kb)
	chunk_kb=$(($(cat $SYS/chunk_size) >> 10))
	[ "$chunk_kb" -gt 0 ] && [ "$chunk_kb" -lt "$kb" ] && kb=$chunk_kb
	echo $((($1 / 1024 + kb - 1) / kb))
}

# leg_md5 MEMBER MIB - md5 of MIB MiB of a raid1/raid10 leg, DST_MIB MiB
# into the array's data on it.  Read in the largest blocks the data's
# offset on the leg allows, up to 1 MiB: in 512-byte reads, 4 MiB took
# 5 s of a TCG guest.
leg_md5() {
	at=$((($(cat "$SYS/dev-${1#/dev/}/offset") << 9) + (DST_MIB << 20)))
	bs=1048576
	while [ $((at % bs)) -ne 0 ]; do
		bs=$((bs / 2))
	done
	dd if="$1" bs=$bs skip=$((at / bs)) count=$((($2 << 20) / bs)) \
		iflag=direct 2>/dev/null | md5sum
}

dma_mapped() {
	p2p_stat "$PROV" dma_mapped_bytes
}

# through_cmb WHAT DEV AT MAPS - $MIB MiB from DEV's start copied to AT
# MiB into it through $PROV's p2pmem: on 7.3 the data is there after,
# mapped MAPS times (the read's and each leg's write); on 6.12 the copy
# fails with EREMOTEIO, having mapped nothing.
through_cmb() {
	what=$1 dev=$2 at=$3 maps=$4
	dd if=/tmp/ssrc of="$dev" bs=1M count=$MIB oflag=direct 2>/dev/null
	before=$(dma_mapped)
	if [ $MD_P2P = 0 ]; then
		expect_eq "$what (6.12): takes no P2PDMA bio, EREMOTEIO" \
			"$(p2pmem_copy -o "${at}M" "$PROV" "$dev" "$dev" $BYTES 2>/dev/null)" \
			"error=-121"
		expect_eq "$what (6.12): nothing was mapped" \
			"$(($(dma_mapped) - before))" 0
		return
	fi
	expect_eq "$what: the copy through $PROV's p2pmem works" \
		"$(p2pmem_copy -o "${at}M" "$PROV" "$dev" "$dev" $BYTES 2>&1)" \
		"copied=$BYTES chunks=$MIB"
	expect_eq "$what: the data is there" \
		"$(dd if="$dev" bs=1M skip="$at" count=$MIB iflag=direct 2>/dev/null | md5sum)" \
		"$(md5sum < /tmp/ssrc)"
	expect_eq "$what: the members moved it by P2P DMA, $maps x $MIB MiB" \
		"$(($(dma_mapped) - before))" $((maps * BYTES))
}

# array_copy LEVEL MAPS - through_cmb on an array of NVMe A and B, and
# the data on each mirror leg.
array_copy() {
	level=$1 maps=$2
	echo "== md $level over NVMe A and B: a copy through $PROV's p2pmem =="
	check "an md $level array of NVMe A and B" md_make "$level" "$BLK_A" "$BLK_B"
	through_cmb "md $level" $MD $DST_MIB "$maps"
	if [ $MD_P2P = 1 ] && [ "$level" != 0 ]; then
		for leg in "$BLK_A" "$BLK_B"; do
			expect_eq "md $level: leg $leg holds the data" \
				"$(leg_md5 "$leg" $MIB)" "$(md5sum < /tmp/ssrc)"
		done
	fi
	expect_eq "md $level: no member failed, none has errors" \
		"$(md_state | sort)" "$(md_clean_state "$BLK_A" "$BLK_B" | sort)"
	check "md $level: stopped" md_stop "$BLK_A" "$BLK_B"
}

# write_refused WHAT DEV AT_K SPAN - DEV's first SPAN MiB written, then a
# write from the CMB (filled from NVMe B) to AT_K KiB into DEV: it fails
# with EREMOTEIO, only NVMe B's read into the CMB was mapped, and DEV's
# data is unchanged.  Leaves in $refusals what A's accounting had counted
# on the path to NVMe C before.
write_refused() {
	what=$1 dev=$2 at_k=$3 span=$4
	# Written whole: a mirror's legs do not agree on what nobody wrote.
	dd if=/dev/zero of="$dev" bs=1M count="$span" oflag=direct 2>/dev/null
	dd if=/tmp/ssrc of="$dev" bs=1M count=$MIB oflag=direct 2>/dev/null
	dd if=/tmp/sother of="$BLK_B" bs=1M count=1 oflag=direct 2>/dev/null
	md5_before=$(dd if="$dev" bs=1M count="$span" iflag=direct 2>/dev/null | md5sum)
	refusals=$(traffic "$A" "$C" not-supported "$REFUSED")
	dmesg -c > /dev/null
	before=$(dma_mapped)
	expect_eq "$what: a write from the CMB fails with EREMOTEIO" \
		"$(p2pmem_copy -o "${at_k}K" "$A" "$BLK_B" "$dev" 1M 2>/dev/null)" \
		"error=-121"
	expect_eq "$what: only NVMe B's read into the CMB was mapped" \
		"$(($(dma_mapped) - before))" $((1 << 20))
	expect_eq "$what: the data is unchanged" \
		"$(dd if="$dev" bs=1M count="$span" iflag=direct 2>/dev/null | md5sum)" \
		"$md5_before"
}

# read_refused WHAT DEV - a read from DEV's start into the CMB fails with
# EREMOTEIO, and NVMe B, where it was to go, is unchanged.
read_refused() {
	b_before=$(md5_dev "$BLK_B" $BYTES)
	expect_eq "$1: a read into the CMB fails with EREMOTEIO" \
		"$(p2pmem_copy "$A" "$2" "$BLK_B" 1M 2>/dev/null)" "error=-121"
	expect_eq "$1: NVMe B's data is unchanged" \
		"$(md5_dev "$BLK_B" $BYTES)" "$b_before"
}

# refusals_counted WHAT DEV N - on 7.3, the log names DEV and NVMe C, and
# A's accounting counted N more refusals on the path to NVMe C.
refusals_counted() {
	[ $MD_P2P = 1 ] || return 0
	check "$1: the refusal names ${2#/dev/} and NVMe C" \
		sh -c "dmesg | grep -q '${2#/dev/}: I/O on PCI P2PDMA memory refused before any member saw it: ${BLK_C#/dev/} cannot reach it'"
	expect_eq "$1: $3 refusals counted on the path to NVMe C" \
		"$(traffic_delta "$refusals" "$(traffic "$A" "$C" not-supported "$REFUSED")" | cut -d' ' -f1)" \
		"$3"
}

# array_refused LEVEL - on an array of NVMe A and C: a write from the CMB
# and a read into it both fail whole.
array_refused() {
	level=$1
	echo "== md $level over NVMe A and C (C out of the CMB's reach) =="
	check "an md $level array of NVMe A and C" md_make "$level" "$BLK_A" "$BLK_C"
	write_refused "md $level" $MD $((DST_MIB << 10)) $((DST_MIB + MIB))
	read_refused "md $level" $MD
	expect_eq "md $level: no member failed, none has errors" \
		"$(md_state | sort)" "$(md_clean_state "$BLK_A" "$BLK_C" | sort)"
	check "md $level: no md error in the kernel log" \
		sh -c "! dmesg | grep -E 'md/raid|md: ' | grep -qiE 'fail|error'"
	# md refuses each part of a bio it splits to its limits.
	refusals_counted "md $level" $MD $((2 * $(md_parts $((1 << 20)))))
	check "md $level: stopped" md_stop "$BLK_A" "$BLK_C"
}

SEG_MIB=16

# dm_make TYPE DEV1 DEV2 - a dm table over the first SEG_MIB MiB of each
# device: linear (DEV1's, then DEV2's) or striped (128 KiB chunks).  $DM
# is its node, /dev/dm-N: without udev, /dev/mapper has none.
dm_make() {
	seg=$((SEG_MIB << 11))
	case $1 in
	linear) table="0 $seg linear $2 0
$seg $seg linear $3 0" ;;
	striped) table="0 $((2 * seg)) striped 2 256 $2 0 $3 0" ;;
	esac
	DM=/nonexistent
	echo "$table" | dmsetup create --noudevsync p2pstack 2>/dev/null || return 1
	DM=/dev/$(dmsetup info -c --noheadings -o blkdevname p2pstack)
	[ -b "$DM" ]
}

dm_stop() {
	dmsetup remove --noudevsync p2pstack 2>/dev/null &&
		! dmsetup info p2pstack > /dev/null 2>&1
}

# dm_health - what a striped table says of its devices: "A" for each that
# is alive, "D" for one it saw fail.
dm_health() {
	dmsetup status p2pstack | awk '$3 == "striped" { print $NF }'
}

# table_copy TYPE AT - through_cmb on a table of NVMe A and B.
table_copy() {
	type=$1 at=$2
	echo "== dm $type over NVMe A and B: a copy through A's CMB, to $at MiB =="
	check "a dm $type table of NVMe A and B" dm_make "$type" "$BLK_A" "$BLK_B"
	through_cmb "dm $type" "$DM" "$at" 2
	check "dm $type: removed" dm_stop
}

# table_refused TYPE AT_K - on a table of NVMe A and C: a write from the
# CMB to AT_K KiB fails whole when it spans a part on NVMe C, and so does
# a read into the CMB from the table's start on a striped table.  On a
# linear one the part on NVMe A alone still works.
table_refused() {
	type=$1 at_k=$2
	echo "== dm $type over NVMe A and C (C out of the CMB's reach) =="
	check "a dm $type table of NVMe A and C" dm_make "$type" "$BLK_A" "$BLK_C"
	write_refused "dm $type" "$DM" "$at_k" $((at_k / 1024 + 2))
	if [ "$type" = linear ] && [ $MD_P2P = 1 ]; then
		# Its first MiB is all on NVMe A.
		expect_eq "dm $type: a read into the CMB from NVMe A's part works" \
			"$(p2pmem_copy "$A" "$DM" "$BLK_B" 1M 2>&1)" "copied=1048576 chunks=1"
		expect_eq "dm $type: NVMe B holds what the table's start held" \
			"$(md5_dev "$BLK_B" $((1 << 20)))" \
			"$(head -c 1048576 /tmp/ssrc | md5sum)"
		refusals_counted "dm $type" "$DM" 1
	else
		read_refused "dm $type" "$DM"
		[ "$type" = striped ] &&
			expect_eq "dm $type: dm saw no device fail" "$(dm_health)" AA
		refusals_counted "dm $type" "$DM" 2
	fi
	check "dm $type: removed" dm_stop
}

# nvmet's arrays: the members' first 64 MiB, for NVMe C's resync.
NVMET_KIB=65536
P2P_DONE="done=1 p2p=1 status=0x0 provider=$A mismatches=0"
SYS_DONE="done=1 p2p=0 status=0x0 provider=none mismatches=0"

# nvmet_write WHAT OFFSET SEED RESULT - a 1 MiB write by the test
# transport to namespace 1 ends with RESULT, and $MD holds its data.
nvmet_write() {
	expect_eq "$1: a 1 MiB write" "$(io write "$2" 1048576 "$3" 1)" "$4"
	expect_eq "$1: $MD holds the data written" \
		"$(region_md5 $MD "$2" 1048576)" "$(pattern_md5 1048576 "$3")"
}

# has_slot MEMBER - wait (30 s at most) for md to give MEMBER a slot,
# which its thread does after mdadm returns.
has_slot() {
	i=0
	while [ "$(cat "$SYS/dev-${1#/dev/}/slot")" = none ] && [ $i -lt 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ "$(cat "$SYS/dev-${1#/dev/}/slot")" != none ]
}

# nvmet_array MEMBER... - an md raid1 of the MEMBERs, served by nvmet.
nvmet_array() {
	MD_SIZE=$NVMET_KIB
	check "an md 1 array of $*" md_make 1 "$@"
	MD_SIZE=
	check "port 8 serves $NQN, namespace 1 on $MD" nvmet_serve $MD
}

# nvmet_unarray MEMBER... - nvmet_array undone.
nvmet_unarray() {
	check "nvmet let $MD go" nvmet_unserve
	check "md 1: stopped" md_stop "$@"
}

# nvmet_on_md - nvmet on a raid1 of NVMe A and B, with A's p2pmem and
# NVMe B as the transport's device: the commands' data sits in the CMB
# and both legs move it by P2P DMA.  Then NVMe C joins the array as a
# third leg: the next command uses system memory and says why, before
# md would refuse it, and no leg fails.  On 6.12 md takes no P2PDMA bio,
# and nvmet refuses p2pmem on it, as upstream.
nvmet_on_md() {
	echo "== nvmet on md 1 over NVMe A and B, p2pmem of NVMe A =="
	nvmet_array "$BLK_A" "$BLK_B"
	if [ $MD_P2P = 0 ]; then
		check "6.12: namespace 1 on $MD cannot have p2pmem" \
			p2pmem_refused "$A"
		check "6.12: nvmet says md cannot do P2PDMA" \
			dmesg_has "peer-to-peer DMA is not supported by the driver of $MD"
		nvmet_unarray "$BLK_A" "$BLK_B"
		return
	fi
	connect_with_p2pmem "nvmet, md 1 of A and B" "$A" "$B"
	before=$(dma_mapped)
	nvmet_write "nvmet, md 1 of A and B" $((8 << 20)) 11 "$P2P_DONE"
	expect_eq "nvmet, md 1 of A and B: both legs moved it by P2P DMA" \
		"$(($(dma_mapped) - before))" $((2 << 20))
	expect_eq "nvmet, md 1 of A and B: read back through p2pmem" \
		"$(io read $((8 << 20)) 1048576 11 1)" "$P2P_DONE"

	echo "== NVMe C joins the array nvmet serves, as a third leg =="
	check "NVMe C added as a third leg" \
		mdadm --grow $MD --quiet --raid-devices=3 --add "$BLK_C"
	check "NVMe C has its slot in the array" has_slot "$BLK_C"
	check "p2pdma_fallback is on" trace_on p2pdma_fallback
	dmesg -c > /dev/null
	nvmet_write "nvmet, md 1 of A, B and C" $((10 << 20)) 12 "$SYS_DONE"
	expect_eq "the fallback names A, NVMe B, the bytes and why" \
		"$(trace_lines p2pdma_fallback)" \
		"provider=$A client=$B map=system-memory bytes=1048576 reason=a member of the namespace cannot reach the p2pmem"
	trace_off
	check "md refused nothing: nvmet asked before" \
		sh -c "! dmesg | grep -q 'I/O on PCI P2PDMA memory refused'"
	mdadm --wait $MD > /dev/null 2>&1
	expect_eq "nvmet, md 1 of A, B and C: no leg failed, none has errors" \
		"$(md_state | sort)" \
		"$(md_clean_state "$BLK_A" "$BLK_B" "$BLK_C" | sort)"
	check "disconnect" disconnect
	nvmet_unarray "$BLK_A" "$BLK_B" "$BLK_C"
}

# nvmet_on_md_out_of_reach - nvmet on a raid1 of NVMe A and C: the
# namespace is enabled with A's p2pmem all the same, and uses system
# memory; nvmet says it is for NVMe C, when it is enabled and when a
# controller connects, and each command says so too.
nvmet_on_md_out_of_reach() {
	echo "== nvmet on md 1 over NVMe A and C, p2pmem of NVMe A =="
	nvmet_array "$BLK_A" "$BLK_C"
	dmesg -c > /dev/null
	check "namespace 1 enabled with p2pmem=$A all the same" ns_p2pmem "$A"
	check "nvmet says NVMe C cannot reach it, and $MD uses system memory" \
		dmesg_has "nvmet: nsid 1: ${BLK_C#/dev/} cannot reach p2pmem on $A: $MD uses system memory"
	check "connect with NVMe B as the transport's device" connect "$B"
	check "and says it again for the controller" \
		dmesg_has "nvmet: ctrl [0-9]+: ${BLK_C#/dev/} cannot reach p2pmem on $A: nsid 1 uses system memory"
	check "p2pdma_fallback is on" trace_on p2pdma_fallback
	nvmet_write "nvmet, md 1 of A and C" $((8 << 20)) 13 "$SYS_DONE"
	expect_eq "the fallback names NVMe B, the bytes and why" \
		"$(trace_lines p2pdma_fallback)" \
		"provider=none client=$B map=system-memory bytes=1048576 reason=no p2pmem in the reach of the transport device and every member"
	trace_off
	expect_eq "nvmet, md 1 of A and C: no leg failed, none has errors" \
		"$(md_state | sort)" "$(md_clean_state "$BLK_A" "$BLK_C" | sort)"
	check "disconnect" disconnect
	nvmet_unarray "$BLK_A" "$BLK_C"
}

check "mdadm is there" command -v mdadm
check "dmsetup is there" command -v dmsetup
dd if=/dev/urandom of=/tmp/ssrc bs=1M count=$MIB 2>/dev/null
dd if=/dev/urandom of=/tmp/sother bs=1M count=1 2>/dev/null
array_copy 1 3
array_copy 0 2
array_copy 10 3
PROV=$IV
check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
array_copy 1 3
array_copy 0 2
PROV=$A
array_refused 1
array_refused 0
array_refused 10
# Across the end of NVMe A's segment into the other device's.
table_copy linear $((SEG_MIB - 2))
table_copy striped $DST_MIB
# Half a MiB before the end of NVMe A's segment.
table_refused linear $((SEG_MIB * 1024 - 512))
table_refused striped $((DST_MIB * 1024))
nvmet_names p2pdma-stacked 8
nvmet_on_md
if [ $MD_P2P = 1 ]; then
	nvmet_on_md_out_of_reach
fi
finish
