/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: an S3 request, path style, turned into an operation and
 * its arguments (doc/objects.md, "Requests"). The target is
 * "/bucket/key?query"; the bucket and key are percent-decoded once ('+' is
 * a '+', "//" and "." segments are part of the key: S3 normalizes nothing).
 * Query values and headers the operations read are decoded into the
 * route's own arena, so a route outlives nothing it points to but itself.
 *
 * Refused here (obj_route_parse's enum obj_err): broken escapes and keys
 * that are not UTF-8 (InvalidURI), bucket names S3 would refuse, keys over
 * 1,024 bytes, query values out of range, methods a resource does not take,
 * subresources not served (?acl, ?versioning...: NotImplemented), a
 * Content-MD5 that is not 16 bytes of base64, user metadata over 2 KiB.
 * Malformed Range and date headers are ignored, as HTTP and S3 do.
 */
#ifndef OBJ_ROUTE_H
#define OBJ_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3err.h"
#include "sigv4.h"                      /* struct obj_header */

#define OBJ_OBJECT_KEY_MAX 1024         /* bytes of a key, as S3 */
#define OBJ_BUCKET_NAME_MAX 63
#define OBJ_MAX_KEYS_DEFAULT 1000       /* listings: at most, and by default */
#define OBJ_PART_NUMBER_MAX 10000
#define OBJ_META_MAX 2048               /* bytes of x-amz-meta-* names and values */
#define OBJ_META_COUNT_MAX 64
#define OBJ_ROUTE_ARENA 16384           /* decoded query values and headers */

enum obj_op {
	OBJ_OP_NONE = 0,
	OBJ_OP_LIST_BUCKETS,            /* GET / */
	OBJ_OP_CREATE_BUCKET,           /* PUT /b */
	OBJ_OP_DELETE_BUCKET,           /* DELETE /b */
	OBJ_OP_HEAD_BUCKET,             /* HEAD /b */
	OBJ_OP_GET_BUCKET_LOCATION,     /* GET /b?location */
	OBJ_OP_LIST_OBJECTS,            /* GET /b */
	OBJ_OP_LIST_OBJECTS_V2,         /* GET /b?list-type=2 */
	OBJ_OP_LIST_UPLOADS,            /* GET /b?uploads */
	OBJ_OP_DELETE_OBJECTS,          /* POST /b?delete */
	OBJ_OP_PUT_OBJECT,              /* PUT /b/k */
	OBJ_OP_COPY_OBJECT,             /* PUT /b/k, x-amz-copy-source */
	OBJ_OP_GET_OBJECT,              /* GET /b/k */
	OBJ_OP_HEAD_OBJECT,             /* HEAD /b/k */
	OBJ_OP_DELETE_OBJECT,           /* DELETE /b/k */
	OBJ_OP_CREATE_UPLOAD,           /* POST /b/k?uploads */
	OBJ_OP_UPLOAD_PART,             /* PUT /b/k?partNumber=N&uploadId=U */
	OBJ_OP_UPLOAD_PART_COPY,        /* the same, x-amz-copy-source */
	OBJ_OP_COMPLETE_UPLOAD,         /* POST /b/k?uploadId=U */
	OBJ_OP_ABORT_UPLOAD,            /* DELETE /b/k?uploadId=U */
	OBJ_OP_LIST_PARTS,              /* GET /b/k?uploadId=U */
	OBJ_OP_COUNT
};

/* Bytes in the route's arena (or NULL when not given). */
struct obj_str {
	const char *p;
	size_t len;
};

struct obj_meta {
	struct obj_str name;            /* after "x-amz-meta-", lower case */
	struct obj_str value;
};

struct obj_route {
	enum obj_op op;
	char bucket[OBJ_BUCKET_NAME_MAX + 1];
	struct obj_str key;             /* object operations: 1..1024 bytes */

	/* Listings. */
	struct obj_str prefix, delimiter, marker, start_after, continuation_token;
	struct obj_str key_marker, upload_id_marker;
	unsigned int max_keys;          /* max-keys, max-uploads or max-parts */
	unsigned int part_number_marker;
	int encoding_url;               /* encoding-type=url */
	int fetch_owner;

	/* Multipart. */
	struct obj_str upload_id;
	unsigned int part_number;       /* 1..10000; 0: none */

	/* Headers. */
	int has_range;                  /* one "bytes=" range, well formed: */
	int64_t range_first, range_last; /* -1 first: the last range_last bytes;
	                                  * -1 last: to the end */
	struct obj_str if_match, if_none_match;
	time_t if_modified_since, if_unmodified_since; /* 0: none (or malformed) */
	int has_content_md5;
	uint8_t content_md5[16];
	struct obj_str content_type;
	int has_content_length;
	uint64_t content_length;
	struct obj_meta meta[OBJ_META_COUNT_MAX];
	unsigned int n_meta;
	/* x-amz-copy-source: "bucket/key", decoded. */
	char copy_bucket[OBJ_BUCKET_NAME_MAX + 1];
	struct obj_str copy_key;
	int metadata_replace;           /* x-amz-metadata-directive: REPLACE */
	/* x-amz-copy-source-range "bytes=first-last" (UploadPartCopy): 1
	 * given and well formed, -1 malformed, 0 absent. */
	int has_copy_range;
	uint64_t copy_first, copy_last;

	size_t arena_used;
	char arena[OBJ_ROUTE_ARENA];
};

/*
 * Route @method on @target (its @len bytes: path, then '?' and the query)
 * with the request's @headers. @return OBJ_OK with @rt filled in, or the
 * error to answer with.
 */
enum obj_err obj_route_parse(const char *method, const char *target, size_t len,
			     const struct obj_header *headers, unsigned int n_headers,
			     struct obj_route *rt);

/* Whether @name (@len bytes) is a bucket name S3 accepts: 3 to 63 bytes of
 * lower-case letters, digits, '.' and '-', a letter or digit at each end,
 * no "..", not an IPv4 address, no "xn--" prefix nor "-s3alias" suffix. */
int obj_bucket_name_valid(const char *name, size_t len);

/* The operation's name ("PutObject"), for logs. */
const char *obj_op_name(enum obj_op op);

/* The request's x-amz-meta-* as "name\0value\0" pairs in @meta (room for
 * OBJ_META_MAX + 2 * OBJ_META_COUNT_MAX bytes), as objects store them.
 * @return its length. */
size_t obj_route_meta(const struct obj_route *rt, char *meta);

#endif /* OBJ_ROUTE_H */
