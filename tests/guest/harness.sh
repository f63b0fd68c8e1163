#!/bin/sh
# Broken on purpose: scripts/harness-selftest boots it and checks that the
# harness counts each defect below as a failure (and the good check as a
# pass).  Never part of check.sh.
. /tests/lib.sh

check "harness: a check that passes" true
check "harness: a check that fails on purpose" false
expect_eq "harness: a comparison that fails on purpose" 1 2
sh /tests/harness-truncated.sh
finish
