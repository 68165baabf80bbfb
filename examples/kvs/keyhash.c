/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: keyed key hashes (keyhash.h). SipHash (Aumasson and
 * Bernstein) written out here rather than called through libsodium's
 * crypto_shorthash: every request hashes its key once, and the library
 * call (SipHash-2-4 behind a generic wrapper, the result assembled byte by
 * byte) was 265 instructions of a GET's; inlined with 1-3 rounds it is
 * about a third of that. libsodium still draws the secret.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "keyhash.h"

static unsigned char secret[KV_SIPHASH_KEYBYTES];
static int secret_drawn;

int
kv_key_hash_init(void)
{
	if (secret_drawn)
		return 0;
	/* randombytes_buf() needs the random source sodium_init() opens;
	 * without it the secret would be guessable, and the tables open to
	 * a client that fills one chain. */
	if (sodium_init() < 0) {
		fprintf(stderr, "paste-kvs: libsodium could not be initialised "
			"(no random source): no secret for the key hash\n");
		return -EIO;
	}
	randombytes_buf(secret, sizeof(secret));
	secret_drawn = 1;
	return 0;
}

/* Little-endian 64-bit load, as SipHash reads its key and message. */
static inline uint64_t
le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3) do {                                  \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
	} while (0)

/* SipHash-c-d with a 16-byte key; inlined into its callers so the round
 * counts are constants. */
static inline uint64_t
siphash(const uint8_t key[KV_SIPHASH_KEYBYTES], const void *data, size_t len,
	int crounds, int drounds)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7;
	int i;

	for (; len >= 8; p += 8, len -= 8) {
		m = le64(p);
		v3 ^= m;
		for (i = 0; i < crounds; i++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last 0-7 bytes, below the length byte. */
	for (i = 0; i < (int)left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	for (i = 0; i < crounds; i++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < drounds; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
kv_siphash(const uint8_t key[KV_SIPHASH_KEYBYTES], const void *data, size_t len,
	   int crounds, int drounds)
{
	return siphash(key, data, len, crounds, drounds);
}

uint64_t
kv_key_hash(const void *key, size_t len)
{
	/* SipHash-1-3: the variant hash tables use against flooding (Rust's
	 * and CPython's), keeping SipHash's keyed structure with fewer
	 * rounds than the 2-4 meant for message authentication. */
	return siphash(secret, key, len, 1, 3);
}
