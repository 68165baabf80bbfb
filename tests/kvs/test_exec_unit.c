/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': MSET and MSETNX are units (issue 24). When the store's
 * limit cannot hold every value of an MSET, Redis applies none of it and
 * replies -OOM; paste-kvs must not leave the pairs before the one that
 * did not fit stored (in DRAM, or durable after a reopen). MSETNX: all
 * or nothing too, 0 when a key exists. A pool that runs out inside a unit
 * despite its check: the unit undone, its buffers back. RENAME (a put and
 * a delete) is a unit too: no crash image holds the value under both
 * names, or under neither.
 */
#include "../unit/pst_test_util.h"

#include <stdlib.h>

#include "persist.h"

#include "exec.h"
#include "kv_index.h"
#include "kv_limits.h"
#include "store.h"

#define BUF_SIZE 2048u
#define VAL_LEN 4096u               /* two pool buffers when copied */
#define OOM_REPLY "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

struct captured {
	char bytes[256];
	size_t len;
};

static void
capture_bytes(void *ctx, const void *data, size_t len)
{
	struct captured *c = ctx;

	assert_true(c->len + len <= sizeof(c->bytes));
	memcpy(c->bytes + c->len, data, len);
	c->len += len;
}

/* A value replied by name: noted as "<value LEN>". */
static void
capture_value(void *ctx, const struct kv_value *v)
{
	char note[32];

	capture_bytes(ctx, note, (size_t)snprintf(note, sizeof(note), "<value %u>", v->len));
}

static void
capture_close(void *ctx)
{
	(void)ctx;
	fail_msg("the connection was closed");
}

/* Execute the RESP request @msg (@len bytes) against @x; its reply in
 * @cap (NUL-terminated). */
static void
run(struct kv_exec *x, const char *msg, size_t len, struct captured *cap)
{
	int continue_sent = 0;
	const struct kv_out out = { .bytes = capture_bytes, .value = capture_value,
				    .close = capture_close, .ctx = cap,
				    .continue_sent = &continue_sent };
	struct kv_stream s;

	cap->len = 0;
	kv_stream_init(&s);
	tu_assert_rc(kv_stream_push(&s, PST_NAME_INVALID, msg, (uint32_t)len), 0);
	assert_int_equal(kv_exec_next(x, &s, 0, &out), (long)len);
	kv_stream_consume(&s, s.len, NULL, NULL);
	kv_stream_fini(&s, NULL, NULL);
	cap->bytes[cap->len < sizeof(cap->bytes) ? cap->len : sizeof(cap->bytes) - 1] = 0;
}

static void
run_str(struct kv_exec *x, const char *msg, struct captured *cap)
{
	run(x, msg, strlen(msg), cap);
}

/* "*<1+2n>\r\n$<cmd>\r\n" then n pairs key<i>, VAL_LEN bytes of 'a'+i. */
static char *
mset_request(const char *cmd, unsigned int n, size_t *len)
{
	size_t cap = 64 + n * (VAL_LEN + 64), off;
	char *m = malloc(cap);
	unsigned int i;

	assert_non_null(m);
	off = (size_t)snprintf(m, cap, "*%u\r\n$%zu\r\n%s\r\n", 1 + 2 * n, strlen(cmd), cmd);
	for (i = 0; i < n; i++) {
		off += (size_t)snprintf(m + off, cap - off, "$4\r\nkey%u\r\n$%u\r\n", i,
					VAL_LEN);
		memset(m + off, 'a' + (int)i, VAL_LEN);
		off += VAL_LEN;
		memcpy(m + off, "\r\n", 2);
		off += 2;
	}
	*len = off;
	return m;
}

static void
assert_reply(const struct captured *cap, const char *want)
{
	if (cap->len != strlen(want) || memcmp(cap->bytes, want, cap->len) != 0)
		fail_msg("replied \"%s\", want \"%s\"", cap->bytes, want);
}

/* MSET of four 4 KiB values under a limit that holds two of them: -OOM,
 * and none of the four keys exists, then or after a reopen. */
static void
mset_oom(const struct kv_index_ops *ops)
{
	struct pst_pool_levels lv;
	struct captured cap = { .len = 0 };
	char path[PATH_MAX], *m;
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	size_t len;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF_SIZE, 1024, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_rc(kv_exec_init(&x, &st, 1), 0);
	pst_pool_levels(p, &lv);
	/* Room for two copied values (two buffers each, and a spare one
	 * each for its room check) and the index's own few, not four. */
	st.max_bufs = lv.kept + 7;
	m = mset_request("MSET", 4, &len);
	run(&x, m, len, &cap);
	assert_reply(&cap, OOM_REPLY);
	run_str(&x, "*2\r\n$3\r\nGET\r\n$4\r\nkey0\r\n", &cap);
	assert_reply(&cap, "$-1\r\n");
	run_str(&x, "*1\r\n$6\r\nDBSIZE\r\n", &cap);
	assert_reply(&cap, ":0\r\n");
	/* A smaller MSET that fits is stored whole. */
	st.max_bufs = 0;
	run(&x, m, len, &cap);
	assert_reply(&cap, "+OK\r\n");
	run_str(&x, "*1\r\n$6\r\nDBSIZE\r\n", &cap);
	assert_reply(&cap, ":4\r\n");
	run_str(&x, "*1\r\n$8\r\nFLUSHALL\r\n", &cap);
	st.max_bufs = lv.kept + 7;
	run(&x, m, len, &cap);
	assert_reply(&cap, OOM_REPLY);
	kv_exec_fini(&x);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_close(&st);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	assert_int_equal(kv_store_count(&st), 0);
	kv_store_close(&st);
	tu_close(p);
	free(m);
	unlink(path);
}

static void
test_mset_oom_wal(void **state)
{
	(void)state;
	mset_oom(&kv_index_wal);
}

static void
test_mset_oom_btree(void **state)
{
	(void)state;
	mset_oom(&kv_index_btree);
}


/* MSETNX: 0 and nothing set when one key exists; 1 and all set when none
 * does; -OOM with nothing set when the values do not fit, and when the
 * store is over its limit already, a key existing or not (Redis refuses a
 * DENYOOM command over its maxmemory before looking at the keys). */
static void
msetnx(const struct kv_index_ops *ops)
{
	struct pst_pool_levels lv;
	struct captured cap = { .len = 0 };
	char path[PATH_MAX], *m;
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	size_t len;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF_SIZE, 1024, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_rc(kv_exec_init(&x, &st, 1), 0);
	m = mset_request("MSETNX", 3, &len);
	run_str(&x, "*3\r\n$3\r\nSET\r\n$4\r\nkey2\r\n$1\r\nx\r\n", &cap);
	assert_reply(&cap, "+OK\r\n");
	run(&x, m, len, &cap);
	assert_reply(&cap, ":0\r\n");
	run_str(&x, "*1\r\n$6\r\nDBSIZE\r\n", &cap);
	assert_reply(&cap, ":1\r\n");
	/* Redis's order: under its limit, a key that exists answers 0
	 * whether the values would fit or not (nothing is written)... */
	pst_pool_levels(p, &lv);
	st.max_bufs = lv.kept + 1;
	run(&x, m, len, &cap);
	assert_reply(&cap, ":0\r\n");
	/* ... over it, the command is refused before it runs (a DENYOOM
	 * command), a key existing or not, as MSET is. */
	st.max_bufs = lv.kept - 1;
	run(&x, m, len, &cap);
	assert_reply(&cap, OOM_REPLY);
	run_str(&x, "*1\r\n$6\r\nDBSIZE\r\n", &cap);
	assert_reply(&cap, ":1\r\n");
	st.max_bufs = 0;
	run_str(&x, "*2\r\n$3\r\nDEL\r\n$4\r\nkey2\r\n", &cap);
	assert_reply(&cap, ":1\r\n");
	pst_pool_levels(p, &lv);
	st.max_bufs = lv.kept + 7;
	run(&x, m, len, &cap);
	assert_reply(&cap, OOM_REPLY);
	run_str(&x, "*1\r\n$6\r\nDBSIZE\r\n", &cap);
	assert_reply(&cap, ":0\r\n");
	st.max_bufs = 0;
	run(&x, m, len, &cap);
	assert_reply(&cap, ":1\r\n");
	run_str(&x, "*2\r\n$6\r\nSTRLEN\r\n$4\r\nkey1\r\n", &cap);
	assert_reply(&cap, ":4096\r\n");
	run(&x, m, len, &cap);
	assert_reply(&cap, ":0\r\n");
	run_str(&x, "*2\r\n$6\r\nMSETNX\r\n$1\r\na\r\n", &cap);
	assert_reply(&cap, "-ERR wrong number of arguments for 'msetnx' command\r\n");
	kv_exec_fini(&x);
	kv_store_close(&st);
	tu_close(p);
	free(m);
	unlink(path);
}

static void
test_msetnx_wal(void **state)
{
	(void)state;
	msetnx(&kv_index_wal);
}

static void
test_msetnx_btree(void **state)
{
	(void)state;
	msetnx(&kv_index_btree);
}

/* @words (NULL-terminated) as one RESP request, run against @x. */
static void
run_words(struct kv_exec *x, struct captured *cap, const char *const *words)
{
	char msg[512];
	size_t off, n = 0;

	while (words[n] != NULL)
		n++;
	off = (size_t)snprintf(msg, sizeof(msg), "*%zu\r\n", n);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "$%zu\r\n%s\r\n",
					strlen(words[i]), words[i]);
	assert_true(off < sizeof(msg));
	run(x, msg, off, cap);
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Over the store's limit, every DENYOOM command is refused with -OOM
 * before it runs, as redis-server 7.0 refuses it over its maxmemory
 * (checked side by side: SETNX of an existing key is -OOM there, not 0),
 * whatever it would have answered: a key that exists or not, a value that
 * is no integer, an option that would write nothing. Commands without the
 * flag run: GETEX, EXPIRE, DEL, GET. */
static void
denyoom_order(const struct kv_index_ops *ops)
{
	const char *const *const refused[] = {
		WORDS("SETNX", "a", "2"),
		WORDS("SET", "a", "2", "NX"),
		WORDS("SET", "zz", "2", "XX"),
		WORDS("SET", "a", "2", "GET"),
		WORDS("SET", "s", "2", "GET"),
		WORDS("SET", "a", "2"),
		WORDS("GETSET", "a", "3"),
		WORDS("INCR", "n"),
		WORDS("INCR", "s"),
		WORDS("INCRBY", "n", "2"),
		WORDS("INCRBY", "n", "x"),
		WORDS("DECR", "n"),
		WORDS("DECRBY", "n", "2"),
		WORDS("INCRBYFLOAT", "n", "1"),
		WORDS("APPEND", "a", "x"),
		WORDS("APPEND", "a", ""),
		WORDS("SETRANGE", "a", "0", "x"),
		WORDS("SETRANGE", "zz", "0", ""),
		WORDS("SETRANGE", "a", "-1", "x"),
		WORDS("SETEX", "a", "10", "v"),
		WORDS("SETEX", "a", "0", "v"),
		WORDS("PSETEX", "a", "10", "v"),
		WORDS("COPY", "a", "b"),
		WORDS("COPY", "a", "n"),
		WORDS("MSET", "a", "1"),
		WORDS("MSETNX", "a", "1"),
	};
	struct pst_pool_levels lv;
	struct captured cap = { .len = 0 };
	char path[PATH_MAX];
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	size_t i;
	int wrong = 0;

	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF_SIZE, 1024, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_rc(kv_exec_init(&x, &st, 1), 0);
	run_words(&x, &cap, WORDS("MSET", "a", "1", "n", "5", "s", "str"));
	assert_reply(&cap, "+OK\r\n");
	pst_pool_levels(p, &lv);
	st.max_bufs = lv.kept - 1;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		run_words(&x, &cap, refused[i]);
		if (cap.len != strlen(OOM_REPLY) || memcmp(cap.bytes, OOM_REPLY, cap.len) != 0) {
			print_error("%s %s %s over the limit: \"%.*s\", want -OOM\n",
				    refused[i][0], refused[i][1], refused[i][2] ? refused[i][2] : "",
				    (int)strcspn(cap.bytes, "\r"), cap.bytes);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	/* Nothing was written. */
	run_words(&x, &cap, WORDS("MGET", "a", "n", "zz", "b"));
	assert_reply(&cap, "*4\r\n$1\r\n<value 1>\r\n$1\r\n<value 1>\r\n$-1\r\n$-1\r\n");
	/* Commands without DENYOOM run. */
	run_words(&x, &cap, WORDS("GETEX", "a", "PERSIST"));
	assert_reply(&cap, "$1\r\n<value 1>\r\n");
	run_words(&x, &cap, WORDS("EXPIRE", "zz", "100"));
	assert_reply(&cap, ":0\r\n");
	run_words(&x, &cap, WORDS("DEL", "zz"));
	assert_reply(&cap, ":0\r\n");
	/* Under the limit again, the same commands answer as usual. */
	st.max_bufs = 0;
	run_words(&x, &cap, WORDS("SETNX", "a", "2"));
	assert_reply(&cap, ":0\r\n");
	run_words(&x, &cap, WORDS("SET", "zz", "2", "XX"));
	assert_reply(&cap, "$-1\r\n");
	run_words(&x, &cap, WORDS("INCR", "s"));
	assert_reply(&cap, "-ERR value is not an integer or out of range\r\n");
	run_words(&x, &cap, WORDS("INCR", "n"));
	assert_reply(&cap, ":6\r\n");
	kv_exec_fini(&x);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

static void
test_denyoom_order_wal(void **state)
{
	(void)state;
	denyoom_order(&kv_index_wal);
}

static void
test_denyoom_order_btree(void **state)
{
	(void)state;
	denyoom_order(&kv_index_btree);
}

/* The pool runs out inside a unit despite its check (here: the check is
 * told the values need nothing): the write fails, kv_store_unit_end()
 * undoes the unit (values, references, the pool's buffers) and nothing of
 * it is recovered. */
static void
unit_fails(const struct kv_index_ops *ops)
{
	static char big[VAL_LEN];
	struct pst_pool_levels before, after;
	char path[PATH_MAX], key[16];
	struct kv_store st;
	struct pst_pool *p;
	uint64_t kept_before;
	int ret = 0, i;

	memset(big, 'z', sizeof(big));
	tu_path(path, sizeof(path), ops->name);
	p = tu_must_create(path, BUF_SIZE, 256, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_rc(kv_store_set_bytes(&st, "old", 3, "before", 6), 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	pst_pool_levels(p, &before);
	kept_before = before.kept;
	tu_assert_rc(kv_store_unit_begin(&st, 0), 0);
	assert_int_equal(kv_store_unit_begin(&st, 0), -EBUSY);
	tu_assert_rc(kv_store_set_bytes(&st, "old", 3, "replaced", 8), 0);
	for (i = 0; i < 1000 && ret == 0; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ret = kv_store_set_bytes(&st, key, (uint16_t)strlen(key), big, sizeof(big));
	}
	assert_int_equal(ret, -ENOSPC);
	/* The unit failed: its later writes are refused without writing. */
	assert_int_equal(kv_store_set_bytes(&st, "late", 4, "x", 1), -ENOSPC);
	assert_int_equal(kv_store_unit_end(&st), -ENOSPC);
	assert_int_equal(kv_store_count(&st), 1);
	assert_null(kv_store_get(&st, "k0", 2));
	{
		const struct kv_value *v = kv_store_get(&st, "old", 3);
		char got[16];

		assert_non_null(v);
		assert_int_equal(kv_store_read(&st, v, 0, got, sizeof(got)), 6);
		assert_memory_equal(got, "before", 6);
	}
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	pst_pool_levels(p, &after);
	/* Every buffer the unit took is back (the wal may keep a log buffer
	 * the unit's records reached: not here, the log was rewound). */
	assert_int_equal(after.kept, kept_before);
	/* And the pool works: a unit that fits. */
	tu_assert_rc(kv_store_unit_begin(&st, 3), 0);
	tu_assert_rc(kv_store_set_bytes(&st, "new", 3, big, sizeof(big)), 0);
	tu_assert_rc(kv_store_unit_end(&st), 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_close(&st);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	assert_int_equal(kv_store_count(&st), 2);
	assert_null(kv_store_get(&st, "k0", 2));
	assert_int_equal(st.torn_values, 0);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
}

static void
test_unit_fails_wal(void **state)
{
	(void)state;
	unit_fails(&kv_index_wal);
}

static void
test_unit_fails_btree(void **state)
{
	(void)state;
	unit_fails(&kv_index_btree);
}

/* ---- RENAME's crash images ------------------------------------------- */

#define REN_BUFS 256u
#define REN_DEADLINE 4102444800000ull   /* 2100-01-01, ms: far ahead */

/* The pool mapping as the medium may hold it at each flush or drain of a
 * RENAME: every store issued so far reached it (a cache may write back
 * any line at any time), so each is a possible power-loss image. */
struct ren_images {
	const char *base;
	size_t len;
	const void *bufs;
	char dir[PATH_MAX];
	unsigned int n;
};

static void
ren_capture(struct ren_images *r)
{
	char path[PATH_MAX + 32];
	FILE *f;

	assert_true(r->n < 1000);
	snprintf(path, sizeof(path), "%s-%u", r->dir, r->n++);
	f = fopen(path, "wb");
	assert_non_null(f);
	/* Free buffers are poisoned under ASan: the medium's view. */
	tu_hw_begin(r->bufs, BUF_SIZE, REN_BUFS);
	assert_int_equal(fwrite(r->base, 1, r->len, f), r->len);
	tu_hw_end();
	assert_int_equal(fclose(f), 0);
}

static void
ren_flush(void *ctx, const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	ren_capture(ctx);
}

static void
ren_drain(void *ctx)
{
	ren_capture(ctx);
}

/* Image @i recovered: the value under exactly one of src and dst, whole,
 * with its deadline. Returns 1 (dst) or 0 (src). */
static int
ren_check(const struct kv_index_ops *ops, const struct ren_images *r, unsigned int i)
{
	char path[PATH_MAX + 32], got[VAL_LEN];
	const struct kv_value *vs, *vd, *v;
	struct kv_store st;
	struct pst_pool *p;
	int side;

	snprintf(path, sizeof(path), "%s-%u", r->dir, i);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	vs = kv_store_get(&st, "src", 3);
	vd = kv_store_get(&st, "dst", 3);
	if ((vs != NULL) == (vd != NULL))
		fail_msg("%s: RENAME image %u of %u holds the value under %s", ops->name, i,
			 r->n, vs != NULL ? "both names" : "neither name");
	v = vd != NULL ? vd : vs;
	side = vd != NULL;
	assert_int_equal(v->len, VAL_LEN);
	assert_int_equal(v->deadline_ms, REN_DEADLINE);
	assert_int_equal(kv_store_read(&st, v, 0, got, sizeof(got)), VAL_LEN);
	for (size_t j = 0; j < VAL_LEN; j++)
		assert_int_equal(got[j], 'r');
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
	return side;
}

/* SET src (4 KiB, a deadline), drained; RENAME src dst with every flush
 * and drain of it captured as a crash image; each recovers the value
 * under one name, with its deadline. */
static void
rename_images(const struct kv_index_ops *ops)
{
	static char msg[VAL_LEN + 128];
	struct captured cap = { .len = 0 };
	struct pst_persist_hook hook;
	struct ren_images r;
	char path[PATH_MAX];
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	unsigned int i, old = 0, moved = 0;
	int off;

	tu_path(path, sizeof(path), ops->name);
	tu_path(r.dir, sizeof(r.dir), "rename-image");
	p = tu_must_create(path, BUF_SIZE, REN_BUFS, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_rc(kv_exec_init(&x, &st, 1), 0);
	off = snprintf(msg, sizeof(msg), "*5\r\n$3\r\nSET\r\n$3\r\nsrc\r\n$%u\r\n", VAL_LEN);
	memset(msg + off, 'r', VAL_LEN);
	off += VAL_LEN;
	off += snprintf(msg + off, sizeof(msg) - (size_t)off,
			"\r\n$4\r\nPXAT\r\n$13\r\n%llu\r\n", (unsigned long long)REN_DEADLINE);
	run(&x, msg, (size_t)off, &cap);
	assert_reply(&cap, "+OK\r\n");
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);

	r.base = tu_info(p).base;
	r.len = tu_info(p).file_size;
	r.bufs = tu_info(p).bufs;
	r.n = 0;
	hook = (struct pst_persist_hook){ .on_flush = ren_flush, .on_drain = ren_drain,
					  .ctx = &r };
	ren_capture(&r);   /* before: src */
	pst_pool_set_persist_hook(p, &hook);
	run_str(&x, "*3\r\n$6\r\nRENAME\r\n$3\r\nsrc\r\n$3\r\ndst\r\n", &cap);
	assert_reply(&cap, "+OK\r\n");
	tu_assert_rc(pst_pool_drain(p), 0);
	pst_pool_set_persist_hook(p, NULL);
	ren_capture(&r);   /* after the drain: dst */
	kv_exec_fini(&x);
	kv_store_close(&st);
	tu_close(p);

	for (i = 0; i < r.n; i++) {
		if (ren_check(ops, &r, i))
			moved++;
		else
			old++;
	}
	print_message("%s: RENAME: %u crash images, %u with the old name, %u the new\n",
		      ops->name, r.n, old, moved);
	assert_true(r.n >= 4);
	assert_true(old > 0 && moved > 0);
	unlink(path);
}

static void
test_rename_images_wal(void **state)
{
	(void)state;
	rename_images(&kv_index_wal);
}

static void
test_rename_images_btree(void **state)
{
	(void)state;
	rename_images(&kv_index_btree);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvexecunit");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mset_oom_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_mset_oom_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_msetnx_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_msetnx_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_denyoom_order_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_denyoom_order_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_unit_fails_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_unit_fails_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_rename_images_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_rename_images_btree, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("kvs_exec_unit", tests, group_setup,
					   group_teardown);
}
