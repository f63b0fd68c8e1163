#!/bin/sh
# Two-node NVMe-oF, the host (scripts/qemu-pair, with fabric-target.sh on
# the other guest).  From 10.98.0.2, nvme-cli connects to the target's
# subsystem over rdma (soft-RoCE) and writes 16 MiB and reads them back,
# then over tcp reads them again and writes and reads another 16 MiB.
# Last, it reports both checksums to the target, which checks NVMe B.
. /tests/lib.sh

NQN=p2pdma-fabric
ADDR=10.98.0.2
TARGET=10.98.0.1
IP=/usr/sbin/ip
# Each transport's commands carry 1 MiB at most, so 16 of them each way;
# more would only add minutes of KASAN under TCG.
MIB=16
BYTES=$((MIB << 20))
# The target boots, with KASAN, at the same time as this guest.
CONNECT_WAIT=300

# nic - the interface with the MAC scripts/qemu-pair gave this guest.
nic() {
	for n in /sys/class/net/*; do
		[ "$(cat "$n/address")" = 52:54:00:98:00:02 ] &&
			basename "$n" && return 0
	done
	return 1
}

# connect TRTYPE SERVICE - connected to the target's subsystem, waiting
# for it to come up; quiet until it gives up.
connect() {
	end=$(($(date +%s) + CONNECT_WAIT))
	until nvme connect -t "$1" -a $TARGET -s "$2" -n $NQN > /tmp/connect.out 2>&1; do
		if [ "$(date +%s)" -ge $end ]; then
			cat /tmp/connect.out
			return 1
		fi
		sleep 3
	done
}

# disconnected - no controller of $NQN is left.
disconnected() {
	nvme disconnect -n $NQN > /dev/null && ! fabrics_blk $NQN > /dev/null
}

# write_read WHAT DEV OFFSET FILE - FILE written to DEV at OFFSET with
# O_DIRECT, then read back and compared.
write_read() {
	check "$1: $MIB MiB written" dd if="$4" of="$2" bs=1M seek=$(($3 >> 20)) \
		oflag=direct conv=fsync 2>/dev/null
	read_back "$1" "$2" "$3" "$4"
}

# read_back WHAT DEV OFFSET FILE - DEV at OFFSET holds FILE.
read_back() {
	expect_eq "$1: $MIB MiB read back, md5 matches" \
		"$(dd if="$2" bs=1M skip=$(($3 >> 20)) count=$MIB iflag=direct 2>/dev/null |
			md5sum)" "$(md5sum < "$4")"
}

NIC=$(nic)
check "the virtual NIC is here ($NIC)" test -n "$NIC"
$IP link set "$NIC" up && $IP addr add $ADDR/24 dev "$NIC"
check "rdma link add rxe0 on $NIC" rdma link add rxe0 type rxe netdev "$NIC"
dd if=/dev/urandom of=/tmp/rdma.dat bs=1M count=$MIB 2>/dev/null
dd if=/dev/urandom of=/tmp/tcp.dat bs=1M count=$MIB 2>/dev/null

echo "== nvme connect -t rdma $TARGET:4420 =="
check "nvme connect over rdma (soft-RoCE)" connect rdma 4420
FAB=$(wait_fabrics_blk $NQN)
check "rdma: the remote namespace appears ($FAB)" test -b "$FAB"
write_read "rdma" "$FAB" 0 /tmp/rdma.dat
check "nvme disconnect (rdma)" disconnected

echo "== nvme connect -t tcp $TARGET:4421 =="
check "nvme connect over tcp" connect tcp 4421
FAB=$(wait_fabrics_blk $NQN)
check "tcp: the remote namespace appears ($FAB)" test -b "$FAB"
read_back "tcp: the data written over rdma" "$FAB" 0 /tmp/rdma.dat
write_read "tcp" "$FAB" $BYTES /tmp/tcp.dat
check "nvme disconnect (tcp)" disconnected

echo "== report to the target =="
# The target listens from before its ports opened; retry a few times all
# the same, and let it judge what arrived.
report() {
	printf 'rdma %s\ntcp %s\n' "$(md5sum < /tmp/rdma.dat | cut -d' ' -f1)" \
		"$(md5sum < /tmp/tcp.dat | cut -d' ' -f1)" > /tmp/report
	for i in 1 2 3 4 5; do
		nc -w 5 $TARGET 7000 < /tmp/report && return 0
		sleep 2
	done
	return 1
}
check "report sent to the target" report
finish
