/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pools on Device DAX, as far as a machine without one can check them.
 *
 * The device is a /dev/shm file that PST_TEST_DEVDAX makes the library
 * treat as a Device DAX, with a fake sysfs tree that has the real one's
 * shape (regionN/daxN.M/daxN.M with size and align, the region's and the
 * namespace's resource, the region's badblocks): everything but the
 * character-device check and libpmem's device mapping runs as on the real
 * thing. Also: formatting only when asked and crash-safe (a format killed
 * after each of its phases leaves "no pool"), msync refused, bad blocks
 * making names bad and buffers unlendable, and guarded reads turning a
 * real SIGBUS (a mapping read past its file's end) into -EIO.
 */
#include "pst_test_util.h"

#include <ftw.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "paste_media.h"

#define DEV_SIZE (8u << 20)
#define DEV_ALIGN (2u << 20)
#define REGION_BASE 0x240000000ull
#define NS_DATA_OFF 0x200000ull /* data start of the device in its region */
#define BUF 4096u

static char sysroot[200];  /* fake sysfs tree */
static char devdir[500];   /* its dax device directory */
static char regiondir[300];

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

static void
set_badblocks(const char *text)
{
	write_text(regiondir, "badblocks", text);
}

/* A bad range of @len bytes at @off in the device, in the region's sectors. */
static void
bad_at(char *line, size_t size, uint64_t off, uint64_t len)
{
	uint64_t first = (NS_DATA_OFF + off) / 512;
	uint64_t last = (NS_DATA_OFF + off + len - 1) / 512;

	snprintf(line, size, "%llu %llu\n", (unsigned long long)first,
		 (unsigned long long)(last - first + 1));
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
make_sysfs(void)
{
	char nd[400], text[64];

	snprintf(sysroot, sizeof(sysroot), "/dev/shm/pst-devdax-sysfs-%ld", (long)getpid());
	nftw(sysroot, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	snprintf(regiondir, sizeof(regiondir), "%s/region0", sysroot);
	snprintf(nd, sizeof(nd), "%s/dax0.0", regiondir);
	snprintf(devdir, sizeof(devdir), "%s/dax0.0", nd);
	assert_int_equal(mkdir(sysroot, 0700), 0);
	assert_int_equal(mkdir(regiondir, 0700), 0);
	assert_int_equal(mkdir(nd, 0700), 0);
	assert_int_equal(mkdir(devdir, 0700), 0);
	snprintf(text, sizeof(text), "0x%llx\n", REGION_BASE);
	write_text(regiondir, "resource", text);
	snprintf(text, sizeof(text), "0x%llx\n", REGION_BASE + NS_DATA_OFF);
	write_text(nd, "resource", text);
	snprintf(text, sizeof(text), "%u\n", DEV_SIZE);
	write_text(devdir, "size", text);
	snprintf(text, sizeof(text), "%u\n", DEV_ALIGN);
	write_text(devdir, "align", text);
	set_badblocks("");
}

/* A "device": DEV_SIZE bytes of @fill, treated as a Device DAX. */
static void
make_device(char *path, size_t size, const char *name, int fill)
{
	char env[2 * PATH_MAX + 2];
	char *junk = malloc(DEV_SIZE);
	int fd;

	assert_non_null(junk);
	memset(junk, fill, DEV_SIZE);
	tu_path(path, size, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, DEV_SIZE), (ssize_t)DEV_SIZE);
	close(fd);
	free(junk);
	make_sysfs();
	snprintf(env, sizeof(env), "%s=%s", path, devdir);
	assert_int_equal(setenv("PST_TEST_DEVDAX", env, 1), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("devdax");
}

static int
group_teardown(void **state)
{
	(void)state;
	nftw(sysroot, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tu_group_teardown_common();
}

static int
test_teardown(void **state)
{
	unsetenv("PST_TEST_DEVDAX");
	unsetenv("PST_TEST_FORMAT_CRASH");
	return tu_test_teardown(state);
}

static struct pst_pool *
format(const char *path, uint32_t buf_size, uint64_t count, enum pst_persist_mode mode)
{
	struct pst_pool_config cfg = {
		.path = path, .buf_size = buf_size, .buf_count = count,
		.persist_mode = mode,
	};
	struct pst_pool *p;

	pst_errno = 0;
	p = pst_pool_format(&cfg);
	if (p != NULL)
		tu_track(p);
	return p;
}

static void
expect_msg(const char *what, const char *needle)
{
	if (strstr(pst_errormsg(), needle) == NULL)
		fail_msg("%s: message \"%s\" does not say \"%s\"", what,
			 pst_errormsg(), needle);
}

static void
expect_no_pool(const char *path)
{
	struct pst_pool *p;

	pst_errno = 0;
	p = tu_open(path, PST_PERSIST_AUTO);
	if (p != NULL) {
		tu_close(p);
		fail_msg("%s opened as a pool", path);
	}
	if (pst_errno != PST_EFOREIGN)
		fail_msg("open %s: %d (%s), expected PST_EFOREIGN: %s", path, pst_errno,
			 pst_strerror(pst_errno), pst_errormsg());
	expect_msg("open of an unformatted device", "Device DAX");
	expect_msg("open of an unformatted device", "format");
}

/* A device holding no pool is reported as such, with the way out, and
 * neither open nor create writes to it. */
static void
test_unformatted_refused(void **state)
{
	struct pst_pool_config cfg = { .buf_count = 16 };
	struct tu_snapshot snap;
	char path[PATH_MAX];

	(void)state;
	make_device(path, sizeof(path), "dax", 0xab);
	tu_snapshot_take(path, &snap);
	expect_no_pool(path);
	cfg.path = path;
	assert_null(tu_create_cfg(&cfg));
	assert_int_equal(pst_errno, EEXIST);
	expect_msg("create on a device", "pst_pool_format");
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
}

/* Formatting with no count fills the device; the pool is a Device DAX
 * pool in a flush mode, and what it keeps survives a reopen. */
static void
test_format_fills_device(void **state)
{
	struct pst_pool_media m;
	struct pst_pool_info info;
	struct tu_snapshot snap;
	char path[PATH_MAX];
	struct pst_pool *p;
	uint64_t root, bufs_off;
	uint32_t idx;

	(void)state;
	make_device(path, sizeof(path), "dax", 0xab);
	p = format(path, BUF, 0, PST_PERSIST_AUTO);
	if (p == NULL)
		fail_msg("format: %s", pst_errormsg());
	tu_assert_rc(pst_pool_info(p, &info), 0);
	tu_assert_rc(pst_pool_media_info(p, &m), 0);
	assert_int_equal(m.devdax, 1);
	assert_int_equal(m.device_size, DEV_SIZE);
	assert_int_equal(m.device_align, DEV_ALIGN);
	assert_int_equal(m.bad_ranges, 0);
	assert_true(info.file_size <= DEV_SIZE);
	bufs_off = (char *)info.bufs - (char *)info.base;
	/* Full: one more buffer would not fit. */
	assert_true(bufs_off + (info.buf_count + 1) * BUF > DEV_SIZE);
	assert_int_equal(info.buf_size, BUF);
	assert_int_not_equal(info.persist_mode, PST_PERSIST_MSYNC);
	assert_int_equal(info.fs_volatile, 0);
	tu_assert_rc(pst_pool_take(p, &idx), 0);
	memset(pst_pool_buf_addr(p, idx), 0x5a, BUF);
	tu_assert_rc(pst_pool_flush(p, pst_pool_buf_addr(p, idx), BUF), 0);
	tu_assert_rc(pst_pool_keep(p, idx), 0);
	tu_assert_rc(pst_pool_root_claim(p, 3, "test_devdax", "value"), 0);
	tu_assert_rc(pst_pool_root_set(p, 3, pst_name_make(idx, 0, 100)), 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	tu_close(p);

	/* Asked again: the device holds a pool, which is left alone. */
	tu_snapshot_take(path, &snap);
	assert_null(format(path, BUF, 0, PST_PERSIST_AUTO));
	assert_int_equal(pst_errno, EEXIST);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);

	p = tu_must_open(path, PST_PERSIST_AUTO);
	tu_assert_rc(pst_pool_root_get(p, 3, &root), 0);
	assert_int_equal(pst_name_index(root), idx);
	assert_int_equal(*(unsigned char *)pst_pool_buf_addr(p, idx), 0x5a);
	tu_assert_rc(pst_pool_verify(p), 0);
	tu_close(p);
}

static void
test_format_too_big(void **state)
{
	struct tu_snapshot snap;
	char path[PATH_MAX];

	(void)state;
	make_device(path, sizeof(path), "dax", 0xab);
	tu_snapshot_take(path, &snap);
	assert_null(format(path, BUF, DEV_SIZE / BUF, PST_PERSIST_AUTO));
	assert_int_equal(pst_errno, ENOSPC);
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
}

/* No page cache, nothing for msync to write back: refused, by name. */
static void
test_msync_refused(void **state)
{
	struct tu_snapshot snap;
	char path[PATH_MAX];
	struct pst_pool *p;

	(void)state;
	make_device(path, sizeof(path), "dax", 0xab);
	tu_snapshot_take(path, &snap);
	assert_null(format(path, BUF, 0, PST_PERSIST_MSYNC));
	assert_int_equal(pst_errno, EINVAL);
	expect_msg("format with msync", "msync");
	expect_msg("format with msync", "Device DAX");
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);

	p = format(path, BUF, 0, PST_PERSIST_FLUSH);
	assert_non_null(p);
	tu_close(p);
	pst_errno = 0;
	assert_null(tu_open(path, PST_PERSIST_MSYNC));
	assert_int_equal(pst_errno, EINVAL);
	expect_msg("open with msync", "msync");
	expect_msg("open with msync", "Device DAX");
}

/* Without the hook a regular file is not a device: format refuses it. */
static void
test_format_not_devdax(void **state)
{
	struct tu_snapshot snap;
	char path[PATH_MAX];

	(void)state;
	make_device(path, sizeof(path), "file", 0);
	unsetenv("PST_TEST_DEVDAX");
	tu_snapshot_take(path, &snap);
	assert_null(format(path, BUF, 0, PST_PERSIST_AUTO));
	assert_int_equal(pst_errno, EINVAL);
	expect_msg("format of a file", "not a Device DAX");
	tu_snapshot_check(path, &snap);
	tu_snapshot_free(&snap);
}

/* A format killed after each of its phases (SIGKILL right after that
 * phase's drain) leaves a device that is "no pool", never a pool with
 * garbage in it; the device can be formatted again. */
static void
test_format_crash(void **state)
{
	char path[PATH_MAX], phase[8];
	struct pst_pool *p;
	int st;

	(void)state;
	for (int k = 1; k <= 3; k++) {
		pid_t pid;

		make_device(path, sizeof(path), "dax", 0xab);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct pst_pool_config cfg = { .path = path, .buf_size = BUF };

			snprintf(phase, sizeof(phase), "%d", k);
			setenv("PST_TEST_FORMAT_CRASH", phase, 1);
			pst_pool_format(&cfg);
			_exit(3); /* the hook did not kill us */
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			fail_msg("format with crash at phase %d: status 0x%x, not SIGKILL", k, st);
		expect_no_pool(path);
		p = format(path, BUF, 0, PST_PERSIST_AUTO);
		if (p == NULL)
			fail_msg("format after a crash at phase %d: %s", k, pst_errormsg());
		tu_assert_rc(pst_pool_verify(p), 0);
		tu_close(p);
		unlink(path);
	}
}

/* Bad blocks: a name on one is bad, a free buffer on one is never lent, a
 * kept one released is not freed; a header on one refuses the pool. */
static void
test_badblocks(void **state)
{
	struct pst_pool_stats ps;
	struct pst_pool_media m;
	struct pst_pool_info info;
	char path[PATH_MAX], bb[128];
	pst_name keep[4];
	struct pst_pool *p;
	uint64_t bufs_off, n_take;
	uint32_t idx, i;

	(void)state;
	make_device(path, sizeof(path), "dax", 0xab);
	p = format(path, BUF, 64, PST_PERSIST_AUTO);
	assert_non_null(p);
	pst_pool_info(p, &info);
	bufs_off = (char *)info.bufs - (char *)info.base;
	for (i = 0; i < 4; i++) {
		tu_assert_rc(pst_pool_take(p, &idx), 0);
		assert_int_equal(idx, i);
		tu_assert_rc(pst_pool_keep(p, idx), 0);
		keep[i] = pst_name_make(idx, 0, 64);
	}
	tu_assert_rc(pst_pool_drain(p), 0);
	tu_close(p);

	/* Kept buffer 2 and free buffer 10 each lose a sector. */
	bad_at(bb, sizeof(bb), bufs_off + 2 * BUF + 600, 1);
	bad_at(bb + strlen(bb), sizeof(bb) - strlen(bb), bufs_off + 10 * BUF + 4000, 200);
	set_badblocks(bb);
	p = tu_must_open(path, PST_PERSIST_AUTO);
	tu_assert_rc(pst_pool_media_info(p, &m), 0);
	assert_int_equal(m.bad_ranges, 2);
	assert_int_equal(m.bad_bufs, 3); /* the second range spans 10 and 11 */
	assert_int_equal(pst_pool_name_bad(p, keep[2]), 1);
	/* The whole buffer is bad, not only the bytes on the bad block. */
	assert_int_equal(pst_pool_name_bad(p, pst_name_make(2, 1024, 100)), 1);
	assert_int_equal(pst_pool_name_bad(p, keep[1]), 0);
	assert_int_equal(pst_pool_name_bad(p, pst_name_make(10, 4000, 10)), 1);
	assert_int_equal(pst_pool_name_bad(p, pst_name_make(11, 0, 200)), 1);
	tu_assert_rc(pst_pool_verify(p), 0);
	/* The index drops the value on the bad block: its buffer is released
	 * but never lent again. */
	tu_assert_rc(pst_pool_reconcile(p, (pst_name[]){ keep[0], keep[1], keep[3] }, 3, NULL), 0);
	tu_assert_rc(pst_pool_verify(p), 0);
	pst_pool_stats(p, &ps);
	n_take = ps.free;
	assert_int_equal(n_take, 64 - 3 - 3); /* buffers 2, 10 and 11 are bad */
	for (i = 0; i < n_take; i++) {
		tu_assert_rc(pst_pool_take(p, &idx), 0);
		assert_true(idx != 2 && idx != 10 && idx != 11);
	}
	assert_int_equal(pst_pool_take(p, &idx), -ENOBUFS);
	tu_close(p);

	/* The header on a bad block: nothing to recover from. */
	bad_at(bb, sizeof(bb), 100, 1);
	set_badblocks(bb);
	pst_errno = 0;
	assert_null(tu_open(path, PST_PERSIST_AUTO));
	assert_int_equal(pst_errno, EIO);
	expect_msg("open with a bad header", "bad block");
}

static volatile sig_atomic_t marker_hits;

static void
marker(int sig)
{
	(void)sig;
	marker_hits++;
}

static void
expect_marker_installed(void)
{
	struct sigaction cur;

	assert_int_equal(sigaction(SIGBUS, NULL, &cur), 0);
	assert_ptr_equal((void *)cur.sa_handler, (void *)marker);
}

/* A real SIGBUS: a shared mapping read past the end of its (truncated)
 * file. Guarded reads report it; the previous handler comes back. */
static void
test_guarded_read_sigbus(void **state)
{
	struct sigaction sa, old;
	char path[PATH_MAX], dst[64];
	long pg = sysconf(_SC_PAGESIZE);
	uint32_t crc;
	char *map;
	int fd;

	(void)state;
	tu_path(path, sizeof(path), "sigbus");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * pg), 0);
	map = mmap(NULL, (size_t)(2 * pg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	memset(map, 0x42, (size_t)pg);
	assert_int_equal(ftruncate(fd, pg), 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = marker;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);

	assert_int_equal(pst_media_read(dst, map + pg, sizeof(dst)), -EIO);
	expect_marker_installed();
	assert_int_equal(pst_media_read(dst, map + pg - 8, 16), -EIO);
	assert_int_equal(pst_media_read(dst, map, sizeof(dst)), 0);
	assert_int_equal(dst[0], 0x42);
	assert_int_equal(pst_media_crc32c(map + pg, 64, &crc), -EIO);
	tu_assert_rc(pst_media_crc32c(map, 64, &crc), 0);
	assert_int_equal(crc, pst_crc32c(map, 64));
	expect_marker_installed();

	/* A phase: many reads under one installation, nested. */
	tu_assert_rc(pst_media_guard_begin(), 0);
	tu_assert_rc(pst_media_guard_begin(), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pst_media_read(dst, map + pg + 64 * (i % 64), 8), -EIO);
	pst_media_guard_end();
	assert_int_equal(pst_media_read(dst, map + pg, 8), -EIO);
	pst_media_guard_end();
	expect_marker_installed();
	assert_int_equal(marker_hits, 0);

	assert_int_equal(sigaction(SIGBUS, &old, NULL), 0);
	munmap(map, (size_t)(2 * pg));
	close(fd);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unformatted_refused),
		T(test_format_fills_device),
		T(test_format_too_big),
		T(test_msync_refused),
		T(test_format_not_devdax),
		T(test_format_crash),
		T(test_badblocks),
		T(test_guarded_read_sigbus),
	};

	return cmocka_run_group_tests_name("devdax", tests, group_setup, group_teardown);
}
