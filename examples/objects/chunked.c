/* SPDX-License-Identifier: BSD-3-Clause */
/* aws-chunked bodies (chunked.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chunked.h"

enum { ST_HEADER, ST_DATA, ST_DATA_CR, ST_DATA_LF, ST_DONE, ST_FAILED };

#define SIG_PREFIX ";chunk-signature="

void
obj_chunked_init(struct obj_chunked *c, const struct obj_sigv4_auth *auth, uint64_t decoded_len)
{
	memset(c, 0, sizeof(*c));
	c->auth = auth;
	c->decoded_max = decoded_len;
	c->state = ST_HEADER;
	memcpy(c->prev, auth->seed_signature, sizeof(c->prev));
}

/* "HEX;chunk-signature=SIG" (without its CRLF). @return 0 or -EBADMSG. */
static int
parse_header(struct obj_chunked *c)
{
	const char *h = c->hdr, *semi = memchr(h, ';', c->hdr_len);
	uint64_t size = 0;
	size_t i, hexlen;

	if (semi == NULL || semi == h || (size_t)(semi - h) > 15)
		return -EBADMSG;
	hexlen = (size_t)(semi - h);
	for (i = 0; i < hexlen; i++) {
		int d = h[i] >= '0' && h[i] <= '9' ? h[i] - '0' :
			h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10 :
			h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 10 : -1;

		if (d < 0)
			return -EBADMSG;
		size = size * 16 + (uint64_t)d;
	}
	if (c->hdr_len != hexlen + sizeof(SIG_PREFIX) - 1 + OBJ_SIGV4_HEX ||
	    memcmp(semi, SIG_PREFIX, sizeof(SIG_PREFIX) - 1) != 0)
		return -EBADMSG;
	memcpy(c->claim, semi + sizeof(SIG_PREFIX) - 1, OBJ_SIGV4_HEX);
	c->claim[OBJ_SIGV4_HEX] = '\0';
	c->chunk_left = size;
	c->final = size == 0;
	crypto_hash_sha256_init(&c->sha);
	return 0;
}

/* The current chunk is whole: its signature. @return 0 or -EACCES. */
static int
verify_chunk(struct obj_chunked *c)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[OBJ_SIGV4_HEX + 1], sig[OBJ_SIGV4_HEX + 1];
	size_t i;

	crypto_hash_sha256_final(&c->sha, h);
	for (i = 0; i < sizeof(h); i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	if (obj_sigv4_chunk_signature_hash(c->auth, c->prev, hex, sig) != 0 ||
	    sodium_memcmp(sig, c->claim, OBJ_SIGV4_HEX) != 0)
		return -EACCES;
	memcpy(c->prev, sig, sizeof(sig));
	return 0;
}

static int
fail(struct obj_chunked *c, int err)
{
	c->state = ST_FAILED;
	return err;
}

int
obj_chunked_feed(struct obj_chunked *c, const char *p, size_t len, size_t *used,
		 obj_chunked_data_fn on_data, void *arg)
{
	size_t i = 0;
	int ret;

	*used = 0;
	if (c->state == ST_DONE || c->state == ST_FAILED)
		return -EINVAL;
	while (i < len) {
		switch (c->state) {
		case ST_HEADER:
			if (p[i] == '\n') {
				if (c->hdr_len == 0 || c->hdr[c->hdr_len - 1] != '\r')
					return fail(c, -EBADMSG);
				c->hdr_len--;
				i++;
				ret = parse_header(c);
				if (ret != 0)
					return fail(c, ret);
				if (c->decoded + c->chunk_left > c->decoded_max)
					return fail(c, -E2BIG);
				c->hdr_len = 0;
				c->state = c->chunk_left > 0 ? ST_DATA : ST_DATA_CR;
				break;
			}
			if (c->hdr_len == sizeof(c->hdr))
				return fail(c, -EBADMSG);
			c->hdr[c->hdr_len++] = p[i++];
			break;
		case ST_DATA: {
			size_t n = len - i < c->chunk_left ? len - i : (size_t)c->chunk_left;

			crypto_hash_sha256_update(&c->sha, (const unsigned char *)p + i, n);
			if (on_data != NULL)
				on_data(arg, p + i, n, c->decoded);
			c->decoded += n;
			c->chunk_left -= n;
			i += n;
			if (c->chunk_left == 0)
				c->state = ST_DATA_CR;
			break;
		}
		case ST_DATA_CR:
			if (p[i++] != '\r')
				return fail(c, -EBADMSG);
			c->state = ST_DATA_LF;
			break;
		case ST_DATA_LF:
			if (p[i++] != '\n')
				return fail(c, -EBADMSG);
			ret = verify_chunk(c);
			if (ret != 0) {
				*used = i;
				return fail(c, ret);
			}
			if (c->final) {
				*used = i;
				if (c->decoded != c->decoded_max)
					return fail(c, -EBADMSG);
				c->state = ST_DONE;
				return OBJ_CHUNKED_DONE;
			}
			c->state = ST_HEADER;
			break;
		}
	}
	*used = i;
	return OBJ_CHUNKED_MORE;
}
