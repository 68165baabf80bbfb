/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the hash of a key for the DRAM tables (the wal index's key
 * table, the B+tree index's key order, the expiry and watch tables). Keys come from clients, so the hash is keyed
 * with a secret drawn at start: SipHash-1-3 (keyhash.c).
 * A CRC, seeded or not, is affine: keys that collide under one seed collide
 * under every seed, and a client could fill one chain.
 */
#ifndef KVS_KEYHASH_H
#define KVS_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/* Draw the process's secret from the system's random source, once (later
 * calls do nothing). The tables call it when they open. Returns 0, or -EIO
 * (with a message on stderr) when libsodium has no random source. */
int kv_key_hash_init(void);

#define KV_SIPHASH_KEYBYTES 16

/* SipHash-1-3 of @key under the process's secret: kv_key_hash_init() must
 * have succeeded. */
uint64_t kv_key_hash(const void *key, size_t len);

/* SipHash-c-d of @data under @key: what kv_key_hash() computes, with any
 * round counts, for checking the code against libsodium's SipHash-2-4. */
uint64_t kv_siphash(const uint8_t key[KV_SIPHASH_KEYBYTES], const void *data,
		    size_t len, int crounds, int drounds);

#endif /* KVS_KEYHASH_H */
