#!/bin/sh
# Two-node NVMe-oF, the target (scripts/qemu-pair, with fabric-host.sh on
# the other guest).  On 10.98.0.1 it exports NVMe B, with p2pmem=auto,
# over nvmet-rdma (soft-RoCE on the virtual NIC, port 4420) and nvmet-tcp
# (port 4421).  Neither transport can DMA to a PCI BAR, so although NVMe
# A's CMB is in reach of NVMe B, every controller must use system memory
# and dmesg must say why.  The host reports the checksums of what it
# wrote over each transport; NVMe B itself must hold that data.
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB)
NQN=p2pdma-fabric
ADDR=10.98.0.1
CFG=/sys/kernel/config/nvmet
SUB=$CFG/subsystems/$NQN
NS=$SUB/namespaces/1
IP=/usr/sbin/ip
# What fabric-host.sh writes over each transport, one after the other.
MIB=16
BYTES=$((MIB << 20))
# Until 120 s before the pair's 900 s (guest_pair_checks in scripts/lib.sh)
# run out, counted from this guest's boot: a host that never reports fails
# a check here rather than the whole guest.  An unloaded host reports
# after about 110 s.
read -r up _ < /proc/uptime
REPORT_WAIT=$((780 - ${up%.*}))
[ $REPORT_WAIT -ge 60 ] || REPORT_WAIT=60

# nic - the interface with the MAC scripts/qemu-pair gave this guest.
nic() {
	for n in /sys/class/net/*; do
		[ "$(cat "$n/address")" = 52:54:00:98:00:01 ] &&
			basename "$n" && return 0
	done
	return 1
}

# port ID TRTYPE SERVICE - an nvmet port on $ADDR exporting $NQN.
port() {
	mkdir "$CFG/ports/$1" &&
		echo "$2" > "$CFG/ports/$1/addr_trtype" &&
		echo ipv4 > "$CFG/ports/$1/addr_adrfam" &&
		echo $ADDR > "$CFG/ports/$1/addr_traddr" &&
		echo "$3" > "$CFG/ports/$1/addr_trsvcid" &&
		ln -s "$SUB" "$CFG/ports/$1/subsystems/$NQN"
}

# dmesg_count ERE - how many kernel messages match.
dmesg_count() {
	dmesg | grep -cE "$1"
}

# region_md5 OFFSET BYTES - checksum of NVMe B there, read by its driver.
region_md5() {
	dd if="$BLK_B" bs=1M skip=$(($1 >> 20)) count=$(($2 >> 20)) \
		iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

echo "== network: $ADDR, soft-RoCE on it =="
NIC=$(nic)
check "the virtual NIC is here ($NIC)" test -n "$NIC"
$IP link set "$NIC" up && $IP addr add $ADDR/24 dev "$NIC"
check "rdma link add rxe0 on $NIC" rdma link add rxe0 type rxe netdev "$NIC"

echo "== nvmet: $NQN, namespace 1 on $BLK_B, p2pmem=auto =="
mkdir "$SUB" && echo 1 > "$SUB/attr_allow_any_host"
mkdir "$NS" && echo "$BLK_B" > "$NS/device_path" && echo auto > "$NS/p2pmem"
check "namespace enables with p2pmem=auto" sh -c "echo 1 > $NS/enable"
expect_eq "p2pmem=auto reads back 1, as upstream" "$(cat "$NS/p2pmem")" 1
dma_before=$(p2p_stat "$A" dma_mapped_bytes)
# "missing" would make the last check compare 0 with 0.
check "NVMe A's dma_mapped_bytes reads as a number ($dma_before)" \
	test "$dma_before" -ge 0
# Listen before the ports open: the host reports only after using them.
timeout $REPORT_WAIT nc -l -p 7000 > /tmp/report &
listener=$!
check "port 1 listens on rdma $ADDR:4420" port 1 rdma 4420
check "port 2 listens on tcp $ADDR:4421" port 2 tcp 4421

echo "== waiting up to $REPORT_WAIT s for the host's report =="
wait $listener
cat /tmp/report
rdma_md5=$(sed -n 's/^rdma //p' /tmp/report)
tcp_md5=$(sed -n 's/^tcp //p' /tmp/report)
check "the host reported its data's checksums" \
	test -n "$rdma_md5" -a -n "$tcp_md5"
expect_eq "NVMe B holds the $MIB MiB the host wrote over rdma" \
	"$(region_md5 0 $BYTES)" "${rdma_md5:-none}"
expect_eq "NVMe B holds the $MIB MiB the host wrote over tcp" \
	"$(region_md5 $BYTES $BYTES)" "${tcp_md5:-none}"

echo "== why no p2pmem =="
# A host starved of CPU may time out and reconnect: a controller more.
# 6.12 says "creating nvm controller N", 7.3 "Created nvm controller N".
ctrls=$(dmesg_count "nvmet: [Cc]reat(ing|ed) nvm controller [0-9]+ for subsystem $NQN ")
check "the host made a controller per transport ($ctrls in all)" \
	test "$ctrls" -ge 2
check "nvmet-rdma says why rxe0 cannot use p2pmem" \
	sh -c "dmesg | grep -q 'nvmet_rdma: rxe0 cannot DMA to PCI peer memory (software RDMA device)'"
expect_eq "nvmet says, for every controller, that nsid 1 uses system memory" \
	"$(dmesg_count 'nvmet: ctrl [0-9]+: transport device cannot use p2pmem: nsid 1 uses system memory')" \
	"$ctrls"
expect_eq "no byte went through NVMe A's BAR" \
	"$(($(p2p_stat "$A" dma_mapped_bytes) - dma_before))" 0

rm "$CFG/ports/1/subsystems/$NQN" "$CFG/ports/2/subsystems/$NQN"
rmdir "$CFG/ports/1" "$CFG/ports/2"
echo 0 > "$NS/enable" && rmdir "$NS" && rmdir "$SUB"
check "target torn down" test ! -e "$SUB"
rdma link delete rxe0
finish
