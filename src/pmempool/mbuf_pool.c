/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK side of the pool: a pktmbuf mempool whose data buffers are pool
 * buffers, and the buffer swap that lets the application keep what a driver
 * received without shrinking RX capacity.
 *
 * Uses two experimental DPDK 22.11 calls (built with ALLOW_EXPERIMENTAL_API):
 * rte_pktmbuf_pool_create_extbuf() and rte_dev_dma_map()/unmap().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memory.h>

#include "error.h"
#include "paste_mbuf.h"
#include "pool_internal.h"

static rte_iova_t
buf_iova(const struct pst_pool *pool, const void *addr)
{
	/* In IOVA-as-PA mode a page-cache file has no contiguous physical
	 * address per buffer: only virtual devices can use it. */
	if (rte_eal_iova_mode() != RTE_IOVA_VA)
		return RTE_BAD_IOVA;
	(void)pool;
	return (rte_iova_t)(uintptr_t)addr;
}

static void
point_mbuf_at(const struct pst_pool *pool, struct rte_mbuf *m, uint32_t index)
{
	char *addr = pool_buf_addr(pool, index);

	m->buf_addr = addr;
	rte_mbuf_iova_set(m, buf_iova(pool, addr));
}

struct attach_ctx {
	struct pst_pool *pool;
	int err;
};

/* rte_pktmbuf_pool_create_extbuf() hands out the first n buffers; after a
 * restart some of those may be kept, so every mbuf is re-pointed at a buffer
 * the free list chooses. */
static void
attach_free_buffer(struct rte_mempool *mp, void *opaque, void *obj,
		   unsigned int obj_idx)
{
	struct attach_ctx *ctx = opaque;
	uint32_t index;

	(void)mp;
	(void)obj_idx;
	if (ctx->err != 0)
		return;
	ctx->err = pst_pool_take(ctx->pool, &index);
	if (ctx->err == 0)
		point_mbuf_at(ctx->pool, obj, index);
}

static void
detach_buffer(struct rte_mempool *mp, void *opaque, void *obj,
	      unsigned int obj_idx)
{
	struct pst_pool *pool = opaque;
	struct rte_mbuf *m = obj;
	uint32_t index = pool_buf_index(pool, m->buf_addr);

	(void)mp;
	(void)obj_idx;
	if (index != UINT32_MAX)
		pst_pool_release(pool, index);
}

static void
mempool_teardown(struct pst_pool *pool)
{
	if (pool->dma_dev != NULL) {
		rte_dev_dma_unmap(pool->dma_dev, pool->bufs,
				  buf_iova(pool, pool->bufs),
				  (size_t)pool->buf_count * pool->buf_size);
		pool->dma_dev = NULL;
	}
	if (pool->mp != NULL) {
		rte_mempool_obj_iter(pool->mp, detach_buffer, pool);
		rte_mempool_free(pool->mp);
		pool->mp = NULL;
	}
	if (pool->extmem_registered) {
		rte_extmem_unregister(pool->base, pool->map_len);
		pool->extmem_registered = 0;
	}
	pool->mempool_fini = NULL;
}

struct rte_mempool *
pst_pool_mempool_create(struct pst_pool *pool, const char *name,
			unsigned int n_mbufs, unsigned int cache_size,
			uint16_t priv_size, int socket_id)
{
	struct rte_pktmbuf_extmem ext;
	struct attach_ctx ctx;
	long page_size;

	if (pool == NULL || name == NULL || n_mbufs == 0 ||
	    priv_size % RTE_MBUF_PRIV_ALIGN != 0) {
		pst_fail(EINVAL, "mempool create: NULL argument, no mbufs or misaligned priv_size");
		return NULL;
	}
	if (pool->mp != NULL) {
		pst_fail(EBUSY, "pool %s already has mempool %s", pool->path,
			 pool->mp->name);
		return NULL;
	}
	if (pool->n_free < n_mbufs) {
		pool->nobufs++;
		pst_fail(ENOBUFS, "pool %s: %u free buffers, %u mbufs asked for",
			 pool->path, pool->n_free, n_mbufs);
		return NULL;
	}

	if (!pool->no_prefault && !pool->prefaulted && pst_pool_prefault(pool) != 0)
		return NULL;
	/* Registration lets rte_mem_virt2memseg() and drivers recognise the
	 * file mapping as DPDK-usable external memory. */
	page_size = sysconf(_SC_PAGESIZE);
	if (rte_extmem_register(pool->base, pool->map_len, NULL, 0,
				(size_t)page_size) != 0) {
		pst_fail(rte_errno, "pool %s: rte_extmem_register: %s", pool->path,
			 rte_strerror(rte_errno));
		return NULL;
	}
	pool->extmem_registered = 1;
	pool->mempool_fini = mempool_teardown;

	ext.buf_ptr = pool->bufs;
	ext.buf_iova = buf_iova(pool, pool->bufs);
	ext.buf_len = (size_t)pool->buf_count * pool->buf_size;
	ext.elt_size = (uint16_t)pool->buf_size;
	pool->mp = rte_pktmbuf_pool_create_extbuf(name, n_mbufs, cache_size, priv_size,
						  (uint16_t)pool->buf_size,
						  socket_id, &ext, 1);
	if (pool->mp == NULL) {
		pst_fail(rte_errno, "pool %s: rte_pktmbuf_pool_create_extbuf(%s, %u): %s",
			 pool->path, name, n_mbufs, rte_strerror(rte_errno));
		goto fail;
	}
	ctx.pool = pool;
	ctx.err = 0;
	rte_mempool_obj_iter(pool->mp, attach_free_buffer, &ctx);
	if (ctx.err != 0) {
		pst_fail(ctx.err, "pool %s: cannot give every mbuf a buffer", pool->path);
		goto fail;
	}
	return pool->mp;
fail:
	{
		int err = pst_errno;

		mempool_teardown(pool);
		pst_errno = err;
	}
	return NULL;
}

int
pst_pool_mempool_close(struct pst_pool *pool)
{
	unsigned int out;

	if (pool == NULL || pool->mp == NULL)
		return pst_fail(EINVAL, "mempool free: pool has no mempool");
	out = rte_mempool_in_use_count(pool->mp);
	if (out != 0)
		return pst_fail(EBUSY, "mempool %s: %u mbufs are still in use",
				pool->mp->name, out);
	mempool_teardown(pool);
	return 0;
}

static int
mbuf_index(const struct pst_pool *pool, const struct rte_mbuf *m, uint32_t *index)
{
	if (pool == NULL || m == NULL || pool->mp == NULL || m->pool != pool->mp)
		return pst_fail(EINVAL, "mbuf %p is not from the pool's mempool", (void *)m);
	*index = pool_buf_index(pool, m->buf_addr);
	if (*index == UINT32_MAX || m->buf_addr != pool_buf_addr(pool, *index))
		return pst_fail(EINVAL, "mbuf %p does not point at a pool buffer", (void *)m);
	return 0;
}

pst_name
pst_mbuf_name(const struct pst_pool *pool, const struct rte_mbuf *m)
{
	uint32_t index;

	if (mbuf_index(pool, m, &index) != 0)
		return PST_NAME_INVALID;
	return pst_name_make(index, m->data_off, m->data_len);
}

int
pst_pool_mbuf_swap(struct pst_pool *pool, struct rte_mbuf *m, uint32_t *old_index)
{
	uint32_t new_index;
	int ret;

	ret = mbuf_index(pool, m, old_index);
	if (ret != 0)
		return ret;
	/* Swapping the buffer of a shared mbuf would pull the data from under
	 * the other holders. */
	if (rte_mbuf_refcnt_read(m) > 1 ||
	    (RTE_MBUF_HAS_EXTBUF(m) && m->shinfo != NULL &&
	     rte_mbuf_ext_refcnt_read(m->shinfo) > 1))
		return pst_fail(EBUSY, "mbuf %p is shared; cannot take its buffer",
				(void *)m);
	ret = pst_pool_take(pool, &new_index);
	if (ret != 0)
		return ret;
	point_mbuf_at(pool, m, new_index);
	return 0;
}

int
pst_mbuf_keep(struct pst_pool *pool, struct rte_mbuf *m, pst_name *name)
{
	uint16_t off, len;
	uint32_t index;
	int ret;

	if (name == NULL || m == NULL)
		return pst_fail(EINVAL, "mbuf keep: NULL argument");
	off = m->data_off;
	len = m->data_len;
	ret = pst_pool_mbuf_swap(pool, m, &index);
	if (ret != 0)
		return ret;
	ret = pst_pool_keep(pool, index);
	if (ret != 0) {
		/* Undo: the mbuf gets its own buffer back. */
		pst_pool_release(pool, pool_buf_index(pool, m->buf_addr));
		point_mbuf_at(pool, m, index);
		return ret;
	}
	*name = pst_name_make(index, off, len);
	return 0;
}

/* A device on the virtual bus (af_packet, tap, memif, ring, null, ...):
 * its driver reaches the buffers through their virtual addresses, never by
 * DMA, so it needs no mapping and no IOVA, in either IOVA mode. */
static int
is_virtual(const struct rte_device *dev)
{
	const struct rte_bus *bus = dev != NULL ? rte_dev_bus(dev) : NULL;

	return bus != NULL && strcmp(rte_bus_name(bus), "vdev") == 0;
}

static int
is_pci(const struct rte_device *dev)
{
	const struct rte_bus *bus = dev != NULL ? rte_dev_bus(dev) : NULL;

	return bus != NULL && strcmp(rte_bus_name(bus), "pci") == 0;
}

/* Why a DMA mapping fails in practice, and the way out. */
static int
dma_map_failed(const struct pst_pool *pool, uint16_t port_id, size_t len, int err)
{
	if (pool->media.devdax)
		return pst_fail(err, "dma map: port %u: mapping the pool's %zu bytes of "
				"buffers for DMA failed: %s. The pool is on a Device DAX "
				"(/dev/daxX.Y), which can be pinned: check the IOMMU (its "
				"group, vfio-pci, --iova-mode=va) and the driver's own "
				"limits; an fsdax file would be refused here", port_id, len,
				strerror(err));
	return pst_fail(err, "dma map: port %u: mapping the pool's %zu bytes of buffers "
			"for DMA failed: %s. The pool is a file: Linux refuses to pin a "
			"file of a DAX file system (fsdax) for DMA (a long-term pin, as "
			"VFIO's mapping and ibv_reg_mr take, fails with EOPNOTSUPP), and a "
			"page-cache file is no persistent memory. Put the pool on a Device "
			"DAX (/dev/daxX.Y, formatted once with pst_pool_format(), paste-kvs "
			"--pool-format)", port_id, len, strerror(err));
}

int
pst_pool_dma_map(struct pst_pool *pool, uint16_t port_id)
{
	struct rte_eth_dev_info dev_info;
	const char *inject;
	size_t len;
	int ret;

	if (pool == NULL || pool->mp == NULL)
		return pst_fail(EINVAL, "dma map: pool has no mempool yet");
	ret = rte_eth_dev_info_get(port_id, &dev_info);
	if (ret != 0)
		return pst_fail(ret, "dma map: port %u: %s", port_id, rte_strerror(-ret));
	/* Tests: the port is a physical one whose mapping fails with this
	 * errno (no machine here has an IOMMU or an fsdax file). */
	inject = getenv("PST_TEST_DMA_FAIL");
	if (inject == NULL && is_virtual(dev_info.device))
		return 0;
	if (rte_eal_iova_mode() != RTE_IOVA_VA)
		return pst_fail(ENOTSUP, "dma map: port %u: a physical device needs IOVA-as-VA mode (--iova-mode=va)",
				port_id);
	if (pool->dma_dev == dev_info.device)
		return 0;
	len = (size_t)pool->buf_count * pool->buf_size;
	/* VFIO's failure leaves rte_errno as it was. */
	rte_errno = 0;
	if (inject != NULL) {
		rte_errno = atoi(inject);
		ret = -1;
	} else {
		ret = rte_dev_dma_map(dev_info.device, pool->bufs,
				      buf_iova(pool, pool->bufs), len);
	}
	if (ret != 0) {
		int err = rte_errno != 0 ? rte_errno : EIO;

		/* ENOTSUP from a bus that has no DMA mapping at all means
		 * there is nothing to map. Not on PCI: there VFIO refusing to
		 * pin fsdax pages answers EOPNOTSUPP, the same number. */
		if (inject == NULL && err == ENOTSUP && !is_pci(dev_info.device))
			return 0;
		return dma_map_failed(pool, port_id, len, err);
	}
	pool->dma_dev = dev_info.device;
	return 0;
}
