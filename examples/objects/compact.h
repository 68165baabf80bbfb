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
/* Spread over polls: records and bytes a slice writes (then the requests
 * since the last slice are added to its records). */
#define OBJ_COMPACT_SLICE_DEFAULT 256u
#define OBJ_COMPACT_SLICE_BYTES_DEFAULT (64u << 10)

/* Bytes the live records take (what a compaction would write). */
uint64_t obj_compact_live_bytes(const struct obj_store *st);

/* Compact now (a compaction spread over polls under way is given up for
 * it): the live records into a fresh chain, drained, the root
 * slot and the mark switched and drained, the old chain released. Two
 * drains; everything appended before it is durable after it. @return 0;
 * -ENOBUFS (the pool has no room for the new chain), -ENOMEM, or a
 * drain's error: the log is the old one, unchanged (a fresh chain taken
 * is released). */
int obj_compact(struct obj_store *st);

/* Start a compaction spread over polls: a fresh chain, detached, that
 * obj_compact_step fills a slice at a time; from now on each record
 * appended to the log that concerns an item the chain has written is
 * appended to the chain too (the log's tee). The log stays the truth
 * until the switch. @return 0, -EINVAL (not opened, or one under way),
 * -ENOBUFS (no room for the chain as big as what is live now), -ENOMEM. */
int obj_compact_begin(struct obj_store *st);

/* One slice of the compaction under way (compact.h's fields in ostore.h:
 * at most st->compact_slice records plus the records appended since the
 * last slice; an upload's creation and parts never split), and, once
 * the chain holds every item, the switch as obj_compact's (two drains).
 * @return 1 switched, 0 under way or none, or a negative errno: a
 * reflected record or a slice found no buffer (-ENOBUFS, -ENOMEM) or a
 * drain failed; the compaction is given up, the log the old one. */
int obj_compact_step(struct obj_store *st);

/* Give up the compaction under way, if any (its chain released: free
 * after the next drain; the log unchanged). */
void obj_compact_abandon(struct obj_store *st);

/* Compact when the log has at least st->compact_min_bufs buffers and the
 * dead share of its bytes is st->compact_pct or more (weighed only when
 * the log has grown since the last look, so this is cheap to call after
 * every drain): with st->compact_slice, started here and continued a
 * slice per call; else at once. @return 1 compacted (switched), 0 not
 * needed, under way, or not possible now (tried again after the log has
 * grown by a quarter). */
int obj_compact_maybe(struct obj_store *st);

/* A record that did not fit (-ENOBUFS from obj_log_append): a compaction
 * spread over polls under way given up (it would not make room in time,
 * and its chain holds buffers), compact at once if
 * that frees log buffers and the pool has room for the new chain, and
 * drain once more so that the old chain's buffers are free, so that the
 * caller can append again. @return 0 (compacted: try again) or -ENOBUFS. */
int obj_compact_for_room(struct obj_store *st);

/* The "@who: log ..." line: the log's records, bytes and buffers now,
 * what is live, the threshold, and the compactions (count, refusals, the
 * last one's records and buffers before and after, pauses). */
void obj_compact_print(const struct obj_store *st, const char *who);

#endif /* OBJ_COMPACT_H */
