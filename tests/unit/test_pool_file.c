/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pool files: create, open, and every way pst_pool_open() refuses a file
 * (each refusal leaves the file byte-identical, with its mtime unchanged).
 */
#include "pst_test_util.h"

#include <pthread.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#define BUF 2176u
#define COUNT 100u

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("pool_file");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
uuid_is_zero(const uint8_t *u)
{
	for (int i = 0; i < 16; i++)
		if (u[i] != 0)
			return 0;
	return 1;
}

/* A closed, valid pool of COUNT x BUF at a fresh path. */
static void
make_pool(char *path, size_t size, const char *name)
{
	struct pst_pool *p;

	tu_path(path, size, name);
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	tu_close(p);
}

/*
 * Open @path with @cfg (path filled in), expect refusal with @code, and
 * check that the file did not change. The caller took @snap.
 */
static void
expect_refused(const char *path, struct pst_pool_config cfg, int code,
	       struct tu_snapshot *snap)
{
	struct pst_pool *p;

	cfg.path = path;
	pst_errno = 0;
	p = tu_open_cfg(&cfg);
	if (p != NULL) {
		tu_close(p);
		fail_msg("pst_pool_open(%s) succeeded, expected %d (%s)", path,
			 code, pst_strerror(code));
	}
	if (pst_errno != code)
		fail_msg("pst_pool_open(%s): pst_errno %d (%s), expected %d (%s);"
			 " message: %s", path, pst_errno,
			 pst_strerror(pst_errno), code, pst_strerror(code),
			 pst_errormsg());
	assert_non_null(pst_errormsg());
	assert_true(strlen(pst_errormsg()) > 0);
	if (snap != NULL)
		tu_snapshot_check(path, snap);
}

static void
refuse_simple(const char *path, int code)
{
	struct tu_snapshot snap;

	tu_snapshot_take(path, &snap);
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_FLUSH }, code, &snap);
	/* Twice: a refusal leaves nothing behind that changes the verdict. */
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_MSYNC }, code, &snap);
	tu_snapshot_free(&snap);
}

/* ---- create / open ------------------------------------------------------- */

static void
check_header_on_disk(const char *path, const struct pst_pool_info *info,
		     uint32_t buf_size, uint64_t count)
{
	struct pst_pool_header h;
	struct stat st;

	tu_header_read(path, &h);
	assert_int_equal(stat(path, &st), 0);
	assert_memory_equal(h.magic, PST_POOL_MAGIC, PST_POOL_MAGIC_LEN);
	assert_int_equal(h.layout_version, PST_POOL_LAYOUT_VERSION);
	assert_int_equal(h.header_size, sizeof(struct pst_pool_header));
	assert_int_equal(h.buf_size, buf_size);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.buf_count, count);
	assert_true(h.state_offset >= PST_POOL_HEADER_AREA);
	assert_true(h.state_offset + count <= h.bufs_offset);
	assert_int_equal(h.bufs_offset % PST_POOL_BUFS_ALIGN, 0);
	assert_int_equal(h.file_size % PST_POOL_BUFS_ALIGN, 0);
	assert_true(h.file_size >= h.bufs_offset + count * buf_size);
	assert_true(h.file_size < h.bufs_offset + count * buf_size +
				  PST_POOL_BUFS_ALIGN);
	assert_int_equal(h.file_size, (uint64_t)st.st_size);
	assert_int_equal(h.header_crc, tu_header_crc(&h));
	for (size_t i = 0; i < sizeof(h.reserved); i++)
		assert_int_equal(h.reserved[i], 0);
	if (info != NULL) {
		assert_int_equal(info->file_size, h.file_size);
		assert_memory_equal(info->uuid, h.uuid, 16);
		assert_ptr_equal(info->bufs, (char *)info->base + h.bufs_offset);
	}
}

static void
check_info(const struct pst_pool_info *info, uint32_t buf_size,
	   uint64_t count, const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(info->buf_size, buf_size);
	assert_int_equal(info->buf_count, count);
	assert_int_equal(info->file_size, (uint64_t)st.st_size);
	assert_int_equal(info->layout_version, PST_POOL_LAYOUT_VERSION);
	assert_false(uuid_is_zero(info->uuid));
	assert_non_null(info->base);
	assert_non_null(info->bufs);
	assert_true((char *)info->bufs > (char *)info->base);
	assert_int_not_equal(info->persist_mode, PST_PERSIST_AUTO);
}

static void
test_create_open_roundtrip(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info i1, i2;
	struct pst_pool_stats s;
	struct stat st;
	uint64_t t0, t1;
	struct pst_pool_header h;

	(void)state;
	tu_path(path, sizeof(path), "roundtrip");
	t0 = now_ns();
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	t1 = now_ns();
	i1 = tu_info(p);
	check_info(&i1, BUF, COUNT, path);
	assert_int_equal(i1.persist_mode, PST_PERSIST_FLUSH);
	check_header_on_disk(path, &i1, BUF, COUNT);
	tu_header_read(path, &h);
	assert_in_range(h.created_unix_ns, t0 - 1000000000ull, t1 + 1000000000ull);
	s = tu_stats(p);
	assert_int_equal(s.free, COUNT);
	assert_int_equal(s.lent, 0);
	assert_int_equal(s.kept, 0);
	assert_int_equal(s.takes, 0);
	assert_int_equal(s.nobufs, 0);
	tu_assert_verify(p);
	/* File mode 0 means 0600; only the pool is in the directory (it was
	 * built unnamed and linked into place). */
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(tu_dir_entries(), 1);
	for (uint64_t k = 0; k < COUNT; k++)
		assert_int_equal(((uint8_t *)i1.base)[h.state_offset + k],
				 PST_BUF_STATE_FREE);
	tu_close(p);
	assert_int_equal(tu_dir_entries(), 1);

	/* Open with "whatever the file says". */
	p = tu_must_open(path, PST_PERSIST_MSYNC);
	i2 = tu_info(p);
	check_info(&i2, BUF, COUNT, path);
	assert_int_equal(i2.persist_mode, PST_PERSIST_MSYNC);
	assert_memory_equal(i1.uuid, i2.uuid, 16);
	assert_int_equal(i1.file_size, i2.file_size);
	assert_int_equal((char *)i2.bufs - (char *)i2.base,
			 (char *)i1.bufs - (char *)i1.base);
	s = tu_stats(p);
	assert_int_equal(s.free, COUNT);
	assert_int_equal(s.kept, 0);
	tu_assert_verify(p);
	tu_close(p);

	/* Open with the exact geometry. */
	p = tu_open_cfg(&(struct pst_pool_config){
		.path = path, .buf_size = BUF, .buf_count = COUNT,
		.persist_mode = PST_PERSIST_FLUSH });
	assert_non_null(p);
	i2 = tu_info(p);
	assert_memory_equal(i1.uuid, i2.uuid, 16);
	tu_close(p);
	check_header_on_disk(path, NULL, BUF, COUNT);
}

static void
test_create_defaults_and_limits(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	struct stat st;

	(void)state;
	/* buf_size 0: DPDK's default mbuf size. */
	p = tu_must_create(tu_path(path, sizeof(path), "default"), 0, 10,
			   PST_PERSIST_FLUSH);
	info = tu_info(p);
	assert_int_equal(info.buf_size, PST_POOL_BUF_SIZE_DEFAULT);
	check_header_on_disk(path, &info, PST_POOL_BUF_SIZE_DEFAULT, 10);
	tu_close(p);

	/* Smallest and largest accepted buffer sizes, a single buffer. */
	p = tu_must_create(tu_path(path, sizeof(path), "min"),
			   PST_POOL_BUF_SIZE_MIN, 1, PST_PERSIST_FLUSH);
	info = tu_info(p);
	check_info(&info, PST_POOL_BUF_SIZE_MIN, 1, path);
	tu_close(p);
	p = tu_must_create(tu_path(path, sizeof(path), "max"), 65472, 3,
			   PST_PERSIST_FLUSH);
	info = tu_info(p);
	check_info(&info, 65472, 3, path);
	check_header_on_disk(path, &info, 65472, 3);
	tu_close(p);

	/* file_mode is honoured. */
	mode_t old = umask(0);
	p = tu_create_cfg(&(struct pst_pool_config){
		.path = tu_path(path, sizeof(path), "mode"), .buf_count = 4,
		.persist_mode = PST_PERSIST_FLUSH, .file_mode = 0640 });
	umask(old);
	assert_non_null(p);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	tu_close(p);
}

static void
test_create_uuid_distinct(void **state)
{
	char pa[PATH_MAX], pb[PATH_MAX];
	struct pst_pool *a, *b;
	struct pst_pool_info ia, ib;

	(void)state;
	a = tu_must_create(tu_path(pa, sizeof(pa), "uuida"), BUF, 4,
			   PST_PERSIST_FLUSH);
	b = tu_must_create(tu_path(pb, sizeof(pb), "uuidb"), BUF, 4,
			   PST_PERSIST_FLUSH);
	ia = tu_info(a);
	ib = tu_info(b);
	assert_memory_not_equal(ia.uuid, ib.uuid, 16);
	assert_ptr_not_equal(ia.base, ib.base);
	tu_close(a);
	tu_close(b);
}

static void
test_create_eexist(void **state)
{
	char path[PATH_MAX];
	struct tu_snapshot snap;
	struct pst_pool *p;
	int fd;

	(void)state;
	/* Some ordinary file. */
	tu_path(path, sizeof(path), "exists");
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a pool\n", 11), 11);
	close(fd);
	tu_snapshot_take(path, &snap);
	pst_errno = 0;
	p = tu_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	assert_null(p);
	assert_int_equal(pst_errno, EEXIST);
	assert_true(strlen(pst_errormsg()) > 0);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
	assert_int_equal(tu_dir_entries(), 1);

	/* An existing pool, closed. */
	make_pool(path, sizeof(path), "existspool");
	tu_snapshot_take(path, &snap);
	pst_errno = 0;
	assert_null(tu_create(path, 4096, 7, PST_PERSIST_FLUSH));
	assert_int_equal(pst_errno, EEXIST);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);

	/* An existing pool that is open. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	pst_errno = 0;
	assert_null(tu_create(path, BUF, COUNT, PST_PERSIST_FLUSH));
	assert_int_equal(pst_errno, EEXIST);
	tu_assert_verify(p);
	tu_close(p);
	assert_int_equal(tu_dir_entries(), 2);
}

static void
expect_create_einval(const struct pst_pool_config *cfg, const char *what)
{
	struct pst_pool *p;
	int before = tu_dir_entries();

	pst_errno = 0;
	p = tu_create_cfg(cfg);
	if (p != NULL) {
		tu_close(p);
		fail_msg("create with %s succeeded", what);
	}
	if (pst_errno != EINVAL)
		fail_msg("create with %s: pst_errno %d (%s), expected EINVAL",
			 what, pst_errno, pst_strerror(pst_errno));
	assert_true(strlen(pst_errormsg()) > 0);
	if (cfg != NULL && cfg->path != NULL)
		assert_false(tu_exists(cfg->path));
	/* No temporary file left behind either. */
	assert_int_equal(tu_dir_entries(), before);
}

static void
test_create_einval(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_config c;
	static const uint32_t bad_sizes[] = {
		1, 63, 64, 128, 192, PST_POOL_BUF_SIZE_MIN - 64, 2177, 2200,
		300, 65535, 65536, 65600, 131072, UINT32_MAX };
	static const uint64_t bad_counts[] = {
		0, (uint64_t)PST_POOL_BUF_COUNT_MAX + 1, UINT64_MAX };
	char what[64];

	(void)state;
	tu_path(path, sizeof(path), "einval");
	expect_create_einval(NULL, "NULL config");
	c = (struct pst_pool_config){ .path = NULL, .buf_size = BUF,
				      .buf_count = COUNT };
	expect_create_einval(&c, "NULL path");
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		c = (struct pst_pool_config){ .path = path,
					      .buf_size = bad_sizes[i],
					      .buf_count = COUNT };
		snprintf(what, sizeof(what), "buf_size %u", bad_sizes[i]);
		expect_create_einval(&c, what);
	}
	for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
		c = (struct pst_pool_config){ .path = path, .buf_size = BUF,
					      .buf_count = bad_counts[i] };
		snprintf(what, sizeof(what), "buf_count %llu",
			 (unsigned long long)bad_counts[i]);
		expect_create_einval(&c, what);
	}
	c = (struct pst_pool_config){ .path = path, .buf_size = BUF,
				      .buf_count = COUNT,
				      .persist_mode = (enum pst_persist_mode)99 };
	expect_create_einval(&c, "persist_mode 99");
}

/* ---- open refusals ------------------------------------------------------- */

static void
test_open_einval(void **state)
{
	char path[PATH_MAX];

	(void)state;
	make_pool(path, sizeof(path), "openinval");
	pst_errno = 0;
	assert_null(tu_open_cfg(NULL));
	assert_int_equal(pst_errno, EINVAL);
	pst_errno = 0;
	assert_null(tu_open_cfg(&(struct pst_pool_config){ .path = NULL }));
	assert_int_equal(pst_errno, EINVAL);
	struct tu_snapshot snap;
	tu_snapshot_take(path, &snap);
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = (enum pst_persist_mode)99 }, EINVAL, &snap);
	tu_snapshot_free(&snap);
}

static void
test_open_enoent(void **state)
{
	char path[PATH_MAX];
	int before = tu_dir_entries();

	(void)state;
	tu_path(path, sizeof(path), "missing");
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_FLUSH }, ENOENT, NULL);
	assert_false(tu_exists(path)); /* open never creates */
	assert_int_equal(tu_dir_entries(), before);
}

static void
test_open_foreign_magic(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	(void)state;
	make_pool(path, sizeof(path), "foreign");
	tu_header_read(path, &h);
	h.magic[0] = 'X';
	tu_header_fix_crc(&h); /* only the magic is wrong */
	tu_header_write(path, &h);
	refuse_simple(path, PST_EFOREIGN);
}

static void
test_open_foreign_random_file(void **state)
{
	char path[PATH_MAX];
	size_t len = 8u << 20;
	uint8_t *buf = malloc(len);
	uint64_t x = 88172645463325252ull;
	int fd;

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	tu_path(path, sizeof(path), "random");
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
	refuse_simple(path, PST_EFOREIGN);
}

static void
test_open_newer_version(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	(void)state;
	make_pool(path, sizeof(path), "version");
	tu_header_read(path, &h);
	h.layout_version = PST_POOL_LAYOUT_VERSION + 1;
	h.header_crc = pst_crc32c(&h, offsetof(struct pst_pool_header,
					       header_crc));
	tu_header_write(path, &h);
	refuse_simple(path, PST_EVERSION);
}

static void
truncate_to(const char *path, off_t len)
{
	assert_int_equal(truncate(path, len), 0);
}

static void
test_open_truncated_header(void **state)
{
	static const off_t lens[] = { 0, 1, 64, 127, 2048 };
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		make_pool(path, sizeof(path), "trunchdr");
		truncate_to(path, lens[i]);
		refuse_simple(path, PST_ETRUNC);
	}
}

static void
test_open_truncated_geometry(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	(void)state;
	make_pool(path, sizeof(path), "truncgeo");
	tu_header_read(path, &h);
	truncate_to(path, (off_t)(h.bufs_offset + h.buf_count * h.buf_size - 1));
	refuse_simple(path, PST_ETRUNC);

	/* Cut inside the state bytes, and right at bufs_offset. */
	make_pool(path, sizeof(path), "truncgeo2");
	tu_header_read(path, &h);
	truncate_to(path, (off_t)h.bufs_offset);
	refuse_simple(path, PST_ETRUNC);
	make_pool(path, sizeof(path), "truncgeo3");
	tu_header_read(path, &h);
	truncate_to(path, (off_t)(h.state_offset + 1));
	refuse_simple(path, PST_ETRUNC);
}

static void
test_open_geometry_buf_size(void **state)
{
	char path[PATH_MAX];
	struct tu_snapshot snap;

	(void)state;
	make_pool(path, sizeof(path), "geosize");
	tu_snapshot_take(path, &snap);
	expect_refused(path, (struct pst_pool_config){
		.buf_size = BUF + 64, .persist_mode = PST_PERSIST_FLUSH },
		PST_EGEOMETRY, &snap);
	expect_refused(path, (struct pst_pool_config){
		.buf_size = 1024, .buf_count = COUNT,
		.persist_mode = PST_PERSIST_FLUSH }, PST_EGEOMETRY, &snap);
	tu_snapshot_free(&snap);
}

static void
test_open_geometry_buf_count(void **state)
{
	char path[PATH_MAX];
	struct tu_snapshot snap;

	(void)state;
	make_pool(path, sizeof(path), "geocount");
	tu_snapshot_take(path, &snap);
	expect_refused(path, (struct pst_pool_config){
		.buf_count = COUNT + 1, .persist_mode = PST_PERSIST_FLUSH },
		PST_EGEOMETRY, &snap);
	expect_refused(path, (struct pst_pool_config){
		.buf_size = BUF, .buf_count = COUNT - 1,
		.persist_mode = PST_PERSIST_FLUSH }, PST_EGEOMETRY, &snap);
	tu_snapshot_free(&snap);
}

static void
test_open_bad_crc(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	(void)state;
	make_pool(path, sizeof(path), "crc");
	tu_header_read(path, &h);
	h.uuid[5] ^= 0x01; /* CRC left as it was */
	tu_header_write(path, &h);
	refuse_simple(path, PST_ECRC);

	/* A flipped CRC byte is just as bad. */
	make_pool(path, sizeof(path), "crc2");
	tu_header_read(path, &h);
	h.header_crc ^= 0x80000000u;
	tu_header_write(path, &h);
	refuse_simple(path, PST_ECRC);
}

static void
corrupt_and_refuse(const char *name, void (*mutate)(struct pst_pool_header *))
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	make_pool(path, sizeof(path), name);
	tu_header_read(path, &h);
	mutate(&h);
	tu_header_fix_crc(&h);
	tu_header_write(path, &h);
	refuse_simple(path, PST_ECORRUPT);
}

static void
mut_bufs_overlap_state(struct pst_pool_header *h)
{
	h->bufs_offset = h->state_offset + h->buf_count - 1;
}

static void
mut_buf_size_unaligned(struct pst_pool_header *h)
{
	h->buf_size -= 1;
}

static void
mut_state_in_header(struct pst_pool_header *h)
{
	h->state_offset = 64;
}

static void
mut_file_size_short(struct pst_pool_header *h)
{
	h->file_size = h->bufs_offset;
}

/* bufs_offset so large that bufs_offset + count * buf_size wraps around
 * 2^64 and lands inside the file: the header contradicts itself just as
 * much, and the buffers would lie outside the mapping. Needs
 * count * buf_size > 2 MiB for the sum to wrap. */
static void
test_open_corrupt_bufs_offset_wraps(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_header h;

	(void)state;
	tu_path(path, sizeof(path), "corrupt-wrap");
	p = tu_must_create(path, BUF, 1000, PST_PERSIST_FLUSH);
	tu_close(p);
	tu_header_read(path, &h);
	h.bufs_offset = 0 - (uint64_t)PST_POOL_BUFS_ALIGN;
	assert_true(h.bufs_offset + h.buf_count * h.buf_size < h.file_size);
	tu_header_fix_crc(&h);
	tu_header_write(path, &h);
	refuse_simple(path, PST_ECORRUPT);
}

static void
test_open_corrupt_bufs_offset(void **state)
{
	(void)state;
	corrupt_and_refuse("corrupt-bufs", mut_bufs_overlap_state);
}

static void
test_open_corrupt_buf_size(void **state)
{
	(void)state;
	corrupt_and_refuse("corrupt-bufsize", mut_buf_size_unaligned);
}

static void
test_open_corrupt_state_offset(void **state)
{
	(void)state;
	corrupt_and_refuse("corrupt-state", mut_state_in_header);
}

static void
test_open_corrupt_file_size_field(void **state)
{
	(void)state;
	corrupt_and_refuse("corrupt-filesize", mut_file_size_short);
}

static void
test_open_ebusy(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t idx;

	(void)state;
	make_pool(path, sizeof(path), "busy");
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	assert_int_equal(pst_pool_drain(p), 0);

	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_FLUSH }, EBUSY, NULL);
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_MSYNC }, EBUSY, NULL);

	/* The first pool is unharmed. */
	struct pst_pool_stats s = tu_stats(p);
	assert_int_equal(s.kept, 1);
	assert_int_equal(s.free, COUNT - 1);
	tu_assert_verify(p);
	tu_close(p);

	/* After close the lock is gone and the kept buffer is still kept. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(tu_stats(p).kept, 1);
	tu_close(p);
	assert_int_equal(tu_state_read(path, idx), PST_BUF_STATE_KEPT);
}

static void
test_open_ebusy_other_process(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	pid_t pid;
	int status;

	(void)state;
	make_pool(path, sizeof(path), "busyproc");
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pst_pool_config c = { .path = path,
					     .persist_mode = PST_PERSIST_FLUSH };
		struct pst_pool *q;

		alarm(30);
		q = pst_pool_open(&c);
		_exit(q == NULL && pst_errno == EBUSY ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tu_close(p);

	/* A process holding a plain flock on the file also blocks open. */
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	struct tu_snapshot snap;
	tu_snapshot_take(path, &snap);
	expect_refused(path, (struct pst_pool_config){
		.persist_mode = PST_PERSIST_FLUSH }, EBUSY, &snap);
	tu_snapshot_free(&snap);
	close(fd);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_close(p);
}

/* The detailed message names the file it is about. */
static void
test_errormsg_names_file(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_header h;

	(void)state;
	make_pool(path, sizeof(path), "msg");
	tu_header_read(path, &h);
	h.uuid[0] ^= 0xff;
	tu_header_write(path, &h);
	assert_null(tu_open(path, PST_PERSIST_FLUSH));
	assert_int_equal(pst_errno, PST_ECRC);
	if (strstr(pst_errormsg(), path) == NULL)
		fail_msg("pst_errormsg() does not name the file: \"%s\"",
			 pst_errormsg());
}

/* ---- errors ---------------------------------------------------------------- */

static void
test_strerror(void **state)
{
	const char *s[PST_ELAST - PST_EBASE];

	(void)state;
	for (int c = PST_EFOREIGN; c < PST_ELAST; c++) {
		const char *str = pst_strerror(c);
		const char *neg = pst_strerror(-c);

		assert_non_null(str);
		assert_non_null(neg);
		assert_true(strlen(str) > 0);
		assert_string_equal(str, neg);
		for (int d = PST_EFOREIGN; d < c; d++)
			if (strcmp(s[d - PST_EBASE], str) == 0)
				fail_msg("codes %d and %d share \"%s\"", d, c,
					 str);
		s[c - PST_EBASE] = str;
		/* Not the same as any plain errno text we use. */
		assert_string_not_equal(str, pst_strerror(EINVAL));
		assert_string_not_equal(str, pst_strerror(ENOENT));
	}
	static const int errnos[] = { ENOENT, EINVAL, ENOBUFS, EBUSY, EEXIST,
				      ENOMEM, EFAULT, EACCES, ENOSPC };
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		const char *a = pst_strerror(errnos[i]);
		const char *b = pst_strerror(-errnos[i]);

		assert_non_null(a);
		assert_non_null(b);
		assert_true(strlen(a) > 0);
		assert_string_equal(a, b);
	}
	assert_string_not_equal(pst_strerror(ENOENT), pst_strerror(EINVAL));
	/* Unknown codes: still a string. */
	static const int odd[] = { 0, PST_EBASE, PST_ELAST, PST_ELAST + 1,
				   -PST_ELAST, 1999, 99999, -99999, INT_MAX,
				   -INT_MAX };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		assert_non_null(pst_strerror(odd[i]));
}

struct thread_result {
	int err;
	char msg[64];
	int msg_null;
};

static void *
fresh_thread(void *arg)
{
	struct thread_result *r = arg;
	const char *m = pst_errormsg();

	r->err = pst_errno;
	r->msg_null = m == NULL;
	if (m != NULL)
		snprintf(r->msg, sizeof(r->msg), "%s", m);
	return NULL;
}

/* pst_errno and the message are per thread; empty until a call fails. */
static void
test_errors_thread_local(void **state)
{
	char path[PATH_MAX];
	struct thread_result r;
	pthread_t t;

	(void)state;
	tu_path(path, sizeof(path), "nothere");
	assert_null(tu_open(path, PST_PERSIST_FLUSH));
	assert_int_equal(pst_errno, ENOENT);
	assert_true(strlen(pst_errormsg()) > 0);

	memset(&r, 0x7f, sizeof(r));
	assert_int_equal(pthread_create(&t, NULL, fresh_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.err, 0);
	assert_false(r.msg_null);
	assert_string_equal(r.msg, "");
	/* Ours is untouched. */
	assert_int_equal(pst_errno, ENOENT);
	assert_true(strlen(pst_errormsg()) > 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_open_roundtrip),
		T(test_create_defaults_and_limits),
		T(test_create_uuid_distinct),
		T(test_create_eexist),
		T(test_create_einval),
		T(test_open_einval),
		T(test_open_enoent),
		T(test_open_foreign_magic),
		T(test_open_foreign_random_file),
		T(test_open_newer_version),
		T(test_open_truncated_header),
		T(test_open_truncated_geometry),
		T(test_open_geometry_buf_size),
		T(test_open_geometry_buf_count),
		T(test_open_bad_crc),
		T(test_open_corrupt_bufs_offset),
		T(test_open_corrupt_bufs_offset_wraps),
		T(test_open_corrupt_buf_size),
		T(test_open_corrupt_state_offset),
		T(test_open_corrupt_file_size_field),
		T(test_open_ebusy),
		T(test_open_ebusy_other_process),
		T(test_errormsg_names_file),
		T(test_strerror),
		T(test_errors_thread_local),
	};
#undef T

	return cmocka_run_group_tests_name("pool_file", tests, group_setup,
					   group_teardown);
}
