/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs connections. Every received segment is held (pst_conn_hold:
 * lent, not storage, and closing the connection's TCP window until it is
 * consumed) and appended to the connection's stream; the parsers find
 * requests across segments; a SET's value is the list of names covering its
 * bytes, whose buffers are kept then and referenced by the store; every
 * hold ends when its bytes are consumed, so a client that stops sending
 * mid-request pins only its window's worth of buffers. Replies are queued
 * with pst_conn_send / send_name and leave after the poll's drain, so +OK
 * means durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>

#include "auth.h"
#include "multi.h"
#include "client.h"
#include "proto.h"
#include "reply_inplace.h"
#include "server.h"

#define STREAM_MAX (64u << 20) /* unparsed bytes per connection */
#define OUT_MAX 65536          /* queued reply pieces per connection */
/* An open transaction's requests stay unconsumed in the receive stream
 * while they hold at most this many bytes (multi.h): a quarter of the
 * smallest window a connection is granted (64 KiB, paste_stack.h's
 * conn_rx_buffers), so EXEC always has room to arrive. */
#define MULTI_STREAM_MAX (16u << 10)

/* ---- connections ------------------------------------------------------ */

struct out_item {
	pst_name name;            /* PST_NAME_INVALID: bytes below */
	uint32_t len;
	char *bytes;
};

struct kv_conn {
	struct kv_server *srv;
	struct kv_conn *prev, *next; /* srv->conns */
	struct pst_conn *conn;
	int http;
	struct kv_stream rx;
	struct out_item *out;     /* reply pieces waiting for send buffer */
	unsigned int out_head, out_len, out_cap;
	uint64_t out_bytes;       /* bytes of those pieces */
	/* Clock (srv->now) of: the last byte received, the first byte of
	 * the request in rx, the last reply byte the peer took (or the
	 * output queue's start). */
	double last_rx, req_start, send_progress;
	int closing;              /* close once the output is out */
	int overflow;             /* over the output limit: abort */
	int continue_sent;        /* HTTP 100 Continue sent for this request */
	int dead;
	struct kv_stream_holder holder;
	struct kv_parse_state parse; /* an incomplete request, read so far */
	struct kv_upload upload;  /* its value's reservation, or a discard */
	struct kv_auth_conn auth; /* AUTH passed, failures */
	struct kv_multi multi;    /* MULTI's queue, WATCHed keys */
	double multi_start;       /* clock (srv->now) of its MULTI */
	struct kv_client client;  /* CLIENT's id and name */
	/* Small reply bytes not yet given to the stack: the replies to a
	 * burst of pipelined requests (+OK, a GET's "$N" line and its
	 * trailer) go out in one send, not one each (pend_flush). About a
	 * segment's payload: a transaction's +QUEUED replies and EXEC's
	 * array of +OK fill 256 bytes every two rounds or so. */
	uint32_t pend_len;
	char pend[1408];
	/* On srv->pend_conns: pend is sent at the end of the receive burst,
	 * once for all the segments the burst brought (burst_end). */
	int pend_listed;
	struct kv_conn *pend_next;
};

/* A span of a SET's value: its buffer becomes storage, referenced by the
 * stream until the span is consumed (and by the store for the value). */
static int
span_keep(void *arg, uint32_t hold, pst_name name)
{
	struct kv_conn *c = arg;
	struct kv_store *st = c->srv->store;
	uint64_t t0 = kv_store_stage_clock(st);

	if (pst_conn_keep_held(c->conn, hold) != 0)
		return -1;
	kv_ref(st, name);
	st->stages.keep += kv_store_stage_clock(st) - t0;
	return 0;
}

/* span_keep() of a value's spans, their buffers kept together. */
static unsigned int
span_keep_many(void *arg, const uint32_t *holds, const pst_name *names, unsigned int n)
{
	struct kv_conn *c = arg;
	struct kv_store *st = c->srv->store;
	uint64_t t0 = kv_store_stage_clock(st);
	unsigned int kept, i;

	(void)pst_conn_keep_held_many(c->conn, holds, n, &kept);
	for (i = 0; i < kept; i++)
		kv_ref(st, names[i]);
	st->stages.keep += kv_store_stage_clock(st) - t0;
	return kept;
}

static void
span_unhold(void *arg, uint32_t hold, pst_name name, int kept)
{
	struct kv_conn *c = arg;

	pst_conn_unhold(c->conn, hold);
	if (kept)
		kv_unref(c->srv->store, name);
}

/* The connection's state: its TCP connection is closed already, or being
 * closed or aborted by the caller. */
static void
conn_close(struct kv_conn *c)
{
	struct kv_store *st = c->srv->store;
	unsigned int i;

	kv_exec_upload_end(&c->srv->exec, &c->upload);
	kv_multi_end(&c->srv->exec, &c->multi);
	kv_client_end(&c->srv->exec, &c->client);
	/* The holds ended with the TCP connection: only the references of
	 * kept spans are left to drop. */
	c->rx.holder = NULL;
	for (i = 0; i < c->rx.n; i++)
		if (c->rx.spans[i].kept)
			kv_unref(st, c->rx.spans[i].name);
	kv_stream_fini(&c->rx, NULL, NULL);
	while (c->out_len > 0) {
		struct out_item *it = &c->out[c->out_head];

		if (it->name != PST_NAME_INVALID)
			kv_unref(st, it->name);
		free(it->bytes);
		c->out_head = (c->out_head + 1) % c->out_cap;
		c->out_len--;
	}
	free(c->out);
	if (c->pend_listed) {
		struct kv_conn **pp = &c->srv->pend_conns;

		while (*pp != c)
			pp = &(*pp)->pend_next;
		*pp = c->pend_next;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->srv->n_conns--;
	c->srv->exec.n_conns--;
	free(c);
}

static int
out_push(struct kv_conn *c, pst_name name, const void *bytes, uint32_t len)
{
	struct out_item *it;

	if (c->out_len == c->out_cap) {
		unsigned int cap = c->out_cap ? c->out_cap * 2 : 64, i;
		struct out_item *o;

		if (cap > OUT_MAX || (o = malloc(cap * sizeof(*o))) == NULL)
			return -ENOMEM;
		for (i = 0; i < c->out_len; i++)
			o[i] = c->out[(c->out_head + i) % c->out_cap];
		free(c->out);
		c->out = o;
		c->out_cap = cap;
		c->out_head = 0;
	}
	if (c->out_len == 0)
		c->send_progress = c->srv->now;
	c->out_bytes += len;
	if (c->srv->output_limit != 0 && c->out_bytes > c->srv->output_limit)
		c->overflow = 1;   /* queued all the same: conn_close frees it */
	it = &c->out[(c->out_head + c->out_len) % c->out_cap];
	it->name = name;
	it->len = len;
	it->bytes = NULL;
	if (name == PST_NAME_INVALID) {
		it->bytes = malloc(len);
		if (it->bytes == NULL)
			return -ENOMEM;
		memcpy(it->bytes, bytes, len);
	} else {
		/* Queued values must outlive an overwrite or delete. */
		kv_ref(c->srv->store, name);
	}
	c->out_len++;
	return 0;
}

/* Names handed to the stack per pst_conn_send_names() call from the
 * queue: the stack finds the end of its unsent queue once per call. A
 * pump starts with a short run and doubles it while whole runs go: an
 * acknowledgement often makes room for a name or two only, and gathering
 * a long run for them would cost more than the walks it saves. */
#define OUT_NAMES_RUN_FIRST 4
#define OUT_NAMES_RUN_MAX 64

/* Send a run of at most @max queued names from the queue's head; returns
 * 1 when all of the run went, 0 when the stack took only part of it (or
 * none). */
static int
out_pump_names(struct kv_conn *c, unsigned int max)
{
	pst_name run[OUT_NAMES_RUN_MAX];
	unsigned int k = 0, sent, j;
	long n;

	while (k < max && k < c->out_len) {
		const struct out_item *it = &c->out[(c->out_head + k) % c->out_cap];

		if (it->name == PST_NAME_INVALID)
			break;
		run[k++] = it->name;
	}
	n = pst_conn_send_names(c->conn, run, k);
	if (n == -EAGAIN)
		return 0;
	/* Another error: the head name is dropped, as the connection goes. */
	sent = n < 0 ? 1 : (unsigned int)n;
	for (j = 0; j < sent; j++) {
		struct out_item *it = &c->out[c->out_head];

		kv_unref(c->srv->store, it->name);
		c->out_bytes -= it->len;
		c->out_head = (c->out_head + 1) % c->out_cap;
		c->out_len--;
	}
	c->send_progress = c->srv->now;
	return n < 0 || sent == k;
}

/* Send queued pieces in order; returns 1 when the queue is empty. */
static int
out_pump(struct kv_conn *c)
{
	unsigned int run = OUT_NAMES_RUN_FIRST;

	while (c->out_len > 0) {
		struct out_item *it = &c->out[c->out_head];
		long n;

		if (it->name != PST_NAME_INVALID) {
			if (!out_pump_names(c, run))
				return 0;
			run = run * 2 < OUT_NAMES_RUN_MAX ? run * 2 : OUT_NAMES_RUN_MAX;
			continue;
		}
		n = pst_conn_send(c->conn, it->bytes, it->len);
		if (n == -EAGAIN)
			return 0;
		if (n > 0 && (uint32_t)n < it->len) {
			memmove(it->bytes, it->bytes + n, it->len - (uint32_t)n);
			it->len -= (uint32_t)n;
			c->out_bytes -= (uint64_t)n;
			c->send_progress = c->srv->now;
			return 0;
		}
		free(it->bytes);
		c->out_bytes -= it->len;
		c->send_progress = c->srv->now;
		c->out_head = (c->out_head + 1) % c->out_cap;
		c->out_len--;
	}
	return 1;
}

static void
reply_send(struct kv_conn *c, const void *bytes, size_t len)
{
	long n = 0;

	if (c->out_len == 0) {
		n = pst_conn_send(c->conn, bytes, len);
		if (n == (long)len)
			return;
		if (n < 0 && n != -EAGAIN) {
			c->closing = 1;
			return;
		}
		if (n < 0)
			n = 0;
	}
	if (out_push(c, PST_NAME_INVALID, (const char *)bytes + n, (uint32_t)(len - (size_t)n)) != 0)
		c->closing = 1;
}

/* The pending small bytes, before anything that follows them. */
static void
pend_flush(struct kv_conn *c)
{
	uint32_t len = c->pend_len;

	if (len == 0)
		return;
	c->pend_len = 0;
	reply_send(c, c->pend, len);
}

static void
reply_bytes(struct kv_conn *c, const void *bytes, size_t len)
{
	if (len == 0)
		return;
	/* Each send is a tcp_write (about 250 instructions and a pbuf):
	 * small pieces wait for the next, until process() is done. */
	if (c->out_len == 0 && len <= sizeof(c->pend) - c->pend_len) {
		memcpy(c->pend + c->pend_len, bytes, len);
		c->pend_len += (uint32_t)len;
		return;
	}
	pend_flush(c);
	reply_send(c, bytes, len);
}

static void
reply_name(struct kv_conn *c, pst_name name)
{
	long n;

	pend_flush(c);
	if (c->out_len == 0) {
		n = pst_conn_send_name(c->conn, name);
		if (n >= 0)
			return;
		if (n != -EAGAIN) {
			c->closing = 1;
			return;
		}
	}
	if (out_push(c, name, NULL, pst_name_length(name)) != 0)
		c->closing = 1;
}

/* @n names in one run (pst_conn_send_names: the stack finds the end of
 * its unsent queue once, not per name), what it cannot take yet queued
 * behind them. */
static void
reply_names(struct kv_conn *c, const pst_name *names, unsigned int n)
{
	unsigned int i = 0;
	long r;

	pend_flush(c);
	if (c->out_len == 0 && n > 0) {
		r = pst_conn_send_names(c->conn, names, n);
		if (r >= 0) {
			i = (unsigned int)r;
		} else if (r != -EAGAIN) {
			c->closing = 1;
			return;
		}
	}
	for (; i < n; i++)
		if (out_push(c, names[i], NULL, pst_name_length(names[i])) != 0) {
			c->closing = 1;
			return;
		}
}

static void
reply_value(struct kv_conn *c, const struct kv_value *v)
{
	reply_names(c, v->names, v->n);
}

/* Replies up to this many bytes are copied into the stack's segments in
 * one pst_conn_sendv() rather than sent by name. A name costs the send
 * path a reference pbuf, a pin, a pending-release entry and, at the ACK,
 * their undoing (about 400 instructions a piece, 1.7 pieces a 1 KiB GET);
 * the copy of a 1 KiB reply about 150. Measured at 1 KiB (bench/notes.md,
 * "A GET's reply copied"); larger values, whose pieces fill segments,
 * stay sent by name. */
#define REPLY_COPY_MAX 1460u

/* A small bulk reply copied: header, the value's pieces, CRLF in one
 * send. 1 when sent; 0 when it must go the other way (too big, replies
 * already queued, or no room now: the way by name queues it). */
static int
reply_bulk_copy(struct kv_conn *c, const char *hdr, size_t hlen, const struct kv_value *v)
{
	struct iovec iov[PST_SENDV_MAX];
	const struct pst_pool *pool = c->srv->store->pool;
	unsigned int i;
	long n;

	if (hlen + v->len + 2 > REPLY_COPY_MAX || v->n + 2u > PST_SENDV_MAX)
		return 0;
	iov[0].iov_base = (void *)(uintptr_t)hdr;
	iov[0].iov_len = hlen;
	for (i = 0; i < v->n; i++) {
		iov[i + 1].iov_base = pst_pool_name_to_addr(pool, v->names[i]);
		iov[i + 1].iov_len = pst_name_length(v->names[i]);
		if (iov[i + 1].iov_base == NULL)
			return 0;
	}
	iov[i + 1].iov_base = (void *)(uintptr_t)"\r\n";
	iov[i + 1].iov_len = 2;
	pend_flush(c);
	if (c->out_len != 0)
		return 0;
	n = pst_conn_sendv(c->conn, iov, v->n + 2u);
	if (n >= 0)
		return 1;
	if (n != -EAGAIN)
		c->closing = 1;
	return n != -EAGAIN;
}

/* A RESP bulk reply: copied when small (reply_bulk_copy), otherwise its
 * header and trailer by name too where the pool holds them around the
 * value (reply_inplace.c), as bytes otherwise. */
static void
reply_bulk(struct kv_conn *c, const char *hdr, size_t hlen, const struct kv_value *v)
{
	struct kv_inplace in;

	if (c->out_len == 0 && reply_bulk_copy(c, hdr, hlen, v))
		return;
	kv_reply_inplace(c->srv->store->pool, c->srv->store->buf_size, v, hdr, hlen, &in);
	if (!in.hdr)
		reply_bytes(c, hdr, hlen);
	reply_name(c, in.first);
	if (v->n > 2)
		reply_names(c, v->names + 1, v->n - 2);
	if (v->n > 1)
		reply_name(c, in.last);
	if (!in.trailer)
		reply_bytes(c, "\r\n", 2);
}

/* ---- the receive loop ------------------------------------------------- */

static void
out_bytes(void *ctx, const void *data, size_t len)
{
	reply_bytes(ctx, data, len);
}

static void
out_value(void *ctx, const struct kv_value *v)
{
	reply_value(ctx, v);
}

static void
out_bulk(void *ctx, const char *hdr, size_t hlen, const struct kv_value *v)
{
	reply_bulk(ctx, hdr, hlen, v);
}

/* kv_out::queued: reply_bytes() of a constant, so its copy into the
 * pending bytes is a few moves, not a memcpy() call (one a queued
 * command). */
static void
out_queued(void *ctx)
{
	static const char queued[] = "+QUEUED\r\n";

	reply_bytes(ctx, queued, sizeof(queued) - 1);
}

static void
out_close(void *ctx)
{
	struct kv_conn *c = ctx;

	c->closing = 1;
}

/* After replies were queued: hang up on a client over its output limit,
 * close once everything is out when closing. */
static void
settle(struct kv_conn *c)
{
	if (c->overflow && !c->dead) {
		/* Like Redis's client-output-buffer-limit: hang up, free all. */
		c->srv->exec.output_overflows++;
		c->dead = 1;
		pst_conn_abort(c->conn);
		conn_close(c);
		return;
	}
	if (c->closing && c->out_len == 0 && !c->dead) {
		c->dead = 1;
		pst_conn_close(c->conn);
		conn_close(c);
	}
}

/* Run the requests received so far. @in_burst: called for a received
 * segment, when the poll will call burst_end() before sending; small
 * replies then wait for it, so that a burst of segments carrying pipelined
 * requests is answered with one send (each send is a tcp_write and a
 * pbuf: some 400 instructions a segment for a stream of SETs). */
static void
process(struct kv_conn *c, int in_burst)
{
	const struct kv_out out = {
		.bytes = out_bytes, .value = out_value, .bulk = out_bulk,
		.close = out_close, .queued = out_queued,
		.ctx = c, .continue_sent = &c->continue_sent, .parse = &c->parse,
		.upload = &c->upload, .auth = &c->auth, .multi = &c->multi,
		.client = &c->client,
	};
	long used;
	int done = 0, in_multi = c->multi.active;

	/* One request at a time, and none while replies wait for send buffer
	 * space: a client that does not read cannot make the server queue. */
	while (!c->closing && c->out_len == 0 && c->rx.len > 0) {
		used = kv_exec_next(&c->srv->exec, &c->rx, c->http, &out);
		if (used < 0)
			break;
		if (!kv_multi_in_stream(&c->multi)) {
			/* With an in-stream transaction's requests, at its
			 * EXEC or DISCARD. */
			kv_stream_consume(&c->rx, (size_t)used, NULL, NULL);
		} else {
			kv_stream_skip(&c->rx, (size_t)used);
			if (c->rx.base > c->multi.stream_max)
				kv_multi_unstream(&c->srv->exec, &c->multi, &c->rx);
		}
		done = 1;
		if (c->multi.active && !in_multi)
			c->multi_start = c->srv->now;
		in_multi = c->multi.active;
	}
	if (in_burst && !c->closing && !c->overflow) {
		if (c->pend_len > 0 && !c->pend_listed) {
			c->pend_listed = 1;
			c->pend_next = c->srv->pend_conns;
			c->srv->pend_conns = c;
		}
	} else {
		pend_flush(c);
	}
	if (done)   /* what is left in rx is the start of the next request */
		c->req_start = c->srv->now;
	settle(c);
}

/* The end of a receive burst (pst_stack_set_burst_end): the small replies
 * process() held back leave now, before the burst's segments are sent. */
static void
burst_end(void *arg)
{
	struct kv_server *srv = arg;
	struct kv_conn *c;

	while ((c = srv->pend_conns) != NULL) {
		srv->pend_conns = c->pend_next;
		c->pend_listed = 0;
		pend_flush(c);
		settle(c);
	}
}

/* Values from this size on are checksummed and flushed as they arrive
 * (rx_push). Measured (bench/notes.md, issue 23): at 1 MiB it cut the
 * receive path's work by 5-7%, at 60 KiB it cost 5% (a value that size
 * is still in cache when it is whole, and the per-segment calls cost). */
#define CRC_ON_ARRIVAL_MIN (256u * 1024)

/* A held segment onto the connection's stream. While a large value is
 * arriving (its room reserved: upload.reserved), zero copy checksums and
 * flushes the segment now, while the driver's write of it is in cache;
 * a 1 MiB value's first segments would have left it by the time the
 * value is whole and stored. A segment that turns out not to be stored
 * (the request's end and the next one's start) cost a checksum for
 * nothing. */
static int
rx_push(struct kv_conn *c, const struct pst_held *h)
{
	struct kv_store *st = c->srv->store;
	uint64_t t0;
	uint32_t crc;

	if (c->upload.reserved == 0 || st->copy_mode ||
	    c->upload.reserved < kv_store_value_bufs(st, CRC_ON_ARRIVAL_MIN))
		return kv_stream_push_held(&c->rx, h->name, h->data, h->len, h->id);
	t0 = kv_store_stage_clock(st);
	crc = pst_crc32c(h->data, h->len);
	pst_pool_flush(st->pool, h->data, h->len);
	st->stages.arrive += kv_store_stage_clock(st) - t0;
	return kv_stream_push_value(&c->rx, h->name, h->data, h->len, h->id, crc);
}

static void
on_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	unsigned int n)
{
	struct kv_conn *c = arg;
	struct pst_held h;
	unsigned int i;

	if (n == 0) { /* the client is done: answer what it sent, then close */
		c->closing = 1;
		process(c, 0);
		return;
	}
	c->last_rx = c->srv->now;
	if (c->rx.len == 0)
		c->req_start = c->srv->now;
	for (i = 0; i < n; i++) {
		/* A held segment has a name unless it was a frame lwIP copied
		 * out of the pool and longer than a buffer (a scattered jumbo
		 * frame): its bytes could not become a value. */
		if (pst_conn_hold(conn, &segs[i], &h) != 0)
			goto fail;
		if (h.name == PST_NAME_INVALID ||
		    rx_push(c, &h) != 0) {
			pst_conn_unhold(conn, h.id);
			goto fail;
		}
	}
	if (c->rx.base + c->rx.len > STREAM_MAX)
		goto fail;
	process(c, 1);
	return;
fail:
	fprintf(stderr, "paste-kvs: connection dropped (out of buffers or too much unparsed input)\n");
	c->dead = 1;
	pst_conn_abort(conn);
	conn_close(c);
}

static void
on_sent(void *arg, struct pst_conn *conn, size_t len)
{
	struct kv_conn *c = arg;

	(void)conn;
	(void)len;
	if (out_pump(c))
		process(c, 0);
}

static void
on_closed(void *arg, struct pst_conn *conn, int err)
{
	struct kv_conn *c = arg;

	(void)conn;
	if (err == -ETIMEDOUT)
		c->srv->exec.timed_out++; /* the stack's zero-window timeout */
	c->dead = 1;
	conn_close(c);
}

static void
accept_common(struct kv_server *srv, struct pst_conn *conn, int http)
{
	const struct pst_conn_callbacks cb = {
		.recv = on_recv, .sent = on_sent, .closed = on_closed,
	};
	struct kv_conn *c;
	uint32_t peer_ip;
	uint16_t peer_port;

	if (srv->n_conns >= srv->max_conns) {
		/* A clean refusal the client can read, like Redis's. */
		static const char resp[] = "-ERR max number of clients reached\r\n";
		static const char http_resp[] =
			"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

		srv->refused++;
		if (http)
			pst_conn_send(conn, http_resp, sizeof(http_resp) - 1);
		else
			pst_conn_send(conn, resp, sizeof(resp) - 1);
		pst_conn_close(conn);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		pst_conn_abort(conn);
		return;
	}
	c->srv = srv;
	c->conn = conn;
	c->http = http;
	c->last_rx = srv->now;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	kv_stream_init(&c->rx);
	c->holder.keep = srv->store->copy_mode ? NULL : span_keep;
	c->holder.keep_many = srv->store->copy_mode ? NULL : span_keep_many;
	c->holder.unhold = span_unhold;
	c->holder.arg = c;
	c->rx.holder = &c->holder;
	if (!http)
		c->multi.stream_max = MULTI_STREAM_MAX;
	srv->n_conns++;
	srv->exec.n_conns++;
	srv->accepted++;
	if (pst_conn_peer(conn, &peer_ip, &peer_port) != 0)
		peer_ip = peer_port = 0;
	kv_client_start(&srv->exec, &c->client, peer_ip, peer_port);
	pst_conn_set_callbacks(conn, &cb, c);
}

static void
accept_resp(void *arg, struct pst_conn *conn)
{
	accept_common(arg, conn, 0);
}

static void
accept_http(void *arg, struct pst_conn *conn)
{
	accept_common(arg, conn, 1);
}

/* Whether @c is past one of its timeouts. */
static int
conn_timed_out(const struct kv_conn *c, double now)
{
	const struct kv_server *srv = c->srv;

	if (c->out_len > 0)
		return srv->send_timeout > 0 && now - c->send_progress > srv->send_timeout;
	if (c->rx.len > 0 && srv->request_timeout > 0 &&
	    now - c->req_start > srv->request_timeout)
		return 1;
	/* A transaction is one request that has not all arrived until EXEC:
	 * what it queued is held until then. */
	if (kv_multi_open(&c->multi) && srv->request_timeout > 0 &&
	    now - c->multi_start > srv->request_timeout)
		return 1;
	return srv->idle_timeout > 0 && now - c->last_rx > srv->idle_timeout;
}

void
kv_server_tick(struct kv_server *srv, double now)
{
	struct kv_conn *c, *next;

	srv->now = now;
	kv_exec_expire(&srv->exec, KV_EXPIRE_STEP);
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->dead || !conn_timed_out(c, now))
			continue;
		/* Everything it holds (a half request, queued replies) is
		 * freed with it. */
		srv->exec.timed_out++;
		c->dead = 1;
		pst_conn_abort(c->conn);
		conn_close(c);
	}
}

int
kv_server_listen(struct kv_server *srv, uint16_t resp_port, uint16_t http_port)
{
	int ret = kv_exec_init(&srv->exec, srv->store, 0);

	if (ret != 0)
		return ret;
	srv->exec.limits = srv->limits;
	ret = pst_stack_set_burst_end(srv->stack, burst_end, srv);
	if (ret != 0)
		return ret;
	if (resp_port != 0 && pst_tcp_listen(srv->stack, resp_port, accept_resp, srv) == NULL)
		return -pst_errno;
	if (http_port != 0 && pst_tcp_listen(srv->stack, http_port, accept_http, srv) == NULL)
		return -pst_errno;
	return 0;
}
