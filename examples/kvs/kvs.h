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

#endif /* KVS_H */
