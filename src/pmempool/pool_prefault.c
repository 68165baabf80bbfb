/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Populating a pool's mapping before it receives (pst_pool_mempool_create).
 *
 * Zero copy writes every received frame into a buffer the free list chose,
 * anywhere in the file, where a copy reuses a few hot receive buffers. On
 * a mapping that is not populated, the first frame into each page takes a
 * page fault (on tmpfs, the page is allocated and zeroed then), on the
 * receiving core, in the middle of a burst: measured with paste-kvs on a
 * memif, 60 KiB SETs, that alone cost zero copy about 50,000 cycles per
 * SET (bench/notes.md, "What zero copy paid for"). Faulting the whole
 * mapping in once, before the first frame, moves that cost to start-up.
 *
 * Huge pages are asked for first (MADV_HUGEPAGE: on a tmpfs that allows
 * them, and for DAX, whose faults map 2 MiB where the file is aligned),
 * since zero copy also spreads its frames over far more pages than the TLB
 * covers.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "error.h"
#include "pool_internal.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int
pst_pool_prefault(struct pst_pool *pool)
{
	/* A page-cache file is populated for reading: a write fault would
	 * mark every page dirty, and the kernel would write the whole file
	 * back. Its first write to a page then costs a minor fault only. */
	int advice = pool->is_pmem || pool->fs_volatile || pool->media.devdax ?
			     MADV_POPULATE_WRITE : MADV_POPULATE_READ;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	(void)madvise(pool->base, pool->map_len, MADV_HUGEPAGE);
	if (madvise(pool->base, pool->map_len, advice) != 0) {
		/* Before Linux 5.14 there is no populating advice: the pages
		 * fault in as frames arrive, as they always did. */
		if (errno == EINVAL)
			return 0;
		return pst_fail(errno, "pool %s: populating its %zu-byte mapping: %s",
				pool->path, pool->map_len, strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pool->prefault_seconds = (double)(t1.tv_sec - t0.tv_sec) +
				 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	pool->prefaulted = 1;
	return 0;
}
