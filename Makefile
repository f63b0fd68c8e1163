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
# For review: series (the mailed series, patches/mail/) and bisect-check.

TOPO	?= tests/topologies/default.topo
KERNEL	?= test
TEST	?= demo

.PHONY: help demo check bench deps fetch prepare refresh series bisect-check \
	status kernel \
	kernel-debug kunit static initramfs qemu clean distclean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' Makefile | \
		sed -E 's/^([a-z-]+):[^#]*## (.*)/  make \1\t\2/' | expand -t 24

demo: deps ## build, boot the default topology, copy through p2pmem
	@scripts/demo

check: deps ## every test: KUnit, static checks, QEMU end-to-end
	@scripts/check

bench: deps ## this framework against upstream p2pdma.c (build/bench/)
	@scripts/bench

deps: ## install the Debian packages the build needs
	@scripts/deps

fetch: deps ## extract the pinned kernel source into build/linux
	@scripts/ktree fetch

prepare: fetch ## apply overlay and series to build/linux
	@scripts/ktree prepare

refresh: ## turn edits made in build/linux back into the repo
	@scripts/ktree refresh

series: prepare ## the series to mail, from the overlay (build/series/)
	@scripts/series export

bisect-check: prepare ## build every commit of the series (long: see README)
	@scripts/series bisect-check

status: ## what prepare would do, and the state of build/linux
	@scripts/ktree status

kernel: prepare ## build the test kernel
	@scripts/build-kernel test

kernel-debug: prepare ## build the debug test kernel
	@scripts/build-kernel debug

kunit: prepare ## run the KUnit suites under QEMU
	@scripts/kunit

static: prepare ## checkpatch, kernel-doc, sparse and W=1
	@scripts/static-checks /dev/stdout $(CURDIR)/build/kernel-$(KERNEL)

initramfs: ## build the QEMU guest initramfs
	@scripts/mkinitramfs

qemu: initramfs ## boot TEST=name [TOPO=file] [KERNEL=test|debug]
	@scripts/qemu-run $(TOPO) build/kernel-$(KERNEL) $(TEST)

clean: ## remove results and guest images, keep kernel builds
	rm -rf build/qemu build/initramfs build/initramfs.cpio.gz build/results.txt \
		build/bench

distclean: ## remove build/ altogether
	rm -rf build
