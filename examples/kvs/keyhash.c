/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: keyed key hashes (keyhash.h). */
#include <errno.h>
#include <stdio.h>

#include <sodium.h>

#include "keyhash.h"

static unsigned char secret[crypto_shorthash_KEYBYTES];
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

uint64_t
kv_key_hash(const void *key, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	unsigned int i;

	crypto_shorthash(out, key, len, secret);
	for (i = 0; i < sizeof(out); i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}
