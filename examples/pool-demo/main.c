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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "example_util.h"
#include "paste.h"

#define PROG "paste-pool-demo"
/* The root slot claimed as this program's; it never holds a value. */
#define DEMO_ROOT_SLOT 0u
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

/* What the run found: the table, the restart lines and the JSON. */
struct demo_result {
	struct pst_pool_info info;
	struct phase zc, cp;
	int bad;                        /* names resolving to wrong bytes */
	double reopen_s;
	struct pst_pool_reconcile_report rec;
	int emptied;                    /* the last reconcile: 0 or -errno */
};

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
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
	if (ex_parse_u64(s, 1, max, out) != 0) {
		fprintf(stderr, PROG ": bad %s '%s' (1..%" PRIu64 ")\n", what, s, max);
		return -1;
	}
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
				fprintf(stderr, PROG ": %s\n", pst_errormsg());
				return -1;
			}
			break;
		case 'j':
			o->json = optarg;
			break;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/*
 * Start the EAL on the arguments before "--" and leave *@argc, *@argv at
 * the demo's own options; without "--", start it on a default that needs
 * no hugepages and no NIC, so the demo runs anywhere as it is.
 */
static int
eal_start(int *argc, char ***argv)
{
	static char *default_eal[] = {
		NULL, "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:error",
		"--vdev=net_ring0", NULL,
	};
	int i, ret, has_eal = 0;

	for (i = 1; i < *argc; i++)
		if (strcmp((*argv)[i], "--") == 0)
			has_eal = 1;
	if (has_eal) {
		ret = rte_eal_init(*argc, *argv);
	} else {
		default_eal[0] = (*argv)[0];
		ret = rte_eal_init((int)RTE_DIM(default_eal) - 1, default_eal);
	}
	if (ret < 0) {
		fprintf(stderr, PROG ": EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (has_eal) {
		*argc -= ret;
		*argv += ret;
	}
	return 0;
}

static int
first_port(uint16_t *port)
{
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, PROG ": no ethdev port (give --vdev=net_ring0)\n");
		return -1;
	}
	RTE_ETH_FOREACH_DEV(*port)
		break;
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
		fprintf(stderr, PROG ": port %u: %s\n", port, rte_strerror(-ret));
	return ret;
}

/*
 * Open the pool file, or create it with --pool-bufs buffers, once the demo
 * is known to fit: each phase keeps every frame while the mempool holds
 * buffers of its own, and the zero-copy frames stay kept through the copy
 * phase.
 */
static struct pst_pool *
pool_start(const struct demo_opts *o, struct pst_pool_config *cfg,
	   struct pst_pool_info *info)
{
	struct pst_pool_stats st;
	struct pst_pool *pool;

	if ((uint64_t)o->frames + o->mbufs > o->pool_bufs) {
		fprintf(stderr, PROG ": %u frames + %u mbufs do not fit %" PRIu64
			" buffers; raise --pool-bufs\n", o->frames, o->mbufs, o->pool_bufs);
		return NULL;
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = o->pool_file;
	cfg->persist_mode = o->persist;
	pool = ex_pool_open_or_create(cfg, o->pool_bufs);
	if (pool == NULL) {
		fprintf(stderr, PROG ": %s (%s)\n", pst_errormsg(), pst_strerror(pst_errno));
		return NULL;
	}
	/* The demo reconciles: never on another program's pool. */
	if (pst_pool_root_claim(pool, DEMO_ROOT_SLOT, PROG, NULL) != 0) {
		fprintf(stderr, PROG ": %s: refusing it\n", pst_errormsg());
		pst_pool_close(pool);
		return NULL;
	}
	pst_pool_info(pool, info);
	pst_pool_stats(pool, &st);
	if (st.free < (uint64_t)o->frames * 2 + o->mbufs) {
		fprintf(stderr, PROG ": pool %s has %" PRIu64 " free buffers, "
			"the demo needs %u; remove the file or raise --pool-bufs\n",
			o->pool_file, st.free, o->frames * 2 + o->mbufs);
		pst_pool_close(pool);
		return NULL;
	}
	printf("pool %s: %" PRIu64 " buffers x %u B, %.1f MiB, persist mode %s%s\n",
	       o->pool_file, info->buf_count, info->buf_size, info->file_size / 1048576.0,
	       pst_persist_mode_name(info->persist_mode),
	       info->is_pmem ? " (pmem)" : "");
	return pool;
}

static void
fill_frame(char *p, unsigned int len, uint32_t seq)
{
	unsigned int i;

	for (i = 0; i + 4 <= len; i += 4)
		memcpy(p + i, &seq, 4);
}

/*
 * Keep one received payload and name it: in place, where the driver put it
 * (zero copy), or in a pool buffer of its own that it is copied into.
 * @return 0 or a negative errno.
 */
static int
keep_payload(struct pst_pool *pool, struct rte_mbuf *m, int copy, pst_name *name)
{
	char *data = rte_pktmbuf_mtod(m, char *);
	uint16_t len = m->data_len;
	uint32_t index;
	char *dst;
	int ret;

	if (!copy) {
		pst_pool_flush(pool, data, len);
		return pst_mbuf_keep(pool, m, name);
	}
	ret = pst_pool_take(pool, &index);
	if (ret != 0)
		return ret;
	dst = pst_pool_buf_addr(pool, index);
	memcpy(dst, data, len);
	pst_pool_flush(pool, dst, len);
	ret = pst_pool_keep(pool, index);
	*name = pst_name_make(index, 0, len);
	return ret;
}

/* Send one burst of generated frames into the ring, as a remote client
 * would send them. */
static int
send_burst(struct rte_mempool *mp, uint16_t port, const struct demo_opts *o,
	   unsigned int first, unsigned int n)
{
	struct rte_mbuf *pkts[BURST];
	unsigned int i;

	if (rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0) {
		fprintf(stderr, PROG ": mempool empty\n");
		return -1;
	}
	for (i = 0; i < n; i++)
		fill_frame(rte_pktmbuf_append(pkts[i], (uint16_t)o->frame_size),
			   o->frame_size, first + i);
	if (rte_eth_tx_burst(port, 0, pkts, (uint16_t)n) != n) {
		fprintf(stderr, PROG ": TX ring full\n");
		return -1;
	}
	return 0;
}

/*
 * Receive @o->frames frames and keep every payload (see keep_payload()),
 * naming frame i in @names[i]; @ph gets the time and the pool's counters.
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
	int ret;

	pst_pool_stats(pool, &before);
	t0 = ex_now_s();
	while (done < o->frames && !ex_force_quit) {
		n = o->frames - done < BURST ? o->frames - done : BURST;
		if (send_burst(mp, port, o, done, n) != 0)
			return -1;
		got = rte_eth_rx_burst(port, 0, pkts, BURST);
		for (i = 0; i < got; i++) {
			ret = keep_payload(pool, pkts[i], copy, &names[done + i]);
			if (ret != 0) {
				fprintf(stderr, PROG ": keeping frame %u: %s\n",
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
	ph->seconds = ex_now_s() - t0;
	ph->frames = done;
	pst_pool_stats(pool, &after);
	ph->flushes = after.flushes - before.flushes;
	ph->drains = after.drains - before.drains;
	ph->bytes_flushed = after.bytes_flushed - before.bytes_flushed;
	if (isatty(STDOUT_FILENO))
		printf("%60s\r", "");
	return ex_force_quit ? -1 : 0;
}

/* Phase 2: the same, copying, as a store that is not co-designed with the
 * stack would; the copies are dropped again, durably. */
static int
copy_phase(struct pst_pool *pool, struct rte_mempool *mp, uint16_t port,
	   const struct demo_opts *o, struct phase *ph)
{
	pst_name *copy_names = calloc(o->frames, sizeof(*copy_names));
	unsigned int i;
	int ret;

	if (copy_names == NULL)
		return -1;
	ret = store_frames(pool, mp, port, o, 1, copy_names, ph);
	for (i = 0; ret == 0 && i < ph->frames; i++)
		pst_pool_release(pool, pst_name_index(copy_names[i]));
	pst_pool_drain(pool);
	free(copy_names);
	return ret;
}

/* How many of the first @n frames do not read back by name. */
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

static double
zero_copy_over_copy(const struct demo_result *res)
{
	return (res->zc.frames / res->zc.seconds) / (res->cp.frames / res->cp.seconds);
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
print_phases(struct pst_pool *pool, struct rte_mempool *mp,
	     const struct demo_opts *o, const struct demo_result *res)
{
	struct pst_pool_stats st;

	printf("| phase      |    frames |  seconds |   frames/s |   Gbit/s |  flushes |   drains |\n");
	printf("|------------|-----------|----------|------------|----------|----------|----------|\n");
	print_phase(&res->zc, o->frame_size);
	print_phase(&res->cp, o->frame_size);
	pst_pool_stats(pool, &st);
	printf("\nzero-copy / copy: %.2fx   kept buffers: %" PRIu64 "   free: %" PRIu64
	       "   mbufs home: %u of %u (RX capacity intact)\n",
	       zero_copy_over_copy(res), st.kept, st.free,
	       rte_mempool_avail_count(mp), o->mbufs);
	printf("names resolving to wrong bytes: %d\n", res->bad);
}

/*
 * Phase 3, the restart: stop the port, close the pool (and with it the
 * mempool), reopen it into *@pool, find the kept buffers and check them by
 * name, then reconcile against an index that lost its second half. The
 * pool is left empty for the next run.
 */
static int
restart(struct pst_pool **pool, uint16_t port, const struct pst_pool_config *cfg,
	const struct demo_opts *o, const pst_name *names, struct demo_result *res)
{
	struct pst_pool_stats st;
	double t0;

	rte_eth_dev_stop(port);
	pst_pool_close(*pool);
	t0 = ex_now_s();
	*pool = pst_pool_open(cfg);
	res->reopen_s = ex_now_s() - t0;
	if (*pool == NULL) {
		fprintf(stderr, PROG ": reopen: %s\n", pst_errormsg());
		return -1;
	}
	/* A claim lasts as long as the pool object: claimed again (the
	 * record is there already, nothing is written) before reconciling. */
	if (pst_pool_root_claim(*pool, DEMO_ROOT_SLOT, PROG, NULL) != 0) {
		fprintf(stderr, PROG ": reopen: %s\n", pst_errormsg());
		return -1;
	}
	pst_pool_stats(*pool, &st);
	printf("\nrestart: reopened in %.1f ms, %" PRIu64 " kept buffers found\n",
	       res->reopen_s * 1e3, st.kept);
	res->bad += verify_names(*pool, names, o->frames, o->frame_size);
	printf("after restart, names resolving to wrong bytes: %d\n", res->bad);
	if (pst_pool_reconcile(*pool, names, o->frames / 2, &res->rec) != 0) {
		fprintf(stderr, PROG ": reconcile: %s\n", pst_errormsg());
		return -1;
	}
	printf("reconcile against an index of %u names: %" PRIu64 " released, %" PRIu64
	       " newly kept, %" PRIu64 " kept; verify: %s\n",
	       o->frames / 2, res->rec.released, res->rec.newly_kept, res->rec.kept,
	       pst_pool_verify(*pool) == 0 ? "consistent" : pst_errormsg());
	res->emptied = pst_pool_reconcile(*pool, NULL, 0, NULL);
	return 0;
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

static int
write_json(const struct demo_opts *o, const struct demo_result *res)
{
	const struct pst_pool_info *info = &res->info;
	FILE *jf = fopen(o->json, "w");

	if (jf == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	fprintf(jf, "{\n  \"pool_file\": \"%s\",\n  \"buf_count\": %" PRIu64
		",\n  \"buf_size\": %u,\n  \"persist_mode\": \"%s\",\n"
		"  \"mbufs\": %u,\n  \"frame_size\": %u,\n  \"phases\": [\n",
		o->pool_file, info->buf_count, info->buf_size,
		pst_persist_mode_name(info->persist_mode), o->mbufs, o->frame_size);
	json_phase(jf, &res->zc, o->frame_size, 0);
	json_phase(jf, &res->cp, o->frame_size, 1);
	fprintf(jf, "  ],\n  \"zero_copy_over_copy\": %.3f,\n"
		"  \"reopen_ms\": %.3f,\n  \"bad_names\": %d,\n"
		"  \"reconcile\": {\"released\": %" PRIu64 ", \"newly_kept\": %" PRIu64
		", \"kept\": %" PRIu64 "}\n}\n",
		zero_copy_over_copy(res), res->reopen_s * 1e3, res->bad,
		res->rec.released, res->rec.newly_kept, res->rec.kept);
	fclose(jf);
	printf("results written to %s\n", o->json);
	return 0;
}

int
main(int argc, char **argv)
{
	struct demo_opts o = {
		.pool_file = "/dev/shm/paste-demo.pool",
		.pool_bufs = 262144,
		.mbufs = 4096,
		.frames = 100000,
		.frame_size = 1024,
		.persist = PST_PERSIST_FLUSH,
	};
	struct demo_result res = { .zc.name = "zero-copy", .cp.name = "copy" };
	struct pst_pool_config cfg;
	struct pst_pool *pool = NULL;
	struct rte_mempool *mp;
	pst_name *names = NULL;
	int status = EXIT_FAILURE;
	uint16_t port = 0;

	if (ex_help_requested(argc, argv)) {
		usage(stdout, argv[0]);
		return EXIT_SUCCESS;
	}
	if (eal_start(&argc, &argv) != 0)
		return EXIT_FAILURE;
	if (parse_args(argc, argv, &o) != 0)
		goto out;
	ex_catch_quit_signals();
	if (first_port(&port) != 0)
		goto out;
	pool = pool_start(&o, &cfg, &res.info);
	if (pool == NULL)
		goto out;
	mp = pst_pool_mempool_create(pool, "demo_mbufs", o.mbufs, 256, 0, (int)rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, PROG ": %s\n", pst_errormsg());
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
	if (store_frames(pool, mp, port, &o, 0, names, &res.zc) != 0)
		goto out;
	res.bad = verify_names(pool, names, o.frames, o.frame_size);
	if (copy_phase(pool, mp, port, &o, &res.cp) != 0)
		goto out;
	print_phases(pool, mp, &o, &res);
	if (restart(&pool, port, &cfg, &o, names, &res) != 0)
		goto out;
	if (o.json != NULL && write_json(&o, &res) != 0)
		goto out;
	status = res.bad == 0 && res.emptied == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(names);
	pst_pool_close(pool);
	rte_eal_cleanup();
	return status;
}
