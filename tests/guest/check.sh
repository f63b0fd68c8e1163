#!/bin/sh
# Everything "make check" runs in the guest, in one boot.
. /tests/lib.sh

echo "== KUnit suites built into this kernel =="
# Named one by one: a suite that stopped registering fails here.
suites="p2pdma_topology p2pdma_pool p2pdma_clear p2pdma_core p2pdma_account
	cxgb4_p2pmem nvmet_p2pmem nvmet_rdma_p2p"
# nvmet on stacked block devices is 7.3's: 6.12's md and heads take no
# P2PDMA bio.
case $(uname -r) in
6.12*) ;;
*) suites="$suites nvmet_p2p_members p2pdma_dmabuf" ;;
esac
for suite in $suites; do
	r=/sys/kernel/debug/kunit/$suite/results
	check "KUnit suite $suite passes on the QEMU kernel" \
		grep -qE "^ok [0-9]+ (- )?$suite\$" "$r"
	# Its cases, for the host to count one by one (scripts/lib.sh).
	echo "P2PDMA-KTAP-BEGIN $suite"
	sed 's/^/P2PDMA-KTAP /' "$r"
	echo "P2PDMA-KTAP-END $suite"
done

# The real-topology case skips in kunit.py's VM; here it has to run.
# So must the cases that borrow the ivshmem BAR, not bound yet at boot.
check "KUnit case cxgb4_p2pmem_test_register ran on ivshmem" \
	grep -qE "^ +ok [0-9]+ cxgb4_p2pmem_test_register$" \
	/sys/kernel/debug/kunit/cxgb4_p2pmem/results
check "KUnit case nvmet_p2p_test_removed_while_in_use ran on ivshmem" \
	grep -qE "^ +ok [0-9]+ nvmet_p2p_test_removed_while_in_use$" \
	/sys/kernel/debug/kunit/nvmet_p2pmem/results
check "KUnit case nvmet_rdma_test_pci_nic ran on ivshmem" \
	grep -qE "^ +ok [0-9]+ nvmet_rdma_test_pci_nic$" \
	/sys/kernel/debug/kunit/nvmet_rdma_p2p/results

# dma-buf export (7.3's dma-buf core): the importers are real NVMe functions.
case $(uname -r) in
6.12*) ;;
*)
	for case in dmabuf_test_refusals dmabuf_test_map_bus \
		    dmabuf_test_revoke_mapped dmabuf_test_revoke_cooperative \
		    dmabuf_test_map_pieces dmabuf_test_map_host_bridge \
		    dmabuf_test_phys_ranges dmabuf_test_rdma_contract; do
		check "KUnit case $case ran on ivshmem and the NVMe functions" \
			grep -qE "^ +ok [0-9]+ $case\$" \
			/sys/kernel/debug/kunit/p2pdma_dmabuf/results
	done ;;
esac

check "KUnit case p2pdma_test_qemu_topology ran on the real switch" \
	grep -qE "^ +ok [0-9]+ p2pdma_test_qemu_topology$" \
	/sys/kernel/debug/kunit/p2pdma_topology/results

# The allocator suite frees pages twice and outside its arenas on
# purpose; the reports name pages of an arena, never a kernel address.
check "the allocator's bad-free reports name arena pages, not addresses" \
	sh -c "dmesg | grep -q 'p2pdma: freeing .*double free?' &&
	       dmesg | grep -q 'p2pdma: freeing .*a wrong address?' &&
	       ! dmesg | grep 'p2pdma: freeing' | grep -q '0x'"

# The topology suite's fake devices (PCI domains 7ffe and 7fff) asked real
# providers for paths; its exit must leave no trace of them there, not even
# a stale entry (the listing shows those too).
stats=$(ls /sys/kernel/debug/p2pdma/*/stats 2>/dev/null | wc -l)
check "real providers have statistics to look in ($stats)" test "$stats" -ge 1
fake=$(cat /sys/kernel/debug/p2pdma/*/stats 2>/dev/null | grep '^client 7ff[ef]:')
expect_eq "no provider keeps a KUnit fake device in its path cache" "$fake" ""

sh /tests/demo.sh || FAILED=$((FAILED + 1))
sh /tests/providers.sh || FAILED=$((FAILED + 1))
case $(uname -r) in
6.12*) ;;
*) sh /tests/dmabuf.sh || FAILED=$((FAILED + 1)) ;;
esac
sh /tests/compat.sh || FAILED=$((FAILED + 1))
sh /tests/faults.sh || FAILED=$((FAILED + 1))
sh /tests/nvmetio.sh || FAILED=$((FAILED + 1))
sh /tests/trace.sh || FAILED=$((FAILED + 1))
sh /tests/topo.sh || FAILED=$((FAILED + 1))
sh /tests/probe.sh || FAILED=$((FAILED + 1))
sh /tests/stacked.sh || FAILED=$((FAILED + 1))
# It ends by hot-unplugging NVMe A, which makes lockdep report pciehp's
# lock order and stop (tests/known-kernel-reports).
sh /tests/userspace.sh || FAILED=$((FAILED + 1))
# Last, after lockdep has checked the rest: on 7.3, removing its
# nvmet-rdma port may make lockdep report an upstream lock order and stop.
# It needs NVMe B only.
sh /tests/nvmet.sh || FAILED=$((FAILED + 1))
finish
