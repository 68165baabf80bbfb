/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack object. stack.c creates it, runs its poll loop and alone
 * writes it, except `batch`, which is tcp_batch.c's. tcp.c reads `tcp` to
 * find its own state from the stack an application names (pst_tcp_listen,
 * pst_tcp_connect); tcp_batch.c finds `batch` from the netif.
 */
#ifndef PST_STACK_INTERNAL_H
#define PST_STACK_INTERNAL_H

#include <stddef.h>

#include "lwip/netif.h"

#include "idle.h"
#include "paste_stack.h"
#include "tcp_batch.h"

struct pst_netif_dpdk;
struct pst_tcp;

struct pst_stack {
	struct netif netif;
	struct pst_pool *pool;
	struct pst_netif_dpdk *dev;
	struct pst_tcp *tcp;
	struct pst_tcp_batch batch;
	struct pst_idle idle;
	uint64_t polls, busy_polls, busy_cycles, rx_cycles, drain_cycles;
	/* lwIP's timers: checked at most once per millisecond, their
	 * resolution (sys_now()); from here on. */
	uint64_t timers_due, cycles_per_ms;
	pst_burst_end_fn burst_end;   /* pst_stack_set_burst_end() */
	void *burst_end_arg;
	int failed;                   /* errno of the failed drain: fail-stop */
};

/* The stack of lwIP's netif @nif: lwIP's callbacks know the netif only
 * (one stack, one netif per process). */
static inline struct pst_stack *
pst_stack_of_netif(struct netif *nif)
{
	return (struct pst_stack *)((char *)nif - offsetof(struct pst_stack, netif));
}

#endif /* PST_STACK_INTERNAL_H */
