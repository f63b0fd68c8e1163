#!/bin/sh
# The benchmark module of scripts/bench ("make bench") on the default
# topology, on whichever kernel booted: NVMe A's CMB is the provider and
# NVMe B its DMA client; the copies read NVMe A and write NVMe B.
# Figures go to the console as "P2PDMA-BENCH <metric> <parameter> <cpus>
# <median> <p99> <samples> <unit>" lines.
. /tests/lib.sh

MB=32
A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
STATS=/sys/kernel/debug/p2pdma/$A/stats

# The module built for this kernel is the one that loads.
bench() {
	for ko in /usr/lib/p2pdma-bench/*.ko; do
		insmod "$ko" provider="$A" client="$B" "$@" 2>/dev/null && return 0
	done
	return 1
}
mapped() { sed -n 's/^dma_mapped_bytes //p' "$STATS" 2>/dev/null; }

check "NVMe A ($A) offers its CMB" test -d "/sys/bus/pci/devices/$A/p2pmem"
dd if=/dev/urandom of="$BLK_A" bs=1M count=$MB oflag=direct 2>/dev/null

check "the control-path benchmarks ran" bench
rmmod p2pdma_bench
before=$(mapped)
check "the copy benchmarks ran" bench copy_only=1 src="$BLK_A" dst="$BLK_B" copy_mb=$MB
after=$(mapped)
check "the copies went through ($BLK_A -> $BLK_B)" \
	sh -c "dmesg | grep -q 'RESULT copy p2p ' && dmesg | grep -q 'RESULT copy sysmem '"

# The same copy from userspace with O_DIRECT (tools/testing/selftests/
# p2pdma/p2pmem_copy): through a system-memory buffer on both kernels,
# through an mmap of p2pmem/allocate where the kernel has it (this
# framework, upstream from 6.2 on).  A warm-up run, then 3 timed ones.
odirect() {
	kind=$1
	shift
	p2pmem_copy "$@" -T "$A" "$BLK_A" "$BLK_B" ${MB}M > /dev/null || return 1
	for run in 1 2 3; do
		ns=$(p2pmem_copy "$@" -T "$A" "$BLK_A" "$BLK_B" ${MB}M |
			sed -n 's/.* ns=\([0-9]*\)$/\1/p')
		[ -n "$ns" ] || return 1
		echo $(( (MB << 20) * 1000 / ns ))
	done | sort -n > /tmp/mbps
	[ "$(wc -l < /tmp/mbps)" -eq 3 ] || return 1
	echo "P2PDMA-BENCH odirect_copy $kind 1 $(sed -n 2p /tmp/mbps) $(sed -n 1p /tmp/mbps) 3 MB/s"
}
check "O_DIRECT copy from userspace through system memory" odirect sysmem -s
if [ -e "/sys/bus/pci/devices/$A/p2pmem/allocate" ]; then
	u_before=$(mapped)
	check "O_DIRECT copy from userspace through p2pmem" odirect p2p
	u_after=$(mapped)
	# Upstream has no such statistic.
	if [ -n "$u_before" ] && [ -n "$u_after" ]; then
		expect_eq "the provider mapped exactly twice each userspace copy for DMA" \
			"$((u_after - u_before))" "$((4 * 2 * MB << 20))"
	fi
fi

dmesg | sed -n 's/.*p2pdma_bench: RESULT /P2PDMA-BENCH /p'
dmesg | grep 'p2pdma_bench: ' | grep -v RESULT | sed 's/^/   /'
# Only this framework counts the bytes its providers map for DMA: each of
# the p2p copy's passes (a warm-up one and 5 timed ones) must map every
# byte twice (read into the CMB, written out of it), the system-memory
# copy none.
PASSES=6
if [ -n "$before" ] && [ -n "$after" ]; then
	per_pass=$(( (after - before) / PASSES ))
	echo "P2PDMA-BENCH copy_provider_dma_bytes p2p 1 $per_pass $per_pass 1 bytes"
	expect_eq "the provider mapped exactly twice each p2p copy for DMA" \
		"$((after - before))" "$((PASSES * 2 * MB << 20))"
fi
finish
