/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one place where paste makes stores durable. Every flush, drain and
 * msync of the project goes through here, so tests can hook it to record
 * the order of persistence events or to build power-loss images.
 *
 * What a power loss leaves: everything up to the last completed drain, plus
 * ANY subset of the 8-byte words stored since, flushed or not (the cache
 * may evict an unflushed line at any time, and a flushed one may not have
 * reached the medium). A flush only bounds what the next drain guarantees;
 * it never keeps a store from the medium. So whatever replaces a durable
 * structure must leave the old one intact until the drain that made the
 * replacement durable (doc/pool.md, "Ordering").
 */
#ifndef PST_PERSIST_H
#define PST_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "paste_pool.h"

struct pst_persist_trace;

/* Observer of persistence events, for tests. Any callback may be NULL.
 * on_drain runs after a drain succeeded (what was flushed before it is
 * durable), never after a failed one. fail_drain is the fault injection
 * of failed drains: it runs first in every drain and returns 0 to let the
 * drain run, or an errno value (EIO) to make it fail as a failed msync
 * does, in any mode: nothing is synced, nothing counted as drained. */
struct pst_persist_hook {
	void (*on_flush)(void *ctx, const void *addr, size_t len);
	void (*on_drain)(void *ctx);
	int (*fail_drain)(void *ctx);
	void *ctx;
};

/* A persistence domain: one mapping and how it reaches the medium. */
struct pst_persist {
	enum pst_persist_mode mode; /* resolved: never PST_PERSIST_AUTO */
	char *map_base;
	size_t map_len;
	/* MSYNC mode batches flushes into one dirty range, synced at drain. */
	char *dirty_lo;
	char *dirty_hi;
	int pending;          /* flushed since the last drain */
	uint32_t delay_ns;    /* emulated extra drain latency */
	uint64_t flushes;
	uint64_t bytes_flushed;
	uint64_t drains;         /* successful drains only */
	uint64_t drain_failures;
	uint64_t msyncs;
	/* errno of the first failed drain, 0 before. A failed sync is final
	 * (fail-stop): on a page-cache file Linux marks the pages whose
	 * writeback failed clean and reports the error once, so a retried
	 * msync would return 0 without writing them. */
	int failed;
	struct pst_persist_hook hook;
	struct pst_persist_trace *trace; /* NULL unless PASTE_PERSIST_TRACE */
	/* Flush mode with no hook and no trace: a flush is its counters
	 * and libpmem's pmem_flush, done inline (pst_persist_flush). Set
	 * wherever the mode, the hook or the trace change. */
	int plain;
};

/* Resolve @mode for the mapping and reset counters. @is_pmem is libpmem's
 * verdict on the mapping. Returns 0 or -EINVAL for an unknown mode. */
int pst_persist_init(struct pst_persist *p, enum pst_persist_mode mode,
		     void *base, size_t len, int is_pmem);

/*
 * Refuse a mode that would not make drained data durable on this file:
 * flush and fence (store fences, cache-line flushes) do not write a page
 * cache back to storage, so on a file that is neither persistent memory
 * (@is_pmem) nor in RAM anyway (@fs_volatile: tmpfs, where nothing is
 * durable in any mode) they need @unsafe. @mode is the resolved mode.
 * Returns 0 or -EINVAL with a message naming @path.
 */
int pst_persist_check_durable(enum pst_persist_mode mode, int is_pmem,
			      int fs_volatile, int unsafe, const char *path);

/* 1 when the file open as @fd lives in RAM (tmpfs, ramfs): nothing in it
 * survives a power cut. 0 otherwise, or -errno of fstatfs. */
int pst_persist_fs_volatile(int fd);

/* Start a persistence trace (persist_trace.h) of @p's mapping when the
 * environment variable PASTE_PERSIST_TRACE names a file. Returns 0 (also
 * when it is unset) or -errno (EEXIST: the trace file exists). */
int pst_persist_trace_from_env(struct pst_persist *p);

/* Stop @p's trace, if any. */
void pst_persist_fini(struct pst_persist *p);

/* pst_persist_flush, every mode and every check, out of line. */
int pst_persist_flush_full(struct pst_persist *p, const void *addr, size_t len);

/* libpmem's, declared here so that its header stays persist.c's. */
void pmem_flush(const void *addr, size_t len);

/* Write back [addr, addr+len); durable after the next drain.
 * Returns 0 or -EINVAL when the range leaves the mapping.
 *
 * A SET flushes three or four ranges (its value's parts, its log record,
 * its buffers' ownership bytes): the plain case inline, with the same
 * range check, saves a call of about fifty instructions each. */
static inline int
pst_persist_flush(struct pst_persist *p, const void *addr, size_t len)
{
	const char *lo = addr;

	if (!p->plain || lo < p->map_base || len > p->map_len ||
	    (size_t)(lo - p->map_base) > p->map_len - len)
		return pst_persist_flush_full(p, addr, len);
	p->flushes++;
	p->bytes_flushed += len;
	p->pending = 1;
	pmem_flush(addr, len);
	return 0;
}

/* Make every earlier flush durable. Returns 0, or -errno of msync (or of
 * the hook's fail_drain): then nothing is counted as drained, and this
 * drain and every later one fail with that errno without syncing
 * anything (p->failed): what the medium holds is for recovery to find. */
int pst_persist_drain(struct pst_persist *p);

/* Install (or with NULL remove) the hook of domain @p. */
void pst_persist_set_hook(struct pst_persist *p, const struct pst_persist_hook *hook);

/* The same for the domain of @pool (pool.c), for tests that hold a pool. */
void pst_pool_set_persist_hook(struct pst_pool *pool,
			       const struct pst_persist_hook *hook);

#endif /* PST_PERSIST_H */
