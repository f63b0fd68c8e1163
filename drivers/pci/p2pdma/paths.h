/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The path cache's lock-free read side.  topology.c owns the cache: it
 * works verdicts out, stores them and makes them stale.  The lookup is
 * here, inline, because every DMA-mapping call that meets a new provider
 * makes one: only a miss costs a call into topology.c.
 *
 * Each provider caches its verdict per client in @paths, an xarray keyed
 * by the client's PCI address (p2pdma_client_key()).  An entry is an
 * xarray value (so bit 63 stays clear) that packs the map type, the
 * distance and the generation of the rules it was worked out under.  The
 * map type needs three bits since 7.3 added PCI_P2PDMA_MAP_NONE: with two,
 * a cached PCI_P2PDMA_MAP_THRU_HOST_BRIDGE read back as _UNKNOWN.
 */
#ifndef _DRIVERS_PCI_P2PDMA_PATHS_H
#define _DRIVERS_PCI_P2PDMA_PATHS_H

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/xarray.h>

#include "p2pdma.h"

#define P2PDMA_ENTRY_MAP	GENMASK(2, 0)
#define P2PDMA_ENTRY_DISTANCE	GENMASK(18, 3)
#define P2PDMA_ENTRY_GEN	GENMASK(62, 19)

/* The generation of the rules; written by p2pdma_paths_outdated() only. */
extern atomic_long_t p2pdma_paths_gen;

/* The generation now, as entries hold it: its low bits. */
static inline unsigned long p2pdma_paths_gen_now(void)
{
	return atomic_long_read_acquire(&p2pdma_paths_gen) &
	       FIELD_MAX(P2PDMA_ENTRY_GEN);
}

static inline bool p2pdma_entry_fresh(void *entry, unsigned long gen)
{
	return entry && FIELD_GET(P2PDMA_ENTRY_GEN, xa_to_value(entry)) == gen;
}

static inline enum pci_p2pdma_map_type p2pdma_entry_map(void *entry)
{
	return FIELD_GET(P2PDMA_ENTRY_MAP, xa_to_value(entry));
}

static inline int p2pdma_entry_distance(void *entry)
{
	if (p2pdma_entry_map(entry) == PCI_P2PDMA_MAP_NOT_SUPPORTED)
		return -1;
	return FIELD_GET(P2PDMA_ENTRY_DISTANCE, xa_to_value(entry));
}

enum pci_p2pdma_map_type p2pdma_path_miss(struct pci_p2pdma *p2p,
					  struct pci_dev *client,
					  unsigned long key, unsigned long gen,
					  int *distance);

/**
 * p2pdma_path_cached - map type and distance from a provider to a client
 * @p2p: provider state
 * @client: PCI function doing the DMA
 * @distance: if not NULL, set to the distance (-1 when not supported)
 *
 * The answer is computed once per provider/client pair and generation of
 * the rules, and kept in @p2p->paths.  Does not sleep.
 *
 * Return: the map type.
 */
static inline enum pci_p2pdma_map_type
p2pdma_path_cached(struct pci_p2pdma *p2p, struct pci_dev *client,
		   int *distance)
{
	unsigned long key = p2pdma_client_key(client);
	unsigned long gen = p2pdma_paths_gen_now();
	void *entry = xa_load(&p2p->paths, key);

	if (unlikely(!p2pdma_entry_fresh(entry, gen)))
		return p2pdma_path_miss(p2p, client, key, gen, distance);
	if (distance)
		*distance = p2pdma_entry_distance(entry);
	return p2pdma_entry_map(entry);
}

#endif /* _DRIVERS_PCI_P2PDMA_PATHS_H */
