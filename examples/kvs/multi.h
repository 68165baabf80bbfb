/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, as Redis
 * 7.0 answers them (doc/kvs.md, "Transactions").
 *
 * Between MULTI and EXEC a connection's commands are queued, not run.
 * While the open transaction's requests are few (kv_multi::stream_max
 * bytes, a quarter of the smallest TCP window a connection gets), they
 * stay unconsumed in the receive stream, left out of the parsers' sight
 * (kv_stream_skip), and EXEC runs them from there with the arguments
 * parsed when they were queued: nothing is copied, kept or referenced per
 * command, and the rest of the window leaves room for EXEC. Past that
 * (kv_multi_unstream), and without a stream_max, a queued request keeps its
 * bytes where they arrived: the pool buffers under them are kept and
 * referenced (as a stored value's are), so the request is consumed from
 * the receive stream and the connection's window reopens. linux-kvs, and
 * paste-kvs with --copy, whose received bytes are not storage, copy those
 * queued requests into DRAM instead. Either way a queued command that may
 * grow the store is charged to the store's limit when it is queued. What
 * a transaction queues is bounded (kv_limits: commands and bytes) and is
 * let go of by EXEC, DISCARD or the connection's end.
 *
 * EXEC runs the queue within one poll, its writes between
 * kv_store_unit_begin() and kv_store_unit_end(), so they become durable
 * together and the reply leaves after the drain that covers them.
 *
 * WATCH: the store tells a table of watched keys of every write
 * (kv_store::on_write); a write to a key a connection watches makes its
 * next EXEC answer a null array.
 */
#ifndef KVS_MULTI_H
#define KVS_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct kv_queued;
struct kv_watched;

/* Per connection, zeroed at its start. */
struct kv_multi {
	int active;               /* between MULTI and EXEC or DISCARD */
	int dirty_exec;           /* a command failed to queue: EXEC aborts */
	int dirty_cas;            /* a watched key was written: EXEC is nil */
	struct kv_queued *q;      /* the queued requests */
	unsigned int n, cap;
	struct kv_span *spans;    /* their bytes, by request (kv_queued) */
	unsigned int n_spans, spans_cap;
	struct kv_arg *args;      /* their arguments, by request */
	unsigned int n_args, args_cap;
	size_t bytes;             /* request bytes queued */
	unsigned int n_mem;       /* queued entries with a DRAM copy or an
	                           * error's text to free */
	uint64_t reserved;        /* store buffers reserved for the copies
	                           * EXEC will make of DRAM-queued values */
	int denyoom;              /* a queued command may grow the store */
	uint32_t last_buf;        /* pool buffer the last queued span is in
	                           * (+1; 0: none) */
	struct kv_watched *watched; /* this connection's watched keys */
	/* Set by the server: bytes of an open transaction that may stay in
	 * its receive stream (0: none, every request is queued as above). */
	size_t stream_max;
	/* The open transaction's requests are in the stream, skipped: its
	 * owner skips (kv_stream_skip) rather than consumes what
	 * kv_exec_next() used, and calls kv_multi_unstream() past
	 * stream_max. */
	int in_stream;
};

struct kv_exec;
struct kv_call;
struct kv_request;
struct kv_out;

/* Whether @m is between MULTI and EXEC (a transaction left open is cut by
 * the server's request timeout). */
static inline int
kv_multi_open(const struct kv_multi *m)
{
	return m != NULL && m->active;
}

/* Called by kv_exec_next() for a request parsed whole while @out's
 * connection is in a transaction, before anything else is done with it:
 * queue it (+QUEUED), or refuse it (the reply said why, EXEC will abort).
 * @r is the parser's result (KV_PARSE_OK or KV_PARSE_BAD_REQUEST with the
 * error in @err). Returns 1 when it was dealt with, 0 when it is to run
 * now (MULTI, EXEC, DISCARD, WATCH, QUIT) or be refused as usual (an
 * unknown command, a wrong arity, NOAUTH, a redirection: then
 * kv_multi_flag() it). */
int kv_multi_queue(struct kv_call *c, int r, const char *err);

/* Whether what kv_exec_next() used on @m's connection is to be skipped
 * (kv_stream_skip), not consumed: it belongs to a transaction whose
 * requests stay in the receive stream until EXEC or DISCARD. */
static inline int
kv_multi_in_stream(const struct kv_multi *m)
{
	return m->in_stream;
}

/* Move the open transaction of @m out of receive stream @rx (its requests
 * are skipped there, before rx->base): each queued request is kept or
 * copied as a transaction past stream_max is, and @rx's skipped bytes are
 * consumed, reopening the window they held. On failure (out of memory, or
 * the store's limit for copies) the queue is dropped and EXEC will abort. */
void kv_multi_unstream(struct kv_exec *x, struct kv_multi *m, struct kv_stream *rx);

/* A command refused before it could be queued (an unknown command, a
 * wrong arity, NOAUTH, a redirection): EXEC will abort. */
void kv_multi_flag(struct kv_multi *m);

/* The error reply EXEC gets when refused before it runs (@err: Redis's
 * error without its '-'): "-EXECABORT Transaction discarded because of:
 * <err>", the transaction discarded. */
void kv_multi_exec_abort(struct kv_call *c, const char *err);

/* Let go of everything the connection of @m holds (its queue, its watched
 * keys): its end, or a DISCARD. */
void kv_multi_end(struct kv_exec *x, struct kv_multi *m);

/* The watch table's memory, at the server's end. */
void kv_multi_fini(struct kv_exec *x);

#endif /* KVS_MULTI_H */
