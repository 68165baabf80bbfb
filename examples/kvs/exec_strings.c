/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the string commands that compute a new value from the old one
 * (INCR and its kin, INCRBYFLOAT, APPEND, SETRANGE) or read part of it
 * (STRLEN, GETRANGE), with Redis 7.0's replies and argument checks in its
 * order. A new value is computed in DRAM and stored whole through the
 * store, as a SET is: the index entry names the new value's buffers, so a
 * crash shows the old value or the new one, and the reply leaves after the
 * drain like every write's. A key's deadline stays as it was, as in Redis:
 * the new value's record carries the old one's.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "exec_call.h"
#include "kv_limits.h"
#include "proto.h"
#include "store.h"
#include "stream.h"

#define NOT_INTEGER "ERR value is not an integer or out of range"
#define NOT_FLOAT "ERR value is not a valid float"
/* Redis's words when a string would outgrow proto-max-bulk-len, which is
 * paste-kvs's value limit too (kv_limits.h). */
#define TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* Where a new value is computed: one value at most (1 MiB of BSS, touched
 * only as far as the largest value computed). */
static char scratch[KV_VALUE_MAX];

/* The deadline a new value computed from @old keeps: @old's (INCR, APPEND
 * and SETRANGE keep a key's TTL, as in Redis). */
static uint64_t
kept_deadline(const struct kv_value *old)
{
	return old != NULL ? old->deadline_ms : 0;
}

/* Store @len bytes of scratch under @key, replacing @old (NULL: none) with
 * its deadline, and reply @reply_len, or why not. */
static void
store_scratch(struct kv_call *c, const char *key, uint16_t klen,
	      const struct kv_value *old, size_t len, int64_t reply_len)
{
	int ret = kv_store_set_bytes_at(c->srv->store, key, klen, scratch, (uint32_t)len,
					kept_deadline(old));

	if (ret != 0)
		kv_call_error(c, kv_call_set_error(ret));
	else
		kv_call_int(c, reply_len);
}

/* ---- integers ---------------------------------------------------------- */

/* The key's value plus @incr, as Redis's INCRBY: the value must read as an
 * int64 the way an argument does, and the sum must not overflow. */
static void
incr_by(struct kv_call *c, int64_t incr)
{
	char key[KV_KEY_MAX], digits[24];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);
	int64_t n = 0;
	int len;

	if (v != NULL &&
	    (v->len > 20 || kv_strict_int64(digits, kv_store_read(c->srv->store, v, 0, digits,
								  v->len), &n) != 0)) {
		kv_call_error(c, NOT_INTEGER);
		return;
	}
	if ((incr < 0 && n < 0 && incr < INT64_MIN - n) ||
	    (incr > 0 && n > 0 && incr > INT64_MAX - n)) {
		kv_call_error(c, "ERR increment or decrement would overflow");
		return;
	}
	n += incr;
	len = snprintf(scratch, sizeof(scratch), "%" PRId64, n);
	store_scratch(c, key, klen, v, (size_t)len, n);
}

void
kv_cmd_incr(struct kv_call *c)
{
	incr_by(c, 1);
}

void
kv_cmd_decr(struct kv_call *c)
{
	incr_by(c, -1);
}

void
kv_cmd_incrby(struct kv_call *c)
{
	int64_t incr;

	if (kv_call_int64(c, 1, &incr) != 0)
		kv_call_error(c, NOT_INTEGER);
	else
		incr_by(c, incr);
}

void
kv_cmd_decrby(struct kv_call *c)
{
	int64_t decr;

	if (kv_call_int64(c, 1, &decr) != 0)
		kv_call_error(c, NOT_INTEGER);
	else if (decr == INT64_MIN)  /* its negation is no int64 */
		kv_call_error(c, "ERR decrement would overflow");
	else
		incr_by(c, -decr);
}

/* ---- INCRBYFLOAT --------------------------------------------------------- */

/* Redis reads and prints these numbers in long double, in a buffer of this
 * size: longer text is not a number to it. */
#define FLOAT_CHARS (5 * 1024)

/* @len bytes at @p as a long double the way Redis reads one: strtold over
 * the whole text (up to a NUL, as C reads it), no leading blank, no NaN,
 * nothing out of range. 0, or -1. */
static int
parse_float(char *buf, size_t len, long double *out)
{
	long double v;
	char *end;

	if (len == 0 || len >= FLOAT_CHARS)
		return -1;
	buf[len] = '\0';
	if (isspace((unsigned char)buf[0]))
		return -1;
	errno = 0;
	v = strtold(buf, &end);
	if (*end != '\0' || errno == EINVAL || isnan(v) ||
	    (errno == ERANGE && (isinf(v) || v == 0)))
		return -1;
	*out = v;
	return 0;
}

/* Redis's "human" form: 17 decimals, trailing zeros (and a bare point)
 * dropped, "-0" as "0". Returns the length. */
static int
format_float(char *buf, size_t size, long double v)
{
	int len = snprintf(buf, size, "%.17Lf", v);

	if (len < 0 || (size_t)len >= size)
		return 0;
	if (strchr(buf, '.') != NULL) {
		while (buf[len - 1] == '0')
			len--;
		if (buf[len - 1] == '.')
			len--;
	}
	if (len == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		len = 1;
	}
	return len;
}

void
kv_cmd_incrbyfloat(struct kv_call *c)
{
	static char text[FLOAT_CHARS];
	const struct kv_arg *a = &c->req->argv[1];
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);
	long double value = 0, incr;
	int len, ret;

	if (v != NULL &&
	    (v->len >= FLOAT_CHARS ||
	     parse_float(text, kv_store_read(c->srv->store, v, 0, text, v->len), &value) != 0)) {
		kv_call_error(c, NOT_FLOAT);
		return;
	}
	if (a->len >= FLOAT_CHARS ||
	    parse_float(text, kv_stream_copy(c->rx, a->off, text, a->len), &incr) != 0) {
		kv_call_error(c, NOT_FLOAT);
		return;
	}
	value += incr;
	if (isnan(value) || isinf(value)) {
		kv_call_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	len = format_float(text, sizeof(text), value);
	ret = kv_store_set_bytes_at(c->srv->store, key, klen, text, (uint32_t)len,
				    kept_deadline(v));
	if (ret != 0)
		kv_call_error(c, kv_call_set_error(ret));
	else
		kv_call_bulk(c, text, (size_t)len);
}

/* ---- whole strings and ranges -------------------------------------------- */

void
kv_cmd_strlen(struct kv_call *c)
{
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);

	kv_call_int(c, v != NULL ? v->len : 0);
}

void
kv_cmd_append(struct kv_call *c)
{
	const struct kv_arg *a = &c->req->argv[1];
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);
	const struct kv_value *v = kv_call_lookup(c, key, klen);
	size_t old = v != NULL ? v->len : 0;

	if (v != NULL && a->len > c->srv->limits.max_bulk - old) {
		kv_call_error(c, TOO_BIG);
		return;
	}
	if (v != NULL && a->len == 0) {   /* nothing changes */
		kv_call_int(c, (int64_t)old);
		return;
	}
	if (v != NULL)
		kv_store_read(c->srv->store, v, 0, scratch, old);
	kv_stream_copy(c->rx, a->off, scratch + old, a->len);
	store_scratch(c, key, klen, v, old + a->len, (int64_t)(old + a->len));
}

/* GETRANGE key start end (and SUBSTR): Redis 7.0's clamping, where an end
 * before the start but inside the string still gives its first byte. */
void
kv_cmd_getrange(struct kv_call *c)
{
	char key[KV_KEY_MAX];
	const struct kv_value *v;
	int64_t start, end, len;
	uint16_t klen;

	if (kv_call_int64(c, 1, &start) != 0 || kv_call_int64(c, 2, &end) != 0) {
		kv_call_error(c, NOT_INTEGER);
		return;
	}
	klen = kv_call_key(c, 0, key);
	v = kv_call_lookup(c, key, klen);
	len = v != NULL ? v->len : 0;
	if (start < 0 && end < 0 && start > end) {
		kv_call_bulk(c, "", 0);
		return;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (len == 0 || start > end) {
		kv_call_bulk(c, "", 0);
		return;
	}
	kv_store_read(c->srv->store, v, (size_t)start, scratch, (size_t)(end - start + 1));
	kv_call_bulk(c, scratch, (size_t)(end - start + 1));
}

/* SETRANGE key offset value: the value written at @offset, zeros between
 * the old end and it. */
void
kv_cmd_setrange(struct kv_call *c)
{
	const struct kv_arg *a = &c->req->argv[2];
	char key[KV_KEY_MAX];
	const struct kv_value *v;
	size_t old, len;
	int64_t offset;
	uint16_t klen;

	if (kv_call_int64(c, 1, &offset) != 0) {
		kv_call_error(c, NOT_INTEGER);
		return;
	}
	if (offset < 0) {
		kv_call_error(c, "ERR offset is out of range");
		return;
	}
	klen = kv_call_key(c, 0, key);
	v = kv_call_lookup(c, key, klen);
	old = v != NULL ? v->len : 0;
	if (a->len == 0) {   /* nothing to write: no key made either */
		kv_call_int(c, (int64_t)old);
		return;
	}
	if ((uint64_t)offset > c->srv->limits.max_bulk - a->len) {
		kv_call_error(c, TOO_BIG);
		return;
	}
	len = (size_t)offset + a->len > old ? (size_t)offset + a->len : old;
	if (v != NULL)
		kv_store_read(c->srv->store, v, 0, scratch, old);
	if ((size_t)offset > old)
		memset(scratch + old, 0, (size_t)offset - old);
	kv_stream_copy(c->rx, a->off, scratch + offset, a->len);
	store_scratch(c, key, klen, v, len, (int64_t)len);
}
