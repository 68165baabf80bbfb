/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': the store's keys per cluster hash slot (CLUSTER
 * COUNTKEYSINSLOT), in both indexes: a new key counts once, an overwrite
 * not again, a delete (and a delete of a missing key) as it should,
 * FLUSHALL clears, and a reopened store counts the recovered keys the same.
 */
#include "../unit/pst_test_util.h"

#include <stdio.h>

#include "cluster.h"
#include "kv_index.h"
#include "store.h"

#define NKEYS 300u

static void
key_of(unsigned int i, char *k, size_t size)
{
	/* Every third key shares a hash tag: many keys in one slot. */
	if (i % 3 == 0)
		snprintf(k, size, "{user7}:%u", i);
	else
		snprintf(k, size, "key:%u", i);
}

/* The counts @st should have for keys [0, n) but those in @gone. */
static void
expect_counts(const struct kv_store *st, unsigned int n, const int *gone)
{
	static uint32_t want[KV_CLUSTER_SLOTS];
	uint64_t total = 0;
	unsigned int i;
	char k[32];

	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		if (gone[i])
			continue;
		key_of(i, k, sizeof(k));
		want[kv_cluster_key_slot(k, strlen(k))]++;
	}
	for (i = 0; i < KV_CLUSTER_SLOTS; i++) {
		if (kv_store_slot_count(st, i) != want[i])
			fail_msg("slot %u: %u keys counted, %u stored", i,
				 kv_store_slot_count(st, i), want[i]);
		total += want[i];
	}
	assert_int_equal(kv_store_count(st), total);
	assert_int_equal(kv_store_slot_count(st, KV_CLUSTER_SLOTS), 0);
}

static void
slots(const struct kv_index_ops *ops)
{
	static int gone[NKEYS];
	char path[PATH_MAX], k[32];
	struct pst_pool *p;
	struct kv_store st;
	unsigned int i;

	memset(gone, 0, sizeof(gone));
	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, 2176, 4096, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, KV_STORE_SLOT_COUNTS), 0);
	for (i = 0; i < NKEYS; i++) {
		key_of(i, k, sizeof(k));
		tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)strlen(k), "v1", 2), 0);
	}
	assert_true(kv_store_slot_count(&st, kv_cluster_key_slot("{user7}", 7)) >= NKEYS / 3);
	/* Overwrites: no new key. */
	for (i = 0; i < NKEYS; i += 2) {
		key_of(i, k, sizeof(k));
		tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)strlen(k), "v2", 2), 0);
	}
	for (i = 0; i < NKEYS; i += 5) {
		key_of(i, k, sizeof(k));
		assert_int_equal(kv_store_del(&st, k, (uint16_t)strlen(k)), 1);
		assert_int_equal(kv_store_del(&st, k, (uint16_t)strlen(k)), 0);
		gone[i] = 1;
	}
	expect_counts(&st, NKEYS, gone);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_close(&st);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, KV_STORE_SLOT_COUNTS), 0);
	expect_counts(&st, NKEYS, gone);
	tu_assert_rc(kv_store_flushall(&st), 0);
	for (i = 0; i < NKEYS; i++)
		gone[i] = 1;
	expect_counts(&st, NKEYS, gone);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* Without cluster mode nothing is counted (no CRC16 per new key), and the
 * store still sets, deletes and flushes. */
static void
test_slots_off(void **state)
{
	char path[PATH_MAX], k[32];
	struct pst_pool *p;
	struct kv_store st;
	unsigned int i;

	(void)state;
	tu_path(path, sizeof(path), "off");
	p = tu_must_create(path, 2176, 4096, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, &kv_index_wal, 0), 0);
	assert_null(st.slot_keys);
	for (i = 0; i < 64; i++) {
		key_of(i, k, sizeof(k));
		tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)strlen(k), "v1", 2), 0);
	}
	assert_int_equal(kv_store_slot_count(&st, kv_cluster_key_slot("{user7}", 7)), 0);
	key_of(0, k, sizeof(k));
	assert_int_equal(kv_store_del(&st, k, (uint16_t)strlen(k)), 1);
	tu_assert_rc(kv_store_flushall(&st), 0);
	assert_int_equal(kv_store_count(&st), 0);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

static void
test_slots_wal(void **state)
{
	(void)state;
	slots(&kv_index_wal);
}

static void
test_slots_btree(void **state)
{
	(void)state;
	slots(&kv_index_btree);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvslots");
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
		cmocka_unit_test_teardown(test_slots_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_slots_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_slots_off, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("kvs_store_slots", tests, group_setup,
					   group_teardown);
}
