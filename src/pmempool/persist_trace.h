/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Persistence traces: a record of everything that may reach the medium
 * between drains, for building power-loss images of a whole server run
 * offline (tests/kvs/trace_images.c). Off unless the environment variable
 * PASTE_PERSIST_TRACE names a trace file when a pool is opened; slow and
 * memory-hungry when on (two copies of the mapping, a diff of the whole
 * mapping at every drain that follows a flush), so meant for small pools.
 *
 * The file, little-endian:
 *   header   "PSTTRC01", u64 mapping length, u64 CLOCK_MONOTONIC ns at the
 *            start, then the whole mapping as it was at the start.
 *   per drain that followed at least one flush:
 *            u32 "DRN1", u32 line count, u64 drain number (the domain's
 *            drains counter after it), u64 CLOCK_MONOTONIC ns right after
 *            the drain completed (before anything that waited for it
 *            runs), then per line: u64 offset | kind, 64 bytes.
 *   kind (the offset's low bits; lines are 64-byte aligned):
 *     1 DURABLE  the line as it was flushed (its last flush before this
 *                drain): durable from this drain on;
 *     2 MAYBE    the line as it is now, differing from the drained state
 *                (stored but not flushed, or stored again after its
 *                flush): any of its 8-byte words may be on the medium
 *                after a power loss in the epoch this drain ends.
 * A power loss in the epoch ended by drain record k leaves the state after
 * record k-1's DURABLE lines (the header's image for k = 1) plus any subset
 * of the words of record k's lines.
 */
#ifndef PST_PERSIST_TRACE_H
#define PST_PERSIST_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define PST_TRACE_MAGIC "PSTTRC01"
#define PST_TRACE_DRAIN_MAGIC 0x314e5244u /* "DRN1" */
#define PST_TRACE_LINE 64u
#define PST_TRACE_DURABLE 1u
#define PST_TRACE_MAYBE 2u
#define PST_TRACE_ENV "PASTE_PERSIST_TRACE"

struct pst_persist_trace;

/* Start tracing the mapping [@base, @base + @len) into the new file @path
 * (refused if it exists). Returns the trace, or NULL with pst_errno set
 * (EEXIST, ENOMEM, an errno of open or write). */
struct pst_persist_trace *pst_persist_trace_start(const char *path,
						  const char *base, size_t len);

/* Note a flush of [@off, @off + @len) of the mapping. */
void pst_persist_trace_flushed(struct pst_persist_trace *t, const char *base,
			       size_t off, size_t len);

/* Record a completed drain numbered @drains. Returns 0 or -errno of write
 * (the trace is then incomplete, and says nothing more). */
int pst_persist_trace_drained(struct pst_persist_trace *t, const char *base,
			      uint64_t drains);

void pst_persist_trace_stop(struct pst_persist_trace *t);

#endif /* PST_PERSIST_TRACE_H */
