/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pool files: creation, validation, mapping, locking.
 *
 * Opening validates the header with pread() before anything is mapped, so a
 * refused file is never touched; an exclusive flock() keeps a second opener
 * (in this process or another) away from a live pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>

#include "asan_poison.h"
#include "crc.h"
#include "error.h"
#include "pool_internal.h"
#include "pool_media.h"

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

uint64_t
pst_pool_layout_bufs_offset(uint64_t buf_count)
{
	return align_up(PST_POOL_HEADER_AREA + buf_count, PST_POOL_BUFS_ALIGN);
}

uint64_t
pst_pool_layout_file_size(uint32_t buf_size, uint64_t buf_count)
{
	return align_up(pst_pool_layout_bufs_offset(buf_count) + (uint64_t)buf_size * buf_count,
			PST_POOL_BUFS_ALIGN);
}

uint32_t
pst_pool_header_crc(const struct pst_pool_header *h)
{
	return pst_crc32c(h, offsetof(struct pst_pool_header, header_crc));
}

static int
check_buf_size(const char *path, uint32_t buf_size)
{
	if (buf_size < PST_POOL_BUF_SIZE_MIN || buf_size > PST_POOL_BUF_SIZE_MAX ||
	    buf_size % 64 != 0)
		return pst_fail(EINVAL,
				"pool %s: buffer size %u must be a multiple of 64 in [%u, %u]",
				path, buf_size, PST_POOL_BUF_SIZE_MIN,
				PST_POOL_BUF_SIZE_MAX);
	return 0;
}

static int
check_config(const struct pst_pool_config *cfg)
{
	if (cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0')
		return pst_fail(EINVAL, "pool: no path given");
	if ((unsigned int)cfg->persist_mode > PST_PERSIST_FENCE)
		return pst_fail(EINVAL, "pool %s: unknown persist mode %d",
				cfg->path, (int)cfg->persist_mode);
	if (cfg->buf_count > PST_POOL_BUF_COUNT_MAX)
		return pst_fail(EINVAL, "pool %s: %llu buffers exceed the maximum %u",
				cfg->path, (unsigned long long)cfg->buf_count,
				PST_POOL_BUF_COUNT_MAX);
	if (cfg->buf_size != 0)
		return check_buf_size(cfg->path, cfg->buf_size);
	return 0;
}

/*
 * Everything a header must satisfy, in the order that gives the most useful
 * error: identity first, then integrity, then internal consistency, then
 * what the file and the caller say.
 */
static int
validate_header(const struct pst_pool_config *cfg,
		const struct pst_pool_header *h, uint64_t actual_size)
{
	const char *path = cfg->path;
	uint64_t bufs_bytes;

	if (memcmp(h->magic, PST_POOL_MAGIC, PST_POOL_MAGIC_LEN) != 0)
		return pst_fail(PST_EFOREIGN,
				"pool %s: bad magic, not a paste pool file", path);
	if (h->layout_version > PST_POOL_LAYOUT_VERSION)
		return pst_fail(PST_EVERSION,
				"pool %s: layout version %u is newer than this library's %u",
				path, h->layout_version, PST_POOL_LAYOUT_VERSION);
	if (pst_pool_header_crc(h) != h->header_crc)
		return pst_fail(PST_ECRC,
				"pool %s: header checksum 0x%08x, computed 0x%08x",
				path, h->header_crc, pst_pool_header_crc(h));
	if (h->layout_version == 0 || h->header_size != sizeof(*h) ||
	    h->flags != 0)
		return pst_fail(PST_ECORRUPT,
				"pool %s: header version %u, size %u, flags 0x%x are invalid",
				path, h->layout_version, h->header_size, h->flags);
	/* Older files have no owner records: no migration, because the
	 * version and the checksum lie in different cache lines (a torn
	 * rewrite would lose the pool), and because nothing says which
	 * application's index the slots lead to. */
	if (h->layout_version < PST_POOL_LAYOUT_VERSION)
		return pst_fail(PST_EVERSION,
				"pool %s: layout version %u is older than this library's %u, "
				"which records the owners of the root slots; not converted",
				path, h->layout_version, PST_POOL_LAYOUT_VERSION);
	if (h->buf_size < PST_POOL_BUF_SIZE_MIN ||
	    h->buf_size > PST_POOL_BUF_SIZE_MAX || h->buf_size % 64 != 0 ||
	    h->buf_count == 0 || h->buf_count > PST_POOL_BUF_COUNT_MAX)
		return pst_fail(PST_ECORRUPT,
				"pool %s: geometry %u bytes x %llu buffers is invalid",
				path, h->buf_size, (unsigned long long)h->buf_count);
	/* buf_size * buf_count cannot overflow (16-bit x 32-bit); the sums
	 * are checked against file_size without adding first. */
	bufs_bytes = (uint64_t)h->buf_size * h->buf_count;
	if (h->state_offset != PST_POOL_HEADER_AREA ||
	    h->bufs_offset < h->state_offset + h->buf_count ||
	    h->bufs_offset % PST_POOL_BUFS_ALIGN != 0 ||
	    h->bufs_offset > h->file_size ||
	    bufs_bytes > h->file_size - h->bufs_offset)
		return pst_fail(PST_ECORRUPT,
				"pool %s: offsets state %llu, buffers %llu, size %llu are inconsistent",
				path, (unsigned long long)h->state_offset,
				(unsigned long long)h->bufs_offset,
				(unsigned long long)h->file_size);
	if (actual_size < h->file_size)
		return pst_fail(PST_ETRUNC,
				"pool %s: file is %llu bytes, its header needs %llu",
				path, (unsigned long long)actual_size,
				(unsigned long long)h->file_size);
	if ((cfg->buf_size != 0 && cfg->buf_size != h->buf_size) ||
	    (cfg->buf_count != 0 && cfg->buf_count != h->buf_count))
		return pst_fail(PST_EGEOMETRY,
				"pool %s: holds %llu buffers of %u bytes, asked for %llu of %u",
				path, (unsigned long long)h->buf_count, h->buf_size,
				(unsigned long long)cfg->buf_count, cfg->buf_size);
	return 0;
}

/* Open (unless @locked_fd is given), lock and read the header of a pool
 * file without changing it. */
static int
open_and_validate(const struct pst_pool_config *cfg, int locked_fd, int *fdp,
		  struct pst_pool_header *h, struct pst_media *media)
{
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = locked_fd;
	if (fd < 0) {
		fd = open(cfg->path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return pst_fail(errno, "pool %s: %s", cfg->path, strerror(errno));
	}
	if (locked_fd < 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ret = errno == EWOULDBLOCK ?
			pst_fail(EBUSY, "pool %s: already open (locked by another opener)",
				 cfg->path) :
			pst_fail(errno, "pool %s: flock: %s", cfg->path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		ret = pst_fail(errno, "pool %s: fstat: %s", cfg->path, strerror(errno));
		goto fail;
	}
	ret = pst_devdax_probe(cfg->path, &st, media);
	if (ret < 0)
		goto fail;
	if (ret == 1) {
		/* No read() on a Device DAX: validated once mapped. */
		*fdp = fd;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = pst_fail(PST_EFOREIGN, "pool %s: not a regular file", cfg->path);
		goto fail;
	}
	if ((uint64_t)st.st_size < sizeof(*h)) {
		ret = pst_fail(PST_ETRUNC,
			       "pool %s: file is %lld bytes, shorter than a header",
			       cfg->path, (long long)st.st_size);
		goto fail;
	}
	n = pread(fd, h, sizeof(*h), 0);
	if (n != (ssize_t)sizeof(*h)) {
		ret = pst_fail(n < 0 ? errno : EIO, "pool %s: cannot read header",
			       cfg->path);
		goto fail;
	}
	ret = validate_header(cfg, h, (uint64_t)st.st_size);
	if (ret != 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

/* The header of a mapped Device DAX, validated as open_and_validate()
 * does a file's; a device holding no pool says how to make one. */
static int
devdax_validate(const struct pst_pool_config *cfg, struct pst_pool *pool,
		struct pst_pool_header *h)
{
	int ret = pst_devdax_mapped(pool, cfg, h);

	if (ret != 0)
		return ret;
	ret = validate_header(cfg, h, pool->media.dev_size);
	if (ret == -PST_EFOREIGN)
		return pst_fail(PST_EFOREIGN,
				"pool %s: this Device DAX holds no paste pool; format it "
				"explicitly (pst_pool_format(), paste-kvs --pool-format), "
				"which erases what it holds", cfg->path);
	return ret != 0 ? ret : pst_devdax_mark_bad(pool, h);
}

struct pst_pool *
pst_pool_map(const struct pst_pool_config *cfg, int locked_fd)
{
	struct pst_pool_header h;
	struct pst_pool *pool;
	size_t mapped_len;
	int ret;

	pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		if (locked_fd >= 0)
			close(locked_fd);
		pst_fail(ENOMEM, "pool: out of memory");
		return NULL;
	}
	pool->fd = -1;
	pool->path = strdup(cfg->path);
	if (pool->path == NULL) {
		pst_fail(ENOMEM, "pool: out of memory");
		goto fail;
	}
	if (open_and_validate(cfg, locked_fd, &pool->fd, &h, &pool->media) != 0) {
		locked_fd = -1; /* closed by open_and_validate */
		goto fail;
	}
	locked_fd = -1; /* pool->fd now */

	pool->base = pmem_map_file(cfg->path, 0, 0, 0, &mapped_len, &pool->is_pmem);
	if (pool->base == NULL) {
		pst_fail(errno ? errno : EIO, "pool %s: pmem_map_file: %s",
			 cfg->path, pmem_errormsg());
		goto fail;
	}
	pool->map_len = mapped_len;
	pool->hdr = (struct pst_pool_header *)pool->base;
	if (pool->media.devdax && devdax_validate(cfg, pool, &h) != 0)
		goto fail;
	/* The path was opened twice (our locked fd, libpmem's mapping): make
	 * sure both saw the same file. */
	if (mapped_len < h.file_size || memcmp(pool->hdr, &h, sizeof(h)) != 0) {
		pst_fail(EBUSY, "pool %s: file changed while being opened", cfg->path);
		goto fail;
	}
	pool->buf_size = h.buf_size;
	pool->buf_count = (uint32_t)h.buf_count;
	pool->state = (uint8_t *)pool->base + h.state_offset;
	pool->bufs = pool->base + h.bufs_offset;
	ret = pst_persist_init(&pool->persist, cfg->persist_mode, pool->base,
			       pool->map_len, pool->is_pmem);
	if (ret != 0)
		goto fail;
	/* /dev is a devtmpfs, which statfs calls tmpfs: not the medium. */
	ret = pool->media.devdax ? 0 : pst_persist_fs_volatile(pool->fd);
	if (ret < 0)
		goto fail;
	pool->fs_volatile = ret;
	if (pst_persist_check_durable(pool->persist.mode, pool->is_pmem, pool->fs_volatile,
				      cfg->persist_unsafe, cfg->path) != 0)
		goto fail;
	pool->persist.delay_ns = cfg->drain_delay_ns;
	if (pst_persist_trace_from_env(&pool->persist) != 0)
		goto fail;
	pool->no_prefault = cfg->no_prefault;
	return pool;
fail:
	pst_persist_fini(&pool->persist);
	pst_media_fini(&pool->media);
	if (locked_fd >= 0)
		close(locked_fd);
	if (pool->base != NULL) {
		/* A later mapping may reuse the addresses: leave no poison. */
		pst_unpoison(pool->base, pool->map_len);
		pmem_unmap(pool->base, pool->map_len);
	}
	if (pool->fd >= 0)
		close(pool->fd);
	free(pool->path);
	free(pool);
	return NULL;
}

struct pst_pool *
pst_pool_open_locked(const struct pst_pool_config *cfg, int locked_fd)
{
	struct pst_pool *pool;

	pool = pst_pool_map(cfg, locked_fd);
	if (pool == NULL)
		return NULL;
	if (pst_pool_state_init(pool) != 0) {
		int err = pst_errno;

		pst_pool_close(pool);
		pst_errno = err;
		return NULL;
	}
	return pool;
}

struct pst_pool *
pst_pool_open(const struct pst_pool_config *cfg)
{
	if (check_config(cfg) != 0)
		return NULL;
	return pst_pool_open_locked(cfg, -1);
}

static void
make_uuid(uint8_t uuid[16])
{
	struct timespec ts;
	size_t i;

	if (getrandom(uuid, 16, 0) != 16) {
		/* No entropy source: a time-seeded value is still unique
		 * enough to tell two pools apart. */
		clock_gettime(CLOCK_REALTIME, &ts);
		srand((unsigned int)(ts.tv_nsec ^ ts.tv_sec ^ getpid()));
		for (i = 0; i < 16; i++)
			uuid[i] = (uint8_t)rand();
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

/*
 * Write a complete pool into the unnamed file @fd and make it durable. The
 * header is written with pwrite() and the file synced: creation is rare, and
 * a file descriptor cannot be mapped through libpmem (which maps by path).
 */
static int
build_file(int fd, const struct pst_pool_config *cfg, uint32_t buf_size)
{
	struct pst_pool_header h;
	struct timespec now;
	uint64_t bufs_offset, file_size;
	int ret;

	bufs_offset = pst_pool_layout_bufs_offset(cfg->buf_count);
	file_size = pst_pool_layout_file_size(buf_size, cfg->buf_count);
	/* Allocate every block now: running out of space later, under a
	 * driver writing into the mapping, would be a SIGBUS. A freshly
	 * allocated file reads as zero, so every state byte is already
	 * PST_BUF_STATE_FREE and only the header needs writing. */
	ret = posix_fallocate(fd, 0, (off_t)file_size);
	if (ret != 0)
		return pst_fail(ret, "pool %s: cannot allocate %llu bytes: %s",
				cfg->path, (unsigned long long)file_size, strerror(ret));
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, PST_POOL_MAGIC, PST_POOL_MAGIC_LEN);
	h.layout_version = PST_POOL_LAYOUT_VERSION;
	h.header_size = sizeof(h);
	h.buf_size = buf_size;
	h.buf_count = cfg->buf_count;
	h.state_offset = PST_POOL_HEADER_AREA;
	h.bufs_offset = bufs_offset;
	h.file_size = file_size;
	make_uuid(h.uuid);
	clock_gettime(CLOCK_REALTIME, &now);
	h.created_unix_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	h.header_crc = pst_pool_header_crc(&h);
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return pst_fail(errno ? errno : EIO, "pool %s: cannot write header: %s",
				cfg->path, strerror(errno));
	if (fsync(fd) != 0)
		return pst_fail(errno, "pool %s: fsync: %s", cfg->path, strerror(errno));
	return 0;
}

static void
sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* An unnamed file in the directory of @path (O_TMPFILE): a crash before it
 * is linked leaves nothing behind. */
static int
open_unnamed(const char *path, mode_t mode)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return pst_fail(ENOMEM, "pool: out of memory");
	fd = open(dirname(copy), O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	free(copy);
	if (fd < 0)
		return pst_fail(errno == EISDIR ? EOPNOTSUPP : errno,
				"pool %s: cannot create an unnamed file in its directory (O_TMPFILE): %s",
				path, strerror(errno));
	return fd;
}

struct pst_pool *
pst_pool_create(const struct pst_pool_config *cfg)
{
	struct pst_pool_config open_cfg;
	struct pst_pool *pool;
	char fd_path[64];
	uint32_t buf_size;
	int fd, ret;

	if (check_config(cfg) != 0)
		return NULL;
	if (cfg->buf_count == 0) {
		pst_fail(EINVAL, "pool %s: buffer count must be given", cfg->path);
		return NULL;
	}
	buf_size = cfg->buf_size ? cfg->buf_size : PST_POOL_BUF_SIZE_DEFAULT;
	if (pst_devdax_is(cfg->path)) {
		pst_fail(EEXIST, "pool %s: a Device DAX is not created but formatted in "
			 "place, and only when asked: pst_pool_format() (paste-kvs "
			 "--pool-format)", cfg->path);
		return NULL;
	}
	if (access(cfg->path, F_OK) == 0) {
		pst_fail(EEXIST, "pool %s: file exists, refusing to overwrite", cfg->path);
		return NULL;
	}
	fd = open_unnamed(cfg->path, cfg->file_mode ? cfg->file_mode : 0600);
	if (fd < 0)
		return NULL;
	/* Locked before it has a name: nobody can open the new pool between
	 * its appearance and our open. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		pst_fail(errno, "pool %s: flock: %s", cfg->path, strerror(errno));
		goto fail;
	}
	ret = build_file(fd, cfg, buf_size);
	if (ret != 0)
		goto fail;
	/* linkat() fails if the path appeared meanwhile, where rename() would
	 * silently replace someone else's pool. */
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, fd_path, AT_FDCWD, cfg->path, AT_SYMLINK_FOLLOW) != 0) {
		pst_fail(errno, "pool %s: %s", cfg->path, strerror(errno));
		goto fail;
	}
	sync_parent_dir(cfg->path);

	open_cfg = *cfg;
	open_cfg.buf_size = buf_size;
	pool = pst_pool_open_locked(&open_cfg, fd);
	/* A new pool that cannot be opened (a persist mode refused on this
	 * file) is not left behind. */
	if (pool == NULL)
		unlink(cfg->path);
	return pool;
fail:
	close(fd);
	return NULL;
}

void
pst_pool_close(struct pst_pool *pool)
{
	if (pool == NULL)
		return;
	if (pool->mempool_fini != NULL)
		pool->mempool_fini(pool);
	if (pool->base != NULL) {
		pst_persist_drain(&pool->persist);
		pst_persist_fini(&pool->persist);
		/* A later mapping may reuse the addresses: leave no poison. */
		pst_unpoison(pool->base, pool->map_len);
		pmem_unmap(pool->base, pool->map_len);
	}
	pst_pool_state_fini(pool);
	pst_media_fini(&pool->media);
	if (pool->fd >= 0)
		close(pool->fd);
	free(pool->path);
	free(pool);
}
