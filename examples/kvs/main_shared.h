/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What paste-kvs (main.c) and its Linux baseline (bench/linux-kvs) do alike
 * around their servers, so that a comparison of the two compares servers and
 * nothing else: the options of the store and the listeners, opening the
 * pool and the store, and the counters of the "kvs:" line bench/run.sh
 * reads from both.
 */
#ifndef KVS_MAIN_SHARED_H
#define KVS_MAIN_SHARED_H

#include <getopt.h>
#include <stdint.h>

#include "exec.h"
#include "store.h"

struct kv_main_opts {
	const char *pool_file;
	uint64_t pool_bufs;             /* when the pool is created */
	const struct kv_index_ops *index;
	enum pst_persist_mode persist;
	int persist_unsafe;             /* flush/fence allowed where not durable */
	uint32_t drain_delay_us;
	uint16_t resp_port, http_port;  /* 0: off */
	unsigned int max_conns;
	double stats_period;            /* seconds; 0: at exit only */
};

#define KV_MAIN_OPTS_DEFAULT(file) {                                   \
	.pool_file = (file), .pool_bufs = 262144, .index = &kv_index_wal, \
	.persist = PST_PERSIST_AUTO, .resp_port = 6379, .http_port = 8080, \
	.max_conns = 1024,                                               \
}

/* getopt_long entries of those options, for each program's table; their
 * values are what kv_main_parse_opt() takes. */
#define KV_MAIN_LONGOPTS                                                \
	{ "index", required_argument, NULL, 'x' },                      \
	{ "pool-file", required_argument, NULL, 'f' },                  \
	{ "pool-bufs", required_argument, NULL, 'b' },                  \
	{ "persist", required_argument, NULL, 'P' },                    \
	{ "persist-unsafe", no_argument, NULL, 'u' },                   \
	{ "pm-drain-delay-us", required_argument, NULL, 'd' },          \
	{ "resp-port", required_argument, NULL, 'r' },                  \
	{ "http-port", required_argument, NULL, 'h' },                  \
	{ "max-conns", required_argument, NULL, 'n' },                  \
	{ "stats-period", required_argument, NULL, 's' }

/* Apply option @opt (a KV_MAIN_LONGOPTS value) with its @arg.
 * @return 0, -1 on a bad value, 1 when @opt is none of them. */
int kv_main_parse_opt(struct kv_main_opts *o, int opt, const char *arg);

/* The usage lines of the persistence options, for each program's usage. */
#define KV_MAIN_PERSIST_USAGE                                                    \
	"  --persist MODE           auto|flush|msync|fence (default auto: flush on\n" \
	"                           persistent memory, else msync per drain)\n"      \
	"  --persist-unsafe         allow flush/fence on a storage file that is not\n" \
	"                           persistent memory: writes are NOT durable there\n"

/*
 * Open the pool file (created when missing) and the store on it, and print
 * what recovery found, on lines that start with @prog. A pool in RAM
 * (tmpfs) gets a one-line warning that nothing survives a power cut.
 * @return the pool, or NULL (reported; nothing left open).
 */
struct pst_pool *kv_main_open_store(const struct kv_main_opts *o, const char *prog,
				    int copy_mode, struct kv_store *store);

/* Print the counters both servers have, "kvs: keys=... drains=N", without
 * ending the line: each server adds its own. */
void kv_main_print_counts(const struct kv_store *st, const struct kv_exec *x,
			  unsigned int n_conns, uint64_t accepted, uint64_t refused);

#endif /* KVS_MAIN_SHARED_H */
