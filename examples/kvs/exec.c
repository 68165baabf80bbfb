/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Executing parsed requests against the store: one implementation for
 * paste-kvs (replies through paste's TCP API, values sent by name) and the
 * Linux baseline linux-kvs (replies through write()). Each server provides
 * the output functions; everything a command does is here, in the handler
 * its row of the command table (command.c) names. HTTP requests run the
 * same handlers as RESP's GET, SET and DEL: the replies those share say
 * the same in either protocol.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "client.h"
#include "cluster.h"
#include "command.h"
#include "exec.h"
#include "exec_call.h"
#include "expiry.h"
#include "kv_limits.h"
#include "multi.h"
#include "proto.h"
#include "reply.h"

#define SMALL 512


static void
reply_bytes(struct kv_call *c, const void *data, size_t len)
{
	if (len > 0)
		c->out->bytes(c->out->ctx, data, len);
}

static void
reply_value_bytes(struct kv_call *c, const struct kv_value *v)
{
	c->out->value(c->out->ctx, v);
}

/* ---- RESP ------------------------------------------------------------- */

static void
resp_str(struct kv_call *c, int (*fmt)(char *, size_t, const char *), const char *msg)
{
	char buf[SMALL];
	int n = fmt(buf, sizeof(buf), msg);

	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
}

static void
resp_int(struct kv_call *c, int64_t v)
{
	char buf[32];
	int n = kv_resp_integer(buf, sizeof(buf), v);

	reply_bytes(c, buf, (size_t)n);
}

static void
resp_array(struct kv_call *c, long n)
{
	char buf[32];
	int len = kv_resp_array_header(buf, sizeof(buf), n);

	reply_bytes(c, buf, (size_t)len);
}

static void
resp_null(struct kv_call *c)
{
	char buf[16];
	int n = kv_resp_null_bulk(buf, sizeof(buf));

	reply_bytes(c, buf, (size_t)n);
}

static void
resp_bulk_bytes(struct kv_call *c, const void *data, size_t len)
{
	char buf[32];
	int n = kv_resp_bulk_header(buf, sizeof(buf), len);

	reply_bytes(c, buf, (size_t)n);
	reply_bytes(c, data, len);
	reply_bytes(c, "\r\n", 2);
}

static void
resp_value(struct kv_call *c, const struct kv_value *v)
{
	char buf[32];
	int n;

	if (v == NULL) {
		resp_null(c);
		return;
	}
	n = kv_resp_bulk_header(buf, sizeof(buf), v->len);
	if (c->out->bulk != NULL && v->n > 0) {
		c->out->bulk(c->out->ctx, buf, (size_t)n, v);
		return;
	}
	reply_bytes(c, buf, (size_t)n);
	reply_value_bytes(c, v);
	reply_bytes(c, "\r\n", 2);
}

/* ---- HTTP ------------------------------------------------------------- */

static void
http_reply(struct kv_call *c, int code, const char *text, const char *body,
	   int keepalive)
{
	char buf[SMALL];
	size_t blen = body ? strlen(body) : 0;
	int n = kv_http_status(buf, sizeof(buf), code, text, blen, keepalive);

	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
	if (blen > 0 && !c->req->http_head)  /* HEAD: the length, no body */
		reply_bytes(c, body, blen);
	if (!keepalive)
		c->out->close(c->out->ctx);
}

/* An error text from the HTTP parser starts with its status code. */
static void
http_error(struct kv_call *c, const char *err, int close)
{
	int code = atoi(err);
	const char *text = strchr(err, ' ');

	http_reply(c, code >= 400 && code < 600 ? code : 400,
		   text != NULL ? text + 1 : "Bad Request", NULL, !close);
}

/* ---- replies in either protocol (the handlers HTTP's methods reach) --- */

/* +OK; HTTP 200. */
static void
reply_ok(struct kv_call *c)
{
	static const char ok[] = "+OK\r\n"; /* every SET's: not formatted */

	if (c->req->http)
		http_reply(c, 200, "OK", NULL, c->req->http_keepalive);
	else
		reply_bytes(c, ok, sizeof(ok) - 1);
}

/* The value, or nil; HTTP 200 with the value (HEAD: its headers only), or
 * 404. */
static void
reply_value(struct kv_call *c, const struct kv_value *v)
{
	const struct kv_request *req = c->req;
	char buf[SMALL];
	int n;

	if (!req->http) {
		resp_value(c, v);
		return;
	}
	if (v == NULL) {
		http_reply(c, 404, "Not Found", "not found\n", req->http_keepalive);
		return;
	}
	n = kv_http_status(buf, sizeof(buf), 200, "OK", v->len, req->http_keepalive);
	reply_bytes(c, buf, (size_t)n);
	if (!req->http_head)
		reply_value_bytes(c, v);
	if (!req->http_keepalive)
		c->out->close(c->out->ctx);
}

/* How many keys it was; HTTP 200 for some, 404 for none. */
static void
reply_count(struct kv_call *c, int64_t n)
{
	if (!c->req->http)
		resp_int(c, n);
	else if (n > 0)
		http_reply(c, 200, "OK", NULL, c->req->http_keepalive);
	else
		http_reply(c, 404, "Not Found", "not found\n", c->req->http_keepalive);
}

/* Why the store refused a value (kv_store_set's errors). */
static const char *
set_error(int err)
{
	switch (err) {
	case -ENOSPC:   /* Redis's words for its maxmemory */
		return "OOM command not allowed when used memory > 'maxmemory'.";
	case -E2BIG:
		return "ERR value spans too many buffers";
	default:
		return "ERR value not stored";
	}
}

/* A value not stored: @msg; HTTP 507 when the pool is full, else 413. */
static void
reply_not_stored(struct kv_call *c, int err, const char *msg)
{
	int ka = c->req->http_keepalive;

	if (!c->req->http)
		resp_str(c, kv_resp_error, msg);
	else if (err == -ENOSPC)
		http_reply(c, 507, "Insufficient Storage", "the store is full\n", ka);
	else
		http_reply(c, 413, "Payload Too Large", "value not stored\n", ka);
}

/* ---- the store, with deadlines ------------------------------------------- */

/* Copy argument @i (a key or a small number) out of the stream. */
static uint16_t
arg_copy(const struct kv_call *c, unsigned int i, char *dst, size_t size)
{
	const struct kv_arg *a = &c->req->argv[i];
	size_t len = a->len < size ? a->len : size;

	return (uint16_t)kv_stream_copy(c->rx, a->off, dst, len);
}

/* Argument @i as a key of *len bytes (at most KV_KEY_MAX: callers refuse
 * longer ones): where it lies when the stream's first span holds it whole,
 * as it nearly always does, else copied into @buf (KV_KEY_MAX bytes).
 * Valid until the request is consumed. */
static const char *
arg_key(const struct kv_call *c, unsigned int i, char *buf, uint16_t *len)
{
	const struct kv_arg *a = &c->req->argv[i];
	const uint8_t *p = a->len <= KV_KEY_MAX ? kv_stream_in_first_span(c->rx, a->off, a->len)
						: NULL;

	if (p != NULL) {
		*len = (uint16_t)a->len;
		return (const char *)p;
	}
	*len = arg_copy(c, i, buf, KV_KEY_MAX);
	return buf;
}

/* Delete @key, whose deadline passed: durable like a DEL, with the poll's
 * drain. */
static void
expire_now(struct kv_exec *srv, const char *key, uint16_t len)
{
	kv_store_del(srv->store, key, len);
	if (srv->expiry->n > 0)
		kv_expiry_clear(srv->expiry, key, len);
	srv->expired++;
}

/* A key's value, unless its deadline (in its record) passed: then it is
 * deleted. */
static const struct kv_value *
lookup(struct kv_call *c, const char *key, uint16_t len)
{
	struct kv_exec *srv = c->srv;
	const struct kv_value *v = kv_store_get(srv->store, key, len);

	if (v != NULL && v->deadline_ms != 0 && v->deadline_ms <= kv_expiry_now_ms()) {
		srv->store->hits--;   /* a miss, as Redis counts it */
		expire_now(srv, key, len);
		return NULL;
	}
	return v;
}

/* Argument @i as a key, and its value (NULL when absent or too long to be
 * a key: never stored). */
static const struct kv_value *
lookup_arg(struct kv_call *c, unsigned int i)
{
	char buf[KV_KEY_MAX];
	uint16_t klen;
	const char *key = arg_key(c, i, buf, &klen);

	return c->req->argv[i].len > KV_KEY_MAX ? NULL : lookup(c, key, klen);
}

/* SET key value with deadline @deadline_ms (0: none) in the value's
 * record: the value's bytes stay in the stream's buffers. Inside a unit
 * (MSET, EXEC), one of its writes. */
static int
set_arg(struct kv_call *c, unsigned int k, unsigned int v, uint64_t deadline_ms)
{
	static pst_name names[KV_VALUE_NAMES_MAX];
	static struct kv_part parts[KV_VALUE_NAMES_MAX];
	const struct kv_request *req = c->req;
	struct kv_exec *srv = c->srv;
	char buf[KV_KEY_MAX];
	const char *key;
	uint16_t klen;
	int n;

	if (req->argv[k].len > KV_KEY_MAX)
		return -EINVAL;
	if (req->argv[v].len > KV_VALUE_MAX)
		return -E2BIG;
	key = arg_key(c, k, buf, &klen);
	if (srv->values_in_dram || c->dram) {
		/* A sockets server: the bytes are in DRAM, copied into the pool. */
		n = kv_store_set_copy_at(srv->store, key, klen, c->rx, req->argv[v].off,
					 req->argv[v].len, deadline_ms);
	} else {
		n = kv_stream_names_parts(c->rx, req->argv[v].off, req->argv[v].len, names,
					  parts, KV_VALUE_NAMES_MAX);
		if (n >= 0)
			n = kv_store_set_parts_at(srv->store, key, klen, names, parts,
						  (unsigned int)n, (uint32_t)req->argv[v].len,
						  deadline_ms);
		else
			/* More received segments than a value has names: a
			 * peer under a small window sends small segments (the
			 * full bench run refused 8 KiB SETs at 100 connections
			 * so). Such a value is copied into fresh buffers. */
			n = kv_store_set_copy_at(srv->store, key, klen, c->rx,
						 req->argv[v].off, req->argv[v].len,
						 deadline_ms);
	}
	/* The expiry table only finds keys for active expiry: the deadline
	 * that counts is the one in the value's record (a unit undone may
	 * leave the table stale; the sweep checks the record). */
	if (n == 0) {
		if (deadline_ms != 0)
			kv_expiry_set(srv->expiry, key, klen, deadline_ms);
		else if (srv->expiry->n > 0)
			kv_expiry_clear(srv->expiry, key, klen);
	}
	return n;
}

/* SET key value, no deadline (SET without one clears the key's). */
static int
do_set(struct kv_call *c, unsigned int k, unsigned int v)
{
	return set_arg(c, k, v, 0);
}

/* ---- exec_call.h: the helpers for handlers in other files ------------- */

void
kv_call_error(struct kv_call *c, const char *msg)
{
	resp_str(c, kv_resp_error, msg);
}

void
kv_call_simple(struct kv_call *c, const char *msg)
{
	resp_str(c, kv_resp_simple, msg);
}

void
kv_call_int(struct kv_call *c, int64_t v)
{
	resp_int(c, v);
}

void
kv_call_null(struct kv_call *c)
{
	resp_null(c);
}

void
kv_call_bulk(struct kv_call *c, const void *data, size_t len)
{
	resp_bulk_bytes(c, data, len);
}

void
kv_call_array(struct kv_call *c, long n)
{
	resp_array(c, n);
}

void
kv_call_value(struct kv_call *c, const struct kv_value *v)
{
	resp_value(c, v);
}

uint16_t
kv_call_key(const struct kv_call *c, unsigned int i, char *buf)
{
	return arg_copy(c, i, buf, KV_KEY_MAX);
}

int
kv_call_int64(const struct kv_call *c, unsigned int i, int64_t *v)
{
	char digits[24];

	/* Longer than any int64's digits: none (and no copy of a value). */
	if (c->req->argv[i].len > 20)
		return -1;
	return kv_strict_int64(digits, arg_copy(c, i, digits, sizeof(digits)), v);
}

const struct kv_value *
kv_call_lookup(struct kv_call *c, const char *key, uint16_t len)
{
	return lookup(c, key, len);
}

const char *
kv_call_set_error(int err)
{
	return set_error(err);
}

int
kv_call_set_at(struct kv_call *c, unsigned int k, unsigned int v, uint64_t deadline_ms)
{
	return set_arg(c, k, v, deadline_ms);
}

void
kv_call_expired(struct kv_call *c, const char *key, uint16_t len)
{
	expire_now(c->srv, key, len);
}

int
kv_call_deadline(uint64_t now, int64_t when, int unit_s, int relative, uint64_t *deadline)
{
	if (unit_s) {
		if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)
			return -1;
		when *= 1000;
	}
	if (relative) {
		if (when > INT64_MAX - (int64_t)now)
			return -1;
		when += (int64_t)now;
	}
	/* At or before the epoch: past already (0 would read "none"). */
	*deadline = when > 0 ? (uint64_t)when : 1;
	return 0;
}

/* ---- the handlers (command.c's table names them) ---------------------- */

/* Argument 0 whole as a bulk string (up to max_bulk bytes: copied out
 * of the stream a piece at a time). */
static void
resp_arg(struct kv_call *c)
{
	const struct kv_arg *a = &c->req->argv[0];
	char buf[4096];
	size_t done, n;
	int h = kv_resp_bulk_header(buf, sizeof(buf), a->len);

	if (h > 0)
		reply_bytes(c, buf, (size_t)h);
	for (done = 0; done < a->len; done += n) {
		n = kv_stream_copy(c->rx, a->off + done, buf,
				   a->len - done < sizeof(buf) ? a->len - done : sizeof(buf));
		if (n == 0)
			break;
		reply_bytes(c, buf, n);
	}
	reply_bytes(c, "\r\n", 2);
}

void
kv_cmd_ping(struct kv_call *c)
{
	if (c->req->argc == 0)
		resp_str(c, kv_resp_simple, "PONG");
	else
		resp_arg(c);
}

void
kv_cmd_echo(struct kv_call *c)
{
	resp_arg(c);
}

void
kv_cmd_get(struct kv_call *c)
{
	reply_value(c, lookup_arg(c, 0));
}

/* SET's GET option: the value it replaces, replied once the SET is done
 * (its buffers stay referenced until the drain after it, so they can be
 * sent by name then). Room for as many names as an index holds, not as
 * SET writes: the pool may come from another program. 512 KiB of BSS,
 * touched only as far as the largest old value replied. */
static union {
	struct kv_value v;
	char room[sizeof(struct kv_value) + KV_INDEX_NAMES_MAX * sizeof(pst_name)];
} set_old;
_Static_assert((1ull << (8 * sizeof(set_old.v.n))) - 1 <= KV_INDEX_NAMES_MAX,
	       "set_old holds every value an index can return");

void
kv_cmd_set(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	const struct kv_value *old = NULL;
	uint64_t deadline = 0;
	int ret;

	if (req->expire_ms > 0 &&
	    kv_call_deadline(kv_expiry_now_ms(), req->expire_ms, 0,
			     !(req->set_flags & KV_SET_EXPIRE_AT), &deadline) != 0) {
		resp_str(c, kv_resp_error, "ERR invalid expire time in 'set' command");
		return;
	}
	if ((req->set_flags & (KV_SET_NX | KV_SET_XX | KV_SET_GET | KV_SET_KEEPTTL)) != 0 &&
	    req->argv[0].len <= KV_KEY_MAX) {
		old = lookup_arg(c, 0);
		if (old != NULL && (req->set_flags & KV_SET_KEEPTTL))
			deadline = old->deadline_ms;
		if (old != NULL && (req->set_flags & KV_SET_GET)) {
			memcpy(&set_old.v, old, sizeof(*old) + old->n * sizeof(old->names[0]));
			old = &set_old.v;
		}
		if ((req->set_flags & KV_SET_NX) ? old != NULL :
		    (req->set_flags & KV_SET_XX) && old == NULL) {
			if (req->set_flags & KV_SET_GET)
				resp_value(c, old);
			else
				resp_null(c);
			return;
		}
	}
	ret = set_arg(c, 0, 1, deadline);
	if (ret != 0)
		reply_not_stored(c, ret, ret == -EINVAL ? "ERR key too long" : set_error(ret));
	else if (req->set_flags & KV_SET_GET)
		resp_value(c, old);
	else
		reply_ok(c);
}

/* SETNX key value: SET's NX, answered 1 or 0. */
void
kv_cmd_setnx(struct kv_call *c)
{
	int ret;

	if (lookup_arg(c, 0) != NULL) {
		resp_int(c, 0);
		return;
	}
	ret = do_set(c, 0, 1);
	if (ret != 0)
		resp_str(c, kv_resp_error, set_error(ret));
	else
		resp_int(c, 1);
}

/* Keep a copy of @v's names in set_old (see there), or NULL. */
static const struct kv_value *
keep_old(const struct kv_value *v)
{
	if (v == NULL)
		return NULL;
	memcpy(&set_old.v, v, sizeof(*v) + v->n * sizeof(v->names[0]));
	return &set_old.v;
}

/* GETSET key value: SET key value GET. */
void
kv_cmd_getset(struct kv_call *c)
{
	const struct kv_value *old = keep_old(lookup_arg(c, 0));
	int ret = do_set(c, 0, 1);

	if (ret != 0)
		resp_str(c, kv_resp_error, set_error(ret));
	else
		resp_value(c, old);
}

/* GETDEL key: the value, replied after its delete (its buffers stay
 * referenced until the drain that makes the delete durable). */
void
kv_cmd_getdel(struct kv_call *c)
{
	struct kv_exec *srv = c->srv;
	char key[KV_KEY_MAX];
	uint16_t klen = arg_copy(c, 0, key, sizeof(key));
	const struct kv_value *old = keep_old(lookup(c, key, klen));
	int ret;

	if (old == NULL) {
		resp_null(c);
		return;
	}
	ret = kv_store_del(srv->store, key, klen);
	if (ret < 0) {
		resp_str(c, kv_resp_error, "ERR key not deleted");
		return;
	}
	if (srv->expiry->n > 0)
		kv_expiry_clear(srv->expiry, key, klen);
	resp_value(c, old);
}

/* The buffers kv_store_unit_begin() counts for value argument @v: what
 * set_arg() will copy (the bytes in DRAM, --copy, or more received
 * segments than a value has names). */
static uint64_t
value_arg_bufs(struct kv_call *c, unsigned int v)
{
	static pst_name names[KV_VALUE_NAMES_MAX];
	const struct kv_arg *a = &c->req->argv[v];
	struct kv_store *st = c->srv->store;
	int copied = c->srv->values_in_dram ||
		     kv_stream_names(c->rx, a->off, a->len, names, KV_VALUE_NAMES_MAX) < 0;

	return kv_store_set_bufs(st, a->len, copied);
}

/* MSET's and MSETNX's pairs as one unit (store.h): every pair, or none
 * (-ENOSPC decided before anything is written, or a write that failed and
 * was undone). With @nx, *exists tells that a key exists: nothing set. */
static int
mset_unit(struct kv_call *c, int nx, int *exists)
{
	const struct kv_request *req = c->req;
	struct kv_exec *srv = c->srv;
	uint64_t bufs = 0;
	unsigned int i;
	int ret = 0, nested;

	*exists = 0;
	for (i = 0; i + 1 < req->argc; i += 2) {
		if (req->argv[i].len > KV_KEY_MAX)
			return -EINVAL;
		if (req->argv[i + 1].len > KV_VALUE_MAX)
			return -E2BIG;
		bufs += value_arg_bufs(c, i + 1);
	}
	/* Over the store's limit, kv_exec_next() refused MSETNX before it
	 * looks at its keys (refuse_denyoom()). */
	for (i = 0; nx && i + 1 < req->argc; i += 2)
		if (lookup_arg(c, i) != NULL) {
			*exists = 1;
			return 0;
		}
	/* Inside EXEC, EXEC's unit holds the pairs: units do not nest, and
	 * a write that fails fails EXEC's whole unit (store.h). */
	nested = srv->store->unit_open;
	if (!nested) {
		ret = kv_store_unit_begin(srv->store, bufs);
		if (ret != 0)
			return ret;
	}
	for (i = 0; i + 1 < req->argc && ret == 0; i += 2)
		ret = set_arg(c, i, i + 1, 0);
	if (ret != 0) {
		if (!nested)
			(void)kv_store_unit_abort(srv->store);
		return ret;
	}
	/* Each pair's record holds deadline 0 (SET's rule): nothing more to
	 * clear once committed. */
	return nested ? 0 : kv_store_unit_end(srv->store);
}

void
kv_cmd_mset(struct kv_call *c)
{
	int exists, ret = mset_unit(c, 0, &exists);

	if (ret == 0)
		resp_str(c, kv_resp_simple, "OK");
	else
		resp_str(c, kv_resp_error, set_error(ret));
}

/* MSETNX: 1 when every key was absent and all are set, 0 (nothing set)
 * when one exists. */
void
kv_cmd_msetnx(struct kv_call *c)
{
	int exists, ret = mset_unit(c, 1, &exists);

	if (ret != 0)
		resp_str(c, kv_resp_error, set_error(ret));
	else
		resp_int(c, !exists);
}

void
kv_cmd_mget(struct kv_call *c)
{
	unsigned int i;

	resp_array(c, (long)c->req->argc);
	for (i = 0; i < c->req->argc; i++)
		resp_value(c, lookup_arg(c, i));
}

void
kv_cmd_exists(struct kv_call *c)
{
	unsigned int i;
	int64_t count = 0;

	for (i = 0; i < c->req->argc; i++)
		count += lookup_arg(c, i) != NULL;
	resp_int(c, count);
}

void
kv_cmd_del(struct kv_call *c)
{
	struct kv_exec *srv = c->srv;
	char key[KV_KEY_MAX];
	int64_t count = 0;
	unsigned int i;
	uint16_t klen;

	for (i = 0; i < c->req->argc; i++) {
		if (c->req->argv[i].len > KV_KEY_MAX)
			continue;
		klen = arg_copy(c, i, key, sizeof(key));
		lookup(c, key, klen); /* expire first: DEL of expired is 0 */
		count += kv_store_del(srv->store, key, klen) > 0;
		if (srv->expiry->n > 0)
			kv_expiry_clear(srv->expiry, key, klen);
	}
	reply_count(c, count);
}

void
kv_cmd_dbsize(struct kv_call *c)
{
	/* O(1): keys past their deadline count until reclaimed, as in Redis. */
	resp_int(c, (int64_t)kv_store_count(c->srv->store));
}

void
kv_cmd_flushall(struct kv_call *c)
{
	char msg[96];
	int ret = kv_store_flushall(c->srv->store);

	if (ret != 0) {
		/* Some keys may be gone: say so rather than +OK. */
		snprintf(msg, sizeof(msg), "ERR FLUSHALL failed: %s", pst_strerror(ret));
		resp_str(c, kv_resp_error, msg);
		return;
	}
	kv_expiry_clear_all(c->srv->expiry);
	resp_str(c, kv_resp_simple, "OK");
}

void
kv_cmd_info(struct kv_call *c)
{
	struct kv_store *st = c->srv->store;
	struct pst_pool_stats ps;
	struct pst_pool_info pi;
	char buf[1024];
	int n;

	pst_pool_stats(st->pool, &ps);
	pst_pool_info(st->pool, &pi);
	n = snprintf(buf, sizeof(buf),
		     "# Server\r\nredis_version:7.0.0\r\npaste_kvs:1\r\nindex:%s\r\n"
		     "value_mode:%s\r\n# Clients\r\nconnected_clients:%u\r\n"
		     "# Stats\r\ntotal_commands_processed:%" PRIu64 "\r\n"
		     "auth_failures:%" PRIu64 "\r\n"
		     "keyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64 "\r\n"
		     "# Persistence\r\nrecovered_keys:%" PRIu64 "\r\ntorn_entries:%" PRIu64
		     "\r\npersist_mode:%s\r\ndrain_failures:%" PRIu64
		     "\r\n# Cluster\r\ncluster_enabled:%d\r\n"
		     "# Keyspace\r\ndb0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0\r\n",
		     st->ops->name, st->copy_mode ? "copy" : "zero-copy", c->srv->n_conns,
		     c->srv->requests, c->srv->auth_failures, st->hits, st->gets - st->hits, st->recovered,
		     st->report.torn + st->torn_values,
		     pst_persist_mode_name(pi.persist_mode), ps.drain_failures,
		     c->srv->cluster != NULL,
		     kv_store_count(st), c->srv->expiry->n);
	resp_bulk_bytes(c, buf, (size_t)n);
}

/* CONFIG GET: what redis-benchmark asks at start; everything else is empty. */
void
kv_cmd_config_get(struct kv_call *c)
{
	const char *val = NULL;
	char key[KV_KEY_MAX];
	uint16_t klen;

	klen = arg_copy(c, 0, key, sizeof(key) - 1);
	key[klen] = '\0';
	if (strcasecmp(key, "save") == 0)
		val = "";
	else if (strcasecmp(key, "appendonly") == 0)
		val = "no";
	if (val == NULL) {
		resp_array(c, 0);
		return;
	}
	resp_array(c, 2);
	resp_bulk_bytes(c, key, klen);
	resp_bulk_bytes(c, val, strlen(val));
}

/* The table's description of one command, or nil. */
static void
resp_command_info(struct kv_call *c, const struct kv_command *cmd)
{
	char buf[SMALL];
	int n;

	if (cmd == NULL) {
		resp_null(c);
		return;
	}
	n = kv_command_info(cmd, buf, sizeof(buf));
	if (n > 0)
		reply_bytes(c, buf, (size_t)n);
}

/* COMMAND [COUNT | INFO [name...] | LIST | DOCS [name...]], the subcommand
 * and its arguments checked by the parser. DOCS answers with no docs. */
void
kv_cmd_command(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	char word[16];
	unsigned int i;
	uint16_t len;

	len = arg_copy(c, 0, word, sizeof(word));
	if (req->argc == 0 || (req->argc == 1 && len == 4 && strncasecmp(word, "info", 4) == 0)) {
		resp_array(c, KV_COMMANDS_N);
		for (i = 1; i < KV_OP_COUNT; i++)
			resp_command_info(c, &kv_commands[i]);
	} else if (len == 5 && strncasecmp(word, "count", 5) == 0) {
		resp_int(c, KV_COMMANDS_N);
	} else if (len == 4 && strncasecmp(word, "list", 4) == 0) {
		resp_array(c, KV_COMMANDS_N);
		for (i = 1; i < KV_OP_COUNT; i++)
			resp_bulk_bytes(c, kv_commands[i].name, kv_commands[i].name_len);
	} else if (len == 4 && strncasecmp(word, "info", 4) == 0) {
		resp_array(c, (long)req->argc - 1);
		for (i = 1; i < req->argc; i++) {
			char name[16];

			len = arg_copy(c, i, name, sizeof(name));
			resp_command_info(c, req->argv[i].len < sizeof(name) ?
					  kv_command_find_nocase(name, len) : NULL);
		}
	} else {
		resp_array(c, 0); /* DOCS */
	}
}

void
kv_cmd_select(struct kv_call *c)
{
	char buf[4];
	uint16_t len = arg_copy(c, 0, buf, sizeof(buf));

	if (len == 1 && buf[0] == '0')
		resp_str(c, kv_resp_simple, "OK");
	else
		resp_str(c, kv_resp_error, "ERR DB index is out of range");
}

void
kv_cmd_cluster(struct kv_call *c)
{
	kv_cluster_command(c->srv->cluster, c->srv->store->slot_keys, c->rx, c->req,
			   c->out->bytes, c->out->ctx);
}

/* READONLY, READWRITE: every node is a primary, reads are served anyway. */
void
kv_cmd_readonly(struct kv_call *c)
{
	resp_str(c, kv_resp_simple, "OK");
}

void
kv_cmd_quit(struct kv_call *c)
{
	resp_str(c, kv_resp_simple, "OK");
	c->out->close(c->out->ctx);
}

/* AUTH [user] password, as Redis 7.0 answers it. A connection that fails
 * KV_AUTH_MAX_FAILURES times is closed after the reply; one that
 * authenticated stays so through later failures, as in Redis. */
void
kv_cmd_auth(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	const struct kv_auth *a = c->srv->auth;
	struct kv_auth_conn *conn = c->out->auth;
	const struct kv_arg *pass = &req->argv[req->argc - 1];
	char user[KV_AUTH_USER_MAX + 1];
	size_t ulen = 0;
	int ok;

	if (req->argc > 2) {
		resp_str(c, kv_resp_error, "ERR syntax error");
		return;
	}
	if (!kv_auth_required(a)) {
		/* The default user takes any password; no one else exists. */
		if (req->argc == 1)
			reply_bytes(c, KV_AUTH_NOPASS, sizeof(KV_AUTH_NOPASS) - 1);
		else if (req->argv[0].len == 7 && arg_copy(c, 0, user, 7) == 7 &&
			 memcmp(user, "default", 7) == 0)
			resp_str(c, kv_resp_simple, "OK");
		else
			reply_bytes(c, KV_AUTH_WRONGPASS, sizeof(KV_AUTH_WRONGPASS) - 1);
		return;
	}
	if (req->argc == 2) {
		/* A longer name is no user's: checked against none. */
		ulen = req->argv[0].len <= KV_AUTH_USER_MAX ?
		       arg_copy(c, 0, user, sizeof(user)) : 0;
		ok = req->argv[0].len <= KV_AUTH_USER_MAX &&
		     kv_auth_check(a, user, ulen, c->rx, pass->off, pass->len);
	} else {
		ok = kv_auth_check(a, NULL, 0, c->rx, pass->off, pass->len);
	}
	if (ok) {
		if (conn != NULL)
			conn->authenticated = 1;
		resp_str(c, kv_resp_simple, "OK");
		return;
	}
	c->srv->auth_failures++;
	reply_bytes(c, KV_AUTH_WRONGPASS, sizeof(KV_AUTH_WRONGPASS) - 1);
	if (conn == NULL || ++conn->failures >= KV_AUTH_MAX_FAILURES)
		c->out->close(c->out->ctx);
}

/* A request refused for want of credentials: NOAUTH, or HTTP's 401 with
 * the schemes the client may use. */
static void
refuse_unauthenticated(struct kv_call *c)
{
	static const char body[] = "authentication required\n";
	char buf[SMALL];
	int n;

	if (!c->req->http) {
		reply_bytes(c, KV_AUTH_NOAUTH, sizeof(KV_AUTH_NOAUTH) - 1);
		return;
	}
	if (c->req->http_auth.len > 0)
		c->srv->auth_failures++;
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 401 Unauthorized\r\n"
		     "WWW-Authenticate: Bearer realm=\"paste-kvs\"\r\n"
		     "WWW-Authenticate: Basic realm=\"paste-kvs\", charset=\"UTF-8\"\r\n"
		     "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
		     sizeof(body) - 1, c->req->http_keepalive ? "keep-alive" : "close",
		     c->req->http_head ? "" : body);
	reply_bytes(c, buf, (size_t)n);
	if (!c->req->http_keepalive)
		c->out->close(c->out->ctx);
}

/* ---- active expiry ------------------------------------------------------ */

/* A key the expiry table says is past its deadline: deleted if the
 * deadline in its record says so too (the table may be stale). */
static void
expired_key(void *arg, const char *key, uint16_t len)
{
	struct kv_exec *x = arg;
	/* The index's get: not a client's read, not counted as one. */
	const struct kv_value *v = x->store->ops->get(x->store->idx, key, len);

	if (v == NULL || v->deadline_ms == 0)
		return;
	if (v->deadline_ms > kv_expiry_now_ms()) {
		kv_expiry_set(x->expiry, key, len, v->deadline_ms);
		return;
	}
	kv_store_del(x->store, key, len);
	x->expired++;
}

uint64_t
kv_exec_expire(struct kv_exec *x, size_t buckets)
{
	if (x->expiry->n == 0)
		return 0;
	return kv_expiry_collect(x->expiry, kv_expiry_now_ms(), buckets, expired_key, x);
}

/* ---- the request loop step -------------------------------------------- */

/* ---- values still arriving ------------------------------------------- */

void
kv_exec_upload_end(struct kv_exec *x, struct kv_upload *up)
{
	kv_store_unreserve(x->store, up->reserved);
	up->reserved = 0;
	up->next_elem = 0;
}

/* Drop what is left of a refused request as it arrives: its value's bytes,
 * then (RESP) the elements after it, framed by their lengths only. Returns
 * the bytes to consume, or -1 when none are there yet. */
static long
upload_discard(struct kv_exec *x, const struct kv_stream *rx, struct kv_upload *up,
	       const struct kv_out *out)
{
	size_t used = 0, n, len, hdr;
	char err[96];
	int r;

	for (;;) {
		n = rx->len - used < up->discard ? rx->len - used : up->discard;
		used += n;
		up->discard -= n;
		if (up->discard > 0 || up->discard_elems == 0)
			break;
		r = kv_resp_read_bulk_len(rx, used, &x->limits, &len, &hdr, err, sizeof(err));
		if (r == KV_PARSE_MORE)
			break;
		if (r != KV_PARSE_OK) {
			/* Its framing is lost: say why, then hang up. */
			x->bad_streams++;
			up->discard = up->discard_elems = 0;
			out->bytes(out->ctx, "-", 1);
			out->bytes(out->ctx, err, strlen(err));
			out->bytes(out->ctx, "\r\n", 2);
			out->close(out->ctx);
			return (long)used;
		}
		used += hdr;
		up->discard = len + 2;
		up->discard_elems--;
	}
	return used > 0 ? (long)used : -1;
}

/* A value whose length was just declared (req->pending_*): room is
 * reserved for it in the store, or the request is refused now, before its
 * bytes arrive, and they are dropped as they do. Returns -1 (wait for the
 * rest of the request), or the bytes to consume of a refused one. */
static long
upload_check(struct kv_call *c, const struct kv_stream *rx, struct kv_upload *up)
{
	const struct kv_request *req = c->req;
	struct kv_exec *x = c->srv;
	const struct kv_out *out = c->out;
	uint64_t bufs = kv_store_value_bufs(x->store, req->pending_len);

	up->next_elem = req->pending_elem + 1;
	if (kv_store_reserve(x->store, bufs) == 0) {
		up->reserved += bufs;
		return -1;
	}
	x->requests++;
	x->oom_refused++;
	kv_exec_upload_end(x, up);
	if (out->parse != NULL)
		kv_parse_state_reset(out->parse);
	*out->continue_sent = 0;
	if (req->http && req->http_expect_continue) {
		/* The client waits for "100 Continue": no body will come. */
		http_reply(c, 507, "Insufficient Storage", "the store is full\n", 0);
		return 0;
	}
	reply_not_stored(c, -ENOSPC, set_error(-ENOSPC));
	up->discard = req->pending_end;
	up->discard_elems = req->pending_after;
	return upload_discard(x, rx, up, out);
}

/* The store over its limit: -OOM for @c's request. Returns 1 when it
 * refused it. Out of line: its reply stays off a SET's path. */
static __attribute__((noinline)) int
refuse_over_limit(struct kv_call *c)
{
	struct kv_exec *x = c->srv;

	if (x->store == NULL || kv_store_reserve(x->store, 0) == 0)
		return 0;
	reply_not_stored(c, -ENOSPC, set_error(-ENOSPC));
	return 1;
}

/* Redis refuses a DENYOOM command over its maxmemory before it runs,
 * whatever the command would have answered (SETNX of a key that exists,
 * INCR of a non-integer, a syntax error found as it runs): so does
 * paste-kvs over the store's limit, once here for every such command.
 * Inside EXEC, EXEC decided for the whole queue (multi.c). @op: the
 * request's command (its bad_op when the parser refused it). Returns 1
 * when it refused @c's request. */
static inline int
refuse_denyoom(struct kv_call *c, enum kv_op op)
{
	const struct kv_request *req = c->req;

	if (!(kv_commands[op].flags & KVC_DENYOOM))
		return 0;
	/* A plain SET parsed whole (no option; RESP, or an HTTP PUT): the
	 * check is the first thing the store does with it
	 * (kv_store_set_at()), and answers the same; one check per SET, not
	 * two. */
	if (req->op == KV_OP_SET && req->set_flags == 0 && req->expire_ms == 0)
		return 0;
	return refuse_over_limit(c);
}

/* EXEC's wrong arity, which Redis answers as an aborted transaction. */
static const char exec_arity[] = "ERR wrong number of arguments for 'exec' command";

long
kv_exec_next(struct kv_exec *x, const struct kv_stream *rx, int http,
	     const struct kv_out *out)
{
	struct kv_request req;
	struct kv_call call = { .srv = x, .rx = rx, .out = out, .req = &req };
	struct kv_call *c = &call;
	struct kv_upload *up = out->upload;
	char err[512];     /* Redis 7's unknown command error: 309 bytes */
	int r;

	if (up != NULL && (up->discard > 0 || up->discard_elems > 0))
		return upload_discard(x, rx, up, out);
	/* Both parsers clear the request first. */
	err[0] = '\0';
	r = http ? kv_http_parse_resume(rx, &x->limits, out->parse, &req, err, sizeof(err))
		 : kv_resp_parse_resume(rx, &x->limits, out->parse, &req, err, sizeof(err));
	if (r == KV_PARSE_MORE) {
		/* Room is promised only to a client allowed to store. */
		if (up != NULL && req.pending_len > 0 && req.pending_elem >= up->next_elem &&
		    kv_auth_allows(x->auth, out->auth, rx, &req)) {
			long used = upload_check(c, rx, up);

			if (used >= 0)
				return used;
		}
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
	if (up != NULL && up->next_elem != 0)
		kv_exec_upload_end(x, up);  /* its values are stored now, or not */
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
	if (r == KV_PARSE_BAD_REQUEST && !req.http && !req.early_error &&
	    !kv_auth_allows(x->auth, out->auth, rx, &req)) {
		/* Redis checks a command's other arguments after the client. */
		x->bad_requests++;
		refuse_unauthenticated(c);
		kv_multi_flag(out->multi);
	} else if (r == KV_PARSE_BAD_REQUEST &&
		   (req.early_error || !kv_multi_open(out->multi))) {
		x->bad_requests++;
		if (http)
			http_error(c, err[0] ? err : "400 Bad Request", !req.http_keepalive);
		else if (strcmp(err, exec_arity) == 0)
			kv_multi_exec_abort(c, err + 4); /* as Redis refuses EXEC */
		else if (req.early_error || !refuse_denyoom(c, req.bad_op))
			resp_str(c, kv_resp_error, err[0] ? err : "ERR bad request");
		kv_multi_flag(out->multi);
	} else if (!kv_auth_allows(x->auth, out->auth, rx, &req)) {
		/* Before a redirection, which would tell the key's slot. */
		if (req.op == KV_OP_EXEC)
			kv_multi_exec_abort(c, "NOAUTH Authentication required.");
		else
			refuse_unauthenticated(c);
		kv_multi_flag(out->multi);
	} else if (x->cluster != NULL &&
		   kv_cluster_redirect(x->cluster, rx, &req, out->bytes, out->ctx)) {
		if (req.http && !req.http_keepalive)
			out->close(out->ctx);
		kv_multi_flag(out->multi);
	} else if (kv_multi_open(out->multi) && kv_multi_queue(c, r, err)) {
		/* queued, or refused */
	} else {
		/* For CLIENT LIST's cmd: one store (no clock read per
		 * request, so no idle time either). */
		if (out->client != NULL)
			out->client->last_op = req.op;
		if (!refuse_denyoom(c, req.op))
			kv_commands[req.op].run(c);
	}
	return (long)req.consumed;
}

static void
recovered_deadline(void *arg, const void *key, uint16_t len, uint64_t deadline_ms)
{
	kv_expiry_set(arg, key, len, deadline_ms);
}

int
kv_exec_init(struct kv_exec *x, struct kv_store *store, int values_in_dram)
{
	static const struct kv_limits defaults = KV_LIMITS_DEFAULT;

	memset(x, 0, sizeof(*x));
	x->limits = defaults;
	x->store = store;
	x->values_in_dram = values_in_dram;
	x->expiry = kv_expiry_open();
	if (x->expiry == NULL)
		return -ENOMEM;
	/* The keys recovered with a deadline, for active expiry. */
	if (store != NULL)
		kv_store_recovered_deadlines(store, recovered_deadline, x->expiry);
	return 0;
}

void
kv_exec_fini(struct kv_exec *x)
{
	kv_multi_fini(x);
	kv_expiry_close(x->expiry);
	x->expiry = NULL;
}
