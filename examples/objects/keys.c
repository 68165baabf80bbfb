/* SPDX-License-Identifier: BSD-3-Clause */
/* The access keys (keys.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"

static int
valid_id(const char *id)
{
	size_t n = strlen(id), i;

	if (n < 3 || n > OBJ_KEY_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= 'a' && id[i] <= 'z')))
			return 0;
	return 1;
}

static int
valid_secret(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > OBJ_KEY_SECRET_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
obj_keys_add(struct obj_keys *k, const char *id, const char *secret)
{
	struct obj_key *nk;

	if (!valid_id(id) || !valid_secret(secret))
		return -EINVAL;
	if (obj_keys_find(k, id, strlen(id)) != NULL)
		return -EEXIST;
	/* Not realloc: the old array holds secrets and must be wiped. */
	nk = calloc(k->n + 1, sizeof(*nk));
	if (nk == NULL)
		return -ENOMEM;
	if (k->n > 0)
		memcpy(nk, k->keys, k->n * sizeof(*nk));
	snprintf(nk[k->n].id, sizeof(nk[k->n].id), "%s", id);
	snprintf(nk[k->n].secret, sizeof(nk[k->n].secret), "%s", secret);
	if (k->keys != NULL) {
		sodium_memzero(k->keys, k->n * sizeof(*k->keys));
		free(k->keys);
	}
	k->keys = nk;
	k->n++;
	return 0;
}

int
obj_keys_load(struct obj_keys *k, const char *path, char *err, size_t errlen)
{
	struct obj_keys tmp = { NULL, 0 };
	char line[OBJ_KEY_ID_MAX + OBJ_KEY_SECRET_MAX + 8];
	unsigned int lineno = 0, i;
	FILE *f = fopen(path, "r");
	char *colon;
	size_t n;
	int rc = 0;

	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -EINVAL;
			goto fail;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "%s:%u: not ACCESS_KEY_ID:SECRET_KEY", path, lineno);
			rc = -EINVAL;
			goto fail;
		}
		*colon = '\0';
		rc = obj_keys_add(&tmp, line, colon + 1);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 rc == -EEXIST ? "access key id given twice" :
				 rc == -EINVAL ? "malformed access key id or secret" :
				 strerror(-rc));
			goto fail;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	/* All or nothing: no key is added unless every one can be. */
	for (i = 0; i < tmp.n; i++)
		if (obj_keys_find(k, tmp.keys[i].id, strlen(tmp.keys[i].id)) != NULL) {
			snprintf(err, errlen, "%s: access key id %s given twice",
				 path, tmp.keys[i].id);
			rc = -EEXIST;
			goto fail;
		}
	for (i = 0; i < tmp.n && rc == 0; i++)
		rc = obj_keys_add(k, tmp.keys[i].id, tmp.keys[i].secret);
fail:
	sodium_memzero(line, sizeof(line));
	obj_keys_fini(&tmp);
	fclose(f);
	return rc;
}

const struct obj_key *
obj_keys_find(const struct obj_keys *k, const char *id, size_t len)
{
	unsigned int i;

	for (i = 0; i < k->n; i++)
		if (strlen(k->keys[i].id) == len && memcmp(k->keys[i].id, id, len) == 0)
			return &k->keys[i];
	return NULL;
}

void
obj_keys_fini(struct obj_keys *k)
{
	if (k->keys != NULL) {
		sodium_memzero(k->keys, k->n * sizeof(*k->keys));
		free(k->keys);
	}
	k->keys = NULL;
	k->n = 0;
}
