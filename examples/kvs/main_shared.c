/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "example_util.h"
#include "index_common.h"
#include "main_shared.h"

static int
parse_index(const char *s, const struct kv_index_ops **index)
{
	static const struct kv_index_ops *const indexes[] = {
		&kv_index_wal, &kv_index_btree,
	};
	unsigned int i;

	for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
		if (strcmp(s, indexes[i]->name) == 0) {
			*index = indexes[i];
			return 0;
		}
	return -1;
}

/* Bytes as Redis writes them in its config: a number, then optionally
 * k, m, g (powers of 1000) or kb, mb, gb (of 1024), in any case. */
static int
parse_bytes(const char *arg, uint64_t *v)
{
	static const struct { const char *suffix; uint64_t unit; } units[] = {
		{ "", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1000000 },
		{ "mb", 1024 * 1024 }, { "g", 1000000000 }, { "gb", 1024 * 1024 * 1024 },
	};
	char digits[24];
	size_t n = strspn(arg, "0123456789"), i;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, arg, n);
	digits[n] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(arg + n, units[i].suffix) != 0)
			continue;
		if (ex_parse_u64(digits, 0, UINT64_MAX / units[i].unit, v) != 0)
			return -1;
		*v *= units[i].unit;
		return 0;
	}
	return -1;
}

/* KV_MAIN_PERSIST_USAGE spells the bound out. */
_Static_assert(KV_DRAIN_DELAY_US_MAX == 4294967u, "--pm-drain-delay-us usage line");

int
kv_main_parse_opt(struct kv_main_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'x':
		return parse_index(arg, &o->index);
	case 'f':
		o->pool_file = arg;
		return 0;
	case 'b':
		o->pool_bufs_given = 1;
		return ex_parse_u64(arg, 0, UINT64_MAX, &o->pool_bufs);
	case 'z' + 256: {
		uint32_t size;

		/* The pool and the indexes refuse other sizes too; refused
		 * here, the mistake is reported before EAL and the port are
		 * up. */
		if (ex_parse_u32(arg, KVI_BUF_SIZE_MIN, PST_POOL_BUF_SIZE_MAX, &size) != 0 ||
		    size % 64 != 0)
			return -1;
		o->pool_buf_size = size;
		return 0;
	}
	case 'P':
		return pst_persist_mode_parse(arg, &o->persist) == 0 ? 0 : -1;
	case 'u':
		o->persist_unsafe = 1;
		return 0;
	case 'F':
		o->pool_format = 1;
		return 0;
	case 'd':
		return ex_parse_u32(arg, 0, KV_DRAIN_DELAY_US_MAX, &o->drain_delay_us);
	case 'r':
		return ex_parse_u16(arg, 0, UINT16_MAX, &o->resp_port);
	case 'h':
		return ex_parse_u16(arg, 0, UINT16_MAX, &o->http_port);
	case 'n':
		return ex_parse_u32(arg, 0, UINT32_MAX, &o->max_conns);
	case 's':
		return ex_parse_double(arg, 0, INFINITY, &o->stats_period);
	case 'L':
		if (ex_parse_u64(arg, 1, KV_VALUE_MAX, &v) != 0)
			return -1;
		o->limits.max_bulk = (size_t)v;
		return 0;
	case 'M' + 256:
		return ex_parse_u32(arg, 1, UINT32_MAX, &o->limits.multi_max_cmds);
	case 'B' + 256:
		if (ex_parse_u64(arg, 1, SIZE_MAX, &v) != 0)
			return -1;
		o->limits.multi_max_bytes = (size_t)v;
		return 0;
	case 'O':
		return ex_parse_u64(arg, 0, UINT64_MAX, &o->output_limit);
	case 'T':
		return ex_parse_double(arg, 0, INFINITY, &o->idle_timeout);
	case 'R':
		return ex_parse_double(arg, 0, INFINITY, &o->request_timeout);
	case 'S':
		return ex_parse_double(arg, 0, INFINITY, &o->send_timeout);
	case 'y':
		return parse_bytes(arg, &o->maxmemory);
	case 'w':
		o->requirepass_file = arg;
		return 0;
	case 'W' + 256:
		o->requirepass = arg;
		return arg[0] != '\0' ? 0 : -1;
	case 'U' + 256:
		o->user_file = arg;
		return 0;
	default:
		return 1;
	}
}

int
kv_main_load_auth(const struct kv_main_opts *o, const char *prog, struct kv_auth *auth)
{
	char err[512];

	if (o->requirepass_file != NULL && o->requirepass != NULL) {
		fprintf(stderr, "%s: --requirepass-file or --requirepass, not both\n", prog);
		return -1;
	}
	if (o->requirepass != NULL) {
		fprintf(stderr, "%s: warning: --requirepass shows the password to anyone "
			"who can list processes; --requirepass-file does not\n", prog);
		if (kv_auth_set_password(auth, o->requirepass, strlen(o->requirepass)) != 0) {
			fprintf(stderr, "%s: --requirepass: libsodium failed to start\n", prog);
			return -1;
		}
	}
	if (o->requirepass_file != NULL &&
	    kv_auth_load_password(auth, o->requirepass_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: --requirepass-file %s\n", prog, err);
		return -1;
	}
	if (o->user_file != NULL && kv_auth_load_users(auth, o->user_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: --user-file %s\n", prog, err);
		return -1;
	}
	return 0;
}

/*
 * The index of the pool's owner records: what a pool that holds a paste-kvs
 * index opens with, and the only index it opens with. Read before anything
 * is written, so a refused pool is left as it was. The index's own claim
 * (pst_pool_root_claim()) would refuse such a pool as well: this picks
 * the index and words the refusal in the options the user gave.
 * @return the index, or NULL (reported).
 */
static const struct kv_index_ops *
pool_index(const struct kv_main_opts *o, const char *prog, struct pst_pool *pool)
{
	static const struct kv_index_ops *const indexes[] = {
		&kv_index_wal, &kv_index_btree,
	};
	struct pst_pool_owner ow;
	unsigned int s, i;
	int ret;

	for (s = 0; s < PST_POOL_ROOTS; s++) {
		ret = pst_pool_root_owner(pool, s, &ow);
		if (ret < 0) {
			fprintf(stderr, "%s: %s\n", prog, pst_errormsg());
			return NULL;
		}
		if (ret == 0)
			continue;
		if (strcmp(ow.app, KV_OWNER_APP) != 0) {
			fprintf(stderr, "%s: pool %s's root slot %u holds a %s%s%s structure, "
				"not a paste-kvs index: refusing it\n", prog, o->pool_file, s,
				ow.app, ow.kind[0] != '\0' ? " " : "", ow.kind);
			return NULL;
		}
		for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
			if (strcmp(ow.kind, indexes[i]->name) == 0 && s == indexes[i]->root_slot)
				break;
		if (i == sizeof(indexes) / sizeof(indexes[0])) {
			fprintf(stderr, "%s: pool %s's root slot %u holds a paste-kvs %s index, "
				"which this build does not know\n", prog, o->pool_file, s, ow.kind);
			return NULL;
		}
		if (o->index != NULL && o->index != indexes[i]) {
			fprintf(stderr, "%s: pool %s's root slot %u holds a paste-kvs %s index; "
				"--index %s asked\n", prog, o->pool_file, s, ow.kind,
				o->index->name);
			return NULL;
		}
		return indexes[i];
	}
	return o->index != NULL ? o->index : &kv_index_wal;
}

struct pst_pool *
kv_main_open_store(struct kv_main_opts *o, const char *prog, unsigned int store_flags,
		   struct kv_store *store)
{
	struct pst_pool_config cfg = {
		.path = o->pool_file,
		.persist_mode = o->persist,
		.drain_delay_ns = o->drain_delay_us * 1000,
		.persist_unsafe = o->persist_unsafe,
	};
	struct pst_pool_info info;
	struct pst_pool *pool;
	int ret;

	pool = NULL;
	if (o->pool_format) {
		/* Formatting refuses a device that holds a pool (EEXIST):
		 * that one is opened. */
		cfg.buf_count = o->pool_bufs_given ? o->pool_bufs : 0;
		cfg.buf_size = o->pool_buf_size;
		pool = pst_pool_format(&cfg);
		cfg.buf_count = 0;
		cfg.buf_size = 0;
		if (pool == NULL && pst_errno != EEXIST) {
			fprintf(stderr, "%s: --pool-format %s: %s\n", prog, o->pool_file,
				pst_errormsg());
			return NULL;
		}
		if (pool != NULL)
			printf("%s: formatted the Device DAX %s\n", prog, o->pool_file);
	}
	if (pool == NULL) {
		/* An existing pool keeps the buffer size it was made with. */
		pool = pst_pool_open(&cfg);
		if (pool == NULL && pst_errno == ENOENT) {
			cfg.buf_count = o->pool_bufs;
			cfg.buf_size = o->pool_buf_size;
			pool = pst_pool_create(&cfg);
		}
	}
	if (pool == NULL) {
		fprintf(stderr, "%s: pool %s: %s\n", prog, o->pool_file, pst_errormsg());
		return NULL;
	}
	pst_pool_info(pool, &info);
	if (info.fs_volatile)
		printf("%s: pool %s is in RAM (tmpfs): nothing survives a power cut, "
		       "in any persist mode\n", prog, o->pool_file);
	else if (!info.is_pmem && info.persist_mode != PST_PERSIST_MSYNC)
		printf("%s: --persist-unsafe: persist mode %s does not make writes "
		       "durable on %s\n", prog, pst_persist_mode_name(info.persist_mode),
		       o->pool_file);
	o->index = pool_index(o, prog, pool);
	if (o->index == NULL) {
		pst_pool_close(pool);
		return NULL;
	}
	ret = kv_store_open(store, pool, o->index, store_flags);
	if (ret == -EPROTO) {
		fprintf(stderr, "%s: index %s: %s\n", prog, o->index->name,
			KV_INDEX_OLD_FORMAT);
		pst_pool_close(pool);
		return NULL;
	}
	if (ret != 0) {
		fprintf(stderr, "%s: index %s: %s (%s)\n", prog, o->index->name,
			pst_strerror(ret), pst_errormsg());
		pst_pool_close(pool);
		return NULL;
	}
	store->max_bufs = (o->maxmemory + info.buf_size - 1) / info.buf_size;
	printf("%s: recovered %" PRIu64 " keys in %.3f s (index %s, %" PRIu64
	       " torn entries dropped, %" PRIu64 " cut values: fell back %" PRIu64
	       " times to an earlier version)\n",
	       prog, store->recovered, store->recovery_seconds, o->index->name,
	       store->report.torn, store->torn_values, store->report.fallbacks);
	return pool;
}

void
kv_main_print_counts(const struct kv_store *st, const struct kv_exec *x,
		     unsigned int n_conns, uint64_t accepted, uint64_t refused)
{
	struct pst_pool_stats ps;

	pst_pool_stats(st->pool, &ps);
	printf("kvs: keys=%" PRIu64 " requests=%" PRIu64 " sets=%" PRIu64 " gets=%" PRIu64
	       " hits=%" PRIu64 " dels=%" PRIu64 " bad_requests=%" PRIu64
	       " bad_streams=%" PRIu64 " conns=%u accepted=%" PRIu64 " refused=%" PRIu64
	       " pool_free=%" PRIu64 " pool_kept=%" PRIu64 " drains=%" PRIu64
	       " timed_out=%" PRIu64 " output_overflows=%" PRIu64
	       " oom_refused=%" PRIu64 " reserved=%" PRIu64 " index_bufs=%" PRIu64
	       " value_bytes=%" PRIu64 " buf_size=%" PRIu32,
	       kv_store_count(st), x->requests, st->sets, st->gets, st->hits, st->dels,
	       x->bad_requests, x->bad_streams, n_conns, accepted, refused,
	       ps.free, ps.kept, ps.drains, x->timed_out, x->output_overflows,
	       x->oom_refused, st->reserved, st->ops->own_bytes(st->idx) / st->buf_size,
	       st->value_bytes, st->buf_size);
}
