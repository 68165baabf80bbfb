/* SPDX-License-Identifier: BSD-3-Clause */
/* ETags and conditional requests (etag.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "etag.h"

int
obj_md5_init(struct obj_md5 *m)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		m->ctx = NULL;
		return -ENOMEM;
	}
	m->ctx = ctx;
	return 0;
}

void
obj_md5_update(struct obj_md5 *m, const void *p, size_t len)
{
	if (len > 0)
		EVP_DigestUpdate(m->ctx, p, len);
}

void
obj_md5_final(struct obj_md5 *m, uint8_t out[16])
{
	unsigned int n = 16;

	EVP_DigestFinal_ex(m->ctx, out, &n);
	obj_md5_fini(m);
}

void
obj_md5_fini(struct obj_md5 *m)
{
	EVP_MD_CTX_free(m->ctx);
	m->ctx = NULL;
}

static void
hex16(const uint8_t md5[16], char *out)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = digits[md5[i] >> 4];
		out[2 * i + 1] = digits[md5[i] & 15];
	}
}

void
obj_etag_single(const uint8_t md5[16], char out[OBJ_ETAG_MAX])
{
	out[0] = '"';
	hex16(md5, out + 1);
	out[33] = '"';
	out[34] = '\0';
}

void
obj_etag_parts(const uint8_t md5[16], unsigned int n, char out[OBJ_ETAG_MAX])
{
	out[0] = '"';
	hex16(md5, out + 1);
	snprintf(out + 33, OBJ_ETAG_MAX - 33, "-%u\"", n);
}

int
obj_etag_multipart(const uint8_t (*md5s)[16], unsigned int n, char out[OBJ_ETAG_MAX])
{
	struct obj_md5 m;
	uint8_t d[16];

	if (n < 1 || n > 10000)
		return -EINVAL;
	if (obj_md5_init(&m) != 0)
		return -ENOMEM;
	obj_md5_update(&m, md5s, (size_t)n * 16);
	obj_md5_final(&m, d);
	out[0] = '"';
	hex16(d, out + 1);
	snprintf(out + 33, OBJ_ETAG_MAX - 33, "-%u\"", n);
	return 0;
}

/* The opaque part of an entity tag (between its quotes, after W/). */
static void
opaque(const char *s, size_t len, const char **p, size_t *n)
{
	if (len >= 2 && s[0] == 'W' && s[1] == '/') {
		s += 2;
		len -= 2;
	}
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	*p = s;
	*n = len;
}

int
obj_etag_list_matches(const char *v, size_t len, const char *etag)
{
	const char *want, *end = v + len;
	size_t wlen;

	opaque(etag, strlen(etag), &want, &wlen);
	while (v < end) {
		const char *comma, *p;
		size_t n;

		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		if (v == end)
			break;
		comma = memchr(v, ',', (size_t)(end - v));
		n = comma != NULL ? (size_t)(comma - v) : (size_t)(end - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == 1 && v[0] == '*')
			return 1;
		opaque(v, n, &p, &n);
		if (n == wlen && memcmp(p, want, n) == 0)
			return 1;
		v = comma != NULL ? comma + 1 : end;
	}
	return 0;
}

int
obj_conditions(const char *if_match, size_t im_len, const char *if_none_match,
	       size_t inm_len, time_t if_modified_since, time_t if_unmodified_since,
	       const char *etag, time_t mtime, int get_or_head)
{
	/* 1: If-Match; 2: If-Unmodified-Since when there is no If-Match. */
	if (if_match != NULL) {
		if (!obj_etag_list_matches(if_match, im_len, etag))
			return 412;
	} else if (if_unmodified_since != 0 && mtime > if_unmodified_since) {
		return 412;
	}
	/* 3: If-None-Match; 4: If-Modified-Since when there is none. */
	if (if_none_match != NULL) {
		if (obj_etag_list_matches(if_none_match, inm_len, etag))
			return get_or_head ? 304 : 412;
	} else if (get_or_head && if_modified_since != 0 && mtime <= if_modified_since) {
		return 304;
	}
	return 200;
}
