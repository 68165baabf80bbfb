/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the store. The object log (olog.h) is the truth; a DRAM
 * index (buckets, and objects sorted by bucket then key bytes, as S3
 * lists them) is rebuilt from it at start. An object's bytes are the pool
 * buffers they arrived in (its names); a DRAM reference count per buffer
 * (object versions and uploads in flight) decides when a buffer is
 * released, and a version replaced or deleted releases its buffers only
 * after the drain that made its replacement durable.
 */
#ifndef OBJ_OSTORE_H
#define OBJ_OSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "etag.h"
#include "olog.h"
#include "paste.h"
#include "stages.h"

#define OBJ_STORE_ROOT_SLOT 0u
/* The drained mark: (the log's first buffer + 1) << 32 | a record count:
 * every record before it, and the bytes they name, were drained before
 * the mark was stored, so recovery need not hash them. */
#define OBJ_STORE_MARK_SLOT 1u
#define OBJ_STORE_OWNER "paste-objects"
#define OBJ_STORE_KIND "log"
#define OBJ_OBJECT_SIZE_MAX (5ull << 30)        /* S3's single PUT limit */

/* One stored version of an object; GETs in flight hold it too. */
struct obj_mpu_set;
struct obj_compact_run;

/* A part of a multipart object as recovery checks it: its names' count
 * and the MD5 of their bytes. */
struct obj_part_sum {
	uint8_t md5[16];
	uint32_t n_names;
};

struct obj_version {
	uint32_t refs;
	uint64_t size;
	int64_t mtime;
	uint8_t md5[16];
	char etag[OBJ_ETAG_MAX];
	char *ctype, *meta;             /* meta: "name\0value\0" pairs */
	uint16_t ctype_len, meta_len;
	pst_name *names;
	uint32_t n_names;
	uint32_t parts;                 /* a multipart object's part count, else 0 */
	/* Recovery only: the log record that wrote it, and a multipart
	 * object's parts (NULL once checked, or when not known). */
	uint64_t seq;
	struct obj_part_sum *sums;
	uint32_t n_sums;
};

struct obj_entry {
	char *key;                      /* "bucket\0key": sorts as S3 lists */
	uint32_t len;
	uint16_t bucket_len;
	struct obj_version *v;
};

struct obj_bucket {
	char name[64];
	int64_t created;
	uint64_t n_objects;
};

struct obj_store {
	struct pst_pool *pool;
	struct obj_log log;
	uint32_t buf_size;
	uint64_t buf_count;
	uint32_t *refs;                 /* per pool buffer */
	struct obj_bucket *buckets;     /* sorted by name */
	unsigned int n_buckets, cap_buckets;
	struct obj_entry *objs;         /* sorted by key */
	size_t n_objs, cap_objs;
	/* Buffers of dropped versions, released after the next drain. */
	pst_name *deferred;
	size_t n_deferred, cap_deferred;
	uint64_t deferred_drains;
	/* Buffers promised to bodies still arriving (obj_store_reserve). */
	uint64_t reserved;
	/* Recovery. */
	uint64_t recovered_objects, released_at_start;
	/* Records whose bytes were cut (their batch never drained): the
	 * log replayed again up to each (obj_store_open). */
	uint64_t fallbacks;
	/* The drained mark (OBJ_STORE_MARK_SLOT): as found at start (0: none
	 * or not this log's), the bytes recovery hashed (those of live
	 * objects and parts recorded after it), and, running, the mark
	 * stored and the next one: the log's records when the drain count
	 * was mark_drains; stored once a later drain passed. */
	uint64_t mark_at_open, hashed_at_open;
	uint64_t mark, mark_next, mark_drains;
	int mark_on;                    /* open succeeded: marks may be stored */
	uint64_t puts, deletes;
	/* Compaction of the log (compact.h): the dead share of its bytes
	 * that starts one (percent; 0: never), the size below which none is
	 * done, and when to weigh the log again (its bytes then). */
	unsigned int compact_pct;
	size_t compact_min_bufs;
	uint64_t compact_check_at;
	/* While one runs (the crash test looks): the chain being written,
	 * and the one it replaces. */
	const struct obj_log *compacting, *compact_old;
	uint64_t compactions, compact_failures;
	uint64_t compact_recs_before, compact_recs_after;  /* the last one's */
	uint64_t compact_bufs_before, compact_bufs_after;
	uint64_t compact_ns_last, compact_ns_max, compact_ns_total;
	/* Compaction spread over polls (compact.h): at most compact_slice
	 * records (and about compact_slice_bytes) written into the new chain
	 * per poll, plus as many as the requests since the last slice
	 * appended; 0: the whole compaction at once. The one under way
	 * (NULL: none), and what the slices did: the last compaction's count
	 * of slices and of records reflected into its chain by requests
	 * between them, and the most records one slice wrote (a single
	 * upload's creation and parts are never split). What is live is
	 * weighed the same way before one starts. */
	unsigned int compact_slice;
	uint64_t compact_slice_bytes;
	struct obj_compact_run *compact_run;
	uint64_t compact_slices_last, compact_reflected_last, compact_abandoned;
	uint64_t compact_slice_recs_max, compact_work_ns_last;
	uint64_t compact_weigh_ns_max;  /* the longest slice of a weighing */
	uint64_t compact_slice_drains;  /* the pool's drains after the last slice */
	/* Unfinished multipart uploads (mpstore.h). */
	struct obj_mpu_set *mpu;
	/* --stage-cycles: where the servers' cycles go (stages.h); the
	 * log's CRC is counted here too. */
	struct obj_stages stages;
};

/* Claim the pool's root slots as paste-objects (refusing another
 * program's pool), replay the log, rebuild the index, check that every
 * live object's and part's bytes recorded after the drained mark have the
 * MD5 its record gives (one that does not was written in the batch a
 * power loss cut: the log is replayed again, cut before its record, so
 * that the key falls back to its previous version), make those bytes and
 * the log durable and the mark the log's end, and reconcile the pool.
 * Before the stack exists (no buffer lent). @return 0 or a negative
 * errno (-PST_EOWNER: another program's pool). */
int obj_store_open(struct obj_store *st, struct pst_pool *pool);
/* Free the store's DRAM; after a successful open, a drain first and the
 * mark at the log's end, so that the next start hashes nothing. */
void obj_store_close(struct obj_store *st);

/* Release the buffers of dropped versions once a drain has passed since
 * they were dropped, and advance the drained mark (a drain since the
 * records were appended: stored, flushed, durable after the next drain).
 * Cheap: call it often, after drains. */
void obj_store_release_durable(struct obj_store *st);
/* ... and compacts the log when its dead share passes the threshold
 * (compact.h), which drains: call it between requests, not inside one. */

/* Append @r to the log (obj_log_append); when no buffer is free for it,
 * the log is compacted if that gives buffers back, and @r appended again.
 * @return 0 or obj_log_append's error. */
int obj_store_append(struct obj_store *st, const struct obj_rec *r);

/* A body of @len bytes: refused if it could never fit (-EFBIG: larger
 * than S3's 5 GiB or than the pool's usable part), or not now (-ENOSPC);
 * otherwise its buffers are promised (@bufs, for obj_store_unreserve). */
int obj_store_reserve(struct obj_store *st, uint64_t len, uint64_t *bufs);
void obj_store_unreserve(struct obj_store *st, uint64_t bufs);

/* Buffer references (an upload's names as they are kept). */
void obj_store_ref(struct obj_store *st, pst_name name);
void obj_store_unref(struct obj_store *st, pst_name name);
/* The distinct buffers of @names, in order, referenced or unreferenced. */
void obj_store_ref_names(struct obj_store *st, const pst_name *names, uint32_t n, int delta);

const struct obj_bucket *obj_store_bucket(const struct obj_store *st, const char *name);
/* @return 0, -EEXIST, -ENOBUFS / -ENOMEM (log). */
int obj_store_bucket_add(struct obj_store *st, const char *name, int64_t now);
/* @return 0, -ENOENT, -ENOTEMPTY, or the log's error. */
int obj_store_bucket_del(struct obj_store *st, const char *name);

/* The object @key of @bucket, or NULL. */
struct obj_version *obj_store_get(const struct obj_store *st, const char *bucket,
				  const char *key, size_t key_len);
/* Store a new version (its names' buffer references move to it): the
 * record appended and flushed, the index updated, the version it replaces
 * released after the next drain. @return 0, or the log's error (nothing
 * changed, the references stay the caller's). */
int obj_store_put(struct obj_store *st, const char *bucket, const char *key, size_t key_len,
		  struct obj_version *v);
/* @return 0 (deleted, or there was nothing), or the log's error. */
int obj_store_del(struct obj_store *st, const char *bucket, const char *key, size_t key_len);

/* Store @v (its names' references move to it) under the key of @r, a
 * record of type OBJ_REC_PUT or OBJ_REC_MPU_DONE for it: appended and
 * flushed, the index updated, the version replaced released after the
 * next drain. @v->etag is the caller's. @return 0, or the log's error. */
int obj_store_put_rec(struct obj_store *st, const struct obj_rec *r, const char *bucket,
		      struct obj_version *v);
/* Drop one reference of each distinct buffer of @names after the next
 * drain (buffers a record just stopped naming). */
void obj_store_unref_later(struct obj_store *st, const pst_name *names, uint32_t n);

/* A new version with copies of @ctype and @meta, and room for @n_names
 * names (v->n_names = 0). NULL when out of memory. */
struct obj_version *obj_version_new(const char *ctype, size_t ctype_len, const char *meta,
				    size_t meta_len, uint32_t n_names);
/* CopyObject's new version: @src's names (one more reference each: no
 * byte copied), size and MD5, with copies of @ctype and @meta, modified
 * at @now. The copy is a single object: of a multipart @src, its bytes
 * are hashed for its MD5 (its ETag, as S3 gives it, and what recovery
 * checks them against). NULL when out of memory. */
struct obj_version *obj_store_copy_version(struct obj_store *st, const struct obj_version *src,
					   const char *ctype, size_t ctype_len, const char *meta,
					   size_t meta_len, int64_t now);
/* Drop a reference; at zero its buffers are released after the next drain. */
void obj_version_put(struct obj_store *st, struct obj_version *v);

/* Whether the bytes of @names hash to @md5 (MD5). */
int obj_store_names_whole(const struct obj_store *st, const pst_name *names, uint32_t n,
			  const uint8_t md5[16]);

/* The first object of @bucket whose key is >= @from (@from_len bytes):
 * an index into st->objs, or st->n_objs. */
size_t obj_store_seek(const struct obj_store *st, const char *bucket, const char *from,
		      size_t from_len);
/* Whether st->objs[i] is in @bucket. */
int obj_store_in_bucket(const struct obj_store *st, size_t i, const char *bucket);

#endif /* OBJ_OSTORE_H */
