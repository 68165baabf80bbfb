/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The TCP/IP stack: lwIP over one DPDK ethdev port and queue, receiving
 * into pool buffers, run to completion by pst_stack_poll().
 *
 * One poll: RX burst -> lwIP input (application callbacks run here, on
 * payload that still lies in the pool file) -> one drain of every flush
 * issued during the poll -> TX burst -> lwIP timers. Nothing queued for
 * transmission leaves before that drain, so a reply sent after flushing the
 * request's data tells the peer the data is durable.
 *
 * lwIP keeps global state: one stack per process (and lcore).
 */
#ifndef PASTE_STACK_H
#define PASTE_STACK_H

#include <stdint.h>

#include "paste_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Seeded fault injection in the driver, for tests (probabilities 0..1). */
struct pst_fault_config {
	uint64_t seed;        /**< PRNG seed; runs with one seed are repeatable */
	double rx_drop;       /**< drop a received frame */
	double rx_dup;        /**< deliver a received frame twice */
	double rx_reorder;    /**< deliver a received frame after the next one */
	double rx_corrupt;    /**< flip one byte of a received frame */
	double tx_drop;       /**< drop a frame to be sent */
	double tx_dup;        /**< send a frame twice */
	double tx_reorder;    /**< send a frame after the next one */
	double tx_corrupt;    /**< flip one byte of a frame to be sent */
};

/** How sends by name reach the wire (pst_stack_config.tx_zero_copy). */
enum pst_tx_zero_copy {
	PST_TX_ZC_AUTO = 0, /**< attach, unless the driver copies frames anyway */
	PST_TX_ZC_ON,       /**< attach whenever the port takes chained mbufs */
	PST_TX_ZC_OFF,      /**< always copy into the frame */
};

/** What a poll that finds nothing to do does (pst_stack_config.idle). */
enum pst_idle_mode {
	/** Pause on each of 1,024 empty polls, then nap 50 us per empty poll:
	 *  a test machine's other core is not starved, and a frame waits at
	 *  most a nap. The default. */
	PST_IDLE_NAP = 0,
	/** After pst_stack_config.idle_polls empty polls, sleep until a frame
	 *  arrives or lwIP's next timer is due, at most idle_sleep_max_us: on
	 *  the port's RX interrupt where the driver has one (net_tap, NICs),
	 *  otherwise a timed sleep doubling from 50 us to idle_sleep_max_us.
	 *  An idle core costs next to nothing; the first frame after a sleep
	 *  waits for the wakeup. */
	PST_IDLE_SLEEP,
	/** Never sleep (as busy_poll): the lowest latency, a whole core. */
	PST_IDLE_POLL,
};

/** How to create a stack. Zeroed fields take their defaults. */
struct pst_stack_config {
	uint16_t port_id;          /**< DPDK port, configured and started by the stack */
	uint16_t queue_id;         /**< RX/TX queue pair (only queue 0 is supported now) */
	uint32_t ipv4_addr;        /**< host order, required */
	uint32_t ipv4_netmask;     /**< host order; 0: 255.255.255.0 */
	uint32_t ipv4_gateway;     /**< host order; 0: none */
	struct pst_pool *pool;     /**< open pool receiving the frames, required */
	unsigned int n_mbufs;      /**< RX mbufs in the pool's mempool; 0: 4096 */
	uint16_t rx_desc;          /**< RX descriptors; 0: 1024 */
	uint16_t tx_desc;          /**< TX descriptors; 0: 1024 */
	/** Never sleep when idle (benchmarks on a dedicated core). Otherwise
	 *  the poll pauses, then sleeps briefly after many empty polls, so a
	 *  shared test machine is not starved. */
	int busy_poll;
	/** Sends by name: attach the pool buffer to the TX mbufs (the NIC reads
	 *  it in place) or copy its bytes into the frame. ::PST_TX_ZC_AUTO
	 *  attaches unless the port's driver copies every frame itself
	 *  (net_af_packet, net_tap, net_memif, net_pcap): there a second copy
	 *  follows anyway and attaching costs more than copying. */
	enum pst_tx_zero_copy tx_zero_copy;
	struct pst_fault_config faults; /**< all zero: no faults */
	/** Receive budget of one connection, in pool buffers: its TCP window
	 *  is what it may still pin (received bytes it holds unconsumed and
	 *  bytes in flight to it), at most this many buffers' worth, and at
	 *  most an equal share of the stack's budget among the connections
	 *  (never under the 64 KiB of the handshake; doc/stack.md).
	 *  0: 1/16 of the stack's budget when it is created (the free
	 *  buffers after the mempool, less the reserve). The stack's budget
	 *  then follows the store: buffers kept since creation leave it. */
	unsigned int conn_rx_buffers;
	/** Free pool buffers no connection's window is granted from, so ACKs,
	 *  FINs, RSTs, SYNs and new connections are always receivable.
	 *  0: 1/8 of the free buffers after the mempool. */
	unsigned int rx_reserve;
	/** Idle behaviour; busy_poll set means ::PST_IDLE_POLL. */
	enum pst_idle_mode idle;
	/** ::PST_IDLE_SLEEP: empty polls (spinning with a pause) before the
	 *  first sleep; 0: 1024. */
	unsigned int idle_polls;
	/** ::PST_IDLE_SLEEP: longest sleep in microseconds, which bounds how
	 *  late a caller's own timers run between polls and, without an RX
	 *  interrupt, how late a frame is noticed; 0: 1000. */
	unsigned int idle_sleep_max_us;
	/** Abort a connection whose peer has advertised a zero window for
	 *  this long, without acknowledging anything, while data is queued
	 *  for it (copies in lwIP's memory, pool buffers pinned by sends by
	 *  name): a peer that stops reading cannot hold them forever. Its
	 *  closed callback gets -ETIMEDOUT, its buffers return and
	 *  ::pst_stack_stats.tcp_zero_window_aborts counts it. A peer that
	 *  reads slowly is not affected: every acknowledgement restarts the
	 *  clock. Checked every 100 ms. 0: 60,000 ms; negative: never. */
	int32_t zero_window_timeout_ms;
	/** net_memif: a key shared with the memif peers (16 to 64 bytes,
	 *  copied). Farewells are then signed (HMAC-SHA256) and take a
	 *  challenge bound to the link-up, so that nobody without the key,
	 *  even one who sees and replays every frame (a bridge's far side),
	 *  can park the port. Both ends need the same key. NULL: unsigned
	 *  farewells, of which at most one per link-up is taken
	 *  (doc/stack.md, "Who may say farewell"). */
	const void *farewell_key;
	size_t farewell_key_len;         /**< bytes at farewell_key */
	/** Abort a connection whose unacknowledged data does not progress:
	 *  every window of this many milliseconds in which data is queued for
	 *  its peer, the peer must acknowledge either everything that was
	 *  outstanding when the window began or ack_progress_min_rate bytes
	 *  per second of it. lwIP gives up on a peer that never acknowledges,
	 *  but one that acknowledges a few bytes before each retransmission
	 *  timeout would keep its send queue (lwIP's segments, pool buffers
	 *  pinned by sends by name) for ever. Its closed callback gets
	 *  -ETIMEDOUT and ::pst_stack_stats.tcp_ack_progress_aborts counts it.
	 *  Checked every 100 ms. 0: 60,000 ms; negative: never. */
	int32_t ack_progress_ms;
	/** Bytes per second, see ack_progress_ms. 0: 1,024. */
	uint32_t ack_progress_min_rate;
};

/** Counters of a stack since creation. */
struct pst_stack_stats {
	uint64_t rx_packets, rx_bytes;   /**< frames handed to lwIP */
	uint64_t tx_packets, tx_bytes;   /**< frames accepted by the port */
	uint64_t rx_nobufs;              /**< dropped: no free pool buffer to swap in */
	uint64_t rx_bad_csum;            /**< dropped: the port flagged a bad checksum */
	uint64_t rx_copied;              /**< not zero copy: scattered, or from another mempool */
	uint64_t tx_zero_copy_segments;  /**< TX segments attached to kept pool buffers */
	uint64_t rx_truncated;           /**< dropped: shorter than the ARP or IPv4
					      *   header its EtherType announces */
	uint64_t rx_dropped;             /**< dropped by lwIP (malformed, no PCB, ...) */
	uint64_t tx_dropped;             /**< dropped: TX queue full (the port
					      *   behind, or drains failing) or no mbuf */
	uint64_t tx_ring_full;           /**< transmits the port's ring cut
					      *   short: the rest waited for the
					      *   next poll, not dropped */
	uint64_t fault_drops, fault_dups, fault_reorders, fault_corrupts;
	uint64_t tcp_retransmits;        /**< fast retransmissions (lwIP's MIB
					      *   counter omits timeout ones) */
	uint64_t polls;                  /**< pst_stack_poll() calls */
	uint64_t busy_polls;             /**< polls that did work */
	uint64_t busy_cycles;            /**< TSC cycles spent in busy polls */
	/** Where busy polls spend their cycles (stages of busy_cycles):
	 *  receiving (the RX burst, lwIP's input and the application's
	 *  callbacks, pst_stack_set_burst_end()'s function) and draining the
	 *  pool; the rest is transmitting and lwIP's timers. A drain in a
	 *  poll that neither received nor sent (releases made durable) is in
	 *  neither: such polls count as idle. */
	uint64_t rx_cycles, drain_cycles;
	/** Of rx_cycles: the driver's RX bursts (rte_eth_rx_burst() calls
	 *  that returned frames). Nearly nothing on a NIC that DMAs; the copy
	 *  of every frame on a virtual device that copies (memif, af_packet). */
	uint64_t rx_burst_cycles;
	uint64_t drains;                 /**< drains issued by the poll loop */
	uint64_t lwip_asserts;           /**< lwIP invariant violations (should be 0) */
	uint64_t rx_held_bytes;          /**< received bytes connections hold now (pst_conn_hold) */
	uint64_t rx_gathered;            /**< held segments copied into shared buffers */
	int64_t rx_window_credit;        /**< window bytes the stack may still grant */
	uint64_t idle_sleeps;            /**< ::PST_IDLE_SLEEP: sleeps taken */
	uint64_t idle_intr_wakeups;      /**< ... of which ended by an RX interrupt */
	uint64_t idle_rx_intr;           /**< 1: sleeps wait on the port's RX
					      *   interrupt; 0: timed sleeps */
	uint64_t tcp_zero_window_aborts; /**< connections aborted by
					      *   zero_window_timeout_ms */
	uint64_t peer_farewells;         /**< net_memif: peers that said they
					      *   were leaving; the port was left
					      *   alone until their link went down */
	uint64_t peer_farewell_timeouts; /**< ... of which the link never went
					      *   down within 1 s: polled again,
					      *   and farewells refused until the
					      *   link goes down and up */
	uint64_t peer_farewells_refused; /**< farewells not taken: a park
					      *   timed out this link-up (forged
					      *   or replayed, doc/stack.md) */
	uint64_t tcp_ack_progress_aborts; /**< connections aborted by
					       *   ack_progress_ms */
	uint64_t lwip_tcp_segs;          /**< lwIP's TCP segments in use now
					      *   (MEMP_TCP_SEG: every connection's
					      *   unsent, unacknowledged and
					      *   out-of-order queues) */
	uint64_t lwip_pbufs;             /**< lwIP's pbuf descriptors in use now
					      *   (MEMP_PBUF: bytes sent by name or
					      *   by reference, not yet acknowledged) */
};

struct pst_stack;

/**
 * Create the stack: make the pool's mempool, configure and start the port
 * (with the checksum offloads it advertises), and bring up lwIP's netif
 * with the port's MAC and MTU. rte_eal_init() must have run.
 *
 * @return
 *   The stack, or NULL with ::pst_errno set:
 *    - EINVAL: missing pool or address, bad port or queue, bad tx_zero_copy
 *      or idle mode, a farewell_key not 16 to 64 bytes long;
 *    - EBUSY: a stack already exists in this process;
 *    - ENOBUFS: the pool has too few free buffers for n_mbufs;
 *    - ENOMEM, or the error of a failing ethdev call.
 */
struct pst_stack *pst_stack_create(const struct pst_stack_config *cfg);

/**
 * Stop the port, free lwIP's state, the mempools and the stack.
 * Connections are aborted. NULL is ignored.
 */
void pst_stack_close(struct pst_stack *stack);

/**
 * One run-to-completion iteration.
 *
 * A failed drain (an msync error: pst_pool_drain()) stops the stack for
 * good (fail-stop). Nothing queued in that poll is sent, nor anything
 * that would answer a request later. Every connection is reset and
 * aborted, its error callback called with -ECONNABORTED, and every
 * listener closed (a new SYN gets a reset; the pst_listener stays the
 * application's to pst_listener_close()). Later polls still receive, but
 * only to answer with ARP replies and TCP resets, so that peers learn
 * their connections are gone. The application should stop: print why,
 * close nothing that writes to the pool, and exit. Recovery from the pool
 * file then decides what exists.
 * @return the number of frames received and sent (0: idle), or the
 *   negative errno of the failed drain (-EIO, ...) in the poll that failed
 *   and every later one.
 */
int pst_stack_poll(struct pst_stack *stack);

/** A function pst_stack_poll() calls once per poll (see
 *  pst_stack_set_burst_end()). */
typedef void (*pst_burst_end_fn)(void *arg);

/**
 * Have @p fn(@p arg) called in every poll after the received frames'
 * callbacks have run and before what they sent is given to lwIP's output:
 * the place to send what an application gathered over several callbacks
 * (the small replies to a whole receive burst), so that it still shares
 * the burst's segments, leaves after the same drain, and costs one send
 * per connection instead of one per received segment. What is sent there
 * leaves in the same poll, after its drain, with the acknowledgements of
 * the burst. NULL @p fn removes it.
 * @return 0, or -EINVAL for a NULL stack.
 */
int pst_stack_set_burst_end(struct pst_stack *stack, pst_burst_end_fn fn, void *arg);

/**
 * Poll until *stop becomes non-zero.
 * @return 0, or the first negative value pst_stack_poll() returned.
 */
int pst_stack_run(struct pst_stack *stack, volatile int *stop);

/**
 * Add a static ARP entry (the peer's MAC never has to be resolved).
 * @param ipv4 host order.
 * @return 0, -EINVAL, or -ENOMEM when the ARP table is full.
 */
int pst_stack_add_arp(struct pst_stack *stack, uint32_t ipv4,
		      const uint8_t mac[6]);

/** Fill @p stats. @return 0 or -EINVAL. */
int pst_stack_stats(const struct pst_stack *stack, struct pst_stack_stats *stats);

/** The port's MAC address. @return 0 or -EINVAL. */
int pst_stack_mac(const struct pst_stack *stack, uint8_t mac[6]);

/** The pool the stack receives into. */
struct pst_pool *pst_stack_pool(const struct pst_stack *stack);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_STACK_H */
