/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: shared types of the durable key-value server.
 *
 * Values stay in the pool buffers the NIC received them into: a value is a
 * list of names (one per buffer it spans). The server keeps every received
 * segment as it arrives (a connection's receive stream is a queue of kept
 * spans), parses requests across spans, and turns a SET's value range into
 * names. A DRAM reference count per pool buffer (stream + values) decides
 * when a buffer is released.
 */
#ifndef KVS_H
#define KVS_H

#include <stddef.h>
#include <stdint.h>

#include "paste.h"

#define KV_KEY_MAX 250            /* bytes; longer keys get an error reply */
#define KV_VALUE_MAX (1u << 20)   /* bytes; larger values get an error reply */
#define KV_VALUE_NAMES_MAX 1024   /* names per value (1 MiB / 1 KiB segments) */
#define KV_MAX_ARGS 64            /* RESP arguments per command */

/* ---- receive stream: kept spans, parsed in place ---------------------- */

struct kv_span {
	pst_name name;            /* the bytes' durable name */
	const uint8_t *data;      /* where they are mapped now */
	uint32_t len;
};

/* Bytes received on one connection and not yet consumed, in order. Offsets
 * used by the parsers count from the first unconsumed byte. */
struct kv_stream {
	struct kv_span *spans;
	unsigned int n, cap;
	size_t len;               /* bytes in the spans */
};

/* Copy [off, off+len) to dst; returns bytes copied. */
size_t kv_stream_copy(const struct kv_stream *s, size_t off, void *dst, size_t len);
/* Offset of the first byte c at or after off, or -1. */
long kv_stream_find(const struct kv_stream *s, size_t off, int c);
/* Byte at off (off < s->len). */
uint8_t kv_stream_byte(const struct kv_stream *s, size_t off);
/* The names covering [off, off+len): sub-ranges of the spans' names, in
 * order. Returns how many (at most max), or -1 if more than max needed. */
int kv_stream_names(const struct kv_stream *s, size_t off, size_t len,
		    pst_name *names, unsigned int max);

/* Called for each span a stream lets go of, with the span's name as it was
 * pushed (the whole segment, even when its front was consumed before). */
typedef void (*kv_stream_drop_fn)(void *arg, pst_name span_name);

/* An empty stream (no allocation until the first push). */
void kv_stream_init(struct kv_stream *s);
/* Append @len bytes at @data named @name (a span of at most UINT16_MAX
 * bytes: names cannot describe more). Empty spans are kept too, so that
 * every pushed name comes back through @drop exactly once.
 * Returns 0, -ENOMEM, or -EINVAL (len > UINT16_MAX, or data NULL). */
int kv_stream_push(struct kv_stream *s, pst_name name, const void *data,
		   uint32_t len);
/* Remove the first @n bytes (all of them if n > s->len). Each span that
 * becomes fully consumed is removed and passed to drop(arg, its pushed
 * name) in stream order; a partially consumed first span is trimmed (its
 * data, len and name then describe the rest). @drop may be NULL. */
void kv_stream_consume(struct kv_stream *s, size_t n, kv_stream_drop_fn drop,
		       void *arg);
/* Drop every remaining span (as consume does) and free the span array;
 * the stream is empty (initialised) afterwards. @drop may be NULL. */
void kv_stream_fini(struct kv_stream *s, kv_stream_drop_fn drop, void *arg);

/* ---- requests --------------------------------------------------------- */

enum kv_op {
	KV_OP_NONE = 0,
	KV_OP_PING, KV_OP_GET, KV_OP_SET, KV_OP_DEL, KV_OP_EXISTS,
	KV_OP_MSET, KV_OP_MGET, KV_OP_INCR, KV_OP_DBSIZE, KV_OP_FLUSHALL,
	KV_OP_INFO, KV_OP_CONFIG_GET, KV_OP_COMMAND, KV_OP_QUIT, KV_OP_SELECT,
	KV_OP_ECHO,
};

/* Flags of SET. */
#define KV_SET_NX 0x1             /* only if absent */
#define KV_SET_XX 0x2             /* only if present */

/* A byte range of the stream. */
struct kv_arg {
	size_t off;
	size_t len;
};

struct kv_request {
	enum kv_op op;
	unsigned int argc;        /* arguments after the command name */
	struct kv_arg argv[KV_MAX_ARGS];
	uint32_t set_flags;       /* KV_SET_* */
	int64_t expire_ms;        /* SET EX/PX: > 0 when given */
	size_t consumed;          /* bytes of the stream the request used */
	int http;                 /* parsed from HTTP, reply in HTTP */
	int http_keepalive;       /* HTTP: keep the connection open after */
	int http_expect_continue; /* HTTP, with KV_PARSE_MORE: the headers are
	                           * complete, the body is not, and the client
	                           * waits for "HTTP/1.1 100 Continue\r\n\r\n"
	                           * (send it once per request). 0 otherwise. */
	int http_head;            /* HTTP HEAD (op KV_OP_GET): reply with the
	                           * GET's headers, without the body */
};

/* Parse results. */
#define KV_PARSE_OK 1             /* *req holds one complete request */
#define KV_PARSE_MORE 0           /* incomplete: wait for more bytes */
#define KV_PARSE_BAD_REQUEST -1   /* well-framed but invalid (unknown
                                   * command, wrong arguments): reply with
                                   * the error, skip req->consumed bytes */
#define KV_PARSE_BAD_STREAM -2    /* framing broken: reply, then close */

/* Parse one request at the start of the stream. On an error, @err (of
 * @errlen bytes) receives the message for the client. */
int kv_resp_parse(const struct kv_stream *s, struct kv_request *req,
		  char *err, size_t errlen);
int kv_http_parse(const struct kv_stream *s, struct kv_request *req,
		  char *err, size_t errlen);
/*
 * What the parsers fill in (proto_resp.c, proto_http.c):
 * - argv: the arguments after the command name, as stream offsets, never
 *   copied. SET: argv[0] key, argv[1] value only (EX/PX/NX/XX go to
 *   expire_ms and set_flags). CONFIG GET: the parameters only. MSET: key,
 *   value, key, value... Other commands: their arguments as sent.
 *   HTTP: argv[0] the key (the path after '/', before any '?'); PUT and
 *   POST: argv[1] the body.
 * - RESP refuses keys over KV_KEY_MAX ("ERR key too long") and values over
 *   KV_VALUE_MAX ("ERR value too large") as BAD_REQUEST, once the whole
 *   request is there; HTTP says "414 URI Too Long", and a Content-Length
 *   over KV_VALUE_MAX is BAD_STREAM "413 Payload Too Large" (not waited for).
 * - Empty RESP requests ("*0\r\n", "*-1\r\n", blank inline lines) get no
 *   reply, as in Redis: they are counted in the next request's consumed.
 * - consumed is 0 with KV_PARSE_MORE and KV_PARSE_BAD_STREAM; err, when
 *   given, is "" unless an error is returned, always NUL-terminated, and
 *   holds no CR or LF. HTTP errors start with the status code
 *   ("400 Bad Request"); http_keepalive is set with BAD_REQUEST too.
 */

/* ---- replies (reply.c) ------------------------------------------------ */
/* Each writes one reply element into buf and returns its length, or -1 if
 * @size is too small. Values themselves are sent by name, not formatted. */
int kv_resp_simple(char *buf, size_t size, const char *msg);  /* +msg */
int kv_resp_error(char *buf, size_t size, const char *msg);   /* -msg */
int kv_resp_integer(char *buf, size_t size, int64_t n);       /* :n */
int kv_resp_bulk_header(char *buf, size_t size, size_t len);  /* $len */
int kv_resp_null_bulk(char *buf, size_t size);                /* $-1 */
int kv_resp_array_header(char *buf, size_t size, long n);     /* *n */
/* A whole HTTP/1.1 response header block ending in an empty line. */
int kv_http_status(char *buf, size_t size, int code, const char *text,
		   size_t content_length, int keepalive);

#endif /* KVS_H */
