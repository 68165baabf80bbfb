/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: keyed key hashes (keyhash.h). */
#include <sodium.h>

#include "keyhash.h"

static unsigned char secret[crypto_shorthash_KEYBYTES];
static int secret_drawn;

uint64_t
kv_key_hash(const void *key, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	unsigned int i;

	if (!secret_drawn) {
		/* sodium_init() fails only when no random source can be
		 * opened; randombytes_buf() then aborts the process rather
		 * than leave the secret guessable. */
		int ignored = sodium_init();

		(void)ignored;
		randombytes_buf(secret, sizeof(secret));
		secret_drawn = 1;
	}
	crypto_shorthash(out, key, len, secret);
	for (i = 0; i < sizeof(out); i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}
