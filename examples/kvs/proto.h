/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the RESP (proto_resp.c) and HTTP (proto_http.c) parsers. Each
 * call parses one request at the start of the stream; RESP can keep where
 * an incomplete request stopped (struct kv_parse_state) so that a request
 * arriving in many pieces is read once, not once per piece.
 */
#ifndef KVS_PROTO_H
#define KVS_PROTO_H

#include <stddef.h>

#include "kv_limits.h"
#include "request.h"
#include "stream.h"

struct kv_command;

/* Parse results. */
#define KV_PARSE_OK 1             /* *req holds one complete request */
#define KV_PARSE_MORE 0           /* incomplete: wait for more bytes */
#define KV_PARSE_BAD_REQUEST -1   /* well-framed but invalid (unknown
                                   * command, wrong arguments): reply with
                                   * the error, skip req->consumed bytes */
#define KV_PARSE_BAD_STREAM -2    /* framing broken: reply, then close */

/* The HTTP parser's errors: the status line it wants for the reply. */
#define KV_HTTP_400 "400 Bad Request"
#define KV_HTTP_405 "405 Method Not Allowed"
#define KV_HTTP_411 "411 Length Required"
#define KV_HTTP_413 "413 Payload Too Large"
#define KV_HTTP_414 "414 URI Too Long"
#define KV_HTTP_431 "431 Request Header Fields Too Large"
#define KV_HTTP_505 "505 HTTP Version Not Supported"

/* Parse one request at the start of the stream, within @lim (NULL: the
 * defaults). On an error, @err (of @errlen bytes) receives the message for
 * the client. */
int kv_resp_parse(const struct kv_stream *s, const struct kv_limits *lim,
		  struct kv_request *req, char *err, size_t errlen);
int kv_http_parse(const struct kv_stream *s, const struct kv_limits *lim,
		  struct kv_request *req, char *err, size_t errlen);

/* What an HTTP request's headers said (proto_http.c). */
struct kv_http_headers {
	int have_length;
	size_t length;            /* saturates at KV_VALUE_MAX + 1 */
	int conn_close, conn_keepalive;
	int expect_continue;
	struct kv_arg auth;       /* Authorization's value; len 0: none */
};

/* How far an incomplete HTTP request was read: each line is read once,
 * whatever the pieces it arrives in, and once the headers are whole only
 * the body's length is checked on each arrival. */
struct kv_http_state {
	size_t line;              /* the first line not read yet */
	size_t scanned;           /* no LF before this, from line on */
	int reqline;              /* the request line was read: */
	int method;               /* its method (proto_http.c's table; -1:
	                           * not one served) */
	size_t target_off, target_len;
	int minor;                /* HTTP/1.minor */
	struct kv_http_headers h; /* the headers read so far */
	size_t body;              /* 0, or: the headers are whole, the body
	                           * starts here, and: */
	const char *bad;          /* what is wrong with the request, or NULL */
	struct kv_arg key;
};

/* How far an incomplete RESP request was read. Zero it for a new
 * connection; valid while the stream only grows (nothing consumed), and
 * cleared by the parser whenever it returns anything but KV_PARSE_MORE. */
struct kv_parse_state {
	uint64_t examined;        /* bytes the parser read, over all calls
	                           * (never cleared): the cost tests bound */
	size_t start;             /* the request's first byte (after empty
	                           * requests), when resuming */
	size_t resume;            /* 0, or where element @k's "$" starts */
	unsigned int k;           /* multibulk: elements framed so far */
	long long count;          /* multibulk: elements in all ("*N") */
	size_t body;              /* 0, or where element k's bytes start
	                           * (its "$len" line was read) */
	size_t body_len;
	size_t scanned;           /* inline: bytes from start without LF */
	/* multibulk: the command its name names, once looked up (to tell
	 * its values from its other arguments), and whether it was */
	const struct kv_command *cmd;
	int cmd_known;
	struct kv_http_state http; /* HTTP's (a connection speaks one) */
	struct kv_arg elem[KV_MAX_ARGS + 1]; /* elements 0..k-1 */
};

/* kv_resp_parse, resuming from @st (NULL: from the first byte). With @st,
 * KV_PARSE_MORE reports a value still arriving in req->pending_*. */
int kv_resp_parse_resume(const struct kv_stream *s, const struct kv_limits *lim,
			 struct kv_parse_state *st, struct kv_request *req,
			 char *err, size_t errlen);

/* kv_http_parse, resuming from @st (NULL: from the first byte). */
int kv_http_parse_resume(const struct kv_stream *s, const struct kv_limits *lim,
			 struct kv_parse_state *st, struct kv_request *req,
			 char *err, size_t errlen);

/* A signed decimal that fits int64_t, the whole of @p and nothing else, as
 * Redis's string2ll reads integers: no blank, no '+', no leading zero
 * ("0" itself aside, so no "-0"). Returns 0, or -1. */
int kv_strict_int64(const char *p, size_t len, int64_t *v);

/* Forget the request @st was reading (its bytes are being discarded): the
 * next call starts at the stream's first byte. @st->examined is kept.
 * Either parser's. */
void kv_parse_state_reset(struct kv_parse_state *st);

/* The "$len\r\n" of a bulk string at stream offset @off, for a request
 * whose elements are discarded unread: *len its length (at most
 * @lim->max_bulk), *used the line's bytes. Returns KV_PARSE_OK,
 * KV_PARSE_MORE, or KV_PARSE_BAD_STREAM with @err set. */
int kv_resp_read_bulk_len(const struct kv_stream *s, size_t off,
			  const struct kv_limits *lim, size_t *len, size_t *used,
			  char *err, size_t errlen);

/*
 * What the parsers fill in:
 * - argv: the arguments after the command name, as stream offsets, never
 *   copied. SET: argv[0] key, argv[1] value only (EX/PX/NX/XX go to
 *   expire_ms and set_flags). CONFIG GET: the parameters only. MSET: key,
 *   value, key, value... Other commands: their arguments as sent.
 *   HTTP: argv[0] the key (the path after '/', before any '?'); PUT and
 *   POST: argv[1] the body.
 * - RESP refuses keys over KV_KEY_MAX ("ERR key too long") as BAD_REQUEST,
 *   once the whole request is there; a bulk length over lim->max_bulk
 *   ("ERR Protocol error: invalid bulk length", as Redis) and a multibulk
 *   count over KV_MAX_ARGS + 1 ("ERR Protocol error: invalid multibulk
 *   length") are BAD_STREAM as soon as their line is read: nothing of them
 *   is waited for. HTTP says "414 URI Too Long", and a Content-Length over
 *   lim->max_bulk is BAD_STREAM "413 Payload Too Large" (not waited for).
 * - Empty RESP requests ("*0\r\n", "*-1\r\n", blank inline lines) get no
 *   reply, as in Redis: they are counted in the next request's consumed.
 * - consumed is 0 with KV_PARSE_MORE and KV_PARSE_BAD_STREAM; err, when
 *   given, is "" unless an error is returned, always NUL-terminated, and
 *   holds no CR or LF. HTTP errors start with the status code
 *   ("400 Bad Request"); http_keepalive is set with BAD_REQUEST too.
 */

#endif /* KVS_PROTO_H */
