#!/bin/sh
# nvmet with the test transport (drivers/nvme/target/p2pmem_e2e.c), whose
# DMA device is a PCI function the caller names: one subsystem of one
# namespace, served on a loop port.  nvmet_names sets the names the other
# functions use; sourced after lib.sh.

E2E=/sys/kernel/debug/nvmet_p2pmem_e2e
CFG=/sys/kernel/config/nvmet

# nvmet_names NQN PORT_ID - subsystem NQN, its namespace 1 and port PORT_ID.
nvmet_names() {
	NQN=$1 PORT_ID=$2
	SUB=$CFG/subsystems/$NQN
	NS=$SUB/namespaces/1
	PORT=$CFG/ports/$PORT_ID
}

# nvmet_serve DEVICE - the subsystem, its namespace on DEVICE (disabled),
# and the port serving it.
nvmet_serve() {
	mkdir "$SUB" && echo 1 > "$SUB/attr_allow_any_host" && mkdir "$NS" &&
		echo "$1" > "$NS/device_path" &&
		mkdir "$PORT" && echo loop > "$PORT/addr_trtype" &&
		ln -s "$SUB" "$PORT/subsystems/$NQN"
}

# nvmet_unserve - all nvmet_serve made, gone.
nvmet_unserve() {
	rm -f "$PORT/subsystems/$NQN"
	rmdir "$PORT"
	echo 0 > "$NS/enable" && rmdir "$NS" && rmdir "$SUB" && [ ! -e "$SUB" ]
}

# ns_p2pmem VALUE - namespace 1 enabled again with p2pmem set to VALUE.
ns_p2pmem() {
	echo 0 > "$NS/enable" && echo "$1" > "$NS/p2pmem" &&
		echo 1 > "$NS/enable"
}

# connect CLIENT - a controller of the test transport, DMA device CLIENT.
connect() {
	echo "connect $PORT_ID $NQN $1" > $E2E/ctrl
}

# connect_with_p2pmem WHAT PROVIDER CLIENT - namespace 1 enabled with
# PROVIDER's p2pmem, then a controller of DMA device CLIENT that chose it.
connect_with_p2pmem() {
	n=$(dmesg | grep -c "using p2pmem on $2 for nsid 1")
	check "$1: namespace 1 enabled with p2pmem=$2" ns_p2pmem "$2"
	check "$1: connect with $3 as the transport's device" connect "$3"
	expect_eq "$1: the controller chose $2's p2pmem for nsid 1" \
		"$(dmesg | grep -c "using p2pmem on $2 for nsid 1")" $((n + 1))
}

disconnect() {
	echo disconnect > $E2E/ctrl
}

# io OP OFFSET BYTES SEED COUNT - commands on namespace 1; their result.
io() {
	echo "$1 1 $2 $3 $4 $5" > $E2E/io && cat $E2E/io
}

# pattern_md5 BYTES SEED - checksum of the bytes the transport writes.
pattern_md5() {
	echo "$1 $2" > $E2E/pattern && md5sum < $E2E/pattern
}

# region_md5 DEVICE OFFSET BYTES - checksum of DEVICE there, read by its
# driver.
region_md5() {
	dd if="$1" bs=4k skip=$(($2 >> 12)) count=$(($3 >> 12)) \
		iflag=direct 2>/dev/null | md5sum
}

# dmesg_has ERE - some kernel message matches.
dmesg_has() {
	dmesg | grep -qE "$1"
}

# p2pmem_refused VALUE - namespace 1 cannot be enabled with p2pmem VALUE.
p2pmem_refused() {
	! ns_p2pmem "$1" 2> /dev/null
}
