/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcpy-time: what copying a value of N bytes costs on this machine, the
 * yardstick of issue 23's "the whole copy is saved" (a zero-copy SET's
 * server time at most the copying SET's less one copy of its value).
 *
 *   build/bench/memcpy-time [--piece N] [--region MiB] SIZE...
 *
 * For each SIZE, two figures, nanoseconds of this thread's CPU time per
 * copy of SIZE bytes (the least over several batches, so that neither
 * preemption nor a batch's cold start counts):
 *
 *   warm:  source and destination the same SIZE bytes every time (both in
 *          cache as far as they fit): the copy's own cost;
 *   cold:  the source warm, the destination moving on through a region of
 *          --region MiB (default 512, larger than the last-level cache), as
 *          paste-kvs --copy writes a received value into pool buffers it
 *          has not touched lately.
 *
 * The source is copied in pieces of --piece bytes (default 1448, a TCP
 * segment's payload), as --copy copies a value out of its segments; the
 * destination is contiguous. Prints a table, then one JSON line:
 *
 *   {"tool": "memcpy-time", "piece": 1448, "region_mib": 512,
 *    "results": [{"size": N, "warm_ns": ..., "cold_ns": ...}, ...]}
 *
 * Informational: timings on a shared machine, never a pass/fail test.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BATCHES 9
#define BATCH_NS 20000000.0 /* about 20 ms of copying per batch */
#define MAX_SIZES 32

struct figure {
	size_t size;
	double warm_ns, cold_ns;
};

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One value's copy, piece by piece from src into dst. The asm barrier
 * keeps the compiler from proving the repeated copies dead. */
static void copy_value(unsigned char *dst, const unsigned char *src, size_t size, size_t piece)
{
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;

		memcpy(dst + off, src + off, n);
	}
	__asm__ volatile("" : : "r"(dst) : "memory");
}

/* Least nanoseconds per copy over BATCHES batches. dst_span: the bytes
 * the destination moves through (size: always the same place). */
static double time_copies(unsigned char *dst, size_t dst_span, const unsigned char *src,
			  size_t size, size_t piece)
{
	size_t slots = dst_span / size;
	unsigned char *d = dst, *end = dst + slots * size;
	double best = 0;
	long iters = 1;

	/* Calibrate the batch to about BATCH_NS. */
	for (;;) {
		double t0 = thread_ns();

		for (long i = 0; i < iters; i++) {
			copy_value(d, src, size, piece);
			d = d + size == end ? dst : d + size;
		}
		double t = thread_ns() - t0;
		if (t >= BATCH_NS / 4 || iters >= (1L << 30))
			break;
		iters *= 2;
	}
	iters = iters * 4;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = thread_ns();

		for (long i = 0; i < iters; i++) {
			copy_value(d, src, size, piece);
			d = d + size == end ? dst : d + size;
		}
		double per = (thread_ns() - t0) / (double)iters;
		if (b == 0 || per < best)
			best = per;
	}
	return best;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: memcpy-time [--piece N] [--region MiB] SIZE...\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > (1ULL << 30))
		return -1;
	*out = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"piece", required_argument, NULL, 'p'},
		{"region", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct figure fig[MAX_SIZES];
	size_t piece = 1448, region_mib = 512, nfig = 0, max_size = 0;
	unsigned char *src_mem = NULL, *src, *region = MAP_FAILED;
	int c, rc = 1;

	/* --help anywhere, also after "--", as every paste program. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_size(optarg, &piece) < 0)
				goto bad;
			break;
		case 'r':
			if (parse_size(optarg, &region_mib) < 0 || region_mib > 65536)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind >= argc || argc - optind > MAX_SIZES)
		goto bad;
	for (int i = optind; i < argc; i++) {
		if (parse_size(argv[i], &fig[nfig].size) < 0) {
			fprintf(stderr, "memcpy-time: bad size '%s'\n", argv[i]);
			return 2;
		}
		if (fig[nfig].size > max_size)
			max_size = fig[nfig].size;
		nfig++;
	}
	if (region_mib << 20 < 2 * max_size) {
		fprintf(stderr, "memcpy-time: --region must hold two of the largest size\n");
		return 2;
	}

	/* The source half a page off the destinations' page alignment: a load
	 * 4 KiB apart from a pending store would wait for it (4K aliasing),
	 * which no real copy between unrelated buffers pays every time. */
	src_mem = malloc(max_size + 4096 + 2048);
	src = src_mem ? (unsigned char *)(((uintptr_t)src_mem + 4095) & ~(uintptr_t)4095) + 2048
		      : NULL;
	region = mmap(NULL, region_mib << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!src || region == MAP_FAILED) {
		fprintf(stderr, "memcpy-time: cannot allocate %zu MiB: %s\n", region_mib,
			strerror(errno));
		goto fail;
	}
	memset(src, 'x', max_size);
	memset(region, 0, region_mib << 20); /* every page present before timing */

	printf("%10s %12s %12s  (ns of CPU per copy, %zu-byte pieces, %zu MiB region)\n", "size",
	       "warm", "cold dst", piece, region_mib);
	for (size_t i = 0; i < nfig; i++) {
		fig[i].warm_ns = time_copies(region, fig[i].size, src, fig[i].size, piece);
		fig[i].cold_ns = time_copies(region, region_mib << 20, src, fig[i].size, piece);
		printf("%10zu %12.1f %12.1f\n", fig[i].size, fig[i].warm_ns, fig[i].cold_ns);
	}
	printf("{\"tool\": \"memcpy-time\", \"piece\": %zu, \"region_mib\": %zu, \"results\": [",
	       piece, region_mib);
	for (size_t i = 0; i < nfig; i++)
		printf("%s{\"size\": %zu, \"warm_ns\": %.1f, \"cold_ns\": %.1f}", i ? ", " : "",
		       fig[i].size, fig[i].warm_ns, fig[i].cold_ns);
	printf("]}\n");
	rc = 0;
fail:
	if (region != MAP_FAILED)
		munmap(region, region_mib << 20);
	free(src_mem);
	return rc;
bad:
	usage(stderr);
	return 2;
}
