/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A pool file the fuzz targets mutate: a baseline built once per process,
 * restored before every input, then patched as the input says. Only the
 * parts a pool ever uses are kept and restored (the header page, the state
 * bytes, the buffers): the gap up to the 2 MiB aligned buffers stays zero.
 *
 * Patches are read from the input: a count, then per patch a 32-bit
 * offset into "the used parts" (metadata, then buffers when asked) and up
 * to 16 bytes.
 */
#ifndef PST_FUZZ_IMAGE_H
#define PST_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "paste_pool.h"
#include "pool_layout.h"

struct fz_image {
	int fd;
	off_t file_size;
	size_t meta_len;          /* header page and state bytes */
	uint64_t bufs_off;
	size_t bufs_len;
	uint8_t *meta, *bufs;     /* baseline contents */
};

/* Remember the file at @path (a closed pool) as the baseline. */
static __attribute__((unused)) void
fz_image_load(struct fz_image *img, const char *path)
{
	struct pst_pool_header h;
	struct stat st;

	img->fd = open(path, O_RDWR);
	if (img->fd < 0 || fstat(img->fd, &st) != 0)
		fz_fail("open %s: %s", path, strerror(errno));
	fz_pread(img->fd, &h, sizeof(h), 0);
	img->file_size = st.st_size;
	img->meta_len = (size_t)(h.state_offset + h.buf_count);
	img->bufs_off = h.bufs_offset;
	img->bufs_len = (size_t)(h.buf_count * h.buf_size);
	img->meta = malloc(img->meta_len);
	img->bufs = malloc(img->bufs_len);
	if (img->meta == NULL || img->bufs == NULL)
		fz_fail("out of memory for the baseline image");
	fz_pread(img->fd, img->meta, img->meta_len, 0);
	fz_pread(img->fd, img->bufs, img->bufs_len, (off_t)img->bufs_off);
}

/* Back to the baseline (size and contents). */
static __attribute__((unused)) void
fz_image_restore(struct fz_image *img)
{
	struct stat st;

	if (fstat(img->fd, &st) != 0 || st.st_size != img->file_size) {
		if (ftruncate(img->fd, 0) != 0 || ftruncate(img->fd, img->file_size) != 0)
			fz_fail("ftruncate: %s", strerror(errno));
	}
	fz_pwrite(img->fd, img->meta, img->meta_len, 0);
	fz_pwrite(img->fd, img->bufs, img->bufs_len, (off_t)img->bufs_off);
}

/* Apply the input's patches (at most @max); @with_bufs: the buffers may be
 * patched too, not only the metadata. */
static __attribute__((unused)) void
fz_image_patch(struct fz_image *img, struct fz_in *in, unsigned int max, int with_bufs)
{
	unsigned int n = fz_u8(in) % (max + 1);
	size_t span = img->meta_len + (with_bufs ? img->bufs_len : 0);

	for (unsigned int i = 0; i < n && in->left > 0; i++) {
		size_t off = fz_u32(in) % span;
		uint8_t b[16];
		size_t len = 1 + fz_u8(in) % sizeof(b);
		off_t at;

		len = fz_bytes(in, b, len);
		if (off < img->meta_len) {
			if (len > img->meta_len - off)
				len = img->meta_len - off;
			at = (off_t)off;
		} else {
			off -= img->meta_len;
			if (len > img->bufs_len - off)
				len = img->bufs_len - off;
			at = (off_t)(img->bufs_off + off);
		}
		fz_pwrite(img->fd, b, len, at);
	}
}

/* Make the header's CRC match whatever the patches left, so that the
 * checks behind the CRC see contradictory fields too. */
static __attribute__((unused)) void
fz_image_fix_crc(struct fz_image *img)
{
	struct pst_pool_header h;

	fz_pread(img->fd, &h, sizeof(h), 0);
	h.header_crc = pst_crc32c(&h, offsetof(struct pst_pool_header, header_crc));
	fz_pwrite(img->fd, &h, sizeof(h), 0);
}

/* The current metadata bytes into @dst (meta_len bytes). */
static __attribute__((unused)) void
fz_image_read_meta(struct fz_image *img, uint8_t *dst)
{
	fz_pread(img->fd, dst, img->meta_len, 0);
}

#endif /* PST_FUZZ_IMAGE_H */
