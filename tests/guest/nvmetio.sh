#!/bin/sh
# nvmet moving commands' data through p2pmem.  A test transport
# (drivers/nvme/target/p2pmem_e2e.c), whose DMA device is a PCI function
# named here, connects to a subsystem exporting NVMe B and sends writes and
# reads down nvmet's own request path.  With NVMe B as that device (behind
# the switch, where a NIC would be) the data must sit in the namespace's
# p2pmem and cross the provider's BAR; with NVMe C, on the other root port,
# it must fall back to system memory and dmesg must say why.  Each command
# that falls back shows in the p2pdma_fallback tracepoint, with its bytes
# and reason: those with NVMe C, and one that finds ivshmem's p2pmem
# exhausted.  Last, the namespace is disabled and enabled over and over
# under p2pmem I/O.
. /tests/lib.sh
. /tests/nvmet-lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_B=$(nvme_blk P2PNVMEB)
IV=$(ivshmem_bdf)
BASE=$((64 << 20))	# into NVMe B: the other scripts use its start
STRESS_SECONDS=6
nvmet_names p2pdma-io 7

# io_checks WHAT PROVIDER P2P - writes and reads of 4 KiB to 1 MiB, their
# data checked on NVMe B and read back; with P2P 1 it sat in PROVIDER's
# p2pmem and crossed its BAR, for NVMe B's DMA, with P2P 0 none of it did.  Each call writes
# other data elsewhere: a write that did nothing must not find an earlier
# call's data in place.
runs=0
io_checks() {
	# Else "missing" would count as 0, and 0 bytes is a valid answer.
	check "$1: $2 has statistics" test -r "/sys/kernel/debug/p2pdma/$2/stats"
	runs=$((runs + 1))
	for bytes in 4096 65536 1048576; do
		what="$1: $((bytes >> 10)) KiB"
		off=$((BASE + (runs << 22) + bytes))
		seed=$((bytes + $3 + (runs << 24)))
		if [ "$3" = 1 ]; then
			want="done=1 p2p=1 status=0x0 provider=$2 mismatches=0"
			moved=$((2 * bytes))
		else
			want="done=1 p2p=0 status=0x0 provider=none mismatches=0"
			moved=0
		fi
		dma=$(p2p_stat "$2" dma_mapped_bytes)
		path=$(traffic "$2" "$B" mapped)
		expect_eq "$what write" "$(io write $off $bytes $seed 1)" "$want"
		expect_eq "$what: NVMe B holds the data written" \
			"$(region_md5 "$BLK_B" $off $bytes)" "$(pattern_md5 $bytes $seed)"
		expect_eq "$what read, the data as written" \
			"$(io read $off $bytes $seed 1)" "$want"
		expect_eq "$what: bytes through $2's BAR" \
			"$(($(p2p_stat "$2" dma_mapped_bytes) - dma))" $moved
		expect_eq "$what: bytes on the path from $2 to NVMe B" \
			"$(traffic_delta "$path" "$(traffic "$2" "$B" mapped)" |
				cut -d' ' -f2)" $moved
	done
}

# exhausted_checks - with all of $IV's p2pmem mapped by a process, a
# write of 64 KiB falls back to system memory, and the p2pdma_fallback
# tracepoint (on) says so; once the process is gone, p2pmem again.
exhausted_checks() {
	off=$((BASE + (15 << 22)))
	hold_p2pmem "$IV"
	check "a process holds all of $IV's p2pmem" test -n "$HELD"
	echo > $TRACING/trace
	counted=$(traffic "$IV" "$B" system-memory "out of p2pmem")
	expect_eq "NVMe B, $IV exhausted: a 64 KiB write uses system memory" \
		"$(io write $off 65536 77 1)" \
		"done=1 p2p=0 status=0x0 provider=none mismatches=0"
	expect_eq "NVMe B, $IV exhausted: NVMe B holds the data written" \
		"$(region_md5 "$BLK_B" $off 65536)" "$(pattern_md5 65536 77)"
	expect_eq "the fallback event names $IV, NVMe B, the bytes and why" \
		"$(trace_lines p2pdma_fallback)" \
		"provider=$IV client=$B map=system-memory bytes=65536 reason=out of p2pmem"
	expect_eq "and $IV's accounting counted it, with its bytes and why" \
		"$(traffic_delta "$counted" "$(traffic "$IV" "$B" system-memory "out of p2pmem")")" \
		"1 65536"
	release_p2pmem
	expect_eq "once the process is gone, the write is in p2pmem again" \
		"$(io write $off 65536 77 1)" \
		"done=1 p2p=1 status=0x0 provider=$IV mismatches=0"
}

echo "== nvmet subsystem $NQN on $BLK_B, port 7 (loop) =="
check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
check "port 7 serves $NQN, namespace 1 on NVMe B" nvmet_serve "$BLK_B"

for P in "$A" "$IV"; do
	echo "== client NVMe B $B, p2pmem of $P =="
	avail=$(cat /sys/bus/pci/devices/$P/p2pmem/available)
	connect_with_p2pmem "NVMe B" "$P" "$B"
	check "p2pdma_fallback is on" trace_on p2pdma_fallback
	io_checks "NVMe B, $P" "$P" 1
	expect_eq "no command fell back from $P's p2pmem" \
		"$(trace_lines p2pdma_fallback)" ""
	[ "$P" = "$IV" ] && exhausted_checks
	trace_off
	expect_eq "the transport's commands do compare data (wrong seed)" \
		"$(io read $((BASE + (runs << 22) + 4096)) 4096 1 1)" \
		"done=1 p2p=1 status=0x0 provider=$P mismatches=1"
	check "disconnect" disconnect
	expect_eq "every p2pmem page of $P back" \
		"$(cat /sys/bus/pci/devices/$P/p2pmem/available)" "$avail"
done

echo "== client NVMe C $C, on the other root port =="
check "namespace 1 enabled with p2pmem=$IV" ns_p2pmem "$IV"
check "connect with NVMe C as the transport's device" connect "$C"
check "nvmet says NVMe C cannot reach the p2pmem, nsid 1 uses system memory" \
	dmesg_has "nvmet: ctrl [0-9]+: $C cannot reach p2pmem on $IV: nsid 1 uses system memory"
check "and the P2PDMA core says why" \
	dmesg_has "$IV: p2pdma: refused with $C: path crosses a root complex"
check "p2pdma_fallback is on" trace_on p2pdma_fallback
REACH="no p2pmem in the transport device's reach"
counted=$(traffic none "$C" system-memory "$REACH")
io_checks "NVMe C, system memory" "$IV" 0
trace_off
expect_eq "no fallback event was lost" "$(trace_lost)" 0
# io_checks wrote and read 4 KiB, 64 KiB and 1 MiB, a command each.
expect_eq "every command's bytes show as a fallback, with NVMe C and why" \
	"$(trace_bytes p2pdma_fallback "provider=none client=$C map=system-memory")" \
	$((2 * (4096 + 65536 + 1048576)))
expect_eq "and no other fallback" \
	"$(trace_lines p2pdma_fallback | grep -vc "^provider=none client=$C map=system-memory bytes=[0-9]* reason=")" 0
expect_eq "and one reason: no p2pmem in NVMe C's reach" \
	"$(trace_lines p2pdma_fallback | sed 's/.* reason=//' | sort -u)" \
	"$REACH"
expect_eq "the accounting without a provider counted each command and its bytes" \
	"$(traffic_delta "$counted" "$(traffic none "$C" system-memory "$REACH")")" \
	"6 $((2 * (4096 + 65536 + 1048576)))"
check "disconnect" disconnect

echo "== ${STRESS_SECONDS} s: namespace disabled and enabled under p2pmem I/O =="
avail=$(cat /sys/bus/pci/devices/$A/p2pmem/available)
check "namespace 1 enabled with p2pmem=$A" ns_p2pmem "$A"
check "connect with NVMe B" connect "$B"
( end=$(($(date +%s) + STRESS_SECONDS)) n=0
  while [ "$(date +%s)" -lt $end ]; do
	echo 0 > "$NS/enable" && echo 1 > "$NS/enable" || break
	n=$((n + 1))
  done
  echo $n > /tmp/nvmetio.toggles ) &
toggler=$!
done=0 p2p=0 refused=0 bad=
while kill -0 $toggler 2>/dev/null; do
	# One command a time: the result keeps the status of one only.
	r=$(io write $BASE 65536 9 1)
	set -- $r
	d=${1#done=} p=${2#p2p=} s=${3#status=}
	done=$((done + d)) p2p=$((p2p + p))
	# 0x2300: Internal Path Error (the namespace exists but is off), with
	# More (an error log entry).
	case $s in
	0x0) ;;
	0x2300) refused=$((refused + 1)) ;;
	*) bad="$bad $r" ;;
	esac
done
wait $toggler
toggles=$(cat /tmp/nvmetio.toggles)
echo "   $toggles disable/enable cycles, $done writes done, $p2p in p2pmem, $refused refused"
check "the namespace went off and on ($toggles times)" test "$toggles" -gt 0
check "writes got through between ($done)" test "$done" -gt 0
check "and some met the namespace off: the race was reached ($refused)" \
	test "$refused" -gt 0
expect_eq "every write either worked or found the namespace off" "$bad" ""
expect_eq "every write that worked had its data in p2pmem" $p2p $done
expect_eq "the namespace ended enabled" "$(cat "$NS/enable")" 1
expect_eq "after the stress, a read of what was written, in p2pmem" \
	"$(io read $BASE 65536 9 1)" \
	"done=1 p2p=1 status=0x0 provider=$A mismatches=0"

echo "== nvmet deletes the controller when the port drops the subsystem =="
# Under a run of a million commands, which must stop for it.
( echo "write 1 $BASE 4096 3 1000000" > $E2E/io 2> /tmp/nvmetio.long.err
  echo $? > /tmp/nvmetio.long.rc ) &
long=$!
sleep 1
check "a run of a million commands is under way" kill -0 $long
rm "$PORT/subsystems/$NQN"
# The controller goes in nvmet's work queue, after RCU grace periods:
# give a starved guest 30 s.
i=0
while [ "$(cat $E2E/ctrl)" != none ] && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
expect_eq "the transport let its controller go" "$(cat $E2E/ctrl)" none
wait $long
expect_eq "the run stopped for it, unfinished, with ENOTCONN" \
	"$(cat /tmp/nvmetio.long.rc) $(grep -c 'not connected' /tmp/nvmetio.long.err)" "1 1"
expect_eq "every p2pmem page of NVMe A back" \
	"$(cat /sys/bus/pci/devices/$A/p2pmem/available)" "$avail"
rmdir "$PORT"
echo 0 > "$NS/enable" && rmdir "$NS" && rmdir "$SUB"
check "target torn down" test ! -e "$SUB"
finish
