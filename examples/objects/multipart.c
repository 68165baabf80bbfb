/* SPDX-License-Identifier: BSD-3-Clause */
/* S3's multipart operations (multipart.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etag.h"
#include "mpstore.h"
#include "multipart.h"
#include "ops.h"
#include "s3xml.h"
#include "xml.h"
#include "xml_read.h"

static void
no_bucket(struct obj_response *out, const char *resource, uint64_t id, time_t now)
{
	obj_ops_answer_error(out, 404, "NoSuchBucket", "The specified bucket does not exist",
			     resource, id, now, 0);
}

static void
no_upload(struct obj_response *out, const char *resource, uint64_t id, time_t now)
{
	obj_ops_answer_error(out, 404, "NoSuchUpload",
			     "The specified upload does not exist. The upload ID may be invalid, "
			     "or the upload may have been aborted or completed.",
			     resource, id, now, 0);
}

static struct obj_mpu *
route_upload(struct obj_store *st, const struct obj_route *rt)
{
	return obj_mpu_find(st, rt->bucket, rt->key.p, rt->key.len, rt->upload_id.p,
			    rt->upload_id.p != NULL ? rt->upload_id.len : 0);
}

static void
create_upload(struct obj_store *st, const struct obj_route *rt, const char *resource,
	      uint64_t id, time_t now, struct obj_response *out)
{
	char meta[OBJ_META_MAX + 2 * OBJ_META_COUNT_MAX], uid[OBJ_MPU_ID_LEN + 1], msg[160];
	size_t ml = obj_route_meta(rt, meta);
	struct obj_mpu *u;
	struct obj_xml x;
	int ret;

	if (rt->content_type.p != NULL && rt->content_type.len > OBJ_CTYPE_MAX) {
		obj_ops_answer_error(out, 400, "InvalidArgument",
				     "Content-Type is longer than 1024 bytes", resource, id, now, 0);
		return;
	}
	ret = obj_mpu_create(st, rt->bucket, rt->key.p, rt->key.len,
			     rt->content_type.p != NULL ? rt->content_type.p : "",
			     rt->content_type.p != NULL ? rt->content_type.len : 0, meta, ml,
			     (int64_t)now, &u);
	if (ret == -EDQUOT) {
		snprintf(msg, sizeof(msg),
			 "There are %" PRIu64 " unfinished multipart uploads, the server's quota "
			 "(--mpu-max-uploads): complete or abort some first", st->mpu->max_uploads);
		obj_ops_answer_error(out, 400, "TooManyUploads", msg, resource, id, now, 0);
		return;
	}
	if (ret != 0) {
		obj_ops_answer_store_error(out, ret, resource, id, now);
		return;
	}
	obj_mpu_id_str(u, uid);
	obj_xml_init(&x);
	obj_s3xml_initiate_upload(&x, rt->bucket, &rt->key, uid);
	obj_ops_answer_xml(out, &x, id, now);
}

static void
list_parts(const struct obj_mpu *u, const struct obj_route *rt,
	   const struct obj_sigv4_auth *auth, uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_owner owner = { auth->key->id, auth->key->id };
	unsigned int max = rt->max_keys, n = 0, next = 0;
	struct obj_part_entry *e = calloc(max + 1, sizeof(*e));
	char (*tags)[OBJ_ETAG_MAX] = calloc(max + 1, OBJ_ETAG_MAX);
	struct obj_xml x;
	int truncated = 0;
	uint32_t i;

	if (e == NULL || tags == NULL) {
		free(e);
		free(tags);
		obj_ops_answer_error(out, 500, "InternalError", "Out of memory", "", id, now, 0);
		return;
	}
	for (i = 0; i < u->n_parts; i++) {
		const struct obj_mpu_part *p = &u->parts[i];

		if (p->number <= rt->part_number_marker)
			continue;
		if (n == max) {
			truncated = max > 0;
			break;
		}
		obj_etag_single(p->md5, tags[n]);
		e[n].number = p->number;
		e[n].mtime = (time_t)p->mtime;
		e[n].etag = tags[n];
		e[n].size = p->size;
		next = p->number;
		n++;
	}
	obj_xml_init(&x);
	obj_s3xml_list_parts(&x, rt, &owner, e, n, truncated, next);
	free(e);
	free(tags);
	obj_ops_answer_xml(out, &x, id, now);
}

static int
key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

/* Where @k's common prefix ends (past the first @del after @pre), or 0. */
static size_t
common_prefix_len(const char *k, size_t kl, const struct obj_str *pre, const struct obj_str *del)
{
	size_t j;

	if (del->p == NULL || del->len == 0)
		return 0;
	for (j = pre->p != NULL ? pre->len : 0; j + del->len <= kl; j++)
		if (memcmp(k + j, del->p, del->len) == 0)
			return j + del->len;
	return 0;
}

/* ListMultipartUploads: the bucket's uploads in key order (one key's in
 * upload id order), after key-marker (and, for that key, upload-id-marker),
 * with a prefix; with a delimiter, the keys that hold it past the prefix
 * grouped as one CommonPrefixes each. As ListObjects, a common prefix
 * counts as one entry and is the next key marker when it ends a page,
 * so that a later page (whose marker is that prefix or a key in it)
 * never reports it again. */
static void
list_uploads(struct obj_store *st, const struct obj_route *rt, const struct obj_sigv4_auth *auth,
	     uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_owner owner = { auth->key->id, auth->key->id };
	unsigned int max = rt->max_keys, n = 0, n_pre = 0;
	struct obj_upload_entry *e = calloc(max + 1, sizeof(*e));
	char (*ids)[OBJ_MPU_ID_LEN + 1] = calloc(max + 1, OBJ_MPU_ID_LEN + 1);
	struct obj_str *pres = calloc(max + 1, sizeof(*pres));
	const struct obj_str *km = &rt->key_marker, *pre = &rt->prefix, *del = &rt->delimiter;
	const struct obj_str *uim = &rt->upload_id_marker;
	struct obj_str next = { NULL, 0 };
	const char *next_id = NULL;
	struct obj_xml x;
	int truncated = 0;
	size_t i;

	if (e == NULL || ids == NULL || pres == NULL) {
		free(e);
		free(ids);
		free(pres);
		obj_ops_answer_error(out, 500, "InternalError", "Out of memory", "", id, now, 0);
		return;
	}
	for (i = 0; i < st->mpu->n; i++) {
		const struct obj_mpu *u = st->mpu->u[i];
		char uid[OBJ_MPU_ID_LEN + 1];
		size_t cpl;

		if (strcmp(u->bucket, rt->bucket) != 0)
			continue;
		if (pre->p != NULL && (u->key_len < pre->len || memcmp(u->key, pre->p, pre->len) != 0))
			continue;
		obj_mpu_id_str(u, uid);
		if (km->p != NULL) {
			int c = key_cmp(u->key, u->key_len, km->p, km->len);

			if (c < 0)
				continue;
			/* S3: without an upload-id-marker, the marker's key
			 * is skipped whole; with one, its later uploads stay. */
			if (c == 0 && (uim->p == NULL || uim->len == 0 ||
				       key_cmp(uid, OBJ_MPU_ID_LEN, uim->p, uim->len) <= 0))
				continue;
		}
		cpl = common_prefix_len(u->key, u->key_len, pre, del);
		if (cpl > 0) {
			if (n_pre > 0 && pres[n_pre - 1].len == cpl &&
			    memcmp(pres[n_pre - 1].p, u->key, cpl) == 0)
				continue;
			if (km->p != NULL && key_cmp(u->key, cpl, km->p, km->len) <= 0)
				continue;       /* reported on an earlier page */
		}
		if (n + n_pre == max) {
			truncated = max > 0;
			break;
		}
		if (cpl > 0) {
			pres[n_pre].p = u->key;
			pres[n_pre].len = cpl;
			next = pres[n_pre++];
			next_id = "";
			continue;
		}
		memcpy(ids[n], uid, sizeof(uid));
		e[n].key.p = u->key;
		e[n].key.len = u->key_len;
		e[n].upload_id = ids[n];
		e[n].initiated = (time_t)u->initiated;
		next = e[n].key;
		next_id = ids[n];
		n++;
	}
	obj_xml_init(&x);
	obj_s3xml_list_uploads(&x, rt, &owner, e, n, pres, n_pre, truncated,
			       next.p != NULL ? &next : NULL, next_id);
	free(e);
	free(ids);
	free(pres);
	obj_ops_answer_xml(out, &x, id, now);
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

/* CompleteMultipartUpload from its head: the body (at most
 * OBJ_XML_BODY_MAX) is read whole, then obj_mpu_complete_done. */
static void
complete_begin(const struct obj_route *rt, const struct obj_sigv4_auth *auth,
	       const struct obj_http_req *req, const char *resource, uint64_t id, time_t now,
	       struct obj_response *out)
{
	struct obj_body_req *b;

	if (!req->has_length) {
		obj_ops_answer_error(out, 411, "MissingContentLength",
				     "You must provide the Content-Length HTTP header.", resource,
				     id, now, 0);
		return;
	}
	if (req->length == 0 || req->length > OBJ_XML_BODY_MAX) {
		obj_ops_answer_error(out, 400, "MalformedXML",
				     "The XML you provided was not well-formed or did not validate against our published schema",
				     resource, id, now, 0);
		return;
	}
	if (strncmp(auth->payload, "STREAMING-", 10) == 0) {
		obj_ops_answer_error(out, 501, "NotImplemented",
				     "aws-chunked CompleteMultipartUpload bodies", resource, id, now, 0);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b != NULL) {
		b->buf = malloc((size_t)req->length);
		b->key = malloc(rt->key.len + 1);
	}
	if (b == NULL || b->buf == NULL || b->key == NULL) {
		obj_ops_body_free(b);
		obj_ops_answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	b->op = rt->op;
	snprintf(b->bucket, sizeof(b->bucket), "%s", rt->bucket);
	memcpy(b->key, rt->key.p, rt->key.len);
	b->key[rt->key.len] = '\0';
	b->key_len = (uint16_t)rt->key.len;
	snprintf(b->upload_id, sizeof(b->upload_id), "%.*s", (int)rt->upload_id.len,
		 rt->upload_id.p);
	b->has_md5 = rt->has_content_md5;
	memcpy(b->md5, rt->content_md5, 16);
	b->has_sha256 = hex_digest(auth->payload, b->sha256) == 0;
	b->length = (size_t)req->length;
	b->id = id;
	snprintf(b->resource, sizeof(b->resource), "%s", resource);
	out->body_req = b;
}

void
obj_mpu_handle(struct obj_service *svc, const struct obj_route *rt,
	       const struct obj_sigv4_auth *auth, const struct obj_http_req *req,
	       const char *resource, uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_store *st = svc->store;
	struct obj_mpu *u;
	int ret;

	if (obj_store_bucket(st, rt->bucket) == NULL) {
		no_bucket(out, resource, id, now);
		return;
	}
	switch (rt->op) {
	case OBJ_OP_CREATE_UPLOAD:
		create_upload(st, rt, resource, id, now, out);
		return;
	case OBJ_OP_LIST_UPLOADS:
		list_uploads(st, rt, auth, id, now, out);
		return;
	default:
		break;
	}
	u = route_upload(st, rt);
	if (u == NULL) {
		no_upload(out, resource, id, now);
		return;
	}
	switch (rt->op) {
	case OBJ_OP_LIST_PARTS:
		list_parts(u, rt, auth, id, now, out);
		return;
	case OBJ_OP_ABORT_UPLOAD:
		ret = obj_mpu_abort(st, u, 0);
		if (ret != 0)
			obj_ops_answer_store_error(out, ret, resource, id, now);
		else
			obj_ops_answer_empty(out, 204, id, now, NULL);
		return;
	case OBJ_OP_COMPLETE_UPLOAD:
		complete_begin(rt, auth, req, resource, id, now, out);
		return;
	default:
		obj_ops_answer_error(out, 501, "NotImplemented", "Not implemented", resource, id,
				     now, 0);
		return;
	}
}

int
obj_mpu_part_begin(struct obj_service *svc, const struct obj_route *rt, const char *resource,
		   uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_store *st = svc->store;
	char msg[200];

	if (obj_store_bucket(st, rt->bucket) == NULL) {
		no_bucket(out, resource, id, now);
		return 1;
	}
	if (route_upload(st, rt) == NULL) {
		no_upload(out, resource, id, now);
		return 1;
	}
	if (rt->has_content_length && !obj_mpu_bytes_fit(st, rt->content_length)) {
		snprintf(msg, sizeof(msg),
			 "Unfinished multipart uploads would hold more than the server's quota of "
			 "%" PRIu64 " bytes of parts (--mpu-max-bytes): complete or abort some first",
			 st->mpu->max_bytes);
		obj_ops_answer_error(out, 400, "EntityTooLarge", msg, resource, id, now, 0);
		return 1;
	}
	return 0;
}

/* The names of bytes [@first, @last] of @src into @v (room for all of
 * src's), ends trimmed to sub-ranges of their buffers. */
static void
range_names(const struct obj_version *src, uint64_t first, uint64_t last, struct obj_version *v)
{
	uint64_t pos = 0;
	uint32_t i;

	for (i = 0; i < src->n_names && pos <= last; i++) {
		pst_name n = src->names[i];
		uint64_t len = pst_name_length(n), lo, hi;

		if (pos + len <= first) {
			pos += len;
			continue;
		}
		lo = first > pos ? first - pos : 0;
		hi = last - pos + 1 < len ? last - pos + 1 : len;
		v->names[v->n_names++] = pst_name_make(pst_name_index(n),
						       (uint16_t)(pst_name_offset(n) + lo),
						       (uint16_t)(hi - lo));
		pos += len;
	}
}

void
obj_mpu_part_copy(struct obj_service *svc, const struct obj_route *rt, const char *resource,
		  uint64_t id, time_t now, struct obj_response *out)
{
	struct obj_store *st = svc->store;
	const struct obj_version *src;
	struct obj_version *v;
	struct obj_mpu *u;
	uint64_t first = 0, last;
	struct obj_md5 m;
	struct obj_xml x;
	char msg[160];
	uint32_t i;
	int ret;

	if (obj_store_bucket(st, rt->bucket) == NULL ||
	    obj_store_bucket(st, rt->copy_bucket) == NULL) {
		no_bucket(out, resource, id, now);
		return;
	}
	u = route_upload(st, rt);
	if (u == NULL) {
		no_upload(out, resource, id, now);
		return;
	}
	src = obj_store_get(st, rt->copy_bucket, rt->copy_key.p, rt->copy_key.len);
	if (src == NULL) {
		obj_ops_answer_error(out, 404, "NoSuchKey", "The specified key does not exist.",
				     resource, id, now, 0);
		return;
	}
	last = src->size > 0 ? src->size - 1 : 0;
	if (rt->has_copy_range != 0) {
		if (rt->has_copy_range < 0 || rt->copy_last >= src->size) {
			snprintf(msg, sizeof(msg),
				 "Range specified is not valid for source object of size: %" PRIu64,
				 src->size);
			obj_ops_answer_error(out, 400, "InvalidArgument", msg, resource, id, now, 0);
			return;
		}
		first = rt->copy_first;
		last = rt->copy_last;
	}
	if (!obj_mpu_bytes_fit(st, src->size > 0 ? last - first + 1 : 0)) {
		snprintf(msg, sizeof(msg),
			 "Unfinished multipart uploads would hold more than the server's quota of "
			 "%" PRIu64 " bytes of parts (--mpu-max-bytes)", st->mpu->max_bytes);
		obj_ops_answer_error(out, 400, "EntityTooLarge", msg, resource, id, now, 0);
		return;
	}
	v = obj_version_new("", 0, "", 0, src->n_names);
	if (v == NULL || obj_md5_init(&m) != 0) {
		obj_version_put(st, v);
		obj_ops_answer_error(out, 500, "InternalError", "Out of memory", resource, id, now, 0);
		return;
	}
	if (src->size > 0)
		range_names(src, first, last, v);
	v->size = src->size > 0 ? last - first + 1 : 0;
	/* The part's ETag is its bytes' MD5: hashed where they are. */
	for (i = 0; i < v->n_names; i++)
		obj_md5_update(&m, pst_pool_name_to_addr(st->pool, v->names[i]),
			       pst_name_length(v->names[i]));
	obj_md5_final(&m, v->md5);
	obj_store_ref_names(st, v->names, v->n_names, 1);
	ret = obj_mpu_part_put(st, u, rt->part_number, v, (int64_t)now);
	if (ret != 0) {
		obj_store_ref_names(st, v->names, v->n_names, -1);
		v->n_names = 0;
		obj_version_put(st, v);
		obj_ops_answer_store_error(out, ret, resource, id, now);
		return;
	}
	obj_xml_init(&x);
	obj_s3xml_copy_result(&x, v->etag, now, 1);
	obj_version_put(st, v);         /* its names are the part's now */
	obj_ops_answer_xml(out, &x, id, now);
}

void
obj_mpu_part_arriving(struct obj_service *svc, struct obj_put *put)
{
	put->mpu_reserved = put->length;
	svc->store->mpu->arriving += put->length;
}

void
obj_mpu_part_release(struct obj_service *svc, struct obj_put *put)
{
	struct obj_mpu_set *s;

	if (svc->store == NULL || svc->store->mpu == NULL || put->mpu_reserved == 0)
		return;
	s = svc->store->mpu;
	s->arriving -= put->mpu_reserved < s->arriving ? put->mpu_reserved : s->arriving;
	put->mpu_reserved = 0;
}

int
obj_mpu_part_done(struct obj_service *svc, struct obj_put *put, struct obj_version *v,
		  time_t now, struct obj_response *out)
{
	struct obj_store *st = svc->store;
	struct obj_mpu *u = obj_mpu_find(st, put->bucket, put->key, put->key_len, put->upload_id,
					 strlen(put->upload_id));
	char extra[96];
	int ret;

	if (u == NULL) {
		/* Completed, aborted or expired while the part arrived. */
		no_upload(out, put->resource, put->id, now);
		return -1;
	}
	ret = obj_mpu_part_put(st, u, put->part, v, (int64_t)now);
	if (ret != 0) {
		obj_ops_answer_store_error(out, ret, put->resource, put->id, now);
		return -1;
	}
	snprintf(extra, sizeof(extra), "ETag: %s\r\n", v->etag);
	obj_version_put(st, v);         /* its names are the part's now */
	obj_ops_answer_empty(out, 200, put->id, now, extra);
	return 0;
}

/* Whether the ETag @e (as the client sent it: quoted or not) is @etag
 * (quoted). */
static int
etag_is(const struct obj_str *e, const char *etag)
{
	const char *p = e->p;
	size_t n = e->len;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	return n == strlen(etag) - 2 && strncasecmp(p, etag + 1, n) == 0;
}

void
obj_mpu_complete_done(struct obj_service *svc, struct obj_body_req *b, time_t now,
		      struct obj_response *out)
{
	struct obj_store *st = svc->store;
	const struct obj_complete_part *parts;
	struct obj_xml_doc *doc;
	struct obj_mpu *u;
	struct obj_str key = { b->key, b->key_len };
	char etag[OBJ_ETAG_MAX], loc[600];
	uint32_t *idx = NULL;
	unsigned int n, i;
	enum obj_err err;
	struct obj_xml x;
	int ret;

	err = obj_xml_read_complete(b->buf, b->length, &doc, &parts, &n);
	if (err != OBJ_OK) {
		obj_ops_answer_error(out, obj_err_status(err), obj_err_code(err),
				     obj_err_message(err), b->resource, b->id, now, 0);
		return;
	}
	u = obj_mpu_find(st, b->bucket, b->key, b->key_len, b->upload_id, strlen(b->upload_id));
	if (u == NULL) {
		no_upload(out, b->resource, b->id, now);
		goto done;
	}
	for (i = 1; i < n; i++) {
		if (parts[i].number <= parts[i - 1].number) {
			obj_ops_answer_error(out, 400, "InvalidPartOrder",
					     "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
					     b->resource, b->id, now, 0);
			goto done;
		}
	}
	idx = malloc((size_t)n * sizeof(*idx));
	if (idx == NULL) {
		obj_ops_answer_error(out, 500, "InternalError", "Out of memory", b->resource, b->id,
				     now, 0);
		goto done;
	}
	for (i = 0; i < n; i++) {
		const struct obj_mpu_part *p = obj_mpu_part_find(u, parts[i].number);
		char tag[OBJ_ETAG_MAX];

		if (p != NULL)
			obj_etag_single(p->md5, tag);
		if (p == NULL || !etag_is(&parts[i].etag, tag)) {
			obj_ops_answer_error(out, 400, "InvalidPart",
					     "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
					     b->resource, b->id, now, 0);
			goto done;
		}
		idx[i] = (uint32_t)(p - u->parts);
	}
	for (i = 0; i + 1 < n; i++) {
		if (u->parts[idx[i]].size < st->mpu->min_part) {
			obj_ops_answer_error(out, 400, "EntityTooSmall",
					     "Your proposed upload is smaller than the minimum allowed object size.",
					     b->resource, b->id, now, 0);
			goto done;
		}
	}
	ret = obj_mpu_complete(st, u, idx, n, (int64_t)now, etag);
	if (ret != 0) {
		obj_ops_answer_store_error(out, ret, b->resource, b->id, now);
		goto done;
	}
	snprintf(loc, sizeof(loc), "%s", b->resource);
	{
		char *q = strchr(loc, '?');

		if (q != NULL)
			*q = '\0';
	}
	obj_xml_init(&x);
	obj_s3xml_complete_upload(&x, loc, b->bucket, &key, etag);
	obj_ops_answer_xml(out, &x, b->id, now);
	/* The ETag in the head too: some clients read it there. */
	{
		char extra[96];

		snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
		obj_resp_head(out, b->id, now, NULL, out->body_len, extra);
	}
done:
	free(idx);
	obj_xml_doc_free(doc);
}
