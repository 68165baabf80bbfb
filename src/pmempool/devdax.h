/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DAX: telling a device from a file, its size and alignment, and
 * its known bad blocks, all from sysfs. PST_TEST_DEVDAX ("PATH=DIR") makes
 * the regular file PATH count as a device whose sysfs directory is DIR, so
 * a machine without persistent memory runs every step but the
 * character-device check and libpmem's device mapping.
 */
#ifndef PST_DEVDAX_H
#define PST_DEVDAX_H

#include <stdint.h>
#include <sys/stat.h>

#define PST_DEVDAX_TEST_ENV "PST_TEST_DEVDAX"

struct pst_bad_range {
	uint64_t off;           /* bytes from the start of the device */
	uint64_t len;
};

/* What the pool knows of its medium; all zero for a pool file. */
struct pst_media {
	int devdax;
	char *sysdir;           /* the device's sysfs directory */
	uint64_t dev_size;
	uint64_t dev_align;
	struct pst_bad_range *bad;
	uint64_t n_bad;
	uint8_t *bad_buf;       /* per buffer: on a bad range; NULL if none */
	uint64_t n_bad_bufs;
};

/* 1 and @m filled (devdax, sysdir, size, align) if @path (open as @fd,
 * @st) is a Device DAX, 0 if not, or a negative errno. */
int pst_devdax_probe(const char *path, const struct stat *st, struct pst_media *m);

/* 1 if @path names a Device DAX, without opening it. */
int pst_devdax_is(const char *path);

/* Read the device's bad blocks into @m (ranges inside the device only).
 * 0 or a negative errno. */
int pst_devdax_badblocks(const char *path, struct pst_media *m);

/* 1 if [off, off+len) of the device overlaps a known bad range. */
int pst_media_overlaps_bad(const struct pst_media *m, uint64_t off, uint64_t len);

void pst_media_fini(struct pst_media *m);

#endif /* PST_DEVDAX_H */
