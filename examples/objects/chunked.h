/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: aws-chunked bodies (x-amz-content-sha256:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD), decoded and verified as they
 * arrive. The body is a series of "HEX;chunk-signature=SIG\r\n" DATA
 * "\r\n", ending with a chunk of size 0; each chunk's signature chains
 * from the previous one (the seed: the request's own signature) over the
 * SHA-256 of its data (sigv4.h). The payload bytes are reported as ranges
 * of the input, so the server can keep them where they arrived and leave
 * the framing out; nothing is copied but the chunk headers (128 bytes at
 * most).
 *
 * Pieces may split the body anywhere. A chunk whose signature does not
 * match stops the decoder at its end, before anything after it is
 * reported: the caller must not store any of the body then.
 */
#ifndef OBJ_CHUNKED_H
#define OBJ_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "sigv4.h"

#define OBJ_CHUNK_HEADER_MAX 128

/* Decoder results. */
#define OBJ_CHUNKED_MORE 0              /* all input used, the body goes on */
#define OBJ_CHUNKED_DONE 1              /* the final chunk was read and verified */

/* A payload range of the input: @len bytes at @p, which are the decoded
 * body's bytes [@body_off, @body_off + @len). */
typedef void (*obj_chunked_data_fn)(void *arg, const char *p, size_t len, uint64_t body_off);

struct obj_chunked {
	const struct obj_sigv4_auth *auth;
	uint64_t decoded_max;           /* x-amz-decoded-content-length */
	uint64_t decoded;               /* payload bytes so far */
	uint64_t chunk_left;            /* of the current chunk's data */
	int state;
	int final;                      /* the current chunk has size 0 */
	char prev[OBJ_SIGV4_HEX + 1];   /* the previous chunk's signature */
	char claim[OBJ_SIGV4_HEX + 1];  /* the current chunk's */
	char hdr[OBJ_CHUNK_HEADER_MAX];
	size_t hdr_len;
	crypto_hash_sha256_state sha;   /* the current chunk's data */
};

/* Start decoding a body signed by @auth (obj_sigv4_verify's, streaming
 * payload), whose decoded length is @decoded_len. */
void obj_chunked_init(struct obj_chunked *c, const struct obj_sigv4_auth *auth,
		      uint64_t decoded_len);

/*
 * Decode @len bytes at @p, the body's next ones; payload ranges go to
 * @on_data(@arg, ...). *@used: the input bytes read (all of them with
 * OBJ_CHUNKED_MORE; up to the final chunk's end with OBJ_CHUNKED_DONE).
 * @return OBJ_CHUNKED_MORE, OBJ_CHUNKED_DONE, -EBADMSG (malformed framing:
 * S3's IncompleteBody or InvalidRequest), -EACCES (a chunk's signature
 * does not match: SignatureDoesNotMatch), -E2BIG (more payload than
 * declared), or -EINVAL after an error or the end.
 */
int obj_chunked_feed(struct obj_chunked *c, const char *p, size_t len, size_t *used,
		     obj_chunked_data_fn on_data, void *arg);

#endif /* OBJ_CHUNKED_H */
