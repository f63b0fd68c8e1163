#!/bin/sh
# The P2PDMA core's tracepoints, read back from tracefs: each event's
# fields; the bytes of a copy mapped through NVMe A's CMB, and unmapped
# again, exactly the copy's per client; every refusal of a path even where
# dmesg is rate limited, counted as often per path and reason; and the
# revocation of a process's mapping when the provider is unbound.  The
# fallback event is checked with nvmet (nvmetio.sh).
. /tests/lib.sh

A=$(nvme_bdf P2PNVMEA) B=$(nvme_bdf P2PNVMEB) C=$(nvme_bdf P2PNVMEC)
BLK_A=$(nvme_blk P2PNVMEA) BLK_B=$(nvme_blk P2PNVMEB) BLK_C=$(nvme_blk P2PNVMEC)
IV=$(ivshmem_bdf)
MIB=1
BYTES=$((MIB << 20))
REFUSED="path crosses a root complex not known to route P2P"

echo "== the p2pdma events and their fields =="
check "tracefs is mounted, with the p2pdma events" trace_on
for e in p2pdma_map p2pdma_unmap p2pdma_refuse p2pdma_revoke p2pdma_fallback; do
	expect_eq "$e has the fields provider, client, map, bytes, reason" \
		"$(sed -n 's/^.*field:[^;]* \([a-z_]*\);.*/\1/p' \
			"$TRACING/events/p2pdma/$e/format" | grep -v '^common_' | tr '\n' ' ')" \
		"provider client map bytes reason "
done

echo "== p2pdma_map and p2pdma_unmap: a copy NVMe A -> CMB -> NVMe B, $MIB MiB =="
dd if=/dev/urandom of=/tmp/tsrc bs=1M count=$MIB 2>/dev/null
dd if=/tmp/tsrc of="$BLK_A" bs=1M oflag=direct 2>/dev/null
check "p2pdma_map and p2pdma_unmap alone are on" \
	trace_on p2pdma_map p2pdma_unmap
expect_p2p_copy "copy A -> CMB -> B with the tracepoint on" \
	"$A" "$BLK_A" "$BLK_B" $BYTES /tmp/tsrc
trace_off
expect_eq "no event was lost" "$(trace_lost)" 0
# Mapped a segment at a time on 7.3, unmapped a request at a time: each
# event's bytes per client are the copy's.
for ev in p2pdma_map p2pdma_unmap; do
	expect_eq "$ev: NVMe A's reads into its CMB, $MIB MiB by bus address" \
		"$(trace_bytes $ev "provider=$A client=$A map=bus-address")" $BYTES
	expect_eq "$ev: NVMe B's writes from A's CMB, $MIB MiB by bus address" \
		"$(trace_bytes $ev "provider=$A client=$B map=bus-address")" $BYTES
	expect_eq "$ev: no other" \
		"$(trace_lines $ev | grep -vcE "^provider=$A client=($A|$B) map=bus-address bytes=[0-9]+ reason=-\$")" 0
done

echo "== p2pdma_refuse: NVMe C cannot reach A's CMB =="
COPIES=12
check "p2pdma_refuse alone is on" trace_on p2pdma_refuse
counted=$(traffic "$A" "$C" not-supported "$REFUSED")
n=0 refused=0
while [ $n -lt $COPIES ]; do
	[ "$(p2pmem_copy "$A" "$BLK_A" "$BLK_C" 1M 2>/dev/null)" = error=-121 ] &&
		refused=$((refused + 1))
	n=$((n + 1))
done
trace_off
expect_eq "no refusal event was lost" "$(trace_lost)" 0
expect_eq "$COPIES copies to NVMe C fail with EREMOTEIO" $refused $COPIES
expect_eq "each refusal names the provider, the client and the reason" \
	"$(trace_lines p2pdma_refuse | sort -u)" \
	"provider=$A client=$C map=not-supported bytes=0 reason=$REFUSED"
# dmesg says it a few times every 5 s; the tracepoint sees every one.
events=$(trace_lines p2pdma_refuse | grep -c .)
check "an event for each refused copy, rate limit or not ($events)" \
	test "$events" -ge $COPIES
expect_eq "$A's accounting counted each refusal, with its reason" \
	"$(traffic_delta "$counted" "$(traffic "$A" "$C" not-supported "$REFUSED")")" \
	"$events 0"

echo "== p2pdma_revoke: ivshmem $IV unbound under a process's mapping =="
check "ivshmem $IV is bound to p2pmem_pci" bind_p2pmem_pci "$IV"
avail=$(cat "/sys/bus/pci/devices/$IV/p2pmem/available")
hold_p2pmem "$IV"
expect_eq "a process maps all of $IV's available p2pmem" "${HELD:-none}" "$avail"
check "p2pdma_revoke alone is on" trace_on p2pdma_revoke
check "p2pmem_pci unbinds from $IV" \
	sh -c "echo $IV > /sys/bus/pci/drivers/p2pmem_pci/unbind"
trace_off
release_p2pmem
expect_eq "the revocation names the provider, userspace, the bytes it held and why" \
	"$(trace_lines p2pdma_revoke)" \
	"provider=$IV client=userspace map=- bytes=$avail reason=provider removed"
check "p2pmem_pci binds $IV again" bind_p2pmem_pci "$IV"
expect_eq "all of $IV's p2pmem available again" \
	"$(cat "/sys/bus/pci/devices/$IV/p2pmem/available")" "$avail"
finish
