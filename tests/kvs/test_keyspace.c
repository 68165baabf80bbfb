/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': SCAN's order over both indexes (examples/kvs/keyspace.h).
 * A whole iteration returns every key once, in ascending order values,
 * each batch inside its cursor range; and under writes between the calls
 * (new keys by the thousand, so the wal table doubles several times;
 * deletes, so its backward-shift moves entries to earlier slots and the
 * B+tree's leaves change; all of them, so that the tables halve, then new
 * ones again) every key present for the whole iteration is returned.
 * A call's cost; KEYS's matching and RANDOMKEY's draws too.
 */
#include "../unit/pst_test_util.h"

#include <stdio.h>
#include <time.h>

#include "glob.h"
#include "keyhash.h"
#include "keyspace.h"
#include "kv_index.h"
#include "store.h"

#define STABLE 400u               /* keys present throughout */
#define CHURN 6000u               /* keys written and deleted meanwhile */

static int
key_of(const char *kind, unsigned int i, char *k, size_t size)
{
	return snprintf(k, size, "%s:%u", kind, i);
}

/* Which key of @kind (NULL: any) a returned key is, or -1. */
static long
key_id(const char *kind, const char *k, uint16_t len)
{
	char buf[64];
	size_t klen = strlen(kind);
	unsigned int i;

	if (len >= sizeof(buf) || len <= klen + 1 || memcmp(k, kind, klen) != 0 || k[klen] != ':')
		return -1;
	memcpy(buf, k, len);
	buf[len] = '\0';
	if (sscanf(buf + klen + 1, "%u", &i) != 1)
		return -1;
	return i;
}

/* The pool being written: drained every few writes, as the server
 * drains once per poll, so that replaced buffers are released. */
static struct pst_pool *cur_pool;
static unsigned int writes;

static void
written(struct kv_store *st)
{
	if (++writes % 64 == 0) {
		tu_assert_rc(pst_pool_drain(cur_pool), 0);
		kv_store_release_durable(st);
	}
}

static struct pst_pool *
open_store(struct kv_store *st, const struct kv_index_ops *ops, char *path, size_t size)
{
	struct pst_pool *p;

	tu_path(path, size, ops->name);
	p = tu_must_create(path, 2048, 16384, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(st, p, ops, 0), 0);
	cur_pool = p;
	return p;
}

static void
put(struct kv_store *st, const char *kind, unsigned int i)
{
	char k[32];
	int n = key_of(kind, i, k, sizeof(k));

	tu_assert_rc(kv_store_set_bytes(st, k, (uint16_t)n, "v", 1), 0);
	written(st);
}

static int
del(struct kv_store *st, const char *kind, unsigned int i)
{
	char k[32];
	int n = key_of(kind, i, k, sizeof(k));
	int r = kv_store_del(st, k, (uint16_t)n);

	written(st);
	return r;
}

/* Each batch ascends, lies in [cursor, next) (or [cursor, end] for the
 * last), and the next call starts past it. */
static void
check_batch(const struct kv_key_batch *b, uint64_t cursor, uint64_t next)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct kv_key_ref *r = &b->v[i];

		assert_int_equal(r->ord, kv_keyspace_ord(kv_key_batch_key(b, i), r->len));
		assert_true(r->ord >= cursor);
		if (next != 0)
			assert_true(r->ord < next);
		if (i > 0)
			assert_true(r->ord >= b->v[i - 1].ord);
	}
}

/* A whole iteration over a still keyspace: every key exactly once. */
static void
whole(const struct kv_index_ops *ops)
{
	static unsigned char seen[CHURN];
	struct kv_key_batch b = { 0 };
	char path[PATH_MAX];
	struct kv_store st;
	struct pst_pool *p = open_store(&st, ops, path, sizeof(path));
	uint64_t cursor = 0, next;
	unsigned int i, calls = 0;
	size_t k, returned = 0;

	memset(seen, 0, sizeof(seen));
	/* The empty keyspace: one call, cursor 0, nothing. */
	tu_assert_rc(kv_keyspace_scan(ops, st.idx, 0, 10, &b, &next), 0);
	assert_int_equal(b.n, 0);
	assert_int_equal(next, 0);
	for (i = 0; i < 3000; i++)
		put(&st, "k", i);
	do {
		tu_assert_rc(kv_keyspace_scan(ops, st.idx, cursor, 7, &b, &next), 0);
		check_batch(&b, cursor, next);
		/* COUNT keys at least, but at the end. */
		if (next != 0)
			assert_true(b.n >= 7);
		for (k = 0; k < b.n; k++) {
			long id = key_id("k", kv_key_batch_key(&b, k), b.v[k].len);

			assert_true(id >= 0 && id < 3000);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			returned++;
		}
		assert_true(next == 0 || next > cursor);
		cursor = next;
		assert_true(++calls <= 3000 / 7 + 1);
	} while (cursor != 0);
	assert_int_equal(returned, 3000);
	/* COUNT over the keys: all of them in one call, cursor 0. */
	tu_assert_rc(kv_keyspace_scan(ops, st.idx, 0, 5000, &b, &next), 0);
	assert_int_equal(b.n, 3000);
	assert_int_equal(next, 0);
	/* A cursor past every key: nothing, and the end. */
	tu_assert_rc(kv_keyspace_scan(ops, st.idx, UINT64_MAX, 10, &b, &next), 0);
	assert_true(b.n <= 1);
	assert_int_equal(next, 0);
	kv_key_batch_free(&b);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* Redis's guarantee under writes between the calls. */
static void
churn(const struct kv_index_ops *ops)
{
	static unsigned char seen[STABLE], live[CHURN];
	struct kv_key_batch b = { 0 };
	char path[PATH_MAX];
	struct kv_store st;
	struct pst_pool *p = open_store(&st, ops, path, sizeof(path));
	uint64_t cursor = 0, next, rng = 12345;
	unsigned int i, calls = 0, added = 0, n_live = 0, missed = 0, emptied = 0;
	size_t k;

	memset(seen, 0, sizeof(seen));
	memset(live, 0, sizeof(live));
	for (i = 0; i < STABLE; i++)
		put(&st, "s", i);
	do {
		tu_assert_rc(kv_keyspace_scan(ops, st.idx, cursor, 5, &b, &next), 0);
		check_batch(&b, cursor, next);
		for (k = 0; k < b.n; k++) {
			long id = key_id("s", kv_key_batch_key(&b, k), b.v[k].len);

			if (id >= 0)
				seen[id] = 1;
			else
				assert_true(key_id("c", kv_key_batch_key(&b, k), b.v[k].len) >= 0);
		}
		cursor = next;
		/* Growth: a burst of new keys at the 3rd call, and some at
		 * every call; then deletes: a few every call, a burst at the
		 * 10th (the wal table keeps its size, its entries shift). */
		for (i = 0; i < (calls == 3 ? 3000u : 60u) && added < CHURN; i++) {
			put(&st, "c", added);
			live[added++] = 1;
			n_live++;
		}
		/* At the 40th, every one of them: the tables fall below
		 * 1/8 full and halve (more than once). */
		if (calls == 40) {
			for (i = 0; i < added; i++)
				if (live[i]) {
					assert_int_equal(del(&st, "c", i), 1);
					live[i] = 0;
				}
			n_live = 0;
			emptied = 1;
		}
		for (i = 0; i < (calls == 10 ? 2500u : 25u) && n_live > 0; i++) {
			unsigned int victim;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			victim = (unsigned int)((rng >> 33) % added);
			if (!live[victim])
				continue;
			assert_int_equal(del(&st, "c", victim), 1);
			live[victim] = 0;
			n_live--;
		}
		assert_true(++calls <= 20000);
	} while (cursor != 0);
	for (i = 0; i < STABLE; i++)
		if (!seen[i]) {
			printf("[%s] stable key s:%u not returned\n", ops->name, i);
			missed++;
		}
	printf("[%s] %u calls, %u keys added and %u left of them meanwhile\n", ops->name,
	       calls, added, n_live);
	assert_int_equal(missed, 0);
	assert_true(added >= 3000);
	assert_true(emptied);
	kv_key_batch_free(&b);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* A SCAN call costs O(COUNT), not a walk of every key: over 20,000 keys,
 * COUNT 10 returns about 10 keys a call (more when the step ends inside
 * a run of used slots), so an iteration takes over a thousand calls; a
 * call that walked every key would return a large fraction of them. */
static void
cost(const struct kv_index_ops *ops)
{
	struct kv_key_batch b = { 0 };
	char path[PATH_MAX];
	struct kv_store st;
	struct pst_pool *p;
	uint64_t cursor = 0, next;
	unsigned int i, calls = 0, n = 20000, most = 0;
	size_t returned = 0;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, 512, n + n / 2 + 4096, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	cur_pool = p;
	for (i = 0; i < n; i++)
		put(&st, "cost", i);
	do {
		tu_assert_rc(kv_keyspace_scan(ops, st.idx, cursor, 10, &b, &next), 0);
		check_batch(&b, cursor, next);
		returned += b.n;
		if (b.n > most)
			most = (unsigned int)b.n;
		cursor = next;
		assert_true(++calls <= n);
	} while (cursor != 0);
	printf("[%s] %u keys, COUNT 10: %u calls, %.1f keys a call, at most %u\n", ops->name,
	       n, calls, (double)returned / calls, most);
	assert_int_equal(returned, n);
	assert_true(returned <= 3 * 10 * (size_t)calls);
	assert_true(most <= 200);
	kv_key_batch_free(&b);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* A whole SCAN: how many keys of @kind (numbered below @n) it returns,
 * each at most once, and no other key. */
static unsigned int
scan_count(const struct kv_index_ops *ops, struct kv_index *idx, const char *kind,
	   unsigned int n, unsigned char *seen)
{
	struct kv_key_batch b = { 0 };
	uint64_t cursor = 0, next;
	unsigned int got = 0, calls = 0;
	size_t k;

	memset(seen, 0, n);
	do {
		tu_assert_rc(kv_keyspace_scan(ops, idx, cursor, 10, &b, &next), 0);
		for (k = 0; k < b.n; k++) {
			long id = key_id(kind, kv_key_batch_key(&b, k), b.v[k].len);

			assert_true(id >= 0 && id < (long)n);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			got++;
		}
		cursor = next;
		assert_true(++calls <= 10 * n + 1);
	} while (cursor != 0);
	kv_key_batch_free(&b);
	return got;
}

/* An aborted unit takes its inserts and deletes out of SCAN's order too
 * (the btree's key order is undone beside the tree: short keys held in
 * their slots, long ones on the heap), and a committed one keeps them. */
static void
unit_abort(const struct kv_index_ops *ops)
{
	static unsigned char seen[400];
	char path[PATH_MAX], k[64];
	struct kv_store st;
	struct pst_pool *p = open_store(&st, ops, path, sizeof(path));
	unsigned int i;

	/* Keys 0-199 short ("u:7"), 200-399 longer than 16 bytes. */
#define UKEY(i) snprintf(k, sizeof(k), (i) < 200 ? "u:%u" : "u:%u:a-longer-key-name", (i))
	for (i = 0; i < 200; i++) {
		int n = UKEY(i * 2 % 400);

		tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)n, "v", 1), 0);
		written(&st);
	}
	assert_int_equal(scan_count(ops, st.idx, "u", 400, seen), 200);
	tu_assert_rc(kv_store_unit_begin(&st, 0), 0);
	for (i = 0; i < 400; i++) {
		int n = UKEY(i);

		if (i % 2 == 1) /* absent: inserted by the unit, some deleted again */
			tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)n, "w", 1), 0);
		if (i % 4 == 0 || i % 6 == 1) /* present ones deleted, new ones too */
			assert_int_equal(kv_store_del(&st, k, (uint16_t)n), 1);
	}
	assert_int_equal(scan_count(ops, st.idx, "u", 400, seen), (unsigned int)kv_store_count(&st));
	tu_assert_rc(kv_store_unit_abort(&st), 0);
	assert_int_equal(kv_store_count(&st), 200);
	assert_int_equal(scan_count(ops, st.idx, "u", 400, seen), 200);
	for (i = 0; i < 400; i++)
		assert_int_equal(seen[i], i % 2 == 0);
	/* The same unit committed. */
	tu_assert_rc(kv_store_unit_begin(&st, 0), 0);
	for (i = 0; i < 400; i++) {
		int n = UKEY(i);

		if (i % 2 == 1)
			tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)n, "w", 1), 0);
		if (i % 4 == 0 || i % 6 == 1)
			assert_int_equal(kv_store_del(&st, k, (uint16_t)n), 1);
	}
	tu_assert_rc(kv_store_unit_end(&st), 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	assert_int_equal(scan_count(ops, st.idx, "u", 400, seen), (unsigned int)kv_store_count(&st));
	for (i = 0; i < 400; i++)
		assert_int_equal(seen[i], !(i % 4 == 0 || i % 6 == 1));
#undef UKEY
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* KEYS: exactly the matches; RANDOMKEY's draws: a present key each time,
 * and every key drawn over 20 draws a key (a key missed has a chance of
 * about e^-20 per key: the seeds are fixed, so the test is deterministic). */
static void
keys_nth(const struct kv_index_ops *ops)
{
	static unsigned char seen[500];
	struct kv_key_batch b = { 0 };
	char path[PATH_MAX], k[32];
	struct kv_store st;
	struct pst_pool *p = open_store(&st, ops, path, sizeof(path));
	unsigned int i;
	size_t j;

	for (i = 0; i < 500; i++)
		put(&st, i % 2 ? "odd" : "even", i);
	tu_assert_rc(kv_store_set_bytes(&st, "", 0, "v", 1), 0);
	tu_assert_rc(kv_keyspace_keys(ops, st.idx, "odd:*", 5, &b), 0);
	assert_int_equal(b.n, 250);
	for (j = 0; j < b.n; j++)
		assert_true(kv_glob_match("odd:*", 5, kv_key_batch_key(&b, j), b.v[j].len));
	tu_assert_rc(kv_keyspace_keys(ops, st.idx, "*", 1, &b), 0);
	assert_int_equal(b.n, 501);   /* "*" takes the empty key too */
	tu_assert_rc(kv_keyspace_keys(ops, st.idx, "**", 2, &b), 0);
	assert_int_equal(b.n, 500);   /* as Redis: no other pattern does */
	tu_assert_rc(kv_keyspace_keys(ops, st.idx, "even:1?", 7, &b), 0);
	assert_int_equal(b.n, 5);
	tu_assert_rc(kv_store_del(&st, "", 0), 1);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 20 * 500; i++) {
		long id;

		tu_assert_rc(kv_keyspace_random(ops, st.idx, 0x9e3779b97f4a7c15ull * (i + 1), &b), 0);
		assert_int_equal(b.n, 1);
		id = key_id("odd", kv_key_batch_key(&b, 0), b.v[0].len);
		if (id < 0)
			id = key_id("even", kv_key_batch_key(&b, 0), b.v[0].len);
		assert_true(id >= 0 && id < 500);
		seen[id] = 1;
	}
	for (i = 0; i < 500; i++)
		assert_int_equal(seen[i], 1);
	/* Deleted down to one key in a table that halved: still found. */
	for (i = 1; i < 500; i++) {
		int n = key_of(i % 2 ? "odd" : "even", i, k, sizeof(k));

		tu_assert_rc(kv_store_del(&st, k, (uint16_t)n), 1);
		written(&st);
	}
	for (i = 0; i < 100; i++) {
		tu_assert_rc(kv_keyspace_random(ops, st.idx, i + 1, &b), 0);
		assert_int_equal(b.n, 1);
		assert_int_equal(key_id("even", kv_key_batch_key(&b, 0), b.v[0].len), 0);
	}
	tu_assert_rc(kv_store_del(&st, "even:0", 6), 1);
	tu_assert_rc(kv_keyspace_random(ops, st.idx, 1, &b), 0);
	assert_int_equal(b.n, 0);
	kv_key_batch_free(&b);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* KVS_KEYSPACE_BENCH=N: the time of SCAN calls over N keys, printed (a
 * measurement for doc/kvs.md, never a pass/fail condition). */
static void
bench(const struct kv_index_ops *ops, unsigned int n)
{
	struct kv_key_batch b = { 0 };
	char path[PATH_MAX];
	struct kv_store st;
	struct pst_pool *p;
	struct timespec t0, t1;
	uint64_t cursor = 0, next;
	unsigned int i, calls = 0;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, 512, n + n / 2 + 4096, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	cur_pool = p;
	for (i = 0; i < n; i++)
		put(&st, "key:bench", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		tu_assert_rc(kv_keyspace_scan(ops, st.idx, cursor, 10, &b, &next), 0);
		cursor = next;
		calls++;
	} while (cursor != 0 && calls < 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("[%s] SCAN over %u keys: %u calls, %.4f ms a call\n", ops->name, n, calls,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
	       calls);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++)
		tu_assert_rc(kv_keyspace_random(ops, st.idx, i + 1, &b), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("[%s] RANDOMKEY over %u keys: %.4f ms a draw\n", ops->name, n,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
	       1000);
	kv_key_batch_free(&b);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

static void
test_bench(void **s)
{
	const char *n = getenv("KVS_KEYSPACE_BENCH");

	(void)s;
	if (n == NULL)
		return;   /* a measurement on request only */
	bench(&kv_index_wal, (unsigned int)atoi(n));
	bench(&kv_index_btree, (unsigned int)atoi(n));
}

static void test_whole_wal(void **s) { (void)s; whole(&kv_index_wal); }
static void test_whole_btree(void **s) { (void)s; whole(&kv_index_btree); }
static void test_churn_wal(void **s) { (void)s; churn(&kv_index_wal); }
static void test_churn_btree(void **s) { (void)s; churn(&kv_index_btree); }
static void test_cost_wal(void **s) { (void)s; cost(&kv_index_wal); }
static void test_cost_btree(void **s) { (void)s; cost(&kv_index_btree); }
static void test_unit_abort_wal(void **s) { (void)s; unit_abort(&kv_index_wal); }
static void test_unit_abort_btree(void **s) { (void)s; unit_abort(&kv_index_btree); }
static void test_keys_wal(void **s) { (void)s; keys_nth(&kv_index_wal); }
static void test_keys_btree(void **s) { (void)s; keys_nth(&kv_index_btree); }

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvkeyspace");
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
		cmocka_unit_test_teardown(test_whole_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_whole_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_churn_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_churn_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_cost_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_cost_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_unit_abort_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_unit_abort_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_keys_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_keys_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_bench, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("kvs_keyspace", tests, group_setup,
					   group_teardown);
}
