/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: paste-kvs's RESP and HTTP parsers over a stream split
 * into segments the input chooses, executed against a store (a WAL or a
 * B+tree in a pool file) as the server executes them.
 *
 * An input is:
 *   flags (1 byte): 1 HTTP (else RESP), 2 the B+tree (else the WAL),
 *     4 zero copy (else values copied, as linux-kvs does), 8 a tiny store
 *   n (1 byte, modulo 17), then n segment lengths (1 byte each, 1..256)
 *   the stream: the rest; after the n segments, what is left is one more
 *
 * Zero copy is paste-kvs's path: each segment lies in pool buffers of its
 * own (at most 2 KiB per buffer, the rest of the buffer poisoned, as the
 * netif leaves a frame), pushed under a hold; a SET keeps the buffers and
 * stores the value as names into them, and a GET reads it there. Copied,
 * each segment is in a malloc() of exactly its size. Either way an
 * overread of a segment is caught.
 *
 * The stream is parsed and executed twice: pushed whole (in zero copy, as
 * 2 KiB spans), then segment by segment, driving the executor after every
 * segment as the server does (its own resume state, the reservation of a
 * value declared at KV_RESERVE_MIN or more). Beside it a second parser,
 * resuming too, records each request. Invariants: both runs give the same
 * requests (result, command, arguments, flags, bytes consumed, error), the
 * executor consumes what the parser said and nothing of an incomplete
 * request, and after each run (FLUSHALL, drain) the pool is back at its
 * baseline and nothing is reserved: no buffer leaked. The pool is large
 * enough that no reservation fails.
 *
 * With a tiny store (a limit of a few buffers above the index's own) large
 * values are refused as their length is read and their bytes discarded as
 * they arrive: only the split run is executed, without the comparison, for
 * the memory errors, leaks and loops of that path.
 */
#include "asan_poison.h"
#include "exec.h"
#include "fuzz_util.h"
#include "kv_index.h"
#include "multi.h"
#include "paste_errno.h"
#include "proto.h"
#include "store.h"

#define BUF_SIZE 2176u
/* A 1 MiB value declared (KV_VALUE_MAX) reserves 966 buffers: with the
 * stream's and the values' buffers of a 64 KiB input, and the 1/16 the
 * store leaves free, 2048 never refuse one. */
#define BUF_COUNT 2048u
#define SPAN_HEADROOM 128u      /* where a frame's payload would start */
#define SPAN_MAX (BUF_SIZE - SPAN_HEADROOM)
#define TINY_STORE_BUFS 16u     /* over the index's own */
#define MAX_SEGS 16u
#define MAX_REQS 512u

enum { F_HTTP = 1, F_BTREE = 2, F_ZERO_COPY = 4, F_TINY_STORE = 8 };

static struct pst_pool *pool[2];
static struct kv_store store[2];

/* What a parse gave, reduced to what must not depend on the split. */
struct parsed {
	int result;
	enum kv_op op;
	unsigned int argc;
	uint32_t args_crc;
	uint32_t set_flags;
	int64_t expire_ms;
	size_t consumed;
	int keepalive, head;
	uint32_t err_crc;
};

struct run {
	struct parsed req[MAX_REQS];
	unsigned int n;
	size_t left;              /* bytes never consumed */
	int closed;
};

/* Nothing lent or releasing, and nothing kept but the index's own
 * buffers: what a store holding no key must look like. */
static void
check_baseline(int which)
{
	struct kv_store *st = &store[which];
	uint64_t own = st->ops->own_bytes(st->idx) / st->buf_size;
	struct pst_pool_stats s;

	pst_pool_stats(pool[which], &s);
	FZ_CHECK(kv_store_count(st) == 0, "%llu keys after FLUSHALL",
		 (unsigned long long)kv_store_count(st));
	FZ_CHECK(st->reserved == 0, "%llu buffers still reserved",
		 (unsigned long long)st->reserved);
	FZ_CHECK(s.lent == 0 && s.releasing == 0 && s.kept == own,
		 "pool leaked: %llu lent, %llu releasing, %llu kept, index owns %llu",
		 (unsigned long long)s.lent, (unsigned long long)s.releasing,
		 (unsigned long long)s.kept, (unsigned long long)own);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct kv_index_ops *const ops[2] = { &kv_index_wal,
							   &kv_index_btree };
	static char path[2][160];

	(void)argc;
	(void)argv;
	for (int i = 0; i < 2; i++) {
		struct pst_pool_config cfg = { .path = path[i], .buf_size = BUF_SIZE,
					       .buf_count = BUF_COUNT,
					       .persist_mode = PST_PERSIST_FLUSH };
		int ret;

		fz_path("proto", i ? "btree" : "wal", path[i], sizeof(path[i]));
		unlink(path[i]);
		pool[i] = pst_pool_create(&cfg);
		if (pool[i] == NULL)
			fz_fail("create: %s", pst_strerror(pst_errno));
		ret = kv_store_open(&store[i], pool[i], ops[i], 0);
		if (ret != 0)
			fz_fail("kv_store_open: %s", pst_strerror(ret));
		check_baseline(i);
	}
	return 0;
}

/* ---- replies: read every byte, keep nothing -------------------------------------- */

struct out_ctx {
	struct pst_pool *pool;
	uint64_t bytes;           /* reply bytes written */
	int closed;
};

static void
out_bytes(void *ctx, const void *data, size_t len)
{
	const volatile uint8_t *b = data;
	uint8_t x = 0;

	for (size_t i = 0; i < len; i++)
		x ^= b[i];
	(void)x;
	((struct out_ctx *)ctx)->bytes += len;
}

static void
out_value(void *ctx, const struct kv_value *v)
{
	struct out_ctx *o = ctx;

	for (uint16_t i = 0; i < v->n; i++) {
		const void *a = pst_pool_name_to_addr(o->pool, v->names[i]);

		FZ_CHECK(a != NULL, "a stored value names an invalid range");
		out_bytes(ctx, a, pst_name_length(v->names[i]));
	}
}

static void
out_close(void *ctx)
{
	((struct out_ctx *)ctx)->closed = 1;
}

/* ---- zero copy: segments in pool buffers, as the stack holds them ------------------ */

/* The hold of a span is its buffer's index + 1 (0 is "no hold"). Like
 * server.c's holder without the stack: keeping makes the buffer storage and
 * references it for the span; the end of the hold drops that reference, or
 * gives back a buffer no value took. */
static int
zc_keep(void *arg, uint32_t hold, pst_name name)
{
	int which = *(const int *)arg;

	FZ_CHECK(pst_pool_keep(pool[which], hold - 1) == 0, "keep of buffer %u: %s",
		 hold - 1, pst_strerror(pst_errno));
	kv_ref(&store[which], name);
	return 0;
}

static void
zc_unhold(void *arg, uint32_t hold, pst_name name, int kept)
{
	int which = *(const int *)arg;

	if (kept)
		kv_unref(&store[which], name);
	else
		FZ_CHECK(pst_pool_release(pool[which], hold - 1) == 0,
			 "release of buffer %u: %s", hold - 1, pst_strerror(pst_errno));
}

/* @len bytes into fresh pool buffers, SPAN_MAX a buffer, each readable
 * only where its bytes are, pushed under holds. */
static void
push_zero_copy(struct kv_stream *s, int which, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t n = len < SPAN_MAX ? len : SPAN_MAX;
		uint32_t index;
		uint8_t *buf, *at;
		pst_name name;

		FZ_CHECK(pst_pool_take(pool[which], &index) == 0, "take: %s",
			 pst_strerror(pst_errno));
		buf = pst_pool_buf_addr(pool[which], index);
		at = buf + SPAN_HEADROOM;
		pst_poison(buf, BUF_SIZE);
		pst_unpoison(at, n);
		memcpy(at, data, n);
		name = pst_pool_addr_to_name(pool[which], at, (uint32_t)n);
		FZ_CHECK(name != PST_NAME_INVALID, "no name for %zu bytes of buffer %u", n, index);
		FZ_CHECK(kv_stream_push_held(s, name, at, (uint32_t)n, index + 1) == 0,
			 "push of %zu bytes", n);
		data += n;
		len -= n;
	}
}

/* ---- one run ------------------------------------------------------------------------ */

static uint32_t
args_crc(const struct kv_stream *s, const struct kv_request *req)
{
	static uint8_t buf[KV_VALUE_MAX > 65536 ? 65536 : KV_VALUE_MAX];
	uint32_t crc = 0;

	for (unsigned int i = 0; i < req->argc; i++) {
		size_t off = req->argv[i].off, len = req->argv[i].len;
		uint32_t rec[3] = { crc, (uint32_t)len, 0 };

		FZ_CHECK(off <= s->len && len <= s->len - off,
			 "argument %u [%zu, +%zu) outside the stream of %zu bytes", i, off,
			 len, s->len);
		if (len > sizeof(buf))
			len = sizeof(buf);
		kv_stream_copy(s, off, buf, len);
		rec[2] = pst_crc32c(buf, len);
		crc = pst_crc32c(rec, sizeof(rec));
	}
	return crc;
}

/* The server's loop (server.c's process): execute until a request is
 * incomplete. Returns 0 to go on, 1 when the connection is over. An
 * executor that consumes nothing, writes nothing and does not close would
 * spin the server: that fails the run. */
static int
serve(struct kv_exec *x, struct kv_stream *s, int http, const struct kv_out *out,
      unsigned int *n)
{
	struct out_ctx *o = out->ctx;

	while (*n < 4 * MAX_REQS) {
		uint64_t written = o->bytes;
		long used = kv_exec_next(x, s, http, out);

		if (used < 0)
			return 0;
		FZ_CHECK((size_t)used <= s->len, "executed %ld of %zu bytes", used, s->len);
		FZ_CHECK(used > 0 || o->bytes > written || o->closed,
			 "the executor made no progress (nothing consumed, written or closed)");
		kv_stream_consume(s, (size_t)used, NULL, NULL);
		(*n)++;
		if (o->closed)
			return 1;
	}
	return 1;
}

/* Parse (beside the executor) and execute what the stream holds; returns
 * 0 to go on, 1 when the connection is over (framing error, QUIT). */
static int
drain_requests(struct run *r, struct kv_exec *x, struct kv_stream *s, int http,
	       struct kv_parse_state *ps, const struct kv_out *out)
{
	struct out_ctx *o = out->ctx;
	struct kv_request req;
	char err[256];

	while (r->n < MAX_REQS) {
		struct parsed *pr = &r->req[r->n];
		long used;
		int res;

		kv_request_clear(&req);
		res = http ? kv_http_parse_resume(s, &x->limits, ps, &req, err, sizeof(err))
			   : kv_resp_parse_resume(s, &x->limits, ps, &req, err, sizeof(err));
		if (res == KV_PARSE_MORE) {
			/* The server executes on every arrival: its executor
			 * reserves a large value now, and consumes nothing. */
			used = kv_exec_next(x, s, http, out);
			FZ_CHECK(used == -1, "executed %ld bytes of an incomplete request", used);
			return 0;
		}
		FZ_CHECK(res == KV_PARSE_OK || res == KV_PARSE_BAD_REQUEST ||
			 res == KV_PARSE_BAD_STREAM, "parser returned %d", res);
		*pr = (struct parsed){ .result = res, .op = req.op, .argc = req.argc,
				       .set_flags = req.set_flags,
				       .expire_ms = req.expire_ms,
				       .consumed = req.consumed,
				       .keepalive = req.http_keepalive,
				       .head = req.http_head,
				       .err_crc = pst_crc32c(err, strlen(err)) };
		FZ_CHECK(req.consumed <= s->len, "consumed %zu of %zu bytes",
			 req.consumed, s->len);
		if (res != KV_PARSE_BAD_STREAM)
			pr->args_crc = args_crc(s, &req);
		r->n++;
		used = kv_exec_next(x, s, http, out);
		if (res == KV_PARSE_BAD_STREAM) {
			FZ_CHECK(used == 0 && o->closed, "framing error: used %ld, closed %d",
				 used, o->closed);
			return 1;
		}
		FZ_CHECK(used == (long)req.consumed,
			 "executed %ld bytes of a request of %zu", used, req.consumed);
		kv_stream_consume(s, (size_t)used, NULL, NULL);
		if (o->closed)
			return 1;
	}
	return 1;
}

/* One connection's life: the segments arrive one by one. @r NULL: the
 * executor alone (the tiny store's run). */
static void
run(struct run *r, int which, int flags, const uint8_t *data, const size_t *seg,
    unsigned int nseg)
{
	int http = flags & F_HTTP, zero_copy = flags & F_ZERO_COPY;
	const struct kv_stream_holder holder = { .keep = zc_keep, .unhold = zc_unhold,
						 .arg = &which };
	struct out_ctx o = { .pool = pool[which] };
	int continue_sent = 0;
	struct kv_parse_state ps, xps;
	struct kv_upload up;
	struct kv_multi m;
	struct kv_out out = { .bytes = out_bytes, .value = out_value,
			      .close = out_close, .ctx = &o,
			      .continue_sent = &continue_sent, .parse = &xps,
			      .upload = &up, .multi = &m };
	struct kv_stream s;
	struct kv_exec x;
	void *mem[MAX_SEGS + 1] = { NULL };
	unsigned int k, served = 0;
	size_t off = 0;
	int over = 0;

	if (r != NULL)
		memset(r, 0, sizeof(*r));
	memset(&ps, 0, sizeof(ps));
	memset(&xps, 0, sizeof(xps));
	memset(&up, 0, sizeof(up));
	memset(&m, 0, sizeof(m));
	kv_stream_init(&s);
	if (zero_copy)
		s.holder = &holder;
	FZ_CHECK(kv_exec_init(&x, &store[which], !zero_copy) == 0, "kv_exec_init");
	for (k = 0; k < nseg && !over; k++) {
		if (zero_copy) {
			push_zero_copy(&s, which, data + off, seg[k]);
		} else {
			/* Exactly the segment's size: a read past it is caught. */
			mem[k] = malloc(seg[k] ? seg[k] : 1);
			FZ_CHECK(mem[k] != NULL, "out of memory");
			memcpy(mem[k], data + off, seg[k]);
			FZ_CHECK(kv_stream_push(&s, PST_NAME_INVALID, mem[k],
						(uint32_t)seg[k]) == 0,
				 "push of %zu bytes", seg[k]);
		}
		off += seg[k];
		over = r != NULL ? drain_requests(r, &x, &s, http, &ps, &out)
				 : serve(&x, &s, http, &out, &served);
	}
	if (r != NULL) {
		r->left = over ? 0 : s.len;
		r->closed = over;
	}
	/* The connection ends: as server.c's conn_close. */
	kv_exec_upload_end(&x, &up);
	kv_multi_end(&x, &m);   /* a transaction left open: its queue goes */
	kv_stream_fini(&s, NULL, NULL);
	while (k-- > 0)
		free(mem[k]);
	kv_exec_fini(&x);
	/* Back to the baseline: nothing stored, every buffer the index does
	 * not own free again (the leak check). */
	FZ_CHECK(kv_store_flushall(&store[which]) == 0, "flushall");
	FZ_CHECK(pst_pool_drain(pool[which]) == 0, "drain");
	kv_store_release_durable(&store[which]);
	FZ_CHECK(pst_pool_drain(pool[which]) == 0, "drain");
	check_baseline(which);
	FZ_CHECK(pst_pool_verify(pool[which]) == 0, "verify: %s", pst_strerror(pst_errno));
}

static int
same(const struct parsed *a, const struct parsed *b)
{
	return a->result == b->result && a->op == b->op && a->argc == b->argc &&
	       a->args_crc == b->args_crc && a->set_flags == b->set_flags &&
	       a->expire_ms == b->expire_ms && a->consumed == b->consumed &&
	       a->keepalive == b->keepalive && a->head == b->head &&
	       a->err_crc == b->err_crc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split;
	struct fz_in in = { data, size };
	uint8_t flags = fz_u8(&in);
	unsigned int nseg = fz_u8(&in) % (MAX_SEGS + 1), n = 0;
	size_t seg[MAX_SEGS + 1], len, total = 0;
	int which = (flags & F_BTREE) ? 1 : 0;

	for (unsigned int i = 0; i < nseg; i++)
		seg[i] = 1 + (size_t)fz_u8(&in);
	len = in.left;
	if (len > UINT16_MAX)
		return 0;
	for (unsigned int i = 0; i < nseg && total < len; i++, n++) {
		if (seg[i] > len - total)
			seg[i] = len - total;
		total += seg[i];
	}
	if (total < len)
		seg[n++] = len - total;
	if (flags & F_TINY_STORE) {
		struct kv_store *st = &store[which];
		uint64_t limit = st->max_bufs;

		st->max_bufs = st->ops->own_bytes(st->idx) / st->buf_size + TINY_STORE_BUFS;
		run(NULL, which, flags, in.p, seg, n);
		st->max_bufs = limit;
		return 0;
	}
	run(&whole, which, flags, in.p, &len, 1);
	run(&split, which, flags, in.p, seg, n);
	FZ_CHECK(whole.n == split.n, "%u requests whole, %u split", whole.n, split.n);
	for (unsigned int i = 0; i < whole.n; i++)
		FZ_CHECK(same(&whole.req[i], &split.req[i]),
			 "request %u differs whole (result %d op %d argc %u consumed %zu) "
			 "and split (result %d op %d argc %u consumed %zu)", i,
			 whole.req[i].result, whole.req[i].op, whole.req[i].argc,
			 whole.req[i].consumed, split.req[i].result, split.req[i].op,
			 split.req[i].argc, split.req[i].consumed);
	FZ_CHECK(whole.left == split.left && whole.closed == split.closed,
		 "whole left %zu closed %d, split left %zu closed %d", whole.left,
		 whole.closed, split.left, split.closed);
	return 0;
}
