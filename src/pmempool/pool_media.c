/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A pool on Device DAX once mapped: what its medium says (size, bad
 * blocks), and which names and buffers lie on bad blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "paste_media.h"
#include "pool_internal.h"
#include "pool_media.h"

int
pst_devdax_check_mode(const char *path, enum pst_persist_mode mode)
{
	if (mode != PST_PERSIST_MSYNC)
		return 0;
	return pst_fail(EINVAL,
			"pool %s: persist mode msync on a Device DAX: there is no page "
			"cache behind it, so msync writes nothing back and makes nothing "
			"durable; use auto, flush (or fence on eADR)", path);
}

int
pst_devdax_mapped(struct pst_pool *pool, const struct pst_pool_config *cfg,
		  struct pst_pool_header *h)
{
	struct pst_media *m = &pool->media;
	int ret;

	ret = pst_devdax_check_mode(cfg->path, cfg->persist_mode);
	if (ret != 0)
		return ret;
	if (pool->map_len < m->dev_size)
		return pst_fail(PST_ETRUNC, "pool %s: Device DAX of %llu bytes mapped as %zu",
				cfg->path, (unsigned long long)m->dev_size, pool->map_len);
	ret = pst_devdax_badblocks(cfg->path, m);
	if (ret != 0)
		return ret;
	if (pst_media_overlaps_bad(m, 0, PST_POOL_HEADER_AREA))
		return pst_fail(EIO, "pool %s: the header page lies on a bad block of the "
				"Device DAX: nothing can be recovered from it; clear the "
				"error (ndctl clear-errors) or format the device anew",
				cfg->path);
	/* A Device DAX has no read(): the header comes from the mapping. */
	ret = pst_media_read(h, pool->base, sizeof(*h));
	if (ret != 0)
		return ret;
	/* Linux keeps no page cache for it; libpmem maps it synchronously. */
	pool->is_pmem = 1;
	return 0;
}

int
pst_devdax_mark_bad(struct pst_pool *pool, const struct pst_pool_header *h)
{
	struct pst_media *m = &pool->media;
	uint64_t i;

	if (pst_media_overlaps_bad(m, h->state_offset, h->buf_count))
		return pst_fail(EIO, "pool %s: the buffer states lie on a bad block of the "
				"Device DAX: which buffers hold data is lost; clear the error "
				"(ndctl clear-errors) or format the device anew", pool->path);
	if (m->n_bad == 0)
		return 0;
	m->bad_buf = calloc(h->buf_count, 1);
	if (m->bad_buf == NULL)
		return pst_fail(ENOMEM, "pool %s: out of memory", pool->path);
	for (i = 0; i < h->buf_count; i++) {
		m->bad_buf[i] = (uint8_t)pst_media_overlaps_bad(m, h->bufs_offset + i * h->buf_size,
							       h->buf_size);
		m->n_bad_bufs += m->bad_buf[i];
	}
	return 0;
}

int
pst_pool_media_info(const struct pst_pool *pool, struct pst_pool_media *mi)
{
	if (pool == NULL || mi == NULL)
		return pst_fail(EINVAL, "media info: NULL argument");
	memset(mi, 0, sizeof(*mi));
	mi->devdax = pool->media.devdax;
	mi->device_size = pool->media.dev_size;
	mi->device_align = pool->media.dev_align;
	mi->bad_ranges = pool->media.n_bad;
	mi->bad_bufs = pool->media.n_bad_bufs;
	return 0;
}

int
pst_pool_name_bad(const struct pst_pool *pool, pst_name name)
{
	return pst_pool_name_valid(pool, name) && pool_buf_bad(pool, pst_name_index(name));
}
