/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the hash of a key for the DRAM tables (the wal index's key
 * table, the expiry table). Keys come from clients, so the hash is keyed
 * with a secret drawn at start: SipHash-2-4 (libsodium's crypto_shorthash).
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

/* SipHash-2-4 of @key under the process's secret: kv_key_hash_init() must
 * have succeeded. */
uint64_t kv_key_hash(const void *key, size_t len);

#endif /* KVS_KEYHASH_H */
