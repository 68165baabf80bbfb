/* SPDX-License-Identifier: BSD-3-Clause */
/* Operations on the store (ops.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "etag.h"
#include "mpstore.h"
#include "multipart.h"
#include "ops.h"
#include "s3xml.h"
#include "xml.h"
#include "xml_read.h"

static void
answer_error(struct obj_response *out, int status, const char *code, const char *msg,
	     const char *resource, uint64_t id, time_t now, int head_only)
{
	obj_resp_error(out, status, code, msg, resource, id);
	obj_resp_head(out, id, now, NULL, head_only ? 0 : out->body_len, NULL);
	if (head_only) {
		free(out->body);
		out->body = NULL;
		out->body_len = 0;
	}
}

/* The log could not take a record: the pool is out of buffers. */
static void
answer_store_error(struct obj_response *out, int err, const char *resource, uint64_t id,
		   time_t now)
{
	if (err == -ENOBUFS || err == -ENOSPC)
		answer_error(out, 503, "SlowDown", "The store is out of pool buffers", resource,
			     id, now, 0);
	else
		answer_error(out, 500, "InternalError", "The record could not be written",
			     resource, id, now, 0);
}

static void
answer_xml(struct obj_response *out, struct obj_xml *x, uint64_t id, time_t now)
{
	const char *doc;
	size_t len;

	if (obj_xml_finish(x, &doc, &len) != 0) {
		obj_xml_fini(x);
		answer_error(out, 500, "InternalError", "Out of memory", "", id, now, 0);
		return;
	}
	out->status = 200;
	out->body = x->buf;
	out->body_len = len;
	x->buf = NULL;
	obj_xml_fini(x);
	obj_resp_head(out, id, now, NULL, out->body_len, NULL);
}

static void
answer_empty(struct obj_response *out, int status, uint64_t id, time_t now, const char *extra)
{
	out->status = status;
	obj_resp_head(out, id, now, NULL, 0, extra);
}

static void
list_buckets(struct obj_store *st, const struct obj_sigv4_auth *auth, uint64_t id, time_t now,
	     struct obj_response *out)
{
	struct obj_owner owner = { auth->key->id, auth->key->id };
	struct obj_bucket_entry *b = calloc(st->n_buckets + 1, sizeof(*b));
	struct obj_xml x;
	unsigned int i;

	if (b == NULL) {
		answer_error(out, 500, "InternalError", "Out of memory", "/", id, now, 0);
		return;
	}
	for (i = 0; i < st->n_buckets; i++) {
		b[i].name = st->buckets[i].name;
		b[i].created = (time_t)st->buckets[i].created;
	}
	obj_xml_init(&x);
	obj_s3xml_list_buckets(&x, &owner, b, st->n_buckets);
	free(b);
	answer_xml(out, &x, id, now);
}

static int
has_prefix(const char *k, size_t kl, const struct obj_str *p)
{
	return p->p == NULL || (kl >= p->len && memcmp(k, p->p, p->len) == 0);
}

static int
str_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

/* ListObjects v1 and v2: keys in byte order from the greatest of the
 * prefix and the marker (exclusive), a common prefix reported once and
 * never again on a later page (whose marker is that prefix or a key in
 * it). */
static void
list_objects(struct obj_store *st, const struct obj_route *rt, const struct obj_sigv4_auth *auth,
	     uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_owner owner = { auth->key->id, auth->key->id };
	const struct obj_str *marker = rt->op == OBJ_OP_LIST_OBJECTS_V2 ?
		(rt->continuation_token.p != NULL ? &rt->continuation_token : &rt->start_after) :
		&rt->marker;
	const struct obj_str *pre = &rt->prefix, *del = &rt->delimiter;
	unsigned int max = rt->max_keys, n_obj = 0, n_pre = 0;
	struct obj_object_entry *objs = calloc(max + 1, sizeof(*objs));
	struct obj_str *pres = calloc(max + 1, sizeof(*pres));
	struct obj_list_result res = { 0 };
	const char *from = "";
	size_t from_len = 0, i;
	struct obj_xml x;

	if (objs == NULL || pres == NULL) {
		free(objs);
		free(pres);
		answer_error(out, 500, "InternalError", "Out of memory", "", id, now, 0);
		return;
	}
	if (pre->p != NULL) {
		from = pre->p;
		from_len = pre->len;
	}
	if (marker->p != NULL && str_cmp(marker->p, marker->len, from, from_len) > 0) {
		from = marker->p;
		from_len = marker->len;
	}
	for (i = obj_store_seek(st, rt->bucket, from, from_len);
	     obj_store_in_bucket(st, i, rt->bucket); i++) {
		const struct obj_entry *e = &st->objs[i];
		const char *k = e->key + e->bucket_len + 1;
		size_t kl = e->len - e->bucket_len - 1, cpl = 0;

		if (!has_prefix(k, kl, pre))
			break;          /* sorted: no later key has it */
		if (marker->p != NULL && str_cmp(k, kl, marker->p, marker->len) <= 0)
			continue;
		if (del->p != NULL && del->len > 0) {
			size_t off = pre->p != NULL ? pre->len : 0, j;

			for (j = off; j + del->len <= kl; j++) {
				if (memcmp(k + j, del->p, del->len) == 0) {
					cpl = j + del->len;
					break;
				}
			}
		}
		if (cpl > 0) {
			if (n_pre > 0 && pres[n_pre - 1].len == cpl &&
			    memcmp(pres[n_pre - 1].p, k, cpl) == 0)
				continue;
			if (marker->p != NULL && str_cmp(k, cpl, marker->p, marker->len) <= 0)
				continue;       /* reported on an earlier page */
		}
		if (n_obj + n_pre == max) {
			res.truncated = 1;
			break;
		}
		if (cpl > 0) {
			pres[n_pre].p = k;
			pres[n_pre].len = cpl;
			n_pre++;
			res.next = pres[n_pre - 1];
		} else {
			objs[n_obj].key.p = k;
			objs[n_obj].key.len = kl;
			objs[n_obj].mtime = (time_t)e->v->mtime;
			objs[n_obj].etag = e->v->etag;
			objs[n_obj].size = e->v->size;
			res.next = objs[n_obj].key;
			n_obj++;
		}
	}
	if (max == 0)
		res.truncated = 0;      /* as S3: nothing asked, nothing more */
	if (!res.truncated)
		res.next.p = NULL, res.next.len = 0;
	res.objects = objs;
	res.n_objects = n_obj;
	res.prefixes = pres;
	res.n_prefixes = n_pre;
	res.owner = rt->op == OBJ_OP_LIST_OBJECTS || rt->fetch_owner ? &owner : NULL;
	obj_xml_init(&x);
	obj_s3xml_list_objects(&x, rt, &res);
	free(objs);
	free(pres);
	answer_xml(out, &x, id, now);
}

static void
http_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* GetObject and HeadObject: conditions, one range, the head; the bytes
 * are sent by the server from the version's names. */
static void
get_object(struct obj_store *st, const struct obj_route *rt, const char *resource, uint64_t id,
	   time_t now, int head_only, struct obj_response *out)
{
	struct obj_version *v = obj_store_get(st, rt->bucket, rt->key.p, rt->key.len);
	char extra[3072], date[40];
	uint64_t first = 0, len;
	size_t n = 0, mi;
	int status;

	if (obj_store_bucket(st, rt->bucket) == NULL) {
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     resource, id, now, head_only);
		return;
	}
	if (v == NULL) {
		answer_error(out, 404, "NoSuchKey", "The specified key does not exist.",
			     resource, id, now, head_only);
		return;
	}
	http_date((time_t)v->mtime, date, sizeof(date));
	n += (size_t)snprintf(extra + n, sizeof(extra) - n,
			      "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
			      v->etag, date);
	status = obj_conditions(rt->if_match.p, rt->if_match.len, rt->if_none_match.p,
				rt->if_none_match.len, rt->if_modified_since,
				rt->if_unmodified_since, v->etag, (time_t)v->mtime, 1);
	if (status == 304) {
		out->status = 304;
		obj_resp_head(out, id, now, NULL, 0, extra);
		return;
	}
	if (status == 412) {
		answer_error(out, 412, "PreconditionFailed",
			     "At least one of the pre-conditions you specified did not hold",
			     resource, id, now, head_only);
		return;
	}
	len = v->size;
	status = 200;
	if (rt->has_range) {
		if (rt->range_first < 0) {
			uint64_t want = (uint64_t)rt->range_last;

			if (want == 0 || v->size == 0)
				goto bad_range;
			first = want < v->size ? v->size - want : 0;
		} else {
			first = (uint64_t)rt->range_first;
			if (first >= v->size)
				goto bad_range;
		}
		len = v->size - first;
		if (rt->range_first >= 0 && rt->range_last >= 0 &&
		    (uint64_t)rt->range_last < v->size - 1)
			len = (uint64_t)rt->range_last - first + 1;
		status = 206;
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
				      first, first + len - 1, v->size);
	}
	for (mi = 0; mi < v->meta_len && n < sizeof(extra);) {
		const char *name = v->meta + mi, *val = name + strlen(name) + 1;

		n += (size_t)snprintf(extra + n, sizeof(extra) - n, "x-amz-meta-%s: %s\r\n",
				      name, val);
		mi = (size_t)(val - v->meta) + strlen(val) + 1;
	}
	if (n >= sizeof(extra)) {
		answer_error(out, 500, "InternalError", "Metadata too large", resource, id, now,
			     head_only);
		return;
	}
	out->status = status;
	{
		char ctype[OBJ_META_MAX + 1];

		if (v->ctype_len > 0)
			snprintf(ctype, sizeof(ctype), "%.*s", (int)v->ctype_len, v->ctype);
		else
			snprintf(ctype, sizeof(ctype), "binary/octet-stream");
		obj_resp_head(out, id, now, ctype, len, extra);
	}
	if (!head_only && len > 0) {
		v->refs++;
		out->get_v = v;
		out->get_off = first;
		out->get_len = len;
	}
	return;
bad_range:
	{
		char cr[64];

		snprintf(cr, sizeof(cr), "Content-Range: bytes */%" PRIu64 "\r\n", v->size);
		obj_resp_error(out, 416, "InvalidRange", "The requested range is not satisfiable",
			       resource, id);
		obj_resp_head(out, id, now, NULL, head_only ? 0 : out->body_len, cr);
		if (head_only) {
			free(out->body);
			out->body = NULL;
			out->body_len = 0;
		}
	}
}

static char *
dup_bytes(const char *p, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		if (len)
			memcpy(d, p, len);
		d[len] = '\0';
	}
	return d;
}

void
obj_ops_put_free(struct obj_service *svc, struct obj_put *put)
{
	if (put == NULL)
		return;
	if (svc->store != NULL)
		obj_store_unreserve(svc->store, put->reserved);
	obj_mpu_part_release(svc, put);
	free(put->key);
	free(put->ctype);
	free(put->meta);
	free(put);
}

static int
hex_digest(const char *hex, uint8_t out[32])
{
	unsigned int i;

	for (i = 0; i < 32; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return hex[64] == '\0' ? 0 : -1;
}

/* The value of header @name as a decimal number. @return 0 or -1. */
static int
header_u64(const struct obj_http_req *req, const char *name, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < req->n_headers; i++) {
		const struct obj_header *h = &req->headers[i];
		char buf[24], *end;

		if (h->name_len != strlen(name) || strncasecmp(h->name, name, h->name_len) != 0)
			continue;
		if (h->value_len == 0 || h->value_len >= sizeof(buf) || h->value[0] < '0' ||
		    h->value[0] > '9')
			return -1;
		memcpy(buf, h->value, h->value_len);
		buf[h->value_len] = '\0';
		errno = 0;
		*v = strtoull(buf, &end, 10);
		return *end == '\0' && errno == 0 ? 0 : -1;
	}
	return -1;
}

static void
put_object(struct obj_service *svc, const struct obj_route *rt, const struct obj_sigv4_auth *auth,
	   const struct obj_http_req *req, const char *resource, uint64_t id, time_t now,
	   struct obj_response *out)
{
	struct obj_store *st = svc->store;
	uint64_t length = rt->content_length;
	int chunked = 0;
	struct obj_put *put;
	char meta[OBJ_META_MAX + 2 * OBJ_META_COUNT_MAX];
	size_t ml = 0;
		int ret;

	if (obj_store_bucket(st, rt->bucket) == NULL) {
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     resource, id, now, 0);
		return;
	}
	if (rt->content_type.p != NULL && rt->content_type.len > OBJ_CTYPE_MAX) {
		/* The reply's head must hold it with 2 KiB of metadata. */
		answer_error(out, 400, "InvalidArgument", "Content-Type is longer than 1024 bytes",
			     resource, id, now, 0);
		return;
	}
	if (!rt->has_content_length) {
		answer_error(out, 411, "MissingContentLength",
			     "You must provide the Content-Length HTTP header.", resource, id, now, 0);
		return;
	}
	if (strcmp(auth->payload, OBJ_SIGV4_STREAMING) == 0) {
		if (header_u64(req, "x-amz-decoded-content-length", &length) != 0 ||
		    length > rt->content_length) {
			answer_error(out, 411, "MissingContentLength",
				     "You must provide a valid x-amz-decoded-content-length header.",
				     resource, id, now, 0);
			return;
		}
		chunked = 1;
	} else if (strncmp(auth->payload, "STREAMING-", 10) == 0) {
		answer_error(out, 501, "NotImplemented",
			     "this aws-chunked form (checksum trailers) is not stored yet",
			     resource, id, now, 0);
		return;
	}
	put = calloc(1, sizeof(*put));
	if (put == NULL) {
		answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	put->chunked = chunked;
	put->auth = *auth;
	ret = obj_store_reserve(st, length, &put->reserved);
	if (ret != 0) {
		free(put);
		/* Larger than the pool could ever hold: EntityTooLarge, a 400
		 * clients do not retry. Not now: 503 SlowDown, which every
		 * S3 client retries with backoff. */
		if (ret == -EFBIG)
			answer_error(out, 400, "EntityTooLarge",
				     "Your proposed upload exceeds the maximum allowed size",
				     resource, id, now, 0);
		else
			answer_error(out, 503, "SlowDown",
				     "The store is short of pool buffers; retry later", resource,
				     id, now, 0);
		return;
	}
	ml = obj_route_meta(rt, meta);
	snprintf(put->bucket, sizeof(put->bucket), "%s", rt->bucket);
	put->key = dup_bytes(rt->key.p, rt->key.len);
	put->key_len = (uint16_t)rt->key.len;
	put->ctype = dup_bytes(rt->content_type.p, rt->content_type.p ? rt->content_type.len : 0);
	put->ctype_len = (uint16_t)(rt->content_type.p ? rt->content_type.len : 0);
	put->meta = dup_bytes(meta, ml);
	put->meta_len = (uint16_t)ml;
	put->length = length;
	put->has_md5 = rt->has_content_md5;
	memcpy(put->md5, rt->content_md5, 16);
	put->has_sha256 = hex_digest(auth->payload, put->sha256) == 0;
	put->id = id;
	snprintf(put->resource, sizeof(put->resource), "%s", resource);
	if (put->key == NULL || put->ctype == NULL || put->meta == NULL) {
		obj_ops_put_free(svc, put);
		answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	out->put = put;
}

/* CopyObject: the new version names the source's buffers (one more
 * reference each), so no byte is copied and the pool does not grow by
 * the object's size; only its record is written. */
static void
copy_object(struct obj_store *st, const struct obj_route *rt, const char *resource, uint64_t id,
	    time_t now, struct obj_response *out)
{
	char meta[OBJ_META_MAX + 2 * OBJ_META_COUNT_MAX];
	const char *ctype, *mp;
	size_t ctype_len, ml;
	struct obj_version *src, *v;
	struct obj_xml x;
	int ret;

	if (obj_store_bucket(st, rt->bucket) == NULL ||
	    obj_store_bucket(st, rt->copy_bucket) == NULL) {
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     resource, id, now, 0);
		return;
	}
	src = obj_store_get(st, rt->copy_bucket, rt->copy_key.p, rt->copy_key.len);
	if (src == NULL) {
		answer_error(out, 404, "NoSuchKey", "The specified key does not exist.", resource,
			     id, now, 0);
		return;
	}
	if (!rt->metadata_replace && strcmp(rt->bucket, rt->copy_bucket) == 0 &&
	    rt->key.len == rt->copy_key.len && memcmp(rt->key.p, rt->copy_key.p, rt->key.len) == 0) {
		answer_error(out, 400, "InvalidRequest",
			     "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
			     resource, id, now, 0);
		return;
	}
	if (rt->metadata_replace) {
		if (rt->content_type.p != NULL && rt->content_type.len > OBJ_CTYPE_MAX) {
			answer_error(out, 400, "InvalidArgument",
				     "Content-Type is longer than 1024 bytes", resource, id, now, 0);
			return;
		}
		ctype = rt->content_type.p != NULL ? rt->content_type.p : "";
		ctype_len = rt->content_type.p != NULL ? rt->content_type.len : 0;
		ml = obj_route_meta(rt, meta);
		mp = meta;
	} else {
		ctype = src->ctype != NULL ? src->ctype : "";
		ctype_len = src->ctype_len;
		mp = src->meta != NULL ? src->meta : "";
		ml = src->meta_len;
	}
	v = obj_store_copy_version(st, src, ctype, ctype_len, mp, ml, now);
	if (v == NULL) {
		answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	/* src is not touched after this: a copy onto itself replaces it. */
	ret = obj_store_put(st, rt->bucket, rt->key.p, rt->key.len, v);
	if (ret != 0) {
		obj_store_ref_names(st, v->names, v->n_names, -1);
		v->n_names = 0;
		obj_version_put(st, v);
		answer_store_error(out, ret, resource, id, now);
		return;
	}
	obj_xml_init(&x);
	obj_s3xml_copy_result(&x, v->etag, (time_t)v->mtime, 0);
	answer_xml(out, &x, id, now);
}

void
obj_ops_body_free(struct obj_body_req *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b->key);
	free(b);
}

/* The value of header @name, or NULL. */
static const struct obj_header *
header_find(const struct obj_http_req *req, const char *name, size_t name_len)
{
	unsigned int i;

	for (i = 0; i < req->n_headers; i++) {
		const struct obj_header *h = &req->headers[i];

		if (h->name_len >= name_len && strncasecmp(h->name, name, name_len) == 0)
			return h;
	}
	return NULL;
}

/* DeleteObjects from its head: S3 wants the body's integrity stated
 * (Content-MD5, or one of the x-amz-checksum-* headers newer SDKs send
 * instead); the body is read whole (at most OBJ_XML_BODY_MAX). */
static void
delete_objects_begin(struct obj_store *st, const struct obj_route *rt,
		     const struct obj_sigv4_auth *auth, const struct obj_http_req *req,
		     const char *resource, uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_body_req *b;

	if (obj_store_bucket(st, rt->bucket) == NULL) {
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     resource, id, now, 0);
		return;
	}
	if (!rt->has_content_md5 && header_find(req, "x-amz-checksum-", 15) == NULL) {
		answer_error(out, 400, "InvalidRequest",
			     "Missing required header for this request: Content-MD5", resource, id,
			     now, 0);
		return;
	}
	if (!req->has_length) {
		answer_error(out, 411, "MissingContentLength",
			     "You must provide the Content-Length HTTP header.", resource, id, now, 0);
		return;
	}
	if (req->length == 0 || req->length > OBJ_XML_BODY_MAX) {
		answer_error(out, 400, "MalformedXML",
			     "The XML you provided was not well-formed or did not validate against our published schema",
			     resource, id, now, 0);
		return;
	}
	if (strncmp(auth->payload, "STREAMING-", 10) == 0) {
		answer_error(out, 501, "NotImplemented", "aws-chunked DeleteObjects bodies",
			     resource, id, now, 0);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b != NULL)
		b->buf = malloc((size_t)req->length);
	if (b == NULL || b->buf == NULL) {
		obj_ops_body_free(b);
		answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	b->op = rt->op;
	snprintf(b->bucket, sizeof(b->bucket), "%s", rt->bucket);
	b->has_md5 = rt->has_content_md5;
	memcpy(b->md5, rt->content_md5, 16);
	b->has_sha256 = hex_digest(auth->payload, b->sha256) == 0;
	b->length = (size_t)req->length;
	b->id = id;
	snprintf(b->resource, sizeof(b->resource), "%s", resource);
	out->body_req = b;
}

/* DeleteObjects: each key deleted (a missing one counts as deleted, as
 * S3), its result reported unless Quiet and it went well. */
static void
delete_objects(struct obj_store *st, struct obj_body_req *b, time_t now,
	       struct obj_response *out)
{
	const struct obj_str *keys;
	struct obj_delete_entry *e;
	struct obj_xml_doc *doc;
	struct obj_xml x;
	unsigned int n, i;
	int quiet;
	enum obj_err err;

	err = obj_xml_read_delete(b->buf, b->length, &doc, &keys, &n, &quiet);
	if (err != OBJ_OK) {
		answer_error(out, obj_err_status(err), obj_err_code(err), obj_err_message(err),
			     b->resource, b->id, now, 0);
		return;
	}
	e = calloc(n, sizeof(*e));
	if (e == NULL) {
		obj_xml_doc_free(doc);
		answer_error(out, 500, "InternalError", "Out of memory", b->resource, b->id, now, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		int ret;

		e[i].key = keys[i];
		if (keys[i].len == 0 || keys[i].len > OBJ_OBJECT_KEY_MAX) {
			e[i].code = "InvalidArgument";
			e[i].message = "The key is empty or longer than 1024 bytes";
			continue;
		}
		ret = obj_store_del(st, b->bucket, keys[i].p, keys[i].len);
		if (ret == -ENOBUFS || ret == -ENOSPC) {
			e[i].code = "SlowDown";
			e[i].message = "The store is out of pool buffers";
		} else if (ret != 0) {
			e[i].code = "InternalError";
			e[i].message = "The record could not be written";
		}
	}
	obj_xml_init(&x);
	obj_s3xml_delete_result(&x, e, n, quiet);
	free(e);
	obj_xml_doc_free(doc);
	answer_xml(out, &x, b->id, now);
}

void
obj_ops_body_done(struct obj_service *svc, struct obj_body_req *b, time_t now, int close,
		  struct obj_response *out)
{
	struct obj_store *st = svc->store;

	memset(out, 0, sizeof(*out));
	out->close = close;
	if (b->has_md5) {
		struct obj_md5 m;
		uint8_t md5[16];
		int bad = obj_md5_init(&m) != 0;

		if (!bad) {
			obj_md5_update(&m, b->buf, b->length);
			obj_md5_final(&m, md5);
			bad = memcmp(md5, b->md5, 16) != 0;
		}
		if (bad) {
			answer_error(out, 400, "BadDigest",
				     "The Content-MD5 you specified did not match what we received.",
				     b->resource, b->id, now, 0);
			goto refused;
		}
	}
	if (b->has_sha256) {
		uint8_t sha[32];

		crypto_hash_sha256(sha, (const unsigned char *)b->buf, b->length);
		if (memcmp(sha, b->sha256, 32) != 0) {
			answer_error(out, 400, "XAmzContentSHA256Mismatch",
				     "The provided 'x-amz-content-sha256' header does not match what was computed.",
				     b->resource, b->id, now, 0);
			goto refused;
		}
	}
	if (obj_store_bucket(st, b->bucket) == NULL) {
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     b->resource, b->id, now, 0);
		goto refused;
	}
	if (b->op == OBJ_OP_COMPLETE_UPLOAD)
		obj_mpu_complete_done(svc, b, now, out);
	else
		delete_objects(st, b, now, out);
	goto done;
refused:
	svc->refused++;
done:
	obj_ops_body_free(b);
}

void
obj_ops_put_done(struct obj_service *svc, struct obj_put *put, struct obj_version *v,
		 const uint8_t sha256[32], int body_err, time_t now, int close,
		 struct obj_response *out)
{
	struct obj_store *st = svc->store;
	char extra[96];
	int ret;

	memset(out, 0, sizeof(*out));
	out->close = close;
	if (body_err == -EACCES) {
		answer_error(out, 403, "SignatureDoesNotMatch",
			     "A chunk's signature does not match (aws-chunked)", put->resource,
			     put->id, now, 0);
		goto drop;
	}
	if (body_err != 0) {
		answer_error(out, 400, "IncompleteBody", "The aws-chunked body is malformed or cut short",
			     put->resource, put->id, now, 0);
		goto drop;
	}
	if (v->size != put->length) {
		answer_error(out, 400, "IncompleteBody",
			     "You did not provide the number of bytes specified by the Content-Length HTTP header",
			     put->resource, put->id, now, 0);
		goto drop;
	}
	if (put->has_md5 && memcmp(put->md5, v->md5, 16) != 0) {
		answer_error(out, 400, "BadDigest",
			     "The Content-MD5 you specified did not match what we received.",
			     put->resource, put->id, now, 0);
		goto drop;
	}
	if (put->has_sha256 && memcmp(put->sha256, sha256, 32) != 0) {
		answer_error(out, 400, "XAmzContentSHA256Mismatch",
			     "The provided 'x-amz-content-sha256' header does not match what was computed.",
			     put->resource, put->id, now, 0);
		goto drop;
	}
	if (obj_store_bucket(st, put->bucket) == NULL) {
		/* Deleted while the body arrived (it was empty then). */
		answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     put->resource, put->id, now, 0);
		goto drop;
	}
	if (put->part != 0) {
		/* UploadPart: v's names move to the part (v freed). */
		if (obj_mpu_part_done(svc, put, v, now, out) != 0)
			goto drop;
		goto done;
	}
	v->mtime = now;
	ret = obj_store_put(st, put->bucket, put->key, put->key_len, v);
	if (ret != 0) {
		answer_store_error(out, ret, put->resource, put->id, now);
		goto drop;
	}
	snprintf(extra, sizeof(extra), "ETag: %s\r\n", v->etag);
	answer_empty(out, 200, put->id, now, extra);
	goto done;
drop:
	obj_store_ref_names(st, v->names, v->n_names, -1);
	v->n_names = 0;
	obj_version_put(st, v);
	svc->refused++;
done:
	obj_ops_put_free(svc, put);
}

int
obj_ops_handle(struct obj_service *svc, const struct obj_route *rt,
	       const struct obj_sigv4_auth *auth, const struct obj_http_req *req,
	       const char *resource, uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_store *st = svc->store;
	int ret;

	obj_mpu_expire(st, (int64_t)now);
	switch (rt->op) {
	case OBJ_OP_LIST_BUCKETS:
		list_buckets(st, auth, id, now, out);
		return 1;
	case OBJ_OP_CREATE_BUCKET:
		ret = obj_store_bucket_add(st, rt->bucket, now);
		if (ret == -EEXIST)
			answer_error(out, 409, "BucketAlreadyOwnedByYou",
				     "Your previous request to create the named bucket succeeded and you already own it.",
				     resource, id, now, 0);
		else if (ret != 0)
			answer_store_error(out, ret, resource, id, now);
		else {
			char loc[96];

			snprintf(loc, sizeof(loc), "Location: /%s\r\n", rt->bucket);
			answer_empty(out, 200, id, now, loc);
		}
		return 1;
	case OBJ_OP_DELETE_BUCKET:
		ret = obj_store_bucket_del(st, rt->bucket);
		if (ret == -ENOENT)
			answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
				     resource, id, now, 0);
		else if (ret == -ENOTEMPTY)
			answer_error(out, 409, "BucketNotEmpty",
				     "The bucket you tried to delete is not empty", resource, id, now, 0);
		else if (ret != 0)
			answer_store_error(out, ret, resource, id, now);
		else
			answer_empty(out, 204, id, now, NULL);
		return 1;
	case OBJ_OP_HEAD_BUCKET:
		if (obj_store_bucket(st, rt->bucket) == NULL)
			answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
				     resource, id, now, 1);
		else
			answer_empty(out, 200, id, now, NULL);
		return 1;
	case OBJ_OP_LIST_OBJECTS:
	case OBJ_OP_LIST_OBJECTS_V2:
		if (obj_store_bucket(st, rt->bucket) == NULL)
			answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
				     resource, id, now, 0);
		else
			list_objects(st, rt, auth, id, now, out);
		return 1;
	case OBJ_OP_PUT_OBJECT:
		put_object(svc, rt, auth, req, resource, id, now, out);
		return 1;
	case OBJ_OP_UPLOAD_PART:
		/* The upload and the quota from the head; then the body as a
		 * PutObject's, stored as a part by obj_mpu_part_done. */
		if (obj_mpu_part_begin(svc, rt, resource, id, now, out))
			return 1;
		put_object(svc, rt, auth, req, resource, id, now, out);
		if (out->put != NULL) {
			out->put->part = rt->part_number;
			snprintf(out->put->upload_id, sizeof(out->put->upload_id), "%.*s",
				 (int)rt->upload_id.len, rt->upload_id.p);
			obj_mpu_part_arriving(svc, out->put);
		}
		return 1;
	case OBJ_OP_UPLOAD_PART_COPY:
		obj_mpu_part_copy(svc, rt, resource, id, now, out);
		return 1;
	case OBJ_OP_CREATE_UPLOAD:
	case OBJ_OP_COMPLETE_UPLOAD:
	case OBJ_OP_ABORT_UPLOAD:
	case OBJ_OP_LIST_PARTS:
	case OBJ_OP_LIST_UPLOADS:
		obj_mpu_handle(svc, rt, auth, req, resource, id, now, out);
		return 1;
	case OBJ_OP_DELETE_OBJECTS:
		delete_objects_begin(st, rt, auth, req, resource, id, now, out);
		return 1;
	case OBJ_OP_COPY_OBJECT:
		copy_object(st, rt, resource, id, now, out);
		return 1;
	case OBJ_OP_GET_OBJECT:
	case OBJ_OP_HEAD_OBJECT:
		get_object(st, rt, resource, id, now, rt->op == OBJ_OP_HEAD_OBJECT, out);
		return 1;
	case OBJ_OP_DELETE_OBJECT:
		if (obj_store_bucket(st, rt->bucket) == NULL) {
			answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
				     resource, id, now, 0);
			return 1;
		}
		ret = obj_store_del(st, rt->bucket, rt->key.p, rt->key.len);
		if (ret != 0)
			answer_store_error(out, ret, resource, id, now);
		else
			answer_empty(out, 204, id, now, NULL);
		return 1;
	default:
		return 0;
	}
}

void
obj_ops_answer_error(struct obj_response *out, int status, const char *code, const char *msg,
		     const char *resource, uint64_t id, time_t now, int head_only)
{
	answer_error(out, status, code, msg, resource, id, now, head_only);
}

void
obj_ops_answer_store_error(struct obj_response *out, int err, const char *resource, uint64_t id,
			   time_t now)
{
	answer_store_error(out, err, resource, id, now);
}

void
obj_ops_answer_xml(struct obj_response *out, struct obj_xml *x, uint64_t id, time_t now)
{
	answer_xml(out, x, id, now);
}

void
obj_ops_answer_empty(struct obj_response *out, int status, uint64_t id, time_t now,
		     const char *extra)
{
	answer_empty(out, status, id, now, extra);
}
