/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: an HTTP/1.1 request head (request line and headers), read
 * from contiguous bytes. S3 needs every header (SigV4 signs any of them),
 * which paste-kvs's HTTP parser does not keep, so this reader is its own;
 * the head is small and copied out of the receive stream, the body never
 * is. Refused: a request line that is not "METHOD SP target SP HTTP/1.x",
 * a header line without ':' or with blanks before it, obsolete line
 * folding, more than OBJ_HTTP_HEADERS_MAX headers, a Content-Length that is
 * not a number or given twice with two values, Transfer-Encoding (S3's
 * clients send Content-Length; aws-chunked rides inside one).
 */
#ifndef OBJ_HTTP_H
#define OBJ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"                      /* struct obj_header */

#define OBJ_HTTP_HEAD_MAX 16384         /* request line + headers + blank line */
#define OBJ_HTTP_HEADERS_MAX 64
#define OBJ_HTTP_METHOD_MAX 15

struct obj_http_req {
	char method[OBJ_HTTP_METHOD_MAX + 1];
	const char *target;             /* in the head, not NUL-terminated */
	size_t target_len;
	int minor;                      /* HTTP/1.minor */
	struct obj_header headers[OBJ_HTTP_HEADERS_MAX];
	unsigned int n_headers;
	int has_length;
	uint64_t length;                /* Content-Length, 0 without one */
	int keep_alive;                 /* the connection stays open after */
	int expect_continue;            /* Expect: 100-continue */
};

/* The length of the head at the start of @buf (@len bytes), through its
 * blank line; 0 when it has not all arrived. */
size_t obj_http_head_len(const char *buf, size_t len);

/*
 * Parse the head @head of @len bytes (what obj_http_head_len measured)
 * into @req, whose pointers point into @head.
 * @return 0, or -1 with *@status the HTTP status line to answer with
 * ("400 Bad Request", "501 Not Implemented", "505 HTTP Version Not
 * Supported", "431 Request Header Fields Too Large").
 */
int obj_http_parse(const char *head, size_t len, struct obj_http_req *req, const char **status);

#endif /* OBJ_HTTP_H */
