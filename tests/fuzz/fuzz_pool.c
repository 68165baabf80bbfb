/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the pool file. Open, verify, recover and reconcile on
 * a mutated pool image.
 *
 * The baseline is a small pool (64 buffers of 256 bytes) with kept, free
 * and released buffers and two root slots claimed (one owner) and set.
 * An input is:
 *   flags (1 byte): 1 fix the header CRC after patching, 2 truncate the
 *                   file, 4 open with the expected geometry (else 0, 0),
 *                   8 reconcile with names built from (index, offset,
 *                   length) bytes (else raw 64-bit names)
 *   patches (fuzz_image.h) over the header page and state bytes
 *   [flags & 2] a 32-bit new file size (modulo the baseline's)
 *   names: up to 64, the rest of the input
 * Invariants: a refused open says one of the documented errors and leaves
 * the file as it was; an open pool verifies; reconcile accepts exactly the
 * valid names and leaves kept exactly the buffers they name, which a
 * reopen finds again; every free buffer can be taken, written and
 * released (under ASan a free buffer is poisoned: reading one fails).
 * Owners: each slot's owner reads as one, none, or PST_ECORRUPT; the
 * baseline's owner claims its two slots again, and when that is refused
 * (PST_EOWNER, PST_ECORRUPT) the file is unchanged and so reconcile is
 * refused too, changing nothing.
 */
#include "fuzz_image.h"
#include "paste_errno.h"
#include "paste_pool.h"

#define BUF_SIZE 256u
#define BUF_COUNT 64u
#define MAX_NAMES 64u
#define OWNER_APP "fuzz"
#define OWNER_KIND "pool"

static struct fz_image img;
static char path[160];

static void
baseline(void)
{
	struct pst_pool_config cfg = { .path = path, .buf_size = BUF_SIZE,
				       .buf_count = BUF_COUNT,
				       .persist_mode = PST_PERSIST_FLUSH };
	struct pst_pool *p;
	uint32_t idx[20];

	fz_path("pool", "pool", path, sizeof(path));
	unlink(path);
	p = pst_pool_create(&cfg);
	if (p == NULL)
		fz_fail("create %s: %s", path, pst_strerror(pst_errno));
	for (unsigned int i = 0; i < 20; i++) {
		if (pst_pool_take(p, &idx[i]) != 0)
			fz_fail("take: %s", pst_strerror(pst_errno));
		memset(pst_pool_buf_addr(p, idx[i]), 'a' + (int)i, BUF_SIZE);
		if (i < 16 && pst_pool_keep(p, idx[i]) != 0)
			fz_fail("keep: %s", pst_strerror(pst_errno));
	}
	for (unsigned int i = 0; i < 20; i++)
		if (i % 4 == 3 && pst_pool_release(p, idx[i]) != 0)
			fz_fail("release: %s", pst_strerror(pst_errno));
	if (pst_pool_root_claim(p, 0, OWNER_APP, OWNER_KIND) != 0 ||
	    pst_pool_root_claim(p, 5, OWNER_APP, OWNER_KIND) != 0 ||
	    pst_pool_root_set(p, 0, pst_name_make(idx[0], 0, 64)) != 0 ||
	    pst_pool_root_set(p, 5, 0x1234) != 0 || pst_pool_drain(p) != 0)
		fz_fail("root/drain: %s", pst_strerror(pst_errno));
	pst_pool_close(p);
	fz_image_load(&img, path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	baseline();
	return 0;
}

static int
documented_open_error(int e)
{
	return e == PST_ETRUNC || e == PST_EFOREIGN || e == PST_EVERSION ||
	       e == PST_ECRC || e == PST_ECORRUPT || e == PST_EGEOMETRY;
}

/* Every free buffer can be taken, written whole and released. */
static void
use_free_buffers(struct pst_pool *p)
{
	struct pst_pool_info info;
	uint32_t *taken, n = 0, i;

	pst_pool_info(p, &info);
	taken = malloc(info.buf_count * sizeof(*taken));
	FZ_CHECK(taken != NULL, "out of memory");
	while (n < info.buf_count && pst_pool_take(p, &taken[n]) == 0) {
		memset(pst_pool_buf_addr(p, taken[n]), 0x5a, info.buf_size);
		n++;
	}
	for (i = 0; i < n; i++)
		FZ_CHECK(pst_pool_release(p, taken[i]) == 0, "release of a taken buffer: %s",
			 pst_strerror(pst_errno));
	FZ_CHECK(pst_pool_drain(p) == 0, "drain: %s", pst_strerror(pst_errno));
	free(taken);
}

/* Reconcile with the input's names, then close @p. */
static void
reconcile(struct pst_pool *p, const struct pst_pool_config *cfg, struct fz_in *in,
	  int built)
{
	static pst_name names[MAX_NAMES];
	struct pst_pool_reconcile_report rep;
	struct pst_pool_info info;
	struct pst_pool_stats st;
	uint64_t distinct = 0;
	uint8_t *named;
	size_t n = 0;
	int valid = 1, ret;

	pst_pool_info(p, &info);
	named = calloc(info.buf_count, 1);
	FZ_CHECK(named != NULL, "out of memory");
	while (n < MAX_NAMES && in->left > 0) {
		pst_name nm;

		if (built) {
			uint32_t index = fz_u8(in) % (BUF_COUNT + 2);
			uint8_t off = fz_u8(in);

			nm = pst_name_make(index, off, fz_u8(in));
		} else {
			nm = fz_u64(in);
		}
		names[n++] = nm;
		if (!pst_pool_name_valid(p, nm))
			valid = 0;
		else if (!named[pst_name_index(nm)]++)
			distinct++;
	}
	free(named);
	ret = pst_pool_reconcile(p, names, n, &rep);
	if (!valid) {
		FZ_CHECK(ret == -EINVAL, "reconcile with an invalid name: %d", ret);
		use_free_buffers(p);
		pst_pool_close(p);
		return;
	}
	FZ_CHECK(ret == 0, "reconcile of valid names: %s", pst_strerror(ret));
	FZ_CHECK(pst_pool_verify(p) == 0, "verify after reconcile: %s",
		 pst_strerror(pst_errno));
	FZ_CHECK(rep.referenced == distinct && rep.kept == distinct,
		 "reconcile kept %llu of %llu named buffers",
		 (unsigned long long)rep.kept, (unsigned long long)distinct);
	use_free_buffers(p);
	pst_pool_close(p);
	/* The reconciled state is what the file says now. */
	p = pst_pool_open(cfg);
	FZ_CHECK(p != NULL, "reopen after reconcile: %s", pst_strerror(pst_errno));
	pst_pool_stats(p, &st);
	FZ_CHECK(st.kept == distinct, "reopened with %llu kept, named %llu",
		 (unsigned long long)st.kept, (unsigned long long)distinct);
	pst_pool_close(p);
}

/* Read every slot's owner, then claim the baseline's two slots.
 * @return 1 when claimed; 0 when refused (reconcile checked refused too,
 * the file unchanged). */
static int
claim_owner(struct pst_pool *p, uint8_t *before, uint8_t *after)
{
	struct pst_pool_stats st0, st1;
	struct pst_pool_owner ow;
	int ret;

	for (unsigned int s = 0; s < PST_POOL_ROOT_SLOTS; s++) {
		ret = pst_pool_root_owner(p, s, &ow);
		FZ_CHECK(ret == 0 || ret == 1 || ret == -PST_ECORRUPT,
			 "owner of slot %u: %d", s, ret);
		FZ_CHECK(ret == 1 || (ow.app[0] == '\0' && ow.kind[0] == '\0'),
			 "slot %u: an owner's name without an owner", s);
		FZ_CHECK(ret != 1 || (ow.app[0] != '\0' &&
				      memchr(ow.app, '\0', sizeof(ow.app)) != NULL &&
				      memchr(ow.kind, '\0', sizeof(ow.kind)) != NULL),
			 "slot %u: owner names not terminated", s);
	}
	fz_image_read_meta(&img, before);
	ret = pst_pool_root_claim(p, 0, OWNER_APP, OWNER_KIND);
	if (ret == 0) {
		/* Slot 0's claim may have rewritten a torn record: the rest
		 * is what a refused claim of slot 5 must leave alone. */
		fz_image_read_meta(&img, before);
		ret = pst_pool_root_claim(p, 5, OWNER_APP, OWNER_KIND);
	}
	if (ret == 0)
		return 1;
	FZ_CHECK(ret == -PST_EOWNER || ret == -PST_ECORRUPT, "claim refused with %d (%s)",
		 ret, pst_strerror(ret));
	pst_pool_stats(p, &st0);
	ret = pst_pool_reconcile(p, NULL, 0, NULL);
	FZ_CHECK(ret == -PST_EOWNER || ret == -PST_ECORRUPT,
		 "reconcile after a refused claim: %d (%s)", ret, pst_strerror(ret));
	pst_pool_stats(p, &st1);
	FZ_CHECK(st1.kept == st0.kept && st1.flushes == st0.flushes,
		 "a refused reconcile changed the pool");
	fz_image_read_meta(&img, after);
	FZ_CHECK(memcmp(before, after, img.meta_len) == 0,
		 "a refused claim or reconcile modified the file");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct pst_pool_config cfg = { .path = path, .persist_mode = PST_PERSIST_FLUSH };
	static uint8_t before[4096 + BUF_COUNT], after[4096 + BUF_COUNT];
	uint8_t flags = fz_u8(&in);
	int truncated = 0;
	struct pst_pool *p;
	uint64_t root;

	fz_image_restore(&img);
	fz_image_patch(&img, &in, 16, 0);
	if (flags & 1)
		fz_image_fix_crc(&img);
	if (flags & 2) {
		off_t len = (off_t)(fz_u32(&in) % (uint64_t)img.file_size);

		if (ftruncate(img.fd, len) != 0)
			fz_fail("ftruncate: %s", strerror(errno));
		truncated = len < (off_t)img.meta_len;
	}
	if (flags & 4) {
		cfg.buf_size = BUF_SIZE;
		cfg.buf_count = BUF_COUNT;
	}
	if (!truncated)
		fz_image_read_meta(&img, before);
	p = pst_pool_open(&cfg);
	if (p == NULL) {
		FZ_CHECK(documented_open_error(pst_errno), "open refused with %d (%s)",
			 pst_errno, pst_strerror(pst_errno));
		if (!truncated) {
			fz_image_read_meta(&img, after);
			FZ_CHECK(memcmp(before, after, img.meta_len) == 0,
				 "a refused open modified the file");
		}
		return 0;
	}
	FZ_CHECK(pst_pool_verify(p) == 0, "verify after open: %s", pst_strerror(pst_errno));
	for (unsigned int s = 0; s < PST_POOL_ROOT_SLOTS; s++)
		FZ_CHECK(pst_pool_root_get(p, s, &root) == 0, "root slot %u", s);
	FZ_CHECK(pst_pool_root_get(p, PST_POOL_ROOT_SLOTS, &root) == -EINVAL,
		 "root slot past the last accepted");
	if (!claim_owner(p, before, after)) {
		pst_pool_close(p);
		return 0;
	}
	reconcile(p, &cfg, &in, flags & 8);
	return 0;
}
