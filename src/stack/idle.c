/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Idle polls: spin, nap, or sleep until the port's RX interrupt or the next
 * timer (idle.h).
 */
#include <errno.h>
#include <time.h>

#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>

#include "cpu.h"
#include "idle.h"

/* nap: today's back-off, a pause per empty poll, then 50 us naps. */
#define NAP_SPIN_POLLS 1024
#define NAP_US 50
/* sleep: defaults of pst_stack_config.idle_polls and idle_sleep_max_us.
 * The longest sleep bounds how late the application's own timers run
 * (and, without an RX interrupt, how late a frame is noticed). */
#define SLEEP_SPIN_POLLS 1024
#define SLEEP_MAX_US 1000
#define SLEEP_FIRST_US 50

int
pst_idle_init(struct pst_idle *idle, const struct pst_stack_config *cfg)
{
	if ((unsigned int)cfg->idle > PST_IDLE_POLL)
		return -EINVAL;
	*idle = (struct pst_idle){ .mode = cfg->busy_poll ? PST_IDLE_POLL : cfg->idle };
	if (idle->mode == PST_IDLE_SLEEP) {
		idle->spin_polls = cfg->idle_polls ? cfg->idle_polls : SLEEP_SPIN_POLLS;
		idle->max_us = cfg->idle_sleep_max_us ? cfg->idle_sleep_max_us : SLEEP_MAX_US;
	} else {
		idle->spin_polls = NAP_SPIN_POLLS;
		idle->max_us = NAP_US;
	}
	return 0;
}

int
pst_idle_wants_rx_intr(const struct pst_stack_config *cfg)
{
	return !cfg->busy_poll && cfg->idle == PST_IDLE_SLEEP;
}

void
pst_idle_attach(struct pst_idle *idle, uint16_t port, uint16_t queue)
{
	idle->port = port;
	idle->queue = queue;
	if (idle->mode != PST_IDLE_SLEEP)
		return;
	/* Fails on ports without RX interrupts (net_af_packet, net_null,
	 * net_ring: no interrupt handle): timed sleeps then. */
	idle->rx_intr = rte_eth_dev_rx_intr_ctl_q(port, queue, RTE_EPOLL_PER_THREAD,
						  RTE_INTR_EVENT_ADD, NULL) == 0;
}

void
pst_idle_detach(struct pst_idle *idle)
{
	if (idle->rx_intr)
		rte_eth_dev_rx_intr_ctl_q(idle->port, idle->queue, RTE_EPOLL_PER_THREAD,
					  RTE_INTR_EVENT_DEL, NULL);
	idle->rx_intr = 0;
}

static void
sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Until a frame arrives, at most @ms. Some drivers (net_tap: its queue's
 * file descriptor is the event) have nothing to enable and say ENOTSUP;
 * a NIC raises the interrupt only once enabled. A frame that arrived
 * between the last empty poll and the enable may wait out @ms on a NIC:
 * the bound keeps that short. */
static void
wait_rx_intr(struct pst_idle *idle, int ms)
{
	struct rte_epoll_event ev;
	int n;

	rte_eth_dev_rx_intr_enable(idle->port, idle->queue);
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, &ev, 1, ms);
	rte_eth_dev_rx_intr_disable(idle->port, idle->queue);
	if (n > 0)
		idle->intr_wakeups++;
}

void
pst_idle_empty_poll(struct pst_idle *idle, uint32_t next_timer_ms)
{
	uint64_t cap_us;
	unsigned int us;

	if (idle->mode == PST_IDLE_POLL)
		return;
	if (++idle->empty < idle->spin_polls) {
		pst_cpu_pause();
		return;
	}
	if (idle->mode == PST_IDLE_NAP) {
		sleep_us(NAP_US);
		return;
	}
	/* lwIP's timers are never late for a sleep. */
	cap_us = (uint64_t)next_timer_ms * 1000;
	if (cap_us > idle->max_us)
		cap_us = idle->max_us;
	if (cap_us == 0)
		return;
	idle->sleeps++;
	if (idle->rx_intr) {
		/* epoll counts milliseconds: round up, never 0 (a busy loop). */
		wait_rx_intr(idle, (int)((cap_us + 999) / 1000));
		return;
	}
	/* No interrupt: each empty sleep doubles the next, from 50 us to the
	 * bound, so a frame after a short gap is noticed soon and a long
	 * idle period costs a wakeup per bound. */
	us = idle->backoff_us ? idle->backoff_us : SLEEP_FIRST_US;
	if (us > cap_us)
		us = (unsigned int)cap_us;
	sleep_us(us);
	idle->backoff_us = us * 2 > idle->max_us ? idle->max_us : us * 2;
}
