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

/* SipHash's state under the secret drawn at start: a key's hash starts
 * from here rather than from the secret's words. */
static uint64_t secret_state[4];
static int secret_drawn;

static inline void siphash_state(const uint8_t key[KV_SIPHASH_KEYBYTES], uint64_t v[4]);

int
kv_key_hash_init(void)
{
	unsigned char secret[KV_SIPHASH_KEYBYTES];

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
	siphash_state(secret, secret_state);
	sodium_memzero(secret, sizeof(secret));
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

/* The last @left (0-7) bytes of a message of @len bytes, at @p, as a
 * little-endian number. Whole-word loads instead of a loop over the
 * bytes: a load may overlap bytes before @p (when the message has 8 or
 * more) or the loads one another, never read outside the message. */
static inline uint64_t
tail(const uint8_t *p, size_t left, size_t len)
{
	uint32_t lo, hi;

	if (left == 0)
		return 0;
	if (len >= 8)
		return le64(p + left - 8) >> (64 - 8 * left);
	if (left >= 4) {
		memcpy(&lo, p, 4);
		memcpy(&hi, p + left - 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		return (uint64_t)lo | (uint64_t)hi << (8 * (left - 4));
	}
	return (uint64_t)p[0] | (uint64_t)p[left / 2] << (8 * (left / 2)) |
	       (uint64_t)p[left - 1] << (8 * (left - 1));
}

/* SipHash-c-d from the state its 16-byte key sets (v[0..3]); inlined into
 * its callers so the round counts are constants. */
static inline uint64_t
siphash_from(const uint64_t v[4], const void *data, size_t len, int crounds,
	     int drounds)
{
	const uint8_t *p = data;
	uint64_t v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7, n = len;
	int i;

	for (; n >= 8; p += 8, n -= 8) {
		m = le64(p);
		v3 ^= m;
		for (i = 0; i < crounds; i++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last 0-7 bytes, below the length byte. */
	b |= tail(p, left, len);
	v3 ^= b;
	for (i = 0; i < crounds; i++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < drounds; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The state SipHash starts from under @key. */
static inline void
siphash_state(const uint8_t key[KV_SIPHASH_KEYBYTES], uint64_t v[4])
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);

	v[0] = k0 ^ 0x736f6d6570736575ull;
	v[1] = k1 ^ 0x646f72616e646f6dull;
	v[2] = k0 ^ 0x6c7967656e657261ull;
	v[3] = k1 ^ 0x7465646279746573ull;
}

uint64_t
kv_siphash(const uint8_t key[KV_SIPHASH_KEYBYTES], const void *data, size_t len,
	   int crounds, int drounds)
{
	uint64_t v[4];

	siphash_state(key, v);
	return siphash_from(v, data, len, crounds, drounds);
}

uint64_t
kv_key_hash(const void *key, size_t len)
{
	/* SipHash-1-3: the variant hash tables use against flooding (Rust's
	 * and CPython's), keeping SipHash's keyed structure with fewer
	 * rounds than the 2-4 meant for message authentication. */
	return siphash_from(secret_state, key, len, 1, 3);
}
