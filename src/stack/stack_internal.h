/* SPDX-License-Identifier: BSD-3-Clause */
/* The stack object, shared by the poll loop (stack.c) and TCP (tcp.c). */
#ifndef PST_STACK_INTERNAL_H
#define PST_STACK_INTERNAL_H

#include "lwip/netif.h"

#include "paste_stack.h"
#include "paste_tcp.h"

struct pst_netif_dpdk;

struct pst_stack {
	struct netif netif;
	struct pst_pool *pool;
	struct pst_netif_dpdk *dev;
	int busy_poll;
	unsigned int idle_polls;
	uint64_t polls, busy_polls, busy_cycles;
	/* Connections whose send failed for want of lwIP memory, not of
	 * window: no acknowledgement may be coming to wake them, so the poll
	 * offers them their sent callback again (tcp.c). */
	struct pst_conn *blocked;
	/* Segment array handed to receive callbacks, grown on demand. */
	struct pst_segment *segs;
	unsigned int segs_cap;
};

/* Abort every connection and close every listener (freeing their
 * objects), so that no received pbuf outlives the stack; tcp.c. */
void pst_tcp_shutdown_all(void);

/* Call the sent callback of every connection blocked on lwIP memory and
 * send what it queued; tcp.c. */
void pst_tcp_resume_blocked(struct pst_stack *s);

/* Errno value of an lwIP err_t (negative). */
int pst_lwip_errno(signed char err);

#endif /* PST_STACK_INTERNAL_H */
