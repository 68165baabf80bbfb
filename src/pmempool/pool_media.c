/* SPDX-License-Identifier: BSD-3-Clause */
/* Device DAX pools and media errors: interface only, not implemented yet. */
#include <errno.h>
#include <stddef.h>

#include "error.h"
#include "paste_media.h"

struct pst_pool *
pst_pool_format(const struct pst_pool_config *cfg)
{
	(void)cfg;
	pst_fail(ENOSYS, "pool format: not implemented");
	return NULL;
}

int
pst_pool_media_info(const struct pst_pool *pool, struct pst_pool_media *m)
{
	(void)pool;
	(void)m;
	return pst_fail(ENOSYS, "media info: not implemented");
}

int
pst_pool_name_bad(const struct pst_pool *pool, pst_name name)
{
	(void)pool;
	(void)name;
	return 0;
}

int
pst_media_guard_begin(void)
{
	return 0;
}

void
pst_media_guard_end(void)
{
}

int
pst_media_read(void *dst, const void *src, size_t len)
{
	(void)dst;
	(void)src;
	(void)len;
	return pst_fail(ENOSYS, "media read: not implemented");
}

int
pst_media_crc32c(const void *src, size_t len, uint32_t *crc)
{
	(void)src;
	(void)len;
	(void)crc;
	return pst_fail(ENOSYS, "media crc: not implemented");
}
