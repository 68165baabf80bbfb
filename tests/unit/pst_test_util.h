/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the unit, crash and dpdk tests (header only, static
 * functions).
 *
 * Every test program works in its own directory /dev/shm/pst-<tag>-<pid>,
 * created by the group setup and removed (with everything in it) by the group
 * teardown, so no run leaves pool files behind and two runs never collide.
 * Pools are opened through tu_create()/tu_open(), which remember them so a
 * test teardown can close whatever a failed assertion left open; the test
 * teardown also checks that no file descriptor and no mapping of a test file
 * leaked.
 */
#ifndef PST_TEST_UTIL_H
#define PST_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "paste_pool.h"
#include "pool_layout.h"
#include "crc.h"
#include "asan_poison.h"

#define TU_MAX_POOLS 16

static char tu_dir[PATH_MAX];
static struct pst_pool *tu_pools[TU_MAX_POOLS];
static int tu_fd_baseline = -1;

static unsigned int tu_unique;

/* ---- file system ------------------------------------------------------ */

static __attribute__((unused)) int
tu_rm_dir_contents(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) <
		    (int)sizeof(p))
			unlink(p);
	}
	closedir(d);
	return 0;
}

/* Create the per-program directory. */
static __attribute__((unused)) int
tu_dir_init(const char *tag)
{
	if (snprintf(tu_dir, sizeof(tu_dir), "/dev/shm/pst-%s-%ld", tag,
		     (long)getpid()) >= (int)sizeof(tu_dir))
		return -1;
	if (mkdir(tu_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", tu_dir, strerror(errno));
		return -1;
	}
	tu_rm_dir_contents(tu_dir);
	return 0;
}

static __attribute__((unused)) void
tu_dir_fini(void)
{
	if (tu_dir[0] == '\0')
		return;
	tu_rm_dir_contents(tu_dir);
	rmdir(tu_dir);
}

/* A fresh, unique path in the test directory ("<dir>/<name>-<n>.pool"). */
static __attribute__((unused)) const char *
tu_path(char *buf, size_t size, const char *name)
{
	if (snprintf(buf, size, "%s/%s-%u.pool", tu_dir, name, tu_unique++) >=
	    (int)size)
		fail_msg("path too long");
	return buf;
}

/* Number of entries (besides . and ..) in the test directory. */
static __attribute__((unused)) int
tu_dir_entries(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static __attribute__((unused)) int
tu_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- leak checks --------------------------------------------------------- */

static __attribute__((unused)) int
tu_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

/* Number of mappings of files inside the test directory. */
static __attribute__((unused)) int
tu_maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 256];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, tu_dir) != NULL)
			n++;
	fclose(f);
	return n;
}

/* ---- pool tracking ----------------------------------------------------- */

static __attribute__((unused)) void
tu_track(struct pst_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < TU_MAX_POOLS; i++)
		if (tu_pools[i] == NULL) {
			tu_pools[i] = p;
			return;
		}
	fail_msg("too many open pools in one test");
}

static __attribute__((unused)) void
tu_untrack(struct pst_pool *p)
{
	for (int i = 0; i < TU_MAX_POOLS; i++)
		if (tu_pools[i] == p)
			tu_pools[i] = NULL;
}

static __attribute__((unused)) struct pst_pool *
tu_create_cfg(const struct pst_pool_config *cfg)
{
	struct pst_pool *p = pst_pool_create(cfg);

	tu_track(p);
	return p;
}

static __attribute__((unused)) struct pst_pool *
tu_open_cfg(const struct pst_pool_config *cfg)
{
	struct pst_pool *p = pst_pool_open(cfg);

	tu_track(p);
	return p;
}

static __attribute__((unused)) struct pst_pool *
tu_create(const char *path, uint32_t buf_size, uint64_t count,
	  enum pst_persist_mode mode)
{
	struct pst_pool_config cfg = {
		.path = path, .buf_size = buf_size, .buf_count = count,
		.persist_mode = mode,
	};

	return tu_create_cfg(&cfg);
}

static __attribute__((unused)) struct pst_pool *
tu_open(const char *path, enum pst_persist_mode mode)
{
	struct pst_pool_config cfg = { .path = path, .persist_mode = mode };

	return tu_open_cfg(&cfg);
}

static __attribute__((unused)) void
tu_close(struct pst_pool *p)
{
	tu_untrack(p);
	pst_pool_close(p);
}

/* Create a pool, fail the test if that does not work. */
static __attribute__((unused)) struct pst_pool *
tu_must_create(const char *path, uint32_t buf_size, uint64_t count,
	       enum pst_persist_mode mode)
{
	struct pst_pool *p = tu_create(path, buf_size, count, mode);

	if (p == NULL)
		fail_msg("pst_pool_create(%s, %u x %llu) failed: %d (%s) %s",
			 path, buf_size, (unsigned long long)count, pst_errno,
			 pst_strerror(pst_errno), pst_errormsg());
	return p;
}

static __attribute__((unused)) struct pst_pool *
tu_must_open(const char *path, enum pst_persist_mode mode)
{
	struct pst_pool *p = tu_open(path, mode);

	if (p == NULL)
		fail_msg("pst_pool_open(%s) failed: %d (%s) %s", path, pst_errno,
			 pst_strerror(pst_errno), pst_errormsg());
	return p;
}

/* Assert pst_pool_verify() == 0, printing the library's message if not. */
#define tu_assert_verify(p)                                                  \
	do {                                                                 \
		int _vr = pst_pool_verify(p);                                \
		if (_vr != 0)                                                \
			fail_msg("pst_pool_verify: %d (%s)", _vr,            \
				 pst_errormsg());                            \
	} while (0)

/* Assert an int-returning call gave exactly @expect (0 or -errno). */
#define tu_assert_rc(call, expect)                                           \
	do {                                                                 \
		int _r = (call);                                             \
		int _e = (expect);                                           \
		if (_r != _e)                                                \
			fail_msg("%s returned %d (%s), expected %d (%s); %s", \
				 #call, _r, pst_strerror(_r), _e,            \
				 pst_strerror(_e), pst_errormsg());          \
	} while (0)

/* Group/test fixtures. */
static __attribute__((unused)) int
tu_group_setup_common(const char *tag)
{
	char path[PATH_MAX];
	struct pst_pool *p;

	if (tu_dir_init(tag) != 0)
		return -1;
	/* Warm up the library (libpmem lazily opens /proc files etc.) before
	 * taking the file-descriptor baseline. */
	tu_path(path, sizeof(path), "warmup");
	p = pst_pool_create(&(struct pst_pool_config){
		.path = path, .buf_size = 0, .buf_count = 8,
		.persist_mode = PST_PERSIST_FLUSH });
	if (p != NULL)
		pst_pool_close(p);
	unlink(path);
	tu_fd_baseline = tu_fd_count();
	return 0;
}

static __attribute__((unused)) int
tu_group_teardown_common(void)
{
	for (int i = 0; i < TU_MAX_POOLS; i++)
		if (tu_pools[i] != NULL) {
			pst_pool_close(tu_pools[i]);
			tu_pools[i] = NULL;
		}
	tu_dir_fini();
	return 0;
}

static __attribute__((unused)) int
tu_test_setup(void **state)
{
	(void)state;
	return 0;
}

/* Close what a failed test left open, remove its files, check for leaks. */
static __attribute__((unused)) int
tu_test_teardown(void **state)
{
	int fds, maps;

	(void)state;
	for (int i = 0; i < TU_MAX_POOLS; i++)
		if (tu_pools[i] != NULL) {
			/* left open by a failed assertion */
			pst_pool_close(tu_pools[i]);
			tu_pools[i] = NULL;
		}
	tu_rm_dir_contents(tu_dir);
	fds = tu_fd_count();
	maps = tu_maps_count();
	if (fds != tu_fd_baseline) {
		print_error("file descriptor leak: %d open, baseline %d\n", fds,
			    tu_fd_baseline);
		tu_fd_baseline = fds; /* report once */
		return -1;
	}
	if (maps != 0) {
		print_error("%d mappings of test files remain\n", maps);
		return -1;
	}
	return 0;
}

/* ---- the pool file on disk ------------------------------------------------ */

/* Whole-file snapshot, to prove a refused file was not touched. */
struct tu_snapshot {
	void *data;
	size_t size;
	struct timespec mtime;
	struct timespec ctime_;
	mode_t mode;
};

static __attribute__((unused)) int
tu_read_file(const char *path, void **data, size_t *size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t done = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -errno;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + done, (size_t)st.st_size - done,
				  (off_t)done);
		if (r <= 0) {
			free(buf);
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		done += (size_t)r;
	}
	close(fd);
	*data = buf;
	*size = done;
	return 0;
}

static __attribute__((unused)) void
tu_snapshot_take(const char *path, struct tu_snapshot *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	assert_int_equal(stat(path, &st), 0);
	s->mtime = st.st_mtim;
	s->ctime_ = st.st_ctim;
	s->mode = st.st_mode;
	assert_int_equal(tu_read_file(path, &s->data, &s->size), 0);
}

/* Assert the file is byte-identical to the snapshot and its mtime unchanged. */
static __attribute__((unused)) void
tu_snapshot_check(const char *path, struct tu_snapshot *s)
{
	struct stat st;
	void *data = NULL;
	size_t size = 0;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(tu_read_file(path, &data, &size), 0);
	if (size != s->size) {
		free(data);
		fail_msg("%s: size changed from %zu to %zu", path, s->size, size);
	}
	if (memcmp(data, s->data, size) != 0) {
		size_t i = 0;
		while (((char *)data)[i] == ((char *)s->data)[i])
			i++;
		free(data);
		fail_msg("%s: contents changed (first difference at byte %zu)",
			 path, i);
	}
	free(data);
	if (st.st_mtim.tv_sec != s->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != s->mtime.tv_nsec)
		fail_msg("%s: mtime changed", path);
	assert_int_equal(st.st_mode, s->mode);
}

static __attribute__((unused)) void
tu_snapshot_free(struct tu_snapshot *s)
{
	free(s->data);
	s->data = NULL;
}

static __attribute__((unused)) void
tu_header_read(const char *path, struct pst_pool_header *h)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
	close(fd);
}

static __attribute__((unused)) void
tu_header_write(const char *path, const struct pst_pool_header *h)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, h, sizeof(*h), 0), (ssize_t)sizeof(*h));
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static __attribute__((unused)) uint32_t
tu_header_crc(const struct pst_pool_header *h)
{
	return pst_crc32c(h, offsetof(struct pst_pool_header, header_crc));
}

static __attribute__((unused)) void
tu_header_fix_crc(struct pst_pool_header *h)
{
	h->header_crc = tu_header_crc(h);
}

/* Read or write one buffer-state byte of a closed pool file. */
static __attribute__((unused)) uint8_t
tu_state_read(const char *path, uint64_t index)
{
	struct pst_pool_header h;
	uint8_t b = 0xee;
	int fd;

	tu_header_read(path, &h);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)(h.state_offset + index)), 1);
	close(fd);
	return b;
}

static __attribute__((unused)) void
tu_state_write(const char *path, uint64_t index, uint8_t v)
{
	struct pst_pool_header h;
	int fd;

	tu_header_read(path, &h);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, (off_t)(h.state_offset + index)), 1);
	close(fd);
}

/* ---- pool state ------------------------------------------------------------ */

static __attribute__((unused)) struct pst_pool_stats
tu_stats(const struct pst_pool *p)
{
	struct pst_pool_stats s;

	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(pst_pool_stats(p, &s), 0);
	return s;
}

static __attribute__((unused)) struct pst_pool_info
tu_info(const struct pst_pool *p)
{
	struct pst_pool_info i;

	memset(&i, 0xa5, sizeof(i));
	assert_int_equal(pst_pool_info(p, &i), 0);
	return i;
}

/*
 * Black-box view of which buffers are kept: take every free buffer (the
 * complement of kept when nothing is lent), record the indexes, give them
 * back. @kept_map (count bytes) gets 1 for buffers that could not be taken.
 */
static __attribute__((unused)) void
tu_kept_map(struct pst_pool *p, uint8_t *kept_map)
{
	struct pst_pool_info info = tu_info(p);
	struct pst_pool_stats before = tu_stats(p);
	uint64_t n = info.buf_count;
	uint32_t *taken = malloc(n * sizeof(*taken));
	uint64_t nt = 0;
	uint32_t idx;
	int r;

	assert_non_null(taken);
	assert_int_equal(before.lent, 0);
	assert_int_equal(before.releasing, 0);
	memset(kept_map, 1, n);
	while ((r = pst_pool_take(p, &idx)) == 0) {
		if (idx >= n || kept_map[idx] == 0) {
			free(taken);
			fail_msg("take returned index %u twice or out of range",
				 idx);
		}
		kept_map[idx] = 0;
		taken[nt++] = idx;
		if (nt > n) {
			free(taken);
			fail_msg("took more buffers than exist");
		}
	}
	assert_int_equal(r, -ENOBUFS);
	assert_int_equal(nt, before.free);
	for (uint64_t i = 0; i < nt; i++)
		assert_int_equal(pst_pool_release(p, taken[i]), 0);
	free(taken);
}

/* Deterministic content of buffer @index (generation @gen). */
static inline uint8_t
tu_pattern_byte(uint32_t index, uint32_t gen, size_t off)
{
	uint64_t x = ((uint64_t)index << 20) ^ ((uint64_t)gen << 52) ^ off;

	x *= 0x9E3779B97F4A7C15ull;
	return (uint8_t)(x >> 56);
}

static inline void
tu_pattern_fill(void *dst, uint32_t index, uint32_t gen, size_t len)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < len; i++)
		d[i] = tu_pattern_byte(index, gen, i);
}

/* Index of the first mismatch, or len if all bytes match. */
static inline size_t
tu_pattern_check(const void *src, uint32_t index, uint32_t gen, size_t len)
{
	const uint8_t *s = src;

	for (size_t i = 0; i < len; i++)
		if (s[i] != tu_pattern_byte(index, gen, i))
			return i;
	return len;
}

/* ---- the mapping as hardware sees it ------------------------------------- */

/* A simulated medium (crash images) reads the whole mapping as the
 * hardware would, free buffers included, which sanitizer builds poison.
 * tu_hw_begin() unpoisons the @count buffers of @buf_size bytes at @bufs
 * and remembers which were poisoned; tu_hw_end() poisons those again.
 * Not nested. */
static uint8_t *tu_hw_poisoned;
static const uint8_t *tu_hw_bufs;
static uint32_t tu_hw_buf_size;
static size_t tu_hw_count;

static __attribute__((unused)) void
tu_hw_begin(const void *bufs, uint32_t buf_size, size_t count)
{
#ifdef PST_ASAN
	tu_hw_bufs = bufs;
	tu_hw_buf_size = buf_size;
	tu_hw_count = count;
	tu_hw_poisoned = realloc(tu_hw_poisoned, count);
	assert_non_null(tu_hw_poisoned);
	for (size_t i = 0; i < count; i++)
		tu_hw_poisoned[i] = (uint8_t)__asan_address_is_poisoned(
			tu_hw_bufs + i * buf_size);
	pst_unpoison(bufs, (size_t)buf_size * count);
#else
	(void)bufs;
	(void)buf_size;
	(void)count;
	(void)tu_hw_poisoned;
	(void)tu_hw_bufs;
	(void)tu_hw_buf_size;
	(void)tu_hw_count;
#endif
}

static __attribute__((unused)) void
tu_hw_end(void)
{
#ifdef PST_ASAN
	for (size_t i = 0; i < tu_hw_count; i++)
		if (tu_hw_poisoned[i])
			pst_poison(tu_hw_bufs + i * tu_hw_buf_size, tu_hw_buf_size);
#endif
}

#endif /* PST_TEST_UTIL_H */
