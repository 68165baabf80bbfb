/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen: a load generator on paste's own TCP stack, for loads a
 * kernel client on the other core cannot offer (bench/run.sh's capacity
 * phase, doc/benchmarks.md): pipelined RESP SET/GET over N connections,
 * as redis-benchmark, and HTTP POST/GET, as wrk; every reply checked.
 * --respond turns it into the trivial server that measures its ceiling.
 *
 *   paste-loadgen EAL-args -- --ip A.B.C.D[/len] --server A.B.C.D [options]
 *   paste-loadgen EAL-args -- --ip A.B.C.D[/len] --respond [options]
 *
 * Exit status: 0 every reply as expected, 1 a wrong reply, a connection
 * failure, a timeout or a failed start, 2 a bad command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "example_util.h"
#include "loadgen.h"

/* The client's --max-time when none is given: every run ends. */
#define CLIENT_MAX_TIME 60.0

/* Split at "--" and parse the application's options before the EAL starts,
 * so a bad command line fails fast. @return 0, 1 after --help, -1. */
static int
parse_app_args(int argc, char **argv, struct lg_opts *o, int *eal_argc)
{
	char *saved;
	int i, ret;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	*eal_argc = i;
	if (i == argc)
		/* No "--": no options of ours (main() answered --help). */
		return lg_parse_args(1, argv, o);
	/* getopt_long wants the program name in front. */
	saved = argv[i];
	argv[i] = argv[0];
	ret = lg_parse_args(argc - i, argv + i, o);
	argv[i] = saved;
	return ret;
}

static struct pst_stack *
stack_start(const struct lg_opts *o, struct pst_pool *pool)
{
	struct pst_stack_config cfg;
	struct pst_stack *stack;

	memset(&cfg, 0, sizeof(cfg));
	cfg.port_id = o->port_id;
	cfg.ipv4_addr = o->ip;
	cfg.ipv4_netmask = o->netmask;
	cfg.ipv4_gateway = o->gateway;
	cfg.pool = pool;
	cfg.n_mbufs = o->n_mbufs;
	cfg.busy_poll = o->busy_poll;
	stack = pst_stack_create(&cfg);
	if (stack == NULL)
		fprintf(stderr, "%s: stack on port %u: %s (%s)\n", LG_PROG, o->port_id,
			pst_errormsg(), pst_strerror(pst_errno));
	return stack;
}

static int
client(struct lg_opts *o, struct pst_stack *stack)
{
	struct lg_run *run = calloc(1, sizeof(*run));
	int ret;

	if (run == NULL) {
		fprintf(stderr, "%s: out of memory\n", LG_PROG);
		return EXIT_FAILURE;
	}
	run->opt = o;
	run->stack = stack;
	ret = lg_client_run(run);
	lg_report_table(run, stdout);
	if (o->json != NULL && lg_report_json(run, o->json) != 0)
		ret = -1;
	free(run);
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	static char default_pool[64];
	struct lg_opts o = {
		.resp_port = 6379,
		.http_port = 8080,
		.tests = { LG_OP_SET, LG_OP_GET },
		.n_tests = 2,
		.conns = 50,
		.pipeline = 1,
		.value_size = 64,
		.requests = 100000,
		.keyspace = 10000,
		.reply_timeout = 10,
		.pool_bufs = 65536,
		.server_bufs = 262144,
	};
	struct pst_pool_config pcfg;
	struct pst_pool *pool = NULL;
	struct pst_stack *stack = NULL;
	int eal_argc, ret, status = EXIT_FAILURE;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(default_pool, sizeof(default_pool), "/dev/shm/paste-loadgen-%ld.pool",
		 (long)getpid());
	o.pool_file = default_pool;
	o.pool_file_is_default = 1;
	if (ex_help_requested(argc, argv)) {
		lg_usage();
		return EXIT_SUCCESS;
	}
	ret = parse_app_args(argc, argv, &o, &eal_argc);
	if (ret != 0)
		return ret > 0 ? EXIT_SUCCESS : LG_EXIT_USAGE;
	if (!o.respond && o.max_time == 0)
		o.max_time = CLIENT_MAX_TIME;
	if (!o.respond && o.auto_shape)
		lg_auto_shape(&o, stdout);
	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", LG_PROG, rte_strerror(rte_errno));
		return rte_errno == EINVAL ? LG_EXIT_USAGE : EXIT_FAILURE;
	}
	ex_catch_quit_signals();
	if (!rte_eth_dev_is_valid_port(o.port_id)) {
		fprintf(stderr, "%s: no DPDK port %u (give a --vdev, e.g. net_memif0)\n", LG_PROG,
			o.port_id);
		goto out;
	}
	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.path = o.pool_file;
	pool = ex_pool_open_or_create(&pcfg, o.pool_bufs);
	if (pool == NULL) {
		fprintf(stderr, "%s: pool file %s: %s (%s)\n", LG_PROG, o.pool_file,
			pst_errormsg(), pst_strerror(pst_errno));
		goto out;
	}
	/* Its pool holds nothing worth keeping, but a claim (no value in the
	 * slot) keeps paste-kvs from taking it for its own, and this program
	 * off another's pool file. */
	if (pst_pool_root_claim(pool, 0, LG_PROG, NULL) != 0) {
		fprintf(stderr, "%s: %s: refusing it\n", LG_PROG, pst_errormsg());
		goto out;
	}
	stack = stack_start(&o, pool);
	if (stack == NULL)
		goto out;
	if (o.respond)
		status = lg_respond_run(&o, stack) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	else
		status = client(&o, stack);
out:
	pst_stack_close(stack);
	pst_pool_close(pool);
	if (pool != NULL && o.pool_file_is_default)
		unlink(o.pool_file);
	rte_eal_cleanup();
	return status;
}
