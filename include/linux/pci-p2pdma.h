/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI peer-to-peer DMA (P2PDMA): memory in one device's BAR used as a DMA
 * buffer by other devices, so data moves between peers without a trip
 * through system memory.
 *
 * Providers register BAR memory with pci_p2pdma_add_resource() and publish
 * it with pci_p2pmem_publish().  Clients find a provider every one of their
 * DMA masters can reach with pci_p2pmem_find_many(), then allocate from it
 * with pci_p2pmem_alloc() or pci_p2pmem_alloc_sgl().  See
 * Documentation/driver-api/pci/p2pdma.rst.
 */
#ifndef _LINUX_PCI_P2PDMA_H
#define _LINUX_PCI_P2PDMA_H

#include <linux/pci.h>

struct block_device;
struct scatterlist;

/**
 * struct pci_p2pdma_watcher - a client's interest in a provider's removal
 * @remove: called once when the provider goes away; see pci_p2pdma_watch()
 * @node: private to the P2PDMA core
 * @provider: private to the P2PDMA core
 */
struct pci_p2pdma_watcher {
	void (*remove)(struct pci_p2pdma_watcher *watch);
	struct list_head node;
	struct pci_dev *provider;
};

#ifdef CONFIG_PCI_P2PDMA
int pci_p2pdma_add_resource(struct pci_dev *pdev, int bar, size_t size,
			    u64 offset);
void pci_p2pmem_publish(struct pci_dev *pdev, bool publish);
bool pci_has_p2pmem(struct pci_dev *pdev);

int pci_p2pdma_distance_many(struct pci_dev *provider, struct device **clients,
			     int num_clients, bool verbose);
struct pci_dev *pci_p2pmem_find_many(struct device **clients, int num_clients);

void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size);
void pci_p2pmem_free(struct pci_dev *pdev, void *addr, size_t size);
void *pci_alloc_p2pmem(struct pci_dev *pdev, size_t size);
void pci_free_p2pmem(struct pci_dev *pdev, void *addr, size_t size);
pci_bus_addr_t pci_p2pmem_virt_to_bus(struct pci_dev *pdev, void *addr);
struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
					 unsigned int *nents, u32 length);
void pci_p2pmem_free_sgl(struct pci_dev *pdev, struct scatterlist *sgl);

int pci_p2pdma_watch(struct pci_dev *provider, struct pci_p2pdma_watcher *watch);
void pci_p2pdma_unwatch(struct pci_p2pdma_watcher *watch);

int pci_p2pdma_enable_store(const char *page, struct pci_dev **p2p_dev,
			    bool *use_p2pdma);
ssize_t pci_p2pdma_enable_show(char *page, struct pci_dev *p2p_dev,
			       bool use_p2pdma);
#else /* CONFIG_PCI_P2PDMA */
static inline int pci_p2pdma_add_resource(struct pci_dev *pdev, int bar,
					  size_t size, u64 offset)
{
	return -EOPNOTSUPP;
}

static inline void pci_p2pmem_publish(struct pci_dev *pdev, bool publish)
{
}

static inline bool pci_has_p2pmem(struct pci_dev *pdev)
{
	return false;
}

static inline int pci_p2pdma_distance_many(struct pci_dev *provider,
					   struct device **clients,
					   int num_clients, bool verbose)
{
	return -1;
}

static inline struct pci_dev *pci_p2pmem_find_many(struct device **clients,
						   int num_clients)
{
	return NULL;
}

static inline void *pci_p2pmem_alloc(struct pci_dev *pdev, size_t size)
{
	return NULL;
}

static inline void pci_p2pmem_free(struct pci_dev *pdev, void *addr,
				   size_t size)
{
}

static inline void *pci_alloc_p2pmem(struct pci_dev *pdev, size_t size)
{
	return NULL;
}

static inline void pci_free_p2pmem(struct pci_dev *pdev, void *addr,
				   size_t size)
{
}

static inline pci_bus_addr_t pci_p2pmem_virt_to_bus(struct pci_dev *pdev,
						    void *addr)
{
	return 0;
}

static inline struct scatterlist *pci_p2pmem_alloc_sgl(struct pci_dev *pdev,
						       unsigned int *nents,
						       u32 length)
{
	return NULL;
}

static inline void pci_p2pmem_free_sgl(struct pci_dev *pdev,
				       struct scatterlist *sgl)
{
}

static inline int pci_p2pdma_watch(struct pci_dev *provider,
				   struct pci_p2pdma_watcher *watch)
{
	return -ENODEV;
}

static inline void pci_p2pdma_unwatch(struct pci_p2pdma_watcher *watch)
{
}

static inline int pci_p2pdma_enable_store(const char *page,
					  struct pci_dev **p2p_dev,
					  bool *use_p2pdma)
{
	*use_p2pdma = false;
	return 0;
}

static inline ssize_t pci_p2pdma_enable_show(char *page,
					     struct pci_dev *p2p_dev,
					     bool use_p2pdma)
{
	/* Upstream's text; not sysfs_emit(), page need not be aligned. */
	return sprintf(page, "none\n");
}
#endif /* CONFIG_PCI_P2PDMA */

/**
 * pci_p2pdma_distance - how far @client is from memory in @provider's BARs
 * @provider: PCI device that holds the memory
 * @client: device that will DMA to or from that memory
 * @verbose: log the reason to the kernel log when the pair is refused
 *
 * Return: the distance (0 for the same device, larger is farther), or -1 if
 * P2P DMA between the two is not supported.
 */
static inline int pci_p2pdma_distance(struct pci_dev *provider,
				      struct device *client, bool verbose)
{
	return pci_p2pdma_distance_many(provider, &client, 1, verbose);
}

/**
 * pci_p2pmem_find - find published p2pmem that @client can reach
 * @client: device that will DMA to or from the memory
 *
 * Return: the closest provider with a reference held (drop it with
 * pci_dev_put()), or NULL if there is none.
 */
static inline struct pci_dev *pci_p2pmem_find(struct device *client)
{
	return pci_p2pmem_find_many(&client, 1);
}

#endif /* _LINUX_PCI_P2PDMA_H */
