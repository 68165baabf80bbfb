/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * index-speed: how fast paste-kvs's persistent indexes (wal, btree) put and
 * get, alone, without the server around them. For comparing index changes;
 * the figures depend on the machine and its load, so nothing here is a
 * pass/fail test.
 *
 *   build/bench/index-speed [--keys N] [--ops N] [--index wal|btree]
 *                         [--dir DIR]
 *
 * For each index: a new pool file in DIR (default /dev/shm; flush
 * persistence: cache-line flushes and a fence per drain), N keys (default
 * 20,000) of 19 bytes loaded with one 100-byte value, then --ops (default
 * 100,000) puts of random keys with a drain every 32 (the server drains
 * once per poll) and as many gets. Prints a table, then the same as one
 * JSON line:
 *
 *   {"tool": "index-speed", "keys": N, "ops": N, "results": [{"index":
 *    "wal", "puts_per_s": ..., "gets_per_s": ..., "index_bytes": ...}, ...]}
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "example_util.h"
#include "index_common.h"
#include "kv_index.h"

#define KEY_LEN 19
#define VALUE_LEN 100
#define DRAIN_EVERY 32
#define BUF_SIZE 2176u
#define BUF_COUNT 16384u

struct result {
	const char *index;
	double puts_per_s, gets_per_s;
	uint64_t index_bytes;
};

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Time @ops puts and gets on a new index over @keys keys. */
static int
measure(const struct kv_index_ops *ops, const char *dir, uint32_t nkeys,
	uint32_t nops, const char (*keys)[KEY_LEN + 1], struct result *res)
{
	struct pst_pool_config cfg = { .buf_size = BUF_SIZE, .buf_count = BUF_COUNT,
				       .persist_mode = PST_PERSIST_FLUSH };
	struct { struct kv_value v; pst_name name; } value;
	struct kv_index *idx = NULL;
	struct pst_pool *pool;
	struct timespec t0;
	char path[4096];
	uint64_t rs = 42;
	uint32_t buf, i;
	int ret;

	snprintf(path, sizeof(path), "%s/index-speed-%ld.pool", dir, (long)getpid());
	cfg.path = path;
	unlink(path);
	pool = pst_pool_create(&cfg);
	if (pool == NULL) {
		fprintf(stderr, "index-speed: pool %s: %s\n", path, pst_errormsg());
		return -1;
	}
	ret = ops->open(&idx, pool, NULL, NULL, NULL, NULL, NULL);
	if (ret == 0)
		ret = pst_pool_take(pool, &buf);
	if (ret == 0)
		ret = pst_pool_keep(pool, buf);
	if (ret != 0)
		goto fail;
	value.v.len = VALUE_LEN;
	value.v.crc = 1;
	value.v.n = 1;
	value.name = pst_name_make(buf, 0, VALUE_LEN);
	for (i = 0; i < nkeys && ret == 0; i++)
		ret = ops->put(idx, keys[i], KEY_LEN, &value.v, NULL, NULL);
	if (ret == 0)
		ret = pst_pool_drain(pool);
	if (ret != 0)
		goto fail;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nops && ret == 0; i++) {
		ret = ops->put(idx, keys[kvi_rand(&rs) % nkeys], KEY_LEN, &value.v, NULL, NULL);
		if (ret == 0 && i % DRAIN_EVERY == DRAIN_EVERY - 1)
			ret = pst_pool_drain(pool);
	}
	if (ret == 0)
		ret = pst_pool_drain(pool);
	if (ret != 0)
		goto fail;
	res->puts_per_s = nops / seconds_since(&t0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nops; i++)
		if (ops->get(idx, keys[kvi_rand(&rs) % nkeys], KEY_LEN) == NULL) {
			ret = -ENOENT;
			goto fail;
		}
	res->gets_per_s = nops / seconds_since(&t0);
	res->index = ops->name;
	res->index_bytes = ops->own_bytes(idx);
	ops->close(idx);
	pst_pool_close(pool);
	unlink(path);
	return 0;
fail:
	fprintf(stderr, "index-speed: %s: %s\n", ops->name, pst_strerror(ret));
	if (idx != NULL)
		ops->close(idx);
	pst_pool_close(pool);
	unlink(path);
	return -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: index-speed [--keys N] [--ops N] [--index wal|btree] "
			"[--dir DIR]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "ops", required_argument, NULL, 'o' },
		{ "index", required_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const struct kv_index_ops *all[] = { &kv_index_wal, &kv_index_btree };
	const char *dir = "/dev/shm", *only = NULL;
	uint32_t nkeys = 20000, nops = 100000, i;
	struct result res[2];
	char (*keys)[KEY_LEN + 1];
	unsigned int n = 0;
	int c;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			nkeys = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			nops = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			only = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || nkeys == 0 || nops == 0 ||
	    (only != NULL && strcmp(only, "wal") != 0 && strcmp(only, "btree") != 0)) {
		usage(stderr);
		return 2;
	}
	keys = malloc((size_t)nkeys * sizeof(*keys));
	if (keys == NULL)
		return 1;
	for (i = 0; i < nkeys; i++)
		snprintf(keys[i], sizeof(keys[i]), "key:%015u", i);
	for (i = 0; i < 2; i++) {
		if (only != NULL && strcmp(only, all[i]->name) != 0)
			continue;
		if (measure(all[i], dir, nkeys, nops, keys, &res[n]) != 0) {
			free(keys);
			return 1;
		}
		n++;
	}
	free(keys);

	printf("index  %8s  %14s  %12s  %12s\n", "keys", "puts/s", "gets/s", "index bytes");
	for (i = 0; i < n; i++)
		printf("%-5s  %8u  %14.0f  %12.0f  %12llu\n", res[i].index, nkeys,
		       res[i].puts_per_s, res[i].gets_per_s,
		       (unsigned long long)res[i].index_bytes);
	printf("{\"tool\": \"index-speed\", \"keys\": %u, \"ops\": %u, \"drain_every\": %u, "
	       "\"results\": [", nkeys, nops, DRAIN_EVERY);
	for (i = 0; i < n; i++)
		printf("%s{\"index\": \"%s\", \"puts_per_s\": %.0f, \"gets_per_s\": %.0f, "
		       "\"index_bytes\": %llu}", i ? ", " : "", res[i].index, res[i].puts_per_s,
		       res[i].gets_per_s, (unsigned long long)res[i].index_bytes);
	printf("]}\n");
	return 0;
}
