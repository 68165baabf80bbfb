/* SPDX-License-Identifier: BSD-3-Clause */
/* The pool object, shared by the file, state and mbuf modules; the rest
 * of the library sees it through pool_stack.h only. */
#ifndef PST_POOL_INTERNAL_H
#define PST_POOL_INTERNAL_H

#include <stdint.h>

#include "devdax.h"
#include "paste_pool.h"
#include "persist.h"
#include "pool_layout.h"
#include "pool_stack.h"

/* In-DRAM state of a buffer; only KEPT has a persistent counterpart. */
enum pst_buf_dstate {
	PST_D_FREE = 0,
	PST_D_LENT,
	PST_D_KEPT,
	PST_D_RELEASING, /* released, reusable after the next drain */
	PST_D_BAD,       /* free, but on a bad block: never lent */
};

struct rte_mempool;

struct pst_pool {
	char *path;
	int fd;                 /* held open for the exclusive flock */
	char *base;             /* the whole file, mapped by libpmem */
	size_t map_len;
	int is_pmem;
	int fs_volatile;           /* the file is in RAM (tmpfs, ramfs) */
	int no_prefault;           /* pst_pool_config.no_prefault */
	int prefaulted;            /* the mapping was populated */
	double prefault_seconds;   /* ... which took this long */
	struct pst_pool_header *hdr;
	uint8_t *state;         /* persistent state bytes, in the file */
	char *bufs;             /* buffer 0, in the file */
	uint32_t buf_size;
	uint32_t buf_count;
	struct pst_persist persist;
	uint32_t claimed;       /* root slots claimed through this object */
	struct pst_media media;    /* Device DAX facts, bad blocks; devdax.h */

	uint8_t *dstate;        /* enum pst_buf_dstate per buffer */
	/* Free buffers, in two sets, taken from the first while it has any.
	 * Buffers freed while lent (a frame nobody kept) go on a LIFO: the
	 * most recently freed are cache-warm. Released buffers (stored
	 * values, free after a drain) are cold whatever their order, so they
	 * are taken in address order instead: a bit each, and a cursor that
	 * sweeps the bitmap. A value received into buffers taken one after
	 * another then has its per-buffer records (state bytes, pins, the
	 * application's references, the driver's per-buffer pbufs) in a few
	 * adjacent lines, not one line per buffer anywhere in the pool. */
	uint32_t *free_stack;   /* the LIFO: n_hot entries */
	uint32_t n_hot;
	uint64_t *free_bits;    /* the rest: bit i set when buffer i is free */
	uint32_t cursor;        /* the word of free_bits the next take starts at */
	uint32_t n_free;        /* n_hot + the bits set */
	uint32_t *releasing;    /* released, reusable once drained and unheld */
	uint32_t n_releasing;
	/* Zero-copy sends in flight per buffer: 32 bits, because every
	 * pipelined GET of one hot value pins its buffers again, and a 16-bit
	 * count ran out under 65,536 queued replies. */
	uint32_t *pins;
	uint64_t n_lent;
	uint64_t n_kept;
	uint64_t takes, keeps, releases, nobufs;

	/* DPDK side, owned by mbuf_pool.c. */
	struct rte_mempool *mp;
	int extmem_registered;
	void *dma_dev;          /* struct rte_device * mapped by dma_map */
	/* Set while a mempool exists, so closing the pool (which must not
	 * depend on DPDK) can tear it down first. */
	void (*mempool_fini)(struct pst_pool *pool);
};

/* Validate and map a pool file; pool_file.c. @locked_fd: an fd of the file
 * already locked by the caller (consumed, even on failure), or -1. */
struct pst_pool *pst_pool_map(const struct pst_pool_config *cfg, int locked_fd);

/* pst_pool_map(), then the pool's DRAM state built: an open pool, or NULL
 * with pst_errno set; pool_file.c, for pst_pool_open() and a device
 * formatted in place (pool_format.c). @locked_fd as above. */
struct pst_pool *pst_pool_open_locked(const struct pst_pool_config *cfg, int locked_fd);

/* 0 when every owned root slot was claimed through @pool, else the
 * negative error (pst_fail'ed); pool_owner.c. */
int pst_pool_owner_check_reconcile(const struct pst_pool *pool);

/* Build the in-DRAM state from the persistent one; pool.c. */
int pst_pool_state_init(struct pst_pool *pool);
void pst_pool_state_fini(struct pst_pool *pool);

/* pst_pool_buf_index() and (without its range check) pst_pool_buf_addr(),
 * inline for the pool's own per-packet paths. */
static inline uint32_t
pool_buf_index(const struct pst_pool *pool, const void *addr)
{
	const char *p = addr;

	if (p < pool->bufs ||
	    (uint64_t)(p - pool->bufs) >= (uint64_t)pool->buf_count * pool->buf_size)
		return UINT32_MAX;
	return (uint32_t)((uint64_t)(p - pool->bufs) / pool->buf_size);
}

/* The buffer lies on a known bad block of its Device DAX. */
static inline int
pool_buf_bad(const struct pst_pool *pool, uint32_t index)
{
	return pool->media.bad_buf != NULL && pool->media.bad_buf[index];
}

static inline char *
pool_buf_addr(const struct pst_pool *pool, uint32_t index)
{
	return pool->bufs + (uint64_t)index * pool->buf_size;
}

/* Populate the mapping (pool_prefault.c), once, before it receives: 0,
 * or -errno when the kernel refused for want of memory or an I/O error. */
int pst_pool_prefault(struct pst_pool *pool);

/* The file layout (pool_file.c), for creation and for formatting a device
 * in place (pool_format.c): where the buffers start, the file's size, and
 * the header's checksum. */
uint64_t pst_pool_layout_bufs_offset(uint64_t buf_count);
uint64_t pst_pool_layout_file_size(uint32_t buf_size, uint64_t buf_count);
uint32_t pst_pool_header_crc(const struct pst_pool_header *h);

#endif /* PST_POOL_INTERNAL_H */
