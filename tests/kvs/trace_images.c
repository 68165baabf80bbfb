/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash images from a persistence trace of a whole paste-kvs run
 * (src/pmempool/persist_trace.h: PASTE_PERSIST_TRACE), for
 * tests/kvs/test_kvs_power.sh.
 *
 * Usage:
 *   kvs_trace_images write TRACE OUTDIR SEED COUNT
 *   kvs_trace_images recover TRACE WORKDIR SEED COUNT INDEX KEYS
 *
 * Both pick COUNT drain records (seeded, one at random in each of COUNT
 * equal stretches of the trace; with more images than records, several of
 * one record) and build, for each, the image a power
 * loss in that record's epoch may leave: the state after the earlier
 * records' DURABLE lines plus a subset of the 8-byte words of this
 * record's lines (flushed or not), at random or adversarially, the modes
 * taking turns (trace_image.h).
 *
 * write: each image to OUTDIR/image-NNNN.pool, one line per image:
 *   image PATH record R drains D t_lo NS t_hi NS mode NAME words W of N
 * recover: each image recovered in-process with paste-kvs's own store,
 * index (wal or btree) and pool code (trace_recover.c), one line per image:
 *   map R t_hi NS mode NAME words W of N fallbacks F keys: K:ID:LEN:FNV:DL ...
 * for the client to check (power_client.py check-maps), then a summary.
 *
 * A power loss in (t_lo, t_hi]: every reply received before t_hi was sent
 * after a drain no later than t_lo's, so its operation is in the image;
 * nothing sent after t_hi is. Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_index.h"
#include "pool_layout.h"
#include "trace_image.h"
#include "trace_recover.h"

struct opts {
	int recover;
	const char *trace, *dir;
	uint64_t seed;
	size_t count;
	const struct kv_index_ops *ops; /* recover */
	uint32_t keys;
};

static int
usage(const char *prog)
{
	fprintf(stderr, "usage: %s write TRACE OUTDIR SEED COUNT\n"
		"       %s recover TRACE WORKDIR SEED COUNT wal|btree KEYS\n", prog, prog);
	return 2;
}

static int
parse(int argc, char **argv, struct opts *o)
{
	if (argc < 6)
		return -1;
	o->recover = strcmp(argv[1], "recover") == 0;
	if (!o->recover && (strcmp(argv[1], "write") != 0 || argc != 6))
		return -1;
	o->trace = argv[2];
	o->dir = argv[3];
	o->seed = strtoull(argv[4], NULL, 0);
	o->count = strtoull(argv[5], NULL, 0);
	if (!o->recover)
		return o->count > 0 ? 0 : -1;
	if (argc != 8)
		return -1;
	o->ops = strcmp(argv[6], "wal") == 0 ? &kv_index_wal :
		 strcmp(argv[6], "btree") == 0 ? &kv_index_btree : NULL;
	o->keys = (uint32_t)strtoul(argv[7], NULL, 0);
	return o->ops != NULL && o->keys > 0 && o->keys <= TRACE_RECOVER_KEYS_MAX &&
	       o->count > 0 ? 0 : -1;
}

static uint64_t
wal_root(const uint8_t *state)
{
	uint64_t v;

	memcpy(&v, state + PST_POOL_ROOTS_OFFSET + 8u * KV_ROOT_WAL, 8);
	return v;
}

/* Image number @i, of record @r's epoch: written out, or recovered. */
static int
one_image(const struct opts *o, const struct trace *t, size_t r, size_t i,
	  const uint8_t *state, uint8_t *img, uint64_t *rs,
	  struct trace_recover_counts *rc)
{
	struct trace_pick p = { .mode = (enum trace_mode)(i % TRACE_M_COUNT) };
	char path[4096];

	trace_build(t, r, state, img, &p, rs);
	if (o->recover)
		snprintf(path, sizeof(path), "%s/recover.pool", o->dir);
	else
		snprintf(path, sizeof(path), "%s/image-%04zu.pool", o->dir, i);
	if (trace_write_file(path, img, t->len) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!o->recover) {
		printf("image %s record %zu drains %" PRIu64 " t_lo %" PRIu64
		       " t_hi %" PRIu64 " mode %s words %" PRIu64 " of %" PRIu64 "\n",
		       path, r, trace_rec_drains(t, r),
		       r > 0 ? trace_rec_time(t, r - 1) : t->t_start,
		       trace_rec_time(t, r), trace_mode_name(p.mode), p.taken, p.words);
		return 0;
	}
	printf("map %zu t_hi %" PRIu64 " mode %s words %" PRIu64 " of %" PRIu64, r,
	       trace_rec_time(t, r), trace_mode_name(p.mode), p.taken, p.words);
	/* A failure is printed and counted; the other images still run. */
	(void)trace_recover_image(path, o->ops, o->keys, stdout, rc);
	remove(path);
	return 0;
}

int
main(int argc, char **argv)
{
	struct trace t = { 0 };
	struct trace_recover_counts rc = { 0 };
	struct opts o = { 0 };
	uint64_t rs, roots = 0;
	size_t next = 0, *pick;
	uint8_t *state, *img;

	if (parse(argc, argv, &o) != 0)
		return usage(argv[0]);
	rs = o.seed;
	if (trace_load(&t, o.trace) != 0)
		return 1;
	if (t.n_rec == 0) {
		fprintf(stderr, "%s: no drain record\n", o.trace);
		return 1;
	}
	pick = malloc(o.count * sizeof(*pick));
	state = malloc(t.len);
	img = malloc(t.len);
	if (pick == NULL || state == NULL || img == NULL)
		return 1;
	for (size_t i = 0; i < o.count; i++) {
		size_t lo = t.n_rec * i / o.count, hi = t.n_rec * (i + 1) / o.count;

		/* More images than records: several subsets of one epoch. */
		pick[i] = hi > lo ? lo + trace_rndu(&rs, (uint32_t)(hi - lo)) : lo;
	}
	printf("trace %s: %zu drain records, seed %" PRIu64 "\n", o.trace, t.n_rec, o.seed);
	memcpy(state, t.image, t.len);
	for (size_t r = 0; r < t.n_rec; r++) {
		uint64_t root = wal_root(state);

		for (; next < o.count && pick[next] == r; next++)
			if (one_image(&o, &t, r, next, state, img, &rs, &rc) != 0)
				return 1;
		trace_apply_durable(&t, r, state);
		roots += wal_root(state) != root;
	}
	/* The wal's root slot moves when the log is created and at each
	 * compaction. */
	printf("trace %s: the wal root slot moved %" PRIu64 " times\n", o.trace, roots);
	if (o.recover)
		printf("recovered %zu images in-process (index %s): %" PRIu64 " keys read, "
		       "%" PRIu64 " fallbacks, %" PRIu64 " cut values, %" PRIu64
		       " free buffers scribbled, %" PRIu64 " failures\n", next, o.ops->name,
		       rc.keys, rc.fallbacks, rc.cut_values, rc.scribbled, rc.failures);
	free(pick);
	free(state);
	free(img);
	trace_free(&t);
	return rc.failures ? 1 : 0;
}
