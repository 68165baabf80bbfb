/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen --auto-shape: connections, pipeline depth and keyspace for
 * a value size, so that what is in flight and what is stored fit the pools
 * on both sides. The same -c 50 that suits 64-byte values puts 50 MiB of
 * 1 MiB SETs in flight, more than a server's windows and a generator's
 * pool take; a keyspace of 10000 1 MiB values is 10 GB, more than the
 * server's store.
 *
 * The rule (also in the usage and doc/benchmarks.md), with a pool buffer
 * counted as LG_SHAPE_BUF_BYTES bytes of payload:
 *  - in flight: c x P x (d + SHAPE_REQ_BYTES) at most 1/16 of the smaller
 *    of the two pools (--pool-bufs, --server-bufs): a stack grants one
 *    connection at most 1/16 of its buffers by default, so all the
 *    requests together fit one connection's window, on either side;
 *    connections first (up to SHAPE_CONNS), then depth (up to SHAPE_DEPTH);
 *  - stored: r values of d bytes, each counted as whole buffers (a small
 *    value may pin a buffer of its own), at most 1/4 of --server-bufs:
 *    the rest is for windows, for values being replaced (the new one is
 *    stored before the old is released) and the stack's reserve; at most
 *    SHAPE_KEYS.
 * What the command line gives is kept; the others are chosen.
 */
#include <inttypes.h>
#include <stdio.h>

#include "loadgen.h"

/* A request's bytes besides its value (RESP framing, the key). */
#define SHAPE_REQ_BYTES 64u
#define SHAPE_CONNS 16u
#define SHAPE_DEPTH 32u
/* More keys than this change nothing the benchmark looks at. */
#define SHAPE_KEYS 10000u

static uint64_t
clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void
lg_auto_shape(struct lg_opts *o, FILE *out)
{
	uint64_t pool = o->pool_bufs < o->server_bufs ? o->pool_bufs : o->server_bufs;
	uint64_t flight = pool * LG_SHAPE_BUF_BYTES / 16;
	uint64_t req = (uint64_t)o->value_size + SHAPE_REQ_BYTES;
	uint64_t slots = clamp(flight / req, 1, UINT64_MAX);
	uint64_t store_bufs = o->server_bufs / 4;
	uint64_t value_bufs = ((uint64_t)o->value_size + LG_SHAPE_BUF_BYTES - 1) /
			      LG_SHAPE_BUF_BYTES;

	if (value_bufs == 0)
		value_bufs = 1;
	if (!o->given_conns)
		o->conns = (uint32_t)clamp(o->given_pipeline ? slots / o->pipeline : slots, 1,
					   SHAPE_CONNS);
	if (!o->given_pipeline)
		o->pipeline = (uint32_t)clamp(slots / o->conns, 1, SHAPE_DEPTH);
	if (!o->given_keyspace)
		o->keyspace = clamp(store_bufs / value_bufs, 1, SHAPE_KEYS);
	fprintf(out, "%s: auto-shape for -d %" PRIu32 ": -c %" PRIu32 " -P %" PRIu32
		" -r %" PRIu64 " (in flight %" PRIu64 " B, budget %" PRIu64 " B: 1/16 of %"
		PRIu64 " buffers; stored %" PRIu64 " buffers, budget %" PRIu64
		": 1/4 of --server-bufs %" PRIu64 ")\n", LG_PROG, o->value_size, o->conns,
		o->pipeline, o->keyspace, (uint64_t)o->conns * o->pipeline * req, flight, pool,
		o->keyspace * value_bufs, store_bufs, o->server_bufs);
}
