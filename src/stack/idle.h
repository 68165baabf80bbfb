/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a poll that found nothing to do does (pst_stack_config.idle):
 * spin, nap 50 us at a time, or sleep until a frame arrives (the port's RX
 * interrupt, through the EAL's per-thread epoll) or the next timer, with a
 * timed back-off where the port has no RX interrupt. DPDK only: the stack
 * passes lwIP's next timeout in.
 */
#ifndef PST_IDLE_H
#define PST_IDLE_H

#include <stdint.h>

#include "paste_stack.h"

struct pst_idle {
	enum pst_idle_mode mode;
	unsigned int spin_polls;   /* empty polls before the first sleep */
	unsigned int max_us;       /* longest sleep */
	unsigned int empty;        /* consecutive empty polls */
	unsigned int backoff_us;   /* next timed sleep (no RX interrupt) */
	uint16_t port, queue;
	int rx_intr;               /* the queue's RX interrupt is in our epoll */
	uint64_t sleeps, intr_wakeups;
};

/* The mode and limits from @cfg (busy_poll wins over idle). 0, or -EINVAL
 * for an unknown mode. */
int pst_idle_init(struct pst_idle *idle, const struct pst_stack_config *cfg);

/* Whether the port should be configured with RX queue interrupts. */
int pst_idle_wants_rx_intr(const struct pst_stack_config *cfg);

/* After the port started: put its RX queue's interrupt in this thread's
 * epoll, or fall back to timed sleeps when the port has none. */
void pst_idle_attach(struct pst_idle *idle, uint16_t port, uint16_t queue);

/* Before the port stops. */
void pst_idle_detach(struct pst_idle *idle);

/* A poll did nothing. @next_timer_ms: when lwIP's next timer is due
 * (UINT32_MAX: none); read in PST_IDLE_SLEEP mode only. */
void pst_idle_empty_poll(struct pst_idle *idle, uint32_t next_timer_ms);

/* A poll did work. */
static inline void
pst_idle_busy_poll(struct pst_idle *idle)
{
	idle->empty = 0;
	idle->backoff_us = 0;
}

#endif /* PST_IDLE_H */
