# SPDX-License-Identifier: GPL-2.0
#
# PCI P2PDMA framework: a kernel-tree overlay plus a patch series against
# Debian's linux-source-6.1.  The two commands of the README:
#
#   make demo    build, boot the default QEMU topology, copy through p2pmem
#   make check   every test: KUnit, static checks, QEMU end-to-end
#
# Figures: make bench, this framework against upstream's p2pdma.c (CSV and
# PNG in build/bench/).
#
# Work targets: prepare (apply overlay + series to build/linux), refresh
# (turn edits made in build/linux back into the repo), kernel, kernel-debug,
# kunit, static, initramfs, qemu TEST=name [TOPO=file] [KERNEL=test|debug].

TOPO	?= tests/topologies/default.topo
KERNEL	?= test
TEST	?= demo

.PHONY: help demo check bench deps fetch prepare refresh status kernel \
	kernel-debug kunit static initramfs qemu clean distclean

help:
	@sed -n 's/^#\( \|$$\)//p' Makefile | sed -n '3,14p'

demo: deps
	@scripts/demo

check: deps
	@scripts/check

bench: deps
	@scripts/bench

deps:
	@scripts/deps

fetch: deps
	@scripts/ktree fetch

prepare: fetch
	@scripts/ktree prepare

refresh:
	@scripts/ktree refresh

status:
	@scripts/ktree status

kernel: prepare
	@scripts/build-kernel test

kernel-debug: prepare
	@scripts/build-kernel debug

kunit: prepare
	@scripts/kunit

static: prepare
	@scripts/static-checks /dev/stdout $(CURDIR)/build/kernel-$(KERNEL)

initramfs:
	@scripts/mkinitramfs

qemu: initramfs
	@scripts/qemu-run $(TOPO) build/kernel-$(KERNEL) $(TEST)

# Keeps the pristine tree and the kernel build directories.
clean:
	rm -rf build/qemu build/initramfs build/initramfs.cpio.gz build/results.txt \
		build/bench

distclean:
	rm -rf build
