#!/bin/sh
# nvmet as a generic P2PDMA client: a target on soft-RoCE (rdma_rxe over a
# veth), exporting NVMe B with p2pmem=auto.  rxe is not a PCI device, so
# no provider can serve it: the target must say so and serve I/O from
# system memory.  Bad p2pmem values are refused.
. /tests/lib.sh

B=$(nvme_bdf P2PNVMEB) BLK_B=$(nvme_blk P2PNVMEB)
NQN=p2pdma-test
ADDR=10.99.0.1
CFG=/sys/kernel/config/nvmet
SUB=$CFG/subsystems/$NQN
NS=$SUB/namespaces/1
PORT=$CFG/ports/1
IP=/usr/sbin/ip

echo "== soft-RoCE: rxe0 on veth0 =="
$IP link add veth0 type veth peer name veth1 &&
	$IP addr add $ADDR/24 dev veth0 &&
	$IP link set veth0 up && $IP link set veth1 up
check "rdma link add rxe0 on veth0" rdma link add rxe0 type rxe netdev veth0

echo "== nvmet subsystem $NQN: namespace 1 on $BLK_B =="
mkdir "$SUB" && echo 1 > "$SUB/attr_allow_any_host"
mkdir "$NS" && echo "$BLK_B" > "$NS/device_path"

# p2pmem_refused VALUE ERROR - writing VALUE to the p2pmem attribute must
# fail with the errno whose text is ERROR.
p2pmem_refused() {
	err=$(sh -c "echo '$1' > $NS/p2pmem" 2>&1) && return 1
	case $err in *"$2"*) return 0 ;; esac
	echo "   got: $err"
	return 1
}
check "p2pmem: a device that does not exist is refused with ENODEV, as upstream" \
	p2pmem_refused 0000:7f:1f.7 "No such device"
check "p2pmem: a word that is not a keyword is refused with ENODEV, as upstream" \
	p2pmem_refused sometimes "No such device"
check "p2pmem: a PCI device without p2pmem is refused with ENODEV" \
	p2pmem_refused "$B" "No such device"
check "p2pmem: the refusals are explained in dmesg" \
	sh -c "dmesg | grep -q \"p2pdma: 'sometimes' is not a PCI device\""
echo 0 > "$NS/p2pmem"
expect_eq "p2pmem=0 reads back 0, as upstream" "$(cat "$NS/p2pmem")" 0
echo auto > "$NS/p2pmem"
expect_eq "p2pmem=auto reads back 1, as upstream shows automatic choice" \
	"$(cat "$NS/p2pmem")" 1
check "namespace enables with p2pmem=auto" sh -c "echo 1 > $NS/enable"

mkdir "$PORT"
echo rdma > "$PORT/addr_trtype"
echo ipv4 > "$PORT/addr_adrfam"
echo $ADDR > "$PORT/addr_traddr"
echo 4420 > "$PORT/addr_trsvcid"
check "port 1 listens on rdma $ADDR:4420" ln -s "$SUB" "$PORT/subsystems/$NQN"

echo "== host: nvme connect -t rdma =="
check "nvme connect over rdma" \
	nvme connect -t rdma -a $ADDR -s 4420 -n $NQN
FAB=$(wait_fabrics_blk $NQN)
check "the remote namespace appears ($FAB)" test -b "$FAB"

check "nvmet-rdma says why rxe0 cannot use p2pmem" \
	sh -c "dmesg | grep -q 'nvmet_rdma: rxe0 cannot DMA to PCI peer memory (software RDMA device)'"
check "nvmet says namespace 1 falls back to system memory" \
	sh -c "dmesg | grep -qE 'nvmet: ctrl [0-9]+: transport device cannot use p2pmem: nsid 1 uses system memory'"

dd if=/dev/urandom of=/tmp/nsrc bs=1M count=4 2>/dev/null
dd if=/tmp/nsrc of="$FAB" bs=1M oflag=direct 2>/dev/null
want=$(md5sum < /tmp/nsrc)
expect_eq "data written over rdma reads back over rdma" \
	"$(md5_dev "$FAB" $((4 << 20)))" "$want"
expect_eq "and is on NVMe B itself" "$(md5_dev "$BLK_B" $((4 << 20)))" "$want"

nvme disconnect -n $NQN > /dev/null
rm "$PORT/subsystems/$NQN" && rmdir "$PORT"
echo 0 > "$NS/enable" && rmdir "$NS" && rmdir "$SUB"
check "target torn down" test ! -e "$SUB"
rdma link delete rxe0
finish
