/* SPDX-License-Identifier: BSD-3-Clause */
/* The Device DAX steps of opening a pool (pool_media.c), for pool_file.c
 * and pool_format.c. */
#ifndef PST_POOL_MEDIA_H
#define PST_POOL_MEDIA_H

#include "paste_pool.h"
#include "pool_layout.h"

struct pst_pool;

#define PST_FORMAT_CRASH_ENV "PST_TEST_FORMAT_CRASH"

/* Refuse what makes nothing durable on a Device DAX (msync). */
int pst_devdax_check_mode(const char *path, enum pst_persist_mode mode);

/* A Device DAX just mapped: its size, bad blocks, and a guarded copy of
 * its header into @h (not validated). */
int pst_devdax_mapped(struct pst_pool *pool, const struct pst_pool_config *cfg,
		      struct pst_pool_header *h);

/* After validation: refuse a state area on a bad block, mark the buffers
 * that lie on one. */
int pst_devdax_mark_bad(struct pst_pool *pool, const struct pst_pool_header *h);

#endif /* PST_POOL_MEDIA_H */
