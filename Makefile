# SPDX-License-Identifier: GPL-2.0
#
# PCI P2PDMA framework: a kernel-tree overlay plus a patch series for each
# pinned Debian kernel source of scripts/kernel.pin (KERNEL_VERSION picks
# one, 7.3 by default: scripts/lib.sh).  The two commands of the README:
#
#   make demo    build, boot the default QEMU topology, copy through p2pmem
#   make check   every test: KUnit, static checks, QEMU end-to-end, on
#                every tree unless KERNEL_VERSION names one
#
# Figures: make bench, this framework against upstream's p2pdma.c (CSV and
# PNG in KBUILD/bench/).
#
# KBUILD is the tree's build directory, build/VERSION/ (build/7.3/), with
# the tree itself in KBUILD/linux.  Work targets: prepare (apply overlay +
# series to KBUILD/linux), refresh (turn edits made there back into the
# repo), kernel, kernel-debug, kunit, static, initramfs,
# qemu TEST=name [TOPO=file] [KERNEL=demo|test|debug].  For review (7.3): series
# (the mailed series, patches/mail/) and bisect-check.

TOPO	?= tests/topologies/default.topo
KERNEL	?= test
TEST	?= demo
# The scripts' answer, so that make and they never disagree.
# (make before 4.4 runs $(shell) without command-line variables: pass it.)
KBUILD	:= $(shell KERNEL_VERSION='$(KERNEL_VERSION)' bash -c \
		'. scripts/lib.sh && echo "$$KBUILD"')
ifeq ($(KBUILD),)
$(error KERNEL_VERSION=$(KERNEL_VERSION): not a tree of scripts/kernel.pin)
endif

.PHONY: help demo check bench deb deps fetch prepare refresh series bisect-check \
	status kernel \
	kernel-debug kunit static initramfs qemu clean distclean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' Makefile | \
		sed -E 's/^([a-z-]+):[^#]*## (.*)/  make \1\t\2/' | expand -t 24

demo: deps ## build, boot the default topology, copy through p2pmem
	@scripts/demo

check: deps ## every test: KUnit, static checks, QEMU end-to-end
	@scripts/check

bench: deps ## this framework against upstream p2pdma.c (KBUILD/bench/)
	@scripts/bench

deb: deps ## Debian packages of the framework's kernel (KBUILD/deb/)
	@scripts/deb

deps: ## install the Debian packages the build needs
	@scripts/deps

fetch: deps ## extract the pinned kernel source into KBUILD/linux
	@scripts/ktree fetch

prepare: fetch ## apply overlay and series to KBUILD/linux
	@scripts/ktree prepare

refresh: ## turn edits made in KBUILD/linux back into the repo
	@scripts/ktree refresh

# The mailed series is against 7.3: scripts/series prepares that tree.
series: deps ## the 7.3 series to mail, from the overlay (build/7.3/series/)
	@scripts/series export

bisect-check: deps ## build every commit of the series (long: see README)
	@scripts/series bisect-check

status: ## what prepare would do, and the state of KBUILD/linux
	@scripts/ktree status

kernel: prepare ## build the test kernel
	@scripts/build-kernel test

kernel-debug: prepare ## build the debug test kernel
	@scripts/build-kernel debug

kunit: prepare ## run the KUnit suites under QEMU
	@scripts/kunit

static: prepare ## checkpatch, kernel-doc, sparse and W=1
	@scripts/static-checks /dev/stdout $(KBUILD)/kernel-$(KERNEL)

# The guest's programs are built against the prepared tree's uapi headers.
initramfs: prepare ## build the QEMU guest initramfs
	@scripts/mkinitramfs

qemu: initramfs ## boot TEST=name [TOPO=file] [KERNEL=demo|test|debug]
	@scripts/qemu-run $(TOPO) $(KBUILD)/kernel-$(KERNEL) $(TEST)

clean: ## remove results and guest images of every tree, keep kernel builds
	rm -rf build/results*.txt $(foreach d,$(wildcard build/*/),$(d)qemu \
		$(d)initramfs $(d)initramfs.cpio.gz $(d)bench)

distclean: ## remove build/ altogether
	rm -rf build
