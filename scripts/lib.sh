# SPDX-License-Identifier: GPL-2.0
#
# lib.sh - what the scripts of this directory share; sourced, never run:
#
#   . "$(dirname "$0")/lib.sh"
#
# Sets REPO (the checkout) and the environment every script wants, and
# defines apt_install and step.

# Debian's tools first: the kernel's python scripts need its python3 modules.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Paths below the checkout are hashed relative to it, so a fresh clone
# elsewhere (CI) still hits the cache of earlier builds.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
lib_start=$(date +%s)

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
