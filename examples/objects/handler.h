/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: one request answered, from its head (http.h): SigV4
 * checked (sigv4.h), routed (route.h), and the reply's head and XML body
 * written. No network here, so the whole answer is unit-testable.
 *
 * What is served today: ListBuckets (no buckets: nothing is stored yet).
 * Every other operation is routed and authenticated, then answered with
 * 501 NotImplemented; every error with S3's XML Error document.
 */
#ifndef OBJ_HANDLER_H
#define OBJ_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http.h"
#include "keys.h"

struct obj_service {
	const struct obj_keys *keys;
	const char *region;
	uint64_t requests, refused;     /* answered: all, and with an error */
};

struct obj_response {
	int status;
	char head[768];                 /* status line and headers, CRLF CRLF */
	size_t head_len;
	char *body;                     /* malloc'd, or NULL */
	size_t body_len;
	int close;                      /* close the connection once sent */
};

/* Answer @req at time @now into @out (obj_response_fini frees it). */
void obj_handle(struct obj_service *svc, const struct obj_http_req *req, time_t now,
		struct obj_response *out);

/* A reply without a body to a request whose head could not be read:
 * @status is http.h's status line ("400 Bad Request"); the connection
 * closes after it. */
void obj_handle_bad_head(const char *status, struct obj_response *out);

void obj_response_fini(struct obj_response *r);

#endif /* OBJ_HANDLER_H */
