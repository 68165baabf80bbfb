/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen: latency histogram. Below 2^LG_HIST_SUB ns a bucket per
 * nanosecond; above, each power of two split into 2^LG_HIST_SUB buckets
 * (about 3% wide), as HdrHistogram does: adding is a few instructions and
 * the memory is fixed whatever the run's length.
 */
#include "loadgen.h"

#define SUB_N (1u << LG_HIST_SUB)
#define N_BUCKETS ((unsigned int)LG_HIST_POW << LG_HIST_SUB)

static unsigned int
bucket_of(uint64_t ns)
{
	unsigned int e, idx;

	if (ns < SUB_N)
		return (unsigned int)ns;
	e = 63u - (unsigned int)__builtin_clzll(ns);
	idx = ((e - LG_HIST_SUB + 1) << LG_HIST_SUB) +
	      (unsigned int)((ns >> (e - LG_HIST_SUB)) - SUB_N);
	return idx < N_BUCKETS ? idx : N_BUCKETS - 1;
}

/* The largest value bucket @idx holds. */
static uint64_t
bucket_top(unsigned int idx)
{
	unsigned int g = idx >> LG_HIST_SUB;
	uint64_t m = (idx & (SUB_N - 1)) + SUB_N;

	if (g == 0)
		return idx;
	return ((m + 1) << (g - 1)) - 1;
}

void
lg_hist_add(struct lg_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

uint64_t
lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t rank, seen = 0, top;
	unsigned int i;

	if (h->count == 0)
		return 0;
	/* The smallest value with at least q of the samples at or under it. */
	rank = (uint64_t)(q * (double)h->count + 0.5);
	if (rank < 1)
		rank = 1;
	/* The last sample is the maximum, known exactly; so is anything in
	 * the last bucket, which also holds what lies beyond it. */
	if (rank >= h->count)
		return h->max_ns;
	for (i = 0; i < N_BUCKETS - 1; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			top = bucket_top(i);
			return top < h->max_ns ? top : h->max_ns;
		}
	}
	return h->max_ns;
}
