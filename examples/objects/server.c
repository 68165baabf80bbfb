/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-objects connections (server.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "etag.h"
#include "mpstore.h"
#include "ops.h"
#include "ostore.h"
#include "paste.h"
#include "server.h"
#include "stream.h"

struct obj_conn {
	struct obj_server *srv;
	struct obj_conn *prev, *next;
	struct pst_conn *conn;
	struct kv_stream rx;
	struct kv_stream_holder holder;
	uint64_t body_left;             /* bytes of the current body to consume */
	struct obj_response resp;       /* sent once the body is consumed */
	int resp_pending;
	char *out;                      /* reply bytes the stack did not take yet */
	size_t out_len, out_cap;
	int closing, dead;
	/* A PutObject's body being received: its names kept as they come,
	 * hashed in place. */
	struct obj_put *put;
	struct obj_version *up_v;
	uint32_t up_cap;
	struct obj_md5 up_md5;
	crypto_hash_sha256_state up_sha;
	struct obj_chunked up_chunk;    /* aws-chunked bodies */
	int up_done, up_err;
	size_t up_base;                 /* the fed span's offset in the stream */
	const uint8_t *up_data;         /* ... and its bytes */
	/* A request answered once its small body is whole (DeleteObjects). */
	struct obj_body_req *breq;
	int req_close;                  /* the request asked for a close */
	int rx_ended;                   /* the peer sent its FIN */
	/* A GetObject's bytes being sent by name. */
	struct obj_version *get_v;
	uint64_t get_skip, get_left;
	uint32_t get_i;
	double last_rx, req_start;      /* srv->now then */
	/* The head of the request at the stream's front, copied as it
	 * arrives: each byte once, however many pieces bring it. */
	size_t head_have;
	char head[OBJ_HTTP_HEAD_MAX];
};

static int
span_keep(void *arg, uint32_t hold, pst_name name)
{
	struct obj_conn *c = arg;
	struct obj_stages *sg = &c->srv->svc.store->stages;
	uint64_t t0 = obj_stage_clock(sg);
	int ret;

	(void)name;
	ret = pst_conn_keep_held(c->conn, hold);
	if (sg->on)
		sg->keep += obj_cycles() - t0;
	return ret;
}

/* span_keep() of the spans of one body, together: their buffers' state
 * bytes written and flushed once per cache line (pst_pool_keep_many()),
 * not once per 1,448-byte segment. */
static unsigned int
span_keep_many(void *arg, const uint32_t *holds, const pst_name *names, unsigned int n)
{
	struct obj_conn *c = arg;
	struct obj_stages *sg = &c->srv->svc.store->stages;
	uint64_t t0 = obj_stage_clock(sg);
	unsigned int kept;

	(void)names;
	(void)pst_conn_keep_held_many(c->conn, holds, n, &kept);
	if (sg->on)
		sg->keep += obj_cycles() - t0;
	return kept;
}

static void
span_unhold(void *arg, uint32_t hold, pst_name name, int kept)
{
	struct obj_conn *c = arg;

	(void)name;
	(void)kept;
	pst_conn_unhold(c->conn, hold);
}

/* An upload abandoned: its buffers released (no record names them). */
static void
upload_drop(struct obj_conn *c)
{
	struct obj_store *st = c->srv->svc.store;

	if (c->up_v != NULL) {
		obj_store_ref_names(st, c->up_v->names, c->up_v->n_names, -1);
		c->up_v->n_names = 0;
		obj_version_put(st, c->up_v);
		obj_md5_fini(&c->up_md5);
		c->up_v = NULL;
	}
	obj_ops_put_free(&c->srv->svc, c->put);
	c->put = NULL;
	obj_ops_body_free(c->breq);
	c->breq = NULL;
}

static void
resp_free(struct obj_conn *c)
{
	if (c->resp.get_v != NULL)
		obj_version_put(c->srv->svc.store, c->resp.get_v);
	c->resp.get_v = NULL;
	obj_ops_put_free(&c->srv->svc, c->resp.put);
	c->resp.put = NULL;
	obj_ops_body_free(c->resp.body_req);
	c->resp.body_req = NULL;
	obj_response_fini(&c->resp);
}

static void
conn_free(struct obj_conn *c)
{
	c->rx.holder = NULL;            /* the holds ended with the connection */
	kv_stream_fini(&c->rx, NULL, NULL);
	upload_drop(c);
	if (c->get_v != NULL)
		obj_version_put(c->srv->svc.store, c->get_v);
	resp_free(c);
	free(c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->srv->n_conns--;
	free(c);
}

/* Queue or send @len bytes. @return 0, or -1 (the connection must go). */
static int
send_bytes(struct obj_conn *c, const char *p, size_t len)
{
	long n = 0;

	if (len == 0)
		return 0;
	if (c->out_len == 0) {
		n = pst_conn_send(c->conn, p, len);
		if (n < 0 && n != -EAGAIN)
			return -1;
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return 0;
	}
	if (c->out_len + len - (size_t)n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *o;

		while (cap < c->out_len + len - (size_t)n)
			cap *= 2;
		o = realloc(c->out, cap);
		if (o == NULL)
			return -1;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p + n, len - (size_t)n);
	c->out_len += len - (size_t)n;
	return 0;
}

/* Names handed to the stack per pst_conn_send_names() call. */
#define SEND_BATCH 64

/* Send an object's bytes by name, from where they arrived: the names
 * covering [get_skip, get_skip + get_left), the first and last cut to the
 * range, handed to the stack a run at a time. @return 1 when all are
 * queued, 0 (wait for the peer), or -1. */
static int
pump_names(struct obj_conn *c)
{
	struct obj_version *v = c->get_v;
	pst_name run[SEND_BATCH];
	uint64_t len[SEND_BATCH];

	while (c->get_left > 0 && c->get_i < v->n_names) {
		uint64_t skip = c->get_skip, left = c->get_left;
		uint32_t i = c->get_i;
		unsigned int n = 0, j;
		long r;

		for (; i < v->n_names && left > 0 && n < SEND_BATCH; i++) {
			pst_name nm = v->names[i];
			uint64_t nl = pst_name_length(nm), take;

			if (skip >= nl) {
				skip -= nl;
				continue;
			}
			take = nl - skip < left ? nl - skip : left;
			run[n] = pst_name_make(pst_name_index(nm),
					       (uint16_t)(pst_name_offset(nm) + skip), (uint16_t)take);
			len[n++] = take;
			left -= take;
			skip = 0;
		}
		if (n == 0) {                   /* only skipped names */
			c->get_skip = skip;
			c->get_i = i;
			continue;
		}
		r = pst_conn_send_names(c->conn, run, n);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return -1;
		/* Step over the names sent: skipped ones before each count. */
		for (j = 0; j < (unsigned int)r; j++) {
			while (c->get_skip >= pst_name_length(v->names[c->get_i])) {
				c->get_skip -= pst_name_length(v->names[c->get_i]);
				c->get_i++;
			}
			c->get_left -= len[j];
			c->get_skip = 0;
			c->get_i++;
		}
		if ((unsigned int)r < n)
			return 0;               /* the rest after the sent callback */
	}
	obj_version_put(c->srv->svc.store, v);
	c->get_v = NULL;
	return c->get_left == 0 ? 1 : -1;
}

/* Send what waits. @return 1 when nothing does, 0, or -1. */
static int
pump(struct obj_conn *c)
{
	long n;

	if (c->out_len == 0)
		return c->get_v != NULL ? pump_names(c) : 1;
	n = pst_conn_send(c->conn, c->out, c->out_len);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return -1;
	memmove(c->out, c->out + n, c->out_len - (size_t)n);
	c->out_len -= (size_t)n;
	if (c->out_len == 0 && c->get_v != NULL)
		return pump_names(c);
	return c->out_len == 0;
}

static int
send_response(struct obj_conn *c)
{
	int ret = send_bytes(c, c->resp.head, c->resp.head_len);

	if (ret == 0 && c->resp.body != NULL)
		ret = send_bytes(c, c->resp.body, c->resp.body_len);
	if (c->resp.close)
		c->closing = 1;
	if (c->resp.get_v != NULL) {
		c->srv->svc.store->stages.bytes_sent += c->resp.get_len;
		c->get_v = c->resp.get_v;
		c->get_skip = c->resp.get_off;
		c->get_left = c->resp.get_len;
		c->get_i = 0;
		c->resp.get_v = NULL;
		if (ret == 0 && c->out_len == 0)
			ret = pump_names(c) < 0 ? -1 : 0;
	}
	resp_free(c);
	c->resp_pending = 0;
	return ret;
}

/* Bytes [off, off + n) of the stream are object bytes: kept where they
 * are (their names appended), flushed, hashed in place. @return 0, or -1
 * (out of memory or buffers: the connection goes). */
static int
upload_names(struct obj_conn *c, size_t off, size_t n)
{
	struct obj_store *st = c->srv->svc.store;
	struct obj_version *v = c->up_v;
	uint32_t first = v->n_names, i;
	uint64_t t0, t1, t2;
	int k;

	if (v->n_names + c->rx.n + 1 > c->up_cap) {
		uint32_t cap = c->up_cap * 2 > v->n_names + c->rx.n + 1 ?
			       c->up_cap * 2 : v->n_names + c->rx.n + 1;
		pst_name *nn = realloc(v->names, (size_t)cap * sizeof(*nn));

		if (nn == NULL)
			return -1;
		v->names = nn;
		c->up_cap = cap;
	}
	k = kv_stream_names(&c->rx, off, n, v->names + first, c->up_cap - first);
	if (k < 0)
		return -1;
	/* Each stage over the whole run of names: one pair of clock reads
	 * per stage and burst, not per segment. */
	t0 = obj_stage_clock(&st->stages);
	for (i = first; i < first + (uint32_t)k; i++)
		obj_md5_update(&c->up_md5, pst_pool_name_to_addr(st->pool, v->names[i]),
			       pst_name_length(v->names[i]));
	t1 = obj_stage_clock(&st->stages);
	if (c->put->has_sha256)
		for (i = first; i < first + (uint32_t)k; i++)
			crypto_hash_sha256_update(&c->up_sha,
				pst_pool_name_to_addr(st->pool, v->names[i]),
				pst_name_length(v->names[i]));
	t2 = obj_stage_clock(&st->stages);
	for (i = first; i < first + (uint32_t)k; i++) {
		pst_name nm = v->names[i];

		pst_pool_flush(st->pool, pst_pool_name_to_addr(st->pool, nm),
			       pst_name_length(nm));
		if (i == 0 || pst_name_index(nm) != pst_name_index(v->names[i - 1]))
			obj_store_ref(st, nm);
	}
	if (st->stages.on) {
		st->stages.md5 += t1 - t0;
		st->stages.sha256 += t2 - t1;
		st->stages.flush += obj_cycles() - t2;
	}
	st->stages.bytes_stored += n;
	v->n_names += (uint32_t)k;
	v->size += n;
	return 0;
}

/* The decoder's payload ranges lie in the span being fed. */
static void
chunk_data(void *arg, const char *p, size_t len, uint64_t body_off)
{
	struct obj_conn *c = arg;

	(void)body_off;
	if (c->up_err == 0 && len > 0 &&
	    upload_names(c, c->up_base + (size_t)((const uint8_t *)p - c->up_data), len) != 0)
		c->up_err = -ENOMEM;
}

/* The first @n bytes of the stream are the upload's body: its bytes
 * stored where they are; aws-chunked framing decoded (and each chunk's
 * signature checked) span by span, only the payload named. @return 0 or
 * -1 (the connection goes). */
static int
upload_take(struct obj_conn *c, size_t n)
{
	size_t base = 0;
	unsigned int j;

	if (!c->put->chunked)
		return upload_names(c, 0, n);
	for (j = 0; j < c->rx.n && base < n && c->up_err == 0; j++) {
		const struct kv_span *sp = &c->rx.spans[j];
		size_t len = sp->len < n - base ? sp->len : n - base, used = 0;
		int r;

		c->up_base = base;
		c->up_data = sp->data;
		if (c->up_done) {
			c->up_err = -EBADMSG;   /* bytes after the final chunk */
			break;
		}
		r = obj_chunked_feed(&c->up_chunk, (const char *)sp->data, len, &used,
				     chunk_data, c);
		if (r < 0 && c->up_err == 0)
			c->up_err = r;
		if (r == OBJ_CHUNKED_DONE) {
			c->up_done = 1;
			if (used < len)
				c->up_err = -EBADMSG;
		}
		base += len;
	}
	return c->up_err == -ENOMEM ? -1 : 0;
}

/* The upload's body is whole: stored (or refused) by ops.c. */
static void
upload_finish(struct obj_conn *c)
{
	uint8_t sha[32] = { 0 };
	struct obj_version *v = c->up_v;
	struct obj_put *put = c->put;
	struct obj_stages *sg = &c->srv->svc.store->stages;
	uint64_t t0 = obj_stage_clock(sg);

	obj_md5_final(&c->up_md5, v->md5);
	if (put->has_sha256)
		crypto_hash_sha256_final(&c->up_sha, sha);
	c->up_v = NULL;
	c->put = NULL;
	obj_stages_hashed(sg, t0, put->has_sha256);
	t0 = obj_stage_clock(sg);
	obj_ops_put_done(&c->srv->svc, put, v, sha,
			 put->chunked && c->up_err == 0 && !c->up_done ? -EBADMSG : c->up_err,
			 time(NULL), c->req_close, &c->resp);
	if (sg->on)
		sg->record += obj_cycles() - t0;
	c->resp_pending = 1;
}

/* Begin reading the body of the request in c->resp.body_req. */
static int
body_begin(struct obj_conn *c, const struct obj_http_req *req)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	c->breq = c->resp.body_req;
	c->resp.body_req = NULL;
	c->resp_pending = 0;
	c->req_close = !req->keep_alive;
	c->body_left = req->length;
	if (req->expect_continue)
		return send_bytes(c, cont, sizeof(cont) - 1);
	return 0;
}

/* Begin receiving the body of the PutObject in c->resp.put. */
static int
upload_begin(struct obj_conn *c, const struct obj_http_req *req)
{
	struct obj_put *put = c->resp.put;
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	c->up_v = obj_version_new(put->ctype, put->ctype_len, put->meta, put->meta_len, 64);
	if (c->up_v == NULL)
		return -1;
	if (obj_md5_init(&c->up_md5) != 0) {
		obj_version_put(c->srv->svc.store, c->up_v);
		c->up_v = NULL;
		return -1;
	}
	c->up_cap = 65;
	crypto_hash_sha256_init(&c->up_sha);
	c->up_done = 0;
	c->up_err = 0;
	if (put->chunked)
		obj_chunked_init(&c->up_chunk, &put->auth, put->length);
	c->put = put;
	c->resp.put = NULL;
	c->resp_pending = 0;
	c->req_close = !req->keep_alive;
	c->body_left = req->length;
	if (req->expect_continue)
		return send_bytes(c, cont, sizeof(cont) - 1);
	return 0;
}

/* Answer the requests received so far. @return 0, or -1 (abort). */
static int
process(struct obj_conn *c)
{
	obj_store_release_durable(c->srv->svc.store);
	for (;;) {
		struct obj_http_req req;
		const char *status;
		size_t n, hl;

		if (c->out_len > 0 || c->get_v != NULL)
			return 0;       /* the reply first (pump) */
		if (c->body_left > 0) {
			n = c->rx.len < c->body_left ? c->rx.len : (size_t)c->body_left;
			if (c->put != NULL && n > 0 && upload_take(c, n) != 0)
				return -1;
			if (c->breq != NULL && n > 0) {
				kv_stream_copy(&c->rx, 0, c->breq->buf + c->breq->have, n);
				c->breq->have += n;
			}
			kv_stream_consume(&c->rx, n, NULL, NULL);
			c->body_left -= n;
			if (c->body_left > 0)
				return 0;
			if (c->put != NULL)
				upload_finish(c);
			if (c->breq != NULL) {
				struct obj_body_req *b = c->breq;

				c->breq = NULL;
				obj_ops_body_done(&c->srv->svc, b, time(NULL), c->req_close,
						  &c->resp);
				c->resp_pending = 1;
			}
		} else if (c->put != NULL) {
			upload_finish(c);       /* an empty object */
		}
		if (c->closing)
			return 0;
		if (c->resp_pending) {
			if (send_response(c) != 0)
				return -1;
			c->req_start = c->srv->now;     /* what follows is the next */
			continue;
		}
		if (c->rx.len == 0)
			return 0;
		n = c->rx.len < sizeof(c->head) ? c->rx.len : sizeof(c->head);
		if (n > c->head_have) {
			size_t from = c->head_have > 3 ? c->head_have - 3 : 0;

			kv_stream_copy(&c->rx, c->head_have, c->head + c->head_have,
				       n - c->head_have);
			c->head_have = n;
			/* The blank line may straddle what came before. */
			hl = obj_http_head_len(c->head + from, n - from);
			hl = hl == 0 ? 0 : from + hl;
		} else {
			hl = 0;
		}
		if (hl == 0) {
			if (n < sizeof(c->head))
				return 0;
			obj_handle_bad_head("431 Request Header Fields Too Large", &c->resp);
			c->srv->bad_heads++;
			return send_response(c);
		}
		if (obj_http_parse(c->head, hl, &req, &status) != 0) {
			obj_handle_bad_head(status, &c->resp);
			c->srv->bad_heads++;
			return send_response(c);
		}
		obj_handle(&c->srv->svc, &req, time(NULL), &c->resp);
		c->resp_pending = 1;
		kv_stream_consume(&c->rx, hl, NULL, NULL);
		c->head_have = 0;
		if (c->resp.put != NULL) {
			if (upload_begin(c, &req) != 0)
				return -1;
			continue;
		}
		if (c->resp.body_req != NULL) {
			if (body_begin(c, &req) != 0)
				return -1;
			continue;
		}
		if (obj_handle_skip_body(&req, &c->resp, &c->body_left) &&
		    send_response(c) != 0)
			return -1;
	}
}

/* A body that stopped coming (c->put or c->breq set): nothing is stored,
 * the client is told (obj_handle_body_cut), then the connection closes.
 * @return as process(). */
static int
body_cut(struct obj_conn *c, int timed_out)
{
	const char *resource = c->put != NULL ? c->put->resource : c->breq->resource;
	uint64_t id = c->put != NULL ? c->put->id : c->breq->id;

	resp_free(c);
	obj_handle_body_cut(timed_out, resource, id, time(NULL), &c->resp);
	upload_drop(c);                 /* nothing stored */
	c->body_left = 0;
	c->srv->svc.refused++;
	return send_response(c);
}

static void
settle(struct obj_conn *c, int ret)
{
	if (c->dead)
		return;
	if (ret < 0) {
		c->dead = 1;
		pst_conn_abort(c->conn);
		conn_free(c);
	} else if (c->closing && c->out_len == 0 && c->get_v == NULL &&
		   (c->body_left == 0 || c->rx_ended)) {
		c->dead = 1;
		pst_conn_close(c->conn);
		conn_free(c);
	}
}

static void
on_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs, unsigned int n)
{
	struct obj_conn *c = arg;
	struct pst_held h;
	unsigned int i;

	if (n == 0) {
		c->closing = 1;
		c->rx_ended = 1;
		if (c->body_left > 0 && (c->put != NULL || c->breq != NULL)) {
			settle(c, body_cut(c, 0));
			return;
		}
		upload_drop(c);
		c->body_left = 0;
		settle(c, process(c));
		return;
	}
	c->last_rx = c->srv->now;
	if (c->rx.len == 0 && c->body_left == 0)
		c->req_start = c->srv->now;     /* a request begins */
	for (i = 0; i < n; i++) {
		if (pst_conn_hold(conn, &segs[i], &h) != 0)
			goto fail;
		if (kv_stream_push_held(&c->rx, h.name, h.data, h.len, h.id) != 0) {
			pst_conn_unhold(conn, h.id);
			goto fail;
		}
	}
	settle(c, process(c));
	return;
fail:
	fprintf(stderr, "paste-objects: connection dropped (out of buffers)\n");
	settle(c, -1);
}

static void
on_sent(void *arg, struct pst_conn *conn, size_t len)
{
	struct obj_conn *c = arg;
	int ret;

	(void)conn;
	(void)len;
	ret = pump(c);
	if (ret == 1)
		ret = process(c);
	settle(c, ret < 0 ? -1 : 0);
}

static void
on_closed(void *arg, struct pst_conn *conn, int err)
{
	struct obj_conn *c = arg;

	(void)conn;
	(void)err;
	c->dead = 1;
	conn_free(c);
}

static void
on_accept(void *arg, struct pst_conn *conn)
{
	static const struct pst_conn_callbacks cb = {
		.recv = on_recv, .sent = on_sent, .closed = on_closed,
	};
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	struct obj_server *srv = arg;
	struct obj_conn *c;

	if (srv->n_conns >= srv->max_conns) {
		srv->refused_conns++;
		pst_conn_send(conn, busy, sizeof(busy) - 1);
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
	c->last_rx = srv->now;
	kv_stream_init(&c->rx);
	c->holder.keep = span_keep;     /* an object's body stays where it arrived */
	c->holder.keep_many = span_keep_many;
	c->holder.unhold = span_unhold;
	c->holder.arg = c;
	c->rx.holder = &c->holder;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->n_conns++;
	srv->accepted++;
	pst_conn_set_callbacks(conn, &cb, c);
}

void
obj_server_tick(struct obj_server *srv, double now)
{
	struct obj_conn *c, *next;

	srv->now = now;
	obj_store_release_durable(srv->svc.store);
	obj_mpu_expire(srv->svc.store, (int64_t)time(NULL));
	for (c = srv->conns; c != NULL; c = next) {
		int in_request = c->rx.len > 0 || c->body_left > 0;

		next = c->next;
		if (c->dead || c->out_len > 0)
			continue;       /* the stack's own timeouts cover sending */
		if ((in_request && srv->request_timeout > 0 &&
		     now - c->req_start > srv->request_timeout) ||
		    (!in_request && srv->idle_timeout > 0 && now - c->last_rx > srv->idle_timeout)) {
			srv->timed_out++;
			if (in_request && c->body_left > 0 && (c->put != NULL || c->breq != NULL) &&
			    !c->closing) {
				c->closing = 1;
				settle(c, body_cut(c, 1));
			} else {
				settle(c, -1);
			}
		}
	}
}

int
obj_server_listen(struct obj_server *srv, uint16_t port)
{
	if (pst_tcp_listen(srv->stack, port, on_accept, srv) == NULL)
		return -pst_errno;
	return 0;
}
