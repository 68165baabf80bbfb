/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': SET ... GET replies the value it replaces whatever its
 * number of names. paste-kvs writes at most KV_VALUE_NAMES_MAX names per
 * value, but its indexes hold up to UINT16_MAX: a pool written by another
 * program (here: values put through the index and recovered on reopen)
 * has such values, and SET's GET copies the old one aside before the put.
 */
#include "../unit/pst_test_util.h"

#include <stdlib.h>

#include "exec.h"
#include "kv_index.h"
#include "kv_limits.h"
#include "store.h"

#define BUF_SIZE 4096u
#define N_NAMES UINT16_MAX          /* the most an index holds */
#define NEW_VALUE "new"

static const char key[] = "many";

static uint8_t
pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* CRC of the value as the store computes it (store.c, value_crc), so that
 * recovery finds it whole. */
static uint32_t
chained_crc(struct pst_pool *p, const struct kv_value *v)
{
	uint32_t crc = 0;

	for (uint32_t i = 0; i < v->n; i++) {
		const void *a = pst_pool_name_to_addr(p, v->names[i]);
		uint32_t rec[3] = { crc, pst_crc32c(a, pst_name_length(v->names[i])),
				    pst_name_length(v->names[i]) };

		crc = pst_crc32c(rec, sizeof(rec));
	}
	return crc;
}

/* Value @key of N_NAMES one-byte names, written as another program
 * would: into kept buffers, through the index alone. */
static struct kv_value *
put_many(struct kv_store *st)
{
	struct kv_value *v = malloc(sizeof(*v) + N_NAMES * sizeof(pst_name));
	uint32_t buf = 0;

	assert_non_null(v);
	for (uint32_t i = 0; i < N_NAMES; i++) {
		uint8_t *a;

		if (i % BUF_SIZE == 0) {
			tu_assert_rc(pst_pool_take(st->pool, &buf), 0);
			tu_assert_rc(pst_pool_keep(st->pool, buf), 0);
		}
		a = (uint8_t *)pst_pool_buf_addr(st->pool, buf) + i % BUF_SIZE;
		*a = pattern(i);
		tu_assert_rc(pst_pool_flush(st->pool, a, 1), 0);
		v->names[i] = pst_name_make(buf, (uint16_t)(i % BUF_SIZE), 1);
	}
	v->n = N_NAMES;
	v->len = N_NAMES;
	v->crc = chained_crc(st->pool, v);
	tu_assert_rc(st->ops->put(st->idx, key, sizeof(key) - 1, v, NULL, NULL), 0);
	tu_assert_rc(pst_pool_drain(st->pool), 0);
	return v;
}

struct captured {
	char bytes[64];
	size_t len;
	int values;
	const struct kv_value *want;
	struct pst_pool *pool;
};

static void
capture_bytes(void *ctx, const void *data, size_t len)
{
	struct captured *c = ctx;

	assert_true(c->len + len <= sizeof(c->bytes));
	memcpy(c->bytes + c->len, data, len);
	c->len += len;
}

/* The old value, by name: every one of its names, and their bytes (with
 * no old value to compare with: the value's bytes, kept as replied). */
static void
capture_value(void *ctx, const struct kv_value *v)
{
	struct captured *c = ctx;

	c->values++;
	if (c->want == NULL) {
		for (uint32_t i = 0; i < v->n; i++)
			capture_bytes(ctx, pst_pool_name_to_addr(c->pool, v->names[i]),
				      pst_name_length(v->names[i]));
		return;
	}
	assert_int_equal(v->n, c->want->n);
	assert_int_equal(v->len, c->want->len);
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->names[i] != c->want->names[i])
			fail_msg("name %u of the old value: %#llx, stored %#llx", i,
				 (unsigned long long)v->names[i],
				 (unsigned long long)c->want->names[i]);
		if (*(const uint8_t *)pst_pool_name_to_addr(c->pool, v->names[i]) != pattern(i))
			fail_msg("byte %u of the old value differs", i);
	}
}

static void
capture_close(void *ctx)
{
	(void)ctx;
	fail_msg("the connection was closed");
}

/* Execute the RESP request @msg against @x; what it replied in @cap. */
static void
run(struct kv_exec *x, const char *msg, struct captured *cap)
{
	int continue_sent = 0;
	const struct kv_out out = { .bytes = capture_bytes, .value = capture_value,
				    .close = capture_close, .ctx = cap,
				    .continue_sent = &continue_sent };
	struct kv_stream s;

	kv_stream_init(&s);
	tu_assert_rc(kv_stream_push(&s, PST_NAME_INVALID, msg, (uint32_t)strlen(msg)), 0);
	assert_int_equal(kv_exec_next(x, &s, 0, &out), (long)strlen(msg));
	kv_stream_consume(&s, s.len, NULL, NULL);
	kv_stream_fini(&s, NULL, NULL);
}

static void
set_get_many(const struct kv_index_ops *ops)
{
	char path[PATH_MAX], want[32];
	struct captured cap = { .len = 0 };
	struct kv_value *v;
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF_SIZE, 1024, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	v = put_many(&st);
	kv_store_close(&st);
	tu_close(p);

	/* Recovered as any pool is: the value whole, its buffers kept. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	assert_int_equal(st.recovered, 1);
	/* values_in_dram: the new value is copied from the request's bytes,
	 * which lie in DRAM here. */
	tu_assert_rc(kv_exec_init(&x, &st, 1), 0);
	cap.want = v;
	cap.pool = p;
	run(&x, "*4\r\n$3\r\nSET\r\n$4\r\nmany\r\n$3\r\n" NEW_VALUE "\r\n$3\r\nGET\r\n", &cap);
	snprintf(want, sizeof(want), "$%u\r\n\r\n", (unsigned int)N_NAMES);
	assert_int_equal(cap.values, 1);
	assert_int_equal(cap.len, strlen(want));
	assert_memory_equal(cap.bytes, want, cap.len);

	/* And the SET itself took. */
	cap.len = 0;
	cap.values = 0;
	cap.want = NULL;
	run(&x, "*2\r\n$3\r\nGET\r\n$4\r\nmany\r\n", &cap);
	assert_int_equal(cap.values, 1);
	assert_int_equal(cap.len, 9);
	assert_memory_equal(cap.bytes, "$3\r\n" NEW_VALUE "\r\n", 9);
	kv_exec_fini(&x);
	kv_store_close(&st);
	tu_close(p);
	free(v);
	unlink(path);
}

static void
test_set_get_many_wal(void **state)
{
	(void)state;
	set_get_many(&kv_index_wal);
}

static void
test_set_get_many_btree(void **state)
{
	(void)state;
	set_get_many(&kv_index_btree);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvexecnames");
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
		cmocka_unit_test_teardown(test_set_get_many_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_set_get_many_btree, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("kvs_exec_names", tests, group_setup,
					   group_teardown);
}
