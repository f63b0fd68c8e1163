# SPDX-License-Identifier: GPL-2.0
#
# lib.sh - what the scripts of this directory share; sourced, never run:
#
#   . "$(dirname "$0")/lib.sh"
#
# Sets REPO (the checkout) and the environment every script wants, and
# defines apt_install, step and the harness's counting: guest_checks,
# guest_pair_checks, guest_count, kunit_results and results_summary
# (scripts/harness-selftest tests them).

# Debian's tools first: the kernel's python scripts need its python3 modules.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Paths below the checkout are hashed relative to it, so a fresh clone
# elsewhere (CI) still hits the cache of earlier builds.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
# On a miss, take the dependencies from the compiler's -MMD file (kbuild
# asks for one) rather than running the preprocessor once more only to
# hash its output, so that a cold build of a debug kernel spends its time
# compiling.  Hits are the direct mode's, as before.  CCACHE_NODEPEND=1
# keeps ccache's default mode.
[ -n "${CCACHE_NODEPEND:-}" ] || export CCACHE_DEPEND=${CCACHE_DEPEND:-1}

# The upstream tree: KERNEL_VERSION picks one line of scripts/kernel.pin.
# The overlay is shared; each tree has its series (KPATCHES/series, that
# is patches/VERSION/series) and its build directory KBUILD, build/VERSION/:
# the tree (linux/), its kernels, KUnit and guest logs.  A tree is its line
# of scripts/kernel.pin, its line below and patches/VERSION/.  7.3, where
# upstream's P2PDMA is today, is the default; 6.12 LTS is the backport.
# The overlay is written for OVERLAY_VERSION; the series of another tree
# also carries backports, patches that change overlay files for that tree
# (scripts/ktree refresh keeps them there).
export KERNEL_VERSION=${KERNEL_VERSION:-7.3}
OVERLAY_VERSION=7.3
case $KERNEL_VERSION in
6.12) ;;
7.3) ;;
*)
	echo "KERNEL_VERSION=$KERNEL_VERSION: pick one of the trees of scripts/kernel.pin:" \
		"$(awk '$1 ~ /^[0-9]/ { printf "%s%s", s, $1; s = ", " }' "$REPO/scripts/kernel.pin")" >&2
	exit 2
	;;
esac
KBUILD=$REPO/build/$KERNEL_VERSION
KPATCHES=$REPO/patches/$KERNEL_VERSION
# When the steps being numbered started: a caller that runs them in parts
# (scripts/check) passes the first part's start.
lib_start=${P2PDMA_STEPS_START:-$(date +%s)}

# apt_missing PACKAGE... - print those of the Debian packages that are not
# installed.
apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
			echo "$p"
	done
}

# apt_install PACKAGE... - install Debian packages as root (or through
# sudo), package lists refreshed first: on a new machine they are stale.
apt_install() {
	local sudo=
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "need root (or sudo) for apt-get" >&2; return 1; }
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null &&
	$sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# step N TOTAL TEXT - announce step N of TOTAL, with the time since start.
step() {
	local t=$(($(date +%s) - lib_start))
	printf '\n[step %d/%d] %s (%dm%02ds elapsed)\n' "$1" "$2" "$3" $((t / 60)) $((t % 60))
}

# guest_checks RESULTS NAME TOPOLOGY TEST - boot the debug kernel on
# tests/topologies/TOPOLOGY.topo, run tests/guest/TEST.sh and count its
# checks into RESULTS (guest_count).
guest_checks() {
	local rc=0
	"$REPO/scripts/qemu-run" -q -t 600 "$REPO/tests/topologies/$3.topo" \
		"$KBUILD/kernel-debug" "$4" || rc=$?
	guest_count "$1" "$2" "$4" "$rc"
}

# guest_pair_checks RESULTS NAME TOPOLOGY_A TEST_A TOPOLOGY_B TEST_B - the
# same for two guests on one virtual network (scripts/qemu-pair), each
# counted as "NAME TEST".
guest_pair_checks() {
	# The KUnit suites are the default guest's to report (check.sh).
	P2PDMA_APPEND="kunit.enable=0 ${P2PDMA_APPEND:-}" \
	"$REPO/scripts/qemu-pair" -t 900 "$KBUILD/kernel-debug" \
		"$REPO/tests/topologies/$3.topo" "$4" "$REPO/tests/topologies/$5.topo" "$6"
	guest_count "$1" "$2 $4" "$4" "$(cat "$KBUILD/qemu/$4.rc" 2>/dev/null || echo 2)"
	guest_count "$1" "$2 $6" "$6" "$(cat "$KBUILD/qemu/$6.rc" 2>/dev/null || echo 2)"
}

# guest_count RESULTS NAME TEST RC - append the checks of guest test TEST
# (its console log) to RESULTS as "PASS|FAIL NAME: ...", then whether the
# kernel stayed clean, from qemu-run's exit status RC.  A guest test that
# failed without a failed check ended early: that fails too.
guest_count() {
	local results=$1 name=$2 rc=$4 log=$KBUILD/qemu/$3.log
	grep -E '^P2PDMA-CHECK (PASS|FAIL)' "$log" | sed "s/^P2PDMA-CHECK /  $name: /"
	sed -n "s/^P2PDMA-CHECK \(PASS\|FAIL\) /\1 $name: /p" "$log" >> "$results"
	if [ "$rc" = 1 ] && ! grep -q '^P2PDMA-CHECK FAIL' "$log"; then
		echo "FAIL $name: test '$3' failed without a failed check (ended early?), see $log" >> "$results"
	fi
	if [ "$rc" -le 1 ]; then
		echo "PASS $name: kernel clean (no oops/WARN/KASAN/lockdep/hang)" >> "$results"
	else
		echo "FAIL $name: kernel clean (no oops/WARN/KASAN/lockdep/hang), see $log" >> "$results"
	fi
}

# kunit_results JSON RESULTS - one "PASS|FAIL|SKIP kunit:suite.case" line
# per case of kunit.py's JSON; a skipped case is never a pass, and a case
# that crashed or went missing is a failure.
kunit_results() {
	python3 - "$1" "$2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
out = open(sys.argv[2], "a")

def walk(group, prefix):
    for case in group.get("test_cases", []):
        status = {"PASS": "PASS", "SKIP": "SKIP"}.get(case["status"], "FAIL")
        out.write(f"{status} kunit:{prefix}{case['name']}\n")
    for sub in group.get("sub_groups", []):
        walk(sub, prefix + sub["name"] + ".")

walk(data, "")
PY
}

# guest_kunit_results LOG RESULTS - one "PASS|FAIL|SKIP kunit:suite.case"
# line per case of the KUnit suites whose KTAP a guest printed to LOG
# (tests/guest/check.sh: its debugfs results file, one per suite, between
# P2PDMA-KTAP-BEGIN and -END), each parsed by kunit.py as "make kunit"
# parses its own run.  No suite at all is a failure.
guest_kunit_results() {
	local dir n=0 f
	dir=$(mktemp -d)
	tr -d '\r' < "$1" | awk -v dir="$dir" '
		/^P2PDMA-KTAP-BEGIN / { out = dir "/" $2 ".ktap"; next }
		/^P2PDMA-KTAP-END / { out = ""; next }
		out != "" && sub(/^P2PDMA-KTAP /, "") { print > out }'
	for f in "$dir"/*.ktap; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		# Its status says whether the cases passed: the JSON says more.
		(cd "$KBUILD/linux" && python3 tools/testing/kunit/kunit.py \
			parse --json="${f%.ktap}.json" "$f") > /dev/null
		if [ ! -s "${f%.ktap}.json" ]; then
			echo "FAIL kunit:$(basename "$f" .ktap) (its KTAP does not parse)" >> "$2"
			continue
		fi
		kunit_results "${f%.ktap}.json" "$2"
	done
	[ "$n" -gt 0 ] || echo "FAIL kunit: no suite's results from the guest, see $1" >> "$2"
	rm -rf "$dir"
}

# results_summary RESULTS - list the failed and skipped checks, print
# "N passed, N failed, N skipped"; true only with no failure and at least
# one pass.
results_summary() {
	local passed failed skipped
	passed=$(grep -c '^PASS' "$1")
	failed=$(grep -c '^FAIL' "$1")
	skipped=$(grep -c '^SKIP' "$1")
	if [ "$failed" -gt 0 ]; then
		echo "Failed checks:"
		grep '^FAIL' "$1" | sed 's/^FAIL /  /'
	fi
	if [ "$skipped" -gt 0 ]; then
		echo "Skipped checks (not counted as passed):"
		grep '^SKIP' "$1" | sed 's/^SKIP /  /'
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
