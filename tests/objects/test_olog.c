/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects's object log and store (examples/objects/olog.h,
 * ostore.h): records round trip through a reopen, a torn record and what
 * follows it are dropped at recovery (and appending resumes there), a
 * record spanning many log buffers (an object of 64 MiB: ~45,000 names),
 * a buffer chain whose newest link is torn, and the store's index, buffer
 * references and reconciliation across a reopen; another program's pool
 * refused.
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
#include <unistd.h>

#include "etag.h"
#include "paste.h"
#include "olog.h"
#include "ostore.h"
#include "../unit/pst_test_util.h"
#include "ostore_test_util.h"

#define BUF 2176u

struct seen {
	unsigned int n;
	char keys[64][64];
	uint32_t n_names[64];
	uint64_t names_sum[64];
	uint64_t size[64];
	int type[64];
};

static int
collect(void *arg, const struct obj_rec *r)
{
	struct seen *s = arg;
	uint64_t sum = 0;
	uint32_t i;

	if (s->n >= 64)
		return -ENOSPC;
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s/%.*s", (int)r->bucket_len, r->bucket,
		 (int)(r->key_len < 40 ? r->key_len : 40), r->key);
	for (i = 0; i < r->n_names; i++) {
		pst_name nm;

		memcpy(&nm, (const uint8_t *)r->names + i * sizeof(nm), sizeof(nm));
		sum = sum * 31 + nm;
	}
	s->n_names[s->n] = r->n_names;
	s->names_sum[s->n] = sum;
	s->size[s->n] = r->size;
	s->type[s->n] = r->type;
	s->n++;
	return 0;
}

static struct pst_pool *
fresh(const char *tag, uint64_t count, char *path)
{
	struct pst_pool *p;

	tu_path(path, PATH_MAX, tag);
	p = tu_must_create(path, BUF, count, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-objects", "log"), 0);
	return p;
}

static struct pst_pool *
reopen(struct pst_pool *p, const char *path)
{
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-objects", "log"), 0);
	return p;
}

static struct obj_rec
put_rec(const char *key, const pst_name *names, uint32_t n, uint64_t size)
{
	struct obj_rec r = {
		.type = OBJ_REC_PUT, .time = 1700000000, .size = size,
		.bucket = "bkt", .bucket_len = 3, .key = key, .key_len = (uint16_t)strlen(key),
		.ctype = "text/plain", .ctype_len = 10, .meta = "a\0b\0", .meta_len = 4,
		.names = names, .n_names = n,
	};

	memset(r.md5, 0xab, 16);
	return r;
}


static void
test_round_trip(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p = fresh("rt", 256, path);
	struct obj_log l;
	struct seen s = { 0 };
	pst_name names[3] = { pst_name_make(5, 0, 100), pst_name_make(6, 64, 1448),
			      pst_name_make(9, 0, 1) };
	struct obj_rec b = { .type = OBJ_REC_BUCKET_ADD, .time = 1, .bucket = "bkt",
			     .bucket_len = 3 };
	struct obj_rec r = put_rec("key one", names, 3, 1549);
	struct obj_rec d = { .type = OBJ_REC_DEL, .bucket = "bkt", .bucket_len = 3,
			     .key = "key one", .key_len = 7 };

	(void)state;
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(obj_log_append(&l, &b), 0);
	assert_int_equal(obj_log_append(&l, &r), 0);
	assert_int_equal(obj_log_append(&l, &d), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_log_close(&l);
	p = reopen(p, path);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.type[0], OBJ_REC_BUCKET_ADD);
	assert_int_equal(s.type[1], OBJ_REC_PUT);
	assert_string_equal(s.keys[1], "bkt/key one");
	assert_int_equal(s.n_names[1], 3);
	assert_int_equal(s.size[1], 1549);
	assert_int_equal(s.names_sum[1], (names[0] * 31 + names[1]) * 31 + names[2]);
	assert_int_equal(s.type[2], OBJ_REC_DEL);
	assert_int_equal(l.replayed, 3);
	obj_log_close(&l);
	tu_close(p);
}

/* A buffer the log takes holds what it held before: here the image of an
 * older log whose second record follows one exactly like the new log's
 * first. Recovery must find the one record appended, not the stale one
 * that lies, whole and numbered next, right after it. */
static void
test_stale_buffer(void **state)
{
	char path[PATH_MAX], path2[PATH_MAX];
	struct pst_pool *p = fresh("stale", 64, path), *p2;
	struct obj_log l;
	struct seen s = { 0 }, s2 = { 0 };
	pst_name names[1] = { pst_name_make(5, 0, 100) };
	struct obj_rec b = { .type = OBJ_REC_BUCKET_ADD, .time = 1, .bucket = "bkt",
			     .bucket_len = 3 };
	struct obj_rec r = put_rec("old key", names, 1, 100);
	uint32_t idx[64];
	unsigned int n = 0, i;
	uint8_t *image = malloc(BUF);

	(void)state;
	assert_non_null(image);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(obj_log_append(&l, &b), 0);
	assert_int_equal(obj_log_append(&l, &r), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	memcpy(image, pst_pool_buf_addr(p, l.bufs[0]), BUF);
	obj_log_close(&l);
	tu_close(p);

	/* Every free buffer of a new pool holds that image. */
	p2 = fresh("stale2", 64, path2);
	while (n < 64 && pst_pool_take(p2, &idx[n]) == 0)
		memcpy(pst_pool_buf_addr(p2, idx[n++]), image, BUF);
	assert_true(n > 1);
	for (i = 0; i < n; i++)
		assert_int_equal(pst_pool_release(p2, idx[i]), 0);
	assert_int_equal(obj_log_open(&l, p2, 0, collect, &s2), 0);
	assert_int_equal(s2.n, 0);
	assert_int_equal(obj_log_append(&l, &b), 0);
	assert_int_equal(pst_pool_drain(p2), 0);
	obj_log_close(&l);
	p2 = reopen(p2, path2);
	assert_int_equal(obj_log_open(&l, p2, 0, collect, &s2), 0);
	assert_int_equal(l.replayed, 1);
	assert_int_equal(s2.n, 1);
	assert_int_equal(s2.type[0], OBJ_REC_BUCKET_ADD);
	obj_log_close(&l);
	tu_close(p2);
	free(image);
}

/* The second of three records torn: recovery keeps the first only, and
 * appends resume where it ended (the third, whole but after the tear, is
 * not replayed: it was never acknowledged). */
static void
test_torn_record(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p = fresh("torn", 256, path);
	struct obj_log l;
	struct seen s = { 0 };
	pst_name nm = pst_name_make(7, 0, 10);
	struct obj_rec a = put_rec("a", &nm, 1, 10), b = put_rec("b", &nm, 1, 10),
		       c = put_rec("c", &nm, 1, 10);
	uint64_t root;
	uint8_t *buf;
	size_t alen = obj_log_rec_size(&a);

	(void)state;
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(obj_log_append(&l, &a), 0);
	assert_int_equal(obj_log_append(&l, &b), 0);
	assert_int_equal(obj_log_append(&l, &c), 0);
	obj_log_close(&l);
	/* Tear one byte of the second record (its key). */
	assert_int_equal(pst_pool_root_get(p, 0, &root), 0);
	buf = pst_pool_buf_addr(p, (uint32_t)(root - 1));
	buf[OBJ_LOG_BUF_HDR + alen + 72 + 3] ^= 0x40;
	assert_int_equal(pst_pool_persist(p, buf, BUF), 0);
	p = reopen(p, path);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "bkt/a");
	assert_int_equal(obj_log_append(&l, &c), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_log_close(&l);
	p = reopen(p, path);
	memset(&s, 0, sizeof(s));
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[1], "bkt/c");
	obj_log_close(&l);
	tu_close(p);
}

/* One record of 45,000 names (an object of 64 MiB) across ~170 buffers,
 * between two small ones; then its last buffer's bytes torn: the record
 * and the one after it are gone, the one before stays. */
static void
test_spanning(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p = fresh("span", 1024, path);
	struct obj_log l;
	struct seen s = { 0 };
	uint32_t n = 45000, i;
	pst_name *names = malloc(n * sizeof(*names)), one = pst_name_make(1, 0, 1);
	struct obj_rec small = put_rec("small", &one, 1, 1), big, after = put_rec("after", &one, 1, 1);
	uint64_t sum = 0;
	size_t bufs_before;
	uint8_t *last;

	(void)state;
	assert_non_null(names);
	for (i = 0; i < n; i++) {
		names[i] = pst_name_make(100 + i % 900, (uint16_t)(i % 64), 1448);
		sum = sum * 31 + names[i];
	}
	big = put_rec("big", names, n, (uint64_t)n * 1448);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(obj_log_append(&l, &small), 0);
	bufs_before = l.n_bufs;
	assert_int_equal(obj_log_append(&l, &big), 0);
	assert_true(l.n_bufs - bufs_before >= 160);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_log_close(&l);
	p = reopen(p, path);
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.n_names[1], n);
	assert_int_equal(s.names_sum[1], sum);
	assert_int_equal(obj_log_append(&l, &after), 0);
	/* Tear a byte in the middle of the big record's buffers. */
	last = pst_pool_buf_addr(p, l.bufs[bufs_before + 50]);
	last[OBJ_LOG_BUF_HDR + 100] ^= 1;
	assert_int_equal(pst_pool_persist(p, last, BUF), 0);
	obj_log_close(&l);
	p = reopen(p, path);
	memset(&s, 0, sizeof(s));
	assert_int_equal(obj_log_open(&l, p, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "bkt/small");
	assert_true(l.torn_bytes > 0);
	obj_log_close(&l);
	free(names);
	tu_close(p);
}

/* The store: buckets and objects through a reopen; an overwritten
 * version's buffers released after a drain only; buffers kept for an
 * upload no record names freed at the next start. */
static void
test_store(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_version *v;
	struct pst_pool_stats ps;
	uint32_t idx[4];
	int i;

	(void)state;
	tu_path(path, sizeof(path), "store");
	p = tu_must_create(path, BUF, 512, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), -EEXIST);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pst_pool_take(p, &idx[i]), 0);
		assert_int_equal(pst_pool_keep(p, idx[i]), 0);
		memset(pst_pool_buf_addr(p, idx[i]), 'a' + i, 100);
	}
	/* Version one: buffers 0 and 1; version two: buffer 2; buffer 3 is
	 * an upload cut short (kept, never named). */
	v = obj_version_new("text/plain", 10, "", 0, 2);
	v->names[0] = pst_name_make(idx[0], 0, 100);
	v->names[1] = pst_name_make(idx[1], 0, 50);
	v->n_names = 2;
	v->size = 150;
	ot_version_md5(p, v);
	obj_store_ref_names(&st, v->names, 2, 1);
	assert_int_equal(obj_store_put(&st, "bkt", "k", 1, v), 0);
	assert_int_equal(obj_store_bucket_del(&st, "bkt"), -ENOTEMPTY);
	v = obj_version_new("", 0, "m\0v\0", 4, 1);
	v->names[0] = pst_name_make(idx[2], 0, 100);
	v->n_names = 1;
	v->size = 100;
	ot_version_md5(p, v);
	obj_store_ref_names(&st, v->names, 1, 1);
	assert_int_equal(obj_store_put(&st, "bkt", "k", 1, v), 0);
	/* Not released before the drain that makes version two durable. */
	obj_store_release_durable(&st);
	pst_pool_stats(p, &ps);
	assert_int_equal(st.n_deferred, 2);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(st.n_deferred, 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_close(&st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(st.n_objs, 1);
	v = obj_store_get(&st, "bkt", "k", 1);
	assert_non_null(v);
	assert_int_equal(v->size, 100);
	assert_int_equal(v->meta_len, 4);
	assert_int_equal(pst_name_index(v->names[0]), idx[2]);
	/* idx[0], idx[1] (released) and idx[3] (never named) are free. */
	assert_int_equal(st.released_at_start, 1);
	pst_pool_stats(p, &ps);
	assert_int_equal(ps.kept, 1 + st.log.n_bufs);
	assert_int_equal(obj_store_del(&st, "bkt", "k", 1), 0);
	assert_int_equal(obj_store_bucket_del(&st, "bkt"), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_close(&st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(st.n_objs, 0);
	assert_int_equal(st.n_buckets, 0);
	obj_store_close(&st);
	tu_close(p);
	/* Another program's pool is refused. */
	tu_path(path, sizeof(path), "foreign");
	p = tu_must_create(path, BUF, 64, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-kvs", "wal"), 0);
	assert_int_equal(obj_store_open(&st, p), -PST_EOWNER);
	tu_close(p);
}

/* Two objects naming the same buffer, as CopyObject makes them: the
 * references are rebuilt from both records at start, and the buffer is
 * released only once the second object is gone. */
static void
test_store_shared(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_version *v;
	struct pst_pool_stats ps;
	uint32_t idx;
	int i;

	(void)state;
	tu_path(path, sizeof(path), "shared");
	p = tu_must_create(path, BUF, 256, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	memset(pst_pool_buf_addr(p, idx), 'x', 100);
	for (i = 0; i < 2; i++) {
		v = obj_version_new("", 0, "", 0, 1);
		assert_non_null(v);
		v->names[0] = pst_name_make(idx, 0, 100);
		v->n_names = 1;
		v->size = 100;
		ot_version_md5(p, v);
	obj_store_ref_names(&st, v->names, 1, 1);
		assert_int_equal(obj_store_put(&st, "bkt", i ? "copy" : "src", i ? 4 : 3, v), 0);
	}
	assert_int_equal(st.refs[idx], 2);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_close(&st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(st.n_objs, 2);
	assert_int_equal(st.refs[idx], 2);
	assert_int_equal(st.released_at_start, 0);
	/* The source deleted: the copy still holds the buffer. */
	assert_int_equal(obj_store_del(&st, "bkt", "src", 3), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(st.refs[idx], 1);
	pst_pool_stats(p, &ps);
	assert_int_equal(ps.kept, 1 + st.log.n_bufs);
	v = obj_store_get(&st, "bkt", "copy", 4);
	assert_non_null(v);
	assert_memory_equal(pst_pool_buf_addr(p, idx), "xxxxxxxxxx", 10);
	/* The copy deleted too: the buffer is released. */
	assert_int_equal(obj_store_del(&st, "bkt", "copy", 4), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	assert_int_equal(st.refs[idx], 0);
	pst_pool_stats(p, &ps);
	assert_int_equal(ps.kept, st.log.n_bufs);
	obj_store_close(&st);
	tu_close(p);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("olog");
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
		cmocka_unit_test_setup_teardown(test_round_trip, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_torn_record, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_stale_buffer, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_spanning, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_store, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_store_shared, tu_test_setup, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("objects_olog", tests, group_setup, group_teardown);
}
