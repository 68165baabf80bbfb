/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: compaction of the object log (doc/objects.md,
 * "Compaction"). Overwrites and deletes leave the records they supersede
 * in the log; compaction writes the live records (buckets, objects'
 * current versions, unfinished uploads and their parts) into a fresh
 * chain of pool buffers, makes it durable, switches the root slot (and
 * the drained mark, to the new chain's end) in one drained step, and only
 * then releases the old chain. The objects' bytes are not touched: only
 * the records that name them are written again.
 */
#ifndef OBJ_COMPACT_H
#define OBJ_COMPACT_H

#include <stdint.h>

#include "ostore.h"

#define OBJ_COMPACT_PCT_DEFAULT 50u     /* dead share that starts one */
#define OBJ_COMPACT_MIN_BUFS 64u        /* not below 136 KB of log */

/* Bytes the live records take (what a compaction would write). */
uint64_t obj_compact_live_bytes(const struct obj_store *st);

/* Compact now: the live records into a fresh chain, drained, the root
 * slot and the mark switched and drained, the old chain released. Two
 * drains; everything appended before it is durable after it. @return 0;
 * -ENOBUFS (the pool has no room for the new chain), -ENOMEM, or a
 * drain's error: the log is the old one, unchanged (a fresh chain taken
 * is released). */
int obj_compact(struct obj_store *st);

/* Compact when the log has at least st->compact_min_bufs buffers and the
 * dead share of its bytes is st->compact_pct or more (weighed only when
 * the log has grown since the last look, so this is cheap to call after
 * every drain). @return 1 compacted, 0 not needed or not possible now
 * (tried again after the log has grown by a quarter). */
int obj_compact_maybe(struct obj_store *st);

/* A record that did not fit (-ENOBUFS from obj_log_append): compact if
 * that frees log buffers and the pool has room for the new chain, and
 * drain once more so that the old chain's buffers are free, so that the
 * caller can append again. @return 0 (compacted: try again) or -ENOBUFS. */
int obj_compact_for_room(struct obj_store *st);

/* The "@who: log ..." line: the log's records, bytes and buffers now,
 * what is live, the threshold, and the compactions (count, refusals, the
 * last one's records and buffers before and after, pauses). */
void obj_compact_print(const struct obj_store *st, const char *who);

#endif /* OBJ_COMPACT_H */
