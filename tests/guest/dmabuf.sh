#!/bin/sh
# dma-buf export of p2pmem (7.3's dma-buf core): the ioctl of /dev/p2pmemN,
# the export's mmap() with O_DIRECT on it, and its revocation by an unbind
# of the provider.  Runs after providers.sh, which binds ivshmem to
# p2pmem_pci, and leaves it bound and published again.
. /tests/lib.sh

IV=$(ivshmem_bdf)
BLK_B=$(nvme_blk P2PNVMEB)
NODE_IV=$(p2pmem_node "$IV")

echo "== dma-buf export of the ivshmem provider's p2pmem ($NODE_IV) =="
check "the ivshmem provider has a node" test -c "$NODE_IV"
tap 29 "dma-buf export" p2pmem_dmabuf "$NODE_IV" "$IV" p2pmem_pci "$BLK_B"
check "bound again, the ivshmem provider has a node" \
	test -c "$(p2pmem_node "$IV")"
finish
