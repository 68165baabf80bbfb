/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the access keys that may sign requests (doc/objects.md,
 * "Access keys"). A keys file holds one "ACCESS_KEY_ID:SECRET_KEY" a line;
 * blank lines and lines starting with '#' are skipped. The id is 3 to 128
 * letters and digits; the secret 1 to 128 printable bytes, no blank. Unlike
 * paste-kvs's passwords the secrets are kept as given: SigV4 derives its
 * signing key from the secret itself, so a digest could not stand for it.
 */
#ifndef OBJ_KEYS_H
#define OBJ_KEYS_H

#include <stddef.h>

#define OBJ_KEY_ID_MAX 128
#define OBJ_KEY_SECRET_MAX 128

struct obj_key {
	char id[OBJ_KEY_ID_MAX + 1];
	char secret[OBJ_KEY_SECRET_MAX + 1];
};

struct obj_keys {
	struct obj_key *keys;
	unsigned int n;
};

/* Add the key @id with @secret. @return 0, -EINVAL (a malformed id or
 * secret), -EEXIST (the id is there already) or -ENOMEM. */
int obj_keys_add(struct obj_keys *k, const char *id, const char *secret);

/* Add the keys of the file @path. @return 0, or -errno with @err naming
 * the file and line (nothing added then). */
int obj_keys_load(struct obj_keys *k, const char *path, char *err, size_t errlen);

/* The key of id @id (@len bytes), or NULL. */
const struct obj_key *obj_keys_find(const struct obj_keys *k, const char *id, size_t len);

/* Forget every key, wiping the secrets. */
void obj_keys_fini(struct obj_keys *k);

#endif /* OBJ_KEYS_H */
