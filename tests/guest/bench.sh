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
# scripts/bench says which kernel this is (p2pbench=bench|bench-base on
# the command line); the module built against its tree is the one to
# load: the other may load too, since this framework keeps upstream's
# names, but it would measure upstream's calls.  The module says which it
# is.  Only this framework has per-provider statistics, dma_mapped_bytes
# among them: on it, a missing figure is a failure, not a reason to skip.
V=$(sed -n 's/.*p2pbench=\([a-z-]*\).*/\1/p' /proc/cmdline)
case $V in
bench) FRAMEWORK=1 KIND=framework ;;
bench-base) FRAMEWORK=0 KIND=upstream ;;
*) echo "no p2pbench= on the command line"; FRAMEWORK=0 KIND=none ;;
esac
KO=$V.ko
check "the kernel is the one scripts/bench booted ($KIND)" \
	test "$KIND" != none -a \
	"$([ -d "/sys/kernel/debug/p2pdma/$A" ] && echo 1 || echo 0)" = "$FRAMEWORK"
# TCG's TSC can look unstable to the clocksource watchdog, and the HPET
# reads that replace it cost microseconds: scripts/bench insists on it.
clocksource() {
	echo "P2PDMA-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
}
clocksource

bench() {
	insmod "/usr/lib/p2pdma-bench/$KO" provider="$A" client="$B" "$@" &&
		dmesg | grep -q "p2pdma_bench: kernel $KIND, "
}

mapped() { sed -n 's/^dma_mapped_bytes //p' "$STATS" 2>/dev/null; }

check "NVMe A ($A) offers its CMB" test -d "/sys/bus/pci/devices/$A/p2pmem"

# scripts/bench also boots a guest with 4 vCPUs, more than its host's
# cores: only allocation on 4 CPUs is measured there.
if [ "$(nproc)" -ge 4 ]; then
	check "allocation on 4 CPUs ran" bench alloc_cpus=4
	check "allocation on 4 CPUs gave figures" \
		sh -c "dmesg | grep -q 'RESULT alloc 4K 4 '"
	dmesg | sed -n 's/.*p2pdma_bench: RESULT /P2PDMA-BENCH /p'
	clocksource
	finish
fi
dd if=/dev/urandom of="$BLK_A" bs=1M count=$MB oflag=direct 2>/dev/null

check "the control-path benchmarks ran" bench
check "allocation on an exhausted pool gave a figure" \
	sh -c "dmesg | grep -q 'RESULT alloc_fail 4K 1 '"
# Only this framework on 7.3 lets a module ask a provider's map type.
case $FRAMEWORK.$(uname -r) in
1.7.*)
	check "the provider's map type gave a figure" \
		sh -c "dmesg | grep -q 'RESULT map_type provider 1 '"
	;;
esac
rmmod p2pdma_bench
# What this framework's per-path accounting costs a mapping call: the
# mapping figures again with it off (pci_p2pdma.accounting), for
# scripts/bench-report's ratio; on again before the copies count bytes.
if [ "$FRAMEWORK" = 1 ]; then
	ACCOUNTING=/sys/module/pci_p2pdma/parameters/accounting
	check "the per-path accounting turns off" \
		sh -c "echo N > $ACCOUNTING && grep -qx N $ACCOUNTING"
	check "the mapping benchmarks ran without accounting" \
		bench map_only=1 tag=_unaccounted
	rmmod p2pdma_bench
	check "the per-path accounting turns on again" \
		sh -c "echo Y > $ACCOUNTING && grep -qx Y $ACCOUNTING"
fi
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
	if [ "$FRAMEWORK" = 1 ]; then
		expect_eq "the provider mapped exactly twice each userspace copy for DMA" \
			"$((${u_after:-0} - ${u_before:-0}))" "$((4 * 2 * MB << 20))"
	fi
fi

# What a new mapping of p2pmem/allocate costs (tools/testing/selftests/
# p2pdma/p2pmem_map_cost.c): both kernels take and map the memory in
# mmap(), this framework also clears it first.
# With "written" each round writes every page before its munmap(), so
# every page of the next mapping has to be cleared: on this framework
# ahead of time by the provider's clearer, or by mmap() when it lags.
map_cost() {
	mc_size=$1 mc_rounds=$2 mc_written=$3
	mc_line=$(p2pmem_map_cost "$A" "$mc_size" "$mc_rounds" $mc_written) ||
		return 1
	set -- $(echo "$mc_line" | sed -n \
		's/^mmap_ns=\([0-9]*\) mmap_p99=\([0-9]*\) munmap_ns=\([0-9]*\) munmap_p99=\([0-9]*\) rounds=[0-9]*$/\1 \2 \3 \4/p')
	[ $# -eq 4 ] || return 1
	echo "P2PDMA-BENCH user_mmap${mc_written:+_$mc_written} $mc_size 1 $1 $2 $mc_rounds ns"
	echo "P2PDMA-BENCH user_munmap${mc_written:+_$mc_written} $mc_size 1 $3 $4 $mc_rounds ns"
}
if [ -e "/sys/bus/pci/devices/$A/p2pmem/allocate" ]; then
	for size in 4K 64K 1M; do
		check "a new $size mapping of p2pmem, timed" map_cost $size 100
	done
	cleared0=$(sed -n 's/^cleared_bytes //p' "$STATS" 2>/dev/null)
	ns0=$(sed -n 's/^clear_ns //p' "$STATS" 2>/dev/null)
	for size in 4K 64K 1M; do
		check "a new $size mapping of p2pmem after a written one, timed" \
			map_cost $size 100 written
	done
	# Only this framework clears, and counts what its clearer did.
	if [ "$FRAMEWORK" = 1 ]; then
		cleared=$(( $(sed -n 's/^cleared_bytes //p' "$STATS") - ${cleared0:-0} ))
		ns=$(( $(sed -n 's/^clear_ns //p' "$STATS") - ${ns0:-0} ))
		check "the clearer cleared ahead of the written mappings" \
			test "$cleared" -gt 0 -a "$ns" -gt 0
		[ "$ns" -gt 0 ] &&
			echo "P2PDMA-BENCH clear_rate cmb 1 $((cleared * 1000 / ns)) $((cleared * 1000 / ns)) 1 MB/s"
		echo "   the clearer: $((cleared >> 10)) KiB in $((ns / 1000000)) ms"
	fi
fi

dmesg | sed -n 's/.*p2pdma_bench: RESULT /P2PDMA-BENCH /p'
dmesg | grep 'p2pdma_bench: ' | grep -v RESULT | sed 's/^/   /'
# Only this framework counts the bytes its providers map for DMA: each of
# the p2p copy's passes (a warm-up one and 5 timed ones) must map every
# byte twice (read into the CMB, written out of it), the system-memory
# copy none.
PASSES=6
if [ "$FRAMEWORK" = 1 ]; then
	check "the provider's dma_mapped_bytes was read" \
		test -n "$before" -a -n "$after" -a -n "$u_before" -a -n "$u_after"
	per_pass=$(( (${after:-0} - ${before:-0}) / PASSES ))
	echo "P2PDMA-BENCH copy_provider_dma_bytes p2p 1 $per_pass $per_pass 1 bytes"
	expect_eq "the provider mapped exactly twice each p2p copy for DMA" \
		"$((${after:-0} - ${before:-0}))" "$((PASSES * 2 * MB << 20))"
fi
clocksource
finish
