/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-pool-demo: the persistent packet-buffer pool at work.
 *
 * A DPDK port (net_ring by default: what is sent comes back) receives
 * frames into mbufs whose data buffers live in the pool file. The demo
 * keeps every received payload where the driver put it (zero copy: name,
 * flush, keep with a buffer swap, one drain per burst), then does the same
 * with a copy into another pool buffer for comparison, then "restarts": it
 * closes and reopens the pool, finds the kept buffers, checks their bytes by
 * name, and reconciles against an index that dropped half of them.
 *
 *   paste-pool-demo [EAL args --] [--pool-file F] [--pool-bufs N]
 *                   [--mbufs N] [--frames N] [--frame-size B]
 *                   [--persist auto|flush|msync|fence] [--json F]
 *
 * Without EAL arguments it runs on --no-huge with a net_ring0 vdev.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "paste.h"

#define BURST 32
#define RING_SIZE 1024

struct demo_opts {
	const char *pool_file;
	uint64_t pool_bufs;
	unsigned int mbufs;
	unsigned int frames;
	unsigned int frame_size;
	enum pst_persist_mode persist;
	const char *json;
};

struct phase {
	const char *name;
	unsigned int frames;
	double seconds;
	uint64_t flushes, drains, bytes_flushed;
};

static volatile sig_atomic_t force_quit;

static void
on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL args --] [options]\n"
		"  --pool-file F     pool file (created if missing; default /dev/shm/paste-demo.pool)\n"
		"  --pool-bufs N     buffers in a new pool (default 262144)\n"
		"  --mbufs N         mbufs in the mempool (default 4096)\n"
		"  --frames N        frames received and kept per phase (default 100000)\n"
		"  --frame-size B    payload bytes per frame (default 1024)\n"
		"  --persist MODE    auto, flush, msync or fence (default flush)\n"
		"  --json F          write results as JSON to F\n",
		prog);
}

static int
parse_uint(const char *s, const char *what, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v == 0 || v > max) {
		fprintf(stderr, "paste-pool-demo: bad %s '%s' (1..%" PRIu64 ")\n",
			what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct demo_opts *o)
{
	static const struct option longopts[] = {
		{ "pool-file", required_argument, NULL, 'f' },
		{ "pool-bufs", required_argument, NULL, 'b' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "frames", required_argument, NULL, 'n' },
		{ "frame-size", required_argument, NULL, 's' },
		{ "persist", required_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->pool_file = optarg;
			break;
		case 'b':
			if (parse_uint(optarg, "--pool-bufs", PST_POOL_BUF_COUNT_MAX, &v))
				return -1;
			o->pool_bufs = v;
			break;
		case 'm':
			if (parse_uint(optarg, "--mbufs", 1u << 20, &v))
				return -1;
			o->mbufs = (unsigned int)v;
			break;
		case 'n':
			if (parse_uint(optarg, "--frames", 1u << 26, &v))
				return -1;
			o->frames = (unsigned int)v;
			break;
		case 's':
			if (parse_uint(optarg, "--frame-size", 2048, &v))
				return -1;
			o->frame_size = (unsigned int)v;
			break;
		case 'p':
			if (pst_persist_mode_parse(optarg, &o->persist) != 0) {
				fprintf(stderr, "paste-pool-demo: %s\n", pst_errormsg());
				return -1;
			}
			break;
		case 'j':
			o->json = optarg;
			break;
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "paste-pool-demo: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int
port_init(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, RING_SIZE,
					     rte_eth_dev_socket_id(port), NULL, mp);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, RING_SIZE,
					     rte_eth_dev_socket_id(port), NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(port);
	if (ret != 0)
		fprintf(stderr, "paste-pool-demo: port %u: %s\n", port, rte_strerror(-ret));
	return ret;
}

static void
fill_frame(char *p, unsigned int len, uint32_t seq)
{
	unsigned int i;

	for (i = 0; i + 4 <= len; i += 4)
		memcpy(p + i, &seq, 4);
}

/*
 * Receive @frames frames and store every payload: in place (zero copy)
 * or by copying into a separate pool buffer. Frames are generated on the
 * ring's TX side, as a remote client would send them.
 */
static int
store_frames(struct pst_pool *pool, struct rte_mempool *mp, uint16_t port,
	     const struct demo_opts *o, int copy, pst_name *names,
	     struct phase *ph)
{
	struct rte_mbuf *pkts[BURST];
	struct pst_pool_stats before, after;
	unsigned int done = 0, i, n, next_report = o->frames / 4;
	double t0;
	uint16_t got;

	pst_pool_stats(pool, &before);
	t0 = now_s();
	while (done < o->frames && !force_quit) {
		n = o->frames - done < BURST ? o->frames - done : BURST;
		if (rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0) {
			fprintf(stderr, "paste-pool-demo: mempool empty\n");
			return -1;
		}
		for (i = 0; i < n; i++)
			fill_frame(rte_pktmbuf_append(pkts[i], (uint16_t)o->frame_size),
				   o->frame_size, done + i);
		if (rte_eth_tx_burst(port, 0, pkts, (uint16_t)n) != n) {
			fprintf(stderr, "paste-pool-demo: TX ring full\n");
			return -1;
		}
		got = rte_eth_rx_burst(port, 0, pkts, BURST);
		for (i = 0; i < got; i++) {
			char *data = rte_pktmbuf_mtod(pkts[i], char *);
			uint16_t len = pkts[i]->data_len;
			uint32_t index;
			int ret;

			if (copy) {
				ret = pst_pool_take(pool, &index);
				if (ret == 0) {
					char *dst = pst_pool_buf_addr(pool, index);

					memcpy(dst, data, len);
					pst_pool_flush(pool, dst, len);
					ret = pst_pool_keep(pool, index);
					names[done + i] = pst_name_make(index, 0, len);
				}
			} else {
				pst_pool_flush(pool, data, len);
				ret = pst_mbuf_keep(pool, pkts[i], &names[done + i]);
			}
			if (ret != 0) {
				fprintf(stderr, "paste-pool-demo: keeping frame %u: %s\n",
					done + i, pst_strerror(ret));
				rte_pktmbuf_free_bulk(pkts, got);
				return -1;
			}
		}
		/* One drain for the whole burst: PASTE's batching. */
		pst_pool_drain(pool);
		rte_pktmbuf_free_bulk(pkts, got);
		done += got;
		if (done >= next_report && next_report > 0) {
			printf("  %-10s %7u / %u frames%s", ph->name, done, o->frames,
			       isatty(STDOUT_FILENO) ? "\r" : "\n");
			fflush(stdout);
			next_report += o->frames / 4;
		}
	}
	ph->seconds = now_s() - t0;
	ph->frames = done;
	pst_pool_stats(pool, &after);
	ph->flushes = after.flushes - before.flushes;
	ph->drains = after.drains - before.drains;
	ph->bytes_flushed = after.bytes_flushed - before.bytes_flushed;
	if (isatty(STDOUT_FILENO))
		printf("%60s\r", "");
	return force_quit ? -1 : 0;
}

static int
verify_names(struct pst_pool *pool, const pst_name *names, unsigned int n,
	     unsigned int frame_size)
{
	unsigned int i, bad = 0;
	char *expect = malloc(frame_size);

	if (expect == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *p = pst_pool_name_to_addr(pool, names[i]);

		fill_frame(expect, frame_size, i);
		if (p == NULL || pst_name_length(names[i]) != frame_size ||
		    memcmp(p, expect, frame_size) != 0)
			bad++;
	}
	free(expect);
	return (int)bad;
}

static void
print_phase(const struct phase *ph, unsigned int frame_size)
{
	double fps = ph->seconds > 0 ? ph->frames / ph->seconds : 0;

	printf("| %-10s | %9u | %8.3f | %10.0f | %8.2f | %8" PRIu64 " | %8" PRIu64 " |\n",
	       ph->name, ph->frames, ph->seconds, fps,
	       fps * frame_size * 8 / 1e9, ph->flushes, ph->drains);
}

static void
json_phase(FILE *f, const struct phase *ph, unsigned int frame_size, int last)
{
	double fps = ph->seconds > 0 ? ph->frames / ph->seconds : 0;

	fprintf(f, "    {\"name\": \"%s\", \"frames\": %u, \"seconds\": %.6f, "
		"\"frames_per_s\": %.0f, \"gbit_per_s\": %.3f, \"flushes\": %" PRIu64
		", \"bytes_flushed\": %" PRIu64 ", \"drains\": %" PRIu64 "}%s\n",
		ph->name, ph->frames, ph->seconds, fps, fps * frame_size * 8 / 1e9,
		ph->flushes, ph->bytes_flushed, ph->drains, last ? "" : ",");
}

int
main(int argc, char **argv)
{
	char *default_eal[] = {
		argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:error",
		"--vdev=net_ring0", NULL,
	};
	struct demo_opts o = {
		.pool_file = "/dev/shm/paste-demo.pool",
		.pool_bufs = 262144,
		.mbufs = 4096,
		.frames = 100000,
		.frame_size = 1024,
		.persist = PST_PERSIST_FLUSH,
	};
	struct pst_pool_config cfg;
	struct pst_pool_reconcile_report rec;
	struct pst_pool_stats st;
	struct pst_pool_info info;
	struct phase zc = { .name = "zero-copy" }, cp = { .name = "copy" };
	struct rte_mempool *mp;
	struct pst_pool *pool = NULL;
	pst_name *names = NULL;
	double t0, reopen_s;
	int i, ret, has_eal = 0, bad, status = EXIT_FAILURE;
	uint16_t port = 0;
	FILE *jf;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			has_eal = 1;
	if (has_eal)
		ret = rte_eal_init(argc, argv);
	else
		ret = rte_eal_init((int)(sizeof(default_eal) / sizeof(default_eal[0])) - 1,
				   default_eal);
	if (ret < 0) {
		fprintf(stderr, "paste-pool-demo: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	if (has_eal) {
		argc -= ret;
		argv += ret;
	}
	if (parse_args(argc, argv, &o) != 0)
		goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "paste-pool-demo: no ethdev port (give --vdev=net_ring0)\n");
		goto out;
	}
	RTE_ETH_FOREACH_DEV(port)
		break;
	if ((uint64_t)o.frames + o.mbufs > o.pool_bufs) {
		fprintf(stderr, "paste-pool-demo: %u frames + %u mbufs do not fit %" PRIu64
			" buffers; raise --pool-bufs\n", o.frames, o.mbufs, o.pool_bufs);
		goto out;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = o.pool_file;
	cfg.persist_mode = o.persist;
	pool = pst_pool_open(&cfg);
	if (pool == NULL && pst_errno == ENOENT) {
		cfg.buf_count = o.pool_bufs;
		pool = pst_pool_create(&cfg);
	}
	if (pool == NULL) {
		fprintf(stderr, "paste-pool-demo: %s (%s)\n", pst_errormsg(),
			pst_strerror(pst_errno));
		goto out;
	}
	pst_pool_info(pool, &info);
	pst_pool_stats(pool, &st);
	if (st.free < (uint64_t)o.frames * 2 + o.mbufs) {
		fprintf(stderr, "paste-pool-demo: pool %s has %" PRIu64 " free buffers, "
			"the demo needs %u; remove the file or raise --pool-bufs\n",
			o.pool_file, st.free, o.frames * 2 + o.mbufs);
		goto out;
	}
	printf("pool %s: %" PRIu64 " buffers x %u B, %.1f MiB, persist mode %s%s\n",
	       o.pool_file, info.buf_count, info.buf_size, info.file_size / 1048576.0,
	       pst_persist_mode_name(info.persist_mode),
	       info.is_pmem ? " (pmem)" : "");

	mp = pst_pool_mempool_create(pool, "demo_mbufs", o.mbufs, 256, 0, (int)rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "paste-pool-demo: %s\n", pst_errormsg());
		goto out;
	}
	if (port_init(port, mp) != 0)
		goto out;
	names = calloc(o.frames, sizeof(*names));
	if (names == NULL)
		goto out;
	printf("mempool: %u mbufs, data buffers in the pool file; port %u; %u frames of %u B per phase\n\n",
	       o.mbufs, port, o.frames, o.frame_size);

	/* Phase 1: zero copy; these names are the "index" of phase 3. */
	if (store_frames(pool, mp, port, &o, 0, names, &zc) != 0)
		goto out;
	bad = verify_names(pool, names, o.frames, o.frame_size);
	/* Phase 2: copy, as a store that is not co-designed with the stack. */
	{
		pst_name *copy_names = calloc(o.frames, sizeof(*copy_names));

		if (copy_names == NULL)
			goto out;
		ret = store_frames(pool, mp, port, &o, 1, copy_names, &cp);
		/* The copies are dropped again: release them, durably. */
		for (i = 0; ret == 0 && (unsigned int)i < cp.frames; i++)
			pst_pool_release(pool, pst_name_index(copy_names[i]));
		pst_pool_drain(pool);
		free(copy_names);
		if (ret != 0)
			goto out;
	}

	printf("| phase      |    frames |  seconds |   frames/s |   Gbit/s |  flushes |   drains |\n");
	printf("|------------|-----------|----------|------------|----------|----------|----------|\n");
	print_phase(&zc, o.frame_size);
	print_phase(&cp, o.frame_size);
	pst_pool_stats(pool, &st);
	printf("\nzero-copy / copy: %.2fx   kept buffers: %" PRIu64 "   free: %" PRIu64
	       "   mbufs home: %u of %u (RX capacity intact)\n",
	       (zc.frames / zc.seconds) / (cp.frames / cp.seconds), st.kept, st.free,
	       rte_mempool_avail_count(mp), o.mbufs);
	printf("names resolving to wrong bytes: %d\n", bad);

	/* Phase 3: restart. */
	rte_eth_dev_stop(port);
	pst_pool_close(pool); /* frees the mempool too */
	t0 = now_s();
	pool = pst_pool_open(&cfg);
	reopen_s = now_s() - t0;
	if (pool == NULL) {
		fprintf(stderr, "paste-pool-demo: reopen: %s\n", pst_errormsg());
		goto out;
	}
	pst_pool_stats(pool, &st);
	printf("\nrestart: reopened in %.1f ms, %" PRIu64 " kept buffers found\n",
	       reopen_s * 1e3, st.kept);
	bad += verify_names(pool, names, o.frames, o.frame_size);
	printf("after restart, names resolving to wrong bytes: %d\n", bad);
	/* The application's index lost its second half: reconcile frees it. */
	ret = pst_pool_reconcile(pool, names, o.frames / 2, &rec);
	if (ret != 0) {
		fprintf(stderr, "paste-pool-demo: reconcile: %s\n", pst_errormsg());
		goto out;
	}
	printf("reconcile against an index of %u names: %" PRIu64 " released, %" PRIu64
	       " newly kept, %" PRIu64 " kept; verify: %s\n",
	       o.frames / 2, rec.released, rec.newly_kept, rec.kept,
	       pst_pool_verify(pool) == 0 ? "consistent" : pst_errormsg());
	/* Leave the pool empty for the next run. */
	ret = pst_pool_reconcile(pool, NULL, 0, NULL);

	if (o.json != NULL) {
		jf = fopen(o.json, "w");
		if (jf == NULL) {
			fprintf(stderr, "paste-pool-demo: %s: %s\n", o.json, strerror(errno));
			goto out;
		}
		fprintf(jf, "{\n  \"pool_file\": \"%s\",\n  \"buf_count\": %" PRIu64
			",\n  \"buf_size\": %u,\n  \"persist_mode\": \"%s\",\n"
			"  \"mbufs\": %u,\n  \"frame_size\": %u,\n  \"phases\": [\n",
			o.pool_file, info.buf_count, info.buf_size,
			pst_persist_mode_name(info.persist_mode), o.mbufs, o.frame_size);
		json_phase(jf, &zc, o.frame_size, 0);
		json_phase(jf, &cp, o.frame_size, 1);
		fprintf(jf, "  ],\n  \"zero_copy_over_copy\": %.3f,\n"
			"  \"reopen_ms\": %.3f,\n  \"bad_names\": %d,\n"
			"  \"reconcile\": {\"released\": %" PRIu64 ", \"newly_kept\": %" PRIu64
			", \"kept\": %" PRIu64 "}\n}\n",
			(zc.frames / zc.seconds) / (cp.frames / cp.seconds),
			reopen_s * 1e3, bad, rec.released, rec.newly_kept, rec.kept);
		fclose(jf);
		printf("results written to %s\n", o.json);
	}
	status = bad == 0 && ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(names);
	pst_pool_close(pool);
	rte_eal_cleanup();
	return status;
}
