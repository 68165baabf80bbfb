/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the keys that have a deadline, for active expiry. The deadline
 * that counts is the one in the value's index record (kv_value.deadline_ms,
 * durable with the value); this DRAM table, rebuilt at start from what
 * recovery reports (kv_store_recovered_deadlines()), only finds keys to
 * reclaim a bounded step at a time, and exec.c checks the record before it
 * deletes one, so a stale entry is harmless.
 */
#ifndef KVS_EXPIRY_H
#define KVS_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

struct kv_expiry_node;

/* A chained hash table under the keyed hash (keyhash.h), with as many
 * buckets as keys at least: it doubles when the keys outnumber them. */
struct kv_expiry {
	struct kv_expiry_node **b;
	size_t nb;                /* buckets, a power of two */
	uint64_t n;               /* keys with a deadline: 0 spares lookups */
	size_t cursor;            /* the next bucket kv_expiry_collect visits */
};

/* An empty table, or NULL (out of memory, or no secret for the key hash:
 * kv_key_hash_init()). */
struct kv_expiry *kv_expiry_open(void);
void kv_expiry_close(struct kv_expiry *e);

/* Milliseconds since the epoch: the clock deadlines are on. */
uint64_t kv_expiry_now_ms(void);
/* @key's deadline, 0 when it has none. */
uint64_t kv_expiry_get(struct kv_expiry *e, const char *key, uint16_t len);
/* Give @key a deadline (out of memory: it keeps none). */
void kv_expiry_set(struct kv_expiry *e, const char *key, uint16_t len,
		   uint64_t deadline_ms);
void kv_expiry_clear(struct kv_expiry *e, const char *key, uint16_t len);
void kv_expiry_clear_all(struct kv_expiry *e);

/* Called for each key kv_expiry_collect() finds past its deadline, after
 * the key left the table. */
typedef void (*kv_expiry_fn)(void *arg, const char *key, uint16_t len);

/* Visit up to @buckets buckets from where the last call stopped (all of
 * them when @buckets >= e->nb), removing the keys whose deadline is at or
 * before @now_ms and passing each to @fn. Returns how many. */
uint64_t kv_expiry_collect(struct kv_expiry *e, uint64_t now_ms, size_t buckets,
			   kv_expiry_fn fn, void *arg);

#endif /* KVS_EXPIRY_H */
