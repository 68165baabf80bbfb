/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': media errors under paste-kvs's recovery, in both indexes.
 * A value whose buffer lies on a known bad block of a Device DAX (a fake
 * sysfs list, PST_TEST_DEVDAX) is torn: recovery does not read it and the
 * key is gone, the others stay. The value is the last one written: a torn
 * value makes both indexes fall back to the state before it (what a power
 * cut needs), so a bad block under an older value loses the writes after
 * it too; telling media loss from a cut batch is not done yet. A value whose read raises a real SIGBUS
 * (its buffer cut off the pool file under the mapping) is torn too,
 * instead of killing the server: with the WAL index only, whose value
 * can be the last buffer in use (the B+tree's copy-on-write puts a node
 * after every value, and a cut must spare the index's own records).
 */
#include "../unit/pst_test_util.h"

#include <ftw.h>
#include <stdio.h>

#include "kv_index.h"
#include "paste_media.h"
#include "store.h"

#define BUF 4096u
#define DEV_SIZE (8u << 20)
#define NS_DATA_OFF 0x200000ull

static char sysroot[200], regiondir[300];

static void
write_text(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The fake sysfs of test_devdax.c, and PST_TEST_DEVDAX naming @dev. */
static void
make_devdax(const char *dev)
{
	char nd[400], devdir[500], text[64], env[PATH_MAX + 520];
	int fd;

	snprintf(sysroot, sizeof(sysroot), "/dev/shm/pst-media-sysfs-%ld", (long)getpid());
	nftw(sysroot, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	snprintf(regiondir, sizeof(regiondir), "%s/region0", sysroot);
	snprintf(nd, sizeof(nd), "%s/dax0.0", regiondir);
	snprintf(devdir, sizeof(devdir), "%s/dax0.0", nd);
	assert_int_equal(mkdir(sysroot, 0700), 0);
	assert_int_equal(mkdir(regiondir, 0700), 0);
	assert_int_equal(mkdir(nd, 0700), 0);
	assert_int_equal(mkdir(devdir, 0700), 0);
	write_text(regiondir, "resource", "0x240000000\n");
	write_text(nd, "resource", "0x240200000\n");
	snprintf(text, sizeof(text), "%u\n", DEV_SIZE);
	write_text(devdir, "size", text);
	write_text(devdir, "align", "2097152\n");
	write_text(regiondir, "badblocks", "");
	fd = open(dev, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DEV_SIZE), 0);
	close(fd);
	snprintf(env, sizeof(env), "%s=%s", dev, devdir);
	assert_int_equal(setenv("PST_TEST_DEVDAX", env, 1), 0);
}

static void
value_of(unsigned int i, char *v, size_t size)
{
	memset(v, 'a' + (int)i, size);
	snprintf(v, size, "value-%u-", i);
	v[strlen(v)] = 'x';
}

/* Three keys k0..k2 with 1000-byte values, durable; returns the buffer
 * holding k@which's value. */
static uint32_t
fill(struct pst_pool *p, const struct kv_index_ops *ops, unsigned int which)
{
	const struct kv_value *v;
	struct kv_store st;
	char k[8], val[1000];
	uint32_t buf = UINT32_MAX;

	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	for (unsigned int i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "k%u", i);
		value_of(i, val, sizeof(val));
		tu_assert_rc(kv_store_set_bytes(&st, k, (uint16_t)strlen(k), val, sizeof(val)), 0);
	}
	tu_assert_rc(pst_pool_drain(p), 0);
	snprintf(k, sizeof(k), "k%u", which);
	v = kv_store_get(&st, k, (uint16_t)strlen(k));
	assert_non_null(v);
	assert_int_equal(v->n, 1);
	buf = pst_name_index(v->names[0]);
	kv_store_close(&st);
	return buf;
}

/* Reopen the store on @p: k@gone is torn and missing, the others whole,
 * or (@strict 0: the B+tree, whose fallback to an older root may lose
 * them) missing; never garbage. */
static void
expect_torn(struct pst_pool *p, const struct kv_index_ops *ops, unsigned int gone,
	    int strict)
{
	struct kv_store st;
	char k[8], val[1000];

	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	assert_int_equal(st.torn_values, 1);
	for (unsigned int i = 0; i < 3; i++) {
		const struct kv_value *v;
		char got[1000];

		snprintf(k, sizeof(k), "k%u", i);
		v = kv_store_get(&st, k, (uint16_t)strlen(k));
		if (i == gone) {
			assert_null(v);
			continue;
		}
		if (!strict && v == NULL)
			continue;
		assert_non_null(v);
		value_of(i, val, sizeof(val));
		memcpy(got, pst_pool_name_to_addr(p, v->names[0]), sizeof(got));
		assert_memory_equal(got, val, sizeof(val));
	}
	tu_assert_rc(pst_pool_verify(p), 0);
	kv_store_close(&st);
}

static void
bad_block_value(const struct kv_index_ops *ops)
{
	struct pst_pool_config cfg = { .buf_size = BUF };
	struct pst_pool_info info;
	char path[PATH_MAX], bb[64];
	struct pst_pool *p;
	uint64_t off;
	uint32_t buf;

	tu_path(path, sizeof(path), ops->name);
	make_devdax(path);
	cfg.path = path;
	p = pst_pool_format(&cfg);
	if (p == NULL)
		fail_msg("format: %s", pst_errormsg());
	tu_track(p);
	buf = fill(p, ops, 2);
	pst_pool_info(p, &info);
	off = (uint64_t)((char *)info.bufs - (char *)info.base) + (uint64_t)buf * BUF;
	tu_close(p);
	snprintf(bb, sizeof(bb), "%llu 1\n", (unsigned long long)((NS_DATA_OFF + off + 512) / 512));
	write_text(regiondir, "badblocks", bb);

	p = tu_must_open(path, PST_PERSIST_AUTO);
	expect_torn(p, ops, 2, ops == &kv_index_wal);
	tu_close(p);
	unsetenv("PST_TEST_DEVDAX");
	nftw(sysroot, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	unlink(path);
}

/* The value's buffer is cut off the file while the pool is mapped: reading
 * it raises a real SIGBUS, as a poisoned line would. */
static void
sigbus_value(const struct kv_index_ops *ops)
{
	struct pst_pool_info info;
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t buf, i;
	int fd;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF, 256, PST_PERSIST_FLUSH);
	buf = fill(p, ops, 2);
	/* Only the buffers past k2's value are cut: none of them may be kept
	 * (the index's own records live in buffers too). */
	pst_pool_info(p, &info);
	for (i = buf + 1; i < 256; i++)
		if (((const uint8_t *)info.base)[PST_POOL_HEADER_AREA + i] != PST_BUF_STATE_FREE)
			fail_msg("buffer %u, past k2's value (%u), is kept: cannot cut it", i, buf);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (char *)pst_pool_buf_addr(p, buf) - (char *)info.base), 0);
	close(fd);
	expect_torn(p, ops, 2, 1);
	tu_close(p);
	unlink(path);
}

static void test_bad_block_wal(void **s) { (void)s; bad_block_value(&kv_index_wal); }
static void test_bad_block_btree(void **s) { (void)s; bad_block_value(&kv_index_btree); }
static void test_sigbus_wal(void **s) { (void)s; sigbus_value(&kv_index_wal); }

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("store_media");
}

static int
group_teardown(void **state)
{
	(void)state;
	/* The fake sysfs of the last make_devdax(), under /dev/shm. */
	if (sysroot[0] != '\0')
		nftw(sysroot, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tu_group_teardown_common();
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_bad_block_wal),
		T(test_bad_block_btree),
		T(test_sigbus_wal),
	};

	return cmocka_run_group_tests_name("store_media", tests, group_setup, group_teardown);
}
