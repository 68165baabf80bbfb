/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: one request answered, from its head (http.h): SigV4
 * checked (sigv4.h), routed (route.h), and the reply's head and XML body
 * written. No network here, so the whole answer is unit-testable.
 *
 * With a store (obj_service.store), the operations on buckets and objects
 * are answered from it (ops.h); without one (the unit tests), ListBuckets
 * is empty. Operations not served are answered 501 NotImplemented; every
 * error with S3's XML Error document.
 */
#ifndef OBJ_HANDLER_H
#define OBJ_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http.h"
#include "keys.h"

struct obj_store;
struct obj_put;
struct obj_body_req;
struct obj_version;

struct obj_service {
	const struct obj_keys *keys;
	const char *region;
	uint64_t requests, refused;     /* answered: all, and with an error */
	/* Where buckets and objects are kept (ostore.h); NULL: nothing is
	 * stored, every operation but ListBuckets is NotImplemented. */
	struct obj_store *store;
};

struct obj_response {
	int status;
	char head[4096];                /* status line and headers, CRLF CRLF */
	size_t head_len;
	char *body;                     /* malloc'd, or NULL */
	size_t body_len;
	int close;                      /* close the connection once sent */
	/* GetObject: after the head, bytes [get_off, get_off + get_len) of
	 * this version, sent by name (its reference is the response's). */
	struct obj_version *get_v;
	uint64_t get_off, get_len;
	/* PutObject accepted from its head: the body is to be received,
	 * then obj_ops_put_done() answers (ops.h). */
	struct obj_put *put;
	/* DeleteObjects accepted from its head: its body is to be read
	 * whole, then obj_ops_body_done() answers (ops.h). */
	struct obj_body_req *body_req;
};

/* The pieces of a reply, for the operations (ops.c). */
void obj_resp_error(struct obj_response *r, int status, const char *code, const char *message,
		    const char *resource, uint64_t id);
/* The head: @ctype NULL for XML; @length the body's bytes (sent or, for
 * a HEAD, not); @extra more header lines ("Name: v\r\n"...) or NULL. */
void obj_resp_head(struct obj_response *r, uint64_t id, time_t now, const char *ctype,
		   uint64_t length, const char *extra);

/* Answer @req at time @now into @out (obj_response_fini frees it). */
void obj_handle(struct obj_service *svc, const struct obj_http_req *req, time_t now,
		struct obj_response *out);

/* A reply without a body to a request whose head could not be read:
 * @status is http.h's status line ("400 Bad Request"); the connection
 * closes after it. */
void obj_handle_bad_head(const char *status, struct obj_response *out);

/* After obj_handle() answered @req's head into @resp and neither an
 * upload (resp->put) nor a body to read (resp->body_req) was handed over:
 * *skip is how many body bytes the connection drops as they come. A
 * client waiting for "100 Continue" sends no body when refused, so the
 * framing is unknown and the connection closes (resp->close). A PUT body
 * refused from its head (too large, no such bucket) is dropped, then the
 * connection closes.
 * @return 1 when the reply goes now, before the body is dropped (that
 * refused PUT); 0 when it goes after the body. */
int obj_handle_skip_body(const struct obj_http_req *req, struct obj_response *resp,
			 uint64_t *skip);

/* The reply, into the emptied @out, to a request whose body stopped
 * coming before its Content-Length: S3's IncompleteBody when the peer's
 * FIN cut it (@timed_out 0: a peer that only half-closed reads it),
 * RequestTimeout when the request timeout ran out (@timed_out 1). The
 * connection closes after it; nothing of the body is stored (the
 * caller drops it). */
void obj_handle_body_cut(int timed_out, const char *resource, uint64_t id, time_t now,
			 struct obj_response *out);

void obj_response_fini(struct obj_response *r);

#endif /* OBJ_HANDLER_H */
