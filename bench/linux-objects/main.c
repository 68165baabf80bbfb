/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * linux-objects: paste-objects's Linux-sockets build, as linux-kvs is
 * paste-kvs's. The same S3 code (examples/objects/: the HTTP head parser,
 * SigV4, routing, the operations and the store and its log, compiled once
 * into objects_core) over Linux sockets:
 *
 *   epoll, one thread: read() into a DRAM buffer per connection; request
 *   heads parsed there; a PutObject's body hashed (MD5, and SHA-256 when
 *   signed) and copied into pool buffers of its own (pst_pool_take +
 *   memcpy + flush + keep), aws-chunked framing decoded on the way; once
 *   the requests of a read() are answered the pool is drained (the fence
 *   before every write()) and only then are the replies written. A
 *   GetObject's bytes are written with writev() straight from the
 *   object's pool buffers.
 *
 * One request at a time per connection, none while a reply waits, as
 * paste-objects (examples/objects/server.c). It needs no DPDK EAL.
 *
 *   linux-objects --keys-file F [--bind ADDR] [--http-port P] [options]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chunked.h"
#include "compact.h"
#include "etag.h"
#include "example_util.h"
#include "handler.h"
#include "http.h"
#include "keys.h"
#include "ops.h"
#include "ostore.h"
#include "paste.h"
#include "stages.h"

#define RBUF (256u * 1024)          /* read() room per call */
#define IOV_BATCH 1024

struct opts {
	const char *bind_addr, *pool_file, *keys_file, *access_key, *secret_key, *region;
	uint16_t http_port;
	uint64_t pool_bufs;
	unsigned int max_conns;
	double request_timeout, idle_timeout;
	enum pst_persist_mode persist;
	int stage_cycles;
	/* -1, 0: the store's default */
	int64_t compact_pct, compact_min_bufs, compact_slice, compact_slice_bytes;
};

struct server;

struct conn {
	struct server *srv;
	int fd;
	struct conn *prev, *next;
	/* Input: unconsumed bytes are buf[head, tail). */
	uint8_t *buf;
	size_t head, tail;
	uint64_t body_left;             /* bytes of the current body to consume */
	struct obj_response resp;       /* sent once the body is consumed */
	int resp_pending;
	/* Output: DRAM bytes out[out_off, out_len), then an object's bytes. */
	char *out;
	size_t out_off, out_len, out_cap;
	struct obj_version *get_v;
	uint64_t get_skip, get_left;
	uint32_t get_i;
	int closing, eof, epollout;
	/* A PutObject's body being received: copied into pool buffers of
	 * its own, hashed on the way. */
	struct obj_put *put;
	struct obj_version *up_v;
	uint32_t up_cap;
	struct obj_md5 up_md5;
	crypto_hash_sha256_state up_sha;
	struct obj_chunked up_chunk;
	int up_done, up_err;
	uint8_t *fill;                  /* the pool buffer being filled, or NULL */
	uint32_t fill_index, fill_len;
	struct obj_body_req *breq;      /* DeleteObjects: its body read whole */
	int req_close;
	/* Clock (server.now) of: the last byte read, the start of the
	 * request being read, the last output byte written (or queued). */
	double last_rx, req_start, send_progress;
};

struct server {
	struct obj_service svc;
	struct obj_store *store;
	struct pst_pool *pool;
	int epfd, lfd;
	int dirty;                      /* flushes since the last drain */
	int drain_failed;
	unsigned int n_conns, max_conns;
	double request_timeout, idle_timeout, now;
	struct conn *conns;
	uint64_t accepted, refused_conns, bad_heads, timed_out, reads, writes, drains;
	uint64_t busy, drain_cycles;    /* obj_cycles(): work between epoll_waits */
};

static volatile sig_atomic_t stats_wanted;

static void
on_usr1(int sig)
{
	(void)sig;
	stats_wanted = 1;
}

/* ---- output ------------------------------------------------------------ */

static int
out_pending(const struct conn *c)
{
	return c->out_off < c->out_len || c->get_v != NULL;
}

static int
out_add(struct conn *c, const void *p, size_t len)
{
	if (len == 0)
		return 0;
	if (!out_pending(c))
		c->send_progress = c->srv->now;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *o;

		while (cap < c->out_len + len)
			cap *= 2;
		o = realloc(c->out, cap);
		if (o == NULL)
			return -1;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	return 0;
}


/* Write what waits: the DRAM bytes, then the object's bytes from its pool
 * buffers. @return 1 when all is out, 0 (the socket is full), -1. */
static int
out_flush(struct server *srv, struct conn *c)
{
	struct iovec iov[IOV_BATCH];

	while (out_pending(c)) {
		unsigned int k = 0;
		uint64_t skip = c->get_skip, left = c->get_left;
		uint32_t i;
		ssize_t n;
		size_t dram;

		if (c->out_off < c->out_len) {
			iov[k].iov_base = c->out + c->out_off;
			iov[k++].iov_len = c->out_len - c->out_off;
		}
		for (i = c->get_i; c->get_v != NULL && i < c->get_v->n_names && left > 0 &&
		     k < IOV_BATCH; i++) {
			pst_name nm = c->get_v->names[i];
			uint64_t nl = pst_name_length(nm), take;

			if (skip >= nl) {
				skip -= nl;
				continue;
			}
			take = nl - skip < left ? nl - skip : left;
			iov[k].iov_base = (uint8_t *)pst_pool_name_to_addr(srv->pool, nm) + skip;
			iov[k++].iov_len = take;
			left -= take;
			skip = 0;
		}
		if (k == 0) {
			/* The names end before the range does: cannot happen
			 * for a stored version; the connection goes. */
			return -1;
		}
		n = writev(c->fd, iov, (int)k);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		srv->writes++;
		if (n > 0)
			c->send_progress = srv->now;
		dram = c->out_len - c->out_off;
		if ((size_t)n < dram) {
			c->out_off += (size_t)n;
			continue;
		}
		n -= (ssize_t)dram;
		c->out_off = c->out_len = 0;
		/* The object's bytes written: advance through its names. */
		while (n > 0 && c->get_v != NULL) {
			pst_name nm = c->get_v->names[c->get_i];
			uint64_t nl = pst_name_length(nm), take;

			if (c->get_skip >= nl) {
				c->get_skip -= nl;
				c->get_i++;
				continue;
			}
			take = nl - c->get_skip < c->get_left ? nl - c->get_skip : c->get_left;
			if ((uint64_t)n < take) {
				c->get_skip += (uint64_t)n;
				c->get_left -= (uint64_t)n;
				n = 0;
				break;
			}
			n -= (ssize_t)take;
			c->get_left -= take;
			c->get_skip = 0;
			c->get_i++;
		}
		if (c->get_v != NULL && c->get_left == 0) {
			obj_version_put(srv->store, c->get_v);
			c->get_v = NULL;
		}
	}
	return 1;
}

/* ---- uploads ----------------------------------------------------------- */

/* The pool buffer being filled is done with (it was kept and named as it
 * filled): the next bytes go to a new one. */
static void
fill_end(struct conn *c)
{
	c->fill = NULL;
	c->fill_len = 0;
}

/* @len bytes of an object: hashed, copied into pool buffers of the
 * upload's own, flushed. @return 0, or -1 (out of memory or buffers: the
 * connection goes). */
static int
upload_copy(struct conn *c, const uint8_t *p, size_t len)
{
	struct obj_store *st = c->srv->store;
	struct obj_stages *sg = &st->stages;
	struct obj_version *v = c->up_v;
	uint64_t t0 = obj_stage_clock(sg), t1, t2;

	obj_md5_update(&c->up_md5, p, len);
	t1 = obj_stage_clock(sg);
	if (c->put->has_sha256)
		crypto_hash_sha256_update(&c->up_sha, p, len);
	t2 = obj_stage_clock(sg);
	if (sg->on) {
		sg->md5 += t1 - t0;
		sg->sha256 += t2 - t1;
	}
	sg->bytes_stored += len;
	v->size += len;
	c->srv->dirty = 1;
	while (len > 0) {
		uint32_t take;

		if (c->fill == NULL) {
			pst_name nm;

			t0 = obj_stage_clock(sg);
			if (pst_pool_take(c->srv->pool, &c->fill_index) != 0)
				return -1;
			if (v->n_names + 1 > c->up_cap) {
				uint32_t cap = c->up_cap * 2;
				pst_name *nn = realloc(v->names, ((size_t)cap + 1) * sizeof(*nn));

				if (nn == NULL) {
					pst_pool_release(c->srv->pool, c->fill_index);
					return -1;
				}
				v->names = nn;
				c->up_cap = cap;
			}
			/* Kept now, referenced by the upload: abandoned, it is
			 * released as paste-objects's received buffers are. */
			pst_pool_keep(c->srv->pool, c->fill_index);
			nm = pst_name_make(c->fill_index, 0, 0);
			obj_store_ref(st, nm);
			v->names[v->n_names++] = nm;
			c->fill = pst_pool_buf_addr(c->srv->pool, c->fill_index);
			c->fill_len = 0;
			if (sg->on)
				sg->keep += obj_cycles() - t0;
		}
		take = st->buf_size - c->fill_len;
		if (take > len)
			take = (uint32_t)len;
		t0 = obj_stage_clock(sg);
		memcpy(c->fill + c->fill_len, p, take);
		t1 = obj_stage_clock(sg);
		pst_pool_flush(c->srv->pool, c->fill + c->fill_len, take);
		if (sg->on) {
			sg->copy += t1 - t0;
			sg->flush += obj_cycles() - t1;
		}
		c->fill_len += take;
		v->names[v->n_names - 1] = pst_name_make(c->fill_index, 0, (uint16_t)c->fill_len);
		p += take;
		len -= take;
		if (c->fill_len == st->buf_size)
			fill_end(c);
	}
	return 0;
}

static void
chunk_data(void *arg, const char *p, size_t len, uint64_t body_off)
{
	struct conn *c = arg;

	(void)body_off;
	if (c->up_err == 0 && len > 0 && upload_copy(c, (const uint8_t *)p, len) != 0)
		c->up_err = -ENOMEM;
}

/* @n bytes of the upload's body at @p. @return 0 or -1. */
static int
upload_take(struct conn *c, const uint8_t *p, size_t n)
{
	size_t used = 0;
	int r;

	if (!c->put->chunked)
		return upload_copy(c, p, n);
	if (c->up_done) {
		c->up_err = -EBADMSG;   /* bytes after the final chunk */
		return 0;
	}
	if (c->up_err != 0)
		return 0;
	r = obj_chunked_feed(&c->up_chunk, (const char *)p, n, &used, chunk_data, c);
	if (r < 0 && c->up_err == 0)
		c->up_err = r;
	if (r == OBJ_CHUNKED_DONE) {
		c->up_done = 1;
		if (used < n)
			c->up_err = -EBADMSG;
	}
	return c->up_err == -ENOMEM ? -1 : 0;
}

static void
upload_drop(struct conn *c)
{
	struct obj_store *st = c->srv->store;

	if (c->up_v != NULL) {
		obj_store_ref_names(st, c->up_v->names, c->up_v->n_names, -1);
		c->up_v->n_names = 0;
		obj_version_put(st, c->up_v);
		obj_md5_fini(&c->up_md5);
		c->up_v = NULL;
	}
	fill_end(c);
	obj_ops_put_free(&c->srv->svc, c->put);
	c->put = NULL;
	obj_ops_body_free(c->breq);
	c->breq = NULL;
}

static void
upload_finish(struct conn *c)
{
	uint8_t sha[32] = { 0 };
	struct obj_version *v = c->up_v;
	struct obj_put *put = c->put;
	struct obj_stages *sg = &c->srv->store->stages;
	uint64_t t0 = obj_stage_clock(sg);

	obj_md5_final(&c->up_md5, v->md5);
	if (put->has_sha256)
		crypto_hash_sha256_final(&c->up_sha, sha);
	obj_stages_hashed(sg, t0, put->has_sha256);
	fill_end(c);
	c->up_v = NULL;
	c->put = NULL;
	t0 = obj_stage_clock(sg);
	obj_ops_put_done(&c->srv->svc, put, v, sha,
			 put->chunked && c->up_err == 0 && !c->up_done ? -EBADMSG : c->up_err,
			 time(NULL), c->req_close, &c->resp);
	if (sg->on)
		sg->record += obj_cycles() - t0;
	c->srv->dirty = 1;
	c->resp_pending = 1;
}

static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

static int
upload_begin(struct conn *c, const struct obj_http_req *req)
{
	struct obj_put *put = c->resp.put;

	c->up_v = obj_version_new(put->ctype, put->ctype_len, put->meta, put->meta_len, 64);
	if (c->up_v == NULL)
		return -1;
	if (obj_md5_init(&c->up_md5) != 0) {
		obj_version_put(c->srv->store, c->up_v);
		c->up_v = NULL;
		return -1;
	}
	c->up_cap = 64;
	crypto_hash_sha256_init(&c->up_sha);
	c->up_done = 0;
	c->up_err = 0;
	fill_end(c);
	if (put->chunked)
		obj_chunked_init(&c->up_chunk, &put->auth, put->length);
	c->put = put;
	c->resp.put = NULL;
	c->resp_pending = 0;
	c->req_close = !req->keep_alive;
	c->body_left = req->length;
	return req->expect_continue ? out_add(c, cont, sizeof(cont) - 1) : 0;
}

static int
body_begin(struct conn *c, const struct obj_http_req *req)
{
	c->breq = c->resp.body_req;
	c->resp.body_req = NULL;
	c->resp_pending = 0;
	c->req_close = !req->keep_alive;
	c->body_left = req->length;
	return req->expect_continue ? out_add(c, cont, sizeof(cont) - 1) : 0;
}

/* ---- requests ---------------------------------------------------------- */

static void
resp_free(struct conn *c)
{
	if (c->resp.get_v != NULL)
		obj_version_put(c->srv->store, c->resp.get_v);
	c->resp.get_v = NULL;
	obj_ops_put_free(&c->srv->svc, c->resp.put);
	c->resp.put = NULL;
	obj_ops_body_free(c->resp.body_req);
	c->resp.body_req = NULL;
	obj_response_fini(&c->resp);
}

/* The reply queued (written after the drain). @return 0 or -1. */
static int
queue_response(struct conn *c)
{
	int ret = out_add(c, c->resp.head, c->resp.head_len);

	if (ret == 0 && c->resp.body != NULL)
		ret = out_add(c, c->resp.body, c->resp.body_len);
	if (c->resp.close)
		c->closing = 1;
	if (c->resp.get_v != NULL) {
		c->srv->store->stages.bytes_sent += c->resp.get_len;
		c->get_v = c->resp.get_v;
		c->get_skip = c->resp.get_off;
		c->get_left = c->resp.get_len;
		c->get_i = 0;
		c->resp.get_v = NULL;
		if (c->get_left == 0) {
			obj_version_put(c->srv->store, c->get_v);
			c->get_v = NULL;
		}
	}
	resp_free(c);
	c->resp_pending = 0;
	return ret;
}

/* A body that stopped coming (c->put or c->breq set), as paste-objects's
 * server.c: nothing is stored, the client is told (obj_handle_body_cut),
 * and the connection closes once the reply is written. @return as
 * queue_response(). */
static int
body_cut(struct conn *c, int timed_out)
{
	const char *resource = c->put != NULL ? c->put->resource : c->breq->resource;
	uint64_t id = c->put != NULL ? c->put->id : c->breq->id;

	resp_free(c);
	obj_handle_body_cut(timed_out, resource, id, time(NULL), &c->resp);
	upload_drop(c);                 /* nothing stored */
	c->body_left = 0;
	c->srv->svc.refused++;
	return queue_response(c);
}

/* Answer the requests received so far (server.c's process(), over a DRAM
 * buffer). @return 0 (wait for input), 1 (a reply waits to be written:
 * call again once it is), or -1 (abort). */
static int
process(struct conn *c)
{
	struct server *srv = c->srv;

	obj_store_release_durable(srv->store);
	for (;;) {
		struct obj_http_req req;
		const char *status;
		size_t avail = c->tail - c->head, n, hl;

		if (out_pending(c))
			return 1;       /* the reply first */
		if (c->body_left > 0) {
			n = avail < c->body_left ? avail : (size_t)c->body_left;
			if (c->put != NULL && n > 0 && upload_take(c, c->buf + c->head, n) != 0)
				return -1;
			if (c->breq != NULL && n > 0) {
				memcpy(c->breq->buf + c->breq->have, c->buf + c->head, n);
				c->breq->have += n;
			}
			c->head += n;
			c->body_left -= n;
			if (c->body_left > 0)
				return 0;
			if (c->put != NULL)
				upload_finish(c);
			if (c->breq != NULL) {
				struct obj_body_req *b = c->breq;

				c->breq = NULL;
				obj_ops_body_done(&srv->svc, b, time(NULL), c->req_close, &c->resp);
				srv->dirty = 1;
				c->resp_pending = 1;
			}
		} else if (c->put != NULL) {
			upload_finish(c);       /* an empty object */
		}
		if (c->closing)
			return 0;
		if (c->resp_pending) {
			if (queue_response(c) != 0)
				return -1;
			c->req_start = srv->now;
			continue;
		}
		if (avail == 0)
			return 0;
		n = avail < OBJ_HTTP_HEAD_MAX ? avail : OBJ_HTTP_HEAD_MAX;
		hl = obj_http_head_len((const char *)c->buf + c->head, n);
		if (hl == 0) {
			if (n < OBJ_HTTP_HEAD_MAX)
				return 0;
			obj_handle_bad_head("431 Request Header Fields Too Large", &c->resp);
			srv->bad_heads++;
			return queue_response(c);
		}
		if (obj_http_parse((const char *)c->buf + c->head, hl, &req, &status) != 0) {
			obj_handle_bad_head(status, &c->resp);
			srv->bad_heads++;
			return queue_response(c);
		}
		/* Any operation may write the store's log. */
		obj_handle(&srv->svc, &req, time(NULL), &c->resp);
		srv->dirty = 1;
		c->resp_pending = 1;
		c->head += hl;          /* @req still points at the bytes: unmoved */
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
		    queue_response(c) != 0)
			return -1;
	}
}

/* ---- connections ------------------------------------------------------- */

static void
conn_free(struct server *srv, struct conn *c)
{
	upload_drop(c);
	if (c->get_v != NULL)
		obj_version_put(srv->store, c->get_v);
	resp_free(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c->out);
	free(c);
	srv->n_conns--;
}

static int
conn_want(struct server *srv, struct conn *c, int out)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN, .data.ptr = c };

	if (c->epollout == out)
		return 0;
	c->epollout = out;
	return epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Answer, drain, write: the fence before every write(). */
static void
conn_run(struct server *srv, struct conn *c)
{
	int r, round, more;

	for (round = 0; round < 64; round++) {
		more = process(c);
		if (more < 0) {
			conn_free(srv, c);
			return;
		}
		if (srv->dirty) {
			uint64_t t0 = obj_cycles();

			if (pst_pool_drain(srv->pool) != 0) {
				fprintf(stderr, "linux-objects: drain of the pool failed: %s; "
					"stopping\n", pst_errormsg());
				srv->drain_failed = 1;
				ex_force_quit = 1;
				return;
			}
			srv->drain_cycles += obj_cycles() - t0;
			srv->drains++;
			srv->dirty = 0;
			obj_store_release_durable(srv->store);
		}
		r = out_flush(srv, c);
		if (r < 0) {
			conn_free(srv, c);
			return;
		}
		if (r == 0) {
			if (conn_want(srv, c, 1) != 0)
				conn_free(srv, c);
			return;
		}
		/* All written: what waited behind the reply goes on. */
		if (!more)
			break;
	}
	if (c->closing && (c->body_left == 0 || c->eof)) {
		conn_free(srv, c);
		return;
	}
	if (c->eof && !c->closing && c->body_left > 0 && (c->put != NULL || c->breq != NULL)) {
		if (body_cut(c, 0) != 0)
			conn_free(srv, c);
		else
			conn_run(srv, c);       /* written, then closed */
		return;
	}
	if (c->eof && !c->closing) {
		/* The peer is done: a request cut short stores nothing. */
		upload_drop(c);
		conn_free(srv, c);
		return;
	}
	if (conn_want(srv, c, round == 64) != 0)
		conn_free(srv, c);
}

static void
conn_readable(struct server *srv, struct conn *c)
{
	ssize_t n;

	if (c->head == c->tail) {
		c->head = c->tail = 0;
	} else if (RBUF - c->tail < RBUF / 2) {
		memmove(c->buf, c->buf + c->head, c->tail - c->head);
		c->tail -= c->head;
		c->head = 0;
	}
	if (c->tail == RBUF) {
		/* A head longer than the buffer: obj_http_head_len refused
		 * it before this (431). */
		conn_free(srv, c);
		return;
	}
	n = read(c->fd, c->buf + c->tail, RBUF - c->tail);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_free(srv, c);
		return;
	}
	srv->reads++;
	if (n == 0) {
		c->eof = 1;
	} else {
		c->last_rx = srv->now;
		if (c->head == c->tail && c->body_left == 0)
			c->req_start = srv->now;
		c->tail += (size_t)n;
	}
	conn_run(srv, c);
}

static void
accept_all(struct server *srv)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	int i;

	for (i = 0; i < 64; i++) {
		struct epoll_event ev;
		struct conn *c;
		int fd, one = 1;

		fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (srv->n_conns >= srv->max_conns) {
			ssize_t w = write(fd, busy, sizeof(busy) - 1);

			(void)w;
			srv->refused_conns++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c != NULL)
			c->buf = malloc(RBUF);
		if (c == NULL || c->buf == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->last_rx = srv->now;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->buf);
			free(c);
			close(fd);
			continue;
		}
		c->next = srv->conns;
		if (c->next != NULL)
			c->next->prev = c;
		srv->conns = c;
		srv->n_conns++;
		srv->accepted++;
	}
}

/* paste-objects's timeouts: a request whose head and body have not all
 * arrived in time, a connection silent between requests; and a reply
 * that made no progress for the request timeout. */
static void
sweep_timeouts(struct server *srv)
{
	struct conn *c, *next;

	for (c = srv->conns; c != NULL; c = next) {
		int in_request = c->head < c->tail || c->body_left > 0;

		next = c->next;
		if (out_pending(c)) {
			/* A peer that stops reading: paste-objects's stack
			 * aborts it after its retransmissions go unanswered;
			 * here the request timeout applies to the reply. */
			if (srv->request_timeout > 0 &&
			    srv->now - c->send_progress > srv->request_timeout) {
				srv->timed_out++;
				conn_free(srv, c);
			}
			continue;
		}
		if ((in_request && srv->request_timeout > 0 &&
		     srv->now - c->req_start > srv->request_timeout) ||
		    (!in_request && srv->idle_timeout > 0 &&
		     srv->now - c->last_rx > srv->idle_timeout)) {
			srv->timed_out++;
			if (in_request && c->body_left > 0 && (c->put != NULL || c->breq != NULL) &&
			    !c->closing) {
				if (body_cut(c, 1) != 0)
					conn_free(srv, c);
				else
					conn_run(srv, c);
			} else {
				conn_free(srv, c);
			}
		}
	}
}

/* ---- main -------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: linux-objects --keys-file F [options]\n"
		"  paste-objects over Linux sockets (epoll, copy into the pool, drain\n"
		"  before every write); the benchmark's baseline (doc/benchmarks.md)\n"
		"  --keys-file F            access keys, one ACCESS_KEY_ID:SECRET a line\n"
		"  --access-key ID --secret-key S   one key given here (visible in ps)\n"
		"  --region R               the region requests are signed for\n"
		"                           (default us-east-1)\n"
		"  --bind ADDR              listen address (default 0.0.0.0)\n"
		"  --http-port P            S3 port (default 9000)\n"
		"  --pool-file F            pool file (default /dev/shm/linux-objects.pool)\n"
		"  --pool-bufs N            buffers when creating the pool (default 65536)\n"
		"  --persist MODE           auto|flush|fence|msync (default auto)\n"
		"  --max-conns N            connection limit (default 1024)\n"
		"  --request-timeout S      as paste-objects's (default 60, 0: never)\n"
		"  --timeout S              as paste-objects's (default 0: never)\n"
		"  --log-compact P          as paste-objects's (default 50; 0: never)\n"
		"  --log-compact-min N      as paste-objects's (default 64)\n"
		"  --log-compact-slice N    as paste-objects's (default 256; 0: all at once)\n"
		"  --log-compact-slice-bytes N  as paste-objects's (default 65536)\n"
		"  --stage-cycles           time an upload's stages (hashing, copy, flush,\n"
		"                           keep, record) on the \"stages:\" line printed\n"
		"                           on SIGUSR1 and at exit\n");
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "keys-file", required_argument, NULL, 'k' },
		{ "access-key", required_argument, NULL, 'a' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "bind", required_argument, NULL, 'B' },
		{ "http-port", required_argument, NULL, 'h' },
		{ "pool-file", required_argument, NULL, 'f' },
		{ "pool-bufs", required_argument, NULL, 'b' },
		{ "persist", required_argument, NULL, 'P' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "stage-cycles", no_argument, NULL, 'S' },
		{ "log-compact", required_argument, NULL, 'C' },
		{ "log-compact-min", required_argument, NULL, 'c' },
		{ "log-compact-slice", required_argument, NULL, 'G' },
		{ "log-compact-slice-bytes", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret, li = 0;
	uint64_t u = 0;

	while ((c = getopt_long(argc, argv, "", lopts, &li)) != -1) {
		switch (c) {
		case 'k': o->keys_file = optarg; ret = 0; break;
		case 'a': o->access_key = optarg; ret = 0; break;
		case 's': o->secret_key = optarg; ret = 0; break;
		case 'r': o->region = optarg; ret = optarg[0] == '\0' || strlen(optarg) > 32; break;
		case 'B': o->bind_addr = optarg; ret = 0; break;
		case 'h': ret = ex_parse_u16(optarg, 1, UINT16_MAX, &o->http_port); break;
		case 'f': o->pool_file = optarg; ret = 0; break;
		case 'b': ret = ex_parse_u64(optarg, 64, UINT32_MAX, &o->pool_bufs); break;
		case 'P': ret = pst_persist_mode_parse(optarg, &o->persist); break;
		case 'n': ret = ex_parse_u32(optarg, 1, UINT32_MAX, &o->max_conns); break;
		case 'R': ret = ex_parse_double(optarg, 0, 1e9, &o->request_timeout); break;
		case 'T': ret = ex_parse_double(optarg, 0, 1e9, &o->idle_timeout); break;
		case 'S': o->stage_cycles = 1; ret = 0; break;
		case 'C': ret = ex_parse_u64(optarg, 0, 99, &u); o->compact_pct = (int64_t)u; break;
		case 'c':
			ret = ex_parse_u64(optarg, 1, UINT32_MAX, &u);
			o->compact_min_bufs = (int64_t)u;
			break;
		case 'G':
			ret = ex_parse_u64(optarg, 0, UINT32_MAX, &u);
			o->compact_slice = (int64_t)u;
			break;
		case 'g':
			ret = ex_parse_u64(optarg, 1, 1ull << 40, &u);
			o->compact_slice_bytes = (int64_t)u;
			break;
		default: ret = -1; break;
		}
		if (ret != 0) {
			if (c != '?')
				fprintf(stderr, "linux-objects: bad value '%s' for --%s\n",
					optarg ? optarg : "", lopts[li].name);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "linux-objects: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if ((o->access_key == NULL) != (o->secret_key == NULL)) {
		fprintf(stderr, "linux-objects: --access-key and --secret-key go together\n");
		return -1;
	}
	if (o->keys_file == NULL && o->access_key == NULL) {
		fprintf(stderr, "linux-objects: no access keys: give --keys-file (or "
			"--access-key and --secret-key)\n");
		return -1;
	}
	return 0;
}

static int
load_keys(const struct opts *o, struct obj_keys *keys)
{
	char err[512];

	if (o->keys_file != NULL && obj_keys_load(keys, o->keys_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "linux-objects: keys: %s\n", err);
		return -1;
	}
	if (o->access_key != NULL && obj_keys_add(keys, o->access_key, o->secret_key) != 0) {
		fprintf(stderr, "linux-objects: --access-key/--secret-key refused\n");
		return -1;
	}
	return 0;
}

static int
listen_on(struct server *srv, const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "linux-objects: bad --bind address %s\n", addr);
		return -1;
	}
	srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->lfd < 0 || setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(srv->lfd, 1024) != 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev)) {
		fprintf(stderr, "linux-objects: listen on %s:%u: %s\n", addr, port,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void
print_stats(const struct server *srv)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("objects: requests=%" PRIu64 " refused=%" PRIu64 " bad_heads=%" PRIu64
	       " accepted=%" PRIu64 " timed_out=%" PRIu64 " conns=%u puts=%" PRIu64
	       " deletes=%" PRIu64 " objects=%zu buckets=%u log_bufs=%zu reads=%" PRIu64
	       " writes=%" PRIu64 " drains=%" PRIu64 " user_us=%ld sys_us=%ld\n",
	       srv->svc.requests, srv->svc.refused, srv->bad_heads, srv->accepted,
	       srv->timed_out, srv->n_conns, srv->store->puts, srv->store->deletes,
	       srv->store->n_objs, srv->store->n_buckets, srv->store->log.n_bufs, srv->reads,
	       srv->writes, srv->drains,
	       (long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
	obj_compact_print(srv->store, "objects");
	obj_stages_print(srv->store, srv->busy, srv->drain_cycles, obj_cycles_hz());
}

static void
serve(struct server *srv)
{
	struct epoll_event ev[256];
	double next_sweep = 0;
	int i, n;

	while (!ex_force_quit) {
		uint64_t t0;

		n = epoll_wait(srv->epfd, ev, 256, 100);
		t0 = obj_cycles();
		srv->now = ex_now_s();
		if (n < 0 && errno != EINTR) {
			perror("linux-objects: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (c == NULL)
				accept_all(srv);
			else if (c->epollout)
				conn_run(srv, c);
			else
				conn_readable(srv, c);
		}
		if (srv->now >= next_sweep) {
			sweep_timeouts(srv);
			obj_store_release_durable(srv->store);
			next_sweep = srv->now + 0.1;
		}
		if (n > 0)
			srv->busy += obj_cycles() - t0;
		if (stats_wanted) {
			stats_wanted = 0;
			print_stats(srv);
		}
	}
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.bind_addr = "0.0.0.0", .pool_file = "/dev/shm/linux-objects.pool",
		.region = "us-east-1", .http_port = 9000, .pool_bufs = 65536, .max_conns = 1024,
		.request_timeout = 60, .compact_pct = -1, .compact_slice = -1,
	};
	struct obj_keys keys = { NULL, 0 };
	struct pst_pool_config pcfg = { 0 };
	struct obj_store store;
	struct server srv = { .epfd = -1, .lfd = -1, .store = &store };
	int ret, status = 1;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (parse_args(argc, argv, &o) != 0 || load_keys(&o, &keys) != 0)
		goto out;
	if (sodium_init() < 0) {
		fprintf(stderr, "linux-objects: libsodium did not initialise\n");
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	pcfg.path = o.pool_file;
	pcfg.persist_mode = o.persist;
	srv.pool = ex_pool_open_or_create(&pcfg, o.pool_bufs);
	if (srv.pool == NULL) {
		fprintf(stderr, "linux-objects: pool %s: %s\n", o.pool_file, pst_errormsg());
		goto out;
	}
	{
		double t0 = ex_now_s();

		ret = obj_store_open(&store, srv.pool);
		if (ret != 0) {
			fprintf(stderr, "linux-objects: store in %s: %s\n", o.pool_file,
				pst_strerror(ret));
			goto close_pool;
		}
		if (o.compact_pct >= 0)
			store.compact_pct = (unsigned int)o.compact_pct;
		if (o.compact_min_bufs > 0)
			store.compact_min_bufs = (size_t)o.compact_min_bufs;
		if (o.compact_slice >= 0)
			store.compact_slice = (unsigned int)o.compact_slice;
		if (o.compact_slice_bytes > 0)
			store.compact_slice_bytes = (uint64_t)o.compact_slice_bytes;
		printf("linux-objects: recovered buckets=%u objects=%zu records=%" PRIu64
		       " torn_bytes=%" PRIu64 " log_bufs=%zu released=%" PRIu64 " seconds=%.3f"
		       " mark=%" PRIu64 " hashed_bytes=%" PRIu64 "\n",
		       store.n_buckets, store.n_objs, store.log.replayed, store.log.torn_bytes,
		       store.log.n_bufs, store.released_at_start, ex_now_s() - t0,
		       store.mark_at_open > store.log.base ? store.mark_at_open - store.log.base : 0,
		       store.hashed_at_open);
	}
	srv.svc.keys = &keys;
	srv.svc.store = &store;
	srv.svc.region = o.region;
	srv.max_conns = o.max_conns;
	srv.request_timeout = o.request_timeout;
	srv.idle_timeout = o.idle_timeout;
	srv.now = ex_now_s();
	store.stages.on = o.stage_cycles;
	obj_cycles_hz();
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.epfd < 0 || listen_on(&srv, o.bind_addr, o.http_port) != 0)
		goto close_store;
	ex_catch_quit_signals();
	signal(SIGUSR1, on_usr1);
	printf("linux-objects: ready http=%u bind=%s region=%s keys=%u persist=%s\n",
	       o.http_port, o.bind_addr, o.region, keys.n,
	       pst_persist_mode_name(o.persist));
	serve(&srv);
	if (srv.drain_failed) {
		/* As paste-objects: nothing that waited is acknowledged. */
		fflush(stdout);
		_exit(74);
	}
	while (srv.conns != NULL)
		conn_free(&srv, srv.conns);
	print_stats(&srv);
	status = 0;
close_store:
	if (srv.lfd >= 0)
		close(srv.lfd);
	if (srv.epfd >= 0)
		close(srv.epfd);
	obj_store_close(&store);
close_pool:
	pst_pool_close(srv.pool);
out:
	obj_keys_fini(&keys);
	return status;
}
