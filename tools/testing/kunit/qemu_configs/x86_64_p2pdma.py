# SPDX-License-Identifier: GPL-2.0
#
# x86_64 QEMU for the PCI P2PDMA KUnit suites: a q35 machine with an
# ivshmem-plain device, whose 16 MiB BAR 2 is real PCI memory the pool
# tests register as p2pmem.  Pass this file to kunit.py run as
# --qemu_config, with --kunitconfig=drivers/pci/p2pdma/.kunitconfig
# (scripts/kunit of the P2PDMA project does).
from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='x86_64',
			   kconfig='''
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y''',
			   qemu_arch='x86_64',
			   kernel_path='arch/x86/boot/bzImage',
			   kernel_command_line='console=ttyS0',
			   extra_qemu_params=[
				   '-machine', 'q35', '-smp', '2',
				   '-object', 'memory-backend-ram,id=p2pmem,size=16M,share=on',
				   '-device', 'ivshmem-plain,memdev=p2pmem',
			   ])
