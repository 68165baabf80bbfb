/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * UDP on a paste stack: bind, receive datagrams in place, send by copy or
 * by name. Every callback runs inside pst_stack_poll(), on the polling
 * lcore.
 *
 * A received datagram is handed over in place as segments (struct
 * pst_segment, as for TCP): each points into the pool buffer the driver
 * wrote the frame into and carries its durable name. The application may
 * keep a segment's buffer (pst_udp_keep(): it leaves circulation and
 * becomes storage, charged to the socket's receive budget until
 * pst_udp_release()) or let it go when the callback returns.
 *
 * Sends queue frames in the driver; they leave after the drain at the end
 * of the current (or next) poll, so a datagram never leaves before the
 * flushes issued earlier in that poll are durable.
 *
 * IP fragments are not reassembled: a fragmented datagram is dropped and
 * counted (pst_udp_global_stats().ip_fragments_dropped), and a send larger
 * than one frame is refused with -EMSGSIZE.
 */
#ifndef PASTE_UDP_H
#define PASTE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "paste_pool.h"
#include "paste_stack.h"
#include "paste_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pst_udp_sock;

/** Default receive budget: pool buffers a socket's kept datagrams may hold. */
#define PST_UDP_RCVBUF_DEFAULT 1024u

/**
 * A datagram arrived from @p ipv4 (host order) : @p port, as @p n segments
 * (one per pool buffer; n >= 1, a zero-length datagram is one empty
 * segment). Segments are valid until the callback returns, unless kept.
 */
typedef void (*pst_udp_recv_fn)(void *arg, struct pst_udp_sock *sock,
				uint32_t ipv4, uint16_t port,
				const struct pst_segment *segs, unsigned int n);

/**
 * Open a UDP socket on @p port of the stack's address (0: an ephemeral
 * port). @p recv may be NULL for a send-only socket (datagrams to it are
 * then dropped and counted).
 * @return the socket, or NULL with ::pst_errno: EINVAL, EADDRINUSE, ENOMEM
 *   (no free UDP PCB or no memory).
 */
struct pst_udp_sock *pst_udp_bind(struct pst_stack *stack, uint16_t port,
				  pst_udp_recv_fn recv, void *arg);

/**
 * Connect: pst_udp_send() and pst_udp_send_name() go to @p ipv4 (host
 * order) : @p port, and only datagrams from there are received.
 * @return 0, -EINVAL (NULL socket, address 0 or port 0).
 */
int pst_udp_connect(struct pst_udp_sock *sock, uint32_t ipv4, uint16_t port);

/** Undo pst_udp_connect(): receive from anyone again. @return 0 or -EINVAL. */
int pst_udp_disconnect(struct pst_udp_sock *sock);

/**
 * Set the receive budget: at most @p bufs pool buffers held by datagrams
 * kept from this socket and not yet given back with pst_udp_release().
 * A datagram that would exceed it is dropped before the callback and
 * counted (rx_dropped_budget), so a flood cannot take the pool.
 * @return 0, -EINVAL (NULL socket or @p bufs 0).
 */
int pst_udp_set_rcvbuf(struct pst_udp_sock *sock, uint32_t bufs);

/**
 * Keep the buffer holding a received segment (see pst_conn_keep()); it is
 * charged to the socket's receive budget.
 * @param[out] name the segment's durable name (same as seg->name).
 * @return 0, -EINVAL (segment without a name, or not from this socket's
 *   current receive callback), or the pool's error.
 */
int pst_udp_keep(struct pst_udp_sock *sock, const struct pst_segment *seg,
		 pst_name *name);

/**
 * Release a buffer kept with pst_udp_keep() and credit the socket's
 * receive budget (pst_pool_release() on the buffer would free it without
 * the credit). A send by name still in flight holds the buffer until the
 * NIC is done with it.
 * @return 0, -EINVAL (NULL socket, invalid name, or nothing charged), or
 *   the pool's error.
 */
int pst_udp_release(struct pst_udp_sock *sock, pst_name name);

/**
 * Send a copy of @p len bytes to @p ipv4 (host order) : @p port as one
 * datagram.
 * @return @p len, -EMSGSIZE (larger than one frame holds: no
 *   fragmentation), -EINVAL (NULL argument, address or port 0),
 *   -ENOMEM (no stack memory; the datagram is not sent), -EHOSTUNREACH,
 *   -ENOBUFS (the driver's queue refused it).
 */
long pst_udp_sendto(struct pst_udp_sock *sock, uint32_t ipv4, uint16_t port,
		    const void *data, size_t len);

/** pst_udp_sendto() to the connected peer; -ENOTCONN when not connected. */
long pst_udp_send(struct pst_udp_sock *sock, const void *data, size_t len);

/**
 * Zero-copy send of the bytes named @p name as one datagram: where the
 * port takes multi-segment frames and the buffer is kept, the frame's
 * payload is the pool buffer itself (held until the NIC is done with it; a
 * release meanwhile waits); otherwise the bytes are copied.
 * @return the name's length, or the errors of pst_udp_sendto() and -EINVAL
 *   for an invalid name.
 */
long pst_udp_sendto_name(struct pst_udp_sock *sock, uint32_t ipv4,
			 uint16_t port, pst_name name);

/** pst_udp_sendto_name() to the connected peer; -ENOTCONN when not connected. */
long pst_udp_send_name(struct pst_udp_sock *sock, pst_name name);

/**
 * Close the socket. Its kept buffers stay kept (they are the
 * application's); no callback fires afterwards; @p sock is invalid on
 * return. Safe inside its own receive callback. Close every socket before
 * pst_stack_close().
 */
void pst_udp_close(struct pst_udp_sock *sock);

/** Local port of a socket (the ephemeral one after a bind to 0), or 0. */
uint16_t pst_udp_local_port(const struct pst_udp_sock *sock);

/** Counters of one socket. */
struct pst_udp_stats {
	uint64_t rx_datagrams;      /**< datagrams handed to the recv callback */
	uint64_t rx_bytes;          /**< ... their payload bytes */
	uint64_t rx_segments_kept;  /**< segments kept with pst_udp_keep() */
	uint64_t rx_dropped_budget; /**< dropped: receive budget exhausted */
	uint64_t rx_dropped_nocb;   /**< dropped: no receive callback */
	uint64_t rx_dropped_bad_len;/**< dropped: UDP length field beyond the
	                                 IP payload or below the header's 8,
	                                 or more than 8 pbufs */
	uint64_t rcv_held;          /**< pool buffers now charged to the budget */
	uint64_t rcv_budget;        /**< the budget (pst_udp_set_rcvbuf()) */
	uint64_t tx_datagrams;      /**< datagrams sent (copy or by name) */
	uint64_t tx_bytes;          /**< ... their payload bytes */
	uint64_t tx_bytes_zc;       /**< ... of which by name */
	uint64_t tx_errors;         /**< sends refused (any error) */
};

/** Fill @p stats. @return 0 or -EINVAL. */
int pst_udp_stats(const struct pst_udp_sock *sock, struct pst_udp_stats *stats);

/** UDP counters of the whole stack (lwIP's, since the process started). */
struct pst_udp_global_stats {
	uint64_t rx_datagrams;         /**< UDP datagrams lwIP received */
	uint64_t rx_bad_checksum;      /**< dropped: bad UDP checksum */
	uint64_t rx_bad_length;        /**< dropped: malformed (short, length field) */
	uint64_t rx_no_socket;         /**< dropped: no socket bound to the port */
	uint64_t ip_fragments_dropped; /**< IP fragments dropped (no reassembly) */
};

/** Fill @p stats. @return 0 or -EINVAL. */
int pst_udp_global_stats(const struct pst_stack *stack,
			 struct pst_udp_global_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_UDP_H */
