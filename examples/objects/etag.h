/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: ETags and the conditional headers that compare them.
 * An object's ETag is the MD5 of its bytes in hex, quoted; a multipart
 * object's is the MD5 of its parts' binary MD5s, then "-N" for N parts
 * (what S3 gives and clients such as rclone and s3cmd check). MD5 is
 * libcrypto's (EVP), fed piece by piece as a body arrives.
 */
#ifndef OBJ_ETAG_H
#define OBJ_ETAG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define OBJ_ETAG_MAX 48                 /* "\"" 32 hex "-10000\"" NUL */

struct obj_md5 {
	void *ctx;                      /* EVP_MD_CTX */
};

/* @return 0 or -ENOMEM. */
int obj_md5_init(struct obj_md5 *m);
void obj_md5_update(struct obj_md5 *m, const void *p, size_t len);
/* The digest; the context is freed (obj_md5_init again to reuse). */
void obj_md5_final(struct obj_md5 *m, uint8_t out[16]);
/* Free the context without a digest (a body abandoned). */
void obj_md5_fini(struct obj_md5 *m);

/* "\"<32 hex>\"" of @md5. */
void obj_etag_single(const uint8_t md5[16], char out[OBJ_ETAG_MAX]);
/* "\"<32 hex>-N\"" of @md5, the MD5 of the parts' MD5s already taken. */
void obj_etag_parts(const uint8_t md5[16], unsigned int n, char out[OBJ_ETAG_MAX]);
/* "\"<32 hex>-N\"" of the @n (1 to 10000) parts' MD5s. @return 0, -EINVAL
 * or -ENOMEM. */
int obj_etag_multipart(const uint8_t (*md5s)[16], unsigned int n, char out[OBJ_ETAG_MAX]);

/* Whether the If-Match / If-None-Match value @v (@len bytes: "*", or a
 * comma-separated list of quoted ETags, W/ prefixes compared weakly)
 * names @etag (quoted). @return 1 or 0. */
int obj_etag_list_matches(const char *v, size_t len, const char *etag);

/* What the conditional headers make of a GET or HEAD (RFC 9110 section
 * 13.2.2, as S3 applies it): 200, 304 (Not Modified) or 412
 * (PreconditionFailed). For other methods 304 becomes 412. An absent
 * header is NULL (lists) or 0 (dates). */
int obj_conditions(const char *if_match, size_t im_len, const char *if_none_match,
		   size_t inm_len, time_t if_modified_since, time_t if_unmodified_since,
		   const char *etag, time_t mtime, int get_or_head);

#endif /* OBJ_ETAG_H */
