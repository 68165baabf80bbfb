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

#include "auth.h"
#include "exec.h"
#include "kv_limits.h"
#include "request.h"
#include "store.h"

struct kv_main_opts {
	const char *pool_file;
	uint64_t pool_bufs;             /* when the pool is created */
	int pool_bufs_given;            /* --pool-bufs named */
	uint32_t pool_buf_size;         /* bytes a buffer, when created */
	const struct kv_index_ops *index; /* NULL: the pool's, or wal when new */
	enum pst_persist_mode persist;
	int persist_unsafe;             /* flush/fence allowed where not durable */
	int pool_format;                /* format a Device DAX holding no pool */
	uint32_t drain_delay_us;
	uint16_t resp_port, http_port;  /* 0: off */
	unsigned int max_conns;
	double stats_period;            /* seconds; 0: at exit only */
	/* What one client may make the server hold (doc/kvs.md, "Limits"). */
	struct kv_limits limits;        /* --proto-max-bulk-len */
	uint64_t output_limit;          /* bytes of queued replies; 0: none */
	double idle_timeout;            /* s without a byte from the client; 0: never */
	double request_timeout;         /* s a request may take to arrive; 0: never */
	double send_timeout;            /* s replies may wait on a peer that
	                                 * takes none of them; 0: never */
	uint64_t maxmemory;             /* bytes of pool buffers the store may
	                                 * keep; 0: all but 1/16 of the pool */
	/* Authentication (auth.h): files read by kv_main_load_auth(). */
	const char *requirepass_file, *requirepass, *user_file;
};

/* Pool buffer size for a new pool, 2,176 bytes (DPDK's default mbuf),
 * because every port here can receive a whole frame into one: net_af_packet
 * with its default 2,048-byte ring frames wants 2,016 bytes of data room,
 * and some NICs size receive buffers in whole KiB. A zero-copy value is its
 * received segments, one buffer each, so on a port that can, a smaller
 * buffer stores more per pool byte: --pool-buf-size 1664 (the mbuf
 * headroom and a 1,514-byte frame) took zero copy from 66% to 86-87% over
 * a memif (doc/kvs.md, "Pool buffer size"; tests/kvs/test_kvs_space.sh). */
#define KV_POOL_BUF_SIZE_DEFAULT 2176u

#define KV_MAIN_OPTS_DEFAULT(file) {                                   \
	.pool_file = (file), .pool_bufs = 262144,                       \
	.pool_buf_size = KV_POOL_BUF_SIZE_DEFAULT, .index = NULL,       \
	.persist = PST_PERSIST_AUTO, .resp_port = 6379, .http_port = 8080, \
	.max_conns = 1024, .limits = KV_LIMITS_DEFAULT,                  \
	.output_limit = KV_OUTPUT_LIMIT_DEFAULT, .idle_timeout = 0,      \
	.request_timeout = 60, .send_timeout = 60,                       \
}

/* Replies queued for one client: twice the largest legal reply (an MGET
 * of KV_MAX_ARGS values of KV_VALUE_MAX bytes), so only a client that does
 * not read is cut off. */
#define KV_OUTPUT_LIMIT_DEFAULT (2ull * KV_MAX_ARGS * KV_VALUE_MAX)

/* The usage lines of those limits, for each program's usage(). */
#define KV_MAIN_LIMITS_USAGE                                            \
	"  --proto-max-bulk-len N   longest value or argument, bytes (default\n" \
	"                           and most 1048576); longer: protocol error\n" \
	"  --client-output-limit N  bytes of replies queued for a client that\n" \
	"                           does not read them before it is closed\n"  \
	"                           (default 134217728, 0: none)\n"           \
	"  --timeout S              close clients idle S seconds (default 0: never)\n" \
	"  --request-timeout S      close clients whose request has not all\n" \
	"                           arrived S seconds after it began (default 60)\n" \
	"  --send-timeout S         close clients that take none of their\n"  \
	"                           replies for S seconds (default 60)\n"    \
	"  --multi-max-commands N   commands a transaction may queue (default\n" \
	"                           4096); past it the command is refused and\n" \
	"                           EXEC aborts\n"                            \
	"  --multi-max-bytes N      request bytes a transaction may queue, held\n" \
	"                           until EXEC (default 16777216)\n"          \
	"  --maxmemory N[kb|mb|gb]  pool bytes the store may keep (values and\n" \
	"                           index, whole buffers); past it -OOM (default\n" \
	"                           0: all of the pool but its last 1/16)\n"

/* The usage lines of authentication, for each program's usage(). */
#define KV_MAIN_AUTH_USAGE                                              \
	"  --requirepass-file F     clients must AUTH with the password on F's\n" \
	"                           first line (HTTP: Authorization: Bearer)\n" \
	"  --requirepass PASS       the same, the password given here: anyone\n" \
	"                           on the host sees it in ps; prefer the file\n" \
	"  --user-file F            users for AUTH user password, one\n"   \
	"                           \"name:password\" a line\n"

/* getopt_long entries of those options, for each program's table; their
 * values are what kv_main_parse_opt() takes. */
#define KV_MAIN_LONGOPTS                                                \
	{ "index", required_argument, NULL, 'x' },                      \
	{ "pool-file", required_argument, NULL, 'f' },                  \
	{ "pool-bufs", required_argument, NULL, 'b' },                  \
	{ "pool-buf-size", required_argument, NULL, 'z' + 256 },        \
	{ "persist", required_argument, NULL, 'P' },                    \
	{ "persist-unsafe", no_argument, NULL, 'u' },                   \
	{ "pool-format", no_argument, NULL, 'F' },                      \
	{ "pm-drain-delay-us", required_argument, NULL, 'd' },          \
	{ "resp-port", required_argument, NULL, 'r' },                  \
	{ "http-port", required_argument, NULL, 'h' },                  \
	{ "max-conns", required_argument, NULL, 'n' },                  \
	{ "stats-period", required_argument, NULL, 's' },               \
	{ "proto-max-bulk-len", required_argument, NULL, 'L' },         \
	{ "client-output-limit", required_argument, NULL, 'O' },        \
	{ "timeout", required_argument, NULL, 'T' },                    \
	{ "request-timeout", required_argument, NULL, 'R' },            \
	{ "send-timeout", required_argument, NULL, 'S' },                \
	{ "maxmemory", required_argument, NULL, 'y' },                  \
	{ "multi-max-commands", required_argument, NULL, 'M' + 256 },   \
	{ "multi-max-bytes", required_argument, NULL, 'B' + 256 },      \
	{ "requirepass-file", required_argument, NULL, 'w' },           \
	{ "requirepass", required_argument, NULL, 'W' + 256 },          \
	{ "user-file", required_argument, NULL, 'U' + 256 }

/* Apply option @opt (a KV_MAIN_LONGOPTS value) with its @arg.
 * @return 0, -1 on a bad value, 1 when @opt is none of them. */
int kv_main_parse_opt(struct kv_main_opts *o, int opt, const char *arg);

/* Read the password and users the options name into @auth (zeroed by the
 * caller), with a warning on stderr for --requirepass. @return 0, or -1
 * (reported on lines that start with @prog: the server must not start). */
int kv_main_load_auth(const struct kv_main_opts *o, const char *prog, struct kv_auth *auth);

/* The most --pm-drain-delay-us: the pool takes the delay in nanoseconds,
 * 32 bits of them (pst_pool_config.drain_delay_ns); more would wrap. */
#define KV_DRAIN_DELAY_US_MAX (UINT32_MAX / 1000u)

/* The usage lines of the persistence options, for each program's usage. */
/* The usage line of --index, for each program's usage. */
#define KV_MAIN_INDEX_USAGE                                                      \
	"  --index wal|btree        persistent index (default: the one the pool\n"  \
	"                           holds; wal for a new pool). A pool holding the\n" \
	"                           other one, or another program's, is refused\n"

#define KV_MAIN_PERSIST_USAGE                                                    \
	"  --persist MODE           auto|flush|msync|fence (default auto: flush on\n" \
	"                           persistent memory, else msync per drain)\n"      \
	"  --persist-unsafe         allow flush/fence on a storage file that is not\n" \
	"                           persistent memory: writes are NOT durable there\n" \
	"  --pool-format            the pool file is a Device DAX (/dev/daxX.Y):\n"  \
	"                           format it if it holds no pool (the whole\n"    \
	"                           device unless --pool-bufs; erases it)\n"       \
	"  --pool-buf-size N        bytes a buffer when creating the pool: a\n"  \
	"                           multiple of 64, 512 to 65472 (default 2176;\n" \
	"                           1664 stores more on memif, see doc/kvs.md)\n"   \
	"  --pm-drain-delay-us N    extra latency per drain, emulating slower PM\n"  \
	"                           (microseconds, at most 4294967)\n"

/*
 * Open the pool file (created when missing) and the store on it, and print
 * what recovery found, on lines that start with @prog. A pool in RAM
 * (tmpfs) gets a one-line warning that nothing survives a power cut.
 * @o->index becomes the index the pool's owner records say it holds (wal
 * for a new pool when NULL); a pool of the other index (when given), or of
 * another application, is refused before anything is written to it.
 * @return the pool, or NULL (reported; nothing left open).
 */
struct pst_pool *kv_main_open_store(struct kv_main_opts *o, const char *prog,
				    unsigned int store_flags, struct kv_store *store);

/* Print the counters both servers have, "kvs: keys=... drains=N", without
 * ending the line: each server adds its own. */
void kv_main_print_counts(const struct kv_store *st, const struct kv_exec *x,
			  unsigned int n_conns, uint64_t accepted, uint64_t refused);

#endif /* KVS_MAIN_SHARED_H */
