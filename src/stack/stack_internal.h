/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack object. stack.c creates it, runs its poll loop and alone
 * writes it. tcp.c reads `tcp` to find its own state from the stack an
 * application names (pst_tcp_listen, pst_tcp_connect).
 */
#ifndef PST_STACK_INTERNAL_H
#define PST_STACK_INTERNAL_H

#include "lwip/netif.h"

#include "paste_stack.h"

struct pst_netif_dpdk;
struct pst_tcp;

struct pst_stack {
	struct netif netif;
	struct pst_pool *pool;
	struct pst_netif_dpdk *dev;
	struct pst_tcp *tcp;
	int busy_poll;
	unsigned int idle_polls;
	uint64_t polls, busy_polls, busy_cycles;
};

#endif /* PST_STACK_INTERNAL_H */
