/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: what a command's handler sees of the request it executes, for
 * the handlers kept out of exec.c (exec_strings.c, exec_keys.c) so that
 * each file holds one family of commands. exec.c implements these.
 */
#ifndef KVS_EXEC_CALL_H
#define KVS_EXEC_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "request.h"

/* One request being executed: the request, the stream it was parsed from,
 * where its replies go. */
struct kv_call {
	struct kv_exec *srv;
	const struct kv_stream *rx;
	const struct kv_out *out;
	const struct kv_request *req;
	int dram;                 /* @rx's bytes are in DRAM, not the pool's
	                           * (a request queued by MULTI, multi.c) */
};

/* The version HELLO and INFO give: the Redis paste-kvs answers as. */
#define KV_REDIS_VERSION "7.0.0"

/* RESP replies. */
void kv_call_error(struct kv_call *c, const char *msg);   /* "-msg\r\n" */
void kv_call_simple(struct kv_call *c, const char *msg);  /* "+msg\r\n" */
void kv_call_int(struct kv_call *c, int64_t v);
void kv_call_null(struct kv_call *c);
void kv_call_bulk(struct kv_call *c, const void *data, size_t len);
void kv_call_array(struct kv_call *c, long n);  /* "*n\r\n": n elements follow */
/* A stored value as a bulk string (by name where the server can), or nil. */
void kv_call_value(struct kv_call *c, const struct kv_value *v);

/* Argument @i (a key: at most KV_KEY_MAX bytes, the parser refused longer
 * ones) copied into @buf; returns its length. */
uint16_t kv_call_key(const struct kv_call *c, unsigned int i, char *buf);
/* Argument @i as Redis reads an integer argument (string2ll: no blank, no
 * leading zero, no "+"): 0, or -1 when it is none. */
int kv_call_int64(const struct kv_call *c, unsigned int i, int64_t *v);
/* A key's value, unless its deadline passed (then it is deleted). Valid
 * until the next write to the store. */
const struct kv_value *kv_call_lookup(struct kv_call *c, const char *key, uint16_t len);
/* Why the store refused a value (kv_store_set's errors), as a reply. */
const char *kv_call_set_error(int err);
/* SET key (argument @k) to argument @v with deadline @deadline_ms (0:
 * none), as SET does. Returns kv_store_set's errors. */
int kv_call_set_at(struct kv_call *c, unsigned int k, unsigned int v, uint64_t deadline_ms);
/* Delete @key now, its deadline passed (an expiry: durable like a DEL). */
void kv_call_expired(struct kv_call *c, const char *key, uint16_t len);
/* The absolute deadline in ms of @when (seconds when @unit_s, added to
 * @now when @relative), as Redis computes it: 0, or -1 when that
 * overflows ("invalid expire time"). A time at or before the epoch gives
 * 1: past, but not "none". */
int kv_call_deadline(uint64_t now, int64_t when, int unit_s, int relative,
		     uint64_t *deadline);

#endif /* KVS_EXEC_CALL_H */
