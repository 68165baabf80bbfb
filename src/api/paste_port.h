/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A guard for an ethdev port that a program polls itself, without a paste
 * stack (rte_eth_rx_burst() and rte_eth_tx_burst() in its own loop, as
 * paste-testpmd's raw and log modes do), against its net_memif peer
 * leaving.
 *
 * DPDK 22.11's net_memif unmaps the shared rings from its interrupt thread
 * when the peer disconnects, while the polling thread may be inside a
 * burst on them; the poller then faults. A paste stack guards its ports
 * with a farewell (doc/stack.md, "Leaving a memif port"): the leaver says
 * so first and its peer stops touching the port until the link has gone
 * down and up. This guard gives a raw poller the same farewell, on the
 * same frames, so either end may be a stack or a raw poller.
 *
 * Use: create a guard per port after rte_eth_dev_start(); each poll, skip
 * the port's bursts while pst_port_guard_parked() says so; pass every
 * received burst through pst_port_guard_rx(); before rte_eth_dev_stop(),
 * call pst_port_guard_leave(). On ports of other drivers the guard does
 * nothing and costs one branch per call.
 */
#ifndef PASTE_PORT_H
#define PASTE_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct rte_mempool;
struct pst_port_guard;

/** What a guard counted. */
struct pst_port_guard_stats {
	uint64_t parks;          /**< peers that said farewell */
	uint64_t park_timeouts;  /**< parks ended by the 1 s bound: the
				  *   "leaver" stayed */
	uint64_t refused;        /**< farewells not taken (doc/stack.md,
				  *   "Who may say farewell") */
};

/**
 * Guard queue @p queue of started port @p port. The guard answers and
 * sends farewell frames from @p tx_mp (any mempool the port may transmit
 * from). With @p key (16 to 64 bytes, shared by both ends, as
 * pst_stack_config.farewell_key), only signed farewells are taken.
 * @return the guard, or NULL with ::pst_errno: EINVAL (no such port, NULL
 *   @p tx_mp, a key of another length), ENOMEM, EIO (libsodium did not
 *   start).
 */
struct pst_port_guard *pst_port_guard_create(uint16_t port, uint16_t queue,
					     struct rte_mempool *tx_mp,
					     const void *key, size_t key_len);

/**
 * Whether the port must be left alone now: while it returns 1, make no RX
 * or TX burst on it (drop or hold what would go out). Call it once per
 * poll; it reads only the link status, never the rings. The park ends
 * when the link has gone down and up (a new peer) or after 1 s.
 * @return 1 parked, 0 free to poll (always 0 on a NULL guard).
 */
int pst_port_guard_parked(struct pst_port_guard *g);

/**
 * Take the farewell frames out of a received burst: each is answered (a
 * "leaving" parks the port once the answer is queued) and freed; the
 * other frames are moved to the front of @p pkts in their order.
 * @return how many frames are left in @p pkts (@p n on a NULL guard).
 */
uint16_t pst_port_guard_rx(struct pst_port_guard *g, struct rte_mbuf **pkts, uint16_t n);

/**
 * Say farewell before the port stops: send "leaving" and read the port
 * for at most 200 ms until the peer answers; frames read meanwhile are
 * dropped. Nothing is sent while the port is parked or its link is down.
 * @return 1 the peer answered, 0 it did not (not paste, not there, or not
 *   a memif port), -ENOMEM without an mbuf in the guard's mempool.
 */
int pst_port_guard_leave(struct pst_port_guard *g);

/** Copy @p g's counters into @p st (zeros for a NULL guard). */
void pst_port_guard_stats(const struct pst_port_guard *g, struct pst_port_guard_stats *st);

/** Free the guard (its key wiped); NULL is ignored. */
void pst_port_guard_destroy(struct pst_port_guard *g);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_PORT_H */
