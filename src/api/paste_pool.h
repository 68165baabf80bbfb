/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The persistent packet-buffer pool.
 *
 * A pool is a file (on a DAX file system, or any file for emulation; for a
 * real NIC a Device DAX, see paste_media.h) holding
 * a header and an array of fixed-size packet buffers. Network drivers receive
 * straight into those buffers (see paste_mbuf.h); the application names the
 * bytes it wants to keep with a ::pst_name, flushes them, and records the
 * name in its own persistent index. A name never contains a pointer, so it
 * stays valid across restarts and across mappings at different addresses.
 *
 * Every buffer is in one of three states:
 *  - free: in the pool's free list, owned by nobody;
 *  - lent: handed out (to an mbuf of the DPDK mempool, or by pst_pool_take());
 *  - kept: holds data the application stores; recorded persistently in the
 *    pool file, so a restart knows it is not free.
 * Only "kept" is persistent: after a restart every buffer that is not kept is
 * free. pst_pool_reconcile() then frees kept buffers the application's index
 * no longer references.
 *
 * A pool object is used by one thread at a time (one lcore in paste's run-to-
 * completion model); it takes no locks.
 */
#ifndef PASTE_POOL_H
#define PASTE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "paste_errno.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Durable name of a byte range inside one pool buffer:
 * bits 63..32 buffer index, 31..16 offset in the buffer, 15..0 length.
 */
typedef uint64_t pst_name;

/** A name that never designates anything. */
#define PST_NAME_INVALID UINT64_MAX

/** Largest buffer size a name can address (offset and length are 16-bit). */
#define PST_POOL_BUF_SIZE_MAX 65535u
/** Smallest buffer size accepted: room for DPDK's headroom and a frame. */
#define PST_POOL_BUF_SIZE_MIN 256u
/** Buffer size used when the configuration gives 0 (DPDK's default mbuf). */
#define PST_POOL_BUF_SIZE_DEFAULT 2176u
/** Largest number of buffers in a pool (index UINT32_MAX is reserved). */
#define PST_POOL_BUF_COUNT_MAX (UINT32_MAX - 1u)

/** Pack a name. No check is made; see pst_pool_name_valid(). */
static inline pst_name
pst_name_make(uint32_t index, uint16_t offset, uint16_t length)
{
	return ((uint64_t)index << 32) | ((uint64_t)offset << 16) | length;
}

/** Buffer index of a name. */
static inline uint32_t
pst_name_index(pst_name name)
{
	return (uint32_t)(name >> 32);
}

/** Offset of a name's first byte inside its buffer. */
static inline uint16_t
pst_name_offset(pst_name name)
{
	return (uint16_t)(name >> 16);
}

/** Number of bytes a name covers. */
static inline uint16_t
pst_name_length(pst_name name)
{
	return (uint16_t)name;
}

/** How flushes reach the medium. */
enum pst_persist_mode {
	/** Decide from the mapping, always durable: cache-line flush + drain
	 *  when libpmem's pmem_is_pmem() says the file is persistent memory
	 *  (fence only on eADR platforms, pmem_has_auto_flush()), msync
	 *  otherwise (msync per drain on a page-cache file). */
	PST_PERSIST_AUTO = 0,
	/** Always flush cache lines and drain (clwb/clflushopt + sfence), as
	 *  on real NVMM; used to emulate persistent memory on /dev/shm. Not
	 *  durable on a storage-backed file that is not persistent memory
	 *  (the page cache is never written back): refused there unless
	 *  pst_pool_config.persist_unsafe is set. */
	PST_PERSIST_FLUSH,
	/** Always msync the dirty range at drain time (page-cache files). */
	PST_PERSIST_MSYNC,
	/** Flushes are not needed (eADR: caches are in the power-fail domain);
	 *  a drain is only a store fence. Refused like FLUSH on a
	 *  storage-backed file that is not persistent memory. */
	PST_PERSIST_FENCE,
};

/** How to create or open a pool. Zeroed fields take their defaults. */
struct pst_pool_config {
	/** Path of the pool file (required). */
	const char *path;
	/** Buffer size in bytes, a multiple of 64 in
	 *  [PST_POOL_BUF_SIZE_MIN, PST_POOL_BUF_SIZE_MAX]; 0: default on
	 *  create, "whatever the file says" on open. */
	uint32_t buf_size;
	/** Number of buffers; required on create, 0 on open accepts the
	 *  file's count. */
	uint64_t buf_count;
	/** How flushes reach the medium. */
	enum pst_persist_mode persist_mode;
	/** File mode bits on create; 0 means 0600. */
	uint32_t file_mode;
	/** Emulate slower persistent memory: every drain that makes flushed
	 *  data durable also waits this many nanoseconds (PASTE evaluated
	 *  10 us). 0: no delay. */
	uint32_t drain_delay_ns;
	/** Nonzero: accept PST_PERSIST_FLUSH or PST_PERSIST_FENCE on a file
	 *  that is neither persistent memory nor in RAM (ext4, xfs without
	 *  DAX), where they make nothing durable: durability given up. */
	int persist_unsafe;
	/** Nonzero: do not populate the mapping. By default every page of
	 *  the file is faulted in (huge pages asked for first) when the pool
	 *  gets its mempool (pst_pool_mempool_create(): it is about to
	 *  receive), so that frames written into buffers never touched yet
	 *  take no page faults on the receiving core. It costs start-up
	 *  time, and on tmpfs the whole file's memory. Nothing is populated
	 *  by an open alone: a pool refused after it (another owner) keeps
	 *  its bytes and its modification time. */
	int no_prefault;
};

/** Read-only facts about an open pool. */
struct pst_pool_info {
	uint32_t buf_size;        /**< bytes per buffer */
	uint64_t buf_count;       /**< buffers in the pool */
	uint64_t file_size;       /**< bytes of the pool file */
	uint8_t uuid[16];         /**< identity, fixed at creation */
	uint32_t layout_version;  /**< on-media layout version */
	enum pst_persist_mode persist_mode; /**< mode in force (never AUTO) */
	int is_pmem;              /**< libpmem's pmem_is_pmem() of the mapping */
	int fs_volatile;          /**< the file is in RAM (tmpfs, ramfs): nothing
				   *   in it survives a power cut */
	void *base;               /**< where the file is mapped now */
	void *bufs;               /**< address of buffer 0 */
	int prefaulted;           /**< the mapping was populated (no_prefault) */
	double prefault_seconds;  /**< ... which took this long */
};

/** Counters of an open pool, since it was opened. */
struct pst_pool_stats {
	uint64_t free;            /**< buffers free now */
	uint64_t lent;            /**< buffers lent now (mbufs, pst_pool_take) */
	uint64_t kept;            /**< buffers kept now */
	uint64_t releasing;       /**< released, reusable after the next drain */
	uint64_t takes;           /**< successful pst_pool_take() and swaps */
	uint64_t keeps;           /**< buffers turned kept */
	uint64_t releases;        /**< kept buffers released */
	uint64_t nobufs;          /**< requests refused with -ENOBUFS */
	uint64_t flushes;         /**< flush calls */
	uint64_t bytes_flushed;   /**< bytes covered by flush calls */
	uint64_t drains;          /**< successful drains */
	uint64_t drain_failures;  /**< drains that failed (msync error) */
	uint64_t msyncs;          /**< msync system calls issued */
};

/** The few counters an application reads per request (pst_pool_levels()). */
struct pst_pool_levels {
	uint64_t free;            /**< buffers free now */
	uint64_t kept;            /**< buffers kept now */
	uint64_t releasing;       /**< released, reusable after the next drain */
	uint64_t drains;          /**< successful drains */
};

/** Result of pst_pool_reconcile(). */
struct pst_pool_reconcile_report {
	uint64_t referenced;      /**< distinct buffers the index references */
	uint64_t released;        /**< kept but unreferenced: now free */
	uint64_t newly_kept;      /**< referenced but not kept: now kept */
	uint64_t kept;            /**< kept buffers after reconciliation */
};

struct pst_pool;

/**
 * Create a new pool file and open it.
 *
 * The file is built as an unnamed file in the directory of @p cfg->path
 * (O_TMPFILE), made durable, then linked into place with linkat(), which
 * fails rather than replace a file that appeared meanwhile. A crash during
 * creation never leaves a half-written pool, nor any file, at the path.
 *
 * @param cfg
 *   Path, geometry (buf_count required) and persistence mode.
 * @return
 *   The open pool, or NULL with ::pst_errno set:
 *    - EINVAL: missing path, bad buffer size or count, bad mode, or a
 *      mode that is not durable on this file (see pst_persist_mode);
 *    - EEXIST: a file already exists at the path (it is left untouched);
 *    - EOPNOTSUPP: the file system cannot create unnamed files (O_TMPFILE);
 *    - ENOSPC, EACCES, ...: the file could not be created or sized;
 *    - ENOMEM: out of memory.
 */
struct pst_pool *pst_pool_create(const struct pst_pool_config *cfg);

/**
 * Open an existing pool file, validate it, and rebuild the free list from
 * its persistent state (after a clean shutdown or a crash alike).
 *
 * Validation happens before the file is mapped writable; a refused file is
 * never modified.
 *
 * @param cfg
 *   Path; non-zero buf_size / buf_count must match the file.
 * @return
 *   The open pool, or NULL with ::pst_errno set:
 *    - EINVAL: missing path, bad mode, or a mode that is not durable on
 *      this file (see pst_persist_mode);
 *    - ENOENT: no file at the path; EACCES: not readable and writable;
 *    - PST_ETRUNC: the file is shorter than a header or than its geometry;
 *    - PST_EFOREIGN: bad magic, not a paste pool;
 *    - PST_EVERSION: another layout version (a newer one, or an older one
 *      that records no owners of its root slots: no migration is made);
 *    - PST_ECRC: the header checksum does not match;
 *    - PST_ECORRUPT: header fields contradict each other;
 *    - PST_EGEOMETRY: buffer size or count differs from @p cfg;
 *    - EBUSY: the pool is open already (in this or another process: an
 *      exclusive flock() guards the file);
 *    - ENOMEM: out of memory.
 */
struct pst_pool *pst_pool_open(const struct pst_pool_config *cfg);

/**
 * Drain outstanding flushes, unmap the pool and free the object.
 * Buffers still lent become free (they are free in the file already).
 * Closing cannot fail, so a failure of that last drain is not reported:
 * an application that must know its last writes are durable calls
 * pst_pool_drain() and checks it before closing.
 * A mempool made by pst_pool_mempool_create() is freed first, whether or not
 * its mbufs are back: stop and close the ports using it before closing the
 * pool. NULL is accepted and ignored.
 */
void pst_pool_close(struct pst_pool *pool);

/**
 * Fill @p info with the pool's geometry and mapping.
 * @return 0, or -EINVAL if an argument is NULL.
 */
int pst_pool_info(const struct pst_pool *pool, struct pst_pool_info *info);

/**
 * Fill @p stats with the pool's counters.
 * @return 0, or -EINVAL if an argument is NULL.
 */
int pst_pool_stats(const struct pst_pool *pool, struct pst_pool_stats *stats);

/**
 * Fill @p lv with the counters of pst_pool_stats() that a server checks on
 * every request (room for a value, whether a drain happened since), without
 * filling the rest.
 * @return 0, or -EINVAL if an argument is NULL.
 */
int pst_pool_levels(const struct pst_pool *pool, struct pst_pool_levels *lv);

/**
 * Tell whether a name designates bytes inside a buffer of this pool.
 * @return 1 if valid, 0 otherwise.
 */
int pst_pool_name_valid(const struct pst_pool *pool, pst_name name);

/**
 * Address of a name's first byte in the current mapping. O(1).
 * @return
 *   The address, or NULL with ::pst_errno = EINVAL if the name is not
 *   valid for this pool.
 */
void *pst_pool_name_to_addr(const struct pst_pool *pool, pst_name name);

/**
 * Name of @p len bytes at @p addr. O(1). The range must lie inside one
 * buffer.
 * @return
 *   The name, or ::PST_NAME_INVALID with ::pst_errno = EINVAL if the range
 *   is outside the buffer array or crosses a buffer boundary, or
 *   @p len exceeds 65535.
 */
pst_name pst_pool_addr_to_name(const struct pst_pool *pool, const void *addr,
			       size_t len);

/**
 * Address of buffer @p index.
 * @return the address, or NULL with ::pst_errno = EINVAL if out of range.
 */
void *pst_pool_buf_addr(const struct pst_pool *pool, uint32_t index);

/**
 * Take a free buffer out of the free list (it becomes lent), e.g. to copy
 * data into it. Not persistent: a crash returns it to the free list.
 *
 * @param[out] index
 *   The buffer's index.
 * @return 0, -EINVAL on NULL arguments, or -ENOBUFS when no buffer is free
 *   (counted in pst_pool_stats::nobufs).
 */
int pst_pool_take(struct pst_pool *pool, uint32_t *index);

/**
 * Keep a lent buffer: record persistently that it holds application data.
 * The state change is flushed but not drained; it is durable after the next
 * pst_pool_drain() (the stack drains once per poll batch).
 *
 * @return 0, or -EINVAL if @p index is out of range or not lent.
 */
int pst_pool_keep(struct pst_pool *pool, uint32_t index);

/**
 * Keep @p n lent buffers at once, as pst_pool_keep() of each: for the
 * buffers of one received value. Their state bytes are flushed once per
 * cache line rather than once per buffer, so buffers taken one after
 * another (as a driver's receive takes them) cost a flush per 64 of them.
 * Like pst_pool_keep(), durable after the next pst_pool_drain().
 *
 * @param index
 *   The buffers; one listed twice is kept once.
 * @return 0, or -EINVAL if @p pool is NULL, @p index is NULL with @p n
 *   above 0, or any of the buffers is out of range or not lent: then none
 *   is kept.
 */
int pst_pool_keep_many(struct pst_pool *pool, const uint32_t *index, unsigned int n);

/**
 * Release a buffer the caller owns, lent or kept.
 *
 * A lent buffer returns to the free list at once. A kept buffer stops being
 * storage: the state change is flushed and durable after the next drain, and
 * only then (and once no zero-copy send still pins it) does the buffer return
 * to the free list, so a buffer that an index made durable before a crash
 * may still name is never overwritten by new packets before the release
 * itself is durable.
 *
 * @param index
 *   The buffer (pst_name_index() of any name inside it).
 * @return 0, or -EINVAL if @p index is out of range or its buffer is
 *   neither lent nor kept (free, or released already).
 */
int pst_pool_release(struct pst_pool *pool, uint32_t index);

/**
 * After a restart, reconcile the pool with the application's index, which
 * is the truth: kept buffers that no name references are freed, referenced
 * buffers that are not kept are kept. The result is durable on return.
 * Must be called while no buffer is lent (before the mempool is created).
 *
 * @param names
 *   Names the index references (any order, duplicates allowed).
 * @param n
 *   Number of names.
 * @param[out] report
 *   Optional counts of what changed.
 * Refused, before anything is written, unless every claimed root slot of
 * the pool was claimed through this pool object (pst_pool_root_claim()):
 * the index of another application or kind does not name its buffers.
 * A pool with no claimed slot holds no index: everything may be freed.
 *
 * @return 0, -EINVAL on a NULL array with n > 0 or a name not valid for
 *   this pool (nothing is changed then), -EBUSY while buffers are lent,
 *   -PST_EOWNER when a root slot is claimed by an owner this pool object
 *   did not claim as, -PST_ECORRUPT when a slot holds a value while its
 *   owner record is missing or damaged, -ENOMEM.
 */
int pst_pool_reconcile(struct pst_pool *pool, const pst_name *names, size_t n,
		       struct pst_pool_reconcile_report *report);

/**
 * Check the pool's internal consistency: the in-memory states agree with
 * the persistent ones, no buffer is both free and kept, and free + lent +
 * kept + releasing equals the buffer count.
 * @return 0 if consistent, -EFAULT (with pst_errormsg() saying where) if
 *   not, -EINVAL on NULL.
 */
int pst_pool_verify(const struct pst_pool *pool);

/**
 * Schedule the cache lines of [addr, addr+len) to be written back.
 * The range must lie inside the pool mapping. Durable after the next drain.
 * @return 0, or -EINVAL if the range is outside the mapping.
 */
int pst_pool_flush(struct pst_pool *pool, const void *addr, size_t len);

/**
 * Wait until every flush issued so far is durable (one sfence on NVMM, one
 * msync of the dirty range on page-cache files). Buffers released before the
 * drain return to the free list.
 * A failed drain (msync error) is not a drain, and it is final: Linux may
 * already have marked the pages whose writeback failed clean, so a retry
 * could succeed without writing them. pst_pool_stats::drains does not move
 * (drain_failures does), released buffers stay out of the free list, and
 * this drain and every later one on this pool fail with the same error
 * without syncing anything. Nothing that waited for it may ever be
 * acknowledged: stop, and let recovery (a new pst_pool_open()) find what
 * the medium holds.
 * @return 0, or a negative errno: that of the failed msync (-EIO, ...),
 *         now and at every later call.
 */
int pst_pool_drain(struct pst_pool *pool);

/**
 * pst_pool_flush() then pst_pool_drain().
 * @return as those calls.
 */
int pst_pool_persist(struct pst_pool *pool, const void *addr, size_t len);

/** Number of application root slots in a pool. */
#define PST_POOL_ROOTS 16u

/** Longest application name of a root slot's owner, in bytes. */
#define PST_POOL_OWNER_APP_MAX 15u
/** Longest kind name of a root slot's owner, in bytes. */
#define PST_POOL_OWNER_KIND_MAX 11u

/** Who owns a root slot: an application and the kind of its structure. */
struct pst_pool_owner {
	char app[PST_POOL_OWNER_APP_MAX + 1];   /**< e.g. "paste-kvs" */
	char kind[PST_POOL_OWNER_KIND_MAX + 1]; /**< e.g. "wal"; may be "" */
};

/**
 * Claim root slot @p slot for an application's structure, or check that it
 * is claimed by that application and kind already, before reading or
 * writing anything else of the pool.
 *
 * A pool has one owner: pst_pool_reconcile() frees every kept buffer the
 * caller's index does not name, so one application's index must cover the
 * whole pool. Every claimed slot of a pool therefore has the same owner,
 * and a claim that names another application or another kind than a slot
 * holds already is refused without writing anything. A new claim is
 * recorded in the file (its own CRC32C, flushed and drained: durable on
 * return); a slot may be set with pst_pool_root_set() only once claimed
 * through this pool object, and pst_pool_reconcile() runs only when every
 * claimed slot of the pool was claimed through it.
 *
 * @param app
 *   The application, 1 to ::PST_POOL_OWNER_APP_MAX printable characters.
 * @param kind
 *   The kind of structure, 0 to ::PST_POOL_OWNER_KIND_MAX printable
 *   characters (NULL: "").
 * @return 0 (claimed now, or already), or:
 *    - -EINVAL: NULL pool, a bad slot, an empty, too long or unprintable
 *      name;
 *    - -PST_EOWNER: a slot of the pool is claimed by another application
 *      or kind; pst_errormsg() names the pool, that slot, its owner and
 *      the one asked; nothing was written;
 *    - -PST_ECORRUPT: a slot holds a value while its owner record is
 *      missing or damaged; nothing was written;
 *    - a negative errno from the drain (msync failed): the claim may not
 *      be durable, and the slot is not claimed.
 */
int pst_pool_root_claim(struct pst_pool *pool, unsigned int slot, const char *app,
			const char *kind);

/**
 * Read the owner of root slot @p slot, without claiming it.
 * @param[out] owner
 *   The owner when the slot is claimed; zeroed when it is not.
 * @return 1 if claimed, 0 if not, -EINVAL for a NULL argument or a bad
 *   slot, -PST_ECORRUPT if the slot holds a value while its owner record
 *   is missing or damaged (pst_errormsg() says which).
 */
int pst_pool_root_owner(const struct pst_pool *pool, unsigned int slot,
			struct pst_pool_owner *owner);

/**
 * Read an application root slot: a 64-bit value (typically a name) where
 * the application's persistent index starts. Zero when never set.
 * @param[out] value
 *   The slot's value.
 * @return 0, or -EINVAL for a NULL argument or a bad slot.
 */
int pst_pool_root_get(const struct pst_pool *pool, unsigned int slot,
		      uint64_t *value);

/**
 * Set an application root slot with one failure-atomic 8-byte store,
 * flushed; durable after the next drain. After a crash the slot holds
 * either the old or the new value, never a mix. The slot must have been
 * claimed through this pool object (pst_pool_root_claim()).
 * @return 0, -EINVAL for a bad slot, -EPERM if the slot is not claimed
 *   through this pool object.
 */
int pst_pool_root_set(struct pst_pool *pool, unsigned int slot, uint64_t value);

/**
 * CRC32C (Castagnoli) of a byte range, hardware-accelerated with SSE4.2:
 * the checksum paste's persistent records carry so that recovery can tell a
 * torn record (from a batch whose drain never completed) from a whole one.
 * Standard parameters: pst_crc32c("123456789", 9) == 0xE3069283.
 */
uint32_t pst_crc32c(const void *data, size_t len);

/** Name of a persistence mode ("auto", "flush", "msync", "fence"). */
const char *pst_persist_mode_name(enum pst_persist_mode mode);

/**
 * Parse a persistence mode name.
 * @return 0 and *mode set, or -EINVAL for an unknown name.
 */
int pst_persist_mode_parse(const char *name, enum pst_persist_mode *mode);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_POOL_H */
