/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the object log, the persistent truth of what is stored
 * (doc/objects.md, "The object log"). Records (a bucket created or
 * deleted, an object put or deleted) are appended to a byte stream laid
 * across a chain of kept pool buffers, starting at a root slot. Each
 * record has one CRC32C over all of it, so a record of any length (an
 * object of 64 MiB holds ~45,000 names: 360 KB of record) is whole or
 * absent after a crash; recovery replays the records in order and stops
 * at the first that is not whole (its batch never drained, so nothing
 * after it was acknowledged). Compaction (compact.h) writes the live
 * records into a fresh chain (obj_log_fresh) and switches the root slot.
 */
#ifndef OBJ_OLOG_H
#define OBJ_OLOG_H

#include <stddef.h>
#include <stdint.h>

#include "paste.h"
#include "stages.h"

enum obj_rec_type {
	OBJ_REC_BUCKET_ADD = 1,
	OBJ_REC_BUCKET_DEL = 2,
	OBJ_REC_PUT = 3,
	OBJ_REC_DEL = 4,
	/* Multipart uploads (multipart.h): each carries an upload id and a
	 * part number (OBJ_LOG_MPU_EXTRA bytes after the header). */
	OBJ_REC_MPU_CREATE = 5,         /* bucket, key, ctype, meta, time */
	OBJ_REC_MPU_PART = 6,           /* + part, size, md5, names */
	OBJ_REC_MPU_DONE = 7,           /* an object put from the upload's
	                                 * parts (part: their count), which
	                                 * ends the upload */
	OBJ_REC_MPU_ABORT = 8,          /* aborted or expired */
};

/* Bytes after a multipart record's header: upload id (8), part (4), 0 (4). */
#define OBJ_LOG_MPU_EXTRA 16u

/* One record, as appended and as replayed (pointers into the caller's
 * memory on append, into the log's scratch during a replay callback). */
struct obj_rec {
	enum obj_rec_type type;
	int64_t time;                   /* creation or modification, seconds */
	uint64_t size;                  /* PUT: the object's bytes */
	uint8_t md5[16];                /* PUT */
	const char *bucket;             /* all types */
	uint16_t bucket_len;
	const char *key;                /* PUT, DEL */
	uint16_t key_len;
	const char *ctype;              /* PUT: Content-Type (may be empty) */
	uint16_t ctype_len;
	const char *meta;               /* PUT: "name\0value\0" pairs */
	uint16_t meta_len;
	const pst_name *names;          /* PUT: the bytes, in order */
	uint32_t n_names;
	uint64_t upload_id;             /* OBJ_REC_MPU_* */
	uint32_t part;                  /* MPU_PART: its number; MPU_DONE: parts */
};

struct obj_log {
	struct pst_pool *pool;
	unsigned int slot;
	uint32_t buf_size;
	uint32_t *bufs;                 /* the chain's buffer indexes, in order */
	size_t n_bufs, cap_bufs;
	uint32_t tail_off;              /* next free byte of the last buffer */
	uint64_t seq;                   /* of the next record (during a replay
	                                 * callback: of the record replayed) */
	uint64_t base;                  /* of the chain's first record */
	uint8_t *scratch;               /* a record assembled for replay */
	size_t scratch_cap;
	/* What recovery found. */
	uint64_t replayed, torn_bytes;
	uint64_t bytes;                 /* record bytes in the log */
	/* --stage-cycles: the records' CRC counted here (stages.h); NULL:
	 * not counted. */
	struct obj_stages *stages;
	/* Called after each record appended, with it (a compaction under
	 * way reflects it into its new chain: compact.c); NULL: none. */
	void (*tee)(void *arg, const struct obj_rec *r);
	void *tee_arg;
};

/* Called per whole record at recovery. @return 0, or a negative errno to
 * stop the replay (obj_log_open then fails with it). */
typedef int (*obj_log_replay_fn)(void *arg, const struct obj_rec *r);

/* Open the log under root slot @slot of @pool (claimed by the caller),
 * replaying every whole record in order through @fn. What follows the
 * last whole record (a torn one, buffers linked after it) is cut off and
 * the cut made durable; those buffers are left for the caller's
 * reconciliation to free. @return 0, -ENOMEM, -EIO (a buffer named by the
 * chain is not in the pool), or @fn's error. */
int obj_log_open(struct obj_log *l, struct pst_pool *pool, unsigned int slot,
		 obj_log_replay_fn fn, void *arg);

/* obj_log_open, replaying only the records before sequence number
 * @stop_seq (the first is l->base: 0 until a compaction) and cutting the
 * log there: the record @stop_seq and what follows are gone, durably. Recovery's fallback when
 * the bytes a record names turn out cut (ostore.c). */
int obj_log_open_before(struct obj_log *l, struct pst_pool *pool, unsigned int slot,
			uint64_t stop_seq, obj_log_replay_fn fn, void *arg);

/* Append @r: written and flushed, durable after the next drain. A new log
 * buffer is taken and kept from the pool when the record does not fit.
 * Then l->tee, if set, is given @r.
 * @return 0, -EINVAL (a field too long), -ENOBUFS (no free buffer: the
 * log is unchanged), -ENOMEM. */
int obj_log_append(struct obj_log *l, const struct obj_rec *r);

/* A fresh, empty chain on @pool for root slot @slot, detached: one buffer
 * taken and kept, the slot left as it is (compaction writes into it, then
 * switches the slot itself). Its records are numbered from @base (kept in
 * its first buffer's header): give the old log's next sequence number, so
 * that a record left in a buffer of an older chain, reused by this one,
 * never has the number this one expects at that place. @return 0,
 * -ENOBUFS, -ENOMEM. */
int obj_log_fresh(struct obj_log *l, struct pst_pool *pool, unsigned int slot, uint64_t base);

/* Release every buffer of @l's chain (kept: free after the next drain) and
 * free its DRAM: a chain no root slot names any more, or a fresh one given
 * up before its switch. */
void obj_log_release(struct obj_log *l);

/* Flush the records from sequence number @seq on (and the chain's links
 * and buffer headers they need), for a drain to make them durable: what a
 * recovery replayed, written by a process that may not have drained it. */
void obj_log_flush_since(struct obj_log *l, uint64_t seq);

/* Bytes @r takes in the log. */
size_t obj_log_rec_size(const struct obj_rec *r);

/* Free the log's DRAM (the pool keeps its buffers). */
void obj_log_close(struct obj_log *l);

/* Bytes of a log buffer that hold records (after its header). */
#define OBJ_LOG_BUF_HDR 64u

#endif /* OBJ_OLOG_H */
