/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * TCP on a paste stack: listen, accept, connect, receive in place, send,
 * close. Every callback runs inside pst_stack_poll(), on the polling lcore.
 *
 * Received bytes are handed over in place as segments: each points into a
 * pool buffer (where the driver wrote the frame) and carries its durable
 * name. The application may keep a segment's buffer (it leaves circulation
 * and becomes storage), hold it past the callback while it is not consumed
 * yet (pst_conn_hold()), or let it go when the callback returns. Flushes
 * issued during a poll are drained once at its end, before anything queued
 * in that poll is sent.
 *
 * Flow control comes from the pool: a connection's TCP window reopens only
 * as the application consumes what arrived (lets it go at the end of the
 * callback, keeps it, or unholds it), never on arrival, and the window is
 * bounded by the connection's budget (pst_stack_config.conn_rx_buffers). A
 * peer that sends faster than the application consumes sees a zero window.
 */
#ifndef PASTE_TCP_H
#define PASTE_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "paste_pool.h"
#include "paste_stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pst_conn;
struct pst_listener;

/** In-order received bytes, in place. */
struct pst_segment {
	const void *data;   /**< first byte, inside the pool mapping when named */
	uint32_t len;       /**< bytes */
	/** Durable name of the bytes, or PST_NAME_INVALID when lwIP had to
	 *  copy them out of a pool buffer (then they cannot be kept). */
	pst_name name;
	void *priv;         /**< the stack's; do not touch */
};

/** Received bytes the application holds past its receive callback
 *  (pst_conn_hold()). Segments shorter than half a pool buffer are copied
 *  into a buffer shared with other holds, so a held byte costs about a byte
 *  of the pool whatever the segmentation; longer ones stay in place. */
struct pst_held {
	const void *data;   /**< the bytes, valid until unheld */
	uint32_t len;       /**< bytes (the segment's length) */
	/** Durable name of the bytes (where they are now: the shared buffer
	 *  when copied), or PST_NAME_INVALID for a long segment that lwIP
	 *  had copied out of the pool. */
	pst_name name;
	uint32_t id;        /**< the hold, for pst_conn_unhold() and
	                         pst_conn_keep_held() */
};

/** A connection was accepted; set its callbacks with pst_conn_set_callbacks(). */
typedef void (*pst_accept_fn)(void *arg, struct pst_conn *conn);
/** An outgoing connection is established (err 0) or failed (negative errno). */
typedef void (*pst_connected_fn)(void *arg, struct pst_conn *conn, int err);
/**
 * Bytes arrived: @p n segments in stream order. n == 0 means the peer
 * closed its side (FIN). Segments are valid until the callback returns,
 * unless kept.
 */
typedef void (*pst_recv_fn)(void *arg, struct pst_conn *conn,
			    const struct pst_segment *segs, unsigned int n);
/** The peer acknowledged @p len bytes: send buffer space is free again.
 *  @p len is 0 when a send failed with -EAGAIN for want of the stack's
 *  memory (not of window) and a later poll invites the retry: every
 *  -EAGAIN is followed by a sent callback, even with nothing in flight. */
typedef void (*pst_sent_fn)(void *arg, struct pst_conn *conn, size_t len);
/** The connection is gone (reset, aborted, timed out; err is a negative
 *  errno: -ECONNRESET, -ECONNABORTED, -ETIMEDOUT...). @p conn is invalid
 *  after this callback. */
typedef void (*pst_closed_fn)(void *arg, struct pst_conn *conn, int err);

/** Per-connection callbacks; NULL members are ignored. */
struct pst_conn_callbacks {
	pst_recv_fn recv;
	pst_sent_fn sent;
	pst_closed_fn closed;
};

/**
 * Listen on a TCP port of the stack's address.
 * @return the listener, or NULL with ::pst_errno: EINVAL, EADDRINUSE, ENOMEM.
 */
struct pst_listener *pst_tcp_listen(struct pst_stack *stack, uint16_t port,
				    pst_accept_fn accept, void *arg);

/** Stop listening; established connections are not affected. */
void pst_listener_close(struct pst_listener *listener);

/**
 * Open a connection to @p ipv4 (host order) : @p port.
 * @return the connection (not yet established: wait for @p connected), or
 *   NULL with ::pst_errno: EINVAL, ENOMEM, EHOSTUNREACH.
 */
struct pst_conn *pst_tcp_connect(struct pst_stack *stack, uint32_t ipv4,
				 uint16_t port, pst_connected_fn connected,
				 void *arg);

/** Set callbacks and their argument. @return 0 or -EINVAL. */
int pst_conn_set_callbacks(struct pst_conn *conn,
			   const struct pst_conn_callbacks *cb, void *arg);

/**
 * Keep the buffer holding a received segment: it becomes storage (kept in
 * the pool, flushed by the application as it sees fit) and is not reused
 * when the callback returns.
 * @param[out] name the segment's durable name (same as seg->name).
 * @return 0, -EINVAL (segment without a name, or not from this connection's
 *   current callback), or the pool's error.
 */
int pst_conn_keep(struct pst_conn *conn, const struct pst_segment *seg,
		  pst_name *name);

/**
 * Hold a received segment past the receive callback: the application has
 * not consumed it yet (a request not complete). Its bytes keep the
 * connection's window closed, and count against the connection's budget,
 * until pst_conn_unhold() or pst_conn_keep_held(). Holds end with the
 * connection (close, abort, or the closed callback): their ids are invalid
 * afterwards and their bytes must not be read.
 * @param[out] held where the bytes are now, their name, and the hold's id.
 * @return 0, -EINVAL (not a segment of this connection's current receive
 *   callback), -ENOMEM.
 */
int pst_conn_hold(struct pst_conn *conn, const struct pst_segment *seg,
		  struct pst_held *held);

/**
 * End a hold: the bytes are consumed. The window reopens by their length
 * (unless pst_conn_keep_held() did already); the buffer returns to the pool
 * when nothing else holds it and it was not kept (a kept one stays pinned
 * until its last hold ends).
 * @return 0, or -EINVAL (no such hold on this connection).
 */
int pst_conn_unhold(struct pst_conn *conn, uint32_t id);

/**
 * Keep the buffer under a hold: it becomes storage (as pst_conn_keep()) and
 * leaves the connection's budget, so the window reopens by the hold's
 * length now. The hold itself stays until pst_conn_unhold() (the bytes are
 * still the connection's to parse). A buffer shared by several holds is
 * kept once. While held, a kept buffer is pinned: a pst_pool_release() of
 * it (the value deleted) frees it only after its last hold ended.
 * @return 0, -EINVAL (no such hold, or bytes outside the pool), or the
 *   pool's error.
 */
int pst_conn_keep_held(struct pst_conn *conn, uint32_t id);

/**
 * pst_conn_keep_held() of @p n holds, in order, for the segments of one
 * value: their buffers are kept with pst_pool_keep_many() (state bytes
 * flushed once per cache line, not once per buffer), in batches of 64.
 * @param[out] kept how many of the holds, from the first, are kept when
 *   the call returns (all @p n on success).
 * @return 0, -EINVAL (a NULL argument, no such hold, or bytes outside the
 *   pool: then that hold and those after it are not kept), or the pool's
 *   error.
 */
int pst_conn_keep_held_many(struct pst_conn *conn, const uint32_t *ids, unsigned int n,
			    unsigned int *kept);

/**
 * Queue a copy of @p len bytes for sending. The bytes leave after the drain
 * at the end of the current (or next) poll.
 * @return the number of bytes queued (may be less than len when the send
 *   buffer is nearly full), -EAGAIN when nothing fits (wait for the sent
 *   callback), -ENOTCONN on a closed connection, -EINVAL.
 */
long pst_conn_send(struct pst_conn *conn, const void *data, size_t len);

/** Most pieces one pst_conn_sendv() call takes. */
#define PST_SENDV_MAX 16

/**
 * Queue a copy of the bytes of @p n pieces (at most PST_SENDV_MAX, 65,535
 * bytes in all), in order, as one pst_conn_send() of them written end to
 * end would: a reply gathered from several places (a header, a value's
 * pieces in the pool, a trailer) copied once, into the stack's segments.
 * All or nothing.
 * @return the number of bytes queued (all of them), -EAGAIN when they do
 *   not fit now (wait for the sent callback), -ENOTCONN, -EINVAL (a NULL
 *   argument or piece, too many pieces or bytes), -ENOMEM.
 */
long pst_conn_sendv(struct pst_conn *conn, const struct iovec *iov, unsigned int n);

/**
 * Zero-copy send of bytes already in the pool: the kept buffer range
 * @p name is sent from where it lies, without copying it into the stack or
 * into the NIC's mbufs (where the port takes multi-segment frames). The
 * buffer is held until the peer has acknowledged the bytes and the NIC is
 * done with them; a pst_pool_release() meanwhile takes effect only then.
 * All or nothing.
 * @return the number of bytes queued (the name's length), -EAGAIN when they
 *   do not fit now (wait for the sent callback), -EINVAL (invalid name, or
 *   its buffer is not kept), -ENOTCONN, -ENOMEM.
 */
long pst_conn_send_name(struct pst_conn *conn, pst_name name);

/**
 * pst_conn_send_name() of @p n names in order, in one call: an object's
 * bytes spread over many buffers (one name per received segment) handed
 * to the stack as a run, output once after the last name instead of after
 * each, and the end of the connection's unsent queue found once for the
 * run instead of once per name. Each name is all or nothing, as with pst_conn_send_name(); the run
 * stops at the first name that does not fit or fails.
 * @return how many names, from the first, were queued (n when all were);
 *   or, when not even the first was, that name's error: -EAGAIN (wait for
 *   the sent callback), -EINVAL (a NULL argument, an invalid name, or its
 *   buffer not kept), -ENOTCONN, -ENOMEM. A later name's error is not
 *   returned: the next call, starting at that name, returns it.
 */
long pst_conn_send_names(struct pst_conn *conn, const pst_name *names, unsigned int n);

/** Bytes that pst_conn_send() would accept now. */
size_t pst_conn_sendbuf(const struct pst_conn *conn);

/**
 * Graceful close (FIN after queued data). No callback fires afterwards;
 * @p conn is invalid on return.
 * @return 0 or -EINVAL.
 */
int pst_conn_close(struct pst_conn *conn);

/** Reset the connection (RST); @p conn is invalid on return. */
void pst_conn_abort(struct pst_conn *conn);

/** Counters of one connection. */
struct pst_conn_stats {
	uint64_t bytes_received;   /**< in-order bytes handed to the recv callback */
	uint64_t segments_received;/**< segments handed to the recv callback */
	uint64_t segments_kept;    /**< segments kept with pst_conn_keep() or
	                                pst_conn_keep_held() */
	uint64_t segments_held;    /**< segments held with pst_conn_hold() */
	uint64_t segments_gathered;/**< ... of which copied into shared buffers */
	uint64_t bytes_held;       /**< bytes held now that close the window */
	uint64_t bytes_sent;       /**< bytes queued with send and send_name */
	uint64_t bytes_sent_zc;    /**< ... of which by name, without a copy */
	uint64_t bytes_acked;      /**< bytes the peer acknowledged */
	uint64_t send_eagain;      /**< sends refused with -EAGAIN */
	uint64_t send_blocked;     /**< ... of which for want of stack memory (the
	                                sent callback then comes with len 0 from a
	                                later poll, not from an acknowledgement) */
	uint64_t window_granted;   /**< receive window bytes granted from the
	                                stack's budget now (doc/stack.md) */
};

/** Fill @p stats. @return 0 or -EINVAL. */
int pst_conn_stats(const struct pst_conn *conn, struct pst_conn_stats *stats);

/**
 * Copy @p len bytes starting @p offset bytes into a run of segments (a
 * message spanning several segments and buffers) to @p dst.
 * @return bytes copied (less than len when the segments end first).
 */
size_t pst_segments_copy(const struct pst_segment *segs, unsigned int n,
			 size_t offset, void *dst, size_t len);

/**
 * Find the first byte @p c at or after @p offset in a run of segments.
 * @return its offset from the start of the first segment, or -1.
 */
long pst_segments_find(const struct pst_segment *segs, unsigned int n,
		       size_t offset, int c);

/**
 * Locate @p offset in a run of segments: the segment holding it and the
 * position inside that segment, for walking a byte range in place.
 * @return 0, or -ERANGE when the segments are shorter.
 */
int pst_segments_locate(const struct pst_segment *segs, unsigned int n,
			size_t offset, unsigned int *seg, size_t *seg_offset);

/** Remote address (host order) and port of a connection. */
int pst_conn_peer(const struct pst_conn *conn, uint32_t *ipv4, uint16_t *port);

/** Flush [addr, addr+len) of the stack's pool; drained at the end of the
 *  poll. Same as pst_pool_flush() on pst_stack_pool(). */
int pst_flush(struct pst_stack *stack, const void *addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_TCP_H */
