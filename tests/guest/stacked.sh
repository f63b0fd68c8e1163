#!/bin/sh
# P2P through md arrays of NVMe namespaces, with NVMe A's CMB as the
# provider.  On 7.3, raid0, raid1 and raid10 announce P2PDMA when their
# members do: O_DIRECT copies through the CMB work on arrays of NVMe A and
# B, with the data on every leg.  On arrays with NVMe C, which cannot
# reach the CMB, the same copies fail whole with EREMOTEIO before any
# member sees them.  Either way the array stays as it was: no member
# failed, no error or bad block recorded on one, the data unchanged.
# 6.12's md takes no P2PDMA bio at all: there every copy is refused, as
# cleanly.
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
		expect_eq "md $level: both refusals counted on the path to NVMe C" \
			"$(traffic_delta "$refusals" "$(traffic "$A" "$C" not-supported "$REFUSED")" | cut -d' ' -f1)" 2
	fi
	check "md $level: stopped" md_stop "$BLK_A" "$BLK_C"
}

check "mdadm is there" command -v mdadm
dd if=/dev/urandom of=/tmp/ssrc bs=1M count=$MIB 2>/dev/null
dd if=/dev/urandom of=/tmp/sother bs=1M count=1 2>/dev/null
array_copy 1 3
array_copy 0 2
array_copy 10 3
array_refused 1
array_refused 0
array_refused 10
finish
