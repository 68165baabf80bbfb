/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': transactions (examples/kvs/multi.c) against a real store.
 * A queued request's pool buffers stay referenced by the queue, not by the
 * receive stream, until EXEC stores its value, DISCARD or the connection's
 * end lets them go; DRAM-queued values are reserved against the store and
 * unreserved; the bounds refuse past them and EXEC then aborts; WATCH's
 * hook is set only while a key is watched and sees another client's
 * writes and FLUSHALL of existing keys only.
 */
#include "../unit/pst_test_util.h"

#include <stdlib.h>

#include "cluster.h"
#include "exec.h"
#include "kv_index.h"
#include "kv_limits.h"
#include "multi.h"
#include "store.h"

#define BUF_SIZE 2048u

struct captured {
	char bytes[4096];
	size_t len;
	struct pst_pool *pool;
};

static void
capture_bytes(void *ctx, const void *data, size_t len)
{
	struct captured *c = ctx;

	assert_true(c->len + len <= sizeof(c->bytes));
	memcpy(c->bytes + c->len, data, len);
	c->len += len;
}

static void
capture_value(void *ctx, const struct kv_value *v)
{
	struct captured *c = ctx;

	for (uint32_t i = 0; i < v->n; i++)
		capture_bytes(ctx, pst_pool_name_to_addr(c->pool, v->names[i]),
			      pst_name_length(v->names[i]));
}

static void
capture_close(void *ctx)
{
	(void)ctx;
	fail_msg("the connection was closed");
}

/* The server's holder, as server.c's: a kept span is referenced by the
 * stream until consumed. */
static struct kv_store *holder_store;

static int
hold_keep(void *arg, uint32_t hold, pst_name name)
{
	(void)arg;
	(void)hold;
	if (pst_pool_keep(holder_store->pool, pst_name_index(name)) != 0)
		return -1;
	kv_ref(holder_store, name);
	return 0;
}

static void
hold_unhold(void *arg, uint32_t hold, pst_name name, int kept)
{
	(void)arg;
	(void)hold;
	if (kept)
		kv_unref(holder_store, name);
	else
		pst_pool_release(holder_store->pool, pst_name_index(name));
}

static const struct kv_stream_holder holder = { .keep = hold_keep, .unhold = hold_unhold };

/* Execute RESP @msg for the connection of @m; its reply must be @want.
 * @in_pool: the request's bytes arrive in a pool buffer (returned in
 * *@buf), held as the server holds them; else in DRAM. */
static void
run(struct kv_exec *x, struct kv_multi *m, const char *msg, const char *want,
    int in_pool, uint32_t *buf)
{
	struct captured cap = { .len = 0, .pool = x->store->pool };
	int continue_sent = 0;
	const struct kv_out out = { .bytes = capture_bytes, .value = capture_value,
				    .close = capture_close, .ctx = &cap,
				    .continue_sent = &continue_sent, .multi = m };
	uint32_t len = (uint32_t)strlen(msg), idx;
	struct kv_stream s;

	kv_stream_init(&s);
	if (in_pool) {
		uint8_t *a;

		tu_assert_rc(pst_pool_take(x->store->pool, &idx), 0);
		a = pst_pool_buf_addr(x->store->pool, idx);
		memcpy(a, msg, len);
		s.holder = &holder;
		tu_assert_rc(kv_stream_push_held(&s, pst_name_make(idx, 0, (uint16_t)len), a,
						 len, 1), 0);
		if (buf != NULL)
			*buf = idx;
	} else {
		tu_assert_rc(kv_stream_push(&s, PST_NAME_INVALID, msg, len), 0);
	}
	assert_int_equal(kv_exec_next(x, &s, 0, &out), (long)len);
	kv_stream_consume(&s, s.len, NULL, NULL);
	kv_stream_fini(&s, NULL, NULL);
	if (cap.len != strlen(want) || memcmp(cap.bytes, want, cap.len) != 0)
		fail_msg("%s: '%.*s', want '%s'", msg, (int)cap.len, cap.bytes, want);
}

#define SET_K(k, v) "*3\r\n$3\r\nSET\r\n$1\r\n" k "\r\n$5\r\n" v "\r\n"
#define GET_K(k) "*2\r\n$3\r\nGET\r\n$1\r\n" k "\r\n"

static struct pst_pool *
open_store(struct kv_store *st, struct kv_exec *x, int in_dram, const char *name)
{
	char path[PATH_MAX];
	struct pst_pool *p;

	tu_path(path, sizeof(path), name);
	p = tu_must_create(path, BUF_SIZE, 1024, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(st, p, &kv_index_wal, 0), 0);
	tu_assert_rc(kv_exec_init(x, st, in_dram), 0);
	holder_store = st;
	return p;
}

static void
close_store(struct kv_store *st, struct kv_exec *x, struct pst_pool *p)
{
	kv_exec_fini(x);
	kv_store_close(st);
	tu_close(p);
}

static uint64_t
kept(struct pst_pool *p)
{
	struct pst_pool_levels l;

	pst_pool_levels(p, &l);
	return l.kept;
}

/* Zero copy: the queue holds the request's buffer, EXEC hands it to the
 * value, DISCARD and the connection's end release it. */
static void
test_queue_references(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	uint32_t b1, b2, b3;
	uint64_t before;

	(void)state;
	p = open_store(&st, &x, 0, "refs");
	before = kept(p);
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("k", "hello"), "+QUEUED\r\n", 1, &b1);
	/* consumed from the stream, referenced by the queue alone */
	assert_int_equal(st.refs[b1], 1);
	assert_int_equal(kept(p), before + 1);
	assert_int_equal(st.sets, 0);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n", "*1\r\n+OK\r\n", 0, NULL);
	/* now the value's */
	assert_int_equal(st.refs[b1], 1);
	run(&x, &m, GET_K("k"), "$5\r\nhello\r\n", 0, NULL);

	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("d", "byeby"), "+QUEUED\r\n", 1, &b2);
	assert_int_equal(st.refs[b2], 1);
	run(&x, &m, "*1\r\n$7\r\nDISCARD\r\n", "+OK\r\n", 0, NULL);
	assert_int_equal(st.refs[b2], 0);
	run(&x, &m, GET_K("d"), "$-1\r\n", 0, NULL);

	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("e", "never"), "+QUEUED\r\n", 1, &b3);
	assert_int_equal(st.refs[b3], 1);
	kv_multi_end(&x, &m);     /* the connection goes */
	assert_int_equal(st.refs[b3], 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	assert_int_equal(kept(p), before + 1);   /* k's value alone */
	assert_int_equal(st.reserved, 0);
	close_store(&st, &x, p);
}

/* DRAM (linux-kvs): the queue copies, and reserves what EXEC's copies
 * will take; EXEC and DISCARD give the reservation back. */
static void
test_queue_dram(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	(void)state;
	p = open_store(&st, &x, 1, "dram");
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("a", "11111"), "+QUEUED\r\n", 0, NULL);
	run(&x, &m, "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n", "+QUEUED\r\n", 0, NULL);
	run(&x, &m, GET_K("a"), "+QUEUED\r\n", 0, NULL);
	assert_true(st.reserved >= 2);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n", "*3\r\n+OK\r\n:11112\r\n$5\r\n11112\r\n", 0, NULL);
	assert_int_equal(st.reserved, 0);
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("a", "22222"), "+QUEUED\r\n", 0, NULL);
	assert_true(st.reserved > 0);
	run(&x, &m, "*1\r\n$7\r\nDISCARD\r\n", "+OK\r\n", 0, NULL);
	assert_int_equal(st.reserved, 0);
	run(&x, &m, GET_K("a"), "$5\r\n11112\r\n", 0, NULL);
	kv_multi_end(&x, &m);
	close_store(&st, &x, p);
}

/* EXEC's array header for every count of digits it is written with
 * (one and two digits are not formatted): *0 to *123, no leading zero. */
static void
test_exec_header(void **state)
{
	static const unsigned int counts[] = { 0, 1, 9, 10, 42, 99, 100, 123 };
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	char want[1024];
	unsigned int i, k;
	int n;

	(void)state;
	p = open_store(&st, &x, 0, "header");
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
		for (k = 0; k < counts[i]; k++)
			run(&x, &m, "*1\r\n$4\r\nPING\r\n", "+QUEUED\r\n", 0, NULL);
		n = snprintf(want, sizeof(want), "*%u\r\n", counts[i]);
		for (k = 0; k < counts[i]; k++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "+PONG\r\n");
		run(&x, &m, "*1\r\n$4\r\nEXEC\r\n", want, 0, NULL);
	}
	kv_multi_end(&x, &m);
	close_store(&st, &x, p);
}

/* One connection's receive stream, fed a segment at a time and run as
 * server.c's process() runs it: what kv_exec_next() used is skipped while
 * the transaction's requests stay in the stream, consumed otherwise, and
 * past stream_max the transaction moves out. */
struct conn {
	struct kv_exec *x;
	struct kv_multi *m;
	struct kv_stream s;
	struct captured cap;
	int continue_sent;
	int fixed_queued;         /* replies +QUEUED through kv_out::queued */
};

static unsigned int queued_calls;

/* kv_out::queued, as the server's: the same bytes, in order with the
 * others, counted. */
static void
capture_queued(void *ctx)
{
	capture_bytes(ctx, "+QUEUED\r\n", 9);
	queued_calls++;
}

static void
conn_open(struct conn *c, struct kv_exec *x, struct kv_multi *m, size_t stream_max)
{
	memset(c, 0, sizeof(*c));
	c->x = x;
	c->m = m;
	m->stream_max = stream_max;
	kv_stream_init(&c->s);
	c->s.holder = &holder;
	c->cap.pool = x->store->pool;
}

/* @msg arrives in a pool buffer of its own (returned in *@buf); the
 * replies to what it completes must be @want. */
static void
conn_feed(struct conn *c, const char *msg, const char *want, uint32_t *buf)
{
	const struct kv_out out = { .bytes = capture_bytes, .value = capture_value,
				    .close = capture_close,
				    .queued = c->fixed_queued ? capture_queued : NULL,
				    .ctx = &c->cap,
				    .continue_sent = &c->continue_sent, .multi = c->m };
	uint32_t len = (uint32_t)strlen(msg), idx;
	unsigned int steps = 0;
	uint8_t *a;
	long used;

	assert_true(len <= BUF_SIZE);
	tu_assert_rc(pst_pool_take(c->x->store->pool, &idx), 0);
	a = pst_pool_buf_addr(c->x->store->pool, idx);
	memcpy(a, msg, len);
	tu_assert_rc(kv_stream_push_held(&c->s, pst_name_make(idx, 0, (uint16_t)len), a,
					 len, 1), 0);
	if (buf != NULL)
		*buf = idx;
	c->cap.len = 0;
	while (c->s.len > 0 && steps++ < 1000) {
		used = kv_exec_next(c->x, &c->s, 0, &out);
		if (used < 0)
			break;
		if (!kv_multi_in_stream(c->m)) {
			kv_stream_consume(&c->s, (size_t)used, NULL, NULL);
		} else {
			kv_stream_skip(&c->s, (size_t)used);
			if (c->s.base > c->m->stream_max)
				kv_multi_unstream(c->x, c->m, &c->s);
		}
	}
	if (c->cap.len != strlen(want) || memcmp(c->cap.bytes, want, c->cap.len) != 0)
		fail_msg("%s: '%.*s', want '%s'", msg, (int)c->cap.len, c->cap.bytes, want);
}

static void
conn_close(struct conn *c)
{
	kv_multi_end(c->x, c->m);
	kv_stream_fini(&c->s, NULL, NULL);
}

#define MULTI "*1\r\n$5\r\nMULTI\r\n"
#define EXEC "*1\r\n$4\r\nEXEC\r\n"
#define DISCARD "*1\r\n$7\r\nDISCARD\r\n"

/* A transaction's requests stay in the receive stream, held and not
 * kept: nothing referenced by the queue, their values' buffers reserved
 * against the store; EXEC runs them from there and the pipelined request
 * after it in the same segment runs too; DISCARD and the connection's
 * end let everything go. */
static void
test_in_stream(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	struct conn c;
	uint32_t b1, b2, b3;
	uint64_t before;

	(void)state;
	p = open_store(&st, &x, 0, "instream");
	before = kept(p);
	conn_open(&c, &x, &m, 16384);
	conn_feed(&c, MULTI SET_K("a", "aaaaa") "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
		  "+OK\r\n+QUEUED\r\n+QUEUED\r\n", &b1);
	assert_true(kv_multi_in_stream(&m));
	assert_int_equal(c.s.len, 0);
	assert_true(c.s.base > 0);          /* left unconsumed */
	assert_int_equal(st.refs[b1], 0);   /* not the queue's */
	assert_int_equal(kept(p), before);
	assert_true(st.reserved > 0);       /* charged when queued */
	conn_feed(&c, SET_K("b", "bbbbb") "*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n",
		  "+QUEUED\r\n-ERR unknown command 'FOO', with args beginning with: 'x' \r\n",
		  &b2);
	conn_feed(&c, EXEC GET_K("b") GET_K("a"),
		  "-EXECABORT Transaction discarded because of previous errors.\r\n"
		  "$-1\r\n$-1\r\n", NULL);
	assert_int_equal(c.s.len, 0);
	assert_int_equal(c.s.base, 0);
	assert_int_equal(c.s.n, 0);
	assert_int_equal(st.reserved, 0);

	conn_feed(&c, MULTI SET_K("a", "aaaaa") "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
		  "+OK\r\n+QUEUED\r\n+QUEUED\r\n", &b1);
	conn_feed(&c, SET_K("b", "bbbbb"), "+QUEUED\r\n", &b2);
	conn_feed(&c, EXEC GET_K("b") GET_K("a") GET_K("n"),
		  "*3\r\n+OK\r\n:1\r\n+OK\r\n$5\r\nbbbbb\r\n$5\r\naaaaa\r\n$1\r\n1\r\n", NULL);
	assert_int_equal(st.reserved, 0);
	assert_int_equal(c.s.n, 0);
	assert_int_equal(st.refs[b1], 1);   /* a's value */
	assert_int_equal(st.refs[b2], 1);   /* b's value */

	/* DISCARD: nothing applied, nothing kept, nothing reserved. */
	conn_feed(&c, MULTI SET_K("d", "ddddd"), "+OK\r\n+QUEUED\r\n", &b3);
	assert_true(st.reserved > 0);
	conn_feed(&c, DISCARD GET_K("d"), "+OK\r\n$-1\r\n", NULL);
	assert_int_equal(st.reserved, 0);
	assert_int_equal(c.s.n, 0);
	assert_int_equal(st.refs[b3], 0);

	/* The connection's end with a transaction open in the stream. */
	conn_feed(&c, MULTI SET_K("e", "eeeee"), "+OK\r\n+QUEUED\r\n", &b3);
	conn_close(&c);
	assert_int_equal(st.reserved, 0);
	assert_int_equal(st.refs[b3], 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	assert_int_equal(kept(p), before + 3);   /* a's, b's and n's values */
	close_store(&st, &x, p);
}

/* A server with a fixed-reply path (kv_out::queued) gets every +QUEUED
 * through it and nothing else, in order with the refusals and replies
 * around them: in the stream and kept, and across the move between them. */
static void
test_queued_fixed(void **state)
{
	static const size_t modes[] = { 16384, 0, 40 };
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	struct conn c;
	unsigned int i;

	(void)state;
	p = open_store(&st, &x, 0, "queuedfixed");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		conn_open(&c, &x, &m, modes[i]);
		c.fixed_queued = 1;
		queued_calls = 0;
		conn_feed(&c, MULTI SET_K("a", "aaaaa") "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
			  "+OK\r\n+QUEUED\r\n+QUEUED\r\n", NULL);
		assert_int_equal(queued_calls, 2);
		conn_feed(&c, "*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n" SET_K("b", "bbbbb") "*1\r\n$4\r\nPING\r\n",
			  "-ERR unknown command 'FOO', with args beginning with: 'x' \r\n"
			  "+QUEUED\r\n+QUEUED\r\n", NULL);
		assert_int_equal(queued_calls, 4);
		conn_feed(&c, EXEC GET_K("a"),
			  "-EXECABORT Transaction discarded because of previous errors.\r\n"
			  "$-1\r\n", NULL);
		conn_feed(&c, MULTI SET_K("a", "aaaaa") "*1\r\n$4\r\nPING\r\n" EXEC GET_K("a"),
			  "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+PONG\r\n$5\r\naaaaa\r\n",
			  NULL);
		assert_int_equal(queued_calls, 6);
		conn_feed(&c, "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n", ":1\r\n", NULL);
		conn_close(&c);
	}
	assert_int_equal(st.reserved, 0);
	close_store(&st, &x, p);
}

/* Past stream_max the transaction leaves the stream: what it queued
 * there is kept by the queue (referenced), the stream's skipped bytes are
 * consumed, and EXEC applies every command, those queued before and after
 * the move. */
static void
test_in_stream_moves(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	struct conn c;
	uint32_t b1, b2;
	uint64_t before;

	(void)state;
	p = open_store(&st, &x, 0, "instream_moves");
	before = kept(p);
	conn_open(&c, &x, &m, 64);
	conn_feed(&c, MULTI SET_K("a", "aaaaa"), "+OK\r\n+QUEUED\r\n", &b1);
	assert_true(kv_multi_in_stream(&m));
	assert_int_equal(st.refs[b1], 0);
	conn_feed(&c, SET_K("b", "bbbbb") SET_K("c", "ccccc"), "+QUEUED\r\n+QUEUED\r\n", &b2);
	/* moved: the stream holds nothing of it, the queue references
	 * both buffers, the reservation is given back */
	assert_false(kv_multi_in_stream(&m));
	assert_true(kv_multi_open(&m));
	assert_int_equal(c.s.n, 0);
	assert_int_equal(c.s.base, 0);
	assert_true(st.refs[b1] >= 1);
	assert_true(st.refs[b2] >= 1);
	assert_int_equal(st.reserved, 0);
	conn_feed(&c, SET_K("d", "ddddd"), "+QUEUED\r\n", NULL);
	conn_feed(&c, EXEC GET_K("a") GET_K("c") GET_K("d"),
		  "*4\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n$5\r\naaaaa\r\n$5\r\nccccc\r\n"
		  "$5\r\nddddd\r\n", NULL);
	assert_int_equal(st.reserved, 0);
	/* the next transaction starts in the stream again */
	conn_feed(&c, MULTI, "+OK\r\n", NULL);
	assert_true(kv_multi_in_stream(&m));
	conn_feed(&c, DISCARD, "+OK\r\n", NULL);
	conn_close(&c);
	tu_assert_rc(pst_pool_drain(p), 0);
	kv_store_release_durable(&st);
	assert_int_equal(kept(p), before + 3);   /* a, b+c (one buffer), d */
	close_store(&st, &x, p);
}

/* --copy (received bytes are not storage): in the stream as above; past
 * stream_max the queue copies the requests into DRAM and reserves what
 * EXEC's copies of their values take; EXEC applies all and gives the
 * reservation back. */
static void
test_in_stream_moves_copy(void **state)
{
	static const struct kv_stream_holder copy_holder = { .unhold = hold_unhold };
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	struct conn c;
	uint32_t b1;

	(void)state;
	p = open_store(&st, &x, 0, "instream_copy");
	st.copy_mode = 1;
	conn_open(&c, &x, &m, 64);
	c.s.holder = &copy_holder;
	conn_feed(&c, MULTI SET_K("a", "aaaaa"), "+OK\r\n+QUEUED\r\n", &b1);
	assert_true(kv_multi_in_stream(&m));
	conn_feed(&c, SET_K("b", "bbbbb") SET_K("c", "ccccc"), "+QUEUED\r\n+QUEUED\r\n", NULL);
	assert_false(kv_multi_in_stream(&m));
	assert_int_equal(c.s.n, 0);
	assert_int_equal(st.refs[b1], 0);   /* copied, not referenced */
	assert_true(st.reserved > 0);       /* for EXEC's copies */
	conn_feed(&c, EXEC GET_K("a") GET_K("b"),
		  "*3\r\n+OK\r\n+OK\r\n+OK\r\n$5\r\naaaaa\r\n$5\r\nbbbbb\r\n", NULL);
	assert_int_equal(st.reserved, 0);
	conn_close(&c);
	close_store(&st, &x, p);
}

/* Past either bound: refused with the reason, and EXEC aborts. */
static void
test_bounds(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	(void)state;
	p = open_store(&st, &x, 1, "bounds");
	x.limits.multi_max_cmds = 2;
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("a", "11111"), "+QUEUED\r\n", 0, NULL);
	run(&x, &m, SET_K("b", "11111"), "+QUEUED\r\n", 0, NULL);
	run(&x, &m, SET_K("c", "11111"),
	    "-ERR transaction too long: at most 2 commands may be queued "
	    "(--multi-max-commands)\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n",
	    "-EXECABORT Transaction discarded because of previous errors.\r\n", 0, NULL);
	run(&x, &m, GET_K("a"), "$-1\r\n", 0, NULL);
	assert_int_equal(st.reserved, 0);

	x.limits.multi_max_cmds = 100;
	x.limits.multi_max_bytes = 60;  /* one SET_K is 33 bytes */
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, SET_K("a", "11111"), "+QUEUED\r\n", 0, NULL);
	run(&x, &m, SET_K("b", "11111"),
	    "-ERR transaction too large: at most 60 bytes may be queued "
	    "(--multi-max-bytes)\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n",
	    "-EXECABORT Transaction discarded because of previous errors.\r\n", 0, NULL);
	assert_int_equal(m.active, 0);
	assert_int_equal(st.reserved, 0);
	kv_multi_end(&x, &m);
	close_store(&st, &x, p);
}

#define OOM "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

/* Over the store's limit, Redis 7.0 refuses every command of an open
 * transaction with -OOM, not only those that may grow the data (GET,
 * WATCH, a nested MULTI, a SET whose options are wrong), and EXEC then
 * aborts; EXEC, DISCARD and QUIT are never refused so. */
static void
test_queue_over_limit(void **state)
{
	struct kv_multi m = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	(void)state;
	p = open_store(&st, &x, 1, "overlimit");
	run(&x, &m, SET_K("a", "11111"), "+OK\r\n", 0, NULL);
	st.max_bufs = kept(p) - 1;
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, GET_K("a"), OOM, 0, NULL);
	run(&x, &m, "*5\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nNX\r\n$2\r\nXX\r\n",
	    OOM, 0, NULL);
	run(&x, &m, "*2\r\n$5\r\nWATCH\r\n$1\r\na\r\n", OOM, 0, NULL);
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", OOM, 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n",
	    "-EXECABORT Transaction discarded because of previous errors.\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nPING\r\n", OOM, 0, NULL);
	run(&x, &m, "*1\r\n$7\r\nDISCARD\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n", "*0\r\n", 0, NULL);
	/* Outside a transaction, a late error of a DENYOOM command is
	 * refused for the store's limit first, as Redis checks maxmemory
	 * before the command runs and finds it. */
	run(&x, &m, "*5\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nNX\r\n$2\r\nXX\r\n",
	    OOM, 0, NULL);
	run(&x, &m, "*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n", OOM, 0, NULL);
	run(&x, &m, GET_K("a"), "$5\r\n11111\r\n", 0, NULL);
	st.max_bufs = 0;
	run(&x, &m, "*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n",
	    "-ERR wrong number of arguments for 'mset' command\r\n", 0, NULL);
	assert_int_equal(st.reserved, 0);
	kv_multi_end(&x, &m);
	close_store(&st, &x, p);
}

/* WATCH: the store's hook is there only while a key is watched. */
static void
test_watch(void **state)
{
	struct kv_multi a = { 0 }, b = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	(void)state;
	p = open_store(&st, &x, 1, "watch");
	assert_null(st.on_write);
	run(&x, &a, SET_K("w", "11111"), "+OK\r\n", 0, NULL);
	run(&x, &a, "*3\r\n$5\r\nWATCH\r\n$1\r\nw\r\n$1\r\nv\r\n", "+OK\r\n", 0, NULL);
	assert_non_null(st.on_write);
	run(&x, &b, SET_K("v", "22222"), "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*-1\r\n", 0, NULL);
	assert_null(st.on_write);    /* EXEC unwatched */

	/* FLUSHALL touches the watched keys that exist only */
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nz\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, "*1\r\n$8\r\nFLUSHALL\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*0\r\n", 0, NULL);
	run(&x, &b, SET_K("z", "33333"), "+OK\r\n", 0, NULL);
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nz\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, "*2\r\n$5\r\nWATCH\r\n$1\r\nz\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, "*1\r\n$8\r\nFLUSHALL\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*-1\r\n", 0, NULL);
	assert_non_null(st.on_write);   /* b still watches */
	kv_multi_end(&x, &b);           /* b's connection goes */
	assert_null(st.on_write);
	kv_multi_end(&x, &a);
	close_store(&st, &x, p);
}

#define PEXPIREAT_W(opt) "*" opt "\r\n$9\r\nPEXPIREAT\r\n$1\r\nw\r\n$13\r\n4102444800000\r\n"

/* An EXPIRE that sets the deadline the key already has is a write for
 * WATCH, as in Redis 7.0 (it answers 1 and signals the key); one that GT,
 * LT or NX turn down (0), or a PERSIST of a key without a deadline, is
 * not. */
static void
test_watch_same_deadline(void **state)
{
	struct kv_multi a = { 0 }, b = { 0 };
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;

	(void)state;
	p = open_store(&st, &x, 1, "watch_deadline");
	run(&x, &a, SET_K("w", "11111"), "+OK\r\n", 0, NULL);
	run(&x, &a, PEXPIREAT_W("3"), ":1\r\n", 0, NULL);
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nw\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, PEXPIREAT_W("3"), ":1\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*-1\r\n", 0, NULL);
	/* XX with the same deadline: applied, a write */
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nw\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, PEXPIREAT_W("4") "$2\r\nXX\r\n", ":1\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*-1\r\n", 0, NULL);
	/* GT with the same deadline: turned down, no write */
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nw\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, PEXPIREAT_W("4") "$2\r\nGT\r\n", ":0\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*0\r\n", 0, NULL);
	/* PERSIST of a key without a deadline: 0, no write */
	run(&x, &a, "*2\r\n$7\r\nPERSIST\r\n$1\r\nw\r\n", ":1\r\n", 0, NULL);
	run(&x, &a, "*2\r\n$5\r\nWATCH\r\n$1\r\nw\r\n", "+OK\r\n", 0, NULL);
	run(&x, &b, "*2\r\n$7\r\nPERSIST\r\n$1\r\nw\r\n", ":0\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	run(&x, &a, "*1\r\n$4\r\nEXEC\r\n", "*0\r\n", 0, NULL);
	kv_multi_end(&x, &b);
	kv_multi_end(&x, &a);
	close_store(&st, &x, p);
}

/* Cluster mode: a queued command for another node's key is redirected
 * and EXEC aborts; keys of several slots across the queue: -CROSSSLOT at
 * EXEC, nothing run. */
static void
test_cluster(void **state)
{
	static struct kv_cluster cl;
	struct kv_multi m = { 0 };
	char err[256], mine[2][64], theirs[64], want[256];
	struct kv_store st;
	struct kv_exec x;
	struct pst_pool *p;
	unsigned int i, n = 0;
	char key[8];

	(void)state;
	tu_assert_rc(kv_cluster_parse(&cl, "n0 198.18.0.1:6379 0-8191\n"
				      "n1 198.18.0.2:6379 8192-16383\n", "n0", err, sizeof(err)), 0);
	theirs[0] = '\0';
	for (i = 0; i < 1000 && (n < 2 || theirs[0] == '\0'); i++) {
		unsigned int slot;

		snprintf(key, sizeof(key), "%c", 'a' + i % 26);
		if (i >= 26)
			snprintf(key, sizeof(key), "k%u", i);
		slot = kv_cluster_key_slot(key, strlen(key));
		if (slot < 8192 && n < 2 && (n == 0 || slot != kv_cluster_key_slot(mine[0], strlen(mine[0]))))
			snprintf(mine[n++], sizeof(mine[0]), "%s", key);
		else if (slot >= 8192 && theirs[0] == '\0')
			snprintf(theirs, sizeof(theirs), "%s", key);
	}
	assert_int_equal(n, 2);
	assert_true(theirs[0] != '\0');
	p = open_store(&st, &x, 1, "cluster");
	x.cluster = &cl;
#define SET_S(k) "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$1\r\nv\r\n", strlen(k), k
	/* one slot, this node's */
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	snprintf(want, sizeof(want), SET_S(mine[0]));
	run(&x, &m, want, "+QUEUED\r\n", 0, NULL);
	run(&x, &m, want, "+QUEUED\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n", "*2\r\n+OK\r\n+OK\r\n", 0, NULL);
	/* two slots of this node's */
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	snprintf(want, sizeof(want), SET_S(mine[1]));
	run(&x, &m, want, "+QUEUED\r\n", 0, NULL);
	snprintf(want, sizeof(want), SET_S(mine[0]));
	run(&x, &m, want, "+QUEUED\r\n", 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n",
	    "-CROSSSLOT Keys in request don't hash to the same slot\r\n", 0, NULL);
	assert_int_equal(m.active, 0);
	snprintf(want, sizeof(want), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(mine[1]),
		 mine[1]);
	run(&x, &m, want, "$-1\r\n", 0, NULL);
	/* another node's key: redirected when queued, EXEC aborts */
	run(&x, &m, "*1\r\n$5\r\nMULTI\r\n", "+OK\r\n", 0, NULL);
	snprintf(want, sizeof(want), SET_S(theirs));
	snprintf(err, sizeof(err), "-MOVED %u 198.18.0.2:6379\r\n",
		 kv_cluster_key_slot(theirs, strlen(theirs)));
	run(&x, &m, want, err, 0, NULL);
	run(&x, &m, "*1\r\n$4\r\nEXEC\r\n",
	    "-EXECABORT Transaction discarded because of previous errors.\r\n", 0, NULL);
#undef SET_S
	kv_multi_end(&x, &m);
	close_store(&st, &x, p);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvmulti");
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
		cmocka_unit_test_teardown(test_queue_references, tu_test_teardown),
		cmocka_unit_test_teardown(test_queue_dram, tu_test_teardown),
		cmocka_unit_test_teardown(test_bounds, tu_test_teardown),
		cmocka_unit_test_teardown(test_exec_header, tu_test_teardown),
		cmocka_unit_test_teardown(test_in_stream, tu_test_teardown),
		cmocka_unit_test_teardown(test_queued_fixed, tu_test_teardown),
		cmocka_unit_test_teardown(test_in_stream_moves, tu_test_teardown),
		cmocka_unit_test_teardown(test_in_stream_moves_copy, tu_test_teardown),
		cmocka_unit_test_teardown(test_queue_over_limit, tu_test_teardown),
		cmocka_unit_test_teardown(test_watch, tu_test_teardown),
		cmocka_unit_test_teardown(test_watch_same_deadline, tu_test_teardown),
		cmocka_unit_test_teardown(test_cluster, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("kvs_multi", tests, group_setup, group_teardown);
}
