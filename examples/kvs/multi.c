/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs transactions (multi.h): the queue of a connection between MULTI
 * and EXEC, EXEC itself, and the table of watched keys the store tells of
 * every write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "command.h"
#include "exec.h"
#include "exec_call.h"
#include "expiry.h"
#include "keyhash.h"
#include "multi.h"
#include "proto.h"
#include "reply.h"

/* One queued request: its parsed form, its bytes (spans of m->spans, in
 * pool buffers it references, or in DRAM) and its arguments (m->args, as
 * offsets into those bytes). */
struct kv_queued {
	enum kv_op op;            /* KV_OP_NONE: a run-time error, in @mem */
	unsigned int argc;
	uint32_t set_flags;
	int64_t expire_ms;
	unsigned int arg0;
	unsigned int span0, n_spans;
	struct kv_stream_mark at; /* in_stream: where it starts in the
	                           * receive stream */
	size_t len;               /* bytes of the request */
	int dram;                 /* the spans are @mem's, not the pool's */
	char *mem;                /* the DRAM copy, or the error's text */
};

/* A key one connection watches, in its bucket of the table and in the
 * connection's list. */
struct kv_watched {
	struct kv_watched *next;
	struct kv_watched *conn_next;
	struct kv_multi *m;
	int expired;              /* past its deadline when watched: its
	                           * deletion as expired is no change */
	uint16_t len;
	char key[];
};

#define WATCH_BUCKETS 1024u

struct kv_watch_table {
	struct kv_watched *b[WATCH_BUCKETS];
	uint64_t n;
};

#define QUEUE_SPAN_MAX 65535u     /* a span's length fits a name */

/* What an open transaction does with a command other than queue it, by
 * op: one load and test per command instead of a chain of comparisons
 * (queue_in_stream(), kv_cmd_exec()). */
enum {
	OP_RUN = 1,               /* run now, as Redis does */
	OP_RUN_ROOM = 2,          /* run now if the store is not over its limit */
	OP_FLUSH = 4,             /* empties the index: no part of a unit */
};

static const uint8_t op_class[KV_OP_COUNT] = {
	[KV_OP_EXEC] = OP_RUN, [KV_OP_DISCARD] = OP_RUN, [KV_OP_QUIT] = OP_RUN,
	[KV_OP_MULTI] = OP_RUN_ROOM, [KV_OP_WATCH] = OP_RUN_ROOM,
	[KV_OP_FLUSHALL] = OP_FLUSH, [KV_OP_FLUSHDB] = OP_FLUSH,
};

static const char queued_reply[] = "+QUEUED\r\n";
static const char ok_reply[] = "+OK\r\n";
static const char oom_error[] = "OOM command not allowed when used memory > 'maxmemory'.";

/* ---- watched keys ------------------------------------------------------ */

static struct kv_watched **
bucket(struct kv_watch_table *t, const void *key, uint16_t len)
{
	return &t->b[kv_key_hash(key, len) & (WATCH_BUCKETS - 1)];
}

/* Whether @key is in the store (past its deadline or not: what FLUSHALL
 * empties), without counting a read. */
static int
key_stored(const struct kv_store *st, const void *key, uint16_t len)
{
	return st->ops->get(st->idx, key, len) != NULL;
}

/* Whether @key's deadline, in its record, has passed (it may still be
 * stored), without counting a read. */
static int
key_expired(const struct kv_exec *x, const void *key, uint16_t len)
{
	const struct kv_value *v = x->store->ops->get(x->store->idx, key, len);

	return v != NULL && v->deadline_ms != 0 && v->deadline_ms <= kv_expiry_now_ms();
}

/* The store's kv_store::on_write while some key is watched. */
static void
watch_touch(void *arg, const void *key, uint16_t len)
{
	struct kv_exec *x = arg;
	struct kv_watch_table *t = x->watch;
	struct kv_watched *w;
	unsigned int i;

	if (key == NULL) {
		/* FLUSHALL, before it empties the store: as Redis, only the
		 * watched keys it will delete are touched. */
		for (i = 0; i < WATCH_BUCKETS; i++)
			for (w = t->b[i]; w != NULL; w = w->next)
				if (key_stored(x->store, w->key, w->len))
					w->m->dirty_cas = 1;
		return;
	}
	for (w = *bucket(t, key, len); w != NULL; w = w->next) {
		if (w->len != len || memcmp(w->key, key, len) != 0)
			continue;
		if (w->expired && !key_stored(x->store, key, len)) {
			/* An expired key deleted: logically no change. */
			w->expired = 0;
			continue;
		}
		w->m->dirty_cas = 1;
	}
}

/* Watch @key for @m. Returns 0 or -ENOMEM. */
static int
watch_add(struct kv_exec *x, struct kv_multi *m, const char *key, uint16_t len)
{
	struct kv_watch_table *t = x->watch;
	struct kv_watched *w, **b;

	for (w = m->watched; w != NULL; w = w->conn_next)
		if (w->len == len && memcmp(w->key, key, len) == 0)
			return 0;
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return -ENOMEM;
		x->watch = t;
	}
	w = malloc(sizeof(*w) + len);
	if (w == NULL)
		return -ENOMEM;
	memcpy(w->key, key, len);
	w->len = len;
	w->m = m;
	w->expired = key_expired(x, key, len);
	b = bucket(t, key, len);
	w->next = *b;
	*b = w;
	w->conn_next = m->watched;
	m->watched = w;
	if (t->n++ == 0) {
		x->store->on_write = watch_touch;
		x->store->on_write_arg = x;
	}
	return 0;
}

/* UNWATCH: forget every key @m watches, and that one was written. */
static void
unwatch_all(struct kv_exec *x, struct kv_multi *m)
{
	struct kv_watch_table *t = x->watch;
	struct kv_watched *w, **pp;

	while ((w = m->watched) != NULL) {
		m->watched = w->conn_next;
		for (pp = bucket(t, w->key, w->len); *pp != w; pp = &(*pp)->next)
			;
		*pp = w->next;
		free(w);
		if (--t->n == 0) {
			x->store->on_write = NULL;
			x->store->on_write_arg = NULL;
		}
	}
	m->dirty_cas = 0;
}

/* EXEC: a watched key that was live when watched and is past its deadline
 * now counts as written, deleted or not. */
static void
watch_check_expired(struct kv_exec *x, struct kv_multi *m)
{
	struct kv_watched *w;

	for (w = m->watched; w != NULL && !m->dirty_cas; w = w->conn_next)
		if (!w->expired && key_expired(x, w->key, w->len))
			m->dirty_cas = 1;
}

void
kv_multi_fini(struct kv_exec *x)
{
	struct kv_watch_table *t = x->watch;
	struct kv_watched *w;
	unsigned int i;

	if (t == NULL)
		return;
	for (i = 0; i < WATCH_BUCKETS; i++)
		while ((w = t->b[i]) != NULL) {
			t->b[i] = w->next;
			free(w);
		}
	if (x->store->on_write == watch_touch)
		x->store->on_write = NULL;
	free(t);
	x->watch = NULL;
}

/* ---- the queue --------------------------------------------------------- */

/* Let go of the queue: the buffers it references, its reservation. */
static void
queue_release(struct kv_exec *x, struct kv_multi *m)
{
	unsigned int i;

	/* The queue's spans in one pass: a DRAM copy's are not the pool's
	 * (no name), a queued error has none. */
	for (i = 0; i < m->n_spans; i++)
		if (m->spans[i].name != PST_NAME_INVALID)
			kv_unref(x->store, m->spans[i].name);
	for (i = 0; m->n_mem > 0 && i < m->n; i++)
		if (m->q[i].mem != NULL) {   /* rarely: a copy or an error's text */
			free(m->q[i].mem);
			m->n_mem--;
		}
	kv_store_unreserve(x->store, m->reserved);
	m->reserved = 0;
	m->n = m->n_spans = m->n_args = 0;
	m->bytes = 0;
	m->denyoom = 0;
	m->active = 0;
	m->in_stream = 0;
	m->dirty_exec = 0;
}

/* The transaction is over (EXEC, DISCARD): its queue and watches go, its
 * arrays stay for the next one. */
static void
discard(struct kv_exec *x, struct kv_multi *m)
{
	queue_release(x, m);
	if (m->watched != NULL)
		unwatch_all(x, m);
	m->dirty_cas = 0;
}

void
kv_multi_end(struct kv_exec *x, struct kv_multi *m)
{
	discard(x, m);
	free(m->q);
	free(m->spans);
	free(m->args);
	m->q = NULL;
	m->spans = NULL;
	m->args = NULL;
	m->cap = m->spans_cap = m->args_cap = 0;
}

/* Room for @n more of an array's elements (doubling). */
static int
grow(void **a, unsigned int *cap, unsigned int used, unsigned int n, size_t size)
{
	unsigned int c;
	void *p;

	if (used + n <= *cap)   /* first: the common case, once per command */
		return 0;
	c = *cap ? *cap : 16;
	while (c < used + n)
		c *= 2;
	p = realloc(*a, (size_t)c * size);
	if (p == NULL)
		return -ENOMEM;
	*a = p;
	*cap = c;
	return 0;
}

void
kv_multi_flag(struct kv_multi *m)
{
	if (kv_multi_open(m))
		m->dirty_exec = 1;
}

/* Refuse the command being queued: @msg, and EXEC will abort. */
static int
queue_refuse(struct kv_call *c, const char *msg)
{
	kv_call_error(c, msg);
	kv_multi_flag(c->out->multi);
	return 1;
}

/* Refuse the command being queued for going past a bound. Out of line:
 * its message's buffer and formatting stay off the queue's common path. */
static __attribute__((noinline)) int
queue_refuse_bound(struct kv_call *c)
{
	const struct kv_multi *m = c->out->multi;
	const struct kv_exec *x = c->srv;
	char msg[128];

	if (m->n >= x->limits.multi_max_cmds)
		snprintf(msg, sizeof(msg), "ERR transaction too long: at most %u commands "
			 "may be queued (--multi-max-commands)", x->limits.multi_max_cmds);
	else
		snprintf(msg, sizeof(msg), "ERR transaction too large: at most %zu bytes "
			 "may be queued (--multi-max-bytes)", x->limits.multi_max_bytes);
	return queue_refuse(c, msg);
}

/* The request's bytes copied into DRAM, as spans of at most a name's
 * length. Returns 0 or -ENOMEM. */
static int
queue_copy(struct kv_multi *m, struct kv_queued *q, const struct kv_stream *rx)
{
	size_t off, chunk;
	unsigned int n = (unsigned int)((q->len + QUEUE_SPAN_MAX - 1) / QUEUE_SPAN_MAX);

	if (grow((void **)&m->spans, &m->spans_cap, m->n_spans, n, sizeof(*m->spans)) != 0)
		return -ENOMEM;
	q->mem = malloc(q->len ? q->len : 1);
	if (q->mem == NULL)
		return -ENOMEM;
	m->n_mem++;
	kv_stream_copy(rx, 0, q->mem, q->len);
	for (off = 0; off < q->len; off += chunk) {
		struct kv_span *sp = &m->spans[m->n_spans + q->n_spans++];

		chunk = q->len - off < QUEUE_SPAN_MAX ? q->len - off : QUEUE_SPAN_MAX;
		memset(sp, 0, sizeof(*sp));
		sp->name = PST_NAME_INVALID;
		sp->data = (const uint8_t *)q->mem + off;
		sp->len = (uint32_t)chunk;
	}
	q->dram = 1;
	return 0;
}

/* The request's bytes where they are: the pool buffers under them kept
 * (through the stream's holder) and referenced by the queue. Returns 0,
 * or -1 when they cannot be (then nothing is referenced). */
static int
queue_ref(struct kv_exec *x, struct kv_multi *m, struct kv_queued *q,
	  const struct kv_stream *rx)
{
	int i, n;

	if (x->values_in_dram || rx->holder == NULL || rx->holder->keep == NULL)
		return -1;
	if (grow((void **)&m->spans, &m->spans_cap, m->n_spans, rx->n, sizeof(*m->spans)) != 0)
		return -1;
	n = kv_stream_spans(rx, 0, q->len, &m->spans[m->n_spans], rx->n);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		kv_ref(x->store, m->spans[m->n_spans + i].name);
	q->n_spans = (unsigned int)n;
	return 0;
}

/* +QUEUED, one per queued command: not formatted, and through the
 * server's fixed-reply path where it has one (kv_out::queued). */
static inline void
reply_queued(const struct kv_out *out)
{
	if (out->queued != NULL)
		out->queued(out->ctx);
	else
		out->bytes(out->ctx, queued_reply, sizeof(queued_reply) - 1);
}

/* What EXEC needs of a parsed request @req queued as @q (q->arg0 set):
 * its command, options and arguments. */
static inline void
queue_parsed(struct kv_multi *m, struct kv_queued *q, const struct kv_request *req)
{
	unsigned int i;

	q->op = req->op;
	q->argc = req->argc;
	q->set_flags = req->set_flags;
	q->expire_ms = req->expire_ms;
	/* A loop, not memcpy(): two or three arguments a command, most
	 * often (m->args may still be NULL when there are none). */
	for (i = 0; i < req->argc; i++)
		m->args[q->arg0 + i] = req->argv[i];
	m->n_args += req->argc;
}

/* kv_multi_queue() of a request parsed whole while the transaction's
 * requests stay in the receive stream: its parsed form and where it is,
 * nothing of its bytes; a command that may grow the store reserves its
 * value's buffers (a request in the stream is held, not the store's). */
static int
queue_in_stream(struct kv_call *c, struct kv_multi *m, struct kv_exec *x,
		const struct kv_request *req)
{
	struct kv_queued *q;
	uint64_t bufs = 0;
	int denyoom;

	if (op_class[req->op] & (OP_RUN | OP_RUN_ROOM)) {
		if ((op_class[req->op] & OP_RUN_ROOM) && kv_store_reserve(x->store, 0) != 0)
			return queue_refuse(c, oom_error);
		return 0;
	}
	denyoom = (kv_commands[req->op].flags & KVC_DENYOOM) != 0;
	if (denyoom)
		bufs = kv_store_value_bufs(x->store, req->consumed);
	/* Redis's rule over the limit, as the queue below: every command. */
	if (kv_store_reserve(x->store, bufs) != 0)
		return queue_refuse(c, oom_error);
	if (m->n >= x->limits.multi_max_cmds ||
	    req->consumed > x->limits.multi_max_bytes - m->bytes)
		goto refuse_bound;
	if (grow((void **)&m->q, &m->cap, m->n, 1, sizeof(*m->q)) != 0 ||
	    grow((void **)&m->args, &m->args_cap, m->n_args, req->argc, sizeof(*m->args)) != 0) {
		kv_store_unreserve(x->store, bufs);
		return queue_refuse(c, "ERR out of memory");
	}
	q = &m->q[m->n++];
	q->arg0 = m->n_args;
	q->span0 = q->n_spans = 0;
	q->at = kv_stream_here(c->rx);
	q->len = req->consumed;
	q->dram = 0;
	q->mem = NULL;
	queue_parsed(m, q, req);
	m->bytes += q->len;
	m->reserved += bufs;
	m->denyoom |= denyoom;
	reply_queued(c->out);
	return 1;
refuse_bound:
	kv_store_unreserve(x->store, bufs);
	return queue_refuse_bound(c);
}

/* The request's bytes (@q->len at the front of @rx) kept for EXEC: by
 * reference where they are, or copied into DRAM, with the buffers EXEC
 * will copy their values into reserved. Returns NULL or the refusal. */
static const char *
queue_keep(struct kv_exec *x, struct kv_multi *m, struct kv_queued *q,
	   const struct kv_stream *rx, int denyoom)
{
	uint64_t bufs;

	if (queue_ref(x, m, q, rx) == 0)
		return NULL;
	/* EXEC will copy its values into buffers of their own. */
	bufs = denyoom ? q->len / x->store->buf_size + 1 : 0;
	if (bufs > 0 && kv_store_reserve(x->store, bufs) != 0)
		return oom_error;
	if (queue_copy(m, q, rx) != 0) {
		kv_store_unreserve(x->store, bufs);
		free(q->mem);
		q->mem = NULL;
		return "ERR out of memory";
	}
	m->reserved += bufs;
	return NULL;
}

void
kv_multi_unstream(struct kv_exec *x, struct kv_multi *m, struct kv_stream *rx)
{
	struct kv_stream_mark here = kv_stream_here(rx);
	unsigned int i;

	if (!m->in_stream)
		return;
	m->in_stream = 0;
	/* What the queue reserved for its requests' values is taken again
	 * as each is kept (counted as the store's then) or copied. */
	kv_store_unreserve(x->store, m->reserved);
	m->reserved = 0;
	for (i = 0; i < m->n; i++) {
		struct kv_queued *q = &m->q[i];

		if (q->op == KV_OP_NONE)
			continue;
		kv_stream_return(rx, q->at);
		q->span0 = m->n_spans;
		if (queue_keep(x, m, q, rx, (kv_commands[q->op].flags & KVC_DENYOOM) != 0) != NULL)
			goto fail;
		m->n_spans += q->n_spans;
	}
	kv_stream_return(rx, here);
	kv_stream_consume(rx, 0, NULL, NULL);
	return;
fail:
	/* EXEC will abort: nothing queued is needed any more. */
	fprintf(stderr, "paste-kvs: a transaction could not be moved out of its stream; "
		"EXEC will abort\n");
	kv_stream_return(rx, here);
	kv_stream_consume(rx, 0, NULL, NULL);
	queue_release(x, m);
	m->active = 1;
	m->dirty_exec = 1;
}

int
kv_multi_queue(struct kv_call *c, int r, const char *err)
{
	const struct kv_request *req = c->req;
	struct kv_multi *m = c->out->multi;
	struct kv_exec *x = c->srv;
	struct kv_queued *q;
	const char *why;
	int denyoom;

	if (m->in_stream && r == KV_PARSE_OK)
		return queue_in_stream(c, m, x, req);
	switch (r == KV_PARSE_OK ? req->op : req->bad_op) {
	case KV_OP_EXEC: case KV_OP_DISCARD: case KV_OP_QUIT:
		if (r == KV_PARSE_OK)
			return 0;   /* run now, as Redis does */
		break;
	default:
		/* Redis 7.0 refuses every other command of an open
		 * transaction over its maxmemory, whether it may grow the
		 * data or not (queuing it would), its arguments right or
		 * not: so does the store, over its limit. */
		if (kv_store_reserve(x->store, 0) != 0)
			return queue_refuse(c, oom_error);
		if (r == KV_PARSE_OK && (req->op == KV_OP_MULTI || req->op == KV_OP_WATCH))
			return 0;   /* run now: they answer their errors */
		break;
	}
	if (m->n >= x->limits.multi_max_cmds ||
	    req->consumed > x->limits.multi_max_bytes - m->bytes)
		return queue_refuse_bound(c);
	if (grow((void **)&m->q, &m->cap, m->n, 1, sizeof(*m->q)) != 0 ||
	    grow((void **)&m->args, &m->args_cap, m->n_args, req->argc, sizeof(*m->args)) != 0)
		return queue_refuse(c, "ERR out of memory");
	q = &m->q[m->n];
	memset(q, 0, sizeof(*q));
	q->span0 = m->n_spans;
	q->arg0 = m->n_args;
	q->len = req->consumed;
	if (r != KV_PARSE_OK) {
		/* An error Redis finds only as the command runs: queued as
		 * its reply. */
		q->op = KV_OP_NONE;
		q->mem = strdup(err[0] ? err : "ERR bad request");
		if (q->mem == NULL)
			return queue_refuse(c, "ERR out of memory");
		m->n_mem++;
		goto queued;
	}
	denyoom = (kv_commands[req->op].flags & KVC_DENYOOM) != 0;
	why = queue_keep(x, m, q, c->rx, denyoom);
	if (why != NULL)
		return queue_refuse(c, why);
	queue_parsed(m, q, req);
	m->n_spans += q->n_spans;
	m->denyoom |= denyoom;
queued:
	m->n++;
	m->bytes += q->len;
	reply_queued(c->out);
	return 1;
}

/* ---- the commands ------------------------------------------------------ */

void
kv_multi_exec_abort(struct kv_call *c, const char *err)
{
	char msg[256];

	if (err[0] == '-')
		err++;
	snprintf(msg, sizeof(msg), "EXECABORT Transaction discarded because of: %s", err);
	kv_call_error(c, msg);
	if (c->out->multi != NULL)
		discard(c->srv, c->out->multi);
}

void
kv_cmd_multi(struct kv_call *c)
{
	struct kv_multi *m = c->out->multi;

	if (m == NULL) {
		kv_call_error(c, "ERR MULTI is not served on this connection");
		return;
	}
	if (m->active) {
		kv_call_error(c, "ERR MULTI calls can not be nested");
		return;
	}
	m->active = 1;
	m->in_stream = m->stream_max > 0;
	/* Not formatted: once per transaction (kv_call_simple's bytes). */
	c->out->bytes(c->out->ctx, ok_reply, sizeof(ok_reply) - 1);
}

void
kv_cmd_discard(struct kv_call *c)
{
	struct kv_multi *m = c->out->multi;

	if (!kv_multi_open(m)) {
		kv_call_error(c, "ERR DISCARD without MULTI");
		return;
	}
	discard(c->srv, m);
	kv_call_simple(c, "OK");
}

void
kv_cmd_watch(struct kv_call *c)
{
	struct kv_multi *m = c->out->multi;
	char buf[KV_KEY_MAX];
	unsigned int i;
	uint16_t len;

	if (m == NULL) {
		kv_call_error(c, "ERR WATCH is not served on this connection");
		return;
	}
	if (m->active) {
		kv_call_error(c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (i = 0; i < c->req->argc; i++) {
		if (c->req->argv[i].len > KV_KEY_MAX)
			continue;  /* never stored: never written */
		len = kv_call_key(c, i, buf);
		if (watch_add(c->srv, m, buf, len) != 0) {
			kv_call_error(c, "ERR out of memory");
			return;
		}
	}
	kv_call_simple(c, "OK");
}

void
kv_cmd_unwatch(struct kv_call *c)
{
	struct kv_multi *m = c->out->multi;

	if (m != NULL && m->watched != NULL)
		unwatch_all(c->srv, m);
	kv_call_simple(c, "OK");
}

/* The stream queued request @q is read from: the connection's, seen from
 * where it starts (the caller seeks back), or the queue's own copy of its
 * bytes, in @view. */
static const struct kv_stream *
queued_stream(const struct kv_call *c, const struct kv_multi *m, const struct kv_queued *q,
	      struct kv_stream *view)
{
	if (m->in_stream) {
		/* The stream is the connection's own, which kv_exec_next()
		 * takes as const only for the parsers. */
		struct kv_stream *rx = (struct kv_stream *)c->rx;

		kv_stream_return(rx, q->at);
		return rx;
	}
	/* No holder: the buffers are the queue's, kept already. */
	kv_stream_init(view);
	view->spans = &m->spans[q->span0];
	view->n = view->cap = q->n_spans;
	view->len = q->len;
	view->front = view->spans;
	return view;
}

/* Cluster mode: the queue's keys must all be in one slot, this node's, as
 * Redis Cluster checks a transaction's keys at EXEC. Returns 1 when it
 * replied (-CROSSSLOT, -MOVED). */
static int
exec_redirect(struct kv_call *c, struct kv_multi *m)
{
	const struct kv_cluster *cl = c->srv->cluster;
	struct kv_request req;
	struct kv_stream view;
	int slot = -1, s;
	unsigned int i;
	char buf[128 + KV_CLUSTER_HOST_MAX];

	if (cl == NULL)
		return 0;
	for (i = 0; i < m->n; i++) {
		const struct kv_queued *q = &m->q[i];

		if (q->op == KV_OP_NONE)
			continue;
		kv_request_clear(&req);
		req.op = q->op;
		req.argc = q->argc;
		if (q->argc > 0)
			memcpy(req.argv, &m->args[q->arg0], q->argc * sizeof(req.argv[0]));
		s = kv_cluster_request_slot(queued_stream(c, m, q, &view), &req);
		if (s == -1)
			continue;
		if (s == -2 || (slot >= 0 && s != slot)) {
			kv_call_error(c, "CROSSSLOT Keys in request don't hash to the same slot");
			return 1;
		}
		slot = s;
	}
	if (slot < 0 || cl->owner[slot] == cl->self)
		return 0;
	snprintf(buf, sizeof(buf), "MOVED %d %s:%u", slot, cl->nodes[cl->owner[slot]].host,
		 cl->nodes[cl->owner[slot]].port);
	kv_call_error(c, buf);
	return 1;
}

/* Run queued request @q, its reply an element of EXEC's, through @call
 * (srv and out set) and @req, which EXEC cleared once: commands take the
 * request as const, so only what differs between queued requests is set
 * here. @rx is the connection's receive stream. */
static inline void
exec_one(struct kv_call *call, const struct kv_stream *rx, struct kv_multi *m,
	 const struct kv_queued *q, struct kv_request *req)
{
	struct kv_stream view;
	unsigned int i;

	if (q->op == KV_OP_NONE) {
		kv_call_error(call, q->mem);
		return;
	}
	if (m->in_stream) {
		/* The connection's own stream, which kv_exec_next() takes as
		 * const only for the parsers (as queued_stream()). */
		kv_stream_return((struct kv_stream *)rx, q->at);
		call->rx = rx;
	} else {
		/* The queued bytes as a stream of their own (no holder:
		 * their buffers are the queue's, kept already). */
		view.spans = &m->spans[q->span0];
		view.n = view.cap = q->n_spans;
		view.len = q->len;
		view.base = 0;
		view.front_i = 0;
		view.front_start = 0;
		view.front = view.spans;
		view.front_skip = 0;
		view.holder = NULL;
		view.hint_i = 0;
		view.hint_base = 0;
		view.span_steps = 0;
		call->rx = &view;
	}
	call->dram = q->dram;
	req->op = q->op;
	req->argc = q->argc;
	req->set_flags = q->set_flags;
	req->expire_ms = q->expire_ms;
	req->consumed = q->len;
	for (i = 0; i < q->argc; i++)   /* as kv_multi_queue() copied them */
		req->argv[i] = m->args[q->arg0 + i];
	kv_commands[q->op].run(call);
}

/* End EXEC's unit; 0 when it failed: its writes were undone and are not
 * durable, but replies saying otherwise may be queued, so the client must
 * not take them for an answer and is closed. */
static int
unit_close(struct kv_call *c, struct kv_exec *x)
{
	if (kv_store_unit_end(x->store) == 0)
		return 1;
	fprintf(stderr, "paste-kvs: a transaction's unit failed; its client is closed\n");
	c->out->close(c->out->ctx);
	return 0;
}

void
kv_cmd_exec(struct kv_call *c)
{
	struct kv_multi *m = c->out->multi;
	struct kv_exec *x = c->srv;
	struct kv_request req;
	struct kv_call call;
	struct kv_stream_mark here = kv_stream_here(c->rx);  /* EXEC's place */
	uint64_t bufs;
	unsigned int i;
	int unit, ret;

	if (!kv_multi_open(m)) {
		kv_call_error(c, "ERR EXEC without MULTI");
		return;
	}
	/* In Redis's order: the cluster's check, maxmemory's, then whether
	 * a command failed to queue, then whether a watched key changed. */
	ret = exec_redirect(c, m);
	if (m->in_stream)
		kv_stream_return((struct kv_stream *)c->rx, here);
	if (ret) {
		discard(x, m);
		return;
	}
	/* Whether the unit fits is decided now, before anything is written:
	 * the values queued in pool buffers are counted as kept already;
	 * those queued in DRAM take the buffers reserved for them. */
	bufs = m->reserved;
	kv_store_unreserve(x->store, m->reserved);
	m->reserved = 0;
	ret = kv_store_unit_begin(x->store, bufs);
	unit = ret == 0;
	if (ret != 0 && m->denyoom) {
		kv_multi_exec_abort(c, oom_error);
		return;
	}
	/* else: a unit that only deletes or reads runs on a full store too
	 * (without a unit's grouping when even that has no room). */
	if (m->dirty_exec) {
		kv_call_error(c, "EXECABORT Transaction discarded because of previous errors.");
		goto done;
	}
	watch_check_expired(x, m);
	if (m->dirty_cas) {
		static const char nil[] = "*-1\r\n";

		c->out->bytes(c->out->ctx, nil, sizeof(nil) - 1);
		goto done;
	}
	/* The transaction's own writes do not touch its watched keys. */
	if (m->watched != NULL)
		unwatch_all(x, m);
	if (m->n < 100) {
		/* Most transactions: one or two digits, not formatted. */
		char hdr[5] = { '*', (char)('0' + m->n / 10), (char)('0' + m->n % 10), '\r', '\n' };
		size_t one = m->n < 10;   /* no leading zero: "*7\r\n" */

		hdr[one] = '*';
		c->out->bytes(c->out->ctx, hdr + one, sizeof(hdr) - one);
	} else {
		char hdr[32];
		int n = kv_resp_array_header(hdr, sizeof(hdr), m->n);

		c->out->bytes(c->out->ctx, hdr, (size_t)n);
	}
	kv_request_clear(&req);
	call = (struct kv_call){ .srv = x, .out = c->out, .req = &req };
	for (i = 0; i < m->n; i++) {
		/* A flush empties the index whole and is no part of a unit
		 * (store.h): the writes queued before it commit as one unit,
		 * those after it as another. */
		if (unit && (op_class[m->q[i].op] & OP_FLUSH)) {
			if (!unit_close(c, x))
				goto done;
			exec_one(&call, c->rx, m, &m->q[i], &req);
			unit = kv_store_unit_begin(x->store, bufs) == 0;
			continue;
		}
		exec_one(&call, c->rx, m, &m->q[i], &req);
	}
done:
	if (unit)
		(void)unit_close(c, x);
	if (m->in_stream)   /* back to EXEC, which its caller consumes */
		kv_stream_return((struct kv_stream *)c->rx, here);
	discard(x, m);
}
