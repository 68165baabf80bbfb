/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs connections. Every received segment is kept at once (its pool
 * buffer leaves circulation) and appended to the connection's stream; the
 * parsers find requests across segments; a SET's value is the list of names
 * covering its bytes, referenced by the store; everything else is released
 * when consumed. Replies are queued with pst_conn_send / send_name and leave
 * after the poll's drain, so +OK means durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define STREAM_MAX (64u << 20) /* unparsed bytes per connection */
#define OUT_MAX 65536          /* queued reply pieces per connection */
#define SMALL 512

/* ---- SET EX/PX deadlines ---------------------------------------------- */

struct exp_node {
	struct exp_node *next;
	uint64_t deadline_ms;
	uint16_t len;
	char key[];
};

struct kv_expiry {
	struct exp_node *b[4096];
	uint64_t n;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct exp_node **
exp_slot(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct exp_node **p = &e->b[pst_crc32c(key, len) % 4096];

	while (*p != NULL && ((*p)->len != len || memcmp((*p)->key, key, len) != 0))
		p = &(*p)->next;
	return p;
}

static void
exp_clear(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct exp_node **p = exp_slot(e, key, len), *n = *p;

	if (n != NULL) {
		*p = n->next;
		free(n);
		e->n--;
	}
}

static void
exp_set(struct kv_expiry *e, const char *key, uint16_t len, uint64_t deadline)
{
	struct exp_node **p = exp_slot(e, key, len), *n = *p;

	if (n == NULL) {
		n = malloc(sizeof(*n) + len);
		if (n == NULL)
			return;
		n->next = NULL;
		n->len = len;
		memcpy(n->key, key, len);
		*p = n;
		e->n++;
	}
	n->deadline_ms = deadline;
}

static void
exp_clear_all(struct kv_expiry *e)
{
	unsigned int i;

	for (i = 0; i < 4096; i++)
		while (e->b[i] != NULL) {
			struct exp_node *n = e->b[i];

			e->b[i] = n->next;
			free(n);
		}
	e->n = 0;
}

/* ---- connections ------------------------------------------------------ */

struct out_item {
	pst_name name;            /* PST_NAME_INVALID: bytes below */
	uint32_t len;
	char *bytes;
};

struct kv_conn {
	struct kv_server *srv;
	struct pst_conn *conn;
	int http;
	struct kv_stream rx;
	struct out_item *out;     /* reply pieces waiting for send buffer */
	unsigned int out_head, out_len, out_cap;
	int closing;              /* close once the output is out */
	int dead;
};

static void
drop_span(void *arg, pst_name name)
{
	kv_unref(arg, name);
}

static void
conn_free(struct kv_conn *c)
{
	struct kv_store *st = c->srv->store;

	kv_stream_fini(&c->rx, drop_span, st);
	while (c->out_len > 0) {
		struct out_item *it = &c->out[c->out_head];

		if (it->name != PST_NAME_INVALID)
			kv_unref(st, it->name);
		free(it->bytes);
		c->out_head = (c->out_head + 1) % c->out_cap;
		c->out_len--;
	}
	free(c->out);
	c->srv->n_conns--;
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

/* Send queued pieces in order; returns 1 when the queue is empty. */
static int
out_pump(struct kv_conn *c)
{
	while (c->out_len > 0) {
		struct out_item *it = &c->out[c->out_head];
		long n;

		if (it->name != PST_NAME_INVALID) {
			n = pst_conn_send_name(c->conn, it->name);
			if (n == -EAGAIN)
				return 0;
			kv_unref(c->srv->store, it->name);
		} else {
			n = pst_conn_send(c->conn, it->bytes, it->len);
			if (n == -EAGAIN)
				return 0;
			if (n > 0 && (uint32_t)n < it->len) {
				memmove(it->bytes, it->bytes + n, it->len - (uint32_t)n);
				it->len -= (uint32_t)n;
				return 0;
			}
			free(it->bytes);
		}
		c->out_head = (c->out_head + 1) % c->out_cap;
		c->out_len--;
	}
	return 1;
}

static void
reply_bytes(struct kv_conn *c, const void *bytes, size_t len)
{
	long n = 0;

	if (len == 0)
		return;
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

static void
reply_name(struct kv_conn *c, pst_name name)
{
	long n;

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

static void
reply_value(struct kv_conn *c, const struct kv_value *v)
{
	unsigned int i;

	for (i = 0; i < v->n; i++)
		reply_name(c, v->names[i]);
}

/* ---- RESP ------------------------------------------------------------- */

static void
resp_str(struct kv_conn *c, int (*fmt)(char *, size_t, const char *), const char *msg)
{
	char buf[SMALL];
	int n = fmt(buf, sizeof(buf), msg);

	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
}

static void
resp_int(struct kv_conn *c, int64_t v)
{
	char buf[32];
	int n = kv_resp_integer(buf, sizeof(buf), v);

	reply_bytes(c, buf, (size_t)n);
}

static void
resp_bulk_bytes(struct kv_conn *c, const void *data, size_t len)
{
	char buf[32];
	int n = kv_resp_bulk_header(buf, sizeof(buf), len);

	reply_bytes(c, buf, (size_t)n);
	reply_bytes(c, data, len);
	reply_bytes(c, "\r\n", 2);
}

static void
resp_value(struct kv_conn *c, const struct kv_value *v)
{
	char buf[32];
	int n;

	if (v == NULL) {
		n = kv_resp_null_bulk(buf, sizeof(buf));
		reply_bytes(c, buf, (size_t)n);
		return;
	}
	n = kv_resp_bulk_header(buf, sizeof(buf), v->len);
	reply_bytes(c, buf, (size_t)n);
	reply_value(c, v);
	reply_bytes(c, "\r\n", 2);
}

/* Copy argument @i (a key or a small number) out of the stream. */
static uint16_t
arg_copy(const struct kv_conn *c, const struct kv_request *req, unsigned int i,
	 char *dst, size_t size)
{
	size_t len = req->argv[i].len < size ? req->argv[i].len : size;

	return (uint16_t)kv_stream_copy(&c->rx, req->argv[i].off, dst, len);
}

/* A key's value, unless its deadline passed (then it is deleted). */
static const struct kv_value *
lookup(struct kv_conn *c, const char *key, uint16_t len)
{
	struct kv_server *srv = c->srv;
	struct exp_node *e;

	if (srv->expiry->n > 0 && (e = *exp_slot(srv->expiry, key, len)) != NULL &&
	    e->deadline_ms <= now_ms()) {
		exp_clear(srv->expiry, key, len);
		kv_store_del(srv->store, key, len);
		srv->expired++;
		return NULL;
	}
	return kv_store_get(srv->store, key, len);
}

static const char *
set_error(int err)
{
	switch (err) {
	case -ENOSPC:
		return "OOM pool is full, value not stored";
	case -E2BIG:
		return "ERR value spans too many buffers";
	default:
		return "ERR value not stored";
	}
}

/* SET key value: the value's bytes stay in the stream's buffers. */
static int
do_set(struct kv_conn *c, const struct kv_request *req, unsigned int k, unsigned int v)
{
	static pst_name names[KV_VALUE_NAMES_MAX];
	struct kv_server *srv = c->srv;
	char key[KV_KEY_MAX];
	uint16_t klen;
	int n;

	if (req->argv[k].len > KV_KEY_MAX)
		return -EINVAL;
	if (req->argv[v].len > KV_VALUE_MAX)
		return -E2BIG;
	klen = arg_copy(c, req, k, key, sizeof(key));
	n = kv_stream_names(&c->rx, req->argv[v].off, req->argv[v].len, names,
			    KV_VALUE_NAMES_MAX);
	if (n < 0)
		return -E2BIG;
	n = kv_store_set(srv->store, key, klen, names, (unsigned int)n,
			 (uint32_t)req->argv[v].len);
	if (n == 0) {
		if (req->expire_ms > 0)
			exp_set(srv->expiry, key, klen, now_ms() + (uint64_t)req->expire_ms);
		else if (srv->expiry->n > 0)
			exp_clear(srv->expiry, key, klen);
	}
	return n;
}

static void
resp_info(struct kv_conn *c)
{
	struct kv_store *st = c->srv->store;
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "# Server\r\nredis_version:7.0.0\r\npaste_kvs:1\r\nindex:%s\r\n"
		     "value_mode:%s\r\n# Clients\r\nconnected_clients:%u\r\n"
		     "# Stats\r\ntotal_commands_processed:%" PRIu64 "\r\n"
		     "keyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64 "\r\n"
		     "# Persistence\r\nrecovered_keys:%" PRIu64 "\r\ntorn_entries:%" PRIu64
		     "\r\n# Keyspace\r\ndb0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0\r\n",
		     st->ops->name, st->copy_mode ? "copy" : "zero-copy", c->srv->n_conns,
		     c->srv->requests, st->hits, st->gets - st->hits, st->recovered,
		     st->report.torn + st->torn_values, kv_store_count(st), c->srv->expiry->n);
	resp_bulk_bytes(c, buf, (size_t)n);
}

static void
resp_execute(struct kv_conn *c, const struct kv_request *req)
{
	struct kv_server *srv = c->srv;
	char key[KV_KEY_MAX], num[32];
	const struct kv_value *v;
	unsigned int i;
	int64_t count;
	uint16_t klen;
	int ret;

	switch (req->op) {
	case KV_OP_PING:
		if (req->argc == 0)
			resp_str(c, kv_resp_simple, "PONG");
		else
			resp_bulk_bytes(c, key, arg_copy(c, req, 0, key, sizeof(key)));
		break;
	case KV_OP_ECHO:
		resp_bulk_bytes(c, key, arg_copy(c, req, 0, key, sizeof(key)));
		break;
	case KV_OP_GET:
		klen = arg_copy(c, req, 0, key, sizeof(key));
		resp_value(c, req->argv[0].len > KV_KEY_MAX ? NULL : lookup(c, key, klen));
		break;
	case KV_OP_SET:
		klen = arg_copy(c, req, 0, key, sizeof(key));
		if (req->argv[0].len <= KV_KEY_MAX &&
		    (req->set_flags & (KV_SET_NX | KV_SET_XX)) != 0) {
			int exists = lookup(c, key, klen) != NULL;

			if ((req->set_flags & KV_SET_NX) ? exists : !exists) {
				char buf[16];

				reply_bytes(c, buf, (size_t)kv_resp_null_bulk(buf, sizeof(buf)));
				break;
			}
		}
		ret = do_set(c, req, 0, 1);
		if (ret == 0)
			resp_str(c, kv_resp_simple, "OK");
		else if (ret == -EINVAL)
			resp_str(c, kv_resp_error, "ERR key too long");
		else
			resp_str(c, kv_resp_error, set_error(ret));
		break;
	case KV_OP_MSET:
		for (ret = 0, i = 0; i + 1 < req->argc && ret == 0; i += 2)
			ret = do_set(c, req, i, i + 1);
		if (ret == 0)
			resp_str(c, kv_resp_simple, "OK");
		else
			resp_str(c, kv_resp_error, set_error(ret));
		break;
	case KV_OP_MGET:
		ret = kv_resp_array_header(num, sizeof(num), (long)req->argc);
		reply_bytes(c, num, (size_t)ret);
		for (i = 0; i < req->argc; i++) {
			klen = arg_copy(c, req, i, key, sizeof(key));
			resp_value(c, req->argv[i].len > KV_KEY_MAX ? NULL : lookup(c, key, klen));
		}
		break;
	case KV_OP_DEL:
	case KV_OP_EXISTS:
		for (count = 0, i = 0; i < req->argc; i++) {
			if (req->argv[i].len > KV_KEY_MAX)
				continue;
			klen = arg_copy(c, req, i, key, sizeof(key));
			if (req->op == KV_OP_EXISTS) {
				count += lookup(c, key, klen) != NULL;
			} else {
				lookup(c, key, klen); /* expire first: DEL of expired is 0 */
				count += kv_store_del(srv->store, key, klen) > 0;
				if (srv->expiry->n > 0)
					exp_clear(srv->expiry, key, klen);
			}
		}
		resp_int(c, count);
		break;
	case KV_OP_INCR: {
		char digits[24] = { 0 };
		char *end;
		long long n;

		klen = arg_copy(c, req, 0, key, sizeof(key));
		v = lookup(c, key, klen);
		n = 0;
		if (v != NULL) {
			if (v->len == 0 || v->len > 20) {
				resp_str(c, kv_resp_error, "ERR value is not an integer or out of range");
				break;
			}
			for (i = 0, ret = 0; i < v->n; i++) {
				memcpy(digits + ret, pst_pool_name_to_addr(srv->store->pool, v->names[i]),
				       pst_name_length(v->names[i]));
				ret += pst_name_length(v->names[i]);
			}
			errno = 0;
			n = strtoll(digits, &end, 10);
			if (errno != 0 || *end != '\0' || n == INT64_MAX) {
				resp_str(c, kv_resp_error, "ERR value is not an integer or out of range");
				break;
			}
		}
		n++;
		ret = snprintf(digits, sizeof(digits), "%lld", n);
		ret = kv_store_set_bytes(srv->store, key, klen, digits, (uint32_t)ret);
		if (ret == 0)
			resp_int(c, n);
		else
			resp_str(c, kv_resp_error, set_error(ret));
		break;
	}
	case KV_OP_DBSIZE:
		resp_int(c, (int64_t)kv_store_count(srv->store));
		break;
	case KV_OP_FLUSHALL:
		kv_store_flushall(srv->store);
		exp_clear_all(srv->expiry);
		resp_str(c, kv_resp_simple, "OK");
		break;
	case KV_OP_INFO:
		resp_info(c);
		break;
	case KV_OP_CONFIG_GET: {
		/* What redis-benchmark asks at start; everything else is empty. */
		const char *val = NULL;
		char buf[SMALL];
		int n = 0;

		klen = arg_copy(c, req, 0, key, sizeof(key) - 1);
		key[klen] = '\0';
		if (strcasecmp(key, "save") == 0)
			val = "";
		else if (strcasecmp(key, "appendonly") == 0)
			val = "no";
		if (val == NULL) {
			reply_bytes(c, "*0\r\n", 4);
			break;
		}
		n = kv_resp_array_header(buf, sizeof(buf), 2);
		reply_bytes(c, buf, (size_t)n);
		resp_bulk_bytes(c, key, klen);
		resp_bulk_bytes(c, val, strlen(val));
		break;
	}
	case KV_OP_COMMAND:
		reply_bytes(c, "*0\r\n", 4);
		break;
	case KV_OP_SELECT:
		klen = arg_copy(c, req, 0, key, sizeof(key) - 1);
		if (klen == 1 && key[0] == '0')
			resp_str(c, kv_resp_simple, "OK");
		else
			resp_str(c, kv_resp_error, "ERR DB index is out of range");
		break;
	case KV_OP_QUIT:
		resp_str(c, kv_resp_simple, "OK");
		c->closing = 1;
		break;
	default:
		resp_str(c, kv_resp_error, "ERR unknown command");
		break;
	}
}

/* ---- HTTP ------------------------------------------------------------- */

static void
http_reply(struct kv_conn *c, int code, const char *text, const char *body,
	   int keepalive)
{
	char buf[SMALL];
	size_t blen = body ? strlen(body) : 0;
	int n = kv_http_status(buf, sizeof(buf), code, text, blen, keepalive);

	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
	if (blen > 0)
		reply_bytes(c, body, blen);
	if (!keepalive)
		c->closing = 1;
}

static void
http_execute(struct kv_conn *c, const struct kv_request *req)
{
	struct kv_server *srv = c->srv;
	const struct kv_value *v;
	char key[KV_KEY_MAX], buf[SMALL];
	uint16_t klen;
	int ret, ka = req->http_keepalive;

	if (req->argv[0].len > KV_KEY_MAX) {
		http_reply(c, 414, "URI Too Long", "key too long\n", ka);
		return;
	}
	klen = arg_copy(c, req, 0, key, sizeof(key));
	switch (req->op) {
	case KV_OP_SET:
		ret = do_set(c, req, 0, 1);
		if (ret == 0)
			http_reply(c, 200, "OK", NULL, ka);
		else if (ret == -ENOSPC)
			http_reply(c, 507, "Insufficient Storage", "pool is full\n", ka);
		else
			http_reply(c, 413, "Payload Too Large", "value not stored\n", ka);
		break;
	case KV_OP_GET:
		v = lookup(c, key, klen);
		if (v == NULL) {
			http_reply(c, 404, "Not Found", "not found\n", ka);
			break;
		}
		ret = kv_http_status(buf, sizeof(buf), 200, "OK", v->len, ka);
		reply_bytes(c, buf, (size_t)ret);
		reply_value(c, v);
		if (!ka)
			c->closing = 1;
		break;
	case KV_OP_DEL:
		ret = kv_store_del(srv->store, key, klen);
		if (srv->expiry->n > 0)
			exp_clear(srv->expiry, key, klen);
		if (ret > 0)
			http_reply(c, 200, "OK", NULL, ka);
		else
			http_reply(c, 404, "Not Found", "not found\n", ka);
		break;
	default:
		http_reply(c, 405, "Method Not Allowed", NULL, ka);
		break;
	}
}

/* An error text from the HTTP parser starts with its status code. */
static void
http_error(struct kv_conn *c, const char *err, int close)
{
	int code = atoi(err);
	const char *text = strchr(err, ' ');

	http_reply(c, code >= 400 && code < 600 ? code : 400,
		   text != NULL ? text + 1 : "Bad Request", NULL, !close);
}

/* ---- the receive loop ------------------------------------------------- */

static void
process(struct kv_conn *c)
{
	struct kv_server *srv = c->srv;
	struct kv_request req;
	char err[256];
	int r;

	while (!c->closing && c->out_len == 0 && c->rx.len > 0) {
		memset(&req, 0, sizeof(req));
		err[0] = '\0';
		r = c->http ? kv_http_parse(&c->rx, &req, err, sizeof(err))
			    : kv_resp_parse(&c->rx, &req, err, sizeof(err));
		if (r == KV_PARSE_MORE)
			break;
		srv->requests++;
		if (r == KV_PARSE_BAD_STREAM) {
			/* Framing is lost: say why, then hang up. */
			srv->bad_streams++;
			if (c->http)
				http_error(c, err[0] ? err : "400 Bad Request", 1);
			else
				resp_str(c, kv_resp_error, err[0] ? err : "ERR Protocol error");
			c->closing = 1;
			break;
		}
		if (r == KV_PARSE_BAD_REQUEST) {
			srv->bad_requests++;
			if (c->http)
				http_error(c, err[0] ? err : "400 Bad Request", 0);
			else
				resp_str(c, kv_resp_error, err[0] ? err : "ERR bad request");
		} else if (c->http) {
			http_execute(c, &req);
		} else {
			resp_execute(c, &req);
		}
		kv_stream_consume(&c->rx, req.consumed, drop_span, srv->store);
	}
	if (c->closing && c->out_len == 0 && !c->dead) {
		c->dead = 1;
		pst_conn_close(c->conn);
		conn_free(c);
	}
}

static void
on_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	unsigned int n)
{
	struct kv_conn *c = arg;
	struct kv_store *st = c->srv->store;
	unsigned int i;
	pst_name name;

	if (n == 0) { /* the client is done: answer what it sent, then close */
		c->closing = 1;
		process(c);
		return;
	}
	for (i = 0; i < n; i++) {
		if (pst_conn_keep(conn, &segs[i], &name) != 0) {
			/* Not in a pool buffer (a copied frame): copy it into one. */
			uint32_t index;
			char *buf;

			if (segs[i].len > st->buf_size || pst_pool_take(st->pool, &index) != 0)
				goto fail;
			buf = pst_pool_buf_addr(st->pool, index);
			memcpy(buf, segs[i].data, segs[i].len);
			pst_pool_keep(st->pool, index);
			name = pst_name_make(index, 0, (uint16_t)segs[i].len);
		}
		kv_ref(st, name);
		if (kv_stream_push(&c->rx, name, pst_pool_name_to_addr(st->pool, name),
				   segs[i].len) != 0) {
			kv_unref(st, name);
			goto fail;
		}
	}
	if (c->rx.len > STREAM_MAX)
		goto fail;
	process(c);
	return;
fail:
	fprintf(stderr, "paste-kvs: connection dropped (out of buffers or too much unparsed input)\n");
	c->dead = 1;
	pst_conn_abort(conn);
	conn_free(c);
}

static void
on_sent(void *arg, struct pst_conn *conn, size_t len)
{
	struct kv_conn *c = arg;

	(void)conn;
	(void)len;
	if (out_pump(c))
		process(c);
}

static void
on_closed(void *arg, struct pst_conn *conn, int err)
{
	struct kv_conn *c = arg;

	(void)conn;
	(void)err;
	c->dead = 1;
	conn_free(c);
}

static void
accept_common(struct kv_server *srv, struct pst_conn *conn, int http)
{
	const struct pst_conn_callbacks cb = {
		.recv = on_recv, .sent = on_sent, .closed = on_closed,
	};
	struct kv_conn *c;

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
	kv_stream_init(&c->rx);
	srv->n_conns++;
	srv->accepted++;
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

int
kv_server_listen(struct kv_server *srv, uint16_t resp_port, uint16_t http_port)
{
	srv->expiry = calloc(1, sizeof(*srv->expiry));
	if (srv->expiry == NULL)
		return -ENOMEM;
	if (resp_port != 0 && pst_tcp_listen(srv->stack, resp_port, accept_resp, srv) == NULL)
		return -pst_errno;
	if (http_port != 0 && pst_tcp_listen(srv->stack, http_port, accept_http, srv) == NULL)
		return -pst_errno;
	return 0;
}
