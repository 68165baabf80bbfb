/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Pools on Device DAX, and media errors.
 *
 * A NIC can DMA only into memory the kernel lets a driver pin for the long
 * term (VFIO's DMA mapping, ibv_reg_mr on mlx5): Linux refuses that on a
 * file of a DAX file system (fsdax), so a pool that a real NIC fills lives
 * on a Device DAX character device (/dev/daxX.Y). A device is never
 * created like a file: it is formatted in place, and only when asked
 * (pst_pool_format()); pst_pool_open() then opens it like a pool file.
 *
 * Persistent memory can lose lines (poison). The kernel lists the known
 * ones as bad blocks; reading a poisoned line raises SIGBUS. A pool on
 * Device DAX reads its device's bad-block list when it is opened and
 * reports which names lie on it (pst_pool_name_bad()), and recovery reads
 * the bytes it must check through guarded reads (pst_media_read(),
 * pst_media_crc32c()), which turn a SIGBUS into an error instead of a crash.
 */
#ifndef PASTE_MEDIA_H
#define PASTE_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "paste_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Format a Device DAX as an empty pool, then open it.
 *
 * Refused unless @p cfg->path is a Device DAX (/dev/daxX.Y) and the device
 * does not start with a paste pool's magic: a device that holds a pool, even
 * a damaged one, is never formatted over (erase its first 4 KiB first, e.g.
 * with daxio, to start again). The format is crash-safe: the old header is
 * erased and made durable first, then the rest of the layout, and the magic
 * last, so a format cut short leaves a device that opens as "no pool"
 * (PST_EFOREIGN) and can be formatted again, never a pool with garbage.
 *
 * @param cfg
 *   Path of the device; buf_count 0 fills the device, non-zero must fit
 *   it; buf_size 0 is the default; persist_mode must not be
 *   PST_PERSIST_MSYNC (there is no page cache on a Device DAX).
 * @return
 *   The open pool, or NULL with ::pst_errno set:
 *    - EINVAL: not a Device DAX, a bad buffer size or count, or msync;
 *    - EEXIST: the device already starts with a paste pool's magic;
 *    - ENOSPC: the device is too small for the requested pool;
 *    - EBUSY: the device is open as a pool already;
 *    - EIO: the device's header area lies on a known bad block;
 *    - ENOENT, EACCES, ENOMEM: as pst_pool_open().
 */
struct pst_pool *pst_pool_format(const struct pst_pool_config *cfg);

/** Facts about a pool's medium (pst_pool_media_info()). */
struct pst_pool_media {
	int devdax;               /**< the pool is a Device DAX */
	uint64_t device_size;     /**< bytes of the device (0 for a file) */
	uint64_t device_align;    /**< its mapping alignment (0 for a file) */
	uint64_t bad_ranges;      /**< known bad ranges inside the pool */
	uint64_t bad_bufs;        /**< buffers overlapping a bad range */
};

/**
 * Fill @p m with what is known of the pool's medium, as of pst_pool_open().
 * @return 0, or -EINVAL for a NULL argument.
 */
int pst_pool_media_info(const struct pst_pool *pool, struct pst_pool_media *m);

/**
 * Tell whether the buffer of a name overlaps a known bad block of the
 * device (as listed when the pool was opened). Recovery must treat a value
 * with such a name as torn, without reading it: a read may raise SIGBUS,
 * and a line the list calls bad holds nothing to trust. A
 * free buffer on a bad block is never lent; a kept one returns to no free
 * list when released.
 * @return 1 if the name's buffer overlaps a bad block, 0 if not (or not
 *   valid).
 */
int pst_pool_name_bad(const struct pst_pool *pool, pst_name name);

/**
 * Install the SIGBUS handler of guarded reads for a phase (a recovery, a
 * verification), so that each read need not install it. Nests; the
 * handler found at the outermost call is restored by the matching
 * pst_media_guard_end(). A SIGBUS outside a guarded read goes to that
 * previous handler (by default, the process dies as without a guard).
 * Process-wide, like any signal disposition: one phase at a time.
 * @return 0, or a negative errno of sigaction().
 */
int pst_media_guard_begin(void);

/** End a phase begun by pst_media_guard_begin(). */
void pst_media_guard_end(void);

/**
 * Copy @p len bytes from persistent memory at @p src to @p dst; a poisoned
 * line (SIGBUS) makes the call fail instead of killing the process. Inside
 * a phase (pst_media_guard_begin()) or not (then it installs and restores
 * the handler itself).
 * @return 0, -EIO if reading @p src raised SIGBUS (@p dst is then partly
 *   written), -EINVAL for NULL pointers with @p len > 0.
 */
int pst_media_read(void *dst, const void *src, size_t len);

/**
 * pst_crc32c() of @p len bytes at @p src, read as pst_media_read() reads.
 * @return 0 and *crc set, -EIO on SIGBUS, -EINVAL for NULL pointers.
 */
int pst_media_crc32c(const void *src, size_t len, uint32_t *crc);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_MEDIA_H */
