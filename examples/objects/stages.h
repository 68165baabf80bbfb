/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects and linux-objects (bench/linux-objects): where a server's
 * cycles go per byte stored and sent (--stage-cycles), counted with the
 * CPU's cycle counter around each stage of an upload: hashing (MD5 for
 * the ETag, SHA-256 when the payload is signed), flushing the bytes, the
 * copy into pool buffers (linux-objects only; paste-objects keeps them
 * where they arrived), keeping the buffers (paste-objects: the received
 * buffers swapped out of the mempool; linux-objects: pst_pool_take and
 * pst_pool_keep), the object record (of which its CRC). The rest of a
 * server's busy time is the network and the protocol.
 */
#ifndef OBJ_STAGES_H
#define OBJ_STAGES_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

struct obj_stages {
	int on;                         /* counted only when set */
	uint64_t md5, sha256, flush, copy, keep, record, crc;
	uint64_t bytes_stored;          /* object bytes received and kept */
	uint64_t bytes_sent;            /* object bytes queued to GETs */
	/* paste-objects: the thread's CPU time in busy polls (the time the
	 * core was taken from it left out, which the cycle counter counts),
	 * the polls it was read in, and what one read costs. */
	uint64_t busy_cpu_ns, busy_cpu_polls, cpu_clock_ns;
};

/* CLOCK_THREAD_CPUTIME_ID in nanoseconds. */
uint64_t obj_thread_cpu_ns(void);

/* What one obj_thread_cpu_ns() costs, in CPU nanoseconds (the least of a
 * few rounds of 1,000 reads). */
uint64_t obj_thread_cpu_cost_ns(void);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t obj_cycles_ns(void);

/* The cycle counter (TSC on x86), or nanoseconds where there is none. */
static inline uint64_t
obj_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return obj_cycles_ns();
#endif
}

/* obj_cycles() when @s counts, else 0 (a counter read costs a visible
 * share of a small request). */
static inline uint64_t
obj_stage_clock(const struct obj_stages *s)
{
	return s != NULL && s->on ? obj_cycles() : 0;
}

/* The final steps of an upload's hashes, begun at @t0: counted as MD5
 * (and SHA-256 when @sha256, the two halves alike). */
static inline void
obj_stages_hashed(struct obj_stages *s, uint64_t t0, int sha256)
{
	uint64_t d;

	if (!s->on)
		return;
	d = obj_cycles() - t0;
	if (sha256) {
		s->sha256 += d / 2;
		d -= d / 2;
	}
	s->md5 += d;
}

/* Ticks of obj_cycles() per second, measured against CLOCK_MONOTONIC over
 * about 20 ms (once; later calls return the first answer). */
uint64_t obj_cycles_hz(void);

struct obj_store;

/* The "stages:" line both servers print (bench/lib/objbench.py reads it):
 * totals since the start, in obj_cycles() ticks (@hz a second): the busy
 * time @busy (the server's work, its waits for input left out) and of it
 * @drain, the stages, the bytes stored and sent, the pool's kept buffers
 * and the bytes of the objects the store holds. */
void obj_stages_print(const struct obj_store *st, uint64_t busy, uint64_t drain, uint64_t hz);

#endif /* OBJ_STAGES_H */
