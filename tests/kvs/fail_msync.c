/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LD_PRELOAD shim for tests/kvs/test_kvs_sync_fail.sh: a page-cache pool
 * whose medium can fail, modelled as Linux behaves.
 *
 *   PASTE_SHADOW_POOL=path  the pool file whose medium is modelled
 *   PASTE_SHADOW_FILE=path  the medium: a copy of the pool as of the last
 *                           successful msync. Taken from the pool file when
 *                           the process starts; every msync that succeeds
 *                           writes the range it covered into it.
 *   PASTE_FAIL_MSYNC_ONCE=path  while this file exists, the next msync of
 *                           the pool fails with EIO and the file is removed.
 *
 * What Linux does after a failed writeback is what makes retrying wrong:
 * the pages are marked clean with their new contents still in memory, the
 * error is reported once, and a later msync returns 0 without writing
 * them. The shim does the same: the pages of a failed msync never reach
 * the shadow, while later msyncs succeed. A server that retries and then
 * acknowledges is caught when it restarts from the shadow.
 *
 * paste-kvs runs unchanged: its real drain path (libpmem's pmem_msync,
 * which calls msync) is what the shim sees.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOST_MAX 64

static char page_buf[1 << 16];   /* one page at a time, pool to shadow */

/* Page ranges [lo, hi) of the mapping whose writeback "failed". */
static struct {
	uintptr_t lo, hi;
} lost[LOST_MAX];
static unsigned int n_lost;

static void
die(const char *what)
{
	fprintf(stderr, "fail_msync shim: %s: %s\n", what, strerror(errno));
	_exit(99);
}

/* The medium starts as the file the process opens. */
__attribute__((constructor)) static void
shadow_init(void)
{
	const char *pool = getenv("PASTE_SHADOW_POOL");
	const char *shadow = getenv("PASTE_SHADOW_FILE");
	char buf[1 << 16];
	ssize_t n;
	int in, out;

	if (pool == NULL || shadow == NULL)
		return;
	in = open(pool, O_RDONLY);
	if (in < 0)
		return; /* created by the server: its creation syncs it whole */
	out = open(shadow, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0)
		die("open the shadow");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("write the shadow");
	if (n < 0)
		die("read the pool");
	close(in);
	close(out);
}

/* The file offset of @addr when it lies in a mapping of the pool file, or
 * -1. /proc/self/maps is read on every msync: a test's rate allows it. */
static long long
pool_offset(uintptr_t addr, uintptr_t *map_end)
{
	const char *pool = getenv("PASTE_SHADOW_POOL");
	unsigned long long lo, hi, off;
	char line[4096], path[4096];
	long long ret = -1;
	FILE *f;

	if (pool == NULL || (f = fopen("/proc/self/maps", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &lo, &hi, &off,
			   path) < 3)
			continue;
		if (addr >= lo && addr < hi && strcmp(path, pool) == 0) {
			ret = (long long)(off + (addr - lo));
			*map_end = (uintptr_t)hi;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int
is_lost(uintptr_t page)
{
	unsigned int i;

	for (i = 0; i < n_lost; i++)
		if (page >= lost[i].lo && page < lost[i].hi)
			return 1;
	return 0;
}

/* What a successful msync of [addr, addr + len) puts on the medium. The
 * bytes are taken from the pool file, which a shared mapping of it shows
 * as they are in memory: reading the mapping from here would trip the
 * sanitizer build over buffers the pool poisoned. */
static void
shadow_write(uintptr_t addr, size_t len, long long off)
{
	const char *pool = getenv("PASTE_SHADOW_POOL");
	const char *shadow = getenv("PASTE_SHADOW_FILE");
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t p;
	int in, out;

	if (shadow == NULL || pool == NULL)
		return;
	in = open(pool, O_RDONLY);
	out = open(shadow, O_WRONLY);
	if (in < 0 || out < 0)
		die("open the pool or the shadow");
	for (p = addr; p < addr + len; p += (uintptr_t)page) {
		size_t n = (size_t)page < addr + len - p ? (size_t)page : addr + len - p;
		off_t from = off + (off_t)(p - addr), to = from;

		if (is_lost(p))
			continue;
		if (pread(in, page_buf, n, from) != (ssize_t)n ||
		    pwrite(out, page_buf, n, to) != (ssize_t)n)
			die("copy into the shadow");
	}
	close(in);
	close(out);
}

int
msync(void *addr, size_t len, int flags)
{
	static int (*real_msync)(void *, size_t, int);
	const char *once = getenv("PASTE_FAIL_MSYNC_ONCE");
	uintptr_t a = (uintptr_t)addr, map_end = 0;
	long long off = pool_offset(a, &map_end);
	int ret;

	if (off >= 0 && once != NULL && unlink(once) == 0) {
		if (n_lost < LOST_MAX) {
			lost[n_lost].lo = a;
			lost[n_lost].hi = a + len;
			n_lost++;
		}
		fprintf(stderr, "fail_msync shim: msync of %zu bytes at pool offset %lld "
			"fails (EIO); those pages never reach the medium\n", len, off);
		errno = EIO;
		return -1;
	}
	if (real_msync == NULL)
		*(void **)&real_msync = dlsym(RTLD_NEXT, "msync");
	if (real_msync == NULL) {
		errno = ENOSYS;
		return -1;
	}
	ret = real_msync(addr, len, flags);
	if (ret == 0 && off >= 0)
		shadow_write(a, a + len <= map_end ? len : map_end - a, off);
	return ret;
}
