/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: unfinished multipart uploads in the store (doc/objects.md,
 * "Multipart uploads"). An upload and each of its parts are records of the
 * object log (olog.h), so they survive restarts; a part's bytes stay in
 * the pool buffers they arrived in (its names), referenced like an
 * object's. Completion writes one record: the object, named by the
 * concatenation of its parts' names (no byte copied), which also ends the
 * upload; an abort or an expiry writes one record that ends it. Parts no
 * longer named are released after the next drain, as a replaced version.
 * The uploads are few (a quota), so they are kept in a small sorted array.
 */
#ifndef OBJ_MPSTORE_H
#define OBJ_MPSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "olog.h"
#include "ostore.h"

#define OBJ_MPU_MIN_PART (5ull << 20)   /* S3: every part but the last */
#define OBJ_MPU_EXPIRY_DEFAULT 86400    /* seconds: one day */
#define OBJ_MPU_UPLOADS_DEFAULT 1000
#define OBJ_MPU_ID_LEN 16               /* hex digits of an upload id */

struct obj_mpu_part {
	uint32_t number;                /* 1..10000 */
	uint64_t size;
	int64_t mtime;
	uint8_t md5[16];
	pst_name *names;
	uint32_t n_names;
	uint64_t seq;                   /* recovery: its record's */
};

struct obj_mpu {
	uint64_t id;
	char bucket[64];
	char *key, *ctype, *meta;
	uint16_t key_len, ctype_len, meta_len;
	int64_t initiated;
	struct obj_mpu_part *parts;     /* sorted by number */
	uint32_t n_parts, cap_parts;
	uint64_t bytes;                 /* of its parts */
};

struct obj_mpu_set {
	struct obj_mpu **u;             /* sorted by bucket, key, id */
	size_t n, cap;
	uint64_t bytes;                 /* of every upload's parts */
	uint64_t arriving;              /* of the parts whose body arrives */
	/* Limits (options; 0 max_bytes: half of what the pool can hold). */
	uint64_t max_uploads, max_bytes, min_part;
	int64_t expiry, last_sweep;
	uint64_t created, parts, completed, aborted, expired;
};

/* The (empty) set of uploads, with the default limits, before the log is
 * replayed. @return 0 or -ENOMEM. */
int obj_mpu_init(struct obj_store *st);
void obj_mpu_free(struct obj_store *st);

/* Replay a multipart record (OBJ_REC_MPU_*; for MPU_DONE, only the end
 * of its upload: the object is the store's). @return 0, -ENOMEM or -EIO. */
int obj_mpu_replay(struct obj_store *st, const struct obj_rec *r);

/* At the replay of @r (OBJ_REC_MPU_DONE, before obj_mpu_replay ends its
 * upload): the parts its names are made of, as @v->sums, for recovery's
 * check of the bytes. Left NULL when they cannot be told. @return 0 or
 * -ENOMEM. */
int obj_mpu_done_sums(const struct obj_store *st, const struct obj_rec *r,
		      struct obj_version *v);

/* The earliest record (its sequence number) of a part of an upload,
 * recorded at @from or later, whose bytes fail its MD5, or UINT64_MAX;
 * the bytes hashed added to *@hashed. */
uint64_t obj_mpu_first_cut(const struct obj_store *st, uint64_t from, uint64_t *hashed);

/* Flush the bytes of the parts recorded at @from or later. */
void obj_mpu_flush_since(struct obj_store *st, uint64_t from);

/* Names the uploads hold, for the reconciliation at start: their count,
 * then each written to @out (room for the count) and referenced. */
size_t obj_mpu_names_count(const struct obj_store *st);
size_t obj_mpu_names_collect(struct obj_store *st, pst_name *out);

/* Whether @bucket has an unfinished upload. */
int obj_mpu_in_bucket(const struct obj_store *st, const char *bucket);

/* The upload @id (its hex form, @id_len bytes) of @bucket / @key, or NULL. */
struct obj_mpu *obj_mpu_find(const struct obj_store *st, const char *bucket, const char *key,
			     size_t key_len, const char *id, size_t id_len);
/* "%016x" of @u's id. */
void obj_mpu_id_str(const struct obj_mpu *u, char out[OBJ_MPU_ID_LEN + 1]);
/* Part @number of @u, or NULL. */
const struct obj_mpu_part *obj_mpu_part_find(const struct obj_mpu *u, unsigned int number);

/* A new upload, recorded. @return 0 (*@out set), -EDQUOT (the uploads
 * quota), -ENOMEM, or the log's error. */
int obj_mpu_create(struct obj_store *st, const char *bucket, const char *key, size_t key_len,
		   const char *ctype, size_t ctype_len, const char *meta, size_t meta_len,
		   int64_t now, struct obj_mpu **out);

/* Whether @len more bytes of parts fit the bytes quota, with the parts
 * stored and those still arriving. */
int obj_mpu_bytes_fit(const struct obj_store *st, uint64_t len);

/* Part @number of @u from @v's names (their references move to the part;
 * @v is freed), size and MD5, recorded; a part of that number before it
 * released after the next drain. @return 0, or -ENOMEM / the log's error
 * (@v untouched). */
int obj_mpu_part_put(struct obj_store *st, struct obj_mpu *u, unsigned int number,
		     struct obj_version *v, int64_t now);

/* Complete @u as the object of its parts @idx[0..n) (indexes into
 * u->parts, in order, checked by the caller): one record, the version
 * installed (the one it replaces released after the next drain), the
 * upload ended. *@etag gets the ETag. @return 0, -ENOMEM or the log's
 * error (nothing changed). */
int obj_mpu_complete(struct obj_store *st, struct obj_mpu *u, const uint32_t *idx, uint32_t n,
		     int64_t now, char etag[OBJ_ETAG_MAX]);

/* End @u (aborted, or @expired): recorded, its parts released after the
 * next drain. @return 0 or the log's error. */
int obj_mpu_abort(struct obj_store *st, struct obj_mpu *u, int expired);

/* Abort the uploads older than the expiry (at most once a second). */
void obj_mpu_expire(struct obj_store *st, int64_t now);

#endif /* OBJ_MPSTORE_H */
