/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack object and its run-to-completion poll: RX burst and lwIP input
 * (application callbacks), one drain, TX burst, lwIP timers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/err.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "cpu.h"
#include "error.h"
#include "idle.h"
#include "lwip_errno.h"
#include "netif_dpdk.h"
#include "stack_internal.h"
#include "sys_arch_stats.h"
#include "tcp.h"
#include "tcp_batch.h"

static int lwip_initialised;

struct pst_stack *
pst_stack_create(const struct pst_stack_config *cfg)
{
	ip4_addr_t addr, mask, gw;
	struct pst_stack *s;

	if (cfg == NULL || cfg->pool == NULL || cfg->ipv4_addr == 0) {
		pst_fail(EINVAL, "stack: a pool and an IPv4 address are required");
		return NULL;
	}
	if ((unsigned int)cfg->tx_zero_copy > PST_TX_ZC_OFF) {
		pst_fail(EINVAL, "stack: tx_zero_copy must be auto, on or off");
		return NULL;
	}
	/* lwIP's state is the process's: one stack, whose netif is lwIP's
	 * default until the stack closes. */
	if (netif_default != NULL) {
		pst_fail(EBUSY, "a paste stack already runs in this process");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pst_fail(ENOMEM, "stack: out of memory");
		return NULL;
	}
	s->pool = cfg->pool;
	if (pst_idle_init(&s->idle, cfg) != 0) {
		pst_fail(EINVAL, "stack: unknown idle mode %u", (unsigned int)cfg->idle);
		goto fail;
	}
	/* A replaced clock (a fuzz target's) moves by its input, not by the
	 * TSC: lwIP's timers are then checked at every poll. */
	s->cycles_per_ms = pst_lwip_clock_replaced() ? 0 : pst_cycles_hz() / 1000;
	s->dev = pst_netif_dpdk_open(cfg);
	if (s->dev == NULL)
		goto fail;
	pst_idle_attach(&s->idle, cfg->port_id, cfg->queue_id);
	s->tcp = pst_tcp_open(cfg->pool, cfg);
	if (s->tcp == NULL)
		goto fail;
	/* lwIP has no teardown: initialise it once per process. Its pools
	 * are empty again once the previous stack closed every PCB. */
	if (!lwip_initialised) {
		lwip_init();
		lwip_initialised = 1;
	}
	ip4_addr_set_u32(&addr, lwip_htonl(cfg->ipv4_addr));
	ip4_addr_set_u32(&mask, lwip_htonl(cfg->ipv4_netmask ? cfg->ipv4_netmask : 0xffffff00u));
	ip4_addr_set_u32(&gw, lwip_htonl(cfg->ipv4_gateway));
	if (netif_add(&s->netif, &addr, &mask, &gw, s->dev,
		      pst_netif_dpdk_netif_init, ethernet_input) == NULL) {
		pst_fail(EINVAL, "stack: lwIP refused the interface");
		goto fail;
	}
	netif_set_default(&s->netif);
	netif_set_up(&s->netif);
	netif_set_link_up(&s->netif);
	pst_tcp_start(s->tcp);
	return s;
fail:
	{
		int err = pst_errno;

		pst_tcp_close(s->tcp);
		pst_idle_detach(&s->idle);
		pst_netif_dpdk_close(s->dev);
		free(s);
		pst_errno = err;
	}
	return NULL;
}

void
pst_stack_close(struct pst_stack *s)
{
	if (s == NULL)
		return;
	/* Abort whatever is left so every received pbuf is freed before the
	 * device (and its pbuf array) goes. */
	pst_tcp_close(s->tcp);
	etharp_cleanup_netif(&s->netif);
	netif_set_down(&s->netif);
	netif_remove(&s->netif);
	pst_idle_detach(&s->idle);
	pst_netif_dpdk_close(s->dev);
	free(s);
}

/* lwIP's timers count whole milliseconds (sys_now()): checking them more
 * often fires nothing new, and cost an idle poll (a few hundred
 * instructions) a tenth of its instructions. */
static void
timers(struct pst_stack *s, uint64_t now)
{
	if (now < s->timers_due)
		return;
	s->timers_due = now + s->cycles_per_ms;
	sys_check_timeouts();
}

/* A drain failed: the stack stops (paste_stack.h). The queued replies go
 * first, then the connections, whose resets the port sends undrained. */
static void
fail_stop(struct pst_stack *s, int ret)
{
	s->failed = -ret;
	pst_netif_dpdk_fail_stop(s->dev);
	pst_tcp_fail_stop(s->tcp);
	(void)pst_netif_dpdk_drain_and_transmit(s->dev);
}

/* A stopped stack: lwIP answers what arrives for the aborted connections
 * (a peer's challenge ACK, a retransmission, a new SYN) with a reset. */
static int
poll_stopped(struct pst_stack *s)
{
	unsigned int rx;

	s->polls++;
	rx = pst_netif_dpdk_rx(s->dev, &s->netif);
	pst_tcp_close_deferred(s->tcp);
	(void)pst_netif_dpdk_drain_and_transmit(s->dev);
	if (rx == 0)
		pst_idle_empty_poll(&s->idle, 1);
	return -s->failed;
}

int
pst_stack_poll(struct pst_stack *s)
{
	uint64_t t0 = pst_cycles();
	uint64_t t_rx, drained = pst_netif_dpdk_drain_cycles(s->dev);
	unsigned int rx;
	int tx, tx2;

	if (s->failed)
		return poll_stopped(s);
	s->polls++;
	/* What the burst's segments produce is sent once per connection
	 * after the whole burst (tcp_batch.c). */
	pst_tcp_batch_begin(&s->batch);
	rx = pst_netif_dpdk_rx(s->dev, &s->netif);
	if (s->burst_end != NULL)
		s->burst_end(s->burst_end_arg);
	pst_tcp_batch_end(&s->batch);
	t_rx = pst_cycles() - t0;
	/* Acknowledgements in the burst freed lwIP memory: connections that
	 * ran out of it try again. */
	pst_tcp_resume_blocked(s->tcp);
	pst_tcp_close_deferred(s->tcp);
	tx = pst_netif_dpdk_drain_and_transmit(s->dev);
	if (tx < 0) {
		fail_stop(s, tx);
		return tx;
	}
	timers(s, t0);
	pst_tcp_close_deferred(s->tcp);
	/* Timers send retransmissions and delayed ACKs: they too leave only
	 * after a drain. */
	tx2 = pst_netif_dpdk_drain_and_transmit(s->dev);
	if (tx2 < 0) {
		fail_stop(s, tx2);
		return tx2;
	}
	if (rx + (unsigned int)tx + (unsigned int)tx2 == 0) {
		/* Frames a full TX ring refused count as idle too: the idle
		 * modes spin a thousand polls before they pause, and a port
		 * that never takes them again (its peer gone) must not keep
		 * the core busy. Only a sleep needs the next timer: asking
		 * lwIP costs a busy-polling server a tenth of each empty poll. */
		pst_idle_empty_poll(&s->idle, s->idle.mode == PST_IDLE_SLEEP ?
					      sys_timeouts_sleeptime() : 0);
		return 0;
	}
	pst_idle_busy_poll(&s->idle);
	s->busy_polls++;
	s->busy_cycles += pst_cycles() - t0;
	s->rx_cycles += t_rx;
	s->drain_cycles += pst_netif_dpdk_drain_cycles(s->dev) - drained;
	return (int)(rx + (unsigned int)tx + (unsigned int)tx2);
}

int
pst_stack_run(struct pst_stack *s, volatile int *stop)
{
	int ret;

	if (s == NULL || stop == NULL)
		return pst_fail(EINVAL, "stack run: NULL argument");
	while (!*stop) {
		ret = pst_stack_poll(s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int
pst_stack_set_burst_end(struct pst_stack *s, pst_burst_end_fn fn, void *arg)
{
	if (s == NULL)
		return pst_fail(EINVAL, "stack: NULL stack");
	s->burst_end = fn;
	s->burst_end_arg = arg;
	return 0;
}

int
pst_stack_add_arp(struct pst_stack *s, uint32_t ipv4, const uint8_t mac[6])
{
	struct eth_addr ea;
	ip4_addr_t addr;
	err_t err;

	if (s == NULL || mac == NULL || ipv4 == 0)
		return pst_fail(EINVAL, "stack: bad ARP entry");
	ip4_addr_set_u32(&addr, lwip_htonl(ipv4));
	memcpy(ea.addr, mac, sizeof(ea.addr));
	err = etharp_add_static_entry(&addr, &ea);
	if (err != ERR_OK)
		return pst_fail(-pst_lwip_errno(err), "stack: ARP table refused the entry");
	return 0;
}

static uint64_t
lwip_drops(void)
{
	return (uint64_t)lwip_stats.link.drop + lwip_stats.etharp.drop +
	       lwip_stats.ip.drop + lwip_stats.icmp.drop + lwip_stats.udp.drop +
	       lwip_stats.tcp.drop;
}

int
pst_stack_stats(const struct pst_stack *s, struct pst_stack_stats *st)
{
	if (s == NULL || st == NULL)
		return pst_fail(EINVAL, "stack stats: NULL argument");
	memset(st, 0, sizeof(*st));
	pst_netif_dpdk_stats(s->dev, st);
	st->rx_dropped = lwip_drops();
	pst_tcp_stats(s->tcp, st);
	st->tcp_retransmits = lwip_stats.mib2.tcpretranssegs;
	st->lwip_tcp_segs = lwip_stats.memp[MEMP_TCP_SEG]->used;
	st->lwip_pbufs = lwip_stats.memp[MEMP_PBUF]->used;
	st->polls = s->polls;
	st->busy_polls = s->busy_polls;
	st->busy_cycles = s->busy_cycles;
	st->rx_cycles = s->rx_cycles;
	st->drain_cycles = s->drain_cycles;
	st->idle_sleeps = s->idle.sleeps;
	st->idle_intr_wakeups = s->idle.intr_wakeups;
	st->idle_rx_intr = (uint64_t)s->idle.rx_intr;
	{
		struct pst_pool_stats ps;

		pst_pool_stats(s->pool, &ps);
		st->drains = ps.drains;
	}
	st->lwip_asserts = pst_lwip_assert_count();
	return 0;
}

int
pst_stack_mac(const struct pst_stack *s, uint8_t mac[6])
{
	if (s == NULL || mac == NULL)
		return pst_fail(EINVAL, "stack mac: NULL argument");
	pst_netif_dpdk_mac(s->dev, mac);
	return 0;
}

struct pst_pool *
pst_stack_pool(const struct pst_stack *s)
{
	return s == NULL ? NULL : s->pool;
}

int
pst_flush(struct pst_stack *s, const void *addr, size_t len)
{
	if (s == NULL)
		return pst_fail(EINVAL, "flush: NULL stack");
	return pst_pool_flush(s->pool, addr, len);
}
