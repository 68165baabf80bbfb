/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the commands of deadlines (EXPIRE, PEXPIRE, EXPIREAT,
 * PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, GETEX, SETEX,
 * PSETEX) and COPY, with Redis 7.0's replies and argument checks in its
 * order.
 *
 * A deadline lives in the value's index record (kv_value.deadline_ms,
 * absolute wall-clock ms), so it is durable with the value or not at all:
 * changing it puts the same value names again with the new deadline (no
 * byte copied, kv_store_expire()), and an expiry is a delete, durable as a
 * DEL is. The DRAM expiry table (expiry.h) only finds keys for active
 * expiry; lookups read the record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "exec_call.h"
#include "expiry.h"
#include "kv_limits.h"
#include "store.h"

#define NOT_INTEGER "ERR value is not an integer or out of range"

/* A value's names, copied out of the index for a reply sent after a
 * write (whose put invalidates the index's pointer); its buffers stay
 * referenced until the drain after that write. */
static union {
	struct kv_value v;
	char room[sizeof(struct kv_value) + KV_INDEX_NAMES_MAX * sizeof(pst_name)];
} kept;

/* Argument @i as a lower-case word of fewer than @size bytes, or "". */
static void
arg_word(const struct kv_call *c, unsigned int i, char *dst, size_t size)
{
	size_t k, len = c->req->argv[i].len;

	if (len >= size) {
		dst[0] = '\0';
		return;
	}
	len = kv_stream_copy(c->rx, c->req->argv[i].off, dst, len);
	for (k = 0; k < len; k++)
		if (dst[k] >= 'A' && dst[k] <= 'Z')
			dst[k] = (char)(dst[k] - 'A' + 'a');
	dst[len] = '\0';
}

/* "ERR invalid expire time in '<cmd>' command" for this request's command. */
static void
invalid_expire(struct kv_call *c)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "ERR invalid expire time in '%s' command",
		 kv_commands[c->req->op].name);
	kv_call_error(c, msg);
}

/* Give @key the deadline @deadline (0: none) or, when it passed, delete
 * it. 0, or a negative errno (replied). */
static int
set_deadline(struct kv_call *c, const char *key, uint16_t klen, uint64_t deadline)
{
	struct kv_exec *srv = c->srv;
	int ret;

	if (deadline != 0 && deadline <= kv_expiry_now_ms()) {
		kv_call_expired(c, key, klen);
		return 0;
	}
	ret = kv_store_expire(srv->store, key, klen, deadline);
	if (ret != 0) {
		kv_call_error(c, kv_call_set_error(ret));
		return ret;
	}
	if (deadline != 0)
		kv_expiry_set(srv->expiry, key, klen, deadline);
	else if (srv->expiry->n > 0)
		kv_expiry_clear(srv->expiry, key, klen);
	return 0;
}

/* ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT -------------------------------- */

#define EX_NX 1
#define EX_XX 2
#define EX_GT 4
#define EX_LT 8

static void
expire_generic(struct kv_call *c, int unit_s, int relative)
{
	const struct kv_request *req = c->req;
	char key[KV_KEY_MAX], word[8], shown[128];
	const struct kv_value *v;
	unsigned int i, flags = 0;
	uint64_t deadline, cur;
	int64_t when;
	uint16_t klen;

	for (i = 2; i < req->argc; i++) {
		arg_word(c, i, word, sizeof(word));
		if (strcmp(word, "nx") == 0) {
			flags |= EX_NX;
		} else if (strcmp(word, "xx") == 0) {
			flags |= EX_XX;
		} else if (strcmp(word, "gt") == 0) {
			flags |= EX_GT;
		} else if (strcmp(word, "lt") == 0) {
			flags |= EX_LT;
		} else {
			/* As typed (Redis quotes its argument whole; this is
			 * cut at 100 bytes). */
			size_t n = req->argv[i].len < 100 ? req->argv[i].len : 100;
			char msg[160];

			n = kv_stream_copy(c->rx, req->argv[i].off, shown, n);
			snprintf(msg, sizeof(msg), "ERR Unsupported option %.*s", (int)n, shown);
			kv_call_error(c, msg);
			return;
		}
	}
	if ((flags & EX_NX) && (flags & (EX_XX | EX_GT | EX_LT))) {
		kv_call_error(c, "ERR NX and XX, GT or LT options at the same time are not "
			      "compatible");
		return;
	}
	if ((flags & EX_GT) && (flags & EX_LT)) {
		kv_call_error(c, "ERR GT and LT options at the same time are not compatible");
		return;
	}
	if (kv_call_int64(c, 1, &when) != 0) {
		kv_call_error(c, NOT_INTEGER);
		return;
	}
	if (kv_call_deadline(relative ? kv_expiry_now_ms() : 0, when, unit_s, relative,
			     &deadline) != 0) {
		invalid_expire(c);
		return;
	}
	klen = kv_call_key(c, 0, key);
	v = kv_call_lookup(c, key, klen);
	if (v == NULL) {
		kv_call_int(c, 0);
		return;
	}
	cur = v->deadline_ms;
	/* A key without a deadline is one that never expires: GT never
	 * beats it, LT always does. */
	if (((flags & EX_NX) && cur != 0) || ((flags & EX_XX) && cur == 0) ||
	    ((flags & EX_GT) && (cur == 0 || deadline <= cur)) ||
	    ((flags & EX_LT) && cur != 0 && deadline >= cur)) {
		kv_call_int(c, 0);
		return;
	}
	if (set_deadline(c, key, klen, deadline) == 0)
		kv_call_int(c, 1);
}

void
kv_cmd_expire(struct kv_call *c)
{
	expire_generic(c, 1, 1);
}

void
kv_cmd_pexpire(struct kv_call *c)
{
	expire_generic(c, 0, 1);
}

void
kv_cmd_expireat(struct kv_call *c)
{
	expire_generic(c, 1, 0);
}

void
kv_cmd_pexpireat(struct kv_call *c)
{
	expire_generic(c, 0, 0);
}

/* ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST -------------------------- */

static void
ttl_generic(struct kv_call *c, int ms, int absolute)
{
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);
	int64_t t;

	if (v == NULL) {
		kv_call_int(c, -2);
		return;
	}
	if (v->deadline_ms == 0) {
		kv_call_int(c, -1);
		return;
	}
	t = absolute ? (int64_t)v->deadline_ms
		     : (int64_t)v->deadline_ms - (int64_t)kv_expiry_now_ms();
	if (t < 0)
		t = 0;
	/* (t + 500) / 1000 as Redis replies it (its build gives the exact
	 * quotient even for a deadline within 500 ms of INT64_MAX), without
	 * the signed overflow: t is not negative here. */
	kv_call_int(c, ms ? t : t / 1000 + (t % 1000 + 500) / 1000);
}

void
kv_cmd_ttl(struct kv_call *c)
{
	ttl_generic(c, 0, 0);
}

void
kv_cmd_pttl(struct kv_call *c)
{
	ttl_generic(c, 1, 0);
}

void
kv_cmd_expiretime(struct kv_call *c)
{
	ttl_generic(c, 0, 1);
}

void
kv_cmd_pexpiretime(struct kv_call *c)
{
	ttl_generic(c, 1, 1);
}

void
kv_cmd_persist(struct kv_call *c)
{
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);

	if (v == NULL || v->deadline_ms == 0) {
		kv_call_int(c, 0);
		return;
	}
	if (set_deadline(c, key, klen, 0) == 0)
		kv_call_int(c, 1);
}

/* ---- GETEX ------------------------------------------------------------- */

/* GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]: as SET's options,
 * one kind which may repeat; the key is looked up before the time is
 * checked; the value is replied, then its deadline changes. */
void
kv_cmd_getex(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	char key[KV_KEY_MAX], word[8], unit = 0;
	const struct kv_value *v;
	unsigned int i, num = 0;
	uint64_t deadline = 0;
	int64_t when;
	uint16_t klen;

	for (i = 1; i < req->argc; i++) {
		char u = 0;

		arg_word(c, i, word, sizeof(word));
		if (strcmp(word, "ex") == 0)
			u = 'e';
		else if (strcmp(word, "px") == 0)
			u = 'p';
		else if (strcmp(word, "exat") == 0)
			u = 'E';
		else if (strcmp(word, "pxat") == 0)
			u = 'P';
		if (strcmp(word, "persist") == 0 && (unit == 0 || unit == 'x')) {
			unit = 'x';
		} else if (u != 0 && (unit == 0 || unit == u) && i + 1 < req->argc) {
			unit = u;
			num = ++i;
		} else {
			kv_call_error(c, "ERR syntax error");
			return;
		}
	}
	klen = kv_call_key(c, 0, key);
	v = kv_call_lookup(c, key, klen);
	if (v == NULL) {
		kv_call_null(c);
		return;
	}
	if (unit != 0 && unit != 'x') {
		if (kv_call_int64(c, num, &when) != 0) {
			kv_call_error(c, NOT_INTEGER);
			return;
		}
		if (when <= 0 || ((unit == 'e' || unit == 'E') && when > INT64_MAX / 1000) ||
		    kv_call_deadline(kv_expiry_now_ms(), when, unit == 'e' || unit == 'E',
				     unit == 'e' || unit == 'p', &deadline) != 0) {
			invalid_expire(c);
			return;
		}
	}
	if (unit == 0 || (unit == 'x' && v->deadline_ms == 0)) {
		kv_call_value(c, v);
		return;
	}
	memcpy(&kept.v, v, sizeof(*v) + v->n * sizeof(v->names[0]));
	if (set_deadline(c, key, klen, deadline) == 0)
		kv_call_value(c, &kept.v);
}

/* ---- SETEX, PSETEX ----------------------------------------------------- */

static void
setex_generic(struct kv_call *c, int unit_s)
{
	uint64_t deadline;
	int64_t when;
	int ret;

	if (kv_call_int64(c, 1, &when) != 0) {
		kv_call_error(c, NOT_INTEGER);
		return;
	}
	if (when <= 0 || (unit_s && when > INT64_MAX / 1000) ||
	    kv_call_deadline(kv_expiry_now_ms(), when, unit_s, 1, &deadline) != 0) {
		invalid_expire(c);
		return;
	}
	ret = kv_call_set_at(c, 0, 2, deadline);
	if (ret != 0)
		kv_call_error(c, kv_call_set_error(ret));
	else
		kv_call_simple(c, "OK");
}

void
kv_cmd_setex(struct kv_call *c)
{
	setex_generic(c, 1);
}

void
kv_cmd_psetex(struct kv_call *c)
{
	setex_generic(c, 0);
}

/* ---- COPY ---------------------------------------------------------------- */

/* COPY src dst [DB n] [REPLACE]: dst names src's value buffers (no byte is
 * copied; the store counts the references) and takes its deadline. Only
 * database 0 exists: another one is "out of range", as in a Redis
 * configured with one database. */
void
kv_cmd_copy(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	struct kv_exec *srv = c->srv;
	char src[KV_KEY_MAX], dst[KV_KEY_MAX], word[8];
	const struct kv_value *v;
	unsigned int i;
	int64_t db = 0;
	uint16_t slen, dlen;
	int replace = 0, ret;

	for (i = 2; i < req->argc; i++) {
		arg_word(c, i, word, sizeof(word));
		if (strcmp(word, "replace") == 0) {
			replace = 1;
		} else if (strcmp(word, "db") == 0 && i + 1 < req->argc) {
			if (kv_call_int64(c, ++i, &db) != 0) {
				kv_call_error(c, NOT_INTEGER);
				return;
			}
			if (db < INT32_MIN || db > INT32_MAX) {
				kv_call_error(c, "ERR value is out of range, value must between "
					      "-2147483648 and 2147483647");
				return;
			}
		} else {
			kv_call_error(c, "ERR syntax error");
			return;
		}
	}
	if (db != 0 && srv->cluster != NULL) {
		kv_call_error(c, "ERR Copying to another database is not allowed in cluster mode");
		return;
	}
	if (db != 0) {
		kv_call_error(c, "ERR DB index is out of range");
		return;
	}
	slen = kv_call_key(c, 0, src);
	dlen = kv_call_key(c, 1, dst);
	if (slen == dlen && memcmp(src, dst, slen) == 0) {
		kv_call_error(c, "ERR source and destination objects are the same");
		return;
	}
	v = kv_call_lookup(c, src, slen);
	if (v == NULL) {
		kv_call_int(c, 0);
		return;
	}
	if (v->n > KV_VALUE_NAMES_MAX) {   /* a pool another program wrote */
		kv_call_error(c, kv_call_set_error(-E2BIG));
		return;
	}
	memcpy(&kept.v, v, sizeof(*v) + v->n * sizeof(v->names[0]));
	if (kv_call_lookup(c, dst, dlen) != NULL && !replace) {
		kv_call_int(c, 0);
		return;
	}
	ret = kv_store_set_at(srv->store, dst, dlen, kept.v.names, kept.v.n, kept.v.len,
			      kept.v.deadline_ms);
	if (ret != 0) {
		kv_call_error(c, kv_call_set_error(ret));
		return;
	}
	if (kept.v.deadline_ms != 0)
		kv_expiry_set(srv->expiry, dst, dlen, kept.v.deadline_ms);
	else if (srv->expiry->n > 0)
		kv_expiry_clear(srv->expiry, dst, dlen);
	kv_call_int(c, 1);
}
