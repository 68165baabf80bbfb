/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Executing parsed requests against the store: one implementation for
 * paste-kvs (replies through paste's TCP API, values sent by name) and the
 * Linux baseline linux-kvs (replies through write()). Each server provides
 * the output functions; everything a command does is here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "kv_limits.h"
#include "proto.h"
#include "reply.h"

#define SMALL 512

/* One request's context: the stream it was parsed from, where replies go. */
struct kv_ses {
	struct kv_exec *srv;
	const struct kv_stream *rx;
	const struct kv_out *out;
};

static void
reply_bytes(struct kv_ses *c, const void *data, size_t len)
{
	if (len > 0)
		c->out->bytes(c->out->ctx, data, len);
}

static void
reply_value(struct kv_ses *c, const struct kv_value *v)
{
	c->out->value(c->out->ctx, v);
}

/* ---- SET EX/PX deadlines (DRAM only) ---------------------------------------------- */

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

/* ---- RESP ------------------------------------------------------------- */

static void
resp_str(struct kv_ses *c, int (*fmt)(char *, size_t, const char *), const char *msg)
{
	char buf[SMALL];
	int n = fmt(buf, sizeof(buf), msg);

	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
}

static void
resp_int(struct kv_ses *c, int64_t v)
{
	char buf[32];
	int n = kv_resp_integer(buf, sizeof(buf), v);

	reply_bytes(c, buf, (size_t)n);
}

static void
resp_bulk_bytes(struct kv_ses *c, const void *data, size_t len)
{
	char buf[32];
	int n = kv_resp_bulk_header(buf, sizeof(buf), len);

	reply_bytes(c, buf, (size_t)n);
	reply_bytes(c, data, len);
	reply_bytes(c, "\r\n", 2);
}

static void
resp_value(struct kv_ses *c, const struct kv_value *v)
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
arg_copy(const struct kv_ses *c, const struct kv_request *req, unsigned int i,
	 char *dst, size_t size)
{
	size_t len = req->argv[i].len < size ? req->argv[i].len : size;

	return (uint16_t)kv_stream_copy(c->rx, req->argv[i].off, dst, len);
}

/* A key's value, unless its deadline passed (then it is deleted). */
static const struct kv_value *
lookup(struct kv_ses *c, const char *key, uint16_t len)
{
	struct kv_exec *srv = c->srv;
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
do_set(struct kv_ses *c, const struct kv_request *req, unsigned int k, unsigned int v)
{
	static pst_name names[KV_VALUE_NAMES_MAX];
	struct kv_exec *srv = c->srv;
	char key[KV_KEY_MAX];
	uint16_t klen;
	int n;

	if (req->argv[k].len > KV_KEY_MAX)
		return -EINVAL;
	if (req->argv[v].len > KV_VALUE_MAX)
		return -E2BIG;
	klen = arg_copy(c, req, k, key, sizeof(key));
	if (srv->values_in_dram) {
		/* A sockets server: the bytes are in DRAM, copied into the pool. */
		n = kv_store_set_copy(srv->store, key, klen, c->rx, req->argv[v].off,
				      req->argv[v].len);
	} else {
		n = kv_stream_names(c->rx, req->argv[v].off, req->argv[v].len, names,
				    KV_VALUE_NAMES_MAX);
		if (n < 0)
			return -E2BIG;
		n = kv_store_set(srv->store, key, klen, names, (unsigned int)n,
				 (uint32_t)req->argv[v].len);
	}
	if (n == 0) {
		if (req->expire_ms > 0)
			exp_set(srv->expiry, key, klen, now_ms() + (uint64_t)req->expire_ms);
		else if (srv->expiry->n > 0)
			exp_clear(srv->expiry, key, klen);
	}
	return n;
}

static void
resp_info(struct kv_ses *c)
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
resp_execute(struct kv_ses *c, const struct kv_request *req)
{
	struct kv_exec *srv = c->srv;
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
		c->out->close(c->out->ctx);
		break;
	default:
		resp_str(c, kv_resp_error, "ERR unknown command");
		break;
	}
}

/* ---- HTTP ------------------------------------------------------------- */

static void
http_reply(struct kv_ses *c, int code, const char *text, const char *body,
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
		c->out->close(c->out->ctx);
}

static void
http_execute(struct kv_ses *c, const struct kv_request *req)
{
	struct kv_exec *srv = c->srv;
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
			c->out->close(c->out->ctx);
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
http_error(struct kv_ses *c, const char *err, int close)
{
	int code = atoi(err);
	const char *text = strchr(err, ' ');

	http_reply(c, code >= 400 && code < 600 ? code : 400,
		   text != NULL ? text + 1 : "Bad Request", NULL, !close);
}

/* ---- the request loop step -------------------------------------------- */

long
kv_exec_next(struct kv_exec *x, const struct kv_stream *rx, int http,
	     const struct kv_out *out)
{
	struct kv_ses ses = { .srv = x, .rx = rx, .out = out };
	struct kv_ses *c = &ses;
	struct kv_request req;
	char err[256];
	int r;

	/* Both parsers clear the request first. */
	err[0] = '\0';
	r = http ? kv_http_parse(rx, &req, err, sizeof(err))
		 : kv_resp_parse(rx, &req, err, sizeof(err));
	if (r == KV_PARSE_MORE) {
		if (req.http_expect_continue && !*out->continue_sent) {
			/* curl waits for this before sending a large body. */
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			reply_bytes(c, cont, sizeof(cont) - 1);
			*out->continue_sent = 1;
		}
		return -1;
	}
	*out->continue_sent = 0;
	x->requests++;
	if (r == KV_PARSE_BAD_STREAM) {
		/* Framing is lost: say why, then hang up. */
		x->bad_streams++;
		if (http)
			http_error(c, err[0] ? err : "400 Bad Request", 1);
		else
			resp_str(c, kv_resp_error, err[0] ? err : "ERR Protocol error");
		out->close(out->ctx);
		return 0;
	}
	if (r == KV_PARSE_BAD_REQUEST) {
		x->bad_requests++;
		if (http)
			http_error(c, err[0] ? err : "400 Bad Request", !req.http_keepalive);
		else
			resp_str(c, kv_resp_error, err[0] ? err : "ERR bad request");
	} else if (http) {
		http_execute(c, &req);
	} else {
		resp_execute(c, &req);
	}
	return (long)req.consumed;
}

int
kv_exec_init(struct kv_exec *x, struct kv_store *store, int values_in_dram)
{
	memset(x, 0, sizeof(*x));
	x->store = store;
	x->values_in_dram = values_in_dram;
	x->expiry = calloc(1, sizeof(*x->expiry));
	return x->expiry == NULL ? -ENOMEM : 0;
}

void
kv_exec_fini(struct kv_exec *x)
{
	if (x->expiry != NULL)
		exp_clear_all(x->expiry);
	free(x->expiry);
	x->expiry = NULL;
}
