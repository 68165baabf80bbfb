/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: AWS Signature Version 4, checked on the server side
 * (doc/objects.md, "Authentication"). A request is signed either in its
 * Authorization header or in its query string (a presigned URL); both come
 * down to the same canonical request, string to sign and HMAC chain, and
 * the signature is compared in constant time.
 *
 * S3's rules, which differ from the other services': the path is encoded
 * once and never normalized (keys may hold "//", "." segments, spaces, '+'
 * and any UTF-8), and the payload hash is whatever x-amz-content-sha256
 * says (a hex SHA-256, UNSIGNED-PAYLOAD, or STREAMING-AWS4-HMAC-SHA256-
 * PAYLOAD for aws-chunked bodies). A hex hash is only a claim until the
 * body has arrived: the caller compares it with the body's own hash
 * (obj_sigv4_hash_hex) and answers XAmzContentSHA256Mismatch.
 *
 * SHA-256 and HMAC-SHA256 are libsodium's; nothing here hashes by hand.
 */
#ifndef OBJ_SIGV4_H
#define OBJ_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keys.h"

#define OBJ_SIGV4_SKEW_MAX 900          /* s between the client's clock and ours */
#define OBJ_SIGV4_EXPIRES_MAX 604800    /* X-Amz-Expires: at most 7 days */
#define OBJ_SIGV4_HEADERS_MAX 64        /* signed headers of a request */
#define OBJ_SIGV4_HEX 64                /* a SHA-256 or signature in hex */
#define OBJ_SIGV4_SCOPE_MAX 128         /* date/region/service/aws4_request */

#define OBJ_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"
#define OBJ_SIGV4_STREAMING "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

/* One request header as received: name and value not NUL-terminated. */
struct obj_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* What the verifier needs of a request. */
struct obj_sigv4_request {
	const char *method;             /* "GET", NUL-terminated */
	const char *path;               /* the target before '?', as received */
	size_t path_len;
	const char *query;              /* after '?' (without it); NULL: none */
	size_t query_len;
	const struct obj_header *headers;
	unsigned int n_headers;
	/* The payload's hash in hex when the request has no
	 * x-amz-content-sha256 header and the caller hashed the body; NULL:
	 * such a request is refused (S3 requires the header). */
	const char *body_hash;
};

/* What the server expects. */
struct obj_sigv4_config {
	const struct obj_keys *keys;
	const char *region;             /* "us-east-1" */
	const char *service;            /* "s3" */
	time_t now;                     /* the server's clock, Unix seconds */
};

/* Why a request was refused: each has its S3 error code (obj_sigv4_code). */
enum obj_sigv4_error {
	OBJ_SIGV4_OK = 0,
	OBJ_SIGV4_ANONYMOUS,            /* no signature at all: AccessDenied */
	OBJ_SIGV4_HEADER_MALFORMED,     /* AuthorizationHeaderMalformed */
	OBJ_SIGV4_QUERY_MALFORMED,      /* AuthorizationQueryParametersError */
	OBJ_SIGV4_UNSUPPORTED,          /* not AWS4-HMAC-SHA256 (SigV2...): InvalidRequest */
	OBJ_SIGV4_MISSING_SHA256,       /* no x-amz-content-sha256: InvalidRequest */
	OBJ_SIGV4_BAD_SHA256,           /* x-amz-content-sha256 not a hash: InvalidArgument */
	OBJ_SIGV4_UNKNOWN_KEY,          /* InvalidAccessKeyId */
	OBJ_SIGV4_MISMATCH,             /* SignatureDoesNotMatch */
	OBJ_SIGV4_SKEWED,               /* RequestTimeTooSkewed */
	OBJ_SIGV4_EXPIRED,              /* presigned and past its expiry: AccessDenied */
	OBJ_SIGV4_BAD_URI,              /* a broken %-escape in the path: InvalidURI */
	OBJ_SIGV4_TWO_WAYS,             /* signed in the header and the query: InvalidArgument */
};

/* What a verified request said. */
struct obj_sigv4_auth {
	const struct obj_key *key;      /* who signed it */
	int presigned;
	/* The payload: "UNSIGNED-PAYLOAD", the streaming marker, or the hex
	 * hash the body must have. */
	char payload[OBJ_SIGV4_HEX + 1];
	/* For aws-chunked bodies: each chunk's signature chains from this
	 * one, under the same key, date and scope. */
	char seed_signature[OBJ_SIGV4_HEX + 1];
	char amz_date[17];              /* yyyymmddThhmmssZ */
	char scope[OBJ_SIGV4_SCOPE_MAX];
	uint8_t signing_key[32];
	/* A word for the client's error Message, or "" */
	char detail[192];
};

/*
 * Check @r's signature, in its Authorization header or in its query.
 * @return OBJ_SIGV4_OK with @out filled in, or the error (@out->detail
 * may say more, for the reply's Message).
 */
enum obj_sigv4_error obj_sigv4_verify(const struct obj_sigv4_request *r,
				      const struct obj_sigv4_config *cfg,
				      struct obj_sigv4_auth *out);

/* The S3 error code of @e ("SignatureDoesNotMatch") and its usual Message. */
const char *obj_sigv4_code(enum obj_sigv4_error e);
const char *obj_sigv4_message(enum obj_sigv4_error e);
/* The HTTP status of @e (403 or 400). */
int obj_sigv4_status(enum obj_sigv4_error e);

/*
 * The canonical request of @r as AWS defines it, into @buf (@size bytes,
 * NUL-terminated): method, canonical URI, canonical query (without
 * X-Amz-Signature), canonical headers of @signed_headers (a
 * "host;x-amz-date" list), that list, and @payload.
 * @return its length, -ENOSPC when @size is too small, -EINVAL when a
 * signed header is missing or the list is malformed, -EILSEQ on a broken
 * %-escape in the path or query.
 */
long obj_sigv4_canonical_request(const struct obj_sigv4_request *r,
				 const char *signed_headers, const char *payload,
				 char *buf, size_t size);

/* The signing key of @secret for @date (yyyymmdd), @region and @service. */
void obj_sigv4_signing_key(const char *secret, const char *date, const char *region,
			   const char *service, uint8_t key[32]);

/* The hex HMAC-SHA256 of @msg under @key: a signature. */
void obj_sigv4_sign(const uint8_t key[32], const char *msg, size_t len,
		    char hex[OBJ_SIGV4_HEX + 1]);

/* The hex SHA-256 of @len bytes at @p. */
void obj_sigv4_hash_hex(const void *p, size_t len, char hex[OBJ_SIGV4_HEX + 1]);

/*
 * The signature aws-chunked gives a chunk of @len bytes at @data, which
 * follows the chunk signed @prev (the seed signature for the first).
 * @return 0.
 */
int obj_sigv4_chunk_signature(const struct obj_sigv4_auth *a, const char *prev,
			      const void *data, size_t len, char hex[OBJ_SIGV4_HEX + 1]);

/* The same from the chunk's SHA-256 in hex (@hash), for a caller that
 * hashed the chunk as it arrived. @return 0 or -ENOSPC. */
int obj_sigv4_chunk_signature_hash(const struct obj_sigv4_auth *a, const char *prev,
				   const char *hash, char hex[OBJ_SIGV4_HEX + 1]);

#endif /* OBJ_SIGV4_H */
