/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DAX facts from sysfs. The sysfs tree of a device dax (Linux's
 * drivers/dax and drivers/nvdimm):
 *
 *   /sys/dev/char/MAJ:MIN -> .../regionN/daxN.M/daxN.M   the device: size, align
 *   .../regionN/daxN.M                                    its namespace: resource,
 *                                                         where the data starts
 *   .../regionN                                           resource, badblocks
 *
 * The region's badblocks lists "sector count" pairs in 512-byte sectors
 * from the region's start; a range matters to the pool where it falls
 * inside the device's data. Where PMDK's libpmem2 finds them too
 * (pmem2_badblock_*: the region's list, cut to the namespace).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "devdax.h"
#include "error.h"

#define SECTOR 512u

/* The sysfs directory PST_TEST_DEVDAX gives @path, or NULL. */
static const char *
test_sysdir(const char *path)
{
	const char *env = getenv(PST_DEVDAX_TEST_ENV);
	size_t n = strlen(path);

	if (env == NULL || strncmp(env, path, n) != 0 || env[n] != '=')
		return NULL;
	return env + n + 1;
}

static int
read_u64(const char *dir, const char *name, uint64_t *v)
{
	char p[PATH_MAX], text[64], *end;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "re");
	if (f == NULL)
		return -errno;
	if (fgets(text, sizeof(text), f) == NULL) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	errno = 0;
	*v = strtoull(text, &end, 0);
	if (errno != 0 || end == text)
		return -EIO;
	return 0;
}

/* The device directory of a character device, if its subsystem is dax. */
static char *
char_sysdir(const struct stat *st)
{
	char link[64], sub[PATH_MAX], *dir, *real;
	const char *base;

	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u", major(st->st_rdev),
		 minor(st->st_rdev));
	dir = realpath(link, NULL);
	if (dir == NULL)
		return NULL;
	snprintf(sub, sizeof(sub), "%s/subsystem", dir);
	real = realpath(sub, NULL);
	base = real != NULL ? strrchr(real, '/') : NULL;
	if (base == NULL || strcmp(base, "/dax") != 0) {
		free(dir);
		dir = NULL;
	}
	free(real);
	return dir;
}

int
pst_devdax_probe(const char *path, const struct stat *st, struct pst_media *m)
{
	const char *test = test_sysdir(path);
	int ret;

	if (test != NULL)
		m->sysdir = strdup(test);
	else if (S_ISCHR(st->st_mode))
		m->sysdir = char_sysdir(st);
	else
		return 0;
	if (m->sysdir == NULL) {
		if (test != NULL)
			return pst_fail(ENOMEM, "pool %s: out of memory", path);
		return pst_fail(EINVAL, "pool %s: a character device that is not a Device DAX", path);
	}
	ret = read_u64(m->sysdir, "size", &m->dev_size);
	if (ret == 0)
		ret = read_u64(m->sysdir, "align", &m->dev_align);
	if (ret != 0) {
		ret = pst_fail(-ret, "pool %s: Device DAX: cannot read size and align in %s: %s",
			       path, m->sysdir, strerror(-ret));
		free(m->sysdir);
		m->sysdir = NULL;
		return ret;
	}
	m->devdax = 1;
	return 1;
}

int
pst_devdax_is(const char *path)
{
	struct pst_media m = {0};
	struct stat st;
	int ret;

	if (stat(path, &st) != 0)
		return 0;
	ret = pst_devdax_probe(path, &st, &m);
	pst_media_fini(&m);
	return ret == 1;
}

static int
push_bad(struct pst_media *m, uint64_t off, uint64_t len)
{
	struct pst_bad_range *b = realloc(m->bad, (m->n_bad + 1) * sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	m->bad = b;
	b[m->n_bad].off = off;
	b[m->n_bad].len = len;
	m->n_bad++;
	return 0;
}

int
pst_devdax_badblocks(const char *path, struct pst_media *m)
{
	char nd[PATH_MAX], region[PATH_MAX], p[PATH_MAX + 16];
	uint64_t region_start, data_start, sector, count;
	FILE *f;
	int ret = 0;

	snprintf(nd, sizeof(nd), "%s/..", m->sysdir);
	snprintf(region, sizeof(region), "%s/../..", m->sysdir);
	snprintf(p, sizeof(p), "%s/badblocks", region);
	f = fopen(p, "re");
	if (f == NULL) {
		/* A device dax not on an nvdimm region (e.g. hmem) has no
		 * list: nothing known to be bad. */
		return 0;
	}
	/* The device's own resource where the kernel has it, else its
	 * namespace's (the data start, past the namespace's metadata). */
	if (read_u64(m->sysdir, "resource", &data_start) != 0 &&
	    read_u64(nd, "resource", &data_start) != 0) {
		fclose(f);
		return pst_fail(EIO, "pool %s: Device DAX: no resource in %s or its parent: "
				"cannot place the region's bad blocks", path, m->sysdir);
	}
	if (read_u64(region, "resource", &region_start) != 0 || data_start < region_start) {
		fclose(f);
		return pst_fail(EIO, "pool %s: Device DAX: bad region resource above %s",
				path, m->sysdir);
	}
	while (ret == 0 && fscanf(f, "%llu %llu", (unsigned long long *)&sector,
				  (unsigned long long *)&count) == 2) {
		uint64_t lo = sector * SECTOR, hi = lo + count * SECTOR;
		uint64_t base = data_start - region_start;

		if (hi <= base || lo >= base + m->dev_size)
			continue;
		lo = lo < base ? 0 : lo - base;
		hi = hi - base > m->dev_size ? m->dev_size : hi - base;
		ret = push_bad(m, lo, hi - lo);
	}
	fclose(f);
	if (ret != 0)
		return pst_fail(-ret, "pool %s: out of memory for bad blocks", path);
	return 0;
}

int
pst_media_overlaps_bad(const struct pst_media *m, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < m->n_bad; i++)
		if (m->bad[i].off < off + len && off < m->bad[i].off + m->bad[i].len)
			return 1;
	return 0;
}

void
pst_media_fini(struct pst_media *m)
{
	free(m->sysdir);
	free(m->bad);
	free(m->bad_buf);
	m->sysdir = NULL;
	m->bad = NULL;
	m->bad_buf = NULL;
	m->n_bad = 0;
	m->n_bad_bufs = 0;
}
