/* SPDX-License-Identifier: BSD-3-Clause */
/* One request answered (handler.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "ops.h"
#include "route.h"
#include "s3err.h"
#include "s3xml.h"
#include "sigv4.h"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 416: return "Requested Range Not Satisfiable";
	case 503: return "Service Unavailable";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 501: return "Not Implemented";
	default: return "Internal Server Error";
	}
}

void
obj_resp_head(struct obj_response *r, uint64_t id, time_t now, const char *ctype,
	      uint64_t length, const char *extra)
{
	char date[40], len[48] = "";
	struct tm tm;
	int n;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (r->status != 304 && r->status != 204)   /* they have no content */
		snprintf(len, sizeof(len), "Content-Length: %" PRIu64 "\r\n", length);
	n = snprintf(r->head, sizeof(r->head),
		     "HTTP/1.1 %d %s\r\nServer: paste-objects\r\nDate: %s\r\n"
		     "x-amz-request-id: %016" PRIX64 "\r\n"
		     "Content-Type: %s\r\n%s%s%s\r\n",
		     r->status, reason(r->status), date, id,
		     ctype != NULL ? ctype : "application/xml", len,
		     extra != NULL ? extra : "", r->close ? "Connection: close\r\n" : "");
	r->head_len = n > 0 && (size_t)n < sizeof(r->head) ? (size_t)n : 0;
}

/* The head of a reply of @body_len bytes of XML. */
static void
write_head(struct obj_response *r, uint64_t id, time_t now, int head_only)
{
	obj_resp_head(r, id, now, NULL, head_only ? 0 : r->body_len, NULL);
}

/* Take @x's document as the body. */
static void
take_body(struct obj_response *r, struct obj_xml *x)
{
	const char *doc;
	size_t len;

	if (obj_xml_finish(x, &doc, &len) != 0) {
		obj_xml_fini(x);
		r->status = 500;
		return;
	}
	r->body = x->buf;           /* the writer's buffer, handed over */
	r->body_len = len;
	x->buf = NULL;
	obj_xml_fini(x);
}

void
obj_resp_error(struct obj_response *r, int status, const char *code, const char *message,
	       const char *resource, uint64_t id)
{
	char rid[20];
	struct obj_xml x;

	snprintf(rid, sizeof(rid), "%016" PRIX64, id);
	r->status = status;
	obj_xml_init(&x);
	obj_s3xml_error(&x, code, message, resource, rid);
	take_body(r, &x);
}

static void
error_body(struct obj_response *r, int status, const char *code, const char *message,
	   const struct obj_http_req *req, uint64_t id)
{
	char resource[512];
	const char *qm = memchr(req->target, '?', req->target_len);
	size_t plen = qm != NULL ? (size_t)(qm - req->target) : req->target_len;

	snprintf(resource, sizeof(resource), "%.*s", (int)(plen < 500 ? plen : 500), req->target);
	obj_resp_error(r, status, code, message, resource, id);
}

void
obj_handle(struct obj_service *svc, const struct obj_http_req *req, time_t now,
	   struct obj_response *out)
{
	const char *qm = memchr(req->target, '?', req->target_len);
	struct obj_sigv4_request sr = {
		.method = req->method,
		.path = req->target,
		.path_len = qm != NULL ? (size_t)(qm - req->target) : req->target_len,
		.query = qm != NULL ? qm + 1 : NULL,
		.query_len = qm != NULL ? req->target_len - (size_t)(qm + 1 - req->target) : 0,
		.headers = req->headers,
		.n_headers = req->n_headers,
	};
	struct obj_sigv4_config cfg = { svc->keys, svc->region, "s3", now };
	struct obj_sigv4_auth auth;
	static struct obj_route rt;     /* 17 KiB: one request at a time */
	enum obj_sigv4_error se;
	enum obj_err re;
	uint64_t id = ++svc->requests;
	int head_only = strcmp(req->method, "HEAD") == 0;

	memset(out, 0, sizeof(*out));
	out->close = !req->keep_alive;
	se = obj_sigv4_verify(&sr, &cfg, &auth);
	if (se != OBJ_SIGV4_OK) {
		error_body(out, obj_sigv4_status(se), obj_sigv4_code(se),
			   auth.detail[0] != '\0' ? auth.detail : obj_sigv4_message(se), req, id);
		goto done;
	}
	re = obj_route_parse(req->method, req->target, req->target_len, req->headers,
			     req->n_headers, &rt);
	if (re != OBJ_OK) {
		error_body(out, obj_err_status(re), obj_err_code(re), obj_err_message(re), req, id);
		goto done;
	}
	if (svc->store != NULL) {
		char resource[512];
		size_t plen = sr.path_len < 500 ? sr.path_len : 500;

		snprintf(resource, sizeof(resource), "%.*s", (int)plen, req->target);
		if (obj_ops_handle(svc, &rt, &auth, req, resource, id, now, out)) {
			if (out->status >= 300)
				svc->refused++;
			return;
		}
	}
	if (rt.op == OBJ_OP_LIST_BUCKETS) {
		struct obj_owner owner = { auth.key->id, auth.key->id };
		struct obj_xml x;

		out->status = 200;
		obj_xml_init(&x);
		obj_s3xml_list_buckets(&x, &owner, NULL, 0);
		take_body(out, &x);
		goto done;
	}
	error_body(out, 501, "NotImplemented", "paste-objects does not store buckets or objects yet",
		   req, id);
done:
	if (out->status >= 300)
		svc->refused++;
	write_head(out, id, now, head_only);
	if (head_only) {
		free(out->body);
		out->body = NULL;
		out->body_len = 0;
	}
}

void
obj_handle_bad_head(const char *status, struct obj_response *out)
{
	int n;

	memset(out, 0, sizeof(*out));
	out->close = 1;
	out->status = atoi(status);
	n = snprintf(out->head, sizeof(out->head),
		     "HTTP/1.1 %s\r\nServer: paste-objects\r\nContent-Length: 0\r\n"
		     "Connection: close\r\n\r\n", status);
	out->head_len = n > 0 && (size_t)n < sizeof(out->head) ? (size_t)n : 0;
}

int
obj_handle_skip_body(const struct obj_http_req *req, struct obj_response *resp, uint64_t *skip)
{
	*skip = req->length;
	if (req->expect_continue && req->length > 0) {
		*skip = 0;
		resp->close = 1;
		return 0;
	}
	if (req->length > 0 && strcmp(req->method, "PUT") == 0 && resp->status >= 300) {
		resp->close = 1;
		return 1;
	}
	return 0;
}

void
obj_handle_body_cut(int timed_out, const char *resource, uint64_t id, time_t now,
		    struct obj_response *out)
{
	if (timed_out)
		obj_resp_error(out, 400, "RequestTimeout",
			       "Your socket connection to the server was not read from or written to within the timeout period",
			       resource, id);
	else
		obj_resp_error(out, 400, "IncompleteBody",
			       "You did not provide the number of bytes specified by the Content-Length HTTP header",
			       resource, id);
	out->close = 1;
	obj_resp_head(out, id, now, NULL, out->body_len, NULL);
}

void
obj_response_fini(struct obj_response *r)
{
	free(r->body);
	r->body = NULL;
}
