/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool as the stack (src/stack/) uses it, beyond the public API: how a
 * driver lends received buffers to lwIP and gets them back, how zero-copy
 * sends hold kept buffers, and whether the poll's drain has work.
 *
 * struct pst_pool stays opaque here: the stack asks the pool, it never
 * reads the pool's state. What the stack will need to bound what a
 * connection holds (lending against a budget, taking buffers back) belongs
 * here too, as calls of the same kind.
 *
 * Not installed. The build gives src/stack/ this directory, not
 * src/pmempool/, so the pool's other headers stay its own.
 */
#ifndef PST_POOL_STACK_H
#define PST_POOL_STACK_H

#include <stdint.h>

#include "paste_pool.h"

struct rte_mbuf;

/* ---- receive ---------------------------------------------------------- */

/* Give mbuf @m (from the pool's mempool) a fresh buffer and hand its
 * current one, still lent, to the caller in *old_index. The mbuf can then
 * go back to the mempool while its old buffer lives on (in a pbuf, or kept).
 * Returns 0, -EINVAL (foreign mbuf), -EBUSY (shared mbuf) or -ENOBUFS. */
int pst_pool_mbuf_swap(struct pst_pool *pool, struct rte_mbuf *m,
		       uint32_t *old_index);

/* Return a lent buffer to the free list, or leave it alone if the
 * application kept it meanwhile: how the stack drops its reference to a
 * received buffer. Returns 0, or -EINVAL for a free or bad index. */
int pst_pool_release_if_lent(struct pst_pool *pool, uint32_t index);

/* Whether buffer @index is kept (storage), so that keeping it again is
 * not needed: 1 or 0. */
int pst_pool_buf_kept(const struct pst_pool *pool, uint32_t index);

/* ---- transmit --------------------------------------------------------- */

/* Zero-copy sends pin a kept buffer until the peer acknowledged it and the
 * NIC let go of it: a release meanwhile is deferred until the last unpin.
 * pin: 0, -EINVAL (not kept), -EBUSY (2^32 - 1 pins). */
int pst_pool_pin(struct pst_pool *pool, uint32_t index);
void pst_pool_unpin(struct pst_pool *pool, uint32_t index);

/* Index of the buffer holding @addr, or UINT32_MAX when @addr is not in
 * the buffer array. The inverse of pst_pool_buf_addr(). */
uint32_t pst_pool_buf_index(const struct pst_pool *pool, const void *addr);

/* ---- the poll --------------------------------------------------------- */

/* Whether a drain has work: flushes not yet drained, or releases waiting
 * for one. A poll with nothing to send drains only then. */
int pst_pool_drain_pending(const struct pst_pool *pool);

#endif /* PST_POOL_STACK_H */
