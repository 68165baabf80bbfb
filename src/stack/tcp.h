/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP layer (tcp.c) as the poll loop (stack.c) drives it. tcp.c
 * implements paste_tcp.h over lwIP's raw API and owns struct pst_tcp, the
 * state a stack's connections share; the poll loop opens it, calls into
 * it and closes it, and tcp.c never calls the poll loop.
 */
#ifndef PST_TCP_H
#define PST_TCP_H

#include "paste_tcp.h"

struct pst_tcp;

/* TCP state over @pool's buffers, with the receive budgets of @cfg
 * (computed from the pool's free buffers now: open it after the mempool).
 * Returns NULL with pst_errno set. */
struct pst_tcp *pst_tcp_open(struct pst_pool *pool, const struct pst_stack_config *cfg);

/* Start the TCP layer's lwIP timer (the zero-window check); lwIP must be
 * initialised. */
void pst_tcp_start(struct pst_tcp *tcp);

/* The receive budget's counters (rx_held_bytes, rx_gathered,
 * rx_window_credit). */
void pst_tcp_stats(const struct pst_tcp *tcp, struct pst_stack_stats *st);

/* Abort every connection and close every listener (freeing their
 * objects), so that no received pbuf outlives the stack, then free @tcp.
 * NULL is ignored. */
void pst_tcp_close(struct pst_tcp *tcp);

/* Abort every connection (a reset to each peer, then its error callback
 * with -ECONNABORTED) and close and free every listener: what
 * pst_tcp_close() does before it frees @tcp. */
void pst_tcp_abort_all(struct pst_tcp *tcp);

/* A drain failed (stack.c): abort every connection as pst_tcp_abort_all()
 * does and close every listener's PCB, so that lwIP resets new SYNs, but
 * leave the pst_listener objects to the application's
 * pst_listener_close() (or to pst_tcp_close()). */
void pst_tcp_fail_stop(struct pst_tcp *tcp);

/* Close the connections the application closed from inside their
 * callbacks, now that lwIP is done with their segments. */
void pst_tcp_close_deferred(struct pst_tcp *tcp);

/* Call the sent callback of every connection blocked on lwIP memory and
 * send what it queued. */
void pst_tcp_resume_blocked(struct pst_tcp *tcp);

#endif /* PST_TCP_H */
