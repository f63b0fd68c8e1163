#!/bin/sh
# P2P through NVMe multipath heads (tests/topologies/multipath.topo), with
# NVMe A's CMB as the provider.  On 7.3 a head announces P2PDMA when its
# paths do: a copy through the CMB works on subsystem "near", both of
# whose controllers sit behind A's switch.  On subsystem "split", one of
# whose controllers cannot reach the CMB, the same copies fail whole with
# EREMOTEIO, whichever path the I/O policy would have picked: no path
# sees them, none fails over, no counter of a path or the head moves,
# and the data is unchanged.  6.12's heads take no P2PDMA bio: there
# every copy is refused, as cleanly.  Last, nvmet serves each head: near's
# with p2pmem, split's with system memory, naming the far controller.
. /tests/lib.sh
. /tests/nvmet-lib.sh
. /tests/stacked-lib.sh

A=$(nvme_bdf P2PNVMEA) BLK_A=$(nvme_blk P2PNVMEA)
MIB=4
BYTES=$((MIB << 20))
DST_MIB=16
case $(uname -r) in
6.12*) MPATH_P2P=0 ;;
*) MPATH_P2P=1 ;;
esac

# counters HEAD - what a path's failure, retry or failover would move:
# each path's controller state and diag counters, and the head's.
counters() {
	for p in $(paths_of "$1"); do
		c=$(basename "$(readlink -f "/sys/block/$p/device")")
		printf '%s %s' "$p" "$(cat "/sys/class/nvme/$c/state")"
		for f in /sys/block/$p/diag/*; do
			printf ' %s=%s' "${f##*/}" "$(cat "$f")"
		done
		echo
	done
	for f in /sys/block/${1#/dev/}/diag/*; do
		echo "${1#/dev/} ${f##*/}=$(cat "$f")"
	done
}

dma_mapped() {
	p2p_stat "$A" dma_mapped_bytes
}

REFUSED="path crosses a root complex not known to route P2P"

# far_path - the PCI function of split's controller on the other root
# port: the one with no switch above it.
far_path() {
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' < "$c/serial")" = P2PSPLIT ] || continue
		d=$(readlink -f "$c/device")
		case $d in
		*/0000:*/0000:*/0000:*) ;;
		*) basename "$d" ;;
		esac
	done
}

# path_refusals HEAD - "PATH N" a path: the refusals A's accounting
# counted on the path to the path's PCI function.
path_refusals() {
	for p in $(paths_of "$1"); do
		c=$(basename "$(readlink -f "/sys/block/$p/device")")
		bdf=$(basename "$(readlink -f "/sys/class/nvme/$c/device")")
		echo "$p $(traffic "$A" "$bdf" not-supported "$REFUSED" | cut -d' ' -f1)"
	done
}

NEAR=$(head_of near) SPLIT=$(head_of split)
FAR=$(far_path)
check "split has a controller on the other root port ($FAR)" test -n "$FAR"
check "subsystem near has a multipath head ($NEAR)" test -b "$NEAR"
check "subsystem split has a multipath head ($SPLIT)" test -b "$SPLIT"
expect_eq "near's head has two paths" "$(paths_of "$NEAR" | wc -l)" 2
expect_eq "split's head has two paths" "$(paths_of "$SPLIT" | wc -l)" 2
if [ $MPATH_P2P = 1 ]; then
	# 7.3's diag counters are what would show a retry or a failover.
	check "the paths have diag counters" \
		test -r "/sys/block/$(paths_of "$SPLIT" | head -1)/diag/multipath_failover_count"
fi
dd if=/dev/urandom of=/tmp/msrc bs=1M count=$MIB 2>/dev/null

echo "== the head of near: a copy through A's CMB =="
dd if=/tmp/msrc of="$NEAR" bs=1M count=$MIB oflag=direct 2>/dev/null
before=$(dma_mapped)
if [ $MPATH_P2P = 1 ]; then
	expect_eq "near: the copy through the CMB works" \
		"$(p2pmem_copy -o ${DST_MIB}M "$A" "$NEAR" "$NEAR" $BYTES 2>&1)" \
		"copied=$BYTES chunks=$MIB"
	expect_eq "near: the namespace holds the data there" \
		"$(dd if="$NEAR" bs=1M skip=$DST_MIB count=$MIB iflag=direct 2>/dev/null | md5sum)" \
		"$(md5sum < /tmp/msrc)"
	expect_eq "near: a path moved it by P2P DMA, 2 x $MIB MiB" \
		"$(($(dma_mapped) - before))" $((2 * BYTES))
else
	expect_eq "near (6.12): the head takes no P2PDMA bio, EREMOTEIO" \
		"$(p2pmem_copy -o ${DST_MIB}M "$A" "$NEAR" "$NEAR" $BYTES 2>/dev/null)" \
		"error=-121"
	expect_eq "near (6.12): nothing was mapped" "$(($(dma_mapped) - before))" 0
fi

echo "== the head of split: one path out of the CMB's reach =="
dd if=/dev/zero of="$SPLIT" bs=1M count=$((DST_MIB + MIB)) oflag=direct 2>/dev/null
dd if=/tmp/msrc of="$SPLIT" bs=1M count=$MIB oflag=direct 2>/dev/null
split_md5=$(dd if="$SPLIT" bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)
# What the writes would put there, unlike what is there.
dd if=/tmp/msrc of="$BLK_A" bs=1M count=1 oflag=direct 2>/dev/null
a_md5=$(md5_dev "$BLK_A" $((1 << 20)))
counted=$(counters "$SPLIT")
refusals=$(path_refusals "$SPLIT")
dmesg -c > /dev/null
# Each copy several times, the paths taken in turn: without the check up
# front, the I/O the reachable path gets works and the other's fails.
# NVMe A, no multipath, fills the CMB for the writes and takes the reads.
check "split's paths are taken in turn" \
	sh -c "echo round-robin > $(subsys_of split)/iopolicy"
n=0 writes=0 reads=0
while [ $n -lt 4 ]; do
	before=$(dma_mapped)
	[ "$(p2pmem_copy -o ${DST_MIB}M "$A" "$BLK_A" "$SPLIT" 1M 2>/dev/null)" = error=-121 ] &&
		[ "$(($(dma_mapped) - before))" = $((1 << 20)) ] && writes=$((writes + 1))
	before=$(dma_mapped)
	[ "$(p2pmem_copy "$A" "$SPLIT" "$BLK_A" 1M 2>/dev/null)" = error=-121 ] &&
		[ "$(($(dma_mapped) - before))" = 0 ] && reads=$((reads + 1))
	n=$((n + 1))
done
expect_eq "split: 4 writes from the CMB fail with EREMOTEIO, mapped by no path" \
	$writes 4
expect_eq "split: 4 reads into the CMB fail with EREMOTEIO, mapped by no path" \
	$reads 4
expect_eq "split: the namespace's data is unchanged" \
	"$(dd if="$SPLIT" bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)" \
	"$split_md5"
expect_eq "NVMe A's data, where the reads would have gone, is unchanged" \
	"$(md5_dev "$BLK_A" $((1 << 20)))" "$a_md5"
expect_eq "split: no path failed, retried or failed over" \
	"$(counters "$SPLIT")" "$counted"
expect_eq "split: both paths' controllers are live" \
	"$(counters "$SPLIT" | grep -c '^nvme[0-9]*c[0-9]*n[0-9]* live')" 2
if [ $MPATH_P2P = 1 ]; then
	# One path, always the same, refused each copy: the other reaches.
	deltas=$(path_refusals "$SPLIT" | while read -r p n; do
		echo "$p $((n - $(echo "$refusals" | awk -v p="$p" '$1 == p { print $2 }')))"
	done)
	far=$(echo "$deltas" | awk '$2 == 8 { print $1 }')
	expect_eq "split: the refusals counted, 8 on one path, none on the other" \
		"$(echo "$deltas" | awk '{ print $2 }' | sort -n | tr '\n' ' ')" "0 8 "
	check "split: the refusal names the head and that path ($far)" \
		sh -c "dmesg | grep -q '${SPLIT#/dev/}: I/O on PCI P2PDMA memory refused before any member saw it: ${far:-none} cannot reach it'"
fi

# far_disk - split's path disk through the controller $FAR.
far_disk() {
	for p in $(paths_of "$SPLIT"); do
		c=$(basename "$(readlink -f "/sys/block/$p/device")")
		[ "$(basename "$(readlink -f "/sys/class/nvme/$c/device")")" = "$FAR" ] &&
			echo "$p"
	done
}

echo "== md 1 over a head and NVMe D: the head's paths are members too =="
BLK_D=$(nvme_blk P2PNVMED)
MD_SIZE=65536
check "an md 1 array of near's head and NVMe D" md_make 1 "$NEAR" "$BLK_D"
dd if=/tmp/msrc of=$MD bs=1M count=$MIB oflag=direct 2>/dev/null
before=$(dma_mapped)
if [ $MPATH_P2P = 1 ]; then
	expect_eq "md on near: the copy through the CMB works" \
		"$(p2pmem_copy -o ${DST_MIB}M "$A" $MD $MD $BYTES 2>&1)" \
		"copied=$BYTES chunks=$MIB"
	expect_eq "md on near: the data is there" \
		"$(dd if=$MD bs=1M skip=$DST_MIB count=$MIB iflag=direct 2>/dev/null | md5sum)" \
		"$(md5sum < /tmp/msrc)"
	# A leg's read, then the head's path's write and NVMe D's.
	expect_eq "md on near: moved by P2P DMA, 3 x $MIB MiB" \
		"$(($(dma_mapped) - before))" $((3 * BYTES))
else
	expect_eq "md on near (6.12): takes no P2PDMA bio, EREMOTEIO" \
		"$(p2pmem_copy -o ${DST_MIB}M "$A" $MD $MD $BYTES 2>/dev/null)" \
		"error=-121"
fi
expect_eq "md on near: no member failed, none has errors" \
	"$(md_state | sort)" "$(md_clean_state "$NEAR" "$BLK_D" | sort)"
check "md on near: stopped" md_stop "$NEAR" "$BLK_D"

check "an md 1 array of split's head and NVMe D" md_make 1 "$SPLIT" "$BLK_D"
MD_SIZE=
dd if=/tmp/msrc of=$MD bs=1M count=$MIB oflag=direct 2>/dev/null
md_md5=$(dd if=$MD bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)
counted=$(counters "$SPLIT")
dmesg -c > /dev/null
before=$(dma_mapped)
expect_eq "md on split: a write from the CMB fails with EREMOTEIO" \
	"$(p2pmem_copy -o ${DST_MIB}M "$A" "$BLK_A" $MD 1M 2>/dev/null)" "error=-121"
expect_eq "md on split: a read into the CMB fails with EREMOTEIO" \
	"$(p2pmem_copy "$A" $MD "$BLK_A" 1M 2>/dev/null)" "error=-121"
expect_eq "md on split: only NVMe A's read into the CMB was mapped" \
	"$(($(dma_mapped) - before))" $((1 << 20))
expect_eq "md on split: the data is unchanged" \
	"$(dd if=$MD bs=1M count=$((DST_MIB + MIB)) iflag=direct 2>/dev/null | md5sum)" \
	"$md_md5"
expect_eq "md on split: no member failed, none has errors" \
	"$(md_state | sort)" "$(md_clean_state "$SPLIT" "$BLK_D" | sort)"
expect_eq "md on split: no path failed, retried or failed over" \
	"$(counters "$SPLIT")" "$counted"
if [ $MPATH_P2P = 1 ]; then
	check "md on split: the refusal names md0 and the far path, $(far_disk)" \
		dmesg_has "md0: I/O on PCI P2PDMA memory refused before any member saw it: $(far_disk) cannot reach it"
fi
check "md on split: stopped" md_stop "$SPLIT" "$BLK_D"

echo "== nvmet on the heads, with A's p2pmem =="
nvmet_names p2pdma-mpath 9
# The transport's device: near's first controller, behind the switch.
T=$(nvme_bdf P2PNEAR)
check "port 9 serves $NQN, namespace 1 on $NEAR" nvmet_serve "$NEAR"
if [ $MPATH_P2P = 1 ]; then
	connect_with_p2pmem "nvmet on near" "$A" "$T"
	before=$(dma_mapped)
	expect_eq "nvmet on near: a 1 MiB write, through p2pmem" \
		"$(io write $((32 << 20)) 1048576 21 1)" \
		"done=1 p2p=1 status=0x0 provider=$A mismatches=0"
	expect_eq "nvmet on near: the namespace holds the data written" \
		"$(region_md5 "$NEAR" $((32 << 20)) 1048576)" \
		"$(pattern_md5 1048576 21)"
	expect_eq "nvmet on near: a path moved it by P2P DMA" \
		"$(($(dma_mapped) - before))" $((1 << 20))
	check "disconnect" disconnect

	echo 0 > "$NS/enable" && echo "$SPLIT" > "$NS/device_path"
	dmesg -c > /dev/null
	check "namespace 1 on split enabled with p2pmem=$A all the same" \
		ns_p2pmem "$A"
	check "nvmet says $FAR cannot reach it, and split uses system memory" \
		dmesg_has "nvmet: nsid 1: $FAR cannot reach p2pmem on $A: $SPLIT uses system memory"
	check "connect with $T as the transport's device" connect "$T"
	check "and says it again for the controller" \
		dmesg_has "nvmet: ctrl [0-9]+: $FAR cannot reach p2pmem on $A: nsid 1 uses system memory"
	counted=$(counters "$SPLIT")
	expect_eq "nvmet on split: a 1 MiB write, in system memory" \
		"$(io write $((32 << 20)) 1048576 22 1)" \
		"done=1 p2p=0 status=0x0 provider=none mismatches=0"
	expect_eq "nvmet on split: the namespace holds the data written" \
		"$(region_md5 "$SPLIT" $((32 << 20)) 1048576)" \
		"$(pattern_md5 1048576 22)"
	expect_eq "nvmet on split: no path failed, retried or failed over" \
		"$(counters "$SPLIT")" "$counted"
	check "disconnect" disconnect
else
	check "6.12: namespace 1 on near's head cannot have p2pmem" \
		p2pmem_refused "$A"
	check "6.12: nvmet says the head cannot do P2PDMA" \
		dmesg_has "peer-to-peer DMA is not supported by the driver of $NEAR"
fi
check "nvmet let the heads go" nvmet_unserve
finish
