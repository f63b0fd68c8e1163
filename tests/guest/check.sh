#!/bin/sh
# Everything "make check" runs in the guest, in one boot.
. /tests/lib.sh

echo "== KUnit suites built into this kernel =="
for r in /sys/kernel/debug/kunit/p2pdma*/results; do
	suite=$(basename "$(dirname "$r")")
	check "KUnit suite $suite passes on the QEMU kernel" \
		grep -qE "^ok [0-9]+ (- )?$suite\$" "$r"
done

sh /tests/demo.sh || FAILED=$((FAILED + 1))
finish
