#!/bin/sh
# P2P through md arrays and dm tables of NVMe namespaces, with NVMe A's
# CMB as the provider.  On 7.3, md's raid0, raid1 and raid10 announce
# P2PDMA when their members do, and so do dm's linear and striped tables:
# O_DIRECT copies through the CMB work on arrays and tables of NVMe A and
# B, with the data on every leg.  On those with NVMe C, which cannot reach
# the CMB, the same copies fail whole with EREMOTEIO before any member
# sees them.  Either way the device stays as it was: no member failed, no
# error or bad block recorded on one, the data unchanged.  6.12's md and
# dm take no P2PDMA bio at all: there every copy is refused, as cleanly.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB) BLK_C=$(nvme_blk P2PNVMEC)
MD=/dev/md0
SYS=/sys/block/md0/md
MIB=4
BYTES=$((MIB << 20))
# Where the copies go in the array, past the data they are made from.
DST_MIB=16
REFUSED="path crosses a root complex not known to route P2P"
case $(uname -r) in
6.12*) MD_P2P=0 ;;
*) MD_P2P=1 ;;
esac

# md_make LEVEL MEMBER... - a new array $MD, in sync from the start.
md_make() {
	level=$1
	shift
	mdadm --create $MD --run --quiet --level="$level" --raid-devices=$# \
		--metadata=1.2 --assume-clean "$@" > /tmp/mdadm.out 2>&1 ||
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

# md_parts BYTES - how many bios md makes of an aligned bio of BYTES: it
# splits at its max_sectors_kb, and a raid0 at its chunks too.
md_parts() {
	kb=$(cat /sys/block/md0/queue/max_sectors_kb)
	chunk_kb=$(($(cat $SYS/chunk_size) >> 10))
	[ "$chunk_kb" -gt 0 ] && [ "$chunk_kb" -lt "$kb" ] && kb=$chunk_kb
	echo $((($1 / 1024 + kb - 1) / kb))
}

# leg_md5 MEMBER MIB - md5 of MIB MiB of a raid1/raid10 leg, DST_MIB MiB
# into the array's data on it.
leg_md5() {
	off=$(cat "$SYS/dev-${1#/dev/}/offset")
	dd if="$1" bs=512 skip=$((off + (DST_MIB << 11))) count=$(($2 << 11)) \
		iflag=direct 2>/dev/null | md5sum
}

dma_mapped() {
	p2p_stat "$A" dma_mapped_bytes
}

# array_copy LEVEL MAPS - on an array of NVMe A and B: a copy of $MIB MiB
# from the array's start to DST_MIB MiB into it, through the CMB, which
# maps MAPS times the bytes (the read's and each leg's write).
array_copy() {
	level=$1 maps=$2
	echo "== md $level over NVMe A and B: a copy through A's CMB =="
	check "an md $level array of NVMe A and B" md_make "$level" "$BLK_A" "$BLK_B"
	dd if=/tmp/ssrc of=$MD bs=1M count=$MIB oflag=direct 2>/dev/null
	before=$(dma_mapped)
	if [ $MD_P2P = 1 ]; then
		expect_eq "md $level: the copy through the CMB works" \
			"$(p2pmem_copy -o ${DST_MIB}M "$A" $MD $MD $BYTES 2>&1)" \
			"copied=$BYTES chunks=$MIB"
		expect_eq "md $level: the array holds the data there" \
			"$(dd if=$MD bs=1M skip=$DST_MIB count=$MIB iflag=direct 2>/dev/null | md5sum)" \
			"$(md5sum < /tmp/ssrc)"
		expect_eq "md $level: the members moved it by P2P DMA, $maps x $MIB MiB" \
			"$(($(dma_mapped) - before))" $((maps * BYTES))
		if [ "$level" != 0 ]; then
			for leg in "$BLK_A" "$BLK_B"; do
				expect_eq "md $level: leg $leg holds the data" \
					"$(leg_md5 "$leg" $MIB)" "$(md5sum < /tmp/ssrc)"
			done
		fi
	else
		expect_eq "md $level (6.12): md takes no P2PDMA bio, EREMOTEIO" \
			"$(p2pmem_copy -o ${DST_MIB}M "$A" $MD $MD $BYTES 2>/dev/null)" \
			"error=-121"
		expect_eq "md $level (6.12): nothing was mapped" \
			"$(($(dma_mapped) - before))" 0
	fi
	expect_eq "md $level: no member failed, none has errors" \
		"$(md_state | sort)" "$(md_clean_state "$BLK_A" "$BLK_B" | sort)"
	check "md $level: stopped" md_stop "$BLK_A" "$BLK_B"
}

# array_refused LEVEL - on an array of NVMe A and C: a write from the CMB
# (filled from NVMe B) and a read into it both fail whole.
array_refused() {
	level=$1
	echo "== md $level over NVMe A and C (C out of the CMB's reach) =="
	check "an md $level array of NVMe A and C" md_make "$level" "$BLK_A" "$BLK_C"
	# Written whole: a mirror's legs do not agree on what nobody wrote.
	dd if=/dev/zero of=$MD bs=1M count=$((DST_MIB + MIB)) oflag=direct 2>/dev/null
	dd if=/tmp/ssrc of=$MD bs=1M count=$MIB oflag=direct 2>/dev/null
	dd if=/tmp/sother of="$BLK_B" bs=1M count=1 oflag=direct 2>/dev/null
	md5_before=$(dd if=$MD bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)
	b_before=$(md5_dev "$BLK_B" $BYTES)
	refusals=$(traffic "$A" "$C" not-supported "$REFUSED")
	dmesg -c > /dev/null
	before=$(dma_mapped)
	expect_eq "md $level: a write from the CMB fails with EREMOTEIO" \
		"$(p2pmem_copy -o ${DST_MIB}M "$A" "$BLK_B" $MD 1M 2>/dev/null)" \
		"error=-121"
	expect_eq "md $level: only NVMe B's read into the CMB was mapped" \
		"$(($(dma_mapped) - before))" $((1 << 20))
	expect_eq "md $level: a read into the CMB fails with EREMOTEIO" \
		"$(p2pmem_copy "$A" $MD "$BLK_B" 1M 2>/dev/null)" "error=-121"
	expect_eq "md $level: the array's data is unchanged" \
		"$(dd if=$MD bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)" \
		"$md5_before"
	expect_eq "md $level: NVMe B's data is unchanged" \
		"$(md5_dev "$BLK_B" $BYTES)" "$b_before"
	expect_eq "md $level: no member failed, none has errors" \
		"$(md_state | sort)" "$(md_clean_state "$BLK_A" "$BLK_C" | sort)"
	check "md $level: no md error in the kernel log" \
		sh -c "! dmesg | grep -E 'md/raid|md: ' | grep -qiE 'fail|error'"
	if [ $MD_P2P = 1 ]; then
		check "md $level: the refusal names the array and NVMe C" \
			sh -c "dmesg | grep -q 'md0: I/O on PCI P2PDMA memory refused before any member saw it: ${BLK_C#/dev/} cannot reach it'"
		# md refuses each part of a bio it splits to its limits.
		expect_eq "md $level: each part of both copies counted refused on the path to NVMe C" \
			"$(traffic_delta "$refusals" "$(traffic "$A" "$C" not-supported "$REFUSED")" | cut -d' ' -f1)" \
			$((2 * $(md_parts $((1 << 20)))))
	fi
	check "md $level: stopped" md_stop "$BLK_A" "$BLK_C"
}

SEG_MIB=64

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

# table_copy TYPE AT - on a table of NVMe A and B: a copy of $MIB MiB from
# the table's start to AT MiB into it, through the CMB.
table_copy() {
	type=$1 at=$2
	echo "== dm $type over NVMe A and B: a copy through A's CMB, to $at MiB =="
	check "a dm $type table of NVMe A and B" dm_make "$type" "$BLK_A" "$BLK_B"
	dd if=/tmp/ssrc of=$DM bs=1M count=$MIB oflag=direct 2>/dev/null
	before=$(dma_mapped)
	if [ $MD_P2P = 1 ]; then
		expect_eq "dm $type: the copy through the CMB works" \
			"$(p2pmem_copy -o ${at}M "$A" $DM $DM $BYTES 2>&1)" \
			"copied=$BYTES chunks=$MIB"
		expect_eq "dm $type: the table holds the data there" \
			"$(dd if=$DM bs=1M skip="$at" count=$MIB iflag=direct 2>/dev/null | md5sum)" \
			"$(md5sum < /tmp/ssrc)"
		expect_eq "dm $type: the devices moved it by P2P DMA, 2 x $MIB MiB" \
			"$(($(dma_mapped) - before))" $((2 * BYTES))
	else
		expect_eq "dm $type (6.12): dm takes no P2PDMA bio, EREMOTEIO" \
			"$(p2pmem_copy -o ${at}M "$A" $DM $DM $BYTES 2>/dev/null)" \
			"error=-121"
		expect_eq "dm $type (6.12): nothing was mapped" \
			"$(($(dma_mapped) - before))" 0
	fi
	check "dm $type: removed" dm_stop
}

# table_refused TYPE AT_K - on a table of NVMe A and C: a write from the
# CMB (filled from NVMe B) to AT_K KiB fails whole when it spans a part on
# NVMe C, and so does a read into the CMB from the table's start on a
# striped table.  On a linear one the part on NVMe A alone still works.
table_refused() {
	type=$1 at_k=$2
	span=$((at_k / 1024 + 2))
	echo "== dm $type over NVMe A and C (C out of the CMB's reach) =="
	check "a dm $type table of NVMe A and C" dm_make "$type" "$BLK_A" "$BLK_C"
	dd if=/dev/zero of=$DM bs=1M count=$span oflag=direct 2>/dev/null
	dd if=/tmp/ssrc of=$DM bs=1M count=$MIB oflag=direct 2>/dev/null
	dd if=/tmp/sother of="$BLK_B" bs=1M count=1 oflag=direct 2>/dev/null
	md5_before=$(dd if=$DM bs=1M count=$span iflag=direct 2>/dev/null | md5sum)
	refusals=$(traffic "$A" "$C" not-supported "$REFUSED")
	dmesg -c > /dev/null
	before=$(dma_mapped)
	expect_eq "dm $type: a write from the CMB over NVMe C's part fails with EREMOTEIO" \
		"$(p2pmem_copy -o ${at_k}K "$A" "$BLK_B" $DM 1M 2>/dev/null)" \
		"error=-121"
	expect_eq "dm $type: only NVMe B's read into the CMB was mapped" \
		"$(($(dma_mapped) - before))" $((1 << 20))
	expect_eq "dm $type: the table's data is unchanged" \
		"$(dd if=$DM bs=1M count=$span iflag=direct 2>/dev/null | md5sum)" \
		"$md5_before"
	refused=1
	if [ "$type" = linear ] && [ $MD_P2P = 1 ]; then
		# Its first MiB is all on NVMe A.
		expect_eq "dm $type: a read into the CMB from NVMe A's part works" \
			"$(p2pmem_copy "$A" $DM "$BLK_B" 1M 2>&1)" "copied=1048576 chunks=1"
		expect_eq "dm $type: NVMe B holds what the table's start held" \
			"$(md5_dev "$BLK_B" $((1 << 20)))" \
			"$(head -c 1048576 /tmp/ssrc | md5sum)"
	else
		expect_eq "dm $type: a read into the CMB fails with EREMOTEIO" \
			"$(p2pmem_copy "$A" $DM "$BLK_B" 1M 2>/dev/null)" "error=-121"
		expect_eq "dm $type: NVMe B's data is unchanged" \
			"$(md5_dev "$BLK_B" $((1 << 20)))" "$(md5sum < /tmp/sother)"
		[ "$type" = striped ] &&
			expect_eq "dm $type: dm saw no device fail" "$(dm_health)" AA
		refused=2
	fi
	if [ $MD_P2P = 1 ]; then
		check "dm $type: the refusal names the table and NVMe C" \
			sh -c "dmesg | grep -qE 'dm-[0-9]+: I/O on PCI P2PDMA memory refused before any member saw it: ${BLK_C#/dev/} cannot reach it'"
		expect_eq "dm $type: the refusals counted on the path to NVMe C" \
			"$(traffic_delta "$refusals" "$(traffic "$A" "$C" not-supported "$REFUSED")" | cut -d' ' -f1)" $refused
	fi
	check "dm $type: removed" dm_stop
}

check "mdadm is there" command -v mdadm
check "dmsetup is there" command -v dmsetup
dd if=/dev/urandom of=/tmp/ssrc bs=1M count=$MIB 2>/dev/null
dd if=/dev/urandom of=/tmp/sother bs=1M count=1 2>/dev/null
array_copy 1 3
array_copy 0 2
array_copy 10 3
array_refused 1
array_refused 0
array_refused 10
# Across the end of NVMe A's segment into the other device's.
table_copy linear $((SEG_MIB - 2))
table_copy striped $DST_MIB
# Half a MiB before the end of NVMe A's segment.
table_refused linear $((SEG_MIB * 1024 - 512))
table_refused striped $((DST_MIB * 1024))
finish
