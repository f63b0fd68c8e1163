/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the PCI P2PDMA core: which way p2pmem went, and why a
 * way was refused or given up.  Every event has the same five fields, so
 * that one script reads them all:
 *
 *   provider  the provider's PCI name, or "none"
 *   client    the device that DMAs, "userspace" for a process's mappings,
 *             or the removal callback of the kernel user told to let go
 *   map       how the client reaches the provider: bus-address,
 *             through-host-bridge, not-supported, or system-memory for a
 *             fallback; "-" where there is no client device
 *   bytes     the bytes concerned, 0 where the event has none
 *   reason    why, for a refusal, a revocation or a fallback; "-" for a
 *             mapping
 *
 * The events are named p2pdma_map and so on, not map: the IOMMU core's
 * events already own the kernel symbols of that name.  See "Tracing" in
 * Documentation/driver-api/pci/p2pdma.rst.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM p2pdma

#if !defined(_P2PDMA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _P2PDMA_TRACE_H

/* 6.12's enum pci_p2pdma_map_type is there, 7.3's in pci-p2pdma.h. */
#include <linux/dma-map-ops.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/tracepoint.h>

/* A fallback's map, P2PDMA_MAP_SYSTEM_MEMORY. */
#include "p2pdma.h"

/* Numbers in the format file, for perf, trace-cmd and bpftrace. */
TRACE_DEFINE_ENUM(PCI_P2PDMA_MAP_UNKNOWN);
TRACE_DEFINE_ENUM(PCI_P2PDMA_MAP_NOT_SUPPORTED);
TRACE_DEFINE_ENUM(PCI_P2PDMA_MAP_BUS_ADDR);
TRACE_DEFINE_ENUM(PCI_P2PDMA_MAP_THRU_HOST_BRIDGE);

#define p2pdma_show_map(map)						\
	__print_symbolic(map,						\
			 { PCI_P2PDMA_MAP_UNKNOWN, "-" },		\
			 { P2PDMA_MAP_SYSTEM_MEMORY, "system-memory" }, \
			 { PCI_P2PDMA_MAP_NOT_SUPPORTED, "not-supported" }, \
			 { PCI_P2PDMA_MAP_BUS_ADDR, "bus-address" },	\
			 { PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, "through-host-bridge" })

DECLARE_EVENT_CLASS(p2pdma_path_event,
		    TP_PROTO(struct pci_dev *provider, const char *client,
			     int map, u64 bytes, const char *reason),
		    TP_ARGS(provider, client, map, bytes, reason),
		    TP_STRUCT__entry(__string(provider,
					      provider ? pci_name(provider) : "none")
				     __string(client, client)
				     __field(int, map)
				     __field(u64, bytes)
				     __string(reason, reason ?: "-")),
		    TP_fast_assign(__assign_str(provider);
				   __assign_str(client);
				   __entry->map = map;
				   __entry->bytes = bytes;
				   __assign_str(reason);),
		    /* The reason last: it has spaces. */
		    TP_printk("provider=%s client=%s map=%s bytes=%llu reason=%s",
			      __get_str(provider), __get_str(client),
			      p2pdma_show_map(__entry->map), __entry->bytes,
			      __get_str(reason))
);

#define P2PDMA_PATH_EVENT(name)						\
	DEFINE_EVENT(p2pdma_path_event, name,				\
		     TP_PROTO(struct pci_dev *provider, const char *client, \
			      int map, u64 bytes, const char *reason),	\
		     TP_ARGS(provider, client, map, bytes, reason))

/*
 * A DMA-mapping call that worked: its bytes of one provider's memory, or
 * of one segment where the caller counts a segment at a time (7.3's
 * block layer request mapping).
 */
P2PDMA_PATH_EVENT(p2pdma_map);
/*
 * The unmapping of what a mapping call mapped: a scatterlist's bytes of one
 * provider, or one request's (7.3's block layer).  Callers look for p2pmem
 * in what they unmap only while the event has a probe, which is what the
 * registration functions tell them (map.c).
 */
DEFINE_EVENT_FN(p2pdma_path_event, p2pdma_unmap,
		TP_PROTO(struct pci_dev *provider, const char *client,
			 int map, u64 bytes, const char *reason),
		TP_ARGS(provider, client, map, bytes, reason),
		p2pdma_unmap_trace_reg, p2pdma_unmap_trace_unreg);
/* A DMA mapping that must fail: the client cannot reach the provider. */
P2PDMA_PATH_EVENT(p2pdma_refuse);
/* Users of a provider told to let go: userspace's mappings, watchers. */
P2PDMA_PATH_EVENT(p2pdma_revoke);
/* An I/O that could have used p2pmem uses system memory instead. */
P2PDMA_PATH_EVENT(p2pdma_fallback);

#endif /* _P2PDMA_TRACE_H */

/* Found through -I$(src), drivers/pci/p2pdma/Makefile. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
