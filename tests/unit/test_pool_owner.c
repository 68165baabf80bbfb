/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Owners of the root slots: pst_pool_root_claim(), pst_pool_root_owner(),
 * and what they guard (pst_pool_root_set(), pst_pool_reconcile()). Every
 * refusal leaves the file byte-identical, its mtime unchanged.
 */
#include "pst_test_util.h"

#define BUF 2176u
#define COUNT 64u

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("pool_owner");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

static uint64_t
root_of(const struct pst_pool *p, unsigned int slot)
{
	uint64_t v = 0;

	assert_int_equal(pst_pool_root_get(p, slot, &v), 0);
	return v;
}

static void
expect_owner(const struct pst_pool *p, unsigned int slot, const char *app,
	     const char *kind)
{
	struct pst_pool_owner ow;

	assert_int_equal(pst_pool_root_owner(p, slot, &ow), 1);
	assert_string_equal(ow.app, app);
	assert_string_equal(ow.kind, kind);
}

static void
expect_unowned(const struct pst_pool *p, unsigned int slot)
{
	struct pst_pool_owner ow;

	memset(&ow, 0x55, sizeof(ow));
	assert_int_equal(pst_pool_root_owner(p, slot, &ow), 0);
	assert_string_equal(ow.app, "");
	assert_string_equal(ow.kind, "");
}

static void
expect_msg(const char *want)
{
	if (strstr(pst_errormsg(), want) == NULL)
		fail_msg("pst_errormsg() \"%s\" does not say \"%s\"", pst_errormsg(), want);
}

/* Raw bytes of a closed pool file. */
static void
file_write(const char *path, off_t at, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, at), (ssize_t)len);
	close(fd);
}

static void
file_read(const char *path, off_t at, void *data, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, data, len, at), (ssize_t)len);
	close(fd);
}

static off_t
owner_at(unsigned int slot)
{
	return PST_POOL_OWNERS_OFFSET + (off_t)slot * sizeof(struct pst_pool_owner_rec);
}

static off_t
root_at(unsigned int slot)
{
	return PST_POOL_ROOTS_OFFSET + (off_t)slot * sizeof(uint64_t);
}

/*
 * A closed pool at @path as paste-kvs's wal index leaves it: slot 0
 * claimed as ("paste-kvs", "wal") and naming a kept buffer, and 9 more
 * kept buffers (its values); their indexes in @kept[10].
 */
static void
make_kvs_like(char *path, size_t size, const char *name, uint32_t kept[10])
{
	struct pst_pool *p;

	tu_path(path, size, name);
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-kvs", "wal"), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(pst_pool_take(p, &kept[i]), 0);
		memset(pst_pool_buf_addr(p, kept[i]), 'a' + i, BUF);
		assert_int_equal(pst_pool_flush(p, pst_pool_buf_addr(p, kept[i]), BUF), 0);
		assert_int_equal(pst_pool_keep(p, kept[i]), 0);
	}
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_root_set(p, 0, pst_name_make(kept[0], 0, 64)), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);
}

/* A claim is recorded once, durable on return (one flush, one drain), and
 * a claim of the same owner after a reopen writes nothing. */
static void
test_claim_and_reopen(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_stats a, b;
	struct tu_snapshot snap;
	struct pst_pool *p;

	(void)state;
	tu_path(path, sizeof(path), "claim");
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	for (unsigned int s = 0; s < PST_POOL_ROOTS; s++)
		expect_unowned(p, s);
	pst_pool_stats(p, &a);
	assert_int_equal(pst_pool_root_claim(p, 1, "paste-kvs", "btree"), 0);
	pst_pool_stats(p, &b);
	assert_int_equal(b.flushes, a.flushes + 1);
	assert_int_equal(b.drains, a.drains + 1);
	expect_owner(p, 1, "paste-kvs", "btree");
	expect_unowned(p, 0);
	/* Claimed again through the same object: nothing written. */
	assert_int_equal(pst_pool_root_claim(p, 1, "paste-kvs", "btree"), 0);
	pst_pool_stats(p, &a);
	assert_int_equal(a.flushes, b.flushes);
	assert_int_equal(a.drains, b.drains);
	/* A second slot of the same owner. */
	assert_int_equal(pst_pool_root_claim(p, 7, "paste-kvs", "btree"), 0);
	assert_int_equal(pst_pool_root_set(p, 1, 0x1234), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_MSYNC);
	expect_owner(p, 1, "paste-kvs", "btree");
	expect_owner(p, 7, "paste-kvs", "btree");
	expect_unowned(p, 0);
	assert_int_equal(root_of(p, 1), 0x1234);
	/* A claim lasts as long as the pool object that made it. */
	assert_int_equal(pst_pool_root_set(p, 1, 0x5678), -EPERM);
	assert_int_equal(pst_errno, EPERM);
	assert_int_equal(root_of(p, 1), 0x1234);
	tu_snapshot_take(path, &snap);
	assert_int_equal(pst_pool_root_claim(p, 1, "paste-kvs", "btree"), 0);
	assert_int_equal(pst_pool_root_claim(p, 7, "paste-kvs", "btree"), 0);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
	assert_int_equal(pst_pool_root_set(p, 1, 0x5678), 0);
	assert_int_equal(pst_pool_reconcile(p, NULL, 0, NULL), 0);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(root_of(p, 1), 0x5678);
	tu_close(p);
	unlink(path);
}

/* Another kind of the same application, another application: refused by
 * claim and by reconcile, with messages naming both owners, and the file
 * byte-identical. The rightful owner then finds everything. */
static void
test_other_owner_refused(void **state)
{
	static const struct { unsigned int slot; const char *app, *kind, *msg; } other[] = {
		{ 1, "paste-kvs", "btree",
		  "root slot 0 holds a paste-kvs wal structure; paste-kvs btree asked for root slot 1" },
		{ 0, "paste-kvs", "btree",
		  "root slot 0 holds a paste-kvs wal structure; paste-kvs btree asked for root slot 0" },
		{ 4, "paste-testpmd", "pktlog",
		  "root slot 0 holds a paste-kvs wal structure; paste-testpmd pktlog asked" },
		{ 0, "paste-echo", NULL,
		  "root slot 0 holds a paste-kvs wal structure; paste-echo asked" },
		{ 0, "paste-kvs", "",
		  "root slot 0 holds a paste-kvs wal structure; paste-kvs asked" },
	};
	char path[PATH_MAX];
	struct pst_pool_reconcile_report rep;
	struct tu_snapshot snap;
	struct pst_pool_stats st;
	struct pst_pool *p;
	uint32_t kept[10];
	pst_name names[10];

	(void)state;
	make_kvs_like(path, sizeof(path), "other", kept);
	tu_snapshot_take(path, &snap);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		p = tu_must_open(path, PST_PERSIST_FLUSH);
		pst_errno = 0;
		assert_int_equal(pst_pool_root_claim(p, other[i].slot, other[i].app,
						     other[i].kind), -PST_EOWNER);
		assert_int_equal(pst_errno, PST_EOWNER);
		expect_msg(other[i].msg);
		expect_msg(path);
		/* What the stranger would do next: all refused. */
		assert_int_equal(pst_pool_root_set(p, other[i].slot, 1), -EPERM);
		assert_int_equal(pst_pool_reconcile(p, NULL, 0, NULL), -PST_EOWNER);
		expect_msg("reconcile refused: root slot 0 holds a paste-kvs wal structure");
		pst_pool_stats(p, &st);
		assert_int_equal(st.kept, 10);
		tu_close(p);
		tu_snapshot_check(path, &snap);
	}
	tu_snapshot_free(&snap);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-kvs", "wal"), 0);
	for (int i = 0; i < 10; i++)
		names[i] = pst_name_make(kept[i], 0, BUF);
	assert_int_equal(pst_pool_reconcile(p, names, 10, &rep), 0);
	assert_int_equal(rep.released, 0);
	assert_int_equal(rep.kept, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(((char *)pst_pool_buf_addr(p, kept[i]))[BUF - 1], 'a' + i);
	tu_close(p);
	unlink(path);
}

/* An older layout (no owner records) is refused, both versions named, and
 * the file left as it was: no silent migration. */
static void
test_older_version_refused(void **state)
{
	char path[PATH_MAX], want[128];
	struct pst_pool_config cfg = { .persist_mode = PST_PERSIST_FLUSH };
	struct pst_pool_header h;
	struct tu_snapshot snap;
	struct pst_pool *p;

	(void)state;
	tu_path(path, sizeof(path), "v1");
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	tu_close(p);
	tu_header_read(path, &h);
	h.layout_version = PST_POOL_LAYOUT_VERSION - 1;
	tu_header_fix_crc(&h);
	tu_header_write(path, &h);
	tu_snapshot_take(path, &snap);
	cfg.path = path;
	pst_errno = 0;
	p = tu_open_cfg(&cfg);
	if (p != NULL) {
		tu_close(p);
		fail_msg("a version %u pool opened", PST_POOL_LAYOUT_VERSION - 1);
	}
	assert_int_equal(pst_errno, PST_EVERSION);
	snprintf(want, sizeof(want), "layout version %u is older than this library's %u",
		 PST_POOL_LAYOUT_VERSION - 1, PST_POOL_LAYOUT_VERSION);
	expect_msg(want);
	expect_msg(path);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
	unlink(path);
}

/* A claim a crash cut (its record fails its checksum) while the slot is
 * zero is no claim; with a value in the slot the owner is unknown and
 * claim, owner and reconcile all refuse, writing nothing. A record copied
 * to another slot does not pass for that slot's owner. */
static void
test_torn_record(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_owner_rec rec;
	struct tu_snapshot snap;
	struct pst_pool_owner ow;
	struct pst_pool *p;
	uint32_t kept[10];
	uint64_t v;
	char junk = 'X';

	(void)state;
	make_kvs_like(path, sizeof(path), "torn", kept);
	/* Slot 0's record copied to slot 2 (zero): not an owner there. */
	file_read(path, owner_at(0), &rec, sizeof(rec));
	file_write(path, owner_at(2), &rec, sizeof(rec));
	/* Slot 3: a torn record of another owner, slot still zero. */
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.app, "paste-e", 7);
	file_write(path, owner_at(3), &rec, sizeof(rec));
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	expect_unowned(p, 2);
	expect_unowned(p, 3);
	expect_owner(p, 0, "paste-kvs", "wal");
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-kvs", "wal"), 0);
	/* Overwritten by a whole claim of the pool's owner. */
	assert_int_equal(pst_pool_root_claim(p, 3, "paste-kvs", "wal"), 0);
	expect_owner(p, 3, "paste-kvs", "wal");
	tu_close(p);

	/* A value in a slot whose record is damaged. */
	file_write(path, owner_at(0) + 5, &junk, 1);
	tu_snapshot_take(path, &snap);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_owner(p, 0, &ow), -PST_ECORRUPT);
	expect_msg("root slot 0 holds");
	expect_msg("damaged owner record");
	assert_int_equal(pst_pool_root_claim(p, 0, "paste-kvs", "wal"), -PST_ECORRUPT);
	assert_int_equal(pst_pool_root_claim(p, 3, "paste-kvs", "wal"), -PST_ECORRUPT);
	assert_int_equal(pst_pool_reconcile(p, NULL, 0, NULL), -PST_ECORRUPT);
	tu_close(p);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);

	/* A value in a slot with no record at all. */
	v = 42;
	file_write(path, root_at(9), &v, sizeof(v));
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_root_owner(p, 9, &ow), -PST_ECORRUPT);
	expect_msg("no owner record");
	tu_close(p);
	unlink(path);
}

static void
test_claim_einval(void **state)
{
	char path[PATH_MAX];
	struct tu_snapshot snap;
	struct pst_pool_owner ow;
	struct pst_pool *p;

	(void)state;
	tu_path(path, sizeof(path), "einval");
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	tu_snapshot_take(path, &snap);
	assert_int_equal(pst_pool_root_claim(NULL, 0, "a", "b"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, PST_POOL_ROOTS, "a", "b"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, NULL, "b"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "", "b"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "0123456789abcdef", "b"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "a", "0123456789ab"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "two words", NULL), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "a", "tab\there"), -EINVAL);
	assert_int_equal(pst_pool_root_claim(p, 0, "a\xe9", NULL), -EINVAL);
	assert_int_equal(pst_pool_root_owner(p, PST_POOL_ROOTS, &ow), -EINVAL);
	assert_int_equal(pst_pool_root_owner(p, 0, NULL), -EINVAL);
	assert_int_equal(pst_pool_root_owner(NULL, 0, &ow), -EINVAL);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
	/* The longest names fit. */
	assert_int_equal(pst_pool_root_claim(p, 15, "0123456789abcde", "0123456789a"), 0);
	expect_owner(p, 15, "0123456789abcde", "0123456789a");
	tu_close(p);
	unlink(path);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_claim_and_reopen),
		T(test_other_owner_refused),
		T(test_older_version_refused),
		T(test_torn_record),
		T(test_claim_einval),
	};
#undef T

	return cmocka_run_group_tests_name("pool_owner", tests, group_setup, group_teardown);
}
