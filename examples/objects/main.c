/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: an S3-compatible object store on paste's stack, in
 * progress (doc/objects.md): it authenticates (SigV4), routes, and stores
 * buckets and objects zero copy in the pool (ops.h, ostore.h).
 *
 *   paste-objects [EAL args] -- --ip A.B.C.D[/len] --keys-file F [options]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>

#include "compact.h"
#include "example_util.h"
#include "keys.h"
#include "mpstore.h"
#include "ostore.h"
#include "paste.h"
#include "server.h"

struct objects_opts {
	uint32_t ip, netmask;
	uint16_t http_port, port_id;
	unsigned int n_mbufs, max_conns;
	uint64_t pool_bufs;
	const char *pool_file, *keys_file, *access_key, *secret_key, *region;
	enum pst_idle_mode idle;
	double request_timeout, idle_timeout;
	/* Multipart uploads (mpstore.h): 0 keeps the store's default. */
	uint64_t mpu_max_uploads, mpu_max_bytes, mpu_min_part;
	double mpu_expiry;
	int mpu_expiry_set;
	/* Log compaction (compact.h): -1 keeps the store's default. */
	int64_t compact_pct, compact_min_bufs, compact_slice, compact_slice_bytes;
	int stage_cycles;
	enum pst_persist_mode persist;
};

/* SIGUSR1: print the "stages:" line at the next poll (bench/lib/objbench.py). */
static volatile sig_atomic_t stats_wanted;

static void
on_usr1(int sig)
{
	(void)sig;
	stats_wanted = 1;
}

static void
print_stages(const struct obj_server *srv, const struct obj_store *store)
{
	struct pst_stack_stats ss;

	pst_stack_stats(srv->stack, &ss);
	/* The stack's own stages first (paste_stack.h): the driver's receive
	 * bursts, and the rest of busy polls after receiving and draining
	 * (transmitting, timers). */
	printf("stack: rx=%" PRIu64 " rx_burst=%" PRIu64 " tx_and_timers=%" PRIu64
	       " busy_polls=%" PRIu64 " polls=%" PRIu64 "\n", ss.rx_cycles, ss.rx_burst_cycles,
	       ss.busy_cycles - ss.rx_cycles - ss.drain_cycles, ss.busy_polls, ss.polls);
	obj_stages_print(store, ss.busy_cycles, ss.drain_cycles, rte_get_tsc_hz());
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: paste-objects [EAL args] -- --ip A.B.C.D[/len] --keys-file F [options]\n"
		"  --keys-file F            access keys, one ACCESS_KEY_ID:SECRET a line\n"
		"                           ('#' lines and blank ones skipped; doc/objects.md)\n"
		"  --access-key ID --secret-key S   one key given here: anyone on the\n"
		"                           host sees it in ps; prefer the file\n"
		"  --region R               the region requests are signed for\n"
		"                           (default us-east-1)\n"
		"  --http-port P            S3 port (default 9000)\n"
		"  --pool-file F            pool file (default /dev/shm/paste-objects.pool)\n"
		"  --pool-bufs N            buffers when creating the pool (default 65536)\n"
		"  --port N                 DPDK port id (default 0)\n"
		"  --mbufs N                RX mbufs (default 4096)\n"
		"  --max-conns N            connection limit (default 1024)\n"
		"  --idle sleep|nap|poll    when idle (default sleep; doc/operations.md)\n"
		"  --request-timeout S      abort a client whose request (head and body)\n"
		"                           has not all arrived S seconds after it began\n"
		"                           (default 60, 0: never)\n"
		"  --timeout S              abort a client silent S seconds between\n"
		"                           requests (default 0: never)\n"
		"  --mpu-max-uploads N      unfinished multipart uploads at most\n"
		"                           (default 1000; more: 400 TooManyUploads)\n"
		"  --mpu-max-bytes N        bytes of their parts at most (default half\n"
		"                           the pool; more: 400 EntityTooLarge)\n"
		"  --mpu-expiry S           an unfinished upload is aborted S seconds\n"
		"                           after it began (default 86400; 0: never)\n"
		"  --mpu-min-part N         smallest part but the last (default and\n"
		"                           most 5 MiB, as S3; less for tests)\n"
		"  --log-compact P          compact the object log when P %% of its bytes\n"
		"                           are dead records (default 50; 0: never)\n"
		"  --log-compact-min N      not below N log buffers (default 64)\n"
		"  --log-compact-slice N    write a compaction's new log N records a\n"
		"                           poll (default 256; 0: all at once)\n"
		"  --log-compact-slice-bytes N  and about N bytes a poll (default 65536)\n"
		"  --persist MODE           auto|flush|fence|msync: how flushes reach the\n"
		"                           pool's medium (default auto; paste_pool.h)\n"
		"  --stage-cycles           time the stages of an upload (hashing, flush,\n"
		"                           keep, record) on the \"stages:\" line printed on\n"
		"                           SIGUSR1 and at exit (doc/objects.md)\n"
		"Stores buckets and objects in the pool (doc/objects.md), multipart\n"
		"uploads included; checksum trailers are answered NotImplemented.\n");
}

static int
parse_args(int argc, char **argv, struct objects_opts *o)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "keys-file", required_argument, NULL, 'k' },
		{ "access-key", required_argument, NULL, 'a' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "http-port", required_argument, NULL, 'h' },
		{ "pool-file", required_argument, NULL, 'f' },
		{ "pool-bufs", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "idle", required_argument, NULL, 'W' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "mpu-max-uploads", required_argument, NULL, 'U' },
		{ "mpu-max-bytes", required_argument, NULL, 'B' },
		{ "mpu-expiry", required_argument, NULL, 'E' },
		{ "mpu-min-part", required_argument, NULL, 'P' },
		{ "stage-cycles", no_argument, NULL, 'S' },
		{ "persist", required_argument, NULL, 'M' },
		{ "log-compact", required_argument, NULL, 'C' },
		{ "log-compact-min", required_argument, NULL, 'c' },
		{ "log-compact-slice", required_argument, NULL, 'G' },
		{ "log-compact-slice-bytes", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const idles[] = {
		[PST_IDLE_NAP] = "nap", [PST_IDLE_SLEEP] = "sleep", [PST_IDLE_POLL] = "poll",
	};
	int c, ret, li = 0, i;
	uint64_t u = 0;

	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (c) {
		case 'i': ret = ex_parse_ipv4_prefix(optarg, &o->ip, &o->netmask); break;
		case 'k': o->keys_file = optarg; ret = 0; break;
		case 'a': o->access_key = optarg; ret = 0; break;
		case 's': o->secret_key = optarg; ret = 0; break;
		case 'r': o->region = optarg; ret = optarg[0] == '\0' || strlen(optarg) > 32; break;
		case 'h': ret = ex_parse_u16(optarg, 1, UINT16_MAX, &o->http_port); break;
		case 'f': o->pool_file = optarg; ret = 0; break;
		case 'b': ret = ex_parse_u64(optarg, 64, UINT32_MAX, &o->pool_bufs); break;
		case 'p': ret = ex_parse_u16(optarg, 0, UINT16_MAX, &o->port_id); break;
		case 'm': ret = ex_parse_u32(optarg, 64, UINT32_MAX, &o->n_mbufs); break;
		case 'n': ret = ex_parse_u32(optarg, 1, UINT32_MAX, &o->max_conns); break;
		case 'R': ret = ex_parse_double(optarg, 0, 1e9, &o->request_timeout); break;
		case 'T': ret = ex_parse_double(optarg, 0, 1e9, &o->idle_timeout); break;
		case 'U': ret = ex_parse_u64(optarg, 1, 1000000, &o->mpu_max_uploads); break;
		case 'B': ret = ex_parse_u64(optarg, 1, UINT64_MAX, &o->mpu_max_bytes); break;
		case 'P': ret = ex_parse_u64(optarg, 1, OBJ_MPU_MIN_PART, &o->mpu_min_part); break;
		case 'E':
			ret = ex_parse_double(optarg, 0, 1e9, &o->mpu_expiry);
			o->mpu_expiry_set = 1;
			break;
		case 'S': o->stage_cycles = 1; ret = 0; break;
		case 'M': ret = pst_persist_mode_parse(optarg, &o->persist); break;
		case 'C': ret = ex_parse_u64(optarg, 0, 99, &u); o->compact_pct = (int64_t)u; break;
		case 'c':
			ret = ex_parse_u64(optarg, 1, UINT32_MAX, &u);
			o->compact_min_bufs = (int64_t)u;
			break;
		case 'G':
			ret = ex_parse_u64(optarg, 0, UINT32_MAX, &u);
			o->compact_slice = (int64_t)u;
			break;
		case 'g':
			ret = ex_parse_u64(optarg, 1, 1ull << 40, &u);
			o->compact_slice_bytes = (int64_t)u;
			break;
		case 'W':
			i = ex_parse_choice(optarg, idles, sizeof(idles) / sizeof(idles[0]));
			ret = i < 0;
			if (i >= 0)
				o->idle = (enum pst_idle_mode)i;
			break;
		default: ret = -1; break;
		}
		if (ret != 0) {
			if (c != '?')
				fprintf(stderr, "paste-objects: bad value '%s' for --%s\n",
					optarg ? optarg : "", opts[li].name);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || o->ip == 0) {
		fprintf(stderr, "paste-objects: %s\n", o->ip == 0 ? "--ip is required" :
			"unexpected argument");
		usage(stderr);
		return -1;
	}
	if ((o->access_key == NULL) != (o->secret_key == NULL)) {
		fprintf(stderr, "paste-objects: --access-key and --secret-key go together\n");
		return -1;
	}
	if (o->keys_file == NULL && o->access_key == NULL) {
		fprintf(stderr, "paste-objects: no access keys: give --keys-file (or "
			"--access-key and --secret-key)\n");
		return -1;
	}
	return 0;
}

static int
load_keys(const struct objects_opts *o, struct obj_keys *keys)
{
	char err[512];
	int ret;

	if (o->keys_file != NULL && obj_keys_load(keys, o->keys_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "paste-objects: keys: %s\n", err);
		return -1;
	}
	if (o->access_key != NULL) {
		fprintf(stderr, "paste-objects: warning: --secret-key is visible to anyone on "
			"this host (ps); prefer --keys-file\n");
		ret = obj_keys_add(keys, o->access_key, o->secret_key);
		if (ret != 0) {
			fprintf(stderr, "paste-objects: --access-key/--secret-key: %s\n",
				ret == -EEXIST ? "that id is in the keys file too" :
				"malformed id or secret (doc/objects.md)");
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct objects_opts o = {
		.http_port = 9000, .n_mbufs = 4096, .max_conns = 1024, .pool_bufs = 65536,
		.pool_file = "/dev/shm/paste-objects.pool", .region = "us-east-1",
		.idle = PST_IDLE_SLEEP, .request_timeout = 60, .compact_pct = -1, .compact_slice = -1,
	};
	struct obj_keys keys = { NULL, 0 };
	struct obj_server srv = { 0 };
	struct pst_pool_config pcfg = { 0 };
	struct pst_pool *pool = NULL;
	struct obj_store store;
	int ret, status = 1;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "paste-objects: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv, &o) != 0 || load_keys(&o, &keys) != 0)
		goto out;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!rte_eth_dev_is_valid_port(o.port_id)) {
		fprintf(stderr, "paste-objects: no DPDK port %u (give a --vdev or a NIC)\n", o.port_id);
		goto out;
	}
	pcfg.path = o.pool_file;
	pcfg.persist_mode = o.persist;
	pool = ex_pool_open_or_create(&pcfg, o.pool_bufs);
	if (pool == NULL) {
		fprintf(stderr, "paste-objects: pool %s: %s\n", o.pool_file, pst_errormsg());
		goto out;
	}
	{
		double t0 = ex_now_s();

		ret = obj_store_open(&store, pool);
		if (ret != 0) {
			fprintf(stderr, "paste-objects: store in %s: %s%s%s\n", o.pool_file,
				pst_strerror(ret), ret == -PST_EOWNER ? ": " : "",
				ret == -PST_EOWNER ? pst_errormsg() : "");
			goto close_pool;
		}
		if (o.mpu_max_uploads)
			store.mpu->max_uploads = o.mpu_max_uploads;
		if (o.mpu_max_bytes)
			store.mpu->max_bytes = o.mpu_max_bytes;
		if (o.mpu_min_part)
			store.mpu->min_part = o.mpu_min_part;
		if (o.mpu_expiry_set)
			store.mpu->expiry = (int64_t)o.mpu_expiry;
		if (o.compact_pct >= 0)
			store.compact_pct = (unsigned int)o.compact_pct;
		if (o.compact_min_bufs > 0)
			store.compact_min_bufs = (size_t)o.compact_min_bufs;
		if (o.compact_slice >= 0)
			store.compact_slice = (unsigned int)o.compact_slice;
		if (o.compact_slice_bytes > 0)
			store.compact_slice_bytes = (uint64_t)o.compact_slice_bytes;
		/* Uploads that expired while the server was down go now. */
		obj_mpu_expire(&store, (int64_t)time(NULL));
		printf("paste-objects: recovered buckets=%u objects=%zu records=%" PRIu64
		       " torn_bytes=%" PRIu64 " log_bufs=%zu released=%" PRIu64 " seconds=%.3f"
		       " mark=%" PRIu64 " hashed_bytes=%" PRIu64 "\n",
		       store.n_buckets, store.n_objs, store.log.replayed, store.log.torn_bytes,
		       store.log.n_bufs, store.released_at_start, ex_now_s() - t0,
		       store.mark_at_open > store.log.base ? store.mark_at_open - store.log.base : 0,
		       store.hashed_at_open);
		printf("paste-objects: uploads unfinished=%zu parts_bytes=%" PRIu64
		       " max_uploads=%" PRIu64 " max_bytes=%" PRIu64 " expiry=%" PRId64 "\n",
		       store.mpu->n, store.mpu->bytes, store.mpu->max_uploads,
		       store.mpu->max_bytes, store.mpu->expiry);
	}
	{
		const struct pst_stack_config scfg = {
			.port_id = o.port_id, .ipv4_addr = o.ip, .ipv4_netmask = o.netmask,
			.pool = pool, .n_mbufs = o.n_mbufs, .idle = o.idle,
		};

		srv.stack = pst_stack_create(&scfg);
	}
	if (srv.stack == NULL) {
		fprintf(stderr, "paste-objects: stack: %s\n", pst_errormsg());
		goto close_store;
	}
	srv.svc.keys = &keys;
	srv.svc.store = &store;
	srv.svc.region = o.region;
	srv.max_conns = o.max_conns;
	srv.request_timeout = o.request_timeout;
	srv.idle_timeout = o.idle_timeout;
	srv.now = ex_now_s();
	if (obj_server_listen(&srv, o.http_port) != 0) {
		fprintf(stderr, "paste-objects: listen: %s\n", pst_errormsg());
		goto close_stack;
	}
	ex_catch_quit_signals();
	signal(SIGUSR1, on_usr1);
	store.stages.on = o.stage_cycles;
	printf("paste-objects: ready http=%u region=%s keys=%u\n", o.http_port, o.region, keys.n);
	{
		unsigned int polls = 0;
		uint64_t cpu_prev = 0;

		if (store.stages.on) {
			store.stages.cpu_clock_ns = obj_thread_cpu_cost_ns();
			cpu_prev = obj_thread_cpu_ns();
		}
		while (!ex_force_quit) {
			ret = pst_stack_poll(srv.stack);
			if (ret < 0)
				break;
			/* The thread's CPU clock once a poll: a busy poll
			 * counts from the last read (the tick before it
			 * included), the time the core was taken from the
			 * thread left out. */
			if (store.stages.on) {
				uint64_t cpu = obj_thread_cpu_ns();

				if (ret > 0) {
					store.stages.busy_cpu_ns += cpu - cpu_prev;
					store.stages.busy_cpu_polls++;
				}
				cpu_prev = cpu;
			}
			/* The clock every 1024 polls, and after each empty
			 * one (it may have slept): timeouts are coarse. */
			if ((++polls & 1023) == 0 || ret == 0)
				obj_server_tick(&srv, ex_now_s());
			if (stats_wanted) {
				stats_wanted = 0;
				obj_compact_print(&store, "objects");
				print_stages(&srv, &store);
			}
		}
	}
	printf("objects: requests=%" PRIu64 " refused=%" PRIu64 " bad_heads=%" PRIu64
	       " accepted=%" PRIu64 " timed_out=%" PRIu64 " conns=%u puts=%" PRIu64
	       " deletes=%" PRIu64 " objects=%zu buckets=%u log_bufs=%zu mpu_created=%" PRIu64
	       " mpu_parts=%" PRIu64 " mpu_completed=%" PRIu64 " mpu_aborted=%" PRIu64
	       " mpu_expired=%" PRIu64 " mpu_unfinished=%zu\n", srv.svc.requests,
	       srv.svc.refused, srv.bad_heads, srv.accepted, srv.timed_out, srv.n_conns,
	       store.puts, store.deletes, store.n_objs, store.n_buckets, store.log.n_bufs,
	       store.mpu->created, store.mpu->parts, store.mpu->completed, store.mpu->aborted,
	       store.mpu->expired, store.mpu->n);
	obj_compact_print(&store, "objects");
	print_stages(&srv, &store);
	status = 0;
close_stack:
	pst_stack_close(srv.stack);
close_store:
	obj_store_close(&store);
close_pool:
	pst_pool_close(pool);
out:
	obj_keys_fini(&keys);
	rte_eal_cleanup();
	return status;
}
