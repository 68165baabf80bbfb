/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: S3's response bodies, written with xml.h. Each function
 * writes one whole document into @x (obj_xml_init'ed by the caller) from
 * what the operation found; the route (route.h) supplies what the request
 * asked (prefix, delimiter, markers, encoding-type).
 */
#ifndef OBJ_S3XML_H
#define OBJ_S3XML_H

#include <stdint.h>
#include <time.h>

#include "route.h"
#include "xml.h"

struct obj_owner {
	const char *id, *display_name;
};

/* <Error>: S3's @code and @message, the @resource ("/bucket/key") and
 * @request_id. */
void obj_s3xml_error(struct obj_xml *x, const char *code, const char *message,
		     const char *resource, const char *request_id);

struct obj_bucket_entry {
	const char *name;
	time_t created;
};
void obj_s3xml_list_buckets(struct obj_xml *x, const struct obj_owner *owner,
			    const struct obj_bucket_entry *b, unsigned int n);

/* One object of a listing. @etag is the quoted ETag ("\"9b2c...\""). */
struct obj_object_entry {
	struct obj_str key;
	time_t mtime;
	const char *etag;
	uint64_t size;
};

struct obj_list_result {
	const struct obj_object_entry *objects;
	unsigned int n_objects;
	const struct obj_str *prefixes;         /* CommonPrefixes */
	unsigned int n_prefixes;
	int truncated;
	struct obj_str next;                    /* v1 NextMarker (with a
	                                         * delimiter), v2
	                                         * NextContinuationToken */
	const struct obj_owner *owner;          /* v1 always, v2 with fetch-owner */
};

/* ListBucketResult, version 1 or 2 as @rt->op says. */
void obj_s3xml_list_objects(struct obj_xml *x, const struct obj_route *rt,
			    const struct obj_list_result *res);

void obj_s3xml_initiate_upload(struct obj_xml *x, const char *bucket, const struct obj_str *key,
			       const char *upload_id);
void obj_s3xml_complete_upload(struct obj_xml *x, const char *location, const char *bucket,
			       const struct obj_str *key, const char *etag);
void obj_s3xml_copy_result(struct obj_xml *x, const char *etag, time_t mtime, int part);

/* DeleteResult: each key deleted, or its error (code NULL: deleted). */
struct obj_delete_entry {
	struct obj_str key;
	const char *code, *message;
};
void obj_s3xml_delete_result(struct obj_xml *x, const struct obj_delete_entry *e,
			     unsigned int n, int quiet);

struct obj_part_entry {
	unsigned int number;
	time_t mtime;
	const char *etag;
	uint64_t size;
};
void obj_s3xml_list_parts(struct obj_xml *x, const struct obj_route *rt,
			  const struct obj_owner *owner, const struct obj_part_entry *p,
			  unsigned int n, int truncated, unsigned int next_marker);

struct obj_upload_entry {
	struct obj_str key;
	const char *upload_id;
	time_t initiated;
};
/* ListMultipartUploadsResult: @u[0..n) then the CommonPrefixes
 * @prefixes[0..n_prefixes); the next markers only when @truncated
 * (@next_upload_id "" after a common prefix). */
void obj_s3xml_list_uploads(struct obj_xml *x, const struct obj_route *rt,
			    const struct obj_owner *owner, const struct obj_upload_entry *u,
			    unsigned int n, const struct obj_str *prefixes,
			    unsigned int n_prefixes, int truncated, const struct obj_str *next_key,
			    const char *next_upload_id);

#endif /* OBJ_S3XML_H */
