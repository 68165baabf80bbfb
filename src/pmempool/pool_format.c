/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Formatting a Device DAX in place (pst_pool_format()).
 *
 * A device cannot be built aside and linked into place like a pool file,
 * so the order of the writes is what makes a format crash-safe:
 *   1. erase the header page (any old header with it), drain;
 *   2. zero the buffer states, drain;
 *   3. write the header but its magic, drain;
 *   4. write the magic, drain.
 * Until 4 is durable the device has no magic and opens as "no pool"
 * (PST_EFOREIGN); a torn magic is no magic either. Free buffers need no
 * writing: their bytes belong to nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>

#include "crc.h"
#include "error.h"
#include "paste_media.h"
#include "pool_internal.h"
#include "pool_media.h"

/* The most buffers that fit @dev bytes, 0 if none. */
static uint64_t
count_fitting(uint64_t dev, uint32_t buf_size)
{
	uint64_t c;

	if (dev <= PST_POOL_BUFS_ALIGN)
		return 0;
	c = (dev - PST_POOL_BUFS_ALIGN) / buf_size;
	if (c > PST_POOL_BUF_COUNT_MAX)
		c = PST_POOL_BUF_COUNT_MAX;
	while (c > 0 && pst_pool_layout_file_size(buf_size, c) > dev)
		c--;
	return c;
}

/* A test kills the format after phase @phase (PST_TEST_FORMAT_CRASH):
 * what a power cut at that point leaves, with everything drained. */
static void
crash_point(int phase)
{
	const char *env = getenv(PST_FORMAT_CRASH_ENV);

	if (env != NULL && atoi(env) == phase)
		raise(SIGKILL);
}

static int
step(struct pst_persist *p, const void *addr, size_t len, int phase)
{
	int ret = pst_persist_flush(p, addr, len);

	if (ret == 0)
		ret = pst_persist_drain(p);
	crash_point(phase);
	return ret;
}

static void
fill_header(struct pst_pool_header *h, uint32_t buf_size, uint64_t count)
{
	struct timespec now;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PST_POOL_MAGIC, PST_POOL_MAGIC_LEN);
	h->layout_version = PST_POOL_LAYOUT_VERSION;
	h->header_size = sizeof(*h);
	h->buf_size = buf_size;
	h->buf_count = count;
	h->state_offset = PST_POOL_HEADER_AREA;
	h->bufs_offset = pst_pool_layout_bufs_offset(count);
	h->file_size = pst_pool_layout_file_size(buf_size, count);
	if (getrandom(h->uuid, sizeof(h->uuid), 0) != (ssize_t)sizeof(h->uuid)) {
		clock_gettime(CLOCK_REALTIME, &now);
		memcpy(h->uuid, &now, sizeof(now) < sizeof(h->uuid) ? sizeof(now) : sizeof(h->uuid));
	}
	h->uuid[6] = (uint8_t)((h->uuid[6] & 0x0f) | 0x40);
	h->uuid[8] = (uint8_t)((h->uuid[8] & 0x3f) | 0x80);
	clock_gettime(CLOCK_REALTIME, &now);
	h->created_unix_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	h->header_crc = pst_pool_header_crc(h);
}

/* Write the layout into the mapped device @base. */
static int
write_layout(const char *path, char *base, size_t len, enum pst_persist_mode mode,
	     const struct pst_pool_header *h)
{
	struct pst_persist p;
	int ret;

	ret = pst_persist_init(&p, mode, base, len, 1);
	if (ret != 0)
		return ret;
	memset(base, 0, PST_POOL_HEADER_AREA);
	ret = step(&p, base, PST_POOL_HEADER_AREA, 1);
	if (ret == 0) {
		memset(base + h->state_offset, 0, h->bufs_offset - h->state_offset);
		ret = step(&p, base + h->state_offset, h->bufs_offset - h->state_offset, 2);
	}
	if (ret == 0) {
		memcpy(base + PST_POOL_MAGIC_LEN, (const char *)h + PST_POOL_MAGIC_LEN,
		       sizeof(*h) - PST_POOL_MAGIC_LEN);
		ret = step(&p, base, sizeof(*h), 3);
	}
	if (ret == 0) {
		memcpy(base, h->magic, PST_POOL_MAGIC_LEN);
		ret = step(&p, base, PST_POOL_MAGIC_LEN, 4);
	}
	pst_persist_fini(&p);
	(void)path;
	return ret;
}

static int
check_format_config(const struct pst_pool_config *cfg)
{
	if (cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0')
		return pst_fail(EINVAL, "pool format: no path given");
	if ((unsigned int)cfg->persist_mode > PST_PERSIST_FENCE)
		return pst_fail(EINVAL, "pool %s: unknown persist mode %d", cfg->path,
				(int)cfg->persist_mode);
	if (cfg->buf_size != 0 &&
	    (cfg->buf_size < PST_POOL_BUF_SIZE_MIN || cfg->buf_size > PST_POOL_BUF_SIZE_MAX ||
	     cfg->buf_size % 64 != 0))
		return pst_fail(EINVAL, "pool %s: buffer size %u must be a multiple of 64 in [%u, %u]",
				cfg->path, cfg->buf_size, PST_POOL_BUF_SIZE_MIN,
				PST_POOL_BUF_SIZE_MAX);
	return pst_devdax_check_mode(cfg->path, cfg->persist_mode);
}

/* Open and lock @path, check it is a Device DAX that holds no pool, and
 * choose the geometry; the device stays mapped at *basep. */
static int
prepare(const struct pst_pool_config *cfg, struct pst_media *m, int *fdp,
	char **basep, size_t *lenp, struct pst_pool_header *h)
{
	uint32_t buf_size = cfg->buf_size ? cfg->buf_size : PST_POOL_BUF_SIZE_DEFAULT;
	uint64_t count = cfg->buf_count;
	char magic[PST_POOL_MAGIC_LEN];
	struct stat st;
	int fd, is_pmem, ret;

	fd = open(cfg->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return pst_fail(errno, "pool %s: %s", cfg->path, strerror(errno));
	*fdp = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return pst_fail(errno == EWOULDBLOCK ? EBUSY : errno,
				"pool %s: already open (locked by another opener)", cfg->path);
	if (fstat(fd, &st) != 0)
		return pst_fail(errno, "pool %s: fstat: %s", cfg->path, strerror(errno));
	ret = pst_devdax_probe(cfg->path, &st, m);
	if (ret <= 0)
		return ret < 0 ? ret :
			pst_fail(EINVAL, "pool %s: not a Device DAX (/dev/daxX.Y); "
				 "pst_pool_create() makes pool files", cfg->path);
	ret = pst_devdax_badblocks(cfg->path, m);
	if (ret != 0)
		return ret;
	if (count == 0)
		count = count_fitting(m->dev_size, buf_size);
	if (count == 0 || pst_pool_layout_file_size(buf_size, count) > m->dev_size)
		return pst_fail(ENOSPC, "pool %s: %llu buffers of %u bytes need %llu bytes; "
				"the Device DAX has %llu", cfg->path,
				(unsigned long long)(count ? count : 1), buf_size,
				(unsigned long long)pst_pool_layout_file_size(buf_size, count ? count : 1),
				(unsigned long long)m->dev_size);
	if (count > PST_POOL_BUF_COUNT_MAX)
		return pst_fail(EINVAL, "pool %s: %llu buffers exceed the maximum %u",
				cfg->path, (unsigned long long)count, PST_POOL_BUF_COUNT_MAX);
	fill_header(h, buf_size, count);
	if (pst_media_overlaps_bad(m, 0, h->bufs_offset))
		return pst_fail(EIO, "pool %s: the header or buffer states would lie on a bad "
				"block of the Device DAX; clear the error (ndctl clear-errors) "
				"first", cfg->path);
	*basep = pmem_map_file(cfg->path, 0, 0, 0, lenp, &is_pmem);
	if (*basep == NULL)
		return pst_fail(errno ? errno : EIO, "pool %s: pmem_map_file: %s", cfg->path,
				pmem_errormsg());
	if (*lenp < m->dev_size)
		return pst_fail(PST_ETRUNC, "pool %s: Device DAX of %llu bytes mapped as %zu",
				cfg->path, (unsigned long long)m->dev_size, *lenp);
	ret = pst_media_read(magic, *basep, sizeof(magic));
	if (ret != 0)
		return ret;
	if (memcmp(magic, PST_POOL_MAGIC, PST_POOL_MAGIC_LEN) == 0)
		return pst_fail(EEXIST, "pool %s: the Device DAX holds a paste pool already "
				"(maybe a damaged one): not formatted over; to start again, "
				"erase its first 4 KiB first", cfg->path);
	return 0;
}

struct pst_pool *
pst_pool_format(const struct pst_pool_config *cfg)
{
	struct pst_pool_header h;
	struct pst_pool_config open_cfg;
	struct pst_media m = {0};
	char *base = NULL;
	size_t len = 0;
	int fd = -1;

	if (check_format_config(cfg) != 0)
		return NULL;
	if (prepare(cfg, &m, &fd, &base, &len, &h) != 0)
		goto fail;
	if (write_layout(cfg->path, base, len, cfg->persist_mode, &h) != 0)
		goto fail;
	pmem_unmap(base, len);
	pst_media_fini(&m);
	open_cfg = *cfg;
	open_cfg.buf_size = h.buf_size;
	open_cfg.buf_count = h.buf_count;
	/* Opened as any pool, through the lock we hold (fd is consumed). */
	return pst_pool_open_locked(&open_cfg, fd);
fail:
	{
		int err = pst_errno;

		if (base != NULL)
			pmem_unmap(base, len);
		pst_media_fini(&m);
		if (fd >= 0)
			close(fd);
		pst_errno = err;
	}
	return NULL;
}
