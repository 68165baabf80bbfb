/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the operations that read or change the store (ostore.h),
 * answered from a request routed and authenticated by handler.c. A
 * PutObject is answered in two steps: its head is checked and its body's
 * buffers promised (obj_ops_handle leaves an obj_put in the response),
 * then, once the server has received and kept the body, obj_ops_put_done
 * stores it.
 */
#ifndef OBJ_OPS_H
#define OBJ_OPS_H

#include <stdint.h>
#include <time.h>

#include "chunked.h"
#include "handler.h"
#include "ostore.h"
#include "route.h"
#include "sigv4.h"
#include "xml.h"

#define OBJ_CTYPE_MAX 1024             /* bytes of a stored Content-Type */

/* A PutObject waiting for its body. */
struct obj_put {
	char bucket[OBJ_BUCKET_NAME_MAX + 1];
	char *key, *ctype, *meta;
	uint16_t key_len, ctype_len, meta_len;
	uint64_t length;
	int has_md5, has_sha256;
	uint8_t md5[16], sha256[32];
	uint64_t reserved;              /* buffers promised (obj_store_reserve) */
	/* aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): the body is
	 * framed and each chunk signed; @length is the decoded length. */
	int chunked;
	struct obj_sigv4_auth auth;     /* the decoder's chain starts here */
	uint64_t id;
	char resource[512];
	/* UploadPart (multipart.h): the part's number (0: a PutObject) and
	 * its upload's id, looked up again when the body is whole. */
	unsigned int part;
	char upload_id[40];
	uint64_t mpu_reserved;          /* bytes held against --mpu-max-bytes */
};

/* A request answered once its (small) body is whole: DeleteObjects,
 * CompleteMultipartUpload. */
struct obj_body_req {
	enum obj_op op;
	char bucket[OBJ_BUCKET_NAME_MAX + 1];
	int has_md5, has_sha256;
	uint8_t md5[16], sha256[32];
	char *buf;                      /* length bytes, filled by the server */
	size_t length, have;
	uint64_t id;
	char resource[512];
	/* CompleteMultipartUpload: the object's key and the upload's id. */
	char *key;
	uint16_t key_len;
	char upload_id[40];
};

/* Answer @rt from the store into @out. @return 1 when answered (or, for
 * a PutObject accepted, out->put set, or for a request that needs its
 * body, out->body_req), 0 when the operation is not served
 * from the store (the caller answers it). */
int obj_ops_handle(struct obj_service *svc, const struct obj_route *rt,
		   const struct obj_sigv4_auth *auth, const struct obj_http_req *req,
		   const char *resource, uint64_t id, time_t now, struct obj_response *out);

/* The body of @put has arrived: @v holds its names (their buffer
 * references), size, and MD5; @sha256 the SHA-256 of the bytes when
 * put->has_sha256; @body_err what the aws-chunked decoder said (0, or
 * -EACCES: a chunk's signature, else IncompleteBody). Checked (BadDigest,
 * XAmzContentSHA256Mismatch, SignatureDoesNotMatch, IncompleteBody) and
 * stored, or @v dropped; the reply in @out. @put is freed. */
void obj_ops_put_done(struct obj_service *svc, struct obj_put *put, struct obj_version *v,
		      const uint8_t sha256[32], int body_err, time_t now, int close,
		      struct obj_response *out);

/* The body of @b is whole (b->have == b->length): checked (BadDigest,
 * XAmzContentSHA256Mismatch) and the operation answered into @out. @b is
 * freed. */
void obj_ops_body_done(struct obj_service *svc, struct obj_body_req *b, time_t now, int close,
		       struct obj_response *out);
void obj_ops_body_free(struct obj_body_req *b);

/* A PutObject abandoned (the connection went): its promise withdrawn. */
void obj_ops_put_free(struct obj_service *svc, struct obj_put *put);

/* Replies, for the operations in other files (multipart.c): an S3 Error
 * document (@head_only: HEAD, no body); the store's -ENOBUFS/-ENOSPC as
 * 503 SlowDown, else 500; an XML document @x (finished and freed here);
 * an empty reply with @extra header lines. */
void obj_ops_answer_error(struct obj_response *out, int status, const char *code,
			  const char *msg, const char *resource, uint64_t id, time_t now,
			  int head_only);
void obj_ops_answer_store_error(struct obj_response *out, int err, const char *resource,
				uint64_t id, time_t now);
void obj_ops_answer_xml(struct obj_response *out, struct obj_xml *x, uint64_t id, time_t now);
void obj_ops_answer_empty(struct obj_response *out, int status, uint64_t id, time_t now,
			  const char *extra);

#endif /* OBJ_OPS_H */
