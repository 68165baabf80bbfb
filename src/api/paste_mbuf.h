/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * DPDK mbufs whose data buffers are the pool's buffers.
 *
 * mbuf headers live in DRAM (EAL memory: hugepages, or anonymous memory with
 * --no-huge); their data buffers are buffers of the pool file, so a poll-mode
 * driver writes received frames straight into the file. When the application
 * keeps a received buffer, the mbuf is given a fresh free buffer and goes
 * back to the mempool as usual: RX capacity never shrinks (PASTE's buffer
 * swap), and a pool can hold many more kept buffers than there are mbufs.
 *
 * Requires rte_eal_init() first. IOVA addresses are set in IOVA-as-VA mode;
 * in IOVA-as-PA mode buffers get RTE_BAD_IOVA, which virtual devices accept
 * and real NICs do not.
 */
#ifndef PASTE_MBUF_H
#define PASTE_MBUF_H

#include <rte_mbuf.h>

#include "paste_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create the pktmbuf mempool of a pool: @p n_mbufs mbufs whose data buffers
 * are free buffers of @p pool (each becomes lent). The file mapping is
 * registered with rte_extmem_register() so DPDK can translate its addresses.
 * A pool has at most one mempool at a time.
 *
 * @param name
 *   Mempool name (unique in the process).
 * @param n_mbufs
 *   Number of mbufs; at most the pool's free buffer count.
 * @param cache_size
 *   Per-lcore cache, as for rte_pktmbuf_pool_create().
 * @param priv_size
 *   Application private area after each mbuf header (in DRAM), a multiple
 *   of RTE_MBUF_PRIV_ALIGN; the stack keeps its per-packet state there.
 * @param socket_id
 *   NUMA socket of the mbuf headers, or SOCKET_ID_ANY.
 * @return
 *   The mempool, or NULL with ::pst_errno set:
 *    - EINVAL: NULL argument, n_mbufs 0, priv_size misaligned;
 *    - EBUSY: the pool already has a mempool;
 *    - ENOBUFS: fewer free buffers than n_mbufs;
 *    - ENOMEM, EEXIST, ...: as rte_pktmbuf_pool_create_extbuf() or
 *      rte_extmem_register().
 */
struct rte_mempool *pst_pool_mempool_create(struct pst_pool *pool,
					    const char *name,
					    unsigned int n_mbufs,
					    unsigned int cache_size,
					    uint16_t priv_size,
					    int socket_id);

/**
 * Free the pool's mempool: every mbuf must be back in it (stop and close
 * the ports using it first). Their buffers return to the free list and the
 * file mapping is unregistered from DPDK.
 *
 * @return 0, -EINVAL if the pool has no mempool, -EBUSY if mbufs are still
 *   out of the mempool (nothing is freed then).
 */
int pst_pool_mempool_close(struct pst_pool *pool);

/**
 * Name the data of one mbuf segment: (its buffer, data_off, data_len).
 * @return the name, or ::PST_NAME_INVALID with ::pst_errno = EINVAL if the
 *   mbuf does not belong to the pool's mempool.
 */
pst_name pst_mbuf_name(const struct pst_pool *pool, const struct rte_mbuf *m);

/**
 * Keep the data buffer of one mbuf segment: the buffer becomes kept
 * (flushed, durable after the next drain) and the mbuf is re-pointed at a
 * free buffer, so freeing the mbuf returns RX capacity intact. The segment's
 * data itself is not flushed: flush the bytes you store with
 * pst_pool_flush().
 *
 * After this call the mbuf's data is gone (its buffer is a fresh one); use
 * the returned name to reach the kept bytes.
 *
 * @param m
 *   One segment (m->next is ignored), allocated from the pool's mempool.
 * @param[out] name
 *   Name of the segment's data (data_off, data_len) in the kept buffer.
 * @return 0, or:
 *    - -EINVAL: NULL argument, or the mbuf is not from the pool's mempool;
 *    - -EBUSY: the mbuf or its buffer is shared (refcnt > 1, clones);
 *    - -ENOBUFS: no free buffer to swap in (counted); nothing changed.
 */
int pst_mbuf_keep(struct pst_pool *pool, struct rte_mbuf *m, pst_name *name);

/**
 * DMA-map the pool's buffers for the device behind @p port_id, for real
 * NICs that translate through an IOMMU. Virtual devices need no mapping:
 * for them this returns 0 and does nothing, in either IOVA mode.
 *
 * @return 0, -EINVAL (bad port, no mempool yet), -ENOTSUP (a physical
 *   device in IOVA-as-PA mode), or the error of rte_dev_dma_map().
 */
int pst_pool_dma_map(struct pst_pool *pool, uint16_t port_id);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_MBUF_H */
