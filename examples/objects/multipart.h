/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: S3's multipart operations (doc/objects.md, "Multipart
 * uploads") on the uploads of the store (mpstore.h): CreateMultipartUpload,
 * UploadPart (its body received as a PutObject's: kept where it arrived,
 * hashed in place), CompleteMultipartUpload (its XML body read whole, as
 * DeleteObjects'), AbortMultipartUpload, ListParts, ListMultipartUploads.
 * Errors as S3 gives them: NoSuchUpload, InvalidPart, InvalidPartOrder,
 * EntityTooSmall, MalformedXML; past the quota TooManyUploads (uploads) or
 * EntityTooLarge (bytes of parts), both 400 so that clients do not retry.
 */
#ifndef OBJ_MULTIPART_H
#define OBJ_MULTIPART_H

#include <stdint.h>
#include <time.h>

#include "handler.h"
#include "route.h"
#include "sigv4.h"

struct obj_put;
struct obj_body_req;
struct obj_version;

/* Create, Complete (its body to be read: out->body_req), Abort,
 * ListParts, ListMultipartUploads: answered into @out. */
void obj_mpu_handle(struct obj_service *svc, const struct obj_route *rt,
		    const struct obj_sigv4_auth *auth, const struct obj_http_req *req,
		    const char *resource, uint64_t id, time_t now, struct obj_response *out);

/* UploadPart's head: the bucket, the upload and the bytes quota checked.
 * @return 1 when refused (answered into @out), 0 to receive the body. */
int obj_mpu_part_begin(struct obj_service *svc, const struct obj_route *rt,
		       const char *resource, uint64_t id, time_t now, struct obj_response *out);

/* UploadPartCopy: part @rt->part_number of the upload made of the
 * source object's bytes (x-amz-copy-source), all or the range
 * x-amz-copy-source-range gives, by its names (sub-ranges of the ends'
 * buffers; no byte copied), hashed in place for its MD5, recorded as an
 * UploadPart's. Answered into @out: CopyPartResult, or NoSuchBucket,
 * NoSuchUpload, NoSuchKey, InvalidArgument (a range malformed or past
 * the source), EntityTooLarge (the bytes quota). */
void obj_mpu_part_copy(struct obj_service *svc, const struct obj_route *rt,
		       const char *resource, uint64_t id, time_t now, struct obj_response *out);

/* UploadPart's body will arrive (@put accepted after
 * obj_mpu_part_begin, in the same turn): its length is held against the
 * bytes quota until obj_mpu_part_release. */
void obj_mpu_part_arriving(struct obj_service *svc, struct obj_put *put);
/* @put ends (stored, refused or cut): what it held is given back. */
void obj_mpu_part_release(struct obj_service *svc, struct obj_put *put);

/* UploadPart's body is whole and checked (@v: its names, size, MD5):
 * recorded as the part, the 200 with its ETag in @out, @v freed.
 * @return 0, or -1 with the error answered in @out and @v untouched. */
int obj_mpu_part_done(struct obj_service *svc, struct obj_put *put, struct obj_version *v,
		      time_t now, struct obj_response *out);

/* CompleteMultipartUpload's body is whole and its digests checked: the
 * parts checked, the object recorded, the result in @out. */
void obj_mpu_complete_done(struct obj_service *svc, struct obj_body_req *b, time_t now,
			   struct obj_response *out);

#endif /* OBJ_MULTIPART_H */
