/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects's multipart uploads in the store (examples/objects/
 * mpstore.h): the multipart records round trip through the object log;
 * an upload and its parts come back after a reopen with their buffers
 * kept; a part uploaded again releases the one it replaces after a drain
 * only; a completion names the parts' buffers (no copy) with the ETag of
 * the parts' MD5s, and a completion torn by a crash leaves the upload as
 * it was and no object; abort and expiry release the parts after a drain;
 * the uploads quota; a bucket with an upload is not empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etag.h"
#include "http.h"
#include "mpstore.h"
#include "ops.h"
#include "route.h"
#include "olog.h"
#include "ostore.h"
#include "paste.h"
#include "../unit/pst_test_util.h"
#include "ostore_test_util.h"

#define BUF 2176u

struct seen {
	unsigned int n;
	int type[16];
	uint64_t upload_id[16];
	uint32_t part[16], n_names[16];
	char key[16][32];
};

static int
collect(void *arg, const struct obj_rec *r)
{
	struct seen *s = arg;

	if (s->n >= 16)
		return -ENOSPC;
	s->type[s->n] = r->type;
	s->upload_id[s->n] = r->upload_id;
	s->part[s->n] = r->part;
	s->n_names[s->n] = r->n_names;
	snprintf(s->key[s->n], sizeof(s->key[0]), "%.*s", (int)r->key_len, r->key);
	s->n++;
	return 0;
}

/* The multipart record types keep their upload id and part number. */
static void
test_records(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct obj_log l;
	struct seen s = { 0 };
	pst_name nm[2] = { pst_name_make(3, 0, 10), pst_name_make(4, 0, 20) };
	struct obj_rec r[4] = {
		{ .type = OBJ_REC_MPU_CREATE, .bucket = "b", .bucket_len = 1, .key = "k1",
		  .key_len = 2, .ctype = "t/x", .ctype_len = 3, .upload_id = 0x1234567890abcdefull },
		{ .type = OBJ_REC_MPU_PART, .bucket = "b", .bucket_len = 1, .key = "k1", .key_len = 2,
		  .upload_id = 0x1234567890abcdefull, .part = 7, .names = nm, .n_names = 2 },
		{ .type = OBJ_REC_MPU_DONE, .bucket = "b", .bucket_len = 1, .key = "k1", .key_len = 2,
		  .upload_id = 0x1234567890abcdefull, .part = 1, .names = nm, .n_names = 2 },
		{ .type = OBJ_REC_MPU_ABORT, .bucket = "b", .bucket_len = 1, .key = "k2",
		  .key_len = 2, .upload_id = 42 },
	};
	int i;

	(void)state;
	tu_path(path, sizeof(path), "records");
	p = tu_must_create(path, BUF, 64, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-objects", "log"), 0);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(obj_log_append(&l, &r[i]), 0);
	assert_int_equal(obj_log_rec_size(&r[3]), 72 + OBJ_LOG_MPU_EXTRA + 1 + 2);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_log_close(&l);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s.type[i], r[i].type);
		assert_true(s.upload_id[i] == r[i].upload_id);
		assert_int_equal(s.part[i], r[i].part);
		assert_int_equal(s.n_names[i], r[i].n_names);
	}
	assert_string_equal(s.key[3], "k2");
	obj_log_close(&l);
	tu_close(p);
}

static uint8_t
fill_byte(uint32_t piece, uint32_t at, uint32_t fill)
{
	(void)piece;
	(void)at;
	return (uint8_t)fill;
}

/* A body of @len bytes of @fill as the server receives one. */
static struct obj_version *
body(struct obj_store *st, struct pst_pool *p, size_t len, int fill, uint32_t *first_idx)
{
	return ot_body(st, p, len, "", 0, "", 0, fill_byte, (uint32_t)fill, first_idx);
}

/* Kept buffers but the log's own. */
static uint32_t
kept_(const struct obj_store *st, struct pst_pool *p)
{
	struct pst_pool_stats ps;

	pst_pool_stats(p, &ps);
	return (uint32_t)(ps.kept - st->log.n_bufs);
}
#define kept(p) kept_(&st, (p))

static struct pst_pool *
reopen_store(struct obj_store *st, struct pst_pool *p, const char *path)
{
	obj_store_close(st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(st, p), 0);
	return p;
}

static void
test_store(void **state)
{
	char path[PATH_MAX], id[OBJ_MPU_ID_LEN + 1], etag[OBJ_ETAG_MAX], want[OBJ_ETAG_MAX];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_mpu *u, *u2;
	struct obj_version *v;
	uint8_t md5s[2][16];
	uint32_t idx[2], old_idx, base, i, n_names;
	uint64_t uid;
	uint8_t *tail;

	(void)state;
	tu_path(path, sizeof(path), "mpu");
	p = tu_must_create(path, BUF, 1024, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	assert_int_equal(obj_mpu_create(&st, "bkt", "obj", 3, "text/x", 6, "md5chksum\0abc\0", 14,
					100, &u), 0);
	uid = u->id;
	obj_mpu_id_str(u, id);
	assert_int_equal(strlen(id), 16);
	assert_null(obj_mpu_find(&st, "bkt", "other", 5, id, 16));
	assert_null(obj_mpu_find(&st, "bkt", "obj", 3, "nope", 4));
	assert_int_equal(obj_store_bucket_del(&st, "bkt"), -ENOTEMPTY);
	/* Part 1 twice: the first one's buffers go after a drain only. */
	v = body(&st, p, 3000, 'a', &old_idx);
	assert_int_equal(obj_mpu_part_put(&st, u, 1, v, 101), 0);
	obj_version_put(&st, v);
	base = kept(p);
	v = body(&st, p, 5000, 'b', &idx[0]);
	memcpy(md5s[0], v->md5, 16);
	assert_int_equal(obj_mpu_part_put(&st, u, 1, v, 102), 0);
	obj_version_put(&st, v);
	v = body(&st, p, 100, 'c', &idx[1]);
	memcpy(md5s[1], v->md5, 16);
	assert_int_equal(obj_mpu_part_put(&st, u, 2, v, 103), 0);
	obj_version_put(&st, v);
	assert_int_equal(u->n_parts, 2);
	assert_int_equal(st.mpu->bytes, 5100);
	obj_store_release_durable(&st);
	assert_int_equal(kept(p), base + 4 + 1);        /* the old part still */
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(kept(p), base + 4 + 1 - 3);
	assert_int_equal(pst_pool_drain(p), 0);
	/* After a reopen: the upload, its metadata and parts, and their
	 * buffers kept (the replaced part's not). */
	p = reopen_store(&st, p, path);
	assert_int_equal(st.released_at_start, 0);
	u = obj_mpu_find(&st, "bkt", "obj", 3, id, 16);
	assert_non_null(u);
	assert_true(u->id == uid);
	assert_int_equal(u->initiated, 100);
	assert_int_equal(u->ctype_len, 6);
	assert_memory_equal(u->meta, "md5chksum\0abc\0", 14);
	assert_int_equal(u->n_parts, 2);
	assert_int_equal(u->parts[0].number, 1);
	assert_int_equal(u->parts[0].size, 5000);
	assert_memory_equal(u->parts[0].md5, md5s[0], 16);
	assert_int_equal(pst_name_index(u->parts[0].names[0]), idx[0]);
	assert_int_equal(u->parts[1].size, 100);
	assert_int_equal(st.mpu->bytes, 5100);
	assert_int_equal(st.refs[idx[0]], 1);
	assert_int_equal(st.refs[old_idx], 0);
	/* A completion torn by a crash: the record fails its CRC at the next
	 * start, the upload is back as it was, no object. */
	{
		uint32_t both[2] = { 0, 1 };

		assert_int_equal(obj_mpu_complete(&st, u, both, 2, 200, etag), 0);
	}
	tail = (uint8_t *)pst_pool_buf_addr(p, st.log.bufs[st.log.n_bufs - 1]) + st.log.tail_off - 1;
	*tail ^= 0xff;
	pst_pool_flush(p, tail, 1);
	p = reopen_store(&st, p, path);
	assert_null(obj_store_get(&st, "bkt", "obj", 3));
	u = obj_mpu_find(&st, "bkt", "obj", 3, id, 16);
	assert_non_null(u);
	assert_int_equal(u->n_parts, 2);
	/* The completion: one object naming the parts' buffers, ETag of the
	 * parts' MD5s and "-2", the metadata from the creation. */
	{
		uint32_t both[2] = { 0, 1 };

		assert_int_equal(obj_mpu_complete(&st, u, both, 2, 200, etag), 0);
	}
	assert_int_equal(obj_etag_multipart((const uint8_t (*)[16])md5s, 2, want), 0);
	assert_string_equal(etag, want);
	assert_null(obj_mpu_find(&st, "bkt", "obj", 3, id, 16));
	assert_int_equal(st.mpu->bytes, 0);
	v = obj_store_get(&st, "bkt", "obj", 3);
	assert_non_null(v);
	assert_int_equal(v->size, 5100);
	assert_int_equal(v->parts, 2);
	assert_string_equal(v->etag, want);
	n_names = v->n_names;
	assert_int_equal(n_names, 5);
	assert_int_equal(pst_name_index(v->names[0]), idx[0]);
	assert_int_equal(pst_name_index(v->names[4]), idx[1]);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	for (i = 0; i < n_names; i++)
		assert_int_equal(st.refs[pst_name_index(v->names[i])], 1);
	p = reopen_store(&st, p, path);
	assert_int_equal(st.released_at_start, 0);
	v = obj_store_get(&st, "bkt", "obj", 3);
	assert_non_null(v);
	assert_string_equal(v->etag, want);
	assert_int_equal(v->parts, 2);
	assert_int_equal(v->meta_len, 14);
	assert_int_equal(v->ctype_len, 6);
	assert_int_equal(st.mpu->n, 0);
	assert_int_equal(*(uint8_t *)pst_pool_name_to_addr(p, v->names[0]), 'b');
	/* Abort and expiry: parts released after a drain; the quota. */
	st.mpu->max_uploads = 2;
	assert_int_equal(obj_mpu_create(&st, "bkt", "a", 1, "", 0, "", 0, 300, &u), 0);
	assert_int_equal(obj_mpu_create(&st, "bkt", "e", 1, "", 0, "", 0, 300, &u2), 0);
	assert_int_equal(obj_mpu_create(&st, "bkt", "x", 1, "", 0, "", 0, 300, &u2), -EDQUOT);
	assert_null(obj_mpu_find(&st, "bkt", "e", 1, NULL, 0));
	base = kept(p);
	v = body(&st, p, 2000, 'd', NULL);
	assert_int_equal(obj_mpu_part_put(&st, u, 1, v, 301), 0);
	obj_version_put(&st, v);
	assert_int_equal(obj_mpu_abort(&st, u, 0), 0);
	assert_int_equal(kept(p), base + 2 + 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(kept(p), base);
	assert_int_equal(st.mpu->n, 1);
	u2 = st.mpu->u[0];
	v = body(&st, p, 2000, 'e', NULL);
	assert_int_equal(obj_mpu_part_put(&st, u2, 1, v, 301), 0);
	obj_version_put(&st, v);
	st.mpu->expiry = 100;
	obj_mpu_expire(&st, 399);
	assert_int_equal(st.mpu->n, 1);
	obj_mpu_expire(&st, 400);
	assert_int_equal(st.mpu->n, 0);
	assert_int_equal(st.mpu->expired, 1);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(kept(p), base);
	p = reopen_store(&st, p, path);
	assert_int_equal(st.mpu->n, 0);
	assert_int_equal(st.released_at_start, 0);
	assert_int_equal(obj_store_del(&st, "bkt", "obj", 3), 0);
	assert_int_equal(obj_store_bucket_del(&st, "bkt"), 0);
	obj_store_close(&st);
	tu_close(p);
}

/* Parts whose buffers a crash left unnamed by any record are freed at
 * start; an upload whose part record is whole keeps them. */
static void
test_crash_mid_part(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_mpu *u;
	struct obj_version *v;

	(void)state;
	tu_path(path, sizeof(path), "midpart");
	p = tu_must_create(path, BUF, 256, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	assert_int_equal(obj_mpu_create(&st, "bkt", "k", 1, "", 0, "", 0, 1, &u), 0);
	v = body(&st, p, 4000, 'a', NULL);
	assert_int_equal(obj_mpu_part_put(&st, u, 1, v, 2), 0);
	obj_version_put(&st, v);
	/* A second part's body arrived (kept) but its record never written. */
	v = body(&st, p, 3000, 'b', NULL);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_version_put(&st, v);        /* DRAM only: the crash forgets it */
	st.n_deferred = 0;
	p = reopen_store(&st, p, path);
	assert_int_equal(st.released_at_start, 3);
	assert_int_equal(st.mpu->n, 1);
	assert_int_equal(st.mpu->u[0]->n_parts, 1);
	assert_int_equal(st.mpu->u[0]->parts[0].size, 4000);
	obj_store_close(&st);
	tu_close(p);
}

/* One request through the operations (no SigV4: the unit tests of
 * sigv4.c cover it): its head parsed and routed, answered into @out;
 * a body read whole (CompleteMultipartUpload) or received (UploadPart,
 * @part_fill bytes of @part_len) answered too. @return the status. */
static struct obj_route rt_;

static int
request(struct obj_service *svc, struct pst_pool *p, const char *method, const char *target,
	const char *xmlbody, size_t part_len, int part_fill, struct obj_response *out)
{
	static struct obj_key key = { "AKIDTEST", "secret" };
	struct obj_sigv4_auth auth = { .key = &key };
	char head[2048];
	struct obj_http_req req;
	size_t blen = xmlbody != NULL ? strlen(xmlbody) : part_len;
	const char *st_line = NULL;
	int n;

	snprintf(auth.payload, sizeof(auth.payload), "UNSIGNED-PAYLOAD");
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n"
		     "Content-Type: text/x\r\nx-amz-meta-md5chksum: abc\r\n\r\n", method, target,
		     blen);
	assert_int_equal(obj_http_parse(head, (size_t)n, &req, &st_line), 0);
	assert_int_equal(obj_route_parse(req.method, req.target, req.target_len, req.headers,
					 req.n_headers, &rt_), OBJ_OK);
	memset(out, 0, sizeof(*out));
	assert_int_equal(obj_ops_handle(svc, &rt_, &auth, &req, target, 1, 1000, out), 1);
	if (out->body_req != NULL) {
		struct obj_body_req *b = out->body_req;

		out->body_req = NULL;
		memcpy(b->buf, xmlbody, blen);
		b->have = blen;
		obj_response_fini(out);
		obj_ops_body_done(svc, b, 1000, 0, out);
	} else if (out->put != NULL) {
		struct obj_put *put = out->put;
		struct obj_version *v = body(svc->store, p, part_len, part_fill, NULL);
		uint8_t sha[32] = { 0 };

		out->put = NULL;
		obj_response_fini(out);
		obj_ops_put_done(svc, put, v, sha, 0, 1000, 0, out);
	}
	return out->status;
}

static int
has(const struct obj_response *r, const char *s)
{
	return r->body != NULL && memmem(r->body, r->body_len, s, strlen(s)) != NULL;
}

/* The operations' answers: S3's documents and error codes. */
static void
test_ops(void **state)
{
	char path[PATH_MAX], target[256], xml[1024], id[OBJ_MPU_ID_LEN + 1], t1[OBJ_ETAG_MAX],
	     t2[OBJ_ETAG_MAX], want[OBJ_ETAG_MAX];
	uint8_t md5s[2][16];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_service svc = { .store = &st };
	struct obj_response r;
	struct obj_mpu *u;
	struct obj_version *v;

	(void)state;
	tu_path(path, sizeof(path), "ops");
	p = tu_must_create(path, BUF, 8192, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	st.mpu->min_part = 4000;
	assert_int_equal(request(&svc, p, "POST", "/bkt/k?uploads", NULL, 0, 0, &r), 404);
	assert_true(has(&r, "<Code>NoSuchBucket</Code>"));
	obj_response_fini(&r);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	assert_int_equal(request(&svc, p, "POST", "/bkt/k?uploads", NULL, 0, 0, &r), 200);
	assert_true(has(&r, "<InitiateMultipartUploadResult"));
	assert_true(has(&r, "<Key>k</Key>"));
	obj_response_fini(&r);
	assert_int_equal(st.mpu->n, 1);
	u = st.mpu->u[0];
	obj_mpu_id_str(u, id);
	assert_int_equal(u->ctype_len, 6);
	assert_memory_equal(u->meta, "md5chksum\0abc\0", 14);
	/* Two parts; the ETag header is the part's MD5. */
	snprintf(target, sizeof(target), "/bkt/k?partNumber=1&uploadId=%s", id);
	assert_int_equal(request(&svc, p, "PUT", target, NULL, 5000, 'a', &r), 200);
	obj_etag_single(u->parts[0].md5, t1);
	memcpy(md5s[0], u->parts[0].md5, 16);
	assert_non_null(strstr(r.head, t1));
	obj_response_fini(&r);
	snprintf(target, sizeof(target), "/bkt/k?partNumber=2&uploadId=%s", id);
	assert_int_equal(request(&svc, p, "PUT", target, NULL, 10, 'b', &r), 200);
	obj_etag_single(u->parts[1].md5, t2);
	memcpy(md5s[1], u->parts[1].md5, 16);
	obj_response_fini(&r);
	assert_int_equal(request(&svc, p, "PUT", "/bkt/k?partNumber=1&uploadId=0000000000000001",
				 NULL, 10, 'c', &r), 404);
	assert_true(has(&r, "<Code>NoSuchUpload</Code>"));
	obj_response_fini(&r);
	/* ListParts, ListMultipartUploads. */
	snprintf(target, sizeof(target), "/bkt/k?uploadId=%s&max-parts=1", id);
	assert_int_equal(request(&svc, p, "GET", target, NULL, 0, 0, &r), 200);
	assert_true(has(&r, "<ListPartsResult"));
	assert_true(has(&r, "<PartNumber>1</PartNumber>"));
	assert_false(has(&r, "<PartNumber>2</PartNumber>"));
	assert_true(has(&r, "<IsTruncated>true</IsTruncated>"));
	assert_true(has(&r, "<NextPartNumberMarker>1</NextPartNumberMarker>"));
	assert_true(has(&r, "<Size>5000</Size>"));
	obj_response_fini(&r);
	assert_int_equal(request(&svc, p, "GET", "/bkt?uploads", NULL, 0, 0, &r), 200);
	assert_true(has(&r, "<ListMultipartUploadsResult"));
	assert_true(has(&r, id));
	obj_response_fini(&r);
	/* Completions refused, the upload left as it was. */
	snprintf(target, sizeof(target), "/bkt/k?uploadId=%s", id);
	snprintf(xml, sizeof(xml), "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber>"
		 "<ETag>%s</ETag></Part><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
		 "</CompleteMultipartUpload>", t2, t1);
	assert_int_equal(request(&svc, p, "POST", target, xml, 0, 0, &r), 400);
	assert_true(has(&r, "<Code>InvalidPartOrder</Code>"));
	obj_response_fini(&r);
	snprintf(xml, sizeof(xml), "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
		 "<ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
		 "</CompleteMultipartUpload>", t1, t1);
	assert_int_equal(request(&svc, p, "POST", target, xml, 0, 0, &r), 400);
	assert_true(has(&r, "<Code>InvalidPart</Code>"));
	obj_response_fini(&r);
	assert_int_equal(request(&svc, p, "POST", target, "<CompleteMultipartUpload><Part>", 0, 0,
				 &r), 400);
	assert_true(has(&r, "<Code>MalformedXML</Code>"));
	obj_response_fini(&r);
	st.mpu->min_part = 5001;
	snprintf(xml, sizeof(xml), "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
		 "<ETag>%.*s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
		 "</CompleteMultipartUpload>", 32, t1 + 1, t2);      /* unquoted: fine */
	assert_int_equal(request(&svc, p, "POST", target, xml, 0, 0, &r), 400);
	assert_true(has(&r, "<Code>EntityTooSmall</Code>"));
	obj_response_fini(&r);
	assert_null(obj_store_get(&st, "bkt", "k", 1));
	st.mpu->min_part = 5000;
	assert_int_equal(request(&svc, p, "POST", target, xml, 0, 0, &r), 200);
	assert_int_equal(obj_etag_multipart((const uint8_t (*)[16])md5s, 2, want), 0);
	assert_true(has(&r, "<CompleteMultipartUploadResult"));
	assert_non_null(strstr(want, "-2\""));
	{
		char e[80];

		snprintf(e, sizeof(e), "<ETag>&quot;%.*s&quot;</ETag>", 34, want + 1);
		assert_true(has(&r, e));
	}
	obj_response_fini(&r);
	v = obj_store_get(&st, "bkt", "k", 1);
	assert_non_null(v);
	assert_int_equal(v->size, 5010);
	assert_string_equal(v->etag, want);
	assert_int_equal(request(&svc, p, "GET", target, NULL, 0, 0, &r), 404);
	assert_true(has(&r, "<Code>NoSuchUpload</Code>"));
	obj_response_fini(&r);
	/* Abort; the quota. */
	st.mpu->max_uploads = 1;
	assert_int_equal(request(&svc, p, "POST", "/bkt/k2?uploads", NULL, 0, 0, &r), 200);
	obj_response_fini(&r);
	assert_int_equal(request(&svc, p, "POST", "/bkt/k3?uploads", NULL, 0, 0, &r), 400);
	assert_true(has(&r, "<Code>TooManyUploads</Code>"));
	obj_response_fini(&r);
	obj_mpu_id_str(st.mpu->u[0], id);
	st.mpu->max_bytes = 100;
	snprintf(target, sizeof(target), "/bkt/k2?partNumber=1&uploadId=%s", id);
	assert_int_equal(request(&svc, p, "PUT", target, NULL, 101, 'x', &r), 400);
	assert_true(has(&r, "<Code>EntityTooLarge</Code>"));
	obj_response_fini(&r);
	snprintf(target, sizeof(target), "/bkt/k2?uploadId=%s", id);
	assert_int_equal(request(&svc, p, "DELETE", target, NULL, 0, 0, &r), 204);
	obj_response_fini(&r);
	assert_int_equal(st.mpu->n, 0);
	assert_int_equal(request(&svc, p, "DELETE", target, NULL, 0, 0, &r), 404);
	obj_response_fini(&r);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_close(&st);
	tu_close(p);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("mpu");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_store, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_part, tu_test_setup,
						tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_ops, tu_test_setup, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("objects_mpu", tests, group_setup, group_teardown);
}
