/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the commands that walk the keyspace, KEYS, SCAN, RANDOMKEY,
 * and FLUSHDB (FLUSHALL of the one database), with Redis 7.0's replies.
 * keyspace.h says in which order SCAN goes and what its cursor means.
 * A key past its deadline is never returned: each key a walk found is
 * looked up before it is replied, which deletes it if it expired.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "exec_call.h"
#include "expiry.h"
#include "glob.h"
#include "keyspace.h"
#include "kv_limits.h"
#include "proto.h"
#include "stream.h"

/* Reused by every walk: keys are copied here, out of the index. */
static struct kv_key_batch batch;

/* The longest pattern taken: what KV_VALUE_MAX allows a bulk argument. */
static char pattern[KV_VALUE_MAX];

/* Argument @i whole into @dst (at most @size bytes): its length. */
static size_t
arg_bytes(const struct kv_call *c, unsigned int i, char *dst, size_t size)
{
	const struct kv_arg *a = &c->req->argv[i];

	return kv_stream_copy(c->rx, a->off, dst, a->len < size ? a->len : size);
}

/* Argument @i, of up to @size - 1 bytes, as a C string (longer: ""),
 * for option words. */
static void
arg_word(const struct kv_call *c, unsigned int i, char *dst, size_t size)
{
	size_t n = c->req->argv[i].len < size ? arg_bytes(c, i, dst, size - 1) : 0;

	dst[n] = '\0';
}

/* Reply with the batch's keys that still exist (lookups expire the rest),
 * as an array. */
static void
reply_live_keys(struct kv_call *c, const char *pat, size_t plen, int match)
{
	size_t i, live = 0;

	/* Decide first (the array's length leads the reply), marking a key
	 * that goes with length UINT16_MAX (never a key's: KV_KEY_MAX). */
	for (i = 0; i < batch.n; i++) {
		const char *k = kv_key_batch_key(&batch, i);

		if ((match && !kv_glob_match(pat, plen, k, batch.v[i].len)) ||
		    kv_call_lookup(c, k, batch.v[i].len) == NULL)
			batch.v[i].len = UINT16_MAX;
		else
			live++;
	}
	kv_call_array(c, (long)live);
	for (i = 0; i < batch.n; i++)
		if (batch.v[i].len != UINT16_MAX)
			kv_call_bulk(c, kv_key_batch_key(&batch, i), batch.v[i].len);
}

/* KEYS pattern */
void
kv_cmd_keys(struct kv_call *c)
{
	struct kv_store *st = c->srv->store;
	size_t plen = arg_bytes(c, 0, pattern, sizeof(pattern));

	if (kv_keyspace_keys(st->ops, st->idx, pattern, plen, &batch) != 0) {
		kv_call_error(c, "ERR out of memory listing the keys");
		return;
	}
	reply_live_keys(c, NULL, 0, 0);
}

/* A cursor as Redis 7.0 reads it (strtoul, base 10: a sign is taken,
 * "-1" is 2^64 - 1; no leading blank; no trailing byte; the empty string
 * is 0; up to a NUL byte). 0, or -1 when invalid. */
static int
parse_cursor(const struct kv_call *c, uint64_t *cursor)
{
	char buf[512];
	char *end;
	size_t n;

	if (c->req->argv[0].len >= sizeof(buf))
		return -1;     /* Redis reads such a one only if it is all zeros */
	n = arg_bytes(c, 0, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r'))
		return -1;
	errno = 0;
	*cursor = strtoull(buf, &end, 10);
	return *end != '\0' || errno == ERANGE ? -1 : 0;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
void
kv_cmd_scan(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	struct kv_store *st = c->srv->store;
	uint64_t cursor, next;
	int64_t count = 10;
	size_t plen = 0;
	int match = 0, other_type = 0;
	char word[8], num[24];
	unsigned int i;
	int n;

	if (parse_cursor(c, &cursor) != 0) {
		kv_call_error(c, "ERR invalid cursor");
		return;
	}
	for (i = 1; i < req->argc; i += 2) {
		arg_word(c, i, word, sizeof(word));
		if (i + 1 >= req->argc) {
			kv_call_error(c, "ERR syntax error");
			return;
		}
		if (strcasecmp(word, "count") == 0) {
			if (kv_call_int64(c, i + 1, &count) != 0) {
				kv_call_error(c, "ERR value is not an integer or out of range");
				return;
			}
			if (count < 1) {
				kv_call_error(c, "ERR syntax error");
				return;
			}
		} else if (strcasecmp(word, "match") == 0) {
			plen = arg_bytes(c, i + 1, pattern, sizeof(pattern));
			match = !(plen == 1 && pattern[0] == '*');
		} else if (strcasecmp(word, "type") == 0) {
			/* Every value here is a string. */
			arg_word(c, i + 1, word, sizeof(word));
			other_type = strcasecmp(word, "string") != 0;
		} else {
			kv_call_error(c, "ERR syntax error");
			return;
		}
	}
	if (kv_keyspace_scan(st->ops, st->idx, cursor, (uint64_t)count, &batch, &next) != 0) {
		kv_call_error(c, "ERR out of memory scanning the keys");
		return;
	}
	if (other_type)
		kv_key_batch_clear(&batch);
	kv_call_array(c, 2);
	n = snprintf(num, sizeof(num), "%" PRIu64, next);
	kv_call_bulk(c, num, (size_t)n);
	reply_live_keys(c, pattern, plen, match);
}

/* RANDOMKEY: the keys past their deadline are reclaimed first, so the
 * key drawn is live. */
void
kv_cmd_randomkey(struct kv_call *c)
{
	static uint64_t rng;
	struct kv_store *st = c->srv->store;
	const struct kv_value *v;
	const char *key;
	uint64_t total;
	unsigned int tries;

	kv_exec_expire(c->srv, SIZE_MAX);
	if (rng == 0)
		rng = kv_keyspace_ord("randomkey", 9) | 1;
	/* The deadline that counts is the record's: a key the expiry table
	 * missed (a unit undone) is deleted when drawn, and another drawn. */
	for (tries = 0; tries < 64; tries++) {
		total = kv_store_count(st);
		if (total == 0) {
			kv_call_null(c);
			return;
		}
		/* xorshift64: a client cannot predict the secret-seeded draws. */
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (kv_keyspace_random(st->ops, st->idx, rng, &batch) != 0 ||
		    batch.n == 0) {
			kv_call_error(c, "ERR out of memory drawing a key");
			return;
		}
		key = kv_key_batch_key(&batch, 0);
		v = st->ops->get(st->idx, key, batch.v[0].len);
		if (v == NULL || v->deadline_ms == 0 || v->deadline_ms > kv_expiry_now_ms()) {
			kv_call_bulk(c, key, batch.v[0].len);
			return;
		}
		kv_call_expired(c, key, batch.v[0].len);
	}
	kv_call_null(c);
}

/* FLUSHDB [ASYNC | SYNC] (the parser checked the option): db 0 is all. */
void
kv_cmd_flushdb(struct kv_call *c)
{
	kv_cmd_flushall(c);
}
