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

/* SipHash-2-4 of @key under this process's secret (drawn from the system's
 * random source on the first call). */
uint64_t kv_key_hash(const void *key, size_t len);

#endif /* KVS_KEYHASH_H */
