/* SPDX-License-Identifier: BSD-3-Clause */
/* The cycle counter's rate and the "stages:" line (stages.h). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "ostore.h"
#include "stages.h"

uint64_t
obj_cycles_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
obj_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
obj_thread_cpu_cost_ns(void)
{
	uint64_t best = UINT64_MAX, t0, t1;
	int r, i;

	for (r = 0; r < 5; r++) {
		t0 = obj_thread_cpu_ns();
		for (i = 0; i < 1000; i++)
			(void)obj_thread_cpu_ns();
		t1 = obj_thread_cpu_ns();
		if ((t1 - t0) / 1001 < best)
			best = (t1 - t0) / 1001;
	}
	return best;
}

uint64_t
obj_cycles_hz(void)
{
	static uint64_t hz;
	uint64_t c0, c1, n0, n1;

	if (hz != 0)
		return hz;
	n0 = obj_cycles_ns();
	c0 = obj_cycles();
	do
		n1 = obj_cycles_ns();
	while (n1 - n0 < 20000000u);
	c1 = obj_cycles();
	hz = (uint64_t)((double)(c1 - c0) * 1e9 / (double)(n1 - n0));
	return hz;
}

void
obj_stages_print(const struct obj_store *st, uint64_t busy, uint64_t drain, uint64_t hz)
{
	const struct obj_stages *s = &st->stages;
	struct pst_pool_levels lv;
	uint64_t object_bytes = 0;
	size_t i;

	for (i = 0; i < st->n_objs; i++)
		object_bytes += st->objs[i].v->size;
	pst_pool_levels(st->pool, &lv);
	printf("stages: busy=%" PRIu64 " hz=%" PRIu64 " drain=%" PRIu64 " md5=%" PRIu64
	       " sha256=%" PRIu64 " flush=%" PRIu64 " copy=%" PRIu64 " keep=%" PRIu64
	       " record=%" PRIu64 " crc=%" PRIu64 " bytes_stored=%" PRIu64 " bytes_sent=%" PRIu64
	       " pool_kept=%" PRIu64 " buf_size=%u objects=%zu object_bytes=%" PRIu64 " puts=%" PRIu64
	       " busy_cpu_ns=%" PRIu64 " busy_cpu_polls=%" PRIu64 " cpu_clock_ns=%" PRIu64 "\n", busy, hz, drain, s->md5, s->sha256, s->flush, s->copy, s->keep, s->record,
	       s->crc, s->bytes_stored, s->bytes_sent, lv.kept, st->buf_size, st->n_objs,
	       object_bytes, st->puts, s->busy_cpu_ns, s->busy_cpu_polls, s->cpu_clock_ns);
	fflush(stdout);
}
