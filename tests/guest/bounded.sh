#!/bin/sh
# Bounded work in a mapping (tests/topologies/hostbridges.topo's 8 GiB
# ivshmem): one mmap() of a large provider takes seconds.  How much of it
# is found by trying, up to all of it: 5 s of mapping is 8 GiB or more
# under KVM, some hundreds of MiB or a few GiB under TCG.
# It must stop soon after SIGKILL and after the provider is unbound, and a
# revocation that waits for a process's mmap lock says whom it waits for.
# Run with the least preemptible model the kernel offers (6.12: none; x86
# on 7.3 has only full and lazy) and a soft-lockup threshold of 4 s: a
# mapping loop that never yields is a soft lockup, which the host counts
# as a kernel report.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA)
IV=$(ivshmem_bdf)
P2P=/sys/bus/pci/devices/$IV/p2pmem
PREEMPT=/sys/kernel/debug/sched/preempt

echo "== ivshmem $IV, 8 GiB, to p2pmem_pci =="
check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
expect_eq "its p2pmem is 8 GiB" "$(cat "$P2P/size" 2>&1)" $((8 << 30))

cpus_online=$(cat /sys/devices/system/cpu/online)
# set_preempt MODEL - switch the preemption model with the other CPUs
# offline: the switch patches kernel text (static calls), and under TCG a
# vCPU running meanwhile once executed a breakpoint of that patching after
# it was gone (an int3 oops in irqentry_exit, 6.12; switching ftrace's
# profiler on and off does the same on 2 vCPUs, and never on 1).  True
# once MODEL is set and the same CPUs are online again.
set_preempt() {
	sp_rc=0
	for sp_cpu in /sys/devices/system/cpu/cpu[1-9]*/online; do
		echo 0 > "$sp_cpu" || sp_rc=1
	done
	[ "$sp_rc" = 0 ] && { echo "$1" > "$PREEMPT" || sp_rc=1; }
	for sp_cpu in /sys/devices/system/cpu/cpu[1-9]*/online; do
		echo 1 > "$sp_cpu" || sp_rc=1
	done
	[ "$sp_rc" = 0 ] && grep -q "($1)" "$PREEMPT" &&
		[ "$(cat /sys/devices/system/cpu/online)" = "$cpus_online" ]
}

model=
for m in none voluntary lazy; do
	grep -qw "$m" "$PREEMPT" 2>/dev/null && model=$m && break
done
echo "   preemption models: $(cat "$PREEMPT" 2>&1); testing under '$model'"
check "a less preemptible model than full is set" set_preempt "$model"
old_thresh=$(cat /proc/sys/kernel/watchdog_thresh)
check "the soft-lockup detector runs, its threshold at 2 s (reports after 4 s)" \
	sh -c "echo 2 > /proc/sys/kernel/watchdog_thresh && test \"\$(cat /proc/sys/kernel/soft_watchdog)\" = 1"

tap 19 "bounded" p2pmem_mmap_test "$IV" bounded p2pmem_pci "$A" nvme

check "the model is full again, every CPU online" set_preempt full
echo "$old_thresh" > /proc/sys/kernel/watchdog_thresh
check "no soft lockup meanwhile" sh -c "! dmesg | grep -q 'soft lockup'"
finish
