/* SPDX-License-Identifier: BSD-3-Clause */
/* S3's response bodies (s3xml.h). */
#include <string.h>

#include "s3xml.h"

static void
str_or_empty(struct obj_xml *x, const char *name, const struct obj_str *s, int enc)
{
	obj_xml_urlenc(x, name, s->p != NULL ? s->p : "", s->len, enc);
}

static void
owner(struct obj_xml *x, const char *elem, const struct obj_owner *o)
{
	obj_xml_open(x, elem, NULL);
	obj_xml_str(x, "ID", o->id);
	obj_xml_str(x, "DisplayName", o->display_name);
	obj_xml_close(x);
}

void
obj_s3xml_error(struct obj_xml *x, const char *code, const char *message,
		const char *resource, const char *request_id)
{
	obj_xml_open(x, "Error", NULL);
	obj_xml_str(x, "Code", code);
	obj_xml_str(x, "Message", message);
	if (resource != NULL)
		obj_xml_str(x, "Resource", resource);
	obj_xml_str(x, "RequestId", request_id);
	obj_xml_close(x);
}

void
obj_s3xml_list_buckets(struct obj_xml *x, const struct obj_owner *o,
		       const struct obj_bucket_entry *b, unsigned int n)
{
	unsigned int i;

	obj_xml_open(x, "ListAllMyBucketsResult", OBJ_S3_XMLNS);
	owner(x, "Owner", o);
	obj_xml_open(x, "Buckets", NULL);
	for (i = 0; i < n; i++) {
		obj_xml_open(x, "Bucket", NULL);
		obj_xml_str(x, "Name", b[i].name);
		obj_xml_time(x, "CreationDate", b[i].created);
		obj_xml_close(x);
	}
	obj_xml_close(x);
	obj_xml_close(x);
}

void
obj_s3xml_list_objects(struct obj_xml *x, const struct obj_route *rt,
		       const struct obj_list_result *res)
{
	int v2 = rt->op == OBJ_OP_LIST_OBJECTS_V2, enc = rt->encoding_url;
	unsigned int i;

	obj_xml_open(x, "ListBucketResult", OBJ_S3_XMLNS);
	obj_xml_str(x, "Name", rt->bucket);
	str_or_empty(x, "Prefix", &rt->prefix, enc);
	if (v2) {
		if (rt->continuation_token.p != NULL)
			str_or_empty(x, "ContinuationToken", &rt->continuation_token, 0);
		if (rt->start_after.p != NULL)
			str_or_empty(x, "StartAfter", &rt->start_after, enc);
		obj_xml_u64(x, "KeyCount", res->n_objects + res->n_prefixes);
	} else {
		str_or_empty(x, "Marker", &rt->marker, enc);
	}
	obj_xml_u64(x, "MaxKeys", rt->max_keys);
	if (rt->delimiter.p != NULL)
		str_or_empty(x, "Delimiter", &rt->delimiter, enc);
	if (enc)
		obj_xml_str(x, "EncodingType", "url");
	obj_xml_bool(x, "IsTruncated", res->truncated);
	if (res->truncated && res->next.p != NULL) {
		if (v2)
			str_or_empty(x, "NextContinuationToken", &res->next, 0);
		else if (rt->delimiter.p != NULL)
			str_or_empty(x, "NextMarker", &res->next, enc);
	}
	for (i = 0; i < res->n_objects; i++) {
		const struct obj_object_entry *o = &res->objects[i];

		obj_xml_open(x, "Contents", NULL);
		str_or_empty(x, "Key", &o->key, enc);
		obj_xml_time(x, "LastModified", o->mtime);
		obj_xml_str(x, "ETag", o->etag);
		obj_xml_u64(x, "Size", o->size);
		if (res->owner != NULL && (!v2 || rt->fetch_owner))
			owner(x, "Owner", res->owner);
		obj_xml_str(x, "StorageClass", "STANDARD");
		obj_xml_close(x);
	}
	for (i = 0; i < res->n_prefixes; i++) {
		obj_xml_open(x, "CommonPrefixes", NULL);
		str_or_empty(x, "Prefix", &res->prefixes[i], enc);
		obj_xml_close(x);
	}
	obj_xml_close(x);
}

void
obj_s3xml_initiate_upload(struct obj_xml *x, const char *bucket, const struct obj_str *key,
			  const char *upload_id)
{
	obj_xml_open(x, "InitiateMultipartUploadResult", OBJ_S3_XMLNS);
	obj_xml_str(x, "Bucket", bucket);
	str_or_empty(x, "Key", key, 0);
	obj_xml_str(x, "UploadId", upload_id);
	obj_xml_close(x);
}

void
obj_s3xml_complete_upload(struct obj_xml *x, const char *location, const char *bucket,
			  const struct obj_str *key, const char *etag)
{
	obj_xml_open(x, "CompleteMultipartUploadResult", OBJ_S3_XMLNS);
	obj_xml_str(x, "Location", location);
	obj_xml_str(x, "Bucket", bucket);
	str_or_empty(x, "Key", key, 0);
	obj_xml_str(x, "ETag", etag);
	obj_xml_close(x);
}

void
obj_s3xml_copy_result(struct obj_xml *x, const char *etag, time_t mtime, int part)
{
	obj_xml_open(x, part ? "CopyPartResult" : "CopyObjectResult", OBJ_S3_XMLNS);
	obj_xml_time(x, "LastModified", mtime);
	obj_xml_str(x, "ETag", etag);
	obj_xml_close(x);
}

void
obj_s3xml_delete_result(struct obj_xml *x, const struct obj_delete_entry *e,
			unsigned int n, int quiet)
{
	unsigned int i;

	obj_xml_open(x, "DeleteResult", OBJ_S3_XMLNS);
	for (i = 0; i < n; i++) {
		if (e[i].code == NULL) {
			/* Quiet mode reports errors only. */
			if (quiet)
				continue;
			obj_xml_open(x, "Deleted", NULL);
			str_or_empty(x, "Key", &e[i].key, 0);
			obj_xml_close(x);
		} else {
			obj_xml_open(x, "Error", NULL);
			str_or_empty(x, "Key", &e[i].key, 0);
			obj_xml_str(x, "Code", e[i].code);
			obj_xml_str(x, "Message", e[i].message != NULL ? e[i].message : "");
			obj_xml_close(x);
		}
	}
	obj_xml_close(x);
}

void
obj_s3xml_list_parts(struct obj_xml *x, const struct obj_route *rt,
		     const struct obj_owner *o, const struct obj_part_entry *p,
		     unsigned int n, int truncated, unsigned int next_marker)
{
	unsigned int i;

	obj_xml_open(x, "ListPartsResult", OBJ_S3_XMLNS);
	obj_xml_str(x, "Bucket", rt->bucket);
	str_or_empty(x, "Key", &rt->key, 0);
	str_or_empty(x, "UploadId", &rt->upload_id, 0);
	owner(x, "Initiator", o);
	owner(x, "Owner", o);
	obj_xml_str(x, "StorageClass", "STANDARD");
	obj_xml_u64(x, "PartNumberMarker", rt->part_number_marker);
	if (truncated)
		obj_xml_u64(x, "NextPartNumberMarker", next_marker);
	obj_xml_u64(x, "MaxParts", rt->max_keys);
	obj_xml_bool(x, "IsTruncated", truncated);
	for (i = 0; i < n; i++) {
		obj_xml_open(x, "Part", NULL);
		obj_xml_u64(x, "PartNumber", p[i].number);
		obj_xml_time(x, "LastModified", p[i].mtime);
		obj_xml_str(x, "ETag", p[i].etag);
		obj_xml_u64(x, "Size", p[i].size);
		obj_xml_close(x);
	}
	obj_xml_close(x);
}

void
obj_s3xml_list_uploads(struct obj_xml *x, const struct obj_route *rt,
		       const struct obj_owner *o, const struct obj_upload_entry *u,
		       unsigned int n, const struct obj_str *prefixes, unsigned int n_prefixes,
		       int truncated, const struct obj_str *next_key, const char *next_upload_id)
{
	int enc = rt->encoding_url;
	unsigned int i;

	obj_xml_open(x, "ListMultipartUploadsResult", OBJ_S3_XMLNS);
	obj_xml_str(x, "Bucket", rt->bucket);
	str_or_empty(x, "KeyMarker", &rt->key_marker, enc);
	str_or_empty(x, "UploadIdMarker", &rt->upload_id_marker, 0);
	if (truncated && next_key != NULL) {
		str_or_empty(x, "NextKeyMarker", next_key, enc);
		obj_xml_str(x, "NextUploadIdMarker", next_upload_id != NULL ? next_upload_id : "");
	}
	if (rt->prefix.p != NULL)
		str_or_empty(x, "Prefix", &rt->prefix, enc);
	if (rt->delimiter.p != NULL)
		str_or_empty(x, "Delimiter", &rt->delimiter, enc);
	if (enc)
		obj_xml_str(x, "EncodingType", "url");
	obj_xml_u64(x, "MaxUploads", rt->max_keys);
	obj_xml_bool(x, "IsTruncated", truncated);
	for (i = 0; i < n; i++) {
		obj_xml_open(x, "Upload", NULL);
		str_or_empty(x, "Key", &u[i].key, enc);
		obj_xml_str(x, "UploadId", u[i].upload_id);
		owner(x, "Initiator", o);
		owner(x, "Owner", o);
		obj_xml_str(x, "StorageClass", "STANDARD");
		obj_xml_time(x, "Initiated", u[i].initiated);
		obj_xml_close(x);
	}
	for (i = 0; i < n_prefixes; i++) {
		obj_xml_open(x, "CommonPrefixes", NULL);
		str_or_empty(x, "Prefix", &prefixes[i], enc);
		obj_xml_close(x);
	}
	obj_xml_close(x);
}
