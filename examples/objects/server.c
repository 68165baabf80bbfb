/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-objects connections (server.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	double last_rx, req_start;      /* srv->now then */
	/* The head of the request at the stream's front, copied as it
	 * arrives: each byte once, however many pieces bring it. */
	size_t head_have;
	char head[OBJ_HTTP_HEAD_MAX];
};

static void
span_unhold(void *arg, uint32_t hold, pst_name name, int kept)
{
	struct obj_conn *c = arg;

	(void)name;
	(void)kept;
	pst_conn_unhold(c->conn, hold);
}

static void
conn_free(struct obj_conn *c)
{
	c->rx.holder = NULL;            /* the holds ended with the connection */
	kv_stream_fini(&c->rx, NULL, NULL);
	obj_response_fini(&c->resp);
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

/* Send what waits. @return 1 when nothing does, 0, or -1. */
static int
pump(struct obj_conn *c)
{
	long n;

	if (c->out_len == 0)
		return 1;
	n = pst_conn_send(c->conn, c->out, c->out_len);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return -1;
	memmove(c->out, c->out + n, c->out_len - (size_t)n);
	c->out_len -= (size_t)n;
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
	obj_response_fini(&c->resp);
	c->resp_pending = 0;
	return ret;
}

/* Answer the requests received so far. @return 0, or -1 (abort). */
static int
process(struct obj_conn *c)
{
	while (!c->closing && c->out_len == 0) {
		struct obj_http_req req;
		const char *status;
		size_t n, hl;

		if (c->body_left > 0) {
			n = c->rx.len < c->body_left ? c->rx.len : (size_t)c->body_left;
			kv_stream_consume(&c->rx, n, NULL, NULL);
			c->body_left -= n;
			if (c->body_left > 0)
				return 0;
		}
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
		c->body_left = req.length;
		/* A client waiting for "100 Continue" sends no body: nothing
		 * is stored yet, so it is told at once and the connection,
		 * whose framing is then unknown, closes. */
		if (req.expect_continue && c->body_left > 0) {
			c->body_left = 0;
			c->resp.close = 1;
		}
	}
	return 0;
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
	} else if (c->closing && c->out_len == 0) {
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
	c->holder.keep = NULL;          /* nothing is kept: bodies are not stored yet */
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
	for (c = srv->conns; c != NULL; c = next) {
		int in_request = c->rx.len > 0 || c->body_left > 0;

		next = c->next;
		if (c->dead || c->out_len > 0)
			continue;       /* the stack's own timeouts cover sending */
		if ((in_request && srv->request_timeout > 0 &&
		     now - c->req_start > srv->request_timeout) ||
		    (!in_request && srv->idle_timeout > 0 && now - c->last_rx > srv->idle_timeout)) {
			srv->timed_out++;
			settle(c, -1);
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
