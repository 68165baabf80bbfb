/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: paste-kvs's RESP and HTTP parsers over a stream split
 * into segments the input chooses, executed against a store (a WAL or a
 * B+tree in a pool file, values copied into it as linux-kvs does).
 *
 * An input is:
 *   flags (1 byte): 1 HTTP (else RESP), 2 the B+tree (else the WAL)
 *   n (1 byte, modulo 17), then n segment lengths (1 byte each, 1..256)
 *   the stream: the rest; after the n segments, what is left is one more
 * The stream is parsed and executed twice: pushed whole, then segment by
 * segment, each segment in its own allocation of exactly its size (so an
 * overread is caught), parsing after every segment as a server does
 * (RESP resuming where an incomplete request stopped).
 * Invariants: both give the same requests (result, command, arguments,
 * flags, bytes consumed, error), execution consumes what the parser said,
 * and after each run (FLUSHALL, drain) the pool is back at its baseline:
 * no buffer leaked.
 */
#include "exec.h"
#include "fuzz_util.h"
#include "kv_index.h"
#include "paste_errno.h"
#include "proto.h"
#include "store.h"

#define BUF_SIZE 2176u
#define BUF_COUNT 256u
#define MAX_SEGS 16u
#define MAX_REQS 512u

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

static void
out_bytes(void *ctx, const void *data, size_t len)
{
	const volatile uint8_t *b = data;
	uint8_t x = 0;

	(void)ctx;
	for (size_t i = 0; i < len; i++)
		x ^= b[i];
	(void)x;
}

struct out_ctx {
	struct pst_pool *pool;
	int closed;
};

static void
out_value(void *ctx, const struct kv_value *v)
{
	struct out_ctx *o = ctx;

	for (uint16_t i = 0; i < v->n; i++) {
		const void *a = pst_pool_name_to_addr(o->pool, v->names[i]);

		FZ_CHECK(a != NULL, "a stored value names an invalid range");
		out_bytes(NULL, a, pst_name_length(v->names[i]));
	}
}

static void
out_close(void *ctx)
{
	((struct out_ctx *)ctx)->closed = 1;
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

/* Parse and execute what the stream holds; returns 0 to go on, 1 when the
 * connection is over (framing error, QUIT). */
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
		res = http ? kv_http_parse(s, &x->limits, &req, err, sizeof(err))
			   : kv_resp_parse_resume(s, &x->limits, ps, &req, err, sizeof(err));
		if (res == KV_PARSE_MORE)
			return 0;
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
		/* Execute (the executor parses again, from the first byte). */
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

static void
run(struct run *r, int which, int http, const uint8_t *data, const size_t *seg, unsigned int nseg)
{
	struct out_ctx o = { .pool = pool[which] };
	int continue_sent = 0;
	struct kv_parse_state ps;
	struct kv_out out = { .bytes = out_bytes, .value = out_value,
			      .close = out_close, .ctx = &o,
			      .continue_sent = &continue_sent };
	struct kv_stream s;
	struct kv_exec x;
	void *mem[MAX_SEGS + 1];
	unsigned int k;
	size_t off = 0;
	int over = 0;

	memset(r, 0, sizeof(*r));
	memset(&ps, 0, sizeof(ps));
	kv_stream_init(&s);
	FZ_CHECK(kv_exec_init(&x, &store[which], 1) == 0, "kv_exec_init");
	for (k = 0; k < nseg && !over; k++) {
		/* Exactly the segment's size: a read past it is caught. */
		mem[k] = malloc(seg[k] ? seg[k] : 1);
		FZ_CHECK(mem[k] != NULL, "out of memory");
		memcpy(mem[k], data + off, seg[k]);
		off += seg[k];
		FZ_CHECK(kv_stream_push(&s, PST_NAME_INVALID, mem[k], (uint32_t)seg[k]) == 0,
			 "push of %zu bytes", seg[k]);
		over = drain_requests(r, &x, &s, http, &ps, &out);
	}
	r->left = over ? 0 : s.len;
	r->closed = over;
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
	int which = (flags >> 1) & 1, http = flags & 1;

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
	run(&whole, which, http, in.p, &len, 1);
	run(&split, which, http, in.p, seg, n);
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
