/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the S3 errors the request parsers give (routing, bodies),
 * each with the code, Message and HTTP status S3 uses for it. SigV4's own
 * are in sigv4.h.
 */
#ifndef OBJ_S3ERR_H
#define OBJ_S3ERR_H

enum obj_err {
	OBJ_OK = 0,
	OBJ_ERR_INVALID_URI,            /* a broken %-escape, a key not UTF-8 */
	OBJ_ERR_INVALID_BUCKET_NAME,
	OBJ_ERR_KEY_TOO_LONG,           /* over OBJ_OBJECT_KEY_MAX bytes */
	OBJ_ERR_INVALID_ARGUMENT,       /* a query value out of range */
	OBJ_ERR_METHOD_NOT_ALLOWED,
	OBJ_ERR_NOT_IMPLEMENTED,        /* a subresource not served (?acl...) */
	OBJ_ERR_INVALID_DIGEST,         /* Content-MD5 not base64 of 16 bytes */
	OBJ_ERR_METADATA_TOO_LARGE,     /* x-amz-meta-* over 2 KiB */
	OBJ_ERR_MALFORMED_XML,
	OBJ_ERR_INVALID_REQUEST,        /* a request S3 refuses as such */
	OBJ_ERR_TOO_LARGE,              /* beyond what the server holds */
	OBJ_ERR_COUNT
};

/* S3's code ("InvalidBucketName"), a Message, and the HTTP status. */
const char *obj_err_code(enum obj_err e);
const char *obj_err_message(enum obj_err e);
int obj_err_status(enum obj_err e);

#endif /* OBJ_S3ERR_H */
