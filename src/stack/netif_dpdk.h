/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP's network interface over one DPDK ethdev port and queue. This is the
 * only part of paste where lwIP's packets meet DPDK's (sys_arch.c takes
 * just DPDK's clock and random numbers); the rest of the stack talks to it
 * through these calls.
 */
#ifndef PST_NETIF_DPDK_H
#define PST_NETIF_DPDK_H

#include <stdint.h>

#include "paste_stack.h"

struct netif;
struct pst_netif_dpdk;

/* Set up the port (queues, offloads, start) and the receive pbufs over the
 * pool's buffers. Returns NULL with pst_errno set. */
struct pst_netif_dpdk *pst_netif_dpdk_open(const struct pst_stack_config *cfg);

/* lwIP netif init callback (netif_add's init): MAC, MTU, checksum control,
 * linkoutput. The netif's state must be the device. */
signed char pst_netif_dpdk_netif_init(struct netif *nif);

/* Receive one burst and feed it to lwIP (application callbacks run here).
 * Returns the number of frames received. */
unsigned int pst_netif_dpdk_rx(struct pst_netif_dpdk *dev, struct netif *nif);

/* Frames queued for one TX burst at most. */
#define PST_NETIF_TX_QUEUE_MAX 4096

/* Drain the pool (every flush issued so far becomes durable), then
 * transmit the queued frames. With no frame queued, drain only if the
 * pool has a drain pending. Returns frames transmitted, or a negative
 * errno from the drain, in which case nothing is transmitted. Frames not
 * transmitted (a failed drain, a TX ring that stayed full) stay queued,
 * in order, for the next call; frames queued beyond
 * PST_NETIF_TX_QUEUE_MAX meanwhile are dropped (counted in tx_dropped)
 * for TCP to retransmit. */
int pst_netif_dpdk_drain_and_transmit(struct pst_netif_dpdk *dev);

/* A drain failed for good (pst_pool_drain): drop every queued frame, and
 * from now on let pst_netif_dpdk_drain_and_transmit() send, without a
 * drain, only ARP and TCP resets (dropping the rest): the stack can still
 * tell its peers that their connections are gone, and nothing that could
 * acknowledge a write leaves. */
void pst_netif_dpdk_fail_stop(struct pst_netif_dpdk *dev);

/* TSC cycles spent in drains of the pool so far. */
uint64_t pst_netif_dpdk_drain_cycles(const struct pst_netif_dpdk *dev);

/* Frames queued and not sent yet. */
unsigned int pst_netif_dpdk_tx_pending(const struct pst_netif_dpdk *dev);

/* Add the driver's counters to @stats. */
void pst_netif_dpdk_stats(const struct pst_netif_dpdk *dev,
			  struct pst_stack_stats *stats);

void pst_netif_dpdk_mac(const struct pst_netif_dpdk *dev, uint8_t mac[6]);

/* Stop the port and free everything. Received pbufs must all be freed. */
void pst_netif_dpdk_close(struct pst_netif_dpdk *dev);

/* Observer of @dev's TX bursts, for tests that check "drain before send".
 * Called with the number of frames right before they are handed to the
 * port. NULL removes it. */
void pst_netif_dpdk_set_tx_hook(struct pst_netif_dpdk *dev,
				void (*fn)(void *ctx, unsigned int n), void *ctx);

#endif /* PST_NETIF_DPDK_H */
